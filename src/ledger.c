/* ledger.tsv: one line per processed file:
 *   digest  size  mtime  processed-at  path
 * The digest is SHA-256 over what identifies a file's content cheaply and
 * completely enough: its header (created, blocks, compression), ident and
 * the stat record nfcapd wrote at close.  A path seen again with another
 * digest is a file nfcapd appended to after a restart (or an operator
 * replaced): processing it again would count its first part twice. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <nfsub/plugin.h>

#include "ledger.h"

#define LEDGER_HEADER "# nfsub ledger v1: digest size mtime processed_at path\n"

typedef struct {
  char *digest;
  guint64 size;
  gint64 mtime;
  gint64 processed_at;
  char *path;
} LedgerEntry;

struct NfsubFileLedger {
  char *file;
  GPtrArray *entries;     /* LedgerEntry, in processing order */
  GHashTable *by_digest;  /* digest -> entry */
  GHashTable *by_path;    /* canonical path -> entry (latest) */
};

static void
ledger_entry_free (LedgerEntry *e)
{
  g_free (e->digest);
  g_free (e->path);
  g_free (e);
}

void
nfsub_file_ledger_free (NfsubFileLedger *ledger)
{
  if (!ledger)
    return;
  g_hash_table_unref (ledger->by_digest);
  g_hash_table_unref (ledger->by_path);
  g_ptr_array_unref (ledger->entries);
  g_free (ledger->file);
  g_free (ledger);
}

static void
ledger_index (NfsubFileLedger *ledger, LedgerEntry *e)
{
  g_ptr_array_add (ledger->entries, e);
  g_hash_table_insert (ledger->by_digest, e->digest, e);
  g_hash_table_insert (ledger->by_path, e->path, e);
}

NfsubFileLedger *
nfsub_file_ledger_load (const char *state_dir, GError **error)
{
  g_autoptr (NfsubFileLedger) ledger = g_new0 (NfsubFileLedger, 1);
  ledger->file = g_build_filename (state_dir, "ledger.tsv", NULL);
  ledger->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) ledger_entry_free);
  ledger->by_digest = g_hash_table_new (g_str_hash, g_str_equal);
  ledger->by_path = g_hash_table_new (g_str_hash, g_str_equal);

  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (ledger->file, &text, NULL, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&ledger);
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      g_auto (GStrv) f = g_strsplit (lines[i], "\t", 5);
      if (g_strv_length (f) != 5 || strlen (f[0]) != 64)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                       "%s: line %u: malformed ledger entry", ledger->file,
                       i + 1);
          return NULL;
        }
      LedgerEntry *e = g_new0 (LedgerEntry, 1);
      e->digest = g_strdup (f[0]);
      e->size = g_ascii_strtoull (f[1], NULL, 10);
      e->mtime = g_ascii_strtoll (f[2], NULL, 10);
      e->processed_at = g_ascii_strtoll (f[3], NULL, 10);
      e->path = g_strdup (f[4]);
      ledger_index (ledger, e);
    }
  return g_steal_pointer (&ledger);
}

static char *
canonical_path (const char *path)
{
  char *real = realpath (path, NULL);
  if (real)
    {
      char *copy = g_strdup (real);
      free (real);
      return copy;
    }
  return g_canonicalize_filename (path, NULL);
}

static char *
content_digest (const NfsubFileInfo *info)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint64 fields[] = { (guint64) info->created, info->num_blocks,
                       info->compression, info->file_size, info->off_appendix };
  g_checksum_update (sum, (const guchar *) fields, sizeof fields);
  g_checksum_update (sum, (const guchar *) info->ident, strlen (info->ident));
  if (info->has_stat)
    g_checksum_update (sum, (const guchar *) &info->stat, sizeof info->stat);
  return g_strdup (g_checksum_get_string (sum));
}

NfsubFileLedgerVerdict
nfsub_file_ledger_check (NfsubFileLedger *ledger, const char *path,
                    const NfsubFileInfo *info, const char **previous)
{
  g_autofree char *digest = content_digest (info);
  LedgerEntry *e = g_hash_table_lookup (ledger->by_digest, digest);
  if (e)
    {
      if (previous)
        *previous = e->path;
      return NFSUB_FILE_LEDGER_DONE;
    }
  g_autofree char *canon = canonical_path (path);
  e = g_hash_table_lookup (ledger->by_path, canon);
  if (e)
    {
      if (previous)
        *previous = e->path;
      return NFSUB_FILE_LEDGER_CHANGED;
    }
  return NFSUB_FILE_LEDGER_NEW;
}

void
nfsub_file_ledger_add (NfsubFileLedger *ledger, const char *path,
                  const NfsubFileInfo *info)
{
  LedgerEntry *e = g_new0 (LedgerEntry, 1);
  GStatBuf st;
  e->digest = content_digest (info);
  e->size = info->file_size;
  e->mtime = g_stat (path, &st) == 0 ? (gint64) st.st_mtime : 0;
  e->processed_at = g_get_real_time () / G_USEC_PER_SEC;
  e->path = canonical_path (path);
  ledger_index (ledger, e);
}

gboolean
nfsub_file_ledger_save (NfsubFileLedger *ledger, GError **error)
{
  g_autoptr (GString) s = g_string_new (LEDGER_HEADER);
  for (guint i = 0; i < ledger->entries->len; i++)
    {
      LedgerEntry *e = ledger->entries->pdata[i];
      g_string_append_printf (s, "%s\t%" G_GUINT64_FORMAT "\t%" G_GINT64_FORMAT
                              "\t%" G_GINT64_FORMAT "\t%s\n", e->digest,
                              e->size, e->mtime, e->processed_at, e->path);
    }
  return nfsub_write_file_atomic (ledger->file, s->str, s->len, error);
}

guint
nfsub_file_ledger_size (NfsubFileLedger *ledger)
{
  return ledger->entries->len;
}

GPtrArray *
nfsub_file_ledger_paths (NfsubFileLedger *ledger)
{
  GPtrArray *paths = g_ptr_array_new ();
  for (guint i = 0; i < ledger->entries->len; i++)
    g_ptr_array_add (paths, ((LedgerEntry *) ledger->entries->pdata[i])->path);
  return paths;
}
