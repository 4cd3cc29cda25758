#!/bin/sh
# pvgdense: a log dense in paravirtualized-graphics lines (a third of them), as
# a renderer resetting in a loop writes it.
#
#   ./macvm pvg-log --log FILE >OUT
#   vs grep -F ParavirtualizedGraphics FILE >OUT
#
# FILE (tests/bench/gen_ulog.py --pvg-fraction 0.33) is `log stream --style
# ndjson` output of 1 GiB: a header line, then JSON lines of which a third
# come from com.apple.gpusw.ParavirtualizedGraphics (frames, "Device reset",
# displays destroyed and created again, the negotiation once).  Here every
# third line must be parsed, where the sparse log of pvglog.sh lets macvm skip
# almost all of them.  Both write what they find to a file (grep: the whole
# lines; macvm: timestamp, category and message, then the counts and the
# timeline).  Target: macvm no slower than grep.
set -eu
. "$(dirname "$0")/lib.sh"
bench_setup pvgdense

size_mib=1024 runs=5
if [ -n "$BENCH_QUICK" ]; then
    size_mib=64 runs=2
fi
log=$D/dense.ndjson
gen_ulog "$log" "$size_mib" --pvg-fraction 0.33
echo "pvgdense: $(fmt_bytes "$g_bytes") ndjson log, $g_lines lines, $g_pvg_lines of them paravirtualized graphics"
cat "$log" >/dev/null

# --- validate --------------------------------------------------------------
grep -F ParavirtualizedGraphics "$log" >"$D/grep.out"
n=$(wc -l <"$D/grep.out")
[ "$n" -eq $((g_pvg_lines + 1)) ] || die "grep -F found $n lines, want $((g_pvg_lines + 1)) (the header too)"
macvm_probe pvg-log "$D/macvm.out" -- pvg-log --log "$log" || { echo "pvgdense: macvm not measured"; exit 0; }
[ "$MACVM_RC" -eq 0 ] || die "./macvm pvg-log --log exited $MACVM_RC"
grep -q "^Negotiation: guest requested 43, host set 31" "$D/macvm.out" || die "macvm pvg-log missed the negotiation"
grep -q "Reset loop: " "$D/macvm.out" || die "macvm pvg-log missed the reset loop"
shown=$(grep -c '  renderer  \|  device  ' "$D/macvm.out" || true)
[ "$shown" -eq "$g_pvg_lines" ] || die "macvm pvg-log listed $shown PVG lines, want $g_pvg_lines"

# --- time ------------------------------------------------------------------
echo "#!/bin/sh" >"$D/macvm.sh"
echo "exec $MACVM pvg-log --log $log >$D/macvm.out" >>"$D/macvm.sh"
echo "#!/bin/sh" >"$D/grep.sh"
echo "exec grep -F ParavirtualizedGraphics $log >$D/grep.out" >>"$D/grep.sh"
row_head "$(printf "%11s" "throughput")"
for t in macvm grep; do
    r=$(measure "$runs" 1 "sh $D/$t.sh") || die "timing $t failed"
    set -- $r
    eval "${t}_mean=$1"
    label="./macvm pvg-log --log FILE >OUT"
    [ "$t" = grep ] && label="grep -F ParavirtualizedGraphics FILE >OUT"
    row "$label" "$1" "$2" "$3" "$(awk -v b="$g_bytes" -v t="$1" 'BEGIN { printf "%6.0f MB/s", b / 1e6 / t }')"
done
awk -v m="$macvm_mean" -v g="$grep_mean" 'BEGIN { r = m / g
    printf "pvgdense: macvm takes %.2fx grep'"'"'s time (target: no slower, 1.00x or less: %s)\n", r, (r <= 1 ? "met" : "MISSED") }'
