/*
 * test_report.c - the verdict (verdict.h), the text and JSON reports and
 * `waitchain report`, on the hand-made case of report_fixture.h (numbers
 * derived by hand there), with hostile thread names, and on the real
 * sample samples/bql-stacks (numbers checked against SQL written here,
 * independently of the canned queries, on the analysis tables).
 *
 * JSON output is parsed by python3's json module (a second, independent
 * parser) through small scripts that print the values compared here.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_fixture.h"
#include "waitchain/db.h"
#include "waitchain/embedded.h"
#include "waitchain/report.h"
#include "waitchain/util.h"
#include "waitchain/verdict.h"
#include "wc_test.h"

#define HOSTILE_SQL \
	"UPDATE thread SET comm = '<svg/onload=1>' WHERE tid = 100;" \
	"UPDATE thread SET comm = '</script><b>' WHERE tid = 101;" \
	"UPDATE thread SET comm = 'a\"b''c&d' WHERE tid = 103;" \
	"UPDATE thread SET comm = char(27) || '[31mred' WHERE tid = 200;"

/* Creates the fixture as a case database file $WC_TMP/NAME (marked like
 * a waitchain database so that the CLI opens it); EXTRA_SQL (may be NULL)
 * runs after the fixture.  Returns the path; caller frees. */
static char *make_case(const char *name, const char *extra_sql)
{
	char *path = wc_test_tmpfile(name);
	sqlite3 *db = NULL;
	char *e = NULL;

	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "PRAGMA synchronous = OFF; BEGIN", NULL, NULL, &e),
		     SQLITE_OK);
	for (const struct wc_embedded *s = wc_schema_sql; s->name; s++)
		cr_assert_eq(sqlite3_exec(db, s->text, NULL, NULL, &e), SQLITE_OK,
			     "%s: %s", s->name, e ? e : "");
	cr_assert_eq(sqlite3_exec(db, wc_report_fixture_sql, NULL, NULL, &e),
		     SQLITE_OK, "fixture: %s", e ? e : "");
	if (extra_sql)
		cr_assert_eq(sqlite3_exec(db, extra_sql, NULL, NULL, &e), SQLITE_OK,
			     "%s", e ? e : "");
	{
		char *tail = sqlite3_mprintf("COMMIT; PRAGMA application_id = %d;"
					     "PRAGMA user_version = %d;",
					     WC_DB_APPLICATION_ID, WC_DB_SCHEMA_VERSION);

		cr_assert_eq(sqlite3_exec(db, tail, NULL, NULL, &e), SQLITE_OK);
		sqlite3_free(tail);
	}
	sqlite3_close(db);
	return path;
}

static sqlite3 *open_case(const char *path)
{
	sqlite3 *db = NULL;

	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return db;
}

/* The verdict of the fixture made by make_case(NAME, EXTRA_SQL) with
 * options OPT (NULL: the defaults); asserts that it is computed.  The
 * database is closed again.  Caller frees with wc_verdict_free(). */
static struct wc_verdict *fixture_verdict(const char *name, const char *extra_sql,
					  const struct wc_report_options *opt)
{
	char *path = make_case(name, extra_sql);
	sqlite3 *db = open_case(path);
	struct wc_error err = WC_ERROR_INIT;
	struct wc_verdict *v = NULL;

	cr_assert_eq(wc_verdict_compute(db, path, opt, &v, &err), 0, "%s", err.msg);
	sqlite3_close(db);
	free(path);
	return v;
}

/* The whole story as plain text: sentences joined by '\n', names raw. */
static int collect(void *ctx, enum wc_story_span kind, const char *s)
{
	struct wc_buf *b = ctx;

	return kind == WC_STORY_END ? wc_buf_addc(b, '\n') : wc_buf_adds(b, s);
}

static char *story_of(const struct wc_verdict *v)
{
	struct wc_buf b = WC_BUF_INIT;

	cr_assert_eq(wc_verdict_story(v, collect, &b), 0);
	return wc_buf_detach(&b);
}

/* Runs a report writer into a string. */
static char *report_to_string(sqlite3 *db, int json, const struct wc_report_options *opt)
{
	struct wc_error err = WC_ERROR_INIT;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	cr_assert(f);
	rc = json ? wc_report_json(db, "case.db", opt, f, &err)
		  : wc_report_text(db, "case.db", opt, f, &err);
	fclose(f);
	cr_assert_eq(rc, 0, "%s", err.msg);
	return buf;
}

/* S with every run of whitespace turned into one space (the text report
 * wraps sentences). */
static char *squeeze(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	int space = 0;

	cr_assert(out);
	for (; *s; s++) {
		if (isspace((unsigned char)*s)) {
			space = 1;
			continue;
		}
		if (space && o > out)
			*o++ = ' ';
		space = 0;
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* Runs python3 with SCRIPT on the JSON file PATH (sys.argv[1]); returns
 * its stdout (caller frees) after checking it exited 0. */
static char *python_json(const char *path, const char *script)
{
	struct wc_run r;
	char *doc = wc_test_path("%s/docs/json.md", wc_test_source());
	char *argv[] = { "python3", "-c", (char *)script, (char *)path, doc, NULL };
	char *out;

	cr_assert_eq(wc_run_program(&r, NULL, "python3", argv), 0);
	cr_assert_eq(r.status, 0, "python3 failed: %s", r.err);
	out = strdup(r.out);
	wc_run_free(&r);
	free(doc);
	return out;
}

static void write_string(const char *path, const char *s)
{
	cr_assert_eq(wc_test_write_file(path, s, strlen(s)), 0);
}

/* --- the verdict ---------------------------------------------------------------- */

Test(report, verdict_numbers)
{
	struct wc_report_options opt = { 0 };
	int32_t threads[] = { 100 };
	struct wc_verdict *v;

	opt.threads = threads;
	opt.nthreads = 1;
	v = fixture_verdict("verdict.db", NULL, &opt);
	cr_expect_eq(v->analyzed, 1);
	cr_expect_str_eq(v->hostname, "host1");
	cr_expect_str_eq(v->format, "perf.data");
	cr_expect_eq(v->nrcpus, 2);
	cr_expect_eq(v->span_ns, 100000);
	cr_expect_eq(v->events, 1234);
	cr_expect_eq(v->lost_events, 12);
	cr_expect_eq(v->has_stacks, 1);
	cr_expect_eq(v->nevent_counts, 4);

	cr_assert_eq(v->nvcpus, 2);
	cr_expect_eq(v->vcpus[0].tid, 101);
	cr_expect_eq(v->vcpus[1].p50_ns, 5000);
	cr_expect_eq(v->vcpus[1].p95_ns, 40000);
	cr_expect_eq(v->observed_ns, 195000);
	cr_expect_eq(v->running_ns, 95000);
	cr_expect_eq(v->preempted_ns, 5000);
	cr_expect_eq(v->woken_ns, 8000);
	cr_expect_eq(v->global_ns, 77000);
	cr_expect_eq(v->other_blocked_ns, 10000);
	cr_expect_eq(v->blocked_ns, 87000);
	cr_expect_float_eq(v->blocked_pct, 100.0 * 87000 / 195000, 1e-9);
	cr_expect_float_eq(v->global_pct_of_blocked, 100.0 * 77000 / 87000, 1e-9);
	cr_expect_eq(v->worst_vcpu, 1);	/* 47000/95000 > 30000/100000 */

	cr_assert_eq(v->nlocks, 1);
	const struct wc_verdict_lock *l = &v->locks[0];
	cr_expect_eq(l->pid, 100);
	cr_expect_str_eq(l->process, "qemu-main");
	cr_expect_eq(l->uaddr, 0x1000);
	cr_expect_str_eq(l->symbol, "qemu_global_mutex");
	cr_expect_float_eq(l->share, 0.8851, 1e-9);
	cr_expect_eq(l->blocked_ns, 77000);
	cr_expect_eq(l->nblocks, 5);
	cr_expect_eq(l->holders_total_ns, 77000);
	cr_assert_eq(l->nholders, 5);

	const struct wc_verdict_holder *h = &l->holders[0];
	cr_expect_eq(h->tid, 100);
	cr_expect_eq(h->held_ns, 35000);
	cr_expect_float_eq(h->held_pct, 100.0 * 35000 / 77000, 1e-9);
	cr_expect_eq(h->blocks, 3);
	cr_expect_eq(h->state_ns[WC_HS_RUNNING], 17000);
	cr_expect_eq(h->state_ns[WC_HS_PREEMPTED], 10000);
	cr_expect_eq(h->state_ns[WC_HS_FUTEX], 8000);
	cr_expect_eq(h->preemptor_tid, 200);
	cr_expect_str_eq(h->preemptor_name, "stress");
	cr_expect_eq(h->preemptor_ns, 10000);
	cr_assert_eq(h->nvia, 1);
	cr_expect_eq(h->via[0].futex_uaddr, 0x2000);
	cr_expect_eq(h->via[0].futex_pid, 100);
	cr_expect_eq(h->via[0].tid, 103);
	cr_expect_str_eq(h->via[0].name, "worker");
	cr_expect_eq(h->via[0].state, WC_HS_BLOCKED_IO);
	cr_expect_eq(h->via[0].ns, 8000);

	h = &l->holders[1];
	cr_expect_eq(h->tid, 101);
	cr_expect_eq(h->is_vcpu, 1);
	cr_expect_eq(h->state_ns[WC_HS_RUNNABLE], 2000);
	cr_expect_eq(h->preemptor_tid, 100);
	cr_expect_eq(l->holders[3].tid, -1);	/* the unknown holder */
	cr_expect_null(l->holders[3].name);
	cr_expect_eq(l->holders[3].state_ns[WC_HS_UNKNOWN], 5000);

	cr_assert_eq(v->nthreads, 1);
	cr_expect_eq(v->threads[0].total_ns, 100000);
	cr_expect_str_eq(v->threads[0].name, "qemu-main");

	cr_assert_geq(v->nwarnings, 1);
	cr_expect(strstr(v->warnings[0], "12 events were lost") != NULL, "%s", v->warnings[0]);

	wc_verdict_free(v);
}

/* top = 2 keeps two holders but still sums all of them. */
Test(report, verdict_top_limits_holders)
{
	struct wc_report_options opt = { .top = 2 };
	struct wc_verdict *v;

	v = fixture_verdict("top.db", NULL, &opt);
	cr_expect_eq(v->locks[0].nholders, 2);
	cr_expect_eq(v->locks[0].holders_total_ns, 77000);
	wc_verdict_free(v);
}

static const char *const fixture_story =
	"The 2 vCPU threads were observed for 195.0 us in all and spent 44.6% of that time blocked (87.0 us), 48.7% running and 2.6% preempted.\n"
	"88.5% of that blocked time (77.0 us in 5 blocks) was on futex 0x1000 of process 100 (qemu-main), the global mutex qemu_global_mutex, which accounts for 88.5% of their futex-blocked time.\n"
	"While they waited for it, it was held by qemu-main (tid 100) 45.5% of the time, by CPU 0/KVM (tid 101) 39.0%, by CPU 1/KVM (tid 102) 6.5%, by an unknown thread 6.5% and by other threads 2.6%.\n"
	"While holding it, qemu-main (tid 100) was running 48.6%, preempted 28.6% (mostly by stress, tid 200) and waiting on futex 0x2000 held by worker (tid 103), which was blocked on I/O, 22.9% of that time.\n"
	"While holding it, CPU 0/KVM (tid 101) was running 76.7%, preempted 16.7% (mostly by qemu-main, tid 100) and waiting for a CPU 6.7% of that time.\n"
	"While holding it, CPU 1/KVM (tid 102) was running 100.0% of that time.\n"
	"CPU 1/KVM (tid 102) was the most affected: blocked on the global mutex 49.5% of its observed time, in 3 blocks (p50 5.0 us, p99 40.0 us, max 40.0 us).\n";

Test(report, story_sentences)
{
	struct wc_verdict *v = fixture_verdict("story.db", NULL, NULL);
	char *story;

	story = story_of(v);
	cr_expect_str_eq(story, fixture_story);
	free(story);
	wc_verdict_free(v);
}

Test(report, story_without_analysis_or_vcpus)
{
	struct wc_verdict *v = fixture_verdict("empty.db",
		"DELETE FROM analysis; DELETE FROM vcpu;", NULL);
	char *story;

	cr_expect_eq(v->analyzed, 0);
	story = story_of(v);
	cr_expect_str_eq(story, "This database has no analysis results yet.\n");
	free(story);
	cr_expect(v->nwarnings >= 2);
	cr_expect(strstr(v->warnings[v->nwarnings - 1], "waitchain analyze") != NULL);
	wc_verdict_free(v);
}

Test(report, story_without_global_mutex)
{
	struct wc_verdict *v = fixture_verdict("nolock.db", "DELETE FROM global_lock;", NULL);
	char *story;

	cr_expect_eq(v->nlocks, 0);
	story = story_of(v);
	cr_expect_str_eq(story,
		"The 2 vCPU threads were observed for 195.0 us in all and spent 44.6% of that time blocked (87.0 us), 48.7% running and 2.6% preempted.\n"
		"No global mutex was found among the futexes they waited on.\n");
	free(story);
	cr_expect(strstr(v->warnings[v->nwarnings - 1], "No global mutex was found") != NULL);
	wc_verdict_free(v);
}

Test(report, warnings_for_missing_events)
{
	struct wc_verdict *v = fixture_verdict("missing.db",
		"UPDATE capture SET value = '0' WHERE key IN "
		"('has_sched_waking', 'has_futex', 'has_stacks');"
		"INSERT INTO capture VALUES ('truncated_reason', 'x');"
		"UPDATE capture SET value = '1' WHERE key = 'truncated';", NULL);
	struct wc_buf all = WC_BUF_INIT;

	for (size_t i = 0; i < v->nwarnings; i++) {
		wc_buf_adds(&all, v->warnings[i]);
		wc_buf_addc(&all, '\n');
	}
	cr_expect(strstr(wc_buf_str(&all), "truncated") != NULL, "%s", wc_buf_str(&all));
	cr_expect(strstr(wc_buf_str(&all), "no sched_waking events: wakers come from sched_wakeup and are approximate") != NULL);
	cr_expect(strstr(wc_buf_str(&all), "no futex system call events") != NULL);
	cr_expect(strstr(wc_buf_str(&all), "no stacks") != NULL);
	wc_buf_free(&all);
	wc_verdict_free(v);
}

/* --- text and JSON ---------------------------------------------------------------- */

/* Uncertain blocks (lost events, fallbacks) are counted per vCPU, marked
 * "?" in the longest-blocks table and explained by a legend. */
Test(report, text_report_marks_uncertain_blocks)
{
	/* block 4: CPU 1/KVM on the global mutex, the only one set */
	char *path = make_case("uncertain.db", "UPDATE block SET uncertain = (id = 4);");
	sqlite3 *db = open_case(path);
	char *text;

	text = report_to_string(db, 0, NULL);
	cr_expect(strstr(text, "  101 CPU 0/KVM 100.0 us 51.5      5.0    3.5    30.0   10.0      2 10.0 us 20.0 us 20.0 us 20.0 us         0\n"
			       "  102 CPU 1/KVM  95.0 us 45.8      0.0    4.7    49.5    0.0      3  5.0 us 40.0 us 40.0 us 40.0 us         1\n"
			       "  uncertain: 1 of the global-mutex blocks (1 vCPU blocks in all) overlap lost events or rest on a fallback; marked ? below.\n")
		  != NULL, "%s", text);
	cr_expect(strstr(text, "      4 102 CPU 1/KVM 0.020  40.0 us 0x1000      1 qemu-main       2 CPU 0/KVM  3.0 us ?\n") != NULL, "%s", text);
	cr_expect(strstr(text, "  ? = uncertain: the block overlaps lost events or rests on a fallback.\n") != NULL, "%s", text);
	free(text);
	sqlite3_close(db);
	free(path);
}

Test(report, text_report)
{
	char *path = make_case("text.db", NULL);
	sqlite3 *db = open_case(path);
	struct wc_report_options opt = { 0 };
	int32_t threads[] = { 103 };
	char *text, *flat, *story = strdup(fixture_story);

	opt.threads = threads;
	opt.nthreads = 1;
	text = report_to_string(db, 0, &opt);
	flat = squeeze(text);
	/* every sentence of the story, as wrapped text */
	for (char *s = strtok(story, "\n"); s; s = strtok(NULL, "\n"))
		cr_expect(strstr(flat, s) != NULL, "missing sentence: %s\n---\n%s", s, text);
	cr_expect(strstr(text, "host: host1, kernel 6.1.0 x86_64, 2 CPUs, clock CLOCK_MONOTONIC") != NULL, "%s", text);
	cr_expect(strstr(text, "  events: sched_switch 40, sys_enter_futex 30, sys_exit_futex 30, sched_waking 20\n") != NULL, "%s", text);
	cr_expect(strstr(flat, "- 12 events were lost by the recorder (1 loss report)") != NULL);
	/* the tables, aligned */
	cr_expect(strstr(text, "  tid name      observed run% preempt% woken% global% other% blocks     p50     p95     p99     max uncertain\n"
			       "  101 CPU 0/KVM 100.0 us 51.5      5.0    3.5    30.0   10.0      2 10.0 us 20.0 us 20.0 us 20.0 us         0\n"
			       "  102 CPU 1/KVM  95.0 us 45.8      0.0    4.7    49.5    0.0      3  5.0 us 40.0 us 40.0 us 40.0 us         0\n") != NULL, "%s", text);
	/* no uncertain vCPU block in the fixture: no legend */
	cr_expect(strstr(text, "? = uncertain") == NULL, "%s", text);
	cr_expect(strstr(text, "  100 qemu-main 35.0 us  45.5      3  48.6     28.6   22.9 0 ns  0 ns    0 ns\n") != NULL, "%s", text);
	cr_expect(strstr(text, "      2 blocked_io  8.0 us  100.0     10.4      2       1\n") != NULL, "%s", text);
	cr_expect(strstr(text, "      4 102 CPU 1/KVM 0.020  40.0 us 0x1000      1 qemu-main       2 CPU 0/KVM  3.0 us\n") != NULL, "%s", text);
	cr_expect(strstr(flat, "4 blocks (4 on the global mutex), 75.0 us, 86.2% of vCPU futex-blocked time; stack 1 "
			       "futex_wait_queue <- futex_wait <- do_futex <- __lll_lock_wait <- qemu_mutex_lock_impl") != NULL, "%s", text);
	cr_expect(strstr(text, "Thread 103") != NULL);
	cr_expect(strstr(text, "  blocked_io  4.0 us  4.0         1\n") != NULL, "%s", text);
	cr_expect(strchr(text, '\033') == NULL);
	free(flat);
	free(text);
	free(story);
	sqlite3_close(db);
	free(path);
}

Test(report, json_report_parses_and_matches)
{
	char *path = make_case("json.db", NULL);
	char *jpath = wc_test_tmpfile("report.json");
	sqlite3 *db = open_case(path);
	struct wc_report_options opt = { 0 };
	int32_t threads[] = { 100 };
	char *json, *got;

	opt.threads = threads;
	opt.nthreads = 1;
	json = report_to_string(db, 1, &opt);
	write_string(jpath, json);
	got = python_json(jpath,
		"import json,sys\n"
		"d=json.load(open(sys.argv[1]))\n"
		"v=d['verdict']; l=v['global_locks'][0]; h=l['holders'][0]\n"
		"print(d['waitchain_report'], d['capture']['hostname'], d['capture']['span_ns'], d['capture']['lost_events'])\n"
		"print(v['vcpus'], v['observed_ns'], v['blocked_ns'], v['global_ns'], round(v['blocked_pct'], 2), v['worst_vcpu_tid'])\n"
		"print(l['pid'], l['address'], l['uaddr'], l['process'], l['share_pct'], l['blocked_ns'], l['blocks'])\n"
		"print(h['tid'], h['name'], h['held_ns'], h['states_ns']['running'], h['states_ns']['preempted'], h['states_ns']['futex'])\n"
		"print(h['preempted_by']['tid'], h['waiting_on'][0]['futex'], h['waiting_on'][0]['holder'], h['waiting_on'][0]['holder_state'])\n"
		"print(l['holders'][3]['tid'], l['holders'][3]['name'])\n"
		"print([c['p95_ns'] for c in v['vcpu_threads']])\n"
		"print(len(d['story']), d['story'][0])\n"
		"print(d['threads'][0]['tid'], d['threads'][0]['states_ns'])\n"
		"t=d['tables']\n"
		"print(t['vcpu_summary'][1]['global_p50_ns'], t['top_holders'][0]['held_ns'], t['longest_blocks'][0]['block_id'], len(t['top_blocking_stacks']))\n"
		"print(sorted(t))\n"
		/* every member of the document is documented in docs/json.md */
		"doc=open(sys.argv[2]).read()\n"
		"objs=[d, d['capture'], v, l, h, h['preempted_by'], h['waiting_on'][0], v['vcpu_threads'][0], d['threads'][0]]\n"
		"print([k for o in objs for k in o if '`'+k+'`' not in doc])\n");
	cr_expect_str_eq(got,
		"1 host1 100000 12\n"
		"2 195000 87000 77000 44.62 102\n"
		"100 0x1000 4096 qemu-main 88.51 77000 5\n"
		"100 qemu-main 35000 17000 10000 8000\n"
		"200 0x2000 worker blocked_io\n"
		"None None\n"
		"[20000, 40000]\n"
		"7 The 2 vCPU threads were observed for 195.0 us in all and spent 44.6% of that time blocked (87.0 us), 48.7% running and 2.6% preempted.\n"
		"100 {'running': 91000, 'preempted': 5000, 'futex': 4000}\n"
		"5000 35000 4 2\n"
		"['block_histogram', 'event_counts', 'futex_objects', 'global_mutex', 'holder_states', "
		"'holder_waits', 'longest_blocks', 'lost_events', 'preempted_holders', 'top_blocking_stacks', "
		"'top_holders', 'vcpu_summary', 'vcpu_switch_reasons', 'vcpu_timeslices', 'wakeup_latency']\n"
		"[]\n");
	free(got);
	free(json);
	sqlite3_close(db);
	free(path);
	free(jpath);
}

/* --- hostile names ------------------------------------------------------------------ */

Test(report, hostile_names_text)
{
	char *path = make_case("hostile-t.db", HOSTILE_SQL);
	sqlite3 *db = open_case(path);
	char *text = report_to_string(db, 0, NULL), *flat = squeeze(text);

	cr_expect(strchr(text, '\033') == NULL, "raw ESC in the text report");
	cr_expect(strstr(flat, "(mostly by \\x1b[31mred, tid 200)") != NULL, "%s", text);
	cr_expect(strstr(flat, "held by <svg/onload=1> (tid 100) 45.5% of the time, by </script><b> (tid 101)") != NULL, "%s", text);
	cr_expect(strstr(flat, "held by a\"b'c&d (tid 103), which was blocked on I/O") != NULL, "%s", text);
	free(flat);
	free(text);
	sqlite3_close(db);
	free(path);
}

Test(report, hostile_names_json)
{
	char *path = make_case("hostile-j.db", HOSTILE_SQL);
	char *jpath = wc_test_tmpfile("hostile.json");
	sqlite3 *db = open_case(path);
	char *json = report_to_string(db, 1, NULL), *got;

	/* safe inside <script>: no raw <, >, & or control bytes */
	cr_expect(strpbrk(json, "<>&\033") == NULL, "unescaped byte in JSON");
	write_string(jpath, json);
	got = python_json(jpath,
		"import json,sys\n"
		"d=json.load(open(sys.argv[1]))\n"
		"l=d['verdict']['global_locks'][0]\n"
		"print(repr(l['process']), repr(l['holders'][0]['name']), repr(l['holders'][1]['name']))\n"
		"print(repr(l['holders'][0]['preempted_by']['name']), repr(l['holders'][0]['waiting_on'][0]['holder']))\n"
		"print(repr(d['tables']['top_holders'][4]['name']))\n"
		"print('<svg/onload=1> (tid 100)' in d['story'][2])\n");
	cr_expect_str_eq(got,
		"'<svg/onload=1>' '<svg/onload=1>' '</script><b>'\n"
		"'\\x1b[31mred' 'a\"b\\'c&d'\n"
		"'a\"b\\'c&d'\n"
		"True\n");
	free(got);
	free(json);
	sqlite3_close(db);
	free(path);
	free(jpath);
}

/* CSV comes from `waitchain query ... --csv` (core's writer), checked here
 * on the report's query with hostile names. */
Test(report, hostile_names_csv)
{
	char *path = make_case("hostile-c.db", HOSTILE_SQL);
	struct wc_run r;
	struct wc_csv csv;
	int name;

	cr_assert_eq(wc_run(&r, NULL, "query", path, "top_holders", "--csv", NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect(strchr(r.out, '\033') == NULL);
	cr_assert_eq(wc_csv_parse(r.out, r.out_len, &csv), 0);
	name = wc_csv_col(&csv, "name");
	cr_assert_geq(name, 0);
	cr_assert_eq(csv.nrows, 5);
	cr_expect_str_eq(csv.rows[0][name], "<svg/onload=1>");
	cr_expect_str_eq(csv.rows[1][name], "</script><b>");
	cr_expect_str_eq(csv.rows[4][name], "a\"b'c&d");
	cr_expect(strstr(r.out, "\"a\"\"b'c&d\"") != NULL, "%s", r.out);
	wc_csv_free(&csv);
	wc_run_free(&r);
	free(path);
}

/* --- the command ---------------------------------------------------------------------- */

Test(report, cli_text_json_and_output_file)
{
	char *path = make_case("cli.db", NULL);
	char *out = wc_test_tmpfile("cli-report.json");
	char *got;
	struct wc_run r;

	cr_assert_eq(wc_run(&r, NULL, "report", path, NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "Verdict\n") != NULL, "%s", r.out);
	cr_expect(strstr(r.out, "\033") == NULL, "colour when stdout is not a terminal");
	wc_run_free(&r);

	cr_assert_eq(wc_run(&r, NULL, "report", path, "--color", NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "\033[1mVerdict\033[0m\n") != NULL, "%s", r.out);
	wc_run_free(&r);

	cr_assert_eq(wc_run(&r, NULL, "report", path, "--json", "--top", "2", "--thread", "103", NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_eq(r.out[0], '{');
	wc_run_free(&r);

	/* -o FILE.json picks JSON */
	cr_assert_eq(wc_run(&r, NULL, "report", path, "-o", out, "-n", "2", NULL), 0);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_eq(r.out_len, 0);
	wc_run_free(&r);
	got = python_json(out,
		"import json,sys\n"
		"d=json.load(open(sys.argv[1]))\n"
		"print(len(d['verdict']['global_locks'][0]['holders']), len(d['tables']['top_holders']))\n");
	cr_expect_str_eq(got, "2 2\n");
	free(got);
	cr_expect_eq(wc_test_count_files(wc_test_tmp(), "cli-report.json.tmp"), 0);

	cr_assert_eq(wc_run(&r, NULL, "report", path, "--format", "yaml", NULL), 0);
	cr_expect_eq(r.status, 2);
	cr_expect(strstr(r.err, "yaml") != NULL, "%s", r.err);
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "report", path, "--top", "0", NULL), 0);
	cr_expect_eq(r.status, 2);
	wc_run_free(&r);
	cr_assert_eq(wc_run(&r, NULL, "report", NULL), 0);
	cr_expect_eq(r.status, 2);
	wc_run_free(&r);
	free(out);
	free(path);
}

/* A failing report leaves no file behind and names the problem. */
Test(report, cli_missing_input)
{
	char *out = wc_test_tmpfile("never.json");
	char *missing = wc_test_path("%s/no-such-capture.perf.data", wc_test_tmp());
	struct wc_run r;

	cr_assert_eq(wc_run(&r, NULL, "report", missing, "-o", out, NULL), 0);
	cr_expect_eq(r.status, 1);
	cr_expect(strstr(r.err, "no-such-capture") != NULL, "%s", r.err);
	cr_expect_not(wc_path_exists(out));
	wc_run_free(&r);
	free(missing);
	free(out);
}

/* --- the real thing: samples/bql-stacks ----------------------------------------------- */

/*
 * Imports and analyzes the sample's perf.data (copied to WC_TMP so that
 * the cached database lands there), writes the JSON report, and compares
 * its numbers with SQL written here on the analysis tables: block sums
 * for the global lock, chain depth-1 sums per holder, thread_state sums
 * for the vCPUs.
 */
Test(report, bql_stacks_numbers_match_sql, .timeout = 600)
{
	char *src = wc_test_sample("bql-stacks", "capture.perf.data");
	char *cap = wc_test_tmpfile("bql-stacks.perf.data");
	char *dbp = wc_test_path("%s.db", cap);
	char *jpath = wc_test_tmpfile("bql-stacks.json");
	struct wc_run r;
	char *got, expect[2048];
	int ok = 1;

	remove(dbp);
	cr_assert_eq(wc_test_copy_file(src, cap, SIZE_MAX), 0);
	cr_assert_eq(wc_run(&r, NULL, "report", cap, "-o", jpath, "--top", "3", NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	cr_assert(wc_path_exists(dbp), "no cached database %s", dbp);

	int64_t gblocked = wc_test_sql_int(dbp,
		"SELECT SUM(end_ns - start_ns) FROM block WHERE is_vcpu = 1 AND on_global_lock = 1", -1, &ok);
	int64_t gblocks = wc_test_sql_int(dbp,
		"SELECT COUNT(*) FROM block WHERE is_vcpu = 1 AND on_global_lock = 1", -1, &ok);
	int64_t uaddr = wc_test_sql_int(dbp, "SELECT futex_uaddr FROM global_lock", -1, &ok);
	int64_t nvcpu = wc_test_sql_int(dbp, "SELECT COUNT(*) FROM vcpu", -1, &ok);
	int64_t observed = wc_test_sql_int(dbp,
		"SELECT SUM(end_ns - start_ns) FROM thread_state WHERE utid IN (SELECT utid FROM vcpu)"
		" AND state NOT IN ('unknown', 'dead')", -1, &ok);
	int64_t chain_total = wc_test_sql_int(dbp,
		"SELECT SUM(c.to_ns - c.from_ns) FROM chain c, block b WHERE b.id = c.block_id"
		" AND c.depth = 1 AND b.is_vcpu = 1 AND b.on_global_lock = 1", -1, &ok);
	int64_t top_tid = wc_test_sql_int(dbp,
		"SELECT c.tid FROM chain c, block b WHERE b.id = c.block_id AND c.depth = 1"
		" AND b.is_vcpu = 1 AND b.on_global_lock = 1 AND c.tid IS NOT NULL"
		" GROUP BY c.tid ORDER BY SUM(c.to_ns - c.from_ns) DESC LIMIT 1", -1, &ok);
	int64_t top_ns = wc_test_sql_int(dbp,
		"SELECT SUM(c.to_ns - c.from_ns) FROM chain c, block b WHERE b.id = c.block_id AND c.depth = 1"
		" AND b.is_vcpu = 1 AND b.on_global_lock = 1 AND c.tid IS NOT NULL"
		" GROUP BY c.tid ORDER BY 1 DESC LIMIT 1", -1, &ok);
	int64_t top_running = wc_test_sql_int(dbp,
		"SELECT SUM(c.to_ns - c.from_ns) FROM chain c, block b WHERE b.id = c.block_id AND c.depth = 1"
		" AND b.is_vcpu = 1 AND b.on_global_lock = 1 AND c.state = 'running' AND c.tid = "
		"(SELECT c2.tid FROM chain c2, block b2 WHERE b2.id = c2.block_id AND c2.depth = 1"
		"  AND b2.is_vcpu = 1 AND b2.on_global_lock = 1 AND c2.tid IS NOT NULL"
		"  GROUP BY c2.tid ORDER BY SUM(c2.to_ns - c2.from_ns) DESC LIMIT 1)", -1, &ok);
	int64_t max_block = wc_test_sql_int(dbp,
		"SELECT MAX(end_ns - start_ns) FROM block WHERE is_vcpu = 1 AND on_global_lock = 1", -1, &ok);
	cr_assert(ok, "SQL on %s failed", dbp);
	/* the truth of the sample: bqlsim's main loop is the main holder */
	char *comm = wc_test_sql_text(dbp, "SELECT comm FROM thread WHERE tid = "
				      "(SELECT c.tid FROM chain c, block b WHERE b.id = c.block_id AND c.depth = 1"
				      " AND b.is_vcpu = 1 AND b.on_global_lock = 1 AND c.tid IS NOT NULL"
				      " GROUP BY c.tid ORDER BY SUM(c.to_ns - c.from_ns) DESC LIMIT 1)"
				      " ORDER BY utid DESC LIMIT 1");
	cr_expect_str_eq(comm, "qemu-main");
	free(comm);

	got = python_json(jpath,
		"import json,sys\n"
		"d=json.load(open(sys.argv[1]))\n"
		"v=d['verdict']; l=v['global_locks'][0]; h=l['holders'][0]\n"
		"print(v['vcpus'], v['observed_ns'], v['global_ns'])\n"
		"print(l['uaddr'], l['blocked_ns'], l['blocks'], l['holders_total_ns'])\n"
		"print(h['tid'], h['held_ns'], h['states_ns']['running'])\n"
		"print(max(c['max_ns'] for c in v['vcpu_threads']))\n"
		"print(len(l['holders']), len(d['tables']['longest_blocks']))\n");
	snprintf(expect, sizeof(expect),
		 "%lld %lld %lld\n%lld %lld %lld %lld\n%lld %lld %lld\n%lld\n3 3\n",
		 (long long)nvcpu, (long long)observed, (long long)gblocked,
		 (long long)uaddr, (long long)gblocked, (long long)gblocks, (long long)chain_total,
		 (long long)top_tid, (long long)top_ns, (long long)top_running,
		 (long long)max_block);
	cr_expect_str_eq(got, expect);
	free(got);
	free(src);
	free(cap);
	free(dbp);
	free(jpath);
}

/*
 * samples/hostile-names: vCPU threads named <svg/onload=1>, </script><b>
 * and a"b'c&d, the main loop ESC[31mred (threads.csv).  Analyzed with a
 * --vcpu pattern matching them; the text report must show the names
 * escaped (no raw ESC), the JSON report must carry them exactly, and the
 * main holder must be the main loop, as the ground truth says.
 */
Test(report, hostile_names_sample, .timeout = 600)
{
	char *src = wc_test_sample("hostile-names", "capture.perf.data");
	char *truth = wc_test_sample("hostile-names", "threads.csv");
	char *cap = wc_test_tmpfile("hostile-names.perf.data");
	char *dbp = wc_test_path("%s.db", cap);
	char *jpath = wc_test_tmpfile("hostile-names.json");
	struct wc_csv csv;
	struct wc_run r;
	char *got, expect[512] = "";
	int c_tid, c_comm, c_role;

	remove(dbp);
	cr_assert_eq(wc_test_copy_file(src, cap, SIZE_MAX), 0);
	cr_assert_eq(wc_csv_read(truth, &csv), 0);
	c_tid = wc_csv_col(&csv, "tid");
	c_comm = wc_csv_col(&csv, "comm");
	c_role = wc_csv_col(&csv, "role");
	cr_assert(c_tid >= 0 && c_comm >= 0 && c_role >= 0);

	cr_assert_eq(wc_run(&r, NULL, "analyze", cap, "--vcpu", "^(<svg|</script|a\")", "-q", NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);

	cr_assert_eq(wc_run(&r, NULL, "report", dbp, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect(memchr(r.out, '\033', r.out_len) == NULL, "raw ESC in the text report");
	cr_expect(strstr(r.out, "\\x1b[31mred (tid ") != NULL, "%s", r.out);
	wc_run_free(&r);

	cr_assert_eq(wc_run(&r, NULL, "report", dbp, "-o", jpath, NULL), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	got = python_json(jpath,
		"import json,sys\n"
		"d=json.load(open(sys.argv[1]))\n"
		"v=d['verdict']\n"
		"print(sorted(c['tid'] for c in v['vcpu_threads']))\n"
		"print(v['global_locks'][0]['holders'][0]['tid'])\n"
		"for c in sorted(v['vcpu_threads'], key=lambda c: c['tid']): print(c['name'])\n");
	/* expected, from threads.csv: vCPU tids, the main thread, vCPU names */
	{
		struct wc_buf b = WC_BUF_INIT;
		int first = 1;
		const char *main_tid = "?";

		wc_buf_adds(&b, "[");
		for (size_t i = 0; i < csv.nrows; i++) {
			if (strcmp(csv.rows[i][c_role], "vcpu") == 0) {
				wc_buf_printf(&b, "%s%s", first ? "" : ", ", csv.rows[i][c_tid]);
				first = 0;
			}
			if (strcmp(csv.rows[i][c_role], "main") == 0)
				main_tid = csv.rows[i][c_tid];
		}
		wc_buf_printf(&b, "]\n%s\n", main_tid);
		/* each vCPU name, in tid order (threads.csv lists them so) */
		for (size_t i = 0; i < csv.nrows; i++)
			if (strcmp(csv.rows[i][c_role], "vcpu") == 0)
				wc_buf_printf(&b, "%s\n", csv.rows[i][c_comm]);
		snprintf(expect, sizeof(expect), "%s", wc_buf_str(&b));
		wc_buf_free(&b);
	}
	cr_expect_str_eq(got, expect);
	free(got);
	wc_csv_free(&csv);
	free(src);
	free(truth);
	free(cap);
	free(dbp);
	free(jpath);
}
