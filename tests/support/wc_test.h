/*
 * wc_test.h - helpers shared by the Criterion tests.
 *
 * Paths come from the environment ctest sets (tests/CMakeLists.txt):
 * WC_SAMPLES (samples/), WC_BIN (the waitchain binary), WC_SOURCE (source
 * tree), WC_TMP (a scratch directory for this test executable).  Helpers
 * never assert themselves: they return what happened and tests assert on
 * it, so a failure points at the test line.
 */
#ifndef WC_TEST_H
#define WC_TEST_H

#include <stddef.h>
#include <stdint.h>

/* --- environment ------------------------------------------------------------ */

/* $WC_SAMPLES, $WC_BIN, $WC_SOURCE, $WC_TMP (falling back to the source
 * tree's defaults / "/tmp" when unset).  Borrowed static strings. */
const char *wc_test_samples(void);
const char *wc_test_bin(void);
const char *wc_test_source(void);
const char *wc_test_tmp(void);

/* printf-style path; caller frees with free(). */
char *wc_test_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* $WC_SAMPLES/SAMPLE/FILE; caller frees. */
char *wc_test_sample(const char *sample, const char *file);
/* $WC_TMP/NAME, after removing any file of that name; caller frees. */
char *wc_test_tmpfile(const char *name);

/* --- running programs -------------------------------------------------------- */

struct wc_run {
	int status;		/* exit status, or 128 + signal number */
	char *out, *err;	/* captured stdout/stderr, NUL-terminated */
	size_t out_len, err_len;
};

/*
 * Runs PROGRAM (a path, or a name looked up in PATH) with ARGV (argv[0]
 * included, NULL-terminated) via posix_spawn, stdin from STDIN_PATH (NULL
 * = /dev/null), capturing stdout and stderr.  0, or -1 if it could not be
 * started.  Free R with wc_run_free().
 */
int wc_run_program(struct wc_run *r, const char *stdin_path,
		   const char *program, char *const argv[]);
/* Runs $WC_BIN with the NULL-terminated arguments after R/STDIN_PATH
 * (not including argv[0]). */
int wc_run(struct wc_run *r, const char *stdin_path, ...)
	__attribute__((sentinel));
void wc_run_free(struct wc_run *r);
/* Number of '\n'-terminated lines in S. */
int wc_count_lines(const char *s);
/* 1 if PROGRAM is found in PATH. */
int wc_have_program(const char *program);

/* --- databases ---------------------------------------------------------------- */

/* The integer of the first column of the first row of SQL on DB_PATH
 * (opened read-only with plain SQLite, no waitchain code).  Returns
 * DEFLT when there is no row, the value is NULL, or on error (*ok, may be
 * NULL, is then 0). */
int64_t wc_test_sql_int(const char *db_path, const char *sql, int64_t deflt,
			int *ok);
/* The text of the first column of the first row, or NULL; caller frees. */
char *wc_test_sql_text(const char *db_path, const char *sql);

/* --- files -------------------------------------------------------------------- */

/* Whole file into a NUL-terminated buffer; caller frees.  NULL on error. */
char *wc_test_read_file(const char *path, size_t *len);
/* Writes LEN bytes to PATH. 0 or -1. */
int wc_test_write_file(const char *path, const void *data, size_t len);
/* Copies the first LIMIT bytes of SRC (all if LIMIT is SIZE_MAX) to DST. */
int wc_test_copy_file(const char *src, const char *dst, size_t limit);
/* Number of entries of DIR whose name contains NEEDLE. */
int wc_test_count_files(const char *dir, const char *needle);

/* --- CSV (RFC 4180: quoted fields, "" escapes, CRLF or LF) ------------------- */

struct wc_csv {
	size_t nrows;		/* data rows (the header is not a row) */
	size_t ncols;		/* columns of the header */
	char **header;		/* ncols names */
	char ***rows;		/* nrows arrays of ncols fields ("" if missing) */
};

/* Parses TEXT (LEN bytes) into CSV; 0 or -1 (malformed quoting). */
int wc_csv_parse(const char *text, size_t len, struct wc_csv *csv);
/* Reads and parses PATH; 0 or -1. */
int wc_csv_read(const char *path, struct wc_csv *csv);
/* Index of column NAME, or -1. */
int wc_csv_col(const struct wc_csv *csv, const char *name);
void wc_csv_free(struct wc_csv *csv);

/* Value of KEY in a KEY=VALUE file (samples/NAME/expected_meta.txt), as a
 * new string, or NULL. */
char *wc_test_meta(const char *path, const char *key);

#endif /* WC_TEST_H */
