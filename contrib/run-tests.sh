#!/bin/sh
# The test command.  Installs what is missing (Debian packages), builds in
# build/, runs `make check` (GLib tests, TAP); then the same suite again
# built with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/),
# and the reader tests under valgrind.  Prints "N passed, N failed" last.
#
#   contrib/run-tests.sh            everything
#   NFSUB_QUICK=1 contrib/run-tests.sh   the plain build only
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/contrib/install-deps.sh" || exit 1
cd "$top" || exit 1
[ -x configure ] || autoreconf -fi || exit 1
jobs=$(nproc)
passed=0
failed=0
skipped=0
status=0

# count PASS/FAIL/ERROR/SKIP lines of one test-suite.log into the totals
tally () {
  p=$(sed -n 's/^# PASS: *//p' "$1" | head -1)
  f=$(sed -n 's/^# FAIL: *//p' "$1" | head -1)
  e=$(sed -n 's/^# ERROR: *//p' "$1" | head -1)
  x=$(sed -n 's/^# XPASS: *//p' "$1" | head -1)
  s=$(sed -n 's/^# SKIP: *//p' "$1" | head -1)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${x:-0}))
  skipped=$((skipped + ${s:-0}))
}

# phase NAME DIR CONFIGURE-ARGS -- MAKE-TARGET [VARS]
phase () {
  name=$1 dir=$2 conf=$3 target=$4
  shift 4
  echo "=== $name"
  mkdir -p "$top/$dir" && cd "$top/$dir" || return 1
  if [ ! -f Makefile ]; then
    # shellcheck disable=SC2086
    ../configure -q $conf || { status=1; return 1; }
  fi
  make -j"$jobs" >make.log 2>&1 || { tail -40 make.log; status=1; failed=$((failed + 1)); return 1; }
  rm -f test-suite.log
  # shellcheck disable=SC2068
  make -j"$jobs" "$target" "$@" >check.log 2>&1 || status=1
  grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP):' check.log | sed 's/^/  /' | grep -vE '^  PASS' || true
  if [ -f test-suite.log ]; then
    tally test-suite.log
    [ "$status" -eq 0 ] || sed -n '/^\(FAIL\|ERROR\): /,/^$/p' test-suite.log | head -200
  else
    tail -40 check.log
    failed=$((failed + 1))
  fi
}

phase "make check" build "" check
if [ -z "${NFSUB_QUICK:-}" ]; then
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  export ASAN_OPTIONS UBSAN_OPTIONS
  phase "make check under ASan+UBSan" build-asan "--enable-sanitizers" check
  unset ASAN_OPTIONS UBSAN_OPTIONS
  phase "reader tests under valgrind" build "" check-valgrind
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
