-- title: time by state of the holders at each depth of the holder chains of vCPU global-mutex blocks
-- params: :all_blocks (integer, default 0: only vCPU blocks on the global mutex; 1: every block that has chain rows)
-- columns: depth — 1 = holders of the waiter's futex, 2 = holders of the futex a depth-1 holder waited on, ...
--   state — 'running', 'preempted', 'runnable', 'futex', 'blocked_io', 'sleeping', 'unknown', 'deadlock'
--   time_ns, time_ms — chain time in that state at that depth, summed over blocks (ns, ms)
--   pct_of_depth — time_ns as % of all time at that depth
--   pct_of_blocked — time_ns as % of the root blocks' total duration (depth 1 adds up to 100)
--   intervals — chain rows
--   blocks — distinct root blocks
--   threads — distinct holder threads
-- Read depth 1 as "while vCPUs waited, the holder was ...", depth 2 as
-- "... and when the holder itself waited on a futex, that futex's holder
-- was ...".  Deeper rows are a subset of the 'futex' time of the depth above.
-- Sums come from holder_time (the chain rows summed by the analysis).
WITH roots AS (
    SELECT SUM(end_ns - start_ns) AS ns FROM block
    WHERE (COALESCE(:all_blocks, 0) = 0 AND is_vcpu = 1 AND on_global_lock = 1)
       OR (COALESCE(:all_blocks, 0) <> 0 AND id IN (SELECT DISTINCT block_id FROM chain))
),
agg AS (
    SELECT depth, state, SUM(time_ns) AS ns, SUM(intervals) AS intervals,
           SUM(state_blocks) AS blocks, COUNT(DISTINCT COALESCE(utid, -1)) AS threads
    FROM holder_time
    WHERE COALESCE(:all_blocks, 0) <> 0 OR root_global = 1
    GROUP BY depth, state
),
bydepth AS (SELECT depth, SUM(ns) AS ns FROM agg GROUP BY depth)
SELECT a.depth AS depth,
       a.state AS state,
       a.ns AS time_ns,
       ROUND(a.ns / 1e6, 3) AS time_ms,
       ROUND(100.0 * a.ns / NULLIF(d.ns, 0), 2) AS pct_of_depth,
       ROUND(100.0 * a.ns / NULLIF((SELECT ns FROM roots), 0), 2) AS pct_of_blocked,
       a.intervals AS intervals,
       a.blocks AS blocks,
       a.threads AS threads
FROM agg a JOIN bydepth d ON d.depth = a.depth
ORDER BY a.depth, time_ns DESC, a.state;
