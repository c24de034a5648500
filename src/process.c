/* The per-file pipeline: reader -> tag stage -> account stage. */
#include "config.h"

#include <string.h>

#include <nfsub/filter.h>
#include <nfsub/nffile.h>

#include "lib/host-private.h"
#include "ledger.h"
#include "loader.h"
#include "process.h"

#define BATCH_FLOWS 2048

/* nfcapd's finished files: nfcapd.YYYYMMDDhhmm[ss][+zzzz] */
static gboolean
is_nfcapd_file_name (const char *name)
{
  if (!g_str_has_prefix (name, "nfcapd."))
    return FALSE;
  const char *p = name + 7;
  gsize digits = strspn (p, "0123456789");
  if (digits != 12 && digits != 14)
    return FALSE;
  p += digits;
  if (*p == '\0')
    return TRUE;
  return (*p == '+' || *p == '-') && strspn (p + 1, "0123456789") == 4
         && p[5] == '\0';
}

static void
collect_dir (const char *dir, GPtrArray *out, guint depth)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (!d || depth > 6)
    return;
  const char *entry;
  while ((entry = g_dir_read_name (d)))
    {
      g_autofree char *full = g_build_filename (dir, entry, NULL);
      if (is_nfcapd_file_name (entry)
          && g_file_test (full, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (out, g_steal_pointer (&full));
      else if (g_file_test (full, G_FILE_TEST_IS_DIR)
               && !g_file_test (full, G_FILE_TEST_IS_SYMLINK))
        collect_dir (full, out, depth + 1);
    }
}

/* Time order is the order of the slot stamps in the names, whatever the
 * -S subdirectory layout. */
static gint
compare_by_stamp (gconstpointer a, gconstpointer b)
{
  const char *pa = *(const char *const *) a, *pb = *(const char *const *) b;
  g_autofree char *ba = g_path_get_basename (pa);
  g_autofree char *bb = g_path_get_basename (pb);
  int c = strcmp (ba, bb);
  return c ? c : strcmp (pa, pb);
}

GPtrArray *
nfsub_collect_input_files (char **args, GError **error)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  for (char **a = args; a && *a; a++)
    {
      if (g_file_test (*a, G_FILE_TEST_IS_DIR))
        {
          g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
          collect_dir (*a, found, 0);
          g_ptr_array_sort (found, compare_by_stamp);
          g_ptr_array_extend_and_steal (files, g_steal_pointer (&found));
        }
      else if (g_file_test (*a, G_FILE_TEST_EXISTS))
        g_ptr_array_add (files, g_strdup (*a));
      else
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                       "%s: no such file or directory", *a);
          return NULL;
        }
    }
  return g_steal_pointer (&files);
}

static gboolean
plugin_failed (NfsubPlugin *p, const char *what, const char *file,
               GError *local, GError **error)
{
  if (local)
    g_propagate_prefixed_error (error, local, "%s: %s %s: ", p->name, what,
                                file);
  else
    g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_PLUGIN,
                 "%s: %s %s failed", p->name, what, file);
  return FALSE;
}

/* The ledger decides before any plugin sees a flow. */
static gboolean
ledger_admits (NfsubFileLedger *ledger, const char *path,
               const NfsubFileInfo *info, gboolean force,
               NfsubProcessStats *stats, GError **error)
{
  const char *previous = NULL;
  switch (nfsub_file_ledger_check (ledger, path, info, &previous))
    {
    case NFSUB_FILE_LEDGER_NEW:
      return TRUE;
    case NFSUB_FILE_LEDGER_DONE:
      if (force)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                       "%s: --force: already processed (as %s); plugins keep "
                       "sums, not per-file contributions, so nfsub cannot "
                       "take the file out before counting it again; "
                       "rebuild the state from the flow files instead",
                       path, previous);
          return FALSE;
        }
      nfsub_info (NULL, "%s: already processed (as %s), skipped", path,
                  previous);
      stats->files_skipped++;
      return FALSE;
    case NFSUB_FILE_LEDGER_CHANGED:
    default:
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "%s: changed since it was processed (nfcapd appended to "
                   "it after a restart?); counting it again would count its "
                   "first part twice: refused", path);
      return FALSE;
    }
}

static gboolean
process_one_file (NfsubHost *host, GPtrArray *plugins, NfsubFilter *global,
                  NfsubFileLedger *ledger, gboolean force, const char *path,
                  NfsubFlow *flows, guint32 *global_sel, guint32 *plugin_sel,
                  NfsubProcessStats *stats, GError **error)
{
  g_autoptr (NfsubNffile) file = nfsub_nffile_open (path, error);
  if (!file)
    return FALSE;
  const NfsubFileInfo *info = nfsub_nffile_info (file);
  if (ledger)
    {
      GError *local = NULL;
      if (!ledger_admits (ledger, path, info, force, stats, &local))
        {
          if (!local)
            return TRUE;
          g_propagate_error (error, local);
          return FALSE;
        }
    }

  for (guint i = 0; i < plugins->len; i++)
    {
      NfsubPlugin *p = plugins->pdata[i];
      GError *local = NULL;
      if (p->desc->begin_file && !p->desc->begin_file (p->self, info, &local))
        return plugin_failed (p, "begin", path, local, error);
    }

  gssize n;
  while ((n = nfsub_nffile_read (file, flows, BATCH_FLOWS, error)) > 0)
    {
      for (gssize i = 0; i < n; i++)
        {
          NfsubFlow *f = &flows[i];
          stats->bytes += nfsub_flow_bytes (f);
          stats->packets += nfsub_flow_packets (f);
          /* Tags start empty: the tag stage owns them. */
          f->direction = 0;
          memset (&f->src_tag, 0, sizeof f->src_tag);
          memset (&f->dst_tag, 0, sizeof f->dst_tag);
        }
      stats->flows += (guint64) n;

      const guint32 *base_sel = NULL;
      guint base_n = (guint) n;
      if (global)
        {
          base_n = nfsub_filter_select (global, flows, (guint) n, NULL, 0,
                                        global_sel);
          base_sel = global_sel;
          stats->flows_filtered_out += (guint64) n - base_n;
        }
      for (guint i = 0; i < plugins->len; i++)
        {
          NfsubPlugin *p = plugins->pdata[i];
          NfsubBatch batch = { flows, (guint) n, base_sel, base_n };
          if (p->filter)
            {
              batch.n_selected = nfsub_filter_select (p->filter, flows,
                                                      (guint) n, base_sel,
                                                      base_n, plugin_sel);
              batch.selected = plugin_sel;
            }
          GError *local = NULL;
          if (p->desc->process && !p->desc->process (p->self, &batch, &local))
            return plugin_failed (p, "processing", path, local, error);
        }
    }
  if (n < 0)
    return FALSE;

  for (guint i = 0; i < plugins->len; i++)
    {
      NfsubPlugin *p = plugins->pdata[i];
      GError *local = NULL;
      if (p->desc->end_file && !p->desc->end_file (p->self, info, &local))
        return plugin_failed (p, "closing", path, local, error);
    }
  stats->files++;
  if (ledger)
    nfsub_file_ledger_add (ledger, path, info);
  return TRUE;
}

gboolean
nfsub_process_files (NfsubHost *host, GPtrArray *plugins, GPtrArray *files,
                     NfsubFileLedger *ledger, gboolean force,
                     NfsubProcessStats *stats, GError **error)
{
  g_autoptr (NfsubFilter) global = NULL;
  if (host->filter)
    {
      g_autoptr (GError) local = NULL;
      global = nfsub_filter_compile (host->filter, &local);
      if (!global)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                       "%s: [nfsub] filter: %s", nfsub_host_config_path (host),
                       local->message);
          return FALSE;
        }
    }
  g_autofree NfsubFlow *flows = g_new (NfsubFlow, BATCH_FLOWS);
  g_autofree guint32 *global_sel = g_new (guint32, BATCH_FLOWS);
  g_autofree guint32 *plugin_sel = g_new (guint32, BATCH_FLOWS);

  for (guint i = 0; i < files->len; i++)
    if (!process_one_file (host, plugins, global, ledger, force,
                           files->pdata[i], flows, global_sel, plugin_sel,
                           stats, error))
      return FALSE;

  if (stats->files == 0)
    return TRUE; /* nothing new: leave every state file as it is */
  for (guint i = 0; i < plugins->len; i++)
    {
      NfsubPlugin *p = plugins->pdata[i];
      GError *local = NULL;
      if (p->desc->finish && !p->desc->finish (p->self, &local))
        return plugin_failed (p, "saving state after", "the last file",
                              local, error);
    }
  return ledger ? nfsub_file_ledger_save (ledger, error) : TRUE;
}

gboolean
nfsub_process_run (NfsubHost *host, GPtrArray *files, gboolean force,
                   gboolean wait_for_lock, NfsubProcessStats *stats,
                   GError **error)
{
  /* Lock, then finish any commit a crash interrupted, then let the
   * plugins load their state: in that order, they never see half a
   * commit. */
  int lock = nfsub_state_lock (host->state_dir, wait_for_lock, error);
  if (lock < 0)
    return FALSE;
  gboolean ok = FALSE;
  g_autoptr (NfsubFileLedger) ledger = NULL;
  g_autoptr (GPtrArray) plugins = NULL;
  if (!nfsub_state_recover (host->state_dir, error))
    goto out;
  ledger = nfsub_file_ledger_load (host->state_dir, error);
  if (!ledger)
    goto out;
  plugins = nfsub_plugins_open_configured (host, error);
  if (!plugins)
    goto out;
  nfsub_state_txn_begin (host->state_dir);
  if (nfsub_process_files (host, plugins, files, ledger, force, stats, error)
      && nfsub_state_txn_commit (error))
    ok = TRUE;
  else
    nfsub_state_txn_abort ();
out:
  /* Plugins go before the lock: their free may still touch state files. */
  g_clear_pointer (&plugins, g_ptr_array_unref);
  nfsub_state_unlock (lock);
  return ok;
}
