-- title: threads, their names over time, and stacks

-- One row per thread lifetime.  A tid reused after the thread exited (a new
-- sched_process_fork of the same tid) gets a new utid, so utid is the key
-- analyses use; tid is what users type.  start_ns/end_ns bound where the
-- thread appears in the capture.
CREATE TABLE thread (
    utid        INTEGER PRIMARY KEY,  -- unique thread id within this database
    tid         INTEGER NOT NULL,     -- kernel thread id
    pid         INTEGER,              -- process (tgid): from the capture if it says (perf), else inferred (see pid_source)
    pid_source  TEXT,                 -- 'capture' (perf sample pid/tid), 'fork' (inherited from a parent seen forking it), 'inferred' (analysis: shared futexes), NULL unknown
    comm        TEXT,                 -- name as last seen
    start_ns    INTEGER,              -- first event that mentions it
    end_ns      INTEGER,              -- last event that mentions it
    start_seq   INTEGER,              -- seq of that first event (tid -> utid mapping)
    forked_ns   INTEGER,              -- time of its sched_process_fork, if seen
    exited_ns   INTEGER,              -- time of its sched_process_exit, if seen
    parent_tid  INTEGER               -- tid that forked it, if seen
);

-- Every name a thread was seen with, and where (history of renames).
CREATE TABLE thread_name (
    utid   INTEGER NOT NULL,   -- thread.utid
    tid    INTEGER NOT NULL,
    ts     INTEGER,            -- first time seen with that name (NULL: undated, e.g. saved cmdlines)
    comm   TEXT NOT NULL,
    source TEXT NOT NULL       -- 'cmdlines', 'comm_record', 'exec', 'event', 'task_rename'
);

-- Distinct stacks (callchains); events refer to them by stack_id.
CREATE TABLE stack (
    id      INTEGER PRIMARY KEY,
    nframes INTEGER NOT NULL,
    hash    INTEGER NOT NULL   -- 64-bit hash of the frame addresses (dedup)
);

-- Frames of each stack, innermost first (depth 0 = where the event fired).
-- Columnar (wc_columnar, like the high-rate event tables): a capture with
-- callchains has ten frames or more per stack, tens of millions of rows.
-- Rows are stored by stack, stacks in id order, frames by depth, so
-- `WHERE stack_id = N` reads one chunk; (stack_id, depth) is unique.
CREATE VIRTUAL TABLE stack_frame USING wc_columnar(
    row           INTEGER HIDDEN,    -- append order (the columnar key; not in SELECT *)
    stack_id      INTEGER,           -- stack.id
    depth         INTEGER,           -- 0 = innermost
    ip            INTEGER,           -- instruction pointer
    is_kernel     INTEGER,           -- 1 kernel frame, 0 user frame
    symbol        TEXT,              -- function name, NULL if unresolved
    symbol_offset INTEGER,           -- ip - symbol start
    dso           TEXT,              -- '[kernel.kallsyms]', binary path, NULL if unknown
    dso_offset    INTEGER            -- ip relative to the DSO's load address (file offset based)
);
