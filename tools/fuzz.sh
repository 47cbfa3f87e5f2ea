#!/bin/sh
# fuzz.sh - runs one libFuzzer harness for a bounded time (CI and by hand).
#
#   tools/fuzz.sh NAME [SECONDS] [BINDIR]
#
# NAME is a harness (fuzz_perf_data, fuzz_trace_dat, fuzz_input,
# fuzz_analyze), SECONDS the time budget (default 60), BINDIR where the
# harness binaries are (default build-fuzz/tests/fuzz; configure that build
# with CC=clang cmake -DWC_FUZZ=ON -DWC_TESTS=OFF).
#
# Inputs: the committed seeds tests/fuzz/corpus/SHORT and the regressions
# tests/fuzz/regressions/SHORT (SHORT = NAME without "fuzz_"); new inputs
# go to $WC_FUZZ_WORK/SHORT/corpus (default BINDIR/fuzz-work), never into
# the source tree.  On a crash, the artifact is minimized
# (-minimize_crash=1 -exact_artifact_path) into
# tests/fuzz/regressions/SHORT/crash-SHA1 (replayed by the unit test
# tests/unit/test_fuzz_regressions.c once fixed) and the script fails.
# Extra libFuzzer flags: WC_FUZZ_FLAGS (e.g. "-jobs=2 -workers=2").
set -eu
name=${1:?usage: tools/fuzz.sh NAME [SECONDS] [BINDIR]}
secs=${2:-60}
src=$(cd "$(dirname "$0")/.." && pwd)
bindir=${3:-$src/build-fuzz/tests/fuzz}
short=${name#fuzz_}
bin=$bindir/$name
[ -x "$bin" ] || { echo "fuzz.sh: no harness $bin (build with -DWC_FUZZ=ON)" >&2; exit 2; }
work=${WC_FUZZ_WORK:-$bindir/fuzz-work}/$short
seeds=$src/tests/fuzz/corpus/$short
regs=$src/tests/fuzz/regressions/$short
mkdir -p "$work/corpus" "$work/artifacts" "$regs"
case $short in
	analyze) maxlen=8192 ;;
	input) maxlen=65536 ;;
	*) maxlen=262144 ;;
esac
dirs="$work/corpus"
[ -d "$seeds" ] && dirs="$dirs $seeds"
dirs="$dirs $regs"
export LSAN_OPTIONS="suppressions=$src/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# full malloc stacks (system libraries have no frame pointers), so that the
# suppressions can name library functions (tests/fuzz/lsan.supp)
export ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export WAITCHAIN_NO_PROC_KALLSYMS=1
log=$work/fuzz.log
status=0
# shellcheck disable=SC2086
"$bin" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2560 \
	-max_len="$maxlen" -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" ${WC_FUZZ_FLAGS:-} $dirs \
	>"$log" 2>&1 || status=$?
grep -E '^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs)' "$log" || true
tail -n 3 "$log" | grep -E 'cov:|ft:' || grep -E 'cov:' "$log" | tail -n 1 || true
if [ "$status" -ne 0 ]; then
	echo "fuzz.sh: $name failed (exit $status); log: $log" >&2
	tail -n 60 "$log" >&2
	for a in "$work"/artifacts/crash-* "$work"/artifacts/leak-* \
		 "$work"/artifacts/timeout-* "$work"/artifacts/oom-*; do
		[ -f "$a" ] || continue
		sum=$(sha1sum "$a" | cut -c1-16)
		kind=$(basename "$a" | cut -d- -f1)
		out=$regs/$kind-$sum
		"$bin" -minimize_crash=1 -runs=20000 -max_total_time=120 \
			-exact_artifact_path="$out" "$a" >"$work/minimize.log" 2>&1 || true
		[ -f "$out" ] || cp "$a" "$out"
		echo "fuzz.sh: regression input saved to $out (commit it with the fix)" >&2
		rm -f "$a"
	done
	exit 1
fi
exit 0
