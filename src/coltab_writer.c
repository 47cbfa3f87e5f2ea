/*
 * coltab_writer.c - bulk appends to a columnar table (coltab.h).
 *
 * The importer sets the columns of one row at a time; rows gather in an
 * open chunk of WC_COLTAB_CHUNK_ROWS rows (column-major int64 arrays,
 * NULL flags, and a dictionary of the chunk's distinct strings), which
 * is encoded and written as one SQLite row when full.  Per event this
 * costs a few stores and, per text value, one hash probe: the SQLite
 * cost is paid once per chunk instead of once per event.
 *
 * Memory: ncols x 4096 x 9 bytes plus the dictionary, per table
 * (~0.6 MiB for sched_switch), whatever the capture size.
 *
 * Keys continue after the rows already in the table (one max() look-up
 * when the writer is made): a row whose key is not above the previous
 * one is refused.  A table whose key is declared HIDDEN (an append
 * ordinal: the analysis tables) may leave the key unset; it then gets
 * the previous key + 1.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "waitchain/coltab.h"
#include "waitchain/util.h"

#define DICT_SLOTS (WC_COLTAB_CHUNK_ROWS * 4)	/* power of two */

struct wc_coltab_writer {
	sqlite3 *db;
	const char *path;
	char *table;
	uint8_t is_text[WC_COLTAB_MAX_COLS];
	struct wc_coltab_chunk ch;
	int ncols;
	int64_t *vals;		/* [CHUNK_ROWS][ncols] */
	uint64_t *nullmask;	/* [CHUNK_ROWS] */
	uint64_t all_null;	/* the mask of a fresh row */
	int64_t last_key;	/* of the previous row, or the table's largest */
	int have_last;
	int hidden_key;		/* column 0 is HIDDEN: may be left unset */
	uint64_t rows;
	/* dictionary of the open chunk */
	char **dict;
	uint32_t *dict_len;
	uint32_t ndict, cap_dict;
	uint32_t *slots;	/* DICT_SLOTS: dictionary index + 1, 0 = free */
	sqlite3_stmt *ins_chunk, *ins_patch, *get_patch;
};

static int dberr(struct wc_coltab_writer *w, const char *what,
		 struct wc_error *err)
{
	return wc_err(err, WC_EDB, w->path, "%s %s: %s", what, w->table,
		      sqlite3_errmsg(w->db));
}

int wc_coltab_writer_new(sqlite3 *db, const char *path, const char *table,
			 struct wc_coltab_writer **out, struct wc_error *err)
{
	struct wc_coltab_writer *w = calloc(1, sizeof(*w));
	sqlite3_stmt *st = NULL;
	char *sql = NULL;
	int rc = 0, ncols = 0;

	*out = NULL;
	if (!w)
		return wc_err(err, WC_ENOMEM, path, "out of memory");
	w->db = db;
	w->path = path;
	w->table = wc_strdup(table);
	if (!w->table)
		goto nomem;
	/* table_xinfo, not table_info: hidden columns count */
	if (sqlite3_prepare_v2(db, "SELECT type, hidden FROM pragma_table_xinfo(?1)"
			       " ORDER BY cid", -1, &st, NULL) != SQLITE_OK) {
		rc = dberr(w, "cannot read the columns of", err);
		goto fail;
	}
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);

		if (ncols == WC_COLTAB_MAX_COLS)
			break;
		if (ncols == 0)
			w->hidden_key = sqlite3_column_int(st, 1) != 0;
		w->is_text[ncols++] = type && strcmp(type, "TEXT") == 0;
	}
	sqlite3_finalize(st);
	if (ncols == 0) {
		rc = wc_err(err, WC_EDB, path, "no columnar table %s", table);
		goto fail;
	}
	sql = sqlite3_mprintf("SELECT max(last) FROM \"%w__chunk\"", table);
	if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto prep;
	sqlite3_free(sql);
	sql = NULL;
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = dberr(w, "cannot read the last key of", err);
		sqlite3_finalize(st);
		goto fail;
	}
	if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
		w->last_key = sqlite3_column_int64(st, 0);
		w->have_last = 1;
	}
	sqlite3_finalize(st);
	w->ch.ncols = w->ncols = ncols;
	w->ch.is_text = w->is_text;
	w->all_null = ncols == 64 ? ~(uint64_t)0 : ((uint64_t)1 << ncols) - 1;
	w->vals = malloc(sizeof(int64_t) * (size_t)ncols * WC_COLTAB_CHUNK_ROWS);
	w->nullmask = malloc(sizeof(uint64_t) * WC_COLTAB_CHUNK_ROWS);
	w->slots = calloc(DICT_SLOTS, sizeof(*w->slots));
	if (!w->vals || !w->nullmask || !w->slots)
		goto nomem;
	w->ch.vals = w->vals;
	w->ch.nullmask = w->nullmask;
	sql = sqlite3_mprintf("INSERT INTO \"%w__chunk\"(first, last, n, zone, data)"
			      " VALUES (?1, ?2, ?3, ?4, ?5)", table);
	if (!sql || sqlite3_prepare_v2(db, sql, -1, &w->ins_chunk, NULL) != SQLITE_OK)
		goto prep;
	sqlite3_free(sql);
	*out = w;
	return 0;
prep:
	rc = sql ? dberr(w, "cannot prepare writes to", err)
		 : wc_err(err, WC_ENOMEM, path, "out of memory");
	sqlite3_free(sql);
	goto fail;
nomem:
	rc = wc_err(err, WC_ENOMEM, path, "out of memory");
fail:
	wc_coltab_writer_free(w);
	return rc;
}

void wc_coltab_row(struct wc_coltab_writer *w)
{
	assert(w->ch.n < WC_COLTAB_CHUNK_ROWS);
	w->nullmask[w->ch.n] = w->all_null;
}

void wc_coltab_set_int(struct wc_coltab_writer *w, int col, int64_t v)
{
	assert(col >= 0 && col < w->ncols && !w->is_text[col]);
	w->vals[(size_t)w->ch.n * (size_t)w->ncols + (size_t)col] = v;
	w->nullmask[w->ch.n] &= ~((uint64_t)1 << col);
}

void wc_coltab_set_null(struct wc_coltab_writer *w, int col)
{
	assert(col >= 0 && col < w->ncols);
	w->nullmask[w->ch.n] |= (uint64_t)1 << col;
}

/* The dictionary index of TEXT in the open chunk, added if new. */
static int64_t dict_index(struct wc_coltab_writer *w, const char *text)
{
	size_t len = strlen(text);
	uint64_t h = wc_hash_bytes(text, len, 0x636f6c746162ULL);
	uint32_t i = (uint32_t)h & (DICT_SLOTS - 1);

	while (w->slots[i]) {
		uint32_t k = w->slots[i] - 1;

		if (w->dict_len[k] == len && memcmp(w->dict[k], text, len) == 0)
			return k;
		i = (i + 1) & (DICT_SLOTS - 1);
	}
	/* at most ncols strings per row, and DICT_SLOTS >= 2x that */
	if (w->ndict == w->cap_dict) {
		uint32_t nc = w->cap_dict ? w->cap_dict * 2 : 256;
		char **d = realloc(w->dict, nc * sizeof(*d));
		uint32_t *l;

		if (!d)
			return -1;
		w->dict = d;
		l = realloc(w->dict_len, nc * sizeof(*l));
		if (!l)
			return -1;
		w->dict_len = l;
		w->cap_dict = nc;
	}
	w->dict[w->ndict] = malloc(len + 1);
	if (!w->dict[w->ndict])
		return -1;
	memcpy(w->dict[w->ndict], text, len + 1);
	w->dict_len[w->ndict] = (uint32_t)len;
	w->slots[i] = ++w->ndict;
	return w->ndict - 1;
}

int wc_coltab_set_text(struct wc_coltab_writer *w, int col, const char *text,
		       struct wc_error *err)
{
	int64_t k;

	assert(col >= 0 && col < w->ncols && w->is_text[col]);
	if (!text) {
		wc_coltab_set_null(w, col);
		return 0;
	}
	/* the dictionary stays below half of DICT_SLOTS: a chunk is cut
	 * early when a table has many distinct strings */
	k = dict_index(w, text);
	if (k < 0)
		return wc_err(err, WC_ENOMEM, w->path, "out of memory");
	w->vals[(size_t)w->ch.n * (size_t)w->ncols + (size_t)col] = k;
	w->nullmask[w->ch.n] &= ~((uint64_t)1 << col);
	return 0;
}

int wc_coltab_writer_flush(struct wc_coltab_writer *w, struct wc_error *err)
{
	unsigned char *data = NULL, *zone = NULL;
	int ndata, nzone, rc;

	if (w->ch.n == 0)
		return 0;
	w->ch.dict = (const char *const *)w->dict;
	w->ch.dict_len = w->dict_len;
	w->ch.ndict = w->ndict;
	rc = wc_coltab_encode(&w->ch, &data, &ndata, &zone, &nzone);
	if (rc != SQLITE_OK)
		return wc_err(err, WC_ENOMEM, w->path, "out of memory encoding %s",
			      w->table);
	sqlite3_bind_int64(w->ins_chunk, 1, w->vals[0]);
	sqlite3_bind_int64(w->ins_chunk, 2,
			   w->vals[(size_t)(w->ch.n - 1) * (size_t)w->ncols]);
	sqlite3_bind_int64(w->ins_chunk, 3, w->ch.n);
	sqlite3_bind_blob(w->ins_chunk, 4, zone, nzone, SQLITE_STATIC);
	sqlite3_bind_blob(w->ins_chunk, 5, data, ndata, SQLITE_STATIC);
	rc = sqlite3_step(w->ins_chunk);
	sqlite3_reset(w->ins_chunk);
	sqlite3_clear_bindings(w->ins_chunk);
	sqlite3_free(data);
	sqlite3_free(zone);
	if (rc != SQLITE_DONE)
		return dberr(w, "cannot write a chunk of", err);
	for (uint32_t i = 0; i < w->ndict; i++)
		free(w->dict[i]);
	w->ndict = 0;
	memset(w->slots, 0, DICT_SLOTS * sizeof(*w->slots));
	w->ch.n = 0;
	return 0;
}

int wc_coltab_append(struct wc_coltab_writer *w, struct wc_error *err)
{
	int64_t *key = &w->vals[(size_t)w->ch.n * (size_t)w->ncols];

	if (w->nullmask[w->ch.n] & 1) {
		/* only a hidden key (an append ordinal) may be left out */
		assert(w->hidden_key);
		if (w->have_last && w->last_key == INT64_MAX)
			return wc_err(err, WC_EDB, w->path, "%s: no key after %lld",
				      w->table, (long long)w->last_key);
		*key = w->have_last ? w->last_key + 1 : 1;
		w->nullmask[w->ch.n] &= ~(uint64_t)1;
	} else if (w->have_last && *key <= w->last_key) {
		return wc_err(err, WC_EDB, w->path, "%s: rows must be appended in"
			      " increasing key order (key %lld after %lld)", w->table,
			      (long long)*key, (long long)w->last_key);
	}
	w->last_key = *key;
	w->have_last = 1;
	w->rows++;
	if (++w->ch.n == WC_COLTAB_CHUNK_ROWS ||
	    w->ndict + (uint32_t)w->ch.ncols > DICT_SLOTS / 2)
		return wc_coltab_writer_flush(w, err);
	return 0;
}

int wc_coltab_patch(struct wc_coltab_writer *w, int64_t key, int n,
		    const int *cols, const int64_t *vals,
		    const uint8_t *present, struct wc_error *err)
{
	int rc;

	assert(n > 0 && n < WC_COLTAB_MAX_COLS);
	if (w->ch.n && key >= w->vals[0]) {	/* row 0, column 0 */
		/* still in the open chunk: keys are increasing, search */
		uint32_t lo = 0, hi = w->ch.n;

		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (w->vals[(size_t)mid * (size_t)w->ncols] < key)
				lo = mid + 1;
			else
				hi = mid;
		}
		assert(lo < w->ch.n && w->vals[(size_t)lo * (size_t)w->ncols] == key);
		for (int i = 0; i < n; i++) {
			uint64_t bit = (uint64_t)1 << cols[i];

			assert(cols[i] > 0 && !w->is_text[cols[i]]);
			w->vals[(size_t)lo * (size_t)w->ncols + (size_t)cols[i]] = vals[i];
			if (present[i])
				w->nullmask[lo] &= ~bit;
			else
				w->nullmask[lo] |= bit;
		}
		return 0;
	}
	/* a written row: one patch row per table row */
	rc = wc_coltab_write_patch(w->db, "main", w->table, &w->get_patch,
				   &w->ins_patch, key, n, cols, vals, present);
	if (rc == SQLITE_FULL)
		return wc_err(err, WC_EDB, w->path, "row %lld of %s patched too often",
			      (long long)key, w->table);
	if (rc != SQLITE_OK)
		return dberr(w, "cannot patch a row of", err);
	return 0;
}

uint64_t wc_coltab_writer_rows(const struct wc_coltab_writer *w)
{
	return w->rows;
}

void wc_coltab_writer_free(struct wc_coltab_writer *w)
{
	if (!w)
		return;
	sqlite3_finalize(w->ins_chunk);
	sqlite3_finalize(w->ins_patch);
	sqlite3_finalize(w->get_patch);
	for (uint32_t i = 0; i < w->ndict; i++)
		free(w->dict[i]);
	free(w->dict);
	free(w->dict_len);
	free(w->slots);
	free(w->vals);
	free(w->nullmask);
	free(w->table);
	free(w);
}
