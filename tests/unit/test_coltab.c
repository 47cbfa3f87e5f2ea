/*
 * test_coltab.c - the "wc_columnar" virtual table (src/coltab.c) and its
 * bulk writer (src/coltab_writer.c): round trips of ~10,000 hostile rows
 * through the chunk encoding (deltas, INT64 extremes, NULL bitmaps,
 * dictionaries with empty, long, control-character and UTF-8 strings),
 * key-range and zone-map pruning (including constraints with NULL, REAL
 * and TEXT values, joins served from the cached chunk), patches written
 * in the open chunk, after the chunk was written and by SQL UPDATE, the
 * SQL INSERT/UPDATE/DELETE rules, and corrupt chunk and patch blobs.
 * Also: native scans (wc_coltab_scan_*: the same rows as SELECT, corrupt
 * chunks as errors naming the database and table), HIDDEN append-ordinal
 * keys (through SQL and the writer), wc_coltab_clear(), and look-ups on
 * non-key columns (joins over 20,000 outer rows served from the cursor's
 * chunk directory, checked by counting the SQL statements run).  And
 * the writer's static text and asynchronous encoding: the same chunk and
 * patch rows, byte for byte, as set_text() and the synchronous writer
 * (patches of rows whose chunk is being encoded, several writers sharing
 * the encoding thread), failed chunk inserts and encodings breaking the
 * writer, WC_THREADS=1.
 *
 * The oracle is an ordinary SQLite table p(k INTEGER PRIMARY KEY, ...)
 * in the same database holding the same rows (every patch or UPDATE is
 * mirrored on it): every query runs on both tables and the two result
 * sets, rendered as typed text, must be identical.  SQLite's own B-tree
 * is independent of the module's encoding, pruning and patch logic, so
 * any decoding error or wrongly skipped chunk shows as a difference; a
 * few exact counts (rows, chunks, hits) guard against both sides being
 * empty.  Two bugs these tests found (a signed overflow after key
 * INT64_MAX, corrupt non-key columns reported as SQLITE_ERROR) are
 * fixed; the tests keep them from coming back.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waitchain/coltab.h"
#include "wc_test.h"

#define NROWS 10007	/* 2 full chunks of 4096 and a partial one of 1815 */

/* Column numbers of the big table t / p. */
enum { K, TS, A, B, C, NN, S, U, NCOLS };

#define BIG_COLS "(k INTEGER, ts INTEGER, a INTEGER, b INTEGER, c INTEGER," \
		 " nn INTEGER, s TEXT, u TEXT)"

struct big {
	sqlite3 *db;
	int64_t keys[NROWS];
	int64_t ts[NROWS];
	char long_text[301];
};

/* --- helpers ------------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* An in-memory database; FLAGS adds SQLITE_OPEN_NOMUTEX or _FULLMUTEX
 * (0: SQLite's default, serialized in Debian's build). */
static sqlite3 *open_db_flags(int flags)
{
	sqlite3 *db = NULL;

	cr_assert_eq(sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE |
				     SQLITE_OPEN_CREATE | flags, NULL), SQLITE_OK);
	/* the test support constructor registers the module on every
	 * connection; registering again must be harmless */
	cr_assert_eq(wc_coltab_register(db), SQLITE_OK);
	return db;
}

static sqlite3 *open_db(void)
{
	return open_db_flags(0);
}

static void exec(sqlite3 *db, const char *sql)
{
	char *e = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &e);

	cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, e ? e : "?");
	sqlite3_free(e);
}

/* SQL with every '@' replaced by NAME; caller frees with sqlite3_free(). */
static char *subst(const char *sql, const char *name)
{
	sqlite3_str *s = sqlite3_str_new(NULL);

	for (const char *p = sql; *p; p++) {
		if (*p == '@')
			sqlite3_str_appendall(s, name);
		else
			sqlite3_str_appendchar(s, 1, *p);
	}
	return sqlite3_str_finish(s);
}

struct result {
	int rc;			/* SQLITE_DONE or the failing step's code */
	char *text;		/* rows as typed text (sqlite3_free) */
	char *errmsg;		/* on error (sqlite3_free) */
	int nrows;
};

/* Runs SQL and renders every row: N (NULL), i<int>, r<real>, t<len>:<bytes>,
 * columns separated by '|', rows by '\n'.  With CSTR, text is taken as a
 * C string (up to a NUL byte), as wc_coltab_scan_text() gives it. */
static struct result run2(sqlite3 *db, const char *sql, int cstr)
{
	struct result r = { 0, NULL, NULL, 0 };
	sqlite3_stmt *st = NULL;
	sqlite3_str *s = sqlite3_str_new(NULL);

	r.rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (r.rc != SQLITE_OK) {
		r.errmsg = sqlite3_mprintf("%s", sqlite3_errmsg(db));
		sqlite3_free(sqlite3_str_finish(s));
		r.text = sqlite3_mprintf("");
		return r;
	}
	while ((r.rc = sqlite3_step(st)) == SQLITE_ROW) {
		int n = sqlite3_column_count(st);

		for (int i = 0; i < n; i++) {
			if (i)
				sqlite3_str_appendchar(s, 1, '|');
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_NULL:
				sqlite3_str_appendall(s, "N");
				break;
			case SQLITE_INTEGER:
				sqlite3_str_appendf(s, "i%lld",
						    (long long)sqlite3_column_int64(st, i));
				break;
			case SQLITE_FLOAT:
				sqlite3_str_appendf(s, "r%.17g", sqlite3_column_double(st, i));
				break;
			default: {
				const unsigned char *t = sqlite3_column_text(st, i);
				int len = sqlite3_column_bytes(st, i);

				if (cstr)
					len = (int)strlen((const char *)t);

				sqlite3_str_appendf(s, "t%d:", len);
				sqlite3_str_append(s, (const char *)t, len);
			}
			}
		}
		sqlite3_str_appendchar(s, 1, '\n');
		r.nrows++;
	}
	if (r.rc != SQLITE_DONE)
		r.errmsg = sqlite3_mprintf("%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	r.text = sqlite3_str_finish(s);
	if (!r.text)	/* no rows: sqlite3_str_finish() gives NULL */
		r.text = sqlite3_mprintf("");
	return r;
}

static struct result run(sqlite3 *db, const char *sql)
{
	return run2(db, sql, 0);
}

static void result_free(struct result *r)
{
	sqlite3_free(r->text);
	sqlite3_free(r->errmsg);
}

/* Asserts that the results RT (of SQL) and RP are identical, showing
 * where they differ. */
static void assert_same_text(const char *sql, const struct result *rt,
			     const struct result *rp)
{
	size_t i = 0;

	if (strcmp(rt->text, rp->text) != 0) {
		while (rt->text[i] && rt->text[i] == rp->text[i])
			i++;
		i = i > 80 ? i - 80 : 0;
		cr_assert_fail("%s: results differ (%d vs %d rows) near\n"
			       "columnar: %.200s\nplain:    %.200s", sql, rt->nrows,
			       rp->nrows, rt->text + i, rp->text + i);
	}
	cr_assert_eq(rt->nrows, rp->nrows);
}

/* Runs SQL ('@' = the table) on the columnar table T and on the plain
 * table P; asserts both succeed with identical results.  Returns the row
 * count. */
static int same2(sqlite3 *db, const char *sql, const char *t, const char *p)
{
	char *qt = subst(sql, t), *qp = subst(sql, p);
	struct result rt = run(db, qt), rp = run(db, qp);
	int n = rp.nrows;

	cr_assert_eq(rp.rc, SQLITE_DONE, "%s: %s", qp, rp.errmsg);
	cr_assert_eq(rt.rc, SQLITE_DONE, "%s: %s", qt, rt.errmsg);
	assert_same_text(qt, &rt, &rp);
	result_free(&rt);
	result_free(&rp);
	sqlite3_free(qt);
	sqlite3_free(qp);
	return n;
}

static int same(sqlite3 *db, const char *sql)
{
	return same2(db, sql, "t", "p");
}

/* same() with printf-style arguments. */
static int samef(sqlite3 *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int samef(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	char *sql;
	int n;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	n = same(db, sql);
	sqlite3_free(sql);
	return n;
}

/* same2() with printf-style arguments. */
static int samef2(sqlite3 *db, const char *t, const char *p, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int samef2(sqlite3 *db, const char *t, const char *p, const char *fmt, ...)
{
	va_list ap;
	char *sql;
	int n;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	n = same2(db, sql, t, p);
	sqlite3_free(sql);
	return n;
}

static int64_t int_of(sqlite3 *db, const char *sql)
{
	struct result r = run(db, sql);
	long long v = 0;

	cr_assert_eq(r.rc, SQLITE_DONE, "%s: %s", sql, r.errmsg);
	cr_assert_eq(r.nrows, 1, "%s", sql);
	cr_assert_eq(sscanf(r.text, "i%lld", &v), 1, "%s: %s", sql, r.text);
	result_free(&r);
	return v;
}

/* --- the big table -------------------------------------------------------------- */

static const char *const words[] = {
	"", "alpha", "CPU 0/KVM", "q\x01\t\n\x7f\"'\\%_", "\xc3\xa9\xe2\x9c\x93 \xc3\xbc" "n\xc3\xaf" "code",
	NULL /* long_text */, NULL /* SQL NULL */, "7",
};

/* Mirrors row K's column COL := V (or NULL) in p. */
static void p_set(sqlite3 *db, int64_t key, const char *col, int present, int64_t v)
{
	char *sql = present
		? sqlite3_mprintf("UPDATE p SET %s = %lld WHERE k = %lld", col,
				  (long long)v, (long long)key)
		: sqlite3_mprintf("UPDATE p SET %s = NULL WHERE k = %lld", col,
				  (long long)key);

	exec(db, sql);
	sqlite3_free(sql);
	cr_assert_eq(sqlite3_changes(db), 1, "%s", sql);
}

static const char *const col_names[NCOLS] = { "k", "ts", "a", "b", "c", "nn", "s", "u" };

/* Patches row KEY through the writer and mirrors it in p. */
static void patch(struct big *bg, struct wc_coltab_writer *w, int64_t key,
		  int col, int present, int64_t v)
{
	struct wc_error err = WC_ERROR_INIT;
	int cols[1] = { col };
	int64_t vals[1] = { v };
	uint8_t pres[1] = { (uint8_t)present };

	cr_assert_eq(wc_coltab_patch(w, key, 1, cols, vals, pres, &err), 0, "%s", err.msg);
	p_set(bg->db, key, col_names[col], present, v);
}

/*
 * Fills t (bulk writer) and p (INSERT) with NROWS rows from a seeded
 * PRNG.  With PATCHES, rows are also patched while in the open chunk and
 * after their chunk was written (mirrored in p).
 */
static void build(struct big *bg, int patches)
{
	struct wc_error err = WC_ERROR_INIT;
	struct wc_coltab_writer *w = NULL;
	sqlite3_stmt *ins = NULL;
	int64_t key = 0, ts = 1000000000000LL, bprev = 0;

	memset(bg, 0, sizeof(*bg));
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 300; i++)	/* all bytes 1..255, invalid UTF-8 too */
		bg->long_text[i] = (char)(1 + (i * 37) % 255);
	bg->db = open_db();
	exec(bg->db, "CREATE VIRTUAL TABLE t USING wc_columnar" BIG_COLS);
	exec(bg->db, "CREATE TABLE p(k INTEGER PRIMARY KEY, ts INTEGER, a INTEGER,"
		     " b INTEGER, c INTEGER, nn INTEGER, s TEXT, u TEXT)");
	exec(bg->db, "BEGIN");
	cr_assert_eq(wc_coltab_writer_new(bg->db, ":memory:", "t", &w, &err), 0, "%s", err.msg);
	cr_assert_eq(sqlite3_prepare_v2(bg->db, "INSERT INTO p VALUES (?,?,?,?,?,?,?,?)",
					-1, &ins, NULL), SQLITE_OK);
	for (int i = 0; i < NROWS; i++) {
		int64_t v[NCOLS];
		uint8_t has[NCOLS];
		const char *txt[NCOLS] = { 0 };
		char ubuf[32];
		uint64_t r = rnd();

		/* keys: INT64_MIN, then increasing with gaps and big jumps */
		if (i == 0)
			key = INT64_MIN;
		else if (i == 1)
			key = -1000;
		else
			key += i % 1000 == 0 ? 1000000000 : 1 + (int64_t)(r % 3);
		ts += (int64_t)(rnd() % 1000);
		v[K] = key, has[K] = 1;
		v[TS] = ts, has[TS] = 1;
		v[A] = (int64_t)(rnd() % 100), has[A] = rnd() % 10 != 0;
		switch (rnd() % 10) {
		case 0: v[B] = INT64_MIN; break;
		case 1: v[B] = INT64_MAX; break;
		case 2: v[B] = (int64_t)rnd(); break;		/* huge jumps */
		case 3: v[B] = -(int64_t)(rnd() >> 2); break;
		default: v[B] = (int64_t)((uint64_t)bprev + rnd() % 15 - 7); break;	/* wraps near the extremes */
		}
		has[B] = rnd() % 7 != 0;
		if (has[B])
			bprev = v[B];
		/* c: all NULL in the second chunk */
		v[C] = (int64_t)(rnd() % 1000) - 500;
		has[C] = !(i >= 4096 && i < 8192) && rnd() % 2;
		v[NN] = (int64_t)(i * 3 % 17) - 8, has[NN] = 1;
		/* s: repeats, "", NULL, long, control bytes, UTF-8, "7" */
		{
			int wi = (int)(rnd() % 8);

			txt[S] = wi == 5 ? bg->long_text : words[wi];
			has[S] = wi != 6;
		}
		/* u: many distinct strings, sometimes NULL */
		snprintf(ubuf, sizeof(ubuf), "u%llu", (unsigned long long)(rnd() % 5000));
		txt[U] = ubuf;
		has[U] = i % 13 != 0;
		bg->keys[i] = key;
		bg->ts[i] = ts;

		wc_coltab_row(w);
		sqlite3_reset(ins);
		for (int c = 0; c < NCOLS; c++) {
			if (!has[c]) {
				if (rnd() % 2)	/* both ways of leaving a NULL */
					wc_coltab_set_null(w, c);
				sqlite3_bind_null(ins, c + 1);
			} else if (c == S || c == U) {
				cr_assert_eq(wc_coltab_set_text(w, c, txt[c], &err), 0, "%s", err.msg);
				sqlite3_bind_text(ins, c + 1, txt[c], -1, SQLITE_STATIC);
			} else {
				wc_coltab_set_int(w, c, v[c]);
				sqlite3_bind_int64(ins, c + 1, v[c]);
			}
		}
		cr_assert_eq(sqlite3_step(ins), SQLITE_DONE, "%s", sqlite3_errmsg(bg->db));
		cr_assert_eq(wc_coltab_append(w, &err), 0, "%s", err.msg);

		if (!patches)
			continue;
		if (i % 4096 == 100) {
			/* rows still in the open chunk */
			patch(bg, w, bg->keys[i - 50], A, 1, 77777);
			patch(bg, w, bg->keys[i - 49], B, 0, 0);
			patch(bg, w, bg->keys[i], C, 1, -88888);
		}
		if (i == 5000) {
			/* chunk 0 is written: t__patch rows */
			patch(bg, w, bg->keys[0], NN, 1, 123456789);
			patch(bg, w, bg->keys[10], A, 1, 1000000);	/* far outside a's zone */
			patch(bg, w, bg->keys[20], A, 0, 0);		/* NULL */
			patch(bg, w, bg->keys[4095], B, 1, 5);		/* last row of the chunk */
		}
		if (i == 9000) {
			patch(bg, w, bg->keys[4200], A, 1, -5);
			/* c is NULL in the whole chunk 1: its zone has no c at all */
			patch(bg, w, bg->keys[8000], C, 1, 99999);
			patch(bg, w, bg->keys[8001], TS, 1, 0);
		}
	}
	cr_assert_eq(wc_coltab_writer_rows(w), NROWS);
	cr_assert_eq(wc_coltab_writer_flush(w, &err), 0, "%s", err.msg);
	cr_assert_eq(wc_coltab_writer_flush(w, &err), 0, "%s", err.msg);	/* nothing left */
	if (patches) {
		/* the last chunk, after the final flush */
		patch(bg, w, bg->keys[NROWS - 1], A, 1, -1);
		patch(bg, w, bg->keys[NROWS - 2], C, 0, 0);
	}
	sqlite3_finalize(ins);
	wc_coltab_writer_free(w);
	exec(bg->db, "COMMIT");
}

static void big_free(struct big *bg)
{
	sqlite3_close(bg->db);
}

/* --- 1. round trip ------------------------------------------------------------------ */

Test(coltab, writer_round_trip)
{
	static struct big bg;

	build(&bg, 0);
	cr_assert_eq(same(bg.db, "SELECT * FROM @ ORDER BY k"), NROWS);
	cr_assert_eq(same(bg.db, "SELECT * FROM @"), NROWS);
	cr_assert_eq(same(bg.db, "SELECT rowid, k, s, u FROM @"), NROWS);
	/* 10007 rows = 4096 + 4096 + 1815 */
	cr_assert_eq(int_of(bg.db, "SELECT count(*) FROM t__chunk"), 3);
	cr_assert_eq(int_of(bg.db, "SELECT n FROM t__chunk ORDER BY first DESC LIMIT 1"), 1815);
	cr_assert_eq(int_of(bg.db, "SELECT count(*) FROM t__patch"), 0);
	/* the generator produced what the test claims to cover */
	cr_assert_eq(int_of(bg.db, "SELECT count(*) FROM p WHERE k = -9223372036854775807 - 1"), 1);
	cr_assert_gt(int_of(bg.db, "SELECT count(*) FROM p WHERE b = 9223372036854775807"), 0);
	cr_assert_gt(int_of(bg.db, "SELECT count(*) FROM p WHERE b = -9223372036854775807 - 1"), 0);
	cr_assert_gt(int_of(bg.db, "SELECT count(*) FROM p WHERE length(s) = 300"), 0);
	cr_assert_gt(int_of(bg.db, "SELECT count(*) FROM p WHERE s = ''"), 0);
	cr_assert_eq(int_of(bg.db, "SELECT count(c) FROM p WHERE k BETWEEN"
			      " (SELECT k FROM p ORDER BY k LIMIT 1 OFFSET 4096) AND"
			      " (SELECT k FROM p ORDER BY k LIMIT 1 OFFSET 8191)"), 0);
	cr_assert_eq(same(bg.db, "SELECT count(*), count(a), sum(a), min(b), max(b),"
			  " count(c), count(DISTINCT s), count(DISTINCT u),"
			  " sum(length(s)), sum(nn) FROM @"), 1);
	big_free(&bg);
}

/* --- 2. pruning ------------------------------------------------------------------------ */

Test(coltab, pruned_queries_match_plain_table)
{
	static struct big bg;
	const int64_t *k = bg.keys;
	sqlite3 *db;

	build(&bg, 0);
	db = bg.db;
	/* key look-ups: first, chunk edges, last, a gap, outside */
	cr_assert_eq(samef(db, "SELECT * FROM @ WHERE k = %lld", (long long)k[0]), 1);
	cr_assert_eq(samef(db, "SELECT * FROM @ WHERE k = %lld", (long long)k[4095]), 1);
	cr_assert_eq(samef(db, "SELECT * FROM @ WHERE k = %lld", (long long)k[4096]), 1);
	cr_assert_eq(samef(db, "SELECT * FROM @ WHERE k = %lld", (long long)k[NROWS - 1]), 1);
	cr_assert_eq(samef(db, "SELECT * FROM @ WHERE rowid = %lld", (long long)k[5]), 1);
	for (int i = 2; i < 40; i++)	/* gaps */
		samef(db, "SELECT * FROM @ WHERE k = %lld", (long long)k[i] + 1);
	cr_assert_eq(samef(db, "SELECT * FROM @ WHERE k = %lld", (long long)k[NROWS - 1] + 1), 0);
	cr_assert_eq(samef(db, "SELECT * FROM @ WHERE k = %lld", (long long)k[1] - 1), 0);
	cr_assert_eq(same(db, "SELECT * FROM @ WHERE k = 9223372036854775807"), 0);
	/* ranges on the key */
	cr_assert_eq(samef(db, "SELECT k, a FROM @ WHERE k < %lld", (long long)k[4096]), 4096);
	cr_assert_eq(samef(db, "SELECT k, a FROM @ WHERE k <= %lld", (long long)k[4096]), 4097);
	cr_assert_eq(samef(db, "SELECT k, a FROM @ WHERE k > %lld", (long long)k[4095]), NROWS - 4096);
	cr_assert_eq(samef(db, "SELECT k, a FROM @ WHERE k >= %lld", (long long)k[8191]), NROWS - 8191);
	cr_assert_eq(samef(db, "SELECT * FROM @ WHERE k BETWEEN %lld AND %lld",
			   (long long)k[100], (long long)k[5000]), 4901);
	cr_assert_eq(samef(db, "SELECT * FROM @ WHERE k > %lld AND k < %lld",
			   (long long)k[4094], (long long)k[4097]), 2);
	cr_assert_eq(samef(db, "SELECT * FROM @ WHERE k BETWEEN %lld AND %lld",
			   (long long)k[5000], (long long)k[100]), 0);
	cr_assert_eq(samef(db, "SELECT k, s FROM @ WHERE k IN (%lld, %lld, %lld, 12345678)"
			   " ORDER BY k", (long long)k[9000], (long long)k[3], (long long)k[4096]), 3);
	cr_assert_eq(same(db, "SELECT k FROM @ WHERE k > 9223372036854775807"), 0);
	cr_assert_eq(same(db, "SELECT k FROM @ WHERE k < -9223372036854775807 - 1"), 0);
	cr_assert_eq(same(db, "SELECT k FROM @ WHERE k <= -9223372036854775807 - 1"), 1);
	cr_assert_eq(same(db, "SELECT k FROM @ WHERE k >= -9223372036854775807 - 1"), NROWS);
	/* a monotonic column */
	same(db, "SELECT k, ts FROM @ WHERE ts BETWEEN 1000002000000 AND 1000002100000");
	cr_assert_gt(samef(db, "SELECT k, ts FROM @ WHERE ts BETWEEN %lld AND %lld",
			   (long long)bg.ts[5000], (long long)bg.ts[5100]), 100);
	cr_assert_gt(samef(db, "SELECT k FROM @ WHERE ts > %lld", (long long)bg.ts[9000]), 0);
	cr_assert_gt(samef(db, "SELECT k FROM @ WHERE ts <= %lld", (long long)bg.ts[10]), 10);
	cr_assert_gt(samef(db, "SELECT k FROM @ WHERE ts = %lld", (long long)bg.ts[4096]), 0);
	/* a random column, and several constraints at once */
	cr_assert_gt(same(db, "SELECT k, a FROM @ WHERE a = 42"), 0);
	cr_assert_gt(same(db, "SELECT k, a FROM @ WHERE a >= 98"), 0);
	/* zone boundaries: every chunk's a spans 0..99 exactly */
	cr_assert_gt(same(db, "SELECT k, a FROM @ WHERE a > 98"), 0);
	cr_assert_gt(same(db, "SELECT k, a FROM @ WHERE a = 99"), 0);
	cr_assert_gt(same(db, "SELECT k, a FROM @ WHERE a = 0"), 0);
	cr_assert_gt(same(db, "SELECT k, a FROM @ WHERE a <= 0"), 0);
	cr_assert_eq(samef(db, "SELECT k, ts FROM @ WHERE ts > %lld - 1 AND k <= %lld",
			   (long long)bg.ts[4095], (long long)k[4095]),
		     1 + (bg.ts[4094] == bg.ts[4095]));
	cr_assert_gt(samef(db, "SELECT k, ts FROM @ WHERE ts >= %lld", (long long)bg.ts[NROWS - 1]), 0);
	cr_assert_gt(samef(db, "SELECT k, ts FROM @ WHERE ts < %lld + 1", (long long)bg.ts[4096]), 4096);
	cr_assert_gt(same(db, "SELECT k, a FROM @ WHERE a < 1"), 0);
	cr_assert_gt(samef(db, "SELECT * FROM @ WHERE a BETWEEN 10 AND 12 AND k > %lld AND nn > 0",
			   (long long)k[3000]), 0);
	cr_assert_gt(same(db, "SELECT k FROM @ WHERE a IN (3, 5, 700) ORDER BY k"), 0);
	/* outside every zone; a column all NULL in one chunk */
	cr_assert_eq(same(db, "SELECT * FROM @ WHERE a = 1000"), 0);
	cr_assert_eq(same(db, "SELECT * FROM @ WHERE a > 99"), 0);
	cr_assert_eq(same(db, "SELECT * FROM @ WHERE a < 0"), 0);
	cr_assert_gt(same(db, "SELECT k, c FROM @ WHERE c > 0"), 0);
	cr_assert_gt(same(db, "SELECT k, c FROM @ WHERE c <= -499"), 0);
	cr_assert_gt(same(db, "SELECT k FROM @ WHERE c IS NULL"), 4096);
	/* extremes */
	cr_assert_gt(same(db, "SELECT k FROM @ WHERE b = 9223372036854775807"), 0);
	cr_assert_gt(same(db, "SELECT k FROM @ WHERE b = -9223372036854775807 - 1"), 0);
	cr_assert_gt(same(db, "SELECT k FROM @ WHERE b >= 9223372036854775807"), 0);
	cr_assert_gt(same(db, "SELECT k FROM @ WHERE b <= -9223372036854775807 - 1"), 0);
	cr_assert_eq(same(db, "SELECT k FROM @ WHERE b > 9223372036854775807"), 0);
	/* NULL, REAL and TEXT on the right-hand side */
	cr_assert_eq(same(db, "SELECT k FROM @ WHERE a = NULL"), 0);
	cr_assert_eq(same(db, "SELECT k FROM @ WHERE a > NULL"), 0);
	cr_assert_eq(same(db, "SELECT k FROM @ WHERE k = NULL"), 0);
	cr_assert_eq(same(db, "SELECT k FROM @ WHERE k < NULL OR a = NULL"), 0);
	cr_assert_gt(same(db, "SELECT k FROM @ WHERE a IS NULL"), 0);
	cr_assert_gt(same(db, "SELECT k FROM @ WHERE a IS NOT NULL AND a IS 3"), 0);
	cr_assert_gt(same(db, "SELECT k, a FROM @ WHERE a < 2.5"), 0);
	cr_assert_eq(same(db, "SELECT k, a FROM @ WHERE a = 2.5"), 0);
	cr_assert_gt(same(db, "SELECT k, a FROM @ WHERE a > 97.5"), 0);
	cr_assert_gt(same(db, "SELECT k, a FROM @ WHERE a = 7.0"), 0);
	cr_assert_eq(same(db, "SELECT k FROM @ WHERE k < -1000.5"), 1);
	cr_assert_eq(samef(db, "SELECT k FROM @ WHERE k > %lld.5", (long long)k[NROWS - 3]), 2);
	cr_assert_gt(same(db, "SELECT k, a FROM @ WHERE a = '7'"), 0);
	cr_assert_gt(same(db, "SELECT k, a FROM @ WHERE a > '90'"), 0);
	same(db, "SELECT k, a FROM @ WHERE a < 'x'");
	same(db, "SELECT k, a FROM @ WHERE a = x'37'");
	cr_assert_eq(samef(db, "SELECT k FROM @ WHERE k = '%lld'", (long long)k[777]), 1);
	cr_assert_gt(same(db, "SELECT k, s FROM @ WHERE s = '7'"), 0);
	cr_assert_gt(same(db, "SELECT k, s FROM @ WHERE s = ''"), 0);
	cr_assert_gt(same(db, "SELECT k, s FROM @ WHERE s > 'CPU'"), 0);
	/* order, limits, aggregates */
	cr_assert_eq(same(db, "SELECT * FROM @ ORDER BY k DESC"), NROWS);
	cr_assert_eq(same(db, "SELECT k, a FROM @ ORDER BY rowid DESC LIMIT 5"), 5);
	cr_assert_eq(samef(db, "SELECT k FROM @ WHERE k > %lld ORDER BY k LIMIT 3",
			   (long long)k[4094]), 3);
	cr_assert_eq(same(db, "SELECT k, a FROM @ ORDER BY a, k DESC LIMIT 20 OFFSET 30"), 20);
	cr_assert_eq(same(db, "SELECT count(*) FROM @"), 1);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM t"), NROWS);
	cr_assert_eq(same(db, "SELECT a, count(*), sum(b % 1000), count(DISTINCT s)"
			  " FROM @ GROUP BY a ORDER BY a"), 101);
	/* joins: t as the inner loop (key look-ups, the cached chunk), as
	 * the outer one, and on a non-key column */
	cr_assert_eq(same(db, "SELECT x.k, y.a, y.s, y.u FROM p AS x CROSS JOIN @ AS y"
			  " ON y.k = x.k"), NROWS);
	cr_assert_eq(same(db, "SELECT x.k, y.k, y.c FROM p AS x CROSS JOIN @ AS y"
			  " ON y.k = x.k + 1"), int_of(db, "SELECT count(*) FROM p AS x"
							 " JOIN p AS y ON y.k = x.k + 1"));
	cr_assert_eq(same(db, "SELECT x.k, y.b FROM (SELECT k FROM p ORDER BY k DESC) AS x"
			  " CROSS JOIN @ AS y ON y.k = x.k"), NROWS);
	cr_assert_eq(same(db, "SELECT x.k, y.ts FROM (SELECT k FROM p WHERE a = 3) AS x"
			  " CROSS JOIN @ AS y ON y.k = x.k"),
		     int_of(db, "SELECT count(*) FROM p WHERE a = 3"));
	cr_assert_gt(same(db, "SELECT y.k, x.k, x.s FROM @ AS y CROSS JOIN p AS x"
			  " ON x.k = y.k WHERE y.a = 3"), 0);
	cr_assert_gt(same(db, "SELECT y.k, x.u FROM p AS x JOIN @ AS y ON y.k = x.k"
			  " WHERE x.s = 'alpha' ORDER BY y.k"), 0);
	cr_assert_gt(samef(db, "SELECT x.k, y.k FROM (SELECT * FROM p WHERE k < %lld) AS x"
			   " CROSS JOIN @ AS y ON y.a = x.a AND y.ts > x.ts + 1000000",
			   (long long)k[12]), 0);
	cr_assert_gt(same(db, "SELECT x.k, y.k FROM p AS x LEFT JOIN @ AS y"
			  " ON y.k = x.k AND y.a > 50 WHERE x.k % 97 = 0"), 0);
	cr_assert_gt(same(db, "SELECT k, a FROM @ WHERE k IN (SELECT k FROM p WHERE a = 7)"), 0);
	big_free(&bg);
}

/* --- 3. patches --------------------------------------------------------------------------- */

Test(coltab, patches)
{
	static struct big bg;
	const int64_t *k = bg.keys;
	sqlite3 *db;

	build(&bg, 1);
	db = bg.db;
	/* written chunks: 4 rows of chunk 0, 3 of chunk 1, 2 of chunk 2 */
	cr_assert_eq(int_of(db, "SELECT count(*) FROM t__patch"), 9);
	cr_assert_eq(same(db, "SELECT * FROM @ ORDER BY k"), NROWS);
	cr_assert_eq(same(db, "SELECT * FROM @"), NROWS);
	/* values the zone maps do not cover: a wrongly trusted zone map
	 * prunes these rows */
	cr_assert_eq(same(db, "SELECT k, a FROM @ WHERE a = 1000000"), 1);
	cr_assert_eq(same(db, "SELECT k, a FROM @ WHERE a > 99999"), 1);
	cr_assert_eq(same(db, "SELECT k, a FROM @ WHERE a >= 77777 ORDER BY k"), 4);
	cr_assert_eq(same(db, "SELECT k, a FROM @ WHERE a < 0 ORDER BY k"), 2);
	cr_assert_eq(same(db, "SELECT k, a FROM @ WHERE a = -5"), 1);
	cr_assert_eq(same(db, "SELECT k, c FROM @ WHERE c = 99999"), 1);
	cr_assert_eq(same(db, "SELECT k, c FROM @ WHERE c > 500"), 1);
	cr_assert_eq(same(db, "SELECT k, c FROM @ WHERE c = -88888"), 3);
	cr_assert_eq(same(db, "SELECT k, ts FROM @ WHERE ts = 0"), 1);
	cr_assert_eq(same(db, "SELECT k, ts FROM @ WHERE ts < 1000"), 1);
	cr_assert_eq(same(db, "SELECT k, nn FROM @ WHERE nn = 123456789"), 1);
	cr_assert_eq(same(db, "SELECT k, b FROM @ WHERE b = 5 AND k < 0"),
		     int_of(db, "SELECT count(*) FROM p WHERE b = 5 AND k < 0"));
	cr_assert_eq(samef(db, "SELECT k, a, b, c FROM @ WHERE k = %lld", (long long)k[20]), 1);
	cr_assert_eq(samef(db, "SELECT a FROM @ WHERE k = %lld AND a IS NULL", (long long)k[20]), 1);
	cr_assert_eq(samef(db, "SELECT b FROM @ WHERE k = %lld AND b IS NULL", (long long)k[4096 + 51]), 1);
	cr_assert_eq(samef(db, "SELECT c FROM @ WHERE k = %lld AND c IS NULL",
			   (long long)k[NROWS - 2]), 1);
	/* key look-ups of patched rows, from the cached chunk (join) */
	cr_assert_eq(same(db, "SELECT x.k, y.a, y.b, y.c, y.ts, y.nn FROM p AS x"
			  " CROSS JOIN @ AS y ON y.k = x.k"), NROWS);

	/* SQL UPDATE, twice on one row: the second wins */
	for (int pass = 0; pass < 2; pass++) {
		const char *name = pass ? "p" : "t";
		char *sql = sqlite3_mprintf("UPDATE %s SET a = 100011 WHERE k = %lld;"
					    "UPDATE %s SET a = 100022, c = NULL WHERE k = %lld;"
					    "UPDATE %s SET b = 424242 WHERE k = %lld;"
					    "UPDATE %s SET nn = nn + 1000 WHERE a = 42;"
					    "UPDATE %s SET ts = NULL WHERE k = %lld",
					    name, (long long)k[30], name, (long long)k[30],
					    name, (long long)k[10], name, name, (long long)k[9999]);

		exec(db, sql);
		sqlite3_free(sql);
	}
	cr_assert_eq(same(db, "SELECT * FROM @ ORDER BY k"), NROWS);
	cr_assert_eq(samef(db, "SELECT k, a, c FROM @ WHERE k = %lld", (long long)k[30]), 1);
	cr_assert_eq(same(db, "SELECT k FROM @ WHERE a = 100011"), 0);
	cr_assert_eq(same(db, "SELECT k FROM @ WHERE a = 100022"), 1);
	/* row k[10]: writer patch + SQL patch, both kept */
	cr_assert_eq(same(db, "SELECT k, a, b FROM @ WHERE b = 424242 AND a = 1000000"), 1);
	cr_assert_gt(same(db, "SELECT k, nn FROM @ WHERE nn > 900 ORDER BY k"), 0);
	cr_assert_eq(same(db, "SELECT k, ts FROM @ WHERE ts IS NULL"), 1);
	big_free(&bg);
}

/* --- 4. SQL INSERT / UPDATE / DELETE ---------------------------------------------------------- */

/* Runs SQL, expecting it to fail with CODE and a message containing NEED. */
static void refused(sqlite3 *db, const char *sql, int code, const char *need)
{
	char *e = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &e);

	cr_assert_eq(rc & 0xff, code, "%s: rc %d (%s)", sql, rc, e ? e : "");
	cr_assert(e && strstr(e, need), "%s: message \"%s\", expected \"%s\"", sql,
		  e ? e : "", need);
	sqlite3_free(e);
}

static void small_tables(sqlite3 *db)
{
	exec(db, "CREATE VIRTUAL TABLE t USING wc_columnar(k INTEGER, a INTEGER, s TEXT)");
	exec(db, "CREATE TABLE p(k INTEGER PRIMARY KEY, a INTEGER, s TEXT)");
}

Test(coltab, sql_insert_update_delete)
{
	sqlite3 *db = open_db();

	small_tables(db);
	exec(db, "INSERT INTO t VALUES (10, 1, 'x'); INSERT INTO p VALUES (10, 1, 'x')");
	exec(db, "INSERT INTO t VALUES (NULL, 2, 'y')");
	cr_assert_eq(sqlite3_last_insert_rowid(db), 11);
	exec(db, "INSERT INTO t(a, s) VALUES (3, NULL)");
	cr_assert_eq(sqlite3_last_insert_rowid(db), 12);
	exec(db, "INSERT INTO t VALUES (100, NULL, '')");
	cr_assert_eq(sqlite3_last_insert_rowid(db), 100);
	exec(db, "INSERT INTO t VALUES (-5 + 106, -9223372036854775807 - 1, 'q\x01\xc3\xa9')");
	exec(db, "INSERT INTO p VALUES (11, 2, 'y'), (12, 3, NULL), (100, NULL, ''),"
		 " (101, -9223372036854775807 - 1, 'q\x01\xc3\xa9')");
	cr_assert_eq(same(db, "SELECT * FROM @"), 5);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM t__chunk"), 5);	/* one per INSERT */

	/* keys must grow */
	refused(db, "INSERT INTO t VALUES (50, 4, 'z')", SQLITE_CONSTRAINT, "increasing key order");
	refused(db, "INSERT INTO t VALUES (101, 4, 'z')", SQLITE_CONSTRAINT, "increasing key order");
	refused(db, "INSERT INTO t(rowid, k, a) VALUES (7, 7, 4)", SQLITE_CONSTRAINT, "increasing");
	cr_assert_eq(same(db, "SELECT * FROM @"), 5);
	/* DELETE */
	refused(db, "DELETE FROM t WHERE k = 10", SQLITE_READONLY, "cannot be deleted");
	refused(db, "DELETE FROM t", SQLITE_READONLY, "cannot be deleted");
	/* UPDATE of a TEXT column, of the key, of the rowid */
	refused(db, "UPDATE t SET s = 'w' WHERE k = 10", SQLITE_CONSTRAINT, "only integer columns");
	refused(db, "UPDATE t SET k = 5 WHERE k = 10", SQLITE_CONSTRAINT, "only integer columns");
	refused(db, "UPDATE t SET k = 1000 WHERE k = 100", SQLITE_CONSTRAINT, "only integer columns");
	refused(db, "UPDATE t SET rowid = 9 WHERE k = 10", SQLITE_CONSTRAINT, "only integer columns");
	cr_assert_eq(same(db, "SELECT * FROM @"), 5);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM t__patch"), 0);
	/* allowed UPDATEs, mirrored */
	exec(db, "UPDATE t SET a = NULL WHERE k = 10; UPDATE p SET a = NULL WHERE k = 10");
	exec(db, "UPDATE t SET k = 11, a = 7 WHERE k = 11; UPDATE p SET a = 7 WHERE k = 11");
	exec(db, "UPDATE t SET a = a * 2 WHERE a > 0; UPDATE p SET a = a * 2 WHERE a > 0");
	cr_assert_eq(same(db, "SELECT * FROM @"), 5);
	cr_assert_eq(same(db, "SELECT k FROM @ WHERE a = 14"), 1);
	/* and appending continues after the patched rows */
	exec(db, "INSERT INTO t VALUES (NULL, 9, 'tail'); INSERT INTO p VALUES (102, 9, 'tail')");
	cr_assert_eq(sqlite3_last_insert_rowid(db), 102);
	cr_assert_eq(same(db, "SELECT * FROM @ ORDER BY k DESC"), 6);
	sqlite3_close(db);
}

/*
 * A multi-row INSERT whose second row is refused must leave the table
 * as it was (statement atomicity, as for the plain table with a failing
 * constraint).
 */
Test(coltab, sql_insert_refused_row_undoes_statement)
{
	sqlite3 *db = open_db();

	small_tables(db);
	exec(db, "INSERT INTO t VALUES (10, 1, 'x'); INSERT INTO p VALUES (10, 1, 'x')");
	refused(db, "INSERT INTO t VALUES (20, 2, 'y'), (15, 3, 'z')", SQLITE_CONSTRAINT,
		"increasing key order");
	cr_assert_eq(same(db, "SELECT * FROM @"), 1);
	exec(db, "BEGIN");
	refused(db, "INSERT INTO t VALUES (30, 2, 'y'), (25, 3, 'z')", SQLITE_CONSTRAINT,
		"increasing key order");
	exec(db, "COMMIT");
	cr_assert_eq(same(db, "SELECT * FROM @"), 1);
	sqlite3_close(db);
}

/*
 * After a row with key INT64_MAX, an INSERT without a key has no next
 * key: it must be refused and leave the table unchanged (this was a
 * signed overflow of "last + 1": UBSan aborted, -O2 stored the row with
 * key INT64_MIN).
 */
Test(coltab, sql_insert_after_int64_max)
{
	sqlite3 *db = open_db();
	char *e = NULL;
	int rc;

	small_tables(db);
	exec(db, "INSERT INTO t VALUES (9223372036854775807, 1, 'm')");
	exec(db, "INSERT INTO p VALUES (9223372036854775807, 1, 'm')");
	rc = sqlite3_exec(db, "INSERT INTO t VALUES (NULL, 2, 'n')", NULL, NULL, &e);
	cr_expect_neq(rc, SQLITE_OK, "INSERT of key INT64_MAX + 1 accepted");
	sqlite3_free(e);
	cr_assert_eq(same(db, "SELECT * FROM @"), 1);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM t__chunk"), 1);
	sqlite3_close(db);
}

/* --- 5. corrupt storage -------------------------------------------------------------------------- */

/* tc(k, a, s): 10 rows, keys 1, 3, ..., 19, in one chunk. */
static sqlite3 *corrupt_fixture(unsigned char **orig, int *norig)
{
	struct wc_error err = WC_ERROR_INIT;
	struct wc_coltab_writer *w = NULL;
	sqlite3 *db = open_db();
	struct result r;

	exec(db, "CREATE VIRTUAL TABLE tc USING wc_columnar(k INTEGER, a INTEGER, s TEXT)");
	cr_assert_eq(wc_coltab_writer_new(db, ":memory:", "tc", &w, &err), 0, "%s", err.msg);
	for (int i = 0; i < 10; i++) {
		wc_coltab_row(w);
		wc_coltab_set_int(w, 0, 1 + 2 * i);
		wc_coltab_set_int(w, 1, i * i);
		if (i % 3)
			cr_assert_eq(wc_coltab_set_text(w, 2, i % 2 ? "odd" : "even", &err), 0);
		cr_assert_eq(wc_coltab_append(w, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(wc_coltab_writer_flush(w, &err), 0, "%s", err.msg);
	wc_coltab_writer_free(w);
	r = run(db, "SELECT group_concat(k || ':' || a || ':' || ifnull(s, '-'), ' ') FROM tc");
	cr_assert_eq(r.rc, SQLITE_DONE, "%s", r.errmsg);
	cr_assert_str_eq(r.text, "t85:1:0:- 3:1:odd 5:4:even 7:9:- 9:16:even 11:25:odd 13:36:-"
			 " 15:49:odd 17:64:even 19:81:-\n");
	result_free(&r);
	{
		sqlite3_stmt *st = NULL;

		cr_assert_eq(sqlite3_prepare_v2(db, "SELECT data FROM tc__chunk WHERE first = 1",
						-1, &st, NULL), SQLITE_OK);
		cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
		*norig = sqlite3_column_bytes(st, 0);
		*orig = malloc((size_t)*norig);
		memcpy(*orig, sqlite3_column_blob(st, 0), (size_t)*norig);
		sqlite3_finalize(st);
	}
	return db;
}

static void set_blob(sqlite3 *db, const char *sql, const void *b, int n)
{
	sqlite3_stmt *st = NULL;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_bind_blob(st, 1, b, n, SQLITE_TRANSIENT);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
}

static void set_data(sqlite3 *db, const void *b, int n)
{
	set_blob(db, "UPDATE tc__chunk SET data = ?1 WHERE first = 1", b, n);
}

/* Every read of tc must fail with SQLITE_CORRUPT and name the table. */
static void expect_corrupt(sqlite3 *db, const char *what)
{
	static const char *const queries[] = {
		"SELECT * FROM tc", "SELECT k, s, a FROM tc WHERE k = 19",
		"SELECT * FROM tc WHERE a > 3 ORDER BY k DESC",
	};

	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		struct result r = run(db, queries[i]);

		cr_expect_eq(r.rc & 0xff, SQLITE_CORRUPT, "%s: %s: rc %d (%s)", what,
			     queries[i], r.rc, r.errmsg ? r.errmsg : "");
		cr_expect(r.errmsg && strstr(r.errmsg, "columnar table tc: corrupt"),
			  "%s: %s: message \"%s\"", what, queries[i], r.errmsg ? r.errmsg : "");
		result_free(&r);
	}
}

/* Appends a LEB128 varint. */
static size_t put_uv(unsigned char *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

Test(coltab, corrupt_chunk_data)
{
	unsigned char *orig = NULL, buf[512];
	int norig = 0;
	size_t n;
	sqlite3 *db = corrupt_fixture(&orig, &norig);

	/* truncated */
	for (int len = 0; len < norig; len += len < 8 ? 1 : 7) {
		set_data(db, orig, len);
		expect_corrupt(db, "truncated");
	}
	set_data(db, orig, norig - 1);
	expect_corrupt(db, "truncated by one");
	/* random bytes */
	rng_state = 12345;
	for (int i = 0; i < 60; i++) {
		int len = 1 + (int)(rnd() % 80);

		for (int j = 0; j < len; j++)
			buf[j] = (unsigned char)rnd();
		if (i % 2)
			buf[0] = 1;	/* get past the version */
		set_data(db, buf, len);
		expect_corrupt(db, "random bytes");
	}
	/* a huge varint as the first column's length */
	n = 0;
	buf[n++] = 1;
	buf[n++] = 10;
	buf[n++] = 3;
	n += put_uv(buf + n, UINT64_MAX);
	memcpy(buf + n, orig + 3, 20);
	n += 20;
	set_data(db, buf, (int)n);
	expect_corrupt(db, "huge column length");
	/* a 10-byte varint that never ends, and one of 11 bytes */
	memset(buf + 3, 0xff, 12);
	set_data(db, buf, 15);
	expect_corrupt(db, "endless varint");
	/* huge row count */
	n = 0;
	buf[n++] = 1;
	n += put_uv(buf + n, 1ULL << 40);
	buf[n++] = 3;
	set_data(db, buf, (int)n);
	expect_corrupt(db, "huge row count");
	/* wrong version, wrong column count */
	memcpy(buf, orig, (size_t)norig);
	buf[0] = 2;
	set_data(db, buf, norig);
	expect_corrupt(db, "version");
	memcpy(buf, orig, (size_t)norig);
	buf[2] = 2;
	set_data(db, buf, norig);
	expect_corrupt(db, "column count");
	/* the chunk row disagrees with its data */
	set_data(db, orig, norig);
	exec(db, "UPDATE tc__chunk SET n = 11");
	expect_corrupt(db, "n");
	exec(db, "UPDATE tc__chunk SET n = 10, last = 21");
	expect_corrupt(db, "last");
	exec(db, "UPDATE tc__chunk SET last = 19");
	cr_assert_eq(same2(db, "SELECT * FROM @", "tc", "tc"), 10);
	free(orig);
	sqlite3_close(db);
}

/*
 * Blobs made with wc_coltab_encode() whose dictionary or columns are
 * wrong.  Errors found while decoding a non-key column are raised in
 * xColumn, and must still be SQLITE_CORRUPT (sqlite3_result_error()
 * resets the code to SQLITE_ERROR: the code has to be set after it).
 */
Test(coltab, corrupt_dictionary_and_columns)
{
	unsigned char *orig = NULL, *data = NULL, *zone = NULL, blob[256];
	int norig = 0, ndata = 0, nzone = 0;
	sqlite3 *db = corrupt_fixture(&orig, &norig);
	const uint8_t is_text[3] = { 0, 0, 1 };
	int64_t vals[2 * 3] = { 1, 5, 0, 19, 6, 7 };	/* s index 7, ndict 1 */
	uint64_t nullmask[2] = { 0, 0 };
	const char *dict[1] = { "ab" };
	uint32_t dict_len[1] = { 2 };
	struct wc_coltab_chunk ch = { 3, is_text, 2, vals, nullmask, dict, dict_len, 1 };
	size_t n;

	exec(db, "UPDATE tc__chunk SET n = 2");
	/* dictionary index out of range */
	cr_assert_eq(wc_coltab_encode(&ch, &data, &ndata, &zone, &nzone), SQLITE_OK);
	set_data(db, data, ndata);
	expect_corrupt(db, "dictionary index");
	/* huge dictionary string length: the blob ends "01 02 'a' 'b'" */
	memcpy(blob, data, (size_t)ndata);
	n = (size_t)ndata - 3;
	n += put_uv(blob + n, 0xffffffffULL);
	set_data(db, blob, (int)n);
	expect_corrupt(db, "dictionary string length");
	/* huge dictionary size */
	n = (size_t)ndata - 4;
	n += put_uv(blob + n, 1ULL << 62);
	set_data(db, blob, (int)n);
	expect_corrupt(db, "dictionary size");
	sqlite3_free(data);
	sqlite3_free(zone);

	/* keys not increasing (the chunk row still says 1..19) */
	vals[0] = 1, vals[3] = 1, vals[5] = 0;
	cr_assert_eq(wc_coltab_encode(&ch, &data, &ndata, &zone, &nzone), SQLITE_OK);
	set_data(db, data, ndata);
	expect_corrupt(db, "keys not increasing");
	sqlite3_free(data);
	sqlite3_free(zone);

	/* hand-made chunks of 2 rows, keys 1 and 19 */
	{
		/* a's column holds one value for two rows */
		static const unsigned char short_a[] = {
			1, 2, 3,	/* version, n, ncols */
			3, 2, 2,	/* column lengths */
			0, 2, 36,	/* k: 1, +18 */
			0, 2,		/* a: 1, then nothing */
			1, 3,		/* s: all NULL */
			0,		/* ndict */
		};
		/* the same with a's second value: a valid chunk */
		static const unsigned char good[] = {
			1, 2, 3, 3, 3, 2, 0, 2, 36, 0, 2, 6, 1, 3, 0,
		};
		/* s says it has NULLs but its bitmap is missing */
		static const unsigned char no_bitmap[] = {
			1, 2, 3, 3, 3, 1, 0, 2, 36, 0, 2, 6, 1, 0,
		};
		struct result r;

		set_data(db, short_a, sizeof(short_a));
		expect_corrupt(db, "column value");
		set_data(db, good, sizeof(good));
		r = run(db, "SELECT k, a, s FROM tc");
		cr_assert_eq(r.rc, SQLITE_DONE, "%s", r.errmsg);
		cr_assert_str_eq(r.text, "i1|i1|N\ni19|i4|N\n");
		result_free(&r);
		set_data(db, no_bitmap, sizeof(no_bitmap));
		expect_corrupt(db, "null bitmap");
	}
	free(orig);
	sqlite3_close(db);
}

/* Random mutations of a valid chunk: any outcome but a crash or a
 * message not naming the table. */
Test(coltab, mutated_chunks_do_not_crash)
{
	unsigned char *orig = NULL, buf[256];
	int norig = 0, errors = 0;
	sqlite3 *db = corrupt_fixture(&orig, &norig);

	rng_state = 777;
	for (int i = 0; i < 400; i++) {
		int flips = 1 + (int)(rnd() % 3);
		struct result r;

		memcpy(buf, orig, (size_t)norig);
		for (int j = 0; j < flips; j++)
			buf[rnd() % (uint64_t)norig] = (unsigned char)rnd();
		set_data(db, buf, norig);
		r = run(db, i % 2 ? "SELECT * FROM tc" : "SELECT k, s FROM tc WHERE a >= 9");
		if (r.rc != SQLITE_DONE) {
			errors++;
			cr_expect(r.errmsg && strstr(r.errmsg, "columnar table tc"),
				  "mutation %d: %s", i, r.errmsg ? r.errmsg : "");
		}
		result_free(&r);
	}
	cr_assert_gt(errors, 100);
	/* garbage zone maps never prune a chunk: the right row comes back */
	set_data(db, orig, norig);
	for (int i = 0; i < 40; i++) {
		int len = (int)(rnd() % 24);

		for (int j = 0; j < len; j++)
			buf[j] = (unsigned char)rnd();
		set_blob(db, "UPDATE tc__chunk SET zone = ?1", buf, len);
		{
			struct result r = run(db, "SELECT k FROM tc WHERE a = 49");

			cr_assert_eq(r.rc, SQLITE_DONE, "%s", r.errmsg);
			result_free(&r);
		}
	}
	exec(db, "UPDATE tc__chunk SET zone = NULL");
	cr_assert_eq(same2(db, "SELECT k FROM @ WHERE a = 49", "tc", "tc"), 1);
	free(orig);
	sqlite3_close(db);
}

Test(coltab, corrupt_patches)
{
	static const struct { const char *hex, *what; int row; } bad[] = {
		{ "01090102", "column past the table", 3 },
		{ "01000102", "the key column", 3 },
		{ "01020102", "a TEXT column", 3 },
		{ "01010502", "flag 5", 3 },
		{ "02010102", "count 2, one entry", 3 },
		{ "ff01", "count 255", 3 },
		{ "0101", "cut after the column", 3 },
		{ "010101", "cut before the value", 3 },
		{ "010101ffffffffffffffffffff", "endless value varint", 3 },
		{ "", "empty", 3 },
		{ "01010102", "a row that does not exist (gap)", 4 },
	};
	unsigned char *orig = NULL;
	int norig = 0;
	sqlite3 *db = corrupt_fixture(&orig, &norig);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *sql = sqlite3_mprintf("DELETE FROM tc__patch;"
					    " INSERT INTO tc__patch VALUES (%d, x'%s')",
					    bad[i].row, bad[i].hex);

		exec(db, sql);
		sqlite3_free(sql);
		expect_corrupt(db, bad[i].what);
	}
	/* a good patch (a := 1 on row 3), and one on a key past the chunk,
	 * which no chunk reads */
	exec(db, "DELETE FROM tc__patch; INSERT INTO tc__patch VALUES (3, x'010101c801'),"
		 " (1000, x'ff')");
	{
		struct result r = run(db, "SELECT a FROM tc WHERE k = 3");

		cr_assert_eq(r.rc, SQLITE_DONE, "%s", r.errmsg);
		cr_assert_str_eq(r.text, "i100\n");
		result_free(&r);
	}
	free(orig);
	sqlite3_close(db);
}

/* --- 6. native scans --------------------------------------------------------------------------- */

/*
 * Reads every row of TABLE with a native scan and renders the columns
 * NAMES (space-separated) as run() renders a SELECT of them; TYPES has
 * one letter per column, 'i' integer or 't' text.  The result's rc is
 * SQLITE_DONE, or the scan's negative error code with ERR filled;
 * *NCHUNKS counts the chunks read.
 */
static struct result scan_render_once(sqlite3 *db, const char *path, const char *table,
				      const char *names, const char *types, int ahead,
				      struct wc_error *err, int *nchunks)
{
	struct result r = { SQLITE_DONE, NULL, NULL, 0 };
	struct wc_coltab_scan *sc = NULL;
	sqlite3_str *s = sqlite3_str_new(NULL);
	char buf[256], *save = NULL, *sql;
	int cols[WC_COLTAB_MAX_COLS], n = 0, rc;
	int64_t max_chunks;

	*nchunks = 0;
	rc = wc_coltab_scan_open(db, path, table, &sc, err);
	if (rc) {
		r.rc = rc;
		goto out;
	}
	snprintf(buf, sizeof(buf), "%s", names);
	for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		cols[n] = wc_coltab_scan_column(sc, tok);
		cr_assert_geq(cols[n], 0, "no column %s", tok);
		n++;
	}
	cr_assert_eq((size_t)n, strlen(types));
	if (ahead) {
		/* AHEAD 1: the first column named decoded ahead, the others
		 * on use; 2: all of them ahead */
		uint64_t mask = (uint64_t)1 << cols[0];

		for (int i = 0; ahead == 2 && i < n; i++)
			mask |= (uint64_t)1 << cols[i];
		setenv("WC_THREADS", "2", 1);
		cr_assert_eq(wc_coltab_scan_readahead(sc, mask), 1);
		unsetenv("WC_THREADS");
	}
	sql = sqlite3_mprintf("SELECT count(*) FROM \"%w__chunk\"", table);
	max_chunks = int_of(db, sql);
	sqlite3_free(sql);
	while ((rc = wc_coltab_scan_next(sc, err)) == 1) {
		const int64_t *v[WC_COLTAB_MAX_COLS];
		const uint8_t *nl[WC_COLTAB_MAX_COLS];
		uint32_t rows = wc_coltab_scan_rows(sc);

		/* a scan that does not advance would loop for ever */
		cr_assert_lt(*nchunks, max_chunks, "more chunks than %s holds", table);
		(*nchunks)++;
		cr_assert(rows >= 1 && rows <= WC_COLTAB_CHUNK_ROWS);
		for (int i = 0; i < n; i++) {
			rc = wc_coltab_scan_col(sc, cols[i], &v[i], &nl[i], err);
			if (rc)
				break;
		}
		if (rc)
			break;
		for (uint32_t row = 0; row < rows; row++) {
			for (int i = 0; i < n; i++) {
				if (i)
					sqlite3_str_appendchar(s, 1, '|');
				if (nl[i][row]) {
					cr_assert_null(types[i] == 't' ?
						       wc_coltab_scan_text(sc, cols[i], row) : NULL);
					sqlite3_str_appendall(s, "N");
				} else if (types[i] == 't') {
					const char *t = wc_coltab_scan_text(sc, cols[i], row);

					cr_assert_not_null(t);
					sqlite3_str_appendf(s, "t%d:%s", (int)strlen(t), t);
				} else {
					sqlite3_str_appendf(s, "i%lld", (long long)v[i][row]);
				}
			}
			sqlite3_str_appendchar(s, 1, '\n');
			r.nrows++;
		}
	}
	if (rc == 0) {
		/* the end stays the end: no second pass */
		cr_assert_eq(wc_coltab_scan_next(sc, err), 0);
		cr_assert_eq(wc_coltab_scan_next(sc, err), 0);
	} else {
		cr_assert_lt(rc, 0);
		r.rc = rc;
	}
out:
	wc_coltab_scan_close(sc);
	r.text = sqlite3_str_finish(s);
	if (!r.text)
		r.text = sqlite3_mprintf("");
	if (r.rc != SQLITE_DONE)
		r.errmsg = sqlite3_mprintf("%s", err->msg);
	return r;
}

/* scan_render_once() without and with read-ahead (on a thread, which
 * steps the scan's statements while this one reads), of one column and
 * of all: the same rows, chunks and error, which is returned. */
static struct result scan_render(sqlite3 *db, const char *path, const char *table,
				 const char *names, const char *types,
				 struct wc_error *err, int *nchunks)
{
	struct result r = scan_render_once(db, path, table, names, types, 0, err, nchunks);

	for (int ahead = 1; ahead <= 2; ahead++) {
		struct wc_error aerr = WC_ERROR_INIT;
		int achunks = 0;
		struct result a = scan_render_once(db, path, table, names, types, ahead,
						   &aerr, &achunks);

		cr_assert_eq(a.rc, r.rc);
		cr_assert_eq(a.nrows, r.nrows);
		cr_assert_eq(achunks, *nchunks, "read-ahead %d of %s: %d chunks, %d",
			     ahead, table, achunks, *nchunks);
		cr_assert_str_eq(a.text, r.text, "read-ahead scan of %s", table);
		if (r.rc != SQLITE_DONE)
			cr_assert_str_eq(a.errmsg, r.errmsg);
		result_free(&a);
		wc_error_clear(&aerr);
	}
	return r;
}

/* Asserts that the scan of TABLE (columns NAMES of TYPES) gives exactly
 * the rows of SQL.  Returns the row count. */
static int scan_same(sqlite3 *db, const char *table, const char *names,
		     const char *types, const char *sql, int want_chunks)
{
	struct wc_error err = WC_ERROR_INIT;
	int nchunks;
	struct result rs = scan_render(db, "case.db", table, names, types, &err, &nchunks);
	struct result rq = run(db, sql);
	int n = rs.nrows;

	cr_assert_eq(rs.rc, SQLITE_DONE, "scan %s: %s", table, rs.errmsg);
	cr_assert_eq(rq.rc, SQLITE_DONE, "%s: %s", sql, rq.errmsg);
	cr_assert_eq(rs.nrows, rq.nrows, "scan %s: %d rows, %s: %d", table, rs.nrows,
		     sql, rq.nrows);
	cr_assert_str_eq(rs.text, rq.text, "scan %s differs from %s", table, sql);
	if (want_chunks >= 0)
		cr_assert_eq(nchunks, want_chunks);
	result_free(&rs);
	result_free(&rq);
	return n;
}

#define BIG_NAMES "k ts a b c nn s u"
#define BIG_TYPES "iiiiiitt"

/*
 * A scan gives exactly the rows of SELECT through the module and of the
 * oracle: patched rows (in the open chunk, in t__patch, by SQL UPDATE),
 * NULLs, every kind of text; any subset of the columns, in any order.
 */
Test(coltab, scan_matches_sql_and_oracle)
{
	static struct big bg;
	struct wc_coltab_scan *sc = NULL;
	struct wc_error err = WC_ERROR_INIT;
	sqlite3 *db;

	build(&bg, 1);
	db = bg.db;
	cr_assert_eq(int_of(db, "SELECT count(*) FROM t__patch"), 9);
	cr_assert_eq(scan_same(db, "t", BIG_NAMES, BIG_TYPES, "SELECT * FROM p ORDER BY k", 3),
		     NROWS);
	cr_assert_eq(scan_same(db, "t", BIG_NAMES, BIG_TYPES, "SELECT * FROM t", 3), NROWS);
	/* a few columns only (the others stay encoded), names in any case */
	cr_assert_eq(scan_same(db, "t", "U A", "ti", "SELECT u, a FROM p ORDER BY k", 3), NROWS);
	cr_assert_eq(scan_same(db, "t", "c s c", "iti", "SELECT c, s, c FROM p ORDER BY k", 3),
		     NROWS);
	/* more patches through SQL, mirrored */
	for (int pass = 0; pass < 2; pass++) {
		char *sql = sqlite3_mprintf("UPDATE %s SET a = -7, c = NULL WHERE k %% 5 = 0"
					    " AND k > %lld; UPDATE %s SET ts = 42 WHERE k = %lld",
					    pass ? "p" : "t", (long long)bg.keys[4000],
					    pass ? "p" : "t", (long long)bg.keys[NROWS - 1]);

		exec(db, sql);
		sqlite3_free(sql);
	}
	cr_assert_gt(int_of(db, "SELECT count(*) FROM t__patch"), 1000);
	cr_assert_eq(scan_same(db, "t", BIG_NAMES, BIG_TYPES, "SELECT * FROM p ORDER BY k", 3),
		     NROWS);
	cr_assert_eq(same(db, "SELECT * FROM @"), NROWS);
	/* column numbers */
	cr_assert_eq(wc_coltab_scan_open(db, "case.db", "t", &sc, &err), 0, "%s", err.msg);
	cr_assert_eq(wc_coltab_scan_column(sc, "k"), 0);
	cr_assert_eq(wc_coltab_scan_column(sc, "nn"), NN);
	cr_assert_eq(wc_coltab_scan_column(sc, "u"), U);
	cr_assert_eq(wc_coltab_scan_column(sc, "uu"), -1);
	cr_assert_eq(wc_coltab_scan_column(sc, ""), -1);
	wc_coltab_scan_close(sc);
	wc_coltab_scan_close(NULL);
	big_free(&bg);
}

Test(coltab, scan_empty_hidden_and_missing_tables)
{
	sqlite3 *db = open_db();
	struct wc_coltab_scan *sc = NULL;
	struct wc_error err = WC_ERROR_INIT;

	small_tables(db);
	/* empty */
	cr_assert_eq(wc_coltab_scan_open(db, "case.db", "t", &sc, &err), 0, "%s", err.msg);
	cr_assert_eq(wc_coltab_scan_next(sc, &err), 0);
	wc_coltab_scan_close(sc);
	/* SQL-inserted rows: one chunk each */
	exec(db, "INSERT INTO t VALUES (1, NULL, 'x'), (5, 7, NULL), (6, -1, '')");
	cr_assert_eq(scan_same(db, "t", "k a s", "iit", "SELECT * FROM t", 3), 3);
	/* a hidden key is a column of the scan */
	exec(db, "CREATE VIRTUAL TABLE th USING wc_columnar(row INTEGER HIDDEN, utid INTEGER,"
		 " state TEXT)");
	exec(db, "INSERT INTO th VALUES (3, 'R'), (4, 'S')");
	cr_assert_eq(scan_same(db, "th", "row utid state", "iit",
			       "SELECT row, utid, state FROM th", 2), 2);
	/* missing tables */
	sc = (struct wc_coltab_scan *)&err;	/* must be reset to NULL */
	cr_assert_eq(wc_coltab_scan_open(db, "case.db", "nosuch", &sc, &err), -WC_EDB);
	cr_assert_null(sc);
	cr_assert_str_eq(err.file, "case.db");
	cr_assert(strstr(err.msg, "nosuch"), "%s", err.msg);
	wc_error_clear(&err);
	/* a plain table has columns but no chunks */
	exec(db, "CREATE TABLE plain(x INTEGER)");
	cr_assert_eq(wc_coltab_scan_open(db, "case.db", "plain", &sc, &err), -WC_EDB);
	cr_assert(strstr(err.msg, "plain"), "%s", err.msg);
	wc_error_clear(&err);
	sqlite3_close(db);
}

/* Read-ahead needs a connection that serializes its calls, and two CPUs
 * (or WC_THREADS > 1); an empty table ends at once either way. */
Test(coltab, scan_readahead_only_where_it_can)
{
	static const int flags[] = { SQLITE_OPEN_NOMUTEX, SQLITE_OPEN_FULLMUTEX,
				     SQLITE_OPEN_FULLMUTEX };
	static const char *const threads[] = { "2", "1", "2" };

	for (int i = 0; i < 3; i++) {
		sqlite3 *db = open_db_flags(flags[i]);
		struct wc_coltab_scan *sc = NULL;
		struct wc_error err = WC_ERROR_INIT;

		small_tables(db);
		cr_assert_eq(wc_coltab_scan_open(db, "case.db", "t", &sc, &err), 0, "%s", err.msg);
		setenv("WC_THREADS", threads[i], 1);
		cr_assert_eq(wc_coltab_scan_readahead(sc, 1), i == 2);
		unsetenv("WC_THREADS");
		cr_assert_eq(wc_coltab_scan_next(sc, &err), 0);
		cr_assert_eq(wc_coltab_scan_next(sc, &err), 0);
		wc_coltab_scan_close(sc);
		sqlite3_close(db);
	}
}

/*
 * Scans tc with every column decoded and compares with SELECT * FROM tc:
 * both fail or both give the same rows.  A failing scan says
 * "columnar table tc: corrupt chunk (...)" about case.db.  Returns 1 if
 * they failed.
 */
static int scan_vs_sql(sqlite3 *db, const char *what)
{
	struct wc_error err = WC_ERROR_INIT;
	int nchunks;
	struct result rs = scan_render(db, "case.db", "tc", "k a s", "iit", &err, &nchunks);
	/* a mutated dictionary string may hold a NUL byte */
	struct result rq = run2(db, "SELECT * FROM tc", 1);
	int failed = rq.rc != SQLITE_DONE;

	cr_assert_eq(rs.rc != SQLITE_DONE, failed, "%s: scan %s, SQL %s (%s)", what,
		     rs.rc == SQLITE_DONE ? "succeeds" : rs.errmsg,
		     failed ? "fails" : "succeeds", rq.errmsg ? rq.errmsg : "");
	if (failed) {
		cr_assert_eq(rs.rc, -WC_EDB, "%s: %d", what, rs.rc);
		cr_assert_eq(err.code, WC_EDB);
		cr_assert_str_eq(err.file, "case.db");
		cr_assert(strstr(err.msg, "columnar table tc: corrupt chunk ("),
			  "%s: %s", what, err.msg);
	} else {
		cr_assert_str_eq(rs.text, rq.text, "%s", what);
	}
	result_free(&rs);
	result_free(&rq);
	return failed;
}

Test(coltab, scan_corrupt_chunks_are_errors)
{
	unsigned char *orig = NULL, buf[256];
	int norig = 0, errors = 0;
	sqlite3 *db = corrupt_fixture(&orig, &norig);

	cr_assert_eq(scan_vs_sql(db, "intact"), 0);
	for (int len = 0; len < norig; len++) {
		set_data(db, orig, len);
		cr_assert_eq(scan_vs_sql(db, "truncated"), 1);
	}
	rng_state = 4242;
	for (int i = 0; i < 600; i++) {
		int flips = 1 + (int)(rnd() % 3);

		memcpy(buf, orig, (size_t)norig);
		for (int j = 0; j < flips; j++)
			buf[rnd() % (uint64_t)norig] = (unsigned char)rnd();
		set_data(db, buf, norig);
		errors += scan_vs_sql(db, "mutated");
	}
	cr_assert_gt(errors, 150);
	set_data(db, orig, norig);
	exec(db, "UPDATE tc__chunk SET n = 11");
	cr_assert_eq(scan_vs_sql(db, "n"), 1);
	exec(db, "UPDATE tc__chunk SET n = 10, last = 21");
	cr_assert_eq(scan_vs_sql(db, "last"), 1);
	exec(db, "UPDATE tc__chunk SET last = 19");
	/* bad patches; then a good one */
	exec(db, "INSERT INTO tc__patch VALUES (3, x'01020102')");
	cr_assert_eq(scan_vs_sql(db, "patch of a TEXT column"), 1);
	exec(db, "DELETE FROM tc__patch; INSERT INTO tc__patch VALUES (4, x'01010102')");
	cr_assert_eq(scan_vs_sql(db, "patch of a missing row"), 1);
	exec(db, "DELETE FROM tc__patch; INSERT INTO tc__patch VALUES (3, x'010101c801'),"
		 " (19, x'010100')");
	cr_assert_eq(scan_vs_sql(db, "good patches"), 0);
	cr_assert_eq(scan_same(db, "tc", "a", "i", "SELECT a FROM tc", 1), 10);
	cr_assert_eq(int_of(db, "SELECT a FROM tc WHERE k = 3"), 100);
	free(orig);
	sqlite3_close(db);
}

/* --- 7. hidden append-ordinal keys --------------------------------------------------------- */

static void hidden_tables(sqlite3 *db)
{
	exec(db, "CREATE VIRTUAL TABLE th USING wc_columnar(row INTEGER HIDDEN, utid INTEGER,"
		 " state TEXT)");
	exec(db, "CREATE TABLE ph(row INTEGER PRIMARY KEY, utid INTEGER, state TEXT)");
}

/* The column names of SQL's result, space-separated. */
static char *column_names(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	sqlite3_str *s = sqlite3_str_new(NULL);

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	for (int i = 0; i < sqlite3_column_count(st); i++)
		sqlite3_str_appendf(s, "%s%s", i ? " " : "", sqlite3_column_name(st, i));
	sqlite3_finalize(st);
	return sqlite3_str_finish(s);
}

static void expect_text(sqlite3 *db, const char *sql, const char *want)
{
	struct result r = run(db, sql);

	cr_assert_eq(r.rc, SQLITE_DONE, "%s: %s", sql, r.errmsg);
	cr_assert_str_eq(r.text, want, "%s", sql);
	result_free(&r);
}

/* SQL gives one row, the text WANT. */
static void expect_str(sqlite3 *db, const char *sql, const char *want)
{
	char *w = sqlite3_mprintf("t%d:%s\n", (int)strlen(want), want);

	expect_text(db, sql, w);
	sqlite3_free(w);
}

Test(coltab, hidden_key_through_sql)
{
	sqlite3 *db = open_db();
	char *names;

	hidden_tables(db);
	names = column_names(db, "SELECT * FROM th");
	cr_assert_str_eq(names, "utid state");
	sqlite3_free(names);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM pragma_table_info('th')"), 2);
	expect_str(db, "SELECT group_concat(name || ':' || type || ':' || hidden, ' ')"
		   " FROM pragma_table_xinfo('th')", "row:INTEGER:1 utid:INTEGER:0 state:TEXT:0");
	/* INSERT without the key: (largest key, or 0) + 1 */
	exec(db, "INSERT INTO th VALUES (5, 'R')");
	cr_assert_eq(sqlite3_last_insert_rowid(db), 1);
	exec(db, "INSERT INTO th(utid, state) VALUES (6, NULL), (7, 'S')");
	cr_assert_eq(sqlite3_last_insert_rowid(db), 3);
	exec(db, "INSERT INTO th(row, utid, state) VALUES (10, 8, 'D')");
	exec(db, "INSERT INTO th VALUES (9, '')");
	cr_assert_eq(sqlite3_last_insert_rowid(db), 11);
	exec(db, "INSERT INTO th(rowid, utid) VALUES (20, 10)");
	exec(db, "INSERT INTO ph VALUES (1, 5, 'R'), (2, 6, NULL), (3, 7, 'S'), (10, 8, 'D'),"
		 " (11, 9, ''), (20, 10, NULL)");
	expect_text(db, "SELECT * FROM th", "i5|t1:R\ni6|N\ni7|t1:S\ni8|t1:D\ni9|t0:\ni10|N\n");
	cr_assert_eq(same2(db, "SELECT rowid, row, utid, state FROM @", "th", "ph"), 6);
	cr_assert_eq(same2(db, "SELECT row, utid FROM @ WHERE rowid = 10", "th", "ph"), 1);
	cr_assert_eq(same2(db, "SELECT row FROM @ WHERE row > 2 ORDER BY row DESC", "th", "ph"), 4);
	cr_assert_eq(same2(db, "SELECT x.row, y.state FROM @ AS x JOIN @ AS y ON y.row = x.utid",
			   "th", "ph"), 1);
	/* an explicit key must still be above every key */
	refused(db, "INSERT INTO th(row, utid) VALUES (4, 1)", SQLITE_CONSTRAINT,
		"increasing key order");
	refused(db, "INSERT INTO th(row, utid) VALUES (20, 1)", SQLITE_CONSTRAINT,
		"increasing key order");
	refused(db, "INSERT INTO th(rowid, utid) VALUES (19, 1)", SQLITE_CONSTRAINT,
		"increasing key order");
	/* UPDATE through the hidden key */
	exec(db, "UPDATE th SET utid = 99 WHERE row = 2; UPDATE ph SET utid = 99 WHERE row = 2");
	refused(db, "UPDATE th SET row = 5 WHERE row = 3", SQLITE_CONSTRAINT, "only integer");
	cr_assert_eq(same2(db, "SELECT rowid, row, utid, state FROM @", "th", "ph"), 6);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM th__chunk"), 6);

	/* HIDDEN on other columns, in any place and case */
	exec(db, "CREATE VIRTUAL TABLE th2 USING wc_columnar(k hidden INTEGER, a INTEGER HIDDEN,"
		 " s TEXT Hidden, b)");
	expect_str(db, "SELECT group_concat(name || ':' || type || ':' || hidden, ' ')"
		   " FROM pragma_table_xinfo('th2')", "k:INTEGER:1 a:INTEGER:1 s:TEXT:1 b:INTEGER:0");
	exec(db, "INSERT INTO th2 VALUES (42); INSERT INTO th2(a, s, b) VALUES (1, 'x', 2)");
	expect_text(db, "SELECT * FROM th2", "i42\ni2\n");
	expect_text(db, "SELECT k, a, s, b FROM th2", "i1|N|N|i42\ni2|i1|t1:x|i2\n");
	sqlite3_close(db);
}

/* Appends (utid, state) through W with key KEY (or none: < 0 means
 * leave it unset), mirroring the row in ph with EXPECT_KEY. */
static void happend(sqlite3 *db, struct wc_coltab_writer *w, int64_t key, int64_t expect_key,
		    int64_t utid, const char *state)
{
	struct wc_error err = WC_ERROR_INIT;
	char *sql;

	wc_coltab_row(w);
	if (key >= 0)
		wc_coltab_set_int(w, 0, key);
	wc_coltab_set_int(w, 1, utid);
	cr_assert_eq(wc_coltab_set_text(w, 2, state, &err), 0);
	cr_assert_eq(wc_coltab_append(w, &err), 0, "%s", err.msg);
	sql = sqlite3_mprintf("INSERT INTO ph VALUES (%lld, %lld, %Q)", (long long)expect_key,
			      (long long)utid, state);
	exec(db, sql);
	sqlite3_free(sql);
}

Test(coltab, hidden_key_writer_assigns_keys)
{
	sqlite3 *db = open_db();
	struct wc_error err = WC_ERROR_INIT;
	struct wc_coltab_writer *w = NULL;
	static const char *const states[] = { "running", "runnable", NULL, "sleeping", "" };
	int64_t next = 4;

	hidden_tables(db);
	exec(db, "INSERT INTO th VALUES (1, 'a'), (2, 'b'), (3, NULL);"
		 " INSERT INTO ph VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, NULL)");
	exec(db, "BEGIN");
	cr_assert_eq(wc_coltab_writer_new(db, "case.db", "th", &w, &err), 0, "%s", err.msg);
	for (int i = 0; i < 10000; i++) {
		const char *st = states[i % 5];

		if (i == 5000) {		/* an explicit key: auto keys follow it */
			happend(db, w, 100000, 100000, i, st);
			next = 100001;
		} else if (i == 7000) {	/* explicit, the next one anyway */
			happend(db, w, next, next, i, st);
			next++;
		} else {
			happend(db, w, -1, next++, i, st);
		}
		if (i == 6000) {
			/* an explicit key below the last is refused, the
			 * writer goes on */
			wc_coltab_row(w);
			wc_coltab_set_int(w, 0, 99999);
			wc_coltab_set_int(w, 1, -1);
			cr_assert_eq(wc_coltab_append(w, &err), -WC_EDB);
			cr_assert(strstr(err.msg, "increasing key order"), "%s", err.msg);
			cr_assert_str_eq(err.file, "case.db");
			wc_error_clear(&err);
			wc_coltab_row(w);
			wc_coltab_set_int(w, 0, next - 1);	/* equal: refused too */
			wc_coltab_set_int(w, 1, -1);
			cr_assert_eq(wc_coltab_append(w, &err), -WC_EDB);
			wc_error_clear(&err);
		}
	}
	cr_assert_eq(wc_coltab_writer_rows(w), 10000);
	cr_assert_eq(wc_coltab_writer_flush(w, &err), 0, "%s", err.msg);
	wc_coltab_writer_free(w);
	exec(db, "COMMIT");
	cr_assert_eq(same2(db, "SELECT rowid, row, utid, state FROM @", "th", "ph"), 10003);
	cr_assert_eq(same2(db, "SELECT * FROM @", "th", "(SELECT utid, state FROM ph)"), 10003);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM th WHERE utid = -1"), 0);
	cr_assert_eq(int_of(db, "SELECT max(row) FROM th"), 100000 + 4999);
	cr_assert_eq(int_of(db, "SELECT row FROM th WHERE utid = 4999"), 5003);
	/* 3 one-row chunks from SQL, then 4096 + 4096 + 1808 */
	cr_assert_eq(int_of(db, "SELECT count(*) FROM th__chunk"), 6);
	/* a new writer continues after the largest key; SQL after it */
	cr_assert_eq(wc_coltab_writer_new(db, "case.db", "th", &w, &err), 0, "%s", err.msg);
	happend(db, w, -1, 105000, 77, "new");
	cr_assert_eq(wc_coltab_writer_flush(w, &err), 0, "%s", err.msg);
	wc_coltab_writer_free(w);
	exec(db, "INSERT INTO th VALUES (78, NULL); INSERT INTO ph VALUES (105001, 78, NULL)");
	cr_assert_eq(same2(db, "SELECT rowid, utid, state FROM @ WHERE row > 104990", "th", "ph"), 11);

	/* no key after INT64_MAX */
	exec(db, "INSERT INTO th(row, utid) VALUES (9223372036854775807, 0)");
	cr_assert_eq(wc_coltab_writer_new(db, "case.db", "th", &w, &err), 0, "%s", err.msg);
	wc_coltab_row(w);
	cr_assert_eq(wc_coltab_append(w, &err), -WC_EDB);
	cr_assert(strstr(err.msg, "no key after 9223372036854775807"), "%s", err.msg);
	wc_error_clear(&err);
	cr_assert_eq(wc_coltab_writer_rows(w), 0);
	wc_coltab_writer_free(w);

	/* a table with an ordinary key: explicit keys above the existing
	 * ones only */
	small_tables(db);
	exec(db, "INSERT INTO t VALUES (10, 1, 'x')");
	cr_assert_eq(wc_coltab_writer_new(db, "case.db", "t", &w, &err), 0, "%s", err.msg);
	wc_coltab_row(w);
	wc_coltab_set_int(w, 0, 10);
	cr_assert_eq(wc_coltab_append(w, &err), -WC_EDB);
	cr_assert(strstr(err.msg, "key 10 after 10"), "%s", err.msg);
	wc_error_clear(&err);
	wc_coltab_row(w);
	wc_coltab_set_int(w, 0, 11);
	cr_assert_eq(wc_coltab_append(w, &err), 0, "%s", err.msg);
	cr_assert_eq(wc_coltab_writer_flush(w, &err), 0, "%s", err.msg);
	wc_coltab_writer_free(w);
	expect_text(db, "SELECT * FROM t", "i10|i1|t1:x\ni11|N|N\n");
	sqlite3_close(db);
}

/* --- 8. clearing ------------------------------------------------------------------------------ */

Test(coltab, clear_empties_chunks_and_patches)
{
	static struct big bg;
	struct wc_error err = WC_ERROR_INIT;
	struct wc_coltab_writer *w = NULL;
	sqlite3 *db;

	build(&bg, 1);
	db = bg.db;
	cr_assert_eq(int_of(db, "SELECT count(*) FROM t__patch"), 9);
	/* inside a transaction that is rolled back: everything comes back */
	exec(db, "BEGIN");
	cr_assert_eq(wc_coltab_clear(db, "case.db", "t", &err), 0, "%s", err.msg);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM t"), 0);
	exec(db, "ROLLBACK");
	cr_assert_eq(same(db, "SELECT * FROM @"), NROWS);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM t__patch"), 9);
	/* for good */
	cr_assert_eq(wc_coltab_clear(db, "case.db", "t", &err), 0, "%s", err.msg);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM t"), 0);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM t__chunk"), 0);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM t__patch"), 0);
	cr_assert_eq(same2(db, "SELECT * FROM @", "t", "p WHERE 0"), 0);
	cr_assert_eq(wc_coltab_clear(db, "case.db", "t", &err), 0, "%s", err.msg);	/* again */
	exec(db, "INSERT INTO t(a) VALUES (5)");
	cr_assert_eq(sqlite3_last_insert_rowid(db), 1);
	/* not columnar tables */
	cr_assert_eq(wc_coltab_clear(db, "case.db", "p", &err), -WC_EDB);
	cr_assert(strstr(err.msg, "p: not a columnar table"), "%s", err.msg);
	cr_assert_str_eq(err.file, "case.db");
	wc_error_clear(&err);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM p"), NROWS);
	cr_assert_eq(wc_coltab_clear(db, "case.db", "nosuch", &err), -WC_EDB);
	cr_assert(strstr(err.msg, "nosuch: no such table"), "%s", err.msg);
	wc_error_clear(&err);

	/* a hidden key starts at 1 again, and old patches are gone */
	hidden_tables(db);
	cr_assert_eq(wc_coltab_writer_new(db, "case.db", "th", &w, &err), 0, "%s", err.msg);
	for (int i = 0; i < 5000; i++) {
		wc_coltab_row(w);
		wc_coltab_set_int(w, 1, i);
		cr_assert_eq(wc_coltab_append(w, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(wc_coltab_writer_flush(w, &err), 0, "%s", err.msg);
	wc_coltab_writer_free(w);
	exec(db, "UPDATE th SET utid = -3 WHERE row = 3");
	cr_assert_eq(int_of(db, "SELECT count(*) FROM th__patch"), 1);
	cr_assert_eq(int_of(db, "SELECT max(row) FROM th"), 5000);
	cr_assert_eq(wc_coltab_clear(db, "case.db", "th", &err), 0, "%s", err.msg);
	cr_assert_eq(wc_coltab_writer_new(db, "case.db", "th", &w, &err), 0, "%s", err.msg);
	for (int i = 0; i < 3; i++) {
		wc_coltab_row(w);
		wc_coltab_set_int(w, 1, 10 + i);
		cr_assert_eq(wc_coltab_append(w, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(wc_coltab_writer_flush(w, &err), 0, "%s", err.msg);
	wc_coltab_writer_free(w);
	expect_text(db, "SELECT rowid, row, utid FROM th", "i1|i1|i10\ni2|i2|i11\ni3|i3|i12\n");

	big_free(&bg);
}

/*
 * A database file opened again, as `waitchain sql` opens it (defensive,
 * query_only): clearing is an error that leaves the table as it was and
 * no transaction open.  The analyzer's kind of connection clears it.
 * (SQLITE_DBCONFIG_DEFENSIVE alone does not protect th__chunk: SQLite
 * 3.40 recognizes a shadow table of a database it opens by the name
 * before its last '_', "th_" here, so the "__" names are never taken for
 * shadow tables.  query_only is what makes `waitchain sql` read-only.)
 */
Test(coltab, clear_on_defensive_and_normal_connections)
{
	struct wc_error err = WC_ERROR_INIT;
	char *path = wc_test_tmpfile("clear.db");
	sqlite3 *db = NULL;

	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	hidden_tables(db);
	exec(db, "INSERT INTO th VALUES (1, 'a'), (2, 'b'), (3, NULL); UPDATE th SET utid = 7"
		 " WHERE row = 2");
	sqlite3_close(db);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL), SQLITE_OK);
	exec(db, "PRAGMA query_only = 1");
	cr_assert_eq(wc_coltab_clear(db, path, "th", &err), -WC_EDB);
	cr_assert(strstr(err.msg, "cannot clear th: "), "%s", err.msg);
	cr_assert_str_eq(err.file, path);
	wc_error_clear(&err);
	cr_assert(sqlite3_get_autocommit(db));
	expect_text(db, "SELECT rowid, utid, state FROM th", "i1|i1|t1:a\ni2|i7|t1:b\ni3|i3|N\n");
	/* the analyzer's connection */
	exec(db, "PRAGMA query_only = 0");
	cr_assert_eq(sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 0, (int *)NULL), SQLITE_OK);
	cr_assert_eq(wc_coltab_clear(db, path, "th", &err), 0, "%s", err.msg);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM th"), 0);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM th__patch"), 0);
	exec(db, "INSERT INTO th VALUES (5, 'x')");
	cr_assert_eq(sqlite3_last_insert_rowid(db), 1);
	sqlite3_close(db);
	free(path);
}

/* --- 9. look-ups on non-key columns ------------------------------------------------------------ */

static int stmt_runs;

static int count_stmt(unsigned mask, void *ctx, void *p, void *x)
{
	(void)mask, (void)ctx, (void)p, (void)x;
	stmt_runs++;
	return 0;
}

/* same2() on the columnar table T, returning in *RUNS the number of SQL
 * statements run on the connection (the query itself and every
 * statement the module runs for it) while the columnar query ran. */
static int same2_runs(sqlite3 *db, const char *sql, const char *t, const char *p, int *runs)
{
	char *qt = subst(sql, t), *qp = subst(sql, p);
	struct result rt, rp = run(db, qp);
	int n;

	stmt_runs = 0;
	cr_assert_eq(sqlite3_trace_v2(db, SQLITE_TRACE_STMT, count_stmt, NULL), SQLITE_OK);
	rt = run(db, qt);
	sqlite3_trace_v2(db, 0, NULL, NULL);
	*runs = stmt_runs;
	cr_assert_eq(rp.rc, SQLITE_DONE, "%s: %s", qp, rp.errmsg);
	cr_assert_eq(rt.rc, SQLITE_DONE, "%s: %s", qt, rt.errmsg);
	assert_same_text(qt, &rt, &rp);
	n = rt.nrows;
	result_free(&rt);
	result_free(&rp);
	sqlite3_free(qt);
	sqlite3_free(qp);
	return n;
}

#define HROWS 120000	/* 29 full chunks and one of 1216 rows */
#define SROWS 20000
#define FAR_ID 1000000000

/*
 * h / ph: a block_holder-like table, 1 to 3 holders per block (seq 1..),
 * block_id increasing with the key but for 1% of blocks written up to
 * 300 ids late and 1% of NULLs; rows of written chunks patched, one
 * block_id moved far outside every zone map.  s: SROWS outer rows whose
 * block_ids mostly increase, with misses, NULLs, random ones and the far
 * id.
 */
static sqlite3 *holder_fixture(int64_t *patched_key)
{
	struct wc_error err = WC_ERROR_INIT;
	struct wc_coltab_writer *w = NULL;
	sqlite3 *db = open_db();
	sqlite3_stmt *ins = NULL;
	int64_t block = 0, key = 0;
	char what[32];

	exec(db, "CREATE VIRTUAL TABLE h USING wc_columnar(row INTEGER HIDDEN, block_id INTEGER,"
		 " seq INTEGER, holder INTEGER, what TEXT)");
	exec(db, "CREATE TABLE ph(row INTEGER PRIMARY KEY, block_id INTEGER, seq INTEGER,"
		 " holder INTEGER, what TEXT)");
	exec(db, "CREATE TABLE s(id INTEGER PRIMARY KEY, block_id INTEGER)");
	/* the oracle's own look-ups (the checks' NOT EXISTS) */
	exec(db, "CREATE INDEX ph_block ON ph(block_id, seq)");
	exec(db, "BEGIN");
	cr_assert_eq(wc_coltab_writer_new(db, "case.db", "h", &w, &err), 0, "%s", err.msg);
	cr_assert_eq(sqlite3_prepare_v2(db, "INSERT INTO ph VALUES (?,?,?,?,?)", -1, &ins, NULL),
		     SQLITE_OK);
	rng_state = 0x5eed;
	while (key < HROWS) {
		int m = 1 + (int)(rnd() % 3);
		int64_t id = block * 2;	/* odd ids never exist */

		if (rnd() % 100 == 0 && id > 600)
			id -= 2 * (int64_t)(rnd() % 150);	/* late */
		for (int seq = 1; seq <= m && key < HROWS; seq++) {
			int null_id = rnd() % 100 == 0;
			int64_t holder = (int64_t)(rnd() % 500);

			key++;
			snprintf(what, sizeof(what), "h%lld", (long long)(holder % 37));
			wc_coltab_row(w);
			if (!null_id)
				wc_coltab_set_int(w, 1, id);
			wc_coltab_set_int(w, 2, seq);
			wc_coltab_set_int(w, 3, holder);
			cr_assert_eq(wc_coltab_set_text(w, 4, what, &err), 0);
			cr_assert_eq(wc_coltab_append(w, &err), 0, "%s", err.msg);
			sqlite3_reset(ins);
			sqlite3_bind_int64(ins, 1, key);
			if (null_id)
				sqlite3_bind_null(ins, 2);
			else
				sqlite3_bind_int64(ins, 2, id);
			sqlite3_bind_int(ins, 3, seq);
			sqlite3_bind_int64(ins, 4, holder);
			sqlite3_bind_text(ins, 5, what, -1, SQLITE_TRANSIENT);
			cr_assert_eq(sqlite3_step(ins), SQLITE_DONE);
		}
		block++;
	}
	sqlite3_finalize(ins);
	/* patches in written chunks (t__patch rows): mirrored */
	{
		int cols[1] = { 1 };
		int64_t vals[1] = { FAR_ID };
		uint8_t pres[1] = { 1 };
		char *sql;

		*patched_key = 5000;
		cr_assert_eq(wc_coltab_patch(w, 5000, 1, cols, vals, pres, &err), 0, "%s", err.msg);
		pres[0] = 0;
		cr_assert_eq(wc_coltab_patch(w, 9001, 1, cols, vals, pres, &err), 0, "%s", err.msg);
		vals[0] = 8;	/* far below the ids of its chunk */
		pres[0] = 1;
		cr_assert_eq(wc_coltab_patch(w, 70001, 1, cols, vals, pres, &err), 0, "%s", err.msg);
		sql = sqlite3_mprintf("UPDATE ph SET block_id = %d WHERE row = 5000;"
				      "UPDATE ph SET block_id = NULL WHERE row = 9001;"
				      "UPDATE ph SET block_id = 8 WHERE row = 70001", FAR_ID);
		exec(db, sql);
		sqlite3_free(sql);
	}
	cr_assert_eq(wc_coltab_writer_flush(w, &err), 0, "%s", err.msg);
	wc_coltab_writer_free(w);
	cr_assert_eq(sqlite3_prepare_v2(db, "INSERT INTO s VALUES (?, ?)", -1, &ins, NULL),
		     SQLITE_OK);
	for (int i = 0; i < SROWS; i++) {
		uint64_t r = rnd() % 100;

		sqlite3_reset(ins);
		sqlite3_bind_int(ins, 1, i);
		if (r == 0)
			sqlite3_bind_null(ins, 2);
		else if (r == 1)
			sqlite3_bind_int64(ins, 2, (int64_t)(rnd() % (uint64_t)(block * 2)));
		else if (i == SROWS / 2)
			sqlite3_bind_int(ins, 2, FAR_ID);
		else	/* ~6 ids per outer row: every third block, some odd */
			sqlite3_bind_int64(ins, 2, (int64_t)i * 6 + (int64_t)(rnd() % 3) * 2 +
					   (r == 2));
		cr_assert_eq(sqlite3_step(ins), SQLITE_DONE);
	}
	sqlite3_finalize(ins);
	exec(db, "COMMIT");
	cr_assert_eq(int_of(db, "SELECT count(*) FROM h__chunk"), 30);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM h__patch"), 3);
	return db;
}

/*
 * A join on a non-key column of 20,000 outer rows: the inner cursor is
 * filtered 20,000 times.  Its chunk directory, read once, picks the
 * chunks; only those are fetched and the decoded ones are reused.
 * Counted, not timed: the statements run must be about one per chunk,
 * not one (or one per chunk) per outer row.
 */
Test(coltab, nonkey_join_uses_chunk_directory)
{
	int64_t pk;
	sqlite3 *db = holder_fixture(&pk);
	int runs, n, matched;

	matched = (int)int_of(db, "SELECT count(*) FROM s JOIN ph ON ph.block_id = s.block_id"
			      " AND ph.seq = 1");
	cr_assert_gt(matched, SROWS / 2);
	n = same2_runs(db, "SELECT s.id, h.rowid, h.holder, h.what FROM s LEFT JOIN @ AS h"
		       " ON h.block_id = s.block_id AND h.seq = 1 ORDER BY s.id, h.rowid", "h", "ph", &runs);
	cr_assert_eq(n, (int)int_of(db, "SELECT count(*) FROM s WHERE NOT EXISTS"
				    " (SELECT 1 FROM ph WHERE ph.block_id = s.block_id"
				    " AND ph.seq = 1)") + matched);
	/* the query, the directory (2), a fetch (and a patch read for the
	 * 3 patched chunks) per chunk load: each chunk once, plus about one
	 * load per random outer id (1%).  Without the directory: at least
	 * one statement per outer row. */
	cr_assert_geq(runs, 3 + 30);
	cr_assert_lt(runs, SROWS / 20, "%d statements for %d outer rows", runs, SROWS);
	/* the same as an inner join, planner's choice of order */
	n = same2_runs(db, "SELECT s.id, h.rowid, h.seq FROM s JOIN @ AS h"
		       " ON h.block_id = s.block_id ORDER BY s.id, h.rowid", "h", "ph", &runs);
	cr_assert_gt(n, matched);
	/* the patched row: found by its new id, not by its old one */
	cr_assert_eq(samef2(db, "h", "ph", "SELECT rowid, block_id FROM @ WHERE block_id = %d",
			    FAR_ID), 1);
	cr_assert_eq(same2(db, "SELECT s.id, h.rowid FROM s CROSS JOIN @ AS h"
			   " ON h.block_id = s.block_id WHERE s.block_id > 100000000 ORDER BY 1, 2", "h", "ph"), 1);
	cr_assert_eq(same2(db, "SELECT rowid, block_id FROM @ WHERE block_id = 8 ORDER BY rowid",
			   "h", "ph"),
		     1 + (int)int_of(db, "SELECT count(*) FROM ph WHERE block_id = 8 AND row < 100"));
	sqlite3_close(db);
}

/* Many point look-ups, range and mixed constraints on non-key columns,
 * and a column that does not follow the key. */
Test(coltab, nonkey_lookups_match_oracle)
{
	int64_t pk;
	sqlite3 *db = holder_fixture(&pk);
	int runs, total = 0;

	/* the inner cursor as a look-up per outer value */
	total += same2_runs(db, "SELECT v.x, h.rowid, h.seq FROM (SELECT block_id AS x FROM s"
			    " WHERE id % 7 = 0) AS v CROSS JOIN @ AS h ON h.block_id = v.x ORDER BY 1, 2",
			    "h", "ph", &runs);
	cr_assert_lt(runs, SROWS / 7 / 10, "%d statements", runs);
	total += same2(db, "SELECT v.x, h.rowid FROM (SELECT block_id AS x FROM s ORDER BY"
		       " block_id DESC) AS v CROSS JOIN @ AS h ON h.block_id = v.x AND h.seq >= 2"
		       " ORDER BY 1, 2",
		       "h", "ph");
	total += same2(db, "SELECT v.x, h.rowid FROM (SELECT id, block_id AS x FROM s"
		       " WHERE id % 13 = 0) AS v CROSS JOIN @ AS h"
		       " ON h.block_id BETWEEN v.x AND v.x + 3 AND h.rowid > v.id * 6 ORDER BY 1, 2",
		       "h", "ph");
	total += same2(db, "SELECT v.x, h.rowid FROM (SELECT block_id AS x FROM s"
		       " WHERE id % 29 = 0) AS v CROSS JOIN @ AS h"
		       " ON h.block_id < v.x AND h.block_id > v.x - 5 AND h.rowid < 60000"
		       " ORDER BY 1, 2", "h", "ph");
	/* holder does not follow the key: every chunk is in range */
	total += same2(db, "SELECT v.x, h.rowid FROM (SELECT id AS x FROM s WHERE id < 40) AS v"
		       " CROSS JOIN @ AS h ON h.holder = v.x AND h.seq = 2 ORDER BY 1, 2", "h", "ph");
	/* the cursor switching between a key look-up and column look-ups
	 * (a MULTI-INDEX OR; with an ORDER BY SQLite 3.40 scans instead:
	 * aggregates do not depend on the order) */
	cr_assert_eq(same2(db, "SELECT count(*), sum(s.id * 1000003 + h.rowid), total(h.rowid"
			   " * h.rowid) FROM s CROSS JOIN @ AS h ON h.rowid = s.id * 6"
			   " OR h.block_id = s.block_id WHERE s.id < 3000", "h", "ph"), 1);
	cr_assert_gt(int_of(db, "SELECT count(*) FROM s CROSS JOIN ph AS h ON h.rowid = s.id * 6"
			    " OR h.block_id = s.block_id WHERE s.id < 3000"), 3000);
	cr_assert_gt(total, 15000);
	/* point look-ups, one statement each */
	for (int i = 0; i < 300; i++) {
		int64_t v = (int64_t)(rnd() % 130000);

		samef2(db, "h", "ph", "SELECT rowid, seq, holder, what FROM @ WHERE block_id = %lld"
		       " ORDER BY rowid", (long long)v);
		samef2(db, "h", "ph", "SELECT rowid FROM @ WHERE block_id = %lld AND seq = 1"
		       " AND holder > 100 ORDER BY rowid", (long long)v);
	}
	cr_assert_eq(samef2(db, "h", "ph", "SELECT rowid FROM @ WHERE block_id = %d", 7), 0);
	cr_assert_eq(same2(db, "SELECT rowid FROM @ WHERE block_id = NULL", "h", "ph"), 0);
	cr_assert_eq(same2(db, "SELECT rowid FROM @ WHERE block_id IS NULL ORDER BY 1", "h", "ph"),
		     (int)int_of(db, "SELECT count(*) FROM ph WHERE block_id IS NULL"));
	sqlite3_close(db);
}

/*
 * The table changed (SQL UPDATE, a patch) between two filters of a live
 * cursor: the cursor must not trust its chunk directory or decoded
 * chunks of before.
 */
Test(coltab, nonkey_cursor_sees_updates_between_filters)
{
	int64_t pk;
	sqlite3 *db = holder_fixture(&pk);
	sqlite3_stmt *st = NULL;
	struct result r;

	cr_assert_eq(int_of(db, "SELECT count(*) FROM ph WHERE block_id = 777777"), 0);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT v.x, h.rowid FROM (SELECT 20 AS x UNION ALL"
					" SELECT 777777 UNION ALL SELECT 20) AS v CROSS JOIN h"
					" ON h.block_id = v.x AND h.seq = 1", -1, &st, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_eq(sqlite3_column_int64(st, 0), 20);
	cr_assert_eq(sqlite3_column_int64(st, 1), int_of(db, "SELECT row FROM ph WHERE"
							 " block_id = 20 AND seq = 1"));
	/* row 40000 gets id 777777, the row of id 20 a different seq */
	exec(db, "UPDATE h SET block_id = 777777, seq = 1 WHERE rowid = 40000");
	exec(db, "UPDATE h SET seq = 5 WHERE block_id = 20 AND seq = 1");
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_column_int64(st, 0), 777777);
	cr_assert_eq(sqlite3_column_int64(st, 1), 40000);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE);	/* 20 has no seq 1 now */
	sqlite3_finalize(st);
	r = run(db, "SELECT rowid FROM h WHERE block_id = 777777");
	cr_assert_str_eq(r.text, "i40000\n");
	result_free(&r);
	sqlite3_close(db);
}

/*
 * An EQ on a non-key integer column is planned as a cheap look-up: a
 * join of a 1000-row table with a columnar one on such a column makes
 * the columnar table the inner loop, searched by the column (with the
 * cost of a scan, SQLite scanned it and built an automatic index on the
 * plain table instead).
 */
Test(coltab, nonkey_eq_is_planned_as_lookup)
{
	int64_t pk;
	sqlite3 *db = holder_fixture(&pk);
	struct result r;

	exec(db, "CREATE TABLE s1(id INTEGER PRIMARY KEY, block_id INTEGER);"
		 " INSERT INTO s1 SELECT * FROM s WHERE id < 1000; ANALYZE s1");
	r = run(db, "EXPLAIN QUERY PLAN SELECT s1.id, h.rowid FROM s1 JOIN h"
		" ON h.block_id = s1.block_id");
	cr_assert_eq(r.rc, SQLITE_DONE, "%s", r.errmsg);
	/* h searched by block_id (column 1, op 0 = EQ), inside a scan of s1 */
	cr_assert(strstr(r.text, "SCAN s1"), "%s", r.text);
	cr_assert(strstr(r.text, "SCAN h VIRTUAL TABLE INDEX 0:010,"), "%s", r.text);
	cr_assert_lt(strstr(r.text, "SCAN s1"), strstr(r.text, "SCAN h"), "%s", r.text);
	cr_assert_null(strstr(r.text, "AUTOMATIC"), "%s", r.text);
	result_free(&r);
	cr_assert_gt(same2(db, "SELECT s1.id, h.rowid FROM s1 JOIN @ AS h"
			   " ON h.block_id = s1.block_id ORDER BY 1, 2", "h", "ph"), 900);
	sqlite3_close(db);
}

/* --- 10. writer: static text, asynchronous encoding ---------------------------------------------- */

/* Static texts: more than a column's cache holds (8), and one string
 * twice at two addresses. */
static const char *const lit_state[] = {
	"running", "runnable", "sleeping", "blocked", "preempted", "waking",
	"stopped", "dead", "idle", "parked", "zombie",
};
static const char running_again[] = "running";
static const char *const lit_kind[] = { "futex", "exact", "inferred" };

enum { W_STATIC = 1, W_ASYNC = 2 };	/* how gen_rows() writes */
#define GEN_ROWS 60000

/* The key of row I of gen_rows(): a hidden ordinal with one jump. */
static int64_t gen_key(int i)
{
	return i < 30000 ? i + 1 : i + 1001;
}

/* A table of gen_rows(). */
static void gen_table(sqlite3 *db, const char *name)
{
	char *sql = sqlite3_mprintf("CREATE VIRTUAL TABLE %s USING wc_columnar(row INTEGER HIDDEN,"
				    " ts INTEGER, utid INTEGER, state TEXT, kind TEXT, ret INTEGER,"
				    " name TEXT, extra TEXT)", name);

	exec(db, sql);
	sqlite3_free(sql);
}

/* Writes row I of the generated sequence through W: HOW says whether
 * static text goes through set_static() or set_text() (from a copy). */
static void gen_row(struct wc_coltab_writer *w, int i, int how)
{
	struct wc_error err = WC_ERROR_INIT;
	uint64_t r = (uint64_t)i * 0x9e3779b97f4a7c15ULL;
	const char *state = r % 23 == 0 ? NULL
			    : r % 5 == 0 ? running_again
			    : lit_state[(r >> 20) % (i < 20000 ? 5 : 11)];
	const char *kind = lit_kind[(r >> 30) % 3];
	char name[32], extra[32], copy[32];

	wc_coltab_row(w);
	if (i == 30000)
		wc_coltab_set_int(w, 0, gen_key(i));	/* a jump; auto keys follow */
	wc_coltab_set_int(w, 1, 1000000 + (int64_t)i * 37 + (int64_t)(r >> 58));
	wc_coltab_set_int(w, 2, (int64_t)((r >> 12) % 300));
	if (how & W_STATIC) {
		cr_assert_eq(wc_coltab_set_static(w, 3, state, &err), 0, "%s", err.msg);
		/* the same column through both setters */
		if (i % 7 == 0) {
			snprintf(copy, sizeof(copy), "%s", kind);
			cr_assert_eq(wc_coltab_set_text(w, 4, copy, &err), 0, "%s", err.msg);
		} else {
			cr_assert_eq(wc_coltab_set_static(w, 4, kind, &err), 0, "%s", err.msg);
		}
	} else {
		if (state)
			snprintf(copy, sizeof(copy), "%s", state);
		cr_assert_eq(wc_coltab_set_text(w, 3, state ? copy : NULL, &err), 0, "%s", err.msg);
		cr_assert_eq(wc_coltab_set_text(w, 4, kind, &err), 0, "%s", err.msg);
	}
	if (r % 3 == 0)
		wc_coltab_set_null(w, 5);
	else if (r % 3 == 1)
		wc_coltab_set_int(w, 5, -(int64_t)(r >> 40));
	snprintf(name, sizeof(name), "n%d", (int)((r >> 16) % 1500));
	cr_assert_eq(wc_coltab_set_text(w, 6, name, &err), 0, "%s", err.msg);
	if (i >= 40000 && i < 52000) {
		/* three new strings per row: the dictionary, not the row
		 * count, ends these chunks */
		snprintf(name, sizeof(name), "u%d", i);
		snprintf(extra, sizeof(extra), "x%d", i);
		cr_assert_eq(wc_coltab_set_text(w, 6, name, &err), 0, "%s", err.msg);
		cr_assert_eq(wc_coltab_set_text(w, 7, extra, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(wc_coltab_append(w, &err), 0, "row %d: %s", i, err.msg);
}

/* Patches of gen_rows() after row I was appended: rows in the open
 * chunk, in the chunk just filled (being encoded, for an async writer),
 * and in chunks written long ago; each row once. */
static void gen_patches(struct wc_coltab_writer *w, int i, uint8_t *patched)
{
	static const int cols[2] = { 5, 1 };
	int targets[4], n = 0;

	if (i % 997 == 0)
		targets[n++] = i - 1, targets[n++] = i - 3001, targets[n++] = i - 9003;
	if ((i + 1) % 4096 == 0 && i < 40000)	/* the row that filled a chunk */
		targets[n++] = i;
	for (int t = 0; t < n; t++) {
		struct wc_error err = WC_ERROR_INIT;
		int64_t vals[2] = { 4242 + targets[t], targets[t] };
		uint8_t present[2] = { 1, (uint8_t)(targets[t] % 2) };

		if (targets[t] < 0 || patched[targets[t]])
			continue;
		patched[targets[t]] = 1;
		cr_assert_eq(wc_coltab_patch(w, gen_key(targets[t]), 2, cols, vals, present, &err),
			     0, "%s", err.msg);
	}
}

/* Fills the tables NAMES[0..N-1] with the generated rows, table j
 * written as HOW[j] says, the writers open at the same time, a row to
 * each in turn. */
static void gen_rows(sqlite3 *db, int n, const char *const *names, const int *how)
{
	struct wc_error err = WC_ERROR_INIT;
	struct wc_coltab_writer *w[4];
	uint8_t *patched[4];

	cr_assert(n <= 4);
	exec(db, "BEGIN");
	for (int j = 0; j < n; j++) {
		gen_table(db, names[j]);
		cr_assert_eq(wc_coltab_writer_new(db, "case.db", names[j], &w[j], &err), 0,
			     "%s", err.msg);
		cr_assert_eq(wc_coltab_writer_set_async(w[j], (how[j] & W_ASYNC) != 0),
			     (how[j] & W_ASYNC) != 0);
		patched[j] = calloc(GEN_ROWS, 1);
		cr_assert(patched[j]);
	}
	for (int i = 0; i < GEN_ROWS; i++)
		for (int j = 0; j < n; j++) {
			gen_row(w[j], i, how[j]);
			gen_patches(w[j], i, patched[j]);
		}
	for (int j = 0; j < n; j++) {
		int64_t vals[1] = { -1 };
		int cols[1] = { 2 };
		uint8_t present[1] = { 1 };

		cr_assert_eq(wc_coltab_writer_rows(w[j]), GEN_ROWS);
		/* a started row that is never appended is dropped */
		wc_coltab_row(w[j]);
		wc_coltab_set_int(w[j], 2, 999999);
		cr_assert_eq(wc_coltab_writer_flush(w[j], &err), 0, "%s", err.msg);
		/* the last chunk, written by the flush */
		cr_assert_eq(wc_coltab_patch(w[j], gen_key(GEN_ROWS - 2), 1, cols, vals,
					     present, &err), 0, "%s", err.msg);
		wc_coltab_writer_free(w[j]);
		free(patched[j]);
	}
	exec(db, "COMMIT");
}

/* Asserts that the columnar tables A and B are stored identically:
 * every chunk and patch row, byte for byte.  Returns the chunk count. */
static int same_storage(sqlite3 *db, const char *a, const char *b)
{
	char *ta = sqlite3_mprintf("%s__chunk", a), *tb = sqlite3_mprintf("%s__chunk", b);
	char *pa = sqlite3_mprintf("%s__patch", a), *pb = sqlite3_mprintf("%s__patch", b);
	int n = same2(db, "SELECT first, last, n, hex(zone), hex(data) FROM @ ORDER BY first",
		      ta, tb);

	cr_assert_gt(same2(db, "SELECT row, hex(data) FROM @ ORDER BY row", pa, pb), 0);
	sqlite3_free(ta);
	sqlite3_free(tb);
	sqlite3_free(pa);
	sqlite3_free(pb);
	return n;
}

Test(coltab, writer_static_text_stores_the_same_bytes)
{
	sqlite3 *db = open_db();
	static const char *const names[] = { "ta", "ts" };
	static const int how[] = { 0, W_STATIC };

	setenv("WC_THREADS", "1", 1);
	gen_rows(db, 2, names, how);
	/* 4096-row chunks, and the dictionary-cut ones of rows 40000-51999 */
	cr_assert_eq(same_storage(db, "ta", "ts"), 16);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM ts"), GEN_ROWS);
	cr_assert_gt(int_of(db, "SELECT count(*) FROM ts__chunk WHERE n < 4096"), 3);
	/* what was written reads back (spot checks; the encoding itself is
	 * covered above) */
	cr_assert_eq(int_of(db, "SELECT count(DISTINCT state) FROM ts"), 11);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM ts WHERE state IS NULL"),
		     int_of(db, "SELECT count(*) FROM ta WHERE state IS NULL"));
	cr_assert_gt(int_of(db, "SELECT count(*) FROM ts WHERE state IS NULL"), 0);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM ts WHERE utid = 999999"), 0);
	cr_assert_eq(int_of(db, "SELECT max(row) FROM ts"), gen_key(GEN_ROWS - 1));
	cr_assert_eq(int_of(db, "SELECT utid FROM ts ORDER BY row DESC LIMIT 1 OFFSET 1"), -1);
	sqlite3_close(db);
}

Test(coltab, writer_async_stores_the_same_bytes)
{
	sqlite3 *db = open_db();
	static const char *const names[] = { "sync", "async", "async_text", "async_2" };
	static const int how[] = { W_STATIC, W_STATIC | W_ASYNC, W_ASYNC, W_STATIC | W_ASYNC };

	/* three asynchronous writers open at once share the encoding
	 * thread */
	setenv("WC_THREADS", "2", 1);
	gen_rows(db, 4, names, how);
	for (int j = 1; j < 4; j++)
		cr_assert_eq(same_storage(db, "sync", names[j]), 16);
	cr_assert_eq(int_of(db, "SELECT count(*) FROM async"), GEN_ROWS);
	cr_assert_eq(same2(db, "SELECT rowid, * FROM @", "async", "sync"), GEN_ROWS);
	/* the thread is started again for later writers */
	gen_rows(db, 1, (const char *const[]){ "again" }, (const int[]){ W_ASYNC });
	cr_assert_eq(same_storage(db, "sync", "again"), 16);
	sqlite3_close(db);

	/* on a NOMUTEX connection (the caller's thread inserts) */
	db = open_db_flags(SQLITE_OPEN_NOMUTEX);
	gen_rows(db, 2, (const char *const[]){ "sync", "async" },
		 (const int[]){ W_STATIC, W_STATIC | W_ASYNC });
	cr_assert_eq(same_storage(db, "sync", "async"), 16);
	sqlite3_close(db);
}

static pthread_t test_main_thread;

/* SQL function on_main_thread(): 1 when called from test_main_thread. */
static void on_main_thread_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	(void)argv;
	sqlite3_result_int(ctx, pthread_equal(pthread_self(), test_main_thread) != 0);
}

/* The chunks of an asynchronous writer on a connection opened with FLAGS:
 * how many of the 3 were inserted from the caller's thread (a trigger
 * logs the inserting thread). */
static int chunks_inserted_by_caller(int flags)
{
	sqlite3 *db = open_db_flags(flags);
	struct wc_error err = WC_ERROR_INIT;
	struct wc_coltab_writer *w = NULL;
	int by_caller;

	test_main_thread = pthread_self();
	cr_assert_eq(sqlite3_create_function(db, "on_main_thread", 0, SQLITE_UTF8, NULL,
					     on_main_thread_fn, NULL, NULL), SQLITE_OK);
	hidden_tables(db);
	exec(db, "CREATE TABLE inserted_by(main INTEGER)");
	exec(db, "CREATE TRIGGER log AFTER INSERT ON th__chunk"
		 " BEGIN INSERT INTO inserted_by VALUES (on_main_thread()); END");
	exec(db, "BEGIN");
	cr_assert_eq(wc_coltab_writer_new(db, "case.db", "th", &w, &err), 0, "%s", err.msg);
	cr_assert_eq(wc_coltab_writer_set_async(w, 1), 1);
	for (int i = 0; i < 3 * 4096; i++) {
		wc_coltab_row(w);
		wc_coltab_set_int(w, 1, i);
		cr_assert_eq(wc_coltab_append(w, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(wc_coltab_writer_flush(w, &err), 0, "%s", err.msg);
	wc_coltab_writer_free(w);
	exec(db, "COMMIT");
	cr_assert_eq(int_of(db, "SELECT count(*) FROM inserted_by"), 3);
	cr_assert_eq(int_of(db, "SELECT sum(utid) FROM th"), 3 * 4096 * (3 * 4096 - 1) / 2);
	by_caller = (int)int_of(db, "SELECT sum(main) FROM inserted_by");
	sqlite3_close(db);
	return by_caller;
}

Test(coltab, writer_async_inserts_from_the_encoding_thread_with_a_mutex)
{
	setenv("WC_THREADS", "2", 1);
	cr_assert_eq(chunks_inserted_by_caller(SQLITE_OPEN_FULLMUTEX), 0);
	cr_assert_eq(chunks_inserted_by_caller(SQLITE_OPEN_NOMUTEX), 3);
}

/* A writer whose chunk cannot be inserted (a trigger refuses the chunk
 * of key 8193) reports it, synchronous at the append that filled the
 * chunk, asynchronous at a later append or the flush, and is broken
 * from then on: no chunk after it is inserted (also not by the encoding
 * thread, which the trigger would let through). */
static void failing_chunk_insert(int async, int flags)
{
	sqlite3 *db = open_db_flags(flags);
	struct wc_error err = WC_ERROR_INIT;
	struct wc_coltab_writer *w = NULL;
	int i, rc = 0, cols[1] = { 1 };
	int64_t vals[1] = { 0 };
	uint8_t present[1] = { 1 };

	hidden_tables(db);
	exec(db, "CREATE TRIGGER boom BEFORE INSERT ON th__chunk WHEN new.first BETWEEN 5000 AND 9000"
		 " BEGIN SELECT RAISE(ABORT, 'boom'); END");
	exec(db, "BEGIN");
	cr_assert_eq(wc_coltab_writer_new(db, "case.db", "th", &w, &err), 0, "%s", err.msg);
	cr_assert_eq(wc_coltab_writer_set_async(w, async), async);
	for (i = 0; i < 20000 && !rc; i++) {
		wc_coltab_row(w);
		wc_coltab_set_int(w, 1, i);
		rc = wc_coltab_set_static(w, 2, "s", &err);
		if (!rc)
			rc = wc_coltab_append(w, &err);
	}
	if (!rc)
		rc = wc_coltab_writer_flush(w, &err);
	cr_assert_eq(rc, -WC_EDB, "%s", err.msg);
	cr_assert(strstr(err.msg, "cannot write a chunk of th: boom"), "%s", err.msg);
	cr_assert_str_eq(err.file, "case.db");
	/* the third chunk (keys 8193..12288) is the first refused */
	if (async)
		cr_assert_geq(i, 12288);
	else
		cr_assert_eq(i, 12288);
	wc_error_clear(&err);
	wc_coltab_row(w);
	cr_assert_eq(wc_coltab_append(w, &err), -WC_EDB);
	cr_assert(strstr(err.msg, "th: an earlier chunk could not be written"), "%s", err.msg);
	wc_error_clear(&err);
	cr_assert_eq(wc_coltab_writer_flush(w, &err), -WC_EDB);
	wc_error_clear(&err);
	cr_assert_eq(wc_coltab_patch(w, 3, 1, cols, vals, present, &err), -WC_EDB);
	wc_error_clear(&err);
	wc_coltab_writer_free(w);
	exec(db, "COMMIT");
	cr_assert_eq(int_of(db, "SELECT count(*) FROM th__chunk"), 2);
	sqlite3_close(db);
}

Test(coltab, writer_failed_chunk_breaks_the_writer)
{
	setenv("WC_THREADS", "2", 1);
	failing_chunk_insert(0, 0);
	/* inserted by the encoding thread, then by the caller's */
	failing_chunk_insert(1, SQLITE_OPEN_FULLMUTEX);
	failing_chunk_insert(1, SQLITE_OPEN_NOMUTEX);
}

/* Encoding out of memory (SQLite's heap limit): on the encoding thread
 * for an asynchronous writer, reported by a later call. */
static void failing_encoding(int async, int flags)
{
	sqlite3 *db = open_db_flags(flags);
	struct wc_error err = WC_ERROR_INIT;
	struct wc_coltab_writer *w = NULL;
	int i, rc = 0;

	hidden_tables(db);
	exec(db, "BEGIN");
	cr_assert_eq(wc_coltab_writer_new(db, "case.db", "th", &w, &err), 0, "%s", err.msg);
	cr_assert_eq(wc_coltab_writer_set_async(w, async), async);
	/* a chunk of th encodes into a ~120 KiB buffer */
	sqlite3_hard_heap_limit64(sqlite3_memory_used() + 64 * 1024);
	for (i = 0; i < 20000 && !rc; i++) {
		wc_coltab_row(w);
		wc_coltab_set_int(w, 1, i);
		rc = wc_coltab_append(w, &err);
	}
	if (!rc)
		rc = wc_coltab_writer_flush(w, &err);
	sqlite3_hard_heap_limit64(0);
	cr_assert_eq(rc, -WC_ENOMEM, "%s", err.msg);
	cr_assert(strstr(err.msg, "out of memory writing th"), "%s", err.msg);
	if (!async)
		cr_assert_eq(i, 4096);
	wc_error_clear(&err);
	cr_assert_eq(wc_coltab_writer_flush(w, &err), -WC_ENOMEM);
	wc_error_clear(&err);
	wc_coltab_writer_free(w);
	exec(db, "COMMIT");
	cr_assert_eq(int_of(db, "SELECT count(*) FROM th__chunk"), 0);
	sqlite3_close(db);
}

Test(coltab, writer_encoding_out_of_memory)
{
	setenv("WC_THREADS", "2", 1);
	failing_encoding(0, 0);
	failing_encoding(1, SQLITE_OPEN_FULLMUTEX);
	failing_encoding(1, SQLITE_OPEN_NOMUTEX);
}

Test(coltab, writer_async_switch_and_free_in_flight)
{
	sqlite3 *db = open_db();
	struct wc_error err = WC_ERROR_INIT;
	struct wc_coltab_writer *w = NULL, *w2 = NULL;

	hidden_tables(db);
	exec(db, "BEGIN");
	cr_assert_eq(wc_coltab_writer_new(db, "case.db", "th", &w, &err), 0, "%s", err.msg);
	/* WC_THREADS=1: the project's one-thread switch keeps it synchronous */
	setenv("WC_THREADS", "1", 1);
	cr_assert_eq(wc_coltab_writer_set_async(w, 1), 0);
	setenv("WC_THREADS", "0", 1);
	cr_assert_eq(wc_coltab_writer_set_async(w, 1), 0);
	setenv("WC_THREADS", "2", 1);
	cr_assert_eq(wc_coltab_writer_set_async(w, 1), 1);
	cr_assert_eq(wc_coltab_writer_set_async(w, 1), 1);
	cr_assert_eq(wc_coltab_writer_set_async(w, 0), 0);
	cr_assert_eq(wc_coltab_writer_set_async(w, 1), 1);
	cr_assert_eq(wc_coltab_writer_new(db, "case.db", "th", &w2, &err), 0, "%s", err.msg);
	cr_assert_eq(wc_coltab_writer_set_async(w2, 1), 1);
	wc_coltab_writer_free(w2);	/* the thread stays for w */
	/* freed with chunks in flight and one open: nothing leaks, nothing
	 * is written after the free */
	for (int i = 0; i < 3 * 4096 + 100; i++) {
		wc_coltab_row(w);
		wc_coltab_set_int(w, 1, i);
		cr_assert_eq(wc_coltab_set_static(w, 2, i % 2 ? "a" : "b", &err), 0, "%s", err.msg);
		cr_assert_eq(wc_coltab_append(w, &err), 0, "%s", err.msg);
	}
	wc_coltab_writer_free(w);
	cr_assert_leq(int_of(db, "SELECT count(*) FROM th__chunk"), 3);
	exec(db, "COMMIT");
	sqlite3_close(db);
}

/*
 * g / pg: a stack_frame-like table whose column id never decreases with
 * the key (ids of 1 to 40 rows, runs crossing chunk boundaries, gaps of
 * missing ids), and v, an unsorted column.  APPEND more rows with ids
 * from FROM_ID on through a new bulk writer, mirrored in pg, in a
 * transaction of their own with OWN_TX.
 */
static void sorted_rows(sqlite3 *db, int64_t nrows, int64_t from_id, int own_tx)
{
	struct wc_error err = WC_ERROR_INIT;
	struct wc_coltab_writer *w = NULL;
	sqlite3_stmt *ins = NULL;
	int64_t id = from_id, left = 0;

	if (own_tx)
		exec(db, "BEGIN");
	cr_assert_eq(wc_coltab_writer_new(db, "case.db", "g", &w, &err), 0, "%s", err.msg);
	cr_assert_eq(sqlite3_prepare_v2(db, "INSERT INTO pg(id, v) VALUES (?,?)", -1, &ins,
					NULL), SQLITE_OK);
	for (int64_t k = 0; k < nrows; k++) {
		int64_t v = (int64_t)(rnd() % 1000);

		if (left == 0) {
			id += 1 + (rnd() % 4 == 0 ? (int64_t)(rnd() % 3) * 2 : 0);
			left = 1 + (int64_t)(rnd() % (rnd() % 50 == 0 ? 6000 : 40));
		}
		left--;
		wc_coltab_row(w);
		wc_coltab_set_int(w, 1, id);
		wc_coltab_set_int(w, 2, v);
		cr_assert_eq(wc_coltab_append(w, &err), 0, "%s", err.msg);
		sqlite3_reset(ins);
		sqlite3_bind_int64(ins, 1, id);
		sqlite3_bind_int64(ins, 2, v);
		cr_assert_eq(sqlite3_step(ins), SQLITE_DONE);
	}
	sqlite3_finalize(ins);
	cr_assert_eq(wc_coltab_writer_flush(w, &err), 0, "%s", err.msg);
	wc_coltab_writer_free(w);
	if (own_tx)
		exec(db, "COMMIT");
}

/* pg.id of row ROW. */
static int64_t id_of_row(sqlite3 *db, int64_t row)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "SELECT id FROM pg WHERE row = %lld", (long long)row);
	return int_of(db, sql);
}

/*
 * Look-ups on a column that grows with the rows binary-search the chunk
 * directory instead of walking it: every comparison, at chunk
 * boundaries, inside long runs of one id, in gaps and past both ends,
 * gives the plain table's rows.
 */
Test(coltab, sorted_column_lookups_match_oracle)
{
	sqlite3 *db = open_db();
	int64_t maxid;

	exec(db, "CREATE VIRTUAL TABLE g USING wc_columnar(row INTEGER HIDDEN, id INTEGER,"
		 " v INTEGER)");
	exec(db, "CREATE TABLE pg(row INTEGER PRIMARY KEY, id INTEGER, v INTEGER)");
	rng_state = 0xfeed;
	sorted_rows(db, 50000, 0, 1);
	cr_assert_gt(int_of(db, "SELECT count(*) FROM g__chunk"), 10);
	maxid = int_of(db, "SELECT max(id) FROM pg");
	/* the ids at both ends of every chunk, and their neighbours */
	for (int64_t first = 1; first < 50000; first += 4096) {
		int64_t at[2] = { id_of_row(db, first),
				  id_of_row(db, first + 4095 < 50000 ? first + 4095 : 50000) };

		for (int e = 0; e < 2; e++)
			for (int64_t d = -1; d <= 1; d++) {
				long long x = (long long)(at[e] + d);

				samef2(db, "g", "pg", "SELECT rowid, v FROM @ WHERE id = %lld"
				       " ORDER BY 1", x);
				samef2(db, "g", "pg", "SELECT count(*), sum(v) FROM @ WHERE id > %lld", x);
				samef2(db, "g", "pg", "SELECT count(*), sum(v) FROM @ WHERE id >= %lld", x);
				samef2(db, "g", "pg", "SELECT count(*), sum(v) FROM @ WHERE id < %lld", x);
				samef2(db, "g", "pg", "SELECT count(*), sum(v) FROM @ WHERE id <= %lld", x);
				samef2(db, "g", "pg", "SELECT rowid FROM @ WHERE id BETWEEN %lld AND %lld"
				       " AND v < 500 ORDER BY 1", x - 3, x + 3);
			}
	}
	cr_assert_eq(samef2(db, "g", "pg", "SELECT rowid FROM @ WHERE id = %lld",
			    (long long)maxid + 1), 0);
	cr_assert_eq(samef2(db, "g", "pg", "SELECT rowid FROM @ WHERE id = %d", -5), 0);
	cr_assert_eq(samef2(db, "g", "pg", "SELECT rowid FROM @ WHERE id < %d", 1), 0);
	/* the unsorted column is walked */
	samef2(db, "g", "pg", "SELECT rowid FROM @ WHERE v = %d ORDER BY 1", 17);
	/* a look-up per outer value, in and out of id order */
	same2(db, "SELECT x.id, g.rowid FROM (SELECT DISTINCT id FROM pg WHERE id % 5 = 0"
	      " ORDER BY id DESC) AS x CROSS JOIN @ AS g ON g.id = x.id ORDER BY 1, 2", "g", "pg");
	sqlite3_close(db);
}

/*
 * The chunk directory and the decoded chunks a table keeps between
 * statements follow every kind of write: rows appended by the bulk
 * writer (which makes the column unsorted here), a patch, an SQL
 * UPDATE, and a commit by another connection.
 */
Test(coltab, cached_directory_and_chunks_follow_writes)
{
	struct wc_error err = WC_ERROR_INIT;
	struct wc_coltab_writer *w = NULL;
	char *path = wc_test_tmpfile("cache.db");
	sqlite3 *db = NULL, *other = NULL;
	int cols[1] = { 1 };
	int64_t vals[1] = { 999999 };
	uint8_t pres[1] = { 1 };

	remove(path);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	exec(db, "CREATE VIRTUAL TABLE g USING wc_columnar(row INTEGER HIDDEN, id INTEGER,"
		 " v INTEGER)");
	exec(db, "CREATE TABLE pg(row INTEGER PRIMARY KEY, id INTEGER, v INTEGER)");
	rng_state = 0xcafe;
	sorted_rows(db, 20000, 0, 1);
	/* within one transaction (the database's data version does not
	 * move): cached directory (sorted id) and chunks of a look-up, then
	 * the bulk writer appends ids that restart low */
	exec(db, "BEGIN");
	samef2(db, "g", "pg", "SELECT rowid, v FROM @ WHERE id = %d ORDER BY 1", 300);
	samef2(db, "g", "pg", "SELECT rowid, v FROM @ WHERE id = %d ORDER BY 1", 301);
	sorted_rows(db, 9000, 250, 0);
	cr_assert_gt(samef2(db, "g", "pg", "SELECT rowid, v FROM @ WHERE id = %d ORDER BY 1",
			    300), 1);
	/* a patch through the writer, of a row in a chunk looked up before */
	samef2(db, "g", "pg", "SELECT rowid, v FROM @ WHERE id = %lld ORDER BY 1",
	       (long long)id_of_row(db, 10));
	cr_assert_eq(wc_coltab_writer_new(db, "case.db", "g", &w, &err), 0, "%s", err.msg);
	cr_assert_eq(wc_coltab_patch(w, 10, 1, cols, vals, pres, &err), 0, "%s", err.msg);
	cr_assert_eq(wc_coltab_writer_flush(w, &err), 0, "%s", err.msg);
	wc_coltab_writer_free(w);
	exec(db, "UPDATE pg SET id = 999999 WHERE row = 10");
	cr_assert_eq(samef2(db, "g", "pg", "SELECT rowid FROM @ WHERE id = %d", 999999), 1);
	samef2(db, "g", "pg", "SELECT rowid, v FROM @ WHERE id = %lld ORDER BY 1",
	       (long long)id_of_row(db, 11));
	exec(db, "COMMIT");
	/* an SQL UPDATE */
	exec(db, "UPDATE g SET v = 4242 WHERE rowid = 12");
	exec(db, "UPDATE pg SET v = 4242 WHERE row = 12");
	samef2(db, "g", "pg", "SELECT rowid, v FROM @ WHERE id = %lld ORDER BY 1",
	       (long long)id_of_row(db, 12));
	/* another connection's commit */
	cr_assert_eq(sqlite3_open(path, &other), SQLITE_OK);
	exec(other, "INSERT INTO g(id, v) VALUES (77, 1), (77, 2);"
		    "INSERT INTO pg(row, id, v) VALUES (29001, 77, 1), (29002, 77, 2)");
	sqlite3_close(other);
	cr_assert_geq(samef2(db, "g", "pg", "SELECT rowid, v FROM @ WHERE id = %d ORDER BY 1",
			     77), 2);
	sqlite3_close(db);
	remove(path);
	free(path);
}
