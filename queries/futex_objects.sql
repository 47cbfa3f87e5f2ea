-- title: every futex word threads slept on, with what the lock detector saw
-- params: :top (integer, default 50: rows shown)
-- columns: pid — process owning the futex
--   futex — the futex word, hex text
--   uaddr — the same as an integer
--   kind — 'mutex', 'condvar', 'other'
--   is_global — 1 if it is the global mutex of its process
--   waiters, vcpu_waiters — distinct threads (vCPU threads) that slept on it
--   wakers — distinct threads that called a wake on it
--   blocks — times a thread slept on it
--   blocked_ns, blocked_ms — total sleep time on it (ns, ms)
--   vcpu_blocked_ns — the same, vCPU threads only (ns)
--   wait_calls, wake_calls — wait and wake system calls on it
-- Sorted by vCPU-blocked time then total blocked time: the global mutex is
-- normally first; per-vCPU halt condition variables follow.
SELECT f.pid AS pid,
       printf('0x%x', f.uaddr) AS futex,
       f.uaddr AS uaddr,
       f.kind AS kind,
       EXISTS (SELECT 1 FROM global_lock g WHERE g.pid IS f.pid AND g.futex_uaddr = f.uaddr) AS is_global,
       f.waiters AS waiters,
       f.vcpu_waiters AS vcpu_waiters,
       f.wakers AS wakers,
       f.blocks AS blocks,
       f.blocked_ns AS blocked_ns,
       ROUND(f.blocked_ns / 1e6, 3) AS blocked_ms,
       f.vcpu_blocked_ns AS vcpu_blocked_ns,
       f.wait_calls AS wait_calls,
       f.wake_calls AS wake_calls
FROM futex_object f
ORDER BY f.vcpu_blocked_ns DESC, f.blocked_ns DESC, f.pid, f.uaddr
LIMIT COALESCE(:top, 50);
