/*
 * trace_dat-check.c - structural safety check of a trace.dat file before
 * libtracecmd reads it (see trace_dat.h for why).
 *
 * What is walked (sizes and offsets only; content is left to libtracecmd):
 *
 *   initial format   magic "\x17\x08\x44tracing", version string ("6"/"7"),
 *                    endian byte, long size, page size; v7: compression
 *                    name and version strings, offset of the first options
 *                    section.
 *   v6               header_page/header_event, ftrace formats, event
 *                    formats by system, kallsyms, printk formats, saved
 *                    cmdlines, CPU count, options, "flyrecord" CPU
 *                    offset/size table, trace_clock; then each CPU's data.
 *   v7               every section in file order from the end of the
 *                    initial format to EOF (libtracecmd walks them all to
 *                    find the metadata strings): 16-byte header (id,
 *                    flags, string id, size), size within the file; the
 *                    options sections chained by DONE options (cycles
 *                    rejected); the sections the options point to, with
 *                    their contents decompressed (zstd/zlib blocks: 4-byte
 *                    compressed size, 4-byte size, data) and walked like
 *                    v6; each BUFFER option's CPU data, as compressed
 *                    chunks (count, then size/size/data per chunk, each
 *                    decompressed to check it) or plain pages.
 *   ring-buffer pages  (uncompressed data) each page's commit field must
 *                    fit in the page, or libtracecmd silently stops that
 *                    CPU there.
 *
 * Problems in headers/metadata are returned at once.  Problems inside CPU
 * data (truncation, bad page or chunk) are recorded in the layout
 * (data_error*) so that the importer can salvage what comes before.
 *
 * Allocation: at most one decompressed block or chunk at a time, capped
 * at BLOCK_MAX bytes.
 */
#include "trace_dat.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <traceevent/event-parse.h>
#include <zlib.h>
#include <zstd.h>

#define BLOCK_MAX (256u << 20)		/* one decompressed block/chunk */
#define MAX_OPTION_SECTIONS 256
#define MAX_CPUS 65536
#define MAX_SECTIONS 100000

/* Option ids (trace-cmd-private.h, trace-cmd 3.1). */
enum {
	OPT_DONE, OPT_DATE, OPT_CPUSTAT, OPT_BUFFER, OPT_TRACECLOCK,
	OPT_UNAME, OPT_HOOK, OPT_OFFSET, OPT_CPUCOUNT, OPT_VERSION,
	OPT_PROCMAPS, OPT_TRACEID, OPT_TIME_SHIFT, OPT_GUEST, OPT_TSC2NSEC,
	OPT_STRINGS, OPT_HEADER_INFO, OPT_FTRACE_EVENTS, OPT_EVENT_FORMATS,
	OPT_KALLSYMS, OPT_PRINTK, OPT_CMDLINES, OPT_BUFFER_TEXT,
};

#define SEC_FL_COMPRESS 1

/*
 * A cursor over either a region of the file (mem == NULL: pread) or a
 * decompressed block in memory.  pos/end are offsets in that space;
 * base is added for file messages.
 */
struct cur {
	int fd;
	const unsigned char *mem;
	uint64_t pos, end;
	const char *what;		/* section name for messages */
	uint64_t mem_origin;		/* file offset of the block (messages) */
};

struct ctx {
	int fd;
	uint64_t size;
	const char *path;
	struct tdat_layout *l;
	struct wc_error *err;
	int cpus;			/* CPU count (header / CPUCOUNT) */
	uint64_t page_size;		/* of the buffer being checked */
	int use_trace_clock;
	uint64_t opt_sections[MAX_OPTION_SECTIONS];
	int nopt_sections;
	int defer;			/* list CPU data in l->regions */
	int nregions_cap;
};

/* ---- numbers ---------------------------------------------------------- */

static uint64_t rd_num(const struct ctx *x, const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	if (x->l->file_bigendian)
		for (i = 0; i < n; i++)
			v = (v << 8) | p[i];
	else
		for (i = n - 1; i >= 0; i--)
			v = (v << 8) | p[i];
	return v;
}

/* ---- errors ----------------------------------------------------------- */

/* Running out of bytes: truncated file, or a size that overflows its
 * decompressed block. */
static int short_err(struct ctx *x, const struct cur *c, uint64_t need)
{
	if (!c->mem)
		return wc_err(x->err, WC_ETRUNCATED, x->path,
			      "file ends at byte %" PRIu64 " inside %s (%"
			      PRIu64 " bytes needed at byte %" PRIu64 ")",
			      x->size, c->what, need, c->pos);
	return wc_err(x->err, WC_EFORMAT, x->path,
		      "%s (compressed block at byte %" PRIu64 "): %" PRIu64
		      " bytes at offset %" PRIu64 " run past its %" PRIu64
		      " bytes", c->what, c->mem_origin, need, c->pos, c->end);
}

/* ---- cursor ----------------------------------------------------------- */

static int cur_read(struct ctx *x, struct cur *c, void *buf, uint64_t n)
{
	if (n > c->end - c->pos || c->pos > c->end)
		return short_err(x, c, n);
	if (c->mem) {
		memcpy(buf, c->mem + c->pos, (size_t)n);
	} else {
		uint64_t done = 0;
		while (done < n) {
			ssize_t r = pread(c->fd, (char *)buf + done,
					  (size_t)(n - done),
					  (off_t)(c->pos + done));
			if (r < 0)
				return wc_err(x->err, WC_EIO, x->path,
					      "read error at byte %" PRIu64
					      ": %s", c->pos + done,
					      strerror(errno));
			if (r == 0)
				return short_err(x, c, n);
			done += (uint64_t)r;
		}
	}
	c->pos += n;
	return 0;
}

static int cur_skip(struct ctx *x, struct cur *c, uint64_t n)
{
	if (c->pos > c->end || n > c->end - c->pos)
		return short_err(x, c, n);
	c->pos += n;
	return 0;
}

static int cur_num(struct ctx *x, struct cur *c, int n, uint64_t *v)
{
	unsigned char b[8];
	int rc = cur_read(x, c, b, (uint64_t)n);

	if (!rc)
		*v = rd_num(x, b, n);
	return rc;
}

/*
 * NUL-terminated string at the cursor, copied (truncated) into OUT of LEN
 * bytes; the terminator must come within MAXLEN bytes.
 */
static int cur_str(struct ctx *x, struct cur *c, char *out, size_t len,
		   uint64_t maxlen)
{
	uint64_t start = c->pos, n = 0;
	unsigned char ch;
	int rc;

	for (;;) {
		if ((rc = cur_read(x, c, &ch, 1)))
			return rc;
		if (!ch)
			break;
		if (out && n + 1 < len)
			out[n] = (char)ch;
		if (++n > maxlen)
			return wc_err(x->err, WC_EFORMAT, x->path,
				      "%s: string at %s%" PRIu64 " is not "
				      "terminated within %" PRIu64 " bytes",
				      c->what, c->mem ? "offset " : "byte ",
				      start, maxlen);
	}
	if (out && len)
		out[n < len ? n : len - 1] = '\0';
	return 0;
}

/* A size read from the file must fit in what remains of its region. */
static int cur_sized_skip(struct ctx *x, struct cur *c, uint64_t size)
{
	return cur_skip(x, c, size);
}

/* ---- decompression ----------------------------------------------------- */

/*
 * Reads a compressed block (4-byte compressed size, 4-byte size, data)
 * at the cursor C (file) and returns it decompressed in *out / *outlen
 * (caller frees).
 */
static int read_block(struct ctx *x, struct cur *c, unsigned char **out,
		      uint64_t *outlen)
{
	uint64_t zsize, usize, origin = c->pos;
	unsigned char *zbuf = NULL, *ubuf = NULL;
	int rc;

	*out = NULL;
	if ((rc = cur_num(x, c, 4, &zsize)) || (rc = cur_num(x, c, 4, &usize)))
		return rc;
	if (usize > BLOCK_MAX || zsize > BLOCK_MAX)
		return wc_err(x->err, WC_ELIMIT, x->path,
			      "%s: compressed block at byte %" PRIu64 " claims "
			      "%" PRIu64 " -> %" PRIu64 " bytes (limit %u MiB)",
			      c->what, origin, zsize, usize, BLOCK_MAX >> 20);
	if (c->pos > c->end || zsize > c->end - c->pos)
		return short_err(x, c, zsize);
	zbuf = malloc(zsize ? (size_t)zsize : 1);
	ubuf = malloc(usize ? (size_t)usize : 1);
	if (!zbuf || !ubuf) {
		rc = wc_err(x->err, WC_ENOMEM, x->path, "out of memory");
		goto fail;
	}
	if ((rc = cur_read(x, c, zbuf, zsize)))
		goto fail;
	if (strcmp(x->l->compression, "zstd") == 0) {
		size_t r = ZSTD_decompress(ubuf, (size_t)usize, zbuf,
					   (size_t)zsize);
		if (ZSTD_isError(r) || r != usize) {
			rc = wc_err(x->err, WC_EFORMAT, x->path,
				    "%s: zstd block at byte %" PRIu64 " does "
				    "not decompress to %" PRIu64 " bytes (%s)",
				    c->what, origin, usize,
				    ZSTD_isError(r) ? ZSTD_getErrorName(r) :
				    "wrong size");
			goto fail;
		}
	} else if (strcmp(x->l->compression, "zlib") == 0) {
		uLongf dlen = (uLongf)usize;
		int zr = uncompress(ubuf, &dlen, zbuf, (uLong)zsize);
		if (zr != Z_OK || dlen != usize) {
			rc = wc_err(x->err, WC_EFORMAT, x->path,
				    "%s: zlib block at byte %" PRIu64 " does "
				    "not decompress to %" PRIu64 " bytes (%s)",
				    c->what, origin, usize,
				    zr != Z_OK ? zError(zr) : "wrong size");
			goto fail;
		}
	} else {
		rc = wc_err(x->err, WC_EUNSUPPORTED, x->path,
			    "%s: compressed with unsupported algorithm \"%s\"",
			    c->what, x->l->compression);
		goto fail;
	}
	free(zbuf);
	*out = ubuf;
	*outlen = usize;
	return 0;
fail:
	free(zbuf);
	free(ubuf);
	return rc;
}

/* ---- metadata pieces (same layout in v6 and in v7 sections) ------------ */

/*
 * The header_page text describes the ring-buffer page header.  A corrupt
 * one makes libtracecmd fail inside init_cpu() for one CPU and then crash
 * in its own cleanup (tracecmd_close() walks the page-map lists of the
 * CPUs not initialized yet, which are zeroed): so parse it here with a
 * scratch tep_handle and insist on what libtracecmd insists on (an 8-byte
 * timestamp, a 4- or 8-byte commit field).
 */
static int check_header_page(struct ctx *x, const char *what,
			     const char *text, uint64_t size)
{
	struct tep_handle *tep;
	char *copy;
	int ts, ps, ok;

	tep = tep_alloc();
	copy = malloc((size_t)size + 1);
	if (!tep || !copy) {
		tep_free(tep);
		free(copy);
		return wc_err(x->err, WC_ENOMEM, x->path, "out of memory");
	}
	memcpy(copy, text, (size_t)size);
	copy[size] = '\0';
	tep_set_file_bigendian(tep, x->l->file_bigendian ? TEP_BIG_ENDIAN :
			       TEP_LITTLE_ENDIAN);
	ok = tep_parse_header_page(tep, copy, (unsigned long)size,
				   x->l->long_size) == 0;
	ts = tep_get_header_timestamp_size(tep);
	ps = tep_get_header_page_size(tep);
	tep_free(tep);
	free(copy);
	if (!ok || ts != 8 || (ps != 4 && ps != 8))
		return wc_err(x->err, WC_EFORMAT, x->path, "%s: header_page "
			      "format is corrupt (timestamp size %d, commit "
			      "size %d)", what, ts, ps);
	x->l->long_size = ps;	/* libtracecmd uses this one from here on */
	return 0;
}

static int walk_header_info(struct ctx *x, struct cur *c)
{
	char name[16];
	uint64_t size;
	char *text;
	int rc;

	if ((rc = cur_read(x, c, name, 12)))
		return rc;
	if (memcmp(name, "header_page", 12) != 0)
		return wc_err(x->err, WC_EFORMAT, x->path, "%s: no "
			      "\"header_page\" at %" PRIu64, c->what,
			      c->pos - 12);
	if ((rc = cur_num(x, c, 8, &size)))
		return rc;
	if (c->pos > c->end || size > c->end - c->pos)
		return short_err(x, c, size);
	if (size > 65536)
		return wc_err(x->err, WC_EFORMAT, x->path, "%s: header_page of "
			      "%" PRIu64 " bytes", c->what, size);
	text = malloc(size ? (size_t)size : 1);
	if (!text)
		return wc_err(x->err, WC_ENOMEM, x->path, "out of memory");
	rc = cur_read(x, c, text, size);
	if (!rc)
		rc = check_header_page(x, c->what, text, size);
	free(text);
	if (rc)
		return rc;
	if ((rc = cur_read(x, c, name, 13)))
		return rc;
	if (memcmp(name, "header_event", 13) != 0)
		return wc_err(x->err, WC_EFORMAT, x->path, "%s: no "
			      "\"header_event\" at %" PRIu64, c->what,
			      c->pos - 13);
	if ((rc = cur_num(x, c, 8, &size)))
		return rc;
	return cur_sized_skip(x, c, size);
}

static int walk_ftrace_events(struct ctx *x, struct cur *c)
{
	uint64_t count, size, i;
	int rc;

	if ((rc = cur_num(x, c, 4, &count)))
		return rc;
	for (i = 0; i < count; i++)
		if ((rc = cur_num(x, c, 8, &size)) ||
		    (rc = cur_sized_skip(x, c, size)))
			return rc;
	return 0;
}

static int walk_event_formats(struct ctx *x, struct cur *c)
{
	uint64_t systems, count, size, i, j;
	int rc;

	if ((rc = cur_num(x, c, 4, &systems)))
		return rc;
	for (i = 0; i < systems; i++) {
		if ((rc = cur_str(x, c, NULL, 0, 4096)) ||
		    (rc = cur_num(x, c, 4, &count)))
			return rc;
		for (j = 0; j < count; j++)
			if ((rc = cur_num(x, c, 8, &size)) ||
			    (rc = cur_sized_skip(x, c, size)))
				return rc;
	}
	return 0;
}

/* kallsyms and printk: 4-byte size + text; cmdlines: 8-byte size. */
static int walk_sized(struct ctx *x, struct cur *c, int nbytes)
{
	uint64_t size;
	int rc;

	if ((rc = cur_num(x, c, nbytes, &size)))
		return rc;
	return cur_sized_skip(x, c, size);
}

/* ---- CPU data ----------------------------------------------------------- */

/* Records the first problem inside CPU data (kept for salvage). */
static void data_problem(struct ctx *x, int code, uint64_t at,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void data_problem(struct ctx *x, int code, uint64_t at,
			 const char *fmt, ...)
{
	va_list ap;

	if (x->l->data_error)
		return;
	x->l->data_error = code;
	x->l->data_error_at = at;
	x->l->data_error_region = x->l->nregions;
	va_start(ap, fmt);
	vsnprintf(x->l->data_error_msg, sizeof(x->l->data_error_msg), fmt, ap);
	va_end(ap);
}

/* 1 if the page header at H (8-byte timestamp, commit word) claims more
 * event bytes than a page holds. */
static int bad_page_header(const struct ctx *x, const unsigned char *h)
{
	uint64_t ps = x->page_size;
	uint64_t hdr = 8 + (uint64_t)x->l->long_size;
	uint64_t commit = rd_num(x, h + 8, x->l->long_size) &
			  ((1u << 27) - 1);

	return commit > ps - hdr;
}

/* Uncompressed ring-buffer pages: each page header's commit must fit. */
static int check_pages(struct ctx *x, const char *bname, int cpu,
		       uint64_t off, uint64_t size)
{
	uint64_t ps = x->page_size, p, end = off + size;
	int hdr = 8 + x->l->long_size;
	unsigned char h[16];

	for (p = off; p + (uint64_t)hdr <= end && p + (uint64_t)hdr <= x->size;
	     p += ps) {
		if (pread(x->fd, h, (size_t)hdr, (off_t)p) != hdr)
			return wc_err(x->err, WC_EIO, x->path, "read error at "
				      "byte %" PRIu64 ": %s", p, strerror(errno));
		if (bad_page_header(x, h)) {
			data_problem(x, WC_EFORMAT, p, "ring-buffer page at byte "
				     "%" PRIu64 " (CPU %d of buffer \"%s\") "
				     "claims more event bytes than a %" PRIu64
				     "-byte page holds", p, cpu, bname, ps);
			return 0;
		}
	}
	return 0;
}

/* Compressed CPU data: chunk count, then (zsize, size, data) per chunk. */
static int check_chunks(struct ctx *x, const char *bname, int cpu,
			uint64_t off, uint64_t size)
{
	/* size counts the chunks, not the 4-byte count before them */
	struct cur c = { x->fd, NULL, off, off + 4 + size, "compressed CPU data",
			 0 };
	uint64_t count, i, upos = 0;
	unsigned char *u;
	uint64_t ulen = 0;
	int rc;

	if (size == 0)
		return 0;
	rc = cur_num(x, &c, 4, &count);
	if (!rc && count > size / 8)
		rc = wc_err(x->err, WC_EFORMAT, x->path, "CPU %d of buffer "
			    "\"%s\" at byte %" PRIu64 ": %" PRIu64 " chunks "
			    "cannot fit in %" PRIu64 " bytes", cpu, bname, off,
			    count, size);
	for (i = 0; !rc && i < count; i++) {
		uint64_t at = c.pos, k;

		rc = read_block(x, &c, &u, &ulen);
		if (rc) {
			/* keep it for salvage: libtracecmd reads up to here */
			data_problem(x, -rc, at, "CPU %d of buffer \"%s\": "
				     "chunk %" PRIu64 " at byte %" PRIu64 ": %s",
				     cpu, bname, i, at, x->err->msg);
			wc_error_clear(x->err);
			return 0;
		}
		/* the pages in it, at multiples of the page size of the
		 * CPU's uncompressed data */
		for (k = (x->page_size - upos % x->page_size) %
			 x->page_size;
		     k + 8 + (uint64_t)x->l->long_size <= ulen;
		     k += x->page_size) {
			if (bad_page_header(x, u + k)) {
				data_problem(x, WC_EFORMAT, at, "CPU %d of buffer "
					     "\"%s\": chunk %" PRIu64 " at byte "
					     "%" PRIu64 " holds a ring-buffer page "
					     "claiming more event bytes than a "
					     "page holds", cpu, bname, i, at);
				free(u);
				return 0;
			}
		}
		upos += ulen;
		free(u);
	}
	if (rc) {
		data_problem(x, -rc, off, "%s", x->err->msg);
		wc_error_clear(x->err);
	}
	return 0;
}

/* Lists CPU data [OFF, OFF + SIZE) of buffer B for tdat_check_regions(). */
static int add_region(struct ctx *x, const struct tdat_buffer_layout *b,
		      int cpu, uint64_t off, uint64_t size)
{
	struct tdat_layout *l = x->l;

	if (l->nregions == x->nregions_cap) {
		int ncap = x->nregions_cap ? x->nregions_cap * 2 : 64;
		struct tdat_region *n;

		if (ncap > (1 << 24))
			return wc_err(x->err, WC_ELIMIT, x->path, "more than "
				      "%d CPU data sections", 1 << 24);
		n = realloc(l->regions, (size_t)ncap * sizeof(*n));
		if (!n)
			return wc_err(x->err, WC_ENOMEM, x->path, "out of memory");
		l->regions = n;
		x->nregions_cap = ncap;
	}
	l->regions[l->nregions].buf = (int)(b - l->buf);
	l->regions[l->nregions].cpu = cpu;
	l->regions[l->nregions].off = off;
	l->regions[l->nregions].size = size;
	l->regions[l->nregions].page_size = x->page_size;
	l->nregions++;
	return 0;
}

/* One CPU's data region [off, off + size) of buffer B. */
static int check_cpu_data(struct ctx *x, struct tdat_buffer_layout *b,
			  int cpu, uint64_t off, uint64_t size)
{
	/* compressed data: a 4-byte chunk count precedes SIZE bytes */
	uint64_t end = off + size +
		       (size && strcmp(x->l->compression, "none") ? 4 : 0);

	if (end < off)
		return wc_err(x->err, WC_EFORMAT, x->path, "CPU %d of buffer "
			      "\"%s\": offset %" PRIu64 " + size %" PRIu64
			      " overflows", cpu, b->name, off, size);
	b->cpus++;
	b->data_bytes += size;
	if (end > b->data_end)
		b->data_end = end;
	if (size && strcmp(x->l->compression, "none") == 0 &&
	    (off % x->page_size) != 0)
		return wc_err(x->err, WC_EFORMAT, x->path, "CPU %d of buffer "
			      "\"%s\": data offset %" PRIu64 " is not page "
			      "aligned", cpu, b->name, off);
	if (size && end > x->size) {
		if (!x->l->truncated_at || x->size < x->l->truncated_at) {
			x->l->truncated_at = x->size;
			snprintf(x->l->truncated_where,
				 sizeof(x->l->truncated_where),
				 "CPU %d data of buffer \"%s\" (bytes %" PRIu64
				 "..%" PRIu64 ")", cpu, b->name, off, end);
		}
		data_problem(x, WC_ETRUNCATED, x->size, "file ends at byte %"
			     PRIu64 " inside CPU %d data of buffer \"%s\" "
			     "(bytes %" PRIu64 "..%" PRIu64 ")", x->size, cpu,
			     b->name, off, end);
		if (strcmp(x->l->compression, "none") != 0)
			return 0;
		return check_pages(x, b->name, cpu, off, x->size - off > size ?
				   size : x->size - off);
	}
	if (!size)
		return 0;
	if (x->defer)
		return add_region(x, b, cpu, off, size);
	if (strcmp(x->l->compression, "none") == 0)
		return check_pages(x, b->name, cpu, off, size);
	return check_chunks(x, b->name, cpu, off, size);
}

int tdat_check_regions(int fd, uint64_t size, const char *path,
		       struct tdat_layout *l, int part, int nparts,
		       struct wc_error *err)
{
	struct tdat_layout mine = *l;	/* problems found here */
	struct ctx x = { .fd = fd, .size = size, .path = path, .l = &mine,
			 .err = err };
	int rc = 0;

	assert(nparts >= 1 && part >= 0 && part < nparts);
	mine.data_error = 0;
	/* regions after a problem L already holds cannot come first */
	for (int i = part; i < l->nregions && !rc && !mine.data_error &&
	     (!l->data_error || i < l->data_error_region); i += nparts) {
		const struct tdat_region *r = &l->regions[i];
		const char *bname = l->buf[r->buf].name;

		mine.nregions = i;	/* data_problem() records it */
		x.page_size = r->page_size;
		rc = strcmp(l->compression, "none") == 0 ?
		     check_pages(&x, bname, r->cpu, r->off, r->size) :
		     check_chunks(&x, bname, r->cpu, r->off, r->size);
	}
	if (mine.data_error && (!l->data_error ||
				mine.data_error_region < l->data_error_region)) {
		l->data_error = mine.data_error;
		l->data_error_at = mine.data_error_at;
		l->data_error_region = mine.data_error_region;
		memcpy(l->data_error_msg, mine.data_error_msg,
		       sizeof(l->data_error_msg));
	}
	return rc;
}

void tdat_layout_free(struct tdat_layout *l)
{
	free(l->regions);
	l->regions = NULL;
	l->nregions = 0;
}

static struct tdat_buffer_layout *new_buffer(struct ctx *x, const char *name)
{
	struct tdat_buffer_layout *b;

	if (x->l->nbuffers >= TDAT_MAX_BUFFERS) {
		wc_err(x->err, WC_ELIMIT, x->path, "more than %d buffers",
		       TDAT_MAX_BUFFERS);
		return NULL;
	}
	b = &x->l->buf[x->l->nbuffers++];
	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", name);
	return b;
}

/* v6 "flyrecord" table: x->cpus (offset, size) pairs at cursor C. */
static int walk_flyrecord_v6(struct ctx *x, struct cur *c,
			     struct tdat_buffer_layout *b)
{
	int cpu, rc;

	for (cpu = 0; cpu < x->cpus; cpu++) {
		uint64_t off, size;
		if ((rc = cur_num(x, c, 8, &off)) ||
		    (rc = cur_num(x, c, 8, &size)))
			return rc;
		if ((rc = check_cpu_data(x, b, cpu, off, size)))
			return rc;
	}
	return 0;
}

/* ---- options ------------------------------------------------------------ */

static int opt_err(struct ctx *x, const struct cur *c, uint64_t at,
		   const char *name, const char *why)
{
	(void)c;
	return wc_err(x->err, WC_EFORMAT, x->path, "option %s at %s%" PRIu64
		      ": %s", name, c->mem ? "offset " : "byte ", at, why);
}

/* 1 if DATA[0..SIZE) holds a NUL. */
static int has_nul(const unsigned char *data, uint64_t size)
{
	return size > 0 && memchr(data, 0, (size_t)size) != NULL;
}

static int walk_section_at(struct ctx *x, uint64_t off, int want_id,
			   const char *what);

/* The v7 BUFFER option (or v6: offset + name only). */
static int opt_buffer(struct ctx *x, const unsigned char *d, uint64_t size,
		      int latency)
{
	struct cur c = { -1, d, 0, size, "BUFFER option", 0 };
	char name[TDAT_NAME_MAX];
	struct tdat_buffer_layout *b;
	uint64_t off, v, cpus, i;
	int rc;

	if ((rc = cur_num(x, &c, 8, &off)) ||
	    (rc = cur_str(x, &c, name, sizeof(name), size)))
		return rc;
	if (x->l->version < 7) {
		/* v6 instance: "options  \0"? then "flyrecord\0" + table */
		struct cur f = { x->fd, NULL, off, x->size, "buffer instance", 0 };
		char tag[10];

		if (!(b = new_buffer(x, name)))
			return -WC_ELIMIT;
		if ((rc = cur_read(x, &f, tag, 10)))
			return rc;
		if (memcmp(tag, "options", 7) == 0) {
			return wc_err(x->err, WC_EUNSUPPORTED, x->path,
				      "buffer instance \"%s\" at byte %" PRIu64
				      " has its own options (not supported)",
				      name, off);
		}
		if (memcmp(tag, "flyrecord", 9) != 0)
			return wc_err(x->err, WC_EFORMAT, x->path, "buffer "
				      "instance \"%s\": no \"flyrecord\" at "
				      "byte %" PRIu64, name, off);
		return walk_flyrecord_v6(x, &f, b);
	}
	if (!name[0]) {
		b = &x->l->buf[0];	/* the top buffer */
		b->cpus = 0;
		b->data_bytes = 0;
	} else if (!(b = new_buffer(x, name))) {
		return -WC_ELIMIT;
	}
	if ((rc = cur_str(x, &c, b->clock, sizeof(b->clock), size)))
		return rc;
	if (latency)
		return 0;
	if ((rc = cur_num(x, &c, 4, &v)) || (rc = cur_num(x, &c, 4, &cpus)))
		return rc;
	/* newer kernels allow per-instance sub-buffer sizes */
	if (v < 512 || v > (1u << 24) || (v & (v - 1)))
		return wc_err(x->err, WC_EFORMAT, x->path, "BUFFER option of "
			      "\"%s\": page size %" PRIu64 " is not a power of "
			      "two between 512 and 16 MiB", name, v);
	if (cpus > MAX_CPUS || cpus * 20 > c.end - c.pos)
		return wc_err(x->err, WC_EFORMAT, x->path, "BUFFER option of "
			      "\"%s\": %" PRIu64 " CPUs do not fit in %" PRIu64
			      " bytes", name, cpus, size);
	/* the buffer's own data section must be sane as well */
	if ((rc = walk_section_at(x, off, -1, "flyrecord section")))
		return rc;
	x->page_size = v;
	for (i = 0; i < cpus; i++) {
		uint64_t cpu, coff, csize;
		if ((rc = cur_num(x, &c, 4, &cpu)) ||
		    (rc = cur_num(x, &c, 8, &coff)) ||
		    (rc = cur_num(x, &c, 8, &csize)))
			break;
		if ((rc = check_cpu_data(x, b, (int)cpu, coff, csize)))
			break;
	}
	x->page_size = x->l->page_size;
	return rc;
}

/* One option's data, checked the way libtracecmd will use it. */
static int check_option(struct ctx *x, const struct cur *c, uint64_t at,
			unsigned id, const unsigned char *d, uint64_t size)
{
	static const char *const names[] = {
		"DONE", "DATE", "CPUSTAT", "BUFFER", "TRACECLOCK", "UNAME",
		"HOOK", "OFFSET", "CPUCOUNT", "VERSION", "PROCMAPS", "TRACEID",
		"TIME_SHIFT", "GUEST", "TSC2NSEC", "STRINGS", "HEADER_INFO",
		"FTRACE_EVENTS", "EVENT_FORMATS", "KALLSYMS", "PRINTK",
		"CMDLINES", "BUFFER_TEXT",
	};
	const char *name = id < sizeof(names) / sizeof(names[0]) ?
			   names[id] : "?";
	uint64_t v, n, i, pos;

	switch (id) {
	case OPT_DATE:
	case OPT_OFFSET:
	case OPT_UNAME:
	case OPT_VERSION:
	case OPT_PROCMAPS:
		/* strtoll()/strdup()/sscanf() on the raw bytes */
		if (!has_nul(d, size))
			return opt_err(x, c, at, name, "text is not "
				       "NUL-terminated");
		return 0;
	case OPT_CPUSTAT:
		if (size < 1)
			return opt_err(x, c, at, name, "empty");
		return 0;
	case OPT_HOOK:
		return wc_err(x->err, WC_EUNSUPPORTED, x->path, "option HOOK "
			      "(trace-cmd record -H) at %" PRIu64 " is not "
			      "supported", at);
	case OPT_TRACECLOCK:
		x->use_trace_clock = 1;
		return 0;
	case OPT_CPUCOUNT:
		if (size < 4)
			return opt_err(x, c, at, name, "shorter than 4 bytes");
		v = rd_num(x, d, 4);
		if (v > MAX_CPUS)
			return opt_err(x, c, at, name, "absurd CPU count");
		x->cpus = (int)v;
		return 0;
	case OPT_TIME_SHIFT:
		/* id(8) flags(4) cpus(4) then per CPU: count(4) + 3 * count
		 * longs, then optionally count longs per CPU */
		if (size < 16)
			return 0;	/* ignored by libtracecmd */
		n = rd_num(x, d + 12, 4);
		pos = 16;
		if (n > MAX_CPUS)
			return opt_err(x, c, at, name, "absurd CPU count");
		for (i = 0; i < n; i++) {
			if (size - pos < 4)
				return opt_err(x, c, at, name, "truncated");
			v = rd_num(x, d + pos, 4);
			pos += 4;
			if (v > (size - pos) / 24)
				return opt_err(x, c, at, name, "sample count "
					       "larger than the option");
			pos += v * 24;
		}
		return 0;
	case OPT_GUEST: {
		const unsigned char *nul = memchr(d, 0, (size_t)size);
		if (!nul)
			return opt_err(x, c, at, name, "name not terminated");
		pos = (uint64_t)(nul - d) + 1;
		if (size - pos < 12)
			return opt_err(x, c, at, name, "truncated");
		n = rd_num(x, d + pos + 8, 4);
		pos += 12;
		if (n > (size - pos) / 8)
			return opt_err(x, c, at, name, "vCPU count larger than "
				       "the option");
		for (i = 0; i < n; i++) {
			v = rd_num(x, d + pos + 8 * i, 4);
			if (v >= n)
				return opt_err(x, c, at, name, "vCPU id out of "
					       "range");
		}
		return 0;
	}
	case OPT_BUFFER:
	case OPT_BUFFER_TEXT:
		return opt_buffer(x, d, size, id == OPT_BUFFER_TEXT);
	case OPT_HEADER_INFO:
	case OPT_FTRACE_EVENTS:
	case OPT_EVENT_FORMATS:
	case OPT_KALLSYMS:
	case OPT_PRINTK:
	case OPT_CMDLINES:
		if (size < 8)
			return 0;	/* ignored by libtracecmd */
		return walk_section_at(x, rd_num(x, d, 8), (int)id, name);
	default:
		return 0;
	}
}

/*
 * An options list at cursor C: v6 (id 0 ends it, no size) or v7 (DONE has
 * an 8-byte offset of the next options section, 0 = last).  *next gets
 * that offset.
 */
static int walk_options(struct ctx *x, struct cur *c, uint64_t *next)
{
	unsigned char *d = NULL;
	int rc = 0;

	*next = 0;
	for (;;) {
		uint64_t id, size, at = c->pos;

		if ((rc = cur_num(x, c, 2, &id)))
			break;
		if (x->l->version < 7 && id == OPT_DONE)
			break;
		if ((rc = cur_num(x, c, 4, &size)))
			break;
		if (c->pos > c->end || size > c->end - c->pos) {
			rc = short_err(x, c, size);
			break;
		}
		d = malloc(size ? (size_t)size : 1);
		if (!d) {
			rc = wc_err(x->err, WC_ENOMEM, x->path, "out of memory");
			break;
		}
		if ((rc = cur_read(x, c, d, size)))
			break;
		if (id == OPT_DONE) {
			if (size >= 8)
				*next = rd_num(x, d, 8);
			break;
		}
		if ((rc = check_option(x, c, at, (unsigned)id, d, size)))
			break;
		free(d);
		d = NULL;
	}
	free(d);
	return rc;
}

/* ---- v7 sections ----------------------------------------------------------- */

static const char *section_name(int id)
{
	switch (id) {
	case OPT_DONE: return "options section";
	case OPT_HEADER_INFO: return "header info section";
	case OPT_FTRACE_EVENTS: return "ftrace formats section";
	case OPT_EVENT_FORMATS: return "event formats section";
	case OPT_KALLSYMS: return "kallsyms section";
	case OPT_PRINTK: return "printk formats section";
	case OPT_CMDLINES: return "saved cmdlines section";
	case OPT_STRINGS: return "strings section";
	case OPT_BUFFER: return "flyrecord section";
	default: return "section";
	}
}

/*
 * The printk formats text, as libtraceevent's tep_parse_printk_formats()
 * will cut it (strtok on "\n", then on ":" , then fmt + 1, then
 * tep_register_print_string() looks 2 bytes before the end): every line
 * must hold a ':' followed by at least one byte, and what follows that
 * byte (minus a leading quote) must be at least 3 bytes long.  Text after
 * an embedded NUL is never seen by the parser.
 */
static int check_printk_text(struct ctx *x, const char *what,
			     const unsigned char *t, uint64_t len)
{
	uint64_t i = 0, lineno = 0;

	while (i < len && t[i]) {
		uint64_t s = i, e, k;

		while (i < len && t[i] && t[i] != '\n')
			i++;
		e = i;
		if (i < len && t[i] == '\n')
			i++;
		if (e == s)
			continue;
		lineno++;
		k = s;
		while (k < e && t[k] == ':')
			k++;
		if (k == e)
			continue;	/* strtok finds nothing: parser stops */
		while (k < e && t[k] != ':')
			k++;
		if (k == e || e - (k + 1) < 1)
			goto bad;
		k += 2;			/* past ':' and the skipped byte */
		if (k < e && t[k] == '"')
			k++;
		if (e - k < 3)
			goto bad;
		continue;
bad:
		return wc_err(x->err, WC_EFORMAT, x->path, "%s: line %" PRIu64
			      " is not \"ADDRESS : \\\"FORMAT\\\"\"", what,
			      lineno);
	}
	return 0;
}

/* printk formats: 4-byte size + text, checked for the parser. */
static int walk_printk(struct ctx *x, struct cur *c)
{
	uint64_t size;
	unsigned char *t;
	int rc;

	if ((rc = cur_num(x, c, 4, &size)))
		return rc;
	if (c->pos > c->end || size > c->end - c->pos)
		return short_err(x, c, size);
	if (size > BLOCK_MAX)
		return wc_err(x->err, WC_ELIMIT, x->path, "%s of %" PRIu64
			      " bytes", c->what, size);
	t = malloc(size ? (size_t)size : 1);
	if (!t)
		return wc_err(x->err, WC_ENOMEM, x->path, "out of memory");
	rc = cur_read(x, c, t, size);
	if (!rc)
		rc = check_printk_text(x, c->what, t, size);
	free(t);
	return rc;
}

/* Content walker of a metadata section (or v6 piece). */
static int walk_content(struct ctx *x, struct cur *c, int id, uint64_t *next)
{
	switch (id) {
	case OPT_HEADER_INFO: return walk_header_info(x, c);
	case OPT_FTRACE_EVENTS: return walk_ftrace_events(x, c);
	case OPT_EVENT_FORMATS: return walk_event_formats(x, c);
	case OPT_KALLSYMS: return walk_sized(x, c, 4);
	case OPT_PRINTK: return walk_printk(x, c);
	case OPT_CMDLINES: return walk_sized(x, c, 8);
	case OPT_DONE: return walk_options(x, c, next);
	default: return 0;
	}
}

/*
 * The section at OFF: header, then (WANT_ID >= 0) its content checked
 * with the walker of that id, decompressed first if flagged.  WANT_ID -1
 * checks the header only.
 */
static int walk_section_at(struct ctx *x, uint64_t off, int want_id,
			   const char *what)
{
	struct cur c = { x->fd, NULL, off, x->size, what, 0 };
	unsigned char hdr[16];
	uint64_t id, flags, size, next = 0;
	int rc;

	if ((rc = cur_read(x, &c, hdr, 16)))
		return rc;
	id = rd_num(x, hdr, 2);
	flags = rd_num(x, hdr + 2, 2);
	size = rd_num(x, hdr + 8, 8);
	if (want_id >= 0 && id != (uint64_t)want_id)
		return wc_err(x->err, WC_EFORMAT, x->path, "%s expected at "
			      "byte %" PRIu64 ", found section id %" PRIu64,
			      what, off, id);
	if (size > x->size - c.pos)
		return wc_err(x->err, WC_ETRUNCATED, x->path, "file ends at "
			      "byte %" PRIu64 " inside the %s at byte %" PRIu64
			      " (%" PRIu64 " bytes)", x->size, what, off, size);
	if (want_id < 0)
		return 0;
	c.end = c.pos + size;
	if (flags & SEC_FL_COMPRESS) {
		unsigned char *u;
		uint64_t ulen;
		struct cur m;

		if (strcmp(x->l->compression, "none") == 0)
			return wc_err(x->err, WC_EFORMAT, x->path, "%s at byte %"
				      PRIu64 " is flagged compressed in an "
				      "uncompressed file", what, off);
		if ((rc = read_block(x, &c, &u, &ulen)))
			return rc;
		m = (struct cur){ -1, u, 0, ulen, what, off };
		rc = walk_content(x, &m, want_id, &next);
		free(u);
	} else {
		rc = walk_content(x, &c, want_id, &next);
	}
	if (rc || want_id != OPT_DONE || !next)
		return rc;
	/* chained options sections: refuse loops and absurd chains */
	{
		int i;
		for (i = 0; i < x->nopt_sections; i++)
			if (x->opt_sections[i] == next)
				return wc_err(x->err, WC_EFORMAT, x->path,
					      "options sections loop back to "
					      "byte %" PRIu64, next);
		if (x->nopt_sections >= MAX_OPTION_SECTIONS)
			return wc_err(x->err, WC_ELIMIT, x->path, "more than "
				      "%d options sections",
				      MAX_OPTION_SECTIONS);
		x->opt_sections[x->nopt_sections++] = next;
	}
	return walk_section_at(x, next, OPT_DONE, "options section");
}

/* libtracecmd reads every section header from the first to EOF. */
static int walk_all_sections(struct ctx *x, uint64_t first)
{
	uint64_t off = first, n = 0;

	while (off < x->size) {
		struct cur c = { x->fd, NULL, off, x->size, "section header", 0 };
		unsigned char hdr[16];
		uint64_t id, size;
		int rc;

		if (x->size - off < 16)
			return wc_err(x->err, WC_ETRUNCATED, x->path, "file ends "
				      "at byte %" PRIu64 " inside a section "
				      "header at byte %" PRIu64, x->size, off);
		if ((rc = cur_read(x, &c, hdr, 16)))
			return rc;
		id = rd_num(x, hdr, 2);
		size = rd_num(x, hdr + 8, 8);
		if (size > x->size - c.pos) {
			/* CPU data cut short is checked (and salvaged)
			 * per CPU; anything else is fatal */
			if (id != OPT_BUFFER)
				return wc_err(x->err, WC_ETRUNCATED, x->path,
					      "file ends at byte %" PRIu64
					      " inside the %s at byte %" PRIu64
					      " (%" PRIu64 " bytes)", x->size,
					      section_name((int)id), off, size);
			return 0;
		}
		off = c.pos + size;
		if (++n > MAX_SECTIONS)
			return wc_err(x->err, WC_ELIMIT, x->path, "more than %d "
				      "sections", MAX_SECTIONS);
	}
	return 0;
}

/* ---- entry ---------------------------------------------------------------- */

int tdat_check(int fd, uint64_t size, const char *path, struct tdat_layout *l,
	       int defer, struct wc_error *err)
{
	struct ctx x = { .fd = fd, .size = size, .path = path, .l = l,
			 .err = err, .defer = defer };
	struct cur c = { fd, NULL, 0, size, "initial format", 0 };
	unsigned char magic[10], b[2];
	char ver[16];
	uint64_t v;
	int rc;

	memset(l, 0, sizeof(*l));
	snprintf(l->compression, sizeof(l->compression), "none");
	l->nbuffers = 1;		/* the top buffer, always */
	if ((rc = cur_read(&x, &c, magic, 10)))
		return rc;
	if (memcmp(magic, "\x17\x08\x44tracing", 10) != 0)
		return wc_err(err, WC_EFORMAT, path, "not a trace.dat file "
			      "(bad magic at byte 0)");
	if ((rc = cur_str(&x, &c, ver, sizeof(ver), 15)))
		return rc;
	if (strcmp(ver, "6") != 0 && strcmp(ver, "7") != 0)
		return wc_err(err, WC_EUNSUPPORTED, path, "trace.dat version "
			      "\"%s\" (only 6 and 7 are supported)", ver);
	l->version = (unsigned)(ver[0] - '0');
	if ((rc = cur_read(&x, &c, b, 2)))
		return rc;
	l->file_bigendian = b[0] != 0;
	l->long_size = b[1];
	if (l->long_size != 4 && l->long_size != 8)
		return wc_err(err, WC_EFORMAT, path, "long size %d at byte %"
			      PRIu64 " (must be 4 or 8)", b[1], c.pos - 1);
	if ((rc = cur_num(&x, &c, 4, &v)))
		return rc;
	if (v < 512 || v > (1u << 24) || (v & (v - 1)))
		return wc_err(err, WC_EFORMAT, path, "page size %" PRIu64
			      " at byte %" PRIu64 " is not a power of two "
			      "between 512 and 16 MiB", v, c.pos - 4);
	l->page_size = (uint32_t)v;
	x.page_size = v;

	if (l->version >= 7) {
		char cname[32], cver[32];
		uint64_t opts;

		if ((rc = cur_str(&x, &c, cname, sizeof(cname), 64)) ||
		    (rc = cur_str(&x, &c, cver, sizeof(cver), 64)))
			return rc;
		if (strcmp(cname, "none") != 0 && strcmp(cname, "zstd") != 0 &&
		    strcmp(cname, "zlib") != 0)
			return wc_err(err, WC_EUNSUPPORTED, path, "compression "
				      "\"%s\" is not supported", cname);
		snprintf(l->compression, sizeof(l->compression), "%s", cname);
		if ((rc = cur_num(&x, &c, 8, &opts)))
			return rc;
		if ((rc = walk_all_sections(&x, c.pos)))
			return rc;
		x.nopt_sections = 1;
		x.opt_sections[0] = opts;
		return walk_section_at(&x, opts, OPT_DONE, "options section");
	}

	/* version 6: one sequential chain */
	{
		static const int pieces[] = { OPT_HEADER_INFO, OPT_FTRACE_EVENTS,
					      OPT_EVENT_FORMATS, OPT_KALLSYMS,
					      OPT_PRINTK, OPT_CMDLINES };
		char tag[10];
		uint64_t next;
		size_t i;

		for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
			c.what = section_name(pieces[i]);
			if ((rc = walk_content(&x, &c, pieces[i], &next)))
				return rc;
		}
		c.what = "CPU count";
		if ((rc = cur_num(&x, &c, 4, &v)))
			return rc;
		if (v > MAX_CPUS)
			return wc_err(err, WC_EFORMAT, path, "%" PRIu64 " CPUs "
				      "at byte %" PRIu64, v, c.pos - 4);
		x.cpus = (int)v;
		c.what = "options";
		if ((rc = cur_read(&x, &c, tag, 10)))
			return rc;
		if (memcmp(tag, "options", 7) == 0) {
			if ((rc = walk_options(&x, &c, &next)))
				return rc;
			if ((rc = cur_read(&x, &c, tag, 10)))
				return rc;
		}
		if (memcmp(tag, "latency", 7) == 0)
			return wc_err(err, WC_EUNSUPPORTED, path, "latency "
				      "tracer capture (no per-CPU events)");
		if (memcmp(tag, "flyrecord", 9) != 0)
			return wc_err(err, WC_EFORMAT, path, "no \"flyrecord\" "
				      "at byte %" PRIu64, c.pos - 10);
		c.what = "flyrecord CPU table";
		if ((rc = walk_flyrecord_v6(&x, &c, &l->buf[0])))
			return rc;
		if (x.use_trace_clock) {
			char clk[1024] = "";
			uint64_t csz;
			c.what = "trace clock";
			if ((rc = cur_num(&x, &c, 8, &csz)))
				return rc;
			if (csz > x.size - c.pos)
				return short_err(&x, &c, csz);
			if (csz < sizeof(clk)) {
				char *lb, *rb;
				if ((rc = cur_read(&x, &c, clk, csz)))
					return rc;
				clk[csz] = '\0';
				lb = strchr(clk, '[');
				rb = lb ? strchr(lb, ']') : NULL;
				if (lb && rb) {
					*rb = '\0';
					snprintf(l->buf[0].clock,
						 sizeof(l->buf[0].clock), "%s",
						 lb + 1);
				}
			}
		}
	}
	return 0;
}
