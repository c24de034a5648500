/* report: `nfsub report` end to end.
 *
 * Hand-made inputs whose every number is known in advance:
 *   - RRD files in the hourly plugin's layout (RRD_DIR/hourly/SERIES.rrd,
 *     DS in/out, bytes/s), written with the real rrdtool: each series grows
 *     by a fixed factor a year, month by month, with a known hourly shape
 *     on weekdays and a flat one at weekends, from May 2019 to June 2024;
 *   - `nfsub usage --json` / `nfsub ports --json` outputs per week with the
 *     published numbers of docs/analyses.md (schemas of their READMEs);
 * and the real pipeline (nfsim -> nfcapd -> nfsub process with the
 * subscriber, usage, ports and hourly plugins -> nfsub report) on a small
 * simulated week.
 *
 * The page is opened in a real browser (headless Chromium): every figure
 * must be a decoded image and every table cell must read what report.json
 * says; the expected numbers come from the inputs above, never from the
 * report's own code.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdarg.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "tests/testutil.h"

/* ---- the hand-made world ---- */

#define T_MAY_2019 1556668800   /* 2019-05-01 00:00 UTC: data starts */
#define T_WEEK_2024 1717372800  /* Mon 2024-06-03 */
#define T_WEEK_2023 1685318400  /* Mon 2023-05-29 */
#define T_WEEK_2019 1559520000  /* Mon 2019-06-03 */
#define T_DATA_END (T_WEEK_2024 + 7 * 86400)

typedef struct {
  const char *file;
  double base[2];    /* bytes/s in May 2019, IN and OUT */
  double growth[2];  /* factor per year */
} SeriesModel;

/* broadband-all is the sum of PPPoE and IPoE, as the hourly plugin keeps */
static const SeriesModel models[] = {
  { "broadband-pppoe", { 4.0e8, 3.0e9 }, { 1.10, 1.08 } },
  { "broadband-ipoe", { 1.0e8, 1.0e9 }, { 1.25, 1.30 } },
  { "mobile-all", { 2.0e7, 2.0e8 }, { 1.29, 1.20 } },
};

/* Weekday shapes (mean 1 over the day): OUT peaks at 21h, IN at 14h with a
 * dip at 12h.  Weekends are flat, so a profile that let them in would not
 * reach these peaks. */
static const double shape_out[24] = {
  0.80, 0.55, 0.40, 0.30, 0.25, 0.25, 0.35, 0.55, 0.75, 0.85, 0.90, 0.95,
  1.00, 1.00, 1.00, 1.05, 1.10, 1.20, 1.35, 1.55, 1.75, 1.95, 1.80, 1.35,
};
static const double shape_in[24] = {
  0.70, 0.55, 0.45, 0.40, 0.40, 0.45, 0.60, 0.80, 1.00, 1.15, 1.30, 1.40,
  1.05, 1.30, 1.60, 1.50, 1.40, 1.30, 1.25, 1.25, 1.20, 1.10, 1.00, 0.85,
};

static double
shape_mean (const double *s)
{
  double m = 0;
  for (int h = 0; h < 24; h++)
    m += s[h];
  return m / 24;
}

/* months since May 2019 of a UTC time */
static int
month_index (gint64 t)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (t);
  return (g_date_time_get_year (dt) - 2019) * 12 + g_date_time_get_month (dt) - 5;
}

/* Rate (bytes/s) of the hour [t, t+3600) of a model series. */
static double
model_rate (const SeriesModel *m, int dir, gint64 t)
{
  double level = m->base[dir] * pow (m->growth[dir], month_index (t) / 12.0);
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (t);
  int dow = g_date_time_get_day_of_week (dt), hour = g_date_time_get_hour (dt);
  if (dow >= 6)
    return level;
  const double *shape = dir == 0 ? shape_in : shape_out;
  return level * shape[hour] / shape_mean (shape);
}

/* Monthly mean of a model: the shapes have mean 1 every day. */
static double model_month_mean (const char *file, int dir, int month);

/* Bytes/s summed over the 7 days of a week (a day's mean is its month's). */
static double
model_week_sum (const char *file, int dir, gint64 start)
{
  double s = 0;
  for (int d = 0; d < 7; d++)
    s += model_month_mean (file, dir, month_index (start + d * 86400));
  return s;
}

static double
model_month_mean (const char *file, int dir, int month)
{
  double sum = 0;
  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    if (strcmp (file, models[i].file) == 0
        || (strcmp (file, "broadband-all") == 0
            && g_str_has_prefix (models[i].file, "broadband-")))
      sum += models[i].base[dir] * pow (models[i].growth[dir], month / 12.0);
  return sum;
}

static const char *
rrdtool (void)
{
  const char *e = g_getenv ("RRDTOOL");
  return e && *e ? e : "rrdtool";
}

static const char *
gnuplot (void)
{
  const char *e = g_getenv ("GNUPLOT");
  return e && *e ? e : "gnuplot";
}

static char *
nfsub_exe (void)
{
  return g_build_filename (nfsub_test_builddir (), "src", "nfsub", NULL);
}

static void
run_ok (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = nfsub_test_run (argv, NULL, &error);
  g_assert_no_error (error);
}

/* An hourly-plugin RRD: step 3600 GAUGE in bytes/s, hourly and daily
 * AVERAGE.  The report asks rrdtool for step 3600 and 86400 and never
 * depends on the file's own step. */
static void
write_series_rrd (const char *dir, const char *name, gint64 from, gint64 to,
                  double (*rate) (gconstpointer, int, gint64), gconstpointer data,
                  const char *const *ds_names, guint n_ds)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *start = g_strdup_printf ("%" G_GINT64_FORMAT, from - 1);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (rrdtool ()));
  g_ptr_array_add (argv, g_strdup ("create"));
  g_ptr_array_add (argv, g_strdup (path));
  g_ptr_array_add (argv, g_strdup ("--start"));
  g_ptr_array_add (argv, g_strdup (start));
  g_ptr_array_add (argv, g_strdup ("--step"));
  g_ptr_array_add (argv, g_strdup ("3600"));
  for (guint d = 0; d < n_ds; d++)
    g_ptr_array_add (argv, g_strdup_printf ("DS:%s:GAUGE:7200:0:U", ds_names[d]));
  g_ptr_array_add (argv, g_strdup ("RRA:AVERAGE:0.5:1:50000"));
  g_ptr_array_add (argv, g_strdup ("RRA:AVERAGE:0.5:24:3000"));
  g_ptr_array_add (argv, NULL);
  run_ok ((const char *const *) argv->pdata);

  /* updates in batches; a value at t covers the hour ending at t */
  g_autoptr (GPtrArray) upd = g_ptr_array_new_with_free_func (g_free);
  for (gint64 t = from; t < to; t += 3600)
    {
      GString *s = g_string_new (NULL);
      g_string_append_printf (s, "%" G_GINT64_FORMAT, t + 3600);
      for (guint d = 0; d < n_ds; d++)
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];
          g_string_append_printf (s, ":%s", g_ascii_formatd (buf, sizeof buf, "%.6f",
                                                             rate (data, (int) d, t)));
        }
      g_ptr_array_add (upd, g_string_free (s, FALSE));
      if (upd->len == 4000 || t + 3600 >= to)
        {
          g_ptr_array_insert (upd, 0, g_strdup (path));
          g_ptr_array_insert (upd, 0, g_strdup ("update"));
          g_ptr_array_insert (upd, 0, g_strdup (rrdtool ()));
          g_ptr_array_add (upd, NULL);
          run_ok ((const char *const *) upd->pdata);
          g_ptr_array_set_size (upd, 0);
        }
    }
}

static double
hourly_rate (gconstpointer data, int ds, gint64 t)
{
  const char *file = data;
  int dir = ds;
  double sum = 0;
  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    if (strcmp (file, models[i].file) == 0
        || (strcmp (file, "broadband-all") == 0
            && g_str_has_prefix (models[i].file, "broadband-")))
      sum += model_rate (&models[i], dir, t);
  return sum;
}

/* Port categories: fixed fractions of the service's total, IN and OUT. */
/* the ports plugin's layout: RRD_DIR/ports/SERIES.rrd, in_CAT / out_CAT */
static const char *const port_ds[] = {
  "in_total", "out_total", "in_tcp80", "out_tcp80", "in_tcp443", "out_tcp443",
  "in_tcpdyn", "out_tcpdyn", "in_udp443", "out_udp443", "in_other", "out_other",
};
static const double port_fraction[] = { 1.0, 0.030, 0.538, 0.064, 0.21, 0.158 };

static double
ports_rate (gconstpointer data, int ds, gint64 t)
{
  const char *file = data;
  return hourly_rate (file, ds % 2, t) * port_fraction[ds / 2];
}

/* ---- usage / ports JSON of a week (published numbers) ---- */

typedef struct {
  const char *date;
  guint users;
  double in_mean, in_median, in_mode, out_mean, out_median, out_mode; /* MB */
  double top10_in, top1_in, top10_out, top1_out;                     /* % */
} UsageModel;

static const UsageModel broadband_usage[] = {
  { "2024-06-03", 20000, 834, 178, 224, 5743, 2372, 5620, 75, 46, 50, 15 },
  { "2023-05-29", 19000, 804, 166, 224, 5456, 2369, 5012, 74, 45, 49, 14 },
  { "2019-06-03", 15000, 479, 75, 89, 2986, 1187, 1995, 70, 40, 47, 13 },
};
static const UsageModel mobile_usage[] = {
  { "2024-06-03", 8000, 16, 12, 14, 150, 95, 112, 45, 13, 48, 12 },
  { "2023-05-29", 7600, 14, 10, 11, 129, 80, 100, 44, 12, 47, 11 },
  { "2019-06-03", 6000, 9, 6, 7, 80, 50, 63, 42, 11, 45, 10 },
};

/* log-normal density per decade around the mode */
static void
append_density (GString *s, double mode_mb, double sigma)
{
  double mu = log10 (mode_mb * 1e6);
  g_string_append (s, "[");
  for (int i = 0; i <= 140; i++)
    {
      double x = 4.0 + 0.05 * i;
      double v = exp (-0.5 * pow ((x - mu) / sigma, 2)) / (sigma * sqrt (2 * G_PI));
      g_string_append_printf (s, "%s%.6f", i ? "," : "", v);
    }
  g_string_append (s, "]");
}

static void
append_usage_service (GString *s, const UsageModel *m, guint32 seed)
{
  g_string_append_printf (s, "{\"users\": %u,", m->users);
  if (strcmp (m->date, "2024-06-03") == 0)
    g_string_append (s, "\"years\": [{\"year\": 2019, \"week\": \"2019-06-03\", \"users\": 15000},"
                        " {\"year\": 2022, \"week\": \"2022-05-30\", \"users\": 0},"
                        " {\"year\": 2023, \"week\": \"2023-05-29\", \"users\": 19000},"
                        " {\"year\": 2024, \"week\": \"2024-06-03\", \"users\": 20000}],");
  for (int d = 0; d < 2; d++)
    {
      double mean = d ? m->out_mean : m->in_mean, median = d ? m->out_median : m->in_median,
             mode = d ? m->out_mode : m->in_mode;
      double t10 = d ? m->top10_out : m->top10_in, t1 = d ? m->top1_out : m->top1_in;
      g_string_append_printf (s, "\"%s\": {\"mean\": %.0f, \"median\": %.0f, "
                                 "\"mode\": %.0f, \"top10_share\": %.4f, "
                                 "\"top1_share\": %.4f, \"unreliable_below\": %.0f, "
                                 "\"density\": ",
                              d ? "out" : "in", mean * 1e6, median * 1e6, mode * 1e6,
                              t10 / 100, t1 / 100, d ? 2e6 : 1e6);
      append_density (s, mode, 0.75);
      g_string_append (s, "},");
    }
  /* 5,000 users, IN and OUT correlated around the medians */
  GRand *rng = g_rand_new_with_seed (seed);
  GString *in = g_string_new ("["), *out = g_string_new ("[");
  for (int i = 0; i < 5000; i++)
    {
      double z1 = g_rand_double (rng) + g_rand_double (rng) + g_rand_double (rng) - 1.5;
      double z2 = g_rand_double (rng) + g_rand_double (rng) + g_rand_double (rng) - 1.5;
      double o = log10 (m->out_median * 1e6) + 1.6 * z1;
      double n = o - 1.1 + 1.2 * z2;
      g_string_append_printf (in, "%s%.0f", i ? "," : "", pow (10, n));
      g_string_append_printf (out, "%s%.0f", i ? "," : "", pow (10, o));
    }
  g_rand_free (rng);
  g_string_append_printf (s, "\"sample\": {\"in\": %s], \"out\": %s]}}", in->str, out->str);
  g_string_free (in, TRUE);
  g_string_free (out, TRUE);
}

typedef enum { USAGE_BOTH, USAGE_EMPTY, USAGE_NO_MOBILE } UsageContent;

static char *
write_usage_json (const char *dir, guint week, UsageContent content)
{
  static const char *const suffix[] = { "", "-empty", "-nomobile" };
  g_autoptr (GString) s = g_string_new (NULL);
  g_string_append_printf (s, "{\"schema\": \"nfsub-usage/1\", \"week\": \"%s\", "
                             "\"services\": {\"broadband\": ",
                          broadband_usage[week].date);
  if (content == USAGE_EMPTY)
    g_string_append (s, "{\"users\": 0}, \"mobile\": {\"users\": 0}}}");
  else
    {
      append_usage_service (s, &broadband_usage[week], 7 + week);
      g_string_append (s, ", \"mobile\": ");
      if (content == USAGE_NO_MOBILE)
        g_string_append (s, "{\"users\": 0}");
      else
        append_usage_service (s, &mobile_usage[week], 70 + week);
      g_string_append (s, "}");
      g_string_append (s, "}");
    }
  g_autofree char *name = g_strdup_printf ("usage-%s%s.json", broadband_usage[week].date,
                                           suffix[content]);
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, s->str, -1, NULL));
  return path;
}

typedef struct {
  const char *label, *kind;
  int level, proto, port;   /* -1: null */
  const char *group;        /* NULL: null */
  double share[3];          /* percent: 2024, 2023, 2019 */
} PortsModelRow;

/* rows as `nfsub ports --json` writes them (plugins/ports/README.md) */
static const PortsModelRow broadband_ports[] = {
  { "TCP", "protocol", 0, 6, -1, NULL, { 67.5, 70.1, 80.2 } },
  { "TCP (< 1024)", "group", 1, 6, -1, "low", { 61.1, 63.0, 66.0 } },
  { "443", "port", 2, 6, 443, "low", { 53.8, 54.0, 45.1 } },
  { "80", "port", 2, 6, 80, "low", { 6.5, 7.9, 19.3 } },
  { "TCP (>= 1024)", "group", 1, 6, -1, "high", { 6.4, 7.1, 14.2 } },
  { "31000", "port", 2, 6, 31000, "high", { 1.2, 1.4, 2.0 } },
  { "UDP", "protocol", 0, 17, -1, NULL, { 28.2, 25.7, 15.1 } },
  { "UDP (< 1024)", "group", 1, 17, -1, "low", { 21.4, 18.6, 5.9 } },
  { "443", "port", 2, 17, 443, "low", { 21.0, 18.2, 5.5 } },
  { "UDP (>= 1024)", "group", 1, 17, -1, "high", { 6.8, 7.1, 9.2 } },
  { "4500", "port", 2, 17, 4500, "high", { 0.9, 1.0, 0.8 } },
  { "ESP", "protocol", 0, 50, -1, NULL, { 4.0, 3.9, 4.3 } },
  { "GRE", "protocol", 0, 47, -1, NULL, { 0.2, 0.2, 0.3 } },
  { "IP-ENCAP", "protocol", 0, 4, -1, NULL, { 0.1, 0.1, 0.1 } },
  { "ICMP", "protocol", 0, 1, -1, NULL, { 0.0, 0.0, 0.0 } },
  { "other", "other", 0, -1, -1, NULL, { 0.0, 0.0, 0.0 } },
};
static const PortsModelRow mobile_ports[] = {
  { "TCP", "protocol", 0, 6, -1, NULL, { 71.0, 72.5, 80.0 } },
  { "TCP (< 1024)", "group", 1, 6, -1, "low", { 44.0, 46.1, 46.0 } },
  { "443", "port", 2, 6, 443, "low", { 42.2, 44.0, 40.0 } },
  { "80", "port", 2, 6, 80, "low", { 1.8, 2.1, 6.0 } },
  { "UDP", "protocol", 0, 17, -1, NULL, { 27.5, 25.9, 18.0 } },
  { "UDP (< 1024)", "group", 1, 17, -1, "low", { 22.7, 20.2, 8.3 } },
  { "443", "port", 2, 17, 443, "low", { 22.5, 20.0, 8.0 } },
  { "53", "port", 2, 17, 53, "low", { 0.2, 0.2, 0.3 } },
  { "UDP (>= 1024)", "group", 1, 17, -1, "high", { 4.8, 5.7, 9.7 } },
  { "4500", "port", 2, 17, 4500, "high", { 1.8, 1.9, 2.0 } },
  { "51820", "port", 2, 17, 51820, "high", { 0.3, 0.2, 0.0 } },
  { "ESP", "protocol", 0, 50, -1, NULL, { 1.4, 1.5, 1.9 } },
};

static void
append_ports_series (GString *s, const char *name, const PortsModelRow *rows,
                     guint n, guint week, double total)
{
  g_string_append_printf (s, "{\"name\": \"%s\", \"service\": \"%.*s\", "
                             "\"access\": \"all\", \"total_bytes\": [%.0f], \"rows\": [",
                          name, (int) (strchr (name, '-') - name), name, total);
  for (guint i = 0; i < n; i++)
    {
      const PortsModelRow *r = &rows[i];
      g_string_append_printf (s, "%s{\"label\": \"%s\", \"kind\": \"%s\", \"level\": %d, ",
                              i ? ", " : "", r->label, r->kind, r->level);
      if (r->proto >= 0)
        g_string_append_printf (s, "\"proto\": %d, ", r->proto);
      else
        g_string_append (s, "\"proto\": null, ");
      if (r->port >= 0)
        g_string_append_printf (s, "\"port\": %d, \"fixed\": true, ", r->port);
      else
        g_string_append (s, "\"port\": null, \"fixed\": null, ");
      if (r->group)
        g_string_append_printf (s, "\"group\": \"%s\", ", r->group);
      else
        g_string_append (s, "\"group\": null, ");
      g_string_append_printf (s, "\"bytes\": [%.0f], \"percent\": [%.1f]}",
                              total ? total * r->share[week] / 100 : 0,
                              r->share[week]);
    }
  g_string_append (s, "]}");
}

static char *
write_ports_json (const char *dir, guint week, gboolean empty)
{
  g_autoptr (GString) s = g_string_new (NULL);
  const char *date = broadband_usage[week].date;
  g_autofree char *iso = g_strdup_printf ("%sT00:00:00Z", date);
  g_autoptr (GDateTime) d0 = g_date_time_new_from_iso8601 (iso, NULL);
  g_string_append_printf (s, "{\"generator\": \"nfsub ports\", \"version\": 1, "
                             "\"timezone\": \"UTC\", \"week\": \"%s\", "
                             "\"columns\": [{\"week\": \"%s\", \"start_epoch\": %"
                             G_GINT64_FORMAT ", \"closed\": true, \"files\": 2016}], "
                             "\"series\": [",
                          date, date, g_date_time_to_unix (d0));
  double total = empty ? 0 : 1.5e15;
  append_ports_series (s, "broadband-all", broadband_ports, empty ? 0 : G_N_ELEMENTS (broadband_ports),
                       week, total);
  g_string_append (s, ", ");
  append_ports_series (s, "mobile-all", mobile_ports, empty ? 0 : G_N_ELEMENTS (mobile_ports),
                       week, total / 10);
  g_string_append (s, "]}");
  g_autofree char *name = g_strdup_printf ("ports-%s%s.json", date, empty ? "-empty" : "");
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, s->str, -1, NULL));
  return path;
}

/* ---- the shared hand-made fixture ---- */

typedef struct {
  char *dir;
  char *conf;
  char *rrd_dir;
  char *usage[3], *ports[3];
  char *usage_empty, *ports_empty, *usage_no_mobile;
  gboolean full_report_ok;
} World;

static World world;

static void
world_build (void)
{
  world.dir = nfsub_test_tmpdir ("report");
  world.rrd_dir = g_build_filename (world.dir, "rrd", NULL);
  g_autofree char *hourly = g_build_filename (world.rrd_dir, "hourly", NULL);
  g_autofree char *ports = g_build_filename (world.rrd_dir, "ports", NULL);
  g_mkdir_with_parents (hourly, 0755);
  g_mkdir_with_parents (ports, 0755);
  static const char *const io[] = { "in", "out" };
  const char *files[] = { "broadband-pppoe", "broadband-ipoe", "broadband-all",
                          "mobile-all" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *name = g_strdup_printf ("%s.rrd", files[i]);
      write_series_rrd (hourly, name, T_MAY_2019, T_DATA_END, hourly_rate, files[i],
                        io, 2);
    }
  /* port categories only around the analysed weeks */
  const char *pfiles[] = { "broadband-all", "mobile-all" };
  for (guint i = 0; i < G_N_ELEMENTS (pfiles); i++)
    {
      g_autofree char *name = g_strdup_printf ("%s.rrd", pfiles[i]);
      write_series_rrd (ports, name, T_WEEK_2024 - 86400, T_DATA_END, ports_rate,
                        pfiles[i], port_ds, G_N_ELEMENTS (port_ds));
    }
  for (guint w = 0; w < 3; w++)
    {
      world.usage[w] = write_usage_json (world.dir, w, USAGE_BOTH);
      world.ports[w] = write_ports_json (world.dir, w, FALSE);
    }
  world.usage_empty = write_usage_json (world.dir, 0, USAGE_EMPTY);
  world.usage_no_mobile = write_usage_json (world.dir, 0, USAGE_NO_MOBILE);
  world.ports_empty = write_ports_json (world.dir, 0, TRUE);
  world.conf = g_build_filename (world.dir, "nfsub.conf", NULL);
  g_autofree char *state = g_build_filename (world.dir, "state", NULL);
  g_autofree char *conf = g_strdup_printf (
    "[nfsub]\nstate_dir = %s\nrrd_dir = %s\ntimezone = UTC\n\n"
    "[report]\ntitle = Broadband Traffic Report (test)\nbase_month = 2020-01\n",
    state, world.rrd_dir);
  g_assert_true (g_file_set_contents (world.conf, conf, -1, NULL));
}

/* ---- running nfsub report ---- */

typedef struct {
  int status;
  char *out, *err;
} RunResult;

static void
run_result_clear (RunResult *r)
{
  g_free (r->out);
  g_free (r->err);
}

static RunResult
run_argv (GPtrArray *argv)
{
  RunResult r = { 0 };
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  int wait = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH,
                               NULL, NULL, &r.out, &r.err, &wait, &error));
  g_assert_no_error (error);
  r.status = WIFEXITED (wait) ? WEXITSTATUS (wait) : 128;
  if (g_test_verbose ())
    g_printerr ("%s%s", r.out, r.err);
  return r;
}

/* nfsub -c CONF report ... -o OUT with the given weeks' saved JSON */
static RunResult
run_report (const char *conf, const char *out_dir, const char *const *weeks,
            gboolean empty_main)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, nfsub_exe ());
  g_ptr_array_add (argv, g_strdup ("-c"));
  g_ptr_array_add (argv, g_strdup (conf));
  g_ptr_array_add (argv, g_strdup ("report"));
  g_ptr_array_add (argv, g_strdup ("--week"));
  g_ptr_array_add (argv, g_strdup (weeks[0]));
  for (guint i = 1; weeks[i]; i++)
    {
      g_ptr_array_add (argv, g_strdup ("--compare"));
      g_ptr_array_add (argv, g_strdup (weeks[i]));
    }
  if (!weeks[1])
    g_ptr_array_add (argv, g_strdup ("--no-years"));
  for (guint i = 0; weeks[i]; i++)
    for (guint w = 0; w < 3; w++)
      if (strcmp (weeks[i], broadband_usage[w].date) == 0)
        {
          gboolean empty = empty_main && i == 0;
          g_ptr_array_add (argv, g_strdup_printf ("--usage-json=%s=%s", weeks[i],
                                                  empty ? world.usage_empty : world.usage[w]));
          g_ptr_array_add (argv, g_strdup_printf ("--ports-json=%s=%s", weeks[i],
                                                  empty ? world.ports_empty : world.ports[w]));
        }
  g_ptr_array_add (argv, g_strdup ("-o"));
  g_ptr_array_add (argv, g_strdup (out_dir));
  return run_argv (argv);
}

/* ---- reading report.json ---- */

static const NfsubTestJson *
find_by_id (const NfsubTestJson *list, const char *id)
{
  for (guint i = 0; i < nfsub_test_json_length (list); i++)
    {
      const NfsubTestJson *t = nfsub_test_json_index (list, i, NULL);
      if (strcmp (nfsub_test_json_string (t, "id"), id) == 0)
        return t;
    }
  g_error ("report.json has no table or figure '%s'", id);
}

static const NfsubTestJson *
table_row (const NfsubTestJson *table, const char *group, const char *label)
{
  const NfsubTestJson *rows = nfsub_test_json_path (table, "rows");
  gboolean in_group = group == NULL;
  for (guint i = 0; i < nfsub_test_json_length (rows); i++)
    {
      const NfsubTestJson *row = nfsub_test_json_index (rows, i, NULL);
      const char *l = nfsub_test_json_string (row, "label");
      if (nfsub_test_json_path (row, "group"))
        {
          in_group = group == NULL || strcmp (l, group) == 0;
          continue;
        }
      if (in_group && strcmp (l, label) == 0)
        return row;
    }
  g_error ("table %s has no row %s/%s", nfsub_test_json_string (table, "id"),
           group ? group : "", label);
}

static int
column_of (const NfsubTestJson *table, const char *column)
{
  const NfsubTestJson *cols = nfsub_test_json_path (table, "columns");
  for (guint i = 0; i < nfsub_test_json_length (cols); i++)
    if (strcmp (nfsub_test_json_get_string (nfsub_test_json_index (cols, i, NULL)),
                column) == 0)
      return (int) i;
  g_error ("table %s has no column %s", nfsub_test_json_string (table, "id"), column);
}

static const char *
cell_text (const NfsubTestJson *table, const char *group, const char *label,
           const char *column)
{
  const NfsubTestJson *row = table_row (table, group, label);
  g_autofree char *p = g_strdup_printf ("text.%d", column_of (table, column));
  return nfsub_test_json_string (row, p);
}

static double
cell_value (const NfsubTestJson *table, const char *group, const char *label,
            const char *column)
{
  const NfsubTestJson *row = table_row (table, group, label);
  g_autofree char *p = g_strdup_printf ("values.%d", column_of (table, column));
  const NfsubTestJson *v = nfsub_test_json_path (row, p);
  if (!v || nfsub_test_json_type (v) != NFSUB_TEST_JSON_NUMBER)
    return NAN;
  return nfsub_test_json_get_number (v);
}

static char *
mb_text (double mb)
{
  /* the published tables: whole MB with thousands separators */
  char buf[64];
  g_snprintf (buf, sizeof buf, "%.0f", mb);
  if (mb >= 1000)
    return g_strdup_printf ("%.*s,%s", (int) strlen (buf) - 3, buf, buf + strlen (buf) - 3);
  return g_strdup (buf);
}

/* ---- the browser ---- */

static char *
find_chromium (void)
{
  const char *env = g_getenv ("CHROMIUM");
  if (env && *env)
    return g_strdup (env);
  const char *names[] = { "chromium", "chromium-browser", "google-chrome", NULL };
  for (guint i = 0; names[i]; i++)
    {
      char *p = g_find_program_in_path (names[i]);
      if (p)
        return p;
    }
  return NULL;
}

/* The check page: index.html plus a script that, once everything has
 * loaded, writes what the browser sees into the DOM -- each image's
 * decoded size, each table cell's text -- for --dump-dom to print. */
static const char check_script[] =
  "<script>\n"
  "window.addEventListener('load', function () {\n"
  "  var out = { images: [], figures: [], tables: {} };\n"
  "  document.querySelectorAll('img').forEach(function (img) {\n"
  "    var fig = img.closest('figure');\n"
  "    out.images.push({ id: fig ? fig.id : '', w: img.naturalWidth,\n"
  "                      h: img.naturalHeight, complete: img.complete,\n"
  "                      shown: img.getBoundingClientRect().width });\n"
  "  });\n"
  "  document.querySelectorAll('figure').forEach(function (f) {\n"
  "    out.figures.push(f.id); });\n"
  "  document.querySelectorAll('table.data').forEach(function (t) {\n"
  "    var rows = [];\n"
  "    t.querySelectorAll('tbody tr').forEach(function (tr) {\n"
  "      if (tr.classList.contains('group')) return;\n"
  "      var cells = [];\n"
  "      tr.querySelectorAll('td').forEach(function (td) { cells.push(td.textContent); });\n"
  "      rows.push({ label: tr.querySelector('th').textContent, cells: cells });\n"
  "    });\n"
  "    out.tables[t.id] = rows;\n"
  "  });\n"
  "  out.highlights = [];\n"
  "  document.querySelectorAll('#glance li').forEach(function (li) {\n"
  "    out.highlights.push(li.textContent); });\n"
  "  var pre = document.createElement('pre');\n"
  "  pre.id = 'nfsub-check';\n"
  "  pre.textContent = JSON.stringify(out);\n"
  "  document.body.appendChild(pre);\n"
  "});\n"
  "</script>\n";

static char *
run_chromium (const char *chromium, const char *profile, const char *const *extra,
              const char *url)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  const char *flags[] = { "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-quic", "--no-first-run",
                          "--disable-background-networking",
                          "--disable-component-update", "--disable-sync",
                          "--disable-dev-shm-usage", "--hide-scrollbars",
                          "--allow-file-access-from-files", NULL };
  g_ptr_array_add (argv, g_strdup (chromium));
  for (guint i = 0; flags[i]; i++)
    g_ptr_array_add (argv, g_strdup (flags[i]));
  g_ptr_array_add (argv, g_strdup_printf ("--user-data-dir=%s", profile));
  for (guint i = 0; extra[i]; i++)
    g_ptr_array_add (argv, g_strdup (extra[i]));
  g_ptr_array_add (argv, g_strdup (url));
  RunResult r = run_argv (argv);
  g_assert_cmpint (r.status, ==, 0);
  char *out = g_steal_pointer (&r.out);
  run_result_clear (&r);
  return out;
}

static char *
unescape_html_text (const char *s)
{
  GString *o = g_string_new (NULL);
  for (const char *p = s; *p; p++)
    {
      if (g_str_has_prefix (p, "&amp;"))
        g_string_append_c (o, '&'), p += 4;
      else if (g_str_has_prefix (p, "&lt;"))
        g_string_append_c (o, '<'), p += 3;
      else if (g_str_has_prefix (p, "&gt;"))
        g_string_append_c (o, '>'), p += 3;
      else if (g_str_has_prefix (p, "&nbsp;"))
        g_string_append (o, "\xc2\xa0"), p += 5;
      else
        g_string_append_c (o, *p);
    }
  return g_string_free (o, FALSE);
}

static guint32
png_be32 (const guchar *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* Opens OUT/index.html in headless Chromium: a full-page screenshot, then
 * the DOM as the browser built it.  Checks every figure decoded and every
 * table cell equals report.json's text. */
static void
check_in_browser (const char *out_dir, const NfsubTestJson *report,
                  gboolean every_table_filled)
{
  g_autofree char *chromium = find_chromium ();
  g_assert_nonnull (chromium);
  g_autofree char *index = g_build_filename (out_dir, "index.html", NULL);
  g_autofree char *html = NULL;
  g_assert_true (g_file_get_contents (index, &html, NULL, NULL));
  /* no external assets: nothing loaded from outside the report's folder */
  g_assert_null (strstr (html, "http://"));
  g_assert_null (strstr (html, "https://"));
  g_assert_null (strstr (html, "<link"));
  g_assert_null (strstr (html, "<script"));

  char *body_end = strstr (html, "</body>");
  g_assert_nonnull (body_end);
  *body_end = '\0';
  g_autofree char *check = g_strconcat (html, check_script, "</body></html>\n", NULL);
  g_autofree char *check_path = g_build_filename (out_dir, "check.html", NULL);
  g_assert_true (g_file_set_contents (check_path, check, -1, NULL));
  g_autofree char *url = g_filename_to_uri (check_path, NULL, NULL);
  g_autofree char *index_url = g_filename_to_uri (index, NULL, NULL);

  g_autofree char *profile = nfsub_test_tmpdir ("chromium");
  g_autofree char *shot = g_build_filename (out_dir, "screenshot.png", NULL);
  g_autofree char *shot_arg = g_strdup_printf ("--screenshot=%s", shot);
  const char *shot_flags[] = { shot_arg, "--window-size=1100,12000",
                               "--virtual-time-budget=10000", NULL };
  g_free (run_chromium (chromium, profile, shot_flags, index_url));
  g_autofree char *png = NULL;
  gsize png_len = 0;
  g_assert_true (g_file_get_contents (shot, &png, &png_len, NULL));
  g_assert_cmpuint (png_len, >, 24);
  g_assert_cmpmem (png, 8, "\x89PNG\r\n\x1a\n", 8);
  g_assert_cmpuint (png_be32 ((guchar *) png + 16), ==, 1100);
  /* a blank or half-drawn page compresses to a few KB; figures and
   * tables do not */
  g_assert_cmpuint (png_len, >, 200 * 1024);

  const char *dom_flags[] = { "--dump-dom", "--virtual-time-budget=10000", NULL };
  g_autofree char *dom = run_chromium (chromium, profile, dom_flags, url);
  nfsub_test_rm_rf (profile);
  const char *pre = strstr (dom, "<pre id=\"nfsub-check\">");
  g_assert_nonnull (pre);
  pre += strlen ("<pre id=\"nfsub-check\">");
  const char *pre_end = strstr (pre, "</pre>");
  g_assert_nonnull (pre_end);
  g_autofree char *raw = g_strndup (pre, (gsize) (pre_end - pre));
  g_autofree char *text = unescape_html_text (raw);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubTestJson) seen = nfsub_test_json_parse (text, &error);
  g_assert_no_error (error);

  /* every figure report.json calls made is on the page as a decoded
   * image; the others are on the page as a figure saying why not */
  const NfsubTestJson *figures = nfsub_test_json_path (report, "figures");
  const NfsubTestJson *images = nfsub_test_json_path (seen, "images");
  guint made = 0;
  for (guint i = 0; i < nfsub_test_json_length (figures); i++)
    if (nfsub_test_json_number (nfsub_test_json_index (figures, i, NULL), "made"))
      made++;
  g_assert_cmpuint (made, >, 0);
  g_assert_cmpuint (nfsub_test_json_length (images), ==, made);
  g_assert_cmpuint (nfsub_test_json_length (nfsub_test_json_path (seen, "figures")), ==,
                    nfsub_test_json_length (figures));
  for (guint i = 0; i < nfsub_test_json_length (images); i++)
    {
      const NfsubTestJson *img = nfsub_test_json_index (images, i, NULL);
      const char *id = nfsub_test_json_string (img, "id");
      if (g_test_verbose ())
        g_printerr ("image %s: %gx%g\n", id, nfsub_test_json_number (img, "w"),
                    nfsub_test_json_number (img, "h"));
      g_assert_cmpfloat (nfsub_test_json_number (img, "w"), >=, 400);
      g_assert_cmpfloat (nfsub_test_json_number (img, "h"), >=, 200);
      g_assert_cmpfloat (nfsub_test_json_number (img, "shown"), >, 300);
      g_assert_true (nfsub_test_json_number (find_by_id (figures, id), "made"));
    }

  /* the "at a glance" sentences, as report.json has them */
  const NfsubTestJson *hl = nfsub_test_json_path (report, "highlights");
  const NfsubTestJson *dom_hl = nfsub_test_json_path (seen, "highlights");
  g_assert_cmpuint (nfsub_test_json_length (dom_hl), ==, nfsub_test_json_length (hl));
  for (guint i = 0; i < nfsub_test_json_length (hl); i++)
    g_assert_cmpstr (nfsub_test_json_get_string (nfsub_test_json_index (dom_hl, i, NULL)), ==,
                     nfsub_test_json_get_string (nfsub_test_json_index (hl, i, NULL)));

  /* every table of report.json is on the page, cell for cell */
  const NfsubTestJson *tables = nfsub_test_json_path (report, "tables");
  guint total_filled = 0;
  const NfsubTestJson *dom_tables = nfsub_test_json_path (seen, "tables");
  g_assert_cmpuint (nfsub_test_json_length (dom_tables), ==,
                    nfsub_test_json_length (tables));
  for (guint i = 0; i < nfsub_test_json_length (tables); i++)
    {
      const NfsubTestJson *t = nfsub_test_json_index (tables, i, NULL);
      const char *id = nfsub_test_json_string (t, "id");
      const NfsubTestJson *dt = nfsub_test_json_member (dom_tables, id);
      g_assert_nonnull (dt);
      const NfsubTestJson *rows = nfsub_test_json_path (t, "rows");
      guint r = 0, filled = 0;
      for (guint k = 0; k < nfsub_test_json_length (rows); k++)
        {
          const NfsubTestJson *row = nfsub_test_json_index (rows, k, NULL);
          if (nfsub_test_json_path (row, "group"))
            continue;
          const NfsubTestJson *drow = nfsub_test_json_index (dt, r++, NULL);
          g_assert_nonnull (drow);
          g_assert_cmpstr (nfsub_test_json_string (drow, "label"), ==,
                           nfsub_test_json_string (row, "label"));
          const NfsubTestJson *texts = nfsub_test_json_path (row, "text");
          const NfsubTestJson *cells = nfsub_test_json_path (drow, "cells");
          g_assert_cmpuint (nfsub_test_json_length (cells), ==,
                            nfsub_test_json_length (texts));
          for (guint c = 0; c < nfsub_test_json_length (texts); c++)
            {
              const char *want = nfsub_test_json_get_string (nfsub_test_json_index (texts, c, NULL));
              const char *got = nfsub_test_json_get_string (nfsub_test_json_index (cells, c, NULL));
              if (*want)
                {
                  g_assert_cmpstr (got, ==, want);
                  filled++;
                }
              else
                g_assert_cmpstr (got, ==, "\xe2\x80\x93"); /* en dash: no data */
            }
        }
      g_assert_cmpuint (r, ==, nfsub_test_json_length (dt));
      if (g_test_verbose ())
        g_printerr ("table %s: %u cells filled\n", id, filled);
      if (every_table_filled)
        g_assert_cmpuint (filled, >, 0);
      total_filled += filled;
    }
  g_assert_cmpuint (total_filled, >, 0);
}


/* ---- the real pipeline ----
 *
 * nfsim simulates a week of an ISP's population and exports it to a real
 * nfcapd (tests/testutil.h); `nfsub process` runs the subscriber (RADIUS
 * detail, Kea leases, static prefixes), usage, hourly and ports plugins
 * over the files; `nfsub report` turns their state into the page.  The
 * oracle is the simulator's ground truth (truth.json). */

static gboolean
plugin_built (const char *name)
{
  g_autofree char *so = g_strdup_printf ("%s/plugins/%s/.libs/%s.so",
                                         nfsub_test_builddir (), name, name);
  return g_file_test (so, G_FILE_TEST_EXISTS);
}

static void
test_pipeline (void)
{
  g_autoptr (GError) error = NULL;
  /* 2,000 users for 7 days, about 420k records after 1:1000 / 1:500
   * sampling; nfcapd rotates every 60 s of arrival */
  g_autofree char *nfsim_args = g_strdup_printf (
    "-c %s/plugins/report/test-report-nfsim.conf -u 2000 -d 7 -s 3",
    nfsub_test_srcdir ());
  g_autofree char *flows = nfsub_test_fixture_dir ("report-population", "-y", 60,
                                                   nfsim_args, &error);
  g_assert_no_error (error);
  g_autofree char *sim = nfsub_test_fixture_sim_dir (flows);
  g_autofree char *truth_path = g_build_filename (sim, "truth.json", NULL);
  g_autoptr (NfsubTestJson) truth = nfsub_test_json_load (truth_path, &error);
  g_assert_no_error (error);
  g_autofree char *week = g_strndup (nfsub_test_json_string (truth, "week_start"), 10);

  g_autofree char *work = g_build_filename (world.dir, "pipeline", NULL);
  g_mkdir_with_parents (work, 0755);
  /* the plugins that exist in this build tree take part */
  g_autoptr (GString) plugins = g_string_new ("subscriber;usage");
  const char *optional[] = { "hourly", "ports" };
  for (guint i = 0; i < G_N_ELEMENTS (optional); i++)
    if (plugin_built (optional[i]))
      g_string_append_printf (plugins, ";%s", optional[i]);
    else
      g_test_message ("plugin %s not built: left out of the pipeline", optional[i]);
  g_autofree char *conf = g_build_filename (work, "nfsub.conf", NULL);
  g_autofree char *text = g_strdup_printf (
    "[nfsub]\nplugins = %s\nstate_dir = %s/state\ntimezone = UTC\n"
    "[subscriber]\nradius_detail = %s/radacct/*/detail-*\n"
    "kea_leases = %s/kea/leases6.csv\n"
    "kea_duid_map = %s/kea/duid-users.csv\nstatic = %s/static.csv\n"
    "rule.mobile = nas 192.0.2.101 => service=mobile access=mobile\n"
    "rule.pppoe = nas 192.0.2.1 => service=broadband access=pppoe\n"
    "[usage]\nradius_detail = mobile=%s/radacct/192.0.2.101/detail-*\n"
    "[report]\ntitle = Broadband Traffic Report (simulated week)\n",
    plugins->str, work, sim, sim, sim, sim, sim);
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  g_autofree char *exe = nfsub_exe ();
  const char *process[] = { exe, "-c", conf, "process", "-q", flows, NULL };
  run_ok (process);

  g_autofree char *out = g_build_filename (work, "out", NULL);
  g_autofree char *week_arg = g_strdup_printf ("--week=%s", week);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (exe));
  g_ptr_array_add (argv, g_strdup ("-c"));
  g_ptr_array_add (argv, g_strdup (conf));
  g_ptr_array_add (argv, g_strdup ("report"));
  g_ptr_array_add (argv, g_strdup (week_arg));
  g_ptr_array_add (argv, g_strdup ("-o"));
  g_ptr_array_add (argv, g_strdup (out));
  RunResult rr = run_argv (argv);
  g_assert_cmpint (rr.status, ==, 0);
  run_result_clear (&rr);
  g_autofree char *json_path = g_build_filename (out, "report.json", NULL);
  g_autoptr (NfsubTestJson) rep = nfsub_test_json_load (json_path, &error);
  g_assert_no_error (error);
  const NfsubTestJson *tables = nfsub_test_json_path (rep, "tables");
  const NfsubTestJson *figs = nfsub_test_json_path (rep, "figures");

  /* Tables 1 and 2 against the simulator's population: broadband from
   * the sampled flows (what nfcapd stored), mobile from the accounting
   * counters (the true volumes) */
  const struct { const char *table, *group, *suffix; } usage[] = {
    { "table1", "broadband", "_sampled" }, { "table2", "mobile", "" } };
  for (guint u = 0; u < G_N_ELEMENTS (usage); u++)
    {
      const NfsubTestJson *t = find_by_id (tables, usage[u].table);
      g_assert_cmpfloat (cell_value (t, NULL, "Users", "2024"), ==,
                         nfsub_test_json_numberf (truth, "groups.%s.users", usage[u].group));
      for (int d = 0; d < 2; d++)
        {
          const char *dir = d ? "out" : "in";
          const char *grp = d ? "OUT (download)" : "IN (upload)";
          double mean = cell_value (t, grp, "Mean", "2024");
          double median = cell_value (t, grp, "Median", "2024");
          double tmean = nfsub_test_json_numberf (truth, "groups.%s.%s%s.mean_mb", usage[u].group, dir,
                                   usage[u].suffix);
          double tmedian = nfsub_test_json_numberf (truth, "groups.%s.%s%s.median_mb", usage[u].group,
                                     dir, usage[u].suffix);
          g_test_message ("%s %s: mean %.2f (truth %.2f), median %.2f (truth %.2f)",
                          usage[u].group, dir, mean, tmean, median, tmedian);
          g_assert_cmpfloat (fabs (mean / tmean - 1), <=, 0.02);
          g_assert_cmpfloat (fabs (median / tmedian - 1), <=, 0.02);
        }
    }
  const NfsubTestJson *conc = find_by_id (tables, "concentration");
  double t10 = cell_value (conc, "Broadband", "Top 10%, OUT", "2024");
  double tt10 = nfsub_test_json_numberf (truth, "groups.broadband.out_sampled.top10_share");
  g_test_message ("broadband top 10%% OUT: %.2f (truth %.2f)", t10, tt10);
  g_assert_cmpfloat (fabs (t10 - tt10), <=, 1.0);

  /* the client-type cut: personal broadband users uploading less than
   * 100 MB a day, counted from the simulator's per-user truth */
  const NfsubTestJson *tusers = nfsub_test_json_path (truth, "users");
  double n_bb = 0, n_client = 0;
  for (guint i = 0; i < nfsub_test_json_length (tusers); i++)
    {
      const char *key = NULL;
      const NfsubTestJson *u = nfsub_test_json_index (tusers, i, &key);
      if (!g_str_has_prefix (key, "pppoe:u") && !g_str_has_prefix (key, "ipoe:u"))
        continue;
      double in_b = nfsub_test_json_number (u, "in_sampled");
      if (in_b + nfsub_test_json_number (u, "out_sampled") <= 0)
        continue;
      n_bb++;
      if (in_b / 7 < 100e6)
        n_client++;
    }
  double client = cell_value (conc, "Broadband", "Users uploading < 100 MB/day, % of users",
                              "2024");
  g_test_message ("broadband users uploading < 100 MB/day: %.2f%% (truth %.2f%% of %.0f)",
                  client, 100 * n_client / n_bb, n_bb);
  g_assert_cmpfloat (fabs (client - 100 * n_client / n_bb), <=, 1.0);

  /* Table 3: the share of each protocol and port within 0.5 points */
  if (strstr (plugins->str, "ports"))
    {
      const NfsubTestJson *t3 = find_by_id (tables, "table3");
      const struct { const char *label, *truth; } rows[] = {
        { "TCP", "tcp" }, { "UDP", "udp" }, { "ESP", "esp" } };
      for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
        {
          double v = cell_value (t3, NULL, rows[i].label, "2024");
          double want = nfsub_test_json_numberf (truth, "ports.broadband.sampled.%s", rows[i].truth);
          g_test_message ("broadband %s: %.2f%% (truth %.2f%%)", rows[i].label, v, want);
          g_assert_cmpfloat (fabs (v - want), <=, 0.5);
        }
      g_assert_true (nfsub_test_json_number (find_by_id (figs, "fig7"), "made"));
      g_assert_true (nfsub_test_json_number (find_by_id (figs, "fig8"), "made"));
    }

  /* Figure 2 from the hourly series: the weekday profile against the
   * simulator's hourly bytes (binned by record start; nfsub spreads a
   * record over its duration, minutes at most) */
  if (strstr (plugins->str, "hourly"))
    {
      const NfsubTestJson *f2 = find_by_id (figs, "fig2");
      g_assert_true (nfsub_test_json_number (f2, "made"));
      const NfsubTestJson *series = nfsub_test_json_path (f2, "data.series");
      for (guint k = 0; k < nfsub_test_json_length (series); k++)
        {
          const NfsubTestJson *sr = nfsub_test_json_index (series, k, NULL);
          const char *dir = nfsub_test_json_string (sr, "direction");
          double got = 0, want = 0;
          for (int h = 0; h < 24; h++)
            {
              g_autofree char *p = g_strdup_printf ("values.%d", h);
              got += nfsub_test_json_number (sr, p);
              /* Monday to Friday: days 0..4 of the simulated week */
              for (int day = 0; day < 5; day++)
                want += nfsub_test_json_numberf (truth, "hourly.broadband.%s_sampled.%d", dir,
                                  day * 24 + h) * 8 / 3600 / 5;
            }
          g_test_message ("weekday profile %s: %.4g bit/s a day summed (truth %.4g)",
                          dir, got, want);
          g_assert_cmpfloat (fabs (got / want - 1), <=, 0.02);
          g_assert_cmpfloat (nfsub_test_json_number (sr, "peak_hour"), >=, 0);
        }
      g_assert_true (nfsub_test_json_number (find_by_id (figs, "fig1"), "made"));
      g_assert_true (nfsub_test_json_number (find_by_id (figs, "fig9"), "made"));
      g_assert_true (nfsub_test_json_number (find_by_id (figs, "fig10"), "made"));
    }
  const char *usage_figs[] = { "fig3", "fig4", "fig5", "fig6", "fig11" };
  for (guint i = 0; i < G_N_ELEMENTS (usage_figs); i++)
    g_assert_true (nfsub_test_json_number (find_by_id (figs, usage_figs[i]), "made"));
  g_autofree char *chromium = find_chromium ();
  if (chromium)
    check_in_browser (out, rep, FALSE);
}

/* ---- tests ---- */

static void
test_handmade_report (void)
{
  g_autofree char *out = g_build_filename (world.dir, "out-full", NULL);
  const char *weeks[] = { "2024-06-03", "2023-05-29", "2019-06-03", NULL };
  RunResult rr = run_report (world.conf, out, weeks, FALSE);
  g_assert_cmpint (rr.status, ==, 0);
  g_autofree char *index = g_build_filename (out, "index.html", NULL);
  g_assert_nonnull (strstr (rr.out, index));
  run_result_clear (&rr);

  g_autofree char *json_path = g_build_filename (out, "report.json", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubTestJson) rep = nfsub_test_json_load (json_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (nfsub_test_json_length (nfsub_test_json_path (rep, "warnings")), ==, 0);

  /* Tables 1 and 2: the published numbers, as the report prints them */
  const NfsubTestJson *tables = nfsub_test_json_path (rep, "tables");
  const NfsubTestJson *t1 = find_by_id (tables, "table1");
  const NfsubTestJson *t2 = find_by_id (tables, "table2");
  const char *years[] = { "2024", "2023", "2019" };
  for (guint w = 0; w < 3; w++)
    for (guint svc = 0; svc < 2; svc++)
      {
        const UsageModel *m = svc ? &mobile_usage[w] : &broadband_usage[w];
        const NfsubTestJson *t = svc ? t2 : t1;
        const double in[] = { m->in_mean, m->in_median, m->in_mode };
        const double outv[] = { m->out_mean, m->out_median, m->out_mode };
        const char *stat[] = { "Mean", "Median", "Mode" };
        for (guint k = 0; k < 3; k++)
          {
            g_autofree char *a = mb_text (in[k]), *b = mb_text (outv[k]);
            if (in[k] >= 10)
              g_assert_cmpstr (cell_text (t, "IN (upload)", stat[k], years[w]), ==, a);
            g_assert_cmpfloat_with_epsilon (cell_value (t, "IN (upload)", stat[k], years[w]),
                                            in[k], 1e-9);
            g_assert_cmpstr (cell_text (t, "OUT (download)", stat[k], years[w]), ==, b);
          }
      }
  /* columns oldest first, like the published tables */
  g_assert_cmpint (column_of (t1, "2019"), ==, 0);
  g_assert_cmpint (column_of (t1, "2024"), ==, 2);
  g_assert_cmpstr (cell_text (t1, NULL, "Users", "2024"), ==, "20,000");

  /* Tables 3 and 4 */
  const NfsubTestJson *t3 = find_by_id (tables, "table3");
  g_assert_cmpstr (cell_text (t3, NULL, "TCP", "2024"), ==, "67.5");
  g_assert_cmpstr (cell_text (t3, NULL, "TCP (< 1024)", "2023"), ==, "63.0");
  g_assert_cmpstr (cell_text (t3, NULL, "31000", "2019"), ==, "2.0");
  g_assert_cmpstr (cell_text (t3, NULL, "UDP (>= 1024)", "2024"), ==, "6.8");
  g_assert_cmpstr (cell_text (t3, NULL, "ESP", "2019"), ==, "4.3");
  const NfsubTestJson *t4 = find_by_id (tables, "table4");
  g_assert_cmpstr (cell_text (t4, NULL, "51820", "2024"), ==, "0.3");
  g_assert_cmpstr (cell_text (t4, NULL, "ESP", "2023"), ==, "1.5");
  g_assert_cmpuint (nfsub_test_json_length (nfsub_test_json_path (t3, "rows")), ==,
                    G_N_ELEMENTS (broadband_ports));

  /* concentration */
  const NfsubTestJson *conc = find_by_id (tables, "concentration");
  g_assert_cmpstr (cell_text (conc, "Broadband", "Top 10%, OUT", "2024"), ==, "50.0");
  g_assert_cmpstr (cell_text (conc, "Broadband", "Top 1%, IN", "2024"), ==, "46.0");
  g_assert_cmpstr (cell_text (conc, "Mobile", "Top 1%, OUT", "2023"), ==, "11.0");

  /* growth of the per-user statistics between the weeks */
  const NfsubTestJson *ug = find_by_id (tables, "usage_growth");
  g_assert_cmpfloat_with_epsilon (cell_value (ug, "Broadband", "OUT mean", "Year over year"),
                                  5743.0 / 5456.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (cell_value (ug, "Broadband", "IN median", "Annual rate"),
                                  pow (178.0 / 75.0, 0.2), 1e-9);

  /* traffic growth from the RRD series: month of the week = June 2024
   * (month index 61 since May 2019); year over year and five years */
  const NfsubTestJson *gr = find_by_id (tables, "growth");
  struct { const char *label, *file; int dir; } gs[] = {
    { "Broadband OUT", "broadband-all", 1 }, { "Broadband IN", "broadband-all", 0 },
    { "Broadband PPPoE OUT", "broadband-pppoe", 1 },
    { "Broadband IPoE IN", "broadband-ipoe", 0 }, { "Mobile OUT", "mobile-all", 1 },
    { "Mobile IN", "mobile-all", 0 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (gs); i++)
    {
      /* each service against its own OUT of 2020-01 */
      double base = model_month_mean (g_str_has_prefix (gs[i].file, "mobile")
                                        ? "mobile-all" : "broadband-all", 1, 8);
      double now = model_month_mean (gs[i].file, gs[i].dir, 61);
      double y1 = model_month_mean (gs[i].file, gs[i].dir, 49);
      double y5 = model_month_mean (gs[i].file, gs[i].dir, 1);
      g_assert_cmpfloat (fabs (cell_value (gr, NULL, gs[i].label, "Average") / (8 * now) - 1),
                         <, 1e-6);
      g_assert_cmpfloat (fabs (cell_value (gr, NULL, gs[i].label, "Normalised") - now / base),
                         <, 1e-6);
      g_assert_cmpfloat (fabs (cell_value (gr, NULL, gs[i].label, "Year over year")
                               - 100 * (now / y1 - 1)), <, 1e-4);
      g_assert_cmpfloat (fabs (cell_value (gr, NULL, gs[i].label, "Five-year factor")
                               - now / y5), <, 1e-6);
      g_assert_cmpfloat (fabs (cell_value (gr, NULL, gs[i].label, "Annual rate")
                               - pow (now / y5, 0.2)), <, 1e-6);
    }
  /* the pure models give their own growth: PPPoE OUT 1.08 a year */
  g_assert_cmpstr (cell_text (gr, NULL, "Broadband PPPoE OUT", "Year over year"), ==, "+8%");
  g_assert_cmpstr (cell_text (gr, NULL, "Mobile IN", "Annual rate"), ==, "1.29x");

  /* IPoE share over each week = IPoE / (PPPoE + IPoE) */
  const NfsubTestJson *ip = find_by_id (tables, "ipoe_share");
  const gint64 week_start[] = { T_WEEK_2024, T_WEEK_2023, T_WEEK_2019 };
  for (guint w = 0; w < 3; w++)
    for (int d = 0; d < 2; d++)
      {
        double pp = model_week_sum ("broadband-pppoe", d, week_start[w]);
        double ipo = model_week_sum ("broadband-ipoe", d, week_start[w]);
        double v = cell_value (ip, NULL, d ? "OUT (download)" : "IN (upload)", years[w]);
        g_assert_cmpfloat (fabs (v - 100 * ipo / (pp + ipo)), <, 1e-6);
      }

  /* figures: all drawn, PNG and SVG on disk */
  const NfsubTestJson *figs = nfsub_test_json_path (rep, "figures");
  g_assert_cmpuint (nfsub_test_json_length (figs), ==, 11);
  for (guint i = 0; i < nfsub_test_json_length (figs); i++)
    {
      const NfsubTestJson *f = nfsub_test_json_index (figs, i, NULL);
      const NfsubTestJson *made = nfsub_test_json_path (f, "made");
      if (!made || !nfsub_test_json_get_number (made))
        g_error ("%s not drawn: %s", nfsub_test_json_string (f, "id"),
                 nfsub_test_json_path (f, "error")
                   ? nfsub_test_json_string (f, "error") : "?");
      const char *kinds[] = { "png", "svg" };
      for (guint k = 0; k < 2; k++)
        {
          g_autofree char *p = g_build_filename (out, nfsub_test_json_string (f, kinds[k]),
                                                 NULL);
          g_autofree char *data = NULL;
          gsize len = 0;
          g_assert_true (g_file_get_contents (p, &data, &len, NULL));
          if (k == 0)
            g_assert_cmpmem (data, 8, "\x89PNG\r\n\x1a\n", 8);
          else
            g_assert_nonnull (strstr (data, "<svg"));
        }
    }

  /* Figure 2: weekday profile = the weekday shape x level x 8 bit; the
   * flat weekends are left out, so the peaks are where the shapes put them */
  const NfsubTestJson *f2 = find_by_id (figs, "fig2");
  const NfsubTestJson *series = nfsub_test_json_path (f2, "data.series");
  g_assert_cmpuint (nfsub_test_json_length (series), ==, 6);
  for (guint i = 0; i < nfsub_test_json_length (series); i++)
    {
      const NfsubTestJson *s = nfsub_test_json_index (series, i, NULL);
      int dir = strcmp (nfsub_test_json_string (s, "direction"), "out") == 0;
      const char *week = nfsub_test_json_string (s, "week");
      int month = strcmp (week, "2024-06-03") == 0 ? 61 : strcmp (week, "2023-05-29") == 0 ? 48 : 1;
      g_assert_cmpfloat (nfsub_test_json_number (s, "peak_hour"), ==, dir ? 21 : 14);
      const double *shape = dir ? shape_out : shape_in;
      for (int h = 0; h < 24; h++)
        {
          g_autofree char *p = g_strdup_printf ("values.%d", h);
          double want = 8 * model_month_mean ("broadband-all", dir, month) * shape[h]
                        / shape_mean (shape);
          /* 2023's week runs into June: Mon-Wed in May, Thu-Fri in June */
          if (month == 48)
            want = 8 * (3 * model_month_mean ("broadband-all", dir, 48)
                        + 2 * model_month_mean ("broadband-all", dir, 49)) / 5
                   * shape[h] / shape_mean (shape);
          g_assert_cmpfloat (fabs (nfsub_test_json_number (s, p) / want - 1), <, 1e-6);
        }
    }
  /* Figure 1 is normalised to January 2020 */
  g_assert_cmpstr (nfsub_test_json_string (rep, "traffic.base_month"), ==, "2020-01");
  g_assert_cmpstr (nfsub_test_json_string (rep, "traffic.first_month"), ==, "2019-05");
  g_assert_cmpfloat (fabs (nfsub_test_json_number (rep, "traffic.series.broadband_out.normalised.8")
                           - 1), <, 1e-9);
  g_assert_cmpfloat (fabs (nfsub_test_json_number (rep, "traffic.series.mobile_out.normalised.8")
                           - 1), <, 1e-9);

  /* Figures 7/8: categories / the week's peak of the total (peak = 1) */
  const NfsubTestJson *f7 = find_by_id (figs, "fig7");
  const NfsubTestJson *cats = nfsub_test_json_path (f7, "data.series");
  double peak = 0;
  for (guint c = 0; c < nfsub_test_json_length (cats); c++)
    {
      const NfsubTestJson *cs = nfsub_test_json_index (cats, c, NULL);
      const NfsubTestJson *vals = nfsub_test_json_path (cs, "values");
      const char *cat = nfsub_test_json_string (cs, "category");
      double cat_peak = 0;
      for (guint i = 0; i < nfsub_test_json_length (vals); i++)
        cat_peak = MAX (cat_peak, nfsub_test_json_get_number (nfsub_test_json_index (vals, i, NULL)));
      if (strcmp (cat, "total") == 0)
        peak = cat_peak;
      else if (strcmp (cat, "tcp443") == 0)
        g_assert_cmpfloat (fabs (cat_peak - 0.538), <, 1e-6);
    }
  g_assert_cmpfloat (fabs (peak - 1), <, 1e-9);

  /* the opening sentences: the published numbers and the models' growth */
  const NfsubTestJson *hl = nfsub_test_json_path (rep, "highlights");
  const char *want[] = {
    "Broadband, 2024: 20,000 users downloaded 5,743 MB a day on average "
    "(median 2,372, mode 5,620) and uploaded 834 MB (median 178, mode 224).",
    "Mobile traffic in 2024-06 against a year before: OUT +20%, IN +29%.",
    "The heaviest 10% of broadband users carried 50% of the download and 75% "
    "of the upload; the heaviest 1%: 15% and 46%.",
    "Broadband, 2024: TCP port 443 carried 53.8% of the bytes, UDP port 443 "
    "(QUIC) 21.0%.",
  };
  for (guint k = 0; k < G_N_ELEMENTS (want); k++)
    {
      gboolean found = FALSE;
      for (guint i = 0; i < nfsub_test_json_length (hl); i++)
        if (strcmp (nfsub_test_json_get_string (nfsub_test_json_index (hl, i, NULL)),
                    want[k]) == 0)
          found = TRUE;
      if (!found)
        g_error ("no highlight \"%s\"", want[k]);
    }
  world.full_report_ok = TRUE;
}

/* The page of /report/handmade in a real browser. */
static void
test_browser (void)
{
  g_autofree char *chromium = find_chromium ();
  if (!chromium)
    {
      /* CI installs it (contrib/install-deps.sh) */
      g_test_skip ("chromium not installed (Debian package chromium)");
      return;
    }
  if (!world.full_report_ok)
    {
      g_test_fail ();
      g_test_message ("no report to look at: /report/handmade failed");
      return;
    }
  g_autofree char *out = g_build_filename (world.dir, "out-full", NULL);
  g_autofree char *json_path = g_build_filename (out, "report.json", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubTestJson) rep = nfsub_test_json_load (json_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (nfsub_test_json_length (nfsub_test_json_path (rep, "figures")), ==, 11);
  check_in_browser (out, rep, TRUE);
}


/* With rrdcached the report sees what the daemon still holds: Friday's
 * hours of the main week go to a real rrdcached (kept in its cache for an
 * hour) at twice the model's rate; the weekday profile is then the mean
 * of four model days and one doubled day. */
static void
test_rrdcached (void)
{
  const char *daemon_bin = g_getenv ("RRDCACHED");
  g_autofree char *found = g_find_program_in_path (daemon_bin && *daemon_bin ? daemon_bin
                                                                           : "rrdcached");
  if (!found && g_file_test ("/usr/sbin/rrdcached", G_FILE_TEST_IS_EXECUTABLE))
    found = g_strdup ("/usr/sbin/rrdcached");
  if (!found)
    {
      g_test_skip ("rrdcached not installed");
      return;
    }
  g_autofree char *dir = g_build_filename (world.dir, "cached", NULL);
  g_autofree char *hourly = g_build_filename (dir, "rrd", "hourly", NULL);
  g_autofree char *journal = g_build_filename (dir, "journal", NULL);
  g_mkdir_with_parents (hourly, 0755);
  g_mkdir_with_parents (journal, 0755);
  /* the file ends on Friday 00:00 of the main week */
  const gint64 friday = T_WEEK_2024 + 4 * 86400;
  static const char *const io[] = { "in", "out" };
  write_series_rrd (hourly, "broadband-all.rrd", T_WEEK_2024 - 7 * 86400, friday,
                    hourly_rate, "broadband-all", io, 2);

  g_autofree char *sock = g_build_filename (dir, "rrdcached.sock", NULL);
  g_autofree char *pidfile = g_build_filename (dir, "rrdcached.pid", NULL);
  g_autofree char *listen = g_strdup_printf ("unix:%s", sock);
  const char *daemon_argv[] = { found, "-g", "-l", listen, "-p", pidfile, "-j", journal,
                                "-w", "3600", "-z", "1", "-F", NULL };
  GPid pid = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_async (NULL, (char **) daemon_argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL
                                  | G_SPAWN_STDERR_TO_DEV_NULL,
                                NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 100 && !g_file_test (sock, G_FILE_TEST_EXISTS); i++)
    g_usleep (50000);
  g_assert_true (g_file_test (sock, G_FILE_TEST_EXISTS));

  /* Friday at twice the rate, through the daemon only */
  g_autofree char *rrd = g_build_filename (hourly, "broadband-all.rrd", NULL);
  g_autoptr (GPtrArray) upd = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (upd, g_strdup (rrdtool ()));
  g_ptr_array_add (upd, g_strdup ("update"));
  g_ptr_array_add (upd, g_strdup ("--daemon"));
  g_ptr_array_add (upd, g_strdup (listen));
  g_ptr_array_add (upd, g_strdup (rrd));
  for (gint64 t = friday; t < friday + 86400; t += 3600)
    g_ptr_array_add (upd, g_strdup_printf ("%" G_GINT64_FORMAT ":%.6f:%.6f", t + 3600,
                                           2 * hourly_rate ("broadband-all", 0, t),
                                           2 * hourly_rate ("broadband-all", 1, t)));
  g_ptr_array_add (upd, NULL);
  run_ok ((const char *const *) upd->pdata);
  /* the file itself has not seen Friday yet */
  const char *last_argv[] = { rrdtool (), "last", rrd, NULL };
  g_autofree char *last = nfsub_test_run (last_argv, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_ascii_strtoll (last, NULL, 10), ==, friday);

  g_autofree char *conf = g_build_filename (dir, "nfsub.conf", NULL);
  g_autofree char *text = g_strdup_printf (
    "[nfsub]\nstate_dir = %s/state\nrrd_dir = %s/rrd\ntimezone = UTC\n"
    "rrdcached = %s\n", dir, dir, listen);
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  g_autofree char *out = g_build_filename (dir, "out", NULL);
  const char *weeks[] = { "2024-06-03", NULL };
  RunResult rr = run_report (conf, out, weeks, FALSE);
  kill (pid, SIGTERM);
  int wstatus;
  waitpid (pid, &wstatus, 0);
  g_spawn_close_pid (pid);
  /* other series are missing here: warnings, not failures */
  g_assert_cmpint (rr.status, ==, 0);
  run_result_clear (&rr);

  g_autofree char *json_path = g_build_filename (out, "report.json", NULL);
  g_autoptr (NfsubTestJson) rep = nfsub_test_json_load (json_path, &error);
  g_assert_no_error (error);
  const NfsubTestJson *f2 = find_by_id (nfsub_test_json_path (rep, "figures"), "fig2");
  const NfsubTestJson *series = nfsub_test_json_path (f2, "data.series");
  g_assert_cmpuint (nfsub_test_json_length (series), ==, 2);
  for (guint k = 0; k < 2; k++)
    {
      const NfsubTestJson *sr = nfsub_test_json_index (series, k, NULL);
      int dir_out = strcmp (nfsub_test_json_string (sr, "direction"), "out") == 0;
      const double *shape = dir_out ? shape_out : shape_in;
      for (int h = 0; h < 24; h++)
        {
          g_autofree char *p = g_strdup_printf ("values.%d", h);
          double want = 8 * 1.2 * model_month_mean ("broadband-all", dir_out, 61) * shape[h]
                        / shape_mean (shape);
          g_assert_cmpfloat (fabs (nfsub_test_json_number (sr, p) / want - 1), <, 1e-6);
        }
    }
}

/* A compare week without data: a warning, the report still made. */
static void
test_missing_compare_week (void)
{
  g_autofree char *out = g_build_filename (world.dir, "out-missing", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, nfsub_exe ());
  g_ptr_array_add (argv, g_strdup ("-c"));
  g_ptr_array_add (argv, g_strdup (world.conf));
  g_ptr_array_add (argv, g_strdup ("report"));
  g_ptr_array_add (argv, g_strdup ("--week=2024-06-03"));
  g_ptr_array_add (argv, g_strdup ("--compare=2022-05-30"));
  g_ptr_array_add (argv, g_strdup_printf ("--usage-json=2024-06-03=%s", world.usage[0]));
  g_ptr_array_add (argv, g_strdup_printf ("--ports-json=2024-06-03=%s", world.ports[0]));
  g_ptr_array_add (argv, g_strdup_printf ("--usage-json=2022-05-30=%s", world.usage_empty));
  g_ptr_array_add (argv, g_strdup_printf ("--ports-json=2022-05-30=%s", world.ports_empty));
  g_ptr_array_add (argv, g_strdup ("-o"));
  g_ptr_array_add (argv, g_strdup (out));
  RunResult rr = run_argv (argv);
  g_assert_cmpint (rr.status, ==, 0);
  g_assert_nonnull (strstr (rr.err, "compare week 2022-05-30 left out"));
  g_autofree char *json_path = g_build_filename (out, "report.json", NULL);
  g_autoptr (NfsubTestJson) rep = nfsub_test_json_load (json_path, NULL);
  g_assert_nonnull (rep);
  g_assert_cmpuint (nfsub_test_json_length (nfsub_test_json_path (rep, "warnings")), ==, 1);
  g_assert_true (nfsub_test_json_number (rep, "weeks.1.missing"));
  /* its column is absent from the tables */
  const NfsubTestJson *t1 = find_by_id (nfsub_test_json_path (rep, "tables"), "table1");
  g_assert_cmpuint (nfsub_test_json_length (nfsub_test_json_path (t1, "columns")), ==, 1);
  g_autofree char *index = g_build_filename (out, "index.html", NULL);
  g_autofree char *html = NULL;
  g_assert_true (g_file_get_contents (index, &html, NULL, NULL));
  g_assert_nonnull (strstr (html, "compare week 2022-05-30 left out"));
  run_result_clear (&rr);
}

/* `nfsub ports` run for a week it has no data for exits with its "no
 * data" status (plugins/ports/README.md): a warning naming the tables left
 * empty, not a failure (exit 0). */
static void
test_ports_no_data (void)
{
  g_autofree char *out = g_build_filename (world.dir, "out-ports-no-data", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, nfsub_exe ());
  g_ptr_array_add (argv, g_strdup ("-c"));
  g_ptr_array_add (argv, g_strdup (world.conf));
  g_ptr_array_add (argv, g_strdup ("report"));
  g_ptr_array_add (argv, g_strdup ("--week=2024-06-03"));
  g_ptr_array_add (argv, g_strdup ("--no-years"));
  g_ptr_array_add (argv, g_strdup_printf ("--usage-json=2024-06-03=%s", world.usage[0]));
  g_ptr_array_add (argv, g_strdup ("-o"));
  g_ptr_array_add (argv, g_strdup (out));
  RunResult rr = run_argv (argv);
  g_assert_nonnull (strstr (rr.err, "week 2024-06-03: `nfsub ports` has no data for it"));
  g_assert_cmpint (rr.status, ==, 0);
  run_result_clear (&rr);
}

/* Without --compare: the same week of the other stored years, as `nfsub
 * usage` lists them, newest first; a year without users is not one. */
static void
test_stored_years (void)
{
  g_autofree char *out = g_build_filename (world.dir, "out-years", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, nfsub_exe ());
  g_ptr_array_add (argv, g_strdup ("-c"));
  g_ptr_array_add (argv, g_strdup (world.conf));
  g_ptr_array_add (argv, g_strdup ("report"));
  g_ptr_array_add (argv, g_strdup ("--week=2024-06-03"));
  for (guint w = 0; w < 3; w++)
    {
      g_ptr_array_add (argv, g_strdup_printf ("--usage-json=%s=%s", broadband_usage[w].date,
                                              world.usage[w]));
      g_ptr_array_add (argv, g_strdup_printf ("--ports-json=%s=%s", broadband_usage[w].date,
                                              world.ports[w]));
    }
  g_ptr_array_add (argv, g_strdup ("-o"));
  g_ptr_array_add (argv, g_strdup (out));
  RunResult rr = run_argv (argv);
  g_assert_cmpint (rr.status, ==, 0);
  g_autofree char *json_path = g_build_filename (out, "report.json", NULL);
  g_autoptr (NfsubTestJson) rep = nfsub_test_json_load (json_path, NULL);
  g_assert_nonnull (rep);
  g_assert_cmpuint (nfsub_test_json_length (nfsub_test_json_path (rep, "weeks")), ==, 3);
  g_assert_cmpstr (nfsub_test_json_string (rep, "weeks.1.date"), ==, "2023-05-29");
  g_assert_cmpstr (nfsub_test_json_string (rep, "weeks.2.date"), ==, "2019-06-03");
  const NfsubTestJson *t1 = find_by_id (nfsub_test_json_path (rep, "tables"), "table1");
  g_assert_cmpstr (cell_text (t1, "OUT (download)", "Mode", "2019"), ==, "1,995");
  run_result_clear (&rr);

  /* --no-years: the main week alone */
  g_autofree char *out2 = g_build_filename (world.dir, "out-noyears", NULL);
  g_autoptr (GPtrArray) argv2 = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv2, nfsub_exe ());
  g_ptr_array_add (argv2, g_strdup ("-c"));
  g_ptr_array_add (argv2, g_strdup (world.conf));
  g_ptr_array_add (argv2, g_strdup ("report"));
  g_ptr_array_add (argv2, g_strdup ("--week=2024-06-03"));
  g_ptr_array_add (argv2, g_strdup ("--no-years"));
  g_ptr_array_add (argv2, g_strdup_printf ("--usage-json=2024-06-03=%s", world.usage[0]));
  g_ptr_array_add (argv2, g_strdup_printf ("--ports-json=2024-06-03=%s", world.ports[0]));
  g_ptr_array_add (argv2, g_strdup ("-o"));
  g_ptr_array_add (argv2, g_strdup (out2));
  rr = run_argv (argv2);
  g_assert_cmpint (rr.status, ==, 0);
  g_autofree char *json2 = g_build_filename (out2, "report.json", NULL);
  g_autoptr (NfsubTestJson) rep2 = nfsub_test_json_load (json2, NULL);
  g_assert_cmpuint (nfsub_test_json_length (nfsub_test_json_path (rep2, "weeks")), ==, 1);
  run_result_clear (&rr);
}

/* An ISP without mobile users: the mobile figures say "no data", the
 * rest is made, exit 0. */
static void
test_no_mobile_users (void)
{
  g_autofree char *out = g_build_filename (world.dir, "out-nomobile", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, nfsub_exe ());
  g_ptr_array_add (argv, g_strdup ("-c"));
  g_ptr_array_add (argv, g_strdup (world.conf));
  g_ptr_array_add (argv, g_strdup ("report"));
  g_ptr_array_add (argv, g_strdup ("--week=2024-06-03"));
  g_ptr_array_add (argv, g_strdup ("--no-years"));
  g_ptr_array_add (argv, g_strdup_printf ("--usage-json=2024-06-03=%s", world.usage_no_mobile));
  g_ptr_array_add (argv, g_strdup_printf ("--ports-json=2024-06-03=%s", world.ports[0]));
  g_ptr_array_add (argv, g_strdup ("-o"));
  g_ptr_array_add (argv, g_strdup (out));
  RunResult rr = run_argv (argv);
  g_assert_cmpint (rr.status, ==, 0);
  g_autofree char *json_path = g_build_filename (out, "report.json", NULL);
  g_autoptr (NfsubTestJson) rep = nfsub_test_json_load (json_path, NULL);
  g_assert_nonnull (rep);
  const NfsubTestJson *figs = nfsub_test_json_path (rep, "figures");
  const char *empty[] = { "fig6", "fig11" };
  for (guint i = 0; i < G_N_ELEMENTS (empty); i++)
    {
      const NfsubTestJson *f = find_by_id (figs, empty[i]);
      g_assert_false (nfsub_test_json_number (f, "made"));
      g_assert_true (nfsub_test_json_number (f, "no_data"));
      g_assert_nonnull (strstr (nfsub_test_json_string (f, "error"), "no mobile users"));
    }
  g_assert_true (nfsub_test_json_number (find_by_id (figs, "fig5"), "made"));
  g_assert_nonnull (strstr (rr.err, "Figure 6 not drawn: no mobile users"));
  /* Table 2 is there, with blank cells */
  const NfsubTestJson *t2 = find_by_id (nfsub_test_json_path (rep, "tables"), "table2");
  g_assert_cmpstr (cell_text (t2, "OUT (download)", "Mean", "2024"), ==, "");
  run_result_clear (&rr);
}

/* The main week without data: one message, exit 1, no page. */
static void
test_main_week_without_data (void)
{
  g_autofree char *out = g_build_filename (world.dir, "out-empty", NULL);
  const char *weeks[] = { "2024-06-03", NULL };
  RunResult rr = run_report (world.conf, out, weeks, TRUE);
  g_assert_cmpint (rr.status, ==, 1);
  g_assert_nonnull (strstr (rr.err, "week 2024-06-03: no data"));
  g_autofree char *index = g_build_filename (out, "index.html", NULL);
  g_assert_false (g_file_test (index, G_FILE_TEST_EXISTS));
  /* one line, not a cascade */
  g_assert_true (g_str_has_suffix (rr.err, "\n"));
  g_assert_true (strchr (rr.err, '\n') == rr.err + strlen (rr.err) - 1);
  run_result_clear (&rr);
}

/* No RRD directory: one message naming it, exit 1. */
static void
test_missing_rrd_dir (void)
{
  g_autofree char *conf = g_build_filename (world.dir, "no-rrd.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[nfsub]\nstate_dir = %s/state\n"
                                           "rrd_dir = %s/no-such-rrd\ntimezone = UTC\n",
                                           world.dir, world.dir);
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  g_autofree char *out = g_build_filename (world.dir, "out-norrd", NULL);
  const char *weeks[] = { "2024-06-03", NULL };
  RunResult rr = run_report (conf, out, weeks, FALSE);
  g_assert_cmpint (rr.status, ==, 1);
  g_autofree char *want = g_strdup_printf ("RRD directory %s/no-such-rrd does not exist",
                                           world.dir);
  g_assert_nonnull (strstr (rr.err, want));
  run_result_clear (&rr);
}

/* Bad arguments: exit 2 or 1 with the option named. */
static void
test_bad_arguments (void)
{
  g_autofree char *out = g_build_filename (world.dir, "out-bad", NULL);
  const char *weeks[] = { "2024-13-03", NULL };
  RunResult rr = run_report (world.conf, out, weeks, FALSE);
  g_assert_cmpint (rr.status, ==, 1);
  g_assert_nonnull (strstr (rr.err, "--week '2024-13-03': expected a date YYYY-MM-DD"));
  run_result_clear (&rr);

  /* an unknown key in [report] is named, with its file */
  g_autofree char *conf = g_build_filename (world.dir, "bad-key.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[nfsub]\nstate_dir = %s/state\n"
                                           "rrd_dir = %s\ntimezone = UTC\n"
                                           "[report]\ncolour = red\n",
                                           world.dir, world.rrd_dir);
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  const char *ok_week[] = { "2024-06-03", NULL };
  rr = run_report (conf, out, ok_week, FALSE);
  g_assert_cmpint (rr.status, ==, 1);
  g_assert_nonnull (strstr (rr.err, "colour"));
  g_assert_nonnull (strstr (rr.err, conf));
  run_result_clear (&rr);

  /* a bad base month */
  g_autofree char *text2 = g_strdup_printf ("[nfsub]\nstate_dir = %s/state\n"
                                            "rrd_dir = %s\ntimezone = UTC\n"
                                            "[report]\nbase_month = 2020-13\n",
                                            world.dir, world.rrd_dir);
  g_assert_true (g_file_set_contents (conf, text2, -1, NULL));
  rr = run_report (conf, out, ok_week, FALSE);
  g_assert_cmpint (rr.status, ==, 1);
  g_assert_nonnull (strstr (rr.err, "base month '2020-13': expected YYYY-MM"));
  run_result_clear (&rr);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *assets = g_build_filename (nfsub_test_srcdir (), "plugins", "report",
                                              NULL);
  g_setenv ("NFSUB_REPORT_ASSETS", assets, FALSE);
  g_autofree char *have_gnuplot = g_find_program_in_path (gnuplot ());
  g_autofree char *have_rrdtool = g_find_program_in_path (rrdtool ());
  if (!have_gnuplot || !have_rrdtool)
    {
      g_test_skip ("gnuplot or rrdtool not installed");
      return g_test_run ();
    }
  world_build ();
  g_test_add_func ("/report/handmade", test_handmade_report);
  g_test_add_func ("/report/browser", test_browser);
  g_test_add_func ("/report/missing-compare-week", test_missing_compare_week);
  g_test_add_func ("/report/ports-no-data", test_ports_no_data);
  g_test_add_func ("/report/no-mobile-users", test_no_mobile_users);
  g_test_add_func ("/report/stored-years", test_stored_years);
  g_test_add_func ("/report/rrdcached", test_rrdcached);
  g_test_add_func ("/report/main-week-without-data", test_main_week_without_data);
  g_test_add_func ("/report/missing-rrd-dir", test_missing_rrd_dir);
  g_test_add_func ("/report/bad-arguments", test_bad_arguments);
  g_test_add_func ("/report/pipeline", test_pipeline);
  int rc = g_test_run ();
  if (!g_getenv ("NFSUB_KEEP"))
    nfsub_test_rm_rf (world.dir);
  else
    g_printerr ("kept %s\n", world.dir);
  return rc;
}
