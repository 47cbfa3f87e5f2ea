/*
 * cmd-query.c - `waitchain query`: the canned queries of queries/NAME.sql.
 *
 * Each query file starts with a comment block: `-- title: one line`,
 * optionally `-- params: :name description`, then the columns.  Named
 * parameters (:name) are bound with sqlite3_bind_* from --param
 * name=value: integers (decimal, or 0x hex) as integers, the rest as
 * text.  User text never becomes SQL.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "waitchain/db.h"
#include "waitchain/embedded.h"
#include "waitchain/escape.h"
#include "waitchain/output.h"
#include "waitchain/util.h"

static int run_query(int argc, char **argv);

const struct wc_command wc_cmd_query = {
	.name = "query",
	.summary = "run a canned query (waitchain query --list)",
	.usage =
	"usage: waitchain query CASE.db|CAPTURE NAME [--param NAME=VALUE]... [--csv|--json]\n"
	"       waitchain query --list\n"
	"\n"
	"Runs the built-in query NAME (queries/NAME.sql) on the case database,\n"
	"analyzing it first if needed.  Parameters (:name in the SQL) come from\n"
	"--param; values that look like integers (123, -5, 0x7f00) are bound as\n"
	"integers, others as text.\n"
	"\n"
	"Options:\n"
	"  -p, --param NAME=VALUE  bind :NAME\n"
	"  -l, --list              list the queries with their titles\n"
	"      --table             aligned columns (default)\n"
	"      --csv               CSV with a header line\n"
	"      --json              JSON array of objects\n"
	"  -h, --help              this text\n",
	.run = run_query,
};

/* The `-- title:` line of query text Q into BUF. */
static const char *query_title(const char *q, char *buf, size_t size)
{
	const char *p = strstr(q, "-- title:");
	size_t n = 0;

	buf[0] = '\0';
	if (!p)
		return buf;
	p += 9;
	while (*p == ' ')
		p++;
	while (p[n] && p[n] != '\n' && n + 1 < size)
		n++;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

static int list_queries(void)
{
	char title[256];

	for (const struct wc_embedded *q = wc_query_sql; q->name; q++) {
		size_t n = strlen(q->name);

		if (n > 4 && strcmp(q->name + n - 4, ".sql") == 0)
			n -= 4;
		printf("%-24.*s %s\n", (int)n, q->name,
		       query_title(q->text, title, sizeof(title)));
	}
	return 0;
}

/*
 * 1 if the `-- params:` line of query text Q marks :NAME optional: the
 * ';'-separated segment naming it does not say "required" (an unbound
 * parameter is NULL, which the query turns into its default).  A
 * parameter the line does not mention is required.
 */
static int param_optional(const char *q, const char *name)
{
	const char *line = strstr(q, "-- params:"), *end, *seg;
	size_t nlen = strlen(name);

	if (!line)
		return 0;
	end = strchr(line, '\n');
	if (!end)
		end = line + strlen(line);
	for (seg = line + 10; seg < end;) {
		const char *semi = memchr(seg, ';', (size_t)(end - seg));
		const char *stop = semi ? semi : end;
		int named = 0, required = 0;

		for (const char *p = seg; p < stop; p++) {
			if (*p == ':' && (size_t)(stop - p - 1) >= nlen &&
			    memcmp(p + 1, name, nlen) == 0 &&
			    !(p[1 + nlen] == '_' ||
			      (p[1 + nlen] >= 'a' && p[1 + nlen] <= 'z') ||
			      (p[1 + nlen] >= '0' && p[1 + nlen] <= '9')))
				named = 1;
			if ((size_t)(stop - p) >= 8 && memcmp(p, "required", 8) == 0)
				required = 1;
		}
		if (named)
			return !required;
		seg = stop + 1;
	}
	return 0;
}

struct param {
	const char *name;	/* without ':' */
	const char *value;
	int used;
};

static int bind_params(sqlite3_stmt *st, struct param *params, int nparams,
		       const char *query, const char *query_text)
{
	int n = sqlite3_bind_parameter_count(st);

	for (int i = 1; i <= n; i++) {
		const char *pname = sqlite3_bind_parameter_name(st, i);
		int found = 0;

		if (!pname)
			return wc_cli_usage(&wc_cmd_query,
					    "query %s uses an unnamed parameter", query);
		for (int k = 0; k < nparams; k++) {
			int64_t v;

			if (strcmp(params[k].name, pname + 1) != 0)
				continue;
			if (wc_parse_int64(params[k].value, &v))
				sqlite3_bind_int64(st, i, v);
			else
				sqlite3_bind_text(st, i, params[k].value, -1,
						  SQLITE_STATIC);
			params[k].used = 1;
			found = 1;
		}
		if (!found && param_optional(query_text, pname + 1))
			continue;	/* unbound = NULL = the query's default */
		if (!found)
			return wc_cli_usage(&wc_cmd_query,
					    "query %s needs --param %s=VALUE",
					    query, pname + 1);
	}
	return 0;
}

static int run_query(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "param", required_argument, NULL, 'p' },
		{ "list", no_argument, NULL, 'l' },
		{ "csv", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "table", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum wc_out_format fmt = WC_OUT_TABLE;
	struct wc_error err = WC_ERROR_INIT;
	struct wc_import_options opt;
	struct param *params = NULL;
	const struct wc_embedded *q;
	sqlite3 *db = NULL;
	char *path = NULL, fname[256];
	const char *name, *tail;
	int c, nparams = 0, status = 0, rc = 0, list = 0;

	params = calloc((size_t)argc + 1, sizeof(*params));
	if (!params)
		return 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:lh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': {
			char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg) {
				status = wc_cli_usage(&wc_cmd_query,
						      "--param wants NAME=VALUE, not '%s'", optarg);
				goto out;
			}
			*eq = '\0';
			if (optarg[0] == ':')
				optarg++;
			params[nparams].name = optarg;
			params[nparams].value = eq + 1;
			nparams++;
			break;
		}
		case 'l': list = 1; break;
		case 'c': fmt = WC_OUT_CSV; break;
		case 'j': fmt = WC_OUT_JSON; break;
		case 't': fmt = WC_OUT_TABLE; break;
		case 'h': status = wc_cli_help(&wc_cmd_query); goto out;
		default:
			status = wc_cli_usage(&wc_cmd_query, "unknown or incomplete option '%s'",
					      argv[optind - 1]);
			goto out;
		}
	}
	if (list) {
		status = list_queries();
		goto out;
	}
	if (argc - optind != 2) {
		status = wc_cli_usage(&wc_cmd_query, argc - optind < 2
				      ? "needs a case database and a query name"
				      : "extra argument '%s'",
				      argv[argc - 1]);
		goto out;
	}
	name = argv[optind + 1];
	snprintf(fname, sizeof(fname), "%s.sql", name);
	q = wc_embedded_find(wc_query_sql, fname);
	if (!q) {
		status = wc_cli_usage(&wc_cmd_query,
				      "no query named '%s' (waitchain query --list)", name);
		goto out;
	}
	memset(&opt, 0, sizeof(opt));
	opt.interrupted = wc_cli_interrupt_flag();
	rc = wc_case_open(argv[optind], WC_CASE_READONLY, &opt, &db, &path, &err);
	if (rc)
		goto out;
	tail = q->text;
	while (tail && *tail && !rc && !status) {
		sqlite3_stmt *st = NULL;
		const char *next = NULL;

		if (sqlite3_prepare_v2(db, tail, -1, &st, &next) != SQLITE_OK) {
			rc = wc_err(&err, WC_EDB, path, "query %s: %s", name,
				    sqlite3_errmsg(db));
			break;
		}
		if (st) {
			status = bind_params(st, params, nparams, name, q->text);
			if (!status)
				rc = wc_output_stmt_ex(st, fmt, stdout,
						       isatty(fileno(stdout)) ? WC_OUT_TTY : 0,
						       path, NULL, &err);
			sqlite3_finalize(st);
		}
		tail = next;
	}
	for (int k = 0; k < nparams && !rc && !status; k++)
		if (!params[k].used)
			status = wc_cli_usage(&wc_cmd_query,
					      "query %s has no parameter :%s", name,
					      params[k].name);
out:
	if (rc)
		status = wc_cli_error(&err);
	fflush(stdout);
	wc_db_close(db);
	free(path);
	free(params);
	return status;
}
