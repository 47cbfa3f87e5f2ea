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
WITH roots AS (
    SELECT id, end_ns - start_ns AS dur FROM block b WHERE is_vcpu = 1 AND on_global_lock = 1
      AND (:pid IS NULL OR b.futex_pid = :pid) AND (:uaddr IS NULL OR b.futex_uaddr = :uaddr)
),
rows AS (
    SELECT p.utid AS putid, p.tid AS ptid, p.futex_pid, p.futex_uaddr,
           c.utid, c.tid, c.state, c.block_id, c.to_ns - c.from_ns AS ns
    FROM chain c
    JOIN chain p ON p.id = c.parent_id
    JOIN roots r ON r.id = c.block_id
    WHERE c.depth = 2 AND p.state = 'futex'
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
       ROUND(100.0 * SUM(ns) / NULLIF((SELECT SUM(dur) FROM roots), 0), 2) AS pct_of_blocked,
       COUNT(DISTINCT block_id) AS blocks
FROM rows
GROUP BY putid, ptid, futex_pid, futex_uaddr, rows.utid, tid, state
ORDER BY time_ns DESC, holder_tid, next_tid
LIMIT COALESCE(:top, 20);
