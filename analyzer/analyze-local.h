/*
 * analyze-local.h - internals shared by the analyzer's files.
 *
 * The analysis runs in four steps over one read-write database, inside
 * one transaction (analyze.c drives them):
 *
 *   1. prepass   (analyze.c)  threads + names -> struct athread array,
 *                             vCPU detection, process inference for
 *                             captures without tgids (union-find over
 *                             shared futex words, fork parentage);
 *   2. pass 1    (timeline.c) one k-way merge of the event tables by seq:
 *                             per-thread state machines write
 *                             thread_state, block, block_holder,
 *                             lock_wait, vcpu_switch, vcpu_slice and fill
 *                             the futex objects' statistics in memory;
 *   3. locks     (locks.c)    futex_object kinds, the global mutex per
 *                             vCPU process, set-based UPDATEs on the rows
 *                             of step 2 (on_global_lock, futex_global,
 *                             not_a_lock);
 *   4. chains    (chain.c)    holder chains by indexed look-ups on
 *                             thread_state / block / block_holder.
 *
 * Memory is bounded by threads + distinct futex words + the holder list
 * of each wait call in progress, never by the number of events.
 */
#ifndef WC_ANALYZE_LOCAL_H
#define WC_ANALYZE_LOCAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "waitchain/analyze.h"
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
	const char *kind;	/* 'mutex', 'condvar', 'other' (locks.c) */
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

/* One release seen while a wait call was in progress. */
struct holder_ent {
	int32_t tid;
	int64_t utid;
	uint64_t ts;		/* enter of its wake call */
	int64_t futex_id;	/* that call */
	int is_waker;		/* its call woke the waiter */
};

/* The block (sleep) a thread is in or just left, written when final. */
struct ablock {
	int64_t id;
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

	/* lock_wait group in progress */
	int lw_open;
	int64_t lw_id;
	struct fobj *lw_obj;
	uint64_t lw_start, lw_end;
	int lw_end_known;
	int lw_nblocks, lw_ncalls;

	int has_uexit;
	uint64_t last_uexit_ns;	/* last kvm_userspace_exit */
};

/* --- lost-event intervals ---------------------------------------------------- */

struct lost_iv {
	uint64_t from, to;
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

	int64_t next_block_id, next_lw_id, next_chain_id;
	uint8_t *cpu_seen;
	size_t ncpu_seen;

	/* counters for warnings */
	uint64_t n_unknown_start, n_no_wakeup, n_fallback, n_deadlock;
	uint64_t n_open_at_end, n_chain_rows, n_chain_blocks;
	uint64_t n_blocks, n_futex_blocks;

	struct wc_buf warnings;	/* one per line */
	uint64_t phase_ns[4];	/* cumulative: prepass, pass 1, locks, chains */

	struct amap evidence;	/* stack_id -> static evidence string */
	sqlite3_stmt *q_frames;

	/* pass 1 inserts (the two largest tables batched) */
	struct abatch *b_state, *b_holder;
	sqlite3_stmt *ins_block, *ins_lw;
	sqlite3_stmt *ins_vswitch, *ins_vslice;
};

/* Adds a line to analysis.warnings (printf-style). 0 or -WC_ENOMEM. */
int actx_warn(struct actx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Records an SQLite error about WHAT and returns -WC_EDB. */
int actx_dberr(struct actx *c, const char *what);
/* 1 if [FROM, TO] overlaps a lost-events interval. */
int actx_lost_overlaps(const struct actx *c, uint64_t from, uint64_t to);
/* The thread of TID at SEQ, or NULL (tid 0 / unknown tid). */
struct athread *actx_thread_at(struct actx *c, int32_t tid, uint64_t seq);
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

/* --- multi-row INSERTs (abatch.c) ------------------------------------------ */

#define ABATCH_ROWS 256		/* rows per INSERT */
#define ABATCH_MAX_COLS 16

struct abatch_val {
	int type;		/* SQLITE_INTEGER, SQLITE_TEXT, 0 = NULL */
	int64_t i;
	const char *s;		/* a literal: outlives the batch */
};

struct abatch {
	const char *table, *cols;	/* literals */
	int ncols;
	int n;				/* rows buffered */
	sqlite3_stmt *full;		/* INSERT of ABATCH_ROWS rows */
	struct abatch_val v[ABATCH_ROWS][ABATCH_MAX_COLS];
};

/* *OUT: a batch for TABLE(COLS), NCOLS columns (literals).  0 or an
 * error (*OUT NULL). */
int abatch_new(struct actx *c, struct abatch **out, const char *table,
	       const char *cols, int ncols);
/* Column COL (1-based) of the row being built: an integer, NULL, an
 * integer or NULL, a literal text. */
static inline void abatch_int(struct abatch *b, int col, int64_t v)
{
	b->v[b->n][col - 1].type = SQLITE_INTEGER;
	b->v[b->n][col - 1].i = v;
}
static inline void abatch_i64(struct abatch *b, int col, int64_t v,
			      int is_null)
{
	b->v[b->n][col - 1].type = is_null ? 0 : SQLITE_INTEGER;
	b->v[b->n][col - 1].i = v;
}
static inline void abatch_text(struct abatch *b, int col, const char *s)
{
	b->v[b->n][col - 1].type = s ? SQLITE_TEXT : 0;
	b->v[b->n][col - 1].s = s;
}
/* Ends the row; inserts the batch when it is full.  0 or an error. */
int abatch_row(struct actx *c, struct abatch *b);
/* Inserts the rows still buffered (before anything reads the table). */
int abatch_flush(struct actx *c, struct abatch *b);
/* Frees B (NULL is fine); rows still buffered are dropped: flush first. */
void abatch_free(struct abatch *b);

/* timeline.c: pass 1.  0 or a negative code. */
int timeline_run(struct actx *c);
/* locks.c: futex_object, global_lock, the UPDATEs depending on them. */
int locks_run(struct actx *c);
/* chain.c: the chain table. */
int chains_run(struct actx *c);

#endif /* WC_ANALYZE_LOCAL_H */
