-- title: why vCPU threads left the CPU: per vCPU, count and off-CPU time of each switch-out reason
-- params: none
-- columns: tid, name — vCPU thread (untrusted name)
--   reason — 'preempted', 'futex_global' (slept on the global mutex), 'futex_other', 'io', 'sleep', 'exit', 'other'
--   switches — switch-outs with that reason
--   pct_switches — % of the vCPU's switch-outs
--   off_cpu_ns, off_cpu_ms — time from those switch-outs to the next switch-in (ns, ms; switch-outs never followed by a switch-in are not counted)
--   avg_off_ns — off_cpu_ns / switches that were followed by a switch-in (ns)
-- From vcpu_switch (one row per switch-out) and vcpu_slice (on-CPU
-- slices): the off-CPU time of a switch-out ends at the start of the
-- vCPU's next slice, found with LEAD() over both streams merged in time
-- order (no join of events against events).
WITH ev AS (
    SELECT utid, tid, ts, 0 AS kind, reason FROM vcpu_switch
    UNION ALL
    SELECT utid, tid, start_ns, 1, NULL FROM vcpu_slice
),
nx AS (
    SELECT utid, tid, ts, kind, reason,
           LEAD(ts) OVER w AS next_ts, LEAD(kind) OVER w AS next_kind
    FROM ev
    WINDOW w AS (PARTITION BY utid ORDER BY ts, kind)
),
sw AS (
    SELECT utid, tid, reason, CASE WHEN next_kind = 1 THEN next_ts - ts END AS off
    FROM nx WHERE kind = 0
),
tot AS (SELECT utid, COUNT(*) AS n FROM sw GROUP BY utid)
SELECT sw.tid AS tid,
       (SELECT comm FROM thread WHERE utid = sw.utid) AS name,
       sw.reason AS reason,
       COUNT(*) AS switches,
       ROUND(100.0 * COUNT(*) / tot.n, 2) AS pct_switches,
       COALESCE(SUM(sw.off), 0) AS off_cpu_ns,
       ROUND(COALESCE(SUM(sw.off), 0) / 1e6, 3) AS off_cpu_ms,
       SUM(sw.off) / NULLIF(COUNT(sw.off), 0) AS avg_off_ns
FROM sw JOIN tot ON tot.utid = sw.utid
LEFT JOIN vcpu v ON v.utid = sw.utid
GROUP BY sw.utid, sw.tid, sw.reason
ORDER BY COALESCE(v.vcpu_index, 1 << 30), sw.tid, switches DESC, sw.reason;
