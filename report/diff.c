/*
 * diff.c - `waitchain diff`: loading both sides, pairing vCPUs and
 * holders by name, and the text and JSON writers (HTML: diff-html.c).
 *
 * Every number of a side is either the verdict's (the same numbers the
 * reports of that database show) or comes from one streaming pass over
 * that side's vCPU global-mutex blocks sorted by duration (percentiles,
 * histogram): memory is bounded by the number of vCPUs and holders, not
 * by the number of blocks.
 *
 * Thread names are untrusted: tty_str for text, json_str for JSON.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "waitchain/escape.h"
#include "waitchain/report.h"

/* Holders kept per global mutex by the verdict we compute: enough to see
 * every thread that held it in practice. */
#define DIFF_VERDICT_TOP 64

/* -- title: vCPU block durations on the global mutex, shortest first
 * -- columns: dur (ns) */
static const char sql_durations[] =
	"SELECT end_ns - start_ns AS dur FROM block "
	"WHERE is_vcpu = 1 AND on_global_lock = 1 ORDER BY dur";

/* -- title: how many of them */
static const char sql_count[] =
	"SELECT count(*) FROM block WHERE is_vcpu = 1 AND on_global_lock = 1";

static int bucket_of(uint64_t ns)
{
	int k = 0;

	while (ns >= 2 && k < WC_DIFF_BUCKETS - 1) {
		ns >>= 1;
		k++;
	}
	return k;
}

/* Fills D from the durations, in one sorted pass. */
static int load_dist(sqlite3 *db, const char *db_path, struct wc_diff_dist *d,
		     struct wc_error *err)
{
	sqlite3_stmt *st = NULL;
	uint64_t rank = 0, r50, r90, r95, r99;
	int rc;

	memset(d, 0, sizeof(*d));
	if (sqlite3_prepare_v2(db, sql_count, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = wc_err(err, WC_EDB, db_path, "%s (counting blocks)",
			    sqlite3_errmsg(db));
		goto out;
	}
	d->n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	/* nearest rank: the k-th smallest, k = ceil(p * n / 100) */
	r50 = (d->n * 50 + 99) / 100;
	r90 = (d->n * 90 + 99) / 100;
	r95 = (d->n * 95 + 99) / 100;
	r99 = (d->n * 99 + 99) / 100;
	if (sqlite3_prepare_v2(db, sql_durations, -1, &st, NULL) != SQLITE_OK) {
		rc = wc_err(err, WC_EDB, db_path, "%s (block durations)",
			    sqlite3_errmsg(db));
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && rank < d->n) {
		int64_t v = sqlite3_column_int64(st, 0);
		uint64_t ns = v > 0 ? (uint64_t)v : 0;

		rank++;
		d->total_ns += ns;
		d->hist[bucket_of(ns)]++;
		if (rank == r50)
			d->p50 = ns;
		if (rank == r90)
			d->p90 = ns;
		if (rank == r95)
			d->p95 = ns;
		if (rank == r99)
			d->p99 = ns;
		d->max = ns;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		rc = wc_err(err, WC_EDB, db_path, "%s (block durations)",
			    sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

static int same_name(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static int by_held_desc(const void *pa, const void *pb)
{
	const struct wc_diff_holder *a = pa, *b = pb;

	if (a->held_ns != b->held_ns)
		return a->held_ns < b->held_ns ? 1 : -1;
	if (!a->name || !b->name)
		return a->name ? -1 : b->name ? 1 : 0;
	return strcmp(a->name, b->name);
}

/* Sums the verdict's holders by name over all global mutexes. */
static int load_holders(struct wc_diff_side *s, struct wc_error *err)
{
	const struct wc_verdict *v = s->v;
	size_t cap = 0;

	for (size_t i = 0; i < v->nlocks; i++) {
		cap += v->locks[i].nholders;
		s->holders_total_ns += v->locks[i].holders_total_ns;
	}
	if (!cap)
		return 0;
	s->holders = calloc(cap, sizeof(*s->holders));
	if (!s->holders)
		return wc_err(err, WC_ENOMEM, NULL, "diff: out of memory");
	for (size_t i = 0; i < v->nlocks; i++) {
		for (size_t j = 0; j < v->locks[i].nholders; j++) {
			const struct wc_verdict_holder *h = &v->locks[i].holders[j];
			const char *name = h->tid < 0 ? NULL : h->name;
			struct wc_diff_holder *d = NULL;

			for (size_t k = 0; k < s->nholders && !d; k++)
				if (same_name(s->holders[k].name, name))
					d = &s->holders[k];
			if (!d) {
				d = &s->holders[s->nholders++];
				if (name && !(d->name = strdup(name)))
					return wc_err(err, WC_ENOMEM, NULL,
						      "diff: out of memory");
				d->is_vcpu = h->is_vcpu;
			}
			d->held_ns += h->held_ns;
			d->blocks += h->blocks;
			for (int k = 0; k < WC_HS_COUNT; k++)
				d->state_ns[k] += h->state_ns[k];
		}
	}
	for (size_t k = 0; k < s->nholders; k++)
		s->holders[k].held_pct = s->holders_total_ns ?
			100.0 * s->holders[k].held_ns / s->holders_total_ns : 0;
	qsort(s->holders, s->nholders, sizeof(*s->holders), by_held_desc);
	return 0;
}

int wc_diff_load(sqlite3 *db, const char *db_path, const char *arg,
		 struct wc_diff_side *side, struct wc_error *err)
{
	struct wc_report_options opt = { .top = DIFF_VERDICT_TOP };
	int rc;

	memset(side, 0, sizeof(*side));
	side->arg = arg;
	rc = wc_verdict_compute(db, db_path, &opt, &side->v, err);
	if (rc < 0)
		return rc;
	if (!side->v->analyzed)
		return wc_err(err, WC_EDB, db_path,
			      "not analyzed: run waitchain analyze first");
	for (size_t i = 0; i < side->v->nvcpus; i++)
		side->global_blocks += side->v->vcpus[i].global_blocks;
	side->global_pct = side->v->observed_ns ?
		100.0 * side->v->global_ns / side->v->observed_ns : 0;
	rc = load_dist(db, db_path, &side->dist, err);
	if (rc < 0)
		return rc;
	return load_holders(side, err);
}

void wc_diff_side_free(struct wc_diff_side *side)
{
	if (!side)
		return;
	wc_verdict_free(side->v);
	for (size_t i = 0; i < side->nholders; i++)
		free(side->holders[i].name);
	free(side->holders);
	memset(side, 0, sizeof(*side));
}

/* --- pairing ------------------------------------------------------------------ */

int wc_diff_vcpu_pairs(const struct wc_diff *d, struct wc_diff_pair **pairs,
		       size_t *npairs)
{
	const struct wc_verdict *b = d->before.v, *a = d->after.v;
	char *used = calloc(a->nvcpus + 1, 1);
	size_t n = 0;

	*pairs = calloc(b->nvcpus + a->nvcpus + 1, sizeof(**pairs));
	if (!used || !*pairs) {
		free(used);
		free(*pairs);
		*pairs = NULL;
		return -WC_ENOMEM;
	}
	for (size_t i = 0; i < b->nvcpus; i++) {
		int match = -1;

		for (size_t j = 0; j < a->nvcpus && match < 0; j++)
			if (!used[j] && same_name(b->vcpus[i].name, a->vcpus[j].name))
				match = (int)j;
		if (match >= 0)
			used[match] = 1;
		(*pairs)[n++] = (struct wc_diff_pair){ (int)i, match };
	}
	for (size_t j = 0; j < a->nvcpus; j++)
		if (!used[j])
			(*pairs)[n++] = (struct wc_diff_pair){ -1, (int)j };
	free(used);
	*npairs = n;
	return 0;
}

int wc_diff_holder_pairs(const struct wc_diff *d, struct wc_diff_pair **pairs,
			 size_t *npairs)
{
	const struct wc_diff_side *b = &d->before, *a = &d->after;
	size_t n = 0;

	*pairs = calloc(b->nholders + a->nholders + 1, sizeof(**pairs));
	if (!*pairs)
		return -WC_ENOMEM;
	/* names are unique on each side (summed by name) */
	for (size_t j = 0; j < a->nholders; j++) {
		int match = -1;

		for (size_t i = 0; i < b->nholders && match < 0; i++)
			if (same_name(b->holders[i].name, a->holders[j].name))
				match = (int)i;
		(*pairs)[n++] = (struct wc_diff_pair){ match, (int)j };
	}
	for (size_t i = 0; i < b->nholders; i++) {
		int seen = 0;

		for (size_t j = 0; j < a->nholders && !seen; j++)
			seen = same_name(b->holders[i].name, a->holders[j].name);
		if (!seen)
			(*pairs)[n++] = (struct wc_diff_pair){ (int)i, -1 };
	}
	*npairs = n;
	return 0;
}

int wc_diff_is_new_top(const struct wc_diff *d, size_t ai)
{
	size_t top = d->top > 0 ? (size_t)d->top : WC_DIFF_DEFAULT_TOP;
	const char *name;

	if (ai >= top || ai >= d->after.nholders)
		return 0;
	name = d->after.holders[ai].name;
	for (size_t i = 0; i < d->before.nholders && i < top; i++)
		if (same_name(d->before.holders[i].name, name))
			return 0;
	return 1;
}

/* --- text ------------------------------------------------------------------- */

static const char *dur(uint64_t ns, char *buf)
{
	return wc_fmt_duration(ns, buf, 32);
}

/* "+1.20 ms", "-3 ns", "0" into BUF (>= 40). */
static const char *delta(uint64_t before, uint64_t after, char *buf)
{
	char tmp[32];

	if (after == before)
		return strcpy(buf, "0");
	snprintf(buf, 40, "%c%s", after > before ? '+' : '-',
		 wc_fmt_duration(after > before ? after - before : before - after,
				 tmp, sizeof(tmp)));
	return buf;
}

/* "(-91.1%)", "(new)", "" into BUF (>= 24). */
static const char *rel(uint64_t before, uint64_t after, char *buf)
{
	if (before == after)
		return strcpy(buf, "");
	if (!before)
		return strcpy(buf, "(new)");
	snprintf(buf, 24, "(%+.1f%%)", 100.0 * ((double)after - before) / before);
	return buf;
}

/* Escaped NAME padded to WIDTH terminal columns. */
static void put_name(FILE *out, const char *name, size_t width)
{
	const char *s = name ? name : "(unknown)";
	size_t w = wc_tty_width(s, strlen(s));

	wc_fput_tty_str(out, s);
	while (w++ < width)
		fputc(' ', out);
}

static void row_dur(FILE *out, const char *label, uint64_t b, uint64_t a)
{
	char x[32], y[32], z[40], r[24];

	fprintf(out, "  %-22s %12s %12s %12s %s\n", label, dur(b, x), dur(a, y),
		delta(b, a, z), rel(b, a, r));
}

static void row_count(FILE *out, const char *label, uint64_t b, uint64_t a)
{
	char r[24];

	fprintf(out, "  %-22s %12" PRIu64 " %12" PRIu64 " %+12" PRId64 " %s\n",
		label, b, a, (int64_t)(a - b), rel(b, a, r));
}

int wc_diff_text(const struct wc_diff *d, FILE *out, struct wc_error *err)
{
	const struct wc_diff_side *b = &d->before, *a = &d->after;
	struct wc_diff_pair *pairs = NULL;
	size_t npairs = 0, width = 10;
	char x[32], y[32], z[40];
	int any_new = 0;

	fputs("waitchain diff\n  before: ", out);
	wc_fput_tty_str(out, b->arg);
	fprintf(out, "  (%zu vCPUs, %s observed)\n  after:  ", b->v->nvcpus,
		dur(b->v->observed_ns, x));
	wc_fput_tty_str(out, a->arg);
	fprintf(out, "  (%zu vCPUs, %s observed)\n\n", a->v->nvcpus,
		dur(a->v->observed_ns, y));

	fputs("vCPU time blocked on the global mutex\n", out);
	fprintf(out, "  %-22s %12s %12s %12s\n", "", "before", "after", "change");
	row_dur(out, "blocked", b->v->global_ns, a->v->global_ns);
	fprintf(out, "  %-22s %11.2f%% %11.2f%% %+10.2f pts\n", "of vCPU time",
		b->global_pct, a->global_pct, a->global_pct - b->global_pct);
	row_count(out, "blocks", b->dist.n, a->dist.n);
	row_dur(out, "p50", b->dist.p50, a->dist.p50);
	row_dur(out, "p90", b->dist.p90, a->dist.p90);
	row_dur(out, "p95", b->dist.p95, a->dist.p95);
	row_dur(out, "p99", b->dist.p99, a->dist.p99);
	row_dur(out, "max", b->dist.max, a->dist.max);

	if (wc_diff_vcpu_pairs(d, &pairs, &npairs) < 0)
		return wc_err(err, WC_ENOMEM, NULL, "diff: out of memory");
	for (size_t i = 0; i < npairs; i++) {
		const struct wc_verdict_vcpu *v = pairs[i].before >= 0 ?
			&b->v->vcpus[pairs[i].before] : &a->v->vcpus[pairs[i].after];
		size_t w = v->name ? wc_tty_width(v->name, strlen(v->name)) : 9;

		if (w > width)
			width = w > 40 ? 40 : w;
	}
	fprintf(out, "\nPer vCPU (matched by name)\n  %-*s %12s %12s %12s %8s %8s %12s %12s\n",
		(int)width, "vCPU", "before", "after", "change", "blocks-b",
		"blocks-a", "p99-before", "p99-after");
	for (size_t i = 0; i < npairs; i++) {
		static const struct wc_verdict_vcpu none;
		const struct wc_verdict_vcpu *vb = pairs[i].before >= 0 ?
			&b->v->vcpus[pairs[i].before] : &none;
		const struct wc_verdict_vcpu *va = pairs[i].after >= 0 ?
			&a->v->vcpus[pairs[i].after] : &none;
		char p[32], q[32];

		fputs("  ", out);
		put_name(out, pairs[i].before >= 0 ? vb->name : va->name, width);
		fprintf(out, " %12s %12s %12s %8" PRIu64 " %8" PRIu64 " %12s %12s%s\n",
			pairs[i].before >= 0 ? dur(vb->global_ns, x) : "-",
			pairs[i].after >= 0 ? dur(va->global_ns, y) : "-",
			delta(vb->global_ns, va->global_ns, z),
			vb->global_blocks, va->global_blocks,
			pairs[i].before >= 0 ? dur(vb->p99_ns, p) : "-",
			pairs[i].after >= 0 ? dur(va->p99_ns, q) : "-",
			pairs[i].before < 0 ? "  (only after)" :
			pairs[i].after < 0 ? "  (only before)" : "");
	}
	free(pairs);

	if (wc_diff_holder_pairs(d, &pairs, &npairs) < 0)
		return wc_err(err, WC_ENOMEM, NULL, "diff: out of memory");
	fputs("\nHolders of the global mutex while vCPUs waited (vCPU-weighted)\n", out);
	fprintf(out, "  %-20s %12s %7s %12s %7s %12s  %s\n", "holder", "before", "",
		"after", "", "change", "states after (before)");
	for (size_t i = 0; i < npairs; i++) {
		static const struct wc_diff_holder none;
		const struct wc_diff_holder *hb = pairs[i].before >= 0 ?
			&b->holders[pairs[i].before] : &none;
		const struct wc_diff_holder *ha = pairs[i].after >= 0 ?
			&a->holders[pairs[i].after] : &none;
		int first = 1;

		fputs("  ", out);
		put_name(out, pairs[i].after >= 0 ? ha->name : hb->name, 20);
		fprintf(out, " %12s %6.1f%% %12s %6.1f%% %12s  ", dur(hb->held_ns, x),
			hb->held_pct, dur(ha->held_ns, y), ha->held_pct,
			delta(hb->held_ns, ha->held_ns, z));
		for (int k = 0; k < WC_HS_COUNT; k++) {
			double pa = ha->held_ns ? 100.0 * ha->state_ns[k] / ha->held_ns : 0;
			double pb = hb->held_ns ? 100.0 * hb->state_ns[k] / hb->held_ns : 0;

			if (pa < 0.05 && pb < 0.05)
				continue;
			fprintf(out, "%s%s %.0f%% (%.0f%%)", first ? "" : ", ",
				wc_hstate_name(k), pa, pb);
			first = 0;
		}
		fputc('\n', out);
	}
	free(pairs);

	fprintf(out, "\nNew top holders (top %d after, not in the top %d before):",
		d->top > 0 ? d->top : WC_DIFF_DEFAULT_TOP,
		d->top > 0 ? d->top : WC_DIFF_DEFAULT_TOP);
	for (size_t i = 0; i < a->nholders; i++) {
		if (!wc_diff_is_new_top(d, i))
			continue;
		fputs(any_new ? ", " : " ", out);
		wc_fput_tty_str(out, a->holders[i].name ? a->holders[i].name : "(unknown)");
		any_new = 1;
	}
	fputs(any_new ? "\n" : " none\n", out);
	if (fflush(out) != 0 || ferror(out))
		return wc_err(err, WC_EIO, NULL, "cannot write the diff");
	return 0;
}

/* --- JSON ------------------------------------------------------------------- */

static void json_dist(FILE *out, const struct wc_diff_dist *d)
{
	int first = 1;

	fprintf(out, "{\"blocks\":%" PRIu64 ",\"total_ns\":%" PRIu64
		",\"p50_ns\":%" PRIu64 ",\"p90_ns\":%" PRIu64 ",\"p95_ns\":%" PRIu64
		",\"p99_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64 ",\"histogram\":[",
		d->n, d->total_ns, d->p50, d->p90, d->p95, d->p99, d->max);
	for (int k = 0; k < WC_DIFF_BUCKETS; k++) {
		if (!d->hist[k])
			continue;
		fprintf(out, "%s{\"lo_ns\":%" PRIu64 ",\"hi_ns\":%" PRIu64
			",\"blocks\":%" PRIu64 "}", first ? "" : ",",
			k ? (uint64_t)1 << k : 0, (uint64_t)1 << (k + 1), d->hist[k]);
		first = 0;
	}
	fputs("]}", out);
}

static void json_side(FILE *out, const struct wc_diff_side *s)
{
	fputs("{\"source\":", out);
	wc_fput_json_str(out, s->arg);
	fprintf(out, ",\"vcpus\":%zu,\"observed_ns\":%" PRIu64 ",\"global_ns\":%"
		PRIu64 ",\"global_pct\":%.4f,\"global_blocks\":%" PRIu64
		",\"holders_total_ns\":%" PRIu64 ",\"distribution\":",
		s->v->nvcpus, s->v->observed_ns, s->v->global_ns, s->global_pct,
		s->global_blocks, s->holders_total_ns);
	json_dist(out, &s->dist);
	fputc('}', out);
}

static void json_vcpu(FILE *out, const struct wc_verdict_vcpu *v)
{
	if (!v) {
		fputs("null", out);
		return;
	}
	fprintf(out, "{\"tid\":%d,\"observed_ns\":%" PRIu64 ",\"global_ns\":%"
		PRIu64 ",\"global_blocks\":%" PRIu64 ",\"p50_ns\":%" PRIu64
		",\"p95_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64 "}",
		(int)v->tid, v->observed_ns, v->global_ns, v->global_blocks,
		v->p50_ns, v->p95_ns, v->p99_ns, v->max_ns);
}

static void json_holder(FILE *out, const struct wc_diff_holder *h)
{
	if (!h) {
		fputs("null", out);
		return;
	}
	fprintf(out, "{\"held_ns\":%" PRIu64 ",\"held_pct\":%.4f,\"blocks\":%"
		PRIu64 ",\"is_vcpu\":%d,\"states_ns\":{", h->held_ns, h->held_pct,
		h->blocks, h->is_vcpu);
	for (int k = 0; k < WC_HS_COUNT; k++)
		fprintf(out, "%s\"%s\":%" PRIu64, k ? "," : "", wc_hstate_name(k),
			h->state_ns[k]);
	fputs("}}", out);
}

int wc_diff_json(const struct wc_diff *d, FILE *out, struct wc_error *err)
{
	const struct wc_diff_side *b = &d->before, *a = &d->after;
	struct wc_diff_pair *pairs = NULL;
	size_t npairs = 0;
	int first = 1;

	fputs("{\"before\":", out);
	json_side(out, b);
	fputs(",\n\"after\":", out);
	json_side(out, a);
	fprintf(out, ",\n\"change\":{\"global_ns\":%" PRId64 ",\"global_pct_points\":%.4f,"
		"\"blocks\":%" PRId64 ",\"p50_ns\":%" PRId64 ",\"p90_ns\":%" PRId64
		",\"p95_ns\":%" PRId64 ",\"p99_ns\":%" PRId64 ",\"max_ns\":%" PRId64 "}",
		(int64_t)(a->v->global_ns - b->v->global_ns),
		a->global_pct - b->global_pct, (int64_t)(a->dist.n - b->dist.n),
		(int64_t)(a->dist.p50 - b->dist.p50), (int64_t)(a->dist.p90 - b->dist.p90),
		(int64_t)(a->dist.p95 - b->dist.p95), (int64_t)(a->dist.p99 - b->dist.p99),
		(int64_t)(a->dist.max - b->dist.max));

	if (wc_diff_vcpu_pairs(d, &pairs, &npairs) < 0)
		return wc_err(err, WC_ENOMEM, NULL, "diff: out of memory");
	fputs(",\n\"vcpus\":[", out);
	for (size_t i = 0; i < npairs; i++) {
		const struct wc_verdict_vcpu *vb = pairs[i].before >= 0 ?
			&b->v->vcpus[pairs[i].before] : NULL;
		const struct wc_verdict_vcpu *va = pairs[i].after >= 0 ?
			&a->v->vcpus[pairs[i].after] : NULL;

		fputs(i ? ",\n{\"name\":" : "\n{\"name\":", out);
		wc_fput_json_str(out, vb ? vb->name : va ? va->name : NULL);
		fputs(",\"before\":", out);
		json_vcpu(out, vb);
		fputs(",\"after\":", out);
		json_vcpu(out, va);
		fprintf(out, ",\"change\":{\"global_ns\":%" PRId64 ",\"global_blocks\":%"
			PRId64 ",\"p99_ns\":%" PRId64 "}}",
			(int64_t)((va ? va->global_ns : 0) - (vb ? vb->global_ns : 0)),
			(int64_t)((va ? va->global_blocks : 0) - (vb ? vb->global_blocks : 0)),
			(int64_t)((va ? va->p99_ns : 0) - (vb ? vb->p99_ns : 0)));
	}
	free(pairs);

	if (wc_diff_holder_pairs(d, &pairs, &npairs) < 0)
		return wc_err(err, WC_ENOMEM, NULL, "diff: out of memory");
	fputs("],\n\"holders\":[", out);
	for (size_t i = 0; i < npairs; i++) {
		const struct wc_diff_holder *hb = pairs[i].before >= 0 ?
			&b->holders[pairs[i].before] : NULL;
		const struct wc_diff_holder *ha = pairs[i].after >= 0 ?
			&a->holders[pairs[i].after] : NULL;

		fputs(i ? ",\n{\"name\":" : "\n{\"name\":", out);
		wc_fput_json_str(out, ha ? ha->name : hb ? hb->name : NULL);
		fputs(",\"before\":", out);
		json_holder(out, hb);
		fputs(",\"after\":", out);
		json_holder(out, ha);
		fprintf(out, ",\"change_ns\":%" PRId64 "}",
			(int64_t)((ha ? ha->held_ns : 0) - (hb ? hb->held_ns : 0)));
	}
	free(pairs);
	fputs("],\n\"new_top_holders\":[", out);
	for (size_t i = 0; a->holders && i < a->nholders; i++) {
		if (!wc_diff_is_new_top(d, i))
			continue;
		if (!first)
			fputc(',', out);
		wc_fput_json_str(out, a->holders[i].name);
		first = 0;
	}
	fputs("]}\n", out);
	if (fflush(out) != 0 || ferror(out))
		return wc_err(err, WC_EIO, NULL, "cannot write the diff");
	return 0;
}
