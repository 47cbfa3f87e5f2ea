/*
 * perf_data.c - the perf.data importer: records of `perf record` captures
 * (file mode and pipe mode) to waitchain's normalized events.
 *
 * Transport: a seekable input is mmap'ed whole (no copies for the record
 * stream); a pipe is read record by record through wc_input_read into one
 * 64 KiB buffer (a record's size field is 16 bits).  Either way each record
 * is validated (size >= 8, within what remains) before it is looked at.
 *
 * Flow: open() reads the file header, attributes and feature sections
 * (perf_header.c); run() walks the data section.  Records that carry a
 * time (SAMPLE, and COMM, FORK, EXIT, MMAP, MMAP2, LOST, LOST_SAMPLES with sample_id_all) are
 * validated, then queued in the ordered-events queue (perf_order.c), which
 * hands them back in time order to perf_deliver(), which decodes them for
 * the sink: tracepoint payloads (PERF_SAMPLE_RAW) through libtraceevent
 * via tep_events.c, callchains into wc_stack frames, COMM to sink->comm,
 * MMAP/MMAP2/FORK to the symbolizer's per-process maps (perf_symbols.c),
 * LOST/LOST_SAMPLES to sink->lost.  COMPRESSED records (perf record -z) are
 * decompressed with one persistent ZSTD_DStream, as perf does, and the
 * records inside go through the same path.
 *
 * Hostile input: a record of size < 8 is WC_EFORMAT ("record size N at
 * offset 0x... (type T)"), a record running past the data is
 * WC_ETRUNCATED; counts inside records (callchain nr, raw size, branch nr,
 * read-group nr) are checked against the bytes left in the record; the
 * decompressed stream is bounded by one buffer.  Per-event work allocates
 * nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "perf_data.h"
#include "tep_events.h"

#define PERF_ZBUF_SIZE (1U << 20)
#define PERF_POLL_EVERY 1024
#define PERF_PROGRESS_EVERY 8192

/* A decoded SAMPLE (fields we use; pointers into the record). */
struct perf_sample {
	int attr;
	uint64_t ip, time, id, addr, period;
	uint32_t pid, tid, cpu;
	int has_time, has_cpu, has_tid;
	const unsigned char *callchain;	/* nr u64, unaligned */
	uint64_t nr;
	const unsigned char *raw;
	uint32_t raw_size;
};

/* The sample_id_all trailer of a non-sample record. */
struct perf_sid {
	int attr;
	uint64_t time;
	uint32_t pid, tid, cpu;
	int has_time, has_cpu, has_tid;
	size_t body_end;	/* where the trailer starts */
};

static const char *const record_names[PERF_RECORD_TYPE_SLOTS] = {
	[PERF_RECORD_MMAP] = "MMAP", [PERF_RECORD_LOST] = "LOST",
	[PERF_RECORD_COMM] = "COMM", [PERF_RECORD_EXIT] = "EXIT",
	[PERF_RECORD_THROTTLE] = "THROTTLE",
	[PERF_RECORD_UNTHROTTLE] = "UNTHROTTLE", [PERF_RECORD_FORK] = "FORK",
	[PERF_RECORD_READ] = "READ", [PERF_RECORD_SAMPLE] = "SAMPLE",
	[PERF_RECORD_MMAP2] = "MMAP2", [PERF_RECORD_AUX] = "AUX",
	[PERF_RECORD_ITRACE_START] = "ITRACE_START",
	[PERF_RECORD_LOST_SAMPLES] = "LOST_SAMPLES",
	[PERF_RECORD_SWITCH] = "SWITCH",
	[PERF_RECORD_SWITCH_CPU_WIDE] = "SWITCH_CPU_WIDE",
	[PERF_RECORD_NAMESPACES] = "NAMESPACES",
	[PERF_RECORD_KSYMBOL] = "KSYMBOL", [PERF_RECORD_BPF_EVENT] = "BPF_EVENT",
	[PERF_RECORD_CGROUP] = "CGROUP", [PERF_RECORD_TEXT_POKE] = "TEXT_POKE",
	[PERF_RECORD_AUX_OUTPUT_HW_ID] = "AUX_OUTPUT_HW_ID",
	[PERF_RECORD_HEADER_ATTR] = "HEADER_ATTR",
	[PERF_RECORD_HEADER_EVENT_TYPE] = "HEADER_EVENT_TYPE",
	[PERF_RECORD_HEADER_TRACING_DATA] = "HEADER_TRACING_DATA",
	[PERF_RECORD_HEADER_BUILD_ID] = "HEADER_BUILD_ID",
	[PERF_RECORD_FINISHED_ROUND] = "FINISHED_ROUND",
	[PERF_RECORD_ID_INDEX] = "ID_INDEX",
	[PERF_RECORD_AUXTRACE_INFO] = "AUXTRACE_INFO",
	[PERF_RECORD_AUXTRACE] = "AUXTRACE",
	[PERF_RECORD_AUXTRACE_ERROR] = "AUXTRACE_ERROR",
	[PERF_RECORD_THREAD_MAP] = "THREAD_MAP",
	[PERF_RECORD_CPU_MAP] = "CPU_MAP",
	[PERF_RECORD_STAT_CONFIG] = "STAT_CONFIG", [PERF_RECORD_STAT] = "STAT",
	[PERF_RECORD_STAT_ROUND] = "STAT_ROUND",
	[PERF_RECORD_EVENT_UPDATE] = "EVENT_UPDATE",
	[PERF_RECORD_TIME_CONV] = "TIME_CONV",
	[PERF_RECORD_HEADER_FEATURE] = "HEADER_FEATURE",
	[PERF_RECORD_COMPRESSED] = "COMPRESSED",
	[PERF_RECORD_FINISHED_INIT] = "FINISHED_INIT",
	[PERF_RECORD_COMPRESSED2] = "COMPRESSED2",
};

const char *perf_record_name(uint32_t type)
{
	return type < PERF_RECORD_TYPE_SLOTS ? record_names[type] : NULL;
}

/* "SAMPLE" or "type 1234" into BUF, for messages. */
static const char *type_str(uint32_t type, char *buf, size_t len)
{
	const char *n = perf_record_name(type);
	if (n)
		snprintf(buf, len, "type %u %s", type, n);
	else
		snprintf(buf, len, "type %u", type);
	return buf;
}

/* Records "perf.data: WHAT at offset 0x.. (type T NAME)"; returns -CODE. */
static int rec_error(struct perf_reader *r, int code, uint64_t off,
		     uint32_t type, const char *what)
{
	char t[48];
	return wc_err(r->err, code, r->path, "perf.data: %s at offset 0x%llx (%s)",
		      what, (unsigned long long)off, type_str(type, t, sizeof(t)));
}

/* --- metadata ---------------------------------------------------------- */

int perf_meta_set(struct perf_reader *r, const char *key, const char *value)
{
	if (!strcmp(key, "clock"))
		r->clock_set = 1;
	if (r->sink) {
		if (!r->sink->meta)
			return 0;
		return r->sink->meta(r->sink->ctx, key, value, r->err);
	}
	for (size_t i = 0; i < r->nmeta; i++) {
		if (!strcmp(r->meta[i].key, key)) {
			char *v = strdup(value);
			if (!v)
				return wc_err(r->err, WC_ENOMEM, r->path, "out of memory");
			free(r->meta[i].value);
			r->meta[i].value = v;
			return 0;
		}
	}
	if (r->nmeta == r->meta_cap) {
		size_t ncap = r->meta_cap ? r->meta_cap * 2 : 32;
		struct perf_meta *nm = realloc(r->meta, ncap * sizeof(*nm));
		if (!nm)
			return wc_err(r->err, WC_ENOMEM, r->path, "out of memory");
		r->meta = nm;
		r->meta_cap = ncap;
	}
	char *k = strdup(key), *v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return wc_err(r->err, WC_ENOMEM, r->path, "out of memory");
	}
	r->meta[r->nmeta].key = k;
	r->meta[r->nmeta].value = v;
	r->nmeta++;
	return 0;
}

int perf_warn(struct perf_reader *r, const char *msg)
{
	size_t have = r->warnings ? strlen(r->warnings) : 0, add = strlen(msg);
	char *w = realloc(r->warnings, have + add + 2);
	if (!w)
		return wc_err(r->err, WC_ENOMEM, r->path, "out of memory");
	if (have)
		w[have++] = '\n';
	memcpy(w + have, msg, add + 1);
	r->warnings = w;
	return perf_meta_set(r, "warnings", w);
}

static const char *meta_get(const struct perf_reader *r, const char *key)
{
	for (size_t i = 0; i < r->nmeta; i++)
		if (!strcmp(r->meta[i].key, key))
			return r->meta[i].value;
	return NULL;
}

/* perf_meta_set() of a number. */
static int meta_u64(struct perf_reader *r, const char *key, uint64_t v)
{
	char num[32];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	return perf_meta_set(r, key, num);
}

/* --- sample decoding ---------------------------------------------------- */

/* Attribute of a SAMPLE record (REC, SIZE bytes), or -1. */
static int sample_attr(const struct perf_reader *r, const unsigned char *rec,
		       size_t size)
{
	if (r->nattrs == 1)
		return 0;
	if (r->id_pos < 0 || size < PERF_EVENT_HEADER_SIZE + 8 * (size_t)(r->id_pos + 1))
		return -1;
	return perf_idmap_find(&r->idmap,
			       perf_u64(rec + PERF_EVENT_HEADER_SIZE + 8 * r->id_pos));
}

/*
 * Parses a SAMPLE by its attribute's sample_type.  Returns 0, 1 when the
 * sample's id matches no attribute (skipped), or a negative code.
 */
static int parse_sample(struct perf_reader *r, const unsigned char *rec,
			size_t size, uint64_t off, struct perf_sample *s)
{
	int idx = sample_attr(r, rec, size);
	if (idx < 0)
		return 1;
	const struct perf_attr *a = &r->attrs[idx];
	uint64_t t = a->sample_type;
	const unsigned char *p = rec + PERF_EVENT_HEADER_SIZE, *end = rec + size;
	const char *what = NULL;

	memset(s, 0, sizeof(*s));
	s->attr = idx;
#define NEED(n, w)                                                           \
	do {                                                                 \
		if ((size_t)(end - p) < (size_t)(n)) {                       \
			what = (w);                                          \
			goto short_rec;                                      \
		}                                                            \
	} while (0)
	if (t & PERF_SAMPLE_IDENTIFIER) {
		NEED(8, "identifier");
		s->id = perf_u64(p);
		p += 8;
	}
	if (t & PERF_SAMPLE_IP) {
		NEED(8, "ip");
		s->ip = perf_u64(p);
		p += 8;
	}
	if (t & PERF_SAMPLE_TID) {
		NEED(8, "pid/tid");
		s->pid = perf_u32(p);
		s->tid = perf_u32(p + 4);
		s->has_tid = 1;
		p += 8;
	}
	if (t & PERF_SAMPLE_TIME) {
		NEED(8, "time");
		s->time = perf_u64(p);
		s->has_time = 1;
		p += 8;
	}
	if (t & PERF_SAMPLE_ADDR) {
		NEED(8, "addr");
		s->addr = perf_u64(p);
		p += 8;
	}
	if (t & PERF_SAMPLE_ID) {
		NEED(8, "id");
		s->id = perf_u64(p);
		p += 8;
	}
	if (t & PERF_SAMPLE_STREAM_ID) {
		NEED(8, "stream id");
		p += 8;
	}
	if (t & PERF_SAMPLE_CPU) {
		NEED(8, "cpu");
		s->cpu = perf_u32(p);
		s->has_cpu = 1;
		p += 8;
	}
	if (t & PERF_SAMPLE_PERIOD) {
		NEED(8, "period");
		s->period = perf_u64(p);
		p += 8;
	}
	if (t & PERF_SAMPLE_READ) {
		uint64_t rf = a->read_format;
		size_t per = 1 + !!(rf & PERF_FORMAT_ID) + !!(rf & PERF_FORMAT_LOST);
		size_t times = !!(rf & PERF_FORMAT_TOTAL_TIME_ENABLED) +
			       !!(rf & PERF_FORMAT_TOTAL_TIME_RUNNING);
		if (rf & PERF_FORMAT_GROUP) {
			NEED(8, "read group");
			uint64_t nr = perf_u64(p);
			p += 8;
			NEED(8 * times, "read group");
			p += 8 * times;
			if (nr > (uint64_t)(end - p) / (8 * per)) {
				what = "read group values";
				goto short_rec;
			}
			p += nr * 8 * per;
		} else {
			NEED(8 * (per + times), "read values");
			p += 8 * (per + times);
		}
	}
	if (t & PERF_SAMPLE_CALLCHAIN) {
		NEED(8, "callchain");
		uint64_t nr = perf_u64(p);
		p += 8;
		if (nr > (uint64_t)(end - p) / 8) {
			char buf[96];
			snprintf(buf, sizeof(buf), "callchain of %llu entries in a "
				 "record of %zu bytes", (unsigned long long)nr, size);
			return rec_error(r, WC_EFORMAT, off, PERF_RECORD_SAMPLE, buf);
		}
		s->callchain = p;
		s->nr = nr;
		p += nr * 8;
	}
	if (t & PERF_SAMPLE_RAW) {
		NEED(4, "raw size");
		uint32_t rs = perf_u32(p);
		p += 4;
		if (rs > (size_t)(end - p)) {
			char buf[96];
			snprintf(buf, sizeof(buf), "raw data of %u bytes in a record "
				 "of %zu bytes", rs, size);
			return rec_error(r, WC_EFORMAT, off, PERF_RECORD_SAMPLE, buf);
		}
		s->raw = p;
		s->raw_size = rs;
		p += rs;
	}
	if (t & PERF_SAMPLE_BRANCH_STACK) {
		NEED(8, "branch stack");
		uint64_t nr = perf_u64(p);
		p += 8;
		if (a->branch_sample_type & PERF_SAMPLE_BRANCH_HW_INDEX) {
			NEED(8, "branch hw_idx");
			p += 8;
		}
		if (nr > (uint64_t)(end - p) / 24) {
			what = "branch entries";
			goto short_rec;
		}
		p += nr * 24;
	}
	if (t & PERF_SAMPLE_REGS_USER) {
		NEED(8, "user regs abi");
		uint64_t abi = perf_u64(p);
		p += 8;
		if (abi) {
			size_t n = (size_t)__builtin_popcountll(a->sample_regs_user);
			NEED(8 * n, "user regs");
			p += 8 * n;
		}
	}
	if (t & PERF_SAMPLE_STACK_USER) {
		NEED(8, "user stack size");
		uint64_t sz = perf_u64(p);
		p += 8;
		if (sz) {
			if (sz > (uint64_t)(end - p)) {
				what = "user stack";
				goto short_rec;
			}
			p += sz;
			NEED(8, "user stack dyn_size");
			p += 8;
		}
	}
	if (t & (PERF_SAMPLE_WEIGHT | PERF_SAMPLE_WEIGHT_STRUCT)) {
		NEED(8, "weight");
		p += 8;
	}
	if (t & PERF_SAMPLE_DATA_SRC) {
		NEED(8, "data_src");
		p += 8;
	}
	if (t & PERF_SAMPLE_TRANSACTION) {
		NEED(8, "transaction");
		p += 8;
	}
	if (t & PERF_SAMPLE_REGS_INTR) {
		NEED(8, "intr regs abi");
		uint64_t abi = perf_u64(p);
		p += 8;
		if (abi) {
			size_t n = (size_t)__builtin_popcountll(a->sample_regs_intr);
			NEED(8 * n, "intr regs");
			p += 8 * n;
		}
	}
	if (t & PERF_SAMPLE_PHYS_ADDR) {
		NEED(8, "phys_addr");
		p += 8;
	}
	if (t & PERF_SAMPLE_CGROUP) {
		NEED(8, "cgroup");
		p += 8;
	}
	if (t & PERF_SAMPLE_DATA_PAGE_SIZE) {
		NEED(8, "data_page_size");
		p += 8;
	}
	if (t & PERF_SAMPLE_CODE_PAGE_SIZE) {
		NEED(8, "code_page_size");
		p += 8;
	}
	if (t & PERF_SAMPLE_AUX) {
		NEED(8, "aux size");
		uint64_t sz = perf_u64(p);
		p += 8;
		if (sz > (uint64_t)(end - p)) {
			what = "aux data";
			goto short_rec;
		}
		p += sz;
	}
#undef NEED
	return 0;
short_rec:;
	char buf[96];
	snprintf(buf, sizeof(buf), "sample of %zu bytes too short for its %s",
		 size, what);
	return rec_error(r, WC_EFORMAT, off, PERF_RECORD_SAMPLE, buf);
}

/*
 * Parses the sample_id_all trailer of a non-sample record whose fixed
 * body is BODY bytes after the header.  Returns 0 or WC_EFORMAT.
 */
static int parse_sid(struct perf_reader *r, const unsigned char *rec,
		     size_t size, uint64_t off, uint32_t type, size_t body,
		     struct perf_sid *sid)
{
	memset(sid, 0, sizeof(*sid));
	sid->attr = 0;
	if (r->nattrs > 1 && r->is_pos > 0 &&
	    size >= PERF_EVENT_HEADER_SIZE + 8 * (size_t)r->is_pos) {
		int idx = perf_idmap_find(&r->idmap,
					  perf_u64(rec + size - 8 * r->is_pos));
		if (idx >= 0)
			sid->attr = idx;
	}
	const struct perf_attr *a = &r->attrs[sid->attr];
	size_t tsz = a->id_trailer_size;
	if (size < PERF_EVENT_HEADER_SIZE + body + tsz) {
		char buf[96];
		snprintf(buf, sizeof(buf), "record of %zu bytes shorter than its "
			 "%zu-byte body and %zu-byte sample id", size,
			 PERF_EVENT_HEADER_SIZE + body, tsz);
		return rec_error(r, WC_EFORMAT, off, type, buf);
	}
	sid->body_end = size - tsz;
	if (!tsz)
		return 0;
	const unsigned char *p = rec + sid->body_end;
	uint64_t t = a->sample_type;
	if (t & PERF_SAMPLE_TID) {
		sid->pid = perf_u32(p);
		sid->tid = perf_u32(p + 4);
		sid->has_tid = 1;
		p += 8;
	}
	if (t & PERF_SAMPLE_TIME) {
		sid->time = perf_u64(p);
		sid->has_time = 1;
		p += 8;
	}
	if (t & PERF_SAMPLE_ID)
		p += 8;
	if (t & PERF_SAMPLE_STREAM_ID)
		p += 8;
	if (t & PERF_SAMPLE_CPU) {
		sid->cpu = perf_u32(p);
		sid->has_cpu = 1;
	}
	return 0;
}

/* Fixed body bytes (after the header) of the ordered non-sample records. */
static size_t record_body(uint32_t type)
{
	switch (type) {
	case PERF_RECORD_COMM: return 8;
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: return 24;
	case PERF_RECORD_MMAP: return 32;
	case PERF_RECORD_MMAP2: return 64;
	case PERF_RECORD_LOST: return 16;
	case PERF_RECORD_LOST_SAMPLES: return 8;
	default: return 0;
	}
}

/* A NUL-terminated copy of the string at REC[from, to) in BUF. */
static const char *rec_string(const unsigned char *rec, size_t from, size_t to,
			      char *buf, size_t len)
{
	size_t n = to > from ? strnlen((const char *)rec + from, to - from) : 0;
	if (n >= len)
		n = len - 1;
	memcpy(buf, rec + from, n);
	buf[n] = 0;
	return buf;
}

/* --- delivery ----------------------------------------------------------- */

/*
 * Decodes a SAMPLE into a wc_event (tracepoint payload through tep_events,
 * callchain into r->frames) and hands it to the sink.  A payload
 * libtraceevent cannot decode is counted and skipped.
 */
static int deliver_sample(struct perf_reader *r, const unsigned char *rec,
			  size_t size, uint64_t off)
{
	struct perf_sample s;
	int rc = parse_sample(r, rec, size, off, &s);
	if (rc)
		return rc < 0 ? rc : 0;
	struct perf_attr *a = &r->attrs[s.attr];
	struct wc_event ev;
	struct wc_stack stack;

	a->nsamples++;
	if (s.raw && r->te) {
		char why[128];
		if (wc_tep_events_decode(r->te, s.raw, s.raw_size, &ev, why,
					 sizeof(why))) {
			r->bad_payloads++;
			return 0;
		}
	} else {
		memset(&ev, 0, sizeof(ev));
		ev.type = WC_EV_OTHER;
		ev.name = a->name ? a->name : "perf_sample";
	}
	ev.ts = s.time;
	ev.cpu = s.has_cpu ? (int32_t)s.cpu : -1;
	if (s.has_tid) {
		ev.tid = (int32_t)s.tid;
		ev.pid = (int32_t)s.pid;
	} else if (!s.raw || !r->te) {
		ev.tid = -1;
		ev.pid = -1;
	}
	ev.buffer = 0;
	ev.stack = NULL;
	ev.stack_id = 0;
	if (s.callchain && s.nr) {
		uint32_t n = 0;
		int kernel = -1;
		if ((rc = perf_symbols_load_kernel(r->syms)))
			return rc;
		for (uint64_t i = 0; i < s.nr && n < PERF_MAX_FRAMES; i++) {
			uint64_t ip = perf_u64(s.callchain + 8 * i);
			if (ip >= PERF_CONTEXT_MAX) {
				if (ip == PERF_CONTEXT_USER || ip == PERF_CONTEXT_GUEST_USER)
					kernel = 0;
				else
					kernel = 1;
				continue;
			}
			r->frames[n].ip = ip;
			r->frames[n].kernel = kernel >= 0 ? kernel : (ip >> 63) != 0;
			n++;
		}
		if (n) {
			stack.frames = r->frames;
			stack.nframes = n;
			ev.stack = &stack;
		}
	}
	if (r->events_delivered && ev.ts < r->last_ts)
		ev.ts = r->last_ts;	/* a late event, see enqueue() */
	if (!r->events_delivered || ev.ts < r->first_ts)
		r->first_ts = ev.ts;
	if (ev.ts > r->last_ts)
		r->last_ts = ev.ts;
	if (ev.cpu >= 0 && ev.cpu < PERF_LOST_CPUS)
		r->cpu_last_ts[ev.cpu] = ev.ts;
	r->events_delivered++;
	if (r->sink->event)
		return r->sink->event(r->sink->ctx, &ev, r->err);
	return 0;
}

int perf_deliver(struct perf_reader *r, const unsigned char *rec, size_t size,
		 uint64_t off)
{
	uint32_t type = perf_u32(rec);
	uint16_t misc = perf_u16(rec + 4);
	struct perf_sid sid;
	char str[4096];
	int rc;

	if (type == PERF_RECORD_SAMPLE)
		return deliver_sample(r, rec, size, off);
	if ((rc = parse_sid(r, rec, size, off, type, record_body(type), &sid)))
		return rc;
	const unsigned char *b = rec + PERF_EVENT_HEADER_SIZE;
	switch (type) {
	case PERF_RECORD_COMM: {
		int32_t pid = (int32_t)perf_u32(b), tid = (int32_t)perf_u32(b + 4);
		int exec = (misc & PERF_RECORD_MISC_COMM_EXEC) != 0;
		const char *comm = rec_string(rec, 16, sid.body_end, str, 64);
		if (exec)
			perf_symbols_exec(r->syms, pid);
		if (r->sink->comm)
			return r->sink->comm(r->sink->ctx, sid.has_time ? sid.time : 0,
					     tid, pid, comm,
					     exec ? WC_COMM_EXEC : WC_COMM_RECORD,
					     r->err);
		return 0;
	}
	case PERF_RECORD_FORK: {
		int32_t pid = (int32_t)perf_u32(b), ppid = (int32_t)perf_u32(b + 4);
		if (pid != ppid)
			return perf_symbols_fork(r->syms, pid, ppid);
		return 0;
	}
	case PERF_RECORD_MMAP:
	case PERF_RECORD_MMAP2: {
		int32_t pid = (int32_t)perf_u32(b);
		uint64_t start = perf_u64(b + 8), len = perf_u64(b + 16),
			 pgoff = perf_u64(b + 24);
		const unsigned char *bid = NULL;
		size_t bid_size = 0;
		size_t name_at = type == PERF_RECORD_MMAP ? 32 : 64;
		/* only executable mappings matter for callchains */
		if (type == PERF_RECORD_MMAP ? (misc & PERF_RECORD_MISC_MMAP_DATA) != 0
					     : !(perf_u32(b + 56) & 4 /* PROT_EXEC */))
			return 0;
		if (type == PERF_RECORD_MMAP2 && (misc & PERF_RECORD_MISC_MMAP_BUILD_ID)) {
			bid_size = b[32] > 20 ? 20 : b[32];
			bid = b + 36;
		}
		const char *name = rec_string(rec, PERF_EVENT_HEADER_SIZE + name_at,
					      sid.body_end, str, sizeof(str));
		return perf_symbols_mmap(r->syms, pid, start, len, pgoff, name, bid,
					 bid_size);
	}
	case PERF_RECORD_LOST:
	case PERF_RECORD_LOST_SAMPLES: {
		uint64_t lost = perf_u64(b + (type == PERF_RECORD_LOST ? 8 : 0));
		/* the events were lost after the last one delivered from
		 * that CPU's ring buffer (records of one buffer are in time
		 * order) and before this record was written */
		uint64_t from = sid.has_time && sid.has_cpu &&
				sid.cpu < PERF_LOST_CPUS ? r->cpu_last_ts[sid.cpu] : 0;
		if (r->sink->lost)
			return r->sink->lost(r->sink->ctx,
					     sid.has_cpu ? (int32_t)sid.cpu : -1, from,
					     sid.has_time ? sid.time : 0, lost,
					     type == PERF_RECORD_LOST ? "lost" : "lost_samples",
					     r->err);
		return 0;
	}
	default:
		return 0;	/* EXIT: nothing to deliver */
	}
}

/* --- ingest (file order) ------------------------------------------------ */

/* Queues an ordered record at TS, or delivers it now when it has no time. */
static int enqueue(struct perf_reader *r, const unsigned char *rec, size_t size,
		   uint64_t off, int has_time, uint64_t ts)
{
	if (!has_time)
		return perf_deliver(r, rec, size, off);
	uint64_t floor = perf_order_last_flushed(r->order);
	if (ts < floor) {
		/* older than what was already delivered (a capture breaking
		 * the FINISHED_ROUND promise): perf would deliver it out of
		 * order; we deliver it next, at the time of the last
		 * delivered event (deliver_sample clamps), and count it */
		r->late_events++;
		ts = floor;
	}
	int rc = perf_order_push(r->order, ts, rec, size, off);
	if (rc)
		return wc_err(r->err, -rc, r->path, "perf.data: out of memory "
			      "queueing records (offset 0x%llx)", (unsigned long long)off);
	if (perf_order_over_valve(r->order))
		return perf_order_flush_half(r->order, r);
	return 0;
}

static int process_record(struct perf_reader *r, const unsigned char *rec,
			  size_t size, uint64_t off, const unsigned char *extra,
			  size_t extra_len, int nested);

/* Consumes the complete records at the front of r->zbuf. */
static int drain_zbuf(struct perf_reader *r, uint64_t off)
{
	size_t pos = 0;
	int rc = 0;
	while (r->zbuf_len - pos >= PERF_EVENT_HEADER_SIZE) {
		const unsigned char *rec = r->zbuf + pos;
		uint32_t type = perf_u32(rec);
		uint16_t size = perf_u16(rec + 6);
		if (size < PERF_EVENT_HEADER_SIZE) {
			char buf[96];
			snprintf(buf, sizeof(buf), "record size %u at byte %zu of the "
				 "decompressed data of the COMPRESSED record", size, pos);
			return rec_error(r, WC_EFORMAT, off, type, buf);
		}
		if (size > r->zbuf_len - pos)
			break;
		if ((rc = process_record(r, rec, size, off, NULL, 0, 1)))
			return rc;
		pos += size;
	}
	memmove(r->zbuf, r->zbuf + pos, r->zbuf_len - pos);
	r->zbuf_len -= pos;
	return rc;
}

static int process_compressed(struct perf_reader *r, const unsigned char *src,
			      size_t len, uint64_t off)
{
	int rc;
	if (!r->zstd) {
		r->zstd = ZSTD_createDStream();
		r->zbuf = malloc(PERF_ZBUF_SIZE);
		r->zbuf_cap = PERF_ZBUF_SIZE;
		if (!r->zstd || !r->zbuf)
			return wc_err(r->err, WC_ENOMEM, r->path, "out of memory");
		ZSTD_initDStream(r->zstd);
		perf_meta_set(r, "file_compression", "zstd");
	}
	r->zstd_records++;
	ZSTD_inBuffer in = { src, len, 0 };
	while (in.pos < in.size) {
		ZSTD_outBuffer out = { r->zbuf + r->zbuf_len, r->zbuf_cap - r->zbuf_len, 0 };
		size_t ret = ZSTD_decompressStream(r->zstd, &out, &in);
		if (ZSTD_isError(ret)) {
			char buf[160];
			snprintf(buf, sizeof(buf), "zstd: %s", ZSTD_getErrorName(ret));
			return rec_error(r, WC_EFORMAT, off, PERF_RECORD_COMPRESSED, buf);
		}
		r->zbuf_len += out.pos;
		if ((rc = drain_zbuf(r, off)))
			return rc;
		if (!out.pos && in.pos < in.size && r->zbuf_len == r->zbuf_cap)
			return rec_error(r, WC_EFORMAT, off, PERF_RECORD_COMPRESSED,
					 "decompressed data does not hold records");
	}
	return 0;
}

/*
 * Handles one record in file order.  EXTRA/EXTRA_LEN are the bytes that
 * follow the record in the stream for HEADER_TRACING_DATA (the tracing
 * data).  NESTED is 1 inside a COMPRESSED record.
 */
static int process_record(struct perf_reader *r, const unsigned char *rec,
			  size_t size, uint64_t off, const unsigned char *extra,
			  size_t extra_len, int nested)
{
	uint32_t type = perf_u32(rec);
	int rc;

	r->nrecords++;
	r->count[type < PERF_RECORD_TYPE_SLOTS ? type : 0]++;
	switch (type) {
	case PERF_RECORD_SAMPLE: {
		struct perf_sample s;
		if (!r->nattrs)
			return rec_error(r, WC_EFORMAT, off, type,
					 "sample before any event attribute");
		rc = parse_sample(r, rec, size, off, &s);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			r->skipped++;	/* id of no attribute */
			return 0;
		}
		return enqueue(r, rec, size, off, s.has_time, s.time);
	}
	case PERF_RECORD_COMM:
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
	case PERF_RECORD_MMAP:
	case PERF_RECORD_MMAP2:
	case PERF_RECORD_LOST:
	case PERF_RECORD_LOST_SAMPLES: {
		struct perf_sid sid;
		if (!r->nattrs)
			return rec_error(r, WC_EFORMAT, off, type,
					 "record before any event attribute");
		if ((rc = parse_sid(r, rec, size, off, type, record_body(type), &sid)))
			return rc;
		return enqueue(r, rec, size, off, sid.has_time, sid.time);
	}
	case PERF_RECORD_FINISHED_ROUND:
		return perf_order_round(r->order, r);
	case PERF_RECORD_COMPRESSED:
	case PERF_RECORD_COMPRESSED2: {
		if (nested)
			return rec_error(r, WC_EFORMAT, off, type,
					 "COMPRESSED record inside a COMPRESSED record");
		size_t at = PERF_EVENT_HEADER_SIZE, n = size - at;
		if (type == PERF_RECORD_COMPRESSED2) {
			if (size < 16)
				return rec_error(r, WC_EFORMAT, off, type, "short record");
			uint64_t dsz = perf_u64(rec + 8);
			at = 16;
			if (dsz > size - at)
				return rec_error(r, WC_EFORMAT, off, type,
						 "compressed size beyond the record");
			n = (size_t)dsz;
		}
		return process_compressed(r, rec + at, n, off);
	}
	case PERF_RECORD_HEADER_ATTR: {
		if (size < PERF_EVENT_HEADER_SIZE + PERF_ATTR_SIZE_VER0)
			return rec_error(r, WC_EFORMAT, off, type, "short attribute record");
		const unsigned char *a = rec + PERF_EVENT_HEADER_SIZE;
		uint32_t asz = perf_u32(a + 4);
		if (!asz)
			asz = PERF_ATTR_SIZE_VER0;
		if (asz < PERF_ATTR_SIZE_VER0 || asz > size - PERF_EVENT_HEADER_SIZE)
			return rec_error(r, WC_EFORMAT, off, type, "bad attribute size");
		size_t ids = size - PERF_EVENT_HEADER_SIZE - asz;
		if ((rc = perf_header_add_attr(r, a, asz, a + asz, ids / 8, off)))
			return rc;
		return perf_header_finish_attrs(r, off);
	}
	case PERF_RECORD_HEADER_TRACING_DATA:
		if (!extra)
			return rec_error(r, WC_EFORMAT, off, type,
					 "tracing data inside a COMPRESSED record");
		return perf_header_tracing_data(r, extra, extra_len,
						off + size);
	case PERF_RECORD_HEADER_BUILD_ID:
		return perf_header_feature(r, PERF_FEAT_BUILD_ID, rec, size, off);
	case PERF_RECORD_HEADER_FEATURE: {
		if (size < 16)
			return rec_error(r, WC_EFORMAT, off, type, "short record");
		uint64_t feat = perf_u64(rec + 8);
		if (feat >= PERF_FEAT_BITS)
			return 0;
		return perf_header_feature(r, (int)feat, rec + 16, size - 16, off + 16);
	}
	case PERF_RECORD_ID_INDEX: {
		if (size < 16)
			return rec_error(r, WC_EFORMAT, off, type, "short record");
		uint64_t nr = perf_u64(rec + 8);
		if (nr > (size - 16) / 32)
			return rec_error(r, WC_EFORMAT, off, type,
					 "more id entries than the record holds");
		return 0;
	}
	case PERF_RECORD_THREAD_MAP: {
		if (size < 16)
			return rec_error(r, WC_EFORMAT, off, type, "short record");
		uint64_t nr = perf_u64(rec + 8);
		if (nr > (size - 16) / 24)
			return rec_error(r, WC_EFORMAT, off, type,
					 "more threads than the record holds");
		return 0;
	}
	case PERF_RECORD_HEADER_EVENT_TYPE:
	case PERF_RECORD_FINISHED_INIT:
	case PERF_RECORD_CPU_MAP:
	case PERF_RECORD_TIME_CONV:
	case PERF_RECORD_STAT_CONFIG:
	case PERF_RECORD_STAT:
	case PERF_RECORD_STAT_ROUND:
	case PERF_RECORD_EVENT_UPDATE:
		return 0;	/* nothing waitchain uses */
	default:
		r->skipped++;	/* AUX, SWITCH, KSYMBOL, unknown... */
		return 0;
	}
}

/* Bytes that follow a record of TYPE in the stream (0 for most). */
static int trailing_bytes(const unsigned char *rec, size_t size, uint64_t *n)
{
	uint32_t type = perf_u32(rec);
	*n = 0;
	if (type == PERF_RECORD_HEADER_TRACING_DATA) {
		if (size < 12)
			return -1;
		*n = perf_u32(rec + 8);
	} else if (type == PERF_RECORD_AUXTRACE) {
		if (size < 16)
			return -1;
		*n = perf_u64(rec + 8);
	}
	return 0;
}

/* --- transports --------------------------------------------------------- */

static int poll_and_progress(struct perf_reader *r, uint64_t off)
{
	const struct wc_import_options *o = r->opt;
	if (r->nrecords % PERF_POLL_EVERY == 0 && o->interrupted && *o->interrupted)
		return wc_err(r->err, WC_EINTERRUPTED, r->path,
			      "perf.data: interrupted at offset 0x%llx",
			      (unsigned long long)off);
	if (r->nrecords % PERF_PROGRESS_EVERY == 0 && o->progress)
		o->progress(o->progress_ctx, off, r->events_delivered);
	return 0;
}

/* Bytes of a mapped capture kept resident behind the read position, and
 * the alignment of the ranges released (a multiple of any page size). */
#define PERF_MAP_WINDOW (32u << 20)
#define PERF_MAP_ALIGN (1u << 20)

/* Walks the records of a mapped capture (data section, or everything
 * after the pipe header). */
static int run_mapped(struct perf_reader *r)
{
	uint64_t pos = r->pipe_mode ? PERF_PIPE_HEADER_SIZE : r->data_off;
	uint64_t end = r->pipe_mode ? r->map_len : r->data_off + r->data_size;
	/*
	 * Peak RSS: every touched page of the mapping counts as resident, so
	 * mapping a 1 GiB capture whole made the import take 1.2 GiB.  The
	 * records behind the read position are not referenced any more (the
	 * ordering queue copies what it keeps, compressed records are
	 * inflated into zbuf), so they are dropped from the mapping every
	 * PERF_MAP_WINDOW bytes: read-only private file pages come back from
	 * the page cache if ever touched again.  RSS stays at the window.
	 */
	uint64_t released = pos & ~(uint64_t)(PERF_MAP_ALIGN - 1);
	int rc;

	while (pos < end) {
		const unsigned char *rec = r->map + pos;
		if (pos - released >= PERF_MAP_WINDOW) {
			uint64_t upto = pos & ~(uint64_t)(PERF_MAP_ALIGN - 1);
			madvise((void *)(r->map + released), (size_t)(upto - released),
				MADV_DONTNEED);
			released = upto;
		}
		if (end - pos < PERF_EVENT_HEADER_SIZE)
			return wc_err(r->err, WC_ETRUNCATED, r->path,
				      "perf.data: record header at offset 0x%llx cut "
				      "short (%llu bytes left)", (unsigned long long)pos,
				      (unsigned long long)(end - pos));
		uint32_t type = perf_u32(rec);
		uint16_t size = perf_u16(rec + 6);
		if (size < PERF_EVENT_HEADER_SIZE) {
			char t[48];
			return wc_err(r->err, WC_EFORMAT, r->path,
				      "perf.data: record size %u at offset 0x%llx (%s)",
				      size, (unsigned long long)pos,
				      type_str(type, t, sizeof(t)));
		}
		if (size > end - pos) {
			char t[48];
			return wc_err(r->err, WC_ETRUNCATED, r->path,
				      "perf.data: record of %u bytes at offset 0x%llx "
				      "(%s) runs past the end of the data (%llu bytes left)",
				      size, (unsigned long long)pos,
				      type_str(type, t, sizeof(t)),
				      (unsigned long long)(end - pos));
		}
		uint64_t extra;
		if (trailing_bytes(rec, size, &extra))
			return rec_error(r, WC_EFORMAT, pos, type, "short record");
		if (extra > end - pos - size)
			return wc_err(r->err, WC_ETRUNCATED, r->path,
				      "perf.data: %llu bytes following the record at "
				      "offset 0x%llx run past the end of the data",
				      (unsigned long long)extra, (unsigned long long)pos);
		if ((rc = process_record(r, rec, size, pos, rec + size, (size_t)extra, 0)))
			return rc;
		pos += size + extra;
		if ((rc = poll_and_progress(r, pos)))
			return rc;
	}
	return 0;
}

/* Reads exactly N bytes from the stream; WC_ETRUNCATED if it ends first
 * (EOF_OK: 0 bytes at EOF returns 1). */
static int stream_read(struct perf_reader *r, void *buf, size_t n, int eof_ok,
		       const char *what)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = wc_input_read(r->in, (unsigned char *)buf + got, n - got, r->err);
		if (k < 0)
			return (int)k;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	if (got == 0 && eof_ok)
		return 1;
	if (got < n)
		return wc_err(r->err, WC_ETRUNCATED, r->path,
			      "perf.data: input ends inside %s at offset 0x%llx "
			      "(%zu of %zu bytes)", what,
			      (unsigned long long)r->stream_off, got, n);
	r->stream_off += n;
	return 0;
}

/* Walks the records of a pipe-mode stream read through wc_input_read. */
static int run_stream(struct perf_reader *r)
{
	unsigned char *extra = NULL;
	size_t extra_cap = 0;
	int rc;

	r->stream_off = PERF_PIPE_HEADER_SIZE;
	for (;;) {
		uint64_t pos = r->stream_off;
		rc = stream_read(r, r->rbuf, PERF_EVENT_HEADER_SIZE, 1, "a record header");
		if (rc == 1) {
			rc = 0;
			break;
		}
		if (rc)
			break;
		uint32_t type = perf_u32(r->rbuf);
		uint16_t size = perf_u16(r->rbuf + 6);
		if (size < PERF_EVENT_HEADER_SIZE) {
			char t[48];
			rc = wc_err(r->err, WC_EFORMAT, r->path,
				    "perf.data: record size %u at offset 0x%llx (%s)",
				    size, (unsigned long long)pos,
				    type_str(type, t, sizeof(t)));
			break;
		}
		if ((rc = stream_read(r, r->rbuf + PERF_EVENT_HEADER_SIZE,
				      size - PERF_EVENT_HEADER_SIZE, 0, "a record")))
			break;
		uint64_t n;
		if (trailing_bytes(r->rbuf, size, &n)) {
			rc = rec_error(r, WC_EFORMAT, pos, type, "short record");
			break;
		}
		if (n && type == PERF_RECORD_HEADER_TRACING_DATA) {
			if (n > PERF_MAX_TRACING_DATA) {
				rc = rec_error(r, WC_ELIMIT, pos, type,
					       "tracing data beyond 256 MiB");
				break;
			}
			if (n > extra_cap) {
				unsigned char *ne = realloc(extra, (size_t)n);
				if (!ne) {
					rc = wc_err(r->err, WC_ENOMEM, r->path, "out of memory");
					break;
				}
				extra = ne;
				extra_cap = (size_t)n;
			}
			if ((rc = stream_read(r, extra, (size_t)n, 0, "tracing data")))
				break;
		} else if (n) {
			/* AUXTRACE payload: skip it through the record buffer */
			while (n) {
				size_t k = n > 65536 ? 65536 : (size_t)n;
				if ((rc = stream_read(r, r->rbuf, k, 0, "AUXTRACE data")))
					goto out;
				n -= k;
			}
			/* the record header in rbuf was clobbered: it needs
			 * nothing more than its count */
			r->nrecords++;
			r->count[PERF_RECORD_AUXTRACE]++;
			r->skipped++;
			continue;
		}
		if ((rc = process_record(r, r->rbuf, size, pos,
					 type == PERF_RECORD_HEADER_TRACING_DATA ? extra : NULL,
					 type == PERF_RECORD_HEADER_TRACING_DATA ? (size_t)n : 0,
					 0)))
			break;
		if ((rc = poll_and_progress(r, r->stream_off)))
			break;
	}
out:
	free(extra);
	return rc;
}

/* --- importer interface -------------------------------------------------- */

/* importer probe: "PERFILE2" in either byte order (so that open() can
 * refuse the other one clearly), or the old "PERFFILE". */
static int perf_probe(const unsigned char *head, size_t len)
{
	if (len < 8)
		return 0;
	uint64_t magic = perf_u64(head);
	return magic == PERF_MAGIC2 || magic == PERF_MAGIC2_SWAPPED ||
	       !memcmp(head, "PERFFILE", 8);
}

/* importer close: frees everything open() and run() allocated; NULL ok. */
static void perf_close(void *state)
{
	struct perf_reader *r = state;
	if (!r)
		return;
	if (r->map)
		munmap((void *)r->map, r->map_len);
	perf_header_free(r);
	for (size_t i = 0; i < r->nmeta; i++) {
		free(r->meta[i].key);
		free(r->meta[i].value);
	}
	free(r->meta);
	free(r->warnings);
	perf_symbols_free(r->syms);
	perf_order_free(r->order);
	if (r->zstd)
		ZSTD_freeDStream(r->zstd);
	free(r->zbuf);
	free(r->rbuf);
	free(r->frames);
	free(r);
}

/* meta clock/clockid from the attributes when no CLOCK_DATA said it:
 * attr.clockid with use_clockid, else perf's default clock. */
static int set_clock_from_attrs(struct perf_reader *r)
{
	char num[16];
	int rc;
	if (r->clockid < 0)
		return perf_meta_set(r, "clock", "perf");
	snprintf(num, sizeof(num), "%d", r->clockid);
	if ((rc = perf_meta_set(r, "clockid", num)))
		return rc;
	const char *name = perf_clock_name(r->clockid);
	return perf_meta_set(r, "clock", name ? name : num);
}

/*
 * importer open: checks the magic, maps a seekable input (or reads the
 * pipe header from a stream), reads header, attributes and features,
 * and returns the symbolizer.  *state is freed by perf_close().
 */
static int perf_open(struct wc_input *in, const struct wc_import_options *opt,
		     void **state, struct wc_symbolizer *sym, struct wc_error *err)
{
	static const struct wc_import_options no_opt;
	struct perf_reader *r = calloc(1, sizeof(*r));
	int rc;

	*state = NULL;
	if (sym) {
		sym->ctx = NULL;
		sym->resolve = NULL;
	}
	if (!r)
		return wc_err(err, WC_ENOMEM, in->path, "out of memory");
	r->in = in;
	r->path = in->path;
	r->opt = opt ? opt : &no_opt;
	r->err = err;
	r->clockid = -1;
	r->id_pos = r->is_pos = -1;
	r->order = perf_order_new();
	r->frames = malloc(sizeof(*r->frames) * PERF_MAX_FRAMES);
	r->rbuf = malloc(65536 + 16);
	if (!r->order || !r->frames || !r->rbuf) {
		rc = wc_err(err, WC_ENOMEM, r->path, "out of memory");
		goto fail;
	}
	r->syms = perf_symbols_new(r);
	if (!r->syms) {
		rc = wc_err(err, WC_ENOMEM, r->path, "out of memory");
		goto fail;
	}

	if (in->head_len < 16) {
		rc = wc_err(err, WC_ETRUNCATED, r->path,
			    "perf.data: file header needs at least 16 bytes, the "
			    "input has %zu", in->head_len);
		goto fail;
	}
	uint64_t magic = perf_u64(in->head);
	if (magic == PERF_MAGIC2_SWAPPED) {
		rc = wc_err(err, WC_EUNSUPPORTED, r->path,
			    "perf.data: magic \"PERFILE2\" is byte-swapped: the "
			    "capture was recorded on a big-endian machine, which "
			    "waitchain does not support (convert it with perf "
			    "script there)");
		goto fail;
	}
	if (magic != PERF_MAGIC2) {
		rc = wc_err(err, WC_EUNSUPPORTED, r->path,
			    "perf.data: magic \"%.8s\" (version 1 perf.data) is not "
			    "supported; only \"PERFILE2\"", (const char *)in->head);
		goto fail;
	}
	uint64_t hsize = perf_u64(in->head + 8);
	if (hsize == PERF_PIPE_HEADER_SIZE) {
		r->pipe_mode = 1;
	} else if (hsize != PERF_FILE_HEADER_SIZE) {
		rc = wc_err(err, WC_EFORMAT, r->path,
			    "perf.data: header size %llu at offset 0x8 is neither "
			    "%d (file) nor %d (pipe)", (unsigned long long)hsize,
			    PERF_FILE_HEADER_SIZE, PERF_PIPE_HEADER_SIZE);
		goto fail;
	}

	if (in->seekable) {
		struct stat st;
		if (fstat(in->fd, &st) < 0) {
			rc = wc_err(err, WC_EIO, r->path, "fstat: %s", strerror(errno));
			goto fail;
		}
		r->map_len = (size_t)st.st_size;
		if (r->map_len) {
			void *m = mmap(NULL, r->map_len, PROT_READ, MAP_PRIVATE, in->fd, 0);
			if (m == MAP_FAILED) {
				rc = wc_err(err, WC_EIO, r->path, "mmap: %s", strerror(errno));
				r->map_len = 0;
				goto fail;
			}
			madvise(m, r->map_len, MADV_SEQUENTIAL);
			r->map = m;
		}
		if (!r->pipe_mode && (rc = perf_header_read_file(r)))
			goto fail;
		if (r->pipe_mode && r->map_len < PERF_PIPE_HEADER_SIZE) {
			rc = wc_err(err, WC_ETRUNCATED, r->path,
				    "perf.data: pipe header cut short");
			goto fail;
		}
	} else {
		if (!r->pipe_mode) {
			rc = wc_err(err, WC_EUNSUPPORTED, r->path,
				    "perf.data: a file-mode capture needs a seekable "
				    "input (its header points to the end of the "
				    "file); record with `perf record -o -` to pipe");
			goto fail;
		}
		unsigned char hdr[PERF_PIPE_HEADER_SIZE];
		if ((rc = stream_read(r, hdr, sizeof(hdr), 0, "the pipe header")))
			goto fail;
	}

	if ((rc = perf_meta_set(r, "format", "perf.data")) ||
	    (rc = perf_meta_set(r, "format_version", "1")) ||
	    (rc = perf_meta_set(r, "pipe_mode", r->pipe_mode ? "1" : "0")))
		goto fail;
	if (!r->pipe_mode && !r->clock_set && (rc = set_clock_from_attrs(r)))
		goto fail;
	/* a bad --kallsyms file is an error before any event is read */
	if (!r->pipe_mode && r->has_callchain && r->opt->kallsyms &&
	    (rc = perf_symbols_load_kernel(r->syms)))
		goto fail;
	if (sym) {
		sym->ctx = r->syms;
		sym->resolve = perf_symbols_resolve;
	}
	*state = r;
	return 0;
fail:
	perf_close(r);
	return rc;
}

/* Final counters into the sink's metadata. */
static int emit_counts(struct perf_reader *r)
{
	char key[64];
	int rc = 0;
	if (!r->clock_set && (rc = set_clock_from_attrs(r)))
		return rc;
	for (int t = 0; t < PERF_RECORD_TYPE_SLOTS && !rc; t++) {
		if (!r->count[t])
			continue;
		const char *n = perf_record_name((uint32_t)t);
		snprintf(key, sizeof(key), "perf_record_count.%s", n ? n : "UNKNOWN");
		rc = meta_u64(r, key, r->count[t]);
	}
	if (!rc)
		rc = meta_u64(r, "perf_records", r->nrecords);
	if (!rc)
		rc = meta_u64(r, "perf_records_skipped", r->skipped);
	if (!rc && r->bad_payloads)
		rc = meta_u64(r, "perf_samples_undecoded", r->bad_payloads);
	if (!rc && r->late_events)
		rc = meta_u64(r, "perf_late_events", r->late_events);
	if (!rc && r->bad_formats)
		rc = meta_u64(r, "perf_bad_event_formats", r->bad_formats);
	if (!rc && r->late_events)
		rc = perf_warn(r, "perf.data: records older than "
				   "already delivered ones (FINISHED_ROUND broken): "
				   "delivered late at the last time");
	if (!rc)
		rc = perf_meta_set(r, "has_stacks", r->has_callchain ? "1" : "0");
	return rc;
}

/*
 * importer run: metadata and the buffer first, then every record in file
 * order through the ordering queue to the sink; on corruption with
 * --salvage, flushes what was complete before returning the error.
 */
static int perf_run(void *state, const struct wc_sink *sink,
		    struct wc_error *err)
{
	struct perf_reader *r = state;
	int rc = 0;

	r->err = err;
	r->sink = sink;
	for (size_t i = 0; i < r->nmeta && !rc; i++)
		if (sink->meta)
			rc = sink->meta(sink->ctx, r->meta[i].key, r->meta[i].value, err);
	if (rc)
		return rc;
	if (sink->buffer) {
		const char *clock = meta_get(r, "clock");
		const char *ncpus = meta_get(r, "nrcpus");
		struct wc_buffer_info b = {
			.id = 0, .name = "", .clock = clock,
			.ncpus = ncpus ? atoi(ncpus) : 0, .nevents = 0, .imported = 1,
		};
		if ((rc = sink->buffer(sink->ctx, &b, err)))
			return rc;
	}
	rc = r->map ? run_mapped(r) : run_stream(r);
	if ((rc == -WC_EFORMAT || rc == -WC_ETRUNCATED || rc == -WC_ELIMIT ||
	     rc == -WC_EUNSUPPORTED) && r->opt->salvage) {
		/* deliver what was complete before the damage, then fail */
		struct wc_error keep = *err;
		wc_error_clear(err);
		/* What the queue still holds is not known complete: records
		 * of the lost part of the round may be older (perf only
		 * promises they are not older than the newest of the round
		 * before, and without any FINISHED_ROUND nothing at all).
		 * Delivering it would make the salvaged import differ from a
		 * prefix of the intact one, so only what the rounds already
		 * flushed is kept. */
		int frc = 0;
		if (!frc) {
			perf_meta_set(r, "truncated", "1");
			perf_meta_set(r, "truncated_reason", keep.msg);
			if (!r->have_tracing_data && r->count[PERF_RECORD_SAMPLE])
				perf_warn(r, "perf.data: no tracing data (event formats, "
					  "lost with the end of the file): tracepoint "
					  "samples counted as perf_sample, not decoded");
			emit_counts(r);
		}
		wc_error_clear(err);
		*err = keep;
		return rc;
	}
	if (rc)
		return rc;
	if ((rc = perf_order_flush_all(r->order, r)))
		return rc;
	if (!r->have_tracing_data && r->count[PERF_RECORD_SAMPLE] &&
	    (rc = perf_warn(r, "perf.data: no tracing data (event formats): "
			    "tracepoint samples counted as perf_sample, not decoded")))
		return rc;
	if ((rc = perf_symbols_load_kernel(r->syms)))
		return rc;
	if (r->opt->progress)
		r->opt->progress(r->opt->progress_ctx,
				 r->map ? r->map_len : r->stream_off, r->events_delivered);
	return emit_counts(r);
}

const struct wc_importer wc_importer_perf_data = {
	.name = "perf.data",
	.probe = perf_probe,
	.open = perf_open,
	.run = perf_run,
	.close = perf_close,
};
