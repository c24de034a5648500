/* The host as an operator meets it: the CLI, the config checks and the
 * plugin loader's refusals.  Runs the real nfsub binary. */
#include "config.h"

#include <string.h>
#include <sys/wait.h>

#include <glib.h>
#include <glib/gstdio.h>

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
  return g_test_run ();
}
