/* Test helpers for the RRD plugins (see rrdtest.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gmodule.h>

#include "lib/host-private.h"
#include "rrdtest.h"

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR)
      && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
      const char *e;
      while (d && (e = g_dir_read_name (d)))
        {
          g_autofree char *child = g_build_filename (path, e, NULL);
          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

void
rrdtest_env_set_config (RrdTestEnv *env, const char *plugin,
                        guint active_timeout, const char *extra)
{
  g_autofree char *text = g_strdup_printf (
    "[nfsub]\nstate_dir = %s\nrrd_dir = %s\nactive_timeout = %u\n"
    "plugins = %s\n%s%s\n",
    env->state_dir, env->rrd_dir, active_timeout, plugin,
    env->cached_sock ? "rrdcached = unix:" : "",
    env->cached_sock ? env->cached_sock : "");
  g_autofree char *all = g_strconcat (text, extra ? extra : "", "\n", NULL);
  g_assert_true (g_file_set_contents (env->config_path, all, -1, NULL));
}

RrdTestEnv *
rrdtest_env_new (const char *plugin, guint active_timeout, const char *extra)
{
  RrdTestEnv *env = g_new0 (RrdTestEnv, 1);
  env->dir = g_dir_make_tmp ("nfsub-rrdtest-XXXXXX", NULL);
  g_assert_nonnull (env->dir);
  env->config_path = g_build_filename (env->dir, "nfsub.conf", NULL);
  env->state_dir = g_build_filename (env->dir, "state", NULL);
  env->rrd_dir = g_build_filename (env->dir, "rrd", NULL);
  rrdtest_env_set_config (env, plugin, active_timeout, extra);
  return env;
}

void
rrdtest_env_free (RrdTestEnv *env)
{
  if (!env)
    return;
  rrdtest_stop_rrdcached (env);
  if (!g_getenv ("RRDTEST_KEEP"))
    remove_tree (env->dir);
  else
    g_printerr ("# kept %s\n", env->dir);
  g_free (env->dir);
  g_free (env->config_path);
  g_free (env->state_dir);
  g_free (env->rrd_dir);
  g_free (env);
}

const NfsubPluginDesc *
rrdtest_plugin (const char *name)
{
  static GHashTable *loaded;
  if (!loaded)
    loaded = g_hash_table_new (g_str_hash, g_str_equal);
  const NfsubPluginDesc *desc = g_hash_table_lookup (loaded, name);
  if (desc)
    return desc;
  const char *dir = g_getenv ("NFSUB_PLUGIN_PATH");
  g_autofree char *fallback = g_build_filename (
    g_getenv ("NFSUB_BUILDDIR") ? g_getenv ("NFSUB_BUILDDIR") : ".",
    "plugins", NULL);
  g_autofree char *libs = g_strdup_printf ("%s/.libs/%s.so", name, name);
  g_autofree char *path = g_build_filename (dir ? dir : fallback, libs, NULL);
  GModule *m = g_module_open (path, G_MODULE_BIND_LOCAL);
  if (!m)
    g_error ("cannot load %s: %s", path, g_module_error ());
  gpointer sym;
  g_assert_true (g_module_symbol (m, NFSUB_PLUGIN_SYMBOL, &sym));
  desc = sym;
  g_assert_cmpuint (desc->abi_version, ==, NFSUB_ABI_VERSION);
  g_hash_table_insert (loaded, g_strdup (name), (gpointer) desc);
  return desc;
}

RrdTestFile *
rrdtest_file_new (const char *name, gint64 created)
{
  RrdTestFile *f = g_new0 (RrdTestFile, 1);
  f->path = g_strdup (name);
  f->flows = g_array_new (FALSE, TRUE, sizeof (NfsubFlow));
  f->info.path = f->path;
  f->info.created = created;
  f->info.layout_version = 2;
  f->info.has_stat = TRUE;
  f->info.ident = "";
  return f;
}

void
rrdtest_file_free (RrdTestFile *f)
{
  if (!f)
    return;
  g_array_unref (f->flows);
  g_free (f->path);
  g_free (f);
}

NfsubFlow *
rrdtest_file_add (RrdTestFile *f, guint8 proto, guint16 sport, guint16 dport,
                  guint64 first_ms, guint64 last_ms, guint64 bytes)
{
  NfsubFlow flow = { 0 };
  flow.first_ms = first_ms;
  flow.last_ms = last_ms;
  flow.in_bytes = bytes;
  flow.in_packets = bytes / 1000 + 1;
  flow.aggr_flows = 1;
  flow.proto = proto;
  flow.src_port = sport;
  flow.dst_port = dport;
  flow.family = 4;
  flow.sampling_rate = 1;
  flow.src = nfsub_addr_from_v4 (0x0a000001);
  flow.dst = nfsub_addr_from_v4 (0xc0000201);
  g_array_append_val (f->flows, flow);

  NfsubStatRecord *s = &f->info.stat;
  s->numflows++;
  s->numbytes += bytes;
  s->numpackets += flow.in_packets;
  if (proto == 6)
    s->numbytes_tcp += bytes;
  else if (proto == 17)
    s->numbytes_udp += bytes;
  if (s->first_ms == 0 || first_ms < s->first_ms)
    s->first_ms = first_ms;
  if (last_ms > s->last_ms)
    s->last_ms = last_ms;
  f->info.file_size = 276 + 100 * s->numflows;
  return &g_array_index (f->flows, NfsubFlow, f->flows->len - 1);
}

void
rrdtest_tag (NfsubSubscriberTag *t, guint8 service, guint8 access)
{
  t->service = service;
  t->access = access;
  t->user_class = NFSUB_CLASS_PERSONAL;
  t->user = "u";
  t->user_id = 1;
}

gboolean
rrdtest_run (RrdTestEnv *env, const char *plugin, RrdTestFile **files,
             guint n_files, GError **error)
{
  const NfsubPluginDesc *desc = rrdtest_plugin (plugin);
  g_autoptr (NfsubHost) host = nfsub_host_new (env->config_path, NULL, error);
  if (!host)
    return FALSE;
  gpointer self = desc->init (host, nfsub_host_config (host), desc->name,
                              error);
  if (!self)
    return FALSE;
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < n_files; i++)
    {
      RrdTestFile *f = files[i];
      ok = !desc->begin_file || desc->begin_file (self, &f->info, error);
      /* batches of 100 flows, like the reader's (smaller, to cross
       * batch boundaries in tests) */
      for (guint at = 0; ok && at < f->flows->len; at += 100)
        {
          guint n = MIN (100, f->flows->len - at);
          g_autofree NfsubFlow *copy = g_memdup2 (
            &g_array_index (f->flows, NfsubFlow, at), n * sizeof (NfsubFlow));
          NfsubBatch batch = { copy, n, NULL, n };
          ok = desc->process (self, &batch, error);
        }
      if (ok && desc->end_file)
        ok = desc->end_file (self, &f->info, error);
    }
  if (ok && desc->finish)
    ok = desc->finish (self, error);
  desc->free (self);
  return ok;
}

char *
rrdtest_run_command (const char *const *argv, int *status)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  int st;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
                     NULL, &out, &err, &st, &error))
    g_error ("cannot run %s: %s", argv[0], error->message);
  gboolean ok = g_spawn_check_wait_status (st, NULL);
  if (status)
    *status = ok ? 0 : (WIFEXITED (st) ? WEXITSTATUS (st) : 255);
  else if (!ok)
    g_error ("%s failed: %s", argv[0], err);
  if (err && *err && status)
    {
      /* callers checking status want both streams */
      char *both = g_strconcat (out, err, NULL);
      return both;
    }
  return g_steal_pointer (&out);
}

static const char *
rrdtool_path (void)
{
  const char *p = g_getenv ("RRDTOOL");
  return p && *p ? p : "rrdtool";
}

RrdTestFetch *
rrdtest_fetch (const char *path, const char *cf, guint res, gint64 start,
               gint64 end, const char *daemon)
{
  g_autofree char *r = g_strdup_printf ("%u", res);
  g_autofree char *s = g_strdup_printf ("%" G_GINT64_FORMAT, start);
  g_autofree char *e = g_strdup_printf ("%" G_GINT64_FORMAT, end);
  const char *argv[12] = { rrdtool_path (), "fetch", path, cf, "-r", r, "-s",
                           s, "-e", e, NULL, NULL };
  g_autofree char *daemon_arg = NULL;
  if (daemon)
    {
      daemon_arg = g_strdup_printf ("--daemon=%s", daemon);
      argv[10] = daemon_arg;
    }
  g_autofree char *out = rrdtest_run_command (argv, NULL);
  RrdTestFetch *f = g_new0 (RrdTestFetch, 1);
  f->times = g_array_new (FALSE, FALSE, sizeof (gint64));
  f->values = g_array_new (FALSE, FALSE, sizeof (double));
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      if (!f->ds_names)
        {
          if (**l)
            {
              f->ds_names = g_strsplit_set (g_strstrip (*l), " ", -1);
              /* collapse empty fields from repeated spaces */
              GPtrArray *names = g_ptr_array_new ();
              for (char **n = f->ds_names; *n; n++)
                if (**n)
                  g_ptr_array_add (names, g_strdup (*n));
              g_ptr_array_add (names, NULL);
              g_strfreev (f->ds_names);
              f->ds_names = (char **) g_ptr_array_free (names, FALSE);
              f->n_ds = g_strv_length (f->ds_names);
            }
          continue;
        }
      char *colon = strchr (*l, ':');
      if (!colon)
        continue;
      gint64 t = g_ascii_strtoll (*l, NULL, 10);
      g_array_append_val (f->times, t);
      char *p = colon + 1;
      for (guint d = 0; d < f->n_ds; d++)
        {
          char *endp;
          double v = g_ascii_strtod (p, &endp);
          if (endp == p)
            {
              /* "nan" / "-nan" */
              while (*p == ' ')
                p++;
              v = NAN;
              while (*p && *p != ' ')
                p++;
            }
          else
            p = endp;
          g_array_append_val (f->values, v);
        }
    }
  g_assert_nonnull (f->ds_names);
  return f;
}

void
rrdtest_fetch_free (RrdTestFetch *f)
{
  if (!f)
    return;
  g_strfreev (f->ds_names);
  g_array_unref (f->times);
  g_array_unref (f->values);
  g_free (f);
}

double
rrdtest_fetch_value (const RrdTestFetch *f, gint64 t, const char *ds)
{
  guint d;
  for (d = 0; d < f->n_ds; d++)
    if (strcmp (f->ds_names[d], ds) == 0)
      break;
  g_assert_cmpuint (d, <, f->n_ds);
  for (guint i = 0; i < f->times->len; i++)
    if (g_array_index (f->times, gint64, i) == t)
      return g_array_index (f->values, double, i * f->n_ds + d);
  return NAN;
}

/* The daemon dies with the test, even when an assertion aborts it. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

void
rrdtest_start_rrdcached (RrdTestEnv *env)
{
  const char *bin = g_getenv ("RRDCACHED");
  if (!bin || !*bin)
    bin = "rrdcached";
  env->cached_sock = g_build_filename (env->dir, "rrdcached.sock", NULL);
  g_autofree char *journal = g_build_filename (env->dir, "journal", NULL);
  g_autofree char *pidfile = g_build_filename (env->dir, "rrdcached.pid",
                                               NULL);
  g_mkdir_with_parents (journal, 0755);
  g_mkdir_with_parents (env->rrd_dir, 0755);
  g_autofree char *listen = g_strdup_printf ("unix:%s", env->cached_sock);
  const char *argv[] = { bin, "-g", "-l", listen, "-b", env->rrd_dir, "-j",
                         journal, "-p", pidfile, NULL };
  g_autoptr (GError) error = NULL;
  if (!g_spawn_async (NULL, (char **) argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD
                        | G_SPAWN_STDOUT_TO_DEV_NULL
                        | G_SPAWN_STDERR_TO_DEV_NULL,
                      die_with_parent, NULL, &env->cached_pid, &error))
    g_error ("cannot start rrdcached: %s", error->message);
  for (int i = 0; i < 200 && !g_file_test (env->cached_sock,
                                           G_FILE_TEST_EXISTS); i++)
    g_usleep (20000);
  g_assert_true (g_file_test (env->cached_sock, G_FILE_TEST_EXISTS));
}

void
rrdtest_flushcached (RrdTestEnv *env, const char *path)
{
  if (!env->cached_sock)
    return;
  const char *tool = g_getenv ("RRDTOOL");
  g_autofree char *daemon = g_strdup_printf ("--daemon=unix:%s",
                                             env->cached_sock);
  const char *argv[] = { tool && *tool ? tool : "rrdtool", "flushcached",
                         daemon, path, NULL };
  g_free (rrdtest_run_command (argv, NULL));
}

void
rrdtest_stop_rrdcached (RrdTestEnv *env)
{
  if (!env->cached_pid)
    return;
  kill (env->cached_pid, SIGTERM);
  int status;
  waitpid (env->cached_pid, &status, 0);
  g_spawn_close_pid (env->cached_pid);
  env->cached_pid = 0;
  g_clear_pointer (&env->cached_sock, g_free);
}

char *
rrdtest_plugin_command (RrdTestEnv *env, const char *plugin,
                        const char *command, int *status,
                        const char *const *args)
{
  const NfsubPluginDesc *desc = rrdtest_plugin (plugin);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubHost) host = nfsub_host_new (env->config_path, NULL, &error);
  g_assert_no_error (error);
  const NfsubCommand *cmd = desc->commands;
  while (cmd && cmd->name && strcmp (cmd->name, command) != 0)
    cmd++;
  g_assert_true (cmd && cmd->name);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) command);
  for (guint i = 0; args && args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  g_autofree char *out_path = g_build_filename (env->dir, "stdout.txt", NULL);
  fflush (stdout);
  int saved = dup (1);
  int fd = open (out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  g_assert_cmpint (fd, >=, 0);
  dup2 (fd, 1);
  close (fd);
  *status = cmd->run (host, (int) argv->len - 1, (char **) argv->pdata);
  fflush (stdout);
  dup2 (saved, 1);
  close (saved);
  char *text = NULL;
  g_assert_true (g_file_get_contents (out_path, &text, NULL, NULL));
  return text;
}
