/*
 * cmd-diff.c - `waitchain diff BEFORE AFTER`: options and files; the
 * comparison itself is report/diff*.c.
 *
 * BEFORE and AFTER are case databases or captures (wc_case_open():
 * captures are imported and analyzed first, cached as CAPTURE.db).  -o
 * FILE is written to FILE.tmp-XXXXXX and renamed into place when
 * complete.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diff.h"
#include "cli.h"
#include "command.h"
#include "waitchain/db.h"
#include "waitchain/error.h"
#include "waitchain/util.h"

static int run_diff(int argc, char **argv);

const struct wc_command wc_cmd_diff = {
	.name = "diff",
	.summary = "compare two captures or case databases (before/after a fix)",
	.usage =
	"usage: waitchain diff BEFORE AFTER [--json | --html] [-o FILE] [--top N]\n"
	"\n"
	"Compares two captures or case databases, typically recorded before and\n"
	"after a fix (block I/O moved to an iothread, ...): per vCPU and overall,\n"
	"the change in time blocked on the global mutex, the number of blocks and\n"
	"their percentiles (p50/p90/p95/p99/max), the holders of the mutex and\n"
	"what they were doing, and the holders new in the top N.  vCPUs and\n"
	"holders are matched by thread name.  Captures are imported and analyzed\n"
	"first (cached as CAPTURE.db).\n"
	"\n"
	"Options:\n"
	"  -f, --format FMT   text (default), json or html; with -o, a FILE ending\n"
	"                     in .json or .html picks that format\n"
	"      --json         same as --format json\n"
	"      --html         same as --format html: one self-contained page with\n"
	"                     the two distributions side by side\n"
	"  -o, --output FILE  write to FILE (replaced atomically) instead of stdout\n"
	"  -n, --top N        size of the top-holder lists (default 5)\n"
	"  -h, --help         this text\n"
	"\n"
	"Example:\n"
	"  waitchain diff before.db after.db --html -o diff.html\n"
	"\n"
	"Exit status: 0 ok, 1 bad database or capture, or I/O error, 2 usage.\n",
	.run = run_diff,
};

enum diff_format { FMT_TEXT, FMT_JSON, FMT_HTML };

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Opens ARG and loads one side of D. */
static int load_side(const char *arg, struct wc_import_options *iopt,
		     struct wc_diff_side *side, struct wc_error *err)
{
	sqlite3 *db = NULL;
	char *path = NULL;
	int rc;

	rc = wc_case_open(arg, WC_CASE_READONLY, iopt, &db, &path, err);
	if (rc == 0)
		rc = wc_diff_load(db, path, arg, side, err);
	wc_db_close(db);
	free(path);
	return rc;
}

static int run_diff(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_HTML };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "html", no_argument, NULL, OPT_HTML },
		{ "output", required_argument, NULL, 'o' },
		{ "top", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wc_import_options iopt = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	struct wc_diff d;
	enum diff_format fmt = FMT_TEXT;
	int fmt_given = 0;
	const char *output = NULL;
	struct wc_cli_output file = { 0 };
	FILE *out = stdout;
	int64_t v;
	int c, rc;

	memset(&d, 0, sizeof(d));
	d.top = WC_DIFF_DEFAULT_TOP;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:o:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "text") == 0)
				fmt = FMT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				fmt = FMT_JSON;
			else if (strcmp(optarg, "html") == 0)
				fmt = FMT_HTML;
			else
				return wc_cli_usage(&wc_cmd_diff,
						    "unknown format '%s' (text, json or html)",
						    optarg);
			fmt_given = 1;
			break;
		case OPT_JSON:
			fmt = FMT_JSON;
			fmt_given = 1;
			break;
		case OPT_HTML:
			fmt = FMT_HTML;
			fmt_given = 1;
			break;
		case 'o':
			output = strcmp(optarg, "-") == 0 ? NULL : optarg;
			break;
		case 'n':
			if (!wc_parse_int64(optarg, &v) || v < 1 || v > 1000)
				return wc_cli_usage(&wc_cmd_diff,
						    "--top needs a number from 1 to 1000, not '%s'",
						    optarg);
			d.top = (int)v;
			break;
		case 'h':
			return wc_cli_help(&wc_cmd_diff);
		default:
			return wc_cli_usage(&wc_cmd_diff,
					    "unknown or incomplete option '%s'",
					    argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return wc_cli_usage(&wc_cmd_diff, "needs exactly two arguments: BEFORE AFTER");
	if (output && !fmt_given) {
		if (ends_with(output, ".html") || ends_with(output, ".htm"))
			fmt = FMT_HTML;
		else if (ends_with(output, ".json"))
			fmt = FMT_JSON;
	}

	iopt.interrupted = wc_cli_interrupt_flag();
	rc = load_side(argv[optind], &iopt, &d.before, &err);
	if (rc)
		goto out;
	rc = load_side(argv[optind + 1], &iopt, &d.after, &err);
	if (rc)
		goto out;
	if (output) {
		rc = wc_cli_output_open(&file, output, NULL, &err);
		if (rc)
			goto out;
		out = file.f;
	}
	switch (fmt) {
	case FMT_TEXT:
		rc = wc_diff_text(&d, out, &err);
		break;
	case FMT_JSON:
		rc = wc_diff_json(&d, out, &err);
		break;
	case FMT_HTML:
		rc = wc_diff_html(&d, out, &err);
		break;
	}
	rc = wc_cli_output_close(&file, rc, &err);
out:
	wc_diff_side_free(&d.before);
	wc_diff_side_free(&d.after);
	return rc ? wc_cli_error(&err) : 0;
}
