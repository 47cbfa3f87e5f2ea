/*
 * json.c - the JSON report (`waitchain report --format json`).
 *
 * One JSON object (shape documented in docs/json.md): the verdict
 * (verdict.h) with its numbers, the story as sentences, warnings, capture
 * facts, and "tables": the rows of the canned queries exactly as
 * `waitchain query NAME --format json` prints them (wc_output_stmt()), so
 * a script can read either.
 *
 * Every string goes through wc_fput_json_str() (escape.h): control
 * bytes, '<', '>', '&' and invalid UTF-8 are \u-escaped, so the document
 * stays valid and can be pasted into a <script> block.  Numbers: integers
 * as integers, percentages as reals with 4 decimals, never NaN.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report-local.h"
#include "waitchain/escape.h"
#include "waitchain/output.h"
#include "waitchain/report.h"
#include "waitchain/util.h"
#include "waitchain/verdict.h"

/* --- small writers ---------------------------------------------------------- */

/* A JSON string, or null for NULL. */
static void jstr(FILE *f, const char *s)
{
	if (s)
		wc_fput_json_str(f, s);
	else
		fputs("null", f);
}

/* "KEY": preceded by a comma unless *FIRST (then cleared). */
static void jkey(FILE *f, int *first, const char *key)
{
	if (!*first)
		fputc(',', f);
	*first = 0;
	fputs("\n", f);
	wc_fput_json_str(f, key);
	fputc(':', f);
}

/* A real with 4 decimals; null for NaN/infinity (never happens). */
static void jreal(FILE *f, double x)
{
	if (isfinite(x))
		fprintf(f, "%.4f", x);
	else
		fputs("null", f);
}

/* An unsigned integer. */
static void ju64(FILE *f, uint64_t x)
{
	fprintf(f, "%llu", (unsigned long long)x);
}

/* A tid/pid, or null when unknown (< 0). */
static void jtid(FILE *f, int32_t tid)
{
	if (tid < 0)
		fputs("null", f);
	else
		fprintf(f, "%d", (int)tid);
}

/* An address as a hex string (JavaScript numbers stop at 2^53). */
static void jhex(FILE *f, uint64_t x)
{
	fprintf(f, "\"0x%llx\"", (unsigned long long)x);
}

/* {"key": "value", ...} of KV (keys are unique: table primary keys). */
static void kv_object(FILE *f, const struct wc_verdict_kv *kv, size_t n)
{
	size_t k = 0;

	fputc('{', f);
	for (size_t i = 0; i < n; i++) {
		if (!kv[i].key)
			continue;
		if (k++)
			fputc(',', f);
		wc_fput_json_str(f, kv[i].key);
		fputc(':', f);
		jstr(f, kv[i].value);
	}
	fputc('}', f);
}

/* Story callback: accumulates a sentence raw, writes it as one JSON
 * string at its end. */
struct jstory {
	FILE *f;
	struct wc_buf line;
	int n;
	int oom;
};

static int story_span(void *ctx, enum wc_story_span kind, const char *s)
{
	struct jstory *j = ctx;

	if (kind == WC_STORY_END) {
		fputs(j->n++ ? ",\n  " : "\n  ", j->f);
		wc_fput_json_str(j->f, wc_buf_str(&j->line));
		wc_buf_reset(&j->line);
		return 0;
	}
	if (wc_buf_adds(&j->line, s)) {
		j->oom = 1;
		return -WC_ENOMEM;
	}
	return 0;
}

/* One entry of global_locks[].holders (docs/json.md). */
static void holder_json(FILE *f, const struct wc_verdict_holder *h)
{
	int first = 1;

	fputc('{', f);
	jkey(f, &first, "tid");
	jtid(f, h->tid);
	jkey(f, &first, "name");
	jstr(f, h->name);
	jkey(f, &first, "is_vcpu");
	fprintf(f, "%s", h->is_vcpu ? "true" : "false");
	jkey(f, &first, "held_ns");
	ju64(f, h->held_ns);
	jkey(f, &first, "held_pct");
	jreal(f, h->held_pct);
	jkey(f, &first, "blocks");
	ju64(f, h->blocks);
	jkey(f, &first, "states_ns");
	fputc('{', f);
	for (int s = 0; s < WC_HS_COUNT; s++) {
		if (s)
			fputc(',', f);
		fprintf(f, "\"%s\":", wc_hstate_name(s));
		ju64(f, h->state_ns[s]);
	}
	fputc('}', f);
	jkey(f, &first, "preempted_by");
	if (h->preemptor_tid >= 0) {
		int f2 = 1;

		fputc('{', f);
		jkey(f, &f2, "tid");
		jtid(f, h->preemptor_tid);
		jkey(f, &f2, "name");
		jstr(f, h->preemptor_name);
		jkey(f, &f2, "ns");
		ju64(f, h->preemptor_ns);
		fputc('}', f);
	} else {
		fputs("null", f);
	}
	jkey(f, &first, "waiting_on");
	fputc('[', f);
	for (size_t i = 0; i < h->nvia; i++) {
		const struct wc_verdict_via *w = &h->via[i];
		int f2 = 1;

		fputs(i ? ",{" : "{", f);
		jkey(f, &f2, "futex_pid");
		jtid(f, w->futex_pid);
		jkey(f, &f2, "futex");
		jhex(f, w->futex_uaddr);
		jkey(f, &f2, "holder_tid");
		jtid(f, w->tid);
		jkey(f, &f2, "holder");
		jstr(f, w->name);
		jkey(f, &f2, "holder_state");
		jstr(f, wc_hstate_name(w->state));
		jkey(f, &f2, "ns");
		ju64(f, w->ns);
		jkey(f, &f2, "pct_of_held");
		jreal(f, w->pct_of_held);
		fputc('}', f);
	}
	fputs("]}", f);
}

/* One entry of verdict.global_locks (docs/json.md). */
static void lock_json(FILE *f, const struct wc_verdict_lock *l)
{
	int first = 1;

	fputc('{', f);
	jkey(f, &first, "pid");
	jtid(f, l->pid);
	jkey(f, &first, "process");
	jstr(f, l->process);
	jkey(f, &first, "address");
	jhex(f, l->uaddr);
	jkey(f, &first, "uaddr");
	ju64(f, l->uaddr);
	jkey(f, &first, "symbol");
	jstr(f, l->symbol);
	jkey(f, &first, "chosen_by");
	jstr(f, l->chosen_by);
	jkey(f, &first, "share_pct");
	jreal(f, 100.0 * l->share);
	jkey(f, &first, "blocked_ns");
	ju64(f, l->blocked_ns);
	jkey(f, &first, "pct_of_blocked");
	jreal(f, l->pct_of_blocked);
	jkey(f, &first, "blocks");
	ju64(f, l->nblocks);
	jkey(f, &first, "waiters");
	ju64(f, l->waiters);
	jkey(f, &first, "vcpu_waiters");
	ju64(f, l->vcpu_waiters);
	jkey(f, &first, "holders_total_ns");
	ju64(f, l->holders_total_ns);
	jkey(f, &first, "holders");
	fputc('[', f);
	for (size_t i = 0; i < l->nholders; i++) {
		if (i)
			fputc(',', f);
		holder_json(f, &l->holders[i]);
	}
	fputs("]}", f);
}

/* One entry of verdict.vcpu_threads (docs/json.md). */
static void vcpu_json(FILE *f, const struct wc_verdict_vcpu *c)
{
	int first = 1;

	fputc('{', f);
	jkey(f, &first, "tid");
	jtid(f, c->tid);
	jkey(f, &first, "name");
	jstr(f, c->name);
	jkey(f, &first, "vcpu_index");
	if (c->vcpu_index >= 0)
		fprintf(f, "%d", c->vcpu_index);
	else
		fputs("null", f);
#define U(field) do { jkey(f, &first, #field); ju64(f, c->field); } while (0)
	U(observed_ns);
	U(running_ns);
	U(preempted_ns);
	U(woken_ns);
	U(global_ns);
	U(other_blocked_ns);
	U(global_blocks);
	U(p50_ns);
	U(p95_ns);
	U(p99_ns);
	U(max_ns);
#undef U
	fputc('}', f);
}

/* Writes "NAME": [rows] for canned query NAME. */
static int table_json(FILE *f, int *first, sqlite3 *db, const char *path,
		      const char *name, const struct wc_query_param *p,
		      size_t np, struct wc_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = wc_query_prepare(db, path, name, p, np, &st, err);
	if (rc)
		return rc;
	jkey(f, first, name);
	rc = wc_output_stmt(st, WC_OUT_JSON, f, path, NULL, err);
	sqlite3_finalize(st);
	return rc;
}

/* The "tables" object: the canned queries' rows. 0 or negative. */
static int tables_json(FILE *f, sqlite3 *db, const char *path, int top,
		       const struct wc_report_options *opt, struct wc_error *err)
{
	struct wc_query_param ptop = { ":top", top };
	int first = 1, rc = 0;

	fputc('{', f);
	rc = table_json(f, &first, db, path, "vcpu_summary", NULL, 0, err);
	if (!rc)
		rc = table_json(f, &first, db, path, "global_mutex", NULL, 0, err);
	if (!rc)
		rc = table_json(f, &first, db, path, "top_holders", &ptop, 1, err);
	if (!rc)
		rc = table_json(f, &first, db, path, "holder_states", NULL, 0, err);
	if (!rc)
		rc = table_json(f, &first, db, path, "holder_waits", &ptop, 1, err);
	if (!rc)
		rc = table_json(f, &first, db, path, "preempted_holders", NULL, 0, err);
	if (!rc)
		rc = table_json(f, &first, db, path, "longest_blocks", &ptop, 1, err);
	if (!rc)
		rc = table_json(f, &first, db, path, "top_blocking_stacks", &ptop, 1, err);
	if (!rc)
		rc = table_json(f, &first, db, path, "wakeup_latency", NULL, 0, err);
	if (!rc)
		rc = table_json(f, &first, db, path, "vcpu_switch_reasons", NULL, 0, err);
	if (!rc)
		rc = table_json(f, &first, db, path, "vcpu_timeslices", NULL, 0, err);
	if (!rc)
		rc = table_json(f, &first, db, path, "block_histogram", NULL, 0, err);
	if (!rc)
		rc = table_json(f, &first, db, path, "futex_objects", &ptop, 1, err);
	if (!rc)
		rc = table_json(f, &first, db, path, "lost_events", NULL, 0, err);
	if (!rc)
		rc = table_json(f, &first, db, path, "event_counts", NULL, 0, err);
	(void)opt;
	fputs("\n}", f);
	return rc;
}

int wc_report_json(sqlite3 *db, const char *db_path,
		   const struct wc_report_options *opt, FILE *out,
		   struct wc_error *err)
{
	struct jstory js = { out, WC_BUF_INIT, 0, 0 };
	struct wc_verdict *v = NULL;
	int top = opt && opt->top > 0 ? opt->top : WC_REPORT_DEFAULT_TOP;
	int first = 1, f2, rc;

	rc = wc_verdict_compute(db, db_path, opt, &v, err);
	if (rc)
		return rc;
	fputc('{', out);
	jkey(out, &first, "waitchain_report");
	fputs("1", out);
	jkey(out, &first, "database");
	jstr(out, db_path);
	jkey(out, &first, "source");
	jstr(out, opt && opt->source_arg ? opt->source_arg : db_path);

	jkey(out, &first, "capture");
	f2 = 1;
	fputc('{', out);
	jkey(out, &f2, "source_file");
	jstr(out, v->source_file);
	jkey(out, &f2, "format");
	jstr(out, v->format);
	jkey(out, &f2, "format_version");
	jstr(out, v->format_version);
	jkey(out, &f2, "hostname");
	jstr(out, v->hostname);
	jkey(out, &f2, "osrelease");
	jstr(out, v->osrelease);
	jkey(out, &f2, "arch");
	jstr(out, v->arch);
	jkey(out, &f2, "nrcpus");
	if (v->nrcpus >= 0)
		fprintf(out, "%lld", (long long)v->nrcpus);
	else
		fputs("null", out);
	jkey(out, &f2, "clock");
	jstr(out, v->clock);
	jkey(out, &f2, "first_ts");
	ju64(out, v->first_ts);
	jkey(out, &f2, "last_ts");
	ju64(out, v->last_ts);
	jkey(out, &f2, "span_ns");
	ju64(out, v->span_ns);
	jkey(out, &f2, "events");
	ju64(out, v->events);
	jkey(out, &f2, "truncated");
	fputs(v->truncated ? "true" : "false", out);
	jkey(out, &f2, "lost_events");
	ju64(out, v->lost_events);
	jkey(out, &f2, "has_stacks");
	fputs(v->has_stacks < 0 ? "null" : v->has_stacks ? "true" : "false", out);
	jkey(out, &f2, "has_sched_waking");
	fputs(v->has_sched_waking < 0 ? "null" : v->has_sched_waking ? "true" : "false", out);
	jkey(out, &f2, "has_futex");
	fputs(v->has_futex < 0 ? "null" : v->has_futex ? "true" : "false", out);
	jkey(out, &f2, "wakeup_source");
	jstr(out, v->wakeup_source);
	jkey(out, &f2, "facts");
	kv_object(out, v->capture_kv, v->ncapture_kv);
	jkey(out, &f2, "analysis");
	kv_object(out, v->analysis_kv, v->nanalysis_kv);
	fputc('}', out);

	jkey(out, &first, "story");
	fputc('[', out);
	rc = wc_verdict_story(v, story_span, &js);
	fputs("]", out);
	if (rc) {
		rc = wc_err(err, WC_ENOMEM, db_path, "out of memory writing the report");
		goto out;
	}
	jkey(out, &first, "warnings");
	fputc('[', out);
	for (size_t i = 0; i < v->nwarnings; i++) {
		fputs(i ? ",\n  " : "\n  ", out);
		jstr(out, v->warnings[i]);
	}
	fputc(']', out);

	jkey(out, &first, "verdict");
	f2 = 1;
	fputc('{', out);
	jkey(out, &f2, "analyzed");
	fputs(v->analyzed ? "true" : "false", out);
	jkey(out, &f2, "vcpus");
	fprintf(out, "%zu", v->nvcpus);
	jkey(out, &f2, "observed_ns");
	ju64(out, v->observed_ns);
	jkey(out, &f2, "running_ns");
	ju64(out, v->running_ns);
	jkey(out, &f2, "preempted_ns");
	ju64(out, v->preempted_ns);
	jkey(out, &f2, "woken_ns");
	ju64(out, v->woken_ns);
	jkey(out, &f2, "blocked_ns");
	ju64(out, v->blocked_ns);
	jkey(out, &f2, "global_ns");
	ju64(out, v->global_ns);
	jkey(out, &f2, "other_blocked_ns");
	ju64(out, v->other_blocked_ns);
	jkey(out, &f2, "blocked_pct");
	jreal(out, v->blocked_pct);
	jkey(out, &f2, "global_pct_of_blocked");
	jreal(out, v->global_pct_of_blocked);
	jkey(out, &f2, "uncertain_blocks");
	ju64(out, v->uncertain_blocks);
	jkey(out, &f2, "worst_vcpu_tid");
	jtid(out, v->worst_vcpu >= 0 ? v->vcpus[v->worst_vcpu].tid : -1);
	jkey(out, &f2, "global_locks");
	fputc('[', out);
	for (size_t i = 0; i < v->nlocks; i++) {
		if (i)
			fputc(',', out);
		lock_json(out, &v->locks[i]);
	}
	fputc(']', out);
	jkey(out, &f2, "vcpu_threads");
	fputc('[', out);
	for (size_t i = 0; i < v->nvcpus; i++) {
		if (i)
			fputc(',', out);
		vcpu_json(out, &v->vcpus[i]);
	}
	fputs("]}", out);

	jkey(out, &first, "threads");
	fputc('[', out);
	for (size_t i = 0; i < v->nthreads; i++) {
		const struct wc_verdict_thread *t = &v->threads[i];
		int f3 = 1;

		fputs(i ? ",{" : "{", out);
		jkey(out, &f3, "tid");
		jtid(out, t->tid);
		jkey(out, &f3, "name");
		jstr(out, t->name);
		jkey(out, &f3, "total_ns");
		ju64(out, t->total_ns);
		jkey(out, &f3, "states_ns");
		fputc('{', out);
		for (size_t s = 0; s < t->nstates; s++) {
			if (s)
				fputc(',', out);
			wc_fput_json_str(out, t->states[s].state ? t->states[s].state : "?");
			fputc(':', out);
			ju64(out, t->states[s].ns);
		}
		fputs("}}", out);
	}
	fputc(']', out);

	jkey(out, &first, "tables");
	if (v->analyzed)
		rc = tables_json(out, db, db_path, top, opt, err);
	else
		fputs("{}", out);
	if (rc)
		goto out;
	fputs("\n}\n", out);
	if (fflush(out) != 0 || ferror(out))
		rc = wc_err(err, WC_EIO, opt && opt->output ? opt->output : "-",
			    "cannot write the report");
out:
	wc_buf_free(&js.line);
	wc_verdict_free(v);
	return rc;
}
