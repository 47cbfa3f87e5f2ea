/*
 * abatch.c - multi-row INSERTs for the analysis tables written by the
 * million (thread_state, block_holder, chain).
 *
 * A one-row INSERT stepped and reset per row pays, for every row, the
 * statement's reset (its cursors closed), a fresh seek to the table's
 * end and the per-step bookkeeping; one INSERT of ABATCH_ROWS rows pays
 * them once (bench/PROFILE.md: about a third of the analysis went
 * there).  Values are kept here until the batch is full, then bound all
 * at once; abatch_flush() inserts what is left with a statement prepared
 * for that many rows.  Text values must outlive the batch (the callers
 * pass string literals).
 */
#include "analyze-local.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waitchain/db.h"

/* "INSERT INTO TABLE(COLS) VALUES (?,..),.." for NROWS rows, malloc'd. */
static char *insert_sql(const struct abatch *b, int nrows)
{
	struct wc_buf sql = WC_BUF_INIT;

	wc_buf_printf(&sql, "INSERT INTO %s(%s) VALUES ", b->table, b->cols);
	for (int r = 0; r < nrows; r++) {
		wc_buf_printf(&sql, "%s(", r ? "," : "");
		for (int i = 0; i < b->ncols; i++)
			wc_buf_printf(&sql, "%s?", i ? "," : "");
		wc_buf_printf(&sql, ")");
	}
	return sql.data;	/* NULL when out of memory */
}

int abatch_new(struct actx *c, struct abatch **out, const char *table,
	       const char *cols, int ncols)
{
	struct abatch *b;
	char *sql;
	int rc;

	assert(ncols > 0 && ncols <= ABATCH_MAX_COLS);
	*out = NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	b->table = table;
	b->cols = cols;
	b->ncols = ncols;
	sql = insert_sql(b, ABATCH_ROWS);
	rc = sql ? wc_db_prepare(c->db, c->path, sql, &b->full, c->err) :
		   wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	free(sql);
	if (rc) {
		abatch_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

/* Binds the first NROWS buffered rows to ST, from parameter 1 on. */
static void bind_rows(const struct abatch *b, sqlite3_stmt *st, int nrows)
{
	int p = 1;

	for (int r = 0; r < nrows; r++)
		for (int i = 0; i < b->ncols; i++, p++) {
			const struct abatch_val *v = &b->v[r][i];

			if (v->type == SQLITE_INTEGER)
				sqlite3_bind_int64(st, p, v->i);
			else if (v->type == SQLITE_TEXT)
				sqlite3_bind_text(st, p, v->s, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(st, p);
		}
}

int abatch_row(struct actx *c, struct abatch *b)
{
	assert(b->full && b->n < ABATCH_ROWS);
	if (++b->n < ABATCH_ROWS)
		return 0;
	bind_rows(b, b->full, ABATCH_ROWS);
	b->n = 0;
	memset(b->v, 0, sizeof(b->v));	/* unset cells are NULL */
	return actx_step_reset(c, b->full, b->table);
}

int abatch_flush(struct actx *c, struct abatch *b)
{
	sqlite3_stmt *st = NULL;
	char *sql;
	int rc;

	if (b->n == 0)
		return 0;
	sql = insert_sql(b, b->n);
	if (!sql)
		return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	rc = wc_db_prepare(c->db, c->path, sql, &st, c->err);
	free(sql);
	if (!rc) {
		bind_rows(b, st, b->n);
		rc = actx_step_reset(c, st, b->table);
	}
	sqlite3_finalize(st);
	b->n = 0;
	memset(b->v, 0, sizeof(b->v));
	return rc;
}

void abatch_free(struct abatch *b)
{
	if (!b)
		return;
	sqlite3_finalize(b->full);
	free(b);
}
