/*
 * cli.c - error/usage printing, SIGINT flag and the progress line shared
 * by the subcommands (cli.h), and the atomically replaced -o FILE.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "waitchain/escape.h"
#include "waitchain/util.h"

int wc_cli_error(const struct wc_error *e)
{
	wc_error_print(e, stderr);
	return wc_error_exit_status(e->code);
}

int wc_cli_usage(const struct wc_command *cmd, const char *fmt, ...)
{
	struct wc_buf b = WC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	wc_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	fprintf(stderr, "waitchain %s: ", cmd->name);
	wc_fput_tty_str(stderr, wc_buf_str(&b));
	fprintf(stderr, "\nTry 'waitchain %s --help'.\n", cmd->name);
	wc_buf_free(&b);
	return 2;
}

int wc_cli_help(const struct wc_command *cmd)
{
	fputs(cmd->usage, stdout);
	return 0;
}

static volatile int interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

volatile int *wc_cli_interrupt_flag(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return &interrupted;
}

void wc_cli_progress_init(struct wc_cli_progress *p, uint64_t total_bytes,
			  int quiet)
{
	memset(p, 0, sizeof(*p));
	p->start_ns = p->last_ns = wc_now_ns();
	p->total_bytes = total_bytes;
	p->quiet = quiet;
	p->tty = isatty(STDERR_FILENO);
}

void wc_cli_progress_cb(void *ctx, uint64_t bytes, uint64_t events)
{
	struct wc_cli_progress *p = ctx;
	uint64_t now;
	double secs;

	if (!p || p->quiet || !p->tty)
		return;
	now = wc_now_ns();
	if (now - p->start_ns < 1000000000ULL || now - p->last_ns < 200000000ULL)
		return;
	p->last_ns = now;
	secs = (double)(now - p->start_ns) / 1e9;
	fprintf(stderr, "\r\033[Kimporting: %llu events", (unsigned long long)events);
	if (bytes)
		fprintf(stderr, ", %.1f MB", (double)bytes / 1e6);
	if (bytes && p->total_bytes && bytes <= p->total_bytes) {
		double frac = (double)bytes / (double)p->total_bytes;

		fprintf(stderr, " of %.1f MB (%.0f%%)",
			(double)p->total_bytes / 1e6, frac * 100);
		if (frac > 0.01)
			fprintf(stderr, ", ETA %.0f s", secs / frac - secs);
	}
	fprintf(stderr, ", %.0f events/s", (double)events / secs);
	p->shown = 1;
}

void wc_cli_progress_done(struct wc_cli_progress *p)
{
	if (p->shown)
		fputs("\r\033[K", stderr);
	p->shown = 0;
}

/* wc_err() for a failed output operation VERB ("create", "write") with
 * errno value E, naming O->path and, when set, O->what. */
static int output_error(const struct wc_cli_output *o, const char *verb,
			int e, struct wc_error *err)
{
	return wc_err(err, WC_EIO, o->path, "cannot %s%s%s: %s", verb,
		      o->what ? " " : "", o->what ? o->what : "", strerror(e));
}

int wc_cli_output_open(struct wc_cli_output *o, const char *path,
		       const char *what, struct wc_error *err)
{
	mode_t mask;
	int fd;

	memset(o, 0, sizeof(*o));
	o->path = path;
	o->what = what;
	if (asprintf(&o->tmp, "%s.tmp-XXXXXX", path) < 0) {
		o->tmp = NULL;
		return wc_err(err, WC_ENOMEM, path, "out of memory");
	}
	fd = mkstemp(o->tmp);
	if (fd < 0) {
		int e = errno;

		free(o->tmp);
		o->tmp = NULL;
		return output_error(o, "create", e, err);
	}
	/* mkstemp() makes it 0600: give the file the usual permissions */
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0) {
		/* keep 0600: not worth failing for */
	}
	o->f = fdopen(fd, "w");
	if (!o->f) {
		int e = errno;

		close(fd);
		unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
		return output_error(o, "write", e, err);
	}
	return 0;
}

int wc_cli_output_close(struct wc_cli_output *o, int rc, struct wc_error *err)
{
	if (!o->f)
		return rc;
	if (fclose(o->f) != 0 && !rc)
		rc = output_error(o, "write", errno, err);
	o->f = NULL;
	if (!rc && rename(o->tmp, o->path) != 0)
		rc = output_error(o, "write", errno, err);
	if (rc)
		unlink(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
	return rc;
}
