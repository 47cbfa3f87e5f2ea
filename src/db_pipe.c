/*
 * db_pipe.c - decode | insert on two cores.
 *
 * A wc_sink that copies what an importer delivers (events, names, metadata,
 * buffers, losses) into batches and replays them, in the same order, into
 * another sink (the SQLite writer of db_writer.c) on a second thread.  The
 * writer's whole state (tidmap, futex pairing, seq numbering, statements)
 * lives on that one thread, so the rows are exactly those of a direct
 * import: seq is assigned by the writer in delivery order.
 *
 * Data shapes: a batch is BATCH_ITEMS fixed-size items plus one arena
 * holding every string and stack frame they point to (stored as offsets
 * while the arena may still grow, turned back into pointers on the writer
 * thread).  A batch is handed over when its items or its arena
 * (ARENA_FULL) are full.  At most QUEUE_DEPTH full batches wait for the
 * writer; the importer blocks when the writer falls behind, so memory is
 * bounded (a few MiB per batch) whatever the capture size.
 *
 * Stacks: symbols of new frames are resolved through the importer's
 * symbolizer, whose state changes as the importer reads on (perf MMAP
 * records), so a stack must be resolved when its event is delivered, not
 * when the writer gets to it.  The pipe therefore runs the writer's stack
 * dedup (wc_db_writer_stackset()) itself, on the importer's thread: an
 * event goes across with its stack.id (wc_event.stack_id), preceded by
 * the new stack's resolved frames when it is the first to use it (an
 * IT_STACK item, replayed into the sink's stack()).  Ids and rows are
 * those of a direct import.  An event of a known thread whose process is
 * unknown (pid -1, tid set: trace.dat, where the writer's thread table
 * knows the pid) cannot be resolved here: the first one drains the queue
 * and switches to synchronous mode, every callback from then on going
 * straight to the writer on the importer's thread (which then runs the
 * dedup itself).
 *
 * Errors: a writer error stops the replay; the importer sees it at its
 * next callback, and wc_db_pipe_finish() reports it in preference to
 * whatever the importer said since (the writer's error came first).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db_pipe.h"
#include "waitchain/db.h"
#include "waitchain/stackset.h"

#define BATCH_ITEMS 8192
#define QUEUE_DEPTH 4
#define ARENA_FULL (4u << 20)	/* bytes: hand the batch over */

enum { IT_EVENT, IT_META, IT_BUFFER, IT_COMM, IT_LOST, IT_STACK };

struct item {
	int kind;
	union {
		struct wc_event ev;
		struct {
			const char *key, *value;
		} meta;
		struct wc_buffer_info buf;
		struct {
			uint64_t ts;
			int32_t tid, pid;
			const char *comm;
			enum wc_comm_source src;
		} comm;
		struct {
			int32_t cpu;
			uint64_t ts_from, ts, count;
			const char *kind;
		} lost;
		struct {
			struct wc_stack_def def;	/* frames: an arena offset */
		} stack;
	} u;
};

struct batch {
	struct item items[BATCH_ITEMS];
	size_t n;
	char *arena;		/* strings of the items, owned */
	size_t used, cap;
	struct batch *next;	/* queue / free list link */
};

struct wc_db_pipe {
	struct wc_sink sink;	/* what the importer calls */
	struct wc_sink inner;	/* the writer */
	pthread_t thread;
	int started, joined;
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* queue changed (both directions) */
	struct batch *head, *tail;	/* full batches, oldest first */
	size_t queued;
	struct batch *free_list;
	int busy;		/* the writer thread is replaying a batch */
	int done;		/* no more batches will come */
	int sync;		/* synchronous mode (stacks of unknown processes) */
	struct wc_stackset *stacks;	/* the writer's, run here; NULL: none */
	atomic_int failed;	/* the writer's negative code, 0 */
	struct wc_error err;	/* the writer's error (valid when failed) */
	struct batch *cur;	/* being filled by the importer */
};

/* --- arena (strings, stack frames) ------------------------------------------- */

/* Copies LEN bytes of DATA into B's arena at a multiple of ALIGN (a power
 * of two); returns their offset + 1 disguised as a pointer, or NULL and
 * sets *oom. */
static const void *keep_bytes(struct batch *b, const void *data, size_t len,
			      size_t align, int *oom)
{
	size_t at = (b->used + align - 1) & ~(align - 1);
	size_t need = at + len;

	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(b->arena, cap);
		if (!p) {
			*oom = 1;
			return NULL;
		}
		b->arena = p;
		b->cap = cap;
	}
	memcpy(b->arena + at, data, len);
	b->used = need;
	return (const void *)(uintptr_t)(at + 1);
}

/* Stores string S in B's arena (see keep_bytes(); NULL stays NULL). */
static const char *keep(struct batch *b, const char *s, int *oom)
{
	return s ? keep_bytes(b, s, strlen(s) + 1, 1, oom) : NULL;
}

/* The pointer for an offset made by keep() or keep_bytes(). */
static const void *back_bytes(const struct batch *b, const void *off)
{
	return off ? b->arena + ((uintptr_t)off - 1) : NULL;
}

static const char *back(const struct batch *b, const char *off)
{
	return back_bytes(b, off);
}

/* --- writer thread ------------------------------------------------------------ */

static int replay(struct wc_db_pipe *p, struct batch *b, struct wc_error *err)
{
	int rc = 0;

	for (size_t i = 0; i < b->n && !rc; i++) {
		struct item *it = &b->items[i];
		struct wc_event *ev = &it->u.ev;

		switch (it->kind) {
		case IT_EVENT:
			ev->name = back(b, ev->name);
			switch (ev->type) {
			case WC_EV_SCHED_SWITCH:
				ev->u.sw.prev_comm = back(b, ev->u.sw.prev_comm);
				ev->u.sw.next_comm = back(b, ev->u.sw.next_comm);
				break;
			case WC_EV_SCHED_WAKING:
			case WC_EV_SCHED_WAKEUP:
			case WC_EV_SCHED_WAKEUP_NEW:
				ev->u.wake.comm = back(b, ev->u.wake.comm);
				break;
			case WC_EV_PROCESS_FORK:
				ev->u.fork.parent_comm = back(b, ev->u.fork.parent_comm);
				ev->u.fork.child_comm = back(b, ev->u.fork.child_comm);
				break;
			case WC_EV_PROCESS_EXIT:
				ev->u.exit.comm = back(b, ev->u.exit.comm);
				break;
			case WC_EV_TASK_RENAME:
				ev->u.rename.oldcomm = back(b, ev->u.rename.oldcomm);
				ev->u.rename.newcomm = back(b, ev->u.rename.newcomm);
				break;
			case WC_EV_FUTEX_ENTER:
				ev->u.futex_enter.syscall = back(b, ev->u.futex_enter.syscall);
				break;
			case WC_EV_FUTEX_EXIT:
				ev->u.futex_exit.syscall = back(b, ev->u.futex_exit.syscall);
				break;
			case WC_EV_KVM_ENTRY:
			case WC_EV_KVM_EXIT:
			case WC_EV_KVM_USERSPACE_EXIT:
				ev->u.kvm.isa = back(b, ev->u.kvm.isa);
				break;
			default:
				break;
			}
			if (p->inner.event)
				rc = p->inner.event(p->inner.ctx, ev, err);
			break;
		case IT_META:
			if (p->inner.meta)
				rc = p->inner.meta(p->inner.ctx, back(b, it->u.meta.key),
						   back(b, it->u.meta.value), err);
			break;
		case IT_BUFFER:
			it->u.buf.name = back(b, it->u.buf.name);
			it->u.buf.clock = back(b, it->u.buf.clock);
			if (p->inner.buffer)
				rc = p->inner.buffer(p->inner.ctx, &it->u.buf, err);
			break;
		case IT_COMM:
			if (p->inner.comm)
				rc = p->inner.comm(p->inner.ctx, it->u.comm.ts,
						   it->u.comm.tid, it->u.comm.pid,
						   back(b, it->u.comm.comm),
						   it->u.comm.src, err);
			break;
		case IT_STACK:
			it->u.stack.def.frames = back_bytes(b, it->u.stack.def.frames);
			if (p->inner.stack)
				rc = p->inner.stack(p->inner.ctx, &it->u.stack.def, err);
			break;
		case IT_LOST:
			if (p->inner.lost)
				rc = p->inner.lost(p->inner.ctx, it->u.lost.cpu,
						   it->u.lost.ts_from, it->u.lost.ts,
						   it->u.lost.count,
						   back(b, it->u.lost.kind), err);
			break;
		}
	}
	return rc;
}

static void *writer_main(void *arg)
{
	struct wc_db_pipe *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct batch *b;
		struct wc_error err = WC_ERROR_INIT;
		int rc = 0;

		while (!p->head && !p->done)
			pthread_cond_wait(&p->cv, &p->mu);
		if (!p->head)
			break;
		b = p->head;
		p->head = b->next;
		if (!p->head)
			p->tail = NULL;
		p->queued--;
		p->busy = 1;
		pthread_mutex_unlock(&p->mu);

		if (!atomic_load(&p->failed))
			rc = replay(p, b, &err);

		pthread_mutex_lock(&p->mu);
		if (rc && !atomic_load(&p->failed)) {
			p->err = err;
			atomic_store(&p->failed, rc);
		}
		b->n = 0;
		b->used = 0;
		b->next = p->free_list;
		p->free_list = b;
		p->busy = 0;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* --- importer side --------------------------------------------------------------- */

static int writer_error(struct wc_db_pipe *p, struct wc_error *err)
{
	int rc;

	pthread_mutex_lock(&p->mu);
	rc = atomic_load(&p->failed);
	if (rc && err)
		*err = p->err;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Hands the current batch to the writer (waiting while QUEUE_DEPTH are
 * queued) and takes an empty one.  Returns 0 or a negative code. */
static int push(struct wc_db_pipe *p, struct wc_error *err)
{
	struct batch *b = p->cur;

	pthread_mutex_lock(&p->mu);
	while (p->queued >= QUEUE_DEPTH && !atomic_load(&p->failed))
		pthread_cond_wait(&p->cv, &p->mu);
	if (b && b->n) {
		b->next = NULL;
		if (p->tail)
			p->tail->next = b;
		else
			p->head = b;
		p->tail = b;
		p->queued++;
		p->cur = NULL;
		pthread_cond_broadcast(&p->cv);
	}
	if (!p->cur && p->free_list) {
		p->cur = p->free_list;
		p->free_list = p->cur->next;
	}
	pthread_mutex_unlock(&p->mu);
	if (!p->cur) {
		p->cur = calloc(1, sizeof(*p->cur));
		if (!p->cur)
			return wc_err(err, WC_ENOMEM, NULL, "out of memory");
	}
	return 0;
}

/* Waits until the writer has replayed everything queued so far. */
static void drain(struct wc_db_pipe *p)
{
	pthread_mutex_lock(&p->mu);
	while ((p->head || p->busy) && !atomic_load(&p->failed))
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

/* The next free item of the current batch, or NULL (*rc set). */
static struct item *next_item(struct wc_db_pipe *p, int *rc,
			      struct wc_error *err)
{
	if (atomic_load_explicit(&p->failed, memory_order_acquire) &&
	    (*rc = writer_error(p, err)))
		return NULL;
	if ((!p->cur || p->cur->n == BATCH_ITEMS || p->cur->used >= ARENA_FULL) &&
	    (*rc = push(p, err)))
		return NULL;
	return &p->cur->items[p->cur->n];
}

static int nomem(struct wc_error *err)
{
	return wc_err(err, WC_ENOMEM, NULL, "out of memory queueing events");
}

static int go_sync(struct wc_db_pipe *p, struct wc_error *err)
{
	int rc;

	if (p->cur && p->cur->n && (rc = push(p, err)))
		return rc;
	drain(p);
	p->sync = 1;
	return writer_error(p, err);
}

/* Queues DEF (a stack the writer has not stored yet) before the event
 * that uses it. */
static int queue_stack(struct wc_db_pipe *p, const struct wc_stack_def *def,
		       struct wc_error *err)
{
	struct item *it;
	int rc, oom = 0;

	if (!(it = next_item(p, &rc, err)))
		return rc;
	it->kind = IT_STACK;
	it->u.stack.def = *def;
	/* the strings the frames point to live as long as the stackset */
	it->u.stack.def.frames =
		keep_bytes(p->cur, def->frames, def->nframes * sizeof(*def->frames),
			   _Alignof(struct wc_frame_sym), &oom);
	if (oom)
		return nomem(err);
	p->cur->n++;
	return 0;
}

/* *ID = the stack.id of EV's stack, deduplicated here, its definition
 * queued if new; 0 with *ID = 0 when the stack must go to the writer as
 * it is (synchronous mode from now on), or a negative code. */
static int dedup_stack(struct wc_db_pipe *p, const struct wc_event *ev,
		       int64_t *id, struct wc_error *err)
{
	const struct wc_stack_def *def;
	int rc;

	*id = 0;
	if (!wc_db_stores_stack(ev))
		return 0;
	/* the writer takes an unknown pid from its thread table, when the
	 * thread is known (tid >= 0) */
	if (!p->stacks || (ev->pid < 0 && ev->tid >= 0))
		return go_sync(p, err);
	rc = wc_stackset_intern(p->stacks, ev->stack, ev->pid, id, &def, err);
	if (!rc && def)
		rc = queue_stack(p, def, err);
	return rc;
}

static int pipe_event(void *ctx, const struct wc_event *ev, struct wc_error *err)
{
	struct wc_db_pipe *p = ctx;
	struct item *it;
	struct wc_event *c;
	struct batch *b;
	int64_t stack_id = 0;
	int rc, oom = 0;

	if (!p->sync && (rc = dedup_stack(p, ev, &stack_id, err)))
		return rc;
	if (p->sync)
		return p->inner.event ? p->inner.event(p->inner.ctx, ev, err) : 0;
	if (!(it = next_item(p, &rc, err)))
		return rc;
	b = p->cur;
	it->kind = IT_EVENT;
	c = &it->u.ev;
	*c = *ev;
	c->stack = NULL;
	c->stack_id = stack_id;
	c->name = keep(b, ev->name, &oom);
	switch (ev->type) {
	case WC_EV_SCHED_SWITCH:
		c->u.sw.prev_comm = keep(b, ev->u.sw.prev_comm, &oom);
		c->u.sw.next_comm = keep(b, ev->u.sw.next_comm, &oom);
		break;
	case WC_EV_SCHED_WAKING:
	case WC_EV_SCHED_WAKEUP:
	case WC_EV_SCHED_WAKEUP_NEW:
		c->u.wake.comm = keep(b, ev->u.wake.comm, &oom);
		break;
	case WC_EV_PROCESS_FORK:
		c->u.fork.parent_comm = keep(b, ev->u.fork.parent_comm, &oom);
		c->u.fork.child_comm = keep(b, ev->u.fork.child_comm, &oom);
		break;
	case WC_EV_PROCESS_EXIT:
		c->u.exit.comm = keep(b, ev->u.exit.comm, &oom);
		break;
	case WC_EV_TASK_RENAME:
		c->u.rename.oldcomm = keep(b, ev->u.rename.oldcomm, &oom);
		c->u.rename.newcomm = keep(b, ev->u.rename.newcomm, &oom);
		break;
	case WC_EV_FUTEX_ENTER:
		c->u.futex_enter.syscall = keep(b, ev->u.futex_enter.syscall, &oom);
		break;
	case WC_EV_FUTEX_EXIT:
		c->u.futex_exit.syscall = keep(b, ev->u.futex_exit.syscall, &oom);
		break;
	case WC_EV_KVM_ENTRY:
	case WC_EV_KVM_EXIT:
	case WC_EV_KVM_USERSPACE_EXIT:
		c->u.kvm.isa = keep(b, ev->u.kvm.isa, &oom);
		break;
	default:
		break;
	}
	if (oom)
		return nomem(err);
	b->n++;
	return 0;
}

static int pipe_meta(void *ctx, const char *key, const char *value,
		     struct wc_error *err)
{
	struct wc_db_pipe *p = ctx;
	struct item *it;
	int rc, oom = 0;

	if (p->sync)
		return p->inner.meta ? p->inner.meta(p->inner.ctx, key, value, err) : 0;
	if (!(it = next_item(p, &rc, err)))
		return rc;
	it->kind = IT_META;
	it->u.meta.key = keep(p->cur, key, &oom);
	it->u.meta.value = keep(p->cur, value, &oom);
	if (oom)
		return nomem(err);
	p->cur->n++;
	return 0;
}

static int pipe_buffer(void *ctx, const struct wc_buffer_info *bi,
		       struct wc_error *err)
{
	struct wc_db_pipe *p = ctx;
	struct item *it;
	int rc, oom = 0;

	if (p->sync)
		return p->inner.buffer ? p->inner.buffer(p->inner.ctx, bi, err) : 0;
	if (!(it = next_item(p, &rc, err)))
		return rc;
	it->kind = IT_BUFFER;
	it->u.buf = *bi;
	it->u.buf.name = keep(p->cur, bi->name, &oom);
	it->u.buf.clock = keep(p->cur, bi->clock, &oom);
	if (oom)
		return nomem(err);
	p->cur->n++;
	return 0;
}

static int pipe_comm(void *ctx, uint64_t ts, int32_t tid, int32_t pid,
		     const char *comm, enum wc_comm_source src,
		     struct wc_error *err)
{
	struct wc_db_pipe *p = ctx;
	struct item *it;
	int rc, oom = 0;

	if (p->sync)
		return p->inner.comm ? p->inner.comm(p->inner.ctx, ts, tid, pid,
						     comm, src, err) : 0;
	if (!(it = next_item(p, &rc, err)))
		return rc;
	it->kind = IT_COMM;
	it->u.comm.ts = ts;
	it->u.comm.tid = tid;
	it->u.comm.pid = pid;
	it->u.comm.src = src;
	it->u.comm.comm = keep(p->cur, comm, &oom);
	if (oom)
		return nomem(err);
	p->cur->n++;
	return 0;
}

static int pipe_lost(void *ctx, int32_t cpu, uint64_t ts_from, uint64_t ts,
		     uint64_t count, const char *kind, struct wc_error *err)
{
	struct wc_db_pipe *p = ctx;
	struct item *it;
	int rc, oom = 0;

	if (p->sync)
		return p->inner.lost ? p->inner.lost(p->inner.ctx, cpu, ts_from,
						     ts, count, kind, err) : 0;
	if (!(it = next_item(p, &rc, err)))
		return rc;
	it->kind = IT_LOST;
	it->u.lost.cpu = cpu;
	it->u.lost.ts_from = ts_from;
	it->u.lost.ts = ts;
	it->u.lost.count = count;
	it->u.lost.kind = keep(p->cur, kind, &oom);
	if (oom)
		return nomem(err);
	p->cur->n++;
	return 0;
}

/* --- life cycle -------------------------------------------------------------------- */

int wc_db_pipe_new(const struct wc_sink *inner, struct wc_stackset *stacks,
		   struct wc_db_pipe **out, struct wc_error *err)
{
	struct wc_db_pipe *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return wc_err(err, WC_ENOMEM, NULL, "out of memory");
	p->inner = *inner;
	p->stacks = inner->stack ? stacks : NULL;
	p->sink.ctx = p;
	p->sink.event = pipe_event;
	p->sink.meta = pipe_meta;
	p->sink.buffer = pipe_buffer;
	p->sink.comm = pipe_comm;
	p->sink.lost = pipe_lost;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (pthread_create(&p->thread, NULL, writer_main, p) != 0) {
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		free(p);
		return wc_err(err, WC_ENOMEM, NULL, "cannot start the writer thread");
	}
	p->started = 1;
	*out = p;
	return 0;
}

const struct wc_sink *wc_db_pipe_sink(struct wc_db_pipe *p)
{
	return &p->sink;
}

/* Stops the writer thread once it has replayed what was queued. */
static void stop(struct wc_db_pipe *p)
{
	if (!p->started || p->joined)
		return;
	pthread_mutex_lock(&p->mu);
	p->done = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	p->joined = 1;
}

int wc_db_pipe_finish(struct wc_db_pipe *p, struct wc_error *err)
{
	int rc = 0;

	if (!p->sync && p->cur && p->cur->n)
		rc = push(p, err);
	stop(p);
	if (!rc)
		rc = writer_error(p, err);
	return rc;
}

int wc_db_pipe_failed(struct wc_db_pipe *p, struct wc_error *err)
{
	return writer_error(p, err);
}

static void free_batches(struct batch *b)
{
	while (b) {
		struct batch *next = b->next;

		free(b->arena);
		free(b);
		b = next;
	}
}

void wc_db_pipe_free(struct wc_db_pipe *p)
{
	if (!p)
		return;
	atomic_store(&p->failed, atomic_load(&p->failed) ? atomic_load(&p->failed)
							 : -WC_EINTERRUPTED);
	stop(p);
	free_batches(p->head);
	free_batches(p->free_list);
	if (p->cur) {
		free(p->cur->arena);
		free(p->cur);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
