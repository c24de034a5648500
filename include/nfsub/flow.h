/* nfsub: the normalised flow record every plugin sees.
 *
 * The reader fills the flow part from an nfdump 1.7 file; the tag stage
 * (e.g. the subscriber plugin) fills the tag part; the account stage reads
 * both.  Counters are final: nfcapd has already scaled them for sampling.
 */
#ifndef NFSUB_FLOW_H
#define NFSUB_FLOW_H

#include <glib.h>

G_BEGIN_DECLS

/* An IPv4 or IPv6 address as two host-order 64-bit halves, the numeric
 * value of network bytes 0..7 and 8..15.  IPv4 is stored IPv4-mapped
 * (::ffff:a.b.c.d), so one 128-bit longest-prefix match serves both
 * families; the flow's `family` field still says which one the exporter
 * sent. */
typedef struct {
  guint64 hi;
  guint64 lo;
} NfsubAddr;

#define NFSUB_ADDR_V4_MAPPED G_GUINT64_CONSTANT (0x0000ffff00000000)

static inline NfsubAddr
nfsub_addr_from_v4 (guint32 host_order_v4)
{
  NfsubAddr a = { 0, NFSUB_ADDR_V4_MAPPED | host_order_v4 };
  return a;
}

static inline gboolean
nfsub_addr_is_v4 (const NfsubAddr *a)
{
  return a->hi == 0 && (a->lo >> 32) == 0xffff;
}

static inline guint32
nfsub_addr_v4 (const NfsubAddr *a)
{
  return (guint32) a->lo;
}

static inline gboolean
nfsub_addr_equal (const NfsubAddr *a, const NfsubAddr *b)
{
  return a->hi == b->hi && a->lo == b->lo;
}

/* Text form, as nfdump prints it ("10.0.0.1", "2001:db8::1").  buf must
 * hold NFSUB_ADDR_STRLEN bytes.  Returns buf. */
#define NFSUB_ADDR_STRLEN 48
const char *nfsub_addr_to_string (const NfsubAddr *a, char *buf);
/* Parses an IPv4 or IPv6 literal.  Returns FALSE on anything else. */
gboolean nfsub_addr_parse (const char *text, NfsubAddr *out);

typedef enum {
  NFSUB_SERVICE_UNKNOWN = 0,
  NFSUB_SERVICE_BROADBAND = 1,
  NFSUB_SERVICE_MOBILE = 2,
} NfsubService;

typedef enum {
  NFSUB_CLASS_UNKNOWN = 0,
  NFSUB_CLASS_PERSONAL = 1,
  NFSUB_CLASS_ENTERPRISE = 2,
} NfsubClass;

typedef enum {
  NFSUB_ACCESS_UNKNOWN = 0,
  NFSUB_ACCESS_PPPOE = 1,
  NFSUB_ACCESS_IPOE = 2,
  NFSUB_ACCESS_MOBILE = 3, /* mobile gateway (GGSN/PGW) sessions */
} NfsubAccess;

/* Direction bits of a flow, from the ISP's point of view. */
enum {
  NFSUB_DIR_IN = 1 << 0,  /* source address is a subscriber's: upload */
  NFSUB_DIR_OUT = 1 << 1, /* destination address is a subscriber's: download */
};

/* The subscriber that held one end's address at the flow's start. */
typedef struct {
  const char *user;   /* stable user key (includes the access type), NULL: none */
  guint32 user_id;    /* dense id, stable within one process only; 0: none */
  guint8 service;     /* NfsubService */
  guint8 user_class;  /* NfsubClass */
  guint8 access;      /* NfsubAccess */
  guint8 reserved;
} NfsubSubscriberTag;

/* Record flags, as in nfdump's V3 header. */
enum {
  NFSUB_FLOW_EVENT = 0x01,
  NFSUB_FLOW_SAMPLED = 0x02, /* counters were scaled by nfcapd */
  NFSUB_FLOW_ANON = 0x04,
};

typedef struct {
  /* times: milliseconds since the Unix epoch, UTC */
  guint64 first_ms;
  guint64 last_ms;
  guint64 received_ms;

  /* counters, already scaled for sampling by nfcapd */
  guint64 in_packets;
  guint64 in_bytes;
  guint64 out_packets; /* EXcntFlow: reverse/egress counters, usually 0 */
  guint64 out_bytes;
  guint64 aggr_flows;  /* flows this record stands for (1 for nfcapd files) */

  NfsubAddr src;
  NfsubAddr dst;
  NfsubAddr exporter;  /* router address the export came from */
  NfsubAddr next_hop;

  guint32 input_if;
  guint32 output_if;
  guint32 src_as;
  guint32 dst_as;
  guint32 sampling_rate; /* 1-in-N rate nfcapd applied; 1 when unsampled */

  guint16 src_port;
  guint16 dst_port;      /* ICMP: type*256 + code, as nfdump stores it */
  guint16 exporter_sysid;
  guint8 proto;
  guint8 tcp_flags;
  guint8 family;         /* 4 or 6 */
  guint8 flags;          /* NFSUB_FLOW_* */
  guint8 src_tos;
  guint8 fwd_status;
  guint8 src_mask;
  guint8 dst_mask;
  guint8 flow_dir;       /* exporter's ingress/egress (v9 #61) */
  guint8 nfversion;

  /* tags: written by the tag stage, read by the account stage */
  guint8 direction;      /* NFSUB_DIR_* bits; 0: unattributed */
  guint8 tag_reserved[3];
  NfsubSubscriberTag src_tag;
  NfsubSubscriberTag dst_tag;
} NfsubFlow;

/* Bytes of the flow counted in one direction (in + out counters). */
static inline guint64
nfsub_flow_bytes (const NfsubFlow *f)
{
  return f->in_bytes + f->out_bytes;
}

static inline guint64
nfsub_flow_packets (const NfsubFlow *f)
{
  return f->in_packets + f->out_packets;
}

G_END_DECLS

#endif /* NFSUB_FLOW_H */
