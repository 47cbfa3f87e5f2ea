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

/* vCPU processes: distinct pids of vCPU threads (-1 = unknown). */
struct vproc {
	int64_t pid;
	int nvcpu;
	uint64_t futex_blocked_ns;	/* all futex-blocked time of its vCPUs */
};

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

static int choose_globals(struct actx *c)
{
	struct vproc *vp = NULL;
	size_t nvp = 0, cap = 0;
	sqlite3_stmt *ins = NULL;
	int rc;

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
	for (size_t i = 0; i < c->fobjs.cap; i++) {
		struct fobj *o = c->fobjs.slots[i].val;

		if (!o)
			continue;
		for (size_t k = 0; k < nvp; k++)
			if (vp[k].pid == o->pid)
				vp[k].futex_blocked_ns += o->vcpu_blocked_ns;
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

			if (!o || o->uaddr != c->opt->lock_uaddr || !o->wait_calls ||
			    (c->opt->lock_pid >= 0 && o->pid != c->opt->lock_pid))
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
		struct fobj *best = NULL;
		uint64_t need = vp[k].nvcpu >= 2 ? 2 : 1;

		for (size_t i = 0; i < c->fobjs.cap; i++) {
			struct fobj *o = c->fobjs.slots[i].val;

			if (!o || o->pid != vp[k].pid || strcmp(o->kind, "mutex") ||
			    o->vcpu_waiters < need || !o->vcpu_blocked_ns)
				continue;
			if (!best || o->vcpu_blocked_ns > best->vcpu_blocked_ns ||
			    (o->vcpu_blocked_ns == best->vcpu_blocked_ns &&
			     o->uaddr < best->uaddr))
				best = o;
		}
		if (!best) {
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
		rc = add_global(c, ins, best, best->pid, best->uaddr,
				vp[k].futex_blocked_ns, "auto");
	}
out:
	sqlite3_finalize(ins);
	free(vp);
	return rc;
}

int locks_run(struct actx *c)
{
	sqlite3_stmt *st = NULL;
	int rc;

	for (size_t i = 0; i < c->fobjs.cap; i++) {
		struct fobj *o = c->fobjs.slots[i].val;

		if (!o)
			continue;
		o->kind = classify(o);
		o->vcpu_waiters = 0;
		for (size_t k = 0; k < o->waiters.n; k++) {
			int64_t u = o->waiters.id[k];

			if (u > 0 && u <= c->max_utid && c->thr[u] && c->thr[u]->is_vcpu)
				o->vcpu_waiters++;
		}
	}
	rc = write_objects(c);
	if (!rc)
		rc = choose_globals(c);
	if (rc)
		return rc;

	/* rows of pass 1 that depend on the global mutex and the kinds */
	rc = wc_db_prepare(c->db, c->path,
			   "UPDATE block SET on_global_lock = 1 WHERE reason = 'futex'"
			   " AND futex_uaddr = ?1 AND futex_pid IS ?2", &st, c->err);
	for (size_t i = 0; !rc && i < c->fobjs.cap; i++) {
		struct fobj *o = c->fobjs.slots[i].val;

		if (!o || !o->is_global)
			continue;
		sqlite3_bind_int64(st, 1, (int64_t)o->uaddr);
		bind_i64(st, 2, o->pid, o->pid < 0);
		rc = actx_step_reset(c, st, "block.on_global_lock");
	}
	sqlite3_finalize(st);
	if (!rc)
		rc = wc_db_exec(c->db, c->path,
				"UPDATE vcpu_switch SET reason = 'futex_global'"
				" WHERE reason = 'futex_other' AND block_id IN"
				" (SELECT id FROM block WHERE on_global_lock = 1);"
				"UPDATE vcpu_slice SET end_reason = 'futex_global'"
				" WHERE end_reason = 'futex_other' AND switch_seq IN"
				" (SELECT switch_seq FROM vcpu_switch"
				"  WHERE reason = 'futex_global');"
				"UPDATE block_holder SET certainty = 'not_a_lock'"
				" WHERE certainty = 'exact' AND block_id IN"
				" (SELECT b.id FROM futex_object f JOIN block b"
				"  ON b.futex_uaddr = f.uaddr AND b.futex_pid IS f.pid"
				"  WHERE f.kind = 'condvar' AND b.reason = 'futex')",
				c->err);
	return rc;
}
