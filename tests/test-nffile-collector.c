/* nfcapd fixtures for the reader tests: see test-nffile-collector.h. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tests/test-nffile-collector.h"
#include "tests/testutil.h"

gboolean
collector_tools_available (void)
{
  g_autofree char *nfcapd = g_find_program_in_path (nfsub_test_nfcapd ());
  g_autofree char *nfdump = g_find_program_in_path (nfsub_test_nfdump ());
  return nfcapd && nfdump
         && g_file_test (nfsub_test_nfsim (), G_FILE_TEST_IS_EXECUTABLE);
}

gboolean
collector_nfreplay_available (void)
{
  g_autofree char *p = g_find_program_in_path ("nfreplay");
  return p != NULL;
}

typedef struct {
  GPid pid;
  guint16 port;
  gboolean v6; /* nfcapd -6 on ::1 */
  char *pid_file;
} Collector;

static gboolean
collector_start (const char *dir, const char *flag, const char *ident,
                 Collector *c, GError **error)
{
  c->port = nfsub_test_free_udp_port ();
  c->pid_file = g_build_filename (dir, "nfcapd.pid", NULL);
  g_autofree char *port = g_strdup_printf ("%u", c->port);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) nfsub_test_nfcapd ());
  g_auto (GStrv) flags = g_strsplit (flag ? flag : "", " ", -1);
  c->v6 = g_strv_contains ((const char *const *) flags, "-6");
  const char *args[] = { "-w", dir, "-p", port, "-b",
                         c->v6 ? "::1" : "127.0.0.1", "-t",
                         "3600", "-P", c->pid_file, "-B", "4000000" };
  for (guint i = 0; i < G_N_ELEMENTS (args); i++)
    g_ptr_array_add (argv, (char *) args[i]);
  for (guint i = 0; flags[i]; i++)
    if (*flags[i])
      g_ptr_array_add (argv, flags[i]);
  if (ident)
    {
      g_ptr_array_add (argv, "-I");
      g_ptr_array_add (argv, (char *) ident);
    }
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_async (NULL, (char **) argv->pdata, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD
                          | G_SPAWN_STDOUT_TO_DEV_NULL
                          | G_SPAWN_STDERR_TO_DEV_NULL,
                      NULL, NULL, &c->pid, error))
    return FALSE;
  for (int i = 0; i < 500; i++)
    {
      if (nfsub_test_udp_rx_queue (c->port, c->v6) >= 0
          && g_file_test (c->pid_file, G_FILE_TEST_EXISTS))
        return TRUE;
      if (waitpid (c->pid, NULL, WNOHANG) == c->pid)
        {
          g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
                       "nfcapd exited at start (port %u)", c->port);
          c->pid = 0;
          return FALSE;
        }
      g_usleep (10000);
    }
  g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
               "nfcapd did not bind port %u within 5 s", c->port);
  return FALSE;
}

/* Stops nfcapd by its pid once it has read everything queued; it then
 * closes and renames the file. */
static gboolean
collector_stop (Collector *c, GError **error)
{
  gboolean ok = TRUE;
  if (c->pid > 0)
    {
      for (int i = 0;
           i < 500 && nfsub_test_udp_rx_queue (c->port, c->v6) > 0; i++)
        g_usleep (10000);
      g_usleep (200000);
      kill (c->pid, SIGTERM);
      int status = 0;
      for (int i = 0; i < 2000; i++)
        {
          if (waitpid (c->pid, &status, WNOHANG) == c->pid)
            {
              c->pid = 0;
              break;
            }
          g_usleep (10000);
        }
      if (c->pid > 0)
        {
          kill (c->pid, SIGKILL);
          waitpid (c->pid, NULL, 0);
          c->pid = 0;
          g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
                       "nfcapd did not stop within 20 s");
          ok = FALSE;
        }
    }
  g_clear_pointer (&c->pid_file, g_free);
  return ok;
}

/* nfreplay sends the flows of an nfdump file as NetFlow v5 (IPv4 only) */
static gboolean
run_nfreplay (const Collector *c, const NfsimRun *r, GError **error)
{
  g_autofree char *port_s = g_strdup_printf ("%u", c->port);
  const char *argv[] = { "nfreplay", "-r", r->replay_file, "-v", "5", "-H",
                         c->v6 ? "::1" : "127.0.0.1", "-p", port_s, "-d",
                         "100", NULL };
  int status;
  g_autofree char *err = NULL;
  if (!g_spawn_sync (NULL, (char **) argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                     NULL, NULL, &err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
                   "nfreplay failed: %s", err);
      return FALSE;
    }
  return TRUE;
}

static gboolean
run_nfsim (const Collector *c, const NfsimRun *r, GError **error)
{
  if (r->replay_file)
    return run_nfreplay (c, r, error);
  g_autofree char *target = g_strdup_printf (
      c->v6 ? "[::1]:%u" : "127.0.0.1:%u", c->port);
  g_autofree char *flows = g_strdup_printf ("%" G_GUINT64_FORMAT, r->flows);
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, r->seed);
  g_autofree char *sampling = g_strdup_printf ("%u", r->sampling);
  g_autofree char *source = g_strdup_printf ("%u", r->source_id);
  /* paced so the loopback socket never overflows on a busy machine */
  const char *argv[] = { nfsub_test_nfsim (), "-t", target, "-f", r->format,
                         "-n", flows, "-s", seed, "-S", sampling,
                         "--source-id", source, "-r", "60000", NULL };
  int status;
  g_autofree char *err = NULL;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
                   "nfsim failed: %s", err);
      return FALSE;
    }
  return TRUE;
}

/* The finished nfcapd files in dir (not nfcapd.current.*, not the pid). */
static GPtrArray *
finished_files (const char *dir)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    if (g_str_has_prefix (name, "nfcapd.") && g_ascii_isdigit (name[7]))
      g_ptr_array_add (a, g_build_filename (dir, name, NULL));
  return a;
}

static gboolean
collect (const char *dir, const char *flag, const char *ident,
         const NfsimRun *runs, guint n_runs, GError **error)
{
  Collector c = { 0 };
  if (!collector_start (dir, flag, ident, &c, error))
    {
      collector_stop (&c, NULL);
      return FALSE;
    }
  gboolean ok = TRUE;
  for (guint i = 0; i < n_runs && ok; i++)
    ok = run_nfsim (&c, &runs[i], error);
  if (!collector_stop (&c, ok ? error : NULL))
    ok = FALSE;
  return ok;
}

char *
collector_make_file (const char *dir, const char *flag, const char *ident,
                     const NfsimRun *runs, guint n_runs, GError **error)
{
  for (int attempt = 0; attempt < 3; attempt++)
    {
      nfsub_test_rm_rf (dir);
      if (g_mkdir_with_parents (dir, 0755) != 0)
        {
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                       "mkdir %s: %s", dir, g_strerror (errno));
          return NULL;
        }
      if (!collect (dir, flag, ident, runs, n_runs, error))
        return NULL;
      g_autoptr (GPtrArray) files = finished_files (dir);
      if (files->len == 1)
        return g_strdup (files->pdata[0]);
      /* the run straddled nfcapd's hourly rotation: do it again */
    }
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
               "nfcapd did not write exactly one file in %s", dir);
  return NULL;
}

char *
collector_append_file (const char *dir, const char *flag, const char *ident,
                       const NfsimRun *runs, guint n_runs,
                       const char *existing, GError **error)
{
  if (!collect (dir, flag, ident, runs, n_runs, error))
    return NULL;
  g_autoptr (GPtrArray) files = finished_files (dir);
  if (files->len != 1 || g_strcmp0 (files->pdata[0], existing) != 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   "nfcapd started a new file instead of appending to %s",
                   existing);
      return NULL;
    }
  return g_strdup (existing);
}
