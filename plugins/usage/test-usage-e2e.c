/* usage: end to end through the real pipeline.
 *
 *   nfsim -> real nfcapd (loopback) -> nfcapd files
 *   nfsub process (subscriber plugin tags, usage plugin counts)
 *   nfsub usage --json
 *
 * Oracles that do not share code with the usage plugin:
 *   - nfdump's own listing of the same files, summed per user and day by
 *     this test (static prefixes matched here);
 *   - the simulator's ground truth (population mode), for the weekly
 *     statistics: mean and median within 2%, mode within one bin, top
 *     shares within one percentage point.
 * And restart safety: runs killed with SIGKILL at many moments, then
 * completed, give exactly what one uninterrupted run gives. */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>
#include <nfsub/nfsub.h>

#include "../../tests/testutil.h"
#include "stats.h"
#include "store.h"
#include "week.h"

#define SAMPLING 10

typedef struct {
  const char *prefix, *name, *service, *user_class, *access;
} Assignment;

/* nfsim's random mode puts users in 10.0.0.0/12; its IPv6 addresses
 * spread over 2000::/12 (users and servers alike: flows with a user at
 * both ends count for both) */
static const Assignment assignments[] = {
  { "10.0.0.0/14", "s0", "broadband", "personal", "pppoe" },
  { "10.4.0.0/14", "s1", "broadband", "personal", "pppoe" },
  { "10.8.0.0/14", "s2", "broadband", "enterprise", "pppoe" },
  { "10.12.0.0/15", "s3", "mobile", "personal", "mobile" },
  { "2000::/13", "v0", "broadband", "personal", "ipoe" },
  { "2008::/13", "v1", "broadband", "personal", "ipoe" },
};
#define N_USERS G_N_ELEMENTS (assignments)

typedef struct {
  char *key;
  NfsubAddr net;
  guint len;
  /* by day (0: June 3, 1: June 4) */
  guint64 in[2], out[2], k_in[2], k_out[2];
} OracleUser;

typedef struct {
  char *flow_dir;
  char *work;
  char *static_csv;
  OracleUser users[N_USERS];
  guint64 unattributed_bytes;
} Fixture;

static Fixture fx;

static const char *
nfsub_bin (void)
{
  static char *path;
  if (!path)
    path = g_build_filename (nfsub_test_builddir (), "src", "nfsub", NULL);
  return path;
}

static gboolean
in_prefix (const NfsubAddr *a, const NfsubAddr *net, guint len)
{
  guint64 hi_mask = len >= 64 ? ~G_GUINT64_CONSTANT (0)
                    : len == 0 ? 0 : ~G_GUINT64_CONSTANT (0) << (64 - len);
  guint64 lo_mask = len <= 64 ? 0
                    : len >= 128 ? ~G_GUINT64_CONSTANT (0)
                                 : ~G_GUINT64_CONSTANT (0) << (128 - len);
  return (a->hi & hi_mask) == (net->hi & hi_mask)
         && (a->lo & lo_mask) == (net->lo & lo_mask);
}

static int
user_of (const char *text)
{
  NfsubAddr a;
  if (!nfsub_addr_parse (text, &a))
    g_error ("nfdump printed an address I cannot parse: %s", text);
  for (guint u = 0; u < N_USERS; u++)
    if (in_prefix (&a, &fx.users[u].net, fx.users[u].len))
      return (int) u;
  return -1;
}

static char *
write_config (const char *dir, const char *extra_usage)
{
  g_autofree char *state = g_build_filename (dir, "state", NULL);
  g_autofree char *conf = g_build_filename (dir, "nfsub.conf", NULL);
  g_autofree char *text = g_strdup_printf (
      "[nfsub]\nplugins = subscriber;usage\nstate_dir = %s\ntimezone = UTC\n"
      "[subscriber]\nstatic = %s\n[usage]\n%s\n", state, fx.static_csv,
      extra_usage ? extra_usage : "");
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  return g_steal_pointer (&conf);
}

static void
run_nfsub (const char *conf, const char *const *args)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) nfsub_bin ());
  g_ptr_array_add (argv, (gpointer) "-c");
  g_ptr_array_add (argv, (gpointer) conf);
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *out = nfsub_test_run ((const char *const *) argv->pdata, NULL,
                                         &error);
  g_assert_no_error (error);
  g_ptr_array_free (argv, TRUE);
}

static void
setup_fixture (void)
{
  if (fx.flow_dir)
    return;
  g_autoptr (GError) error = NULL;
  /* flows from 23:00 June 3 to 01:00 June 4 (UTC): two days */
  fx.flow_dir = nfsub_test_fixture_dir (
      "usage-e2e", "-y", 2,
      "-n 400000 -S 10 -s 11 -r 50000 --start 2024-06-03T23:00:00Z "
      "--duration 7200", &error);
  g_assert_no_error (error);
  fx.work = nfsub_test_tmpdir ("usage-e2e");
  fx.static_csv = g_build_filename (fx.work, "static.csv", NULL);
  GString *csv = g_string_new ("prefix,user,service,class,access\n");
  for (guint u = 0; u < N_USERS; u++)
    {
      const Assignment *a = &assignments[u];
      g_string_append_printf (csv, "%s,%s,%s,%s,%s\n", a->prefix, a->name,
                              a->service, a->user_class, a->access);
      fx.users[u].key = g_strdup_printf ("%s:%s", a->access, a->name);
      g_auto (GStrv) parts = g_strsplit (a->prefix, "/", 2);
      g_assert_true (nfsub_addr_parse (parts[0], &fx.users[u].net));
      fx.users[u].len = (guint) atoi (parts[1]) + (strchr (parts[0], ':') ? 0 : 96);
    }
  g_assert_true (g_file_set_contents (fx.static_csv, csv->str, -1, NULL));
  g_string_free (csv, TRUE);

  /* the oracle: nfdump's listing (TZ=UTC, set in main), summed here */
  g_autofree char *list = nfsub_test_nfdump_output (
      &error, "-R", fx.flow_dir, "-q", "-N", "-6", "-o", "fmt:%ts|%sa|%da|%byt|%pkt",
      NULL);
  g_assert_no_error (error);
  /* Walk the lines in place: g_strsplit on a listing this size is
   * quadratic under ASan, whose strstr check measures the whole rest. */
  guint n = 0;
  char *end = list + strlen (list);
  for (char *line = list, *nl; line < end; line = nl + 1)
    {
      nl = memchr (line, '\n', (size_t) (end - line));
      if (!nl)
        nl = end;
      *nl = '\0';
      if (!*line)
        continue;
      g_auto (GStrv) f = g_strsplit (line, "|", -1);
      g_assert_cmpuint (g_strv_length (f), ==, 5);
      for (int i = 0; i < 5; i++)
        g_strstrip (f[i]);
      /* "2024-06-03 23:59:59.123": the day by the flow's start (UTC) */
      int day = strncmp (f[0], "2024-06-03", 10) == 0 ? 0
                : strncmp (f[0], "2024-06-04", 10) == 0 ? 1 : -1;
      g_assert_cmpint (day, >=, 0);
      guint64 bytes = g_ascii_strtoull (f[3], NULL, 10);
      guint64 pkts = g_ascii_strtoull (f[4], NULL, 10);
      g_assert_cmpuint (pkts % SAMPLING, ==, 0);
      int su = user_of (f[1]), du = user_of (f[2]);
      if (su >= 0)
        {
          fx.users[su].in[day] += bytes;
          fx.users[su].k_in[day] += pkts / SAMPLING;
        }
      if (du >= 0)
        {
          fx.users[du].out[day] += bytes;
          fx.users[du].k_out[day] += pkts / SAMPLING;
        }
      if (su < 0 && du < 0)
        fx.unattributed_bytes += bytes;
      n++;
    }
  g_assert_cmpuint (n, >, 100000);
  for (guint u = 0; u < N_USERS; u++)
    g_assert_cmpuint (fx.users[u].in[0] + fx.users[u].in[1], >, 0);
  g_assert_cmpuint (fx.unattributed_bytes, >, 0);
}

/* Per-user per-day counters of a state, from the store. */
static void
store_day (const char *state, guint32 julian, GHashTable *out)
{
  g_autofree char *dir = g_build_filename (state, "usage", "flows", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (UsageStore) s = usage_store_open (dir, FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (UsageDayData) dd = usage_store_read_day (s, julian, &error);
  g_assert_no_error (error);
  g_autoptr (UsageMerge) m = usage_merge_new ();
  for (guint i = 0; i < dd->readers->len; i++)
    usage_merge_add (m, dd->readers->pdata[i], i, 0);
  g_assert_true (usage_merge_start (m, &error));
  const char *key;
  gsize len;
  guint8 meta;
  UsageCounters c;
  while (usage_merge_next (m, &key, &len, &meta, &c, NULL, &error) > 0)
    g_hash_table_insert (out, g_strdup (key), g_memdup2 (&c, sizeof c));
  g_assert_no_error (error);
}

static void
check_against_nfdump (const char *state)
{
  guint32 jun3 = usage_julian_from_ymd (2024, 6, 3);
  for (int d = 0; d < 2; d++)
    {
      g_autoptr (GHashTable) got = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                          g_free, g_free);
      store_day (state, jun3 + d, got);
      g_assert_cmpuint (g_hash_table_size (got), ==, N_USERS);
      for (guint u = 0; u < N_USERS; u++)
        {
          const UsageCounters *c = g_hash_table_lookup (got, fx.users[u].key);
          g_assert_nonnull (c);
          g_assert_cmpuint (c->in_bytes, ==, fx.users[u].in[d]);
          g_assert_cmpuint (c->out_bytes, ==, fx.users[u].out[d]);
          g_assert_cmpuint (c->in_pkts, ==, fx.users[u].k_in[d]);
          g_assert_cmpuint (c->out_pkts, ==, fx.users[u].k_out[d]);
        }
    }
}

static char *
usage_json_text (const char *conf, const char *args)
{
  g_autofree char *line = g_strdup_printf ("%s -c %s usage -q --json - %s",
                                           nfsub_bin (), conf, args);
  g_autoptr (GError) error = NULL;
  char *out = nfsub_test_run_line (line, NULL, &error);
  g_assert_no_error (error);
  return out;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static void
test_pipeline_vs_nfdump (void)
{
  setup_fixture ();
  g_autofree char *dir = g_build_filename (fx.work, "one", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_autofree char *conf = write_config (dir, NULL);
  const char *args[] = { "process", "-q", fx.flow_dir, NULL };
  run_nfsub (conf, args);
  g_autofree char *state = g_build_filename (dir, "state", NULL);
  check_against_nfdump (state);

  /* the week's statistics of the personal broadband users (s0, s1, v0,
   * v1): daily = week total / 7 */
  g_autofree char *text = usage_json_text (conf, "--week 2024-06-03 --service "
                                                 "broadband --missing zero");
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubTestJson) j = nfsub_test_json_parse (text, &error);
  g_assert_no_error (error);
  double in[4], out[4], sum_in = 0;
  guint n = 0;
  for (guint u = 0; u < N_USERS; u++)
    if (strcmp (assignments[u].service, "broadband") == 0
        && strcmp (assignments[u].user_class, "personal") == 0)
      {
        in[n] = (double) (fx.users[u].in[0] + fx.users[u].in[1]) / 7;
        out[n] = (double) (fx.users[u].out[0] + fx.users[u].out[1]) / 7;
        sum_in += in[n];
        n++;
      }
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpfloat (nfsub_test_json_number (j, "services.broadband.users"), ==, 4);
  g_assert_cmpfloat (fabs (nfsub_test_json_number (j, "services.broadband.in.mean")
                           / (sum_in / 4) - 1), <, 1e-12);
  qsort (in, 4, sizeof (double), cmp_double);
  qsort (out, 4, sizeof (double), cmp_double);
  g_assert_cmpfloat (fabs (nfsub_test_json_number (j, "services.broadband.in.median")
                           / ((in[1] + in[2]) / 2) - 1), <, 1e-12);
  g_assert_cmpfloat (fabs (nfsub_test_json_number (j, "services.broadband.out.median")
                           / ((out[1] + out[2]) / 2) - 1), <, 1e-12);
  /* the largest user holds the top 10% (0.4 of a user): 0.4 x max / sum */
  g_assert_cmpfloat (fabs (nfsub_test_json_number (j, "services.broadband.in.top10_share")
                           / (0.4 * in[3] / sum_in) - 1), <, 1e-12);
}

/* Kill `nfsub process` at many moments, then complete the work: the state
 * must equal one uninterrupted run's, exactly. */
static void
test_restart_kills (void)
{
  setup_fixture ();
  g_autofree char *one = g_build_filename (fx.work, "ref", NULL);
  g_autofree char *two = g_build_filename (fx.work, "killed", NULL);
  g_assert_cmpint (g_mkdir_with_parents (one, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (two, 0755), ==, 0);
  g_autofree char *conf1 = write_config (one, NULL);
  /* small checkpoints and eager compaction: more states to be killed in */
  g_autofree char *conf2 = write_config (two, "compact_min_mb = 0\n");
  const char *args[] = { "process", "-q", fx.flow_dir, NULL };
  run_nfsub (conf1, args);

  /* first half of the files in one run */
  g_auto (GStrv) files = nfsub_test_list_nfcapd_files (fx.flow_dir);
  guint nfiles = g_strv_length (files);
  g_assert_cmpuint (nfiles, >=, 2);
  GPtrArray *half = g_ptr_array_new ();
  g_ptr_array_add (half, (gpointer) "process");
  g_ptr_array_add (half, (gpointer) "-q");
  for (guint i = 0; i < nfiles / 2; i++)
    g_ptr_array_add (half, files[i]);
  g_ptr_array_add (half, NULL);
  run_nfsub (conf2, (const char *const *) half->pdata);
  g_ptr_array_free (half, TRUE);

  /* then all of them, killed every few milliseconds into the run until a
   * run gets through: start-up, reading, commits, compaction */
  guint kills = 0;
  for (guint delay_ms = 2; delay_ms < 5000 && kills < 40; delay_ms += 3 + delay_ms / 10)
    {
      const char *argv[] = { nfsub_bin (), "-c", conf2, "process", "-q",
                             fx.flow_dir, NULL };
      GPid pid;
      g_autoptr (GError) error = NULL;
      g_assert_true (g_spawn_async (NULL, (char **) argv, NULL,
                                    G_SPAWN_DO_NOT_REAP_CHILD
                                        | G_SPAWN_STDOUT_TO_DEV_NULL,
                                    NULL, NULL, &pid, &error));
      g_usleep (delay_ms * 1000);
      int status;
      if (waitpid (pid, &status, WNOHANG) == 0)
        {
          kill (pid, SIGKILL);
          waitpid (pid, &status, 0);
          kills++;
        }
      else
        {
          g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
          break;  /* finished before we could kill it: the work is done */
        }
      g_spawn_close_pid (pid);
    }
  g_assert_cmpuint (kills, >=, 5);
  run_nfsub (conf2, args);

  g_autofree char *state2 = g_build_filename (two, "state", NULL);
  check_against_nfdump (state2);
  g_autofree char *a = usage_json_text (conf1, "--week 2024-06-03");
  g_autofree char *b = usage_json_text (conf2, "--week 2024-06-03");
  g_assert_cmpstr (a, ==, b);
  g_test_message ("%u kills", kills);
}

/* ---- against the simulator's ground truth (population mode) ---- */

static gboolean
population_mode_available (void)
{
  g_autofree char *tmp = nfsub_test_tmpdir ("usage-nfsim-probe");
  g_autofree char *line = g_strdup_printf ("%s -o %s -u 20 -d 1",
                                           nfsub_test_nfsim (), tmp);
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = nfsub_test_run_line (line, &status, &error);
  g_autofree char *truth = g_build_filename (tmp, "truth.json", NULL);
  gboolean ok = !error && status == 0 && g_file_test (truth, G_FILE_TEST_EXISTS);
  nfsub_test_rm_rf (tmp);
  return ok;
}

static void
compare_group (const NfsubTestJson *mine, const char *service,
               const NfsubTestJson *truth, const char *group,
               const char *suffix)
{
  g_assert_cmpfloat (nfsub_test_json_numberf (mine, "services.%s.users", service), ==,
                     nfsub_test_json_numberf (truth, "groups.%s.users", group));
  for (int d = 0; d < 2; d++)
    {
      const char *dir = d ? "out" : "in";
      double mean = nfsub_test_json_numberf (mine, "services.%s.%s.mean", service, dir) / 1e6;
      double median = nfsub_test_json_numberf (mine, "services.%s.%s.median", service, dir) / 1e6;
      double mode = nfsub_test_json_numberf (mine, "services.%s.%s.mode_log10", service, dir);
      double t10 = nfsub_test_json_numberf (mine, "services.%s.%s.top10_share", service, dir);
      double t1 = nfsub_test_json_numberf (mine, "services.%s.%s.top1_share", service, dir);
      double tmean = nfsub_test_json_numberf (truth, "groups.%s.%s%s.mean_mb", group, dir, suffix);
      double tmedian = nfsub_test_json_numberf (truth, "groups.%s.%s%s.median_mb", group, dir, suffix);
      double tmode = nfsub_test_json_numberf (truth, "groups.%s.%s%s.mode_log10_bytes", group,
                                   dir, suffix);
      double tt10 = nfsub_test_json_numberf (truth, "groups.%s.%s%s.top10_share", group, dir, suffix);
      double tt1 = nfsub_test_json_numberf (truth, "groups.%s.%s%s.top1_share", group, dir, suffix);
      g_test_message ("%s %s: mean %.3f/%.3f median %.3f/%.3f mode %.3f/%.3f "
                      "top10 %.2f/%.2f top1 %.2f/%.2f", service, dir, mean, tmean,
                      median, tmedian, mode, tmode, 100 * t10, tt10, 100 * t1, tt1);
      g_assert_cmpfloat (fabs (mean / tmean - 1), <=, 0.02);
      g_assert_cmpfloat (fabs (median / tmedian - 1), <=, 0.02);
      /* one bin (and half a bin for a truth whose bins start at the
       * grid instead of being centred on it).  The truth counts users
       * below 10^4 in its first bin; when that pile is its tallest, its
       * mode is not the peak of the 10^4..10^11 curve the report plots
       * and there is nothing to compare. */
      if (tmode < 4.0 + 0.1)
        g_test_message ("%s %s: truth's mode is its underflow bin (%.2f): "
                        "not compared", service, dir, tmode);
      else
        g_assert_cmpfloat (fabs (mode - tmode), <=, 0.05 + 0.025 + 1e-9);
      g_assert_cmpfloat (fabs (100 * t10 - tt10), <=, 1.0);
      g_assert_cmpfloat (fabs (100 * t1 - tt1), <=, 1.0);
    }
}

static void
test_ground_truth (void)
{
  if (!population_mode_available ())
    {
      g_test_skip ("nfsim population mode not available yet");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *sim_args = g_strdup_printf (
      "-c %s/plugins/usage/test-usage-nfsim.conf -u 3000 -d 7 -s 3",
      nfsub_test_srcdir ());
  g_autofree char *flows = nfsub_test_fixture_dir ("usage-population", "-y", 60,
                                                   sim_args, &error);
  g_assert_no_error (error);
  g_autofree char *sim = nfsub_test_fixture_sim_dir (flows);
  g_autofree char *truth_path = g_build_filename (sim, "truth.json", NULL);
  g_autoptr (NfsubTestJson) truth = nfsub_test_json_load (truth_path, &error);
  g_assert_no_error (error);
  g_autofree char *week = g_strndup (nfsub_test_json_string (truth, "week_start"), 10);

  g_autofree char *work = nfsub_test_tmpdir ("usage-pop");
  g_autofree char *state = g_build_filename (work, "state", NULL);
  g_autofree char *conf = g_build_filename (work, "nfsub.conf", NULL);
  g_autofree char *text = g_strdup_printf (
      "[nfsub]\nplugins = subscriber;usage\nstate_dir = %s\ntimezone = UTC\n"
      "[subscriber]\nradius_detail = %s/radacct/*/detail-*\nkea_leases = %s/kea/leases6.csv\n"
      "kea_duid_map = %s/kea/duid-users.csv\nstatic = %s/static.csv\n"
      "rule.mobile = nas 192.0.2.101 => service=mobile access=mobile\n"
      "rule.pppoe = nas 192.0.2.1 => service=broadband access=pppoe\n"
      "[usage]\nradius_detail = mobile=%s/radacct/192.0.2.101/detail-*\n",
      state, sim, sim, sim, sim, sim);
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  const char *args[] = { "process", "-q", flows, NULL };
  run_nfsub (conf, args);

  /* broadband from flows: what nfcapd stored ("_sampled" truth) and,
   * within the same tolerances, the true volumes */
  g_autofree char *bb_args = g_strdup_printf ("--week %s --service broadband", week);
  g_autofree char *bb = usage_json_text (conf, bb_args);
  g_autoptr (NfsubTestJson) jb = nfsub_test_json_parse (bb, &error);
  g_assert_no_error (error);
  compare_group (jb, "broadband", truth, "broadband", "_sampled");
  compare_group (jb, "broadband", truth, "broadband", "");
  /* PPPoE and IPoE apart (a subscription on both is two users) */
  const char *accesses[] = { "pppoe", "ipoe" };
  for (guint a = 0; a < 2; a++)
    {
      g_autofree char *aa = g_strdup_printf ("--week %s --service broadband "
                                             "--access %s", week, accesses[a]);
      g_autofree char *ta = usage_json_text (conf, aa);
      g_autoptr (NfsubTestJson) ja = nfsub_test_json_parse (ta, &error);
      g_assert_no_error (error);
      g_autofree char *group = g_strdup_printf ("broadband_%s", accesses[a]);
      compare_group (ja, "broadband", truth, group, "_sampled");
    }
  /* mobile from the accounting counters: exact, the true volumes */
  g_autofree char *mb_args = g_strdup_printf ("--week %s --service mobile", week);
  g_autofree char *mb = usage_json_text (conf, mb_args);
  g_autoptr (NfsubTestJson) jm = nfsub_test_json_parse (mb, &error);
  g_assert_no_error (error);
  compare_group (jm, "mobile", truth, "mobile", "");

  /* flows against accounting for the mobile users: every user in both,
   * the sampled estimate's aggregate within 2% of the counters, and per
   * user errors the size 1/sqrt(k) predicts */
  g_autofree char *cmp_args = g_strdup_printf (
      "--week %s --service mobile --compare-sources", week);
  g_autofree char *cmp = usage_json_text (conf, cmp_args);
  g_autoptr (NfsubTestJson) jc = nfsub_test_json_parse (cmp, &error);
  g_assert_no_error (error);
  double mobile_users = nfsub_test_json_numberf (truth, "groups.mobile.users");
  g_assert_cmpfloat (nfsub_test_json_number (jc, "users_both"), >=, 0.99 * mobile_users);
  for (int d = 0; d < 2; d++)
    {
      const char *dir = d ? "out" : "in";
      double agg = nfsub_test_json_numberf (jc, "%s.aggregate_rel_error", dir);
      g_test_message ("compare %s: aggregate %.4f, median |err| %.4f", dir, agg,
                      nfsub_test_json_numberf (jc, "%s.median_abs_rel_error", dir));
      g_assert_cmpfloat (fabs (agg), <=, 0.02);
      for (guint b = 1; b < 6; b++)
        {
          double users = nfsub_test_json_numberf (jc, "%s.by_sampled_packets.%u.users", dir, b);
          if (users < 30)
            continue;
          double rms = nfsub_test_json_numberf (jc, "%s.by_sampled_packets.%u.rms_rel_error", dir, b);
          double pred = nfsub_test_json_numberf (jc, "%s.by_sampled_packets.%u.predicted_rse", dir, b);
          g_test_message ("  k bucket %u: %.0f users, rms %.4f, predicted %.4f", b,
                          users, rms, pred);
          /* sampling is the error: 1/sqrt(k) is its floor (equal packet
           * sizes); mixed sizes (ACKs and full packets) make it up to about
           * twice that on nfsim's traffic */
          g_assert_cmpfloat (rms, <=, 3 * pred + 0.01);
          g_assert_cmpfloat (rms, >=, 0.7 * pred);
        }
    }
  nfsub_test_rm_rf (work);
}

int
main (int argc, char **argv)
{
  /* nfdump prints times in TZ; before any thread exists */
  g_setenv ("TZ", "UTC", TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/usage-e2e/pipeline-vs-nfdump", test_pipeline_vs_nfdump);
  g_test_add_func ("/usage-e2e/restart-kills", test_restart_kills);
  g_test_add_func ("/usage-e2e/ground-truth", test_ground_truth);
  int rc = g_test_run ();
  if (fx.work)
    nfsub_test_rm_rf (fx.work);
  return rc;
}
