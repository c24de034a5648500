/* The identity of an nfcapd file for plugins that remember which files
 * they hold (the ports plugin's week tables count their files). */
#include "config.h"

#include <string.h>

#include <nfsub/plugin.h>
#include <nfsub/rrd.h>

/* FNV-1a: the keys are saved in week tables, so the function is fixed. */
static guint64
fnv1a (guint64 h, const void *data, gsize len)
{
  const guint8 *p = data;
  for (gsize i = 0; i < len; i++)
    {
      h ^= p[i];
      h *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  return h;
}

guint64
nfsub_file_key (const NfsubFileInfo *info)
{
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325);
  h = fnv1a (h, &info->file_size, sizeof info->file_size);
  if (info->has_stat)
    {
      const NfsubStatRecord *s = &info->stat;
      guint64 v[] = { s->numflows, s->numbytes, s->numpackets, s->first_ms,
                      s->last_ms, s->numbytes_tcp, s->numbytes_udp };
      h = fnv1a (h, v, sizeof v);
    }
  else
    {
      g_autofree char *base = g_path_get_basename (info->path ? info->path
                                                              : "");
      h = fnv1a (h, base, strlen (base));
      h = fnv1a (h, &info->created, sizeof info->created);
    }
  return h;
}
