/* Crash safety (issue #5): nfsub killed with SIGKILL at random moments
 * while it works through a series of nfcapd files, one process per file as
 * under nfcapd -x, then simply run again, must end with exactly the state
 * of an uninterrupted run: nothing lost, nothing counted twice.
 *
 * The reference is an uninterrupted run over the same files into another
 * state directory; the comparison is byte for byte over every state file
 * (the ledger's processing times aside) and `rrdtool dump` of every RRD. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "testutil.h"

#define MIN_KILLS 50

typedef struct {
  char *tmp;
  char *flows;        /* fixture flow directory */
  char **files;       /* its nfcapd files, time order */
} CrashFixture;

static char *
nfsub_path (void)
{
  return g_build_filename (nfsub_test_builddir (), "src", "nfsub", NULL);
}

/* `sim` is the simulator's output directory for population fixtures
 * (RADIUS, Kea and static assignment files), NULL for random ones. */
static char *
write_config (const char *dir, const char *name, const char *plugins,
              const char *sim)
{
  g_autofree char *state = g_build_filename (dir, name, NULL);
  g_autofree char *path = g_strconcat (state, ".conf", NULL);
  g_autofree char *sources = sim ? g_strdup_printf (
      "[subscriber]\nradius_detail = %s/radacct/*/detail-*\n"
      "kea_leases = %s/kea/leases6.csv\nkea_duid_map = %s/kea/duid-users.csv\n"
      "static = %s/static.csv\nearly_file = process\n"
      "rule.mobile = nas 192.0.2.101 => service=mobile access=mobile\n"
      "rule.pppoe = nas 192.0.2.1 => service=broadband access=pppoe\n"
      "[usage]\nradius_detail = mobile=%s/radacct/192.0.2.101/detail-*\n",
      sim, sim, sim, sim, sim) : g_strdup ("");
  g_autofree char *text = g_strdup_printf (
      "[nfsub]\nplugins = %s\nstate_dir = %s\nrrd_dir = %s/rrd\n"
      "timezone = UTC\n%s", plugins, state, state, sources);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return g_steal_pointer (&path);
}

static GPid
spawn_process (const char *conf, const char *file, gboolean crash_after_journal)
{
  g_autofree char *bin = nfsub_path ();
  const char *argv[] = { bin, "process", "-q", "-c", conf, file, NULL };
  g_auto (GStrv) env = g_get_environ ();
  if (crash_after_journal)
    env = g_environ_setenv (env, "NFSUB_TEST_CRASH_AFTER_JOURNAL", "1", TRUE);
  GPid pid;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_async (NULL, (char **) argv, env,
                                G_SPAWN_DO_NOT_REAP_CHILD
                                    | G_SPAWN_STDOUT_TO_DEV_NULL
                                    | G_SPAWN_STDERR_TO_DEV_NULL,
                                NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  return pid;
}

static int
wait_status (GPid pid)
{
  int status;
  while (waitpid (pid, &status, 0) < 0)
    ;
  return status;
}

static void
run_ok (const char *conf, const char *file)
{
  int status = wait_status (spawn_process (conf, file, FALSE));
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* Every state file: path relative to the state dir, then content (RRDs
 * through `rrdtool dump`, binary files by length and digest); the ledger
 * without processing times. */
static void
snapshot_dir (const char *root, const char *dir, GString *out)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (!d)
    return;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *e;
  while ((e = g_dir_read_name (d)))
    g_ptr_array_add (names, g_strdup (e));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = names->pdata[i];
      g_autofree char *full = g_build_filename (dir, name, NULL);
      if (strcmp (name, ".lock") == 0)
        continue;
      if (g_file_test (full, G_FILE_TEST_IS_DIR))
        {
          snapshot_dir (root, full, out);
          continue;
        }
      g_string_append_printf (out, "== %s\n", full + strlen (root));
      if (g_str_has_suffix (name, ".rrd"))
        {
          const char *argv[] = { g_getenv ("RRDTOOL") ? g_getenv ("RRDTOOL")
                                                      : "rrdtool",
                                 "dump", full, NULL };
          g_autoptr (GError) error = NULL;
          g_autofree char *dump = nfsub_test_run (argv, NULL, &error);
          g_assert_no_error (error);
          g_string_append (out, dump);
          continue;
        }
      g_autofree char *text = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (full, &text, &len, NULL));
      if (strcmp (name, "ledger.tsv") == 0)
        {
          /* digest, size, path: what identifies the file; not the times */
          g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
          for (char **l = lines; *l; l++)
            {
              g_auto (GStrv) f = g_strsplit (*l, "\t", 5);
              if (g_strv_length (f) == 5)
                g_string_append_printf (out, "%s %s %s\n", f[0], f[1], f[4]);
            }
          continue;
        }
      if (memchr (text, '\0', len))
        {
          /* binary state (hourly/state.gv, subscriber/index.bin): the
           * whole file through its digest, not up to its first NUL */
          g_autofree char *sum = g_compute_checksum_for_data (
              G_CHECKSUM_SHA256, (const guchar *) text, len);
          g_string_append_printf (out, "binary, %" G_GSIZE_FORMAT
                                  " bytes, sha256 %s\n", len, sum);
          continue;
        }
      g_string_append_len (out, text, (gssize) len);
    }
}

/* Fails naming the first differing line and the state file it is in:
 * the snapshots themselves are megabytes of RRD dumps. */
static void
assert_same_snapshot (const char *want, const char *got)
{
  if (strcmp (want, got) == 0)
    return;
  g_auto (GStrv) w = g_strsplit (want, "\n", -1);
  g_auto (GStrv) g = g_strsplit (got, "\n", -1);
  const char *file = "?";
  guint i = 0;
  for (; w[i] && g[i] && strcmp (w[i], g[i]) == 0; i++)
    if (g_str_has_prefix (w[i], "== "))
      file = w[i] + 3;
  g_test_message ("state differs in %s, line %u of the snapshot:\n"
                  "  reference: %s\n  crashed:   %s", file, i + 1,
                  w[i] ? w[i] : "(end)", g[i] ? g[i] : "(end)");
  g_test_fail ();
}

static char *
snapshot (const char *state)
{
  GString *s = g_string_new (NULL);
  snapshot_dir (state, state, s);
  return g_string_free (s, FALSE);
}

typedef struct {
  const char *fixture;
  const char *nfsim_args;
  gboolean population;
  const char *plugins;
} CrashScenario;

static void
test_kill_anywhere (gconstpointer data)
{
  const CrashScenario *sc = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *flows = nfsub_test_fixture_dir (sc->fixture, "-y", 2,
                                                   sc->nfsim_args, &error);
  g_assert_no_error (error);
  g_auto (GStrv) files = nfsub_test_list_nfcapd_files (flows);
  guint nfiles = g_strv_length (files);
  g_assert_cmpuint (nfiles, >=, 4);
  g_autofree char *sim = sc->population ? nfsub_test_fixture_sim_dir (flows)
                                        : NULL;

  g_autofree char *tmp = nfsub_test_tmpdir ("crash");
  g_autofree char *ref_conf = write_config (tmp, "reference", sc->plugins, sim);

  /* Reference: one uninterrupted process per file, timing each. */
  gint64 shortest = G_MAXINT64;
  for (guint i = 0; i < nfiles; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      run_ok (ref_conf, files[i]);
      shortest = MIN (shortest, g_get_monotonic_time () - t0);
    }
  /* A kill must come before the run ends to land; a run that ends first
   * commits the file and later attempts on it are no-ops. */
  gint32 window = (gint32) MAX (shortest * 8 / 10, 500);

  /* Crashed: every file is attacked several times; each kill comes at a
   * random moment within a normal run's duration, so it hits start-up,
   * reading, plugin saves and the commit alike.  A run that ends before
   * its kill commits the file, so on a busy machine fewer kills land:
   * rounds on fresh state directories go on until enough have, and every
   * round must end equal to the reference. */
  g_autofree char *ref_state = g_build_filename (tmp, "reference", NULL);
  g_autofree char *a = snapshot (ref_state);
  /* the reference run left state */
  g_autofree char *ref_ledger = g_build_filename (ref_state, "ledger.tsv",
                                                  NULL);
  g_assert_true (g_file_test (ref_ledger, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (strlen (a), >, 20);
  GRand *rand = g_rand_new_with_seed (20240603);
  guint kills = 0, journal_crashes = 0, round = 0;
  guint per_file = (MIN_KILLS + nfiles - 1) / nfiles + 2;
  g_autofree char *crash_state = NULL;
  while (kills + journal_crashes < MIN_KILLS && round < 8)
    {
      g_autofree char *name = g_strdup_printf ("crashed-%u", ++round);
      g_autofree char *crash_conf = write_config (tmp, name, sc->plugins, sim);
      for (guint i = 0; i < nfiles; i++)
        {
          for (guint k = 0; k < per_file; k++)
            {
              GPid pid = spawn_process (crash_conf, files[i], FALSE);
              g_usleep ((gulong) g_rand_int_range (rand, 0, window));
              kill (pid, SIGKILL);
              int status = wait_status (pid);
              if (!WIFSIGNALED (status))
                {
                  /* it finished first: aim earlier from now on */
                  window = MAX (window / 2, 200);
                  break;
                }
              kills++;
            }
          /* and once right after the commit point, before the renames */
          int status = wait_status (spawn_process (crash_conf, files[i], TRUE));
          if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
            journal_crashes++;
          run_ok (crash_conf, files[i]);
          /* a retried file (nfcapd -x twice) changes nothing */
          run_ok (crash_conf, files[i]);
        }
      g_free (crash_state);
      crash_state = g_build_filename (tmp, name, NULL);
      g_autofree char *b = snapshot (crash_state);
      assert_same_snapshot (a, b);
      if (g_test_failed ())
        return;
    }
  g_rand_free (rand);
  g_test_message ("%u files, %u rounds, %u kills landed, %u crashes after "
                  "the journal", nfiles, round, kills, journal_crashes);
  g_assert_cmpuint (kills + journal_crashes, >=, MIN_KILLS);
  g_assert_cmpuint (journal_crashes, >=, 1);

  /* and the totals reconcile with nfdump -I over every file */
  guint64 flows_total = 0, bytes_total = 0;
  for (guint i = 0; i < nfiles; i++)
    {
      NfsubTestStat st;
      g_assert_true (nfsub_test_nfdump_stat (files[i], &st, &error));
      flows_total += st.flows;
      bytes_total += st.bytes;
    }
  g_autofree char *totals_path = g_build_filename (crash_state, "proto",
                                                   "totals.tsv", NULL);
  g_autofree char *totals = NULL;
  g_assert_true (g_file_get_contents (totals_path, &totals, NULL, NULL));
  guint64 f_sum = 0, b_sum = 0;
  g_auto (GStrv) lines = g_strsplit (totals, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      guint p;
      guint64 f, pk, by;
      if (sscanf (*l, "%u\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
                  "\t%" G_GUINT64_FORMAT, &p, &f, &pk, &by) == 4)
        f_sum += f, b_sum += by;
    }
  g_assert_cmpuint (f_sum, ==, flows_total);
  g_assert_cmpuint (b_sum, ==, bytes_total);
  nfsub_test_rm_rf (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* the pipeline's own machinery, on many small random files */
  static const CrashScenario proto = {
    "crash-week", "-n 300000 -S 10 -s 5 -r 10000", FALSE, "proto"
  };
  /* every stateful plugin on a simulated ISP: tagging index, per-user
   * days, port tables, RRD files */
  static const CrashScenario all = {
    "crash-population", "-u 400 -d 2 -s 9 -r 2000", TRUE,
    "subscriber;proto;usage;ports;hourly"
  };
  g_test_add_data_func ("/crash/kill-anywhere/proto", &proto, test_kill_anywhere);
  g_test_add_data_func ("/crash/kill-anywhere/all-plugins", &all,
                        test_kill_anywhere);
  return g_test_run ();
}
