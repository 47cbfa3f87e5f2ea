-- title: raw events, one table per event kind, rows in time order
-- Rows are inserted in seq order (time order); seq is the rowid (INTEGER
-- PRIMARY KEY: stored once, no index to build), so ORDER BY seq and seq
-- ranges are B-tree walks, and seq order is time order.  No other index
-- (schema/090_indexes.sql says why).
-- Column names are a public contract: add columns, never rename.
-- Common columns: seq (global order), ts (ns), cpu, tid (task in whose
-- context the event fired: common_pid / perf sample tid), buffer (buffer.id),
-- stack_id (stack.id recorded with the event, NULL if none).

-- A context switch on cpu from prev_tid to next_tid.
CREATE TABLE sched_switch (
    seq            INTEGER PRIMARY KEY,
    ts             INTEGER NOT NULL,
    cpu            INTEGER,
    tid            INTEGER,           -- context of the event (normally prev_tid)
    prev_tid       INTEGER NOT NULL,  -- task switched out
    prev_comm      TEXT,
    prev_prio      INTEGER,
    prev_state     INTEGER,           -- raw kernel task state bits
    prev_state_str TEXT,              -- decoded: 'R' (preempted), 'R+', 'S', 'D', 'I', 'T', 't', 'X', 'Z', 'P', or combinations like 'S|D'
    next_tid       INTEGER NOT NULL,  -- task switched in
    next_comm      TEXT,
    next_prio      INTEGER,
    buffer         INTEGER NOT NULL DEFAULT 0,
    stack_id       INTEGER            -- stack at the switch-out (prev's kernel/user stack)
);

-- sched_waking: fires in the waker's context (tid = waker).
CREATE TABLE sched_waking (
    seq        INTEGER PRIMARY KEY,
    ts         INTEGER NOT NULL,
    cpu        INTEGER,
    waker_tid  INTEGER,           -- task in whose context it fired: the waker (0: idle/irq)
    tid        INTEGER NOT NULL,  -- task being woken
    comm       TEXT,              -- its name
    prio       INTEGER,
    target_cpu INTEGER,
    buffer     INTEGER NOT NULL DEFAULT 0,
    stack_id   INTEGER
);

-- sched_wakeup: fires when the task is activated, possibly on the target
-- CPU in an unrelated context: waker_tid is NOT reliably the waker.
CREATE TABLE sched_wakeup (
    seq        INTEGER PRIMARY KEY,
    ts         INTEGER NOT NULL,
    cpu        INTEGER,
    waker_tid  INTEGER,           -- context of the event (not necessarily the waker)
    tid        INTEGER NOT NULL,
    comm       TEXT,
    prio       INTEGER,
    target_cpu INTEGER,
    buffer     INTEGER NOT NULL DEFAULT 0,
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
-- A call still running at the end of the capture keeps exit_ns NULL; an
-- exit whose enter was before the capture start has enter_ns NULL.
CREATE TABLE futex (
    id         INTEGER PRIMARY KEY,
    enter_seq  INTEGER,           -- seq of the enter event (NULL if not seen)
    exit_seq   INTEGER,           -- seq of the exit event (NULL if not seen)
    tid        INTEGER NOT NULL,  -- calling thread
    pid        INTEGER,           -- its process if the capture says (perf), else NULL
    cpu        INTEGER,           -- CPU of the enter event
    enter_ns   INTEGER,
    exit_ns    INTEGER,
    syscall    TEXT NOT NULL,     -- 'futex', 'futex_wait', 'futex_wake', 'futex_waitv', 'futex_requeue'
    uaddr      INTEGER,           -- the futex word (user address)
    op         INTEGER,           -- full op including FUTEX_PRIVATE_FLAG (128) and FUTEX_CLOCK_REALTIME (256)
    cmd        INTEGER,           -- op & 127: 0 WAIT, 1 WAKE, 3 REQUEUE, 4 CMP_REQUEUE, 5 WAKE_OP, 6 LOCK_PI, 7 UNLOCK_PI, 9 WAIT_BITSET, 10 WAKE_BITSET, ..., 112 waitv
    op_name    TEXT,              -- 'WAIT', 'WAKE', 'WAIT_BITSET', ... with '|PRIVATE' / '|CLOCK_REALTIME'
    val        INTEGER,
    utime      INTEGER,           -- timeout pointer (or val2 for some ops)
    uaddr2     INTEGER,
    val3       INTEGER,
    ret        INTEGER,           -- return value (negative errno, e.g. -11 EAGAIN)
    buffer     INTEGER NOT NULL DEFAULT 0,
    stack_id   INTEGER            -- stack at the enter event
);

-- kvm tracepoints when present (exits to user space line up with blocks).
CREATE TABLE kvm_event (
    seq       INTEGER PRIMARY KEY,
    ts        INTEGER NOT NULL,
    cpu       INTEGER,
    tid       INTEGER NOT NULL,  -- vCPU thread
    kind      TEXT NOT NULL,     -- 'entry', 'exit', 'userspace_exit'
    vcpu_id   INTEGER,
    reason    INTEGER,           -- exit_reason / userspace exit reason
    guest_rip INTEGER,
    isa       TEXT,
    buffer    INTEGER NOT NULL DEFAULT 0
);
