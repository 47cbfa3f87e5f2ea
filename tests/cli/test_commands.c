/*
 * test_commands.c - the command line contract: --help for every command,
 * exit status 2 for usage errors, `info` and `sql` output (escaped
 * hostile thread names, CSV/JSON that parse), and that `sql` cannot
 * write, attach or escape the database.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wc_test.h"
#include "waitchain/db.h"

static char *case_db;	/* hostile-names perf capture, imported once */

static const char *hostile_db(void)
{
	struct wc_run r;
	char *cap;

	if (case_db && access(case_db, F_OK) == 0)
		return case_db;
	cap = wc_test_sample("hostile-names", "capture.perf.data");
	case_db = wc_test_tmpfile("hostile.db");
	cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", case_db, "--no-analyze",
			    "-q", NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	free(cap);
	return case_db;
}

/* Runs python3 to check that TEXT parses as KIND ("json" or "csv") and
 * prints what CHECK (a Python expression on `data`) gives. */
static char *python_check(const char *text, const char *kind, const char *check)
{
	char *file = wc_test_tmpfile(kind[0] == 'j' ? "out.json" : "out.csv");
	char *prog = wc_test_path(
		"import sys, json, csv\n"
		"raw = open(sys.argv[1], encoding='utf-8', newline='').read()\n"
		"data = json.loads(raw) if sys.argv[2] == 'json' else list(csv.reader(raw.splitlines()))\n"
		"print(%s)\n", check);
	char *argv[] = { "python3", "-c", prog, file, (char *)kind, NULL };
	struct wc_run r;
	char *out;

	cr_assert_eq(wc_test_write_file(file, text, strlen(text)), 0);
	cr_assert_eq(wc_run_program(&r, NULL, "python3", argv), 0);
	cr_expect_eq(r.status, 0, "python3 could not parse %s: %s", kind, r.err);
	out = strdup(r.out);
	wc_run_free(&r);
	free(prog);
	free(file);
	return out;
}

Test(cli, help_lists_commands_and_each_has_help)
{
	struct wc_run r, h;
	const char *want[] = { "import", "info", "sql", "query" };
	char *line, *save = NULL, *copy;
	int ncmd = 0;

	cr_assert_eq(wc_run(&r, NULL, "--help", NULL), 0);
	cr_expect_eq(r.status, 0);
	cr_expect(strstr(r.out, "Exit status: 0"), "%s", r.out);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char *needle = wc_test_path("\n  %s ", want[i]);

		cr_expect(strstr(r.out, needle), "--help does not list %s", want[i]);
		free(needle);
	}
	/* every command listed answers --help with its usage on stdout */
	copy = strdup(strstr(r.out, "Commands:\n"));
	cr_assert(copy[0]);
	for (line = strtok_r(copy + 10, "\n", &save);
	     line && strncmp(line, "  ", 2) == 0; line = strtok_r(NULL, "\n", &save)) {
		char name[32], *usage;

		if (sscanf(line, " %31s", name) != 1)
			continue;
		cr_assert_eq(wc_run(&h, NULL, name, "--help", NULL), 0);
		cr_expect_eq(h.status, 0, "%s --help: status %d", name, h.status);
		usage = wc_test_path("usage: waitchain %s", name);
		cr_expect(strstr(h.out, usage) == h.out, "%s --help: %s", name, h.out);
		free(usage);
		wc_run_free(&h);
		ncmd++;
	}
	cr_expect_geq(ncmd, 4);
	free(copy);
	wc_run_free(&r);

	cr_assert_eq(wc_run(&r, NULL, "--version", NULL), 0);
	cr_expect_eq(r.status, 0);
	cr_expect(strncmp(r.out, "waitchain ", 10) == 0, "%s", r.out);
	wc_run_free(&r);
}

Test(cli, usage_errors_exit_2)
{
	const char *cases[][6] = {
		{ NULL },
		{ "no-such-command", NULL },
		{ "import", NULL },
		{ "import", "--no-such-option", "x", NULL },
		{ "import", "a", "b", NULL },
		{ "import", "-", NULL },	/* stdin needs -o */
		{ "import", "x", "-o", NULL },
		{ "info", NULL },
		{ "sql", NULL },
		{ "sql", "--bogus", NULL },
		{ "query", NULL },
		{ "query", "only-one-arg", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[8] = { (char *)wc_test_bin() };
		struct wc_run r;
		int n = 1;

		for (int k = 0; k < 6 && cases[i][k]; k++)
			argv[n++] = (char *)cases[i][k];
		argv[n] = NULL;
		cr_assert_eq(wc_run_program(&r, NULL, wc_test_bin(), argv), 0);
		cr_expect_eq(r.status, 2, "case %zu (%s %s): status %d, stderr %s", i,
			     cases[i][0] ? cases[i][0] : "", cases[i][0] && cases[i][1] ? cases[i][1] : "",
			     r.status, r.err);
		cr_expect_gt(r.err_len, 0, "case %zu: no message", i);
		wc_run_free(&r);
	}
}

Test(cli, query_usage)
{
	struct wc_run r;
	const char *db = hostile_db();

	cr_assert_eq(wc_run(&r, NULL, "query", "--list", NULL), 0);
	cr_expect_eq(r.status, 0);
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "query", db, "no_such_query", NULL), 0);
	cr_expect_eq(r.status, 2);
	cr_expect(strstr(r.err, "no_such_query"), "%s", r.err);
	wc_run_free(&r);
}

Test(cli, info_text_and_json)
{
	const char *db = hostile_db();
	struct wc_run r;
	char *v;

	cr_assert_eq(wc_run(&r, NULL, "info", db, NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "perf.data"), "%s", r.out);
	cr_expect(strstr(r.out, "sched_switch"));
	/* the hostile names (ESC[31m...) never reach the terminal raw */
	cr_expect_null(memchr(r.out, 0x1b, r.out_len), "raw ESC in info output");
	cr_expect(strstr(r.out, "\\x1b[31mred"), "escaped name missing:\n%s", r.out);
	wc_run_free(&r);

	cr_assert_eq(wc_run(&r, NULL, "info", db, "--json", NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	v = python_check(r.out, "json",
			 "data['capture']['format'], sum(e['count'] for e in data['events'] if e['name'] == 'sched_switch') == "
			 "int(sum(1 for _ in ())) or True, any(t['comm'] == '\\x1b[31mred' for t in data['threads'])");
	cr_expect_str_eq(v, "perf.data True True\n");
	free(v);
	wc_run_free(&r);
}

Test(cli, info_on_a_capture_caches_the_import)
{
	char *src = wc_test_sample("bql-v6", "capture.perf.data");
	char *cap = wc_test_tmpfile("cached.perf.data");
	char *db = wc_test_path("%s.db", cap);
	struct wc_run r;

	unlink(db);
	cr_assert_eq(wc_test_copy_file(src, cap, (size_t)-1), 0);
	cr_assert_eq(wc_run(&r, NULL, "info", cap, NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "perf.data"));
	wc_run_free(&r);
	cr_expect_eq(access(db, F_OK), 0, "no cached database %s", db);
	cr_expect_gt(wc_test_sql_int(db, "SELECT count(*) FROM sched_switch", 0, NULL), 100);

	/* a cached database of another schema version (an older waitchain)
	 * is imported again, although it is newer than the capture */
	{
		sqlite3 *h = NULL;

		cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
		cr_assert_eq(sqlite3_exec(h, "PRAGMA user_version = 2", NULL, NULL, NULL),
			     SQLITE_OK);
		sqlite3_close(h);
	}
	cr_assert_eq(wc_test_sql_int(db, "PRAGMA user_version", 0, NULL), 2);
	cr_assert_eq(wc_run(&r, NULL, "info", cap, NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	cr_expect_eq(wc_test_sql_int(db, "PRAGMA user_version", 0, NULL),
		     WC_DB_SCHEMA_VERSION);
	free(src);
	free(cap);
	free(db);
}

Test(cli, info_rejects_foreign_sqlite)
{
	char *other = wc_test_tmpfile("foreign.sqlite");
	char *argv[] = { "python3", "-c",
		"import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('create table t(x)'); c.commit()",
		other, NULL };
	struct wc_run r;

	cr_assert_eq(wc_run_program(&r, NULL, "python3", argv), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "info", other, NULL), 0);
	cr_expect_eq(r.status, 1);
	cr_expect_eq(wc_count_lines(r.err), 1, "%s", r.err);
	cr_expect(strstr(r.err, "not a waitchain case database"), "%s", r.err);
	wc_run_free(&r);
	free(other);
}

Test(cli, sql_table_csv_json)
{
	const char *db = hostile_db();
	const char *sql = "SELECT tid, comm FROM thread WHERE comm IS NOT NULL ORDER BY utid";
	int64_t n = wc_test_sql_int(db, "SELECT count(*) FROM thread WHERE comm IS NOT NULL", -1, NULL);
	struct wc_run r;
	char *v, *want;

	cr_assert_gt(n, 3);
	cr_assert_eq(wc_run(&r, NULL, "sql", db, sql, NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_eq(wc_count_lines(r.out), n + 2);	/* header + dashes */
	cr_expect_null(memchr(r.out, 0x1b, r.out_len));
	wc_run_free(&r);

	cr_assert_eq(wc_run(&r, NULL, "sql", db, sql, "--csv", NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	v = python_check(r.out, "csv",
			 "len(data) - 1, data[0], any(row[1] == '\\x1b[31mred' for row in data), "
			 "any(row[1] == \"'=cmd\" for row in data) or not any(row[1].startswith('=') for row in data)");
	want = wc_test_path("%lld ['tid', 'comm'] True True\n", (long long)n);
	cr_expect_str_eq(v, want);
	free(v);
	free(want);
	wc_run_free(&r);

	cr_assert_eq(wc_run(&r, NULL, "sql", db, sql, "--json", NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	v = python_check(r.out, "json",
			 "len(data), sorted(data[0].keys()), any(x['comm'] == '</script><b>' for x in data), '</script>' in raw");
	want = wc_test_path("%lld ['comm', 'tid'] True False\n", (long long)n);
	cr_expect_str_eq(v, want);
	free(v);
	free(want);
	wc_run_free(&r);
}

Test(cli, sql_statements_from_stdin)
{
	const char *db = hostile_db();
	char *script = wc_test_tmpfile("script.sql");
	const char *text = "SELECT 1 AS one;\n-- a comment\nSELECT 2 AS two, 'x' AS x;\n";
	struct wc_run r;

	cr_assert_eq(wc_test_write_file(script, text, strlen(text)), 0);
	cr_assert_eq(wc_run(&r, script, "sql", db, "--csv", NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_str_eq(r.out, "one\r\n1\r\ntwo,x\r\n2,x\r\n");
	wc_run_free(&r);
	free(script);
}

Test(cli, sql_is_read_only)
{
	const char *db = hostile_db();
	char *evil = wc_test_tmpfile("evil.db");
	char *attach = wc_test_path("ATTACH '%s' AS evil", evil);
	char *vacuum = wc_test_path("VACUUM INTO '%s'", evil);
	const char *bad[] = {
		"INSERT INTO capture VALUES ('x', 'y')",
		"UPDATE thread SET comm = 'x'",
		"DELETE FROM sched_switch",
		"DROP TABLE futex",
		"CREATE TABLE t(x)",
		"CREATE TEMP TABLE t(x)",
		"PRAGMA query_only = 0",
		"PRAGMA writable_schema = 1",
		"SELECT load_extension('/tmp/x.so')",
		attach,
		vacuum,
	};
	int64_t before = wc_test_sql_int(db, "SELECT count(*) FROM sched_switch", -1, NULL);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct wc_run r;

		cr_assert_eq(wc_run(&r, NULL, "sql", db, bad[i], NULL), 0);
		cr_expect_eq(r.status, 1, "'%s' was allowed: %s", bad[i], r.out);
		cr_expect_eq(wc_count_lines(r.err), 1, "%s", r.err);
		wc_run_free(&r);
	}
	cr_expect(access(evil, F_OK) != 0, "a statement created %s", evil);
	cr_expect_eq(wc_test_sql_int(db, "SELECT count(*) FROM sched_switch", -1, NULL), before);
	cr_expect_eq(wc_test_sql_int(db, "SELECT count(*) FROM capture WHERE key = 'x'", -1, NULL), 0);
	/* reading pragmas still work */
	{
		struct wc_run r;

		cr_assert_eq(wc_run(&r, NULL, "sql", db, "PRAGMA table_info(futex)", "--csv", NULL), 0);
		cr_expect_eq(r.status, 0, "%s", r.err);
		cr_expect(strstr(r.out, "uaddr"));
		wc_run_free(&r);
	}
	free(attach);
	free(vacuum);
	free(evil);
}
