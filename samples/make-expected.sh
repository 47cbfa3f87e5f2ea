#!/bin/bash
# samples/make-expected.sh samples/NAME
#
# Regenerates the expected_* files (and kallsyms[.zst]) of one sample
# directory from the peer tools (trace-cmd, perf), independently of waitchain.
# Run from the repository root. Idempotent: every output is rewritten.
#
#   expected_tracecmd.csv    event,tid,count   from `trace-cmd report -t`
#   expected_perf.csv        event,tid,count   from `perf script -F tid,cpu,time,event --ns`
#   expected_meta.txt        key=value facts about both files
#   expected_window.csv      tool,event,tid,count,window_start_ns,window_end_ns
#   kallsyms / kallsyms.zst  the kallsyms embedded in capture.trace.dat
#                            (samples with stacks only)
#   expected_perf_stacks.txt first 30 futex-wait sched_switch samples of the
#                            first vCPU, symbolized with that kallsyms
#                            (samples with stacks only)
#
# See samples/README.md for what each file means.
# Needs bash, python3, trace-cmd (3.x), perf, zstd.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 samples/NAME" >&2; exit 2; }
dir=${1%/}
td=$dir/capture.trace.dat
pd=$dir/capture.perf.data
for f in "$td" "$pd" "$dir/threads.csv"; do
	[ -f "$f" ] || { echo "$0: missing $f" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/make-expected.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C

# -f: perf refuses files not owned by the current user without it.
perf=(perf)

# ---- raw material from the peer tools --------------------------------------
trace-cmd dump --summary -i "$td" >"$tmp/tc-summary.txt" 2>&1
trace-cmd dump --options -i "$td" >"$tmp/tc-options.txt" 2>&1
trace-cmd report -t -i "$td" >"$tmp/tc-report.txt" 2>"$tmp/tc-report.err"
# Same report without plugins: must give the same event/tid/timestamp stream.
trace-cmd report -t -N -i "$td" >"$tmp/tc-report-N.txt" 2>/dev/null

"${perf[@]}" report -f --header-only -i "$pd" >"$tmp/perf-header.txt" 2>&1
"${perf[@]}" report -f -D -i "$pd" 2>/dev/null |
	sed -n '/^Aggregated stats:/,$p' >"$tmp/perf-stats.txt"
"${perf[@]}" script -f -i "$pd" -F tid,cpu,time,event --ns \
	>"$tmp/perf-script.txt" 2>"$tmp/perf-script.err"

stacks=0
grep -q -- ' -T' "$dir/record.txt" 2>/dev/null && stacks=1
grep -aq ' kernel_stack: ' "$tmp/tc-report.txt" && stacks=1

# ---- kallsyms ---------------------------------------------------------------
rm -f "$dir/kallsyms" "$dir/kallsyms.zst"
if [ $stacks = 1 ]; then
	# `dump --kallsyms` prints two "\t[...]" header lines, then the file as
	# saved, then an empty line.
	trace-cmd dump --kallsyms -i "$td" 2>/dev/null |
		sed -e '/^\t\[/d' -e '/^$/d' >"$tmp/kallsyms"
	want=$(sed -n 's/^\t\[Kallsyms, \([0-9]*\) bytes\]$/\1/p' "$tmp/tc-summary.txt")
	got=$(wc -c <"$tmp/kallsyms")
	[ "$want" = "$got" ] || { echo "$0: kallsyms is $got bytes, summary says $want" >&2; exit 1; }
	bad=$(grep -cvE $'^[0-9a-f]+ [a-zA-Z] [^ \t]+(\t\\[[^]]+\\])?$' "$tmp/kallsyms" || true)
	[ "$bad" = 0 ] || { echo "$0: $bad kallsyms lines not in /proc/kallsyms format" >&2; exit 1; }
	if [ "$got" -gt 512000 ]; then
		zstd -q -19 -f "$tmp/kallsyms" -o "$dir/kallsyms.zst"
	else
		cp "$tmp/kallsyms" "$dir/kallsyms"
	fi
fi

# ---- expected_perf_stacks.txt ------------------------------------------------
rm -f "$dir/expected_perf_stacks.txt"
if [ $stacks = 1 ]; then
	# first vCPU: "CPU 0/KVM" if present, else the first thread of role vcpu
	vtid=$(awk -F, 'NR > 1 && $2 == "CPU 0/KVM" { print $1; exit }' "$dir/threads.csv")
	[ -n "$vtid" ] || vtid=$(awk -F, 'NR > 1 && $NF == "vcpu" { print $1; exit }' "$dir/threads.csv")
	"${perf[@]}" script -f -i "$pd" --kallsyms "$tmp/kallsyms" --tid "$vtid" \
		-F tid,time,event,trace --ns >"$tmp/perf-vcpu-trace.txt" 2>/dev/null
	"${perf[@]}" script -f -i "$pd" --kallsyms "$tmp/kallsyms" --tid "$vtid" \
		-F tid,time,event,ip,sym --ns >"$tmp/perf-vcpu-stacks.txt" 2>/dev/null
	python3 - "$tmp/perf-vcpu-trace.txt" "$tmp/perf-vcpu-stacks.txt" \
		>"$dir/expected_perf_stacks.txt" <<'EOF'
import re, sys
# times (ns strings) of sched_switch samples with prev_state=S
sleeps = set()
for line in open(sys.argv[1], encoding='latin-1'):
    m = re.match(r'\s*(\d+)\s+(\d+\.\d+):\s+sched:sched_switch:.*\bprev_state=S ', line)
    if m:
        sleeps.add(m.group(2))
blocks = open(sys.argv[2], encoding='latin-1').read().split('\n\n')
out = []
for b in blocks:
    b = b.strip('\n')
    lines = b.split('\n')
    m = re.match(r'\s*(\d+)\s+(\d+\.\d+):\s+sched:sched_switch:', lines[0])
    if not m or m.group(2) not in sleeps:
        continue
    if not any(re.search(r' futex_wait$', l) for l in lines[1:]):
        continue
    out.append(b)
    if len(out) == 30:
        break
sys.stdout.write('\n\n'.join(out) + '\n')
EOF
fi

# ---- everything else --------------------------------------------------------
python3 - "$dir" "$tmp" "$stacks" <<'EOF'
import collections, os, re, sys

d, tmp, stacks = sys.argv[1], sys.argv[2], sys.argv[3] == '1'

def rd(name):
    return open(os.path.join(tmp, name), encoding='latin-1').read()

def ns(ts):
    s, f = ts.split('.')
    assert len(f) == 9, ts
    return int(s) * 1000000000 + int(f)

# --- trace-cmd report -t ---
# Event lines: "%16s-%-5d [%03d] %s.%09d: %s: ...". Comm may contain anything
# (spaces, '-', control characters), so match the first "-PID [CPU] TS: NAME:"
# structure. Stack lines start with "=> " and belong to the kernel_stack event
# line before them.
head = re.compile(r'^(.*?)-(\d+)\s+\[(\d{3})\]\s+(\d+\.\d{9}): ([A-Za-z0-9_]+):')

def parse_tc(text):
    evs = []
    other = []
    for line in text.split('\n'):
        if line == '' or line.startswith('=> ') or line.startswith('cpus='):
            continue
        m = head.match(line)
        if not m:
            other.append(line)
            continue
        evs.append((m.group(5), int(m.group(2)), int(m.group(3)), ns(m.group(4))))
    return evs, other

tc, tc_other = parse_tc(rd('tc-report.txt'))
tcN, _ = parse_tc(rd('tc-report-N.txt'))
assert [(e, t, c, s) for e, t, c, s in tc] == [(e, t, c, s) for e, t, c, s in tcN], \
    'trace-cmd report with and without plugins disagree'
if tc_other:
    print('unparsed trace-cmd lines:', tc_other[:5], file=sys.stderr)
    sys.exit(1)
stack_lines = sum(1 for l in rd('tc-report.txt').split('\n') if l.startswith('=> '))

# --- perf script -F tid,cpu,time,event --ns ---
pline = re.compile(r'^\s*(-?\d+)\s+\[(\d{3})\]\s+(\d+\.\d{9}):\s+([A-Za-z0-9_]+):([A-Za-z0-9_]+):\s*$')
pf = []
for line in rd('perf-script.txt').split('\n'):
    if not line:
        continue
    m = pline.match(line)
    if not m:
        print('unparsed perf line:', repr(line), file=sys.stderr)
        sys.exit(1)
    pf.append((m.group(5), int(m.group(1)), int(m.group(2)), ns(m.group(3))))

def write_counts(path, evs):
    per = collections.Counter((e, t) for e, t, _, _ in evs)
    tot = collections.Counter(e for e, _, _, _ in evs)
    with open(path, 'w') as f:
        f.write('event,tid,count\n')
        for e in sorted(tot):
            for (e2, t) in sorted(k for k in per if k[0] == e):
                f.write('%s,%d,%d\n' % (e, t, per[(e, t)]))
            f.write('%s,*,%d\n' % (e, tot[e]))
    return tot

tc_tot = write_counts(os.path.join(d, 'expected_tracecmd.csv'), tc)
pf_tot = write_counts(os.path.join(d, 'expected_perf.csv'), pf)

# --- meta ---
meta = []
def put(k, v):
    meta.append('%s=%s' % (k, v))

summ = rd('tc-summary.txt')
opts = rd('tc-options.txt')
put('tracedat_file', 'capture.trace.dat')
put('tracedat_version', re.search(r'^\t\t(\d+)\t\[Version\]', summ, re.M).group(1))
m = re.search(r'^\t\t(\S+)\t\[Compression algorithm\]', summ, re.M)
put('tracedat_compression', m.group(1) if m else 'none')
m = re.search(r'^\t\t(\S+)\t\[Compression version\]', summ, re.M)
if m:
    put('tracedat_compression_version', m.group(1))
bufs = re.findall(r'^\t\[buffer "([^"]*)", "([^"]*)" clock, (\d+) page size, (\d+) cpus, (\d+) bytes flyrecord data\]', summ, re.M)
if bufs:     # version 7
    put('tracedat_buffers', len(bufs))
    for i, (name, clock, page, cpus, size) in enumerate(bufs):
        put('tracedat_buffer%d' % i, '"%s" clock=%s cpus=%s flyrecord_bytes=%s' % (name, clock, cpus, size))
    put('tracedat_cpus', bufs[0][3])
    put('tracedat_clock', bufs[0][1])
else:        # version 6: no instances recorded (no BUFFER options)
    named = re.findall(r'Option BUFFER', opts)
    put('tracedat_buffers', 1 + len(named))
    put('tracedat_cpus', re.search(r'^\t(\d+) \[CPUs with tracing data\]', summ, re.M).group(1))
    put('tracedat_clock', re.search(r'\[Tracing clock\]\n\t\t\[(\w+)\]', summ).group(1))
put('tracedat_page_size', re.search(r'^\t\t(\d+)\t\[Page size, bytes\]', summ, re.M).group(1))
put('tracedat_kallsyms_bytes', re.search(r'\[Kallsyms, (\d+) bytes\]', summ).group(1))
m = re.search(r'\[Saved command lines, (\d+) bytes\]', summ)
put('tracedat_cmdlines_bytes', m.group(1) if m else 0)
m = re.search(r'^\t\t\[Option UNAME, \d+ bytes\]\n(.*)$', opts, re.M)
if m:
    put('tracedat_uname', m.group(1))
m = re.search(r'^\t\t\[Option VERSION, \d+ bytes\]\n(.*)$', opts, re.M)
if m:
    put('tracedat_tracecmd_version', m.group(1))
cpustat = re.findall(r'^CPU: (\d+)\nentries: (\d+)\noverrun: (\d+)\ncommit overrun: (\d+)\nbytes: \d+\noldest event ts: .*\nnow ts: .*\ndropped events: (\d+)', opts, re.M)
if cpustat:
    put('tracedat_cpustat_entries', sum(int(c[1]) for c in cpustat))
    put('tracedat_cpustat_overrun', sum(int(c[2]) for c in cpustat))
    put('tracedat_cpustat_dropped', sum(int(c[4]) for c in cpustat))
put('tracedat_first_ns', min(s for *_, s in tc))
put('tracedat_last_ns', max(s for *_, s in tc))
put('tracedat_events', len(tc))
put('tracedat_events_without_kernel_stack', len(tc) - tc_tot.get('kernel_stack', 0))
for e in sorted(tc_tot):
    put('tracedat_events_%s' % e, tc_tot[e])
put('tracedat_kernel_stack_frames', stack_lines)
cpus_seen = sorted(set(c for _, _, c, _ in tc))
put('tracedat_cpus_with_events', ','.join(map(str, cpus_seen)))

hdr = rd('perf-header.txt')
def hv(key):
    m = re.search(r'^# %s\s*: (.*)$' % re.escape(key), hdr, re.M)
    return m.group(1).strip() if m else ''
put('perf_file', 'capture.perf.data')
put('perf_hostname', hv('hostname'))
put('perf_os_release', hv('os release'))
put('perf_version', hv('perf version'))
put('perf_arch', hv('arch'))
put('perf_nrcpus_online', hv('nrcpus online'))
put('perf_nrcpus_avail', hv('nrcpus avail'))
put('perf_clockid', hv('clockid'))
put('perf_header_first_sample', hv('time of first sample'))
put('perf_header_last_sample', hv('time of last sample'))
c = hv('compressed')
put('perf_compressed', c if c else 'no')
put('perf_first_ns', min(s for *_, s in pf))
put('perf_last_ns', max(s for *_, s in pf))
put('perf_samples', len(pf))
for e in sorted(pf_tot):
    put('perf_samples_%s' % e, pf_tot[e])
stats = rd('perf-stats.txt')
agg = stats.split('stats:\n', 2)[1] if 'Aggregated stats:' in stats else ''
rec = dict(re.findall(r'^\s*([A-Z0-9_]+) events:\s+(\d+)', agg.split(' stats:')[0], re.M))
for k in ('TOTAL', 'SAMPLE', 'LOST', 'LOST_SAMPLES', 'COMM', 'FORK', 'EXIT', 'MMAP', 'MMAP2', 'COMPRESSED', 'FINISHED_ROUND'):
    put('perf_records_%s' % k, rec.get(k, 0))
for k in sorted(rec):
    if k not in ('TOTAL', 'SAMPLE', 'LOST', 'LOST_SAMPLES', 'COMM', 'FORK', 'EXIT', 'MMAP', 'MMAP2', 'COMPRESSED', 'FINISHED_ROUND'):
        put('perf_records_%s' % k, rec[k])
# per-event SAMPLE counts from perf's own stats must match perf script
for ev, n in re.findall(r'^\S+:(\S+) stats:\n\s+SAMPLE events:\s+(\d+)', stats, re.M):
    if ev != 'HG' and int(n) != pf_tot.get(ev, 0):
        print('perf stats say %s %s samples, perf script %d' % (ev, n, pf_tot.get(ev, 0)), file=sys.stderr)
        sys.exit(1)
assert int(rec.get('SAMPLE', 0)) == len(pf), (rec.get('SAMPLE'), len(pf))

# --- overlap window ---
ws = max(min(s for *_, s in tc), min(s for *_, s in pf))
we = min(max(s for *_, s in tc), max(s for *_, s in pf))
put('window_start_ns', ws)
put('window_end_ns', we)
put('window_ns', we - ws)

tids = []
for line in open(os.path.join(d, 'threads.csv'), encoding='latin-1').read().split('\n')[1:]:
    if line:
        tids.append(int(line.split(',', 1)[0]))
wevents = ('sched_switch', 'sched_waking', 'sys_enter_futex', 'sys_exit_futex')
rows = []
diff = 0
counts = {}
for tool, evs in (('trace-cmd', tc), ('perf', pf)):
    cnt = collections.Counter((e, t) for e, t, _, s in evs if ws <= s <= we)
    counts[tool] = cnt
    for e in wevents:
        for t in tids:
            rows.append('%s,%s,%d,%d,%d,%d' % (tool, e, t, cnt[(e, t)], ws, we))
for e in wevents:
    for t in tids:
        if counts['trace-cmd'][(e, t)] != counts['perf'][(e, t)]:
            diff += 1
            print('window disagreement: %s tid %d trace-cmd %d perf %d' % (
                e, t, counts['trace-cmd'][(e, t)], counts['perf'][(e, t)]), file=sys.stderr)
put('window_disagreements', diff)
with open(os.path.join(d, 'expected_window.csv'), 'w') as f:
    f.write('tool,event,tid,count,window_start_ns,window_end_ns\n')
    f.write('\n'.join(rows) + '\n')

with open(os.path.join(d, 'expected_meta.txt'), 'w') as f:
    f.write('\n'.join(meta) + '\n')
EOF
ls -l "$dir"
