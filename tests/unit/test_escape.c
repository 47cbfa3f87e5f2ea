/*
 * test_escape.c - the output escapers (src/escape.c) on hostile strings:
 * UTF-8, invalid bytes, HTML/JS injection, CSV formulas, terminal escapes.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "waitchain/escape.h"

typedef int (*esc_fn)(struct wc_buf *, const void *, size_t);

static char *esc(esc_fn fn, const char *s, size_t n)
{
	struct wc_buf b = WC_BUF_INIT;

	cr_assert_eq(fn(&b, s, n), 0);
	return wc_buf_detach(&b);
}

#define CHECK(fn, in, expected)                                               \
	do {                                                                  \
		char *got_ = esc(fn, in, strlen(in));                         \
		cr_expect_str_eq(got_, expected, "%s(\"%s\")", #fn, in);      \
		free(got_);                                                   \
	} while (0)

Test(json, plain_and_quotes)
{
	CHECK(wc_esc_json_str, "", "\"\"");
	CHECK(wc_esc_json_str, "CPU 0/KVM", "\"CPU 0/KVM\"");
	CHECK(wc_esc_json_str, "a\"b'c&d", "\"a\\\"b'c\\u0026d\"");
	CHECK(wc_esc_json_str, "back\\slash", "\"back\\\\slash\"");
}

Test(json, utf8_passes_and_invalid_bytes_are_escaped)
{
	CHECK(wc_esc_json_str, "\xc3\xa9", "\"\xc3\xa9\"");	/* é */
	/* a lone 0xc3 (signed char trap) becomes \u00c3, never \uffffffc3 */
	CHECK(wc_esc_json_str, "x\xc3", "\"x\\u00c3\"");
	CHECK(wc_esc_json_str, "\xff\xfe", "\"\\u00ff\\u00fe\"");
	/* overlong '/' and a UTF-16 surrogate are not valid UTF-8 */
	CHECK(wc_esc_json_str, "\xc0\xaf", "\"\\u00c0\\u00af\"");
	CHECK(wc_esc_json_str, "\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");
	CHECK(wc_esc_json_str, "\xe2\x80\xa8", "\"\\u2028\"");
}

Test(json, controls_and_script_breakout)
{
	CHECK(wc_esc_json_str, "\x1b[31m", "\"\\u001b[31m\"");
	CHECK(wc_esc_json_str, "a\nb\tc\x7f", "\"a\\u000ab\\u0009c\\u007f\"");
	CHECK(wc_esc_json_str, "</script><b>",
	      "\"\\u003c/script\\u003e\\u003cb\\u003e\"");
	CHECK(wc_esc_json_str, "<svg/onload=1>", "\"\\u003csvg/onload=1\\u003e\"");
}

Test(json, embedded_nul)
{
	char *got = esc(wc_esc_json_str, "a\0b", 3);

	cr_expect_str_eq(got, "\"a\\u0000b\"");
	free(got);
}

Test(html, text)
{
	CHECK(wc_esc_html_text, "<svg/onload=1>", "&lt;svg/onload=1&gt;");
	CHECK(wc_esc_html_text, "</script><b>", "&lt;/script&gt;&lt;b&gt;");
	CHECK(wc_esc_html_text, "a\"b'c&d", "a&quot;b&#39;c&amp;d");
	CHECK(wc_esc_html_text, "\xc3\xa9", "\xc3\xa9");
	CHECK(wc_esc_html_text, "\x1b[31mred", "\\x1b[31mred");
	CHECK(wc_esc_html_text, "bad\xff", "bad\\xff");
	CHECK(wc_esc_html_text, "c1\xc2\x9b", "c1\\xc2\\x9b");
}

Test(html, attr)
{
	CHECK(wc_esc_html_attr, "<svg/onload=1>", "&lt;svg/onload&#61;1&gt;");
	CHECK(wc_esc_html_attr, "a\"b'c&d", "a&quot;b&#39;c&amp;d");
	CHECK(wc_esc_html_attr, "x` y\tz\n", "x&#96; y&#9;z&#10;");
	CHECK(wc_esc_html_attr, "\xc3\xa9", "\xc3\xa9");
	CHECK(wc_esc_html_attr, "\x1b[31m", "\\x1b[31m");
}

Test(csv, quoting_rfc4180)
{
	CHECK(wc_esc_csv_field, "plain", "plain");
	CHECK(wc_esc_csv_field, "", "");
	CHECK(wc_esc_csv_field, "a,b", "\"a,b\"");
	CHECK(wc_esc_csv_field, "a\"b'c&d", "\"a\"\"b'c&d\"");
	CHECK(wc_esc_csv_field, "line\nbreak", "\"line\nbreak\"");
	CHECK(wc_esc_csv_field, " padded ", "\" padded \"");
	CHECK(wc_esc_csv_field, "\xc3\xa9", "\xc3\xa9");
	CHECK(wc_esc_csv_field, "<svg/onload=1>", "<svg/onload=1>");
}

Test(csv, formula_injection)
{
	CHECK(wc_esc_csv_field, "=1+2", "'=1+2");
	CHECK(wc_esc_csv_field, "+cmd", "'+cmd");
	CHECK(wc_esc_csv_field, "-x", "'-x");
	CHECK(wc_esc_csv_field, "@SUM(A1)", "'@SUM(A1)");
	CHECK(wc_esc_csv_field, "=HYPERLINK(\"x\",\"y\")",
	      "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
	CHECK(wc_esc_csv_field, "a=b", "a=b");
}

Test(tty, escapes)
{
	CHECK(wc_esc_tty_str, "CPU 0/KVM", "CPU 0/KVM");
	CHECK(wc_esc_tty_str, "\x1b[31mred", "\\x1b[31mred");
	CHECK(wc_esc_tty_str, "a\\b", "a\\\\b");
	CHECK(wc_esc_tty_str, "\xc3\xa9", "\xc3\xa9");
	CHECK(wc_esc_tty_str, "bad\xc3", "bad\\xc3");
	CHECK(wc_esc_tty_str, "del\x7f", "del\\x7f");
	CHECK(wc_esc_tty_str, "nl\r\n", "nl\\x0d\\x0a");
	CHECK(wc_esc_tty_str, "csi\xc2\x9b", "csi\\u{9b}");
	CHECK(wc_esc_tty_str, "rtl\xe2\x80\xae", "rtl\\u{202e}");
	CHECK(wc_esc_tty_str, "a\"b'c&d", "a\"b'c&d");
	CHECK(wc_esc_tty_str, "</script><b>", "</script><b>");
}

Test(utf8, sequences)
{
	unsigned cp;

	cr_expect_eq(wc_utf8_seq((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
	cr_expect_eq(cp, 0xe9);
	cr_expect_eq(wc_utf8_seq((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp), 4);
	cr_expect_eq(cp, 0x1f600);
	cr_expect_eq(wc_utf8_seq((const unsigned char *)"\xf0\x9f\x98", 3, &cp), 0);
	cr_expect_eq(wc_utf8_seq((const unsigned char *)"\xf4\x90\x80\x80", 4, &cp), 0);
	cr_expect_eq(wc_utf8_seq((const unsigned char *)"\x80", 1, &cp), 0);
	cr_expect_eq(wc_tty_width("\xc3\xa9t\xc3\xa9", 5), 3);
	cr_expect_eq(wc_tty_width("\x1b", 1), 4);
}

Test(fput, null_and_file)
{
	char buf[256] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	wc_fput_json_str(f, NULL);
	fputc(' ', f);
	wc_fput_json_str(f, "\xc3\xa9<");
	fputc(' ', f);
	wc_fput_tty_str(f, "\x1b");
	fputc(' ', f);
	wc_fput_csv_field(f, "=x");
	fputc(' ', f);
	wc_fput_html_text(f, "<");
	fclose(f);
	cr_expect_str_eq(buf, "null \"\xc3\xa9\\u003c\" \\x1b '=x &lt;");
}
