#!/bin/sh
# Load benchmark: a week of a large simulated ISP through nfsub.
#
#   1. contrib/nfsim (population mode) writes the RADIUS detail, Kea lease
#      and static files and the ground truth of LOAD_USERS users over
#      LOAD_DAYS days, with about LOAD_FLOWS_PER_USER_DAY flow records per
#      user-day (calibrated on a small population first, see below);
#   2. the same run exports its records as NetFlow v9 to a real nfcapd on
#      loopback (-y LZ4, rotating every LOAD_ROTATE s so the week lands in
#      many files); nfdump -I on every file must count exactly what the
#      truth says nfcapd stores, with 0 sequence failures (else the export
#      is repeated, slower);
#   3. nfsub process with subscriber, usage, ports, hourly and proto (the
#      config contrib/demo.sh writes): one process per file in time order,
#      as nfcapd -x would start them, then one process over the whole
#      directory (fresh state each); each timed with GNU time: wall, CPU
#      (user + sys), peak RSS, flows/s;
#   4. nothing lost: for both runs the subscriber plugin's per-file counters
#      (STATE/subscriber/files/*.tsv) summed over all files, and the proto
#      plugin's totals, equal the sums of `nfdump -r F -I` over all files
#      (flows, bytes, packets), and every file's IN + OUT - both +
#      unattributed bytes equals its bytes;
#   5. nfsub usage --week and nfsub report, timed, on the per-file state;
#      the two runs' usage tables must be identical.
#
# Environment (defaults):
#   LOAD_USERS (1000000)  LOAD_DAYS (7)  LOAD_WEEK (2024-06-03)  LOAD_SEED (1)
#   LOAD_FLOWS_PER_USER_DAY (5): flow records nfcapd stores per user and
#     day; the simulator's floor with the settings below is about 4.5
#   LOAD_RATE (150000): export pace, records/s (halved on loss)
#   LOAD_ROTATE (5): nfcapd -t, seconds (nfcapd's minimum is 2)
#   LOAD_DATA (builddir/bench/data/load): flows and simulator files, kept
#     for the next run with the same parameters (about 55 bytes per flow,
#     plus ~2.5 kB of RADIUS/Kea/truth per user)
#   LOAD_SKIP_DIR=1: skip the whole-directory run
#   NFSUB_BUILDDIR, NFSUB_PLUGIN_PATH, NFCAPD, NFDUMP (as make sets them)
#
# Flows per user-day: nfsim draws sessions per user-day and slices each
# into records at the 300 s active timeout, so the record count follows
# [behaviour.*] sessions_per_day and the session throughput.  The script
# multiplies the throughput ranges by LOAD_RATE_FACTOR (10: shorter
# sessions, fewer slices) and finds the sessions_per_day factor that gives
# the target from two 20,000-user runs (nfsim's counts grow linearly with
# users).  RADIUS: weekly interim updates and long sessions, Kea: renewals
# every 3 days, to keep the assignment files of a million users at a few
# GB (nfsim README, "Scale and speed").
set -eu

B=${NFSUB_BUILDDIR:-.}
USERS=${LOAD_USERS:-1000000}
DAYS=${LOAD_DAYS:-7}
WEEK=${LOAD_WEEK:-2024-06-03}
SEED=${LOAD_SEED:-1}
FPUD=${LOAD_FLOWS_PER_USER_DAY:-5}
RATE=${LOAD_RATE:-150000}
ROTATE=${LOAD_ROTATE:-5}
RATE_FACTOR=${LOAD_RATE_FACTOR:-10}
CAL_USERS=${LOAD_CAL_USERS:-20000}
DATA=${LOAD_DATA:-$B/bench/data/load}
NFCAPD=${NFCAPD:-nfcapd}
NFDUMP=${NFDUMP:-nfdump}
NFSIM=$B/contrib/nfsim/nfsim
GNU_TIME=${GNU_TIME:-/usr/bin/time}

t_start=$(date +%s)
say () { printf '[load %5ss] %s\n' "$(( $(date +%s) - t_start ))" "$*"; }
die () { printf 'load: %s\n' "$*" >&2; exit 1; }

[ -x "$NFSIM" ] || die "$NFSIM is not built (make bench-load builds it)"
[ -x "$B/src/nfsub" ] || die "$B/src/nfsub is not built"
command -v "$NFCAPD" >/dev/null 2>&1 || die "no nfcapd"
command -v "$NFDUMP" >/dev/null 2>&1 || die "no nfdump"
"$GNU_TIME" -f %M true 2>/dev/null || die "no GNU time at $GNU_TIME (Debian package 'time')"
[ -n "${NFSUB_PLUGIN_PATH:-}" ] || NFSUB_PLUGIN_PATH=$B/plugins
export NFSUB_PLUGIN_PATH
case $DATA in /*) ;; *) DATA=$(pwd)/$DATA ;; esac
case $DATA in *" "*) die "LOAD_DATA must not contain blanks" ;; esac

# the real binary, not libtool's wrapper script (a shell, then an exec)
NFSUB_BIN=$B/src/nfsub NFSUB_LIBS=
if [ -x "$B/src/.libs/nfsub" ] && ! cmp -s "$B/src/.libs/nfsub" "$B/src/nfsub"; then
  NFSUB_BIN=$B/src/.libs/nfsub NFSUB_LIBS=$B/src/.libs
fi
if [ -n "$NFSUB_LIBS" ]; then
  LD_LIBRARY_PATH=$NFSUB_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export LD_LIBRARY_PATH
fi

# timed OUT CMD...: runs CMD, writes "wall user sys maxrss_kB" to OUT
timed () {
  out=$1; shift
  "$GNU_TIME" -o "$out" -f '%e %U %S %M' "$@"
}
# fmt_t FILE [FLOWS]: "12.3 s wall, 11.9 s CPU, peak 512 MB[, 1.23 Mflows/s]"
fmt_t () {
  awk -v n="${2:-0}" '{ printf "%.2f s wall, %.2f s CPU, peak RSS %.0f MB", $1, $2 + $3, $4 / 1024
    if (n > 0) printf ", %.3f Mflows/s (wall), %.3f Mflows/s (CPU)", n / ($1 > 0 ? $1 : 1e-9) / 1e6, n / ($2 + $3 > 0 ? $2 + $3 : 1e-9) / 1e6
    printf "\n" }' "$1"
}

udp_bound () { grep -qi ":$(printf '%04X' "$1") " /proc/net/udp; }
free_port () {
  p=$(( 20000 + $$ % 30000 ))
  while udp_bound $p; do p=$((p + 1)); done
  echo $p
}

# nfsim_conf FILE SESSION_FACTOR: the load model (see the header)
nfsim_conf () {
  awk -v k="$2" -v r="$RATE_FACTOR" 'BEGIN {
    printf "# bench/load-week.sh: sessions_per_day x %g, throughput x %g\n", k, r
    printf "[behaviour.broadband]\nsessions_per_day = %.6f\nrate_mbps_min = %g\nrate_mbps_max = %g\n", 6 * k, 5 * r, 100 * r
    printf "[behaviour.mobile]\nsessions_per_day = %.6f\nrate_mbps_min = %g\nrate_mbps_max = %g\n", 5 * k, 1 * r, 30 * r
    printf "[behaviour.enterprise]\nsessions_per_day = %.6f\nrate_mbps_min = %g\nrate_mbps_max = %g\n", 20 * k, 5 * r, 100 * r
    printf "[radius]\ninterim_interval = 604800\npppoe_session_hours = 168\nmobile_session_hours = 72\n"
    printf "[kea]\nvalid_lifetime = 345600\nrenew_interval = 259200\n" }' >"$1"
}

# exported records per user-day of a CAL_USERS-user run with factor K
calibrate_point () {
  k=$1
  nfsim_conf "$CAL/conf" "$k"
  rm -rf "$CAL/out"
  "$NFSIM" -c "$CAL/conf" -o "$CAL/out" -u "$CAL_USERS" -d "$DAYS" -w "$WEEK" \
    -s "$SEED" -v 2>&1 | awk -v u="$CAL_USERS" -v d="$DAYS" \
    '/records generated/ { for (i = 1; i <= NF; i++) if ($i == "exported") print $(i - 1) / (u * d) }'
}

# ------------------------------------------------------------------ data
KEY="u$USERS-d$DAYS-w$WEEK-s$SEED-f$FPUD-x$RATE_FACTOR-t$ROTATE"
D=$DATA/$KEY
SIM=$D/sim FLOWS=$D/flows
say "nfsub load benchmark: $USERS users, $DAYS days from $WEEK, ~$FPUD flows per user-day"
say "machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -f "$D/ok" ]; then
  say "using the flows and simulator files of an earlier run in $D"
  cat "$D/ok"
else
  rm -rf "$D"; mkdir -p "$D"
  CAL=$D/cal; mkdir -p "$CAL"
  lo=0.1 hi=1
  ylo=$(calibrate_point $lo); yhi=$(calibrate_point $hi)
  K=$(awk -v t="$FPUD" -v a="$lo" -v ya="$ylo" -v b="$hi" -v yb="$yhi" 'BEGIN {
      k = a + (t - ya) * (b - a) / (yb - ya); if (k < 0.01) k = 0.01; printf "%.4f", k }')
  yk=$(calibrate_point "$K")
  say "calibration ($CAL_USERS users): sessions factor $lo -> $ylo, $hi -> $yhi flows/user-day; chosen $K -> $yk"
  awk -v t="$FPUD" -v y="$yk" 'BEGIN { exit !(y > 1.25 * t) }' \
    && say "note: $FPUD flows per user-day is below what nfsim can do here ($yk); going on with $yk"
  rm -rf "$CAL"
  nfsim_conf "$D/nfsim-load.conf" "$K"
  SIMARGS="-c $D/nfsim-load.conf -o $SIM -u $USERS -d $DAYS -w $WEEK -s $SEED"

  say "nfsim pass 1: assignment files and ground truth"
  timed "$D/t.nfsim" "$NFSIM" $SIMARGS -v >"$D/nfsim.log" 2>&1 \
    || { tail -5 "$D/nfsim.log"; die "nfsim failed (see $D/nfsim.log)"; }
  grep 'records generated' "$D/nfsim.log" | sed 's/^/           /'
  sim_t=$(fmt_t "$D/t.nfsim")
  # "expected_nfcapd": {"flows": N,"packets": N,"bytes": N, ...}
  set -- $(grep -o '"expected_nfcapd": *{"flows": *[0-9]*, *"packets": *[0-9]*, *"bytes": *[0-9]*' \
    "$SIM/truth.json" | head -1 | tr -c '0-9' ' ')
  expect=${1:-} expect_packets=${2:-} expect_bytes=${3:-}
  sizes=$(du -sm "$SIM/radacct" "$SIM/kea" "$SIM/truth.json" | awk '{ printf "%s%s %s MB", (NR > 1 ? ", " : ""), $2, $1 }' | sed "s|$SIM/||g")
  say "nfsim pass 1: $sim_t; $sizes; nfcapd must store $expect flows"
  [ -n "$expect" ] || die "no expected_nfcapd flows in $SIM/truth.json"

  rate=$RATE
  while :; do
    rm -rf "$FLOWS"; mkdir -p "$FLOWS"
    port=$(free_port)
    "$NFCAPD" -w "$FLOWS" -b 127.0.0.1 -p "$port" -t "$ROTATE" -y -B 8388608 \
      -P "$D/nfcapd.pid" >"$D/nfcapd.log" 2>&1 &
    cpid=$!
    n=0; while ! udp_bound "$port" && [ $n -lt 500 ]; do sleep 0.01; n=$((n + 1)); done
    say "export: $expect records at $rate/s into nfcapd -t $ROTATE -y on 127.0.0.1:$port"
    timed "$D/t.export" "$NFSIM" $SIMARGS --no-files -t "127.0.0.1:$port" -r "$rate" \
      >"$D/export.log" 2>&1 || { kill "$cpid"; die "nfsim export failed (see $D/export.log)"; }
    sleep 2
    kill "$cpid"; wait "$cpid" || true
    nfiles=0 got=0 seqfail=0
    for f in "$FLOWS"/nfcapd.[0-9]*; do
      [ -f "$f" ] || continue
      set -- $("$NFDUMP" -r "$f" -I | awk -F': ' '/^Flows:/ { f = $2 } /^Sequence failures/ { s = $2 } END { print f + 0, s + 0 }')
      nfiles=$((nfiles + 1)); got=$((got + $1)); seqfail=$((seqfail + $2))
    done
    say "export: $(fmt_t "$D/t.export" | sed 's/, peak.*//'), $nfiles files, $got flows stored, $seqfail sequence failures"
    [ "$got" = "$expect" ] && [ "$seqfail" = 0 ] && break
    rate=$((rate / 2))
    [ "$rate" -ge 10000 ] || die "nfcapd keeps losing records; giving up"
    say "export lost records: again at $rate/s"
  done
  echo "$expect $expect_bytes $expect_packets" >"$D/truth-totals"
  {
    echo "  nfsim pass 1 (files, truth): $sim_t; $sizes"
    echo "  export: $expect records at $rate/s into nfcapd -t $ROTATE -y: $nfiles files, 0 sequence failures; $(awk '{ printf "%.0f s", $1 }' "$D/t.export")"
    echo "  flows per user-day stored: $(awk -v n="$expect" -v u="$USERS" -v d="$DAYS" 'BEGIN { printf "%.2f", n / (u * d) }')"
  } >"$D/ok.new"
  mv "$D/ok.new" "$D/ok"
  cat "$D/ok"
fi

# ------------------------------------------------------------------ nfdump
# the simulator and nfcapd leave GBs of dirty pages: write them out now,
# or the first fsync of nfsub's state pays for them
sync
R=$D/run; rm -rf "$R"; mkdir -p "$R"
ls "$FLOWS" | grep '^nfcapd\.[0-9]' | sort >"$R/files"
NFILES=$(wc -l <"$R/files")
[ "$NFILES" -gt 0 ] || die "no nfcapd files in $FLOWS"
# per file: flows bytes packets (nfdump's stat record)
: >"$R/nfdump.tsv"
nfdump_all () {
  while read -r f; do
    "$NFDUMP" -r "$FLOWS/$f" -I | awk -F': ' -v f="$f" '
      /^Flows:/ { n = $2 } /^Bytes:/ { b = $2 } /^Packets:/ { p = $2 }
      END { print f "\t" n "\t" b "\t" p }'
  done <"$R/files" >"$R/nfdump.tsv"
}
t0=$(date +%s.%N)
nfdump_all
t1=$(date +%s.%N)
# byte sums of a million-user week pass 2^53: add in the shell (64 bit),
# not in awk (doubles)
NF_FLOWS=0 NF_BYTES=0 NF_PACKETS=0
while read -r f n b p; do
  NF_FLOWS=$((NF_FLOWS + n)) NF_BYTES=$((NF_BYTES + b)) NF_PACKETS=$((NF_PACKETS + p))
done <"$R/nfdump.tsv"
say "nfdump -I over $NFILES files: $NF_FLOWS flows, $NF_BYTES bytes, $NF_PACKETS packets ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s", b - a }'))"
FAILED=0
read T_FLOWS T_BYTES T_PACKETS <"$D/truth-totals"
if [ "$T_FLOWS $T_BYTES $T_PACKETS" = "$NF_FLOWS $NF_BYTES $NF_PACKETS" ]; then
  TRUTHLINE="  nfsim truth (expected_nfcapd) = nfdump -I: $T_FLOWS flows, $T_BYTES bytes, $T_PACKETS packets"
else
  TRUTHLINE="  nfsim truth (expected_nfcapd: $T_FLOWS flows, $T_BYTES bytes, $T_PACKETS packets) DIFFERS from nfdump -I"
  FAILED=1
fi
echo "$TRUTHLINE"

# ------------------------------------------------------------------ nfsub
# conf STATE_DIR FILE: the config contrib/demo.sh writes, plus proto
conf () {
  cat >"$2" <<EOF
[nfsub]
plugins = subscriber;usage;ports;hourly;proto
state_dir = $1
timezone = UTC
active_timeout = 300

[subscriber]
radius_detail = $SIM/radacct/*/detail-*
kea_leases = $SIM/kea/leases6.csv
kea_duid_map = $SIM/kea/duid-users.csv
static = $SIM/static.csv
early_file = process
rule.mobile = nas 192.0.2.101 => service=mobile access=mobile
rule.pppoe = nas 192.0.2.1 => service=broadband access=pppoe

[usage]
radius_detail = mobile=$SIM/radacct/192.0.2.101/detail-*

[report]
title = nfsub load benchmark: $USERS users
assets = $(cd "$(dirname "$0")/.." && pwd)/plugins/report
EOF
}

# check_state NAME STATE_DIR: the plugins' counters against nfdump's
check_state () {
  name=$1 st=$2
  s_flows=0 s_bytes=0 s_packets=0 s_bad=0
  cat "$st"/subscriber/files/*.tsv | grep -v '^#' >"$R/sub.tsv" || true
  lines=$(grep -c . "$R/sub.tsv" || true)
  # file first last flows bytes packets in_f in_b out_f out_b both_f both_b un_f un_b
  while read -r f a z n b p if ib of ob bf bb uf ub; do
    s_flows=$((s_flows + n)) s_bytes=$((s_bytes + b)) s_packets=$((s_packets + p))
    [ $((ib + ob - bb + ub)) = "$b" ] || s_bad=$((s_bad + 1))
  done <"$R/sub.tsv"
  p_flows=0 p_bytes=0 p_packets=0
  grep -v '^#' "$st/proto/totals.tsv" >"$R/proto.tsv" || true
  while read -r proto n p b; do
    p_flows=$((p_flows + n)) p_bytes=$((p_bytes + b)) p_packets=$((p_packets + p))
  done <"$R/proto.tsv"
  ok=yes
  [ "$lines" = "$NFILES" ] || ok=no
  [ "$s_flows $s_bytes $s_packets" = "$NF_FLOWS $NF_BYTES $NF_PACKETS" ] || ok=no
  [ "$p_flows $p_bytes $p_packets" = "$NF_FLOWS $NF_BYTES $NF_PACKETS" ] || ok=no
  [ "$s_bad" = 0 ] || ok=no
  echo "  $name: subscriber files/*.tsv: $lines files, $s_flows flows, $s_bytes bytes, $s_packets packets; conservation broken in $s_bad files"
  echo "  $name: proto totals.tsv:                 $p_flows flows, $p_bytes bytes, $p_packets packets"
  echo "  $name: nfdump -I (sum over files):  $NFILES files, $NF_FLOWS flows, $NF_BYTES bytes, $NF_PACKETS packets"
  if [ $ok = yes ]; then
    echo "  $name: reconciled: equal"
  else
    echo "  $name: NOT RECONCILED"
    FAILED=1
  fi
}

# one process per file, in time order, as nfcapd -x starts them
conf "$R/state-file" "$R/file.conf"
say "nfsub process, one process per file ($NFILES files)"
: >"$R/perfile.tsv"
i=0
while read -r f; do
  i=$((i + 1))
  timed "$R/t.one" "$NFSUB_BIN" -c "$R/file.conf" process -q "$FLOWS/$f" \
    >"$R/one.log" 2>&1 || { cat "$R/one.log"; die "nfsub process $f failed"; }
  cat "$R/one.log" >>"$R/perfile.log"
  n=$(awk -F'\t' -v f="$f" '$1 == f { print $2 }' "$R/nfdump.tsv")
  printf '%s\t%s\t%s\n' "$f" "$n" "$(cat "$R/t.one")" >>"$R/perfile.tsv"
  if [ $i -eq 1 ] || [ $((i % 10)) -eq 0 ] || [ $i -eq "$NFILES" ]; then
    printf '           file %3d/%d %s: %s\n' "$i" "$NFILES" "$f" "$(fmt_t "$R/t.one" "$n")"
  fi
done <"$R/files"
# perfile.tsv: file flows wall user sys maxrss
PERFILE=$(awk -F'\t' '{ split($3, t, " "); w += t[1]; c += t[2] + t[3]; n += $2
    if (t[4] + 0 > m) m = t[4]; if (NR == 1) { w1 = t[1]; m1 = t[4] }
    else if (t[4] + 0 > mr) mr = t[4] }
  END {
    printf "  per file: %d processes, %d flows: %.1f s wall, %.1f s CPU in total, %.3f Mflows/s (wall), %.3f Mflows/s (CPU); peak RSS %.0f MB\n", NR, n, w, c, n / w / 1e6, n / c / 1e6, m / 1024
    printf "  per file: first file (index built from RADIUS/Kea/static) %.2f s wall, peak RSS %.0f MB\n", w1, m1 / 1024
    if (NR > 1) printf "  per file: the other %d: peak RSS max %.0f MB; wall ", NR - 1, mr / 1024 }' "$R/perfile.tsv")$(
  sed 1d "$R/perfile.tsv" | awk -F'\t' '{ split($3, t, " "); print t[1] }' | sort -g \
    | awk '{ v[NR] = $1 } END { if (NR) printf "median %.2f s, max %.2f s", v[int((NR + 1) / 2)], v[NR] }')
echo "$PERFILE"
check_state "per file" "$R/state-file" >"$R/check-file"; cat "$R/check-file"

DIRLINE=
if [ "${LOAD_SKIP_DIR:-0}" != 1 ]; then
  conf "$R/state-dir" "$R/dir.conf"
  say "nfsub process over the whole directory (one process)"
  timed "$R/t.dir" "$NFSUB_BIN" -c "$R/dir.conf" process "$FLOWS" >"$R/dir.log" 2>&1 \
    || { cat "$R/dir.log"; die "nfsub process $FLOWS failed"; }
  tail -1 "$R/dir.log" | sed 's/^/           /'
  DIRLINE="  whole directory: 1 process, $NFILES files: $(fmt_t "$R/t.dir" "$NF_FLOWS")"
  echo "$DIRLINE"
  check_state "directory" "$R/state-dir" >"$R/check-dir"; cat "$R/check-dir"
fi

# ------------------------------------------------------------------ commands
say "nfsub usage --week $WEEK"
timed "$R/t.usage" "$NFSUB_BIN" -c "$R/file.conf" usage --week "$WEEK" >"$R/usage.txt" 2>&1 \
  || { cat "$R/usage.txt"; die "nfsub usage failed"; }
USAGELINE="  nfsub usage --week $WEEK: $(fmt_t "$R/t.usage")"
echo "$USAGELINE"
sed -n '1,12p' "$R/usage.txt" | sed 's/^/           /'
if [ -d "$R/state-dir" ]; then
  "$NFSUB_BIN" -c "$R/dir.conf" usage --week "$WEEK" >"$R/usage-dir.txt" 2>&1 || true
  if cmp -s "$R/usage.txt" "$R/usage-dir.txt"; then
    echo "  nfsub usage: per-file and whole-directory states give identical tables"
  else
    echo "  nfsub usage: per-file and whole-directory tables DIFFER (diff $R/usage.txt $R/usage-dir.txt)"
    FAILED=1
  fi
fi

say "nfsub report --week $WEEK"
rc=0
timed "$R/t.report" "$NFSUB_BIN" -c "$R/file.conf" report --week "$WEEK" -o "$R/report" \
  >"$R/report.log" 2>&1 || rc=$?
note=
[ "$rc" != 1 ] || note=": written with $(grep -c WARNING "$R/report.log" || true) warnings"
REPORTLINE="  nfsub report --week $WEEK: $(fmt_t "$R/t.report") (exit $rc$note)"
echo "$REPORTLINE"
[ "$rc" -le 1 ] || { tail -5 "$R/report.log"; FAILED=1; }

# ------------------------------------------------------------------ summary
echo
echo "load: $USERS users, $DAYS days from $WEEK, seed $SEED ($KEY)"
cat "$D/ok"
echo "  nfdump -I: $NFILES files, $NF_FLOWS flows, $NF_BYTES bytes, $NF_PACKETS packets"
echo "$TRUTHLINE"
echo "$PERFILE"
[ -n "$DIRLINE" ] && echo "$DIRLINE"
echo "$USAGELINE"
echo "$REPORTLINE"
grep -h 'reconciled\|RECONCILED' "$R"/check-* | sed 's/^ */  /'
say "done; per-file figures in $R/perfile.tsv (file flows 'wall user sys maxrss_kB')"
[ "$FAILED" = 0 ] || die "FAILED: see above"
