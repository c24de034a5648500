/* Human-readable flows and file headers for `nfsub dump` / `nfsub info`. */
#include "config.h"

#include <nfsub/nffile-print.h>

const char *
nfsub_proto_name (guint8 proto)
{
  switch (proto)
    {
    case 1: return "ICMP";
    case 2: return "IGMP";
    case 4: return "IPIP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 41: return "IPv6";
    case 47: return "GRE";
    case 50: return "ESP";
    case 51: return "AH";
    case 58: return "ICMP6";
    case 89: return "OSPF";
    case 132: return "SCTP";
    default: return NULL;
    }
}

static void
append_time_ms (GString *out, guint64 ms)
{
  g_autoptr (GDateTime) dt
      = g_date_time_new_from_unix_utc ((gint64) (ms / 1000));
  if (!dt)
    {
      g_string_append_printf (out, "@%" G_GUINT64_FORMAT "ms", ms);
      return;
    }
  g_autofree char *s = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S");
  g_string_append_printf (out, "%s.%03uZ", s, (guint) (ms % 1000));
}

static void
append_endpoint (GString *out, const NfsubAddr *a, guint8 family,
                 guint16 port, gboolean icmp)
{
  char buf[NFSUB_ADDR_STRLEN];
  nfsub_addr_to_string (a, buf);
  if (family == 6 || !nfsub_addr_is_v4 (a))
    g_string_append_printf (out, "[%s]", buf);
  else
    g_string_append (out, buf);
  if (icmp)
    g_string_append_printf (out, ":%u.%u", port >> 8, port & 0xff);
  else
    g_string_append_printf (out, ":%u", port);
}

static void
append_counter (GString *out, guint64 in, guint64 reverse)
{
  if (reverse)
    g_string_append_printf (out, "%" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT,
                            in, reverse);
  else
    g_string_append_printf (out, "%" G_GUINT64_FORMAT, in);
}

void
nfsub_flow_format (const NfsubFlow *f, GString *out)
{
  append_time_ms (out, f->first_ms);
  double duration = f->last_ms >= f->first_ms
                        ? (double) (f->last_ms - f->first_ms) / 1000.0
                        : -(double) (f->first_ms - f->last_ms) / 1000.0;
  g_string_append_printf (out, " %8.3f ", duration);
  const char *proto = nfsub_proto_name (f->proto);
  if (proto)
    g_string_append_printf (out, "%-5s ", proto);
  else
    g_string_append_printf (out, "%-5u ", f->proto);
  gboolean icmp = f->proto == 1 || f->proto == 58;
  append_endpoint (out, &f->src, f->family, f->src_port, FALSE);
  g_string_append (out, " -> ");
  append_endpoint (out, &f->dst, f->family, f->dst_port, icmp);
  g_string_append (out, " packets ");
  append_counter (out, f->in_packets, f->out_packets);
  g_string_append (out, " bytes ");
  append_counter (out, f->in_bytes, f->out_bytes);
  char buf[NFSUB_ADDR_STRLEN];
  g_string_append_printf (out, " if %u->%u exporter %s/%u sampling 1:%u",
                          f->input_if, f->output_if,
                          nfsub_addr_to_string (&f->exporter, buf),
                          f->exporter_sysid, f->sampling_rate);
}

/* The ident comes from the file: keep the output one line per key. */
static void
append_printable (GString *out, const char *s)
{
  for (; *s; s++)
    {
      guchar c = (guchar) *s;
      if (c >= 0x20 && c < 0x7f)
        g_string_append_c (out, (char) c);
      else
        g_string_append_printf (out, "\\x%02x", c);
    }
}

void
nfsub_file_info_format (const NfsubFileInfo *info, GString *out)
{
  g_string_append_printf (out, "File: %s\n", info->path ? info->path : "");
  g_string_append_printf (out, "Size: %" G_GUINT64_FORMAT "\n",
                          info->file_size);
  g_string_append_printf (out, "Layout: %u\n", info->layout_version);
  g_string_append_printf (out, "nfdump version: %u.%u.%u (0x%08x)\n",
                          (info->nfdversion >> 24) & 0x0f,
                          (info->nfdversion >> 16) & 0xff,
                          (info->nfdversion >> 8) & 0xff, info->nfdversion);
  g_autoptr (GDateTime) created
      = g_date_time_new_from_unix_utc (info->created);
  g_autofree char *c = created ? g_date_time_format (created,
                                                     "%Y-%m-%dT%H:%M:%SZ")
                               : g_strdup ("?");
  g_string_append_printf (out, "Created: %s (%" G_GINT64_FORMAT ")\n", c,
                          info->created);
  g_string_append_printf (out, "Creator: %u\n", info->creator);
  g_string_append_printf (out, "Compression: %s\n",
                          nfsub_compression_name (info->compression));
  g_string_append_printf (out, "Blocks: %u\n", info->num_blocks);
  g_string_append_printf (out, "Appendix: %u block(s) at byte %"
                          G_GUINT64_FORMAT "\n", info->appendix_blocks,
                          info->off_appendix);
  g_string_append (out, "Ident: ");
  append_printable (out, info->ident ? info->ident : "");
  g_string_append_c (out, '\n');
  if (!info->has_stat)
    {
      g_string_append (out, "Stat record: none\n");
      return;
    }
  const NfsubStatRecord *s = &info->stat;
  g_string_append_printf (out,
      "Flows: %" G_GUINT64_FORMAT "\n"
      "Flows_tcp: %" G_GUINT64_FORMAT "\n"
      "Flows_udp: %" G_GUINT64_FORMAT "\n"
      "Flows_icmp: %" G_GUINT64_FORMAT "\n"
      "Flows_other: %" G_GUINT64_FORMAT "\n"
      "Packets: %" G_GUINT64_FORMAT "\n"
      "Packets_tcp: %" G_GUINT64_FORMAT "\n"
      "Packets_udp: %" G_GUINT64_FORMAT "\n"
      "Packets_icmp: %" G_GUINT64_FORMAT "\n"
      "Packets_other: %" G_GUINT64_FORMAT "\n"
      "Bytes: %" G_GUINT64_FORMAT "\n"
      "Bytes_tcp: %" G_GUINT64_FORMAT "\n"
      "Bytes_udp: %" G_GUINT64_FORMAT "\n"
      "Bytes_icmp: %" G_GUINT64_FORMAT "\n"
      "Bytes_other: %" G_GUINT64_FORMAT "\n"
      "First: %" G_GUINT64_FORMAT "\n"
      "Last: %" G_GUINT64_FORMAT "\n"
      "msec_first: %" G_GUINT64_FORMAT "\n"
      "msec_last: %" G_GUINT64_FORMAT "\n"
      "Sequence failures: %" G_GUINT64_FORMAT "\n",
      s->numflows, s->numflows_tcp, s->numflows_udp, s->numflows_icmp,
      s->numflows_other, s->numpackets, s->numpackets_tcp,
      s->numpackets_udp, s->numpackets_icmp, s->numpackets_other,
      s->numbytes, s->numbytes_tcp, s->numbytes_udp, s->numbytes_icmp,
      s->numbytes_other, s->first_ms / 1000, s->last_ms / 1000,
      s->first_ms % 1000, s->last_ms % 1000, s->sequence_failures);
}
