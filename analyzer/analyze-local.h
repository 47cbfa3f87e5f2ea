/*
 * analyze-local.h - internals shared by the analyzer's files.
 *
 * The analysis runs in three steps over one read-write database, inside
 * one transaction (analyze.c drives them):
 *
 *   1. prepass   (analyze.c)  threads + names -> struct athread array,
 *                             vCPU detection, process inference for
 *                             captures without tgids (union-find over
 *                             shared futex words, fork parentage);
 *                (locks.c)    one scan of the futex calls: every word's
 *                             kind, and an estimate of the global mutex;
 *   2. pass 1    (timeline.c) one k-way merge of the event tables by seq
 *                             (evsrc.c: native scans of the columnar
 *                             tables): per-thread state machines append
 *                             thread_state, block, block_holder,
 *                             lock_wait, vcpu_switch, vcpu_slice
 *                             (awrite.c: columnar writers), and chain
 *                             (chain.c) when a block ends, from each
 *                             thread's recent past (history.c);
 *   3. locks     (locks.c)    the exact global mutex per vCPU process
 *                             (pass 1 again if the estimate was wrong),
 *                             futex_object, global_lock.
 *
 * Memory is bounded by threads + distinct futex words + the holder list
 * of each wait call in progress + each thread's bounded history, never
 * by the number of events.
 */
#ifndef WC_ANALYZE_LOCAL_H
#define WC_ANALYZE_LOCAL_H

#include <assert.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "waitchain/analyze.h"
#include "waitchain/coltab.h"
#include "waitchain/error.h"
#include "waitchain/tidmap.h"
#include "waitchain/util.h"

/* --- a hash map with two 64-bit key words (amap.c) ------------------------ */

struct amap_slot {
	uint64_t a, b;		/* key */
	void *val;		/* NULL = empty slot */
};

struct amap {
	struct amap_slot *slots;
	size_t cap, n;		/* cap is 0 or a power of two */
};

/* Value stored for (A, B), or NULL. */
void *amap_get(const struct amap *m, uint64_t a, uint64_t b);
/* Stores VAL (non-NULL) for (A, B), replacing any value. 0 or -WC_ENOMEM. */
int amap_put(struct amap *m, uint64_t a, uint64_t b, void *val);
/* Frees the table (not the values); the map is empty and reusable. */
void amap_free(struct amap *m);

/* A set of utids with a count per member (sorted array, binary search). */
struct uset {
	int64_t *id;
	uint64_t *count;
	size_t n, cap;
};

/* Adds ID (count += 1). 0 or -WC_ENOMEM. */
int uset_add(struct uset *s, int64_t id);
/* Index of ID or -1. */
long uset_find(const struct uset *s, int64_t id);
void uset_free(struct uset *s);

/* --- futex commands ---------------------------------------------------------- */

/* 1 if CMD (op & 0x7f, or WC_FUTEX_WAITV) may put the caller to sleep on
 * uaddr: WAIT, WAIT_BITSET, LOCK_PI, LOCK_PI2, WAIT_REQUEUE_PI, WAITV. */
int futex_cmd_is_wait(int cmd);
/* 1 if CMD releases/wakes waiters of uaddr: WAKE, WAKE_BITSET, WAKE_OP,
 * UNLOCK_PI, REQUEUE, CMP_REQUEUE, CMP_REQUEUE_PI. */
int futex_cmd_is_wake(int cmd);

/* --- futex objects (one per (pid, uaddr) seen in a futex call) -------------- */

struct athread;

struct fobj {
	int64_t pid;		/* process (-1 unknown) */
	uint64_t uaddr;
	struct athread *whead, *wtail;	/* wait calls in progress, entry order */
	struct uset waiters;	/* threads that slept on it (count = blocks) */
	struct uset callers;	/* threads that called a wait on it */
	struct uset wakers;	/* threads that called a wake (count = calls) */
	uint64_t vcpu_waiters;	/* computed at the end */
	uint64_t blocks, vcpu_blocks;
	uint64_t blocked_ns, vcpu_blocked_ns;
	uint64_t wait_calls, wake_calls;
	uint64_t wait_plain;	/* FUTEX_WAIT / futex_wait(2) */
	uint64_t wait_bitset;	/* FUTEX_WAIT_BITSET, WAIT_REQUEUE_PI, waitv */
	uint64_t wait_pi;	/* LOCK_PI, LOCK_PI2 */
	uint64_t wake_one;	/* wakes of exactly 1 waiter, UNLOCK_PI */
	uint64_t wake_many;	/* wakes of > 1 waiter (broadcast) */
	/* the last thread that returned from a wait on it and has not called
	 * a futex operation on it since: it probably acquired the lock and
	 * still holds it (used only to name the holder of sleeps still in
	 * progress at the end of the capture) */
	struct athread *owner_guess;
	const char *kind;	/* 'mutex', 'condvar', 'other' (locks_prepass) */
	int is_root;		/* its blocks get holder chains (locks_prepass) */
	uint64_t spec_vcpu_ns;	/* vCPU time inside wait calls on it (prepass) */
	uint64_t spec_vcpu_callers;	/* vCPU threads that called a wait */
	int is_global;
};

/* --- threads ---------------------------------------------------------------- */

enum tstate {
	TS_NONE,		/* no event mentioned it yet */
	TS_UNKNOWN,		/* timeline started, nothing told the state */
	TS_RUNNING,
	TS_RUNNABLE,
	TS_SLEEPING,
	TS_BLOCKED_IO,
	TS_DEAD,
};

/* thread_time's slots: a thread_state row's state, whether a runnable
 * one was woken, whether a sleeping one is on a global mutex. */
#define TT_SLOT(st, woken, global) ((st) * 4 + !!(woken) * 2 + !!(global))
#define TT_SLOTS TT_SLOT(TS_DEAD + 1, 0, 0)
/* ... and back */
#define TT_SLOT_STATE(slot) ((slot) / 4)
#define TT_SLOT_WOKEN(slot) (((slot) >> 1) & 1)
#define TT_SLOT_GLOBAL(slot) ((slot) & 1)

/* One release seen while a wait call was in progress. */
struct holder_ent {
	int32_t tid;
	int64_t utid;
	uint64_t ts;		/* enter of its wake call */
	int64_t futex_id;	/* that call */
	int is_waker;		/* its call woke the waiter */
};

/* One holder row of a block, as block_holder has it (chain input). */
struct hrow {
	int32_t tid;
	int64_t utid;		/* 0 = unknown holder */
	uint64_t from, to;
	int exact;		/* certainty 'exact' */
};

/* A closed thread_state interval, as written (history.c). */
struct hstate {
	uint64_t start, end;
	int64_t block_id;	/* -1 NULL */
	int32_t cpu;		/* -1 NULL */
	int32_t preempted_by;	/* -1 NULL */
	uint8_t state;		/* enum tstate */
	uint8_t woken;		/* runnable_reason 'woken' */
	uint8_t uncertain;	/* the row's uncertain column */
};

/* A flushed futex block and its holder rows (history.c). */
struct hblock {
	int64_t id;
	uint64_t end;
	uint64_t uaddr;
	int64_t pid;		/* -1 NULL */
	int expand;		/* its word is not a condition variable */
	struct hrow *h;		/* owned */
	size_t nh;
};

/* A thread's recent past: rings of states and futex blocks. */
struct hist {
	struct hstate *s;
	size_t scap, shead, sn;
	uint64_t s_evicted_end;	/* states ending before this were dropped at the cap */
	struct hblock *b;
	size_t bcap, bhead, bn;
	int64_t b_evicted_id;	/* blocks up to this id were dropped at the cap */
};

/* The block (sleep) a thread is in or just left, written when final. */
struct ablock {
	int64_t id;		/* provisional (start order); block.id is given
				 * when the row is written (block_flush) */
	uint64_t start_ns, end_ns;
	char state[16];		/* prev_state_str, '?' when started before the capture */
	const char *reason;	/* 'futex', 'io', 'sleep', 'other' */
	int has_futex;
	int64_t futex_id;
	int uaddr_known;
	uint64_t uaddr;
	struct fobj *obj;	/* key, when known */
	int cmd;		/* -1 unknown */
	int woken;		/* wakeup seen */
	int waker_known;
	int32_t waker_tid;
	int64_t waker_utid;
	uint64_t wakeup_ns;
	const char *wsrc;	/* 'sched_waking', 'sched_wakeup', NULL */
	int switched_in;
	uint64_t switch_in_ns;
	int64_t stack_id;	/* -1 none */
	int64_t switch_seq;	/* -1 none */
	int64_t lock_wait_id;	/* -1 none */
	int uncertain;
	int unknown_start;	/* asleep when the capture started */
	int truncated;		/* capture ended while asleep */
};

struct athread {
	int64_t utid;
	int32_t tid;
	int64_t pid;		/* -1 unknown */
	int pid_from_capture;	/* thread.pid_source = 'capture' */
	char *comm;		/* last known name (owned) */
	int is_vcpu;
	int vcpu_index;		/* -1 if the name has none */
	char accel[16];
	char *vcpu_name;	/* the name that matched the pattern (owned) */
	uint64_t start_seq;
	int32_t parent_tid;	/* -1 unknown */
	int has_futex_ops;

	/* pass 1: timeline */
	int state;		/* enum tstate */
	uint64_t state_start;
	int32_t state_cpu;
	int runnable_woken;	/* TS_RUNNABLE: 1 woken, 0 preempted */
	int32_t preempted_by;
	int64_t state_block;	/* -1 none */
	int informed;		/* some event told its state */
	int exited;		/* sched_process_exit seen */

	/* futex call in progress */
	int in_call;
	int64_t call_id;
	int call_cmd;
	int call_wait, call_wake;
	uint64_t call_enter_ns;
	struct fobj *call_obj, *call_obj2;
	int call_woken;		/* the wait was woken: holder list closed */
	int call_waker_idx;	/* index in hold of the release that woke it, -1 */
	struct athread *wnext, *wprev;	/* in call_obj's wait list */
	int in_wlist;
	struct holder_ent *hold;	/* releases during the current wait */
	size_t nhold, caphold;

	/* a wakeup that arrived while it was still on CPU (cross-CPU race) */
	int pw_valid;
	uint64_t pw_ts;
	int32_t pw_tid;
	int64_t pw_utid;
	const char *pw_src;
	int pw_uncertain;

	int has_blk;
	struct ablock blk;
	/* rows that name the pending block, written when it gets its id */
	struct hstate *pend;	/* thread_state rows */
	size_t npend, cappend;
	int has_pvs;		/* a vcpu_switch row */
	struct pvswitch {
		uint64_t ts;
		int64_t seq, stack_id;
		const char *reason, *evidence;
		char *state_str;	/* owned */
	} pvs;
	int64_t last_tmp, last_id;	/* the last block written: provisional, final id */
	int last_global;	/* ... is a futex block on a global mutex */
	/* thread_time: ns and rows of its thread_state rows, by
	 * TT_SLOT(state, woken, on_global_lock) */
	uint64_t tt_ns[TT_SLOTS], tt_n[TT_SLOTS];

	/* lock_wait group in progress */
	int lw_open;
	int64_t lw_id;
	struct fobj *lw_obj;
	uint64_t lw_start, lw_end;
	int lw_end_known;
	int lw_nblocks, lw_ncalls;

	int has_uexit;
	uint64_t last_uexit_ns;	/* last kvm_userspace_exit */

	struct hist hist;	/* for chains (history.c) */
};

/* --- lost-event intervals ---------------------------------------------------- */

struct lost_iv {
	uint64_t from, to;
};

/* --- a table read in key order (evsrc.c; functions below) --- */

#define EVSRC_MAX_COLS 16

struct wc_coltab_scan;

/* One table read row by row in key order: a native chunk scan of a
 * columnar table, or an SQL query of an ordinary one.  Values are
 * addressed by their position in the column list given to evsrc_open(). */
struct evsrc {
	const char *table;	/* a literal */
	int ncols;
	int has_row;		/* the current row is valid */
	sqlite3_stmt *st;	/* ordinary table */
	struct wc_coltab_scan *scan;	/* columnar table */
	int map[EVSRC_MAX_COLS];	/* list position -> table column */
	uint32_t n, row;	/* rows of the current chunk, current row */
	const int64_t *v[EVSRC_MAX_COLS];
	const uint8_t *nl[EVSRC_MAX_COLS];
};

/* --- the analysis context ---------------------------------------------------- */

struct actx {
	sqlite3 *db;
	const char *path;
	struct wc_error *err;
	const struct wc_analyze_options *opt;
	int depth_limit;

	struct athread **thr;	/* by utid (NULL holes) */
	int64_t max_utid;
	size_t nthreads;
	struct wc_tidmap *tidmap;
	uint64_t unknown_tid_events;

	struct amap fobjs;	/* (pid, uaddr) -> struct fobj */

	struct lost_iv *lost;	/* merged, sorted */
	size_t nlost;
	uint64_t lost_untimed;	/* events lost at unknown times */

	int has_waking, has_wakeup, has_futex, has_stacks;
	int inferred_pids;	/* 1 if pids were inferred (trace.dat) */
	int started;
	uint64_t t0, t1;	/* first and last event */
	uint64_t nevents;
	uint64_t total_events;

	int64_t next_block_id;	/* block.id: numbered when written */
	int64_t next_tmp_block;	/* ablock.id: numbered when the sleep starts */
	int64_t next_lw_id, next_chain_id;
	uint8_t *cpu_seen;
	size_t ncpu_seen;

	/* counters for warnings */
	uint64_t n_unknown_start, n_no_wakeup, n_fallback, n_deadlock;
	uint64_t n_open_at_end, n_chain_rows, n_chain_blocks;
	uint64_t n_blocks, n_futex_blocks, n_state_rows;
	uint64_t n_hist_evicted;	/* chain pieces whose history was dropped */

	/* history.c: what chains may still ask for ends after the horizon */
	uint64_t horizon;
	size_t hist_max_states;	/* per thread (hist_cap_from_env()) */
	int pass1_runs;		/* 2 when the global mutex estimate was wrong */
	int defer_chains;	/* end of capture: roots queued, not expanded */
	struct hroot *deferred;
	size_t ndeferred, capdeferred;
	struct chainw *chain;	/* chain.c's writer state */
	struct hsum *hsum;	/* holdsum.c: chain rows summed */

	/* global mutexes imposed on pass 1 (a rerun after a wrong estimate) */
	struct { int64_t pid; uint64_t uaddr; } *forced_globals;
	size_t nforced;

	struct wc_buf warnings;	/* one per line */
	uint64_t phase_ns[3];	/* cumulative: prepass, pass 1, locks */

	struct amap evidence;	/* stack_id -> static evidence string */
	sqlite3_stmt *q_frames;	/* frames of one stack (stacks passed by frames) */
	struct evsrc frames;	/* forward scan of stack_frame (stack_id, symbol) */

	/* pass 1 writers (awrite.c) */
	struct awriter *w_state, *w_holder, *w_block, *w_lw;
	struct awriter *w_vswitch, *w_vslice;
};

/* Returned by locks_run() when pass 1 must run again (with
 * c->forced_globals): not an error. */
#define ACTX_RERUN 1

/* Adds a line to analysis.warnings (printf-style). 0 or -WC_ENOMEM. */
int actx_warn(struct actx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Records an SQLite error about WHAT and returns -WC_EDB. */
int actx_dberr(struct actx *c, const char *what);
/* 1 if [FROM, TO] overlaps a lost-events interval. */
int actx_lost_overlaps(const struct actx *c, uint64_t from, uint64_t to);
/* The thread of TID at SEQ, or NULL (tid 0 / unknown tid). */
struct athread *actx_thread_find(const struct actx *c, int32_t tid,
				 uint64_t seq);
/* The same, counting the mentions of unknown tids (for a warning): what
 * pass 1 uses, once per event. */
struct athread *actx_thread_at(struct actx *c, int32_t tid, uint64_t seq);
/* The array V of *CAP elements of SIZE bytes, grown (doubling, at least
 * 8) to hold at least NEED: the array to use from now on, or NULL when
 * out of memory (err filled; V is still valid and owned by the caller). */
void *actx_reserve(struct actx *c, void *v, size_t *cap, size_t need,
		   size_t size);
/* The futex object of (PID, UADDR), created when CREATE. NULL: ENOMEM or
 * absent. */
struct fobj *actx_fobj(struct actx *c, int64_t pid, uint64_t uaddr,
		       int create);

/* Binds an int64, or NULL when IS_NULL. */
static inline int bind_i64(sqlite3_stmt *st, int i, int64_t v, int is_null)
{
	return is_null ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, v);
}
/* Steps an INSERT/UPDATE once and resets it; 0 or -WC_EDB. */
int actx_step_reset(struct actx *c, sqlite3_stmt *st, const char *what);

/* --- appending rows to the analysis tables (awrite.c) ---------------------- */

#define AWR_MAX_COLS 24

struct awriter {
	const char *table;		/* a literal */
	int ncols;
	int map[AWR_MAX_COLS];		/* list position -> table column */
	struct wc_coltab_writer *w;
};

/* *OUT: a writer of rows of the columnar TABLE setting the NCOLS
 * comma-separated columns COLS (literals); a column left unset in a row
 * is NULL (a hidden key gets the next number).  0 or an error. */
int awr_new(struct actx *c, struct awriter **out, const char *table,
	    const char *cols, int ncols);
/* Column COL (1-based in COLS) of the row being built. */
static inline void awr_int(struct awriter *w, int col, int64_t v)
{
	assert(col >= 1 && col <= w->ncols);
	wc_coltab_set_int(w->w, w->map[col - 1], v);
}
static inline void awr_i64(struct awriter *w, int col, int64_t v, int is_null)
{
	if (!is_null)
		awr_int(w, col, v);
}
/* Text column COL (copied; NULL leaves it NULL).  0 or an error. */
int awr_text(struct actx *c, struct awriter *w, int col, const char *s);
/* The same for S of static storage that never changes (a literal):
 * cheaper, same bytes. */
int awr_static(struct actx *c, struct awriter *w, int col, const char *s);
/* Appends the row and starts the next one.  0 or an error. */
int awr_row(struct actx *c, struct awriter *w);
/* Writes the rows still in the open chunk (before anything reads the
 * table).  0 or an error. */
int awr_flush(struct actx *c, struct awriter *w);
/* Frees W (NULL is fine); rows not flushed are dropped. */
void awr_free(struct awriter *w);

/* --- reading event tables (evsrc.c) ----------------------------------------- */

/* (struct evsrc: see above, before struct actx) */

/* Opens S on TABLE (a literal) for the columns COLS[0..NCOLS) (names, or
 * SQL expressions for an ordinary table); no row is current until
 * evsrc_next().  0 or an error. */
int evsrc_open(struct actx *c, struct evsrc *s, const char *table,
	       const char *const *cols, int ncols);
/* Moves to the next row: s->has_row is 0 at the end.  0 or an error. */
int evsrc_next(struct actx *c, struct evsrc *s);
/* Value I of the current row: NULL?, integer (DEFLT when NULL), text
 * (NULL when NULL; valid until the next evsrc_next()). */
int evsrc_sql_null(const struct evsrc *s, int i);
int64_t evsrc_sql_i64(const struct evsrc *s, int i, int64_t deflt);
const char *evsrc_text(const struct evsrc *s, int i);
static inline int evsrc_null(const struct evsrc *s, int i)
{
	return s->scan ? s->nl[i][s->row] != 0 : evsrc_sql_null(s, i);
}
static inline int64_t evsrc_i64(const struct evsrc *s, int i, int64_t deflt)
{
	if (s->scan)
		return s->nl[i][s->row] ? deflt : s->v[i][s->row];
	return evsrc_sql_i64(s, i, deflt);
}
/* Frees what S holds; S may be all zeroes. */
void evsrc_close(struct evsrc *s);

/* --- history (history.c) ----------------------------------------------------- */

/* Appends a closed state of T (dropped when it ends before the horizon). */
int hist_push_state(struct actx *c, struct athread *t, const struct hstate *e);
/* Appends a flushed futex block of T, taking its holder rows (b->h is
 * NULL after the call, whatever it returns). */
int hist_push_block(struct actx *c, struct athread *t, struct hblock *b);
/* T's pending block, provisional id TMP, started at SINCE, was written
 * as block ID: the states that name it get the final id. */
void hist_fix_block(struct athread *t, uint64_t since, int64_t tmp, int64_t id);
/* Block ID of T when kept; NULL otherwise, with *EVICTED 1 when it was
 * dropped at the cap (else it was no futex block, or never flushed). */
const struct hblock *hist_block(const struct athread *t, int64_t id,
				int *evicted);
/* T's states overlapping [FROM, TO) in time order, the open one
 * included, into *BUF (grown as needed; *CAP its size).  *EVICTED is 1
 * when states after FROM were dropped at the cap.  0 or an error. */
int hist_states(struct actx *c, const struct athread *t, uint64_t from,
		uint64_t to, struct hstate **buf, size_t *cap, size_t *n,
		int *evicted);
/* States kept per thread at most (WAITCHAIN_CHAIN_HISTORY, 8 .. 2^24). */
#define HIST_DEFAULT_STATES 16384
size_t hist_cap_from_env(void);
/* Moves the horizon to the start of the oldest block still waiting for
 * its chain (or NOW). */
void hist_set_horizon(struct actx *c, uint64_t now);
/* Frees T's rings. */
void hist_free(struct athread *t);

/* timeline.c: the open interval of T as a history entry clipped at TO. */
void hstate_of_open(const struct actx *c, const struct athread *t,
		    uint64_t to, struct hstate *out);

/* --- chains (chain.c) ------------------------------------------------------- */

/* A root block: its chain is written now, or at the end of the capture
 * (c->deferred, which owns h). */
struct hroot {
	int64_t id;
	int32_t tid;
	uint64_t from, to;
	int64_t pid;		/* the futex's process, -1 unknown */
	uint64_t uaddr;		/* the futex word */
	int global;		/* a vCPU block on the global mutex */
	struct hrow *h;
	size_t nh;
};

/* Opens / flushes / frees the chain writer (and holdsum.c's sums: the
 * flush, at the end of pass 1, writes holder_time). */
int chain_open(struct actx *c);
int chain_flush(struct actx *c);
void chain_close(struct actx *c);
/* Writes the chain rows of root R (block R->id of thread R->tid over
 * [R->from, R->to) with holder rows R->h[0..R->nh)), and sums them into
 * holder_time.  0 or an error. */
int chain_root(struct actx *c, const struct hroot *r);

/* --- holder_time (holdsum.c) ------------------------------------------------- */

/* What holder_time needs of one chain row. */
struct hsum_row {
	int depth;
	int32_t tid;		/* -1 unknown */
	int64_t utid;		/* 0 unknown */
	uint64_t from, to;
	const char *state;	/* chain.state */
	int64_t parent_utid;	/* depth > 1: the holder this row expands */
	int32_t parent_tid;
	int has_pfutex;		/* depth > 1: the futex that holder waited on */
	int64_t pfutex_pid;
	uint64_t pfutex_uaddr;
};

/* Opens / frees the sums (c->hsum). */
int hsum_open(struct actx *c);
void hsum_close(struct actx *c);
/* The rows that follow belong to root block BLOCK_ID (futex PID, UADDR;
 * GLOBAL: a vCPU block on the global mutex).  0 or an error. */
int hsum_root(struct actx *c, int64_t block_id, int64_t pid, uint64_t uaddr,
	      int global);
/* Adds chain row R of the current root.  0 or an error. */
int hsum_add(struct actx *c, const struct hsum_row *r);
/* Writes the holder_time rows.  0 or an error. */
int hsum_write(struct actx *c);

/* timeline.c: pass 1.  0 or a negative code. */
int timeline_run(struct actx *c);
/* locks.c, before pass 1: the call statistics of every futex word (one
 * scan of the futex table), its kind and whether its blocks are chain
 * roots.  0 or an error. */
int locks_prepass(struct actx *c);
/* locks.c, after pass 1: futex_object, global_lock, the UPDATEs
 * depending on the global mutex. */
int locks_run(struct actx *c);

#endif /* WC_ANALYZE_LOCAL_H */
