/*
 * test_import.c - `waitchain import` end to end: the binary, real sample
 * captures, and the counts the peer tools saw (samples/NAME/expected_*.csv,
 * written by samples/make-expected.sh from `trace-cmd report` and `perf
 * script`).  Also: compressed and piped input, refusing to overwrite,
 * truncated captures (clean failure, --salvage) and readers other than
 * waitchain (sqlite3 shell, Python).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "wc_test.h"

/* The SQL counting events named EVENT fired in the context of TID. */
static const char *count_sql(const char *event)
{
	static const char *const map[][2] = {
		{ "sched_switch", "SELECT count(*) FROM sched_switch WHERE coalesce(tid, -1) = %d" },
		{ "sched_waking", "SELECT count(*) FROM sched_waking WHERE coalesce(waker_tid, -1) = %d" },
		{ "sched_wakeup", "SELECT count(*) FROM sched_wakeup WHERE coalesce(waker_tid, -1) = %d" },
		{ "sched_wakeup_new", "SELECT count(*) FROM sched_wakeup_new WHERE coalesce(waker_tid, -1) = %d" },
		{ "sched_process_fork", "SELECT count(*) FROM sched_process_fork WHERE coalesce(tid, -1) = %d" },
		{ "sched_process_exit", "SELECT count(*) FROM sched_process_exit WHERE tid = %d" },
		{ "task_rename", "SELECT count(*) FROM task_rename WHERE tid = %d" },
		{ "sys_enter_futex", "SELECT count(*) FROM futex WHERE tid = %d AND enter_seq IS NOT NULL" },
		{ "sys_exit_futex", "SELECT count(*) FROM futex WHERE tid = %d AND exit_seq IS NOT NULL" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], event) == 0)
			return map[i][1];
	return NULL;
}

/*
 * Checks DB against EXPECTED (event,tid,count): every (event, tid) count
 * and, per event, that event_count holds the CSV's total.  Rows with tid
 * '*' (totals) and events waitchain does not store are skipped.
 */
static void check_counts(const char *db, const char *expected)
{
	struct wc_csv csv;
	int ev, tid, cnt;
	int64_t totals[16] = { 0 };
	const char *names[16] = { 0 };
	int nnames = 0, checked = 0;

	cr_assert_eq(wc_csv_read(expected, &csv), 0, "cannot read %s", expected);
	ev = wc_csv_col(&csv, "event");
	tid = wc_csv_col(&csv, "tid");
	cnt = wc_csv_col(&csv, "count");
	cr_assert(ev >= 0 && tid >= 0 && cnt >= 0);
	for (size_t r = 0; r < csv.nrows; r++) {
		const char *name = csv.rows[r][ev], *fmt = count_sql(name);
		char sql[256];
		int64_t want = atoll(csv.rows[r][cnt]), got;
		int ok, k;

		if (!fmt || strcmp(csv.rows[r][tid], "*") == 0)
			continue;
		snprintf(sql, sizeof(sql), fmt, atoi(csv.rows[r][tid]));
		got = wc_test_sql_int(db, sql, -1, &ok);
		cr_expect(ok);
		cr_expect_eq(got, want, "%s: %s tid %s: %lld, expected %lld", db,
			     name, csv.rows[r][tid], (long long)got, (long long)want);
		for (k = 0; k < nnames && strcmp(names[k], name); k++)
			;
		if (k == nnames && nnames < 16)
			names[nnames++] = name;
		if (k < 16)
			totals[k] += want;
		checked++;
	}
	cr_expect_gt(checked, 10, "too few rows checked in %s", expected);
	for (int k = 0; k < nnames; k++) {
		char sql[256];

		snprintf(sql, sizeof(sql),
			 "SELECT count FROM event_count WHERE name = '%s'", names[k]);
		cr_expect_eq(wc_test_sql_int(db, sql, -1, NULL), totals[k],
			     "%s: event_count of %s", db, names[k]);
	}
	wc_csv_free(&csv);
}

static char *import_ok(const char *capture, const char *db_name)
{
	char *db = wc_test_tmpfile(db_name);
	struct wc_run r;

	cr_assert_eq(wc_run(&r, NULL, "import", capture, "-o", db, "--no-analyze",
			    "-q", NULL), 0);
	cr_assert_eq(r.status, 0, "import %s: %s", capture, r.err);
	cr_expect_eq(r.err_len, 0, "--quiet printed: %s", r.err);
	wc_run_free(&r);
	return db;
}

Test(import, tracedat_v7_counts)
{
	char *cap = wc_test_sample("bql-stacks", "capture.trace.dat");
	char *exp = wc_test_sample("bql-stacks", "expected_tracecmd.csv");
	char *db = import_ok(cap, "v7.db");
	char *fmt = wc_test_sql_text(db, "SELECT value FROM capture WHERE key = 'format'");

	check_counts(db, exp);
	cr_expect_str_eq(fmt, "trace.dat");
	cr_expect_eq(wc_test_sql_int(db, "SELECT CAST(value AS INTEGER) FROM capture WHERE key = 'has_stacks'", -1, NULL), 1);
	cr_expect_eq(wc_test_sql_int(db, "SELECT CAST(value AS INTEGER) FROM capture WHERE key = 'truncated'", -1, NULL), 0);
	cr_expect_eq(wc_test_sql_int(db, "PRAGMA application_id", 0, NULL), 0x77636861);
	/* the final name only: no temporary file left beside it */
	cr_expect_eq(wc_test_count_files(wc_test_tmp(), ".tmp-"), 0);
	free(fmt);
	free(db);
	free(exp);
	free(cap);
}

Test(import, tracedat_v6_counts)
{
	char *cap = wc_test_sample("bql-v6", "capture.trace.dat");
	char *exp = wc_test_sample("bql-v6", "expected_tracecmd.csv");
	char *db = import_ok(cap, "v6.db");

	check_counts(db, exp);
	free(db);
	free(exp);
	free(cap);
}

Test(import, perf_counts)
{
	char *cap = wc_test_sample("bql-stacks", "capture.perf.data");
	char *exp = wc_test_sample("bql-stacks", "expected_perf.csv");
	char *db = import_ok(cap, "perf.db");

	check_counts(db, exp);
	/* perf samples carry pid and tid */
	cr_expect_gt(wc_test_sql_int(db, "SELECT count(*) FROM thread WHERE pid_source = 'capture'", 0, NULL), 5);
	free(db);
	free(exp);
	free(cap);
}

Test(import, perf_zstd_records_counts)
{
	char *cap = wc_test_sample("bql-zstd", "capture.perf.data");
	char *exp = wc_test_sample("bql-zstd", "expected_perf.csv");
	char *db = import_ok(cap, "perfz.db");

	check_counts(db, exp);
	free(db);
	free(exp);
	free(cap);
}

/* Compresses SRC into DST as zstd (gz = 0) or gzip (gz = 1). */
static void compress_file(const char *src, const char *dst, int gz)
{
	size_t len;
	char *data = wc_test_read_file(src, &len);

	cr_assert(data);
	if (gz) {
		gzFile g = gzopen(dst, "wb1");

		cr_assert(g);
		cr_assert_eq(gzwrite(g, data, (unsigned)len), (int)len);
		gzclose(g);
	} else {
		size_t cap = ZSTD_compressBound(len), n;
		char *z = malloc(cap);

		n = ZSTD_compress(z, cap, data, len, 1);
		cr_assert(!ZSTD_isError(n));
		cr_assert_eq(wc_test_write_file(dst, z, n), 0);
		free(z);
	}
	free(data);
}

Test(import, compressed_and_stdin)
{
	char *cap = wc_test_sample("bql-stacks", "capture.trace.dat");
	char *exp = wc_test_sample("bql-stacks", "expected_tracecmd.csv");
	char *pcap = wc_test_sample("bql-stacks", "capture.perf.data");
	char *pexp = wc_test_sample("bql-stacks", "expected_perf.csv");
	char *zst = wc_test_tmpfile("capture.trace.dat.zst");
	char *gz = wc_test_tmpfile("capture.perf.data.gz");
	char *db1, *db2, *db3 = wc_test_tmpfile("stdin.db");
	char *comp;
	struct wc_run r;

	compress_file(cap, zst, 0);
	compress_file(pcap, gz, 1);
	db1 = import_ok(zst, "zst.db");
	check_counts(db1, exp);
	comp = wc_test_sql_text(db1, "SELECT value FROM capture WHERE key = 'source_compression'");
	cr_expect_str_eq(comp, "zstd");
	free(comp);
	db2 = import_ok(gz, "gz.db");
	check_counts(db2, pexp);
	/* stdin, compressed */
	cr_assert_eq(wc_run(&r, gz, "import", "-", "-o", db3, "--no-analyze", "-q", NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	check_counts(db3, pexp);
	free(db1);
	free(db2);
	free(db3);
	free(zst);
	free(gz);
	free(cap);
	free(exp);
	free(pcap);
	free(pexp);
}

Test(import, through_a_pipe)
{
	char *cap = wc_test_sample("bql-v6", "capture.trace.dat");
	char *exp = wc_test_sample("bql-v6", "expected_tracecmd.csv");
	char *db = wc_test_tmpfile("pipe.db");
	char *cmd = wc_test_path("cat '%s' | '%s' import - -o '%s' --no-analyze -q",
				 cap, wc_test_bin(), db);
	char *argv[] = { "sh", "-c", cmd, NULL };
	struct wc_run r;

	cr_assert_eq(wc_run_program(&r, NULL, "/bin/sh", argv), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	check_counts(db, exp);
	free(cmd);
	free(db);
	free(cap);
	free(exp);
}

/* perf's pipe format streams through wc_input without a temporary copy */
Test(import, perf_pipe_mode_from_a_pipe)
{
	const char *names[] = { "pipe", "pipe-zstd" };

	for (int i = 0; i < 2; i++) {
		char *cap = wc_test_path("%s/pipe/%s.perf.data", wc_test_samples(), names[i]);
		char *exp = wc_test_path("%s/pipe/expected_%s.csv", wc_test_samples(), names[i]);
		char *db = wc_test_tmpfile("perfpipe.db");
		char *cmd = wc_test_path("cat '%s' | '%s' import - -o '%s' --no-analyze -q",
					 cap, wc_test_bin(), db);
		char *argv[] = { "sh", "-c", cmd, NULL };
		struct wc_run r;
		char *mode;

		cr_assert_eq(wc_run_program(&r, NULL, "/bin/sh", argv), 0);
		cr_expect_eq(r.status, 0, "%s: %s", cap, r.err);
		wc_run_free(&r);
		check_counts(db, exp);
		mode = wc_test_sql_text(db, "SELECT value FROM capture WHERE key = 'pipe_mode'");
		cr_expect_str_eq(mode, "1");
		free(mode);
		free(cmd);
		free(db);
		free(exp);
		free(cap);
	}
}

Test(import, refuses_overwrite_without_force)
{
	char *cap = wc_test_sample("bql-v6", "capture.perf.data");
	char *db = import_ok(cap, "exists.db");
	struct stat before, after;
	struct wc_run r;

	cr_assert_eq(stat(db, &before), 0);
	cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", db, "--no-analyze", NULL), 0);
	cr_expect_eq(r.status, 1);
	cr_expect_eq(wc_count_lines(r.err), 1, "%s", r.err);
	cr_expect(strstr(r.err, "waitchain: ") == r.err, "%s", r.err);
	cr_expect(strstr(r.err, "exists") && strstr(r.err, "--force"), "%s", r.err);
	cr_assert_eq(stat(db, &after), 0);
	cr_expect_eq(before.st_ino, after.st_ino);
	cr_expect_eq(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	wc_run_free(&r);

	cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", db, "--force", "--no-analyze", "-q", NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	cr_assert_eq(stat(db, &after), 0);
	cr_expect_neq(before.st_ino, after.st_ino, "--force did not replace the file");
	cr_expect_gt(wc_test_sql_int(db, "SELECT count(*) FROM sched_switch", 0, NULL), 100);
	free(db);
	free(cap);
}

/* A capture cut CUT_FROM_END bytes before its end (inside the event
 * data): one clean line, exit 1, no output, no temp; --salvage keeps the
 * events before the cut. */
static void check_truncated(const char *sample, const char *file,
			    size_t cut_from_end, int min_switches)
{
	char *cap = wc_test_sample(sample, file);
	char *name = wc_test_path("cut-%s-%s", sample, file);
	char *cut = wc_test_tmpfile(name);
	char *db = wc_test_path("%s.db", cut);
	char *dir = wc_test_path("%s", wc_test_tmp());
	struct stat st;
	struct wc_run r;

	unlink(db);
	cr_assert_eq(stat(cap, &st), 0);
	cr_assert_gt((size_t)st.st_size, cut_from_end);
	cr_assert_eq(wc_test_copy_file(cap, cut, (size_t)st.st_size - cut_from_end), 0);
	cr_assert_eq(wc_run(&r, NULL, "import", cut, "--no-analyze", NULL), 0);
	cr_expect_eq(r.status, 1, "%s: status %d: %s", cut, r.status, r.err);
	cr_expect_eq(wc_count_lines(r.err), 1, "%s", r.err);
	cr_expect(strncmp(r.err, "waitchain: ", 11) == 0, "%s", r.err);
	cr_expect(strstr(r.err, cut), "error does not name the file: %s", r.err);
	cr_expect_eq(r.out_len, 0);
	cr_expect(access(db, F_OK) != 0, "%s exists after a failed import", db);
	cr_expect_eq(wc_test_count_files(dir, ".tmp-"), 0, "temporary file left");
	wc_run_free(&r);

	/* --salvage keeps what was read before the cut */
	cr_assert_eq(wc_run(&r, NULL, "import", cut, "--salvage", "--no-analyze", NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.err, "warning"), "%s", r.err);
	cr_expect_eq(wc_test_sql_int(db, "SELECT CAST(value AS INTEGER) FROM capture WHERE key = 'truncated'", -1, NULL), 1);
	cr_expect_eq(wc_test_sql_int(db, "SELECT length(value) > 0 FROM capture WHERE key = 'truncated_reason'", -1, NULL), 1);
	cr_expect_geq(wc_test_sql_int(db, "SELECT count(*) FROM sched_switch", -1, NULL), min_switches);
	wc_run_free(&r);
	free(cap);
	free(name);
	free(cut);
	free(db);
	free(dir);
}

Test(import, truncated_tracedat)
{
	check_truncated("bql-v6", "capture.trace.dat", 200000, 100);
}

Test(import, truncated_perf)
{
	/* the event formats live at the end of perf.data: the salvaged part is
	 * kept, but its tracepoints cannot be decoded */
	check_truncated("bql-v6", "capture.perf.data", 600000, 0);
}

Test(import, truncated_zstd_file)
{
	char *cap = wc_test_sample("bql-v6", "capture.perf.data");
	char *zst = wc_test_tmpfile("cut.perf.data.zst");
	char *cut = wc_test_tmpfile("cut2.perf.data.zst");
	char *db = wc_test_tmpfile("cut2.db");
	struct stat st;
	struct wc_run r;

	compress_file(cap, zst, 0);
	cr_assert_eq(stat(zst, &st), 0);
	cr_assert_eq(wc_test_copy_file(zst, cut, (size_t)st.st_size / 2), 0);
	cr_assert_eq(wc_run(&r, NULL, "import", cut, "-o", db, NULL), 0);
	cr_expect_eq(r.status, 1);
	cr_expect_eq(wc_count_lines(r.err), 1, "%s", r.err);
	cr_expect(strstr(r.err, "zstd: ") && strstr(r.err, "compressed offset"), "%s", r.err);
	cr_expect(access(db, F_OK) != 0);
	wc_run_free(&r);
	free(cap);
	free(zst);
	free(cut);
	free(db);
}

Test(import, not_a_capture)
{
	char *junk = wc_test_tmpfile("junk.bin");
	char *empty = wc_test_tmpfile("empty.bin");
	struct wc_run r;

	cr_assert_eq(wc_test_write_file(junk, "this is not a capture\n", 22), 0);
	cr_assert_eq(wc_test_write_file(empty, "", 0), 0);
	cr_assert_eq(wc_run(&r, NULL, "import", junk, NULL), 0);
	cr_expect_eq(r.status, 1);
	cr_expect(strstr(r.err, "not a trace.dat or perf.data capture"), "%s", r.err);
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "import", empty, NULL), 0);
	cr_expect_eq(r.status, 1);
	cr_expect(strstr(r.err, "empty"), "%s", r.err);
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "import", "/nonexistent/x.dat", NULL), 0);
	cr_expect_eq(r.status, 1);
	cr_expect_eq(wc_count_lines(r.err), 1, "%s", r.err);
	wc_run_free(&r);
	free(junk);
	free(empty);
}

/* The database opens in the sqlite3 shell (with waitchain's extension
 * for the columnar event tables) and in Python (every table but the
 * columnar ones, which say which module they need). */
Test(import, other_readers)
{
	char *cap = wc_test_sample("bql-stacks", "capture.perf.data");
	char *db = import_ok(cap, "readers.db");
	int64_t n = wc_test_sql_int(db, "SELECT count(*) FROM sched_switch", -1, NULL);
	int64_t nthreads = wc_test_sql_int(db, "SELECT count(*) FROM thread_view", -1, NULL);
	char *want = wc_test_path("%lld\n", (long long)n);
	char *py = wc_test_path("import sqlite3; c = sqlite3.connect('file:%s?mode=ro', uri=True); "
				"print(c.execute('SELECT count(*) FROM thread_view').fetchone()[0])\n"
				"try:\n c.execute('SELECT count(*) FROM sched_switch')\n"
				"except sqlite3.OperationalError as e:\n print(e)", db);
	char *ext_argv[] = { (char *)wc_test_bin(), "--sqlite-extension", NULL };
	char *ext, *load;
	char *py_argv[] = { "python3", "-c", py, NULL };
	struct wc_run r;

	cr_assert_gt(n, 100);
	cr_assert_eq(wc_run_program(&r, NULL, wc_test_bin(), ext_argv), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	ext = strdup(r.out);
	ext[strcspn(ext, "\n")] = '\0';
	wc_run_free(&r);
	load = wc_test_path(".load %s", ext);
	if (wc_have_program("sqlite3")) {
		char *sh_argv[] = { "sqlite3", "-readonly", "-cmd", load, db,
				    "SELECT count(*) FROM sched_switch", NULL };

		cr_assert_eq(wc_run_program(&r, NULL, "sqlite3", sh_argv), 0);
		cr_expect_eq(r.status, 0, "%s", r.err);
		cr_expect_str_eq(r.out, want);
		wc_run_free(&r);
	} else {
		cr_log_warn("sqlite3 shell not installed: skipped");
	}
	cr_assert_eq(wc_run_program(&r, NULL, "python3", py_argv), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	free(want);
	want = wc_test_path("%lld\nno such module: wc_columnar\n", (long long)nthreads);
	cr_expect_str_eq(r.out, want);
	wc_run_free(&r);
	free(ext);
	free(load);
	free(want);
	free(py);
	free(db);
	free(cap);
}
