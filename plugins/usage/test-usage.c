/* usage: unit tests with hand-computed numbers.
 *
 * Flows are built by hand, already tagged as the subscriber plugin would
 * tag them, and driven through the plugin's own descriptor callbacks; the
 * statistics come out of `nfsub usage --json` (the command function) and
 * are compared with numbers worked out by hand in the comments. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <nfsub/nfsub.h>
#include <nfsub/radius-detail.h>

#include "../../src/lib/host-private.h"
#include "../../tests/testutil.h"
#include "radius.h"
#include "stats.h"
#include "store.h"
#include "usage-private.h"
#include "week.h"

extern const NfsubPluginDesc nfsub_plugin_v1;
#define DESC (&nfsub_plugin_v1)

/* 2024-06-03 00:00 JST (UTC+9) = 2024-06-02 15:00 UTC */
#define JUN3_JST_MS G_GINT64_CONSTANT (1717340400000)
#define DAY_MS G_GINT64_CONSTANT (86400000)
/* 2024-06-03 00:00 UTC */
#define JUN3_UTC_S G_GINT64_CONSTANT (1717372800)

static void
assert_close (double got, double want, double rel)
{
  if (want == 0)
    g_assert_cmpfloat (fabs (got), <=, rel);
  else
    g_assert_cmpfloat (fabs (got / want - 1), <=, rel);
}

/* ---- fixtures ---- */

typedef struct {
  char *dir;
  char *conf;
  char *state;
  NfsubHost *host;
} Env;

static void
env_setup (Env *e, const char *tz, const char *usage_group)
{
  e->dir = nfsub_test_tmpdir ("usage");
  e->state = g_build_filename (e->dir, "state", NULL);
  e->conf = g_build_filename (e->dir, "nfsub.conf", NULL);
  g_autofree char *text = g_strdup_printf (
      "[nfsub]\nstate_dir = %s\ntimezone = %s\nactive_timeout = 300\n"
      "[usage]\n%s\n", e->state, tz, usage_group ? usage_group : "");
  g_assert_true (g_file_set_contents (e->conf, text, -1, NULL));
  g_autoptr (GError) error = NULL;
  e->host = nfsub_host_new (e->conf, NULL, &error);
  g_assert_no_error (error);
}

static void
env_teardown (Env *e)
{
  nfsub_host_free (e->host);
  nfsub_test_rm_rf (e->dir);
  g_free (e->dir);
  g_free (e->conf);
  g_free (e->state);
}

static gpointer
plugin_init (Env *e)
{
  g_autoptr (GError) error = NULL;
  gpointer self = DESC->init (e->host, nfsub_host_config (e->host), "usage",
                              &error);
  g_assert_no_error (error);
  g_assert_nonnull (self);
  return self;
}

typedef struct {
  const char *user;
  guint32 id;
  guint8 service, user_class, access;
} User;

static const User alice = { "pppoe:alice", 1, 1, 1, 1 };
static const User bob = { "pppoe:bob", 2, 1, 1, 1 };
static const User m1 = { "mobile:m1", 3, 2, 1, 3 };
static const User carol = { "ipoe:carol", 4, 1, 2, 2 };

static NfsubSubscriberTag
tag_of (const User *u)
{
  NfsubSubscriberTag t = { 0 };
  if (u)
    {
      t.user = u->user;
      t.user_id = u->id;
      t.service = u->service;
      t.user_class = u->user_class;
      t.access = u->access;
    }
  return t;
}

static NfsubFlow
mkflow (gint64 first_ms, const User *src, const User *dst, guint64 bytes,
        guint64 packets, guint32 rate)
{
  NfsubFlow f;
  memset (&f, 0, sizeof f);
  f.first_ms = (guint64) first_ms;
  f.last_ms = (guint64) first_ms + 1000;
  f.in_bytes = bytes;
  f.in_packets = packets;
  f.sampling_rate = rate;
  f.aggr_flows = 1;
  f.proto = 6;
  f.family = 4;
  f.src_tag = tag_of (src);
  f.dst_tag = tag_of (dst);
  f.direction = (src ? NFSUB_DIR_IN : 0) | (dst ? NFSUB_DIR_OUT : 0);
  return f;
}

static void
run_file (gpointer self, const char *name, NfsubFlow *flows, guint n)
{
  NfsubFileInfo info;
  memset (&info, 0, sizeof info);
  info.path = name;
  info.file_size = 1000 + n;
  info.has_stat = TRUE;
  info.stat.numflows = n;
  for (guint i = 0; i < n; i++)
    info.stat.numbytes += nfsub_flow_bytes (&flows[i]);
  g_autoptr (GError) error = NULL;
  g_assert_true (DESC->begin_file (self, &info, &error));
  g_assert_no_error (error);
  NfsubBatch batch = { flows, n, NULL, 0 };
  g_assert_true (DESC->process (self, &batch, &error));
  g_assert_no_error (error);
  g_assert_true (DESC->end_file (self, &info, &error));
  g_assert_no_error (error);
}

static void
finish_free (gpointer self)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (DESC->finish (self, &error));
  g_assert_no_error (error);
  DESC->free (self);
}

/* Runs `nfsub usage ARGS --json F -q` and loads F. */
static NfsubTestJson *
usage_json (Env *e, const char *args)
{
  g_autofree char *out = g_build_filename (e->dir, "usage.json", NULL);
  g_autofree char *line = g_strdup_printf ("usage %s --json %s -q", args, out);
  g_auto (GStrv) argv = NULL;
  int argc;
  g_assert_true (g_shell_parse_argv (line, &argc, &argv, NULL));
  /* option parsing takes the options out of the vector it is given:
   * hand it a copy so that argv still frees every string */
  g_autofree char **options = g_memdup2 (argv,
                                         sizeof *argv * (gsize) (argc + 1));
  int rc = usage_command (e->host, argc, options);
  g_assert_cmpint (rc, ==, 0);
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (out, &text, NULL, &error));
  /* JSON has no NaN: the writer must never let one through */
  g_assert_null (strstr (text, "nan"));
  g_assert_null (strstr (text, "inf"));
  NfsubTestJson *j = nfsub_test_json_parse (text, &error);
  g_assert_no_error (error);
  return j;
}

/* Per-user week totals straight from the flow store (sorted by key). */
static void
load_week (Env *e, const char *date, UsageSelection *sel, UsageWeek *w)
{
  g_autofree char *dir = g_build_filename (e->state, "usage", "flows", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (UsageStore) s = usage_store_open (dir, FALSE, &error);
  g_assert_no_error (error);
  guint32 start;
  g_assert_true (usage_julian_parse (date, &start));
  g_assert_true (usage_week_load (s, start, sel, USAGE_MISSING_ZERO, 1, TRUE, w,
                                  &error));
  g_assert_no_error (error);
}

/* ---- statistics on plain arrays ---- */

static void
test_bins (void)
{
  g_assert_cmpint (usage_bin_of (1e4), ==, 0);
  g_assert_cmpint (usage_bin_of (pow (10, 3.97)), ==, -1);
  g_assert_cmpint (usage_bin_of (pow (10, 3.98)), ==, 0);
  g_assert_cmpint (usage_bin_of (1e11), ==, 140);
  g_assert_cmpint (usage_bin_of (pow (10, 11.03)), ==, USAGE_N_BINS);
  g_assert_cmpint (usage_bin_of (0), ==, -2);
  /* the published 5,620 MB = 10^3.75 MB sits at a bin centre */
  g_assert_cmpint (usage_bin_of (5620e6), ==, 115);
  g_assert_cmpfloat (fabs (usage_bin_centre_log10 (115) - 9.75), <, 1e-12);
  g_assert_cmpint (usage_bin_of (224e6), ==, 87);   /* 10^2.35 MB */
}

static void
test_top_share (void)
{
  /* values 10, 5, 3, 2 (total 20): the top 10% is 0.4 of a user = 4 */
  double v[] = { 10, 5, 3, 2 };
  assert_close (usage_top_share (v, 4, 20, 0.10), 0.2, 1e-12);
  assert_close (usage_top_share (v, 4, 20, 0.50), 0.75, 1e-12);
  assert_close (usage_top_share (v, 4, 20, 1.0), 1.0, 1e-12);
  g_assert_true (isnan (usage_top_share (v, 4, 0, 0.1)));
}

static void
test_stats_hand (void)
{
  /* 10 users: 1e10, 1e9, 5 x 1e8, 3 x 1e7 bytes/day.
   * total 11.53e9; mean 1.153e9; median = mean of 5th and 6th largest =
   * 1e8; the mode is bin 80 (10^8.00) where 5 users sit; top 10% = the
   * largest user = 1e10 / 11.53e9; top 1% = a tenth of it. */
  double v[] = { 1e8, 1e7, 1e10, 1e8, 1e7, 1e8, 1e9, 1e8, 1e7, 1e8 };
  UsageDirStats st;
  usage_dir_stats_compute (&st, v, NULL, 10, 0.3);
  assert_close (st.total, 11.53e9, 1e-12);
  assert_close (st.mean, 1.153e9, 1e-12);
  assert_close (st.median, 1e8, 1e-12);
  g_assert_cmpint (st.mode_bin, ==, 80);
  assert_close (st.mode, 1e8, 1e-12);
  assert_close (st.top10_share, 1e10 / 11.53e9, 1e-12);
  assert_close (st.top1_share, 0.1 * 1e10 / 11.53e9, 1e-12);
  g_assert_cmpuint (st.counts[80], ==, 5);
  g_assert_cmpuint (st.counts[60], ==, 3);
  /* 5 users of 10 in a 0.05-decade bin: density 5 / (10 * 0.05) = 10 */
  assert_close (st.density[80], 10, 1e-12);
  g_assert_cmpuint (st.zero + st.underflow + st.overflow, ==, 0);
}

static void
test_mode_smoothed (void)
{
  /* A bell over bins 78..82 (4, 6, 7, 6, 4 users) and a spike of 8 users
   * in bin 86: the raw tallest bin is 86, the smoothed peak is 80.  By
   * hand with sigma = 2 bins: smoothed(80) ~ 7 + .8825*12 + .6065*8 +
   * .0111*8 = 22.5 (before normalising) against smoothed(86) ~ 8 + .1353*4
   * + .0439*6 + .0111*7 + ... = 8.9. */
  int counts[] = { 4, 6, 7, 6, 4 };
  GArray *v = g_array_new (FALSE, FALSE, sizeof (double));
  for (int b = 0; b < 5; b++)
    for (int i = 0; i < counts[b]; i++)
      {
        double x = pow (10, usage_bin_centre_log10 (78 + b));
        g_array_append_val (v, x);
      }
  for (int i = 0; i < 8; i++)
    {
      double x = pow (10, usage_bin_centre_log10 (86));
      g_array_append_val (v, x);
    }
  UsageDirStats st;
  usage_dir_stats_compute (&st, (double *) v->data, NULL, v->len, 0.3);
  g_array_unref (v);
  g_assert_cmpuint (st.counts[86], ==, 8);
  g_assert_cmpuint (st.counts[80], ==, 7);
  g_assert_cmpint (st.mode_bin, ==, 80);
  assert_close (st.mode, 1e8, 1e-12);
  /* the bell is symmetric: the refined mode stays at its centre */
  g_assert_cmpfloat (fabs (log10 (st.mode_refined) - 8.0), <, 0.01);
}

static void
test_rse (void)
{
  /* bin 40 (10^6): four users with 1, 4, 9, 16 sampled packets: median
   * RSE = (1/sqrt(4) + 1/sqrt(9)) / 2 = 0.41667 > 0.3; bin 80 (10^8):
   * two users with 100 packets: 0.1.  Unreliable below the upper edge of
   * bin 40: 10^6.025.  Users with RSE > 0.3: k = 1, 4, 9 (1, .5, .333) -> 3. */
  double v[] = { 1e6, 1e6, 1e6, 1e6, 1e8, 1e8 };
  guint64 k[] = { 1, 4, 9, 16, 100, 100 };
  UsageDirStats st;
  usage_dir_stats_compute (&st, v, k, 6, 0.3);
  assert_close (st.rse_median[40], (0.5 + 1.0 / 3) / 2, 1e-12);
  assert_close (st.rse_median[80], 0.1, 1e-12);
  g_assert_true (isnan (st.rse_median[60]));
  assert_close (st.unreliable_below, pow (10, 6.025), 1e-12);
  g_assert_cmpuint (st.users_unreliable, ==, 3);
}

static void
test_empty (void)
{
  UsageWeekStats st;
  usage_stats_compute (&st, NULL, NULL, NULL, NULL, 0, 0.3, 1e8);
  g_assert_cmpuint (st.n_users, ==, 0);
  g_assert_cmpint (st.in.mode_bin, ==, -1);
  g_assert_cmpfloat (st.in.mean, ==, 0);
}

/* ---- the store ---- */

static void
test_store_roundtrip (void)
{
  g_autofree char *dir = nfsub_test_tmpdir ("usage-store");
  g_autoptr (GError) error = NULL;
  guint32 d1 = usage_julian_from_ymd (2024, 6, 3), d2 = d1 + 1;
  {
    g_autoptr (UsageStore) s = usage_store_open (dir, TRUE, &error);
    g_assert_no_error (error);
    /* delta 1: a 3 (IN 10), b 5 on day 1; delta 2: a 7 on day 1, c 1 on day 2 */
    g_autoptr (UsageAccum) acc = usage_accum_new ();
    UsageCounters c10 = { 10, 0, 1, 0 }, c5 = { 0, 5, 0, 1 }, c7 = { 7, 70, 2, 3 },
                  c1 = { 1, 1, 1, 1 };
    usage_accum_add (acc, d1, usage_accum_user (acc, "a", 0x15), &c10);
    usage_accum_add (acc, d1, usage_accum_user (acc, "b", 0x15), &c5);
    g_autoptr (UsageDelta) delta = usage_delta_new ();
    usage_accum_flush (acc, delta);
    usage_delta_add_file (delta, "20240603", "file1");
    g_assert_true (usage_store_commit (s, delta, &error));
    g_assert_no_error (error);
    usage_accum_add (acc, d1, usage_accum_user (acc, "a", 0x16), &c7);
    usage_accum_add (acc, d2, usage_accum_user (acc, "c", 0x15), &c1);
    g_autoptr (UsageDelta) delta2 = usage_delta_new ();
    usage_accum_flush (acc, delta2);
    usage_delta_add_file (delta2, "20240603", "file2");
    g_assert_true (usage_store_commit (s, delta2, &error));
    g_assert_cmpuint (usage_store_n_pending (s), ==, 2);
    gboolean found = FALSE;
    g_assert_true (usage_store_has_file (s, "20240603", "file2", &found, &error));
    g_assert_true (found);
    /* day 1 only is closed: delta 2 still has day 2 pending */
    g_assert_true (usage_store_compact (s, d2, 1 << 30, FALSE, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (usage_store_n_pending (s), ==, 1);
  }
  /* a new process: the sweep removes delta 1 (merged), keeps delta 2 */
  {
    g_autoptr (UsageStore) s = usage_store_open (dir, TRUE, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (usage_store_n_pending (s), ==, 1);
    gboolean found = FALSE;
    g_assert_true (usage_store_has_file (s, "20240603", "file1", &found, &error));
    g_assert_true (found);   /* from the ledger now */
    g_assert_true (usage_store_has_file (s, "20240603", "file3", &found, &error));
    g_assert_false (found);
    UsageSelection any = { 0, 0, 0 };
    UsageWeek w;
    g_assert_true (usage_week_load (s, d1, &any, USAGE_MISSING_ZERO, 1, TRUE, &w,
                                    &error));
    g_assert_no_error (error);
    g_assert_cmpuint (w.in->len, ==, 3);
    g_assert_cmpstr (w.keys->pdata[0], ==, "a");
    /* a: IN 10 + 7 = 17, OUT 70, packets 1+2 / 0+3; meta of the newer */
    assert_close (g_array_index (w.in, double, 0) * 7, 17, 1e-12);
    assert_close (g_array_index (w.out, double, 0) * 7, 70, 1e-12);
    g_assert_cmpuint (g_array_index (w.k_in, guint64, 0), ==, 3);
    g_assert_cmpuint (g_array_index (w.k_out, guint64, 0), ==, 3);
    g_assert_cmpuint (g_array_index (w.meta, guint8, 0), ==, 0x16);
    assert_close (g_array_index (w.out, double, 1) * 7, 5, 1e-12);
    assert_close (g_array_index (w.in, double, 2) * 7, 1, 1e-12);
    g_assert_true (w.present[0] && w.present[1] && !w.present[2]);
    g_assert_cmpuint (w.users_by_days[1], ==, 3);
    usage_week_clear (&w);
    g_assert_true (usage_store_compact (s, 0, 0, TRUE, &error));
  }
  {
    g_autoptr (UsageStore) s = usage_store_open (dir, TRUE, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (usage_store_n_pending (s), ==, 0);
    g_autoptr (GArray) days = usage_store_days (s);
    g_assert_cmpuint (days->len, ==, 2);
  }
  /* a flipped byte in a day file: one clear error naming the file */
  g_autofree char *day = g_build_filename (dir, "days", "20240603.day", NULL);
  g_autofree char *text = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (day, &text, &len, NULL));
  text[len - 3] ^= 0x40;
  g_assert_true (g_file_set_contents (day, text, (gssize) len, NULL));
  {
    g_autoptr (UsageStore) s = usage_store_open (dir, FALSE, &error);
    g_assert_no_error (error);
    g_autoptr (UsageDayData) dd = usage_store_read_day (s, d1, &error);
    g_assert_null (dd);
    g_assert_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE);
    g_assert_nonnull (strstr (error->message, "20240603.day"));
    g_assert_nonnull (strstr (error->message, "checksum"));
  }
  nfsub_test_rm_rf (dir);
}

/* The sweep that removes merged deltas must not delete anything while the
 * host's transaction keeps its ledger write staged: an abort would lose
 * the ledger entries of files whose deltas were gone. */
static void
test_sweep_in_transaction (void)
{
  g_autofree char *dir = nfsub_test_tmpdir ("usage-sweep");
  g_autoptr (GError) error = NULL;
  guint32 d1 = usage_julian_from_ymd (2024, 6, 3);
  g_autofree char *delta = g_build_filename (dir, "pending",
                                             "0000000000000001.delta", NULL);
  {
    g_autoptr (UsageStore) s = usage_store_open (dir, TRUE, &error);
    g_autoptr (UsageAccum) acc = usage_accum_new ();
    UsageCounters c = { 5, 6, 1, 1 };
    usage_accum_add (acc, d1, usage_accum_user (acc, "a", 0), &c);
    g_autoptr (UsageDelta) d = usage_delta_new ();
    usage_accum_flush (acc, d);
    usage_delta_add_file (d, "20240603", "f1");
    g_assert_true (usage_store_commit (s, d, &error));
    g_assert_true (usage_store_compact (s, 0, 0, TRUE, &error));
    g_assert_no_error (error);
  }
  g_assert_true (g_file_test (delta, G_FILE_TEST_EXISTS));
  nfsub_state_txn_begin (dir);
  {
    g_autoptr (UsageStore) s = usage_store_open (dir, TRUE, &error);
    g_assert_no_error (error);
  }
  nfsub_state_txn_abort ();
  g_assert_true (g_file_test (delta, G_FILE_TEST_EXISTS));
  {
    g_autoptr (UsageStore) s = usage_store_open (dir, TRUE, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (usage_store_n_pending (s), ==, 0);
    gboolean found = FALSE;
    g_assert_true (usage_store_has_file (s, "20240603", "f1", &found, &error));
    g_assert_true (found);
  }
  g_assert_false (g_file_test (delta, G_FILE_TEST_EXISTS));
  nfsub_test_rm_rf (dir);
}

/* ---- flows through the plugin ---- */

static void
test_day_boundary (void)
{
  /* Asia/Tokyo: 2024-06-03 00:00 JST.  A flow starting one second before
   * counts on June 2 even though it sits in the June 3 file; IN to the
   * source's user, OUT to the destination's, both when both are users. */
  Env e;
  env_setup (&e, "Asia/Tokyo", NULL);
  gpointer self = plugin_init (&e);
  NfsubFlow f[] = {
    mkflow (JUN3_JST_MS - 1000, &alice, NULL, 300, 3, 1),       /* June 2 */
    mkflow (JUN3_JST_MS, &alice, NULL, 1000, 10, 1),            /* June 3 */
    mkflow (JUN3_JST_MS + 3600000, NULL, &bob, 5000, 50, 10),   /* k = 5 */
    mkflow (JUN3_JST_MS + 7200000, &alice, &bob, 700, 7, 1),    /* both */
    mkflow (JUN3_JST_MS + 7200000, NULL, NULL, 99999, 9, 1),    /* nobody */
  };
  run_file (self, "nfcapd.202406030000", f, G_N_ELEMENTS (f));
  finish_free (self);

  UsageSelection any = { 0, 0, 0 };
  UsageWeek w;
  /* the week of Mon 2024-05-27 ends on Sunday June 2 */
  load_week (&e, "2024-05-27", &any, &w);
  g_assert_cmpuint (w.in->len, ==, 1);
  g_assert_cmpstr (w.keys->pdata[0], ==, "pppoe:alice");
  assert_close (g_array_index (w.in, double, 0) * 7, 300, 1e-12);
  g_assert_true (w.present[6]);
  g_assert_cmpuint (w.days_observed, ==, 1);
  usage_week_clear (&w);

  load_week (&e, "2024-06-03", &any, &w);
  g_assert_cmpuint (w.in->len, ==, 2);
  /* alice: IN 1000 + 700, 10 + 7 sampled packets */
  assert_close (g_array_index (w.in, double, 0) * 7, 1700, 1e-12);
  g_assert_cmpuint (g_array_index (w.k_in, guint64, 0), ==, 17);
  /* bob: OUT 5000 + 700; 5000 bytes of 50 packets at 1:10 = 5 sampled */
  g_assert_cmpstr (w.keys->pdata[1], ==, "pppoe:bob");
  assert_close (g_array_index (w.out, double, 1) * 7, 5700, 1e-12);
  assert_close (g_array_index (w.in, double, 1), 0, 0);
  g_assert_cmpuint (g_array_index (w.k_out, guint64, 1), ==, 12);
  usage_week_clear (&w);
  env_teardown (&e);
}

/* Eleven broadband personal users with daily IN of 1e10, 1e9, 5 x 1e8,
 * 3 x 1e7 and 1e5 bytes (OUT ten times IN), one flow a day for 7 days;
 * plus a mobile and an enterprise user who must not count.
 *   IN total/day = 1e10 + 1e9 + 5e8 + 3e7 + 1e5 = 11,530,100,000
 *   mean = 11,530,100,000 / 11 = 1,048,190,909.09...
 *   median = 6th of 11 = 1e8; mode = bin 80 (5 users) = 1e8
 *   top 10%: 1.1 users = 1e10 + 0.1 * 1e9 = 1.01e10 -> 0.875968...
 *   top 1%: 0.11 users = 0.11 * 1e10 -> 0.0954024...
 *   client type (IN < 1e8): 3 x 1e7 and 1e5 -> 4 of 11 users, IN share
 *   (3e7 + 1e5) / 11,530,100,000.
 * Packets: bytes / 100 at 1:1000 sampling: k = bytes / 1e5 a day, so the
 * 1e5 user has 7 sampled packets in the week (RSE 0.378 > 0.3): IN is
 * unreliable below the upper edge of its bin, 10^5.025; OUT (1e6/day, 70
 * packets, RSE 0.12) is reliable everywhere. */
static const double hand_daily[] = { 1e10, 1e9, 1e8, 1e8, 1e8, 1e8, 1e8,
                                     1e7, 1e7, 1e7, 1e5 };
#define HAND_USERS G_N_ELEMENTS (hand_daily)

static void
hand_files (gpointer self, guint first_day, guint last_day)
{
  static User users[HAND_USERS];
  static char names[HAND_USERS][32];
  for (guint u = 0; u < HAND_USERS; u++)
    {
      g_snprintf (names[u], sizeof names[u], "pppoe:u%02u", u);
      users[u] = (User) { names[u], 10 + u, 1, 1, 1 };
    }
  for (guint d = first_day; d <= last_day; d++)
    {
      GArray *flows = g_array_new (FALSE, FALSE, sizeof (NfsubFlow));
      gint64 t = JUN3_JST_MS + d * DAY_MS + 12 * 3600000;
      for (guint u = 0; u < HAND_USERS; u++)
        {
          guint64 b = (guint64) hand_daily[u];
          NfsubFlow f = mkflow (t, &users[u], NULL, b, b / 100, 1000);
          g_array_append_val (flows, f);
          f = mkflow (t, NULL, &users[u], 10 * b, 10 * b / 100, 1000);
          g_array_append_val (flows, f);
        }
      NfsubFlow extra[] = { mkflow (t, &m1, NULL, 12345, 10, 1),
                            mkflow (t, &carol, NULL, 54321, 10, 1) };
      g_array_append_vals (flows, extra, 2);
      char name[64];
      g_snprintf (name, sizeof name, "nfcapd.2024060%u1200", 3 + d);
      run_file (self, name, (NfsubFlow *) flows->data, flows->len);
      g_array_unref (flows);
    }
}

static double
json_num_at (const NfsubTestJson *j, const char *prefix, const char *key)
{
  g_autofree char *path = g_strconcat (prefix, key, NULL);
  return nfsub_test_json_number (j, path);
}

static void
check_hand_json (const NfsubTestJson *j)
{
  const double total = 11530100000.0;
  g_assert_cmpstr (nfsub_test_json_string (j, "schema"), ==, "nfsub-usage/1");
  g_assert_cmpfloat (nfsub_test_json_number (j, "services.broadband.users"), ==, 11);
  for (int d = 0; d < 2; d++)
    {
      const char *dir = d ? "out" : "in";
      double f = d ? 10 : 1;
      g_autofree char *p = g_strdup_printf ("services.broadband.%s.", dir);
#define NUM(k) json_num_at (j, p, k)
      assert_close (NUM ("mean"), f * total / 11, 1e-12);
      assert_close (NUM ("median"), f * 1e8, 1e-12);
      assert_close (NUM ("mode"), f * 1e8, 1e-12);
      assert_close (NUM ("mode_log10"), d ? 9.0 : 8.0, 1e-12);
      assert_close (NUM ("top10_share"), 1.01e10 / total, 1e-12);
      assert_close (NUM ("top1_share"), 0.11e10 / total, 1e-12);
      assert_close (NUM ("total"), f * total, 1e-12);
      assert_close (NUM (d ? "counts.100" : "counts.80"), 5, 0);
      assert_close (NUM (d ? "density.100" : "density.80"), 5 / (11 * 0.05), 1e-9);
#undef NUM
    }
  assert_close (nfsub_test_json_number (j, "services.broadband.in.unreliable_below"),
                pow (10, 5.025), 1e-9);
  assert_close (nfsub_test_json_number (j, "services.broadband.out.unreliable_below"),
                0, 0);
  assert_close (nfsub_test_json_number (j, "services.broadband.client.user_share"),
                4.0 / 11, 1e-12);
  assert_close (nfsub_test_json_number (j, "services.broadband.client.in_share"),
                (3e7 + 1e5) / total, 1e-9);
  assert_close (nfsub_test_json_number (j, "services.broadband.client.cut"), 1e8,
                1e-12);
  assert_close (nfsub_test_json_number (j, "services.broadband.sample.size"), 11, 0);
  g_assert_cmpuint (nfsub_test_json_length (
                        nfsub_test_json_path (j, "services.broadband.sample.in")),
                    ==, 11);
  g_assert_cmpuint (nfsub_test_json_length (
                        nfsub_test_json_path (j, "services.broadband.in.density")),
                    ==, USAGE_N_BINS);
  /* 7 of 7 days, every user seen on all of them */
  assert_close (nfsub_test_json_number (j, "services.broadband.users_by_days_seen.7"),
                11, 0);
}

static void
test_hand_week (void)
{
  Env e;
  env_setup (&e, "Asia/Tokyo", NULL);
  gpointer self = plugin_init (&e);
  hand_files (self, 0, 6);
  finish_free (self);
  g_autoptr (NfsubTestJson) j = usage_json (&e, "--week 2024-06-03");
  check_hand_json (j);
  /* mobile comes from accounting by default, and there is none: no
   * users, a message, no NaN (usage_json checks the text) */
  g_assert_cmpfloat (nfsub_test_json_number (j, "services.mobile.users"), ==, 0);
  g_assert_nonnull (nfsub_test_json_path (j, "services.mobile.message"));
  /* the mobile user is there when mobile is read from flows */
  g_autoptr (NfsubTestJson) jm = usage_json (&e, "--week 2024-06-03 --service "
                                                 "mobile --source flows");
  g_assert_cmpfloat (nfsub_test_json_number (jm, "services.mobile.users"), ==, 1);
  assert_close (nfsub_test_json_number (jm, "services.mobile.in.mean"), 12345, 1e-12);
  /* enterprise selectable */
  g_autoptr (NfsubTestJson) je = usage_json (&e, "--week 2024-06-03 --class "
                                                 "enterprise --service broadband");
  g_assert_cmpfloat (nfsub_test_json_number (je, "services.broadband.users"), ==, 1);
  assert_close (nfsub_test_json_number (je, "services.broadband.in.mean"), 54321,
                1e-12);
  /* --access ipoe: carol is IPoE but enterprise; no personal IPoE user */
  g_autoptr (NfsubTestJson) ji = usage_json (&e, "--week 2024-06-03 --access ipoe "
                                                 "--service broadband");
  g_assert_cmpfloat (nfsub_test_json_number (ji, "services.broadband.users"), ==, 0);
  env_teardown (&e);
}

/* The same files in two runs, the first one killed after its third file
 * was committed (no finish), give the same per-user week as one run. */
static void
test_restart (void)
{
  Env one, two;
  env_setup (&one, "Asia/Tokyo", NULL);
  env_setup (&two, "Asia/Tokyo", NULL);
  gpointer self = plugin_init (&one);
  hand_files (self, 0, 6);
  finish_free (self);

  self = plugin_init (&two);
  hand_files (self, 0, 2);
  DESC->free (self);  /* killed: no finish */
  self = plugin_init (&two);
  hand_files (self, 2, 6);   /* day 2 again: already counted, skipped */
  finish_free (self);
  /* and the whole week once more: every file skipped */
  self = plugin_init (&two);
  hand_files (self, 0, 6);
  finish_free (self);

  UsageSelection any = { 0, 0, 0 };
  UsageWeek a, b;
  load_week (&one, "2024-06-03", &any, &a);
  load_week (&two, "2024-06-03", &any, &b);
  g_assert_cmpuint (a.in->len, ==, HAND_USERS + 2);
  g_assert_cmpuint (a.in->len, ==, b.in->len);
  for (guint i = 0; i < a.in->len; i++)
    {
      g_assert_cmpstr (a.keys->pdata[i], ==, b.keys->pdata[i]);
      g_assert_cmpfloat (g_array_index (a.in, double, i), ==,
                         g_array_index (b.in, double, i));
      g_assert_cmpfloat (g_array_index (a.out, double, i), ==,
                         g_array_index (b.out, double, i));
      g_assert_cmpuint (g_array_index (a.k_in, guint64, i), ==,
                        g_array_index (b.k_in, guint64, i));
    }
  /* and against the hand numbers */
  for (guint i = 0; i < a.in->len; i++)
    if (g_str_has_prefix (a.keys->pdata[i], "pppoe:u"))
      {
        guint u = (guint) atoi ((const char *) a.keys->pdata[i] + 7);
        assert_close (g_array_index (a.in, double, i), hand_daily[u], 1e-12);
      }
  usage_week_clear (&a);
  usage_week_clear (&b);
  env_teardown (&one);
  env_teardown (&two);
}

/* Under the host's state transaction (as in `nfsub process`) every write
 * is staged until the commit: the plugin must read its own writes back
 * from memory, also when its cache is too small to keep day files
 * (cache_mb = 0), and an aborted run must leave the state untouched. */
static void
test_transaction (void)
{
  Env e;
  env_setup (&e, "Asia/Tokyo", "compact_min_mb = 0\ncache_mb = 0\n");
  /* an aborted run first: nothing of it may stay */
  gpointer self = plugin_init (&e);
  nfsub_state_txn_begin (e.state);
  hand_files (self, 0, 3);
  g_autoptr (GError) error = NULL;
  g_assert_true (DESC->finish (self, &error));
  nfsub_state_txn_abort ();
  DESC->free (self);
  g_assert_true (nfsub_state_recover (e.state, &error));

  for (int run = 0; run < 2; run++)
    {
      self = plugin_init (&e);
      nfsub_state_txn_begin (e.state);
      if (run == 0)
        hand_files (self, 0, 3);
      else
        hand_files (self, 2, 6);
      g_assert_true (DESC->finish (self, &error));
      g_assert_no_error (error);
      g_assert_true (nfsub_state_txn_commit (&error));
      g_assert_no_error (error);
      DESC->free (self);
    }
  g_autoptr (NfsubTestJson) j = usage_json (&e, "--week 2024-06-03");
  check_hand_json (j);
  env_teardown (&e);
}

/* ---- edge cases of a week ---- */

static void
test_missing_days (void)
{
  /* data on Mon-Wed only: with the default policy daily = total / 3;
   * with --missing zero, / 7 */
  Env e;
  env_setup (&e, "Asia/Tokyo", NULL);
  gpointer self = plugin_init (&e);
  hand_files (self, 0, 2);
  finish_free (self);
  g_autoptr (NfsubTestJson) j = usage_json (&e, "--week 2024-06-03 --service broadband");
  assert_close (nfsub_test_json_number (j, "services.broadband.in.mean"),
                11530100000.0 / 11, 1e-12);
  const NfsubTestJson *days = nfsub_test_json_path (j, "days");
  g_assert_cmpuint (nfsub_test_json_length (days), ==, 7);
  for (guint i = 0; i < 7; i++)
    {
      /* one input file a day on Mon..Wed */
      const NfsubTestJson *day = nfsub_test_json_index (days, i, NULL);
      g_assert_cmpfloat (nfsub_test_json_number (day, "inputs"), ==, i < 3 ? 1 : 0);
    }
  g_autoptr (NfsubTestJson) jz = usage_json (&e, "--week 2024-06-03 --service "
                                                 "broadband --missing zero");
  assert_close (nfsub_test_json_number (jz, "services.broadband.in.mean"),
                11530100000.0 * 3 / 7 / 11, 1e-12);
  /* a week with no data at all: zero users, no NaN */
  g_autoptr (NfsubTestJson) jn = usage_json (&e, "--week 2023-06-05");
  g_assert_cmpfloat (nfsub_test_json_number (jn, "services.broadband.users"), ==, 0);
  env_teardown (&e);
}

static void
test_partial_users (void)
{
  /* a user seen on 2 of 7 days: the other 5 count as zero.  alice 7e6 on
   * Monday and Tuesday -> 14e6 / 7 = 2e6 a day; bob 7e6 every day -> 7e6. */
  Env e;
  env_setup (&e, "Asia/Tokyo", NULL);
  gpointer self = plugin_init (&e);
  for (guint d = 0; d < 7; d++)
    {
      gint64 t = JUN3_JST_MS + d * DAY_MS + 3600000;
      NfsubFlow f[2] = { mkflow (t, &bob, NULL, 7000000, 7000, 1),
                         mkflow (t, &alice, NULL, 7000000, 7000, 1) };
      char name[64];
      g_snprintf (name, sizeof name, "nfcapd.2024060%u0100", 3 + d);
      run_file (self, name, f, d < 2 ? 2 : 1);
    }
  finish_free (self);
  g_autoptr (NfsubTestJson) j = usage_json (&e, "--week 2024-06-03 --service broadband");
  /* mean (2e6 + 7e6) / 2; median of two = mean */
  assert_close (nfsub_test_json_number (j, "services.broadband.in.mean"), 4.5e6, 1e-12);
  assert_close (nfsub_test_json_number (j, "services.broadband.in.median"), 4.5e6, 1e-12);
  assert_close (nfsub_test_json_number (j, "services.broadband.users_by_days_seen.2"),
                1, 0);
  assert_close (nfsub_test_json_number (j, "services.broadband.users_by_days_seen.7"),
                1, 0);
  /* OUT: nobody downloaded: zero users in the density, mode unknown */
  g_assert_cmpint (nfsub_test_json_type (nfsub_test_json_path (
                       j, "services.broadband.out.mode")), ==, NFSUB_TEST_JSON_NULL);
  assert_close (nfsub_test_json_number (j, "services.broadband.out.zero"), 2, 0);
  env_teardown (&e);
}

static void
test_years (void)
{
  /* the same users in the week of Mon 2023-06-05 (aligned to Mon
   * 2024-06-03) with half the volume: YoY growth of mean/median/mode
   * IN = +100% */
  Env e;
  env_setup (&e, "Asia/Tokyo", NULL);
  gpointer self = plugin_init (&e);
  hand_files (self, 0, 6);
  gint64 shift = (gint64) (usage_julian_from_ymd (2024, 6, 3)
                           - usage_julian_from_ymd (2023, 6, 5)) * DAY_MS;
  for (guint d = 0; d < 7; d++)
    {
      GArray *flows = g_array_new (FALSE, FALSE, sizeof (NfsubFlow));
      for (guint u = 0; u < HAND_USERS; u++)
        {
          static char names[HAND_USERS][32];
          static User users[HAND_USERS];
          g_snprintf (names[u], sizeof names[u], "pppoe:u%02u", u);
          users[u] = (User) { names[u], 10 + u, 1, 1, 1 };
          guint64 b = (guint64) hand_daily[u] / 2;
          NfsubFlow f = mkflow (JUN3_JST_MS - shift + d * DAY_MS + 3600000,
                                &users[u], NULL, b, b / 100, 1000);
          g_array_append_val (flows, f);
        }
      char name[64];
      g_snprintf (name, sizeof name, "nfcapd.2023060%u0100", 5 + d);
      run_file (self, name, (NfsubFlow *) flows->data, flows->len);
      g_array_unref (flows);
    }
  finish_free (self);
  g_autoptr (NfsubTestJson) j = usage_json (&e, "--week 2024-06-03 --service broadband");
  const NfsubTestJson *years = nfsub_test_json_path (j, "services.broadband.years");
  g_assert_cmpuint (nfsub_test_json_length (years), ==, 2);
  g_assert_cmpstr (nfsub_test_json_string (j, "services.broadband.years.0.week"), ==,
                   "2023-06-05");
  assert_close (nfsub_test_json_number (j, "services.broadband.years.0.in.mean"),
                11530100000.0 / 22, 1e-12);
  assert_close (nfsub_test_json_number (j, "services.broadband.years.1.in.yoy.mean"),
                1.0, 1e-12);
  assert_close (nfsub_test_json_number (j, "services.broadband.years.1.in.yoy.median"),
                1.0, 1e-12);
  /* mode: 10^8 against 10^7.7 (5e7 sits in bin 74 = 10^7.70) */
  assert_close (nfsub_test_json_number (j, "services.broadband.years.1.in.yoy.mode"),
                pow (10, 0.3) - 1, 1e-9);
  env_teardown (&e);
}

/* ---- RADIUS accounting counters ---- */

static char *
radius_record (const char *status, const char *user, const char *sid,
               gint64 t, gint64 session_time, guint64 in, guint64 out)
{
  /* as FreeRADIUS writes them (GLib's %e pads with U+2007: no) */
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (t);
  g_autofree char *wd = g_date_time_format (dt, "%a");
  g_autofree char *mon = g_date_time_format (dt, "%b");
  g_autofree char *hms = g_date_time_format (dt, "%H:%M:%S");
  int day = g_date_time_get_day_of_month (dt), year = g_date_time_get_year (dt);
  g_autofree char *dl = g_strdup_printf ("%s %s %2d %s %d", wd, mon, day, hms, year);
  g_autofree char *ev = g_strdup_printf ("%s %2d %d %s UTC", mon, day, year, hms);
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "%s\n\tAcct-Status-Type = %s\n\tUser-Name = \"%s\"\n"
                          "\tAcct-Session-Id = \"%s\"\n"
                          "\tNAS-IP-Address = 192.0.2.101\n"
                          "\tEvent-Timestamp = \"%s\"\n", dl, status, user, sid, ev);
  if (strcmp (status, "Start") != 0)
    {
      g_string_append_printf (s, "\tAcct-Session-Time = %" G_GINT64_FORMAT "\n"
                              "\tAcct-Input-Octets = %u\n\tAcct-Output-Octets = %u\n",
                              session_time, (guint32) in, (guint32) out);
      if (in >> 32)
        g_string_append_printf (s, "\tAcct-Input-Gigawords = %u\n", (guint32) (in >> 32));
      if (out >> 32)
        g_string_append_printf (s, "\tAcct-Output-Gigawords = %u\n", (guint32) (out >> 32));
    }
  g_string_append_printf (s, "\tTimestamp = %" G_GINT64_FORMAT "\n\n", t + 1);
  return g_string_free (s, FALSE);
}

static void
append_file (const char *path, const char *text)
{
  FILE *fp = fopen (path, "a");
  g_assert_nonnull (fp);
  fputs (text, fp);
  fclose (fp);
}

static void
radius_day (Env *e, const char *user, int y, int m, int d, guint64 *in,
            guint64 *out)
{
  g_autofree char *dir = g_build_filename (e->state, "usage", "radius", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (UsageStore) s = usage_store_open (dir, FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (UsageDayData) dd = usage_store_read_day (
      s, usage_julian_from_ymd (y, m, d), &error);
  g_assert_no_error (error);
  g_autoptr (UsageMerge) mg = usage_merge_new ();
  for (guint i = 0; i < dd->readers->len; i++)
    usage_merge_add (mg, dd->readers->pdata[i], i, 0);
  g_assert_true (usage_merge_start (mg, &error));
  *in = *out = 0;
  const char *key;
  gsize len;
  guint8 meta;
  UsageCounters c;
  while (usage_merge_next (mg, &key, &len, &meta, &c, NULL, &error) > 0)
    if (strcmp (key, user) == 0)
      {
        *in = c.in_bytes;
        *out = c.out_bytes;
        g_assert_cmpuint (usage_meta_service (meta), ==, NFSUB_SERVICE_MOBILE);
        g_assert_cmpuint (usage_meta_access (meta), ==, NFSUB_ACCESS_MOBILE);
      }
  g_assert_no_error (error);
}

static void
test_radius (void)
{
  /* UTC.  Session s1 of m1: Start 22:00 June 3; Interim 23:00 (IN 3600);
   * Interim 01:00 June 4 (IN 10800); Stop 02:00 (IN 14400).  By hand:
   * 22-23h 3600 -> June 3; 23-01h 7200 -> 3600 June 3 + 3600 June 4;
   * 01-02h 3600 -> June 4.  June 3 = 7200, June 4 = 7200; OUT x 10.
   * A repeated Stop and a late copy of the 23:00 Interim count nothing.
   * Session s2 of m2 without Start: Interim 12:00 June 4, session time 2 h,
   * IN 2^32 + 100 (Gigawords) -> all June 4.  A second import adds its Stop
   * at 00:00 June 5 with IN + 43200: [12:00, 24:00] -> June 4. */
  Env e;
  g_autofree char *tmp = nfsub_test_tmpdir ("usage-radacct");
  g_autofree char *nas = g_build_filename (tmp, "192.0.2.101", NULL);
  g_assert_cmpint (g_mkdir_with_parents (nas, 0755), ==, 0);
  g_autofree char *detail = g_build_filename (nas, "detail-20240603", NULL);
  g_autofree char *group = g_strdup_printf ("radius_detail = mobile=%s\n", tmp);
  env_setup (&e, "UTC", group);
  gint64 h = 3600, t22 = JUN3_UTC_S + 22 * h;
  const guint64 G = G_GUINT64_CONSTANT (1) << 32;
  char *recs[] = {
    radius_record ("Start", "m1", "s1", t22, 0, 0, 0),
    radius_record ("Interim-Update", "m1", "s1", t22 + h, h, 3600, 36000),
    radius_record ("Interim-Update", "m1", "s1", t22 + 3 * h, 3 * h, 10800, 108000),
    radius_record ("Stop", "m1", "s1", t22 + 4 * h, 4 * h, 14400, 144000),
    radius_record ("Stop", "m1", "s1", t22 + 4 * h, 4 * h, 14400, 144000),
    radius_record ("Interim-Update", "m1", "s1", t22 + h, h, 3600, 36000),
    radius_record ("Interim-Update", "m2", "s2", JUN3_UTC_S + 36 * h, 2 * h,
                   G + 100, 5),
    /* m3 has a session and sends nothing: a user with zero bytes */
    radius_record ("Start", "m3", "s3", JUN3_UTC_S + 58 * h, 0, 0, 0),
    radius_record ("Stop", "m3", "s3", JUN3_UTC_S + 59 * h, h, 0, 0),
    NULL
  };
  for (char **r = recs; *r; r++)
    append_file (detail, *r);
  /* an unfinished record (no blank line yet): left for the next run */
  char *stop2 = radius_record ("Stop", "m2", "s2", JUN3_UTC_S + 48 * h, 14 * h,
                               G + 100 + 43200, 7);
  g_autofree char *half = g_strndup (stop2, strlen (stop2) - 1);
  append_file (detail, half);

  gpointer self = plugin_init (&e);
  finish_free (self);
  guint64 in, out;
  radius_day (&e, "mobile:m1", 2024, 6, 3, &in, &out);
  g_assert_cmpuint (in, ==, 7200);
  g_assert_cmpuint (out, ==, 72000);
  radius_day (&e, "mobile:m1", 2024, 6, 4, &in, &out);
  g_assert_cmpuint (in, ==, 7200);
  g_assert_cmpuint (out, ==, 72000);
  radius_day (&e, "mobile:m2", 2024, 6, 4, &in, &out);
  g_assert_cmpuint (in, ==, G + 100);
  g_assert_cmpuint (out, ==, 5);

  /* the rest of the Stop arrives; a second run reads only what is new */
  append_file (detail, "\n");
  self = plugin_init (&e);
  finish_free (self);
  radius_day (&e, "mobile:m2", 2024, 6, 4, &in, &out);
  g_assert_cmpuint (in, ==, G + 100 + 43200);
  g_assert_cmpuint (out, ==, 7);
  radius_day (&e, "mobile:m1", 2024, 6, 3, &in, &out);
  g_assert_cmpuint (in, ==, 7200);
  /* nothing new: a third run changes nothing */
  self = plugin_init (&e);
  finish_free (self);
  radius_day (&e, "mobile:m2", 2024, 6, 4, &in, &out);
  g_assert_cmpuint (in, ==, G + 100 + 43200);

  /* the week statistics from accounting: mobile's default source.
   * m1 14400 + m2 (2^32 + 43300) + m3 0 over the week, / 7, mean of three
   * users (only June 3-5 have records: --missing zero divides by 7) */
  g_autoptr (NfsubTestJson) j = usage_json (&e, "--week 2024-06-03 --service mobile "
                                                "--missing zero");
  g_assert_cmpstr (nfsub_test_json_string (j, "services.mobile.source"), ==, "radius");
  g_assert_cmpfloat (nfsub_test_json_number (j, "services.mobile.users"), ==, 3);
  assert_close (nfsub_test_json_number (j, "services.mobile.in.mean"),
                (14400.0 + (double) G + 43300) / 7 / 3, 1e-12);
  assert_close (nfsub_test_json_number (j, "services.mobile.in.zero"), 1, 0);
  assert_close (nfsub_test_json_number (j, "services.mobile.in.median"),
                14400.0 / 7, 1e-12);
  /* exact counters: no sampling threshold */
  assert_close (nfsub_test_json_number (j, "services.mobile.in.unreliable_below"), 0, 0);
  for (char **r = recs; *r; r++)
    g_free (*r);
  g_free (stop2);
  env_teardown (&e);
  nfsub_test_rm_rf (tmp);
}

static void
test_radius_spread (void)
{
  /* DST: Europe/Berlin 2024-03-31 has 23 hours.  A session from
   * 2024-03-30 12:00 to 2024-04-01 12:00 local (47 hours of real time):
   * 12 h on the 30th, 23 h on the 31st, 12 h on April 1st; 4700 bytes
   * split 1200 / 2300 / 1200. */
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier ("Europe/Berlin");
  g_assert_nonnull (tz);
  UsageDayMap days;
  usage_daymap_init (&days, tz);
  g_autoptr (UsageAccum) acc = usage_accum_new ();
  g_autoptr (GDateTime) a = g_date_time_new (tz, 2024, 3, 30, 12, 0, 0);
  g_autoptr (GDateTime) b = g_date_time_new (tz, 2024, 4, 1, 12, 0, 0);
  guint32 u = usage_accum_user (acc, "mobile:x", 0);
  UsageCounters c = { 4700, 47, 0, 0 };
  usage_radius_spread (acc, &days, u, g_date_time_to_unix (a),
                       g_date_time_to_unix (b), &c);
  g_autoptr (UsageDelta) delta = usage_delta_new ();
  usage_accum_flush (acc, delta);
  g_autofree char *dir = nfsub_test_tmpdir ("usage-spread");
  g_autoptr (GError) error = NULL;
  g_autoptr (UsageStore) s = usage_store_open (dir, TRUE, &error);
  g_assert_true (usage_store_commit (s, delta, &error));
  guint64 want[3] = { 1200, 2300, 1200 };
  for (int d = 0; d < 3; d++)
    {
      g_autoptr (UsageDayData) dd = usage_store_read_day (
          s, usage_julian_from_ymd (2024, 3, 30) + d, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (dd->readers->len, ==, 1);
      UsageSectionReader *r = dd->readers->pdata[0];
      g_assert_cmpint (usage_section_reader_next (r, &error), ==, 1);
      g_assert_cmpuint (r->c.in_bytes, ==, want[d]);
    }
  usage_daymap_clear (&days);
  nfsub_test_rm_rf (dir);
}

/* ---- flows against accounting ---- */

static void
test_compare_sources (void)
{
  /* m1: flows 12000 IN (3 sampled packets), accounting 10000 -> +20%;
   * m2: flows 9000, accounting 10000 -> -10%; aggregate (21000 / 20000)
   * - 1 = +5%; m3 only in flows. */
  Env e;
  env_setup (&e, "UTC", NULL);
  g_autofree char *rdir = g_build_filename (e.state, "usage", "radius", NULL);
  g_autoptr (GError) error = NULL;
  {
    g_autoptr (UsageStore) rs = usage_store_open (rdir, TRUE, &error);
    g_assert_no_error (error);
    g_autoptr (UsageAccum) acc = usage_accum_new ();
    guint8 meta = usage_meta_pack (2, 1, 3);
    UsageCounters c = { 10000, 100000, 0, 0 };
    guint32 j3 = usage_julian_from_ymd (2024, 6, 3);
    usage_accum_add (acc, j3, usage_accum_user (acc, "mobile:m1", meta), &c);
    usage_accum_add (acc, j3, usage_accum_user (acc, "mobile:m2", meta), &c);
    g_autoptr (UsageDelta) d = usage_delta_new ();
    usage_accum_flush (acc, d);
    g_assert_true (usage_store_commit (rs, d, &error));
  }
  User um1 = { "mobile:m1", 1, 2, 1, 3 }, um2 = { "mobile:m2", 2, 2, 1, 3 },
       um3 = { "mobile:m3", 3, 2, 1, 3 };
  gpointer self = plugin_init (&e);
  gint64 t = JUN3_UTC_S * 1000 + 3600000;
  NfsubFlow f[] = { mkflow (t, &um1, NULL, 12000, 300, 100),
                    mkflow (t, &um2, NULL, 9000, 200, 100),
                    mkflow (t, &um3, NULL, 5000, 200, 100) };
  run_file (self, "nfcapd.202406030100", f, G_N_ELEMENTS (f));
  finish_free (self);
  g_autoptr (NfsubTestJson) j = usage_json (&e, "--week 2024-06-03 --compare-sources");
  g_assert_cmpfloat (nfsub_test_json_number (j, "users_both"), ==, 2);
  g_assert_cmpfloat (nfsub_test_json_number (j, "users_only_flows"), ==, 1);
  g_assert_cmpfloat (nfsub_test_json_number (j, "users_only_radius"), ==, 0);
  assert_close (nfsub_test_json_number (j, "in.aggregate_rel_error"), 0.05, 1e-12);
  assert_close (nfsub_test_json_number (j, "in.mean_rel_error"), 0.05, 1e-12);
  assert_close (nfsub_test_json_number (j, "in.median_abs_rel_error"), 0.15, 1e-12);
  /* k = 3 and 2 sampled packets: bucket 1..9, rms sqrt((.04 + .01) / 2) */
  assert_close (nfsub_test_json_number (j, "in.by_sampled_packets.1.rms_rel_error"),
                sqrt (0.025), 1e-12);
  assert_close (nfsub_test_json_number (j, "in.by_sampled_packets.1.predicted_rse"),
                sqrt ((1.0 / 3 + 1.0 / 2) / 2), 1e-12);
  env_teardown (&e);
}

static void
test_config_errors (void)
{
  const char *bad[] = { "sorce_mobile = flows", "source_mobile = billing",
                        "checkpoint_files = 0", "radius_access = dsl" };
  const char *key[] = { "sorce_mobile", "source_mobile", "checkpoint_files",
                        "radius_access" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      Env e;
      env_setup (&e, "UTC", bad[i]);
      g_autoptr (GError) error = NULL;
      gpointer self = DESC->init (e.host, nfsub_host_config (e.host), "usage", &error);
      g_assert_null (self);
      g_assert_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG);
      g_assert_nonnull (strstr (error->message, key[i]));
      g_assert_nonnull (strstr (error->message, "nfsub.conf"));
      env_teardown (&e);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/usage/stats/bins", test_bins);
  g_test_add_func ("/usage/stats/top-share", test_top_share);
  g_test_add_func ("/usage/stats/hand", test_stats_hand);
  g_test_add_func ("/usage/stats/mode-smoothed", test_mode_smoothed);
  g_test_add_func ("/usage/stats/rse", test_rse);
  g_test_add_func ("/usage/stats/empty", test_empty);
  g_test_add_func ("/usage/store/roundtrip", test_store_roundtrip);
  g_test_add_func ("/usage/store/sweep-in-transaction", test_sweep_in_transaction);
  g_test_add_func ("/usage/flows/day-boundary", test_day_boundary);
  g_test_add_func ("/usage/flows/hand-week", test_hand_week);
  g_test_add_func ("/usage/flows/restart", test_restart);
  g_test_add_func ("/usage/flows/transaction", test_transaction);
  g_test_add_func ("/usage/week/missing-days", test_missing_days);
  g_test_add_func ("/usage/week/partial-users", test_partial_users);
  g_test_add_func ("/usage/week/years", test_years);
  g_test_add_func ("/usage/radius/counters", test_radius);
  g_test_add_func ("/usage/radius/spread-dst", test_radius_spread);
  g_test_add_func ("/usage/compare-sources", test_compare_sources);
  g_test_add_func ("/usage/config-errors", test_config_errors);
  return g_test_run ();
}
