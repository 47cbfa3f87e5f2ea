#!/usr/bin/env python3
"""make_seeds.py - builds the perf.data seed corpus of the fuzz harness.

    python3 tests/fuzz/make_seeds.py samples tests/fuzz/corpus/perf_data

Real captures are megabytes; libFuzzer wants small seeds.  For file-mode
captures this keeps the header, the attributes and ids, the first records
of the data section (cut at a record boundary) and every feature section,
rewriting the data size and the feature offsets so the result is a valid
perf.data.  Pipe-mode samples are copied as they are (already small).
"""
import os
import struct
import sys


def shrink(src, dst, keep_records, until_type=None):
    b = open(src, 'rb').read()
    assert b[:8] == b'PERFILE2'
    data_off, data_size = struct.unpack_from('<QQ', b, 40)
    feats = struct.unpack_from('<4Q', b, 72)
    pos, end, n = data_off, data_off + data_size, 0
    while pos + 8 <= end and n < keep_records:
        rtype, size = struct.unpack_from('<I2xH', b, pos)
        pos += size
        if until_type is None or rtype == until_type:
            n += 1
    new_size = pos - data_off
    out = bytearray(b[:pos])
    struct.pack_into('<Q', out, 48, new_size)
    nfeat = sum(bin(f).count('1') for f in feats)
    old_idx = data_off + data_size
    idx_at = len(out)
    out += bytes(16 * nfeat)
    for k in range(nfeat):
        off, size = struct.unpack_from('<QQ', b, old_idx + 16 * k)
        struct.pack_into('<QQ', out, idx_at + 16 * k, len(out), size)
        out += b[off:off + size]
    open(dst, 'wb').write(out)


def slim_tracing(td):
    """Tracing data keeping only the event formats (no ftrace formats,
    empty kallsyms, printk formats and cmdlines)."""
    pos = 10
    end = td.index(b'\0', pos)
    version = td[pos:end]
    pos = end + 1 + 2 + 4
    head = td[:pos]
    for name in (b'header_page\0', b'header_event\0'):
        assert td[pos:pos + len(name)] == name
        size = struct.unpack_from('<Q', td, pos + len(name))[0]
        pos += len(name) + 8 + size
    head += td[len(head):pos]
    nftrace = struct.unpack_from('<I', td, pos)[0]
    pos += 4
    for _ in range(nftrace):
        pos += 8 + struct.unpack_from('<Q', td, pos)[0]
    nsys = struct.unpack_from('<I', td, pos)[0]
    start = pos
    pos += 4
    for _ in range(nsys):
        pos = td.index(b'\0', pos) + 1
        count = struct.unpack_from('<I', td, pos)[0]
        pos += 4
        for _ in range(count):
            pos += 8 + struct.unpack_from('<Q', td, pos)[0]
    out = head + struct.pack('<I', 0) + td[start:pos] + struct.pack('<II', 0, 0)
    if version >= b'0.6':
        out += struct.pack('<Q', 0)
    return out + bytes(-len(out) % 8)


def slim_pipe(src, dst):
    """A pipe-mode capture with slim tracing data and no build-ids."""
    b = open(src, 'rb').read()
    out = bytearray(b[:16])
    pos = 16
    while pos + 8 <= len(b):
        rtype, size = struct.unpack_from('<I2xH', b, pos)
        if rtype == 66:     # HEADER_TRACING_DATA + payload
            tsize = struct.unpack_from('<I', b, pos + 8)[0]
            td = slim_tracing(b[pos + size:pos + size + tsize])
            rec = bytearray(b[pos:pos + size])
            struct.pack_into('<I', rec, 8, len(td))
            out += rec + td
            pos += size + tsize
            continue
        if rtype != 67:     # drop HEADER_BUILD_ID
            out += b[pos:pos + size]
        pos += size
    open(dst, 'wb').write(out)


def main():
    samples, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    shrink(os.path.join(samples, 'bql-stacks/capture.perf.data'),
           os.path.join(outdir, 'stacks-head.perf.data'), 300)
    shrink(os.path.join(samples, 'bql-zstd/capture.perf.data'),
           os.path.join(outdir, 'zstd-head.perf.data'), 2, 81)
    shrink(os.path.join(samples, 'hostile-names/capture.perf.data'),
           os.path.join(outdir, 'names-head.perf.data'), 400)
    slim_pipe(os.path.join(samples, 'pipe/pipe.perf.data'),
              os.path.join(outdir, 'pipe-slim.perf.data'))
    slim_pipe(os.path.join(samples, 'pipe/pipe-zstd.perf.data'),
              os.path.join(outdir, 'pipe-zstd-slim.perf.data'))
    for name in ('pipe.perf.data', 'pipe-zstd.perf.data'):
        data = open(os.path.join(samples, 'pipe', name), 'rb').read()
        open(os.path.join(outdir, name), 'wb').write(data)


if __name__ == '__main__':
    main()
