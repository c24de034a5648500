/* nfsim: "random" mode, a plain mix of flows for reader and filter tests.
 *
 * Unlike the population model this has no users: it covers the record
 * shapes a reader must handle (IPv4/IPv6, TCP/UDP/ICMP/ICMPv6/ESP/GRE/
 * IP-in-IP/SCTP, server and P2P ports, big and small counters), and
 * writes what nfcapd must store as ground truth. */
#include "nfsim.h"

#include <math.h>
#include <string.h>

typedef struct {
  guint64 flows, packets, bytes;
} Totals;

static void
totals_add (Totals *t, guint64 packets, guint64 bytes)
{
  t->flows++;
  t->packets += packets;
  t->bytes += bytes;
}

/* nfcapd's stat record groups protocols this way (ICMPv6 counts as ICMP) */
static guint
stat_class (guint8 proto)
{
  switch (proto)
    {
    case 6: return 0;
    case 17: return 1;
    case 1: case 58: return 2;
    default: return 3;
    }
}
static const char *const stat_class_names[] = { "tcp", "udp", "icmp", "other" };

static const guint16 server_ports[] = { 443, 80, 22, 53, 993, 25, 183, 123 };
static const guint16 high_server_ports[] = { 8080, 1935, 31000, 4500, 8801, 51820 };

static void
fill_addresses (NfsimRng *rng, NfsimRecord *r, gboolean upload)
{
  guint8 user[16] = { 0 }, server[16] = { 0 };
  if (r->family == 4)
    {
      /* users in 10.0.0.0/12, servers in a few public-looking /16s */
      guint32 u = 0x0a000000u | (guint32) nfsim_rng_below (rng, 1u << 20);
      static const guint32 nets[] = { 0xcb007100u, 0xc6336400u, 0x5db8d800u,
                                      0x8efa0000u };
      guint32 s = nets[nfsim_rng_below (rng, 4)] | (guint32) nfsim_rng_below (rng, 1u << 16);
      for (int i = 0; i < 4; i++)
        {
          user[i] = u >> (24 - 8 * i);
          server[i] = s >> (24 - 8 * i);
        }
      r->src_mask = r->dst_mask = 24;
    }
  else
    {
      /* both ends spread over 2000::/12 (the masks reach into the
       * 2001:db8 bits; other components' tests rely on that range) */
      guint64 uhi = G_GUINT64_CONSTANT (0x20010db810000000)
                    | (nfsim_rng_next (rng) & G_GUINT64_CONSTANT (0x0fffffffffff00));
      guint64 shi = G_GUINT64_CONSTANT (0x20010db8f0000000)
                    | (nfsim_rng_next (rng) & G_GUINT64_CONSTANT (0x0fffffffffffff));
      guint64 ulo = nfsim_rng_next (rng), slo = nfsim_rng_below (rng, 65536);
      for (int i = 0; i < 8; i++)
        {
          user[i] = uhi >> (56 - 8 * i);
          user[8 + i] = ulo >> (56 - 8 * i);
          server[i] = shi >> (56 - 8 * i);
          server[8 + i] = slo >> (56 - 8 * i);
        }
      r->src_mask = r->dst_mask = 64;
    }
  memcpy (r->src, upload ? user : server, 16);
  memcpy (r->dst, upload ? server : user, 16);
}

/* ------------------------------------------------------------------ */
/* The router template's fields.  The exporter is a BNG/PE: subscriber
 * side ifindexes 1-8 (linecard 1 for 1-4, 2 for 5-8), core side 9-16 on
 * /31 links to core routers.  They come from their own random stream
 * (seeded from --seed) so that the flows themselves, and the ground
 * truth, are those of the lean template with the same seed. */

static guint64
mac_router (guint32 ifindex)
{
  return G_GUINT64_CONSTANT (0x060000000100) | (ifindex & 0xff);
}
static guint64
mac_core_neighbour (guint32 ifindex)
{
  return G_GUINT64_CONSTANT (0x060000000200) | (ifindex & 0xff);
}

/* a subscriber's CPE, fixed per address: 02:xx:xx:xx:xx:xx */
static guint32
addr_hash (const guint8 *a, guint n)
{
  guint32 h = 2166136261u;
  for (guint i = 0; i < n; i++)
    h = (h ^ a[i]) * 16777619u;
  return h;
}

static void
put_v4 (guint8 *out, guint32 v)
{
  for (int i = 0; i < 4; i++)
    out[i] = v >> (24 - 8 * i);
}

/* fe80::/64 with the EUI-64 of a MAC (universal/local bit flipped) */
static void
put_link_local (guint8 *out, guint64 mac)
{
  memset (out, 0, 16);
  out[0] = 0xfe;
  out[1] = 0x80;
  out[8] = (guint8) (mac >> 40) ^ 0x02;
  out[9] = mac >> 32;
  out[10] = mac >> 24;
  out[11] = 0xff;
  out[12] = 0xfe;
  out[13] = mac >> 16;
  out[14] = mac >> 8;
  out[15] = mac;
}

static guint32
mpls_entry (guint32 label, guint8 exp, gboolean bottom)
{
  return label << 4 | (guint32) (exp & 7) << 1 | (bottom ? 1 : 0);
}

static void
fill_router_fields (NfsimRng *rng, const NfsimRecord *r, gboolean upload,
                    NfsimRouterFields *x)
{
  memset (x, 0, sizeof *x);
  const guint8 *user = upload ? r->src : r->dst;
  guint32 h = addr_hash (user, r->family == 6 ? 8 : 4); /* IPv6: per /64 */
  guint64 cpe_mac = G_GUINT64_CONSTANT (0x020000000000) | h;
  guint16 access_vlan = 100 + h % 3900;

  /* next hop: the core router on the output link, or for a download
   * sometimes none (an unnumbered subscriber interface) */
  gboolean have_next_hop = upload || nfsim_rng_uniform (rng) < 0.75;
  if (have_next_hop)
    {
      if (r->family == 4)
        put_v4 (x->next_hop, 0xc0000280u | (2 * (r->output_if & 0x3f) + 1));
      else
        put_link_local (x->next_hop, mac_core_neighbour (r->output_if));
    }
  /* upload: towards the Internet through a remote ASBR (BGP next hop,
   * adjacent AS); download: the subscriber route is local */
  guint32 transit = 64496 + nfsim_rng_below (rng, 4);
  if (upload)
    {
      guint k = 1 + nfsim_rng_below (rng, 6);
      if (r->family == 4)
        put_v4 (x->bgp_next_hop, 0xc0000200u | k);
      else
        {
          static const guint8 loop6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0xff, 0xff };
          memcpy (x->bgp_next_hop, loop6, 16);
          x->bgp_next_hop[15] = k;
        }
      x->next_adj_as = transit;
    }
  else
    x->prev_adj_as = transit;

  /* VRFs: the subscriber's (1 internet, 2 business, 3 wholesale) and the
   * global table (0) on the core side */
  guint32 vrf = 1 + h % 3;
  x->ingress_vrf = upload ? vrf : 0;
  x->egress_vrf = upload ? 0 : vrf;

  /* Layer 2: subscriber VLAN and CPE MAC on the access side */
  guint16 core_vlan_in = 4000 + (r->input_if & 0x3f);
  guint16 core_vlan_out = 4000 + (r->output_if & 0x3f);
  x->src_vlan = upload ? access_vlan : core_vlan_in;
  x->dst_vlan = upload ? core_vlan_out : access_vlan;
  x->in_src_mac = upload ? cpe_mac : mac_core_neighbour (r->input_if);
  x->in_dst_mac = mac_router (r->input_if);
  x->out_src_mac = mac_router (r->output_if);
  x->out_dst_mac = upload ? mac_core_neighbour (r->output_if) : cpe_mac;

  /* MPLS: downloads arrive from the core labelled (segment routing node
   * SID, sometimes two, then the service label), uploads unlabelled */
  if (!upload)
    {
      guint8 exp = r->src_tos >> 5;
      guint n = 0;
      if (nfsim_rng_uniform (rng) < 0.1)
        x->mpls[n++] = mpls_entry (16000 + nfsim_rng_below (rng, 8000), exp, FALSE);
      x->mpls[n++] = mpls_entry (16000 + nfsim_rng_below (rng, 8000), exp, FALSE);
      x->mpls[n++] = mpls_entry (24000 + nfsim_rng_below (rng, 100000), exp, TRUE);
    }

  /* forwarding status (RFC 7270): forwarded, rarely dropped */
  double u = nfsim_rng_uniform (rng);
  x->fwd_status = u < 0.94 ? 64 : u < 0.98 ? 66 : u < 0.99 ? 129 : 131;
  /* end reason: 3 end of flow (TCP FIN/RST), 2 active timeout, 1 idle */
  if (r->proto == 6 && (r->tcp_flags & 0x05))
    x->end_reason = 3;
  else if (r->last_ms - r->first_ms >= 300000)
    x->end_reason = 2;
  else
    x->end_reason = 1;
  x->engine_type = 1; /* linecard */
  x->engine_id = 1 + ((r->input_if - 1) & 7) / 4;
}

int
nfsim_run_random (const NfsimOptions *opt, GError **error)
{
  NfsimRng rng;
  nfsim_rng_seed (&rng, opt->seed);
  g_autoptr (NfsimExporter) exporter
    = nfsim_exporter_new (opt->target, opt->format, opt->source_id,
                          opt->sampling, opt->rate, error);
  if (!exporter)
    return 1;
  nfsim_exporter_set_template (exporter, opt->tmpl);
  NfsimRng router_rng;
  NfsimRouterFields router;
  nfsim_rng_seed_stream (&router_rng, opt->seed, G_GUINT64_CONSTANT (0x726f75746572));

  /* TCP, UDP, ICMP, ESP, GRE, IP-in-IP, SCTP */
  static const guint8 protos[] = { 6, 17, 1, 50, 47, 4, 132 };
  static const double proto_w[] = { 60, 28, 4, 4, 2, 1, 1 };
  Totals truth = { 0 }, wire = { 0 }, stored = { 0 }, by_class[4] = { { 0 } };
  double p_keep = 1.0 / (opt->sampling > 1 ? opt->sampling : 1);

  for (guint64 i = 0; i < opt->flows; i++)
    {
      NfsimRecord r = { 0 };
      r.family = nfsim_rng_uniform (&rng) < 0.3 ? 6 : 4;
      r.proto = protos[nfsim_rng_pick (&rng, proto_w, G_N_ELEMENTS (protos), 100)];
      gboolean upload = nfsim_rng_uniform (&rng) < 0.35;
      fill_addresses (&rng, &r, upload);

      if (r.proto == 6 || r.proto == 17)
        {
          guint16 client = 1024 + nfsim_rng_below (&rng, 65536 - 1024);
          guint16 server;
          double x = nfsim_rng_uniform (&rng);
          if (x < 0.7)
            server = server_ports[nfsim_rng_below (&rng, G_N_ELEMENTS (server_ports))];
          else if (x < 0.85)
            server = high_server_ports[nfsim_rng_below (&rng, G_N_ELEMENTS (high_server_ports))];
          else
            server = 1024 + nfsim_rng_below (&rng, 65536 - 1024); /* P2P */
          r.src_port = upload ? client : server;
          r.dst_port = upload ? server : client;
          if (r.proto == 6)
            {
              static const guint8 flags[] = { 0x1b, 0x1a, 0x12, 0x02, 0x10, 0x18, 0x11, 0x04 };
              r.tcp_flags = flags[nfsim_rng_below (&rng, G_N_ELEMENTS (flags))];
            }
        }
      else if (r.proto == 1)
        {
          if (r.family == 6)
            r.proto = 58;
          static const guint16 v4types[] = { 0x0800, 0x0000, 0x0303, 0x0b00 };
          static const guint16 v6types[] = { 0x8000, 0x8100, 0x0104, 0x0300 };
          r.dst_port = (r.family == 6 ? v6types : v4types)[nfsim_rng_below (&rng, 4)];
        }
      else if (r.proto == 4 && r.family == 6)
        r.proto = 41; /* IPv6-in-IPv6 would be 41 too; keep encapsulation */

      /* heavy-tailed packet counts, 40..1500-byte average packets */
      guint64 packets = 1 + (guint64) floor (exp (fabs (nfsim_rng_normal (&rng)) * 3.0));
      if (nfsim_rng_uniform (&rng) < 0.002)
        packets *= 1000; /* a few elephants with counters above 2^32 bytes */
      guint avg = 40 + nfsim_rng_below (&rng, 1461);
      guint64 bytes = packets * avg + nfsim_rng_below (&rng, packets);

      guint64 first = opt->start_ms + nfsim_rng_below (&rng, (guint64) opt->duration_s * 1000);
      guint64 dur = (guint64) nfsim_rng_exponential (&rng, 8000.0);
      if (dur > 300000)
        dur = 300000;
      if (packets == 1)
        dur = 0;
      r.first_ms = first;
      r.last_ms = first + dur;
      r.input_if = 1 + nfsim_rng_below (&rng, 8);
      r.output_if = 9 + nfsim_rng_below (&rng, 8);
      r.src_as = upload ? 0 : 64496 + nfsim_rng_below (&rng, 16);
      r.dst_as = upload ? 64496 + nfsim_rng_below (&rng, 16) : 0;
      static const guint8 tos[] = { 0, 0, 0, 0x20, 0xb8 };
      r.src_tos = tos[nfsim_rng_below (&rng, G_N_ELEMENTS (tos))];
      r.dst_tos = r.src_tos;
      r.direction = 0;
      if (opt->tmpl == NFSIM_TEMPLATE_ROUTER)
        {
          fill_router_fields (&router_rng, &r, upload, &router);
          r.router = &router;
        }
      totals_add (&truth, packets, bytes);

      /* the router's 1-in-N packet sampler */
      guint64 kept = opt->sampling > 1 ? nfsim_rng_binomial (&rng, packets, p_keep) : packets;
      if (kept == 0)
        continue;
      guint64 kept_bytes = kept == packets ? bytes
                           : (guint64) ((double) bytes * kept / packets + 0.5);
      if (kept_bytes < kept)
        kept_bytes = kept;
      r.packets = kept;
      r.bytes = kept_bytes;
      guint64 scale = opt->sampling > 1 ? opt->sampling : 1;
      totals_add (&wire, kept, kept_bytes);
      totals_add (&stored, kept * scale, kept_bytes * scale);
      totals_add (&by_class[stat_class (r.proto)], kept * scale, kept_bytes * scale);
      if (!nfsim_exporter_add (exporter, &r, error))
        return 1;
    }
  if (!nfsim_exporter_flush (exporter, error))
    return 1;

  if (opt->truth_path)
    {
      g_autoptr (GString) out = g_string_new (NULL);
      NfsubJsonWriter j;
      nfsim_truth_begin (&j, out, "random", opt->seed);
      nfsub_json_put_uint (&j, "sampling", opt->sampling > 1 ? opt->sampling : 1);
      nfsub_json_put_string (&j, "format", opt->format == NFSIM_FORMAT_V9 ? "v9" : "ipfix");
      if (opt->tmpl == NFSIM_TEMPLATE_ROUTER)
        nfsub_json_put_string (&j, "template", "router");
      nfsub_json_put_uint (&j, "export_packets", nfsim_exporter_packets_sent (exporter));
      Totals *sets[] = { &truth, &wire, &stored };
      const char *names[] = { "true", "exported", "expected_nfcapd" };
      for (int s = 0; s < 3; s++)
        {
          nfsub_json_begin_object (&j, names[s]);
          nfsub_json_put_uint (&j, "flows", sets[s]->flows);
          nfsub_json_put_uint (&j, "packets", sets[s]->packets);
          nfsub_json_put_uint (&j, "bytes", sets[s]->bytes);
          if (s == 2)
            {
              nfsub_json_begin_object (&j, "by_proto");
              for (int c = 0; c < 4; c++)
                {
                  nfsub_json_begin_object (&j, stat_class_names[c]);
                  nfsub_json_put_uint (&j, "flows", by_class[c].flows);
                  nfsub_json_put_uint (&j, "packets", by_class[c].packets);
                  nfsub_json_put_uint (&j, "bytes", by_class[c].bytes);
                  nfsub_json_end_object (&j);
                }
              nfsub_json_end_object (&j);
            }
          nfsub_json_end_object (&j);
        }
      nfsub_json_end_object (&j);
      if (!g_file_set_contents (opt->truth_path, out->str, (gssize) out->len,
                                error))
        return 1;
    }
  if (opt->verbose)
    g_printerr ("nfsim: %" G_GUINT64_FORMAT " flows exported in %" G_GUINT64_FORMAT
                " packets (%" G_GUINT64_FORMAT " generated)\n",
                wire.flows, nfsim_exporter_packets_sent (exporter), truth.flows);
  return 0;
}
