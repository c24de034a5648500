/* subscriber tests: real peers on loopback.  Every server is started in a
 * temporary directory, on 127.0.0.1 or a unix socket, and stopped by its
 * pid. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "plugins/subscriber/test-peers.h"
#include "tests/testutil.h"

static gboolean
proc_alive (GSubprocess *p)
{
  return g_subprocess_get_identifier (p) != NULL;
}

static void
proc_stop (GSubprocess *p)
{
  if (!p)
    return;
  const char *pid = g_subprocess_get_identifier (p);
  if (pid)
    kill ((pid_t) atoi (pid), SIGTERM);
  for (int i = 0; i < 500 && proc_alive (p); i++)
    g_usleep (20000);
  if (proc_alive (p))
    g_subprocess_force_exit (p);
  g_subprocess_wait (p, NULL, NULL);
}

static char *
find_program (const char *name)
{
  char *p = g_find_program_in_path (name);
  if (!p)
    {
      g_autofree char *sbin = g_build_filename ("/usr/sbin", name, NULL);
      if (g_file_test (sbin, G_FILE_TEST_IS_EXECUTABLE))
        p = g_steal_pointer (&sbin);
    }
  return p;
}

void
test_write_file (const char *path, const char *text)
{
  g_autoptr (GError) error = NULL;
  if (!g_file_set_contents (path, text, -1, &error))
    g_error ("%s", error->message);
}

const char *
test_nfsub_binary (void)
{
  static char *path;
  if (!path)
    path = g_build_filename (nfsub_test_builddir (), "src", "nfsub", NULL);
  return path;
}

/* ---- FreeRADIUS ---- */

/* Only what accounting needs: the stock modules that want certificates or
 * authentication sections would stop the server from starting. */
static const char *const kept_modules[] = {
  "always", "detail", "preprocess", "expr", "realm", "unpack", NULL
};

static gboolean
edit_radiusd_conf (const char *path, const char *dir, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, error))
    return FALSE;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GString *out = g_string_new (NULL);
  for (char **l = lines; *l; l++)
    {
      const char *s = *l;
      while (*s == ' ' || *s == '\t')
        s++;
      if (g_str_has_prefix (s, "logdir ="))
        g_string_append_printf (out, "logdir = %s\n", dir);
      else if (g_str_has_prefix (s, "run_dir ="))
        g_string_append_printf (out, "run_dir = %s/run\n", dir);
      else if (g_str_has_prefix (s, "radacctdir ="))
        g_string_append_printf (out, "radacctdir = %s/radacct\n", dir);
      else if (g_str_has_prefix (s, "user = ") || g_str_has_prefix (s, "group = "))
        g_string_append_printf (out, "#%s\n", *l);
      else
        g_string_append_printf (out, "%s\n", *l);
    }
  gboolean ok = g_file_set_contents (path, out->str, (gssize) out->len, error);
  g_string_free (out, TRUE);
  return ok;
}

TestRadius *
test_radius_start (const char *dir, char **skip, GError **error)
{
  g_autofree char *server = find_program ("freeradius");
  g_autofree char *client = find_program ("radclient");
  if (!server || !client)
    {
      *skip = g_strdup ("freeradius or radclient not installed");
      return NULL;
    }
  if (!g_file_test ("/etc/freeradius/3.0/radiusd.conf", G_FILE_TEST_EXISTS))
    {
      *skip = g_strdup ("/etc/freeradius/3.0 not readable");
      return NULL;
    }
  g_autofree char *raddb = g_build_filename (dir, "raddb", NULL);
  g_autofree char *cp = g_strdup_printf ("cp -r /etc/freeradius/3.0 %s", raddb);
  int status;
  /* unreadable corners (private keys) do not matter: no EAP here */
  g_free (nfsub_test_run_line (cp, &status, NULL));
  g_autofree char *conf = g_build_filename (raddb, "radiusd.conf", NULL);
  if (!g_file_test (conf, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "copying /etc/freeradius/3.0 to %s failed", raddb);
      return NULL;
    }
  if (!edit_radiusd_conf (conf, dir, error))
    return NULL;
  g_autofree char *run = g_build_filename (dir, "run", NULL);
  g_mkdir_with_parents (run, 0755);

  g_autofree char *mods = g_build_filename (raddb, "mods-enabled", NULL);
  g_autoptr (GDir) md = g_dir_open (mods, 0, error);
  if (!md)
    return NULL;
  const char *name;
  g_autoptr (GPtrArray) drop = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (md)))
    if (!g_strv_contains (kept_modules, name))
      g_ptr_array_add (drop, g_build_filename (mods, name, NULL));
  for (guint i = 0; i < drop->len; i++)
    g_unlink (drop->pdata[i]);
  g_autofree char *sites = g_build_filename (raddb, "sites-enabled", NULL);
  g_autoptr (GDir) sd = g_dir_open (sites, 0, error);
  if (!sd)
    return NULL;
  g_ptr_array_set_size (drop, 0);
  while ((name = g_dir_read_name (sd)))
    g_ptr_array_add (drop, g_build_filename (sites, name, NULL));
  for (guint i = 0; i < drop->len; i++)
    g_unlink (drop->pdata[i]);

  TestRadius *r = g_new0 (TestRadius, 1);
  r->dir = g_strdup (dir);
  r->acct_dir = g_build_filename (dir, "radacct", "127.0.0.1", NULL);
  g_autofree char *log = g_build_filename (dir, "radius.log", NULL);
  for (int attempt = 0; attempt < 3; attempt++)
    {
      /* a free UDP port (and the one below it, unused) */
      r->port = nfsub_test_free_udp_port ();
      g_autofree char *site = g_strdup_printf (
        "server nfsubtest {\n"
        "  listen {\n    type = acct\n    ipaddr = 127.0.0.1\n"
        "    port = %u\n  }\n"
        "  preacct {\n    preprocess\n    acct_unique\n  }\n"
        "  accounting {\n    detail\n    ok\n  }\n"
        "}\n",
        r->port);
      g_autofree char *site_path = g_build_filename (sites, "nfsubtest", NULL);
      test_write_file (site_path, site);
      g_unlink (log);
      const char *argv[] = { server, "-f", "-d", raddb, "-l", log, NULL };
      g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
        G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
      r->proc = g_subprocess_launcher_spawnv (launcher, argv, error);
      if (!r->proc)
        break;
      for (int i = 0; i < 500; i++)
        {
          g_autofree char *text = NULL;
          if (g_file_get_contents (log, &text, NULL, NULL)
              && strstr (text, "Ready to process requests"))
            return r;
          if (!proc_alive (r->proc))
            break;
          g_usleep (20000);
        }
      g_autofree char *text = NULL;
      g_file_get_contents (log, &text, NULL, NULL);
      proc_stop (r->proc);
      g_clear_object (&r->proc);
      if (attempt == 2)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                     "freeradius did not start: %s", text ? text : "(no log)");
    }
  test_radius_stop (r);
  return NULL;
}

gboolean
test_radius_send (TestRadius *r, const char *packets, GError **error)
{
  g_autofree char *client = find_program ("radclient");
  g_autofree char *file = g_build_filename (r->dir, "packets.txt", NULL);
  test_write_file (file, packets);
  g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", r->port);
  const char *argv[] = { client, "-p", "1", "-r", "3", "-t", "2", "-f", file,
                         target, "acct", "testing123", NULL };
  int status;
  g_autofree char *out = nfsub_test_run (argv, &status, error);
  if (!out)
    return FALSE;
  if (status != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "radclient exited with %d: %s", status, out);
      return FALSE;
    }
  return TRUE;
}

void
test_radius_stop (TestRadius *r)
{
  if (!r)
    return;
  proc_stop (r->proc);
  g_clear_object (&r->proc);
  g_free (r->dir);
  g_free (r->acct_dir);
  g_free (r);
}

static gint
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

char **
test_radius_detail_files (TestRadius *r)
{
  GPtrArray *out = g_ptr_array_new ();
  g_autoptr (GDir) d = g_dir_open (r->acct_dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    if (g_str_has_prefix (name, "detail"))
      g_ptr_array_add (out, g_build_filename (r->acct_dir, name, NULL));
  g_ptr_array_sort (out, compare_paths);
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

/* ---- Kea ---- */

TestKea *
test_kea_start (const char *dir, char **skip, GError **error)
{
  g_autofree char *server = find_program ("kea-dhcp6");
  const char *hook = "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so";
  if (!server || !g_file_test (hook, G_FILE_TEST_EXISTS))
    {
      *skip = g_strdup ("kea-dhcp6 or its lease_cmds hook not installed");
      return NULL;
    }
  TestKea *k = g_new0 (TestKea, 1);
  k->dir = g_strdup (dir);
  k->lease_file = g_build_filename (dir, "leases6.csv", NULL);
  k->socket_path = g_build_filename (dir, "kea.sock", NULL);
  g_autofree char *log = g_build_filename (dir, "kea.log", NULL);
  g_autofree char *conf = g_strdup_printf (
    "{ \"Dhcp6\": {\n"
    "  \"interfaces-config\": { \"interfaces\": [] },\n"
    "  \"control-socket\": { \"socket-type\": \"unix\", \"socket-name\": \"%s\" },\n"
    "  \"lease-database\": { \"type\": \"memfile\", \"persist\": true,"
    " \"name\": \"%s\", \"lfc-interval\": 0 },\n"
    "  \"hooks-libraries\": [ { \"library\": \"%s\" } ],\n"
    "  \"server-id\": { \"type\": \"LL\", \"htype\": 1,"
    " \"identifier\": \"020000000001\", \"persist\": false },\n"
    "  \"subnet6\": [ { \"id\": 1, \"subnet\": \"2001:db8::/32\",\n"
    "     \"pd-pools\": [ { \"prefix\": \"2001:db8:100::\", \"prefix-len\": 40,"
    " \"delegated-len\": 56 } ] } ],\n"
    "  \"loggers\": [ { \"name\": \"kea-dhcp6\", \"output_options\":"
    " [ { \"output\": \"%s\" } ], \"severity\": \"INFO\" } ]\n"
    "} }\n",
    k->socket_path, k->lease_file, hook, log);
  g_autofree char *conf_path = g_build_filename (dir, "kea.json", NULL);
  test_write_file (conf_path, conf);
  const char *argv[] = { server, "-c", conf_path, NULL };
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_setenv (launcher, "KEA_PIDFILE_DIR", dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "KEA_LOCKFILE_DIR", dir, TRUE);
  k->proc = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (!k->proc)
    {
      test_kea_stop (k);
      return NULL;
    }
  for (int i = 0; i < 500; i++)
    {
      if (g_file_test (k->socket_path, G_FILE_TEST_EXISTS))
        {
          g_autofree char *answer
            = test_kea_command (k, "{\"command\": \"version-get\"}", NULL);
          if (answer && strstr (answer, "\"result\": 0"))
            return k;
        }
      if (!proc_alive (k->proc))
        break;
      g_usleep (20000);
    }
  g_autofree char *text = NULL;
  g_file_get_contents (log, &text, NULL, NULL);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               "kea-dhcp6 did not start: %s", text ? text : "(no log)");
  test_kea_stop (k);
  return NULL;
}

char *
test_kea_command (TestKea *k, const char *json, GError **error)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (k->socket_path);
  g_autoptr (GSocketConnection) conn = g_socket_client_connect (
    client, G_SOCKET_CONNECTABLE (addr), NULL, error);
  if (!conn)
    return NULL;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  if (!g_output_stream_write_all (out, json, strlen (json), NULL, NULL, error))
    return NULL;
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  GString *answer = g_string_new (NULL);
  char buf[4096];
  gssize n;
  /* Kea closes the connection after its answer */
  while ((n = g_input_stream_read (in, buf, sizeof buf, NULL, error)) > 0)
    g_string_append_len (answer, buf, n);
  if (n < 0)
    {
      g_string_free (answer, TRUE);
      return NULL;
    }
  return g_string_free (answer, FALSE);
}

void
test_kea_stop (TestKea *k)
{
  if (!k)
    return;
  proc_stop (k->proc);
  g_clear_object (&k->proc);
  g_free (k->dir);
  g_free (k->lease_file);
  g_free (k->socket_path);
  g_free (k);
}

/* ---- nfcapd ---- */

char *
test_nfcapd_file (const char *dir, const NfsimRecord *records, guint n,
                  const char *compression, GError **error)
{
  g_autofree char *flows = g_build_filename (dir, "flows", NULL);
  g_mkdir_with_parents (flows, 0755);
  g_autoptr (NfsubTestNfcapd) nfcapd
    = nfsub_test_nfcapd_start (dir, flows, 86400, compression, error);
  if (!nfcapd)
    return NULL;
  guint16 port = nfsub_test_nfcapd_port (nfcapd);
  g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", port);
  g_autoptr (NfsimExporter) exp = nfsim_exporter_new (target, NFSIM_FORMAT_V9,
                                                      1, 1, 50000, error);
  gboolean ok = exp != NULL;
  for (guint i = 0; ok && i < n; i++)
    ok = nfsim_exporter_add (exp, &records[i], error);
  ok = ok && nfsim_exporter_flush (exp, error);
  ok = nfsub_test_nfcapd_stop (nfcapd, 10000, ok ? error : NULL) && ok;
  if (!ok)
    return NULL;
  g_auto (GStrv) files = nfsub_test_list_nfcapd_files (flows);
  if (!files || g_strv_length (files) != 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "nfcapd wrote %u files (expected 1) in %s",
                   files ? g_strv_length (files) : 0, flows);
      return NULL;
    }
  return g_strdup (files[0]);
}

static void
set_addr (guint8 out[16], const char *text, int family)
{
  memset (out, 0, 16);
  if (inet_pton (family == 4 ? AF_INET : AF_INET6, text, out) != 1)
    g_error ("bad address %s", text);
}

static NfsimRecord
flow (const char *src, const char *dst, guint64 first_ms, guint64 bytes,
      int family)
{
  NfsimRecord r;
  memset (&r, 0, sizeof r);
  r.family = (guint8) family;
  set_addr (r.src, src, family);
  set_addr (r.dst, dst, family);
  r.first_ms = first_ms;
  r.last_ms = first_ms + 1000;
  r.bytes = bytes;
  r.packets = bytes / 500 + 1;
  r.proto = 6;
  r.src_port = 40000;
  r.dst_port = 443;
  r.input_if = 10;
  r.output_if = 20;
  return r;
}

NfsimRecord
test_flow_v4 (const char *src, const char *dst, guint64 first_ms,
              guint64 bytes)
{
  return flow (src, dst, first_ms, bytes, 4);
}

NfsimRecord
test_flow_v6 (const char *src, const char *dst, guint64 first_ms,
              guint64 bytes)
{
  return flow (src, dst, first_ms, bytes, 6);
}
