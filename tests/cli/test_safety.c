/*
 * test_safety.c - output safety, a read-only `sql`, and imports that are
 * refused, interrupted or memory-limited.
 *
 *  - Hostile thread names (samples/hostile-names: `<svg/onload=1>`,
 *    `</script><b>`, `a"b'c&d`, ESC[31mred) through info, sql
 *    (table/csv/json), query, report (text/json/html) and export: no raw
 *    ESC byte anywhere, no raw markup in HTML/JSON, the escaped forms
 *    present, CSV round-trips the exact bytes.  The names are made vCPUs
 *    (analyze --vcpu) so that every report table shows them.
 *  - `waitchain sql` cannot write: INSERT, CREATE, ATTACH, PRAGMA
 *    writable_schema, VACUUM INTO, load_extension, ... fail (exit 1, one
 *    line) and leave the database byte-identical and no new file.
 *  - An existing output needs --force.
 *  - SIGINT / SIGKILL sent to a running import of the biggest sample, at
 *    several delays, never leave a database that looks complete: the
 *    output is absent, or byte-identical to the previous one, or (signal
 *    after the rename) a complete import.
 *  - Importing the biggest samples under a 1 GiB address-space limit
 *    succeeds (memory bounded; skipped under ASan).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
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

extern char **environ;

static const char *const hostile[] = {
	"<svg/onload=1>", "</script><b>", "a\"b'c&d", "\x1b[31mred",
};

/* The hostile-names case, analyzed with the hostile names as vCPUs;
 * created once per process. */
static const char *hostile_db(void)
{
	static char *db;
	struct wc_run r;
	char *cap;

	if (db)
		return db;
	db = wc_test_tmpfile("hostile.db");
	cap = wc_test_sample("hostile-names", "capture.perf.data");
	cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", db, "-q", NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "analyze", db, "--quiet", "--vcpu",
			    "^(<svg|</script|a\"b|.\\[31m)", NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	free(cap);
	return db;
}

static int has_byte(const char *s, size_t n, unsigned char b)
{
	return memchr(s, b, n) != NULL;
}

/* Terminal/text output: no ESC, names shown with \x1b. */
static void expect_tty_safe(const struct wc_run *r, const char *what)
{
	cr_expect_eq(r->status, 0, "%s: exit %d: %s", what, r->status, r->err);
	cr_expect(!has_byte(r->out, r->out_len, 0x1b), "%s: raw ESC in output", what);
	cr_expect(!has_byte(r->err, r->err_len, 0x1b), "%s: raw ESC on stderr", what);
	cr_expect(strstr(r->out, "\\x1b[31mred"), "%s: ESC name not shown escaped", what);
}

/* JSON output: no ESC, no raw < > &, the escaped forms present. */
static void expect_json_safe(const struct wc_run *r, const char *what)
{
	cr_expect_eq(r->status, 0, "%s: exit %d: %s", what, r->status, r->err);
	cr_expect(!has_byte(r->out, r->out_len, 0x1b), "%s: raw ESC", what);
	cr_expect(!strstr(r->out, "<svg") && !strstr(r->out, "</script"),
		  "%s: raw markup in JSON", what);
	cr_expect(strstr(r->out, "\\u003csvg/onload=1\\u003e"), "%s: svg name missing", what);
	cr_expect(strstr(r->out, "\\u001b[31mred"), "%s: ESC name missing", what);
	cr_expect(strstr(r->out, "a\\\"b'c\\u0026d"), "%s: quote name missing", what);
}

Test(safety, info_escapes_names)
{
	struct wc_run r;

	cr_assert_eq(wc_run(&r, NULL, "info", hostile_db(), NULL), 0);
	expect_tty_safe(&r, "info");
	cr_expect(strstr(r.out, "<svg/onload=1>"), "info: name missing");
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "info", hostile_db(), "--json", NULL), 0);
	expect_json_safe(&r, "info --json");
	wc_run_free(&r);
}

Test(safety, info_escapes_trace_dat_cmdlines)
{
	struct wc_run r;
	char *cap = wc_test_sample("hostile-names", "capture.trace.dat");
	char *db = wc_test_tmpfile("hostile-td.db");

	cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", db, "-q", "--no-analyze", NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "info", db, NULL), 0);
	expect_tty_safe(&r, "info trace.dat");
	wc_run_free(&r);
	free(cap);
	free(db);
}

static const char *names_sql =
	"SELECT tid, comm FROM thread WHERE comm LIKE '%<%' OR comm LIKE '%red' "
	"OR comm LIKE '%&%' ORDER BY tid";

Test(safety, sql_table_json_csv)
{
	struct wc_run r;
	struct wc_csv csv;

	cr_assert_eq(wc_run(&r, NULL, "sql", hostile_db(), names_sql, NULL), 0);
	expect_tty_safe(&r, "sql --table");
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "sql", hostile_db(), "--json", names_sql, NULL), 0);
	expect_json_safe(&r, "sql --json");
	wc_run_free(&r);
	/* CSV is data: RFC 4180 quoting, and it parses back to the bytes */
	cr_assert_eq(wc_run(&r, NULL, "sql", hostile_db(), "--csv", names_sql, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_eq(wc_csv_parse(r.out, r.out_len, &csv), 0, "bad CSV:\n%s", r.out);
	cr_assert_eq(csv.nrows, 4, "%zu rows:\n%s", csv.nrows, r.out);
	for (size_t i = 0; i < 4; i++) {
		int found = 0;

		for (size_t k = 0; k < csv.nrows; k++)
			found |= strcmp(csv.rows[k][1], hostile[i]) == 0;
		cr_expect(found, "CSV lost name %zu:\n%s", i, r.out);
	}
	wc_csv_free(&csv);
	wc_run_free(&r);
}

Test(safety, query_escapes_names)
{
	struct wc_run r;

	cr_assert_eq(wc_run(&r, NULL, "query", hostile_db(), "vcpu_summary", NULL), 0);
	expect_tty_safe(&r, "query vcpu_summary");
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "query", hostile_db(), "vcpu_summary", "--json", NULL), 0);
	expect_json_safe(&r, "query --json");
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "query", hostile_db(), "vcpu_summary", "--csv", NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "\"a\"\"b'c&d\""), "CSV quoting missing:\n%s", r.out);
	wc_run_free(&r);
}

Test(safety, report_text_json_html)
{
	struct wc_run r;
	char *html = wc_test_tmpfile("hostile.html");
	char *page;
	size_t len;

	cr_assert_eq(wc_run(&r, NULL, "report", hostile_db(), "--no-color", NULL), 0);
	expect_tty_safe(&r, "report");
	cr_expect(strstr(r.out, "<svg/onload=1>"), "report: vCPU name missing");
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "report", hostile_db(), "--format", "json", NULL), 0);
	expect_json_safe(&r, "report --json");
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "report", hostile_db(), "--format", "html",
			    "-o", html, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	page = wc_test_read_file(html, &len);
	cr_assert(page);
	cr_expect(!has_byte(page, len, 0x1b), "html: raw ESC");
	cr_expect(!strstr(page, "<svg/onload"), "html: raw <svg> from a thread name");
	cr_expect(!strstr(page, "</script><b>"), "html: raw </script> from a thread name");
	cr_expect(!strstr(page, "a\"b'c&d"), "html: raw quote/ampersand name");
	cr_expect(strstr(page, "\\u003csvg/onload=1\\u003e") ||
		  strstr(page, "&lt;svg/onload=1&gt;"), "html: svg name missing");
	free(page);
	free(html);
}

Test(safety, export_escapes_names)
{
	struct wc_run r;

	cr_assert_eq(wc_run(&r, NULL, "export", hostile_db(), "-q", NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(!has_byte(r.out, r.out_len, 0x1b), "export: raw ESC");
	cr_expect(!strstr(r.out, "<svg") && !strstr(r.out, "</script"),
		  "export: raw markup");
	cr_expect(strstr(r.out, "\\u003csvg/onload=1\\u003e"), "export: name missing");
	wc_run_free(&r);
}

/* --- read-only sql ----------------------------------------------------- */

Test(safety, sql_cannot_write)
{
	const char *db = hostile_db();
	char *copy = wc_test_tmpfile("ro.db");
	char *evil = wc_test_tmpfile("evil.db");
	char *evil2 = wc_test_tmpfile("evil2.db");
	char *stmts[12];
	char *before, *after;
	size_t blen, alen;
	int n = 0;

	cr_assert_eq(wc_test_copy_file(db, copy, SIZE_MAX), 0);
	before = wc_test_read_file(copy, &blen);
	stmts[n++] = strdup("INSERT INTO capture VALUES ('x', 'y')");
	stmts[n++] = strdup("CREATE TABLE t (a)");
	stmts[n++] = strdup("CREATE TEMP TABLE t (a)");
	stmts[n++] = strdup("DELETE FROM thread");
	stmts[n++] = strdup("UPDATE thread SET comm = 'x'");
	stmts[n++] = strdup("DROP TABLE thread");
	stmts[n++] = wc_test_path("ATTACH '%s' AS e", evil);
	stmts[n++] = strdup("PRAGMA writable_schema = 1");
	stmts[n++] = wc_test_path("VACUUM INTO '%s'", evil2);
	stmts[n++] = strdup("SELECT load_extension('/nonexistent/x.so')");
	stmts[n++] = strdup("PRAGMA journal_mode = WAL");
	stmts[n++] = strdup("SELECT 1; PRAGMA user_version = 7");
	for (int i = 0; i < n; i++) {
		struct wc_run r;

		cr_assert_eq(wc_run(&r, NULL, "sql", copy, stmts[i], NULL), 0);
		cr_expect_eq(r.status, 1, "'%s' was allowed (exit %d)", stmts[i], r.status);
		cr_expect_eq(wc_count_lines(r.err), 1, "'%s': %s", stmts[i], r.err);
		wc_run_free(&r);
		free(stmts[i]);
	}
	/* the same through stdin */
	{
		struct wc_run r;
		char *in = wc_test_tmpfile("stmts.sql");
		const char *text = "SELECT count(*) FROM thread;\nDELETE FROM thread;\n";

		cr_assert_eq(wc_test_write_file(in, text, strlen(text)), 0);
		cr_assert_eq(wc_run(&r, in, "sql", copy, NULL), 0);
		cr_expect_neq(r.status, 0, "stdin DELETE was allowed");
		wc_run_free(&r);
		free(in);
	}
	after = wc_test_read_file(copy, &alen);
	cr_assert(before && after);
	cr_expect(blen == alen && memcmp(before, after, blen) == 0,
		  "the database changed");
	cr_expect(access(evil, F_OK) != 0, "ATTACH created %s", evil);
	cr_expect(access(evil2, F_OK) != 0, "VACUUM INTO created %s", evil2);
	free(before);
	free(after);
	free(copy);
	free(evil);
	free(evil2);
}

/* --- --force ------------------------------------------------------------- */

Test(safety, existing_output_needs_force)
{
	char *cap = wc_test_sample("pipe", "pipe.perf.data");
	char *out = wc_test_tmpfile("existing.db");
	const char *junk = "not a database, but mine";
	struct wc_run r;
	char *back;

	cr_assert_eq(wc_test_write_file(out, junk, strlen(junk)), 0);
	cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", out, "-q", NULL), 0);
	cr_expect_eq(r.status, 1, "overwrote without --force");
	cr_expect_eq(wc_count_lines(r.err), 1, "%s", r.err);
	cr_expect(strstr(r.err, "--force"), "%s", r.err);
	wc_run_free(&r);
	back = wc_test_read_file(out, NULL);
	cr_expect_str_eq(back, junk);
	free(back);
	cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", out, "-q", "--force", NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	cr_expect_gt(wc_test_sql_int(out, "SELECT count(*) FROM sched_switch", 0, NULL), 0);
	free(cap);
	free(out);
}

/* --- interrupted imports ------------------------------------------------- */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Temporary files the import left in DIR for output BASE; with REMOVE,
 * deletes them (stale ones of an earlier run of the test). */
static int leftovers(const char *dir, const char *base, int remove)
{
	char needle[256];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(needle, sizeof(needle), ".%s.tmp-", base);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, needle))
			continue;
		n++;
		if (remove) {
			char *p = wc_test_path("%s/%s", dir, e->d_name);

			unlink(p);
			free(p);
		}
	}
	closedir(d);
	return n;
}

/* Starts an import of CAP into OUT, sends SIG after MS, waits.  Returns
 * the wait status. */
static int import_and_kill(const char *cap, const char *out, int sig, int ms)
{
	char *const argv[] = { (char *)wc_test_bin(), "import", (char *)cap, "-o",
			       (char *)out, "--force", "-q", NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status = 0;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 1, 0);
	cr_assert_eq(posix_spawn(&pid, wc_test_bin(), &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	sleep_ms(ms);
	kill(pid, sig);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void interrupt_case(const char *sample, const char *file, int sig)
{
	static const int delays[] = { 20, 50, 120, 300, 700 };
	char *cap = wc_test_sample(sample, file);
	const char *victim = sig == SIGINT ? "victim-int.db" : "victim-kill.db";
	char *prev = wc_test_tmpfile("prev.db");
	char *out = wc_test_tmpfile(victim);
	char *prev_bytes;
	size_t prev_len;
	struct wc_run r;
	int64_t full_events;

	/* a previous, different, complete database at the output path */
	{
		char *small = wc_test_sample("pipe", "pipe.perf.data");

		cr_assert_eq(wc_run(&r, NULL, "import", small, "-o", prev, "-q", NULL), 0);
		cr_assert_eq(r.status, 0, "%s", r.err);
		wc_run_free(&r);
		free(small);
	}
	prev_bytes = wc_test_read_file(prev, &prev_len);
	leftovers(wc_test_tmp(), victim, 1);
	{
		char *ref = wc_test_tmpfile("reference.db");

		cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", ref, "-q", "--no-analyze", NULL), 0);
		cr_assert_eq(r.status, 0, "%s", r.err);
		wc_run_free(&r);
		full_events = wc_test_sql_int(ref, "SELECT value FROM capture WHERE key = 'events'", -1, NULL);
		free(ref);
	}
	for (size_t d = 0; d < sizeof(delays) / sizeof(delays[0]); d++) {
		for (int with_prev = 0; with_prev < 2; with_prev++) {
			char *now;
			size_t len;
			int st;

			unlink(out);
			if (with_prev)
				cr_assert_eq(wc_test_copy_file(prev, out, SIZE_MAX), 0);
			st = import_and_kill(cap, out, sig, delays[d] * (WC_UNDER_ASAN ? 3 : 1));
			now = wc_test_read_file(out, &len);
			if (!now) {
				cr_expect(!with_prev, "signal %d after %d ms removed "
					  "the previous database", sig, delays[d]);
			} else if (with_prev && len == prev_len &&
				   memcmp(now, prev_bytes, len) == 0) {
				/* unchanged: fine */
			} else {
				/* replaced: only by a complete import */
				int ok = 0;
				int64_t ev = wc_test_sql_int(out,
					"SELECT value FROM capture WHERE key = 'events'", -1, &ok);

				cr_expect(ok && ev == full_events,
					  "signal %d after %d ms (status 0x%x) left a "
					  "database with %lld of %lld events", sig,
					  delays[d], st, (long long)ev,
					  (long long)full_events);
				cr_expect_eq(wc_test_sql_int(out, "SELECT value FROM capture "
							     "WHERE key = 'truncated'", -1, NULL), 0);
			}
			free(now);
			if (sig == SIGINT) {
				char *dir = wc_test_path("%s", wc_test_tmp());

				cr_expect_eq(leftovers(dir, victim, 0), 0,
					     "SIGINT left a temporary file");
				free(dir);
			}
		}
	}
	free(prev_bytes);
	free(cap);
	free(prev);
	free(out);
}

Test(safety, sigint_during_import, .timeout = 600)
{
	interrupt_case("bql-stacks", "capture.perf.data", SIGINT);
}

Test(safety, sigkill_during_import, .timeout = 600)
{
	interrupt_case("bql-v6", "capture.trace.dat", SIGKILL);
}

/* --- memory bound -------------------------------------------------------- */

Test(safety, biggest_samples_import_in_1gib, .timeout = 600)
{
	static const char *const caps[][2] = {
		{ "bql-v6", "capture.trace.dat" },
		{ "bql-stacks", "capture.perf.data" },
	};

	if (WC_UNDER_ASAN)
		cr_skip_test("ASan reserves more address space than the limit");
	for (size_t i = 0; i < 2; i++) {
		char *cap = wc_test_sample(caps[i][0], caps[i][1]);
		char *out = wc_test_tmpfile("rlimit.db");
		char *cmd = wc_test_path("ulimit -v 1048576 && exec '%s' import '%s' -o '%s' -q",
					 wc_test_bin(), cap, out);
		char *const argv[] = { "sh", "-c", cmd, NULL };
		struct wc_run r;

		cr_assert_eq(wc_run_program(&r, NULL, "sh", argv), 0);
		cr_expect_eq(r.status, 0, "%s under 1 GiB: %s", cap, r.err);
		cr_expect_gt(wc_test_sql_int(out, "SELECT count(*) FROM thread_state", 0, NULL), 0);
		wc_run_free(&r);
		free(cmd);
		free(out);
		free(cap);
	}
}
