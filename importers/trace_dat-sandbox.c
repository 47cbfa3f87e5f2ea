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
 * each a writer of length-framed messages, and gives the parent each
 * child's messages in order (tdat_sandbox_next()), with the child's end
 * judged from its exit status.
 *
 * Transport: messages are written straight into a ring of NCHUNK chunks
 * of shared memory (mapped before the fork); a socket per child carries
 * the chunk lengths one way ("chunk i is full, N bytes") and credits the
 * other way (one byte per chunk the parent is done with).  Bulk data
 * thus crosses no system call; the parent copies each chunk into private
 * memory before it looks at it, so a child that went wild cannot change
 * a message under the parent's checks.  Frames are a uint64 length then
 * the payload, padded to 8 bytes (payloads are 8-byte aligned), never
 * across chunks; every length is checked.  All waiting is poll()-based,
 * with the deadline and the user's interrupt flag checked.
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
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "waitchain/util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SB_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer)
#define SB_SANITIZED 1
#endif
#endif
#ifndef SB_SANITIZED
#define SB_SANITIZED 0
#endif

#define CHUNK (256 * 1024)		/* bytes of one chunk of the ring */
#define NCHUNK 8			/* chunks in a child's ring */

struct sb_child {
	pid_t pid;		/* -1: none, or reaped */
	int fd;			/* parent's end of its socket, -1 at its end */
	unsigned char *ring;	/* NCHUNK * CHUNK bytes, shared */
	unsigned char *buf;	/* CHUNK bytes: private copy of a chunk */
	size_t rd, wr;		/* unconsumed messages are buf[rd, wr) */
	unsigned next;		/* the chunk it fills after the last one read */
	uint32_t len;		/* chunk length being received */
	size_t len_got;		/* its bytes received so far */
};

struct tdat_sandbox {
	struct tdat_sandbox_cfg cfg;
	int nparts;
	struct sb_child child[2];
	uint64_t deadline;	/* wc_now_ns() bound, killed after */
	int failed;		/* sticky: the first error's code */
};

/* A child's side: its socket and the chunk it fills. */
struct tdat_sandbox_out {
	int fd;
	unsigned char *ring;
	unsigned cur;		/* chunk being filled */
	size_t len;		/* its bytes so far */
	int have_chunk;		/* cur is ours to fill */
	unsigned credits;	/* chunks freed by the parent, not taken */
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
	uint32_t len = (uint32_t)out->len;

	if (!out->have_chunk || !len)
		return;
	write_all(out->fd, &len, sizeof(len));	/* chunk `cur` is full */
	out->cur = (out->cur + 1) % NCHUNK;
	out->len = 0;
	out->have_chunk = 0;
}

/* Makes chunk `cur` ours, waiting for the parent to free one. */
static void acquire_chunk(struct tdat_sandbox_out *out)
{
	while (out->credits == 0) {
		unsigned char c[NCHUNK];
		ssize_t n = read(out->fd, c, sizeof(c));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(5);	/* the parent is gone */
		out->credits += (unsigned)n;
	}
	out->credits--;
	out->have_chunk = 1;
}

void *tdat_sandbox_msg(struct tdat_sandbox_out *out, size_t len)
{
	size_t need = 8 + ((len + 7) & ~(size_t)7);
	unsigned char *p;

	assert(len > 0 && len <= TDAT_SANDBOX_MSG_MAX);
	if (out->have_chunk && out->len + need > CHUNK)
		tdat_sandbox_flush(out);
	if (!out->have_chunk)
		acquire_chunk(out);
	p = out->ring + (size_t)out->cur * CHUNK + out->len;
	*(uint64_t *)(void *)p = len;
	memset(p + 8 + len, 0, need - 8 - len);	/* padding: no stale bytes */
	out->len += need;
	return p + 8;
}

/*
 * Forks child PART of NPARTS on file descriptor FD (its own open file
 * description: libtracecmd read()s at the file offset).  0, or -1 when
 * fork() or socketpair() fail (no child).
 */
static int spawn(struct tdat_sandbox *sb, int part, int fd)
{
	struct sb_child *c = &sb->child[part];
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	c->pid = fork();
	if (c->pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (c->pid == 0) {
		struct tdat_sandbox_out out = {
			.fd = sv[1], .ring = c->ring, .have_chunk = 1,
			.credits = NCHUNK - 1,
		};
		int null = open("/dev/null", O_WRONLY);
		int rc;

		close(sv[0]);
		for (int k = 0; k < part; k++)
			if (sb->child[k].fd >= 0)
				close(sb->child[k].fd);	/* siblings' */
		child_quiet_crashes();
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		alarm(sb->cfg.timeout);
		if (sb->cfg.mem_limit && !SB_SANITIZED) {
			/* a corrupt count makes libtracecmd allocate tens of
			 * GiB before it fails: let the allocation fail here,
			 * not the machine */
			struct rlimit lim = { sb->cfg.mem_limit,
					      sb->cfg.mem_limit };

			setrlimit(RLIMIT_AS, &lim);
		}
		rc = sb->cfg.child_main(sb->cfg.ctx, fd, part, sb->nparts, &out);
		if (rc)
			_exit(rc == TDAT_SANDBOX_OPEN_FAILED ?
			      TDAT_SANDBOX_OPEN_FAILED : 4);
		tdat_sandbox_flush(&out);
		_exit(0);	/* no cleanup: the parent owns everything */
	}
	close(sv[1]);
	c->fd = sv[0];
	return 0;
}

/* Kills and reaps every child still there. */
static void kill_all(struct tdat_sandbox *sb)
{
	for (int k = 0; k < sb->nparts; k++) {
		struct sb_child *c = &sb->child[k];
		int status;

		if (c->fd >= 0) {
			close(c->fd);
			c->fd = -1;
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
		struct sb_child *c = &sb->child[k];

		c->pid = -1;
		c->fd = -1;
		c->ring = mmap(NULL, (size_t)NCHUNK * CHUNK,
			       PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (c->ring == MAP_FAILED)
			c->ring = NULL;
		c->buf = malloc(CHUNK);
		if (!c->ring || !c->buf) {
			tdat_sandbox_free(sb);
			return wc_err(err, WC_ENOMEM, cfg->path, "out of memory");
		}
	}
	sb->nparts = sysconf(_SC_NPROCESSORS_ONLN) > 1 && !cfg->one_child ? 2 : 1;
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

/* Child K's socket reached its end: reap it and judge. */
static int child_gone(struct tdat_sandbox *sb, int k, struct wc_error *err)
{
	struct sb_child *c = &sb->child[k];
	int status = 0, rc;

	close(c->fd);
	c->fd = -1;
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	c->pid = -1;
	rc = verdict(sb, status, 0, err);
	return rc ? fail(sb, rc) : 0;
}

/*
 * Waits up to 100 ms for child K's next chunk; when it is there, copies
 * it into the private buffer and gives the chunk back.  Returns 0 (maybe
 * with nothing new: call again), or an error.
 */
static int fill(struct tdat_sandbox *sb, int k, struct wc_error *err)
{
	struct sb_child *c = &sb->child[k];
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	ssize_t n;
	int r;

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
	n = read(c->fd, (unsigned char *)&c->len + c->len_got,
		 sizeof(c->len) - c->len_got);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return child_gone(sb, k, err);
	c->len_got += (size_t)n;
	if (c->len_got < sizeof(c->len))
		return 0;
	c->len_got = 0;
	if (c->len == 0 || c->len > CHUNK)
		return tdat_sandbox_corrupt(sb, err, "bad chunk");
	memcpy(c->buf, c->ring + (size_t)c->next * CHUNK, c->len);
	c->next = (c->next + 1) % NCHUNK;
	c->rd = 0;
	c->wr = c->len;
	/* the chunk is free again (a child that is gone does not care) */
	while (send(c->fd, "", 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
	return 0;
}

int tdat_sandbox_next(struct tdat_sandbox *sb, int k, const void **msg,
		      size_t *len, struct wc_error *err)
{
	struct sb_child *c;

	assert(k >= 0 && k < sb->nparts);
	c = &sb->child[k];
	*msg = NULL;
	*len = 0;
	for (;;) {
		size_t have = c->wr - c->rd;
		int rc;

		if (sb->failed)
			return sb->failed;
		if (have > 0) {
			uint64_t n;
			size_t need;

			if (have < 8)
				return tdat_sandbox_corrupt(sb, err,
							    "garbled message");
			memcpy(&n, c->buf + c->rd, sizeof(n));
			need = 8 + (((size_t)n + 7) & ~(size_t)7);
			if (n == 0 || n > TDAT_SANDBOX_MSG_MAX || need > have)
				return tdat_sandbox_corrupt(sb, err,
							    "garbled message");
			*msg = c->buf + c->rd + 8;
			*len = (size_t)n;
			c->rd += need;
			return 1;
		}
		if (c->fd < 0)
			return c->len_got ? tdat_sandbox_corrupt(sb, err,
						"message cut short") : 0;
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
	for (int k = 0; k < 2; k++) {
		if (sb->child[k].ring)
			munmap(sb->child[k].ring, (size_t)NCHUNK * CHUNK);
		free(sb->child[k].buf);
	}
	free(sb);
}
