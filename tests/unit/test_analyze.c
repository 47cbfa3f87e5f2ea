/*
 * test_analyze.c - the analyzer's state machines on tiny hand-made cases.
 *
 * Each test creates a fresh case database (wc_db_create), inserts a
 * handful of events with plain SQL, in seq order, exactly as the writer
 * would store them, runs wc_analyze() and compares rows of the analysis
 * tables with the values derived by hand in the comments (times in ns).
 * Rows are compared as text lines "col|col|..." (NULL prints as "-").
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wc_test.h"
#include "waitchain/analyze.h"
#include "waitchain/db.h"
#include "waitchain/util.h"

#define L1 0x1000
#define L2 0x2000
#define WAIT_P 128	/* FUTEX_WAIT | FUTEX_PRIVATE_FLAG */
#define WAKE_P 129	/* FUTEX_WAKE | FUTEX_PRIVATE_FLAG */

static sqlite3 *db;
static char *db_path;
static int64_t seq;

static void exec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void exec(const char *fmt, ...)
{
	va_list ap;
	char *sql, *msg = NULL;

	va_start(ap, fmt);
	cr_assert(vasprintf(&sql, fmt, ap) >= 0);
	va_end(ap);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		cr_assert_fail("SQL failed: %s: %s", msg, sql);
	free(sql);
}

static void open_case(const char *name)
{
	struct wc_error err = WC_ERROR_INIT;

	db_path = wc_test_tmpfile(name);
	cr_assert_eq(wc_db_create(db_path, &db, &err), 0, "%s", err.msg);
	seq = 0;
}

static void close_case(void)
{
	wc_db_close(db);
	db = NULL;
	free(db_path);
	db_path = NULL;
}

static void thread(int64_t utid, int tid, const char *comm)
{
	exec("INSERT INTO thread(utid, tid, comm, start_seq) VALUES(%lld, %d, '%s', 0)",
	     (long long)utid, tid, comm);
}

static void sw(uint64_t ts, int cpu, int prev, const char *state, int next)
{
	++seq;
	exec("INSERT INTO sched_switch(seq, ts, cpu, tid, prev_tid, prev_state,"
	     " prev_state_str, next_tid) VALUES(%lld, %llu, %d, %d, %d, %d, '%s', %d)",
	     (long long)seq, (unsigned long long)ts, cpu, prev, prev,
	     state[0] == 'R' ? 0 : state[0] == 'S' ? 1 : 2, state, next);
}

static void waking(uint64_t ts, int cpu, int waker, int tid)
{
	++seq;
	exec("INSERT INTO sched_waking(seq, ts, cpu, waker_tid, tid) VALUES(%lld, %llu, %d, %d, %d)",
	     (long long)seq, (unsigned long long)ts, cpu, waker, tid);
}

static void wakeup(uint64_t ts, int cpu, int ctx, int tid)
{
	++seq;
	exec("INSERT INTO sched_wakeup(seq, ts, cpu, waker_tid, tid) VALUES(%lld, %llu, %d, %d, %d)",
	     (long long)seq, (unsigned long long)ts, cpu, ctx, tid);
}

/* sys_enter_futex: returns the futex.id of the call. */
static int64_t fenter(uint64_t ts, int cpu, int tid, uint64_t uaddr, int op,
		      unsigned val)
{
	++seq;
	exec("INSERT INTO futex(enter_seq, tid, cpu, enter_ns, syscall, uaddr, op,"
	     " cmd, val) VALUES(%lld, %d, %d, %llu, 'futex', %llu, %d, %d, %u)",
	     (long long)seq, tid, cpu, (unsigned long long)ts,
	     (unsigned long long)uaddr, op, op & 127, val);
	return sqlite3_last_insert_rowid(db);
}

static void fexit(int64_t id, uint64_t ts, int ret)
{
	++seq;
	exec("UPDATE futex SET exit_seq = %lld, exit_ns = %llu, ret = %d WHERE id = %lld",
	     (long long)seq, (unsigned long long)ts, ret, (long long)id);
}

/* A futex call whose enter happened before the capture. */
static int64_t fexit_only(uint64_t ts, int tid, int ret)
{
	++seq;
	exec("INSERT INTO futex(exit_seq, tid, exit_ns, syscall, ret)"
	     " VALUES(%lld, %d, %llu, 'futex', %d)",
	     (long long)seq, tid, (unsigned long long)ts, ret);
	return sqlite3_last_insert_rowid(db);
}

static void thread_at(int64_t utid, int tid, const char *comm, int64_t start_seq)
{
	exec("INSERT INTO thread(utid, tid, comm, start_seq) VALUES(%lld, %d, '%s', %lld)",
	     (long long)utid, tid, comm, (long long)start_seq);
}

static void fork_ev(uint64_t ts, int cpu, int parent, int child)
{
	++seq;
	exec("INSERT INTO sched_process_fork(seq, ts, cpu, tid, parent_tid, child_tid)"
	     " VALUES(%lld, %llu, %d, %d, %d, %d)", (long long)seq,
	     (unsigned long long)ts, cpu, parent, parent, child);
}

static void exit_ev(uint64_t ts, int cpu, int tid)
{
	++seq;
	exec("INSERT INTO sched_process_exit(seq, ts, cpu, tid) VALUES(%lld, %llu, %d, %d)",
	     (long long)seq, (unsigned long long)ts, cpu, tid);
}

static void analyze(const struct wc_analyze_options *opt)
{
	struct wc_error err = WC_ERROR_INIT;

	cr_assert_eq(wc_analyze(db, db_path, opt, &err), 0, "%s", err.msg);
}

/* The rows of SQL as "a|b|c\n" lines; caller frees. */
static char *rows(const char *sql)
{
	struct wc_buf b = WC_BUF_INIT;
	sqlite3_stmt *st = NULL;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
		     "%s: %s", sqlite3_errmsg(db), sql);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const char *v = (const char *)sqlite3_column_text(st, i);

			if (i)
				wc_buf_addc(&b, '|');
			wc_buf_adds(&b, v ? v : "-");
		}
		wc_buf_addc(&b, '\n');
	}
	sqlite3_finalize(st);
	wc_buf_adds(&b, "");
	return wc_buf_detach(&b);
}

#define assert_rows(sql, expected) do {                                   \
		char *got_ = rows(sql);                                    \
		cr_assert_str_eq(got_, expected, "query: %s\ngot:\n%s", sql, got_); \
		free(got_);                                                \
	} while (0)

static char *analysis_key(const char *key)
{
	char sql[128];
	char *r;
	size_t n;

	snprintf(sql, sizeof(sql), "SELECT value FROM analysis WHERE key = '%s'", key);
	r = rows(sql);
	n = strlen(r);
	if (n && r[n - 1] == '\n')
		r[n - 1] = 0;
	return r;
}

/*
 * Lock stealing, EAGAIN and one acquisition over two sleeps.
 * T 101 "CPU 0/KVM" on cpu 0; H1 102 and H2 103 on cpu 1.
 *  1100 T WAIT L1 -> EAGAIN at 1110 (no sleep)
 *  1200 T WAIT L1, asleep 1210; 1500 H1 WAKE (releases), waking T 1510
 *  1530 H1 sleeps (not futex), H2 runs; T runs 1600, returns 1610
 *  1700 T WAIT L1 again (H2 stole the lock), asleep 1710
 *  2000 H2 WAKE, waking T 2010; T runs 2100, returns 2110
 *  2500 T WAKE L1 (its own release: the acquisition is over)
 * Expected: seq 1 holder of the first sleep is H1, of the second H2 (not
 * H1, who woke it the first time); one lock_wait of 3 calls, 2 blocks.
 */
Test(analyze, lock_stealing_eagain_and_lock_wait)
{
	int64_t f1, f2, f3, f4, f5, f6;

	open_case("steal.db");
	thread(1, 101, "CPU 0/KVM");
	thread(2, 102, "H1");
	thread(3, 103, "H2");
	sw(1000, 1, 0, "R", 102);
	sw(1000, 0, 0, "R", 101);
	f1 = fenter(1100, 0, 101, L1, WAIT_P, 2);
	fexit(f1, 1110, -11);
	f2 = fenter(1200, 0, 101, L1, WAIT_P, 2);
	sw(1210, 0, 101, "S", 0);
	f3 = fenter(1500, 1, 102, L1, WAKE_P, 1);
	waking(1510, 1, 102, 101);
	fexit(f3, 1520, 1);
	sw(1530, 1, 102, "S", 103);
	sw(1600, 0, 0, "R", 101);
	fexit(f2, 1610, 0);
	f4 = fenter(1700, 0, 101, L1, WAIT_P, 2);
	sw(1710, 0, 101, "S", 0);
	f5 = fenter(2000, 1, 103, L1, WAKE_P, 1);
	waking(2010, 1, 103, 101);
	fexit(f5, 2020, 1);
	sw(2100, 0, 0, "R", 101);
	fexit(f4, 2110, 0);
	f6 = fenter(2500, 0, 101, L1, WAKE_P, 1);
	fexit(f6, 2510, 0);
	sw(3000, 0, 101, "R", 0);
	analyze(NULL);

	assert_rows("SELECT id, tid, start_ns, end_ns, state, reason, futex_uaddr,"
		    " futex_pid, waker_tid, wakeup_ns, wakeup_source, switch_in_ns,"
		    " lock_wait_id, is_vcpu, uncertain FROM block ORDER BY id",
		    /* ids in the order the blocks end: 102's sleep lasts
		     * to the end of the capture */
		    "1|101|1210|1510|S|futex|4096|101|102|1510|sched_waking|1600|1|1|0\n"
		    "2|101|1710|2010|S|futex|4096|101|103|2010|sched_waking|2100|1|1|0\n"
		    "3|102|1530|3000|S|sleep|-|-|-|-|-|-|-|0|0\n");
	char *expect;
	cr_assert(asprintf(&expect,
			   "1|1|102|1210|1500|%lld|1|exact\n"
			   "2|1|103|1710|2000|%lld|1|exact\n",
			   (long long)f3, (long long)f5) > 0);
	assert_rows("SELECT h.block_id, seq, holder_tid, from_ns, to_ns,"
		    " release_futex_id, is_waker, certainty FROM block_holder h"
		    " ORDER BY block_id, seq", expect);
	free(expect);
	assert_rows("SELECT id, tid, futex_uaddr, futex_pid, start_ns, end_ns, nblocks,"
		    " ncalls FROM lock_wait ORDER BY id",
		    "1|101|4096|101|1100|2110|2|3\n");
	assert_rows("SELECT start_ns, end_ns, state, cpu, runnable_reason, block_id"
		    " FROM thread_state WHERE tid = 101 ORDER BY start_ns",
		    "1000|1210|running|0|-|-\n"
		    "1210|1510|sleeping|0|-|1\n"
		    "1510|1600|runnable|0|woken|1\n"
		    "1600|1710|running|0|-|-\n"
		    "1710|2010|sleeping|0|-|2\n"
		    "2010|2100|runnable|0|woken|2\n"
		    "2100|3000|running|0|-|-\n");
	/* pid inferred from the shared futex word: smallest tid */
	assert_rows("SELECT tid, pid, pid_source FROM thread ORDER BY tid",
		    "101|101|inferred\n102|101|inferred\n103|101|inferred\n");
	close_case();
}

/*
 * A holder preempted, and a chain of depth 2.
 * W 201 "CPU 0/KVM" (cpu 0) waits on L1 (the global mutex, --lock) held
 * by M 202 (cpu 2), itself asleep on L2 held by K 203 (cpu 1), which
 * hog X 204 preempts during [1300, 1600).
 *  1100 M WAIT L2, asleep 1110; 1200 W WAIT L1, asleep 1210
 *  1300 K preempted by X; 1600 K runs again
 *  1700 K WAKE L2 -> waking M 1710; M runs 1800
 *  1900 M WAKE L1 -> waking W 1910; W runs 2000; 2100 W preempted
 * Chain of W's block: M futex [1210,1710) on L2 -> K running [1210,1300),
 * preempted by 204 [1300,1600), running [1600,1700); then M runnable
 * [1710,1800), running [1800,1900).
 */
Test(analyze, preempted_holder_depth2_chain)
{
	struct wc_analyze_options opt = { .has_lock = 1, .lock_uaddr = L1,
					  .lock_pid = -1 };
	int64_t f1, f2, f3, f4;

	open_case("chain.db");
	thread(1, 201, "CPU 0/KVM");
	thread(2, 202, "main");
	thread(3, 203, "worker");
	thread(4, 204, "hog");
	sw(1000, 0, 0, "R", 201);
	sw(1000, 1, 0, "R", 203);
	sw(1000, 2, 0, "R", 202);
	f1 = fenter(1100, 2, 202, L2, WAIT_P, 2);
	sw(1110, 2, 202, "S", 0);
	f2 = fenter(1200, 0, 201, L1, WAIT_P, 2);
	sw(1210, 0, 201, "S", 0);
	sw(1300, 1, 203, "R", 204);
	sw(1600, 1, 204, "R", 203);
	f3 = fenter(1700, 1, 203, L2, WAKE_P, 1);
	waking(1710, 1, 203, 202);
	fexit(f3, 1720, 1);
	sw(1800, 2, 0, "R", 202);
	fexit(f1, 1810, 0);
	f4 = fenter(1900, 2, 202, L1, WAKE_P, 1);
	waking(1910, 2, 202, 201);
	fexit(f4, 1920, 1);
	sw(2000, 0, 0, "R", 201);
	fexit(f2, 2010, 0);
	sw(2100, 0, 201, "R", 0);
	analyze(&opt);

	assert_rows("SELECT pid, futex_uaddr, blocked_ns, nblocks, chosen_by, share"
		    " FROM global_lock", "201|4096|700|1|--lock|1.0\n");
	assert_rows("SELECT id, tid, on_global_lock FROM block ORDER BY id",
		    "1|202|0\n2|201|1\n");
	assert_rows("SELECT depth, tid, from_ns, to_ns, state, futex_uaddr, sub_block_id,"
		    " parent_tid, preempted_by, (SELECT c2.depth FROM chain c2 WHERE"
		    " c2.id = c.parent_id) FROM chain c WHERE block_id = 2 ORDER BY id",
		    "1|202|1210|1710|futex|8192|1|201|-|-\n"
		    "2|203|1210|1300|running|-|-|202|-|1\n"
		    "2|203|1300|1600|preempted|-|-|202|204|1\n"
		    "2|203|1600|1700|running|-|-|202|-|1\n"
		    "1|202|1710|1800|runnable|-|-|201|-|-\n"
		    "1|202|1800|1900|running|-|-|201|-|-\n");
	/* the worker's own block on L2 is a root too: K preempted at depth 1 */
	assert_rows("SELECT depth, tid, from_ns, to_ns, state, preempted_by FROM chain"
		    " WHERE block_id = 1 ORDER BY id",
		    "1|203|1110|1300|running|-\n"
		    "1|203|1300|1600|preempted|204\n"
		    "1|203|1600|1700|running|-\n");
	assert_rows("SELECT tid, ts, reason, prev_state_str, block_id FROM vcpu_switch"
		    " ORDER BY ts", "201|1210|futex_global|S|2\n201|2100|preempted|R|-\n");
	assert_rows("SELECT start_ns, end_ns, end_reason FROM vcpu_slice ORDER BY start_ns",
		    "1000|1210|futex_global\n2000|2100|preempted\n");
	assert_rows("SELECT tid, vcpu_index, accel FROM vcpu", "201|0|KVM\n");
	close_case();
}

/*
 * ABBA deadlock: A 301 took L1 after sleeping on it (woken by X 303),
 * B 302 took L2 the same way (woken by X, who also tried both locks and
 * got EAGAIN); then A waits on L2 and B on L1
 * until the capture ends.  Nobody ever releases, so each truncated sleep
 * names the thread that came out of a wait on the word without releasing
 * it: A's holder is B, whose own sleep is held by A: a cycle.
 */
Test(analyze, deadlock_cycle)
{
	int64_t a1, b1, x1, x2, a2, b2;

	open_case("deadlock.db");
	thread(1, 301, "A");
	thread(2, 302, "B");
	thread(3, 303, "X");
	sw(1000, 0, 0, "R", 301);
	sw(1000, 1, 0, "R", 302);
	sw(1000, 2, 0, "R", 303);
	a1 = fenter(1100, 0, 301, L1, WAIT_P, 2);
	sw(1110, 0, 301, "S", 0);
	b1 = fenter(1100, 1, 302, L2, WAIT_P, 2);
	sw(1110, 1, 302, "S", 0);
	/* X contends too (EAGAIN), so both words look like mutexes */
	fexit(fenter(1150, 2, 303, L1, WAIT_P, 2), 1151, -11);
	fexit(fenter(1160, 2, 303, L2, WAIT_P, 2), 1161, -11);
	x1 = fenter(1200, 2, 303, L1, WAKE_P, 1);
	waking(1210, 2, 303, 301);
	fexit(x1, 1220, 1);
	x2 = fenter(1300, 2, 303, L2, WAKE_P, 1);
	waking(1310, 2, 303, 302);
	fexit(x2, 1320, 1);
	sw(1400, 0, 0, "R", 301);
	fexit(a1, 1410, 0);
	sw(1400, 1, 0, "R", 302);
	fexit(b1, 1410, 0);
	a2 = fenter(1500, 0, 301, L2, WAIT_P, 2);
	sw(1510, 0, 301, "S", 0);
	b2 = fenter(1500, 1, 302, L1, WAIT_P, 2);
	sw(1510, 1, 302, "S", 0);
	sw(3000, 2, 303, "S", 0);
	(void)a2;
	(void)b2;
	analyze(NULL);

	assert_rows("SELECT block_id, seq, holder_tid, from_ns, to_ns, certainty FROM"
		    " block_holder WHERE block_id IN (SELECT id FROM block WHERE"
		    " start_ns = 1510) ORDER BY block_id, seq",
		    "3|1|302|1510|3000|truncated\n4|1|301|1510|3000|truncated\n");
	assert_rows("SELECT depth, tid, state, futex_uaddr FROM chain WHERE block_id = 3"
		    " ORDER BY id",
		    "1|302|futex|4096\n2|301|deadlock|-\n");
	assert_rows("SELECT value FROM analysis WHERE key = 'deadlocks'", "2\n");
	char *w = analysis_key("warnings");
	cr_assert(strstr(w, "deadlock: block 3: thread 301"), "%s", w);
	free(w);
	close_case();
}

/*
 * The capture starts while T 401 sleeps in a futex wait: the first
 * events are H 402's wake (1200) and waking (1210), then T's exit of a
 * call whose enter was never seen.  The block starts at the capture
 * start (1000), state '?', futex word taken from the waker's call.
 */
Test(analyze, capture_starts_mid_block)
{
	int64_t h, t;

	open_case("midblock.db");
	thread(1, 401, "T");
	thread(2, 402, "H");
	sw(1000, 1, 0, "R", 402);
	h = fenter(1200, 1, 402, L1, WAKE_P, 1);
	waking(1210, 1, 402, 401);
	fexit(h, 1220, 1);
	sw(1300, 0, 0, "R", 401);
	t = fexit_only(1310, 401, 0);
	sw(1400, 0, 401, "S", 0);
	analyze(NULL);

	char *expect;
	cr_assert(asprintf(&expect,
			   "1|401|1000|1210|?|futex|%lld|4096|402|sched_waking|1300|1\n"
			   "2|401|1400|1400|S|sleep|-|-|-|-|-|0\n", (long long)t) > 0);
	assert_rows("SELECT id, tid, start_ns, end_ns, state, reason, futex_id,"
		    " futex_uaddr, waker_tid, wakeup_source, switch_in_ns, uncertain"
		    " FROM block ORDER BY id", expect);
	free(expect);
	assert_rows("SELECT seq, holder_tid, from_ns, to_ns, is_waker, certainty"
		    " FROM block_holder WHERE block_id = 1 ORDER BY seq",
		    "1|-|1000|1200|0|before_capture\n2|402|1200|1200|1|exact\n");
	assert_rows("SELECT start_ns, end_ns, state, uncertain FROM thread_state"
		    " WHERE tid = 401 ORDER BY start_ns",
		    "1000|1210|sleeping|1\n1210|1300|runnable|0\n1300|1400|running|0\n");
	char *w = analysis_key("warnings");
	cr_assert(strstr(w, "1 threads were already asleep"), "%s", w);
	free(w);
	close_case();
}

/*
 * No sched_waking in the capture: T 501 wakes up through sched_wakeup,
 * which fires on T's CPU in the idle task's context (tid 0).  The waker
 * is the thread whose release on the word came last (H 502), the block
 * says 'sched_wakeup' and is uncertain.
 */
Test(analyze, sched_wakeup_fallback)
{
	int64_t f1, f2;

	open_case("wakeup.db");
	thread(1, 501, "T");
	thread(2, 502, "H");
	sw(1000, 0, 0, "R", 501);
	sw(1000, 1, 0, "R", 502);
	f1 = fenter(1100, 0, 501, L1, WAIT_P, 2);
	sw(1110, 0, 501, "S", 0);
	f2 = fenter(1200, 1, 502, L1, WAKE_P, 1);
	fexit(f2, 1220, 1);
	wakeup(1230, 0, 0, 501);
	sw(1300, 0, 0, "R", 501);
	fexit(f1, 1310, 0);
	analyze(NULL);

	assert_rows("SELECT waker_tid, wakeup_ns, wakeup_source, uncertain FROM block",
		    "502|1230|sched_wakeup|1\n");
	assert_rows("SELECT seq, holder_tid, is_waker, certainty FROM block_holder",
		    "1|502|1|exact\n");
	assert_rows("SELECT value FROM analysis WHERE key = 'wakeup_source'",
		    "sched_wakeup (approximate)\n");
	char *w = analysis_key("warnings");
	cr_assert(strstr(w, "no sched_waking"), "%s", w);
	free(w);
	close_case();
}

/*
 * The global mutex is not a vCPU's private halt condition: vCPUs 601 and
 * 602 each sleep long on their own word (woken by main 603, never
 * waiting there: 'other'), and briefly on G, which both vCPUs and main
 * wait on and release (mutex).  G is chosen although the private words
 * hold more blocked time.  Also: running the analysis twice gives the
 * same rows.
 */
Test(analyze, global_mutex_not_halt_condvar)
{
	int64_t f;

	open_case("global.db");
	thread(1, 601, "CPU 0/KVM");
	thread(2, 602, "CPU 1/KVM");
	thread(3, 603, "qemu-main");
	sw(1000, 0, 0, "R", 601);
	sw(1000, 1, 0, "R", 602);
	sw(1000, 2, 0, "R", 603);
	/* halt waits: 601 on 0x5000, 602 on 0x6000, [1100, 5000) */
	int64_t h1 = fenter(1100, 0, 601, 0x5000, WAIT_P, 0);
	sw(1110, 0, 601, "S", 0);
	int64_t h2 = fenter(1100, 1, 602, 0x6000, WAIT_P, 0);
	sw(1110, 1, 602, "S", 0);
	f = fenter(5000, 2, 603, 0x5000, WAKE_P, 1);
	waking(5001, 2, 603, 601);
	fexit(f, 5002, 1);
	f = fenter(5010, 2, 603, 0x6000, WAKE_P, 1);
	waking(5011, 2, 603, 602);
	fexit(f, 5012, 1);
	sw(5100, 0, 0, "R", 601);
	fexit(h1, 5110, 0);
	sw(5100, 1, 0, "R", 602);
	fexit(h2, 5110, 0);
	/* G: main holds; 601 and 602 wait; main releases -> 601, 601 -> 602 */
	int64_t g1 = fenter(6000, 0, 601, 0x7000, WAIT_P, 2);
	sw(6010, 0, 601, "S", 0);
	int64_t g2 = fenter(6000, 1, 602, 0x7000, WAIT_P, 2);
	sw(6010, 1, 602, "S", 0);
	f = fenter(6500, 2, 603, 0x7000, WAKE_P, 1);
	waking(6510, 2, 603, 601);
	fexit(f, 6520, 1);
	sw(6600, 0, 0, "R", 601);
	fexit(g1, 6610, 0);
	f = fenter(6800, 0, 601, 0x7000, WAKE_P, 1);
	waking(6810, 0, 601, 602);
	fexit(f, 6820, 1);
	sw(6900, 1, 0, "R", 602);
	fexit(g2, 6910, 0);
	/* main waits on G once too (held by 602) */
	int64_t g3 = fenter(7000, 2, 603, 0x7000, WAIT_P, 2);
	sw(7010, 2, 603, "S", 0);
	f = fenter(7100, 1, 602, 0x7000, WAKE_P, 1);
	waking(7110, 1, 602, 603);
	fexit(f, 7120, 1);
	sw(7200, 2, 0, "R", 603);
	fexit(g3, 7210, 0);
	sw(8000, 0, 601, "R", 0);
	analyze(NULL);

	assert_rows("SELECT printf('0x%x', uaddr), kind, waiters, vcpu_waiters, wakers,"
		    " blocks, blocked_ns, vcpu_blocked_ns, wait_calls, wake_calls"
		    " FROM futex_object ORDER BY uaddr",
		    "0x5000|other|1|1|1|1|3891|3891|1|1\n"
		    "0x6000|other|1|1|1|1|3901|3901|1|1\n"
		    "0x7000|mutex|3|2|3|3|1400|1300|3|3\n");
	/* share: 1300 / (3891 + 3901 + 1300) */
	assert_rows("SELECT pid, printf('0x%x', futex_uaddr), printf('%.4f', share),"
		    " blocked_ns, nblocks, chosen_by FROM global_lock",
		    "601|0x7000|0.1430|1300|2|auto\n");
	assert_rows("SELECT reason, count(*) FROM vcpu_switch GROUP BY reason ORDER BY reason",
		    "futex_global|2\nfutex_other|2\npreempted|1\n");
	char *first = rows("SELECT * FROM block_holder ORDER BY block_id, seq");
	analyze(NULL);
	char *second = rows("SELECT * FROM block_holder ORDER BY block_id, seq");
	cr_assert_str_eq(first, second);
	free(first);
	free(second);
	assert_rows("SELECT count(*) FROM thread_state WHERE tid = 601", "7\n");
	{
		/* the estimate made before pass 1 was right: one pass */
		char *runs = analysis_key("pass1_runs");

		cr_expect_str_eq(runs, "1");
		free(runs);
	}
	close_case();
}

/*
 * Lost events and a reused tid.  Thread 701 (utid 1) runs, exits at 1500
 * (state X); 700 forks a new 701 (utid 2, start_seq = the fork's seq) at
 * 1600, which runs from 1700 and sleeps at 1800 until the end (2500).
 * 100 events were lost on cpu 1 in [1850, 1860]: the sleep and the
 * state intervals overlapping it are uncertain, the others are not.
 */
Test(analyze, lost_events_and_tid_reuse)
{
	open_case("lost.db");
	thread_at(1, 701, "old", 0);
	thread_at(2, 700, "parent", 0);
	thread_at(3, 701, "new", 5);
	exec("INSERT INTO lost(cpu, ts_from_ns, ts_ns, count, kind)"
	     " VALUES(1, 1850, 1860, 100, 'lost')");
	sw(1000, 0, 0, "R", 701);
	sw(1000, 1, 0, "R", 700);
	exit_ev(1400, 0, 701);
	sw(1500, 0, 701, "X", 0);
	fork_ev(1600, 1, 700, 701);		/* seq 5 */
	sw(1700, 0, 0, "R", 701);
	sw(1800, 0, 701, "S", 0);
	sw(2500, 1, 700, "R", 0);
	analyze(NULL);

	assert_rows("SELECT utid, tid, start_ns, end_ns, state, uncertain FROM thread_state"
		    " WHERE tid = 701 ORDER BY utid, start_ns",
		    "1|701|1000|1500|running|0\n"
		    "1|701|1500|2500|dead|1\n"
		    "3|701|1600|1700|runnable|0\n"
		    "3|701|1700|1800|running|0\n"
		    "3|701|1800|2500|sleeping|1\n");
	assert_rows("SELECT utid, start_ns, end_ns, reason, uncertain FROM block",
		    "3|1800|2500|sleep|1\n");
	char *w = analysis_key("warnings");
	cr_assert(strstr(w, "100 events were lost"), "%s", w);
	free(w);
	close_case();
}

/*
 * The waker races the switch-out: H 802's sched_waking of T 801 (on
 * another CPU) is recorded at 1205, before T's own switch-out in S at
 * 1210 (T was already dequeued; the waker waits for it to leave the
 * CPU).  The sleep is closed at once: [1210, 1210], woken by H at 1205,
 * H is its holder and waker.
 */
Test(analyze, waking_before_switch_out)
{
	int64_t w, k;

	open_case("race.db");
	thread(1, 801, "T");
	thread(2, 802, "H");
	sw(1000, 0, 0, "R", 801);
	sw(1000, 1, 0, "R", 802);
	w = fenter(1100, 0, 801, L1, WAIT_P, 2);
	k = fenter(1200, 1, 802, L1, WAKE_P, 1);
	waking(1205, 1, 802, 801);
	sw(1210, 0, 801, "S", 0);
	fexit(k, 1220, 1);
	sw(1300, 0, 0, "R", 801);
	fexit(w, 1310, 0);
	analyze(NULL);

	assert_rows("SELECT start_ns, end_ns, waker_tid, wakeup_ns, switch_in_ns FROM block",
		    "1210|1210|802|1205|1300\n");
	assert_rows("SELECT seq, holder_tid, from_ns, to_ns, is_waker FROM block_holder",
		    "1|802|1210|1210|1\n");
	assert_rows("SELECT start_ns, end_ns, state, runnable_reason FROM thread_state"
		    " WHERE tid = 801 ORDER BY start_ns",
		    "1000|1210|running|-\n1210|1300|runnable|woken\n1300|1310|running|-\n");
	close_case();
}

/*
 * The global mutex is chosen before pass 1 from the futex calls alone
 * (time vCPUs spent inside wait calls) and checked after it against
 * the exact rule (time they slept); when the estimate is wrong pass 1
 * runs again with the right one.  Two mutexes of vCPUs 101 and 102,
 * each waited on once by each vCPU, each released by the other one:
 *   L1: calls 100..1100 and 1200..2100 (1000 + 900 ns) but asleep only
 *       900..955 and 1900..1955 (55 + 55 ns);
 *   L2: calls 3000..3701 and 4000..4701 (701 + 701 ns), asleep
 *       3001..3605 and 4001..4605 (604 + 604 ns).
 * The estimate picks L1 (1900 > 1402), the exact rule L2 (1208 > 110):
 * two runs, and everything written says L2.
 */
/* WAITER (on cpu WCPU) waits on WORD from T_ENTER, sleeps at T_SLEEP;
 * WAKER (on cpu KCPU) releases WORD at T_WAKE, waking it 5 ns later;
 * the waiter runs again at T_RUN and returns at T_EXIT. */
static void contended_wait(int waiter, int wcpu, int waker, int kcpu,
			   uint64_t word, uint64_t t_enter, uint64_t t_sleep,
			   uint64_t t_wake, uint64_t t_run, uint64_t t_exit)
{
	int64_t w = fenter(t_enter, wcpu, waiter, word, WAIT_P, 2);
	int64_t k;

	sw(t_sleep, wcpu, waiter, "S", 0);
	k = fenter(t_wake, kcpu, waker, word, WAKE_P, 1);
	waking(t_wake + 5, kcpu, waker, waiter);
	fexit(k, t_wake + 10, 1);
	sw(t_run, wcpu, 0, "R", waiter);
	fexit(w, t_exit, 0);
}

Test(analyze, global_mutex_estimate_corrected)
{
	open_case("rerun.db");
	thread(1, 101, "CPU 0/KVM");
	thread(2, 102, "CPU 1/KVM");
	/* L1: long calls, short sleeps */
	contended_wait(101, 0, 102, 1, L1, 100, 900, 950, 1000, 1100);
	contended_wait(102, 1, 101, 0, L1, 1200, 1900, 1950, 2000, 2100);
	/* L2: short calls, long sleeps */
	contended_wait(101, 0, 102, 1, L2, 3000, 3001, 3600, 3700, 3701);
	contended_wait(102, 1, 101, 0, L2, 4000, 4001, 4600, 4700, 4701);
	analyze(NULL);

	assert_rows("SELECT futex_uaddr, blocked_ns, nblocks, chosen_by FROM global_lock",
		    "8192|1208|2|auto\n");
	assert_rows("SELECT futex_uaddr, count(*), sum(on_global_lock),"
		    " sum(end_ns - start_ns) FROM block WHERE reason = 'futex'"
		    " GROUP BY futex_uaddr ORDER BY futex_uaddr",
		    "4096|2|0|110\n8192|2|2|1208\n");
	assert_rows("SELECT reason, count(*) FROM vcpu_switch GROUP BY reason ORDER BY reason",
		    "futex_global|2\nfutex_other|2\n");
	assert_rows("SELECT end_reason, count(*) FROM vcpu_slice WHERE end_reason"
		    " LIKE 'futex%' GROUP BY end_reason ORDER BY end_reason",
		    "futex_global|2\nfutex_other|2\n");
	{
		char *runs = analysis_key("pass1_runs");

		cr_expect_str_eq(runs, "2");
		free(runs);
	}
	close_case();
}

/*
 * Chains are built from each thread's recent history, kept per thread
 * up to WAITCHAIN_CHAIN_HISTORY states.  W 901 sleeps on L1 from 1000
 * to 1e6 while its holder H 902 is preempted by X 903 and runs again 200
 * times: 400 closed states (running since 500, then preempted and
 * running again 200 times) and the open one, running since 201500, in
 * which H releases L1 at 1e6.  With a history of 64 states the oldest
 * 336 are gone when W's block ends: the chain starts with one
 * 'unknown', uncertain piece from the block start to the oldest state
 * kept (running from 169500), then the 64 states kept and the open
 * one, each uncertain (66 rows), and analysis.warnings says so.  With
 * the default history the same capture gives 401 exact rows.
 */
static void long_wait_busy_holder(void)
{
	int64_t w, k;

	thread(1, 901, "W");
	thread(2, 902, "H");
	thread(3, 903, "X");
	sw(500, 0, 0, "R", 901);
	sw(500, 1, 0, "R", 902);
	w = fenter(900, 0, 901, L1, WAIT_P, 2);
	sw(1000, 0, 901, "S", 0);
	for (int i = 0; i < 200; i++) {
		uint64_t t = 2000 + (uint64_t)i * 1000;

		sw(t, 1, 902, "R", 903);
		sw(t + 500, 1, 903, "S", 902);
	}
	k = fenter(1000000, 1, 902, L1, WAKE_P, 1);
	waking(1000005, 1, 902, 901);
	fexit(k, 1000010, 1);
	sw(1000100, 0, 0, "R", 901);
	fexit(w, 1000200, 0);
}

Test(analyze, chain_history_cap)
{
	char *warn;

	open_case("histcap.db");
	long_wait_busy_holder();
	setenv("WAITCHAIN_CHAIN_HISTORY", "64", 1);
	analyze(NULL);
	unsetenv("WAITCHAIN_CHAIN_HISTORY");
	assert_rows("SELECT state, from_ns, to_ns, uncertain FROM chain WHERE depth = 1"
		    " ORDER BY id LIMIT 2",
		    "unknown|1000|169500|1\nrunning|169500|170000|1\n");
	assert_rows("SELECT count(*), sum(uncertain), max(to_ns) FROM chain",
		    "66|66|1000000\n");
	warn = analysis_key("warnings");
	cr_expect(strstr(warn, "dropped at the per-thread cap"), "%s", warn);
	free(warn);

	analyze(NULL);	/* default history: all 400 states of the wait */
	assert_rows("SELECT count(*), sum(uncertain), min(from_ns), max(to_ns),"
		    " sum(state = 'preempted'), sum(state = 'running')"
		    " FROM chain", "401|0|1000|1000000|200|201\n");
	warn = analysis_key("warnings");
	cr_expect(!strstr(warn, "dropped at the per-thread cap"), "%s", warn);
	free(warn);
	close_case();
}
