#!/bin/sh
# record.sh OUTDIR [--no-stacks] [--zstd] [--v6] [-- bqlsim options]
#
# Records one run of bqlsim system-wide with perf (capture.perf.data) and
# trace-cmd (capture.trace.dat) at the same time, so both files hold the same
# scheduling and futex history, and writes bqlsim's ground truth beside them
# (locks.csv, threads.csv, holds.csv, waits.csv; see bqlsim.c) plus record.txt.
#
#   --no-stacks  no perf -g callchains, no trace-cmd -T kernel stacks
#   --zstd       perf record -z (zstd-compressed perf.data)
#   --v6         trace.dat file version 6 (uncompressed); by default trace-cmd
#                3.x writes version 7 with its default compression (zstd here)
#
# Both recorders use CLOCK_MONOTONIC, the clock of the ground truth.
# Builds bqlsim from bqlsim.c next to this script.
# Needs root, perf and trace-cmd. On machines where writing
# /proc/sys/kernel/ftrace_enabled or opening set_ftrace_filter is refused
# (some sandboxes), trace-cmd is run in a private mount namespace where those
# files are replaced by harmless stand-ins.
set -eu

usage() { echo "usage: $0 OUTDIR [--no-stacks] [--zstd] [--v6] [-- bqlsim options]" >&2; exit 2; }
[ $# -ge 1 ] || usage
out=$1; shift
stacks=1; zstd=0; v6=0
while [ $# -gt 0 ]; do
	case $1 in
	--no-stacks) stacks=0 ;;
	--zstd) zstd=1 ;;
	--v6) v6=1 ;;
	--) shift; break ;;
	*) usage ;;
	esac
	shift
done

here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/bqlsim.XXXXXX)
trap 'rm -rf "$work"' EXIT

cc -O2 -pthread -o "$work/bqlsim" "$here/bqlsim.c"

tracefs=/sys/kernel/tracing
[ -e $tracefs/available_events ] || mount -t tracefs nodev $tracefs

events="sched:sched_switch sched:sched_wakeup sched:sched_wakeup_new sched:sched_waking"
events="$events sched:sched_process_fork sched:sched_process_exit task:task_rename"
events="$events syscalls:sys_enter_futex syscalls:sys_exit_futex"

perf_events=$(echo $events | tr ' ' ',')
perf_opts="-a -k CLOCK_MONOTONIC -e $perf_events"
tc_opts="-C mono"
for e in $events; do tc_opts="$tc_opts -e $e"; done
if [ $stacks = 1 ]; then
	perf_opts="$perf_opts -g"; tc_opts="$tc_opts -T"
else
	# trace-cmd -T leaves the top instance's stacktrace option set
	echo 0 >$tracefs/options/stacktrace 2>/dev/null || true
fi
[ $zstd = 1 ] && perf_opts="$perf_opts -z"
[ $v6 = 1 ] && tc_opts="$tc_opts --file-version 6"

cat >"$work/inner.sh" <<EOF
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
cd "$out"
exec trace-cmd record -q $tc_opts -o capture.trace.dat \
	perf record -q $perf_opts -o capture.perf.data -- \
	"$work/bqlsim" -o . "\$@"
EOF
chmod +x "$work/inner.sh"
unshare -m "$work/inner.sh" "$@"

{
	echo "kernel: $(uname -r)"
	echo "perf: $(perf version)"
	echo "trace-cmd: $(trace-cmd --version 2>&1 | grep -m1 version)"
	echo "perf record $perf_opts"
	echo "trace-cmd record $tc_opts"
	echo "bqlsim $*"
} >"$out/record.txt"
ls -l "$out"
