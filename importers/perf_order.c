/*
 * perf_order.c - the ordered-events queue of the perf.data importer.
 *
 * perf writes each CPU's ring buffer in chunks, so records of different
 * CPUs reach the file out of time order.  perf record writes a
 * FINISHED_ROUND record after each pass over all ring buffers, and no
 * record read after round N+1 is older than the newest record of round
 * N.  So at each FINISHED_ROUND we may deliver everything up to the max
 * timestamp seen by the end of the round before (perf's ordered-events.c
 * does the same), and at the end, everything.
 *
 * Shape: entries {ts, seq, offset in the byte arena, length, file offset}
 * in a growable array, record bytes copied into one growable arena (no
 * malloc per record; the input buffer is reused for the next record, so a
 * copy is needed in pipe and COMPRESSED modes anyway).  A flush sorts the
 * entries by (ts, seq), delivers the prefix at or below the limit and
 * compacts the rest to the front.  Memory is bounded by what two rounds
 * hold; a capture without FINISHED_ROUND is bounded by a valve that
 * delivers the older half when the queue exceeds PERF_ORDER_VALVE bytes
 * (as perf does when its queue hits its memory limit).
 */
#include <stdlib.h>
#include <string.h>

#include "perf_data.h"

#define PERF_ORDER_VALVE (256U << 20)

struct perf_order_entry {
	uint64_t ts;
	uint64_t seq;
	uint64_t file_off;
	size_t data_off;
	uint32_t len;
};

struct perf_order {
	struct perf_order_entry *ent;
	size_t n, cap;
	unsigned char *bytes;
	size_t used, bytes_cap;
	unsigned char *spare;	/* second arena for compaction */
	size_t spare_cap;
	uint64_t seq;
	uint64_t max_ts;	/* newest time pushed in the current round */
	uint64_t prev_round_max;	/* newest time of the previous round */
	uint64_t last_flushed;	/* time of the last record delivered */
	int sorted;		/* entries [0, n) already sorted */
	unsigned char *scratch;	/* one record copied out while delivering */
	struct perf_order_entry *tmp;	/* merge buffer of sort_queue() */
	size_t tmp_cap;
};

/* An empty queue; NULL when out of memory.  Free with perf_order_free(). */
struct perf_order *perf_order_new(void)
{
	struct perf_order *q = calloc(1, sizeof(*q));
	if (q)
		q->scratch = malloc(65536 + 8);
	if (q && !q->scratch) {
		free(q);
		q = NULL;
	}
	return q;
}

/* Frees Q (queued records are dropped); accepts NULL. */
void perf_order_free(struct perf_order *q)
{
	if (!q)
		return;
	free(q->ent);
	free(q->bytes);
	free(q->spare);
	free(q->scratch);
	free(q->tmp);
	free(q);
}

int perf_order_push(struct perf_order *q, uint64_t ts, const unsigned char *rec,
		    size_t size, uint64_t off)
{
	if (q->n == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 4096;
		struct perf_order_entry *ne = realloc(q->ent, ncap * sizeof(*ne));
		if (!ne)
			return -WC_ENOMEM;
		q->ent = ne;
		q->cap = ncap;
	}
	if (q->bytes_cap - q->used < size) {
		size_t ncap = q->bytes_cap ? q->bytes_cap : 1U << 20;
		while (ncap - q->used < size)
			ncap *= 2;
		unsigned char *nb = realloc(q->bytes, ncap);
		if (!nb)
			return -WC_ENOMEM;
		q->bytes = nb;
		q->bytes_cap = ncap;
	}
	struct perf_order_entry *e = &q->ent[q->n];
	if (q->n && q->sorted) {
		const struct perf_order_entry *p = &q->ent[q->n - 1];
		if (ts < p->ts)
			q->sorted = 0;
	} else if (!q->n) {
		q->sorted = 1;
	}
	e->ts = ts;
	e->seq = q->seq++;
	e->file_off = off;
	e->data_off = q->used;
	e->len = (uint32_t)size;
	memcpy(q->bytes + q->used, rec, size);
	q->used += size;
	q->n++;
	if (ts > q->max_ts)
		q->max_ts = ts;
	return 0;
}

/* Queue order: time, then arrival (ties keep file order). */
static int entry_before(const struct perf_order_entry *x,
			const struct perf_order_entry *y)
{
	return x->ts != y->ts ? x->ts < y->ts : x->seq < y->seq;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct perf_order_entry *x = a, *y = b;

	return entry_before(x, y) ? -1 : entry_before(y, x);
}

/* Delivers the first COUNT entries (sorted), then compacts the rest. */
static int deliver_prefix(struct perf_order *q, struct perf_reader *r,
			  size_t count)
{
	int rc = 0;
	size_t i;
	for (i = 0; i < count; i++) {
		const struct perf_order_entry *e = &q->ent[i];
		/* the sink may not re-enter the queue, but copy anyway so the
		 * record is 8-byte aligned for the decoder */
		memcpy(q->scratch, q->bytes + e->data_off, e->len);
		q->last_flushed = e->ts;
		rc = perf_deliver(r, q->scratch, e->len, e->file_off);
		if (rc) {
			i++;
			break;
		}
	}
	/* compact: keep entries [i, n) */
	size_t keep = q->n - i;
	if (keep == 0) {
		q->n = 0;
		q->used = 0;
		return rc;
	}
	memmove(q->ent, q->ent + i, keep * sizeof(*q->ent));
	q->n = keep;
	/* entries are sorted by time, not by arena position: copy what
	 * remains, in entry order, into the spare arena and swap */
	if (q->spare_cap < q->bytes_cap) {
		unsigned char *nb = realloc(q->spare, q->bytes_cap);
		if (!nb)
			return rc ? rc : -WC_ENOMEM;
		q->spare = nb;
		q->spare_cap = q->bytes_cap;
	}
	size_t used = 0;
	for (size_t k = 0; k < keep; k++) {
		memcpy(q->spare + used, q->bytes + q->ent[k].data_off, q->ent[k].len);
		q->ent[k].data_off = used;
		used += q->ent[k].len;
	}
	unsigned char *t = q->bytes;
	size_t tc = q->bytes_cap;
	q->bytes = q->spare;
	q->bytes_cap = q->spare_cap;
	q->spare = t;
	q->spare_cap = tc;
	q->used = used;
	return rc;
}

/*
 * Merges the sorted runs [a, m) and [m, b) of q->ent through q->tmp.
 */
static void merge_runs(struct perf_order *q, size_t a, size_t m, size_t b)
{
	struct perf_order_entry *e = q->ent, *t = q->tmp;
	size_t i = a, j = m, k = 0;

	while (i < m && j < b)
		t[k++] = entry_before(&e[j], &e[i]) ? e[j++] : e[i++];
	while (i < m)
		t[k++] = e[i++];
	/* the rest of [m, b) is already in place */
	memcpy(e + a, t, k * sizeof(*e));
}

/*
 * Sorts the queue unless it is known to be sorted already.  The queue is
 * a few long sorted runs (what the last flush kept, then one run per CPU
 * chunk perf wrote in this round): a natural merge sort takes
 * O(n log runs) and no comparator calls, where qsort took 9 % of an
 * import (bench/PROFILE.md).  Falls back to qsort when the merge buffer
 * cannot be allocated or the data has many short runs.
 */
static void sort_queue(struct perf_order *q)
{
	size_t runs[64], nruns = 0;

	if (q->sorted || q->n < 2) {
		q->sorted = 1;
		return;
	}
	runs[nruns++] = 0;
	for (size_t i = 1; i < q->n; i++)
		if (entry_before(&q->ent[i], &q->ent[i - 1])) {
			if (nruns == sizeof(runs) / sizeof(runs[0]))
				goto fallback;
			runs[nruns++] = i;
		}
	if (q->tmp_cap < q->n) {
		struct perf_order_entry *t = realloc(q->tmp, q->n * sizeof(*t));

		if (!t)
			goto fallback;
		q->tmp = t;
		q->tmp_cap = q->n;
	}
	/* bottom-up: merge neighbouring runs until one is left */
	while (nruns > 1) {
		size_t out = 0;

		for (size_t r = 0; r < nruns; r += 2) {
			if (r + 1 < nruns)
				merge_runs(q, runs[r], runs[r + 1],
					   r + 2 < nruns ? runs[r + 2] : q->n);
			runs[out++] = runs[r];
		}
		nruns = out;
	}
	q->sorted = 1;
	return;
fallback:
	qsort(q->ent, q->n, sizeof(*q->ent), entry_cmp);
	q->sorted = 1;
}

/* Delivers every entry with ts <= LIMIT. */
static int flush_until(struct perf_order *q, struct perf_reader *r,
		       uint64_t limit)
{
	sort_queue(q);
	/* binary search for the first entry newer than limit */
	size_t lo = 0, hi = q->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (q->ent[mid].ts <= limit)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	return deliver_prefix(q, r, lo);
}

int perf_order_round(struct perf_order *q, struct perf_reader *r)
{
	uint64_t limit = q->prev_round_max;
	q->prev_round_max = q->max_ts;
	return flush_until(q, r, limit);
}

int perf_order_flush_all(struct perf_order *q, struct perf_reader *r)
{
	sort_queue(q);
	return q->n ? deliver_prefix(q, r, q->n) : 0;
}

int perf_order_flush_half(struct perf_order *q, struct perf_reader *r)
{
	sort_queue(q);
	return q->n ? deliver_prefix(q, r, (q->n + 1) / 2) : 0;
}

uint64_t perf_order_last_flushed(const struct perf_order *q)
{
	return q->last_flushed;
}

int perf_order_over_valve(const struct perf_order *q)
{
	return q->used > PERF_ORDER_VALVE;
}
