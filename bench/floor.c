/*
 * floor.c - the SQLite bulk-insert floor for the benchmark (bench/run.sh).
 *
 * Given a database made by `waitchain import`, measures how long SQLite
 * itself needs to store the same rows: for every table with rows, it creates
 * the same table (the CREATE statement is copied from the source's
 * sqlite_master) in a fresh database opened with the importer's pragmas
 * (src/db.c: page_size 16384, journal_mode OFF, synchronous OFF, temp_store
 * MEMORY, cache_size -65536, locking_mode EXCLUSIVE), and inserts as many rows
 * as the source table holds, in one transaction, through one prepared INSERT
 * per table, then creates the source's indexes.  Row values are the source's
 * own first rows (up to SAMPLE_ROWS per table, held in memory), cycled; the
 * first primary-key column is shifted on every cycle so keys stay unique.
 * So the floor stores rows of the same shapes and sizes as the importer,
 * without decoding any capture: it is the time an importer cannot beat
 * with this schema and these pragmas.  The columnar event tables
 * (coltab.h) are virtual: what is stored are the rows of their shadow
 * tables (one per chunk of 4096 events), and those are what is copied.
 *
 * With --rows MODULE (the columnar module, waitchain_sqlite.so, loaded into
 * the source connection), the floor is the issue's own definition instead:
 * SQLite inserting the same number of *rows of the same shape* as the
 * database holds, in one transaction with a prepared INSERT.  Each columnar
 * table becomes an ordinary rowid table with the same visible columns (its
 * logical rows, as `SELECT *` returns them), filled with as many rows as
 * it holds, cycling its first rows; ordinary tables are copied as above;
 * the shadow tables (NAME__chunk, NAME__patch) are left out.  That is what
 * an importer storing one SQLite row per event could not beat.
 *
 * Output (stdout), one line per table and a summary:
 *   table NAME rows N seconds S
 *   floor rows N insert_seconds S index_seconds S total_seconds S bytes B
 *
 * Usage: floor [--indexes-first] [--threads N] [--rows MODULE] SOURCE.db OUT.db
 *   (OUT.db is overwritten)
 *   --indexes-first  create the indexes before the inserts (maintained row by row) instead of
 *                    after them (bulk sort): to compare the two strategies
 *   --threads N      PRAGMA threads = N (SQLite's multi-threaded sorter for CREATE INDEX)
 *   --rows MODULE    the row floor (see above)
 * Trusts SOURCE.db (it is our own output); not part of waitchain.
 */
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE_ROWS 16384

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int exec(sqlite3 *db, const char *sql);

/* Creates in DST every index SRC has (except automatic ones). Returns 0 or -1. */
static int copy_indexes(sqlite3 *src, sqlite3 *dst);

static int exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "floor: %s: %s\n", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/*
 * Copies one table's rows into `dst` (whose table already exists): reads
 * up to SAMPLE_ROWS rows of `src`, then inserts `count` rows cycling
 * through them.  pk_col is the index of the first primary-key column (-1 if
 * none), shifted by (cycle * (max_pk + 1)) so keys stay unique.  Returns 0
 * or -1.
 */
static int copy_table(sqlite3 *src, sqlite3 *dst, const char *table,
		      int64_t count, double *seconds)
{
	sqlite3_stmt *sel = NULL, *ins = NULL, *info = NULL;
	sqlite3_value **vals = NULL;
	char *sql = NULL;
	int ncol, nrows = 0, pk_col = -1, rc = -1;
	int64_t max_pk = 0;
	double t0;

	/* which column is the first primary-key column */
	sql = sqlite3_mprintf("PRAGMA table_info(\"%w\")", table);
	if (sqlite3_prepare_v2(src, sql, -1, &info, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(info) == SQLITE_ROW)
		if (sqlite3_column_int(info, 5) == 1)
			pk_col = sqlite3_column_int(info, 0);
	sqlite3_free(sql);

	sql = sqlite3_mprintf("SELECT * FROM \"%w\" LIMIT %d", table,
			      SAMPLE_ROWS);
	if (sqlite3_prepare_v2(src, sql, -1, &sel, NULL) != SQLITE_OK)
		goto out;
	ncol = sqlite3_column_count(sel);
	vals = calloc((size_t)SAMPLE_ROWS * ncol, sizeof(*vals));
	if (!vals)
		goto out;
	while (sqlite3_step(sel) == SQLITE_ROW) {
		for (int c = 0; c < ncol; c++)
			vals[(size_t)nrows * ncol + c] =
				sqlite3_value_dup(sqlite3_column_value(sel, c));
		if (pk_col >= 0) {
			int64_t k = sqlite3_column_int64(sel, pk_col);
			if (k > max_pk)
				max_pk = k;
		}
		nrows++;
	}
	if (nrows == 0) {
		rc = 0;
		goto out;
	}
	/* reading the sample happens before the clock starts */
	sqlite3_free(sql);
	{
		size_t len = 64 + strlen(table) + 2 * (size_t)ncol;
		char *p;

		sql = sqlite3_malloc((int)len);
		if (!sql)
			goto out;
		p = sql + sprintf(sql, "INSERT INTO \"%s\" VALUES (", table);
		for (int c = 0; c < ncol; c++)
			p += sprintf(p, c ? ",?" : "?");
		strcpy(p, ")");
	}
	t0 = now();
	if (sqlite3_prepare_v2(dst, sql, -1, &ins, NULL) != SQLITE_OK) {
		fprintf(stderr, "floor: %s: %s\n", sql, sqlite3_errmsg(dst));
		goto out;
	}
	for (int64_t i = 0; i < count; i++) {
		int r = (int)(i % nrows);
		int64_t cycle = i / nrows;

		for (int c = 0; c < ncol; c++) {
			sqlite3_value *v = vals[(size_t)r * ncol + c];

			if (c == pk_col && cycle &&
			    sqlite3_value_type(v) == SQLITE_INTEGER)
				sqlite3_bind_int64(ins, c + 1,
						   sqlite3_value_int64(v) +
							   cycle * (max_pk + 1));
			else
				sqlite3_bind_value(ins, c + 1, v);
		}
		if (sqlite3_step(ins) != SQLITE_DONE) {
			fprintf(stderr, "floor: insert into %s: %s\n", table,
				sqlite3_errmsg(dst));
			goto out;
		}
		sqlite3_reset(ins);
	}
	*seconds = now() - t0;
	rc = 0;
out:
	if (vals)
		for (size_t i = 0; i < (size_t)nrows * sqlite3_column_count(sel); i++)
			sqlite3_value_free(vals[i]);
	free(vals);
	sqlite3_finalize(info);
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	sqlite3_free(sql);
	return rc;
}

static int copy_indexes(sqlite3 *src, sqlite3 *dst)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(src,
			       "SELECT sql FROM sqlite_master WHERE type = 'index'"
			       " AND sql IS NOT NULL",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW)
		if (exec(dst, (const char *)sqlite3_column_text(st, 0)))
			goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* The tables to fill: ordinary tables, or with ROWS the logical tables
 * (columnar ones included, their shadow tables left out).  Columns: name,
 * sql, is_virtual. */
static const char *tables_sql(int rows)
{
	return rows ?
	       "SELECT name, sql, sql LIKE 'CREATE VIRTUAL TABLE%' FROM sqlite_master"
	       " WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	       " AND name NOT GLOB '*__chunk' AND name NOT GLOB '*__patch' ORDER BY rowid" :
	       "SELECT name, sql, 0 FROM sqlite_master WHERE type = 'table'"
	       " AND name NOT LIKE 'sqlite_%'"
	       " AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY rowid";
}

/* Creates in DST an ordinary rowid table with the visible columns (names
 * and declared types) of SRC's virtual table NAME.  Returns 0 or -1. */
static int create_row_table(sqlite3 *src, sqlite3 *dst, const char *name)
{
	sqlite3_stmt *info = NULL;
	char *sql = sqlite3_mprintf("PRAGMA table_info(\"%w\")", name);
	char *create = sqlite3_mprintf("CREATE TABLE \"%w\" (", name);
	int n = 0, rc = -1;

	if (!sql || !create ||
	    sqlite3_prepare_v2(src, sql, -1, &info, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(info) == SQLITE_ROW) {
		char *c = sqlite3_mprintf("%s%s\"%w\" %s", create, n++ ? ", " : "",
					  (const char *)sqlite3_column_text(info, 1),
					  (const char *)sqlite3_column_text(info, 2));

		sqlite3_free(create);
		create = c;
		if (!create)
			goto out;
	}
	if (n) {
		char *c = sqlite3_mprintf("%s)", create);

		sqlite3_free(create);
		create = c;
		rc = create ? exec(dst, create) : -1;
	}
out:
	sqlite3_finalize(info);
	sqlite3_free(sql);
	sqlite3_free(create);
	return rc;
}

int main(int argc, char **argv)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_stmt *st = NULL;
	int64_t total_rows = 0;
	double t_ins = 0, t_idx = 0, t0;
	struct stat sb;
	int rc = 1, indexes_first = 0, threads = 0;
	const char *module = NULL;

	while (argc > 3 && argv[1][0] == '-') {
		if (strcmp(argv[1], "--indexes-first") == 0) {
			indexes_first = 1;
			argv++, argc--;
		} else if (strcmp(argv[1], "--threads") == 0 && argc > 4) {
			threads = atoi(argv[2]);
			argv += 2, argc -= 2;
		} else if (strcmp(argv[1], "--rows") == 0 && argc > 4) {
			module = argv[2];
			argv += 2, argc -= 2;
		} else {
			break;
		}
	}
	if (argc != 3) {
		fprintf(stderr, "usage: floor [--indexes-first] [--threads N] [--rows MODULE] SOURCE.db OUT.db\n");
		return 2;
	}
	unlink(argv[2]);
	if (sqlite3_open_v2(argv[1], &src, SQLITE_OPEN_READONLY, NULL) ||
	    sqlite3_open(argv[2], &dst)) {
		fprintf(stderr, "floor: cannot open databases\n");
		goto out;
	}
	if (module) {
		char *msg = NULL;

		sqlite3_enable_load_extension(src, 1);
		if (sqlite3_load_extension(src, module, NULL, &msg) != SQLITE_OK) {
			fprintf(stderr, "floor: %s: %s\n", module, msg ? msg : "?");
			sqlite3_free(msg);
			goto out;
		}
	}
	if (exec(dst, "PRAGMA page_size = 16384; PRAGMA journal_mode = OFF;"
		      "PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY;"
		      "PRAGMA cache_size = -65536;"
		      "PRAGMA locking_mode = EXCLUSIVE;"))
		goto out;
	if (threads) {
		char q[64];

		snprintf(q, sizeof(q), "PRAGMA threads = %d;", threads);
		if (exec(dst, q))
			goto out;
	}
	/* all tables first (empty ones too: same schema), inside the timing */
	t0 = now();
	if (exec(dst, "BEGIN"))
		goto out;
	if (sqlite3_prepare_v2(src, tables_sql(module != NULL), -1, &st, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW)
		if (sqlite3_column_int(st, 2) ?
		    create_row_table(src, dst, (const char *)sqlite3_column_text(st, 0)) :
		    exec(dst, (const char *)sqlite3_column_text(st, 1)))
			goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (indexes_first && copy_indexes(src, dst))
		goto out;
	t_ins += now() - t0;

	if (sqlite3_prepare_v2(src, tables_sql(module != NULL), -1, &st, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		char *q = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", name);
		sqlite3_stmt *cnt = NULL;
		int64_t n = 0;
		double secs = 0;

		if (sqlite3_prepare_v2(src, q, -1, &cnt, NULL) == SQLITE_OK &&
		    sqlite3_step(cnt) == SQLITE_ROW)
			n = sqlite3_column_int64(cnt, 0);
		sqlite3_finalize(cnt);
		sqlite3_free(q);
		if (n == 0)
			continue;
		if (copy_table(src, dst, name, n, &secs))
			goto out;
		printf("table %s rows %lld seconds %.3f\n", name, (long long)n,
		       secs);
		total_rows += n;
		t_ins += secs;
	}
	sqlite3_finalize(st);
	st = NULL;

	/* the source's indexes, built after the load like a bulk loader would */
	t0 = now();
	if (!indexes_first && copy_indexes(src, dst))
		goto out;
	if (exec(dst, "COMMIT"))
		goto out;
	sqlite3_close(dst);
	dst = NULL;
	t_idx = now() - t0;
	if (stat(argv[2], &sb))
		sb.st_size = 0;
	printf("floor rows %lld insert_seconds %.3f index_seconds %.3f "
	       "total_seconds %.3f bytes %lld\n",
	       (long long)total_rows, t_ins, t_idx, t_ins + t_idx,
	       (long long)sb.st_size);
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(dst);
	sqlite3_close(src);
	return rc;
}
