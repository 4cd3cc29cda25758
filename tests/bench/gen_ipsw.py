#!/usr/bin/env python3
"""Write a sparse Zip64 IPSW for the benchmark, in seconds and with no real data.

    gen_ipsw.py OUT [--size-gib 20] [--small 300]

Layout (as in Apple's macOS restore images, BuildManifest.plist is not first,
so a reader must go through the central directory):

    a few hundred small entries (Firmware/..., deflated and stored)
    several huge STORED entries (090-*.dmg) whose data are holes
    BuildManifest.plist (XML, ~200 KB, deflated), Restore.plist, more small entries
    central directory (Zip64 extra fields where needed)
    Zip64 end of central directory record + locator + end of central directory

The CRC-32 of every entry is correct: for the all-zero holes it is computed
with zlib's crc32_combine trick (GF(2) matrix powers), so `unzip -t` would
pass, without reading 20 GiB of zeros.

Prints one JSON line describing the archive (entries, sizes, manifest offset).
"""
import argparse
import json
import os
import plistlib
import random
import struct
import sys
import zlib

SIG_LOCAL = 0x04034B50
SIG_CENTRAL = 0x02014B50
SIG_Z64_EOCD = 0x06064B50
SIG_Z64_LOC = 0x07064B50
SIG_EOCD = 0x06054B50
U32 = 0xFFFFFFFF

# ---------------------------------------------------------------------------
# CRC-32 of n zero bytes without reading them (zlib crc32_combine's method).


def _gf2_times(mat, vec):
    s = 0
    i = 0
    while vec:
        if vec & 1:
            s ^= mat[i]
        vec >>= 1
        i += 1
    return s


def _gf2_square(mat):
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def crc32_zeros(n, crc=0):
    """zlib.crc32(bytes(n), crc), in O(log n)."""
    if n == 0:
        return crc
    odd = [0xEDB88320] + [1 << (i - 1) for i in range(1, 32)]  # one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    reg = crc ^ U32
    while True:
        even = _gf2_square(odd)  # first pass: one zero byte
        if n & 1:
            reg = _gf2_times(even, reg)
        n >>= 1
        if not n:
            break
        odd = _gf2_square(even)
        if n & 1:
            reg = _gf2_times(odd, reg)
        n >>= 1
        if not n:
            break
    return reg ^ U32


# ---------------------------------------------------------------------------
# A realistic BuildManifest.plist.


def digest(rng, n=48):
    return bytes(rng.getrandbits(8) for _ in range(n))


COMPONENTS = [
    ("AVE", "Firmware/ave/AppleAVE2FW_{b}.im4p"),
    ("Ap,AudioAccessibilityBootChime", "Firmware/all_flash/audiodaccessibility_{b}.im4p"),
    ("Ap,BootabilityBrainTrustCache", "Firmware/{b}_bootability.trustcache"),
    ("Ap,CIO", "Firmware/all_flash/cio_{b}.im4p"),
    ("Ap,DCP2", "Firmware/dcp/dcp2fw_{b}.im4p"),
    ("Ap,RestoreANE1", "Firmware/ane/ane1_{b}.im4p"),
    ("Ap,RestoreANE2", "Firmware/ane/ane2_{b}.im4p"),
    ("Ap,RestoreCIO", "Firmware/all_flash/restorecio_{b}.im4p"),
    ("Ap,RestoreDCP", "Firmware/dcp/restoredcp_{b}.im4p"),
    ("Ap,RestoreTMU", "Firmware/all_flash/restoretmu_{b}.im4p"),
    ("Ap,SystemVolumeCanonicalMetadata", "090-22688-052.dmg.root_hash.mtree"),
    ("Ap,TMU", "Firmware/all_flash/tmu_{b}.im4p"),
    ("Ap,VolumeUUID", "090-22688-052.dmg.root_hash"),
    ("Ap,ANE1", "Firmware/ane/ane1b_{b}.im4p"),
    ("Ap,AVE", "Firmware/ave/ave_{b}.im4p"),
    ("Ap,GPU", "Firmware/agx/armfw_{b}.im4p"),
    ("Ap,PMP", "Firmware/pmp/pmp_{b}.im4p"),
    ("Ap,RBM", "Firmware/all_flash/rbm_{b}.im4p"),
    ("Ap,SIO", "Firmware/sio/sio_{b}.im4p"),
    ("Ap,SecureBootNotification", "Firmware/all_flash/sbn_{b}.im4p"),
    ("Ap,RestoreSecureBootNotification", "Firmware/all_flash/rsbn_{b}.im4p"),
    ("Ap,ExclaveCore", "Firmware/exclave/exclavecore_{b}.im4p"),
    ("Ap,RestoreExclaveCore", "Firmware/exclave/rexclavecore_{b}.im4p"),
    ("ANE", "Firmware/ane/ane_{b}.im4p"),
    ("AppleLogo", "Firmware/all_flash/applelogo_{b}.im4p"),
    ("BatteryCharging0", "Firmware/all_flash/batterycharging0_{b}.im4p"),
    ("BatteryCharging1", "Firmware/all_flash/batterycharging1_{b}.im4p"),
    ("BatteryFull", "Firmware/all_flash/batteryfull_{b}.im4p"),
    ("BatteryLow0", "Firmware/all_flash/batterylow0_{b}.im4p"),
    ("BatteryLow1", "Firmware/all_flash/batterylow1_{b}.im4p"),
    ("DeviceTree", "Firmware/all_flash/DeviceTree.{b}.im4p"),
    ("GFX", "Firmware/agx/gfx_{b}.im4p"),
    ("ISP", "Firmware/isp_bni/isp_{b}.im4p"),
    ("KernelCache", "kernelcache.release.{b}"),
    ("LLB", "Firmware/all_flash/LLB.{b}.RELEASE.im4p"),
    ("OS", "090-22688-052.dmg"),
    ("PERTOS", "Firmware/pmp/pertos_{b}.im4p"),
    ("RecoveryMode", "Firmware/all_flash/recoverymode_{b}.im4p"),
    ("RestoreDeviceTree", "Firmware/all_flash/DeviceTree.{b}.im4p"),
    ("RestoreKernelCache", "kernelcache.release.{b}"),
    ("RestoreLogo", "Firmware/all_flash/applelogo_{b}.im4p"),
    ("RestoreRamDisk", "090-22591-052.dmg"),
    ("RestoreSEP", "Firmware/all_flash/sep-firmware.{b}.RELEASE.im4p"),
    ("RestoreTrustCache", "Firmware/090-22591-052.dmg.trustcache"),
    ("SEP", "Firmware/all_flash/sep-firmware.{b}.RELEASE.im4p"),
    ("StaticTrustCache", "Firmware/090-22688-052.dmg.trustcache"),
    ("SystemVolume", "090-22688-052.dmg.root_hash"),
    ("iBEC", "Firmware/dfu/iBEC.{b}.RELEASE.im4p"),
    ("iBSS", "Firmware/dfu/iBSS.{b}.RELEASE.im4p"),
    ("iBoot", "Firmware/all_flash/iBoot.{b}.RELEASE.im4p"),
    ("iBootData", "Firmware/all_flash/iBootData.{b}.RELEASE.im4p"),
    ("Cryptex1,SystemOS", "090-22749-052.dmg"),
    ("Cryptex1,SystemVolume", "090-22749-052.dmg.root_hash"),
    ("Cryptex1,SystemTrustCache", "Firmware/090-22749-052.dmg.trustcache"),
    ("Cryptex1,AppOS", "090-22754-052.dmg"),
    ("Cryptex1,AppVolume", "090-22754-052.dmg.root_hash"),
    ("Cryptex1,AppTrustCache", "Firmware/090-22754-052.dmg.trustcache"),
    ("ftap", "Firmware/ftap_{b}.im4p"),
    ("ftsp", "Firmware/ftsp_{b}.im4p"),
    ("rfta", "Firmware/rfta_{b}.im4p"),
    ("rfts", "Firmware/rfts_{b}.im4p"),
]

# (product type, board config, ApBoardID, ApChipID)
MAC_DEVICES = [
    ("Mac13,1", "j375cap", 0x08, 0x6001), ("Mac13,2", "j375dap", 0x0A, 0x6002),
    ("Mac14,2", "j413ap", 0x28, 0x8112), ("Mac14,3", "j473ap", 0x24, 0x8112),
    ("Mac14,5", "j414cap", 0x04, 0x6021), ("Mac14,6", "j416cap", 0x06, 0x6021),
    ("Mac14,7", "j493ap", 0x18, 0x8112), ("Mac14,8", "j180dap", 0x0C, 0x6022),
    ("Mac14,9", "j414sap", 0x02, 0x6020), ("Mac14,10", "j416sap", 0x04, 0x6020),
    ("Mac14,12", "j474sap", 0x02, 0x6020), ("Mac14,13", "j475cap", 0x0A, 0x6021),
    ("Mac14,14", "j475dap", 0x0C, 0x6022), ("Mac14,15", "j415ap", 0x2E, 0x8112),
    ("Mac15,3", "j504ap", 0x22, 0x8122), ("Mac15,4", "j433ap", 0x28, 0x8122),
    ("Mac15,5", "j434ap", 0x2A, 0x8122), ("Mac15,6", "j514sap", 0x04, 0x6030),
    ("Mac15,7", "j516sap", 0x06, 0x6030), ("Mac15,8", "j514cap", 0x44, 0x6031),
    ("Mac15,9", "j516cap", 0x46, 0x6031), ("Mac15,10", "j514map", 0x84, 0x6034),
    ("Mac15,11", "j516map", 0x86, 0x6034), ("Mac15,12", "j613ap", 0x30, 0x8122),
    ("Mac15,13", "j615ap", 0x32, 0x8122), ("MacBookAir10,1", "j313ap", 0x26, 0x8103),
    ("MacBookPro17,1", "j293ap", 0x24, 0x8103), ("MacBookPro18,1", "j316sap", 0x0A, 0x6000),
    ("MacBookPro18,2", "j316cap", 0x0A, 0x6001), ("MacBookPro18,3", "j314sap", 0x08, 0x6000),
    ("MacBookPro18,4", "j314cap", 0x08, 0x6001), ("Macmini9,1", "j274ap", 0x22, 0x8103),
    ("iMac21,1", "j456ap", 0x28, 0x8103), ("iMac21,2", "j457ap", 0x2A, 0x8103),
]
VM_DEVICE = ("VirtualMac2,1", "vma2macosap", 0x20, 0xFE00)


def build_identity(rng, ptype, board, bid, cid, variant, vm):
    b = board[:-2] if board.endswith("ap") else board
    manifest = {}
    always = ("OS", "KernelCache", "RestoreRamDisk", "DeviceTree", "iBoot", "SEP", "LLB")
    for name, path in COMPONENTS:
        if name not in always and rng.random() < 0.9:
            continue
        manifest[name] = {
            "Digest": digest(rng),
            "Info": {
                "IsFTAB": False,
                "IsFUDFirmware": name.startswith("Ap,") or name in ("ANE", "GFX", "AVE"),
                "IsFirmwarePayload": "Firmware/" in path,
                "IsLoadedByiBoot": name in ("AppleLogo", "DeviceTree", "KernelCache", "SEP"),
                "Path": path.format(b=b),
                "Personalize": True,
            },
            "Trusted": True,
        }
        if rng.random() < 0.3:
            manifest[name]["Info"]["RestoreRequestRules"] = [
                {"Actions": {"EPRO": True}, "Conditions": {"ApRawProductionMode": True}},
                {"Actions": {"ESEC": True}, "Conditions": {"ApRawSecurityMode": True}},
            ]
    info = {
        "BuildNumber": "24B83",
        "CodeName": "CrystalB24B83",
        "DeviceClass": board,
        "FDRSupport": not vm,
        "MinimumSystemPartition": 22000,
        "MobileDeviceMinVersion": "1757.40.14",
        "OSVarContentSize": 45678,
        "RestoreBehavior": "Erase" if variant.startswith("Customer Erase") else "Update",
        "SystemPartitionPadding": {"8": 1280, "16": 1280, "32": 1280, "64": 1280, "128": 1280, "256": 1280},
        "Variant": variant,
        "VariantContents": {
            "BasebandFirmware": "Release", "DCP": "DarwinProduction", "OS": "Production",
            "RestoreRamDisk": "Production", "SEP": "Production", "VinylFirmware": "Release",
            "Firmware": "Production", "InstalledKernelCache": "Production",
        },
    }
    if vm:
        info["VirtualMachineMinHostOS"] = "13.0.0"
        info["VirtualMachineMinCPUCount"] = 2
        info["VirtualMachineMinMemorySizeMB"] = 4096
    return {
        "Ap,OSLongVersion": "15.1.24B83",
        "Ap,OSReleaseType": "Public",
        "Ap,ProductMarketingVersion": "15.1",
        "Ap,ProductType": ptype,
        "Ap,SDKPlatform": "macosx",
        "Ap,Target": board.upper(),
        "Ap,TargetType": board,
        "ApBoardID": "0x%02X" % bid,
        "ApChipID": "0x%04X" % cid,
        "ApSecurityDomain": "0x01",
        "Info": info,
        "Manifest": manifest,
        "NeRDEpoch": "0x01",
        "PearlCertificationRootPub": digest(rng, 32),
        "UniqueBuildID": digest(rng, 20),
    }


def build_manifest(target_bytes=200_000):
    rng = random.Random(24083)
    ids = []
    variants = ["Customer Erase Install (IPSW)", "Customer Upgrade Install (IPSW)"]
    # The three VM identities sit among the Mac ones, not first.
    vm_variants = variants + ["Research Customer Erase Install (IPSW)"]
    devices = list(MAC_DEVICES)
    body = {
        "BuildIdentities": ids,
        "ManifestVersion": 0,
        "ProductBuildVersion": "24B83",
        "ProductVersion": "15.1",
        "SupportedProductTypes": [d[0] for d in devices] + [VM_DEVICE[0]],
    }
    vm_at = 3
    i = 0
    while True:
        if i == vm_at:
            for v in vm_variants:
                ids.append(build_identity(rng, *VM_DEVICE, variant=v, vm=True))
        d = devices[(i // 2) % len(devices)]
        ids.append(build_identity(rng, *d, variant=variants[i % 2], vm=False))
        i += 1
        if i > vm_at and len(plistlib.dumps(body)) >= target_bytes:
            break
    return plistlib.dumps(body, fmt=plistlib.FMT_XML)


RESTORE_PLIST = plistlib.dumps({
    "ProductBuildVersion": "24B83", "ProductVersion": "15.1",
    "SupportedProductTypes": [d[0] for d in MAC_DEVICES] + [VM_DEVICE[0]],
    "DeviceMap": [{"BDID": d[2], "BoardConfig": d[1], "CPID": d[3], "Platform": "t8103"}
                  for d in MAC_DEVICES + [VM_DEVICE]],
    "SystemRestoreImageFileSystems": {"090-22688-052.dmg": "APFS"},
})

# ---------------------------------------------------------------------------
# The zip writer.


class Writer:
    def __init__(self, f):
        self.f = f
        self.central = []

    def tell(self):
        return self.f.tell()

    def add(self, name, data=None, hole=0, deflate=False):
        """Add an entry: real `data`, or `hole` bytes of zeros left as a hole."""
        offset = self.tell()
        bname = name.encode()
        if data is not None:
            crc = zlib.crc32(data)
            usize = len(data)
            if deflate:
                co = zlib.compressobj(6, zlib.DEFLATED, -15)
                payload = co.compress(data) + co.flush()
                method = 8
            else:
                payload, method = data, 0
            csize = len(payload)
        else:
            crc = crc32_zeros(hole)
            usize = csize = hole
            payload, method = None, 0
        big = usize >= U32 or csize >= U32
        extra = struct.pack("<HHQQ", 1, 16, usize, csize) if big else b""
        version = 45 if big else 20
        # mod time 2024-10-24 19:30:00, DOS format
        dtime, ddate = (19 << 11) | (30 << 5), ((2024 - 1980) << 9) | (10 << 5) | 24
        self.f.write(struct.pack(
            "<IHHHHHIIIHH", SIG_LOCAL, version, 0, method, dtime, ddate, crc,
            U32 if big else csize, U32 if big else usize, len(bname), len(extra)))
        self.f.write(bname + extra)
        if payload is not None:
            self.f.write(payload)
        else:
            self.f.seek(csize, os.SEEK_CUR)  # leave a hole
        self.central.append((bname, method, dtime, ddate, crc, csize, usize, offset))

    def finish(self):
        cd_start = self.tell()
        out = bytearray()
        for bname, method, dtime, ddate, crc, csize, usize, offset in self.central:
            z = b""
            if usize >= U32:
                z += struct.pack("<Q", usize)
            if csize >= U32:
                z += struct.pack("<Q", csize)
            if offset >= U32:
                z += struct.pack("<Q", offset)
            extra = struct.pack("<HH", 1, len(z)) + z if z else b""
            out += struct.pack(
                "<IHHHHHHIIIHHHHHII", SIG_CENTRAL, (3 << 8) | 45, 45 if extra else 20, 0,
                method, dtime, ddate, crc,
                U32 if csize >= U32 else csize, U32 if usize >= U32 else usize,
                len(bname), len(extra), 0, 0, 0, 0o100644 << 16,
                U32 if offset >= U32 else offset)
            out += bname + extra
        self.f.write(out)
        cd_size = len(out)
        n = len(self.central)
        z64_eocd = self.tell()
        self.f.write(struct.pack("<IQHHIIQQQQ", SIG_Z64_EOCD, 44, (3 << 8) | 45, 45, 0, 0,
                                 n, n, cd_size, cd_start))
        self.f.write(struct.pack("<IIQI", SIG_Z64_LOC, 0, z64_eocd, 1))
        self.f.write(struct.pack("<IHHHHIIH", SIG_EOCD, 0, 0, min(n, 0xFFFF), min(n, 0xFFFF),
                                 min(cd_size, U32), U32, 0))
        return cd_start, cd_size


def small_names(rng, count):
    dirs = ["Firmware/all_flash", "Firmware/dfu", "Firmware/agx", "Firmware/ane", "Firmware/dcp",
            "Firmware/isp_bni", "Firmware/pmp", "Firmware/ave", "Firmware/sio", "Firmware/exclave"]
    kinds = ["iBoot", "iBEC", "iBSS", "LLB", "DeviceTree", "sep-firmware", "armfw", "ane", "dcp2fw",
             "isp", "pmp", "AppleAVE2FW", "sio", "exclavecore", "applelogo", "recoverymode"]
    names = set()
    while len(names) < count:
        d = rng.choice(MAC_DEVICES + [VM_DEVICE])[1]
        names.add("%s/%s.%s.RELEASE.im4p" % (rng.choice(dirs), rng.choice(kinds), d[:-2]))
    return sorted(names)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--size-gib", type=float, default=20.0)
    ap.add_argument("--small", type=int, default=300)
    ap.add_argument("--manifest-kb", type=int, default=200)
    a = ap.parse_args()
    rng = random.Random(15_1)
    manifest = build_manifest(a.manifest_kb * 1000)

    # Big entries, as fractions of the total: the OS image, cryptexes, ramdisks.
    total = int(a.size_gib * (1 << 30))
    big = [("090-22688-052.dmg", 0.72), ("090-22749-052.dmg", 0.13), ("090-22754-052.dmg", 0.06),
           ("090-22591-052.dmg", 0.045), ("090-22627-052.dmg", 0.045)]
    names = small_names(rng, a.small)
    half = len(names) * 2 // 3

    def blob(n):
        # firmware-like: a header, some structure, mostly incompressible bytes
        return b"IM4P" + rng.randbytes(n - 4)

    with open(a.out, "wb") as f:
        f.truncate(0)
        w = Writer(f)
        for nm in names[:half]:
            n = rng.randint(2_000, 60_000)
            w.add(nm, blob(n), deflate=rng.random() < 0.5)
        for nm, frac in big:
            w.add(nm, hole=int(total * frac))
        mstart = w.tell()
        w.add("BuildManifest.plist", manifest, deflate=True)
        mcsize = w.central[-1][5]
        w.add("Restore.plist", RESTORE_PLIST, deflate=True)
        w.add("kernelcache.release.vma2", blob(40_000), deflate=True)
        for nm in names[half:]:
            n = rng.randint(2_000, 60_000)
            w.add(nm, blob(n), deflate=rng.random() < 0.5)
        cd_start, cd_size = w.finish()
        size = f.tell()
    print(json.dumps({
        "file": a.out, "size": size, "entries": len(w.central),
        "manifest_offset": mstart, "manifest_size": len(manifest), "manifest_compressed": mcsize,
        "central_directory_offset": cd_start, "central_directory_size": cd_size,
        "product_version": "15.1", "build": "24B83",
    }))


if __name__ == "__main__":
    sys.exit(main())
