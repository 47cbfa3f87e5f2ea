#!/bin/bash
# samples/multibuf/make-expected.sh - ground truth for the multi-buffer
# samples, from `trace-cmd report -t` (independent of waitchain).
#
# Recorded with trace-cmd 3.1.6 (v7, zstd) as root, in a private mount
# namespace where /proc/kallsyms was bind-mounted over by kallsyms.small
# (16 real symbols) to keep the files tiny (see record.txt):
#   capture.trace.dat   trace-cmd record -C mono -B inst -C mono -e ... sleep 0.1
#                       (top buffer empty, events in instance "inst")
#   capture2.trace.dat  trace-cmd record -C mono -e sched:sched_switch \
#                         -B inst -C mono -e sched:sched_waking -e ... sleep 0.1
#                       (events in both buffers)
#   capture2-zlib.trace.dat  capture2 converted to v7 + zlib by zlib-convert.c
#                       (trace-cmd convert --compression zlib needs a
#                       libtracecmd with zlib; Debian's has none)
#
# Writes, per capture NAME (capture, capture2):
#   NAME.expected_tracecmd.csv  event,tid,count (rows with tid * are totals)
#   NAME.expected_sequence.csv  buffer,ts_ns,cpu,tid,event in report order
#                               (trace-cmd merges buffers by timestamp)
set -euo pipefail
cd "$(dirname "$0")"
export LC_ALL=C
for name in capture capture2; do
	trace-cmd report -t -i $name.trace.dat 2>/dev/null | python3 -c '
import collections, re, sys
head = re.compile(r"^(?:(\S+):)?\s*(.*?)-(\d+)\s+\[(\d{3})\]\s+(\d+)\.(\d{9}): ([A-Za-z0-9_]+):")
seq = []
for line in sys.stdin:
    line = line.rstrip("\n")
    if not line or line.startswith("cpus=") or line.startswith("=> "):
        continue
    m = head.match(line)
    if not m:
        sys.exit("unparsed: " + line)
    buf = m.group(1) or ""
    seq.append((buf, int(m.group(5)) * 1000000000 + int(m.group(6)),
                int(m.group(4)), int(m.group(3)), m.group(7)))
name = sys.argv[1]
with open(name + ".expected_sequence.csv", "w") as f:
    f.write("buffer,ts_ns,cpu,tid,event\n")
    for s in seq:
        f.write("%s,%d,%d,%d,%s\n" % s)
per = collections.Counter((e, t) for _, _, _, t, e in seq)
tot = collections.Counter(e for _, _, _, _, e in seq)
with open(name + ".expected_tracecmd.csv", "w") as f:
    f.write("event,tid,count\n")
    for e in sorted(tot):
        for (e2, t) in sorted(k for k in per if k[0] == e):
            f.write("%s,%d,%d\n" % (e, t, per[(e, t)]))
        f.write("%s,*,%d\n" % (e, tot[e]))
' $name
done
