/*
 * test_threads.c - an import on two threads (decode | insert, src/db_pipe.c)
 * stores exactly what the single-threaded import stores.
 *
 * Each sample is imported with WC_THREADS=1 and WC_THREADS=2 (--no-analyze)
 * and every table is reduced to a digest: row count, the sum of every
 * integer column, and an FNV-1a hash of every value of every row in a
 * fixed order.  The digests must be equal table by table.  capture rows
 * that record the import itself (imported_at, import_seconds) are left out.
 * Samples cover perf.data without stacks, with stacks (deduplicated and
 * symbolized on the importer's thread, also with a tiny stack cache),
 * lost events, trace.dat with several buffers, and trace.dat with stacks
 * read in process (the pipe turns synchronous at the first stack).
 *
 * The same check holds between a trace.dat read by the sandbox's two
 * forked children (their events merged here), by one child
 * (WC_SANDBOX=1) and in process (WC_SANDBOX=0): stacks, zstd sections,
 * several buffers, --buffer, ring-buffer overruns, lost events and
 * hostile names.
 *
 * And between `waitchain analyze` on one thread and on several (chunks
 * encoded and inserted by the encoding thread, event tables read ahead):
 * every table, the analysis keys that time the run left out.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wc_test.h"

struct digest {
	char table[64];
	int64_t rows;
	uint64_t int_sum;
	uint64_t hash;
};

static void fnv(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		*h ^= b[i];
		*h *= 0x100000001b3ULL;
	}
}

/* Digests of every table of DB into *OUT (caller frees); returns count. */
static size_t digest_db(const char *db_path, struct digest **out)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *tables = NULL;
	size_t n = 0, cap = 64;
	struct digest *d = calloc(cap, sizeof(*d));

	cr_assert_not_null(d);
	cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE"
					" type = 'table' ORDER BY name", -1, &tables,
					NULL), SQLITE_OK);
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(tables, 0);
		char sql[512];
		sqlite3_stmt *st = NULL;
		struct digest *t;
		int ncol;

		cr_assert_lt(n, cap);
		t = &d[n++];
		snprintf(t->table, sizeof(t->table), "%s", name);
		t->hash = 0xcbf29ce484222325ULL;
		/* every column, in an order that does not depend on rowids */
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"%s", name,
			 strcmp(name, "capture") == 0 ?
			 " WHERE key NOT IN ('imported_at', 'import_seconds', 'uncompressed_copy_bytes') ORDER BY key" :
			 strcmp(name, "analysis") == 0 ?
			 " WHERE key NOT IN ('analyze_seconds', 'analyze_cpu_seconds',"
			 " 'analyzed_at', 'events_per_second', 'events_per_cpu_second',"
			 " 'phase_seconds') ORDER BY key" :
			 " ORDER BY 1, 2, 3");
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
			/* tables with fewer than three columns */
			snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY 1", name);
			cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
				     "%s", sqlite3_errmsg(db));
		}
		ncol = sqlite3_column_count(st);
		while (sqlite3_step(st) == SQLITE_ROW) {
			t->rows++;
			for (int c = 0; c < ncol; c++) {
				int type = sqlite3_column_type(st, c);

				fnv(&t->hash, &type, sizeof(type));
				if (type == SQLITE_INTEGER) {
					int64_t v = sqlite3_column_int64(st, c);

					t->int_sum += (uint64_t)v;
					fnv(&t->hash, &v, sizeof(v));
				} else if (type != SQLITE_NULL) {
					const void *b = sqlite3_column_blob(st, c);

					fnv(&t->hash, b, (size_t)sqlite3_column_bytes(st, c));
				}
			}
		}
		sqlite3_finalize(st);
	}
	sqlite3_finalize(tables);
	sqlite3_close(db);
	*out = d;
	return n;
}

/* Imports CAP into OUT with VAR=VALUE in the environment (and ARG). */
static void import_with(const char *cap, const char *out, const char *var,
			const char *value, const char *arg)
{
	struct wc_run r;

	setenv(var, value, 1);
	cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", out, "--force", "-q",
			    "--no-analyze", arg, NULL), 0);
	unsetenv(var);
	cr_assert_eq(r.status, 0, "%s=%s import of %s: %s", var, value, cap, r.err);
	wc_run_free(&r);
}

/* FILE of SAMPLE imported with VAR=A and with VAR=B gives the same
 * database, table by table (ARG: an extra import argument or NULL). */
static void same_both_ways_with(const char *sample, const char *file,
				const char *var, const char *va,
				const char *vb, const char *arg)
{
	char *cap = wc_test_sample(sample, file);
	char *one = wc_test_tmpfile("t1.db");
	char *two = wc_test_tmpfile("t2.db");
	struct digest *a, *b;
	size_t na, nb;
	int64_t events = 0;

	import_with(cap, one, var, va, arg);
	import_with(cap, two, var, vb, arg);
	na = digest_db(one, &a);
	nb = digest_db(two, &b);
	cr_assert_eq(na, nb);
	for (size_t i = 0; i < na; i++) {
		cr_expect_str_eq(a[i].table, b[i].table);
		cr_expect_eq(a[i].rows, b[i].rows, "%s %s: %" PRId64 " rows vs %" PRId64,
			     sample, a[i].table, a[i].rows, b[i].rows);
		cr_expect_eq(a[i].int_sum, b[i].int_sum, "%s %s: integer sums differ",
			     sample, a[i].table);
		cr_expect_eq(a[i].hash, b[i].hash, "%s %s: contents differ",
			     sample, a[i].table);
		if (strncmp(a[i].table, "sched_", 6) == 0)
			events += a[i].rows;
	}
	cr_expect_gt(events, 0, "%s: no events imported", sample);
	free(a);
	free(b);
	free(cap);
	free(one);
	free(two);
}

static void same_both_ways(const char *sample, const char *file)
{
	same_both_ways_with(sample, file, "WC_THREADS", "1", "2", NULL);
}

/* Two children, one child and in-process trace.dat imports agree. */
static void same_sandboxed(const char *sample, const char *arg)
{
	same_both_ways_with(sample, "capture.trace.dat", "WC_SANDBOX", "2",
			    "0", arg);
	same_both_ways_with(sample, "capture.trace.dat", "WC_SANDBOX", "1",
			    "0", arg);
}

/* FILE of SAMPLE imported once, then analyzed with WC_THREADS=1 and =2:
 * the same tables, with at least MIN_CHAINS chain rows. */
static void analyzed_both_ways(const char *sample, const char *file,
			       int64_t min_chains)
{
	char *cap = wc_test_sample(sample, file);
	char *one = wc_test_tmpfile("a1.db");
	char *two = wc_test_tmpfile("a2.db");
	const char *threads[2] = { "1", "2" };
	struct digest *d[2];
	size_t n[2];
	struct wc_run r;

	import_with(cap, one, "WC_THREADS", "2", NULL);
	cr_assert_eq(wc_test_copy_file(one, two, SIZE_MAX), 0);
	for (int k = 0; k < 2; k++) {
		setenv("WC_THREADS", threads[k], 1);
		cr_assert_eq(wc_run(&r, NULL, "analyze", k ? two : one, NULL), 0);
		unsetenv("WC_THREADS");
		cr_assert_eq(r.status, 0, "analyze of %s: %s", sample, r.err);
		wc_run_free(&r);
		n[k] = digest_db(k ? two : one, &d[k]);
	}
	cr_assert_eq(n[0], n[1]);
	for (size_t i = 0; i < n[0]; i++) {
		cr_expect_str_eq(d[0][i].table, d[1][i].table);
		cr_expect_eq(d[0][i].rows, d[1][i].rows, "%s %s: %" PRId64 " rows vs %" PRId64,
			     sample, d[0][i].table, d[0][i].rows, d[1][i].rows);
		cr_expect_eq(d[0][i].hash, d[1][i].hash, "%s %s: contents differ",
			     sample, d[0][i].table);
		if (strcmp(d[0][i].table, "chain") == 0)
			cr_expect_geq(d[0][i].rows, min_chains, "%s: chains", sample);
	}
	free(d[0]);
	free(d[1]);
	free(cap);
	free(one);
	free(two);
}

Test(threads, analysis_perf_data)
{
	analyzed_both_ways("bql-v6", "capture.perf.data", 1000);
	analyzed_both_ways("bql-stacks", "capture.perf.data", 1000);
	analyzed_both_ways("lossy", "capture.perf.data", 0);
}

Test(threads, analysis_trace_dat)
{
	analyzed_both_ways("bql-seed5", "capture.trace.dat", 1000);
	analyzed_both_ways("multibuf", "capture.trace.dat", 0);
}

Test(threads, perf_data_no_stacks)
{
	same_both_ways("bql-zstd", "capture.perf.data");
}

Test(threads, perf_data_stacks)
{
	same_both_ways("bql-stacks", "capture.perf.data");
}

/* Two stacks per cache generation: stacks are dropped and defined again
 * under new ids, by the pipe's dedup on the importer's thread as by the
 * writer's own. */
Test(threads, perf_data_stacks_evicted)
{
	setenv("WAITCHAIN_STACK_CACHE", "2", 1);
	same_both_ways("bql-stacks", "capture.perf.data");
	unsetenv("WAITCHAIN_STACK_CACHE");
}

/* trace.dat read in process: events carry no pid, so the pipe cannot
 * resolve their stacks and hands them to the writer (synchronous mode). */
Test(threads, trace_dat_stacks_in_process)
{
	setenv("WC_SANDBOX", "0", 1);
	same_both_ways("bql-stacks", "capture.trace.dat");
	unsetenv("WC_SANDBOX");
}

Test(threads, perf_data_lossy)
{
	same_both_ways("lossy", "capture.perf.data");
}

Test(threads, trace_dat)
{
	same_both_ways("bql-v6", "capture.trace.dat");
}

Test(threads, trace_dat_buffers)
{
	same_both_ways("multibuf", "capture.trace.dat");
}

Test(sandbox, trace_dat_v6)
{
	same_sandboxed("bql-v6", NULL);
}

Test(sandbox, trace_dat_stacks)
{
	same_sandboxed("bql-stacks", NULL);
}

Test(sandbox, trace_dat_zstd)
{
	same_sandboxed("bql-zstd", NULL);
}

Test(sandbox, trace_dat_buffers)
{
	same_sandboxed("multibuf", NULL);
}

Test(sandbox, trace_dat_one_buffer)
{
	same_sandboxed("multibuf", "--buffer=inst");
}

Test(sandbox, trace_dat_overrun_and_lost)
{
	same_sandboxed("overrun", NULL);
	same_sandboxed("lossy", NULL);
}

Test(sandbox, trace_dat_hostile_names)
{
	same_sandboxed("hostile-names", NULL);
}

/*
 * Damaged CPU data is found by the checker before libtracecmd reads it,
 * whether the children check their share or the importer checks it all,
 * and the first damage in file order is the one reported: the same
 * one-line error either way.  Two fuzzer inputs: an instance's chunk
 * count that cannot fit (libtracecmd allocated 2^27 chunks when the
 * check came after the read), and the same damage on CPU 0 of a file
 * whose CPU 1 data also runs past its end (the truncation, found first
 * by the structural walk, must not hide the earlier damage).  And a
 * record that does not decode, on each of two CPUs: the one a
 * time-ordered read meets first is reported, although the children read
 * ahead (the child's own message is passed on, not "corrupt").
 */
static void same_refusal(const char *name, const char *needle)
{
	char *cap = wc_test_path("%s/tests/fuzz/regressions/trace_dat/%s",
				 wc_test_source(), name);
	char *out = wc_test_tmpfile("damaged.db");
	char *msg[2];

	for (int k = 0; k < 2; k++) {
		struct wc_run r;

		setenv("WC_SANDBOX", k ? "0" : "2", 1);
		cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", out, "--force",
				    "--no-analyze", NULL), 0);
		unsetenv("WC_SANDBOX");
		cr_expect_eq(r.status, 1, "%s: exit status %d: %s", name, r.status,
			     r.err);
		cr_expect(strstr(r.err, needle), "%s: the checker's message: %s",
			  name, r.err);
		cr_expect(access(out, F_OK) != 0, "no database left behind");
		msg[k] = strdup(r.err);
		wc_run_free(&r);
	}
	cr_expect_str_eq(msg[0], msg[1]);
	free(msg[0]);
	free(msg[1]);
	free(cap);
	free(out);
}

Test(sandbox, damaged_data_refused_with_the_same_message)
{
	same_refusal("damaged-chunk-count-in-instance",
		     "chunks cannot fit in 308 bytes");
	same_refusal("damaged-chunk-before-truncated-cpu",
		     "CPU 0 of buffer \"inst\" at byte 16384: 171260138 chunks "
		     "cannot fit in 183 bytes");
	same_refusal("undecodable-records-on-two-cpus",
		     "unknown event id 25963 (buffer \"inst\" CPU 1, record at "
		     "data offset 8488");
}

/* Value of capture key uncompressed_copy_bytes in DB, or -1 when absent. */
static int64_t copy_bytes(const char *db)
{
	return wc_test_sql_int(db, "SELECT value FROM capture WHERE key = "
			       "'uncompressed_copy_bytes'", -1, NULL);
}

/*
 * Compressed CPU data is read from an uncompressed copy that libtracecmd
 * makes in a sandbox child (libtracecmd 3.1 reading compressed data in
 * place keeps every chunk and walks them at every page): the importer
 * says so (uncompressed_copy_bytes: more than the compressed file, and
 * the size of the CPU data uncompressed), and the database is the one
 * read in place in process gives (trace_dat_zstd above, zlib here).
 * When no copy can be made (no writable $TMPDIR), the file is read in
 * place: the same database again.
 */
Test(sandbox, compressed_data_read_from_an_uncompressed_copy)
{
	char *zstd = wc_test_sample("bql-zstd", "capture.trace.dat");
	char *out = wc_test_tmpfile("copy.db");
	struct stat sb;
	int64_t bytes;

	cr_assert_eq(stat(zstd, &sb), 0);
	import_with(zstd, out, "WC_SANDBOX", "2", NULL);
	bytes = copy_bytes(out);
	/* bql-zstd/capture.trace.dat: `trace-cmd convert --compression none
	 * --file-version 7` of it is 8605926 bytes */
	cr_expect_eq(bytes, 8605926, "uncompressed copy of %lld bytes",
		     (long long)bytes);
	cr_expect_gt(bytes, (int64_t)sb.st_size);
	import_with(zstd, out, "WC_SANDBOX", "0", NULL);
	cr_expect_eq(copy_bytes(out), -1,
		     "read in place in process");
	same_both_ways_with("multibuf", "capture2-zlib.trace.dat", "WC_SANDBOX",
			    "2", "0", NULL);
	same_both_ways_with("bql-zstd", "capture.trace.dat", "TMPDIR",
			    "/nonexistent/waitchain-test", "/tmp", NULL);
	import_with(zstd, out, "TMPDIR", "/nonexistent/waitchain-test", NULL);
	cr_expect_eq(copy_bytes(out), -1,
		     "no copy without a temporary directory");
	free(zstd);
	free(out);
}
