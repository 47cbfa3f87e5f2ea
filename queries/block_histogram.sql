-- title: histogram of vCPU block durations on the global mutex, log2 buckets, per vCPU
-- params: none
-- columns: tid, name — vCPU thread (untrusted name)
--   bucket — k: the bucket holds durations in [2^k, 2^(k+1)) ns; k = 0 also holds 0
--   lo_ns, hi_ns — bucket bounds (ns; hi exclusive)
--   label — the lower bound in readable units, 3 significant digits ('8.19us', '1.05ms', ...)
--   blocks — blocks in the bucket
--   total_ns — their summed duration (ns)
--   pct_blocks — blocks as % of the vCPU's global-mutex blocks
-- Only non-empty buckets are listed.  Bimodal shapes are common: short
-- waits for other vCPUs' quick critical sections and long ones behind the
-- main loop's I/O.
WITH RECURSIVE b2(k, lo) AS (
    SELECT 0, 1 UNION ALL SELECT k + 1, lo * 2 FROM b2 WHERE k < 61
),
blk AS (
    SELECT utid, tid, end_ns - start_ns AS dur FROM block
    WHERE is_vcpu = 1 AND on_global_lock = 1
),
tot AS (SELECT utid, COUNT(*) AS n FROM blk GROUP BY utid),
hit AS (
    SELECT blk.utid, blk.tid, blk.dur, b2.k, b2.lo
    FROM blk JOIN b2 ON (blk.dur >= b2.lo OR b2.k = 0) AND blk.dur < b2.lo * 2
)
SELECT hit.tid AS tid,
       (SELECT comm FROM thread WHERE utid = hit.utid) AS name,
       hit.k AS bucket,
       CASE WHEN hit.k = 0 THEN 0 ELSE hit.lo END AS lo_ns,
       hit.lo * 2 AS hi_ns,
       CASE WHEN hit.k = 0 THEN '0ns'
            WHEN hit.lo >= 1000000000 THEN printf('%.3gs', hit.lo / 1e9)
            WHEN hit.lo >= 1000000 THEN printf('%.3gms', hit.lo / 1e6)
            WHEN hit.lo >= 1000 THEN printf('%.3gus', hit.lo / 1e3)
            ELSE printf('%dns', hit.lo) END AS label,
       COUNT(*) AS blocks,
       SUM(hit.dur) AS total_ns,
       ROUND(100.0 * COUNT(*) / tot.n, 2) AS pct_blocks
FROM hit JOIN tot ON tot.utid = hit.utid
LEFT JOIN vcpu v ON v.utid = hit.utid
GROUP BY hit.utid, hit.tid, hit.k
ORDER BY COALESCE(v.vcpu_index, 1 << 30), hit.tid, hit.k;
