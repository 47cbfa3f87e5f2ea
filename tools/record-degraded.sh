#!/bin/sh
# record-degraded.sh SAMPLES_DIR - records the small degraded and lossy
# captures the reliability tests use (tests/cli/test_degraded.c), each in
# its own directory with a record.txt of the exact commands:
#
#   lossy/              perf record -m 1 (one-page ring buffers) and
#                       trace-cmd record -b 1 (1 KiB per-CPU buffers) of a
#                       busy bqlsim run: LOST records / ring-buffer overruns
#   degraded-nowaking/  no sched_waking (wakers from sched_wakeup only)
#   degraded-nofutex/   no futex syscalls (blocks without holders)
#   degraded-pid/       perf record -p PID: only bqlsim's own threads,
#                       attached while its threads were already blocked
#
# Needs root, perf and trace-cmd; builds bqlsim from tools/bqlsim.c.  The
# runs are short (-d 120) to keep every directory well under 2 MB.
set -eu
out=${1:?usage: record-degraded.sh SAMPLES_DIR}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/degraded.XXXXXX)
trap 'rm -rf "$work"' EXIT
cc -O2 -pthread -o "$work/bqlsim" "$here/bqlsim.c"
sched="sched:sched_switch,sched:sched_wakeup,sched:sched_wakeup_new"
sched="$sched,sched:sched_process_fork,sched:sched_process_exit,task:task_rename"
futex="syscalls:sys_enter_futex,syscalls:sys_exit_futex"
all="$sched,sched:sched_waking,$futex"
note() { # DIR COMMAND...
	{ echo "kernel: $(uname -r)"; echo "perf: $(perf version)";
	  echo "trace-cmd: $(trace-cmd --version 2>&1 | grep -m1 version)"; } >"$1/record.txt"
}

d=$out/lossy; mkdir -p "$d"; note "$d"
(cd "$work" && perf record -q -a -k CLOCK_MONOTONIC -m 1 -e "$all" \
	-o "$d/capture.perf.data" -- ./bqlsim -o "$work" -d 120 -s 31 -v 4 -w 2 -g 2)
echo "perf record -a -k CLOCK_MONOTONIC -m 1 -e $all -- bqlsim -d 120 -s 31 -v 4 -w 2 -g 2" >>"$d/record.txt"
tc=""; for e in $(echo "$all" | tr ',' ' '); do tc="$tc -e $e"; done
# trace-cmd in a private mount namespace where ftrace_enabled and the
# ftrace filter files are harmless stand-ins when writing them is refused
# (as tools/record.sh does)
tracefs=/sys/kernel/tracing
cat >"$work/inner.sh" <<EOF2
#!/bin/sh
set -e
if ! ( echo 1 >/proc/sys/kernel/ftrace_enabled ) 2>/dev/null; then
	echo 1 >"$work/ftrace_enabled"
	mount --bind "$work/ftrace_enabled" /proc/sys/kernel/ftrace_enabled
fi
for f in set_ftrace_filter set_ftrace_notrace set_ftrace_pid set_ftrace_notrace_pid; do
	if [ -e $tracefs/\$f ] && ! ( : >$tracefs/\$f ) 2>/dev/null; then
		: >"$work/\$f"
		mount --bind "$work/\$f" $tracefs/\$f
	fi
done
cd "$work"
exec trace-cmd record -q -C mono -b 1 $tc -o "$d/capture.trace.dat" \
	./bqlsim -o "$work" -d 150 -s 32 -v 8 -w 4 -g 4
EOF2
chmod +x "$work/inner.sh"
unshare -m "$work/inner.sh" >/dev/null
echo "trace-cmd record -C mono -b 1$tc -- bqlsim -d 150 -s 32 -v 8 -w 4 -g 4" >>"$d/record.txt"

d=$out/degraded-nowaking; mkdir -p "$d"; note "$d"
(cd "$work" && perf record -q -a -k CLOCK_MONOTONIC -e "$sched,$futex" \
	-o "$d/capture.perf.data" -- ./bqlsim -o "$work" -d 120 -s 33)
echo "perf record -a -k CLOCK_MONOTONIC -e $sched,$futex -- bqlsim -d 120 -s 33" >>"$d/record.txt"

d=$out/degraded-nofutex; mkdir -p "$d"; note "$d"
(cd "$work" && perf record -q -a -k CLOCK_MONOTONIC -e "$sched,sched:sched_waking" \
	-o "$d/capture.perf.data" -- ./bqlsim -o "$work" -d 120 -s 34)
echo "perf record -a -k CLOCK_MONOTONIC -e $sched,sched:sched_waking -- bqlsim -d 120 -s 34" >>"$d/record.txt"

d=$out/degraded-pid; mkdir -p "$d"; note "$d"
# perf -p with a workload ignores -p: stop it with SIGINT instead; attach
# once bqlsim's threads exist (perf -p fails if one vanishes meanwhile)
(cd "$work"; ./bqlsim -o "$work" -d 2500 -s 35 >/dev/null & pid=$!; sleep 0.3
 timeout -s INT 1 perf record -q -p $pid -k CLOCK_MONOTONIC -e "$all" \
	-o "$d/capture.perf.data" || true
 wait $pid)
echo "bqlsim -d 2500 -s 35 & sleep 0.3; timeout -s INT 1 perf record -p \$! -k CLOCK_MONOTONIC -e $all" >>"$d/record.txt"
chmod a+r "$out"/lossy/* "$out"/degraded-*/*
ls -l "$out"/lossy "$out"/degraded-*
