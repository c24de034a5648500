#!/bin/sh
# Installs the Debian packages nfsub needs to build, test and run its demo.
# Run as root on Debian 12 (bookworm) or later.  Safe to run again.
set -eu
PACKAGES="
  gcc make autoconf automake libtool pkg-config
  libglib2.0-dev librrd-dev liblzo2-dev liblz4-dev libzstd-dev libbz2-dev
  flex bison
  nfdump rrdtool rrdcached gnuplot-nox
  freeradius freeradius-utils kea-dhcp6-server socat
  clang libclang-rt-14-dev valgrind
  chromium fonts-dejavu-core procps time
"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "nfsub: installing:$missing"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Debian's service packages try to start their daemons; nfsub's tests start
  # their own on loopback, so keep the system ones from starting.
  printf '#!/bin/sh\nexit 101\n' > /tmp/nfsub-policy-rc.d
  chmod +x /tmp/nfsub-policy-rc.d
  [ -e /usr/sbin/policy-rc.d ] || { $SUDO cp /tmp/nfsub-policy-rc.d /usr/sbin/policy-rc.d; added_policy=1; }
  $SUDO apt-get install -y -qq --no-install-recommends $missing
  [ -z "${added_policy:-}" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi
