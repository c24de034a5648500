/* nfsub test helpers: simulator fixtures through a real nfcapd, command
 * capture, nfdump stat parsing, the tests' names for src/json's reader.
 * See testutil.h. */
#include "config.h"

#include "testutil.h"

#include "json/json.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <unistd.h>

/* nfcapd's socket buffer; the kernel caps it at net.core.rmem_max */
#define FIXTURE_SOCKET_BUFFER "8388608"
/* flows/s unless the caller's nfsim arguments set a rate: nfcapd 1.7.1
 * took 800k/s on an idle machine; tests share 2 busy cores */
#define FIXTURE_DEFAULT_RATE 200000

static const char *
env_or (const char *name, const char *fallback)
{
  const char *v = g_getenv (name);
  return v && *v ? v : fallback;
}

const char *
nfsub_test_builddir (void)
{
  return env_or ("NFSUB_BUILDDIR", ".");
}

const char *
nfsub_test_srcdir (void)
{
  return env_or ("NFSUB_SRCDIR", ".");
}

const char *
nfsub_test_nfcapd (void)
{
  return env_or ("NFCAPD", "nfcapd");
}

const char *
nfsub_test_nfdump (void)
{
  return env_or ("NFDUMP", "nfdump");
}

const char *
nfsub_test_nfsim (void)
{
  static char *path;
  if (g_once_init_enter (&path))
    g_once_init_leave (&path, g_build_filename (nfsub_test_builddir (), "contrib",
                                                "nfsim", "nfsim", NULL));
  return path;
}

char *
nfsub_test_tmpdir (const char *prefix)
{
  g_autofree char *tmpl = g_strdup_printf ("nfsub-%s-XXXXXX", prefix ? prefix : "test");
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp (tmpl, &error);
  if (!dir)
    g_error ("nfsub_test_tmpdir: %s", error->message);
  return dir;
}

void
nfsub_test_rm_rf (const char *path)
{
  GStatBuf st;
  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      GDir *d = g_dir_open (path, 0, NULL);
      if (d)
        {
          const char *n;
          while ((n = g_dir_read_name (d)))
            {
              g_autofree char *child = g_build_filename (path, n, NULL);
              nfsub_test_rm_rf (child);
            }
          g_dir_close (d);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

guint16
nfsub_test_free_udp_port (void)
{
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    g_error ("nfsub_test_free_udp_port: socket: %s", g_strerror (errno));
  struct sockaddr_in sa = { 0 };
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) != 0
      || getsockname (fd, (struct sockaddr *) &sa, &len) != 0)
    g_error ("nfsub_test_free_udp_port: %s", g_strerror (errno));
  close (fd);
  return ntohs (sa.sin_port);
}

/* ---------------------------------------------------------------- commands */

char *
nfsub_test_run (const char *const *argv, int *exit_status, GError **error)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                     &out, &err, &status, error))
    return NULL;
  g_autoptr (GError) child_error = NULL;
  if (!g_spawn_check_wait_status (status, &child_error))
    {
      if (exit_status && child_error->domain == G_SPAWN_EXIT_ERROR)
        {
          *exit_status = child_error->code;
          return g_steal_pointer (&out);
        }
      g_autofree char *cmd = g_strjoinv (" ", (char **) argv);
      g_set_error (error, G_SPAWN_EXIT_ERROR, 1, "'%s': %s; stderr: %s", cmd,
                   child_error->message, err ? err : "");
      return NULL;
    }
  if (exit_status)
    *exit_status = 0;
  return g_steal_pointer (&out);
}

char *
nfsub_test_run_line (const char *command_line, int *exit_status, GError **error)
{
  g_auto (GStrv) argv = NULL;
  if (!g_shell_parse_argv (command_line, NULL, &argv, error))
    return NULL;
  return nfsub_test_run ((const char *const *) argv, exit_status, error);
}

char *
nfsub_test_nfdump_output (GError **error, const char *first_arg, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) nfsub_test_nfdump ());
  va_list ap;
  va_start (ap, first_arg);
  for (const char *a = first_arg; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  return nfsub_test_run ((const char *const *) argv->pdata, NULL, error);
}

gboolean
nfsub_test_nfdump_stat (const char *file, NfsubTestStat *stat, GError **error)
{
  g_autofree char *out = nfsub_test_nfdump_output (error, "-r", file, "-I", NULL);
  if (!out)
    return FALSE;
  memset (stat, 0, sizeof *stat);
  static const struct {
    const char *key;
    gsize offset;
  } keys[] = {
#define K(name, field) { name, G_STRUCT_OFFSET (NfsubTestStat, field) }
    K ("Flows", flows), K ("Flows_tcp", flows_tcp), K ("Flows_udp", flows_udp),
    K ("Flows_icmp", flows_icmp), K ("Flows_other", flows_other),
    K ("Packets", packets), K ("Packets_tcp", packets_tcp),
    K ("Packets_udp", packets_udp), K ("Packets_icmp", packets_icmp),
    K ("Packets_other", packets_other), K ("Bytes", bytes),
    K ("Bytes_tcp", bytes_tcp), K ("Bytes_udp", bytes_udp),
    K ("Bytes_icmp", bytes_icmp), K ("Bytes_other", bytes_other),
    K ("First", first), K ("Last", last),
    K ("Sequence failures", sequence_failures),
#undef K
  };
  guint found = 0;
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      char *colon = strchr (*l, ':');
      if (!colon)
        continue;
      g_autofree char *key = g_strstrip (g_strndup (*l, colon - *l));
      for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
        if (strcmp (key, keys[i].key) == 0)
          {
            *(guint64 *) ((char *) stat + keys[i].offset)
              = g_ascii_strtoull (colon + 1, NULL, 10);
            found++;
          }
    }
  if (found < 16)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "nfdump -r %s -I: unexpected output: %s", file, out);
      return FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------- fixtures */

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

char **
nfsub_test_list_nfcapd_files (const char *dir)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new ();
  GDir *d = g_dir_open (dir, 0, NULL);
  if (d)
    {
      const char *n;
      while ((n = g_dir_read_name (d)))
        if (g_str_has_prefix (n, "nfcapd.") && !g_str_has_prefix (n, "nfcapd.current"))
          g_ptr_array_add (files, g_build_filename (dir, n, NULL));
      g_dir_close (d);
    }
  g_ptr_array_sort (files, compare_strings);
  g_ptr_array_add (files, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&files), FALSE);
}

char *
nfsub_test_fixture_sim_dir (const char *fixture_path)
{
  g_autofree char *base = NULL;
  if (g_file_test (fixture_path, G_FILE_TEST_IS_DIR))
    base = g_path_get_dirname (fixture_path);
  else
    {
      g_autofree char *flows = g_path_get_dirname (fixture_path);
      base = g_path_get_dirname (flows);
    }
  return g_build_filename (base, "sim", NULL);
}

static gboolean
args_have_rate (char **argv)
{
  for (char **a = argv; *a; a++)
    if (strcmp (*a, "-r") == 0 || strcmp (*a, "--rate") == 0
        || g_str_has_prefix (*a, "--rate=") || (g_str_has_prefix (*a, "-r") && (*a)[2]))
      return TRUE;
  return FALSE;
}

/* The receive queue of the UDP socket bound to 127.0.0.1:port (or
 * [::1]:port), from /proc/net/udp{,6}; -1 while no such socket exists. */
gint64
nfsub_test_udp_rx_queue (guint16 port, gboolean v6)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (v6 ? "/proc/net/udp6" : "/proc/net/udp", &text,
                            NULL, NULL))
    return -1;
  g_autofree char *local = g_strdup_printf (
      "%s:%04X ", v6 ? "00000000000000000000000001000000" : "0100007F", port);
  char *line = strstr (text, local);
  if (!line)
    return -1;
  /* local rem st tx_queue:rx_queue */
  g_auto (GStrv) cols = g_strsplit_set (line, " \n", 6);
  guint n = 0;
  const char *queues = NULL;
  for (guint i = 0; cols[i]; i++)
    if (*cols[i] && ++n == 4)
      queues = cols[i];
  const char *colon = queues ? strchr (queues, ':') : NULL;
  return colon ? (gint64) g_ascii_strtoull (colon + 1, NULL, 16) : -1;
}

static gboolean
process_alive (GSubprocess *proc)
{
  return g_subprocess_get_identifier (proc) != NULL;
}

static gboolean
wait_exit (GSubprocess *proc, guint timeout_ms)
{
  for (guint waited = 0; waited < timeout_ms; waited += 20)
    {
      if (!process_alive (proc))
        return TRUE;
      g_usleep (20000);
    }
  return !process_alive (proc);
}

struct _NfsubTestNfcapd {
  GSubprocess *proc;
  guint16 port;
  char *pidfile;
  char *log;
};

NfsubTestNfcapd *
nfsub_test_nfcapd_start (const char *dir, const char *flows, guint rotate,
                         const char *compression, GError **error)
{
  g_autoptr (NfsubTestNfcapd) c = g_new0 (NfsubTestNfcapd, 1);
  c->pidfile = g_build_filename (dir, "nfcapd.pid", NULL);
  c->log = g_build_filename (dir, "nfcapd.log", NULL);
  g_unlink (c->pidfile);
  c->port = nfsub_test_free_udp_port ();
  g_autofree char *port_s = g_strdup_printf ("%u", c->port);
  g_autofree char *rotate_s = g_strdup_printf ("%u", rotate);
  const char *argv[] = { nfsub_test_nfcapd (), "-w", flows, "-b", "127.0.0.1",
                         "-p", port_s, "-t", rotate_s, "-P", c->pidfile,
                         "-B", FIXTURE_SOCKET_BUFFER,
                         compression && *compression ? compression : NULL,
                         NULL };
  g_autoptr (GSubprocessLauncher) launcher
    = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_stdout_file_path (launcher, c->log);
  c->proc = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (!c->proc)
    return NULL;

  /* nfcapd writes its pid file after binding the socket */
  for (int i = 0; i < 500; i++)
    {
      if (g_file_test (c->pidfile, G_FILE_TEST_EXISTS)
          && nfsub_test_udp_rx_queue (c->port, FALSE) >= 0)
        return g_steal_pointer (&c);
      if (!process_alive (c->proc))
        break;
      g_usleep (20000);
    }
  g_autofree char *log = NULL;
  g_file_get_contents (c->log, &log, NULL, NULL);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               "nfcapd did not start on port %u: %s", c->port,
               log ? log : "");
  return NULL;
}

guint16
nfsub_test_nfcapd_port (const NfsubTestNfcapd *c)
{
  return c->port;
}

gboolean
nfsub_test_nfcapd_stop (NfsubTestNfcapd *c, guint drain_ms, GError **error)
{
  /* what was sent is in the socket buffer: let nfcapd read all of it */
  for (guint waited = 0;
       waited < drain_ms && nfsub_test_udp_rx_queue (c->port, FALSE) > 0;
       waited += 20)
    g_usleep (20000);
  g_usleep (100000);
  const char *pid = g_subprocess_get_identifier (c->proc);
  if (pid)
    kill (atoi (pid), SIGTERM);
  /* on SIGTERM it writes and closes the open file, then removes its pid
   * file */
  if (!wait_exit (c->proc, 60000))
    {
      g_subprocess_force_exit (c->proc);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "nfcapd did not stop within 60 s");
      return FALSE;
    }
  for (int i = 0; i < 250 && g_file_test (c->pidfile, G_FILE_TEST_EXISTS);
       i++)
    g_usleep (20000);
  return TRUE;
}

void
nfsub_test_nfcapd_free (NfsubTestNfcapd *c)
{
  if (!c)
    return;
  if (c->proc && process_alive (c->proc))
    {
      g_subprocess_force_exit (c->proc);
      g_subprocess_wait (c->proc, NULL, NULL);
    }
  g_clear_object (&c->proc);
  g_free (c->pidfile);
  g_free (c->log);
  g_free (c);
}

/* One build attempt into dir.  *retry_hint is set when a retry may help
 * (port taken, loss, rotation split). */
static gboolean
build_fixture_once (const char *dir, const char *compression, guint rotate,
                    char **nfsim_argv, guint rate, gboolean single_file,
                    gboolean *retry_hint, GError **error)
{
  g_autofree char *flows = g_build_filename (dir, "flows", NULL);
  g_autofree char *sim = g_build_filename (dir, "sim", NULL);
  g_autofree char *simlog = g_build_filename (dir, "nfsim.log", NULL);
  *retry_hint = FALSE;
  nfsub_test_rm_rf (flows);
  nfsub_test_rm_rf (sim);
  if (g_mkdir_with_parents (flows, 0755) != 0 || g_mkdir_with_parents (sim, 0755) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   "fixture %s: mkdir: %s", dir, g_strerror (errno));
      return FALSE;
    }

  g_autoptr (NfsubTestNfcapd) nfcapd
    = nfsub_test_nfcapd_start (dir, flows, rotate, compression, error);
  if (!nfcapd)
    {
      *retry_hint = TRUE;
      g_prefix_error (error, "fixture %s: ", dir);
      return FALSE;
    }
  guint16 port = nfsub_test_nfcapd_port (nfcapd);

  g_autoptr (GPtrArray) simargv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (simargv, g_strdup (nfsub_test_nfsim ()));
  g_ptr_array_add (simargv, g_strdup ("--target"));
  g_ptr_array_add (simargv, g_strdup_printf ("127.0.0.1:%u", port));
  g_ptr_array_add (simargv, g_strdup ("--out-dir"));
  g_ptr_array_add (simargv, g_strdup (sim));
  if (!args_have_rate (nfsim_argv))
    {
      g_ptr_array_add (simargv, g_strdup ("--rate"));
      g_ptr_array_add (simargv, g_strdup_printf ("%u", rate));
    }
  for (char **a = nfsim_argv; *a; a++)
    g_ptr_array_add (simargv, g_strdup (*a));
  g_ptr_array_add (simargv, NULL);

  g_autoptr (GSubprocessLauncher) simlauncher
    = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_stdout_file_path (simlauncher, simlog);
  g_autoptr (GSubprocess) nfsim
    = g_subprocess_launcher_spawnv (simlauncher, (const char *const *) simargv->pdata, error);
  gboolean sim_ok = nfsim && g_subprocess_wait_check (nfsim, NULL, error);

  /* let nfcapd drain its socket, then stop it and wait for the last file */
  if (!nfsub_test_nfcapd_stop (nfcapd, 30000, sim_ok ? error : NULL))
    {
      g_prefix_error (error, "fixture %s: ", dir);
      return FALSE;
    }
  if (!sim_ok)
    {
      g_autofree char *log = NULL;
      g_file_get_contents (simlog, &log, NULL, NULL);
      g_prefix_error (error, "fixture %s: nfsim failed (%s): ", dir, log ? log : "");
      return FALSE;
    }

  g_auto (GStrv) files = nfsub_test_list_nfcapd_files (flows);
  guint n = g_strv_length (files);
  if (n == 0 || (single_file && n != 1))
    {
      *retry_hint = n > 1;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "fixture %s: nfcapd wrote %u files, expected %s", dir, n,
                   single_file ? "1" : "at least 1");
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      NfsubTestStat st;
      if (!nfsub_test_nfdump_stat (files[i], &st, error))
        return FALSE;
      if (st.sequence_failures != 0)
        {
          *retry_hint = TRUE;
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "fixture %s: nfcapd lost packets (%" G_GUINT64_FORMAT
                       " sequence failures in %s) at %u flows/s",
                       dir, st.sequence_failures, files[i], rate);
          return FALSE;
        }
    }
  return TRUE;
}

static char *
fixture_recipe (const char *compression, guint rotate, const char *nfsim_args)
{
  GStatBuf st = { 0 };
  g_stat (nfsub_test_nfsim (), &st);
  return g_strdup_printf ("compression=%s\nrotate=%u\nnfsim_args=%s\n"
                          "nfsim=%lld:%lld\nnfcapd=%s\n",
                          compression ? compression : "", rotate, nfsim_args,
                          (long long) st.st_size, (long long) st.st_mtime,
                          nfsub_test_nfcapd ());
}

static char *
fixture_build (const char *name, const char *compression, guint rotate,
               const char *nfsim_args, gboolean single_file, GError **error)
{
  g_return_val_if_fail (name && *name && !strchr (name, '/'), NULL);
  if (!nfsim_args)
    nfsim_args = "";
  if (!g_file_test (nfsub_test_nfsim (), G_FILE_TEST_IS_EXECUTABLE))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "fixture %s: simulator %s not built", name, nfsub_test_nfsim ());
      return NULL;
    }
  g_auto (GStrv) argv = NULL;
  if (*nfsim_args && !g_shell_parse_argv (nfsim_args, NULL, &argv, error))
    return NULL;
  if (!argv)
    argv = g_new0 (char *, 1);

  g_autofree char *root = g_build_filename (nfsub_test_builddir (), "tests",
                                            "fixtures", NULL);
  g_autofree char *dir = g_build_filename (root, name, NULL);
  g_autofree char *lockpath = g_strdup_printf ("%s/%s.lock", root, name);
  g_autofree char *recipe_path = g_build_filename (dir, "recipe", NULL);
  g_autofree char *flows = g_build_filename (dir, "flows", NULL);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   "fixture %s: mkdir %s: %s", name, dir, g_strerror (errno));
      return NULL;
    }
  int lock = open (lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0 || flock (lock, LOCK_EX) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   "fixture %s: lock %s: %s", name, lockpath, g_strerror (errno));
      if (lock >= 0)
        close (lock);
      return NULL;
    }

  g_autofree char *recipe = fixture_recipe (compression, rotate, nfsim_args);
  g_autofree char *have = NULL;
  gboolean ok = FALSE;
  if (g_file_get_contents (recipe_path, &have, NULL, NULL) && strcmp (have, recipe) == 0)
    ok = TRUE;
  else
    {
      g_unlink (recipe_path);
      guint rate = FIXTURE_DEFAULT_RATE;
      for (int attempt = 0; attempt < 3 && !ok; attempt++)
        {
          gboolean retry = FALSE;
          g_clear_error (error);
          ok = build_fixture_once (dir, compression, rotate, argv, rate,
                                   single_file, &retry, error);
          if (!ok && !retry)
            break;
          rate /= 2;
        }
      if (ok)
        ok = g_file_set_contents (recipe_path, recipe, -1, error);
    }
  flock (lock, LOCK_UN);
  close (lock);
  if (!ok)
    return NULL;
  if (!single_file)
    return g_steal_pointer (&flows);
  g_auto (GStrv) files = nfsub_test_list_nfcapd_files (flows);
  if (g_strv_length (files) != 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "fixture %s: cached flow directory %s does not hold one file",
                   name, flows);
      return NULL;
    }
  return g_strdup (files[0]);
}

char *
nfsub_test_fixture (const char *name, const char *compression,
                    const char *nfsim_args, GError **error)
{
  return fixture_build (name, compression, 86400, nfsim_args, TRUE, error);
}

char *
nfsub_test_fixture_dir (const char *name, const char *compression,
                        guint rotate_seconds, const char *nfsim_args,
                        GError **error)
{
  g_return_val_if_fail (rotate_seconds >= 2, NULL);
  return fixture_build (name, compression, rotate_seconds, nfsim_args, FALSE, error);
}

/* ---------------------------------------------------------------- JSON */

/* The test names are thin wrappers over src/json: NfsubTestJson is its
 * NfsubJson (testutil.h names the struct without including json.h, so the
 * tests need no include path for it). */
G_STATIC_ASSERT ((int) NFSUB_TEST_JSON_NULL == (int) NFSUB_JSON_NULL
                 && (int) NFSUB_TEST_JSON_BOOL == (int) NFSUB_JSON_BOOL
                 && (int) NFSUB_TEST_JSON_NUMBER == (int) NFSUB_JSON_NUMBER
                 && (int) NFSUB_TEST_JSON_STRING == (int) NFSUB_JSON_STRING
                 && (int) NFSUB_TEST_JSON_ARRAY == (int) NFSUB_JSON_ARRAY
                 && (int) NFSUB_TEST_JSON_OBJECT == (int) NFSUB_JSON_OBJECT);

void
nfsub_test_json_free (NfsubTestJson *json)
{
  nfsub_json_free (json);
}

NfsubTestJson *
nfsub_test_json_parse (const char *text, GError **error)
{
  return nfsub_json_parse (text, strlen (text), NULL, error);
}

NfsubTestJson *
nfsub_test_json_load (const char *path, GError **error)
{
  return nfsub_json_load (path, error);
}

NfsubTestJsonType
nfsub_test_json_type (const NfsubTestJson *node)
{
  return (NfsubTestJsonType) nfsub_json_type (node);
}

const NfsubTestJson *
nfsub_test_json_member (const NfsubTestJson *node, const char *key)
{
  return nfsub_json_get (node, key);
}

const NfsubTestJson *
nfsub_test_json_path (const NfsubTestJson *node, const char *path)
{
  return nfsub_json_path (node, path);
}

/* true and false count as 1 and 0 */
static gboolean
number_of (const NfsubTestJson *node, double *v)
{
  if (nfsub_json_type (node) == NFSUB_JSON_BOOL)
    *v = nfsub_json_bool (node, FALSE) ? 1 : 0;
  else if (nfsub_json_is_number (node))
    *v = nfsub_json_number (node, 0);
  else
    return FALSE;
  return TRUE;
}

double
nfsub_test_json_number (const NfsubTestJson *node, const char *path)
{
  double v = 0;
  if (!number_of (nfsub_json_path (node, path), &v))
    g_error ("JSON: no number at '%s'", path);
  return v;
}

double
nfsub_test_json_numberf (const NfsubTestJson *node, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *path = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  return nfsub_test_json_number (node, path);
}

const char *
nfsub_test_json_string (const NfsubTestJson *node, const char *path)
{
  const char *s = nfsub_json_string (nfsub_json_path (node, path), NULL);
  if (!s)
    g_error ("JSON: no string at '%s'", path);
  return s;
}

guint
nfsub_test_json_length (const NfsubTestJson *node)
{
  return nfsub_json_length (node);
}

const NfsubTestJson *
nfsub_test_json_index (const NfsubTestJson *node, guint i, const char **key)
{
  return nfsub_json_index (node, i, key);
}

double
nfsub_test_json_get_number (const NfsubTestJson *node)
{
  double v = 0;
  g_assert_true (number_of (node, &v));
  return v;
}

const char *
nfsub_test_json_get_string (const NfsubTestJson *node)
{
  const char *s = nfsub_json_string (node, NULL);
  g_assert_nonnull (s);
  return s;
}
