/*
 * html-local.h - internals shared by the HTML report's files (report/html*.c).
 *
 * html.c assembles the page (template, CSP, inline style and script);
 * html-data.c reads the case database into the JSON data block the page's
 * script draws from; html-util.c holds the encoders both need: SHA-256 (for
 * the CSP hashes of the inline script and style), base64 and LEB128 varints.
 * Not a public interface: only report/ and its unit test include it.
 */
#ifndef WAITCHAIN_HTML_LOCAL_H
#define WAITCHAIN_HTML_LOCAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "waitchain/error.h"
#include "waitchain/util.h"

struct wc_report_options;
struct wc_verdict;

/* SHA-256 (FIPS 180-4) of LEN bytes at DATA into OUT. */
void wc_html_sha256(const void *data, size_t len, unsigned char out[32]);

/* Appends the standard base64 (RFC 4648, with padding) of LEN bytes.
 * 0 or -WC_ENOMEM. */
int wc_html_base64(struct wc_buf *b, const void *data, size_t len);

/* Appends V as an unsigned LEB128 varint (7 bits a byte, low first). */
int wc_html_varint(struct wc_buf *b, uint64_t v);
/* Appends V zigzag-encoded ((v << 1) ^ (v >> 63)) as a varint. */
int wc_html_svarint(struct wc_buf *b, int64_t v);

/* Appends S (NUL-terminated, untrusted; NULL appends null) as a JSON
 * string literal safe inside <script> (wc_esc_json_str of escape.h). */
int wc_html_json_str(struct wc_buf *b, const char *s);

/*
 * Reads the case database DB and appends the report's data block (one
 * JSON object, see the comment at the top of html-data.c) to OUT,
 * including VERDICT (may be NULL) as its "verdict" member.  DB_PATH names
 * the database in error messages.  0 or a negative code.
 */
int wc_html_data(sqlite3 *db, const char *db_path,
		 const struct wc_report_options *opt,
		 const struct wc_verdict *verdict, struct wc_buf *out,
		 struct wc_error *err);

#endif /* WAITCHAIN_HTML_LOCAL_H */
