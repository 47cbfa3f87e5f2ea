/*
 * cmd-info.c - `waitchain info`: what a capture/case holds.
 *
 * Reads only the import tables (capture, event_count, lost, buffer,
 * thread), so it works on a database that was never analyzed; when the
 * analysis ran, its warnings (table analysis, key warnings, one per line)
 * are shown too.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "waitchain/db.h"
#include "waitchain/escape.h"
#include "waitchain/output.h"

static int run_info(int argc, char **argv);

const struct wc_command wc_cmd_info = {
	.name = "info",
	.summary = "show what a capture or case database holds",
	.usage =
	"usage: waitchain info CAPTURE|CASE.db [--json]\n"
	"\n"
	"Prints the capture's format and version, host, kernel, CPUs, clock, time\n"
	"span, events per type, lost/overrun counts per CPU, buffers, threads and\n"
	"import warnings, and the analysis warnings when it was analyzed.  A\n"
	"capture is imported first (cached as CAPTURE.db).\n"
	"\n"
	"Options:\n"
	"      --json      one JSON object instead of text\n"
	"  -h, --help      this text\n",
	.run = run_info,
};

static const char *const sections[][2] = {
	{ "events", "SELECT name, count, stored FROM event_count ORDER BY name" },
	{ "lost", "SELECT cpu, kind, sum(count) AS count, count(*) AS reports FROM lost GROUP BY cpu, kind ORDER BY cpu, kind" },
	{ "buffers", "SELECT id, name, clock, ncpus, nevents, imported FROM buffer ORDER BY id" },
	{ "threads", "SELECT tid, pid, comm, utid, pid_source, start_ns, end_ns FROM thread ORDER BY tid, utid" },
};

static int print_section(sqlite3 *db, const char *path, const char *sql,
			 enum wc_out_format fmt, struct wc_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = wc_db_prepare(db, path, sql, &st, err);

	if (!rc)
		rc = wc_output_stmt(st, fmt, stdout, path, NULL, err);
	sqlite3_finalize(st);
	return rc;
}

static void text_line(sqlite3 *db, const char *label, const char *key)
{
	char *v = wc_db_capture_get(db, key);

	if (!v)
		return;
	printf("%-16s ", label);
	wc_fput_tty_str(stdout, v);
	putchar('\n');
	free(v);
}

/* Prints multi-line TEXT, each line escaped for the terminal. */
static void print_lines(const char *text)
{
	while (text && *text) {
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);
		char *line = strndup(text, n);

		fputs("  ", stdout);
		wc_fput_tty_str(stdout, line);
		putchar('\n');
		free(line);
		text += n + (nl != NULL);
	}
}

static int info_text(sqlite3 *db, const char *path, struct wc_error *err)
{
	char *first = wc_db_capture_get(db, "first_ts");
	char *last = wc_db_capture_get(db, "last_ts");
	char *fmt = wc_db_capture_get(db, "format");
	char *ver = wc_db_capture_get(db, "format_version");
	char *trunc = wc_db_capture_get(db, "truncated");
	char *warn = wc_db_capture_get(db, "warnings");
	int rc = 0;
	static const char *const titles[] = { "Events per type", "Lost events",
					      "Buffers", "Threads" };

	printf("%-16s ", "case database");
	wc_fput_tty_str(stdout, path);
	putchar('\n');
	text_line(db, "capture", "source_file");
	if (fmt) {
		printf("%-16s ", "format");
		wc_fput_tty_str(stdout, fmt);
		if (ver) {
			fputs(" version ", stdout);
			wc_fput_tty_str(stdout, ver);
		}
		putchar('\n');
	}
	text_line(db, "compression", "source_compression");
	text_line(db, "file compression", "file_compression");
	text_line(db, "recorded by", "tracer_version");
	text_line(db, "host", "hostname");
	text_line(db, "kernel", "osrelease");
	text_line(db, "uname", "uname");
	text_line(db, "arch", "arch");
	text_line(db, "cpus", "nrcpus");
	text_line(db, "clock", "clock");
	text_line(db, "command", "cmdline");
	if (first && last) {
		long long a = atoll(first), b = atoll(last);

		printf("%-16s %lld .. %lld ns (%.6f s)\n", "time span", a, b,
		       (double)(b - a) / 1e9);
	}
	text_line(db, "events", "events");
	text_line(db, "stacks", "has_stacks");
	text_line(db, "kallsyms", "kallsyms_source");
	text_line(db, "imported at", "imported_at");
	text_line(db, "import seconds", "import_seconds");
	if (trunc && strcmp(trunc, "1") == 0)
		text_line(db, "TRUNCATED", "truncated_reason");
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]) && !rc; i++) {
		printf("\n%s:\n", titles[i]);
		rc = print_section(db, path, sections[i][1], WC_OUT_TABLE, err);
	}
	if (warn && *warn) {
		printf("\nWarnings:\n");
		print_lines(warn);
	}
	{
		sqlite3_stmt *st = NULL;

		/* the analysis' own warnings, when it ran */
		if (sqlite3_prepare_v2(db, "SELECT value FROM analysis WHERE key = 'warnings' AND value <> ''",
				       -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW) {
			printf("\nAnalysis warnings:\n");
			print_lines((const char *)sqlite3_column_text(st, 0));
		}
		sqlite3_finalize(st);
	}
	free(first);
	free(last);
	free(fmt);
	free(ver);
	free(trunc);
	free(warn);
	return rc;
}

/* Steps ST (SELECT key, value) to its end and prints the rows as one JSON
 * object {"key":"value",...} on stdout, escaped (a NULL key as "", a NULL
 * value as null).  A step error ends the object early, as the end does. */
static void put_kv_object(sqlite3_stmt *st)
{
	int n = 0;

	fputc('{', stdout);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		const char *v = (const char *)sqlite3_column_text(st, 1);

		if (n++)
			fputc(',', stdout);
		wc_fput_json_str(stdout, k ? k : "");
		fputc(':', stdout);
		wc_fput_json_str(stdout, v);
	}
	fputc('}', stdout);
}

static int info_json(sqlite3 *db, const char *path, struct wc_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = wc_db_prepare(db, path, "SELECT key, value FROM capture ORDER BY key",
			       &st, err);

	if (rc)
		return rc;
	fputs("{\"database\":", stdout);
	wc_fput_json_str(stdout, path);
	fputs(",\n\"capture\":", stdout);
	put_kv_object(st);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "SELECT key, value FROM analysis ORDER BY key",
			       -1, &st, NULL) == SQLITE_OK) {
		fputs(",\n\"analysis\":", stdout);
		put_kv_object(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	/* the analysis warnings again, one array element per line */
	if (sqlite3_prepare_v2(db, "SELECT value FROM analysis WHERE key = 'warnings'",
			       -1, &st, NULL) == SQLITE_OK) {
		const char *w = sqlite3_step(st) == SQLITE_ROW ?
			(const char *)sqlite3_column_text(st, 0) : NULL;
		int n = 0;

		fputs(",\n\"analysis_warnings\":[", stdout);
		while (w && *w) {
			const char *nl = strchr(w, '\n');
			size_t len = nl ? (size_t)(nl - w) : strlen(w);
			char *line = strndup(w, len);

			if (len && line) {
				if (n++)
					fputc(',', stdout);
				wc_fput_json_str(stdout, line);
			}
			free(line);
			w += len + (nl != NULL);
		}
		fputc(']', stdout);
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]) && !rc; i++) {
		printf(",\n\"%s\":", sections[i][0]);
		rc = print_section(db, path, sections[i][1], WC_OUT_JSON, err);
	}
	fputs("}\n", stdout);
	return rc;
}

static int run_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wc_error err = WC_ERROR_INIT;
	struct wc_import_options opt;
	sqlite3 *db = NULL;
	char *path = NULL;
	int c, json = 0, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h': return wc_cli_help(&wc_cmd_info);
		default:
			return wc_cli_usage(&wc_cmd_info, "unknown option '%s'",
					    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return wc_cli_usage(&wc_cmd_info, "no capture or case database given");
	if (argc - optind > 1)
		return wc_cli_usage(&wc_cmd_info, "extra argument '%s'",
				    argv[optind + 1]);
	memset(&opt, 0, sizeof(opt));
	opt.interrupted = wc_cli_interrupt_flag();
	rc = wc_case_open(argv[optind], WC_CASE_READONLY | WC_CASE_NO_ANALYZE,
			  &opt, &db, &path, &err);
	if (!rc)
		rc = json ? info_json(db, path, &err) : info_text(db, path, &err);
	wc_db_close(db);
	free(path);
	fflush(stdout);
	return rc ? wc_cli_error(&err) : 0;
}
