#!/bin/sh
# pvglog: find the paravirtualized-graphics lines in a 1 GiB unified log.
#
#   ./macvm pvg-log --log FILE (and --json)
#   vs grep -F ParavirtualizedGraphics FILE
#   vs tail -n +2 FILE | jq -c 'select(.subsystem == "com.apple.gpusw.ParavirtualizedGraphics")'
#
# FILE (tests/bench/gen_ulog.py) is what `log stream --style ndjson` prints:
# a non-JSON header line, then ~1 million JSON lines, a few of them from
# com.apple.gpusw.ParavirtualizedGraphics (one is the version negotiation).
# jq stops at the header line, so it reads `tail -n +2` (the faster of the two
# ways; `jq -R 'fromjson? | ...'` takes ~25% longer).  grep matches the header
# line too.  Every tool writes its matches to a file (GNU grep stops at the
# first match when its output is /dev/null).  The log is read once first, so
# every tool reads it from the page cache.  jq runs once, the others 3 times.
# Peak memory is max RSS from /usr/bin/time -f %M.
set -eu
. "$(dirname "$0")/lib.sh"
bench_setup pvglog

size_mib=1024 runs=3
if [ -n "$BENCH_QUICK" ]; then
    size_mib=64 runs=2
fi
PVG=com.apple.gpusw.ParavirtualizedGraphics

log=$D/vm.ndjson
gen_ulog "$log" "$size_mib"
echo "pvglog: $(fmt_bytes "$g_bytes") ndjson log (log stream --style ndjson), $g_lines lines," \
    "$g_pvg_lines from $PVG (1 the version negotiation)"
cat "$log" >/dev/null

TIME=
if [ -x /usr/bin/time ]; then
    TIME=/usr/bin/time
else
    note "/usr/bin/time is missing (apt-get install time): no peak memory"
fi

# wrapper NAME COMMAND...: a script that runs COMMAND with its matches to
# $D/NAME.out and its max RSS (KiB) to $D/NAME.rss.
wrapper() {
    _n=$1
    shift
    {
        echo "#!/bin/sh"
        if [ -n "$TIME" ]; then
            echo "exec $TIME -f %M -o $D/$_n.rss $* >$D/$_n.out"
        else
            echo "exec $* >$D/$_n.out"
        fi
    } >"$D/$_n.sh"
}
wrapper macvm "$MACVM" pvg-log --log "$log"
wrapper macvmjson "$MACVM" pvg-log --json --log "$log"
wrapper grep grep -F ParavirtualizedGraphics "$log"
# jq's pipeline: tail's RSS is small and fixed, the RSS measured is jq's.
{
    echo "#!/bin/sh"
    echo "tail -n +2 $log | ${TIME:+$TIME -f %M -o $D/jq.rss} jq -c 'select(.subsystem == \"$PVG\")' >$D/jq.out"
} >"$D/jq.sh"

# --- validate --------------------------------------------------------------
sh "$D/grep.sh"
n=$(wc -l <"$D/grep.out")
[ "$n" -eq $((g_pvg_lines + 1)) ] || die "grep -F found $n lines, want $((g_pvg_lines + 1)) (the header too)"
have_jq=
if have jq; then
    have_jq=1
else
    note "jq is not installed: skipping it"
fi

macvm_ok=
if macvm_probe pvg-log "$D/probe.out" -- pvg-log --log "$log"; then
    if [ "$MACVM_RC" -ne 0 ]; then
        cat "$D/probe.out" "$D/probe.out.err" | head -n 20 >&2
        die "./macvm pvg-log --log exited $MACVM_RC: it did not find the negotiation"
    fi
    grep -v "^ *$" "$D/probe.out" | head -n 6 | sed 's/^/  macvm pvg-log says: /'
    grep -q 43 "$D/probe.out" && grep -q 31 "$D/probe.out" ||
        echo "  warning: macvm pvg-log does not show the versions 43 and 31"
    "$MACVM" pvg-log --json --log "$log" >"$D/probe.json" || die "./macvm pvg-log --json --log exited $?"
    python3 - "$D/probe.json" <<'EOF' || die "./macvm pvg-log --json: not JSON"
import json, sys
text = open(sys.argv[1]).read()
try:
    docs = [json.loads(text)]
except ValueError:
    docs = [json.loads(l) for l in text.splitlines() if l.strip()]  # ndjson
flat = json.dumps(docs)
if "43" not in flat or "31" not in flat:
    print("  warning: macvm pvg-log --json does not mention the versions 43 and 31")
EOF
    macvm_ok=1
fi

# --- time ------------------------------------------------------------------
# result NAME LABEL RUNS: times $D/NAME.sh; sets NAME_mean, NAME_mbs, NAME_rss
result() {
    _r=$(measure "$3" 0 "sh $D/$1.sh") || die "timing $2 failed"
    set -- "$1" "$2" $_r
    _rss=n/a
    [ -s "$D/$1.rss" ] && _rss=$(awk '{ printf "%.1f MiB", $1 / 1024 }' "$D/$1.rss")
    _mbs=$(awk -v b="$g_bytes" -v t="$3" 'BEGIN { printf "%.0f", b / 1e6 / t }')
    row "$2" "$3" "$4" "$5" "$(printf "%6s MB/s %11s" "$_mbs" "$_rss")"
    eval "$1_mean=$3 $1_mbs=$_mbs; $1_rss='$_rss'"
}
row_head "$(printf "%11s %11s" "throughput" "max RSS")"
[ -n "$macvm_ok" ] && result macvm "./macvm pvg-log --log FILE" "$runs"
[ -n "$macvm_ok" ] && result macvmjson "./macvm pvg-log --json --log FILE" "$runs"
result grep "grep -F ParavirtualizedGraphics FILE" "$runs"
if [ -n "$have_jq" ]; then
    result jq "tail -n +2 FILE | jq -c 'select(.subsystem == ...)'" 1
    n=$(wc -l <"$D/jq.out")
    [ "$n" -eq "$g_pvg_lines" ] || die "jq found $n lines, want $g_pvg_lines"
fi

line="pvg-log:"
if [ -n "$macvm_ok" ]; then
    line="$line macvm $(fmt_time "$macvm_mean") ($macvm_mbs MB/s, $macvm_rss),"
fi
line="$line grep -F $(fmt_time "$grep_mean") ($grep_mbs MB/s, $grep_rss)"
[ -n "$have_jq" ] && line="$line, jq $(fmt_time "$jq_mean") ($jq_mbs MB/s, $jq_rss)"
echo "$line"
if [ -n "$macvm_ok" ]; then
    g=$(awk -v m="$macvm_mean" -v g="$grep_mean" 'BEGIN { r = m / g
        printf "%.2fx grep'"'"'s time (target: within 2x: %s)", r, (r <= 2 ? "met" : "MISSED") }')
    line="pvg-log: macvm takes $g"
    if [ -n "$have_jq" ]; then
        j=$(awk -v m="$macvm_mean" -v j="$jq_mean" 'BEGIN { r = j / m
            printf "%.1fx faster than jq (target: 10x or more: %s)", r, (r >= 10 ? "met" : "MISSED") }')
        line="$line; $j"
    fi
    echo "$line"
else
    echo "pvg-log: macvm not measured"
fi
