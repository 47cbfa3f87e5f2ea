/*
 * verdict.h - the story of a case database, as numbers and names.
 *
 * wc_verdict_compute() reads the analysis tables of a case database
 * (through the canned queries of queries/NAME.sql, so every number here is
 * also what `waitchain query NAME` prints) and fills one struct
 * wc_verdict: capture facts, per-vCPU times, the global mutex of each
 * process, who held it while vCPUs waited and what those holders were
 * doing (depth 1 of the holder chains), what they waited on in turn
 * (depth 2), and warnings about what the capture lacks.
 *
 * The text, JSON and HTML reports all render this same struct, and
 * wc_verdict_story() turns it into the same few sentences for each.
 *
 * Strings: every char * below is owned by the verdict (freed by
 * wc_verdict_free()) and may be NULL when unknown.  Names, symbols, host
 * and file names are the raw, untrusted bytes from the capture: escape
 * them for the output context (escape.h).  Warnings are sentences written
 * by waitchain but may quote the importer's/analyzer's warnings (which can
 * hold capture bytes): escape them too.  WC_STORY_TEXT spans of the story
 * are plain ASCII written by waitchain.
 *
 * Time-weighting: holder times are "vCPU-weighted": when two vCPUs wait on
 * the same holder at once, that time counts twice, exactly as the vCPUs'
 * blocked time does; so holder percentages add up to 100 per lock.
 */
#ifndef WAITCHAIN_VERDICT_H
#define WAITCHAIN_VERDICT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "waitchain/error.h"
#include "waitchain/report.h"

/* States of holders in chain rows, in this fixed order. */
enum wc_hstate {
	WC_HS_RUNNING,		/* on a CPU */
	WC_HS_PREEMPTED,	/* runnable after preemption */
	WC_HS_RUNNABLE,		/* runnable after a wakeup */
	WC_HS_FUTEX,		/* asleep on another futex */
	WC_HS_BLOCKED_IO,	/* D state */
	WC_HS_SLEEPING,		/* asleep otherwise */
	WC_HS_UNKNOWN,		/* not known (incl. 'deadlock', unknown holder) */
	WC_HS_COUNT
};

/* "running", "preempted", ... (the chain.state value); "?" if out of range. */
const char *wc_hstate_name(int state);
/* Words for a sentence: "running", "preempted", "waiting for a CPU",
 * "waiting on a futex", "blocked on I/O", "sleeping", "in an unknown state". */
const char *wc_hstate_phrase(int state);
/* The index of chain.state text S (unknown texts map to WC_HS_UNKNOWN). */
int wc_hstate_from_name(const char *s);

#define WC_VERDICT_MAX_VIA 16	/* depth-2 entries kept per holder */

/* Depth 2: while the holder slept on futex (futex_pid, futex_uaddr), that
 * futex was held by `tid`, which was in `state`, for `ns`. */
struct wc_verdict_via {
	int32_t futex_pid;	/* -1 unknown */
	uint64_t futex_uaddr;
	int32_t tid;		/* -1 = unknown holder */
	char *name;
	int state;		/* enum wc_hstate */
	uint64_t ns;
	double pct_of_held;	/* ns as % of the depth-1 holder's held_ns */
};

/* One depth-1 holder of a global mutex. */
struct wc_verdict_holder {
	int32_t tid;		/* -1 = unknown holder (no release seen) */
	char *name;
	int is_vcpu;
	uint64_t held_ns;	/* vCPU-weighted time it held the lock while vCPUs waited */
	double held_pct;	/* % of the lock's vCPU-blocked time */
	uint64_t blocks;	/* vCPU blocks concerned */
	uint64_t state_ns[WC_HS_COUNT];	/* held_ns split by its state */
	/* Who preempted it most (depth 1), -1/NULL if never preempted. */
	int32_t preemptor_tid;
	char *preemptor_name;
	uint64_t preemptor_ns;
	/* What it waited on (depth 2), largest first. */
	struct wc_verdict_via via[WC_VERDICT_MAX_VIA];
	size_t nvia;
};

/* The global mutex of one process (table global_lock). */
struct wc_verdict_lock {
	int32_t pid;		/* -1 unknown */
	char *process;		/* comm of the main thread (tid == pid) */
	uint64_t uaddr;
	char *symbol;
	char *chosen_by;	/* "auto" or "--lock" */
	double share;		/* of the vCPUs' futex-blocked time, 0..1 */
	uint64_t blocked_ns;	/* vCPU time blocked on it */
	uint64_t nblocks;
	uint64_t waiters, vcpu_waiters;
	double pct_of_blocked;	/* blocked_ns as % of all vCPU blocked time */
	struct wc_verdict_holder *holders;	/* top opt->top, largest first */
	size_t nholders;
	uint64_t holders_total_ns;	/* sum over all holders (= chain time) */
};

/* One vCPU thread (query vcpu_summary). */
struct wc_verdict_vcpu {
	int32_t tid;
	char *name;
	int vcpu_index;		/* -1 if the name has none */
	uint64_t observed_ns, running_ns, preempted_ns, woken_ns, global_ns,
		other_blocked_ns;
	uint64_t global_blocks;
	uint64_t p50_ns, p95_ns, p99_ns, max_ns;	/* of global blocks; 0 if none */
	uint64_t uncertain_global_blocks;	/* of global_blocks, uncertain */
};

/* A thread given with --thread: time by state (query thread_states). */
struct wc_verdict_thread {
	int32_t tid;
	char *name;		/* NULL if no such thread */
	uint64_t total_ns;
	size_t nstates;
	struct {
		char *state;	/* 'running', 'preempted', 'woken', 'futex', ... */
		uint64_t ns;
	} states[8];
};

struct wc_verdict_kv {
	char *key;
	char *value;
};

struct wc_verdict {
	/* --- capture facts (table capture; NULL/0 when absent) */
	char *source_file, *format, *format_version, *hostname, *osrelease,
		*arch, *clock, *tracer_version;
	int64_t nrcpus;		/* -1 unknown */
	uint64_t first_ts, last_ts, span_ns, events;
	int truncated;
	char *truncated_reason;
	int has_stacks, has_sched_waking, has_futex;	/* 1, 0, -1 unknown */
	char *wakeup_source;	/* analysis.wakeup_source */
	int analyzed;		/* 1 if the analysis table is filled */
	struct wc_verdict_kv *capture_kv;	/* every row of table capture */
	size_t ncapture_kv;
	struct wc_verdict_kv *analysis_kv;	/* every row of table analysis */
	size_t nanalysis_kv;
	struct wc_verdict_kv *event_counts;	/* name, count as text */
	size_t nevent_counts;
	uint64_t lost_events, lost_reports;
	uint64_t uncertain_blocks;	/* vCPU blocks marked uncertain */
	uint64_t uncertain_global_blocks;	/* of those, on a global mutex */

	/* --- vCPU totals (sums of vcpus[]) */
	struct wc_verdict_vcpu *vcpus;
	size_t nvcpus;
	uint64_t observed_ns, running_ns, preempted_ns, woken_ns, global_ns,
		other_blocked_ns;
	uint64_t blocked_ns;	/* global_ns + other_blocked_ns */
	double blocked_pct;	/* blocked_ns as % of observed_ns */
	double global_pct_of_blocked;	/* global_ns as % of blocked_ns */
	int worst_vcpu;		/* index in vcpus of the most global-blocked, -1 */

	/* --- global mutexes, largest first */
	struct wc_verdict_lock *locks;
	size_t nlocks;

	/* --- --thread summaries */
	struct wc_verdict_thread *threads;
	size_t nthreads;

	/* --- warnings: one sentence per entry (escape for output) */
	char **warnings;
	size_t nwarnings;
};

/*
 * Computes the verdict of DB (DB_PATH names it in errors).  OPT may be
 * NULL (top = WC_REPORT_DEFAULT_TOP, no threads).  On success *OUT is a
 * new verdict the caller frees with wc_verdict_free().  A database
 * without analysis results gives a verdict with analyzed = 0 and a
 * warning, not an error.
 */
int wc_verdict_compute(sqlite3 *db, const char *db_path,
		       const struct wc_report_options *opt,
		       struct wc_verdict **out, struct wc_error *err);

/* Frees V and everything it owns; NULL ok. */
void wc_verdict_free(struct wc_verdict *v);

/* --- the story ----------------------------------------------------------- */

enum wc_story_span {
	WC_STORY_TEXT,		/* trusted ASCII written by waitchain */
	WC_STORY_NAME,		/* untrusted bytes from the capture: escape */
	WC_STORY_END,		/* end of a sentence (s is NULL) */
};

/* Receives the story piece by piece; returns 0 or a negative code to
 * stop. */
typedef int (*wc_story_fn)(void *ctx, enum wc_story_span kind,
			   const char *s);

/*
 * Tells the story of V as a few sentences, calling FN for each span:
 *   1. how much of their time the vCPU threads spent blocked;
 *   2. per global mutex: how much of that was on it (address, process,
 *      share);
 *   3. who held it while they waited, with percentages;
 *   4. for each main holder: what it was doing (running, preempted by
 *      whom, waiting on futex X held by Y which was Z, ...);
 *   5. the most affected vCPU with its p99.
 * Warnings are not part of the story (v->warnings).  Returns 0 or the
 * first negative value FN returned.
 */
int wc_verdict_story(const struct wc_verdict *v, wc_story_fn fn, void *ctx);

/* "812 ns", "12.3 us", "4.56 ms", "1.234 s" into BUF (>= 32 bytes). */
const char *wc_fmt_duration(uint64_t ns, char *buf, size_t size);

#endif /* WAITCHAIN_VERDICT_H */
