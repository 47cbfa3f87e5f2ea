/*
 * tidmap.h - the one rule that turns kernel tids into utids.
 *
 * Kernel tids are reused, so the database keys threads by utid (thread
 * table).  The writer (src/db_writer.c) and the analyzer must agree on
 * the mapping, so both use this code:
 *
 *   1. Events are visited in seq order.  For each event, the tids it
 *      mentions are visited in this order (WC_TIDMAP_ORDER):
 *        every event      its context tid (sched_switch.tid,
 *                          sched_waking.waker_tid, futex.tid, ...), if >= 0
 *        sched_switch     prev_tid, then next_tid
 *        sched_waking/
 *        sched_wakeup/
 *        sched_wakeup_new tid (the woken task)
 *        sched_process_fork parent_tid, then child_tid by wc_tidmap_fork()
 *        sched_process_exit, task_rename  tid
 *      Events of kinds waitchain does not store (only counted in
 *      event_count) mention nothing.
 *   2. A tid seen for the first time gets the next utid (1, 2, 3, ...):
 *      utids are numbered in order of first appearance.
 *   3. sched_process_fork of a child_tid that already has a utid gives
 *      that tid a NEW utid (the tid was reused): later mentions of the
 *      tid map to the new one.  A fork of an unseen child is rule 2.
 *   4. Threads known only from names (trace.dat saved cmdlines, perf COMM
 *      records of threads that never run in the capture) get utids after
 *      every event has been visited, in order of first observation.
 *
 * So thread.start_seq (the seq of the event that created the utid) and
 * tid fully determine the mapping: the utid of tid T at seq S is the
 * thread row with tid = T and the greatest start_seq <= S (or, when S
 * precedes every row of T, the row of T with the smallest start_seq).
 * wc_tidmap_at() answers exactly that from a loaded map.
 *
 * Memory: one hash slot per distinct tid plus one history entry per utid.
 */
#ifndef WAITCHAIN_TIDMAP_H
#define WAITCHAIN_TIDMAP_H

#include <stdint.h>

struct wc_tidmap;

/* A new empty map, or NULL when out of memory. Free with wc_tidmap_free(). */
struct wc_tidmap *wc_tidmap_new(void);
/* Frees MAP; accepts NULL. */
void wc_tidmap_free(struct wc_tidmap *map);

/*
 * Rule 1/2: the current utid of TID, creating one (at SEQ) when TID is
 * new; *created (may be NULL) says which.  Returns the utid (>= 1), or -1
 * when out of memory.
 */
int64_t wc_tidmap_get(struct wc_tidmap *map, int32_t tid, uint64_t seq,
		      int *created);

/* Rule 3: the utid of CHILD_TID after a sched_process_fork at SEQ: always
 * a new utid if CHILD_TID is known.  -1 when out of memory. */
int64_t wc_tidmap_fork(struct wc_tidmap *map, int32_t child_tid,
		       uint64_t seq, int *created);

/* Current utid of TID without creating one, or 0 if TID is unknown. */
int64_t wc_tidmap_lookup(const struct wc_tidmap *map, int32_t tid);

/* Number of utids handed out (the largest utid). */
int64_t wc_tidmap_count(const struct wc_tidmap *map);

/*
 * Loading a finished mapping (e.g. from `SELECT utid, tid, start_seq FROM
 * thread ORDER BY utid`): adds UTID for TID starting at START_SEQ.  Rows
 * must come in utid order.  0 or -1 when out of memory.
 */
int wc_tidmap_add(struct wc_tidmap *map, int64_t utid, int32_t tid,
		  uint64_t start_seq);

/* The utid of TID at SEQ by the start_seq rule above, or 0 if unknown. */
int64_t wc_tidmap_at(const struct wc_tidmap *map, int32_t tid, uint64_t seq);

#endif /* WAITCHAIN_TIDMAP_H */
