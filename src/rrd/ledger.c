/* NfsubLedger: which nfcapd files a plugin's state already holds.
 *
 * A plugin saves its ledger in the same atomic write as its counters, so
 * "file counted" and "file remembered" can never disagree after a crash,
 * whatever the host's own ledger says (plugins save one after the other,
 * and a crash between two of them must not make the first count twice).
 */
#include "config.h"

#include <string.h>

#include <nfsub/plugin.h>
#include <nfsub/rrd.h>

#define LEDGER_STATE_VERSION 1

struct NfsubLedger {
  GHashTable *files; /* key (guint64 *) -> file time (gint64 *), one block */
  gint64 newest;
  gint64 retention;
};

NfsubLedger *
nfsub_ledger_new (guint retention_days)
{
  NfsubLedger *l = g_new0 (NfsubLedger, 1);
  l->files = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  l->retention = (gint64) retention_days * 86400;
  l->newest = G_MININT64;
  return l;
}

void
nfsub_ledger_free (NfsubLedger *l)
{
  if (!l)
    return;
  g_hash_table_unref (l->files);
  g_free (l);
}

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
nfsub_ledger_file_key (const NfsubFileInfo *info)
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

gint64
nfsub_ledger_file_time (const NfsubFileInfo *info)
{
  if (info->has_stat && info->stat.last_ms)
    return (gint64) (info->stat.last_ms / 1000);
  return info->created;
}

static void
ledger_prune (NfsubLedger *l)
{
  if (l->retention <= 0 || l->newest == G_MININT64)
    return;
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, l->files);
  while (g_hash_table_iter_next (&it, &key, &value))
    if (((gint64 *) key)[1] < l->newest - l->retention)
      g_hash_table_iter_remove (&it);
}

static void
ledger_insert (NfsubLedger *l, guint64 key, gint64 time)
{
  /* one block: [0] key for the hash, [1] time */
  gint64 *entry = g_new (gint64, 2);
  entry[0] = (gint64) key;
  entry[1] = time;
  g_hash_table_replace (l->files, entry, entry);
  if (time > l->newest)
    l->newest = time;
}

gboolean
nfsub_ledger_contains (NfsubLedger *l, guint64 key)
{
  gint64 k = (gint64) key;
  return g_hash_table_contains (l->files, &k);
}

gboolean
nfsub_ledger_add (NfsubLedger *l, guint64 key, gint64 file_time)
{
  if (nfsub_ledger_contains (l, key))
    return FALSE;
  ledger_insert (l, key, file_time);
  ledger_prune (l);
  return TRUE;
}

guint
nfsub_ledger_size (NfsubLedger *l)
{
  return g_hash_table_size (l->files);
}

#define LEDGER_STATE_TYPE "(ua(tx))"

GVariant *
nfsub_ledger_save (NfsubLedger *l)
{
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(tx)"));
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, l->files);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      const gint64 *e = key;
      g_variant_builder_add (&b, "(tx)", (guint64) e[0], e[1]);
    }
  return g_variant_new ("(u@a(tx))", (guint32) LEDGER_STATE_VERSION,
                        g_variant_builder_end (&b));
}

gboolean
nfsub_ledger_load (NfsubLedger *l, GVariant *state, GError **error)
{
  if (!g_variant_is_of_type (state, G_VARIANT_TYPE (LEDGER_STATE_TYPE)))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "ledger state has type %s, expected %s",
                   g_variant_get_type_string (state), LEDGER_STATE_TYPE);
      return FALSE;
    }
  guint32 version;
  g_autoptr (GVariantIter) iter = NULL;
  g_variant_get (state, "(ua(tx))", &version, &iter);
  if (version != LEDGER_STATE_VERSION)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "ledger state version %u, expected %u", version,
                   LEDGER_STATE_VERSION);
      return FALSE;
    }
  g_hash_table_remove_all (l->files);
  l->newest = G_MININT64;
  guint64 key;
  gint64 time;
  while (g_variant_iter_next (iter, "(tx)", &key, &time))
    ledger_insert (l, key, time);
  return TRUE;
}
