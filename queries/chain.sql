-- title: the holder chain of one block, as an indented tree
-- params: :block_id (integer, required: block.id, e.g. from longest_blocks)
-- columns: id — chain.id (tree pre-order); 0 for the root line (the blocked thread itself)
--   depth — 0 = the blocked thread, 1 = holders of its futex, 2 = holders of what they waited on, ...
--   tree — the thread name indented by two spaces per depth (untrusted text)
--   tid — thread at this depth (NULL: unknown holder)
--   state — for depth 0 the block's reason; else 'running', 'preempted', 'runnable', 'futex', 'blocked_io', 'sleeping', 'unknown', 'deadlock'
--   from_ns, to_ns — the interval (ns, capture clock)
--   offset_ns — from_ns minus the block's start (ns)
--   duration_ns — to_ns - from_ns (ns)
--   futex — for depth 0 and 'futex' rows: the futex slept on, hex text
--   sub_block_id — the holder's own block.id for 'futex'/'sleeping'/'blocked_io' rows
--   preempted_by, preempted_by_name — for 'preempted' rows: who ran instead (untrusted name)
--   uncertain — 1 if it overlaps lost events or rests on a fallback
-- Rows come in tree order (ORDER BY chain.id); a row's children follow it
-- with depth + 1.
WITH root AS (SELECT * FROM block WHERE id = :block_id),
rows AS (
    SELECT 0 AS id, 0 AS depth, r.utid, r.tid, r.reason AS state, r.start_ns AS from_ns,
           r.end_ns AS to_ns, r.futex_uaddr, r.id AS sub_block_id, NULL AS preempted_by,
           r.uncertain
    FROM root r
    UNION ALL
    SELECT c.id, c.depth, c.utid, c.tid, c.state, c.from_ns, c.to_ns, c.futex_uaddr,
           c.sub_block_id, c.preempted_by, c.uncertain
    FROM chain c WHERE c.block_id = :block_id
)
SELECT rows.id AS id,
       rows.depth AS depth,
       printf('%*s', 2 * rows.depth, '') ||
           COALESCE((SELECT comm FROM thread WHERE utid = rows.utid), CASE WHEN rows.tid IS NULL THEN '(unknown)' ELSE '' END) AS tree,
       rows.tid AS tid,
       rows.state AS state,
       rows.from_ns AS from_ns,
       rows.to_ns AS to_ns,
       rows.from_ns - (SELECT start_ns FROM root) AS offset_ns,
       rows.to_ns - rows.from_ns AS duration_ns,
       CASE WHEN rows.futex_uaddr IS NOT NULL THEN printf('0x%x', rows.futex_uaddr) END AS futex,
       CASE WHEN rows.depth > 0 THEN rows.sub_block_id END AS sub_block_id,
       rows.preempted_by AS preempted_by,
       CASE WHEN rows.preempted_by IS NOT NULL THEN
           (SELECT comm FROM thread WHERE tid = rows.preempted_by AND COALESCE(start_ns, 0) <= rows.from_ns
            ORDER BY COALESCE(start_ns, 0) DESC LIMIT 1) END AS preempted_by_name,
       rows.uncertain AS uncertain
FROM rows
ORDER BY rows.id;
