/*
 * test_degraded.c - captures with lost events or missing event types
 * import with exit 0 and say how far they can be trusted.
 *
 * Samples (tools/record-degraded.sh, record.txt in each directory):
 *   lossy/capture.perf.data   perf record -m 1: LOST and LOST_SAMPLES
 *   lossy/capture.trace.dat   trace-cmd record -b 1: per-CPU overruns
 *   degraded-nowaking         no sched_waking (sched_wakeup fallback)
 *   degraded-nofutex          no futex system calls
 *   degraded-pid              perf record -p (one process), attached
 *                             while its threads were already blocked
 *   glibc-nostacks            no stacks
 * Numbers asserted come from the files themselves: `trace-cmd report
 * --stat` says CPU 1 overran 160 events; `perf report --stats` / perf
 * script count the LOST records.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wc_test.h"

/* Imports SAMPLE/FILE (with analysis) into $WC_TMP/NAME; caller frees. */
static char *import_sample(const char *sample, const char *file, const char *name)
{
	char *cap = wc_test_sample(sample, file);
	char *db = wc_test_tmpfile(name);
	struct wc_run r;

	cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", db, NULL), 0);
	cr_assert_eq(r.status, 0, "%s: exit %d: %s", cap, r.status, r.err);
	wc_run_free(&r);
	free(cap);
	return db;
}

static char *analysis_warnings(const char *db)
{
	char *w = wc_test_sql_text(db, "SELECT value FROM analysis WHERE key = 'warnings'");

	return w ? w : strdup("");
}

/* `waitchain CMD DB [ARG]` output (stdout). */
static char *run_out(const char *cmd, const char *db, const char *arg1,
		     const char *arg2)
{
	struct wc_run r;
	char *out;

	cr_assert_eq(wc_run(&r, NULL, cmd, db, arg1, arg2, NULL), 0);
	cr_assert_eq(r.status, 0, "%s %s: exit %d: %s", cmd, db, r.status, r.err);
	out = r.out;
	r.out = NULL;
	wc_run_free(&r);
	return out;
}

Test(degraded, perf_lost_records_make_rows_uncertain)
{
	char *db = import_sample("lossy", "capture.perf.data", "lossy-perf.db");
	char *w, *txt, *html, *info;
	char *html_path = wc_test_tmpfile("lossy.html");

	/* perf script --show-lost-events -F cpu,event: 3 LOST records, CPU 0
	 * lost 65 and 182, CPU 1 lost 28 */
	cr_expect_eq(wc_test_sql_int(db, "SELECT count(*) FROM lost WHERE kind = 'lost'", 0, NULL), 3);
	cr_expect_eq(wc_test_sql_int(db, "SELECT sum(count) FROM lost WHERE kind = 'lost'", 0, NULL), 275);
	cr_expect_gt(wc_test_sql_int(db, "SELECT count(*) FROM lost WHERE kind = 'lost_samples'", 0, NULL), 0);
	/* a LOST record covers the gap since the CPU's previous sample */
	cr_expect_eq(wc_test_sql_int(db, "SELECT count(*) FROM lost WHERE kind = 'lost' "
				     "AND ts_from_ns IS NOT NULL AND ts_from_ns < ts_ns", 0, NULL), 2);
	cr_expect_gt(wc_test_sql_int(db, "SELECT count(*) FROM block WHERE uncertain", 0, NULL), 0);
	cr_expect_gt(wc_test_sql_int(db, "SELECT count(*) FROM thread_state WHERE uncertain", 0, NULL), 0);
	/* every thread_state row overlapping a timed loss on its CPU is uncertain */
	cr_expect_eq(wc_test_sql_int(db,
		"SELECT count(*) FROM thread_state s JOIN lost l ON l.cpu = s.cpu "
		"AND l.ts_from_ns IS NOT NULL AND s.start_ns < l.ts_ns AND s.end_ns > l.ts_from_ns "
		"WHERE s.state = 'running' AND s.uncertain = 0", -1, NULL), 0);
	w = analysis_warnings(db);
	cr_expect(strstr(w, "events were lost"), "analysis warnings: %s", w);
	txt = run_out("report", db, "--no-color", NULL);
	cr_expect(strstr(txt, "lost"), "text report does not mention the loss:\n%s", txt);
	{
		struct wc_run r;

		cr_assert_eq(wc_run(&r, NULL, "report", db, "--format", "html", "-o", html_path, NULL), 0);
		cr_assert_eq(r.status, 0, "%s", r.err);
		wc_run_free(&r);
	}
	html = wc_test_read_file(html_path, NULL);
	cr_assert(html);
	cr_expect(strstr(html, "events were lost"), "HTML report has no loss warning");
	info = run_out("info", db, NULL, NULL);
	cr_expect(strstr(info, "lost_samples"), "info does not list the losses:\n%s", info);
	free(w);
	free(txt);
	free(html);
	free(info);
	free(html_path);
	free(db);
}

Test(degraded, trace_dat_overruns_are_recorded)
{
	char *db = import_sample("lossy", "capture.trace.dat", "lossy-tdat.db");
	char *w;

	/* trace-cmd report --stat: CPU 0 overrun 0, CPU 1 overrun 160 */
	cr_expect_eq(wc_test_sql_int(db, "SELECT sum(count) FROM lost WHERE kind = 'overrun' AND cpu = 1", -1, NULL), 160);
	cr_expect_eq(wc_test_sql_int(db, "SELECT count(*) FROM lost WHERE kind = 'overrun' AND cpu = 0", -1, NULL), 0);
	cr_expect_gt(wc_test_sql_int(db, "SELECT count(*) FROM lost WHERE kind = 'missed'", 0, NULL), 0);
	w = analysis_warnings(db);
	cr_expect(strstr(w, "events were lost"), "analysis warnings: %s", w);
	free(w);
	free(db);
}

Test(degraded, no_sched_waking_falls_back)
{
	char *db = import_sample("degraded-nowaking", "capture.perf.data", "nowaking.db");
	char *w = analysis_warnings(db), *src, *txt;

	cr_expect_eq(wc_test_sql_int(db, "SELECT count(*) FROM sched_waking", -1, NULL), 0);
	cr_expect_gt(wc_test_sql_int(db, "SELECT count(*) FROM sched_wakeup", 0, NULL), 0);
	cr_expect(strstr(w, "no sched_waking"), "warnings: %s", w);
	src = wc_test_sql_text(db, "SELECT value FROM analysis WHERE key = 'wakeup_source'");
	cr_expect(src && strstr(src, "sched_wakeup"), "wakeup_source %s", src ? src : "NULL");
	/* every woken block rests on the fallback: uncertain */
	cr_expect_eq(wc_test_sql_int(db, "SELECT count(*) FROM block WHERE waker_tid IS NOT NULL "
				     "AND (uncertain = 0 OR wakeup_source != 'sched_wakeup')", -1, NULL), 0);
	txt = run_out("report", db, "--no-color", NULL);
	cr_expect(strstr(txt, "sched_wakeup"), "report does not say wakers are approximate");
	free(txt);
	free(src);
	free(w);
	free(db);
}

Test(degraded, no_futex_gives_blocks_without_holders)
{
	char *db = import_sample("degraded-nofutex", "capture.perf.data", "nofutex.db");
	char *w = analysis_warnings(db);

	cr_expect_eq(wc_test_sql_int(db, "SELECT count(*) FROM futex", -1, NULL), 0);
	cr_expect_gt(wc_test_sql_int(db, "SELECT count(*) FROM block", 0, NULL), 0);
	cr_expect_eq(wc_test_sql_int(db, "SELECT count(*) FROM block_holder", -1, NULL), 0);
	cr_expect_eq(wc_test_sql_int(db, "SELECT count(*) FROM block WHERE reason = 'futex'", -1, NULL), 0);
	cr_expect(strstr(w, "no futex system calls"), "warnings: %s", w);
	free(w);
	free(db);
}

Test(degraded, per_process_capture_is_flagged)
{
	char *db = import_sample("degraded-pid", "capture.perf.data", "pid.db");
	char *info = run_out("info", db, NULL, NULL);
	char *cw = wc_test_sql_text(db, "SELECT value FROM capture WHERE key = 'warnings'");
	char *w = analysis_warnings(db);

	cr_expect(cw && strstr(cw, "some processes only"), "capture warnings: %s", cw ? cw : "NULL");
	cr_expect(strstr(info, "some processes only"), "info:\n%s", info);
	/* attached while bqlsim's threads slept: first blocks of unknown start */
	cr_expect(strstr(w, "already asleep") || strstr(w, "without a recorded wakeup"),
		  "warnings: %s", w);
	cr_expect_gt(wc_test_sql_int(db, "SELECT count(*) FROM block WHERE uncertain", 0, NULL), 0);
	free(info);
	free(cw);
	free(w);
	free(db);
}

Test(degraded, no_stacks_is_said)
{
	char *db = import_sample("glibc-nostacks", "capture.perf.data", "nostacks.db");
	char *w = analysis_warnings(db);

	cr_expect_eq(wc_test_sql_int(db, "SELECT count(*) FROM stack", -1, NULL), 0);
	cr_expect(strstr(w, "no stacks"), "warnings: %s", w);
	free(w);
	free(db);
}

/* A perf record killed before it finished writing its header (data size
 * 0, no feature sections): a clear one-line error, never a crash. */
Test(degraded, killed_perf_record_is_an_error)
{
	char *cap = wc_test_path("%s/degraded-pid/killed.perf.data", wc_test_samples());
	char *db = wc_test_tmpfile("killed.db");
	struct wc_run r;

	cr_assert_eq(wc_run(&r, NULL, "import", cap, "-o", db, "-q", NULL), 0);
	cr_expect_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_expect_eq(wc_count_lines(r.err), 1, "%s", r.err);
	wc_run_free(&r);
	free(cap);
	free(db);
}

/* Sum of the last field of the rows of the text table under HEADING
 * (rows end at the first blank line). */
static long long text_table_last_column_sum(const char *txt, const char *heading,
					    int *nrows)
{
	const char *p = strstr(txt, heading);
	long long sum = 0;

	*nrows = 0;
	cr_assert(p, "no table %s in:\n%s", heading, txt);
	p = strchr(p, '\n');
	cr_assert(p);
	p = strchr(p + 1, '\n');	/* skip the column heads */
	cr_assert(p);
	for (p++; *p && *p != '\n';) {
		const char *eol = strchr(p, '\n');
		const char *sp;

		if (!eol)
			eol = p + strlen(p);
		sp = eol;
		while (sp > p && sp[-1] != ' ')
			sp--;
		if (strncmp(p, "  uncertain:", 12) != 0) {
			sum += atoll(sp);
			(*nrows)++;
		}
		p = *eol ? eol + 1 : eol;
	}
	return sum;
}

/* Without sched_waking the blocks rest on the sched_wakeup fallback: the
 * text report counts the uncertain global-mutex blocks per vCPU (summing
 * to what SQL says), marks the longest blocks with ?, and the HTML data
 * carries the same counts; `info` shows the analysis warnings. */
Test(degraded, uncertain_blocks_are_shown)
{
	char *db = import_sample("degraded-nowaking", "capture.perf.data", "nowaking-unc.db");
	char *html_path = wc_test_tmpfile("nowaking.html");
	long long n = wc_test_sql_int(db, "SELECT count(*) FROM block WHERE is_vcpu AND on_global_lock AND uncertain", -1, NULL);
	long long all = wc_test_sql_int(db, "SELECT count(*) FROM block WHERE is_vcpu AND uncertain", -1, NULL);
	/* the report's longest-blocks table: top 10 vCPU blocks by duration */
	long long marked = wc_test_sql_int(db, "SELECT count(*) FROM (SELECT uncertain FROM block WHERE is_vcpu = 1 "
					   "ORDER BY end_ns - start_ns DESC, id LIMIT 10) WHERE uncertain", -1, NULL);
	char *txt, *html, *info, *json, legend[160];
	long long sum = 0;
	int nrows, qmarks = 0;

	cr_assert_gt(n, 0, "the sample has uncertain vCPU blocks on the global mutex");
	txt = run_out("report", db, "--no-color", NULL);
	snprintf(legend, sizeof(legend), "uncertain: %lld of the global-mutex blocks (%lld vCPU blocks in all)", n, all);
	cr_expect(strstr(txt, legend), "no \"%s\" in:\n%s", legend, txt);
	cr_expect_eq(text_table_last_column_sum(txt, "vCPU threads: share of observed time", &nrows), n,
		     "per-vCPU uncertain counts do not add up to %lld:\n%s", n, txt);
	cr_expect_eq(nrows, wc_test_sql_int(db, "SELECT count(*) FROM vcpu", -1, NULL));
	cr_expect(strstr(txt, "? = uncertain"), "no legend of the ? mark:\n%s", txt);
	{
		const char *p = strstr(txt, "Longest vCPU blocks");

		cr_assert(p);
		p = strchr(p, '\n');	/* past the title */
		cr_assert(p);
		p = strchr(p + 1, '\n');	/* past the column heads, "... latency ?" */
		cr_assert(p);
		for (const char *e = strstr(p, " ?\n"); e && e < strstr(p, "? = uncertain"); e = strstr(e + 1, " ?\n"))
			qmarks++;
	}
	cr_expect_eq(qmarks, marked, "%d rows marked ?, SQL says %lld:\n%s", qmarks, marked, txt);
	{
		struct wc_run r;

		cr_assert_eq(wc_run(&r, NULL, "report", db, "--format", "html", "-o", html_path, NULL), 0);
		cr_assert_eq(r.status, 0, "%s", r.err);
		wc_run_free(&r);
	}
	html = wc_test_read_file(html_path, NULL);
	cr_assert(html);
	for (const char *p = strstr(html, "\"uncertain_global_blocks\":"); p;
	     p = strstr(p + 1, "\"uncertain_global_blocks\":"))
		sum += atoll(p + strlen("\"uncertain_global_blocks\":"));
	cr_expect_eq(sum, n, "HTML per-vCPU uncertain counts add up to %lld, SQL %lld", sum, n);
	info = run_out("info", db, NULL, NULL);
	cr_expect(strstr(info, "Analysis warnings:\n  the capture has no sched_waking"), "info:\n%s", info);
	json = run_out("info", db, "--json", NULL);
	cr_expect(strstr(json, "\"analysis_warnings\":[\"the capture has no sched_waking"), "info --json:\n%s", json);
	free(txt);
	free(html);
	free(info);
	free(json);
	free(html_path);
	free(db);
}

/* lossy: the text report's uncertain columns agree with SQL (here 0) */
Test(degraded, lossy_uncertain_counts_match_sql)
{
	char *db = import_sample("lossy", "capture.perf.data", "lossy-unc.db");
	long long n = wc_test_sql_int(db, "SELECT count(*) FROM block WHERE is_vcpu AND on_global_lock AND uncertain", -1, NULL);
	char *txt = run_out("report", db, "--no-color", NULL);
	int nrows;

	cr_expect(strstr(txt, " uncertain\n"), "no uncertain column:\n%s", txt);
	cr_expect_eq(text_table_last_column_sum(txt, "vCPU threads: share of observed time", &nrows), n, "%s", txt);
	cr_expect_gt(nrows, 0);
	free(txt);
	free(db);
}
