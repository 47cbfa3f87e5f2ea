/*
 * awrite.c - appending rows to the analysis tables.
 *
 * The analysis writes tens of millions of rows (thread_state, chain,
 * block_holder, block, ...): as SQLite B-tree rows, even in multi-row
 * INSERTs, that cost more than everything else the analysis does
 * (bench/PROFILE.md).  So these tables are columnar, like the event
 * tables (include/waitchain/coltab.h), and rows go through the columnar
 * bulk writer: a row is a few stores into the open chunk.  Callers name
 * the columns they set once (awr_new) and then address them by their
 * 1-based position in that list.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "analyze-local.h"
#include "waitchain/coltab.h"

/* W's table column numbers of the comma-separated names COLS, into
 * w->map (the writer knows the table's columns). */
static int map_columns(struct actx *c, struct awriter *w, const char *cols)
{
	char *copy = wc_strdup(cols), *p, *save = NULL;
	int ncol = 0, rc = 0;

	if (!copy)
		return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	for (p = strtok_r(copy, ", ", &save); p && !rc;
	     p = strtok_r(NULL, ", ", &save)) {
		assert(ncol < w->ncols);
		w->map[ncol] = wc_coltab_writer_column(w->w, p);
		if (w->map[ncol++] < 0)
			rc = wc_err(c->err, WC_EFORMAT, c->path,
				    "table %s has no column %s", w->table, p);
	}
	assert(rc || ncol == w->ncols);
	free(copy);
	return rc;
}

int awr_new(struct actx *c, struct awriter **out, const char *table,
	    const char *cols, int ncols)
{
	struct awriter *w;
	int rc;

	assert(ncols > 0 && ncols <= AWR_MAX_COLS);
	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
	w->table = table;
	w->ncols = ncols;
	rc = wc_coltab_writer_new(c->db, c->path, table, &w->w, c->err);
	if (!rc)
		rc = map_columns(c, w, cols);
	if (rc) {
		awr_free(w);
		return rc;
	}
	/* chunks are encoded on the second CPU while pass 1 goes on */
	wc_coltab_writer_set_async(w->w, 1);
	wc_coltab_row(w->w);
	*out = w;
	return 0;
}

int awr_text(struct actx *c, struct awriter *w, int col, const char *s)
{
	assert(col >= 1 && col <= w->ncols);
	return wc_coltab_set_text(w->w, w->map[col - 1], s, c->err);
}

int awr_static(struct actx *c, struct awriter *w, int col, const char *s)
{
	assert(col >= 1 && col <= w->ncols);
	return wc_coltab_set_static(w->w, w->map[col - 1], s, c->err);
}

int awr_row(struct actx *c, struct awriter *w)
{
	return wc_coltab_append(w->w, c->err);	/* starts the next row */
}

int awr_flush(struct actx *c, struct awriter *w)
{
	return wc_coltab_writer_flush(w->w, c->err);
}

void awr_free(struct awriter *w)
{
	if (!w)
		return;
	wc_coltab_writer_free(w->w);
	free(w);
}
