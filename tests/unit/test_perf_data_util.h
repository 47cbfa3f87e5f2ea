/*
 * test_perf_data_util.h - helpers shared by the perf.data importer tests
 * (tests/unit/test_perf_data*.c): a recording sink that keeps what the
 * importer delivered (per event/tid counts, thread names, metadata, lost
 * counts, time order, selected stacks resolved through the importer's
 * symbolizer), a driver that imports one file, and readers for the
 * expected_*.csv / expected_meta.txt ground truth in samples/.
 *
 * Header-only (static functions) so each test executable stays one file.
 */
#ifndef TEST_PERF_DATA_UTIL_H
#define TEST_PERF_DATA_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waitchain/importer.h"
#include "waitchain/input.h"

#define PT_MAX_FRAMES 128

struct pt_count {
	char name[64];
	int32_t tid;
	uint64_t n;
};

struct pt_comm {
	int32_t tid;
	char comm[64];
	int src;
};

struct pt_meta {
	char key[64];
	char *value;
};

struct pt_frame {
	uint64_t ip;
	int kernel;
	char symbol[128];
	char dso[256];
	uint64_t dso_offset;
	int has_symbol, has_dso;
};

struct pt_stack {
	uint64_t ts;
	uint32_t n;
	struct pt_frame f[PT_MAX_FRAMES];
};

struct pt_sink {
	struct pt_count *counts;
	size_t ncounts;
	struct pt_comm *comms;
	size_t ncomms;
	struct pt_meta *meta;
	size_t nmeta;
	uint64_t lost, nlost;
	uint64_t nevents, out_of_order, first_ts, last_ts;
	uint64_t with_stack;
	struct wc_symbolizer sym;
	/* stacks of sched_switch events of this tid are kept (0 = none) */
	int32_t stack_tid;
	int stack_any_type;	/* keep stacks of every event type */
	struct pt_stack *stacks;
	size_t nstacks, cap_stacks;
};

static inline int pt_meta_cb(void *ctx, const char *key, const char *value,
		      struct wc_error *err)
{
	struct pt_sink *s = ctx;
	for (size_t i = 0; i < s->nmeta; i++) {
		if (!strcmp(s->meta[i].key, key)) {
			free(s->meta[i].value);
			s->meta[i].value = strdup(value);
			return 0;
		}
	}
	s->meta = realloc(s->meta, (s->nmeta + 1) * sizeof(*s->meta));
	snprintf(s->meta[s->nmeta].key, sizeof(s->meta[0].key), "%s", key);
	s->meta[s->nmeta].value = strdup(value);
	s->nmeta++;
	return 0;
}

static inline int pt_comm_cb(void *ctx, uint64_t ts, int32_t tid, int32_t pid,
		      const char *comm, enum wc_comm_source src,
		      struct wc_error *err)
{
	struct pt_sink *s = ctx;
	for (size_t i = 0; i < s->ncomms; i++) {
		if (s->comms[i].tid == tid) {
			snprintf(s->comms[i].comm, sizeof(s->comms[i].comm), "%s", comm);
			s->comms[i].src = (int)src;
			return 0;
		}
	}
	s->comms = realloc(s->comms, (s->ncomms + 1) * sizeof(*s->comms));
	s->comms[s->ncomms].tid = tid;
	snprintf(s->comms[s->ncomms].comm, sizeof(s->comms[0].comm), "%s", comm);
	s->comms[s->ncomms].src = (int)src;
	s->ncomms++;
	return 0;
}

static inline int pt_lost_cb(void *ctx, int32_t cpu, uint64_t from, uint64_t ts,
		      uint64_t count, const char *kind, struct wc_error *err)
{
	struct pt_sink *s = ctx;
	s->lost += count;
	s->nlost++;
	return 0;
}

static inline void pt_count_add(struct pt_sink *s, const char *name, int32_t tid)
{
	for (size_t i = s->ncounts; i-- > 0;) {
		if (s->counts[i].tid == tid && !strcmp(s->counts[i].name, name)) {
			s->counts[i].n++;
			return;
		}
	}
	s->counts = realloc(s->counts, (s->ncounts + 1) * sizeof(*s->counts));
	snprintf(s->counts[s->ncounts].name, sizeof(s->counts[0].name), "%s", name);
	s->counts[s->ncounts].tid = tid;
	s->counts[s->ncounts].n = 1;
	s->ncounts++;
}

static inline int pt_event_cb(void *ctx, const struct wc_event *ev,
		       struct wc_error *err)
{
	struct pt_sink *s = ctx;
	if (s->nevents && ev->ts < s->last_ts)
		s->out_of_order++;
	if (!s->nevents)
		s->first_ts = ev->ts;
	s->last_ts = ev->ts;
	s->nevents++;
	pt_count_add(s, ev->name, ev->tid);
	if (ev->stack)
		s->with_stack++;
	if (ev->stack && s->stack_tid > 0 && ev->tid == s->stack_tid &&
	    (ev->type == WC_EV_SCHED_SWITCH || s->stack_any_type) && s->sym.resolve) {
		if (s->nstacks == s->cap_stacks) {
			s->cap_stacks = s->cap_stacks ? 2 * s->cap_stacks : 64;
			s->stacks = realloc(s->stacks, s->cap_stacks * sizeof(*s->stacks));
		}
		struct pt_stack *st = &s->stacks[s->nstacks++];
		st->ts = ev->ts;
		st->n = ev->stack->nframes < PT_MAX_FRAMES ? ev->stack->nframes
							   : PT_MAX_FRAMES;
		for (uint32_t i = 0; i < st->n; i++) {
			struct pt_frame *f = &st->f[i];
			const char *sym = NULL, *dso = NULL;
			uint64_t soff = 0;
			memset(f, 0, sizeof(*f));
			f->ip = ev->stack->frames[i].ip;
			f->kernel = ev->stack->frames[i].kernel;
			int rc = s->sym.resolve(s->sym.ctx, ev->pid, f->ip, f->kernel,
						&sym, &soff, &dso, &f->dso_offset);
			if (rc)
				return rc;
			if (sym) {
				f->has_symbol = 1;
				snprintf(f->symbol, sizeof(f->symbol), "%s", sym);
			}
			if (dso) {
				f->has_dso = 1;
				snprintf(f->dso, sizeof(f->dso), "%s", dso);
			}
		}
	}
	return 0;
}

static inline void pt_sink_init(struct pt_sink *s, struct wc_sink *sink)
{
	memset(s, 0, sizeof(*s));
	sink->ctx = s;
	sink->meta = pt_meta_cb;
	sink->buffer = NULL;
	sink->comm = pt_comm_cb;
	sink->lost = pt_lost_cb;
	sink->event = pt_event_cb;
}

static inline void pt_sink_free(struct pt_sink *s)
{
	for (size_t i = 0; i < s->nmeta; i++)
		free(s->meta[i].value);
	free(s->meta);
	free(s->counts);
	free(s->comms);
	free(s->stacks);
}

static inline const char *pt_meta(const struct pt_sink *s, const char *key)
{
	for (size_t i = 0; i < s->nmeta; i++)
		if (!strcmp(s->meta[i].key, key))
			return s->meta[i].value;
	return NULL;
}

static inline uint64_t pt_count(const struct pt_sink *s, const char *name, int32_t tid)
{
	for (size_t i = 0; i < s->ncounts; i++)
		if (s->counts[i].tid == tid && !strcmp(s->counts[i].name, name))
			return s->counts[i].n;
	return 0;
}

static inline uint64_t pt_total(const struct pt_sink *s, const char *name)
{
	uint64_t n = 0;
	for (size_t i = 0; i < s->ncounts; i++)
		if (!name || !strcmp(s->counts[i].name, name))
			n += s->counts[i].n;
	return n;
}

static inline const char *pt_comm(const struct pt_sink *s, int32_t tid)
{
	for (size_t i = 0; i < s->ncomms; i++)
		if (s->comms[i].tid == tid)
			return s->comms[i].comm;
	return NULL;
}

/* Path of a file under $WC_SAMPLES into BUF. */
static inline const char *pt_sample(char *buf, size_t len, const char *rel)
{
	const char *dir = getenv("WC_SAMPLES");
	cr_assert(dir, "WC_SAMPLES not set");
	int n = snprintf(buf, len, "%s/%s", dir, rel);
	cr_assert(n > 0 && (size_t)n < len, "path too long");
	return buf;
}

/* Path under $WC_TMP into BUF. */
static inline const char *pt_tmp(char *buf, size_t len, const char *rel)
{
	const char *dir = getenv("WC_TMP");
	if (!dir)
		dir = "/tmp";
	int n = snprintf(buf, len, "%s/%s", dir, rel);
	cr_assert(n > 0 && (size_t)n < len, "path too long");
	return buf;
}

/*
 * Imports PATH with the perf.data importer into S.  Returns the importer's
 * code (0 or negative); ERR keeps the message.
 */
static inline int pt_import(const char *path, const struct wc_import_options *opt,
		     struct pt_sink *s, struct wc_error *err)
{
	struct wc_input *in = NULL;
	struct wc_sink sink;
	void *state = NULL;
	/* stack slots are big: frames resolved once per event */
	int32_t keep_tid = s->stack_tid;
	int keep_any = s->stack_any_type;
	pt_sink_init(s, &sink);
	s->stack_tid = keep_tid;
	s->stack_any_type = keep_any;
	int rc = wc_input_open(path, &in, err);
	if (rc)
		return rc;
	cr_assert(wc_importer_perf_data.probe(in->head, in->head_len),
		  "%s: probe refused", path);
	struct wc_import_options none;
	memset(&none, 0, sizeof(none));
	rc = wc_importer_perf_data.open(in, opt ? opt : &none, &state, &s->sym, err);
	if (!rc)
		rc = wc_importer_perf_data.run(state, &sink, err);
	wc_importer_perf_data.close(state);
	wc_input_close(in);
	return rc;
}

/* Reads a whole file; caller frees. */
static inline unsigned char *pt_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *buf = malloc((size_t)n + 1);
	cr_assert(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static inline void pt_write(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert(f, "cannot create %s", path);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/*
 * Checks S against an expected CSV (event,tid,count; tid '*' = total of
 * that event) and that S holds no event the CSV does not list.
 */
static inline void pt_check_counts(const struct pt_sink *s, const char *csv)
{
	FILE *f = fopen(csv, "r");
	cr_assert(f, "cannot open %s", csv);
	char line[512];
	uint64_t expected_total = 0;
	int rows = 0;
	cr_assert(fgets(line, sizeof(line), f), "%s: empty", csv);
	while (fgets(line, sizeof(line), f)) {
		char name[128], tid[32];
		unsigned long long n;
		if (sscanf(line, "%127[^,],%31[^,],%llu", name, tid, &n) != 3)
			continue;
		rows++;
		if (!strcmp(tid, "*")) {
			expected_total += n;
			cr_expect_eq(pt_total(s, name), n, "%s: %s total: got %llu, want %llu",
				     csv, name, (unsigned long long)pt_total(s, name), n);
		} else {
			int32_t t = (int32_t)strtol(tid, NULL, 10);
			cr_expect_eq(pt_count(s, name, t), n,
				     "%s: %s tid %d: got %llu, want %llu", csv, name, t,
				     (unsigned long long)pt_count(s, name, t), n);
		}
	}
	fclose(f);
	cr_assert_gt(rows, 0, "%s has no rows", csv);
	cr_expect_eq(pt_total(s, NULL), expected_total,
		     "%s: %llu events delivered, the CSV totals %llu", csv,
		     (unsigned long long)pt_total(s, NULL),
		     (unsigned long long)expected_total);
}

/* Value of KEY=... in an expected_meta.txt into BUF, or NULL. */
static inline const char *pt_expected_meta(const char *path, const char *key, char *buf,
				    size_t len)
{
	FILE *f = fopen(path, "r");
	cr_assert(f, "cannot open %s", path);
	char line[1024];
	size_t kl = strlen(key);
	const char *found = NULL;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl) && line[kl] == '=') {
			const char *v = line + kl + 1;
			size_t n = strcspn(v, "\n");

			/* truncate explicitly: snprintf("%s") into a short
			 * BUF trips -Wformat-truncation at some call sites */
			if (n >= len)
				n = len - 1;
			memcpy(buf, v, n);
			buf[n] = 0;
			found = buf;
			break;
		}
	}
	fclose(f);
	return found;
}

#endif /* TEST_PERF_DATA_UTIL_H */
