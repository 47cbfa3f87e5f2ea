/*
 * test_perf_data_corrupt.c - hostile perf.data: truncated copies of real
 * captures (in the file header, the attributes, a record, the feature
 * sections, a COMPRESSED record), patched sizes and counts (record size 4,
 * callchain nr 2^32, raw size, nrcpus 1e9, attrs beyond EOF, bad zstd
 * data), foreign magics.  Each gives the expected error code with a
 * message naming the offset, never a crash; with --salvage the complete
 * events read before the damage are delivered first, in time order.
 */
#include "test_perf_data_util.h"

/* A loaded capture and the landmarks the tests patch. */
struct cap {
	unsigned char *buf;
	size_t len;
	uint64_t attrs_off, data_off, data_size, feat_off;
};

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }

static void cap_load(struct cap *c, const char *rel)
{
	char path[1024];
	c->buf = pt_slurp(pt_sample(path, sizeof(path), rel), &c->len);
	c->attrs_off = get64(c->buf + 24);
	c->data_off = get64(c->buf + 40);
	c->data_size = get64(c->buf + 48);
	c->feat_off = c->data_off + c->data_size;
}

/* Offset of the N-th record of TYPE in the data section (0 = any), or 0. */
static uint64_t find_record(const struct cap *c, uint32_t type, int n)
{
	uint64_t pos = c->data_off, end = c->data_off + c->data_size;
	while (pos + 8 <= end) {
		uint32_t t;
		uint16_t sz;
		memcpy(&t, c->buf + pos, 4);
		memcpy(&sz, c->buf + pos + 6, 2);
		if ((!type || t == type) && n-- == 0)
			return pos;
		pos += sz;
	}
	return 0;
}

/* Offset of feature FEAT's section descriptor, or 0. */
static uint64_t find_feature(const struct cap *c, int feat)
{
	uint64_t k = 0;
	for (int b = 0; b < 256; b++) {
		if (!(get64(c->buf + 72 + 8 * (b / 64)) >> (b % 64) & 1))
			continue;
		if (b == feat)
			return c->feat_off + 16 * k;
		k++;
	}
	return 0;
}

/* Imports LEN bytes of BUF (written to WC_TMP/NAME). */
static int import_bytes(const char *name, const void *buf, size_t len, int salvage,
			struct pt_sink *s, struct wc_error *err)
{
	char path[1024];
	struct wc_import_options opt;
	memset(&opt, 0, sizeof(opt));
	opt.salvage = salvage;
	pt_write(pt_tmp(path, sizeof(path), name), buf, len);
	return pt_import(path, &opt, s, err);
}

static void expect_error(const char *name, const void *buf, size_t len, int code,
			 const char *needle)
{
	struct pt_sink s = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	int rc = import_bytes(name, buf, len, 0, &s, &err);
	cr_expect_eq(rc, -code, "%s: rc %d (%s), want -%d", name, rc, err.msg, code);
	cr_expect(strstr(err.msg, needle), "%s: message '%s' lacks '%s'", name,
		  err.msg, needle);
	cr_expect_eq(s.out_of_order, 0, "%s", name);
	pt_sink_free(&s);
}

Test(perf_corrupt, truncated_in_header_attrs_features)
{
	struct cap c;
	cap_load(&c, "bql-stacks/capture.perf.data");
	expect_error("trunc-header", c.buf, 50, WC_ETRUNCATED, "file header");
	expect_error("trunc-attrs", c.buf, c.attrs_off + 10, WC_ETRUNCATED, "attrs");
	expect_error("trunc-data", c.buf, c.data_off + c.data_size / 2, WC_ETRUNCATED,
		     "data section");
	expect_error("trunc-featidx", c.buf, c.feat_off + 20, WC_ETRUNCATED,
		     "feature index");
	/* inside the last feature section */
	expect_error("trunc-feature", c.buf, c.len - 10, WC_ETRUNCATED, "feature");
	free(c.buf);
}

/*
 * A truncated capture read with --salvage: the events before the cut
 * arrive (in time order), then the error names the broken record.
 */
static void salvage_case(const char *rel, uint64_t cut, const char *needle)
{
	struct cap c;
	cap_load(&c, rel);
	struct pt_sink s = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	if (!cut)
		cut = c.data_off + c.data_size / 2;
	int rc = import_bytes("salvage", c.buf, cut, 1, &s, &err);
	cr_expect_eq(rc, -WC_ETRUNCATED, "rc %d: %s", rc, err.msg);
	cr_expect(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
	cr_expect_gt(s.nevents, 1000, "only %llu events salvaged",
		     (unsigned long long)s.nevents);
	cr_expect_eq(s.out_of_order, 0);
	cr_expect_str_eq(pt_meta(&s, "truncated"), "1");
	pt_sink_free(&s);
	free(c.buf);
}

Test(perf_corrupt, salvage_middle_of_record)
{
	salvage_case("bql-stacks/capture.perf.data", 0, "runs past the end of the data");
}

Test(perf_corrupt, salvage_inside_compressed_record)
{
	struct cap c;
	cap_load(&c, "bql-zstd/capture.perf.data");
	uint64_t z = find_record(&c, 81 /* COMPRESSED */, 30);
	cr_assert(z);
	free(c.buf);
	salvage_case("bql-zstd/capture.perf.data", z + 100, "COMPRESSED");
}

/*
 * Cut inside a record with a consistent header (data size = what is left,
 * no features): open succeeds and run() fails at that record.
 */
Test(perf_corrupt, cut_record_consistent_header)
{
	struct cap c;
	cap_load(&c, "bql-v6/capture.perf.data");
	uint64_t rec = find_record(&c, 9 /* SAMPLE */, 500);
	cr_assert(rec);
	uint64_t cut = rec + 20;
	put64(c.buf + 48, cut - c.data_off);
	memset(c.buf + 72, 0, 32);
	char want[128];
	snprintf(want, sizeof(want), "offset 0x%llx (type 9 SAMPLE)", (unsigned long long)rec);
	struct pt_sink s = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	int rc = import_bytes("cut-record", c.buf, cut, 0, &s, &err);
	cr_expect_eq(rc, -WC_ETRUNCATED, "%s", err.msg);
	cr_expect(strstr(err.msg, want), "'%s' lacks '%s'", err.msg, want);
	free(c.buf);
	pt_sink_free(&s);
}

Test(perf_corrupt, record_size_too_small)
{
	struct cap c;
	cap_load(&c, "bql-v6/capture.perf.data");
	uint64_t rec = find_record(&c, 9, 100);
	cr_assert(rec);
	put16(c.buf + rec + 6, 4);
	char want[128];
	snprintf(want, sizeof(want), "perf.data: record size 4 at offset 0x%llx (type 9 SAMPLE)",
		 (unsigned long long)rec);
	expect_error("size4", c.buf, c.len, WC_EFORMAT, want);
	put16(c.buf + rec + 6, 0);
	snprintf(want, sizeof(want), "record size 0 at offset 0x%llx", (unsigned long long)rec);
	expect_error("size0", c.buf, c.len, WC_EFORMAT, want);
	free(c.buf);
}

Test(perf_corrupt, callchain_and_raw_counts)
{
	struct cap c;
	cap_load(&c, "bql-stacks/capture.perf.data");
	uint64_t rec = find_record(&c, 9, 200);
	cr_assert(rec);
	/* IDENTIFIER IP TID TIME CPU PERIOD, then the callchain nr */
	uint64_t nr_at = rec + 8 + 6 * 8;
	uint64_t nr = get64(c.buf + nr_at);
	cr_assert(nr >= 1 && nr < 200, "nr %llu", (unsigned long long)nr);
	put64(c.buf + nr_at, 1ULL << 32);
	expect_error("callchain-2^32", c.buf, c.len, WC_EFORMAT, "callchain of 4294967296 entries");
	put64(c.buf + nr_at, nr);
	/* raw size right after the callchain */
	uint64_t raw_at = nr_at + 8 + nr * 8;
	put32(c.buf + raw_at, 0xfffffff0U);
	expect_error("raw-size", c.buf, c.len, WC_EFORMAT, "raw data of 4294967280 bytes");
	free(c.buf);
}

Test(perf_corrupt, absurd_counts)
{
	struct cap c;
	cap_load(&c, "bql-stacks/capture.perf.data");
	uint64_t nrc = find_feature(&c, 7 /* NRCPUS */);
	cr_assert(nrc);
	uint64_t at = get64(c.buf + nrc);
	uint32_t keep;
	memcpy(&keep, c.buf + at, 4);
	put32(c.buf + at, 1000000000U);
	expect_error("nrcpus", c.buf, c.len, WC_ELIMIT, "nrcpus 1000000000");
	put32(c.buf + at, keep);

	/* feature section pointing beyond the end of the file */
	uint64_t host = find_feature(&c, 3 /* HOSTNAME */);
	cr_assert(host);
	uint64_t keep64 = get64(c.buf + host);
	put64(c.buf + host, c.len + 4096);
	expect_error("feat-beyond", c.buf, c.len, WC_ETRUNCATED, "feature 3");
	put64(c.buf + host, keep64);

	/* attrs section of 2^40 bytes */
	keep64 = get64(c.buf + 32);
	put64(c.buf + 32, 1ULL << 40);
	expect_error("attrs-huge", c.buf, c.len, WC_ETRUNCATED, "attrs section");
	put64(c.buf + 32, keep64);

	/* attr_size 0 */
	keep64 = get64(c.buf + 16);
	put64(c.buf + 16, 0);
	expect_error("attr-size", c.buf, c.len, WC_EFORMAT, "attribute size 0");
	put64(c.buf + 16, keep64);

	/* the tracing data's first event format claims 2^40 bytes */
	uint64_t td = find_feature(&c, 1 /* TRACING_DATA */);
	cr_assert(td);
	uint64_t toff = get64(c.buf + td);
	unsigned char *hp = memmem(c.buf + toff, 4096, "header_page", 12);
	cr_assert(hp);
	put64(hp + 12, 1ULL << 40);
	expect_error("tracing-size", c.buf, c.len, WC_ETRUNCATED, "header_page");
	free(c.buf);
}

Test(perf_corrupt, bad_zstd_payload)
{
	struct cap c;
	cap_load(&c, "bql-zstd/capture.perf.data");
	uint64_t z = find_record(&c, 81, 0);
	cr_assert(z);
	memset(c.buf + z + 8, 0x5a, 64);
	expect_error("zstd-garbage", c.buf, c.len, WC_EFORMAT, "zstd:");
	free(c.buf);
}

Test(perf_corrupt, foreign_magics)
{
	unsigned char buf[256];
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "2ELIFREP", 8);
	expect_error("bigendian", buf, sizeof(buf), WC_EUNSUPPORTED, "PERFILE2");
	memcpy(buf, "PERFFILE", 8);
	expect_error("v1", buf, sizeof(buf), WC_EUNSUPPORTED, "PERFFILE");
	memcpy(buf, "PERFILE2", 8);
	put64(buf + 8, 77);
	expect_error("hdrsize", buf, sizeof(buf), WC_EFORMAT, "header size 77");
}

/*
 * A malformed event format (garbage in an array size) is not handed to
 * libtraceevent: that event stays undecoded and counted, the others are
 * imported.
 */
Test(perf_corrupt, malformed_event_format)
{
	struct cap c;
	cap_load(&c, "bql-v6/capture.perf.data");
	uint64_t td = find_feature(&c, 1 /* TRACING_DATA */);
	cr_assert(td);
	uint64_t toff = get64(c.buf + td), tlen = get64(c.buf + td + 8);
	unsigned char *f = memmem(c.buf + toff, tlen, "prev_comm[16]", 13);
	cr_assert(f);
	f[10] = 0xfe;	/* prev_comm[\xfe6] */
	struct pt_sink s = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	cr_assert_eq(import_bytes("bad-format", c.buf, c.len, 0, &s, &err), 0, "%s", err.msg);
	cr_expect_str_eq(pt_meta(&s, "perf_bad_event_formats"), "1");
	char path[1024], want[64];
	cr_assert(pt_expected_meta(pt_sample(path, sizeof(path), "bql-v6/expected_meta.txt"),
				   "perf_samples_sched_switch", want, sizeof(want)));
	cr_expect_str_eq(pt_meta(&s, "perf_samples_undecoded"), want);
	cr_expect_eq(pt_total(&s, "sched_switch"), 0);
	cr_expect_gt(pt_total(&s, "sys_enter_futex"), 0);
	pt_sink_free(&s);
	free(c.buf);
}
