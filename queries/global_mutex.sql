-- title: the global mutex (QEMU's BQL) of each process with vCPU threads
-- params: none
-- columns: pid — process owning the futex
--   process — name of that process (the comm of its main thread, tid = pid; untrusted text)
--   address — futex word, hex text ('0x...')
--   uaddr — the same address as an integer
--   symbol — symbol of the address when known
--   chosen_by — 'auto' (detected) or '--lock' (given by the user)
--   share_pct — its share of the vCPU threads' futex-blocked time (%)
--   blocked_ns, blocked_ms — vCPU time asleep on it (ns, ms)
--   blocks — vCPU blocks on it
--   waiters — distinct threads that slept on it (any thread; futex_object)
--   vcpu_waiters — distinct vCPU threads that slept on it
--   wake_calls — wake calls on it (futex_object)
--   top_holder_tid, top_holder — the thread that held it longest while vCPUs waited (from chain depth 1)
--   top_holder_ns — how long it held it while vCPUs waited, summed over waiting vCPUs (ns)
--   top_holder_pct — top_holder_ns as % of blocked_ns
-- One row per global_lock row (normally one: one QEMU process).  Holding
-- time is vCPU-weighted: when two vCPUs wait on the same holder at the same
-- time, that time counts twice, exactly as blocked_ns does.
-- Holding times come from holder_time (chain rows of depth 1 summed by the
-- analysis), the same sums as over chain joined to block.
WITH held AS (
    SELECT h.root_pid AS pid, h.root_uaddr AS uaddr, h.utid, h.tid,
           SUM(h.time_ns) AS ns
    FROM holder_time h
    WHERE h.depth = 1 AND h.root_global = 1 AND h.tid IS NOT NULL
    GROUP BY h.root_pid, h.root_uaddr, h.utid, h.tid
),
ranked AS (
    SELECT held.*, ROW_NUMBER() OVER (PARTITION BY pid, uaddr ORDER BY ns DESC, tid) AS rn
    FROM held
)
SELECT g.pid AS pid,
       (SELECT comm FROM thread WHERE tid = g.pid ORDER BY utid LIMIT 1) AS process,
       printf('0x%x', g.futex_uaddr) AS address,
       g.futex_uaddr AS uaddr,
       g.symbol AS symbol,
       g.chosen_by AS chosen_by,
       ROUND(100.0 * g.share, 2) AS share_pct,
       g.blocked_ns AS blocked_ns,
       ROUND(g.blocked_ns / 1e6, 3) AS blocked_ms,
       g.nblocks AS blocks,
       f.waiters AS waiters,
       f.vcpu_waiters AS vcpu_waiters,
       f.wake_calls AS wake_calls,
       r.tid AS top_holder_tid,
       (SELECT comm FROM thread WHERE utid = r.utid) AS top_holder,
       r.ns AS top_holder_ns,
       ROUND(100.0 * r.ns / NULLIF(g.blocked_ns, 0), 2) AS top_holder_pct
FROM global_lock g
LEFT JOIN futex_object f ON f.pid IS g.pid AND f.uaddr = g.futex_uaddr
LEFT JOIN ranked r ON r.pid IS g.pid AND r.uaddr = g.futex_uaddr AND r.rn = 1
ORDER BY g.blocked_ns DESC, g.pid;
