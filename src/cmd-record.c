/*
 * cmd-record.c - `waitchain record`: options, signals, and the optional
 * import right after (the recording itself is src/record.c).
 *
 * Ctrl-C and SIGTERM only set a flag: the recorder stops at its next
 * 100 ms tick, flushes, writes the file and removes its tracing instance.
 * --import runs the `import` subcommand from the command table on the
 * new file, exactly as if the user had typed it.
 */
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli.h"
#include "command.h"
#include "record.h"
#include "waitchain/analyze.h"
#include "waitchain/db.h"
#include "waitchain/escape.h"
#include "waitchain/error.h"
#include "waitchain/util.h"

/* the analyzer may be left out of a build: then --import only imports */
#pragma weak wc_analyze

static volatile sig_atomic_t record_stop;

static void on_stop_signal(int sig)
{
	(void)sig;
	record_stop = 1;
}

static const char record_usage[] =
	"usage: waitchain record [-o FILE] [-p PID | -a] [--duration S] [--stacks]\n"
	"                        [--import [--db DB]] [-b KB] [-- CMD [ARG...]]\n"
	"       waitchain record --print-commands [-p PID | -a] [--duration S] [--stacks] [-- CMD...]\n"
	"\n"
	"Records the scheduler and futex events waitchain analyzes (sched_switch,\n"
	"sched_waking, sched_wakeup(_new), sched_process_fork/exit, task_rename,\n"
	"sys_enter/exit_futex and the futex_wait/wake/waitv/requeue variants the\n"
	"kernel has) with the monotonic clock into a trace.dat that trace-cmd and\n"
	"KernelShark also read.  It uses a private tracing instance and leaves the\n"
	"system's own tracing untouched.  Needs root and tracefs.\n"
	"\n"
	"  -o, --output FILE     trace.dat to write (default capture.trace.dat)\n"
	"  -p, --pid PID         only the threads of process PID (and new ones)\n"
	"  -a, --all             every task on every CPU (default without -p or CMD)\n"
	"  -d, --duration S      stop after S seconds (default: Ctrl-C, or CMD exit)\n"
	"  -g, --stacks          a kernel stack with every event\n"
	"  -b, --buffer-size KB  per-CPU ring buffer (default 4096; 256 MB in all\n"
	"                        on hosts with more than 64 CPUs)\n"
	"      --import          import the capture right after (waitchain import)\n"
	"      --db DB           database for --import (default FILE.db)\n"
	"      --print-commands  print the equivalent perf and trace-cmd command\n"
	"                        lines instead of recording\n"
	"  -- CMD [ARG...]       run CMD and record until it exits; without -p/-a\n"
	"                        only CMD and the tasks it starts are recorded\n"
	"\n"
	"Environment: WC_TRACEFS=DIR uses DIR as the tracing directory.\n"
	"Exit status: 0 recorded, 1 cannot record (message says what is missing),\n"
	"2 usage error.\n";

/* DB name for --import: OUTPUT.db, the name `waitchain import` and the
 * capture cache of report/query/info use, so they find it. Caller frees. */
static char *default_db(const char *output)
{
	char *db;

	if (asprintf(&db, "%s.db", output) < 0)
		return NULL;
	return db;
}

/* Parses a duration in seconds (positive decimal, < 1e6). */
static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v > 0) || v > 1e6)
		return 0;
	*out = v;
	return 1;
}

/* Imports CAPTURE into DB with the core's import driver, then analyzes
 * it, as `waitchain import` does. */
static int run_import(const char *capture, const char *db)
{
	struct wc_import_result res;
	struct wc_import_options opt = { .interrupted = wc_cli_interrupt_flag() };
	struct wc_error err = WC_ERROR_INIT;
	int rc;

	rc = wc_import_file(capture, db, &opt, 0, &res, &err);
	if (rc < 0)
		return wc_cli_error(&err);
	if (wc_analyze) {
		struct wc_analyze_options aopt = { .interrupted = opt.interrupted };
		sqlite3 *h = NULL;

		rc = wc_db_open_rw(db, &h, &err);
		if (!rc)
			rc = wc_analyze(h, db, &aopt, &err);
		wc_db_close(h);
		if (rc)
			return wc_cli_error(&err);
	}
	fprintf(stderr, "waitchain: imported %llu events into ",
		(unsigned long long)res.events);
	wc_fput_tty_str(stderr, db);
	fputc('\n', stderr);
	return 0;
}

static int record_run(int argc, char **argv)
{
	enum { OPT_IMPORT = 256, OPT_DB, OPT_PRINT };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "pid", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "duration", required_argument, NULL, 'd' },
		{ "stacks", no_argument, NULL, 'g' },
		{ "buffer-size", required_argument, NULL, 'b' },
		{ "import", no_argument, NULL, OPT_IMPORT },
		{ "db", required_argument, NULL, OPT_DB },
		{ "print-commands", no_argument, NULL, OPT_PRINT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wc_record_options opt = { .output = "capture.trace.dat", .pid = -1 };
	struct wc_record_result res;
	struct wc_error err = WC_ERROR_INIT;
	struct sigaction sa, old_int, old_term, old_hup;
	const char *db = NULL;
	char *db_owned = NULL;
	int do_import = 0, print = 0;
	int64_t v;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:p:ad:gb:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			opt.output = optarg;
			break;
		case 'p':
			if (!wc_parse_int64(optarg, &v) || v <= 0 || v > INT32_MAX)
				return wc_cli_usage(&wc_cmd_record, "-p needs a process id, not '%s'", optarg);
			opt.pid = (int32_t)v;
			break;
		case 'a':
			opt.all = 1;
			break;
		case 'd':
			if (!parse_seconds(optarg, &opt.duration))
				return wc_cli_usage(&wc_cmd_record, "--duration needs seconds > 0, not '%s'", optarg);
			break;
		case 'g':
			opt.stacks = 1;
			break;
		case 'b':
			if (!wc_parse_int64(optarg, &v) || v < 64 || v > 4194304)
				return wc_cli_usage(&wc_cmd_record, "--buffer-size needs KB between 64 and 4194304, not '%s'", optarg);
			opt.buffer_kb = (unsigned)v;
			break;
		case OPT_IMPORT:
			do_import = 1;
			break;
		case OPT_DB:
			db = optarg;
			break;
		case OPT_PRINT:
			print = 1;
			break;
		case 'h':
			return wc_cli_help(&wc_cmd_record);
		default:
			return wc_cli_usage(&wc_cmd_record, "unknown or incomplete option '%s'",
					   argv[optind - 1]);
		}
	}
	if (opt.pid > 0 && opt.all)
		return wc_cli_usage(&wc_cmd_record, "-p and -a exclude each other");
	if (optind < argc)
		opt.cmd = argv + optind;
	if (db && !do_import)
		return wc_cli_usage(&wc_cmd_record, "--db goes with --import");
	if (print) {
		wc_record_print_commands(&opt, stdout);
		return 0;
	}

	opt.tracefs = getenv("WC_TRACEFS");
	if (opt.tracefs && !*opt.tracefs)
		opt.tracefs = NULL;
	opt.stop = &record_stop;
	opt.log = stderr;
	record_stop = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	rc = wc_record(&opt, &res, &err);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	if (rc < 0) {
		return wc_cli_error(&err);
	}
	if (res.cmd_status >= 0 && WIFEXITED(res.cmd_status) &&
	    WEXITSTATUS(res.cmd_status) != 0)
		fprintf(stderr, "waitchain: note: the command exited with status %d\n",
			WEXITSTATUS(res.cmd_status));
	if (!do_import)
		return 0;
	if (!db) {
		db_owned = default_db(opt.output);
		if (!db_owned) {
			fputs("waitchain: out of memory\n", stderr);
			return 1;
		}
		db = db_owned;
	}
	rc = run_import(opt.output, db);
	free(db_owned);
	return rc;
}

const struct wc_command wc_cmd_record = {
	.name = "record",
	.summary = "record a capture with the events waitchain needs (root)",
	.usage = record_usage,
	.run = record_run,
};
