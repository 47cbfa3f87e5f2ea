/*
 * test_queries.c - every canned query (queries/NAME.sql) on a hand-made
 * case database (report_fixture.h), against rows computed by hand.
 *
 * Rows are compared as text: the selected columns joined by '|', one row
 * per line, NULL as the empty string, reals as SQLite prints them.  The
 * expected values come from the scenario described in report_fixture.h;
 * percentiles use the nearest-rank method (k = ceil(p * n / 100)).
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_fixture.h"
#include "waitchain/embedded.h"
#include "waitchain/report.h"
#include "waitchain/util.h"
#include "wc_test.h"

static sqlite3 *db;

/* Opens an in-memory database with the whole embedded schema and the
 * fixture rows. */
static void setup(void)
{
	char *e = NULL;

	cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	for (const struct wc_embedded *s = wc_schema_sql; s->name; s++)
		cr_assert_eq(sqlite3_exec(db, s->text, NULL, NULL, &e), SQLITE_OK,
			     "%s: %s", s->name, e ? e : "");
	cr_assert_eq(sqlite3_exec(db, wc_report_fixture_sql, NULL, NULL, &e),
		     SQLITE_OK, "fixture: %s", e ? e : "");
}

static void teardown(void)
{
	sqlite3_close(db);
	db = NULL;
}

TestSuite(queries, .init = setup, .fini = teardown);

/*
 * Runs canned query NAME with PARAMS and returns the columns COLS (comma
 * separated names) of every row, '|'-joined, one line per row.  Caller
 * frees.  Fails the test if the query or a column is missing.
 */
static char *rows(const char *name, const struct wc_query_param *params,
		  size_t nparams, const char *cols)
{
	struct wc_error err = WC_ERROR_INIT;
	struct wc_buf out = WC_BUF_INIT;
	sqlite3_stmt *st = NULL;
	char list[512], *names[32];
	int idx[32], n = 0, rc;

	rc = wc_query_prepare(db, "fixture", name, params, nparams, &st, &err);
	cr_assert_eq(rc, 0, "%s: %s", name, err.msg);
	snprintf(list, sizeof(list), "%s", cols);
	for (char *tok = strtok(list, ","); tok && n < 32; tok = strtok(NULL, ",")) {
		names[n] = tok;
		idx[n] = -1;
		for (int c = 0; c < sqlite3_column_count(st); c++)
			if (strcmp(sqlite3_column_name(st, c), tok) == 0)
				idx[n] = c;
		cr_assert_geq(idx[n], 0, "%s has no column %s", name, tok);
		n++;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int c = 0; c < n; c++) {
			const char *v = (const char *)sqlite3_column_text(st, idx[c]);

			if (c)
				wc_buf_addc(&out, '|');
			wc_buf_adds(&out, v ? v : "");
		}
		wc_buf_addc(&out, '\n');
	}
	cr_assert_eq(rc, SQLITE_DONE, "%s: %s", name, sqlite3_errmsg(db));
	(void)names;
	sqlite3_finalize(st);
	return out.data ? wc_buf_detach(&out) : strdup("");
}

#define P(name, v) ((struct wc_query_param){ name, v })

static void check(const char *name, const struct wc_query_param *p, size_t np,
		  const char *cols, const char *expected)
{
	char *got = rows(name, p, np, cols);

	cr_expect_str_eq(got, expected, "query %s (%s):\n--- got\n%s--- expected\n%s",
			 name, cols, got, expected);
	free(got);
}

Test(queries, vcpu_summary)
{
	check("vcpu_summary", NULL, 0,
	      "tid,name,vcpu_index,observed_ns,running_ns,preempted_ns,woken_ns,global_ns,other_blocked_ns",
	      "101|CPU 0/KVM|0|100000|51500|5000|3500|30000|10000\n"
	      "102|CPU 1/KVM|1|95000|43500|0|4500|47000|0\n");
	check("vcpu_summary", NULL, 0,
	      "tid,global_blocks,global_p50_ns,global_p95_ns,global_p99_ns,global_max_ns,running_pct,global_pct,other_blocked_pct,uncertain_blocks",
	      /* vCPU 0: {10000, 20000}: p50 k=1, p95 k=2.  vCPU 1: {2000,
	       * 5000, 40000}: p50 k=ceil(1.5)=2, p95 k=ceil(2.85)=3 */
	      "101|2|10000|20000|20000|20000|51.5|30.0|10.0|0\n"
	      "102|3|5000|40000|40000|40000|45.79|49.47|0.0|0\n");
}

Test(queries, global_mutex)
{
	check("global_mutex", NULL, 0,
	      "pid,process,address,uaddr,symbol,chosen_by,share_pct,blocked_ns,blocks,waiters,vcpu_waiters,wake_calls,top_holder_tid,top_holder,top_holder_ns,top_holder_pct",
	      "100|qemu-main|0x1000|4096|qemu_global_mutex|auto|88.51|77000|5|2|2|6|100|qemu-main|35000|45.45\n");
}

Test(queries, top_holders)
{
	check("top_holders", NULL, 0,
	      "tid,name,is_vcpu,held_ns,blocks,running_ns,preempted_ns,runnable_ns,futex_ns,blocked_io_ns,sleeping_ns,unknown_ns",
	      "100|qemu-main|0|35000|3|17000|10000|0|8000|0|0|0\n"
	      "101|CPU 0/KVM|1|30000|1|23000|5000|2000|0|0|0|0\n"
	      "102|CPU 1/KVM|1|5000|1|5000|0|0|0|0|0|0\n"
	      "||0|5000|1|0|0|0|0|0|0|5000\n"
	      "103|worker|0|2000|1|2000|0|0|0|0|0|0\n");
	check("top_holders", NULL, 0, "tid,held_pct,running_pct,preempted_pct,futex_pct",
	      "100|45.45|48.57|28.57|22.86\n"
	      "101|38.96|76.67|16.67|0.0\n"
	      "102|6.49|100.0|0.0|0.0\n"
	      "|6.49|0.0|0.0|0.0\n"
	      "103|2.6|100.0|0.0|0.0\n");
	struct wc_query_param p[] = { P(":top", 2), P(":pid", 100), P(":uaddr", 0x1000) };
	check("top_holders", p, 3, "tid,held_ns", "100|35000\n101|30000\n");
	struct wc_query_param q[] = { P(":uaddr", 0x2000) };
	check("top_holders", q, 1, "tid", "");
}

Test(queries, holder_states)
{
	static const char *expected =
		"1|running|47000|61.04|61.04|8|4|4\n"
		"1|preempted|15000|19.48|19.48|3|2|2\n"
		"1|futex|8000|10.39|10.39|2|2|1\n"
		"1|unknown|5000|6.49|6.49|1|1|1\n"
		"1|runnable|2000|2.6|2.6|1|1|1\n"
		"2|blocked_io|8000|100.0|10.39|2|2|1\n";
	const char *cols = "depth,state,time_ns,pct_of_depth,pct_of_blocked,intervals,blocks,threads";

	check("holder_states", NULL, 0, cols, expected);
	/* every block with chain rows: the same blocks here */
	struct wc_query_param p = P(":all_blocks", 1);
	check("holder_states", &p, 1, cols, expected);
}

Test(queries, holder_waits)
{
	check("holder_waits", NULL, 0,
	      "holder_tid,holder,futex_pid,futex,futex_uaddr,next_tid,next_holder,next_state,time_ns,pct_of_blocked,blocks",
	      "100|qemu-main|100|0x2000|8192|103|worker|blocked_io|8000|10.39|2\n");
}

Test(queries, longest_blocks)
{
	check("longest_blocks", NULL, 0,
	      "block_id,tid,name,start_ns,duration_ns,reason,futex,on_global_lock,holder_tid,holder,holder_certainty,holders,waker_tid,waker,wakeup_latency_ns",
	      "4|102|CPU 1/KVM|20000|40000|futex|0x1000|1|100|qemu-main|exact|2|101|CPU 0/KVM|3000\n"
	      "1|101|CPU 0/KVM|10000|20000|futex|0x1000|1|100|qemu-main|exact|1|100|qemu-main|2000\n"
	      "2|101|CPU 0/KVM|60000|10000|futex|0x1000|1|100|qemu-main|exact|2|102|CPU 1/KVM|1000\n"
	      "3|101|CPU 0/KVM|80000|10000|futex|0x3000|0|100|qemu-main|not_a_lock|1|100|qemu-main|500\n"
	      "5|102|CPU 1/KVM|70000|5000|futex|0x1000|1|||no_release|1|||1000\n"
	      "6|102|CPU 1/KVM|80000|2000|futex|0x1000|1|103|worker|exact|1|103|worker|500\n");
	struct wc_query_param p[] = { P(":top", 3), P(":global_only", 1) };
	check("longest_blocks", p, 2, "block_id,at_ms", "4|0.02\n1|0.01\n2|0.06\n");
}

Test(queries, chain)
{
	struct wc_query_param p = P(":block_id", 4);

	check("chain", &p, 1, "id,depth,tree,tid,state,offset_ns,duration_ns,futex,sub_block_id,preempted_by,preempted_by_name",
	      "0|0|CPU 1/KVM|102|futex|0|40000|0x1000|||\n"
	      "8|1|  qemu-main|100|preempted|0|5000|||200|stress\n"
	      "9|1|  qemu-main|100|futex|5000|4000|0x2000|7||\n"
	      "10|2|    worker|103|blocked_io|5000|4000||8||\n"
	      "11|1|  qemu-main|100|running|9000|1000||||\n"
	      "12|1|  CPU 0/KVM|101|runnable|10000|2000||||\n"
	      "13|1|  CPU 0/KVM|101|running|12000|18000||||\n"
	      "14|1|  CPU 0/KVM|101|preempted|30000|5000|||100|qemu-main\n"
	      "15|1|  CPU 0/KVM|101|running|35000|5000||||\n");
	p.value = 5;
	check("chain", &p, 1, "id,depth,tree,tid,state",
	      "0|0|CPU 1/KVM|102|futex\n16|1|  (unknown)||unknown\n");
	p.value = 999;
	check("chain", &p, 1, "id", "");
}

Test(queries, wakeup_latency)
{
	/* vCPU 1: {500, 1000, 3000}; vCPU 0: {500, 1000, 2000} */
	check("wakeup_latency", NULL, 0, "tid,name,is_vcpu,wakeups,total_ns,avg_ns,p50_ns,p95_ns,p99_ns,max_ns",
	      "102|CPU 1/KVM|1|3|4500|1500|1000|3000|3000|3000\n"
	      "101|CPU 0/KVM|1|3|3500|1166|1000|2000|2000|2000\n"
	      "100|qemu-main|0|1|0|0|0|0|0|0\n"
	      "103|worker|0|1|0|0|0|0|0|0\n");
	struct wc_query_param p = P(":vcpu_only", 1);
	check("wakeup_latency", &p, 1, "tid", "102\n101\n");
}

/* Nearest rank on 20 values 100, 200, ..., 2000: p50 = 10th = 1000,
 * p95 = 19th = 1900, p99 = ceil(19.8) = 20th = 2000. */
Test(queries, percentiles_nearest_rank)
{
	struct wc_buf sql = WC_BUF_INIT;

	for (int i = 1; i <= 20; i++)
		wc_buf_printf(&sql, "INSERT INTO block(id,utid,tid,start_ns,end_ns,state,reason,"
			      "wakeup_ns,switch_in_ns) VALUES (%d,5,200,0,%d,'S','sleep',%d,%d);",
			      100 + i, 1000, 1000, 1000 + (21 - i) * 100);
	cr_assert_eq(sqlite3_exec(db, wc_buf_str(&sql), NULL, NULL, NULL), SQLITE_OK);
	wc_buf_free(&sql);
	check("wakeup_latency", NULL, 0, "tid,wakeups,total_ns,p50_ns,p95_ns,p99_ns,max_ns",
	      "102|3|4500|1000|3000|3000|3000\n"
	      "101|3|3500|1000|2000|2000|2000\n"
	      "200|20|21000|1000|1900|2000|2000\n"
	      "100|1|0|0|0|0|0\n"
	      "103|1|0|0|0|0|0\n");
}

Test(queries, preempted_holders)
{
	const char *cols = "holder_tid,holder,depth,preempted_by,preempted_by_name,time_ns,pct_of_blocked,intervals,blocks";

	check("preempted_holders", NULL, 0, cols,
	      "100|qemu-main|1|200|stress|10000|12.99|2|2\n"
	      "101|CPU 0/KVM|1|100|qemu-main|5000|6.49|1|1\n");
	struct wc_query_param p = P(":depth", 2);
	check("preempted_holders", &p, 1, cols, "");
}

Test(queries, block_histogram)
{
	check("block_histogram", NULL, 0, "tid,name,bucket,lo_ns,hi_ns,label,blocks,total_ns,pct_blocks",
	      "101|CPU 0/KVM|13|8192|16384|8.19us|1|10000|50.0\n"
	      "101|CPU 0/KVM|14|16384|32768|16.4us|1|20000|50.0\n"
	      "102|CPU 1/KVM|10|1024|2048|1.02us|1|2000|33.33\n"
	      "102|CPU 1/KVM|12|4096|8192|4.1us|1|5000|33.33\n"
	      "102|CPU 1/KVM|15|32768|65536|32.8us|1|40000|33.33\n");
}

Test(queries, top_blocking_stacks)
{
	check("top_blocking_stacks", NULL, 0, "stack_id,stacks,blocks,global_blocks,blocked_ns,pct_of_futex_blocked,frames",
	      "1|1|4|4|75000|86.21|futex_wait_queue <- futex_wait <- do_futex <- __lll_lock_wait <- qemu_mutex_lock_impl\n"
	      "2|1|2|1|12000|13.79|futex_wait_queue <- futex_wait <- do_futex <- [unknown]\n");
	struct wc_query_param p[] = { P(":top", 1), P(":global_only", 1) };
	check("top_blocking_stacks", p, 2, "stack_id,blocks,blocked_ns", "1|4|75000\n");
}

/* Stacks whose frames print the same are one row: stack 4 differs from
 * stack 2 only by an unresolved user address; stack 5 has a user frame in
 * a known binary without a symbol. */
Test(queries, top_blocking_stacks_merge_same_frames)
{
	cr_assert_eq(sqlite3_exec(db,
		"INSERT INTO stack(id,nframes,hash) VALUES (4,4,44),(5,2,55);"
		"INSERT INTO stack_frame(stack_id,depth,ip,is_kernel,symbol,symbol_offset,dso,dso_offset)"
		" SELECT 4, depth, ip + 16, is_kernel, symbol, symbol_offset, dso, dso_offset"
		" FROM stack_frame WHERE stack_id = 2;"
		"INSERT INTO stack_frame VALUES (5,0,4294967296,1,NULL,NULL,'[kernel.kallsyms]',NULL),"
		" (5,1,1234,0,NULL,NULL,'/usr/bin/qemu',255);"
		"UPDATE block SET stack_id = 4 WHERE id = 3;"
		"UPDATE block SET stack_id = 5 WHERE id = 5;", NULL, NULL, NULL), SQLITE_OK);
	check("top_blocking_stacks", NULL, 0, "stack_id,stacks,blocks,global_blocks,blocked_ns,frames",
	      "1|1|3|3|70000|futex_wait_queue <- futex_wait <- do_futex <- __lll_lock_wait <- qemu_mutex_lock_impl\n"
	      "2|2|2|1|12000|futex_wait_queue <- futex_wait <- do_futex <- [unknown]\n"
	      "5|1|1|1|5000|0x100000000 <- /usr/bin/qemu+0xff\n");
}

Test(queries, vcpu_switch_reasons)
{
	check("vcpu_switch_reasons", NULL, 0, "tid,name,reason,switches,pct_switches,off_cpu_ns,avg_off_ns",
	      "101|CPU 0/KVM|futex_global|2|50.0|33000|16500\n"
	      "101|CPU 0/KVM|futex_other|1|25.0|10500|10500\n"
	      "101|CPU 0/KVM|preempted|1|25.0|5000|5000\n"
	      "102|CPU 1/KVM|futex_global|3|100.0|51500|17166\n");
}

Test(queries, vcpu_timeslices)
{
	/* vCPU 0: {5000, 9000, 9500, 10000, 18000}: p50 k=3; vCPU 1:
	 * {4000, 7000, 15000, 17500}: p50 k=2, p95 k=4 */
	check("vcpu_timeslices", NULL, 0, "tid,slices,total_ns,avg_ns,p50_ns,p95_ns,p99_ns,max_ns",
	      "101|5|51500|10300|9500|18000|18000|18000\n"
	      "102|4|43500|10875|7000|17500|17500|17500\n");
}

Test(queries, thread_timeline)
{
	struct wc_query_param p[] = { P(":tid", 101), P(":t0", 25000), P(":t1", 62000) };

	check("thread_timeline", p, 3, "start_ns,end_ns,duration_ns,state,detail,block_id,futex,on_global_lock,holder_tid,other_tid,other",
	      "25000|30000|5000|sleeping|futex|1|0x1000|1|100||\n"
	      "30000|32000|2000|runnable|woken|1|0x1000|1|100|100|qemu-main\n"
	      "32000|50000|18000|running|||||||\n"
	      "50000|55000|5000|runnable|preempted|||||100|qemu-main\n"
	      "55000|60000|5000|running|||||||\n"
	      "60000|62000|2000|sleeping|futex|2|0x1000|1|100||\n");
	struct wc_query_param q = P(":tid", 103);
	check("thread_timeline", &q, 1, "start_ns,end_ns,state,detail",
	      "0|25000|unknown|\n25000|29000|blocked_io|io\n29000|100000|running|\n");
}

Test(queries, thread_states)
{
	struct wc_query_param p = P(":tid", 100);

	check("thread_states", &p, 1, "tid,name,state,time_ns,pct,intervals",
	      "100|qemu-main|running|91000|91.0|2\n"
	      "100|qemu-main|preempted|5000|5.0|1\n"
	      "100|qemu-main|futex|4000|4.0|1\n");
}

Test(queries, lost_events)
{
	check("lost_events", NULL, 0, "cpu,kind,reports,events,first_ns,last_ns",
	      "1|lost|1|12|40000|41000\n");
}

Test(queries, futex_objects)
{
	check("futex_objects", NULL, 0, "pid,futex,kind,is_global,waiters,vcpu_waiters,blocks,blocked_ns,vcpu_blocked_ns",
	      "100|0x1000|mutex|1|2|2|5|77000|77000\n"
	      "100|0x3000|condvar|0|1|1|1|10000|10000\n"
	      "100|0x2000|mutex|0|1|0|1|4000|0\n");
}

Test(queries, event_counts_and_capture_info)
{
	check("event_counts", NULL, 0, "name,count,stored",
	      "sched_switch|40|1\nsys_enter_futex|30|1\nsys_exit_futex|30|1\nsched_waking|20|1\n");
	char *got = rows("capture_info", NULL, 0, "source,key,value");

	cr_expect(strstr(got, "capture|hostname|host1\n") != NULL, "%s", got);
	cr_expect(strstr(got, "analysis|wakeup_source|sched_waking\n") != NULL, "%s", got);
	cr_expect_eq(wc_count_lines(got), 18);
	free(got);
}

/* Every embedded query: documented (title, params, columns; every result
 * column named in the comment block) and runs on the fixture. */
Test(queries, every_query_is_documented_and_runs)
{
	int n = 0;

	for (const struct wc_embedded *q = wc_query_sql; q->name; q++, n++) {
		struct wc_error err = WC_ERROR_INIT;
		struct wc_query_param p[] = { P(":block_id", 1), P(":tid", 101) };
		char name[128], *body_start;
		sqlite3_stmt *st = NULL;
		size_t len = strlen(q->name);
		struct wc_buf header = WC_BUF_INIT;
		int rc;

		cr_assert(len > 4 && len < sizeof(name));
		memcpy(name, q->name, len - 4);
		name[len - 4] = '\0';
		cr_expect(strncmp(q->text, "-- title: ", 10) == 0, "%s: no title line", q->name);
		cr_expect(strstr(q->text, "\n-- params: ") != NULL, "%s: no params line", q->name);
		cr_expect(strstr(q->text, "\n-- columns: ") != NULL, "%s: no columns line", q->name);
		/* the leading comment block */
		body_start = (char *)q->text;
		while (strncmp(body_start, "--", 2) == 0) {
			char *nl = strchr(body_start, '\n');

			cr_assert(nl);
			wc_buf_add(&header, body_start, (size_t)(nl + 1 - body_start));
			body_start = nl + 1;
		}
		rc = wc_query_prepare(db, "fixture", name, p, 2, &st, &err);
		cr_assert_eq(rc, 0, "%s: %s", name, err.msg);
		for (int c = 0; c < sqlite3_column_count(st); c++)
			cr_expect(strstr(wc_buf_str(&header), sqlite3_column_name(st, c)) != NULL,
				  "%s: column %s is not documented", name, sqlite3_column_name(st, c));
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		cr_expect_eq(rc, SQLITE_DONE, "%s: %s", name, sqlite3_errmsg(db));
		sqlite3_finalize(st);
		wc_buf_free(&header);
	}
	cr_expect_geq(n, 19);
}

Test(queries, unknown_query_is_notfound)
{
	struct wc_error err = WC_ERROR_INIT;
	sqlite3_stmt *st = (sqlite3_stmt *)1;

	cr_expect_eq(wc_query_prepare(db, "fixture", "no_such_query", NULL, 0, &st, &err),
		     -WC_ENOTFOUND);
	cr_expect_null(st);
	cr_expect(strstr(err.msg, "no_such_query") != NULL);
}

/* docs/queries.md has a section for every query. */
Test(queries, every_query_is_in_the_docs)
{
	char *doc_path = wc_test_path("%s/docs/queries.md", wc_test_source());
	char *doc = wc_test_read_file(doc_path, NULL);

	cr_assert_not_null(doc, "cannot read %s", doc_path);
	for (const struct wc_embedded *q = wc_query_sql; q->name; q++) {
		char head[160];

		snprintf(head, sizeof(head), "\n## %.*s\n", (int)(strlen(q->name) - 4), q->name);
		cr_expect(strstr(doc, head) != NULL, "docs/queries.md lacks a section for %s", q->name);
	}
	free(doc);
	free(doc_path);
}
