#!/bin/sh
# Reading benchmark: nfsub against nfdump on the same nfcapd files.
#
# Builds (once, cached) a file of BENCH_FLOWS flows per template and
# compression with contrib/nfsim feeding a real nfcapd on loopback
# (template "lean": nfsim's default v9 template, about 123 bytes per
# record in memory; "router": nfsim --template router, a PE/BNG router's
# fields, about 270 bytes per record; same flows, same seed), checks that nfsub's
# per-protocol byte sums equal nfdump's, then runs, BENCH_RUNS rounds:
#   - bench/bench-read --floor: pread and decompress every block, no walk
#     (one core cannot go below this with these libraries)
#   - bench/bench-read: the reader alone, summing bytes per protocol
#   - nfsub process with the `proto` example plugin (the whole pipeline)
#   - nfdump -r F -q -N -A proto -o 'fmt:%pr %byt' (the same result)
# nfsub and nfdump each pinned to one core (taskset -c 0, NFSUB_READAHEAD=0)
# and unpinned (nfdump decompresses in a second thread; nfsub with
# NFSUB_READAHEAD=1 reads and decompresses in one too).
# The programs take turns, so load from other jobs spreads over all of
# them.  bench/bench-time records each run's wall time and CPU time
# (user + sys of all its threads, from wait4); the table shows the best
# wall and the best CPU time of each row and the ratios against nfdump.
#
# Environment: NFSUB_BUILDDIR (default .), BENCH_FLOWS (5000000),
# BENCH_DATA (builddir/bench/data), BENCH_RUNS (3), BENCH_COMPRESSIONS
# ("lz4 lzo"), BENCH_TEMPLATES ("lean router"), NFCAPD, NFDUMP.
set -eu

B=${NFSUB_BUILDDIR:-.}
FLOWS=${BENCH_FLOWS:-5000000}
DATA=${BENCH_DATA:-$B/bench/data}
RUNS=${BENCH_RUNS:-3}
COMPRESSIONS=${BENCH_COMPRESSIONS:-lz4 lzo}
TEMPLATES=${BENCH_TEMPLATES:-lean router}
NFCAPD=${NFCAPD:-nfcapd}
NFDUMP=${NFDUMP:-nfdump}
NFSIM=$B/contrib/nfsim/nfsim
READER=$B/bench/bench-read
NFSUB=$B/src/nfsub
TIMER=$B/bench/bench-time

say () { printf '%s\n' "$*" >&2; }
die () { say "bench: $*"; exit 1; }

for t in "$NFSIM" "$READER" "$TIMER"; do [ -x "$t" ] || die "$t is not built (run make bench)"; done
command -v "$NFCAPD" >/dev/null 2>&1 || die "no nfcapd"
command -v "$NFDUMP" >/dev/null 2>&1 || die "no nfdump"
command -v taskset >/dev/null 2>&1 || die "no taskset (util-linux): cannot pin to one core"

udp_bound () { grep -qi ":$(printf '%04X' "$1") " /proc/net/udp; }

free_port () {
  p=$(( 20000 + $$ % 30000 ))
  while udp_bound $p; do p=$((p + 1)); done
  echo $p
}

# make_file NAME NFCAPD_FLAG TEMPLATE -> prints the path of a FLOWS-flow file
make_file () {
  name=$1 flag=$2 tmpl=$3
  tmpl_arg=""
  if [ "$tmpl" != lean ]; then name=$name-$tmpl tmpl_arg="--template $tmpl"; fi
  dir=$DATA/$name-$FLOWS
  if [ -f "$dir/ok" ]; then cat "$dir/ok"; return; fi
  for rate in 400000 200000 100000; do
    rm -rf "$dir"; mkdir -p "$dir"
    port=$(free_port)
    "$NFCAPD" -w "$dir" -p "$port" -b 127.0.0.1 -t 3600 -P "$dir/nfcapd.pid" \
      -B 8000000 $flag >"$dir/nfcapd.log" 2>&1 &
    pid=$!
    n=0; while ! udp_bound "$port" && [ $n -lt 500 ]; do sleep 0.01; n=$((n+1)); done
    say "bench: generating $FLOWS flows ($tmpl template) into nfcapd $flag (nfsim at $rate flows/s)"
    "$NFSIM" -t "127.0.0.1:$port" -n "$FLOWS" -S 1 -s 1 -r "$rate" $tmpl_arg >/dev/null
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

# nfsub process runs through libtool's wrapper script in a build tree;
# time the real binary, not a bash start-up and an exec on top of it.
NFSUB_BIN=$NFSUB NFSUB_LIBS=""
if [ -x "$B/src/.libs/nfsub" ] && ! cmp -s "$B/src/.libs/nfsub" "$NFSUB"; then
  NFSUB_BIN=$B/src/.libs/nfsub NFSUB_LIBS=$B/src/.libs
fi
HAVE_PROCESS=0
if [ -x "$NFSUB" ] && [ -n "${NFSUB_PLUGIN_PATH:-}" ]; then
  HAVE_PROCESS=1
  printf '[nfsub]\nstate_dir = %s/state\nplugins = proto\n' "$WORK" >"$WORK/conf"
fi

# run KEY CMD...: one timed run of CMD (output discarded); keeps the best
# wall and the best CPU time of KEY in $WORK/best.KEY
run () {
  key=$1; shift
  if ! "$TIMER" "$WORK/t" "$@" >/dev/null 2>"$WORK/err"; then
    cat "$WORK/err" >&2; die "failed: $*"
  fi
  best=$WORK/best.$key
  [ -f "$best" ] || echo "" >"$best"
  awk 'NR == FNR { w = $1; c = $2 + $3; next }
       { bw = $1; bc = $2 }
       END { if (bw == "" || w < bw) bw = w; if (bc == "" || c < bc) bc = c
             print bw, bc }' "$WORK/t" "$best" >"$best.new"
  mv "$best.new" "$best"
}

# the ledger would skip a file seen before: a fresh state dir each run
process_run () { # KEY PIN... -- FILE
  key=$1; shift
  rm -rf "$WORK/state"
  run "$key" env LD_LIBRARY_PATH="$NFSUB_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$@" "$NFSUB_BIN" -c "$WORK/conf" --plugin-dir "$NFSUB_PLUGIN_PATH" \
    process -q "$F"
}

say "bench: $(uname -m), $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
for tmpl in $TEMPLATES; do
case $tmpl in lean|router) ;; *) die "unknown template $tmpl (lean or router)" ;; esac
for comp in $COMPRESSIONS; do
  case $comp in
    lz4) flag=-y ;; lzo) flag=-z ;; bz2) flag=-j ;; none) flag="" ;;
    *) die "unknown compression $comp" ;;
  esac
  F=$(make_file "$comp" "$flag" "$tmpl")
  check_sums "$F"
  size=$(stat -c %s "$F")
  rm -f "$WORK"/best.*
  # warm the page cache and the plugin's code once, untimed
  "$NFDUMP" -r "$F" -q -N -A proto -o 'fmt:%pr %byt' >/dev/null
  # the programs take turns, RUNS rounds, best time of each: a burst of
  # load from other jobs then hurts one round of all, not all runs of one
  i=0
  while [ $i -lt "$RUNS" ]; do
    run floor1 taskset -c 0 "$READER" --floor -n 1 "$F"
    run reader1 env NFSUB_READAHEAD=0 taskset -c 0 "$READER" -q -n 1 "$F"
    run reader2 env NFSUB_READAHEAD=1 "$READER" -q -n 1 "$F"
    if [ $HAVE_PROCESS = 1 ]; then
      process_run process1 env NFSUB_READAHEAD=0 taskset -c 0
      process_run process2 env NFSUB_READAHEAD=1
    fi
    run nfdump1 taskset -c 0 "$NFDUMP" -r "$F" -q -N -A proto -o 'fmt:%pr %byt'
    run nfdump "$NFDUMP" -r "$F" -q -N -A proto -o 'fmt:%pr %byt'
    i=$((i + 1))
  done
  read ref_wall1 ref_cpu1 <"$WORK/best.nfdump1"
  read ref_wall ref_cpu <"$WORK/best.nfdump"
  # the lower of nfdump's two CPU figures, so the CPU ratio does not
  # flatter nfsub with nfdump's thread hand-over costs
  ref_cpu=$(awk -v a="$ref_cpu1" -v b="$ref_cpu" 'BEGIN { print (a < b ? a : b) }')

  # decompressed payload of the data blocks: the records in memory
  payload=$("$READER" --floor -n 1 "$F" | awk '{ for (i = 1; i < NF; i++) if ($i == "payload") print $(i + 1) }')

  echo ""
  echo "$tmpl $comp: $F"
  echo "  $FLOWS flows, $size bytes ($(awk -v s="$size" -v p="$payload" -v n="$FLOWS" 'BEGIN { printf "%.1f bytes/flow on disk, %.1f in memory", s / n, p / n }')); best of $RUNS runs (wall and CPU each)"
  echo "  x nfdump: nfdump's time / this row's time, so >1 means nfsub is faster;"
  echo "  wall-1 = vs nfdump on one core, wall-all = vs nfdump unpinned,"
  echo "  CPU = vs nfdump's lower CPU time (user+sys, all threads)"
  printf '  %-34s %6s %6s %8s %7s %7s  %s\n' "" "wall" "CPU" \
    "Mflow/s" "us/flow" "us/flow" "------ x nfdump -------"
  printf '  %-34s %6s %6s %8s %7s %7s %7s %7s %7s\n' "program (cores)" "s" "s" \
    "wall" "wall" "CPU" "wall-1" "wall-all" "CPU"
  row () { # KEY LABEL
    [ -f "$WORK/best.$1" ] || return 0
    read w c <"$WORK/best.$1"
    awk -v l="$2" -v w="$w" -v c="$c" -v n="$FLOWS" -v r1="$ref_wall1" \
      -v ra="$ref_wall" -v rc="$ref_cpu" 'BEGIN {
      printf "  %-34s %6.3f %6.3f %8.2f %7.4f %7.4f %6.2fx %6.2fx %6.2fx\n",
             l, w, c, n / w / 1e6, w * 1e6 / n, c * 1e6 / n, r1 / w, ra / w,
             rc / c }'
  }
  row floor1 "floor: pread + decompress only (1)"
  row reader1 "nfsub reader, bench-read (1)"
  row reader2 "nfsub reader, read-ahead (all: $(nproc))"
  row process1 "nfsub process + proto (1)"
  row process2 "nfsub process, read-ahead (all: $(nproc))"
  row nfdump1 "nfdump -A proto (1)"
  row nfdump "nfdump -A proto (all: $(nproc))"
done
done
