/*
 * tep_events.c - tracepoint payload -> struct wc_event, via libtraceevent.
 *
 * See tep_events.h for the contract.  Data shapes: one struct ev_info per
 * event format of the tep_handle (a few hundred to a few thousand), and a
 * table of pointers indexed by event id (ids are the 16-bit common_type,
 * so at most 65536 slots, 512 KiB in the worst case of a hostile format
 * list; usually a few thousand).  Field handles are looked up by name
 * once here, never per event.
 *
 * Hostile-input notes: the payload is capture bytes.  Every load checks
 * the field's offset and size against the payload size first; numbers are
 * read with tep_read_number() (which applies the capture's byte order) and
 * sign-extended by the field's own size and signedness, so a `long
 * prev_state` and an `unsigned int prev_state` both work; __data_loc and
 * __rel_loc strings are checked against the payload; strings are copied
 * into NUL-terminated scratch buffers, truncated to their size.
 */
#include "tep_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <traceevent/event-parse.h>

/* Sub-kinds: which field layout the event uses. */
enum ev_kind {
	K_NONE,
	K_SWITCH,
	K_WAKE,
	K_FORK,
	K_EXIT,
	K_RENAME,
	K_FUTEX,		/* sys_enter_futex: futex(2) arguments */
	K_FUTEX_WAIT,		/* sys_enter_futex_wait */
	K_FUTEX_WAKE,		/* sys_enter_futex_wake */
	K_FUTEX_WAITV,		/* sys_enter_futex_waitv */
	K_FUTEX_REQUEUE,	/* sys_enter_futex_requeue */
	K_SYS_EXIT,
	K_KVM_ENTRY,
	K_KVM_EXIT,
	K_KVM_USEREXIT,
	K_KERNEL_STACK,
};

/* Field slots, named per kind (a slot is NULL when the format lacks it). */
#define F_MAX 8

struct ev_info {
	enum wc_event_type type;
	enum ev_kind kind;
	const char *name;	/* borrowed from the tep_event */
	const char *syscall;	/* futex events: "futex", "futex_wait", ... */
	struct tep_format_field *f[F_MAX];
};

struct wc_tep_events {
	struct tep_handle *tep;
	struct ev_info *infos;		/* one per event format */
	int ninfos;
	struct ev_info **by_id;		/* index: event id */
	int nids;
	int type_off, type_size;	/* common_type */
	int pid_off, pid_size;		/* common_pid, size 0 if absent */
	int long_size;
	/* scratch space for strings handed out by decode */
	char str[2][256];
};

/* Name table: event name, system it must come from, type, kind, syscall. */
static const struct {
	const char *name, *system;
	enum wc_event_type type;
	enum ev_kind kind;
	const char *syscall;
} known_events[] = {
	{ "sched_switch", "sched", WC_EV_SCHED_SWITCH, K_SWITCH, NULL },
	{ "sched_waking", "sched", WC_EV_SCHED_WAKING, K_WAKE, NULL },
	{ "sched_wakeup", "sched", WC_EV_SCHED_WAKEUP, K_WAKE, NULL },
	{ "sched_wakeup_new", "sched", WC_EV_SCHED_WAKEUP_NEW, K_WAKE, NULL },
	{ "sched_process_fork", "sched", WC_EV_PROCESS_FORK, K_FORK, NULL },
	{ "sched_process_exit", "sched", WC_EV_PROCESS_EXIT, K_EXIT, NULL },
	{ "task_rename", "task", WC_EV_TASK_RENAME, K_RENAME, NULL },
	{ "sys_enter_futex", "syscalls", WC_EV_FUTEX_ENTER, K_FUTEX, "futex" },
	{ "sys_enter_futex_wait", "syscalls", WC_EV_FUTEX_ENTER, K_FUTEX_WAIT,
	  "futex_wait" },
	{ "sys_enter_futex_wake", "syscalls", WC_EV_FUTEX_ENTER, K_FUTEX_WAKE,
	  "futex_wake" },
	{ "sys_enter_futex_waitv", "syscalls", WC_EV_FUTEX_ENTER,
	  K_FUTEX_WAITV, "futex_waitv" },
	{ "sys_enter_futex_requeue", "syscalls", WC_EV_FUTEX_ENTER,
	  K_FUTEX_REQUEUE, "futex_requeue" },
	{ "sys_exit_futex", "syscalls", WC_EV_FUTEX_EXIT, K_SYS_EXIT, "futex" },
	{ "sys_exit_futex_wait", "syscalls", WC_EV_FUTEX_EXIT, K_SYS_EXIT,
	  "futex_wait" },
	{ "sys_exit_futex_wake", "syscalls", WC_EV_FUTEX_EXIT, K_SYS_EXIT,
	  "futex_wake" },
	{ "sys_exit_futex_waitv", "syscalls", WC_EV_FUTEX_EXIT, K_SYS_EXIT,
	  "futex_waitv" },
	{ "sys_exit_futex_requeue", "syscalls", WC_EV_FUTEX_EXIT, K_SYS_EXIT,
	  "futex_requeue" },
	{ "kvm_entry", "kvm", WC_EV_KVM_ENTRY, K_KVM_ENTRY, NULL },
	{ "kvm_exit", "kvm", WC_EV_KVM_EXIT, K_KVM_EXIT, NULL },
	{ "kvm_userspace_exit", "kvm", WC_EV_KVM_USERSPACE_EXIT,
	  K_KVM_USEREXIT, NULL },
	{ "kernel_stack", "ftrace", WC_EV_OTHER, K_KERNEL_STACK, NULL },
};

/* Field names per kind, in slot order. */
static const char *const kind_fields[][F_MAX] = {
	[K_NONE] = { NULL },
	[K_SWITCH] = { "prev_comm", "prev_pid", "prev_prio", "prev_state",
		       "next_comm", "next_pid", "next_prio", NULL },
	[K_WAKE] = { "comm", "pid", "prio", "target_cpu", NULL },
	[K_FORK] = { "parent_comm", "parent_pid", "child_comm", "child_pid",
		     NULL },
	[K_EXIT] = { "comm", "pid", "prio", NULL },
	[K_RENAME] = { "pid", "oldcomm", "newcomm", NULL },
	[K_FUTEX] = { "uaddr", "op", "val", "utime", "uaddr2", "val3", NULL },
	[K_FUTEX_WAIT] = { "uaddr", "val", "mask", "flags", "timeout",
			   "clockid", NULL },
	[K_FUTEX_WAKE] = { "uaddr", "mask", "nr", "flags", NULL },
	[K_FUTEX_WAITV] = { "waiters", "nr_futexes", "flags", "timeout",
			    "clockid", NULL },
	[K_FUTEX_REQUEUE] = { "waiters", "flags", "nr_wake", "nr_requeue",
			      NULL },
	[K_SYS_EXIT] = { "ret", NULL },
	[K_KVM_ENTRY] = { "vcpu_id", "rip", NULL },
	[K_KVM_EXIT] = { "exit_reason", "guest_rip", "isa", "vcpu_id", NULL },
	[K_KVM_USEREXIT] = { "reason", NULL },
	[K_KERNEL_STACK] = { "size", "caller", NULL },
};

#define MAX_EVENT_ID 65535

/* Index of NAME (and SYSTEM, if not NULL) in known_events, or -1. */
static int known_index(const char *name, const char *system)
{
	size_t i;

	if (!name)
		return -1;
	for (i = 0; i < sizeof(known_events) / sizeof(known_events[0]); i++) {
		if (strcmp(known_events[i].name, name) != 0)
			continue;
		if (system && strcmp(known_events[i].system, system) != 0)
			return -1;
		return (int)i;
	}
	return -1;
}

enum wc_event_type wc_tep_event_type_from_name(const char *name,
					       const char **syscall)
{
	int i = known_index(name, NULL);

	if (syscall)
		*syscall = i >= 0 ? known_events[i].syscall : NULL;
	if (i < 0)
		return WC_EV_OTHER;
	return known_events[i].type;
}

int wc_tep_events_new(struct tep_handle *tep, struct wc_tep_events **out,
		      struct wc_error *err)
{
	struct wc_tep_events *te;
	struct tep_format_field *f;
	struct tep_event *first;
	int count, i, maxid = -1;

	*out = NULL;
	te = calloc(1, sizeof(*te));
	if (!te)
		return wc_err(err, WC_ENOMEM, NULL, "out of memory (event tables)");
	te->tep = tep;
	te->long_size = tep_get_long_size(tep);
	if (te->long_size != 4 && te->long_size != 8)
		te->long_size = 8;
	/* The common header is the same for every event: defaults follow
	 * the kernel's struct trace_entry. */
	te->type_off = 0;
	te->type_size = 2;
	te->pid_off = 4;
	te->pid_size = 4;
	count = tep_get_events_count(tep);
	if (count < 0)
		count = 0;
	first = count > 0 ? tep_get_first_event(tep) : NULL;
	if (first) {
		f = tep_find_common_field(first, "common_type");
		if (f && f->offset >= 0 && (f->size == 1 || f->size == 2 ||
					    f->size == 4 || f->size == 8)) {
			te->type_off = f->offset;
			te->type_size = f->size;
		}
		f = tep_find_common_field(first, "common_pid");
		if (f && f->offset >= 0 && (f->size == 2 || f->size == 4 ||
					    f->size == 8)) {
			te->pid_off = f->offset;
			te->pid_size = f->size;
		}
	}
	te->infos = calloc(count ? (size_t)count : 1, sizeof(*te->infos));
	if (!te->infos)
		goto nomem;
	for (i = 0; i < count; i++) {
		struct tep_event *ev = tep_get_event(tep, i);
		if (ev && ev->id >= 0 && ev->id <= MAX_EVENT_ID && ev->id > maxid)
			maxid = ev->id;
	}
	te->nids = maxid + 1;
	te->by_id = calloc(te->nids ? (size_t)te->nids : 1,
			   sizeof(*te->by_id));
	if (!te->by_id)
		goto nomem;
	for (i = 0; i < count; i++) {
		struct tep_event *ev = tep_get_event(tep, i);
		struct ev_info *info = &te->infos[te->ninfos];
		int k, s;

		if (!ev || ev->id < 0 || ev->id > MAX_EVENT_ID)
			continue;
		te->ninfos++;
		info->name = ev->name ? ev->name : "";
		info->type = WC_EV_OTHER;
		info->kind = K_NONE;
		k = known_index(ev->name, ev->system);
		if (k >= 0) {
			info->type = known_events[k].type;
			info->kind = known_events[k].kind;
			info->syscall = known_events[k].syscall;
			for (s = 0; s < F_MAX && kind_fields[info->kind][s]; s++)
				info->f[s] = tep_find_field(ev,
						kind_fields[info->kind][s]);
		}
		/* first format wins when a hostile list repeats an id */
		if (!te->by_id[ev->id])
			te->by_id[ev->id] = info;
	}
	*out = te;
	return 0;
nomem:
	wc_tep_events_free(te);
	return wc_err(err, WC_ENOMEM, NULL, "out of memory (event tables)");
}

void wc_tep_events_free(struct wc_tep_events *te)
{
	if (!te)
		return;
	free(te->infos);
	free(te->by_id);
	free(te);
}

/* The info of event ID, or NULL. */
static const struct ev_info *info_of(const struct wc_tep_events *te, int id)
{
	if (id < 0 || id >= te->nids)
		return NULL;
	return te->by_id[id];
}

enum wc_event_type wc_tep_events_type(const struct wc_tep_events *te, int id,
				      const char **name)
{
	const struct ev_info *info = info_of(te, id);

	if (name)
		*name = info ? info->name : NULL;
	return info ? info->type : WC_EV_TYPE_COUNT;
}

int wc_tep_events_is_kernel_stack(const struct wc_tep_events *te, int id)
{
	const struct ev_info *info = info_of(te, id);

	return info && info->kind == K_KERNEL_STACK;
}

/* Unsigned number of SIZE (1, 2, 4, 8) bytes at OFF, or 0 when outside. */
static uint64_t load_u(const struct wc_tep_events *te, const unsigned char *d,
		       size_t len, int off, int size)
{
	if (off < 0 || (size != 1 && size != 2 && size != 4 && size != 8))
		return 0;
	if ((size_t)off > len || (size_t)size > len - (size_t)off)
		return 0;
	return tep_read_number(te->tep, d + off, size);
}

int wc_tep_events_id(const struct wc_tep_events *te, const void *data,
		     size_t size)
{
	if (te->type_off < 0 || (size_t)te->type_off > size ||
	    (size_t)te->type_size > size - (size_t)te->type_off)
		return -1;
	return (int)(load_u(te, data, size, te->type_off, te->type_size) &
		     0xffff);
}

/*
 * Value of numeric field F, sign-extended when the format says signed;
 * 0 when F is NULL, not a 1/2/4/8-byte scalar, or outside the payload.
 */
static int64_t field_num(const struct wc_tep_events *te,
			 const struct tep_format_field *f,
			 const unsigned char *d, size_t len)
{
	uint64_t v;

	if (!f)
		return 0;
	v = load_u(te, d, len, f->offset, f->size);
	if ((f->flags & TEP_FIELD_IS_SIGNED) &&
	    (f->size == 1 || f->size == 2 || f->size == 4)) {
		unsigned shift = 64 - 8 * (unsigned)f->size;
		return (int64_t)(v << shift) >> shift;
	}
	return (int64_t)v;
}

/* Like field_num, with DFLT when the format lacks the field. */
static int64_t field_num_or(const struct wc_tep_events *te,
			    const struct tep_format_field *f,
			    const unsigned char *d, size_t len, int64_t dflt)
{
	return f ? field_num(te, f, d, len) : dflt;
}

/*
 * Copies string field F (char array or __data_loc/__rel_loc char[]) into
 * te->str[SLOT], NUL-terminated, stopping at the first NUL, truncated to
 * the field/payload bounds.  Returns the copy ("" when absent/outside).
 */
static const char *field_str(struct wc_tep_events *te,
			     const struct tep_format_field *f,
			     const unsigned char *d, size_t len, int slot)
{
	char *out = te->str[slot];
	size_t cap = sizeof(te->str[slot]) - 1;
	size_t off, n = 0, avail;

	out[0] = '\0';
	if (!f || f->offset < 0)
		return out;
	if (f->flags & TEP_FIELD_IS_DYNAMIC) {
		uint64_t loc;
		/* __data_loc: u32, offset in the low half, length high */
		if (f->size != 4)
			return out;
		if ((size_t)f->offset > len ||
		    (size_t)f->size > len - (size_t)f->offset)
			return out;
		loc = load_u(te, d, len, f->offset, f->size);
		off = (size_t)(loc & 0xffff);
		avail = (size_t)(loc >> 16);
		if (f->flags & TEP_FIELD_IS_RELATIVE)
			off += (size_t)f->offset + (size_t)f->size;
	} else {
		off = (size_t)f->offset;
		avail = f->size > 0 ? (size_t)f->size : 0;
	}
	if (off >= len)
		return out;
	if (avail > len - off)
		avail = len - off;
	if (avail > cap)
		avail = cap;
	while (n < avail && d[off + n] != '\0') {
		out[n] = (char)d[off + n];
		n++;
	}
	out[n] = '\0';
	return out;
}

/* CLOCK_REALTIME, the clockid that maps to FUTEX_CLOCK_REALTIME. */
#define CLOCKID_REALTIME 0

int wc_tep_events_decode(struct wc_tep_events *te, const void *data,
			 size_t size, struct wc_event *ev, char *why,
			 size_t whylen)
{
	const unsigned char *d = data;
	struct tep_format_field *const *f;
	const struct ev_info *info;
	int id;

	id = wc_tep_events_id(te, data, size);
	if (id < 0 || (size_t)te->pid_off + (size_t)te->pid_size > size) {
		if (whylen)
			snprintf(why, whylen, "payload of %zu bytes shorter "
				 "than the common event header", size);
		return -WC_EFORMAT;
	}
	info = info_of(te, id);
	if (!info) {
		if (whylen)
			snprintf(why, whylen, "unknown event id %d", id);
		return -WC_EFORMAT;
	}
	f = info->f;
	memset(&ev->u, 0, sizeof(ev->u));
	ev->type = info->type;
	ev->name = info->name;
	ev->pid = -1;
	ev->stack = NULL;
	ev->stack_id = 0;
	{
		uint64_t v = load_u(te, d, size, te->pid_off, te->pid_size);
		ev->tid = te->pid_size == 2 ? (int16_t)v : (int32_t)v;
	}
	switch (info->kind) {
	case K_SWITCH:
		ev->u.sw.prev_comm = field_str(te, f[0], d, size, 0);
		ev->u.sw.prev_tid = (int32_t)field_num(te, f[1], d, size);
		ev->u.sw.prev_prio = (int32_t)field_num(te, f[2], d, size);
		ev->u.sw.prev_state = field_num(te, f[3], d, size);
		ev->u.sw.next_comm = field_str(te, f[4], d, size, 1);
		ev->u.sw.next_tid = (int32_t)field_num(te, f[5], d, size);
		ev->u.sw.next_prio = (int32_t)field_num(te, f[6], d, size);
		break;
	case K_WAKE:
		ev->u.wake.comm = field_str(te, f[0], d, size, 0);
		ev->u.wake.tid = (int32_t)field_num(te, f[1], d, size);
		ev->u.wake.prio = (int32_t)field_num(te, f[2], d, size);
		ev->u.wake.target_cpu =
			(int32_t)field_num_or(te, f[3], d, size, -1);
		break;
	case K_FORK:
		ev->u.fork.parent_comm = field_str(te, f[0], d, size, 0);
		ev->u.fork.parent_tid = (int32_t)field_num(te, f[1], d, size);
		ev->u.fork.child_comm = field_str(te, f[2], d, size, 1);
		ev->u.fork.child_tid = (int32_t)field_num(te, f[3], d, size);
		break;
	case K_EXIT:
		ev->u.exit.comm = field_str(te, f[0], d, size, 0);
		ev->u.exit.tid = (int32_t)field_num(te, f[1], d, size);
		ev->u.exit.prio = (int32_t)field_num(te, f[2], d, size);
		break;
	case K_RENAME:
		ev->u.rename.tid = (int32_t)field_num(te, f[0], d, size);
		ev->u.rename.oldcomm = field_str(te, f[1], d, size, 0);
		ev->u.rename.newcomm = field_str(te, f[2], d, size, 1);
		break;
	case K_FUTEX:
		ev->u.futex_enter.syscall = info->syscall;
		ev->u.futex_enter.uaddr = (uint64_t)field_num(te, f[0], d, size);
		ev->u.futex_enter.op = (int32_t)field_num(te, f[1], d, size);
		ev->u.futex_enter.val = (uint32_t)field_num(te, f[2], d, size);
		ev->u.futex_enter.utime = (uint64_t)field_num(te, f[3], d, size);
		ev->u.futex_enter.uaddr2 = (uint64_t)field_num(te, f[4], d, size);
		ev->u.futex_enter.val3 = (uint32_t)field_num(te, f[5], d, size);
		break;
	case K_FUTEX_WAIT: {
		/* futex_wait(uaddr, val, mask, flags, timeout, clockid):
		 * reported as FUTEX_WAIT_BITSET with val3 = mask. */
		uint64_t flags = (uint64_t)field_num(te, f[3], d, size);
		int32_t op = WC_FUTEX_WAIT_BITSET |
			     (int32_t)(flags & WC_FUTEX_PRIVATE_FLAG);
		if (f[5] && field_num(te, f[5], d, size) == CLOCKID_REALTIME)
			op |= WC_FUTEX_CLOCK_REALTIME;
		ev->u.futex_enter.syscall = info->syscall;
		ev->u.futex_enter.uaddr = (uint64_t)field_num(te, f[0], d, size);
		ev->u.futex_enter.val = (uint32_t)field_num(te, f[1], d, size);
		ev->u.futex_enter.val3 = (uint32_t)field_num(te, f[2], d, size);
		ev->u.futex_enter.utime = (uint64_t)field_num(te, f[4], d, size);
		ev->u.futex_enter.op = op;
		break;
	}
	case K_FUTEX_WAKE: {
		/* futex_wake(uaddr, mask, nr, flags): WAKE_BITSET, val = nr */
		uint64_t flags = (uint64_t)field_num(te, f[3], d, size);
		ev->u.futex_enter.syscall = info->syscall;
		ev->u.futex_enter.uaddr = (uint64_t)field_num(te, f[0], d, size);
		ev->u.futex_enter.val3 = (uint32_t)field_num(te, f[1], d, size);
		ev->u.futex_enter.val = (uint32_t)field_num(te, f[2], d, size);
		ev->u.futex_enter.op = WC_FUTEX_WAKE_BITSET |
			(int32_t)(flags & WC_FUTEX_PRIVATE_FLAG);
		break;
	}
	case K_FUTEX_WAITV: {
		/* futex_waitv(waiters, nr_futexes, flags, timeout, clockid):
		 * uaddr is the user array of struct futex_waitv. */
		int32_t op = WC_FUTEX_WAITV;
		if (f[4] && field_num(te, f[4], d, size) == CLOCKID_REALTIME)
			op |= WC_FUTEX_CLOCK_REALTIME;
		ev->u.futex_enter.syscall = info->syscall;
		ev->u.futex_enter.uaddr = (uint64_t)field_num(te, f[0], d, size);
		ev->u.futex_enter.val = (uint32_t)field_num(te, f[1], d, size);
		ev->u.futex_enter.utime = (uint64_t)field_num(te, f[3], d, size);
		ev->u.futex_enter.op = op;
		break;
	}
	case K_FUTEX_REQUEUE: {
		/* futex_requeue(waiters, flags, nr_wake, nr_requeue):
		 * CMP_REQUEUE with val = nr_wake, utime (val2) = nr_requeue */
		uint64_t flags = (uint64_t)field_num(te, f[1], d, size);
		ev->u.futex_enter.syscall = info->syscall;
		ev->u.futex_enter.uaddr = (uint64_t)field_num(te, f[0], d, size);
		ev->u.futex_enter.val = (uint32_t)field_num(te, f[2], d, size);
		ev->u.futex_enter.utime = (uint64_t)field_num(te, f[3], d, size);
		ev->u.futex_enter.op = WC_FUTEX_CMP_REQUEUE |
			(int32_t)(flags & WC_FUTEX_PRIVATE_FLAG);
		break;
	}
	case K_SYS_EXIT:
		ev->u.futex_exit.syscall = info->syscall;
		ev->u.futex_exit.ret = field_num(te, f[0], d, size);
		break;
	case K_KVM_ENTRY:
		ev->u.kvm.vcpu_id = (int32_t)field_num_or(te, f[0], d, size, -1);
		ev->u.kvm.guest_rip = (uint64_t)field_num(te, f[1], d, size);
		break;
	case K_KVM_EXIT: {
		int64_t isa = field_num(te, f[2], d, size);
		ev->u.kvm.reason = (uint32_t)field_num(te, f[0], d, size);
		ev->u.kvm.guest_rip = (uint64_t)field_num(te, f[1], d, size);
		ev->u.kvm.isa = isa == 1 ? "VMX" : isa == 2 ? "SVM" : NULL;
		ev->u.kvm.vcpu_id = (int32_t)field_num_or(te, f[3], d, size, -1);
		break;
	}
	case K_KVM_USEREXIT:
		ev->u.kvm.vcpu_id = -1;
		ev->u.kvm.reason = (uint32_t)field_num(te, f[0], d, size);
		break;
	case K_KERNEL_STACK:
	case K_NONE:
		break;
	}
	return 0;
}

int wc_tep_events_kernel_stack(const struct wc_tep_events *te,
			       const void *data, size_t size,
			       struct wc_frame *frames, uint32_t max)
{
	const unsigned char *d = data;
	const struct tep_format_field *fsize, *fcaller;
	const struct ev_info *info;
	uint64_t want, n, i, end_marker;
	size_t esize, off;

	info = info_of(te, wc_tep_events_id(te, data, size));
	if (!info || info->kind != K_KERNEL_STACK || !info->f[1])
		return -1;
	fsize = info->f[0];
	fcaller = info->f[1];
	if (fcaller->offset < 0 || (size_t)fcaller->offset > size)
		return -1;
	esize = fcaller->elementsize == 4 || fcaller->elementsize == 8 ?
		fcaller->elementsize : (size_t)te->long_size;
	off = (size_t)fcaller->offset;
	/* the ring-buffer record is as long as the stack it holds: the
	 * format's caller[8] is only the minimum */
	n = (size - off) / esize;
	if (fsize) {
		want = (uint64_t)field_num(te, fsize, d, size);
		if (want < n)
			n = want;
	}
	if (n > max)
		n = max;
	end_marker = esize == 8 ? UINT64_MAX : UINT32_MAX;
	for (i = 0; i < n; i++) {
		uint64_t ip = tep_read_number(te->tep, d + off + i * esize,
					      (int)esize);
		if (ip == end_marker || ip == 0)
			break;
		frames[i].ip = ip;
		frames[i].kernel = 1;
	}
	return (int)i;
}
