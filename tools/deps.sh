#!/bin/sh
# deps.sh - install the Debian 12 packages waitchain needs, only those
# missing (checked with dpkg -s), running `apt-get update` at most once.
# Sourced by tools/demo.sh and tools/ci.sh; also runnable alone.
#
#   WC_EXTRA_PKGS="clang"  adds packages (e.g. for the fuzz harnesses)

wc_packages="build-essential cmake pkg-config libtraceevent-dev libtracefs-dev
libtracecmd-dev libzstd-dev libsqlite3-dev sqlite3 zlib1g-dev libdw-dev
libelf-dev libcriterion-dev libedit-dev python3 ${WC_EXTRA_PKGS:-}"

# What the test suite runs besides the build (tools/ci.sh sets
# WC_TEST_DEPS=1): peers and compressors the tests compare against, groff
# for the man page check, clang + its runtime for the fuzz harnesses, the
# linters, and Debian's Chromium for the browser test of the HTML report.
wc_test_packages="trace-cmd linux-perf zstd gzip xz-utils groff-base man-db
diffutils coreutils clang libclang-rt-14-dev clang-tidy cppcheck chromium"

wc_install_deps() {
	missing=""
	pkgs=$wc_packages
	[ "${WC_TEST_DEPS:-0}" = 1 ] && pkgs="$pkgs $wc_test_packages"
	# Node.js for the browser test: any node >= 18 on PATH will do
	# (the machine may ship its own); otherwise Debian's.
	if [ "${WC_TEST_DEPS:-0}" = 1 ] && ! command -v npm >/dev/null 2>&1; then
		pkgs="$pkgs nodejs npm"
	fi
	for p in $pkgs; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "deps: installing$missing" >&2
	sudo=""
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null 2>&1 || {
			echo "deps: need root (or sudo) to install:$missing" >&2
			return 1
		}
		sudo=sudo
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q >&2 || return 1
	# shellcheck disable=SC2086  # word splitting of the list is intended
	$sudo apt-get install -y -q --no-install-recommends $missing >&2
}

# npm packages of the browser test (tests/browser/package-lock.json), from
# the npm registry, only when node_modules is missing or stale.
wc_install_npm_deps() {
	dir=tests/browser
	[ -f "$dir/package-lock.json" ] || return 0
	if [ -d "$dir/node_modules" ] &&
	   [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
		return 0
	fi
	echo "deps: npm ci in $dir" >&2
	npm ci --prefix "$dir" --no-audit --no-fund >&2
}

# run directly: just install
case "$0" in
*deps.sh) set -eu; wc_install_deps ;;
esac
