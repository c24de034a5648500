/* nfsim: NetFlow v9 / IPFIX exporter over UDP.
 *
 * One NfsimExporter is one router (one v9 source id / IPFIX observation
 * domain).  It owns a UDP socket, packs records into export packets of at
 * most NFSIM_EXPORT_MTU bytes, re-sends its templates and the sampling
 * option record every few packets like a real router, and paces packets to
 * a configured flow rate so that a collector on loopback loses nothing. */
#ifndef NFSIM_EXPORT_H
#define NFSIM_EXPORT_H

#include <glib.h>

typedef enum {
  NFSIM_FORMAT_V9 = 9,
  NFSIM_FORMAT_IPFIX = 10,
} NfsimFormat;

/* Which fields the data templates carry (see README.md, "Templates"). */
typedef enum {
  NFSIM_TEMPLATE_LEAN = 0,   /* the flow's key, counters, ifindexes, AS, masks */
  NFSIM_TEMPLATE_ROUTER = 1, /* + what a PE/BNG router exports: next hops,
                              * VLANs, MACs, MPLS labels, adjacent AS, VRFs,
                              * forwarding status, end reason, engine */
} NfsimTemplate;

/* What the router template adds to a record.  Addresses in network
 * byte order, IPv4 in the first 4 bytes; the family is the flow's. */
typedef struct NfsimRouterFields {
  guint8 next_hop[16];      /* #15 / #62 */
  guint8 bgp_next_hop[16];  /* #18 / #63 */
  guint32 next_adj_as;      /* #128 */
  guint32 prev_adj_as;      /* #129 */
  guint32 ingress_vrf;      /* #234 */
  guint32 egress_vrf;       /* #235 */
  guint64 in_src_mac;       /* #56, low 48 bits */
  guint64 in_dst_mac;       /* #80 */
  guint64 out_src_mac;      /* #81 */
  guint64 out_dst_mac;      /* #57 */
  guint32 mpls[3];          /* #70-#72: label << 4 | exp << 1 | bottom-of-stack */
  guint16 src_vlan;         /* #58 */
  guint16 dst_vlan;         /* #59 */
  guint8 fwd_status;        /* #89 */
  guint8 end_reason;        /* #136 */
  guint8 engine_type;       /* #38 */
  guint8 engine_id;         /* #39 */
} NfsimRouterFields;

/* One flow record as the router exports it (counters are what the
 * router's sampler saw, not scaled). */
typedef struct {
  guint64 first_ms; /* flowStartMilliseconds (#152), Unix epoch */
  guint64 last_ms;  /* flowEndMilliseconds (#153) */
  guint64 bytes;    /* #1 */
  guint64 packets;  /* #2 */
  guint8 src[16];   /* IPv4 in the first 4 bytes when family == 4 */
  guint8 dst[16];
  guint32 input_if;  /* #10 */
  guint32 output_if; /* #14 */
  guint32 src_as;    /* #16 */
  guint32 dst_as;    /* #17 */
  guint16 src_port;  /* #7 */
  guint16 dst_port;  /* #11; ICMP: type * 256 + code */
  guint8 family;     /* 4 or 6 */
  guint8 proto;      /* #4 */
  guint8 tcp_flags;  /* #6 */
  guint8 src_tos;    /* #5 */
  guint8 dst_tos;    /* #55 */
  guint8 src_mask;   /* #9 / #29 */
  guint8 dst_mask;   /* #13 / #30 */
  guint8 direction;  /* #61: 0 ingress, 1 egress */

  /* The router template's fields; NULL: all 0 (the lean template
   * ignores them). */
  const struct NfsimRouterFields *router;
} NfsimRecord;

typedef struct NfsimExporter NfsimExporter;

/* target: "HOST:PORT" or "[V6]:PORT".  sampling: 1-in-N packet sampling
 * announced by an options template (#34 only, system scope); 0 or 1: no
 * options template.  flows_per_sec: pacing, 0 = as fast as possible. */
NfsimExporter *nfsim_exporter_new (const char *target, NfsimFormat format,
                                   guint32 source_id, guint32 sampling,
                                   double flows_per_sec, GError **error);
/* Data templates to send (default NFSIM_TEMPLATE_LEAN); call before the
 * first add. */
void nfsim_exporter_set_template (NfsimExporter *exp, NfsimTemplate tmpl);
gboolean nfsim_exporter_add (NfsimExporter *exp, const NfsimRecord *rec,
                             GError **error);
/* sends the partly filled packet, if any */
gboolean nfsim_exporter_flush (NfsimExporter *exp, GError **error);
guint64 nfsim_exporter_packets_sent (const NfsimExporter *exp);
guint64 nfsim_exporter_records_sent (const NfsimExporter *exp);
void nfsim_exporter_free (NfsimExporter *exp);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NfsimExporter, nfsim_exporter_free)

/* One export packet's size limit: an Ethernet MTU minus IP/UDP headers. */
#define NFSIM_EXPORT_MTU 1400

#endif /* NFSIM_EXPORT_H */
