/*
 * amap.c - the analyzer's small containers: an open-addressing hash map
 * keyed by two 64-bit words (futex (pid, uaddr), stack ids) and a sorted
 * set of utids with counts (distinct waiters/wakers of a futex).
 *
 * Keys come from captures and may be chosen by a hostile traced program:
 * the map always compares full keys, so collisions cost time, never
 * correctness; the load factor stays below 1/2.
 */
#include <stdlib.h>
#include <string.h>

#include "analyze-local.h"

static size_t slot_of(const struct amap *m, uint64_t a, uint64_t b)
{
	size_t mask = m->cap - 1;
	size_t i = (size_t)wc_mix64(a * 0x9e3779b97f4a7c15ULL ^ wc_mix64(b)) & mask;

	while (m->slots[i].val && (m->slots[i].a != a || m->slots[i].b != b))
		i = (i + 1) & mask;
	return i;
}

void *amap_get(const struct amap *m, uint64_t a, uint64_t b)
{
	if (!m->cap)
		return NULL;
	return m->slots[slot_of(m, a, b)].val;
}

static int amap_grow(struct amap *m)
{
	struct amap bigger = { NULL, m->cap ? m->cap * 2 : 64, m->n };

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -WC_ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].val)
			bigger.slots[slot_of(&bigger, m->slots[i].a,
					     m->slots[i].b)] = m->slots[i];
	free(m->slots);
	*m = bigger;
	return 0;
}

int amap_put(struct amap *m, uint64_t a, uint64_t b, void *val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap && amap_grow(m))
		return -WC_ENOMEM;
	i = slot_of(m, a, b);
	if (!m->slots[i].val)
		m->n++;
	m->slots[i] = (struct amap_slot){ a, b, val };
	return 0;
}

void amap_free(struct amap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* Index where ID is or would be inserted. */
static size_t uset_pos(const struct uset *s, int64_t id)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->id[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

long uset_find(const struct uset *s, int64_t id)
{
	size_t i = uset_pos(s, id);

	return i < s->n && s->id[i] == id ? (long)i : -1;
}

int uset_add(struct uset *s, int64_t id)
{
	size_t i = uset_pos(s, id);

	if (i < s->n && s->id[i] == id) {
		s->count[i]++;
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		int64_t *nid = realloc(s->id, cap * sizeof(*nid));

		if (!nid)
			return -WC_ENOMEM;
		s->id = nid;
		uint64_t *ncount = realloc(s->count, cap * sizeof(*ncount));

		if (!ncount)
			return -WC_ENOMEM;
		s->count = ncount;
		s->cap = cap;
	}
	memmove(s->id + i + 1, s->id + i, (s->n - i) * sizeof(*s->id));
	memmove(s->count + i + 1, s->count + i, (s->n - i) * sizeof(*s->count));
	s->id[i] = id;
	s->count[i] = 1;
	s->n++;
	return 0;
}

void uset_free(struct uset *s)
{
	free(s->id);
	free(s->count);
	memset(s, 0, sizeof(*s));
}

int futex_cmd_is_wait(int cmd)
{
	switch (cmd) {
	case 0:		/* WAIT */
	case 9:		/* WAIT_BITSET (and futex_wait(2)) */
	case 6:		/* LOCK_PI */
	case 13:	/* LOCK_PI2 */
	case 11:	/* WAIT_REQUEUE_PI */
	case 0x70:	/* futex_waitv(2) */
		return 1;
	default:
		return 0;
	}
}

int futex_cmd_is_wake(int cmd)
{
	switch (cmd) {
	case 1:		/* WAKE */
	case 10:	/* WAKE_BITSET (and futex_wake(2)) */
	case 5:		/* WAKE_OP: uaddr and uaddr2 */
	case 7:		/* UNLOCK_PI */
	case 3:		/* REQUEUE */
	case 4:		/* CMP_REQUEUE (and futex_requeue(2)) */
	case 12:	/* CMP_REQUEUE_PI */
		return 1;
	default:
		return 0;
	}
}
