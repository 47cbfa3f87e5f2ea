/*
 * chain.c - holder chains: for each futex block on a lock, what each
 * holder was doing while it held the lock, recursively.
 *
 * Roots: every futex block on a futex_object of kind 'mutex' or 'other'
 * (possibly a lock: see locks.c), plus every block on a global mutex
 * (whatever its kind, e.g. chosen with --lock); never condition
 * variables, whose wakers are signallers, not holders.
 * For a root, the block_holder rows give the holders and their intervals;
 * each interval is split by the holder's thread_state rows (indexed
 * look-up on (utid, start_ns): the last row starting at or before the
 * interval, then forward), one chain row per piece.  A piece where the
 * holder sleeps in a futex block on a word that is not a condition
 * variable expands, one level deeper, into that block's own holders
 * clipped to the piece; and so on up to the depth limit.  A holder
 * already on the path from the root (the waiter included) is a cycle: a
 * 'deadlock' row is written instead, the expansion stops there, and
 * analysis.warnings says so.
 *
 * Memory: the rows of one level are copied out of their statement before
 * recursing (statements are shared by all levels), so the peak is one
 * holder list plus one thread_state range per level.  Rows are written
 * in pre-order with explicit ids.
 */
#include <stdlib.h>
#include <string.h>

#include "analyze-local.h"
#include "waitchain/db.h"

struct hrow {
	int32_t tid;
	int64_t utid;		/* 0 = unknown holder */
	uint64_t from, to;
	int exact;
};

struct srow {
	uint64_t start, end;
	char state[16];
	int32_t cpu;		/* -1 NULL */
	int woken;
	int32_t preempted_by;	/* -1 NULL */
	int64_t block_id;	/* -1 NULL */
	int uncertain;
};

/*
 * Concurrent waiters of one holder interval each ask for the holder's
 * states over that interval clipped to their own block (~10 chain rows
 * per futex block come from such copies): the states of the last few
 * holder intervals are kept, and a request inside one of them is served
 * from memory instead of an indexed query (bench/PROFILE.md, "After").
 * Bounded: STATE_CACHE intervals, each no more rows than one query.
 */
#define STATE_CACHE 4
struct state_cache {
	int64_t utid;		/* 0 = empty */
	uint64_t from, to;
	struct srow *rows;	/* owned */
	size_t n;
};

/* What a block is, for sub-block expansion (direct-mapped by id). */
#define BLOCK_CACHE 1024
struct block_info {
	int64_t block;		/* -1 = empty */
	int is_futex, expand;
	uint64_t uaddr;
	int64_t pid;
};

struct chainq {
	struct actx *c;
	sqlite3_stmt *q_holders, *q_states, *q_block;
	struct abatch *ins;		/* chain rows */
	struct state_cache sc[STATE_CACHE];
	unsigned sc_next;
	struct block_info *bc;	/* BLOCK_CACHE entries, NULL: no cache */
	int64_t root_id;
	int32_t path[72];
	int npath;
	int deadlock_warned;
};

static int64_t col64(sqlite3_stmt *st, int i, int64_t deflt)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ?
		deflt : sqlite3_column_int64(st, i);
}

/* block_holder rows of BLOCK into *OUT (caller frees). */
static int fetch_holders(struct chainq *q, int64_t block, struct hrow **out,
			 size_t *n)
{
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	sqlite3_bind_int64(q->q_holders, 1, block);
	while ((rc = sqlite3_step(q->q_holders)) == SQLITE_ROW) {
		sqlite3_stmt *st = q->q_holders;
		const char *cert = (const char *)sqlite3_column_text(st, 4);

		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct hrow *p = realloc(*out, ncap * sizeof(*p));

			if (!p) {
				sqlite3_reset(st);
				return wc_err(q->c->err, WC_ENOMEM, q->c->path,
					      "out of memory");
			}
			*out = p;
			cap = ncap;
		}
		(*out)[(*n)++] = (struct hrow){
			.tid = (int32_t)col64(st, 0, 0),
			.utid = col64(st, 1, 0),
			.from = (uint64_t)col64(st, 2, 0),
			.to = (uint64_t)col64(st, 3, 0),
			.exact = cert && strcmp(cert, "exact") == 0,
		};
	}
	sqlite3_reset(q->q_holders);
	return rc == SQLITE_DONE ? 0 : actx_dberr(q->c, "block_holder");
}

/* thread_state rows of UTID overlapping [FROM, TO) into *OUT. */
static int fetch_states(struct chainq *q, int64_t utid, uint64_t from,
			uint64_t to, struct srow **out, size_t *n)
{
	sqlite3_stmt *st = q->q_states;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	sqlite3_bind_int64(st, 1, utid);
	sqlite3_bind_int64(st, 2, (int64_t)from);
	sqlite3_bind_int64(st, 3, (int64_t)to);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct srow r;
		const char *s = (const char *)sqlite3_column_text(st, 2);
		const char *why = (const char *)sqlite3_column_text(st, 4);

		r.start = (uint64_t)col64(st, 0, 0);
		r.end = (uint64_t)col64(st, 1, 0);
		if (r.end <= from)
			continue;
		snprintf(r.state, sizeof(r.state), "%s", s ? s : "unknown");
		r.cpu = (int32_t)col64(st, 3, -1);
		r.woken = why && strcmp(why, "woken") == 0;
		r.preempted_by = (int32_t)col64(st, 5, -1);
		r.block_id = col64(st, 6, -1);
		r.uncertain = (int)col64(st, 7, 0);
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct srow *p = realloc(*out, ncap * sizeof(*p));

			if (!p) {
				sqlite3_reset(st);
				return wc_err(q->c->err, WC_ENOMEM, q->c->path,
					      "out of memory");
			}
			*out = p;
			cap = ncap;
		}
		(*out)[(*n)++] = r;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : actx_dberr(q->c, "thread_state");
}

/* The states of UTID overlapping [F, T), inside the holder interval
 * [HFROM, HTO), as fetch_states(UTID, F, T) would return them (caller
 * frees *OUT), through the cache of holder intervals.  thread_state rows
 * of one thread do not overlap, so filtering the interval's rows gives
 * the same rows as the query. */
static int cached_states(struct chainq *q, int64_t utid, uint64_t hfrom,
			 uint64_t hto, uint64_t f, uint64_t t,
			 struct srow **out, size_t *n)
{
	struct state_cache *e = NULL;
	uint64_t s0 = f;
	size_t k, m = 0;
	int rc;

	if (hfrom > f)
		hfrom = f;
	if (hto < t)
		hto = t;
	for (k = 0; k < STATE_CACHE; k++)
		if (q->sc[k].utid == utid && q->sc[k].from <= f &&
		    t <= q->sc[k].to) {
			e = &q->sc[k];
			break;
		}
	if (!e) {
		e = &q->sc[q->sc_next++ % STATE_CACHE];
		free(e->rows);
		e->rows = NULL;
		e->n = 0;
		e->utid = 0;
		rc = fetch_states(q, utid, hfrom, hto, &e->rows, &e->n);
		if (rc)
			return rc;
		e->utid = utid;
		e->from = hfrom;
		e->to = hto;
	}
	*out = NULL;
	*n = 0;
	for (k = 0; k < e->n && e->rows[k].start <= f; k++)
		s0 = e->rows[k].start;
	for (k = 0; k < e->n; k++) {
		const struct srow *r = &e->rows[k];

		if (r->start >= s0 && r->start < t && r->end > f)
			m++;
	}
	if (!m)
		return 0;
	*out = malloc(m * sizeof(**out));
	if (!*out)
		return wc_err(q->c->err, WC_ENOMEM, q->c->path, "out of memory");
	for (k = 0; k < e->n; k++) {
		const struct srow *r = &e->rows[k];

		if (r->start >= s0 && r->start < t && r->end > f)
			(*out)[(*n)++] = *r;
	}
	return 0;
}

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
};

static int emit(struct chainq *q, const struct chain_row *r, int64_t *id)
{
	struct abatch *b = q->ins;
	struct actx *c = q->c;

	*id = ++c->next_chain_id;
	c->n_chain_rows++;
	abatch_int(b, 1, *id);
	abatch_int(b, 2, q->root_id);
	abatch_i64(b, 3, r->parent_id, r->parent_id < 0);
	abatch_int(b, 4, r->depth);
	abatch_i64(b, 5, r->tid, r->tid < 0);
	abatch_i64(b, 6, r->utid, r->utid <= 0);
	abatch_int(b, 7, (int64_t)r->from);
	abatch_int(b, 8, (int64_t)r->to);
	abatch_text(b, 9, r->state);	/* a literal */
	abatch_i64(b, 10, (int64_t)r->futex_uaddr, !r->has_futex);
	abatch_i64(b, 11, r->futex_pid, !r->has_futex || r->futex_pid < 0);
	abatch_i64(b, 12, r->sub_block, r->sub_block < 0);
	abatch_i64(b, 13, r->parent_tid, r->parent_tid < 0);
	abatch_i64(b, 14, r->preempted_by, r->preempted_by < 0);
	abatch_i64(b, 15, r->cpu, r->cpu < 0);
	abatch_int(b, 16, r->uncertain || actx_lost_overlaps(c, r->from, r->to));
	return abatch_row(c, b);
}

/* What sub-block BLOCK is: *is_futex, its word, and *expand (the word is
 * a lock whose holders mean something). */
static int sub_block_info(struct chainq *q, int64_t block, int *is_futex,
			  uint64_t *uaddr, int64_t *pid, int *expand)
{
	sqlite3_stmt *st = q->q_block;
	struct block_info *bi = q->bc ? &q->bc[(uint64_t)block % BLOCK_CACHE] : NULL;
	int rc;

	if (bi && bi->block == block) {
		*is_futex = bi->is_futex;
		*expand = bi->expand;
		*uaddr = bi->uaddr;
		*pid = bi->pid;
		return 0;
	}
	*is_futex = *expand = 0;
	sqlite3_bind_int64(st, 1, block);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *reason = (const char *)sqlite3_column_text(st, 0);
		const char *kind = (const char *)sqlite3_column_text(st, 3);

		*is_futex = reason && strcmp(reason, "futex") == 0 &&
			sqlite3_column_type(st, 1) != SQLITE_NULL;
		*uaddr = (uint64_t)col64(st, 1, 0);
		*pid = col64(st, 2, -1);
		*expand = *is_futex && (!kind || strcmp(kind, "condvar") != 0);
		rc = SQLITE_DONE;
		if (bi)
			*bi = (struct block_info){ .block = block,
				.is_futex = *is_futex, .expand = *expand,
				.uaddr = *uaddr, .pid = *pid };
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : actx_dberr(q->c, "block");
}

static int expand(struct chainq *q, const struct hrow *h, size_t nh,
		  uint64_t clip_from, uint64_t clip_to, int depth,
		  int64_t parent_id, int32_t parent_tid)
{
	struct actx *c = q->c;
	int rc = 0;

	for (size_t i = 0; !rc && i < nh; i++) {
		uint64_t f = h[i].from > clip_from ? h[i].from : clip_from;
		uint64_t t = h[i].to < clip_to ? h[i].to : clip_to;
		struct chain_row r = {
			.parent_id = parent_id, .depth = depth, .tid = -1,
			.from = f, .to = t, .futex_pid = -1, .sub_block = -1,
			.parent_tid = parent_tid, .preempted_by = -1, .cpu = -1,
			.uncertain = !h[i].exact,
		};
		struct srow *s = NULL;
		size_t ns = 0;
		uint64_t pos = f;
		int on_path = 0;
		int64_t id;

		if (t <= f)
			continue;
		if (!h[i].utid) {
			r.state = "unknown";
			rc = emit(q, &r, &id);
			continue;
		}
		r.tid = h[i].tid;
		r.utid = h[i].utid;
		for (int k = 0; k < q->npath; k++)
			on_path |= q->path[k] == h[i].tid;
		if (on_path) {
			r.state = "deadlock";
			c->n_deadlock++;
			rc = emit(q, &r, &id);
			if (!rc && !q->deadlock_warned) {
				q->deadlock_warned = 1;
				rc = actx_warn(c, "deadlock: block %lld: thread %d is"
					       " already on its holder chain",
					       (long long)q->root_id, (int)h[i].tid);
			}
			continue;
		}
		rc = cached_states(q, h[i].utid, h[i].from, h[i].to, f, t,
				   &s, &ns);
		for (size_t k = 0; !rc && k < ns; k++) {
			uint64_t sf = s[k].start > f ? s[k].start : f;
			uint64_t se = s[k].end < t ? s[k].end : t;
			int is_futex = 0, sub_expand = 0;

			if (se <= sf)
				continue;
			if (sf > pos) {
				struct chain_row gap = r;

				gap.from = pos;
				gap.to = sf;
				gap.state = "unknown";
				rc = emit(q, &gap, &id);
				if (rc)
					break;
			}
			struct chain_row p = r;

			p.from = sf;
			p.to = se;
			p.cpu = s[k].cpu;
			p.uncertain |= s[k].uncertain;
			if (!strcmp(s[k].state, "running")) {
				p.state = "running";
			} else if (!strcmp(s[k].state, "runnable")) {
				p.state = s[k].woken ? "runnable" : "preempted";
				if (!s[k].woken)
					p.preempted_by = s[k].preempted_by;
			} else if (!strcmp(s[k].state, "sleeping") ||
				   !strcmp(s[k].state, "blocked_io")) {
				p.sub_block = s[k].block_id;
				p.state = s[k].state[0] == 'b' ? "blocked_io" : "sleeping";
				if (s[k].block_id >= 0) {
					rc = sub_block_info(q, s[k].block_id, &is_futex,
							    &p.futex_uaddr,
							    &p.futex_pid, &sub_expand);
					if (rc)
						break;
					if (is_futex) {
						p.state = "futex";
						p.has_futex = 1;
					}
				}
			} else if (!strcmp(s[k].state, "dead")) {
				p.state = "dead";
			} else {
				p.state = "unknown";
			}
			rc = emit(q, &p, &id);
			if (!rc && is_futex && sub_expand && depth < c->depth_limit &&
			    q->npath < (int)WC_ARRAY_SIZE(q->path)) {
				struct hrow *sub = NULL;
				size_t nsub = 0;

				rc = fetch_holders(q, s[k].block_id, &sub, &nsub);
				if (!rc) {
					q->path[q->npath++] = h[i].tid;
					rc = expand(q, sub, nsub, sf, se, depth + 1, id,
						    h[i].tid);
					q->npath--;
				}
				free(sub);
			}
			pos = se;
		}
		if (!rc && pos < t && ns) {
			struct chain_row gap = r;

			gap.from = pos;
			gap.state = "unknown";
			rc = emit(q, &gap, &id);
		} else if (!rc && !ns) {
			r.state = "unknown";
			rc = emit(q, &r, &id);
		}
		free(s);
	}
	return rc;
}

int chains_run(struct actx *c)
{
	struct chainq q;
	sqlite3_stmt *roots = NULL;
	int rc;

	memset(&q, 0, sizeof(q));
	q.c = c;
	q.bc = malloc(BLOCK_CACHE * sizeof(*q.bc));
	for (size_t k = 0; q.bc && k < BLOCK_CACHE; k++)
		q.bc[k].block = -1;
	if ((rc = wc_db_prepare(c->db, c->path,
				"SELECT holder_tid, holder_utid, from_ns, to_ns, certainty"
				" FROM block_holder WHERE block_id = ?1 ORDER BY seq",
				&q.q_holders, c->err)) ||
	    (rc = wc_db_prepare(c->db, c->path,
				"SELECT start_ns, end_ns, state, cpu, runnable_reason,"
				" preempted_by, block_id, uncertain FROM thread_state"
				" WHERE utid = ?1 AND start_ns < ?3 AND start_ns >="
				" coalesce((SELECT start_ns FROM thread_state WHERE"
				" utid = ?1 AND start_ns <= ?2 ORDER BY start_ns DESC"
				" LIMIT 1), ?2) ORDER BY start_ns", &q.q_states, c->err)) ||
	    (rc = wc_db_prepare(c->db, c->path,
				"SELECT b.reason, b.futex_uaddr, b.futex_pid, f.kind"
				" FROM block b LEFT JOIN futex_object f ON"
				" f.uaddr = b.futex_uaddr AND f.pid IS b.futex_pid"
				" WHERE b.id = ?1", &q.q_block, c->err)) ||
	    (rc = abatch_new(c, &q.ins, "chain", "id, block_id, parent_id, "
			      "depth, tid, utid, from_ns, to_ns, state, "
			      "futex_uaddr, futex_pid, sub_block_id, parent_tid, "
			      "preempted_by, cpu, uncertain", 16)) ||
	    (rc = wc_db_prepare(c->db, c->path,
				"SELECT b.id, b.tid, b.start_ns, b.end_ns FROM block b"
				" JOIN futex_object f ON f.uaddr = b.futex_uaddr AND"
				" f.pid IS b.futex_pid WHERE b.reason = 'futex' AND"
				" (f.kind IN ('mutex', 'other') OR b.on_global_lock = 1)"
				" ORDER BY b.id", &roots, c->err)))
		goto out;

	while ((rc = sqlite3_step(roots)) == SQLITE_ROW) {
		struct hrow *h = NULL;
		size_t nh = 0;

		q.root_id = sqlite3_column_int64(roots, 0);
		q.path[0] = (int32_t)sqlite3_column_int64(roots, 1);
		q.npath = 1;
		q.deadlock_warned = 0;
		c->n_chain_blocks++;
		rc = fetch_holders(&q, q.root_id, &h, &nh);
		if (!rc)
			rc = expand(&q, h, nh, (uint64_t)sqlite3_column_int64(roots, 2),
				    (uint64_t)sqlite3_column_int64(roots, 3), 1, -1,
				    q.path[0]);
		free(h);
		if (rc)
			goto out;
		if ((c->n_chain_blocks & 0xfff) == 0 && c->opt->interrupted &&
		    *c->opt->interrupted) {
			rc = wc_err(c->err, WC_EINTERRUPTED, c->path,
				    "analysis interrupted");
			goto out;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : actx_dberr(c, "block");
	if (!rc)
		rc = abatch_flush(c, q.ins);
out:
	sqlite3_finalize(roots);
	sqlite3_finalize(q.q_holders);
	sqlite3_finalize(q.q_states);
	sqlite3_finalize(q.q_block);
	abatch_free(q.ins);
	for (size_t k = 0; k < STATE_CACHE; k++)
		free(q.sc[k].rows);
	free(q.bc);
	return rc;
}
