#!/usr/bin/env python3
"""make_seeds_more.py - seed corpora of fuzz_trace_dat, fuzz_input and
fuzz_analyze (fuzz_perf_data's are made by make_seeds.py).

    python3 tests/fuzz/make_seeds_more.py samples tests/fuzz/corpus

trace_dat: the small multi-buffer captures of samples/multibuf (v7, zstd
and zlib sections), plus a cut of each (truncated inside the data).
input: a plain file, gzip and zstd of the head of a perf.data (single and
concatenated frames/members, zstd with checksum), a truncated frame.
analyze: deterministic pseudo-random byte programs (the harness's
interpreter accepts any bytes).  Everything is deterministic; keep the
result small (the committed corpus stays far below 2 MB).
"""
import gzip
import os
import random
import shutil
import subprocess
import sys


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def zstd(data, *args):
    return subprocess.run(['zstd', '-q', '-c', *args], input=data,
                          stdout=subprocess.PIPE, check=True).stdout


def main():
    samples, out = sys.argv[1], sys.argv[2]
    mb = os.path.join(samples, 'multibuf')
    for name in ('capture.trace.dat', 'capture2.trace.dat',
                 'capture2-zlib.trace.dat'):
        data = open(os.path.join(mb, name), 'rb').read()
        write(os.path.join(out, 'trace_dat', name), data)
        write(os.path.join(out, 'trace_dat', 'cut-' + name),
              data[:len(data) * 3 // 4])

    head = open(os.path.join(samples, 'pipe', 'pipe.perf.data'), 'rb').read()[:6000]
    d = os.path.join(out, 'input')
    write(os.path.join(d, 'plain.bin'), head[:512])
    write(os.path.join(d, 'head.gz'), gzip.compress(head, 6, mtime=0))
    write(os.path.join(d, 'two-members.gz'),
          gzip.compress(head[:100], 1, mtime=0) + gzip.compress(head[100:300], 9, mtime=0))
    write(os.path.join(d, 'head.zst'), zstd(head, '-3'))
    write(os.path.join(d, 'check.zst'), zstd(head[:700], '-1', '--check'))
    write(os.path.join(d, 'frames.zst'), zstd(head[:200]) + zstd(head[200:900], '-19'))
    write(os.path.join(d, 'cut.zst'), zstd(head, '-3')[:-7])
    write(os.path.join(d, 'empty.zst'), zstd(b''))

    rnd = random.Random(20261125)
    for i in range(6):
        n = rnd.choice((64, 256, 900, 2000))
        prog = bytes([0x7f]) + bytes(rnd.randrange(256) for _ in range(n))
        write(os.path.join(out, 'analyze', 'prog%d.bin' % i), prog)
    # a hand-written lock convoy: 102 and 103 wait on 0x1000 held by 101
    convoy = bytes([0x0f,
                    0x10, 0, 0,   # cpu0 -> 101
                    0x10, 1, 1,   # cpu1 -> 102
                    0x24, 1, 1,   # 102 futex WAIT 0x1000... (op idx 0)
                    0x30, 1, 0,   # 102 switches out S
                    0x10, 2, 2,   # cpu2 -> 103
                    0x24, 2, 0,
                    0x30, 6, 0,   # 103 out S
                    0x24, 0, 4,   # 101 WAKE 0x1000
                    0x32, 0, 1,   # waking 102
                    0x37, 0, 0,   # 101 futex exit
                    0x10, 1, 1,   # cpu1 -> 102
                    0x37, 1, 0])
    write(os.path.join(out, 'analyze', 'convoy.bin'), convoy)


if __name__ == '__main__':
    main()
