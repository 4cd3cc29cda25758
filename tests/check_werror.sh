#!/bin/sh
# check_werror.sh -- a warning stops the build of ./macvm only under WERROR=1.
#
# A user's `make` must build on a compiler newer than ours, which may warn
# where ours does not; CI builds with WERROR=1 so that we see every warning
# first.  The warning is provoked on purpose: a header holding `#warning`,
# forced in with -include.  The build runs on a copy of the sources in a
# temporary folder, so nothing in the work tree changes.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp Makefile macvm.c bridge.h macvm.entitlements "$tmp/"
[ ! -f bridge.m ] || cp bridge.m "$tmp/"
printf '#warning "provoked on purpose by tests/check_werror.sh"\n' >"$tmp/provoke.h"
flags="-O0 -include $tmp/provoke.h"
cc=${CC:-cc}
# A plain make: nothing inherited from a make that runs this script (make test
# WERROR=1 passes WERROR down through MAKEFLAGS) or from CI's environment.
unset MAKEFLAGS MFLAGS MAKELEVEL WERROR

if ! make -s -C "$tmp" CC="$cc" CFLAGS="$flags" macvm >"$tmp/plain.log" 2>&1; then
  echo "check_werror: FAIL: plain make stopped on a warning:"; sed 's/^/    /' "$tmp/plain.log"; exit 1
fi
[ -x "$tmp/macvm" ] || { echo "check_werror: FAIL: plain make built no ./macvm"; exit 1; }
grep -q 'provoked on purpose' "$tmp/plain.log" ||
  { echo "check_werror: FAIL: plain make did not show the warning"; sed 's/^/    /' "$tmp/plain.log"; exit 1; }

rm -f "$tmp/macvm"
if make -s -C "$tmp" CC="$cc" CFLAGS="$flags" WERROR=1 macvm >"$tmp/strict.log" 2>&1; then
  echo "check_werror: FAIL: make WERROR=1 built despite a warning"; exit 1
fi
[ ! -e "$tmp/macvm" ] || { echo "check_werror: FAIL: make WERROR=1 left a ./macvm"; exit 1; }
echo "check_werror: a warning builds ./macvm with plain make and stops make WERROR=1"
