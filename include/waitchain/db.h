/*
 * db.h - the case database: creating, opening, writing, importing.
 *
 * A case database is an SQLite file holding one imported capture
 * (the schema/NNN_name.sql files, compiled in).  It is marked with PRAGMA application_id
 * = WC_DB_APPLICATION_ID ('wcha') and PRAGMA user_version =
 * WC_DB_SCHEMA_VERSION, and needs no custom SQL functions: the stock
 * sqlite3 shell and Python's sqlite3 module read it.
 *
 * Schema files are applied in file-name order; files whose name starts
 * with "09" (indexes, views: schema/090_indexes.sql, 095_views.sql) are
 * applied after the bulk load by wc_db_finish_import(), the rest by
 * wc_db_create().
 *
 * Life of an import (what wc_import_file() does):
 *
 *     wc_db_create(tmp, &db)            schema + import pragmas
 *     wc_db_writer_new(db, ...)         BEGIN, statements prepared once
 *     importer->run(wc_db_writer_sink(w))   events -> rows
 *     wc_db_finish_import(w)            thread table, capture keys,
 *                                       indexes, COMMIT
 *     wc_db_writer_free(w); wc_db_close(db); rename(tmp, final)
 */
#ifndef WAITCHAIN_DB_H
#define WAITCHAIN_DB_H

#include <sqlite3.h>
#include <stdint.h>

#include "waitchain/error.h"
#include "waitchain/event.h"
#include "waitchain/importer.h"

#define WC_DB_APPLICATION_ID 0x77636861	/* 'wcha' */
#define WC_DB_SCHEMA_VERSION 6

/* --- opening --------------------------------------------------------------- */

/* Creates a new case database at PATH (which must not exist) with the
 * whole schema except the post-load files, and import pragmas
 * (journal_mode=OFF, synchronous=OFF).  Caller closes with wc_db_close(). */
int wc_db_create(const char *path, sqlite3 **out, struct wc_error *err);

/* Opens an existing case database read-only (SQLITE_OPEN_READONLY, plus
 * PRAGMA query_only).  Fails with a clear message when PATH is not a
 * waitchain database or has another schema version. */
int wc_db_open_readonly(const char *path, sqlite3 **out,
			struct wc_error *err);

/* Same, read-write (for `waitchain analyze`), with SQLITE_OPEN_FULLMUTEX:
 * the analysis' chunks are inserted by the encoding thread. */
int wc_db_open_rw(const char *path, sqlite3 **out, struct wc_error *err);

/* Closes DB (finalizing nothing: statements must be finalized); NULL ok. */
void wc_db_close(sqlite3 *db);

/* 1 if PATH is an SQLite file whose application_id is waitchain's
 * (checked from the file header, without opening it as a database). */
int wc_db_is_case_file(const char *path);
/* 1 if PATH is a case database of this schema version (a cached one of
 * another version is imported again). */
int wc_db_is_current_case_file(const char *path);

/* --- small helpers (PATH only names the file in error messages) ---------- */

/* Runs SQL (one or more statements, no results). */
int wc_db_exec(sqlite3 *db, const char *path, const char *sql,
	       struct wc_error *err);
/* Prepares SQL into *st. */
int wc_db_prepare(sqlite3 *db, const char *path, const char *sql,
		  sqlite3_stmt **st, struct wc_error *err);
/* The integer in the first column of the first row of SQL (no
 * parameters) into *out; *out = DEFLT when there is no row or it is
 * NULL.  0 or a negative code. */
int wc_db_int(sqlite3 *db, const char *path, const char *sql, int64_t deflt,
	      int64_t *out, struct wc_error *err);
/* capture.value of KEY as a new string (caller frees with free()), or
 * NULL when absent. */
char *wc_db_capture_get(sqlite3 *db, const char *key);
/* Sets capture KEY to VALUE (NULL stores SQL NULL). */
int wc_db_capture_set(sqlite3 *db, const char *path, const char *key,
		      const char *value, struct wc_error *err);
/* Applies the embedded schema files: POST_LOAD 0 = the table files,
 * 1 = the "09*" files (indexes, views). */
int wc_db_apply_schema(sqlite3 *db, const char *path, int post_load,
		       struct wc_error *err);

/* --- the writer sink -------------------------------------------------------- */

struct wc_db_writer;

/*
 * A writer on DB (fresh from wc_db_create()): begins the one import
 * transaction and prepares every insert.  SYM (may be NULL) resolves the
 * frames of each distinct stack; it is borrowed until wc_db_writer_free().
 * Caller frees with wc_db_writer_free().
 */
int wc_db_writer_new(sqlite3 *db, const char *path,
		     const struct wc_symbolizer *sym,
		     struct wc_db_writer **out, struct wc_error *err);

/* The sink to hand to an importer; borrowed from W. */
const struct wc_sink *wc_db_writer_sink(struct wc_db_writer *w);

/* Events delivered so far. */
uint64_t wc_db_writer_events(const struct wc_db_writer *w);

/* The writer's stack dedup (stackset.h), for a stage that deduplicates
 * stacks before the writer sees them (src/db_pipe.c: on the importer's
 * thread, delivering wc_event.stack_id and the sink's stack()).  One
 * thread at a time: the writer uses it only for events that still carry
 * their stack. */
struct wc_stackset;
struct wc_stackset *wc_db_writer_stackset(struct wc_db_writer *w);

/* Whether the writer stores the stack of EV (a futex exit's is not: the
 * call's row keeps its enter's).  A stage deduplicating stacks before the
 * writer must skip the same ones, or ids would differ. */
static inline int wc_db_stores_stack(const struct wc_event *ev)
{
	return ev->stack && ev->stack->nframes && ev->type != WC_EV_FUTEX_EXIT;
}

/* Stop flag polled every few thousand events (the event callback returns
 * WC_EINTERRUPTED once *flag is non-zero); NULL disables. */
void wc_db_writer_set_interrupt(struct wc_db_writer *w,
				volatile int *flag);

/* Calls CB(CTX, events) every 65536 events (progress line); NULL disables. */
void wc_db_writer_set_progress(struct wc_db_writer *w,
			       void (*cb)(void *ctx, uint64_t events),
			       void *ctx);

/*
 * Ends the import: flushes pending futex calls, writes the thread table,
 * the capture keys first_ts, last_ts, events, has_stacks,
 * has_sched_waking, has_futex, import_seconds, waitchain_version,
 * imported_at, creates the post-load schema (indexes, views) and
 * COMMITs.  After it, only wc_db_writer_free() is valid.
 */
int wc_db_finish_import(struct wc_db_writer *w, struct wc_error *err);

/* Frees W, rolling back if wc_db_finish_import() did not complete; NULL ok.
 * Does not close the database. */
void wc_db_writer_free(struct wc_db_writer *w);

/* Decodes a raw sched_switch prev_state into BUF (>= 32 bytes): 'R' for 0,
 * else the letters of bits 0x01 S, 0x02 D, 0x04 T, 0x08 t, 0x10 X, 0x20
 * Z, 0x40 P, 0x80 I joined by '|', plus '+' when any bit >= 0x100 is set
 * (TASK_REPORT_MAX: preempted while runnable): 'R+'. */
const char *wc_prev_state_str(int64_t state, char *buf, size_t size);

/* Names a futex op: "WAIT", "WAKE|PRIVATE", "WAIT_BITSET|PRIVATE|CLOCK_REALTIME",
 * "CMD_42" for unknown commands.  Into BUF (>= 64 bytes). */
const char *wc_futex_op_name(int32_t op, char *buf, size_t size);

/* --- import driver (src/import.c) ------------------------------------------ */

enum {
	WC_IMPORT_FORCE = 1,	/* replace an existing output */
	WC_IMPORT_QUIET = 2,	/* no warnings on stderr */
};

struct wc_import_result {
	uint64_t events;	/* events imported */
	double seconds;		/* wall time of the import */
	int truncated;		/* 1: --salvage kept a partial import */
	char truncated_reason[1024];	/* the error that cut it short */
	const char *format;	/* importer name ("trace.dat", "perf.data") */
};

/*
 * Imports CAPTURE ("-" = stdin) into the case database OUT_DB: writes
 * OUT_DB.tmp-XXXXXX beside it (".NAME.tmp-XXXXXX") and renames it into
 * place only after COMMIT, so OUT_DB never exists half-written.  Refuses
 * an existing OUT_DB unless FLAGS has WC_IMPORT_FORCE (WC_EEXISTS).  On
 * error the temporary file is removed; with OPT->salvage, an import cut
 * short by corruption/truncation keeps what was read: capture.truncated =
 * 1 and truncated_reason are set, the file is renamed into place, RES
 * says so and 0 is returned (the caller prints a warning).  OPT may be
 * NULL; RES may be NULL.
 */
int wc_import_file(const char *capture, const char *out_db,
		   const struct wc_import_options *opt, unsigned flags,
		   struct wc_import_result *res, struct wc_error *err);

enum {
	WC_CASE_READONLY = 1,	/* return a read-only handle */
	WC_CASE_NO_ANALYZE = 2,	/* do not run wc_analyze() */
	WC_CASE_QUIET = 4,	/* no progress/notes on stderr */
};

/*
 * Opens what the user named for report/query/info: ARG is a case
 * database (SQLite header + application_id) -> open it; otherwise ARG is
 * a capture -> import it into the cached database ARG.db beside it (or
 * $XDG_CACHE_HOME/waitchain/NAME-HASH.db when that directory is not
 * writable) when the cache is missing or older than the capture.  Then,
 * unless WC_CASE_NO_ANALYZE, runs wc_analyze() when the analysis table is
 * empty (and the analyzer is linked in).  *DB is read-only with
 * WC_CASE_READONLY, read-write otherwise; *DB_PATH (may be NULL) receives
 * the database path (caller frees with free()).  Caller closes *DB with
 * wc_db_close().
 */
int wc_case_open(const char *arg, unsigned flags,
		 const struct wc_import_options *opt, sqlite3 **db,
		 char **db_path, struct wc_error *err);

#endif /* WAITCHAIN_DB_H */
