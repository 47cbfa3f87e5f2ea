/*
 * chain.c - holder chains: for each futex block on a lock, what each
 * holder was doing while it held the lock, recursively.
 *
 * Roots: every futex block on a word whose kind is 'mutex' or 'other'
 * (possibly a lock: see locks.c), plus every block on the word named by
 * --lock (whatever its kind); never condition variables, whose wakers
 * are signallers, not holders (struct fobj.is_root, set before pass 1).
 * A root's chain is written by pass 1 when the block is flushed, that
 * is, when its holder rows are final: each holder interval is split by
 * the holder's states (from its history, history.c), one chain row per
 * piece.  A piece where the holder sleeps in a futex block on a word
 * that is not a condition variable expands, one level deeper, into that
 * block's own holders clipped to the piece; and so on up to the depth
 * limit.  A holder already on the path from the root (the waiter
 * included) is a cycle: a 'deadlock' row is written instead, the
 * expansion stops there, and analysis.warnings says so.
 *
 * Blocks still open when the capture ends are flushed all together
 * first and expanded afterwards (c->defer_chains), so that a deadlock's
 * blocks see each other's holders.
 *
 * Rows are written in pre-order with explicit ids, a root's rows
 * together; roots come in the order their blocks end.
 */
#include <stdlib.h>
#include <string.h>

#include "analyze-local.h"
#include "waitchain/db.h"

#define MAX_PATH 72

struct chainw {
	struct awriter *ins;	/* chain rows */
	int64_t root_id;
	int32_t path[MAX_PATH];
	int npath;
	int deadlock_warned;
	/* one state buffer per depth (expand() recurses) */
	struct hstate *sbuf[MAX_PATH];
	size_t scap[MAX_PATH];
};

struct chain_row {
	int64_t parent_id;	/* -1 NULL */
	int depth;
	int32_t tid;		/* -1 NULL */
	int64_t utid;		/* 0 NULL */
	uint64_t from, to;
	const char *state;
	int has_futex;
	uint64_t futex_uaddr;
	int64_t futex_pid;	/* -1 NULL */
	int64_t sub_block;	/* -1 NULL */
	int32_t parent_tid;
	int32_t preempted_by;	/* -1 NULL */
	int32_t cpu;		/* -1 NULL */
	int uncertain;
	/* for holder_time: the row this one expands (depth > 1) */
	int64_t parent_utid;	/* 0 NULL */
	int has_pfutex;
	int64_t pfutex_pid;
	uint64_t pfutex_uaddr;
};

int chain_open(struct actx *c)
{
	int rc;

	c->chain = calloc(1, sizeof(*c->chain));
	if (!c->chain)
		return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	if ((rc = hsum_open(c)))
		return rc;
	return awr_new(c, &c->chain->ins, "chain", "id, block_id, parent_id, "
			  "depth, tid, utid, from_ns, to_ns, state, "
			  "futex_uaddr, futex_pid, sub_block_id, parent_tid, "
			  "preempted_by, cpu, uncertain", 16);
}

int chain_flush(struct actx *c)
{
	int rc = c->chain && c->chain->ins ? awr_flush(c, c->chain->ins) : 0;

	return !rc && c->hsum ? hsum_write(c) : rc;
}

void chain_close(struct actx *c)
{
	hsum_close(c);
	if (!c->chain)
		return;
	awr_free(c->chain->ins);
	for (int i = 0; i < MAX_PATH; i++)
		free(c->chain->sbuf[i]);
	free(c->chain);
	c->chain = NULL;
}

static int emit(struct actx *c, const struct chain_row *r, int64_t *id)
{
	struct awriter *w = c->chain->ins;
	int rc;

	*id = ++c->next_chain_id;
	c->n_chain_rows++;
	awr_int(w, 1, *id);
	awr_int(w, 2, c->chain->root_id);
	awr_i64(w, 3, r->parent_id, r->parent_id < 0);
	awr_int(w, 4, r->depth);
	awr_i64(w, 5, r->tid, r->tid < 0);
	awr_i64(w, 6, r->utid, r->utid <= 0);
	awr_int(w, 7, (int64_t)r->from);
	awr_int(w, 8, (int64_t)r->to);
	if ((rc = awr_static(c, w, 9, r->state)))
		return rc;
	awr_i64(w, 10, (int64_t)r->futex_uaddr, !r->has_futex);
	awr_i64(w, 11, r->futex_pid, !r->has_futex || r->futex_pid < 0);
	awr_i64(w, 12, r->sub_block, r->sub_block < 0);
	awr_i64(w, 13, r->parent_tid, r->parent_tid < 0);
	awr_i64(w, 14, r->preempted_by, r->preempted_by < 0);
	awr_i64(w, 15, r->cpu, r->cpu < 0);
	awr_int(w, 16, r->uncertain || actx_lost_overlaps(c, r->from, r->to));
	if ((rc = awr_row(c, w)))
		return rc;
	{
		const struct hsum_row s = {
			.depth = r->depth, .tid = r->tid, .utid = r->utid,
			.from = r->from, .to = r->to, .state = r->state,
			.parent_utid = r->parent_utid, .parent_tid = r->parent_tid,
			.has_pfutex = r->has_pfutex, .pfutex_pid = r->pfutex_pid,
			.pfutex_uaddr = r->pfutex_uaddr,
		};

		return hsum_add(c, &s);
	}
}

/* The chain row of state S clipped to [SF, SE) for holder row R. */
static void piece_of(const struct chain_row *r, const struct hstate *s,
		     uint64_t sf, uint64_t se, struct chain_row *p)
{
	*p = *r;
	p->from = sf;
	p->to = se;
	p->cpu = s->cpu;
	p->uncertain |= s->uncertain;
	switch (s->state) {
	case TS_RUNNING:
		p->state = "running";
		break;
	case TS_RUNNABLE:
		p->state = s->woken ? "runnable" : "preempted";
		if (!s->woken)
			p->preempted_by = s->preempted_by;
		break;
	case TS_SLEEPING:
	case TS_BLOCKED_IO:
		p->sub_block = s->block_id;
		p->state = s->state == TS_BLOCKED_IO ? "blocked_io" : "sleeping";
		break;
	case TS_DEAD:
		p->state = "dead";
		break;
	default:
		p->state = "unknown";
		break;
	}
}

/*
 * Writes the rows of holders H[0..NH) clipped to [CLIP_FROM, CLIP_TO) at
 * DEPTH, children of chain row PARENT_ID (thread PARENT_TID, utid
 * PARENT_UTID, asleep on PFUTEX; -1, the waiter and NULL at depth 1),
 * expanding the holders' own futex sleeps below them.
 */
static int expand(struct actx *c, const struct hrow *h, size_t nh,
		  uint64_t clip_from, uint64_t clip_to, int depth,
		  int64_t parent_id, int32_t parent_tid, int64_t parent_utid,
		  const struct hblock *pfutex)
{
	struct chainw *q = c->chain;
	int rc = 0;

	for (size_t i = 0; !rc && i < nh; i++) {
		uint64_t f = h[i].from > clip_from ? h[i].from : clip_from;
		uint64_t t = h[i].to < clip_to ? h[i].to : clip_to;
		struct chain_row r = {
			.parent_id = parent_id, .depth = depth, .tid = -1,
			.from = f, .to = t, .futex_pid = -1, .sub_block = -1,
			.parent_tid = parent_tid, .preempted_by = -1, .cpu = -1,
			.uncertain = !h[i].exact, .parent_utid = parent_utid,
			.has_pfutex = pfutex != NULL,
			.pfutex_pid = pfutex ? pfutex->pid : -1,
			.pfutex_uaddr = pfutex ? pfutex->uaddr : 0,
		};
		const struct athread *ht;
		struct hstate *s;
		size_t ns = 0;
		uint64_t pos = f;
		int on_path = 0, evicted = 0;
		int64_t id;

		if (t <= f)
			continue;
		if (!h[i].utid) {
			r.state = "unknown";
			rc = emit(c, &r, &id);
			continue;
		}
		r.tid = h[i].tid;
		r.utid = h[i].utid;
		for (int k = 0; k < q->npath; k++)
			on_path |= q->path[k] == h[i].tid;
		if (on_path) {
			r.state = "deadlock";
			c->n_deadlock++;
			rc = emit(c, &r, &id);
			if (!rc && !q->deadlock_warned) {
				q->deadlock_warned = 1;
				rc = actx_warn(c, "deadlock: block %lld: thread %d is"
					       " already on its holder chain",
					       (long long)q->root_id, (int)h[i].tid);
			}
			continue;
		}
		ht = h[i].utid <= c->max_utid ? c->thr[h[i].utid] : NULL;
		if (ht)
			rc = hist_states(c, ht, f, t, &q->sbuf[depth],
					 &q->scap[depth], &ns, &evicted);
		if (rc)
			break;
		s = q->sbuf[depth];
		if (evicted) {
			/* the holder's states here were dropped at the cap */
			c->n_hist_evicted++;
			r.uncertain = 1;
		}
		for (size_t k = 0; !rc && k < ns; k++) {
			uint64_t sf = s[k].start > f ? s[k].start : f;
			uint64_t se = s[k].end < t ? s[k].end : t;
			const struct hblock *sub = NULL;
			struct chain_row p;

			if (se <= sf)
				continue;
			if (sf > pos) {
				struct chain_row gap = r;

				gap.from = pos;
				gap.to = sf;
				gap.state = "unknown";
				rc = emit(c, &gap, &id);
				if (rc)
					break;
			}
			piece_of(&r, &s[k], sf, se, &p);
			if (p.sub_block >= 0 && ht->has_blk &&
			    p.sub_block == ht->blk.id) {
				/* its block not written yet: no id to name */
				p.sub_block = -1;
			} else if (p.sub_block >= 0) {
				int sub_evicted;

				sub = hist_block(ht, p.sub_block, &sub_evicted);
				if (sub) {
					p.state = "futex";
					p.has_futex = 1;
					p.futex_uaddr = sub->uaddr;
					p.futex_pid = sub->pid;
				} else if (sub_evicted) {
					c->n_hist_evicted++;
					p.uncertain = 1;
				}
			}
			rc = emit(c, &p, &id);
			if (!rc && sub && sub->expand && depth < c->depth_limit &&
			    q->npath < MAX_PATH && depth + 1 < MAX_PATH) {
				q->path[q->npath++] = h[i].tid;
				rc = expand(c, sub->h, sub->nh, sf, se, depth + 1, id,
					    h[i].tid, h[i].utid, sub);
				q->npath--;
				/* the recursion may have grown other levels'
				 * buffers, never this one */
				s = q->sbuf[depth];
			}
			pos = se;
		}
		if (!rc && pos < t && ns) {
			struct chain_row gap = r;

			gap.from = pos;
			gap.state = "unknown";
			rc = emit(c, &gap, &id);
		} else if (!rc && !ns) {
			r.state = "unknown";
			rc = emit(c, &r, &id);
		}
	}
	return rc;
}

int chain_root(struct actx *c, const struct hroot *r)
{
	struct chainw *q = c->chain;
	int rc;

	q->root_id = r->id;
	q->path[0] = r->tid;
	q->npath = 1;
	q->deadlock_warned = 0;
	c->n_chain_blocks++;
	rc = hsum_root(c, r->id, r->pid, r->uaddr, r->global);
	if (!rc)
		rc = expand(c, r->h, r->nh, r->from, r->to, 1, -1, r->tid, 0, NULL);
	if (!rc && (c->n_chain_blocks & 0xfff) == 0 && c->opt->interrupted &&
	    *c->opt->interrupted)
		rc = wc_err(c->err, WC_EINTERRUPTED, c->path,
			    "analysis interrupted");
	return rc;
}
