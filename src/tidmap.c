/*
 * tidmap.c - tid -> utid mapping (rules in include/waitchain/tidmap.h).
 *
 * An open-addressing hash table keyed by tid holds, per tid, the newest
 * utid and the index of that utid in a history array; the history array
 * (one entry per utid, in utid order) chains the older utids of the same
 * tid (prev), so wc_tidmap_at() walks back from the newest lifetime of a
 * tid to the one covering a seq.  Reuse of one tid is rare, so the
 * chains are short.
 */
#include <stdlib.h>

#include "waitchain/tidmap.h"
#include "waitchain/util.h"

struct slot {
	int32_t tid;
	int32_t used;
	int64_t utid;		/* newest utid of tid */
};

struct life {
	uint64_t start_seq;
	int64_t prev;		/* previous utid of the same tid, 0 = none */
};

struct wc_tidmap {
	struct slot *slots;
	size_t nslots, nused;	/* nslots is a power of two */
	struct life *lives;	/* index utid - 1 */
	size_t nlives, cap;
};

struct wc_tidmap *wc_tidmap_new(void)
{
	struct wc_tidmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->nslots = 1024;
	m->slots = calloc(m->nslots, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

void wc_tidmap_free(struct wc_tidmap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m->lives);
	free(m);
}

static size_t slot_index(const struct wc_tidmap *m, int32_t tid)
{
	size_t mask = m->nslots - 1;
	size_t i = (size_t)wc_mix64((uint64_t)(uint32_t)tid) & mask;

	while (m->slots[i].used && m->slots[i].tid != tid)
		i = (i + 1) & mask;
	return i;
}

static int grow(struct wc_tidmap *m)
{
	struct wc_tidmap bigger = *m;

	bigger.nslots = m->nslots * 2;
	bigger.slots = calloc(bigger.nslots, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -1;
	for (size_t i = 0; i < m->nslots; i++)
		if (m->slots[i].used)
			bigger.slots[slot_index(&bigger, m->slots[i].tid)] =
				m->slots[i];
	free(m->slots);
	m->slots = bigger.slots;
	m->nslots = bigger.nslots;
	return 0;
}

/* Appends a lifetime for the tid of slot S; returns the new utid. */
static int64_t new_life(struct wc_tidmap *m, struct slot *s, uint64_t seq)
{
	if (m->nlives == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct life *p = realloc(m->lives, cap * sizeof(*p));

		if (!p)
			return -1;
		m->lives = p;
		m->cap = cap;
	}
	m->lives[m->nlives].start_seq = seq;
	m->lives[m->nlives].prev = s->used ? s->utid : 0;
	m->nlives++;
	s->used = 1;
	s->utid = (int64_t)m->nlives;
	return s->utid;
}

/* The slot for TID, inserting an unused-but-reserved one if missing. */
static struct slot *find_slot(struct wc_tidmap *m, int32_t tid, int *fresh)
{
	size_t i;

	if ((m->nused + 1) * 4 > m->nslots * 3 && grow(m))
		return NULL;
	i = slot_index(m, tid);
	*fresh = !m->slots[i].used;
	if (*fresh) {
		m->slots[i].tid = tid;
		m->nused++;
	}
	return &m->slots[i];
}

int64_t wc_tidmap_get(struct wc_tidmap *m, int32_t tid, uint64_t seq,
		      int *created)
{
	int fresh;
	struct slot *s = find_slot(m, tid, &fresh);

	if (created)
		*created = 0;
	if (!s)
		return -1;
	if (!fresh)
		return s->utid;
	if (created)
		*created = 1;
	return new_life(m, s, seq);
}

int64_t wc_tidmap_fork(struct wc_tidmap *m, int32_t child_tid, uint64_t seq,
		       int *created)
{
	int fresh;
	struct slot *s = find_slot(m, child_tid, &fresh);

	if (created)
		*created = 0;
	if (!s)
		return -1;
	if (created)
		*created = 1;
	return new_life(m, s, seq);
}

int64_t wc_tidmap_lookup(const struct wc_tidmap *m, int32_t tid)
{
	size_t i = slot_index(m, tid);

	return m->slots[i].used ? m->slots[i].utid : 0;
}

int64_t wc_tidmap_count(const struct wc_tidmap *m)
{
	return (int64_t)m->nlives;
}

int wc_tidmap_add(struct wc_tidmap *m, int64_t utid, int32_t tid,
		  uint64_t start_seq)
{
	int fresh;
	struct slot *s;

	if (utid != (int64_t)m->nlives + 1)
		return -1;
	s = find_slot(m, tid, &fresh);
	if (!s)
		return -1;
	return new_life(m, s, start_seq) < 0 ? -1 : 0;
}

int64_t wc_tidmap_at(const struct wc_tidmap *m, int32_t tid, uint64_t seq)
{
	int64_t u = wc_tidmap_lookup(m, tid);

	while (u > 0) {
		const struct life *l = &m->lives[u - 1];

		if (l->start_seq <= seq || l->prev == 0)
			return u;
		u = l->prev;
	}
	return 0;
}
