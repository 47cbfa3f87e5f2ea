#!/bin/sh
# bench/run.sh - the benchmark: builds waitchain (Release) and bench/floor.c, makes or reuses
# the large recordings (bench/record.sh, cached in ${WC_BENCH_CACHE:-/var/tmp/waitchain-bench}),
# then times waitchain and its peers on them (bench/bench.py) and writes bench/RESULTS.md.
#
# Usage: bench/run.sh [--no-build] [--no-record] [bench.py options: --reps N --variants a,b
#                     --formats perf.data,trace.dat --skip-peers --quick --file F ...]
# Environment: WC_BENCH_BUILD (build dir, default /tmp/build-bench), WC_BENCH_CACHE,
#              WC_BENCH_EVENTS (recording size, default 10000000), WC_BIN (use this binary).
# Exit status 1 if any target FAILs. Needs root (recording), perf, trace-cmd, /usr/bin/time
# (Debian package `time`), python3, cc, sqlite3 headers.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${WC_BENCH_BUILD:-/tmp/build-bench}
do_build=1; do_record=1
while [ $# -gt 0 ]; do
	case $1 in
	--no-build) do_build=0; shift ;;
	--no-record) do_record=0; shift ;;
	*) break ;;
	esac
done
[ -x /usr/bin/time ] || { echo "run.sh: /usr/bin/time missing (apt-get install time)" >&2; exit 2; }
mkdir -p "$build"
if [ $do_build = 1 ] && [ -z "${WC_BIN:-}" ]; then
	cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DWC_TESTS=OFF >/dev/null
	cmake --build "$build" -j"$(nproc)" --target waitchain waitchain_sqlite >/dev/null
fi
cc -O2 -std=c11 -Wall -Wextra -o "$build/wc-floor" "$here/floor.c" $(pkg-config --cflags --libs sqlite3)
[ $do_record = 0 ] || "$here/record.sh"
exec python3 "$here/bench.py" --bin "${WC_BIN:-$build/waitchain}" --floor "$build/wc-floor" "$@"
