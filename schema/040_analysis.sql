-- title: analysis tables, recomputed by `waitchain analyze`
-- Filled by analyzer/ from the event tables in one time-ordered pass
-- (chains included: they are built from each thread's recent history
-- when a block ends).  Column names are a public contract.
-- The tables with a row per block, state or chain piece are columnar
-- (wc_columnar, like the event tables, include/waitchain/coltab.h): they
-- are written at several million rows a second, read like tables, have
-- no indexes, and need the module (docs/schema.md).  Rows are stored in
-- the order the analysis writes them (a hidden `row` key numbers them);
-- use ORDER BY for any other order.  Conditions on integer columns skip
-- chunks that cannot match.
-- 'uncertain' columns are 1 when the row overlaps a lost-events interval
-- (table lost) or rests on a fallback (sched_wakeup instead of
-- sched_waking, a thread whose state before the capture is unknown).

-- Facts about the last analysis: vcpu_regex, lock_override, depth_limit,
-- analyzed_at, analyze_seconds, waitchain_version, warnings (one per line),
-- wakeup_source ('sched_waking' or 'sched_wakeup (approximate)').
CREATE TABLE analysis (
    key   TEXT PRIMARY KEY,
    value TEXT
);

-- Contiguous intervals covering each thread's life in the capture.
CREATE VIRTUAL TABLE thread_state USING wc_columnar(
    row            INTEGER HIDDEN,    -- append order (the columnar key; not in SELECT *)
    utid           INTEGER,           -- thread.utid
    tid            INTEGER,
    start_ns       INTEGER,
    end_ns         INTEGER,           -- exclusive; next interval starts here
    state          TEXT,     -- 'running', 'runnable', 'sleeping' (S), 'blocked_io' (D), 'unknown' (before the first event that tells), 'dead'
    cpu            INTEGER,           -- CPU when running; CPU it left when runnable/sleeping
    runnable_reason TEXT,             -- for 'runnable': 'preempted' (switched out runnable) or 'woken' (woken, waiting for a CPU)
    preempted_by   INTEGER,           -- for 'runnable'/'preempted': tid switched in instead
    block_id       INTEGER,           -- for sleeping/blocked_io/woken-runnable: block.id
    uncertain      INTEGER
);

-- One row per time a thread went to sleep (switched out in S, D, ...) until
-- it was woken.
CREATE VIRTUAL TABLE block USING wc_columnar(
    id             INTEGER,           -- numbered in the order blocks end (are written)
    utid           INTEGER,
    tid            INTEGER,
    pid            INTEGER,           -- process of the thread (thread.pid)
    start_ns       INTEGER,           -- switch-out
    end_ns         INTEGER,           -- woken (wakeup_ns), or end of capture if never woken
    state          TEXT,     -- prev_state_str of the switch-out: 'S', 'D', 'I', ...; '?' when it was already asleep when the capture started (start_ns = capture start, uncertain = 1)
    reason         TEXT,     -- 'futex' (inside a futex wait), 'io' (D state, not futex), 'sleep' (S, not futex), 'other'
    futex_id       INTEGER,           -- futex.id of the enclosing futex call
    futex_uaddr    INTEGER,           -- its futex word
    futex_pid      INTEGER,           -- process owning the futex (private futexes are per process)
    futex_cmd      INTEGER,           -- futex.cmd of the wait
    waker_tid      INTEGER,           -- who woke it (NULL: never woken in the capture)
    waker_utid     INTEGER,
    wakeup_ns      INTEGER,           -- time of the wake event (NULL: never woken)
    wakeup_source  TEXT,              -- 'sched_waking' (the waker's context, exact) or 'sched_wakeup' (approximate: may be another task's context)
    switch_in_ns   INTEGER,           -- when it ran again (NULL if not in the capture)
    stack_id       INTEGER,           -- stack recorded at the switch-out
    switch_seq     INTEGER,           -- seq of the switch-out sched_switch
    lock_wait_id   INTEGER,           -- lock_wait.id for futex blocks
    on_global_lock INTEGER,           -- 1 if it waited on the global mutex
    is_vcpu        INTEGER,           -- 1 if the thread is a vCPU thread
    uncertain      INTEGER
);

-- Consecutive futex waits of one thread on one futex with no progress in
-- between (woken, lock stolen, slept again) grouped into one acquisition.
CREATE VIRTUAL TABLE lock_wait USING wc_columnar(
    row            INTEGER HIDDEN,    -- append order (the columnar key; not in SELECT *)
    id          INTEGER,
    utid        INTEGER,
    tid         INTEGER,
    futex_uaddr INTEGER,
    futex_pid   INTEGER,
    start_ns    INTEGER,           -- enter of the first wait call
    end_ns      INTEGER,           -- exit of the last wait call (NULL: still waiting at capture end)
    nblocks     INTEGER,           -- blocks (times it slept) in the group
    ncalls      INTEGER            -- wait calls in the group (incl. EAGAIN ones that did not sleep)
);

-- For each futex block, the successive holders of the futex while the
-- thread waited.  seq 1 held it when the waiter went to sleep; the last row
-- is the thread whose release woke the waiter.
CREATE VIRTUAL TABLE block_holder USING wc_columnar(
    row            INTEGER HIDDEN,    -- append order (the columnar key; not in SELECT *)
    block_id      INTEGER,           -- block.id
    seq           INTEGER,           -- 1 = holder at sleep time
    holder_tid    INTEGER,           -- NULL if unknown
    holder_utid   INTEGER,
    from_ns       INTEGER,           -- max(block start, previous holder's release)
    to_ns         INTEGER,           -- its release (its FUTEX_WAKE... enter), or block end
    release_futex_id INTEGER,        -- futex.id of the releasing wake call
    is_waker      INTEGER,           -- 1 if this release woke the waiter
    certainty     TEXT            -- 'exact' (a wake call on the futex), 'no_release' (no wake seen before the waiter was woken: holder unknown), 'not_a_lock' (condition variable / event: waker is a signaller, not a holder), 'truncated' (capture ended first), 'before_capture' (the waiter was asleep when the capture began: holder at sleep time unknown)
);

-- Holder chains: what each holder did while it held the lock, recursively.
-- A tree flattened into rows: depth 1 rows split each block_holder interval
-- by the holder's thread_state; when a holder slept on another futex, its
-- children (parent_id) at depth+1 are that futex's holders over that part.
CREATE VIRTUAL TABLE chain USING wc_columnar(
    id            INTEGER,           -- tree order (pre-order)
    block_id      INTEGER,     -- the root block (block.id)
    parent_id     INTEGER,              -- chain.id of the row this expands, NULL at depth 1
    depth         INTEGER,     -- 1 = holders of the block's futex
    tid           INTEGER,              -- the holder at this depth
    utid          INTEGER,
    from_ns       INTEGER,
    to_ns         INTEGER,
    state         TEXT,        -- 'running', 'preempted' (runnable after preemption), 'runnable' (woken, waiting for CPU), 'futex' (sleeping on another futex), 'blocked_io', 'sleeping', 'dead', 'unknown' (holder or its state not known), 'deadlock' (the holder is already on the chain: a cycle; not expanded)
    futex_uaddr   INTEGER,              -- for 'futex': the futex it waits on
    futex_pid     INTEGER,
    sub_block_id  INTEGER,              -- for 'futex'/'sleeping'/'blocked_io': the holder's own block.id
    parent_tid    INTEGER,              -- tid at depth-1 (the waiter for depth 1)
    preempted_by  INTEGER,              -- for 'preempted': tid running instead (when known)
    cpu           INTEGER,
    uncertain     INTEGER
);

-- The chain rows summed by what the canned holder questions group on
-- (top_holders, holder_states, holder_waits, global_mutex): one row per
-- distinct (root futex, root kind, depth, state, holder, parent holder and
-- the futex it waited on), written by the analysis as it writes chain, so
-- that those questions read a few thousand rows instead of sorting
-- millions.  SUM(time_ns) over any subset equals SUM(to_ns - from_ns) over
-- the same chain rows.  Distinct root blocks cannot be summed across rows,
-- hence three counts: blocks (of this exact row), holder_blocks (each root
-- block counted on one row per (root, depth, holder): summed over states
-- and parents it gives the distinct blocks of a holder) and state_blocks
-- (one row per (root, depth, state): summed over holders it gives the
-- distinct blocks of a state).
CREATE TABLE holder_time (
    root_pid        INTEGER,          -- block.futex_pid of the root block
    root_uaddr      INTEGER NOT NULL, -- block.futex_uaddr of the root block
    root_global     INTEGER NOT NULL, -- 1: the root is a vCPU block on the global mutex (is_vcpu = 1 AND on_global_lock = 1)
    depth           INTEGER NOT NULL, -- chain.depth
    state           TEXT NOT NULL,    -- chain.state
    utid            INTEGER,          -- chain.utid (NULL: holder unknown)
    tid             INTEGER,          -- chain.tid
    parent_utid     INTEGER,          -- depth > 1: utid of the chain row expanded (the holder one level up); NULL at depth 1
    parent_tid      INTEGER,          -- depth > 1: its tid (chain.parent_tid); NULL at depth 1
    parent_futex_pid   INTEGER,       -- depth > 1: the futex that holder slept on (its chain row's futex_pid)
    parent_futex_uaddr INTEGER,       -- depth > 1: and its word (futex_uaddr)
    time_ns         INTEGER NOT NULL, -- SUM(to_ns - from_ns) of these chain rows
    intervals       INTEGER NOT NULL, -- chain rows
    blocks          INTEGER NOT NULL, -- distinct root blocks with such rows
    holder_blocks   INTEGER NOT NULL, -- see above
    state_blocks    INTEGER NOT NULL  -- see above
);

-- thread_state summed per thread by what vcpu_summary splits time into,
-- written by the analysis as it writes thread_state: SUM(time_ns) over a
-- thread's rows of one (state, runnable_reason, on_global_lock) equals
-- SUM(end_ns - start_ns) over its thread_state rows of the same kind.
CREATE TABLE thread_time (
    utid            INTEGER NOT NULL,
    tid             INTEGER NOT NULL,
    state           TEXT NOT NULL,    -- thread_state.state
    runnable_reason TEXT,             -- thread_state.runnable_reason
    on_global_lock  INTEGER NOT NULL, -- 1: 'sleeping'/'blocked_io' rows whose block is on the global mutex (block.on_global_lock), else 0
    time_ns         INTEGER NOT NULL, -- SUM(end_ns - start_ns)
    intervals       INTEGER NOT NULL  -- thread_state rows
);

-- vCPU threads (comm matching the --vcpu pattern).
CREATE TABLE vcpu (
    utid        INTEGER PRIMARY KEY,
    tid         INTEGER NOT NULL,
    pid         INTEGER,
    comm        TEXT,
    vcpu_index  INTEGER,           -- n of 'CPU n/KVM' when the name has it
    accel       TEXT      -- 'KVM', 'TCG', 'HVF', 'WHPX', ... when the name has it
);

-- Every futex word waited on, with what the lock detector saw.
CREATE TABLE futex_object (
    pid            INTEGER,
    uaddr          INTEGER NOT NULL,
    kind           TEXT NOT NULL,     -- 'mutex' (wait/wake-one by threads that held it), 'condvar' (bitset waits, broadcast wakes, signallers that never wait), 'other'
    waiters        INTEGER NOT NULL,  -- distinct threads that slept on it
    vcpu_waiters   INTEGER NOT NULL,  -- distinct vCPU threads that slept on it
    wakers         INTEGER NOT NULL,  -- distinct threads that called a wake on it
    blocks         INTEGER NOT NULL,
    blocked_ns     INTEGER NOT NULL,  -- total sleep time of all waiters on it
    vcpu_blocked_ns INTEGER NOT NULL, -- same, vCPU threads only
    wait_calls     INTEGER NOT NULL,
    wake_calls     INTEGER NOT NULL,
    PRIMARY KEY (pid, uaddr)
);

-- The global mutex of each process with vCPU threads (QEMU's BQL).
CREATE TABLE global_lock (
    pid          INTEGER,
    futex_uaddr  INTEGER NOT NULL,
    share        REAL NOT NULL,    -- its share of the vCPUs' futex-blocked time (0..1)
    blocked_ns   INTEGER NOT NULL, -- vCPU time blocked on it
    nblocks      INTEGER NOT NULL, -- vCPU blocks on it
    symbol       TEXT,             -- symbol of the address when known
    chosen_by    TEXT NOT NULL     -- 'auto' or '--lock'
);

-- Every switch-out of a vCPU thread, classified.
CREATE VIRTUAL TABLE vcpu_switch USING wc_columnar(
    row            INTEGER HIDDEN,    -- append order (the columnar key; not in SELECT *)
    utid         INTEGER,
    tid          INTEGER,
    ts           INTEGER,
    switch_seq   INTEGER,
    reason       TEXT,    -- 'preempted', 'futex_global', 'futex_other', 'io', 'sleep', 'exit', 'other'
    prev_state_str TEXT,
    block_id     INTEGER,
    stack_id     INTEGER,
    evidence     TEXT,             -- stack frame that supports the reason (e.g. 'futex_wait_queue', '_cond_resched'), when stacks exist
    kvm_userspace_exit_ns INTEGER  -- last kvm_userspace_exit of the thread before this switch (NULL: none captured)
);

-- vCPU on-CPU slices: switch-in to switch-out.
CREATE VIRTUAL TABLE vcpu_slice USING wc_columnar(
    row            INTEGER HIDDEN,    -- append order (the columnar key; not in SELECT *)
    utid       INTEGER,
    tid        INTEGER,
    cpu        INTEGER,
    start_ns   INTEGER,
    end_ns     INTEGER,
    end_reason TEXT,              -- vcpu_switch.reason of the switch-out ending it, NULL at capture end
    switch_seq INTEGER            -- vcpu_switch.switch_seq of that switch-out, NULL at capture end
);
