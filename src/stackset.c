/*
 * stackset.c - bounded stack deduplication and frame symbolization (see
 * include/waitchain/stackset.h for the contract).
 *
 * Two caches, each of two generations of a fixed number of entries:
 *
 *   stacks   stack -> id, with the stack's frames copied so equality is
 *            checked on the frames and not on the hash alone (hostile
 *            collisions cannot merge different stacks);
 *   symbols  (process, ip, kernel) -> symbol and DSO (interned strings),
 *            so the symbolizer runs about once per distinct frame.
 *
 * New entries go to the young generation; when it is full, the old one is
 * dropped and the young one becomes old.  An entry found in the old
 * generation is copied into the young one, so entries in use survive.
 * This is where the import of a capture with callchains spends its time
 * after decoding (the probe compares every frame of every stack), which is
 * why src/db_pipe.c runs it on the importer's thread and leaves the
 * writer thread the rows.
 */
#include <stdlib.h>
#include <string.h>

#include "waitchain/stackset.h"
#include "waitchain/util.h"

/*
 * Entries per generation.  Why 65536: on the 9.5M-event perf.data
 * recorded with -g of bench/ (bql-stacks-v6), two thirds of the 2.3M
 * distinct stacks occur once (unresolved user addresses), and replaying
 * its stack sequence through this scheme stores 1.4% more stack rows than
 * an unbounded table would (16384: 2.3%, 262144: 0.5%).  The caches then
 * take at most ~52 MiB (2 x (4 MiB of stack slots + 16 MiB of frames) +
 * 2 x 6 MiB of symbol slots) where the unbounded tables took ~800 MiB on
 * that capture.
 */
#define STACK_CACHE_ENTRIES 65536
/* Frames per generation = entries * this (the average stack of that
 * capture has 9 frames); a generation is also full when its frames are. */
#define STACK_CACHE_FRAMES_PER_ENTRY 16
#define STACK_CACHE_MAX_ENTRIES (1U << 24)	/* WAITCHAIN_STACK_CACHE cap */

struct stack_slot {
	uint64_t hash;
	int64_t id;		/* 0 = empty slot */
	size_t off;		/* frames in the generation's arena */
	uint32_t n;
};

/*
 * One generation of the stack table: a fixed open-addressing table
 * (nslots >= 2 * the entry budget, so probes stay short) plus the frames
 * of its stacks.
 */
struct stack_gen {
	struct stack_slot *slots;
	size_t nstacks;
	struct wc_frame *frames;
	size_t nframes, cap_frames;
};

struct sym_slot {
	uint64_t ip;
	int32_t pid;		/* -1 for kernel frames */
	uint8_t used, kernel;
	const char *symbol, *dso;	/* interned or NULL */
	uint64_t symbol_offset, dso_offset;
};

/* One generation of the (process, ip) -> symbol cache, like stack_gen. */
struct sym_gen {
	struct sym_slot *slots;
	size_t nused;
};

struct wc_stackset {
	struct wc_symbolizer sym;
	size_t entries;		/* per generation, both caches */
	size_t nslots;		/* table slots per generation (power of 2) */
	struct stack_gen stacks[2];
	int stack_young;	/* [young] takes new entries */
	int64_t nids;		/* the last id handed out */
	struct sym_gen syms[2];
	int sym_young;
	struct wc_strset strings;	/* symbols and DSOs */
	/* the definition handed out by the last call */
	struct wc_frame_sym *def_frames;
	size_t cap_def_frames;
	struct wc_stack_def def;
};

/* Entries per generation: STACK_CACHE_ENTRIES, or WAITCHAIN_STACK_CACHE
 * when it is a number in [1, STACK_CACHE_MAX_ENTRIES]. */
static size_t cache_budget(void)
{
	const char *env = getenv("WAITCHAIN_STACK_CACHE");
	char *end;
	unsigned long long v;

	if (!env || !*env)
		return STACK_CACHE_ENTRIES;
	v = strtoull(env, &end, 10);
	if (*end || v < 1 || v > STACK_CACHE_MAX_ENTRIES)
		return STACK_CACHE_ENTRIES;
	return (size_t)v;
}

int wc_stackset_new(const struct wc_symbolizer *sym, struct wc_stackset **out,
		    struct wc_error *err)
{
	struct wc_stackset *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return wc_err(err, WC_ENOMEM, NULL, "out of memory");
	if (sym)
		s->sym = *sym;
	s->entries = cache_budget();
	/* load <= 1/2 keeps probes short and guarantees an empty slot */
	s->nslots = 2;
	while (s->nslots < 2 * s->entries)
		s->nslots *= 2;
	*out = s;
	return 0;
}

void wc_stackset_free(struct wc_stackset *s)
{
	if (!s)
		return;
	for (int g = 0; g < 2; g++) {
		free(s->stacks[g].slots);
		free(s->stacks[g].frames);
		free(s->syms[g].slots);
	}
	free(s->def_frames);
	wc_strset_free(&s->strings);
	free(s);
}

/* Allocates both generations of both caches (done at the first stack, so
 * imports without stacks pay nothing).  0 or -1 on ENOMEM (what is
 * allocated is freed by wc_stackset_free). */
static int caches_alloc(struct wc_stackset *s)
{
	for (int g = 0; g < 2; g++) {
		s->stacks[g].slots = calloc(s->nslots, sizeof(*s->stacks[g].slots));
		s->syms[g].slots = calloc(s->nslots, sizeof(*s->syms[g].slots));
		if (!s->stacks[g].slots || !s->syms[g].slots)
			return -1;
	}
	return 0;
}

static int nomem(struct wc_error *err)
{
	return wc_err(err, WC_ENOMEM, NULL, "out of memory deduplicating stacks");
}

/* --- symbols ---------------------------------------------------------------------- */

/* The slot of (PID, IP, KERNEL) in G, or the empty slot where it would
 * go.  G holds at most half its slots, so the probe ends. */
static struct sym_slot *sym_probe(struct sym_gen *g, size_t mask,
				  int32_t pid, uint64_t ip, uint8_t kernel)
{
	size_t i = wc_mix64(ip ^ ((uint64_t)(uint32_t)pid << 32) ^ kernel) & mask;

	while (g->slots[i].used &&
	       !(g->slots[i].ip == ip && g->slots[i].pid == pid &&
		 g->slots[i].kernel == kernel))
		i = (i + 1) & mask;
	return &g->slots[i];
}

/*
 * The cache entry for frame IP of process PID (kernel frames share pid
 * -1), borrowed until the next sym_lookup().  *fresh = 1 when the entry is
 * new and the caller must fill in its symbol (resolve), 0 when it comes
 * from the young or the old generation.  A frame symbolized before its
 * generation was dropped and not seen since is resolved again.  Never
 * fails (the tables are allocated by caches_alloc()).
 */
static struct sym_slot *sym_lookup(struct wc_stackset *s, int32_t pid,
				   uint64_t ip, int kernel, int *fresh)
{
	size_t mask = s->nslots - 1;
	uint8_t k = (uint8_t)!!kernel;
	struct sym_gen *young = &s->syms[s->sym_young];
	struct sym_slot *slot, *old, entry;

	if (k)
		pid = -1;
	slot = sym_probe(young, mask, pid, ip, k);
	if (slot->used) {
		*fresh = 0;
		return slot;
	}
	old = sym_probe(&s->syms[!s->sym_young], mask, pid, ip, k);
	*fresh = !old->used;
	if (old->used)
		entry = *old;
	else
		entry = (struct sym_slot){ .ip = ip, .pid = pid, .used = 1,
					   .kernel = k };
	if (young->nused >= s->entries) {
		s->sym_young = !s->sym_young;
		young = &s->syms[s->sym_young];
		memset(young->slots, 0, s->nslots * sizeof(*young->slots));
		young->nused = 0;
		slot = sym_probe(young, mask, pid, ip, k);
	}
	*slot = entry;
	young->nused++;
	return slot;
}

/* Fills s->def with stack ST (id ID, hash H) and its resolved frames.
 * 0 or -WC_ENOMEM.  A symbolizer that fails leaves the frame unnamed. */
static int define(struct wc_stackset *s, int64_t id, uint64_t h,
		  const struct wc_stack *st, int32_t pid, struct wc_error *err)
{
	if (st->nframes > s->cap_def_frames) {
		size_t cap = s->cap_def_frames ? s->cap_def_frames : 64;
		struct wc_frame_sym *p;

		while (cap < st->nframes)
			cap *= 2;
		p = realloc(s->def_frames, cap * sizeof(*p));
		if (!p)
			return nomem(err);
		s->def_frames = p;
		s->cap_def_frames = cap;
	}
	for (uint32_t i = 0; i < st->nframes; i++) {
		const struct wc_frame *f = &st->frames[i];
		struct wc_frame_sym *out = &s->def_frames[i];
		int fresh;
		struct sym_slot *sym = sym_lookup(s, pid, f->ip, f->kernel, &fresh);

		if (fresh && s->sym.resolve) {
			const char *symbol = NULL, *dso = NULL;
			uint64_t soff = 0, doff = 0;

			if (s->sym.resolve(s->sym.ctx, pid, f->ip, f->kernel,
					   &symbol, &soff, &dso, &doff) == 0) {
				if (symbol) {
					sym->symbol = wc_strset_intern(&s->strings, symbol);
					if (!sym->symbol)
						return nomem(err);
					sym->symbol_offset = soff;
				}
				if (dso) {
					sym->dso = wc_strset_intern(&s->strings, dso);
					if (!sym->dso)
						return nomem(err);
					sym->dso_offset = doff;
				}
			}
		}
		out->ip = f->ip;
		out->kernel = !!f->kernel;
		out->symbol = sym->symbol;
		out->symbol_offset = sym->symbol ? sym->symbol_offset : 0;
		out->dso = sym->dso;
		out->dso_offset = sym->dso ? sym->dso_offset : 0;
	}
	s->def.id = id;
	s->def.hash = h;
	s->def.nframes = st->nframes;
	s->def.frames = s->def_frames;
	return 0;
}

/* --- stacks ------------------------------------------------------------------------ */

static uint64_t stack_hash(const struct wc_stack *st)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ st->nframes;

	for (uint32_t i = 0; i < st->nframes; i++)
		h = wc_mix64(h ^ (st->frames[i].ip + (st->frames[i].kernel ? 0x5bd1e995ULL : 0)) ^ ((uint64_t)i << 56));
	return h;
}

static int same_frames(const struct wc_frame *a, const struct wc_frame *b,
		       uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (a[i].ip != b[i].ip || !a[i].kernel != !b[i].kernel)
			return 0;
	return 1;
}

/* The slot of stack ST (hash H) in G, or the empty slot where it would
 * go.  G holds at most half its slots, so the probe ends. */
static struct stack_slot *stack_probe(struct stack_gen *g, size_t mask,
				      uint64_t h, const struct wc_stack *st)
{
	size_t i = h & mask;

	while (g->slots[i].id) {
		const struct stack_slot *o = &g->slots[i];

		if (o->hash == h && o->n == st->nframes &&
		    same_frames(g->frames + o->off, st->frames, st->nframes))
			break;
		i = (i + 1) & mask;
	}
	return &g->slots[i];
}

int wc_stackset_intern(struct wc_stackset *s, const struct wc_stack *st,
		       int32_t pid, int64_t *id, const struct wc_stack_def **def,
		       struct wc_error *err)
{
	size_t mask = s->nslots - 1;
	size_t max_frames = s->entries * STACK_CACHE_FRAMES_PER_ENTRY;
	struct stack_gen *young;
	struct stack_slot *slot;
	uint64_t h;
	int64_t old_id;
	int rc;

	*id = 0;
	*def = NULL;
	if (!st || st->nframes == 0 || !st->frames)
		return 0;
	if (!s->stacks[0].slots && caches_alloc(s))
		return nomem(err);
	h = stack_hash(st);
	young = &s->stacks[s->stack_young];
	slot = stack_probe(young, mask, h, st);
	if (slot->id) {
		*id = slot->id;
		return 0;
	}
	old_id = stack_probe(&s->stacks[!s->stack_young], mask, h, st)->id;
	if (young->nstacks >= s->entries ||
	    (young->nstacks && young->nframes + st->nframes > max_frames)) {
		s->stack_young = !s->stack_young;
		young = &s->stacks[s->stack_young];
		memset(young->slots, 0, s->nslots * sizeof(*young->slots));
		young->nstacks = 0;
		young->nframes = 0;
		slot = stack_probe(young, mask, h, st);
	}
	if (young->nframes + st->nframes > young->cap_frames) {
		/* at most max_frames, or one stack longer than that */
		size_t need = young->nframes + st->nframes;
		size_t cap = young->cap_frames ? young->cap_frames : 4096;
		struct wc_frame *p;

		while (cap < need)
			cap *= 2;
		if (cap > max_frames)
			cap = need > max_frames ? need : max_frames;
		p = realloc(young->frames, cap * sizeof(*p));
		if (!p)
			return nomem(err);
		young->frames = p;
		young->cap_frames = cap;
	}
	memcpy(young->frames + young->nframes, st->frames,
	       st->nframes * sizeof(*st->frames));
	slot->hash = h;
	slot->id = old_id ? old_id : s->nids + 1;
	slot->off = young->nframes;
	slot->n = st->nframes;
	young->nframes += st->nframes;
	young->nstacks++;
	*id = slot->id;
	if (old_id)
		return 0;	/* found in the old generation: defined already */
	s->nids++;
	rc = define(s, *id, h, st, pid, err);
	if (rc)
		return rc;
	*def = &s->def;
	return 0;
}
