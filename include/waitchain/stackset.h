/*
 * stackset.h - bounded stack deduplication and frame symbolization.
 *
 * Events may carry a callchain; the database stores each distinct stack
 * once (stack, stack_frame) and events refer to it by stack.id.  A
 * wc_stackset turns a stack into its id and, the first time, into the
 * definition to store: every frame with its symbol, resolved through the
 * importer's symbolizer.  Memory is a fixed budget whatever the capture
 * size (two generations of STACK_CACHE_ENTRIES stacks and (process, ip)
 * symbols, see stackset.c), so a stack seen again after its generation
 * was dropped is defined again under a new id.
 *
 * Results depend on the symbolizer's state at the time of the call (a
 * process may remap an address later), so the stackset is used in event
 * order, on the thread that runs the importer.  Not thread-safe.
 */
#ifndef WAITCHAIN_STACKSET_H
#define WAITCHAIN_STACKSET_H

#include <stdint.h>

#include "waitchain/error.h"
#include "waitchain/event.h"

struct wc_stackset;

/* A stackset resolving through SYM (copied; SYM->resolve may be NULL: no
 * symbols).  The budget is STACK_CACHE_ENTRIES per generation, or
 * $WAITCHAIN_STACK_CACHE (tests use tiny budgets to make eviction
 * happen).  Tables are allocated at the first stack.  0 or a negative
 * code; caller frees *OUT with wc_stackset_free(). */
int wc_stackset_new(const struct wc_symbolizer *sym, struct wc_stackset **out,
		    struct wc_error *err);

/*
 * The stack.id of STACK, recorded by a thread of process PID (-1 when
 * unknown: user frames are then resolved without a process).  Sets *ID
 * (> 0) and *DEF: NULL when the id was handed out before and its
 * definition is stored already, else the definition the caller must
 * store before any row refers to the id (borrowed until the next call;
 * its symbol and DSO strings until wc_stackset_free()).  An empty stack
 * gets *ID = 0 and *DEF = NULL.  0 or -WC_ENOMEM (a frame the symbolizer
 * fails on is stored without a name).
 */
int wc_stackset_intern(struct wc_stackset *s, const struct wc_stack *stack,
		       int32_t pid, int64_t *id, const struct wc_stack_def **def,
		       struct wc_error *err);

/* Frees S and the strings its definitions referred to.  Accepts NULL. */
void wc_stackset_free(struct wc_stackset *s);

#endif /* WAITCHAIN_STACKSET_H */
