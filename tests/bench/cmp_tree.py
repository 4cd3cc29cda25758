#!/usr/bin/env python3
"""Check that DST is a faithful copy of SRC, holes included, without reading the holes.

    cmp_tree.py SRC DST

For every regular file under SRC: DST has it, with the same size and mode, and
the same bytes -- compared only over the data extents of either file
(SEEK_DATA / SEEK_HOLE); a range that is data in one and a hole in the other
must be all zeros.  Prints one JSON line with allocated bytes; exits 1 on the
first difference.
"""
import json
import os
import stat
import sys

CHUNK = 8 << 20


def extents(fd, size):
    out = []
    off = 0
    while off < size:
        try:
            d = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:  # ENXIO: no data past off
            break
        h = os.lseek(fd, d, os.SEEK_HOLE)
        out.append((d, h))
        off = h
    return out


def merge(a, b):
    spans = sorted(a + b)
    out = []
    for s, e in spans:
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def same_file(src, dst):
    ss, ds = os.stat(src), os.stat(dst)
    if ss.st_size != ds.st_size:
        return "size %d != %d" % (ds.st_size, ss.st_size)
    if stat.S_IMODE(ss.st_mode) != stat.S_IMODE(ds.st_mode):
        return "mode %o != %o" % (stat.S_IMODE(ds.st_mode), stat.S_IMODE(ss.st_mode))
    fs, fd = os.open(src, os.O_RDONLY), os.open(dst, os.O_RDONLY)
    try:
        for s, e in merge(extents(fs, ss.st_size), extents(fd, ds.st_size)):
            off = s
            while off < e:
                n = min(CHUNK, e - off)
                if os.pread(fs, n, off) != os.pread(fd, n, off):
                    return "bytes differ in [%d, %d)" % (off, off + n)
                off += n
    finally:
        os.close(fs)
        os.close(fd)
    return None


def main(src, dst):
    report = {"files": 0, "src_allocated": 0, "dst_allocated": 0, "apparent": 0}
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        if not os.path.isdir(os.path.join(dst, rel)):
            print("cmp_tree: %s: missing directory" % os.path.join(dst, rel), file=sys.stderr)
            return 1
        for name in files:
            s, d = os.path.join(root, name), os.path.join(dst, rel, name)
            if not os.path.isfile(d):
                print("cmp_tree: %s: missing" % d, file=sys.stderr)
                return 1
            why = same_file(s, d)
            if why:
                print("cmp_tree: %s: %s" % (d, why), file=sys.stderr)
                return 1
            report["files"] += 1
            report["apparent"] += os.stat(s).st_size
            report["src_allocated"] += os.stat(s).st_blocks * 512
            report["dst_allocated"] += os.stat(d).st_blocks * 512
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
