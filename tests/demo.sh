#!/bin/sh
# make demo: what macvm does on any machine, Linux or macOS, on the sample
# files in tests/fixtures.  For teaching: each step says what it shows, then
# runs the command and prints its real output.
#
# Run from the repo root after `make` (make demo does both).  Everything it
# creates goes into one temporary directory, removed when it ends however it
# ends.  It builds build/macvm-fake (macvm linked with the test suite's fake
# bridge) for the steps that need recorded runs.  Exits non-zero when a
# command does not end with the exit code the step expects, so it doubles as
# a smoke test.
set -eu

ROOT=$(pwd)
MACVM=$ROOT/macvm
FAKE=$ROOT/build/macvm-fake
FIX=tests/fixtures

if [ ! -x "$MACVM" ] || [ ! -d "$FIX" ]; then
    echo "demo: run me from the macvm repo root after 'make' (or just run 'make demo')" >&2
    exit 66
fi

DEMO=$(mktemp -d "${TMPDIR:-/tmp}/macvm-demo.XXXXXX")
cleanup() { rm -rf "$DEMO"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# step TITLE EXPLANATION: announces a step.
step() {
    printf '\n==> %s\n    %s\n' "$1" "$2"
}

# quote ARGS...: the arguments as a shell would need them typed.
quote() {
    for a in "$@"; do
        case $a in
        '' | *[!A-Za-z0-9_./=:,@%+-]*) printf ' "%s"' "$a" ;;
        *) printf ' %s' "$a" ;;
        esac
    done
}

# try CODE PROGRAM ARGS...: shows the command as a user types it, runs it,
# shows its output (standard error too), both with $DEMO for the scratch
# folder, and checks its exit code.
try() {
    want=$1
    shift
    prog=$1
    shift
    case $prog in
    "$MACVM") shown=macvm ;;
    "$FAKE") shown="MACVM_LOG_TOOL=\$DEMO/log-stand-in build/macvm-fake" ;;
    *) shown=$prog ;;
    esac
    printf '$ %s%s\n' "$shown" "$(quote "$@")" | sed "s|$DEMO|\$DEMO|g"
    rc=0
    out=$("$prog" "$@" 2>&1) || rc=$?
    if [ -n "$out" ]; then
        printf '%s\n' "$out" | sed "s|$DEMO|\$DEMO|g"
    fi
    if [ "$rc" -ne 0 ]; then
        echo "(exit $rc)"
    fi
    if [ "$rc" -ne "$want" ]; then
        echo "demo: expected exit $want, got $rc" >&2
        exit 1
    fi
}

# shown COMMAND...: shows a plain command and its output, $DEMO for the scratch folder.
shown() {
    printf '$ %s\n' "$*" | sed "s|$DEMO|\$DEMO|g"
    "$@" | sed "s|$DEMO|\$DEMO|g"
}

# sparse FILE SIZE_GIB: creates a sparse file, as Apple's sample makes Disk.img.
sparse() {
    if command -v truncate >/dev/null 2>&1; then
        truncate -s "${2}G" "$1"
    else
        mkfile -n "${2}g" "$1"    # macOS: -n allocates no blocks
    fi
}

echo "macvm demo on $(uname -sm).  Scratch folder: DEMO=$DEMO (removed at the end)."
echo "Nothing here starts a VM: that needs macOS 12 or later on Apple Silicon."

step "Inspect a restore image" \
    "macvm reads BuildManifest.plist out of the zip without unpacking it, and says whether the image installs in a VM."
try 0 "$MACVM" ipsw $FIX/ipsw/macOS-14.5-vm.ipsw

step "The same as JSON" \
    "--json prints one object with stable keys (listed in macvm(1)), for scripts."
try 0 "$MACVM" ipsw --json $FIX/ipsw/macOS-14.5-vm.ipsw

step "An image that is not for VMs" \
    "An iPhone image lists no VirtualMac2,1: the install would fail, so say it before 20 minutes are spent."
try 0 "$MACVM" ipsw $FIX/ipsw/iOS-not-vm.ipsw

step "Hostile images are refused in one line" \
    "A decompression bomb and a truncated download: one line naming the file and the problem, exit 65 (bad data)."
try 65 "$MACVM" ipsw $FIX/hostile/bomb.ipsw
try 65 "$MACVM" ipsw $FIX/hostile/truncated-eocd.ipsw

step "Make a bundle to look at" \
    "A copy of a sample bundle in Apple's layout, plus a 64 GiB sparse Disk.img that takes no disk space."
cp -R $FIX/bundles/configured "$DEMO/VM.bundle"
sparse "$DEMO/VM.bundle/Disk.img" 64
shown ls "$DEMO/VM.bundle"

step "Show a bundle" \
    "macvm info decodes HardwareModel and MachineIdentifier (binary plists), shows Config.plist (saying where the CPUs and memory come from) and the disk's real use."
try 0 "$MACVM" info "$DEMO/VM.bundle"

step "A folder that is not a bundle" \
    "The scratch folder holds none of a bundle's files (Disk.img, HardwareModel, MachineIdentifier, Config.plist, logs/): exit 66 (no input)."
try 66 "$MACVM" info "$DEMO"

step "Describe a run without running it" \
    "run --dry-run resolves every value the VM would get (here: booting into macOS Recovery) and stops there."
try 0 "$MACVM" run --dry-run --recovery "$DEMO/VM.bundle"

step "The debugging start options, as JSON" \
    "DFU mode, a GDB stub on port 5555 and kernel boot-args; --json is what run.json records for every real run."
try 0 "$MACVM" run --dry-run --json --dfu --debug-stub 5555 --boot-args "debug=0x14e -v" "$DEMO/VM.bundle"

step "Contradictory options are refused" \
    "DFU and Recovery are two different start modes: exit 64 (usage), before anything happens."
try 64 "$MACVM" run --dry-run --dfu --recovery "$DEMO/VM.bundle"

step "Where CPUs and memory come from" \
    "A bundle whose macOS needs 4 CPUs and 8 GiB (install records that), with CPUCount 2 in its Config.plist and no MemorySize.  info shows where each value comes from; the memory default is raised to what macOS needs."
mkdir "$DEMO/Beta.bundle"
cp $FIX/bundles/configured/HardwareModel $FIX/bundles/configured/MachineIdentifier \
    $FIX/bundles/configured/AuxiliaryStorage "$DEMO/Beta.bundle/"
sparse "$DEMO/Beta.bundle/Disk.img" 64
cat >"$DEMO/Beta.bundle/Config.plist" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>CPUCount</key>
	<integer>2</integer>
	<key>InstallCompleted</key>
	<true/>
	<key>InstalledBuild</key>
	<string>24A335</string>
	<key>InstalledFromIPSW</key>
	<string>UniversalMac_15.0_24A335_Restore.ipsw</string>
	<key>InstalledMinCPUCount</key>
	<integer>4</integer>
	<key>InstalledMinMemorySize</key>
	<integer>8589934592</integer>
	<key>InstalledProductVersion</key>
	<string>15.0</string>
</dict>
</plist>
EOF
try 0 "$MACVM" info "$DEMO/Beta.bundle"

step "A value that does not fit is refused where it was set" \
    "CPUCount 2 is below what macOS 15.0 needs.  From Config.plist: exit 78 (configuration) with the plutil command that fixes the file.  From --cpus: exit 64 (usage), naming the option value to use."
try 78 "$MACVM" run --dry-run "$DEMO/Beta.bundle"
try 64 "$MACVM" run --dry-run --cpus 2 "$DEMO/Beta.bundle"

step "Clone a bundle" \
    "Copy-on-write where the filesystem can (APFS, btrfs, XFS), otherwise a copy that keeps the disk's holes."
try 0 "$MACVM" clone "$DEMO/VM.bundle" "$DEMO/Repro.bundle"
echo "Logical sizes (ls -l), then the KiB each Disk.img really takes (du -k):"
shown ls -l "$DEMO/VM.bundle/Disk.img" "$DEMO/Repro.bundle/Disk.img"
shown du -k "$DEMO/VM.bundle/Disk.img" "$DEMO/Repro.bundle/Disk.img"

step "Clone never overwrites" \
    "The destination exists, so nothing is written: exit 73 (cannot create)."
try 73 "$MACVM" clone "$DEMO/VM.bundle" "$DEMO/Repro.bundle"

step "Paravirtualized graphics: log stream --style ndjson" \
    "The PVG lines of a captured log, then the renderer version negotiation and its verdict."
try 0 "$MACVM" pvg-log --log $FIX/logs/vz-stream.ndjson

step "The same events from log show --style json" \
    "One JSON array instead of one object a line: same lines, same verdict."
try 0 "$MACVM" pvg-log --log $FIX/logs/vz-show.json

step "The same events from log show's text style" \
    "Plain text columns: same lines, same verdict."
try 0 "$MACVM" pvg-log --log $FIX/logs/vz-show.txt

step "A log with no negotiation" \
    "The guest driver never connected: the lines are shown and the command exits 1 (nothing found)."
try 1 "$MACVM" pvg-log --log $FIX/logs/pvg-none.ndjson

step "Record a run (simulated)" \
    "No VM can run here.  build/macvm-fake is macvm linked with the test suite's fake bridge, which pretends to be a Mac (macOS 14.5, Apple M2) whose guest boots and shuts down at once.  A stand-in for /usr/bin/log prints a capture recorded on a Mac.  Everything else is the real macvm code: the run folder, run.json, the log capture."
make -s build/macvm-fake
cat >"$DEMO/log-stand-in" <<EOF
#!/bin/sh
# Stands in for /usr/bin/log: prints a capture recorded on a Mac, then waits
# until macvm stops it, as 'log stream' would.
cat "$ROOT/$FIX/logs/vz-stream.ndjson"
exec sleep 10
EOF
chmod +x "$DEMO/log-stand-in"
MACVM_LOG_TOOL=$DEMO/log-stand-in
export MACVM_LOG_TOOL
try 0 "$FAKE" run "$DEMO/Repro.bundle"
sleep 1    # run folders are named for their start time, to the second

step "A disposable run (simulated)" \
    "run --ephemeral runs a throwaway clone of the bundle and removes it when the VM stops.  The bundle itself is only read, so the run's record goes beside it, to Repro.bundle.ephemeral-logs/; the clone is gone."
try 0 "$FAKE" run --ephemeral "$DEMO/Repro.bundle"
unset MACVM_LOG_TOOL
shown ls -A "$DEMO"

step "Both runs are recorded" \
    "Each run gets a folder named for its start time, with vz.ndjson (the log) and run.json (what ran and how it ended).  info lists the bundle's runs and its disposable ones."
try 0 "$MACVM" info "$DEMO/Repro.bundle"

step "PVG lines of the bundle's newest run" \
    "With a bundle instead of --log, pvg-log reads the newest run that recorded a log: here the disposable one."
try 0 "$MACVM" pvg-log "$DEMO/Repro.bundle"

step "A Feedback report" \
    "Everything a Virtualization report needs, from the newest run (the disposable one).  ECID, MAC addresses, user names and home are redacted (the log's /Users/alice became ~).  The host facts are the fake bridge's."
try 0 "$MACVM" feedback "$DEMO/Repro.bundle"

step "Reports are never overwritten by accident" \
    "-o writes the file atomically; a second -o to the same file is refused without --force (exit 73)."
try 0 "$MACVM" feedback "$DEMO/Repro.bundle" -o "$DEMO/report.md"
try 73 "$MACVM" feedback "$DEMO/Repro.bundle" -o "$DEMO/report.md"

printf '\ndemo: done; every step ended as expected.  On a Mac: make run.\n'
