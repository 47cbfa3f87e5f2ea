#!/bin/sh
# lint.sh - static analysis of waitchain's C sources; fails on any finding.
#
#   tools/lint.sh [BUILD_DIR]
#
# Runs clang-tidy (checks in .clang-tidy: bugprone-*, cert-*,
# clang-analyzer-*, with justified exclusions) and cppcheck (warning,
# portability; suppressions with reasons in tests/cppcheck.supp) over
# src/ importers/ analyzer/ report/, using BUILD_DIR/compile_commands.json
# (configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON; default build dir:
# build).  Exit 0 when both are clean, 1 otherwise (findings on stdout).
# Needs clang-tidy 14 (run-clang-tidy) and cppcheck 2.10.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
db=$build/compile_commands.json
[ -f "$db" ] || { echo "lint.sh: no $db (cmake -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)" >&2; exit 2; }
jobs=$(nproc 2>/dev/null || echo 2)
tidy=$(command -v run-clang-tidy-14 || command -v run-clang-tidy)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0

# clang-tidy: only our four source directories (tests and generated
# embedded_*.c are skipped by the regex)
if ! "$tidy" -quiet -p "$build" -j "$jobs" \
	"$src/(src|importers|analyzer|report)/[^/]*\.c\$" >"$out/tidy" 2>&1; then
	status=1
fi
# run-clang-tidy exits 0 on some versions even with errors: grep too
if grep -E '(warning|error): ' "$out/tidy" | grep -v 'warnings generated' \
	| sed 's/\x1b\[[0-9;]*m//g' | sort -u >"$out/tidy.findings" &&
   [ -s "$out/tidy.findings" ]; then
	echo "== clang-tidy findings"
	cat "$out/tidy.findings"
	status=1
fi

# cppcheck makes the paths of a project file that lives inside the source
# tree (build/ci/normal) relative, and then no --file-filter matches: give
# it a copy outside the tree.
cp "$db" "$out/compile_commands.json"
if ! cppcheck --project="$out/compile_commands.json" --enable=warning,portability --inline-suppr \
	--std=c11 --quiet --error-exitcode=1 -j "$jobs" \
	--suppressions-list="$src/tests/cppcheck.supp" \
	--file-filter="$src/src/*" --file-filter="$src/importers/*" \
	--file-filter="$src/analyzer/*" --file-filter="$src/report/*" \
	--template='{file}:{line}: {severity}: {id}: {message}' \
	>"$out/cppcheck" 2>&1; then
	echo "== cppcheck findings"
	cat "$out/cppcheck"
	status=1
fi
[ $status = 0 ] && echo "lint.sh: clang-tidy and cppcheck clean"
exit $status
