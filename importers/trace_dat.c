/*
 * trace_dat.c - the trace.dat importer (trace-cmd record, file versions 6
 * and 7, uncompressed or with zstd/zlib-compressed sections), through
 * libtracecmd + libtraceevent.
 *
 * Data flow: open() spools a pipe to a file if needed, runs the
 * structural checker (trace_dat-check.c) so that libtracecmd only ever
 * sees sizes and offsets that fit in the file, then opens the file with
 * tracecmd_open_fd() and one handle per buffer instance
 * (tracecmd_buffer_instance_handle()).  run() delivers metadata, one
 * sink->buffer() per buffer, per-CPU loss statistics, then every event of
 * the imported buffers merged by timestamp across CPUs and buffers with a
 * binary heap of (buffer, CPU) streams (ties: lower stream index first,
 * i.e. top buffer before instances, lower CPU first, like trace-cmd
 * report).  Event payloads are decoded by tep_events.c.
 *
 * kernel_stack events (trace-cmd record -T) follow the event they belong
 * to on the same CPU, and become that event's wc_event.stack (kernel
 * frames, symbolized by the wc_symbolizer from the kallsyms the file
 * embeds).  Usually the stack is the very next record; when an interrupt
 * arrives between an event and its stack, the interrupt's events and
 * their stacks come first and the outer stack last (LIFO), so each
 * stream keeps a short queue of events still waiting for a stack
 * (PEND_MAX deep) and a stack goes to the most recent waiting event.
 * Buffers without kernel_stack records never wait.  Stacks are NOT
 * delivered as events: their number goes to capture meta
 * "kernel_stack_events", so event_count counts delivered events only;
 * stacks with no waiting event are counted in "kernel_stack_unattached".
 *
 * Thread names: the saved cmdlines of the file are offered per tid the
 * first time an event mentions that tid (libtraceevent has no way to
 * enumerate them), as WC_COMM_CMDLINES with ts 0; comm fields of events
 * are reported as WC_COMM_EVENT when they differ from the name last
 * reported for that tid (tid 0 excluded: "swapper/N" differs per CPU);
 * task_rename as WC_COMM_RENAME.
 *
 * Memory: the decoding tables, PEND_MAX pending events per (buffer, CPU)
 * stream (~43 KiB) and a hash of per-tid state; nothing grows with the
 * number of events.
 *
 * Crash containment: the first full pass (counting each buffer's events
 * for sink->buffer()) runs in forked children (sandbox_count(): two on a
 * machine with two CPUs or more, each reading half of the CPUs), so a
 * libtracecmd/libtraceevent crash or hang on a corrupt file becomes an
 * error message instead of taking the process down.
 *
 * libtracecmd quirks handled here: it closes the fd it is given (we pass
 * a dup), prints "CPU %d is empty" and "File possibly truncated" to
 * STDOUT (silenced around the calls that can), returns NULL from
 * tracecmd_read_data() both at the end of a CPU and on a bad page (the
 * checker finds bad pages first), hands out the top buffer's clock for
 * every instance (the per-buffer clock comes from the checker), and
 * Debian's build cannot decompress zlib (we register a zlib codec).  Several getters we need are exported
 * by libtracecmd.so.1 but only declared in trace-cmd-private.h, which is
 * not installed: they are declared below, with the signatures of
 * trace-cmd 3.1.
 */
#include "tep_events.h"
#include "trace_dat.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <trace-cmd/trace-cmd.h>
#include <zlib.h>

#include "waitchain/importer.h"
#include "waitchain/util.h"

/* --- libtracecmd private API (libtracecmd.so.1, trace-cmd 3.1) --------- */
const char *tracecmd_get_trace_clock(struct tracecmd_input *handle);
const char *tracecmd_get_cpustats(struct tracecmd_input *handle);
const char *tracecmd_get_uname(struct tracecmd_input *handle);
const char *tracecmd_get_version(struct tracecmd_input *handle);
int tracecmd_cpus(struct tracecmd_input *handle);
unsigned long tracecmd_get_in_file_version(struct tracecmd_input *handle);
bool tracecmd_compress_is_supported(const char *name, const char *version);
/* Layout checked against libtracecmd.so.1.3.1's
 * tracecmd_compress_proto_register() (reads 0x8 name, 0x10 version,
 * copies the six callbacks at 0x18..0x48). */
struct tracecmd_compression_proto {
	int weight;
	const char *name;
	const char *version;
	int (*compress)(void *ctx, const void *in, int in_bytes, void *out,
			int out_bytes);
	int (*uncompress)(void *ctx, const void *in, int in_bytes, void *out,
			  int out_bytes);
	unsigned int (*compress_size)(void *ctx, unsigned int bytes);
	bool (*is_supported)(const char *name, const char *version);
	void *(*new_context)(void);
	void (*free_context)(void *ctx);
};
int tracecmd_compress_proto_register(struct tracecmd_compression_proto *proto);

#define MAX_FRAMES 128			/* deeper stacks are cut */
#define POLL_EVERY 65536		/* events between interrupt polls */
#define KALLSYMS_MAX (512u << 20)	/* --kallsyms file size cap */

struct tdat_buf {
	struct tracecmd_input *h;	/* top handle, or an instance (owned) */
	int32_t id;			/* 0 top, i + 1 instance i */
	const char *name;		/* borrowed from libtracecmd / "" */
	char clock[32];
	int ncpus;
	uint64_t nevents;		/* events (kernel stacks excluded) */
	uint64_t nkstacks;		/* kernel_stack records */
	int imported;
};

/*
 * An event read from a CPU but not delivered yet: it may still get its
 * kernel stack (see stream_fill()).  Owns copies of its strings.
 */
struct pend {
	struct wc_event ev;
	char str[2][256];		/* the event's comm strings */
	struct wc_frame frames[MAX_FRAMES];
	struct wc_stack stack;
	int resolved;			/* stack attached, or none coming */
};

#define PEND_MAX 16			/* nesting depth we wait through */

/* One CPU of one buffer: its pending events, oldest first. */
struct tdat_stream {
	struct tdat_buf *b;
	int cpu;			/* index for tracecmd_read_data() */
	uint32_t order;			/* tie-break: lower first */
	int started, eof;
	const void *last_data;		/* address of its last record (not
					 * dereferenced: release_behind()) */
	struct pend *q;			/* ring of PEND_MAX */
	int qhead, qlen;
	uint64_t prev_ts;		/* ts of the previous record */
	int have_prev;
};

/* Per-tid state for thread names. */
struct tid_slot {
	int32_t tid;
	uint8_t used;
	uint8_t cmdline_done;		/* saved cmdlines already offered */
	char comm[17];			/* last name reported from events */
};

struct tdat_state {
	struct wc_input *in;
	const char *path;
	struct wc_import_options opt;
	struct tdat_layout layout;
	uint64_t file_size;		/* real size of the input */
	int data_fd;			/* padded copy when salvaging, else -1 */
	struct tracecmd_input *top;
	struct tep_handle *tep;
	struct wc_tep_events *te;
	struct tdat_buf bufs[TDAT_MAX_BUFFERS];
	int nbufs;
	struct tdat_stream *streams;
	int nstreams;
	struct tdat_stream **heap;
	int nheap;
	struct tid_slot *tids;
	size_t tid_cap, tid_used;
	char kallsyms_source[600];
	uint64_t type_count[WC_EV_TYPE_COUNT + 1];
	uint64_t kstacks, orphan_kstacks, missed_reports;
	uint64_t delivered, total_events;
	/* the file libtracecmd maps (release_behind()) */
	int map_known;
	dev_t map_dev;
	ino_t map_ino;
	uint64_t nread;			/* records read by the streams */
	/* salvage: a CPU stream whose data runs past the real end of the
	 * file; events of other streams newer than cut_ts are held back so
	 * that the import is a prefix (by time) of the intact one */
	int cut;
	uint64_t cut_ts;
	struct wc_buf warnings;
	int counted;			/* sandbox_count() filled these: */
	int sandbox_nbufs;
	uint64_t sandbox_nevents[TDAT_MAX_BUFFERS];
	uint64_t sandbox_nkstacks[TDAT_MAX_BUFFERS];
};

/* ---- stdout guard -------------------------------------------------------
 * libtracecmd printf()s diagnostics to stdout; while it parses headers,
 * point fd 1 at /dev/null so they cannot mix with our output. */
struct stdout_guard {
	int saved;
};

static void stdout_mute(struct stdout_guard *g)
{
	int null;

	g->saved = -1;
	fflush(stdout);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null < 0)
		return;
	g->saved = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (g->saved >= 0)
		dup2(null, STDOUT_FILENO);
	close(null);
}

static void stdout_restore(struct stdout_guard *g)
{
	if (g->saved < 0)
		return;
	fflush(stdout);
	dup2(g->saved, STDOUT_FILENO);
	close(g->saved);
	g->saved = -1;
}

/* ---- per-tid table (open addressing, linear probing) ------------------ */

/* The slot of TID, inserting it; NULL when out of memory. */
static struct tid_slot *tid_slot(struct tdat_state *st, int32_t tid)
{
	size_t i, mask;

	if (st->tid_used * 2 >= st->tid_cap) {
		size_t ncap = st->tid_cap ? st->tid_cap * 2 : 1024, j;
		struct tid_slot *n = calloc(ncap, sizeof(*n));

		if (!n)
			return NULL;
		for (j = 0; j < st->tid_cap; j++) {
			struct tid_slot *o = &st->tids[j];
			if (!o->used)
				continue;
			i = (size_t)wc_mix64((uint32_t)o->tid) & (ncap - 1);
			while (n[i].used)
				i = (i + 1) & (ncap - 1);
			n[i] = *o;
		}
		free(st->tids);
		st->tids = n;
		st->tid_cap = ncap;
	}
	mask = st->tid_cap - 1;
	i = (size_t)wc_mix64((uint32_t)tid) & mask;
	while (st->tids[i].used) {
		if (st->tids[i].tid == tid)
			return &st->tids[i];
		i = (i + 1) & mask;
	}
	st->tids[i].used = 1;
	st->tids[i].tid = tid;
	st->tid_used++;
	return &st->tids[i];
}

/* Offers the saved cmdline of TID to the sink the first time TID shows. */
static int note_tid(struct tdat_state *st, const struct wc_sink *sink,
		    int32_t tid, struct wc_error *err)
{
	struct tid_slot *s;
	const char *comm;

	if (tid <= 0)
		return 0;
	s = tid_slot(st, tid);
	if (!s)
		return wc_err(err, WC_ENOMEM, st->path, "out of memory (threads)");
	if (s->cmdline_done)
		return 0;
	s->cmdline_done = 1;
	if (!tep_is_pid_registered(st->tep, tid))
		return 0;
	comm = tep_data_comm_from_pid(st->tep, tid);
	if (!comm || !sink->comm)
		return 0;
	return sink->comm(sink->ctx, 0, tid, -1, comm, WC_COMM_CMDLINES, err);
}

/* Reports COMM of TID at TS when it differs from the last one reported. */
static int note_comm(struct tdat_state *st, const struct wc_sink *sink,
		     uint64_t ts, int32_t tid, const char *comm,
		     enum wc_comm_source src, struct wc_error *err)
{
	struct tid_slot *s;
	int rc;

	if (tid <= 0 || !comm || !comm[0])
		return 0;
	rc = note_tid(st, sink, tid, err);
	if (rc)
		return rc;
	s = tid_slot(st, tid);
	if (!s)
		return wc_err(err, WC_ENOMEM, st->path, "out of memory (threads)");
	if (strncmp(s->comm, comm, sizeof(s->comm) - 1) == 0 &&
	    src != WC_COMM_RENAME)
		return 0;
	{
		/* per event: a bounded copy, not snprintf */
		size_t n = strnlen(comm, sizeof(s->comm) - 1);

		memcpy(s->comm, comm, n);
		s->comm[n] = '\0';
	}
	if (!sink->comm)
		return 0;
	return sink->comm(sink->ctx, ts, tid, -1, comm, src, err);
}

/* Thread-name bookkeeping for one decoded event, before it is delivered. */
static int note_event_threads(struct tdat_state *st,
			      const struct wc_sink *sink,
			      const struct wc_event *ev, struct wc_error *err)
{
	int rc = note_tid(st, sink, ev->tid, err);

	if (rc)
		return rc;
	switch (ev->type) {
	case WC_EV_SCHED_SWITCH:
		if ((rc = note_comm(st, sink, ev->ts, ev->u.sw.prev_tid,
				    ev->u.sw.prev_comm, WC_COMM_EVENT, err)))
			return rc;
		return note_comm(st, sink, ev->ts, ev->u.sw.next_tid,
				 ev->u.sw.next_comm, WC_COMM_EVENT, err);
	case WC_EV_SCHED_WAKING:
	case WC_EV_SCHED_WAKEUP:
	case WC_EV_SCHED_WAKEUP_NEW:
		return note_comm(st, sink, ev->ts, ev->u.wake.tid,
				 ev->u.wake.comm, WC_COMM_EVENT, err);
	case WC_EV_PROCESS_FORK:
		if ((rc = note_comm(st, sink, ev->ts, ev->u.fork.parent_tid,
				    ev->u.fork.parent_comm, WC_COMM_EVENT,
				    err)))
			return rc;
		return note_comm(st, sink, ev->ts, ev->u.fork.child_tid,
				 ev->u.fork.child_comm, WC_COMM_EVENT, err);
	case WC_EV_PROCESS_EXIT:
		return note_comm(st, sink, ev->ts, ev->u.exit.tid,
				 ev->u.exit.comm, WC_COMM_EVENT, err);
	case WC_EV_TASK_RENAME:
		if ((rc = note_tid(st, sink, ev->u.rename.tid, err)))
			return rc;
		return note_comm(st, sink, ev->ts, ev->u.rename.tid,
				 ev->u.rename.newcomm, WC_COMM_RENAME, err);
	default:
		return 0;
	}
}

/* ---- zlib for libtracecmd ----------------------------------------------
 * Debian's libtracecmd 1.3 is built without zlib, so it cannot read v7
 * files written with `--compression zlib` (trace-cmd built with zlib
 * writes them).  We register the same codec trace-cmd's zlib plugin uses
 * (zlib compress2/uncompress, whole block at once) through the exported
 * tracecmd_compress_proto_register(), once per process, when a zlib file
 * shows up and the library does not know zlib already. */

static int zlib_compress_cb(void *ctx, const void *in, int in_bytes,
			    void *out, int out_bytes)
{
	uLongf olen = (uLongf)out_bytes;

	(void)ctx;
	if (in_bytes < 0 || out_bytes < 0)
		return -1;
	if (compress2(out, &olen, in, (uLong)in_bytes, Z_BEST_COMPRESSION) !=
	    Z_OK)
		return -1;
	return (int)olen;
}

static int zlib_uncompress_cb(void *ctx, const void *in, int in_bytes,
			      void *out, int out_bytes)
{
	uLongf olen = (uLongf)out_bytes;

	(void)ctx;
	if (in_bytes < 0 || out_bytes < 0)
		return -1;
	if (uncompress(out, &olen, in, (uLong)in_bytes) != Z_OK)
		return -1;
	return (int)olen;
}

static unsigned int zlib_size_cb(void *ctx, unsigned int bytes)
{
	(void)ctx;
	return (unsigned int)compressBound(bytes);
}

static bool zlib_supported_cb(const char *name, const char *version)
{
	(void)version;
	return name && strcmp(name, "zlib") == 0;
}

/* 0, or -1 when libtracecmd refused the codec. */
static int ensure_zlib_codec(void)
{
	static struct tracecmd_compression_proto proto = {
		.weight = 10, .name = "zlib", .version = NULL,
		.compress = zlib_compress_cb, .uncompress = zlib_uncompress_cb,
		.compress_size = zlib_size_cb,
		.is_supported = zlib_supported_cb,
	};

	if (tracecmd_compress_is_supported("zlib", NULL))
		return 0;
	proto.version = zlibVersion();
	return tracecmd_compress_proto_register(&proto) == 0 ? 0 : -1;
}

/* ---- probe ------------------------------------------------------------ */

static int tdat_probe(const unsigned char *head, size_t len)
{
	static const unsigned char magic[10] = { 23, 8, 68, 't', 'r', 'a',
						 'c', 'i', 'n', 'g' };

	return len >= sizeof(magic) && memcmp(head, magic, sizeof(magic)) == 0;
}

/* ---- symbolizer ------------------------------------------------------- */

static int tdat_resolve(void *ctx, int32_t pid, uint64_t ip, int kernel,
			const char **symbol, uint64_t *symbol_offset,
			const char **dso, uint64_t *dso_offset)
{
	struct tdat_state *st = ctx;
	const char *name = NULL;
	unsigned long long start = 0;
	unsigned long size = 0;

	(void)pid;
	if (!kernel)
		return 0;	/* trace.dat holds no user-space symbols */
	*dso = "[kernel.kallsyms]";
	*dso_offset = ip;
	if (tep_find_function_info(st->tep, ip, &name, &start, &size) &&
	    name) {
		*symbol = name;
		*symbol_offset = ip - start;
	}
	return 0;
}

/* Loads --kallsyms PATH (plain or compressed, through wc_input) into the
 * tep when the capture has none. */
static int load_kallsyms_file(struct tdat_state *st, const char *kpath,
			      struct wc_error *err)
{
	struct wc_input *kin = NULL;
	struct wc_buf text = WC_BUF_INIT;
	char chunk[65536];
	int rc;

	rc = wc_input_open(kpath, &kin, err);
	if (rc)
		return rc;
	for (;;) {
		ssize_t n = wc_input_read(kin, chunk, sizeof(chunk), err);
		if (n < 0) {
			rc = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		if (text.len + (size_t)n > KALLSYMS_MAX) {
			rc = wc_err(err, WC_ELIMIT, kpath,
				    "kallsyms file larger than %u MiB",
				    KALLSYMS_MAX >> 20);
			goto out;
		}
		if (wc_buf_add(&text, chunk, (size_t)n)) {
			rc = wc_err(err, WC_ENOMEM, kpath, "out of memory");
			goto out;
		}
	}
	if (text.len && tep_parse_kallsyms(st->tep, wc_buf_str(&text)) < 0) {
		rc = wc_err(err, WC_EFORMAT, kpath, "cannot parse kallsyms");
		goto out;
	}
	snprintf(st->kallsyms_source, sizeof(st->kallsyms_source), "file:%s",
		 kpath);
out:
	wc_buf_free(&text);
	wc_input_close(kin);
	return rc;
}

/* ---- open / close ----------------------------------------------------- */

static void tdat_close(void *state)
{
	struct tdat_state *st = state;
	int i;

	if (!st)
		return;
	for (i = 0; i < st->nstreams; i++)
		free(st->streams[i].q);
	free(st->streams);
	free(st->heap);
	for (i = 1; i < st->nbufs; i++)
		tracecmd_close(st->bufs[i].h);
	wc_tep_events_free(st->te);
	tracecmd_close(st->top);
	if (st->data_fd >= 0)
		close(st->data_fd);
	free(st->tids);
	wc_buf_free(&st->warnings);
	free(st);
}

/*
 * For --salvage of a file whose CPU data runs past its end: a temporary
 * copy extended with zeros up to the size the headers promise (zero
 * ring-buffer pages read as empty), so libtracecmd can read everything
 * that is there.  Returns the copy's fd or a negative code.
 */
static int padded_copy(struct tdat_state *st, uint64_t want,
		       struct wc_error *err)
{
	char buf[65536];
	uint64_t off = 0;
	int fd;

	fd = wc_tmpfile("trace.dat salvage copy", err);
	if (fd < 0)
		return fd;
	while (off < st->file_size) {
		ssize_t n = pread(st->in->fd, buf, sizeof(buf), (off_t)off);
		if (n <= 0) {
			close(fd);
			return wc_err(err, WC_EIO, st->path,
				      "cannot read at byte %" PRIu64 ": %s", off,
				      n < 0 ? strerror(errno) : "end of file");
		}
		if (write(fd, buf, (size_t)n) != n) {
			close(fd);
			return wc_err(err, WC_EIO, st->path,
				      "cannot write salvage copy: %s",
				      strerror(errno));
		}
		off += (uint64_t)n;
	}
	if (ftruncate(fd, (off_t)want) != 0) {
		close(fd);
		return wc_err(err, WC_EIO, st->path,
			      "cannot extend salvage copy: %s", strerror(errno));
	}
	return fd;
}

/* Clock of buffer NAME as the checker saw it, or "". */
static const char *layout_clock(const struct tdat_layout *l, const char *name)
{
	int i;

	for (i = 0; i < l->nbuffers; i++)
		if (strcmp(l->buf[i].name, name) == 0)
			return l->buf[i].clock;
	return "";
}

/*
 * Opens the file on FD (not consumed) with libtracecmd: the top handle,
 * one handle per buffer instance, and the decoding tables.  Fills
 * st->top, st->tep, st->te, st->bufs/nbufs.  On failure the caller's
 * tdat_close() frees what was opened.
 */
static int open_lib(struct tdat_state *st, int srcfd, struct wc_error *err)
{
	struct stdout_guard g;
	const char *clock;
	struct stat sb;
	int rc, fd, i, n;

	if (fstat(srcfd, &sb) == 0) {
		st->map_known = 1;
		st->map_dev = sb.st_dev;
		st->map_ino = sb.st_ino;
	}

	/* libtracecmd keeps reading from the fd's current position and
	 * closes it: hand it a duplicate positioned at 0. */
	fd = fcntl(srcfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0) {
		rc = wc_err(err, WC_EIO, st->path, "cannot reopen: %s",
			    strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	tracecmd_set_loglevel(TEP_LOG_NONE);
	tep_set_loglevel(TEP_LOG_NONE);
	stdout_mute(&g);
	st->top = tracecmd_open_fd(fd, TRACECMD_FL_LOAD_NO_PLUGINS);
	stdout_restore(&g);
	if (!st->top) {
		/* on some failures libtracecmd closed it, on others not */
		if (fcntl(fd, F_GETFD) >= 0)
			close(fd);
		return wc_err(err, WC_EFORMAT, st->path,
			      "libtracecmd cannot read this trace.dat (version "
			      "%u, compression %s): headers or event formats "
			      "are corrupt", st->layout.version,
			      st->layout.compression);
	}
	st->tep = tracecmd_get_tep(st->top);
	rc = wc_tep_events_new(st->tep, &st->te, err);
	if (rc)
		return rc;

	/* buffers: the top one, then every instance */
	clock = tracecmd_get_trace_clock(st->top);
	st->bufs[0].h = st->top;
	st->bufs[0].id = 0;
	st->bufs[0].name = "";
	snprintf(st->bufs[0].clock, sizeof(st->bufs[0].clock), "%s",
		 layout_clock(&st->layout, "")[0] ? layout_clock(&st->layout, "")
		 : clock ? clock : "");
	st->bufs[0].ncpus = tracecmd_cpus(st->top);
	st->nbufs = 1;
	n = tracecmd_buffer_instances(st->top);
	if (n < 0 || n >= TDAT_MAX_BUFFERS)
		return wc_err(err, WC_ELIMIT, st->path,
			      "%d buffer instances (at most %d supported)", n,
			      TDAT_MAX_BUFFERS - 1);
	for (i = 0; i < n; i++) {
		struct tdat_buf *b = &st->bufs[st->nbufs];
		const char *name = tracecmd_buffer_instance_name(st->top, i);

		stdout_mute(&g);
		b->h = tracecmd_buffer_instance_handle(st->top, i);
		stdout_restore(&g);
		if (!b->h || !name) {
			/* not counted in nbufs: tdat_close() would not close it */
			tracecmd_close(b->h);
			b->h = NULL;
			return wc_err(err, WC_EFORMAT, st->path,
				      "cannot read buffer instance %d (\"%s\")",
				      i, name ? name : "?");
		}
		b->id = (int32_t)(i + 1);
		b->name = name;
		snprintf(b->clock, sizeof(b->clock), "%s",
			 layout_clock(&st->layout, name)[0] ?
			 layout_clock(&st->layout, name) : clock ? clock : "");
		b->ncpus = tracecmd_cpus(b->h);
		st->nbufs++;
	}
	return 0;
}

static int count_events(struct tdat_state *st, int part, int nparts,
			struct wc_error *err);
static int past_real_end(const struct tdat_state *st,
			 const struct tep_record *r);

/* What the sandbox child reports back through its pipe. */
struct sandbox_report {
	uint32_t magic;
	int32_t nbufs;
	uint64_t nevents[TDAT_MAX_BUFFERS];
	uint64_t nkstacks[TDAT_MAX_BUFFERS];
};

#define SANDBOX_MAGIC 0x74646174u	/* "tdat" */
#define SANDBOX_OPEN_FAILED 3		/* child exit: open failed cleanly */

/*
 * libtracecmd and libtraceevent crash on some corrupt inputs that no
 * size check can rule out (e.g. tep_parse_event() on a damaged format
 * text, or a CPU failing inside init_cpu(), after which tracecmd_close()
 * walks zeroed lists).  So the first full pass over the file, which
 * counts each buffer's events, runs in forked children with stdout/stderr
 * on /dev/null and an alarm: if the child dies by a signal, exits
 * abnormally (ASan builds exit 1) or times out, the file is reported as
 * corrupt and the libraries never see it in this process.  A clean
 * failure to open (SANDBOX_OPEN_FAILED) is reported without opening the
 * file in process (libtracecmd leaks and prints to stderr when its open
 * fails).  The counts come back through a pipe and serve
 * sink->buffer().  Without fork() (or pipe()), the pass runs in process.
 */
/*
 * Sanitizer runtimes call a death callback before exiting on an error;
 * libFuzzer registers one that records the input as a crash of the
 * fuzzed code.  Weak: absent (NULL) in builds without a sanitizer.
 */
extern void __sanitizer_set_death_callback(void (*callback)(void))
	__attribute__((weak));

/*
 * In the sandbox child, let a crash of the libraries (or the alarm that
 * bounds its time) kill the child quietly: handlers inherited from the
 * parent (a sanitizer's or a fuzzer's crash reporter) would otherwise
 * report libtracecmd's crash on a corrupt file as a crash of waitchain,
 * which the parent already turns into a clean "corrupt capture" error.
 */
static void sandbox_child_quiet_crashes(void)
{
	/* SIGALRM too: the child's time bound is alarm(), and a fuzzer's own
	 * SIGALRM handler would ignore it */
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
				     SIGALRM };

	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], SIG_DFL);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(NULL);
}

/*
 * Forks one sandbox child counting the CPUs PART, PART + NPARTS, ... of
 * every buffer; *PID and *RFD (the read end of its report pipe) are set.
 * Returns 0, or -1 when fork() or pipe() fail (no child).
 */
static int sandbox_spawn(struct tdat_state *st, int fd, unsigned timeout,
			 int part, int nparts, pid_t *pid, int *rfd)
{
	int pfd[2];

	if (pipe(pfd) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	*pid = fork();
	if (*pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (*pid == 0) {
		struct sandbox_report rep;
		struct wc_error cerr = WC_ERROR_INIT;
		int null = open("/dev/null", O_WRONLY);

		close(pfd[0]);
		sandbox_child_quiet_crashes();
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		alarm(timeout);
		if (open_lib(st, fd, &cerr))
			_exit(SANDBOX_OPEN_FAILED);
		if (count_events(st, part, nparts, &cerr))
			_exit(4);
		memset(&rep, 0, sizeof(rep));
		rep.magic = SANDBOX_MAGIC;
		rep.nbufs = st->nbufs;
		for (int i = 0; i < st->nbufs; i++) {
			rep.nevents[i] = st->bufs[i].nevents;
			rep.nkstacks[i] = st->bufs[i].nkstacks;
		}
		if (write(pfd[1], &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
			_exit(5);
		_exit(0);	/* no cleanup: the parent owns everything */
	}
	close(pfd[1]);
	*rfd = pfd[0];
	return 0;
}

/*
 * Turns one sandbox child's end (its wait STATUS, whether the parent's
 * deadline killed it, and its REP, NULL if incomplete) into 0 or the
 * error that makes the file corrupt.
 */
static int sandbox_verdict(struct tdat_state *st, int status, int timed_out,
			   unsigned timeout, const struct sandbox_report *rep,
			   struct wc_error *err)
{
	if (timed_out || (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM))
		return wc_err(err, WC_EFORMAT, st->path, "libtracecmd did not "
			      "finish reading this file in %u s: it is corrupt "
			      "in a way that makes it loop", timeout);
	if (WIFSIGNALED(status))
		return wc_err(err, WC_EFORMAT, st->path, "libtracecmd crashes "
			      "(signal %d, %s) reading this file: its headers, "
			      "event formats or CPU data are corrupt",
			      WTERMSIG(status), strsignal(WTERMSIG(status)));
	if (WIFEXITED(status) && WEXITSTATUS(status) == SANDBOX_OPEN_FAILED) {
		/* do not retry in process: a failing tracecmd_open_fd()
		 * leaks and prints to stderr */
		if (st->layout.data_error)
			return wc_err(err, st->layout.data_error, st->path,
				      "%s; libtracecmd cannot open the file "
				      "with it (nothing to salvage)",
				      st->layout.data_error_msg);
		return wc_err(err, WC_EFORMAT, st->path, "libtracecmd cannot "
			      "read this trace.dat (version %u, compression "
			      "%s): its headers, event formats or the first "
			      "page of a CPU are corrupt", st->layout.version,
			      st->layout.compression);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !rep ||
	    rep->magic != SANDBOX_MAGIC || rep->nbufs < 1 ||
	    rep->nbufs > TDAT_MAX_BUFFERS)
		return wc_err(err, WC_EFORMAT, st->path, "libtracecmd fails "
			      "abnormally (exit status %d) reading this file: "
			      "it is corrupt", WIFEXITED(status) ?
			      WEXITSTATUS(status) : -1);
	return 0;
}

/*
 * The sandboxed counting pass.  On a machine with more than one CPU it is
 * split over two children, each reading half of the CPUs of every buffer
 * (libtracecmd keeps its reading state per CPU, so each CPU's records are
 * read by exactly the calls a single child would make): the pass is
 * ~0.9 s of a 10 M-event import that nothing else overlaps.  Any child
 * that crashes, loops or fails makes the file corrupt, as with one.
 */
static int sandbox_count(struct tdat_state *st, int fd, struct wc_error *err)
{
	struct sandbox_report rep[2];
	size_t got[2] = { 0, 0 };
	unsigned timeout = st->opt.library_timeout ? st->opt.library_timeout
			   : 120 + (unsigned)(st->file_size >> 23);
	int rfd[2] = { -1, -1 }, status[2] = { 0, 0 }, timed_out = 0;
	int nparts = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1, pending;
	pid_t pid[2] = { -1, -1 };
	int own[2] = { fd, -1 };
	uint64_t deadline;

	/* a report counts only once complete (sandbox_verdict()) */
	memset(rep, 0, sizeof(rep));

	if (nparts == 2) {
		/* libtracecmd read()s at the file offset: each child needs an
		 * open file description of its own, not a shared one */
		char proc[64];

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		own[0] = open(proc, O_RDONLY | O_CLOEXEC);
		own[1] = own[0] >= 0 ? open(proc, O_RDONLY | O_CLOEXEC) : -1;
		if (own[1] < 0) {
			if (own[0] >= 0)
				close(own[0]);
			own[0] = fd;
			nparts = 1;
		}
	}
	for (int k = 0; k < nparts; k++)
		if (sandbox_spawn(st, own[k], timeout, k, nparts, &pid[k], &rfd[k])) {
			if (k == 1) {
				/* one child counts everything */
				kill(pid[0], SIGKILL);
				while (waitpid(pid[0], &status[0], 0) < 0 &&
				       errno == EINTR)
					;
				close(rfd[0]);
				if (sandbox_spawn(st, fd, timeout, 0, 1, &pid[0],
						  &rfd[0]) == 0) {
					nparts = 1;
					break;
				}
			}
			for (int j = 0; j < 2; j++)
				if (own[j] >= 0 && own[j] != fd)
					close(own[j]);
			return 0;	/* no sandbox: in-process count */
		}
	for (int j = 0; j < 2; j++)
		if (own[j] >= 0 && own[j] != fd)
			close(own[j]);	/* the children have their copies */
	pending = nparts;
	/* the parent's own bound, a little after the children's alarm:
	 * should a child not die of it, it is killed, as if it had */
	deadline = wc_now_ns() + (uint64_t)(timeout + 5) * 1000000000u;
	while (pending > 0) {
		struct pollfd p[2];
		int np = 0, r, which[2];

		for (int k = 0; k < nparts; k++)
			if (rfd[k] >= 0) {
				p[np].fd = rfd[k];
				p[np].events = POLLIN;
				p[np].revents = 0;
				which[np++] = k;
			}
		r = poll(p, (nfds_t)np, 100);
		if ((st->opt.interrupted && *st->opt.interrupted) ||
		    wc_now_ns() > deadline) {
			timed_out = !(st->opt.interrupted && *st->opt.interrupted);
			for (int k = 0; k < nparts; k++)
				kill(pid[k], SIGKILL);
			break;
		}
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		for (int j = 0; j < np; j++) {
			int k = which[j];
			ssize_t n;

			if (!p[j].revents)
				continue;	/* only ready pipes: reads block */
			n = read(rfd[k], (char *)&rep[k] + got[k],
				 sizeof(rep[k]) - got[k]);
			if (n < 0 && errno == EINTR)
				continue;
			if (n > 0)
				got[k] += (size_t)n;
			if (n <= 0 || got[k] == sizeof(rep[k])) {
				close(rfd[k]);
				rfd[k] = -1;
				pending--;
			}
		}
	}
	for (int k = 0; k < nparts; k++) {
		if (rfd[k] >= 0)
			close(rfd[k]);
		while (waitpid(pid[k], &status[k], 0) < 0 && errno == EINTR)
			;
	}
	if (st->opt.interrupted && *st->opt.interrupted)
		return wc_err(err, WC_EINTERRUPTED, st->path, "interrupted");
	for (int k = 0; k < nparts; k++) {
		int rc = sandbox_verdict(st, status[k], timed_out, timeout,
					 got[k] == sizeof(rep[k]) ? &rep[k] : NULL, err);

		if (rc)
			return rc;
	}
	if (nparts == 2 && rep[1].nbufs != rep[0].nbufs)
		return wc_err(err, WC_EFORMAT, st->path, "libtracecmd sees %d "
			      "buffers in one pass and %d in another: the file is "
			      "corrupt", rep[0].nbufs, rep[1].nbufs);
	st->sandbox_nbufs = rep[0].nbufs;
	for (int i = 0; i < rep[0].nbufs; i++) {
		st->sandbox_nevents[i] = 0;
		st->sandbox_nkstacks[i] = 0;
		for (int k = 0; k < nparts; k++) {
			st->sandbox_nevents[i] += rep[k].nevents[i];
			st->sandbox_nkstacks[i] += rep[k].nkstacks[i];
		}
	}
	st->counted = 1;
	return 0;
}

static int tdat_open(struct wc_input *in, const struct wc_import_options *opt,
		     void **state, struct wc_symbolizer *sym,
		     struct wc_error *err)
{
	struct tdat_state *st;
	struct stat sb;
	int rc, fd, i;

	*state = NULL;
	sym->ctx = NULL;
	sym->resolve = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return wc_err(err, WC_ENOMEM, in->path, "out of memory");
	st->in = in;
	st->path = in->path;
	st->data_fd = -1;
	if (opt)
		st->opt = *opt;

	if (!in->seekable && (rc = wc_input_spool(in, err)))
		goto fail;
	if (fstat(in->fd, &sb) != 0) {
		rc = wc_err(err, WC_EIO, st->path, "cannot stat: %s",
			    strerror(errno));
		goto fail;
	}
	st->file_size = (uint64_t)sb.st_size;

	rc = tdat_check(in->fd, st->file_size, st->path, &st->layout, err);
	if (rc)
		goto fail;
	fd = in->fd;
	if (st->layout.data_error && !st->opt.salvage) {
		rc = wc_err(err, st->layout.data_error, st->path,
			    "%s (--salvage imports the events before it)",
			    st->layout.data_error_msg);
		goto fail;
	}
	if (st->layout.truncated_at) {
		uint64_t want = 0;

		for (i = 0; i < st->layout.nbuffers; i++)
			if (st->layout.buf[i].data_end > want)
				want = st->layout.buf[i].data_end;
		if (want - st->file_size > (1ull << 40)) {
			rc = wc_err(err, WC_ELIMIT, st->path, "CPU data claims "
				    "to end at byte %" PRIu64 ", %" PRIu64 " bytes "
				    "past the end of the file: not salvaging that",
				    want, want - st->file_size);
			goto fail;
		}
		rc = padded_copy(st, want, err);
		if (rc < 0)
			goto fail;
		st->data_fd = rc;
		fd = rc;
	}

	if (strcmp(st->layout.compression, "zlib") == 0 &&
	    ensure_zlib_codec() != 0) {
		rc = wc_err(err, WC_EUNSUPPORTED, st->path, "zlib-compressed "
			    "trace.dat, and libtracecmd refused our zlib codec");
		goto fail;
	}
	rc = sandbox_count(st, fd, err);
	if (!rc)
		rc = open_lib(st, fd, err);
	if (rc)
		goto fail;

	/* kernel symbols */
	if (tep_get_function_count(st->tep) > 0) {
		snprintf(st->kallsyms_source, sizeof(st->kallsyms_source),
			 "capture");
	} else if (st->opt.kallsyms) {
		rc = load_kallsyms_file(st, st->opt.kallsyms, err);
		if (rc)
			goto fail;
	} else {
		snprintf(st->kallsyms_source, sizeof(st->kallsyms_source),
			 "none");
	}
	sym->ctx = st;
	sym->resolve = tdat_resolve;
	*state = st;
	return 0;
fail:
	tdat_close(st);
	return rc;
}

/* ---- run -------------------------------------------------------------- */

static int put_meta(const struct wc_sink *sink, const char *key,
		    const char *value, struct wc_error *err)
{
	if (!sink->meta || !value)
		return 0;
	return sink->meta(sink->ctx, key, value, err);
}

static int put_meta_u64(const struct wc_sink *sink, const char *key,
			uint64_t v, struct wc_error *err)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	return put_meta(sink, key, num, err);
}

/* Capture-level metadata known before reading events. */
static int deliver_header_meta(struct tdat_state *st,
			       const struct wc_sink *sink,
			       struct wc_error *err)
{
	const char *uname = tracecmd_get_uname(st->top);
	const char *ver = tracecmd_get_version(st->top);
	char tmp[512];
	int rc = 0, i, nimported = 0;

	rc = put_meta(sink, "format", "trace.dat", err);
	if (!rc)
		rc = put_meta_u64(sink, "format_version",
				  tracecmd_get_in_file_version(st->top), err);
	if (!rc)
		rc = put_meta(sink, "file_compression",
			      st->layout.compression, err);
	if (!rc && uname) {
		/* trace-cmd writes "sysname nodename release machine" */
		char f[4][128] = { "", "", "", "" };
		int nf = sscanf(uname, "%127s %127s %127s %127s", f[0], f[1],
				f[2], f[3]);
		rc = put_meta(sink, "uname", uname, err);
		if (!rc && nf >= 2)
			rc = put_meta(sink, "hostname", f[1], err);
		if (!rc && nf >= 3)
			rc = put_meta(sink, "osrelease", f[2], err);
		if (!rc && nf >= 4)
			rc = put_meta(sink, "arch", f[3], err);
	}
	if (!rc && ver) {
		snprintf(tmp, sizeof(tmp), "trace-cmd %s", ver);
		rc = put_meta(sink, "tracer_version", tmp, err);
	}
	for (i = 0; !rc && i < st->nbufs; i++)
		if (st->bufs[i].imported && !nimported++)
			rc = put_meta(sink, "clock", st->bufs[i].clock, err);
	if (!rc && !nimported)
		rc = put_meta(sink, "clock", st->bufs[0].clock, err);
	if (!rc)
		rc = put_meta_u64(sink, "nrcpus",
				  (uint64_t)tracecmd_cpus(st->top), err);
	if (!rc)
		rc = put_meta(sink, "kallsyms_source", st->kallsyms_source,
			      err);
	if (!rc && tracecmd_get_traceid(st->top)) {
		snprintf(tmp, sizeof(tmp), "%llx",
			 (unsigned long long)tracecmd_get_traceid(st->top));
		rc = put_meta(sink, "trace_id", tmp, err);
	}
	if (!rc)
		rc = put_meta_u64(sink, "buffers", (uint64_t)st->nbufs, err);
	return rc;
}

/* Polls *interrupted. */
static int check_interrupt(struct tdat_state *st, struct wc_error *err)
{
	if (st->opt.interrupted && *st->opt.interrupted)
		return wc_err(err, WC_EINTERRUPTED, st->path,
			      "interrupted after %" PRIu64 " events",
			      st->delivered);
	return 0;
}

/*
 * Peak RSS: libtracecmd 3.1 mmap()s each CPU's data in large chunks
 * (page_map_size, up to the CPU's whole section) and keeps a chunk until
 * the CPU leaves it, so every page read stays resident: a 470 MiB
 * trace.dat took 660 MiB.  Every POLL_EVERY records, the pages of those
 * mappings more than a page behind a stream's last record (AT[0..N-1])
 * are dropped with MADV_DONTNEED (behind the slowest stream inside each
 * mapping).  Only read-only private mappings of
 * our own file are touched (found in /proc/self/maps by device and
 * inode): for those, dropping a page only means it is read again from
 * the page cache if libtracecmd ever comes back to it, so this cannot
 * change what is read.  Best effort: without /proc nothing is dropped.
 */
static void release_behind(const struct tdat_state *st, const void *const *at,
			   int n)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	char line[512];
	FILE *f;

	if (!st->map_known || pg == 0 || (pg & (pg - 1)))
		return;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off, ino;
		unsigned maj, mnr;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &lo, &hi, perms,
			   &off, &maj, &mnr, &ino) != 7 ||
		    strcmp(perms, "r--p") != 0 || ino != (unsigned long)st->map_ino ||
		    maj != major(st->map_dev) || mnr != minor(st->map_dev))
			continue;
		uintptr_t cut = UINTPTR_MAX;

		/* streams sharing a mapping: keep from the slowest one */
		for (int i = 0; i < n; i++) {
			uintptr_t a = (uintptr_t)at[i];

			if (a >= lo && a < hi && a < cut)
				cut = a;
		}
		if (cut == UINTPTR_MAX)
			continue;
		cut &= ~(pg - 1);
		if (cut - lo > pg)
			madvise((void *)lo, cut - pg - lo, MADV_DONTNEED);
	}
	fclose(f);
}

/* Counts the events of every buffer (one pass of record headers). */
static int count_events(struct tdat_state *st, int part, int nparts,
			struct wc_error *err)
{
	uint64_t seen = 0;
	int i, cpu, rc;

	assert(nparts >= 1 && part >= 0 && part < nparts);
	for (i = 0; i < st->nbufs; i++) {
		struct tdat_buf *b = &st->bufs[i];

		b->nevents = 0;
		b->nkstacks = 0;
		for (cpu = part; cpu < b->ncpus; cpu += nparts) {
			struct tep_record *r = tracecmd_read_cpu_first(b->h, cpu);

			while (r && !past_real_end(st, r)) {
				int id = wc_tep_events_id(st->te, r->data,
							  (size_t)r->size);
				const void *at = r->data;

				if (!wc_tep_events_is_kernel_stack(st->te, id))
					b->nevents++;
				else
					b->nkstacks++;
				tracecmd_free_record(r);
				if (!(++seen % POLL_EVERY)) {
					release_behind(st, &at, 1);
					if ((rc = check_interrupt(st, err)))
						return rc;
				}
				r = tracecmd_read_data(b->h, cpu);
			}
			tracecmd_free_record(r);
		}
	}
	return 0;
}

/* Picks the buffers to import: --buffer NAME, else all with events. */
static int select_buffers(struct tdat_state *st, struct wc_error *err)
{
	const char *want = st->opt.buffer;
	struct wc_buf names = WC_BUF_INIT;
	int i, found = -1;

	if (!want) {
		for (i = 0; i < st->nbufs; i++)
			st->bufs[i].imported = st->bufs[i].nevents > 0;
		return 0;
	}
	for (i = 1; i < st->nbufs && found < 0; i++)
		if (strcmp(st->bufs[i].name, want) == 0)
			found = i;
	if (found < 0 && (!*want || strcmp(want, "top") == 0))
		found = 0;
	if (found < 0) {
		int rc;
		for (i = 0; i < st->nbufs; i++)
			wc_buf_printf(&names, "%s\"%s\"", i ? ", " : "",
				      i ? st->bufs[i].name : "top");
		rc = wc_err(err, WC_ENOTFOUND, st->path,
			    "no buffer named \"%s\" (buffers: %s)", want,
			    wc_buf_str(&names));
		wc_buf_free(&names);
		return rc;
	}
	for (i = 0; i < st->nbufs; i++)
		st->bufs[i].imported = i == found;
	return 0;
}

/*
 * Per-CPU statistics (CPUSTAT options, text written by trace-cmd from
 * tracefs per_cpu/cpuN/stats; "Buffer: NAME" lines separate buffers):
 * non-zero "overrun"/"commit overrun" and "dropped events" of imported
 * buffers become sink->lost() reports.
 */
static int deliver_cpustats(struct tdat_state *st, const struct wc_sink *sink,
			    struct wc_error *err)
{
	const char *text = tracecmd_get_cpustats(st->top);
	const char *line, *eol;
	char cur[TDAT_NAME_MAX] = "";
	int cpu = -1, imported = 0, i, rc;

	if (!text || !sink->lost)
		return 0;
	for (i = 0; i < st->nbufs; i++)
		if (!st->bufs[i].name[0])
			imported = st->bufs[i].imported;
	for (line = text; *line; line = *eol ? eol + 1 : eol) {
		unsigned long long v;
		const char *kind = NULL;
		size_t len;

		eol = strchr(line, '\n');
		if (!eol)
			eol = line + strlen(line);
		len = (size_t)(eol - line);
		if (len > 8 && strncmp(line, "Buffer: ", 8) == 0) {
			size_t nl = len - 8 < sizeof(cur) - 1 ? len - 8 :
				    sizeof(cur) - 1;
			memcpy(cur, line + 8, nl);
			cur[nl] = '\0';
			imported = 0;
			for (i = 1; i < st->nbufs; i++)
				if (strcmp(st->bufs[i].name, cur) == 0)
					imported = st->bufs[i].imported;
			cpu = -1;
			continue;
		}
		if (sscanf(line, "CPU: %d", &cpu) == 1)
			continue;
		if (sscanf(line, "overrun: %llu", &v) == 1)
			kind = "overrun";
		else if (sscanf(line, "commit overrun: %llu", &v) == 1)
			kind = "overrun";
		else if (sscanf(line, "dropped events: %llu", &v) == 1)
			kind = "dropped";
		if (!kind || !v || !imported)
			continue;
		rc = sink->lost(sink->ctx, cpu, 0, 0, (uint64_t)v, kind, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Oldest pending event of S. */
static struct pend *q_front(struct tdat_stream *s)
{
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): callers pass heap entries */
	return &s->q[s->qhead];
}

/* Heap of streams ordered by (oldest pending event ts, order). */
static int stream_less(struct tdat_stream *a, struct tdat_stream *b)
{
	uint64_t ta = q_front(a)->ev.ts, tb = q_front(b)->ev.ts;

	if (ta != tb)
		return ta < tb;
	return a->order < b->order;
}

static void heap_down(struct tdat_state *st, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		struct tdat_stream *t;

		if (l < st->nheap && stream_less(st->heap[l], st->heap[m]))
			m = l;
		if (r < st->nheap && stream_less(st->heap[r], st->heap[m]))
			m = r;
		if (m == i)
			return;
		t = st->heap[i];
		st->heap[i] = st->heap[m];
		st->heap[m] = t;
		i = m;
	}
}

/* Where a record is, for messages. */
static void record_where(const struct tdat_stream *s,
			 const struct tep_record *r, char *out, size_t len)
{
	snprintf(out, len, "buffer \"%s\" CPU %d, record at data offset %llu, "
		 "ts %llu", s->b->name, s->cpu, (unsigned long long)r->offset,
		 (unsigned long long)r->ts);
}

/* In salvage mode on a padded copy: is R past the real end of file?  (Only
 * meaningful for uncompressed data, where offsets are file offsets.) */
static int past_real_end(const struct tdat_state *st,
			 const struct tep_record *r)
{
	if (st->data_fd < 0 || strcmp(st->layout.compression, "none") != 0)
		return 0;
	return r->offset + (unsigned long long)(r->record_size > 0 ?
						r->record_size : 0) >
	       st->file_size;
}

/* Points *S at a copy in BUF (256 bytes). */
static void own_str(const char **s, char *buf)
{
	size_t n;

	if (!*s)
		return;
	n = strnlen(*s, 255);	/* per event: no snprintf */
	memcpy(buf, *s, n);
	buf[n] = '\0';
	*s = buf;
}

/* Makes P's event independent of the decoder's scratch strings. */
static void pend_own_strings(struct pend *p)
{
	struct wc_event *e = &p->ev;

	switch (e->type) {
	case WC_EV_SCHED_SWITCH:
		own_str(&e->u.sw.prev_comm, p->str[0]);
		own_str(&e->u.sw.next_comm, p->str[1]);
		break;
	case WC_EV_SCHED_WAKING:
	case WC_EV_SCHED_WAKEUP:
	case WC_EV_SCHED_WAKEUP_NEW:
		own_str(&e->u.wake.comm, p->str[0]);
		break;
	case WC_EV_PROCESS_FORK:
		own_str(&e->u.fork.parent_comm, p->str[0]);
		own_str(&e->u.fork.child_comm, p->str[1]);
		break;
	case WC_EV_PROCESS_EXIT:
		own_str(&e->u.exit.comm, p->str[0]);
		break;
	case WC_EV_TASK_RENAME:
		own_str(&e->u.rename.oldcomm, p->str[0]);
		own_str(&e->u.rename.newcomm, p->str[1]);
		break;
	default:
		break;	/* other strings are static or owned by the tep */
	}
}

/*
 * A kernel_stack record R read on S: the stack of the most recent
 * pending event that has none yet.  The kernel takes the stack after the
 * event is committed; an interrupt in between traces its own events and
 * their stacks first, so the stacks of nested events come back in LIFO
 * order (seen in bql-stacks: sys_exit_futex, sched_waking + stack,
 * sched_wakeup + stack, then sys_exit_futex's stack 50 us later).
 */
static void attach_stack(struct tdat_state *st, struct tdat_stream *s,
			 const struct tep_record *r)
{
	int i;

	st->kstacks++;
	for (i = s->qlen - 1; i >= 0; i--) {
		struct pend *p = &s->q[(s->qhead + i) % PEND_MAX];
		int nf;

		if (p->resolved)
			continue;
		nf = wc_tep_events_kernel_stack(st->te, r->data,
						(size_t)r->size, p->frames,
						MAX_FRAMES);
		p->resolved = 1;
		if (nf > 0) {
			p->stack.frames = p->frames;
			p->stack.nframes = (uint32_t)nf;
			p->ev.stack = &p->stack;
		}
		return;
	}
	st->orphan_kstacks++;
}

/*
 * Reads one record of S into its queue (events) or onto a queued event
 * (kernel stacks).  Returns 1 when a record was consumed, 0 at the end of
 * the CPU's data, or a negative code.
 */
static int stream_read_one(struct tdat_state *st, struct tdat_stream *s,
			   const struct wc_sink *sink, struct wc_error *err)
{
	struct tep_record *r;
	struct pend *p;
	char why[160], where[200];
	int id, rc;

	if (s->eof)
		return 0;
	r = s->started ? tracecmd_read_data(s->b->h, s->cpu) :
			 tracecmd_read_cpu_first(s->b->h, s->cpu);
	s->started = 1;
	if (!r || past_real_end(st, r)) {
		if (r) {
			/* the stream's missing records may be older than what
			 * other CPUs still hold: nothing newer than its last
			 * complete record is known to be complete */
			uint64_t last = s->have_prev ? s->prev_ts : 0;

			if (!st->cut || last < st->cut_ts)
				st->cut_ts = last;
			st->cut = 1;
		}
		tracecmd_free_record(r);
		s->eof = 1;
		return 0;
	}
	if (r->missed_events && sink->lost) {
		/* -1: the ring buffer lost events, count unknown */
		uint64_t n = r->missed_events > 0 ?
			     (uint64_t)r->missed_events : 0;
		st->missed_reports++;
		rc = sink->lost(sink->ctx, r->cpu, s->have_prev ? s->prev_ts : 0,
				r->ts, n, "missed", err);
		if (rc) {
			tracecmd_free_record(r);
			return rc;
		}
	}
	s->prev_ts = r->ts;
	s->have_prev = 1;
	s->last_data = r->data;
	if (!(++st->nread % POLL_EVERY)) {
		const void *at[64];
		int n = 0;

		for (int i = 0; i < st->nstreams && n < 64; i++)
			if (st->streams[i].last_data)
				at[n++] = st->streams[i].last_data;
		release_behind(st, at, n);
	}
	id = wc_tep_events_id(st->te, r->data, (size_t)r->size);
	if (wc_tep_events_is_kernel_stack(st->te, id)) {
		attach_stack(st, s, r);
		tracecmd_free_record(r);
		return 1;
	}
	assert(s->qlen < PEND_MAX);
	p = &s->q[(s->qhead + s->qlen) % PEND_MAX];
	memset(&p->ev, 0, sizeof(p->ev));
	rc = wc_tep_events_decode(st->te, r->data, (size_t)r->size, &p->ev, why,
				  sizeof(why));
	if (rc) {
		record_where(s, r, where, sizeof(where));
		tracecmd_free_record(r);
		return wc_err(err, WC_EFORMAT, st->path, "%s (%s)", why, where);
	}
	p->ev.ts = r->ts;
	p->ev.cpu = r->cpu;
	p->ev.buffer = s->b->id;
	p->ev.stack = NULL;
	/* only buffers recorded with -T get stacks: do not wait otherwise */
	p->resolved = s->b->nkstacks == 0;
	pend_own_strings(p);
	s->qlen++;
	tracecmd_free_record(r);
	return 1;
}

/*
 * Reads S until its oldest pending event is complete: it has its stack,
 * or cannot get one (end of data, or PEND_MAX events queued behind it).
 * Returns 1 if S has an event to deliver, 0 if S is done, or a negative
 * code.
 */
static int stream_fill(struct tdat_state *st, struct tdat_stream *s,
		       const struct wc_sink *sink, struct wc_error *err)
{
	while (!(s->qlen > 0 && q_front(s)->resolved)) {
		int rc;

		if (s->qlen == PEND_MAX) {
			q_front(s)->resolved = 1;
			break;
		}
		rc = stream_read_one(st, s, sink, err);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (s->qlen > 0)
				q_front(s)->resolved = 1;
			break;
		}
	}
	return s->qlen > 0;
}

/* Builds one stream per CPU of every imported buffer and primes them. */
static int setup_streams(struct tdat_state *st, const struct wc_sink *sink,
			 struct wc_error *err)
{
	int i, cpu, total = 0, rc;

	for (i = 0; i < st->nbufs; i++)
		if (st->bufs[i].imported && st->bufs[i].ncpus > 0)
			total += st->bufs[i].ncpus;
	st->streams = calloc(total ? (size_t)total : 1, sizeof(*st->streams));
	st->heap = calloc(total ? (size_t)total : 1, sizeof(*st->heap));
	if (!st->streams || !st->heap)
		return wc_err(err, WC_ENOMEM, st->path, "out of memory");
	for (i = 0; i < st->nbufs; i++) {
		struct tdat_buf *b = &st->bufs[i];

		if (!b->imported)
			continue;
		for (cpu = 0; cpu < b->ncpus; cpu++) {
			struct tdat_stream *s = &st->streams[st->nstreams];

			s->b = b;
			s->cpu = cpu;
			s->order = (uint32_t)st->nstreams;
			s->q = calloc(PEND_MAX, sizeof(*s->q));
			if (!s->q)
				return wc_err(err, WC_ENOMEM, st->path,
					      "out of memory");
			st->nstreams++;
			rc = stream_fill(st, s, sink, err);
			if (rc < 0)
				return rc;
			if (rc)
				st->heap[st->nheap++] = s;
		}
	}
	for (i = st->nheap / 2 - 1; i >= 0; i--)
		heap_down(st, i);
	return 0;
}

/* Delivers the merged events of every imported buffer. */
static int deliver_events(struct tdat_state *st, const struct wc_sink *sink,
			  struct wc_error *err)
{
	int rc;

	while (st->nheap > 0) {
		struct tdat_stream *s = st->heap[0];
		struct pend *p = q_front(s);

		if (st->cut && p->ev.ts > st->cut_ts)
			break;	/* salvage: the rest is not known complete */
		rc = note_event_threads(st, sink, &p->ev, err);
		if (!rc && sink->event)
			rc = sink->event(sink->ctx, &p->ev, err);
		if (rc)
			return rc;
		st->type_count[p->ev.type]++;
		st->delivered++;
		s->qhead = (s->qhead + 1) % PEND_MAX;
		s->qlen--;
		if (!(st->delivered % POLL_EVERY)) {
			if ((rc = check_interrupt(st, err)))
				return rc;
			if (st->opt.progress && st->total_events)
				st->opt.progress(st->opt.progress_ctx,
						 st->file_size * st->delivered /
						 st->total_events,
						 st->delivered);
		}
		rc = stream_fill(st, s, sink, err);
		if (rc < 0)
			return rc;
		if (!rc)
			st->heap[0] = st->heap[--st->nheap];
		if (st->nheap > 0)
			heap_down(st, 0);
	}
	return 0;
}

/* Metadata known only after the events. */
static int deliver_tail_meta(struct tdat_state *st, const struct wc_sink *sink,
			     struct wc_error *err)
{
	int rc;

	if (st->orphan_kstacks)
		wc_buf_printf(&st->warnings, "%" PRIu64 " kernel stacks had no "
			      "event waiting for one on their CPU; not "
			      "attached\n", st->orphan_kstacks);
	if (st->missed_reports)
		wc_buf_printf(&st->warnings, "the ring buffer lost events "
			      "%" PRIu64 " times (see table lost)\n",
			      st->missed_reports);
	rc = put_meta_u64(sink, "kernel_stack_events", st->kstacks, err);
	if (!rc && st->orphan_kstacks)
		rc = put_meta_u64(sink, "kernel_stack_unattached",
				  st->orphan_kstacks, err);
	if (!rc)
		rc = put_meta(sink, "has_stacks", st->kstacks ? "1" : "0", err);
	if (!rc)
		rc = put_meta(sink, "has_sched_waking",
			      st->type_count[WC_EV_SCHED_WAKING] ? "1" : "0",
			      err);
	if (!rc)
		rc = put_meta(sink, "has_futex",
			      st->type_count[WC_EV_FUTEX_ENTER] ||
			      st->type_count[WC_EV_FUTEX_EXIT] ? "1" : "0",
			      err);
	if (!rc && st->warnings.len) {
		/* drop the final newline */
		st->warnings.data[--st->warnings.len] = '\0';
		rc = put_meta(sink, "warnings", wc_buf_str(&st->warnings), err);
	}
	return rc;
}

static int tdat_run(void *state, const struct wc_sink *sink,
		    struct wc_error *err)
{
	struct tdat_state *st = state;
	int rc, i;

	rc = check_interrupt(st, err);
	if (!rc && st->counted && st->sandbox_nbufs == st->nbufs) {
		for (i = 0; i < st->nbufs; i++) {
			st->bufs[i].nevents = st->sandbox_nevents[i];
			st->bufs[i].nkstacks = st->sandbox_nkstacks[i];
		}
	} else if (!rc) {
		rc = count_events(st, 0, 1, err);
	}
	if (!rc)
		rc = select_buffers(st, err);
	if (!rc)
		rc = deliver_header_meta(st, sink, err);
	for (i = 0; !rc && i < st->nbufs; i++) {
		struct tdat_buf *b = &st->bufs[i];
		struct wc_buffer_info bi = {
			.id = b->id, .name = b->name,
			.clock = b->clock[0] ? b->clock : NULL,
			.ncpus = b->ncpus, .nevents = b->nevents,
			.imported = b->imported,
		};
		if (b->imported)
			st->total_events += b->nevents;
		if (sink->buffer)
			rc = sink->buffer(sink->ctx, &bi, err);
	}
	if (!rc)
		rc = deliver_cpustats(st, sink, err);
	if (!rc)
		rc = setup_streams(st, sink, err);
	if (!rc)
		rc = deliver_events(st, sink, err);
	if (!rc)
		rc = deliver_tail_meta(st, sink, err);
	if (!rc && st->layout.data_error) {
		/* salvage: everything libtracecmd could read is in */
		struct wc_error ignore = WC_ERROR_INIT;

		put_meta(sink, "truncated", "1", &ignore);
		put_meta(sink, "truncated_reason", st->layout.data_error_msg,
			 &ignore);
		rc = wc_err(err, st->layout.data_error, st->path, "%s; "
			    "imported the %" PRIu64 " events before it",
			    st->layout.data_error_msg, st->delivered);
	} else if (rc && st->opt.salvage && st->delivered &&
		   rc != -WC_EINTERRUPTED) {
		struct wc_error ignore = WC_ERROR_INIT;

		put_meta(sink, "truncated", "1", &ignore);
		put_meta(sink, "truncated_reason", err->msg, &ignore);
	}
	return rc;
}

const struct wc_importer wc_importer_trace_dat = {
	.name = "trace.dat",
	.probe = tdat_probe,
	.open = tdat_open,
	.run = tdat_run,
	.close = tdat_close,
};
