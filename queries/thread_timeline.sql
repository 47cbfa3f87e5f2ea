-- title: one thread's states over a time window, with what each block waited on
-- params: :tid (integer, required: the thread id); :t0 (integer ns, default capture start); :t1 (integer ns, default capture end)
-- columns: start_ns, end_ns — the interval, clipped to [t0, t1) (ns, capture clock)
--   duration_ns — end_ns - start_ns (ns)
--   state — 'running', 'runnable', 'sleeping', 'blocked_io', 'unknown', 'dead'
--   detail — 'preempted'/'woken' for runnable, the block reason ('futex', 'io', 'sleep', 'other') for sleeps
--   cpu — CPU (running: where; otherwise: the CPU it left)
--   block_id — block.id for sleeping/blocked_io/woken intervals
--   futex — futex word of that block, hex text
--   on_global_lock — 1 if that block waited on the global mutex
--   holder_tid, holder — holder at sleep time (block_holder seq 1; untrusted name)
--   other_tid, other — for 'preempted': who ran instead; for woken: the waker (untrusted name)
--   uncertain — 1 if the interval overlaps lost events or rests on a fallback
-- A tid reused by a later thread shows both lifetimes in time order.
SELECT MAX(s.start_ns, COALESCE(:t0, s.start_ns)) AS start_ns,
       MIN(s.end_ns, COALESCE(:t1, s.end_ns)) AS end_ns,
       MIN(s.end_ns, COALESCE(:t1, s.end_ns)) - MAX(s.start_ns, COALESCE(:t0, s.start_ns)) AS duration_ns,
       s.state AS state,
       CASE WHEN s.state = 'runnable' THEN s.runnable_reason
            WHEN s.state IN ('sleeping', 'blocked_io') THEN b.reason END AS detail,
       s.cpu AS cpu,
       s.block_id AS block_id,
       CASE WHEN b.futex_uaddr IS NOT NULL THEN printf('0x%x', b.futex_uaddr) END AS futex,
       b.on_global_lock AS on_global_lock,
       h.holder_tid AS holder_tid,
       (SELECT comm FROM thread WHERE utid = h.holder_utid) AS holder,
       CASE WHEN s.state = 'runnable' AND s.runnable_reason = 'preempted' THEN s.preempted_by
            WHEN s.state = 'runnable' THEN b.waker_tid END AS other_tid,
       CASE WHEN s.state = 'runnable' AND s.runnable_reason = 'preempted' THEN
                (SELECT comm FROM thread WHERE tid = s.preempted_by ORDER BY utid DESC LIMIT 1)
            WHEN s.state = 'runnable' THEN (SELECT comm FROM thread WHERE utid = b.waker_utid) END AS other,
       s.uncertain AS uncertain
FROM thread_state s
LEFT JOIN block b ON b.id = s.block_id
LEFT JOIN block_holder h ON h.block_id = s.block_id AND h.seq = 1
WHERE s.tid = :tid
  AND (:t1 IS NULL OR s.start_ns < :t1)
  AND (:t0 IS NULL OR s.end_ns > :t0)
ORDER BY s.utid, s.start_ns;
