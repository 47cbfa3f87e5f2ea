/*
 * recording_sink.h - a struct wc_sink that keeps everything an importer
 * delivers in memory, for tests of importers without a database.
 *
 * Every callback copies what it is given: events (with their union, each
 * string interned so pointers stay valid until the sink is freed, and
 * their stack frames), metadata (last value per key wins, like the real
 * sink), buffers, thread names and lost-event reports.  Counting helpers
 * answer "how many events of this name / type / tid" and "how many of
 * them carried a stack".  Memory grows with the capture: tests only.
 *
 * Failure injection: set fail_after_events to N > 0 to make the N-th
 * event() call fail with WC_EDB (checks that importers stop and pass the
 * error up).
 */
#ifndef WAITCHAIN_TEST_RECORDING_SINK_H
#define WAITCHAIN_TEST_RECORDING_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "waitchain/event.h"

/* One recorded event: the wc_event as delivered, strings interned. */
struct rec_event {
	struct wc_event ev;	/* ev.stack is NULL; see frames below */
	size_t frame_off;	/* first frame in recsink.frames */
	uint32_t nframes;	/* 0: no stack */
};

struct rec_meta {
	const char *key, *value;	/* interned */
};

struct rec_comm {
	uint64_t ts;
	int32_t tid, pid;
	const char *comm;		/* interned */
	enum wc_comm_source src;
};

struct rec_lost {
	int32_t cpu;
	uint64_t ts_from, ts, count;
	const char *kind;		/* interned */
};

struct rec_buffer {
	int32_t id;
	const char *name, *clock;	/* interned; clock may be NULL */
	int32_t ncpus;
	uint64_t nevents;
	int imported;
};

struct recsink {
	struct rec_event *events;
	size_t nevents, cap_events;
	struct wc_frame *frames;
	size_t nframes, cap_frames;
	struct rec_meta *meta;
	size_t nmeta, cap_meta;
	struct rec_comm *comms;
	size_t ncomms, cap_comms;
	struct rec_lost *lost;
	size_t nlost, cap_lost;
	struct rec_buffer *buffers;
	size_t nbuffers, cap_buffers;
	uint64_t type_count[WC_EV_TYPE_COUNT];
	int out_of_order;		/* events went back in time */
	int buffer_after_event;		/* a new buffer() after an event */
	int buffer_replaced;		/* buffer() calls for a known id */
	uint64_t fail_after_events;	/* >0: that event() call fails */
	struct intern *strings;		/* private */
};

/* A new empty sink; abort()s when out of memory (tests only). Free with
 * recsink_free(). */
struct recsink *recsink_new(void);
void recsink_free(struct recsink *rs);

/* Fills *SINK with callbacks recording into RS. */
void recsink_sink(struct recsink *rs, struct wc_sink *sink);

/* Last value of meta KEY, or NULL. */
const char *recsink_meta(const struct recsink *rs, const char *key);

/* Events named NAME (NULL = any) in context TID (-1 = any). */
uint64_t recsink_count(const struct recsink *rs, const char *name,
		       int32_t tid);
/* Same, counting only events that carry a stack. */
uint64_t recsink_count_stacks(const struct recsink *rs, const char *name,
			      int32_t tid);
/* 1 if a comm() call named TID (-1 any) COMM, from SRC (-1 any). */
int recsink_has_comm(const struct recsink *rs, int32_t tid, const char *comm,
		     int src);
/* The buffer named NAME, or NULL. */
const struct rec_buffer *recsink_buffer(const struct recsink *rs,
					const char *name);

#endif /* WAITCHAIN_TEST_RECORDING_SINK_H */
