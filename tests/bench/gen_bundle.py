#!/usr/bin/env python3
"""Write a VM bundle laid out as Apple's sample lays it out, for the clone benchmark.

    gen_bundle.py DIR [--disk-gib 16] [--data-mib 2048] [--extent-mib 64]

DIR/Disk.img          sparse, --disk-gib long, with --data-mib of random bytes
                      written in scattered --extent-mib extents (the rest holes)
DIR/AuxiliaryStorage  32 MiB + 16 KiB of bytes (an NVRAM store is dense)
DIR/HardwareModel     a small binary plist
DIR/MachineIdentifier a small binary plist

Prints one JSON line: sizes, extents and the bytes allocated.
"""
import argparse
import json
import os
import plistlib
import random
import sys

MIB = 1 << 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--disk-gib", type=float, default=16)
    ap.add_argument("--data-mib", type=int, default=2048)
    ap.add_argument("--extent-mib", type=int, default=64)
    a = ap.parse_args()
    rng = random.Random(16)
    os.makedirs(a.dir, exist_ok=False)

    disk_size = int(a.disk_gib * (1 << 30))
    extent = a.extent_mib * MIB
    slots = disk_size // extent
    n = a.data_mib // a.extent_mib
    if n > slots:
        sys.exit("gen_bundle: %d MiB of data does not fit in the disk" % a.data_mib)
    # Slot 0 (partition map, boot) always holds data, the rest are scattered.
    chosen = sorted([0] + rng.sample(range(1, slots), n - 1))

    # Random-ish data, quickly: windows at random (unaligned) offsets of one
    # random pool, so no two 4 KiB blocks of the disk are alike.
    pool = memoryview(os.urandom(80 * MIB))

    path = os.path.join(a.dir, "Disk.img")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, disk_size)
        for slot in chosen:
            off = slot * extent
            left = extent
            while left:
                k = min(left, 16 * MIB)
                start = rng.randrange(len(pool) - k)
                os.pwrite(fd, pool[start:start + k], off)
                off += k
                left -= k
    finally:
        os.close(fd)

    aux = os.path.join(a.dir, "AuxiliaryStorage")
    with open(aux, "wb") as f:
        f.write(os.urandom(32 * MIB + 16 * 1024))
    os.chmod(aux, 0o600)
    with open(os.path.join(a.dir, "HardwareModel"), "wb") as f:
        f.write(plistlib.dumps({"DataRepresentationVersion": 1, "PlatformVersion": 2,
                                "MinimumSupportedOS": [13, 0, 0]}, fmt=plistlib.FMT_BINARY))
    with open(os.path.join(a.dir, "MachineIdentifier"), "wb") as f:
        f.write(plistlib.dumps({"ECID": 0x1C2E3A4B5D6F7081}, fmt=plistlib.FMT_BINARY))

    st = os.stat(path)
    print(json.dumps({
        "dir": a.dir, "disk_size": disk_size, "data_bytes": n * extent, "extents": n,
        "extent_bytes": extent, "disk_allocated": st.st_blocks * 512,
    }))


if __name__ == "__main__":
    sys.exit(main())
