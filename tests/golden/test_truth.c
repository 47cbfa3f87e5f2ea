/*
 * test_truth.c - the analysis against the ground truth of real captures.
 *
 * Every sample in $WC_SAMPLES is a bqlsim run recorded at once with perf
 * (capture.perf.data) and trace-cmd (capture.trace.dat); bqlsim wrote
 * what really happened: threads.csv (tid,comm,role), locks.csv
 * (lock,uaddr), holds.csv (tid,lock,request_ns,acquire_ns,release_ns),
 * waits.csv (tid,lock,owner_tid,wait_ns: the owner when the waiter
 * decided to sleep; empty for -l glibc runs).  Each capture is imported
 * through the library (wc_import_file) into $WC_TMP, analyzed
 * (wc_analyze) and checked, both formats:
 *
 *  (a) seq-1 holder of each vCPU futex block on the global lock == the
 *      true owner.  Truth: the waits.csv row of the same tid with the
 *      largest wait_ns <= the block's futex enter_ns; for glibc samples
 *      (no waits.csv rows), the holds.csv row of the global lock whose
 *      [acquire_ns, release_ns] contains that enter time.  >= 99.5%.
 *  (b) block.waker_tid == the true releaser: the holds.csv row of the
 *      global lock with the latest release_ns <= the wake time, where
 *      the wake time is the enter of the releasing FUTEX_WAKE (the
 *      block_holder row with is_waker), else block.wakeup_ns.  >= 99.5%.
 *      (Measured at the sched_waking time instead, the percentage is
 *      lower — a thread can steal the lock and release it without a wake
 *      between the waker's release and its wake — and is only printed.)
 *  (c) depth-1 chain rows where the holder sleeps on the block-layer
 *      lock: the depth-2 row covering the middle of that row names the
 *      thread holds.csv says held the block lock then.  >= 99%.
 *  (e) holder_time and thread_time, summed by the analysis while it
 *      writes chain and thread_state, have exactly the rows their SQL
 *      definitions compute from those tables and block (summary_ref.h).
 *  (d) the global mutex found is locks.csv's `global`; the vCPU threads
 *      found are threads.csv's `vcpu` rows (for samples whose vCPU names
 *      are not QEMU's, e.g. hostile-names, --vcpu is an exact-match
 *      pattern built from threads.csv, as a user would pass it).
 *
 * Percentages are printed to stderr (ctest --output-on-failure /
 * --verbose shows them).  A sample missing from $WC_SAMPLES is skipped.
 * $WC_TRUTH_DIRS (colon-separated record.sh output directories) adds
 * more recordings to check (test truth::extra_dirs).
 */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "summary_ref.h"
#include "wc_test.h"
#include "waitchain/analyze.h"
#include "waitchain/db.h"
#include "waitchain/importer.h"
#include "waitchain/util.h"

struct hold {
	int tid;
	int64_t acquire, release;
};

struct waitrow {
	int tid;
	int64_t wait_ns;
	int owner;
};

struct truth {
	uint64_t global, block;		/* lock addresses */
	int vcpus[64];
	int nvcpu;
	char *vcpu_regex;		/* NULL: default pattern */
	struct hold *h[2];		/* [0] global, [1] block: by acquire */
	size_t nh[2];
	struct hold *r[2];		/* same, by release */
	struct waitrow *w;		/* global-lock waits, by (tid, wait_ns) */
	size_t nw;
};

static int cmp_acq(const void *a, const void *b)
{
	const struct hold *x = a, *y = b;

	return x->acquire < y->acquire ? -1 : x->acquire > y->acquire;
}

static int cmp_rel(const void *a, const void *b)
{
	const struct hold *x = a, *y = b;

	return x->release < y->release ? -1 : x->release > y->release;
}

static int cmp_wait(const void *a, const void *b)
{
	const struct waitrow *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->wait_ns < y->wait_ns ? -1 : x->wait_ns > y->wait_ns;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* Appends S to B with every ERE metacharacter escaped. */
static void ere_quote(struct wc_buf *b, const char *s)
{
	for (; *s; s++) {
		if (strchr("\\^$.[]|()*+?{}", *s))
			wc_buf_addc(b, '\\');
		wc_buf_addc(b, *s);
	}
}

static void load_truth(const char *dir, struct truth *t)
{
	char *path, *text, *line, *save = NULL;
	struct wc_buf re = WC_BUF_INIT;
	regex_t deflt;
	int custom = 0;

	memset(t, 0, sizeof(*t));
	cr_assert_eq(regcomp(&deflt, WC_DEFAULT_VCPU_REGEX, REG_EXTENDED | REG_NOSUB), 0);

	path = wc_test_path("%s/locks.csv", dir);
	text = wc_test_read_file(path, NULL);
	cr_assert(text, "cannot read %s", path);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[32];
		unsigned long long a;

		if (sscanf(line, "%31[^,],%llx", name, &a) != 2)
			continue;
		if (!strcmp(name, "global"))
			t->global = a;
		else if (!strcmp(name, "block"))
			t->block = a;
	}
	free(text);
	free(path);

	/* threads.csv: tid,comm,role; comm may hold anything but newlines */
	path = wc_test_path("%s/threads.csv", dir);
	text = wc_test_read_file(path, NULL);
	cr_assert(text, "cannot read %s", path);
	wc_buf_adds(&re, "^(");
	save = NULL;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ','), *c2 = strrchr(line, ',');

		if (!c1 || c2 == c1 || strcmp(c2 + 1, "vcpu"))
			continue;
		*c1 = *c2 = 0;
		cr_assert_lt(t->nvcpu, 64);
		t->vcpus[t->nvcpu++] = atoi(line);
		if (regexec(&deflt, c1 + 1, 0, NULL, 0) != 0)
			custom = 1;
		if (re.len > 2)
			wc_buf_addc(&re, '|');
		ere_quote(&re, c1 + 1);
	}
	wc_buf_adds(&re, ")$");
	qsort(t->vcpus, (size_t)t->nvcpu, sizeof(int), cmp_int);
	t->vcpu_regex = custom ? wc_buf_detach(&re) : NULL;
	wc_buf_free(&re);
	regfree(&deflt);
	free(text);
	free(path);

	path = wc_test_path("%s/holds.csv", dir);
	text = wc_test_read_file(path, NULL);
	cr_assert(text, "cannot read %s", path);
	save = NULL;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct hold h;
		char lock[16];
		long long req, acq, rel;
		int k;

		if (sscanf(line, "%d,%15[^,],%lld,%lld,%lld", &h.tid, lock, &req,
			   &acq, &rel) != 5)
			continue;
		k = strcmp(lock, "global") == 0 ? 0 : 1;
		h.acquire = acq;
		h.release = rel;
		t->h[k] = realloc(t->h[k], (t->nh[k] + 1) * sizeof(h));
		cr_assert(t->h[k]);
		t->h[k][t->nh[k]++] = h;
	}
	free(text);
	free(path);
	for (int k = 0; k < 2; k++) {
		t->r[k] = malloc((t->nh[k] + 1) * sizeof(struct hold));
		cr_assert(t->r[k]);
		if (!t->nh[k])
			continue;
		memcpy(t->r[k], t->h[k], t->nh[k] * sizeof(struct hold));
		qsort(t->h[k], t->nh[k], sizeof(struct hold), cmp_acq);
		qsort(t->r[k], t->nh[k], sizeof(struct hold), cmp_rel);
	}

	path = wc_test_path("%s/waits.csv", dir);
	text = wc_test_read_file(path, NULL);
	cr_assert(text, "cannot read %s", path);
	save = NULL;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct waitrow w;
		char lock[16];
		long long ns;

		if (sscanf(line, "%d,%15[^,],%d,%lld", &w.tid, lock, &w.owner, &ns) != 4 ||
		    strcmp(lock, "global"))
			continue;
		w.wait_ns = ns;
		t->w = realloc(t->w, (t->nw + 1) * sizeof(w));
		cr_assert(t->w);
		t->w[t->nw++] = w;
	}
	if (t->nw)
		qsort(t->w, t->nw, sizeof(*t->w), cmp_wait);
	free(text);
	free(path);
}

static void free_truth(struct truth *t)
{
	for (int k = 0; k < 2; k++) {
		free(t->h[k]);
		free(t->r[k]);
	}
	free(t->w);
	free(t->vcpu_regex);
}

/* Thread holding lock K at T (acquire <= T <= release), or -1. */
static int owner_at(const struct truth *t, int k, int64_t ts)
{
	size_t lo = 0, hi = t->nh[k];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->h[k][mid].acquire <= ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && t->h[k][lo - 1].release >= ts)
		return t->h[k][lo - 1].tid;
	return -1;
}

/* Thread whose release of lock K is the latest <= TS, or -1. */
static int releaser_at(const struct truth *t, int k, int64_t ts)
{
	size_t lo = 0, hi = t->nh[k];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->r[k][mid].release <= ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? t->r[k][lo - 1].tid : -1;
}

/* Owner recorded by the last global-lock wait of TID at or before TS. */
static int wait_owner(const struct truth *t, int tid, int64_t ts)
{
	long found = -1;
	size_t lo = 0, hi = t->nw;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->w[mid].tid < tid || (t->w[mid].tid == tid && t->w[mid].wait_ns <= ts))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && t->w[lo - 1].tid == tid)
		found = (long)lo - 1;
	return found >= 0 ? t->w[found].owner : -1;
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s",
		     sqlite3_errmsg(db), sql);
	return st;
}

/* The rows of summary table NAME (selected by GOT) are exactly those its
 * definition (WANT) computes: not empty, nothing missing, nothing more. */
static void same_as_definition(sqlite3 *db, const char *sample, const char *format,
			       const char *name, const char *got, const char *want)
{
	char *sql = sqlite3_mprintf("SELECT (SELECT count(*) FROM (%s)),"
				    " (SELECT count(*) FROM (%s EXCEPT SELECT * FROM (%s))),"
				    " (SELECT count(*) FROM (SELECT * FROM (%s) EXCEPT %s))",
				    got, got, want, want, got);
	sqlite3_stmt *st;

	cr_assert_not_null(sql);
	st = prep(db, sql);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sqlite3_errmsg(db));
	cr_expect_gt(sqlite3_column_int64(st, 0), 0, "%s %s: %s is empty", sample,
		     format, name);
	cr_expect_eq(sqlite3_column_int64(st, 1), 0,
		     "%s %s: %lld %s rows its definition does not give", sample,
		     format, (long long)sqlite3_column_int64(st, 1), name);
	cr_expect_eq(sqlite3_column_int64(st, 2), 0,
		     "%s %s: %lld rows of its definition missing from %s", sample,
		     format, (long long)sqlite3_column_int64(st, 2), name);
	sqlite3_finalize(st);
	sqlite3_free(sql);
}

/* Checks DIR/FORMAT (SAMPLE names it in messages and in $WC_TMP). */
static void check_dir(const char *dir, const char *sample, const char *format)
{
	struct wc_error err = WC_ERROR_INIT;
	struct wc_analyze_options opt = { .lock_pid = -1 };
	struct truth t;
	char *capture, *dbname, *db_path;
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	struct stat sb;
	size_t na = 0, oka = 0, nb = 0, okb = 0, okb_waking = 0, nc = 0, okc = 0;
	int ids[64], n = 0;

	capture = wc_test_path("%s/%s", dir, format);
	if (stat(capture, &sb) != 0) {
		free(capture);
		cr_skip_test("sample %s/%s not present", sample, format);
	}
	load_truth(dir, &t);
	cr_assert(asprintf(&dbname, "%s-%s.db", sample, format) > 0);
	db_path = wc_test_tmpfile(dbname);
	cr_assert_eq(wc_import_file(capture, db_path, NULL, WC_IMPORT_FORCE | WC_IMPORT_QUIET,
				    NULL, &err), 0, "%s: %s", err.file, err.msg);
	cr_assert_eq(wc_db_open_rw(db_path, &db, &err), 0, "%s", err.msg);
	opt.vcpu_regex = t.vcpu_regex;
	cr_assert_eq(wc_analyze(db, db_path, &opt, &err), 0, "%s", err.msg);

	/* (d) */
	st = prep(db, "SELECT futex_uaddr FROM global_lock");
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s %s: no global mutex", sample, format);
	cr_expect_eq((uint64_t)sqlite3_column_int64(st, 0), t.global,
		     "%s %s: global mutex 0x%llx, truth 0x%llx", sample, format,
		     (unsigned long long)sqlite3_column_int64(st, 0),
		     (unsigned long long)t.global);
	cr_expect_eq(sqlite3_step(st), SQLITE_DONE, "%s %s: more than one global mutex",
		     sample, format);
	sqlite3_finalize(st);
	st = prep(db, "SELECT tid FROM vcpu ORDER BY tid");
	while (sqlite3_step(st) == SQLITE_ROW && n < 64)
		ids[n++] = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	cr_expect_eq(n, t.nvcpu, "%s %s: %d vCPUs found, truth %d", sample, format, n, t.nvcpu);
	for (int i = 0; i < n && i < t.nvcpu; i++)
		cr_expect_eq(ids[i], t.vcpus[i], "%s %s: vCPU %d", sample, format, ids[i]);

	/* (e) */
	same_as_definition(db, sample, format, "holder_time",
			   "SELECT " WC_HOLDER_TIME_COLUMNS " FROM holder_time",
			   WC_HOLDER_TIME_REF_SELECT);
	same_as_definition(db, sample, format, "thread_time",
			   "SELECT " WC_THREAD_TIME_COLUMNS " FROM thread_time",
			   WC_THREAD_TIME_REF_SELECT);

	/* (a) and (b) */
	st = prep(db,
		  "SELECT b.tid, f.enter_ns, b.waker_tid, b.wakeup_ns,"
		  " (SELECT holder_tid FROM block_holder WHERE block_id = b.id AND seq = 1),"
		  " (SELECT wf.enter_ns FROM block_holder w JOIN futex wf"
		  "   ON wf.id = w.release_futex_id WHERE w.block_id = b.id AND w.is_waker = 1)"
		  " FROM block b JOIN futex f ON f.id = b.futex_id"
		  " WHERE b.is_vcpu = 1 AND b.on_global_lock = 1 AND f.enter_ns IS NOT NULL"
		  " ORDER BY b.id");
	while (sqlite3_step(st) == SQLITE_ROW) {
		int tid = sqlite3_column_int(st, 0);
		int64_t enter = sqlite3_column_int64(st, 1);
		int truth = t.nw ? wait_owner(&t, tid, enter) : owner_at(&t, 0, enter);

		if (truth >= 0) {
			na++;
			oka += sqlite3_column_type(st, 4) != SQLITE_NULL &&
				sqlite3_column_int(st, 4) == truth;
		}
		if (sqlite3_column_type(st, 3) != SQLITE_NULL &&
		    sqlite3_column_type(st, 2) != SQLITE_NULL) {
			int64_t wake = sqlite3_column_type(st, 5) != SQLITE_NULL ?
				sqlite3_column_int64(st, 5) : sqlite3_column_int64(st, 3);
			int rel = releaser_at(&t, 0, wake);
			int rel_waking = releaser_at(&t, 0, sqlite3_column_int64(st, 3));
			int waker = sqlite3_column_int(st, 2);

			if (rel >= 0) {
				nb++;
				okb += waker == rel;
				okb_waking += waker == rel_waking;
			}
		}
	}
	sqlite3_finalize(st);

	/* (c) */
	st = prep(db,
		  "SELECT c.id, c.from_ns, c.to_ns,"
		  " (SELECT c2.tid FROM chain c2 WHERE c2.parent_id = c.id AND c2.depth = 2"
		  "   AND c2.from_ns <= (c.from_ns + c.to_ns) / 2"
		  "   AND c2.to_ns >= (c.from_ns + c.to_ns) / 2 ORDER BY c2.id LIMIT 1)"
		  " FROM chain c JOIN block b ON b.id = c.block_id"
		  " WHERE c.depth = 1 AND c.state = 'futex' AND c.futex_uaddr = ?1"
		  " AND b.is_vcpu = 1 AND b.on_global_lock = 1");
	sqlite3_bind_int64(st, 1, (int64_t)t.block);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t mid = (sqlite3_column_int64(st, 1) + sqlite3_column_int64(st, 2)) / 2;
		int truth = owner_at(&t, 1, mid);

		if (truth < 0)
			continue;
		nc++;
		okc += sqlite3_column_type(st, 3) != SQLITE_NULL &&
			sqlite3_column_int(st, 3) == truth;
	}
	sqlite3_finalize(st);

	fprintf(stderr, "truth %-15s %-10s (a) holder at sleep %zu/%zu = %.3f%%"
		"  (b) waker %zu/%zu = %.3f%% (at sched_waking time %.3f%%)"
		"  (c) depth-2 owner %zu/%zu = %.3f%%\n", sample, format + 8,
		oka, na, na ? 100.0 * oka / na : 0.0, okb, nb,
		nb ? 100.0 * okb / nb : 0.0, nb ? 100.0 * okb_waking / nb : 0.0,
		okc, nc, nc ? 100.0 * okc / nc : 0.0);
	cr_expect_gt(na, 100, "%s %s: only %zu blocks on the global lock", sample, format, na);
	cr_expect_geq(oka * 1000, na * 995, "%s %s: (a) %zu/%zu", sample, format, oka, na);
	cr_expect_geq(okb * 1000, nb * 990, "%s %s: (b) %zu/%zu", sample, format, okb, nb);
	cr_expect_geq(okc * 100, nc * 99, "%s %s: (c) %zu/%zu", sample, format, okc, nc);
	if (t.block)
		cr_expect_gt(nc, 0, "%s %s: no depth-2 chain on the block lock", sample, format);

	wc_db_close(db);
	free_truth(&t);
	free(capture);
	free(dbname);
	free(db_path);
}

static void check_sample(const char *sample, const char *format)
{
	char *dir = wc_test_path("%s/%s", wc_test_samples(), sample);

	check_dir(dir, sample, format);
	free(dir);
}

/* More recordings (record.sh output directories), colon-separated, from
 * $WC_TRUTH_DIRS: for checking fresh captures without adding them to
 * the repository. */
Test(truth, extra_dirs)
{
	const char *env = getenv("WC_TRUTH_DIRS");
	char *list, *dir, *save = NULL;

	if (!env || !*env)
		cr_skip_test("WC_TRUTH_DIRS not set");
	list = strdup(env);
	cr_assert(list);
	for (dir = strtok_r(list, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		const char *base = strrchr(dir, '/');

		check_dir(dir, base ? base + 1 : dir, "capture.trace.dat");
		check_dir(dir, base ? base + 1 : dir, "capture.perf.data");
	}
	free(list);
}

#define TRUTH_TEST(name, sample)                                          \
	Test(truth, name##_trace_dat) { check_sample(sample, "capture.trace.dat"); } \
	Test(truth, name##_perf_data) { check_sample(sample, "capture.perf.data"); }

TRUTH_TEST(bql_stacks, "bql-stacks")
TRUTH_TEST(bql_zstd, "bql-zstd")
TRUTH_TEST(bql_v6, "bql-v6")
TRUTH_TEST(glibc_nostacks, "glibc-nostacks")
TRUTH_TEST(bql_hogs, "bql-hogs")
TRUTH_TEST(bql_seed5, "bql-seed5")
TRUTH_TEST(hostile_names, "hostile-names")
