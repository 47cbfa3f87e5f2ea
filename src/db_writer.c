/*
 * db_writer.c - the SQLite sink: normalized events -> case database rows.
 *
 * One pass, one transaction, statements prepared once and reused
 * (bind/step/reset; strings bound SQLITE_STATIC because every insert runs
 * while the importer's strings are still alive).  Memory is bounded by
 * what the capture names, never by how many events it holds:
 *
 *   threads      one struct thread per utid (tidmap.h rules)
 *   futex calls  one pending enter per thread inside a futex call
 *   stacks       a fixed budget (include/waitchain/stackset.h): a stack
 *                seen again after its cache generation was dropped is
 *                stored again under a new id
 *   names        interned event names, syscall names, symbols, DSOs
 *
 * A futex system call becomes ONE futex row, written at its exit (or at
 * the end for calls still running, or when the thread enters again
 * without an exit: lost events).  futex.id is assigned when the call is
 * first seen, so ids follow call start order.
 *
 * Everything coming from the capture is untrusted: strings are stored as
 * given (escaping is the reader's job), numbers are stored as their bit
 * patterns, nothing here asserts on capture data.
 *
 * Speed: per event, one hash look-up per tid mentioned, one bind/step per
 * row, no allocation (names are compared with the thread's last name and
 * copied only when they change), so the load runs at SQLite's bulk-insert
 * rate.  Indexes are built once at the end (schema/090_indexes.sql), and
 * only those waitchain reads.  On two cores, src/db_pipe.c runs this whole
 * sink on a second thread (the importer decodes on the first), so all the
 * state here stays single-threaded and rows are identical; the one piece
 * it borrows is the stack dedup (wc_db_writer_stackset()), which it runs
 * on the importer's thread and hands over the results (wc_event.stack_id,
 * the sink's stack()), never both at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waitchain/coltab.h"
#include "waitchain/db.h"
#include "waitchain/stackset.h"
#include "waitchain/tidmap.h"
#include "waitchain/util.h"

/* --- per-event-name counts -------------------------------------------------- */

struct evcount {
	const char *name;	/* interned */
	uint64_t hash;
	uint64_t count;
	int stored;
};

struct evcounts {
	struct evcount *slots;
	size_t nslots, nused;
};

static struct evcount *evcount_find(struct evcounts *c, struct wc_strset *names,
				    const char *name)
{
	uint64_t h = wc_hash_str(name);
	size_t i;

	if ((c->nused + 1) * 2 > c->nslots) {
		size_t n = c->nslots ? c->nslots * 2 : 32;
		struct evcount *slots = calloc(n, sizeof(*slots));

		if (!slots)
			return NULL;
		for (size_t k = 0; k < c->nslots; k++) {
			size_t j;

			if (!c->slots[k].name)
				continue;
			j = c->slots[k].hash & (n - 1);
			while (slots[j].name)
				j = (j + 1) & (n - 1);
			slots[j] = c->slots[k];
		}
		free(c->slots);
		c->slots = slots;
		c->nslots = n;
	}
	i = h & (c->nslots - 1);
	while (c->slots[i].name) {
		if (c->slots[i].hash == h && strcmp(c->slots[i].name, name) == 0)
			return &c->slots[i];
		i = (i + 1) & (c->nslots - 1);
	}
	c->slots[i].name = wc_strset_intern(names, name);
	if (!c->slots[i].name)
		return NULL;
	c->slots[i].hash = h;
	c->nused++;
	return &c->slots[i];
}

/* --- threads ----------------------------------------------------------------- */

enum { PID_NONE, PID_CAPTURE, PID_FORK };

struct thread {
	int32_t tid;
	int32_t pid;		/* -1 unknown */
	int32_t parent_tid;	/* -1 unknown */
	uint8_t pid_source;	/* PID_* */
	uint8_t from_events;	/* 0: known from names only */
	uint8_t has_forked, has_exited;
	uint64_t start_ns, end_ns, start_seq;
	uint64_t forked_ns, exited_ns;
	char *comm;		/* last seen, owned */
};

/* A name observed for a tid that no event has mentioned yet. */
struct pending_name {
	uint64_t ts;
	char *comm;		/* owned */
	const char *source;	/* static */
	int32_t next;		/* next pending name of the same tid, -1 */
};

struct pending_tid {
	int32_t tid;
	int32_t pid;		/* from the observation, -1 unknown */
	int32_t first, last;	/* pending_name indexes, -1 once flushed */
};

/* --- futex calls ------------------------------------------------------------ */

struct futex_call {
	int64_t id;
	uint64_t enter_seq, enter_ns;
	uint64_t uaddr, uaddr2, utime;
	int64_t stack_id;	/* 0 = none */
	const char *syscall;	/* interned */
	int32_t tid, pid, cpu, op, buffer;
	uint32_t val, val3;
};

struct futex_slot {
	int32_t tid;
	uint8_t used;		/* key present */
	uint8_t open;		/* call is pending */
	struct futex_call call;
};

/* --- the writer ----------------------------------------------------------------- */

enum {
	ST_SWITCH, ST_WAKING, ST_WAKEUP, ST_WAKEUP_NEW, ST_FORK, ST_EXIT,
	ST_RENAME, ST_FUTEX, ST_KVM, ST_LOST, ST_META, ST_BUFFER, ST_TNAME,
	ST_STACK, ST_FRAME, ST_THREAD, ST_EVCOUNT, ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_SWITCH] = NULL,	/* columnar: see coltab_table */
	[ST_WAKING] = NULL,	/* columnar: see coltab_table */
	[ST_WAKEUP] = NULL,	/* columnar: see coltab_table */
	[ST_WAKEUP_NEW] = "INSERT INTO sched_wakeup_new(seq, ts, cpu, waker_tid, tid, comm, prio, target_cpu, buffer, stack_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_FORK] = "INSERT INTO sched_process_fork(seq, ts, cpu, tid, parent_tid, parent_comm, child_tid, child_comm, buffer, stack_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_EXIT] = "INSERT INTO sched_process_exit(seq, ts, cpu, tid, comm, prio, buffer, stack_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_RENAME] = "INSERT INTO task_rename(seq, ts, cpu, tid, oldcomm, newcomm, buffer, stack_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_FUTEX] = NULL,	/* columnar: see coltab_table */
	[ST_KVM] = NULL,	/* columnar: see coltab_table */
	[ST_LOST] = "INSERT INTO lost(cpu, ts_from_ns, ts_ns, count, kind) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_META] = "INSERT OR REPLACE INTO capture(key, value) VALUES (?1, ?2)",
	[ST_BUFFER] = "INSERT OR REPLACE INTO buffer(id, name, clock, ncpus, nevents, imported) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_TNAME] = "INSERT INTO thread_name(utid, tid, ts, comm, source) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_STACK] = "INSERT INTO stack(id, nframes, hash) VALUES (?1, ?2, ?3)",
	[ST_FRAME] = NULL,	/* columnar: see coltab_table */
	[ST_THREAD] = "INSERT INTO thread(utid, tid, pid, pid_source, comm, start_ns, end_ns, start_seq, forked_ns, exited_ns, parent_tid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[ST_EVCOUNT] = "INSERT OR REPLACE INTO event_count(name, count, stored) VALUES (?1, ?2, ?3)",
};

/* The columnar tables (coltab.h), by statement slot. */
static const char *const coltab_table[ST_COUNT] = {
	[ST_SWITCH] = "sched_switch", [ST_WAKING] = "sched_waking",
	[ST_WAKEUP] = "sched_wakeup", [ST_FUTEX] = "futex",
	[ST_KVM] = "kvm_event", [ST_FRAME] = "stack_frame",
};

/* futex columns (0-based, declaration order) that the exit sets. */
enum { FX_EXIT_SEQ = 2, FX_EXIT_NS = 7, FX_RET = 17 };

struct wc_db_writer {
	sqlite3 *db;
	const char *path;
	struct wc_sink sink;
	sqlite3_stmt *st[ST_COUNT];	/* row tables */
	struct wc_coltab_writer *ct[ST_COUNT];	/* columnar tables */
	int in_tx, finished;
	volatile int *interrupted;
	void (*progress)(void *ctx, uint64_t events);
	void *progress_ctx;
	uint64_t started_ns;

	uint64_t seq;		/* events delivered */
	uint64_t first_ts, last_ts;
	int has_stacks;

	struct wc_tidmap *tids;
	struct thread *threads;	/* index utid - 1 */
	size_t nthreads, cap_threads;

	struct wc_tidmap *pend_map;	/* tid -> pending_tid index + 1 */
	struct pending_tid *pend_tids;
	size_t npend_tids, cap_pend_tids;
	struct pending_name *pend_names;
	size_t npend_names, cap_pend_names;

	struct futex_slot *futex;
	size_t futex_nslots, futex_nused;
	int64_t next_futex_id;

	struct wc_stackset *stacks;	/* stack dedup (stackset.h) */
	struct wc_strset strings;	/* event names, syscalls, symbols, DSOs */
	struct evcounts counts;
	/* the last event name counted per event type: most events repeat
	 * the name of the last one of their type (strcmp, no hashing) */
	struct evname_cache {
		char name[64];
		struct evcount *cnt;
	} last_count[WC_EV_TYPE_COUNT];
	size_t last_count_nslots;	/* counts.nslots when last_count was filled */
	char opname[64];	/* wc_futex_op_name() of opname_op */
	int32_t opname_op;
	int opname_valid;
};

#define NOMEM(w, err) wc_err(err, WC_ENOMEM, (w)->path, "out of memory while importing")

static int step_reset(struct wc_db_writer *w, sqlite3_stmt *st,
		      struct wc_error *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return wc_err(err, WC_EDB, w->path, "cannot insert: %s (%.60s)",
			      sqlite3_errmsg(w->db), sqlite3_sql(st));
	return 0;
}

static void bind_i64_or_null(sqlite3_stmt *st, int i, int present, int64_t v)
{
	if (present)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* --- prev_state and futex op names ---------------------------------------- */

/*
 * One event row on its way to a row table (a prepared INSERT whose
 * parameter i+1 is column i) or to a columnar table (coltab.h): the
 * ev_* functions fill columns by 0-based index either way.
 */
struct rowdst {
	sqlite3_stmt *st;
	struct wc_coltab_writer *ct;
};

static struct rowdst dst_begin(struct wc_db_writer *w, int slot)
{
	struct rowdst d = { w->st[slot], w->ct[slot] };

	if (d.ct)
		wc_coltab_row(d.ct);
	return d;
}

static void dst_int(struct rowdst *d, int col, int64_t v)
{
	if (d->ct)
		wc_coltab_set_int(d->ct, col, v);
	else
		sqlite3_bind_int64(d->st, col + 1, v);
}

static void dst_int_or_null(struct rowdst *d, int col, int present, int64_t v)
{
	if (present)
		dst_int(d, col, v);
	else if (d->ct)
		wc_coltab_set_null(d->ct, col);
	else
		sqlite3_bind_null(d->st, col + 1);
}

/* TEXT may be NULL (stored as NULL); it is copied before return. */
static int dst_text(struct rowdst *d, int col, const char *text,
		    struct wc_error *err)
{
	if (d->ct)
		return wc_coltab_set_text(d->ct, col, text, err);
	bind_text(d->st, col + 1, text);
	return 0;
}

static int dst_done(struct wc_db_writer *w, struct rowdst *d,
		    struct wc_error *err)
{
	return d->ct ? wc_coltab_append(d->ct, err) : step_reset(w, d->st, err);
}

const char *wc_prev_state_str(int64_t state, char *buf, size_t size)
{
	static const char letters[] = "SDTtXZPI";
	size_t n = 0;

	if (size < 32) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	for (int bit = 0; bit < 8; bit++) {
		if (!(state & (1 << bit)))
			continue;
		if (n)
			buf[n++] = '|';
		buf[n++] = letters[bit];
	}
	if (n == 0)
		buf[n++] = 'R';
	if ((uint64_t)state >> 8)
		buf[n++] = '+';
	buf[n] = '\0';
	return buf;
}

const char *wc_futex_op_name(int32_t op, char *buf, size_t size)
{
	static const char *const names[] = {
		"WAIT", "WAKE", "FD", "REQUEUE", "CMP_REQUEUE", "WAKE_OP",
		"LOCK_PI", "UNLOCK_PI", "TRYLOCK_PI", "WAIT_BITSET",
		"WAKE_BITSET", "WAIT_REQUEUE_PI", "CMP_REQUEUE_PI", "LOCK_PI2",
	};
	int cmd = op & WC_FUTEX_CMD_MASK;

	if (cmd < (int)WC_ARRAY_SIZE(names))
		snprintf(buf, size, "%s", names[cmd]);
	else if (cmd == WC_FUTEX_WAITV)
		snprintf(buf, size, "WAITV");
	else
		snprintf(buf, size, "CMD_%d", cmd);
	if (op & WC_FUTEX_PRIVATE_FLAG)
		snprintf(buf + strlen(buf), size - strlen(buf), "|PRIVATE");
	if (op & WC_FUTEX_CLOCK_REALTIME)
		snprintf(buf + strlen(buf), size - strlen(buf),
			 "|CLOCK_REALTIME");
	return buf;
}

/* --- threads ------------------------------------------------------------------ */

static const char *const comm_source_name[] = {
	[WC_COMM_CMDLINES] = "cmdlines",
	[WC_COMM_RECORD] = "comm_record",
	[WC_COMM_EXEC] = "exec",
	[WC_COMM_EVENT] = "event",
	[WC_COMM_RENAME] = "task_rename",
};

static int write_name(struct wc_db_writer *w, int64_t utid, int32_t tid,
		      uint64_t ts, const char *comm, const char *source,
		      struct wc_error *err)
{
	sqlite3_stmt *st = w->st[ST_TNAME];

	sqlite3_bind_int64(st, 1, utid);
	sqlite3_bind_int(st, 2, tid);
	bind_i64_or_null(st, 3, ts != 0, (int64_t)ts);
	bind_text(st, 4, comm);
	sqlite3_bind_text(st, 5, source, -1, SQLITE_STATIC);
	return step_reset(w, st, err);
}

/* Records that thread UTID was seen named COMM at TS (from SOURCE):
 * a thread_name row when the name changes, and the thread's last name. */
static int set_comm(struct wc_db_writer *w, int64_t utid, uint64_t ts,
		    const char *comm, const char *source, struct wc_error *err)
{
	struct thread *t = &w->threads[utid - 1];
	char *copy;

	if (!comm || (t->comm && strcmp(t->comm, comm) == 0))
		return 0;
	copy = strdup(comm);
	if (!copy)
		return NOMEM(w, err);
	free(t->comm);
	t->comm = copy;
	return write_name(w, utid, t->tid, ts, comm, source, err);
}

/* Moves names observed before TID's first event to thread UTID. */
static int flush_pending_names(struct wc_db_writer *w, int64_t utid,
			       int32_t tid, struct wc_error *err)
{
	int64_t p = wc_tidmap_lookup(w->pend_map, tid);
	struct pending_tid *pt;
	struct thread *t = &w->threads[utid - 1];
	int rc = 0;

	if (p <= 0)
		return 0;
	pt = &w->pend_tids[p - 1];
	if (pt->pid >= 0 && t->pid_source == PID_NONE) {
		t->pid = pt->pid;
		t->pid_source = PID_CAPTURE;
	}
	for (int32_t i = pt->first; i >= 0 && !rc;) {
		struct pending_name *pn = &w->pend_names[i];

		rc = set_comm(w, utid, pn->ts, pn->comm, pn->source, err);
		free(pn->comm);
		pn->comm = NULL;
		i = pn->next;
	}
	pt->first = pt->last = -1;
	return rc;
}

static int64_t add_thread(struct wc_db_writer *w, int64_t utid, int32_t tid,
			  uint64_t ts, int from_events, struct wc_error *err)
{
	struct thread *t;

	if ((size_t)utid != w->nthreads + 1)
		return wc_err(err, WC_EIO, w->path, "internal: utid out of order");
	if (w->nthreads == w->cap_threads) {
		size_t cap = w->cap_threads ? w->cap_threads * 2 : 256;
		struct thread *p = realloc(w->threads, cap * sizeof(*p));

		if (!p)
			return NOMEM(w, err);
		w->threads = p;
		w->cap_threads = cap;
	}
	t = &w->threads[w->nthreads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->pid = -1;
	t->parent_tid = -1;
	t->from_events = (uint8_t)from_events;
	t->start_ns = t->end_ns = ts;
	t->start_seq = w->seq;
	if (from_events)
		return flush_pending_names(w, utid, tid, err);
	return 0;
}

/* Rule 1/2 of tidmap.h: the utid of TID mentioned by the current event,
 * creating the thread on first sight; updates its time span.  Returns
 * the utid (> 0), or a negative code. */
static int64_t mention(struct wc_db_writer *w, int32_t tid, uint64_t ts,
		       struct wc_error *err)
{
	int created;
	int64_t utid = wc_tidmap_get(w->tids, tid, w->seq, &created);
	struct thread *t;

	if (utid < 0)
		return NOMEM(w, err);
	if (created) {
		int rc = add_thread(w, utid, tid, ts, 1, err);

		if (rc)
			return rc;
		return utid;
	}
	t = &w->threads[utid - 1];
	if (ts < t->start_ns)
		t->start_ns = ts;
	if (ts > t->end_ns)
		t->end_ns = ts;
	return utid;
}

/* --- futex pairing -------------------------------------------------------------- */

static struct futex_slot *futex_slot(struct wc_db_writer *w, int32_t tid,
				     int create)
{
	size_t mask, i;

	if (create && (w->futex_nused + 1) * 2 > w->futex_nslots) {
		size_t n = w->futex_nslots ? w->futex_nslots * 2 : 256;
		struct futex_slot *slots = calloc(n, sizeof(*slots));

		if (!slots)
			return NULL;
		for (size_t k = 0; k < w->futex_nslots; k++) {
			size_t j;

			if (!w->futex[k].used)
				continue;
			j = wc_mix64((uint32_t)w->futex[k].tid) & (n - 1);
			while (slots[j].used)
				j = (j + 1) & (n - 1);
			slots[j] = w->futex[k];
		}
		free(w->futex);
		w->futex = slots;
		w->futex_nslots = n;
	}
	if (!w->futex_nslots)
		return NULL;
	mask = w->futex_nslots - 1;
	i = wc_mix64((uint32_t)tid) & mask;
	while (w->futex[i].used) {
		if (w->futex[i].tid == tid)
			return &w->futex[i];
		i = (i + 1) & mask;
	}
	if (!create)
		return NULL;
	w->futex[i].used = 1;
	w->futex[i].tid = tid;
	w->futex_nused++;
	return &w->futex[i];
}

/* Appends one futex row: C is the enter (NULL if not seen), EXIT_EV the
 * exit event (NULL if not seen or not yet happened: wc_coltab_patch()
 * sets the exit columns when it comes). */
static int write_futex(struct wc_db_writer *w, const struct futex_call *c,
		       const struct wc_event *exit_ev, uint64_t exit_seq,
		       struct wc_error *err)
{
	struct rowdst d = dst_begin(w, ST_FUTEX);
	int32_t tid = c ? c->tid : exit_ev->tid;
	int32_t pid = c ? c->pid : exit_ev->pid;
	int64_t stack = c ? c->stack_id : 0;
	int rc;

	dst_int(&d, 0, c ? c->id : ++w->next_futex_id);
	dst_int_or_null(&d, 1, c != NULL, c ? (int64_t)c->enter_seq : 0);
	dst_int_or_null(&d, FX_EXIT_SEQ, exit_ev != NULL, (int64_t)exit_seq);
	dst_int(&d, 3, tid);
	dst_int_or_null(&d, 4, pid >= 0, pid);
	dst_int_or_null(&d, 5, c && c->cpu >= 0, c ? c->cpu : 0);
	dst_int_or_null(&d, 6, c != NULL, c ? (int64_t)c->enter_ns : 0);
	dst_int_or_null(&d, FX_EXIT_NS, exit_ev != NULL,
			exit_ev ? (int64_t)exit_ev->ts : 0);
	if (c)
		rc = dst_text(&d, 8, c->syscall, err);
	else
		rc = dst_text(&d, 8, exit_ev->u.futex_exit.syscall
				     ? exit_ev->u.futex_exit.syscall : "futex",
			      err);
	if (rc)
		return rc;
	if (c) {
		dst_int(&d, 9, (int64_t)c->uaddr);
		dst_int(&d, 10, c->op);
		dst_int(&d, 11, c->op & WC_FUTEX_CMD_MASK);
		if (!w->opname_valid || w->opname_op != c->op) {
			/* formatted once per distinct op, not per call */
			wc_futex_op_name(c->op, w->opname, sizeof(w->opname));
			w->opname_op = c->op;
			w->opname_valid = 1;
		}
		rc = dst_text(&d, 12, w->opname, err);
		if (rc)
			return rc;
		dst_int(&d, 13, c->val);
		dst_int(&d, 14, (int64_t)c->utime);
		dst_int(&d, 15, (int64_t)c->uaddr2);
		dst_int(&d, 16, c->val3);
	} else {
		for (int i = 9; i <= 16; i++)
			dst_int_or_null(&d, i, 0, 0);
	}
	dst_int_or_null(&d, FX_RET, exit_ev != NULL,
			exit_ev ? exit_ev->u.futex_exit.ret : 0);
	dst_int(&d, 18, c ? c->buffer : exit_ev->buffer);
	dst_int_or_null(&d, 19, stack > 0, stack);
	return dst_done(w, &d, err);
}

static const char *intern_syscall(struct wc_db_writer *w, const char *name)
{
	return wc_strset_intern(&w->strings, name ? name : "futex");
}

static int futex_enter(struct wc_db_writer *w, const struct wc_event *ev,
		       int64_t stack_id, struct wc_error *err)
{
	struct futex_slot *s = futex_slot(w, ev->tid, 1);
	struct futex_call *c;
	int rc = 0;

	if (!s)
		return NOMEM(w, err);
	/* entered again without an exit: the exit was lost, the row of
	 * that call stays without exit columns */
	s->open = 0;
	c = &s->call;
	c->id = ++w->next_futex_id;
	c->enter_seq = w->seq;
	c->enter_ns = ev->ts;
	c->tid = ev->tid;
	c->pid = ev->pid;
	c->cpu = ev->cpu;
	c->buffer = ev->buffer;
	c->stack_id = stack_id;
	c->syscall = intern_syscall(w, ev->u.futex_enter.syscall);
	if (!c->syscall)
		return NOMEM(w, err);
	c->uaddr = ev->u.futex_enter.uaddr;
	c->uaddr2 = ev->u.futex_enter.uaddr2;
	c->utime = ev->u.futex_enter.utime;
	c->op = ev->u.futex_enter.op;
	c->val = ev->u.futex_enter.val;
	c->val3 = ev->u.futex_enter.val3;
	rc = write_futex(w, c, NULL, 0, err);
	s->open = rc == 0;
	return rc;
}

static int futex_exit(struct wc_db_writer *w, const struct wc_event *ev,
		      struct wc_error *err)
{
	struct futex_slot *s = futex_slot(w, ev->tid, 0);
	static const int cols[3] = { FX_EXIT_SEQ, FX_EXIT_NS, FX_RET };
	static const uint8_t present[3] = { 1, 1, 1 };
	int64_t vals[3];

	if (!s || !s->open)
		return write_futex(w, NULL, ev, w->seq, err);
	s->open = 0;
	vals[0] = (int64_t)w->seq;
	vals[1] = (int64_t)ev->ts;
	vals[2] = ev->u.futex_exit.ret;
	return wc_coltab_patch(w->ct[ST_FUTEX], s->call.id, 3, cols, vals,
			       present, err);
}

/* --- stacks ---------------------------------------------------------------------- */

/* Stores DEF: its stack row and one stack_frame row per frame. */
static int write_stack(struct wc_db_writer *w, const struct wc_stack_def *def,
		       struct wc_error *err)
{
	sqlite3_stmt *st = w->st[ST_STACK];
	int rc;

	w->has_stacks = 1;
	sqlite3_bind_int64(st, 1, def->id);
	sqlite3_bind_int64(st, 2, def->nframes);
	sqlite3_bind_int64(st, 3, (int64_t)def->hash);
	rc = step_reset(w, st, err);
	for (uint32_t i = 0; !rc && i < def->nframes; i++) {
		const struct wc_frame_sym *f = &def->frames[i];
		/* column 0 is the hidden row key, left to the writer */
		struct rowdst d = dst_begin(w, ST_FRAME);

		dst_int(&d, 1, def->id);
		dst_int(&d, 2, i);
		dst_int(&d, 3, (int64_t)f->ip);
		dst_int(&d, 4, !!f->kernel);
		rc = dst_text(&d, 5, f->symbol, err);
		dst_int_or_null(&d, 6, f->symbol != NULL, (int64_t)f->symbol_offset);
		if (!rc)
			rc = dst_text(&d, 7, f->dso, err);
		dst_int_or_null(&d, 8, f->dso != NULL, (int64_t)f->dso_offset);
		if (!rc)
			rc = dst_done(w, &d, err);
	}
	return rc;
}

/* The stack.id of EV's stack (0 for none or one not stored:
 * wc_db_stores_stack()), storing the stack the first time, or a negative
 * code. */
static int64_t event_stack_id(struct wc_db_writer *w, const struct wc_event *ev,
			      struct wc_error *err)
{
	const struct wc_stack_def *def;
	int32_t pid = ev->pid;
	int64_t id;
	int rc;

	if (ev->stack_id > 0) {
		w->has_stacks = 1;
		return ev->stack_id;	/* deduplicated upstream (db_pipe.c) */
	}
	if (!wc_db_stores_stack(ev))
		return 0;
	w->has_stacks = 1;
	if (pid < 0 && ev->tid >= 0) {
		int64_t u = wc_tidmap_lookup(w->tids, ev->tid);

		pid = u > 0 ? w->threads[u - 1].pid : -1;
	}
	rc = wc_stackset_intern(w->stacks, ev->stack, pid, &id, &def, err);
	if (!rc && def)
		rc = write_stack(w, def, err);
	return rc ? rc : id;
}

/* --- sink callbacks ----------------------------------------------------------------- */

static int sink_stack(void *ctx, const struct wc_stack_def *def,
		      struct wc_error *err)
{
	return write_stack(ctx, def, err);
}

static int sink_meta(void *ctx, const char *key, const char *value,
		     struct wc_error *err)
{
	struct wc_db_writer *w = ctx;
	sqlite3_stmt *st = w->st[ST_META];

	if (!key)
		return 0;
	bind_text(st, 1, key);
	bind_text(st, 2, value);
	return step_reset(w, st, err);
}

static int sink_buffer(void *ctx, const struct wc_buffer_info *b,
		       struct wc_error *err)
{
	struct wc_db_writer *w = ctx;
	sqlite3_stmt *st = w->st[ST_BUFFER];

	sqlite3_bind_int(st, 1, b->id);
	sqlite3_bind_text(st, 2, b->name ? b->name : "", -1, SQLITE_STATIC);
	bind_text(st, 3, b->clock);
	sqlite3_bind_int(st, 4, b->ncpus);
	sqlite3_bind_int64(st, 5, (int64_t)b->nevents);
	sqlite3_bind_int(st, 6, !!b->imported);
	return step_reset(w, st, err);
}

static int sink_comm(void *ctx, uint64_t ts, int32_t tid, int32_t pid,
		     const char *comm, enum wc_comm_source src,
		     struct wc_error *err)
{
	struct wc_db_writer *w = ctx;
	const char *source = (unsigned)src < WC_ARRAY_SIZE(comm_source_name)
				     ? comm_source_name[src] : "event";
	int64_t utid, p;
	struct pending_tid *pt;
	struct pending_name *pn;
	int created;

	if (tid < 0 || !comm)
		return 0;
	utid = wc_tidmap_lookup(w->tids, tid);
	if (utid > 0) {
		struct thread *t = &w->threads[utid - 1];

		if (pid >= 0 && t->pid_source != PID_CAPTURE) {
			t->pid = pid;
			t->pid_source = PID_CAPTURE;
		}
		return set_comm(w, utid, ts, comm, source, err);
	}
	/* no event mentioned TID yet: keep the name until one does */
	p = wc_tidmap_get(w->pend_map, tid, 0, &created);
	if (p < 0)
		return NOMEM(w, err);
	if (created) {
		if (w->npend_tids == w->cap_pend_tids) {
			size_t cap = w->cap_pend_tids ? w->cap_pend_tids * 2 : 256;
			struct pending_tid *np = realloc(w->pend_tids, cap * sizeof(*np));

			if (!np)
				return NOMEM(w, err);
			w->pend_tids = np;
			w->cap_pend_tids = cap;
		}
		pt = &w->pend_tids[w->npend_tids++];
		pt->tid = tid;
		pt->pid = -1;
		pt->first = pt->last = -1;
	}
	pt = &w->pend_tids[p - 1];
	if (pid >= 0)
		pt->pid = pid;
	if (pt->last >= 0 && strcmp(w->pend_names[pt->last].comm, comm) == 0)
		return 0;
	if (w->npend_names == w->cap_pend_names) {
		size_t cap = w->cap_pend_names ? w->cap_pend_names * 2 : 256;
		struct pending_name *np = realloc(w->pend_names, cap * sizeof(*np));

		if (!np)
			return NOMEM(w, err);
		w->pend_names = np;
		w->cap_pend_names = cap;
	}
	pn = &w->pend_names[w->npend_names];
	pn->comm = strdup(comm);
	if (!pn->comm)
		return NOMEM(w, err);
	pn->ts = ts;
	pn->source = source;
	pn->next = -1;
	if (pt->last >= 0)
		w->pend_names[pt->last].next = (int32_t)w->npend_names;
	else
		pt->first = (int32_t)w->npend_names;
	pt->last = (int32_t)w->npend_names;
	w->npend_names++;
	return 0;
}

static int sink_lost(void *ctx, int32_t cpu, uint64_t ts_from, uint64_t ts,
		     uint64_t count, const char *kind, struct wc_error *err)
{
	struct wc_db_writer *w = ctx;
	sqlite3_stmt *st = w->st[ST_LOST];

	bind_i64_or_null(st, 1, cpu >= 0, cpu);
	bind_i64_or_null(st, 2, ts_from != 0, (int64_t)ts_from);
	bind_i64_or_null(st, 3, ts != 0, (int64_t)ts);
	sqlite3_bind_int64(st, 4, (int64_t)count);
	sqlite3_bind_text(st, 5, kind ? kind : "lost", -1, SQLITE_STATIC);
	return step_reset(w, st, err);
}

#define MENTION(w, tid, ts, err)                                           \
	do {                                                               \
		if ((tid) >= 0) {                                          \
			int64_t u_ = mention(w, tid, ts, err);             \
			if (u_ < 0)                                        \
				return (int)u_;                            \
		}                                                          \
	} while (0)

static int comm_of(struct wc_db_writer *w, int32_t tid, uint64_t ts,
		   const char *comm, const char *source, struct wc_error *err)
{
	int64_t utid;

	if (tid < 0 || !comm || !comm[0])
		return 0;
	utid = wc_tidmap_lookup(w->tids, tid);
	return utid > 0 ? set_comm(w, utid, ts, comm, source, err) : 0;
}

/* Fills the common leading columns seq, ts, cpu of D. */
static void dst_common(struct wc_db_writer *w, struct rowdst *d,
		       const struct wc_event *ev)
{
	dst_int(d, 0, (int64_t)w->seq);
	dst_int(d, 1, (int64_t)ev->ts);
	dst_int_or_null(d, 2, ev->cpu >= 0, ev->cpu);
}

static int ev_switch(struct wc_db_writer *w, const struct wc_event *ev,
		     int64_t sid, struct wc_error *err)
{
	struct rowdst d;
	char state[32];
	int rc;

	MENTION(w, ev->u.sw.prev_tid, ev->ts, err);
	MENTION(w, ev->u.sw.next_tid, ev->ts, err);
	d = dst_begin(w, ST_SWITCH);
	dst_common(w, &d, ev);
	dst_int_or_null(&d, 3, ev->tid >= 0, ev->tid);
	dst_int(&d, 4, ev->u.sw.prev_tid);
	rc = dst_text(&d, 5, ev->u.sw.prev_comm, err);
	dst_int(&d, 6, ev->u.sw.prev_prio);
	dst_int(&d, 7, ev->u.sw.prev_state);
	if (!rc)
		rc = dst_text(&d, 8, wc_prev_state_str(ev->u.sw.prev_state, state,
						       sizeof(state)), err);
	dst_int(&d, 9, ev->u.sw.next_tid);
	if (!rc)
		rc = dst_text(&d, 10, ev->u.sw.next_comm, err);
	dst_int(&d, 11, ev->u.sw.next_prio);
	dst_int(&d, 12, ev->buffer);
	dst_int_or_null(&d, 13, sid > 0, sid);
	if (!rc)
		rc = dst_done(w, &d, err);
	if (!rc && ev->u.sw.prev_tid != 0)
		rc = comm_of(w, ev->u.sw.prev_tid, ev->ts, ev->u.sw.prev_comm,
			     "event", err);
	if (!rc && ev->u.sw.next_tid != 0)
		rc = comm_of(w, ev->u.sw.next_tid, ev->ts, ev->u.sw.next_comm,
			     "event", err);
	return rc;
}

/* sched_waking, sched_wakeup (columnar) or sched_wakeup_new (rows):
 * SLOT says which. */
static int ev_wake(struct wc_db_writer *w, const struct wc_event *ev,
		   int slot, int64_t sid, struct wc_error *err)
{
	struct rowdst d;
	int rc;

	MENTION(w, ev->u.wake.tid, ev->ts, err);
	d = dst_begin(w, slot);
	dst_common(w, &d, ev);
	dst_int_or_null(&d, 3, ev->tid >= 0, ev->tid);
	dst_int(&d, 4, ev->u.wake.tid);
	rc = dst_text(&d, 5, ev->u.wake.comm, err);
	dst_int(&d, 6, ev->u.wake.prio);
	dst_int_or_null(&d, 7, ev->u.wake.target_cpu >= 0,
			ev->u.wake.target_cpu);
	dst_int(&d, 8, ev->buffer);
	dst_int_or_null(&d, 9, sid > 0, sid);
	if (!rc)
		rc = dst_done(w, &d, err);
	if (!rc)
		rc = comm_of(w, ev->u.wake.tid, ev->ts, ev->u.wake.comm,
			     "event", err);
	return rc;
}

static int ev_fork(struct wc_db_writer *w, const struct wc_event *ev,
		   int64_t sid, struct wc_error *err)
{
	sqlite3_stmt *st = w->st[ST_FORK];
	int32_t child = ev->u.fork.child_tid, parent = ev->u.fork.parent_tid;
	int64_t pu = 0, cu;
	int created, rc;
	struct thread *t;

	if (parent >= 0) {
		pu = mention(w, parent, ev->ts, err);
		if (pu < 0)
			return (int)pu;
	}
	if (child >= 0) {
		cu = wc_tidmap_fork(w->tids, child, w->seq, &created);
		if (cu < 0)
			return NOMEM(w, err);
		rc = add_thread(w, cu, child, ev->ts, 1, err);
		if (rc)
			return rc;
		t = &w->threads[cu - 1];
		t->has_forked = 1;
		t->forked_ns = ev->ts;
		t->parent_tid = parent;
		if (pu > 0 && t->pid_source == PID_NONE &&
		    w->threads[pu - 1].pid >= 0) {
			t->pid = w->threads[pu - 1].pid;
			t->pid_source = PID_FORK;
		}
	}
	dst_common(w, &(struct rowdst){ st, NULL }, ev);
	bind_i64_or_null(st, 4, ev->tid >= 0, ev->tid);
	sqlite3_bind_int(st, 5, parent);
	bind_text(st, 6, ev->u.fork.parent_comm);
	sqlite3_bind_int(st, 7, child);
	bind_text(st, 8, ev->u.fork.child_comm);
	sqlite3_bind_int(st, 9, ev->buffer);
	bind_i64_or_null(st, 10, sid > 0, sid);
	rc = step_reset(w, st, err);
	if (!rc)
		rc = comm_of(w, parent, ev->ts, ev->u.fork.parent_comm, "event",
			     err);
	if (!rc)
		rc = comm_of(w, child, ev->ts, ev->u.fork.child_comm, "event",
			     err);
	return rc;
}

static int ev_exit(struct wc_db_writer *w, const struct wc_event *ev,
		   int64_t sid, struct wc_error *err)
{
	sqlite3_stmt *st = w->st[ST_EXIT];
	int32_t tid = ev->u.exit.tid;
	int rc;

	MENTION(w, tid, ev->ts, err);
	if (tid >= 0) {
		struct thread *t =
			&w->threads[wc_tidmap_lookup(w->tids, tid) - 1];

		t->has_exited = 1;
		t->exited_ns = ev->ts;
	}
	dst_common(w, &(struct rowdst){ st, NULL }, ev);
	sqlite3_bind_int(st, 4, tid);
	bind_text(st, 5, ev->u.exit.comm);
	sqlite3_bind_int(st, 6, ev->u.exit.prio);
	sqlite3_bind_int(st, 7, ev->buffer);
	bind_i64_or_null(st, 8, sid > 0, sid);
	rc = step_reset(w, st, err);
	if (!rc)
		rc = comm_of(w, tid, ev->ts, ev->u.exit.comm, "event", err);
	return rc;
}

static int ev_rename(struct wc_db_writer *w, const struct wc_event *ev,
		     int64_t sid, struct wc_error *err)
{
	sqlite3_stmt *st = w->st[ST_RENAME];
	int32_t tid = ev->u.rename.tid;
	int rc;

	MENTION(w, tid, ev->ts, err);
	dst_common(w, &(struct rowdst){ st, NULL }, ev);
	sqlite3_bind_int(st, 4, tid);
	bind_text(st, 5, ev->u.rename.oldcomm);
	bind_text(st, 6, ev->u.rename.newcomm);
	sqlite3_bind_int(st, 7, ev->buffer);
	bind_i64_or_null(st, 8, sid > 0, sid);
	rc = step_reset(w, st, err);
	if (!rc)
		rc = comm_of(w, tid, ev->ts, ev->u.rename.newcomm,
			     "task_rename", err);
	return rc;
}

static int ev_kvm(struct wc_db_writer *w, const struct wc_event *ev,
		  struct wc_error *err)
{
	struct rowdst d = dst_begin(w, ST_KVM);
	const char *kind = ev->type == WC_EV_KVM_ENTRY ? "entry"
			   : ev->type == WC_EV_KVM_EXIT ? "exit"
							: "userspace_exit";
	int rc;

	dst_common(w, &d, ev);
	dst_int(&d, 3, ev->tid);
	rc = dst_text(&d, 4, kind, err);
	dst_int_or_null(&d, 5, ev->u.kvm.vcpu_id >= 0, ev->u.kvm.vcpu_id);
	dst_int(&d, 6, ev->u.kvm.reason);
	dst_int(&d, 7, (int64_t)ev->u.kvm.guest_rip);
	if (!rc)
		rc = dst_text(&d, 8, ev->u.kvm.isa, err);
	dst_int(&d, 9, ev->buffer);
	return rc ? rc : dst_done(w, &d, err);
}

static int sink_event(void *ctx, const struct wc_event *ev,
		      struct wc_error *err)
{
	struct wc_db_writer *w = ctx;
	struct evcount *cnt;
	int64_t sid = 0;
	int rc = 0;

	if ((w->seq & 4095) == 0) {
		if (w->interrupted && *w->interrupted)
			return wc_err(err, WC_EINTERRUPTED, w->path, "interrupted");
		if (w->progress && (w->seq & 65535) == 0 && w->seq)
			w->progress(w->progress_ctx, w->seq);
	}
	if ((unsigned)ev->type >= WC_EV_TYPE_COUNT)
		return wc_err(err, WC_EIO, w->path,
			      "internal: event type %d out of range", ev->type);
	w->seq++;
	if (w->seq == 1 || ev->ts < w->first_ts)
		w->first_ts = ev->ts;
	if (ev->ts > w->last_ts)
		w->last_ts = ev->ts;
	{
		const char *name = ev->name ? ev->name : "?";
		struct evname_cache *lc = &w->last_count[ev->type];

		if (lc->cnt && strcmp(lc->name, name) == 0) {
			cnt = lc->cnt;
		} else {
			cnt = evcount_find(&w->counts, &w->strings, name);
			if (!cnt)
				return NOMEM(w, err);
			/* slots move when the table grows: forget them all */
			if (w->counts.nslots != w->last_count_nslots) {
				memset(w->last_count, 0, sizeof(w->last_count));
				w->last_count_nslots = w->counts.nslots;
			}
			if (strlen(name) < sizeof(lc->name)) {
				memcpy(lc->name, name, strlen(name) + 1);
				lc->cnt = cnt;
			}
		}
	}
	cnt->count++;
	if (ev->type == WC_EV_OTHER)
		return 0;
	cnt->stored = 1;

	/* rule 1: the context tid first */
	if (ev->tid >= 0) {
		int64_t u = mention(w, ev->tid, ev->ts, err);

		if (u < 0)
			return (int)u;
		if (ev->pid >= 0 && w->threads[u - 1].pid_source != PID_CAPTURE) {
			w->threads[u - 1].pid = ev->pid;
			w->threads[u - 1].pid_source = PID_CAPTURE;
		}
	}
	sid = event_stack_id(w, ev, err);
	if (sid < 0)
		return (int)sid;

	switch (ev->type) {
	case WC_EV_SCHED_SWITCH:
		rc = ev_switch(w, ev, sid, err);
		break;
	case WC_EV_SCHED_WAKING:
		rc = ev_wake(w, ev, ST_WAKING, sid, err);
		break;
	case WC_EV_SCHED_WAKEUP:
		rc = ev_wake(w, ev, ST_WAKEUP, sid, err);
		break;
	case WC_EV_SCHED_WAKEUP_NEW:
		rc = ev_wake(w, ev, ST_WAKEUP_NEW, sid, err);
		break;
	case WC_EV_PROCESS_FORK:
		rc = ev_fork(w, ev, sid, err);
		break;
	case WC_EV_PROCESS_EXIT:
		rc = ev_exit(w, ev, sid, err);
		break;
	case WC_EV_TASK_RENAME:
		rc = ev_rename(w, ev, sid, err);
		break;
	case WC_EV_FUTEX_ENTER:
		if (ev->tid >= 0)
			rc = futex_enter(w, ev, sid, err);
		break;
	case WC_EV_FUTEX_EXIT:
		if (ev->tid >= 0)
			rc = futex_exit(w, ev, err);
		break;
	case WC_EV_KVM_ENTRY:
	case WC_EV_KVM_EXIT:
	case WC_EV_KVM_USERSPACE_EXIT:
		rc = ev_kvm(w, ev, err);
		break;
	default:
		break;
	}
	return rc;
}

/* --- life cycle ----------------------------------------------------------------------- */

int wc_db_writer_new(sqlite3 *db, const char *path,
		     const struct wc_symbolizer *sym,
		     struct wc_db_writer **out, struct wc_error *err)
{
	struct wc_db_writer *w = calloc(1, sizeof(*w));
	int rc = 0;

	*out = NULL;
	if (!w)
		return wc_err(err, WC_ENOMEM, path, "out of memory");
	w->db = db;
	w->path = path;
	w->started_ns = wc_now_ns();
	w->sink.ctx = w;
	w->sink.meta = sink_meta;
	w->sink.buffer = sink_buffer;
	w->sink.comm = sink_comm;
	w->sink.lost = sink_lost;
	w->sink.event = sink_event;
	w->sink.stack = sink_stack;
	rc = wc_stackset_new(sym, &w->stacks, err);
	if (rc)
		goto out;
	w->tids = wc_tidmap_new();
	w->pend_map = wc_tidmap_new();
	if (!w->tids || !w->pend_map) {
		rc = wc_err(err, WC_ENOMEM, path, "out of memory");
		goto out;
	}
	rc = wc_db_exec(db, path, "BEGIN", err);
	if (rc)
		goto out;
	w->in_tx = 1;
	for (int i = 0; i < ST_COUNT; i++) {
		if (coltab_table[i])
			rc = wc_coltab_writer_new(db, path, coltab_table[i],
						  &w->ct[i], err);
		else
			rc = wc_db_prepare(db, path, stmt_sql[i], &w->st[i], err);
		if (rc)
			goto out;
	}
out:
	if (rc) {
		wc_db_writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

struct wc_stackset *wc_db_writer_stackset(struct wc_db_writer *w)
{
	return w->stacks;
}

const struct wc_sink *wc_db_writer_sink(struct wc_db_writer *w)
{
	return &w->sink;
}

uint64_t wc_db_writer_events(const struct wc_db_writer *w)
{
	return w->seq;
}

void wc_db_writer_set_interrupt(struct wc_db_writer *w, volatile int *flag)
{
	w->interrupted = flag;
}

void wc_db_writer_set_progress(struct wc_db_writer *w,
			       void (*cb)(void *ctx, uint64_t events),
			       void *ctx)
{
	w->progress = cb;
	w->progress_ctx = ctx;
}

static int write_threads(struct wc_db_writer *w, struct wc_error *err)
{
	static const char *const pid_source[] = { NULL, "capture", "fork" };
	sqlite3_stmt *st = w->st[ST_THREAD];
	int rc = 0;

	/* rule 4: threads known from names only, in order of observation */
	for (size_t i = 0; i < w->npend_tids && !rc; i++) {
		struct pending_tid *pt = &w->pend_tids[i];
		int created;
		int64_t utid;

		if (pt->first < 0)
			continue;
		utid = wc_tidmap_get(w->tids, pt->tid, w->seq, &created);
		if (utid < 0)
			return NOMEM(w, err);
		if (!created)
			continue;	/* cannot happen: flushed at creation */
		rc = add_thread(w, utid, pt->tid, 0, 0, err);
		if (!rc)
			rc = flush_pending_names(w, utid, pt->tid, err);
	}
	for (size_t i = 0; i < w->nthreads && !rc; i++) {
		const struct thread *t = &w->threads[i];

		sqlite3_bind_int64(st, 1, (int64_t)i + 1);
		sqlite3_bind_int(st, 2, t->tid);
		bind_i64_or_null(st, 3, t->pid >= 0, t->pid);
		bind_text(st, 4, pid_source[t->pid_source]);
		bind_text(st, 5, t->comm);
		bind_i64_or_null(st, 6, t->from_events, (int64_t)t->start_ns);
		bind_i64_or_null(st, 7, t->from_events, (int64_t)t->end_ns);
		bind_i64_or_null(st, 8, t->from_events, (int64_t)t->start_seq);
		bind_i64_or_null(st, 9, t->has_forked, (int64_t)t->forked_ns);
		bind_i64_or_null(st, 10, t->has_exited, (int64_t)t->exited_ns);
		bind_i64_or_null(st, 11, t->parent_tid >= 0, t->parent_tid);
		rc = step_reset(w, st, err);
	}
	return rc;
}

static int set_key_u64(struct wc_db_writer *w, const char *key, uint64_t v,
		       struct wc_error *err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return sink_meta(w, key, buf, err);
}

int wc_db_finish_import(struct wc_db_writer *w, struct wc_error *err)
{
	char buf[64];
	int rc = 0;
	uint64_t waking = 0, futex = 0;

	/* calls still inside futex() at the end of the capture have their
	 * row already, without exit columns */
	for (int i = 0; i < ST_COUNT && !rc; i++)
		if (w->ct[i])
			rc = wc_coltab_writer_flush(w->ct[i], err);
	if (!rc)
		rc = write_threads(w, err);
	for (size_t i = 0; i < w->counts.nslots && !rc; i++) {
		const struct evcount *c = &w->counts.slots[i];
		sqlite3_stmt *st = w->st[ST_EVCOUNT];

		if (!c->name)
			continue;
		if (strcmp(c->name, "sched_waking") == 0)
			waking += c->count;
		if (strstr(c->name, "futex"))
			futex += c->count;
		sqlite3_bind_text(st, 1, c->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t)c->count);
		sqlite3_bind_int(st, 3, c->stored);
		rc = step_reset(w, st, err);
	}
	if (!rc && w->seq) {
		rc = set_key_u64(w, "first_ts", w->first_ts, err);
		if (!rc)
			rc = set_key_u64(w, "last_ts", w->last_ts, err);
	}
	if (!rc)
		rc = set_key_u64(w, "events", w->seq, err);
	if (!rc)
		rc = set_key_u64(w, "has_stacks", (uint64_t)w->has_stacks, err);
	if (!rc)
		rc = set_key_u64(w, "has_sched_waking", waking > 0, err);
	if (!rc)
		rc = set_key_u64(w, "has_futex", futex > 0, err);
	if (!rc)
		rc = sink_meta(w, "waitchain_version", WC_VERSION, err);
	if (!rc) {
		wc_utc_iso8601(buf, sizeof(buf));
		rc = sink_meta(w, "imported_at", buf, err);
	}
	if (!rc) {
		snprintf(buf, sizeof(buf), "%.3f",
			 (double)(wc_now_ns() - w->started_ns) / 1e9);
		rc = sink_meta(w, "import_seconds", buf, err);
	}
	for (int i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(w->st[i]);
		w->st[i] = NULL;
		wc_coltab_writer_free(w->ct[i]);
		w->ct[i] = NULL;
	}
	if (!rc)
		rc = wc_db_apply_schema(w->db, w->path, 1, err);
	if (!rc)
		rc = wc_db_exec(w->db, w->path, "COMMIT", err);
	if (!rc) {
		w->in_tx = 0;
		w->finished = 1;
	}
	return rc;
}

void wc_db_writer_free(struct wc_db_writer *w)
{
	if (!w)
		return;
	for (int i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(w->st[i]);
		wc_coltab_writer_free(w->ct[i]);
	}
	if (w->in_tx)
		sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
	for (size_t i = 0; i < w->nthreads; i++)
		free(w->threads[i].comm);
	free(w->threads);
	for (size_t i = 0; i < w->npend_names; i++)
		free(w->pend_names[i].comm);
	free(w->pend_names);
	free(w->pend_tids);
	wc_tidmap_free(w->tids);
	wc_tidmap_free(w->pend_map);
	free(w->futex);
	wc_stackset_free(w->stacks);
	free(w->counts.slots);
	wc_strset_free(&w->strings);
	free(w);
}
