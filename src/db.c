/*
 * db.c - creating and opening case databases, small SQL helpers.
 *
 * The schema is the embedded copy of the schema/NNN_name.sql files (embedded.h), applied
 * in file order.  Opening checks the SQLite header's application_id and
 * the schema version, so that pointing waitchain at an unrelated SQLite
 * file, or at a database of another version, gives one clear line
 * instead of "no such table".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "waitchain/coltab.h"
#include "waitchain/db.h"
#include "waitchain/embedded.h"
#include "waitchain/util.h"

static int db_error(sqlite3 *db, const char *path, const char *what,
		    struct wc_error *err)
{
	return wc_err(err, WC_EDB, path, "%s: %s", what,
		      db ? sqlite3_errmsg(db) : "out of memory");
}

int wc_db_exec(sqlite3 *db, const char *path, const char *sql,
	       struct wc_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = wc_err(err, WC_EDB, path, "%s (SQL: %.120s)",
				msg ? msg : sqlite3_errmsg(db), sql);
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

int wc_db_prepare(sqlite3 *db, const char *path, const char *sql,
		  sqlite3_stmt **st, struct wc_error *err)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
		return wc_err(err, WC_EDB, path, "%s (SQL: %.120s)",
			      sqlite3_errmsg(db), sql);
	return 0;
}

int wc_db_int(sqlite3 *db, const char *path, const char *sql, int64_t deflt,
	      int64_t *out, struct wc_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = wc_db_prepare(db, path, sql, &st, err), step;

	*out = deflt;
	if (rc)
		return rc;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			*out = sqlite3_column_int64(st, 0);
	} else if (step != SQLITE_DONE) {
		rc = wc_err(err, WC_EDB, path, "%s (SQL: %.120s)",
			    sqlite3_errmsg(db), sql);
	}
	sqlite3_finalize(st);
	return rc;
}

char *wc_db_capture_get(sqlite3 *db, const char *key)
{
	sqlite3_stmt *st = NULL;
	char *v = NULL;

	if (sqlite3_prepare_v2(db, "SELECT value FROM capture WHERE key = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = wc_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

int wc_db_capture_set(sqlite3 *db, const char *path, const char *key,
		      const char *value, struct wc_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = wc_db_prepare(db, path,
			       "INSERT OR REPLACE INTO capture(key, value) VALUES (?1, ?2)",
			       &st, err);

	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (value)
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(db, path, "cannot store capture key", err);
	sqlite3_finalize(st);
	return rc;
}

int wc_db_apply_schema(sqlite3 *db, const char *path, int post_load,
		       struct wc_error *err)
{
	for (const struct wc_embedded *f = wc_schema_sql; f->name; f++) {
		int is_post = strncmp(f->name, "09", 2) == 0;
		int rc;

		if (is_post != !!post_load)
			continue;
		rc = wc_db_exec(db, path, f->text, err);
		if (rc) {
			struct wc_error e2 = WC_ERROR_INIT;

			wc_err(&e2, WC_EDB, path, "schema/%s: %s", f->name,
			       err->msg);
			*err = e2;
			return rc;
		}
	}
	return 0;
}

int wc_db_create(const char *path, sqlite3 **out, struct wc_error *err)
{
	sqlite3 *db = NULL;
	char pragmas[256];
	int rc;

	*out = NULL;
	if (sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		rc = db_error(db, path, "cannot create database", err);
		sqlite3_close(db);
		return rc;
	}
	sqlite3_extended_result_codes(db, 1);
	if (wc_coltab_register(db) != SQLITE_OK) {
		rc = db_error(db, path, "cannot register the columnar table module", err);
		sqlite3_close(db);
		return rc;
	}
	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA page_size = 16384;"
		 "PRAGMA journal_mode = OFF;"
		 "PRAGMA synchronous = OFF;"
		 /* the post-load index sorts: FILE spills cost less CPU
		  * than MEMORY here (bench/PROFILE.md), and a helper
		  * thread sorts on the second core */
		 "PRAGMA temp_store = FILE;"
		 "PRAGMA threads = 2;"
		 "PRAGMA cache_size = -65536;"
		 "PRAGMA locking_mode = EXCLUSIVE;"
		 "PRAGMA application_id = %d;"
		 "PRAGMA user_version = %d;",
		 WC_DB_APPLICATION_ID, WC_DB_SCHEMA_VERSION);
	rc = wc_db_exec(db, path, pragmas, err);
	if (!rc)
		rc = wc_db_exec(db, path, "BEGIN", err);
	if (!rc)
		rc = wc_db_apply_schema(db, path, 0, err);
	if (!rc)
		rc = wc_db_exec(db, path, "COMMIT", err);
	if (rc) {
		sqlite3_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

/* The big-endian 32-bit word at HDR[OFF]. */
static uint32_t be32(const unsigned char *hdr, int off)
{
	return (uint32_t)hdr[off] << 24 | (uint32_t)hdr[off + 1] << 16 |
	       (uint32_t)hdr[off + 2] << 8 | hdr[off + 3];
}

/* The schema version of the case database PATH (its user_version), or
 * -1 when PATH is no case database. */
static int64_t case_file_version(const char *path)
{
	unsigned char hdr[100];
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	r = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	if (r != (ssize_t)sizeof(hdr) ||
	    memcmp(hdr, "SQLite format 3", 16) != 0 ||
	    be32(hdr, 68) != WC_DB_APPLICATION_ID)
		return -1;
	return be32(hdr, 60);	/* user_version */
}

int wc_db_is_case_file(const char *path)
{
	return case_file_version(path) >= 0;
}

int wc_db_is_current_case_file(const char *path)
{
	return case_file_version(path) == WC_DB_SCHEMA_VERSION;
}

static int db_open(const char *path, int readonly, sqlite3 **out,
		   struct wc_error *err)
{
	sqlite3 *db = NULL;
	int64_t app = 0, ver = 0;
	int rc, fd;
	unsigned char magic[16];
	ssize_t r;

	*out = NULL;
	/* check the file ourselves first: sqlite3_open_v2 would happily
	 * "open" a capture and fail later with "file is not a database" */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return wc_err(err, errno == ENOENT ? WC_ENOTFOUND : WC_EIO, path,
			      "cannot open: %s", strerror(errno));
	r = pread(fd, magic, sizeof(magic), 0);
	close(fd);
	if (r != (ssize_t)sizeof(magic) ||
	    memcmp(magic, "SQLite format 3", 16) != 0)
		return wc_err(err, WC_EFORMAT, path,
			      "not a waitchain case database (no SQLite header)");

	if (sqlite3_open_v2(path, &db,
			    (readonly ? SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
				      /* the analysis' chunks are inserted by
				       * the encoding thread (coltab_writer.c) */
				      : SQLITE_OPEN_READWRITE |
						SQLITE_OPEN_FULLMUTEX),
			    NULL) != SQLITE_OK) {
		rc = db_error(db, path, "cannot open database", err);
		goto fail;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 2000);
	if (wc_coltab_register(db) != SQLITE_OK) {
		rc = db_error(db, path, "cannot register the columnar table module", err);
		goto fail;
	}
	rc = wc_db_int(db, path, "PRAGMA application_id", 0, &app, err);
	if (rc)
		goto fail;
	if (app != WC_DB_APPLICATION_ID) {
		rc = wc_err(err, WC_EFORMAT, path,
			    "not a waitchain case database (SQLite application_id 0x%llx, expected 0x%x)",
			    (unsigned long long)app, WC_DB_APPLICATION_ID);
		goto fail;
	}
	rc = wc_db_int(db, path, "PRAGMA user_version", 0, &ver, err);
	if (rc)
		goto fail;
	if (ver != WC_DB_SCHEMA_VERSION) {
		rc = wc_err(err, WC_EFORMAT, path,
			    "case database has schema version %lld, this waitchain reads version %d: import the capture again",
			    (long long)ver, WC_DB_SCHEMA_VERSION);
		goto fail;
	}
	if (!readonly && sqlite3_db_readonly(db, "main") == 1) {
		/* SQLite quietly opens a write-protected file read-only */
		rc = wc_err(err, WC_EDB, path, "database is not writable");
		goto fail;
	}
	if (readonly)
		rc = wc_db_exec(db, path, "PRAGMA query_only = 1", err);
	if (rc)
		goto fail;
	*out = db;
	return 0;
fail:
	sqlite3_close(db);
	return rc;
}

int wc_db_open_readonly(const char *path, sqlite3 **out, struct wc_error *err)
{
	return db_open(path, 1, out, err);
}

int wc_db_open_rw(const char *path, sqlite3 **out, struct wc_error *err)
{
	return db_open(path, 0, out, err);
}

void wc_db_close(sqlite3 *db)
{
	if (db)
		sqlite3_close(db);
}
