/*
 * test_perf_data_synth.c - perf.data records the recorded samples do not
 * contain, built byte by byte (pipe format): two attributes told apart by
 * PERF_SAMPLE_IDENTIFIER, samples with READ groups, branch stacks, user
 * registers and stack, weight/data_src/transaction fields to skip, samples
 * out of time order across FINISHED_ROUND records, LOST and LOST_SAMPLES,
 * COMM with the exec flag, MMAP2 + user frames resolved against this test
 * binary, a mismatching build-id, AUX / SWITCH / unknown record types
 * skipped and counted, HEADER_FEATURE records.
 */
#include <sys/mman.h>

#include "test_perf_data_util.h"

struct bld {
	unsigned char *b;
	size_t n, cap;
};

static void put(struct bld *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 1024;
		b->b = realloc(b->b, b->cap);
	}
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void u64(struct bld *b, uint64_t v) { put(b, &v, 8); }
static void u32(struct bld *b, uint32_t v) { put(b, &v, 4); }

static size_t rec_begin(struct bld *b, uint32_t type, uint16_t misc)
{
	size_t at = b->n;
	u32(b, type);
	uint16_t m = misc, z = 0;
	put(b, &m, 2);
	put(b, &z, 2);
	return at;
}

static void rec_end(struct bld *b, size_t at)
{
	while ((b->n - at) % 8)
		put(b, "", 1);
	uint16_t sz = (uint16_t)(b->n - at);
	memcpy(b->b + at + 6, &sz, 2);
}

enum {
	S_IP = 1 << 0, S_TID = 1 << 1, S_TIME = 1 << 2, S_READ = 1 << 4,
	S_CALLCHAIN = 1 << 5, S_ID = 1 << 6, S_CPU = 1 << 7, S_PERIOD = 1 << 8,
	S_BRANCH = 1 << 11, S_REGS_USER = 1 << 12, S_STACK_USER = 1 << 13,
	S_WEIGHT = 1 << 14, S_DATA_SRC = 1 << 15, S_IDENTIFIER = 1 << 16,
	S_TRANSACTION = 1 << 17,
};
#define STYPE (S_IDENTIFIER | S_IP | S_TID | S_TIME | S_ID | S_CPU | S_PERIOD | \
	       S_READ | S_CALLCHAIN | S_BRANCH | S_REGS_USER | S_STACK_USER |   \
	       S_WEIGHT | S_DATA_SRC | S_TRANSACTION)
#define RFORMAT (1 | 4 | 8 | 16)	/* TOTAL_TIME_ENABLED ID GROUP LOST */

static void attr_rec(struct bld *b, uint64_t config, uint64_t id)
{
	size_t at = rec_begin(b, 64 /* HEADER_ATTR */, 0);
	unsigned char a[128];
	memset(a, 0, sizeof(a));
	uint32_t type = 1, size = 128;
	uint64_t st = STYPE, rf = RFORMAT, flags = 1ULL << 18 /* sample_id_all */;
	uint64_t regs = 0x7;	/* three user registers */
	memcpy(a + 0, &type, 4);
	memcpy(a + 4, &size, 4);
	memcpy(a + 8, &config, 8);
	memcpy(a + 24, &st, 8);
	memcpy(a + 32, &rf, 8);
	memcpy(a + 40, &flags, 8);
	memcpy(a + 80, &regs, 8);
	put(b, a, sizeof(a));
	u64(b, id);
	rec_end(b, at);
}

/* sample_id_all trailer for STYPE: TID TIME ID CPU IDENTIFIER */
static void trailer(struct bld *b, uint32_t pid, uint32_t tid, uint64_t ts,
		    uint64_t id)
{
	u32(b, pid);
	u32(b, tid);
	u64(b, ts);
	u64(b, id);
	u32(b, 1);
	u32(b, 0);
	u64(b, id);
}

static void sample(struct bld *b, uint64_t id, uint32_t pid, uint32_t tid,
		   uint64_t ts, const uint64_t *chain, uint64_t nchain)
{
	size_t at = rec_begin(b, 9, 2 /* user */);
	u64(b, id);		/* IDENTIFIER */
	u64(b, 0x401000);	/* IP */
	u32(b, pid);		/* TID */
	u32(b, tid);
	u64(b, ts);		/* TIME */
	u64(b, id);		/* ID */
	u32(b, 1);		/* CPU */
	u32(b, 0);
	u64(b, 1);		/* PERIOD */
	/* READ, group: nr, time_enabled, {value, id, lost} x nr */
	u64(b, 2);
	u64(b, 12345);
	for (int i = 0; i < 2; i++) {
		u64(b, 7);
		u64(b, id);
		u64(b, 0);
	}
	u64(b, nchain);		/* CALLCHAIN */
	for (uint64_t i = 0; i < nchain; i++)
		u64(b, chain[i]);
	u64(b, 1);		/* BRANCH_STACK: nr, 3 u64 per entry */
	u64(b, 1);
	u64(b, 2);
	u64(b, 3);
	u64(b, 2);		/* REGS_USER: abi 64, 3 registers */
	u64(b, 0);
	u64(b, 0);
	u64(b, 0);
	u64(b, 16);		/* STACK_USER: size, data, dyn_size */
	u64(b, 0);
	u64(b, 0);
	u64(b, 16);
	u64(b, 100);		/* WEIGHT */
	u64(b, 0);		/* DATA_SRC */
	u64(b, 0);		/* TRANSACTION */
	rec_end(b, at);
}

static void feature_string(struct bld *b, uint64_t feat, const char *s)
{
	size_t at = rec_begin(b, 80 /* HEADER_FEATURE */, 0);
	u64(b, feat);
	uint32_t len = (uint32_t)((strlen(s) + 1 + 63) / 64 * 64);
	u32(b, len);
	char pad[256] = { 0 };
	memcpy(pad, s, strlen(s));
	put(b, pad, len);
	rec_end(b, at);
}

/* A function of this binary the user frames point into. */
__attribute__((noinline)) int pt_synth_marker(int x)
{
	return x * 3 + 1;
}

/* This binary's executable mapping holding pt_synth_marker. */
static void self_map(uint64_t *start, uint64_t *end, uint64_t *pgoff, char *path,
		     size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	cr_assert(f);
	char line[1024];
	uint64_t fn = (uint64_t)(uintptr_t)&pt_synth_marker;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off;
		char perms[8], file[900] = "";
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %899s", &s, &e, perms, &off,
			   file) < 4)
			continue;
		if (fn >= s && fn < e) {
			*start = s;
			*end = e;
			*pgoff = off;
			snprintf(path, len, "%s", file);
			fclose(f);
			return;
		}
	}
	cr_assert_fail("pt_synth_marker not in /proc/self/maps");
}

static void mmap2(struct bld *b, uint32_t pid, uint64_t start, uint64_t len,
		  uint64_t pgoff, const char *path, const unsigned char *bid)
{
	size_t at = rec_begin(b, 10, 2 | (bid ? 1 << 14 : 0));
	u32(b, pid);
	u32(b, pid);
	u64(b, start);
	u64(b, len);
	u64(b, pgoff);
	unsigned char ids[24] = { 0 };
	if (bid) {
		ids[0] = 20;
		memcpy(ids + 4, bid, 20);
	}
	put(b, ids, 24);
	u32(b, PROT_READ | PROT_EXEC);
	u32(b, 2);
	put(b, path, strlen(path) + 1);
	while ((b->n - at) % 8)
		put(b, "", 1);
	trailer(b, pid, pid, 0, 100);
	rec_end(b, at);
}

/* HEADER_TRACING_DATA with no event formats and a kallsyms of two
 * symbols (perf itself writes kallsyms empty; other writers may not). */
static void tracing_data_rec(struct bld *b)
{
	static const char ksyms[] = "ffffffff81000000 T synth_kernel_entry\n"
				    "ffffffff81000018 t synth_kernel_helper\n";
	struct bld t = { 0 };
	put(&t, "\027\010\104tracing", 10);
	put(&t, "0.6", 4);
	unsigned char endian_long[2] = { 0, 8 };
	put(&t, endian_long, 2);
	u32(&t, 4096);
	put(&t, "header_page", 12);
	u64(&t, 0);
	put(&t, "header_event", 13);
	u64(&t, 0);
	u32(&t, 0);			/* ftrace formats */
	u32(&t, 0);			/* systems */
	u32(&t, sizeof(ksyms) - 1);	/* kallsyms */
	put(&t, ksyms, sizeof(ksyms) - 1);
	u32(&t, 0);			/* printk formats */
	u64(&t, 0);			/* saved cmdlines */
	while (t.n % 8)
		put(&t, "", 1);
	size_t at = rec_begin(b, 66, 0);
	u32(b, (uint32_t)t.n);
	u32(b, 0);
	rec_end(b, at);
	put(b, t.b, t.n);
	free(t.b);
}

static void build_ex(struct bld *b, const char *self, uint64_t start, uint64_t end,
		     uint64_t pgoff, int with_kallsyms)
{
	u64(b, 0x32454c4946524550ULL);	/* PERFILE2 */
	u64(b, 16);
	attr_rec(b, 9, 100);
	attr_rec(b, 10, 200);
	feature_string(b, 3, "synth-host");
	feature_string(b, 4, "0.0-synthetic");
	if (with_kallsyms)
		tracing_data_rec(b);

	/* COMM exec of pid 10 at t=0, then its maps */
	size_t at = rec_begin(b, 3, 1 << 13);
	u32(b, 10);
	u32(b, 10);
	put(b, "synthproc\0\0\0\0\0\0\0", 16);
	trailer(b, 10, 10, 0, 100);
	rec_end(b, at);
	mmap2(b, 10, start, end - start, pgoff, self, NULL);
	static const unsigned char wrong[20] = { 1, 2, 3 };
	mmap2(b, 11, start, end - start, pgoff, "/bin/sh", wrong);

	uint64_t fn = (uint64_t)(uintptr_t)&pt_synth_marker;
	const uint64_t chain[] = {
		(uint64_t)-128, 0xffffffff81000010ULL, 0xffffffff81000020ULL,
		(uint64_t)-512, fn + 4, 0x12345,
	};
	/* round 1: out of order across CPUs */
	sample(b, 100, 10, 10, 3000, chain, 6);
	sample(b, 200, 10, 12, 1000, NULL, 0);
	sample(b, 999, 10, 12, 1500, NULL, 0);	/* id of no attribute: skipped */
	sample(b, 100, 10, 10, 2000, NULL, 0);
	rec_end(b, rec_begin(b, 68, 0));	/* FINISHED_ROUND */
	/* round 2: older than round 1's max, newer than nothing flushed */
	sample(b, 200, 10, 12, 2500, NULL, 0);
	at = rec_begin(b, 2 /* LOST */, 0);
	u64(b, 100);
	u64(b, 7);
	trailer(b, 10, 10, 2600, 100);
	rec_end(b, at);
	rec_end(b, rec_begin(b, 68, 0));	/* flushes <= 3000 */
	at = rec_begin(b, 13 /* LOST_SAMPLES */, 0);
	u64(b, 3);
	trailer(b, 10, 10, 3500, 100);
	rec_end(b, at);
	/* skipped records: AUX, SWITCH, an unknown type */
	at = rec_begin(b, 11, 0);
	u64(b, 0);
	u64(b, 4096);
	u64(b, 0);
	trailer(b, 10, 10, 3600, 100);
	rec_end(b, at);
	at = rec_begin(b, 14, 0);
	trailer(b, 10, 10, 3700, 100);
	rec_end(b, at);
	at = rec_begin(b, 200, 0);
	u64(b, 42);
	rec_end(b, at);
	/* pid 11 maps /bin/sh with a build-id that cannot match */
	const uint64_t chain2[] = { (uint64_t)-512, start + 16 };
	sample(b, 200, 11, 11, 4000, chain2, 2);
	sample(b, 100, 10, 10, 3900, NULL, 0);
}

static void build(struct bld *b, const char *self, uint64_t start, uint64_t end,
		  uint64_t pgoff)
{
	build_ex(b, self, start, end, pgoff, 0);
}

Test(perf_synth, pipe_records)
{
	struct bld b = { 0 };
	uint64_t start, end, pgoff;
	char self[900], path[1024];
	self_map(&start, &end, &pgoff, self, sizeof(self));
	build(&b, self, start, end, pgoff);
	pt_write(pt_tmp(path, sizeof(path), "synth.perf.data"), b.b, b.n);

	struct pt_sink s = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	s.stack_tid = 10;
	s.stack_any_type = 1;
	cr_assert_eq(pt_import(path, NULL, &s, &err), 0, "%s", err.msg);
	cr_expect_eq(s.nevents, 6);
	cr_expect_eq(s.out_of_order, 0);
	cr_expect_eq(s.first_ts, 1000);
	cr_expect_eq(s.last_ts, 4000);
	cr_expect_eq(pt_count(&s, "perf_sample", 10), 3);
	cr_expect_eq(pt_count(&s, "perf_sample", 12), 2);
	cr_expect_eq(pt_count(&s, "perf_sample", 11), 1);
	cr_expect_eq(s.lost, 10);
	cr_expect_eq(s.nlost, 2);
	cr_expect_str_eq(pt_comm(&s, 10), "synthproc");
	cr_expect_eq(s.comms[0].src, WC_COMM_EXEC);
	cr_expect_str_eq(pt_meta(&s, "hostname"), "synth-host");
	cr_expect_str_eq(pt_meta(&s, "osrelease"), "0.0-synthetic");
	cr_expect_str_eq(pt_meta(&s, "pipe_mode"), "1");
	cr_expect_str_eq(pt_meta(&s, "perf_record_count.AUX"), "1");
	cr_expect_str_eq(pt_meta(&s, "perf_record_count.SWITCH"), "1");
	cr_expect_str_eq(pt_meta(&s, "perf_record_count.UNKNOWN"), "1");
	cr_expect_str_eq(pt_meta(&s, "perf_record_count.SAMPLE"), "7");
	cr_expect_str_eq(pt_meta(&s, "perf_record_count.HEADER_ATTR"), "2");
	/* AUX, SWITCH, type 200 and the sample of an unknown id */
	cr_expect_str_eq(pt_meta(&s, "perf_records_skipped"), "4");
	cr_expect_str_eq(pt_meta(&s, "kallsyms_source"), "none");

	/* the stack: markers dropped, kernel flags, user frame symbolized */
	cr_assert_eq(s.nstacks, 1);
	const struct pt_stack *st = &s.stacks[0];
	cr_assert_eq(st->n, 4);
	cr_expect(st->f[0].kernel && st->f[1].kernel);
	cr_expect_eq(st->f[0].ip, 0xffffffff81000010ULL);
	cr_expect_str_eq(st->f[0].dso, "[kernel.kallsyms]");
	cr_expect(!st->f[2].kernel && !st->f[3].kernel);
	uint64_t fn = (uint64_t)(uintptr_t)&pt_synth_marker;
	cr_expect_str_eq(st->f[2].dso, self);
	cr_expect_eq(st->f[2].dso_offset, fn + 4 - start + pgoff);
	cr_expect_str_eq(st->f[2].symbol, "pt_synth_marker");
	cr_expect_not(st->f[3].has_dso, "0x12345 is in no mapping");
	pt_sink_free(&s);

	/* pid 11: /bin/sh with a wrong build-id -> DSO + offset, no name */
	memset(&s, 0, sizeof(s));
	s.stack_tid = 11;
	s.stack_any_type = 1;
	cr_assert_eq(pt_import(path, NULL, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s.nstacks, 1);
	cr_expect_str_eq(s.stacks[0].f[0].dso, "/bin/sh");
	cr_expect_eq(s.stacks[0].f[0].dso_offset, 16 + pgoff);
	cr_expect_not(s.stacks[0].f[0].has_symbol);
	pt_sink_free(&s);
	(void)pt_synth_marker(1);
	free(b.b);
}

/* The same records truncated at every byte: an error or a clean end,
 * never a crash; salvage never delivers out of order. */
Test(perf_synth, every_truncation)
{
	struct bld b = { 0 };
	uint64_t start, end, pgoff;
	char self[900], path[1024];
	self_map(&start, &end, &pgoff, self, sizeof(self));
	build(&b, self, start, end, pgoff);
	for (size_t cut = 8; cut < b.n; cut += 3) {
		pt_write(pt_tmp(path, sizeof(path), "synth-cut.perf.data"), b.b, cut);
		struct pt_sink s = { 0 };
		struct wc_error err = WC_ERROR_INIT;
		struct wc_import_options opt;
		memset(&opt, 0, sizeof(opt));
		opt.salvage = 1;
		int rc = pt_import(path, &opt, &s, &err);
		cr_expect(rc == 0 || rc == -WC_ETRUNCATED || rc == -WC_EFORMAT,
			  "cut %zu: rc %d %s", cut, rc, err.msg);
		cr_expect_eq(s.out_of_order, 0);
		pt_sink_free(&s);
	}
	free(b.b);
}

/* --symfs DIR: a binary recorded at a path that does not exist here is
 * found under DIR and its symbols resolve user frames. */
Test(perf_synth, symfs)
{
	uint64_t start, end, pgoff;
	char self[900], path[1024], symfs[1024], copy[4096];
	self_map(&start, &end, &pgoff, self, sizeof(self));
	const char *recorded = "/opt/recorded-elsewhere/bin/app";

	struct bld b = { 0 };
	build(&b, recorded, start, end, pgoff);
	pt_write(pt_tmp(path, sizeof(path), "symfs.perf.data"), b.b, b.n);
	pt_tmp(symfs, sizeof(symfs), "symfs");
	int n = snprintf(copy, sizeof(copy), "mkdir -p '%s/opt/recorded-elsewhere/bin' && "
			 "cp '%s' '%s%s'", symfs, self, symfs, recorded);
	cr_assert(n > 0 && (size_t)n < sizeof(copy));
	cr_assert_eq(system(copy), 0);

	for (int with = 0; with < 2; with++) {
		struct pt_sink s = { 0 };
		struct wc_error err = WC_ERROR_INIT;
		struct wc_import_options opt;
		memset(&opt, 0, sizeof(opt));
		opt.symfs = with ? symfs : NULL;
		s.stack_tid = 10;
		s.stack_any_type = 1;
		cr_assert_eq(pt_import(path, &opt, &s, &err), 0, "%s", err.msg);
		cr_assert_eq(s.nstacks, 1);
		const struct pt_frame *f = &s.stacks[0].f[2];
		cr_expect_str_eq(f->dso, recorded);
		if (with)
			cr_expect_str_eq(f->symbol, "pt_synth_marker");
		else
			cr_expect_not(f->has_symbol);
		pt_sink_free(&s);
	}
	free(b.b);
}

/* kallsyms carried in the capture's tracing data name kernel frames. */
Test(perf_synth, capture_kallsyms)
{
	uint64_t start, end, pgoff;
	char self[900], path[1024];
	self_map(&start, &end, &pgoff, self, sizeof(self));
	struct bld b = { 0 };
	build_ex(&b, self, start, end, pgoff, 1);
	pt_write(pt_tmp(path, sizeof(path), "ksyms.perf.data"), b.b, b.n);
	struct pt_sink s = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	s.stack_tid = 10;
	s.stack_any_type = 1;
	cr_assert_eq(pt_import(path, NULL, &s, &err), 0, "%s", err.msg);
	cr_expect_str_eq(pt_meta(&s, "kallsyms_source"), "capture");
	cr_assert_eq(s.nstacks, 1);
	/* 0xffffffff81000010: entry+0x10; 0xffffffff81000020: helper+0x8 */
	cr_expect_str_eq(s.stacks[0].f[0].symbol, "synth_kernel_entry");
	cr_expect_str_eq(s.stacks[0].f[1].symbol, "synth_kernel_helper");
	cr_expect_eq(s.nevents, 6);
	pt_sink_free(&s);
	free(b.b);
}
