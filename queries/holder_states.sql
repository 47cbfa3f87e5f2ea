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
WITH roots AS (
    SELECT id, end_ns - start_ns AS dur FROM block
    WHERE (COALESCE(:all_blocks, 0) = 0 AND is_vcpu = 1 AND on_global_lock = 1)
       OR (COALESCE(:all_blocks, 0) <> 0 AND id IN (SELECT DISTINCT block_id FROM chain))
),
rows AS (
    SELECT c.depth, c.state, c.block_id, c.utid, c.tid, c.to_ns - c.from_ns AS ns
    FROM chain c CROSS JOIN roots r ON r.id = c.block_id
),
bydepth AS (SELECT depth, SUM(ns) AS ns FROM rows GROUP BY depth)
SELECT r.depth AS depth,
       r.state AS state,
       SUM(r.ns) AS time_ns,
       ROUND(SUM(r.ns) / 1e6, 3) AS time_ms,
       ROUND(100.0 * SUM(r.ns) / NULLIF(d.ns, 0), 2) AS pct_of_depth,
       ROUND(100.0 * SUM(r.ns) / NULLIF((SELECT SUM(dur) FROM roots), 0), 2) AS pct_of_blocked,
       COUNT(*) AS intervals,
       COUNT(DISTINCT r.block_id) AS blocks,
       COUNT(DISTINCT COALESCE(r.utid, -1)) AS threads
FROM rows r JOIN bydepth d ON d.depth = r.depth
GROUP BY r.depth, r.state
ORDER BY r.depth, time_ns DESC, r.state;
