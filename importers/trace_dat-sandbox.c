/*
 * trace_dat-sandbox.c - crash containment for the trace.dat importer:
 * forked children do all the reading of CPU data with libtracecmd and
 * send what they read to the importer as messages; the importer's own
 * process never reads a record.
 *
 * Why: libtracecmd and libtraceevent crash or loop on some corrupt
 * inputs that no size check can rule out (tep_parse_event() on a damaged
 * format text, a CPU failing inside init_cpu() after which
 * tracecmd_close() walks zeroed lists, a bad page deep in the data).  A
 * child that dies by a signal, exits abnormally (ASan builds exit 1) or
 * outlives its alarm makes the file "corrupt", reported as a clean error.
 *
 * Why two children: on a machine with more than one CPU, each child reads
 * half of the capture's CPUs (libtracecmd keeps its reading state per
 * CPU), so decoding runs on two cores while the importer merges and
 * stores.
 *
 * This file knows nothing of trace.dat: it forks the children, gives
 * each a buffered writer of length-framed messages, and gives the parent
 * each child's messages in order (tdat_sandbox_next()), with the child's
 * end judged from its exit status.  Frames are a uint64 length then the
 * payload, padded to 8 bytes, so payloads are 8-byte aligned; lengths are
 * checked against TDAT_SANDBOX_MSG_MAX, since a child runs the libraries
 * on hostile input.  All waiting is poll()-based, with the deadline and
 * the user's interrupt flag checked.
 */
#include "trace_dat.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "waitchain/util.h"

#define OUT_BUF (64 * 1024)		/* a child's write buffer */
#define IN_BUF (1024 * 1024)		/* the parent's buffer per child */

struct sb_child {
	pid_t pid;		/* -1: none, or reaped */
	int rfd;		/* read end of its pipe, -1 once at its end */
	int ended;		/* reaped with a good verdict */
	unsigned char *buf;	/* IN_BUF bytes, 8-aligned (malloc) */
	size_t rd, wr;		/* unconsumed bytes are buf[rd, wr) */
};

struct tdat_sandbox {
	struct tdat_sandbox_cfg cfg;
	int nparts;
	struct sb_child child[2];
	uint64_t deadline;	/* wc_now_ns() bound, killed after */
	int failed;		/* sticky: the first error's code */
};

/* A child's side: its pipe and write buffer. */
struct tdat_sandbox_out {
	int wfd;
	size_t len;
	uint64_t buf[OUT_BUF / 8];
};

/*
 * Sanitizer runtimes call a death callback before exiting on an error;
 * libFuzzer registers one that records the input as a crash of the
 * fuzzed code.  Weak: absent (NULL) in builds without a sanitizer.
 */
extern void __sanitizer_set_death_callback(void (*callback)(void))
	__attribute__((weak));

/*
 * In a child, let a crash of the libraries (or the alarm that bounds its
 * time) kill it quietly: handlers inherited from the parent (a
 * sanitizer's or a fuzzer's crash reporter) would otherwise report
 * libtracecmd's crash on a corrupt file as a crash of waitchain, which
 * the parent already turns into a clean "corrupt capture" error.
 */
static void child_quiet_crashes(void)
{
	/* SIGALRM too: the child's time bound is alarm(), and a fuzzer's own
	 * SIGALRM handler would ignore it */
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
				     SIGALRM, SIGPIPE };

	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], SIG_DFL);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(NULL);
}

/* Writes all of BUF[0, LEN) to FD; a failure ends the child (exit 5). */
static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(5);
		p += n;
		len -= (size_t)n;
	}
}

void tdat_sandbox_flush(struct tdat_sandbox_out *out)
{
	write_all(out->wfd, out->buf, out->len);
	out->len = 0;
}

void *tdat_sandbox_msg(struct tdat_sandbox_out *out, size_t len)
{
	size_t need = 8 + ((len + 7) & ~(size_t)7);
	unsigned char *p;

	assert(len > 0 && len <= TDAT_SANDBOX_MSG_MAX);
	if (out->len + need > sizeof(out->buf))
		tdat_sandbox_flush(out);
	p = (unsigned char *)out->buf + out->len;
	*(uint64_t *)(void *)p = len;
	memset(p + 8 + len, 0, need - 8 - len);	/* padding: no stack bytes */
	out->len += need;
	return p + 8;
}

/*
 * Forks child PART of NPARTS on file descriptor FD (its own open file
 * description: libtracecmd read()s at the file offset).  0, or -1 when
 * fork() or pipe() fail (no child).
 */
static int spawn(struct tdat_sandbox *sb, int part, int fd)
{
	struct sb_child *c = &sb->child[part];
	int pfd[2];

	if (pipe(pfd) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	c->pid = fork();
	if (c->pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (c->pid == 0) {
		static struct tdat_sandbox_out out;	/* 64 KiB: not on stack */
		int null = open("/dev/null", O_WRONLY);
		int rc;

		close(pfd[0]);
		for (int k = 0; k < part; k++)
			if (sb->child[k].rfd >= 0)
				close(sb->child[k].rfd);	/* siblings' */
		child_quiet_crashes();
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		alarm(sb->cfg.timeout);
		out.wfd = pfd[1];
		rc = sb->cfg.child_main(sb->cfg.ctx, fd, part, sb->nparts, &out);
		if (rc)
			_exit(rc == TDAT_SANDBOX_OPEN_FAILED ?
			      TDAT_SANDBOX_OPEN_FAILED : 4);
		tdat_sandbox_flush(&out);
		_exit(0);	/* no cleanup: the parent owns everything */
	}
	close(pfd[1]);
	/* room for a burst of messages (best effort; 64 KiB works too) */
	fcntl(pfd[0], F_SETPIPE_SZ, 1 << 20);
	c->rfd = pfd[0];
	return 0;
}

/* Kills and reaps every child still there. */
static void kill_all(struct tdat_sandbox *sb)
{
	for (int k = 0; k < sb->nparts; k++) {
		struct sb_child *c = &sb->child[k];
		int status;

		if (c->rfd >= 0) {
			close(c->rfd);
			c->rfd = -1;
		}
		if (c->pid > 0) {
			kill(c->pid, SIGKILL);
			while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
				;
			c->pid = -1;
		}
	}
}

int tdat_sandbox_start(struct tdat_sandbox **out,
		       const struct tdat_sandbox_cfg *cfg, int fd,
		       struct wc_error *err)
{
	struct tdat_sandbox *sb;
	int own[2] = { -1, -1 };

	*out = NULL;
	sb = calloc(1, sizeof(*sb));
	if (!sb)
		return wc_err(err, WC_ENOMEM, cfg->path, "out of memory");
	sb->cfg = *cfg;
	for (int k = 0; k < 2; k++) {
		sb->child[k].pid = -1;
		sb->child[k].rfd = -1;
		sb->child[k].buf = malloc(IN_BUF);
		if (!sb->child[k].buf) {
			tdat_sandbox_free(sb);
			return wc_err(err, WC_ENOMEM, cfg->path, "out of memory");
		}
	}
	sb->nparts = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
	/* each child needs an open file description of its own */
	for (int k = 0; k < sb->nparts; k++) {
		char proc[64];

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		own[k] = open(proc, O_RDONLY | O_CLOEXEC);
		if (own[k] < 0) {
			if (k == 0) {
				tdat_sandbox_free(sb);
				return 0;	/* no /proc: in-process */
			}
			sb->nparts = 1;
		}
	}
	/* the parent's own bound, a little after the children's alarm:
	 * should a child not die of it, it is killed, as if it had */
	sb->deadline = wc_now_ns() +
		       (uint64_t)(sb->cfg.timeout + 5) * 1000000000u;
	for (int k = 0; k < sb->nparts; k++) {
		if (spawn(sb, k, own[k]) == 0)
			continue;
		if (k == 1) {
			/* one child reads everything */
			kill_all(sb);
			sb->nparts = 1;
			if (spawn(sb, 0, own[0]) == 0)
				break;
		}
		for (int j = 0; j < 2; j++)
			if (own[j] >= 0)
				close(own[j]);
		tdat_sandbox_free(sb);
		return 0;	/* no fork(): in-process */
	}
	for (int j = 0; j < 2; j++)
		if (own[j] >= 0)
			close(own[j]);	/* the children have their copies */
	*out = sb;
	return 0;
}

int tdat_sandbox_parts(const struct tdat_sandbox *sb)
{
	return sb->nparts;
}

/* Records CODE (negative) as the sandbox's failure; returns it. */
static int fail(struct tdat_sandbox *sb, int code)
{
	if (!sb->failed)
		sb->failed = code;
	kill_all(sb);
	return code;
}

int tdat_sandbox_corrupt(struct tdat_sandbox *sb, struct wc_error *err,
			 const char *what)
{
	return fail(sb, wc_err(err, WC_EFORMAT, sb->cfg.path, "libtracecmd "
			       "misbehaves reading this file (%s): it is "
			       "corrupt", what));
}

/*
 * Turns a child's end (its wait STATUS; TIMED_OUT when the parent's
 * deadline killed it) into 0 or the error that makes the file corrupt.
 */
static int verdict(struct tdat_sandbox *sb, int status, int timed_out,
		   struct wc_error *err)
{
	const struct tdat_sandbox_cfg *cfg = &sb->cfg;

	if (timed_out || (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM))
		return wc_err(err, WC_EFORMAT, cfg->path, "libtracecmd did not "
			      "finish reading this file in %u s: it is corrupt "
			      "in a way that makes it loop", cfg->timeout);
	if (WIFSIGNALED(status))
		return wc_err(err, WC_EFORMAT, cfg->path, "libtracecmd crashes "
			      "(signal %d, %s) reading this file: its headers, "
			      "event formats or CPU data are corrupt",
			      WTERMSIG(status), strsignal(WTERMSIG(status)));
	if (WIFEXITED(status) &&
	    WEXITSTATUS(status) == TDAT_SANDBOX_OPEN_FAILED) {
		/* no retry in process: a failing tracecmd_open_fd() leaks and
		 * prints to stderr */
		if (cfg->data_error)
			return wc_err(err, cfg->data_error, cfg->path,
				      "%s; libtracecmd cannot open the file "
				      "with it (nothing to salvage)",
				      cfg->data_error_msg);
		return wc_err(err, WC_EFORMAT, cfg->path, "libtracecmd cannot "
			      "read this trace.dat (version %u, compression "
			      "%s): its headers, event formats or the first "
			      "page of a CPU are corrupt", cfg->version,
			      cfg->compression);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return wc_err(err, WC_EFORMAT, cfg->path, "libtracecmd fails "
			      "abnormally (exit status %d) reading this file: "
			      "it is corrupt", WIFEXITED(status) ?
			      WEXITSTATUS(status) : -1);
	return 0;
}

/* Child K's pipe reached its end: reap it and judge. */
static int child_gone(struct tdat_sandbox *sb, int k, struct wc_error *err)
{
	struct sb_child *c = &sb->child[k];
	int status = 0, rc;

	close(c->rfd);
	c->rfd = -1;
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	c->pid = -1;
	rc = verdict(sb, status, 0, err);
	if (rc)
		return fail(sb, rc);
	c->ended = 1;
	return 0;
}

/*
 * Reads more of child K's pipe into its buffer (moving the unconsumed
 * bytes to the front first), waiting up to 100 ms at a time.  Returns 0
 * (maybe with nothing new: call again), or an error.
 */
static int fill(struct tdat_sandbox *sb, int k, struct wc_error *err)
{
	struct sb_child *c = &sb->child[k];
	struct pollfd p = { .fd = c->rfd, .events = POLLIN };
	ssize_t n;
	int r;

	if (c->rd > 0) {
		memmove(c->buf, c->buf + c->rd, c->wr - c->rd);
		c->wr -= c->rd;
		c->rd = 0;
	}
	r = poll(&p, 1, 100);
	if (sb->cfg.interrupted && *sb->cfg.interrupted)
		return fail(sb, wc_err(err, WC_EINTERRUPTED, sb->cfg.path,
				       "interrupted"));
	if (wc_now_ns() > sb->deadline)
		return fail(sb, verdict(sb, 0, 1, err));
	if (r < 0 && errno != EINTR)
		return fail(sb, wc_err(err, WC_EIO, sb->cfg.path, "poll: %s",
				       strerror(errno)));
	if (r <= 0)
		return 0;
	n = read(c->rfd, c->buf + c->wr, IN_BUF - c->wr);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return child_gone(sb, k, err);
	c->wr += (size_t)n;
	return 0;
}

int tdat_sandbox_next(struct tdat_sandbox *sb, int k, const void **msg,
		      size_t *len, struct wc_error *err)
{
	struct sb_child *c = &sb->child[k];

	assert(k >= 0 && k < sb->nparts);
	*msg = NULL;
	*len = 0;
	for (;;) {
		size_t have = c->wr - c->rd;
		int rc;

		if (sb->failed)
			return sb->failed;
		if (have >= 8) {
			uint64_t n = *(const uint64_t *)(const void *)(c->buf + c->rd);
			size_t need;

			if (n == 0 || n > TDAT_SANDBOX_MSG_MAX)
				return tdat_sandbox_corrupt(sb, err,
							    "garbled message");
			need = 8 + (((size_t)n + 7) & ~(size_t)7);
			if (have >= need) {
				*msg = c->buf + c->rd + 8;
				*len = (size_t)n;
				c->rd += need;
				return 1;
			}
		}
		if (c->rfd < 0) {
			if (have)
				return tdat_sandbox_corrupt(sb, err,
							    "message cut short");
			return 0;	/* ended well, nothing more */
		}
		if ((rc = fill(sb, k, err)))
			return rc;
	}
}

int tdat_sandbox_finish(struct tdat_sandbox *sb, struct wc_error *err)
{
	for (int k = 0; k < sb->nparts; k++) {
		const void *msg;
		size_t len;
		int rc;

		while ((rc = tdat_sandbox_next(sb, k, &msg, &len, err)) > 0)
			;	/* nothing is expected after the end message */
		if (rc < 0)
			return rc;
	}
	return sb->failed;
}

void tdat_sandbox_free(struct tdat_sandbox *sb)
{
	if (!sb)
		return;
	kill_all(sb);
	for (int k = 0; k < 2; k++)
		free(sb->child[k].buf);
	free(sb);
}
