#!/bin/sh
# The test command: installs what is missing, builds in build/, runs
# `make check` (GLib tests, TAP).  Prints "N passed, N failed" at the end.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/contrib/install-deps.sh"
cd "$top"
[ -x configure ] || autoreconf -fi
mkdir -p build
cd build
[ -f Makefile ] || ../configure -q
make -j"$(nproc)" >/dev/null
status=0
make -j"$(nproc)" check || status=$?
pass=$(sed -n 's/^# PASS: *//p' test-suite.log | head -1)
fail=$(sed -n 's/^# FAIL: *//p' test-suite.log | head -1)
errs=$(sed -n 's/^# ERROR: *//p' test-suite.log | head -1)
skip=$(sed -n 's/^# SKIP: *//p' test-suite.log | head -1)
[ "$status" -eq 0 ] || cat test-suite.log | tail -100
echo "${pass:-0} passed, $(( ${fail:-0} + ${errs:-0} )) failed, ${skip:-0} skipped"
exit "$status"
