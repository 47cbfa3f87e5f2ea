/*
 * report-local.h - helpers shared by the text and JSON reports and the
 * verdict (report/queries.c).  Not a public interface.
 *
 * Reading rows of the canned queries by column name: the queries' column
 * names are their documented contract (docs/queries.md), so code never
 * depends on column order.
 */
#ifndef WAITCHAIN_REPORT_LOCAL_H
#define WAITCHAIN_REPORT_LOCAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "waitchain/error.h"

/* Index of the result column NAME of ST, or -1. */
int wc_q_col(sqlite3_stmt *st, const char *name);

/* Column IDX as an integer, DEFLT when IDX < 0 or the value is NULL. */
int64_t wc_q_int(sqlite3_stmt *st, int idx, int64_t deflt);

/* Column IDX as a double, DEFLT when IDX < 0 or NULL. */
double wc_q_real(sqlite3_stmt *st, int idx, double deflt);

/* Column IDX as a new string (caller frees with free()); NULL when IDX < 0
 * or NULL.  Sets *oom to 1 on allocation failure (OOM may be NULL). */
char *wc_q_str(sqlite3_stmt *st, int idx, int *oom);

/* sqlite3_step() with error reporting: 1 = a row, 0 = done, negative =
 * error (recorded in ERR naming DB_PATH and the query NAME). */
int wc_q_step(sqlite3 *db, const char *db_path, const char *name,
	      sqlite3_stmt *st, struct wc_error *err);

#endif /* WAITCHAIN_REPORT_LOCAL_H */
