#!/bin/sh
# bench/record.sh - makes (or reuses) the large recordings the benchmark runs on.
#
# Recordings are cached outside the repository, in ${WC_BENCH_CACHE:-/var/tmp/waitchain-bench},
# one directory per variant holding capture.perf.data and capture.trace.dat recorded at the same
# time (so both formats hold the same history) plus record.txt and events.txt (event counts from
# `perf report --stats` / `trace-cmd report --stat`). A variant whose directory has a complete
# events.txt is reused, never re-recorded (delete the directory to redo it).
#
# Variants (NAME = SOURCE-STACKS-COMPRESSION):
#   bql-nostacks-v6   bqlsim -v 8 -w 4 -g 2, no callchains, perf.data plain, trace.dat v6 (uncompressed)
#   bql-stacks-v6     same with perf -g and trace-cmd -T
#   bql-nostacks-zstd perf -z, trace.dat v7 (zstd, trace-cmd's default compression)
#   bql-stacks-zstd   perf -g -z, trace-cmd -T, v7 zstd
#   msg-nostacks-v6   `perf bench sched messaging` with the same event list
#   msg-stacks-zstd   same, with callchains and compression
#
# Each variant's duration is tuned to reach about WC_BENCH_EVENTS (default 10 000 000) events:
# a short calibration run measures the rate first (its result is kept in calib-*/).
#
# Usage: bench/record.sh [VARIANT...]        (default: all of the above)
# Needs root, perf, trace-cmd. Only one trace-cmd record can run on a machine at a time: a failed
# recording is retried (WC_BENCH_RETRIES, default 3) after a pause.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${WC_BENCH_CACHE:-/var/tmp/waitchain-bench}
target=${WC_BENCH_EVENTS:-10000000}
retries=${WC_BENCH_RETRIES:-3}
bqlopts=${WC_BENCH_BQLSIM:-"-v 8 -w 4 -g 2"}
mkdir -p "$cache"

log() { echo "record: $*" >&2; }

# perf_samples FILE: number of SAMPLE records in a perf.data
perf_samples() {
	perf report --stats -i "$1" 2>/dev/null | awk '/^ *SAMPLE events:/ { print $3; exit }'
}
# tc_events FILE: number of events in a trace.dat (sum of "read events" over CPUs)
tc_events() {
	trace-cmd report --stat "$1" 2>/dev/null | awk '/^read events:/ { n += $3 } END { print n + 0 }'
}

# flags_of VARIANT: options for tools/record.sh
flags_of() {
	f=""
	case $1 in *-nostacks-*) f="$f --no-stacks" ;; esac
	case $1 in *-v6) f="$f --v6" ;; *-zstd) f="$f --zstd" ;; esac
	echo "$f"
}

# record_msg OUTDIR FLAGS LOOPS: record `perf bench sched messaging` like tools/record.sh records
# bqlsim (same events, CLOCK_MONOTONIC, perf inside trace-cmd so both see the same run).
record_msg() {
	out=$1; flags=$2; loops=$3
	tracefs=/sys/kernel/tracing
	[ -e $tracefs/available_events ] || mount -t tracefs nodev $tracefs
	events="sched:sched_switch sched:sched_wakeup sched:sched_wakeup_new sched:sched_waking"
	events="$events sched:sched_process_fork sched:sched_process_exit task:task_rename"
	events="$events syscalls:sys_enter_futex syscalls:sys_exit_futex"
	popts="-a -k CLOCK_MONOTONIC -e $(echo $events | tr ' ' ',')"
	topts="-C mono"
	for e in $events; do topts="$topts -e $e"; done
	case $flags in
	*--no-stacks*) echo 0 >$tracefs/options/stacktrace 2>/dev/null || true ;;
	*) popts="$popts -g"; topts="$topts -T" ;;
	esac
	case $flags in *--zstd*) popts="$popts -z" ;; esac
	case $flags in *--v6*) topts="$topts --file-version 6" ;; esac
	mkdir -p "$out"
	work=$(mktemp -d /tmp/wcbench-msg.XXXXXX)
	# same sandbox workaround as tools/record.sh (ftrace_enabled / set_ftrace_* may be refused)
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
exec trace-cmd record -q $topts -o capture.trace.dat \
	perf record -q $popts -o capture.perf.data -- \
	perf bench sched messaging -g 10 -l $loops
EOF
	chmod +x "$work/inner.sh"
	rc=0
	unshare -m "$work/inner.sh" >"$out/bench.out" 2>&1 || rc=$?
	rm -rf "$work"
	{
		echo "kernel: $(uname -r)"
		echo "perf: $(perf version)"
		echo "trace-cmd: $(trace-cmd --version 2>&1 | grep -m1 version)"
		echo "perf record $popts"
		echo "trace-cmd record $topts"
		echo "perf bench sched messaging -g 10 -l $loops"
	} >"$out/record.txt"
	return $rc
}

# record_one VARIANT OUTDIR AMOUNT: AMOUNT is bqlsim milliseconds or messaging loops
record_one() {
	v=$1; out=$2; amount=$3
	flags=$(flags_of "$v")
	rm -rf "$out"
	case $v in
	bql-*) sh "$repo/tools/record.sh" "$out" $flags -- $bqlopts -d "$amount" >"$out.log" 2>&1 ;;
	msg-*) record_msg "$out" "$flags" "$amount" ;;
	esac
}

# record_retry VARIANT OUTDIR AMOUNT: record_one, retried when another trace-cmd is busy
record_retry() {
	i=1
	while :; do
		if record_one "$@" && [ -s "$2/capture.perf.data" ] && [ -s "$2/capture.trace.dat" ]; then
			return 0
		fi
		[ $i -ge "$retries" ] && { log "$1: recording failed $i times (see $2.log)"; return 1; }
		log "$1: recording failed, retrying in 20 s"
		i=$((i + 1)); sleep 20
	done
}

variant() {
	v=$1; dir=$cache/$v
	if [ -s "$dir/events.txt" ]; then
		log "$v: cached ($(cat "$dir/events.txt" | tr '\n' ' '))"
		return 0
	fi
	# calibration: measure events per unit (ms of bqlsim, loop of messaging)
	case $v in bql-*) unit=4000 ;; msg-*) unit=20 ;; esac
	cal=$cache/calib-$v
	if [ ! -s "$cal/rate" ]; then
		log "$v: calibrating ($unit units)"
		record_retry "$v" "$cal" "$unit"
		n=$(perf_samples "$cal/capture.perf.data")
		echo "$n $unit" >"$cal/rate"
	fi
	read n unit <"$cal/rate"
	amount=$(( target * unit / (n > 0 ? n : 1) ))
	[ "$amount" -ge 1 ] || amount=1
	log "$v: $n events in $unit units -> recording $amount units for ~$target events"
	record_retry "$v" "$dir" "$amount"
	p=$(perf_samples "$dir/capture.perf.data")
	t=$(tc_events "$dir/capture.trace.dat")
	printf 'perf_samples %s\ntrace_events %s\namount %s\n' "$p" "$t" "$amount" >"$dir/events.txt"
	log "$v: done: perf.data $p samples, trace.dat $t events; $(du -sh "$dir" | cut -f1)"
	df -h "$cache" | tail -1 >&2
}

[ $# -gt 0 ] || set -- bql-nostacks-v6 bql-stacks-v6 bql-nostacks-zstd bql-stacks-zstd msg-nostacks-v6 msg-stacks-zstd
for v in "$@"; do
	variant "$v"
done
