#!/bin/sh
# make bench: each benchmark against the tool a user would reach for otherwise.
#
#   ipsw.sh    ./macvm ipsw on a 20 GiB sparse Zip64 IPSW   vs unzip -p, python zipfile+plistlib
#   clone.sh   ./macvm clone of a 16 GiB sparse bundle      vs cp -a --sparse=always
#   pvglog.sh  ./macvm pvg-log --log on a 1 GiB ndjson log  vs grep -F, jq
#   pvgdense.sh ./macvm pvg-log --log on a 1 GiB log, a third of it PVG lines  vs grep -F
#
# Run from the repo root after `make` (make bench does both).  Work files go in
# a temporary directory under ${BENCH_DIR:-build/bench}, removed at the end;
# at most ~4.5 GiB of disk is used at a time (the 20 GiB IPSW and the 16 GiB
# disk image are sparse).  BENCH_QUICK=1 shrinks everything for a smoke run;
# BENCH_ONLY="ipsw pvglog" runs some of them.  Ratios are the other tool's
# time over macvm's: above 1, macvm is faster.  Timings are reported, never
# asserted; a wrong answer from any tool fails the run.
set -eu
BENCH_DIR=${BENCH_DIR:-build/bench}
HERE=$(dirname "$0")
MACVM=${MACVM:-./macvm}
export BENCH_DIR MACVM

command -v hyperfine >/dev/null 2>&1 ||
    echo "bench: hyperfine is missing: timing with a date +%s%N loop instead (coarser: each run includes starting date; Debian: apt-get install hyperfine)"
for tool in unzip jq /usr/bin/time; do
    command -v "$tool" >/dev/null 2>&1 ||
        echo "bench: $tool is missing: its comparison is left out (Debian: apt-get install $(basename "$tool"))"
done
command -v python3 >/dev/null 2>&1 || { echo "bench: python3 is needed to generate the inputs" >&2; exit 1; }
[ -x "$MACVM" ] || echo "bench: $MACVM is not built: only the other tools are measured"

case $BENCH_DIR in
    *[[:space:]]*) echo "bench: BENCH_DIR '$BENCH_DIR' has white space: name another" >&2; exit 2 ;;
esac
mkdir -p "$BENCH_DIR"
BENCH_WORK=$(mktemp -d "$BENCH_DIR/run.XXXXXX")
export BENCH_WORK
cleanup() {
    rm -rf "$BENCH_WORK"
    rmdir "$BENCH_DIR" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "bench: $(uname -sm), $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') CPUs, $MACVM${BENCH_QUICK:+ (BENCH_QUICK: small inputs, few runs)}"
status=0
for b in ${BENCH_ONLY:-ipsw clone pvglog pvgdense}; do
    echo
    sh "$HERE/$b.sh" || { status=1; echo "bench: $b FAILED" >&2; }
done
exit $status
