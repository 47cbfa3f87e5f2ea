#!/bin/sh
# demo.sh - from a fresh Debian 12 (root) to a first look at a capture:
# installs missing packages, builds waitchain (build/), imports a bundled
# sample capture into a case database and prints its summary (and the
# report, when the report command is built in).
#
#   ./tools/demo.sh [CAPTURE]     default: samples/bql-stacks/capture.trace.dat
#   WC_BUILD=DIR                  build directory (default build)
set -eu
cd "$(dirname "$0")/.."
. tools/deps.sh
wc_install_deps

jobs=$(nproc 2>/dev/null || echo 2)
build=${WC_BUILD:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWC_TESTS=OFF >/dev/null
cmake --build "$build" -j"$jobs" >/dev/null
wc=$build/waitchain

capture=${1:-samples/bql-stacks/capture.trace.dat}
mkdir -p "$build/demo"
db=$build/demo/$(basename "$capture").db
"$wc" import "$capture" -o "$db" --force
echo
"$wc" info "$db"
if "$wc" report --help >/dev/null 2>&1; then
	echo
	"$wc" report "$db"
fi
echo
echo "case database: $db   (try: $wc sql $db, $wc query --list)"
