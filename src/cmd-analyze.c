/*
 * cmd-analyze.c - `waitchain analyze`: (re)computes the analysis tables
 * of a case database (or of a capture, imported first and cached).
 *
 * Options map one to one onto struct wc_analyze_options (analyze.h).
 * Prints a short summary (blocks, global mutex, warnings) unless --quiet;
 * the summary escapes everything that comes from the capture.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "waitchain/analyze.h"
#include "waitchain/db.h"
#include "waitchain/escape.h"
#include "waitchain/util.h"

static int run_analyze(int argc, char **argv);

const struct wc_command wc_cmd_analyze = {
	.name = "analyze",
	.summary = "compute timelines, blocks, holders and chains of a case",
	.usage =
	"usage: waitchain analyze CASE.db|CAPTURE [--vcpu REGEX] [--lock [PID:]ADDR]\n"
	"                         [--depth N] [--quiet]\n"
	"\n"
	"Rebuilds every analysis table of the case database in one transaction:\n"
	"per-thread states, blocks (sleeps) with their wakers, the holders of each\n"
	"futex a thread slept on, holder chains, the vCPU threads, the global mutex\n"
	"and why each vCPU left its CPU.  A capture is imported first (cached as\n"
	"CAPTURE.db).\n"
	"\n"
	"Options:\n"
	"      --vcpu REGEX       POSIX extended regex on thread names selecting\n"
	"                         vCPU threads (default '" WC_DEFAULT_VCPU_REGEX "')\n"
	"      --lock [PID:]ADDR  use the futex word ADDR (of process PID) as the\n"
	"                         global mutex instead of detecting it\n"
	"      --depth N          holder chain depth limit (default 8, max 64)\n"
	"  -q, --quiet            no summary\n"
	"  -h, --help             this text\n"
	"\n"
	"Exit status: 0 done, 1 bad database or capture, 2 usage error.\n",
	.run = run_analyze,
};

/* Parses [PID:]ADDR. */
static int parse_lock(const char *s, struct wc_analyze_options *o)
{
	const char *colon = strchr(s, ':');
	int64_t v;

	o->lock_pid = -1;
	if (colon) {
		char pid[32];
		size_t n = (size_t)(colon - s);

		if (n == 0 || n >= sizeof(pid))
			return 0;
		memcpy(pid, s, n);
		pid[n] = 0;
		if (!wc_parse_int64(pid, &v) || v < 0 || v > INT32_MAX)
			return 0;
		o->lock_pid = (int32_t)v;
		s = colon + 1;
	}
	if (!wc_parse_int64(s, &v) || v == 0)
		return 0;
	o->lock_uaddr = (uint64_t)v;
	o->has_lock = 1;
	return 1;
}

static void print_summary(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db,
			       /* the analysis counted its rows: count(*) of a
				* columnar table would decode it all */
			       "SELECT (SELECT value FROM analysis WHERE key = 'state_rows'),"
			       " (SELECT value FROM analysis WHERE key = 'blocks'),"
			       " (SELECT value FROM analysis WHERE key = 'futex_blocks'),"
			       " (SELECT count(*) FROM vcpu),"
			       " (SELECT value FROM analysis WHERE key = 'chain_rows'),"
			       " (SELECT value FROM analysis WHERE key = 'analyze_seconds'),"
			       " (SELECT value FROM analysis WHERE key = 'events_per_second')",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		printf("analyzed: %lld state intervals, %lld blocks (%lld on futexes),"
		       " %lld vCPU threads, %lld chain rows in %s s (%s events/s)\n",
		       sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
		       sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
		       sqlite3_column_int64(st, 4),
		       st && sqlite3_column_text(st, 5) ?
		       (const char *)sqlite3_column_text(st, 5) : "?",
		       sqlite3_column_text(st, 6) ?
		       (const char *)sqlite3_column_text(st, 6) : "?");
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db,
			       "SELECT pid, futex_uaddr, share, nblocks, chosen_by"
			       " FROM global_lock ORDER BY pid", -1, &st, NULL) == SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW) {
			printf("global mutex: ");
			if (sqlite3_column_type(st, 0) == SQLITE_NULL)
				printf("process ?");
			else
				printf("process %lld", sqlite3_column_int64(st, 0));
			printf(" futex 0x%llx, %.1f%% of vCPU futex-blocked time,"
			       " %lld vCPU blocks (%s)\n",
			       (unsigned long long)sqlite3_column_int64(st, 1),
			       100.0 * sqlite3_column_double(st, 2),
			       sqlite3_column_int64(st, 3),
			       (const char *)sqlite3_column_text(st, 4));
		}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT value FROM analysis WHERE key = 'warnings'",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
		const char *w = (const char *)sqlite3_column_text(st, 0);

		while (*w) {
			const char *nl = strchr(w, '\n');
			size_t n = nl ? (size_t)(nl - w) : strlen(w);
			char *line = malloc(n + 1);

			if (!line)
				break;
			memcpy(line, w, n);
			line[n] = 0;
			if (n) {
				fputs("warning: ", stdout);
				wc_fput_tty_str(stdout, line);
				putchar('\n');
			}
			free(line);
			w += n + (nl ? 1 : 0);
		}
	}
	sqlite3_finalize(st);
}

static int run_analyze(int argc, char **argv)
{
	enum { OPT_VCPU = 256, OPT_LOCK, OPT_DEPTH };
	static const struct option longopts[] = {
		{ "vcpu", required_argument, NULL, OPT_VCPU },
		{ "lock", required_argument, NULL, OPT_LOCK },
		{ "depth", required_argument, NULL, OPT_DEPTH },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wc_analyze_options opt = { .lock_pid = -1 };
	struct wc_error err = WC_ERROR_INIT;
	sqlite3 *db = NULL;
	char *db_path = NULL;
	int quiet = 0, c, rc;
	int64_t v;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_VCPU:
			opt.vcpu_regex = optarg;
			break;
		case OPT_LOCK:
			if (!parse_lock(optarg, &opt))
				return wc_cli_usage(&wc_cmd_analyze,
						    "--lock needs [PID:]ADDR, not '%s'",
						    optarg);
			break;
		case OPT_DEPTH:
			if (!wc_parse_int64(optarg, &v) || v < 1 || v > 64)
				return wc_cli_usage(&wc_cmd_analyze,
						    "--depth needs a number from 1 to 64,"
						    " not '%s'", optarg);
			opt.depth_limit = (int)v;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			return wc_cli_help(&wc_cmd_analyze);
		default:
			return wc_cli_usage(&wc_cmd_analyze, "unknown option '%s'",
					    argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return wc_cli_usage(&wc_cmd_analyze, "%s",
				    optind >= argc ? "missing CASE.db or capture" :
				    "only one database or capture");

	opt.interrupted = wc_cli_interrupt_flag();
	rc = wc_case_open(argv[optind], WC_CASE_NO_ANALYZE |
			  (quiet ? WC_CASE_QUIET : 0), NULL, &db, &db_path, &err);
	if (!rc)
		rc = wc_analyze(db, db_path, &opt, &err);
	if (!rc && !quiet)
		print_summary(db);
	wc_db_close(db);
	free(db_path);
	return rc ? wc_cli_error(&err) : 0;
}
