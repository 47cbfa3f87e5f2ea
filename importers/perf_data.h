/*
 * perf_data.h - private declarations shared by the perf.data importer's
 * files (not a public header).
 *
 *   perf_data.c     probe/open/run/close, the record stream (file mode on
 *                   an mmap of the input, pipe mode through wc_input_read),
 *                   SAMPLE decoding by each attribute's sample_type,
 *                   COMPRESSED records (zstd stream), dispatch to the sink
 *   perf_header.c   file header, attribute section, feature sections
 *                   (also the pipe-mode HEADER_* records), tracing data
 *                   into a libtraceevent handle
 *   perf_order.c    the ordered-events queue (perf's FINISHED_ROUND rule)
 *   perf_symbols.c  the symbolizer: kallsyms for kernel frames, MMAP/MMAP2
 *                   + elfutils for user frames
 *
 * The format follows tools/perf/Documentation/perf.data-file-format.txt,
 * include/uapi/linux/perf_event.h and tools/perf/util/header.c.  Every
 * multi-byte value is little-endian host order (byte-swapped captures are
 * refused at open); all reads go through bounds-checked helpers.
 */
#ifndef WAITCHAIN_PERF_DATA_H
#define WAITCHAIN_PERF_DATA_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "waitchain/error.h"
#include "waitchain/event.h"
#include "waitchain/importer.h"
#include "waitchain/input.h"

struct tep_handle;
struct wc_tep_events;
struct perf_symbols;
struct perf_order;

/* --- format constants (uapi/linux/perf_event.h, perf util/event.h) ---- */

#define PERF_MAGIC2 0x32454c4946524550ULL	/* "PERFILE2" little-endian */
#define PERF_MAGIC2_SWAPPED 0x50455246494c4532ULL
#define PERF_FILE_HEADER_SIZE 104	/* struct perf_file_header */
#define PERF_PIPE_HEADER_SIZE 16	/* struct perf_pipe_file_header */
#define PERF_EVENT_HEADER_SIZE 8	/* struct perf_event_header */
#define PERF_ATTR_SIZE_VER0 64

enum {
	PERF_SAMPLE_IP = 1U << 0,
	PERF_SAMPLE_TID = 1U << 1,
	PERF_SAMPLE_TIME = 1U << 2,
	PERF_SAMPLE_ADDR = 1U << 3,
	PERF_SAMPLE_READ = 1U << 4,
	PERF_SAMPLE_CALLCHAIN = 1U << 5,
	PERF_SAMPLE_ID = 1U << 6,
	PERF_SAMPLE_CPU = 1U << 7,
	PERF_SAMPLE_PERIOD = 1U << 8,
	PERF_SAMPLE_STREAM_ID = 1U << 9,
	PERF_SAMPLE_RAW = 1U << 10,
	PERF_SAMPLE_BRANCH_STACK = 1U << 11,
	PERF_SAMPLE_REGS_USER = 1U << 12,
	PERF_SAMPLE_STACK_USER = 1U << 13,
	PERF_SAMPLE_WEIGHT = 1U << 14,
	PERF_SAMPLE_DATA_SRC = 1U << 15,
	PERF_SAMPLE_IDENTIFIER = 1U << 16,
	PERF_SAMPLE_TRANSACTION = 1U << 17,
	PERF_SAMPLE_REGS_INTR = 1U << 18,
	PERF_SAMPLE_PHYS_ADDR = 1U << 19,
	PERF_SAMPLE_AUX = 1U << 20,
	PERF_SAMPLE_CGROUP = 1U << 21,
	PERF_SAMPLE_DATA_PAGE_SIZE = 1U << 22,
	PERF_SAMPLE_CODE_PAGE_SIZE = 1U << 23,
	PERF_SAMPLE_WEIGHT_STRUCT = 1U << 24,
};

enum {
	PERF_FORMAT_TOTAL_TIME_ENABLED = 1U << 0,
	PERF_FORMAT_TOTAL_TIME_RUNNING = 1U << 1,
	PERF_FORMAT_ID = 1U << 2,
	PERF_FORMAT_GROUP = 1U << 3,
	PERF_FORMAT_LOST = 1U << 4,
};

#define PERF_SAMPLE_BRANCH_HW_INDEX (1ULL << 17)

/* attr flag bits (the bitfield word at offset 40) */
#define PERF_ATTR_FLAG_SAMPLE_ID_ALL (1ULL << 18)
#define PERF_ATTR_FLAG_USE_CLOCKID (1ULL << 25)

enum {
	PERF_RECORD_MMAP = 1, PERF_RECORD_LOST = 2, PERF_RECORD_COMM = 3,
	PERF_RECORD_EXIT = 4, PERF_RECORD_THROTTLE = 5,
	PERF_RECORD_UNTHROTTLE = 6, PERF_RECORD_FORK = 7,
	PERF_RECORD_READ = 8, PERF_RECORD_SAMPLE = 9, PERF_RECORD_MMAP2 = 10,
	PERF_RECORD_AUX = 11, PERF_RECORD_ITRACE_START = 12,
	PERF_RECORD_LOST_SAMPLES = 13, PERF_RECORD_SWITCH = 14,
	PERF_RECORD_SWITCH_CPU_WIDE = 15, PERF_RECORD_NAMESPACES = 16,
	PERF_RECORD_KSYMBOL = 17, PERF_RECORD_BPF_EVENT = 18,
	PERF_RECORD_CGROUP = 19, PERF_RECORD_TEXT_POKE = 20,
	PERF_RECORD_AUX_OUTPUT_HW_ID = 21,
	/* perf's user records */
	PERF_RECORD_HEADER_ATTR = 64, PERF_RECORD_HEADER_EVENT_TYPE = 65,
	PERF_RECORD_HEADER_TRACING_DATA = 66,
	PERF_RECORD_HEADER_BUILD_ID = 67, PERF_RECORD_FINISHED_ROUND = 68,
	PERF_RECORD_ID_INDEX = 69, PERF_RECORD_AUXTRACE_INFO = 70,
	PERF_RECORD_AUXTRACE = 71, PERF_RECORD_AUXTRACE_ERROR = 72,
	PERF_RECORD_THREAD_MAP = 73, PERF_RECORD_CPU_MAP = 74,
	PERF_RECORD_STAT_CONFIG = 75, PERF_RECORD_STAT = 76,
	PERF_RECORD_STAT_ROUND = 77, PERF_RECORD_EVENT_UPDATE = 78,
	PERF_RECORD_TIME_CONV = 79, PERF_RECORD_HEADER_FEATURE = 80,
	PERF_RECORD_COMPRESSED = 81, PERF_RECORD_FINISHED_INIT = 82,
	PERF_RECORD_COMPRESSED2 = 83,
	PERF_RECORD_TYPE_SLOTS = 84	/* counters for 0..83, slot 0 = unknown */
};

#define PERF_RECORD_MISC_COMM_EXEC (1U << 13)
#define PERF_RECORD_MISC_MMAP_BUILD_ID (1U << 14)
#define PERF_RECORD_MISC_MMAP_DATA (1U << 13)

/* callchain context markers (enum perf_callchain_context) */
#define PERF_CONTEXT_HV ((uint64_t)-32)
#define PERF_CONTEXT_KERNEL ((uint64_t)-128)
#define PERF_CONTEXT_USER ((uint64_t)-512)
#define PERF_CONTEXT_GUEST ((uint64_t)-2048)
#define PERF_CONTEXT_GUEST_KERNEL ((uint64_t)-2176)
#define PERF_CONTEXT_GUEST_USER ((uint64_t)-2560)
#define PERF_CONTEXT_MAX ((uint64_t)-4095)

/* feature bits (enum in tools/perf/util/header.h) */
enum {
	PERF_FEAT_TRACING_DATA = 1, PERF_FEAT_BUILD_ID = 2,
	PERF_FEAT_HOSTNAME = 3, PERF_FEAT_OSRELEASE = 4,
	PERF_FEAT_VERSION = 5, PERF_FEAT_ARCH = 6, PERF_FEAT_NRCPUS = 7,
	PERF_FEAT_CPUDESC = 8, PERF_FEAT_CPUID = 9, PERF_FEAT_TOTAL_MEM = 10,
	PERF_FEAT_CMDLINE = 11, PERF_FEAT_EVENT_DESC = 12,
	PERF_FEAT_SAMPLE_TIME = 21, PERF_FEAT_CLOCKID = 23,
	PERF_FEAT_COMPRESSED = 27, PERF_FEAT_CLOCK_DATA = 29,
	PERF_FEAT_BITS = 256
};

/* --- sane limits for hostile input ------------------------------------ */
#define PERF_MAX_ATTRS 4096		/* event attributes */
#define PERF_MAX_ATTR_SIZE 4096		/* one perf_event_attr */
#define PERF_MAX_IDS (1U << 22)		/* sample ids in total */
#define PERF_MAX_FRAMES 1024		/* frames kept per callchain */
#define PERF_MAX_NRCPUS 65536
#define PERF_MAX_STRING (1U << 20)	/* one header string */
#define PERF_MAX_TRACING_DATA (256U << 20)
#define PERF_MAX_CMDLINE_ARGS 65536

/* --- bounds-checked little-endian loads ------------------------------ */
static inline uint64_t perf_u64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t perf_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint16_t perf_u16(const unsigned char *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

/* --- state ------------------------------------------------------------- */

/* One event attribute (struct perf_event_attr fields we use). */
struct perf_attr {
	uint32_t type;
	uint64_t config;
	uint64_t sample_type;
	uint64_t read_format;
	uint64_t flags;
	uint64_t branch_sample_type;
	uint64_t sample_regs_user;
	uint64_t sample_regs_intr;
	uint32_t sample_stack_user;
	int32_t clockid;
	char *name;		/* from EVENT_DESC, or NULL (owned) */
	/* derived */
	int tep_id;		/* tracepoint event id (config) or -1 */
	uint32_t id_trailer_size;	/* bytes of the sample_id_all trailer */
	uint64_t nsamples;
};

/* id -> attr index hash (open addressing, power-of-two size). */
struct perf_idmap {
	uint64_t *ids;
	uint32_t *idx;
	uint32_t cap;		/* 0 = empty */
	uint32_t count;
};

/* A key/value collected before the sink is known (file mode open()). */
struct perf_meta {
	char *key, *value;
};

/* A BUILD_ID feature entry: the build-id of a binary as recorded. */
struct perf_buildid {
	char *path;
	unsigned char id[20];
	uint8_t size;
};

struct perf_reader {
	struct wc_input *in;
	const char *path;		/* for messages */
	const struct wc_import_options *opt;
	struct wc_error *err;		/* where errors go during run */

	/* transport: the whole input mapped (seekable) or a stream */
	const unsigned char *map;
	size_t map_len;
	int pipe_mode;			/* perf.data pipe format */

	/* file header */
	uint64_t header_version;
	uint64_t data_off, data_size;
	uint64_t feat_off;
	uint64_t features[4];

	struct perf_attr *attrs;
	uint32_t nattrs, attrs_cap;
	struct perf_idmap idmap;
	int id_pos;			/* u64 index of the id in a sample, -1 */
	int is_pos;			/* u64 index from the end in a trailer, -1 */
	int has_callchain;

	/* tracepoint formats */
	struct tep_handle *tep;
	struct wc_tep_events *te;
	int have_tracing_data;
	char *capture_kallsyms;		/* kallsyms of the tracing data, if any */

	/* metadata */
	struct perf_meta *meta;
	size_t nmeta, meta_cap;
	const struct wc_sink *sink;	/* set while run() delivers */
	char *hostname, *osrelease;
	int32_t clockid;		/* -1 unknown */
	int clock_set;			/* meta clock was set */
	char *warnings;			/* meta warnings, one per line */

	struct perf_buildid *buildids;
	size_t nbuildids, buildids_cap;

	struct perf_symbols *syms;
	struct perf_order *order;

	/* COMPRESSED records */
	void *zstd;			/* ZSTD_DStream */
	unsigned char *zbuf;		/* decompressed bytes not yet consumed */
	size_t zbuf_len, zbuf_cap;
	uint64_t zstd_records;

	/* pipe transport */
	unsigned char *rbuf;
	size_t rbuf_cap;
	uint64_t stream_off;		/* bytes consumed from the stream */

	/* delivery */
	struct wc_frame *frames;	/* PERF_MAX_FRAMES scratch frames */
	uint64_t nrecords;
	uint64_t count[PERF_RECORD_TYPE_SLOTS];
	uint64_t skipped;
	uint64_t events_delivered;
	uint64_t first_ts, last_ts;
	/* time of the last sample delivered per CPU (0 = none yet): the
	 * start of the gap a LOST record on that CPU reports */
#define PERF_LOST_CPUS 1024
	uint64_t cpu_last_ts[PERF_LOST_CPUS];
	uint64_t late_events;		/* older than what was already flushed */
	uint64_t bad_payloads;
	uint64_t bad_formats;		/* event formats not handed to tep */
};

/* --- perf_data.c ------------------------------------------------------- */

/* Records META (copied) for the sink: delivered at once while running,
 * else kept until run() starts.  Returns 0 or -WC_ENOMEM. */
int perf_meta_set(struct perf_reader *r, const char *key, const char *value);

/* Adds a line to meta "warnings".  Returns 0 or -WC_ENOMEM. */
int perf_warn(struct perf_reader *r, const char *msg);

/* Name of a record type ("SAMPLE", "MMAP2", ...), or NULL if unknown. */
const char *perf_record_name(uint32_t type);

/* Decodes one ordered record (SAMPLE, COMM, ...) and delivers it to the
 * sink.  REC/SIZE are the record bytes, OFF its file offset (messages). */
int perf_deliver(struct perf_reader *r, const unsigned char *rec,
		 size_t size, uint64_t off);

/* --- perf_header.c ----------------------------------------------------- */

/* Parses the file header, attributes and feature sections of a mapped
 * file-mode capture. */
int perf_header_read_file(struct perf_reader *r);

/* Adds one attribute (ATTR of ATTR_SIZE bytes from the capture) with its
 * NIDS sample ids (IDS, u64 each, unaligned).  OFF for messages. */
int perf_header_add_attr(struct perf_reader *r, const unsigned char *attr,
			 size_t attr_size, const unsigned char *ids,
			 uint64_t nids, uint64_t off);

/* Parses feature FEAT from BUF/LEN (a feature section, or the payload of
 * a pipe-mode HEADER_FEATURE record) at file offset OFF. */
int perf_header_feature(struct perf_reader *r, int feat,
			const unsigned char *buf, size_t len, uint64_t off);

/* Parses tracing data (HEADER_TRACING_DATA feature or record) into r->tep
 * and builds r->te. */
int perf_header_tracing_data(struct perf_reader *r, const unsigned char *buf,
			     size_t len, uint64_t off);

/* Computes id_pos/is_pos and per-attr trailer sizes after the attributes
 * are known; checks they agree.  Idempotent. */
int perf_header_finish_attrs(struct perf_reader *r, uint64_t off);

/* "monotonic" for clock id 1 ..., or NULL when unknown. */
const char *perf_clock_name(int32_t id);

/* Attribute index for sample id ID, or -1. */
int perf_idmap_find(const struct perf_idmap *m, uint64_t id);

/* Frees everything perf_header.c allocated in R. */
void perf_header_free(struct perf_reader *r);

/* --- perf_order.c ------------------------------------------------------ */

struct perf_order *perf_order_new(void);
void perf_order_free(struct perf_order *q);
/* Queues a copy of record REC (SIZE bytes, file offset OFF) at time TS. */
int perf_order_push(struct perf_order *q, uint64_t ts, const unsigned char *rec,
		    size_t size, uint64_t off);
/* FINISHED_ROUND: delivers (through perf_deliver) every queued record
 * older than or at the max time of the round before this one. */
int perf_order_round(struct perf_order *q, struct perf_reader *r);
/* Delivers everything queued. */
int perf_order_flush_all(struct perf_order *q, struct perf_reader *r);
/* Time of the last record delivered (0 = none): later pushes must not be
 * older. */
uint64_t perf_order_last_flushed(const struct perf_order *q);
/* 1 when the queue holds more bytes than its memory valve allows. */
int perf_order_over_valve(const struct perf_order *q);
/* Delivers the oldest half of the queue (memory valve when a capture
 * has no FINISHED_ROUND records). */
int perf_order_flush_half(struct perf_order *q, struct perf_reader *r);

/* --- perf_symbols.c ---------------------------------------------------- */

struct perf_symbols *perf_symbols_new(struct perf_reader *r);
void perf_symbols_free(struct perf_symbols *s);
/* Chooses and loads the kernel symbol source (idempotent); emits meta
 * kallsyms_source.  Errors reading --kallsyms are returned. */
int perf_symbols_load_kernel(struct perf_symbols *s);
/* MMAP/MMAP2: FILENAME mapped at [START, START+LEN) from file offset
 * PGOFF in process PID; BUILDID (SIZE bytes, may be NULL). */
int perf_symbols_mmap(struct perf_symbols *s, int32_t pid, uint64_t start,
		      uint64_t len, uint64_t pgoff, const char *filename,
		      const unsigned char *buildid, size_t buildid_size);
/* FORK of a new process CHILD from PARENT: the child shares its maps
 * until it maps its own. EXIT/exec: COMM with exec drops maps. */
int perf_symbols_fork(struct perf_symbols *s, int32_t child, int32_t parent);
void perf_symbols_exec(struct perf_symbols *s, int32_t pid);
/* The wc_symbolizer resolve callback (ctx = struct perf_symbols *). */
int perf_symbols_resolve(void *ctx, int32_t pid, uint64_t ip, int kernel,
			 const char **symbol, uint64_t *symbol_offset,
			 const char **dso, uint64_t *dso_offset);

#endif /* WAITCHAIN_PERF_DATA_H */
