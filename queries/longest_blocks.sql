-- title: the longest blocks of vCPU threads, with the holder at sleep time and the waker
-- params: :top (integer, default 20: rows shown); :global_only (integer, default 0; 1 = only blocks on the global mutex)
-- columns: block_id — block.id (give it to the chain query)
--   tid, name — the blocked vCPU thread (untrusted name)
--   start_ns — when it went to sleep (ns, capture clock)
--   at_ms — the same, in ms since the first event of the capture (capture.first_ts)
--   duration_ns, duration_ms — switch-out to wakeup (ns, ms)
--   reason — 'futex', 'io', 'sleep', 'other'
--   futex — futex word slept on, hex text (NULL if not a futex block)
--   on_global_lock — 1 if it waited on the global mutex
--   holder_tid, holder — holder at sleep time (block_holder seq 1; NULL: unknown)
--   holder_certainty — 'exact', 'no_release', 'not_a_lock', 'truncated'
--   holders — how many successive holders it slept across
--   waker_tid, waker — thread whose wakeup ended the block (NULL: never woken)
--   wakeup_latency_ns — wakeup to switch-in (ns; NULL if not seen)
--   uncertain — 1 if the block overlaps lost events or rests on a fallback
SELECT b.id AS block_id,
       b.tid AS tid,
       (SELECT comm FROM thread WHERE utid = b.utid) AS name,
       b.start_ns AS start_ns,
       ROUND((b.start_ns - COALESCE((SELECT CAST(value AS INTEGER) FROM capture WHERE key = 'first_ts'), 0)) / 1e6, 3) AS at_ms,
       b.end_ns - b.start_ns AS duration_ns,
       ROUND((b.end_ns - b.start_ns) / 1e6, 3) AS duration_ms,
       b.reason AS reason,
       CASE WHEN b.futex_uaddr IS NOT NULL THEN printf('0x%x', b.futex_uaddr) END AS futex,
       b.on_global_lock AS on_global_lock,
       h.holder_tid AS holder_tid,
       (SELECT comm FROM thread WHERE utid = h.holder_utid) AS holder,
       h.certainty AS holder_certainty,
       (SELECT COUNT(*) FROM block_holder WHERE block_id = b.id) AS holders,
       b.waker_tid AS waker_tid,
       CASE WHEN b.waker_utid IS NOT NULL THEN (SELECT comm FROM thread WHERE utid = b.waker_utid)
            WHEN b.waker_tid IS NOT NULL THEN (SELECT comm FROM thread WHERE tid = b.waker_tid ORDER BY utid DESC LIMIT 1) END AS waker,
       b.switch_in_ns - b.wakeup_ns AS wakeup_latency_ns,
       b.uncertain AS uncertain
-- the longest blocks first, their holders after: only the top rows are
-- looked up in block_holder
FROM (SELECT * FROM block
      WHERE is_vcpu = 1 AND (COALESCE(:global_only, 0) = 0 OR on_global_lock = 1)
      ORDER BY end_ns - start_ns DESC, id
      LIMIT COALESCE(:top, 20)) b
LEFT JOIN block_holder h ON h.block_id = b.id AND h.seq = 1
ORDER BY duration_ns DESC, b.id;
