-- title: capture metadata
-- The case database of one imported capture.  Conventions for every table:
--   * timestamps (*_ns, ts) and durations are INTEGER nanoseconds in the
--     capture's clock (see capture.clock; bqlsim ground truth uses mono);
--   * addresses (uaddr, ip) are INTEGER (print with printf('0x%x', uaddr));
--   * tid/pid are the kernel's; NULL means "not known"; tid 0 is the idle task;
--   * seq is the global position of an event in the time-ordered stream of
--     every imported event (ties broken as the capture gives them), so
--     "ORDER BY seq" across tables replays the capture exactly;
--   * text from the capture (comm, symbols) is untrusted bytes.

-- Key/value facts about the capture and its import.  Keys in use:
--   source_file, source_size, source_compression, format ('trace.dat' or
--   'perf.data'), format_version, file_compression (v7 buffers / perf -z),
--   uncompressed_copy_bytes (compressed trace.dat CPU data was read from
--   an uncompressed copy of this size made in $TMPDIR),
--   hostname, uname, osrelease, arch, nrcpus, clock, clockid, cmdline,
--   tracer_version (trace-cmd or perf version), first_ts, last_ts, events,
--   imported_at (ISO 8601 UTC), import_seconds, waitchain_version,
--   truncated (0/1), truncated_reason, kallsyms_source ('capture', 'file:PATH',
--   '/proc/kallsyms', 'none'), has_stacks (0/1), has_sched_waking (0/1),
--   has_futex (0/1), warnings (one per line), pipe_mode (perf), buffers.
CREATE TABLE capture (
    key   TEXT PRIMARY KEY,  -- name of the fact
    value TEXT               -- its value, as text
);

-- Trace buffers (trace.dat instances; perf.data has one, id 0).
CREATE TABLE buffer (
    id       INTEGER PRIMARY KEY,  -- referenced by the event tables' buffer column
    name     TEXT NOT NULL,        -- '' for the top buffer, else the instance name
    clock    TEXT,                 -- trace clock of the buffer
    ncpus    INTEGER,              -- CPUs with data
    nevents  INTEGER,              -- events it holds
    imported INTEGER NOT NULL      -- 1 if its events were imported (see --buffer)
);

-- Every event name seen, with how many were read and how many stored.
-- Events waitchain does not model are counted here only.
CREATE TABLE event_count (
    name    TEXT PRIMARY KEY,  -- event name as recorded, e.g. 'sched_switch'
    count   INTEGER NOT NULL,  -- events of that name read from the capture
    stored  INTEGER NOT NULL   -- 1 if they are stored in a table of that name
);

-- Per-CPU lost/overrun/dropped event reports.  Any analysis interval that
-- overlaps [ts_from_ns, ts_ns] on that CPU (or any CPU if cpu IS NULL) is
-- uncertain.
CREATE TABLE lost (
    cpu        INTEGER,           -- CPU, NULL if unknown
    ts_from_ns INTEGER,           -- start of the gap if known, else NULL
    ts_ns      INTEGER,           -- when the loss was reported, NULL if unknown
    count      INTEGER NOT NULL,  -- number of events lost
    kind       TEXT NOT NULL      -- 'lost', 'lost_samples', 'overrun', 'dropped', 'missed'
);
