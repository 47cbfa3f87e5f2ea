/*
 * test_damaged.c - a corpus of damaged captures must never crash, hang,
 * or pass for complete.
 *
 * tests/damaged/gen_damaged.py writes ~90 damaged copies of small samples
 * into $WC_TMP/corpus at test time (deterministic seeds; nothing is
 * committed): perf.data cut in the header, attributes, records, inside a
 * COMPRESSED record and in the feature sections, sizes set to 0 and to
 * 2^60, sections pointing past the end, record sizes 0/4/65535, bit flips;
 * pipe-mode perf.data cuts; trace.dat (v7 zstd, v6) cuts and flips;
 * zstd/gzip containers cut and corrupt.  manifest.tsv says what each is
 * (see the generator).  For each one, `waitchain import` runs under
 * `timeout 60` (a timeout is a failure) and:
 *   - strict: exit 1 with exactly one stderr line "waitchain: FILE: ..."
 *     and no output database (bit flips may also import: exit 0);
 *   - --salvage: exit 0 with capture.truncated = 1 and, for every event
 *     table, rows equal to the first N rows (by seq) of the intact
 *     import's same table (futex: every complete call equals the intact
 *     row; stacks a subset), or exit 1 with one line and no database;
 *   - no sanitizer report in either run (CI runs this test under ASan).
 * Absurd-size cases also run under a 1 GiB address-space limit (not under
 * ASan, which reserves terabytes of shadow): they must be refused, not
 * allocated.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wc_test.h"

#if defined(__SANITIZE_ADDRESS__)
#define WC_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WC_UNDER_ASAN 1
#endif
#endif
#ifndef WC_UNDER_ASAN
#define WC_UNDER_ASAN 0
#endif

struct dcase {
	char name[128], kind[16], sample[128], what[256];
};

static struct dcase *cases;
static size_t ncases;
static char *corpus;

/* Generates the corpus once per process and reads the manifest. */
static void load_corpus(void)
{
	struct wc_run r;
	char *man, *line, *save = NULL;
	char *gen = wc_test_path("%s/tests/damaged/gen_damaged.py", wc_test_source());

	corpus = wc_test_path("%s/corpus", wc_test_tmp());
	{
		char *const argv[] = { "python3", gen, (char *)wc_test_samples(),
				       corpus, NULL };
		cr_assert_eq(wc_run_program(&r, NULL, "python3", argv), 0);
		cr_assert_eq(r.status, 0, "generator failed: %s", r.err);
		wc_run_free(&r);
	}
	free(gen);
	{
		char *mp = wc_test_path("%s/manifest.tsv", corpus);

		man = wc_test_read_file(mp, NULL);
		free(mp);
	}
	cr_assert(man);
	cases = calloc(256, sizeof(*cases));
	for (line = strtok_r(man, "\n", &save); line && ncases < 256;
	     line = strtok_r(NULL, "\n", &save)) {
		struct dcase *c = &cases[ncases];

		if (sscanf(line, "%127[^\t]\t%15[^\t]\t%127[^\t]\t%255[^\n]",
			   c->name, c->kind, c->sample, c->what) == 4)
			ncases++;
	}
	free(man);
	cr_assert_geq(ncases, 40, "only %zu cases", ncases);
}

static void free_corpus(void)
{
	free(cases);
	free(corpus);
}

/* A clean failure: exactly one line, "waitchain: ", no sanitizer text. */
static void expect_one_line(const struct dcase *c, const struct wc_run *r,
			    const char *mode)
{
	cr_expect_eq(wc_count_lines(r->err), 1,
		     "%s [%s, %s]: %d stderr lines:\n%s", c->name, c->what,
		     mode, wc_count_lines(r->err), r->err);
	cr_expect(strncmp(r->err, "waitchain: ", 11) == 0,
		  "%s [%s]: stderr: %s", c->name, mode, r->err);
}

static void expect_no_sanitizer(const struct dcase *c, const struct wc_run *r)
{
	cr_expect(!strstr(r->err, "Sanitizer") && !strstr(r->err, "runtime error"),
		  "%s [%s]: sanitizer report:\n%s", c->name, c->what, r->err);
}

/* Runs `timeout 60 waitchain import CASE -o OUT [flags]`. */
static void run_import(struct wc_run *r, const char *capture, const char *out,
		       const char *flag1, const char *flag2)
{
	char *const argv[] = { "timeout", "60", (char *)wc_test_bin(), "import",
			       (char *)capture, "-o", (char *)out,
			       (char *)flag1, (char *)flag2, NULL };
	cr_assert_eq(wc_run_program(r, NULL, "timeout", argv), 0);
}

TestSuite(damaged, .init = load_corpus, .fini = free_corpus, .timeout = 800);

Test(damaged, strict_import_fails_cleanly)
{
	for (size_t i = 0; i < ncases; i++) {
		const struct dcase *c = &cases[i];
		char *cap = wc_test_path("%s/%s", corpus, c->name);
		char *out = wc_test_tmpfile("strict.db");
		struct wc_run r;

		run_import(&r, cap, out, "--no-analyze", "-q");
		cr_expect_neq(r.status, 124, "%s [%s]: timed out", c->name, c->what);
		expect_no_sanitizer(c, &r);
		if (strcmp(c->kind, "flip") == 0) {
			cr_expect(r.status == 0 || r.status == 1,
				  "%s [%s]: exit %d: %s", c->name, c->what,
				  r.status, r.err);
		} else {
			cr_expect_eq(r.status, 1, "%s [%s]: exit %d: %s", c->name,
				     c->what, r.status, r.err);
		}
		if (r.status == 1) {
			expect_one_line(c, &r, "strict");
			cr_expect(access(out, F_OK) != 0,
				  "%s: failed import left %s", c->name, out);
		}
		wc_run_free(&r);
		free(cap);
		free(out);
	}
}

/* The intact import of SAMPLE (cached per process). */
static const char *intact_db(const char *sample)
{
	static char names[16][128], *paths[16];
	static int n;
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], sample) == 0)
			return paths[i];
	cr_assert_lt(n, 16);
	{
		char *cap = wc_test_path("%s/%s", wc_test_samples(), sample);
		char tag[160];
		struct wc_run r;

		snprintf(tag, sizeof(tag), "intact-%d.db", n);
		paths[n] = wc_test_tmpfile(tag);
		run_import(&r, cap, paths[n], "--no-analyze", "-q");
		cr_assert_eq(r.status, 0, "intact %s: %s", sample, r.err);
		wc_run_free(&r);
		free(cap);
	}
	snprintf(names[n], sizeof(names[n]), "%s", sample);
	return paths[n++];
}

static int64_t q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
		     "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Every table of SALVAGED is a prefix of INTACT's. */
static void expect_prefix(const struct dcase *c, const char *salvaged,
			  const char *intact)
{
	static const char *const tables[] = {
		"sched_switch", "sched_waking", "sched_wakeup",
		"sched_wakeup_new", "sched_process_fork", "sched_process_exit",
		"task_rename", "kvm_event",
	};
	sqlite3 *db = NULL;
	char sql[1024];

	cr_assert_eq(sqlite3_open_v2(salvaged, &db, SQLITE_OPEN_READONLY, NULL),
		     SQLITE_OK);
	sqlite3_exec(db, "PRAGMA main.query_only = 1", NULL, NULL, NULL);
	{
		sqlite3_stmt *st = NULL;

		cr_assert_eq(sqlite3_prepare_v2(db, "ATTACH ?1 AS i", -1, &st, NULL), SQLITE_OK);
		sqlite3_bind_text(st, 1, intact, -1, SQLITE_STATIC);
		cr_assert_eq(sqlite3_step(st), SQLITE_DONE, "attach: %s",
			     sqlite3_errmsg(db));
		sqlite3_finalize(st);
	}
	cr_expect_eq(q_int(db, "SELECT value = '1' FROM main.capture WHERE key = 'truncated'"),
		     1, "%s: salvaged database not marked truncated", c->name);
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		int64_t n, bad;

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM main.%s", tables[t]);
		n = q_int(db, sql);
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM (SELECT * FROM main.%s EXCEPT "
			 "SELECT * FROM (SELECT * FROM i.%s ORDER BY seq LIMIT %lld))",
			 tables[t], tables[t], (long long)n);
		bad = q_int(db, sql);
		cr_expect_eq(bad, 0, "%s [%s]: %lld of %lld %s rows are not the "
			     "first rows of the intact import", c->name, c->what,
			     (long long)bad, (long long)n, tables[t]);
	}
	cr_expect_eq(q_int(db, "SELECT count(*) FROM (SELECT * FROM main.futex "
			       "WHERE exit_seq IS NOT NULL EXCEPT SELECT * FROM i.futex)"),
		     0, "%s: complete futex calls differ from the intact import", c->name);
	cr_expect_eq(q_int(db, "SELECT count(*) FROM (SELECT id, enter_seq, tid, "
			       "uaddr, op, val FROM main.futex EXCEPT SELECT id, "
			       "enter_seq, tid, uaddr, op, val FROM i.futex)"),
		     0, "%s: futex calls differ from the intact import", c->name);
	cr_expect_eq(q_int(db, "SELECT count(*) FROM (SELECT * FROM main.stack "
			       "EXCEPT SELECT * FROM i.stack)"),
		     0, "%s: stacks differ from the intact import", c->name);
	sqlite3_close(db);
}

Test(damaged, salvage_keeps_a_marked_prefix)
{
	int salvaged = 0, with_rows = 0;

	for (size_t i = 0; i < ncases; i++) {
		const struct dcase *c = &cases[i];
		char *cap, *out;
		struct wc_run r;

		if (strcmp(c->kind, "flip") == 0)
			continue;
		cap = wc_test_path("%s/%s", corpus, c->name);
		out = wc_test_tmpfile("salvage.db");
		/* analysis included: the analyzer must cope with cut data */
		run_import(&r, cap, out, "--salvage", "-q");
		cr_expect_neq(r.status, 124, "%s [%s]: timed out", c->name, c->what);
		expect_no_sanitizer(c, &r);
		cr_expect(r.status == 0 || r.status == 1, "%s [%s]: exit %d: %s",
			  c->name, c->what, r.status, r.err);
		if (r.status == 1) {
			expect_one_line(c, &r, "salvage");
			cr_expect(access(out, F_OK) != 0,
				  "%s: failed import left %s", c->name, out);
		} else if (r.status == 0) {
			salvaged++;
			if (wc_test_sql_int(out, "SELECT count(*) FROM sched_switch", 0, NULL) > 0)
				with_rows++;
			expect_prefix(c, out, intact_db(c->sample));
		}
		wc_run_free(&r);
		free(cap);
		free(out);
	}
	/* the corpus must exercise salvage for real */
	cr_expect_geq(salvaged, 15, "only %d salvaged imports", salvaged);
	cr_expect_geq(with_rows, 1, "no salvaged import kept sched_switch rows");
}

/* Absurd sizes are refused before anything is allocated: the same
 * imports succeed in failing under a 1 GiB address-space limit. */
Test(damaged, absurd_sizes_refused_under_rlimit)
{
	int n = 0;

	if (WC_UNDER_ASAN)
		cr_skip_test("ASan reserves more address space than the limit");
	for (size_t i = 0; i < ncases; i++) {
		const struct dcase *c = &cases[i];
		char *cmd, *out;
		struct wc_run r;

		if (strcmp(c->kind, "limit") != 0)
			continue;
		out = wc_test_tmpfile("limit.db");
		cmd = wc_test_path("ulimit -v 1048576 && exec timeout 60 '%s' import "
				   "'%s/%s' -o '%s' --no-analyze -q",
				   wc_test_bin(), corpus, c->name, out);
		{
			char *const argv[] = { "sh", "-c", cmd, NULL };

			cr_assert_eq(wc_run_program(&r, NULL, "sh", argv), 0);
		}
		cr_expect_eq(r.status, 1, "%s [%s]: exit %d: %s", c->name, c->what,
			     r.status, r.err);
		expect_one_line(c, &r, "rlimit");
		cr_expect(!strstr(r.err, "out of memory"),
			  "%s: tried to allocate what it claims: %s", c->name, r.err);
		wc_run_free(&r);
		free(cmd);
		free(out);
		n++;
	}
	cr_expect_geq(n, 6);
}
