/*
 * report.h - `waitchain report`: the story of a case database as text,
 * JSON or HTML.
 *
 * All three formats tell the same story (verdict.h: numbers computed from
 * the analysis tables) and show tables produced by the canned queries
 * (queries/NAME.sql, run with sqlite3_bind_* for their parameters).  Writers
 * take a database opened read-only or read-write; they only read it.
 * Every string that comes from the capture (thread names, symbols, host
 * and file names) is written through the escaper of the output context
 * (escape.h): tty_str for text, json_str for JSON, html_* for HTML.
 *
 *   wc_report_text()  plain text, a few sentences then aligned tables
 *                     (report/text.c)
 *   wc_report_json()  one JSON document, shape in docs/json.md
 *                     (report/json.c)
 *   wc_report_html()  self-contained HTML page (report/html.c); linked
 *                     weakly by src/cmd-report.c, so the binary builds
 *                     without it
 */
#ifndef WAITCHAIN_REPORT_H
#define WAITCHAIN_REPORT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "waitchain/error.h"

enum wc_report_format {
	WC_REPORT_TEXT = 0,
	WC_REPORT_JSON = 1,
	WC_REPORT_HTML = 2,
};

#define WC_REPORT_DEFAULT_TOP 10
#define WC_REPORT_MAX_THREADS 64

struct wc_report_options {
	enum wc_report_format format;
	int top;		/* rows per table (holders, blocks, stacks);
				 * <= 0 means WC_REPORT_DEFAULT_TOP */
	/* --thread TID (repeatable): extra threads to show, as lanes of the
	 * HTML timeline and as a time-by-state summary in text/JSON.  The
	 * array is borrowed for the duration of the call. */
	const int32_t *threads;
	size_t nthreads;
	/* -o FILE, or NULL for stdout (informational: the writer gets a
	 * FILE *; HTML uses it to name the page). */
	const char *output;
	/* The argument the user gave (capture or database), for the
	 * report's header; NULL = the database path. */
	const char *source_arg;
	/* 1: text output may use ANSI colours/bold (stdout is a terminal
	 * and NO_COLOR is unset).  Names are escaped either way. */
	int color;
	/* Optional time window [t0_ns, t1_ns) for the HTML timeline; both 0
	 * = the whole capture. */
	uint64_t t0_ns, t1_ns;
};

/* Writes the text report of DB (path DB_PATH, for messages) to OUT.
 * 0 or a negative code (WC_EDB, WC_EIO, WC_ENOMEM). */
int wc_report_text(sqlite3 *db, const char *db_path,
		   const struct wc_report_options *opt, FILE *out,
		   struct wc_error *err);

/* Writes the JSON report (docs/json.md) of DB to OUT.  Same contract. */
int wc_report_json(sqlite3 *db, const char *db_path,
		   const struct wc_report_options *opt, FILE *out,
		   struct wc_error *err);

/* Writes the self-contained HTML report of DB to OUT (report/html.c).
 * Same contract. */
int wc_report_html(sqlite3 *db, const char *db_path,
		   const struct wc_report_options *opt, FILE *out,
		   struct wc_error *err);

/* --- canned queries (report/queries.c) ----------------------------------- */

/* One named parameter of a canned query. */
struct wc_query_param {
	const char *name;	/* ":top" (with the colon) */
	int64_t value;
};

/*
 * Prepares the embedded canned query NAME (file name without ".sql", e.g.
 * "vcpu_summary") on DB and binds PARAMS (NPARAMS of them; parameters of
 * the query that are not given stay NULL, which each query documents as
 * its default).  A parameter the query does not have is ignored.  Caller
 * finalizes *ST with sqlite3_finalize().  WC_ENOTFOUND if there is no
 * such query.
 */
int wc_query_prepare(sqlite3 *db, const char *db_path, const char *name,
		     const struct wc_query_param *params, size_t nparams,
		     sqlite3_stmt **st, struct wc_error *err);

#endif /* WAITCHAIN_REPORT_H */
