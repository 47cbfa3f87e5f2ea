/*
 * summary_ref.h - the summary tables the analysis writes as it goes
 * (holder_time, thread_time), computed in SQL from the rows they sum: their
 * definitions in schema/040_analysis.sql written the slow way, for tests,
 * so a test can compare the two (test_truth.c) or fill a hand-made case
 * (report_fixture.h).
 *
 * holder_time: the analysis sums chain rows as it writes them
 * (analyzer/holdsum.c); WC_HOLDER_TIME_REF_SELECT recomputes the same rows
 * from the stored chain, with window functions for the "first row of this
 * holder (or state) in this root block" counts.
 * Columns, in order: root_pid, root_uaddr, root_global, depth, state,
 * utid, tid, parent_utid, parent_tid, parent_futex_pid,
 * parent_futex_uaddr, time_ns, intervals, blocks, holder_blocks,
 * state_blocks.
 */
#ifndef WC_SUMMARY_REF_H
#define WC_SUMMARY_REF_H

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

/* thread_time, from thread_state and block. */
#define WC_THREAD_TIME_COLUMNS \
	"utid, tid, state, runnable_reason, on_global_lock, time_ns, intervals"

#define WC_THREAD_TIME_REF_SELECT \
	"SELECT s.utid, s.tid, s.state, s.runnable_reason," \
	"       CASE WHEN s.state IN ('sleeping', 'blocked_io')" \
	"            THEN COALESCE(b.on_global_lock, 0) ELSE 0 END AS g," \
	"       SUM(s.end_ns - s.start_ns), COUNT(*)" \
	" FROM thread_state s LEFT JOIN block b ON b.id = s.block_id" \
	" GROUP BY s.utid, s.tid, s.state, s.runnable_reason, g"

#endif /* WC_SUMMARY_REF_H */
