/*
 * trace_dat.h - internals shared by the trace.dat importer's files
 * (trace_dat.c, trace_dat-check.c).  Not a public interface.
 *
 * trace_dat-check.c walks the trace.dat (version 6 or 7) header chain
 * with plain pread()s BEFORE libtracecmd sees the file, checking every
 * size and offset libtracecmd would trust against the file size, because
 * libtracecmd allocates what the file says (malloc(size) of a 64-bit
 * size), writes buf[size - 1] of a zero-size option, strdup()s
 * unterminated strings and mmap()s CPU data beyond the end of a truncated
 * file (SIGBUS).  It does not interpret events: libtracecmd does.  It also
 * yields what the public libtracecmd API does not expose: each buffer's
 * own clock and data size.
 */
#ifndef WAITCHAIN_TRACE_DAT_H
#define WAITCHAIN_TRACE_DAT_H

#include <stdint.h>

#include "waitchain/error.h"

#define TDAT_MAX_BUFFERS 64
#define TDAT_NAME_MAX 128

struct tdat_buffer_layout {
	char name[TDAT_NAME_MAX];	/* "" = top buffer */
	char clock[32];			/* "" when the file does not say */
	int cpus;			/* CPUs with a data entry */
	uint64_t data_bytes;		/* sum of the CPUs' data sizes */
	uint64_t data_end;		/* largest offset + size of its CPU data */
};

struct tdat_layout {
	unsigned version;		/* 6 or 7 */
	int file_bigendian;
	int long_size;
	uint32_t page_size;
	char compression[32];		/* "none" or the algorithm name */
	int nbuffers;			/* [0] is the top buffer */
	struct tdat_buffer_layout buf[TDAT_MAX_BUFFERS];
	/*
	 * Set when the file is complete up to its CPU data but some CPU
	 * data runs past the end of the file (a recording cut short):
	 * the smallest offset where data is missing.
	 */
	uint64_t truncated_at;
	char truncated_where[256];	/* e.g. "CPU 1 data of buffer \"\"" */
	/*
	 * First problem found inside CPU data (truncation, a ring-buffer
	 * page whose size does not fit, a chunk that does not decompress):
	 * WC_E* code (positive, 0 = none), where, and the message.
	 * libtracecmd silently stops reading that CPU there, so the
	 * importer reports it after salvaging, or refuses the file.
	 */
	int data_error;
	uint64_t data_error_at;
	char data_error_msg[400];
};

/*
 * Checks the file of SIZE bytes open on FD (read with pread only) and
 * fills *L.  Returns 0 (possibly with L->truncated_at set: the caller
 * decides whether to salvage), or -WC_EFORMAT / -WC_ETRUNCATED /
 * -WC_EUNSUPPORTED / -WC_EIO with err saying where (section, byte offset).
 * PATH names the file in messages.
 */
int tdat_check(int fd, uint64_t size, const char *path, struct tdat_layout *l,
	       struct wc_error *err);

#endif /* WAITCHAIN_TRACE_DAT_H */
