#!/bin/sh
# check_docs.sh: every command and every long option that macvm.c implements
# is documented in both macvm.1 and README.md.
#
# Commands come from the command table (static const struct command
# commands[]), long options from every `struct option` table.  A command counts
# as documented where "macvm NAME" appears; an option where "--NAME" appears
# and is not the start of a longer option (--debug-stub does not count for
# --debug-stub-all-interfaces).  The man page is read with its escapes undone
# (\-, \fB, \&, ...).  Prints what is missing and exits 1; exits 0 when
# nothing is.  POSIX sh; run from anywhere.
set -eu
cd "$(dirname "$0")/.."

SRC=macvm.c
for f in "$SRC" macvm.1 README.md; do
    if [ ! -f "$f" ]; then
        echo "check_docs: $f is missing" >&2
        exit 66
    fi
done

commands=$(sed -n '/^static const struct command commands\[\] = {/,/^};/p' "$SRC" |
    sed -n 's/^[[:space:]]*{"\([a-z0-9-]*\)", cmd_.*/\1/p' | sort -u)
options=$(awk '/struct option/ { on = 1 } on { print } on && /};/ { on = 0 }' "$SRC" |
    tr '{' '\n' | sed -n 's/^"\([a-z0-9-]*\)",.*/\1/p' | sort -u)

if [ -z "$commands" ] || [ -z "$options" ]; then
    echo "check_docs: found no commands or no options in $SRC: has its layout changed?" >&2
    exit 70
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/check_docs.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# The man page as plain text: font escapes, \- and \& undone.
sed -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\ / /g' macvm.1 >"$TMP/macvm.1"
cp README.md "$TMP/README.md"

missing=0
for doc in macvm.1 README.md; do
    for c in $commands; do
        if ! grep -Eq "macvm $c([^a-z0-9-]|\$)" "$TMP/$doc"; then
            echo "check_docs: $doc does not document the command '$c' (no \"macvm $c\")"
            missing=$((missing + 1))
        fi
    done
    for o in $options; do
        if ! grep -Eq -- "--$o([^a-z0-9-]|\$)" "$TMP/$doc"; then
            echo "check_docs: $doc does not mention the option --$o"
            missing=$((missing + 1))
        fi
    done
done

n_commands=$(echo "$commands" | wc -l | tr -d ' ')
n_options=$(echo "$options" | wc -l | tr -d ' ')
if [ "$missing" -ne 0 ]; then
    echo "check_docs: $missing missing ($n_commands commands, $n_options long options in $SRC)"
    exit 1
fi
echo "check_docs: all $n_commands commands and $n_options long options of $SRC are in macvm.1 and README.md"
