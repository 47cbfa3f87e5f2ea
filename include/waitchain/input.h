/*
 * input.h - opening a capture: plain file, compressed file, or stdin.
 *
 * Customers send captures as-is, as CAPTURE.zst or CAPTURE.gz, or pipe
 * `perf record -o -` output.  wc_input hides that: compressed input (by
 * magic bytes, not by name) is decompressed in a streaming loop with
 * libzstd / zlib into an unlinked temporary file (bounded memory), so
 * every importer sees an uncompressed byte stream, and a seekable file
 * descriptor whenever the source allows it.
 */
#ifndef WAITCHAIN_INPUT_H
#define WAITCHAIN_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "waitchain/error.h"

#define WC_INPUT_HEAD 4096

struct wc_input {
	const char *path;	/* name for messages ("-" = stdin) */
	int fd;			/* uncompressed data, positioned after head
				 * for pipes, at 0 for seekable files */
	int seekable;		/* 1: fd supports pread/lseek/mmap */
	uint64_t size;		/* uncompressed size, 0 if unknown (pipe) */
	uint64_t source_size;	/* size of the file as given (compressed) */
	const char *compression;	/* "none", "zstd", "gzip" */
	unsigned char head[WC_INPUT_HEAD];	/* first bytes */
	size_t head_len;
	/* private */
	size_t head_pos;	/* bytes of head already consumed by read */
	int own_fd;
};

/* Opens PATH ("-" = stdin). Caller frees with wc_input_close(). */
int wc_input_open(const char *path, struct wc_input **out,
		  struct wc_error *err);

/*
 * Sequential read: first the remaining bytes of head, then fd.  Returns
 * bytes read (< n only at end of input), or a negative code.
 */
ssize_t wc_input_read(struct wc_input *in, void *buf, size_t n,
		      struct wc_error *err);

/* Closes the input and removes any temporary file; accepts NULL. */
void wc_input_close(struct wc_input *in);

#endif /* WAITCHAIN_INPUT_H */
