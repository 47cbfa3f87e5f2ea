#!/usr/bin/env python3
"""gen_damaged.py - writes a corpus of damaged captures made from samples/.

    python3 tests/damaged/gen_damaged.py SAMPLES OUTDIR

Deterministic (fixed seeds).  Writes OUTDIR/NAME files and OUTDIR/manifest.tsv
with one line per case:

    name <TAB> kind <TAB> sample <TAB> what

kind says what waitchain must do (tests/cli/test_damaged.c checks it):
  trunc   the capture is cut short: `import` exits 1 with a one-line error;
          `import --salvage` exits 0 with capture.truncated = 1 and rows that
          are a prefix of the intact import (or exits 1 with one line when
          nothing before the cut is usable: header, attributes)
  bad     a size/offset/field is impossible: exit 1, one-line error
          (with --salvage: exit 0 + truncated prefix, or exit 1)
  flip    random bytes changed: exit 0 or exit 1 with a one-line error
  limit   absurd sizes (billions of CPUs, 2^60-byte sections, 2^32-frame
          callchains): exit 1, one-line error, and no huge allocation
          (the test runs these under a 1 GiB address-space limit when not
          under ASan)
sample is the intact capture (relative to SAMPLES) to compare against.

perf.data fields are located by parsing the file header (perf's
perf_file_header: magic, size, attr_size, attrs/data/event_types sections,
feature bitmap; feature section index after the data section; records
from data.offset).  trace.dat and pipe-mode captures are cut at fractions
and at the first bytes.
"""
import os
import random
import struct
import sys

OUT = None
MANIFEST = []


def emit(name, kind, sample, what, data):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)
    MANIFEST.append((name, kind, sample, what))


def perf_layout(b):
    magic, hsize, attr_size = struct.unpack_from('<8sQQ', b, 0)
    assert magic == b'PERFILE2' and hsize == 104
    ao, asz, do, dsz = struct.unpack_from('<4Q', b, 24)
    feats = struct.unpack_from('<4Q', b, 72)
    nfeat = sum(bin(f).count('1') for f in feats)
    idx = do + dsz
    sections = [struct.unpack_from('<QQ', b, idx + 16 * k) for k in range(nfeat)]
    records = []
    pos = do
    while pos + 8 <= do + dsz:
        rtype, misc, size = struct.unpack_from('<IHH', b, pos)
        if size == 0:
            break
        records.append((pos, rtype, size))
        pos += size
    return dict(attr_size=attr_size, ao=ao, asz=asz, do=do, dsz=dsz,
                idx=idx, sections=sections, records=records)


def perf_file_cases(samples, rel, tag, rnd, full=True):
    b = open(os.path.join(samples, rel), 'rb').read()
    L = perf_layout(b)
    recs = L['records']
    cut = lambda n, off, what: emit('%s-trunc-%s.perf.data' % (tag, n), 'trunc', rel,
                                   '%s (cut at %d)' % (what, off), b[:off])
    if full:
        cut('empty', 0, 'empty file')
        cut('magic', 5, 'inside the magic')
        cut('header', 60, 'inside the file header')
        cut('attrs', L['ao'] + L['asz'] // 2, 'inside the attributes')
        cut('datastart', L['do'], 'at the start of the data section')
    # inside records: in the header of one, in the middle of a few
    for i, frac in enumerate((0.05, 0.3, 0.55, 0.8, 0.97)):
        pos, rtype, size = recs[int(len(recs) * frac)]
        off = pos + (3 if i == 0 else max(9, size // 2))
        cut('rec%d' % i, off, 'inside record type %d at %d' % (rtype, pos))
    comp = [r for r in recs if r[1] == 81]  # PERF_RECORD_COMPRESSED
    if comp:
        pos, rtype, size = comp[len(comp) // 2]
        cut('zstdblock', pos + size // 3, 'inside a COMPRESSED record at %d' % pos)
    cut('featidx', L['idx'] + 8, 'inside the feature section index')
    if L['sections']:
        off, size = L['sections'][len(L['sections']) // 2]
        cut('feature', off + size // 2, 'inside a feature section')

    def patched(n, kind, what, patches):
        d = bytearray(b)
        for off, fmt, val in patches:
            struct.pack_into(fmt, d, off, val)
        emit('%s-%s.perf.data' % (tag, n), kind, rel, what, bytes(d))

    if full:
        header_cases(b, L, patched)
    # record sizes: 0 (would loop forever) and larger than what is left
    pos, rtype, size = recs[len(recs) // 3]
    patched('recsize0', 'bad', 'record at %d has size 0' % pos, [(pos + 6, '<H', 0)])
    patched('recsize4', 'bad', 'record at %d has size 4 (< header)' % pos, [(pos + 6, '<H', 4)])
    last = recs[-1][0]
    patched('lastrechuge', 'bad', 'last record (at %d) claims 65535 bytes' % last,
            [(last + 6, '<H', 0xffff)])
    # flips in the data section and in the header/attrs
    for i in range(4):
        d = bytearray(b)
        lo = L['do'] + (L['dsz'] * i) // 4
        for _ in range(8):
            p = rnd.randrange(lo, lo + L['dsz'] // 4)
            d[p] ^= 1 << rnd.randrange(8)
        emit('%s-flip-data%d.perf.data' % (tag, i), 'flip', rel, '8 bit flips in the data section', bytes(d))
    d = bytearray(b)
    for _ in range(6):
        p = rnd.randrange(L['ao'], L['ao'] + L['asz'])
        d[p] ^= 0xff
    emit('%s-flip-attrs.perf.data' % tag, 'flip', rel, 'bytes inverted in the attributes', bytes(d))
    return b, L


def header_cases(b, L, patched):
    patched('datasize0', 'bad', 'data.size = 0 (feature index moves)', [(48, '<Q', 0)])
    patched('datahuge', 'limit', 'data.size = 2^60', [(48, '<Q', 1 << 60)])
    patched('dataoffpast', 'bad', 'data.offset past the end', [(40, '<Q', len(b) + 4096)])
    patched('attrsize0', 'bad', 'attr_size = 0', [(16, '<Q', 0)])
    patched('attrshuge', 'limit', 'attrs.size = 2^60', [(32, '<Q', 1 << 60)])
    patched('attrsoffpast', 'bad', 'attrs.offset past the end', [(24, '<Q', len(b) * 2)])
    if L['sections']:
        patched('featpast', 'bad', 'first feature section offset past the end',
                [(L['idx'], '<Q', len(b) + 100)])
        patched('feathuge', 'limit', 'first feature section size 2^60',
                [(L['idx'] + 8, '<Q', 1 << 60)])


def perf_limit_cases(samples, rel, tag, b, L):
    """Absurd counts inside records/features."""
    recs = L['records']
    # a sample with a callchain of 2^32 - 1 frames: find a SAMPLE record of an
    # attr with PERF_SAMPLE_CALLCHAIN (bit 5); the callchain nr follows the
    # fields before it (IDENTIFIER 1<<16, IP 1, TID 2, TIME 4, ADDR 8, ID 64,
    # STREAM_ID 512, CPU 128, PERIOD 256, READ 16 not supported here)
    ao, asz, attr_size = L['ao'], L['asz'], L['attr_size']
    attr = b[ao:ao + attr_size]
    sample_type = struct.unpack_from('<Q', attr, 16)[0]
    if sample_type & (1 << 5) and not sample_type & (1 << 4):
        off = 0
        for bit in (16, 0, 1, 2, 3, 6, 9, 7, 8):
            if sample_type & (1 << bit):
                off += 8
        for pos, rtype, size in recs:
            if rtype == 9:
                d = bytearray(b)
                struct.pack_into('<Q', d, pos + 8 + off, 0xffffffff)
                emit('%s-callchain4g.perf.data' % tag, 'limit', rel,
                     'sample at %d: callchain nr = 2^32-1' % pos, bytes(d))
                break
    # nr_cpus feature (HEADER_NRCPUS = 7): billions of CPUs
    feats = struct.unpack_from('<4Q', b, 72)
    k = 0
    for bit in range(256):
        if feats[bit // 64] >> (bit % 64) & 1:
            if bit == 7:
                off, size = L['sections'][k]
                d = bytearray(b)
                struct.pack_into('<II', d, off, 0xfffffff0, 0xfffffff0)
                emit('%s-nrcpus4g.perf.data' % tag, 'limit', rel,
                     'HEADER_NRCPUS says 4 billion CPUs', bytes(d))
            if bit == 14:  # HEADER_CPU_TOPOLOGY: core siblings count
                off, size = L['sections'][k]
                d = bytearray(b)
                struct.pack_into('<I', d, off, 0xfffffff0)
                emit('%s-topology4g.perf.data' % tag, 'flip', rel,
                     'HEADER_CPU_TOPOLOGY claims 4 billion sibling strings', bytes(d))
            k += 1


def pipe_cases(samples, rel, tag):
    b = open(os.path.join(samples, rel), 'rb').read()
    for frac in (0.0, 0.1, 0.5, 0.9):
        off = 16 + int((len(b) - 16) * frac) + (3 if frac else 5)
        emit('%s-trunc-%d.perf.data' % (tag, int(frac * 100)), 'trunc', rel,
             'pipe-mode stream cut at %d' % off, b[:off])


def tdat_cases(samples, rel, tag, rnd):
    b = open(os.path.join(samples, rel), 'rb').read()
    n = len(b)
    for name, off in (('magic', 6), ('header', 40), ('early', 300),
                      ('half', n // 2), ('p90', n * 90 // 100),
                      ('p95', n * 95 // 100), ('p98', n * 98 // 100),
                      ('end', n - 100), ('last', n - 1)):
        emit('%s-trunc-%s.trace.dat' % (tag, name), 'trunc', rel,
             'trace.dat cut at %d of %d' % (off, n), b[:off])
    for i in range(2):
        d = bytearray(b)
        lo = n // 8 + (n * 7 // 8 * i) // 3
        for _ in range(6):
            p = rnd.randrange(lo, min(n, lo + n // 4))
            d[p] ^= 1 << rnd.randrange(8)
        emit('%s-flip%d.trace.dat' % (tag, i), 'flip', rel, '6 bit flips', bytes(d))
    # the header's page size / long size fields right after "tracing" + version
    d = bytearray(b)
    vend = b.index(b'\0', 10) + 1          # version string ends with NUL
    # after the version: endian byte, long size byte, page size (u32)
    struct.pack_into('<I', d, vend + 2, 0xfffffff0)  # page size 4 GiB
    emit('%s-pagesize4g.trace.dat' % tag, 'limit', rel, 'page size 2^32-16', bytes(d))


def container_cases(samples, rel, tag):
    import gzip
    import subprocess
    b = open(os.path.join(samples, rel), 'rb').read()
    z = subprocess.run(['zstd', '-q', '-c', '-3'], input=b, stdout=subprocess.PIPE,
                       check=True).stdout
    g = gzip.compress(b, 1, mtime=0)
    emit('%s-zst-cut.perf.data.zst' % tag, 'trunc', rel, 'zstd container cut in a block', z[:len(z) // 2])
    emit('%s-gz-cut.perf.data.gz' % tag, 'trunc', rel, 'gzip container cut in a block', g[:len(g) // 2])
    d = bytearray(z)
    for k in range(40, len(d), len(d) // 5):
        d[k] ^= 0x55
    emit('%s-zst-flip.perf.data.zst' % tag, 'bad', rel, 'zstd container corrupt', bytes(d))


def main():
    global OUT
    samples, OUT = sys.argv[1], sys.argv[2]
    os.makedirs(OUT, exist_ok=True)
    rnd = random.Random(1125)
    b, L = perf_file_cases(samples, 'bql-zstd/capture.perf.data', 'zstd', rnd)
    perf_limit_cases(samples, 'bql-zstd/capture.perf.data', 'zstd', b, L)
    b, L = perf_file_cases(samples, 'glibc-nostacks/capture.perf.data', 'glibc', rnd, False)
    perf_limit_cases(samples, 'glibc-nostacks/capture.perf.data', 'glibc', b, L)
    rel = 'bql-stacks/capture.perf.data'
    b = open(os.path.join(samples, rel), 'rb').read()
    perf_limit_cases(samples, rel, 'stacks', b, perf_layout(b))
    pipe_cases(samples, 'pipe/pipe.perf.data', 'pipe')
    pipe_cases(samples, 'pipe/pipe-zstd.perf.data', 'pipezstd')
    tdat_cases(samples, 'multibuf/capture2.trace.dat', 'multibuf', rnd)
    tdat_cases(samples, 'glibc-nostacks/capture.trace.dat', 'glibctd', rnd)
    container_cases(samples, 'pipe/pipe.perf.data', 'pipe')
    # a version-6 trace.dat keeps its CPU data last: cuts inside it are
    # salvageable (the prefix check has rows to compare)
    rel = 'bql-v6/capture.trace.dat'
    b = open(os.path.join(samples, rel), 'rb').read()
    for pct in (97, 99):
        off = len(b) * pct // 100 + 13
        emit('v6-trunc-p%d.trace.dat' % pct, 'trunc', rel,
             'v6 trace.dat cut inside the CPU data at %d' % off, b[:off])
    with open(os.path.join(OUT, 'manifest.tsv'), 'w') as f:
        for row in MANIFEST:
            f.write('\t'.join(str(x) for x in row) + '\n')
    print(len(MANIFEST), 'cases')


if __name__ == '__main__':
    main()
