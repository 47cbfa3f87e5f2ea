/*
 * holdsum.c - holder_time: the chain rows summed while they are written.
 *
 * The canned questions about holders (who held the global mutex while
 * vCPUs waited, in which state, at which depth, what the holders waited
 * on) aggregate millions of chain rows; SQLite sorts every row for a
 * GROUP BY, which took most of a report's minute on a 12 M-event capture.
 * So pass 1 sums each chain row, as chain.c emits it, into one entry per
 * distinct (root futex, root is a vCPU block on the global mutex, depth,
 * state, holder, parent holder and the futex it waited on), and writes
 * those few rows at the end (schema/040_analysis.sql, table holder_time).
 *
 * Distinct block counts cannot be summed across entries, so each entry
 * carries three: blocks (root blocks with rows of this exact key),
 * holder_blocks (a root block counted once per (root key, depth, holder),
 * on the first entry of that holder the block meets) and state_blocks
 * (once per (root key, depth, state)).  Summing holder_blocks over the
 * states of a holder, or state_blocks over the holders of a state, gives
 * the distinct count.  A root's rows are all written together
 * (chain_root()), so "first in this block" is "last block seen differs".
 *
 * Memory: one entry per distinct key, bounded by threads, locks, depths
 * and states, never by events.  Keys come from the capture: the table
 * compares whole keys, so hostile collisions cost time, not correctness.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyze-local.h"
#include "waitchain/db.h"

/* chain.state values, in the order their codes are given */
static const char *const state_names[] = {
	"running", "preempted", "runnable", "futex", "blocked_io", "sleeping",
	"dead", "unknown", "deadlock",
};
#define STATE_UNKNOWN 7

enum { K_FULL, K_HOLDER, K_STATE };

/*
 * A key, packed into four words (compared whole):
 *   w[0]  kind | has_pfutex << 2 | state << 3 | depth << 8 |
 *         root_global << 16 | root futex index << 32
 *   w[1]  utid (32 bits, 0 = NULL) | tid << 32 (-1 = NULL)
 *   w[2]  parent_utid | parent_tid << 32 (depth > 1)
 *   w[3]  index of the futex the parent holder slept on (depth > 1)
 * Futex indexes point into struct hsum.futexes.
 */
struct hkey {
	uint64_t w[4];
};

#define KEY_KIND(k) ((k)->w[0] & 3)
#define KEY_HAS_PFUTEX(k) (((k)->w[0] >> 2) & 1)
#define KEY_STATE(k) (((k)->w[0] >> 3) & 31)
#define KEY_DEPTH(k) (((k)->w[0] >> 8) & 255)
#define KEY_GLOBAL(k) (((k)->w[0] >> 16) & 1)
#define KEY_ROOT(k) ((k)->w[0] >> 32)
#define LO32(v) ((uint32_t)((v) & 0xffffffffu))
#define HI32(v) ((int32_t)(uint32_t)((v) >> 32))

struct hent {
	struct hkey k;
	uint64_t hash;
	int64_t last_block;	/* root block that counted last */
	uint64_t ns, intervals, blocks, holder_blocks, state_blocks;
	size_t holder, state;	/* K_FULL: its K_HOLDER and K_STATE entries */
};

/* A futex word a key names (a root's, or a parent holder's). */
struct hfutex {
	int64_t pid;		/* -1 unknown */
	uint64_t uaddr;
};

struct hsum {
	struct hent *v;		/* entries, in creation order (indexes stay) */
	size_t n, cap;
	uint32_t *slots;	/* hash table: entry index + 1, 0 = free */
	size_t nslots;		/* power of two, >= 2 * n */
	size_t last;		/* entry of the previous row (+1), 0 none */
	struct hfutex *futexes;	/* by index */
	size_t nfutexes, capfutexes;
	struct amap futex_ix;	/* (pid, uaddr) -> index + 1 */
	/* index + 1 of the last root's and the last parent's futex (0:
	 * none): most roots are on one lock, and a root's depth-2 rows
	 * mostly name one */
	size_t last_root, last_pf;
	/* the root whose rows come now */
	int64_t block;
	uint64_t root_bits;	/* root_global << 16 | root index << 32 */
};

int hsum_open(struct actx *c)
{
	c->hsum = calloc(1, sizeof(*c->hsum));
	if (!c->hsum)
		return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	return 0;
}

void hsum_close(struct actx *c)
{
	if (!c->hsum)
		return;
	free(c->hsum->v);
	free(c->hsum->slots);
	free(c->hsum->futexes);
	amap_free(&c->hsum->futex_ix);
	free(c->hsum);
	c->hsum = NULL;
}

/* The index of futex (PID, UADDR) (made when new), or -1 on ENOMEM. */
static int64_t futex_index(struct hsum *s, int64_t pid, uint64_t uaddr)
{
	uintptr_t ix = (uintptr_t)amap_get(&s->futex_ix, (uint64_t)pid, uaddr);

	if (ix)
		return (int64_t)ix - 1;
	if (s->nfutexes >= UINT32_MAX)
		return -1;
	if (s->nfutexes == s->capfutexes) {
		size_t cap = s->capfutexes ? s->capfutexes * 2 : 16;
		struct hfutex *f = realloc(s->futexes, cap * sizeof(*f));

		if (!f)
			return -1;
		s->futexes = f;
		s->capfutexes = cap;
	}
	if (amap_put(&s->futex_ix, (uint64_t)pid, uaddr,
		     (void *)(uintptr_t)(s->nfutexes + 1)))
		return -1;
	s->futexes[s->nfutexes] = (struct hfutex){ pid, uaddr };
	return (int64_t)s->nfutexes++;
}

/* futex_index(), first trying *LAST (index + 1 of the previous answer,
 * 0 none), which it updates. */
static int64_t futex_index_cached(struct hsum *s, size_t *last, int64_t pid,
				  uint64_t uaddr)
{
	int64_t ix;

	if (*last && s->futexes[*last - 1].pid == pid &&
	    s->futexes[*last - 1].uaddr == uaddr)
		return (int64_t)*last - 1;
	ix = futex_index(s, pid, uaddr);
	if (ix >= 0)
		*last = (size_t)ix + 1;
	return ix;
}

int hsum_root(struct actx *c, int64_t block_id, int64_t pid, uint64_t uaddr,
	      int global)
{
	struct hsum *s = c->hsum;
	int64_t ix = futex_index_cached(s, &s->last_root, pid, uaddr);

	if (ix < 0)
		return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	s->block = block_id;
	s->root_bits = (uint64_t)!!global << 16 | (uint64_t)ix << 32;
	s->last = 0;
	return 0;
}

/* Multiplicative: keys are few and the table compares them whole, so a
 * weak hash costs probes, never correctness; this runs per chain row. */
static uint64_t key_hash(const struct hkey *k)
{
	uint64_t h = k->w[0] * 0x9e3779b97f4a7c15ULL ^
		     k->w[1] * 0xc2b2ae3d27d4eb4fULL ^
		     k->w[2] * 0x165667b19e3779f9ULL ^
		     k->w[3] * 0xd6e8feb86659fd93ULL;

	return h ^ h >> 29;
}

/* Rebuilds the hash table with twice the slots.  0 or -WC_ENOMEM. */
static int rehash(struct hsum *s)
{
	size_t nslots = s->nslots ? s->nslots * 2 : 512;
	uint32_t *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return -WC_ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		size_t j = s->v[i].hash & (nslots - 1);

		while (slots[j])
			j = (j + 1) & (nslots - 1);
		slots[j] = (uint32_t)(i + 1);
	}
	free(s->slots);
	s->slots = slots;
	s->nslots = nslots;
	return 0;
}

/* The index of the entry of K (made when new), or -1 on ENOMEM. */
static ptrdiff_t entry(struct hsum *s, const struct hkey *k)
{
	uint64_t h = key_hash(k);
	size_t i;
	struct hent *e;

	if ((s->n + 1) * 2 > s->nslots && (s->n >= UINT32_MAX - 1 || rehash(s)))
		return -1;
	i = h & (s->nslots - 1);
	while (s->slots[i]) {
		e = &s->v[s->slots[i] - 1];
		if (e->hash == h && memcmp(&e->k, k, sizeof(*k)) == 0)
			return (ptrdiff_t)s->slots[i] - 1;
		i = (i + 1) & (s->nslots - 1);
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;

		e = realloc(s->v, cap * sizeof(*e));
		if (!e)
			return -1;
		s->v = e;
		s->cap = cap;
	}
	e = &s->v[s->n];
	memset(e, 0, sizeof(*e));
	e->k = *k;
	e->hash = h;
	e->last_block = -1;
	s->slots[i] = (uint32_t)(s->n + 1);
	return (ptrdiff_t)s->n++;
}

/* The index of STATE in state_names (chain.c's literals; anything else
 * counts as 'unknown').  Called per chain row: the first letters decide
 * (chain.c writes no other strings: asserted). */
static uint64_t state_code(const char *state)
{
	uint64_t i;

	switch (state[0]) {
	case 'r':
		i = state[4] == 'i' ? 0 : 2;	/* running, runnable */
		break;
	case 'p':
		i = 1;
		break;
	case 'f':
		i = 3;
		break;
	case 'b':
		i = 4;
		break;
	case 's':
		i = 5;
		break;
	case 'd':
		i = state[1] && state[2] && state[3] && state[4] ? 8 : 6;
		break;
	default:
		i = STATE_UNKNOWN;
		break;
	}
	assert(strcmp(state, state_names[i]) == 0 || i == STATE_UNKNOWN);
	return i;
}

/* The K_FULL entry of key FULL, with its coarser entries linked (made
 * when new), or -1 on ENOMEM. */
static ptrdiff_t full_entry(struct hsum *s, const struct hkey *full)
{
	struct hkey holder, state;
	ptrdiff_t f, h, t;

	if (s->last && memcmp(&s->v[s->last - 1].k, full, sizeof(*full)) == 0)
		return (ptrdiff_t)s->last - 1;
	if ((f = entry(s, full)) < 0)
		return -1;
	if (s->v[f].intervals == 0) {
		/* new: the holder's key (state and parent left out) and the
		 * state's key (holder and parent left out); both keep the
		 * depth and root bits of w[0] */
		uint64_t common = full->w[0] & ~(uint64_t)0xff;

		holder = (struct hkey){ { common | K_HOLDER, full->w[1], 0, 0 } };
		state = (struct hkey){ { common | K_STATE | KEY_STATE(full) << 3, 0, 0, 0 } };
		if ((h = entry(s, &holder)) < 0 || (t = entry(s, &state)) < 0)
			return -1;
		s->v[f].holder = (size_t)h;
		s->v[f].state = (size_t)t;
	}
	s->last = (size_t)f + 1;
	return f;
}

int hsum_add(struct actx *c, const struct hsum_row *r)
{
	struct hsum *s = c->hsum;
	struct hkey full = { { 0, 0, 0, 0 } };
	struct hent *e, *h, *t;
	ptrdiff_t f;
	int depth = r->depth < 255 ? r->depth : 255;

	full.w[0] = K_FULL | state_code(r->state) << 3 | (uint64_t)depth << 8 |
		    s->root_bits;
	full.w[1] = (uint64_t)LO32(r->utid > 0 ? r->utid : 0) |
		    (uint64_t)(uint32_t)(r->tid >= 0 ? r->tid : -1) << 32;
	if (r->depth > 1) {
		full.w[2] = (uint64_t)LO32(r->parent_utid > 0 ? r->parent_utid : 0) |
			    (uint64_t)(uint32_t)(r->parent_tid >= 0 ? r->parent_tid : -1) << 32;
		if (r->has_pfutex) {
			int64_t ix = futex_index_cached(s, &s->last_pf, r->pfutex_pid,
							r->pfutex_uaddr);

			if (ix < 0)
				return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
			full.w[0] |= 1u << 2;
			full.w[3] = (uint64_t)ix;
		}
	} else {
		full.w[2] = (uint64_t)0xffffffffu << 32;	/* parent NULL */
	}
	if ((f = full_entry(s, &full)) < 0)
		return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	e = &s->v[f];
	h = &s->v[e->holder];
	t = &s->v[e->state];
	e->ns += r->to - r->from;
	e->intervals++;
	if (e->last_block != s->block) {
		e->last_block = s->block;
		e->blocks++;
	}
	if (h->last_block != s->block) {
		h->last_block = s->block;
		e->holder_blocks++;
	}
	if (t->last_block != s->block) {
		t->last_block = s->block;
		e->state_blocks++;
	}
	return 0;
}

int hsum_write(struct actx *c)
{
	struct hsum *s = c->hsum;
	sqlite3_stmt *st = NULL;
	int rc;

	rc = wc_db_prepare(c->db, c->path,
			   "INSERT INTO holder_time(root_pid, root_uaddr, root_global,"
			   " depth, state, utid, tid, parent_utid, parent_tid,"
			   " parent_futex_pid, parent_futex_uaddr, time_ns, intervals,"
			   " blocks, holder_blocks, state_blocks) VALUES (?1, ?2, ?3,"
			   " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
			   &st, c->err);
	for (size_t i = 0; !rc && i < s->n; i++) {
		const struct hent *e = &s->v[i];
		const struct hkey *k = &e->k;
		const struct hfutex *root, *pf;
		int64_t utid = LO32(k->w[1]), putid = LO32(k->w[2]);
		int32_t tid = HI32(k->w[1]), ptid = HI32(k->w[2]);

		if (KEY_KIND(k) != K_FULL)
			continue;
		root = &s->futexes[KEY_ROOT(k)];
		pf = KEY_HAS_PFUTEX(k) ? &s->futexes[k->w[3]] : NULL;
		bind_i64(st, 1, root->pid, root->pid < 0);
		sqlite3_bind_int64(st, 2, (int64_t)root->uaddr);
		sqlite3_bind_int64(st, 3, (int64_t)KEY_GLOBAL(k));
		sqlite3_bind_int64(st, 4, (int64_t)KEY_DEPTH(k));
		sqlite3_bind_text(st, 5, state_names[KEY_STATE(k)], -1, SQLITE_STATIC);
		bind_i64(st, 6, utid, utid <= 0);
		bind_i64(st, 7, tid, tid < 0);
		bind_i64(st, 8, putid, putid <= 0);
		bind_i64(st, 9, ptid, ptid < 0);
		bind_i64(st, 10, pf ? pf->pid : 0, !pf || pf->pid < 0);
		bind_i64(st, 11, pf ? (int64_t)pf->uaddr : 0, !pf);
		sqlite3_bind_int64(st, 12, (int64_t)e->ns);
		sqlite3_bind_int64(st, 13, (int64_t)e->intervals);
		sqlite3_bind_int64(st, 14, (int64_t)e->blocks);
		sqlite3_bind_int64(st, 15, (int64_t)e->holder_blocks);
		sqlite3_bind_int64(st, 16, (int64_t)e->state_blocks);
		rc = actx_step_reset(c, st, "holder_time");
	}
	sqlite3_finalize(st);
	return rc;
}
