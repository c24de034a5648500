/* The host as an operator meets it: the CLI, the config checks and the
 * plugin loader's refusals.  Runs the real nfsub binary. */
#include "config.h"

#include <string.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "testutil.h"

typedef struct {
  char *dir;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  fx->dir = g_dir_make_tmp ("nfsub-host-XXXXXX", NULL);
  g_assert_nonnull (fx->dir);
}

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

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  remove_tree (fx->dir);
  g_free (fx->dir);
}

static char *
builddir_path (const char *rel)
{
  const char *b = g_getenv ("NFSUB_BUILDDIR");
  return g_build_filename (b ? b : ".", rel, NULL);
}

/* Runs nfsub with NULL-terminated args; returns the exit status. */
static int
run_nfsub (char **out, char **err, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, builddir_path ("src/nfsub"));
  va_list ap;
  va_start (ap, err);
  const char *a;
  while ((a = va_arg (ap, const char *)))
    g_ptr_array_add (argv, g_strdup (a));
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  int status = -1;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL,
                               G_SPAWN_DEFAULT, NULL, NULL, out, err, &status,
                               &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static char *
write_config (Fixture *fx, const char *text)
{
  char *path = g_build_filename (fx->dir, "nfsub.conf", NULL);
  g_autofree char *full = g_strdup_printf ("[nfsub]\nstate_dir = state\n%s", text);
  g_assert_true (g_file_set_contents (path, full, -1, NULL));
  return path;
}

static void
test_version (void)
{
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_nfsub (&out, &err, "--version", NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "nfsub " PACKAGE_VERSION));
  g_assert_nonnull (strstr (out, "plugin ABI 1"));
}

static void
test_unknown_option (void)
{
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_nfsub (&out, &err, "--frobnicate", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "--frobnicate"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_nfsub (&out, &err, "frobnicate", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "unknown command 'frobnicate'"));
}

static void
test_config_unknown_key (Fixture *fx, gconstpointer data)
{
  g_autofree char *conf = write_config (fx, "colour = blue\n");
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_nfsub (&out, &err, "process", "-c", conf, fx->dir, NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, conf));
  g_assert_nonnull (strstr (err, "unknown key 'colour'"));
}

static void
test_config_bad_value (Fixture *fx, gconstpointer data)
{
  g_autofree char *conf = write_config (fx, "active_timeout = soon\n");
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_nfsub (&out, &err, "-c", conf, "process", fx->dir, NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, "active_timeout"));
}

static void
test_plugin_unknown_key (Fixture *fx, gconstpointer data)
{
  g_autofree char *conf = write_config (fx, "plugins = proto\n[proto]\nprnt = true\n");
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_nfsub (&out, &err, "process", "-c", conf, fx->dir, NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, "[proto] unknown key 'prnt'"));
}

static void
test_missing_plugin (Fixture *fx, gconstpointer data)
{
  g_autofree char *conf = write_config (fx, "plugins = nosuchplugin\n");
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_nfsub (&out, &err, "process", "--plugin-dir", fx->dir,
                              "-c", conf, fx->dir, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "plugin 'nosuchplugin' not found"));
  /* the message names every place it looked, the given dir first */
  g_autofree char *first = g_build_filename (fx->dir, "nosuchplugin.so", NULL);
  g_assert_nonnull (strstr (err, first));
}

static void
test_wrong_abi (Fixture *fx, gconstpointer data)
{
  g_autofree char *conf = write_config (fx, "plugins = badabi\n");
  g_autofree char *dir = builddir_path ("tests/plugins/.libs");
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_nfsub (&out, &err, "process", "--plugin-dir", dir,
                              "-c", conf, fx->dir, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "built for plugin ABI 42"));
  g_assert_nonnull (strstr (err, "speaks ABI 1"));
}

static void
test_not_a_plugin (Fixture *fx, gconstpointer data)
{
  g_autofree char *conf = write_config (fx, "plugins = nodesc\n");
  g_autofree char *dir = builddir_path ("tests/plugins/.libs");
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_nfsub (&out, &err, "process", "--plugin-dir", dir,
                              "-c", conf, fx->dir, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "exports no nfsub_plugin_v1"));
}

/* A directory stands for its finished nfcapd files in time order: the
 * first file reached is the oldest stamp, and nfcapd.current.* (still
 * being written) is never opened. */
static void
test_directory_order (Fixture *fx, gconstpointer data)
{
  g_autofree char *flows = g_build_filename (fx->dir, "flows", "2024", NULL);
  g_assert_cmpint (g_mkdir_with_parents (flows, 0755), ==, 0);
  const char *names[] = { "nfcapd.202406030005", "nfcapd.202406030000",
                          "nfcapd.current.4242", "nfcapd.202406030010.tmp" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *p = g_build_filename (flows, names[i], NULL);
      g_assert_true (g_file_set_contents (p, "not an nffile", -1, NULL));
    }
  g_autofree char *conf = write_config (fx, "plugins = proto\n");
  g_autofree char *top = g_build_filename (fx->dir, "flows", NULL);
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_nfsub (&out, &err, "process", "-c", conf, top, NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, "nfcapd.202406030000"));
  g_assert_null (strstr (err, "current"));
}

static void
test_bad_input_names_file (Fixture *fx, gconstpointer data)
{
  g_autofree char *empty = g_build_filename (fx->dir, "nfcapd.202406030000", NULL);
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_nfsub (&out, &err, "info", empty, NULL), ==, 1);
  g_assert_nonnull (strstr (err, empty));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_autofree char *missing = g_build_filename (fx->dir, "nope", NULL);
  g_assert_cmpint (run_nfsub (&out, &err, "dump", missing, NULL), ==, 1);
  g_assert_nonnull (strstr (err, missing));
}

/* per-protocol totals from the proto plugin's state file */
typedef struct {
  guint64 flows[256], packets[256], bytes[256];
} ProtoTotals;

static void
read_proto_totals (const char *state_dir, ProtoTotals *t)
{
  g_autofree char *path = g_build_filename (state_dir, "proto", "totals.tsv", NULL);
  g_autofree char *text = NULL;
  memset (t, 0, sizeof *t);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      guint p;
      guint64 f, pk, b;
      if (sscanf (*l, "%u\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%"
                  G_GUINT64_FORMAT, &p, &f, &pk, &b) == 4 && p < 256)
        t->flows[p] = f, t->packets[p] = pk, t->bytes[p] = b;
    }
}

/* The example plugin proves the ABI end to end: the per-protocol totals
 * it stores equal the stat record nfdump -I prints for the same file. */
static void
test_proto_matches_nfdump (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *file = nfsub_test_fixture ("host-proto", "-y",
                                              "-n 50000 -S 4 -s 11", &error);
  g_assert_no_error (error);
  NfsubTestStat st;
  g_assert_true (nfsub_test_nfdump_stat (file, &st, &error));
  g_assert_cmpuint (st.flows, >, 1000);

  g_autofree char *conf = write_config (fx, "plugins = proto\n");
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_nfsub (&out, &err, "process", "-c", conf, file, NULL),
                   ==, 0);
  ProtoTotals t;
  g_autofree char *state = g_build_filename (fx->dir, "state", NULL);
  read_proto_totals (state, &t);
  guint64 flows = 0, bytes = 0, packets = 0, other_flows = 0, other_bytes = 0;
  for (int p = 0; p < 256; p++)
    {
      flows += t.flows[p], bytes += t.bytes[p], packets += t.packets[p];
      if (p != 6 && p != 17 && p != 1 && p != 58)
        other_flows += t.flows[p], other_bytes += t.bytes[p];
    }
  g_assert_cmpuint (flows, ==, st.flows);
  g_assert_cmpuint (bytes, ==, st.bytes);
  g_assert_cmpuint (packets, ==, st.packets);
  g_assert_cmpuint (t.flows[6], ==, st.flows_tcp);
  g_assert_cmpuint (t.flows[17], ==, st.flows_udp);
  g_assert_cmpuint (t.flows[1] + t.flows[58], ==, st.flows_icmp);
  g_assert_cmpuint (other_flows, ==, st.flows_other);
  /* nfsim exports no out-counters, so in-bytes are all bytes */
  g_assert_cmpuint (t.bytes[6], ==, st.bytes_tcp);
  g_assert_cmpuint (t.bytes[17], ==, st.bytes_udp);
  g_assert_cmpuint (other_bytes, ==, st.bytes_other);

  /* the same file again (an nfcapd retry) changes nothing */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_nfsub (&out, &err, "process", "-c", conf, file, NULL),
                   ==, 0);
  g_assert_nonnull (strstr (out, "already processed"));
  ProtoTotals again;
  read_proto_totals (state, &again);
  g_assert_cmpmem (&t, sizeof t, &again, sizeof again);

  /* --force is refused with its reason, and stores nothing */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_nfsub (&out, &err, "process", "--force", "-c", conf,
                              file, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "already processed"));
  read_proto_totals (state, &again);
  g_assert_cmpmem (&t, sizeof t, &again, sizeof again);
}

/* Flows and bytes nfdump selects from FILE with EXPR. */
static void
nfdump_select_sums (const char *file, const char *expr, guint64 *flows,
                    guint64 *bytes)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = nfsub_test_nfdump_output (&error, "-r", file, "-q",
                                                   "-N", "-o", "fmt:%byt",
                                                   expr, NULL);
  g_assert_no_error (error);
  *flows = *bytes = 0;
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l; l++)
    if (**l)
      {
        (*flows)++;
        *bytes += g_ascii_strtoull (g_strstrip (*l), NULL, 10);
      }
}

/* `filter =` globally and per plugin selects what nfdump selects. */
static void
test_filters_select_like_nfdump (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *file = nfsub_test_fixture ("host-proto", "-y",
                                              "-n 50000 -S 4 -s 11", &error);
  g_assert_no_error (error);
  const char *global = "inet or proto udp";
  const char *plugin = "port 443 or (proto tcp and dst port > 1023)";
  g_autofree char *both = g_strdup_printf ("(%s) and (%s)", global, plugin);
  guint64 want_flows, want_bytes;
  nfdump_select_sums (file, both, &want_flows, &want_bytes);
  g_assert_cmpuint (want_flows, >, 100);

  g_autofree char *text = g_strdup_printf ("plugins = proto\nfilter = %s\n"
                                           "[proto]\nfilter = %s\n", global,
                                           plugin);
  g_autofree char *conf = write_config (fx, text);
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_nfsub (&out, &err, "process", "-c", conf, file, NULL),
                   ==, 0);
  ProtoTotals t;
  g_autofree char *state = g_build_filename (fx->dir, "state", NULL);
  read_proto_totals (state, &t);
  guint64 flows = 0, bytes = 0;
  for (int p = 0; p < 256; p++)
    flows += t.flows[p], bytes += t.bytes[p];
  g_assert_cmpuint (flows, ==, want_flows);
  g_assert_cmpuint (bytes, ==, want_bytes);
}

static void
test_filter_error_names_key (Fixture *fx, gconstpointer data)
{
  g_autofree char *conf = write_config (fx, "plugins = proto\n[proto]\n"
                                            "filter = proto tcp and as 65000\n");
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_nfsub (&out, &err, "process", "-c", conf, fx->dir, NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, "[proto] filter"));
  g_assert_nonnull (strstr (err, "position 15"));
  g_assert_nonnull (strstr (err, "'as'"));
}

static gboolean
wait_for_flows (const char *state, guint64 want, guint seconds)
{
  for (guint i = 0; i < seconds * 10; i++)
    {
      g_autofree char *path = g_build_filename (state, "proto", "totals.tsv", NULL);
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        {
          ProtoTotals t;
          read_proto_totals (state, &t);
          guint64 flows = 0;
          for (int p = 0; p < 256; p++)
            flows += t.flows[p];
          if (flows == want)
            return TRUE;
        }
      g_usleep (100000);
    }
  return FALSE;
}

/* watch: catches up on files that were there before it started, picks up
 * files nfcapd renames into place later, and stops cleanly on SIGTERM. */
static void
test_watch (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *flows = nfsub_test_fixture_dir (
      "host-watch", "-z", 2, "-n 60000 -s 3 -r 10000", &error);
  g_assert_no_error (error);
  g_auto (GStrv) files = nfsub_test_list_nfcapd_files (flows);
  guint n = g_strv_length (files);
  g_assert_cmpuint (n, >=, 2);
  guint64 total = 0, first_half = 0;
  for (guint i = 0; i < n; i++)
    {
      NfsubTestStat st;
      g_assert_true (nfsub_test_nfdump_stat (files[i], &st, &error));
      total += st.flows;
      if (i < n / 2)
        first_half += st.flows;
    }

  g_autofree char *dir = g_build_filename (fx->dir, "flows", NULL);
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  for (guint i = 0; i < n / 2; i++)
    {
      g_autofree char *base = g_path_get_basename (files[i]);
      g_autofree char *dst = g_build_filename (dir, base, NULL);
      g_autofree char *text = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (files[i], &text, &len, NULL));
      g_assert_true (g_file_set_contents (dst, text, (gssize) len, NULL));
    }
  g_autofree char *conf = write_config (fx, "plugins = proto\n");
  g_autofree char *bin = builddir_path ("src/nfsub");
  const char *argv[] = { bin, "watch", "-c", conf, "--interval", "1", dir, NULL };
  GPid pid;
  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD
                                    | G_SPAWN_STDOUT_TO_DEV_NULL,
                                NULL, NULL, &pid, &error));
  g_autofree char *state = g_build_filename (fx->dir, "state", NULL);
  g_assert_true (wait_for_flows (state, first_half, 30));

  /* later files arrive the way nfcapd delivers them: written under a
   * temporary name, renamed into place */
  for (guint i = n / 2; i < n; i++)
    {
      g_autofree char *base = g_path_get_basename (files[i]);
      g_autofree char *dst = g_build_filename (dir, base, NULL);
      g_autofree char *tmp = g_build_filename (dir, "nfcapd.current.4711", NULL);
      g_autofree char *text = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (files[i], &text, &len, NULL));
      g_assert_true (g_file_set_contents (tmp, text, (gssize) len, NULL));
      g_assert_cmpint (g_rename (tmp, dst), ==, 0);
    }
  g_assert_true (wait_for_flows (state, total, 30));

  kill (pid, SIGTERM);
  int status;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_spawn_close_pid (pid);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/host/version", test_version);
  g_test_add_func ("/host/unknown-option", test_unknown_option);
#define ADD(path, fn) \
  g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/host/config/unknown-key", test_config_unknown_key);
  ADD ("/host/config/bad-value", test_config_bad_value);
  ADD ("/host/config/plugin-unknown-key", test_plugin_unknown_key);
  ADD ("/host/loader/missing-plugin", test_missing_plugin);
  ADD ("/host/loader/wrong-abi", test_wrong_abi);
  ADD ("/host/loader/not-a-plugin", test_not_a_plugin);
  ADD ("/host/process/directory-order", test_directory_order);
  ADD ("/host/input/bad-file", test_bad_input_names_file);
  ADD ("/host/process/proto-matches-nfdump", test_proto_matches_nfdump);
  ADD ("/host/watch", test_watch);
  ADD ("/host/filter/select-like-nfdump", test_filters_select_like_nfdump);
  ADD ("/host/filter/error-names-key", test_filter_error_names_key);
  return g_test_run ();
}
