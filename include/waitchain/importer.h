/*
 * importer.h - one interface for every capture format.
 *
 * Each format lives in one file of importers/ and exports one
 * `const struct wc_importer`; importers/registry.c lists them.  The
 * import driver opens the input (wc_input: decompression of .zst/.gz,
 * stdin), asks each importer's probe() whether the first bytes are its
 * format, then open() -> run(sink) -> close().  Importers know nothing
 * of SQLite; they push normalized events (event.h) into the sink.
 *
 * Hostile input: importers validate every size and offset against what
 * remains of the file before using it, cap allocations by the file size,
 * never assert() on capture bytes, and report corruption as WC_EFORMAT
 * or WC_ETRUNCATED with the byte offset (and record type) in the message.
 */
#ifndef WAITCHAIN_IMPORTER_H
#define WAITCHAIN_IMPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "waitchain/error.h"
#include "waitchain/event.h"
#include "waitchain/input.h"

struct wc_import_options {
	const char *buffer;	/* --buffer NAME: import only this buffer */
	const char *kallsyms;	/* --kallsyms FILE for kernel symbols */
	const char *symfs;	/* --symfs DIR to find user binaries */
	int salvage;		/* on corruption, deliver every complete event
				 * read before it, then return the error */
	/* Called now and then with bytes consumed so far (progress line);
	 * may be NULL. */
	void (*progress)(void *ctx, uint64_t bytes_done, uint64_t events);
	void *progress_ctx;
	/* Set asynchronously (SIGINT); importers poll it and return
	 * WC_EINTERRUPTED when it becomes non-zero. */
	volatile int *interrupted;
	/* Seconds a library may take over its first pass of a capture
	 * before the capture is declared corrupt (trace.dat's sandboxed
	 * pass); 0 = the default, 120 s plus 1 s per 8 MiB.  Fuzz harnesses
	 * lower it below their per-input timeout. */
	unsigned library_timeout;
	/* trace.dat: read and decode in this process instead of in forked
	 * children (same events; a file that crashes libtracecmd crashes
	 * the caller).  For sanitizer and fuzzing runs of the decoding
	 * code, which a child would hide; WC_SANDBOX=0 sets it. */
	int in_process;
	/* trace.dat: 1 = one decoding child even on a machine with several
	 * CPUs (tests; WC_SANDBOX=1 sets it); 0 = two where there are two
	 * CPUs. */
	int one_child;
};

struct wc_importer {
	const char *name;	/* "trace.dat", "perf.data" */
	/* 1 if HEAD (the first LEN bytes of the decompressed input) is this
	 * format; must not read past LEN. */
	int (*probe)(const unsigned char *head, size_t len);
	/* Reads headers/metadata; *state is freed by close(). On success
	 * *sym is the symbolizer the sink uses for stack frames (borrowed
	 * until close(); may have resolve == NULL). */
	int (*open)(struct wc_input *in, const struct wc_import_options *opt,
		    void **state, struct wc_symbolizer *sym,
		    struct wc_error *err);
	/* Delivers metadata, buffers, names, lost counts and all events, in
	 * time order, to SINK. */
	int (*run)(void *state, const struct wc_sink *sink,
		   struct wc_error *err);
	/* Frees STATE; accepts NULL. */
	void (*close)(void *state);
	/* Optional: how many CPUs the importer's own helper processes keep
	 * busy during run() (trace.dat's decoding children), so that the
	 * caller does not add a writer thread the machine has no CPU for. */
	int (*helper_cpus)(void *state);
};

extern const struct wc_importer wc_importer_trace_dat;
extern const struct wc_importer wc_importer_perf_data;

/* NULL-terminated table of every importer. */
extern const struct wc_importer *const wc_importers[];

/* The importer whose probe() accepts IN's first bytes, or NULL. */
const struct wc_importer *wc_importer_find(struct wc_input *in);

#endif /* WAITCHAIN_IMPORTER_H */
