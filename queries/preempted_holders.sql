-- title: holders preempted while vCPU threads waited for the global mutex: by whom, for how long
-- params: :depth (integer, default NULL = every depth; 1 = direct holders of the global mutex only); :pid, :uaddr (integers, default NULL = every global mutex: restrict to one)
-- columns: holder_tid, holder — the preempted holder (untrusted name)
--   depth — chain depth of the holder (1 = holds the global mutex itself)
--   preempted_by, preempted_by_name — the thread the scheduler ran instead (NULL: not known; untrusted name)
--   time_ns, time_ms — vCPU-weighted time the holder sat preempted (ns, ms)
--   pct_of_blocked — time_ns as % of all vCPU time blocked on the global mutex
--   intervals — chain rows
--   blocks — distinct vCPU blocks delayed
-- A preempted holder is runnable but not running while vCPUs wait for it:
-- CPU overcommit (other processes, or vCPUs themselves) lengthens the
-- critical section.  Pin or give the holder priority, or reduce load.
WITH roots AS (
    SELECT id, end_ns - start_ns AS dur FROM block b WHERE is_vcpu = 1 AND on_global_lock = 1
      AND (:pid IS NULL OR b.futex_pid = :pid) AND (:uaddr IS NULL OR b.futex_uaddr = :uaddr)
),
rows AS (
    SELECT c.* FROM chain c JOIN roots r ON r.id = c.block_id
    WHERE c.state = 'preempted' AND (:depth IS NULL OR c.depth = :depth)
)
SELECT tid AS holder_tid,
       (SELECT comm FROM thread WHERE utid = rows.utid) AS holder,
       depth AS depth,
       preempted_by AS preempted_by,
       (SELECT comm FROM thread WHERE tid = rows.preempted_by ORDER BY utid DESC LIMIT 1) AS preempted_by_name,
       SUM(to_ns - from_ns) AS time_ns,
       ROUND(SUM(to_ns - from_ns) / 1e6, 3) AS time_ms,
       ROUND(100.0 * SUM(to_ns - from_ns) / NULLIF((SELECT SUM(dur) FROM roots), 0), 2) AS pct_of_blocked,
       COUNT(*) AS intervals,
       COUNT(DISTINCT block_id) AS blocks
FROM rows
GROUP BY utid, tid, depth, preempted_by
ORDER BY time_ns DESC, holder_tid, preempted_by;
