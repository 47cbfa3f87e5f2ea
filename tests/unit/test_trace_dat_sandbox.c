/*
 * test_trace_dat_sandbox.c - the trace.dat importer's sandbox transport
 * (importers/trace_dat-sandbox.c), with child programs written here
 * instead of libtracecmd: every message arrives, in order and intact,
 * through many turns of the shared ring; and a child that crashes,
 * loops, fails to open, fails later, or sends a garbled frame becomes
 * the one clean error that names the file, never a hang or a crash of
 * the parent.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../importers/trace_dat.h"

#define NMSG 60000		/* per child: ~90 MB, the ring turns many times */

/* Length and contents of message I of child PART. */
static size_t msg_len(int part, uint32_t i)
{
	return 16 + (i * 2654435761u + (uint32_t)part * 97u) % 3000u;
}

static unsigned char msg_byte(int part, uint32_t i, size_t j)
{
	return (unsigned char)(i * 31u + (uint32_t)j * 7u + (uint32_t)part);
}

static int child_many(void *ctx, int fd, int part, int nparts,
		      struct tdat_sandbox_out *out)
{
	(void)ctx;
	(void)fd;
	(void)nparts;
	for (uint32_t i = 0; i < NMSG; i++) {
		size_t len = msg_len(part, i);
		unsigned char *m = tdat_sandbox_msg(out, len);

		memcpy(m, &i, sizeof(i));
		for (size_t j = sizeof(i); j < len; j++)
			m[j] = msg_byte(part, i, j);
	}
	return 0;
}

/* What the crash/failure children do after a few messages. */
enum after { CRASH, LOOP, OPEN_FAILS, FAILS, GARBLE };

static int child_then(void *ctx, int fd, int part, int nparts,
		      struct tdat_sandbox_out *out)
{
	enum after what = *(const enum after *)ctx;

	(void)fd;
	(void)nparts;
	(void)part;
	if (what == OPEN_FAILS)
		return TDAT_SANDBOX_OPEN_FAILED;
	for (uint32_t i = 0; i < 1000; i++) {
		uint32_t *m = tdat_sandbox_msg(out, 64);

		*m = i;
		if (what == GARBLE && i == 500)
			((uint64_t *)(void *)m)[-1] = UINT64_MAX;	/* its length */
	}
	tdat_sandbox_flush(out);
	switch (what) {
	case CRASH:
		raise(SIGSEGV);
		break;
	case LOOP:
		for (;;)
			pause();
	case FAILS:
		return 1;
	default:
		break;
	}
	return 0;
}

static struct tdat_sandbox *start_limited(int (*main_fn)(void *, int, int, int,
							 struct tdat_sandbox_out *),
					  void *ctx, unsigned timeout,
					  volatile int *interrupted,
					  uint64_t mem_limit, struct wc_error *err)
{
	struct tdat_sandbox_cfg cfg = {
		.path = "case.trace.dat", .timeout = timeout,
		.mem_limit = mem_limit,
		.interrupted = interrupted, .version = 6, .compression = "none",
		.child_main = main_fn, .ctx = ctx,
	};
	struct tdat_sandbox *sb = NULL;
	int fd = open("/dev/null", O_RDONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(tdat_sandbox_start(&sb, &cfg, fd, err), 0);
	close(fd);
	cr_assert_not_null(sb, "fork() and /proc work here");
	return sb;
}

static struct tdat_sandbox *start(int (*main_fn)(void *, int, int, int,
						 struct tdat_sandbox_out *),
				  void *ctx, unsigned timeout,
				  volatile int *interrupted, struct wc_error *err)
{
	return start_limited(main_fn, ctx, timeout, interrupted, 0, err);
}

Test(trace_dat_sandbox, every_message_in_order_through_the_ring)
{
	struct wc_error err = WC_ERROR_INIT;
	struct tdat_sandbox *sb = start(child_many, NULL, 60, NULL, &err);
	int nparts = tdat_sandbox_parts(sb);

	cr_assert(nparts == 1 || nparts == 2);
	/* read the children interleaved, as the importer's merge does */
	uint32_t next[2] = { 0, 0 };
	int live[2] = { 1, nparts == 2 };

	while (live[0] || live[1]) {
		for (int k = 0; k < nparts; k++) {
			const unsigned char *m;
			const void *msg;
			size_t len;
			uint32_t i;
			int rc;

			if (!live[k])
				continue;
			rc = tdat_sandbox_next(sb, k, &msg, &len, &err);
			cr_assert_geq(rc, 0, "%s", err.msg);
			if (rc == 0) {
				live[k] = 0;
				continue;
			}
			m = msg;
			cr_assert_eq((uintptr_t)m % 8, 0, "payloads are aligned");
			memcpy(&i, m, sizeof(i));
			cr_assert_eq(i, next[k], "child %d: message %u after %u", k,
				     i, next[k]);
			cr_assert_eq(len, msg_len(k, i));
			for (size_t j = sizeof(i); j < len; j++)
				cr_assert_eq(m[j], msg_byte(k, i, j),
					     "child %d message %u byte %zu", k, i, j);
			next[k]++;
		}
	}
	for (int k = 0; k < nparts; k++)
		cr_assert_eq(next[k], NMSG);
	cr_assert_eq(tdat_sandbox_finish(sb, &err), 0);
	tdat_sandbox_free(sb);
}

/* Reads child 0 until an error; returns it (err filled). */
static int read_until_error(struct tdat_sandbox *sb, struct wc_error *err,
			    uint32_t *nread)
{
	*nread = 0;
	for (;;) {
		const void *msg;
		size_t len;
		int rc = tdat_sandbox_next(sb, 0, &msg, &len, err);

		if (rc <= 0)
			return rc;
		++*nread;
	}
}

static void expect_error(enum after what, unsigned timeout,
			 const char *needle, uint32_t max_read)
{
	struct wc_error err = WC_ERROR_INIT;
	struct tdat_sandbox *sb = start(child_then, &what, timeout, NULL, &err);
	uint32_t n;
	int rc = read_until_error(sb, &err, &n);

	cr_assert_eq(rc, -WC_EFORMAT, "rc %d (%s)", rc, err.msg);
	cr_assert_str_eq(err.file, "case.trace.dat", "names the file");
	cr_assert(strstr(err.msg, needle), "'%s' in: %s", needle, err.msg);
	cr_assert_leq(n, max_read);
	/* sticky: later calls give the same error, and free reaps */
	cr_assert_eq(tdat_sandbox_finish(sb, &err), -WC_EFORMAT);
	tdat_sandbox_free(sb);
}

Test(trace_dat_sandbox, crash_is_a_corrupt_file)
{
	expect_error(CRASH, 60, "crashes (signal 11", 1000);
}

Test(trace_dat_sandbox, loop_is_cut_by_the_alarm, .timeout = 30)
{
	expect_error(LOOP, 1, "did not finish reading this file in 1 s", 1000);
}

Test(trace_dat_sandbox, open_failure_says_what_file)
{
	expect_error(OPEN_FAILS, 60, "cannot read this trace.dat (version 6, "
		     "compression none)", 0);
}

Test(trace_dat_sandbox, later_failure_is_abnormal_exit)
{
	expect_error(FAILS, 60, "fails abnormally (exit status 4)", 1000);
}

Test(trace_dat_sandbox, garbled_frame_is_refused)
{
	/* the frames before the bad one arrive; nothing after it */
	expect_error(GARBLE, 60, "garbled message", 500);
}

Test(trace_dat_sandbox, interrupt_stops_the_wait, .timeout = 30)
{
	struct wc_error err = WC_ERROR_INIT;
	volatile int stop = 1;
	enum after what = LOOP;
	struct tdat_sandbox *sb = start(child_then, &what, 60, &stop, &err);
	uint32_t n;

	cr_assert_eq(read_until_error(sb, &err, &n), -WC_EINTERRUPTED);
	tdat_sandbox_free(sb);	/* kills the looping child */
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

#ifndef UNDER_SANITIZER
/* A child asking for 2 GiB: only succeeds without a 1 GiB address-space cap. */
static int child_greedy(void *ctx, int fd, int part, int nparts,
			struct tdat_sandbox_out *out)
{
	volatile char *p = malloc((size_t)2 << 30);

	(void)ctx;
	(void)fd;
	(void)part;
	(void)nparts;
	(void)out;
	if (!p)
		return 1;
	p[0] = 1;	/* overcommit: one page */
	return 0;
}
#endif

/* mem_limit caps a child's address space: a corrupt count that makes
 * libtracecmd allocate tens of GiB fails in the child (a fuzzer input
 * took 19 GiB and 49 s before the cap; 0.01 s after). */
Test(trace_dat_sandbox, memory_cap_fails_huge_allocations)
{
#ifdef UNDER_SANITIZER
	cr_skip_test("no address-space cap under a sanitizer (its shadow memory)");
#else
	struct wc_error err = WC_ERROR_INIT;
	struct tdat_sandbox *sb = start_limited(child_greedy, NULL, 60, NULL,
						(uint64_t)1 << 30, &err);
	uint32_t n;

	cr_assert_eq(read_until_error(sb, &err, &n), -WC_EFORMAT,
		     "the child's malloc failed: %s", err.msg);
	cr_assert(strstr(err.msg, "exit status 4"), "%s", err.msg);
	tdat_sandbox_free(sb);
	/* and without the cap the same child ends well (overcommit) */
	wc_error_clear(&err);
	sb = start_limited(child_greedy, NULL, 60, NULL, 0, &err);
	cr_assert_eq(read_until_error(sb, &err, &n), 0, "%s", err.msg);
	tdat_sandbox_free(sb);
#endif
}
