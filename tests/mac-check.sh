#!/bin/sh
# mac-check.sh: what a person with a new Mac runs once, and attaches to bug
# reports.  `make mac-check BUNDLE=~/VM.bundle [RUN_SECONDS=90]` builds and signs
# macvm first, then:
#   1. ./macvm doctor --probe BUNDLE: which features this Mac's Virtualization has;
#   2. boots disposable clones of BUNDLE (--ephemeral --headless: nothing of the
#      bundle changes) in each start mode the probe calls available: normal,
#      recovery, and with the GDB stub where macvm is entitled; each runs for
#      RUN_SECONDS, then gets a Ctrl-C as a user would (the guest is asked to shut
#      down) and, 60 s later if it still runs, a second one (forced);
#   3. prints one table: mode, started, stopped cleanly, time to start, log
#      lines captured, PVG negotiation seen.
# Everything goes to build/mac-check/ (probe.txt, table.md, each run's output).
# Off a Mac it says what it would do and exits 69.  $MACVM and $MAC_CHECK_OUT
# replace ./macvm and build/mac-check (the tests run it on a pretend Mac).
set -u
cd "$(dirname "$0")/.."
BUNDLE=${1:-}
SECONDS_EACH=${2:-90}
MACVM=${MACVM:-./macvm}
OUT=${MAC_CHECK_OUT:-build/mac-check}

plan() {
    cat <<PLAN
mac-check would, on a Mac with Apple Silicon:
  1. build and sign ./macvm (make), then run './macvm doctor --probe ${BUNDLE:-BUNDLE}'
  2. boot disposable clones of the bundle (--ephemeral --headless) in each start mode the
     probe calls available (normal, recovery, debug-stub when entitled), ${SECONDS_EACH} s each,
     stopping each with Ctrl-C (a second one after 60 s if the guest does not shut down)
  3. print a table (mode, started, stopped cleanly, time to start, log lines, PVG
     negotiation seen) to paste into a bug report, and keep it in $OUT/table.md
PLAN
}

if [ "$(uname -s)" != Darwin ]; then
    plan
    echo "mac-check: this is $(uname -s), not macOS: nothing was run" >&2
    exit 69
fi
if [ -z "$BUNDLE" ] || [ ! -d "$BUNDLE" ]; then
    echo "mac-check: give an installed bundle: make mac-check BUNDLE=~/VM.bundle" >&2
    exit 64
fi
case $SECONDS_EACH in
    ''|*[!0-9]*) echo "mac-check: SECONDS '$SECONDS_EACH' is not a number of seconds" >&2; exit 64 ;;
esac
mkdir -p "$OUT" || exit 73

"$MACVM" doctor --probe "$BUNDLE" >"$OUT/probe.txt" 2>&1
cat "$OUT/probe.txt"
available() { grep -Eq "^available +$1 " "$OUT/probe.txt"; }

# The newest run folder of the bundle's disposable runs.
logs="$(dirname "$BUNDLE")/$(basename "$BUNDLE").ephemeral-logs"
newest_run() { ls -1d "$logs"/*/ 2>/dev/null | tail -n 1; }
field() { plutil -extract "$2" raw -o - "$1/run.json" 2>/dev/null || echo -; }

# wait_up_to SECONDS PID: returns when PID has exited or SECONDS have passed.
wait_up_to() {
    waited=0
    while [ "$waited" -lt "$1" ] && kill -0 "$2" 2>/dev/null; do
        sleep 1
        waited=$((waited + 1))
    done
}

# Boots one mode, stops it as a user would, and prints its table row.
check_mode() {
    mode=$1
    shift
    before=$(newest_run)
    "$MACVM" run --ephemeral --headless "$@" "$BUNDLE" >"$OUT/$mode.out" 2>&1 &
    pid=$!
    wait_up_to "$SECONDS_EACH" "$pid"
    kill -INT "$pid" 2>/dev/null
    wait_up_to 60 "$pid"
    kill -INT "$pid" 2>/dev/null
    wait "$pid"
    dir=$(newest_run)
    if [ -z "$dir" ] || [ "$dir" = "$before" ]; then
        echo "| $mode | no run recorded (see $OUT/$mode.out) | - | - | - | - |"
        return
    fi
    result=$(field "$dir" outcome.result)
    started=$(field "$dir" outcome.vm_started)
    ms=$(field "$dir" outcome.start_ms)
    lines=$( [ -f "$dir/vz.ndjson" ] && wc -l <"$dir/vz.ndjson" | tr -d ' ' || echo 0)
    if "$MACVM" pvg-log --log "$dir/vz.ndjson" >/dev/null 2>&1; then pvg=yes; else pvg=no; fi
    clean=no
    [ "$result" = guest-stopped ] && clean=yes
    echo "| $mode | $started | $clean ($result) | ${ms} ms | $lines | $pvg |"
}

{
    echo "macvm mac-check: macOS $(sw_vers -productVersion) ($(sw_vers -buildVersion)), $(sysctl -n hw.model)"
    echo
    echo "| mode | started | stopped cleanly | time to start | log lines | PVG negotiation seen |"
    echo "|---|---|---|---|---|---|"
    check_mode normal
    for mode in recovery debug-stub; do   # each started with its option, --MODE
        if available "$mode"; then
            check_mode "$mode" "--$mode"
        else
            echo "| $mode | not available (probe) | - | - | - | - |"
        fi
    done
} | tee "$OUT/table.md"
echo "mac-check: attach $OUT/table.md and $OUT/probe.txt to your bug report"
