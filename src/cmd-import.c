/*
 * cmd-import.c - `waitchain import`: capture -> case database.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "waitchain/analyze.h"
#include "waitchain/db.h"
#include "waitchain/escape.h"

#pragma weak wc_analyze

static int run_import(int argc, char **argv);

const struct wc_command wc_cmd_import = {
	.name = "import",
	.summary = "import a perf.data or trace.dat capture into a case database",
	.usage =
	"usage: waitchain import CAPTURE [-o CASE.db] [options]\n"
	"\n"
	"Reads CAPTURE (perf.data or trace.dat, optionally .zst/.gz compressed;\n"
	"'-' reads stdin) and writes the case database CASE.db (default:\n"
	"CAPTURE.db), then analyzes it unless --no-analyze.  The database is\n"
	"written to a temporary file and renamed into place when complete.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE   case database to write (default CAPTURE.db)\n"
	"  -f, --force         replace an existing output\n"
	"      --buffer NAME   import only this trace.dat buffer (instance)\n"
	"      --kallsyms FILE kernel symbols for kernel stacks (perf.data)\n"
	"      --symfs DIR     look for user binaries under DIR\n"
	"      --salvage       keep the events read before a corrupt or truncated\n"
	"                      part (capture.truncated = 1), exit 0 with a warning\n"
	"      --no-analyze    only import; run `waitchain analyze` later\n"
	"  -q, --quiet         no progress line, no warnings\n"
	"  -h, --help          this text\n"
	"\n"
	"Exit status: 0 ok, 1 bad capture or I/O error (nothing written), 2 usage.\n",
	.run = run_import,
};

static int run_import(int argc, char **argv)
{
	enum { OPT_BUFFER = 256, OPT_KALLSYMS, OPT_SYMFS, OPT_SALVAGE,
	       OPT_NO_ANALYZE };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "buffer", required_argument, NULL, OPT_BUFFER },
		{ "kallsyms", required_argument, NULL, OPT_KALLSYMS },
		{ "symfs", required_argument, NULL, OPT_SYMFS },
		{ "salvage", no_argument, NULL, OPT_SALVAGE },
		{ "no-analyze", no_argument, NULL, OPT_NO_ANALYZE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wc_import_options opt;
	struct wc_import_result res;
	struct wc_error err = WC_ERROR_INIT;
	struct wc_cli_progress prog;
	const char *capture, *output = NULL;
	char *default_out = NULL;
	int c, force = 0, quiet = 0, analyze = 1, rc, status = 0;
	struct stat st;

	memset(&opt, 0, sizeof(opt));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:fqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'f': force = 1; break;
		case 'q': quiet = 1; break;
		case 'h': return wc_cli_help(&wc_cmd_import);
		case OPT_BUFFER: opt.buffer = optarg; break;
		case OPT_KALLSYMS: opt.kallsyms = optarg; break;
		case OPT_SYMFS: opt.symfs = optarg; break;
		case OPT_SALVAGE: opt.salvage = 1; break;
		case OPT_NO_ANALYZE: analyze = 0; break;
		default:
			return wc_cli_usage(&wc_cmd_import, "unknown or incomplete option '%s'",
					    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return wc_cli_usage(&wc_cmd_import, "no capture given");
	if (argc - optind > 1)
		return wc_cli_usage(&wc_cmd_import, "one capture at a time (extra argument '%s')",
				    argv[optind + 1]);
	capture = argv[optind];
	if (!output) {
		if (strcmp(capture, "-") == 0)
			return wc_cli_usage(&wc_cmd_import,
					    "reading stdin needs -o CASE.db");
		if (asprintf(&default_out, "%s.db", capture) < 0)
			return 1;
		output = default_out;
	}
	if (opt.kallsyms && stat(opt.kallsyms, &st) != 0) {
		wc_err(&err, WC_ENOTFOUND, opt.kallsyms, "--kallsyms: no such file");
		status = wc_cli_error(&err);
		goto out;
	}

	wc_cli_progress_init(&prog, 0, quiet);
	if (strcmp(capture, "-") != 0 && stat(capture, &st) == 0)
		prog.total_bytes = (uint64_t)st.st_size;
	opt.progress = wc_cli_progress_cb;
	opt.progress_ctx = &prog;
	opt.interrupted = wc_cli_interrupt_flag();

	rc = wc_import_file(capture, output, &opt, force ? WC_IMPORT_FORCE : 0,
			    &res, &err);
	wc_cli_progress_done(&prog);
	if (rc) {
		status = wc_cli_error(&err);
		goto out;
	}
	if (res.truncated && !quiet) {
		fputs("waitchain: warning: ", stderr);
		wc_fput_tty_str(stderr, res.truncated_reason);
		fputs("; kept the events before it (--salvage)\n", stderr);
	}
	if (analyze && wc_analyze) {
		sqlite3 *db = NULL;
		struct wc_analyze_options aopt;

		memset(&aopt, 0, sizeof(aopt));
		aopt.interrupted = opt.interrupted;
		rc = wc_db_open_rw(output, &db, &err);
		if (!rc)
			rc = wc_analyze(db, output, &aopt, &err);
		wc_db_close(db);
		if (rc) {
			status = wc_cli_error(&err);
			goto out;
		}
	}
	if (!quiet) {
		fprintf(stderr, "waitchain: imported %llu events from ",
			(unsigned long long)res.events);
		wc_fput_tty_str(stderr, capture);
		fprintf(stderr, " (%s) into ", res.format ? res.format : "?");
		wc_fput_tty_str(stderr, output);
		fprintf(stderr, " in %.2f s\n", res.seconds);
	}
out:
	free(default_out);
	return status;
}
