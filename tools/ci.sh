#!/bin/sh
# ci.sh - the full test suite, as CI runs it, on a fresh Debian 12 (root):
# installs missing packages, then builds and tests twice:
#   1. -DWC_WERROR=ON                     build + ctest
#   2. -DWC_SANITIZE=ON -DWC_WERROR=ON    ASan+UBSan build + ctest
# Exits non-zero at the first failure.  The last thing printed is ctest's
# summary of the sanitizer run.
#
#   WC_CI_BUILD=DIR    where the two build trees go (default build/ci)
set -eu
cd "$(dirname "$0")/.."
. tools/deps.sh
WC_TEST_DEPS=1
wc_install_deps
wc_install_npm_deps

root=${WC_CI_BUILD:-build/ci}
jobs=$(nproc 2>/dev/null || echo 2)

echo "== build 1/2: -DWC_WERROR=ON" >&2
cmake -S . -B "$root/normal" -DWC_WERROR=ON >&2
cmake --build "$root/normal" -j"$jobs" >&2
ctest --test-dir "$root/normal" --output-on-failure -j"$jobs"

echo "== build 2/2: -DWC_SANITIZE=ON -DWC_WERROR=ON" >&2
cmake -S . -B "$root/sanitize" -DWC_SANITIZE=ON -DWC_WERROR=ON >&2
cmake --build "$root/sanitize" -j"$jobs" >&2
# tests/lsan.supp: leaks inside system libraries (documented there)
ASAN_OPTIONS=detect_leaks=1 \
LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0" \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ctest --test-dir "$root/sanitize" --output-on-failure -j"$jobs"
