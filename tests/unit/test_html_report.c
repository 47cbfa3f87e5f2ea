/*
 * test_html_report.c - the HTML report without a browser.
 *
 * Checks the encoders the page depends on against published vectors
 * (SHA-256: FIPS 180-2 examples and hashlib values for the padding
 * boundaries; base64: RFC 4648 section 10; LEB128), then writes the report
 * of the hand-made case of report_fixture.h, with hostile thread names
 * patched in, and checks the page as bytes: the CSP names the SHA-256 of
 * the inline script and style, nothing can be fetched, the data block
 * cannot be broken out of, and the binary streams decode (with a decoder
 * written here from the format comment of html-data.c) to the fixture's
 * hand-derived intervals, blocks and chain rows.  The browser test
 * (tests/cli/test_browser.c) checks what the page does with them.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waitchain/embedded.h"
#include "waitchain/report.h"
#include "../../report/html-local.h"
#include "report_fixture.h"

/* ---- encoders ------------------------------------------------------------ */

static void hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void expect_sha(const void *data, size_t len, const char *want)
{
	unsigned char d[32];
	char h[65];

	wc_html_sha256(data, len, d);
	hex(d, 32, h);
	cr_expect_str_eq(h, want, "sha256 of %zu bytes", len);
}

Test(html_encoders, sha256_vectors)
{
	static const struct { size_t n; const char *h; } as[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
		{ 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
		{ 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
		{ 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
	};
	char *a = malloc(1000000);

	cr_assert(a);
	memset(a, 'a', 1000000);
	expect_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	expect_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	expect_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		   "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	expect_sha("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
		   "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112,
		   "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
	for (size_t i = 0; i < sizeof(as) / sizeof(as[0]); i++)
		expect_sha(a, as[i].n, as[i].h);
	free(a);
}

Test(html_encoders, base64_rfc4648)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };

	for (size_t i = 0; i < 7; i++) {
		struct wc_buf b = WC_BUF_INIT;

		cr_assert_eq(wc_html_base64(&b, in[i], strlen(in[i])), 0);
		cr_expect_str_eq(wc_buf_str(&b), out[i]);
		wc_buf_free(&b);
	}
}

Test(html_encoders, varints)
{
	struct wc_buf b = WC_BUF_INIT;
	static const unsigned char want[] = {
		0x00, 0x7f, 0x80, 0x01, 0xac, 0x02,	/* 0, 127, 128, 300 */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, /* 2^64-1 */
		0x01, 0x02, 0x03, 0x80, 0x01,		/* zigzag -1, 1, -2, 64 */
	};

	cr_assert_eq(wc_html_varint(&b, 0), 0);
	wc_html_varint(&b, 127);
	wc_html_varint(&b, 128);
	wc_html_varint(&b, 300);
	wc_html_varint(&b, UINT64_MAX);
	wc_html_svarint(&b, -1);
	wc_html_svarint(&b, 1);
	wc_html_svarint(&b, -2);
	wc_html_svarint(&b, 64);
	cr_assert_eq(b.len, sizeof(want));
	cr_expect_eq(memcmp(b.data, want, sizeof(want)), 0);
	wc_buf_free(&b);
}

/* ---- the page ------------------------------------------------------------- */

static const char *const hostile_sql =
	"UPDATE thread SET comm = '</script><b>' WHERE tid = 101;"
	"UPDATE vcpu SET comm = '</script><b>' WHERE tid = 101;"
	"UPDATE thread SET comm = '<svg/onload=1>' || char(8232) WHERE tid = 100;"
	"UPDATE thread SET comm = 'a\"b''c&d' WHERE tid = 103;";

/* stack_frame is columnar (its text cannot be UPDATEd): the hostile
 * symbol replaces frame 3 of stack 1 in the fixture itself */
#define FRAME3_SYMBOL "'__lll_lock_wait'"
#define HOSTILE_SYMBOL "'<!--x'"

/* The fixture SQL, with the hostile frame symbol when HOSTILE (malloc'd). */
static char *fixture_sql(int hostile)
{
	const char *at = strstr(wc_report_fixture_sql, FRAME3_SYMBOL);
	size_t n = strlen(wc_report_fixture_sql) + sizeof(HOSTILE_SYMBOL);
	char *sql = hostile ? malloc(n) : strdup(wc_report_fixture_sql);

	cr_assert_not_null(sql);
	cr_assert_not_null(at);
	if (hostile)
		snprintf(sql, n, "%.*s%s%s", (int)(at - wc_report_fixture_sql),
			 wc_report_fixture_sql, HOSTILE_SYMBOL,
			 at + strlen(FRAME3_SYMBOL));
	return sql;
}

/* The fixture database in memory, with hostile names when HOSTILE. */
static sqlite3 *fixture_db(int hostile)
{
	sqlite3 *db = NULL;
	char *e = NULL, *sql;

	cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	for (const struct wc_embedded *s = wc_schema_sql; s->name; s++)
		cr_assert_eq(sqlite3_exec(db, s->text, NULL, NULL, &e), SQLITE_OK,
			     "%s: %s", s->name, e ? e : "");
	sql = fixture_sql(hostile);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &e),
		     SQLITE_OK, "fixture: %s", e ? e : "");
	free(sql);
	if (hostile)
		cr_assert_eq(sqlite3_exec(db, hostile_sql, NULL, NULL, &e),
			     SQLITE_OK, "hostile: %s", e ? e : "");
	return db;
}

/* The HTML report of DB as a string; caller frees. */
static char *render(sqlite3 *db, const char *source_arg, int *rc_out)
{
	char *page = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&page, &len);
	struct wc_error err = WC_ERROR_INIT;
	struct wc_report_options opt;

	memset(&opt, 0, sizeof(opt));
	opt.format = WC_REPORT_HTML;
	opt.source_arg = source_arg;
	cr_assert(f);
	*rc_out = wc_report_html(db, "fixture.db", &opt, f, &err);
	fclose(f);
	if (*rc_out)
		cr_log_info("error: %s", err.msg);
	return page;
}

/* Copy of the text between BEGIN and the next END after it, or NULL. */
static char *between(const char *s, const char *begin, const char *end)
{
	const char *a = strstr(s, begin), *b;

	if (!a)
		return NULL;
	a += strlen(begin);
	b = strstr(a, end);
	return b ? strndup(a, (size_t)(b - a)) : NULL;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* 'sha256-BASE64' of TEXT, as the CSP should name it. */
static char *csp_source(const char *text)
{
	unsigned char d[32];
	struct wc_buf b = WC_BUF_INIT;

	wc_html_sha256(text, strlen(text), d);
	wc_buf_adds(&b, "'sha256-");
	wc_html_base64(&b, d, 32);
	wc_buf_addc(&b, '\'');
	return wc_buf_detach(&b);
}

Test(html_page, csp_hashes_and_no_network)
{
	sqlite3 *db = fixture_db(0);
	int rc;
	char *page = render(db, NULL, &rc);
	char *csp, *script, *style, *want_js, *want_css;

	cr_assert_eq(rc, 0);
	csp = between(page, "<meta http-equiv=\"Content-Security-Policy\" content=\"", "\"");
	cr_assert(csp, "no CSP meta tag");
	/* the page's one executable script: the last <script> element */
	script = between(strstr(page, "<script>"), "<script>", "</script>");
	style = between(page, "<style>", "</style>");
	cr_assert(script && style);
	want_js = csp_source(script);
	want_css = csp_source(style);
	cr_expect(strstr(csp, "default-src 'none'"), "%s", csp);
	cr_expect(strstr(csp, "connect-src 'none'"), "%s", csp);
	cr_expect(strstr(csp, "img-src data:"), "%s", csp);
	cr_expect(strstr(csp, "base-uri 'none'"), "%s", csp);
	cr_expect(strstr(csp, want_js), "script hash %s not in %s", want_js, csp);
	cr_expect(strstr(csp, want_css), "style hash %s not in %s", want_css, csp);
	cr_expect(!strstr(csp, "unsafe"), "%s", csp);
	/* nothing outside the file: no URLs to fetch */
	cr_expect(!strstr(page, "http://") && !strstr(page, "https://") && !strstr(page, " src="),
		  "the page references something outside itself");
	cr_expect_eq(count(page, "<script"), 2);
	free(csp);
	free(script);
	free(style);
	free(want_js);
	free(want_css);
	free(page);
	sqlite3_close(db);
}

Test(html_page, hostile_names_stay_inside_the_data_block)
{
	sqlite3 *db = fixture_db(1);
	int rc;
	char *page = render(db, "/tmp/x/<b>&\".db", &rc);
	char *data;

	cr_assert_eq(rc, 0);
	data = between(page, "<script type=\"application/json\" id=\"data\">", "</script>");
	cr_assert(data);
	/* no markup character at all inside the data block */
	cr_expect(!strchr(data, '<') && !strchr(data, '>'), "raw < or > in the data block");
	cr_expect(strstr(data, "\"\\u003c/script\\u003e\\u003cb\\u003e\""), "</script><b> not escaped");
	cr_expect(strstr(data, "\\u003csvg/onload=1\\u003e\\u2028"), "<svg/onload=1>U+2028 not escaped");
	cr_expect(strstr(data, "\"a\\\"b'c\\u0026d\""), "a\"b'c&d not escaped");
	cr_expect(strstr(data, "\\u003c!--x"), "<!-- symbol not escaped");
	/* the names appear nowhere else, raw */
	cr_expect(!strstr(page, "<svg"), "raw <svg in the page");
	cr_expect(!strstr(page, "<b>"), "raw <b> in the page");
	cr_expect_eq(count(page, "</script>"), 2, "a name closed a script element");
	/* the title is escaped as HTML text */
	cr_expect(strstr(page, "<title>waitchain report: &lt;b&gt;&amp;&quot;.db</title>"),
		  "title not escaped");
	free(data);
	free(page);
	sqlite3_close(db);
}

/* ---- decoding the streams (independent of report.js) ---------------------- */

struct bytes {
	unsigned char *b;
	size_t n, p;
};

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Decodes the base64 string value following KEY (e.g. "\"iv\":\"") at or
 * after *POS in JSON; advances *POS past it. */
static struct bytes b64_after(const char *json, const char **pos, const char *key)
{
	struct bytes r = { NULL, 0, 0 };
	const char *s = strstr(*pos, key), *e;
	uint32_t acc = 0;
	int bits = 0;

	cr_assert(s, "no %s in the data", key);
	s += strlen(key);
	e = strchr(s, '"');
	cr_assert(e);
	r.b = malloc((size_t)(e - s) + 1);
	for (; s < e && *s != '='; s++) {
		int v = b64val(*s);

		cr_assert(v >= 0, "bad base64 character %c", *s);
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			r.b[r.n++] = (unsigned char)(acc >> bits);
		}
	}
	*pos = e;
	(void)json;
	return r;
}

static uint64_t uv(struct bytes *r)
{
	uint64_t v = 0;
	int shift = 0;

	for (;;) {
		cr_assert(r->p < r->n, "varint past the end of the stream");
		unsigned char c = r->b[r->p++];

		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
		shift += 7;
	}
}

static int64_t sv(struct bytes *r)
{
	uint64_t u = uv(r);

	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

Test(html_page, streams_decode_to_the_fixture)
{
	sqlite3 *db = fixture_db(0);
	int rc;
	char *page = render(db, NULL, &rc);
	char *data;
	const char *pos;
	struct bytes r;
	/* vCPU 0 (tid 101), from the fixture's thread_state rows: state codes
	 * 1 running, 2 preempted, 3 woken, 4 global mutex, 5 other futex */
	static const int64_t v0[][2] = {
		{ 1, 10000 }, { 4, 20000 }, { 3, 2000 }, { 1, 18000 }, { 2, 5000 },
		{ 1, 5000 }, { 4, 10000 }, { 3, 1000 }, { 1, 9000 }, { 5, 10000 },
		{ 3, 500 }, { 1, 9500 },
	};
	/* global-mutex blocks of lane threads, by id: id, start, duration */
	static const int64_t blocks[][3] = {
		{ 1, 10000, 20000 }, { 2, 60000, 10000 }, { 4, 20000, 40000 },
		{ 5, 70000, 5000 }, { 6, 80000, 2000 },
	};
	/* chain rows of those blocks: block index, depth, from, to, state */
	static const int64_t chain[][5] = {
		{ 0, 1, 10000, 20000, 1 }, { 0, 1, 20000, 25000, 2 }, { 0, 1, 25000, 29000, 5 },
		{ 0, 2, 25000, 29000, 6 }, { 0, 1, 29000, 30000, 1 }, { 1, 1, 60000, 65000, 1 },
		{ 1, 1, 65000, 70000, 1 }, { 2, 1, 20000, 25000, 2 }, { 2, 1, 25000, 29000, 5 },
		{ 2, 2, 25000, 29000, 6 }, { 2, 1, 29000, 30000, 1 }, { 2, 1, 30000, 32000, 3 },
		{ 2, 1, 32000, 50000, 1 }, { 2, 1, 50000, 55000, 2 }, { 2, 1, 55000, 60000, 1 },
		{ 3, 1, 70000, 75000, 8 }, { 4, 1, 80000, 82000, 1 },
	};
	int64_t id = 0, start = 0, bstart[5], bi = 0, prev_end = 0;

	cr_assert_eq(rc, 0);
	data = between(page, "<script type=\"application/json\" id=\"data\">", "</script>");
	cr_assert(data);
	cr_expect(strstr(data, "\"t0\":\"0\",\"span\":100000"), "span");
	/* lanes: the two vCPUs, then holders 100 (35 us held) and 103 */
	pos = strstr(data, "\"lanes\":[");
	cr_assert(pos);
	cr_expect(strstr(pos, "{\"th\":0,\"kind\":\"vcpu\",\"vi\":0,\"start\":0,\"n\":12,"), "lane 0");
	cr_expect(strstr(pos, "{\"th\":1,\"kind\":\"vcpu\",\"vi\":1,\"start\":0,\"n\":11,"), "lane 1");
	cr_expect(strstr(pos, "{\"th\":2,\"kind\":\"holder\",\"vi\":-1,\"start\":0,\"n\":4,\"held\":35000,"), "lane 2");
	cr_expect(strstr(pos, "\"kind\":\"holder\",\"vi\":-1,\"start\":0,\"n\":3,\"held\":2000,"), "lane 3");
	cr_expect(strstr(data, "\"threads\":[[2,101,100,\"CPU 0/KVM\"],\n[3,102,100,\"CPU 1/KVM\"],\n[1,100,100,\"qemu-main\"],\n[4,103,100,\"worker\"]"),
		  "threads");
	r = b64_after(data, &pos, "\"iv\":\"");
	for (size_t i = 0; i < sizeof(v0) / sizeof(v0[0]); i++) {
		uint64_t v = uv(&r);

		cr_expect_eq((int64_t)(v % 16), v0[i][0], "vCPU 0 interval %zu state", i);
		cr_expect_eq((int64_t)(v / 16), v0[i][1], "vCPU 0 interval %zu duration", i);
	}
	cr_expect_eq(r.p, r.n, "vCPU 0 stream has extra bytes");
	free(r.b);

	/* blocks */
	pos = strstr(data, "\"blocks\":{\"n\":5,");
	cr_assert(pos, "blocks count");
	r = b64_after(data, &pos, "\"b\":\"");
	for (size_t i = 0; i < 5; i++) {
		id += sv(&r);
		cr_expect_eq(id, blocks[i][0], "block %zu id", i);
		uv(&r);	/* lane */
		start += sv(&r);
		bstart[i] = start;
		cr_expect_eq(start, blocks[i][1], "block %zu start", i);
		cr_expect_eq((int64_t)uv(&r), blocks[i][2], "block %zu duration", i);
		uv(&r);	/* stack */
		uv(&r);	/* waker */
	}
	cr_expect_eq(r.p, r.n);
	free(r.b);

	/* chain rows */
	pos = strstr(data, "\"chain\":{\"n\":17,");
	cr_assert(pos, "chain count");
	r = b64_after(data, &pos, "\"b\":\"");
	for (size_t i = 0; i < 17; i++) {
		int64_t d = (int64_t)uv(&r), from, dur;

		if (d || i == 0)
			prev_end = bstart[bi + d];
		bi += d;
		cr_expect_eq(bi, chain[i][0], "chain row %zu block", i);
		cr_expect_eq((int64_t)uv(&r), chain[i][1], "chain row %zu depth", i);
		uv(&r);	/* thread */
		from = prev_end + sv(&r);
		dur = (int64_t)uv(&r);
		cr_expect_eq(from, chain[i][2], "chain row %zu from", i);
		cr_expect_eq(from + dur, chain[i][3], "chain row %zu to", i);
		cr_expect_eq((int64_t)(uv(&r) >> 1), chain[i][4], "chain row %zu state", i);
		uv(&r);	/* futex */
		uv(&r);	/* preempted by */
		prev_end = from + dur;
	}
	cr_expect_eq(r.p, r.n);
	free(r.b);
	free(data);
	free(page);
	sqlite3_close(db);
}

Test(html_page, empty_and_broken_databases)
{
	sqlite3 *db = NULL;
	int rc;
	char *page;

	/* schema only: no vCPUs, still a page */
	cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	for (const struct wc_embedded *s = wc_schema_sql; s->name; s++)
		cr_assert_eq(sqlite3_exec(db, s->text, NULL, NULL, NULL), SQLITE_OK);
	page = render(db, NULL, &rc);
	cr_expect_eq(rc, 0);
	cr_expect(page && strstr(page, "\"lanes\":[]"), "empty lanes");
	free(page);
	sqlite3_close(db);

	/* not a case database: a clear error, no crash */
	cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	page = render(db, NULL, &rc);
	cr_expect_lt(rc, 0);
	free(page);
	sqlite3_close(db);
}
