-- title: who held the global mutex while vCPU threads waited on it, and in which state
-- params: :top (integer, default 20: rows shown); :pid, :uaddr (integers, default NULL = every global mutex: restrict to the global mutex of that process / at that address)
-- columns: tid — holder thread id (NULL: holder unknown, e.g. no release seen)
--   name — holder name (untrusted text; NULL when unknown)
--   is_vcpu — 1 if the holder is itself a vCPU thread
--   held_ns, held_ms — time it held the mutex while a vCPU waited, summed over waiting vCPUs (ns, ms)
--   held_pct — held_ns as % of all vCPU time blocked on the global mutex (sum of the blocks' durations)
--   blocks — distinct vCPU blocks it held the mutex during
--   running_ns, preempted_ns, runnable_ns, futex_ns, blocked_io_ns, sleeping_ns, unknown_ns — held_ns split by what the holder was doing (ns): on CPU; runnable after preemption; runnable after a wakeup; asleep on another futex; in D state; asleep otherwise; not known
--   running_pct, preempted_pct, futex_pct — the same as % of held_ns
-- Reads chain rows of depth 1 (holders of the blocked vCPU's futex, split by
-- the holder's state) for vCPU blocks on the global mutex, as summed by the
-- analysis in holder_time.  Time is vCPU-weighted: two vCPUs waiting on the
-- same holder count twice, so held_pct adds up to 100 over all rows (unknown
-- holders included) when the chains cover every block; blocks without chain
-- rows leave the rest.
WITH rows AS (
    SELECT h.tid, h.utid, h.state, h.time_ns AS ns, h.holder_blocks
    FROM holder_time h
    WHERE h.depth = 1 AND h.root_global = 1
      AND (:pid IS NULL OR h.root_pid = :pid) AND (:uaddr IS NULL OR h.root_uaddr = :uaddr)
),
total AS (
    SELECT SUM(b.end_ns - b.start_ns) AS ns FROM block b
    WHERE b.is_vcpu = 1 AND b.on_global_lock = 1
      AND (:pid IS NULL OR b.futex_pid = :pid) AND (:uaddr IS NULL OR b.futex_uaddr = :uaddr)
)
SELECT r.tid AS tid,
       (SELECT comm FROM thread WHERE utid = r.utid) AS name,
       CASE WHEN r.utid IN (SELECT utid FROM vcpu) THEN 1 ELSE 0 END AS is_vcpu,
       SUM(r.ns) AS held_ns,
       ROUND(SUM(r.ns) / 1e6, 3) AS held_ms,
       ROUND(100.0 * SUM(r.ns) / NULLIF((SELECT ns FROM total), 0), 2) AS held_pct,
       SUM(r.holder_blocks) AS blocks,
       SUM(CASE WHEN r.state = 'running' THEN r.ns ELSE 0 END) AS running_ns,
       SUM(CASE WHEN r.state = 'preempted' THEN r.ns ELSE 0 END) AS preempted_ns,
       SUM(CASE WHEN r.state = 'runnable' THEN r.ns ELSE 0 END) AS runnable_ns,
       SUM(CASE WHEN r.state = 'futex' THEN r.ns ELSE 0 END) AS futex_ns,
       SUM(CASE WHEN r.state = 'blocked_io' THEN r.ns ELSE 0 END) AS blocked_io_ns,
       SUM(CASE WHEN r.state = 'sleeping' THEN r.ns ELSE 0 END) AS sleeping_ns,
       SUM(CASE WHEN r.state NOT IN ('running', 'preempted', 'runnable', 'futex', 'blocked_io', 'sleeping') THEN r.ns ELSE 0 END) AS unknown_ns,
       ROUND(100.0 * SUM(CASE WHEN r.state = 'running' THEN r.ns ELSE 0 END) / NULLIF(SUM(r.ns), 0), 2) AS running_pct,
       ROUND(100.0 * SUM(CASE WHEN r.state = 'preempted' THEN r.ns ELSE 0 END) / NULLIF(SUM(r.ns), 0), 2) AS preempted_pct,
       ROUND(100.0 * SUM(CASE WHEN r.state = 'futex' THEN r.ns ELSE 0 END) / NULLIF(SUM(r.ns), 0), 2) AS futex_pct
FROM rows r
GROUP BY r.utid, r.tid
ORDER BY held_ns DESC, r.tid IS NULL, r.tid
LIMIT COALESCE(:top, 20);
