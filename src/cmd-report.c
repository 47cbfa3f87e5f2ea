/*
 * cmd-report.c - `waitchain report`: the story of a capture or case
 * database, as text (default), JSON or a self-contained HTML page.
 *
 * A capture argument is imported and analyzed into its cached database
 * first (wc_case_open()).  The writers live in report/: text.c, json.c
 * and html.c (wc_report_html, referenced weakly so that this command
 * builds and runs, minus HTML, before html.c exists).
 *
 * -o FILE is written to FILE.tmp-XXXXXX beside it and renamed into place
 * only once complete, so a failed report never leaves half a file where
 * the previous one was.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "waitchain/db.h"
#include "waitchain/report.h"
#include "waitchain/util.h"

#pragma weak wc_report_html

static int run_report(int argc, char **argv);

const struct wc_command wc_cmd_report = {
	.name = "report",
	.summary = "who held the global mutex while vCPUs waited: text, JSON or HTML",
	.usage =
	"usage: waitchain report CAPTURE|CASE.db [-o FILE] [--format text|json|html]\n"
	"                        [--top N] [--thread TID]...\n"
	"\n"
	"Tells how much of their time the vCPU threads spent blocked, how much of\n"
	"that was on the global mutex (QEMU's BQL), who held it while they waited\n"
	"and what those holders were doing (running, preempted, waiting on another\n"
	"lock held by someone else, sleeping on I/O), then shows the key tables:\n"
	"per-vCPU times and block percentiles, holders, holder states by chain\n"
	"depth, longest blocks and blocking stacks.  A capture is imported and\n"
	"analyzed first (cached as CAPTURE.db).\n"
	"\n"
	"Options:\n"
	"  -f, --format FMT   text (default), json or html; with -o, a FILE ending\n"
	"                     in .html or .json picks that format\n"
	"      --json         same as --format json\n"
	"      --html         same as --format html\n"
	"  -o, --output FILE  write to FILE (replaced atomically) instead of stdout\n"
	"  -n, --top N        rows per table (default 10)\n"
	"  -t, --thread TID   also show thread TID (repeatable): its time by state,\n"
	"                     and a lane in the HTML timeline\n"
	"      --color        bold headings in text output (default: when stdout\n"
	"                     is a terminal and NO_COLOR is unset)\n"
	"      --no-color     no colours\n"
	"      --from NS      start the HTML timeline at NS (capture clock, ns)\n"
	"      --to NS        end the HTML timeline at NS\n"
	"      --kallsyms F   kernel symbols for importing a perf.data capture\n"
	"      --symfs DIR    where to find the traced binaries for user symbols\n"
	"  -h, --help         this text\n"
	"\n"
	"Examples:\n"
	"  waitchain report capture.perf.data\n"
	"  waitchain report case.db -o report.html\n"
	"  waitchain report case.db --json | jq '.verdict.global_locks[0].holders[0]'\n"
	"\n"
	"The JSON document is described in docs/json.md; every table is also a\n"
	"canned query (waitchain query --list).\n",
	.run = run_report,
};

/* 1 if PATH ends with SUFFIX (case-insensitive). */
static int ends_with(const char *path, const char *suffix)
{
	size_t n = strlen(path), m = strlen(suffix);

	return n >= m && strcasecmp(path + n - m, suffix) == 0;
}

static int parse_format(const char *s, enum wc_report_format *fmt)
{
	if (strcmp(s, "text") == 0)
		*fmt = WC_REPORT_TEXT;
	else if (strcmp(s, "json") == 0)
		*fmt = WC_REPORT_JSON;
	else if (strcmp(s, "html") == 0)
		*fmt = WC_REPORT_HTML;
	else
		return -1;
	return 0;
}

static int run_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'J' },
		{ "html", no_argument, NULL, 'H' },
		{ "output", required_argument, NULL, 'o' },
		{ "top", required_argument, NULL, 'n' },
		{ "thread", required_argument, NULL, 't' },
		{ "color", no_argument, NULL, 'C' },
		{ "no-color", no_argument, NULL, 'N' },
		{ "kallsyms", required_argument, NULL, 'k' },
		{ "symfs", required_argument, NULL, 's' },
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wc_report_options ropt;
	struct wc_import_options iopt;
	struct wc_error err = WC_ERROR_INIT;
	int32_t threads[WC_REPORT_MAX_THREADS];
	const char *output = NULL;
	int c, rc = 0, format_given = 0, color = -1;
	sqlite3 *db = NULL;
	struct wc_cli_output file = { 0 };
	char *path = NULL;
	FILE *out = stdout;
	int64_t x;

	memset(&ropt, 0, sizeof(ropt));
	memset(&iopt, 0, sizeof(iopt));
	ropt.top = WC_REPORT_DEFAULT_TOP;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:o:n:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (parse_format(optarg, &ropt.format))
				return wc_cli_usage(&wc_cmd_report,
						    "unknown format '%s' (text, json or html)",
						    optarg);
			format_given = 1;
			break;
		case 'J': ropt.format = WC_REPORT_JSON; format_given = 1; break;
		case 'H': ropt.format = WC_REPORT_HTML; format_given = 1; break;
		case 'o': output = optarg; break;
		case 'n':
			if (!wc_parse_int64(optarg, &x) || x < 1 || x > 100000)
				return wc_cli_usage(&wc_cmd_report,
						    "--top wants a number from 1 to 100000, not '%s'",
						    optarg);
			ropt.top = (int)x;
			break;
		case 't':
			if (!wc_parse_int64(optarg, &x) || x < 0 || x > INT32_MAX)
				return wc_cli_usage(&wc_cmd_report,
						    "--thread wants a thread id, not '%s'", optarg);
			if (ropt.nthreads >= WC_REPORT_MAX_THREADS)
				return wc_cli_usage(&wc_cmd_report,
						    "at most %d --thread options",
						    WC_REPORT_MAX_THREADS);
			threads[ropt.nthreads++] = (int32_t)x;
			break;
		case 'C': color = 1; break;
		case 'N': color = 0; break;
		case 'F':
		case 'T':
			if (!wc_parse_int64(optarg, &x) || x < 0)
				return wc_cli_usage(&wc_cmd_report,
						    "--%s wants a time in ns (capture clock), not '%s'",
						    c == 'F' ? "from" : "to", optarg);
			if (c == 'F')
				ropt.t0_ns = (uint64_t)x;
			else
				ropt.t1_ns = (uint64_t)x;
			break;
		case 'k': iopt.kallsyms = optarg; break;
		case 's': iopt.symfs = optarg; break;
		case 'h': return wc_cli_help(&wc_cmd_report);
		default:
			return wc_cli_usage(&wc_cmd_report, "unknown option '%s'",
					    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return wc_cli_usage(&wc_cmd_report, "no capture or case database given");
	if (argc - optind > 1)
		return wc_cli_usage(&wc_cmd_report, "extra argument '%s'",
				    argv[optind + 1]);
	if (ropt.t1_ns && ropt.t1_ns <= ropt.t0_ns)
		return wc_cli_usage(&wc_cmd_report, "--to must be after --from");
	if (!format_given && output) {
		if (ends_with(output, ".html") || ends_with(output, ".htm"))
			ropt.format = WC_REPORT_HTML;
		else if (ends_with(output, ".json"))
			ropt.format = WC_REPORT_JSON;
	}
	if (ropt.format == WC_REPORT_HTML && !wc_report_html)
		return wc_cli_usage(&wc_cmd_report,
				    "this waitchain was built without the HTML report");
	if (ropt.format == WC_REPORT_HTML && !output && isatty(STDOUT_FILENO))
		return wc_cli_usage(&wc_cmd_report,
				    "not writing HTML to a terminal: use -o report.html");
	if (color < 0)
		color = !output && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	ropt.color = ropt.format == WC_REPORT_TEXT && color;
	ropt.threads = threads;
	ropt.output = output;
	ropt.source_arg = argv[optind];

	iopt.interrupted = wc_cli_interrupt_flag();
	rc = wc_case_open(argv[optind], WC_CASE_READONLY, &iopt, &db, &path, &err);
	if (rc)
		goto out;
	if (output) {
		rc = wc_cli_output_open(&file, output, "the report", &err);
		if (rc)
			goto out;
		out = file.f;
	}
	switch (ropt.format) {
	case WC_REPORT_TEXT:
		rc = wc_report_text(db, path, &ropt, out, &err);
		break;
	case WC_REPORT_JSON:
		rc = wc_report_json(db, path, &ropt, out, &err);
		break;
	case WC_REPORT_HTML:
		rc = wc_report_html(db, path, &ropt, out, &err);
		break;
	}
	if (out != stdout)
		rc = wc_cli_output_close(&file, rc, &err);
	else if (fflush(stdout) != 0 && !rc)
		rc = wc_err(&err, WC_EIO, "-", "cannot write the report: %s",
			    strerror(errno));
out:
	wc_db_close(db);
	free(path);
	return rc ? wc_cli_error(&err) : 0;
}
