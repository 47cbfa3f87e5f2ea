/*
 * cmd-export.c - `waitchain export`: the analysis in a format other tools
 * open.  One format today: perfetto-json, the Trace Event Format JSON that
 * the Perfetto UI and chrome://tracing load (report/perfetto.c).
 *
 * CAPTURE|CASE.db goes through wc_case_open(): a capture is imported and
 * analyzed first (cached as CAPTURE.db).  -o FILE is written to
 * FILE.tmp-XXXXXX beside it and renamed into place when complete, so a
 * failed export never leaves a half-written file.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perfetto.h"
#include "cli.h"
#include "command.h"
#include "waitchain/db.h"
#include "waitchain/error.h"
#include "waitchain/util.h"

static int run_export(int argc, char **argv);

const struct wc_command wc_cmd_export = {
	.name = "export",
	.summary = "write the analysis for Perfetto UI / chrome://tracing",
	.usage =
	"usage: waitchain export CAPTURE|CASE.db [--format perfetto-json] [-o FILE]\n"
	"\n"
	"Writes the analysis as a Trace Event Format JSON file that the Perfetto\n"
	"UI (https://ui.perfetto.dev, Open trace file) and chrome://tracing load:\n"
	"one track per thread named by process and thread, slices for the\n"
	"running / runnable / sleeping / blocked I/O intervals of every thread,\n"
	"one 'global mutex wait' slice per block on the global mutex with its\n"
	"holders and holder chain in the slice's arguments, and a flow arrow\n"
	"from each holder's releasing FUTEX_WAKE to the waiter it woke.\n"
	"Times are in microseconds with nanosecond precision.  A capture is\n"
	"imported and analyzed first (cached as CAPTURE.db).\n"
	"\n"
	"Options:\n"
	"  -f, --format FMT   perfetto-json (the default and only format)\n"
	"  -o, --output FILE  write to FILE (replaced atomically); default stdout\n"
	"  -q, --quiet        no summary line on stderr\n"
	"  -h, --help         this text\n"
	"\n"
	"Example:\n"
	"  waitchain export case.db -o trace.json\n"
	"\n"
	"Exit status: 0 ok, 1 bad database or capture, or I/O error, 2 usage.\n",
	.run = run_export,
};

static int run_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wc_import_options iopt = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	struct wc_perfetto_stats stats;
	const char *output = NULL;
	sqlite3 *db = NULL;
	struct wc_cli_output file = { 0 };
	char *path = NULL;
	FILE *out = stdout;
	int quiet = 0;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:o:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "perfetto-json") != 0 &&
			    strcmp(optarg, "perfetto") != 0 &&
			    strcmp(optarg, "json") != 0)
				return wc_cli_usage(&wc_cmd_export,
						    "unknown format '%s' (known: perfetto-json)",
						    optarg);
			break;
		case 'o':
			output = strcmp(optarg, "-") == 0 ? NULL : optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			return wc_cli_help(&wc_cmd_export);
		default:
			return wc_cli_usage(&wc_cmd_export,
					    "unknown or incomplete option '%s'",
					    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return wc_cli_usage(&wc_cmd_export, "no capture or case database given");
	if (optind + 1 < argc)
		return wc_cli_usage(&wc_cmd_export, "unexpected argument '%s'",
				    argv[optind + 1]);

	iopt.interrupted = wc_cli_interrupt_flag();
	rc = wc_case_open(argv[optind], WC_CASE_READONLY, &iopt, &db, &path, &err);
	if (rc)
		goto out;
	if (output) {
		rc = wc_cli_output_open(&file, output, NULL, &err);
		if (rc)
			goto out;
		out = file.f;
	}
	rc = wc_export_perfetto_json(db, path, out, &stats, &err);
	rc = wc_cli_output_close(&file, rc, &err);
	if (!rc && !quiet)
		fprintf(stderr, "waitchain: %llu threads, %llu state slices, "
			"%llu global-mutex waits, %llu wake flows\n",
			(unsigned long long)stats.threads,
			(unsigned long long)stats.state_slices,
			(unsigned long long)stats.block_slices,
			(unsigned long long)stats.flows);
out:
	wc_db_close(db);
	free(path);
	return rc ? wc_cli_error(&err) : 0;
}
