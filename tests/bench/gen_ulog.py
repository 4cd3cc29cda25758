#!/usr/bin/env python3
"""Write a unified log as `log stream --style ndjson` prints it, for the pvg-log benchmark.

    gen_ulog.py OUT [--size-mib 1024] [--pvg-fraction F]

Line 1 is log's non-JSON header ("Filtering the log data using ...").  Every
other line is one JSON object with the fields and field order of log's ndjson
output, `/` escaped as `\/`.  Most lines come from the VM's XPC service
(subsystems com.apple.Virtualization.VirtualMachine and com.apple.virtualization,
plus a few of the frameworks it loads); a few per million lines are
com.apple.gpusw.ParavirtualizedGraphics / renderer, one of them the version
negotiation "Guest requested binary version: 43, setting binary version to: 31".
The string "ParavirtualizedGraphics" appears on those lines only, so
`grep -F ParavirtualizedGraphics` and a JSON filter on the subsystem select
the same lines.

With --pvg-fraction F (e.g. 0.33), a log dense in PVG lines: that fraction
of the JSON lines comes from com.apple.gpusw.ParavirtualizedGraphics, as a
renderer resetting in a loop writes it (frames, "Device reset", displays
destroyed and created again), the negotiation still once.

Lines are rendered from a few dozen templates with varying numbers (trace and
thread IDs, timestamps, mach time, program counters), so 1 GiB takes seconds.
Prints one JSON line: bytes, lines, the PVG lines expected.
"""
import argparse
import json
import random
import sys

XPC = "/System/Library/Frameworks/Virtualization.framework/Versions/A/XPCServices/" \
      "com.apple.Virtualization.VirtualMachine.xpc/Contents/MacOS/com.apple.Virtualization.VirtualMachine"
VZ = "/System/Library/Frameworks/Virtualization.framework/Versions/A/Virtualization"
PVG = "/System/Library/PrivateFrameworks/ParavirtualizedGraphics.framework/Versions/A/ParavirtualizedGraphics"
APP = "/usr/local/bin/macvm"
LIBXPC = "/usr/lib/system/libxpc.dylib"
HV = "/System/Library/Frameworks/Hypervisor.framework/Versions/A/Hypervisor"
CA = "/System/Library/PrivateFrameworks/CoreAnalytics.framework/Versions/A/CoreAnalytics"
PID = 61417
APP_PID = 61402
PVG_SUBSYSTEM = "com.apple.gpusw.ParavirtualizedGraphics"
NEGOTIATION = "Guest requested binary version: 43, setting binary version to: 31"

rng = random.Random(1547)


def uuid():
    return "%032X" % rng.getrandbits(128)


UUIDS = {p: uuid() for p in (XPC, VZ, PVG, APP, LIBXPC, HV, CA)}
BOOT = uuid()


def esc(s):
    """A JSON string as log prints it: json escapes, then / as \/."""
    return json.dumps(s, ensure_ascii=False).replace("/", "\/")


# (subsystem, category, sender, messageType, formatString, eventMessage)
# "{n}" in a message is replaced by a number fixed per template.
MESSAGES = [
    ("com.apple.Virtualization.VirtualMachine", "VirtualMachine", XPC, "Default",
     "Virtual machine state changed to %{public}s", "Virtual machine state changed to running"),
    ("com.apple.Virtualization.VirtualMachine", "VirtualMachine", XPC, "Info",
     "vCPU %d exited with reason %{public}s", "vCPU {n} exited with reason HV_EXIT_REASON_VTIMER_ACTIVATED"),
    ("com.apple.Virtualization.VirtualMachine", "VirtualMachine", XPC, "Debug",
     "vCPU %d: MMIO %{public}s at 0x%llx size %u", "vCPU {n}: MMIO write at 0x2c0{n}000 size 4"),
    ("com.apple.Virtualization.VirtualMachine", "Devices", XPC, "Debug",
     "virtio-blk[%u]: request %{public}s sector %llu count %u",
     "virtio-blk[0]: request READ sector 1{n}4{n}8 count 256"),
    ("com.apple.Virtualization.VirtualMachine", "Devices", XPC, "Debug",
     "virtio-blk[%u]: request %{public}s sector %llu count %u",
     "virtio-blk[0]: request WRITE sector 9{n}12{n} count 8"),
    ("com.apple.Virtualization.VirtualMachine", "Devices", XPC, "Info",
     "virtio-net[%u]: rx queue %u has %u descriptors available",
     "virtio-net[0]: rx queue 0 has {n} descriptors available"),
    ("com.apple.Virtualization.VirtualMachine", "Devices", XPC, "Default",
     "%{public}s: attached storage device %{public}@ (read-only: %{BOOL}d, caching: %{public}s)",
     "VZVirtioBlockDevice: attached storage device file:///Users/me/VM.bundle/Disk.img "
     "(read-only: NO, caching: automatic)"),
    ("com.apple.Virtualization.VirtualMachine", "Memory", XPC, "Info",
     "Memory balloon target %llu bytes, current %llu bytes",
     "Memory balloon target 4294967296 bytes, current 42949{n}7296 bytes"),
    ("com.apple.Virtualization.VirtualMachine", "Network", XPC, "Default",
     "NAT: lease %{public}s -> %{private}s expires in %u s",
     "NAT: lease 192.168.64.{n} -> <private> expires in 86400 s"),
    ("com.apple.Virtualization.VirtualMachine", "Audio", XPC, "Error",
     "Failed to start audio input: %{public}@",
     "Failed to start audio input: Error Domain=NSOSStatusErrorDomain Code=-10875 \"(null)\" "
     "UserInfo={NSLocalizedDescription=The operation couldn\u2019t be completed. "
     "(OSStatus error -10875.)}"),
    ("com.apple.Virtualization.VirtualMachine", "Graphics", XPC, "Default",
     "Display %u: %ux%u @ %u ppi, refresh %u Hz",
     "Display 0: 1920x1200 @ 80 ppi, refresh 60 Hz"),
    ("com.apple.Virtualization.VirtualMachine", "Boot", XPC, "Default",
     "Loading boot loader %{public}s", "Loading boot loader AVPBooter.vmapple2.bin (stage {n})"),
    ("com.apple.Virtualization.VirtualMachine", "Boot", XPC, "Info",
     "Auxiliary storage: %{public}s", "Auxiliary storage: NVRAM variable boot-args is \"\" ({n} bytes)"),
    ("com.apple.Virtualization.VirtualMachine", "VirtualMachine", XPC, "Fault",
     "Guest panicked: %{public}s",
     "Guest panicked: panic(cpu 1 caller 0xfffffe0012{n}34): \"AppleParavirtGPU: channel {n} timed out\"\n"
     "Debugger message: panic\nMemory ID: 0x6\nOS release type: User\nOS version: 24B83\n"
     "Kernel version: Darwin Kernel Version 24.1.0: Thu Oct 10 21:03:11 PDT 2024; "
     "root:xnu-11215.41.3~2/RELEASE_ARM64_VMAPPLE\nFileset Kernelcache UUID: " + uuid() + "\n"
     "iBoot version: iBoot-11881.41.5\nsecure boot?: YES\nroots installed: 0\nPaniclog version: 14\n"
     "KernelCache slide: 0x000000000{n}c000\nKernelCache base:  0xfffffe00070{n}0000\n"
     "Kernel slide:      0x000000000{n}d4000\nKernel text base:  0xfffffe00070{n}4000\n"
     "Kernel text exec slide: 0x000000000{n}e8000\nKernel text exec base:  0xfffffe000721c000"),
    ("com.apple.virtualization", "default", VZ, "Default",
     "Starting virtual machine with configuration %{public}@",
     "Starting virtual machine with configuration <VZVirtualMachineConfiguration: 0x60000{n}4c0a0> "
     "{cpuCount = 4; memorySize = 8589934592; bootLoader = <VZMacOSBootLoader>; "
     "platform = <VZMacPlatformConfiguration: hardwareModel = <VZMacHardwareModel: 0x6000{n}>; "
     "machineIdentifier = <VZMacMachineIdentifier: 0x6000{n}1>; auxiliaryStorage = "
     "file:///Users/me/VM.bundle/AuxiliaryStorage>; storageDevices = (\"<VZVirtioBlockDeviceConfiguration>\"); "
     "networkDevices = (\"<VZVirtioNetworkDeviceConfiguration: NAT>\"); graphicsDevices = "
     "(\"<VZMacGraphicsDeviceConfiguration: displays = (1920x1200@80)>\")}"),
    ("com.apple.virtualization", "default", VZ, "Info",
     "XPC connection to %{public}s interrupted", "XPC connection to com.apple.Virtualization.VirtualMachine interrupted"),
    ("com.apple.virtualization", "Devices", VZ, "Debug",
     "Keyboard event %u (keyCode %u)", "Keyboard event {n} (keyCode 4{n})"),
    ("com.apple.virtualization", "Devices", VZ, "Debug",
     "Pointing device: move to (%f, %f)", "Pointing device: move to (8{n}.500000, 3{n}.250000)"),
    ("com.apple.virtualization", "default", VZ, "Error",
     "Failed to save machine state: %{public}@",
     "Failed to save machine state: Error Domain=VZErrorDomain Code=12 \"The virtual machine failed to "
     "save its state.\" UserInfo={NSLocalizedFailure=The virtual machine failed to save its state., "
     "NSUnderlyingError=0x600003{n}0 {Error Domain=NSPOSIXErrorDomain Code=28 \"No space left on device\"}}"),
    ("", "", LIBXPC, "Debug", "", "[0x12{n}04a30] activating connection: mach=true listener=false peer=false "
     "name=com.apple.CoreAnalytics.CoreAnalyticsService"),
    ("", "", HV, "Debug", "", "hv_vcpu_run: vcpu {n} returned HV_SUCCESS exit reason 1"),
    ("com.apple.CoreAnalytics", "client", CA, "Debug", "Dropping \"%s\" as it isn't used in any transform "
     "(not in the config or budgeted?)", "Dropping \"com.apple.Virtualization.vm.metrics\" as it isn't used in "
     "any transform (not in the config or budgeted?)"),
]
APP_MESSAGES = [
    ("com.apple.virtualization", "default", VZ, "Default",
     "Virtual machine %p did stop with error %{public}@",
     "Virtual machine 0x600002{n}c0 did stop with error (null)"),
]
PVG_MESSAGES = [
    ("Info", "PGDevice: created device %p for %u display(s) on %{public}s",
     "PGDevice: created device 0x6000{n}a0 for 1 display(s) on Apple M1 Max"),
    ("Default", "Guest requested binary version: %d, setting binary version to: %d", NEGOTIATION),
    ("Error", "Failed to allocate IOSurface %ux%u format %{public}s: %d",
     "Failed to allocate IOSurface 3840x2400 format BGRA8Unorm: -536870211"),
    ("Debug", "Renderer: presenting frame %llu on display %u", "Renderer: presenting frame 4{n}11 on display 0"),
]
# A renderer resetting in a loop, as today's hosts log it.
RESET_MESSAGES = [
    ("Error", "Device reset (reason: %{public}s)", "Device reset (reason: command buffer timeout)"),
    ("Default", "PGDisplayNub[%u]: Destroyed", "PGDisplayNub[0]: Destroyed"),
    ("Default", "PGDisplayNub[%u]: Created %ux%u at %u ppi", "PGDisplayNub[0]: Created 1920x1200 at 80 ppi"),
]


def template(subsystem, category, sender, mtype, fmt, msg, process=XPC, pid=PID):
    """One line with %-slots for the numbers that vary line to line."""
    n = str(rng.randint(1, 9))
    msg = msg.replace("{n}", n)
    suuid = UUIDS[sender]
    return (
        '{"traceID":%d,"eventMessage":' + esc(msg).replace("%", "%%") +
        ',"eventType":"logEvent","source":null,"formatString":' + esc(fmt).replace("%", "%%") +
        ',"activityIdentifier":%d,"subsystem":' + esc(subsystem) + ',"category":' + esc(category) +
        ',"threadID":%d,"senderImageUUID":"' + suuid + '","backtrace":{"frames":[{"imageOffset":%d,'
        '"imageUUID":"' + suuid + '"}]},"bootUUID":"","processImagePath":' + esc(process) +
        ',"senderImagePath":' + esc(sender) + ',"timestamp":"%s","machTimestamp":%d,"messageType":"' + mtype +
        '","processImageUUID":"' + UUIDS[process] + '","processID":' + str(pid) +
        ',"senderProgramCounter":%d,"parentActivityIdentifier":%d,"timezoneName":""}\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--size-mib", type=float, default=1024)
    ap.add_argument("--pvg-fraction", type=float, default=0)
    a = ap.parse_args()
    target = int(a.size_mib * (1 << 20))

    # The common templates, weighted: short debug chatter most, long dumps rarely.
    weights = [8, 10, 12, 14, 14, 8, 1, 4, 2, 1, 2, 1, 1, 0, 1, 2, 8, 8, 1, 4, 6, 3]
    common = []
    for spec, w in zip(MESSAGES, weights):
        common += [template(*spec)] * w
    common += [template(*spec, process=APP, pid=APP_PID) for spec in APP_MESSAGES]
    rare_panic = template(*MESSAGES[13])
    pvg = [template(PVG_SUBSYSTEM, "renderer", PVG, t, f, m) for t, f, m in PVG_MESSAGES]
    if a.pvg_fraction > 0:
        # Dense: every PVG template but the negotiation (still once), frames
        # and resets, mixed into the common lines at the fraction asked
        # (weights out of 30).
        resets = [template(PVG_SUBSYSTEM, "device", PVG, t, f, m) for t, f, m in RESET_MESSAGES]
        dense = pvg[:1] + pvg[2:] + resets
        pvg += resets
        k = round(30 * a.pvg_fraction)
        common = [common[i * len(common) // (30 - k)] for i in range(30 - k)] + [dense[i % len(dense)] for i in range(k)]
    order = [rng.randrange(len(common)) for _ in range(65536)]
    deltas = [rng.choice((3, 17, 40, 112, 250, 600, 1500, 9000)) for _ in range(4099)]
    threads = [0x5A3F10 + rng.randrange(40) for _ in range(4111)]

    # Place the PVG lines: a few per million, the negotiation past the middle.
    sample = (1603955572864701, 0, 5914418, 106496, "2025-07-27 15:47:10.504315-0400", 4176277782461,
              106496, 0)
    avg = sum(len(common[i] % sample) for i in order[:8192]) / 8192
    approx_lines = max(1000, int(target / avg))
    # PVG_MESSAGES: 0 device created (first), 1 the negotiation (once, at
    # about 60%), 2 an error (last), 3 frames (the rest).
    k = max(4, round(approx_lines * 4e-6))
    at = {int(approx_lines * 0.05): pvg[0], int(approx_lines * 0.61): pvg[1],
          int(approx_lines * 0.93): pvg[2]}
    for i in range(k - 3):
        at.setdefault(int(approx_lines * (0.1 + 0.8 * i / max(1, k - 4))) + 1, pvg[3])
    at[int(approx_lines * 0.75) + 7] = rare_panic

    header = ('Filtering the log data using "subsystem == "%s" OR process == '
              '"com.apple.Virtualization.VirtualMachine" OR subsystem BEGINSWITH[c] '
              '"com.apple.virtualization""\n' % PVG_SUBSYSTEM)
    micros = (15 * 3600 + 47 * 60 + 10) * 1_000_000 + 504275
    mach_base = 2_812_345_678_901
    trace = 0x5B2C000000000 + rng.getrandbits(36)
    written = 0
    lines = 0
    expected = []
    n_pvg = 0
    sec_cache = (-1, "")
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(header)
        written += len(header)
        buf = []
        while written < target:
            t = at.get(lines)
            tmpl = t if t is not None else common[order[lines & 65535]]
            micros += deltas[lines % 4099]
            sec, us = divmod(micros, 1_000_000)
            if sec != sec_cache[0]:
                h, rem = divmod(sec % 86400, 3600)
                sec_cache = (sec, "2025-07-27 %02d:%02d:%02d." % (h, rem // 60, rem % 60))
            ts = "%s%06d-0400" % (sec_cache[1], us)
            trace += 4096 + (lines & 1023)
            line = tmpl % (trace, (lines * 7919) % 90000 if lines % 5 == 0 else 0, threads[lines % 4111],
                           0x1A000 + (lines * 131) % 0x40000, ts, mach_base + micros * 24,
                           0x1A000 + (lines * 137) % 0x40000, 0)
            if tmpl in pvg:
                n_pvg += 1
                if len(expected) < 100:   # the first ones in detail; a dense log has millions
                    expected.append({"line": lines + 2, "message": json.loads(line)["eventMessage"]})
            buf.append(line)
            written += len(line.encode()) if not line.isascii() else len(line)
            lines += 1
            if len(buf) >= 8192:
                f.write("".join(buf))
                buf = []
        f.write("".join(buf))
    print(json.dumps({"file": a.out, "bytes": written, "lines": lines + 1, "json_lines": lines,
                      "pvg_lines": n_pvg, "negotiation": NEGOTIATION, "pvg": expected}))


if __name__ == "__main__":
    sys.exit(main())
