/*
 * output.c - SQL results as table, CSV or JSON (output.h).
 *
 * Table mode keeps at most WC_OUT_TABLE_SAMPLE escaped rows in memory to
 * size the columns, then streams; CSV and JSON stream row by row.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "waitchain/escape.h"
#include "waitchain/output.h"
#include "waitchain/util.h"

int wc_out_format_parse(const char *name, enum wc_out_format *fmt)
{
	if (strcmp(name, "table") == 0)
		*fmt = WC_OUT_TABLE;
	else if (strcmp(name, "csv") == 0)
		*fmt = WC_OUT_CSV;
	else if (strcmp(name, "json") == 0)
		*fmt = WC_OUT_JSON;
	else
		return -WC_EUSAGE;
	return 0;
}

static int step_error(sqlite3_stmt *st, const char *path,
		      struct wc_error *err)
{
	sqlite3 *db = sqlite3_db_handle(st);
	const char *sql = sqlite3_sql(st);

	return wc_err(err, WC_EDB, path, "%s (SQL: %.100s)", sqlite3_errmsg(db),
		      sql ? sql : "");
}

/* How a column value is written in one output format. */
struct value_style {
	const char *null;	/* text of SQL NULL; NULL: nothing */
	int real_digits;	/* %.*g precision of a REAL */
	int nonfinite_as_null;	/* NaN/inf written as SQL NULL (JSON) */
	int (*text)(struct wc_buf *, const void *, size_t); /* TEXT, BLOB */
};

/* Terminal code points that json_str lets through as valid UTF-8 (C1
 * controls, bidi overrides/isolates; the list of tty_str in escape.c). */
static int json_tty_unsafe_cp(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f ||
	       cp == 0x061c;
}

/* CSV field for a terminal: tty_str first (ESC -> \x1b, CR/LF visible),
 * then the RFC 4180 quoting of the escaped text.  0 or -WC_ENOMEM. */
static int esc_csv_tty(struct wc_buf *out, const void *s, size_t n)
{
	struct wc_buf t = WC_BUF_INIT;
	int rc = wc_esc_tty_str(&t, s, n);

	if (!rc)
		rc = wc_esc_csv_field(out, t.data ? t.data : "", t.len);
	wc_buf_free(&t);
	return rc;
}

/* JSON string for a terminal: json_str, then every code point a terminal
 * must not get raw (json_tty_unsafe_cp) rewritten as \uXXXX, which JSON
 * decodes to the same string.  0 or -WC_ENOMEM. */
static int esc_json_tty(struct wc_buf *out, const void *s, size_t n)
{
	struct wc_buf t = WC_BUF_INIT;
	int rc = wc_esc_json_str(&t, s, n);
	const unsigned char *p = (const unsigned char *)t.data;

	for (size_t i = 0; !rc && i < t.len;) {
		unsigned cp = 0;
		size_t len = p[i] >= 0x80 ? wc_utf8_seq(p + i, t.len - i, &cp) : 0;

		if (len && json_tty_unsafe_cp(cp)) {
			rc = wc_buf_printf(out, "\\u%04x", cp);
			i += len;
		} else {
			rc = wc_buf_addc(out, (char)p[i]);
			i++;
		}
	}
	wc_buf_free(&t);
	return rc;
}

static const struct value_style csv_style = { NULL, 17, 0, wc_esc_csv_field };
static const struct value_style json_style = { "null", 17, 1, wc_esc_json_str };
static const struct value_style csv_tty_style = { NULL, 17, 0, esc_csv_tty };
static const struct value_style json_tty_style = { "null", 17, 1, esc_json_tty };
/* table cells: escaped for a terminal, REALs short */
static const struct value_style tty_style = { NULL, 6, 0, wc_esc_tty_str };

/* Appends column I of the current row of ST to B as STYLE says (text
 * through STYLE->text, so hostile strings are escaped).  0, or the
 * wc_buf error when B cannot grow. */
static int put_value(struct wc_buf *b, sqlite3_stmt *st, int i,
		     const struct value_style *style)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		break;
	case SQLITE_INTEGER:
		return wc_buf_printf(b, "%lld",
				     (long long)sqlite3_column_int64(st, i));
	case SQLITE_FLOAT: {
		double d = sqlite3_column_double(st, i);

		if (style->nonfinite_as_null && !isfinite(d))
			break;
		return wc_buf_printf(b, "%.*g", style->real_digits, d);
	}
	default: {
		const void *p = sqlite3_column_blob(st, i);
		int n = sqlite3_column_bytes(st, i);

		return style->text(b, p ? p : "", (size_t)n);
	}
	}
	return style->null ? wc_buf_adds(b, style->null) : 0;
}

/* Display columns of UTF-8 text (code points). */
static size_t text_width(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

struct cell {
	size_t off, len;	/* in the row buffer */
	int right;		/* right-align (numbers) */
};

static void put_cell(FILE *out, const char *s, size_t len, int right,
		     size_t width, int last)
{
	size_t w = text_width(s, len);
	size_t pad = width > w ? width - w : 0;

	if (right)
		for (size_t k = 0; k < pad; k++)
			fputc(' ', out);
	fwrite(s, 1, len, out);
	if (!right && !last)
		for (size_t k = 0; k < pad; k++)
			fputc(' ', out);
}

static int output_table(sqlite3_stmt *st, FILE *out, const char *path,
			uint64_t *rows, struct wc_error *err)
{
	int ncol = sqlite3_column_count(st), rc = 0, step = SQLITE_ROW;
	size_t *width = calloc((size_t)ncol, sizeof(*width));
	struct wc_buf held = WC_BUF_INIT, line = WC_BUF_INIT;
	struct cell *cells = NULL;
	size_t nheld = 0, cap = 0;
	struct wc_buf hdr = WC_BUF_INIT;
	struct cell *hcells = calloc((size_t)ncol, sizeof(*hcells));

	if (!width || !hcells) {
		rc = wc_err(err, WC_ENOMEM, path, "out of memory");
		goto out;
	}
	for (int i = 0; i < ncol; i++) {
		const char *name = sqlite3_column_name(st, i);

		hcells[i].off = hdr.len;
		if (wc_esc_tty_str(&hdr, name ? name : "", name ? strlen(name) : 0)) {
			rc = wc_err(err, WC_ENOMEM, path, "out of memory");
			goto out;
		}
		hcells[i].len = hdr.len - hcells[i].off;
		width[i] = text_width(hdr.data + hcells[i].off, hcells[i].len);
	}
	/* sample rows to size the columns */
	while (nheld < WC_OUT_TABLE_SAMPLE &&
	       (step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nheld + 1) * (size_t)ncol > cap) {
			size_t ncap = cap ? cap * 2 : (size_t)ncol * 64;
			struct cell *p = realloc(cells, ncap * sizeof(*p));

			if (!p) {
				rc = wc_err(err, WC_ENOMEM, path, "out of memory");
				goto out;
			}
			cells = p;
			cap = ncap;
		}
		for (int i = 0; i < ncol; i++) {
			struct cell *c = &cells[nheld * (size_t)ncol + (size_t)i];
			int t = sqlite3_column_type(st, i);
			size_t w;

			c->off = held.len;
			if (put_value(&held, st, i, &tty_style)) {
				rc = wc_err(err, WC_ENOMEM, path, "out of memory");
				goto out;
			}
			c->len = held.len - c->off;
			c->right = t == SQLITE_INTEGER || t == SQLITE_FLOAT;
			w = text_width(held.data ? held.data + c->off : "", c->len);
			if (w > width[i])
				width[i] = w;
		}
		nheld++;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		rc = step_error(st, path, err);
		goto out;
	}
	for (int i = 0; i < ncol; i++) {
		put_cell(out, hdr.data + hcells[i].off, hcells[i].len, 0,
			 width[i], i == ncol - 1);
		if (i < ncol - 1)
			fputs("  ", out);
	}
	fputc('\n', out);
	for (int i = 0; i < ncol; i++) {
		for (size_t k = 0; k < width[i]; k++)
			fputc('-', out);
		if (i < ncol - 1)
			fputs("  ", out);
	}
	fputc('\n', out);
	for (size_t r = 0; r < nheld; r++) {
		for (int i = 0; i < ncol; i++) {
			struct cell *c = &cells[r * (size_t)ncol + (size_t)i];

			put_cell(out, held.data + c->off, c->len, c->right,
				 width[i], i == ncol - 1);
			if (i < ncol - 1)
				fputs("  ", out);
		}
		fputc('\n', out);
	}
	*rows = nheld;
	/* stream the rest with the sampled widths */
	while (step == SQLITE_ROW && (step = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < ncol; i++) {
			int t = sqlite3_column_type(st, i);

			wc_buf_reset(&line);
			if (put_value(&line, st, i, &tty_style)) {
				rc = wc_err(err, WC_ENOMEM, path, "out of memory");
				goto out;
			}
			put_cell(out, wc_buf_str(&line), line.len,
				 t == SQLITE_INTEGER || t == SQLITE_FLOAT,
				 width[i], i == ncol - 1);
			if (i < ncol - 1)
				fputs("  ", out);
		}
		fputc('\n', out);
		(*rows)++;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = step_error(st, path, err);
out:
	free(width);
	free(cells);
	free(hcells);
	wc_buf_free(&held);
	wc_buf_free(&line);
	wc_buf_free(&hdr);
	return rc;
}

int wc_output_stmt(sqlite3_stmt *st, enum wc_out_format fmt, FILE *out,
		   const char *path, uint64_t *rows, struct wc_error *err)
{
	return wc_output_stmt_ex(st, fmt, out, 0, path, rows, err);
}

int wc_output_stmt_ex(sqlite3_stmt *st, enum wc_out_format fmt, FILE *out,
		      unsigned flags, const char *path, uint64_t *rows,
		      struct wc_error *err)
{
	int tty = (flags & WC_OUT_TTY) != 0;
	int (*name_esc)(struct wc_buf *, const void *, size_t) =
		tty ? esc_csv_tty : wc_esc_csv_field;
	int (*json_name_esc)(struct wc_buf *, const void *, size_t) =
		tty ? esc_json_tty : wc_esc_json_str;
	const struct value_style *csv_st = tty ? &csv_tty_style : &csv_style;
	const struct value_style *json_st = tty ? &json_tty_style : &json_style;
	int ncol = sqlite3_column_count(st), step, rc = 0;
	uint64_t n = 0;
	struct wc_buf b = WC_BUF_INIT;

	if (!rows)
		rows = &n;
	*rows = 0;
	if (ncol == 0) {
		while ((step = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (step != SQLITE_DONE)
			rc = step_error(st, path, err);
		sqlite3_reset(st);
		return rc;
	}
	if (fmt == WC_OUT_TABLE) {
		rc = output_table(st, out, path, rows, err);
		sqlite3_reset(st);
		return rc;
	}
	if (fmt == WC_OUT_CSV) {
		for (int i = 0; i < ncol; i++) {
			const char *name = sqlite3_column_name(st, i);

			if (i)
				wc_buf_addc(&b, ',');
			name_esc(&b, name ? name : "", name ? strlen(name) : 0);
		}
		wc_buf_adds(&b, "\r\n");
	} else {
		wc_buf_adds(&b, "[");
	}
	fwrite(wc_buf_str(&b), 1, b.len, out);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		wc_buf_reset(&b);
		if (fmt == WC_OUT_JSON)
			wc_buf_adds(&b, *rows ? ",\n{" : "\n{");
		for (int i = 0; i < ncol && !rc; i++) {
			if (fmt == WC_OUT_CSV) {
				if (i)
					rc = wc_buf_addc(&b, ',');
				if (!rc)
					rc = put_value(&b, st, i, csv_st);
			} else {
				const char *name = sqlite3_column_name(st, i);

				if (i)
					rc = wc_buf_addc(&b, ',');
				if (!rc)
					rc = json_name_esc(&b, name ? name : "",
							     name ? strlen(name) : 0);
				if (!rc)
					rc = wc_buf_addc(&b, ':');
				if (!rc)
					rc = put_value(&b, st, i, json_st);
			}
		}
		if (!rc)
			rc = wc_buf_adds(&b, fmt == WC_OUT_CSV ? "\r\n" : "}");
		if (rc) {
			rc = wc_err(err, WC_ENOMEM, path, "out of memory");
			break;
		}
		fwrite(b.data, 1, b.len, out);
		(*rows)++;
	}
	if (!rc && step != SQLITE_DONE)
		rc = step_error(st, path, err);
	if (fmt == WC_OUT_JSON)
		fputs(*rows ? "\n]\n" : "]\n", out);
	wc_buf_free(&b);
	sqlite3_reset(st);
	return rc;
}
