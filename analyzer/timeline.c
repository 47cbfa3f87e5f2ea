/*
 * timeline.c - pass 1 of the analysis: one time-ordered replay of every
 * stored event, per-thread state machines.
 *
 * Input: the event tables (schema/020_events.sql), each read by one
 * cursor (evsrc.c: native chunk scans of the columnar tables) in seq
 * order; the futex table is read by id, which is assigned in enter
 * order, and each call's exit is queued in a heap until its exit_seq
 * is due.  The cursors are merged by seq (a linear pick among ten
 * cursors), so the replay is exactly the capture's order and costs
 * O(events).
 *
 * Output, streamed as the replay goes (prepared statements reused):
 *   thread_state  contiguous intervals per thread;
 *   block         one row per sleep, written when it is final (the thread
 *                 ran again and finished its futex call, or the capture
 *                 ended), so that the wake-up, switch-in and holder list
 *                 are known;
 *   block_holder  the releases seen on the block's futex while it slept;
 *   lock_wait     consecutive waits of one acquisition (rule below);
 *   vcpu_switch, vcpu_slice  for vCPU threads;
 * and, in memory, the statistics of each futex word (struct fobj).
 *
 * Memory: one struct athread per thread, one struct fobj per futex word,
 * and the holder list of each wait call in progress (one entry per
 * release of that word while the call waits: bounded by the releases
 * during one wait, capped at HOLD_CAP).
 *
 * Rules for what the trace cannot tell:
 *  - Holders: a wake-type call (WAKE, WAKE_BITSET, WAKE_OP on uaddr and
 *    uaddr2, UNLOCK_PI, REQUEUE, CMP_REQUEUE, CMP_REQUEUE_PI) on the
 *    same (pid, uaddr) entered after a waiter's wait call entered, and
 *    before the waiter was woken, is a release by a thread that held the
 *    lock: it is appended to the waiter's holder list.  The first one is
 *    the owner at sleep time; the release during which the waiter's
 *    sched_waking fired in the releaser's context is the waker (is_waker).
 *  - A waiter woken by anything else (timeout, signal, a wake on another
 *    word, requeue) gets a last row with holder NULL, certainty
 *    'no_release'; still asleep at the end of the capture: 'truncated';
 *    asleep when the capture began: first row 'before_capture'.  The
 *    'truncated' row names, when there is one, the thread that last
 *    returned from a wait on the word and made no futex call on it
 *    since (it most likely acquired the lock and still holds it: this is
 *    what reveals deadlocks, whose holders never release).
 *  - lock_wait: consecutive wait calls of a thread on one word belong to
 *    one acquisition until the thread calls any other futex operation
 *    (in particular a wake on that word: with glibc's protocol a waiter
 *    that acquired after sleeping sets the word to 2, so its unlock
 *    always calls FUTEX_WAKE).  EAGAIN calls count in ncalls.
 *  - sched_wakeup is used only when a sleeping thread had no sched_waking
 *    (capture without sched_waking, or that one event lost): the block
 *    says wakeup_source 'sched_wakeup' and is uncertain; its waker is the
 *    thread whose release on the word came last, if any, else the
 *    event's context.
 *  - A sched_waking that arrives while the target is still on CPU in a
 *    wait (the waker raced the switch-out on another CPU) is kept for at
 *    most PENDING_WAKE_NS and closes the sleep that follows at once.
 *  - The idle task (tid 0) has no timeline.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "analyze-local.h"
#include "waitchain/db.h"

#define HOLD_CAP 65536
#define PENDING_WAKE_NS 200000u	/* 200 us */
#define MAX_CPUS 65536

enum cur_kind {
	CUR_SWITCH, CUR_WAKING, CUR_WAKEUP, CUR_WAKEUP_NEW, CUR_FORK, CUR_EXIT,
	CUR_FENTER, CUR_FEXIT, CUR_KVM, CUR_COUNT
};

/* The columns each cursor reads, by position (handlers use these
 * positions).  The futex cursor reads every call in id order (= enter
 * order, or exit order for a call whose enter is not in the capture):
 * coalesce(enter_seq, exit_seq) is where the row enters the merge; its
 * exit goes to the exit heap (CUR_FEXIT). */
static const char *const cols_switch[] = { "seq", "ts", "cpu", "prev_tid",
	"prev_state", "prev_state_str", "next_tid", "stack_id" };
static const char *const cols_wake[] = { "seq", "ts", "cpu", "waker_tid", "tid" };
static const char *const cols_fork[] = { "seq", "ts", "cpu", "parent_tid",
	"child_tid" };
static const char *const cols_exit[] = { "seq", "ts", "cpu", "tid" };
enum { FX_ENTER_SEQ, FX_ENTER_NS, FX_CPU, FX_ID, FX_TID, FX_UADDR, FX_CMD,
	FX_VAL, FX_UADDR2, FX_SYSCALL, FX_EXIT_SEQ, FX_EXIT_NS, FX_RET };
static const char *const cols_futex[] = { "enter_seq", "enter_ns", "cpu", "id",
	"tid", "uaddr", "cmd", "val", "uaddr2", "syscall", "exit_seq",
	"exit_ns", "ret" };
static const char *const cols_kvm[] = { "seq", "ts", "cpu", "tid", "kind" };

static const struct {
	const char *const *cols;
	int ncols;
} cur_cols[CUR_COUNT] = {
	[CUR_SWITCH] = { cols_switch, (int)WC_ARRAY_SIZE(cols_switch) },
	[CUR_WAKING] = { cols_wake, (int)WC_ARRAY_SIZE(cols_wake) },
	[CUR_WAKEUP] = { cols_wake, (int)WC_ARRAY_SIZE(cols_wake) },
	[CUR_WAKEUP_NEW] = { cols_wake, (int)WC_ARRAY_SIZE(cols_wake) },
	[CUR_FORK] = { cols_fork, (int)WC_ARRAY_SIZE(cols_fork) },
	[CUR_EXIT] = { cols_exit, (int)WC_ARRAY_SIZE(cols_exit) },
	[CUR_FENTER] = { cols_futex, (int)WC_ARRAY_SIZE(cols_futex) },
	[CUR_FEXIT] = { NULL, 0 },
	[CUR_KVM] = { cols_kvm, (int)WC_ARRAY_SIZE(cols_kvm) },
};

static const char *const cur_table[CUR_COUNT] = {
	"sched_switch", "sched_waking", "sched_wakeup", "sched_wakeup_new",
	"sched_process_fork", "sched_process_exit", "futex", "futex",
	"kvm_event",
};

struct cursor {
	struct evsrc src;
	int has_row;
	int64_t seq;
};

/*
 * The futex exits still to come, smallest exit_seq first.  Exits are
 * not read in a second pass over the futex table sorted by exit_seq
 * (the columnar table has no index): each call's exit is pushed when its
 * row is read in enter order, and every enter with a smaller seq than an
 * exit is read before that exit is due, so the heap minimum is the next
 * exit of the capture.  It holds the calls in progress: at most one per
 * thread (plus exits without an enter, popped at once).
 */
struct fexit {
	int64_t seq, id, ret;
	uint64_t ts;
	int32_t tid;
	int enter_known;
};

struct fexit_heap {
	struct fexit *v;
	size_t n, cap;
};

static int heap_push(struct fexit_heap *h, const struct fexit *e)
{
	size_t i;

	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 256;
		struct fexit *nv = realloc(h->v, nc * sizeof(*nv));

		if (!nv)
			return -1;
		h->v = nv;
		h->cap = nc;
	}
	i = h->n++;
	while (i > 0 && h->v[(i - 1) / 2].seq > e->seq) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = *e;
	return 0;
}

static void heap_pop(struct fexit_heap *h)
{
	struct fexit last;
	size_t i = 0;

	assert(h->n > 0);
	last = h->v[--h->n];
	for (;;) {
		size_t k = 2 * i + 1;

		if (k >= h->n)
			break;
		if (k + 1 < h->n && h->v[k + 1].seq < h->v[k].seq)
			k++;
		if (last.seq <= h->v[k].seq)
			break;
		h->v[i] = h->v[k];
		i = k;
	}
	if (h->n)
		h->v[i] = last;
}

/* Advances CUR; checks that seq never goes backwards. */
static int cursor_next(struct actx *c, struct cursor *cur, int kind)
{
	int rc = evsrc_next(c, &cur->src);
	int64_t prev = cur->seq;

	if (rc)
		return rc;
	if (!cur->src.has_row) {
		cur->has_row = 0;
		return 0;
	}
	cur->seq = kind == CUR_FENTER && evsrc_null(&cur->src, FX_ENTER_SEQ) ?
		evsrc_i64(&cur->src, FX_EXIT_SEQ, 0) :
		evsrc_i64(&cur->src, 0, 0);
	if (cur->has_row && cur->seq < prev)
		return wc_err(c->err, WC_EFORMAT, c->path,
			      "table %s is not stored in seq order (seq %lld after %lld)",
			      cur_table[kind], (long long)cur->seq,
			      (long long)prev);
	cur->has_row = 1;
	return 0;
}

/* --- thread_state ---------------------------------------------------------- */

static const char *state_name(int st)
{
	switch (st) {
	case TS_RUNNING: return "running";
	case TS_RUNNABLE: return "runnable";
	case TS_SLEEPING: return "sleeping";
	case TS_BLOCKED_IO: return "blocked_io";
	case TS_DEAD: return "dead";
	default: return "unknown";
	}
}

/* Writes thread_time: per thread, the sums write_state() kept.  0 or an
 * error. */
static int write_thread_time(struct actx *c)
{
	sqlite3_stmt *st = NULL;
	int rc = wc_db_prepare(c->db, c->path,
			       "INSERT INTO thread_time(utid, tid, state, runnable_reason,"
			       " on_global_lock, time_ns, intervals)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st, c->err);

	for (int64_t u = 1; !rc && u <= c->max_utid; u++) {
		const struct athread *t = c->thr[u];

		for (int s = 0; t && !rc && s < TT_SLOTS; s++) {
			int state = TT_SLOT_STATE(s), woken = TT_SLOT_WOKEN(s);
			int global = TT_SLOT_GLOBAL(s);

			if (!t->tt_n[s])
				continue;
			sqlite3_bind_int64(st, 1, t->utid);
			sqlite3_bind_int64(st, 2, t->tid);
			sqlite3_bind_text(st, 3, state_name(state), -1, SQLITE_STATIC);
			if (state == TS_RUNNABLE)
				sqlite3_bind_text(st, 4, woken ? "woken" : "preempted", -1,
						  SQLITE_STATIC);
			else
				sqlite3_bind_null(st, 4);
			sqlite3_bind_int(st, 5, global);
			sqlite3_bind_int64(st, 6, (int64_t)t->tt_ns[s]);
			sqlite3_bind_int64(st, 7, (int64_t)t->tt_n[s]);
			rc = actx_step_reset(c, st, "thread_time");
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* T's current interval ending at END as a history entry; UNCERTAIN is
 * what besides lost events makes it uncertain. */
static void hstate_of(const struct actx *c, const struct athread *t,
		      uint64_t end, int uncertain, struct hstate *e)
{
	int with_block = t->state_block >= 0 &&
		(t->state == TS_SLEEPING || t->state == TS_BLOCKED_IO ||
		 (t->state == TS_RUNNABLE && t->runnable_woken));

	e->start = t->state_start;
	e->end = end;
	e->state = (uint8_t)t->state;
	e->cpu = t->state_cpu < 0 ? -1 : t->state_cpu;
	e->woken = t->state == TS_RUNNABLE && t->runnable_woken;
	e->preempted_by = t->state != TS_RUNNABLE || t->runnable_woken ||
		t->preempted_by < 0 ? -1 : t->preempted_by;
	e->block_id = with_block ? t->state_block : -1;
	e->uncertain = uncertain || actx_lost_overlaps(c, t->state_start, end);
}

/* The uncertainty of the open interval of T besides lost events (as
 * set_state() and finish_thread() will pass it). */
static int open_uncertain(const struct athread *t)
{
	return t->state == TS_SLEEPING && t->has_blk && t->blk.unknown_start &&
		t->state_block == t->blk.id;
}

void hstate_of_open(const struct actx *c, const struct athread *t,
		    uint64_t to, struct hstate *out)
{
	hstate_of(c, t, to, open_uncertain(t), out);
}

/* Writes the thread_state row E of T, and counts it for thread_time. */
static int write_state(struct actx *c, struct athread *t,
		       const struct hstate *e)
{
	struct awriter *w = c->w_state;
	int rc, global, slot;

	awr_int(w, 1, t->utid);
	awr_int(w, 2, t->tid);
	awr_int(w, 3, (int64_t)e->start);
	awr_int(w, 4, (int64_t)e->end);
	rc = awr_static(c, w, 5, state_name(e->state));
	if (!rc)
		rc = awr_static(c, w, 7, e->state != TS_RUNNABLE ? NULL :
				e->woken ? "woken" : "preempted");
	if (rc)
		return rc;
	awr_i64(w, 6, e->cpu, e->cpu < 0);
	awr_i64(w, 8, e->preempted_by, e->preempted_by < 0);
	awr_i64(w, 9, e->block_id, e->block_id < 0);
	awr_int(w, 10, e->uncertain);
	c->n_state_rows++;
	/* a sleeping row names T's last block, or none (emit_state(),
	 * pending_rows()) */
	global = (e->state == TS_SLEEPING || e->state == TS_BLOCKED_IO) &&
		e->block_id >= 0 && e->block_id == t->last_id && t->last_global;
	slot = TT_SLOT(e->state, e->state == TS_RUNNABLE && e->woken, global);
	assert(slot >= 0 && slot < TT_SLOTS);
	t->tt_ns[slot] += e->end - e->start;
	t->tt_n[slot]++;
	return awr_row(c, w);
}

/* Writes T's current interval, ending at END (nothing if empty), and
 * keeps it in T's history.  An interval that names T's pending block
 * waits for the block's id (block_flush()). */
static int emit_state(struct actx *c, struct athread *t, uint64_t end,
		      int uncertain)
{
	struct hstate e;
	int rc;

	if (t->state == TS_NONE || end <= t->state_start)
		return 0;
	hstate_of(c, t, end, uncertain, &e);
	if (e.block_id >= 0 && t->has_blk && e.block_id == t->blk.id) {
		struct hstate *pend = actx_reserve(c, t->pend, &t->cappend,
						   t->npend + 1, sizeof(*pend));

		if (!pend)
			return -WC_ENOMEM;
		t->pend = pend;
		t->pend[t->npend++] = e;
		/* in the history now (in time order), with the provisional
		 * id until the block is written (hist_fix_block()) */
		return hist_push_state(c, t, &e);
	}
	if (e.block_id >= 0)	/* a block already written */
		e.block_id = e.block_id == t->last_tmp ? t->last_id : -1;
	rc = write_state(c, t, &e);
	return rc ? rc : hist_push_state(c, t, &e);
}

/* Ends T's current interval at TS and starts state ST. */
static int set_state(struct actx *c, struct athread *t, int st, uint64_t ts,
		     int32_t cpu, int woken, int32_t pby, int64_t block)
{
	int rc;

	if (ts < t->state_start)
		ts = t->state_start;
	rc = emit_state(c, t, ts, open_uncertain(t));
	t->state = st;
	t->state_start = ts;
	t->state_cpu = cpu;
	t->runnable_woken = woken;
	t->preempted_by = pby;
	t->state_block = block;
	return rc;
}

/* Starts T's timeline at the capture start when it is first mentioned. */
static void thread_touch(struct actx *c, struct athread *t)
{
	if (t->state != TS_NONE)
		return;
	t->state = TS_UNKNOWN;
	t->state_start = c->t0;
	t->state_cpu = -1;
	t->state_block = -1;
	t->preempted_by = -1;
}

static int cpu_seen(const struct actx *c, int32_t cpu)
{
	return cpu >= 0 && (size_t)cpu < c->ncpu_seen && c->cpu_seen[cpu];
}

static int mark_cpu_seen(struct actx *c, int32_t cpu)
{
	if (cpu < 0 || cpu >= MAX_CPUS)
		return 0;
	if ((size_t)cpu >= c->ncpu_seen) {
		size_t n = (size_t)cpu + 64;
		uint8_t *p = realloc(c->cpu_seen, n);

		if (!p)
			return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
		memset(p + c->ncpu_seen, 0, n - c->ncpu_seen);
		c->cpu_seen = p;
		c->ncpu_seen = n;
	}
	c->cpu_seen[cpu] = 1;
	return 0;
}

/* --- blocks and holders ------------------------------------------------------ */

static int hold_push(struct actx *c, struct athread *w, const struct holder_ent *e)
{
	struct holder_ent *hold;

	if (w->nhold >= HOLD_CAP)
		return 0;	/* pathological wait: keep the first HOLD_CAP */
	hold = actx_reserve(c, w->hold, &w->caphold, w->nhold + 1, sizeof(*hold));
	if (!hold)
		return -WC_ENOMEM;
	w->hold = hold;
	w->hold[w->nhold++] = *e;
	return 0;
}

/* The holder rows of the block being flushed, kept for its chain and
 * for the chains that will meet it (history.c). */
struct hrows {
	struct hrow *v;
	size_t n, cap;
};

static int ins_holder(struct actx *c, struct hrows *out, int64_t block_id,
		      int seq, const struct holder_ent *e, uint64_t from,
		      uint64_t to, int is_waker, const char *certainty)
{
	struct awriter *w = c->w_holder;
	struct hrow *r;
	int rc;

	awr_int(w, 1, block_id);
	awr_int(w, 2, seq);
	awr_i64(w, 3, e ? e->tid : 0, !e);
	awr_i64(w, 4, e ? e->utid : 0, !e);
	awr_int(w, 5, (int64_t)from);
	awr_int(w, 6, (int64_t)to);
	awr_i64(w, 7, e ? e->futex_id : 0, !e || e->futex_id < 0);
	awr_int(w, 8, is_waker);
	if ((rc = awr_static(c, w, 9, certainty)))
		return rc;
	r = actx_reserve(c, out->v, &out->cap, out->n + 1, sizeof(*r));
	if (!r)
		return -WC_ENOMEM;
	out->v = r;
	r = &out->v[out->n++];
	r->tid = e ? e->tid : 0;
	r->utid = e ? e->utid : 0;
	r->from = from;
	r->to = to;
	r->exact = strcmp(certainty, "exact") == 0;
	return awr_row(c, w);
}

/* The futex block B of T is flushed with holder rows H: keeps it for
 * later chains and writes its own chain when it is a root (or queues it
 * at the end of the capture).  ID is its block.id.  Takes H's rows. */
static int block_done(struct actx *c, struct athread *t,
		      const struct ablock *b, int64_t id, struct hrows *h)
{
	struct hblock hb;
	int rc = 0;

	/* (a word without wait calls has no futex_object row: never a
	 * root, like a block asleep since before the capture that only its
	 * waker's release ties to the word) */
	if (b->obj && b->obj->is_root && b->obj->wait_calls && b->uaddr_known) {
		/* as in its block row: futex_pid, futex_uaddr,
		 * on_global_lock && is_vcpu */
		const struct hroot root = {
			.id = id, .tid = t->tid, .from = b->start_ns,
			.to = b->end_ns, .pid = b->obj->pid >= 0 ? b->obj->pid : -1,
			.uaddr = b->uaddr,
			.global = b->obj->is_global && t->is_vcpu,
			.h = h->v, .nh = h->n,
		};

		if (c->defer_chains) {
			struct hroot *r;

			r = actx_reserve(c, c->deferred, &c->capdeferred,
					 c->ndeferred + 1, sizeof(*r));
			if (!r) {
				free(h->v);
				return -WC_ENOMEM;
			}
			c->deferred = r;
			r = &c->deferred[c->ndeferred++];
			*r = root;
			r->h = NULL;
			r->nh = 0;
			/* a copy: the rows also go to the history */
			if (h->n) {
				r->h = malloc(h->n * sizeof(*r->h));
				if (!r->h) {
					free(h->v);
					return wc_err(c->err, WC_ENOMEM, c->path,
						      "out of memory");
				}
				memcpy(r->h, h->v, h->n * sizeof(*r->h));
				r->nh = h->n;
			}
		} else {
			rc = chain_root(c, &root);
		}
	}
	if (rc || !b->uaddr_known) {
		free(h->v);
		return rc;
	}
	hb.id = id;
	hb.end = b->end_ns;
	hb.uaddr = b->uaddr;
	hb.pid = b->obj && b->obj->pid >= 0 ? b->obj->pid : -1;
	hb.expand = !b->obj || strcmp(b->obj->kind, "condvar") != 0;
	hb.h = h->v;
	hb.nh = h->n;
	return hist_push_block(c, t, &hb);
}

static int write_vswitch(struct actx *c, const struct athread *p,
			 const struct pvswitch *v, int64_t block_id);

/* Writes the rows that waited for the id ID of T's pending block. */
static int pending_rows(struct actx *c, struct athread *t, int64_t id)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < t->npend; i++) {
		t->pend[i].block_id = id;
		rc = write_state(c, t, &t->pend[i]);
	}
	if (t->npend)
		hist_fix_block(t, t->blk.start_ns, t->blk.id, id);
	t->npend = 0;
	if (!rc && t->has_pvs) {
		t->has_pvs = 0;
		rc = write_vswitch(c, t, &t->pvs, id);
		free(t->pvs.state_str);
		t->pvs.state_str = NULL;
	}
	return rc;
}

/* Writes T's pending block (and its holder rows), updates the statistics
 * of its futex word. */
static int block_flush(struct actx *c, struct athread *t)
{
	struct ablock *b = &t->blk;
	struct awriter *w = c->w_block;
	struct hrows h = { NULL, 0, 0 };
	int rc, seq = 0, waker_row = 0;
	uint64_t from;
	int64_t id;

	if (!t->has_blk)
		return 0;
	t->has_blk = 0;
	if (b->end_ns < b->start_ns)
		b->end_ns = b->start_ns;
	if (actx_lost_overlaps(c, b->start_ns, b->end_ns))
		b->uncertain = 1;
	c->n_blocks++;
	id = ++c->next_block_id;
	t->last_tmp = b->id;
	t->last_id = id;
	/* its on_global_lock column (below), kept for thread_time */
	t->last_global = strcmp(b->reason, "futex") == 0 && b->uaddr_known &&
		b->obj && b->obj->is_global;
	rc = pending_rows(c, t, id);
	if (rc)
		return rc;

	awr_int(w, 1, id);
	awr_int(w, 2, t->utid);
	awr_int(w, 3, t->tid);
	awr_i64(w, 4, t->pid, t->pid < 0);
	awr_int(w, 5, (int64_t)b->start_ns);
	awr_int(w, 6, (int64_t)b->end_ns);
	if ((rc = awr_text(c, w, 7, b->state)) ||
	    (rc = awr_static(c, w, 8, b->reason)) ||
	    (rc = awr_static(c, w, 16, b->wsrc)))
		return rc;
	awr_i64(w, 9, b->futex_id, !b->has_futex);
	awr_i64(w, 10, (int64_t)b->uaddr, !b->uaddr_known);
	awr_i64(w, 11, b->obj ? b->obj->pid : 0, !b->obj || b->obj->pid < 0);
	awr_i64(w, 12, b->cmd, b->cmd < 0);
	awr_i64(w, 13, b->waker_tid, !b->waker_known);
	awr_i64(w, 14, b->waker_utid, !b->waker_known || b->waker_utid <= 0);
	awr_i64(w, 15, (int64_t)b->wakeup_ns, !b->woken || !b->wsrc);
	awr_i64(w, 17, (int64_t)b->switch_in_ns, !b->switched_in);
	awr_i64(w, 18, b->stack_id, b->stack_id < 0);
	awr_i64(w, 19, b->switch_seq, b->switch_seq < 0);
	awr_i64(w, 20, b->lock_wait_id, b->lock_wait_id < 0);
	awr_int(w, 21, t->last_global);
	awr_int(w, 22, t->is_vcpu);
	awr_int(w, 23, b->uncertain);
	rc = awr_row(c, w);
	if (rc)
		return rc;

	if (strcmp(b->reason, "futex") != 0)
		return 0;
	c->n_futex_blocks++;
	if (b->obj) {
		struct fobj *o = b->obj;
		uint64_t d = b->end_ns - b->start_ns;

		o->blocks++;
		o->blocked_ns += d;
		if (uset_add(&o->waiters, t->utid))
			return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
		if (t->is_vcpu) {
			o->vcpu_blocks++;
			o->vcpu_blocked_ns += d;
		}
	}

	/* holder rows: the releases seen during the wait, in order */
	from = b->start_ns;
	if (b->unknown_start) {
		uint64_t to = t->nhold ? t->hold[0].ts : b->end_ns;

		if (to < from)
			to = from;
		rc = ins_holder(c, &h, id, ++seq, NULL, from, to, 0,
				"before_capture");
		if (rc)
			goto fail;
		from = to;
	}
	for (size_t i = 0; i < t->nhold; i++) {
		const struct holder_ent *e = &t->hold[i];
		uint64_t to = e->ts > from ? e->ts : from;

		rc = ins_holder(c, &h, id, ++seq, e, from, to, e->is_waker,
				b->obj && strcmp(b->obj->kind, "condvar") == 0 ?
				"not_a_lock" : "exact");
		if (rc)
			goto fail;
		from = to;
		if (e->is_waker) {
			waker_row = 1;
			break;
		}
	}
	if (!waker_row && !(b->unknown_start && seq == 1 && !b->truncated &&
			    !b->woken)) {
		const char *cert = b->truncated ? "truncated" : "no_release";
		uint64_t to = b->end_ns > from ? b->end_ns : from;

		struct holder_ent guess = { 0, 0, 0, -1, 0 };
		const struct holder_ent *e = NULL;

		if (b->unknown_start && t->nhold == 0 && !b->truncated)
			return block_done(c, t, b, id, &h);	/* the before_capture row says it all */
		if (b->truncated && b->obj && b->obj->owner_guess &&
		    b->obj->owner_guess != t) {
			/* still asleep at the end: name the thread that last
			 * came out of a wait on the word without releasing it */
			guess.tid = b->obj->owner_guess->tid;
			guess.utid = b->obj->owner_guess->utid;
			e = &guess;
		}
		rc = ins_holder(c, &h, id, ++seq, e, from, to, 0, cert);
		if (rc)
			goto fail;
	}
	return block_done(c, t, b, id, &h);
fail:
	free(h.v);
	return rc;
}

/* The wait call of T was woken (in X's context, X may be NULL): closes
 * its holder list and marks the release that woke it. */
static int futex_woken(struct actx *c, struct athread *t, struct athread *x,
		       int fallback)
{
	if (!t->in_call || !t->call_wait || t->call_woken)
		return 0;
	t->call_woken = 1;
	t->call_waker_idx = -1;
	if (x && x != t && x->in_call && x->call_wake && t->call_obj &&
	    (x->call_obj == t->call_obj || x->call_obj2 == t->call_obj)) {
		long i;

		for (i = (long)t->nhold - 1; i >= 0; i--)
			if (t->hold[i].futex_id == x->call_id)
				break;
		if (i < 0) {
			/* its wake entered before the waiter's wait did */
			struct holder_ent e = { x->tid, x->utid,
						x->call_enter_ns, x->call_id, 0 };
			int rc = hold_push(c, t, &e);

			if (rc)
				return rc;
			i = (long)t->nhold - 1;
			if (i < 0 || t->hold[i].futex_id != x->call_id)
				return 0;
		}
		t->hold[i].is_waker = 1;
		t->call_waker_idx = (int)i;
	} else if (fallback && t->nhold > 0) {
		t->hold[t->nhold - 1].is_waker = 1;
		t->call_waker_idx = (int)t->nhold - 1;
	}
	return 0;
}

/* T's sleep ends at TS (woken by X, or by nobody known when !src). */
static int block_wake(struct actx *c, struct athread *t, uint64_t ts,
		      struct athread *x, int32_t x_tid, const char *src,
		      int uncertain)
{
	struct ablock *b = &t->blk;

	b->woken = 1;
	b->wakeup_ns = ts;
	b->end_ns = ts > b->start_ns ? ts : b->start_ns;
	b->wsrc = src;
	if (src) {
		b->waker_known = 1;
		b->waker_tid = x_tid;
		b->waker_utid = x ? x->utid : 0;
		if (strcmp(src, "sched_wakeup") == 0 && b->has_futex && t->in_call &&
		    t->call_waker_idx >= 0 && (size_t)t->call_waker_idx < t->nhold) {
			/* sched_wakeup's context is not the waker: the
			 * release that came last is the better guess */
			const struct holder_ent *e = &t->hold[t->call_waker_idx];

			b->waker_tid = e->tid;
			b->waker_utid = e->utid;
		}
	}
	if (uncertain)
		b->uncertain = 1;
	return set_state(c, t, TS_RUNNABLE, b->end_ns, t->state_cpu, 1, -1,
			 b->id);
}

/* T runs at TS (an event fired in its context on CPU). */
static int note_running(struct actx *c, struct athread *t, uint64_t ts,
			int32_t cpu)
{
	int rc = 0;

	thread_touch(c, t);
	if (t->state == TS_RUNNING) {
		if (t->state_cpu < 0 && cpu >= 0)
			t->state_cpu = cpu;
		return 0;
	}
	if (t->state == TS_UNKNOWN && !t->informed && cpu >= 0 &&
	    !cpu_seen(c, cpu)) {
		/* no switch on that CPU yet: it ran there since the start */
		t->state = TS_RUNNING;
		t->state_cpu = cpu;
		t->informed = 1;
		return 0;
	}
	if ((t->state == TS_SLEEPING || t->state == TS_BLOCKED_IO) &&
	    t->has_blk && !t->blk.woken) {
		/* its wakeup (and switch-in) were not recorded */
		c->n_no_wakeup++;
		rc = futex_woken(c, t, NULL, 0);
		if (!rc)
			rc = block_wake(c, t, ts, NULL, -1, NULL, 1);
	}
	if (!rc && t->has_blk && !t->blk.switched_in) {
		t->blk.switched_in = 1;
		t->blk.switch_in_ns = ts;
	}
	if (!rc)
		rc = set_state(c, t, TS_RUNNING, ts, cpu, 0, -1, -1);
	t->informed = 1;
	return rc;
}

/* --- lock_wait groups ---------------------------------------------------------- */

static int lw_close(struct actx *c, struct athread *t)
{
	struct awriter *w = c->w_lw;

	if (!t->lw_open)
		return 0;
	t->lw_open = 0;
	awr_int(w, 1, t->lw_id);
	awr_int(w, 2, t->utid);
	awr_int(w, 3, t->tid);
	awr_int(w, 4, (int64_t)t->lw_obj->uaddr);
	awr_i64(w, 5, t->lw_obj->pid, t->lw_obj->pid < 0);
	awr_int(w, 6, (int64_t)t->lw_start);
	awr_i64(w, 7, (int64_t)t->lw_end, !t->lw_end_known);
	awr_int(w, 8, t->lw_nblocks);
	awr_int(w, 9, t->lw_ncalls);
	return awr_row(c, w);
}

/* --- futex calls ------------------------------------------------------------------ */

static void wlist_remove(struct athread *t)
{
	struct fobj *o = t->call_obj;

	if (!t->in_wlist)
		return;
	if (t->wprev)
		t->wprev->wnext = t->wnext;
	else
		o->whead = t->wnext;
	if (t->wnext)
		t->wnext->wprev = t->wprev;
	else
		o->wtail = t->wprev;
	t->wnext = t->wprev = NULL;
	t->in_wlist = 0;
}

static void wlist_append(struct athread *t, struct fobj *o)
{
	t->wprev = o->wtail;
	t->wnext = NULL;
	if (o->wtail)
		o->wtail->wnext = t;
	else
		o->whead = t;
	o->wtail = t;
	t->in_wlist = 1;
}

/* Ends T's futex call in progress (exit seen at EXIT_NS when KNOWN). */
static int call_end(struct actx *c, struct athread *t, uint64_t exit_ns,
		    int known)
{
	int rc = block_flush(c, t);

	if (rc)
		return rc;
	wlist_remove(t);
	if (t->call_wait && known)
		t->call_obj->owner_guess = t;
	if (t->call_wait && t->lw_open && t->lw_obj == t->call_obj) {
		t->lw_end = exit_ns;
		t->lw_end_known = known;
	}
	t->in_call = 0;
	return 0;
}

/* A release by H on O at TS (call ID): every waiter of O not yet woken
 * gets H appended to its holder list. */
static int append_holders(struct actx *c, struct fobj *o, struct athread *h,
			  uint64_t ts, int64_t id)
{
	struct holder_ent e = { h->tid, h->utid, ts, id, 0 };

	for (struct athread *w = o->whead; w; w = w->wnext) {
		int rc;

		if (w == h || w->call_woken)
			continue;
		rc = hold_push(c, w, &e);
		if (rc)
			return rc;
	}
	return 0;
}

static int on_futex_enter(struct actx *c, const struct evsrc *st)
{
	uint64_t seq = (uint64_t)evsrc_i64(st, 0, 0);
	uint64_t ts = (uint64_t)evsrc_i64(st, 1, 0);
	int32_t cpu = (int32_t)evsrc_i64(st, 2, -1);
	int64_t id = evsrc_i64(st, 3, 0);
	struct athread *t = actx_thread_at(c, (int32_t)evsrc_i64(st, 4, -1), seq);
	int has_uaddr = !evsrc_null(st, 5);
	uint64_t uaddr = (uint64_t)evsrc_i64(st, 5, 0);
	int cmd = (int)evsrc_i64(st, 6, -1);
	int has_uaddr2 = !evsrc_null(st, 8);
	uint64_t uaddr2 = (uint64_t)evsrc_i64(st, 8, 0);
	int wait = futex_cmd_is_wait(cmd), wake = futex_cmd_is_wake(cmd);
	struct fobj *o = NULL;
	int rc;

	if (!t)
		return 0;
	rc = note_running(c, t, ts, cpu);
	if (rc)
		return rc;
	t->pw_valid = 0;
	if (t->in_call) {	/* the exit of the previous call was lost */
		rc = call_end(c, t, ts, 0);
		if (rc)
			return rc;
	}
	rc = block_flush(c, t);
	if (rc)
		return rc;
	t->has_futex_ops = 1;
	if ((wait || wake) && has_uaddr) {
		o = actx_fobj(c, t->pid, uaddr, 1);
		if (!o)
			return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	}

	/* lock_wait grouping: only another wait on the same word continues
	 * the acquisition; any other futex operation is progress */
	if (wait && o && t->lw_open && t->lw_obj == o) {
		t->lw_ncalls++;
		t->lw_end_known = 0;
	} else {
		rc = lw_close(c, t);
		if (rc)
			return rc;
		if (wait && o) {
			t->lw_open = 1;
			t->lw_id = ++c->next_lw_id;
			t->lw_obj = o;
			t->lw_start = ts;
			t->lw_end_known = 0;
			t->lw_nblocks = 0;
			t->lw_ncalls = 1;
		}
	}

	if (o && o->owner_guess == t)
		o->owner_guess = NULL;	/* it waits again, or releases */
	t->in_call = 1;
	t->call_id = id;
	t->call_cmd = cmd;
	t->call_wait = wait && o;
	t->call_wake = wake && o;
	t->call_enter_ns = ts;
	t->call_obj = o;
	t->call_obj2 = NULL;
	t->call_woken = 0;
	t->call_waker_idx = -1;
	/* the call statistics of O were counted by locks_prepass() */
	if (t->call_wait) {
		t->nhold = 0;
		wlist_append(t, o);
	}
	if (t->call_wake) {
		rc = append_holders(c, o, t, ts, id);
		if (!rc && cmd == 5 && has_uaddr2) {
			struct fobj *o2 = actx_fobj(c, t->pid, uaddr2, 1);

			if (!o2)
				return wc_err(c->err, WC_ENOMEM, c->path,
					      "out of memory");
			t->call_obj2 = o2;
			if (o2->owner_guess == t)
				o2->owner_guess = NULL;
			rc = append_holders(c, o2, t, ts, id);
		}
	}
	return rc;
}

static int on_futex_exit(struct actx *c, const struct fexit *e)
{
	uint64_t seq = (uint64_t)e->seq;
	uint64_t ts = e->ts;
	int enter_known = e->enter_known;
	int64_t id = e->id;
	struct athread *t = actx_thread_at(c, e->tid, seq);
	int rc;

	if (!t)
		return 0;
	rc = note_running(c, t, ts, -1);
	if (rc)
		return rc;
	t->pw_valid = 0;
	t->has_futex_ops = 1;
	if (!enter_known) {
		/* the call began before the capture */
		if (t->has_blk && t->blk.unknown_start && !t->blk.has_futex) {
			t->blk.has_futex = 1;
			t->blk.futex_id = id;
			t->blk.reason = "futex";
		}
		return block_flush(c, t);
	}
	if (!t->in_call || t->call_id != id)
		return 0;
	return call_end(c, t, ts, 1);
}

/* --- scheduler events ------------------------------------------------------------ */

enum { SW_PREEMPT, SW_SLEEP, SW_IO, SW_DEAD };

static int switch_kind(const char *s, const struct athread *p)
{
	if (s[0] == 'R')
		return SW_PREEMPT;
	if (strchr(s, 'X') || strchr(s, 'Z') || p->exited)
		return SW_DEAD;
	if (s[0] == 'D')
		return SW_IO;
	return SW_SLEEP;
}

/* Frames that say why a thread left the CPU, innermost first. */
static const char *const evidence_frames[] = {
	"__cond_resched", "_cond_resched", "preempt_schedule_irq",
	"preempt_schedule", "preempt_schedule_common", "preempt_schedule_notrace",
	"futex_do_wait", "futex_wait_queue", "futex_wait_queue_me", "futex_wait",
	"futex_lock_pi", "rt_mutex_slowlock", "futex_waitv",
	"io_schedule", "io_schedule_timeout", "kvm_vcpu_halt", "kvm_vcpu_block",
	"do_nanosleep", "schedule_hrtimeout_range", "schedule_hrtimeout_range_clock",
	"do_sys_poll", "do_select", "ep_poll", "pipe_read", "do_exit",
	"do_task_dead", "exit_to_user_mode_loop", "irqentry_exit_to_user_mode",
	"irqentry_exit", "syscall_exit_to_user_mode",
	"schedule_timeout", "rwsem_down_read_slowpath",
	"rwsem_down_write_slowpath", "__mutex_lock", "rcu_gp_kthread",
	"worker_thread", "kthread",
};

/* SYM (the symbol of one frame) as its entry of evidence_frames, or NULL. */
static const char *evidence_of_frame(const char *sym)
{
	if (!sym)
		return NULL;
	for (size_t i = 0; i < WC_ARRAY_SIZE(evidence_frames); i++)
		if (strcmp(sym, evidence_frames[i]) == 0)
			return evidence_frames[i];
	return NULL;
}

/*
 * The telling frame of stack ID from c->frames, a forward scan of
 * stack_frame: stack ids grow in the order stacks first appear in the
 * capture, the order pass 1 meets them, so one pass over the frames
 * serves nearly every look-up (the stacks nobody asks for are skipped).
 * Returns 1 with *FOUND set when the scan had not passed ID yet, 0 when
 * it had (or failed: it is then closed), for a look-up by SQL instead.
 */
static int scan_evidence(struct actx *c, int64_t id, const char **found)
{
	struct evsrc *f = &c->frames;

	*found = NULL;
	if (!f->has_row || evsrc_i64(f, 0, 0) > id)
		return 0;
	while (f->has_row && evsrc_i64(f, 0, 0) <= id) {
		if (!*found && evsrc_i64(f, 0, 0) == id)
			*found = evidence_of_frame(evsrc_text(f, 1));
		if (evsrc_next(c, f)) {
			/* the SQL look-up reports it if it persists */
			wc_error_clear(c->err);
			evsrc_close(f);
			*found = NULL;
			return 0;
		}
	}
	return 1;
}

/* The telling frame of stack ID (cached per stack), or NULL. */
static const char *evidence_for(struct actx *c, int64_t id)
{
	static const char none[] = "";
	const char *ev;
	const char *found = NULL;

	if (id < 0)
		return NULL;
	ev = amap_get(&c->evidence, (uint64_t)id, 1);
	if (ev)
		return ev == none ? NULL : ev;
	if (!scan_evidence(c, id, &found)) {
		sqlite3_bind_int64(c->q_frames, 1, id);
		while (!found && sqlite3_step(c->q_frames) == SQLITE_ROW)
			found = evidence_of_frame((const char *)
						  sqlite3_column_text(c->q_frames, 0));
		sqlite3_reset(c->q_frames);
	}
	if (amap_put(&c->evidence, (uint64_t)id, 1, (void *)(found ? found : none)))
		return found;
	return found;
}

/* Writes a vcpu_switch row of P for block BLOCK_ID (-1 none). */
static int write_vswitch(struct actx *c, const struct athread *p,
			 const struct pvswitch *v, int64_t block_id)
{
	struct awriter *w = c->w_vswitch;
	int rc;

	awr_int(w, 1, p->utid);
	awr_int(w, 2, p->tid);
	awr_int(w, 3, (int64_t)v->ts);
	awr_int(w, 4, v->seq);
	if ((rc = awr_static(c, w, 5, v->reason)) ||
	    (rc = awr_text(c, w, 6, v->state_str)) ||
	    (rc = awr_static(c, w, 9, v->evidence)))
		return rc;
	awr_i64(w, 7, block_id, block_id < 0);
	awr_i64(w, 8, v->stack_id, v->stack_id < 0);
	awr_i64(w, 10, (int64_t)p->last_uexit_ns, !p->has_uexit);
	return awr_row(c, w);
}

/* Writes a vcpu_slice row of T on CPU over [START, END). */
static int write_vslice(struct actx *c, const struct athread *t, int32_t cpu,
			uint64_t start, uint64_t end, const char *reason,
			int64_t seq)
{
	struct awriter *w = c->w_vslice;
	int rc;

	awr_int(w, 1, t->utid);
	awr_int(w, 2, t->tid);
	awr_i64(w, 3, cpu, cpu < 0);
	awr_int(w, 4, (int64_t)start);
	awr_int(w, 5, (int64_t)end);
	if ((rc = awr_static(c, w, 6, reason)))
		return rc;
	awr_i64(w, 7, seq, seq < 0);
	return awr_row(c, w);
}

/* The vcpu_switch (and vcpu_slice) rows of vCPU P switched out at TS.
 * A switch into a sleep names the block, whose id comes when it is
 * written: the row waits in P until then (pending_rows()). */
static int vcpu_rows(struct actx *c, struct athread *p, uint64_t ts,
		     int64_t seq, const char *reason, const char *state_str,
		     int64_t block_id, int64_t stack_id, int was_running,
		     uint64_t run_start, int32_t run_cpu)
{
	struct pvswitch v = { ts, seq, stack_id, reason,
			      evidence_for(c, stack_id), NULL };
	int rc = 0;

	if (block_id >= 0) {
		v.state_str = wc_strdup(state_str);
		if (state_str && !v.state_str)
			return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
		free(p->pvs.state_str);
		p->pvs = v;
		p->has_pvs = 1;
	} else {
		v.state_str = (char *)state_str;	/* not kept */
		rc = write_vswitch(c, p, &v, -1);
	}
	if (rc || !was_running)
		return rc;
	return write_vslice(c, p, run_cpu, run_start, ts, reason, seq);
}

static int on_switch(struct actx *c, const struct evsrc *st)
{
	uint64_t seq = (uint64_t)evsrc_i64(st, 0, 0);
	uint64_t ts = (uint64_t)evsrc_i64(st, 1, 0);
	int32_t cpu = (int32_t)evsrc_i64(st, 2, -1);
	int32_t prev_tid = (int32_t)evsrc_i64(st, 3, -1);
	int64_t raw = evsrc_i64(st, 4, 0);
	const char *pss = evsrc_text(st, 5);
	int32_t next_tid = (int32_t)evsrc_i64(st, 6, -1);
	int64_t stack_id = evsrc_i64(st, 7, -1);
	struct athread *p = prev_tid > 0 ? actx_thread_at(c, prev_tid, seq) : NULL;
	struct athread *n = next_tid > 0 ? actx_thread_at(c, next_tid, seq) : NULL;
	char buf[64];
	int rc = 0;

	if (!pss || !*pss)
		pss = wc_prev_state_str(raw, buf, sizeof(buf));
	if (p && p != n) {
		int kind = switch_kind(pss, p);
		int was_running, is_futex = 0;
		uint64_t run_start;
		int32_t run_cpu;
		int64_t block_id = -1;
		const char *vreason;

		rc = note_running(c, p, ts, cpu);
		if (rc)
			return rc;
		was_running = p->state == TS_RUNNING && p->informed;
		run_start = p->state_start;
		run_cpu = p->state_cpu >= 0 ? p->state_cpu : cpu;
		if (kind == SW_PREEMPT) {
			rc = set_state(c, p, TS_RUNNABLE, ts, cpu, 0, next_tid, -1);
			vreason = "preempted";
		} else if (kind == SW_DEAD) {
			rc = set_state(c, p, TS_DEAD, ts, cpu, 0, -1, -1);
			vreason = "exit";
		} else {
			struct ablock *b = &p->blk;
			int pw_ok = p->pw_valid && ts - p->pw_ts <= PENDING_WAKE_NS;

			rc = block_flush(c, p);
			if (rc)
				return rc;
			memset(b, 0, sizeof(*b));
			b->id = ++c->next_tmp_block;
			b->start_ns = b->end_ns = ts;
			snprintf(b->state, sizeof(b->state), "%s", pss);
			b->cmd = -1;
			b->stack_id = stack_id;
			b->switch_seq = (int64_t)seq;
			b->lock_wait_id = -1;
			if (p->in_call && p->call_wait && kind != SW_IO) {
				is_futex = 1;
				b->reason = "futex";
				b->has_futex = 1;
				b->futex_id = p->call_id;
				b->obj = p->call_obj;
				b->uaddr_known = 1;
				b->uaddr = p->call_obj->uaddr;
				b->cmd = p->call_cmd;
				if (p->lw_open && p->lw_obj == p->call_obj) {
					b->lock_wait_id = p->lw_id;
					p->lw_nblocks++;
				}
				if (p->call_woken && !pw_ok) {
					/* asleep again in the same call */
					p->call_woken = 0;
					p->call_waker_idx = -1;
					p->nhold = 0;
				}
			} else {
				b->reason = kind == SW_IO ? "io" :
					pss[0] == 'S' ? "sleep" : "other";
			}
			p->has_blk = 1;
			block_id = b->id;
			rc = set_state(c, p, kind == SW_IO ? TS_BLOCKED_IO : TS_SLEEPING,
				       ts, cpu, 0, -1, b->id);
			if (!rc && pw_ok)
				rc = block_wake(c, p, p->pw_ts, p->pw_utid > 0 ?
						c->thr[p->pw_utid] : NULL,
						p->pw_tid, p->pw_src, p->pw_uncertain);
			vreason = is_futex ? (p->call_obj->is_global ?
					      "futex_global" : "futex_other") :
				kind == SW_IO ? "io" :
				pss[0] == 'S' ? "sleep" : "other";
		}
		p->pw_valid = 0;
		if (!rc && p->is_vcpu)
			rc = vcpu_rows(c, p, ts, (int64_t)seq, vreason, pss,
				       block_id, stack_id, was_running,
				       run_start, run_cpu);
		if (rc)
			return rc;
	}
	if (n && n != p) {
		thread_touch(c, n);
		if ((n->state == TS_SLEEPING || n->state == TS_BLOCKED_IO) &&
		    n->has_blk && !n->blk.woken) {
			c->n_no_wakeup++;
			rc = futex_woken(c, n, NULL, 0);
			if (!rc)
				rc = block_wake(c, n, ts, NULL, -1, NULL, 1);
			if (rc)
				return rc;
		}
		if (n->has_blk && !n->blk.switched_in) {
			n->blk.switched_in = 1;
			n->blk.switch_in_ns = ts;
		}
		rc = set_state(c, n, TS_RUNNING, ts, cpu, 0, -1, -1);
		n->informed = 1;
	}
	if (!rc)
		rc = mark_cpu_seen(c, cpu);
	return rc;
}

/* sched_waking (KIND 0), sched_wakeup (1), sched_wakeup_new (2). */
static int on_wake(struct actx *c, const struct evsrc *st, int kind)
{
	uint64_t seq = (uint64_t)evsrc_i64(st, 0, 0);
	uint64_t ts = (uint64_t)evsrc_i64(st, 1, 0);
	int32_t cpu = (int32_t)evsrc_i64(st, 2, -1);
	int32_t x_tid = (int32_t)evsrc_i64(st, 3, -1);
	struct athread *x = x_tid > 0 ? actx_thread_at(c, x_tid, seq) : NULL;
	struct athread *t = actx_thread_at(c, (int32_t)evsrc_i64(st, 4, -1), seq);
	const char *src = kind == 0 ? "sched_waking" : "sched_wakeup";
	int fallback = kind == 1;
	int rc = 0;

	if (x) {
		rc = note_running(c, x, ts, cpu);
		if (rc)
			return rc;
	}
	if (!t || t == x)
		return 0;
	if (kind == 2) {
		if (t->state == TS_NONE || (t->state == TS_UNKNOWN && !t->informed)) {
			thread_touch(c, t);
			t->state = TS_RUNNABLE;
			t->runnable_woken = 1;
			t->state_start = t->state_start > ts ? t->state_start : ts;
			t->informed = 1;
		}
		return 0;
	}
	thread_touch(c, t);
	switch (t->state) {
	case TS_SLEEPING:
	case TS_BLOCKED_IO:
		if (!t->has_blk || t->blk.woken)
			break;
		if (fallback)
			c->n_fallback++;
		rc = futex_woken(c, t, x, fallback);
		if (!rc)
			rc = block_wake(c, t, ts, x, x_tid, src, fallback);
		break;
	case TS_RUNNING:
		if (fallback && c->has_waking)
			break;	/* sched_waking already told */
		rc = futex_woken(c, t, x, fallback);
		t->pw_valid = 1;
		t->pw_ts = ts;
		t->pw_tid = x_tid;
		t->pw_utid = x ? x->utid : 0;
		t->pw_src = src;
		t->pw_uncertain = fallback;
		break;
	case TS_UNKNOWN:
		if (t->informed)
			break;
		/* asleep since before the capture: a block of unknown start */
		{
			struct ablock *b = &t->blk;

			rc = block_flush(c, t);
			if (rc)
				return rc;
			memset(b, 0, sizeof(*b));
			b->id = ++c->next_tmp_block;
			b->start_ns = t->state_start;
			snprintf(b->state, sizeof(b->state), "?");
			b->reason = "other";
			b->cmd = -1;
			b->stack_id = b->switch_seq = b->lock_wait_id = -1;
			b->unknown_start = 1;
			b->uncertain = 1;
			t->nhold = 0;
			if (x && x->in_call && x->call_wake && x->call_obj) {
				/* woken by a release: it waited on that word */
				struct holder_ent e = { x->tid, x->utid,
							x->call_enter_ns,
							x->call_id, 1 };

				b->obj = x->call_obj;
				b->uaddr_known = 1;
				b->uaddr = x->call_obj->uaddr;
				rc = hold_push(c, t, &e);
				if (rc)
					return rc;
			}
			t->has_blk = 1;
			t->state = TS_SLEEPING;
			t->state_block = b->id;
			t->informed = 1;
			c->n_unknown_start++;
			if (fallback)
				c->n_fallback++;
			rc = block_wake(c, t, ts, x, x_tid, src, 1);
		}
		break;
	default:
		break;
	}
	return rc;
}

static int on_fork(struct actx *c, const struct evsrc *st)
{
	uint64_t seq = (uint64_t)evsrc_i64(st, 0, 0);
	uint64_t ts = (uint64_t)evsrc_i64(st, 1, 0);
	int32_t cpu = (int32_t)evsrc_i64(st, 2, -1);
	struct athread *p = actx_thread_at(c, (int32_t)evsrc_i64(st, 3, -1), seq);
	struct athread *ch = actx_thread_at(c, (int32_t)evsrc_i64(st, 4, -1), seq);
	int rc = 0;

	if (p)
		rc = note_running(c, p, ts, cpu);
	if (!rc && ch && ch != p && ch->state == TS_NONE) {
		ch->state = TS_RUNNABLE;
		ch->runnable_woken = 1;
		ch->state_start = ts;
		ch->state_cpu = -1;
		ch->state_block = -1;
		ch->preempted_by = -1;
		ch->informed = 1;
	}
	return rc;
}

static int on_exit_ev(struct actx *c, const struct evsrc *st)
{
	uint64_t seq = (uint64_t)evsrc_i64(st, 0, 0);
	struct athread *t = actx_thread_at(c, (int32_t)evsrc_i64(st, 3, -1), seq);

	if (!t)
		return 0;
	t->exited = 1;
	return note_running(c, t, (uint64_t)evsrc_i64(st, 1, 0),
			    (int32_t)evsrc_i64(st, 2, -1));
}

static int on_kvm(struct actx *c, const struct evsrc *st)
{
	uint64_t seq = (uint64_t)evsrc_i64(st, 0, 0);
	uint64_t ts = (uint64_t)evsrc_i64(st, 1, 0);
	struct athread *t = actx_thread_at(c, (int32_t)evsrc_i64(st, 3, -1), seq);
	const char *kind = evsrc_text(st, 4);

	if (!t)
		return 0;
	if (kind && strcmp(kind, "userspace_exit") == 0) {
		t->has_uexit = 1;
		t->last_uexit_ns = ts;
	}
	return note_running(c, t, ts, (int32_t)evsrc_i64(st, 2, -1));
}

/* --- end of capture ------------------------------------------------------------ */

static int finish_thread(struct actx *c, struct athread *t)
{
	int rc = 0;

	if (t->state == TS_NONE)
		return 0;
	if (t->has_blk && !t->blk.woken) {
		t->blk.end_ns = c->t1;
		t->blk.truncated = 1;
		c->n_open_at_end++;
	}
	if (t->is_vcpu && t->state == TS_RUNNING && t->informed &&
	    c->t1 > t->state_start) {
		rc = write_vslice(c, t, t->state_cpu, t->state_start, c->t1,
				  NULL, -1);
	}
	if (!rc)
		rc = emit_state(c, t, c->t1, t->state == TS_SLEEPING && t->has_blk &&
				t->blk.unknown_start);
	if (!rc)
		rc = block_flush(c, t);
	wlist_remove(t);
	t->in_call = 0;
	if (!rc)
		rc = lw_close(c, t);
	return rc;
}

/* --- driver ---------------------------------------------------------------------- */

static int cmp_root(const void *a, const void *b)
{
	const struct hroot *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

int timeline_run(struct actx *c)
{
	static const char *const frame_cols[] = { "stack_id", "symbol" };
	struct cursor cur[CUR_COUNT];
	struct fexit_heap exits = { NULL, 0, 0 };
	int rc = 0;

	memset(cur, 0, sizeof(cur));
	if ((rc = awr_new(c, &c->w_state, "thread_state", "utid, tid, "
			  "start_ns, end_ns, state, cpu, runnable_reason, "
			  "preempted_by, block_id, uncertain", 10)) ||
	    (rc = awr_new(c, &c->w_holder, "block_holder", "block_id, seq, "
			  "holder_tid, holder_utid, from_ns, to_ns, "
			  "release_futex_id, is_waker, certainty", 9)) ||
	    (rc = awr_new(c, &c->w_block, "block", "id, utid, tid, pid, "
			  "start_ns, end_ns, state, reason, futex_id, futex_uaddr,"
			  " futex_pid, futex_cmd, waker_tid, waker_utid, wakeup_ns,"
			  " wakeup_source, switch_in_ns, stack_id, switch_seq,"
			  " lock_wait_id, on_global_lock, is_vcpu, uncertain", 23)) ||
	    (rc = awr_new(c, &c->w_lw, "lock_wait", "id, utid, tid, futex_uaddr,"
			  " futex_pid, start_ns, end_ns, nblocks, ncalls", 9)) ||
	    (rc = awr_new(c, &c->w_vswitch, "vcpu_switch", "utid, tid, ts,"
			  " switch_seq, reason, prev_state_str, block_id, stack_id,"
			  " evidence, kvm_userspace_exit_ns", 10)) ||
	    (rc = awr_new(c, &c->w_vslice, "vcpu_slice", "utid, tid, cpu,"
			  " start_ns, end_ns, end_reason, switch_seq", 7)) ||
	    (rc = chain_open(c)) ||
	    (rc = wc_db_prepare(c->db, c->path,
				"SELECT symbol FROM stack_frame WHERE stack_id = ?1"
				" ORDER BY depth", &c->q_frames, c->err)))
		goto out;
	evsrc_close(&c->frames);	/* a second pass 1 starts over */
	if ((rc = evsrc_open(c, &c->frames, "stack_frame", frame_cols, 2)) ||
	    (rc = evsrc_next(c, &c->frames)))
		goto out;
	for (int k = 0; k < CUR_COUNT; k++) {
		if (!cur_cols[k].cols)
			continue;
		rc = evsrc_open(c, &cur[k].src, cur_table[k], cur_cols[k].cols,
				cur_cols[k].ncols);
		if (!rc)
			rc = cursor_next(c, &cur[k], k);
		if (rc)
			goto out;
	}

	for (;;) {
		int best = -1;

		cur[CUR_FEXIT].has_row = exits.n > 0;
		cur[CUR_FEXIT].seq = exits.n ? exits.v[0].seq : 0;
		for (int k = 0; k < CUR_COUNT; k++)
			if (cur[k].has_row &&
			    (best < 0 || cur[k].seq < cur[best].seq))
				best = k;
		if (best < 0)
			break;
		if (best == CUR_FENTER) {
			/* queue the call's exit; a row without an enter is
			 * only an exit */
			const struct evsrc *st = &cur[best].src;
			int enter_known = !evsrc_null(st, FX_ENTER_SEQ);

			if (!evsrc_null(st, FX_EXIT_SEQ)) {
				struct fexit e;

				e.seq = evsrc_i64(st, FX_EXIT_SEQ, 0);
				e.ts = (uint64_t)evsrc_i64(st, FX_EXIT_NS, 0);
				e.id = evsrc_i64(st, FX_ID, 0);
				e.tid = (int32_t)evsrc_i64(st, FX_TID, -1);
				e.ret = evsrc_i64(st, FX_RET, 0);
				e.enter_known = enter_known;
				if (enter_known && e.seq <= cur[best].seq) {
					rc = wc_err(c->err, WC_EFORMAT, c->path,
						    "futex call %lld exits (seq %lld) before it enters (seq %lld)",
						    (long long)e.id, (long long)e.seq,
						    (long long)cur[best].seq);
					goto out;
				}
				if (heap_push(&exits, &e)) {
					rc = wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
					goto out;
				}
			}
			if (!enter_known) {
				rc = cursor_next(c, &cur[best], best);
				if (rc)
					goto out;
				continue;
			}
		}
		{
			const struct evsrc *st = &cur[best].src;
			uint64_t ts = best == CUR_FEXIT ? exits.v[0].ts
					: (uint64_t)evsrc_i64(st, 1, 0);

			if (!c->started) {
				c->started = 1;
				c->t0 = c->t1 = ts;
			}
			if (ts > c->t1)
				c->t1 = ts;
			switch (best) {
			case CUR_SWITCH: rc = on_switch(c, st); break;
			case CUR_WAKING: rc = on_wake(c, st, 0); break;
			case CUR_WAKEUP: rc = on_wake(c, st, 1); break;
			case CUR_WAKEUP_NEW: rc = on_wake(c, st, 2); break;
			case CUR_FORK: rc = on_fork(c, st); break;
			case CUR_EXIT: rc = on_exit_ev(c, st); break;
			case CUR_FENTER: rc = on_futex_enter(c, st); break;
			case CUR_FEXIT: {
				struct fexit e = exits.v[0];

				heap_pop(&exits);
				rc = on_futex_exit(c, &e);
				break;
			}
			case CUR_KVM: rc = on_kvm(c, st); break;
			}
		}
		if (rc)
			goto out;
		c->nevents++;
		if ((c->nevents & 0xfff) == 0) {
			hist_set_horizon(c, c->t1);
			if (c->opt->interrupted && *c->opt->interrupted) {
				rc = wc_err(c->err, WC_EINTERRUPTED, c->path,
					    "analysis interrupted");
				goto out;
			}
			if (c->opt->progress && (c->nevents & 0xffff) == 0)
				c->opt->progress(c->opt->progress_ctx, c->nevents,
						 c->total_events);
		}
		if (best != CUR_FEXIT)
			rc = cursor_next(c, &cur[best], best);
		if (rc)
			goto out;
	}

	/* blocks still open: all flushed first, then their chains, so
	 * that blocks waiting on each other (deadlocks) see each other's
	 * holders */
	c->defer_chains = 1;
	for (int64_t u = 1; u <= c->max_utid; u++)
		if (c->thr[u] && (rc = finish_thread(c, c->thr[u])))
			goto out;
	if (c->ndeferred > 1)
		qsort(c->deferred, c->ndeferred, sizeof(*c->deferred), cmp_root);
	for (size_t i = 0; i < c->ndeferred && !rc; i++) {
		const struct hroot *r = &c->deferred[i];

		rc = chain_root(c, r);
	}
	if (rc)
		goto out;
	/* the rows still in open chunks, before anything reads them */
	if (!(rc = awr_flush(c, c->w_state)) &&
	    !(rc = awr_flush(c, c->w_holder)) &&
	    !(rc = awr_flush(c, c->w_block)) &&
	    !(rc = awr_flush(c, c->w_lw)) &&
	    !(rc = awr_flush(c, c->w_vswitch)) &&
	    !(rc = awr_flush(c, c->w_vslice)) &&
	    !(rc = chain_flush(c)))
		rc = write_thread_time(c);
out:
	for (int k = 0; k < CUR_COUNT; k++)
		evsrc_close(&cur[k].src);
	free(exits.v);
	return rc;
}
