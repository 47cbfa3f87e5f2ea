/*
 * analyze.h - computing the analysis tables of a case database.
 *
 * wc_analyze() reads the event tables of an imported database and
 * (re)writes thread_state, block, lock_wait, block_holder, chain, vcpu,
 * futex_object, global_lock, vcpu_switch, vcpu_slice and analysis
 * (schema/040_analysis.sql) in one transaction.  It never reads a capture.
 */
#ifndef WAITCHAIN_ANALYZE_H
#define WAITCHAIN_ANALYZE_H

#include <sqlite3.h>
#include <stdint.h>

#include "waitchain/error.h"

#define WC_DEFAULT_VCPU_REGEX "^CPU [0-9]+/(KVM|TCG|HVF|WHPX|NVMM|Xen|[A-Za-z]+)$"
#define WC_DEFAULT_CHAIN_DEPTH 8

struct wc_analyze_options {
	const char *vcpu_regex;	/* POSIX ERE on comm; NULL = default */
	int has_lock;		/* --lock given */
	uint64_t lock_uaddr;	/* --lock ADDR */
	int32_t lock_pid;	/* --lock PID:ADDR, -1 = any process */
	int depth_limit;	/* chain depth limit; 0 = default */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
	volatile int *interrupted;
};

/* Analyzes DB (opened read-write); error text names PATH. */
int wc_analyze(sqlite3 *db, const char *path,
	       const struct wc_analyze_options *opt, struct wc_error *err);

/* 1 if DB already holds analysis results (table analysis non-empty). */
int wc_analysis_present(sqlite3 *db);

#endif /* WAITCHAIN_ANALYZE_H */
