#!/bin/bash
# samples/record-sample.sh NAME [record.sh options] [-- bqlsim options]
#
# Records a new sample into samples/NAME with tools/record.sh (root needed;
# bqlsim runs with samples/NAME as its working directory, so e.g.
# `-- -N names.txt` reads samples/NAME/names.txt), makes the files readable
# by everyone, then regenerates the expected_* files with make-expected.sh.
# Run from the repository root. Example:
#   samples/record-sample.sh bql-seed5 -- -d 200 -s 5 -v 2 -w 1
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 NAME [record.sh options] [-- bqlsim options]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
name=$1; shift
case $name in */*|'') echo "$0: NAME must be a plain directory name" >&2; exit 2 ;; esac
dir=$root/samples/$name
mkdir -p "$dir"
# stale outputs of an earlier recording
rm -f "$dir"/capture.perf.data "$dir"/capture.perf.data.old "$dir"/capture.trace.dat \
	"$dir"/threads.csv "$dir"/locks.csv "$dir"/holds.csv "$dir"/waits.csv "$dir"/record.txt
"$root/tools/record.sh" "$dir" "$@"
chmod a+r "$dir"/*
cd "$root"
"$root/samples/make-expected.sh" "samples/$name"
du -sh "$dir"
