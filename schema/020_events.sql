-- title: raw events, one table per event kind, rows in time order
-- Rows are inserted in seq order (time order); seq is the rowid, so ORDER
-- BY seq is the stored order and seq order is time order.
-- The high-rate tables (sched_switch, sched_waking, sched_wakeup, futex,
-- kvm_event) are virtual tables of the wc_columnar module (coltab.h):
-- rows are stored in compressed chunks of 4096, one SQLite row per chunk,
-- which is what makes an import several times faster than printing the
-- capture.  They read like tables (their first column is the rowid; range
-- conditions on integer columns skip chunks) but are append-only, have
-- no indexes and no constraints, and need the module: waitchain
-- registers it; the sqlite3 shell and Python load waitchain_sqlite.so
-- (docs/schema.md, "Reading a case database without waitchain").
-- Column names are a public contract: add columns, never rename.
-- Common columns: seq (global order), ts (ns), cpu, tid (task in whose
-- context the event fired: common_pid / perf sample tid), buffer (buffer.id),
-- stack_id (stack.id recorded with the event, NULL if none).

-- A context switch on cpu from prev_tid to next_tid.
CREATE VIRTUAL TABLE sched_switch USING wc_columnar(
    seq            INTEGER,
    ts             INTEGER,
    cpu            INTEGER,
    tid            INTEGER,           -- context of the event (normally prev_tid)
    prev_tid       INTEGER,           -- task switched out
    prev_comm      TEXT,
    prev_prio      INTEGER,
    prev_state     INTEGER,           -- raw kernel task state bits
    prev_state_str TEXT,              -- decoded: 'R' (preempted), 'R+', 'S', 'D', 'I', 'T', 't', 'X', 'Z', 'P', or combinations like 'S|D'
    next_tid       INTEGER,           -- task switched in
    next_comm      TEXT,
    next_prio      INTEGER,
    buffer         INTEGER,
    stack_id       INTEGER            -- stack at the switch-out (prev's kernel/user stack)
);

-- sched_waking: fires in the waker's context (tid = waker).
CREATE VIRTUAL TABLE sched_waking USING wc_columnar(
    seq        INTEGER,
    ts         INTEGER,
    cpu        INTEGER,
    waker_tid  INTEGER,           -- task in whose context it fired: the waker (0: idle/irq)
    tid        INTEGER,           -- task being woken
    comm       TEXT,              -- its name
    prio       INTEGER,
    target_cpu INTEGER,
    buffer     INTEGER,
    stack_id   INTEGER
);

-- sched_wakeup: fires when the task is activated, possibly on the target
-- CPU in an unrelated context: waker_tid is NOT reliably the waker.
CREATE VIRTUAL TABLE sched_wakeup USING wc_columnar(
    seq        INTEGER,
    ts         INTEGER,
    cpu        INTEGER,
    waker_tid  INTEGER,           -- context of the event (not necessarily the waker)
    tid        INTEGER,
    comm       TEXT,
    prio       INTEGER,
    target_cpu INTEGER,
    buffer     INTEGER,
    stack_id   INTEGER
);

-- sched_wakeup_new: first wakeup of a new task.
CREATE TABLE sched_wakeup_new (
    seq        INTEGER PRIMARY KEY,
    ts         INTEGER NOT NULL,
    cpu        INTEGER,
    waker_tid  INTEGER,
    tid        INTEGER NOT NULL,
    comm       TEXT,
    prio       INTEGER,
    target_cpu INTEGER,
    buffer     INTEGER NOT NULL DEFAULT 0,
    stack_id   INTEGER
);

CREATE TABLE sched_process_fork (
    seq         INTEGER PRIMARY KEY,
    ts          INTEGER NOT NULL,
    cpu         INTEGER,
    tid         INTEGER,
    parent_tid  INTEGER NOT NULL,
    parent_comm TEXT,
    child_tid   INTEGER NOT NULL,
    child_comm  TEXT,
    buffer      INTEGER NOT NULL DEFAULT 0,
    stack_id    INTEGER
);

CREATE TABLE sched_process_exit (
    seq      INTEGER PRIMARY KEY,
    ts       INTEGER NOT NULL,
    cpu      INTEGER,
    tid      INTEGER NOT NULL,  -- exiting task
    comm     TEXT,
    prio     INTEGER,
    buffer   INTEGER NOT NULL DEFAULT 0,
    stack_id INTEGER
);

-- task_rename (prctl(PR_SET_NAME), pthread_setname_np).
CREATE TABLE task_rename (
    seq      INTEGER PRIMARY KEY,
    ts       INTEGER NOT NULL,
    cpu      INTEGER,
    tid      INTEGER NOT NULL,  -- renamed task
    oldcomm  TEXT,
    newcomm  TEXT,
    buffer   INTEGER NOT NULL DEFAULT 0,
    stack_id INTEGER
);

-- One row per futex system call: sys_enter_futex + sys_exit_futex of the
-- same thread (also futex_wait/futex_wake/futex_waitv/futex_requeue).
-- id (the rowid) is assigned when the call starts: id order is enter order.
-- A call still running at the end of the capture keeps exit_ns NULL; an
-- exit whose enter was before the capture start has enter_ns NULL.
CREATE VIRTUAL TABLE futex USING wc_columnar(
    id         INTEGER,
    enter_seq  INTEGER,           -- seq of the enter event (NULL if not seen)
    exit_seq   INTEGER,           -- seq of the exit event (NULL if not seen)
    tid        INTEGER,           -- calling thread
    pid        INTEGER,           -- its process if the capture says (perf), else NULL
    cpu        INTEGER,           -- CPU of the enter event
    enter_ns   INTEGER,
    exit_ns    INTEGER,
    syscall    TEXT,              -- 'futex', 'futex_wait', 'futex_wake', 'futex_waitv', 'futex_requeue'
    uaddr      INTEGER,           -- the futex word (user address)
    op         INTEGER,           -- full op including FUTEX_PRIVATE_FLAG (128) and FUTEX_CLOCK_REALTIME (256)
    cmd        INTEGER,           -- op & 127: 0 WAIT, 1 WAKE, 3 REQUEUE, 4 CMP_REQUEUE, 5 WAKE_OP, 6 LOCK_PI, 7 UNLOCK_PI, 9 WAIT_BITSET, 10 WAKE_BITSET, ..., 112 waitv
    op_name    TEXT,              -- 'WAIT', 'WAKE', 'WAIT_BITSET', ... with '|PRIVATE' / '|CLOCK_REALTIME'
    val        INTEGER,
    utime      INTEGER,           -- timeout pointer (or val2 for some ops)
    uaddr2     INTEGER,
    val3       INTEGER,
    ret        INTEGER,           -- return value (negative errno, e.g. -11 EAGAIN)
    buffer     INTEGER,
    stack_id   INTEGER            -- stack at the enter event
);

-- kvm tracepoints when present (exits to user space line up with blocks).
CREATE VIRTUAL TABLE kvm_event USING wc_columnar(
    seq       INTEGER,
    ts        INTEGER,
    cpu       INTEGER,
    tid       INTEGER,           -- vCPU thread
    kind      TEXT,              -- 'entry', 'exit', 'userspace_exit'
    vcpu_id   INTEGER,
    reason    INTEGER,           -- exit_reason / userspace exit reason
    guest_rip INTEGER,
    isa       TEXT,
    buffer    INTEGER
);
