/*
 * recording_sink.c - in-memory wc_sink for importer tests (see
 * recording_sink.h).  Strings are interned in a chained hash table so
 * that a few distinct comm/name strings repeated over 100k events cost
 * one copy each.  Allocation failures abort(): this is test code.
 */
#include "recording_sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waitchain/util.h"

struct intern_node {
	struct intern_node *next;
	char s[];
};

struct intern {
	struct intern_node **slots;
	size_t nslots, n;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "recording_sink: out of memory\n");
		abort();
	}
	return p;
}

/* Grows the array *P of *CAP elements of SIZE bytes to hold N + 1. */
static void grow(void *pp, size_t *cap, size_t n, size_t size)
{
	void **p = pp;

	if (n < *cap)
		return;
	*cap = *cap ? *cap * 2 : 64;
	*p = xrealloc(*p, *cap * size);
}

static const char *intern(struct intern *t, const char *s)
{
	struct intern_node *node;
	size_t i, len;

	if (!s)
		return NULL;
	if (t->n >= t->nslots) {
		size_t ns = t->nslots ? t->nslots * 2 : 256, j;
		struct intern_node **slots = calloc(ns, sizeof(*slots));
		if (!slots)
			abort();
		for (j = 0; j < t->nslots; j++) {
			while ((node = t->slots[j])) {
				t->slots[j] = node->next;
				i = wc_hash_str(node->s) & (ns - 1);
				node->next = slots[i];
				slots[i] = node;
			}
		}
		free(t->slots);
		t->slots = slots;
		t->nslots = ns;
	}
	i = wc_hash_str(s) & (t->nslots - 1);
	for (node = t->slots[i]; node; node = node->next)
		if (strcmp(node->s, s) == 0)
			return node->s;
	len = strlen(s);
	node = xrealloc(NULL, sizeof(*node) + len + 1);
	memcpy(node->s, s, len + 1);
	node->next = t->slots[i];
	t->slots[i] = node;
	t->n++;
	return node->s;
}

static void intern_free(struct intern *t)
{
	size_t j;

	if (!t)
		return;
	for (j = 0; j < t->nslots; j++) {
		struct intern_node *node = t->slots[j];
		while (node) {
			struct intern_node *next = node->next;
			free(node);
			node = next;
		}
	}
	free(t->slots);
	free(t);
}

struct recsink *recsink_new(void)
{
	struct recsink *rs = calloc(1, sizeof(*rs));

	if (!rs)
		abort();
	rs->strings = calloc(1, sizeof(*rs->strings));
	if (!rs->strings)
		abort();
	return rs;
}

void recsink_free(struct recsink *rs)
{
	if (!rs)
		return;
	free(rs->events);
	free(rs->frames);
	free(rs->meta);
	free(rs->comms);
	free(rs->lost);
	free(rs->buffers);
	intern_free(rs->strings);
	free(rs);
}

static int rec_meta(void *ctx, const char *key, const char *value,
		    struct wc_error *err)
{
	struct recsink *rs = ctx;
	size_t i;

	(void)err;
	for (i = 0; i < rs->nmeta; i++) {
		if (strcmp(rs->meta[i].key, key) == 0) {
			rs->meta[i].value = intern(rs->strings, value);
			return 0;
		}
	}
	grow(&rs->meta, &rs->cap_meta, rs->nmeta, sizeof(*rs->meta));
	rs->meta[rs->nmeta].key = intern(rs->strings, key);
	rs->meta[rs->nmeta].value = intern(rs->strings, value);
	rs->nmeta++;
	return 0;
}

static int rec_buffer(void *ctx, const struct wc_buffer_info *b,
		      struct wc_error *err)
{
	struct recsink *rs = ctx;
	struct rec_buffer *r;

	(void)err;
	/* the sink contract: a buffer first comes before its events; a later
	 * call for the same id (its count, once known) replaces it */
	for (r = rs->buffers; r < rs->buffers + rs->nbuffers; r++)
		if (r->id == b->id)
			break;
	if (r == rs->buffers + rs->nbuffers) {
		if (rs->nevents)
			rs->buffer_after_event = 1;
		grow(&rs->buffers, &rs->cap_buffers, rs->nbuffers,
		     sizeof(*rs->buffers));
		r = &rs->buffers[rs->nbuffers++];
	} else {
		rs->buffer_replaced++;
	}
	r->id = b->id;
	r->name = intern(rs->strings, b->name ? b->name : "");
	r->clock = intern(rs->strings, b->clock);
	r->ncpus = b->ncpus;
	r->nevents = b->nevents;
	r->imported = b->imported;
	return 0;
}

static int rec_comm(void *ctx, uint64_t ts, int32_t tid, int32_t pid,
		    const char *comm, enum wc_comm_source src,
		    struct wc_error *err)
{
	struct recsink *rs = ctx;
	struct rec_comm *c;

	(void)err;
	grow(&rs->comms, &rs->cap_comms, rs->ncomms, sizeof(*rs->comms));
	c = &rs->comms[rs->ncomms++];
	c->ts = ts;
	c->tid = tid;
	c->pid = pid;
	c->comm = intern(rs->strings, comm);
	c->src = src;
	return 0;
}

static int rec_lost(void *ctx, int32_t cpu, uint64_t ts_from, uint64_t ts,
		    uint64_t count, const char *kind, struct wc_error *err)
{
	struct recsink *rs = ctx;
	struct rec_lost *l;

	(void)err;
	grow(&rs->lost, &rs->cap_lost, rs->nlost, sizeof(*rs->lost));
	l = &rs->lost[rs->nlost++];
	l->cpu = cpu;
	l->ts_from = ts_from;
	l->ts = ts;
	l->count = count;
	l->kind = intern(rs->strings, kind);
	return 0;
}

/* Interns every string of the event's union in place. */
static void intern_union(struct recsink *rs, struct wc_event *e)
{
	struct intern *t = rs->strings;

	switch (e->type) {
	case WC_EV_SCHED_SWITCH:
		e->u.sw.prev_comm = intern(t, e->u.sw.prev_comm);
		e->u.sw.next_comm = intern(t, e->u.sw.next_comm);
		break;
	case WC_EV_SCHED_WAKING:
	case WC_EV_SCHED_WAKEUP:
	case WC_EV_SCHED_WAKEUP_NEW:
		e->u.wake.comm = intern(t, e->u.wake.comm);
		break;
	case WC_EV_PROCESS_FORK:
		e->u.fork.parent_comm = intern(t, e->u.fork.parent_comm);
		e->u.fork.child_comm = intern(t, e->u.fork.child_comm);
		break;
	case WC_EV_PROCESS_EXIT:
		e->u.exit.comm = intern(t, e->u.exit.comm);
		break;
	case WC_EV_TASK_RENAME:
		e->u.rename.oldcomm = intern(t, e->u.rename.oldcomm);
		e->u.rename.newcomm = intern(t, e->u.rename.newcomm);
		break;
	case WC_EV_FUTEX_ENTER:
		e->u.futex_enter.syscall = intern(t, e->u.futex_enter.syscall);
		break;
	case WC_EV_FUTEX_EXIT:
		e->u.futex_exit.syscall = intern(t, e->u.futex_exit.syscall);
		break;
	case WC_EV_KVM_ENTRY:
	case WC_EV_KVM_EXIT:
	case WC_EV_KVM_USERSPACE_EXIT:
		e->u.kvm.isa = intern(t, e->u.kvm.isa);
		break;
	default:
		break;
	}
}

static int rec_event(void *ctx, const struct wc_event *ev,
		     struct wc_error *err)
{
	struct recsink *rs = ctx;
	struct rec_event *r;

	if (rs->fail_after_events &&
	    rs->nevents + 1 >= rs->fail_after_events)
		return wc_err(err, WC_EDB, "recording-sink",
			      "injected failure at event %zu", rs->nevents + 1);
	if (rs->nevents && ev->ts < rs->events[rs->nevents - 1].ev.ts)
		rs->out_of_order = 1;
	grow(&rs->events, &rs->cap_events, rs->nevents, sizeof(*rs->events));
	r = &rs->events[rs->nevents++];
	r->ev = *ev;
	r->ev.name = intern(rs->strings, ev->name);
	r->ev.stack = NULL;
	intern_union(rs, &r->ev);
	r->frame_off = rs->nframes;
	r->nframes = 0;
	if (ev->stack && ev->stack->nframes) {
		uint32_t i;
		for (i = 0; i < ev->stack->nframes; i++) {
			grow(&rs->frames, &rs->cap_frames, rs->nframes,
			     sizeof(*rs->frames));
			rs->frames[rs->nframes++] = ev->stack->frames[i];
		}
		r->nframes = ev->stack->nframes;
	}
	if (ev->type >= 0 && ev->type < WC_EV_TYPE_COUNT)
		rs->type_count[ev->type]++;
	return 0;
}

void recsink_sink(struct recsink *rs, struct wc_sink *sink)
{
	sink->ctx = rs;
	sink->meta = rec_meta;
	sink->buffer = rec_buffer;
	sink->comm = rec_comm;
	sink->lost = rec_lost;
	sink->event = rec_event;
}

const char *recsink_meta(const struct recsink *rs, const char *key)
{
	size_t i;

	for (i = 0; i < rs->nmeta; i++)
		if (strcmp(rs->meta[i].key, key) == 0)
			return rs->meta[i].value;
	return NULL;
}

static uint64_t count(const struct recsink *rs, const char *name, int32_t tid,
		      int stacks_only)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < rs->nevents; i++) {
		const struct rec_event *r = &rs->events[i];
		if (name && strcmp(r->ev.name, name) != 0)
			continue;
		if (tid >= 0 && r->ev.tid != tid)
			continue;
		if (stacks_only && !r->nframes)
			continue;
		n++;
	}
	return n;
}

uint64_t recsink_count(const struct recsink *rs, const char *name, int32_t tid)
{
	return count(rs, name, tid, 0);
}

uint64_t recsink_count_stacks(const struct recsink *rs, const char *name,
			      int32_t tid)
{
	return count(rs, name, tid, 1);
}

int recsink_has_comm(const struct recsink *rs, int32_t tid, const char *comm,
		     int src)
{
	size_t i;

	for (i = 0; i < rs->ncomms; i++) {
		const struct rec_comm *c = &rs->comms[i];
		if ((tid < 0 || c->tid == tid) && strcmp(c->comm, comm) == 0 &&
		    (src < 0 || (int)c->src == src))
			return 1;
	}
	return 0;
}

const struct rec_buffer *recsink_buffer(const struct recsink *rs,
					const char *name)
{
	size_t i;

	for (i = 0; i < rs->nbuffers; i++)
		if (strcmp(rs->buffers[i].name, name) == 0)
			return &rs->buffers[i];
	return NULL;
}
