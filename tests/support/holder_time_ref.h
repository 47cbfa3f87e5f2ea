/*
 * holder_time_ref.h - holder_time computed in SQL from chain and block:
 * the definition of schema/040_analysis.sql written the slow way, for
 * tests.  The analysis sums chain rows as it writes them
 * (analyzer/holdsum.c); this SELECT recomputes the same rows from the
 * stored chain, with window functions for the "first row of this holder
 * (or state) in this root block" counts, so a test can compare the two
 * (test_truth.c) or fill a hand-made case (report_fixture.h).
 *
 * Columns, in order: root_pid, root_uaddr, root_global, depth, state,
 * utid, tid, parent_utid, parent_tid, parent_futex_pid,
 * parent_futex_uaddr, time_ns, intervals, blocks, holder_blocks,
 * state_blocks.
 */
#ifndef WC_HOLDER_TIME_REF_H
#define WC_HOLDER_TIME_REF_H

#define WC_HOLDER_TIME_COLUMNS \
	"root_pid, root_uaddr, root_global, depth, state, utid, tid," \
	" parent_utid, parent_tid, parent_futex_pid, parent_futex_uaddr," \
	" time_ns, intervals, blocks, holder_blocks, state_blocks"

#define WC_HOLDER_TIME_REF_SELECT \
	"WITH r AS (" \
	"  SELECT b.futex_pid AS root_pid, b.futex_uaddr AS root_uaddr," \
	"         (b.is_vcpu = 1 AND b.on_global_lock = 1) AS root_global," \
	"         c.depth, c.state, c.utid, c.tid," \
	"         CASE WHEN c.depth > 1 THEN p.utid END AS parent_utid," \
	"         CASE WHEN c.depth > 1 THEN c.parent_tid END AS parent_tid," \
	"         CASE WHEN c.depth > 1 THEN p.futex_pid END AS parent_futex_pid," \
	"         CASE WHEN c.depth > 1 THEN p.futex_uaddr END AS parent_futex_uaddr," \
	"         c.block_id, c.id, c.to_ns - c.from_ns AS ns" \
	"  FROM chain c JOIN block b ON b.id = c.block_id" \
	"  LEFT JOIN chain p ON p.id = c.parent_id)," \
	" f AS (" \
	"  SELECT r.*," \
	"         ROW_NUMBER() OVER (PARTITION BY block_id, depth, utid, tid ORDER BY id) = 1 AS first_holder," \
	"         ROW_NUMBER() OVER (PARTITION BY block_id, depth, state ORDER BY id) = 1 AS first_state" \
	"  FROM r)" \
	" SELECT root_pid, root_uaddr, root_global, depth, state, utid, tid," \
	"        parent_utid, parent_tid, parent_futex_pid, parent_futex_uaddr," \
	"        SUM(ns), COUNT(*), COUNT(DISTINCT block_id), SUM(first_holder)," \
	"        SUM(first_state)" \
	" FROM f GROUP BY root_pid, root_uaddr, root_global, depth, state, utid, tid," \
	"        parent_utid, parent_tid, parent_futex_pid, parent_futex_uaddr"

#endif /* WC_HOLDER_TIME_REF_H */
