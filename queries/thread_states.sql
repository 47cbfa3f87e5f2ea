-- title: time one thread spent in each state over the whole capture
-- params: :tid (integer, required: the thread id)
-- columns: tid — the thread
--   name — its name (thread.comm of its latest lifetime; untrusted text)
--   state — 'running', 'preempted', 'woken' (runnable after a wakeup), 'futex' (asleep in a futex wait), 'blocked_io', 'sleeping' (asleep otherwise), 'unknown', 'dead'
--   time_ns, time_ms — time in that state (ns, ms)
--   pct — % of the thread's time in the capture (all states)
--   intervals — thread_state rows
-- The report shows this for each --thread TID.
WITH s AS (
    SELECT s.utid, s.tid,
           CASE WHEN s.state = 'runnable' AND s.runnable_reason = 'preempted' THEN 'preempted'
                WHEN s.state = 'runnable' THEN 'woken'
                WHEN s.state IN ('sleeping', 'blocked_io') AND b.reason = 'futex' THEN 'futex'
                ELSE s.state END AS state,
           s.end_ns - s.start_ns AS ns
    FROM thread_state s LEFT JOIN block b ON b.id = s.block_id
    WHERE s.tid = :tid
)
SELECT :tid AS tid,
       (SELECT comm FROM thread WHERE tid = :tid ORDER BY utid DESC LIMIT 1) AS name,
       state AS state,
       SUM(ns) AS time_ns,
       ROUND(SUM(ns) / 1e6, 3) AS time_ms,
       ROUND(100.0 * SUM(ns) / NULLIF((SELECT SUM(ns) FROM s), 0), 2) AS pct,
       COUNT(*) AS intervals
FROM s
GROUP BY state
ORDER BY time_ns DESC, state;
