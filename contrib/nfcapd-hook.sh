#!/bin/sh
# nfcapd calls this on every rotation:
#
#   nfcapd -D -w /var/cache/nfdump -t 300 -P /run/nfcapd.pid \
#          -x '/usr/share/nfsub/nfcapd-hook.sh %d/%f'
#
# %d/%f is the file nfcapd has just closed.  nfsub takes the state lock, so
# a slow run and the next rotation never interleave; the ledger makes a
# retried file a no-op.  Messages go to syslog (tag nfsub) because nfcapd
# discards the hook's output.
conf=${NFSUB_CONF:-/etc/nfsub/nfsub.conf}
nfsub=${NFSUB:-nfsub}
out=$("$nfsub" process -q -c "$conf" "$1" 2>&1)
status=$?
if [ -n "$out" ]; then
  printf '%s\n' "$out" | logger -t nfsub 2>/dev/null || printf '%s\n' "$out" >&2
fi
exit $status
