/*
 * test_diff.c - `waitchain diff`: the numbers of each side equal plain
 * SQL on that side's database (written here, independently of the
 * verdict and of report/diff.c), the change is after minus before, a
 * database compared with itself changes by exactly zero everywhere, and
 * the HTML page is self-contained (CSP, no script, names escaped).
 * JSON is read with python3's json module.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wc_test.h"

/* Flattens the diff JSON (argv[1]) into "key value" lines. */
static const char flatten[] =
	"import json, sys\n"
	"d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
	"def out(k, v): print(k.replace(' ', '_'), v)\n"
	"for side in ('before', 'after'):\n"
	"    s = d[side]\n"
	"    out(side + '.global_ns', s['global_ns'])\n"
	"    out(side + '.global_blocks', s['global_blocks'])\n"
	"    out(side + '.observed_ns', s['observed_ns'])\n"
	"    for k, v in s['distribution'].items():\n"
	"        if k != 'histogram': out(side + '.' + k, v)\n"
	"    out(side + '.hist_sum', sum(b['blocks'] for b in s['distribution']['histogram']))\n"
	"for k, v in d['change'].items(): out('change.' + k, v)\n"
	"for v in d['vcpus']:\n"
	"    for side in ('before', 'after'):\n"
	"        if v[side]:\n"
	"            out(side + '.vcpu.' + v['name'] + '.global_ns', v[side]['global_ns'])\n"
	"            out(side + '.vcpu.' + v['name'] + '.global_blocks', v[side]['global_blocks'])\n"
	"            out(side + '.vcpu.' + v['name'] + '.p99_ns', v[side]['p99_ns'])\n"
	"    out('change.vcpu.' + v['name'] + '.global_ns', v['change']['global_ns'])\n"
	"    out('nonzero_change', sum(1 for x in v['change'].values() if x))\n"
	"for h in d['holders']:\n"
	"    n = h['name'] if h['name'] is not None else '(unknown)'\n"
	"    for side in ('before', 'after'):\n"
	"        if h[side]: out(side + '.holder.' + n + '.held_ns', h[side]['held_ns'])\n"
	"    out('change.holder.' + n, h['change_ns'])\n"
	"out('holders', len(d['holders']))\n"
	"out('new_top_holders', len(d['new_top_holders']))\n";

static char *import_sample(const char *sample)
{
	char *capture = wc_test_sample(sample, "capture.trace.dat");
	char name[256];
	char *db;
	struct wc_run r;

	snprintf(name, sizeof(name), "%s.db", sample);
	db = wc_test_tmpfile(name);
	cr_assert_eq(wc_run(&r, NULL, "import", "-q", capture, "-o", db, NULL), 0);
	cr_assert_eq(r.status, 0, "import %s: %s", sample, r.err);
	wc_run_free(&r);
	free(capture);
	return db;
}

/* Runs diff --json on the two databases and flattens it. Caller frees. */
static char *diff_flat(const char *before, const char *after)
{
	char *json = wc_test_tmpfile("diff.json");
	char *script = wc_test_tmpfile("flatten.py");
	char *argv[] = { "python3", script, json, NULL };
	struct wc_run r;
	char *flat;

	cr_assert_eq(wc_test_write_file(script, flatten, strlen(flatten)), 0);
	cr_assert_eq(wc_run(&r, NULL, "diff", before, after, "--json", "-o", json, NULL), 0);
	cr_assert_eq(r.status, 0, "diff: %s", r.err);
	wc_run_free(&r);
	cr_assert_eq(wc_run_program(&r, NULL, "python3", argv), 0);
	cr_assert_eq(r.status, 0, "diff JSON does not parse: %s", r.err);
	flat = strdup(r.out);
	wc_run_free(&r);
	free(json);
	free(script);
	return flat;
}

/* Value of KEY in the flattened output; fails if absent. */
static int64_t val(const char *flat, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = flat; *p; ) {
		const char *nl = strchr(p, '\n');

		if (strncmp(p, key, n) == 0 && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		if (!nl)
			break;
		p = nl + 1;
	}
	cr_assert_fail("no %s in the diff output:\n%s", key, flat);
	return 0;
}

static int64_t sql(const char *db, const char *query)
{
	int ok = 0;
	int64_t v = wc_test_sql_int(db, query, 0, &ok);

	cr_assert(ok, "SQL failed on %s: %s", db, query);
	return v;
}

/* Nearest-rank percentile P of the vCPU global-mutex block durations. */
static int64_t percentile(const char *db, int p)
{
	int64_t n = sql(db, "SELECT count(*) FROM block WHERE is_vcpu = 1 AND on_global_lock = 1");
	char q[512];
	int64_t k = (n * p + 99) / 100;

	if (n == 0)
		return 0;
	snprintf(q, sizeof(q), "SELECT end_ns - start_ns FROM block WHERE is_vcpu = 1 "
		 "AND on_global_lock = 1 ORDER BY 1 LIMIT 1 OFFSET %lld", (long long)k - 1);
	return sql(db, q);
}

static const char q_global_ns[] =
	"SELECT coalesce(sum(s.end_ns - s.start_ns), 0) FROM thread_state s "
	"JOIN block b ON b.id = s.block_id JOIN vcpu v ON v.utid = s.utid "
	"WHERE s.state IN ('sleeping', 'blocked_io') AND b.on_global_lock = 1";

/* Checks SIDE ("before"/"after") of FLAT against DB. */
static void check_side(const char *flat, const char *side, const char *db)
{
	char key[256], q[1024];

	snprintf(key, sizeof(key), "%s.global_ns", side);
	cr_assert_eq(val(flat, key), sql(db, q_global_ns), "%s", key);
	snprintf(key, sizeof(key), "%s.blocks", side);
	cr_assert_eq(val(flat, key), sql(db, "SELECT count(*) FROM block "
					 "WHERE is_vcpu = 1 AND on_global_lock = 1"));
	snprintf(key, sizeof(key), "%s.hist_sum", side);
	cr_assert_eq(val(flat, key), sql(db, "SELECT count(*) FROM block "
					 "WHERE is_vcpu = 1 AND on_global_lock = 1"));
	snprintf(key, sizeof(key), "%s.global_blocks", side);
	cr_assert_eq(val(flat, key), sql(db, "SELECT count(*) FROM block "
					 "WHERE is_vcpu = 1 AND on_global_lock = 1"));
	snprintf(key, sizeof(key), "%s.total_ns", side);
	cr_assert_eq(val(flat, key), sql(db, "SELECT coalesce(sum(end_ns - start_ns), 0) "
					 "FROM block WHERE is_vcpu = 1 AND on_global_lock = 1"));
	snprintf(key, sizeof(key), "%s.max_ns", side);
	cr_assert_eq(val(flat, key), sql(db, "SELECT coalesce(max(end_ns - start_ns), 0) "
					 "FROM block WHERE is_vcpu = 1 AND on_global_lock = 1"));
	snprintf(key, sizeof(key), "%s.p50_ns", side);
	cr_assert_eq(val(flat, key), percentile(db, 50), "%s", key);
	snprintf(key, sizeof(key), "%s.p95_ns", side);
	cr_assert_eq(val(flat, key), percentile(db, 95), "%s", key);
	snprintf(key, sizeof(key), "%s.p99_ns", side);
	cr_assert_eq(val(flat, key), percentile(db, 99), "%s", key);

	/* per vCPU, by name */
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "%s.vcpu.CPU_%d/KVM.global_ns", side, i);
		snprintf(q, sizeof(q), "%s AND v.comm = 'CPU %d/KVM'", q_global_ns, i);
		cr_assert_eq(val(flat, key), sql(db, q), "%s", key);
		snprintf(key, sizeof(key), "%s.vcpu.CPU_%d/KVM.global_blocks", side, i);
		snprintf(q, sizeof(q), "SELECT count(*) FROM block b JOIN thread t ON "
			 "t.utid = b.utid WHERE b.is_vcpu = 1 AND b.on_global_lock = 1 "
			 "AND t.comm = 'CPU %d/KVM'", i);
		cr_assert_eq(val(flat, key), sql(db, q), "%s", key);
	}
	/* the main loop's time holding the mutex while vCPUs waited */
	snprintf(key, sizeof(key), "%s.holder.qemu-main.held_ns", side);
	cr_assert_eq(val(flat, key),
		     sql(db, "SELECT coalesce(sum(c.to_ns - c.from_ns), 0) FROM chain c "
			     "JOIN block b ON b.id = c.block_id JOIN thread t ON t.utid = c.utid "
			     "WHERE c.depth = 1 AND b.is_vcpu = 1 AND b.on_global_lock = 1 "
			     "AND t.comm = 'qemu-main'"), "%s", key);
}

Test(diff, two_samples_match_sql_on_each_side, .timeout = 300)
{
	char *before, *after, *flat;

	if (!wc_have_program("python3"))
		cr_skip_test("python3 is needed to read the JSON independently");
	before = import_sample("bql-stacks");
	after = import_sample("bql-hogs");
	flat = diff_flat(before, after);
	check_side(flat, "before", before);
	check_side(flat, "after", after);
	cr_assert_eq(val(flat, "change.global_ns"),
		     val(flat, "after.global_ns") - val(flat, "before.global_ns"));
	cr_assert_eq(val(flat, "change.blocks"),
		     val(flat, "after.blocks") - val(flat, "before.blocks"));
	cr_assert_eq(val(flat, "change.p99_ns"),
		     val(flat, "after.p99_ns") - val(flat, "before.p99_ns"));
	cr_assert_eq(val(flat, "change.holder.qemu-main"),
		     val(flat, "after.holder.qemu-main.held_ns") -
		     val(flat, "before.holder.qemu-main.held_ns"));
	/* bql-hogs has a fourth vCPU: only after, and new among the holders */
	cr_assert_eq(val(flat, "after.vcpu.CPU_3/KVM.global_blocks"),
		     sql(after, "SELECT count(*) FROM block b JOIN thread t ON t.utid = b.utid "
			 "WHERE b.is_vcpu = 1 AND b.on_global_lock = 1 AND t.comm = 'CPU 3/KVM'"));
	cr_assert_eq(val(flat, "change.vcpu.CPU_3/KVM.global_ns"),
		     val(flat, "after.vcpu.CPU_3/KVM.global_ns"));
	free(flat);
	free(before);
	free(after);
}

Test(diff, same_database_changes_nothing, .timeout = 300)
{
	char *db, *flat;
	struct wc_run r;

	if (!wc_have_program("python3"))
		cr_skip_test("python3 is needed to read the JSON independently");
	db = import_sample("bql-stacks");
	flat = diff_flat(db, db);
	check_side(flat, "before", db);
	check_side(flat, "after", db);
	cr_assert_eq(val(flat, "change.global_ns"), 0);
	cr_assert_eq(val(flat, "change.blocks"), 0);
	cr_assert_eq(val(flat, "change.p50_ns"), 0);
	cr_assert_eq(val(flat, "change.p90_ns"), 0);
	cr_assert_eq(val(flat, "change.p95_ns"), 0);
	cr_assert_eq(val(flat, "change.p99_ns"), 0);
	cr_assert_eq(val(flat, "change.max_ns"), 0);
	cr_assert_eq(val(flat, "change.holder.qemu-main"), 0);
	cr_assert_gt(val(flat, "holders"), 0);
	cr_assert_eq(val(flat, "new_top_holders"), 0);
	cr_assert_null(strstr(flat, "nonzero_change 1"), "%s", flat);
	cr_assert_null(strstr(flat, "nonzero_change 2"), "%s", flat);
	cr_assert_null(strstr(flat, "nonzero_change 3"), "%s", flat);

	/* the text form says so too */
	cr_assert_eq(wc_run(&r, NULL, "diff", db, db, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "not in the top 5 before): none\n"), "%s", r.out);
	cr_assert_null(strstr(r.out, "(+"), "%s", r.out);
	cr_assert_null(strstr(r.out, "(-"), "%s", r.out);
	wc_run_free(&r);
	free(flat);
	free(db);
}

Test(diff, html_is_self_contained_and_escaped, .timeout = 300)
{
	char *db = import_sample("bql-stacks");
	char *odd = wc_test_tmpfile("odd<script>&.db");
	char *html = wc_test_tmpfile("diff.html");
	struct wc_run r;
	char *page;

	cr_assert_eq(wc_test_copy_file(db, odd, SIZE_MAX), 0);
	cr_assert_eq(wc_run(&r, NULL, "diff", db, odd, "--html", "-o", html, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	page = wc_test_read_file(html, NULL);
	cr_assert(page);
	cr_assert(strstr(page, "<meta http-equiv=\"Content-Security-Policy\" "
			 "content=\"default-src 'none'; style-src 'sha256-"), "no CSP");
	cr_assert_null(strstr(page, "<script"), "a script in the page");
	cr_assert(strstr(page, "odd&lt;script&gt;&amp;.db"), "file name not escaped");
	cr_assert_eq(wc_count_lines(strstr(page, "<svg") ? "x\n" : ""), 1, "no histogram");
	cr_assert(strstr(strstr(page, "<svg") + 4, "<svg"), "histograms not side by side");
	cr_assert(strstr(page, "CPU 0/KVM"));
	free(page);
	free(html);
	free(odd);
	free(db);
}

Test(diff, usage_errors)
{
	struct wc_run r;

	cr_assert_eq(wc_run(&r, NULL, "diff", "only-one.db", NULL), 0);
	cr_assert_eq(r.status, 2);
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "diff", "a.db", "b.db", "--format", "pdf", NULL), 0);
	cr_assert_eq(r.status, 2);
	wc_run_free(&r);
}
