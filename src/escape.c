/*
 * escape.c - the escapers of escape.h.
 *
 * Each escaper walks the input once, copying runs of harmless bytes in one
 * append and spelling out the rest.  Inputs are arbitrary bytes (NUL
 * included when a length is given); outputs are always valid for their
 * context.
 */
#include <string.h>

#include "waitchain/escape.h"

static const char hexdig[] = "0123456789abcdef";

size_t wc_utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c, min;
	size_t len;

	if (n == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static int add_hex_byte(struct wc_buf *out, const char *prefix, unsigned c,
			const char *suffix)
{
	char tmp[16];
	size_t n = 0;

	while (*prefix)
		tmp[n++] = *prefix++;
	tmp[n++] = hexdig[(c >> 4) & 15];
	tmp[n++] = hexdig[c & 15];
	while (*suffix)
		tmp[n++] = *suffix++;
	return wc_buf_add(out, tmp, n);
}

/* Appends the pending run of an escaper loop, the *RUN harmless bytes of S
 * that end just before S + I, unchanged, and empties the run.  0 or the
 * wc_buf error. */
static int flush_run(struct wc_buf *out, const unsigned char *s, size_t i,
		     size_t *run)
{
	size_t n = *run;

	*run = 0;
	return n ? wc_buf_add(out, s + i - n, n) : 0;
}

int wc_esc_json_str(struct wc_buf *out, const void *src, size_t n)
{
	const unsigned char *s = src;
	size_t i = 0, run = 0;
	int rc = wc_buf_addc(out, '"');

	while (!rc && i < n) {
		unsigned c = s[i], cp;
		size_t len = 1;
		const char *rep = NULL;
		char ubuf[8];

		if (c >= 0x80) {
			len = wc_utf8_seq(s + i, n - i, &cp);
			if (len == 0) {
				len = 1;
				rep = "";	/* invalid byte: \u00XX */
			} else if (cp == 0x2028 || cp == 0x2029) {
				ubuf[0] = '\\';
				ubuf[1] = 'u';
				memcpy(ubuf + 2, cp == 0x2028 ? "2028" : "2029", 5);
				rep = ubuf;
			}
		} else if (c == '"') {
			rep = "\\\"";
		} else if (c == '\\') {
			rep = "\\\\";
		} else if (c < 0x20 || c == 0x7f || c == '<' || c == '>' ||
			   c == '&') {
			rep = "";
		}
		if (!rep) {
			i += len;
			run += len;
			continue;
		}
		rc = flush_run(out, s, i, &run);
		if (!rc)
			rc = *rep ? wc_buf_adds(out, rep)
				  : add_hex_byte(out, "\\u00", c, "");
		i += len;
	}
	if (!rc)
		rc = flush_run(out, s, i, &run);
	if (!rc)
		rc = wc_buf_addc(out, '"');
	return rc;
}

/* html_text and html_attr share one loop; ATTR adds the attribute set. */
static int esc_html(struct wc_buf *out, const unsigned char *s, size_t n,
		    int attr)
{
	size_t i = 0, run = 0;
	int rc = wc_buf_reserve(out, n);

	while (!rc && i < n) {
		unsigned c = s[i], cp;
		size_t len = 1;
		const char *rep = NULL;
		int hex = 0;

		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '`': if (attr) rep = "&#96;"; break;
		case '=': if (attr) rep = "&#61;"; break;
		case '\t': if (attr) rep = "&#9;"; break;
		case '\n': if (attr) rep = "&#10;"; break;
		case '\r': if (attr) rep = "&#13;"; else hex = 1; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				hex = 1;
			} else if (c >= 0x80) {
				len = wc_utf8_seq(s + i, n - i, &cp);
				if (len == 0 || (cp >= 0x80 && cp <= 0x9f)) {
					len = 1;
					hex = 1;
				}
			}
		}
		if (!rep && !hex) {
			i += len;
			run += len;
			continue;
		}
		rc = flush_run(out, s, i, &run);
		if (!rc)
			rc = rep ? wc_buf_adds(out, rep)
				 : add_hex_byte(out, "\\x", c, "");
		i += len;
	}
	if (!rc)
		rc = flush_run(out, s, i, &run);
	return rc;
}

int wc_esc_html_text(struct wc_buf *out, const void *s, size_t n)
{
	return esc_html(out, s, n, 0);
}

int wc_esc_html_attr(struct wc_buf *out, const void *s, size_t n)
{
	return esc_html(out, s, n, 1);
}

int wc_esc_csv_field(struct wc_buf *out, const void *src, size_t n)
{
	const unsigned char *s = src;
	int quote = 0, rc = 0;

	for (size_t i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' ||
		    s[i] == '\n') {
			quote = 1;
			break;
		}
	if (n && (s[0] == ' ' || s[n - 1] == ' '))
		quote = 1;
	if (quote)
		rc = wc_buf_addc(out, '"');
	if (!rc && n && (s[0] == '=' || s[0] == '+' || s[0] == '-' ||
			 s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
		rc = wc_buf_addc(out, '\'');
	if (!quote)
		return rc ? rc : wc_buf_add(out, s, n);
	for (size_t i = 0, start = 0; !rc && i <= n; i++) {
		if (i == n || s[i] == '"') {
			rc = wc_buf_add(out, s + start, i - start + (i < n));
			if (!rc && i < n)
				rc = wc_buf_addc(out, '"');
			start = i + 1;
		}
	}
	if (!rc)
		rc = wc_buf_addc(out, '"');
	return rc;
}

/* Code points a terminal should not be handed raw: C1 controls and the
 * bidirectional overrides/isolates ("Trojan Source"). */
static int tty_unsafe_cp(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f ||
	       cp == 0x061c;
}

int wc_esc_tty_str(struct wc_buf *out, const void *src, size_t n)
{
	const unsigned char *s = src;
	size_t i = 0, run = 0;
	int rc = wc_buf_reserve(out, n);

	while (!rc && i < n) {
		unsigned c = s[i], cp = c;
		size_t len = 1;
		int bad = 0;

		if (c == '\\') {
			bad = 2;
		} else if (c < 0x20 || c == 0x7f) {
			bad = 1;
		} else if (c >= 0x80) {
			len = wc_utf8_seq(s + i, n - i, &cp);
			if (len == 0) {
				len = 1;
				bad = 1;
			} else if (tty_unsafe_cp(cp)) {
				bad = 3;
			}
		}
		if (!bad) {
			i += len;
			run += len;
			continue;
		}
		rc = flush_run(out, s, i, &run);
		if (rc)
			break;
		if (bad == 2)
			rc = wc_buf_add(out, "\\\\", 2);
		else if (bad == 1)
			rc = add_hex_byte(out, "\\x", c, "");
		else if (cp <= 0xff)
			rc = add_hex_byte(out, "\\u{", cp, "}");
		else
			rc = wc_buf_printf(out, "\\u{%04x}", cp);
		i += len;
	}
	if (!rc)
		rc = flush_run(out, s, i, &run);
	return rc;
}

size_t wc_tty_width(const void *src, size_t n)
{
	struct wc_buf b = WC_BUF_INIT;
	size_t w = 0;

	if (wc_esc_tty_str(&b, src, n) == 0) {
		for (size_t i = 0; i < b.len; i++)
			if (((unsigned char)b.data[i] & 0xc0) != 0x80)
				w++;
	} else {
		w = n;
	}
	wc_buf_free(&b);
	return w;
}

typedef int (*esc_fn)(struct wc_buf *, const void *, size_t);

static void fput_escaped(FILE *f, const char *s, esc_fn fn)
{
	struct wc_buf b = WC_BUF_INIT;

	if (!s)
		return;
	if (fn(&b, s, strlen(s)) == 0)
		fwrite(b.data, 1, b.len, f);
	wc_buf_free(&b);
}

void wc_fput_json_str(FILE *f, const char *s)
{
	if (!s)
		fputs("null", f);
	else
		fput_escaped(f, s, wc_esc_json_str);
}

void wc_fput_html_text(FILE *f, const char *s)
{
	fput_escaped(f, s, wc_esc_html_text);
}

void wc_fput_html_attr(FILE *f, const char *s)
{
	fput_escaped(f, s, wc_esc_html_attr);
}

void wc_fput_csv_field(FILE *f, const char *s)
{
	fput_escaped(f, s, wc_esc_csv_field);
}

void wc_fput_tty_str(FILE *f, const char *s)
{
	fput_escaped(f, s, wc_esc_tty_str);
}
