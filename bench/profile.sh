#!/bin/sh
# bench/profile.sh - where does `waitchain import` (and analyze) spend its time?
#
# Usage: bench/profile.sh FILE [OUTDIR]
#   1. perf record (flat, -F 999, no callchain) of `waitchain import FILE`: self time per
#      function and DSO (sqlite vs libtraceevent vs ours), cheap enough for the 10 M files;
#   2. perf record --call-graph dwarf of the same (children time), on FILE as well: keep FILE
#      small (the calib-* recordings, ~200 k events) or the perf.data gets huge;
#   3. the same flat profile for `waitchain analyze` on the resulting database.
# Set WC_PROFILE_CALLGRIND=1 to also run valgrind --tool=callgrind (exact inclusive costs,
# ~50x slower: small files only). Uses the binary in ${WC_BIN:-/tmp/build-bench-prof/waitchain}
# (built here RelWithDebInfo with frame pointers unless WC_BIN is set).
# Writes OUTDIR/{import,analyze}.flat.txt, import.children.txt, callgrind.* .
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
file=$1
out=${2:-${WC_BENCH_CACHE:-/var/tmp/waitchain-bench}/profile}
mkdir -p "$out"
bin=${WC_BIN:-}
if [ -z "$bin" ]; then
	b=/tmp/build-bench-prof
	cmake -S "$repo" -B $b -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWC_TESTS=OFF \
		-DCMAKE_C_FLAGS="-fno-omit-frame-pointer" >/dev/null
	cmake --build $b -j"$(nproc)" --target waitchain >/dev/null
	bin=$b/waitchain
fi
db=$out/profile.db
rm -f "$db"
perf record -q -F 999 -o "$out/import.perf" -- "$bin" import "$file" -o "$db" >/dev/null
perf report -i "$out/import.perf" --no-children --sort dso,sym --percent-limit 0.5 --stdio 2>/dev/null \
	| grep -v '^$' >"$out/import.flat.txt"
perf report -i "$out/import.perf" --no-children --sort dso --stdio 2>/dev/null | grep -v '^$' \
	>"$out/import.dso.txt"
if [ "${WC_PROFILE_CHILDREN:-1}" = 1 ]; then
	rm -f "$db"
	perf record -q -F 499 --call-graph dwarf,16384 -o "$out/import.dwarf.perf" -- \
		"$bin" import "$file" -o "$db" >/dev/null
	perf report -i "$out/import.dwarf.perf" --children --sort sym --percent-limit 2 --stdio \
		-g none 2>/dev/null | grep -v '^$' >"$out/import.children.txt"
fi
perf record -q -F 999 -o "$out/analyze.perf" -- "$bin" analyze "$db" >/dev/null
perf report -i "$out/analyze.perf" --no-children --sort dso,sym --percent-limit 0.5 --stdio 2>/dev/null \
	| grep -v '^$' >"$out/analyze.flat.txt"
if [ "${WC_PROFILE_CALLGRIND:-0}" = 1 ]; then
	rm -f "$db"
	valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
		"$bin" import "$file" -o "$db" >/dev/null 2>"$out/callgrind.log"
	callgrind_annotate --inclusive=yes "$out/callgrind.out" 2>/dev/null | head -60 \
		>"$out/callgrind.inclusive.txt"
	callgrind_annotate "$out/callgrind.out" 2>/dev/null | head -50 >"$out/callgrind.self.txt"
fi
for f in import.dso.txt import.flat.txt import.children.txt analyze.flat.txt callgrind.inclusive.txt; do
	[ -f "$out/$f" ] && { echo "== $f"; grep -v '^#' "$out/$f" | head -40; }
done
