/*
 * cli.h - helpers shared by the subcommands (src/cmd-*.c), cross-file
 * internal to the CLI.
 *
 * Conventions every command follows: `--help` prints cmd->usage to
 * stdout and exits 0; a usage error prints one line naming the problem
 * and a hint to stderr and exits 2; any other failure is printed once,
 * as `waitchain: FILE: what broke (where)`, via wc_cli_error(), and exits
 * with wc_error_exit_status() (1).
 */
#ifndef WAITCHAIN_CLI_H
#define WAITCHAIN_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "command.h"
#include "waitchain/error.h"

/* Prints E once to stderr; returns its exit status. */
int wc_cli_error(const struct wc_error *e);

/* Prints "waitchain CMD: MESSAGE" and a --help hint to stderr; returns 2. */
int wc_cli_usage(const struct wc_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints CMD's usage text to stdout; returns 0. */
int wc_cli_help(const struct wc_command *cmd);

/* Installs SIGINT/SIGTERM handlers that set the returned flag (for
 * wc_import_options.interrupted / wc_analyze_options.interrupted). */
volatile int *wc_cli_interrupt_flag(void);

/*
 * Progress line on stderr for long imports: shown only when stderr is a
 * terminal, QUIET is 0 and more than a second has passed; rewritten at
 * most 5 times a second; wc_cli_progress_done() erases it.
 */
struct wc_cli_progress {
	uint64_t start_ns, last_ns;
	uint64_t total_bytes;	/* 0 = unknown */
	int quiet, shown, tty;
};
void wc_cli_progress_init(struct wc_cli_progress *p, uint64_t total_bytes,
			  int quiet);
void wc_cli_progress_cb(void *ctx, uint64_t bytes_done, uint64_t events);
void wc_cli_progress_done(struct wc_cli_progress *p);

/*
 * An output file replaced atomically (-o FILE of report, export, diff):
 * wc_cli_output_open() creates PATH.tmp-XXXXXX beside PATH (mode 0666
 * minus the umask); the caller writes to o->f; wc_cli_output_close()
 * closes it and renames it over PATH, or removes it when the write
 * failed, so a failed command never leaves half a file where the previous
 * one was.  WHAT names the file in error messages ("cannot write WHAT:
 * ..."; NULL: "cannot write: ...").  Zero-initialise the struct.
 */
struct wc_cli_output {
	FILE *f;		/* open between open and close, else NULL */
	char *tmp;		/* the temporary file's name (owned) */
	const char *path;	/* the final name (borrowed) */
	const char *what;	/* noun for messages, or NULL (borrowed) */
};

/* Opens O as described above.  0, or a negative code in ERR with nothing
 * left behind (no file, O->f NULL, nothing to close). */
int wc_cli_output_open(struct wc_cli_output *o, const char *path,
		       const char *what, struct wc_error *err);

/* Finishes O after the write returned RC: closes O->f, renames the
 * temporary file over O->path if RC is 0 and closing worked, else removes
 * it; frees O->tmp.  Returns RC, or a new negative code (in ERR) when RC
 * was 0 and closing or renaming failed.  Does nothing but return RC when O
 * is not open. */
int wc_cli_output_close(struct wc_cli_output *o, int rc, struct wc_error *err);

#endif /* WAITCHAIN_CLI_H */
