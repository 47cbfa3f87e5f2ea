-- title: wakeup to switch-in latency per thread (time woken threads waited for a CPU)
-- params: :vcpu_only (integer, default 0; 1 = vCPU threads only)
-- columns: tid, name — the woken thread (untrusted name)
--   is_vcpu — 1 for vCPU threads
--   wakeups — blocks with both a wakeup and a later switch-in in the capture
--   total_ns — sum of latencies (ns)
--   avg_ns — mean latency (ns, integer)
--   p50_ns, p95_ns, p99_ns, max_ns — latency percentiles, nearest-rank (ns)
--   p99_us — p99_ns in microseconds
-- Latency = block.switch_in_ns - block.wakeup_ns.  Nearest rank: the
-- k-th smallest of n values with k = ceil(p * n / 100).  Sorted by p99,
-- worst first.  A high p99 on a vCPU means the host's CPUs are busy: the
-- vCPU was runnable but not running.
WITH lat AS (
    SELECT utid, tid, is_vcpu, switch_in_ns - wakeup_ns AS ns,
           ROW_NUMBER() OVER (PARTITION BY utid ORDER BY switch_in_ns - wakeup_ns) AS rn,
           COUNT(*) OVER (PARTITION BY utid) AS n
    FROM block
    WHERE wakeup_ns IS NOT NULL AND switch_in_ns IS NOT NULL
      AND (COALESCE(:vcpu_only, 0) = 0 OR is_vcpu = 1)
)
SELECT tid AS tid,
       (SELECT comm FROM thread WHERE utid = lat.utid) AS name,
       MAX(is_vcpu) AS is_vcpu,
       COUNT(*) AS wakeups,
       SUM(ns) AS total_ns,
       SUM(ns) / COUNT(*) AS avg_ns,
       MAX(CASE WHEN rn = (n * 50 + 99) / 100 THEN ns END) AS p50_ns,
       MAX(CASE WHEN rn = (n * 95 + 99) / 100 THEN ns END) AS p95_ns,
       MAX(CASE WHEN rn = (n * 99 + 99) / 100 THEN ns END) AS p99_ns,
       MAX(ns) AS max_ns,
       ROUND(MAX(CASE WHEN rn = (n * 99 + 99) / 100 THEN ns END) / 1e3, 3) AS p99_us
FROM lat
GROUP BY utid, tid
ORDER BY p99_ns DESC, tid;
