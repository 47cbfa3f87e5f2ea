#!/bin/bash
# samples/overrun/make-expected.sh - ground truth for a capture whose ring
# buffer overflowed, from trace-cmd itself (independent of waitchain).
#
# capture.trace.dat was recorded (trace-cmd 3.1.6, v7 zstd, as root, in a
# private mount namespace with /proc/kallsyms bind-mounted over by
# kallsyms.small to keep it small) with a 4 KiB per-CPU buffer while dd
# made 100000 one-byte write() calls:
#   trace-cmd record -q -C mono -b 4 -e syscalls:sys_enter_write \
#     -e syscalls:sys_exit_write -e sched:sched_switch -o capture.trace.dat \
#     dd if=/dev/zero of=/dev/null bs=1 count=100000
#
# Writes:
#   expected_tracecmd.csv  event,tid,count (tid * = totals) from report
#   expected_dropped.csv   cpu,count for each "CPU:N [X EVENTS DROPPED]"
#                          line of `trace-cmd report`, in order (count
#                          empty when trace-cmd prints no number)
#   expected_cpustat.csv   buffer,cpu,overrun,commit_overrun,dropped from
#                          the CPUSTAT options (`trace-cmd dump --options`)
set -euo pipefail
cd "$(dirname "$0")"
export LC_ALL=C
trace-cmd report -t -i capture.trace.dat 2>/dev/null | python3 -c '
import collections, re, sys
head = re.compile(r"^(.*?)-(\d+)\s+\[(\d{3})\]\s+(\d+)\.(\d{9}): ([A-Za-z0-9_]+):")
drop = re.compile(r"^CPU:(\d+) \[(?:(\d+) )?EVENTS DROPPED\]$")
per = collections.Counter(); tot = collections.Counter(); drops = []
for line in sys.stdin:
    line = line.rstrip("\n")
    if not line or line.startswith("cpus="):
        continue
    m = drop.match(line)
    if m:
        drops.append((int(m.group(1)), m.group(2) or ""))
        continue
    m = head.match(line)
    if not m:
        sys.exit("unparsed: " + line)
    per[(m.group(6), int(m.group(2)))] += 1
    tot[m.group(6)] += 1
with open("expected_tracecmd.csv", "w") as f:
    f.write("event,tid,count\n")
    for e in sorted(tot):
        for (e2, t) in sorted(k for k in per if k[0] == e):
            f.write("%s,%d,%d\n" % (e, t, per[(e, t)]))
        f.write("%s,*,%d\n" % (e, tot[e]))
with open("expected_dropped.csv", "w") as f:
    f.write("cpu,count\n")
    for c, n in drops:
        f.write("%d,%s\n" % (c, n))
'
trace-cmd dump --options -i capture.trace.dat 2>/dev/null | python3 -c '
import re, sys
buf = ""; rows = []; cpu = None; vals = {}
for line in sys.stdin:
    line = line.rstrip("\n")
    m = re.match(r"^Buffer: (.*)$", line)
    if m:
        buf = m.group(1); continue
    m = re.match(r"^CPU: (\d+)$", line)
    if m:
        cpu = int(m.group(1)); vals = {}; continue
    m = re.match(r"^(overrun|commit overrun|dropped events): (\d+)$", line)
    if m and cpu is not None:
        vals[m.group(1)] = int(m.group(2))
        if m.group(1) == "dropped events":
            rows.append((buf, cpu, vals.get("overrun", 0),
                         vals.get("commit overrun", 0), vals[m.group(1)]))
with open("expected_cpustat.csv", "w") as f:
    f.write("buffer,cpu,overrun,commit_overrun,dropped\n")
    for r in rows:
        f.write("%s,%d,%d,%d,%d\n" % r)
'
