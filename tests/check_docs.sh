#!/bin/sh
# check_docs.sh: every command and every long option that macvm.c implements
# is documented where a user looks for it:
#   - each command has its section in macvm.1 (".SS macvm NAME") and its line
#     in `macvm help`;
#   - each long option of a command is in that command's section of macvm.1
#     and in `macvm help COMMAND` (--help, which every command has, once in
#     macvm.1).
# README.md is a newcomer's walkthrough and points to macvm.1: it is not
# required to list every option.
#
# Commands come from the command table (static const struct command
# commands[]).  A command's options are the `struct option` tables in its
# function (cmd_NAME) and in the functions it calls directly (the option
# loops shared by commands, such as parse_run_options).  An option counts as
# documented where "--NAME" appears and is not the start of a longer option
# (--debug-stub does not count for --debug-stub-all-interfaces).  The man page
# is read with its escapes undone (\-, \fB, \&, ...); the help is what the
# built macvm prints ($MACVM_BIN, default ./macvm).  Prints each thing missing
# and exits 1; exits 0 when nothing is.  POSIX sh; run from anywhere.
set -eu
cd "$(dirname "$0")/.."

SRC=macvm.c
MACVM=${MACVM_BIN:-./macvm}
for f in "$SRC" macvm.1; do
    if [ ! -f "$f" ]; then
        echo "check_docs: $f is missing" >&2
        exit 66
    fi
done
if [ ! -x "$MACVM" ]; then
    echo "check_docs: $MACVM is not built; run make first (or set MACVM_BIN)" >&2
    exit 66
fi

# "NAME cmd_function" for each row of the command table.
commands=$(sed -n '/^static const struct command commands\[\] = {/,/^};/p' "$SRC" |
    sed -n 's/^[[:space:]]*{"\([a-z0-9-]*\)", \(cmd_[a-z0-9_]*\),.*/\1 \2/p')

# "FUNCTION opt NAME" for each long option of a struct option table or of a
# parse_flag_option call, and
# "FUNCTION calls CALLEE" for each function called in a function's body.  A
# function starts at a line in column 0 that names it before "(" and is not a
# declaration (";") or data ("=").
facts=$(awk '
    /^[a-z][^;=]*[ *][a-z_][a-z0-9_]*\(/ && !/;[[:space:]]*$/ {
        s = $0; sub(/\(.*/, "", s); sub(/.*[ *]/, "", s); fn = s; next
    }
    /^}/ { fn = ""; table = 0; next }
    fn == "" { next }
    /struct option/ { table = 1 }
    table {
        s = $0
        while (match(s, /\{"[a-z0-9-]+",/)) {
            print fn, "opt", substr(s, RSTART + 2, RLENGTH - 4)
            s = substr(s, RSTART + RLENGTH)
        }
        if (/};/) table = 0
        next
    }
    /parse_flag_option\("[a-z-]+", "[a-z0-9-]+"/ {   # a command whose one option is a flag
        s = $0; sub(/.*parse_flag_option\("[a-z-]+", "/, "", s); sub(/".*/, "", s)
        print fn, "opt", s
    }
    {
        s = $0
        while (match(s, /[a-z_][a-z0-9_]*\(/)) {
            print fn, "calls", substr(s, RSTART, RLENGTH - 1)
            s = substr(s, RSTART + RLENGTH)
        }
    }' "$SRC" | sort -u)

if [ -z "$commands" ] || ! echo "$facts" | grep -q ' opt '; then
    echo "check_docs: found no commands or no options in $SRC: has its layout changed?" >&2
    exit 70
fi

# The options of one command's function and of the functions it calls.
options_of() {
    fn=$1
    callees=$(echo "$facts" | awk -v fn="$fn" '$1 == fn && $2 == "calls" { print $3 }' | tr '\n' ' ')
    echo "$facts" | awk -v fn="$fn" -v callees=" $callees" '
        $2 == "opt" && ($1 == fn || index(callees, " " $1 " ")) { print $3 }' | sort -u
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/check_docs.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# The man page as plain text: font escapes, \- and \& undone.
sed -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\ / /g' macvm.1 >"$TMP/macvm.1"
"$MACVM" help >"$TMP/help" || { echo "check_docs: '$MACVM help' failed" >&2; exit 70; }

mentions() {   # mentions FILE OPTION
    grep -Eq -- "--$2([^a-z0-9-]|\$)" "$1"
}

missing=0
n_commands=0
attributed=""
for c in $(echo "$commands" | awk '{ print $1 }'); do
    n_commands=$((n_commands + 1))
    fn=$(echo "$commands" | awk -v c="$c" '$1 == c { print $2 }')
    # The command's section of the man page, up to the next section.
    awk -v c="$c" '/^\.S[SH] / { on = ($0 ~ "^\\.SS macvm " c "( |$)") } on' "$TMP/macvm.1" >"$TMP/man-$c"
    if [ ! -s "$TMP/man-$c" ]; then
        echo "check_docs: macvm.1 has no section for the command '$c' (no \".SS macvm $c\")"
        missing=$((missing + 1))
    fi
    if ! grep -Eq "^  $c +[^ ]" "$TMP/help"; then
        echo "check_docs: 'macvm help' has no line for the command '$c'"
        missing=$((missing + 1))
    fi
    "$MACVM" help "$c" >"$TMP/help-$c" || { echo "check_docs: '$MACVM help $c' failed" >&2; exit 70; }
    for o in $(options_of "$fn"); do
        attributed="$attributed $o"
        [ "$o" = help ] && continue
        if ! mentions "$TMP/man-$c" "$o"; then
            echo "check_docs: macvm.1's section on '$c' does not mention its option --$o"
            missing=$((missing + 1))
        fi
        if ! mentions "$TMP/help-$c" "$o"; then
            echo "check_docs: 'macvm help $c' does not mention its option --$o"
            missing=$((missing + 1))
        fi
    done
done

# Every option belongs to a command, and --help is in the man page once.
all=$(echo "$facts" | awk '$2 == "opt" { print $3 }' | sort -u)
for o in $all; do
    case " $attributed " in
    *" $o "*) ;;
    *)  echo "check_docs: --$o is in an option table that no command's function uses directly: has the layout changed?"
        missing=$((missing + 1)) ;;
    esac
done
if ! mentions "$TMP/macvm.1" help; then
    echo "check_docs: macvm.1 does not mention the option --help"
    missing=$((missing + 1))
fi

n_options=$(echo "$all" | wc -l | tr -d ' ')
if [ "$missing" -ne 0 ]; then
    echo "check_docs: $missing missing ($n_commands commands, $n_options long options in $SRC)"
    exit 1
fi
echo "check_docs: all $n_commands commands and $n_options long options of $SRC are in macvm.1 and in 'macvm help'"
