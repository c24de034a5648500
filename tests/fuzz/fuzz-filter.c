/* libFuzzer target for the filter compiler and both evaluators.
 *
 * Any input either compiles or fails with a GError whose message is valid
 * UTF-8 and starts with "position N: "; a compiled filter evaluates every
 * test flow the same way through nfsub_filter_match() and
 * nfsub_filter_select().  Anything else (or a sanitizer report) is a bug.
 * `make fuzz-filter [FILTER_FUZZ_TIME=s]`. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <nfsub/filter.h>

#define N_FLOWS 600

static NfsubFlow flows[N_FLOWS];

static void
init_flows (void)
{
  static const char *const users[] = { "pppoe:alice", "ipoe:bob", NULL, "1" };
  guint32 x = 12345;
  for (guint i = 0; i < N_FLOWS; i++)
    {
      NfsubFlow *f = &flows[i];
#define NEXT() (x = x * 1103515245u + 12345u, x >> 8)
      f->family = NEXT () % 3 ? 4 : 6;
      f->proto = (guint8[]){ 6, 17, 1, 58, 47, 50, 0 }[NEXT () % 7];
      f->src.hi = f->family == 6 ? ((guint64) NEXT () << 40) : 0;
      f->src.lo = f->family == 6 ? NEXT () % 16 : (NFSUB_ADDR_V4_MAPPED | (0x0a000000u + NEXT () % 64));
      f->dst = f->src;
      f->dst.lo ^= NEXT () % 8;
      f->exporter = nfsub_addr_from_v4 (0x7f000001u + NEXT () % 3);
      f->src_port = NEXT () % 1100;
      f->dst_port = (guint16[]){ 0, 53, 80, 443, 1023, 1024, 2048, 65535 }[NEXT () % 8];
      f->tcp_flags = NEXT () % 256;
      f->in_bytes = NEXT () % 5000;
      f->in_packets = NEXT () % 20;
      f->out_bytes = NEXT () % 2 ? 0 : NEXT () % 3000;
      f->input_if = NEXT () % 20;
      f->output_if = NEXT () % 20;
      f->direction = NEXT () % 4;
      f->src_tag.user = users[NEXT () % 4];
      f->src_tag.access = NEXT () % 4;
      f->dst_tag.service = NEXT () % 3;
      f->dst_tag.user_class = NEXT () % 3;
#undef NEXT
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  static gboolean ready;
  static guint32 out[N_FLOWS];
  GError *error = NULL;
  char *text;
  NfsubFilter *filter;

  if (!ready)
    {
      init_flows ();
      ready = TRUE;
    }
  text = g_strndup ((const char *) data, size);
  filter = nfsub_filter_compile (text, &error);
  if (filter == NULL)
    {
      if (error == NULL || error->domain != NFSUB_FILTER_ERROR
          || !g_utf8_validate (error->message, -1, NULL)
          || !g_str_has_prefix (error->message, "position "))
        abort ();
      g_error_free (error);
    }
  else
    {
      guint n = nfsub_filter_select (filter, flows, N_FLOWS, NULL, 0, out), k = 0;
      for (guint i = 0; i < N_FLOWS; i++)
        {
          gboolean selected = k < n && out[k] == i;
          k += selected;
          if (nfsub_filter_match (filter, &flows[i]) != selected)
            abort ();
        }
      if (k != n || strcmp (nfsub_filter_expression (filter), text) != 0)
        abort ();
      nfsub_filter_free (filter);
    }
  g_free (text);
  return 0;
}
