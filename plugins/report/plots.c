/* report: figures drawn by gnuplot from the usage statistics (Figures 3,
 * 4, 11 densities; 5, 6 scatter) and from the monthly RRD means (Figure 1).
 *
 * Each figure gets a script data/FIG.gp (its variables, then `load` of the
 * installed template) and a data file data/FIG.dat, both kept, so anyone
 * can re-draw or restyle a figure with `gnuplot -e "fmt='png'" data/FIG.gp`.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "report.h"

/* Blue for IN, red for OUT; older weeks lighter and dashed. */
static const char *const in_colors[] = { "#1f5fa8", "#5b8fd0", "#93b7e3", "#c1d5ee" };
static const char *const out_colors[] = { "#c0392b", "#e0725f", "#eda597", "#f5ccc4" };
static const int week_dashes[] = { 1, 2, 3, 4 };

ReportFigure *
report_figure_new (Report *r, const char *id, const char *number,
                   const char *title)
{
  ReportFigure *f = g_new0 (ReportFigure, 1);
  f->id = g_strdup (id);
  f->number = g_strdup (number);
  f->title = g_strdup (title);
  f->caption = g_strdup ("");
  f->tool = g_strdup ("");
  g_ptr_array_add (r->figures, f);
  return f;
}

void
report_figure_free (ReportFigure *f)
{
  g_free (f->id);
  g_free (f->number);
  g_free (f->title);
  g_free (f->caption);
  g_free (f->tool);
  g_free (f->error);
  nfsub_json_free (f->data);
  g_free (f);
}

/* ---- gnuplot script text ---- */

/* gnuplot's single-quoted strings take everything literally except '' */
static void
gp_quote (GString *s, const char *v)
{
  g_string_append_c (s, '\'');
  for (const char *c = v; *c; c++)
    {
      if (*c == '\'')
        g_string_append_c (s, '\'');
      if (*c != '\n')
        g_string_append_c (s, *c);
    }
  g_string_append_c (s, '\'');
}

static void
gp_set_string (GString *s, const char *name, const char *v)
{
  g_string_append_printf (s, "%s = ", name);
  gp_quote (s, v);
  g_string_append_c (s, '\n');
}

static void
gp_set_number (GString *s, const char *name, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append_printf (s, "%s = %s\n", name,
                          g_ascii_formatd (buf, sizeof buf, "%.10g", v));
}

static void
gp_set_string_array (GString *s, const char *name, GPtrArray *values)
{
  /* gnuplot arrays cannot be empty */
  g_string_append_printf (s, "array %s[%u]", name, MAX (values->len, 1));
  if (values->len)
    {
      g_string_append (s, " = [");
      for (guint i = 0; i < values->len; i++)
        {
          if (i)
            g_string_append (s, ", ");
          gp_quote (s, values->pdata[i]);
        }
      g_string_append_c (s, ']');
    }
  g_string_append_c (s, '\n');
}

static void
gp_set_number_array (GString *s, const char *name, GArray *values)
{
  g_string_append_printf (s, "array %s[%u]", name, MAX (values->len, 1));
  if (values->len)
    {
      g_string_append (s, " = [");
      for (guint i = 0; i < values->len; i++)
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];
          g_string_append_printf (s, "%s%s", i ? ", " : "",
                                  g_ascii_formatd (buf, sizeof buf, "%.10g",
                                                   g_array_index (values, double, i)));
        }
      g_string_append_c (s, ']');
    }
  g_string_append_c (s, '\n');
}

/* Writes data/ID.gp = `vars` + load of the template, runs it for PNG and
 * SVG, and checks both files exist and are not empty. */
gboolean
report_plot_gnuplot (Report *r, ReportFigure *fig, const char *template_name,
                     const char *vars, GError **error)
{
  g_free (fig->tool);
  fig->tool = g_strdup ("gnuplot");
  g_autofree char *template = g_build_filename (r->assets_dir, template_name, NULL);
  if (!g_file_test (template, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                   "gnuplot template %s not found", template);
      return FALSE;
    }
  g_autoptr (GString) script = g_string_new (NULL);
  g_string_append_printf (script, "# %s: %s (nfsub report)\n"
                                  "# re-draw: gnuplot -e \"fmt='png'\" THIS_FILE\n"
                                  "if (!exists(\"fmt\")) fmt = 'png'\n",
                          fig->number, fig->title);
  g_autofree char *figbase = g_build_filename (r->fig_dir, fig->id, NULL);
  gp_set_string (script, "figbase", figbase);
  gp_set_string (script, "assets", r->assets_dir);
  g_string_append (script, vars);
  g_string_append (script, "load ");
  gp_quote (script, template);
  g_string_append_c (script, '\n');

  g_autofree char *name = g_strdup_printf ("%s.gp", fig->id);
  g_autofree char *script_path = g_build_filename (r->work_dir, name, NULL);
  if (!g_file_set_contents (script_path, script->str, (gssize) script->len, error))
    return FALSE;

  static const char *const formats[] = { "png", "svg" };
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autofree char *fmt = g_strdup_printf ("fmt='%s'", formats[i]);
      const char *argv[] = { r->gnuplot, "-e", fmt, script_path, NULL };
      g_autofree char *out_path = g_strdup_printf ("%s.%s", figbase, formats[i]);
      g_unlink (out_path);
      if (!report_run_tool (r, argv, NULL, error))
        return FALSE;
      GStatBuf st;
      if (g_stat (out_path, &st) != 0 || st.st_size == 0)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_FAILED,
                       "gnuplot wrote no %s for %s (script %s)", out_path,
                       fig->number, script_path);
          return FALSE;
        }
    }
  fig->made = TRUE;
  return TRUE;
}

static gboolean
write_data_file (Report *r, ReportFigure *fig, GString *text, char **path,
                 GError **error)
{
  g_autofree char *name = g_strdup_printf ("%s.dat", fig->id);
  *path = g_build_filename (r->work_dir, name, NULL);
  return g_file_set_contents (*path, text->str, (gssize) text->len, error);
}

/* A figure that is not drawn says why on the page.  Missing data
 * (NFSUB_ERROR_INPUT: no mobile users, no ports RRD) is a warning; a tool
 * that failed makes the run fail. */
void
report_figure_failed (Report *r, ReportFigure *fig, GError *error)
{
  fig->made = FALSE;
  fig->no_data = g_error_matches (error, NFSUB_ERROR, NFSUB_ERROR_INPUT);
  g_free (fig->error);
  fig->error = g_strdup (error->message);
  report_warn (r, "%s not drawn: %s", fig->number, error->message);
  g_error_free (error);
}

/* ---- densities (Figures 3, 4, 11) ---- */

typedef struct {
  ReportWeek *week;
  ReportDir dir;
  guint rank;   /* 0 = main week, 1.. older */
} DensitySeries;

/* The raw density, or the smoothed one the usage plugin takes the mode
 * from (raw when it gave none). */
static double
series_density (const DensitySeries *ds, ReportService s, guint bin,
                gboolean smoothed)
{
  const UsageDir *ud = &ds->week->usage[s].dir[ds->dir];
  GArray *a = smoothed && ud->density_smoothed->len == ud->density->len
                ? ud->density_smoothed : ud->density;
  return bin < a->len ? g_array_index (a, double, bin) : NAN;
}

static gboolean
series_has_smoothed (const DensitySeries *ds, ReportService s)
{
  const UsageDir *ud = &ds->week->usage[s].dir[ds->dir];
  return ud->density->len > 0 && ud->density_smoothed->len == ud->density->len;
}

/* Lines are the smoothed densities; with show_raw the raw 0.05-decade
 * bins are drawn thin underneath (the main week's figure). */
static void
density_figure (Report *r, ReportService s, const char *id,
                const char *number, gboolean all_weeks, gboolean show_raw,
                const char *title)
{
  ReportFigure *fig = report_figure_new (r, id, number, title);
  GError *error = NULL;
  g_autoptr (GArray) series = g_array_new (FALSE, FALSE, sizeof (DensitySeries));
  /* main week first, then compare weeks, newest first */
  guint rank = 0;
  for (guint i = 0; i < r->weeks->len && (all_weeks || i == 0); i++)
    {
      ReportWeek *w = r->weeks->pdata[i];
      if (w->missing || !w->usage[s].present)
        continue;
      for (int d = 0; d < N_DIRS; d++)
        {
          DensitySeries ds = { w, d, rank };
          g_array_append_val (series, ds);
        }
      rank++;
    }
  gboolean smoothed = series->len > 0;
  for (guint k = 0; k < series->len; k++)
    if (!series_has_smoothed (&g_array_index (series, DensitySeries, k), s))
      smoothed = FALSE;
  show_raw = show_raw && smoothed;
  g_free (fig->caption);
  fig->caption = g_strdup_printf (
    "Probability density of daily usage (a user's weekly total / 7) over "
    "log10(bytes/day), %s users%s.",
    report_service_names[s],
    !smoothed ? ", in 0.05-decade bins"
    : show_raw ? ", smoothed as for the mode (Gaussian kernel, sigma 0.1 "
                 "decade); thin lines: the raw 0.05-decade bins"
               : ", smoothed as for the mode (Gaussian kernel, sigma 0.1 decade)");
  if (series->len == 0)
    {
      g_set_error (&error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
                   "no %s users in the analysed weeks",
                   report_service_names[s]);
      report_figure_failed (r, fig, error);
      return;
    }

  /* all series share the bin grid of the first */
  DensitySeries *first = &g_array_index (series, DensitySeries, 0);
  const UsageService *fu = &first->week->usage[s];
  guint n_bins = 0;
  for (guint k = 0; k < series->len; k++)
    {
      DensitySeries *ds = &g_array_index (series, DensitySeries, k);
      n_bins = MAX (n_bins, ds->week->usage[s].dir[ds->dir].density->len);
    }
  g_autoptr (GString) dat = g_string_new ("# log10(bytes/day)");
  g_autoptr (GPtrArray) titles = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) colors = g_ptr_array_new ();
  g_autoptr (GArray) dashes = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint k = 0; k < series->len; k++)
    {
      DensitySeries *ds = &g_array_index (series, DensitySeries, k);
      char *t = g_strdup_printf ("%s %s", report_dir_titles[ds->dir],
                                 ds->week->label);
      g_string_append_printf (dat, "\t%s", t);
      g_ptr_array_add (titles, t);
      guint c = MIN (ds->rank, G_N_ELEMENTS (in_colors) - 1);
      g_ptr_array_add (colors, (gpointer) (ds->dir == DIR_IN ? in_colors[c]
                                                             : out_colors[c]));
      double dash = week_dashes[MIN (ds->rank, G_N_ELEMENTS (week_dashes) - 1)];
      g_array_append_val (dashes, dash);
    }
  g_string_append_c (dat, '\n');

  NfsubJsonWriter jw;
  g_autoptr (GString) jtext = g_string_new (NULL);
  report_json_writer_init (&jw, jtext);
  nfsub_json_begin_object (&jw, NULL);
  nfsub_json_begin_array (&jw, "x_log10");
  for (guint b = 0; b < n_bins; b++)
    nfsub_json_put_number (&jw, NULL, fu->density_first + b * fu->density_step);
  nfsub_json_end_array (&jw);
  nfsub_json_begin_array (&jw, "series");
  for (guint k = 0; k < series->len; k++)
    {
      DensitySeries *ds = &g_array_index (series, DensitySeries, k);
      nfsub_json_begin_object (&jw, NULL);
      nfsub_json_put_string (&jw, "week", ds->week->date);
      nfsub_json_put_string (&jw, "direction", report_dir_names[ds->dir]);
      nfsub_json_put_string (&jw, "label", titles->pdata[k]);
      nfsub_json_begin_array (&jw, "density");
      for (guint b = 0; b < n_bins; b++)
        nfsub_json_put_number (&jw, NULL, series_density (ds, s, b, FALSE));
      nfsub_json_end_array (&jw);
      if (smoothed)
        {
          nfsub_json_begin_array (&jw, "smoothed");
          for (guint b = 0; b < n_bins; b++)
            nfsub_json_put_number (&jw, NULL, series_density (ds, s, b, TRUE));
          nfsub_json_end_array (&jw);
        }
      nfsub_json_end_object (&jw);
    }
  nfsub_json_end_array (&jw);

  for (guint b = 0; b < n_bins; b++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append (dat, g_ascii_formatd (buf, sizeof buf, "%.4f",
                                             fu->density_first + b * fu->density_step));
      /* the drawn lines, then (show_raw) the raw bins */
      for (guint pass = 0; pass < (show_raw ? 2u : 1u); pass++)
        for (guint k = 0; k < series->len; k++)
          {
            double v = series_density (&g_array_index (series, DensitySeries, k), s, b,
                                       pass == 0 && smoothed);
            g_string_append_c (dat, '\t');
            g_string_append (dat, isfinite (v) ? g_ascii_formatd (buf, sizeof buf, "%.6g", v)
                                               : "NaN");
          }
      g_string_append_c (dat, '\n');
    }

  /* reliability thresholds of the main week (or the newest shown) */
  g_autoptr (GArray) tx = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GPtrArray) tcolor = g_ptr_array_new ();
  g_autoptr (GPtrArray) tlabel = g_ptr_array_new_with_free_func (g_free);
  nfsub_json_begin_object (&jw, "unreliable_below");
  for (int d = 0; d < N_DIRS; d++)
    {
      double v = first->week->usage[s].dir[d].unreliable_below;
      nfsub_json_put_number (&jw, report_dir_names[d], v);
      if (!isfinite (v) || v < 1e4 || v > 1e11)
        continue;
      g_array_append_val (tx, v);
      g_ptr_array_add (tcolor, (gpointer) (d == DIR_IN ? in_colors[0] : out_colors[0]));
      g_autofree char *b = report_format_bytes (v);
      g_ptr_array_add (tlabel, g_strdup_printf ("%s unreliable below %s",
                                                report_dir_titles[d], b));
    }
  nfsub_json_end_object (&jw);
  nfsub_json_end_object (&jw);

  /* what the sampling allows, in words */
  double below[N_DIRS] = { first->week->usage[s].dir[DIR_IN].unreliable_below,
                           first->week->usage[s].dir[DIR_OUT].unreliable_below };
  char *with = NULL;
  if (first->week->usage[s].from_accounting)
    with = g_strdup_printf ("%s  Volumes from RADIUS accounting counters "
                            "(exact: no sampling error).", fig->caption);
  else if (tx->len)
    with = g_strdup_printf ("%s  Dashed vertical lines (week %s): below this "
                            "volume the sampled-NetFlow estimate of a user's "
                            "volume is unreliable (relative standard error "
                            "above the usage plugin's threshold).",
                            fig->caption, first->week->label);
  else if (below[DIR_IN] == 0 && below[DIR_OUT] == 0)
    with = g_strdup_printf ("%s  Week %s: the sampled-NetFlow estimate is "
                            "reliable over the whole range shown (no bin "
                            "above the usage plugin's error threshold).",
                            fig->caption, first->week->label);
  else if (!isfinite (below[DIR_IN]) && !isfinite (below[DIR_OUT]))
    with = g_strdup_printf ("%s  No sampling reliability given (volumes from "
                            "exact accounting counters, or not computed).",
                            fig->caption);
  if (with)
    {
      g_free (fig->caption);
      fig->caption = with;
    }

  fig->data = nfsub_json_parse (jtext->str, jtext->len, "figure data", NULL);
  g_autofree char *dat_path = NULL;
  if (!write_data_file (r, fig, dat, &dat_path, &error))
    {
      report_figure_failed (r, fig, error);
      return;
    }
  g_autoptr (GString) vars = g_string_new (NULL);
  gp_set_string (vars, "datafile", dat_path);
  gp_set_string (vars, "plot_title", fig->title);
  gp_set_number (vars, "nseries", series->len);
  gp_set_number (vars, "show_raw", show_raw);
  gp_set_string_array (vars, "titles", titles);
  gp_set_string_array (vars, "colors", colors);
  /* the raw bins: the same colours, mostly transparent (#AARRGGBB) */
  g_autoptr (GPtrArray) raw_colors = g_ptr_array_new_with_free_func (g_free);
  for (guint k = 0; k < colors->len; k++)
    g_ptr_array_add (raw_colors, g_strdup_printf ("#A0%s", (char *) colors->pdata[k] + 1));
  gp_set_string_array (vars, "raw_colors", raw_colors);
  gp_set_number_array (vars, "dashes", dashes);
  gp_set_number (vars, "nthresholds", tx->len);
  gp_set_number_array (vars, "thresh_x", tx);
  gp_set_string_array (vars, "thresh_color", tcolor);
  gp_set_string_array (vars, "thresh_label", tlabel);
  if (!report_plot_gnuplot (r, fig, "density.gp", vars->str, &error))
    report_figure_failed (r, fig, error);
}

/* ---- scatter (Figures 5, 6) ---- */

static void
scatter_figure (Report *r, ReportService s, const char *id, const char *number)
{
  ReportWeek *main = report_main_week (r);
  const UsageService *u = &main->usage[s];
  g_autofree char *title = g_strdup_printf (
    "%s: IN/OUT daily usage of each user, %s", report_service_titles[s],
    main->label);
  ReportFigure *fig = report_figure_new (r, id, number, title);
  GError *error = NULL;
  guint n = u->present ? u->scatter_in->len : 0;
  guint clamped = 0;
  g_autoptr (GString) dat = g_string_new ("# IN bytes/day\tOUT bytes/day "
                                          "(clamped to 1e4..1e11)\n");
  for (guint i = 0; i < n; i++)
    {
      double in = g_array_index (u->scatter_in, double, i);
      double out = g_array_index (u->scatter_out, double, i);
      if (in < 1e4 || out < 1e4 || in > 1e11 || out > 1e11)
        clamped++;
      in = CLAMP (in, 1e4, 1e11);
      out = CLAMP (out, 1e4, 1e11);
      char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf (dat, "%s\t%s\n",
                              g_ascii_formatd (a, sizeof a, "%.6g", in),
                              g_ascii_formatd (b, sizeof b, "%.6g", out));
    }
  g_free (fig->caption);
  fig->caption = g_strdup_printf (
    "Each point is one user of a reproducible random sample of %u %s users "
    "(daily usage = weekly total / 7).  The dashed diagonal marks IN = OUT; "
    "points below it download more than they upload.%s",
    n, report_service_names[s],
    clamped ? " Users outside 10 KB..100 GB a day are drawn on the axes' "
              "edges." : "");

  NfsubJsonWriter jw;
  g_autoptr (GString) jtext = g_string_new (NULL);
  report_json_writer_init (&jw, jtext);
  nfsub_json_begin_object (&jw, NULL);
  nfsub_json_put_string (&jw, "week", main->date);
  nfsub_json_put_int (&jw, "users", n);
  nfsub_json_put_int (&jw, "on_edge", clamped);
  nfsub_json_begin_array (&jw, "in");
  for (guint i = 0; i < n; i++)
    nfsub_json_put_number (&jw, NULL, g_array_index (u->scatter_in, double, i));
  nfsub_json_end_array (&jw);
  nfsub_json_begin_array (&jw, "out");
  for (guint i = 0; i < n; i++)
    nfsub_json_put_number (&jw, NULL, g_array_index (u->scatter_out, double, i));
  nfsub_json_end_array (&jw);
  nfsub_json_end_object (&jw);
  fig->data = nfsub_json_parse (jtext->str, jtext->len, "figure data", NULL);

  if (n == 0)
    {
      g_set_error (&error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
                   "no %s users in week %s", report_service_names[s], main->date);
      report_figure_failed (r, fig, error);
      return;
    }
  g_autofree char *dat_path = NULL;
  if (!write_data_file (r, fig, dat, &dat_path, &error))
    {
      report_figure_failed (r, fig, error);
      return;
    }
  g_autoptr (GString) vars = g_string_new (NULL);
  g_autofree char *n_text = report_format_thousands (n, 0);
  g_autofree char *sample = g_strdup_printf ("%s users (random sample of %s)",
                                             report_service_titles[s], n_text);
  gp_set_string (vars, "datafile", dat_path);
  gp_set_string (vars, "plot_title", fig->title);
  gp_set_string (vars, "point_color",
                 s == SERVICE_BROADBAND ? "#601f5fa8" : "#60c05a1b");
  gp_set_string (vars, "sample_label", sample);
  if (!report_plot_gnuplot (r, fig, "scatter.gp", vars->str, &error))
    report_figure_failed (r, fig, error);
}

void
report_usage_figures (Report *r)
{
  ReportWeek *main = report_main_week (r);
  g_autofree char *t3 = g_strdup_printf (
    "Broadband: distribution of daily usage, IN and OUT, %s", main->label);
  density_figure (r, SERVICE_BROADBAND, "fig3", "Figure 3", FALSE, TRUE, t3);
  density_figure (r, SERVICE_BROADBAND, "fig4", "Figure 4", TRUE, FALSE,
                  "Broadband: distribution of daily usage by year, IN and OUT");
  scatter_figure (r, SERVICE_BROADBAND, "fig5", "Figure 5");
  scatter_figure (r, SERVICE_MOBILE, "fig6", "Figure 6");
  density_figure (r, SERVICE_MOBILE, "fig11", "Figure 11", TRUE, FALSE,
                  "Mobile: distribution of daily usage by year, IN and OUT");
}

/* ---- Figure 1's normalisation (the figure is drawn in traffic.c) ---- */

static double
series_month (Report *r, const char *key, int index)
{
  for (guint k = 0; k < r->traffic_series->len; k++)
    {
      TrafficSeries *ts = r->traffic_series->pdata[k];
      if (strcmp (ts->key, key) == 0 && index >= 0 && (guint) index < ts->monthly->len)
        return g_array_index (ts->monthly, double, index);
    }
  return NAN;
}

/* What a service's monthly series are divided by: its OUT in the base
 * month, or (mobile data may start later) its first month with OUT. */
double
report_service_base (Report *r, const char *service, int *month_index)
{
  g_autofree char *key = g_strdup_printf ("%s_out", service);
  double v = series_month (r, key, r->base_month_index);
  if (isfinite (v) && v > 0)
    {
      *month_index = r->base_month_index;
      return v;
    }
  for (guint i = 0; i < r->n_months; i++)
    {
      v = series_month (r, key, (int) i);
      if (isfinite (v) && v > 0)
        {
          *month_index = (int) i;
          return v;
        }
    }
  *month_index = -1;
  return NAN;
}
