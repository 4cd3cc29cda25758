# Shared helpers for the benchmarks (POSIX sh; sourced, not run).
#
# Each benchmark script calls bench_setup NAME first: it gets a work directory
# $D under $BENCH_WORK (made by run.sh) or, when run alone, under
# ${BENCH_DIR:-build/bench}, and removes it when it exits.

MACVM=${MACVM:-./macvm}
BENCH_DIR=${BENCH_DIR:-build/bench}
BENCH_QUICK=${BENCH_QUICK:-}
HERE=$(dirname "$0")

# The python3 the comparisons run: the system's when there is one, else the
# interpreter behind `python3` (not a pyenv shim, whose startup is ~70 ms).
if [ -n "${BENCH_PYTHON:-}" ]; then
    PY=$BENCH_PYTHON
elif [ -x /usr/bin/python3 ]; then
    PY=/usr/bin/python3
else
    PY=$(python3 -c 'import sys; print(sys.executable)')
fi

bench_cleanup() {
    [ -n "${D:-}" ] && rm -rf "$D"
    if [ -n "${OWN_WORK:-}" ]; then
        rm -rf "$OWN_WORK"
        rmdir "$BENCH_DIR" 2>/dev/null || true
    fi
}

bench_setup() {
    BENCH_NAME=$1
    OWN_WORK=
    case ${BENCH_WORK:-$BENCH_DIR} in
        *[[:space:]]*)
            echo "$BENCH_NAME: the work directory '${BENCH_WORK:-$BENCH_DIR}' has white space: set BENCH_DIR" >&2
            exit 2
            ;;
    esac
    if [ -z "${BENCH_WORK:-}" ]; then
        mkdir -p "$BENCH_DIR"
        BENCH_WORK=$(mktemp -d "$BENCH_DIR/$BENCH_NAME.XXXXXX")
        OWN_WORK=$BENCH_WORK
    fi
    D=$BENCH_WORK/$BENCH_NAME
    rm -rf "$D"
    mkdir -p "$D"
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

have() { command -v "$1" >/dev/null 2>&1; }

die() { echo "$BENCH_NAME: FAIL: $*" >&2; exit 1; }

note() { echo "  note: $*"; }

# macvm_probe CMD OUT -- ARGS...: runs ./macvm ARGS, stdout+stderr to OUT.
# Returns 0 when it ran (whatever its exit status, which is left in $MACVM_RC),
# 1 (after saying so) when macvm is missing or does not know the command yet.
macvm_probe() {
    _cmd=$1 _out=$2
    shift 3
    MACVM_RC=0
    if [ ! -x "$MACVM" ]; then
        echo "  $BENCH_NAME: $MACVM is not built: skipping the macvm side"
        return 1
    fi
    "$MACVM" "$@" >"$_out" 2>"$_out.err" || MACVM_RC=$?
    if [ "$MACVM_RC" -ne 0 ] &&
        grep -qiE "unknown (sub)?command|not a (macvm )?command|unrecognized command|invalid command|no such command" "$_out.err"; then
        echo "  $BENCH_NAME: macvm lacks command '$_cmd' yet: skipping the macvm side ($(head -n 1 "$_out.err"))"
        return 1
    fi
    return 0
}

# gen_ulog LOG SIZE_MIB [gen_ulog.py options]: writes LOG (tests/bench/gen_ulog.py)
# and sets g_bytes, g_lines and g_pvg_lines from what it says it wrote.
gen_ulog() {
    _log=$1 _mib=$2
    shift 2
    python3 "$HERE/gen_ulog.py" "$_log" --size-mib "$_mib" "$@" >"$D/gen.json"
    eval "$(python3 -c 'import json,sys
g = json.load(open(sys.argv[1]))
for k in ("bytes", "lines", "pvg_lines"):
    print("g_%s=%d" % (k, g[k]))' "$D/gen.json")"
}

# now_ns: a clock in nanoseconds.
now_ns() { date +%s%N; }

# measure RUNS WARMUP COMMAND
#   Times COMMAND (one shell string; output discarded) and prints
#   "MEAN_S STDDEV_S RUNS".  RUNS may be "auto" (hyperfine's default: at least
#   10 runs and 3 s).  Uses hyperfine when present, else a date +%s%N loop.
#   Commands without shell syntax run without a shell (hyperfine -N).
measure() {
    _runs=$1 _warm=$2 _c=$3
    case $_c in
        *[\|\>\<\;\&\$\`\(\)]*) _plain= ;;
        *) _plain=1 ;;
    esac
    if have hyperfine && [ -z "${BENCH_NO_HYPERFINE:-}" ]; then
        _json=$D/.hyperfine.json
        set -- --style none --warmup "$_warm" --export-json "$_json"
        [ "$_runs" = auto ] || set -- "$@" --runs "$_runs"
        [ -n "$_plain" ] && set -- "$@" -N
        hyperfine "$@" "$_c" >"$D/.hyperfine.log" 2>&1 || {
            cat "$D/.hyperfine.log" >&2
            return 1
        }
        python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))["results"][0]
print(r["mean"], r["stddev"] or 0, len(r["times"]))' "$_json"
    else
        [ "$_runs" = auto ] && _runs=20
        _i=0
        while [ "$_i" -lt "$_warm" ]; do
            _run_once "$_c" || return 1
            _i=$((_i + 1))
        done
        _i=0
        _ts=
        while [ "$_i" -lt "$_runs" ]; do
            _t0=$(now_ns)
            _run_once "$_c" || return 1
            _t1=$(now_ns)
            _ts="$_ts $((_t1 - _t0))"
            _i=$((_i + 1))
        done
        stats_ns $_ts
    fi
}

# stats_ns NS...: prints "MEAN_S STDDEV_S COUNT" of durations in nanoseconds.
stats_ns() {
    echo "$@" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; m = s / NF
        v = 0; for (i = 1; i <= NF; i++) v += ($i - m) ^ 2
        printf "%.9f %.9f %d\n", m / 1e9, (NF > 1 ? sqrt(v / (NF - 1)) : 0) / 1e9, NF }'
}

_run_once() {
    if [ -n "$_plain" ]; then
        (set -f; exec $1) >/dev/null 2>&1
    else
        sh -c "$1" >/dev/null 2>&1
    fi
}

# fmt_time SECONDS -> "2.10 ms", "1.23 s"
fmt_time() {
    awk -v t="$1" 'BEGIN {
        if (t < 0.001) printf "%.0f us", t * 1e6
        else if (t < 0.01) printf "%.2f ms", t * 1e3
        else if (t < 1) printf "%.1f ms", t * 1e3
        else if (t < 100) printf "%.2f s", t
        else printf "%.0f s", t }'
}

# ratio BASE OTHER -> "148x" (OTHER / BASE: how many times faster BASE is)
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a <= 0) { printf "n/a"; exit }
        r = b / a
        if (r >= 10) printf "%.0fx", r; else printf "%.1fx", r }'
}

# fmt_bytes N -> "1.00 GiB", "204 KiB"
fmt_bytes() {
    awk -v n="$1" 'BEGIN {
        if (n >= 2^30) printf "%.2f GiB", n / 2^30
        else if (n >= 2^20) printf "%.1f MiB", n / 2^20
        else if (n >= 1024) printf "%.0f KiB", n / 1024
        else printf "%d B", n }'
}

# row LABEL MEAN STDDEV RUNS [EXTRA]: one line of a benchmark's table.
row() {
    _sd=$(fmt_time "$3")
    [ "$4" = 1 ] && _sd=-
    printf "  %-50s %10s %10s %5s  %s\n" "$1" "$(fmt_time "$2")" "$_sd" "$4" "${5:-}"
}

row_head() {
    printf "  %-50s %10s %10s %5s  %s\n" "command" "mean" "stddev" "runs" "${1:-}"
}
