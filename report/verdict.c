/*
 * verdict.c - the story of a case database (verdict.h).
 *
 * Reads only the canned queries (queries/NAME.sql) so that every number of
 * the reports can be reproduced with `waitchain query NAME`:
 *
 *   capture_info, event_counts, lost_events  -> capture facts, warnings
 *   vcpu_summary                             -> per-vCPU times, totals
 *   global_mutex                             -> the global mutexes
 *   top_holders / preempted_holders / holder_waits (per lock)
 *                                            -> holders, their states,
 *                                               preemptors, depth 2
 *   thread_states                            -> --thread summaries
 *
 * Those queries read the analysis tables only (small: one row per block,
 * per holder interval), so this runs in milliseconds even on big cases.
 * Strings copied from rows are untrusted and stay raw here.
 */
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report-local.h"
#include "waitchain/util.h"
#include "waitchain/verdict.h"

static const char *const hstate_names[WC_HS_COUNT] = {
	"running", "preempted", "runnable", "futex", "blocked_io", "sleeping",
	"unknown",
};

static const char *const hstate_phrases[WC_HS_COUNT] = {
	"running", "preempted", "waiting for a CPU", "waiting on a futex",
	"blocked on I/O", "sleeping", "in an unknown state",
};

const char *wc_hstate_name(int state)
{
	return state >= 0 && state < WC_HS_COUNT ? hstate_names[state] : "?";
}

const char *wc_hstate_phrase(int state)
{
	return state >= 0 && state < WC_HS_COUNT ? hstate_phrases[state] : "?";
}

int wc_hstate_from_name(const char *s)
{
	if (s)
		for (int i = 0; i < WC_HS_COUNT; i++)
			if (strcmp(s, hstate_names[i]) == 0)
				return i;
	return WC_HS_UNKNOWN;
}

const char *wc_fmt_duration(uint64_t ns, char *buf, size_t size)
{
	if (ns < 1000)
		snprintf(buf, size, "%llu ns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, size, "%.1f us", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, size, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, size, "%.3f s", ns / 1e9);
	return buf;
}

/* --- freeing ---------------------------------------------------------------- */

static void free_kv(struct wc_verdict_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void free_lock(struct wc_verdict_lock *l)
{
	free(l->process);
	free(l->symbol);
	free(l->chosen_by);
	for (size_t i = 0; i < l->nholders; i++) {
		struct wc_verdict_holder *h = &l->holders[i];

		free(h->name);
		free(h->preemptor_name);
		for (size_t j = 0; j < h->nvia; j++)
			free(h->via[j].name);
	}
	free(l->holders);
}

void wc_verdict_free(struct wc_verdict *v)
{
	if (!v)
		return;
	free(v->source_file);
	free(v->format);
	free(v->format_version);
	free(v->hostname);
	free(v->osrelease);
	free(v->arch);
	free(v->clock);
	free(v->tracer_version);
	free(v->truncated_reason);
	free(v->wakeup_source);
	free_kv(v->capture_kv, v->ncapture_kv);
	free_kv(v->analysis_kv, v->nanalysis_kv);
	free_kv(v->event_counts, v->nevent_counts);
	for (size_t i = 0; i < v->nvcpus; i++)
		free(v->vcpus[i].name);
	free(v->vcpus);
	for (size_t i = 0; i < v->nlocks; i++)
		free_lock(&v->locks[i]);
	free(v->locks);
	for (size_t i = 0; i < v->nthreads; i++) {
		free(v->threads[i].name);
		for (size_t j = 0; j < v->threads[i].nstates; j++)
			free(v->threads[i].states[j].state);
	}
	free(v->threads);
	for (size_t i = 0; i < v->nwarnings; i++)
		free(v->warnings[i]);
	free(v->warnings);
	free(v);
}

/* --- building --------------------------------------------------------------- */

/* What every loader needs: where to report errors, and an OOM flag set by
 * wc_q_str() so that loaders check once per row. */
struct run {
	sqlite3 *db;
	const char *path;
	struct wc_error *err;
	int oom;
};

/* Makes room for one more element in *ARR (N used, *CAP allocated, ELSZ
 * bytes each), zeroing new memory.  0 or -WC_ENOMEM. */
static int grow(void **arr, size_t *cap, size_t n, size_t elsz)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(*arr, ncap * elsz);
	if (!p)
		return -WC_ENOMEM;
	memset((char *)p + *cap * elsz, 0, (ncap - *cap) * elsz);
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Records an out-of-memory error; returns its code. */
static int oom(struct run *r)
{
	return wc_err(r->err, WC_ENOMEM, r->path, "out of memory building the report");
}

/* Appends a printf-style warning to V (CAP: allocated slots). 0 or negative. */
static int add_warning(struct wc_verdict *v, size_t *cap, struct run *r,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int add_warning(struct wc_verdict *v, size_t *cap, struct run *r,
		       const char *fmt, ...)
{
	struct wc_buf b = WC_BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = wc_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc || grow((void **)&v->warnings, cap, v->nwarnings, sizeof(char *))) {
		wc_buf_free(&b);
		return oom(r);
	}
	v->warnings[v->nwarnings++] = wc_buf_detach(&b);
	return 0;
}

/* Column values are int64; negative durations/counts never make sense. */
static uint64_t to_u64(int64_t x)
{
	return x < 0 ? 0 : (uint64_t)x;
}

/* "0"/"1" capture flags: 1, 0, or -1 when the key is absent. */
static int parse_flag(const char *s)
{
	if (!s)
		return -1;
	return strcmp(s, "0") != 0 && s[0] != '\0';
}

/* Capture keys whose text value is kept in a char * of struct wc_verdict. */
static const struct {
	const char *key;
	size_t offset;
} capture_text_keys[] = {
	{ "source_file", offsetof(struct wc_verdict, source_file) },
	{ "format", offsetof(struct wc_verdict, format) },
	{ "format_version", offsetof(struct wc_verdict, format_version) },
	{ "hostname", offsetof(struct wc_verdict, hostname) },
	{ "osrelease", offsetof(struct wc_verdict, osrelease) },
	{ "arch", offsetof(struct wc_verdict, arch) },
	{ "clock", offsetof(struct wc_verdict, clock) },
	{ "tracer_version", offsetof(struct wc_verdict, tracer_version) },
	{ "truncated_reason", offsetof(struct wc_verdict, truncated_reason) },
};

/* The field of V that keeps capture key KEY (capture_text_keys), or NULL
 * when KEY is not one of them. */
static char **capture_text_field(struct wc_verdict *v, const char *key)
{
	for (size_t i = 0; i < WC_ARRAY_SIZE(capture_text_keys); i++)
		if (strcmp(key, capture_text_keys[i].key) == 0)
			return (char **)((char *)v + capture_text_keys[i].offset);
	return NULL;
}

/* capture_info: every fact, and the named ones in fields. */
static int load_capture(struct run *r, struct wc_verdict *v)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0, acap = 0;
	int rc, c_src, c_key, c_val;

	rc = wc_query_prepare(r->db, r->path, "capture_info", NULL, 0, &st, r->err);
	if (rc)
		return rc;
	c_src = wc_q_col(st, "source");
	c_key = wc_q_col(st, "key");
	c_val = wc_q_col(st, "value");
	while ((rc = wc_q_step(r->db, r->path, "capture_info", st, r->err)) > 0) {
		const char *src = (const char *)sqlite3_column_text(st, c_src);
		int is_analysis = src && strcmp(src, "analysis") == 0;
		struct wc_verdict_kv *kv;
		char **field;

		if (is_analysis
			    ? grow((void **)&v->analysis_kv, &acap, v->nanalysis_kv, sizeof(*kv))
			    : grow((void **)&v->capture_kv, &cap, v->ncapture_kv, sizeof(*kv))) {
			rc = oom(r);
			break;
		}
		kv = is_analysis ? &v->analysis_kv[v->nanalysis_kv++]
				 : &v->capture_kv[v->ncapture_kv++];
		kv->key = wc_q_str(st, c_key, &r->oom);
		kv->value = wc_q_str(st, c_val, &r->oom);
		if (r->oom || !kv->key) {
			rc = r->oom ? oom(r) : 0;
			if (rc)
				break;
			continue;
		}
		if (is_analysis)
			field = strcmp(kv->key, "wakeup_source") == 0
				? &v->wakeup_source : NULL;
		else
			field = capture_text_field(v, kv->key);
		if (!is_analysis && !field && kv->value) {
			int64_t x;
			int ok = wc_parse_int64(kv->value, &x);

			if (strcmp(kv->key, "nrcpus") == 0)
				v->nrcpus = ok ? x : -1;
			else if (strcmp(kv->key, "first_ts") == 0 && ok)
				v->first_ts = to_u64(x);
			else if (strcmp(kv->key, "last_ts") == 0 && ok)
				v->last_ts = to_u64(x);
			else if (strcmp(kv->key, "events") == 0 && ok)
				v->events = to_u64(x);
			else if (strcmp(kv->key, "truncated") == 0)
				v->truncated = parse_flag(kv->value) == 1;
			else if (strcmp(kv->key, "has_stacks") == 0)
				v->has_stacks = parse_flag(kv->value);
			else if (strcmp(kv->key, "has_sched_waking") == 0)
				v->has_sched_waking = parse_flag(kv->value);
			else if (strcmp(kv->key, "has_futex") == 0)
				v->has_futex = parse_flag(kv->value);
		}
		if (field && kv->value && !*field) {
			*field = wc_strdup(kv->value);
			if (!*field) {
				rc = oom(r);
				break;
			}
		}
	}
	sqlite3_finalize(st);
	v->analyzed = v->nanalysis_kv > 0;
	if (v->last_ts > v->first_ts)
		v->span_ns = v->last_ts - v->first_ts;
	return rc < 0 ? rc : 0;
}

/* event_counts -> v->event_counts (name, count as text). 0 or negative. */
static int load_event_counts(struct run *r, struct wc_verdict *v)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc, c_name, c_count;

	rc = wc_query_prepare(r->db, r->path, "event_counts", NULL, 0, &st, r->err);
	if (rc)
		return rc;
	c_name = wc_q_col(st, "name");
	c_count = wc_q_col(st, "count");
	while ((rc = wc_q_step(r->db, r->path, "event_counts", st, r->err)) > 0) {
		struct wc_verdict_kv *kv;

		if (grow((void **)&v->event_counts, &cap, v->nevent_counts, sizeof(*kv))) {
			rc = oom(r);
			break;
		}
		kv = &v->event_counts[v->nevent_counts++];
		kv->key = wc_q_str(st, c_name, &r->oom);
		kv->value = wc_q_str(st, c_count, &r->oom);
		if (r->oom) {
			rc = oom(r);
			break;
		}
	}
	sqlite3_finalize(st);
	return rc < 0 ? rc : 0;
}

/* lost_events -> v->lost_events, v->lost_reports. 0 or negative. */
static int load_lost(struct run *r, struct wc_verdict *v)
{
	sqlite3_stmt *st = NULL;
	int rc, c_reports, c_events;

	rc = wc_query_prepare(r->db, r->path, "lost_events", NULL, 0, &st, r->err);
	if (rc)
		return rc;
	c_reports = wc_q_col(st, "reports");
	c_events = wc_q_col(st, "events");
	while ((rc = wc_q_step(r->db, r->path, "lost_events", st, r->err)) > 0) {
		v->lost_reports += to_u64(wc_q_int(st, c_reports, 0));
		v->lost_events += to_u64(wc_q_int(st, c_events, 0));
	}
	sqlite3_finalize(st);
	return rc < 0 ? rc : 0;
}

/* PART as % of WHOLE; 0 when WHOLE is 0 (never NaN). */
static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* vcpu_summary -> v->vcpus, the totals and the worst vCPU. 0 or negative. */
static int load_vcpus(struct run *r, struct wc_verdict *v)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc;
	int c_tid, c_name, c_idx, c_obs, c_run, c_pre, c_wok, c_glob, c_oth,
		c_n, c_p50, c_p95, c_p99, c_max, c_unc, c_ugl;

	rc = wc_query_prepare(r->db, r->path, "vcpu_summary", NULL, 0, &st, r->err);
	if (rc)
		return rc;
	c_tid = wc_q_col(st, "tid");
	c_name = wc_q_col(st, "name");
	c_idx = wc_q_col(st, "vcpu_index");
	c_obs = wc_q_col(st, "observed_ns");
	c_run = wc_q_col(st, "running_ns");
	c_pre = wc_q_col(st, "preempted_ns");
	c_wok = wc_q_col(st, "woken_ns");
	c_glob = wc_q_col(st, "global_ns");
	c_oth = wc_q_col(st, "other_blocked_ns");
	c_n = wc_q_col(st, "global_blocks");
	c_p50 = wc_q_col(st, "global_p50_ns");
	c_p95 = wc_q_col(st, "global_p95_ns");
	c_p99 = wc_q_col(st, "global_p99_ns");
	c_max = wc_q_col(st, "global_max_ns");
	c_unc = wc_q_col(st, "uncertain_blocks");
	c_ugl = wc_q_col(st, "uncertain_global_blocks");
	v->worst_vcpu = -1;
	while ((rc = wc_q_step(r->db, r->path, "vcpu_summary", st, r->err)) > 0) {
		struct wc_verdict_vcpu *c;

		if (grow((void **)&v->vcpus, &cap, v->nvcpus, sizeof(*c))) {
			rc = oom(r);
			break;
		}
		c = &v->vcpus[v->nvcpus++];
		c->tid = (int32_t)wc_q_int(st, c_tid, -1);
		c->name = wc_q_str(st, c_name, &r->oom);
		c->vcpu_index = (int)wc_q_int(st, c_idx, -1);
		c->observed_ns = to_u64(wc_q_int(st, c_obs, 0));
		c->running_ns = to_u64(wc_q_int(st, c_run, 0));
		c->preempted_ns = to_u64(wc_q_int(st, c_pre, 0));
		c->woken_ns = to_u64(wc_q_int(st, c_wok, 0));
		c->global_ns = to_u64(wc_q_int(st, c_glob, 0));
		c->other_blocked_ns = to_u64(wc_q_int(st, c_oth, 0));
		c->global_blocks = to_u64(wc_q_int(st, c_n, 0));
		c->p50_ns = to_u64(wc_q_int(st, c_p50, 0));
		c->p95_ns = to_u64(wc_q_int(st, c_p95, 0));
		c->p99_ns = to_u64(wc_q_int(st, c_p99, 0));
		c->max_ns = to_u64(wc_q_int(st, c_max, 0));
		v->uncertain_blocks += to_u64(wc_q_int(st, c_unc, 0));
		c->uncertain_global_blocks = to_u64(wc_q_int(st, c_ugl, 0));
		v->uncertain_global_blocks += c->uncertain_global_blocks;
		if (r->oom) {
			rc = oom(r);
			break;
		}
		v->observed_ns += c->observed_ns;
		v->running_ns += c->running_ns;
		v->preempted_ns += c->preempted_ns;
		v->woken_ns += c->woken_ns;
		v->global_ns += c->global_ns;
		v->other_blocked_ns += c->other_blocked_ns;
		if (c->global_ns > 0 &&
		    (v->worst_vcpu < 0 ||
		     pct(c->global_ns, c->observed_ns) >
			     pct(v->vcpus[v->worst_vcpu].global_ns,
				 v->vcpus[v->worst_vcpu].observed_ns)))
			v->worst_vcpu = (int)(v->nvcpus - 1);
	}
	sqlite3_finalize(st);
	v->blocked_ns = v->global_ns + v->other_blocked_ns;
	v->blocked_pct = pct(v->blocked_ns, v->observed_ns);
	v->global_pct_of_blocked = pct(v->global_ns, v->blocked_ns);
	return rc < 0 ? rc : 0;
}

/* Parameters restricting a holder query to lock L. */
static size_t lock_params(const struct wc_verdict_lock *l,
			  struct wc_query_param *p, size_t n)
{
	p[n++] = (struct wc_query_param){ ":uaddr", (int64_t)l->uaddr };
	if (l->pid >= 0)
		p[n++] = (struct wc_query_param){ ":pid", l->pid };
	return n;
}

/* The holder of L with TID (-1 = the unknown holder), or NULL. */
static struct wc_verdict_holder *find_holder(struct wc_verdict_lock *l,
					     int32_t tid)
{
	for (size_t i = 0; i < l->nholders; i++)
		if (l->holders[i].tid == tid)
			return &l->holders[i];
	return NULL;
}

/*
 * top_holders (all rows summed, TOP kept), preempted_holders (depth 1: the
 * main preemptor of each kept holder) and holder_waits (depth 2) for lock
 * L.  0 or negative.
 */
static int load_holders(struct run *r, struct wc_verdict_lock *l, int top)
{
	struct wc_query_param p[4] = { { ":top", -1 } };
	size_t np = lock_params(l, p, 1), cap = 0;
	sqlite3_stmt *st = NULL;
	int rc;
	int c_tid, c_name, c_vcpu, c_held, c_pct, c_blocks, c_state[WC_HS_COUNT];
	static const char *const state_cols[WC_HS_COUNT] = {
		"running_ns", "preempted_ns", "runnable_ns", "futex_ns",
		"blocked_io_ns", "sleeping_ns", "unknown_ns",
	};

	rc = wc_query_prepare(r->db, r->path, "top_holders", p, np, &st, r->err);
	if (rc)
		return rc;
	c_tid = wc_q_col(st, "tid");
	c_name = wc_q_col(st, "name");
	c_vcpu = wc_q_col(st, "is_vcpu");
	c_held = wc_q_col(st, "held_ns");
	c_pct = wc_q_col(st, "held_pct");
	c_blocks = wc_q_col(st, "blocks");
	for (int i = 0; i < WC_HS_COUNT; i++)
		c_state[i] = wc_q_col(st, state_cols[i]);
	while ((rc = wc_q_step(r->db, r->path, "top_holders", st, r->err)) > 0) {
		struct wc_verdict_holder *h;
		uint64_t held = to_u64(wc_q_int(st, c_held, 0));

		l->holders_total_ns += held;
		if ((int)l->nholders >= top)
			continue;
		if (grow((void **)&l->holders, &cap, l->nholders, sizeof(*h))) {
			rc = oom(r);
			break;
		}
		h = &l->holders[l->nholders++];
		h->tid = (int32_t)wc_q_int(st, c_tid, -1);
		h->name = wc_q_str(st, c_name, &r->oom);
		h->is_vcpu = (int)wc_q_int(st, c_vcpu, 0);
		h->held_ns = held;
		h->held_pct = wc_q_real(st, c_pct, 0);
		h->blocks = to_u64(wc_q_int(st, c_blocks, 0));
		for (int i = 0; i < WC_HS_COUNT; i++)
			h->state_ns[i] = to_u64(wc_q_int(st, c_state[i], 0));
		h->preemptor_tid = -1;
		if (r->oom) {
			rc = oom(r);
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	/* held_pct from the query is rounded to 2 decimals: recompute exactly */
	for (size_t i = 0; i < l->nholders; i++)
		l->holders[i].held_pct = pct(l->holders[i].held_ns, l->blocked_ns);

	/* the main preemptor of each holder (rows come largest first) */
	p[0] = (struct wc_query_param){ ":depth", 1 };
	rc = wc_query_prepare(r->db, r->path, "preempted_holders", p, np, &st, r->err);
	if (rc)
		return rc;
	c_tid = wc_q_col(st, "holder_tid");
	int c_by = wc_q_col(st, "preempted_by"), c_byname = wc_q_col(st, "preempted_by_name");
	int c_time = wc_q_col(st, "time_ns");
	while ((rc = wc_q_step(r->db, r->path, "preempted_holders", st, r->err)) > 0) {
		struct wc_verdict_holder *h =
			find_holder(l, (int32_t)wc_q_int(st, c_tid, -1));

		if (!h || h->preemptor_ns || sqlite3_column_type(st, c_by) == SQLITE_NULL)
			continue;
		h->preemptor_tid = (int32_t)wc_q_int(st, c_by, -1);
		h->preemptor_name = wc_q_str(st, c_byname, &r->oom);
		h->preemptor_ns = to_u64(wc_q_int(st, c_time, 0));
		if (r->oom) {
			rc = oom(r);
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;

	/* depth 2: what the holders waited on */
	p[0] = (struct wc_query_param){ ":top", -1 };
	rc = wc_query_prepare(r->db, r->path, "holder_waits", p, np, &st, r->err);
	if (rc)
		return rc;
	c_tid = wc_q_col(st, "holder_tid");
	int c_fpid = wc_q_col(st, "futex_pid"), c_next = wc_q_col(st, "next_tid");
	int c_nname = wc_q_col(st, "next_holder"), c_nstate = wc_q_col(st, "next_state");
	c_time = wc_q_col(st, "time_ns");
	int c_futex = wc_q_col(st, "futex_uaddr");
	while ((rc = wc_q_step(r->db, r->path, "holder_waits", st, r->err)) > 0) {
		struct wc_verdict_holder *h =
			find_holder(l, (int32_t)wc_q_int(st, c_tid, -1));
		struct wc_verdict_via *w;

		if (!h || h->nvia >= WC_VERDICT_MAX_VIA)
			continue;
		w = &h->via[h->nvia++];
		w->futex_pid = (int32_t)wc_q_int(st, c_fpid, -1);
		w->futex_uaddr = (uint64_t)wc_q_int(st, c_futex, 0);
		w->tid = (int32_t)wc_q_int(st, c_next, -1);
		w->name = wc_q_str(st, c_nname, &r->oom);
		w->state = wc_hstate_from_name((const char *)sqlite3_column_text(st, c_nstate));
		w->ns = to_u64(wc_q_int(st, c_time, 0));
		w->pct_of_held = pct(w->ns, h->held_ns);
		if (r->oom) {
			rc = oom(r);
			break;
		}
	}
	sqlite3_finalize(st);
	return rc < 0 ? rc : 0;
}

/* global_mutex -> v->locks, then each lock's holders. 0 or negative. */
static int load_locks(struct run *r, struct wc_verdict *v, int top)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc;
	int c_pid, c_proc, c_uaddr, c_sym, c_by, c_share, c_ns, c_n, c_w, c_vw;

	rc = wc_query_prepare(r->db, r->path, "global_mutex", NULL, 0, &st, r->err);
	if (rc)
		return rc;
	c_pid = wc_q_col(st, "pid");
	c_proc = wc_q_col(st, "process");
	c_uaddr = wc_q_col(st, "uaddr");
	c_sym = wc_q_col(st, "symbol");
	c_by = wc_q_col(st, "chosen_by");
	c_share = wc_q_col(st, "share_pct");
	c_ns = wc_q_col(st, "blocked_ns");
	c_n = wc_q_col(st, "blocks");
	c_w = wc_q_col(st, "waiters");
	c_vw = wc_q_col(st, "vcpu_waiters");
	while ((rc = wc_q_step(r->db, r->path, "global_mutex", st, r->err)) > 0) {
		struct wc_verdict_lock *l;

		if (grow((void **)&v->locks, &cap, v->nlocks, sizeof(*l))) {
			rc = oom(r);
			break;
		}
		l = &v->locks[v->nlocks++];
		l->pid = (int32_t)wc_q_int(st, c_pid, -1);
		l->process = wc_q_str(st, c_proc, &r->oom);
		l->uaddr = (uint64_t)wc_q_int(st, c_uaddr, 0);
		l->symbol = wc_q_str(st, c_sym, &r->oom);
		l->chosen_by = wc_q_str(st, c_by, &r->oom);
		l->share = wc_q_real(st, c_share, 0) / 100.0;
		l->blocked_ns = to_u64(wc_q_int(st, c_ns, 0));
		l->nblocks = to_u64(wc_q_int(st, c_n, 0));
		l->waiters = to_u64(wc_q_int(st, c_w, 0));
		l->vcpu_waiters = to_u64(wc_q_int(st, c_vw, 0));
		l->pct_of_blocked = pct(l->blocked_ns, v->blocked_ns);
		if (r->oom) {
			rc = oom(r);
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < v->nlocks; i++) {
		rc = load_holders(r, &v->locks[i], top);
		if (rc)
			return rc;
	}
	return 0;
}

/* thread_states for each --thread TID -> v->threads. 0 or negative. */
static int load_threads(struct run *r, struct wc_verdict *v,
			const struct wc_report_options *opt)
{
	if (!opt || !opt->nthreads)
		return 0;
	v->threads = calloc(opt->nthreads, sizeof(*v->threads));
	if (!v->threads)
		return oom(r);
	for (size_t i = 0; i < opt->nthreads; i++) {
		struct wc_verdict_thread *t = &v->threads[v->nthreads++];
		struct wc_query_param p = { ":tid", opt->threads[i] };
		sqlite3_stmt *st = NULL;
		int rc, c_name, c_state, c_ns;

		t->tid = opt->threads[i];
		rc = wc_query_prepare(r->db, r->path, "thread_states", &p, 1, &st, r->err);
		if (rc)
			return rc;
		c_name = wc_q_col(st, "name");
		c_state = wc_q_col(st, "state");
		c_ns = wc_q_col(st, "time_ns");
		while ((rc = wc_q_step(r->db, r->path, "thread_states", st, r->err)) > 0) {
			uint64_t ns = to_u64(wc_q_int(st, c_ns, 0));

			if (!t->name)
				t->name = wc_q_str(st, c_name, &r->oom);
			t->total_ns += ns;
			if (t->nstates < WC_ARRAY_SIZE(t->states)) {
				t->states[t->nstates].state = wc_q_str(st, c_state, &r->oom);
				t->states[t->nstates++].ns = ns;
			}
			if (r->oom) {
				rc = oom(r);
				break;
			}
		}
		sqlite3_finalize(st);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* What limits the analysis, as sentences -> v->warnings.  Needs every
 * other loader to have run. 0 or negative. */
static int load_warnings(struct run *r, struct wc_verdict *v)
{
	size_t cap = 0;
	int rc = 0;

	if (v->truncated)
		rc = add_warning(v, &cap, r, "The capture is truncated (see capture.truncated_reason): the numbers cover only what was read.");
	if (!rc && v->lost_events)
		rc = add_warning(v, &cap, r, "%llu events were lost by the recorder (%llu loss report%s): analysis rows overlapping them are marked uncertain (%llu vCPU blocks).",
				 (unsigned long long)v->lost_events,
				 (unsigned long long)v->lost_reports,
				 v->lost_reports == 1 ? "" : "s",
				 (unsigned long long)v->uncertain_blocks);
	if (!rc && v->has_sched_waking == 0)
		rc = add_warning(v, &cap, r, "The capture has no sched_waking events: wakers come from sched_wakeup and are approximate.");
	if (!rc && v->has_futex == 0)
		rc = add_warning(v, &cap, r, "The capture has no futex system call events (syscalls:sys_enter_futex/sys_exit_futex): lock holders and the global mutex cannot be found.");
	if (!rc && v->has_stacks == 0)
		rc = add_warning(v, &cap, r, "The capture has no stacks (record with perf -g or trace-cmd -T): the stack tables are empty.");
	/* the importer's and the analyzer's own warnings, one per line */
	for (size_t i = 0; !rc && i < v->ncapture_kv + v->nanalysis_kv; i++) {
		const struct wc_verdict_kv *kv = i < v->ncapture_kv
			? &v->capture_kv[i] : &v->analysis_kv[i - v->ncapture_kv];
		const char *val = kv->value, *nl;

		if (!kv->key || strcmp(kv->key, "warnings") != 0 || !val)
			continue;
		for (; !rc && *val; val = *nl ? nl + 1 : nl) {
			nl = strchr(val, '\n');
			if (!nl)
				nl = val + strlen(val);
			if (nl > val)
				rc = add_warning(v, &cap, r, "%.*s", (int)(nl - val), val);
		}
	}
	if (!rc && !v->analyzed)
		rc = add_warning(v, &cap, r, "The database holds no analysis results: run `waitchain analyze` on it.");
	if (!rc && v->analyzed && v->nvcpus == 0)
		rc = add_warning(v, &cap, r, "No vCPU thread was found: no thread name matches the vCPU pattern (see `waitchain analyze --vcpu REGEX`).");
	if (!rc && v->analyzed && v->nvcpus > 0 && v->nlocks == 0)
		rc = add_warning(v, &cap, r, "No global mutex was found among the futexes the vCPU threads waited on.");
	return rc;
}

int wc_verdict_compute(sqlite3 *db, const char *db_path,
		       const struct wc_report_options *opt,
		       struct wc_verdict **out, struct wc_error *err)
{
	struct run r = { db, db_path, err, 0 };
	struct wc_verdict *v = calloc(1, sizeof(*v));
	int top = opt && opt->top > 0 ? opt->top : WC_REPORT_DEFAULT_TOP;
	int rc;

	*out = NULL;
	if (!v)
		return oom(&r);
	v->nrcpus = -1;
	v->has_stacks = v->has_sched_waking = v->has_futex = -1;
	v->worst_vcpu = -1;
	rc = load_capture(&r, v);
	if (!rc)
		rc = load_event_counts(&r, v);
	if (!rc)
		rc = load_lost(&r, v);
	if (!rc)
		rc = load_vcpus(&r, v);
	if (!rc)
		rc = load_locks(&r, v, top);
	if (!rc)
		rc = load_threads(&r, v, opt);
	if (!rc)
		rc = load_warnings(&r, v);
	if (rc) {
		wc_verdict_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

/* --- the story --------------------------------------------------------------- */

/* Emits printf-style trusted text. */
static int say(wc_story_fn fn, void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int say(wc_story_fn fn, void *ctx, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return fn(ctx, WC_STORY_TEXT, buf);
}

/* "NAME (tid N)", "an unknown thread" for tid < 0. */
static int say_thread(wc_story_fn fn, void *ctx, const char *name, int32_t tid)
{
	int rc;

	if (tid < 0)
		return fn(ctx, WC_STORY_TEXT, "an unknown thread");
	if (name && *name) {
		rc = fn(ctx, WC_STORY_NAME, name);
		if (rc)
			return rc;
		return say(fn, ctx, " (tid %d)", (int)tid);
	}
	return say(fn, ctx, "thread %d", (int)tid);
}

/* ", " or " and " between list items I of N. */
static int say_sep(wc_story_fn fn, void *ctx, size_t i, size_t n)
{
	if (i == 0)
		return 0;
	return fn(ctx, WC_STORY_TEXT, i + 1 == n ? " and " : ", ");
}

/* 1 if depth-2 entries A and B are about the same futex and holder. */
static int same_via(const struct wc_verdict_via *a, const struct wc_verdict_via *b)
{
	return a->futex_pid == b->futex_pid && a->futex_uaddr == b->futex_uaddr &&
	       a->tid == b->tid;
}

/*
 * Sentence 4 for one holder: what it did while holding the lock, largest
 * part first.  Futex time is told through depth 2, one part per (futex,
 * holder of that futex) with that holder's states: "waiting on futex F
 * held by W (tid N), which was sleeping 19.4% and running 0.4%".  All
 * percentages are of the holder's held time.
 */
static int story_holder(const struct wc_verdict_holder *h, wc_story_fn fn, void *ctx)
{
	struct part {
		int kind;	/* 0 state, 1 via group (idx = first via), 2 futex remainder */
		int idx;
		double pct;
	} parts[WC_HS_COUNT + WC_VERDICT_MAX_VIA + 1], tmp;
	size_t n = 0;
	uint64_t via_ns = 0;
	int rc, multi = 0;

	for (int s = 0; s < WC_HS_COUNT; s++) {
		if (s == WC_HS_FUTEX) {
			for (size_t j = 0; j < h->nvia; j++) {
				size_t k, nstates = 0;
				double sum = 0;

				via_ns += h->via[j].ns;
				for (k = 0; k < j && !same_via(&h->via[k], &h->via[j]); k++)
					;
				if (k < j)
					continue;	/* group already counted */
				for (k = j; k < h->nvia; k++)
					if (same_via(&h->via[k], &h->via[j]) &&
					    h->via[k].pct_of_held >= 0.05) {
						sum += h->via[k].pct_of_held;
						nstates++;
					}
				if (nstates > 1)
					multi = 1;
				if (nstates)
					parts[n++] = (struct part){ 1, (int)j, sum };
			}
			if (h->state_ns[s] > via_ns &&
			    pct(h->state_ns[s] - via_ns, h->held_ns) >= 0.05)
				parts[n++] = (struct part){ 2, s, pct(h->state_ns[s] - via_ns, h->held_ns) };
			continue;
		}
		if (h->state_ns[s] && pct(h->state_ns[s], h->held_ns) >= 0.05)
			parts[n++] = (struct part){ 0, s, pct(h->state_ns[s], h->held_ns) };
	}
	if (!n)
		return 0;
	for (size_t i = 1; i < n; i++)	/* largest first, stable */
		for (size_t j = i; j > 0 && parts[j].pct > parts[j - 1].pct; j--) {
			tmp = parts[j];
			parts[j] = parts[j - 1];
			parts[j - 1] = tmp;
		}
	rc = fn(ctx, WC_STORY_TEXT, "While holding it, ");
	if (!rc)
		rc = say_thread(fn, ctx, h->name, h->tid);
	if (!rc)
		rc = fn(ctx, WC_STORY_TEXT, " was ");
	for (size_t i = 0; !rc && i < n; i++) {
		const struct part *p = &parts[i];

		if (i > 0)
			rc = fn(ctx, WC_STORY_TEXT, multi ? (i + 1 == n ? "; and " : "; ")
							 : (i + 1 == n ? " and " : ", "));
		if (rc)
			break;
		if (p->kind == 0) {
			rc = say(fn, ctx, "%s %.1f%%", wc_hstate_phrase(p->idx), p->pct);
			if (!rc && p->idx == WC_HS_PREEMPTED && h->preemptor_tid >= 0) {
				rc = fn(ctx, WC_STORY_TEXT, " (mostly by ");
				if (!rc && h->preemptor_name && *h->preemptor_name) {
					rc = fn(ctx, WC_STORY_NAME, h->preemptor_name);
					if (!rc)
						rc = say(fn, ctx, ", tid %d)", (int)h->preemptor_tid);
				} else if (!rc) {
					rc = say(fn, ctx, "thread %d)", (int)h->preemptor_tid);
				}
			}
		} else if (p->kind == 1) {
			const struct wc_verdict_via *w = &h->via[p->idx];
			size_t nst = 0, ist = 0;

			for (size_t k = (size_t)p->idx; k < h->nvia; k++)
				if (same_via(&h->via[k], w) && h->via[k].pct_of_held >= 0.05)
					nst++;
			rc = say(fn, ctx, "waiting on futex 0x%llx held by ",
				 (unsigned long long)w->futex_uaddr);
			if (!rc)
				rc = say_thread(fn, ctx, w->name, w->tid);
			if (!rc)
				rc = fn(ctx, WC_STORY_TEXT, ", which was ");
			for (size_t k = (size_t)p->idx; !rc && k < h->nvia; k++) {
				const struct wc_verdict_via *x = &h->via[k];

				if (!same_via(x, w) || x->pct_of_held < 0.05)
					continue;
				rc = say_sep(fn, ctx, ist++, nst);
				if (!rc)
					rc = say(fn, ctx, nst == 1 ? "%s, %.1f%%" : "%s %.1f%%",
						 wc_hstate_phrase(x->state), x->pct_of_held);
			}
		} else {
			rc = say(fn, ctx, "%s %.1f%%",
				 h->nvia ? "waiting on other futexes" : "waiting on another futex",
				 p->pct);
		}
	}
	if (!rc)
		rc = fn(ctx, WC_STORY_TEXT, " of that time.");
	if (!rc)
		rc = fn(ctx, WC_STORY_END, NULL);
	return rc;
}

static int story_lock(const struct wc_verdict *v, const struct wc_verdict_lock *l,
		      wc_story_fn fn, void *ctx)
{
	char d[32];
	size_t nlist = 0, rest;
	uint64_t listed_ns = 0;
	double others, uncovered;
	int rc;

	rc = say(fn, ctx, "%.1f%% of that blocked time (%s in %llu blocks) was on futex 0x%llx",
		 l->pct_of_blocked, wc_fmt_duration(l->blocked_ns, d, sizeof(d)),
		 (unsigned long long)l->nblocks, (unsigned long long)l->uaddr);
	if (!rc && l->pid >= 0) {
		rc = say(fn, ctx, " of process %d", (int)l->pid);
		if (!rc && l->process && *l->process) {
			rc = fn(ctx, WC_STORY_TEXT, " (");
			if (!rc)
				rc = fn(ctx, WC_STORY_NAME, l->process);
			if (!rc)
				rc = fn(ctx, WC_STORY_TEXT, ")");
		}
	}
	if (!rc)
		rc = fn(ctx, WC_STORY_TEXT,
			l->chosen_by && strcmp(l->chosen_by, "auto") != 0
				? ", the mutex chosen with --lock"
				: ", the global mutex");
	if (!rc && l->symbol && *l->symbol) {
		rc = fn(ctx, WC_STORY_TEXT, " ");
		if (!rc)
			rc = fn(ctx, WC_STORY_NAME, l->symbol);
	}
	if (!rc)
		rc = say(fn, ctx, ", which accounts for %.1f%% of their futex-blocked time.",
			 100.0 * l->share);
	if (!rc)
		rc = fn(ctx, WC_STORY_END, NULL);
	if (rc || !l->nholders)
		return rc;

	/* sentence 3: who held it: the main holders, then the other holders,
	 * then the blocked time the chains do not cover */
	for (size_t i = 0; i < l->nholders && nlist < 4; i++) {
		if (l->holders[i].held_pct < 0.05)
			break;
		listed_ns += l->holders[i].held_ns;
		nlist++;
	}
	others = l->holders_total_ns > listed_ns
		 ? pct(l->holders_total_ns - listed_ns, l->blocked_ns) : 0;
	uncovered = l->blocked_ns > l->holders_total_ns
		    ? pct(l->blocked_ns - l->holders_total_ns, l->blocked_ns) : 0;
	rest = (others >= 0.05) + (uncovered >= 0.05);
	rc = fn(ctx, WC_STORY_TEXT, "While they waited for it, it was held by ");
	for (size_t i = 0; !rc && i < nlist; i++) {
		const struct wc_verdict_holder *h = &l->holders[i];

		rc = say_sep(fn, ctx, i, nlist + rest);
		if (!rc && i > 0)
			rc = fn(ctx, WC_STORY_TEXT, "by ");
		if (!rc)
			rc = say_thread(fn, ctx, h->name, h->tid);
		if (!rc)
			rc = say(fn, ctx, i == 0 ? " %.1f%% of the time" : " %.1f%%", h->held_pct);
	}
	if (!rc && others >= 0.05) {
		rc = say_sep(fn, ctx, nlist, nlist + rest);
		if (!rc)
			rc = say(fn, ctx, "by other threads %.1f%%", others);
	}
	if (!rc && uncovered >= 0.05) {
		rc = say_sep(fn, ctx, nlist + (others >= 0.05), nlist + rest);
		if (!rc)
			rc = say(fn, ctx, "%.1f%% of it is not covered by holder chains", uncovered);
	}
	if (!rc)
		rc = fn(ctx, WC_STORY_TEXT, ".");
	if (!rc)
		rc = fn(ctx, WC_STORY_END, NULL);

	/* sentence 4: what the main holders did */
	for (size_t i = 0; !rc && i < l->nholders && i < 3; i++)
		if (l->holders[i].tid >= 0 && l->holders[i].held_pct >= 5.0)
			rc = story_holder(&l->holders[i], fn, ctx);
	return rc;
}

int wc_verdict_story(const struct wc_verdict *v, wc_story_fn fn, void *ctx)
{
	char d1[32], d2[32];
	int rc;

	if (!v->analyzed) {
		rc = fn(ctx, WC_STORY_TEXT, "This database has no analysis results yet.");
		return rc ? rc : fn(ctx, WC_STORY_END, NULL);
	}
	if (!v->nvcpus) {
		rc = fn(ctx, WC_STORY_TEXT, "No vCPU thread was found in this capture, so there is no vCPU story to tell.");
		return rc ? rc : fn(ctx, WC_STORY_END, NULL);
	}
	rc = say(fn, ctx, "The %zu vCPU thread%s %s observed for %s in all and spent %.1f%% of that time blocked (%s), %.1f%% running and %.1f%% preempted.",
		 v->nvcpus, v->nvcpus == 1 ? "" : "s", v->nvcpus == 1 ? "was" : "were",
		 wc_fmt_duration(v->observed_ns, d1, sizeof(d1)), v->blocked_pct,
		 wc_fmt_duration(v->blocked_ns, d2, sizeof(d2)),
		 pct(v->running_ns, v->observed_ns), pct(v->preempted_ns, v->observed_ns));
	if (!rc)
		rc = fn(ctx, WC_STORY_END, NULL);
	if (!rc && !v->nlocks) {
		rc = fn(ctx, WC_STORY_TEXT, "No global mutex was found among the futexes they waited on.");
		if (!rc)
			rc = fn(ctx, WC_STORY_END, NULL);
	}
	for (size_t i = 0; !rc && i < v->nlocks; i++)
		rc = story_lock(v, &v->locks[i], fn, ctx);
	if (!rc && v->worst_vcpu >= 0 && v->nlocks) {
		const struct wc_verdict_vcpu *c = &v->vcpus[v->worst_vcpu];

		rc = say_thread(fn, ctx, c->name, c->tid);
		if (!rc)
			rc = say(fn, ctx, " was the most affected: blocked on the global mutex %.1f%% of its observed time, in %llu blocks (p50 %s, p99 %s, max %s).",
				 pct(c->global_ns, c->observed_ns),
				 (unsigned long long)c->global_blocks,
				 wc_fmt_duration(c->p50_ns, d1, sizeof(d1)),
				 wc_fmt_duration(c->p99_ns, d2, sizeof(d2)),
				 wc_fmt_duration(c->max_ns, (char[32]){ 0 }, 32));
		if (!rc)
			rc = fn(ctx, WC_STORY_END, NULL);
	}
	return rc;
}
