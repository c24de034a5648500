/* nfsub: human-readable text for flows and nffile headers, as printed by
 * `nfsub dump` and `nfsub info`. */
#ifndef NFSUB_NFFILE_PRINT_H
#define NFSUB_NFFILE_PRINT_H

#include <glib.h>
#include <nfsub/flow.h>
#include <nfsub/nffile.h>

G_BEGIN_DECLS

/* Appends one line (no newline) to `out`:
 *   2024-06-03T00:00:00.123Z   61.500 TCP   10.0.0.1:50000 -> 192.0.2.7:443
 *   packets 12 bytes 3456 if 3->4 exporter 127.0.0.1/1 sampling 1:10
 * Start time in UTC with ms, duration in seconds, protocol name, IPv6
 * endpoints in brackets, ICMP destination port as type.code, counters as
 * in or in+out, input->output ifindex, exporter address/sysid, the rate
 * nfcapd applied. */
void nfsub_flow_format (const NfsubFlow *f, GString *out);

/* Appends the file header (layout, compression, blocks, ident) and the
 * stat record, one "Key: value" per line; the stat lines use the keys and
 * order of `nfdump -I`. */
void nfsub_file_info_format (const NfsubFileInfo *info, GString *out);

/* "TCP", "UDP", "ICMP6", ...; NULL for a protocol without a short name. */
const char *nfsub_proto_name (guint8 proto);

G_END_DECLS

#endif
