#!/bin/sh
# deps.sh - install the Debian 12 packages waitchain needs, only those
# missing (checked with dpkg -s), running `apt-get update` at most once.
# Sourced by tools/demo.sh and tools/ci.sh; also runnable alone.
#
#   WC_EXTRA_PKGS="clang"  adds packages (e.g. for the fuzz harnesses)

wc_packages="build-essential cmake pkg-config libtraceevent-dev libtracefs-dev
libtracecmd-dev libzstd-dev libsqlite3-dev sqlite3 zlib1g-dev libdw-dev
libelf-dev libcriterion-dev libedit-dev python3 ${WC_EXTRA_PKGS:-}"

wc_install_deps() {
	missing=""
	for p in $wc_packages; do
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

# run directly: just install
case "$0" in
*deps.sh) set -eu; wc_install_deps ;;
esac
