/*
 * test_input.c - wc_input (src/input.c): plain files, zstd and gzip
 * (several frames/members), pipes, and broken compressed data.
 * Compressed test data is made here with libzstd/zlib from a known
 * pattern, so every byte read back can be checked.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "waitchain/input.h"
#include "waitchain/util.h"
#include "wc_test.h"

#define PATTERN_LEN (300 * 1000)

static unsigned char *pattern(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n);

	cr_assert(p);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		/* compressible but not trivially */
		p[i] = (unsigned char)((i % 64 < 32) ? 'a' + (i % 7) : (seed >> 16));
	}
	return p;
}

static size_t zstd_frame(unsigned char *dst, size_t cap, const void *src,
			 size_t n)
{
	size_t r = ZSTD_compress(dst, cap, src, n, 3);

	cr_assert(!ZSTD_isError(r));
	return r;
}

static size_t gzip_member(unsigned char *dst, size_t cap, const void *src,
			  size_t n)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8,
				  Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)src;
	z.avail_in = (uInt)n;
	z.next_out = dst;
	z.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	deflateEnd(&z);
	return cap - z.avail_out;
}

/* Reads all of IN through wc_input_read. */
static unsigned char *read_all(struct wc_input *in, size_t *len)
{
	struct wc_buf b = WC_BUF_INIT;
	struct wc_error err = WC_ERROR_INIT;
	unsigned char chunk[7919];	/* odd size: crosses the head boundary */
	ssize_t r;

	while ((r = wc_input_read(in, chunk, sizeof(chunk), &err)) > 0)
		cr_assert_eq(wc_buf_add(&b, chunk, (size_t)r), 0);
	cr_assert_geq(r, 0, "%s", err.msg);
	*len = b.len;
	return (unsigned char *)wc_buf_detach(&b);
}

static void check_content(struct wc_input *in, const unsigned char *want,
			  size_t n)
{
	size_t len;
	unsigned char *got = read_all(in, &len);

	cr_assert_eq(len, n);
	cr_assert(memcmp(got, want, n) == 0);
	cr_assert_eq(in->head_len, n < WC_INPUT_HEAD ? n : WC_INPUT_HEAD);
	cr_assert(memcmp(in->head, want, in->head_len) == 0);
	free(got);
}

static char *write_tmp(const char *name, const void *data, size_t n)
{
	char *path = wc_test_tmpfile(name);

	cr_assert_eq(wc_test_write_file(path, data, n), 0);
	return path;
}

Test(input, plain_file)
{
	unsigned char *data = pattern(PATTERN_LEN, 1);
	char *path = write_tmp("plain.bin", data, PATTERN_LEN);
	struct wc_input *in = NULL;
	struct wc_error err = WC_ERROR_INIT;

	cr_assert_eq(wc_input_open(path, &in, &err), 0, "%s", err.msg);
	cr_expect_str_eq(in->compression, "none");
	cr_expect_eq(in->seekable, 1);
	cr_expect_eq(in->size, PATTERN_LEN);
	check_content(in, data, PATTERN_LEN);
	wc_input_close(in);
	free(path);
	free(data);
}

Test(input, zstd_two_frames)
{
	unsigned char *a = pattern(PATTERN_LEN, 2), *b = pattern(1000, 3);
	size_t cap = ZSTD_compressBound(PATTERN_LEN) * 2, n;
	unsigned char *z = malloc(cap), *want = malloc(PATTERN_LEN + 1000);
	struct wc_input *in = NULL;
	struct wc_error err = WC_ERROR_INIT;
	char *path;

	n = zstd_frame(z, cap, a, PATTERN_LEN);
	n += zstd_frame(z + n, cap - n, b, 1000);
	memcpy(want, a, PATTERN_LEN);
	memcpy(want + PATTERN_LEN, b, 1000);
	path = write_tmp("two.zst", z, n);
	cr_assert_eq(wc_input_open(path, &in, &err), 0, "%s", err.msg);
	cr_expect_str_eq(in->compression, "zstd");
	cr_expect_eq(in->seekable, 1);
	cr_expect_eq(in->size, PATTERN_LEN + 1000);
	cr_expect_eq(in->source_size, n);
	check_content(in, want, PATTERN_LEN + 1000);
	wc_input_close(in);
	free(path);
	free(a);
	free(b);
	free(z);
	free(want);
}

Test(input, gzip_two_members)
{
	unsigned char *a = pattern(PATTERN_LEN, 4), *b = pattern(5000, 5);
	size_t cap = PATTERN_LEN * 2, n;
	unsigned char *z = malloc(cap), *want = malloc(PATTERN_LEN + 5000);
	struct wc_input *in = NULL;
	struct wc_error err = WC_ERROR_INIT;
	char *path;

	n = gzip_member(z, cap, a, PATTERN_LEN);
	n += gzip_member(z + n, cap - n, b, 5000);
	memcpy(want, a, PATTERN_LEN);
	memcpy(want + PATTERN_LEN, b, 5000);
	path = write_tmp("two.gz", z, n);
	cr_assert_eq(wc_input_open(path, &in, &err), 0, "%s", err.msg);
	cr_expect_str_eq(in->compression, "gzip");
	cr_expect_eq(in->size, PATTERN_LEN + 5000);
	check_content(in, want, PATTERN_LEN + 5000);
	wc_input_close(in);
	free(path);
	free(a);
	free(b);
	free(z);
	free(want);
}

Test(input, zstd_truncated)
{
	unsigned char *a = pattern(PATTERN_LEN, 6);
	size_t cap = ZSTD_compressBound(PATTERN_LEN), n;
	unsigned char *z = malloc(cap);
	struct wc_input *in = NULL;
	struct wc_error err = WC_ERROR_INIT;
	char *path;

	n = zstd_frame(z, cap, a, PATTERN_LEN);
	path = write_tmp("trunc.zst", z, n / 2);
	cr_assert_eq(wc_input_open(path, &in, &err), -WC_ETRUNCATED);
	cr_expect_null(in);
	cr_expect_str_eq(err.file, path);
	cr_expect(strstr(err.msg, "zstd:") && strstr(err.msg, "compressed offset"),
		  "%s", err.msg);
	free(path);
	free(a);
	free(z);
}

Test(input, zstd_corrupt)
{
	unsigned char *a = pattern(PATTERN_LEN, 7);
	size_t cap = ZSTD_compressBound(PATTERN_LEN), n;
	unsigned char *z = malloc(cap);
	struct wc_input *in = NULL;
	struct wc_error err = WC_ERROR_INIT;
	char *path;

	{
		/* with a checksum, so that any damage is detected */
		ZSTD_CCtx *cc = ZSTD_createCCtx();

		ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
		n = ZSTD_compress2(cc, z, cap, a, PATTERN_LEN);
		cr_assert(!ZSTD_isError(n));
		ZSTD_freeCCtx(cc);
	}
	for (size_t i = n / 3; i < n / 3 + 64; i++)
		z[i] ^= 0x5a;
	path = write_tmp("corrupt.zst", z, n);
	cr_assert_eq(wc_input_open(path, &in, &err), -WC_EFORMAT, "%d %s", err.code, err.msg);
	cr_expect(strncmp(err.msg, "zstd: ", 6) == 0, "%s", err.msg);
	cr_expect(strstr(err.msg, " at compressed offset "), "%s", err.msg);
	free(path);
	free(a);
	free(z);
}

Test(input, gzip_truncated_and_garbage)
{
	unsigned char *a = pattern(PATTERN_LEN, 8);
	size_t cap = PATTERN_LEN * 2, n;
	unsigned char *z = malloc(cap + 16);
	struct wc_input *in = NULL;
	struct wc_error err = WC_ERROR_INIT;
	char *path;

	n = gzip_member(z, cap, a, PATTERN_LEN);
	path = write_tmp("trunc.gz", z, n - 100);
	cr_expect_eq(wc_input_open(path, &in, &err), -WC_ETRUNCATED, "%s", err.msg);
	free(path);
	wc_error_clear(&err);
	memcpy(z + n, "garbage!", 8);
	path = write_tmp("garbage.gz", z, n + 8);
	cr_expect_eq(wc_input_open(path, &in, &err), -WC_EFORMAT, "%s", err.msg);
	cr_expect(strstr(err.msg, "gzip: trailing garbage at compressed offset"),
		  "%s", err.msg);
	free(path);
	free(a);
	free(z);
}

Test(input, missing_file)
{
	struct wc_input *in = NULL;
	struct wc_error err = WC_ERROR_INIT;

	cr_expect_eq(wc_input_open("/nonexistent/capture.dat", &in, &err),
		     -WC_ENOTFOUND);
	cr_expect_str_eq(err.file, "/nonexistent/capture.dat");
}

/* Replaces stdin with a pipe holding DATA (small enough for the pipe
 * buffer); returns the saved stdin. */
static int stdin_from_pipe(const void *data, size_t n)
{
	int fds[2], saved = dup(0);

	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(write(fds[1], data, n), (ssize_t)n);
	close(fds[1]);
	dup2(fds[0], 0);
	close(fds[0]);
	return saved;
}

Test(input, pipe_streams_and_spools)
{
	unsigned char *data = pattern(20000, 9);
	int saved = stdin_from_pipe(data, 20000);
	struct wc_input *in = NULL;
	struct wc_error err = WC_ERROR_INIT;
	unsigned char buf[100];

	cr_assert_eq(wc_input_open("-", &in, &err), 0, "%s", err.msg);
	cr_expect_eq(in->seekable, 0);
	cr_expect_eq(in->size, 0);
	cr_expect_eq(in->head_len, WC_INPUT_HEAD);
	/* consume a little, then spool: the copy holds what was not read */
	cr_assert_eq(wc_input_read(in, buf, 100, &err), 100);
	cr_assert(memcmp(buf, data, 100) == 0);
	cr_assert_eq(wc_input_spool(in, &err), 0, "%s", err.msg);
	cr_expect_eq(in->seekable, 1);
	cr_expect_eq(in->size, 20000 - 100);
	check_content(in, data + 100, 20000 - 100);
	wc_input_close(in);
	dup2(saved, 0);
	close(saved);
	free(data);
}

Test(input, pipe_zstd)
{
	unsigned char *data = pattern(50000, 10);
	size_t cap = ZSTD_compressBound(50000), n;
	unsigned char *z = malloc(cap);
	struct wc_input *in = NULL;
	struct wc_error err = WC_ERROR_INIT;
	int saved;

	n = zstd_frame(z, cap, data, 50000);
	cr_assert_lt(n, 60000);
	saved = stdin_from_pipe(z, n);
	cr_assert_eq(wc_input_open("-", &in, &err), 0, "%s", err.msg);
	cr_expect_str_eq(in->compression, "zstd");
	cr_expect_eq(in->seekable, 1);
	check_content(in, data, 50000);
	wc_input_close(in);
	dup2(saved, 0);
	close(saved);
	free(data);
	free(z);
}
