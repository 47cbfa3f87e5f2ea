/*
 * escape.h - one escaper per output context.
 *
 * Thread names, symbols and file names come from the traced machine: any
 * byte sequence, invalid UTF-8, terminal escape sequences, HTML.  Every
 * output of waitchain goes through one of these, chosen by where the text
 * lands.  All of them read the input as unsigned char (a signed char
 * turned "é" into \uffffffc3 in perf's JSON writer) and never fail except
 * for lack of memory.
 *
 *   json_str   a complete JSON string literal, quotes included.  Valid
 *              UTF-8 passes; control bytes, DEL, '<', '>', '&', U+2028 and
 *              U+2029 become \u00XX / \uXXXX (safe inside <script>); a byte
 *              that is not part of valid UTF-8 becomes \u00XX of the byte.
 *   html_text  text between tags: & < > " ' as entities; control bytes and
 *              invalid UTF-8 bytes shown as the visible text \xNN.
 *   html_attr  a value inside a quoted attribute: as html_text, plus
 *              ` = and whitespace other than ' ' as numeric entities.
 *   csv_field  one RFC 4180 field: quoted (with "" doubling) when it holds
 *              , " CR LF or leading/trailing space; a field starting with
 *              = + - @ TAB or CR gets a leading ' (spreadsheet formula
 *              injection).  Use it for text values only: numbers are
 *              written as numbers.
 *   tty_str    a terminal: control bytes, DEL, C1 controls (U+0080-U+009F),
 *              bidi overrides and invalid UTF-8 as \xNN (or \u{XXXX}),
 *              backslash as \\, so what is shown is unambiguous.
 *
 * The wc_esc_* functions append to a struct wc_buf (util.h) and return 0
 * or -WC_ENOMEM; the wc_fput_* functions write a NUL-terminated string to
 * a FILE (NULL writes nothing, or `null` for JSON).
 */
#ifndef WAITCHAIN_ESCAPE_H
#define WAITCHAIN_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

#include "waitchain/util.h"

int wc_esc_json_str(struct wc_buf *out, const void *s, size_t n);
int wc_esc_html_text(struct wc_buf *out, const void *s, size_t n);
int wc_esc_html_attr(struct wc_buf *out, const void *s, size_t n);
int wc_esc_csv_field(struct wc_buf *out, const void *s, size_t n);
int wc_esc_tty_str(struct wc_buf *out, const void *s, size_t n);

void wc_fput_json_str(FILE *f, const char *s);
void wc_fput_html_text(FILE *f, const char *s);
void wc_fput_html_attr(FILE *f, const char *s);
void wc_fput_csv_field(FILE *f, const char *s);
void wc_fput_tty_str(FILE *f, const char *s);

/*
 * Length of the valid UTF-8 sequence at S (1..4, at most N bytes), or 0
 * if S does not start one (stray continuation byte, overlong form,
 * surrogate, beyond U+10FFFF, truncated).  *CP receives the code point.
 */
size_t wc_utf8_seq(const unsigned char *s, size_t n, unsigned *cp);

/* Terminal columns of what wc_esc_tty_str() would print for S (one
 * column per code point; good enough for aligned tables). */
size_t wc_tty_width(const void *s, size_t n);

#endif /* WAITCHAIN_ESCAPE_H */
