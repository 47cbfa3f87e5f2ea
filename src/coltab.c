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
 * This file depends on SQLite only, so that it also builds as the
 * loadable extension waitchain_sqlite.so (WC_SQLITE_EXTENSION) for the
 * sqlite3 shell and Python.
 */
#ifdef WC_SQLITE_EXTENSION
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1
#else
#include <sqlite3.h>
#endif
#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "waitchain/coltab.h"

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

/*
 * One pass over the rows (they are stored row-major: reading them once,
 * in order, is what the cache likes), each column written through its own
 * cursor into a region of BUF sized for its worst case; the regions are
 * then closed up behind the header.
 */
int wc_coltab_encode(const struct wc_coltab_chunk *ch, unsigned char **data,
		     int *ndata, unsigned char **zone, int *nzone)
{
	size_t bitmap = (ch->n + 7) / 8, region, max, hdr_room;
	int ncols = ch->ncols;
	unsigned char *buf, *z, *zp, *p;
	unsigned char *cur[WC_COLTAB_MAX_COLS], *start[WC_COLTAB_MAX_COLS];
	int64_t prev[WC_COLTAB_MAX_COLS], mn[WC_COLTAB_MAX_COLS], mx[WC_COLTAB_MAX_COLS];
	uint8_t has_val[WC_COLTAB_MAX_COLS];
	uint64_t anynull = 0, text_mask = 0;

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
	for (int c = 0; c < ncols; c++) {
		uint64_t bit = (uint64_t)1 << c;

		start[c] = buf + hdr_room + (size_t)c * region;
		cur[c] = start[c];
		*cur[c]++ = (unsigned char)!!(anynull & bit);
		if (anynull & bit) {
			memset(cur[c], 0, bitmap);
			cur[c] += bitmap;	/* bits set below */
		}
		if (ch->is_text[c])
			text_mask |= bit;
		prev[c] = mn[c] = mx[c] = 0;
		has_val[c] = 0;
	}
	for (uint32_t r = 0; r < ch->n; r++) {
		const int64_t *row = ch->vals + (size_t)r * (size_t)ncols;
		uint64_t nm = ch->nullmask[r];

		for (int c = 0; c < ncols; c++) {
			uint64_t bit = (uint64_t)1 << c;
			int64_t x;

			if (nm & bit) {
				start[c][1 + r / 8] |= (unsigned char)(1u << (r % 8));
				continue;
			}
			x = row[c];
			if (text_mask & bit) {
				cur[c] = put_varint(cur[c], (uint64_t)x);
				continue;
			}
			cur[c] = put_varint(cur[c], zz_enc((int64_t)((uint64_t)x - (uint64_t)prev[c])));
			prev[c] = x;
			if (!has_val[c] || x < mn[c])
				mn[c] = x;
			if (!has_val[c] || x > mx[c])
				mx[c] = x;
			has_val[c] = 1;
		}
	}
	/* header, then the columns closed up behind it, then the dictionary */
	p = buf;
	p = put_varint(p, 1);
	p = put_varint(p, ch->n);
	p = put_varint(p, (uint64_t)ncols);
	for (int c = 0; c < ncols; c++)
		p = put_varint(p, (uint64_t)(cur[c] - start[c]));
	assert((size_t)(p - buf) <= hdr_room);
	zp = z;
	for (int c = 0; c < ncols; c++) {
		size_t len = (size_t)(cur[c] - start[c]);

		memmove(p, start[c], len);
		p += len;
		zp = put_varint(zp, has_val[c]);
		if (has_val[c]) {
			zp = put_varint(zp, zz_enc(mn[c]));
			zp = put_varint(zp, zz_enc(mx[c]));
		}
	}
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

/* --- the virtual table ------------------------------------------------------------ */

struct ctab {
	sqlite3_vtab base;
	sqlite3 *db;
	char *schema;		/* database name ("main") */
	char *name;		/* table name */
	int ncols;
	uint8_t is_text[WC_COLTAB_MAX_COLS];
};

/* One decoded chunk, columns decoded on first use. */
struct ccur {
	sqlite3_vtab_cursor base;
	sqlite3_stmt *chunks;	/* chunk rows of this scan */
	sqlite3_stmt *patches;	/* patch rows of one chunk */
	int eof;
	int64_t lo, hi;		/* key bounds (inclusive) */
	int single;		/* look-up served from the cached chunk */
	int ncons;		/* zone-map constraints */
	int con_col[16], con_op[16];
	int64_t con_val[16];
	/* the current chunk */
	unsigned char *blob;	/* copy of the chunk blob */
	size_t nblob, cap_blob;
	uint32_t n, row;
	size_t col_off[WC_COLTAB_MAX_COLS], col_len[WC_COLTAB_MAX_COLS];
	int64_t *vals[WC_COLTAB_MAX_COLS];	/* [n] when decoded */
	uint8_t *nulls[WC_COLTAB_MAX_COLS];
	uint8_t decoded[WC_COLTAB_MAX_COLS];
	uint32_t cap_rows;
	const unsigned char **dict;	/* into blob */
	uint32_t *dict_len;
	uint32_t ndict, cap_dict;
	/* patches of the current chunk: (row index, column, null, value) */
	struct cpatch { uint32_t row; int col; int is_null; int64_t v; } *pat;
	size_t npat, cap_pat;
};

static int corrupt(struct ctab *t, const char *what)
{
	sqlite3_free(t->base.zErrMsg);
	t->base.zErrMsg = sqlite3_mprintf("columnar table %s: corrupt chunk (%s)",
					  t->name, what);
	return SQLITE_CORRUPT;
}

/* Parses one column declaration "name type ..." (comments skipped).
 * Writes "name TYPE" into OUT (sqlite3_str) and sets *IS_TEXT. */
static int parse_column(const char *arg, sqlite3_str *out, uint8_t *is_text)
{
	char clean[512];
	size_t n = 0;
	const char *s = arg;
	char *name, *type, *save = NULL;

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
	type = name ? strtok_r(NULL, " ", &save) : NULL;
	if (!name)
		return SQLITE_ERROR;
	for (const char *c = name; *c; c++)
		if (!(*c == '_' || (*c >= 'a' && *c <= 'z') ||
		      (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
			return SQLITE_ERROR;
	*is_text = type && sqlite3_stricmp(type, "TEXT") == 0;
	sqlite3_str_appendf(out, "%s %s", name, *is_text ? "TEXT" : "INTEGER");
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
 */
static int ctab_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
	struct ctab *t = (struct ctab *)vt;
	char plan[16 * 8 + 1];
	size_t len = 0;
	int argi = 0, key_eq = 0, key_range = 0;

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
		}
	}
	if (info->nOrderBy == 1 && !info->aOrderBy[0].desc &&
	    (info->aOrderBy[0].iColumn == 0 || info->aOrderBy[0].iColumn < 0))
		info->orderByConsumed = 1;
	if (key_eq) {
		info->estimatedCost = 20;
		info->estimatedRows = 1;
		info->idxFlags = SQLITE_INDEX_SCAN_UNIQUE;
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
	struct ccur *c = sqlite3_malloc(sizeof(*c));

	(void)vt;
	if (!c)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	c->eof = 1;
	*out = &c->base;
	return SQLITE_OK;
}

static int ctab_close(sqlite3_vtab_cursor *cur)
{
	struct ccur *c = (struct ccur *)cur;

	sqlite3_finalize(c->chunks);
	sqlite3_finalize(c->patches);
	sqlite3_free(c->blob);
	for (int i = 0; i < WC_COLTAB_MAX_COLS; i++) {
		sqlite3_free(c->vals[i]);
		sqlite3_free(c->nulls[i]);
	}
	sqlite3_free(c->dict);
	sqlite3_free(c->dict_len);
	sqlite3_free(c->pat);
	sqlite3_free(c);
	return SQLITE_OK;
}

/* Parses the current chunk's header and dictionary (columns are decoded
 * lazily by col_decode()). */
static int chunk_parse(struct ctab *t, struct ccur *c)
{
	const unsigned char *p = c->blob, *end = c->blob + c->nblob;
	uint64_t ver, n, ncols, ndict;
	size_t off;

	if (get_varint(&p, end, &ver) || ver != 1)
		return corrupt(t, "version");
	if (get_varint(&p, end, &n) || n == 0 || n > WC_COLTAB_CHUNK_ROWS)
		return corrupt(t, "row count");
	if (get_varint(&p, end, &ncols) || ncols != (uint64_t)t->ncols)
		return corrupt(t, "column count");
	c->n = (uint32_t)n;
	c->npat = 0;
	off = 0;
	for (int i = 0; i < t->ncols; i++) {
		uint64_t len;

		if (get_varint(&p, end, &len) || len > (uint64_t)(end - p))
			return corrupt(t, "column length");
		c->col_len[i] = (size_t)len;
		c->col_off[i] = off;
		off += (size_t)len;
	}
	if (off > (size_t)(end - p))
		return corrupt(t, "column bytes");
	for (int i = 0; i < t->ncols; i++)
		c->col_off[i] += (size_t)(p - c->blob);
	p += off;
	if (get_varint(&p, end, &ndict) || ndict > (uint64_t)(end - p))
		return corrupt(t, "dictionary size");
	if (ndict > c->cap_dict) {
		const unsigned char **d = sqlite3_realloc64(c->dict, ndict * sizeof(*d));
		uint32_t *l = d ? sqlite3_realloc64(c->dict_len, ndict * sizeof(*l)) : NULL;

		if (d)
			c->dict = d;
		if (!d || !l)
			return SQLITE_NOMEM;
		c->dict_len = l;
		c->cap_dict = (uint32_t)ndict;
	}
	for (uint64_t i = 0; i < ndict; i++) {
		uint64_t len;

		if (get_varint(&p, end, &len) || len > (uint64_t)(end - p))
			return corrupt(t, "dictionary string");
		c->dict[i] = p;
		c->dict_len[i] = (uint32_t)len;
		p += len;
	}
	c->ndict = (uint32_t)ndict;
	if (c->n > c->cap_rows) {
		for (int i = 0; i < WC_COLTAB_MAX_COLS; i++) {
			sqlite3_free(c->vals[i]);
			sqlite3_free(c->nulls[i]);
			c->vals[i] = NULL;
			c->nulls[i] = NULL;
		}
		c->cap_rows = WC_COLTAB_CHUNK_ROWS;
	}
	memset(c->decoded, 0, sizeof(c->decoded));
	return SQLITE_OK;
}

/* Decodes column COL of the current chunk (and applies its patches). */
static int col_decode(struct ctab *t, struct ccur *c, int col)
{
	const unsigned char *p = c->blob + c->col_off[col];
	const unsigned char *end = p + c->col_len[col];
	int64_t prev = 0;
	int64_t *v;
	uint8_t *nl;

	if (!c->vals[col]) {
		c->vals[col] = sqlite3_malloc64(sizeof(int64_t) * c->cap_rows);
		c->nulls[col] = sqlite3_malloc64(c->cap_rows);
		if (!c->vals[col] || !c->nulls[col])
			return SQLITE_NOMEM;
	}
	v = c->vals[col];
	nl = c->nulls[col];
	if (p >= end)
		return corrupt(t, "empty column");
	if (*p++ & 1) {
		size_t bm = (c->n + 7) / 8;

		if ((size_t)(end - p) < bm)
			return corrupt(t, "null bitmap");
		for (uint32_t r = 0; r < c->n; r++)
			nl[r] = (uint8_t)((p[r / 8] >> (r % 8)) & 1);
		p += bm;
	} else {
		memset(nl, 0, c->n);
	}
	for (uint32_t r = 0; r < c->n; r++) {
		uint64_t u;

		if (nl[r]) {
			v[r] = 0;
			continue;
		}
		if (get_varint(&p, end, &u))
			return corrupt(t, "column value");
		if (t->is_text[col]) {
			if (u >= c->ndict)
				return corrupt(t, "dictionary index");
			v[r] = (int64_t)u;
		} else {
			prev = (int64_t)((uint64_t)prev + (uint64_t)zz_dec(u));
			v[r] = prev;
		}
	}
	if (col == 0) {
		for (uint32_t r = 0; r < c->n; r++)
			if (nl[r] || (r && v[r] <= v[r - 1]))
				return corrupt(t, "keys not increasing");
	}
	for (size_t i = 0; i < c->npat; i++)
		if (c->pat[i].col == col) {
			nl[c->pat[i].row] = (uint8_t)c->pat[i].is_null;
			v[c->pat[i].row] = c->pat[i].v;
		}
	c->decoded[col] = 1;
	return SQLITE_OK;
}

/* Finds row index of KEY in the current chunk (decoded key column). */
static int64_t row_of_key(const struct ccur *c, int64_t key)
{
	uint32_t lo = 0, hi = c->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (c->vals[0][mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n && c->vals[0][lo] == key ? (int64_t)lo : -1;
}

/* Prepares c->patches, the cursor's query of the patch rows of a key
 * range (once per cursor). */
static int prepare_patches(struct ctab *t, struct ccur *c)
{
	char *sql;
	int rc;

	if (c->patches)
		return SQLITE_OK;
	sql = sqlite3_mprintf("SELECT row, data FROM \"%w\".\"%w__patch\""
			      " WHERE row BETWEEN ?1 AND ?2", t->schema, t->name);
	rc = sql ? sqlite3_prepare_v2(t->db, sql, -1, &c->patches, NULL)
		 : SQLITE_NOMEM;
	sqlite3_free(sql);
	return rc;
}

/* Reads the patches of the chunk [FIRST, LAST] into c->pat (row
 * indexes resolved through the decoded key column). */
static int load_patches(struct ctab *t, struct ccur *c, int64_t first,
			int64_t last)
{
	int rc;

	c->npat = 0;
	if ((rc = prepare_patches(t, c)) != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(c->patches, 1, first);
	sqlite3_bind_int64(c->patches, 2, last);
	while ((rc = sqlite3_step(c->patches)) == SQLITE_ROW) {
		int64_t key = sqlite3_column_int64(c->patches, 0), row;
		const unsigned char *p = sqlite3_column_blob(c->patches, 1);
		const unsigned char *end;
		uint64_t cnt;

		if (!p) {
			rc = corrupt(t, "empty patch");
			break;
		}
		end = p + sqlite3_column_bytes(c->patches, 1);
		if (!c->decoded[0] && (rc = col_decode(t, c, 0)) != SQLITE_OK)
			break;
		row = row_of_key(c, key);
		if (row < 0 || get_varint(&p, end, &cnt) || cnt > 127) {
			rc = corrupt(t, "patch");
			break;
		}
		for (uint64_t i = 0; i < cnt; i++) {
			uint64_t col, flag, u = 0;

			if (get_varint(&p, end, &col) || col == 0 ||
			    col >= (uint64_t)t->ncols || t->is_text[col] ||
			    get_varint(&p, end, &flag) || flag > 1 ||
			    (flag && get_varint(&p, end, &u))) {
				rc = corrupt(t, "patch value");
				goto out;
			}
			if (c->npat == c->cap_pat) {
				size_t nc = c->cap_pat ? c->cap_pat * 2 : 64;
				struct cpatch *np = sqlite3_realloc64(c->pat, nc * sizeof(*np));

				if (!np) {
					rc = SQLITE_NOMEM;
					goto out;
				}
				c->pat = np;
				c->cap_pat = nc;
			}
			c->pat[c->npat].row = (uint32_t)row;
			c->pat[c->npat].col = (int)col;
			c->pat[c->npat].is_null = !flag;
			c->pat[c->npat].v = flag ? zz_dec(u) : 0;
			c->npat++;
		}
	}
out:
	sqlite3_reset(c->patches);
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	/* columns decoded before the patches were known get them now */
	for (int col = 1; rc == SQLITE_OK && col < t->ncols; col++)
		if (c->decoded[col])
			rc = col_decode(t, c, col);
	return rc;
}

/* Does the chunk's zone map (ZONE) rule out every constraint match?
 * Columns with patches in this chunk are never ruled out. */
static int zone_excludes(struct ctab *t, struct ccur *c, const unsigned char *z,
			 int nz, int has_patches)
{
	const unsigned char *end;
	int64_t mn[WC_COLTAB_MAX_COLS], mx[WC_COLTAB_MAX_COLS];
	uint8_t has[WC_COLTAB_MAX_COLS];

	if (!z || nz <= 0 || has_patches || c->ncons == 0)
		return 0;
	end = z + nz;
	for (int i = 0; i < t->ncols; i++) {
		uint64_t flag, a, b;

		if (get_varint(&z, end, &flag))
			return 0;
		has[i] = flag != 0;
		if (flag) {
			if (get_varint(&z, end, &a) || get_varint(&z, end, &b))
				return 0;
			mn[i] = zz_dec(a);
			mx[i] = zz_dec(b);
		}
	}
	for (int k = 0; k < c->ncons; k++) {
		int col = c->con_col[k];
		int64_t v = c->con_val[k];

		if (!has[col])
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

/* Loads the next chunk of the scan that may hold a match; sets eof. */
static int next_chunk(struct ctab *t, struct ccur *c)
{
	int rc;

	for (;;) {
		int64_t first, last, n;
		const void *data;
		int ndata, has_patches = 0;

		rc = sqlite3_step(c->chunks);
		if (rc == SQLITE_DONE) {
			c->eof = 1;
			return SQLITE_OK;
		}
		if (rc != SQLITE_ROW)
			return rc;
		first = sqlite3_column_int64(c->chunks, 0);
		last = sqlite3_column_int64(c->chunks, 1);
		n = sqlite3_column_int64(c->chunks, 2);
		if (first > c->hi) {
			c->eof = 1;
			return SQLITE_OK;
		}
		if (last < c->lo || n <= 0)
			continue;
		if (c->ncons) {
			/* a patch may move a value outside the zone map */
			if ((rc = prepare_patches(t, c)) != SQLITE_OK)
				return rc;
			sqlite3_bind_int64(c->patches, 1, first);
			sqlite3_bind_int64(c->patches, 2, last);
			has_patches = sqlite3_step(c->patches) == SQLITE_ROW;
			sqlite3_reset(c->patches);
			if (zone_excludes(t, c, sqlite3_column_blob(c->chunks, 3),
					  sqlite3_column_bytes(c->chunks, 3),
					  has_patches))
				continue;
		}
		data = sqlite3_column_blob(c->chunks, 4);
		ndata = sqlite3_column_bytes(c->chunks, 4);
		if (!data || ndata <= 0)
			return corrupt(t, "no data");
		if ((size_t)ndata > c->cap_blob) {
			unsigned char *b = sqlite3_realloc64(c->blob, (size_t)ndata);

			if (!b)
				return SQLITE_NOMEM;
			c->blob = b;
			c->cap_blob = (size_t)ndata;
		}
		memcpy(c->blob, data, (size_t)ndata);
		c->nblob = (size_t)ndata;
		if ((rc = chunk_parse(t, c)) != SQLITE_OK ||
		    (rc = col_decode(t, c, 0)) != SQLITE_OK)
			return rc;
		if (c->n != (uint64_t)n || c->vals[0][0] != first ||
		    c->vals[0][c->n - 1] != last)
			return corrupt(t, "chunk bounds");
		if ((rc = load_patches(t, c, first, last)) != SQLITE_OK)
			return rc;
		/* first row at or above lo */
		c->row = 0;
		while (c->row < c->n && c->vals[0][c->row] < c->lo)
			c->row++;
		if (c->row < c->n && c->vals[0][c->row] <= c->hi)
			return SQLITE_OK;
		if (c->row < c->n) {
			c->eof = 1;
			return SQLITE_OK;
		}
	}
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
	/* the current chunk may already hold the key (joins look keys up
	 * one after another, mostly in the same chunk) */
	if (c->n && c->decoded[0] && c->lo == c->hi && c->ncons == 0 &&
	    c->vals[0][0] <= c->lo && c->vals[0][c->n - 1] >= c->lo) {
		int64_t r = row_of_key(c, c->lo);

		sqlite3_reset(c->chunks);
		if (r < 0) {
			c->eof = 1;
			return SQLITE_OK;
		}
		c->row = (uint32_t)r;
		c->single = 1;
		return SQLITE_OK;
	}
	if (!c->chunks) {
		char *sql = sqlite3_mprintf(
			"SELECT first, last, n, zone, data FROM \"%w\".\"%w__chunk\""
			" WHERE first >= (SELECT coalesce(max(first), -9223372036854775807 - 1)"
			" FROM \"%w\".\"%w__chunk\" WHERE first <= ?1) AND first <= ?2"
			" ORDER BY first",
			t->schema, t->name, t->schema, t->name);

		rc = sql ? sqlite3_prepare_v2(t->db, sql, -1, &c->chunks, NULL) : SQLITE_NOMEM;
		sqlite3_free(sql);
		if (rc != SQLITE_OK)
			return rc;
	}
	sqlite3_reset(c->chunks);
	sqlite3_bind_int64(c->chunks, 1, c->lo);
	sqlite3_bind_int64(c->chunks, 2, c->hi);
	c->n = 0;
	return next_chunk(t, c);
}

static int ctab_next(sqlite3_vtab_cursor *cur)
{
	struct ccur *c = (struct ccur *)cur;
	struct ctab *t = (struct ctab *)cur->pVtab;

	if (c->eof)
		return SQLITE_OK;
	c->row++;
	if (c->row < c->n) {
		if (c->vals[0][c->row] > c->hi)
			c->eof = 1;
		return SQLITE_OK;
	}
	if (c->single) {	/* key look-up served from the cached chunk */
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
	if (!c->decoded[col] && (rc = col_decode(t, c, col)) != SQLITE_OK) {
		/* the message first: sqlite3_result_error() sets the code
		 * to SQLITE_ERROR, the code must come after it */
		if (t->base.zErrMsg)
			sqlite3_result_error(ctx, t->base.zErrMsg, -1);
		sqlite3_result_error_code(ctx, rc);
		return rc;
	}
	if (c->nulls[col][c->row])
		return SQLITE_OK;	/* result defaults to NULL */
	if (t->is_text[col]) {
		uint64_t i = (uint64_t)c->vals[col][c->row];

		sqlite3_result_text(ctx, (const char *)c->dict[i],
				    (int)c->dict_len[i], SQLITE_TRANSIENT);
	} else {
		sqlite3_result_int64(ctx, c->vals[col][c->row]);
	}
	return SQLITE_OK;
}

static int ctab_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	struct ccur *c = (struct ccur *)cur;

	*rowid = c->vals[0][c->row];
	return SQLITE_OK;
}

/* Sets the vtab's error message to "TABLE: WHY"; SQLITE_CONSTRAINT. */
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
