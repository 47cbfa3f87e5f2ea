/*
 * input.c - opening a capture: plain file, zstd/gzip file, or stdin.
 *
 * Compression is recognized by magic bytes (zstd 28 b5 2f fd, gzip 1f 8b),
 * never by name.  Compressed input is decompressed in one streaming pass
 * (64-128 KiB buffers, plus the zstd window the frame asks for, capped by
 * libzstd's default 128 MiB limit) into an unlinked temporary file, so
 * importers always get a seekable descriptor for it and nothing is left
 * behind on a crash.  Concatenated zstd frames and gzip members are
 * decoded one after the other, as `zstdcat` and `zcat` do.
 *
 * A plain pipe stays a pipe (perf's pipe mode streams); the import driver
 * calls wc_input_spool() when the importer needs to seek.
 *
 * Hostile input: corrupt compressed data is WC_EFORMAT with the byte
 * offset in the compressed stream, a stream that ends inside a frame is
 * WC_ETRUNCATED; write errors on the temporary file (disk full) are
 * WC_EIO.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "waitchain/input.h"
#include "waitchain/util.h"

#define CHUNK (128 * 1024)

/* Set by wc_input_set_interrupt(): a blocked read of a pipe returns
 * (EINTR) once it is non-zero, so Ctrl-C works while waiting for data. */
static volatile int *interrupt_flag;

void wc_input_set_interrupt(volatile int *flag)
{
	interrupt_flag = flag;
}

static int interrupted(void)
{
	return interrupt_flag && *interrupt_flag;
}

/* Reads up to N bytes, retrying short reads and EINTR; returns bytes read
 * (< N only at end of file) or -1 with errno set. */
static ssize_t read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r < 0) {
			if (errno == EINTR && !interrupted())
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int write_full(int fd, const void *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf = (const char *)buf + w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Source of compressed bytes: first the PRE bytes already read (the head),
 * then the descriptor.  Tracks the compressed offset for messages.
 */
struct source {
	int fd;
	const unsigned char *pre;
	size_t pre_len, pre_pos;
	uint64_t offset;	/* compressed bytes handed out so far */
};

static ssize_t source_read(struct source *src, unsigned char *buf, size_t n)
{
	if (src->pre_pos < src->pre_len) {
		size_t k = src->pre_len - src->pre_pos;

		if (k > n)
			k = n;
		memcpy(buf, src->pre + src->pre_pos, k);
		src->pre_pos += k;
		return (ssize_t)k;
	}
	return read_full(src->fd, buf, n);
}

static int read_error(struct wc_input *in, struct wc_error *err)
{
	if (interrupted())
		return wc_err(err, WC_EINTERRUPTED, in->path, "interrupted");
	return wc_err(err, WC_EIO, in->path, "read error: %s", strerror(errno));
}

static int decompress_zstd(struct wc_input *in, struct source *src, int out,
			   uint64_t *out_size, struct wc_error *err)
{
	ZSTD_DStream *ds = ZSTD_createDStream();
	size_t in_cap = ZSTD_DStreamInSize(), out_cap = ZSTD_DStreamOutSize();
	unsigned char *ibuf = malloc(in_cap), *obuf = malloc(out_cap);
	size_t last = 1;	/* 0 when the last frame ended cleanly */
	int rc = 0;

	if (!ds || !ibuf || !obuf) {
		rc = wc_err(err, WC_ENOMEM, in->path, "zstd: out of memory");
		goto out;
	}
	ZSTD_initDStream(ds);
	for (;;) {
		ssize_t r = source_read(src, ibuf, in_cap);
		ZSTD_inBuffer ib = { ibuf, 0, 0 };

		if (r >= 0 && interrupted())
			r = -1;
		if (r < 0) {
			rc = read_error(in, err);
			goto out;
		}
		if (r == 0)
			break;
		ib.size = (size_t)r;
		while (ib.pos < ib.size) {
			ZSTD_outBuffer ob = { obuf, out_cap, 0 };
			size_t before = ib.pos;

			last = ZSTD_decompressStream(ds, &ob, &ib);
			if (ZSTD_isError(last)) {
				rc = wc_err(err, WC_EFORMAT, in->path,
					    "zstd: %s at compressed offset %llu",
					    ZSTD_getErrorName(last),
					    (unsigned long long)(src->offset +
								 before));
				goto out;
			}
			src->offset += ib.pos - before;
			if (ob.pos && write_full(out, obuf, ob.pos)) {
				rc = wc_err(err, WC_EIO, in->path,
					    "cannot write decompressed data: %s",
					    strerror(errno));
				goto out;
			}
			*out_size += ob.pos;
		}
	}
	/* flush what the decoder still holds for a complete input */
	while (last != 0) {
		ZSTD_inBuffer ib = { ibuf, 0, 0 };
		ZSTD_outBuffer ob = { obuf, out_cap, 0 };

		last = ZSTD_decompressStream(ds, &ob, &ib);
		if (ZSTD_isError(last) || ob.pos == 0)
			break;
		if (write_full(out, obuf, ob.pos)) {
			rc = wc_err(err, WC_EIO, in->path,
				    "cannot write decompressed data: %s",
				    strerror(errno));
			goto out;
		}
		*out_size += ob.pos;
	}
	if (last != 0)
		rc = wc_err(err, WC_ETRUNCATED, in->path,
			    "zstd: data ends inside a frame at compressed offset %llu",
			    (unsigned long long)src->offset);
out:
	ZSTD_freeDStream(ds);
	free(ibuf);
	free(obuf);
	return rc;
}

static int decompress_gzip(struct wc_input *in, struct source *src, int out,
			   uint64_t *out_size, struct wc_error *err)
{
	unsigned char *ibuf = malloc(CHUNK), *obuf = malloc(CHUNK);
	z_stream z;
	int zrc = Z_OK, rc = 0, inited = 0, in_member = 0;

	memset(&z, 0, sizeof(z));
	if (!ibuf || !obuf || inflateInit2(&z, 15 + 16) != Z_OK) {
		rc = wc_err(err, WC_ENOMEM, in->path, "gzip: out of memory");
		goto out;
	}
	inited = 1;
	for (;;) {
		ssize_t r = source_read(src, ibuf, CHUNK);

		if (r >= 0 && interrupted())
			r = -1;
		if (r < 0) {
			rc = read_error(in, err);
			goto out;
		}
		if (r == 0)
			break;
		z.next_in = ibuf;
		z.avail_in = (uInt)r;
		while (z.avail_in > 0) {
			uInt before = z.avail_in;

			if (!in_member) {
				/* a new member must start with the magic */
				if (z.next_in[0] != 0x1f) {
					rc = wc_err(err, WC_EFORMAT, in->path,
						    "gzip: trailing garbage at compressed offset %llu",
						    (unsigned long long)src->offset);
					goto out;
				}
				in_member = 1;
			}
			z.next_out = obuf;
			z.avail_out = CHUNK;
			zrc = inflate(&z, Z_NO_FLUSH);
			src->offset += before - z.avail_in;
			if (zrc != Z_OK && zrc != Z_STREAM_END &&
			    zrc != Z_BUF_ERROR) {
				rc = wc_err(err, WC_EFORMAT, in->path,
					    "gzip: %s at compressed offset %llu",
					    z.msg ? z.msg : "corrupt data",
					    (unsigned long long)src->offset);
				goto out;
			}
			if (CHUNK - z.avail_out &&
			    write_full(out, obuf, CHUNK - z.avail_out)) {
				rc = wc_err(err, WC_EIO, in->path,
					    "cannot write decompressed data: %s",
					    strerror(errno));
				goto out;
			}
			*out_size += CHUNK - z.avail_out;
			if (zrc == Z_STREAM_END) {
				in_member = 0;
				inflateReset(&z);
			}
		}
	}
	if (in_member)
		rc = wc_err(err, WC_ETRUNCATED, in->path,
			    "gzip: data ends inside a member at compressed offset %llu",
			    (unsigned long long)src->offset);
out:
	if (inited)
		inflateEnd(&z);
	free(ibuf);
	free(obuf);
	return rc;
}

/* Fills in->head from the start of the (seekable) in->fd. */
static int load_head(struct wc_input *in, struct wc_error *err)
{
	ssize_t r;

	do
		r = pread(in->fd, in->head, WC_INPUT_HEAD, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return read_error(in, err);
	in->head_len = (size_t)r;
	in->head_pos = in->head_len;	/* fd is at 0: read it directly */
	return 0;
}

int wc_input_open(const char *path, struct wc_input **out,
		  struct wc_error *err)
{
	struct wc_input *in = calloc(1, sizeof(*in));
	unsigned char *pre = NULL;
	struct stat st;
	ssize_t r;
	int rc = 0, src_fd = -1, own_src = 0;

	*out = NULL;
	if (!in)
		return wc_err(err, WC_ENOMEM, path, "out of memory");
	in->path = path;
	in->fd = -1;
	in->compression = "none";
	if (strcmp(path, "-") == 0) {
		src_fd = STDIN_FILENO;
	} else {
		src_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (src_fd < 0) {
			rc = wc_err(err, errno == ENOENT ? WC_ENOTFOUND : WC_EIO,
				    path, "cannot open: %s", strerror(errno));
			goto out;
		}
		own_src = 1;
	}
	if (fstat(src_fd, &st) < 0) {
		rc = wc_err(err, WC_EIO, path, "cannot stat: %s",
			    strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = wc_err(err, WC_EFORMAT, path, "is a directory, not a capture");
		goto out;
	}
	if (S_ISREG(st.st_mode))
		in->source_size = (uint64_t)st.st_size;

	/* the first bytes, read sequentially so that pipes work */
	pre = malloc(WC_INPUT_HEAD);
	if (!pre) {
		rc = wc_err(err, WC_ENOMEM, path, "out of memory");
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		do
			r = pread(src_fd, pre, WC_INPUT_HEAD, 0);
		while (r < 0 && errno == EINTR);
		if (r >= 0 && lseek(src_fd, r, SEEK_SET) < 0)
			r = -1;
	} else {
		r = read_full(src_fd, pre, WC_INPUT_HEAD);
	}
	if (r < 0) {
		rc = read_error(in, err);
		goto out;
	}

	if (r >= 4 && pre[0] == 0x28 && pre[1] == 0xb5 && pre[2] == 0x2f &&
	    pre[3] == 0xfd)
		in->compression = "zstd";
	else if (r >= 2 && pre[0] == 0x1f && pre[1] == 0x8b)
		in->compression = "gzip";

	if (strcmp(in->compression, "none") != 0) {
		struct source src = { src_fd, pre, (size_t)r, 0, 0 };

		in->fd = wc_tmpfile("decompressed", err);
		if (in->fd < 0) {
			rc = in->fd;
			goto out;
		}
		in->own_fd = 1;
		if (in->compression[0] == 'z')
			rc = decompress_zstd(in, &src, in->fd, &in->size, err);
		else
			rc = decompress_gzip(in, &src, in->fd, &in->size, err);
		if (rc)
			goto out;
		if (!in->source_size)
			in->source_size = src.offset;
		in->seekable = 1;
		if (lseek(in->fd, 0, SEEK_SET) < 0) {
			rc = read_error(in, err);
			goto out;
		}
		rc = load_head(in, err);
		goto out;
	}

	if (S_ISREG(st.st_mode)) {
		in->fd = src_fd;
		in->own_fd = own_src;
		own_src = 0;
		src_fd = -1;
		in->seekable = 1;
		in->size = (uint64_t)st.st_size;
		if (lseek(in->fd, 0, SEEK_SET) < 0) {
			rc = read_error(in, err);
			goto out;
		}
		rc = load_head(in, err);
		goto out;
	}

	/* a pipe: the head is consumed, the rest streams through fd */
	memcpy(in->head, pre, (size_t)r);
	in->head_len = (size_t)r;
	in->head_pos = 0;
	in->fd = src_fd;
	in->own_fd = own_src;
	own_src = 0;
	src_fd = -1;
	in->seekable = 0;
out:
	free(pre);
	if (own_src && src_fd >= 0)
		close(src_fd);
	if (rc) {
		wc_input_close(in);
		return rc;
	}
	*out = in;
	return 0;
}

ssize_t wc_input_read(struct wc_input *in, void *buf, size_t n,
		      struct wc_error *err)
{
	size_t got = 0;

	if (in->head_pos < in->head_len) {
		size_t k = in->head_len - in->head_pos;

		if (k > n)
			k = n;
		memcpy(buf, in->head + in->head_pos, k);
		in->head_pos += k;
		got = k;
	}
	if (got < n) {
		ssize_t r = read_full(in->fd, (char *)buf + got, n - got);

		if (r < 0)
			return read_error(in, err);
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int wc_input_spool(struct wc_input *in, struct wc_error *err)
{
	unsigned char *buf;
	int fd, rc = 0;
	uint64_t total = 0;

	if (in->seekable)
		return 0;
	fd = wc_tmpfile("stdin", err);
	if (fd < 0)
		return fd;
	buf = malloc(CHUNK);
	if (!buf) {
		close(fd);
		return wc_err(err, WC_ENOMEM, in->path, "out of memory");
	}
	for (;;) {
		ssize_t r = wc_input_read(in, buf, CHUNK, err);

		if (r >= 0 && interrupted())
			r = read_error(in, err);
		if (r < 0) {
			rc = (int)r;
			break;
		}
		if (r == 0)
			break;
		if (write_full(fd, buf, (size_t)r)) {
			rc = wc_err(err, WC_EIO, in->path,
				    "cannot write temporary copy: %s",
				    strerror(errno));
			break;
		}
		total += (uint64_t)r;
	}
	free(buf);
	if (rc) {
		close(fd);
		return rc;
	}
	if (in->own_fd)
		close(in->fd);
	in->fd = fd;
	in->own_fd = 1;
	in->seekable = 1;
	in->size = total;
	if (!in->source_size)
		in->source_size = total;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return read_error(in, err);
	return load_head(in, err);
}

void wc_input_close(struct wc_input *in)
{
	if (!in)
		return;
	if (in->own_fd && in->fd >= 0)
		close(in->fd);
	free(in);
}
