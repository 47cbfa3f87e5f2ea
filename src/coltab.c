/*
 * coltab.c - the "wc_columnar" SQLite virtual table module: reads (and
 * appends to) tables stored as encoded chunks (coltab.h).
 *
 * Chunk blob (all integers LEB128 varints unless said):
 *
 *     version (1) | n rows | ncols | ncols x column byte length |
 *     column bytes ... | ndict | ndict x (length, bytes)
 *
 * Column bytes: one flags byte (bit 0: the column has NULLs), then if
 * so a bitmap of n bits (1 = NULL), then one varint per non-NULL row:
 * zigzag(value - previous non-NULL value of the column) for integers,
 * the dictionary index for TEXT.
 *
 * Zone map: per column a flag varint (1 = the column has a non-NULL
 * integer) followed by zigzag(min), zigzag(max).
 *
 * Patch blob (t__patch.data): count, then count x (column, flag, zigzag
 * value) with flag 0 = NULL, 1 = integer.
 *
 * The database is our output, but a user may hand us any file: every
 * length and index is checked while decoding; a bad chunk is
 * SQLITE_CORRUPT with the table named, never a crash.
 *
 * Readers: one chunk decoder (struct chunk: copy the blob, parse the
 * header and dictionary, decode the key column, then other columns on
 * first use, patches applied) serves both the virtual table's cursors
 * and the native scans (wc_coltab_scan_*), so that SQL and the analyzer
 * cannot disagree on a row.  A scan holds one chunk in memory (two when
 * it reads ahead on a thread of its own), a cursor the last few it used
 * (SLOTS).
 *
 * Joins on a non-key column filter the inner cursor once per outer row;
 * such a cursor keeps the table's chunk directory (bounds, zone maps
 * widened by the chunks' patches, which chunks have patches: tens of
 * bytes per chunk) after its first filter, and later filters pick chunks
 * from it without running SQL over the chunks they rule out, and skip
 * the rows that fail the constraints themselves.
 *
 * This file depends on SQLite only, so that it also builds as the
 * loadable extension waitchain_sqlite.so (WC_SQLITE_EXTENSION) for the
 * sqlite3 shell and Python; the scans and wc_coltab_clear(), which
 * report through struct wc_error, are left out of that build.
 */
#ifdef WC_SQLITE_EXTENSION
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1
#else
#include <sqlite3.h>
#endif
#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waitchain/coltab.h"
#ifndef WC_SQLITE_EXTENSION
#include "waitchain/util.h"
#endif

/* --- varints ------------------------------------------------------------------ */

static uint64_t zz_enc(int64_t v)
{
	/* sign mask without shifting a signed value */
	return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63));
}

static int64_t zz_dec(uint64_t u)
{
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* Appends V to P (at least 10 bytes of room); returns the new end. */
static unsigned char *put_varint(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

/* Reads a varint from [*P, END); 0 on success, -1 if cut short or too
 * long. */
static int get_varint(const unsigned char **p, const unsigned char *end,
		      uint64_t *out)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 70 && *p < end; shift += 7) {
		unsigned char b = *(*p)++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

/* --- encoding ------------------------------------------------------------------- */

/* Appends the N values of an integer column, V[r * STRIDE], to Q as
 * zigzag varint deltas, skipping the rows whose NULLMASK has BIT (none
 * when BIT is 0); its zone (min, max, HAS: any value) into *MN, *MX,
 * *HAS.  Returns the new end. */
static unsigned char *put_int_column(unsigned char *q, const int64_t *v,
				     size_t stride, uint32_t n,
				     const uint64_t *nullmask, uint64_t bit,
				     int64_t *mn, int64_t *mx, int *has)
{
	int64_t prev = 0, lo = INT64_MAX, hi = INT64_MIN;
	int any = 0;

	for (uint32_t r = 0; r < n; r++) {
		int64_t x;

		if (nullmask[r] & bit)
			continue;
		x = v[(size_t)r * stride];
		q = put_varint(q, zz_enc((int64_t)((uint64_t)x - (uint64_t)prev)));
		prev = x;
		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
		any = 1;
	}
	*mn = any ? lo : 0;
	*mx = any ? hi : 0;
	*has = any;
	return q;
}

/*
 * A pass per column over the row-major values (a chunk, 4096 rows of
 * ncols x 8 bytes, stays in the cache, and each column's branches --
 * NULL or not, varint lengths -- are predictable on their own, where a
 * pass over rows switched column at every value), each column written
 * behind the previous one after room for the header; the header, whose
 * size is only known then, is written into that room and the columns
 * moved up behind it.
 */
int wc_coltab_encode(const struct wc_coltab_chunk *ch, unsigned char **data,
		     int *ndata, unsigned char **zone, int *nzone)
{
	size_t bitmap = (ch->n + 7) / 8, region, max, hdr_room, body;
	int ncols = ch->ncols;
	unsigned char *buf, *z, *zp, *p, *q;
	unsigned char hdr[3 * 10 + WC_COLTAB_MAX_COLS * 10];
	size_t len[WC_COLTAB_MAX_COLS];
	uint64_t anynull = 0;

	*data = *zone = NULL;
	assert(ncols > 0 && ncols <= WC_COLTAB_MAX_COLS);
	/* worst case per column: flags, bitmap, every value a 10-byte varint */
	region = 1 + bitmap + (size_t)ch->n * 10;
	hdr_room = 3 * 10 + (size_t)ncols * 10;
	max = hdr_room + (size_t)ncols * region + 10;
	for (uint32_t i = 0; i < ch->ndict; i++)
		max += 10 + ch->dict_len[i];
	if (max > INT_MAX)
		return SQLITE_TOOBIG;
	buf = sqlite3_malloc64(max);
	z = sqlite3_malloc64((size_t)ncols * 21 + 1);
	if (!buf || !z) {
		sqlite3_free(buf);
		sqlite3_free(z);
		return SQLITE_NOMEM;
	}
	for (uint32_t r = 0; r < ch->n; r++)
		anynull |= ch->nullmask[r];
	q = buf + hdr_room;
	zp = z;
	for (int c = 0; c < ncols; c++) {
		uint64_t bit = (uint64_t)1 << c;
		const int64_t *v = ch->vals + c;
		unsigned char *col = q;
		int64_t mn = 0, mx = 0;
		int has = 0;

		*q++ = (unsigned char)!!(anynull & bit);
		if (anynull & bit) {
			memset(q, 0, bitmap);
			for (uint32_t r = 0; r < ch->n; r++)
				if (ch->nullmask[r] & bit)
					q[r / 8] |= (unsigned char)(1u << (r % 8));
			q += bitmap;
		} else {
			bit = 0;	/* no row to skip */
		}
		if (ch->is_text[c]) {
			for (uint32_t r = 0; r < ch->n; r++)
				if (!(ch->nullmask[r] & bit))
					q = put_varint(q, (uint64_t)v[(size_t)r * (size_t)ncols]);
		} else {
			q = put_int_column(q, v, (size_t)ncols, ch->n, ch->nullmask,
					   bit, &mn, &mx, &has);
		}
		len[c] = (size_t)(q - col);
		zp = put_varint(zp, (uint64_t)has);
		if (has) {
			zp = put_varint(zp, zz_enc(mn));
			zp = put_varint(zp, zz_enc(mx));
		}
	}
	body = (size_t)(q - (buf + hdr_room));
	/* the header, then the columns moved up behind it, then the
	 * dictionary */
	p = hdr;
	p = put_varint(p, 1);
	p = put_varint(p, ch->n);
	p = put_varint(p, (uint64_t)ncols);
	for (int c = 0; c < ncols; c++)
		p = put_varint(p, (uint64_t)len[c]);
	assert((size_t)(p - hdr) <= hdr_room);
	memcpy(buf, hdr, (size_t)(p - hdr));
	memmove(buf + (p - hdr), buf + hdr_room, body);
	p = buf + (p - hdr) + body;
	p = put_varint(p, ch->ndict);
	for (uint32_t i = 0; i < ch->ndict; i++) {
		p = put_varint(p, ch->dict_len[i]);
		memcpy(p, ch->dict[i], ch->dict_len[i]);
		p += ch->dict_len[i];
	}
	*data = buf;
	*ndata = (int)(p - buf);
	*zone = z;
	*nzone = (int)(zp - z);
	return SQLITE_OK;
}

/* --- patches ------------------------------------------------------------------------ */

int wc_coltab_write_patch(sqlite3 *db, const char *schema, const char *table,
			  sqlite3_stmt **get, sqlite3_stmt **put, int64_t key,
			  int n, const int *cols, const int64_t *vals,
			  const uint8_t *present)
{
	unsigned char buf[1 + 127 * 12], *p = buf;
	int rc;

	wc_coltab_touch();	/* chunk directories read before are outdated */
	if (n <= 0 || n > WC_COLTAB_MAX_COLS)
		return SQLITE_MISUSE;
	if (!*get) {
		char *sql = sqlite3_mprintf("SELECT data FROM \"%w\".\"%w__patch\" WHERE row = ?1",
					    schema, table);

		rc = sql ? sqlite3_prepare_v2(db, sql, -1, get, NULL) : SQLITE_NOMEM;
		sqlite3_free(sql);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (!*put) {
		char *sql = sqlite3_mprintf("INSERT INTO \"%w\".\"%w__patch\"(row, data)"
					    " VALUES (?1, ?2) ON CONFLICT(row) DO UPDATE"
					    " SET data = excluded.data", schema, table);

		rc = sql ? sqlite3_prepare_v2(db, sql, -1, put, NULL) : SQLITE_NOMEM;
		sqlite3_free(sql);
		if (rc != SQLITE_OK)
			return rc;
	}
	/* an earlier patch of the row is kept, the new entries follow it
	 * (readers apply entries in order: the last one wins) */
	*p++ = 0;
	sqlite3_bind_int64(*get, 1, key);
	if (sqlite3_step(*get) == SQLITE_ROW) {
		const unsigned char *old = sqlite3_column_blob(*get, 0);
		int nold = sqlite3_column_bytes(*get, 0);

		if (!old || nold < 1 || old[0] + n > 127 ||
		    (size_t)nold + (size_t)n * 12 > sizeof(buf)) {
			sqlite3_reset(*get);
			return SQLITE_FULL;
		}
		memcpy(buf, old, (size_t)nold);
		p = buf + nold;
	}
	sqlite3_reset(*get);
	buf[0] = (unsigned char)(buf[0] + n);
	for (int i = 0; i < n; i++) {
		*p++ = (unsigned char)cols[i];	/* < 64: a one-byte varint */
		*p++ = (unsigned char)!!present[i];
		if (present[i])
			p = put_varint(p, zz_enc(vals[i]));
	}
	sqlite3_bind_int64(*put, 1, key);
	sqlite3_bind_blob(*put, 2, buf, (int)(p - buf), SQLITE_STATIC);
	rc = sqlite3_step(*put);
	sqlite3_reset(*put);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* --- decoding one chunk: shared by the virtual table's cursors and scans ----------- */

/* A patch entry of the current chunk: row index, column, new value. */
struct cpatch {
	uint32_t row;
	int col;
	int is_null;
	int64_t v;
};

/*
 * One chunk being read.  The blob is copied (dictionary strings point
 * into the copy), the key column is decoded on load, the others on first
 * use; a column's patches are applied as it is decoded.  Buffers are
 * kept from one chunk to the next and sized for WC_COLTAB_CHUNK_ROWS, so
 * a reader holds one chunk's worth of memory whatever the table size.
 */
struct chunk {
	int ncols;
	const uint8_t *is_text;	/* per column, borrowed from the reader */
	const char *what;	/* after SQLITE_CORRUPT: what is wrong (static text) */
	unsigned char *blob;	/* copy of the chunk blob */
	size_t nblob, cap_blob;
	uint32_t n;		/* rows of the loaded chunk, 0 = none loaded */
	size_t col_off[WC_COLTAB_MAX_COLS], col_len[WC_COLTAB_MAX_COLS];
	int64_t *vals[WC_COLTAB_MAX_COLS];	/* [cap_rows], valid when decoded */
	uint8_t *nulls[WC_COLTAB_MAX_COLS];	/* [cap_rows]: 1 = NULL */
	uint8_t decoded[WC_COLTAB_MAX_COLS];
	uint32_t cap_rows;
	const unsigned char **dict;	/* into blob, not NUL-terminated */
	uint32_t *dict_len;
	uint32_t ndict, cap_dict;
	struct cpatch *pat;	/* patches of the loaded chunk, in write order */
	size_t npat, cap_pat;
};

/* Records what is corrupt; SQLITE_CORRUPT.  The reader turns it into its
 * own error (the vtab's message, or a struct wc_error for scans). */
static int bad(struct chunk *d, const char *what)
{
	d->what = what;
	return SQLITE_CORRUPT;
}

/* Frees D's buffers (not D). */
static void chunk_free(struct chunk *d)
{
	sqlite3_free(d->blob);
	for (int i = 0; i < WC_COLTAB_MAX_COLS; i++) {
		sqlite3_free(d->vals[i]);
		sqlite3_free(d->nulls[i]);
	}
	sqlite3_free(d->dict);
	sqlite3_free(d->dict_len);
	sqlite3_free(d->pat);
}

/* Parses the blob's header and dictionary (columns are decoded lazily by
 * chunk_col()). */
static int chunk_parse(struct chunk *d)
{
	const unsigned char *p = d->blob, *end = d->blob + d->nblob;
	uint64_t ver, n, ncols, ndict;
	size_t off;

	if (get_varint(&p, end, &ver) || ver != 1)
		return bad(d, "version");
	if (get_varint(&p, end, &n) || n == 0 || n > WC_COLTAB_CHUNK_ROWS)
		return bad(d, "row count");
	if (get_varint(&p, end, &ncols) || ncols != (uint64_t)d->ncols)
		return bad(d, "column count");
	off = 0;
	for (int i = 0; i < d->ncols; i++) {
		uint64_t len;

		if (get_varint(&p, end, &len) || len > (uint64_t)(end - p))
			return bad(d, "column length");
		d->col_len[i] = (size_t)len;
		d->col_off[i] = off;
		off += (size_t)len;
	}
	if (off > (size_t)(end - p))
		return bad(d, "column bytes");
	for (int i = 0; i < d->ncols; i++)
		d->col_off[i] += (size_t)(p - d->blob);
	p += off;
	if (get_varint(&p, end, &ndict) || ndict > (uint64_t)(end - p))
		return bad(d, "dictionary size");
	if (ndict > d->cap_dict) {
		const unsigned char **dd = sqlite3_realloc64(d->dict, ndict * sizeof(*dd));
		uint32_t *l = dd ? sqlite3_realloc64(d->dict_len, ndict * sizeof(*l)) : NULL;

		if (dd)
			d->dict = dd;
		if (!dd || !l)
			return SQLITE_NOMEM;
		d->dict_len = l;
		d->cap_dict = (uint32_t)ndict;
	}
	for (uint64_t i = 0; i < ndict; i++) {
		uint64_t len;

		if (get_varint(&p, end, &len) || len > (uint64_t)(end - p))
			return bad(d, "dictionary string");
		d->dict[i] = p;
		d->dict_len[i] = (uint32_t)len;
		p += len;
	}
	d->ndict = (uint32_t)ndict;
	if (n > d->cap_rows) {
		for (int i = 0; i < WC_COLTAB_MAX_COLS; i++) {
			sqlite3_free(d->vals[i]);
			sqlite3_free(d->nulls[i]);
			d->vals[i] = NULL;
			d->nulls[i] = NULL;
		}
		d->cap_rows = WC_COLTAB_CHUNK_ROWS;
	}
	d->n = (uint32_t)n;
	return SQLITE_OK;
}

/* Decodes column COL of the loaded chunk and applies its patches. */
static int chunk_col(struct chunk *d, int col)
{
	const unsigned char *p, *end;
	int64_t prev = 0;
	int64_t *v;
	uint8_t *nl;

	assert(d->n > 0 && col >= 0 && col < d->ncols);
	p = d->blob + d->col_off[col];
	end = p + d->col_len[col];
	if (!d->vals[col]) {
		d->vals[col] = sqlite3_malloc64(sizeof(int64_t) * d->cap_rows);
		d->nulls[col] = sqlite3_malloc64(d->cap_rows);
		if (!d->vals[col] || !d->nulls[col])
			return SQLITE_NOMEM;
	}
	v = d->vals[col];
	nl = d->nulls[col];
	if (p >= end)
		return bad(d, "empty column");
	if (*p++ & 1) {
		size_t bm = (d->n + 7) / 8;

		if ((size_t)(end - p) < bm)
			return bad(d, "null bitmap");
		for (uint32_t r = 0; r < d->n; r++)
			nl[r] = (uint8_t)((p[r / 8] >> (r % 8)) & 1);
		p += bm;
	} else {
		memset(nl, 0, d->n);
	}
	for (uint32_t r = 0; r < d->n; r++) {
		uint64_t u;

		if (nl[r]) {
			v[r] = 0;
			continue;
		}
		if (get_varint(&p, end, &u))
			return bad(d, "column value");
		if (d->is_text[col]) {
			if (u >= d->ndict)
				return bad(d, "dictionary index");
			v[r] = (int64_t)u;
		} else {
			prev = (int64_t)((uint64_t)prev + (uint64_t)zz_dec(u));
			v[r] = prev;
		}
	}
	if (col == 0) {
		for (uint32_t r = 0; r < d->n; r++)
			if (nl[r] || (r && v[r] <= v[r - 1]))
				return bad(d, "keys not increasing");
	}
	for (size_t i = 0; i < d->npat; i++)
		if (d->pat[i].col == col) {
			nl[d->pat[i].row] = (uint8_t)d->pat[i].is_null;
			v[d->pat[i].row] = d->pat[i].v;
		}
	d->decoded[col] = 1;
	return SQLITE_OK;
}

/* Index of the first row of the loaded chunk whose key is >= KEY (n
 * when none); the key column is decoded. */
static uint32_t lower_bound(const struct chunk *d, int64_t key)
{
	uint32_t lo = 0, hi = d->n;

	assert(d->decoded[0]);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (d->vals[0][mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Row index of KEY in the loaded chunk, or -1. */
static int64_t row_of_key(const struct chunk *d, int64_t key)
{
	uint32_t r = lower_bound(d, key);

	return r < d->n && d->vals[0][r] == key ? (int64_t)r : -1;
}

/*
 * Loads the chunk row (FIRST, LAST, N, DATA): copies DATA, parses it,
 * decodes the key column and checks it against the row's bounds.  No
 * patches yet (chunk_patches()).  On error nothing is loaded (d->n 0).
 */
static int chunk_load(struct chunk *d, const void *data, int ndata,
		      int64_t first, int64_t last, int64_t n)
{
	int rc;

	d->n = 0;
	d->npat = 0;
	memset(d->decoded, 0, sizeof(d->decoded));
	if (!data || ndata <= 0)
		return bad(d, "no data");
	if ((size_t)ndata > d->cap_blob) {
		unsigned char *b = sqlite3_realloc64(d->blob, (size_t)ndata);

		if (!b)
			return SQLITE_NOMEM;
		d->blob = b;
		d->cap_blob = (size_t)ndata;
	}
	memcpy(d->blob, data, (size_t)ndata);
	d->nblob = (size_t)ndata;
	if ((rc = chunk_parse(d)) == SQLITE_OK && (rc = chunk_col(d, 0)) == SQLITE_OK &&
	    (d->n != (uint64_t)n || d->vals[0][0] != first ||
	     d->vals[0][d->n - 1] != last))
		rc = bad(d, "chunk bounds");
	if (rc != SQLITE_OK)
		d->n = 0;
	return rc;
}

/* The query of the patch rows of a key range (?1, ?2), for
 * chunk_patches(); caller frees with sqlite3_free(). */
static char *patch_sql(const char *schema, const char *table)
{
	return sqlite3_mprintf("SELECT row, data FROM \"%w\".\"%w__patch\""
			       " WHERE row BETWEEN ?1 AND ?2", schema, table);
}

/* Reads the patches of the loaded chunk [FIRST, LAST] through ST (a
 * patch_sql() statement; bound, stepped and reset here) into d->pat, row
 * indexes resolved through the key column, and applies them to the
 * columns already decoded. */
static int chunk_patches(struct chunk *d, sqlite3_stmt *st, int64_t first,
			 int64_t last)
{
	int rc;

	assert(d->n > 0 && d->decoded[0]);
	d->npat = 0;
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, last);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t key = sqlite3_column_int64(st, 0), row;
		const unsigned char *p = sqlite3_column_blob(st, 1);
		const unsigned char *end;
		uint64_t cnt;

		if (!p) {
			rc = bad(d, "empty patch");
			break;
		}
		end = p + sqlite3_column_bytes(st, 1);
		row = row_of_key(d, key);
		if (row < 0 || get_varint(&p, end, &cnt) || cnt > 127) {
			rc = bad(d, "patch");
			break;
		}
		for (uint64_t i = 0; i < cnt; i++) {
			uint64_t col, flag, u = 0;

			if (get_varint(&p, end, &col) || col == 0 ||
			    col >= (uint64_t)d->ncols || d->is_text[col] ||
			    get_varint(&p, end, &flag) || flag > 1 ||
			    (flag && get_varint(&p, end, &u))) {
				rc = bad(d, "patch value");
				goto out;
			}
			if (d->npat == d->cap_pat) {
				size_t nc = d->cap_pat ? d->cap_pat * 2 : 64;
				struct cpatch *np = sqlite3_realloc64(d->pat, nc * sizeof(*np));

				if (!np) {
					rc = SQLITE_NOMEM;
					goto out;
				}
				d->pat = np;
				d->cap_pat = nc;
			}
			d->pat[d->npat].row = (uint32_t)row;
			d->pat[d->npat].col = (int)col;
			d->pat[d->npat].is_null = !flag;
			d->pat[d->npat].v = flag ? zz_dec(u) : 0;
			d->npat++;
		}
	}
out:
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	/* columns decoded before the patches were known get them now (the
	 * key column never has any) */
	for (int col = 1; rc == SQLITE_OK && col < d->ncols; col++)
		if (d->decoded[col])
			rc = chunk_col(d, col);
	if (rc != SQLITE_OK)
		d->n = 0;
	return rc;
}

/* Reads a zone map (ncols x (flag, zigzag min, zigzag max)) into MN/MX
 * and *HAS (bit c: column c has a non-NULL integer).  0, or -1 when the
 * map is missing or malformed (it then rules nothing out). */
static int zone_parse(int ncols, const unsigned char *z, int nz, int64_t *mn,
		      int64_t *mx, uint64_t *has)
{
	const unsigned char *end;

	*has = 0;
	if (!z || nz <= 0)
		return -1;
	end = z + nz;
	for (int i = 0; i < ncols; i++) {
		uint64_t flag, a, b;

		mn[i] = mx[i] = 0;
		if (get_varint(&z, end, &flag))
			return -1;
		if (flag) {
			if (get_varint(&z, end, &a) || get_varint(&z, end, &b))
				return -1;
			mn[i] = zz_dec(a);
			mx[i] = zz_dec(b);
			*has |= (uint64_t)1 << i;
		}
	}
	return 0;
}

/* --- the virtual table ------------------------------------------------------------ */

struct ctab {
	sqlite3_vtab base;
	sqlite3 *db;
	char *schema;		/* database name ("main") */
	char *name;		/* table name */
	int ncols;
	uint8_t is_text[WC_COLTAB_MAX_COLS];
	/* bumped by every INSERT and UPDATE through the module: cursors
	 * drop what they cached of an older state of the table */
	uint64_t gen;
	struct cdirs *dirs;	/* the latest chunk directory, or NULL */
	/* the decoded chunks of the last cursor closed, for the next one:
	 * a statement run once per value (a correlated subquery, a look-up
	 * per outer row) opens a cursor each time, and consecutive values
	 * are usually in the same chunk */
	struct cslot *park;	/* SLOTS entries, or NULL */
};

/* One chunk of a chunk directory: its t__chunk row. */
struct cdir {
	int64_t first, last, n;
	uint64_t has;		/* zone map: bit c = column c has min and max */
	uint8_t zoned;		/* the zone map (widened by the chunk's patches)
				 * was readable; else the chunk is never excluded */
	uint8_t patched;	/* t__patch has rows in [first, last] */
};

/*
 * When something cached from a table (its chunk directory, a decoded
 * chunk) was read: the table's generation (writes through this module
 * instance), the process-wide write epoch (wc_coltab_touch(): the bulk
 * writer, patches, clear) and the database's data version (commits by
 * other connections).  The cache is kept while all three are unchanged.
 */
struct cstamp {
	uint64_t gen, epoch;
	unsigned dv;
};

/*
 * A table's chunk directory (every chunk's bounds, zone map and "has
 * patches" flag), read once and shared by the table's cursors until the
 * table changes: loading it reads a page of t__chunk per chunk, too much
 * for every look-up of a nested-loop join or of a statement run once per
 * value.  Reference-counted: a cursor keeps the one it walks even when
 * a write makes the table load a newer one.  Valid while its stamp is
 * the table's (struct cstamp).
 */
struct cdirs {
	int refs;
	struct cstamp at;	/* the table it was read from */
	struct cdir *dir;
	int64_t *zmin, *zmax;	/* [ndir][ncols] */
	size_t ndir, cap;
	/* bit c: every chunk has a zone map of column c, and its minima and
	 * maxima never decrease from chunk to chunk (a column that grows
	 * with the rows, like stack_frame.stack_id or chain.block_id): a
	 * look-up by value then binary-searches its chunk */
	uint64_t sorted;
};

/* Process-wide count of writes to columnar tables outside a module
 * instance's own INSERT/UPDATE (see struct cstamp). */
static _Atomic unsigned long long coltab_epoch;

void wc_coltab_touch(void)
{
	coltab_epoch++;
}

static void cdirs_unref(struct cdirs *d)
{
	if (!d || --d->refs > 0)
		return;
	sqlite3_free(d->dir);
	sqlite3_free(d->zmin);
	sqlite3_free(d->zmax);
	sqlite3_free(d);
}

/* The database's data version (SQLITE_FCNTL_DATA_VERSION), 0 if unknown. */
static unsigned data_version(const struct ctab *t)
{
	unsigned v = 0;

	if (sqlite3_file_control(t->db, t->schema, SQLITE_FCNTL_DATA_VERSION,
				 &v) != SQLITE_OK)
		return 0;
	return v;
}

/* The table as it is now (see struct cstamp). */
static struct cstamp stamp_now(const struct ctab *t)
{
	struct cstamp s = { t->gen, coltab_epoch, data_version(t) };

	return s;
}

/* Was what is stamped A read from the table as it is when stamped B? */
static int stamp_same(const struct cstamp *a, const struct cstamp *b)
{
	return a->gen == b->gen && a->epoch == b->epoch && a->dv == b->dv;
}

/* Chunks a cursor keeps decoded, least recently used replaced: a join
 * looking values up outer row after outer row finds them in the same
 * few chunks (a value near a chunk boundary or in the overlapping zone
 * maps of neighbours; a chunk whose patches widened its zone map). */
#define SLOTS 4

struct cslot {
	struct chunk ch;
	int have;		/* ch holds the chunk that starts at key first */
	int64_t first;
	struct cstamp at;	/* ... as the table was then */
	uint64_t used;		/* when it last became current (LRU) */
};

/*
 * A cursor: the current chunk and where the scan is.  Scans with
 * constraints on non-key columns walk an in-memory chunk directory
 * (struct cdirs, shared by the table's cursors) and fetch only the
 * chunks it cannot rule out: a
 * nested-loop join filters this cursor once per outer row, and must not
 * run SQL over every chunk each time.  Within a chunk, rows failing
 * those constraints are skipped here (SQLite still checks the rows it
 * gets: nothing is omitted), so a look-up returns its few rows rather
 * than a chunk's.  Other scans read t__chunk in key order.  Either way
 * a chunk that is already decoded is reused.
 */
struct ccur {
	sqlite3_vtab_cursor base;
	sqlite3_stmt *chunks;	/* chunk rows of a key range */
	sqlite3_stmt *fetch;	/* one chunk row, by first */
	sqlite3_stmt *patches;	/* patch rows of one chunk */
	int eof;
	int64_t lo, hi;		/* key bounds (inclusive) */
	int single;		/* look-up served from the decoded chunk */
	int ncons;		/* zone-map constraints */
	int con_col[16], con_op[16];
	int64_t con_val[16];
	/* decoded chunks */
	struct cslot slot[SLOTS];
	struct chunk *ch;	/* the current one (a slot's), NULL before the first */
	uint32_t row;		/* the current row of ch */
	uint64_t tick;		/* LRU clock of the slots */
	/* the chunk directory (filters with non-key constraints) */
	int use_dir;		/* this filter walks it */
	struct cdirs *ds;	/* a reference, or NULL */
	size_t dir_pos, dir_end;	/* the chunks [dir_pos, dir_end) to walk */
};

static int corrupt(struct ctab *t, const char *what)
{
	sqlite3_free(t->base.zErrMsg);
	t->base.zErrMsg = sqlite3_mprintf("columnar table %s: corrupt chunk (%s)",
					  t->name, what);
	return SQLITE_CORRUPT;
}

/* RC of a decoder call on chunk D, with the table's message set when
 * the chunk is corrupt. */
static int chunk_err(struct ctab *t, struct chunk *d, int rc)
{
	if (rc == SQLITE_CORRUPT && d->what) {
		rc = corrupt(t, d->what);
		d->what = NULL;
	}
	return rc;
}

/* Parses one column declaration "name [type] [HIDDEN]" (comments
 * skipped).  Writes "name TYPE [HIDDEN]" into OUT (sqlite3_str) and sets
 * *IS_TEXT. */
static int parse_column(const char *arg, sqlite3_str *out, uint8_t *is_text)
{
	char clean[512];
	size_t n = 0;
	const char *s = arg;
	char *name, *tok, *type = NULL, *save = NULL;
	int hidden = 0;

	while (*s && n + 1 < sizeof(clean)) {
		if (s[0] == '-' && s[1] == '-') {
			while (*s && *s != '\n')
				s++;
			continue;
		}
		if (s[0] == '/' && s[1] == '*') {
			const char *e = strstr(s + 2, "*/");

			s = e ? e + 2 : s + strlen(s);
			continue;
		}
		clean[n++] = *s == '\n' || *s == '\t' || *s == '\r' ? ' ' : *s;
		s++;
	}
	clean[n] = 0;
	name = strtok_r(clean, " ", &save);
	if (!name)
		return SQLITE_ERROR;
	for (const char *c = name; *c; c++)
		if (!(*c == '_' || (*c >= 'a' && *c <= 'z') ||
		      (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
			return SQLITE_ERROR;
	/* the type is the first word after the name that is not HIDDEN */
	while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
		if (sqlite3_stricmp(tok, "HIDDEN") == 0)
			hidden = 1;
		else if (!type)
			type = tok;
	}
	*is_text = type && sqlite3_stricmp(type, "TEXT") == 0;
	/* SQLite reads HIDDEN in a virtual table's declared types */
	sqlite3_str_appendf(out, "%s %s%s", name, *is_text ? "TEXT" : "INTEGER",
			    hidden ? " HIDDEN" : "");
	return SQLITE_OK;
}

static int ctab_init(sqlite3 *db, int argc, const char *const *argv,
		     sqlite3_vtab **vt, char **errmsg, int create)
{
	struct ctab *t;
	sqlite3_str *decl;
	char *sql;
	int rc;

	if (argc - 3 < 1 || argc - 3 > WC_COLTAB_MAX_COLS) {
		*errmsg = sqlite3_mprintf("wc_columnar: 1 to %d column declarations expected",
					  WC_COLTAB_MAX_COLS);
		return SQLITE_ERROR;
	}
	t = sqlite3_malloc(sizeof(*t));
	if (!t)
		return SQLITE_NOMEM;
	memset(t, 0, sizeof(*t));
	t->db = db;
	t->schema = sqlite3_mprintf("%s", argv[1]);
	t->name = sqlite3_mprintf("%s", argv[2]);
	t->ncols = argc - 3;
	decl = sqlite3_str_new(db);
	sqlite3_str_appendall(decl, "CREATE TABLE x(");
	for (int i = 0; i < t->ncols; i++) {
		if (i)
			sqlite3_str_appendall(decl, ", ");
		if (parse_column(argv[3 + i], decl, &t->is_text[i]) != SQLITE_OK) {
			*errmsg = sqlite3_mprintf("wc_columnar: bad column declaration \"%s\"",
						  argv[3 + i]);
			sqlite3_free(sqlite3_str_finish(decl));
			goto fail;
		}
	}
	sqlite3_str_appendall(decl, ")");
	sql = sqlite3_str_finish(decl);
	if (!sql || !t->schema || !t->name || t->is_text[0]) {
		sqlite3_free(sql);
		if (t->is_text[0])
			*errmsg = sqlite3_mprintf("wc_columnar: the key (first column) must be an integer");
		goto fail;
	}
	rc = sqlite3_declare_vtab(db, sql);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		goto fail;
	if (create) {
		sql = sqlite3_mprintf(
			"CREATE TABLE \"%w\".\"%w__chunk\"(first INTEGER PRIMARY KEY,"
			" last INTEGER NOT NULL, n INTEGER NOT NULL, zone BLOB,"
			" data BLOB NOT NULL);"
			"CREATE TABLE \"%w\".\"%w__patch\"(row INTEGER PRIMARY KEY,"
			" data BLOB NOT NULL);",
			t->schema, t->name, t->schema, t->name);
		rc = sql ? sqlite3_exec(db, sql, NULL, NULL, errmsg) : SQLITE_NOMEM;
		sqlite3_free(sql);
		if (rc != SQLITE_OK)
			goto fail;
	}
	*vt = &t->base;
	return SQLITE_OK;
fail:
	sqlite3_free(t->schema);
	sqlite3_free(t->name);
	sqlite3_free(t);
	return SQLITE_ERROR;
}

static int ctab_create(sqlite3 *db, void *aux, int argc, const char *const *argv,
		       sqlite3_vtab **vt, char **errmsg)
{
	(void)aux;
	return ctab_init(db, argc, argv, vt, errmsg, 1);
}

static int ctab_connect(sqlite3 *db, void *aux, int argc,
			const char *const *argv, sqlite3_vtab **vt,
			char **errmsg)
{
	(void)aux;
	return ctab_init(db, argc, argv, vt, errmsg, 0);
}

static int ctab_disconnect(sqlite3_vtab *vt)
{
	struct ctab *t = (struct ctab *)vt;

	cdirs_unref(t->dirs);
	if (t->park)
		for (int i = 0; i < SLOTS; i++)
			chunk_free(&t->park[i].ch);
	sqlite3_free(t->park);
	sqlite3_free(t->schema);
	sqlite3_free(t->name);
	sqlite3_free(t);
	return SQLITE_OK;
}

static int ctab_destroy(sqlite3_vtab *vt)
{
	struct ctab *t = (struct ctab *)vt;
	char *sql = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\".\"%w__chunk\";"
				    "DROP TABLE IF EXISTS \"%w\".\"%w__patch\";",
				    t->schema, t->name, t->schema, t->name);
	int rc = sql ? sqlite3_exec(t->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;

	sqlite3_free(sql);
	if (rc == SQLITE_OK)
		ctab_disconnect(vt);
	return rc;
}

enum { OP_EQ, OP_GT, OP_GE, OP_LT, OP_LE };

/*
 * Plans a scan: constraints on the key (column 0 or the rowid) bound the
 * chunks read; EQ/GT/GE/LT/LE constraints on other integer columns are
 * checked against each chunk's zone map.  Nothing is omitted: SQLite
 * still tests every row, we only skip chunks that cannot match.
 * idxStr lists "column:op" pairs in argv order.
 *
 * Costs (1 per row a full scan steps through): a key look-up reads one
 * chunk; an EQ on another integer column (block_holder.block_id, nearly
 * increasing with the key) typically falls in one or two chunks' zone
 * maps, which the cursor finds in its in-memory chunk directory: ~2
 * chunks' rows, far below a scan, so that the planner makes such a
 * table the inner loop of a join on that column.  (A column that does
 * not follow the key, cpu or tid, has every chunk in range: such a
 * look-up costs a scan, and the estimate is then wrong.)
 */
static int ctab_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
	struct ctab *t = (struct ctab *)vt;
	char plan[16 * 8 + 1];
	size_t len = 0;
	int argi = 0, key_eq = 0, key_range = 0, col_eq = 0;

	plan[0] = 0;
	for (int i = 0; i < info->nConstraint && argi < 16; i++) {
		const struct sqlite3_index_constraint *c = &info->aConstraint[i];
		int col = c->iColumn < 0 ? 0 : c->iColumn, op;

		if (!c->usable || col >= t->ncols || t->is_text[col])
			continue;
		switch (c->op) {
		case SQLITE_INDEX_CONSTRAINT_EQ: op = OP_EQ; break;
		case SQLITE_INDEX_CONSTRAINT_GT: op = OP_GT; break;
		case SQLITE_INDEX_CONSTRAINT_GE: op = OP_GE; break;
		case SQLITE_INDEX_CONSTRAINT_LT: op = OP_LT; break;
		case SQLITE_INDEX_CONSTRAINT_LE: op = OP_LE; break;
		default: continue;
		}
		info->aConstraintUsage[i].argvIndex = ++argi;
		info->aConstraintUsage[i].omit = 0;
		len += (size_t)snprintf(plan + len, sizeof(plan) - len, "%02d%d,",
					col, op);
		if (col == 0) {
			if (op == OP_EQ)
				key_eq = 1;
			else
				key_range = 1;
		} else if (op == OP_EQ) {
			col_eq = 1;
		}
	}
	if (info->nOrderBy == 1 && !info->aOrderBy[0].desc &&
	    (info->aOrderBy[0].iColumn == 0 || info->aOrderBy[0].iColumn < 0))
		info->orderByConsumed = 1;
	if (key_eq) {
		info->estimatedCost = 20;
		info->estimatedRows = 1;
		info->idxFlags = SQLITE_INDEX_SCAN_UNIQUE;
	} else if (col_eq) {
		info->estimatedCost = 2 * WC_COLTAB_CHUNK_ROWS;
		info->estimatedRows = 2 * WC_COLTAB_CHUNK_ROWS;
	} else if (key_range) {
		info->estimatedCost = 250000;
		info->estimatedRows = 100000;
	} else {
		info->estimatedCost = argi ? 500000 : 1000000;
		info->estimatedRows = argi ? 200000 : 1000000;
	}
	if (argi) {
		info->idxStr = sqlite3_mprintf("%s", plan);
		if (!info->idxStr)
			return SQLITE_NOMEM;
		info->needToFreeIdxStr = 1;
	}
	return SQLITE_OK;
}

static int ctab_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
	struct ctab *t = (struct ctab *)vt;
	struct ccur *c = sqlite3_malloc(sizeof(*c));

	if (!c)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < SLOTS; i++) {
		c->slot[i].ch.ncols = t->ncols;
		c->slot[i].ch.is_text = t->is_text;
	}
	if (t->park) {
		struct cstamp now = stamp_now(t);

		for (int i = 0; i < SLOTS; i++) {
			struct cslot *p = &t->park[i];

			if (p->have && stamp_same(&p->at, &now)) {
				chunk_free(&c->slot[i].ch);
				c->slot[i] = *p;
				c->slot[i].used = 0;
			} else {
				chunk_free(&p->ch);
			}
			memset(p, 0, sizeof(*p));
		}
	}
	c->eof = 1;
	*out = &c->base;
	return SQLITE_OK;
}

static int ctab_close(sqlite3_vtab_cursor *cur)
{
	struct ccur *c = (struct ccur *)cur;
	struct ctab *t = (struct ctab *)cur->pVtab;

	sqlite3_finalize(c->chunks);
	sqlite3_finalize(c->fetch);
	sqlite3_finalize(c->patches);
	if (!t->park && (t->park = sqlite3_malloc(SLOTS * sizeof(*t->park))))
		memset(t->park, 0, SLOTS * sizeof(*t->park));
	for (int i = 0; i < SLOTS; i++) {
		if (t->park) {
			chunk_free(&t->park[i].ch);
			t->park[i] = c->slot[i];
		} else {
			chunk_free(&c->slot[i].ch);
		}
	}
	cdirs_unref(c->ds);
	sqlite3_free(c);
	return SQLITE_OK;
}

/* Prepares *ST from SQL (freed here; NULL: out of memory) unless it is
 * prepared already. */
static int prepare_once(struct ctab *t, sqlite3_stmt **st, char *sql)
{
	int rc = SQLITE_OK;

	if (!*st)
		rc = sql ? sqlite3_prepare_v2(t->db, sql, -1, st, NULL) : SQLITE_NOMEM;
	sqlite3_free(sql);
	return rc;
}

/* Widens directory entry I's zone map by the patch blob P of one of its
 * rows (a patch may move a value outside the written zone map); a blob
 * that does not parse leaves the chunk never excluded (reading it will
 * report the corruption). */
static void dir_patch(const struct ctab *t, struct cdirs *d, size_t i,
		      const unsigned char *p, int np)
{
	struct cdir *e = &d->dir[i];
	int64_t *mn = d->zmin + i * (size_t)t->ncols;
	int64_t *mx = d->zmax + i * (size_t)t->ncols;
	const unsigned char *end = p ? p + np : NULL;
	uint64_t cnt;

	e->patched = 1;
	if (!p || get_varint(&p, end, &cnt) || cnt > 127) {
		e->zoned = 0;
		return;
	}
	for (uint64_t k = 0; k < cnt; k++) {
		uint64_t col, flag, u = 0;
		int64_t v;

		if (get_varint(&p, end, &col) || col == 0 || col >= (uint64_t)t->ncols ||
		    t->is_text[col] || get_varint(&p, end, &flag) || flag > 1 ||
		    (flag && get_varint(&p, end, &u))) {
			e->zoned = 0;
			return;
		}
		if (!flag)
			continue;	/* a NULL matches nothing: no widening */
		v = zz_dec(u);
		if (!(e->has & ((uint64_t)1 << col))) {
			e->has |= (uint64_t)1 << col;
			mn[col] = mx[col] = v;
		} else if (v < mn[col]) {
			mn[col] = v;
		} else if (v > mx[col]) {
			mx[col] = v;
		}
	}
}

/*
 * Reads the chunk directory into D: every t__chunk row's bounds and
 * parsed zone map (not the data), then the patches, marking the chunks that
 * hold patched rows and widening their zone maps by the patched values.
 * Memory: ~40 bytes per chunk plus 16 per column and chunk (a 50M-row
 * table: 12k chunks, ~2 MiB).
 */
static int dir_read(struct ctab *t, struct cdirs *d)
{
	sqlite3_stmt *st = NULL;
	char *sql;
	size_t i = 0;
	int rc;

	sql = sqlite3_mprintf("SELECT first, last, n, zone FROM \"%w\".\"%w__chunk\""
			      " ORDER BY first", t->schema, t->name);
	if ((rc = prepare_once(t, &st, sql)) != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cdir *e;
		size_t at;

		if (d->ndir == d->cap) {
			size_t nc = d->cap ? d->cap * 2 : 64;
			size_t per = (size_t)t->ncols * sizeof(int64_t);
			struct cdir *nd = sqlite3_realloc64(d->dir, nc * sizeof(*nd));
			int64_t *mn = nd ? sqlite3_realloc64(d->zmin, nc * per) : NULL;
			int64_t *mx = mn ? sqlite3_realloc64(d->zmax, nc * per) : NULL;

			if (nd)
				d->dir = nd;
			if (mn)
				d->zmin = mn;
			if (!mx) {
				rc = SQLITE_NOMEM;
				break;
			}
			d->zmax = mx;
			d->cap = nc;
		}
		at = d->ndir * (size_t)t->ncols;
		e = &d->dir[d->ndir++];
		e->first = sqlite3_column_int64(st, 0);
		e->last = sqlite3_column_int64(st, 1);
		e->n = sqlite3_column_int64(st, 2);
		e->patched = 0;
		e->zoned = zone_parse(t->ncols, sqlite3_column_blob(st, 3),
				      sqlite3_column_bytes(st, 3), d->zmin + at,
				      d->zmax + at, &e->has) == 0;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE)
		return rc;
	sql = sqlite3_mprintf("SELECT row, data FROM \"%w\".\"%w__patch\" ORDER BY row",
			      t->schema, t->name);
	if ((rc = prepare_once(t, &st, sql)) != SQLITE_OK)
		return rc;
	/* both in key order: one merge pass */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t key = sqlite3_column_int64(st, 0);

		while (i < d->ndir && d->dir[i].last < key)
			i++;
		if (i < d->ndir && d->dir[i].first <= key)
			dir_patch(t, d, i, sqlite3_column_blob(st, 1),
				  sqlite3_column_bytes(st, 1));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc;
	d->sorted = 0;
	for (int col = 1; col < t->ncols && col < 64; col++) {
		int ok = !t->is_text[col];

		for (i = 0; ok && i < d->ndir; i++) {
			const int64_t *mn = d->zmin + i * (size_t)t->ncols;
			const int64_t *mx = d->zmax + i * (size_t)t->ncols;

			ok = d->dir[i].zoned && (d->dir[i].has >> col & 1) &&
			     (i == 0 || (mn[col] >= mn[col - t->ncols] &&
					 mx[col] >= mx[col - t->ncols]));
		}
		if (ok)
			d->sorted |= (uint64_t)1 << col;
	}
	return SQLITE_OK;
}

/*
 * Points the cursor at the table's current chunk directory (struct
 * cdirs), reading it when the table has none or an outdated one.
 */
static int dir_load(struct ctab *t, struct ccur *c)
{
	struct cstamp now = stamp_now(t);
	struct cdirs *d;
	int rc;

	if (!t->dirs || !stamp_same(&t->dirs->at, &now)) {
		d = sqlite3_malloc(sizeof(*d));
		if (!d)
			return SQLITE_NOMEM;
		memset(d, 0, sizeof(*d));
		d->refs = 1;
		/* stamped before reading (a change meanwhile makes it
		 * outdated, never wrongly current) */
		d->at = now;
		if ((rc = dir_read(t, d)) != SQLITE_OK) {
			cdirs_unref(d);
			return rc;
		}
		cdirs_unref(t->dirs);
		t->dirs = d;
	}
	if (c->ds != t->dirs) {
		cdirs_unref(c->ds);
		c->ds = t->dirs;
		c->ds->refs++;
	}
	return SQLITE_OK;
}

/* Does directory entry I's zone map (patches included) rule out every
 * match of the cursor's constraints? */
static int dir_excludes(const struct ctab *t, const struct ccur *c, size_t i)
{
	const struct cdir *e = &c->ds->dir[i];
	const int64_t *mn = c->ds->zmin + i * (size_t)t->ncols;
	const int64_t *mx = c->ds->zmax + i * (size_t)t->ncols;

	if (!e->zoned)
		return 0;
	for (int k = 0; k < c->ncons; k++) {
		int col = c->con_col[k];
		int64_t v = c->con_val[k];

		if (!(e->has & ((uint64_t)1 << col)))
			return 1;	/* all NULL: no comparison is true */
		switch (c->con_op[k]) {
		case OP_EQ: if (v < mn[col] || v > mx[col]) return 1; break;
		case OP_GT: if (mx[col] <= v) return 1; break;
		case OP_GE: if (mx[col] < v) return 1; break;
		case OP_LT: if (mn[col] >= v) return 1; break;
		case OP_LE: if (mn[col] > v) return 1; break;
		}
	}
	return 0;
}

/* The slot holding the chunk that starts at key FIRST, decoded from
 * the table as it is now, or -1. */
static int find_slot(const struct ctab *t, const struct ccur *c, int64_t first)
{
	for (int i = 0; i < SLOTS; i++)
		if (c->slot[i].have && c->slot[i].first == first &&
		    c->slot[i].at.gen == t->gen)
			return i;
	return -1;
}

static void make_current(struct ccur *c, int i)
{
	c->ch = &c->slot[i].ch;
	c->slot[i].used = ++c->tick;
}

/*
 * Makes the chunk row (FIRST, LAST, N, DATA) the current chunk, decoded
 * into the least recently used slot, with its patches read (unless
 * PATCHED is 0: the directory knows it has none).
 */
static int load_chunk(struct ctab *t, struct ccur *c, int64_t first,
		      int64_t last, int64_t n, const void *data, int ndata,
		      int patched)
{
	struct cslot *sl;
	int i = 0, rc;

	for (int j = 1; j < SLOTS; j++)
		if (c->slot[j].used < c->slot[i].used)
			i = j;
	sl = &c->slot[i];
	sl->have = 0;
	make_current(c, i);
	if ((rc = chunk_load(&sl->ch, data, ndata, first, last, n)) != SQLITE_OK)
		return chunk_err(t, &sl->ch, rc);
	if (patched) {
		if (!c->patches &&
		    (rc = prepare_once(t, &c->patches, patch_sql(t->schema, t->name))) != SQLITE_OK)
			return rc;
		if ((rc = chunk_patches(&sl->ch, c->patches, first, last)) != SQLITE_OK)
			return chunk_err(t, &sl->ch, rc);
	}
	sl->have = 1;
	sl->first = first;
	sl->at = stamp_now(t);
	return SQLITE_OK;
}

/* Does row R of the current chunk satisfy every zone-map constraint?
 * (Their columns are decoded.)  A NULL satisfies none. */
static int row_matches(const struct ccur *c, uint32_t r)
{
	for (int k = 0; k < c->ncons; k++) {
		int col = c->con_col[k];
		int64_t x = c->ch->vals[col][r], v = c->con_val[k];

		if (c->ch->nulls[col][r])
			return 0;
		switch (c->con_op[k]) {
		case OP_EQ: if (x != v) return 0; break;
		case OP_GT: if (x <= v) return 0; break;
		case OP_GE: if (x < v) return 0; break;
		case OP_LT: if (x >= v) return 0; break;
		case OP_LE: if (x > v) return 0; break;
		}
	}
	return 1;
}

/* The first index at or after R (< N) where V holds X, or N.  Blocks of
 * 8 without an early exit, which compilers vectorize: a look-up in a
 * join scans a chunk's column per outer row. */
static uint32_t find_eq(const int64_t *v, uint32_t r, uint32_t n, int64_t x)
{
	for (; r + 8 <= n; r += 8) {
		int any = 0;

		for (uint32_t j = 0; j < 8; j++)
			any |= v[r + j] == x;
		if (any)
			break;
	}
	while (r < n && v[r] != x)
		r++;
	return r;
}

/* Moves the cursor from its row to the first row of the current chunk
 * that is within hi and satisfies the constraints.  *RES: 1 found, 0
 * none left in the chunk (look further), -1 past hi (the scan is over). */
static int seek_row(struct ctab *t, struct ccur *c, int *res)
{
	struct chunk *d = c->ch;
	int rc, eq = -1;

	for (int k = 0; k < c->ncons; k++) {
		if (!d->decoded[c->con_col[k]] &&
		    (rc = chunk_err(t, d, chunk_col(d, c->con_col[k]))) != SQLITE_OK)
			return rc;
		if (eq < 0 && c->con_op[k] == OP_EQ)
			eq = k;
	}
	for (; c->row < d->n; c->row++) {
		/* skip to the next candidate of an EQ constraint (a NULL
		 * row's value is 0: row_matches() decides) */
		if (eq >= 0) {
			c->row = find_eq(d->vals[c->con_col[eq]], c->row, d->n, c->con_val[eq]);
			if (c->row >= d->n)
				break;
		}
		if (d->vals[0][c->row] > c->hi) {
			*res = -1;
			return SQLITE_OK;
		}
		if (row_matches(c, c->row)) {
			*res = 1;
			return SQLITE_OK;
		}
	}
	*res = 0;
	return SQLITE_OK;
}

/* seek_row() from the current chunk's first row at or above lo. */
static int position(struct ctab *t, struct ccur *c, int *res)
{
	c->row = lower_bound(c->ch, c->lo);
	return seek_row(t, c, res);
}

/* Loads the next chunk of a directory walk that may hold a match; sets
 * eof. */
static int next_chunk_dir(struct ctab *t, struct ccur *c)
{
	while (c->dir_pos < c->dir_end) {
		size_t i = c->dir_pos++;
		const struct cdir *e = &c->ds->dir[i];
		int rc, pos, slot;

		if (e->first > c->hi)
			break;
		if (e->last < c->lo || e->n <= 0 || dir_excludes(t, c, i))
			continue;
		if ((slot = find_slot(t, c, e->first)) >= 0) {
			make_current(c, slot);
		} else {
			if (!c->fetch &&
			    (rc = prepare_once(t, &c->fetch, sqlite3_mprintf(
				    "SELECT last, n, data FROM \"%w\".\"%w__chunk\""
				    " WHERE first = ?1", t->schema, t->name))) != SQLITE_OK)
				return rc;
			sqlite3_bind_int64(c->fetch, 1, e->first);
			rc = sqlite3_step(c->fetch);
			if (rc == SQLITE_ROW &&
			    (sqlite3_column_int64(c->fetch, 0) != e->last ||
			     sqlite3_column_int64(c->fetch, 1) != e->n)) {
				sqlite3_reset(c->fetch);
				return corrupt(t, "chunk changed under the cursor");
			}
			if (rc == SQLITE_ROW)
				rc = load_chunk(t, c, e->first, e->last, e->n,
						sqlite3_column_blob(c->fetch, 2),
						sqlite3_column_bytes(c->fetch, 2),
						e->patched);
			else if (rc == SQLITE_DONE)
				rc = corrupt(t, "chunk changed under the cursor");
			sqlite3_reset(c->fetch);
			if (rc != SQLITE_OK)
				return rc;
		}
		if ((rc = position(t, c, &pos)) != SQLITE_OK)
			return rc;
		if (pos > 0)
			return SQLITE_OK;
		if (pos < 0)
			break;
	}
	c->eof = 1;
	return SQLITE_OK;
}

/*
 * Narrows the cursor's walk [dir_pos, dir_end) by constraint K, on a
 * column whose zone maps grow from chunk to chunk (cdirs.sorted): the
 * chunks before the first whose maximum can reach the value, and from
 * the first whose minimum is past it, cannot match.
 */
static void dir_bound(const struct ctab *t, struct ccur *c, int k)
{
	const struct cdirs *d = c->ds;
	size_t lo = c->dir_pos, hi = c->dir_end, a, b;
	int col = c->con_col[k], op = c->con_op[k];
	int64_t v = c->con_val[k];

	if (op == OP_EQ || op == OP_GE || op == OP_GT) {
		a = lo;
		b = hi;
		while (a < b) {	/* first chunk with max >= v (> v for GT) */
			size_t mid = a + (b - a) / 2;
			int64_t mx = d->zmax[mid * (size_t)t->ncols + (size_t)col];

			if (op == OP_GT ? mx <= v : mx < v)
				a = mid + 1;
			else
				b = mid;
		}
		c->dir_pos = a;
	}
	if (op == OP_EQ || op == OP_LE || op == OP_LT) {
		a = c->dir_pos;
		b = hi;
		while (a < b) {	/* first chunk with min > v (>= v for LT) */
			size_t mid = a + (b - a) / 2;
			int64_t mn = d->zmin[mid * (size_t)t->ncols + (size_t)col];

			if (op == OP_LT ? mn < v : mn <= v)
				a = mid + 1;
			else
				b = mid;
		}
		c->dir_end = a;
	}
}

/* Loads the next chunk of a key-order scan of t__chunk that may hold a
 * match; sets eof. */
static int next_chunk_sql(struct ctab *t, struct ccur *c)
{
	for (;;) {
		int64_t first, last, n;
		int rc, pos, slot;

		rc = sqlite3_step(c->chunks);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW)
			return rc;
		first = sqlite3_column_int64(c->chunks, 0);
		last = sqlite3_column_int64(c->chunks, 1);
		n = sqlite3_column_int64(c->chunks, 2);
		if (first > c->hi)
			break;
		if (last < c->lo || n <= 0)
			continue;
		if ((slot = find_slot(t, c, first)) >= 0)
			make_current(c, slot);
		else if ((rc = load_chunk(t, c, first, last, n,
					  sqlite3_column_blob(c->chunks, 3),
					  sqlite3_column_bytes(c->chunks, 3), 1)) != SQLITE_OK)
			return rc;
		if ((rc = position(t, c, &pos)) != SQLITE_OK)
			return rc;
		if (pos > 0)
			return SQLITE_OK;
		if (pos < 0)
			break;
	}
	c->eof = 1;
	return SQLITE_OK;
}

static int next_chunk(struct ctab *t, struct ccur *c)
{
	return c->use_dir ? next_chunk_dir(t, c) : next_chunk_sql(t, c);
}

static int ctab_filter(sqlite3_vtab_cursor *cur, int idx_num,
		       const char *idx_str, int argc, sqlite3_value **argv)
{
	struct ccur *c = (struct ccur *)cur;
	struct ctab *t = (struct ctab *)cur->pVtab;
	int rc;

	(void)idx_num;
	c->lo = INT64_MIN;
	c->hi = INT64_MAX;
	c->ncons = 0;
	c->eof = 0;
	c->single = 0;
	c->use_dir = 0;
	sqlite3_reset(c->chunks);
	for (int i = 0; idx_str && i < argc && idx_str[i * 4]; i++) {
		int col = (idx_str[i * 4] - '0') * 10 + (idx_str[i * 4 + 1] - '0');
		int op = idx_str[i * 4 + 2] - '0';
		int64_t v;

		if (sqlite3_value_numeric_type(argv[i]) != SQLITE_INTEGER) {
			if (sqlite3_value_type(argv[i]) == SQLITE_NULL) {
				c->eof = 1;	/* x op NULL is never true */
				return SQLITE_OK;
			}
			continue;	/* reals, text: no pruning */
		}
		v = sqlite3_value_int64(argv[i]);
		if (col == 0) {
			switch (op) {
			case OP_EQ: if (v > c->lo) c->lo = v; if (v < c->hi) c->hi = v; break;
			case OP_GT: if (v == INT64_MAX) c->eof = 1; else if (v + 1 > c->lo) c->lo = v + 1; break;
			case OP_GE: if (v > c->lo) c->lo = v; break;
			case OP_LT: if (v == INT64_MIN) c->eof = 1; else if (v - 1 < c->hi) c->hi = v - 1; break;
			case OP_LE: if (v < c->hi) c->hi = v; break;
			}
		} else if (c->ncons < 16) {
			c->con_col[c->ncons] = col;
			c->con_op[c->ncons] = op;
			c->con_val[c->ncons] = v;
			c->ncons++;
		}
	}
	if (c->eof || c->lo > c->hi) {
		c->eof = 1;
		return SQLITE_OK;
	}
	/* a decoded chunk may already hold the key (joins look keys up
	 * one after another, mostly in the same chunk) */
	for (int i = 0; c->lo == c->hi && c->ncons == 0 && i < SLOTS; i++) {
		const struct cslot *sl = &c->slot[i];
		int64_t r;

		if (!sl->have || sl->at.gen != t->gen || sl->ch.vals[0][0] > c->lo ||
		    sl->ch.vals[0][sl->ch.n - 1] < c->lo)
			continue;
		make_current(c, i);
		r = row_of_key(c->ch, c->lo);
		if (r < 0) {
			c->eof = 1;
			return SQLITE_OK;
		}
		c->row = (uint32_t)r;
		c->single = 1;
		return SQLITE_OK;
	}
	if (c->ncons) {
		size_t a = 0, b;

		if ((rc = dir_load(t, c)) != SQLITE_OK)
			return rc;
		/* the first chunk that may hold a key >= lo */
		b = c->ds->ndir;
		while (a < b) {
			size_t mid = a + (b - a) / 2;

			if (c->ds->dir[mid].last < c->lo)
				a = mid + 1;
			else
				b = mid;
		}
		c->dir_pos = a;
		c->dir_end = c->ds->ndir;
		for (int k = 0; k < c->ncons; k++)
			if (c->ds->sorted >> c->con_col[k] & 1)
				dir_bound(t, c, k);
		c->use_dir = 1;
		return next_chunk(t, c);
	}
	if (!c->chunks) {
		char *sql = sqlite3_mprintf(
			"SELECT first, last, n, data FROM \"%w\".\"%w__chunk\""
			" WHERE first >= (SELECT coalesce(max(first), -9223372036854775807 - 1)"
			" FROM \"%w\".\"%w__chunk\" WHERE first <= ?1) AND first <= ?2"
			" ORDER BY first",
			t->schema, t->name, t->schema, t->name);

		if ((rc = prepare_once(t, &c->chunks, sql)) != SQLITE_OK)
			return rc;
	}
	sqlite3_bind_int64(c->chunks, 1, c->lo);
	sqlite3_bind_int64(c->chunks, 2, c->hi);
	return next_chunk(t, c);
}

static int ctab_next(sqlite3_vtab_cursor *cur)
{
	struct ccur *c = (struct ccur *)cur;
	struct ctab *t = (struct ctab *)cur->pVtab;
	int rc, res;

	if (c->eof)
		return SQLITE_OK;
	c->row++;
	if ((rc = seek_row(t, c, &res)) != SQLITE_OK)
		return rc;
	if (res > 0)
		return SQLITE_OK;
	if (res < 0 || c->single) {	/* past hi; a key look-up is one row */
		c->eof = 1;
		return SQLITE_OK;
	}
	return next_chunk(t, c);
}

static int ctab_eof(sqlite3_vtab_cursor *cur)
{
	return ((struct ccur *)cur)->eof;
}

static int ctab_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	struct ccur *c = (struct ccur *)cur;
	struct ctab *t = (struct ctab *)cur->pVtab;
	int rc;

	if (col < 0 || col >= t->ncols)
		return SQLITE_OK;
	if (sqlite3_vtab_nochange(ctx))
		return SQLITE_OK;	/* UPDATE: the column keeps its value */
	if (!c->ch->decoded[col] &&
	    (rc = chunk_err(t, c->ch, chunk_col(c->ch, col))) != SQLITE_OK) {
		/* the message first: sqlite3_result_error() sets the code
		 * to SQLITE_ERROR, the code must come after it */
		if (t->base.zErrMsg)
			sqlite3_result_error(ctx, t->base.zErrMsg, -1);
		sqlite3_result_error_code(ctx, rc);
		return rc;
	}
	if (c->ch->nulls[col][c->row])
		return SQLITE_OK;	/* result defaults to NULL */
	if (t->is_text[col]) {
		uint64_t i = (uint64_t)c->ch->vals[col][c->row];

		sqlite3_result_text(ctx, (const char *)c->ch->dict[i],
				    (int)c->ch->dict_len[i], SQLITE_TRANSIENT);
	} else {
		sqlite3_result_int64(ctx, c->ch->vals[col][c->row]);
	}
	return SQLITE_OK;
}

static int ctab_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	struct ccur *c = (struct ccur *)cur;

	*rowid = c->ch->vals[0][c->row];
	return SQLITE_OK;
}

static int refuse(struct ctab *t, const char *why)
{
	sqlite3_free(t->base.zErrMsg);
	t->base.zErrMsg = sqlite3_mprintf("%s: %s", t->name, why);
	return SQLITE_CONSTRAINT;
}

/* *OUT = V as an integer when V is one (or a real or text with an exact
 * integer value, as SQLite's INTEGER affinity would store it); else 0. */
static int integer_value(sqlite3_value *v, int64_t *out)
{
	switch (sqlite3_value_numeric_type(v)) {
	case SQLITE_INTEGER:
		*out = sqlite3_value_int64(v);
		return 1;
	case SQLITE_FLOAT: {
		double d = sqlite3_value_double(v);

		if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
		    (double)(int64_t)d == d) {
			*out = (int64_t)d;
			return 1;
		}
		return 0;
	}
	default:
		return 0;
	}
}

/*
 * UPDATE of integer columns: a patch of the row (as the importer's
 * futex exits).  The key and text columns cannot change.
 */
static int ctab_update_row(struct ctab *t, int argc, sqlite3_value **argv)
{
	int cols[WC_COLTAB_MAX_COLS], n = 0, rc;
	int64_t vals[WC_COLTAB_MAX_COLS];
	uint8_t present[WC_COLTAB_MAX_COLS];
	sqlite3_stmt *get = NULL, *put = NULL;
	int64_t key = sqlite3_value_int64(argv[0]);

	if (sqlite3_value_type(argv[1]) != SQLITE_INTEGER ||
	    sqlite3_value_int64(argv[1]) != key ||
	    (!sqlite3_value_nochange(argv[2]) &&
	     sqlite3_value_int64(argv[2]) != key))
		goto refuse;
	for (int i = 1; i < t->ncols && 2 + i < argc; i++) {
		sqlite3_value *v = argv[2 + i];
		int type = sqlite3_value_type(v);

		if (sqlite3_value_nochange(v))
			continue;
		if (t->is_text[i] ||
		    (type != SQLITE_NULL && !integer_value(v, &vals[n])))
			goto refuse;
		cols[n] = i;
		present[n] = type != SQLITE_NULL;
		if (!present[n])
			vals[n] = 0;
		n++;
	}
	if (n == 0)
		return SQLITE_OK;
	rc = wc_coltab_write_patch(t->db, t->schema, t->name, &get, &put, key,
				   n, cols, vals, present);
	sqlite3_finalize(get);
	sqlite3_finalize(put);
	return rc;
refuse:
	sqlite3_free(t->base.zErrMsg);
	t->base.zErrMsg = sqlite3_mprintf("%s: only integer columns other than the key"
					  " can be changed", t->name);
	return SQLITE_CONSTRAINT;
}

/*
 * INSERT: the row becomes a chunk of its own (for tests and hand-made
 * databases; the importer writes whole chunks).  Keys must grow: they
 * are the scan order.  UPDATE: ctab_update_row().  DELETE is refused:
 * rows are events of a capture, removed only by importing it again.
 */
static int ctab_update(sqlite3_vtab *vt, int argc, sqlite3_value **argv,
		       sqlite3_int64 *rowid)
{
	struct ctab *t = (struct ctab *)vt;
	int64_t vals[WC_COLTAB_MAX_COLS], key, last = INT64_MIN;
	uint64_t nullmask = 0;
	const char *dict[WC_COLTAB_MAX_COLS];
	uint32_t dict_len[WC_COLTAB_MAX_COLS];
	struct wc_coltab_chunk ch;
	unsigned char *data = NULL, *zone = NULL;
	int ndata, nzone, rc, have_last = 0;
	sqlite3_stmt *st = NULL;
	char *sql;

	if (argc == 1) {
		sqlite3_free(vt->zErrMsg);
		vt->zErrMsg = sqlite3_mprintf("%s: rows are captured events and cannot be deleted",
					      t->name);
		return SQLITE_READONLY;
	}
	t->gen++;	/* open cursors re-read what they cached */
	if (sqlite3_value_type(argv[0]) != SQLITE_NULL)
		return ctab_update_row(t, argc, argv);
	sql = sqlite3_mprintf("SELECT max(last) FROM \"%w\".\"%w__chunk\"",
			      t->schema, t->name);
	rc = sql ? sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL) {
		last = sqlite3_column_int64(st, 0);
		have_last = 1;
	}
	sqlite3_finalize(st);
	if (sqlite3_value_type(argv[1]) != SQLITE_NULL &&
	    sqlite3_value_type(argv[2]) != SQLITE_NULL &&
	    sqlite3_value_int64(argv[1]) != sqlite3_value_int64(argv[2]))
		return refuse(t, "the rowid and the first column are the same key");
	if (sqlite3_value_type(argv[1]) != SQLITE_NULL) {
		if (!integer_value(argv[1], &key))
			return refuse(t, "the key must be an integer");
	} else if (sqlite3_value_type(argv[2]) != SQLITE_NULL) {
		if (!integer_value(argv[2], &key))
			return refuse(t, "the key must be an integer");
	} else if (have_last && last == INT64_MAX) {
		return refuse(t, "no key after 9223372036854775807");
	} else {
		key = have_last ? last + 1 : 1;
	}
	if (have_last && key <= last) {
		sqlite3_free(vt->zErrMsg);
		vt->zErrMsg = sqlite3_mprintf("%s: rows must be inserted in increasing key order"
					      " (key %lld after %lld)", t->name,
					      (long long)key, (long long)last);
		return SQLITE_CONSTRAINT;
	}
	memset(&ch, 0, sizeof(ch));
	ch.ncols = t->ncols;
	ch.is_text = t->is_text;
	ch.n = 1;
	ch.vals = vals;
	ch.nullmask = &nullmask;
	ch.dict = dict;
	ch.dict_len = dict_len;
	for (int i = 0; i < t->ncols; i++) {
		sqlite3_value *v = argv[2 + i];

		vals[i] = 0;
		if (i == 0) {
			vals[i] = key;
		} else if (sqlite3_value_type(v) == SQLITE_NULL) {
			nullmask |= (uint64_t)1 << i;
			continue;
		} else if (t->is_text[i]) {
			dict[ch.ndict] = (const char *)sqlite3_value_text(v);
			dict_len[ch.ndict] = (uint32_t)sqlite3_value_bytes(v);
			if (!dict[ch.ndict])
				return SQLITE_NOMEM;
			vals[i] = ch.ndict++;
		} else if (!integer_value(v, &vals[i])) {
			return refuse(t, "integer columns hold integers");
		}
	}
	rc = wc_coltab_encode(&ch, &data, &ndata, &zone, &nzone);
	if (rc != SQLITE_OK)
		return rc;
	sql = sqlite3_mprintf("INSERT INTO \"%w\".\"%w__chunk\"(first, last, n, zone, data)"
			      " VALUES (?1, ?1, 1, ?2, ?3)", t->schema, t->name);
	rc = sql ? sqlite3_prepare_v2(t->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
	sqlite3_free(sql);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, key);
		sqlite3_bind_blob(st, 2, zone, nzone, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, data, ndata, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(t->db);
		sqlite3_finalize(st);
	}
	sqlite3_free(data);
	sqlite3_free(zone);
	*rowid = key;
	return rc;
}

static int ctab_shadow_name(const char *suffix)
{
	return sqlite3_stricmp(suffix, "_chunk") == 0 ||
	       sqlite3_stricmp(suffix, "_patch") == 0;
}

static const sqlite3_module ctab_module = {
	.iVersion = 3,
	.xCreate = ctab_create,
	.xConnect = ctab_connect,
	.xBestIndex = ctab_best_index,
	.xDisconnect = ctab_disconnect,
	.xDestroy = ctab_destroy,
	.xOpen = ctab_open,
	.xClose = ctab_close,
	.xFilter = ctab_filter,
	.xNext = ctab_next,
	.xEof = ctab_eof,
	.xColumn = ctab_column,
	.xRowid = ctab_rowid,
	.xUpdate = ctab_update,
	.xShadowName = ctab_shadow_name,
};

int wc_coltab_register(sqlite3 *db)
{
	return sqlite3_create_module_v2(db, WC_COLTAB_MODULE, &ctab_module,
					NULL, NULL);
}

#ifndef WC_SQLITE_EXTENSION
/* --- native scans and clearing (the waitchain library only: they report
 * through struct wc_error, which the loadable extension does not have) - */

/* One chunk of a scan, decoded (the current one, or the one read ahead). */
struct scan_slot {
	struct chunk ch;
	int64_t first;		/* its first key (errors) */
	/* its dictionary as NUL-terminated copies, made when a TEXT column
	 * is first decoded */
	int have_z;
	char *zbuf;
	size_t cap_zbuf;
	const char **zdict;
	uint32_t cap_zdict;
	int res;		/* scan_fill()'s result */
	char errmsg[160];	/* SQLite's message when a statement failed */
};

struct wc_coltab_scan {
	sqlite3 *db;
	char *path;		/* names the database in errors */
	char *table;
	int ncols;
	uint8_t is_text[WC_COLTAB_MAX_COLS];
	char *names[WC_COLTAB_MAX_COLS];
	sqlite3_stmt *chunks;	/* every chunk row, in key order */
	sqlite3_stmt *patches;	/* patch rows of one chunk */
	int done;		/* chunks has returned SQLITE_DONE */
	struct scan_slot slot[2];
	struct scan_slot *cur;	/* the chunk the caller reads, NULL none */
	/* read-ahead (wc_coltab_scan_readahead()): a thread fills the other
	 * slot, decoding the columns AHEAD_COLS, while the caller reads cur;
	 * from then on only that thread uses the statements above */
	int ahead;
	uint64_t ahead_cols;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int next;		/* slot that gets (or got) the next chunk */
	int want;		/* slot the thread is asked to fill, -1 none */
	int busy;		/* a fill asked for is not finished */
	int stop;
};

/* Turns RC (an SQLite code from a decoder or a statement) about slot SL
 * into an error naming the database and the table. */
static int scan_err(struct wc_coltab_scan *s, struct scan_slot *sl, int rc,
		    struct wc_error *err)
{
	if (rc == SQLITE_NOMEM)
		return wc_err(err, WC_ENOMEM, s->path, "out of memory reading %s", s->table);
	if (rc == SQLITE_CORRUPT && sl->ch.what) {
		const char *what = sl->ch.what;

		sl->ch.what = NULL;
		return wc_err(err, WC_EDB, s->path,
			      "columnar table %s: corrupt chunk (%s) at key %lld",
			      s->table, what, (long long)sl->first);
	}
	return wc_err(err, WC_EDB, s->path, "columnar table %s: %s", s->table,
		      sl->errmsg[0] ? sl->errmsg : sqlite3_errstr(rc));
}

int wc_coltab_scan_open(sqlite3 *db, const char *path, const char *table,
			struct wc_coltab_scan **out, struct wc_error *err)
{
	struct wc_coltab_scan *s = sqlite3_malloc(sizeof(*s));
	sqlite3_stmt *st = NULL;
	char *sql = NULL;
	int rc;

	*out = NULL;
	if (!s)
		return wc_err(err, WC_ENOMEM, path, "out of memory");
	memset(s, 0, sizeof(*s));
	s->db = db;
	s->want = -1;
	s->path = sqlite3_mprintf("%s", path ? path : "");
	s->table = sqlite3_mprintf("%s", table);
	if (!s->path || !s->table) {
		rc = wc_err(err, WC_ENOMEM, path, "out of memory");
		goto fail;
	}
	/* table_xinfo: hidden columns too (a hidden key) */
	rc = sqlite3_prepare_v2(db, "SELECT name, type FROM pragma_table_xinfo(?1, 'main')"
				" ORDER BY cid", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW && s->ncols < WC_COLTAB_MAX_COLS) {
			const char *name = (const char *)sqlite3_column_text(st, 0);
			const char *type = (const char *)sqlite3_column_text(st, 1);

			s->is_text[s->ncols] = type && sqlite3_stricmp(type, "TEXT") == 0;
			s->names[s->ncols] = sqlite3_mprintf("%s", name ? name : "");
			if (!s->names[s->ncols++]) {
				rc = SQLITE_NOMEM;
				break;
			}
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		snprintf(s->slot[0].errmsg, sizeof(s->slot[0].errmsg), "%s",
			 sqlite3_errmsg(db));
		rc = scan_err(s, &s->slot[0], rc, err);
		goto fail;
	}
	if (s->ncols == 0) {
		rc = wc_err(err, WC_EDB, path, "no columnar table %s", table);
		goto fail;
	}
	for (int i = 0; i < 2; i++) {
		s->slot[i].ch.ncols = s->ncols;
		s->slot[i].ch.is_text = s->is_text;
	}
	sql = sqlite3_mprintf("SELECT first, last, n, data FROM \"main\".\"%w__chunk\""
			      " ORDER BY first", table);
	rc = sql ? sqlite3_prepare_v2(db, sql, -1, &s->chunks, NULL) : SQLITE_NOMEM;
	sqlite3_free(sql);
	if (rc == SQLITE_OK) {
		sql = patch_sql("main", table);
		rc = sql ? sqlite3_prepare_v2(db, sql, -1, &s->patches, NULL) : SQLITE_NOMEM;
		sqlite3_free(sql);
	}
	if (rc != SQLITE_OK) {
		snprintf(s->slot[0].errmsg, sizeof(s->slot[0].errmsg), "%s",
			 sqlite3_errmsg(db));
		rc = scan_err(s, &s->slot[0], rc, err);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	wc_coltab_scan_close(s);
	return rc;
}

int wc_coltab_scan_column(const struct wc_coltab_scan *s, const char *name)
{
	for (int i = 0; i < s->ncols; i++)
		if (sqlite3_stricmp(s->names[i], name) == 0)
			return i;
	return -1;
}

/* Copies slot SL's dictionary as NUL-terminated strings (at most the
 * blob's size plus one byte per string). */
static int scan_cstrings(struct scan_slot *sl)
{
	const struct chunk *d = &sl->ch;
	size_t need = 0;
	char *p;

	for (uint32_t i = 0; i < d->ndict; i++)
		need += (size_t)d->dict_len[i] + 1;
	if (need > sl->cap_zbuf) {
		char *b = sqlite3_realloc64(sl->zbuf, need);

		if (!b)
			return SQLITE_NOMEM;
		sl->zbuf = b;
		sl->cap_zbuf = need;
	}
	if (d->ndict > sl->cap_zdict) {
		const char **z = sqlite3_realloc64(sl->zdict, (size_t)d->ndict * sizeof(*z));

		if (!z)
			return SQLITE_NOMEM;
		sl->zdict = z;
		sl->cap_zdict = d->ndict;
	}
	p = sl->zbuf;
	for (uint32_t i = 0; i < d->ndict; i++) {
		memcpy(p, d->dict[i], d->dict_len[i]);
		p[d->dict_len[i]] = 0;
		sl->zdict[i] = p;
		p += (size_t)d->dict_len[i] + 1;
	}
	sl->have_z = 1;
	return SQLITE_OK;
}

/* Decodes column COL of slot SL (and its text) unless done already. */
static int scan_decode(struct wc_coltab_scan *s, struct scan_slot *sl, int col)
{
	int rc;

	if (!sl->ch.decoded[col] && (rc = chunk_col(&sl->ch, col)) != SQLITE_OK)
		return rc;
	if (s->is_text[col] && !sl->have_z && (rc = scan_cstrings(sl)) != SQLITE_OK)
		return rc;
	return SQLITE_OK;
}

/*
 * Loads the next chunk that holds rows into SL and decodes its columns
 * COLS (a bit per column) as far as they decode.  SQLITE_ROW when
 * loaded, SQLITE_DONE at the end of the table, or the error's code
 * (SQLite's message in sl->errmsg).  The statements' calls are made under the connection's
 * mutex (none on a NOMUTEX connection, used by one thread), so that the
 * read-ahead thread's sequence of calls is not interleaved with the
 * caller's; decoding runs outside it.
 */
static int scan_fill(struct wc_coltab_scan *s, struct scan_slot *sl,
		     uint64_t cols)
{
	sqlite3_mutex *mu = sqlite3_db_mutex(s->db);
	int rc = SQLITE_DONE;

	sl->have_z = 0;
	sl->errmsg[0] = 0;
	while (!s->done) {
		int64_t last, n;

		sqlite3_mutex_enter(mu);
		rc = sqlite3_step(s->chunks);
		if (rc == SQLITE_DONE) {
			/* stepping again would start over */
			s->done = 1;
			sqlite3_mutex_leave(mu);
			break;
		}
		if (rc != SQLITE_ROW) {
			snprintf(sl->errmsg, sizeof(sl->errmsg), "%s",
				 sqlite3_errmsg(s->db));
			sqlite3_mutex_leave(mu);
			return rc;
		}
		sl->first = sqlite3_column_int64(s->chunks, 0);
		last = sqlite3_column_int64(s->chunks, 1);
		n = sqlite3_column_int64(s->chunks, 2);
		if (n <= 0) {
			sqlite3_mutex_leave(mu);
			continue;	/* as the virtual table: holds no row */
		}
		rc = chunk_load(&sl->ch, sqlite3_column_blob(s->chunks, 3),
				sqlite3_column_bytes(s->chunks, 3), sl->first, last, n);
		if (rc == SQLITE_OK)
			rc = chunk_patches(&sl->ch, s->patches, sl->first, last);
		if (rc != SQLITE_OK && rc != SQLITE_CORRUPT && rc != SQLITE_NOMEM)
			snprintf(sl->errmsg, sizeof(sl->errmsg), "%s",
				 sqlite3_errmsg(s->db));
		sqlite3_mutex_leave(mu);
		if (rc != SQLITE_OK)
			return rc;
		/* a column that does not decode stays undecoded: the
		 * caller's wc_coltab_scan_col() decodes it again and reports
		 * it, where a scan without read-ahead does */
		for (int c = 0; c < s->ncols; c++)
			if (cols >> c & 1)
				(void)scan_decode(s, sl, c);
		return SQLITE_ROW;
	}
	return SQLITE_DONE;
}

/* The read-ahead thread: fills the slot it is asked for. */
static void *scan_ahead_main(void *arg)
{
	struct wc_coltab_scan *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		int k;

		while (!s->stop && s->want < 0)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stop)
			break;
		k = s->want;
		s->want = -1;
		pthread_mutex_unlock(&s->mu);
		s->slot[k].res = scan_fill(s, &s->slot[k], s->ahead_cols);
		pthread_mutex_lock(&s->mu);
		s->busy = 0;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int wc_coltab_scan_readahead(struct wc_coltab_scan *s, uint64_t cols)
{
	assert(!s->cur && !s->done && !s->ahead);
	if (!sqlite3_db_mutex(s->db) || !sqlite3_threadsafe() ||
	    !wc_threads_allowed(2))
		return 0;
	if (pthread_mutex_init(&s->mu, NULL) != 0)
		return 0;
	if (pthread_cond_init(&s->cv, NULL) != 0) {
		pthread_mutex_destroy(&s->mu);
		return 0;
	}
	s->ahead_cols = cols & (s->ncols == 64 ? ~(uint64_t)0 :
				((uint64_t)1 << s->ncols) - 1);
	s->ahead = wc_thread_start(&s->thread, scan_ahead_main, s) == 0;
	if (!s->ahead) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		return 0;
	}
	/* the first chunk, while the caller prepares */
	pthread_mutex_lock(&s->mu);
	s->next = 0;
	s->want = 0;
	s->busy = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return 1;
}

int wc_coltab_scan_next(struct wc_coltab_scan *s, struct wc_error *err)
{
	struct scan_slot *sl;
	int rc;

	if (!s->ahead) {
		sl = &s->slot[0];
		s->cur = NULL;
		rc = scan_fill(s, sl, 0);
	} else {
		sl = &s->slot[s->next];
		pthread_mutex_lock(&s->mu);
		while (s->busy)
			pthread_cond_wait(&s->cv, &s->mu);
		rc = sl->res;
		if (rc == SQLITE_ROW) {
			/* the chunk after it goes into the other slot, which
			 * the caller leaves now (an end or an error stays in
			 * sl: later calls return it again) */
			s->next ^= 1;
			s->want = s->next;
			s->busy = 1;
			pthread_cond_signal(&s->cv);
		}
		pthread_mutex_unlock(&s->mu);
		s->cur = NULL;
	}
	if (rc == SQLITE_ROW) {
		s->cur = sl;
		return 1;
	}
	if (rc == SQLITE_DONE)
		return 0;
	return scan_err(s, sl, rc, err);
}

uint32_t wc_coltab_scan_rows(const struct wc_coltab_scan *s)
{
	assert(s->cur);
	return s->cur->ch.n;
}

int wc_coltab_scan_col(struct wc_coltab_scan *s, int col, const int64_t **vals,
		       const uint8_t **nulls, struct wc_error *err)
{
	struct scan_slot *sl = s->cur;
	int rc;

	assert(sl && col >= 0 && col < s->ncols);
	if ((rc = scan_decode(s, sl, col)) != SQLITE_OK)
		return scan_err(s, sl, rc, err);
	*vals = sl->ch.vals[col];
	*nulls = sl->ch.nulls[col];
	return 0;
}

const char *wc_coltab_scan_text(const struct wc_coltab_scan *s, int col,
				uint32_t row)
{
	const struct scan_slot *sl = s->cur;

	assert(sl && col >= 0 && col < s->ncols && s->is_text[col]);
	assert(sl->ch.decoded[col] && sl->have_z && row < sl->ch.n);
	if (sl->ch.nulls[col][row])
		return NULL;
	/* indexes were checked against the dictionary when decoded */
	return sl->zdict[sl->ch.vals[col][row]];
}

void wc_coltab_scan_close(struct wc_coltab_scan *s)
{
	if (!s)
		return;
	if (s->ahead) {
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
	}
	sqlite3_finalize(s->chunks);
	sqlite3_finalize(s->patches);
	for (int i = 0; i < 2; i++) {
		chunk_free(&s->slot[i].ch);
		sqlite3_free(s->slot[i].zbuf);
		sqlite3_free(s->slot[i].zdict);
	}
	for (int i = 0; i < s->ncols; i++)
		sqlite3_free(s->names[i]);
	sqlite3_free(s->path);
	sqlite3_free(s->table);
	sqlite3_free(s);
}

int wc_coltab_table_kind(sqlite3 *db, const char *table)
{
	sqlite3_stmt *st = NULL;
	int rc, kind = -1;

	rc = sqlite3_prepare_v2(db, "SELECT sql FROM \"main\".sqlite_schema"
				" WHERE type = 'table' AND name = ?1 COLLATE NOCASE", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *decl = (const char *)sqlite3_column_text(st, 0);

			kind = decl && sqlite3_strlike("CREATE VIRTUAL TABLE%USING%"
						       WC_COLTAB_MODULE "%", decl, 0) == 0;
			rc = SQLITE_DONE;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? kind : -2;
}

/*
 * Both shadow tables emptied inside a savepoint (all or nothing, in or
 * out of a transaction).  Only tables declared with the module: a plain
 * table that happens to have x__chunk companions is left alone.  On a
 * read-only connection (`waitchain sql`: query_only) it is an error.
 */
int wc_coltab_clear(sqlite3 *db, const char *path, const char *table,
		    struct wc_error *err)
{
	char *sql;
	int rc, kind = wc_coltab_table_kind(db, table);

	wc_coltab_touch();
	if (kind == -2)
		return wc_err(err, WC_EDB, path, "cannot clear %s: %s", table,
			      sqlite3_errmsg(db));
	if (kind != 1)
		return wc_err(err, WC_EDB, path, "cannot clear %s: %s", table,
			      kind == 0 ? "not a columnar table" : "no such table");
	sql = sqlite3_mprintf("SAVEPOINT wc_coltab_clear;"
			      "DELETE FROM \"main\".\"%w__chunk\";"
			      "DELETE FROM \"main\".\"%w__patch\";"
			      "RELEASE wc_coltab_clear;", table, table);
	if (!sql)
		return wc_err(err, WC_ENOMEM, path, "out of memory");
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK) {
		rc = wc_err(err, WC_EDB, path, "cannot clear %s: %s", table,
			    sqlite3_errmsg(db));
		/* undo a half-done clear; nothing to do if the savepoint
		 * itself failed */
		sqlite3_exec(db, "ROLLBACK TO wc_coltab_clear; RELEASE wc_coltab_clear",
			     NULL, NULL, NULL);
	}
	return rc;
}
#endif /* !WC_SQLITE_EXTENSION */

#ifdef WC_SQLITE_EXTENSION
/* Entry point of waitchain_sqlite.so: ".load waitchain_sqlite" in the
 * sqlite3 shell, connection.load_extension() in Python. */
#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_waitchainsqlite_init(sqlite3 *db, char **errmsg,
				 const sqlite3_api_routines *api)
{
	SQLITE_EXTENSION_INIT2(api);
	(void)errmsg;
	return wc_coltab_register(db);
}
#else
static int auto_register(sqlite3 *db, char **errmsg,
			 const struct sqlite3_api_routines *api)
{
	(void)errmsg;
	(void)api;
	return wc_coltab_register(db);
}

void wc_coltab_auto_register(void)
{
	/* SQLite ignores a second registration of the same entry point */
	sqlite3_auto_extension((void (*)(void))auto_register);
}
#endif
