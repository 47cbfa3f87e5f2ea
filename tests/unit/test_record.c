/*
 * test_record.c - `waitchain record`: the printed perf/trace-cmd command
 * lines (exact), the one-line errors when recording is impossible
 * (tracefs missing, events missing, not root), and live recordings
 * (root + tracefs only) that trace-cmd must read back, that leave no
 * tracing instance nor temporary file behind, and whose sched_switch
 * count our importer must agree with.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "record.h"

#define TRACEFS "/sys/kernel/tracing"

/* ---------------------------------------------------------------- helpers */

static const char *env_or_fail(const char *name)
{
	const char *v = getenv(name);

	cr_assert(v && *v, "environment variable %s not set", name);
	return v;
}

/* Reads a whole file into a new string (caller frees); "" if absent. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (!f)
		return strdup("");
	do {
		if (len + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			buf = realloc(buf, cap);
			cr_assert(buf);
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/*
 * Runs ARGV with stdout/stderr into files under WC_TMP, optionally with
 * one extra environment variable ENV ("NAME=value") and as user UID (-1 =
 * unchanged).  Returns the exit status (128+signal if killed); *out and
 * *err receive the outputs (caller frees), when not NULL.
 */
static int run_as(char *const argv[], const char *env, int uid, char **out,
		  char **err)
{
	const char *tmp = env_or_fail("WC_TMP");
	char out_path[512], err_path[512];
	int status;
	pid_t pid;

	snprintf(out_path, sizeof(out_path), "%s/run.out", tmp);
	snprintf(err_path, sizeof(err_path), "%s/run.err", tmp);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (o < 0 || e < 0)
			_exit(126);
		dup2(o, 1);
		dup2(e, 2);
		if (env)
			putenv((char *)env);
		if (uid >= 0 && (setgid(uid) < 0 || setuid(uid) < 0))
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	cr_assert(waitpid(pid, &status, 0) == pid);
	if (out)
		*out = slurp(out_path);
	if (err)
		*err = slurp(err_path);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int run(char *const argv[], const char *env, char **out, char **err)
{
	return run_as(argv, env, -1, out, err);
}

/* Lines of S (the count of '\n'). */
static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Occurrences of NEEDLE in S. */
static int count_str(const char *s, const char *needle)
{
	int n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s += strlen(needle);
	}
	return n;
}

static int can_record(void)
{
	return geteuid() == 0 && access(TRACEFS "/available_events", R_OK) == 0 &&
	       access(TRACEFS "/instances", W_OK) == 0;
}

/* 1 if PROGRAM is in PATH. */
static int have_program(const char *program)
{
	char *argv[] = { "sh", "-c", "command -v \"$0\" >/dev/null", (char *)program, NULL };

	return run(argv, NULL, NULL, NULL) == 0;
}

/*
 * 1 if a tracing instance waitchain-PID of a process that is gone exists:
 * what a recorder that did not clean up leaves.  Instances of live
 * recorders (other runs of this suite on the same machine) do not count,
 * nor the one stale_instances_are_removed creates on purpose.
 */
static int instance_left(void)
{
	DIR *d = opendir(TRACEFS "/instances");
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(e->d_name, "waitchain-", 10) != 0)
			continue;
		pid = strtol(e->d_name + 10, &end, 10);
		if (*end || pid <= 0 || pid >= 2000000000L)
			continue;
		if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
			found = 1;
	}
	closedir(d);
	return found;
}

/* The printed commands of OPT, as a string (caller frees). */
static char *print_commands(const struct wc_record_options *opt)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert(f);
	wc_record_print_commands(opt, f);
	fclose(f);
	return text;
}

#define EVENTS_PERF "sched:sched_switch,sched:sched_waking,sched:sched_wakeup," \
	"sched:sched_wakeup_new,sched:sched_process_fork,sched:sched_process_exit," \
	"task:task_rename,syscalls:sys_enter_futex,syscalls:sys_exit_futex"
#define EVENTS_TC "-e sched:sched_switch -e sched:sched_waking -e sched:sched_wakeup " \
	"-e sched:sched_wakeup_new -e sched:sched_process_fork -e sched:sched_process_exit " \
	"-e task:task_rename -e syscalls:sys_enter_futex -e syscalls:sys_exit_futex"
#define PERF_HDR "# perf (package linux-perf or perf), writes capture.perf.data:\n"
#define TC_HDR "# trace-cmd (package trace-cmd), writes capture.trace.dat:\n"

/* ------------------------------------------------------ --print-commands */

Test(print_commands, default_is_system_wide_for_ten_seconds)
{
	struct wc_record_options opt = { .pid = -1 };
	char *text = print_commands(&opt);

	cr_assert_str_eq(text,
		PERF_HDR
		"perf record -a -k CLOCK_MONOTONIC -e " EVENTS_PERF
		" -o capture.perf.data -- sleep 10\n"
		TC_HDR
		"trace-cmd record -C mono " EVENTS_TC
		" -o capture.trace.dat sleep 10\n");
	free(text);
}

Test(print_commands, pid_duration_stacks)
{
	struct wc_record_options opt = { .pid = 4242, .duration = 2.5,
					 .stacks = 1 };
	char *text = print_commands(&opt);

	cr_assert_str_eq(text,
		PERF_HDR
		"perf record -p 4242 -k CLOCK_MONOTONIC -e " EVENTS_PERF
		" -g -o capture.perf.data -- sleep 2.5\n"
		TC_HDR
		"trace-cmd record -P $(ls /proc/4242/task | paste -sd,) -c -C mono "
		EVENTS_TC " -T -o capture.trace.dat sleep 2.5\n");
	free(text);
}

Test(print_commands, command_is_followed_and_quoted)
{
	char *cmd[] = { "qemu-system-x86_64", "-name", "vm,debug-threads=on",
			"it's a disk", NULL };
	struct wc_record_options opt = { .pid = -1, .cmd = cmd };
	char *text = print_commands(&opt);

	cr_assert_str_eq(text,
		PERF_HDR
		"perf record -k CLOCK_MONOTONIC -e " EVENTS_PERF
		" -o capture.perf.data -- qemu-system-x86_64 -name "
		"vm,debug-threads=on 'it'\\''s a disk'\n"
		TC_HDR
		"trace-cmd record -F -c -C mono " EVENTS_TC
		" -o capture.trace.dat qemu-system-x86_64 -name "
		"vm,debug-threads=on 'it'\\''s a disk'\n");
	free(text);
}

Test(print_commands, command_with_duration_runs_under_timeout)
{
	char *cmd[] = { "./repro", NULL };
	struct wc_record_options opt = { .pid = 77, .duration = 30, .cmd = cmd };
	char *text = print_commands(&opt);

	cr_assert_str_eq(text,
		PERF_HDR
		"perf record -p 77 -k CLOCK_MONOTONIC -e " EVENTS_PERF
		" -o capture.perf.data -- timeout 30 ./repro\n"
		TC_HDR
		"trace-cmd record -P $(ls /proc/77/task | paste -sd,) -c -C mono "
		EVENTS_TC " -o capture.trace.dat timeout 30 ./repro\n");
	free(text);
}

Test(print_commands, command_line_options_reach_the_output)
{
	const char *bin = env_or_fail("WC_BIN");
	char *argv[] = { (char *)bin, "record", "--print-commands", "-a",
			 "--duration", "30", "--stacks", NULL };
	char *out, *err;

	cr_assert_eq(run(argv, NULL, &out, &err), 0, "stderr: %s", err);
	cr_assert_str_eq(out,
		PERF_HDR
		"perf record -a -k CLOCK_MONOTONIC -e " EVENTS_PERF
		" -g -o capture.perf.data -- sleep 30\n"
		TC_HDR
		"trace-cmd record -C mono " EVENTS_TC
		" -T -o capture.trace.dat sleep 30\n");
	cr_assert_str_eq(err, "");
	free(out);
	free(err);
}

/* ------------------------------------------------------------- failures */

Test(record_errors, usage_errors_exit_2)
{
	const char *bin = env_or_fail("WC_BIN");
	char *both[] = { (char *)bin, "record", "-p", "1", "-a", NULL };
	char *badpid[] = { (char *)bin, "record", "-p", "x1", NULL };
	char *baddur[] = { (char *)bin, "record", "--duration", "-3", NULL };
	char *err;

	cr_assert_eq(run(both, NULL, NULL, &err), 2);
	cr_assert(strstr(err, "-p and -a exclude each other"), "%s", err);
	free(err);
	cr_assert_eq(run(badpid, NULL, NULL, &err), 2);
	free(err);
	cr_assert_eq(run(baddur, NULL, NULL, &err), 2);
	free(err);
}

Test(record_errors, no_tracefs_says_how_to_mount_it)
{
	const char *bin = env_or_fail("WC_BIN");
	const char *tmp = env_or_fail("WC_TMP");
	char out_file[512];
	char *argv[] = { (char *)bin, "record", "-o", out_file, "-d", "0.1", NULL };
	char *err;

	snprintf(out_file, sizeof(out_file), "%s/none.dat", tmp);
	unlink(out_file);
	cr_assert_eq(run(argv, "WC_TRACEFS=/nonexistent/tracing", NULL, &err), 1);
	cr_assert_eq(count_lines(err), 1, "one line expected: %s", err);
	cr_assert_str_eq(err,
		"waitchain: /nonexistent/tracing: no tracefs here (No such file or directory): "
		"mount it with mount -t tracefs nodev /sys/kernel/tracing\n");
	cr_assert_neq(access(out_file, F_OK), 0, "no output expected");
	free(err);
}

Test(record_errors, missing_events_are_named)
{
	const char *bin = env_or_fail("WC_BIN");
	const char *tmp = env_or_fail("WC_TMP");
	char dir[512], path[600], env[600], out_file[512];
	char *argv[] = { (char *)bin, "record", "-o", out_file, "-d", "0.1", NULL };
	char *err;
	FILE *f;

	/* a fake tracefs with only sched_switch and task_rename */
	snprintf(dir, sizeof(dir), "%s/fake-tracefs", tmp);
	snprintf(out_file, sizeof(out_file), "%s/none.dat", tmp);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/instances", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/events", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/events/sched", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/events/sched/sched_switch", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/events/sched/sched_switch/format", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/events/task", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/events/task/task_rename", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/events/task/task_rename/format", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/available_events", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("sched:sched_switch\ntask:task_rename\n", f);
	fclose(f);

	snprintf(env, sizeof(env), "WC_TRACEFS=%s", dir);
	cr_assert_eq(run(argv, env, NULL, &err), 1);
	cr_assert_eq(count_lines(err), 1, "one line expected: %s", err);
	cr_assert(strstr(err, ": events not available in this kernel: "
			 "sched:sched_waking, sched:sched_wakeup, sched:sched_wakeup_new, "
			 "sched:sched_process_fork, sched:sched_process_exit, "
			 "syscalls:sys_enter_futex, syscalls:sys_exit_futex "
			 "(syscall events need CONFIG_FTRACE_SYSCALLS)\n"), "%s", err);
	/* nothing was created in the (fake) tracefs */
	snprintf(path, sizeof(path), "%s/instances", dir);
	{
		DIR *d = opendir(path);
		struct dirent *e;
		int n = 0;

		cr_assert(d);
		while ((e = readdir(d)))
			n += e->d_name[0] != '.';
		closedir(d);
		cr_assert_eq(n, 0, "an instance was created");
	}
	free(err);
}

Test(record_errors, not_root_says_root_is_needed)
{
	const char *bin = env_or_fail("WC_BIN");
	char *argv[] = { (char *)bin, "record", "-o", "/nonexistent/x.dat",
			 "-d", "0.1", NULL };
	char *err;

	if (geteuid() != 0) {
		if (access(TRACEFS "/instances", W_OK) == 0)
			cr_skip_test("this user may write tracefs: nothing to check");
		cr_assert_eq(run(argv, NULL, NULL, &err), 1);
	} else {
		/* simulate an ordinary user: nobody */
		cr_assert_eq(run_as(argv, NULL, 65534, NULL, &err), 1, "%s", err);
	}
	cr_assert_eq(count_lines(err), 1, "one line expected: %s", err);
	cr_assert(strstr(err, "needs root"), "%s", err);
	free(err);
}

Test(record_errors, missing_process)
{
	const char *bin = env_or_fail("WC_BIN");
	const char *tmp = env_or_fail("WC_TMP");
	char out_file[512];
	char *argv[] = { (char *)bin, "record", "-o", out_file, "-p",
			 "2147483000", "-d", "0.1", NULL };
	char *err;

	if (!can_record())
		cr_skip_test("needs root and tracefs");
	snprintf(out_file, sizeof(out_file), "%s/none.dat", tmp);
	cr_assert_eq(run(argv, NULL, NULL, &err), 1);
	cr_assert_str_eq(err, "waitchain: no process 2147483000\n");
	cr_assert(!instance_left());
	free(err);
}

Test(record_errors, unwritable_output_fails_before_tracing)
{
	const char *bin = env_or_fail("WC_BIN");
	char *argv[] = { (char *)bin, "record", "-o", "/nonexistent-dir/x.trace.dat",
			 "-d", "0.1", NULL };
	char *err;

	if (!can_record())
		cr_skip_test("needs root and tracefs");
	cr_assert_eq(run(argv, NULL, NULL, &err), 1);
	cr_assert_str_eq(err, "waitchain: /nonexistent-dir/x.trace.dat: cannot write in "
			 "/nonexistent-dir (No such file or directory)\n");
	cr_assert(!instance_left());
	free(err);
}

/* -------------------------------------------------------- live recording */

/* `trace-cmd report FILE` output (caller frees); fails the test if
 * trace-cmd cannot read it. */
static char *trace_cmd_report(const char *file)
{
	char *argv[] = { "trace-cmd", "report", (char *)file, NULL };
	char *out, *err;
	int rc;

	if (!have_program("trace-cmd"))
		cr_skip_test("trace-cmd is not installed (package trace-cmd)");
	rc = run(argv, NULL, &out, &err);

	cr_assert_eq(rc, 0, "trace-cmd report %s failed (%d): %s", file, rc, err);
	free(err);
	return out;
}

static void assert_no_leftovers(const char *file)
{
	char path[600];

	cr_assert(!instance_left(), "tracing instance left behind");
	for (int cpu = 0; cpu < 4; cpu++) {
		snprintf(path, sizeof(path), "%s.cpu%d", file, cpu);
		cr_assert_neq(access(path, F_OK), 0, "%s left behind", path);
	}
}

Test(record_live, command_recording_is_read_by_trace_cmd, .timeout = 120)
{
	const char *bin = env_or_fail("WC_BIN");
	const char *tmp = env_or_fail("WC_TMP");
	char file[512];
	char *argv[] = { (char *)bin, "record", "-o", file, "--", "/bin/sleep",
			 "0.2", NULL };
	char *err, *report;

	if (!can_record())
		cr_skip_test("needs root and tracefs");
	snprintf(file, sizeof(file), "%s/cmd.trace.dat", tmp);
	cr_assert_eq(run(argv, NULL, NULL, &err), 0, "%s", err);
	assert_no_leftovers(file);
	report = trace_cmd_report(file);
	/* the command's own life: renamed to sleep, slept, exited */
	cr_assert(strstr(report, "task_rename:"), "%s", report);
	cr_assert(strstr(report, " S ==> "), "no sleep switch-out");
	cr_assert(strstr(report, "sched_process_exit:"));
	cr_assert_gt(count_str(report, "sched_switch:"), 0);
	free(report);
	free(err);
}

Test(record_live, system_wide_with_stacks_on_mono_clock, .timeout = 120)
{
	const char *bin = env_or_fail("WC_BIN");
	const char *tmp = env_or_fail("WC_TMP");
	char file[512];
	char *argv[] = { (char *)bin, "record", "-a", "--stacks", "-d", "0.3",
			 "-o", file, NULL };
	char *dump[] = { "trace-cmd", "dump", "--summary", file, NULL };
	char *err, *out, *report;

	if (!can_record())
		cr_skip_test("needs root and tracefs");
	snprintf(file, sizeof(file), "%s/all.trace.dat", tmp);
	cr_assert_eq(run(argv, NULL, NULL, &err), 0, "%s", err);
	assert_no_leftovers(file);
	report = trace_cmd_report(file);
	cr_assert_gt(count_str(report, "sched_switch:"), 0);
	cr_assert_gt(count_str(report, "kernel_stack:"), 0);
	free(report);
	cr_assert_eq(run(dump, NULL, &out, NULL), 0);
	cr_assert(strstr(out, "\"mono\" clock"), "%s", out);
	free(out);
	free(err);
}

Test(record_live, sigterm_stops_cleanly, .timeout = 120)
{
	const char *bin = env_or_fail("WC_BIN");
	const char *tmp = env_or_fail("WC_TMP");
	char file[512], cpu0[600], errp[600];
	int status;
	pid_t pid;
	char *report;

	if (!can_record())
		cr_skip_test("needs root and tracefs");
	snprintf(file, sizeof(file), "%s/term.trace.dat", tmp);
	snprintf(cpu0, sizeof(cpu0), "%s.cpu0", file);
	snprintf(errp, sizeof(errp), "%s/term.err", tmp);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (e >= 0)
			dup2(e, 2);
		execl(bin, bin, "record", "-a", "-o", file, (char *)NULL);
		_exit(127);
	}
	/* wait (bounded) until it is recording: its per-CPU files exist */
	for (int i = 0; i < 3000 && access(cpu0, F_OK) != 0; i++)
		usleep(10000);
	cr_assert_eq(access(cpu0, F_OK), 0, "recording did not start");
	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "status %d", status);
	assert_no_leftovers(file);
	report = trace_cmd_report(file);
	free(report);
}

/* Our importer stores exactly the sched_switch events trace-cmd shows. */
Test(record_live, importer_agrees_with_trace_cmd, .timeout = 300)
{
	const char *bin = env_or_fail("WC_BIN");
	const char *tmp = env_or_fail("WC_TMP");
	char file[512], db_path[512];
	char *argv[] = { (char *)bin, "record", "-a", "-d", "0.3", "--import",
			 "-o", file, "--db", db_path, NULL };
	char *err, *report;
	sqlite3 *db;
	sqlite3_stmt *st;
	int n;

	if (!can_record())
		cr_skip_test("needs root and tracefs");
	snprintf(file, sizeof(file), "%s/imp.trace.dat", tmp);
	snprintf(db_path, sizeof(db_path), "%s/imp.db", tmp);
	unlink(db_path);
	cr_assert_eq(run(argv, NULL, NULL, &err), 0, "%s", err);
	report = trace_cmd_report(file);
	n = count_str(report, " sched_switch: ");
	cr_assert_gt(n, 0);
	cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM sched_switch",
					-1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_eq(sqlite3_column_int(st, 0), n);
	sqlite3_finalize(st);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT value FROM capture WHERE key = 'clock'",
					-1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "mono");
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(report);
	free(err);
}

/* An instance left by a killed recorder (its pid is gone) is removed at
 * the next recording; one of a live process is left alone. */
Test(record_live, stale_instances_are_removed, .timeout = 120)
{
	const char *bin = env_or_fail("WC_BIN");
	const char *tmp = env_or_fail("WC_TMP");
	char dead[128], live[128], dead_msg[128];
	char file[512];
	char *argv[] = { (char *)bin, "record", "-o", file, "-d", "0.1", NULL };
	int live_left, dead_left, rc;
	char *err;

	if (!can_record())
		cr_skip_test("needs root and tracefs");
	/* names of our own: other runs of this suite may run at the same
	 * time; no pid reaches 2000000000 (pid_max is at most 2^22), and this
	 * test process is alive */
	snprintf(dead, sizeof(dead), TRACEFS "/instances/waitchain-%ld",
		 2000000000L + (long)getpid());
	snprintf(live, sizeof(live), TRACEFS "/instances/waitchain-%ld",
		 (long)getpid());
	snprintf(dead_msg, sizeof(dead_msg),
		 "removed the tracing instance waitchain-%ld", 2000000000L + (long)getpid());
	snprintf(file, sizeof(file), "%s/stale.trace.dat", tmp);
	rmdir(dead);
	rmdir(live);
	cr_assert_eq(mkdir(dead, 0755), 0, "cannot create %s", dead);
	cr_assert_eq(mkdir(live, 0755), 0, "cannot create %s", live);
	rc = run(argv, NULL, NULL, &err);
	dead_left = access(dead, F_OK) == 0;
	live_left = access(live, F_OK) == 0;
	rmdir(dead);
	rmdir(live);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(!dead_left, "the dead recorder's instance is still there");
	cr_assert(live_left, "the instance of a live process was removed");
	cr_assert(strstr(err, dead_msg), "%s", err);
	free(err);
}

/* A command that cannot run: one line, exit 1, nothing left behind. */
Test(record_live, missing_command_is_reported, .timeout = 120)
{
	const char *bin = env_or_fail("WC_BIN");
	const char *tmp = env_or_fail("WC_TMP");
	char file[512];
	char *argv[] = { (char *)bin, "record", "-o", file, "--",
			 "/nonexistent/command", "arg", NULL };
	char *err;

	if (!can_record())
		cr_skip_test("needs root and tracefs");
	snprintf(file, sizeof(file), "%s/nocmd.trace.dat", tmp);
	unlink(file);
	cr_assert_eq(run(argv, NULL, NULL, &err), 1);
	cr_assert_str_eq(err, "waitchain: /nonexistent/command: cannot run command: "
			 "No such file or directory\n");
	cr_assert_neq(access(file, F_OK), 0, "no output expected");
	assert_no_leftovers(file);
	free(err);
}
