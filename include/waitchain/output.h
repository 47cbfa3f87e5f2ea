/*
 * output.h - printing SQL results as an aligned table, CSV or JSON.
 *
 * Used by `sql`, `query`, `report` and `diff`: every value goes through
 * the escaper of its output context (escape.h), so thread names from the
 * capture cannot inject terminal sequences, CSV formulas or break JSON.
 *
 *   WC_OUT_TABLE  header, dashes, aligned columns (numbers right-aligned),
 *                 NULL shown as empty; text escaped with tty_str.  Column
 *                 widths come from the first WC_OUT_TABLE_SAMPLE rows, the
 *                 rest stream with those widths (bounded memory).
 *   WC_OUT_CSV    RFC 4180: header line, then rows; NULL is an empty field,
 *                 integers and reals as numbers, text via csv_field.
 *   WC_OUT_JSON   a JSON array of objects {"column": value}, one per line;
 *                 NULL -> null, integers as numbers, reals as numbers (NaN
 *                 and infinities -> null), text and blobs via json_str.
 */
#ifndef WAITCHAIN_OUTPUT_H
#define WAITCHAIN_OUTPUT_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#include "waitchain/error.h"

enum wc_out_format { WC_OUT_TABLE, WC_OUT_CSV, WC_OUT_JSON };

#define WC_OUT_TABLE_SAMPLE 1000

/* Parses "table", "csv", "json" into *fmt; 0 or -WC_EUSAGE. */
int wc_out_format_parse(const char *name, enum wc_out_format *fmt);

/*
 * Steps ST to the end, printing every row to OUT in FMT (a statement
 * without result columns is just run).  *rows (may be NULL) gets the row
 * count.  PATH names the database in errors.  The statement is reset, not
 * finalized.  0 or a negative code.
 */
int wc_output_stmt(sqlite3_stmt *st, enum wc_out_format fmt, FILE *out,
		   const char *path, uint64_t *rows, struct wc_error *err);

/*
 * Flags of wc_output_stmt_ex().  WC_OUT_TTY: OUT is a terminal (the
 * caller decides, e.g. isatty(), so the formatter stays testable): CSV
 * text fields go through tty_str before csv_field (a raw ESC never
 * reaches the screen; the field is no longer byte-exact), JSON strings
 * also get C1 controls and bidi overrides as \uXXXX (still the same JSON
 * value).  Without it CSV and JSON keep exact bytes.
 */
#define WC_OUT_TTY 1u

/* wc_output_stmt() with FLAGS (WC_OUT_*); wc_output_stmt() is flags 0. */
int wc_output_stmt_ex(sqlite3_stmt *st, enum wc_out_format fmt, FILE *out,
		      unsigned flags, const char *path, uint64_t *rows,
		      struct wc_error *err);

#endif /* WAITCHAIN_OUTPUT_H */
