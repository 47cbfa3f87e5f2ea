/*
 * locks.c - what each futex word is, and which one is the global mutex.
 *
 * Runs after pass 1, on the in-memory statistics of every futex word
 * (struct fobj, one per (pid, uaddr)); then writes futex_object and
 * global_lock and fixes up the rows of pass 1 that depend on the answer
 * with set-based UPDATEs (block.on_global_lock, vcpu_switch/vcpu_slice
 * 'futex_global', block_holder 'not_a_lock').
 *
 * Kinds (rules, in order):
 *   mutex    PI waits (LOCK_PI/LOCK_PI2): a kernel-tracked owner;
 *   condvar  mostly bitset waits (glibc condition variables wait with
 *            FUTEX_WAIT_BITSET), or >= 5% of wakes wake more than one
 *            waiter (broadcasts, QemuEvent's INT_MAX): not a lock;
 *   mutex    >= 2 threads wait on it and >= half of the wake calls come
 *            from threads that also wait on it (releasers are threads
 *            that acquired it under contention);
 *   condvar  >= 2 threads wait on it and the wakes come mostly from
 *            threads that never wait on it (signallers);
 *   other    everything else: no wakes seen, or one waiting thread woken
 *            by others (a private condition such as a vCPU's halt
 *            condition, or a lock only one thread ever contended: the
 *            trace cannot tell them apart, so chains treat it as a
 *            possible lock and the global-mutex choice, which needs
 *            several vCPU waiters, never picks it).
 *
 * The global mutex of a process with vCPU threads is its 'mutex' with at
 * least min(2, vCPUs of the process) distinct vCPU waiters on which the
 * vCPUs spent the most blocked time; share = that time / all futex-
 * blocked time of those vCPUs.  A vCPU's idle wait on its own halt
 * condition can be longer but is never a candidate (one waiter, woken
 * by a signaller, usually bitset).  --lock [PID:]ADDR replaces the
 * choice (chosen_by '--lock').
 */
#include <stdlib.h>
#include <string.h>

#include "analyze-local.h"
#include "waitchain/db.h"

static uint64_t wakes_by_waiters(const struct fobj *o)
{
	uint64_t n = 0;

	for (size_t i = 0; i < o->wakers.n; i++)
		if (uset_find(&o->callers, o->wakers.id[i]) >= 0)
			n += o->wakers.count[i];
	return n;
}

static const char *classify(const struct fobj *o)
{
	uint64_t nw = o->wake_calls;

	if (o->wait_pi)
		return "mutex";
	if (o->wait_bitset && o->wait_bitset >= o->wait_plain)
		return "condvar";
	if (nw && o->wake_many * 20 >= nw)
		return "condvar";
	if (!nw)
		return "other";
	if (o->callers.n >= 2)
		return wakes_by_waiters(o) * 2 >= nw ? "mutex" : "condvar";
	return "other";
}

/* --- prepass: call statistics and kinds, before pass 1 -------------------------- */

/* vCPU processes: distinct pids of vCPU threads (-1 = unknown). */
struct vproc {
	int64_t pid;
	int nvcpu;
	uint64_t futex_blocked_ns;	/* all futex-blocked time of its vCPUs */
};

static int count_wake(struct actx *c, struct fobj *o, struct athread *t,
		      int cmd, uint32_t val)
{
	o->wake_calls++;
	if (uset_add(&o->wakers, t->utid))
		return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	if (cmd == 7 || val == 1)
		o->wake_one++;
	else if (val > 1)
		o->wake_many++;
	return 0;
}

/* Counts one futex call (its enter) in the statistics of its word(s). */
static int count_call(struct actx *c, const struct evsrc *s)
{
	enum { P_ENTER_SEQ, P_TID, P_UADDR, P_CMD, P_VAL, P_UADDR2, P_SYSCALL,
	       P_ENTER_NS, P_EXIT_NS };
	struct athread *t;
	struct fobj *o;
	int cmd, rc;
	uint32_t val;

	if (evsrc_null(s, P_ENTER_SEQ) || evsrc_null(s, P_UADDR))
		return 0;
	/* (pass 1 counts the mentions of unknown tids) */
	t = actx_thread_find(c, (int32_t)evsrc_i64(s, P_TID, -1),
			     (uint64_t)evsrc_i64(s, P_ENTER_SEQ, 0));
	cmd = (int)evsrc_i64(s, P_CMD, -1);
	if (!t || (!futex_cmd_is_wait(cmd) && !futex_cmd_is_wake(cmd)))
		return 0;
	o = actx_fobj(c, t->pid, (uint64_t)evsrc_i64(s, P_UADDR, 0), 1);
	if (!o)
		return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	val = (uint32_t)evsrc_i64(s, P_VAL, 0);
	if (futex_cmd_is_wait(cmd)) {
		const char *sys = evsrc_text(s, P_SYSCALL);

		o->wait_calls++;
		if (uset_add(&o->callers, t->utid))
			return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
		if (t->is_vcpu && !evsrc_null(s, P_ENTER_NS) &&
		    !evsrc_null(s, P_EXIT_NS)) {
			int64_t d = evsrc_i64(s, P_EXIT_NS, 0) -
				evsrc_i64(s, P_ENTER_NS, 0);

			if (d > 0)
				o->spec_vcpu_ns += (uint64_t)d;
		}
		if (cmd == 0 || (sys && strcmp(sys, "futex_wait") == 0))
			o->wait_plain++;
		else if (cmd == 6 || cmd == 13)
			o->wait_pi++;
		else
			o->wait_bitset++;
		return 0;
	}
	rc = count_wake(c, o, t, cmd, val);
	if (!rc && cmd == 5 && !evsrc_null(s, P_UADDR2)) {
		struct fobj *o2 = actx_fobj(c, t->pid,
					    (uint64_t)evsrc_i64(s, P_UADDR2, 0), 1);

		if (!o2)
			return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
		rc = count_wake(c, o2, t, cmd, 1);
	}
	return rc;
}

/* How many of the threads (utids) of S are vCPU threads. */
static uint64_t count_vcpus(const struct actx *c, const struct uset *s)
{
	uint64_t n = 0;

	for (size_t k = 0; k < s->n; k++) {
		int64_t u = s->id[k];

		n += u > 0 && u <= c->max_utid && c->thr[u] && c->thr[u]->is_vcpu;
	}
	return n;
}

/* 1 if --lock names O (a word waited on). */
static int lock_named(const struct actx *c, const struct fobj *o)
{
	return c->opt->has_lock && o->wait_calls && o->uaddr == c->opt->lock_uaddr &&
		(c->opt->lock_pid < 0 || o->pid == c->opt->lock_pid);
}

/* The distinct processes of the vCPU threads into *OUT (caller frees). */
static int vcpu_procs(struct actx *c, struct vproc **out, size_t *n)
{
	struct vproc *vp = NULL;
	size_t nvp = 0, cap = 0;

	for (int64_t u = 1; u <= c->max_utid; u++) {
		struct athread *t = c->thr[u];
		size_t k;

		if (!t || !t->is_vcpu)
			continue;
		for (k = 0; k < nvp && vp[k].pid != t->pid; k++)
			;
		if (k == nvp) {
			if (nvp == cap) {
				size_t ncap = cap ? cap * 2 : 4;
				struct vproc *p = realloc(vp, ncap * sizeof(*p));

				if (!p) {
					free(vp);
					return wc_err(c->err, WC_ENOMEM, c->path,
						      "out of memory");
				}
				vp = p;
				cap = ncap;
			}
			vp[nvp++] = (struct vproc){ t->pid, 0, 0 };
		}
		vp[k].nvcpu++;
	}
	*out = vp;
	*n = nvp;
	return 0;
}

/*
 * The global mutex of vCPU process VP: its 'mutex' with at least
 * min(2, its vCPUs) vCPU waiters on which they spent the most time,
 * smallest address on a tie; NULL if none.  EXACT: waiters are threads
 * that slept and time is blocked time (pass 1); else the estimate of
 * the prepass: vCPU threads that called a wait, time inside wait calls.
 */
static struct fobj *best_mutex(struct actx *c, const struct vproc *vp, int exact)
{
	uint64_t need = vp->nvcpu >= 2 ? 2 : 1;
	struct fobj *best = NULL;
	uint64_t best_ns = 0;

	for (size_t i = 0; i < c->fobjs.cap; i++) {
		struct fobj *o = c->fobjs.slots[i].val;
		uint64_t ns, waiters;

		if (!o || o->pid != vp->pid || strcmp(o->kind, "mutex"))
			continue;
		ns = exact ? o->vcpu_blocked_ns : o->spec_vcpu_ns;
		waiters = exact ? o->vcpu_waiters : o->spec_vcpu_callers;
		if (waiters < need || !ns)
			continue;
		if (!best || ns > best_ns || (ns == best_ns && o->uaddr < best->uaddr)) {
			best = o;
			best_ns = ns;
		}
	}
	return best;
}

/*
 * Sets fobj.is_global before pass 1, which writes what depends on it
 * (block.on_global_lock, 'futex_global' switches): the words --lock
 * names; else those c->forced_globals lists (a rerun); else the
 * estimate of best_mutex(), checked against the exact choice after
 * pass 1 (locks_run() asks for a rerun when they differ).
 */
static int mark_globals(struct actx *c)
{
	struct vproc *vp = NULL;
	size_t nvp = 0;
	int rc;

	for (size_t i = 0; i < c->fobjs.cap; i++) {
		struct fobj *o = c->fobjs.slots[i].val;

		if (o)
			o->is_global = c->opt->has_lock ? lock_named(c, o) : 0;
	}
	if (c->opt->has_lock)
		return 0;
	if (c->forced_globals) {
		for (size_t k = 0; k < c->nforced; k++) {
			struct fobj *o = actx_fobj(c, c->forced_globals[k].pid,
						   c->forced_globals[k].uaddr, 0);

			if (o)
				o->is_global = 1;
		}
		return 0;
	}
	rc = vcpu_procs(c, &vp, &nvp);
	for (size_t k = 0; !rc && k < nvp; k++) {
		struct fobj *o = best_mutex(c, &vp[k], 0);

		if (o)
			o->is_global = 1;
	}
	free(vp);
	return rc;
}

int locks_prepass(struct actx *c)
{
	static const char *const cols[] = { "enter_seq", "tid", "uaddr", "cmd",
		"val", "uaddr2", "syscall", "enter_ns", "exit_ns" };
	struct evsrc s;
	int rc = 0;

	if (c->has_futex) {
		rc = evsrc_open(c, &s, "futex", cols, (int)WC_ARRAY_SIZE(cols));
		while (!rc && !(rc = evsrc_next(c, &s)) && s.has_row)
			rc = count_call(c, &s);
		evsrc_close(&s);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < c->fobjs.cap; i++) {
		struct fobj *o = c->fobjs.slots[i].val;

		if (!o)
			continue;
		o->kind = classify(o);
		/* chains start at blocks on possible locks, and on the
		 * word named by --lock whatever it is */
		o->is_root = strcmp(o->kind, "condvar") != 0 || lock_named(c, o);
		o->spec_vcpu_callers = count_vcpus(c, &o->callers);
	}
	return mark_globals(c);
}

/* --- after pass 1 ---------------------------------------------------------------- */

static int write_objects(struct actx *c)
{
	sqlite3_stmt *st = NULL;
	int rc = wc_db_prepare(c->db, c->path,
			       "INSERT INTO futex_object(pid, uaddr, kind, waiters,"
			       " vcpu_waiters, wakers, blocks, blocked_ns,"
			       " vcpu_blocked_ns, wait_calls, wake_calls)"
			       " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)", &st, c->err);

	for (size_t i = 0; !rc && i < c->fobjs.cap; i++) {
		struct fobj *o = c->fobjs.slots[i].val;

		if (!o || !o->wait_calls)
			continue;
		bind_i64(st, 1, o->pid, o->pid < 0);
		sqlite3_bind_int64(st, 2, (int64_t)o->uaddr);
		sqlite3_bind_text(st, 3, o->kind, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)o->waiters.n);
		sqlite3_bind_int64(st, 5, (int64_t)o->vcpu_waiters);
		sqlite3_bind_int64(st, 6, (int64_t)o->wakers.n);
		sqlite3_bind_int64(st, 7, (int64_t)o->blocks);
		sqlite3_bind_int64(st, 8, (int64_t)o->blocked_ns);
		sqlite3_bind_int64(st, 9, (int64_t)o->vcpu_blocked_ns);
		sqlite3_bind_int64(st, 10, (int64_t)o->wait_calls);
		sqlite3_bind_int64(st, 11, (int64_t)o->wake_calls);
		rc = actx_step_reset(c, st, "futex_object");
	}
	sqlite3_finalize(st);
	return rc;
}

static int add_global(struct actx *c, sqlite3_stmt *ins, struct fobj *o,
		      int64_t pid, uint64_t uaddr, uint64_t total,
		      const char *by)
{
	double share = total && o ? (double)o->vcpu_blocked_ns / (double)total : 0.0;

	if (o)
		o->is_global = 1;
	bind_i64(ins, 1, pid, pid < 0);
	sqlite3_bind_int64(ins, 2, (int64_t)uaddr);
	sqlite3_bind_double(ins, 3, share > 1.0 ? 1.0 : share);
	sqlite3_bind_int64(ins, 4, o ? (int64_t)o->vcpu_blocked_ns : 0);
	sqlite3_bind_int64(ins, 5, o ? (int64_t)o->vcpu_blocks : 0);
	sqlite3_bind_null(ins, 6);
	sqlite3_bind_text(ins, 7, by, -1, SQLITE_STATIC);
	return actx_step_reset(c, ins, "global_lock");
}

/*
 * The exact global mutexes (best_mutex() on pass 1's statistics).  When
 * they are not the words pass 1 took for global (mark_globals()), lists
 * them in c->forced_globals and returns ACTX_RERUN: pass 1 must run
 * again with those.  Otherwise writes global_lock.
 */
static int choose_globals(struct actx *c)
{
	struct vproc *vp = NULL;
	struct fobj **best = NULL;
	size_t nvp = 0;
	sqlite3_stmt *ins = NULL;
	int rc;

	rc = vcpu_procs(c, &vp, &nvp);
	if (rc)
		return rc;
	for (size_t i = 0; i < c->fobjs.cap; i++) {
		struct fobj *o = c->fobjs.slots[i].val;

		if (!o)
			continue;
		for (size_t k = 0; k < nvp; k++)
			if (vp[k].pid == o->pid)
				vp[k].futex_blocked_ns += o->vcpu_blocked_ns;
	}
	if (!c->opt->has_lock) {
		size_t nglobal = 0, nbest = 0, agree = 0;

		best = calloc(nvp ? nvp : 1, sizeof(*best));
		if (!best) {
			rc = wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
			goto out;
		}
		for (size_t k = 0; k < nvp; k++) {
			best[k] = best_mutex(c, &vp[k], 1);
			if (best[k]) {
				nbest++;
				agree += best[k]->is_global;
			}
		}
		for (size_t i = 0; i < c->fobjs.cap; i++) {
			struct fobj *o = c->fobjs.slots[i].val;

			nglobal += o && o->is_global;
		}
		if (agree != nbest || nglobal != nbest) {
			/* the estimate was wrong: pass 1 again with these */
			free(c->forced_globals);
			c->forced_globals = calloc(nbest ? nbest : 1,
						   sizeof(*c->forced_globals));
			if (!c->forced_globals) {
				rc = wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
				goto out;
			}
			c->nforced = 0;
			for (size_t k = 0; k < nvp; k++)
				if (best[k]) {
					c->forced_globals[c->nforced].pid = best[k]->pid;
					c->forced_globals[c->nforced].uaddr = best[k]->uaddr;
					c->nforced++;
				}
			rc = ACTX_RERUN;
			goto out;
		}
	}

	rc = wc_db_prepare(c->db, c->path,
			   "INSERT INTO global_lock(pid, futex_uaddr, share, blocked_ns,"
			   " nblocks, symbol, chosen_by) VALUES(?1,?2,?3,?4,?5,?6,?7)",
			   &ins, c->err);
	if (rc)
		goto out;

	if (c->opt->has_lock) {
		int found = 0;

		for (size_t i = 0; !rc && i < c->fobjs.cap; i++) {
			struct fobj *o = c->fobjs.slots[i].val;
			uint64_t total = 0;

			if (!o || !o->is_global)
				continue;
			for (size_t k = 0; k < nvp; k++)
				if (vp[k].pid == o->pid)
					total = vp[k].futex_blocked_ns;
			found = 1;
			rc = add_global(c, ins, o, o->pid, o->uaddr, total, "--lock");
		}
		if (!rc && !found) {
			rc = add_global(c, ins, NULL, c->opt->lock_pid,
					c->opt->lock_uaddr, 0, "--lock");
			if (!rc)
				rc = actx_warn(c, "--lock 0x%llx: no futex wait on that"
					       " address in the capture",
					       (unsigned long long)c->opt->lock_uaddr);
		}
		goto out;
	}

	if (!nvp)
		rc = actx_warn(c, "no vCPU threads (no thread name matches the --vcpu"
			       " pattern): no global mutex");
	for (size_t k = 0; !rc && k < nvp; k++) {
		if (!best[k]) {
			if (vp[k].pid >= 0)
				rc = actx_warn(c, "process %lld: no futex behaves as a"
					       " mutex shared by its vCPU threads: no"
					       " global mutex (use --lock)",
					       (long long)vp[k].pid);
			else
				rc = actx_warn(c, "vCPU threads of unknown process: no"
					       " global mutex found (use --lock)");
			continue;
		}
		rc = add_global(c, ins, best[k], best[k]->pid, best[k]->uaddr,
				vp[k].futex_blocked_ns, "auto");
	}
out:
	sqlite3_finalize(ins);
	free(best);
	free(vp);
	return rc;
}

int locks_run(struct actx *c)
{
	for (size_t i = 0; i < c->fobjs.cap; i++) {
		struct fobj *o = c->fobjs.slots[i].val;

		if (!o)
			continue;
		o->vcpu_waiters = count_vcpus(c, &o->waiters);
	}
	/* first: a rerun must not have written anything */
	{
		int rc = choose_globals(c);

		return rc ? rc : write_objects(c);
	}
}
