-- title: per vCPU thread: time running, preempted, waiting for a CPU, blocked on the global mutex, blocked otherwise
-- params: none
-- columns: tid — vCPU thread id
--   name — thread name (thread.comm; untrusted text)
--   vcpu_index — n of "CPU n/KVM" (NULL if the name has none)
--   observed_ns — time the thread's state is known (thread_state minus 'unknown' and 'dead') (ns)
--   running_ns, running_pct — on a CPU (ns, % of observed)
--   preempted_ns, preempted_pct — runnable after being preempted (ns, %)
--   woken_ns, woken_pct — runnable after a wakeup, waiting for a CPU (ns, %)
--   global_ns, global_pct — asleep in a block on the global mutex (ns, %)
--   other_blocked_ns, other_blocked_pct — asleep for any other reason: other futexes, I/O, sleep (ns, %)
--   global_blocks — blocks (times it went to sleep) on the global mutex
--   global_p50_ns, global_p95_ns, global_p99_ns, global_max_ns — percentiles of those block durations (ns)
--   global_p99_ms — global_p99_ns in milliseconds
--   uncertain_blocks — blocks of this vCPU (any reason) marked uncertain (overlapping lost events, fallbacks)
--   uncertain_global_blocks — of its global_blocks, those marked uncertain
-- Times come from thread_state (contiguous intervals per thread), so the
-- five *_pct columns add up to 100.  A block runs from the switch-out to
-- the wakeup; the time between the wakeup and the switch-in is "woken".
-- Percentiles use the nearest-rank method: for n sorted durations the
-- p-th percentile is the k-th smallest with k = ceil(p * n / 100), so it is
-- always a duration that occurred (p50 of 2 values is the smaller one).
-- (The state times come from thread_time: thread_state summed per thread
-- by the analysis.)
WITH st AS (
    SELECT s.utid,
           SUM(CASE WHEN s.state NOT IN ('unknown', 'dead') THEN s.time_ns ELSE 0 END) AS observed_ns,
           SUM(CASE WHEN s.state = 'running' THEN s.time_ns ELSE 0 END) AS running_ns,
           SUM(CASE WHEN s.state = 'runnable' AND s.runnable_reason = 'preempted' THEN s.time_ns ELSE 0 END) AS preempted_ns,
           SUM(CASE WHEN s.state = 'runnable' AND COALESCE(s.runnable_reason, '') <> 'preempted' THEN s.time_ns ELSE 0 END) AS woken_ns,
           SUM(CASE WHEN s.state IN ('sleeping', 'blocked_io') AND s.on_global_lock = 1 THEN s.time_ns ELSE 0 END) AS global_ns,
           SUM(CASE WHEN s.state IN ('sleeping', 'blocked_io') AND s.on_global_lock = 0 THEN s.time_ns ELSE 0 END) AS other_blocked_ns
    FROM thread_time s
    WHERE s.utid IN (SELECT utid FROM vcpu)
    GROUP BY s.utid
),
gb AS (
    SELECT utid, end_ns - start_ns AS dur,
           ROW_NUMBER() OVER (PARTITION BY utid ORDER BY end_ns - start_ns) AS rn,
           COUNT(*) OVER (PARTITION BY utid) AS n
    FROM block
    WHERE is_vcpu = 1 AND on_global_lock = 1
),
pct AS (
    SELECT utid, MAX(n) AS n,
           MAX(CASE WHEN rn = (n * 50 + 99) / 100 THEN dur END) AS p50,
           MAX(CASE WHEN rn = (n * 95 + 99) / 100 THEN dur END) AS p95,
           MAX(CASE WHEN rn = (n * 99 + 99) / 100 THEN dur END) AS p99,
           MAX(dur) AS mx
    FROM gb GROUP BY utid
)
SELECT v.tid AS tid,
       COALESCE(t.comm, v.comm) AS name,
       v.vcpu_index AS vcpu_index,
       COALESCE(st.observed_ns, 0) AS observed_ns,
       COALESCE(st.running_ns, 0) AS running_ns,
       ROUND(100.0 * st.running_ns / NULLIF(st.observed_ns, 0), 2) AS running_pct,
       COALESCE(st.preempted_ns, 0) AS preempted_ns,
       ROUND(100.0 * st.preempted_ns / NULLIF(st.observed_ns, 0), 2) AS preempted_pct,
       COALESCE(st.woken_ns, 0) AS woken_ns,
       ROUND(100.0 * st.woken_ns / NULLIF(st.observed_ns, 0), 2) AS woken_pct,
       COALESCE(st.global_ns, 0) AS global_ns,
       ROUND(100.0 * st.global_ns / NULLIF(st.observed_ns, 0), 2) AS global_pct,
       COALESCE(st.other_blocked_ns, 0) AS other_blocked_ns,
       ROUND(100.0 * st.other_blocked_ns / NULLIF(st.observed_ns, 0), 2) AS other_blocked_pct,
       COALESCE(pct.n, 0) AS global_blocks,
       pct.p50 AS global_p50_ns,
       pct.p95 AS global_p95_ns,
       pct.p99 AS global_p99_ns,
       pct.mx AS global_max_ns,
       ROUND(pct.p99 / 1e6, 3) AS global_p99_ms,
       (SELECT COUNT(*) FROM block u WHERE u.utid = v.utid AND u.uncertain = 1) AS uncertain_blocks,
       (SELECT COUNT(*) FROM block u WHERE u.utid = v.utid AND u.is_vcpu = 1 AND u.on_global_lock = 1 AND u.uncertain = 1) AS uncertain_global_blocks
FROM vcpu v
LEFT JOIN thread t ON t.utid = v.utid
LEFT JOIN st ON st.utid = v.utid
LEFT JOIN pct ON pct.utid = v.utid
ORDER BY COALESCE(v.vcpu_index, 1 << 30), v.tid, v.utid;
