-- title: how long vCPU threads run once on a CPU: on-CPU slice percentiles per vCPU
-- params: none
-- columns: tid, name — vCPU thread (untrusted name)
--   slices — on-CPU slices (switch-in to switch-out; the last one may end at capture end)
--   total_ns — summed slice time (ns)
--   avg_ns — mean slice (ns, integer)
--   p50_ns, p95_ns, p99_ns, max_ns — slice length percentiles, nearest-rank (ns)
--   p50_us — p50_ns in microseconds
-- Nearest rank: the k-th smallest of n slices with k = ceil(p * n / 100).
-- Short slices ending in 'futex_global' (see vcpu_switch_reasons) mean the
-- vCPU barely runs before needing the global mutex again.
WITH s AS (
    SELECT utid, tid, end_ns - start_ns AS ns,
           ROW_NUMBER() OVER (PARTITION BY utid ORDER BY end_ns - start_ns) AS rn,
           COUNT(*) OVER (PARTITION BY utid) AS n
    FROM vcpu_slice
)
SELECT s.tid AS tid,
       (SELECT comm FROM thread WHERE utid = s.utid) AS name,
       COUNT(*) AS slices,
       SUM(ns) AS total_ns,
       SUM(ns) / COUNT(*) AS avg_ns,
       MAX(CASE WHEN rn = (n * 50 + 99) / 100 THEN ns END) AS p50_ns,
       MAX(CASE WHEN rn = (n * 95 + 99) / 100 THEN ns END) AS p95_ns,
       MAX(CASE WHEN rn = (n * 99 + 99) / 100 THEN ns END) AS p99_ns,
       MAX(ns) AS max_ns,
       ROUND(MAX(CASE WHEN rn = (n * 50 + 99) / 100 THEN ns END) / 1e3, 3) AS p50_us
FROM s LEFT JOIN vcpu v ON v.utid = s.utid
GROUP BY s.utid, s.tid
ORDER BY COALESCE(MAX(v.vcpu_index), 1 << 30), s.tid;
