#!/bin/sh
# Reading benchmark: nfsub against nfdump on the same nfcapd files.
#
# Builds (once, cached) a file of BENCH_FLOWS flows per compression with
# contrib/nfsim feeding a real nfcapd on loopback, checks that nfsub's
# per-protocol byte sums equal nfdump's, then times, best of BENCH_RUNS:
#   - bench/bench-read: the reader alone, summing bytes per protocol
#   - nfsub process with the `proto` example plugin (the whole pipeline)
#   - nfdump -r F -q -N -A proto -o 'fmt:%pr %byt'
# each pinned to one core (taskset) and, for nfdump, also unpinned (it
# decompresses in a second thread).  The programs take turns, so load from
# other jobs spreads over all of them.  Prints flows/s, µs/flow, ratios.
#
# Environment: NFSUB_BUILDDIR (default .), BENCH_FLOWS (5000000),
# BENCH_DATA (builddir/bench/data), BENCH_RUNS (3), BENCH_COMPRESSIONS
# ("lz4 lzo"), NFCAPD, NFDUMP.
set -eu

B=${NFSUB_BUILDDIR:-.}
FLOWS=${BENCH_FLOWS:-5000000}
DATA=${BENCH_DATA:-$B/bench/data}
RUNS=${BENCH_RUNS:-3}
COMPRESSIONS=${BENCH_COMPRESSIONS:-lz4 lzo}
NFCAPD=${NFCAPD:-nfcapd}
NFDUMP=${NFDUMP:-nfdump}
NFSIM=$B/contrib/nfsim/nfsim
READER=$B/bench/bench-read
NFSUB=$B/src/nfsub
PIN=""
if command -v taskset >/dev/null 2>&1; then PIN="taskset -c 0"; fi

say () { printf '%s\n' "$*" >&2; }
die () { say "bench: $*"; exit 1; }

for t in "$NFSIM" "$READER"; do [ -x "$t" ] || die "$t is not built (run make bench)"; done
command -v "$NFCAPD" >/dev/null 2>&1 || die "no nfcapd"
command -v "$NFDUMP" >/dev/null 2>&1 || die "no nfdump"

now_ns () { date +%s%N; }

# wall time in seconds of one run of "$@" (output discarded)
time_once () {
  t0=$(now_ns)
  "$@" >/dev/null 2>&1 || die "failed: $*"
  t1=$(now_ns)
  awk -v d="$(( t1 - t0 ))" 'BEGIN { print d / 1e9 }'
}

min () { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b < a) print b; else print a }'; }

udp_bound () { grep -qi ":$(printf '%04X' "$1") " /proc/net/udp; }

free_port () {
  p=$(( 20000 + $$ % 30000 ))
  while udp_bound $p; do p=$((p + 1)); done
  echo $p
}

# make_file NAME NFCAPD_FLAG -> prints the path of a FLOWS-flow file
make_file () {
  name=$1 flag=$2
  dir=$DATA/$name-$FLOWS
  if [ -f "$dir/ok" ]; then cat "$dir/ok"; return; fi
  for rate in 400000 200000 100000; do
    rm -rf "$dir"; mkdir -p "$dir"
    port=$(free_port)
    "$NFCAPD" -w "$dir" -p "$port" -b 127.0.0.1 -t 3600 -P "$dir/nfcapd.pid" \
      -B 8000000 $flag >"$dir/nfcapd.log" 2>&1 &
    pid=$!
    n=0; while ! udp_bound "$port" && [ $n -lt 500 ]; do sleep 0.01; n=$((n+1)); done
    say "bench: generating $FLOWS flows into nfcapd $flag (nfsim at $rate flows/s)"
    "$NFSIM" -t "127.0.0.1:$port" -n "$FLOWS" -S 1 -s 1 -r "$rate" >/dev/null
    sleep 1
    kill "$pid"; wait "$pid" || true
    set -- "$dir"/nfcapd.2*
    if [ $# -eq 1 ] && [ -f "$1" ]; then
      got=$("$NFDUMP" -r "$1" -I | awk '/^Flows:/ { print $2 }')
      if [ "$got" = "$FLOWS" ]; then echo "$1" >"$dir/ok"; echo "$1"; return; fi
      say "bench: nfcapd stored $got of $FLOWS flows; again, slower"
    else
      say "bench: nfcapd rotated during the run; again"
    fi
  done
  die "could not build a $FLOWS-flow file"
}

# nfsub's and nfdump's per-protocol byte sums must agree before timing
check_sums () {
  "$READER" -n 1 "$1" | grep -v '^nfsub-reader' | sort >"$WORK/sums.nfsub"
  "$NFDUMP" -r "$1" -q -N -A proto -o 'fmt:%pr %byt' | awk '{ print $1, $2 }' \
    | sort >"$WORK/sums.nfdump"
  cmp -s "$WORK/sums.nfsub" "$WORK/sums.nfdump" \
    || die "per-protocol bytes differ from nfdump for $1"
}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

HAVE_PROCESS=0
if [ -x "$NFSUB" ] && [ -n "${NFSUB_PLUGIN_PATH:-}" ]; then
  HAVE_PROCESS=1
fi

nfsub_process () {
  # a fresh state dir each run: the ledger would skip a file seen before
  rm -rf "$WORK/state"
  printf '[nfsub]\nstate_dir = %s/state\nplugins = proto\n' "$WORK" >"$WORK/conf"
  $PIN "$NFSUB" -c "$WORK/conf" --plugin-dir "$NFSUB_PLUGIN_PATH" process -q "$1"
}

row () { # label seconds reference_seconds
  awk -v l="$1" -v s="$2" -v r="$3" -v n="$FLOWS" 'BEGIN {
    printf "  %-40s %7.3f s %7.2f Mflows/s %6.3f us/flow %5.2fx\n",
           l, s, n / s / 1e6, s * 1e6 / n, r / s }'
}

say "bench: $(uname -m), $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
for comp in $COMPRESSIONS; do
  case $comp in
    lz4) flag=-y ;; lzo) flag=-z ;; bz2) flag=-j ;; none) flag="" ;;
    *) die "unknown compression $comp" ;;
  esac
  F=$(make_file "$comp" "$flag")
  check_sums "$F"
  size=$(stat -c %s "$F")
  # the programs take turns, RUNS rounds, best time of each: a burst of
  # load from other jobs then hurts one round of all, not all runs of one
  t_reader="" t_process="" t_nfdump1="" t_nfdump=""
  if [ $HAVE_PROCESS = 1 ]; then
    nfsub_process "$F" >/dev/null 2>&1 || die "nfsub process failed on $F"
  fi
  i=0
  while [ $i -lt "$RUNS" ]; do
    t_reader=$(min "$t_reader" "$(time_once $PIN "$READER" -q -n 1 "$F")")
    if [ $HAVE_PROCESS = 1 ]; then
      t_process=$(min "$t_process" "$(time_once nfsub_process "$F")")
    fi
    t_nfdump1=$(min "$t_nfdump1" "$(time_once $PIN "$NFDUMP" -r "$F" -q -N -A proto -o 'fmt:%pr %byt')")
    t_nfdump=$(min "$t_nfdump" "$(time_once "$NFDUMP" -r "$F" -q -N -A proto -o 'fmt:%pr %byt')")
    i=$((i + 1))
  done
  echo "$comp: $F ($FLOWS flows, $size bytes), best of $RUNS, ratio = nfdump on one core / this"
  row "nfsub reader (bench-read, 1 core)" "$t_reader" "$t_nfdump1"
  if [ $HAVE_PROCESS = 1 ]; then
    row "nfsub process, proto plugin (1 core)" "$t_process" "$t_nfdump1"
  fi
  row "nfdump -A proto (1 core)" "$t_nfdump1" "$t_nfdump1"
  row "nfdump -A proto (all cores)" "$t_nfdump" "$t_nfdump1"
done
