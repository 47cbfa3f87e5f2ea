#!/usr/bin/env python3
# samples/compare-tools.py samples/NAME
#
# Explains the disagreements listed in expected_window.csv: pairs every
# sched_switch / sched_waking / sys_enter_futex / sys_exit_futex event of a
# bqlsim thread in trace-cmd's report with the same event in perf script
# (same thread, event, CPU and target pid, perf timestamp within 500 us), then
# classifies what is left inside the overlap window. Also prints how much
# later perf stamps the same event than trace-cmd. Needs expected_meta.txt
# (run make-expected.sh first). See samples/README.md, "perf vs trace-cmd".
import re, sys, subprocess, bisect, collections
d = sys.argv[1]
meta = dict(l.split('=',1) for l in open(d+'/expected_meta.txt').read().split('\n') if l)
ws, we = int(meta['window_start_ns']), int(meta['window_end_ns'])
tids = [int(l.split(',')[0]) for l in open(d+'/threads.csv', encoding='latin-1').read().split('\n')[1:] if l]
EV=('sched_switch','sched_waking','sys_enter_futex','sys_exit_futex')
tc = subprocess.run(['trace-cmd','report','-t','-N','-i',d+'/capture.trace.dat'],capture_output=True).stdout.decode('latin-1')
head = re.compile(r'^(.*?)-(\d+)\s+\[(\d{3})\]\s+(\d+)\.(\d{9}): ([A-Za-z0-9_]+):\s*(.*)$')
A=collections.defaultdict(list)
for l in tc.split('\n'):
    m=head.match(l)
    if m and int(m.group(2)) in tids and m.group(6) in EV:
        A[(int(m.group(2)),m.group(6))].append((int(m.group(4))*10**9+int(m.group(5)), m.group(3), m.group(7)))
pf = subprocess.run(['perf','script','-f','-i',d+'/capture.perf.data','-F','tid,cpu,time,event,trace','--ns'],capture_output=True).stdout.decode('latin-1')
B=collections.defaultdict(list)
for l in pf.split('\n'):
    m=re.match(r'\s*(-?\d+)\s+\[(\d+)\]\s+(\d+)\.(\d{9}):\s+\w+:(\w+):\s*(.*)',l)
    if m and m.group(5) in EV:
        B[(int(m.group(1)),m.group(5))].append((int(m.group(3))*10**9+int(m.group(4)), m.group(2), m.group(6)))
def key(ev, p):
    if ev=='sched_switch': return re.search(r'next_pid=(\d+)',p).group(1)
    if ev=='sched_waking': return re.search(r' pid=(\d+)',p).group(1)
    return ''
cls=collections.Counter(); DIFF=[]
for t in tids:
    for ev in EV:
        a=A[(t,ev)]; b=B[(t,ev)]
        ta=[x[0] for x in a]; used=set()
        for x in b:
            i=bisect.bisect_left(ta,x[0]-500000); best=None
            while i<len(a) and ta[i]<=x[0]+500000:
                if i not in used and a[i][1]==x[1] and key(ev,a[i][2])==key(ev,x[2]): best=i;break
                i+=1
            if best is None:
                if ws<=x[0]<=we: cls['perf-only '+ev]+=1; print(' perf only',t,x)
            else:
                used.add(best); DIFF.append(x[0]-a[best][0])
                if (ws<=x[0]<=we) != (ws<=a[best][0]<=we): cls['matched but straddles window edge']+=1; print(' edge', t, ev, x[0], a[best][0])
        for i,x in enumerate(a):
            if i in used or not (ws<=x[0]<=we): continue
            if ev=='sched_switch' and 'prev_state=X' in x[2]:
                cls['tc-only final switch of exiting thread (perf: tid -1)']+=1
            elif ev=='sched_waking' and re.search(r'comm=perf ',x[2]):
                cls['tc-only sched_waking of perf itself']+=1
            else:
                cls['tc-only other '+ev]+=1; print(' tc only', t, ev, x)
# perf tid -1 in window
DIFF.sort(); print("offset perf-tc ns: min",DIFF[0],"median",DIFF[len(DIFF)//2],"p99",DIFF[len(DIFF)*99//100],"max",DIFF[-1])
print(d, dict(cls), 'perf tid -1 sched_switch:', len(B[(-1,'sched_switch')]))
