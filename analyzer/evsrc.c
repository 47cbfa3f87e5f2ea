/*
 * evsrc.c - reading one event table row by row for the analysis, in key
 * order, whatever its storage.
 *
 * A columnar table (include/waitchain/coltab.h) is read with a native
 * chunk scan: values come straight out of the decoded column arrays,
 * without a virtual-table call per value (what the analysis of ten
 * million events spends its time on otherwise).  An ordinary table, or
 * a columnar one that a database written by hand declared as ordinary,
 * is read with "SELECT cols FROM table ORDER BY rowid".  Either way the
 * caller addresses values by their position in the column list it gave.
 * A scan reads ahead when it can (wc_coltab_scan_readahead(): on the
 * analysis' FULLMUTEX connection, with two CPUs): the next chunk is
 * decoded on a thread while pass 1 reads the current one.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "analyze-local.h"
#include "waitchain/coltab.h"
#include "waitchain/db.h"

int evsrc_open(struct actx *c, struct evsrc *s, const char *table,
	       const char *const *cols, int ncols)
{
	int rc;

	assert(ncols > 0 && ncols <= EVSRC_MAX_COLS);
	memset(s, 0, sizeof(*s));
	s->table = table;
	s->ncols = ncols;
	if (wc_coltab_table_kind(c->db, table) == 1) {
		rc = wc_coltab_scan_open(c->db, c->path, table, &s->scan, c->err);
		if (rc)
			return rc;
		uint64_t wanted = 0;

		for (int i = 0; i < ncols; i++) {
			s->map[i] = wc_coltab_scan_column(s->scan, cols[i]);
			if (s->map[i] < 0)
				return wc_err(c->err, WC_EFORMAT, c->path,
					      "table %s has no column %s", table,
					      cols[i]);
			wanted |= (uint64_t)1 << s->map[i];
		}
		/* decoding on the second CPU while pass 1 runs on the first */
		wc_coltab_scan_readahead(s->scan, wanted);
		return 0;
	} else {
		struct wc_buf sql = WC_BUF_INIT;

		wc_buf_printf(&sql, "SELECT ");
		for (int i = 0; i < ncols; i++)
			wc_buf_printf(&sql, "%s%s", i ? ", " : "", cols[i]);
		wc_buf_printf(&sql, " FROM %s ORDER BY rowid", table);
		if (!sql.data)
			return wc_err(c->err, WC_ENOMEM, c->path, "out of memory");
		rc = wc_db_prepare(c->db, c->path, sql.data, &s->st, c->err);
		wc_buf_free(&sql);
		return rc;
	}
}

/* Loads the next chunk of a scan and its columns; 1 loaded, 0 end. */
static int next_chunk(struct actx *c, struct evsrc *s)
{
	int rc = wc_coltab_scan_next(s->scan, c->err);

	if (rc <= 0)
		return rc;
	s->n = wc_coltab_scan_rows(s->scan);
	for (int i = 0; i < s->ncols; i++) {
		rc = wc_coltab_scan_col(s->scan, s->map[i], &s->v[i], &s->nl[i],
					c->err);
		if (rc)
			return rc;
	}
	return 1;
}

int evsrc_next(struct actx *c, struct evsrc *s)
{
	int rc;

	if (s->scan) {
		if (s->has_row && ++s->row < s->n)
			return 0;
		s->row = 0;
		s->has_row = 0;
		do {
			rc = next_chunk(c, s);
			if (rc < 0)
				return rc;
			if (rc == 0)
				return 0;
		} while (s->n == 0);
		s->has_row = 1;
		return 0;
	}
	rc = sqlite3_step(s->st);
	if (rc == SQLITE_ROW) {
		s->has_row = 1;
		return 0;
	}
	s->has_row = 0;
	if (rc == SQLITE_DONE)
		return 0;
	return actx_dberr(c, s->table);
}

int evsrc_sql_null(const struct evsrc *s, int i)
{
	assert(s->has_row && s->st && i >= 0 && i < s->ncols);
	return sqlite3_column_type(s->st, i) == SQLITE_NULL;
}

int64_t evsrc_sql_i64(const struct evsrc *s, int i, int64_t deflt)
{
	assert(s->has_row && s->st && i >= 0 && i < s->ncols);
	return sqlite3_column_type(s->st, i) == SQLITE_NULL ?
		deflt : sqlite3_column_int64(s->st, i);
}

const char *evsrc_text(const struct evsrc *s, int i)
{
	assert(s->has_row && i >= 0 && i < s->ncols);
	if (s->scan)
		return wc_coltab_scan_text(s->scan, s->map[i], s->row);
	return (const char *)sqlite3_column_text(s->st, i);
}

void evsrc_close(struct evsrc *s)
{
	wc_coltab_scan_close(s->scan);
	sqlite3_finalize(s->st);
	s->scan = NULL;
	s->st = NULL;
	s->has_row = 0;
}
