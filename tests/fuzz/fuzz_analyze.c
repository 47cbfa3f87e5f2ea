/*
 * fuzz_analyze.c - libFuzzer harness for the analyzer on arbitrary but
 * well-formed event streams.
 *
 * A small interpreter turns the input bytes into a plausible scheduler
 * trace: up to FZA_NCPUS CPUs each running one task at a time, up to
 * FZA_NTIDS threads in two processes, monotonic time.  Each step reads an
 * opcode byte and argument bytes and emits, through the REAL db writer
 * sink into an in-memory SQLite database:
 *   sched_switch (prev state R, R+, S, D, I from the input; next = a task
 *   not running elsewhere, or idle), sched_waking / sched_wakeup of a
 *   sleeping task by the task running on a CPU, futex enter (WAIT, WAKE,
 *   WAIT_BITSET, WAKE_BITSET, REQUEUE, LOCK_PI..., on a few addresses) /
 *   exit (0 or -EAGAIN), fork, exit, task_rename, and lost-events reports.
 * Then wc_db_finish_import() and wc_analyze(), and these invariants are
 * checked with SQL (a violation prints the query and abort()s):
 *   - thread_state: per thread, start <= end, intervals contiguous (each
 *     starts where the previous ended) and so never overlapping;
 *   - chain: depth in 1..limit, every parent_id exists with depth - 1,
 *     depth-1 rows have no parent;
 *   - block: start_ns <= end_ns; block_holder.from_ns <= to_ns;
 *   - block_holder: seq contiguous from 1 for every block.
 * Errors from the analyzer on a well-formed stream are bugs too (abort).
 *
 * Replay without libFuzzer: compiled into tests/unit/test_fuzz_regressions.c
 * with -DWC_FUZZ_REPLAY (then only wc_fuzz_analyze_one() is defined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waitchain/analyze.h"
#include "waitchain/db.h"

int wc_fuzz_analyze_one(const uint8_t *data, size_t size);

#define FZA_NCPUS 3
#define FZA_NTIDS 7		/* tids 101..107; pid 101 (tids 101-104), 105 */
#define FZA_DEPTH 4		/* chain depth limit used */
#define FZA_MAX_STEPS 2000

struct fza {
	const uint8_t *p, *end;
	const struct wc_sink *sink;
	uint64_t ts;
	int32_t running[FZA_NCPUS];	/* tid on each CPU, 0 idle */
	int alive[FZA_NTIDS + 1];	/* 1 alive, 0 not yet forked/exited */
	int asleep[FZA_NTIDS + 1];	/* switched out sleeping */
	int in_futex[FZA_NTIDS + 1];	/* futex enter without exit */
	struct wc_error err;
};

static unsigned fza_byte(struct fza *z)
{
	return z->p < z->end ? *z->p++ : 0;
}

static int32_t fza_tid(unsigned i)
{
	return 101 + (int32_t)(i % FZA_NTIDS);
}

static int32_t fza_pid(int32_t tid)
{
	return tid <= 104 ? 101 : 105;
}

static const char *fza_comm(int32_t tid)
{
	static const char *const names[] = {
		"qemu", "CPU 0/KVM", "CPU 1/KVM", "worker", "other",
		"CPU 2/KVM", "IO iothread0",
	};
	return tid == 0 ? "swapper" : names[(tid - 101) % FZA_NTIDS];
}

static int fza_emit(struct fza *z, struct wc_event *ev)
{
	ev->ts = z->ts;
	if (!ev->name)
		ev->name = "event";
	return z->sink->event(z->sink->ctx, ev, &z->err);
}

static int fza_cpu_of(struct fza *z, int32_t tid)
{
	for (int c = 0; c < FZA_NCPUS; c++)
		if (z->running[c] == tid)
			return c;
	return -1;
}

/* sched_switch on CPU C to NEXT (0 = idle), prev leaving in PSTATE. */
static int fza_switch(struct fza *z, int c, int32_t next, int64_t pstate)
{
	struct wc_event ev;
	int32_t prev = z->running[c];

	memset(&ev, 0, sizeof(ev));
	ev.type = WC_EV_SCHED_SWITCH;
	ev.name = "sched_switch";
	ev.cpu = c;
	ev.tid = prev;
	ev.pid = prev ? fza_pid(prev) : 0;
	ev.u.sw.prev_tid = prev;
	ev.u.sw.prev_prio = 120;
	ev.u.sw.prev_state = prev ? pstate : 0;
	ev.u.sw.next_tid = next;
	ev.u.sw.next_prio = 120;
	ev.u.sw.prev_comm = fza_comm(prev);
	ev.u.sw.next_comm = fza_comm(next);
	if (prev && pstate != 0 && pstate != 0x100)
		z->asleep[prev - 100] = 1;
	z->running[c] = next;
	if (next)
		z->asleep[next - 100] = 0;
	return fza_emit(z, &ev);
}

static int fza_step(struct fza *z)
{
	static const int64_t states[] = { 0, 0x100, 1, 1, 2, 0x402 };
	static const int32_t futex_ops[] = {
		128 | 0, 128 | 1, 128 | 9, 128 | 10, 128 | 3, 128 | 4,
		128 | 6, 128 | 7, 0, 1, 128 | 5, 256 | 128 | 9,
	};
	static const uint64_t uaddrs[] = { 0x1000, 0x2000, 0x3000, 0x1004 };
	unsigned op = fza_byte(z), a = fza_byte(z), b = fza_byte(z);
	int c = (int)(a % FZA_NCPUS);
	int32_t cur = z->running[c], t = fza_tid(b);
	struct wc_event ev;

	z->ts += 1 + (op >> 4) * (uint64_t)(1 + (a >> 5)) * 997;
	memset(&ev, 0, sizeof(ev));
	ev.cpu = c;
	ev.tid = cur;
	ev.pid = cur ? fza_pid(cur) : 0;
	switch (op & 15) {
	case 0:
	case 1:	/* context switch to a runnable task or idle */
		if (!z->alive[t - 100] || z->asleep[t - 100] ||
		    fza_cpu_of(z, t) >= 0 || (b & 0x80))
			t = 0;
		if (t == cur)
			return 0;
		return fza_switch(z, c, t,
				  states[(a >> 2) % (sizeof(states) / sizeof(states[0]))]);
	case 2:
	case 3:	/* waking / wakeup of a sleeping task */
		if (!z->alive[t - 100] || !z->asleep[t - 100])
			return 0;
		ev.type = (op & 15) == 2 ? WC_EV_SCHED_WAKING : WC_EV_SCHED_WAKEUP;
		ev.name = (op & 15) == 2 ? "sched_waking" : "sched_wakeup";
		ev.u.wake.tid = t;
		ev.u.wake.prio = 120;
		ev.u.wake.target_cpu = (int32_t)(b % FZA_NCPUS);
		ev.u.wake.comm = fza_comm(t);
		z->asleep[t - 100] = 0;
		return fza_emit(z, &ev);
	case 4:
	case 5:
	case 6:	/* futex enter by the running task */
		if (!cur || z->in_futex[cur - 100])
			return 0;
		ev.type = WC_EV_FUTEX_ENTER;
		ev.name = "sys_enter_futex";
		ev.u.futex_enter.syscall = "futex";
		ev.u.futex_enter.uaddr = uaddrs[b & 3];
		ev.u.futex_enter.op = futex_ops[(b >> 2) % (sizeof(futex_ops) / sizeof(futex_ops[0]))];
		ev.u.futex_enter.val = (ev.u.futex_enter.op & 127) == 0 ? 2 : 1;
		ev.u.futex_enter.val3 = 0xffffffffu;
		z->in_futex[cur - 100] = 1;
		return fza_emit(z, &ev);
	case 7:
	case 8:	/* futex exit by the running task */
		if (!cur || !z->in_futex[cur - 100])
			return 0;
		ev.type = WC_EV_FUTEX_EXIT;
		ev.name = "sys_exit_futex";
		ev.u.futex_exit.syscall = "futex";
		ev.u.futex_exit.ret = (b & 1) ? -11 : (int64_t)(b & 2);
		z->in_futex[cur - 100] = 0;
		return fza_emit(z, &ev);
	case 9:	/* fork of a not-yet-alive thread */
		if (!cur || z->alive[t - 100])
			return 0;
		ev.type = WC_EV_PROCESS_FORK;
		ev.name = "sched_process_fork";
		ev.u.fork.parent_tid = cur;
		ev.u.fork.child_tid = t;
		ev.u.fork.parent_comm = fza_comm(cur);
		ev.u.fork.child_comm = fza_comm(cur);
		z->alive[t - 100] = 1;
		z->asleep[t - 100] = 0;
		return fza_emit(z, &ev);
	case 10:	/* the running task exits (and switches out dead) */
		if (!cur || !(b & 1) || cur == 101)
			return 0;
		ev.type = WC_EV_PROCESS_EXIT;
		ev.name = "sched_process_exit";
		ev.u.exit.tid = cur;
		ev.u.exit.prio = 120;
		ev.u.exit.comm = fza_comm(cur);
		if (fza_emit(z, &ev))
			return -1;
		z->alive[cur - 100] = 0;
		z->in_futex[cur - 100] = 0;
		return fza_switch(z, c, 0, 0x10 /* X */);
	case 11:	/* rename */
		if (!cur)
			return 0;
		ev.type = WC_EV_TASK_RENAME;
		ev.name = "task_rename";
		ev.u.rename.tid = cur;
		ev.u.rename.oldcomm = fza_comm(cur);
		ev.u.rename.newcomm = (b & 1) ? "CPU 3/KVM" : fza_comm(cur);
		return fza_emit(z, &ev);
	case 12:	/* lost events on a CPU over a recent interval */
		return z->sink->lost(z->sink->ctx, (b & 4) ? -1 : c,
				     (b & 8) ? 0 : z->ts - (z->ts > 5000 ? 5000 : z->ts),
				     z->ts, 1 + b, "lost", &z->err);
	case 13:	/* an event nobody models */
		ev.type = WC_EV_OTHER;
		ev.name = "irq_handler_entry";
		return fza_emit(z, &ev);
	default:	/* same timestamp runs: no time advance */
		z->ts -= 1 + (op >> 4) * (uint64_t)(1 + (a >> 5)) * 997;
		return 0;
	}
}

/* abort()s with QUERY when its first column's first row is non-zero. */
static void fza_check(sqlite3 *db, const char *what, const char *query)
{
	int64_t bad = 0;
	struct wc_error err = WC_ERROR_INIT;

	if (wc_db_int(db, ":memory:", query, 0, &bad, &err) != 0) {
		fprintf(stderr, "fuzz_analyze: check query failed: %s\n", err.msg);
		abort();
	}
	if (bad) {
		fprintf(stderr, "fuzz_analyze: invariant broken (%s): %lld rows\n  %s\n",
			what, (long long)bad, query);
		abort();
	}
}

static void fza_invariants(sqlite3 *db)
{
	fza_check(db, "thread_state start <= end",
		  "SELECT count(*) FROM thread_state WHERE start_ns > end_ns");
	fza_check(db, "thread_state contiguous per thread",
		  "SELECT count(*) FROM (SELECT start_ns, lag(end_ns) OVER "
		  "(PARTITION BY utid ORDER BY start_ns, end_ns) AS pend "
		  "FROM thread_state) WHERE pend IS NOT NULL AND pend != start_ns");
	fza_check(db, "chain depth within limit",
		  "SELECT count(*) FROM chain WHERE depth < 1 OR depth > 4");
	fza_check(db, "chain parent exists one level up",
		  "SELECT count(*) FROM chain c WHERE (c.depth = 1) != (c.parent_id IS NULL) "
		  "OR (c.parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM chain p "
		  "WHERE p.id = c.parent_id AND p.depth = c.depth - 1))");
	fza_check(db, "chain row start <= end",
		  "SELECT count(*) FROM chain WHERE from_ns > to_ns");
	fza_check(db, "block start <= end",
		  "SELECT count(*) FROM block WHERE start_ns > end_ns");
	fza_check(db, "block_holder from <= to",
		  "SELECT count(*) FROM block_holder WHERE from_ns > to_ns");
	fza_check(db, "block_holder seq contiguous from 1",
		  "SELECT count(*) FROM (SELECT block_id FROM block_holder GROUP BY "
		  "block_id HAVING min(seq) != 1 OR max(seq) != count(*))");
	fza_check(db, "block_holder of existing blocks",
		  "SELECT count(*) FROM block_holder h WHERE NOT EXISTS "
		  "(SELECT 1 FROM block b WHERE b.id = h.block_id)");
}

/* One input: interpret, import, analyze, check; always returns 0. */
int wc_fuzz_analyze_one(const uint8_t *data, size_t size)
{
	struct fza z;
	struct wc_error err = WC_ERROR_INIT;
	struct wc_db_writer *w = NULL;
	struct wc_analyze_options aopt;
	sqlite3 *db = NULL;
	int steps = 0, rc;

	memset(&z, 0, sizeof(z));
	z.p = data;
	z.end = data + size;
	z.ts = 1000000;
	/* the first input byte says which threads exist from the start
	 * (the rest appear by fork); 101 (the main thread) always does */
	{
		unsigned m = fza_byte(&z) | 1;

		for (int i = 0; i < FZA_NTIDS; i++)
			z.alive[i + 1] = (m >> i) & 1;
	}
	if (wc_db_create(":memory:", &db, &err) != 0)
		abort();
	if (wc_db_writer_new(db, ":memory:", NULL, &w, &err) != 0)
		abort();
	z.sink = wc_db_writer_sink(w);
	if (z.sink->meta(z.sink->ctx, "format", "fuzz", &z.err) ||
	    z.sink->meta(z.sink->ctx, "nrcpus", "3", &z.err))
		abort();
	for (int32_t t = 101; t <= 100 + FZA_NTIDS; t++)
		if (z.sink->comm(z.sink->ctx, 0, t, fza_pid(t), fza_comm(t),
				 WC_COMM_RECORD, &z.err))
			abort();
	while (z.p < z.end && steps++ < FZA_MAX_STEPS)
		if (fza_step(&z) != 0) {
			fprintf(stderr, "fuzz_analyze: sink refused a well-formed event: %s\n",
				z.err.msg);
			abort();
		}
	if (wc_db_finish_import(w, &err) != 0) {
		fprintf(stderr, "fuzz_analyze: finish_import: %s\n", err.msg);
		abort();
	}
	wc_db_writer_free(w);
	memset(&aopt, 0, sizeof(aopt));
	aopt.depth_limit = FZA_DEPTH;
	rc = wc_analyze(db, ":memory:", &aopt, &err);
	if (rc != 0) {
		fprintf(stderr, "fuzz_analyze: wc_analyze: %s\n", err.msg);
		abort();
	}
	fza_invariants(db);
	if (getenv("WC_FUZZ_VERBOSE")) {
		int64_t nb = 0, nh = 0, nc = 0, ns = 0;

		wc_db_int(db, "", "SELECT count(*) FROM block", 0, &nb, &err);
		wc_db_int(db, "", "SELECT count(*) FROM block_holder", 0, &nh, &err);
		wc_db_int(db, "", "SELECT count(*) FROM chain", 0, &nc, &err);
		wc_db_int(db, "", "SELECT count(*) FROM thread_state", 0, &ns, &err);
		fprintf(stderr, "fuzz_analyze: %lld thread_state, %lld block, "
			"%lld block_holder, %lld chain rows\n", (long long)ns,
			(long long)nb, (long long)nh, (long long)nc);
	}
	wc_db_close(db);
	return 0;
}

#ifndef WC_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return wc_fuzz_analyze_one(data, size);
}
#endif
