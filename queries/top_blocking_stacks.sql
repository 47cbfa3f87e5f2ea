-- title: the stacks at which vCPU threads went to sleep in futex waits: count, blocked time, frames
-- params: :top (integer, default 10: rows shown); :global_only (integer, default 0; 1 = only blocks on the global mutex)
-- columns: frames — the frames, innermost first, joined by ' <- ' (kernel frames then user frames; untrusted text).  A frame is its symbol; without one, a kernel frame shows its address '0x...', a user frame 'DSO+0xOFFSET' when the binary is known, else '[unknown]'
--   stack_id — one stack.id with these frames (the smallest), for looking at its raw addresses
--   stacks — distinct recorded stacks merged into this row (same frames, different unresolved addresses)
--   blocks — vCPU futex blocks that went to sleep with these frames
--   global_blocks — how many of them waited on the global mutex
--   blocked_ns, blocked_ms — their summed duration (ns, ms)
--   pct_of_futex_blocked — blocked_ns as % of all vCPU futex-blocked time (of the selected blocks)
-- The stack is the one recorded with the switch-out (block.stack_id).
-- Rows group stacks by their printed frames, so user addresses that differ
-- only because they could not be symbolized do not split one code path.
-- Typical QEMU global-mutex stack: futex_wait_queue <- futex_wait <-
-- do_futex ... <- __lll_lock_wait (user stacks stop there without frame
-- pointers).  Kernel frames of perf.data captures are addresses unless the
-- import was given kallsyms (--kallsyms).  Blocks without a recorded stack
-- are left out.
WITH blk AS (
    SELECT stack_id, on_global_lock, end_ns - start_ns AS dur FROM block
    WHERE is_vcpu = 1 AND reason = 'futex'
      AND (COALESCE(:global_only, 0) = 0 OR on_global_lock = 1)
),
st AS (SELECT DISTINCT stack_id FROM blk WHERE stack_id IS NOT NULL ORDER BY stack_id),
fr AS (
    SELECT st.stack_id,
           (SELECT group_concat(f, ' <- ') FROM
               (SELECT COALESCE(symbol,
                                CASE WHEN is_kernel = 1 THEN printf('0x%x', ip)
                                     WHEN dso IS NOT NULL THEN printf('%s+0x%x', dso, dso_offset)
                                     ELSE '[unknown]' END) AS f
                FROM stack_frame WHERE stack_id = st.stack_id ORDER BY depth)) AS frames
    FROM st
)
SELECT fr.frames AS frames,
       MIN(blk.stack_id) AS stack_id,
       COUNT(DISTINCT blk.stack_id) AS stacks,
       COUNT(*) AS blocks,
       SUM(blk.on_global_lock) AS global_blocks,
       SUM(blk.dur) AS blocked_ns,
       ROUND(SUM(blk.dur) / 1e6, 3) AS blocked_ms,
       ROUND(100.0 * SUM(blk.dur) / NULLIF((SELECT SUM(dur) FROM blk), 0), 2) AS pct_of_futex_blocked
FROM blk JOIN fr ON fr.stack_id = blk.stack_id
GROUP BY fr.frames
ORDER BY blocked_ns DESC, stack_id
LIMIT COALESCE(:top, 10);
