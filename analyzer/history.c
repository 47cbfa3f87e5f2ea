/*
 * history.c - the recent past of every thread, kept during pass 1 so
 * that holder chains are built from memory when a block ends instead of
 * by indexed look-ups afterwards.
 *
 * A chain of block R needs, for each holder H of R's futex and its
 * interval [from, to) inside R, H's states over that interval, and for
 * each of H's own futex sleeps in there, that sleep's holders (and so
 * on).  Everything a chain can ask for lies after the start of the
 * oldest block that is still waiting for its chain: the *horizon*.  So
 * each thread keeps two rings, trimmed at the horizon:
 *   - its closed thread_state intervals (struct hstate), plus its open
 *     interval read from struct athread;
 *   - its flushed futex blocks with their holder rows (struct hblock).
 * The horizon is recomputed every HIST_HORIZON_EVENTS events (a walk
 * over the threads).  A block still waiting at the horizon for a long
 * time (a thread asleep on a lock for seconds) pins it: the rings then
 * grow, each up to a per-thread cap (c->hist_max_states, 16384 unless
 * WAITCHAIN_CHAIN_HISTORY says otherwise, and HIST_MAX_BLOCKS; both
 * rounded up to a power of two),
 * after which the oldest entries are dropped and a chain that needed
 * them gets an 'unknown', uncertain row there (counted, and said in
 * analysis.warnings).  Memory is thus bounded per thread, never by the
 * number of events.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "analyze-local.h"

#define HIST_MAX_BLOCKS 2048

/* i-th oldest entry of a ring of CAP entries starting at HEAD. */
#define RING_AT(v, cap, head, i) (&(v)[((head) + (i)) & ((cap) - 1)])

static void block_free(struct hblock *b)
{
	free(b->h);
	b->h = NULL;
	b->nh = 0;
}

/* Drops states and blocks that end at or before the horizon. */
static void trim(struct actx *c, struct hist *h)
{
	while (h->sn && RING_AT(h->s, h->scap, h->shead, 0)->end <= c->horizon) {
		h->shead = (h->shead + 1) & (h->scap - 1);
		h->sn--;
	}
	while (h->bn && RING_AT(h->b, h->bcap, h->bhead, 0)->end <= c->horizon) {
		block_free(RING_AT(h->b, h->bcap, h->bhead, 0));
		h->bhead = (h->bhead + 1) & (h->bcap - 1);
		h->bn--;
	}
}

/* Makes room for one more entry in a ring (grow by doubling, keeping
 * the order); 0, 1 when the ring is at MAX (the caller evicts), or
 * -WC_ENOMEM. */
static int ring_room(void **v, size_t *cap, size_t *head, size_t n,
		     size_t size, size_t max)
{
	size_t nc;
	unsigned char *nv;

	if (n < *cap)
		return 0;
	if (*cap >= max)
		return 1;
	nc = *cap ? *cap * 2 : 8;
	nv = malloc(nc * size);
	if (!nv)
		return -WC_ENOMEM;
	for (size_t i = 0; i < n; i++)
		memcpy(nv + i * size,
		       (unsigned char *)*v + ((*head + i) & (*cap - 1)) * size, size);
	free(*v);
	*v = nv;
	*cap = nc;
	*head = 0;
	return 0;
}

int hist_push_state(struct actx *c, struct athread *t, const struct hstate *e)
{
	struct hist *h = &t->hist;
	int rc;

	trim(c, h);
	if (e->end <= c->horizon)
		return 0;	/* no chain can ask for it */
	rc = ring_room((void **)&h->s, &h->scap, &h->shead, h->sn,
		       sizeof(*h->s), c->hist_max_states);
	if (rc < 0)
		return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	if (rc) {
		struct hstate *old = RING_AT(h->s, h->scap, h->shead, 0);

		if (old->end > h->s_evicted_end)
			h->s_evicted_end = old->end;
		h->shead = (h->shead + 1) & (h->scap - 1);
		h->sn--;
	}
	*RING_AT(h->s, h->scap, h->shead, h->sn) = *e;
	h->sn++;
	return 0;
}

int hist_push_block(struct actx *c, struct athread *t, struct hblock *b)
{
	struct hist *h = &t->hist;
	int rc;

	trim(c, h);
	if (b->end <= c->horizon) {
		block_free(b);
		return 0;
	}
	rc = ring_room((void **)&h->b, &h->bcap, &h->bhead, h->bn,
		       sizeof(*h->b), HIST_MAX_BLOCKS);
	if (rc < 0) {
		block_free(b);
		return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	}
	if (rc) {
		struct hblock *old = RING_AT(h->b, h->bcap, h->bhead, 0);

		if (old->id > h->b_evicted_id)
			h->b_evicted_id = old->id;
		block_free(old);
		h->bhead = (h->bhead + 1) & (h->bcap - 1);
		h->bn--;
	}
	*RING_AT(h->b, h->bcap, h->bhead, h->bn) = *b;
	h->bn++;
	b->h = NULL;
	b->nh = 0;
	return 0;
}

void hist_fix_block(struct athread *t, uint64_t since, int64_t tmp, int64_t id)
{
	struct hist *h = &t->hist;

	for (size_t i = h->sn; i-- > 0;) {
		struct hstate *s = RING_AT(h->s, h->scap, h->shead, i);

		if (s->end <= since)
			break;
		if (s->block_id == tmp)
			s->block_id = id;
	}
}

const struct hblock *hist_block(const struct athread *t, int64_t id,
				int *evicted)
{
	const struct hist *h = &t->hist;

	*evicted = 0;
	for (size_t i = h->bn; i-- > 0;) {
		const struct hblock *b = RING_AT(h->b, h->bcap, h->bhead, i);

		if (b->id == id)
			return b;
	}
	if (id <= h->b_evicted_id)
		*evicted = 1;
	return NULL;
}

int hist_states(struct actx *c, const struct athread *t, uint64_t from,
		uint64_t to, struct hstate **buf, size_t *cap, size_t *n,
		int *evicted)
{
	const struct hist *h = &t->hist;
	size_t first = h->sn, count;
	struct hstate *nb;

	*n = 0;
	*evicted = from < h->s_evicted_end;
	/* newest first: the oldest state that still ends after FROM */
	while (first > 0 &&
	       RING_AT(h->s, h->scap, h->shead, first - 1)->end > from)
		first--;
	count = h->sn - first + 1;	/* + the open state */
	nb = actx_reserve(c, *buf, cap, count, sizeof(**buf));
	if (!nb)
		return -WC_ENOMEM;
	*buf = nb;
	for (size_t i = first; i < h->sn; i++) {
		const struct hstate *s = RING_AT(h->s, h->scap, h->shead, i);

		if (s->start >= to)
			break;
		(*buf)[(*n)++] = *s;
	}
	/* the interval still open (its end is not known yet: what is
	 * after TO does not matter to a chain, clipped at TO) */
	if (t->state != TS_NONE && t->state_start < to &&
	    (*n == 0 || (*buf)[*n - 1].end <= t->state_start)) {
		struct hstate *s = &(*buf)[(*n)++];

		hstate_of_open(c, t, to, s);
	}
	return 0;
}

size_t hist_cap_from_env(void)
{
	const char *env = getenv("WAITCHAIN_CHAIN_HISTORY");
	char *end = NULL;
	unsigned long long v;

	if (!env || !*env)
		return HIST_DEFAULT_STATES;
	v = strtoull(env, &end, 10);
	if (*end || v < 8 || v > (1ULL << 24))
		return HIST_DEFAULT_STATES;
	return (size_t)v;
}

void hist_set_horizon(struct actx *c, uint64_t now)
{
	uint64_t hz = now;

	for (int64_t u = 1; u <= c->max_utid; u++) {
		const struct athread *t = c->thr[u];

		if (t && t->has_blk && t->blk.obj && t->blk.obj->is_root &&
		    t->blk.start_ns < hz)
			hz = t->blk.start_ns;
	}
	if (hz > c->horizon)
		c->horizon = hz;
}

void hist_free(struct athread *t)
{
	struct hist *h = &t->hist;

	for (size_t i = 0; i < h->bn; i++)
		block_free(RING_AT(h->b, h->bcap, h->bhead, i));
	free(h->s);
	free(h->b);
	memset(h, 0, sizeof(*h));
}
