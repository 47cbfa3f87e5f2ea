/*
 * perfetto.h - `waitchain export --format perfetto-json`: the analysis of
 * a case database as a Trace Event Format (JSON) file, the format the
 * Perfetto UI (ui.perfetto.dev) and chrome://tracing open.
 *
 * Shape of the document (report/perfetto.c writes it row by row):
 *
 *   {"displayTimeUnit":"ns",
 *    "otherData":{"generator":"waitchain X.Y", capture facts...},
 *    "traceEvents":[
 *      {"ph":"M","name":"process_name","pid":P,"tid":P,"args":{"name":..}}
 *      {"ph":"M","name":"thread_name","pid":P,"tid":T,"args":{"name":..}}
 *      {"ph":"M","name":"thread_sort_index",...}      vCPUs first
 *      {"ph":"X","cat":"state","name":"running"|"runnable (preempted)"|
 *         "runnable (woken)"|"sleeping"|"blocked I/O",...}  thread_state
 *      {"ph":"X","cat":"global_mutex","name":"global mutex wait",...,
 *         "args":{"block_id","futex","holders":[..],"chain":[..]}}  block
 *      {"ph":"X","cat":"wake","name":"FUTEX_WAKE",dur 0,"bind_id":B,
 *         "flow_out":true}       on the releasing holder, at its wake call
 *      {"ph":"X","cat":"wake","name":"woken",dur 0,"bind_id":B,
 *         "flow_in":true}        on the woken waiter, at its wakeup
 *    ]}
 *
 * pid is thread.pid, or the tid itself when the process is unknown.
 * Timestamps and durations are microseconds with three decimals (exact
 * nanoseconds).  Thread names and symbols go through the JSON escaper.
 */
#ifndef WAITCHAIN_REPORT_PERFETTO_H
#define WAITCHAIN_REPORT_PERFETTO_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#include "waitchain/error.h"

/* Per-block limit on holder-chain rows copied into a slice's args. */
#define WC_PERFETTO_MAX_CHAIN_ARGS 64

struct wc_perfetto_stats {
	uint64_t threads;	/* thread_name metadata events */
	uint64_t state_slices;	/* thread_state slices */
	uint64_t block_slices;	/* global-mutex wait slices */
	uint64_t flows;		/* wake -> woken flow pairs */
};

/*
 * Writes the Trace Event Format document of DB (analysis tables filled)
 * to OUT, streaming: memory stays bounded whatever the database size.
 * DB_PATH names the database in errors.  STATS may be NULL.  0 or a
 * negative code (WC_EDB, WC_EIO).
 */
int wc_export_perfetto_json(sqlite3 *db, const char *db_path, FILE *out,
			    struct wc_perfetto_stats *stats,
			    struct wc_error *err);

#endif /* WAITCHAIN_REPORT_PERFETTO_H */
