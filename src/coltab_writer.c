/*
 * coltab_writer.c - bulk appends to a columnar table (coltab.h).
 *
 * The importer and the analysis set the columns of one row at a time;
 * rows gather in an open chunk of WC_COLTAB_CHUNK_ROWS rows (row-major
 * int64 values, a NULL flag byte per value, and a dictionary of the
 * chunk's distinct strings), which is encoded and written as one SQLite
 * row when full.  Per value this costs two stores (the integer and NULL
 * setters are inline, coltab.h) and, per text value, a hash probe, or a
 * few pointer compares for static text (wc_coltab_set_static()): the
 * SQLite cost is paid once per chunk instead of once per row.
 *
 * Memory per chunk buffer: ncols x 4096 x 9 bytes, 32 KiB of NULL
 * bitmasks and the dictionary (~0.6 MiB for sched_switch); one buffer,
 * or up to three for an asynchronous writer, whatever the capture size.
 *
 * Asynchronous writers (wc_coltab_writer_set_async()): encoding is the
 * largest part of writing a chunk (wc_coltab_encode() was 13% of
 * `waitchain analyze`), so a full chunk is handed to one encoding
 * thread shared by the process, and the caller goes on filling another
 * buffer.  Chunks are encoded in hand-off order.  On a connection that
 * serializes its calls (opened with SQLITE_OPEN_FULLMUTEX: the
 * analysis') the encoding thread also inserts them, holding the
 * connection's mutex for the whole statement: writing 450 MB of chunks
 * into the file was a fifth of the analysis thread's time.  On a NOMUTEX
 * connection the caller's thread inserts them (at a later hand-off, a
 * patch of one of their rows, or the flush), and the encoding thread
 * only calls sqlite3_malloc()/sqlite3_free().  Either way, same input
 * to the same encoder, inserted in the same order, patches written
 * after their chunk: the tables are the synchronous writer's.
 *
 * Keys continue after the rows already in the table (one max() look-up
 * when the writer is made): a row whose key is not above the previous
 * one is refused.  A table whose key is declared HIDDEN (an append
 * ordinal: the analysis tables) may leave the key unset; it then gets
 * the previous key + 1.
 */
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "waitchain/coltab.h"
#include "waitchain/util.h"

#define DICT_SLOTS (WC_COLTAB_CHUNK_ROWS * 4)	/* power of two */
#define NBUF 3		/* buffers of an async writer: one filling, two in flight */
#define SC_WAYS 8	/* static texts remembered per column (power of two) */

/* Where a chunk buffer is (the hand-off states are guarded by pool.mu). */
enum { BUF_IDLE, BUF_QUEUED, BUF_DONE };

/* One chunk: its rows and dictionary, and while handed off, its
 * encoding. */
struct cbuf {
	int64_t *vals;		/* [CHUNK_ROWS][ncols] */
	uint8_t *null;		/* [CHUNK_ROWS][ncols] + slack: 1 = NULL (only
				 * ever 0 or 1, see pack_nulls()) */
	uint64_t *nullmask;	/* [CHUNK_ROWS]: null packed for the encoder */
	uint32_t n;		/* rows appended */
	/* the dictionary: distinct strings, NUL-terminated, back to back */
	char *text;
	size_t ntext, cap_text;
	size_t *off;		/* per entry: its offset in text */
	uint32_t *len;		/* per entry: its length */
	const char **ptr;	/* per entry: text + off, set at encoding */
	uint32_t ndict, cap_dict;
	/* hand-off */
	int busy;		/* handed off, not yet inserted (the caller's
				 * own view: state is the encoding thread's) */
	struct wc_coltab_chunk ch;	/* what the encoder reads */
	int state;		/* BUF_*, under pool.mu while busy */
	int rc;			/* wc_coltab_encode()'s, when BUF_DONE */
	/* inserted by the encoding thread (owner->insert_async): the
	 * statement's result, and SQLite's message when it failed */
	int inserted, irc;
	char imsg[200];
	unsigned char *data, *zone;	/* its blobs (sqlite3_free) */
	int ndata, nzone;
	struct wc_coltab_writer *owner;
	struct cbuf *next;	/* in the encoding thread's queue */
};

/* A column's recent static texts and their dictionary indexes in the
 * open chunk (empty entries hold NULL, which no lookup passes). */
struct scache {
	const char *p[SC_WAYS];
	uint32_t k[SC_WAYS];
	unsigned next;		/* the entry to replace */
};

struct wc_coltab_writer {
	struct wc_coltab_cursor_ cur;	/* first: the inline setters' view */
	sqlite3 *db;
	const char *path;
	char *table;
	char *names[WC_COLTAB_MAX_COLS];	/* column names (owned) */
	uint8_t is_text[WC_COLTAB_MAX_COLS];
	int ncols;
	int64_t last_key;	/* of the previous row, or the table's largest */
	int have_last;
	int hidden_key;		/* column 0 is HIDDEN: may be left unset */
	uint64_t rows;
	int broken;		/* 0, or the code of a failed chunk write */
	struct cbuf *open;	/* the chunk being filled */
	/* the open chunk's dictionary index */
	uint32_t *slots;	/* DICT_SLOTS: dictionary index + 1, 0 = free */
	uint32_t *slot_of;	/* per dictionary entry: its slot (to clear) */
	struct scache *sc;	/* [ncols] */
	/* asynchronous encoding */
	int async;
	int insert_async;	/* the encoding thread inserts too (DB has a
				 * mutex: see the top of the file) */
	struct cbuf *bufs[NBUF];	/* allocated buffers, open among them */
	int nbufs;
	struct cbuf *fifo[NBUF];	/* handed off, oldest first (ring) */
	unsigned fifo_head, nfifo;
	atomic_int failed;	/* set by the encoding thread: look at fifo */
	sqlite3_stmt *ins_chunk, *ins_patch, *get_patch;
};

/* The inline setters cast the writer to its first member. */
_Static_assert(offsetof(struct wc_coltab_writer, cur) == 0,
	       "the cursor must be the writer's first member");

static int dberr(struct wc_coltab_writer *w, const char *what,
		 struct wc_error *err)
{
	return wc_err(err, WC_EDB, w->path, "%s %s: %s", what, w->table,
		      sqlite3_errmsg(w->db));
}

static int nomem(struct wc_coltab_writer *w, struct wc_error *err)
{
	return wc_err(err, WC_ENOMEM, w->path, "out of memory writing %s", w->table);
}

/* The error of every call on a broken writer. */
static int broken(struct wc_coltab_writer *w, struct wc_error *err)
{
	return wc_err(err, w->broken, w->path, "%s: an earlier chunk could not be written",
		      w->table);
}

/* --- chunk buffers ---------------------------------------------------------------- */

static void cbuf_free(struct cbuf *b)
{
	if (!b)
		return;
	sqlite3_free(b->data);
	sqlite3_free(b->zone);
	free(b->vals);
	free(b->null);
	free(b->nullmask);
	free(b->text);
	free(b->off);
	free(b->len);
	free((void *)b->ptr);
	free(b);
}

static struct cbuf *cbuf_new(struct wc_coltab_writer *w)
{
	struct cbuf *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->vals = malloc(sizeof(int64_t) * (size_t)w->ncols * WC_COLTAB_CHUNK_ROWS);
	/* calloc: every byte 0 or 1, also the slack that the fresh-row
	 * copies (coltab.h) and pack_nulls()'s 8-byte loads reach */
	b->null = calloc((size_t)w->ncols * WC_COLTAB_CHUNK_ROWS + WC_COLTAB_MAX_COLS, 1);
	b->nullmask = malloc(sizeof(uint64_t) * WC_COLTAB_CHUNK_ROWS);
	if (!b->vals || !b->null || !b->nullmask) {
		cbuf_free(b);
		return NULL;
	}
	b->owner = w;
	b->ch.ncols = w->ncols;
	b->ch.is_text = w->is_text;
	return b;
}

/* Makes B the open chunk: empty, its dictionary index and static-text
 * caches too, and its row 0 started. */
static void open_chunk(struct wc_coltab_writer *w, struct cbuf *b)
{
	/* clearing the used slots only: a chunk has a few distinct strings */
	for (uint32_t k = 0; k < w->open->ndict; k++)
		w->slots[w->slot_of[k]] = 0;
	memset(w->sc, 0, sizeof(*w->sc) * (size_t)w->ncols);
	b->n = 0;
	b->ndict = 0;
	b->ntext = 0;
	w->open = b;
	w->cur.row = b->vals;
	w->cur.null = b->null;
	wc_coltab_row(w);
}

/* B's NULL flags as the encoder's bitmasks (bit c = column c). */
static void pack_nulls(struct cbuf *b)
{
	size_t ncols = (size_t)b->ch.ncols;

	for (uint32_t r = 0; r < b->n; r++) {
		const uint8_t *f = b->null + (size_t)r * ncols;
		uint64_t m = 0;

		for (size_t c = 0; c < ncols; c += 8) {
			uint64_t x, bits;

			/* eight 0/1 bytes to eight bits: byte i lands on bit
			 * 56 + i, every other product on a distinct lower (or
			 * lost) bit, so nothing carries; bytes past the row
			 * (the next row's, or the slack) are masked off */
			memcpy(&x, f + c, 8);
			bits = (x * 0x0102040810204080ULL) >> 56;
			if (ncols - c < 8)
				bits &= ((uint64_t)1 << (ncols - c)) - 1;
			m |= bits << c;
		}
		b->nullmask[r] = m;
	}
}

/* Fills B's chunk description for the encoder (but for nullmask:
 * pack_nulls()). */
static void describe(struct cbuf *b)
{
	for (uint32_t k = 0; k < b->ndict; k++)
		b->ptr[k] = b->text + b->off[k];
	b->ch.n = b->n;
	b->ch.vals = b->vals;
	b->ch.nullmask = b->nullmask;
	b->ch.dict = b->ptr;
	b->ch.dict_len = b->len;
	b->ch.ndict = b->ndict;
}

/*
 * Inserts chunk B encoded as DATA and ZONE, under the connection's mutex
 * (none on a NOMUTEX connection), from either thread.  SQLITE_DONE, or
 * SQLite's code with its message in MSG (LEN bytes).
 */
static int insert_blobs(struct wc_coltab_writer *w, const struct cbuf *b,
			const unsigned char *data, int ndata,
			const unsigned char *zone, int nzone, char *msg,
			size_t len)
{
	sqlite3_mutex *mu = sqlite3_db_mutex(w->db);
	int rc;

	sqlite3_mutex_enter(mu);
	sqlite3_bind_int64(w->ins_chunk, 1, b->vals[0]);
	sqlite3_bind_int64(w->ins_chunk, 2, b->vals[(size_t)(b->n - 1) * (size_t)w->ncols]);
	sqlite3_bind_int64(w->ins_chunk, 3, b->n);
	sqlite3_bind_blob(w->ins_chunk, 4, zone, nzone, SQLITE_STATIC);
	sqlite3_bind_blob(w->ins_chunk, 5, data, ndata, SQLITE_STATIC);
	wc_coltab_touch();	/* the module's chunk directories are outdated */
	rc = sqlite3_step(w->ins_chunk);
	sqlite3_reset(w->ins_chunk);
	sqlite3_clear_bindings(w->ins_chunk);
	if (rc != SQLITE_DONE)
		snprintf(msg, len, "%s", sqlite3_errmsg(w->db));
	sqlite3_mutex_leave(mu);
	return rc;
}

/* The error of a chunk insert that returned RC with message MSG. */
static int insert_error(struct wc_coltab_writer *w, int rc, const char *msg,
			struct wc_error *err)
{
	return wc_err(err, rc == SQLITE_NOMEM ? WC_ENOMEM : WC_EDB, w->path,
		      "cannot write a chunk of %s: %s", w->table, msg);
}

/* Inserts the encoded chunk B (caller's thread). */
static int insert_chunk(struct wc_coltab_writer *w, const struct cbuf *b,
			const unsigned char *data, int ndata,
			const unsigned char *zone, int nzone, struct wc_error *err)
{
	char msg[200];
	int rc = insert_blobs(w, b, data, ndata, zone, nzone, msg, sizeof(msg));

	return rc == SQLITE_DONE ? 0 : insert_error(w, rc, msg, err);
}

/* Encodes and inserts B on the caller's thread. */
static int write_chunk(struct wc_coltab_writer *w, struct cbuf *b,
		       struct wc_error *err)
{
	unsigned char *data = NULL, *zone = NULL;
	int ndata, nzone, rc;

	describe(b);
	pack_nulls(b);
	rc = wc_coltab_encode(&b->ch, &data, &ndata, &zone, &nzone);
	if (rc != SQLITE_OK)
		return nomem(w, err);
	rc = insert_chunk(w, b, data, ndata, zone, nzone, err);
	sqlite3_free(data);
	sqlite3_free(zone);
	return rc;
}

/* --- the encoding thread ---------------------------------------------------------- */

/*
 * One thread encodes the chunks of every asynchronous writer, in
 * hand-off order; it runs while at least one such writer exists (so a
 * process without them, or after them, has no extra thread: nothing to
 * worry about around fork()).
 */
static struct {
	pthread_mutex_t life;	/* serializes starting and stopping the thread */
	pthread_mutex_t mu;	/* guards the rest, and the hand-off fields of
				 * queued chunks */
	pthread_cond_t work;	/* signalled: a chunk queued, or stop */
	pthread_cond_t done;	/* broadcast: a chunk encoded */
	struct cbuf *head, *tail;	/* chunks to encode */
	int stop;
	int users;		/* asynchronous writers (under life) */
	pthread_t thread;
} pool = {
	.life = PTHREAD_MUTEX_INITIALIZER,
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};

static void *encoder_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pool.mu);
	for (;;) {
		struct cbuf *b = pool.head;
		unsigned char *data = NULL, *zone = NULL;
		int ndata = 0, nzone = 0, rc;

		if (!b) {
			if (pool.stop)
				break;
			pthread_cond_wait(&pool.work, &pool.mu);
			continue;
		}
		pool.head = b->next;
		if (!pool.head)
			pool.tail = NULL;
		pthread_mutex_unlock(&pool.mu);
		/* b is this thread's until it is marked done */
		pack_nulls(b);
		rc = wc_coltab_encode(&b->ch, &data, &ndata, &zone, &nzone);
		/* nothing after a failed chunk goes in (the caller drops
		 * the chunks behind it, as the synchronous writer would) */
		b->inserted = rc == SQLITE_OK && b->owner->insert_async &&
			      !atomic_load_explicit(&b->owner->failed,
						    memory_order_relaxed);
		if (b->inserted) {
			b->irc = insert_blobs(b->owner, b, data, ndata, zone,
					      nzone, b->imsg, sizeof(b->imsg));
			sqlite3_free(data);
			sqlite3_free(zone);
			data = zone = NULL;
		}
		pthread_mutex_lock(&pool.mu);
		b->rc = rc;
		b->data = data;
		b->ndata = ndata;
		b->zone = zone;
		b->nzone = nzone;
		b->state = BUF_DONE;
		if (rc != SQLITE_OK || (b->inserted && b->irc != SQLITE_DONE))
			atomic_store_explicit(&b->owner->failed, 1, memory_order_relaxed);
		pthread_cond_broadcast(&pool.done);
	}
	pthread_mutex_unlock(&pool.mu);
	return NULL;
}

/* Takes a reference on the encoding thread, starting it if needed;
 * 0 when it cannot be started. */
static int pool_get(void)
{
	int ok = 1;

	pthread_mutex_lock(&pool.life);
	if (pool.users == 0)
		ok = wc_thread_start(&pool.thread, encoder_main, NULL) == 0;
	if (ok)
		pool.users++;
	pthread_mutex_unlock(&pool.life);
	return ok;
}

/* Drops a reference taken by pool_get(); the last one stops the thread
 * (the caller has no chunk queued any more). */
static void pool_put(void)
{
	pthread_mutex_lock(&pool.life);
	assert(pool.users > 0);
	if (--pool.users == 0) {
		pthread_mutex_lock(&pool.mu);
		pool.stop = 1;
		pthread_cond_signal(&pool.work);
		pthread_mutex_unlock(&pool.mu);
		pthread_join(pool.thread, NULL);
		pthread_mutex_lock(&pool.mu);
		pool.stop = 0;
		pthread_mutex_unlock(&pool.mu);
	}
	pthread_mutex_unlock(&pool.life);
}

/* Queues the open chunk B for encoding. */
static void hand_off(struct wc_coltab_writer *w, struct cbuf *b)
{
	describe(b);
	assert(w->nfifo < NBUF);
	w->fifo[(w->fifo_head + w->nfifo) % NBUF] = b;
	w->nfifo++;
	b->busy = 1;
	pthread_mutex_lock(&pool.mu);
	b->state = BUF_QUEUED;
	b->next = NULL;
	if (pool.tail)
		pool.tail->next = b;
	else
		pool.head = b;
	pool.tail = b;
	pthread_cond_signal(&pool.work);
	pthread_mutex_unlock(&pool.mu);
}

/* Waits for the oldest handed-off chunk to be encoded (WAIT), or only
 * looks (!WAIT); 1 when it is. */
static int oldest_done(struct wc_coltab_writer *w, int wait)
{
	struct cbuf *b = w->fifo[w->fifo_head];
	int done;

	pthread_mutex_lock(&pool.mu);
	while (wait && b->state != BUF_DONE)
		pthread_cond_wait(&pool.done, &pool.mu);
	done = b->state == BUF_DONE;
	pthread_mutex_unlock(&pool.mu);
	return done;
}

/* Inserts the oldest handed-off chunk, encoded (unless the encoding
 * thread did), and frees its buffer for reuse. */
static int insert_oldest(struct wc_coltab_writer *w, struct wc_error *err)
{
	struct cbuf *b = w->fifo[w->fifo_head];
	int rc;

	w->fifo_head = (w->fifo_head + 1) % NBUF;
	w->nfifo--;
	if (b->rc != SQLITE_OK)
		rc = nomem(w, err);
	else if (b->inserted)
		rc = b->irc == SQLITE_DONE ? 0 : insert_error(w, b->irc, b->imsg, err);
	else
		rc = insert_chunk(w, b, b->data, b->ndata, b->zone, b->nzone, err);
	sqlite3_free(b->data);
	sqlite3_free(b->zone);
	b->data = b->zone = NULL;
	b->state = BUF_IDLE;
	b->busy = 0;
	if (rc)
		w->broken = -rc;
	return rc;
}

/* Inserts handed-off chunks, oldest first, while they are encoded;
 * waits for them until at most KEEP remain in flight. */
static int reap(struct wc_coltab_writer *w, unsigned keep, struct wc_error *err)
{
	while (w->nfifo > 0 && oldest_done(w, w->nfifo > keep)) {
		int rc = insert_oldest(w, err);

		if (rc)
			return rc;
	}
	return 0;
}

/* Waits until the encoding thread is done with every chunk of W, and
 * drops their encodings (freeing a writer without flushing: a failure,
 * whose transaction the caller rolls back; chunks the encoding thread
 * inserted go with it). */
static void abandon_in_flight(struct wc_coltab_writer *w)
{
	while (w->nfifo > 0) {
		struct cbuf *b = w->fifo[w->fifo_head];

		oldest_done(w, 1);
		sqlite3_free(b->data);
		sqlite3_free(b->zone);
		b->data = b->zone = NULL;
		b->state = BUF_IDLE;
		b->busy = 0;
		w->fifo_head = (w->fifo_head + 1) % NBUF;
		w->nfifo--;
	}
}

/* A buffer for the next chunk, once the open one is handed off: an idle
 * one, a new one (up to NBUF), or the oldest in flight once written. */
static int next_buffer(struct wc_coltab_writer *w, struct cbuf **out,
		       struct wc_error *err)
{
	int rc = reap(w, w->nfifo, err);	/* what is ready, no waiting */

	*out = NULL;
	if (rc)
		return rc;
	for (int i = 0; i < w->nbufs; i++)
		if (!w->bufs[i]->busy && w->bufs[i] != w->open) {
			*out = w->bufs[i];
			return 0;
		}
	if (w->nbufs < NBUF && (w->bufs[w->nbufs] = cbuf_new(w))) {
		*out = w->bufs[w->nbufs++];
		return 0;
	}
	/* all in flight (or no memory for another one): wait */
	assert(w->nfifo > 0);
	rc = reap(w, w->nfifo - 1, err);
	if (rc)
		return rc;
	for (int i = 0; i < w->nbufs; i++)
		if (!w->bufs[i]->busy && w->bufs[i] != w->open)
			*out = w->bufs[i];
	assert(*out);
	return 0;
}

/* The open chunk is complete (full, or flushed): writes it or hands it
 * off, and opens an empty one. */
static int chunk_done(struct wc_coltab_writer *w, struct wc_error *err)
{
	struct cbuf *b = w->open, *next = NULL;
	int rc;

	if (!w->async) {
		rc = write_chunk(w, b, err);
		if (rc)
			w->broken = -rc;
		open_chunk(w, b);
		return rc;
	}
	hand_off(w, b);
	rc = next_buffer(w, &next, err);
	if (rc) {
		/* keep filling something: the caller stops at the error */
		w->broken = -rc;
		abandon_in_flight(w);
		next = b;
	}
	open_chunk(w, next);
	return rc;
}

int wc_coltab_writer_set_async(struct wc_coltab_writer *w, int on)
{
	assert(w->rows == 0 && w->open->n == 0 && w->nfifo == 0);
	if (!on && w->async) {
		pool_put();
		w->async = 0;
	} else if (on && !w->async) {
		if (wc_threads_allowed(2))
			w->async = sqlite3_threadsafe() && pool_get();
	}
	w->insert_async = w->async && sqlite3_db_mutex(w->db) != NULL;
	return w->async;
}

/* --- the writer --------------------------------------------------------------------- */

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
	atomic_init(&w->failed, 0);
	w->table = wc_strdup(table);
	if (!w->table)
		goto nomem;
	/* table_xinfo, not table_info: hidden columns count */
	if (sqlite3_prepare_v2(db, "SELECT type, hidden, name FROM"
			       " pragma_table_xinfo(?1) ORDER BY cid", -1, &st,
			       NULL) != SQLITE_OK) {
		rc = dberr(w, "cannot read the columns of", err);
		goto fail;
	}
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 2);

		if (ncols == WC_COLTAB_MAX_COLS)
			break;
		if (ncols == 0)
			w->hidden_key = sqlite3_column_int(st, 1) != 0;
		w->names[ncols] = wc_strdup(name ? name : "");
		if (!w->names[ncols]) {
			sqlite3_finalize(st);
			goto nomem;
		}
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
	w->ncols = ncols;
	w->cur.all_cols = ncols == 64 ? ~(uint64_t)0 : ((uint64_t)1 << ncols) - 1;
	for (int c = 0; c < ncols; c++) {
		if (!w->is_text[c])
			w->cur.int_cols |= (uint64_t)1 << c;
		w->cur.fresh[c] = 1;
	}
	w->slots = calloc(DICT_SLOTS, sizeof(*w->slots));
	w->slot_of = malloc(DICT_SLOTS * sizeof(*w->slot_of));
	w->sc = calloc((size_t)ncols, sizeof(*w->sc));
	w->bufs[0] = cbuf_new(w);
	if (!w->slots || !w->slot_of || !w->sc || !w->bufs[0])
		goto nomem;
	w->nbufs = 1;
	w->open = w->bufs[0];
	open_chunk(w, w->bufs[0]);
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

/* A hash of the LEN bytes at S for the dictionary index: 8 bytes per
 * multiply (the strings are names: a few words long). */
static uint64_t text_hash(const char *s, size_t len)
{
	uint64_t h = 0x636f6c746162ULL ^ len, x;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&x, s, 8);
		h = (h ^ x) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 32;
	}
	x = 0;
	for (size_t i = 0; i < len; i++)
		x |= (uint64_t)(unsigned char)s[i] << (8 * i);
	return wc_mix64(h ^ x);
}

/* Grows B's dictionary for one more entry of LEN bytes; 0 or -1. */
static int dict_room(struct cbuf *b, size_t len)
{
	if (b->ndict == b->cap_dict) {
		uint32_t nc = b->cap_dict ? b->cap_dict * 2 : 64;
		size_t *o = realloc(b->off, nc * sizeof(*o));
		uint32_t *l;
		const char **p;

		if (!o)
			return -1;
		b->off = o;
		l = realloc(b->len, nc * sizeof(*l));
		if (!l)
			return -1;
		b->len = l;
		p = realloc((void *)b->ptr, nc * sizeof(*p));
		if (!p)
			return -1;
		b->ptr = p;
		b->cap_dict = nc;
	}
	if (len + 1 > b->cap_text - b->ntext) {
		size_t nc = b->cap_text ? b->cap_text : 4096;
		char *t;

		while (len + 1 > nc - b->ntext)
			nc *= 2;
		t = realloc(b->text, nc);
		if (!t)
			return -1;
		b->text = t;
		b->cap_text = nc;
	}
	return 0;
}

/* The dictionary index of TEXT in the open chunk, added if new; -1 when
 * out of memory. */
static int64_t dict_index(struct wc_coltab_writer *w, const char *text)
{
	struct cbuf *b = w->open;
	size_t len = strlen(text);
	uint32_t i = (uint32_t)text_hash(text, len) & (DICT_SLOTS - 1);

	while (w->slots[i]) {
		uint32_t k = w->slots[i] - 1;

		if (b->len[k] == len && memcmp(b->text + b->off[k], text, len) == 0)
			return k;
		i = (i + 1) & (DICT_SLOTS - 1);
	}
	/* a chunk is cut (append) once the dictionary passes half of
	 * DICT_SLOTS less a row's columns: only a row setting one column
	 * thousands of times could fill the table */
	assert(b->ndict < DICT_SLOTS - 1);
	if (len > UINT32_MAX || dict_room(b, len))
		return -1;
	memcpy(b->text + b->ntext, text, len + 1);
	b->off[b->ndict] = b->ntext;
	b->len[b->ndict] = (uint32_t)len;
	b->ntext += len + 1;
	w->slot_of[b->ndict] = i;
	w->slots[i] = ++b->ndict;
	return b->ndict - 1;
}

/* Stores dictionary index K in column COL of the started row. */
static void set_index(struct wc_coltab_writer *w, int col, int64_t k)
{
	w->cur.row[col] = k;
	w->cur.null[col] = 0;
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
	k = dict_index(w, text);
	if (k < 0)
		return nomem(w, err);
	set_index(w, col, k);
	return 0;
}

/* wc_coltab_set_static()'s miss: TEXT through the dictionary, then
 * remembered in place of the column's oldest entry. */
static int static_miss(struct wc_coltab_writer *w, int col, const char *text,
		       struct wc_error *err)
{
	struct scache *s = &w->sc[col];
	int64_t k = dict_index(w, text);

	if (k < 0)
		return nomem(w, err);
	s->p[s->next] = text;
	s->k[s->next] = (uint32_t)k;
	s->next = (s->next + 1) & (SC_WAYS - 1);
	set_index(w, col, k);
	return 0;
}

int wc_coltab_set_static(struct wc_coltab_writer *w, int col, const char *text,
			 struct wc_error *err)
{
	const struct scache *s;
	uint32_t hit = 0, at = 0;

	assert(col >= 0 && col < w->ncols && w->is_text[col]);
	if (!text) {
		wc_coltab_set_null(w, col);
		return 0;
	}
	s = &w->sc[col];
	/* without a branch per entry: which entry hits varies from row to
	 * row (running, runnable, ...), and mispredicted exits from a loop
	 * cost more than the compares (the pointers are distinct: at most
	 * one hits) */
	for (uint32_t i = 0; i < SC_WAYS; i++) {
		uint32_t m = 0 - (uint32_t)(s->p[i] == text);

		hit |= m;
		at |= m & i;
	}
	if (!hit)
		return static_miss(w, col, text, err);
	set_index(w, col, s->k[at]);
	return 0;
}

int wc_coltab_writer_flush(struct wc_coltab_writer *w, struct wc_error *err)
{
	int rc = 0;

	if (w->broken)
		return broken(w, err);
	if (w->open->n)
		rc = chunk_done(w, err);
	if (!rc && w->async)
		rc = reap(w, 0, err);
	/* a started row is dropped; the fresh one starts at row 0 */
	w->cur.row = w->open->vals + (size_t)w->open->n * (size_t)w->ncols;
	w->cur.null = w->open->null + (size_t)w->open->n * (size_t)w->ncols;
	wc_coltab_row(w);
	return rc;
}

int wc_coltab_append(struct wc_coltab_writer *w, struct wc_error *err)
{
	struct cbuf *b = w->open;
	int64_t *key = w->cur.row;

	if (w->broken)
		return broken(w, err);
	if (atomic_load_explicit(&w->failed, memory_order_relaxed)) {
		/* an encoding failed: insert what precedes it, then fail */
		int rc = reap(w, 0, err);

		assert(rc);
		if (rc)
			return rc;
	}
	if (w->cur.null[0]) {
		/* only a hidden key (an append ordinal) may be left out */
		assert(w->hidden_key);
		if (w->have_last && w->last_key == INT64_MAX)
			return wc_err(err, WC_EDB, w->path, "%s: no key after %lld",
				      w->table, (long long)w->last_key);
		*key = w->have_last ? w->last_key + 1 : 1;
		w->cur.null[0] = 0;
	} else if (w->have_last && *key <= w->last_key) {
		return wc_err(err, WC_EDB, w->path, "%s: rows must be appended in"
			      " increasing key order (key %lld after %lld)", w->table,
			      (long long)*key, (long long)w->last_key);
	}
	w->last_key = *key;
	w->have_last = 1;
	w->rows++;
	b->n++;
	w->cur.row += w->ncols;
	w->cur.null += w->ncols;
	wc_coltab_row(w);
	if (b->n == WC_COLTAB_CHUNK_ROWS ||
	    b->ndict + (uint32_t)w->ncols > DICT_SLOTS / 2)
		return chunk_done(w, err);
	return 0;
}

int wc_coltab_patch(struct wc_coltab_writer *w, int64_t key, int n,
		    const int *cols, const int64_t *vals,
		    const uint8_t *present, struct wc_error *err)
{
	struct cbuf *b = w->open;
	int rc;

	assert(n > 0 && n < WC_COLTAB_MAX_COLS);
	if (w->broken)
		return broken(w, err);
	if (b->n && key >= b->vals[0]) {	/* row 0, column 0 */
		/* still in the open chunk: keys are increasing, search */
		uint32_t lo = 0, hi = b->n;

		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (b->vals[(size_t)mid * (size_t)w->ncols] < key)
				lo = mid + 1;
			else
				hi = mid;
		}
		assert(lo < b->n && b->vals[(size_t)lo * (size_t)w->ncols] == key);
		for (int i = 0; i < n; i++) {
			size_t at = (size_t)lo * (size_t)w->ncols + (size_t)cols[i];

			assert(cols[i] > 0 && cols[i] < w->ncols && !w->is_text[cols[i]]);
			b->vals[at] = vals[i];
			b->null[at] = !present[i];
		}
		return 0;
	}
	/* a row of a chunk in flight: written first, as the synchronous
	 * writer would have (chunks are in key order) */
	while (w->nfifo > 0 && key >= w->fifo[w->fifo_head]->vals[0]) {
		oldest_done(w, 1);
		if ((rc = insert_oldest(w, err)))
			return rc;
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
	if (w->async) {
		abandon_in_flight(w);
		pool_put();
	}
	sqlite3_finalize(w->ins_chunk);
	sqlite3_finalize(w->ins_patch);
	sqlite3_finalize(w->get_patch);
	for (int i = 0; i < w->nbufs; i++)
		cbuf_free(w->bufs[i]);
	free(w->slots);
	free(w->slot_of);
	free(w->sc);
	for (int i = 0; i < WC_COLTAB_MAX_COLS; i++)
		free(w->names[i]);
	free(w->table);
	free(w);
}

int wc_coltab_writer_column(const struct wc_coltab_writer *w, const char *name)
{
	for (int i = 0; i < w->ncols; i++)
		if (sqlite3_stricmp(w->names[i], name) == 0)
			return i;
	return -1;
}
