/*
 * html-data.c - the HTML report's data block, read from a case database.
 *
 * The page's script (report/assets/report.js) draws everything from one
 * JSON object placed in <script type="application/json" id="data">.  Small
 * facts (capture metadata, warnings, per-vCPU numbers, stacks, names) are
 * plain JSON; every string from the capture goes through wc_esc_json_str(),
 * which also escapes < > & U+2028 U+2029 so nothing can close the element.
 * The bulk - one interval per thread-state change, one row per global-mutex
 * block, holder and chain row - is binary: unsigned LEB128 varints (signed
 * ones zigzag-encoded), base64 in a JSON string.  Layout (all times are
 * nanoseconds relative to "t0", so doubles in JS hold them exactly):
 *
 *   lanes[i].iv   per interval: varint(duration * 16 + state); the first
 *                 starts at lanes[i].start, each next one where the previous
 *                 ended.  Gaps are intervals of state 0.  Adjacent intervals
 *                 of one state are merged.  States: see enum lane_state.
 *   blocks.b      per global-mutex block of a lane thread, by block id:
 *                 svarint(id - previous id), varint(lane), svarint(start -
 *                 previous start), varint(duration), varint(stack index + 1),
 *                 varint((waker thread index + 1) * 2 + uncertain).
 *   holders.b     per block_holder row of those blocks: varint(block index -
 *                 previous block index), varint(thread index + 1),
 *                 svarint(from - E), varint(to - from),
 *                 varint(certainty * 2 + is_waker).
 *   chain.b       per chain row of those blocks, in tree order:
 *                 varint(block index delta), varint(depth), varint(thread
 *                 index + 1), svarint(from - E), varint(to - from),
 *                 varint(state * 2 + uncertain), varint(futex index + 1),
 *                 varint(preempted_by tid + 1).
 *                 E is the end of the previous row of the same block, or
 *                 the block's start for its first row (rows mostly follow
 *                 each other, so this is usually one byte).  Both streams
 *                 are grouped by block: the page decodes one block's rows
 *                 when it is clicked, not at load.
 *
 * A million intervals come to ~3-4 MB of base64.  Memory is bounded by
 * the output (the encoded streams) plus the thread table; the database is
 * read in a handful of linear scans (thread_state once, in (utid, start)
 * order).  Capture strings are never interpreted here.
 */
#include <inttypes.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "waitchain/escape.h"
#include "waitchain/report.h"
#include "waitchain/verdict.h"
#include "html-local.h"

/* Interval states of the timeline (shared with report.js STATES). */
enum lane_state {
	ST_NONE = 0,	/* gap: nothing known */
	ST_RUNNING,
	ST_PREEMPTED,	/* runnable after being switched out runnable */
	ST_RUNNABLE,	/* woken, waiting for a CPU */
	ST_GLOBAL,	/* sleeping on the global mutex */
	ST_FUTEX,	/* sleeping on another futex */
	ST_IO,		/* D state */
	ST_SLEEPING,	/* other S-state sleep */
	ST_UNKNOWN,
	ST_DEAD,
	ST_DEADLOCK,	/* chain rows only */
	ST_COUNT
};

/* block_holder.certainty codes (report.js CERTAINTY). */
static const char *const certainty_names[] = {
	"exact", "no_release", "not_a_lock", "truncated",
};

#define HIST_BUCKETS 24		/* <1us, [1,2)us, ... [2^21,inf) us */

struct thr {
	int64_t utid;
	int64_t tid, pid;	/* -1 unknown */
	char *comm;
	int idx;		/* index in the JSON threads array, -1 unused */
	int lane;		/* lane index, -1 none */
};

struct lane {
	int thr;		/* index into data.thr */
	const char *kind;	/* "vcpu", "holder", "chain", "thread" */
	int64_t vcpu_index;	/* -1 unknown */
	struct wc_buf iv;	/* interval stream */
	uint64_t n;		/* intervals in it */
	int started;
	int64_t start;		/* first interval start (relative) */
	int64_t cursor;		/* end of the last flushed interval */
	int pend_state;		/* pending (unflushed) interval */
	int64_t pend_start, pend_end;
	uint64_t tot[ST_COUNT];	/* ns per state */
	/* vCPU statistics */
	int64_t *gdur;		/* durations of global-mutex blocks */
	size_t ngdur, capgdur;
	uint64_t nother;	/* other blocks */
	uint64_t hist[HIST_BUCKETS];
	uint64_t held_ns;	/* holders: held while a vCPU waited */
};

struct futex_ref {
	int64_t pid, uaddr;
};

struct data {
	sqlite3 *db;
	const char *path;
	struct wc_error *err;
	int64_t t0, t1;
	struct thr *thr;	/* every thread, sorted by utid */
	size_t nthr, capthr;
	int nused;		/* threads with an idx */
	struct wc_buf threads_json;
	struct lane *lanes;
	size_t nlanes, caplanes;
	struct futex_ref *fx;
	size_t nfx, capfx;
	int64_t *stacks;	/* stack ids referenced, index = position */
	size_t nstacks, capstacks;
	int64_t *bids;		/* global block ids kept, ascending */
	int64_t *bstart;	/* their start (absolute) */
	size_t nb, capb;
};

/* Records the SQLite error of d->db while doing WHAT; returns -WC_EDB. */
static int db_error(struct data *d, const char *what)
{
	return wc_err(d->err, WC_EDB, d->path, "%s: %s", what,
		      sqlite3_errmsg(d->db));
}

/* The error for rows of TABLE that do not come in the block order the
 * analysis writes (a database not written by it). */
static int out_of_order(struct data *d, const char *table)
{
	return wc_err(d->err, WC_EDB, d->path,
		      "report: %s rows are not in block order (analyze the capture again)",
		      table);
}

/*
 * The result of a loop stepping a report query: RC is its last value,
 * SQLITE_DONE when every row was read, another SQLite code when stepping
 * failed, 0 or a negative WC_E* code from the loop body.  Returns 0, the
 * db_error() of WHAT, or RC unchanged, respectively.
 */
static int step_end(struct data *d, int rc, const char *what)
{
	if (rc == SQLITE_DONE)
		return 0;
	if (rc > 0)
		return db_error(d, what);
	return rc;
}

/* Prepares SQL into *ST (caller finalizes). 0 or -WC_EDB. */
static int prepare(struct data *d, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(d->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_error(d, "report query");
	return 0;
}

/* Column I of the current row, DFLT when NULL. */
static int64_t col_i64(sqlite3_stmt *st, int i, int64_t dflt)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? dflt
		: sqlite3_column_int64(st, i);
}

/* Grows *P (element size SZ, *CAP elements) to hold N+1. 0 or -ENOMEM. */
static int grow(void **p, size_t *cap, size_t n, size_t sz, struct data *d)
{
	void *np;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	np = realloc(*p, ncap * sz);
	if (!np)
		return wc_err(d->err, WC_ENOMEM, d->path, "report: out of memory");
	*p = np;
	*cap = ncap;
	return 0;
}

/* Records an allocation failure; returns -WC_ENOMEM. */
static int nomem(struct data *d)
{
	return wc_err(d->err, WC_ENOMEM, d->path, "report: out of memory");
}

/* The thread with UTID, or NULL (binary search: thr is sorted by utid). */
static struct thr *thr_find(struct data *d, int64_t utid)
{
	size_t lo = 0, hi = d->nthr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->thr[mid].utid == utid)
			return &d->thr[mid];
		if (d->thr[mid].utid < utid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* JSON index of thread UTID (assigning one on first use), -1 if unknown. */
static int thr_idx(struct data *d, int64_t utid)
{
	struct thr *t = thr_find(d, utid);
	struct wc_buf *b = &d->threads_json;
	int rc;

	if (!t)
		return -1;
	if (t->idx >= 0)
		return t->idx;
	t->idx = d->nused++;
	rc = wc_buf_printf(b, "%s[%" PRId64 ",%" PRId64 ",%" PRId64 ",",
			   t->idx ? ",\n" : "", t->utid, t->tid, t->pid);
	if (!rc)
		rc = wc_html_json_str(b, t->comm);
	if (!rc)
		rc = wc_buf_addc(b, ']');
	if (rc) {
		nomem(d);
		return -2;
	}
	return t->idx;
}

/* thr_idx() of the utid in column I of ST into *IDX (-1 when the column is
 * NULL or the thread unknown).  0, or -WC_ENOMEM (recorded by thr_idx()). */
static int col_thr_idx(struct data *d, sqlite3_stmt *st, int i, int64_t *idx)
{
	*idx = -1;
	if (sqlite3_column_type(st, i) != SQLITE_NULL &&
	    (*idx = thr_idx(d, sqlite3_column_int64(st, i))) < -1)
		return -WC_ENOMEM;
	return 0;
}

/* Reads the whole thread table into d->thr, sorted by utid (a few
 * thousand rows even for system-wide captures). */
static int load_threads(struct data *d)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(d, "SELECT utid, tid, pid, comm FROM thread ORDER BY utid", &st);

	while (!rc && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = 0;	/* SQLITE_ROW */
		struct thr *t;
		const char *c = (const char *)sqlite3_column_text(st, 3);

		rc = grow((void **)&d->thr, &d->capthr, d->nthr, sizeof(*d->thr), d);
		if (rc)
			break;
		t = &d->thr[d->nthr];
		/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): grow() succeeded */
		t->utid = sqlite3_column_int64(st, 0);
		t->tid = col_i64(st, 1, -1);
		t->pid = col_i64(st, 2, -1);
		t->comm = c ? strdup(c) : NULL;
		if (c && !t->comm) {
			rc = nomem(d);
			break;
		}
		t->idx = -1;
		t->lane = -1;
		d->nthr++;
		rc = 0;
	}
	rc = step_end(d, rc, "reading threads");
	sqlite3_finalize(st);
	return rc;
}

/* Adds a lane for thread UTID unless it has one. */
static int lane_add(struct data *d, int64_t utid, const char *kind,
		    int64_t vcpu_index)
{
	struct thr *t = thr_find(d, utid);
	struct lane *l;
	int rc;

	if (!t || t->lane >= 0)
		return 0;
	rc = grow((void **)&d->lanes, &d->caplanes, d->nlanes, sizeof(*d->lanes), d);
	if (rc)
		return rc;
	l = &d->lanes[d->nlanes];
	memset(l, 0, sizeof(*l));
	l->thr = (int)(t - d->thr);
	l->kind = kind;
	l->vcpu_index = vcpu_index;
	t->lane = (int)d->nlanes++;
	if (thr_idx(d, utid) < -1)
		return -WC_ENOMEM;
	return 0;
}

/* Runs SQL (one int64 utid in column 0, optional vcpu index in column 1,
 * optional time the thread held the global mutex while vCPUs waited in
 * column 2) adding a lane of KIND per row. */
static int lanes_from(struct data *d, const char *sql, const char *kind)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(d, sql, &st);

	while (!rc && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = 0;	/* SQLITE_ROW */
		int64_t vi = sqlite3_column_count(st) > 1 ? col_i64(st, 1, -1) : -1;

		rc = lane_add(d, sqlite3_column_int64(st, 0), kind, vi);
		if (!rc && sqlite3_column_count(st) > 2) {
			struct thr *t = thr_find(d, sqlite3_column_int64(st, 0));

			if (t && t->lane >= 0)
				d->lanes[t->lane].held_ns +=
					(uint64_t)sqlite3_column_int64(st, 2);
		}
	}
	rc = step_end(d, rc, "choosing timeline threads");
	sqlite3_finalize(st);
	return rc;
}

/* The timeline's lanes, in display order: vCPU threads, holders of the
 * global mutex while a vCPU waited, threads deeper in their chains, and
 * the --thread TIDs (every lifetime of each). */
static int choose_lanes(struct data *d, const struct wc_report_options *opt)
{
	int rc = lanes_from(d,
		"SELECT utid, vcpu_index FROM vcpu "
		"ORDER BY vcpu_index IS NULL, vcpu_index, tid", "vcpu");

	/* holders of the global mutex while a vCPU waited, most time first */
	if (!rc)
		rc = lanes_from(d,
			"SELECT h.holder_utid, NULL, sum(h.to_ns - h.from_ns) "
			"FROM block_holder h "
			"WHERE +h.block_id IN (SELECT id FROM block "
			"WHERE on_global_lock = 1 AND is_vcpu = 1) "
			"AND h.holder_utid IS NOT NULL "
			"GROUP BY h.holder_utid ORDER BY 3 DESC", "holder");
	/* deeper links of their chains (the lock the holder waited on...) */
	if (!rc)
		rc = lanes_from(d,
			"SELECT utid, NULL FROM holder_time "
			"WHERE root_global = 1 AND depth > 1 AND utid IS NOT NULL "
			"GROUP BY utid ORDER BY sum(time_ns) DESC, utid", "chain");
	for (size_t i = 0; !rc && opt && i < opt->nthreads; i++) {
		sqlite3_stmt *st = NULL;

		rc = prepare(d, "SELECT utid FROM thread WHERE tid = :tid ORDER BY utid", &st);
		if (rc)
			break;
		sqlite3_bind_int64(st, 1, opt->threads[i]);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			rc = lane_add(d, sqlite3_column_int64(st, 0), "thread", -1);
			if (rc)
				break;
		}
		rc = step_end(d, rc, "reading --thread");
		sqlite3_finalize(st);
	}
	return rc;
}

/* Writes the pending interval of L to its stream. */
static int lane_flush(struct data *d, struct lane *l)
{
	int64_t dur;

	if (!l->started || l->pend_end <= l->pend_start)
		return 0;
	dur = l->pend_end - l->pend_start;
	l->tot[l->pend_state] += (uint64_t)dur;
	l->n++;
	l->cursor = l->pend_end;
	if (wc_html_varint(&l->iv, (uint64_t)dur * 16 + (uint64_t)l->pend_state))
		return nomem(d);
	return 0;
}

/* Appends [S, E) in STATE (relative times) to lane L. */
static int lane_push(struct data *d, struct lane *l, int64_t s, int64_t e,
		     int state)
{
	int rc;

	if (!l->started) {
		l->started = 1;
		l->start = l->cursor = l->pend_start = l->pend_end = s;
		l->pend_state = state;
	}
	if (s < l->pend_end)	/* overlap (should not happen): clip */
		s = l->pend_end;
	if (e <= s)
		return 0;
	if (s == l->pend_end && state == l->pend_state) {
		l->pend_end = e;
		return 0;
	}
	rc = lane_flush(d, l);
	if (!rc && s > l->pend_end) {	/* gap */
		l->pend_start = l->pend_end;
		l->pend_end = s;
		l->pend_state = ST_NONE;
		rc = lane_flush(d, l);
	}
	l->pend_start = s;
	l->pend_end = e;
	l->pend_state = state;
	return rc;
}

/* thread_state.state (and runnable_reason) as a small integer, computed
 * by SQLite before it sorts the rows (an integer sorts faster than two
 * strings): see row_state(). */
#define ROW_CODE_SQL \
	"CASE state WHEN 'running' THEN 1 WHEN 'runnable' THEN " \
	"CASE WHEN runnable_reason = 'preempted' THEN 2 ELSE 3 END " \
	"WHEN 'sleeping' THEN 4 WHEN 'blocked_io' THEN 5 WHEN 'dead' THEN 6 " \
	"ELSE 0 END"

/* Timeline state of one thread_state row (see the schema's comments):
 * CODE from ROW_CODE_SQL, and for a sleeping row whether its block is a
 * futex block and on the global mutex. */
static int row_state(int64_t code, int is_futex, int on_global)
{
	switch (code) {
	case 1:
		return ST_RUNNING;
	case 2:
		return ST_PREEMPTED;
	case 3:
		return ST_RUNNABLE;
	case 4:
	case 5:
		if (on_global)
			return ST_GLOBAL;
		if (is_futex)
			return ST_FUTEX;
		return code == 5 ? ST_IO : ST_SLEEPING;
	case 6:
		return ST_DEAD;
	default:
		return ST_UNKNOWN;
	}
}

/* Prepares HEAD "(utid, ...)" TAIL into *ST, the list being the lane
 * threads' utids (integers we format: nothing from the database is
 * spliced in as text).  0 or a negative code. */
static int prepare_lanes(struct data *d, const char *head, const char *tail,
			 sqlite3_stmt **st)
{
	struct wc_buf sql = WC_BUF_INIT;
	int rc = wc_buf_adds(&sql, head) || wc_buf_addc(&sql, '(') ? nomem(d) : 0;

	for (size_t i = 0; !rc && i < d->nlanes; i++)
		if (wc_buf_printf(&sql, "%s%" PRId64, i ? "," : "",
				  d->thr[d->lanes[i].thr].utid))
			rc = nomem(d);
	if (!rc && (wc_buf_addc(&sql, ')') || wc_buf_adds(&sql, tail)))
		rc = nomem(d);
	if (!rc)
		rc = prepare(d, wc_buf_str(&sql), st);
	wc_buf_free(&sql);
	return rc;
}

/*
 * The futex blocks of the lane threads, for the states of their sleeping
 * intervals (so the list is bounded by the intervals the page holds): *OUT
 * gets (id << 1 | on_global_lock) of each, ascending (block is keyed by
 * id: no sort), *N their count.  Caller frees *OUT.  0 or a negative code.
 */
static int load_futex_blocks(struct data *d, int64_t **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int64_t *v = NULL;
	size_t nv = 0, cap = 0;
	int rc = prepare_lanes(d, "SELECT id, on_global_lock FROM block "
			       "WHERE reason = 'futex' AND +utid IN ",
			       " ORDER BY id", &st);

	while (!rc && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);

		rc = 0;	/* SQLITE_ROW */
		if (id < 0 || id > INT64_MAX / 2 ||
		    (v && nv && id <= v[nv - 1] >> 1)) {
			rc = out_of_order(d, "block");
			break;
		}
		if ((rc = grow((void **)&v, &cap, nv, sizeof(*v), d)))
			break;
		if (!v) {	/* grow() allocates: for the analyzer */
			rc = nomem(d);
			break;
		}
		v[nv++] = id << 1 | (sqlite3_column_int(st, 1) ? 1 : 0);
	}
	rc = step_end(d, rc, "reading block");
	sqlite3_finalize(st);
	if (rc) {
		free(v);
		v = NULL;
		nv = 0;
	}
	*out = v;
	*n = nv;
	return rc;
}

/* Position of ID in V[0..N), ascending by V[i] >> SHIFT (the low SHIFT
 * bits are flags), or -1. */
static ptrdiff_t find_id(const int64_t *v, size_t n, int64_t id, int shift)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t k = v[mid] >> shift;

		if (k == id)
			return (ptrdiff_t)mid;
		if (k < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* For block ID (NULL: none): *is_futex and *on_global from the list
 * load_futex_blocks() made. */
static void futex_block_of(const int64_t *fb, size_t n, sqlite3_stmt *st,
			   int col, int *is_futex, int *on_global)
{
	ptrdiff_t i = sqlite3_column_type(st, col) == SQLITE_NULL ? -1 :
		find_id(fb, n, sqlite3_column_int64(st, col), 1);

	*is_futex = i >= 0;
	*on_global = i >= 0 && (fb[i] & 1);
}

/* Encodes the thread_state rows of every lane thread into its stream,
 * in one pass in (utid, start) order (thread_state is stored in the
 * order the analysis wrote it: SQLite sorts the lanes' rows).  What a
 * sleeping interval's block was comes from one read of the futex blocks,
 * not a look-up per row. */
static int read_intervals(struct data *d)
{
	sqlite3_stmt *st = NULL;
	int64_t *fb = NULL;
	size_t nfb = 0;
	int64_t cur_utid = INT64_MIN;
	struct lane *l = NULL;
	int rc, workers = -1;

	if (!d->nlanes)
		return 0;
	rc = load_futex_blocks(d, &fb, &nfb);
	/* the sort of millions of rows on SQLite's worker threads (keys are
	 * unique, so the order does not depend on it) */
	if (!rc && sysconf(_SC_NPROCESSORS_ONLN) > 1)
		workers = sqlite3_limit(d->db, SQLITE_LIMIT_WORKER_THREADS, 1);
	if (!rc)
		rc = prepare_lanes(d, "SELECT utid, start_ns, end_ns, " ROW_CODE_SQL
				   ", block_id FROM thread_state WHERE +utid IN ",
				   " ORDER BY utid, start_ns", &st);
	while (!rc && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = 0;	/* SQLITE_ROW */
		int64_t utid = sqlite3_column_int64(st, 0);
		int is_futex, on_global;

		if (utid != cur_utid) {
			struct thr *t = thr_find(d, utid);

			if (l)
				rc = lane_flush(d, l);
			cur_utid = utid;
			l = t && t->lane >= 0 ? &d->lanes[t->lane] : NULL;
		}
		if (rc || !l)
			continue;
		futex_block_of(fb, nfb, st, 4, &is_futex, &on_global);
		rc = lane_push(d, l, sqlite3_column_int64(st, 1) - d->t0,
			       sqlite3_column_int64(st, 2) - d->t0,
			       row_state(sqlite3_column_int64(st, 3), is_futex,
					 on_global));
	}
	rc = step_end(d, rc, "reading thread_state");
	if (!rc)
		rc = l ? lane_flush(d, l) : 0;
	sqlite3_finalize(st);
	if (workers >= 0)
		sqlite3_limit(d->db, SQLITE_LIMIT_WORKER_THREADS, workers);
	free(fb);
	return rc;
}

/* Histogram bucket of a duration: 0 below 1 us, then k for
 * [2^(k-1), 2^k) us, the last one open-ended. */
static int hist_bucket(int64_t ns)
{
	int k = 0;

	if (ns < 1000)
		return 0;
	ns /= 1000;
	while (ns && k < HIST_BUCKETS - 1) {
		ns >>= 1;
		k++;
	}
	return k;
}

/* Per vCPU lane: durations of its global-mutex blocks (for percentiles and
 * the histogram) and the count of its other blocks. */
static int read_vcpu_blocks(struct data *d)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(d,
		"SELECT utid, on_global_lock, end_ns - start_ns FROM block "
		"WHERE is_vcpu = 1", &st);

	while (!rc && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = 0;	/* SQLITE_ROW */
		struct thr *t = thr_find(d, sqlite3_column_int64(st, 0));
		struct lane *l;
		int64_t dur = sqlite3_column_int64(st, 2);

		if (!t || t->lane < 0)
			continue;
		l = &d->lanes[t->lane];
		if (!sqlite3_column_int(st, 1)) {
			l->nother++;
			continue;
		}
		rc = grow((void **)&l->gdur, &l->capgdur, l->ngdur,
			  sizeof(*l->gdur), d);
		if (rc)
			break;
		l->gdur[l->ngdur++] = dur;
		l->hist[hist_bucket(dur)]++;
	}
	rc = step_end(d, rc, "reading vCPU blocks");
	sqlite3_finalize(st);
	return rc;
}

/* qsort order of int64_t. */
static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile P (0..100] of the sorted V[N]; 0 if N == 0. */
static int64_t percentile(const int64_t *v, size_t n, double p)
{
	size_t rank;

	if (!n)
		return 0;
	rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

/* Index of stack ID in d->stacks (added if new). */
static int64_t stack_ref(struct data *d, int64_t id)
{
	for (size_t i = d->nstacks; i-- > 0;)
		if (d->stacks[i] == id)
			return (int64_t)i;
	if (grow((void **)&d->stacks, &d->capstacks, d->nstacks,
		 sizeof(*d->stacks), d))
		return -1;
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): grow() succeeded */
	d->stacks[d->nstacks] = id;
	return (int64_t)d->nstacks++;
}

/* Index of futex (PID, UADDR) in d->fx (added if new). */
static int64_t futex_ref(struct data *d, int64_t pid, int64_t uaddr)
{
	for (size_t i = 0; i < d->nfx; i++)
		if (d->fx[i].pid == pid && d->fx[i].uaddr == uaddr)
			return (int64_t)i;
	if (grow((void **)&d->fx, &d->capfx, d->nfx, sizeof(*d->fx), d))
		return -1;
	d->fx[d->nfx].pid = pid;
	d->fx[d->nfx].uaddr = uaddr;
	return (int64_t)d->nfx++;
}

/* Position of block ID among the kept blocks, or -1. */
static int64_t block_pos(struct data *d, int64_t id)
{
	return find_id(d->bids, d->nb, id, 0);
}

/*
 * Appends the member ,"NAME":{"n":N,"b":"..."} of a packed row list:
 * N rows whose varints are BIN, base64-encoded (report.js decodes it).
 * 0, or nomem(d).
 */
static int packed_member(struct data *d, struct wc_buf *out, const char *name,
			 size_t n, const struct wc_buf *bin)
{
	if (wc_buf_printf(out, ",\n\"%s\":{\"n\":%zu,\"b\":\"", name, n) ||
	    wc_html_base64(out, bin->data, bin->len) ||
	    wc_buf_adds(out, "\"}"))
		return nomem(d);
	return 0;
}

/* Global-mutex blocks of lane threads -> "blocks" member. */
static int write_blocks(struct data *d, struct wc_buf *out)
{
	sqlite3_stmt *st = NULL;
	struct wc_buf bin = WC_BUF_INIT;
	int64_t prev_id = 0, prev_start = 0;
	size_t cap_start = 0;
	int rc = prepare(d,
		"SELECT id, utid, start_ns, end_ns, stack_id, waker_utid, "
		"uncertain FROM block WHERE on_global_lock = 1 ORDER BY id", &st);

	while (!rc && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = 0;	/* SQLITE_ROW */
		int64_t id = sqlite3_column_int64(st, 0);
		struct thr *t = thr_find(d, sqlite3_column_int64(st, 1));
		int64_t s = sqlite3_column_int64(st, 2) - d->t0;
		int64_t e = sqlite3_column_int64(st, 3) - d->t0;
		int64_t stk = -1, waker = -1;

		rc = 0;
		if (!t || t->lane < 0)
			continue;
		if (sqlite3_column_type(st, 4) != SQLITE_NULL &&
		    (stk = stack_ref(d, sqlite3_column_int64(st, 4))) < 0) {
			rc = -WC_ENOMEM;
			break;
		}
		if ((rc = col_thr_idx(d, st, 5, &waker)))
			break;
		if ((rc = grow((void **)&d->bids, &d->capb, d->nb,
			       sizeof(*d->bids), d)))
			break;
		if (d->capb != cap_start) {
			int64_t *nbs = realloc(d->bstart, d->capb * sizeof(*nbs));

			if (!nbs) {
				rc = nomem(d);
				break;
			}
			d->bstart = nbs;
			cap_start = d->capb;
		}
		d->bids[d->nb] = id;
		d->bstart[d->nb] = s;
		d->nb++;
		if (wc_html_svarint(&bin, id - prev_id) ||
		    wc_html_varint(&bin, (uint64_t)t->lane) ||
		    wc_html_svarint(&bin, s - prev_start) ||
		    wc_html_varint(&bin, (uint64_t)(e > s ? e - s : 0)) ||
		    wc_html_varint(&bin, (uint64_t)(stk + 1)) ||
		    wc_html_varint(&bin, (uint64_t)(waker + 1) * 2 +
				   (sqlite3_column_int64(st, 6) != 0))) {
			rc = nomem(d);
			break;
		}
		prev_id = id;
		prev_start = s;
	}
	rc = step_end(d, rc, "reading global-mutex blocks");
	sqlite3_finalize(st);
	if (!rc)
		rc = packed_member(d, out, "blocks", d->nb, &bin);
	wc_buf_free(&bin);
	return rc;
}

/* block_holder.certainty as its index in certainty_names (unknown: last+1). */
static int certainty_code(const char *c)
{
	for (size_t i = 0; c && i < WC_ARRAY_SIZE(certainty_names); i++)
		if (!strcmp(c, certainty_names[i]))
			return (int)i;
	return (int)WC_ARRAY_SIZE(certainty_names);
}

/* chain.state as a lane state code. */
static int chain_state(const char *s)
{
	static const struct { const char *name; int st; } map[] = {
		{ "running", ST_RUNNING }, { "preempted", ST_PREEMPTED },
		{ "runnable", ST_RUNNABLE }, { "futex", ST_FUTEX },
		{ "blocked_io", ST_IO }, { "sleeping", ST_SLEEPING },
		{ "unknown", ST_UNKNOWN }, { "deadlock", ST_DEADLOCK },
		{ "dead", ST_DEAD },
	};

	for (size_t i = 0; s && i < WC_ARRAY_SIZE(map); i++)
		if (!strcmp(s, map[i].name))
			return map[i].st;
	return ST_UNKNOWN;
}

/* block_holder rows of the kept blocks -> "holders" member. */
static int write_holder_rows(struct data *d, struct wc_buf *out)
{
	sqlite3_stmt *st = NULL;
	struct wc_buf bin = WC_BUF_INIT;
	int64_t prev = 0, prev_end = 0;
	size_t n = 0;
	/* rows are stored by (block_id, seq) (a block's holders are written
	 * together, blocks in id order: schema/040_analysis.sql), so the
	 * append order is that order and SQLite need not sort; the '+' keeps
	 * the IN a per-row test instead of one look-up per block */
	int rc = prepare(d,
		"SELECT h.block_id, h.holder_utid, h.from_ns, h.to_ns, "
		"h.certainty, h.is_waker FROM block_holder h "
		"WHERE +h.block_id IN (SELECT id FROM block WHERE on_global_lock = 1) "
		"ORDER BY h.row", &st);

	while (!rc && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = 0;	/* SQLITE_ROW */
		int64_t pos = block_pos(d, sqlite3_column_int64(st, 0));
		int64_t th = -1, from, to;

		rc = 0;
		if (pos < 0)
			continue;
		if (pos < prev) {
			rc = out_of_order(d, "block_holder");
			break;
		}
		if ((rc = col_thr_idx(d, st, 1, &th)))
			break;
		from = sqlite3_column_int64(st, 2) - d->t0;
		to = sqlite3_column_int64(st, 3) - d->t0;
		if (pos != prev || !n)
			prev_end = d->bstart[pos];
		if (wc_html_varint(&bin, (uint64_t)(pos - prev)) ||
		    wc_html_varint(&bin, (uint64_t)(th + 1)) ||
		    wc_html_svarint(&bin, from - prev_end) ||
		    wc_html_varint(&bin, (uint64_t)(to > from ? to - from : 0)) ||
		    wc_html_varint(&bin, (uint64_t)certainty_code(
			(const char *)sqlite3_column_text(st, 4)) * 2 +
				       (sqlite3_column_int(st, 5) ? 1 : 0))) {
			rc = nomem(d);
			break;
		}
		prev = pos;
		prev_end = to > from ? to : from;
		n++;
	}
	rc = step_end(d, rc, "reading block_holder");
	sqlite3_finalize(st);
	if (!rc)
		rc = packed_member(d, out, "holders", n, &bin);
	wc_buf_free(&bin);
	return rc;
}

/* chain rows of the kept blocks -> "chain" member. */
static int write_chain_rows(struct data *d, struct wc_buf *out)
{
	sqlite3_stmt *st = NULL;
	struct wc_buf bin = WC_BUF_INIT;
	int64_t prev = 0, prev_end = 0;
	size_t n = 0;
	/* chain ids follow their blocks (a root's rows together, roots in
	 * block id order: schema/040_analysis.sql), so id order is
	 * (block_id, id) order and SQLite need not sort */
	int rc = prepare(d,
		"SELECT c.block_id, c.depth, c.utid, c.from_ns, c.to_ns, c.state, "
		"c.uncertain, c.futex_pid, c.futex_uaddr, c.preempted_by "
		"FROM chain c "
		"WHERE +c.block_id IN (SELECT id FROM block WHERE on_global_lock = 1) "
		"ORDER BY c.id", &st);

	while (!rc && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = 0;	/* SQLITE_ROW */
		int64_t pos = block_pos(d, sqlite3_column_int64(st, 0));
		int64_t th = -1, fx = -1, from, to, pb;

		rc = 0;
		if (pos < 0)
			continue;
		if (pos < prev) {
			rc = out_of_order(d, "chain");
			break;
		}
		if ((rc = col_thr_idx(d, st, 2, &th)))
			break;
		if (sqlite3_column_type(st, 8) != SQLITE_NULL &&
		    (fx = futex_ref(d, col_i64(st, 7, -1),
				    sqlite3_column_int64(st, 8))) < 0) {
			rc = -WC_ENOMEM;
			break;
		}
		from = sqlite3_column_int64(st, 3) - d->t0;
		to = sqlite3_column_int64(st, 4) - d->t0;
		pb = col_i64(st, 9, -1);
		if (pos != prev || !n)
			prev_end = d->bstart[pos];
		if (wc_html_varint(&bin, (uint64_t)(pos - prev)) ||
		    wc_html_varint(&bin, (uint64_t)col_i64(st, 1, 1)) ||
		    wc_html_varint(&bin, (uint64_t)(th + 1)) ||
		    wc_html_svarint(&bin, from - prev_end) ||
		    wc_html_varint(&bin, (uint64_t)(to > from ? to - from : 0)) ||
		    wc_html_varint(&bin, (uint64_t)chain_state(
			(const char *)sqlite3_column_text(st, 5)) * 2 +
				       (sqlite3_column_int(st, 6) ? 1 : 0)) ||
		    wc_html_varint(&bin, (uint64_t)(fx + 1)) ||
		    wc_html_varint(&bin, (uint64_t)(pb < 0 ? 0 : pb + 1))) {
			rc = nomem(d);
			break;
		}
		prev = pos;
		prev_end = to > from ? to : from;
		n++;
	}
	rc = step_end(d, rc, "reading chain");
	sqlite3_finalize(st);
	if (!rc)
		rc = packed_member(d, out, "chain", n, &bin);
	wc_buf_free(&bin);
	return rc;
}

/* Appends a JSON object of every (key, value) row of SQL. */
static int write_kv(struct data *d, struct wc_buf *out, const char *name,
		    const char *sql)
{
	sqlite3_stmt *st = NULL;
	int first = 1;
	int rc = prepare(d, sql, &st);

	if (!rc && wc_buf_printf(out, ",\n\"%s\":{", name))
		rc = nomem(d);
	while (!rc && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = 0;	/* SQLITE_ROW */
		rc = 0;
		if ((!first && wc_buf_addc(out, ',')) ||
		    wc_html_json_str(out, (const char *)sqlite3_column_text(st, 0)) ||
		    wc_buf_addc(out, ':') ||
		    wc_html_json_str(out, (const char *)sqlite3_column_text(st, 1)))
			rc = nomem(d);
		first = 0;
	}
	rc = step_end(d, rc, name);
	if (!rc)
		rc = wc_buf_addc(out, '}') ? nomem(d) : 0;
	sqlite3_finalize(st);
	return rc;
}

/*
 * Appends "NAME":[rows] where each row is a JSON array of the columns of
 * SQL: integers as numbers, reals as numbers, text as escaped strings,
 * NULL as null.
 */
static int write_rows(struct data *d, struct wc_buf *out, const char *name,
		      const char *sql)
{
	sqlite3_stmt *st = NULL;
	int first = 1;
	int rc = prepare(d, sql, &st);

	if (!rc && wc_buf_printf(out, ",\n\"%s\":[", name))
		rc = nomem(d);
	while (!rc && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = 0;	/* SQLITE_ROW */
		int nc = sqlite3_column_count(st);

		rc = wc_buf_adds(out, first ? "[" : ",[");
		for (int i = 0; !rc && i < nc; i++) {
			if (i)
				rc = wc_buf_addc(out, ',');
			if (rc)
				break;
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				rc = wc_buf_printf(out, "%lld",
					sqlite3_column_int64(st, i));
				break;
			case SQLITE_FLOAT:
				rc = wc_buf_printf(out, "%.17g",
					sqlite3_column_double(st, i));
				break;
			case SQLITE_NULL:
				rc = wc_buf_adds(out, "null");
				break;
			default:
				rc = wc_html_json_str(out,
					(const char *)sqlite3_column_text(st, i));
			}
		}
		if (!rc)
			rc = wc_buf_addc(out, ']');
		if (rc)
			rc = nomem(d);
		first = 0;
	}
	rc = step_end(d, rc, name);
	if (!rc)
		rc = wc_buf_addc(out, ']') ? nomem(d) : 0;
	sqlite3_finalize(st);
	return rc;
}

/* Capture span: capture first_ts/last_ts, else the thread_state extent. */
static int read_span(struct data *d)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(d,
		"SELECT coalesce((SELECT CAST(value AS INTEGER) FROM capture WHERE key = 'first_ts'), "
		"(SELECT min(start_ns) FROM thread_state), 0), "
		"coalesce((SELECT CAST(value AS INTEGER) FROM capture WHERE key = 'last_ts'), "
		"(SELECT max(end_ns) FROM thread_state), 0)", &st);

	if (!rc && sqlite3_step(st) == SQLITE_ROW) {
		d->t0 = sqlite3_column_int64(st, 0);
		d->t1 = sqlite3_column_int64(st, 1);
	} else if (!rc) {
		rc = db_error(d, "reading the capture span");
	}
	sqlite3_finalize(st);
	if (d->t1 < d->t0)
		d->t1 = d->t0;
	return rc;
}

/* The "lanes" member: per lane its thread, kind, interval stream, time
 * per state and, for vCPUs, block counts, percentiles and histogram. */
static int write_lanes(struct data *d, struct wc_buf *out)
{
	if (wc_buf_adds(out, ",\n\"lanes\":["))
		return nomem(d);
	for (size_t i = 0; i < d->nlanes; i++) {
		struct lane *l = &d->lanes[i];

		if (wc_buf_printf(out, "%s{\"th\":%d,\"kind\":\"%s\",\"vi\":%" PRId64
				  ",\"start\":%" PRId64 ",\"n\":%" PRIu64
				  ",\"held\":%" PRIu64 ",\"tot\":[",
				  i ? ",\n" : "", d->thr[l->thr].idx, l->kind,
				  l->vcpu_index, l->start, l->n, l->held_ns))
			return nomem(d);
		for (int s = 0; s < ST_COUNT; s++)
			if (wc_buf_printf(out, "%s%" PRIu64, s ? "," : "", l->tot[s]))
				return nomem(d);
		if (!strcmp(l->kind, "vcpu")) {
			qsort(l->gdur, l->ngdur, sizeof(*l->gdur), cmp_i64);
			if (wc_buf_printf(out, "],\"nglobal\":%zu,\"nother\":%" PRIu64
					  ",\"p50\":%" PRId64 ",\"p95\":%" PRId64
					  ",\"p99\":%" PRId64 ",\"max\":%" PRId64
					  ",\"hist\":[",
					  l->ngdur, l->nother,
					  percentile(l->gdur, l->ngdur, 50),
					  percentile(l->gdur, l->ngdur, 95),
					  percentile(l->gdur, l->ngdur, 99),
					  l->ngdur ? l->gdur[l->ngdur - 1] : 0))
				return nomem(d);
			for (int k = 0; k < HIST_BUCKETS; k++)
				if (wc_buf_printf(out, "%s%" PRIu64, k ? "," : "",
						  l->hist[k]))
					return nomem(d);
		}
		if (wc_buf_adds(out, "],\"iv\":\"") ||
		    wc_html_base64(out, l->iv.data, l->iv.len) ||
		    wc_buf_adds(out, "\"}"))
			return nomem(d);
	}
	return wc_buf_addc(out, ']') ? nomem(d) : 0;
}

/* Frames of every referenced stack -> "stacks": [[[kernel, symbol, dso,
 * offset-or-null, ip-hex], ...], ...]. */
static int write_stacks(struct data *d, struct wc_buf *out)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(d,
		"SELECT is_kernel, symbol, dso, symbol_offset, ip FROM stack_frame "
		"WHERE stack_id = :id ORDER BY depth", &st);

	if (!rc && wc_buf_adds(out, ",\n\"stacks\":["))
		rc = nomem(d);
	for (size_t i = 0; !rc && i < d->nstacks; i++) {
		int first = 1;

		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, d->stacks[i]);
		if (wc_buf_adds(out, i ? ",\n[" : "["))
			rc = nomem(d);
		while (!rc && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			rc = 0;	/* SQLITE_ROW */
			rc = 0;
			if (wc_buf_printf(out, "%s[%d,", first ? "" : ",",
					  sqlite3_column_int(st, 0)) ||
			    wc_html_json_str(out, (const char *)sqlite3_column_text(st, 1)) ||
			    wc_buf_addc(out, ',') ||
			    wc_html_json_str(out, (const char *)sqlite3_column_text(st, 2)) ||
			    (sqlite3_column_type(st, 3) == SQLITE_NULL
				     ? wc_buf_adds(out, ",null")
				     : wc_buf_printf(out, ",%lld", sqlite3_column_int64(st, 3))) ||
			    wc_buf_printf(out, ",\"0x%" PRIx64 "\"]",
					  (uint64_t)sqlite3_column_int64(st, 4)))
				rc = nomem(d);
			first = 0;
		}
		rc = step_end(d, rc, "reading stack frames");
		if (!rc)
			rc = wc_buf_addc(out, ']') ? nomem(d) : 0;
	}
	if (!rc && wc_buf_addc(out, ']'))
		rc = nomem(d);
	sqlite3_finalize(st);
	return rc;
}

/* Where vCPUs blocked: top stacks by blocked time -> "top_stacks":
 * [[stack index, on global mutex 0/1, blocks, blocked ns], ...]. */
static int write_top_stacks(struct data *d, struct wc_buf *out)
{
	sqlite3_stmt *st = NULL;
	int first = 1;
	int rc = prepare(d,
		/* grouped by the frames' hash, not the id: on a capture
		 * with more distinct stacks than the import's dedup cache
		 * holds, one stack may be stored under several ids */
		"SELECT min(b.stack_id), b.on_global_lock, count(*),"
		" sum(b.end_ns - b.start_ns) "
		"FROM block b JOIN stack s ON s.id = b.stack_id "
		"WHERE b.is_vcpu = 1 AND b.stack_id IS NOT NULL "
		"GROUP BY s.hash, s.nframes, b.on_global_lock ORDER BY 4 DESC LIMIT 25", &st);

	if (!rc && wc_buf_adds(out, ",\n\"top_stacks\":["))
		rc = nomem(d);
	while (!rc && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = 0;	/* SQLITE_ROW */
		int64_t idx = stack_ref(d, sqlite3_column_int64(st, 0));

		rc = 0;
		if (idx < 0 ||
		    wc_buf_printf(out, "%s[%" PRId64 ",%d,%lld,%lld]",
				  first ? "" : ",", idx, sqlite3_column_int(st, 1),
				  sqlite3_column_int64(st, 2),
				  sqlite3_column_int64(st, 3)))
			rc = nomem(d);
		first = 0;
	}
	rc = step_end(d, rc, "reading blocking stacks");
	if (!rc)
		rc = wc_buf_addc(out, ']') ? nomem(d) : 0;
	sqlite3_finalize(st);
	return rc;
}

/* The "futexes" member: [pid, "0xADDR", kind, symbol] of every futex the
 * chain rows refer to (by index + 1). */
static int write_futexes(struct data *d, struct wc_buf *out)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(d,
		"SELECT kind, (SELECT symbol FROM global_lock g WHERE g.futex_uaddr = :u "
		"AND g.pid IS :p) FROM futex_object WHERE uaddr = :u AND pid IS :p", &st);

	if (!rc && wc_buf_adds(out, ",\n\"futexes\":["))
		rc = nomem(d);
	for (size_t i = 0; !rc && i < d->nfx; i++) {
		const char *kind = NULL, *sym = NULL;

		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, d->fx[i].uaddr);
		if (d->fx[i].pid >= 0)
			sqlite3_bind_int64(st, 2, d->fx[i].pid);
		else
			sqlite3_bind_null(st, 2);
		if (sqlite3_step(st) == SQLITE_ROW) {
			kind = (const char *)sqlite3_column_text(st, 0);
			sym = (const char *)sqlite3_column_text(st, 1);
		}
		if (wc_buf_printf(out, "%s[%" PRId64 ",\"0x%" PRIx64 "\",",
				  i ? "," : "", d->fx[i].pid,
				  (uint64_t)d->fx[i].uaddr) ||
		    wc_html_json_str(out, kind) || wc_buf_addc(out, ',') ||
		    wc_html_json_str(out, sym) || wc_buf_addc(out, ']'))
			rc = nomem(d);
	}
	if (!rc && wc_buf_addc(out, ']'))
		rc = nomem(d);
	sqlite3_finalize(st);
	return rc;
}

/* Frees everything D owns (not the database). */
static void data_free(struct data *d)
{
	for (size_t i = 0; i < d->nthr; i++)
		free(d->thr[i].comm);
	free(d->thr);
	for (size_t i = 0; i < d->nlanes; i++) {
		wc_buf_free(&d->lanes[i].iv);
		free(d->lanes[i].gdur);
	}
	free(d->lanes);
	free(d->fx);
	free(d->stacks);
	free(d->bids);
	free(d->bstart);
	wc_buf_free(&d->threads_json);
}

/* Story callback: appends one span as [kind, "text"], closing a sentence
 * array at WC_STORY_END. */
struct story_ctx {
	struct wc_buf *out;
	int in_sentence, first_sentence;
};

static int story_span(void *vctx, enum wc_story_span kind, const char *s)
{
	struct story_ctx *c = vctx;
	struct wc_buf *b = c->out;

	if (kind == WC_STORY_END) {
		if (c->in_sentence && wc_buf_addc(b, ']'))
			return -WC_ENOMEM;
		c->in_sentence = 0;
		return 0;
	}
	if (!c->in_sentence) {
		if (wc_buf_adds(b, c->first_sentence ? "[" : ",\n["))
			return -WC_ENOMEM;
		c->first_sentence = 0;
		c->in_sentence = 1;
	} else if (wc_buf_addc(b, ',')) {
		return -WC_ENOMEM;
	}
	if (wc_buf_printf(b, "[%d,", kind == WC_STORY_NAME ? 1 : 0) ||
	    wc_html_json_str(b, s ? s : "") || wc_buf_addc(b, ']'))
		return -WC_ENOMEM;
	return 0;
}

/* Append ,"KEY":VALUE members (strings escaped; non-finite doubles as
 * null).  0 or -WC_ENOMEM. */
static int json_u64(struct wc_buf *b, const char *key, uint64_t v)
{
	return wc_buf_printf(b, ",\"%s\":%" PRIu64, key, v);
}

static int json_i64(struct wc_buf *b, const char *key, int64_t v)
{
	return wc_buf_printf(b, ",\"%s\":%" PRId64, key, v);
}

static int json_dbl(struct wc_buf *b, const char *key, double v)
{
	if (!isfinite(v))
		return wc_buf_printf(b, ",\"%s\":null", key);
	return wc_buf_printf(b, ",\"%s\":%.6g", key, v);
}

static int json_s(struct wc_buf *b, const char *key, const char *v)
{
	if (wc_buf_printf(b, ",\"%s\":", key))
		return -WC_ENOMEM;
	return wc_html_json_str(b, v);
}

/* The verdict (verdict.h) as the "verdict" member: the story, warnings,
 * per-vCPU numbers and global mutexes with their holders. */
static int write_verdict(struct data *d, struct wc_buf *b,
			 const struct wc_verdict *v)
{
	struct story_ctx sc = { b, 0, 1 };
	int rc;

	if (!v)
		return wc_buf_adds(b, ",\n\"verdict\":null") ? nomem(d) : 0;
	if (wc_buf_adds(b, ",\n\"verdict\":{\"analyzed\":") ||
	    wc_buf_printf(b, "%d,\"story\":[", v->analyzed))
		return nomem(d);
	rc = wc_verdict_story(v, story_span, &sc);
	if (!rc && sc.in_sentence)
		rc = story_span(&sc, WC_STORY_END, NULL);
	if (rc)
		return rc == -WC_ENOMEM ? nomem(d) : rc;
	if (wc_buf_adds(b, "],\n\"warnings\":["))
		return nomem(d);
	for (size_t i = 0; i < v->nwarnings; i++)
		if ((i && wc_buf_addc(b, ',')) || wc_html_json_str(b, v->warnings[i]))
			return nomem(d);
	if (wc_buf_adds(b, "]") ||
	    json_u64(b, "lost_events", v->lost_events) ||
	    json_u64(b, "observed_ns", v->observed_ns) ||
	    json_u64(b, "global_ns", v->global_ns) ||
	    json_u64(b, "blocked_ns", v->blocked_ns) ||
	    json_dbl(b, "blocked_pct", v->blocked_pct) ||
	    wc_buf_adds(b, ",\n\"vcpus\":["))
		return nomem(d);
	for (size_t i = 0; i < v->nvcpus; i++) {
		const struct wc_verdict_vcpu *c = &v->vcpus[i];

		if (wc_buf_printf(b, "%s{\"tid\":%d", i ? ",\n" : "", (int)c->tid) ||
		    json_s(b, "name", c->name) ||
		    json_i64(b, "vcpu_index", c->vcpu_index) ||
		    json_u64(b, "observed_ns", c->observed_ns) ||
		    json_u64(b, "running_ns", c->running_ns) ||
		    json_u64(b, "preempted_ns", c->preempted_ns) ||
		    json_u64(b, "woken_ns", c->woken_ns) ||
		    json_u64(b, "global_ns", c->global_ns) ||
		    json_u64(b, "other_blocked_ns", c->other_blocked_ns) ||
		    json_u64(b, "global_blocks", c->global_blocks) ||
		    json_u64(b, "p50_ns", c->p50_ns) ||
		    json_u64(b, "p95_ns", c->p95_ns) ||
		    json_u64(b, "p99_ns", c->p99_ns) ||
		    json_u64(b, "max_ns", c->max_ns) ||
		    json_u64(b, "uncertain_global_blocks", c->uncertain_global_blocks) ||
		    wc_buf_addc(b, '}'))
			return nomem(d);
	}
	if (wc_buf_adds(b, "],\n\"locks\":["))
		return nomem(d);
	for (size_t i = 0; i < v->nlocks; i++) {
		const struct wc_verdict_lock *l = &v->locks[i];

		if (wc_buf_printf(b, "%s{\"pid\":%d,\"uaddr\":\"0x%" PRIx64 "\"",
				  i ? ",\n" : "", (int)l->pid, l->uaddr) ||
		    json_s(b, "process", l->process) ||
		    json_s(b, "symbol", l->symbol) ||
		    json_s(b, "chosen_by", l->chosen_by) ||
		    json_dbl(b, "share", l->share) ||
		    json_u64(b, "blocked_ns", l->blocked_ns) ||
		    json_u64(b, "nblocks", l->nblocks) ||
		    json_u64(b, "waiters", l->waiters) ||
		    json_u64(b, "vcpu_waiters", l->vcpu_waiters) ||
		    json_dbl(b, "pct_of_blocked", l->pct_of_blocked) ||
		    json_u64(b, "holders_total_ns", l->holders_total_ns) ||
		    wc_buf_adds(b, ",\"holders\":["))
			return nomem(d);
		for (size_t j = 0; j < l->nholders; j++) {
			const struct wc_verdict_holder *h = &l->holders[j];

			if (wc_buf_printf(b, "%s{\"tid\":%d", j ? ",\n" : "", (int)h->tid) ||
			    json_s(b, "name", h->name) ||
			    json_i64(b, "is_vcpu", h->is_vcpu) ||
			    json_u64(b, "held_ns", h->held_ns) ||
			    json_dbl(b, "held_pct", h->held_pct) ||
			    json_u64(b, "blocks", h->blocks) ||
			    json_i64(b, "preemptor_tid", h->preemptor_tid) ||
			    json_s(b, "preemptor_name", h->preemptor_name) ||
			    json_u64(b, "preemptor_ns", h->preemptor_ns) ||
			    wc_buf_adds(b, ",\"state_ns\":["))
				return nomem(d);
			for (int s = 0; s < WC_HS_COUNT; s++)
				if (wc_buf_printf(b, "%s%" PRIu64, s ? "," : "", h->state_ns[s]))
					return nomem(d);
			if (wc_buf_adds(b, "],\"via\":["))
				return nomem(d);
			for (size_t k = 0; k < h->nvia; k++) {
				const struct wc_verdict_via *w = &h->via[k];

				if (wc_buf_printf(b, "%s{\"futex_pid\":%d,\"futex_uaddr\":\"0x%" PRIx64
						  "\",\"tid\":%d,\"state\":", k ? "," : "",
						  (int)w->futex_pid, w->futex_uaddr, (int)w->tid) ||
				    wc_html_json_str(b, wc_hstate_name(w->state)) ||
				    json_s(b, "name", w->name) ||
				    json_u64(b, "ns", w->ns) ||
				    json_dbl(b, "pct_of_held", w->pct_of_held) ||
				    wc_buf_addc(b, '}'))
					return nomem(d);
			}
			if (wc_buf_adds(b, "]}"))
				return nomem(d);
		}
		if (wc_buf_adds(b, "]}"))
			return nomem(d);
	}
	return wc_buf_adds(b, "]}") ? nomem(d) : 0;
}

int wc_html_data(sqlite3 *db, const char *db_path,
		 const struct wc_report_options *opt,
		 const struct wc_verdict *verdict, struct wc_buf *out,
		 struct wc_error *err)
{
	struct data d;
	int rc;

	memset(&d, 0, sizeof(d));
	d.db = db;
	d.path = db_path;
	d.err = err;
	rc = read_span(&d);
	if (!rc)
		rc = load_threads(&d);
	if (!rc)
		rc = choose_lanes(&d, opt);
	if (!rc)
		rc = read_intervals(&d);
	if (!rc)
		rc = read_vcpu_blocks(&d);
	if (!rc && (wc_buf_adds(out, "{\"version\":1,\"t0\":") ||
		    wc_buf_printf(out, "\"%" PRId64 "\",\"span\":%" PRId64,
				  d.t0, d.t1 - d.t0) ||
		    wc_buf_adds(out, ",\"db\":") ||
		    wc_html_json_str(out, db_path)))
		rc = nomem(&d);
	if (!rc)
		rc = write_kv(&d, out, "capture", "SELECT key, value FROM capture ORDER BY key");
	if (!rc)
		rc = write_kv(&d, out, "analysis", "SELECT key, value FROM analysis ORDER BY key");
	if (!rc)
		rc = write_rows(&d, out, "events",
			"SELECT name, count FROM event_count ORDER BY count DESC, name");
	if (!rc)
		rc = write_rows(&d, out, "lost",
			"SELECT cpu, sum(count), group_concat(DISTINCT kind) FROM lost "
			"GROUP BY cpu ORDER BY cpu IS NULL, cpu");
	if (!rc)
		rc = write_blocks(&d, out);
	if (!rc)
		rc = write_holder_rows(&d, out);
	if (!rc)
		rc = write_chain_rows(&d, out);
	if (!rc)
		rc = write_top_stacks(&d, out);
	if (!rc)
		rc = write_stacks(&d, out);
	if (!rc)
		rc = write_futexes(&d, out);
	if (!rc)
		rc = write_lanes(&d, out);
	if (!rc)
		rc = write_verdict(&d, out, verdict);
	/* initial view: the --from/--to window (capture clock), either end
	 * defaulting to the capture's; the page clamps it to the capture */
	if (!rc && opt && (opt->t0_ns || opt->t1_ns) &&
	    wc_buf_printf(out, ",\n\"view\":[%" PRId64 ",%" PRId64 "]",
			  opt->t0_ns ? (int64_t)opt->t0_ns - d.t0 : 0,
			  opt->t1_ns ? (int64_t)opt->t1_ns - d.t0 : d.t1 - d.t0))
		rc = nomem(&d);
	if (!rc && (wc_buf_adds(out, ",\n\"threads\":[") ||
		    wc_buf_add(out, d.threads_json.data ? d.threads_json.data : "",
			       d.threads_json.len) ||
		    wc_buf_adds(out, "]}")))
		rc = nomem(&d);
	data_free(&d);
	return rc;
}
