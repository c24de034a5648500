/* `nfsub graph`: on RRD files filled here with rates of known growth
 * (OUT x1.15 a year, IN x1.11 a year, IPoE half of PPPoE, a daily
 * profile, fixed port shares), the figures are written as real PNG and
 * SVG files and the growth factors and shares printed beside them equal
 * the ones built in. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <rrd.h>

#include "rrdtest.h"

#define Y2019 G_GINT64_CONSTANT (1546300800) /* 2019-01-01 00:00 UTC */
#define Y2024_07 G_GINT64_CONSTANT (1719792000) /* 2024-07-01 */

/* OUT and IN bytes/s of PPPoE at time t: constant within a month, x1.15
 * (OUT) and x1.11 (IN) per 12 months; hour-of-day profile 1 + h/24. */
static double
rate (gint64 t, gboolean out, gboolean with_profile)
{
  g_autoptr (GDateTime) d = g_date_time_new_from_unix_utc (t);
  int months = (g_date_time_get_year (d) - 2019) * 12
               + g_date_time_get_month (d) - 1;
  double r = out ? 1e6 * pow (1.15, months / 12.0)
                 : 1e5 * pow (1.11, months / 12.0);
  if (with_profile)
    r *= 1 + g_date_time_get_hour (d) / 24.0;
  return r;
}

/* An hourly RRD with data sources in, out (1 h step: years of points
 * without years of 5-minute updates; the graph reads any step). */
static void
make_series (const char *path, double factor)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_mkdir_with_parents (dir, 0755);
  const char *create[] = { "DS:in:GAUGE:7200:0:U", "DS:out:GAUGE:7200:0:U",
                           "RRA:AVERAGE:0.5:1:50000",
                           "RRA:AVERAGE:0.5:24:2100", NULL };
  rrd_clear_error ();
  g_assert_cmpint (rrd_create_r (path, 3600, (time_t) Y2019 - 3600, 4,
                                 create), ==, 0);
  g_autoptr (GPtrArray) upd = g_ptr_array_new_with_free_func (g_free);
  for (gint64 t = Y2019; t < Y2024_07; t += 3600)
    {
      /* the value of the hour (t, t+3600] is the rate at its start */
      g_ptr_array_add (upd, g_strdup_printf (
                              "%" G_GINT64_FORMAT ":%.6f:%.6f", t + 3600,
                              factor * rate (t, FALSE, TRUE),
                              factor * rate (t, TRUE, TRUE)));
      if (upd->len == 2000 || t + 3600 >= Y2024_07)
        {
          if (rrd_update_r (path, NULL, (int) upd->len,
                            (const char **) upd->pdata) != 0)
            g_error ("%s: %s", path, rrd_get_error ());
          g_ptr_array_set_size (upd, 0);
        }
    }
}

/* Two weeks of port categories: TCP 443 6 parts, TCP 80 1, TCP dynamic
 * 1, UDP 443 2, other 0; the older week at half the rate. */
static void
make_ports (const char *path, gint64 old_week, gint64 new_week)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_mkdir_with_parents (dir, 0755);
  static const char *const ds[] = { "in_tcp80", "in_tcp443", "in_tcpdyn",
                                    "in_udp443", "in_other", "in_total",
                                    "out_tcp80", "out_tcp443", "out_tcpdyn",
                                    "out_udp443", "out_other", "out_total",
                                    "late_in", "late_out" };
  g_autoptr (GPtrArray) create = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (ds); i++)
    g_ptr_array_add (create, g_strdup_printf ("DS:%s:GAUGE:7200:0:U", ds[i]));
  g_ptr_array_add (create, g_strdup ("RRA:AVERAGE:0.5:1:20000"));
  g_assert_cmpint (rrd_create_r (path, 3600, (time_t) old_week - 3600,
                                 (int) create->len,
                                 (const char **) create->pdata), ==, 0);
  static const double parts[] = { 1, 6, 1, 2, 0 };
  g_autoptr (GPtrArray) upd = g_ptr_array_new_with_free_func (g_free);
  for (gint64 t = old_week; t < new_week + 7 * 86400; t += 3600)
    {
      if (t >= old_week + 7 * 86400 && t < new_week)
        continue;
      if (t == new_week)
        /* after the gap: unknown up to the new week, as nfsub writes it */
        g_ptr_array_add (upd, g_strdup_printf ("%" G_GINT64_FORMAT
                                               ":U:U:U:U:U:U:U:U:U:U:U:U:U:U",
                                               t));
      double scale = (t < new_week ? 0.5 : 1.0) * 1e5
                     * (1 + (t / 3600 % 24) / 24.0);
      GString *s = g_string_new (NULL);
      g_string_printf (s, "%" G_GINT64_FORMAT, t + 3600);
      for (int d = 0; d < 2; d++)
        {
          double total = 0;
          for (int c = 0; c < 5; c++)
            {
              /* OUT is 9 times IN */
              double v = parts[c] * scale * (d ? 0.9 : 0.1);
              total += v;
              g_string_append_printf (s, ":%.6f", v);
            }
          g_string_append_printf (s, ":%.6f", total);
        }
      g_string_append (s, ":0:0");
      g_ptr_array_add (upd, g_string_free (s, FALSE));
    }
  if (rrd_update_r (path, NULL, (int) upd->len, (const char **) upd->pdata)
      != 0)
    g_error ("%s: %s", path, rrd_get_error ());
}

static void
assert_image (const char *path, gboolean svg)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_cmpuint (len, >, 1000);
  if (svg)
    g_assert_nonnull (g_strstr_len (data, (gssize) MIN (len, 400), "<svg"));
  else
    g_assert_true (memcmp (data, "\x89PNG\r\n\x1a\n", 8) == 0);
}

/* The line of `out` starting with `prefix` (after spaces). */
static const char *
line_with (const char *out, const char *needle)
{
  const char *p = strstr (out, needle);
  if (!p)
    g_error ("no '%s' in:\n%s", needle, out);
  return p;
}

static RrdTestEnv *
graph_env (void)
{
  RrdTestEnv *env = rrdtest_env_new ("hourly", 300, NULL);
  rrdtest_env_set_config (env, "hourly", 300, "timezone = UTC\n");
  static const struct {
    const char *name;
    double factor;
  } series[] = { { "broadband-pppoe", 1.0 }, { "broadband-ipoe", 0.5 },
                 { "broadband-all", 1.5 }, { "mobile-all", 0.1 } };
  for (guint i = 0; i < G_N_ELEMENTS (series); i++)
    {
      g_autofree char *file = g_strdup_printf ("%s.rrd", series[i].name);
      g_autofree char *path = g_build_filename (env->rrd_dir, "hourly", file,
                                                NULL);
      make_series (path, series[i].factor);
    }
  return env;
}

static char *
run_graph (RrdTestEnv *env, int *status, const char *const *args)
{
  g_autofree char *templates = g_build_filename (
    g_getenv ("NFSUB_SRCDIR") ? g_getenv ("NFSUB_SRCDIR") : "..", "rrd",
    NULL);
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (all, (char *) args[i]);
  g_ptr_array_add (all, (char *) "--templates");
  g_ptr_array_add (all, templates);
  g_ptr_array_add (all, NULL);
  return rrdtest_plugin_command (env, "hourly", "graph", status,
                                 (const char *const *) all->pdata);
}

static void
test_monthly (void)
{
  g_autoptr (RrdTestEnv) env = graph_env ();
  g_autofree char *png = g_build_filename (env->dir, "fig1.png", NULL);
  g_autofree char *svg = g_build_filename (env->dir, "fig1.svg", NULL);
  int status;
  const char *args[] = { "monthly", "--from", "2019-06", "--to", "2024-06",
                         "--base", "2020-01", "-o", png, NULL };
  g_autofree char *out = run_graph (env, &status, args);
  g_assert_cmpint (status, ==, 0);
  assert_image (png, FALSE);
  /* OUT grows 15% a year: 5 years 1.15^5 = 2.01x, 1.15x a year; IN 11%:
   * 1.69x, 1.11x.  June 2024 against January 2020 (53 months): 1.15^(53/12)
   * = 1.854 for OUT. */
  const char *l = line_with (out, "broadband OUT");
  g_assert_nonnull (strstr (l, "2024-06 1.854"));
  g_assert_nonnull (strstr (l, "year-over-year +15%"));
  g_assert_nonnull (strstr (l, "5-year 2.01x (1.15x a year)"));
  l = line_with (out, "broadband IN");
  g_assert_nonnull (strstr (l, "year-over-year +11%"));
  g_assert_nonnull (strstr (l, "5-year 1.69x (1.11x a year)"));
  /* IPoE carries a third of broadband */
  g_assert_nonnull (strstr (out, "IPoE share 2024-06: 33% of IN, 33% of OUT"));

  const char *args_svg[] = { "monthly", "--service", "mobile", "--from",
                             "2019-06", "--to", "2024-06", "--base", "2020-01",
                             "-o", svg, NULL };
  g_autofree char *out2 = run_graph (env, &status, args_svg);
  g_assert_cmpint (status, ==, 0);
  assert_image (svg, TRUE);
  g_assert_nonnull (strstr (line_with (out2, "mobile OUT"), "year-over-year +15%"));

  /* a base month without data: one clear message */
  const char *bad[] = { "monthly", "--from", "2010-01", "--to", "2012-01",
                        "-o", png, NULL };
  g_autofree char *out3 = run_graph (env, &status, bad);
  g_assert_cmpint (status, !=, 0);
}

static void
test_weekday (void)
{
  g_autoptr (RrdTestEnv) env = graph_env ();
  g_autofree char *png = g_build_filename (env->dir, "fig2.png", NULL);
  int status;
  const char *args[] = { "weekday", "--week", "2024-06-05", "--week",
                         "2023-06-07", "-o", png, NULL };
  g_autofree char *out = run_graph (env, &status, args);
  g_assert_cmpint (status, ==, 0);
  assert_image (png, FALSE);
  /* both weeks are in June: exactly one year of growth, and the mean of
   * the daily profile 1 + h/24 is 1 + 23/48 */
  const char *l = line_with (out, "week of 2024-06-03");
  g_assert_nonnull (strstr (l, "growth vs week of 2023-06-05: OUT 1.15x IN 1.11x"));
  double want = 1.5 * 1e6 * pow (1.15, 65 / 12.0) * (1 + 23.0 / 48) * 8;
  g_autofree char *want_s = g_strdup_printf ("OUT %.4g ", want);
  g_assert_nonnull (strstr (l, want_s));
}

static void
test_ports (void)
{
  g_autoptr (RrdTestEnv) env = rrdtest_env_new ("hourly", 300, NULL);
  rrdtest_env_set_config (env, "hourly", 300, "timezone = UTC\n");
  g_autofree char *path = g_build_filename (env->rrd_dir, "ports",
                                            "broadband-all.rrd", NULL);
  const gint64 w23 = G_GINT64_CONSTANT (1685923200); /* 2023-06-05 */
  const gint64 w24 = G_GINT64_CONSTANT (1717372800); /* 2024-06-03 */
  make_ports (path, w23, w24);
  g_autofree char *svg = g_build_filename (env->dir, "fig7.svg", NULL);
  int status;
  const char *args[] = { "ports", "--week", "2024-06-04", "--compare",
                         "2023-06-08", "-o", svg, NULL };
  g_autofree char *out = run_graph (env, &status, args);
  g_assert_cmpint (status, ==, 0);
  assert_image (svg, TRUE);
  g_assert_nonnull (strstr (line_with (out, "TCP 443"), " 60.0% of bytes"));
  g_assert_nonnull (strstr (line_with (out, "UDP 443"), " 20.0% of bytes"));
  g_assert_nonnull (strstr (line_with (out, "TCP 443"), "2023-06-05 2.00x"));
  g_assert_nonnull (strstr (line_with (out, "total"), "100.0% of bytes"));
  g_autofree char *png = g_build_filename (env->dir, "fig7.png", NULL);
  const char *in_only[] = { "ports", "--week", "2024-06-04", "--direction",
                            "in", "-o", png, "--print", NULL };
  g_autofree char *out2 = run_graph (env, &status, in_only);
  g_assert_cmpint (status, ==, 0);
  assert_image (png, FALSE);
  /* --print shows the filled-in template: the peak normalisation */
  g_assert_nonnull (strstr (out2, "VDEF:peak=t_total,MAXIMUM"));
  g_assert_nonnull (strstr (line_with (out2, "TCP 443"), " 60.0% of bytes"));

  /* a series nothing was written for */
  const char *missing[] = { "ports", "--week", "2024-06-04", "--series",
                            "mobile-all", "-o", png, NULL };
  g_autofree char *out3 = run_graph (env, &status, missing);
  g_assert_cmpint (status, !=, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/graph/monthly", test_monthly);
  g_test_add_func ("/graph/weekday", test_weekday);
  g_test_add_func ("/graph/ports", test_ports);
  return g_test_run ();
}
