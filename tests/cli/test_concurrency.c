/*
 * test_concurrency.c - readers and writers of case databases at once.
 *
 *  - Two `waitchain report` runs on one (already analyzed) database at
 *    the same time both succeed and print the same report as a run alone.
 *  - Two `report` runs on a capture whose cache is missing race to import
 *    it: both succeed (each imports into its own temporary file and
 *    renames it into place).
 *  - A report of one database while an import writes another is
 *    unaffected (same output as alone), and the import completes.
 */
#include <criterion/criterion.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wc_test.h"

extern char **environ;

/* Spawns $WC_BIN ARGV[1..] with stdout to OUT and stderr to ERR. */
static pid_t spawn_wc(char *const argv[], const char *out, const char *err)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, 01101 /* O_WRONLY|O_CREAT|O_TRUNC */, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, err, 01101, 0644);
	cr_assert_eq(posix_spawn(&pid, wc_test_bin(), &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

static int wait_status(pid_t pid)
{
	int st = 0;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *analyzed_db(const char *sample, const char *file, const char *name)
{
	char *cap = wc_test_sample(sample, file);
	char *db = wc_test_tmpfile(name);
	struct wc_run r;

	cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", db, "-q", NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	free(cap);
	return db;
}

static char *report_alone(const char *db)
{
	struct wc_run r;
	char *out;

	cr_assert_eq(wc_run(&r, NULL, "report", db, "--no-color", NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	out = r.out;
	r.out = NULL;
	wc_run_free(&r);
	return out;
}

static char *slurp(const char *path)
{
	char *s = wc_test_read_file(path, NULL);

	cr_assert(s, "cannot read %s", path);
	return s;
}

Test(concurrency, two_reports_one_database)
{
	char *db = analyzed_db("glibc-nostacks", "capture.perf.data", "shared.db");
	char *alone = report_alone(db);
	char *o1 = wc_test_tmpfile("r1.out"), *e1 = wc_test_tmpfile("r1.err");
	char *o2 = wc_test_tmpfile("r2.out"), *e2 = wc_test_tmpfile("r2.err");

	for (int round = 0; round < 3; round++) {
		char *const argv[] = { "waitchain", "report", db, "--no-color", NULL };
		pid_t a = spawn_wc(argv, o1, e1), b = spawn_wc(argv, o2, e2);
		int sa = wait_status(a), sb = wait_status(b);
		char *t1 = slurp(o1), *t2 = slurp(o2), *r1 = slurp(e1), *r2 = slurp(e2);

		cr_expect_eq(sa, 0, "first report: exit %d: %s", sa, r1);
		cr_expect_eq(sb, 0, "second report: exit %d: %s", sb, r2);
		cr_expect_str_eq(t1, alone);
		cr_expect_str_eq(t2, alone);
		free(t1);
		free(t2);
		free(r1);
		free(r2);
	}
	free(alone);
	free(db);
	free(o1);
	free(e1);
	free(o2);
	free(e2);
}

Test(concurrency, two_reports_race_to_import_a_capture)
{
	char *src = wc_test_sample("pipe", "pipe.perf.data");
	char *cap = wc_test_tmpfile("race.perf.data");
	char *o1 = wc_test_tmpfile("c1.out"), *e1 = wc_test_tmpfile("c1.err");
	char *o2 = wc_test_tmpfile("c2.out"), *e2 = wc_test_tmpfile("c2.err");
	char *cache = wc_test_path("%s.db", cap);

	cr_assert_eq(wc_test_copy_file(src, cap, SIZE_MAX), 0);
	unlink(cache);
	{
		char *const argv[] = { "waitchain", "report", cap, "--no-color", NULL };
		pid_t a = spawn_wc(argv, o1, e1), b = spawn_wc(argv, o2, e2);
		int sa = wait_status(a), sb = wait_status(b);
		char *r1 = slurp(e1), *r2 = slurp(e2), *t1 = slurp(o1), *t2 = slurp(o2);

		cr_expect_eq(sa, 0, "first: exit %d: %s", sa, r1);
		cr_expect_eq(sb, 0, "second: exit %d: %s", sb, r2);
		cr_expect_str_eq(t1, t2);
		free(r1);
		free(r2);
		free(t1);
		free(t2);
	}
	cr_expect_gt(wc_test_sql_int(cache, "SELECT count(*) FROM sched_switch", 0, NULL), 0);
	cr_expect_eq(wc_test_count_files(wc_test_tmp(), ".race.perf.data.db.tmp-"), 0,
		     "temporary files left behind");
	free(src);
	free(cap);
	free(cache);
	free(o1);
	free(e1);
	free(o2);
	free(e2);
}

Test(concurrency, report_while_another_import_writes)
{
	char *db = analyzed_db("pipe", "pipe.perf.data", "reader.db");
	char *alone = report_alone(db);
	char *cap = wc_test_sample("bql-v6", "capture.trace.dat");
	char *other = wc_test_tmpfile("being-written.db");
	char *io = wc_test_tmpfile("imp.out"), *ie = wc_test_tmpfile("imp.err");
	char *const imp_argv[] = { "waitchain", "import", cap, "-o", other, "-q", NULL };
	pid_t imp = spawn_wc(imp_argv, io, ie);
	int n = 0, st = 0, reaped = 0;

	/* report repeatedly while the import runs */
	do {
		char *now = report_alone(db);

		cr_expect_str_eq(now, alone);
		free(now);
		n++;
		if (waitpid(imp, &st, WNOHANG) == imp)
			reaped = 1;
	} while (!reaped && n < 50);
	if (!reaped)
		cr_assert_eq(waitpid(imp, &st, 0), imp);
	{
		char *e = slurp(ie);

		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			  "import: status 0x%x: %s", st, e);
		free(e);
	}
	cr_expect_geq(n, 2, "the import ended before a second report");
	cr_expect_gt(wc_test_sql_int(other, "SELECT count(*) FROM sched_switch", 0, NULL), 0);
	free(alone);
	free(db);
	free(cap);
	free(other);
	free(io);
	free(ie);
}
