/*
 * error.h - the one error vocabulary of waitchain.
 *
 * Every function that can fail returns 0 on success or a negative
 * WC_E* code, and fills a caller-provided struct wc_error with the file
 * the problem is about and one line saying what broke and where (byte
 * offset, record type, SQL statement...).  The CLI prints it as
 *
 *     waitchain: FILE: what broke (where)
 *
 * and maps the code to an exit status (wc_error_exit_status()).  Nothing
 * below main() prints errors or exits.
 *
 * The first error recorded wins: later wc_err() calls on an error that is
 * already set keep the original message (the root cause), but still
 * return their own code so that callers can unwind.
 */
#ifndef WAITCHAIN_ERROR_H
#define WAITCHAIN_ERROR_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

/* X(name, strerror text, exit status) */
#define WC_ERRORS(X)                                                         \
	X(OK, "success", 0)                                                  \
	X(NOMEM, "out of memory", 1)                                         \
	X(IO, "input/output error", 1)                                       \
	X(FORMAT, "corrupt or unrecognized capture", 1)                      \
	X(TRUNCATED, "capture is truncated", 1)                              \
	X(UNSUPPORTED, "unsupported capture feature", 1)                     \
	X(LIMIT, "size or count beyond sane limits", 1)                      \
	X(DB, "database error", 1)                                           \
	X(EXISTS, "output exists", 1)                                        \
	X(NOTFOUND, "not found", 1)                                          \
	X(INTERRUPTED, "interrupted", 1)                                     \
	X(USAGE, "usage error", 2)

enum wc_errcode {
#define WC_ERR_ENUM(name, text, status) WC_E##name,
	WC_ERRORS(WC_ERR_ENUM)
#undef WC_ERR_ENUM
	WC_E_COUNT
};

/* What went wrong; zero-initialize before use (WC_ERROR_INIT). */
struct wc_error {
	int code;        /* enum wc_errcode (positive), 0 = no error */
	char file[512];  /* file the error is about, "" when none */
	char msg[1024];  /* what broke (where), one line, no trailing newline */
};

#define WC_ERROR_INIT { 0, "", "" }

/*
 * Record an error unless one is already recorded, and return -code.
 * FILE may be NULL (keeps any file already set).  FMT is printf-style;
 * the result is truncated to fit and newlines are replaced by spaces.
 */
int wc_err(struct wc_error *e, int code, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int wc_verr(struct wc_error *e, int code, const char *file, const char *fmt,
	    va_list ap);

/* Static text for a code ("corrupt or unrecognized capture"). */
const char *wc_strerror(int code);

/* Exit status for a code (0 ok, 1 bad input/capture, 2 usage). */
int wc_error_exit_status(int code);

/* Print "waitchain: FILE: msg\n" (or "waitchain: msg\n") to OUT,
 * with control characters of FILE and msg escaped for a terminal. */
void wc_error_print(const struct wc_error *e, FILE *out);

/* Forget a recorded error (to retry or to continue with --salvage). */
void wc_error_clear(struct wc_error *e);

#endif /* WAITCHAIN_ERROR_H */
