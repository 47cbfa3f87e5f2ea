/*
 * db_pipe.h - decode | insert on two cores: a sink that replays what it
 * is given into another sink on a writer thread (see db_pipe.c).
 */
#ifndef WAITCHAIN_DB_PIPE_H
#define WAITCHAIN_DB_PIPE_H

#include "waitchain/error.h"
#include "waitchain/event.h"

struct wc_stackset;

struct wc_db_pipe;

/* Starts a writer thread replaying into INNER (borrowed until
 * wc_db_pipe_free).  STACKS (may be NULL) is INNER's stack dedup
 * (wc_db_writer_stackset()), run by the pipe on the caller's thread while
 * the pipe is asynchronous; without it (or without INNER->stack) the
 * first stack makes the pipe synchronous.  Caller frees *OUT with
 * wc_db_pipe_free(). */
int wc_db_pipe_new(const struct wc_sink *inner, struct wc_stackset *stacks,
		   struct wc_db_pipe **out, struct wc_error *err);

/* The sink to give the importer (owned by P). */
const struct wc_sink *wc_db_pipe_sink(struct wc_db_pipe *p);

/* Replays everything queued and stops the thread: afterwards INNER may be
 * used directly again.  Returns 0 or the writer's error (filling ERR). */
int wc_db_pipe_finish(struct wc_db_pipe *p, struct wc_error *err);

/* The writer's error so far (0 if none), filling ERR. */
int wc_db_pipe_failed(struct wc_db_pipe *p, struct wc_error *err);

/* Stops the thread (dropping what is still queued) and frees P.
 * Accepts NULL. */
void wc_db_pipe_free(struct wc_db_pipe *p);

#endif
