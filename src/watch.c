/* `nfsub watch DIR`: follow nfcapd's flow directory.
 *
 * nfcapd writes into nfcapd.current.* and renames the file to its final
 * nfcapd.STAMP name when the slot closes, so a file with a final name is
 * complete.  A GFileMonitor wakes us on the rename; a periodic rescan
 * catches what a monitor misses (files in new -S subdirectories, events
 * lost while busy).  At start every finished file the ledger does not
 * know is processed: that is the catch-up after downtime.  Each batch is
 * one locked, all-or-nothing run, exactly as `nfsub process` does it, so
 * a watch and a manual backfill can share one state directory. */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "lib/host-private.h"
#include "ledger.h"
#include "process.h"
#include "watch.h"

typedef struct {
  NfsubHost *host;
  char *dir;
  GMainLoop *loop;
  GHashTable *done;      /* paths handled (processed, skipped or failed) */
  guint rescan_pending;  /* idle/timeout source id of a queued scan */
  gboolean once;
  int status;
} Watch;

static void
watch_mark_ledger_paths (Watch *w)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubFileLedger) ledger = nfsub_file_ledger_load (w->host->state_dir, &error);
  if (!ledger)
    {
      g_printerr ("nfsub watch: %s\n", error->message);
      return;
    }
  g_autoptr (GPtrArray) paths = nfsub_file_ledger_paths (ledger);
  for (guint i = 0; i < paths->len; i++)
    g_hash_table_add (w->done, g_strdup (paths->pdata[i]));
}

static void
watch_scan (Watch *w)
{
  char *args[] = { w->dir, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = nfsub_collect_input_files (args, &error);
  if (!all)
    {
      g_printerr ("nfsub watch: %s\n", error->message);
      return;
    }
  g_autoptr (GPtrArray) fresh = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < all->len; i++)
    {
      g_autofree char *canon = g_canonicalize_filename (all->pdata[i], NULL);
      if (!g_hash_table_contains (w->done, canon))
        g_ptr_array_add (fresh, g_strdup (all->pdata[i]));
    }
  /* One file per run: a corrupt file then costs only itself, and the
   * state is committed after every file, as under nfcapd -x. */
  for (guint i = 0; i < fresh->len; i++)
    {
      const char *path = fresh->pdata[i];
      g_autoptr (GPtrArray) one = g_ptr_array_new ();
      g_ptr_array_add (one, (gpointer) path);
      NfsubProcessStats stats = { 0 };
      g_autoptr (GError) perr = NULL;
      if (nfsub_process_run (w->host, one, FALSE, TRUE, &stats, &perr))
        g_print ("nfsub watch: %s: %" G_GUINT64_FORMAT " flows%s\n", path,
                 stats.flows, stats.files_skipped ? " (already processed)" : "");
      else
        {
          g_printerr ("nfsub watch: %s\n", perr->message);
          w->status = 1;
        }
      g_hash_table_add (w->done, g_canonicalize_filename (path, NULL));
    }
}

static gboolean
watch_rescan_cb (gpointer data)
{
  Watch *w = data;
  w->rescan_pending = 0;
  watch_scan (w);
  return G_SOURCE_REMOVE;
}

static gboolean
watch_periodic_cb (gpointer data)
{
  watch_scan (data);
  return G_SOURCE_CONTINUE;
}

static void
watch_changed_cb (GFileMonitor *monitor, GFile *file, GFile *other,
                  GFileMonitorEvent event, gpointer data)
{
  Watch *w = data;
  /* nfcapd renames into place; coalesce bursts into one scan. */
  if (!w->rescan_pending)
    w->rescan_pending = g_timeout_add (500, watch_rescan_cb, w);
}

static gboolean
watch_quit_cb (gpointer data)
{
  Watch *w = data;
  g_print ("nfsub watch: signal received, stopping\n");
  g_main_loop_quit (w->loop);
  return G_SOURCE_CONTINUE;
}

int
nfsub_command_watch (NfsubHost *host, int argc, char **argv)
{
  gint interval = 30;
  gboolean once = FALSE;
  GOptionEntry entries[] = {
    { "interval", 'i', 0, G_OPTION_ARG_INT, &interval,
      "rescan the directory every SECONDS (default 30)", "SECONDS" },
    { "once", 0, 0, G_OPTION_ARG_NONE, &once,
      "catch up on the files present, then exit", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_set_summary (ctx,
      "Follow an nfcapd flow directory and process every finished file once.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("nfsub watch: %s\n", error->message);
      return 2;
    }
  if (argc != 2 || !g_file_test (argv[1], G_FILE_TEST_IS_DIR))
    {
      g_printerr ("nfsub watch: expected one flow directory (try --help)\n");
      return 2;
    }
  if (interval < 1)
    {
      g_printerr ("nfsub watch: --interval must be at least 1 second\n");
      return 2;
    }
  Watch w = { .host = host, .dir = argv[1], .once = once };
  w.done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  watch_mark_ledger_paths (&w);
  watch_scan (&w);
  if (once)
    {
      g_hash_table_unref (w.done);
      return w.status;
    }

  w.loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GFile) dir = g_file_new_for_path (argv[1]);
  g_autoptr (GFileMonitor) monitor = g_file_monitor_directory (
      dir, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);
  if (monitor)
    g_signal_connect (monitor, "changed", G_CALLBACK (watch_changed_cb), &w);
  else
    g_printerr ("nfsub watch: no file monitor (%s); rescanning every %d s\n",
                error->message, interval);
  guint periodic = g_timeout_add_seconds ((guint) interval, watch_periodic_cb, &w);
  guint term = g_unix_signal_add (SIGTERM, watch_quit_cb, &w);
  guint intr = g_unix_signal_add (SIGINT, watch_quit_cb, &w);
  g_print ("nfsub watch: following %s\n", argv[1]);
  g_main_loop_run (w.loop);

  g_source_remove (periodic);
  g_source_remove (term);
  g_source_remove (intr);
  if (w.rescan_pending)
    g_source_remove (w.rescan_pending);
  g_main_loop_unref (w.loop);
  g_hash_table_unref (w.done);
  return 0;
}
