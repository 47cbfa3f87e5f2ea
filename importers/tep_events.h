/*
 * tep_events.h - decode tracepoint payloads into struct wc_event through
 * libtraceevent (shared by the trace.dat and perf.data importers).
 *
 * Both capture formats carry raw ftrace event payloads: the bytes a
 * tracepoint wrote into the ring buffer, starting with the common header
 * (common_type, common_flags, common_preempt_count, common_pid), described
 * by the event formats the capture embeds.  The importer builds a
 * `struct tep_handle` from those formats (libtracecmd does it for
 * trace.dat; the perf importer parses the tracing-data feature with
 * tep_parse_format()), then creates one struct wc_tep_events per handle:
 * it walks every event format once, maps event names to enum
 * wc_event_type and caches the `struct tep_format_field *` handles of the
 * fields we read, in a table indexed by event id.  Decoding an event is
 * then one table look-up and a few bounds-checked loads.
 *
 * Hostile input: payload sizes come from the capture.  Every field access
 * checks offset + size against the payload size (a field outside the
 * payload reads as 0 / "" and the event is still delivered, as trace-cmd
 * does); __data_loc / __rel_loc strings are bounds-checked as well; char
 * arrays (comm[16]) are copied into NUL-terminated scratch buffers.  An
 * unknown event id or a payload shorter than the common header is an
 * error (the caller reports where it was).
 */
#ifndef WAITCHAIN_TEP_EVENTS_H
#define WAITCHAIN_TEP_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "waitchain/error.h"
#include "waitchain/event.h"

struct tep_handle;
struct wc_tep_events;

/*
 * Builds the decoding tables for TEP (borrowed: it must outlive the
 * result).  Caller frees *out with wc_tep_events_free().  Returns 0 or
 * -WC_ENOMEM (err filled, no file name).
 */
int wc_tep_events_new(struct tep_handle *tep, struct wc_tep_events **out,
		      struct wc_error *err);

/* Frees the tables; accepts NULL. */
void wc_tep_events_free(struct wc_tep_events *te);

/*
 * Type waitchain gives to the event format with id ID: WC_EV_* for the
 * events of event.h, WC_EV_OTHER for any other known format, and
 * WC_EV_TYPE_COUNT when TEP has no format with that id.
 * *name (if NAME != NULL) is set to the event name (borrowed from TEP),
 * or NULL for an unknown id.
 */
enum wc_event_type wc_tep_events_type(const struct wc_tep_events *te, int id,
				      const char **name);

/* 1 if ID is ftrace's kernel_stack event (trace-cmd record -T), else 0. */
int wc_tep_events_is_kernel_stack(const struct wc_tep_events *te, int id);

/*
 * Event id (common_type) of the payload DATA of SIZE bytes, or -1 when
 * SIZE is too small to hold it.
 */
int wc_tep_events_id(const struct wc_tep_events *te, const void *data,
		     size_t size);

/*
 * Decodes the payload DATA (SIZE bytes, starting with the common header)
 * into EV: sets type, name, tid (common_pid) and the type's u.* fields;
 * sets pid = -1, stack = NULL, and leaves ts, cpu and buffer at 0 / as
 * they were for the caller to fill.  Strings placed in EV (comm fields,
 * name, syscall) stay valid until the next wc_tep_events_decode() call on
 * TE or until TE is freed.
 *
 * Returns 0, or -WC_EFORMAT with a short reason (e.g. "unknown event id
 * 917", "payload of 2 bytes shorter than the common header") written to
 * WHY (WHYLEN bytes, may be 0) so the caller can report it with the file
 * name and position it knows.
 */
int wc_tep_events_decode(struct wc_tep_events *te, const void *data,
			 size_t size, struct wc_event *ev, char *why,
			 size_t whylen);

/*
 * Kernel stack of a kernel_stack payload (see wc_tep_events_is_kernel_stack):
 * stores at most MAX instruction pointers of the callers, innermost first,
 * into FRAMES (kernel = 1) and returns how many, bounded by the payload
 * size and by the event's own `size` field (entries equal to ULONG_MAX or
 * 0 end the list, as older kernels padded with them).  Returns -1 when the
 * payload has no caller array.
 */
int wc_tep_events_kernel_stack(const struct wc_tep_events *te,
			       const void *data, size_t size,
			       struct wc_frame *frames, uint32_t max);

/*
 * Event type for an event NAME alone (no tep needed), e.g.
 * "sys_enter_futex_wait" -> WC_EV_FUTEX_ENTER.  *syscall (if not NULL)
 * gets the syscall name for futex events ("futex_wait"), else NULL.
 */
enum wc_event_type wc_tep_event_type_from_name(const char *name,
					       const char **syscall);

#endif /* WAITCHAIN_TEP_EVENTS_H */
