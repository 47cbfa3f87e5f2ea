/*
 * text.c - the plain-text report (`waitchain report`, default format).
 *
 * Layout: a header with the capture facts, the story (verdict.h) as a few
 * wrapped sentences, the warnings, then the key tables, each the output
 * of a canned query (a subset of its columns, aligned), so that
 * `waitchain query NAME` shows the same rows in full:
 *
 *   vcpu_summary, top_holders, holder_states, longest_blocks,
 *   top_blocking_stacks, and thread_states for each --thread.
 *
 * Every string from the capture goes through wc_esc_tty_str() (escape.h):
 * a thread named "\033[2J" prints as "\x1b[2J".  Tables hold at most
 * opt->top rows, so memory is bounded by that, not by the case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report-local.h"
#include "waitchain/escape.h"
#include "waitchain/report.h"
#include "waitchain/util.h"
#include "waitchain/verdict.h"

#define WRAP_COLUMNS 78

/* Writing context: the FILE, and the first write error. */
struct tout {
	FILE *f;
	const struct wc_report_options *opt;
	const char *path;
	struct wc_error *err;
	struct wc_buf line;	/* sentence being built (story) */
	int oom;
};

/* A section title (bold with --color), naming the query that fills it. */
static void heading(struct tout *t, const char *title, const char *query)
{
	if (t->opt && t->opt->color)
		fprintf(t->f, "\n\033[1m%s\033[0m", title);
	else
		fprintf(t->f, "\n%s", title);
	if (query)
		fprintf(t->f, " (waitchain query %s)", query);
	fputc('\n', t->f);
}

/* Columns of what is printed: code points, as the terminal shows them
 * (escaped text is valid UTF-8). */
static size_t columns(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/* Prints S (already escaped) wrapped at WRAP_COLUMNS, each line indented
 * by INDENT spaces. */
static void wrap(FILE *f, const char *s, size_t indent)
{
	size_t col = 0;

	while (*s) {
		const char *sp = strchr(s, ' ');
		size_t n = sp ? (size_t)(sp - s) : strlen(s);
		size_t w = columns(s, n);

		if (col && col + 1 + w > WRAP_COLUMNS) {
			fputc('\n', f);
			col = 0;
		}
		if (col) {
			fputc(' ', f);
			col++;
		} else {
			for (col = 0; col < indent; col++)
				fputc(' ', f);
		}
		fwrite(s, 1, n, f);
		col += w;
		s += n;
		while (*s == ' ')
			s++;
	}
	if (col)
		fputc('\n', f);
}

/* Story callback: builds each sentence with names escaped, prints it
 * wrapped at its end. */
static int story_span(void *ctx, enum wc_story_span kind, const char *s)
{
	struct tout *t = ctx;
	int rc = 0;

	switch (kind) {
	case WC_STORY_TEXT:
		rc = wc_buf_adds(&t->line, s);
		break;
	case WC_STORY_NAME:
		rc = wc_esc_tty_str(&t->line, s, strlen(s));
		break;
	case WC_STORY_END:
		wrap(t->f, wc_buf_str(&t->line), 2);
		wc_buf_reset(&t->line);
		break;
	}
	if (rc)
		return wc_err(t->err, WC_ENOMEM, t->path, "out of memory writing the report");
	return 0;
}

/* --- tables ------------------------------------------------------------------- */

enum cell_kind {
	CELL_INT,	/* integer as is */
	CELL_DUR,	/* integer ns, shown as "12.3 us" */
	CELL_PCT,	/* real, one decimal */
	CELL_REAL3,	/* real, three decimals (ms) */
	CELL_MARK,	/* integer flag: "?" if non-zero, else empty */
	CELL_TEXT,	/* untrusted text, escaped */
};

struct colspec {
	const char *column;	/* query column */
	const char *head;	/* header shown */
	enum cell_kind kind;
};

#define MAX_COLS 16
#define MAX_ROWS 200

/*
 * Runs query NAME with PARAMS and prints the columns COLS as an aligned
 * table (numbers right-aligned, text left-aligned and escaped).  At most
 * MAX_ROWS rows (the queries are limited by :top anyway).  Prints "(none)"
 * for an empty result.
 */
static int table(struct tout *t, sqlite3 *db, const char *name,
		 const struct wc_query_param *params, size_t nparams,
		 const struct colspec *cols, size_t ncols)
{
	sqlite3_stmt *st = NULL;
	char **cells = NULL;	/* nrows * ncols escaped strings */
	size_t width[MAX_COLS], nrows = 0;
	int idx[MAX_COLS];
	int rc;

	if (ncols > MAX_COLS)
		ncols = MAX_COLS;
	rc = wc_query_prepare(db, t->path, name, params, nparams, &st, t->err);
	if (rc)
		return rc;
	cells = calloc((size_t)MAX_ROWS * ncols, sizeof(*cells));
	if (!cells) {
		rc = wc_err(t->err, WC_ENOMEM, t->path, "out of memory writing the report");
		goto out;
	}
	for (size_t c = 0; c < ncols; c++) {
		idx[c] = wc_q_col(st, cols[c].column);
		width[c] = columns(cols[c].head, strlen(cols[c].head));
	}
	while (nrows < MAX_ROWS && (rc = wc_q_step(db, t->path, name, st, t->err)) > 0) {
		for (size_t c = 0; c < ncols; c++) {
			struct wc_buf b = WC_BUF_INIT;
			int i = idx[c], e = 0;
			char tmp[64];

			if (i < 0 || sqlite3_column_type(st, i) == SQLITE_NULL) {
				e = wc_buf_adds(&b, "");
			} else if (cols[c].kind == CELL_INT) {
				e = wc_buf_printf(&b, "%lld", (long long)sqlite3_column_int64(st, i));
			} else if (cols[c].kind == CELL_DUR) {
				int64_t ns = sqlite3_column_int64(st, i);

				e = wc_buf_adds(&b, wc_fmt_duration(ns < 0 ? 0 : (uint64_t)ns, tmp, sizeof(tmp)));
			} else if (cols[c].kind == CELL_PCT) {
				e = wc_buf_printf(&b, "%.1f", sqlite3_column_double(st, i));
			} else if (cols[c].kind == CELL_MARK) {
				e = wc_buf_adds(&b, sqlite3_column_int64(st, i) ? "?" : "");
			} else if (cols[c].kind == CELL_REAL3) {
				e = wc_buf_printf(&b, "%.3f", sqlite3_column_double(st, i));
			} else {
				const char *s = (const char *)sqlite3_column_text(st, i);

				e = wc_esc_tty_str(&b, s ? s : "", s ? (size_t)sqlite3_column_bytes(st, i) : 0);
			}
			if (e) {
				wc_buf_free(&b);
				rc = wc_err(t->err, WC_ENOMEM, t->path, "out of memory writing the report");
				goto out;
			}
			cells[nrows * ncols + c] = wc_buf_detach(&b);
			if (!cells[nrows * ncols + c]) {
				rc = wc_err(t->err, WC_ENOMEM, t->path, "out of memory writing the report");
				goto out;
			}
			size_t w = columns(cells[nrows * ncols + c], strlen(cells[nrows * ncols + c]));
			if (w > width[c])
				width[c] = w;
		}
		nrows++;
	}
	if (rc < 0)
		goto out;
	rc = 0;
	if (!nrows) {
		fputs("  (none)\n", t->f);
		goto out;
	}
	for (int line = -1; line < (int)nrows; line++) {
		fputs(" ", t->f);
		for (size_t c = 0; c < ncols; c++) {
			const char *s = line < 0 ? cols[c].head : cells[(size_t)line * ncols + c];
			size_t w = columns(s, strlen(s));
			size_t pad = width[c] > w ? width[c] - w : 0;
			int right = cols[c].kind != CELL_TEXT;

			if (line >= 0 && c + 1 == ncols && !*s)
				break;	/* an empty last cell: no trailing blanks */
			fputc(' ', t->f);
			if (right)
				for (size_t k = 0; k < pad; k++)
					fputc(' ', t->f);
			fputs(s, t->f);
			if (!right && c + 1 < ncols)
				for (size_t k = 0; k < pad; k++)
					fputc(' ', t->f);
		}
		fputc('\n', t->f);
	}
out:
	if (cells)
		for (size_t k = 0; k < (size_t)MAX_ROWS * ncols; k++)
			free(cells[k]);
	free(cells);
	sqlite3_finalize(st);
	return rc;
}

/* The stacks table: frames are long, so each stack gets a line of numbers
 * and an indented, wrapped line of frames. */
static int stacks(struct tout *t, sqlite3 *db, int top)
{
	struct wc_query_param p = { ":top", top };
	sqlite3_stmt *st = NULL;
	int rc, c_id, c_n, c_g, c_ns, c_pct, c_frames, c_stacks, any = 0;
	struct wc_buf b = WC_BUF_INIT;

	rc = wc_query_prepare(db, t->path, "top_blocking_stacks", &p, 1, &st, t->err);
	if (rc)
		return rc;
	c_id = wc_q_col(st, "stack_id");
	c_n = wc_q_col(st, "blocks");
	c_g = wc_q_col(st, "global_blocks");
	c_ns = wc_q_col(st, "blocked_ns");
	c_pct = wc_q_col(st, "pct_of_futex_blocked");
	c_frames = wc_q_col(st, "frames");
	c_stacks = wc_q_col(st, "stacks");
	while ((rc = wc_q_step(db, t->path, "top_blocking_stacks", st, t->err)) > 0) {
		const char *frames = (const char *)sqlite3_column_text(st, c_frames);
		char d[32];

		any = 1;
		int64_t nstacks = wc_q_int(st, c_stacks, 1);

		fprintf(t->f, "  %lld blocks (%lld on the global mutex), %s, %.1f%% of vCPU futex-blocked time; stack %lld",
			(long long)wc_q_int(st, c_n, 0), (long long)wc_q_int(st, c_g, 0),
			wc_fmt_duration((uint64_t)wc_q_int(st, c_ns, 0), d, sizeof(d)),
			wc_q_real(st, c_pct, 0), (long long)wc_q_int(st, c_id, 0));
		if (nstacks > 1)
			fprintf(t->f, " and %lld more like it", (long long)(nstacks - 1));
		fputc('\n', t->f);
		wc_buf_reset(&b);
		if (wc_esc_tty_str(&b, frames ? frames : "", frames ? strlen(frames) : 0)) {
			rc = wc_err(t->err, WC_ENOMEM, t->path, "out of memory writing the report");
			break;
		}
		wrap(t->f, wc_buf_str(&b), 4);
	}
	if (rc >= 0 && !any)
		fputs("  (no stacks recorded with vCPU futex blocks)\n", t->f);
	sqlite3_finalize(st);
	wc_buf_free(&b);
	return rc < 0 ? rc : 0;
}

/* The capture facts at the top of the report, capture strings escaped. */
static void header(struct tout *t, const struct wc_verdict *v, const char *db_path)
{
	char d[32];
	const char *src = t->opt && t->opt->source_arg ? t->opt->source_arg : db_path;

	fputs("waitchain report: ", t->f);
	wc_fput_tty_str(t->f, src ? src : "");
	fputc('\n', t->f);
	fputs("  capture: ", t->f);
	wc_fput_tty_str(t->f, v->source_file ? v->source_file : "?");
	fputs(" (", t->f);
	wc_fput_tty_str(t->f, v->format ? v->format : "unknown format");
	if (v->format_version) {
		fputs(" v", t->f);
		wc_fput_tty_str(t->f, v->format_version);
	}
	fputs(")\n", t->f);
	fputs("  host: ", t->f);
	wc_fput_tty_str(t->f, v->hostname ? v->hostname : "?");
	if (v->osrelease) {
		fputs(", kernel ", t->f);
		wc_fput_tty_str(t->f, v->osrelease);
	}
	if (v->arch) {
		fputc(' ', t->f);
		wc_fput_tty_str(t->f, v->arch);
	}
	if (v->nrcpus >= 0)
		fprintf(t->f, ", %lld CPUs", (long long)v->nrcpus);
	fputs(", clock ", t->f);
	wc_fput_tty_str(t->f, v->clock ? v->clock : "?");
	fputc('\n', t->f);
	fprintf(t->f, "  span: %s, %llu events", wc_fmt_duration(v->span_ns, d, sizeof(d)),
		(unsigned long long)v->events);
	if (v->wakeup_source) {
		fputs(", wakers from ", t->f);
		wc_fput_tty_str(t->f, v->wakeup_source);
	}
	fputc('\n', t->f);
	if (v->nevent_counts) {
		fputs("  events:", t->f);
		for (size_t i = 0; i < v->nevent_counts; i++) {
			fputs(i ? ", " : " ", t->f);
			wc_fput_tty_str(t->f, v->event_counts[i].key ? v->event_counts[i].key : "?");
			fputc(' ', t->f);
			wc_fput_tty_str(t->f, v->event_counts[i].value ? v->event_counts[i].value : "?");
		}
		fputc('\n', t->f);
	}
}

/* The legend of the uncertain counts, printed under the vCPU table when
 * some block is uncertain (lost events, sched_wakeup fallback). */
static void uncertain_legend(struct tout *t, const struct wc_verdict *v)
{
	fprintf(t->f, "  uncertain: %llu of the global-mutex blocks (%llu vCPU blocks in all) "
		"overlap lost events or rest on a fallback; marked ? below.\n",
		(unsigned long long)v->uncertain_global_blocks,
		(unsigned long long)v->uncertain_blocks);
}

int wc_report_text(sqlite3 *db, const char *db_path,
		   const struct wc_report_options *opt, FILE *out,
		   struct wc_error *err)
{
	static const struct colspec vcpu_cols[] = {
		{ "tid", "tid", CELL_INT },
		{ "name", "name", CELL_TEXT },
		{ "observed_ns", "observed", CELL_DUR },
		{ "running_pct", "run%", CELL_PCT },
		{ "preempted_pct", "preempt%", CELL_PCT },
		{ "woken_pct", "woken%", CELL_PCT },
		{ "global_pct", "global%", CELL_PCT },
		{ "other_blocked_pct", "other%", CELL_PCT },
		{ "global_blocks", "blocks", CELL_INT },
		{ "global_p50_ns", "p50", CELL_DUR },
		{ "global_p95_ns", "p95", CELL_DUR },
		{ "global_p99_ns", "p99", CELL_DUR },
		{ "global_max_ns", "max", CELL_DUR },
		{ "uncertain_global_blocks", "uncertain", CELL_INT },
	};
	static const struct colspec holder_cols[] = {
		{ "tid", "tid", CELL_INT },
		{ "name", "holder", CELL_TEXT },
		{ "held_ns", "held", CELL_DUR },
		{ "held_pct", "held%", CELL_PCT },
		{ "blocks", "blocks", CELL_INT },
		{ "running_pct", "run%", CELL_PCT },
		{ "preempted_pct", "preempt%", CELL_PCT },
		{ "futex_pct", "futex%", CELL_PCT },
		{ "blocked_io_ns", "io", CELL_DUR },
		{ "sleeping_ns", "sleep", CELL_DUR },
		{ "unknown_ns", "unknown", CELL_DUR },
	};
	static const struct colspec state_cols[] = {
		{ "depth", "depth", CELL_INT },
		{ "state", "state", CELL_TEXT },
		{ "time_ns", "time", CELL_DUR },
		{ "pct_of_depth", "%depth", CELL_PCT },
		{ "pct_of_blocked", "%blocked", CELL_PCT },
		{ "blocks", "blocks", CELL_INT },
		{ "threads", "threads", CELL_INT },
	};
	static const struct colspec block_cols[] = {
		{ "block_id", "block", CELL_INT },
		{ "tid", "tid", CELL_INT },
		{ "name", "vcpu", CELL_TEXT },
		{ "at_ms", "at_ms", CELL_REAL3 },
		{ "duration_ns", "duration", CELL_DUR },
		{ "futex", "futex", CELL_TEXT },
		{ "on_global_lock", "global", CELL_INT },
		{ "holder", "holder", CELL_TEXT },
		{ "holders", "holders", CELL_INT },
		{ "waker", "waker", CELL_TEXT },
		{ "wakeup_latency_ns", "latency", CELL_DUR },
		{ "uncertain", "?", CELL_MARK },
	};
	static const struct colspec thread_cols[] = {
		{ "state", "state", CELL_TEXT },
		{ "time_ns", "time", CELL_DUR },
		{ "pct", "%", CELL_PCT },
		{ "intervals", "intervals", CELL_INT },
	};
	struct tout t = { out, opt, db_path, err, WC_BUF_INIT, 0 };
	struct wc_verdict *v = NULL;
	int top = opt && opt->top > 0 ? opt->top : WC_REPORT_DEFAULT_TOP;
	struct wc_query_param ptop = { ":top", top };
	int rc;

	rc = wc_verdict_compute(db, db_path, opt, &v, err);
	if (rc)
		goto out;
	header(&t, v, db_path);
	heading(&t, "Verdict", NULL);
	rc = wc_verdict_story(v, story_span, &t);
	if (rc)
		goto out;
	if (v->nwarnings) {
		heading(&t, "Warnings", NULL);
		for (size_t i = 0; i < v->nwarnings; i++) {
			fputs("  - ", out);
			wc_fput_tty_str(out, v->warnings[i]);
			fputc('\n', out);
		}
	}
	if (v->analyzed) {
		heading(&t, "vCPU threads: share of observed time", "vcpu_summary");
		rc = table(&t, db, "vcpu_summary", NULL, 0, vcpu_cols, WC_ARRAY_SIZE(vcpu_cols));
		if (!rc && v->uncertain_blocks)
			uncertain_legend(&t, v);
		if (!rc) {
			heading(&t, "Who held the global mutex while vCPUs waited", "top_holders");
			rc = table(&t, db, "top_holders", &ptop, 1, holder_cols, WC_ARRAY_SIZE(holder_cols));
		}
		if (!rc) {
			heading(&t, "What the holders were doing, by chain depth", "holder_states");
			rc = table(&t, db, "holder_states", NULL, 0, state_cols, WC_ARRAY_SIZE(state_cols));
		}
		if (!rc) {
			heading(&t, "Longest vCPU blocks", "longest_blocks");
			rc = table(&t, db, "longest_blocks", &ptop, 1, block_cols, WC_ARRAY_SIZE(block_cols));
			if (!rc && v->uncertain_blocks)
				fputs("  ? = uncertain: the block overlaps lost events or rests on a fallback.\n", out);
		}
		if (!rc) {
			heading(&t, "Stacks where vCPUs blocked in futex waits", "top_blocking_stacks");
			rc = stacks(&t, db, top);
		}
		for (size_t i = 0; !rc && i < v->nthreads; i++) {
			char title[96];
			struct wc_query_param p = { ":tid", v->threads[i].tid };

			snprintf(title, sizeof(title), "Thread %d", (int)v->threads[i].tid);
			heading(&t, title, "thread_states");
			if (v->threads[i].name) {
				fputs("  name: ", out);
				wc_fput_tty_str(out, v->threads[i].name);
				fputc('\n', out);
			}
			rc = table(&t, db, "thread_states", &p, 1, thread_cols, WC_ARRAY_SIZE(thread_cols));
		}
		if (!rc)
			fputs("\nMore: `waitchain query --list`; `waitchain query CASE chain --param block_id=N` shows one block's holder chain.\n",
			      out);
	}
	if (!rc && (fflush(out) != 0 || ferror(out)))
		rc = wc_err(err, WC_EIO, opt && opt->output ? opt->output : "-",
			    "cannot write the report");
out:
	wc_buf_free(&t.line);
	wc_verdict_free(v);
	return rc;
}
