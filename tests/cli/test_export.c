/*
 * test_export.c - `waitchain export --format perfetto-json`: the document
 * must parse as JSON (python3's json module, an independent parser) and
 * hold exactly the slices, flows and names the analysis tables say,
 * counted and summed with plain SQL on the same database.  Timestamps are
 * compared to the nanosecond (the script reads them as decimals).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wc_test.h"

/* Reads the JSON (argv[1]) with exact decimals and prints "key value"
 * lines: counts and nanosecond sums per kind of event. */
static const char checker[] =
	"import json, sys, collections\n"
	"from decimal import Decimal\n"
	"doc = json.load(open(sys.argv[1], encoding='utf-8'), parse_float=Decimal)\n"
	"assert doc['displayTimeUnit'] == 'ns'\n"
	"ns = lambda v: int(Decimal(v) * 1000)\n"
	"c = collections.Counter()\n"
	"outs, ins = {}, {}\n"
	"for e in doc['traceEvents']:\n"
	"    ph, cat, name = e['ph'], e.get('cat'), e['name']\n"
	"    if ph == 'M':\n"
	"        c['meta_' + name] += 1\n"
	"        continue\n"
	"    assert ph == 'X', e\n"
	"    assert isinstance(e['pid'], int) and isinstance(e['tid'], int)\n"
	"    c['x_' + cat] += 1\n"
	"    c['dur_' + cat] += ns(e['dur'])\n"
	"    if cat == 'state':\n"
	"        c['state_' + name.split(' ')[0].replace('I/O', 'io')] += 1\n"
	"        if name == 'running': c['running_ns'] += ns(e['dur'])\n"
	"    if cat == 'global_mutex':\n"
	"        a = e['args']\n"
	"        c['holders'] += len(a['holders'])\n"
	"        c['chain_rows'] += a['chain_rows']\n"
	"        c['block_start_ns'] += ns(e['ts'])\n"
	"        c['waker_holders'] += sum(h['is_waker'] for h in a['holders'])\n"
	"    if e.get('flow_out'):\n"
	"        outs[e['bind_id']] = ns(e['ts'])\n"
	"        c['wake_ts_ns'] += ns(e['ts'])\n"
	"    if e.get('flow_in'):\n"
	"        ins[e['bind_id']] = ns(e['ts'])\n"
	"c['flows'] = len(set(outs) & set(ins))\n"
	"c['unpaired'] = len(set(outs) ^ set(ins))\n"
	"c['backwards'] = sum(1 for k in outs if k in ins and outs[k] > ins[k])\n"
	"for k in sorted(c): print(k, c[k])\n";

struct sample_db {
	char *db;
	char *json;
	char *script;
};

/* Imports SAMPLE's trace.dat and exports it; fills S. */
static void export_sample(const char *sample, struct sample_db *s)
{
	char *capture = wc_test_sample(sample, "capture.trace.dat");
	char name[256];
	struct wc_run r;

	snprintf(name, sizeof(name), "%s.db", sample);
	s->db = wc_test_tmpfile(name);
	snprintf(name, sizeof(name), "%s.json", sample);
	s->json = wc_test_tmpfile(name);
	s->script = wc_test_tmpfile("check_export.py");
	cr_assert_eq(wc_test_write_file(s->script, checker, strlen(checker)), 0);
	cr_assert_eq(wc_run(&r, NULL, "import", "-q", capture, "-o", s->db, NULL), 0);
	cr_assert_eq(r.status, 0, "import: %s", r.err);
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "export", s->db, "--format", "perfetto-json",
			    "-o", s->json, NULL), 0);
	cr_assert_eq(r.status, 0, "export: %s", r.err);
	cr_assert_str_eq(r.out, "", "-o FILE writes nothing to stdout");
	wc_run_free(&r);
	free(capture);
}

static void sample_free(struct sample_db *s)
{
	free(s->db);
	free(s->json);
	free(s->script);
}

/* The checker's value for KEY (0 if it printed none). */
static int64_t stat_of(const char *out, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, key, n) == 0 && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	return 0;
}

static int64_t sql(const char *db, const char *query)
{
	int ok = 0;
	int64_t v = wc_test_sql_int(db, query, -1, &ok);

	cr_assert(ok, "SQL failed: %s", query);
	return v;
}

static void check_sample(const char *sample)
{
	struct sample_db s;
	struct wc_run r;
	char *argv[4];

	if (!wc_have_program("python3"))
		cr_skip_test("python3 is needed to parse the JSON independently");
	export_sample(sample, &s);
	argv[0] = "python3";
	argv[1] = s.script;
	argv[2] = s.json;
	argv[3] = NULL;
	cr_assert_eq(wc_run_program(&r, NULL, "python3", argv), 0);
	cr_assert_eq(r.status, 0, "the export is not valid JSON: %s", r.err);

	cr_assert_eq(stat_of(r.out, "meta_thread_name"),
		     sql(s.db, "SELECT count(*) FROM thread"));
	cr_assert_eq(stat_of(r.out, "meta_thread_sort_index"),
		     sql(s.db, "SELECT count(*) FROM vcpu"));
	cr_assert_eq(stat_of(r.out, "x_state"),
		     sql(s.db, "SELECT count(*) FROM thread_state WHERE state "
			       "NOT IN ('unknown', 'dead')"));
	cr_assert_eq(stat_of(r.out, "state_running"),
		     sql(s.db, "SELECT count(*) FROM thread_state WHERE state = 'running'"));
	cr_assert_eq(stat_of(r.out, "state_runnable"),
		     sql(s.db, "SELECT count(*) FROM thread_state WHERE state = 'runnable'"));
	cr_assert_eq(stat_of(r.out, "state_sleeping"),
		     sql(s.db, "SELECT count(*) FROM thread_state WHERE state = 'sleeping'"));
	cr_assert_eq(stat_of(r.out, "running_ns"),
		     sql(s.db, "SELECT coalesce(sum(end_ns - start_ns), 0) FROM thread_state "
			       "WHERE state = 'running'"));
	cr_assert_gt(stat_of(r.out, "x_global_mutex"), 0);
	cr_assert_eq(stat_of(r.out, "x_global_mutex"),
		     sql(s.db, "SELECT count(*) FROM block WHERE on_global_lock = 1"));
	cr_assert_eq(stat_of(r.out, "dur_global_mutex"),
		     sql(s.db, "SELECT coalesce(sum(end_ns - start_ns), 0) FROM block "
			       "WHERE on_global_lock = 1"));
	cr_assert_eq(stat_of(r.out, "block_start_ns"),
		     sql(s.db, "SELECT coalesce(sum(start_ns), 0) FROM block WHERE on_global_lock = 1"));
	cr_assert_eq(stat_of(r.out, "holders"),
		     sql(s.db, "SELECT count(*) FROM block_holder WHERE block_id IN "
			       "(SELECT id FROM block WHERE on_global_lock = 1)"));
	cr_assert_eq(stat_of(r.out, "waker_holders"),
		     sql(s.db, "SELECT count(*) FROM block_holder WHERE is_waker = 1 "
			       "AND block_id IN (SELECT id FROM block WHERE on_global_lock = 1)"));
	cr_assert_eq(stat_of(r.out, "chain_rows"),
		     sql(s.db, "SELECT count(*) FROM chain WHERE block_id IN "
			       "(SELECT id FROM block WHERE on_global_lock = 1)"));
	/* one flow per global-mutex block whose waker's wake call is known */
	cr_assert_gt(stat_of(r.out, "flows"), 0);
	cr_assert_eq(stat_of(r.out, "flows"),
		     sql(s.db, "SELECT count(*) FROM block b WHERE b.on_global_lock = 1 "
			       "AND EXISTS (SELECT 1 FROM block_holder h, futex f "
			       "WHERE h.block_id = b.id AND h.is_waker = 1 "
			       "AND f.id = h.release_futex_id AND f.enter_ns IS NOT NULL)"));
	cr_assert_eq(stat_of(r.out, "wake_ts_ns"),
		     sql(s.db, "SELECT coalesce(sum(f.enter_ns), 0) FROM block_holder h "
			       "JOIN futex f ON f.id = h.release_futex_id "
			       "WHERE h.is_waker = 1 AND f.enter_ns IS NOT NULL AND h.block_id IN "
			       "(SELECT id FROM block WHERE on_global_lock = 1)"));
	cr_assert_eq(stat_of(r.out, "unpaired"), 0);
	cr_assert_eq(stat_of(r.out, "backwards"), 0, "a flow goes back in time");
	wc_run_free(&r);
	sample_free(&s);
}

Test(export, bql_stacks_slices_and_flows_match_sql, .timeout = 300)
{
	check_sample("bql-stacks");
}

Test(export, bql_hogs_slices_and_flows_match_sql, .timeout = 300)
{
	check_sample("bql-hogs");
}

/* Thread names from the traced machine: the JSON must stay valid. */
Test(export, hostile_names_stay_valid_json, .timeout = 300)
{
	struct sample_db s;
	struct wc_run r;
	char *argv[] = { "python3", "-c",
			 "import json,sys; d=json.load(open(sys.argv[1],'rb'));"
			 "print(sum(1 for e in d['traceEvents'] if e['name']=='thread_name'))",
			 NULL, NULL };

	if (!wc_have_program("python3"))
		cr_skip_test("python3 is needed to parse the JSON independently");
	export_sample("hostile-names", &s);
	argv[3] = s.json;
	cr_assert_eq(wc_run_program(&r, NULL, "python3", argv), 0);
	cr_assert_eq(r.status, 0, "invalid JSON: %s", r.err);
	cr_assert_eq(strtoll(r.out, NULL, 10),
		     sql(s.db, "SELECT count(*) FROM thread"));
	wc_run_free(&r);
	sample_free(&s);
}

Test(export, usage_errors)
{
	struct wc_run r;

	cr_assert_eq(wc_run(&r, NULL, "export", NULL), 0);
	cr_assert_eq(r.status, 2);
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "export", "x.db", "--format", "svg", NULL), 0);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "unknown format 'svg'"), "%s", r.err);
	wc_run_free(&r);
}
