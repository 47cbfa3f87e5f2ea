/*
 * util.h - small shared helpers: a growable byte buffer, hashing, number
 * parsing, clocks, file helpers and helper threads.
 *
 * struct wc_buf is the output buffer of the escapers (escape.h) and of
 * anything that builds text piecewise (Redis's sds, without the header
 * trick): data is always NUL-terminated after a successful append, len
 * never counts the NUL.  A failed allocation leaves the buffer as it was
 * and returns -WC_ENOMEM; appends are amortized O(1).
 */
#ifndef WAITCHAIN_UTIL_H
#define WAITCHAIN_UTIL_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "waitchain/error.h"

#define WC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct wc_buf {
	char *data;	/* NUL-terminated contents, NULL until first append */
	size_t len;	/* bytes used, without the NUL */
	size_t cap;	/* bytes allocated */
};

#define WC_BUF_INIT { NULL, 0, 0 }

/* Ensures room for EXTRA more bytes plus the NUL. 0 or -WC_ENOMEM. */
int wc_buf_reserve(struct wc_buf *b, size_t extra);
/* Appends N bytes of DATA. 0 or -WC_ENOMEM. */
int wc_buf_add(struct wc_buf *b, const void *data, size_t n);
/* Appends one byte. */
int wc_buf_addc(struct wc_buf *b, int c);
/* Appends a NUL-terminated string (NULL appends nothing). */
int wc_buf_adds(struct wc_buf *b, const char *s);
/* Appends printf-style text. */
int wc_buf_printf(struct wc_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int wc_buf_vprintf(struct wc_buf *b, const char *fmt, va_list ap);
/* The contents as a string ("" for an empty buffer; never NULL). Borrowed
 * until the next append or wc_buf_free(). */
const char *wc_buf_str(const struct wc_buf *b);
/* Empties the buffer, keeping its memory. */
void wc_buf_reset(struct wc_buf *b);
/* Frees the memory; the buffer is empty and reusable afterwards. */
void wc_buf_free(struct wc_buf *b);
/* Hands the string over: caller frees with free(). Never NULL on success
 * (returns NULL only if the buffer is empty and malloc fails). */
char *wc_buf_detach(struct wc_buf *b);

/* 64-bit hashing (not cryptographic: hostile input can collide, so every
 * table using it compares keys as well). */
static inline uint64_t wc_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}
uint64_t wc_hash_bytes(const void *data, size_t n, uint64_t seed);
static inline uint64_t wc_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return wc_mix64(h);
}

/*
 * A set of interned strings (open addressing, owned copies): equal
 * strings get one pointer, valid until wc_strset_free().  Zero-initialize
 * it; it grows as needed.
 */
struct wc_strset {
	char **slots;
	uint64_t *hashes;
	size_t nslots, nused;
};

/* The interned copy of STR (borrowed until wc_strset_free()), NULL on
 * ENOMEM. */
const char *wc_strset_intern(struct wc_strset *s, const char *str);
/* Frees every string and the table; the set is empty and reusable. */
void wc_strset_free(struct wc_strset *s);

/*
 * Parses an integer the way users type one: optional '-', decimal or
 * 0x-prefixed hex, nothing else (no spaces, no trailing garbage).
 * Returns 1 and sets *out if STR is such an integer that fits int64_t
 * (hex may use the full uint64_t range, stored as its bit pattern),
 * else 0.
 */
int wc_parse_int64(const char *str, int64_t *out);

/* Monotonic clock in nanoseconds (for durations). */
uint64_t wc_now_ns(void);
/* Current UTC time as ISO 8601 "2024-01-31T12:34:56Z" into BUF (>= 32). */
void wc_utc_iso8601(char *buf, size_t size);

/* strdup that returns NULL for NULL. Caller frees with free(). */
char *wc_strdup(const char *s);

/* 1 if PATH exists (any type), else 0. */
int wc_path_exists(const char *path);
/* Directory part of PATH ("." if none) into a new string; caller frees. */
char *wc_path_dirname(const char *path);
/* Last component of PATH (borrowed pointer into PATH). */
const char *wc_path_basename(const char *path);

/*
 * Input helper for the import driver and importers: turns a
 * non-seekable input (a pipe) into a seekable one by copying the head and
 * the rest of the stream into an unlinked temporary file.  No-op when the
 * input is already seekable.  0 or a negative code.
 */
struct wc_input;
int wc_input_spool(struct wc_input *in, struct wc_error *err);
/* Makes wc_input reads and decompression stop with WC_EINTERRUPTED once
 * *FLAG is non-zero (NULL: never).  Process-wide; set by the driver. */
void wc_input_set_interrupt(volatile int *flag);
/* Creates an unlinked temporary file in $TMPDIR (or /tmp): returns its
 * fd (caller closes) or a negative code. WHY names the purpose. */
int wc_tmpfile(const char *why, struct wc_error *err);
/* Like wc_tmpfile() but leaves the file linked, its name in *PATH (reset
 * first), for a library that wants a file name: the caller unlinks it as
 * soon as the file name is no longer needed (and wc_buf_free()s PATH). */
int wc_tmpfile_named(const char *why, struct wc_buf *path,
		     struct wc_error *err);

/* --- helper threads ------------------------------------------------------ */

/* Whether work may go to helper threads: WC_THREADS, when set, decides
 * (1 or less: no, results are the same either way); unset, yes when at
 * least CPUS CPUs are online. */
int wc_threads_allowed(long cpus);
/* Starts FN(ARG) on a new thread into *THREAD with every signal blocked
 * there (signals stay with the caller's threads: SIGINT sets the
 * interrupt flag).  0, or -1 when the thread cannot be created. */
int wc_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif /* WAITCHAIN_UTIL_H */
