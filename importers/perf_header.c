/*
 * perf_header.c - perf.data file header, event attributes and feature
 * sections (also used for the pipe-mode HEADER_ATTR / HEADER_FEATURE /
 * HEADER_TRACING_DATA records, which carry the same payloads).
 *
 * Shapes (tools/perf/Documentation/perf.data-file-format.txt):
 *   file header  magic u64, size u64 (104), attr_size u64, then three
 *                sections {offset u64, size u64}: attrs, data, event_types
 *                (unused), then a 256-bit feature bitmap.
 *   attrs        attrs.size / attr_size entries: perf_event_attr (its own
 *                size field, <= attr_size - 16) then a section pointing to
 *                the u64 sample ids of that attribute.
 *   features     at data.offset + data.size: one section per bit set in the
 *                bitmap, in bit order, each pointing to the feature's data.
 *   strings      u32 len (padded, includes the NUL) + bytes.
 *   tracing data "\027\010\104tracing", version string, endianness, long
 *                size, page size, header_page, header_event, ftrace and
 *                per-system event formats, kallsyms, printk formats and (0.6)
 *                saved cmdlines.  Only the event formats go to
 *                libtraceevent (tep_parse_event); the rest is skipped by
 *                size (header page, printk formats, cmdlines: not needed
 *                to decode fields, and libtraceevent's parsers of them
 *                are not hardened against hostile input).
 *
 * Hostile input: every section, count and string is checked against the
 * bytes that hold it before use; counts are capped (PERF_MAX_*) so that
 * nothing allocates more than the capture could describe.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <traceevent/event-parse.h>

#include "perf_data.h"
#include "tep_events.h"

/* A bounded cursor over a feature payload. */
struct cur {
	const unsigned char *p;
	size_t len, pos;
	uint64_t base;		/* file offset of p[0], for messages */
};

static int cur_need(struct perf_reader *r, struct cur *c, size_t n,
		    const char *what)
{
	if (c->len - c->pos < n)
		return wc_err(r->err, WC_ETRUNCATED, r->path,
			      "perf.data: %s needs %zu bytes at offset 0x%llx, "
			      "%zu left in its section",
			      what, n, (unsigned long long)(c->base + c->pos),
			      c->len - c->pos);
	return 0;
}

static int cur_u32(struct perf_reader *r, struct cur *c, uint32_t *v,
		   const char *what)
{
	int rc = cur_need(r, c, 4, what);
	if (rc)
		return rc;
	*v = perf_u32(c->p + c->pos);
	c->pos += 4;
	return 0;
}

static int cur_u64(struct perf_reader *r, struct cur *c, uint64_t *v,
		   const char *what)
{
	int rc = cur_need(r, c, 8, what);
	if (rc)
		return rc;
	*v = perf_u64(c->p + c->pos);
	c->pos += 8;
	return 0;
}

/*
 * A perf header string (u32 len + bytes).  *out is malloc'ed and
 * NUL-terminated (caller frees with free()); bytes after the first NUL
 * are padding.
 */
static int cur_string(struct perf_reader *r, struct cur *c, char **out,
		      const char *what)
{
	uint32_t len;
	int rc = cur_u32(r, c, &len, what);
	if (rc)
		return rc;
	if (len > PERF_MAX_STRING)
		return wc_err(r->err, WC_ELIMIT, r->path,
			      "perf.data: %s string of %u bytes at offset 0x%llx",
			      what, len, (unsigned long long)(c->base + c->pos - 4));
	if ((rc = cur_need(r, c, len, what)))
		return rc;
	size_t n = strnlen((const char *)c->p + c->pos, len);
	char *s = malloc(n + 1);
	if (!s)
		return wc_err(r->err, WC_ENOMEM, r->path, "out of memory");
	memcpy(s, c->p + c->pos, n);
	s[n] = 0;
	c->pos += len;
	*out = s;
	return 0;
}

/* --- id map ------------------------------------------------------------ */

static uint32_t id_hash(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (uint32_t)id;
}

int perf_idmap_find(const struct perf_idmap *m, uint64_t id)
{
	if (!m->cap)
		return -1;
	uint32_t mask = m->cap - 1;
	for (uint32_t i = id_hash(id) & mask;; i = (i + 1) & mask) {
		if (m->idx[i] == UINT32_MAX)
			return -1;
		if (m->ids[i] == id)
			return (int)m->idx[i];
	}
}

/* Inserts ID -> IDX (the first mapping of an id wins). */
static int idmap_put(struct perf_reader *r, uint64_t id, uint32_t idx)
{
	struct perf_idmap *m = &r->idmap;
	if (m->count >= PERF_MAX_IDS)
		return wc_err(r->err, WC_ELIMIT, r->path,
			      "perf.data: more than %u sample ids", PERF_MAX_IDS);
	if ((m->count + 1) * 2 > m->cap) {
		uint32_t ncap = m->cap ? m->cap * 2 : 64;
		uint64_t *nids = malloc(sizeof(*nids) * ncap);
		uint32_t *nidx = malloc(sizeof(*nidx) * ncap);
		if (!nids || !nidx) {
			free(nids);
			free(nidx);
			return wc_err(r->err, WC_ENOMEM, r->path, "out of memory");
		}
		memset(nidx, 0xff, sizeof(*nidx) * ncap);
		for (uint32_t i = 0; i < m->cap; i++) {
			if (m->idx[i] == UINT32_MAX)
				continue;
			uint32_t j = id_hash(m->ids[i]) & (ncap - 1);
			while (nidx[j] != UINT32_MAX)
				j = (j + 1) & (ncap - 1);
			nids[j] = m->ids[i];
			nidx[j] = m->idx[i];
		}
		free(m->ids);
		free(m->idx);
		m->ids = nids;
		m->idx = nidx;
		m->cap = ncap;
	}
	uint32_t mask = m->cap - 1;
	uint32_t i = id_hash(id) & mask;
	while (m->idx[i] != UINT32_MAX) {
		if (m->ids[i] == id)
			return 0;
		i = (i + 1) & mask;
	}
	m->ids[i] = id;
	m->idx[i] = idx;
	m->count++;
	return 0;
}

/* --- attributes -------------------------------------------------------- */

int perf_header_add_attr(struct perf_reader *r, const unsigned char *a,
			 size_t attr_size, const unsigned char *ids,
			 uint64_t nids, uint64_t off)
{
	if (attr_size < PERF_ATTR_SIZE_VER0)
		return wc_err(r->err, WC_EFORMAT, r->path,
			      "perf.data: event attribute of %zu bytes at offset "
			      "0x%llx (minimum %d)", attr_size,
			      (unsigned long long)off, PERF_ATTR_SIZE_VER0);
	if (r->nattrs >= PERF_MAX_ATTRS)
		return wc_err(r->err, WC_ELIMIT, r->path,
			      "perf.data: more than %d event attributes (offset 0x%llx)",
			      PERF_MAX_ATTRS, (unsigned long long)off);
	if (nids > PERF_MAX_IDS - r->idmap.count)
		return wc_err(r->err, WC_ELIMIT, r->path,
			      "perf.data: %llu sample ids for one attribute at "
			      "offset 0x%llx", (unsigned long long)nids,
			      (unsigned long long)off);
	if (r->nattrs == r->attrs_cap) {
		uint32_t ncap = r->attrs_cap ? r->attrs_cap * 2 : 16;
		struct perf_attr *na = realloc(r->attrs, sizeof(*na) * ncap);
		if (!na)
			return wc_err(r->err, WC_ENOMEM, r->path, "out of memory");
		r->attrs = na;
		r->attrs_cap = ncap;
	}
	struct perf_attr *at = &r->attrs[r->nattrs];
	memset(at, 0, sizeof(*at));
	at->type = perf_u32(a);
	at->config = perf_u64(a + 8);
	at->sample_type = perf_u64(a + 24);
	at->read_format = perf_u64(a + 32);
	at->flags = perf_u64(a + 40);
	if (attr_size >= 80)
		at->branch_sample_type = perf_u64(a + 72);
	if (attr_size >= 88)
		at->sample_regs_user = perf_u64(a + 80);
	if (attr_size >= 96) {
		at->sample_stack_user = perf_u32(a + 88);
		at->clockid = (int32_t)perf_u32(a + 92);
	}
	if (attr_size >= 104)
		at->sample_regs_intr = perf_u64(a + 96);
	at->tep_id = at->type == 2 /* PERF_TYPE_TRACEPOINT */ &&
			     at->config <= INT32_MAX ? (int)at->config : -1;
	if (at->sample_type >= (PERF_SAMPLE_WEIGHT_STRUCT << 1))
		return wc_err(r->err, WC_EUNSUPPORTED, r->path,
			      "perf.data: unknown sample_type bits 0x%llx in the "
			      "event attribute at offset 0x%llx",
			      (unsigned long long)at->sample_type,
			      (unsigned long long)off);
	if (at->sample_type & PERF_SAMPLE_CALLCHAIN)
		r->has_callchain = 1;
	if ((at->flags & PERF_ATTR_FLAG_USE_CLOCKID) && r->clockid < 0)
		r->clockid = at->clockid;
	uint32_t idx = r->nattrs++;
	for (uint64_t i = 0; i < nids; i++) {
		int rc = idmap_put(r, perf_u64(ids + 8 * i), idx);
		if (rc)
			return rc;
	}
	return 0;
}

/* Position of the sample id in a SAMPLE, in u64 units (-1: none). */
static int attr_id_pos(const struct perf_attr *a)
{
	uint64_t t = a->sample_type;
	if (t & PERF_SAMPLE_IDENTIFIER)
		return 0;
	if (!(t & PERF_SAMPLE_ID))
		return -1;
	return !!(t & PERF_SAMPLE_IP) + !!(t & PERF_SAMPLE_TID) +
	       !!(t & PERF_SAMPLE_TIME) + !!(t & PERF_SAMPLE_ADDR);
}

/* Position of the id in a sample_id_all trailer, counted in u64 from the
 * end (1 = last), or -1. */
static int attr_is_pos(const struct perf_attr *a)
{
	uint64_t t = a->sample_type;
	if (t & PERF_SAMPLE_IDENTIFIER)
		return 1;
	if (!(t & PERF_SAMPLE_ID))
		return -1;
	return 1 + !!(t & PERF_SAMPLE_CPU) + !!(t & PERF_SAMPLE_STREAM_ID);
}

int perf_header_finish_attrs(struct perf_reader *r, uint64_t off)
{
	if (!r->nattrs)
		return 0;
	r->id_pos = attr_id_pos(&r->attrs[0]);
	r->is_pos = attr_is_pos(&r->attrs[0]);
	for (uint32_t i = 0; i < r->nattrs; i++) {
		struct perf_attr *a = &r->attrs[i];
		uint64_t t = a->sample_type;
		a->id_trailer_size = 0;
		if (a->flags & PERF_ATTR_FLAG_SAMPLE_ID_ALL)
			a->id_trailer_size =
				8 * (!!(t & PERF_SAMPLE_TID) + !!(t & PERF_SAMPLE_TIME) +
				     !!(t & PERF_SAMPLE_ID) + !!(t & PERF_SAMPLE_STREAM_ID) +
				     !!(t & PERF_SAMPLE_CPU) + !!(t & PERF_SAMPLE_IDENTIFIER));
		if (r->nattrs > 1 && (attr_id_pos(a) != r->id_pos ||
				      attr_is_pos(a) != r->is_pos || r->id_pos < 0))
			return wc_err(r->err, WC_EUNSUPPORTED, r->path,
				      "perf.data: %u event attributes without a "
				      "common sample id position (attribute %u, "
				      "offset 0x%llx)", r->nattrs, i,
				      (unsigned long long)off);
	}
	return 0;
}

/* --- tracing data ------------------------------------------------------ */

/* A NUL-terminated malloc'ed copy of LEN bytes (caller frees). */
static char *dup_bytes(const unsigned char *p, size_t len)
{
	char *s = malloc(len + 1);
	if (s) {
		memcpy(s, p, len);
		s[len] = 0;
	}
	return s;
}

/* --- event formats ------------------------------------------------------ */

/*
 * Event formats are text from the capture, and libtraceevent 1.7's format
 * parser dereferences NULL or reads out of bounds on some malformed ones
 * (found by fuzz_perf_data: bad print formats, garbage in array sizes).
 * So we never hand it capture text: we parse the part we need with a strict
 * grammar and give libtraceevent a canonical rewrite of it:
 *
 *   name: IDENT
 *   ID: DIGITS
 *   format:
 *   \tfield:DECL;\toffset:N;\tsize:N;\tsigned:N;     (common fields)
 *   (empty line)
 *   \tfield:DECL;\toffset:N;\tsize:N;\tsigned:N;     (event fields)
 *   print fmt: "-"                                   (we never print)
 *
 * DECL is 2..8 space-separated tokens, each an identifier or "*",
 * optionally followed by one "[...]" of identifier characters.  A format
 * that does not fit is dropped (its events stay undecoded, as in perf when
 * a format fails to parse).
 */

/* Span of the line at *pos in TEXT/LEN (without '\n'); advances *pos. */
static int next_line(const unsigned char *text, size_t len, size_t *pos,
		     const unsigned char **line, size_t *llen)
{
	if (*pos >= len)
		return 0;
	const unsigned char *nl = memchr(text + *pos, '\n', len - *pos);
	size_t end = nl ? (size_t)(nl - text) : len;
	*line = text + *pos;
	*llen = end - *pos;
	*pos = nl ? end + 1 : len;
	return 1;
}

static int is_ident_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* 1 if [P, P+N) starts with the literal S; advances *P and *N. */
static int eat(const unsigned char **p, size_t *n, const char *lit)
{
	size_t l = strlen(lit);
	if (*n < l || memcmp(*p, lit, l))
		return 0;
	*p += l;
	*n -= l;
	return 1;
}

/* A decimal number of at most 6 digits (offsets and sizes < 1e6). */
static int eat_num(const unsigned char **p, size_t *n, unsigned *v)
{
	size_t k = 0;
	*v = 0;
	while (k < *n && k < 7 && (*p)[k] >= '0' && (*p)[k] <= '9')
		*v = *v * 10 + (unsigned)((*p)[k++] - '0');
	if (!k || k > 6)
		return 0;
	*p += k;
	*n -= k;
	return 1;
}

/* DECL of a field line (see above); D/N is the text up to the ';'. */
static int valid_decl(const unsigned char *d, size_t n)
{
	int tokens = 0;
	size_t i = 0;
	if (n == 0 || n > 128)
		return 0;
	while (i < n) {
		if (d[i] == ' ') {
			i++;
			continue;
		}
		if (d[i] == '*') {
			i++;
		} else {
			size_t st = i;
			while (i < n && is_ident_char(d[i]))
				i++;
			if (i == st)
				return 0;
			if (i < n && d[i] == '[') {
				i++;
				while (i < n && is_ident_char(d[i]))
					i++;
				if (i >= n || d[i] != ']')
					return 0;
				i++;
			}
		}
		if (i < n && d[i] != ' ')
			return 0;
		if (++tokens > 8)
			return 0;
	}
	return tokens >= 2;
}

/*
 * Rewrites format TEXT/LEN into OUT (at least LEN + 32 bytes) in canonical
 * form; returns its length, or 0 if the format does not fit the grammar.
 */
static size_t canon_format(const unsigned char *text, size_t len, char *out)
{
	size_t pos = 0, o = 0, llen;
	const unsigned char *line;
	unsigned num;
	int fields = 0, group2 = 0;

	/* name: IDENT */
	if (!next_line(text, len, &pos, &line, &llen) || !eat(&line, &llen, "name: ") ||
	    !llen || llen > 128)
		return 0;
	for (size_t i = 0; i < llen; i++)
		if (!is_ident_char(line[i]))
			return 0;
	o += (size_t)sprintf(out + o, "name: %.*s\n", (int)llen, (const char *)line);
	/* ID: DIGITS */
	if (!next_line(text, len, &pos, &line, &llen) || !eat(&line, &llen, "ID: ") ||
	    !eat_num(&line, &llen, &num) || llen)
		return 0;
	o += (size_t)sprintf(out + o, "ID: %u\n", num);
	if (!next_line(text, len, &pos, &line, &llen) || !eat(&line, &llen, "format:") ||
	    llen)
		return 0;
	o += (size_t)sprintf(out + o, "format:\n");
	while (next_line(text, len, &pos, &line, &llen)) {
		if (!llen) {
			/* the first blank line after fields ends the common
			 * fields; later ones are dropped */
			if (fields && !group2) {
				out[o++] = '\n';
				group2 = 1;
			}
			continue;
		}
		if (eat(&line, &llen, "print fmt:"))
			break;
		unsigned off, size, sgn = 0;
		if (!eat(&line, &llen, "\tfield:"))
			return 0;
		const unsigned char *semi = memchr(line, ';', llen);
		if (!semi || !valid_decl(line, (size_t)(semi - line)))
			return 0;
		const unsigned char *decl = line;
		size_t dlen = (size_t)(semi - line);
		line = semi;
		llen -= dlen;
		if (!eat(&line, &llen, ";\toffset:") || !eat_num(&line, &llen, &off) ||
		    !eat(&line, &llen, ";\tsize:") || !eat_num(&line, &llen, &size) ||
		    !eat(&line, &llen, ";"))
			return 0;
		if (eat(&line, &llen, "\tsigned:") &&
		    (!eat_num(&line, &llen, &sgn) || sgn > 1 || !eat(&line, &llen, ";")))
			return 0;
		while (llen && (*line == ' ' || *line == '\t')) {
			line++;
			llen--;
		}
		if (llen)
			return 0;
		o += (size_t)sprintf(out + o, "\tfield:%.*s;\toffset:%u;\tsize:%u;\tsigned:%u;\n",
				     (int)dlen, (const char *)decl, off, size, sgn);
		fields++;
	}
	if (!fields)
		return 0;
	if (!group2)
		out[o++] = '\n';
	o += (size_t)sprintf(out + o, "\nprint fmt: \"-\"\n");
	return o;
}

/*
 * Hands one event format (TEXT, LEN bytes, system SYS) to libtraceevent
 * in canonical form (see above); a format that does not fit is counted and
 * skipped.  Returns 0 or -WC_ENOMEM.
 */
static int parse_format(struct perf_reader *r, const unsigned char *text,
			size_t len, const char *sys)
{
	/* canonical lines are never longer than the originals, except for
	 * "signed:0;" added to lines without it (10 bytes each) */
	size_t cap = len * 2 + 64;
	char *copy = malloc(cap);
	if (!copy)
		return wc_err(r->err, WC_ENOMEM, r->path, "out of memory");
	size_t n = canon_format(text, len, copy);
	if (n) {
		assert(n < cap);
		tep_parse_event(r->tep, copy, n, sys);
	} else {
		r->bad_formats++;
	}
	free(copy);
	return 0;
}

int perf_header_tracing_data(struct perf_reader *r, const unsigned char *buf,
			     size_t len, uint64_t off)
{
	static const unsigned char magic[10] = { 0x17, 0x08, 0x44, 't', 'r',
						 'a', 'c', 'i', 'n', 'g' };
	struct cur c = { buf, len, 0, off };
	char *tmp = NULL;
	int rc;

	if (r->tep)
		return 0;	/* keep the first (pipe mode may repeat it) */
	if (len > PERF_MAX_TRACING_DATA)
		return wc_err(r->err, WC_ELIMIT, r->path,
			      "perf.data: tracing data of %zu bytes at offset 0x%llx",
			      len, (unsigned long long)off);
	if ((rc = cur_need(r, &c, sizeof(magic) + 1, "tracing data")))
		return rc;
	if (memcmp(buf, magic, sizeof(magic)))
		return wc_err(r->err, WC_EFORMAT, r->path,
			      "perf.data: tracing data at offset 0x%llx lacks its "
			      "magic", (unsigned long long)off);
	c.pos = sizeof(magic);
	size_t vlen = strnlen((const char *)buf + c.pos, len - c.pos);
	if (vlen >= 16 || c.pos + vlen >= len)
		return wc_err(r->err, WC_EFORMAT, r->path,
			      "perf.data: bad tracing data version at offset 0x%llx",
			      (unsigned long long)(off + c.pos));
	char version[16];
	memcpy(version, buf + c.pos, vlen + 1);
	c.pos += vlen + 1;
	if ((rc = cur_need(r, &c, 6, "tracing data header")))
		return rc;
	int bigendian = buf[c.pos];
	int long_size = buf[c.pos + 1];
	c.pos += 2;
	uint32_t page_size;
	if ((rc = cur_u32(r, &c, &page_size, "tracing data page size")))
		return rc;
	if (bigendian || (long_size != 4 && long_size != 8))
		return wc_err(r->err, WC_EUNSUPPORTED, r->path,
			      "perf.data: tracing data at offset 0x%llx is %s with "
			      "%d-byte longs", (unsigned long long)off,
			      bigendian ? "big-endian" : "little-endian", long_size);

	r->tep = tep_alloc();
	if (!r->tep)
		return wc_err(r->err, WC_ENOMEM, r->path, "out of memory");
	tep_set_file_bigendian(r->tep, TEP_LITTLE_ENDIAN);
	tep_set_local_bigendian(r->tep, TEP_LITTLE_ENDIAN);
	tep_set_long_size(r->tep, long_size);
	tep_set_page_size(r->tep, (int)page_size);

	/* header_page, header_event: "name\0" u64 size, data */
	static const char *const hdr_names[2] = { "header_page", "header_event" };
	for (int h = 0; h < 2; h++) {
		size_t nlen = strlen(hdr_names[h]) + 1;
		if ((rc = cur_need(r, &c, nlen, "tracing data header")))
			goto out;
		if (memcmp(buf + c.pos, hdr_names[h], nlen)) {
			rc = wc_err(r->err, WC_EFORMAT, r->path,
				    "perf.data: tracing data: no %s at offset 0x%llx",
				    hdr_names[h], (unsigned long long)(off + c.pos));
			goto out;
		}
		c.pos += nlen;
		uint64_t sz;
		if ((rc = cur_u64(r, &c, &sz, hdr_names[h])))
			goto out;
		if (sz > c.len - c.pos) {
			rc = cur_need(r, &c, sz > SIZE_MAX ? SIZE_MAX : (size_t)sz,
				      hdr_names[h]);
			goto out;
		}
		/* header_page / header_event describe the ftrace ring buffer,
		 * which perf samples do not use: skipped */
		c.pos += (size_t)sz;
	}

	/* ftrace formats, then event formats per system */
	uint32_t nsys = 1;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && (rc = cur_u32(r, &c, &nsys, "tracing data systems")))
			goto out;
		for (uint32_t s = 0; s < nsys; s++) {
			const char *sys = "ftrace";
			char sysname[256];
			if (pass == 1) {
				size_t sl = strnlen((const char *)buf + c.pos, c.len - c.pos);
				if (sl >= c.len - c.pos || sl >= sizeof(sysname)) {
					rc = wc_err(r->err, WC_EFORMAT, r->path,
						    "perf.data: tracing data: bad system "
						    "name at offset 0x%llx",
						    (unsigned long long)(off + c.pos));
					goto out;
				}
				memcpy(sysname, buf + c.pos, sl + 1);
				c.pos += sl + 1;
				sys = sysname;
			}
			uint32_t count;
			if ((rc = cur_u32(r, &c, &count, "tracing data format count")))
				goto out;
			for (uint32_t i = 0; i < count; i++) {
				uint64_t sz;
				if ((rc = cur_u64(r, &c, &sz, "event format size")))
					goto out;
				if (sz > c.len - c.pos) {
					rc = wc_err(r->err, WC_ETRUNCATED, r->path,
						    "perf.data: event format of %llu bytes "
						    "at offset 0x%llx runs past its section",
						    (unsigned long long)sz,
						    (unsigned long long)(off + c.pos));
					goto out;
				}
				/* a format libtraceevent cannot parse only
				 * makes that event undecodable, as in perf */
				/* ftrace's own formats are never sampled by perf */
				if (pass == 1 &&
				    (rc = parse_format(r, buf + c.pos, (size_t)sz, sys)))
					goto out;
				c.pos += (size_t)sz;
			}
		}
	}

	/* kallsyms (perf writes it empty), printk formats */
	for (int k = 0; k < 2; k++) {
		uint32_t sz;
		if ((rc = cur_u32(r, &c, &sz, k ? "printk formats" : "kallsyms")))
			goto out;
		if ((rc = cur_need(r, &c, sz, k ? "printk formats" : "kallsyms")))
			goto out;
		/* printk formats only matter for printing events, which we
		 * never do: skipped (libtraceevent's parser of them reads past
		 * hostile lines).  kallsyms (perf writes it empty) is kept for
		 * our own symbolizer, not handed to libtraceevent. */
		if (sz && !k) {
			tmp = dup_bytes(buf + c.pos, sz);
			if (!tmp) {
				rc = wc_err(r->err, WC_ENOMEM, r->path, "out of memory");
				goto out;
			}
			free(r->capture_kallsyms);
			r->capture_kallsyms = tmp;
			tmp = NULL;
		}
		c.pos += sz;
	}
	/* saved cmdlines since version 0.6 */
	if (strcmp(version, "0.6") >= 0 && c.len - c.pos >= 8) {
		uint64_t sz;
		if ((rc = cur_u64(r, &c, &sz, "saved cmdlines")))
			goto out;
		if (sz > c.len - c.pos) {
			rc = cur_need(r, &c, c.len - c.pos + 1, "saved cmdlines");
			goto out;
		}
		/* thread names come from COMM records: skipped */
		c.pos += (size_t)sz;
	}
	r->have_tracing_data = 1;
	rc = wc_tep_events_new(r->tep, &r->te, r->err);
	if (rc)
		wc_err(r->err, -rc, r->path, "perf.data: tracepoint tables");
out:
	free(tmp);
	return rc;
}

/* --- features ---------------------------------------------------------- */

const char *perf_clock_name(int32_t id)
{
	static const char *const names[] = {
		"realtime", "monotonic", "process_cputime_id",
		"thread_cputime_id", "monotonic_raw", "realtime_coarse",
		"monotonic_coarse", "boottime", "realtime_alarm",
		"boottime_alarm", NULL, "tai"
	};
	if (id >= 0 && id < (int32_t)(sizeof(names) / sizeof(names[0])) && names[id])
		return names[id];
	return NULL;
}

/* meta clock / clockid from a clock id */
static int set_clock(struct perf_reader *r, int32_t id)
{
	char num[16];
	snprintf(num, sizeof(num), "%d", id);
	int rc = perf_meta_set(r, "clockid", num);
	const char *name = perf_clock_name(id);
	if (!rc)
		rc = perf_meta_set(r, "clock", name ? name : num);
	return rc;
}

/* One string feature into meta KEY (and *keep if not NULL). */
static int feat_string(struct perf_reader *r, struct cur *c, const char *key,
		       char **keep)
{
	char *s = NULL;
	int rc = cur_string(r, c, &s, key);
	if (rc)
		return rc;
	rc = perf_meta_set(r, key, s);
	if (keep) {
		free(*keep);
		*keep = s;
	} else {
		free(s);
	}
	return rc;
}

static int feat_cmdline(struct perf_reader *r, struct cur *c)
{
	uint32_t nr;
	int rc = cur_u32(r, c, &nr, "cmdline");
	if (rc)
		return rc;
	if (nr > PERF_MAX_CMDLINE_ARGS || nr > (c->len - c->pos) / 4)
		return wc_err(r->err, WC_ELIMIT, r->path,
			      "perf.data: cmdline of %u arguments at offset 0x%llx",
			      nr, (unsigned long long)(c->base + c->pos - 4));
	size_t cap = c->len - c->pos + nr + 1, used = 0;
	char *line = malloc(cap);
	if (!line)
		return wc_err(r->err, WC_ENOMEM, r->path, "out of memory");
	line[0] = 0;
	/* perf record -p/-t/-u without -a: only some processes' events */
	int per_task = 0, all_cpus = 0;
	for (uint32_t i = 0; i < nr; i++) {
		char *arg = NULL;
		if ((rc = cur_string(r, c, &arg, "cmdline argument")))
			goto out;
		/* cur_string() sets arg when it returns 0 */
		/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
		if (!strcmp(arg, "-p") || !strcmp(arg, "-t") || !strcmp(arg, "-u") ||
		    !strncmp(arg, "--pid", 5) || !strncmp(arg, "--tid", 5) ||
		    !strncmp(arg, "--uid", 5))
			per_task = 1;
		if (!strcmp(arg, "-a") || !strcmp(arg, "--all-cpus"))
			all_cpus = 1;
		size_t n = strlen(arg);
		if (used + n + 2 > cap)
			n = cap - used - 2;	/* cannot happen: arg <= its bytes */
		if (i)
			line[used++] = ' ';
		memcpy(line + used, arg, n);
		used += n;
		line[used] = 0;
		free(arg);
	}
	rc = perf_meta_set(r, "cmdline", line);
	if (!rc && per_task && !all_cpus)
		rc = perf_warn(r, "perf.data: recorded for some processes only "
			       "(perf record -p/-t/-u): events of other threads "
			       "are missing, so wakers, holders and preemptions "
			       "by them are partial");
out:
	free(line);
	return rc;
}

static int feat_event_desc(struct perf_reader *r, struct cur *c)
{
	uint32_t nre, sz;
	int rc = cur_u32(r, c, &nre, "event_desc");
	if (!rc)
		rc = cur_u32(r, c, &sz, "event_desc");
	if (rc)
		return rc;
	if (nre > PERF_MAX_ATTRS || sz < PERF_ATTR_SIZE_VER0 || sz > PERF_MAX_ATTR_SIZE)
		return wc_err(r->err, WC_ELIMIT, r->path,
			      "perf.data: event_desc with %u events of %u bytes at "
			      "offset 0x%llx", nre, sz,
			      (unsigned long long)(c->base + c->pos - 8));
	for (uint32_t i = 0; i < nre; i++) {
		if ((rc = cur_need(r, c, sz, "event_desc attribute")))
			return rc;
		c->pos += sz;
		uint32_t nids;
		char *name = NULL;
		if ((rc = cur_u32(r, c, &nids, "event_desc ids")))
			return rc;
		if ((rc = cur_string(r, c, &name, "event_desc name")))
			return rc;
		if (nids > (c->len - c->pos) / 8) {
			free(name);
			return wc_err(r->err, WC_ETRUNCATED, r->path,
				      "perf.data: event_desc: %u ids at offset 0x%llx "
				      "run past the section", nids,
				      (unsigned long long)(c->base + c->pos));
		}
		int idx = nids ? perf_idmap_find(&r->idmap, perf_u64(c->p + c->pos))
			       : (nre == r->nattrs ? (int)i : -1);
		c->pos += (size_t)nids * 8;
		if (idx >= 0 && (uint32_t)idx < r->nattrs && !r->attrs[idx].name)
			r->attrs[idx].name = name;
		else
			free(name);
	}
	return 0;
}

static int feat_build_id(struct perf_reader *r, struct cur *c)
{
	while (c->len - c->pos >= PERF_EVENT_HEADER_SIZE) {
		const unsigned char *h = c->p + c->pos;
		uint16_t misc = perf_u16(h + 4), size = perf_u16(h + 6);
		/* header, pid, build_id[24], filename */
		if (size < PERF_EVENT_HEADER_SIZE + 4 + 24 || size > c->len - c->pos)
			return wc_err(r->err, WC_EFORMAT, r->path,
				      "perf.data: build-id entry of %u bytes at offset "
				      "0x%llx", size,
				      (unsigned long long)(c->base + c->pos));
		if (r->nbuildids == r->buildids_cap) {
			size_t ncap = r->buildids_cap ? r->buildids_cap * 2 : 16;
			struct perf_buildid *nb = realloc(r->buildids, sizeof(*nb) * ncap);
			if (!nb)
				return wc_err(r->err, WC_ENOMEM, r->path, "out of memory");
			r->buildids = nb;
			r->buildids_cap = ncap;
		}
		struct perf_buildid *b = &r->buildids[r->nbuildids];
		const unsigned char *bid = h + 12;
		b->size = (misc & (1U << 15)) ? bid[20] : 20;
		if (b->size > 20)
			b->size = 20;
		memcpy(b->id, bid, 20);
		size_t flen = size - 36;
		b->path = dup_bytes(h + 36, strnlen((const char *)h + 36, flen));
		if (!b->path)
			return wc_err(r->err, WC_ENOMEM, r->path, "out of memory");
		r->nbuildids++;
		c->pos += size;
	}
	return 0;
}

int perf_header_feature(struct perf_reader *r, int feat,
			const unsigned char *buf, size_t len, uint64_t off)
{
	struct cur c = { buf, len, 0, off };
	char num[64];
	int rc = 0;

	switch (feat) {
	case PERF_FEAT_TRACING_DATA:
		return perf_header_tracing_data(r, buf, len, off);
	case PERF_FEAT_BUILD_ID:
		return feat_build_id(r, &c);
	case PERF_FEAT_HOSTNAME:
		return feat_string(r, &c, "hostname", &r->hostname);
	case PERF_FEAT_OSRELEASE:
		return feat_string(r, &c, "osrelease", &r->osrelease);
	case PERF_FEAT_VERSION:
		return feat_string(r, &c, "tracer_version", NULL);
	case PERF_FEAT_ARCH:
		return feat_string(r, &c, "arch", NULL);
	case PERF_FEAT_CPUDESC:
		return feat_string(r, &c, "cpudesc", NULL);
	case PERF_FEAT_NRCPUS: {
		uint32_t avail, online;
		if ((rc = cur_u32(r, &c, &avail, "nrcpus")) ||
		    (rc = cur_u32(r, &c, &online, "nrcpus")))
			return rc;
		if (avail > PERF_MAX_NRCPUS || online > PERF_MAX_NRCPUS)
			return wc_err(r->err, WC_ELIMIT, r->path,
				      "perf.data: nrcpus %u/%u at offset 0x%llx",
				      avail, online, (unsigned long long)off);
		snprintf(num, sizeof(num), "%u", avail);
		rc = perf_meta_set(r, "nrcpus", num);
		snprintf(num, sizeof(num), "%u", online);
		if (!rc)
			rc = perf_meta_set(r, "nrcpus_online", num);
		return rc;
	}
	case PERF_FEAT_CMDLINE:
		return feat_cmdline(r, &c);
	case PERF_FEAT_EVENT_DESC:
		return feat_event_desc(r, &c);
	case PERF_FEAT_SAMPLE_TIME: {
		uint64_t first, last;
		if ((rc = cur_u64(r, &c, &first, "sample_time")) ||
		    (rc = cur_u64(r, &c, &last, "sample_time")))
			return rc;
		if (!first && !last)
			return 0;	/* pipe mode writes zeros */
		snprintf(num, sizeof(num), "%llu", (unsigned long long)first);
		rc = perf_meta_set(r, "perf_first_sample_ns", num);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)last);
		if (!rc)
			rc = perf_meta_set(r, "perf_last_sample_ns", num);
		return rc;
	}
	case PERF_FEAT_CLOCKID: {
		uint64_t res;
		if ((rc = cur_u64(r, &c, &res, "clockid")))
			return rc;
		snprintf(num, sizeof(num), "%llu", (unsigned long long)res);
		return perf_meta_set(r, "clock_resolution_ns", num);
	}
	case PERF_FEAT_CLOCK_DATA: {
		uint32_t version, clockid;
		uint64_t tod, clk;
		if ((rc = cur_u32(r, &c, &version, "clock_data")) ||
		    (rc = cur_u32(r, &c, &clockid, "clock_data")) ||
		    (rc = cur_u64(r, &c, &tod, "clock_data")) ||
		    (rc = cur_u64(r, &c, &clk, "clock_data")))
			return rc;
		if (version != 1)
			return 0;	/* a newer layout: skipped, as perf does */
		r->clockid = (int32_t)clockid;
		if ((rc = set_clock(r, (int32_t)clockid)))
			return rc;
		snprintf(num, sizeof(num), "%llu", (unsigned long long)tod);
		rc = perf_meta_set(r, "clock_tod_ns", num);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)clk);
		if (!rc)
			rc = perf_meta_set(r, "clock_ref_ns", num);
		return rc;
	}
	case PERF_FEAT_COMPRESSED: {
		uint32_t version, type, level;
		if ((rc = cur_u32(r, &c, &version, "compressed")) ||
		    (rc = cur_u32(r, &c, &type, "compressed")) ||
		    (rc = cur_u32(r, &c, &level, "compressed")))
			return rc;
		rc = perf_meta_set(r, "file_compression", type == 1 ? "zstd" : "unknown");
		snprintf(num, sizeof(num), "%u", level);
		if (!rc)
			rc = perf_meta_set(r, "file_compression_level", num);
		return rc;
	}
	default:
		return 0;	/* skipped by size */
	}
}

/* --- file mode header -------------------------------------------------- */

/* Checks that [off, off+size) lies inside the mapped file. */
static int check_section(struct perf_reader *r, uint64_t off, uint64_t size,
			 const char *what, uint64_t where)
{
	if (off > r->map_len || size > r->map_len - off)
		return wc_err(r->err, WC_ETRUNCATED, r->path,
			      "perf.data: %s section [0x%llx, +%llu) (described at "
			      "offset 0x%llx) runs past the end of the file (%zu bytes)",
			      what, (unsigned long long)off, (unsigned long long)size,
			      (unsigned long long)where, r->map_len);
	return 0;
}

int perf_header_read_file(struct perf_reader *r)
{
	const unsigned char *m = r->map;
	int rc;

	if (r->map_len < PERF_FILE_HEADER_SIZE)
		return wc_err(r->err, WC_ETRUNCATED, r->path,
			      "perf.data: file header needs %d bytes, the file has %zu",
			      PERF_FILE_HEADER_SIZE, r->map_len);
	uint64_t hsize = perf_u64(m + 8), attr_size = perf_u64(m + 16);
	if (hsize != PERF_FILE_HEADER_SIZE)
		return wc_err(r->err, WC_EFORMAT, r->path,
			      "perf.data: header size %llu at offset 0x8 (expected %d)",
			      (unsigned long long)hsize, PERF_FILE_HEADER_SIZE);
	uint64_t attrs_off = perf_u64(m + 24), attrs_size = perf_u64(m + 32);
	r->data_off = perf_u64(m + 40);
	r->data_size = perf_u64(m + 48);
	memcpy(r->features, m + 72, sizeof(r->features));
	r->header_version = 1;

	if (attr_size < PERF_ATTR_SIZE_VER0 + 16 ||
	    attr_size > PERF_MAX_ATTR_SIZE + 16)
		return wc_err(r->err, WC_EFORMAT, r->path,
			      "perf.data: attribute size %llu at offset 0x10",
			      (unsigned long long)attr_size);
	if ((rc = check_section(r, attrs_off, attrs_size, "attrs", 24)))
		return rc;
	if (attrs_size % attr_size || attrs_size / attr_size > PERF_MAX_ATTRS)
		return wc_err(r->err, WC_ELIMIT, r->path,
			      "perf.data: attrs section of %llu bytes at offset 0x%llx "
			      "for attributes of %llu bytes",
			      (unsigned long long)attrs_size,
			      (unsigned long long)attrs_off,
			      (unsigned long long)attr_size);
	for (uint64_t i = 0; i < attrs_size / attr_size; i++) {
		uint64_t aoff = attrs_off + i * attr_size;
		const unsigned char *a = m + aoff;
		uint32_t asz = perf_u32(a + 4);
		if (!asz)
			asz = PERF_ATTR_SIZE_VER0;
		if (asz > attr_size - 16 || asz < PERF_ATTR_SIZE_VER0)
			return wc_err(r->err, WC_EFORMAT, r->path,
				      "perf.data: attribute size %u at offset 0x%llx "
				      "(entries are %llu bytes)", asz,
				      (unsigned long long)(aoff + 4),
				      (unsigned long long)attr_size);
		const unsigned char *sec = a + attr_size - 16;
		uint64_t ids_off = perf_u64(sec), ids_size = perf_u64(sec + 8);
		if ((rc = check_section(r, ids_off, ids_size, "attribute ids",
					aoff + attr_size - 16)))
			return rc;
		if (ids_size % 8)
			return wc_err(r->err, WC_EFORMAT, r->path,
				      "perf.data: ids section of %llu bytes at offset 0x%llx",
				      (unsigned long long)ids_size,
				      (unsigned long long)ids_off);
		if ((rc = perf_header_add_attr(r, a, asz, m + ids_off, ids_size / 8,
					       aoff)))
			return rc;
	}
	if (!r->nattrs)
		return wc_err(r->err, WC_EFORMAT, r->path,
			      "perf.data: no event attributes (attrs section at 0x%llx)",
			      (unsigned long long)attrs_off);
	if ((rc = perf_header_finish_attrs(r, attrs_off)))
		return rc;

	if (r->data_off < PERF_FILE_HEADER_SIZE || r->data_off > r->map_len)
		return wc_err(r->err, r->data_off > r->map_len ? WC_ETRUNCATED : WC_EFORMAT,
			      r->path, "perf.data: data section at offset 0x%llx "
			      "(file of %zu bytes)", (unsigned long long)r->data_off,
			      r->map_len);
	if (r->data_size > r->map_len - r->data_off) {
		if (!r->opt->salvage)
			return check_section(r, r->data_off, r->data_size, "data", 40);
		/* salvage: read what is there; features are lost */
		r->data_size = r->map_len - r->data_off;
		memset(r->features, 0, sizeof(r->features));
		perf_meta_set(r, "truncated", "1");
		perf_meta_set(r, "truncated_reason", "data section runs past the end of the file");
	}
	if (r->data_size == 0 && r->map_len > r->data_off &&
	    !(r->features[0] | r->features[1] | r->features[2] | r->features[3])) {
		/* perf died before it could write the header back: the
		 * records run to the end of the file, no features */
		r->data_size = r->map_len - r->data_off;
		memset(r->features, 0, sizeof(r->features));
		perf_warn(r, "perf.data header has no data size "
			      "(recording interrupted?): read to end of file");
	}

	/* feature sections */
	r->feat_off = r->data_off + r->data_size;
	unsigned nfeat = 0;
	for (int b = 0; b < PERF_FEAT_BITS; b++)
		if (r->features[b / 64] >> (b % 64) & 1)
			nfeat++;
	if ((rc = check_section(r, r->feat_off, (uint64_t)nfeat * 16, "feature index",
				40)))
		return rc;
	unsigned k = 0;
	/* tracing data first is not required: features are independent,
	 * except EVENT_DESC, which needs the ids (read above) */
	for (int b = 0; b < PERF_FEAT_BITS; b++) {
		if (!(r->features[b / 64] >> (b % 64) & 1))
			continue;
		uint64_t where = r->feat_off + (uint64_t)k++ * 16;
		uint64_t foff = perf_u64(m + where), fsize = perf_u64(m + where + 8);
		char what[32];
		snprintf(what, sizeof(what), "feature %d", b);
		if ((rc = check_section(r, foff, fsize, what, where)))
			return rc;
		if ((rc = perf_header_feature(r, b, m + foff, (size_t)fsize, foff)))
			return rc;
	}
	return 0;
}

void perf_header_free(struct perf_reader *r)
{
	for (uint32_t i = 0; i < r->nattrs; i++)
		free(r->attrs[i].name);
	free(r->attrs);
	free(r->idmap.ids);
	free(r->idmap.idx);
	wc_tep_events_free(r->te);
	if (r->tep)
		tep_free(r->tep);
	for (size_t i = 0; i < r->nbuildids; i++)
		free(r->buildids[i].path);
	free(r->buildids);
	free(r->hostname);
	free(r->osrelease);
	free(r->capture_kallsyms);
}
