-- title: convenience views that join ids to names (for `waitchain sql` and sqlite3)
-- Views cost nothing to store; they make the database pleasant to explore
-- without reading the code.  Thread names are untrusted text.
-- A tid maps to the thread row (utid) with that tid and the greatest
-- start_seq not after the event (see include/waitchain/tidmap.h); the
-- views use that rule through correlated look-ups on thread(tid, start_seq).

-- One row per futex call with the thread name, duration and hex address.
CREATE VIEW futex_view AS
SELECT f.id AS id,
       f.tid AS tid,
       coalesce((SELECT t.comm FROM thread t
                  WHERE t.tid = f.tid
                    AND t.start_seq <= coalesce(f.enter_seq, f.exit_seq)
                  ORDER BY t.start_seq DESC LIMIT 1),
                (SELECT t.comm FROM thread t WHERE t.tid = f.tid
                  ORDER BY t.start_seq LIMIT 1)) AS comm,
       f.enter_ns AS enter_ns,
       f.exit_ns AS exit_ns,
       f.exit_ns - f.enter_ns AS duration_ns,
       f.syscall AS syscall,
       f.op_name AS op_name,
       CASE WHEN f.uaddr IS NOT NULL THEN printf('0x%x', f.uaddr) END AS uaddr_hex,
       f.val AS val,
       f.ret AS ret,
       f.stack_id AS stack_id
FROM futex f;

-- Threads with their lifetime in the capture and every name they had.
CREATE VIEW thread_view AS
SELECT t.utid AS utid,
       t.tid AS tid,
       t.pid AS pid,
       t.comm AS comm,
       t.start_ns AS start_ns,
       t.end_ns AS end_ns,
       t.end_ns - t.start_ns AS span_ns,
       (SELECT group_concat(comm, ' / ')
          FROM (SELECT DISTINCT comm FROM thread_name n WHERE n.utid = t.utid)) AS names
FROM thread t;

-- Stack frames as text: 'symbol+0xoff (dso)' (or the hex address).
CREATE VIEW stack_view AS
SELECT s.stack_id AS stack_id,
       s.depth AS depth,
       s.is_kernel AS is_kernel,
       printf('0x%x', s.ip) AS ip_hex,
       coalesce(s.symbol || printf('+0x%x', s.symbol_offset), printf('0x%x', s.ip))
         || coalesce(' (' || s.dso || ')', '') AS frame
FROM stack_frame s;

-- Context switches with the state decoded and the names of both tasks.
CREATE VIEW switch_view AS
SELECT seq AS seq,
       ts AS ts,
       cpu AS cpu,
       prev_tid AS prev_tid,
       prev_comm AS prev_comm,
       prev_state_str AS prev_state_str,
       next_tid AS next_tid,
       next_comm AS next_comm,
       stack_id AS stack_id
FROM sched_switch;

-- Blocks (analysis) with the thread name, duration, futex address, the
-- holder at sleep time and the waker.
CREATE VIEW block_view AS
SELECT b.id AS block_id,
       b.tid AS tid,
       (SELECT comm FROM thread WHERE utid = b.utid) AS comm,
       b.start_ns AS start_ns,
       b.end_ns - b.start_ns AS duration_ns,
       b.state AS state,
       b.reason AS reason,
       CASE WHEN b.futex_uaddr IS NOT NULL THEN printf('0x%x', b.futex_uaddr) END AS futex_hex,
       b.on_global_lock AS on_global_lock,
       h.holder_tid AS holder_tid,
       (SELECT comm FROM thread WHERE utid = h.holder_utid) AS holder_comm,
       h.certainty AS holder_certainty,
       b.waker_tid AS waker_tid,
       (SELECT comm FROM thread WHERE utid = b.waker_utid) AS waker_comm,
       b.uncertain AS uncertain
FROM block b
LEFT JOIN block_holder h ON h.block_id = b.id AND h.seq = 1;
