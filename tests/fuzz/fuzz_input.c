/*
 * fuzz_input.c - libFuzzer harness for the container layer (src/input.c:
 * zstd / gzip detection by magic, streaming decompression into a
 * temporary file, pipe head handling, wc_input_spool()).
 *
 * Each input is opened twice: as a regular file (a memfd named through
 * /proc/self/fd) and, when it fits in a pipe buffer, as a pipe.  Every
 * byte is then read back with wc_input_read() and the invariants checked:
 *  - a seekable input delivers exactly in->size bytes;
 *  - an uncompressed input delivers the input bytes unchanged;
 *  - the pipe and the file transports deliver the same bytes;
 *  - spooling a pipe gives a seekable input of the same size.
 * A violation abort()s.  Error returns (corrupt or truncated streams) are
 * expected.  Decompression output is bounded by the fuzzer's -rss_limit_mb
 * and the temp file, as in production (zstd's window limit caps memory).
 *
 * Replay without libFuzzer: compiled into tests/unit/test_fuzz_regressions.c
 * with -DWC_FUZZ_REPLAY (then only wc_fuzz_input_one() is defined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "waitchain/input.h"
#include "waitchain/util.h"

int wc_fuzz_input_one(const uint8_t *data, size_t size);

#define INFZ_PIPE_MAX 60000	/* below the 64 KiB default pipe buffer */
#define INFZ_OUT_MAX (64u << 20)	/* stop comparing beyond this */

/* Reads IN to the end into a malloc'ed buffer (*out, *len); returns 0, or
 * -1 on a read error.  Caller frees *out. */
static int infz_drain(struct wc_input *in, unsigned char **out, size_t *len)
{
	struct wc_error err = WC_ERROR_INIT;
	size_t cap = 65536, n = 0;
	unsigned char *buf = malloc(cap);

	*out = NULL;
	*len = 0;
	if (!buf)
		return -1;
	for (;;) {
		ssize_t r;

		if (cap - n < 4096) {
			unsigned char *nb;

			if (cap >= INFZ_OUT_MAX)
				break;
			nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		r = wc_input_read(in, buf + n, cap - n, &err);
		if (r < 0) {
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int infz_open_fd_path(int fd, struct wc_input **in)
{
	char path[64];
	struct wc_error err = WC_ERROR_INIT;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* wc_input keeps the path pointer for messages: make it live */
	static char keep[2][64];
	static int which;
	which ^= 1;
	memcpy(keep[which], path, sizeof(path));
	return wc_input_open(keep[which], in, &err);
}

/* One input through both transports; always returns 0. */
int wc_fuzz_input_one(const uint8_t *data, size_t size)
{
	struct wc_input *fin = NULL, *pin = NULL;
	unsigned char *fbuf = NULL, *pbuf = NULL;
	size_t flen = 0, plen = 0, off = 0;
	int fd, pfd[2] = { -1, -1 }, fok = 0, pok = 0;

	fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	while (off < size) {
		ssize_t k = write(fd, data + off, size - off);

		if (k <= 0)
			goto out;
		off += (size_t)k;
	}
	if (infz_open_fd_path(fd, &fin) == 0) {
		if (!fin->seekable)
			abort();
		if (infz_drain(fin, &fbuf, &flen) == 0) {
			fok = 1;
			if (flen < INFZ_OUT_MAX && flen != fin->size)
				abort();	/* size promised != bytes delivered */
			if (strcmp(fin->compression, "none") == 0 &&
			    (flen != size || memcmp(fbuf, data, size) != 0))
				abort();	/* plain input altered */
		}
	}

	if (size <= INFZ_PIPE_MAX && pipe(pfd) == 0) {
		if (write(pfd[1], data, size) == (ssize_t)size) {
			close(pfd[1]);
			pfd[1] = -1;
			if (infz_open_fd_path(pfd[0], &pin) == 0) {
				struct wc_error err = WC_ERROR_INIT;

				/* a compressed pipe is decoded to a file */
				if (!pin->seekable && (size & 1)) {
					if (wc_input_spool(pin, &err) == 0 &&
					    (!pin->seekable || pin->size != size))
						abort();
				}
				if (infz_drain(pin, &pbuf, &plen) == 0)
					pok = 1;
			}
		}
	}
	if (fok && pok && flen < INFZ_OUT_MAX &&
	    (flen != plen || memcmp(fbuf, pbuf, flen) != 0))
		abort();	/* transports disagree */
out:
	wc_input_close(fin);
	wc_input_close(pin);
	free(fbuf);
	free(pbuf);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	close(fd);
	return 0;
}

#ifndef WC_FUZZ_REPLAY
#include <signal.h>
#include <sys/resource.h>

/* A few bytes of zstd can expand to gigabytes (RLE blocks): cap what the
 * temporary file may grow to, so a bomb ends as a write error (EFBIG ->
 * WC_EIO) instead of filling the disk of the fuzzing machine. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct rlimit rl = { 256u << 20, 256u << 20 };

	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &rl);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return wc_fuzz_input_one(data, size);
}
#endif
