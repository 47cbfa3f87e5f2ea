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
 * number of events.  Compressed CPU data (v7 with zstd or zlib) is the
 * exception libtracecmd 3.1 makes (it keeps every chunk it decompressed,
 * and walks them all at each page: quadratic time), so such a file is
 * first copied uncompressed to $TMPDIR by libtracecmd in a sandbox child
 * while this process checks every chunk, and the copy is read instead
 * (uncompressed_copy(); without a copy, the file is read in place).
 *
 * Crash containment and two cores (trace_dat-sandbox.c): forked
 * children read and decode the CPU data (two on a machine with two CPUs
 * or more, each taking half of the CPUs, with the streams and merge
 * below) and send the events through shared memory; this process merges
 * the two sequences by (ts, stream order), the order one process would
 * deliver in, and never reads a record itself, so a libtracecmd or
 * libtraceevent crash or hang on a corrupt file becomes an error message
 * instead of taking the process down.  It still opens the file (after
 * the children did) for headers, saved cmdlines and kernel symbols.
 * The buffers' counts of events come at the end: the buffers are
 * delivered again then (sink->buffer() replaces).  Without fork(), the
 * same streams run here, after a counting pass (count_events()).
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
#include <sys/resource.h>
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
/* state is enum tracecmd_file_states: TRACECMD_FILE_CPU_FLYRECORD copies
 * everything, CPU data included */
struct tracecmd_output;
#define TRACECMD_FILE_CPU_FLYRECORD 11
struct tracecmd_output *tracecmd_copy(struct tracecmd_input *ihandle,
				      const char *file, int state,
				      int file_version, const char *compression);
void tracecmd_output_close(struct tracecmd_output *handle);

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
	int counted;			/* nevents, nkstacks are known */
	uint64_t got_events;		/* events the streams read */
	uint64_t got_kstacks;		/* kernel stacks the streams read */
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
	int nowait;			/* its buffer is known to have no
					 * kernel stacks: events need not wait */
	const void *last_data;		/* address of its last record (not
					 * dereferenced: release_behind()) */
	struct pend *q;			/* ring of PEND_MAX */
	int qhead, qlen;
	uint64_t prev_ts;		/* ts of the previous record */
	int have_prev;
	/* a record that does not decode stops the stream, but its events
	 * read before it are delivered first: the error is raised where a
	 * stream reading one record at a time would raise it, whatever the
	 * read-ahead (sandbox children always read ahead) */
	int failed;			/* the error's code, 0 = none */
	struct wc_error *ferr;		/* its message (malloc'd) */
	int64_t off_delta;		/* see tdat_state.odelta */
};

/* See tdat_state.odelta. */
struct tdat_offset_delta {
	char buf[TDAT_NAME_MAX];
	int cpu;
	int64_t delta;
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
	uint64_t file_size;		/* real size of what is read (data_fd) */
	/* what libtracecmd reads instead of the input, else -1: the padded
	 * copy when salvaging, or the uncompressed copy of compressed CPU
	 * data (uncompressed_copy()) */
	int data_fd;
	char file_compression[32];	/* the input's, for the capture meta */
	int layout_fd;			/* the file st->layout describes */
	int padded;			/* data_fd is the padded copy */
	/* reading the uncompressed copy: per (buffer, CPU) with data, what
	 * to add to a record's offset in the copy to get the offset
	 * libtracecmd gives it in the original (for messages) */
	struct tdat_offset_delta *odelta;
	int nodelta;
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
	/* the children reading the file (trace_dat-sandbox.c); NULL: this
	 * process reads it */
	struct tdat_sandbox *sb;
	/* in a sandbox child: where its events go, and its share of CPUs */
	struct tdat_sandbox_out *out;
	int part, nparts;
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

/*
 * The slot of TID (> 0), offering its saved cmdline to the sink the first
 * time TID shows.  *SLOT is valid until the next lookup (the table may
 * grow).  Returns 0 or a negative code.
 */
static int tid_seen(struct tdat_state *st, const struct wc_sink *sink,
		    int32_t tid, struct tid_slot **slot, struct wc_error *err)
{
	struct tid_slot *s;
	const char *comm;

	assert(tid > 0);
	*slot = s = tid_slot(st, tid);
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

/* Offers the saved cmdline of TID to the sink the first time TID shows. */
static int note_tid(struct tdat_state *st, const struct wc_sink *sink,
		    int32_t tid, struct wc_error *err)
{
	struct tid_slot *s;

	return tid > 0 ? tid_seen(st, sink, tid, &s, err) : 0;
}

/* Reports COMM of TID at TS when it differs from the last one reported. */
static int note_comm(struct tdat_state *st, const struct wc_sink *sink,
		     uint64_t ts, int32_t tid, const char *comm,
		     enum wc_comm_source src, struct wc_error *err)
{
	struct tid_slot *s;
	size_t n;
	int rc;

	if (tid <= 0 || !comm || !comm[0])
		return 0;
	/* one lookup per name: it is the tid table's hottest path */
	rc = tid_seen(st, sink, tid, &s, err);
	if (rc || !s)
		return rc;	/* !s only with rc < 0 */
	if (strncmp(s->comm, comm, sizeof(s->comm) - 1) == 0 &&
	    src != WC_COMM_RENAME)
		return 0;
	/* per event: a bounded copy, not snprintf */
	n = strnlen(comm, sizeof(s->comm) - 1);
	memcpy(s->comm, comm, n);
	s->comm[n] = '\0';
	if (!sink->comm)
		return 0;
	return sink->comm(sink->ctx, ts, tid, -1, comm, src, err);
}

/* Thread-name bookkeeping for one decoded event, before it is delivered. */
static int note_event_threads(struct tdat_state *st,
			      const struct wc_sink *sink,
			      const struct wc_event *ev, struct wc_error *err)
{
	int rc;

	switch (ev->type) {
	case WC_EV_SCHED_SWITCH:
		/* the context is normally prev, whose note_comm() offers
		 * its cmdline first, as note_tid(ev->tid) would */
		if ((ev->tid != ev->u.sw.prev_tid || !ev->u.sw.prev_comm ||
		     !ev->u.sw.prev_comm[0]) &&
		    (rc = note_tid(st, sink, ev->tid, err)))
			return rc;
		if ((rc = note_comm(st, sink, ev->ts, ev->u.sw.prev_tid,
				    ev->u.sw.prev_comm, WC_COMM_EVENT, err)))
			return rc;
		return note_comm(st, sink, ev->ts, ev->u.sw.next_tid,
				 ev->u.sw.next_comm, WC_COMM_EVENT, err);
	default:
		break;
	}
	if ((rc = note_tid(st, sink, ev->tid, err)))
		return rc;
	switch (ev->type) {
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
	tdat_sandbox_free(st->sb);
	tdat_layout_free(&st->layout);
	for (i = 0; i < st->nstreams; i++) {
		free(st->streams[i].q);
		free(st->streams[i].ferr);
	}
	free(st->streams);
	free(st->heap);
	for (i = 1; i < st->nbufs; i++)
		tracecmd_close(st->bufs[i].h);
	wc_tep_events_free(st->te);
	tracecmd_close(st->top);
	if (st->data_fd >= 0)
		close(st->data_fd);
	free(st->tids);
	free(st->odelta);
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

/*
 * Compressed CPU data (v7, zstd or zlib) is not read in place.
 * libtracecmd 3.1 keeps every chunk it decompresses while reading
 * (its free_zpage() never finds the chunk a page came from), and walks
 * the list of those chunks at every page it frees: memory grows with
 * the uncompressed capture and time with its square (a 50 MB zstd file
 * of 7 M events: 5.7 s, 44 % of it in that walk; the whole capture
 * uncompressed in memory).  Instead, libtracecmd itself copies the file
 * uncompressed into a temporary file in $TMPDIR (tracecmd_copy() with
 * compression "none", what `trace-cmd convert --compression none` does:
 * one streaming pass, a few MiB of memory) in a sandbox child, while
 * this process checks every chunk of the original (tdat_check_regions()),
 * and the importer then reads the copy like any uncompressed file.
 *
 * The copy is only an accelerator: when the child fails (disk full, a
 * chunk libtracecmd refuses, a crash) the original is read as before,
 * and damage is always reported against the original file.
 */
/* Seconds a sandbox child may take on ST's file (its alarm). */
static unsigned library_timeout(const struct tdat_state *st)
{
	return st->opt.library_timeout ? st->opt.library_timeout
	       : 120 + (unsigned)(st->file_size >> 23);
}

/* What ST's file may hold uncompressed, at most: 64 times its size (the
 * copy's file size limit, and the memory libtracecmd may take reading
 * compressed data in place). */
static uint64_t uncompressed_bound(const struct tdat_state *st)
{
	return st->file_size < (1ull << 40) ? 64 * st->file_size : 1ull << 46;
}

struct copy_job {
	const char *out_path;
	unsigned version;
	uint64_t max_bytes;	/* RLIMIT_FSIZE of the child */
};

static int check_interrupt(struct tdat_state *st, struct wc_error *err);

/* The child: copies the file on FD to job->out_path, uncompressed.
 * 0 on success. */
static int copy_child_main(void *ctx, int fd, int part, int nparts,
			   struct tdat_sandbox_out *out)
{
	const struct copy_job *job = ctx;
	struct rlimit lim = { job->max_bytes, job->max_bytes };
	struct tracecmd_input *in;
	struct tracecmd_output *copy;
	char proc[64];

	(void)part;
	(void)nparts;
	(void)out;
	/* a hostile chunk table must not fill the disk: past the limit the
	 * child gets SIGXFSZ, and the original is read instead */
	setrlimit(RLIMIT_FSIZE, &lim);
	tracecmd_set_loglevel(TEP_LOG_NONE);
	tep_set_loglevel(TEP_LOG_NONE);
	/* tracecmd_copy() fails on a handle whose CPU data was initialized
	 * (tracecmd_open_fd()): open the headers only, by name, like
	 * `trace-cmd convert` (the sandbox relies on /proc already) */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	in = tracecmd_open_head(proc, TRACECMD_FL_LOAD_NO_PLUGINS);
	if (!in)
		return TDAT_SANDBOX_OPEN_FAILED;
	copy = tracecmd_copy(in, job->out_path, TRACECMD_FILE_CPU_FLYRECORD,
			     (int)job->version, "none");
	if (!copy)
		return 1;
	tracecmd_output_close(copy);
	return 0;
}

/*
 * Fills st->odelta from the CPU data regions of the uncompressed COPY.
 * Reading compressed data, libtracecmd 3.1 numbers records in a virtual
 * space of its own (init_cpu_zpage()): the first CPU of a buffer starts
 * at one page, each next CPU with data where the previous one's
 * uncompressed data ends, rounded up to a page.  In the copy each CPU's
 * data is a section of the file.  The difference is constant per CPU,
 * and adding it keeps the record offsets in our messages the ones the
 * original gives (what an import without the copy reports).  0, or -1
 * when the copy does not list the original's CPUs (then it is not used).
 */
static int copy_offsets(struct tdat_state *st, const struct tdat_layout *copy)
{
	const struct tdat_layout *orig = &st->layout;
	int i, j;

	if (copy->nregions != orig->nregions || copy->nregions <= 0)
		return -1;
	for (i = 0; i < copy->nregions; i++)
		if (copy->regions[i].cpu != orig->regions[i].cpu ||
		    strcmp(copy->buf[copy->regions[i].buf].name,
			   orig->buf[orig->regions[i].buf].name) != 0)
			return -1;
	st->odelta = calloc((unsigned)copy->nregions, sizeof(*st->odelta));
	if (!st->odelta)
		return -1;
	for (i = 0; i < copy->nregions; i++) {
		const struct tdat_region *c = &copy->regions[i];
		uint64_t page = c->page_size, base = page;

		for (j = 0; j < copy->nregions; j++) {
			const struct tdat_region *o = &copy->regions[j];

			if (o->buf == c->buf && o->cpu < c->cpu)
				base += (o->size + page - 1) / page * page;
		}
		snprintf(st->odelta[i].buf, sizeof(st->odelta[i].buf), "%s",
			 copy->buf[c->buf].name);
		st->odelta[i].cpu = c->cpu;
		st->odelta[i].delta = (int64_t)(base - c->off);
	}
	st->nodelta = copy->nregions;
	return 0;
}

/* Do A and B list the same buffers, in the same order? */
static int same_buffers(const struct tdat_layout *a, const struct tdat_layout *b)
{
	if (a->nbuffers != b->nbuffers)
		return 0;
	for (int i = 0; i < a->nbuffers; i++)
		if (strcmp(a->buf[i].name, b->buf[i].name) != 0 ||
		    a->buf[i].cpus != b->buf[i].cpus)
			return 0;
	return 1;
}

/*
 * See above.  Called with st->layout from tdat_check() of the original
 * (CPU data deferred), compressed, not truncated.  Returns 1 when ST now
 * reads the copy (st->data_fd, st->file_size and st->layout are the
 * copy's, the original's chunks all checked), 0 to read the original
 * (st->layout unchanged, or with the damage the check found), or a
 * negative code (interrupted, I/O error of the check).
 */
static int uncompressed_copy(struct tdat_state *st, struct wc_error *err)
{
	struct wc_buf path = WC_BUF_INIT;
	struct wc_error cerr = WC_ERROR_INIT;
	struct copy_job job = {
		.version = st->layout.version,
		.max_bytes = (64ull << 20) + uncompressed_bound(st),
	};
	struct tdat_sandbox_cfg cfg = {
		.path = st->path,
		.timeout = library_timeout(st),
		.interrupted = st->opt.interrupted,
		.one_child = 1,
		.mem_limit = 1ull << 30,
		.data_error = 0,
		.data_error_msg = "",
		.version = st->layout.version,
		.compression = st->layout.compression,
		.child_main = copy_child_main,
		.ctx = &job,
	};
	struct tdat_sandbox *sb = NULL;
	struct tdat_layout copy = { 0 };
	struct stat sb_stat;
	int fd, rc, copied, checked = 0;

	fd = wc_tmpfile_named("uncompressed", &path, &cerr);
	if (fd < 0) {
		wc_buf_free(&path);
		return 0;	/* no room for a copy: read the original */
	}
	job.out_path = path.data;
	rc = tdat_sandbox_start(&sb, &cfg, st->in->fd, &cerr);
	if (!rc && sb) {
		/* both CPUs: the child copies, this process checks */
		rc = tdat_check_regions(st->in->fd, st->file_size, st->path,
					&st->layout, 0, 1, err);
		checked = !rc;
		copied = !rc && !st->layout.data_error &&
			 tdat_sandbox_finish(sb, &cerr) == 0;
	} else {
		rc = 0;
		copied = 0;
	}
	tdat_sandbox_free(sb);
	unlink(path.data);
	wc_buf_free(&path);
	wc_error_clear(&cerr);
	if (!rc)
		rc = check_interrupt(st, err);
	if (rc || !copied || fstat(fd, &sb_stat) != 0)
		goto original;
	/* the copy's own structure, checked like any input */
	if (tdat_check(fd, (uint64_t)sb_stat.st_size, st->path, &copy, 1,
		       &cerr) != 0 ||
	    copy.truncated_at || copy.data_error ||
	    strcmp(copy.compression, "none") != 0 ||
	    !same_buffers(&copy, &st->layout)) {
		wc_error_clear(&cerr);
		tdat_layout_free(&copy);
		goto original;
	}
	/* what the original says of its buffers (tracecmd_copy() writes
	 * the top buffer's trace clock for every buffer) */
	for (int i = 0; i < copy.nbuffers; i++)
		memcpy(copy.buf[i].clock, st->layout.buf[i].clock,
		       sizeof(copy.buf[i].clock));
	if (copy_offsets(st, &copy) != 0) {
		tdat_layout_free(&copy);
		goto original;
	}
	/* its pages are those of the chunks just checked, page headers
	 * included: the children need not walk them again */
	tdat_layout_free(&copy);
	tdat_layout_free(&st->layout);
	st->layout = copy;
	st->data_fd = fd;
	st->layout_fd = fd;
	st->file_size = (uint64_t)sb_stat.st_size;
	return 1;
original:
	close(fd);
	/* checked already: the damage found, if any, stays in st->layout
	 * for refuse_damaged(); the children need not check again */
	if (checked)
		tdat_layout_free(&st->layout);
	return rc;
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

static int past_real_end(const struct tdat_state *st,
			 const struct tep_record *r);
static int open_sandboxed(struct tdat_state *st, int fd,
			  struct wc_error *err);
static void ship_cut(struct tdat_state *st);
static void ship_event(struct tdat_state *st, const struct tdat_stream *s,
		       const struct wc_event *ev);

/*
 * Without --salvage, a file whose CPU data is damaged is refused: the
 * events after the damage would be missing from a database that looks
 * complete.  0 or the error.
 */
static int refuse_damaged(const struct tdat_state *st, struct wc_error *err)
{
	if (!st->layout.data_error || st->opt.salvage)
		return 0;
	return wc_err(err, st->layout.data_error, st->path,
		      "%s (--salvage imports the events before it)",
		      st->layout.data_error_msg);
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
	st->nparts = 1;
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

	/* the pages and chunks of CPU data are checked by the sandbox
	 * children (tdat_check_regions()), each over the CPUs it reads */
	rc = tdat_check(in->fd, st->file_size, st->path, &st->layout,
			!st->opt.in_process, err);
	if (rc)
		goto fail;
	fd = in->fd;
	st->layout_fd = in->fd;
	if (st->layout.data_error && !st->opt.salvage) {
		/* refused: the CPU data listed before the damage may hold an
		 * earlier problem, which a whole walk reports first */
		rc = tdat_check_regions(in->fd, st->file_size, st->path,
					&st->layout, 0, 1, err);
		if (!rc)
			rc = refuse_damaged(st, err);
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
		st->padded = 1;
		fd = rc;
	}

	if (strcmp(st->layout.compression, "zlib") == 0 &&
	    ensure_zlib_codec() != 0) {
		rc = wc_err(err, WC_EUNSUPPORTED, st->path, "zlib-compressed "
			    "trace.dat, and libtracecmd refused our zlib codec");
		goto fail;
	}
	snprintf(st->file_compression, sizeof(st->file_compression), "%s",
		 st->layout.compression);
	if (strcmp(st->layout.compression, "none") != 0 && st->data_fd < 0 &&
	    st->layout.nregions && !st->opt.in_process) {
		rc = uncompressed_copy(st, err);
		if (rc < 0)
			goto fail;
		if (rc == 1)
			fd = st->data_fd;
	}
	rc = open_sandboxed(st, fd, err);
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
			      st->file_compression, err);
	if (!rc && st->nodelta)
		rc = put_meta_u64(sink, "uncompressed_copy_bytes",
				  st->file_size, err);
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

/*
 * Counts the events and kernel stacks of buffers by reading the CPUs
 * PART, PART + NPARTS, ... of each (one pass of record headers): without
 * a sandbox, of every buffer before the import, so that empty buffers
 * are not imported and buffers without kernel stacks do not make events
 * wait for one; in a sandbox child, of the buffers not imported (--buffer),
 * after its share of the import, for their count in table buffer.
 */
static int count_events(struct tdat_state *st, int part, int nparts,
			int skip_imported, struct wc_error *err)
{
	uint64_t seen = 0;
	int i, cpu, rc;

	assert(nparts >= 1 && part >= 0 && part < nparts);
	for (i = 0; i < st->nbufs; i++) {
		struct tdat_buf *b = &st->bufs[i];

		if (skip_imported && b->imported)
			continue;
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
		b->counted = 1;
	}
	return 0;
}

/*
 * Picks the buffers to import: --buffer NAME, else all with events (when
 * the counts are not known yet, all with CPUs: empty ones deliver
 * nothing, and buffer_counts() settles `imported` at the end).
 */
static int select_buffers(struct tdat_state *st, struct wc_error *err)
{
	const char *want = st->opt.buffer;
	struct wc_buf names = WC_BUF_INIT;
	int i, found = -1;

	if (!want) {
		for (i = 0; i < st->nbufs; i++)
			st->bufs[i].imported = st->bufs[i].counted ?
					       st->bufs[i].nevents > 0 :
					       st->bufs[i].ncpus > 0;
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
		 "ts %llu", s->b->name, s->cpu,
		 (unsigned long long)r->offset + (unsigned long long)s->off_delta,
		 (unsigned long long)r->ts);
}

/* In salvage mode on a padded copy: is R past the real end of file?  (Only
 * meaningful for uncompressed data, where offsets are file offsets.) */
static int past_real_end(const struct tdat_state *st,
			 const struct tep_record *r)
{
	if (!st->padded || strcmp(st->layout.compression, "none") != 0)
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
			if (st->out)
				ship_cut(st);
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
		s->b->got_kstacks++;
		attach_stack(st, s, r);
		tracecmd_free_record(r);
		return 1;
	}
	s->b->got_events++;
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
	/* only buffers recorded with -T get stacks: do not wait when the
	 * counts say there are none (with the sandbox they come at the
	 * end: every event waits, which changes nothing but the queue) */
	p->resolved = s->nowait;
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

		if (s->failed) {
			if (s->qlen > 0) {
				q_front(s)->resolved = 1;
				break;
			}
			*err = *s->ferr;
			return s->failed;
		}
		if (s->qlen == PEND_MAX) {
			q_front(s)->resolved = 1;
			break;
		}
		rc = stream_read_one(st, s, sink, err);
		if (rc == -WC_EFORMAT && s->qlen > 0 &&
		    (s->ferr = malloc(sizeof(*s->ferr))) != NULL) {
			/* raised once the events before it are out */
			*s->ferr = *err;
			wc_error_clear(err);
			s->failed = rc;
			continue;
		}
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

/* tdat_state.odelta of CPU of buffer BNAME (0 when not reading a copy). */
static int64_t offset_delta(const struct tdat_state *st, const char *bname,
			    int cpu)
{
	for (int i = 0; i < st->nodelta; i++)
		if (st->odelta[i].cpu == cpu &&
		    strcmp(st->odelta[i].buf, bname) == 0)
			return st->odelta[i].delta;
	return 0;
}

/* Builds one stream per CPU of every imported buffer (in a sandbox child,
 * per CPU of its share) and primes them. */
static int setup_streams(struct tdat_state *st, const struct wc_sink *sink,
			 struct wc_error *err)
{
	int i, cpu, total = 0, rc;
	uint32_t order = 0;

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
		for (cpu = 0; cpu < b->ncpus; cpu++, order++) {
			struct tdat_stream *s = &st->streams[st->nstreams];

			if (cpu % st->nparts != st->part)
				continue;	/* another sandbox child's */
			s->b = b;
			s->cpu = cpu;
			s->off_delta = offset_delta(st, b->name, cpu);
			s->nowait = b->counted && b->nkstacks == 0;
			/* the same tie-break in every child */
			s->order = order;
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

/*
 * Hands EV to the sink after the thread-name bookkeeping (in a sandbox
 * child: sends it, as stream S's, to the importer instead) and counts
 * it; every POLL_EVERY events, checks the interrupt and reports progress
 * (bytes estimated from the counts once they are known).
 */
static int deliver_one(struct tdat_state *st, const struct wc_sink *sink,
		       const struct tdat_stream *s, const struct wc_event *ev,
		       struct wc_error *err)
{
	int rc = 0;

	if (st->out)
		ship_event(st, s, ev);
	else if (!(rc = note_event_threads(st, sink, ev, err)) && sink->event)
		rc = sink->event(sink->ctx, ev, err);
	if (rc)
		return rc;
	st->type_count[ev->type]++;
	if (++st->delivered % POLL_EVERY)
		return 0;
	if ((rc = check_interrupt(st, err)))
		return rc;
	if (st->opt.progress)
		st->opt.progress(st->opt.progress_ctx, st->total_events ?
				 st->file_size * st->delivered /
				 st->total_events : 0, st->delivered);
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
		if ((rc = deliver_one(st, sink, s, &p->ev, err)))
			return rc;
		s->qhead = (s->qhead + 1) % PEND_MAX;
		s->qlen--;
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

/* sink->buffer() for B; its count of events is 0 until known. */
static int deliver_buffer(struct tdat_state *st, const struct wc_sink *sink,
			  const struct tdat_buf *b, struct wc_error *err)
{
	struct wc_buffer_info bi = {
		.id = b->id, .name = b->name,
		.clock = b->clock[0] ? b->clock : NULL,
		.ncpus = b->ncpus, .nevents = b->counted ? b->nevents : 0,
		.imported = b->imported,
	};

	return sink->buffer ? sink->buffer(sink->ctx, &bi, err) : 0;
}

/* Sets the total of imported events (for progress) from the counts. */
static void set_total(struct tdat_state *st)
{
	st->total_events = 0;
	for (int i = 0; i < st->nbufs; i++)
		if (st->bufs[i].imported && st->bufs[i].counted)
			st->total_events += st->bufs[i].nevents;
}

/* ---- sandbox children and their messages ---------------------------------
 * With a sandbox (trace_dat-sandbox.c), each child checks its share of
 * the CPU data for damage (SHIP_CHECKED), opens the file (SHIP_OPENED),
 * then runs the same streams and merge as the in-process import over its
 * share of the CPUs (CPU % nparts == part), sending every event, loss
 * report and salvage cut in its own time order, then SHIP_END with its
 * counts (or SHIP_ERROR, why it stopped).  The parent merges the children's sequences
 * by (ts, stream order), the order a single process delivers in, and
 * does the thread-name bookkeeping and the sink calls.  Every message is
 * checked: a child runs the libraries on hostile input.
 */

enum ship_kind {
	SHIP_CHECKED = 1,
	SHIP_OPENED,
	SHIP_EVENT,
	SHIP_LOST,
	SHIP_CUT,
	SHIP_END,
	SHIP_ERROR,
};

#define SHIP_STRINGS 3		/* string fields of an event, at most */
#define SHIP_STR_MAX 4096	/* longer strings are cut (with their NUL) */

/* The first damage tdat_check_regions() found in the child's share. */
struct ship_checked {
	uint32_t kind;
	int32_t data_error;	/* 0: none */
	int32_t data_error_region;
	uint32_t pad;
	uint64_t data_error_at;
	char data_error_msg[400];
};

struct ship_opened {
	uint32_t kind;
	int32_t nbufs;
	int32_t ncpus[TDAT_MAX_BUFFERS];
};

/* Followed by nframes struct wc_frame, then the strings (slen bytes each,
 * NUL included; 0 = NULL) of ship_strings() order. */
struct ship_event {
	uint32_t kind;
	uint32_t order;		/* the stream's order (ties) */
	uint32_t nframes;
	uint16_t slen[SHIP_STRINGS];
	struct wc_event ev;	/* its pointers mean nothing here */
};

struct ship_lost {
	uint32_t kind;
	int32_t cpu;
	uint64_t ts_from, ts, count;
	char what[16];
};

struct ship_cut {
	uint32_t kind;
	uint32_t pad;
	uint64_t cut_ts;
};

/* Why the child stopped (a decoding error, ...): the parent reports it
 * as its own, with the child's words. */
struct ship_error {
	uint32_t kind;
	int32_t code;		/* enum wc_errcode */
	char msg[sizeof(((struct wc_error *)0)->msg)];
};

struct ship_end {
	uint32_t kind;
	int32_t nbufs;
	uint64_t kstacks, orphan_kstacks;
	uint64_t nevents[TDAT_MAX_BUFFERS];	/* events its streams read */
	uint64_t nkstacks[TDAT_MAX_BUFFERS];
};

/* The addresses of EV's string fields (name first); returns how many. */
static int ship_strings(struct wc_event *ev, const char **slot[SHIP_STRINGS])
{
	int n = 0;

	slot[n++] = &ev->name;
	switch (ev->type) {
	case WC_EV_SCHED_SWITCH:
		slot[n++] = &ev->u.sw.prev_comm;
		slot[n++] = &ev->u.sw.next_comm;
		break;
	case WC_EV_SCHED_WAKING:
	case WC_EV_SCHED_WAKEUP:
	case WC_EV_SCHED_WAKEUP_NEW:
		slot[n++] = &ev->u.wake.comm;
		break;
	case WC_EV_PROCESS_FORK:
		slot[n++] = &ev->u.fork.parent_comm;
		slot[n++] = &ev->u.fork.child_comm;
		break;
	case WC_EV_PROCESS_EXIT:
		slot[n++] = &ev->u.exit.comm;
		break;
	case WC_EV_TASK_RENAME:
		slot[n++] = &ev->u.rename.oldcomm;
		slot[n++] = &ev->u.rename.newcomm;
		break;
	case WC_EV_FUTEX_ENTER:
		slot[n++] = &ev->u.futex_enter.syscall;
		break;
	case WC_EV_FUTEX_EXIT:
		slot[n++] = &ev->u.futex_exit.syscall;
		break;
	case WC_EV_KVM_ENTRY:
	case WC_EV_KVM_EXIT:
	case WC_EV_KVM_USERSPACE_EXIT:
		slot[n++] = &ev->u.kvm.isa;
		break;
	default:
		break;
	}
	assert(n <= SHIP_STRINGS);
	return n;
}

/* Child: sends event EV of stream S. */
static void ship_event(struct tdat_state *st, const struct tdat_stream *s,
		       const struct wc_event *ev)
{
	struct wc_event e = *ev;
	const char **slot[SHIP_STRINGS] = { NULL };
	const char *str[SHIP_STRINGS];
	size_t slen[SHIP_STRINGS], len;
	uint32_t nf = ev->stack ? ev->stack->nframes : 0;
	struct ship_event *m;
	char *at;
	int n = ship_strings(&e, slot);

	if (nf > MAX_FRAMES)
		nf = MAX_FRAMES;
	len = sizeof(*m) + nf * sizeof(struct wc_frame);
	for (int i = 0; i < n; i++) {
		str[i] = *slot[i];
		slen[i] = str[i] ? strnlen(str[i], SHIP_STR_MAX - 1) + 1 : 0;
		len += slen[i];
		*slot[i] = NULL;
	}
	e.stack = NULL;
	e.stack_id = 0;
	m = tdat_sandbox_msg(st->out, len);
	memset(m, 0, sizeof(*m));
	m->kind = SHIP_EVENT;
	m->order = s->order;
	m->nframes = nf;
	m->ev = e;
	at = (char *)(m + 1);
	if (nf) {
		memcpy(at, ev->stack->frames, nf * sizeof(struct wc_frame));
		at += nf * sizeof(struct wc_frame);
	}
	for (int i = 0; i < n; i++) {
		m->slen[i] = (uint16_t)slen[i];
		if (!slen[i])
			continue;
		memcpy(at, str[i], slen[i] - 1);
		at[slen[i] - 1] = '\0';
		at += slen[i];
	}
}

/* Child: sends the salvage cut (a CPU whose data runs past the file). */
static void ship_cut(struct tdat_state *st)
{
	struct ship_cut *m = tdat_sandbox_msg(st->out, sizeof(*m));

	memset(m, 0, sizeof(*m));
	m->kind = SHIP_CUT;
	m->cut_ts = st->cut_ts;
}

/* Child: sink->lost() of the streams, sent in order with the events. */
static int ship_lost(void *ctx, int32_t cpu, uint64_t ts_from, uint64_t ts,
		     uint64_t count, const char *kind, struct wc_error *err)
{
	struct tdat_state *st = ctx;
	struct ship_lost *m = tdat_sandbox_msg(st->out, sizeof(*m));

	memset(m, 0, sizeof(*m));
	m->kind = SHIP_LOST;
	m->cpu = cpu;
	m->ts_from = ts_from;
	m->ts = ts;
	m->count = count;
	snprintf(m->what, sizeof(m->what), "%s", kind ? kind : "lost");
	return 0;
}

/* Child: sends why it stops (ERR), so the parent can say it; returns 4. */
static int ship_error(struct tdat_sandbox_out *out, const struct wc_error *err)
{
	struct ship_error *m = tdat_sandbox_msg(out, sizeof(*m));

	memset(m, 0, sizeof(*m));
	m->kind = SHIP_ERROR;
	m->code = err->code ? err->code : WC_EFORMAT;
	memcpy(m->msg, err->msg, sizeof(m->msg));
	m->msg[sizeof(m->msg) - 1] = '\0';
	tdat_sandbox_flush(out);
	return 4;
}

/*
 * A sandbox child's work: checks the data of its share of the CPUs for
 * damage (SHIP_CHECKED) before libtracecmd may read it, then (unless
 * damage ends a strict import there) opens the file on FD as the
 * importer does (SHIP_OPENED), delivers the events of its CPUs as
 * messages, then SHIP_END.  The child owns a copy of ST; nothing is
 * cleaned up (it _exit()s).
 */
static int sandbox_child_main(void *ctx, int fd, int part, int nparts,
			      struct tdat_sandbox_out *out)
{
	struct tdat_state *st = ctx;
	struct wc_error cerr = WC_ERROR_INIT;
	const struct wc_sink sink = { .ctx = st, .lost = ship_lost };
	struct ship_checked *ck;
	struct ship_opened *op;
	struct ship_end *end;

	st->out = out;
	st->part = part;
	st->nparts = nparts;
	st->opt.progress = NULL;
	st->layout.data_error = 0;	/* report the damage of its share */
	if (tdat_check_regions(fd, st->file_size, st->path, &st->layout, part,
			       nparts, &cerr))
		return ship_error(out, &cerr);
	ck = tdat_sandbox_msg(out, sizeof(*ck));
	memset(ck, 0, sizeof(*ck));
	ck->kind = SHIP_CHECKED;
	ck->data_error = st->layout.data_error;
	ck->data_error_region = st->layout.data_error_region;
	ck->data_error_at = st->layout.data_error_at;
	memcpy(ck->data_error_msg, st->layout.data_error_msg,
	       sizeof(ck->data_error_msg));
	tdat_sandbox_flush(out);	/* the parent waits for it */
	if (st->layout.data_error && !st->opt.salvage)
		return 0;	/* the parent refuses the file */
	if (open_lib(st, fd, &cerr))
		return TDAT_SANDBOX_OPEN_FAILED;
	op = tdat_sandbox_msg(out, sizeof(*op));
	memset(op, 0, sizeof(*op));
	op->kind = SHIP_OPENED;
	op->nbufs = st->nbufs;
	for (int i = 0; i < st->nbufs; i++)
		op->ncpus[i] = st->bufs[i].ncpus;
	tdat_sandbox_flush(out);	/* the parent waits for it */
	if (select_buffers(st, &cerr) || setup_streams(st, &sink, &cerr) ||
	    deliver_events(st, &sink, &cerr) ||
	    count_events(st, part, nparts, 1, &cerr))
		return ship_error(out, &cerr);
	end = tdat_sandbox_msg(out, sizeof(*end));
	memset(end, 0, sizeof(*end));
	end->kind = SHIP_END;
	end->nbufs = st->nbufs;
	end->kstacks = st->kstacks;
	end->orphan_kstacks = st->orphan_kstacks;
	for (int i = 0; i < st->nbufs; i++) {
		const struct tdat_buf *b = &st->bufs[i];

		end->nevents[i] = b->imported ? b->got_events : b->nevents;
		end->nkstacks[i] = b->imported ? b->got_kstacks : b->nkstacks;
	}
	return 0;
}

/* Takes child damage report M (the first of its share) into st->layout
 * when it comes before the damage known so far, in the order of a whole
 * walk of the file. */
static void take_damage(struct tdat_state *st, const struct ship_checked *m)
{
	struct tdat_layout *l = &st->layout;

	if (!m->data_error || (l->data_error &&
			       m->data_error_region >= l->data_error_region))
		return;
	l->data_error = m->data_error > 0 && m->data_error < WC_E_COUNT ?
			m->data_error : WC_EFORMAT;
	l->data_error_region = m->data_error_region;
	l->data_error_at = m->data_error_at;
	memcpy(l->data_error_msg, m->data_error_msg, sizeof(l->data_error_msg));
	l->data_error_msg[sizeof(l->data_error_msg) - 1] = '\0';
}

/*
 * A child's SHIP_ERROR message M (LEN bytes) as the import's error: the
 * error the in-process import would have given (a decoding error names
 * the record), not a generic "corrupt".
 */
static int child_error(struct tdat_state *st, const void *m, size_t len,
		       struct wc_error *err)
{
	struct ship_error e;

	if (len != sizeof(e))
		return tdat_sandbox_corrupt(st->sb, err, "bad error report");
	memcpy(&e, m, sizeof(e));
	e.msg[sizeof(e.msg) - 1] = '\0';
	if (e.code <= 0 || e.code >= WC_E_COUNT)
		e.code = WC_EFORMAT;
	return wc_err(err, e.code, st->path, "%s", e.msg);
}

/* The next message of child K, which must be of KIND and LEN bytes. */
static int expect_msg(struct tdat_state *st, int k, uint32_t kind, size_t len,
		      const void **msg, struct wc_error *err)
{
	size_t got = 0;
	uint32_t is = 0;
	int rc = tdat_sandbox_next(st->sb, k, msg, &got, err);

	if (rc < 0)
		return rc;
	if (rc > 0)
		memcpy(&is, *msg, sizeof(is));
	if (rc > 0 && is == SHIP_ERROR)
		return child_error(st, *msg, got, err);
	if (rc == 0 || got != len || is != kind)
		return tdat_sandbox_corrupt(st->sb, err, kind == SHIP_CHECKED ?
					    "no check report" : "no open report");
	return 0;
}

/*
 * Opens the file in libtracecmd behind the sandbox.  The children check
 * the CPU data for damage first (each its share), so that without
 * --salvage a damaged file is refused, with the checker's message,
 * before libtracecmd reads any of it; then they open the file; the
 * importer opens it too (for its headers, names and symbols only) once
 * they all have, and must see the buffers and CPUs they saw.  Without a
 * sandbox (no fork()), checks and opens here.
 */
static int open_sandboxed(struct tdat_state *st, int fd, struct wc_error *err)
{
	struct tdat_sandbox_cfg cfg = {
		.path = st->path,
		.timeout = library_timeout(st),
		.interrupted = st->opt.interrupted,
		.one_child = st->opt.one_child,
		/* libtracecmd maps the file's CPU data (twice the file plus
		 * 1 GiB is plenty), or, reading compressed data in place,
		 * keeps every chunk it decompressed (the capture uncompressed) */
		.mem_limit = (1ull << 30) +
			     (st->file_size >= (1ull << 40) ||
			      strcmp(st->layout.compression, "none") != 0 ?
			      uncompressed_bound(st) : 2 * st->file_size),
		.data_error = st->layout.data_error,
		.data_error_msg = st->layout.data_error_msg,
		.version = st->layout.version,
		.compression = st->layout.compression,
		.child_main = sandbox_child_main,
		.ctx = st,
	};
	struct ship_opened first = { 0 };
	const void *msg;
	int rc = 0, nparts;

	if (!st->opt.in_process)
		rc = tdat_sandbox_start(&st->sb, &cfg, fd, err);
	if (rc)
		return rc;
	if (!st->sb) {
		if (st->layout.nregions)
			rc = tdat_check_regions(st->layout_fd, st->file_size,
						st->path, &st->layout, 0, 1, err);
		tdat_layout_free(&st->layout);
		if (!rc)
			rc = refuse_damaged(st, err);
		return rc ? rc : open_lib(st, fd, err);
	}
	nparts = tdat_sandbox_parts(st->sb);
	for (int k = 0; k < nparts; k++) {
		struct ship_checked ck;

		if ((rc = expect_msg(st, k, SHIP_CHECKED, sizeof(ck), &msg, err)))
			return rc;
		memcpy(&ck, msg, sizeof(ck));
		take_damage(st, &ck);
	}
	if ((rc = refuse_damaged(st, err)))
		return rc;
	for (int k = 0; k < nparts; k++) {
		if ((rc = expect_msg(st, k, SHIP_OPENED, sizeof(first), &msg, err)))
			return rc;
		if (k == 0)
			memcpy(&first, msg, sizeof(first));
		else if (memcmp(&first, msg, sizeof(first)) != 0)
			return tdat_sandbox_corrupt(st->sb, err, "children see "
						    "different buffers");
	}
	if ((rc = open_lib(st, fd, err)))
		return rc;
	if (first.nbufs != st->nbufs)
		return tdat_sandbox_corrupt(st->sb, err, "buffers differ "
					    "between two opens");
	for (int i = 0; i < st->nbufs; i++)
		if (first.ncpus[i] != st->bufs[i].ncpus)
			return tdat_sandbox_corrupt(st->sb, err, "CPUs differ "
						    "between two opens");
	return 0;
}

/* The parent's view of one child's sequence. */
struct ship_rx {
	int k;			/* child */
	int live;		/* more messages may come */
	int has_ev;		/* ev is its next event */
	int ended;		/* SHIP_END seen */
	uint32_t order;
	struct wc_event ev;
	struct wc_stack stack;
	uint64_t last_ts;	/* (ts, order) of its previous event */
	uint32_t last_order;
	int any;
	struct ship_end end;
};

/* Parses SHIP_EVENT message M of LEN bytes into RX's next event. */
static int rx_event(struct tdat_state *st, struct ship_rx *rx,
		    const unsigned char *m, size_t len, struct wc_error *err)
{
	struct ship_event h;
	const char **slot[SHIP_STRINGS] = { NULL };
	size_t pos;
	int n;

	if (len < sizeof(h))
		return tdat_sandbox_corrupt(st->sb, err, "short event");
	memcpy(&h, m, sizeof(h));
	if (h.nframes > MAX_FRAMES || (unsigned)h.ev.type >= WC_EV_TYPE_COUNT)
		return tdat_sandbox_corrupt(st->sb, err, "bad event");
	rx->ev = h.ev;
	n = ship_strings(&rx->ev, slot);
	pos = sizeof(h) + h.nframes * sizeof(struct wc_frame);
	if (pos > len)
		return tdat_sandbox_corrupt(st->sb, err, "bad event size");
	rx->stack.frames = (const struct wc_frame *)(const void *)(m + sizeof(h));
	rx->stack.nframes = h.nframes;
	rx->ev.stack = h.nframes ? &rx->stack : NULL;
	rx->ev.stack_id = 0;	/* the child's value means nothing here */
	for (int i = 0; i < SHIP_STRINGS; i++) {
		size_t l = h.slen[i];

		if (i >= n) {
			if (l)
				return tdat_sandbox_corrupt(st->sb, err,
							    "bad event strings");
			continue;
		}
		if (l > len - pos || (l && m[pos + l - 1] != '\0'))
			return tdat_sandbox_corrupt(st->sb, err,
						    "bad event strings");
		*slot[i] = l ? (const char *)m + pos : NULL;
		pos += l;
	}
	if (pos != len)
		return tdat_sandbox_corrupt(st->sb, err, "bad event size");
	if (rx->any && (rx->ev.ts < rx->last_ts ||
			(rx->ev.ts == rx->last_ts && h.order < rx->last_order)))
		return tdat_sandbox_corrupt(st->sb, err, "events out of order");
	rx->any = 1;
	rx->last_ts = rx->ev.ts;
	rx->last_order = h.order;
	rx->order = h.order;
	rx->has_ev = 1;
	return 0;
}

/*
 * Moves RX to its child's next event (has_ev), or to its end (!live),
 * acting on the messages in between: losses go to SINK in order (unless
 * DRAINING, after the delivery stopped), a cut lowers st->cut_ts, the end
 * message keeps the child's counts.  The previous event's strings and
 * frames are invalid afterwards.
 */
static int rx_advance(struct tdat_state *st, struct ship_rx *rx,
		      const struct wc_sink *sink, int draining,
		      struct wc_error *err)
{
	rx->has_ev = 0;
	while (rx->live) {
		const unsigned char *m;
		const void *msg;
		size_t len;
		uint32_t kind;
		int rc = tdat_sandbox_next(st->sb, rx->k, &msg, &len, err);

		if (rc < 0)
			return rc;
		if (rc == 0) {
			rx->live = 0;
			if (!rx->ended)
				return tdat_sandbox_corrupt(st->sb, err,
							    "no end report");
			break;
		}
		m = msg;
		memcpy(&kind, m, sizeof(kind));
		if (rx->ended)
			return tdat_sandbox_corrupt(st->sb, err,
						    "report after the end");
		if (kind == SHIP_EVENT) {
			rc = rx_event(st, rx, m, len, err);
			if (rc || !draining)
				return rc;
			rx->has_ev = 0;
		} else if (kind == SHIP_LOST && len == sizeof(struct ship_lost)) {
			struct ship_lost l;

			memcpy(&l, m, sizeof(l));
			l.what[sizeof(l.what) - 1] = '\0';
			if (strcmp(l.what, "missed") == 0)
				st->missed_reports++;
			if (!draining && sink->lost &&
			    (rc = sink->lost(sink->ctx, l.cpu, l.ts_from, l.ts,
					     l.count, l.what, err)))
				return rc;
		} else if (kind == SHIP_CUT && len == sizeof(struct ship_cut)) {
			struct ship_cut c;

			memcpy(&c, m, sizeof(c));
			if (!st->cut || c.cut_ts < st->cut_ts)
				st->cut_ts = c.cut_ts;
			st->cut = 1;
		} else if (kind == SHIP_ERROR) {
			return child_error(st, m, len, err);
		} else if (kind == SHIP_END && len == sizeof(struct ship_end)) {
			memcpy(&rx->end, m, sizeof(rx->end));
			if (rx->end.nbufs != st->nbufs)
				return tdat_sandbox_corrupt(st->sb, err,
							    "bad end report");
			rx->ended = 1;
		} else {
			return tdat_sandbox_corrupt(st->sb, err,
						    "unknown report");
		}
	}
	return 0;
}

/*
 * The parent's delivery with a sandbox: merges the children's events by
 * (ts, stream order), with the thread-name bookkeeping and the sink
 * calls of the in-process delivery; then reads every child to its end
 * (a crash anywhere still makes the file corrupt) and takes its counts.
 */
static int merge_children(struct tdat_state *st, const struct wc_sink *sink,
			  struct wc_error *err)
{
	struct ship_rx rx[2];
	int nparts = tdat_sandbox_parts(st->sb), rc = 0;

	assert(nparts >= 1 && nparts <= 2);
	memset(rx, 0, sizeof(rx));
	for (int k = 0; k < nparts; k++) {
		rx[k].k = k;
		rx[k].live = 1;
		if ((rc = rx_advance(st, &rx[k], sink, 0, err)))
			return rc;
	}
	for (;;) {
		struct ship_rx *r = NULL;

		for (int k = 0; k < nparts; k++)
			if (rx[k].has_ev &&
			    (!r || rx[k].ev.ts < r->ev.ts ||
			     (rx[k].ev.ts == r->ev.ts && rx[k].order < r->order)))
				r = &rx[k];
		if (!r || (st->cut && r->ev.ts > st->cut_ts))
			break;	/* salvage: the rest is not known complete */
		if ((rc = deliver_one(st, sink, NULL, &r->ev, err)) ||
		    (rc = rx_advance(st, r, sink, 0, err)))
			return rc;
	}
	for (int k = 0; k < nparts; k++)
		while (rx[k].live)
			if ((rc = rx_advance(st, &rx[k], sink, 1, err)))
				return rc;
	if ((rc = tdat_sandbox_finish(st->sb, err)))
		return rc;
	for (int i = 0; i < st->nbufs; i++) {
		struct tdat_buf *b = &st->bufs[i];

		b->nevents = b->nkstacks = 0;
		for (int k = 0; k < nparts; k++) {
			b->nevents += rx[k].end.nevents[i];
			b->nkstacks += rx[k].end.nkstacks[i];
		}
		b->counted = 1;
	}
	st->kstacks = st->orphan_kstacks = 0;
	for (int k = 0; k < nparts; k++) {
		st->kstacks += rx[k].end.kstacks;
		st->orphan_kstacks += rx[k].end.orphan_kstacks;
	}
	return 0;
}

/*
 * After a sandboxed delivery: the buffers again, with their counts (the
 * later sink->buffer() replaces), and without --buffer, `imported` as
 * the in-process import sets it: the buffers that had events.
 */
static int buffer_counts(struct tdat_state *st, const struct wc_sink *sink,
			 struct wc_error *err)
{
	int rc = 0;

	for (int i = 0; !rc && i < st->nbufs; i++) {
		if (!st->opt.buffer)
			st->bufs[i].imported = st->bufs[i].nevents > 0;
		rc = deliver_buffer(st, sink, &st->bufs[i], err);
	}
	return rc;
}

static int tdat_run(void *state, const struct wc_sink *sink,
		    struct wc_error *err)
{
	struct tdat_state *st = state;
	int rc, i;

	rc = check_interrupt(st, err);
	if (!rc && !st->sb)
		rc = count_events(st, 0, 1, 0, err);	/* in process */
	if (!rc)
		rc = select_buffers(st, err);
	if (!rc)
		rc = deliver_header_meta(st, sink, err);
	for (i = 0; !rc && i < st->nbufs; i++)
		rc = deliver_buffer(st, sink, &st->bufs[i], err);
	set_total(st);
	if (!rc)
		rc = deliver_cpustats(st, sink, err);
	if (!rc && st->sb) {
		rc = merge_children(st, sink, err);
		if (!rc)
			rc = buffer_counts(st, sink, err);
	} else if (!rc) {
		rc = setup_streams(st, sink, err);
		if (!rc)
			rc = deliver_events(st, sink, err);
	}
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

/* The decoding children run beside the import. */
static int tdat_helper_cpus(void *state)
{
	const struct tdat_state *st = state;

	return st && st->sb ? tdat_sandbox_parts(st->sb) : 0;
}

const struct wc_importer wc_importer_trace_dat = {
	.name = "trace.dat",
	.probe = tdat_probe,
	.open = tdat_open,
	.run = tdat_run,
	.close = tdat_close,
	.helper_cpus = tdat_helper_cpus,
};
