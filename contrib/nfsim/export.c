/* nfsim: NetFlow v9 / IPFIX exporter over UDP (see export.h). */
#include "export.h"

#include <errno.h>
#include <gio/gio.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
  TEMPLATE_V4 = 256,
  TEMPLATE_V6 = 257,
  TEMPLATE_SAMPLING = 258,
  /* templates and the sampling record go out again every this many
   * packets, as routers do (template timeout by packet count) */
  TEMPLATE_REFRESH_PACKETS = 64,
};

typedef struct {
  guint16 type;
  guint16 length;
} Field;

/* The lean record layout shared by both templates; the address fields
 * differ. */
static const Field fields_v4[] = {
  { 152, 8 }, { 153, 8 }, { 1, 8 },  { 2, 8 },  { 8, 4 },  { 12, 4 },
  { 10, 4 },  { 14, 4 },  { 16, 4 }, { 17, 4 }, { 7, 2 },  { 11, 2 },
  { 4, 1 },   { 6, 1 },   { 5, 1 },  { 55, 1 }, { 9, 1 },  { 13, 1 },
  { 61, 1 },
};
static const Field fields_v6[] = {
  { 152, 8 }, { 153, 8 }, { 1, 8 },  { 2, 8 },  { 27, 16 }, { 28, 16 },
  { 10, 4 },  { 14, 4 },  { 16, 4 }, { 17, 4 }, { 7, 2 },   { 11, 2 },
  { 4, 1 },   { 6, 1 },   { 5, 1 },  { 55, 1 }, { 29, 1 },  { 30, 1 },
  { 61, 1 },
};

/* A PE/BNG router's template: the lean fields plus next hop, BGP next
 * hop, BGP adjacent ASes, ICMP type/code, forwarding status, flow end
 * reason, VLANs, the four MAC addresses, three MPLS label stack entries,
 * VRF ids and engine type/id, in a typical router's order.  nfcapd 1.7.1
 * stores #89 and #128/#129 only from v9 and #136 only from IPFIX (its
 * other path steps over them by their length).  ICMP type/code is #32 in
 * v9 for both families (nfcapd 1.7.1's v9 map has no #139), #139 for IPv6
 * in IPFIX.  The macro's arguments: ids of the source and destination
 * address, next hop and BGP next hop (ALEN bytes each), masks and ICMP
 * type/code. */
#define ROUTER_FIELDS(SRC, DST, NH, BGPNH, ALEN, SMASK, DMASK, ICMP)          \
  { 152, 8 }, { 153, 8 }, { 1, 8 }, { 2, 8 }, { SRC, ALEN }, { DST, ALEN },  \
  { NH, ALEN }, { BGPNH, ALEN }, { 10, 4 }, { 14, 4 }, { 16, 4 }, { 17, 4 }, \
  { 128, 4 }, { 129, 4 }, { 7, 2 }, { 11, 2 }, { ICMP, 2 }, { 4, 1 },        \
  { 6, 1 }, { 5, 1 }, { 55, 1 }, { SMASK, 1 }, { DMASK, 1 }, { 61, 1 },      \
  { 89, 1 }, { 136, 1 }, { 58, 2 }, { 59, 2 }, { 56, 6 }, { 80, 6 },        \
  { 81, 6 }, { 57, 6 }, { 70, 3 }, { 71, 3 }, { 72, 3 }, { 234, 4 },        \
  { 235, 4 }, { 38, 1 }, { 39, 1 }
static const Field router_v4[] = {
  ROUTER_FIELDS (8, 12, 15, 18, 4, 9, 13, 32),
};
static const Field router_v6_v9[] = {
  ROUTER_FIELDS (27, 28, 62, 63, 16, 29, 30, 32),
};
static const Field router_v6_ipfix[] = {
  ROUTER_FIELDS (27, 28, 62, 63, 16, 29, 30, 139),
};

typedef struct {
  const Field *f;
  guint n;
  guint size; /* bytes of one data record */
} Template;

static Template
template_of (const Field *f, guint n)
{
  Template t = { f, n, 0 };
  for (guint i = 0; i < n; i++)
    t.size += f[i].length;
  return t;
}

struct NfsimExporter {
  int fd;
  struct sockaddr_storage addr;
  socklen_t addr_len;
  char *target;
  NfsimFormat format;
  guint32 source_id;
  guint32 sampling;
  double flows_per_sec;
  Template tmpl_v4, tmpl_v6;

  guint8 buf[NFSIM_EXPORT_MTU];
  gsize len;            /* bytes used in buf, header included */
  gsize set_start;      /* offset of the open data set, 0: none */
  guint16 set_template; /* template id of the open data set */
  guint16 count;        /* v9: records (of any kind) in this packet */
  guint32 data_in_packet;
  guint64 max_last_ms;  /* export time of this packet */
  guint64 boot_ms;      /* the router's "boot", for v9 sysUptime */

  guint64 packets_sent;
  guint64 records_sent;
  guint64 data_sequence; /* IPFIX: data records sent before this packet */
  gint64 pace_start_us;
};

static inline void
put8 (guint8 *p, guint8 v)
{
  p[0] = v;
}
static inline void
put16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8;
  p[1] = v;
}
static inline void
put32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}
static inline void
put24 (guint8 *p, guint32 v)
{
  p[0] = v >> 16;
  p[1] = v >> 8;
  p[2] = v;
}
static inline void
put48 (guint8 *p, guint64 v)
{
  put16 (p, v >> 32);
  put32 (p + 2, (guint32) v);
}
static inline void
put64 (guint8 *p, guint64 v)
{
  put32 (p, v >> 32);
  put32 (p + 4, (guint32) v);
}

static gsize
header_len (const NfsimExporter *exp)
{
  return exp->format == NFSIM_FORMAT_V9 ? 20 : 16;
}

static gboolean
parse_target (NfsimExporter *exp, const char *target, GError **error)
{
  g_autofree char *host = NULL;
  const char *port;
  if (target[0] == '[')
    {
      const char *end = strchr (target, ']');
      if (!end || end[1] != ':')
        goto bad;
      host = g_strndup (target + 1, end - target - 1);
      port = end + 2;
    }
  else
    {
      const char *colon = strrchr (target, ':');
      if (!colon)
        goto bad;
      host = g_strndup (target, colon - target);
      port = colon + 1;
    }
  struct addrinfo hints = { 0 }, *res = NULL;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  int rc = getaddrinfo (host, port, &hints, &res);
  if (rc != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "nfsim: target '%s': %s", target, gai_strerror (rc));
      return FALSE;
    }
  memcpy (&exp->addr, res->ai_addr, res->ai_addrlen);
  exp->addr_len = res->ai_addrlen;
  freeaddrinfo (res);
  return TRUE;
bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "nfsim: target '%s': expected HOST:PORT or [V6]:PORT", target);
  return FALSE;
}

NfsimExporter *
nfsim_exporter_new (const char *target, NfsimFormat format, guint32 source_id,
                    guint32 sampling, double flows_per_sec, GError **error)
{
  g_autoptr (NfsimExporter) exp = g_new0 (NfsimExporter, 1);
  exp->fd = -1;
  exp->format = format;
  exp->source_id = source_id;
  exp->sampling = sampling;
  exp->flows_per_sec = flows_per_sec;
  exp->target = g_strdup (target);
  nfsim_exporter_set_template (exp, NFSIM_TEMPLATE_LEAN);
  if (!parse_target (exp, target, error))
    return NULL;
  exp->fd = socket (exp->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (exp->fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   "nfsim: socket: %s", g_strerror (errno));
      return NULL;
    }
  /* a large send buffer absorbs bursts; pacing does the rest */
  int sndbuf = 4 << 20;
  setsockopt (exp->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  exp->len = 0;
  return g_steal_pointer (&exp);
}

void
nfsim_exporter_set_template (NfsimExporter *exp, NfsimTemplate tmpl)
{
  g_return_if_fail (exp->packets_sent == 0 && exp->len == 0);
  if (tmpl == NFSIM_TEMPLATE_ROUTER)
    {
      exp->tmpl_v4 = template_of (router_v4, G_N_ELEMENTS (router_v4));
      exp->tmpl_v6 = exp->format == NFSIM_FORMAT_V9
                       ? template_of (router_v6_v9, G_N_ELEMENTS (router_v6_v9))
                       : template_of (router_v6_ipfix,
                                      G_N_ELEMENTS (router_v6_ipfix));
    }
  else
    {
      exp->tmpl_v4 = template_of (fields_v4, G_N_ELEMENTS (fields_v4));
      exp->tmpl_v6 = template_of (fields_v6, G_N_ELEMENTS (fields_v6));
    }
}

guint64
nfsim_exporter_packets_sent (const NfsimExporter *exp)
{
  return exp->packets_sent;
}

guint64
nfsim_exporter_records_sent (const NfsimExporter *exp)
{
  return exp->records_sent;
}

static void
close_set (NfsimExporter *exp)
{
  if (!exp->set_start)
    return;
  while ((exp->len - exp->set_start) % 4)
    exp->buf[exp->len++] = 0;
  put16 (exp->buf + exp->set_start + 2, exp->len - exp->set_start);
  exp->set_start = 0;
}

static void
add_template (NfsimExporter *exp, guint16 id, const Template *t)
{
  put16 (exp->buf + exp->len, id);
  put16 (exp->buf + exp->len + 2, t->n);
  exp->len += 4;
  for (guint i = 0; i < t->n; i++)
    {
      put16 (exp->buf + exp->len, t->f[i].type);
      put16 (exp->buf + exp->len + 2, t->f[i].length);
      exp->len += 4;
    }
  exp->count++;
}

/* The templates, the sampling options template and its one data record.
 * nfcapd 1.7.1 takes a generic sampling rate only from an options template
 * whose option fields are #34 alone (with #35 present it ignores it). */
static void
add_templates (NfsimExporter *exp)
{
  gsize start = exp->len;
  put16 (exp->buf + start, exp->format == NFSIM_FORMAT_V9 ? 0 : 2);
  exp->len += 4;
  add_template (exp, TEMPLATE_V4, &exp->tmpl_v4);
  add_template (exp, TEMPLATE_V6, &exp->tmpl_v6);
  put16 (exp->buf + start + 2, exp->len - start);

  if (exp->sampling <= 1)
    return;
  start = exp->len;
  guint8 *p = exp->buf + start;
  if (exp->format == NFSIM_FORMAT_V9)
    {
      put16 (p, 1);                  /* options template flowset */
      put16 (p + 4, TEMPLATE_SAMPLING);
      put16 (p + 6, 4);              /* scope length, bytes */
      put16 (p + 8, 4);              /* option length, bytes */
      put16 (p + 10, 1);             /* scope: system */
      put16 (p + 12, 4);
      put16 (p + 14, 34);            /* samplingInterval */
      put16 (p + 16, 4);
      put16 (p + 18, 0);             /* padding to 4 bytes */
      exp->len += 20;
    }
  else
    {
      put16 (p, 3);                  /* options template set */
      put16 (p + 4, TEMPLATE_SAMPLING);
      put16 (p + 6, 2);              /* field count */
      put16 (p + 8, 1);              /* scope field count */
      put16 (p + 10, 149);           /* observationDomainId (scope) */
      put16 (p + 12, 4);
      put16 (p + 14, 34);            /* samplingInterval */
      put16 (p + 16, 4);
      exp->len += 18;
      while ((exp->len - start) % 4)
        exp->buf[exp->len++] = 0;
    }
  put16 (p + 2, exp->len - start);
  exp->count++;

  start = exp->len;
  p = exp->buf + start;
  put16 (p, TEMPLATE_SAMPLING);
  put16 (p + 2, 12);
  put32 (p + 4, exp->source_id);
  put32 (p + 8, exp->sampling);
  exp->len += 12;
  exp->count++;
}

static void
start_packet (NfsimExporter *exp)
{
  exp->len = header_len (exp);
  exp->count = 0;
  exp->data_in_packet = 0;
  exp->set_start = 0;
  if (exp->packets_sent % TEMPLATE_REFRESH_PACKETS == 0)
    add_templates (exp);
}

static void
pace (NfsimExporter *exp)
{
  if (exp->flows_per_sec <= 0)
    return;
  gint64 now = g_get_monotonic_time ();
  if (exp->pace_start_us == 0)
    exp->pace_start_us = now;
  gint64 due = exp->pace_start_us
               + (gint64) ((double) exp->records_sent * 1e6 / exp->flows_per_sec);
  if (due > now)
    g_usleep (due - now);
}

static gboolean
send_packet (NfsimExporter *exp, GError **error)
{
  close_set (exp);
  guint8 *h = exp->buf;
  guint32 export_secs = exp->max_last_ms / 1000;
  if (exp->format == NFSIM_FORMAT_V9)
    {
      put16 (h, 9);
      put16 (h + 2, exp->count);
      put32 (h + 4, (guint32) (exp->max_last_ms - exp->boot_ms));
      put32 (h + 8, export_secs);
      put32 (h + 12, (guint32) exp->packets_sent);
      put32 (h + 16, exp->source_id);
    }
  else
    {
      put16 (h, 10);
      put16 (h + 2, exp->len);
      put32 (h + 4, export_secs);
      /* nfcapd 1.7.1 counts flow data records only (not option data)
       * in its sequence check, so the sequence does the same */
      put32 (h + 8, (guint32) exp->data_sequence);
      put32 (h + 12, exp->source_id);
    }
  pace (exp);
  for (int attempt = 0;; attempt++)
    {
      ssize_t n = sendto (exp->fd, exp->buf, exp->len, 0,
                          (struct sockaddr *) &exp->addr, exp->addr_len);
      if (n == (ssize_t) exp->len)
        break;
      if (n < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
          && attempt < 1000)
        {
          g_usleep (1000);
          continue;
        }
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   "nfsim: send to %s: %s", exp->target,
                   n < 0 ? g_strerror (errno) : "short write");
      return FALSE;
    }
  exp->packets_sent++;
  exp->records_sent += exp->data_in_packet;
  exp->data_sequence += exp->data_in_packet;
  exp->len = 0;
  return TRUE;
}

gboolean
nfsim_exporter_add (NfsimExporter *exp, const NfsimRecord *r, GError **error)
{
  const Template *t = r->family == 6 ? &exp->tmpl_v6 : &exp->tmpl_v4;
  const Field *f = t->f;
  guint16 tid = r->family == 6 ? TEMPLATE_V6 : TEMPLATE_V4;
  gsize rsize = t->size;

  if (exp->boot_ms == 0)
    exp->boot_ms = r->first_ms > 86400000 ? r->first_ms - 86400000 : 0;
  if (exp->len == 0)
    start_packet (exp);
  gsize need = rsize + (exp->set_start && exp->set_template == tid ? 0 : 4 + 3);
  if (exp->len + need > sizeof exp->buf)
    {
      if (!send_packet (exp, error))
        return FALSE;
      start_packet (exp);
    }
  if (!exp->set_start || exp->set_template != tid)
    {
      close_set (exp);
      exp->set_start = exp->len;
      exp->set_template = tid;
      put16 (exp->buf + exp->len, tid);
      exp->len += 4;
    }

  static const NfsimRouterFields no_router_fields;
  const NfsimRouterFields *x = r->router ? r->router : &no_router_fields;
  guint8 *p = exp->buf + exp->len;
  for (guint i = 0; i < t->n; i++)
    {
      switch (f[i].type)
        {
        case 152: put64 (p, r->first_ms); break;
        case 153: put64 (p, r->last_ms); break;
        case 1: put64 (p, r->bytes); break;
        case 2: put64 (p, r->packets); break;
        case 8: memcpy (p, r->src, 4); break;
        case 12: memcpy (p, r->dst, 4); break;
        case 27: memcpy (p, r->src, 16); break;
        case 28: memcpy (p, r->dst, 16); break;
        case 10: put32 (p, r->input_if); break;
        case 14: put32 (p, r->output_if); break;
        case 16: put32 (p, r->src_as); break;
        case 17: put32 (p, r->dst_as); break;
        case 7: put16 (p, r->src_port); break;
        case 11: put16 (p, r->dst_port); break;
        case 4: put8 (p, r->proto); break;
        case 6: put8 (p, r->tcp_flags); break;
        case 5: put8 (p, r->src_tos); break;
        case 55: put8 (p, r->dst_tos); break;
        case 9: case 29: put8 (p, r->src_mask); break;
        case 13: case 30: put8 (p, r->dst_mask); break;
        case 61: put8 (p, r->direction); break;
        /* router template */
        case 15: memcpy (p, x->next_hop, 4); break;
        case 62: memcpy (p, x->next_hop, 16); break;
        case 18: memcpy (p, x->bgp_next_hop, 4); break;
        case 63: memcpy (p, x->bgp_next_hop, 16); break;
        case 128: put32 (p, x->next_adj_as); break;
        case 129: put32 (p, x->prev_adj_as); break;
        case 32: case 139:
          put16 (p, r->proto == 1 || r->proto == 58 ? r->dst_port : 0);
          break;
        case 89: put8 (p, x->fwd_status); break;
        case 136: put8 (p, x->end_reason); break;
        case 58: put16 (p, x->src_vlan); break;
        case 59: put16 (p, x->dst_vlan); break;
        case 56: put48 (p, x->in_src_mac); break;
        case 80: put48 (p, x->in_dst_mac); break;
        case 81: put48 (p, x->out_src_mac); break;
        case 57: put48 (p, x->out_dst_mac); break;
        case 70: case 71: case 72: put24 (p, x->mpls[f[i].type - 70]); break;
        case 234: put32 (p, x->ingress_vrf); break;
        case 235: put32 (p, x->egress_vrf); break;
        case 38: put8 (p, x->engine_type); break;
        case 39: put8 (p, x->engine_id); break;
        default: g_assert_not_reached ();
        }
      p += f[i].length;
    }
  exp->len += rsize;
  exp->count++;
  exp->data_in_packet++;
  if (r->last_ms > exp->max_last_ms)
    exp->max_last_ms = r->last_ms;
  return TRUE;
}

gboolean
nfsim_exporter_flush (NfsimExporter *exp, GError **error)
{
  if (exp->len == 0 || exp->data_in_packet == 0)
    return TRUE;
  return send_packet (exp, error);
}

void
nfsim_exporter_free (NfsimExporter *exp)
{
  if (!exp)
    return;
  if (exp->fd >= 0)
    close (exp->fd);
  g_free (exp->target);
  g_free (exp);
}
