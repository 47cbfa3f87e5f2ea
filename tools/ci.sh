#!/bin/sh
# ci.sh - the full test suite, as CI runs it, on a fresh Debian 12 (root):
# installs missing packages, then builds and tests:
#   1. -DWC_WERROR=ON                     build + ctest, then tools/lint.sh
#                                         (clang-tidy + cppcheck, must be clean)
#   2. clang -DWC_FUZZ=ON                 each libFuzzer harness for
#                                         WC_FUZZ_SECONDS (default 60) s
#   3. -DWC_SANITIZE=ON -DWC_WERROR=ON    ASan+UBSan build + ctest
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

echo "== build 1/3: -DWC_WERROR=ON" >&2
cmake -S . -B "$root/normal" -DWC_WERROR=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >&2
cmake --build "$root/normal" -j"$jobs" >&2
ctest --test-dir "$root/normal" --output-on-failure -j"$jobs"
echo "== lint: clang-tidy + cppcheck" >&2
tools/lint.sh "$root/normal"

echo "== build 2/3: libFuzzer harnesses (clang), ${WC_FUZZ_SECONDS:-60} s each" >&2
CC=clang cmake -S . -B "$root/fuzz" -DWC_FUZZ=ON -DWC_TESTS=OFF \
	-DWC_FUZZ_SECONDS="${WC_FUZZ_SECONDS:-60}" >&2
cmake --build "$root/fuzz" -j"$jobs" >&2
ctest --test-dir "$root/fuzz/tests/fuzz" --output-on-failure

echo "== build 3/3: -DWC_SANITIZE=ON -DWC_WERROR=ON" >&2
cmake -S . -B "$root/sanitize" -DWC_SANITIZE=ON -DWC_WERROR=ON >&2
cmake --build "$root/sanitize" -j"$jobs" >&2
# tests/lsan.supp: leaks inside system libraries (documented there)
# fast_unwind_on_malloc=0: libtracecmd has no frame pointers, and its
# suppressions name its functions
ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 \
LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0" \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ctest --test-dir "$root/sanitize" --output-on-failure -j"$jobs"
