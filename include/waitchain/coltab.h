/*
 * coltab.h - columnar chunk tables: how the high-rate event tables are
 * stored.
 *
 * A row per event in a SQLite B-tree costs ~0.8 us (bench/PROFILE.md):
 * more than decoding the event, and 5x more than the peers' whole run
 * allows.  So the tables that get one row per event (sched_switch,
 * sched_waking, sched_wakeup, futex, kvm_event) are virtual tables of the
 * module "wc_columnar": rows are kept in chunks of up to
 * WC_COLTAB_CHUNK_ROWS, one SQLite row per chunk, each column encoded on
 * its own (integers as zigzag varint deltas, text through a per-chunk
 * dictionary, a NULL bitmap when a column has NULLs).  A chunk also
 * carries a zone map (min and max of every integer column) so that
 * range conditions (ts BETWEEN a AND b, seq = x) skip whole chunks.
 *
 * Declaration (schema/020_events.sql):
 *
 *     CREATE VIRTUAL TABLE t USING wc_columnar(key INTEGER, c2 INTEGER, c3 TEXT, ...)
 *
 * The first column is the row key: an integer, strictly increasing in
 * append order, and the table's rowid.  A column typed TEXT holds text;
 * every other column holds 64-bit integers (or NULL).  Shadow tables:
 * t__chunk(first, last, n, zone, data) and t__patch(row, data) (values
 * set after a row's chunk was written, see wc_coltab_patch()).
 *
 * Tables without a natural key (the analysis tables thread_state,
 * block_holder, chain) declare an append ordinal as a HIDDEN key:
 *
 *     CREATE VIRTUAL TABLE th USING wc_columnar(row INTEGER HIDDEN, utid INTEGER, state TEXT)
 *
 * With SQLite's hidden-column rules `SELECT *` and `INSERT INTO th
 * VALUES (utid, state)` leave it out; it is still the rowid (`SELECT
 * rowid` or `SELECT row`) and still strictly increasing.  A row appended
 * without a key, through SQL or the writer, gets the previous key + 1
 * (1 in an empty table).  HIDDEN is also accepted on other columns,
 * with the same meaning (left out of `SELECT *` and of INSERT without a
 * column list); nothing else changes for them.
 *
 * Through SQL the table takes INSERT of rows with a key above every
 * existing key, or a NULL key meaning "the largest + 1" (each row
 * becomes a one-row chunk: for tests and small hand-made databases; the
 * importer uses the writer below) and UPDATE of integer columns other
 * than the key (a patch); DELETE is refused (wc_coltab_clear() empties
 * a table).
 * `waitchain sql` connections are read-only anyway.  Any connection that
 * reads these tables needs the module:
 * waitchain registers it on every connection of the process
 * (wc_coltab_auto_register()); the sqlite3 shell and Python load the
 * extension built as waitchain_sqlite.so (docs/schema.md).
 */
#ifndef WAITCHAIN_COLTAB_H
#define WAITCHAIN_COLTAB_H

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "waitchain/error.h"

#define WC_COLTAB_MODULE "wc_columnar"
/* Rows per chunk: 4096 keeps a chunk of sched_switch at ~60 KiB
 * decoded, and a point look-up (one chunk decoded) at ~50 us. */
#define WC_COLTAB_CHUNK_ROWS 4096
/* Columns per table (a zone map and a decoded chunk are per column). */
#define WC_COLTAB_MAX_COLS 64

/* Registers the module on DB. SQLITE_OK or an SQLite error code. */
int wc_coltab_register(sqlite3 *db);

/* Registers the module on every connection this process opens from now
 * on (sqlite3_auto_extension); idempotent. */
void wc_coltab_auto_register(void);

/* --- bulk writer ------------------------------------------------------------ */

struct wc_coltab_writer;

/*
 * A writer appending rows to the columnar table TABLE of DB (inside the
 * caller's transaction), after the rows already there.  PATH names the
 * database in errors.  The column layout is read from the table's
 * declaration.  Caller frees with wc_coltab_writer_free() after
 * wc_coltab_writer_flush().  Nothing else may write TABLE (SQL INSERT,
 * wc_coltab_clear()) while the writer is open, and no statement may be
 * reading TABLE while it is written.  A writer and DB are used from one
 * thread at a time (but see wc_coltab_writer_set_async()).
 *
 * When writing a chunk fails (out of memory, an SQLite error), the
 * writer is broken: that call and every later wc_coltab_append(),
 * wc_coltab_patch() and wc_coltab_writer_flush() fail; free it.
 */
int wc_coltab_writer_new(sqlite3 *db, const char *path, const char *table,
			 struct wc_coltab_writer **out, struct wc_error *err);

/*
 * Encodes full chunks on a second thread (ON = 1) while the caller fills
 * the next ones.  When DB serializes its calls (SQLITE_OPEN_FULLMUTEX,
 * sqlite3_db_mutex() not NULL) that thread also inserts them, in order,
 * under DB's mutex; then the caller must not append to W from inside an
 * SQLite call on DB (a virtual table or function callback), where it
 * holds that mutex while it may wait for the thread.  On a NOMUTEX
 * connection the caller's thread inserts them (at later appends and at
 * the flush).  The table holds what the synchronous writer stores.  Costs up to two
 * more chunk buffers (ncols x 4096 x 9 bytes each).  One encoding
 * thread serves every asynchronous writer of the process; it runs while
 * at least one of them is open.  Call before the first append.
 *
 * Stays synchronous (returns 0) when WC_THREADS is set to 1 (or any
 * value <= 1), when WC_THREADS is unset and only one CPU is online, when
 * SQLite was built without thread safety, or when the thread cannot be
 * started.  Returns 1 when asynchronous.  An error encoding a chunk on
 * the thread (out of memory) is returned by the first append once the
 * thread has failed (or by a patch, or the flush), and breaks the
 * writer.  ON = 0 goes back to synchronous (also before the first
 * append).
 */
int wc_coltab_writer_set_async(struct wc_coltab_writer *w, int on);

/* Starts a row: every column NULL until set.  (wc_coltab_append() and
 * wc_coltab_writer_flush() also leave a fresh row started.) */
static inline void wc_coltab_row(struct wc_coltab_writer *w);
/* Sets column COL (0-based, declaration order) of the started row.
 * wc_coltab_set_text() copies TEXT (NULL sets NULL) into the chunk's
 * dictionary: the pointer is not kept; 0 or an error (out of memory). */
static inline void wc_coltab_set_int(struct wc_coltab_writer *w, int col,
				     int64_t v);
static inline void wc_coltab_set_null(struct wc_coltab_writer *w, int col);
int wc_coltab_set_text(struct wc_coltab_writer *w, int col, const char *text,
		       struct wc_error *err);
/*
 * As wc_coltab_set_text() (same stored bytes), for TEXT of static
 * storage duration whose bytes never change: a string literal such as
 * "running", or a member of a constant table.  The writer remembers, per
 * column, the dictionary index of the last few such pointers in the open
 * chunk, so a repeated value costs a few pointer compares instead of
 * strlen, a hash and a memcmp.  NULL sets NULL.  Never pass a buffer
 * that is reused for other text.
 */
int wc_coltab_set_static(struct wc_coltab_writer *w, int col, const char *text,
			 struct wc_error *err);
/* Appends the started row.  Its key (column 0) must be greater than the
 * previous row's (or the table's largest key): else the row is refused
 * with an error and the writer can go on.  A HIDDEN key may be left
 * unset: it becomes the previous key + 1 (1 for an empty table).  Writes
 * (or hands off) the chunk when it is full. */
int wc_coltab_append(struct wc_coltab_writer *w, struct wc_error *err);

/*
 * Sets integer columns of the already appended row KEY: COLS[i] gets
 * VALS[i] (or NULL when PRESENT[i] is 0), for i < N.  A row still in the
 * open chunk is changed in memory; a row of a written chunk gets a
 * t__patch row, applied by every reader (a row of a chunk still being
 * encoded waits for that chunk to be written first).  Each written row
 * takes at most one patch (the futex table sets a call's exit fields
 * once).
 */
int wc_coltab_patch(struct wc_coltab_writer *w, int64_t key, int n,
		    const int *cols, const int64_t *vals,
		    const uint8_t *present, struct wc_error *err);

/* Writes the open chunk (if any rows) and waits for every chunk handed
 * to the encoding thread to be written.  A row started but not appended
 * is dropped. */
int wc_coltab_writer_flush(struct wc_coltab_writer *w, struct wc_error *err);

/* Rows appended so far. */
uint64_t wc_coltab_writer_rows(const struct wc_coltab_writer *w);

/* Column number (0-based, declaration order) of NAME, or -1. */
int wc_coltab_writer_column(const struct wc_coltab_writer *w, const char *name);

/* Frees W without flushing (waiting for the encoding thread to be done
 * with W's chunks, whose encodings are dropped); NULL ok. */
void wc_coltab_writer_free(struct wc_coltab_writer *w);

/*
 * The started row, the first member of every writer: exposed only so
 * that the setters above compile to two stores in the caller (the
 * analysis sets ~400 million values: a call each cost more than the
 * stores).  NULL flags are a byte per value in the open chunk, turned
 * into bitmasks when the chunk is encoded: a read-modify-write of a
 * mask per value made every setter wait for the previous one, and
 * packing the bytes at each append waited for their stores.  Not for
 * direct use.
 */
struct wc_coltab_cursor_ {
	int64_t *row;		/* the started row's values, in the open chunk */
	uint8_t *null;		/* its NULL flags (1 = NULL), in the open chunk */
	uint64_t int_cols;	/* bit c set = column c holds integers */
	uint64_t all_cols;	/* bit c set for every column */
	/* the flags of a fresh row: 1 per column, then 0 (the copy runs
	 * into the next rows' flags, which their own start resets) */
	uint8_t fresh[WC_COLTAB_MAX_COLS];
};

static inline struct wc_coltab_cursor_ *wc_coltab_cursor_(struct wc_coltab_writer *w)
{
	/* a pointer to a struct, converted, points to its first member */
	return (struct wc_coltab_cursor_ *)(void *)w;
}

static inline void wc_coltab_row(struct wc_coltab_writer *w)
{
	struct wc_coltab_cursor_ *c = wc_coltab_cursor_(w);

	memcpy(c->null, c->fresh, sizeof(c->fresh));
}

static inline void wc_coltab_set_int(struct wc_coltab_writer *w, int col,
				     int64_t v)
{
	struct wc_coltab_cursor_ *c = wc_coltab_cursor_(w);

	assert(col >= 0 && col < WC_COLTAB_MAX_COLS && ((c->int_cols >> col) & 1));
	c->row[col] = v;
	c->null[col] = 0;
}

static inline void wc_coltab_set_null(struct wc_coltab_writer *w, int col)
{
	struct wc_coltab_cursor_ *c = wc_coltab_cursor_(w);

	assert(col >= 0 && col < WC_COLTAB_MAX_COLS && ((c->all_cols >> col) & 1));
	c->null[col] = 1;
}

/* --- chunk format, shared by the writer and the module ----------------------- */

/* One chunk being built: row-major values (rows are filled one at a
 * time: a row's columns share cache lines), a NULL bitmask per row, and
 * the text dictionary (strings stored once per chunk). */
struct wc_coltab_chunk {
	int ncols;
	const uint8_t *is_text;	/* per column: 1 = TEXT (values are dict indexes) */
	uint32_t n;		/* rows */
	int64_t *vals;		/* [n][ncols] */
	uint64_t *nullmask;	/* [n]: bit c set = column c is NULL */
	const char *const *dict;	/* dictionary strings */
	const uint32_t *dict_len;	/* their lengths */
	uint32_t ndict;
};

/*
 * Encodes CH into a chunk blob and its zone map, both malloc'ed (caller
 * frees with sqlite3_free()).  SQLITE_OK or SQLITE_NOMEM.
 */
int wc_coltab_encode(const struct wc_coltab_chunk *ch, unsigned char **data,
		     int *ndata, unsigned char **zone, int *nzone);

/*
 * Tells the module that a columnar table of this process changed other
 * than through its own INSERT/UPDATE (the bulk writer's chunks, patches,
 * wc_coltab_clear()): the chunk directories its tables keep for
 * look-ups are read again.  Called by those writers.
 */
void wc_coltab_touch(void);

/*
 * Writes (or extends) the patch of row KEY of TABLE in SCHEMA: columns
 * COLS[i] get VALS[i], or NULL where PRESENT[i] is 0.  *GET and *PUT are
 * statement caches (NULL the first time; the caller finalizes them).
 * SQLITE_OK, SQLITE_FULL when the row was patched too often (127
 * entries), or an SQLite error code.
 */
int wc_coltab_write_patch(sqlite3 *db, const char *schema, const char *table,
			  sqlite3_stmt **get, sqlite3_stmt **put, int64_t key,
			  int n, const int *cols, const int64_t *vals,
			  const uint8_t *present);

/* --- native scans, for readers that need every row (the analyzer) ------------ */

/*
 * A scan decodes whole chunks in key order straight from the shadow
 * tables, without SQLite's per-row virtual-table calls (~20x cheaper per
 * value than SELECT through the module): what the analysis uses to read
 * tens of millions of events.  Patches are applied, corrupt chunks are
 * errors naming the table, exactly as through SQL.
 */
struct wc_coltab_scan;

/* Opens a scan of every row of the columnar table TABLE of DB (schema
 * "main"); PATH names the database in errors.  0 or an error. */
int wc_coltab_scan_open(sqlite3 *db, const char *path, const char *table,
			struct wc_coltab_scan **out, struct wc_error *err);
/* Column number (0-based, declaration order) of NAME, or -1. */
int wc_coltab_scan_column(const struct wc_coltab_scan *s, const char *name);
/*
 * Reads ahead: a thread of the scan's own loads and decodes the next
 * chunk (its columns COLS, a bit per column number; others are decoded
 * on first use as usual) while the caller reads the current one, so
 * wc_coltab_scan_next() usually finds it ready.  Same rows, same errors
 * (each when the caller reaches that chunk).  Only on a connection that
 * serializes its calls (SQLITE_OPEN_FULLMUTEX: the thread steps the
 * scan's statements meanwhile), and like the asynchronous writers not
 * when WC_THREADS <= 1 or only one CPU is online.  Call before the
 * first wc_coltab_scan_next().  1 when on, 0 when the scan stays
 * synchronous.  Costs a second chunk in memory and a thread until the
 * scan is closed.
 */
int wc_coltab_scan_readahead(struct wc_coltab_scan *s, uint64_t cols);
/* Loads the next chunk: 1 when one is loaded, 0 at the end of the table,
 * or a negative error code (err filled). */
int wc_coltab_scan_next(struct wc_coltab_scan *s, struct wc_error *err);
/* Rows of the current chunk (1 .. WC_COLTAB_CHUNK_ROWS). */
uint32_t wc_coltab_scan_rows(const struct wc_coltab_scan *s);
/* The decoded column COL of the current chunk (patches applied):
 * *VALS[row] (dictionary indexes for a TEXT column) and *NULLS[row]
 * (1 = NULL), valid until the next wc_coltab_scan_next().  0 or an
 * error (corrupt column). */
int wc_coltab_scan_col(struct wc_coltab_scan *s, int col, const int64_t **vals,
		       const uint8_t **nulls, struct wc_error *err);
/* Text of row ROW of TEXT column COL (decoded with wc_coltab_scan_col()
 * first), NUL-terminated, or NULL when the value is NULL.  Valid until
 * the next wc_coltab_scan_next().  (Text with a NUL byte, which no
 * waitchain writer stores, reads as its part before the NUL.) */
const char *wc_coltab_scan_text(const struct wc_coltab_scan *s, int col,
				uint32_t row);
/* NULL ok. */
void wc_coltab_scan_close(struct wc_coltab_scan *s);

/* What TABLE of DB's main schema is: 1 a columnar table, 0 another
 * table, -1 no such table, -2 an SQLite error (sqlite3_errmsg(DB)). */
int wc_coltab_table_kind(sqlite3 *db, const char *table);

/* Deletes every row of the columnar table TABLE of schema "main"
 * (chunks and patches): what `DELETE FROM` would do, which the module
 * refuses row by row.  Inside the caller's transaction (all or nothing:
 * a savepoint).  Needs a writable connection (not `waitchain sql`'s),
 * no open writer on TABLE and no statement reading it.  A writer made
 * afterwards starts a hidden key at 1 again.  0 or an error. */
int wc_coltab_clear(sqlite3 *db, const char *path, const char *table,
		    struct wc_error *err);

#endif /* WAITCHAIN_COLTAB_H */
