/*
 * cmd-sql.c - `waitchain sql`: ad-hoc read-only SQL on a case database.
 *
 * The connection cannot change anything: SQLITE_OPEN_READONLY, PRAGMA
 * query_only, extension loading disabled, no ATTACH (limit 0 plus an
 * authorizer), every statement must be sqlite3_stmt_readonly(), and
 * pragmas are limited to reading ones.  Values are escaped for the
 * output (terminal, CSV, JSON).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef WC_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#include "cli.h"
#include "waitchain/db.h"
#include "waitchain/escape.h"
#include "waitchain/output.h"
#include "waitchain/util.h"

static int run_sql(int argc, char **argv);

const struct wc_command wc_cmd_sql = {
	.name = "sql",
	.summary = "run read-only SQL on a case database (interactive without SQL)",
	.usage =
	"usage: waitchain sql CASE.db|CAPTURE [SQL] [--table|--csv|--json]\n"
	"\n"
	"Runs SQL (one or more statements separated by ';') on the case database,\n"
	"read-only, and prints each result.  Without SQL, reads statements from\n"
	"stdin, or opens an interactive prompt when stdin is a terminal (.tables,\n"
	".schema [NAME], .mode table|csv|json, .quit).  See docs/schema.md for the\n"
	"tables; the *_view views join ids to names.\n"
	"\n"
	"Options:\n"
	"      --table     aligned columns (default)\n"
	"      --csv       RFC 4180 CSV with a header line\n"
	"      --json      a JSON array of objects per statement\n"
	"  -h, --help      this text\n"
	"\n"
	"Examples:\n"
	"  waitchain sql case.db 'SELECT tid, comm FROM thread ORDER BY tid'\n"
	"  waitchain sql case.db --csv 'SELECT * FROM futex WHERE cmd = 0' > waits.csv\n",
	.run = run_sql,
};

static int is_read_pragma(const char *name, const char *arg)
{
	static const char *const with_arg[] = {
		"table_info", "table_xinfo", "index_list", "index_info",
		"index_xinfo", "foreign_key_list", "table_list",
	};

	if (!name)
		return 0;
	if (!arg)
		return strcmp(name, "writable_schema") != 0;
	for (size_t i = 0; i < WC_ARRAY_SIZE(with_arg); i++)
		if (strcmp(name, with_arg[i]) == 0)
			return 1;
	return 0;
}

static int authorizer(void *ctx, int action, const char *a1, const char *a2,
		      const char *db, const char *trigger)
{
	(void)ctx;
	(void)db;
	(void)trigger;
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
		return action == SQLITE_FUNCTION && a2 &&
				       strcmp(a2, "load_extension") == 0
			       ? SQLITE_DENY : SQLITE_OK;
	case SQLITE_PRAGMA:
		return is_read_pragma(a1, a2) ? SQLITE_OK : SQLITE_DENY;
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
		return SQLITE_OK;
	default:
		/* ATTACH, DETACH, INSERT, UPDATE, DELETE, CREATE, DROP,
		 * ALTER, REINDEX, ANALYZE, ... */
		return SQLITE_DENY;
	}
}

/* Progress handler: a non-zero return aborts the running statement
 * ("interrupted"), so Ctrl-C stops a long query. */
static int check_interrupt(void *flag)
{
	return *(volatile int *)flag;
}

/* Connects every virtual table of DB (the columnar event tables) now:
 * connecting declares the table's columns by parsing a CREATE TABLE,
 * which the authorizer below would refuse.  Connections are kept for
 * the life of DB (its schema cannot change: it is read-only). */
static int connect_virtual_tables(sqlite3 *db, const char *path,
				  struct wc_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = wc_db_prepare(db, path,
			       "SELECT name FROM sqlite_schema WHERE type = 'table'"
			       " AND sql LIKE 'CREATE VIRTUAL TABLE%'", &st, err);

	while (!rc && sqlite3_step(st) == SQLITE_ROW) {
		char *sql = sqlite3_mprintf("SELECT * FROM \"%w\" LIMIT 0",
					    (const char *)sqlite3_column_text(st, 0));
		sqlite3_stmt *q = NULL;

		if (!sql)
			rc = wc_err(err, WC_ENOMEM, path, "out of memory");
		else
			rc = wc_db_prepare(db, path, sql, &q, err);
		sqlite3_finalize(q);
		sqlite3_free(sql);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Makes DB unable to write, attach or load code. */
static int harden(sqlite3 *db, const char *path, struct wc_error *err)
{
	if (connect_virtual_tables(db, path, err))
		return -WC_EDB;
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
	if (wc_db_exec(db, path, "PRAGMA query_only = 1", err))
		return -WC_EDB;
	sqlite3_set_authorizer(db, authorizer, NULL);
	return 0;
}

/* Runs every statement of SQL, printing results.  Stops at the first
 * error (returned); *ran counts statements run. */
static int run_statements(sqlite3 *db, const char *path, const char *sql,
			  enum wc_out_format fmt, struct wc_error *err)
{
	const char *tail = sql;
	int rc = 0, first = 1;

	while (tail && *tail && !rc) {
		sqlite3_stmt *st = NULL;
		const char *next = NULL;

		if (sqlite3_prepare_v2(db, tail, -1, &st, &next) != SQLITE_OK)
			return wc_err(err, WC_EDB, path, "%s (SQL: %.100s)",
				      sqlite3_errmsg(db), tail);
		if (!st) {	/* whitespace or comment only */
			tail = next;
			continue;
		}
		if (!sqlite3_stmt_readonly(st)) {
			rc = wc_err(err, WC_EDB, path,
				    "not allowed: waitchain sql is read-only (SQL: %.100s)",
				    sqlite3_sql(st));
			sqlite3_finalize(st);
			return rc;
		}
		if (!first && sqlite3_column_count(st) && fmt == WC_OUT_TABLE)
			putchar('\n');
		rc = wc_output_stmt_ex(st, fmt, stdout,
				       isatty(fileno(stdout)) ? WC_OUT_TTY : 0,
				       path, NULL, err);
		if (sqlite3_column_count(st))
			first = 0;
		sqlite3_finalize(st);
		tail = next;
	}
	fflush(stdout);
	return rc;
}

/* Dot commands of the interactive prompt; returns 1 to quit. */
static int dot_command(sqlite3 *db, const char *path, const char *line,
		       enum wc_out_format *fmt)
{
	struct wc_error err = WC_ERROR_INIT;
	char name[64] = "";
	int rc = 0;

	if (strncmp(line, ".quit", 5) == 0 || strncmp(line, ".exit", 5) == 0)
		return 1;
	if (strncmp(line, ".tables", 7) == 0) {
		rc = run_statements(db, path,
				    "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY type, name",
				    WC_OUT_TABLE, &err);
	} else if (strncmp(line, ".schema", 7) == 0) {
		sqlite3_stmt *st = NULL;

		sscanf(line + 7, " %63s", name);
		if (sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND (?1 = '' OR name = ?1 OR tbl_name = ?1) ORDER BY rowid",
				       -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
			while (sqlite3_step(st) == SQLITE_ROW) {
				wc_fput_tty_str(stdout, (const char *)sqlite3_column_text(st, 0));
				puts(";");
			}
		}
		sqlite3_finalize(st);
	} else if (strncmp(line, ".mode", 5) == 0) {
		sscanf(line + 5, " %63s", name);
		if (wc_out_format_parse(name, fmt))
			fputs("usage: .mode table|csv|json\n", stderr);
	} else {
		fputs(".tables  .schema [NAME]  .mode table|csv|json  .quit\n",
		      stderr);
	}
	if (rc)
		wc_cli_error(&err);
	return 0;
}

static int interactive(sqlite3 *db, const char *path, enum wc_out_format fmt,
		       volatile int *interrupt)
{
#ifdef WC_HAVE_LIBEDIT
	struct wc_buf stmt = WC_BUF_INIT;
	char *hist = NULL;
	const char *home = getenv("HOME");

	if (home && asprintf(&hist, "%s/.waitchain_history", home) >= 0)
		read_history(hist);
	printf("waitchain sql on ");
	wc_fput_tty_str(stdout, path);
	printf(" (read-only). .help for commands, .quit to leave.\n");
	for (;;) {
		char *line = readline(stmt.len ? "   ...> " : "waitchain> ");

		if (!line)
			break;
		if (!stmt.len && line[0] == '.') {
			int quit;

			add_history(line);
			quit = dot_command(db, path, line, &fmt);
			free(line);
			if (quit)
				break;
			continue;
		}
		wc_buf_adds(&stmt, line);
		wc_buf_addc(&stmt, '\n');
		free(line);
		if (sqlite3_complete(wc_buf_str(&stmt))) {
			struct wc_error err = WC_ERROR_INIT;
			char *h = strdup(wc_buf_str(&stmt));

			if (h) {
				size_t n = strlen(h);

				while (n && (h[n - 1] == '\n' || h[n - 1] == ' '))
					h[--n] = '\0';
				add_history(h);
				free(h);
			}
			if (run_statements(db, path, wc_buf_str(&stmt), fmt, &err))
				wc_cli_error(&err);
			wc_buf_reset(&stmt);
			*interrupt = 0;	/* Ctrl-C stopped that statement only */
		}
	}
	if (hist) {
		write_history(hist);
		free(hist);
	}
	wc_buf_free(&stmt);
	putchar('\n');
	return 0;
#else
	(void)db;
	(void)path;
	(void)fmt;
	(void)interrupt;
	fputs("waitchain: built without libedit: pass SQL as an argument or on stdin\n",
	      stderr);
	return 2;
#endif
}

#define MAX_STDIN_SQL (64u << 20)

static int run_sql(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "csv", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "table", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum wc_out_format fmt = WC_OUT_TABLE;
	struct wc_error err = WC_ERROR_INIT;
	struct wc_import_options opt;
	sqlite3 *db = NULL;
	char *path = NULL;
	struct wc_buf input = WC_BUF_INIT;
	int c, rc = 0, status = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': fmt = WC_OUT_CSV; break;
		case 'j': fmt = WC_OUT_JSON; break;
		case 't': fmt = WC_OUT_TABLE; break;
		case 'h': return wc_cli_help(&wc_cmd_sql);
		default:
			return wc_cli_usage(&wc_cmd_sql, "unknown option '%s'",
					    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return wc_cli_usage(&wc_cmd_sql, "no case database given");
	if (argc - optind > 2)
		return wc_cli_usage(&wc_cmd_sql,
				    "extra argument '%s' (quote the SQL as one argument)",
				    argv[optind + 2]);
	memset(&opt, 0, sizeof(opt));
	opt.interrupted = wc_cli_interrupt_flag();
	rc = wc_case_open(argv[optind], WC_CASE_READONLY, &opt, &db, &path, &err);
	if (!rc)
		rc = harden(db, path, &err);
	if (rc)
		goto out;
	sqlite3_progress_handler(db, 10000, check_interrupt,
				 (void *)opt.interrupted);
	if (argc - optind == 2) {
		rc = run_statements(db, path, argv[optind + 1], fmt, &err);
	} else if (isatty(STDIN_FILENO)) {
		status = interactive(db, path, fmt, opt.interrupted);
	} else {
		char chunk[65536];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
			if (input.len + n > MAX_STDIN_SQL) {
				rc = wc_err(&err, WC_ELIMIT, "-",
					    "SQL on stdin larger than %u MiB",
					    MAX_STDIN_SQL >> 20);
				goto out;
			}
			if (wc_buf_add(&input, chunk, n)) {
				rc = wc_err(&err, WC_ENOMEM, "-", "out of memory");
				goto out;
			}
		}
		rc = run_statements(db, path, wc_buf_str(&input), fmt, &err);
	}
out:
	if (rc)
		status = wc_cli_error(&err);
	wc_buf_free(&input);
	wc_db_close(db);
	free(path);
	return status;
}
