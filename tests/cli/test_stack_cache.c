/*
 * test_stack_cache.c - the import's stack dedup and symbol caches are
 * bounded (src/db_writer.c, STACK_CACHE_ENTRIES) without changing what
 * any event's stack is.
 *
 * Each capture with stacks is imported twice (--no-analyze): with the
 * default budget, which the samples never fill, and with
 * WAITCHAIN_STACK_CACHE=4 entries per generation, which evicts all the
 * time.  Then:
 *   - with the tiny budget, every stack_id an event refers to exists and
 *     every stack has exactly its nframes frames (no dangling ids);
 *   - it stored more stack rows (eviction happened: the test would pass
 *     vacuously if the variable were ignored) but no new distinct frame
 *     sequence: with the default budget all stacks are distinct, and the
 *     tiny budget only repeats some of them;
 *   - every event has the same frames (ip, kernel flag, symbol, offsets,
 *     DSO, innermost first) in both databases.
 * perf.data is imported with the sample's kallsyms so kernel frames are
 * symbolized too; its user frames resolve through libc (and stay
 * addresses where the binary is gone), trace.dat has kernel stacks.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wc_test.h"

#define TINY_BUDGET "4"

/* One frame as text; used to compare stacks by content, not by id. */
#define FRAME_TEXT \
	"f.ip || ':' || f.is_kernel || ':' || coalesce(f.symbol, '-') || '+'" \
	" || coalesce(f.symbol_offset, '-') || ':' || coalesce(f.dso, '-') || '+'" \
	" || coalesce(f.dso_offset, '-')"

/* Every event that can carry a stack, keyed by (table, seq or futex id),
 * with its frames innermost first ('' when it has none). */
static const char events_sql[] =
	"WITH ev(tbl, k, stack_id) AS ("
	" SELECT 'sched_switch', seq, stack_id FROM sched_switch"
	" UNION ALL SELECT 'sched_waking', seq, stack_id FROM sched_waking"
	" UNION ALL SELECT 'sched_wakeup', seq, stack_id FROM sched_wakeup"
	" UNION ALL SELECT 'sched_wakeup_new', seq, stack_id FROM sched_wakeup_new"
	" UNION ALL SELECT 'sched_process_fork', seq, stack_id FROM sched_process_fork"
	" UNION ALL SELECT 'sched_process_exit', seq, stack_id FROM sched_process_exit"
	" UNION ALL SELECT 'task_rename', seq, stack_id FROM task_rename"
	" UNION ALL SELECT 'futex', id, stack_id FROM futex)"
	" SELECT tbl, k, coalesce((SELECT group_concat(t, ' ') FROM"
	"  (SELECT " FRAME_TEXT " AS t FROM stack_frame f"
	"   WHERE f.stack_id = ev.stack_id ORDER BY f.depth)), '')"
	" FROM ev ORDER BY tbl, k";

static void import(const char *cap, const char *kallsyms, const char *out,
		   const char *budget)
{
	struct wc_run r;
	int rc;

	if (budget)
		setenv("WAITCHAIN_STACK_CACHE", budget, 1);
	else
		unsetenv("WAITCHAIN_STACK_CACHE");
	if (kallsyms)
		rc = wc_run(&r, NULL, "import", cap, "-o", out, "--force", "-q",
			    "--no-analyze", "--kallsyms", kallsyms, NULL);
	else
		rc = wc_run(&r, NULL, "import", cap, "-o", out, "--force", "-q",
			    "--no-analyze", NULL);
	unsetenv("WAITCHAIN_STACK_CACHE");
	cr_assert_eq(rc, 0);
	cr_assert_eq(r.status, 0, "import of %s (budget %s): %s", cap,
		     budget ? budget : "default", r.err);
	wc_run_free(&r);
}

static int64_t sql_int(const char *db, const char *sql)
{
	int ok;
	int64_t v = wc_test_sql_int(db, sql, -1, &ok);

	cr_assert(ok, "%s: query failed: %s", db, sql);
	return v;
}

/* Distinct frame sequences among DB's stacks. */
static int64_t distinct_stacks(const char *db)
{
	return sql_int(db, "SELECT count(DISTINCT fr) FROM (SELECT s.id,"
		       " (SELECT group_concat(t, ' ') FROM (SELECT " FRAME_TEXT
		       " AS t FROM stack_frame f WHERE f.stack_id = s.id"
		       " ORDER BY f.depth)) AS fr FROM stack s)");
}

static void same_frames_per_event(const char *sample, const char *file,
				  const char *kallsyms_file)
{
	char *cap = wc_test_sample(sample, file);
	char *ks = kallsyms_file ? wc_test_sample(sample, kallsyms_file) : NULL;
	char name[128];
	char *big, *tiny;
	sqlite3 *da = NULL, *db = NULL;
	sqlite3_stmt *sa = NULL, *sb = NULL;
	int64_t stacks_big, stacks_tiny, events = 0, with_stack = 0;

	/* own names per test: Criterion may run the tests in parallel */
	snprintf(name, sizeof(name), "%s-%s-default.db", sample, file);
	big = wc_test_tmpfile(name);
	snprintf(name, sizeof(name), "%s-%s-tiny.db", sample, file);
	tiny = wc_test_tmpfile(name);
	import(cap, ks, big, NULL);
	import(cap, ks, tiny, TINY_BUDGET);

	/* the tiny budget leaves no dangling id and no short stack */
	cr_expect_eq(sql_int(tiny, "SELECT count(*) FROM (SELECT stack_id FROM sched_switch"
			     " UNION ALL SELECT stack_id FROM sched_waking"
			     " UNION ALL SELECT stack_id FROM sched_wakeup"
			     " UNION ALL SELECT stack_id FROM sched_wakeup_new"
			     " UNION ALL SELECT stack_id FROM sched_process_fork"
			     " UNION ALL SELECT stack_id FROM sched_process_exit"
			     " UNION ALL SELECT stack_id FROM task_rename"
			     " UNION ALL SELECT stack_id FROM futex) e"
			     " WHERE e.stack_id IS NOT NULL AND e.stack_id NOT IN"
			     " (SELECT id FROM stack)"), 0,
		     "%s: events refer to stacks that were not stored", sample);
	cr_expect_eq(sql_int(tiny, "SELECT count(*) FROM stack s WHERE s.nframes !="
			     " (SELECT count(*) FROM stack_frame f WHERE f.stack_id = s.id)"),
		     0, "%s: stacks without all their frames", sample);
	cr_expect_eq(sql_int(tiny, "SELECT count(*) FROM stack_frame"
			     " WHERE stack_id NOT IN (SELECT id FROM stack)"), 0);

	/* same distinct stacks; the tiny budget stores some again */
	stacks_big = sql_int(big, "SELECT count(*) FROM stack");
	stacks_tiny = sql_int(tiny, "SELECT count(*) FROM stack");
	cr_expect_gt(stacks_big, 100, "%s: too few stacks to test eviction", sample);
	cr_expect_gt(stacks_tiny, stacks_big,
		     "%s: WAITCHAIN_STACK_CACHE=" TINY_BUDGET " evicted nothing", sample);
	cr_expect_eq(distinct_stacks(big), stacks_big,
		     "%s: default budget stored a stack twice", sample);
	cr_expect_eq(distinct_stacks(tiny), stacks_big);

	/* the same frames for every event */
	cr_assert_eq(sqlite3_open_v2(big, &da, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_open_v2(tiny, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(da, events_sql, -1, &sa, NULL), SQLITE_OK,
		     "%s", sqlite3_errmsg(da));
	cr_assert_eq(sqlite3_prepare_v2(db, events_sql, -1, &sb, NULL), SQLITE_OK,
		     "%s", sqlite3_errmsg(db));
	for (;;) {
		int ra = sqlite3_step(sa), rb = sqlite3_step(sb);
		const char *ta, *tb, *fa, *fb;

		cr_assert_eq(ra, rb, "%s: event lists differ in length", sample);
		if (ra != SQLITE_ROW)
			break;
		ta = (const char *)sqlite3_column_text(sa, 0);
		tb = (const char *)sqlite3_column_text(sb, 0);
		cr_assert_str_eq(ta, tb);
		cr_assert_eq(sqlite3_column_int64(sa, 1), sqlite3_column_int64(sb, 1));
		fa = (const char *)sqlite3_column_text(sa, 2);
		fb = (const char *)sqlite3_column_text(sb, 2);
		cr_expect_str_eq(fa, fb, "%s: %s %lld: frames differ:\n%s\n%s", sample,
				 ta, (long long)sqlite3_column_int64(sa, 1), fa, fb);
		events++;
		with_stack += fa[0] != '\0';
	}
	cr_expect_gt(with_stack, events / 2, "%s: %lld of %lld events have a stack",
		     sample, (long long)with_stack, (long long)events);
	sqlite3_finalize(sa);
	sqlite3_finalize(sb);
	sqlite3_close(da);
	sqlite3_close(db);
	free(cap);
	free(ks);
	free(big);
	free(tiny);
}

Test(stack_cache, perf_data_tiny_budget_same_frames)
{
	same_frames_per_event("bql-stacks", "capture.perf.data", "kallsyms.zst");
}

Test(stack_cache, trace_dat_tiny_budget_same_frames)
{
	same_frames_per_event("bql-stacks", "capture.trace.dat", NULL);
}
