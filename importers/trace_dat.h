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

#include <stddef.h>
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

/* One CPU's data whose content check tdat_check() left for later. */
struct tdat_region {
	int buf;			/* index in tdat_layout.buf */
	int cpu;
	uint64_t off, size;		/* as the file says (size > 0) */
	uint64_t page_size;
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
	/*
	 * Where it is in the walk's order: the index the next region had
	 * when it was found.  A problem in region i comes before it iff
	 * i < data_error_region (so the first problem of a split check is
	 * the one a sequential walk would have found first).
	 */
	int data_error_region;
	/* With DEFER: the CPU data whose pages / chunks are not checked yet
	 * (malloc'd; tdat_layout_free()). */
	struct tdat_region *regions;
	int nregions;
};

/*
 * Checks the file of SIZE bytes open on FD (read with pread only) and
 * fills *L.  Returns 0 (possibly with L->truncated_at set: the caller
 * decides whether to salvage), or -WC_EFORMAT / -WC_ETRUNCATED /
 * -WC_EUNSUPPORTED / -WC_EIO with err saying where (section, byte offset).
 * PATH names the file in messages.  With DEFER, the content of CPU data
 * (page headers, chunk decompression: the slow part, a whole read of the
 * data) is not checked but listed in L->regions for tdat_check_regions();
 * sizes, offsets and truncation are checked either way.
 */
int tdat_check(int fd, uint64_t size, const char *path, struct tdat_layout *l,
	       int defer, struct wc_error *err);

/*
 * The content checks DEFER left out, for regions i with i % NPARTS ==
 * PART (a sandbox child checks the CPUs it reads, in parallel with the
 * other): every ring-buffer page header of uncompressed data, every
 * chunk of compressed data decompressed.  The first problem found (in
 * region order) goes into L's data_error fields, unless L already holds
 * one that comes first (regions after that one are not read).  Returns 0
 * or a negative code (I/O, memory).
 */
int tdat_check_regions(int fd, uint64_t size, const char *path,
		       struct tdat_layout *l, int part, int nparts,
		       struct wc_error *err);
/* Frees what tdat_check() allocated in L. */
void tdat_layout_free(struct tdat_layout *l);

/* ---- the sandbox (trace_dat-sandbox.c) -----------------------------------
 * Forked children read the file and send what they read as messages;
 * the importer's process never reads CPU data.  Every function returning
 * int returns 0 (or as said) or a negative WC_E* code with ERR filled;
 * after an error the children are gone and every later call returns it
 * again.
 */

/* Exit status of a child whose child_main() could not open the file. */
#define TDAT_SANDBOX_OPEN_FAILED 3
/* Largest message (bytes): a child's write buffer holds a whole one. */
#define TDAT_SANDBOX_MSG_MAX (32 * 1024)

struct tdat_sandbox;		/* the parent's side */
struct tdat_sandbox_out;	/* a child's side: its socket and ring */

struct tdat_sandbox_cfg {
	const char *path;	/* for messages */
	unsigned timeout;	/* seconds a child may take (alarm) */
	int one_child;		/* one child even with several CPUs */
	/* address space a child may use (RLIMIT_AS), 0 = no limit; not
	 * applied in sanitizer builds (their shadow memory needs more) */
	uint64_t mem_limit;
	volatile int *interrupted;	/* the user's interrupt flag, or NULL */
	/* for the message of a child that cannot open the file */
	int data_error;		/* tdat_layout.data_error */
	const char *data_error_msg;
	unsigned version;
	const char *compression;
	/*
	 * Runs in child PART of NPARTS with FD, an open file description of
	 * its own: reads the file and sends messages to OUT (flushed when it
	 * returns).  Returns 0, TDAT_SANDBOX_OPEN_FAILED, or another
	 * non-zero value on failure.
	 */
	int (*child_main)(void *ctx, int fd, int part, int nparts,
			  struct tdat_sandbox_out *out);
	void *ctx;
};

/*
 * Forks the children (two on a machine with more than one CPU, else
 * one) on the file open on FD.  *SB is NULL when fork(), socketpair() or
 * /proc are unavailable: the caller then reads in process.
 */
int tdat_sandbox_start(struct tdat_sandbox **sb,
		       const struct tdat_sandbox_cfg *cfg, int fd,
		       struct wc_error *err);
/* How many children there are (1 or 2). */
int tdat_sandbox_parts(const struct tdat_sandbox *sb);
/*
 * The next message of child K: returns 1 with *MSG (8-byte aligned,
 * valid until the next call for K) and *LEN set, 0 when the child ended
 * well with nothing more, or an error (the child crashed, looped, or was
 * interrupted: the file is corrupt).
 */
int tdat_sandbox_next(struct tdat_sandbox *sb, int k, const void **msg,
		      size_t *len, struct wc_error *err);
/* Reads every child to its end (messages left are dropped); 0 when all
 * ended well. */
int tdat_sandbox_finish(struct tdat_sandbox *sb, struct wc_error *err);
/* A child sent what the code it runs cannot send: fails the sandbox with
 * "libtracecmd misbehaves (WHAT)" and returns that error. */
int tdat_sandbox_corrupt(struct tdat_sandbox *sb, struct wc_error *err,
			 const char *what);
/* Kills the children still running and frees SB (NULL is fine). */
void tdat_sandbox_free(struct tdat_sandbox *sb);

/* In a child: room for a message of LEN bytes (0 < LEN <=
 * TDAT_SANDBOX_MSG_MAX), 8-byte aligned, to fill before the next call. */
void *tdat_sandbox_msg(struct tdat_sandbox_out *out, size_t len);
/* In a child: writes the messages buffered (a failure ends the child). */
void tdat_sandbox_flush(struct tdat_sandbox_out *out);

#endif /* WAITCHAIN_TRACE_DAT_H */
