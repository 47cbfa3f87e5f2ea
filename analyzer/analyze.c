/*
 * analyze.c - wc_analyze(): the driver of the analysis and its prepass.
 *
 * Everything happens in one transaction on the case database: the
 * analysis tables (schema/040_analysis.sql) are emptied and rewritten, so
 * running it twice gives the same rows, and an error or Ctrl-C leaves the
 * previous analysis untouched (ROLLBACK).
 *
 * The prepass loads what the replay needs about threads, all bounded by
 * the number of threads:
 *  - the thread table (utid, tid, pid, comm) and the tid -> utid rule of
 *    include/waitchain/tidmap.h, loaded from thread.start_seq, so every
 *    utid the analysis writes is the one the importer wrote;
 *  - vCPU threads: the current comm or any earlier name (thread_name)
 *    matching the --vcpu POSIX ERE (names are attacker-controlled: only
 *    matched and copied, never interpreted);
 *  - processes for captures without tgids (trace.dat): threads that use
 *    the same private futex word belong to one process (union-find over
 *    futex uaddr/uaddr2); a thread without futex calls joins the process
 *    of the thread that forked it.  The pid of a group is the tid of the
 *    member forked by a thread outside the group (a new process's first
 *    thread has tid == pid) when the capture saw that fork, else the
 *    smallest tid of the group (the main thread is normally created
 *    first).  Stored in thread.pid with pid_source 'inferred'.
 *  - lost-event intervals (table lost), merged.
 */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze-local.h"
#include "waitchain/coltab.h"
#include "waitchain/db.h"

#ifndef WC_VERSION
#define WC_VERSION "unknown"
#endif

int actx_warn(struct actx *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = wc_buf_vprintf(&c->warnings, fmt, ap);
	va_end(ap);
	if (!rc)
		rc = wc_buf_addc(&c->warnings, '\n');
	return rc;
}

int actx_dberr(struct actx *c, const char *what)
{
	return wc_err(c->err, WC_EDB, c->path, "analysis (%s): %s", what,
		      sqlite3_errmsg(c->db));
}

int actx_step_reset(struct actx *c, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return actx_dberr(c, what);
	return 0;
}

int actx_lost_overlaps(const struct actx *c, uint64_t from, uint64_t to)
{
	size_t lo = 0, hi = c->nlost;

	/* first interval whose end is >= from */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->lost[mid].to < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->nlost && c->lost[lo].from <= to;
}

struct athread *actx_thread_find(const struct actx *c, int32_t tid,
				 uint64_t seq)
{
	int64_t utid;

	if (tid <= 0)
		return NULL;
	utid = wc_tidmap_at(c->tidmap, tid, seq);
	if (utid <= 0 || utid > c->max_utid)
		return NULL;
	return c->thr[utid];
}

struct athread *actx_thread_at(struct actx *c, int32_t tid, uint64_t seq)
{
	struct athread *t = actx_thread_find(c, tid, seq);

	if (!t && tid > 0)
		c->unknown_tid_events++;
	return t;
}

void *actx_reserve(struct actx *c, void *v, size_t *cap, size_t need,
		   size_t size)
{
	size_t nc = *cap ? *cap : 8;
	void *nv;

	if (need <= *cap)
		return v;
	while (nc < need)
		nc *= 2;
	nv = realloc(v, nc * size);
	if (!nv) {
		wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
		return NULL;
	}
	*cap = nc;
	return nv;
}

struct fobj *actx_fobj(struct actx *c, int64_t pid, uint64_t uaddr, int create)
{
	struct fobj *o = amap_get(&c->fobjs, (uint64_t)pid, uaddr);

	if (o || !create)
		return o;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->pid = pid;
	o->uaddr = uaddr;
	o->kind = "other";
	o->is_root = 1;
	if (amap_put(&c->fobjs, (uint64_t)pid, uaddr, o)) {
		free(o);
		return NULL;
	}
	return o;
}

/* --- threads ------------------------------------------------------------------- */

static int load_threads(struct actx *c)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = wc_db_int(c->db, c->path, "SELECT max(utid) FROM thread", 0,
		       &c->max_utid, c->err);
	if (rc)
		return rc;
	if (c->max_utid < 0 || c->max_utid > 100000000)
		return wc_err(c->err, WC_ELIMIT, c->path,
			      "thread table: utid %lld out of range",
			      (long long)c->max_utid);
	c->thr = calloc((size_t)c->max_utid + 1, sizeof(*c->thr));
	c->tidmap = wc_tidmap_new();
	if (!c->thr || !c->tidmap)
		return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	rc = wc_db_prepare(c->db, c->path,
			   "SELECT utid, tid, pid, pid_source, comm, start_seq,"
			   " parent_tid FROM thread ORDER BY utid", &st, c->err);
	if (rc)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t utid = sqlite3_column_int64(st, 0);
		const char *src = (const char *)sqlite3_column_text(st, 3);
		const char *comm = (const char *)sqlite3_column_text(st, 4);
		struct athread *t;

		if (utid <= 0 || utid > c->max_utid)
			continue;
		t = calloc(1, sizeof(*t));
		if (!t) {
			rc = wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
			goto out;
		}
		c->thr[utid] = t;
		c->nthreads++;
		t->utid = utid;
		t->tid = (int32_t)sqlite3_column_int64(st, 1);
		t->pid = -1;
		if (sqlite3_column_type(st, 2) != SQLITE_NULL &&
		    (!src || strcmp(src, "capture") == 0)) {
			t->pid = sqlite3_column_int64(st, 2);
			t->pid_from_capture = 1;
		}
		t->comm = wc_strdup(comm);
		t->vcpu_index = -1;
		t->start_seq = (uint64_t)sqlite3_column_int64(st, 5);
		t->parent_tid = sqlite3_column_type(st, 6) == SQLITE_NULL ?
			-1 : (int32_t)sqlite3_column_int64(st, 6);
		t->state_block = -1;
		t->preempted_by = -1;
		t->call_waker_idx = -1;
		if ((comm && !t->comm) ||
		    wc_tidmap_add(c->tidmap, utid, t->tid, t->start_seq)) {
			rc = wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
			goto out;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : actx_dberr(c, "thread");
out:
	sqlite3_finalize(st);
	return rc;
}

/* Marks T as a vCPU named NAME (index and accelerator from "CPU n/ACC"). */
static int set_vcpu(struct athread *t, const char *name)
{
	unsigned idx;
	char accel[16];
	int used = 0;

	t->is_vcpu = 1;
	free(t->vcpu_name);
	t->vcpu_name = wc_strdup(name);
	if (!t->vcpu_name)
		return -WC_ENOMEM;
	t->vcpu_index = -1;
	t->accel[0] = 0;
	if (sscanf(name, "CPU %u/%15[A-Za-z]%n", &idx, accel, &used) == 2 &&
	    name[used] == 0 && idx < 1000000) {
		t->vcpu_index = (int)idx;
		memcpy(t->accel, accel, sizeof(accel));
	}
	return 0;
}

static int detect_vcpus(struct actx *c, const regex_t *re)
{
	sqlite3_stmt *st = NULL;
	int rc;

	for (int64_t u = 1; u <= c->max_utid; u++) {
		struct athread *t = c->thr[u];

		if (t && t->comm && regexec(re, t->comm, 0, NULL, 0) == 0 &&
		    set_vcpu(t, t->comm))
			return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	}
	/* names seen earlier (before a rename): latest matching name wins */
	rc = wc_db_prepare(c->db, c->path,
			   "SELECT utid, comm FROM thread_name ORDER BY utid,"
			   " ts IS NOT NULL, ts", &st, c->err);
	if (rc)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t u = sqlite3_column_int64(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		struct athread *t = u > 0 && u <= c->max_utid ? c->thr[u] : NULL;

		if (!t || !name || (t->is_vcpu && t->comm &&
				    strcmp(t->vcpu_name, t->comm) == 0))
			continue;
		if (regexec(re, name, 0, NULL, 0) == 0 && set_vcpu(t, name)) {
			rc = wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
			goto out;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : actx_dberr(c, "thread_name");
out:
	sqlite3_finalize(st);
	return rc;
}

/* --- process inference --------------------------------------------------------- */

static int64_t uf_find(int64_t *parent, int64_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

static void uf_union(int64_t *parent, int64_t a, int64_t b)
{
	a = uf_find(parent, a);
	b = uf_find(parent, b);
	if (a != b)
		parent[a > b ? a : b] = a < b ? a : b;
}

static int infer_pids(struct actx *c)
{
	size_t n = (size_t)c->max_utid + 1;
	int64_t *parent = malloc(n * sizeof(*parent));
	int64_t *forker = malloc(n * sizeof(*forker));	/* utid that forked it */
	int64_t *gpid = malloc(n * sizeof(*gpid));	/* pid per root */
	uint8_t *gmode = calloc(n, sizeof(*gmode));
	struct amap first = { 0 };
	sqlite3_stmt *st = NULL;
	struct evsrc fx = { 0 };
	int need = 0, rc;

	if (!parent || !forker || !gpid || !gmode) {
		rc = wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		parent[i] = (int64_t)i;
		forker[i] = 0;
		gpid[i] = -1;
		if (c->thr[i] && !c->thr[i]->pid_from_capture)
			need = 1;
	}
	if (!need) {
		rc = 0;
		goto out;
	}
	rc = wc_db_exec(c->db, c->path,
			"UPDATE thread SET pid = NULL, pid_source = NULL"
			" WHERE pid_source = 'inferred'", c->err);
	if (rc)
		goto out;

	{
		static const char *const cols[] = { "tid", "enter_seq", "exit_seq",
			"uaddr", "uaddr2", "cmd", "op" };

		rc = evsrc_open(c, &fx, "futex", cols, (int)WC_ARRAY_SIZE(cols));
	}
	if (rc)
		goto out;
	while (!(rc = evsrc_next(c, &fx)) && fx.has_row) {
		int64_t seq = evsrc_i64(&fx, evsrc_null(&fx, 1) ? 2 : 1, 0);
		struct athread *t;
		int64_t op = evsrc_i64(&fx, 6, 0);
		int cmd = (int)evsrc_i64(&fx, 5, 0);
		uint64_t addr[2];
		int naddr = 1;

		if (evsrc_null(&fx, 3))
			continue;
		t = actx_thread_at(c, (int32_t)evsrc_i64(&fx, 0, 0), (uint64_t)seq);
		if (!t)
			continue;
		t->has_futex_ops = 1;
		if (!(op & 128) && cmd != 0x70)
			continue;	/* shared futexes may span processes */
		addr[0] = (uint64_t)evsrc_i64(&fx, 3, 0);
		if ((cmd == 3 || cmd == 4 || cmd == 5 || cmd == 12) &&
		    !evsrc_null(&fx, 4))
			addr[naddr++] = (uint64_t)evsrc_i64(&fx, 4, 0);
		for (int k = 0; k < naddr; k++) {
			void *v = amap_get(&first, addr[k], 0);

			if (v)
				uf_union(parent, (int64_t)(intptr_t)v, t->utid);
			else if (amap_put(&first, addr[k], 0,
					  (void *)(intptr_t)t->utid)) {
				rc = wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
				goto out;
			}
		}
	}
	evsrc_close(&fx);
	if (rc)
		goto out;

	rc = wc_db_prepare(c->db, c->path,
			   "SELECT seq, parent_tid, child_tid FROM sched_process_fork",
			   &st, c->err);
	if (rc)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
		struct athread *p = actx_thread_at(c, (int32_t)sqlite3_column_int64(st, 1), seq);
		struct athread *ch = actx_thread_at(c, (int32_t)sqlite3_column_int64(st, 2), seq);

		if (p && ch && p != ch)
			forker[ch->utid] = p->utid;
	}
	if (rc != SQLITE_DONE) {
		rc = actx_dberr(c, "sched_process_fork");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;

	/* the pid of each group: a pid from the capture if a member has
	 * one (gmode 3), else the smallest tid among members forked from
	 * outside the group (2), else the smallest tid (1) */
	for (size_t i = 1; i < n; i++) {
		struct athread *t = c->thr[i];

		if (t && t->has_futex_ops && t->pid_from_capture) {
			int64_t r = uf_find(parent, (int64_t)i);

			gpid[r] = t->pid;
			gmode[r] = 3;
		}
	}
	for (size_t i = 1; i < n; i++) {
		struct athread *t = c->thr[i];
		int64_t r;

		if (!t || !t->has_futex_ops)
			continue;
		r = uf_find(parent, (int64_t)i);
		if (gmode[r] == 3)
			continue;
		if (forker[i] && uf_find(parent, forker[i]) != r) {
			if (gmode[r] != 2 || t->tid < gpid[r])
				gpid[r] = t->tid;
			gmode[r] = 2;
		} else if (gmode[r] == 0 || (gmode[r] == 1 && t->tid < gpid[r])) {
			gpid[r] = t->tid;
			gmode[r] = 1;
		}
	}
	for (size_t i = 1; i < n; i++) {
		struct athread *t = c->thr[i];

		if (!t || t->pid_from_capture)
			continue;
		if (t->has_futex_ops) {
			t->pid = gpid[uf_find(parent, (int64_t)i)];
		} else {
			/* follow forks up to a thread with a process */
			int64_t u = forker[i];

			for (int hops = 0; u && hops < 64; hops++) {
				struct athread *p = c->thr[u];

				if (p && (p->pid_from_capture || p->has_futex_ops)) {
					t->pid = p->pid_from_capture ? p->pid :
						gpid[uf_find(parent, u)];
					break;
				}
				u = forker[u];
			}
		}
	}
	c->inferred_pids = 1;

	rc = wc_db_prepare(c->db, c->path,
			   "UPDATE thread SET pid = ?1, pid_source = 'inferred'"
			   " WHERE utid = ?2", &st, c->err);
	if (rc)
		goto out;
	for (size_t i = 1; i < n; i++) {
		struct athread *t = c->thr[i];

		if (!t || t->pid_from_capture || t->pid < 0)
			continue;
		sqlite3_bind_int64(st, 1, t->pid);
		sqlite3_bind_int64(st, 2, t->utid);
		rc = actx_step_reset(c, st, "thread pid");
		if (rc)
			goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	evsrc_close(&fx);
	amap_free(&first);
	free(parent);
	free(forker);
	free(gpid);
	free(gmode);
	return rc;
}

/* --- vcpu table ---------------------------------------------------------------- */

static int write_vcpus(struct actx *c)
{
	sqlite3_stmt *st = NULL;
	int rc = wc_db_prepare(c->db, c->path,
			       "INSERT INTO vcpu(utid, tid, pid, comm, vcpu_index, accel)"
			       " VALUES(?1,?2,?3,?4,?5,?6)", &st, c->err);

	for (int64_t u = 1; !rc && u <= c->max_utid; u++) {
		struct athread *t = c->thr[u];

		if (!t || !t->is_vcpu)
			continue;
		sqlite3_bind_int64(st, 1, t->utid);
		sqlite3_bind_int64(st, 2, t->tid);
		bind_i64(st, 3, t->pid, t->pid < 0);
		sqlite3_bind_text(st, 4, t->comm ? t->comm : t->vcpu_name, -1,
				  SQLITE_STATIC);
		bind_i64(st, 5, t->vcpu_index, t->vcpu_index < 0);
		if (t->accel[0])
			sqlite3_bind_text(st, 6, t->accel, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 6);
		rc = actx_step_reset(c, st, "vcpu");
	}
	sqlite3_finalize(st);
	return rc;
}

/* --- lost events --------------------------------------------------------------- */

static int cmp_iv(const void *a, const void *b)
{
	const struct lost_iv *x = a, *y = b;

	return x->from < y->from ? -1 : x->from > y->from;
}

static int load_lost(struct actx *c)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	uint64_t total = 0;
	int rc = wc_db_prepare(c->db, c->path,
			       "SELECT ts_from_ns, ts_ns, count FROM lost", &st, c->err);

	if (rc)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int has_from = sqlite3_column_type(st, 0) != SQLITE_NULL;
		int has_ts = sqlite3_column_type(st, 1) != SQLITE_NULL;
		uint64_t cnt = (uint64_t)sqlite3_column_int64(st, 2);
		struct lost_iv iv;

		total += cnt;
		if (!has_ts && !has_from) {
			c->lost_untimed += cnt;
			continue;
		}
		iv.to = (uint64_t)sqlite3_column_int64(st, has_ts ? 1 : 0);
		iv.from = has_from ? (uint64_t)sqlite3_column_int64(st, 0) : iv.to;
		if (iv.from > iv.to) {
			uint64_t x = iv.from;

			iv.from = iv.to;
			iv.to = x;
		}
		if (c->nlost == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct lost_iv *p = realloc(c->lost, ncap * sizeof(*p));

			if (!p) {
				rc = wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
				goto out;
			}
			c->lost = p;
			cap = ncap;
		}
		c->lost[c->nlost++] = iv;
	}
	if (rc != SQLITE_DONE) {
		rc = actx_dberr(c, "lost");
		goto out;
	}
	rc = 0;
	if (c->nlost) {
		size_t m = 0;

		qsort(c->lost, c->nlost, sizeof(*c->lost), cmp_iv);
		for (size_t i = 1; i < c->nlost; i++) {
			if (c->lost[i].from <= c->lost[m].to) {
				if (c->lost[i].to > c->lost[m].to)
					c->lost[m].to = c->lost[i].to;
			} else {
				c->lost[++m] = c->lost[i];
			}
		}
		c->nlost = m + 1;
	}
	if (total)
		rc = actx_warn(c, "%llu events were lost (%zu timed intervals%s):"
			       " rows overlapping them are marked uncertain",
			       (unsigned long long)total, c->nlost,
			       c->lost_untimed ? ", some at unknown times" : "");
out:
	sqlite3_finalize(st);
	return rc;
}

/* --- driver -------------------------------------------------------------------- */

/* The analysis tables: ordinary ones, then the columnar ones (emptied
 * with wc_coltab_clear(): the module refuses DELETE). */
static const char *const analysis_tables[] = {
	"analysis", "vcpu", "futex_object", "global_lock", "holder_time",
	"thread_time",
};
static const char *const analysis_coltabs[] = {
	"thread_state", "block", "lock_wait", "block_holder", "chain",
	"vcpu_switch", "vcpu_slice",
};

static int set_key(struct actx *c, sqlite3_stmt *st, const char *key,
		   const char *value)
{
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (value)
		sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 2);
	return actx_step_reset(c, st, "analysis");
}

/* SECONDS: wall time; CPU_SECONDS: processor time of this process (the
 * wall time means little on a loaded machine). */
static int write_keys(struct actx *c, double seconds, double cpu_seconds)
{
	sqlite3_stmt *st = NULL;
	char buf[128];
	int rc = wc_db_prepare(c->db, c->path,
			       "INSERT OR REPLACE INTO analysis(key, value) VALUES(?1, ?2)",
			       &st, c->err);

	if (rc)
		return rc;
#define KEYF(k, ...) do { snprintf(buf, sizeof(buf), __VA_ARGS__); \
		if (!rc) rc = set_key(c, st, k, buf); } while (0)
	rc = set_key(c, st, "vcpu_regex", c->opt->vcpu_regex ?
		     c->opt->vcpu_regex : WC_DEFAULT_VCPU_REGEX);
	if (c->opt->has_lock) {
		if (c->opt->lock_pid >= 0)
			KEYF("lock_override", "%d:0x%llx", (int)c->opt->lock_pid,
			     (unsigned long long)c->opt->lock_uaddr);
		else
			KEYF("lock_override", "0x%llx",
			     (unsigned long long)c->opt->lock_uaddr);
	} else if (!rc) {
		rc = set_key(c, st, "lock_override", NULL);
	}
	KEYF("depth_limit", "%d", c->depth_limit);
	wc_utc_iso8601(buf, sizeof(buf));
	if (!rc)
		rc = set_key(c, st, "analyzed_at", buf);
	KEYF("analyze_seconds", "%.3f", seconds);
	if (!rc)
		rc = set_key(c, st, "waitchain_version", WC_VERSION);
	if (!rc)
		rc = set_key(c, st, "warnings", wc_buf_str(&c->warnings));
	if (!rc)
		rc = set_key(c, st, "wakeup_source", c->has_waking ?
			     "sched_waking" : "sched_wakeup (approximate)");
	if (!rc)
		rc = set_key(c, st, "pid_source", c->inferred_pids ?
			     "inferred" : "capture");
	KEYF("phase_seconds", "prepass %.3f, pass1 (with chains) %.3f, locks %.3f",
	     c->phase_ns[0] / 1e9, (c->phase_ns[1] - c->phase_ns[0]) / 1e9,
	     (c->phase_ns[2] - c->phase_ns[1]) / 1e9);
	KEYF("events", "%llu", (unsigned long long)c->nevents);
	KEYF("events_per_second", "%.0f", seconds > 0 ? c->nevents / seconds : 0.0);
	KEYF("analyze_cpu_seconds", "%.3f", cpu_seconds);
	KEYF("events_per_cpu_second", "%.0f", cpu_seconds > 0 ? c->nevents / cpu_seconds : 0.0);
	KEYF("blocks", "%llu", (unsigned long long)c->n_blocks);
	KEYF("futex_blocks", "%llu", (unsigned long long)c->n_futex_blocks);
	KEYF("chain_rows", "%llu", (unsigned long long)c->n_chain_rows);
	KEYF("chain_blocks", "%llu", (unsigned long long)c->n_chain_blocks);
	KEYF("deadlocks", "%llu", (unsigned long long)c->n_deadlock);
	KEYF("pass1_runs", "%d", c->pass1_runs);
	KEYF("state_rows", "%llu", (unsigned long long)c->n_state_rows);
#undef KEYF
	sqlite3_finalize(st);
	return rc;
}

static int exists(struct actx *c, const char *table, int *out)
{
	char sql[128];
	int64_t v;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT EXISTS(SELECT 1 FROM %s)", table);
	rc = wc_db_int(c->db, c->path, sql, 0, &v, c->err);
	*out = v != 0;
	return rc;
}

/* Rows of TABLE into *N: the chunk directory's counts for a columnar
 * table (count(*) would decode every row), else count(*). */
static int table_rows(struct actx *c, const char *table, int64_t *n)
{
	char sql[160];

	if (wc_coltab_table_kind(c->db, table) == 1)
		snprintf(sql, sizeof(sql), "SELECT coalesce(sum(n), 0) FROM \"%s__chunk\"",
			 table);
	else
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return wc_db_int(c->db, c->path, sql, 0, n, c->err);
}

/* c->total_events, for the progress line: every event table's rows,
 * futex calls twice (enter and exit). */
static int count_events(struct actx *c)
{
	static const char *const tables[] = {
		"sched_switch", "sched_waking", "sched_wakeup", "sched_wakeup_new",
		"sched_process_fork", "sched_process_exit", "kvm_event", "futex",
	};
	int64_t v = 0;
	int rc = 0;

	c->total_events = 0;
	for (size_t i = 0; !rc && i < WC_ARRAY_SIZE(tables); i++) {
		rc = table_rows(c, tables[i], &v);
		c->total_events += (uint64_t)v * (strcmp(tables[i], "futex") ? 1 : 2);
	}
	return rc;
}

static int capture_warnings(struct actx *c)
{
	int rc = 0;

	if (!c->has_waking && c->has_wakeup)
		rc = actx_warn(c, "the capture has no sched_waking: wakers come from"
			       " sched_wakeup, which may fire in another task's"
			       " context (blocks marked uncertain)");
	if (!rc && !c->has_futex)
		rc = actx_warn(c, "the capture has no futex system calls: blocks have"
			       " no futex, holders or chains");
	if (!rc && !c->has_stacks)
		rc = actx_warn(c, "the capture has no stacks: vcpu_switch.evidence is"
			       " empty");
	if (!rc && c->n_unknown_start)
		rc = actx_warn(c, "%llu threads were already asleep when the capture"
			       " started: their first block has state '?' and an"
			       " unknown start (uncertain)",
			       (unsigned long long)c->n_unknown_start);
	if (!rc && c->n_no_wakeup)
		rc = actx_warn(c, "%llu sleeps ended without a recorded wakeup (lost"
			       " or missing events): no waker, marked uncertain",
			       (unsigned long long)c->n_no_wakeup);
	if (!rc && c->n_fallback && c->has_waking)
		rc = actx_warn(c, "%llu wakeups came from sched_wakeup because their"
			       " sched_waking is missing (approximate waker)",
			       (unsigned long long)c->n_fallback);
	if (!rc && c->n_hist_evicted)
		rc = actx_warn(c, "%llu holder-chain pieces lie in history dropped at"
			       " the per-thread cap (a block waited very long while"
			       " its holders were busy): 'unknown' there, marked"
			       " uncertain", (unsigned long long)c->n_hist_evicted);
	if (!rc && c->unknown_tid_events)
		rc = actx_warn(c, "%llu event mentions of tids missing from the thread"
			       " table were ignored",
			       (unsigned long long)c->unknown_tid_events);
	if (!rc && c->n_open_at_end)
		rc = actx_warn(c, "%llu sleeps were still in progress when the capture"
			       " ended (holders 'truncated')",
			       (unsigned long long)c->n_open_at_end);
	return rc;
}

static void actx_free(struct actx *c)
{
	awr_free(c->w_state);
	awr_free(c->w_holder);
	awr_free(c->w_block);
	awr_free(c->w_lw);
	awr_free(c->w_vswitch);
	awr_free(c->w_vslice);
	chain_close(c);
	for (size_t i = 0; i < c->ndeferred; i++)
		free(c->deferred[i].h);
	free(c->deferred);
	sqlite3_finalize(c->q_frames);
	evsrc_close(&c->frames);
	if (c->thr) {
		for (int64_t u = 0; u <= c->max_utid; u++) {
			struct athread *t = c->thr[u];

			if (!t)
				continue;
			free(t->comm);
			free(t->vcpu_name);
			free(t->hold);
			free(t->pend);
			free(t->pvs.state_str);
			hist_free(t);
			free(t);
		}
		free(c->thr);
	}
	for (size_t i = 0; i < c->fobjs.cap; i++) {
		struct fobj *o = c->fobjs.slots[i].val;

		if (!o)
			continue;
		uset_free(&o->waiters);
		uset_free(&o->callers);
		uset_free(&o->wakers);
		free(o);
	}
	amap_free(&c->fobjs);
	amap_free(&c->evidence);
	wc_tidmap_free(c->tidmap);
	free(c->lost);
	free(c->cpu_seen);
	wc_buf_free(&c->warnings);
}

/*
 * One analysis in one transaction, committed when it succeeds.  C is
 * fresh but for c->forced_globals.  ACTX_RERUN (rolled back): the global
 * mutex estimated before pass 1 was not the right one.
 */
static int analyze_once(struct actx *c, const regex_t *re, uint64_t t_start,
			clock_t cpu_start)
{
	sqlite3 *db = c->db;
	const char *path = c->path;
	struct wc_error *err = c->err;
	int rc;

	rc = wc_db_exec(db, path, "BEGIN IMMEDIATE", err);
	if (rc)
		return rc;
	for (size_t i = 0; i < WC_ARRAY_SIZE(analysis_tables); i++) {
		char sql[64];

		snprintf(sql, sizeof(sql), "DELETE FROM %s", analysis_tables[i]);
		rc = wc_db_exec(db, path, sql, err);
		if (rc)
			goto out;
	}
	for (size_t i = 0; i < WC_ARRAY_SIZE(analysis_coltabs); i++)
		if ((rc = wc_coltab_clear(db, path, analysis_coltabs[i], err)))
			goto out;
	if ((rc = exists(c, "sched_waking", &c->has_waking)) ||
	    (rc = exists(c, "sched_wakeup", &c->has_wakeup)) ||
	    (rc = exists(c, "futex", &c->has_futex)) ||
	    (rc = exists(c, "stack", &c->has_stacks)) ||
	    (rc = count_events(c)) ||
	    (rc = load_threads(c)) ||
	    (rc = detect_vcpus(c, re)) ||
	    (rc = infer_pids(c)) ||
	    (rc = write_vcpus(c)) ||
	    (rc = load_lost(c)) ||
	    (rc = locks_prepass(c)))
		goto out;
	c->phase_ns[0] = wc_now_ns() - t_start;
	rc = timeline_run(c);
	c->phase_ns[1] = wc_now_ns() - t_start;
	if (!rc)
		rc = locks_run(c);
	c->phase_ns[2] = wc_now_ns() - t_start;
	if (!rc)
		rc = capture_warnings(c);
	if (!rc)
		rc = write_keys(c, (double)(wc_now_ns() - t_start) / 1e9,
				(double)(clock() - cpu_start) / CLOCKS_PER_SEC);
	if (!rc)
		rc = wc_db_exec(db, path, "COMMIT", err);
out:
	if (rc)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int wc_analyze(sqlite3 *db, const char *path,
	       const struct wc_analyze_options *opt, struct wc_error *err)
{
	static const struct wc_analyze_options defaults;
	struct actx c;
	regex_t re;
	int rc;
	uint64_t t_start = wc_now_ns();
	clock_t cpu_start = clock();
	int64_t old_cache = 0;
	void *forced = NULL;
	size_t nforced = 0;

	rc = regcomp(&re, opt && opt->vcpu_regex ? opt->vcpu_regex :
		     WC_DEFAULT_VCPU_REGEX, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char msg[256];

		regerror(rc, &re, msg, sizeof(msg));
		return wc_err(err, WC_EUSAGE, NULL, "invalid --vcpu pattern: %s", msg);
	}

	/* the rows of one analysis are written in one transaction: a page
	 * cache large enough for the tables being rebuilt avoids spilling
	 * half-written pages (restored at the end) */
	if (wc_db_int(db, path, "PRAGMA cache_size", 0, &old_cache, err) == 0 &&
	    old_cache > -65536 && old_cache < 4096)
		sqlite3_exec(db, "PRAGMA cache_size = -65536", NULL, NULL, NULL);
	else
		old_cache = 0;	/* big enough already: leave it */

	/* at most twice: the second time with the global mutexes that the
	 * first found (their choice does not depend on it) */
	for (int attempt = 0; attempt < 2; attempt++) {
		memset(&c, 0, sizeof(c));
		c.db = db;
		c.path = path;
		c.err = err;
		c.opt = opt ? opt : &defaults;
		c.depth_limit = c.opt->depth_limit > 0 ? c.opt->depth_limit :
			WC_DEFAULT_CHAIN_DEPTH;
		if (c.depth_limit > 64)
			c.depth_limit = 64;
		c.forced_globals = forced;
		c.nforced = nforced;
		c.hist_max_states = hist_cap_from_env();
		c.pass1_runs = attempt + 1;
		rc = analyze_once(&c, &re, t_start, cpu_start);
		forced = c.forced_globals;
		nforced = c.nforced;
		c.forced_globals = NULL;
		actx_free(&c);
		if (rc != ACTX_RERUN)
			break;
	}
	if (rc == ACTX_RERUN)	/* cannot happen: the choice is stable */
		rc = wc_err(err, WC_EDB, path, "analysis: the global mutex"
			    " does not settle");
	free(forced);
	regfree(&re);
	if (old_cache) {
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA cache_size = %lld", (long long)old_cache);
		sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	return rc;
}

int wc_analysis_present(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int present = 0;

	if (sqlite3_prepare_v2(db, "SELECT EXISTS(SELECT 1 FROM analysis)", -1,
			       &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return 0;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		present = sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	return present;
}
