/*
 * test_db_writer.c - the SQLite writer sink (src/db_writer.c) fed with
 * hand-made events: seq numbering, prev_state decoding, futex pairing,
 * stack dedup and symbolization, thread table (tid reuse, pid sources,
 * names), event counts, capture keys.  Expected values are written out
 * by hand from the rules in db.h / tidmap.h / schema.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "waitchain/db.h"
#include "wc_test.h"

struct fixture {
	char *path;
	sqlite3 *db;
	struct wc_db_writer *w;
	const struct wc_sink *sink;
	struct wc_error err;
	int resolves;		/* symbolizer calls */
};

static int resolve(void *ctx, int32_t pid, uint64_t ip, int kernel,
		   const char **symbol, uint64_t *soff, const char **dso,
		   uint64_t *doff)
{
	struct fixture *f = ctx;
	static char name[32];

	(void)pid;
	f->resolves++;
	snprintf(name, sizeof(name), "fn_%llx", (unsigned long long)(ip & ~0xfULL));
	*symbol = name;
	*soff = ip & 0xf;
	*dso = kernel ? "[kernel.kallsyms]" : "/usr/bin/qemu";
	*doff = ip - 0x1000;
	return 0;
}

static void open_fixture(struct fixture *f, const char *name)
{
	struct wc_symbolizer sym = { f, resolve };

	memset(f, 0, sizeof(*f));
	f->path = wc_test_tmpfile(name);
	cr_assert_eq(wc_db_create(f->path, &f->db, &f->err), 0, "%s", f->err.msg);
	cr_assert_eq(wc_db_writer_new(f->db, f->path, &sym, &f->w, &f->err), 0,
		     "%s", f->err.msg);
	f->sink = wc_db_writer_sink(f->w);
}

static void finish_fixture(struct fixture *f)
{
	cr_assert_eq(wc_db_finish_import(f->w, &f->err), 0, "%s", f->err.msg);
	wc_db_writer_free(f->w);
	wc_db_close(f->db);
	f->w = NULL;
	f->db = NULL;
}

static void close_fixture(struct fixture *f)
{
	wc_db_writer_free(f->w);
	wc_db_close(f->db);
	free(f->path);
}

static void send(struct fixture *f, struct wc_event *ev)
{
	cr_assert_eq(f->sink->event(f->sink->ctx, ev, &f->err), 0, "%s", f->err.msg);
}

static int64_t q(struct fixture *f, const char *sql)
{
	int ok;
	int64_t v = wc_test_sql_int(f->path, sql, -999, &ok);

	cr_assert(ok, "query failed: %s", sql);
	return v;
}

static char *qs(struct fixture *f, const char *sql)
{
	return wc_test_sql_text(f->path, sql);
}

static struct wc_event ev_switch(uint64_t ts, int prev, int64_t state, int next)
{
	struct wc_event e;

	memset(&e, 0, sizeof(e));
	e.type = WC_EV_SCHED_SWITCH;
	e.name = "sched_switch";
	e.ts = ts;
	e.cpu = 0;
	e.tid = prev;
	e.pid = -1;
	e.u.sw.prev_tid = prev;
	e.u.sw.prev_state = state;
	e.u.sw.next_tid = next;
	e.u.sw.prev_comm = prev ? "prev" : "swapper/0";
	e.u.sw.next_comm = next ? "next" : "swapper/0";
	e.u.sw.prev_prio = 120;
	e.u.sw.next_prio = 120;
	return e;
}

static struct wc_event ev_futex(enum wc_event_type type, uint64_t ts, int tid,
				int op, uint64_t uaddr, int64_t ret)
{
	struct wc_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.name = type == WC_EV_FUTEX_ENTER ? "sys_enter_futex" : "sys_exit_futex";
	e.ts = ts;
	e.cpu = 1;
	e.tid = tid;
	e.pid = -1;
	if (type == WC_EV_FUTEX_ENTER) {
		e.u.futex_enter.syscall = "futex";
		e.u.futex_enter.uaddr = uaddr;
		e.u.futex_enter.op = op;
		e.u.futex_enter.val = 2;
	} else {
		e.u.futex_exit.syscall = "futex";
		e.u.futex_exit.ret = ret;
	}
	return e;
}

Test(writer, prev_state_strings)
{
	char buf[32];

	cr_expect_str_eq(wc_prev_state_str(0, buf, sizeof(buf)), "R");
	cr_expect_str_eq(wc_prev_state_str(0x100, buf, sizeof(buf)), "R+");
	cr_expect_str_eq(wc_prev_state_str(1, buf, sizeof(buf)), "S");
	cr_expect_str_eq(wc_prev_state_str(2, buf, sizeof(buf)), "D");
	cr_expect_str_eq(wc_prev_state_str(3, buf, sizeof(buf)), "S|D");
	cr_expect_str_eq(wc_prev_state_str(0x80, buf, sizeof(buf)), "I");
	cr_expect_str_eq(wc_prev_state_str(0x10 | 0x20, buf, sizeof(buf)), "X|Z");
	cr_expect_str_eq(wc_prev_state_str(0x04 | 0x08 | 0x40, buf, sizeof(buf)), "T|t|P");
	cr_expect_str_eq(wc_prev_state_str(0x101, buf, sizeof(buf)), "S+");
	cr_expect_str_eq(wc_prev_state_str(-1, buf, sizeof(buf)), "S|D|T|t|X|Z|P|I+");
}

Test(writer, futex_op_names)
{
	char buf[64];

	cr_expect_str_eq(wc_futex_op_name(0, buf, sizeof(buf)), "WAIT");
	cr_expect_str_eq(wc_futex_op_name(129, buf, sizeof(buf)), "WAKE|PRIVATE");
	cr_expect_str_eq(wc_futex_op_name(9 | 128 | 256, buf, sizeof(buf)),
			 "WAIT_BITSET|PRIVATE|CLOCK_REALTIME");
	cr_expect_str_eq(wc_futex_op_name(0x70, buf, sizeof(buf)), "WAITV");
	cr_expect_str_eq(wc_futex_op_name(42, buf, sizeof(buf)), "CMD_42");
}

Test(writer, switches_seq_and_counts)
{
	struct fixture f;
	struct wc_event e;
	char *s;

	open_fixture(&f, "switch.db");
	e = ev_switch(100, 10, 1, 20);
	send(&f, &e);
	e = ev_switch(200, 20, 0x100, 0);
	send(&f, &e);
	memset(&e, 0, sizeof(e));
	e.type = WC_EV_OTHER;
	e.name = "irq_handler_entry";
	e.ts = 250;
	e.tid = 99;
	e.pid = -1;
	send(&f, &e);
	e = ev_switch(300, 0, 0, 10);
	send(&f, &e);
	finish_fixture(&f);

	cr_expect_eq(q(&f, "SELECT count(*) FROM sched_switch"), 3);
	cr_expect_eq(q(&f, "SELECT seq FROM sched_switch WHERE ts = 300"), 4);
	s = qs(&f, "SELECT group_concat(prev_state_str, ',') FROM (SELECT prev_state_str FROM sched_switch ORDER BY seq)");
	cr_expect_str_eq(s, "S,R+,R");
	free(s);
	cr_expect_eq(q(&f, "SELECT count FROM event_count WHERE name = 'sched_switch'"), 3);
	cr_expect_eq(q(&f, "SELECT stored FROM event_count WHERE name = 'irq_handler_entry'"), 0);
	cr_expect_eq(q(&f, "SELECT CAST(value AS INTEGER) FROM capture WHERE key = 'events'"), 4);
	cr_expect_eq(q(&f, "SELECT CAST(value AS INTEGER) FROM capture WHERE key = 'first_ts'"), 100);
	cr_expect_eq(q(&f, "SELECT CAST(value AS INTEGER) FROM capture WHERE key = 'last_ts'"), 300);
	cr_expect_eq(q(&f, "SELECT CAST(value AS INTEGER) FROM capture WHERE key = 'has_stacks'"), 0);
	/* tid 99 only appears in an unmodelled event: no thread */
	cr_expect_eq(q(&f, "SELECT count(*) FROM thread"), 3);
	cr_expect_eq(q(&f, "SELECT utid FROM thread WHERE tid = 10"), 1);
	cr_expect_eq(q(&f, "SELECT utid FROM thread WHERE tid = 20"), 2);
	cr_expect_eq(q(&f, "SELECT utid FROM thread WHERE tid = 0"), 3);
	cr_expect_eq(q(&f, "SELECT start_seq FROM thread WHERE tid = 0"), 2);
	cr_expect_eq(q(&f, "SELECT end_ns FROM thread WHERE tid = 10"), 300);
	/* indexes and views exist after the import */
	cr_expect_eq(q(&f, "SELECT count(*) FROM sqlite_schema WHERE name = 'thread_tid'"), 1);
	cr_expect_eq(q(&f, "SELECT count(*) FROM sqlite_schema WHERE name = 'sched_switch__chunk'"), 1);
	cr_expect_eq(q(&f, "SELECT count(*) FROM switch_view"), 3);
	cr_expect_eq(q(&f, "PRAGMA application_id"), 0x77636861);
	cr_expect_eq(q(&f, "PRAGMA user_version"), WC_DB_SCHEMA_VERSION);
	close_fixture(&f);
}

Test(writer, futex_pairing)
{
	struct fixture f;
	struct wc_event e;

	open_fixture(&f, "futex.db");
	/* 1: exit whose enter is before the capture */
	e = ev_futex(WC_EV_FUTEX_EXIT, 10, 7, 0, 0, -110);
	send(&f, &e);
	/* 2: a normal WAIT|PRIVATE on 0x1000 by tid 5 */
	e = ev_futex(WC_EV_FUTEX_ENTER, 20, 5, 128, 0x1000, 0);
	send(&f, &e);
	/* 3: tid 6 enters, its exit is lost, it enters again (4) */
	e = ev_futex(WC_EV_FUTEX_ENTER, 25, 6, 1, 0x2000, 0);
	send(&f, &e);
	e = ev_futex(WC_EV_FUTEX_EXIT, 30, 5, 0, 0, -11);
	send(&f, &e);
	e = ev_futex(WC_EV_FUTEX_ENTER, 40, 6, 129, 0x3000, 0);
	send(&f, &e);
	e = ev_futex(WC_EV_FUTEX_EXIT, 45, 6, 0, 0, 1);
	send(&f, &e);
	/* 5: still inside futex() at the end */
	e = ev_futex(WC_EV_FUTEX_ENTER, 50, 5, 0, 0x1000, 0);
	send(&f, &e);
	finish_fixture(&f);

	cr_expect_eq(q(&f, "SELECT count(*) FROM futex"), 5);
	cr_expect_eq(q(&f, "SELECT count(*) FROM futex WHERE enter_seq IS NULL AND exit_seq = 1 AND ret = -110 AND tid = 7"), 1);
	cr_expect_eq(q(&f, "SELECT count(*) FROM futex WHERE enter_seq = 2 AND exit_seq = 4 AND enter_ns = 20 AND exit_ns = 30 AND ret = -11 AND uaddr = 4096 AND op = 128 AND cmd = 0 AND op_name = 'WAIT|PRIVATE' AND val = 2 AND cpu = 1"), 1);
	cr_expect_eq(q(&f, "SELECT count(*) FROM futex WHERE enter_seq = 3 AND exit_seq IS NULL AND exit_ns IS NULL AND uaddr = 8192 AND tid = 6"), 1);
	cr_expect_eq(q(&f, "SELECT count(*) FROM futex WHERE enter_seq = 5 AND exit_seq = 6 AND ret = 1 AND op_name = 'WAKE|PRIVATE'"), 1);
	cr_expect_eq(q(&f, "SELECT count(*) FROM futex WHERE enter_seq = 7 AND exit_seq IS NULL AND tid = 5"), 1);
	/* ids follow the order calls were first seen */
	cr_expect_eq(q(&f, "SELECT id FROM futex WHERE enter_seq = 2"), 2);
	cr_expect_eq(q(&f, "SELECT id FROM futex WHERE enter_seq = 7"), 5);
	cr_expect_eq(q(&f, "SELECT CAST(value AS INTEGER) FROM capture WHERE key = 'has_futex'"), 1);
	cr_expect_eq(q(&f, "SELECT CAST(value AS INTEGER) FROM capture WHERE key = 'has_sched_waking'"), 0);
	close_fixture(&f);
}

Test(writer, stacks_dedup_and_symbolize)
{
	struct fixture f;
	struct wc_frame a[3] = { { 0xffff0011, 1 }, { 0xffff0022, 1 }, { 0x4010, 0 } };
	struct wc_frame b[2] = { { 0xffff0011, 1 }, { 0xffff0022, 0 } };
	struct wc_stack sa = { a, 3 }, sb = { b, 2 };
	struct wc_event e;

	open_fixture(&f, "stacks.db");
	e = ev_switch(1, 10, 1, 0);
	e.stack = &sa;
	send(&f, &e);
	e = ev_switch(2, 0, 0, 10);
	e.stack = &sa;
	send(&f, &e);
	e = ev_switch(3, 10, 1, 0);
	e.stack = &sb;	/* same ips, different kernel flag: another stack */
	send(&f, &e);
	finish_fixture(&f);

	cr_expect_eq(q(&f, "SELECT count(*) FROM stack"), 2);
	cr_expect_eq(q(&f, "SELECT count(*) FROM stack_frame"), 5);
	cr_expect_eq(q(&f, "SELECT count(DISTINCT stack_id) FROM sched_switch"), 2);
	cr_expect_eq(q(&f, "SELECT stack_id FROM sched_switch WHERE ts = 2"), 1);
	cr_expect_eq(q(&f, "SELECT nframes FROM stack WHERE id = 2"), 2);
	/* one resolve per distinct (ip, kernel): 3 + 1 */
	cr_expect_eq(f.resolves, 4);
	char *s = qs(&f, "SELECT symbol || '+' || symbol_offset || ' ' || dso FROM stack_frame WHERE stack_id = 1 AND depth = 2");
	cr_expect_str_eq(s, "fn_4010+0 /usr/bin/qemu");
	free(s);
	cr_expect_eq(q(&f, "SELECT ip FROM stack_frame WHERE stack_id = 1 AND depth = 0"), 0xffff0011);
	cr_expect_eq(q(&f, "SELECT CAST(value AS INTEGER) FROM capture WHERE key = 'has_stacks'"), 1);
	close_fixture(&f);
}

/*
 * Two entries per cache generation (WAITCHAIN_STACK_CACHE=2, so at most
 * 32 frames per generation).  One-frame stacks A B C D, then a 40-frame
 * stack E.  Expected ids, generation by generation (young | old):
 *   A 1, B 2          {A B}
 *   C 3               rotate: {C} | {A B}
 *   A 1 (old, kept)   {C A} | {A B}
 *   D 4               rotate: {D} | {C A}
 *   B 5 (dropped)     {D B} | {C A}
 *   A 1 (old)         rotate: {A} | {D B}
 *   C 6 (dropped)     {A C} | {D B}
 *   E 7               frames full, rotate: {E} | {A C}
 *   E 7               {E}
 *   A 1 (old)         frames full, rotate: {A} | {E}
 * Symbols: one-frame stacks resolve their ip unless a generation of the
 * symbol cache still has it: A B C D resolve, B (id 5) and C (id 6) are
 * found in the old symbol generation; E resolves 40 frames.
 */
Test(writer, stacks_bounded_cache)
{
	struct fixture f;
	struct wc_frame one[4] = { { 0x1000, 0 }, { 0x2000, 0 }, { 0x3000, 0 },
				   { 0x4000, 0 } };
	struct wc_frame deep[40];
	struct wc_stack st[5] = { { &one[0], 1 }, { &one[1], 1 }, { &one[2], 1 },
				  { &one[3], 1 }, { deep, 40 } };
	/* stack index per event, expected id per event */
	const int order[] = { 0, 1, 2, 0, 3, 1, 0, 2, 4, 4, 0 };
	const int want[] = { 1, 2, 3, 1, 4, 5, 1, 6, 7, 7, 1 };
	const size_t n = sizeof(order) / sizeof(order[0]);

	for (int i = 0; i < 40; i++)
		deep[i] = (struct wc_frame){ 0xffff0000 + 0x10 * (uint64_t)i, 1 };
	setenv("WAITCHAIN_STACK_CACHE", "2", 1);
	open_fixture(&f, "bounded.db");
	unsetenv("WAITCHAIN_STACK_CACHE");
	for (size_t i = 0; i < n; i++) {
		struct wc_event e = ev_switch(i + 1, 10, 1, 0);

		e.stack = &st[order[i]];
		send(&f, &e);
	}
	finish_fixture(&f);

	for (size_t i = 0; i < n; i++) {
		char sql[96];

		snprintf(sql, sizeof(sql), "SELECT stack_id FROM sched_switch WHERE ts = %zu", i + 1);
		cr_expect_eq(q(&f, sql), want[i], "event %zu", i + 1);
	}
	cr_expect_eq(q(&f, "SELECT count(*) FROM stack"), 7);
	cr_expect_eq(q(&f, "SELECT count(*) FROM stack_frame"), 6 + 40);
	cr_expect_eq(q(&f, "SELECT nframes FROM stack WHERE id = 7"), 40);
	cr_expect_eq(q(&f, "SELECT count(*) FROM stack_frame WHERE stack_id = 7"), 40);
	cr_expect_eq(q(&f, "SELECT ip FROM stack_frame WHERE stack_id = 7 AND depth = 39"),
		     0xffff0000 + 0x10 * 39);
	/* stored again: the same frames and symbols under a new id */
	char *s = qs(&f, "SELECT group_concat(ip || ' ' || symbol || '+' || symbol_offset || ' ' || dso, ';')"
		     " FROM stack_frame WHERE stack_id IN (2, 5)");
	cr_expect_str_eq(s, "8192 fn_2000+0 /usr/bin/qemu;8192 fn_2000+0 /usr/bin/qemu");
	free(s);
	s = qs(&f, "SELECT group_concat(ip || ' ' || symbol, ';') FROM stack_frame WHERE stack_id IN (3, 6)");
	cr_expect_str_eq(s, "12288 fn_3000;12288 fn_3000");
	free(s);
	cr_expect_eq(f.resolves, 4 + 40);
	close_fixture(&f);
}

Test(writer, threads_fork_reuse_pids_and_names)
{
	struct fixture f;
	struct wc_event e;
	char *s;

	open_fixture(&f, "threads.db");
	cr_assert_eq(f.sink->comm(f.sink->ctx, 0, 300, -1, "qemu-system-x86",
				  WC_COMM_CMDLINES, &f.err), 0);
	cr_assert_eq(f.sink->comm(f.sink->ctx, 0, 999, -1, "never-runs",
				  WC_COMM_CMDLINES, &f.err), 0);
	/* seq 1: tid 300 of process 300 (perf-style pid) */
	memset(&e, 0, sizeof(e));
	e.type = WC_EV_FUTEX_ENTER;
	e.name = "sys_enter_futex";
	e.ts = 10;
	e.tid = 300;
	e.pid = 300;
	e.cpu = 0;
	e.u.futex_enter.syscall = "futex";
	send(&f, &e);
	/* seq 2: 300 forks 301 */
	memset(&e, 0, sizeof(e));
	e.type = WC_EV_PROCESS_FORK;
	e.name = "sched_process_fork";
	e.ts = 20;
	e.tid = 300;
	e.pid = -1;
	e.u.fork.parent_tid = 300;
	e.u.fork.child_tid = 301;
	e.u.fork.parent_comm = "qemu-system-x86";
	e.u.fork.child_comm = "qemu-system-x86";
	send(&f, &e);
	/* seq 3: 301 renames itself */
	memset(&e, 0, sizeof(e));
	e.type = WC_EV_TASK_RENAME;
	e.name = "task_rename";
	e.ts = 30;
	e.tid = 301;
	e.pid = -1;
	e.u.rename.tid = 301;
	e.u.rename.oldcomm = "qemu-system-x86";
	e.u.rename.newcomm = "CPU 0/KVM";
	send(&f, &e);
	/* seq 4: 301 exits; seq 5: the tid is reused by a new fork */
	memset(&e, 0, sizeof(e));
	e.type = WC_EV_PROCESS_EXIT;
	e.name = "sched_process_exit";
	e.ts = 40;
	e.tid = 301;
	e.pid = -1;
	e.u.exit.tid = 301;
	e.u.exit.comm = "CPU 0/KVM";
	send(&f, &e);
	memset(&e, 0, sizeof(e));
	e.type = WC_EV_PROCESS_FORK;
	e.name = "sched_process_fork";
	e.ts = 50;
	e.tid = 300;
	e.pid = -1;
	e.u.fork.parent_tid = 300;
	e.u.fork.child_tid = 301;
	e.u.fork.parent_comm = "qemu-system-x86";
	e.u.fork.child_comm = "worker";
	send(&f, &e);
	cr_assert_eq(f.sink->lost(f.sink->ctx, 1, 0, 45, 17, "lost", &f.err), 0);
	finish_fixture(&f);

	cr_expect_eq(q(&f, "SELECT count(*) FROM thread"), 4);
	cr_expect_eq(q(&f, "SELECT count(*) FROM thread WHERE tid = 301"), 2);
	cr_expect_eq(q(&f, "SELECT utid FROM thread WHERE tid = 301 AND start_seq = 2"), 2);
	cr_expect_eq(q(&f, "SELECT utid FROM thread WHERE tid = 301 AND start_seq = 5"), 3);
	cr_expect_eq(q(&f, "SELECT exited_ns FROM thread WHERE utid = 2"), 40);
	cr_expect_eq(q(&f, "SELECT forked_ns FROM thread WHERE utid = 3"), 50);
	cr_expect_eq(q(&f, "SELECT parent_tid FROM thread WHERE utid = 3"), 300);
	s = qs(&f, "SELECT comm FROM thread WHERE utid = 2");
	cr_expect_str_eq(s, "CPU 0/KVM");
	free(s);
	s = qs(&f, "SELECT comm FROM thread WHERE utid = 3");
	cr_expect_str_eq(s, "worker");
	free(s);
	/* pid: from the capture for 300, inherited at fork for 301 */
	s = qs(&f, "SELECT pid || ' ' || pid_source FROM thread WHERE utid = 1");
	cr_expect_str_eq(s, "300 capture");
	free(s);
	s = qs(&f, "SELECT pid || ' ' || pid_source FROM thread WHERE utid = 2");
	cr_expect_str_eq(s, "300 fork");
	free(s);
	/* a name-only thread comes last, without a time span */
	cr_expect_eq(q(&f, "SELECT utid FROM thread WHERE tid = 999"), 4);
	cr_expect_eq(q(&f, "SELECT count(*) FROM thread WHERE tid = 999 AND start_ns IS NULL AND start_seq IS NULL"), 1);
	/* name history of 301's first life: fork name, then the rename */
	s = qs(&f, "SELECT group_concat(comm || '@' || coalesce(ts, '-') || ':' || source, ',') FROM (SELECT * FROM thread_name WHERE utid = 2 ORDER BY rowid)");
	cr_expect_str_eq(s, "qemu-system-x86@20:event,CPU 0/KVM@30:task_rename");
	free(s);
	s = qs(&f, "SELECT group_concat(source, ',') FROM thread_name WHERE utid = 1");
	cr_expect_str_eq(s, "cmdlines");
	free(s);
	cr_expect_eq(q(&f, "SELECT count FROM lost WHERE cpu = 1 AND ts_ns = 45 AND ts_from_ns IS NULL AND kind = 'lost'"), 17);
	close_fixture(&f);
}

Test(writer, meta_buffer_and_rollback)
{
	struct fixture f;
	struct wc_buffer_info b = { 1, "wc", "mono", 2, 1234, 1 };
	char *s;

	open_fixture(&f, "meta.db");
	cr_assert_eq(f.sink->meta(f.sink->ctx, "hostname", "old", &f.err), 0);
	cr_assert_eq(f.sink->meta(f.sink->ctx, "hostname", "vm", &f.err), 0);
	cr_assert_eq(f.sink->buffer(f.sink->ctx, &b, &f.err), 0);
	finish_fixture(&f);
	s = qs(&f, "SELECT value FROM capture WHERE key = 'hostname'");
	cr_expect_str_eq(s, "vm");
	free(s);
	cr_expect_eq(q(&f, "SELECT nevents FROM buffer WHERE id = 1 AND name = 'wc' AND clock = 'mono' AND imported = 1"), 1234);
	close_fixture(&f);

	/* a writer freed without finishing rolls back: no rows */
	open_fixture(&f, "rollback.db");
	cr_assert_eq(f.sink->meta(f.sink->ctx, "hostname", "vm", &f.err), 0);
	wc_db_writer_free(f.w);
	f.w = NULL;
	wc_db_close(f.db);
	f.db = NULL;
	cr_expect_eq(q(&f, "SELECT count(*) FROM capture"), 0);
	close_fixture(&f);
}

Test(writer, interrupt_flag)
{
	struct fixture f;
	volatile int stop = 1;
	struct wc_event e = ev_switch(1, 1, 1, 2);

	open_fixture(&f, "interrupt.db");
	wc_db_writer_set_interrupt(f.w, &stop);
	cr_expect_eq(f.sink->event(f.sink->ctx, &e, &f.err), -WC_EINTERRUPTED);
	close_fixture(&f);
}

Test(db, open_checks)
{
	struct wc_error err = WC_ERROR_INIT;
	sqlite3 *db = NULL;
	char *other = wc_test_tmpfile("other.sqlite");
	char *text = wc_test_tmpfile("text.txt");
	struct fixture f;

	cr_assert_eq(sqlite3_open(other, &db), SQLITE_OK);
	sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL);
	sqlite3_close(db);
	db = NULL;
	cr_expect_eq(wc_db_open_readonly(other, &db, &err), -WC_EFORMAT);
	cr_expect(strstr(err.msg, "not a waitchain case database"), "%s", err.msg);
	cr_expect_eq(wc_db_is_case_file(other), 0);
	wc_error_clear(&err);
	cr_assert_eq(wc_test_write_file(text, "hello", 5), 0);
	cr_expect_eq(wc_db_open_readonly(text, &db, &err), -WC_EFORMAT);
	wc_error_clear(&err);

	open_fixture(&f, "open.db");
	finish_fixture(&f);
	cr_expect_eq(wc_db_is_case_file(f.path), 1);
	cr_assert_eq(wc_db_open_readonly(f.path, &db, &err), 0, "%s", err.msg);
	cr_expect_neq(sqlite3_exec(db, "INSERT INTO capture VALUES ('x', 'y')",
				   NULL, NULL, NULL), SQLITE_OK);
	wc_db_close(db);
	close_fixture(&f);
	free(other);
	free(text);
}
