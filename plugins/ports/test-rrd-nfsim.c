/* A simulated ISP week (nfsim population, exported to a real nfcapd) run
 * through `nfsub process` with the subscriber, ports and hourly plugins:
 *   - port shares of `nfsub ports` within 0.5 points of nfsim's ground
 *     truth, for broadband, PPPoE, IPoE and mobile;
 *   - the hourly RRD files read back with `rrdtool fetch`, plus the bins
 *     still open and the late bytes (`nfsub hourly --json`), equal the
 *     ground truth's sampled IN and OUT of each service exactly (within
 *     RRD's printing precision);
 *   - in the ports RRD files the categories add up to the total, the
 *     total equals the hourly series, and the week's category shares are
 *     within 0.5 points of the truth's;
 *   - files processed again (also under another name, also more than 35
 *     days older than the newest) count once (nfsub's ledger). */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "rrdtest.h"
#include "testutil.h"

static char *
nfsub_exe (void)
{
  return g_build_filename (nfsub_test_builddir (), "src", "nfsub", NULL);
}

static char *
run_nfsub (const char *conf, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, nfsub_exe ());
  g_ptr_array_add (argv, g_strdup ("-c"));
  g_ptr_array_add (argv, g_strdup (conf));
  va_list ap;
  va_start (ap, conf);
  const char *a;
  while ((a = va_arg (ap, const char *)))
    g_ptr_array_add (argv, g_strdup (a));
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  char *out = nfsub_test_run ((const char *const *) argv->pdata, NULL, &error);
  g_assert_no_error (error);
  return out;
}

typedef struct {
  char *dir;
  char *conf;
  char *rrd;
  NfsubTestJson *truth;
  gint64 week_start;
  guint days;
} World;

static World world;

static void
world_setup (void)
{
  if (world.truth)
    return;
  g_autoptr (GError) error = NULL;
  /* 1,000 users for a week; nfcapd rotates every 60 s of arrival */
  g_autofree char *flows = nfsub_test_fixture_dir (
    "rrd-population", "-y", 60, "-u 1000 -d 7 -s 11", &error);
  g_assert_no_error (error);
  g_autofree char *sim = nfsub_test_fixture_sim_dir (flows);
  g_autofree char *truth = g_build_filename (sim, "truth.json", NULL);
  world.truth = nfsub_test_json_load (truth, &error);
  g_assert_no_error (error);
  world.week_start = (gint64) nfsub_test_json_number (world.truth,
                                                      "week_start_epoch");
  world.days = (guint) nfsub_test_json_number (world.truth, "days");

  world.dir = nfsub_test_tmpdir ("rrd-nfsim");
  world.conf = g_build_filename (world.dir, "nfsub.conf", NULL);
  world.rrd = g_build_filename (world.dir, "rrd", NULL);
  g_autofree char *text = g_strdup_printf (
    "[nfsub]\nplugins = subscriber;ports;hourly\nstate_dir = %s/state\n"
    "rrd_dir = %s\ntimezone = UTC\nactive_timeout = 300\n"
    "[subscriber]\nradius_detail = %s/radacct/*/detail-*\n"
    "kea_leases = %s/kea/leases6.csv\n"
    "kea_duid_map = %s/kea/duid-users.csv\nstatic = %s/static.csv\n"
    "rule.mobile = nas 192.0.2.101 => service=mobile access=mobile\n"
    "rule.pppoe = nas 192.0.2.1 => service=broadband access=pppoe\n",
    world.dir, world.rrd, sim, sim, sim, sim);
  g_assert_true (g_file_set_contents (world.conf, text, -1, NULL));
  g_autofree char *out = run_nfsub (world.conf, "process", "-q", flows, NULL);
}

/* Percent of `row` (label, kind) in `series` of a `nfsub ports` JSON. */
static double
ports_percent (const NfsubTestJson *root, const char *series,
               const char *label, const char *kind, int proto)
{
  const NfsubTestJson *list = nfsub_test_json_member (root, "series");
  for (guint i = 0; i < nfsub_test_json_length (list); i++)
    {
      const NfsubTestJson *s = nfsub_test_json_index (list, i, NULL);
      if (strcmp (nfsub_test_json_string (s, "name"), series) != 0)
        continue;
      const NfsubTestJson *rows = nfsub_test_json_member (s, "rows");
      for (guint j = 0; j < nfsub_test_json_length (rows); j++)
        {
          const NfsubTestJson *r = nfsub_test_json_index (rows, j, NULL);
          const NfsubTestJson *p = nfsub_test_json_member (r, "proto");
          if (strcmp (nfsub_test_json_string (r, "label"), label) == 0
              && strcmp (nfsub_test_json_string (r, "kind"), kind) == 0
              && (proto < 0 || (nfsub_test_json_type (p) == NFSUB_TEST_JSON_NUMBER
                                && (int) nfsub_test_json_get_number (p) == proto)))
            return nfsub_test_json_number (r, "percent.0");
        }
      return -1;
    }
  g_error ("no series %s", series);
}

static void
test_port_shares (void)
{
  world_setup ();
  g_autofree char *json = g_build_filename (world.dir, "ports.json", NULL);
  g_autoptr (GDateTime) ws = g_date_time_new_from_unix_utc (world.week_start);
  g_autofree char *week = g_date_time_format (ws, "%Y-%m-%d");
  /* --top 100: every port the truth names is a row */
  g_autofree char *out = run_nfsub (world.conf, "ports", "--week", week,
                                    "--top", "100", "--json", json, NULL);
  g_test_message ("%s", out);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubTestJson) root = nfsub_test_json_load (json, &error);
  g_assert_no_error (error);

  static const struct {
    const char *truth, *series;
  } groups[] = { { "broadband", "broadband-all" },
                 { "pppoe", "broadband-pppoe" },
                 { "ipoe", "broadband-ipoe" },
                 { "mobile", "mobile-all" } };
  static const struct {
    const char *key, *label, *kind;
    int proto;
  } named[] = {
    { "tcp", "TCP", "protocol", 6 },
    { "tcp<1024", "TCP (< 1024)", "group", 6 },
    { "tcp>=1024", "TCP (>= 1024)", "group", 6 },
    { "udp", "UDP", "protocol", 17 },
    { "udp<1024", "UDP (< 1024)", "group", 17 },
    { "udp>=1024", "UDP (>= 1024)", "group", 17 },
    { "esp", "ESP", "protocol", 50 },
    { "gre", "GRE", "protocol", 47 },
    { "ipencap", "IP-ENCAP", "protocol", 4 },
    { "icmp", "ICMP", "protocol", 1 },
    { "other", "other", "other", -1 },
  };
  guint compared = 0;
  for (guint g = 0; g < G_N_ELEMENTS (groups); g++)
    {
      g_autofree char *base = g_strdup_printf ("ports.%s.sampled",
                                               groups[g].truth);
      const NfsubTestJson *t = nfsub_test_json_path (world.truth, base);
      g_assert_nonnull (t);
      for (guint i = 0; i < nfsub_test_json_length (t); i++)
        {
          const char *key;
          const NfsubTestJson *v = nfsub_test_json_index (t, i, &key);
          double want = nfsub_test_json_get_number (v);
          double got = -1;
          for (guint n = 0; n < G_N_ELEMENTS (named); n++)
            if (strcmp (named[n].key, key) == 0)
              got = ports_percent (root, groups[g].series, named[n].label,
                                   named[n].kind, named[n].proto);
          if (g_str_has_prefix (key, "tcp/") || g_str_has_prefix (key, "udp/"))
            {
              got = ports_percent (root, groups[g].series, key + 4, "port",
                                   key[0] == 't' ? 6 : 17);
              if (got < 0 && want < 0.05)
                got = 0; /* a port with (almost) no bytes is no top port */
            }
          if (got < 0)
            g_error ("%s %s: no such row in nfsub ports' JSON", groups[g].series,
                     key);
          g_test_message ("%-16s %-10s nfsub %6.2f%%  truth %6.2f%%",
                          groups[g].series, key, got, want);
          if (fabs (got - want) > 0.5)
            g_error ("%s %s: %.2f%%, truth %.2f%% (more than 0.5 points)",
                     groups[g].series, key, got, want);
          compared++;
        }
    }
  g_assert_cmpuint (compared, >=, 40);
}

/* Sum of data source `ds` over every 5-minute bin of the week (and a
 * margin) of one RRD file. */
static double
rrd_week_sum (const char *file, const char *ds)
{
  g_autoptr (RrdTestFetch) f = rrdtest_fetch (
    file, "AVERAGE", 300, world.week_start - 3600,
    world.week_start + (gint64) world.days * 86400 + 3600, NULL);
  double sum = 0;
  for (guint r = 0; r < f->times->len; r++)
    {
      double v = rrdtest_fetch_value (f, g_array_index (f->times, gint64, r), ds);
      if (!isnan (v))
        sum += v * 300;
    }
  return sum;
}

/* Truth: sampled IN or OUT of every user of `service`. */
static double
truth_user_sum (const char *service, const char *access, const char *dir)
{
  const NfsubTestJson *users = nfsub_test_json_member (world.truth, "users");
  double sum = 0;
  for (guint i = 0; i < nfsub_test_json_length (users); i++)
    {
      const NfsubTestJson *u = nfsub_test_json_index (users, i, NULL);
      if (strcmp (nfsub_test_json_string (u, "service"), service) != 0)
        continue;
      if (access && strcmp (nfsub_test_json_string (u, "access"), access) != 0)
        continue;
      g_autofree char *key = g_strdup_printf ("%s_sampled", dir);
      sum += nfsub_test_json_number (u, key);
    }
  return sum;
}

static void
test_hourly_totals (void)
{
  world_setup ();
  g_autofree char *json = g_build_filename (world.dir, "hourly.json", NULL);
  g_autofree char *out = run_nfsub (world.conf, "hourly", "--json", json, NULL);
  g_test_message ("%s", out);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubTestJson) state = nfsub_test_json_load (json, &error);
  g_assert_no_error (error);
  const NfsubTestJson *open = nfsub_test_json_member (state, "open");

  static const struct {
    const char *series, *service, *access;
  } series[] = { { "broadband-all", "broadband", NULL },
                 { "broadband-pppoe", "broadband", "pppoe" },
                 { "broadband-ipoe", "broadband", "ipoe" },
                 { "mobile-all", "mobile", NULL } };
  for (guint s = 0; s < G_N_ELEMENTS (series); s++)
    for (int d = 0; d < 2; d++)
      {
        const char *dir = d ? "out" : "in";
        g_autofree char *file = g_strdup_printf ("%s/hourly/%s.rrd", world.rrd,
                                                 series[s].series);
        double in_rrd = rrd_week_sum (file, dir);
        double pending = 0;
        for (guint i = 0; i < nfsub_test_json_length (open); i++)
          {
            g_autofree char *p = g_strdup_printf ("%u.series.%s.%s", i,
                                                  series[s].series, dir);
            pending += nfsub_test_json_number (open, p);
          }
        g_autofree char *lp = g_strdup_printf ("late_total.%s.%s",
                                               series[s].series, dir);
        double late = nfsub_test_json_number (state, lp);
        double want = truth_user_sum (series[s].service, series[s].access, dir);
        g_test_message ("%s %s: rrd %.0f + open %.0f + late %.0f = %.0f, "
                        "truth %.0f", series[s].series, dir, in_rrd, pending,
                        late, in_rrd + pending + late, want);
        g_assert_cmpfloat (want, >, 0);
        g_assert_cmpfloat_with_epsilon (in_rrd + pending + late, want,
                                        1e-7 * want + 10);
      }

  /* The hourly RRA against the truth's hourly bytes: the truth bins a
   * record by its start, nfsub spreads it over its duration (at most the
   * active timeout, 300 s), so up to to the hour h the two cumulative sums
   * differ at most by the bytes of records crossing h: under 300 s of the
   * busiest traffic, bounded here by twice 300/3600 of the busiest hour. */
  g_autofree char *file = g_strdup_printf ("%s/hourly/broadband-all.rrd",
                                           world.rrd);
  g_autoptr (RrdTestFetch) f = rrdtest_fetch (
    file, "AVERAGE", 3600, world.week_start,
    world.week_start + (gint64) world.days * 86400, NULL);
  for (int d = 0; d < 2; d++)
    {
      const char *dir = d ? "out" : "in";
      g_autofree char *tp = g_strdup_printf ("hourly.broadband.%s_sampled", dir);
      const NfsubTestJson *hours = nfsub_test_json_path (world.truth, tp);
      guint n = nfsub_test_json_length (hours);
      g_assert_cmpuint (n, ==, 24 * world.days);
      double peak = 0;
      for (guint h = 0; h < n; h++)
        peak = MAX (peak, nfsub_test_json_get_number (nfsub_test_json_index (hours, h, NULL)));
      double cum_rrd = 0, cum_truth = 0, worst = 0;
      /* the last hour holds the bins still open */
      for (guint h = 0; h + 1 < n; h++)
        {
          double got = rrdtest_fetch_value (f, world.week_start + (gint64) (h + 1) * 3600,
                                            dir) * 3600;
          g_assert_false (isnan (got));
          cum_rrd += got;
          cum_truth += nfsub_test_json_get_number (nfsub_test_json_index (hours, h, NULL));
          worst = MAX (worst, fabs (cum_rrd - cum_truth));
          if (fabs (cum_rrd - cum_truth) > 2 * peak * 300 / 3600)
            g_error ("%s up to hour %u: rrd %.0f, truth %.0f: more apart than "
                     "records crossing the hour can be", dir, h, cum_rrd,
                     cum_truth);
        }
      g_test_message ("hourly %s: cumulative sums at most %.2f%% of the busiest "
                      "hour apart", dir, 100 * worst / peak);
    }
}

static void
test_port_categories (void)
{
  world_setup ();
  static const char *const cats[] = { "tcp80", "tcp443", "tcpdyn", "udp443",
                                      "other" };
  /* per bin: categories add up to the total, the total is the hourly
   * series */
  g_autofree char *pfile = g_strdup_printf ("%s/ports/broadband-all.rrd",
                                            world.rrd);
  g_autofree char *hfile = g_strdup_printf ("%s/hourly/broadband-all.rrd",
                                            world.rrd);
  gint64 lo = world.week_start, hi = lo + (gint64) world.days * 86400;
  g_autoptr (RrdTestFetch) p = rrdtest_fetch (pfile, "AVERAGE", 300, lo, hi, NULL);
  g_autoptr (RrdTestFetch) h = rrdtest_fetch (hfile, "AVERAGE", 300, lo, hi, NULL);
  guint bins = 0;
  for (guint r = 0; r < p->times->len; r++)
    {
      gint64 t = g_array_index (p->times, gint64, r);
      for (int d = 0; d < 2; d++)
        {
          const char *dir = d ? "out" : "in";
          g_autofree char *tds = g_strdup_printf ("%s_total", dir);
          double total = rrdtest_fetch_value (p, t, tds);
          if (isnan (total))
            continue;
          double sum = 0;
          for (guint c = 0; c < G_N_ELEMENTS (cats); c++)
            {
              g_autofree char *ds = g_strdup_printf ("%s_%s", dir, cats[c]);
              sum += rrdtest_fetch_value (p, t, ds);
            }
          g_assert_cmpfloat_with_epsilon (sum * 300, total * 300,
                                          1e-8 * total * 300 + 1);
          double hourly = rrdtest_fetch_value (h, t, dir);
          g_assert_cmpfloat_with_epsilon (total * 300, hourly * 300,
                                          1e-8 * total * 300 + 1);
          bins++;
        }
    }
  g_assert_cmpuint (bins, >=, 2 * 288 * (world.days - 1));

  /* the week's shares of all traffic (subscriber ends and unattributed)
   * against the truth's Figure 7/8 categories */
  static const struct {
    const char *truth;
    guint cat;
  } map[] = { { "tcp/80", 0 }, { "tcp/443", 1 }, { "tcp_dynamic", 2 },
              { "udp/443", 3 } };
  g_autofree char *all = g_strdup_printf ("%s/ports/all-all.rrd", world.rrd);
  g_autofree char *un = g_strdup_printf ("%s/ports/unattributed.rrd", world.rrd);
  double total = rrd_week_sum (all, "in_total") + rrd_week_sum (all, "out_total")
                 + rrd_week_sum (un, "total");
  const NfsubTestJson *tc = nfsub_test_json_path (world.truth,
                                                  "hourly.all.categories_sampled");
  double ttotal = 0;
  const NfsubTestJson *tt = nfsub_test_json_member (tc, "total");
  for (guint i = 0; i < nfsub_test_json_length (tt); i++)
    ttotal += nfsub_test_json_get_number (nfsub_test_json_index (tt, i, NULL));
  for (guint m = 0; m < G_N_ELEMENTS (map); m++)
    {
      const char *cat = cats[map[m].cat];
      g_autofree char *ids = g_strdup_printf ("in_%s", cat);
      g_autofree char *ods = g_strdup_printf ("out_%s", cat);
      double v = rrd_week_sum (all, ids) + rrd_week_sum (all, ods)
                 + rrd_week_sum (un, cat);
      const NfsubTestJson *arr = nfsub_test_json_member (tc, map[m].truth);
      double tv = 0;
      for (guint i = 0; i < nfsub_test_json_length (arr); i++)
        tv += nfsub_test_json_get_number (nfsub_test_json_index (arr, i, NULL));
      double share = 100 * v / total, tshare = 100 * tv / ttotal;
      g_test_message ("%-12s nfsub %6.2f%%  truth %6.2f%%", map[m].truth, share,
                      tshare);
      g_assert_cmpfloat (fabs (share - tshare), <=, 0.5);
    }
}

/* Sum of data source `ds` of `file` over [lo, hi) in 5-minute points. */
static double
rrd_sum (const char *file, const char *ds, gint64 lo, gint64 hi)
{
  g_autoptr (RrdTestFetch) f = rrdtest_fetch (file, "AVERAGE", 300, lo, hi,
                                              NULL);
  double sum = 0;
  for (guint r = 0; r < f->times->len; r++)
    {
      double v = rrdtest_fetch_value (f, g_array_index (f->times, gint64, r),
                                      ds);
      if (!isnan (v))
        sum += v * 300;
    }
  return sum;
}

/* `total_bytes` of the unattributed series and the files of the asked
 * week (the last column) of `nfsub ports --week`. */
static void
ports_week_total (const char *conf, const char *dir, const char *week,
                  double *bytes, double *files)
{
  g_autofree char *json = g_build_filename (dir, "week.json", NULL);
  g_autofree char *out = run_nfsub (conf, "ports", "--week", week, "--json",
                                    json, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubTestJson) root = nfsub_test_json_load (json, &error);
  g_assert_no_error (error);
  const NfsubTestJson *cols = nfsub_test_json_member (root, "columns");
  guint last = nfsub_test_json_length (cols) - 1;
  g_autofree char *wp = g_strdup_printf ("%u.week", last);
  g_assert_cmpstr (nfsub_test_json_string (cols, wp), ==, week);
  g_autofree char *fp = g_strdup_printf ("%u.files", last);
  *files = nfsub_test_json_number (cols, fp);
  const NfsubTestJson *series = nfsub_test_json_member (root, "series");
  for (guint i = 0; i < nfsub_test_json_length (series); i++)
    {
      const NfsubTestJson *sr = nfsub_test_json_index (series, i, NULL);
      if (strcmp (nfsub_test_json_string (sr, "name"), "unattributed") != 0)
        continue;
      g_autofree char *tp = g_strdup_printf ("total_bytes.%u", last);
      *bytes = nfsub_test_json_number (sr, tp);
      return;
    }
  g_error ("no unattributed series in nfsub ports' JSON");
}

/* The hourly plugin's unattributed bytes: RRD points in [lo, hi), open
 * bins and late bytes (none: nothing came late) add up to `want`. */
static void
hourly_unattributed (const char *conf, const char *dir, const char *file,
                     gint64 lo, gint64 hi, double want)
{
  g_autofree char *json = g_build_filename (dir, "hourly.json", NULL);
  g_free (run_nfsub (conf, "hourly", "--json", json, NULL));
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubTestJson) state = nfsub_test_json_load (json, &error);
  g_assert_no_error (error);
  const NfsubTestJson *open = nfsub_test_json_member (state, "open");
  double pending = 0;
  for (guint i = 0; i < nfsub_test_json_length (open); i++)
    {
      g_autofree char *p = g_strdup_printf ("%u.series.unattributed", i);
      pending += nfsub_test_json_number (open, p);
    }
  double late = nfsub_test_json_number (state, "late_total.unattributed");
  double in_rrd = rrd_sum (file, "bytes", lo, hi);
  g_test_message ("hourly unattributed: rrd %.0f + open %.0f + late %.0f, "
                  "nfdump %.0f", in_rrd, pending, late, want);
  g_assert_cmpfloat (late, ==, 0);
  g_assert_cmpfloat_with_epsilon (in_rrd + pending, want, 1e-7 * want + 10);
}

/* Duplicates are nfsub's ledger's job: a file processed again, a copy of
 * it under another name, and a file more than 35 days older than the
 * newest one seen processed again (the plugins' own ledgers forgot such a
 * file, and its bytes came back as late bytes) -- through `nfsub process`,
 * one run per file as under nfcapd -x.  Every byte of the two distinct
 * files (nfdump's totals) is in the ports week tables and in the hourly
 * series (RRD + open bins + late) once, and nothing is late. */
static void
test_duplicates (void)
{
  g_autoptr (GError) error = NULL;
  /* random flows (no subscriber: all unattributed), half an hour each,
   * two months apart */
  g_autofree char *june = nfsub_test_fixture (
    "rrd-dup-june", "-y", "-n 20000 -s 31 --start=2024-06-03 --duration 1800",
    &error);
  g_assert_no_error (error);
  g_autofree char *august = nfsub_test_fixture (
    "rrd-dup-august", "-y",
    "-n 20000 -s 32 --start=2024-08-05 --duration 1800", &error);
  g_assert_no_error (error);
  NfsubTestStat sj, sa;
  g_assert_true (nfsub_test_nfdump_stat (june, &sj, &error));
  g_assert_true (nfsub_test_nfdump_stat (august, &sa, &error));
  g_assert_no_error (error);

  g_autofree char *dir = nfsub_test_tmpdir ("rrd-dup");
  g_autofree char *conf = g_build_filename (dir, "nfsub.conf", NULL);
  g_autofree char *rrd = g_build_filename (dir, "rrd", NULL);
  g_autofree char *text = g_strdup_printf (
    "[nfsub]\nplugins = ports;hourly\nstate_dir = %s/state\nrrd_dir = %s\n"
    "timezone = UTC\nactive_timeout = 300\n", dir, rrd);
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  /* the June file under another name, in another directory */
  g_autofree char *copies = g_build_filename (dir, "copies", NULL);
  g_assert_cmpint (g_mkdir (copies, 0755), ==, 0);
  g_autofree char *copy = g_build_filename (copies, "nfcapd.202406030001",
                                            NULL);
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (june, &data, &len, NULL));
  g_assert_true (g_file_set_contents (copy, data, (gssize) len, NULL));

  g_autofree char *hfile = g_build_filename (rrd, "hourly", "unattributed.rrd",
                                             NULL);
  g_autofree char *pfile = g_build_filename (rrd, "ports", "unattributed.rrd",
                                             NULL);
  /* the June file alone: every byte in the RRD or in an open bin */
  g_free (run_nfsub (conf, "process", "-q", june, NULL));
  hourly_unattributed (conf, dir, hfile, (gint64) sj.first - 3600,
                       (gint64) sj.last + 3600, (double) sj.bytes);

  /* August (63 days on), then June again, its copy, August again */
  const char *const order[] = { august, june, copy, august };
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    g_free (run_nfsub (conf, "process", "-q", order[i], NULL));

  double bytes, files;
  ports_week_total (conf, dir, "2024-06-03", &bytes, &files);
  g_assert_cmpfloat (bytes, ==, (double) sj.bytes);
  g_assert_cmpfloat (files, ==, 1);
  ports_week_total (conf, dir, "2024-08-05", &bytes, &files);
  g_assert_cmpfloat (bytes, ==, (double) sa.bytes);
  g_assert_cmpfloat (files, ==, 1);
  /* (5-minute points last 35 days: June's are in the hourly RRA now) */
  gint64 lo = (gint64) sa.first - 3600, hi = (gint64) sa.last + 3600;
  hourly_unattributed (conf, dir, hfile, lo, hi, (double) sa.bytes);
  g_assert_cmpfloat (rrd_sum (hfile, "late", lo, hi), ==, 0);
  g_assert_cmpfloat (rrd_sum (pfile, "late", lo, hi), ==, 0);
  if (!g_getenv ("RRDTEST_KEEP"))
    nfsub_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rrd-nfsim/port-shares", test_port_shares);
  g_test_add_func ("/rrd-nfsim/hourly-totals", test_hourly_totals);
  g_test_add_func ("/rrd-nfsim/port-categories", test_port_categories);
  g_test_add_func ("/rrd-nfsim/duplicates", test_duplicates);
  int rc = g_test_run ();
  if (world.dir && !g_getenv ("RRDTEST_KEEP"))
    nfsub_test_rm_rf (world.dir);
  g_clear_pointer (&world.truth, nfsub_test_json_free);
  return rc;
}
