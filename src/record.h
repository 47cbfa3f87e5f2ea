/*
 * record.h - recording a capture waitchain can analyze (src/record.c).
 *
 * wc_record() sets up a private tracing instance ("waitchain-<pid>") with
 * exactly the events waitchain needs, on the 'mono' trace clock, reads
 * its per-CPU ring buffers into temporary files beside the output, and
 * assembles them into a trace.dat (version 7) with libtracecmd's writer,
 * so trace-cmd and KernelShark read the result too.  The system's own
 * tracing (the top instance, other instances) is never touched; the
 * instance is disabled and destroyed on every way out, including
 * Ctrl-C/SIGTERM (the caller's signal handler sets *stop).
 *
 * wc_record_print_commands() prints the equivalent perf and trace-cmd
 * command lines for hosts where waitchain cannot be installed.
 */
#ifndef WAITCHAIN_RECORD_H
#define WAITCHAIN_RECORD_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "waitchain/error.h"

/* Per-CPU ring buffer size of the instance unless told otherwise (less
 * on hosts with more than 64 CPUs: 256 MB in all, at least 1 MB each). */
#define WC_RECORD_DEFAULT_BUFFER_KB 4096

struct wc_record_options {
	const char *output;	/* trace.dat to write (replaced if it exists) */
	int32_t pid;		/* -p PID: that process's threads, -1 = none */
	int all;		/* -a: every task (the default without -p/CMD) */
	double duration;	/* stop after this many seconds, 0 = no limit */
	int stacks;		/* kernel stack with every event */
	char *const *cmd;	/* -- CMD...: NULL-terminated argv, or NULL */
	const char *tracefs;	/* tracing directory to use; NULL = find it */
	unsigned buffer_kb;	/* per-CPU buffer in KB, 0 = default */
	volatile sig_atomic_t *stop;	/* becomes non-zero to stop (signals) */
	FILE *log;		/* progress and summary lines, or NULL */
};

struct wc_record_result {
	uint64_t data_bytes;	/* raw ring-buffer bytes captured */
	int ncpus;		/* per-CPU buffers written */
	uint64_t overruns;	/* events the kernel dropped (buffer full) */
	int cmd_status;		/* wait() status of CMD, -1 without CMD */
	double seconds;		/* time tracing was on */
	int optional_events;	/* futex_wait/wake/waitv/requeue pairs found */
};

/*
 * Prints the perf and trace-cmd command lines equivalent to OPT (its
 * pid/all/duration/stacks/cmd fields) to OUT.  Output is stable: the
 * tests compare it byte for byte.
 */
void wc_record_print_commands(const struct wc_record_options *opt, FILE *out);

/*
 * Records per OPT into opt->output.  On failure nothing is left behind
 * (no instance, no temporary files, no partial output) and ERR says what
 * is missing (root, tracefs, events) in one line.  RES may be NULL.
 */
int wc_record(const struct wc_record_options *opt,
	      struct wc_record_result *res, struct wc_error *err);

#endif /* WAITCHAIN_RECORD_H */
