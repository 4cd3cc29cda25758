#!/bin/sh
# ipsw: what is in a restore image, from a 20 GiB sparse Zip64 IPSW.
#
#   ./macvm ipsw FILE (and --json)
#   vs unzip -p FILE BuildManifest.plist >/dev/null   (extracts only, no parsing)
#   vs python3 zipfile + plistlib, the same facts       (tests/bench/ipsw_py.py)
#
# The IPSW (tests/bench/gen_ipsw.py) holds ~300 small entries, five huge
# STORED entries whose data are holes, then BuildManifest.plist (~200 KB XML,
# deflated) behind them, so every reader has to go through the Zip64 end
# records and the central directory.  It costs ~10 MB of disk.
set -eu
. "$(dirname "$0")/lib.sh"
bench_setup ipsw

size_gib=20
runs=auto
if [ -n "$BENCH_QUICK" ]; then
    size_gib=6 # still past 4 GiB: Zip64 sizes and offsets
    runs=5
fi

ipsw=$D/UniversalMac_15.1_24B83_Restore.ipsw
python3 "$HERE/gen_ipsw.py" "$ipsw" --size-gib "$size_gib" >"$D/gen.json"
eval "$(python3 -c 'import json,sys
g = json.load(open(sys.argv[1]))
for k in ("size", "entries", "manifest_offset", "manifest_size", "manifest_compressed"):
    print("g_%s=%d" % (k, g[k]))' "$D/gen.json")"
echo "ipsw: $(fmt_bytes "$g_size") sparse Zip64 IPSW ($(du -k "$ipsw" | cut -f1) KiB on disk), $g_entries entries;" \
    "BuildManifest.plist $(fmt_bytes "$g_manifest_size") (deflated $(fmt_bytes "$g_manifest_compressed")) at offset $(fmt_bytes "$g_manifest_offset")"

# --- validate every tool before timing it --------------------------------
macvm_ok=
if macvm_probe ipsw "$D/macvm.out" -- ipsw "$ipsw"; then
    [ "$MACVM_RC" -eq 0 ] || {
        cat "$D/macvm.out.err" >&2
        die "./macvm ipsw exited $MACVM_RC"
    }
    grep -q '15\.1' "$D/macvm.out" || {
        cat "$D/macvm.out" >&2
        die "./macvm ipsw does not show product version 15.1"
    }
    grep -q '24B83' "$D/macvm.out" || die "./macvm ipsw does not show build 24B83"
    "$MACVM" ipsw --json "$ipsw" >"$D/macvm.json" || die "./macvm ipsw --json exited $?"
    python3 - "$D/macvm.json" <<'EOF' || die "./macvm ipsw --json: wrong or missing product_version"
import json, sys
doc = json.load(open(sys.argv[1]))
found = {}
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            found.setdefault(k.lower(), []).append(v)
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(doc)
pv = found.get("product_version") or found.get("productversion") or []
if "15.1" not in pv:
    sys.exit("product_version: %r, want 15.1" % (pv,))
# The rest is reported, not fatal.
values = json.dumps(doc)
for want in ("24B83", "VirtualMac2,1", "13.0.0", "4096"):
    if want not in values:
        print("  warning: macvm ipsw --json does not mention %s" % want)
EOF
    macvm_ok=1
fi

unzip_ok=
if have unzip; then
    [ "$(unzip -p "$ipsw" BuildManifest.plist | wc -c)" -eq "$g_manifest_size" ] ||
        die "unzip -p did not extract BuildManifest.plist"
    unzip_ok=1
else
    note "unzip is not installed: skipping it"
fi
"$PY" "$HERE/ipsw_py.py" "$ipsw" | grep -q '"product_version": "15.1"' ||
    die "the python3 reader did not find product version 15.1"

# --- time ------------------------------------------------------------------
row_head
line="ipsw:"
sep=" "
if [ -n "$macvm_ok" ]; then
    r=$(measure "$runs" 3 "$MACVM ipsw $ipsw") || die "timing failed"
    set -- $r
    m_mean=$1
    row "./macvm ipsw FILE" "$@"
    r=$(measure "$runs" 3 "$MACVM ipsw --json $ipsw") || die "timing failed"
    set -- $r
    mj_mean=$1
    row "./macvm ipsw --json FILE" "$@"
    line="$line macvm $(fmt_time "$m_mean") (--json $(fmt_time "$mj_mean"))"
    sep=", "
fi
if [ -n "$unzip_ok" ]; then
    r=$(measure "$runs" 3 "unzip -p $ipsw BuildManifest.plist") || die "timing failed"
    set -- $r
    u_mean=$1
    row "unzip -p FILE BuildManifest.plist >/dev/null" "$@"
    line="$line${sep}unzip -p $(fmt_time "$u_mean")"
    sep=", "
    [ -n "$macvm_ok" ] && line="$line ($(ratio "$m_mean" "$u_mean"))"
fi
r=$(measure "$runs" 3 "$PY $HERE/ipsw_py.py $ipsw") || die "timing failed"
set -- $r
p_mean=$1
row "python3 ipsw_py.py FILE (zipfile+plistlib)" "$@"
r=$(measure "$runs" 3 "$PY -c pass") || die "timing failed"
set -- $r
row "  python3 -c pass (startup alone)" "$@"
line="$line${sep}python zipfile+plistlib $(fmt_time "$p_mean")"
[ -n "$macvm_ok" ] && line="$line ($(ratio "$m_mean" "$p_mean"))"
[ -n "$macvm_ok" ] || line="$line (macvm: not measured)"
echo "$line"
