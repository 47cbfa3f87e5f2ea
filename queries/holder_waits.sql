-- title: what holders of the global mutex waited on while vCPUs waited for them (depth 2 of the chains)
-- params: :top (integer, default 20: rows shown); :pid, :uaddr (integers, default NULL = every global mutex: restrict to one)
-- columns: holder_tid, holder — depth-1 holder that slept on another futex while holding the global mutex (untrusted name)
--   futex_pid — process of the futex it slept on
--   futex — that futex word, hex text
--   futex_uaddr — the same address as an integer
--   next_tid, next_holder — depth-2 thread: the holder of that futex (NULL: unknown)
--   next_state — what the depth-2 holder was doing: 'running', 'preempted', 'runnable', 'futex', 'blocked_io', 'sleeping', 'unknown'
--   time_ns, time_ms — vCPU-weighted time (ns, ms)
--   pct_of_blocked — time_ns as % of all vCPU time blocked on the global mutex
--   blocks — distinct vCPU blocks concerned
-- Reads "while CPU 1/KVM waited for the BQL, qemu-main held it but was
-- itself waiting on futex 0x...168 held by worker, which was blocked_io".
-- Sums come from holder_time (depth-2 chain rows summed by the analysis;
-- their parents are always 'futex' rows).
WITH rows AS (
    SELECT h.parent_utid AS putid, h.parent_tid AS ptid,
           h.parent_futex_pid AS futex_pid, h.parent_futex_uaddr AS futex_uaddr,
           h.utid, h.tid, h.state, h.time_ns AS ns, h.blocks
    FROM holder_time h
    WHERE h.depth = 2 AND h.root_global = 1
      AND (:pid IS NULL OR h.root_pid = :pid) AND (:uaddr IS NULL OR h.root_uaddr = :uaddr)
),
total AS (
    SELECT SUM(b.end_ns - b.start_ns) AS ns FROM block b
    WHERE b.is_vcpu = 1 AND b.on_global_lock = 1
      AND (:pid IS NULL OR b.futex_pid = :pid) AND (:uaddr IS NULL OR b.futex_uaddr = :uaddr)
)
SELECT ptid AS holder_tid,
       (SELECT comm FROM thread WHERE utid = putid) AS holder,
       futex_pid AS futex_pid,
       printf('0x%x', futex_uaddr) AS futex,
       futex_uaddr AS futex_uaddr,
       tid AS next_tid,
       (SELECT comm FROM thread WHERE utid = rows.utid) AS next_holder,
       state AS next_state,
       SUM(ns) AS time_ns,
       ROUND(SUM(ns) / 1e6, 3) AS time_ms,
       ROUND(100.0 * SUM(ns) / NULLIF((SELECT ns FROM total), 0), 2) AS pct_of_blocked,
       SUM(blocks) AS blocks
FROM rows
GROUP BY putid, ptid, futex_pid, futex_uaddr, rows.utid, tid, state
ORDER BY time_ns DESC, holder_tid, next_tid
LIMIT COALESCE(:top, 20);
