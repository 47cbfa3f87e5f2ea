/*
 * diff.h - `waitchain diff BEFORE AFTER`: what changed between two case
 * databases, typically before and after a fix (block I/O moved to an
 * iothread, a lock split...).
 *
 * Each side is the verdict of its database (verdict.h: the numbers every
 * report shows) plus the distribution of the vCPUs' block durations on
 * the global mutex (count, sum, nearest-rank percentiles, log2
 * histogram).  vCPUs are matched by thread name ("CPU 0/KVM"), holders by
 * thread name too (tids change between runs), summed over tids of the
 * same name and over the global mutexes of the capture.
 *
 * Writers: text (aligned, names through the tty escaper), JSON (names
 * through the JSON escaper) and a self-contained HTML page (inline SVG
 * histograms side by side, no script, CSP that fetches nothing, names
 * through the HTML escapers).  The JSON document:
 *
 *   {"before": SIDE, "after": SIDE,
 *    "change": {"global_ns", "global_pct_points", "blocks", "p50_ns",
 *               "p90_ns", "p95_ns", "p99_ns", "max_ns"}     after - before
 *    "vcpus": [{"name", "before": VCPU|null, "after": VCPU|null,
 *               "change": {"global_ns", "global_blocks", "p99_ns"}}],
 *    "holders": [{"name" (null = unknown holder), "before": HOLDER|null,
 *                 "after": HOLDER|null, "change_ns"}],
 *    "new_top_holders": [name...]}
 *   SIDE   = {"source", "vcpus", "observed_ns", "global_ns", "global_pct",
 *             "global_blocks", "holders_total_ns", "distribution":
 *             {"blocks", "total_ns", "p50_ns", "p90_ns", "p95_ns", "p99_ns",
 *              "max_ns", "histogram": [{"lo_ns", "hi_ns", "blocks"}]}}
 *   VCPU   = {"tid", "observed_ns", "global_ns", "global_blocks", "p50_ns",
 *             "p95_ns", "p99_ns", "max_ns"}
 *   HOLDER = {"held_ns", "held_pct", "blocks", "is_vcpu",
 *             "states_ns": {"running", "preempted", "runnable", "futex",
 *                           "blocked_io", "sleeping", "unknown"}}
 */
#ifndef WAITCHAIN_REPORT_DIFF_H
#define WAITCHAIN_REPORT_DIFF_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#include "waitchain/error.h"
#include "waitchain/verdict.h"

#define WC_DIFF_BUCKETS 64	/* log2 buckets: k holds [2^k, 2^(k+1)) ns */
#define WC_DIFF_DEFAULT_TOP 5	/* "top holders" for the new-top-holder list */

/* vCPU block durations on the global mutex (block.is_vcpu = 1 and
 * block.on_global_lock = 1), end_ns - start_ns. */
struct wc_diff_dist {
	uint64_t n, total_ns;
	uint64_t p50, p90, p95, p99, max;	/* nearest rank; 0 if n == 0 */
	uint64_t hist[WC_DIFF_BUCKETS];		/* bucket 0 also holds 0 ns */
};

/* Holders of the global mutex(es), summed by thread name. */
struct wc_diff_holder {
	char *name;		/* NULL = unknown holder; owned */
	int is_vcpu;
	uint64_t held_ns;	/* vCPU-weighted, as in the verdict */
	uint64_t blocks;
	double held_pct;	/* of all holders' time on that side */
	uint64_t state_ns[WC_HS_COUNT];
};

struct wc_diff_side {
	const char *arg;		/* what the user named; borrowed */
	struct wc_verdict *v;		/* owned */
	struct wc_diff_dist dist;
	struct wc_diff_holder *holders;	/* largest first; owned */
	size_t nholders;
	uint64_t holders_total_ns;
	uint64_t global_blocks;		/* sum of the vCPUs' global_blocks */
	double global_pct;		/* v->global_ns as % of v->observed_ns */
};

struct wc_diff {
	struct wc_diff_side before, after;
	int top;			/* size of the top-holder lists */
};

/* Loads one side from DB (analysis tables filled).  ARG is borrowed for
 * the life of SIDE.  Free with wc_diff_side_free(). */
int wc_diff_load(sqlite3 *db, const char *db_path, const char *arg,
		 struct wc_diff_side *side, struct wc_error *err);

/* Frees what SIDE owns; NULL ok. */
void wc_diff_side_free(struct wc_diff_side *side);

/* Writers; 0 or a negative code (WC_EIO, WC_ENOMEM). */
int wc_diff_text(const struct wc_diff *d, FILE *out, struct wc_error *err);
int wc_diff_json(const struct wc_diff *d, FILE *out, struct wc_error *err);
int wc_diff_html(const struct wc_diff *d, FILE *out, struct wc_error *err);

/* --- shared by the writers (report/diff*.c) --------------------------------- */

/* One row of the vCPU comparison: index into each side's v->vcpus, -1
 * when that side has no vCPU of that name. */
struct wc_diff_pair {
	int before, after;
};

/* Pairs the vCPUs of both sides by name (before's order, then the vCPUs
 * only after has).  Caller frees *pairs with free(). */
int wc_diff_vcpu_pairs(const struct wc_diff *d, struct wc_diff_pair **pairs,
		       size_t *npairs);

/* Pairs the holders of both sides by name (after's order, then those
 * only before has). Same contract. */
int wc_diff_holder_pairs(const struct wc_diff *d, struct wc_diff_pair **pairs,
			 size_t *npairs);

/* 1 if holder AFTER_INDEX of the after side is in its top d->top and its
 * name is not among the before side's top d->top holders. */
int wc_diff_is_new_top(const struct wc_diff *d, size_t after_index);

#endif /* WAITCHAIN_REPORT_DIFF_H */
