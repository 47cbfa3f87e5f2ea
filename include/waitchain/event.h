/*
 * event.h - the normalized events every importer produces.
 *
 * An importer (importers/) turns one capture format into a stream of
 * calls on a struct wc_sink: capture metadata, thread-name observations,
 * lost-event reports and, above all, events in time order.  The SQLite
 * writer (src/db_writer.c) is the main sink; tests use a recording sink
 * to check an importer without a database.  Everything format-specific
 * stops here: analyses read the database, never a capture.
 *
 * Conventions for all structures below:
 *  - timestamps are nanoseconds in the capture's clock (uint64_t);
 *  - tids/pids are the kernel's; -1 means "not known"; tid 0 is idle;
 *  - strings are borrowed for the duration of the call only, are
 *    NUL-terminated, and are attacker-controlled bytes (thread names come
 *    from the traced machine): never interpret or print them unescaped;
 *  - events are delivered in non-decreasing ts order (ties in the order
 *    the capture gives them); the sink numbers them (seq) in that order.
 */
#ifndef WAITCHAIN_EVENT_H
#define WAITCHAIN_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "waitchain/error.h"

enum wc_event_type {
	WC_EV_SCHED_SWITCH,
	WC_EV_SCHED_WAKING,
	WC_EV_SCHED_WAKEUP,
	WC_EV_SCHED_WAKEUP_NEW,
	WC_EV_PROCESS_FORK,
	WC_EV_PROCESS_EXIT,
	WC_EV_TASK_RENAME,
	WC_EV_FUTEX_ENTER,	/* sys_enter_futex, sys_enter_futex_wait, ... */
	WC_EV_FUTEX_EXIT,	/* the matching sys_exit_* */
	WC_EV_KVM_ENTRY,
	WC_EV_KVM_EXIT,
	WC_EV_KVM_USERSPACE_EXIT,
	WC_EV_OTHER,		/* any other event: only counted, by name */
	WC_EV_TYPE_COUNT
};

/* Futex commands (op & WC_FUTEX_CMD_MASK), as in <linux/futex.h>. */
enum {
	WC_FUTEX_WAIT = 0, WC_FUTEX_WAKE = 1, WC_FUTEX_FD = 2,
	WC_FUTEX_REQUEUE = 3, WC_FUTEX_CMP_REQUEUE = 4, WC_FUTEX_WAKE_OP = 5,
	WC_FUTEX_LOCK_PI = 6, WC_FUTEX_UNLOCK_PI = 7, WC_FUTEX_TRYLOCK_PI = 8,
	WC_FUTEX_WAIT_BITSET = 9, WC_FUTEX_WAKE_BITSET = 10,
	WC_FUTEX_WAIT_REQUEUE_PI = 11, WC_FUTEX_CMP_REQUEUE_PI = 12,
	WC_FUTEX_LOCK_PI2 = 13,
	/*
	 * Not real futex(2) commands: the futex_waitv(2) system call has
	 * no op argument; importers report it with this command so that
	 * one column says what the call did.  futex_wait(2), futex_wake(2)
	 * and futex_requeue(2) are reported as WAIT_BITSET, WAKE_BITSET
	 * and CMP_REQUEUE, with the original name in `syscall`.
	 */
	WC_FUTEX_WAITV = 0x70,
	WC_FUTEX_CMD_MASK = 0x7f,
	WC_FUTEX_PRIVATE_FLAG = 128,
	WC_FUTEX_CLOCK_REALTIME = 256,
};

/* One frame of a stack; kernel frames first (innermost first). */
struct wc_frame {
	uint64_t ip;
	int kernel;		/* 1 kernel frame, 0 user frame */
};

/* A stack (callchain) recorded with an event. */
struct wc_stack {
	const struct wc_frame *frames;	/* innermost first */
	uint32_t nframes;
};

/*
 * Resolves an address for a stack frame the sink stores (stacks are
 * deduplicated through a bounded cache, so this runs about once per
 * distinct frame, not per event; again for a frame whose cache entry was
 * dropped).  Sets *symbol (function name, may stay NULL), *dso
 * (binary or "[kernel.kallsyms]", may stay NULL) and *offset (address
 * within symbol or DSO).  Returned strings are borrowed until the next
 * call or until the importer is closed.  Returns 0, or a negative code.
 */
struct wc_symbolizer {
	void *ctx;
	int (*resolve)(void *ctx, int32_t pid, uint64_t ip, int kernel,
		       const char **symbol, uint64_t *symbol_offset,
		       const char **dso, uint64_t *dso_offset);
};

/* A frame as stored (stack_frame): its address and what it resolved to. */
struct wc_frame_sym {
	uint64_t ip;
	int kernel;
	const char *symbol, *dso;	/* NULL when unknown */
	uint64_t symbol_offset, dso_offset;	/* meaningful when the name is set */
};

/* A deduplicated stack to store once (stack and stack_frame rows). */
struct wc_stack_def {
	int64_t id;		/* stack.id, > 0 */
	uint64_t hash;
	uint32_t nframes;
	const struct wc_frame_sym *frames;	/* innermost first */
};

struct wc_event {
	enum wc_event_type type;
	const char *name;	/* event name as recorded, e.g. "sched_switch" */
	uint64_t ts;
	int32_t cpu;		/* CPU it fired on, -1 unknown */
	int32_t tid;		/* task in whose context it fired */
	int32_t pid;		/* that task's process (tgid) if known, else -1 */
	int32_t buffer;		/* buffer/instance id (see wc_sink.buffer), 0 = top */
	const struct wc_stack *stack;	/* stack recorded with it, or NULL */
	/* Set by a stage between importer and sink that deduplicated the
	 * stack already (src/db_pipe.c): its stack.id, delivered to the
	 * sink's stack() first, and stack is NULL.  Importers leave it 0. */
	int64_t stack_id;
	union {
		struct {
			int32_t prev_tid, prev_prio;
			int64_t prev_state;	/* raw kernel value */
			int32_t next_tid, next_prio;
			const char *prev_comm, *next_comm;
		} sw;
		/* sched_waking, sched_wakeup, sched_wakeup_new */
		struct {
			int32_t tid, prio, target_cpu;
			const char *comm;
		} wake;
		struct {
			int32_t parent_tid, child_tid;
			const char *parent_comm, *child_comm;
		} fork;
		struct {
			int32_t tid, prio;
			const char *comm;
		} exit;
		struct {
			int32_t tid;
			const char *oldcomm, *newcomm;
		} rename;
		struct {
			const char *syscall;	/* "futex", "futex_wait", ... */
			uint64_t uaddr, uaddr2, utime;
			int32_t op;		/* futex(2) op incl. flags */
			uint32_t val, val3;
		} futex_enter;
		struct {
			const char *syscall;
			int64_t ret;
		} futex_exit;
		/* kvm_entry / kvm_exit / kvm_userspace_exit */
		struct {
			int32_t vcpu_id;	/* -1 when not recorded */
			uint32_t reason;	/* exit_reason / userspace reason */
			uint64_t guest_rip;
			const char *isa;	/* e.g. "VMX", "SVM", or NULL */
		} kvm;
	} u;
};

/* Where a thread name was observed. */
enum wc_comm_source {
	WC_COMM_CMDLINES,	/* saved cmdlines of the capture (trace.dat) */
	WC_COMM_RECORD,		/* perf COMM record */
	WC_COMM_EXEC,		/* perf COMM record with the exec flag */
	WC_COMM_EVENT,		/* a comm field of an event */
	WC_COMM_RENAME,		/* task_rename */
};

/* A trace buffer (trace.dat instance) the capture holds. */
struct wc_buffer_info {
	int32_t id;		/* 0 = top/only buffer */
	const char *name;	/* "" for the top buffer */
	const char *clock;	/* trace clock, or NULL */
	int32_t ncpus;
	uint64_t nevents;	/* events in it (0 = empty), if known */
	int imported;		/* 1 if its events are imported */
};

/*
 * The sink: every callback returns 0 or a negative WC_E* code (after
 * filling err), which makes the importer stop and return that code.
 */
struct wc_sink {
	void *ctx;
	/* Capture metadata (key, value), see schema/010_capture.sql for the
	 * keys; a repeated key replaces the earlier value. */
	int (*meta)(void *ctx, const char *key, const char *value,
		    struct wc_error *err);
	/* A buffer the capture holds; called before its events, and maybe
	 * again for the same id once its count of events is known (the
	 * later call replaces). */
	int (*buffer)(void *ctx, const struct wc_buffer_info *b,
		      struct wc_error *err);
	/* A thread name seen at time ts (0 = undated, e.g. cmdlines). */
	int (*comm)(void *ctx, uint64_t ts, int32_t tid, int32_t pid,
		    const char *comm, enum wc_comm_source src,
		    struct wc_error *err);
	/* Events lost on cpu (-1 unknown) around ts (0 = unknown time):
	 * kind is "lost" (perf LOST), "lost_samples", "overrun" or
	 * "dropped" (trace.dat per-CPU statistics) or "missed" (ring
	 * buffer pages lost between ts_from and ts). */
	int (*lost)(void *ctx, int32_t cpu, uint64_t ts_from, uint64_t ts,
		    uint64_t count, const char *kind, struct wc_error *err);
	/* One event, in time order. */
	int (*event)(void *ctx, const struct wc_event *ev,
		     struct wc_error *err);
	/* A stack deduplicated before the sink, delivered before the first
	 * event whose stack_id names it.  Only stages that set stack_id
	 * call it; importers never do. */
	int (*stack)(void *ctx, const struct wc_stack_def *def,
		     struct wc_error *err);
};

#endif /* WAITCHAIN_EVENT_H */
