#!/bin/sh
# clone: copy a VM bundle, keeping its holes.
#
#   ./macvm clone SRC DST   vs   cp -a --sparse=always SRC DST
#
# SRC (tests/bench/gen_bundle.py) is laid out as Apple's sample lays a bundle
# out: Disk.img 16 GiB sparse holding 2 GiB of random bytes in scattered
# 64 MiB extents, AuxiliaryStorage 32 MiB + 16 KiB, HardwareModel,
# MachineIdentifier.  Each tool runs 3 times, alternating, DST removed (and
# `sync`ed) between runs; the first run of each is checked (same bytes, same
# holes, same modes) and not timed.  Times are until the command returns: the
# page cache is not dropped (not possible here), so SRC is read from memory and
# DST's write-back happens after the clock stops, for both tools alike.  Both
# tools spend their time in the kernel copying pages, and on this kind of VM
# that varies by +-50% from run to run: the mean and the best run are shown.
set -eu
. "$(dirname "$0")/lib.sh"
bench_setup clone

disk_gib=16 data_mib=2048 extent_mib=64 runs=3
if [ -n "$BENCH_QUICK" ]; then
    disk_gib=2 data_mib=256 extent_mib=16 runs=2
fi

src=$D/VM.bundle
dst=$D/Clone.bundle
python3 "$HERE/gen_bundle.py" "$src" --disk-gib "$disk_gib" --data-mib "$data_mib" \
    --extent-mib "$extent_mib" >"$D/gen.json"
eval "$(python3 -c 'import json,sys
g = json.load(open(sys.argv[1]))
for k in ("disk_size", "data_bytes", "extents", "extent_bytes"):
    print("g_%s=%d" % (k, g[k]))' "$D/gen.json")"
fs=$(findmnt -n -o FSTYPE -T "$D" 2>/dev/null || stat -f -c %T "$D" 2>/dev/null || echo "?")
src_kib=$(du -sk "$src" | cut -f1)
echo "clone: bundle with Disk.img $(fmt_bytes "$g_disk_size") sparse holding $(fmt_bytes "$g_data_bytes")" \
    "in $g_extents scattered $(fmt_bytes "$g_extent_bytes") extents, AuxiliaryStorage 32 MiB + 16 KiB," \
    "HardwareModel, MachineIdentifier; $src_kib KiB allocated; file system: $fs"
sync

# check DST against SRC (bytes, holes, modes); prints the allocated KiB of DST
check() {
    python3 "$HERE/cmp_tree.py" "$src" "$dst" >"$D/cmp.json" || die "$1: DST differs from SRC"
}

# --- validate each tool once (this also warms the page cache) ---------------
rm -rf "$dst"
cp -a --sparse=always "$src" "$dst"
check "cp -a --sparse=always"
rm -rf "$dst"
sync

macvm_ok=
if macvm_probe clone "$D/macvm.out" -- clone "$src" "$dst"; then
    if [ "$MACVM_RC" -ne 0 ]; then
        cat "$D/macvm.out" "$D/macvm.out.err" >&2
        die "./macvm clone exited $MACVM_RC"
    fi
    check "./macvm clone"
    said=$(cat "$D/macvm.out" "$D/macvm.out.err" | head -n 4)
    [ -n "$said" ] && echo "$said" | sed 's/^/  macvm clone says: /'
    if grep -qiE 'FICLONE|copy-on-write|reflink|clonefile' "$D/macvm.out" "$D/macvm.out.err" &&
        ! grep -qiE 'fell back|fallback|not supported|unsupported|sparse copy|copied' "$D/macvm.out" "$D/macvm.out.err"; then
        echo "  macvm clone reports a copy-on-write clone (FICLONE)"
    else
        echo "  macvm clone reports no copy-on-write clone (on $fs it copies, keeping holes)"
    fi
    if have filefrag; then
        shared=$(filefrag -v "$dst/Disk.img" 2>/dev/null | grep -c shared || true)
        echo "  Disk.img extents shared with SRC (filefrag -v): ${shared:-0}"
    fi
    macvm_ok=1
    rm -rf "$dst"
    sync
fi

# --- time: alternate the tools ----------------------------------------------
m_ns='' c_ns='' m_kib='' c_kib=''
i=0
while [ "$i" -lt "$runs" ]; do
    if [ -n "$macvm_ok" ]; then
        t0=$(now_ns)
        "$MACVM" clone "$src" "$dst" >/dev/null 2>&1 || die "./macvm clone failed on run $((i + 1))"
        t1=$(now_ns)
        m_ns="$m_ns $((t1 - t0))"
        m_kib=$(du -sk "$dst" | cut -f1)
        rm -rf "$dst"
        sync
    fi
    t0=$(now_ns)
    cp -a --sparse=always "$src" "$dst"
    t1=$(now_ns)
    c_ns="$c_ns $((t1 - t0))"
    c_kib=$(du -sk "$dst" | cut -f1)
    rm -rf "$dst"
    sync
    i=$((i + 1))
done

# best NS...: the shortest time, in seconds
best() { echo "$@" | awk '{ m = $1; for (i = 2; i <= NF; i++) if ($i < m) m = $i; printf "%.9f\n", m / 1e9 }'; }

row_head "$(printf "%10s  %s" best "DST allocated (du -sk; SRC $src_kib KiB)")"
line="clone:"
if [ -n "$macvm_ok" ]; then
    set -- $(stats_ns $m_ns)
    m_mean=$1 m_best=$(best $m_ns)
    row "./macvm clone SRC DST" "$@" "$(printf "%10s  %s" "$(fmt_time "$m_best")" "$m_kib KiB")"
    line="$line macvm $(fmt_time "$m_mean"),"
fi
set -- $(stats_ns $c_ns)
c_mean=$1 c_best=$(best $c_ns)
row "cp -a --sparse=always SRC DST" "$@" "$(printf "%10s  %s" "$(fmt_time "$c_best")" "$c_kib KiB")"
line="$line cp -a --sparse=always $(fmt_time "$c_mean")"
if [ -n "$macvm_ok" ]; then
    line="$line ($(ratio "$m_mean" "$c_mean"); best of $runs: $(fmt_time "$m_best") vs $(fmt_time "$c_best"), $(ratio "$m_best" "$c_best"))"
    line="$line; allocated: SRC $src_kib KiB, macvm $m_kib KiB, cp $c_kib KiB"
else
    line="$line (macvm: not measured); allocated: SRC $src_kib KiB, cp $c_kib KiB"
fi
echo "$line"
