#!/bin/sh
# demo.sh - from a fresh Debian 12 (root) to a first look at a capture:
# installs missing packages, builds waitchain (build/), imports a bundled
# sample capture into a case database, prints its summary and the text
# report, and writes the self-contained HTML timeline report.
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
echo
"$wc" report "$db"
html=$build/demo/report.html
"$wc" report "$db" -o "$html"
echo
echo "case database: $db   (try: $wc sql $db, $wc query --list)"
echo "HTML report:   $html   (open it in any browser; it needs nothing else)"
