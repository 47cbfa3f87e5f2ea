/*
 * record.c - `waitchain record`: a capture with exactly what waitchain
 * needs, in a file trace-cmd and KernelShark read too.
 *
 * How (see record.h for the contract):
 *   1. find tracefs (WC_TRACEFS or the mounted one; mount it if root and
 *      it is not), check we may create an instance, check every event
 *      exists, and say precisely what is missing otherwise;
 *   2. remove instances "waitchain-<pid>" whose recorder is gone (killed
 *      with SIGKILL: no cleanup ran), then create the private instance
 *      "waitchain-<our pid>": per-CPU buffer size, trace_clock 'mono',
 *      option stacktrace (--stacks), pid filter
 *      (set_event_pid + option event-fork, so threads created later
 *      follow), the events;
 *   3. start CMD (held on a pipe until tracing is on, so its first
 *      events are recorded), turn tracing on;
 *   4. every 100 ms move the full sub-buffers of every CPU from
 *      trace_pipe_raw into OUTPUT.cpuN (tracefs_cpu_write(): splice when
 *      possible), until Ctrl-C/SIGTERM, CMD exits, the -p process exits
 *      or --duration passes; then tracing off and flush the partial
 *      pages;
 *   5. write OUTPUT with libtracecmd's output API (headers and the
 *      formats of our events, saved cmdlines, options: per-CPU stats,
 *      uname, version; the per-CPU data as the top buffer with clock
 *      'mono'), and remove the temporary files.
 *
 * Data shapes: the ring buffer pages are copied verbatim (the kernel's
 * binary format; nothing here parses them).  Memory is one page per CPU
 * inside libtracefs; the data goes to disk as it comes.  Disk: the raw
 * data twice at most (temporary files, then the compressed trace.dat).
 *
 * The system's tracing is left alone: besides mounting tracefs when it is
 * not mounted and removing instances of recorders that are gone, nothing
 * is written outside our instance, in particular not
 * /proc/sys/kernel/ftrace_enabled nor set_ftrace_filter (sandboxes refuse
 * those).  (libtracecmd, like trace-cmd record, lowers
 * /proc/sys/kernel/kptr_restrict while it copies /proc/kallsyms into the
 * file, and restores it.)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mntent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <tracefs.h>
#include <trace-cmd/trace-cmd.h>

#include "record.h"
#include "waitchain/util.h"

/*
 * libtracecmd 1.3 (trace-cmd 3.1) exports its trace.dat writer from the
 * shared library, and trace-cmd itself uses it, but the declarations live
 * in trace-cmd-private.h, which the -dev package does not ship.  These
 * are copied from that header (lib/trace-cmd/include/private/
 * trace-cmd-private.h of trace-cmd 3.1.6); the ABI is stable across the
 * 1.x series.
 */
struct tracecmd_output;
struct tracecmd_option;
struct tracecmd_event_list {
	struct tracecmd_event_list *next;
	const char *glob;
};
struct tracecmd_output *tracecmd_output_create(const char *output_file);
int tracecmd_output_set_compression(struct tracecmd_output *handle,
				    const char *compression);
int tracecmd_output_set_trace_dir(struct tracecmd_output *handle,
				  const char *tracing_dir);
int tracecmd_output_write_headers(struct tracecmd_output *handle,
				  struct tracecmd_event_list *list);
void tracecmd_set_out_clock(struct tracecmd_output *handle, const char *clock);
void tracecmd_set_quiet(struct tracecmd_output *handle, bool set_quiet);
struct tracecmd_option *tracecmd_add_option(struct tracecmd_output *handle,
					    unsigned short id, int size,
					    const void *data);
int tracecmd_write_cmdlines(struct tracecmd_output *handle);
int tracecmd_append_cpu_data(struct tracecmd_output *handle, int cpus,
			     char *const *cpu_data_files);
void tracecmd_output_close(struct tracecmd_output *handle);
enum {	/* option ids, trace-cmd-private.h */
	TC_OPTION_CPUSTAT = 2,
	TC_OPTION_UNAME = 5,
	TC_OPTION_VERSION = 9,
};

/* The events; `required` ones must exist, the others are taken when the
 * kernel has them (futex2 system calls, Linux 5.16+ / 6.7+). */
static const struct rec_event {
	const char *system, *name;
	int required;
} rec_events[] = {
	{ "sched", "sched_switch", 1 },
	{ "sched", "sched_waking", 1 },
	{ "sched", "sched_wakeup", 1 },
	{ "sched", "sched_wakeup_new", 1 },
	{ "sched", "sched_process_fork", 1 },
	{ "sched", "sched_process_exit", 1 },
	{ "task", "task_rename", 1 },
	{ "syscalls", "sys_enter_futex", 1 },
	{ "syscalls", "sys_exit_futex", 1 },
	{ "syscalls", "sys_enter_futex_wait", 0 },
	{ "syscalls", "sys_exit_futex_wait", 0 },
	{ "syscalls", "sys_enter_futex_wake", 0 },
	{ "syscalls", "sys_exit_futex_wake", 0 },
	{ "syscalls", "sys_enter_futex_waitv", 0 },
	{ "syscalls", "sys_exit_futex_waitv", 0 },
	{ "syscalls", "sys_enter_futex_requeue", 0 },
	{ "syscalls", "sys_exit_futex_requeue", 0 },
};

#define DEFAULT_PRINT_SECONDS 10

/* ---------------------------------------------------------------------- */
/* --print-commands                                                        */

/* Writes S as one shell word (single-quoted when it needs quoting). */
static void put_shell_word(FILE *out, const char *s)
{
	int plain = *s != '\0';

	for (const char *p = s; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789-_./:=,+@%", *p))
			plain = 0;
	if (plain) {
		fputs(s, out);
		return;
	}
	fputc('\'', out);
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", out);
		else
			fputc(*p, out);
	}
	fputc('\'', out);
}

/* The workload that bounds the recording: CMD (under `timeout S` with a
 * duration, as `waitchain record` stops after S), or `sleep S`. */
static void put_workload(const struct wc_record_options *opt, FILE *out)
{
	if (opt->cmd && opt->cmd[0]) {
		if (opt->duration > 0)
			fprintf(out, "timeout %g ", opt->duration);
		for (char *const *a = opt->cmd; *a; a++) {
			if (a != opt->cmd)
				fputc(' ', out);
			put_shell_word(out, *a);
		}
		return;
	}
	if (opt->duration > 0)
		fprintf(out, "sleep %g", opt->duration);
	else
		fprintf(out, "sleep %d", DEFAULT_PRINT_SECONDS);
}

void wc_record_print_commands(const struct wc_record_options *opt, FILE *out)
{
	int first = 1;

	fputs("# perf (package linux-perf or perf), writes capture.perf.data:\n"
	      "perf record", out);
	if (opt->pid > 0)
		fprintf(out, " -p %d", (int)opt->pid);
	else if (opt->all || !(opt->cmd && opt->cmd[0]))
		fputs(" -a", out);
	fputs(" -k CLOCK_MONOTONIC -e ", out);
	for (size_t i = 0; i < WC_ARRAY_SIZE(rec_events); i++) {
		if (!rec_events[i].required)
			continue;
		fprintf(out, "%s%s:%s", first ? "" : ",", rec_events[i].system,
			rec_events[i].name);
		first = 0;
	}
	if (opt->stacks)
		fputs(" -g", out);
	fputs(" -o capture.perf.data -- ", out);
	put_workload(opt, out);
	fputs("\n# trace-cmd (package trace-cmd), writes capture.trace.dat:\n"
	      "trace-cmd record", out);
	if (opt->pid > 0)	/* -P filters thread ids: list them all */
		fprintf(out, " -P $(ls /proc/%d/task | paste -sd,) -c",
			(int)opt->pid);
	else if (!opt->all && opt->cmd && opt->cmd[0])
		fputs(" -F -c", out);
	fputs(" -C mono", out);
	for (size_t i = 0; i < WC_ARRAY_SIZE(rec_events); i++)
		if (rec_events[i].required)
			fprintf(out, " -e %s:%s", rec_events[i].system,
				rec_events[i].name);
	if (opt->stacks)
		fputs(" -T", out);
	fputs(" -o capture.trace.dat ", out);
	put_workload(opt, out);
	fputc('\n', out);
}

/* ---------------------------------------------------------------------- */
/* Recording                                                               */

struct recorder {
	const struct wc_record_options *opt;
	struct wc_error *err;
	char *tracing_dir;		/* owned */
	int set_dir;			/* tracefs_set_tracing_dir() done */
	struct tracefs_instance *inst;	/* NULL until created */
	int ncpus;
	struct tracefs_cpu **tcpu;	/* ncpus entries, NULL = CPU absent */
	int *fd;			/* temporary file per CPU, -1 none */
	char **file;			/* its name (OUTPUT.cpuN) */
	char **stats;			/* per_cpu/cpuN/stats at the end */
	pid_t child;			/* CMD, 0 = none */
	int child_reaped;
	int child_status;
	uint64_t bytes;
	int optional;			/* optional events enabled */
	int have_event[WC_ARRAY_SIZE(rec_events)];
};

static void say(const struct recorder *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Progress line to opt->log ("waitchain: ..."). */
static void say(const struct recorder *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->opt->log)
		return;
	va_start(ap, fmt);
	fputs("waitchain: ", r->opt->log);
	vfprintf(r->opt->log, fmt, ap);
	fputc('\n', r->opt->log);
	va_end(ap);
	fflush(r->opt->log);
}

/* Joins DIR and NAME into a new string (caller frees), NULL on ENOMEM. */
static char *path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

/*
 * The mount point of tracefs from /proc/mounts (preferring the standard
 * /sys/kernel/tracing), or DEBUGFS/tracing for old kernels that only
 * have debugfs; NULL if neither.  Caller frees.
 */
static char *mounted_tracefs(void)
{
	char *tracefs = NULL, *debugfs = NULL, *dir = NULL;
	struct mntent *m;
	FILE *f = setmntent("/proc/mounts", "r");

	if (!f)
		return NULL;
	while ((m = getmntent(f))) {
		if (strcmp(m->mnt_type, "tracefs") == 0 &&
		    (!tracefs || strcmp(m->mnt_dir, "/sys/kernel/tracing") == 0)) {
			free(tracefs);
			tracefs = strdup(m->mnt_dir);
		} else if (strcmp(m->mnt_type, "debugfs") == 0 && !debugfs) {
			debugfs = strdup(m->mnt_dir);
		}
	}
	endmntent(f);
	if (tracefs) {
		free(debugfs);
		return tracefs;
	}
	if (debugfs && asprintf(&dir, "%s/tracing", debugfs) >= 0 &&
	    access(dir, F_OK) != 0) {
		free(dir);
		dir = NULL;
	}
	free(debugfs);
	return dir;
}

/*
 * Finds the tracing directory and checks we can use it: step 1 of the
 * file comment.  Sets r->tracing_dir and points libtracefs at it.
 */
static int find_tracefs(struct recorder *r)
{
	const struct wc_record_options *opt = r->opt;
	const char *dir = opt->tracefs;
	char *found = NULL;
	char *probe = NULL;
	int rc = 0;

	if (!dir) {
		found = mounted_tracefs();
		/* mount it only as root: that is what trace-cmd does too */
		if (!found && geteuid() == 0 &&
		    mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0)
			found = mounted_tracefs();
		if (!found) {
			if (geteuid() != 0)
				return wc_err(r->err, WC_EUNSUPPORTED, NULL,
					      "recording needs root: tracefs is not mounted and only root can mount it "
					      "(mount -t tracefs nodev /sys/kernel/tracing)");
			return wc_err(r->err, WC_EUNSUPPORTED, NULL,
				      "tracefs is not mounted and mounting it failed: try "
				      "mount -t tracefs nodev /sys/kernel/tracing");
		}
		dir = found;
	}
	r->tracing_dir = strdup(dir);
	probe = path_join(dir, "available_events");
	if (!r->tracing_dir || !probe) {
		rc = wc_err(r->err, WC_ENOMEM, NULL, NULL);
		goto out;
	}
	if (access(probe, R_OK) != 0) {
		if (errno == EACCES || errno == EPERM)
			rc = wc_err(r->err, WC_EUNSUPPORTED, dir,
				    "permission denied: recording needs root (or read/write access to tracefs)");
		else
			rc = wc_err(r->err, WC_EUNSUPPORTED, dir,
				    "no tracefs here (%s): mount it with "
				    "mount -t tracefs nodev /sys/kernel/tracing",
				    strerror(errno));
		goto out;
	}
	free(probe);
	probe = path_join(dir, "instances");
	if (!probe) {
		rc = wc_err(r->err, WC_ENOMEM, NULL, NULL);
		goto out;
	}
	if (access(probe, W_OK | X_OK) != 0) {
		if (errno == EACCES || errno == EPERM || errno == EROFS)
			rc = wc_err(r->err, WC_EUNSUPPORTED, dir,
				    "permission denied creating a tracing instance: recording needs root");
		else
			rc = wc_err(r->err, WC_EUNSUPPORTED, dir,
				    "this kernel's tracefs has no instances directory (%s): "
				    "Linux 3.14 or later is needed", strerror(errno));
		goto out;
	}
	/* libtracefs then works in exactly this directory */
	if (tracefs_set_tracing_dir(r->tracing_dir) < 0) {
		rc = wc_err(r->err, WC_EIO, dir, "cannot use as tracing directory");
		goto out;
	}
	r->set_dir = 1;
out:
	free(probe);
	free(found);
	return rc;
}

/* 1 if the tracing directory has event E (its format file). */
static int event_exists(const struct recorder *r, const struct rec_event *e)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/events/%s/%s/format", r->tracing_dir,
		 e->system, e->name);
	return access(path, F_OK) == 0;
}

/* Checks every required event exists; notes which optional ones do. */
static int check_events(struct recorder *r)
{
	struct wc_buf missing = WC_BUF_INIT;
	int need_syscalls = 0;
	int rc = 0;

	for (size_t i = 0; i < WC_ARRAY_SIZE(rec_events); i++) {
		const struct rec_event *e = &rec_events[i];

		r->have_event[i] = event_exists(r, e);
		if (r->have_event[i] || !e->required)
			continue;
		if (strcmp(e->system, "syscalls") == 0)
			need_syscalls = 1;
		if (wc_buf_printf(&missing, "%s%s:%s", missing.len ? ", " : "",
				  e->system, e->name) < 0) {
			rc = wc_err(r->err, WC_ENOMEM, NULL, NULL);
			goto out;
		}
	}
	if (missing.len)
		rc = wc_err(r->err, WC_EUNSUPPORTED, r->tracing_dir,
			    "events not available in this kernel: %s%s",
			    wc_buf_str(&missing),
			    need_syscalls ? " (syscall events need CONFIG_FTRACE_SYSCALLS)" : "");
out:
	wc_buf_free(&missing);
	return rc;
}

/* Reads the thread ids of process PID into BUF as "tid tid ...". */
static int list_threads(struct recorder *r, pid_t pid, struct wc_buf *buf)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return wc_err(r->err, WC_ENOTFOUND, NULL, "no process %d (%s)",
			      (int)pid, strerror(errno));
	wc_buf_reset(buf);
	while ((d = readdir(dir))) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		if (wc_buf_printf(buf, "%s%s", buf->len ? " " : "",
				  d->d_name) < 0) {
			rc = wc_err(r->err, WC_ENOMEM, NULL, NULL);
			break;
		}
	}
	closedir(dir);
	return rc;
}

/* Writes VALUE to the instance file NAME; error text says what for. */
static int inst_write(struct recorder *r, const char *name, const char *value,
		      const char *what)
{
	if (tracefs_instance_file_write(r->inst, name, value) < 0)
		return wc_err(r->err, WC_EIO, r->tracing_dir,
			      "cannot set %s of instance %s (%s)", what,
			      tracefs_instance_get_name(r->inst), strerror(errno));
	return 0;
}

/*
 * Restricts the instance to the threads of PID (all of them: the filter
 * is by thread id), following new ones through event-fork.  Threads may
 * be created while we list them; event-fork catches those created by a
 * thread already in the list, and a second listing the rest.
 */
static int set_pid_filter(struct recorder *r, pid_t pid)
{
	struct wc_buf tids = WC_BUF_INIT;
	int rc;

	if (tracefs_option_enable(r->inst, TRACEFS_OPTION_EVENT_FORK) < 0) {
		rc = wc_err(r->err, WC_EIO, r->tracing_dir,
			    "cannot enable option event-fork (%s)", strerror(errno));
		goto out;
	}
	for (int pass = 0; pass < 2; pass++) {
		rc = list_threads(r, pid, &tids);
		if (rc < 0)
			goto out;
		if (tracefs_instance_file_append(r->inst, "set_event_pid",
						 wc_buf_str(&tids)) < 0) {
			rc = wc_err(r->err, WC_EIO, r->tracing_dir,
				    "cannot write set_event_pid (%s)", strerror(errno));
			goto out;
		}
	}
out:
	wc_buf_free(&tids);
	return rc;
}

/* tracefs_instances_walk() callback: removes NAME if it is
 * "waitchain-<pid>" of a process that is gone.  Always 0 (continue). */
static int remove_if_stale(const char *name, void *ctx)
{
	struct recorder *r = ctx;
	struct tracefs_instance *old;
	char *end;
	long pid;

	if (strncmp(name, "waitchain-", 10) != 0 || name[10] < '0' || name[10] > '9')
		return 0;
	pid = strtol(name + 10, &end, 10);
	if (*end || pid <= 0 || pid > INT32_MAX || pid == (long)getpid() ||
	    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return 0;
	old = tracefs_instance_alloc(r->tracing_dir, name);
	if (!old)
		return 0;
	tracefs_trace_off(old);
	tracefs_event_disable(old, NULL, NULL);
	if (tracefs_instance_destroy(old) == 0)
		say(r, "removed the tracing instance %s of a recorder that is gone", name);
	tracefs_instance_free(old);
	return 0;
}

/*
 * Removes instances "waitchain-<pid>" left by recorders that were killed
 * (SIGKILL, power loss of the session) and whose process is gone: they
 * would keep their events enabled and their buffers allocated.
 * Instances of live processes, and any other name, are left alone.
 */
static void remove_stale_instances(struct recorder *r)
{
	tracefs_instances_walk(remove_if_stale, r);
}

/* The per-CPU buffer: asked for, or 4 MB but at most 256 MB for all CPUs
 * (a 256-CPU host must not pin 1 GB of ring buffers). */
static unsigned buffer_kb(const struct recorder *r)
{
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);
	unsigned kb = WC_RECORD_DEFAULT_BUFFER_KB;

	if (r->opt->buffer_kb)
		return r->opt->buffer_kb;
	if (ncpus > 0 && (unsigned long)ncpus * kb > 256UL * 1024)
		kb = (unsigned)(256UL * 1024 / (unsigned long)ncpus);
	return kb < 1024 ? 1024 : kb;
}

/* Creates and configures the instance (step 2), tracing still off. */
static int setup_instance(struct recorder *r)
{
	const struct wc_record_options *opt = r->opt;
	char name[64];
	char kb[32];
	int rc;

	remove_stale_instances(r);
	snprintf(name, sizeof(name), "waitchain-%d", (int)getpid());
	r->inst = tracefs_instance_create(name);
	if (!r->inst) {
		if (errno == EACCES || errno == EPERM)
			return wc_err(r->err, WC_EUNSUPPORTED, r->tracing_dir,
				      "permission denied creating tracing instance %s: recording needs root",
				      name);
		return wc_err(r->err, WC_EIO, r->tracing_dir,
			      "cannot create tracing instance %s (%s)", name,
			      strerror(errno));
	}
	if (tracefs_trace_off(r->inst) < 0)
		return wc_err(r->err, WC_EIO, r->tracing_dir,
			      "cannot stop tracing in instance %s (%s)", name,
			      strerror(errno));
	snprintf(kb, sizeof(kb), "%u", buffer_kb(r));
	rc = inst_write(r, "buffer_size_kb", kb, "the buffer size");
	if (rc < 0)
		return rc;
	if (tracefs_instance_file_write(r->inst, "trace_clock", "mono") < 0)
		return wc_err(r->err, WC_EUNSUPPORTED, r->tracing_dir,
			      "the 'mono' trace clock is not available (%s): Linux 3.10 or later is needed",
			      strerror(errno));
	if (opt->stacks &&
	    tracefs_option_enable(r->inst, TRACEFS_OPTION_STACKTRACE) < 0)
		return wc_err(r->err, WC_EUNSUPPORTED, r->tracing_dir,
			      "cannot enable kernel stacks (option stacktrace: %s)",
			      strerror(errno));
	if (opt->pid > 0) {
		rc = set_pid_filter(r, opt->pid);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < WC_ARRAY_SIZE(rec_events); i++) {
		const struct rec_event *e = &rec_events[i];

		if (!r->have_event[i])
			continue;
		if (tracefs_event_enable(r->inst, e->system, e->name) < 0) {
			if (!e->required) {
				r->have_event[i] = 0;
				continue;
			}
			return wc_err(r->err, WC_EUNSUPPORTED, r->tracing_dir,
				      "cannot enable event %s:%s (%s)", e->system,
				      e->name, strerror(errno));
		}
		if (!e->required)
			r->optional++;
	}
	return 0;
}

/* Opens each CPU's raw buffer and its temporary file OUTPUT.cpuN. */
static int open_cpus(struct recorder *r)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);

	if (n < 1 || n > 8192)
		return wc_err(r->err, WC_EUNSUPPORTED, NULL,
			      "cannot tell how many CPUs this machine has (%ld)", n);
	r->ncpus = (int)n;
	r->tcpu = calloc(r->ncpus, sizeof(struct tracefs_cpu *));
	r->fd = malloc(r->ncpus * sizeof(int));
	r->file = calloc(r->ncpus, sizeof(char *));
	r->stats = calloc(r->ncpus, sizeof(char *));
	for (int cpu = 0; r->fd && cpu < r->ncpus; cpu++)
		r->fd[cpu] = -1;	/* before anything can fail: cleanup reads it */
	if (!r->tcpu || !r->fd || !r->file || !r->stats)
		return wc_err(r->err, WC_ENOMEM, NULL, NULL);
	for (int cpu = 0; cpu < r->ncpus; cpu++) {
		if (asprintf(&r->file[cpu], "%s.cpu%d", r->opt->output, cpu) < 0) {
			r->file[cpu] = NULL;
			return wc_err(r->err, WC_ENOMEM, NULL, NULL);
		}
		r->fd[cpu] = open(r->file[cpu],
				  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (r->fd[cpu] < 0)
			return wc_err(r->err, WC_EIO, r->file[cpu],
				      "cannot create temporary file (%s)",
				      strerror(errno));
		/* an offline CPU has no buffer: its file stays empty */
		r->tcpu[cpu] = tracefs_cpu_open(r->inst, cpu, true);
	}
	return 0;
}

/*
 * Starts CMD held on a pipe (it execs once we write to GO); a second,
 * close-on-exec pipe reports a failed exec.  Sets r->child.
 */
static int start_child(struct recorder *r, int *go_fd)
{
	int go[2] = { -1, -1 };
	int status[2] = { -1, -1 };
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0) {
		int e = errno;

		if (go[0] >= 0) {
			close(go[0]);
			close(go[1]);
		}
		return wc_err(r->err, WC_EIO, NULL, "pipe: %s", strerror(e));
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(go[0]); close(go[1]); close(status[0]); close(status[1]);
		return wc_err(r->err, WC_EIO, NULL, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		char c;
		int e;

		close(go[1]);
		close(status[0]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (read(go[0], &c, 1) != 1)
			_exit(127);	/* the recorder gave up */
		execvp(r->opt->cmd[0], r->opt->cmd);
		e = errno;
		if (write(status[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(status[1]);
	r->child = pid;
	*go_fd = go[1];
	return status[0];
}

/* Releases CMD and waits for its exec to succeed or fail. */
static int release_child(struct recorder *r, int go_fd, int status_fd)
{
	ssize_t n;
	int e = 0;

	n = write(go_fd, "g", 1);
	close(go_fd);
	if (n != 1) {
		close(status_fd);
		return wc_err(r->err, WC_EIO, NULL, "cannot start %s",
			      r->opt->cmd[0]);
	}
	do
		n = read(status_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(status_fd);
	if (n == (ssize_t)sizeof(e))
		return wc_err(r->err, WC_ENOTFOUND, r->opt->cmd[0],
			      "cannot run command: %s", strerror(e));
	return 0;
}

/* Moves every full sub-buffer of every CPU to its file. */
static int drain(struct recorder *r)
{
	for (int cpu = 0; cpu < r->ncpus; cpu++) {
		int n;

		if (!r->tcpu[cpu])
			continue;
		while ((n = tracefs_cpu_write(r->tcpu[cpu], r->fd[cpu], true)) > 0)
			r->bytes += (uint64_t)n;
		if (n < 0 && errno != EAGAIN && errno != EINTR &&
		    errno != EWOULDBLOCK && errno != ENODATA)
			return wc_err(r->err, WC_EIO, r->file[cpu],
				      "reading the ring buffer of CPU %d: %s",
				      cpu, strerror(errno));
	}
	return 0;
}

/* Moves what is left after tracing stopped, partial pages included. */
static int flush_all(struct recorder *r)
{
	for (int cpu = 0; cpu < r->ncpus; cpu++) {
		int n;

		if (!r->tcpu[cpu])
			continue;
		while ((n = tracefs_cpu_write(r->tcpu[cpu], r->fd[cpu], true)) > 0)
			r->bytes += (uint64_t)n;
		while ((n = tracefs_cpu_flush_write(r->tcpu[cpu], r->fd[cpu])) > 0)
			r->bytes += (uint64_t)n;
	}
	return 0;
}

/* 1 once CMD has exited (reaps it). */
static int child_done(struct recorder *r)
{
	if (!r->child || r->child_reaped)
		return r->child_reaped;
	if (waitpid(r->child, &r->child_status, WNOHANG) == r->child)
		r->child_reaped = 1;
	return r->child_reaped;
}

/* The recording loop (step 4). */
static int record_loop(struct recorder *r, double *seconds)
{
	const struct wc_record_options *opt = r->opt;
	uint64_t t0 = wc_now_ns();
	uint64_t limit = opt->duration > 0 ? (uint64_t)(opt->duration * 1e9) : 0;
	int rc = 0;

	for (;;) {
		uint64_t elapsed;
		int wait_ms = 100;

		if (opt->stop && *opt->stop)
			break;
		if (r->child && child_done(r))
			break;
		if (!r->child && opt->pid > 0 && kill(opt->pid, 0) < 0 &&
		    errno == ESRCH) {
			say(r, "process %d exited", (int)opt->pid);
			break;
		}
		elapsed = wc_now_ns() - t0;
		if (limit && elapsed >= limit)
			break;
		if (limit && limit - elapsed < 100000000ULL)
			wait_ms = (int)((limit - elapsed) / 1000000ULL) + 1;
		poll(NULL, 0, wait_ms);	/* a signal cuts it short */
		rc = drain(r);
		if (rc < 0)
			break;
	}
	*seconds = (double)(wc_now_ns() - t0) / 1e9;
	return rc;
}

/* Reads per_cpu/cpuN/stats into r->stats (for the CPUSTAT option and the
 * overrun count). */
static uint64_t read_stats(struct recorder *r)
{
	uint64_t overruns = 0;

	for (int cpu = 0; cpu < r->ncpus; cpu++) {
		char file[64];
		const char *p;

		snprintf(file, sizeof(file), "per_cpu/cpu%d/stats", cpu);
		r->stats[cpu] = tracefs_instance_file_read(r->inst, file, NULL);
		if (r->stats[cpu] && (p = strstr(r->stats[cpu], "overrun: ")))
			overruns += strtoull(p + 9, NULL, 10);
	}
	return overruns;
}

/* Step 5: the trace.dat itself. */
static int write_output(struct recorder *r)
{
	const struct wc_record_options *opt = r->opt;
	struct tracecmd_event_list *list = NULL;
	struct tracecmd_output *out = NULL;
	struct wc_buf text = WC_BUF_INIT;
	struct utsname u;
	size_t nlist = 0;
	char **globs = NULL;
	int rc = 0;

	list = calloc(WC_ARRAY_SIZE(rec_events), sizeof(*list));
	globs = calloc(WC_ARRAY_SIZE(rec_events), sizeof(*globs));
	if (!list || !globs) {
		rc = wc_err(r->err, WC_ENOMEM, NULL, NULL);
		goto out;
	}
	for (size_t i = 0; i < WC_ARRAY_SIZE(rec_events); i++) {
		if (!r->have_event[i])
			continue;
		if (asprintf(&globs[nlist], "%s:%s", rec_events[i].system,
			     rec_events[i].name) < 0) {
			globs[nlist] = NULL;
			rc = wc_err(r->err, WC_ENOMEM, NULL, NULL);
			goto out;
		}
		list[nlist].glob = globs[nlist];
		list[nlist].next = NULL;
		if (nlist)
			list[nlist - 1].next = &list[nlist];
		nlist++;
	}

	out = tracecmd_output_create(opt->output);
	if (!out) {
		rc = wc_err(r->err, WC_EIO, opt->output, "cannot create (%s)",
			    strerror(errno));
		goto out;
	}
	tracecmd_set_quiet(out, true);
	if (tracecmd_output_set_trace_dir(out, r->tracing_dir) < 0 ||
	    tracecmd_output_set_compression(out, "any") < 0) {
		rc = wc_err(r->err, WC_EIO, opt->output,
			    "cannot set up the trace.dat writer");
		goto out;
	}
	tracecmd_set_out_clock(out, "mono");
	if (tracecmd_output_write_headers(out, list) < 0) {
		rc = wc_err(r->err, WC_EIO, opt->output,
			    "writing headers and event formats failed");
		goto out;
	}
	/* options as trace-cmd record writes them */
	for (int cpu = 0; cpu < r->ncpus; cpu++) {
		wc_buf_reset(&text);
		if (wc_buf_printf(&text, "CPU: %d\n%s", cpu,
				  r->stats[cpu] ? r->stats[cpu] : "") < 0) {
			rc = wc_err(r->err, WC_ENOMEM, NULL, NULL);
			goto out;
		}
		tracecmd_add_option(out, TC_OPTION_CPUSTAT, (int)text.len + 1,
				    wc_buf_str(&text));
	}
	if (uname(&u) == 0) {
		wc_buf_reset(&text);
		if (wc_buf_printf(&text, "%s %s %s %s", u.sysname, u.nodename,
				  u.release, u.machine) < 0) {
			rc = wc_err(r->err, WC_ENOMEM, NULL, NULL);
			goto out;
		}
		tracecmd_add_option(out, TC_OPTION_UNAME, (int)text.len + 1,
				    wc_buf_str(&text));
	}
	tracecmd_add_option(out, TC_OPTION_VERSION,
			    (int)sizeof("waitchain " WC_VERSION),
			    "waitchain " WC_VERSION);
	if (tracecmd_write_cmdlines(out) < 0) {
		rc = wc_err(r->err, WC_EIO, opt->output,
			    "writing saved cmdlines failed");
		goto out;
	}
	if (tracecmd_append_cpu_data(out, r->ncpus, r->file) < 0) {
		rc = wc_err(r->err, WC_EIO, opt->output,
			    "writing the trace data failed (%s)", strerror(errno));
		goto out;
	}
out:
	tracecmd_output_close(out);	/* writes the trailing options */
	if (rc < 0)
		unlink(opt->output);
	for (size_t i = 0; globs && i < nlist; i++)
		free(globs[i]);
	free(globs);
	free(list);
	wc_buf_free(&text);
	return rc;
}

/* Undoes everything set up; safe at any stage. */
static void recorder_cleanup(struct recorder *r)
{
	if (r->inst) {
		tracefs_trace_off(r->inst);
		/* stacktrace and event-fork die with the instance */
		tracefs_event_disable(r->inst, NULL, NULL);
	}
	for (int cpu = 0; r->tcpu && cpu < r->ncpus; cpu++)
		tracefs_cpu_close(r->tcpu[cpu]);
	if (r->inst) {
		tracefs_instance_destroy(r->inst);
		tracefs_instance_free(r->inst);
	}
	for (int cpu = 0; r->file && r->fd && cpu < r->ncpus; cpu++) {
		if (r->fd[cpu] >= 0)
			close(r->fd[cpu]);
		if (r->file[cpu])
			unlink(r->file[cpu]);
		free(r->file[cpu]);
		if (r->stats)
			free(r->stats[cpu]);
	}
	free(r->tcpu);
	free(r->fd);
	free(r->file);
	free(r->stats);
	free(r->tracing_dir);
	if (r->set_dir)
		tracefs_set_tracing_dir(NULL);	/* frees libtracefs' copy */
	if (r->child && !r->child_reaped) {
		/* stopped before CMD finished (Ctrl-C, --duration, error) */
		kill(r->child, SIGTERM);
		while (waitpid(r->child, &r->child_status, 0) < 0 &&
		       errno == EINTR)
			;
		r->child_reaped = 1;
	}
}

int wc_record(const struct wc_record_options *opt,
	      struct wc_record_result *res, struct wc_error *err)
{
	struct recorder r;
	int go_fd = -1, status_fd = -1;
	double seconds = 0;
	uint64_t overruns;
	int rc;

	memset(&r, 0, sizeof(r));
	r.opt = opt;
	r.err = err;
	if (res) {
		memset(res, 0, sizeof(*res));
		res->cmd_status = -1;
	}
	tracefs_set_loglevel(TEP_LOG_NONE);
	tracecmd_set_loglevel(TEP_LOG_NONE);

	rc = find_tracefs(&r);
	if (rc < 0)
		goto out;
	rc = check_events(&r);
	if (rc < 0)
		goto out;
	{
		/* fail before touching tracefs when the output cannot be written */
		char *dir = wc_path_dirname(opt->output);

		if (!dir) {
			rc = wc_err(err, WC_ENOMEM, NULL, NULL);
			goto out;
		}
		if (access(dir, W_OK | X_OK) != 0) {
			rc = wc_err(err, WC_EIO, opt->output, "cannot write in %s (%s)",
				    dir, strerror(errno));
			free(dir);
			goto out;
		}
		free(dir);
	}
	if (opt->pid > 0 && kill(opt->pid, 0) < 0 && errno == ESRCH) {
		rc = wc_err(err, WC_ENOTFOUND, NULL, "no process %d", (int)opt->pid);
		goto out;
	}
	rc = setup_instance(&r);
	if (rc < 0)
		goto out;
	rc = open_cpus(&r);
	if (rc < 0)
		goto out;
	if (opt->cmd && opt->cmd[0]) {
		status_fd = start_child(&r, &go_fd);
		if (status_fd < 0) {
			rc = status_fd;
			goto out;
		}
		if (opt->pid <= 0 && !opt->all) {
			/* follow the command and what it starts, like perf */
			char pid[32];

			snprintf(pid, sizeof(pid), "%d", (int)r.child);
			if (tracefs_option_enable(r.inst, TRACEFS_OPTION_EVENT_FORK) < 0 ||
			    tracefs_instance_file_write(r.inst, "set_event_pid", pid) < 0) {
				rc = wc_err(err, WC_EIO, r.tracing_dir,
					    "cannot filter on the command's pid (%s)",
					    strerror(errno));
				goto out;
			}
		}
	}
	if (tracefs_trace_on(r.inst) < 0) {
		rc = wc_err(err, WC_EIO, r.tracing_dir, "cannot turn tracing on (%s)",
			    strerror(errno));
		goto out;
	}
	if (r.child) {
		rc = release_child(&r, go_fd, status_fd);
		go_fd = status_fd = -1;
		if (rc < 0)
			goto out;
	}
	say(&r, "recording %s%s into %s (Ctrl-C to stop)",
	    opt->pid > 0 ? "process threads" :
	    (r.child && !opt->all) ? "the command" : "all CPUs",
	    opt->stacks ? " with kernel stacks" : "", opt->output);
	rc = record_loop(&r, &seconds);
	tracefs_trace_off(r.inst);
	if (rc < 0)
		goto out;
	rc = flush_all(&r);
	if (rc < 0)
		goto out;
	overruns = read_stats(&r);
	for (int cpu = 0; cpu < r.ncpus; cpu++)
		if (fsync(r.fd[cpu]) < 0 && errno != EINVAL) {
			rc = wc_err(err, WC_EIO, r.file[cpu], "%s", strerror(errno));
			goto out;
		}
	rc = write_output(&r);
	if (rc < 0)
		goto out;
	if (r.child)
		child_done(&r);
	say(&r, "%.1f s, %llu bytes of trace data from %d CPUs%s", seconds,
	    (unsigned long long)r.bytes, r.ncpus,
	    overruns ? " (events were lost: see buffer overruns)" : "");
	if (overruns)
		say(&r, "%llu events lost to full buffers: record fewer CPUs (-p) or shorter",
		    (unsigned long long)overruns);
	if (res) {
		res->data_bytes = r.bytes;
		res->ncpus = r.ncpus;
		res->overruns = overruns;
		res->seconds = seconds;
		res->optional_events = r.optional;
	}
out:
	if (go_fd >= 0)
		close(go_fd);	/* the held child sees EOF and exits 127 */
	if (status_fd >= 0)
		close(status_fd);
	recorder_cleanup(&r);
	if (res && r.child && r.child_reaped)
		res->cmd_status = r.child_status;
	return rc;
}
