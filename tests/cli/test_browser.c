/*
 * test_browser.c - the HTML report in a real browser.
 *
 * Imports a sample, writes `waitchain report -o report.html`, reads the
 * numbers the page must show straight from the case database with plain
 * SQL (not through waitchain's queries or verdict code), and runs
 * tests/browser/run.mjs, which opens the page in headless Chromium
 * (Debian's /usr/bin/chromium, driven by playwright-core) and checks them,
 * plus the canvas, zooming, clicking a block and hostile names.
 *
 * Needs: chromium (apt-get install -y chromium), node and
 * `npm ci --prefix tests/browser`.  Skips (cr_skip) only when one of those
 * is missing.  The screenshot lands in $WC_TMP/report-*.png.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "waitchain/escape.h"
#include "waitchain/util.h"
#include "wc_test.h"

static const char *chromium_path(void)
{
	const char *c = getenv("WC_CHROMIUM");

	return c && *c ? c : "/usr/bin/chromium";
}

/* Skips the test unless chromium, node and the npm packages are there. */
static void need_browser(void)
{
	char *pw = wc_test_path("%s/tests/browser/node_modules/playwright-core/package.json",
				wc_test_source());

	if (access(chromium_path(), X_OK) != 0)
		cr_skip_test("no %s (apt-get install -y chromium)", chromium_path());
	if (!wc_have_program("node"))
		cr_skip_test("no node (apt-get install -y nodejs)");
	if (access(pw, R_OK) != 0)
		cr_skip_test("no %s (npm ci --prefix tests/browser)", pw);
	free(pw);
}

static sqlite3 *open_db(const char *path)
{
	sqlite3 *db = NULL;

	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK,
		     "%s", path);
	return db;
}

/* First column of the first row of SQL with integer parameters P1, P2. */
static int64_t q_int(sqlite3 *db, const char *sql, int64_t p1, int64_t p2)
{
	sqlite3_stmt *st = NULL;
	int64_t v = 0;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s",
		     sql, sqlite3_errmsg(db));
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, p1);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, p2);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Nearest-rank percentile P of the global-mutex block durations of UTID. */
static int64_t pctl(sqlite3 *db, int64_t utid, int64_t n, int p)
{
	int64_t k = (n * p + 99) / 100;

	if (!n)
		return 0;
	return q_int(db, "SELECT end_ns - start_ns FROM block WHERE utid = ?1 AND "
		     "on_global_lock = 1 ORDER BY 1 LIMIT 1 OFFSET ?2", utid, k - 1);
}

static const char *chain_state_name(const char *s)
{
	static const char *const map[][2] = {
		{ "running", "running" }, { "preempted", "preempted" },
		{ "runnable", "runnable" }, { "futex", "futex" },
		{ "blocked_io", "io" }, { "sleeping", "sleeping" },
		{ "deadlock", "deadlock" }, { "dead", "dead" },
	};

	for (size_t i = 0; s && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(s, map[i][0]))
			return map[i][1];
	return "unknown";
}

/* A name as the page shows it: control characters as \xNN. */
static void add_visible_name(struct wc_buf *b, const char *name)
{
	struct wc_buf v = WC_BUF_INIT;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			wc_buf_printf(&v, "\\x%02x", *p);
		else
			wc_buf_addc(&v, *p);
	}
	wc_esc_json_str(b, v.data ? v.data : "", v.len);
	wc_buf_free(&v);
}

/*
 * Writes the expectations of run.mjs for DB_PATH to a new file and
 * returns its path (caller frees): global mutex, per-vCPU times and
 * percentiles from thread_state/block, and the longest vCPU block on the
 * global mutex that has a depth-2 chain (else the longest) with its
 * holders and chain rows.  NAMES (NULL-terminated, may be NULL) must show
 * as text.
 */
static char *write_expect(const char *db_path, const char *name,
			  const char *const *names)
{
	sqlite3 *db = open_db(db_path);
	sqlite3_stmt *st = NULL;
	struct wc_buf b = WC_BUF_INIT;
	int64_t gpid, gaddr, bid, nv = 0;
	char *path = wc_test_tmpfile(name);

	gaddr = q_int(db, "SELECT futex_uaddr FROM global_lock ORDER BY blocked_ns DESC LIMIT 1", 0, 0);
	gpid = q_int(db, "SELECT coalesce(pid, -1) FROM global_lock ORDER BY blocked_ns DESC LIMIT 1", 0, 0);
	cr_assert_neq(gaddr, 0, "%s: no global mutex found", db_path);
	wc_buf_printf(&b, "{\"lock_uaddr\":\"0x%llx\",\"nblocks\":%lld,\"vcpus\":[",
		      (unsigned long long)gaddr,
		      (long long)q_int(db, "SELECT count(*) FROM block WHERE is_vcpu = 1 AND "
				       "on_global_lock = 1 AND futex_uaddr = ?1 AND "
				       "coalesce(futex_pid, -1) = ?2", gaddr, gpid));
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT utid, tid FROM vcpu ORDER BY vcpu_index, tid",
					-1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t utid = sqlite3_column_int64(st, 0);
		int64_t n = q_int(db, "SELECT count(*) FROM block WHERE utid = ?1 AND on_global_lock = 1", utid, 0);
#define STATE_SUM(cond) q_int(db, "SELECT coalesce(sum(s.end_ns - s.start_ns), 0) FROM thread_state s " \
			      "LEFT JOIN block b ON b.id = s.block_id WHERE s.utid = ?1 AND " cond, utid, 0)
		wc_buf_printf(&b, "%s{\"tid\":%lld,\"running_ns\":%lld,\"preempted_ns\":%lld,"
			      "\"woken_ns\":%lld,\"global_ns\":%lld,\"other_blocked_ns\":%lld,"
			      "\"global_blocks\":%lld,\"p50_ns\":%lld,\"p95_ns\":%lld,"
			      "\"p99_ns\":%lld,\"max_ns\":%lld,\"uncertain_global_blocks\":%lld}",
			      nv++ ? "," : "", (long long)sqlite3_column_int64(st, 1),
			      (long long)STATE_SUM("s.state = 'running'"),
			      (long long)STATE_SUM("s.state = 'runnable' AND s.runnable_reason = 'preempted'"),
			      (long long)STATE_SUM("s.state = 'runnable' AND coalesce(s.runnable_reason, '') <> 'preempted'"),
			      (long long)STATE_SUM("s.state IN ('sleeping', 'blocked_io') AND b.on_global_lock = 1"),
			      (long long)STATE_SUM("s.state IN ('sleeping', 'blocked_io') AND coalesce(b.on_global_lock, 0) = 0"),
			      (long long)n, (long long)pctl(db, utid, n, 50),
			      (long long)pctl(db, utid, n, 95), (long long)pctl(db, utid, n, 99),
			      (long long)pctl(db, utid, n, 100),
			      (long long)q_int(db, "SELECT count(*) FROM block WHERE utid = ?1 AND is_vcpu = 1 "
					       "AND on_global_lock = 1 AND uncertain = 1", utid, 0));
#undef STATE_SUM
	}
	sqlite3_finalize(st);
	cr_assert_gt(nv, 0, "%s: no vCPU threads", db_path);

	bid = q_int(db, "SELECT coalesce((SELECT b.id FROM block b WHERE b.is_vcpu = 1 AND b.on_global_lock = 1 "
		    "AND EXISTS (SELECT 1 FROM chain c WHERE c.block_id = b.id AND c.depth > 1) "
		    "ORDER BY b.end_ns - b.start_ns DESC, b.id LIMIT 1), (SELECT b.id FROM block b "
		    "WHERE b.is_vcpu = 1 AND b.on_global_lock = 1 ORDER BY b.end_ns - b.start_ns DESC, "
		    "b.id LIMIT 1))", 0, 0);
	wc_buf_printf(&b, "],\"nuncertain\":%lld,\"lanes_min\":%lld,\"block\":{\"id\":%lld,"
		      "\"uncertain\":%lld,\"holders\":[",
		      (long long)q_int(db, "SELECT count(*) FROM block WHERE is_vcpu = 1 AND "
				       "on_global_lock = 1 AND uncertain = 1", 0, 0),
		      (long long)nv, (long long)bid,
		      (long long)q_int(db, "SELECT uncertain FROM block WHERE id = ?1", bid, 0));
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT holder_tid FROM block_holder WHERE block_id = ?1 "
					"AND holder_tid IS NOT NULL ORDER BY seq", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, bid);
	for (int i = 0; sqlite3_step(st) == SQLITE_ROW; i++)
		wc_buf_printf(&b, "%s%lld", i ? "," : "", (long long)sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	wc_buf_adds(&b, "],\"chain\":[");
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT depth, coalesce(tid, -1), state FROM chain "
					"WHERE block_id = ?1 ORDER BY id", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, bid);
	for (int i = 0; sqlite3_step(st) == SQLITE_ROW; i++)
		wc_buf_printf(&b, "%s{\"depth\":%d,\"tid\":%lld,\"state\":\"%s\"}", i ? "," : "",
			      sqlite3_column_int(st, 0), (long long)sqlite3_column_int64(st, 1),
			      chain_state_name((const char *)sqlite3_column_text(st, 2)));
	sqlite3_finalize(st);
	wc_buf_adds(&b, "]},\"names\":[");
	for (size_t i = 0; names && names[i]; i++) {
		if (i)
			wc_buf_addc(&b, ',');
		add_visible_name(&b, names[i]);
	}
	wc_buf_adds(&b, "]}\n");
	cr_assert_eq(wc_test_write_file(path, b.data, b.len), 0);
	wc_buf_free(&b);
	sqlite3_close(db);
	return path;
}

/* Runs run.mjs on REPORT with EXPECT; asserts it passed. */
static void run_browser(const char *report, const char *expect, const char *shot)
{
	struct wc_run r;
	char *script = wc_test_path("%s/tests/browser/run.mjs", wc_test_source());
	char *argv[] = { "node", script, (char *)report, (char *)expect, (char *)shot, NULL };

	cr_assert_eq(wc_run_program(&r, NULL, "node", argv), 0);
	cr_log_info("%s", r.out);
	cr_assert_eq(r.status, 0, "browser checks failed:\n%s\n%s", r.out, r.err);
	cr_expect(strstr(r.out, "all checks passed"), "%s", r.out);
	wc_run_free(&r);
	free(script);
}

Test(browser, report_of_a_sample_with_stacks, .timeout = 300)
{
	struct wc_run r;
	char *cap, *db, *html, *expect, *shot;

	need_browser();
	cap = wc_test_sample("bql-stacks", "capture.trace.dat");
	db = wc_test_tmpfile("stacks.db");
	html = wc_test_tmpfile("report-stacks.html");
	shot = wc_test_tmpfile("report-stacks.png");
	cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", db, "-q", NULL), 0);
	cr_assert_eq(r.status, 0, "import: %s", r.err);
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "report", db, "-o", html, NULL), 0);
	cr_assert_eq(r.status, 0, "report: %s", r.err);
	wc_run_free(&r);
	expect = write_expect(db, "expect-stacks.json", NULL);
	run_browser(html, expect, shot);
	free(cap);
	free(db);
	free(html);
	free(expect);
	free(shot);
}

Test(browser, hostile_thread_names_are_text, .timeout = 300)
{
	struct wc_run r;
	struct wc_csv csv;
	char *cap, *db, *html, *expect, *shot, *threads;
	const char *names[8] = { NULL };
	char tidbuf[4][24];
	struct wc_buf re = WC_BUF_INIT;
	size_t nnames = 0, nmain = 0, nvcpu = 0;
	int ccomm, crole, ctid;

	need_browser();
	cap = wc_test_sample("hostile-names", "capture.trace.dat");
	threads = wc_test_sample("hostile-names", "threads.csv");
	db = wc_test_tmpfile("hostile.db");
	html = wc_test_tmpfile("report-hostile.html");
	shot = wc_test_tmpfile("report-hostile.png");
	cr_assert_eq(wc_csv_read(threads, &csv), 0, "%s", threads);
	ccomm = wc_csv_col(&csv, "comm");
	crole = wc_csv_col(&csv, "role");
	ctid = wc_csv_col(&csv, "tid");
	cr_assert(ccomm >= 0 && crole >= 0 && ctid >= 0);
	/* the hostile names are vCPUs and the main loop (a holder) */
	for (size_t i = 0; i < csv.nrows && nnames < 7; i++) {
		const char *role = csv.rows[i][crole];

		if (!strcmp(role, "vcpu")) {
			/* an ERE matching exactly this name */
			wc_buf_adds(&re, nvcpu++ ? "|" : "^(");
			for (const char *c = csv.rows[i][ccomm]; *c; c++) {
				if (strchr("\\^$.|?*+()[]{}", *c))
					wc_buf_addc(&re, '\\');
				wc_buf_addc(&re, *c);
			}
		}
		if (!strcmp(role, "vcpu") || !strcmp(role, "main")) {
			names[nnames++] = csv.rows[i][ccomm];
			if (!strcmp(role, "main") && nmain < 4)
				snprintf(tidbuf[nmain++], sizeof(tidbuf[0]), "%s", csv.rows[i][ctid]);
		}
	}
	cr_assert_geq(nnames, 4, "threads.csv lists the hostile names");
	cr_assert_geq(nvcpu, 1);
	cr_assert_geq(nmain, 1);
	wc_buf_adds(&re, ")$");
	cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", db, "-q", "--no-analyze", NULL), 0);
	cr_assert_eq(r.status, 0, "import: %s", r.err);
	wc_run_free(&r);
	/* the vCPU threads of this sample named themselves: select them by
	 * those names (threads.csv role vcpu) */
	cr_assert_eq(wc_run(&r, NULL, "analyze", db, "-q", "--vcpu", re.data, NULL), 0);
	cr_assert_eq(r.status, 0, "analyze: %s", r.err);
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "report", db, "-o", html, "--thread", tidbuf[0], NULL), 0);
	cr_assert_eq(r.status, 0, "report: %s", r.err);
	wc_run_free(&r);
	expect = write_expect(db, "expect-hostile.json", names);
	run_browser(html, expect, shot);
	wc_csv_free(&csv);
	wc_buf_free(&re);
	free(cap);
	free(threads);
	free(db);
	free(html);
	free(expect);
	free(shot);
}

/* Without sched_waking every woken block rests on the sched_wakeup
 * fallback: the page must count and mark those uncertain blocks as the
 * database does, and the clicked block shows the badge. */
Test(browser, uncertain_blocks_are_marked, .timeout = 300)
{
	struct wc_run r;
	char *cap, *db, *html, *expect;

	need_browser();
	cap = wc_test_sample("degraded-nowaking", "capture.perf.data");
	db = wc_test_tmpfile("nowaking.db");
	html = wc_test_tmpfile("report-nowaking.html");
	cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", db, "-q", NULL), 0);
	cr_assert_eq(r.status, 0, "import: %s", r.err);
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "report", db, "-o", html, NULL), 0);
	cr_assert_eq(r.status, 0, "report: %s", r.err);
	wc_run_free(&r);
	{
		sqlite3 *h = open_db(db);

		cr_assert_gt(q_int(h, "SELECT count(*) FROM block WHERE is_vcpu = 1 AND "
				   "on_global_lock = 1 AND uncertain = 1", 0, 0), 0,
			     "the sample has uncertain vCPU blocks");
		sqlite3_close(h);
	}
	expect = write_expect(db, "expect-nowaking.json", NULL);
	run_browser(html, expect, NULL);
	free(cap);
	free(db);
	free(html);
	free(expect);
}
