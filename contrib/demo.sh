#!/bin/sh
# nfsub end to end on a simulated ISP, on one machine:
#
#   nfsim (a week of 20,000 broadband and mobile users, Sampled NetFlow v9)
#     -> nfcapd on loopback, rotating every few seconds
#     -> nfcapd -x: `nfsub process` on every closed file
#        (subscriber tagging from the simulator's RADIUS/Kea/static files,
#         per-user usage, ports, hourly RRD series)
#     -> nfsub report: tables, figures, one HTML page
#
# Usage: contrib/demo.sh [-u USERS] [-d DAYS] [-w WORKDIR] [-r FLOWS_PER_S]
#                        [-b BUILDDIR] [-s SEED] [-f v9|ipfix]
# Installs missing Debian packages (apt-get, as root), builds out of tree,
# prints progress, and ends with the path of the report.  WORKDIR (default
# ./nfsub-demo) holds the flows, the simulator's files and ground truth,
# nfsub's state and RRD files, logs and the report; it is emptied first.
set -eu

users=20000
days=7
week=2024-06-03
rate=150000
seed=1
format=v9
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(pwd)/nfsub-demo
build=
while getopts u:d:w:r:b:s:f:h opt; do
  case $opt in
    u) users=$OPTARG ;;
    d) days=$OPTARG ;;
    w) work=$OPTARG ;;
    r) rate=$OPTARG ;;
    b) build=$OPTARG ;;
    s) seed=$OPTARG ;;
    f) format=$OPTARG ;;
    *) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
case $work in /*) ;; *) work=$(pwd)/$work ;; esac
[ -n "$build" ] || build=$src/build-demo
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
case "$work$build" in *" "*) echo "demo: paths with spaces are not supported (nfcapd -x splits on blanks)" >&2; exit 2 ;; esac

t0=$(date +%s)
say () { printf '[demo %4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }

# ---------------------------------------------------------------- packages
need="gcc make autoconf automake libtool pkg-config libglib2.0-dev librrd-dev
      liblzo2-dev liblz4-dev libzstd-dev libbz2-dev flex bison nfdump rrdtool
      gnuplot-nox procps"
missing=
for p in $need; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
if [ -n "$missing" ]; then
  say "installing Debian packages:$missing"
  SUDO=
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends $missing
  # the Debian package starts a system nfcapd; the demo runs its own
  $SUDO systemctl stop nfdump 2>/dev/null || true
fi
nfcapd=$(command -v nfcapd || echo /usr/bin/nfcapd)
nfdump=$(command -v nfdump || echo /usr/bin/nfdump)

# ---------------------------------------------------------------- build
if [ ! -x "$src/configure" ]; then
  say "autoreconf"
  (cd "$src" && autoreconf -fi >/dev/null 2>&1)
fi
mkdir -p "$build"
if [ ! -f "$build/Makefile" ]; then
  say "configure (in $build)"
  (cd "$build" && "$src/configure" -q)
fi
say "make -j2"
make -C "$build" -j2 >"$build/demo-make.log" 2>&1 || {
  tail -30 "$build/demo-make.log"; echo "demo: build failed, see $build/demo-make.log" >&2; exit 1; }
nfsub=$build/src/nfsub
nfsim=$build/contrib/nfsim/nfsim
export NFSUB_PLUGIN_PATH="$build/plugins"

# ---------------------------------------------------------------- work dir
if [ -e "$work" ]; then
  [ -f "$work/.nfsub-demo" ] || { echo "demo: $work exists and is not a demo directory" >&2; exit 2; }
  [ -f "$work/nfcapd.pid" ] && kill "$(cat "$work/nfcapd.pid")" 2>/dev/null || true
  rm -rf "$work"
fi
mkdir -p "$work/flows" "$work/sim" "$work/state"
touch "$work/.nfsub-demo"

plugins=subscriber
for p in usage ports hourly; do
  [ -e "$build/plugins/$p/.libs/$p.so" ] && plugins="$plugins;$p"
done
cat >"$work/nfsub.conf" <<EOF
# nfsub config of the demo: the simulator's assignment files, UTC days
[nfsub]
plugins = $plugins
state_dir = $work/state
timezone = UTC
active_timeout = 300

[subscriber]
radius_detail = $work/sim/radacct/*/detail-*
kea_leases = $work/sim/kea/leases6.csv
kea_duid_map = $work/sim/kea/duid-users.csv
static = $work/sim/static.csv
# all accounting is on disk before the first flow arrives: no need to wait
# for late RADIUS records before tagging a file
early_file = process
rule.mobile = nas 192.0.2.101 => service=mobile access=mobile
rule.pppoe = nas 192.0.2.1 => service=broadband access=pppoe

[usage]
radius_detail = mobile=$work/sim/radacct/192.0.2.101/detail-*

[report]
title = Broadband Traffic Report (nfsub demo: simulated week of $users users)
assets = $src/plugins/report
EOF

# nfcapd runs this on every rotation (it splits the command on blanks and
# discards output, hence the log)
cat >"$work/hook.sh" <<EOF
#!/bin/sh
echo "\$(date +%T) \$1" >>"$work/process.log"
exec "$nfsub" process -q -c "$work/nfsub.conf" "\$1" >>"$work/process.log" 2>&1
EOF
chmod +x "$work/hook.sh"

# a free UDP port on loopback
port=
for p in $(seq 39100 39199); do
  if ! grep -qi ":$(printf %04X "$p") " /proc/net/udp 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "demo: no free UDP port in 39100-39199" >&2; exit 1; }

# ---------------------------------------------------------------- run
# the simulator's files first (RADIUS, Kea, static, ground truth), so that
# every `nfsub process` nfcapd starts finds them; then the same run again,
# exporting only
simargs="-o $work/sim -u $users -d $days -w $week -s $seed"
say "nfsim: $users users, $days days from $week, seed $seed: assignment files and ground truth"
"$nfsim" $simargs -v 2>&1 | sed 's/^/           /'

say "nfcapd on 127.0.0.1:$port, rotating every 10 s, -x nfsub process"
"$nfcapd" -D -w "$work/flows" -b 127.0.0.1 -p "$port" -t 10 -y -B 8388608 \
  -P "$work/nfcapd.pid" -x "$work/hook.sh %d/%f" >"$work/nfcapd.log" 2>&1
for i in $(seq 50); do [ -s "$work/nfcapd.pid" ] && break; sleep 0.1; done
[ -s "$work/nfcapd.pid" ] || { cat "$work/nfcapd.log"; echo "demo: nfcapd did not start" >&2; exit 1; }
stop_nfcapd () {
  if [ -s "$work/nfcapd.pid" ]; then
    kill "$(cat "$work/nfcapd.pid")" 2>/dev/null || true
    for i in $(seq 300); do [ -e "$work/nfcapd.pid" ] || break; sleep 0.1; done
  fi
}
trap 'stop_nfcapd' EXIT INT TERM

say "nfsim: exporting the week as NetFlow $format at $rate records/s"
"$nfsim" $simargs --no-files -t "127.0.0.1:$port" -f "$format" -r "$rate" -p 2>&1 \
  | sed 's/^/           /'

sleep 2
say "stopping nfcapd (it closes the last file and hands it to nfsub)"
stop_nfcapd
trap - EXIT INT TERM

# every file once more: the ledger skips what the hook did, so this only
# catches a rotation whose hook was lost (and waits on the state lock for
# a hook still running)
say "nfsub process over $work/flows (catch-up; already processed files are skipped)"
"$nfsub" process -c "$work/nfsub.conf" "$work/flows" 2>&1 | tail -3 | sed 's/^/           /'

nfiles=$(ls "$work/flows" | grep -c '^nfcapd\.[0-9]' || true)
seqfail=0
for f in "$work"/flows/nfcapd.[0-9]*; do
  s=$("$nfdump" -r "$f" -I | awk -F': ' '/^Sequence failures/ {print $2}')
  seqfail=$((seqfail + ${s:-0}))
done
say "nfcapd wrote $nfiles files; sequence failures (lost export packets): $seqfail"
[ "$seqfail" -eq 0 ] || say "WARNING: nfcapd lost packets; rerun with a lower -r"

# ---------------------------------------------------------------- results
if echo "$plugins" | grep -q usage; then
  say "per-user daily usage, broadband (nfsub usage) -- ground truth: $work/sim/truth.json"
  "$nfsub" -c "$work/nfsub.conf" usage --week "$week" --service broadband 2>&1 | sed 's/^/           /' || true
  "$nfsub" -c "$work/nfsub.conf" usage --week "$week" --service mobile 2>&1 | sed 's/^/           /' || true
fi
if echo "$plugins" | grep -q ports; then
  "$nfsub" -c "$work/nfsub.conf" ports --week "$week" 2>&1 | sed 's/^/           /' || true
fi
report=
if [ -e "$build/plugins/report/.libs/report.so" ]; then
  say "nfsub report"
  # exit 1 = written with warnings (e.g. a figure it could not draw)
  "$nfsub" -c "$work/nfsub.conf" report --week "$week" -o "$work/report" >"$work/report.log" 2>&1 \
    || say "nfsub report exited with status $?: $(grep -c WARNING "$work/report.log" || true) warnings, see $work/report.log"
  tail -2 "$work/report.log" | sed 's/^/           /'
  [ -f "$work/report/index.html" ] && report=$work/report/index.html
fi
say "done in $(( $(date +%s) - t0 )) s"
echo
echo "  flows (nfcapd):        $work/flows"
echo "  simulator + truth:     $work/sim (truth.json, radacct/, kea/, static.csv)"
echo "  nfsub state, RRD:      $work/state"
echo "  nfsub process log:     $work/process.log"
if [ -n "$report" ]; then
  echo "  REPORT:                $report"
else
  echo "  (no report: the report plugin is not built or failed; see $work/report.log)"
fi
