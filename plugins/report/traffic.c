/* report: the time series, from the RRD files of the hourly and ports
 * plugins (layout: rrd/README.md).
 *
 *   Figure 1      monthly means of the daily points (rrdtool xport),
 *                 drawn by gnuplot: rrdtool graph consolidates by fixed
 *                 steps, never by calendar month
 *   Figures 2, 9, 10  weekday hourly profile: rrdtool graph, each weekday
 *                 of a week fetched on its own (DEF :start/:end), SHIFTed
 *                 onto one reference day and averaged with AVG
 *   Figures 7, 8  port categories over the week / the week's peak total:
 *                 rrdtool graph with a VDEF for the peak
 *   growth and IPoE share tables: the same monthly means and the week sums
 *
 * Every number a figure shows comes from `rrdtool xport` with the very
 * DEF/CDEF lines that `rrdtool graph` draws, so report.json and the image
 * cannot disagree.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "report.h"

/* Series of the hourly plugin: RRD_DIR/hourly/NAME.rrd, DS in and out
 * (bytes/s). */
typedef struct {
  const char *file;  /* hourly series name */
  const char *key;
  const char *label;
} HourlyFile;

static const HourlyFile monthly_files[] = {
  { "broadband-all", "broadband", "Broadband" },
  { "broadband-pppoe", "broadband_pppoe", "Broadband PPPoE" },
  { "broadband-ipoe", "broadband_ipoe", "Broadband IPoE" },
  { "mobile-all", "mobile", "Mobile" },
};

static char *
hourly_path (Report *r, const char *series)
{
  g_autofree char *file = g_strdup_printf ("%s.rrd", series);
  return g_build_filename (r->rrd_dir, "hourly", file, NULL);
}

/* ':' separates DEF fields: escape it in paths */
static char *
def_path (const char *path)
{
  GString *s = g_string_new (NULL);
  for (const char *c = path; *c; c++)
    {
      if (*c == ':')
        g_string_append_c (s, '\\');
      g_string_append_c (s, *c);
    }
  return g_string_free (s, FALSE);
}

static void
add_def (GPtrArray *defs, const char *vname, const char *path, const char *ds,
         guint step, gint64 start, gint64 end)
{
  g_autofree char *p = def_path (path);
  if (start || end)
    g_ptr_array_add (defs, g_strdup_printf (
                             "DEF:%s=%s:%s:AVERAGE:step=%u:start=%" G_GINT64_FORMAT
                             ":end=%" G_GINT64_FORMAT, vname, p, ds, step,
                             start, end));
  else
    g_ptr_array_add (defs, g_strdup_printf ("DEF:%s=%s:%s:AVERAGE:step=%u",
                                            vname, p, ds, step));
}

/* ---- rrdtool xport ---- */

typedef struct {
  gint64 start;   /* end time of the first row */
  guint step;
  guint n_rows;
  guint n_cols;
  double *values; /* row-major, NAN unknown */
} XportData;

static void
xport_data_free (XportData *x)
{
  if (!x)
    return;
  g_free (x->values);
  g_free (x);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (XportData, xport_data_free)

static double
xport_value (const XportData *x, guint row, guint col)
{
  return x->values[(gsize) row * x->n_cols + col];
}

static void
add_daemon (Report *r, GPtrArray *argv)
{
  if (r->rrdcached)
    {
      g_ptr_array_add (argv, g_strdup ("--daemon"));
      g_ptr_array_add (argv, g_strdup (r->rrdcached));
    }
}

/* `exports` are "vname:label" of XPORT lines. */
static XportData *
xport (Report *r, gint64 start, gint64 end, guint step, GPtrArray *defs,
       GPtrArray *exports, GError **error)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (r->rrdtool));
  g_ptr_array_add (argv, g_strdup ("xport"));
  g_ptr_array_add (argv, g_strdup ("--json"));
  add_daemon (r, argv);
  g_ptr_array_add (argv, g_strdup_printf ("--start=%" G_GINT64_FORMAT, start));
  g_ptr_array_add (argv, g_strdup_printf ("--end=%" G_GINT64_FORMAT, end));
  g_ptr_array_add (argv, g_strdup_printf ("--step=%u", step));
  g_ptr_array_add (argv, g_strdup ("--maxrows=1000000"));
  for (guint i = 0; i < defs->len; i++)
    g_ptr_array_add (argv, g_strdup (defs->pdata[i]));
  for (guint i = 0; i < exports->len; i++)
    g_ptr_array_add (argv, g_strdup_printf ("XPORT:%s", (char *) exports->pdata[i]));
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = NULL;
  if (!report_run_tool (r, (const char *const *) argv->pdata, &out, error))
    return NULL;
  g_autoptr (NfsubJson) root = nfsub_json_parse (out, strlen (out),
                                                 "rrdtool xport output", error);
  if (!root)
    return NULL;
  XportData *x = g_new0 (XportData, 1);
  x->start = (gint64) nfsub_json_path_number (root, "meta.start");
  x->step = (guint) nfsub_json_path_number (root, "meta.step");
  const NfsubJson *data = nfsub_json_get (root, "data");
  x->n_rows = nfsub_json_length (data);
  x->n_cols = exports->len;
  x->values = g_new (double, (gsize) MAX (x->n_rows, 1) * MAX (x->n_cols, 1));
  for (guint i = 0; i < x->n_rows; i++)
    {
      const NfsubJson *row = nfsub_json_index (data, i, NULL);
      for (guint j = 0; j < x->n_cols; j++)
        x->values[(gsize) i * x->n_cols + j]
          = nfsub_json_number (nfsub_json_index (row, j, NULL), NAN);
    }
  return x;
}

/* ---- rrdtool graph ---- */

static const char *const graph_style[] = {
  "--width=780", "--height=300", "--border=0",
  "--font=DEFAULT:9:DejaVu Sans", "--font=TITLE:12:DejaVu Sans",
  "--font=AXIS:8:DejaVu Sans", "--font=UNIT:9:DejaVu Sans",
  "--font=LEGEND:9:DejaVu Sans", "--color=BACK#FFFFFF",
  "--color=CANVAS#FFFFFF", "--color=SHADEA#FFFFFF", "--color=SHADEB#FFFFFF",
  "--color=GRID#E4E4E4", "--color=MGRID#C8C8C8", "--color=FONT#202020",
  "--color=AXIS#404040", "--color=ARROW#404040", "--color=FRAME#FFFFFF",
  "--lower-limit=0", "--disable-rrdtool-tag", NULL
};

/* Writes fig/ID.png and fig/ID.svg with the same arguments, and the
 * command line to data/ID.rrdgraph for whoever wants to re-draw it. */
static gboolean
rrd_graph_with (Report *r, ReportFigure *fig, GPtrArray *options,
                GPtrArray *defs, GPtrArray *elements, gboolean daemon,
                GError **error);

/* With rrdcached the graph asks the daemon to flush its files first. */
static gboolean
rrd_graph (Report *r, ReportFigure *fig, GPtrArray *options, GPtrArray *defs,
           GPtrArray *elements, GError **error)
{
  return rrd_graph_with (r, fig, options, defs, elements, TRUE, error);
}

static gboolean
rrd_graph_with (Report *r, ReportFigure *fig, GPtrArray *options,
                GPtrArray *defs, GPtrArray *elements, gboolean daemon,
                GError **error)
{
  g_free (fig->tool);
  fig->tool = g_strdup ("rrdtool graph");
  static const char *const formats[][2] = { { "png", "PNG" }, { "svg", "SVG" } };
  g_autoptr (GString) recipe = g_string_new ("# ");
  g_string_append_printf (recipe, "%s: %s (nfsub report)\n", fig->number,
                          fig->title);
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++)
    {
      g_autofree char *name = g_strdup_printf ("%s.%s", fig->id, formats[f][0]);
      g_autofree char *path = g_build_filename (r->fig_dir, name, NULL);
      g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (argv, g_strdup (r->rrdtool));
      g_ptr_array_add (argv, g_strdup ("graph"));
      g_ptr_array_add (argv, g_strdup (path));
      g_ptr_array_add (argv, g_strdup_printf ("--imgformat=%s", formats[f][1]));
      if (daemon)
        add_daemon (r, argv);
      for (guint i = 0; graph_style[i]; i++)
        g_ptr_array_add (argv, g_strdup (graph_style[i]));
      g_ptr_array_add (argv, g_strdup_printf ("--title=%s", fig->title));
      for (guint i = 0; i < options->len; i++)
        g_ptr_array_add (argv, g_strdup (options->pdata[i]));
      for (guint i = 0; i < defs->len; i++)
        g_ptr_array_add (argv, g_strdup (defs->pdata[i]));
      for (guint i = 0; i < elements->len; i++)
        g_ptr_array_add (argv, g_strdup (elements->pdata[i]));
      g_ptr_array_add (argv, NULL);
      g_unlink (path);
      for (guint i = 0; argv->pdata[i]; i++)
        {
          g_autofree char *q = g_shell_quote (argv->pdata[i]);
          g_string_append_printf (recipe, "%s%s", i ? " \\\n  " : "", q);
        }
      g_string_append (recipe, "\n\n");
      if (!report_run_tool (r, (const char *const *) argv->pdata, NULL, error))
        return FALSE;
      GStatBuf st;
      if (g_stat (path, &st) != 0 || st.st_size == 0)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_FAILED,
                       "rrdtool graph wrote no %s", path);
          return FALSE;
        }
    }
  g_autofree char *rname = g_strdup_printf ("%s.rrdgraph.sh", fig->id);
  g_autofree char *rpath = g_build_filename (r->work_dir, rname, NULL);
  g_file_set_contents (rpath, recipe->str, (gssize) recipe->len, NULL);
  fig->made = TRUE;
  return TRUE;
}


/* ---- months ---- */

static void
month_of (Report *r, gint64 t, int *y, int *m)
{
  g_autoptr (GDateTime) u = g_date_time_new_from_unix_utc (t);
  g_autoptr (GDateTime) l = g_date_time_to_timezone (u, r->tz);
  *y = g_date_time_get_year (l);
  *m = g_date_time_get_month (l);
}

static gint64
month_start (Report *r, int y, int m)
{
  while (m > 12)
    m -= 12, y++;
  while (m < 1)
    m += 12, y--;
  g_autoptr (GDateTime) dt = g_date_time_new (r->tz, y, m, 1, 0, 0, 0);
  return g_date_time_to_unix (dt);
}

static char *
month_label (Report *r, guint index)
{
  int k = r->first_month_mon - 1 + (int) index;
  return g_strdup_printf ("%04d-%02d", r->first_month_year + k / 12, k % 12 + 1);
}

static void
traffic_series_add (Report *r, const char *key, const char *label,
                    GArray *monthly)
{
  TrafficSeries *ts = g_new0 (TrafficSeries, 1);
  ts->key = g_strdup (key);
  ts->label = g_strdup (label);
  ts->monthly = monthly;
  g_ptr_array_add (r->traffic_series, ts);
}

static TrafficSeries *
traffic_series_find (Report *r, const char *key)
{
  for (guint i = 0; i < r->traffic_series->len; i++)
    {
      TrafficSeries *ts = r->traffic_series->pdata[i];
      if (strcmp (ts->key, key) == 0)
        return ts;
    }
  return NULL;
}

static double
monthly_value (Report *r, const char *key, int index)
{
  TrafficSeries *ts = traffic_series_find (r, key);
  if (!ts || index < 0 || (guint) index >= ts->monthly->len)
    return NAN;
  return g_array_index (ts->monthly, double, index);
}

/* Monthly means (bytes/s) of every series from the daily RRA: one xport
 * over up to 20 years back from the end of the main week's month. */
static gboolean
monthly_means (Report *r, int *m_index, GError **error)
{
  ReportWeek *main = report_main_week (r);
  int my, mm;
  month_of (r, main->start_epoch, &my, &mm);
  gint64 end = month_start (r, my, mm + 1);
  gint64 start = month_start (r, my - 20, mm);

  g_autoptr (GPtrArray) defs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) exports = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  for (guint f = 0; f < G_N_ELEMENTS (monthly_files); f++)
    {
      g_autofree char *path = hourly_path (r, monthly_files[f].file);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          report_warn (r, "%s missing: %s left out of Figure 1 and the "
                          "growth table", path, monthly_files[f].label);
          continue;
        }
      for (int d = N_DIRS - 1; d >= 0; d--)
        {
          g_autofree char *v = g_strdup_printf ("m%u%s", f, report_dir_names[d]);
          add_def (defs, v, path, report_dir_names[d], 86400, 0, 0);
          g_ptr_array_add (exports, g_strdup_printf ("%s:%s", v, v));
          g_ptr_array_add (keys, g_strdup_printf ("%s_%s", monthly_files[f].key,
                                                  report_dir_names[d]));
          g_ptr_array_add (labels, g_strdup_printf ("%s %s", monthly_files[f].label,
                                                    report_dir_titles[d]));
        }
    }
  *m_index = -1;
  if (exports->len == 0)
    return TRUE;
  g_autoptr (XportData) x = xport (r, start, end, 86400, defs, exports, error);
  if (!x)
    return FALSE;

  /* month of each daily row (its interval's middle), first month seen */
  guint n_months = 20 * 12 + 1;
  g_autofree double *sum = g_new0 (double, (gsize) n_months * x->n_cols);
  g_autofree guint *cnt = g_new0 (guint, (gsize) n_months * x->n_cols);
  int first = -1;
  for (guint i = 0; i < x->n_rows; i++)
    {
      gint64 mid = x->start + (gint64) i * x->step - x->step / 2;
      int y, m;
      month_of (r, mid, &y, &m);
      int idx = (y - (my - 20)) * 12 + (m - mm);
      if (idx < 0 || (guint) idx >= n_months)
        continue;
      for (guint j = 0; j < x->n_cols; j++)
        {
          double v = xport_value (x, i, j);
          if (!isfinite (v))
            continue;
          sum[(gsize) idx * x->n_cols + j] += v;
          cnt[(gsize) idx * x->n_cols + j]++;
          if (first < 0 || idx < first)
            first = idx;
        }
    }
  if (first < 0)
    return TRUE;
  int k = mm - 1 + first;
  r->first_month_year = my - 20 + k / 12;
  r->first_month_mon = k % 12 + 1;
  r->n_months = n_months - (guint) first;
  for (guint j = 0; j < x->n_cols; j++)
    {
      GArray *a = g_array_sized_new (FALSE, FALSE, sizeof (double), r->n_months);
      for (guint m = (guint) first; m < n_months; m++)
        {
          guint c = cnt[(gsize) m * x->n_cols + j];
          double v = c ? sum[(gsize) m * x->n_cols + j] / c : NAN;
          g_array_append_val (a, v);
        }
      traffic_series_add (r, keys->pdata[j], labels->pdata[j], a);
    }
  *m_index = (int) r->n_months - 1;
  return TRUE;
}

static void
choose_base_month (Report *r)
{
  r->base_month_index = -1;
  if (r->base_month)
    {
      int y, m;
      sscanf (r->base_month, "%4d-%2d", &y, &m);
      int idx = (y - r->first_month_year) * 12 + (m - r->first_month_mon);
      if (idx >= 0 && (guint) idx < r->n_months
          && isfinite (monthly_value (r, "broadband_out", idx))
          && monthly_value (r, "broadband_out", idx) > 0)
        {
          r->base_month_index = idx;
          return;
        }
      report_warn (r, "base month %s has no broadband OUT traffic in the "
                      "RRD files; Figure 1 uses the first month with data",
                   r->base_month);
    }
  for (guint i = 0; i < r->n_months; i++)
    {
      double v = monthly_value (r, "broadband_out", (int) i);
      if (isfinite (v) && v > 0)
        {
          r->base_month_index = (int) i;
          return;
        }
    }
}

/* ---- growth and IPoE share ---- */

static char *
format_bits (double bytes_per_s)
{
  static const char *const units[] = { "bit/s", "kbit/s", "Mbit/s", "Gbit/s",
                                       "Tbit/s" };
  if (!isfinite (bytes_per_s))
    return g_strdup ("");
  double v = bytes_per_s * 8;
  guint u = 0;
  while (v >= 1000 && u + 1 < G_N_ELEMENTS (units))
    v /= 1000, u++;
  return g_strdup_printf ("%.*f %s", v < 10 ? 2 : v < 100 ? 1 : 0, v, units[u]);
}

static void
row_add_owned (ReportRow *row, double v, char *text)
{
  report_row_add (row, v, text);
  g_free (text);
}

static void
growth_table (Report *r, int m_index)
{
  ReportTable *t = report_table_new ("growth", "", "Traffic growth");
  g_autofree char *month = m_index >= 0 ? month_label (r, (guint) m_index)
                                        : g_strdup ("the main week's month");
  g_autofree char *base = r->base_month_index >= 0
                            ? month_label (r, (guint) r->base_month_index)
                            : g_strdup ("none");
  g_free (t->caption);
  t->caption = g_strdup_printf (
    "Monthly average traffic of %s (the month of the analysed week; data "
    "so far), normalised to the service's OUT of %s = 1, and its growth: year "
    "over year = that month against the same month a year before, five-year factor "
    "against five years before, annual rate = factor^(1/5).  Blank: no "
    "data for that month in the RRD files.", month, base);
  g_free (t->unit);
  t->unit = g_strdup ("");
  const char *cols[] = { "Average", "Normalised", "Year over year",
                         "Five-year factor", "Annual rate" };
  for (guint i = 0; i < G_N_ELEMENTS (cols); i++)
    g_ptr_array_add (t->columns, g_strdup (cols[i]));
  int bb_month, mob_month;
  double bb_base = report_service_base (r, "broadband", &bb_month);
  double mob_base = report_service_base (r, "mobile", &mob_month);
  for (guint i = 0; i < r->traffic_series->len; i++)
    {
      TrafficSeries *ts = r->traffic_series->pdata[i];
      double base_out = g_str_has_prefix (ts->key, "mobile") ? mob_base : bb_base;
      ReportRow *row = report_table_add_row (t, ts->label);
      double now = monthly_value (r, ts->key, m_index);
      double y1 = monthly_value (r, ts->key, m_index - 12);
      double y5 = monthly_value (r, ts->key, m_index - 60);
      double norm = now / base_out;
      double yoy = now / y1 - 1;
      double f5 = now / y5;
      double rate = isfinite (f5) && f5 > 0 ? pow (f5, 0.2) : NAN;
      if (!isfinite (yoy))
        yoy = NAN;
      if (!isfinite (f5))
        f5 = NAN;
      row_add_owned (row, now * 8, format_bits (now));
      row_add_owned (row, norm, report_format_thousands (norm, 3));
      g_autofree char *p = report_format_percent (yoy, 0);
      row_add_owned (row, yoy * 100,
                     isfinite (yoy) ? g_strdup_printf ("%s%s%%", yoy >= 0 ? "+" : "", p)
                                    : g_strdup (""));
      g_autofree char *f = report_format_thousands (f5, 2);
      row_add_owned (row, f5, isfinite (f5) ? g_strdup_printf ("%sx", f) : g_strdup (""));
      g_autofree char *a = report_format_thousands (rate, 2);
      row_add_owned (row, rate, isfinite (rate) ? g_strdup_printf ("%sx", a) : g_strdup (""));
    }
  g_ptr_array_add (r->tables, t);
}

/* Bytes of a series over [start, end) (hourly points). */
static gboolean
week_sums (Report *r, ReportWeek *w, const char *series, double sums[N_DIRS],
           GError **error)
{
  g_autofree char *path = hourly_path (r, series);
  sums[DIR_IN] = sums[DIR_OUT] = NAN;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  g_autoptr (GPtrArray) defs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) exports = g_ptr_array_new_with_free_func (g_free);
  for (int d = 0; d < N_DIRS; d++)
    {
      add_def (defs, report_dir_names[d], path, report_dir_names[d], 3600, 0, 0);
      g_ptr_array_add (exports, g_strdup_printf ("%s:%s", report_dir_names[d],
                                                 report_dir_names[d]));
    }
  g_autoptr (XportData) x = xport (r, w->start_epoch, w->end_epoch, 3600, defs,
                                   exports, error);
  if (!x)
    return FALSE;
  for (int d = 0; d < N_DIRS; d++)
    {
      double s = 0;
      guint known = 0;
      for (guint i = 0; i < x->n_rows; i++)
        {
          double v = xport_value (x, i, (guint) d);
          if (isfinite (v))
            s += v * x->step, known++;
        }
      sums[d] = known ? s : NAN;
    }
  return TRUE;
}

static gboolean
ipoe_share_table (Report *r, GError **error)
{
  ReportTable *t = report_table_new ("ipoe_share", "",
                                     "IPoE share of broadband traffic");
  g_free (t->unit);
  t->unit = g_strdup ("% of broadband bytes");
  g_free (t->caption);
  t->caption = g_strdup (
    "Bytes over IPoE / bytes over PPPoE and IPoE, over each analysed week "
    "(hourly series of the hourly plugin).");
  g_autoptr (GPtrArray) weeks = g_ptr_array_new ();
  for (guint i = 0; i < r->weeks->len; i++)
    {
      ReportWeek *w = r->weeks->pdata[i];
      if (!w->missing)
        g_ptr_array_add (weeks, w);
    }
  /* oldest first, like the other tables */
  for (guint i = 1; i < weeks->len; i++)
    for (guint j = i; j > 0
                      && ((ReportWeek *) weeks->pdata[j - 1])->start_epoch
                           > ((ReportWeek *) weeks->pdata[j])->start_epoch; j--)
      {
        gpointer a = weeks->pdata[j - 1];
        weeks->pdata[j - 1] = weeks->pdata[j];
        weeks->pdata[j] = a;
      }
  for (guint i = 0; i < weeks->len; i++)
    g_ptr_array_add (t->columns, g_strdup (((ReportWeek *) weeks->pdata[i])->label));
  ReportRow *rows[N_DIRS];
  for (int d = N_DIRS - 1; d >= 0; d--)
    rows[d] = report_table_add_row (t, d == DIR_IN ? "IN (upload)" : "OUT (download)");
  for (guint i = 0; i < weeks->len; i++)
    {
      double pppoe[N_DIRS], ipoe[N_DIRS];
      if (!week_sums (r, weeks->pdata[i], "broadband-pppoe", pppoe, error)
          || !week_sums (r, weeks->pdata[i], "broadband-ipoe", ipoe, error))
        {
          report_table_free (t);
          return FALSE;
        }
      for (int d = 0; d < N_DIRS; d++)
        {
          double pp = isfinite (pppoe[d]) ? pppoe[d] : 0;
          double ip = isfinite (ipoe[d]) ? ipoe[d] : 0;
          double share = pp + ip > 0 ? ip / (pp + ip) : NAN;
          if (weeks->pdata[i] == report_main_week (r))
            r->main_ipoe_share[d] = share;
          row_add_owned (rows[d], share * 100, report_format_percent (share, 1));
        }
    }
  g_ptr_array_add (r->tables, t);
  return TRUE;
}

/* ---- weekday hourly profile (Figures 2, 9, 10) ---- */

static const char *const in_colors[] = { "#1F5FA8", "#5B8FD0", "#93B7E3", "#C1D5EE" };
static const char *const out_colors[] = { "#C0392B", "#E0725F", "#EDA597", "#F5CCC4" };
static const char *const access_colors[][N_DIRS] = {
  { "#1F5FA8", "#C0392B" }, { "#2E8B57", "#D68910" }
};

typedef struct {
  ReportWeek *week;
  const char *series;  /* hourly series file */
  ReportDir dir;
  const char *color;
  const char *dashes;  /* NULL: solid */
  char *legend;
} ProfileLine;

/* Days of the week that are Monday..Friday (a week need not start on a
 * Monday), as local midnights. */
static guint
weekdays_of (Report *r, ReportWeek *w, gint64 starts[7])
{
  guint n = 0;
  for (int d = 0; d < 7; d++)
    {
      g_autoptr (GDateTime) day = g_date_time_add_days (w->start, d);
      int dow = g_date_time_get_day_of_week (day);
      if (dow <= 5)
        starts[n++] = g_date_time_to_unix (day);
    }
  return n;
}

/* "21:00-22:00" for the hour starting `hour` hours after midnight */
static char *
hour_range (gint64 hour)
{
  return g_strdup_printf ("%02d\\:00-%02d\\:00", (int) hour, (int) (hour + 1) % 24);
}

static void
profile_figure (Report *r, const char *id, const char *number,
                const char *title, GArray *lines)
{
  ReportFigure *fig = report_figure_new (r, id, number, title);
  GError *error = NULL;
  ReportWeek *main = report_main_week (r);
  gint64 ref_days[7];
  weekdays_of (r, main, ref_days);
  gint64 ref = ref_days[0];

  g_autoptr (GPtrArray) defs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) exports = g_ptr_array_new_with_free_func (g_free);
  for (guint k = 0; k < lines->len; k++)
    {
      ProfileLine *pl = &g_array_index (lines, ProfileLine, k);
      g_autofree char *path = hourly_path (r, pl->series);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_set_error (&error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
                       "%s does not exist (the hourly plugin writes it)", path);
          report_figure_failed (r, fig, error);
          return;
        }
      gint64 days[7];
      guint n = weekdays_of (r, pl->week, days);
      GString *avg = g_string_new (NULL);
      g_string_append_printf (avg, "CDEF:p%u=", k);
      for (guint j = 0; j < n; j++)
        {
          g_autofree char *v = g_strdup_printf ("l%ud%u", k, j);
          add_def (defs, v, path, report_dir_names[pl->dir], 3600, days[j],
                   days[j] + 86400);
          g_ptr_array_add (defs, g_strdup_printf ("SHIFT:%s:%" G_GINT64_FORMAT,
                                                  v, ref - days[j]));
          g_string_append_printf (avg, "%s,", v);
        }
      /* AVG skips unknown days; x8: bytes/s to bit/s */
      g_string_append_printf (avg, "%u,AVG,8,*", n);
      g_ptr_array_add (defs, g_string_free (avg, FALSE));
      g_ptr_array_add (exports, g_strdup_printf ("p%u:%s", k, pl->legend));
    }

  /* the numbers first: report.json, the peaks and the axis scale */
  g_autoptr (XportData) x = xport (r, ref, ref + 86400, 3600, defs, exports, &error);
  if (!x)
    {
      report_figure_failed (r, fig, error);
      return;
    }
  double peak[64];
  gint64 peak_hour[64];
  double max_dir[N_DIRS] = { 0, 0 };
  gboolean any = FALSE;
  NfsubJsonWriter jw;
  g_autoptr (GString) j = g_string_new (NULL);
  report_json_writer_init (&jw, j);
  nfsub_json_begin_object (&jw, NULL);
  nfsub_json_put_string (&jw, "unit", "bit/s");
  nfsub_json_begin_array (&jw, "hours");
  for (guint i = 0; i < x->n_rows; i++)
    nfsub_json_put_int (&jw, NULL, (x->start + (gint64) i * x->step - x->step - ref) / 3600);
  nfsub_json_end_array (&jw);
  nfsub_json_begin_array (&jw, "series");
  for (guint k = 0; k < lines->len && k < G_N_ELEMENTS (peak); k++)
    {
      ProfileLine *pl = &g_array_index (lines, ProfileLine, k);
      nfsub_json_begin_object (&jw, NULL);
      nfsub_json_put_string (&jw, "label", pl->legend);
      nfsub_json_put_string (&jw, "week", pl->week->date);
      nfsub_json_put_string (&jw, "series", pl->series);
      nfsub_json_put_string (&jw, "direction", report_dir_names[pl->dir]);
      nfsub_json_begin_array (&jw, "values");
      peak[k] = NAN;
      peak_hour[k] = -1;
      for (guint i = 0; i < x->n_rows; i++)
        {
          double v = xport_value (x, i, k);
          nfsub_json_put_number (&jw, NULL, v);
          if (!isfinite (v))
            continue;
          any = TRUE;
          if (!isfinite (peak[k]) || v > peak[k])
            peak[k] = v, peak_hour[k] = (x->start + (gint64) i * x->step - x->step - ref) / 3600;
        }
      nfsub_json_end_array (&jw);
      nfsub_json_put_number (&jw, "peak", peak[k]);
      if (peak_hour[k] >= 0)
        nfsub_json_put_int (&jw, "peak_hour", peak_hour[k]);
      else
        nfsub_json_put_null (&jw, "peak_hour");
      nfsub_json_end_object (&jw);
      if (isfinite (peak[k]))
        max_dir[pl->dir] = MAX (max_dir[pl->dir], peak[k]);
    }
  nfsub_json_end_array (&jw);

  /* IN a third of OUT or less: on its own (right) axis, scaled so its
   * shape is visible */
  double in_scale = 1;
  if (max_dir[DIR_IN] > 0 && max_dir[DIR_OUT] / max_dir[DIR_IN] >= 3)
    {
      /* the largest 1, 2 or 5 x 10^k that keeps IN's peak at most 80% of
       * OUT's, so the two curves do not trade places */
      double want = 0.8 * max_dir[DIR_OUT] / max_dir[DIR_IN];
      double decade = pow (10, floor (log10 (want)));
      in_scale = want >= 5 * decade ? 5 * decade : want >= 2 * decade ? 2 * decade : decade;
    }
  nfsub_json_put_number (&jw, "in_axis_scale", in_scale);
  nfsub_json_end_object (&jw);
  fig->data = nfsub_json_parse (j->str, j->len, "figure data", NULL);

  g_autoptr (GPtrArray) elements = g_ptr_array_new_with_free_func (g_free);
  for (guint k = 0; k < lines->len && k < G_N_ELEMENTS (peak); k++)
    {
      ProfileLine *pl = &g_array_index (lines, ProfileLine, k);
      gboolean right = pl->dir == DIR_IN && in_scale != 1;
      if (right)
        g_ptr_array_add (defs, g_strdup_printf ("CDEF:s%u=p%u,%g,*", k, k, in_scale));
      else
        g_ptr_array_add (defs, g_strdup_printf ("CDEF:s%u=p%u", k, k));
      g_autofree char *legend = g_strdup_printf ("  %-14s", pl->legend);
      g_ptr_array_add (elements, g_strdup_printf (
                                   "LINE2:s%u%s:%s%s%s", k, pl->color, legend,
                                   pl->dashes ? ":dashes=" : "",
                                   pl->dashes ? pl->dashes : ""));
      if (peak_hour[k] >= 0)
        {
          g_autofree char *hr = hour_range (peak_hour[k]);
          g_ptr_array_add (elements, g_strdup_printf (
                                       "GPRINT:pk%u:peak %%5.1lf %%sbit/s", k));
          g_ptr_array_add (defs, g_strdup_printf ("VDEF:pk%u=p%u,MAXIMUM", k, k));
          g_ptr_array_add (elements, g_strdup_printf (
                                       "COMMENT: at %s%s\\l", hr,
                                       right ? " (right axis)" : ""));
        }
      else
        g_ptr_array_add (elements, g_strdup ("COMMENT:no data\\l"));
    }
  g_ptr_array_add (elements, g_strdup (
                               "COMMENT:Mean of Monday to Friday per hour of day "
                               "(hour starting at the tick, report time zone)\\c"));
  g_autoptr (GPtrArray) options = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (options, g_strdup_printf ("--start=%" G_GINT64_FORMAT, ref));
  g_ptr_array_add (options, g_strdup_printf ("--end=%" G_GINT64_FORMAT, ref + 86400));
  g_ptr_array_add (options, g_strdup ("--step=3600"));
  g_ptr_array_add (options, g_strdup ("--x-grid=HOUR:1:HOUR:3:HOUR:3:0:%H:00"));
  g_ptr_array_add (options, g_strdup ("--units=si"));
  if (in_scale != 1)
    {
      /* rrdtool prints a right axis without SI prefixes: put the unit in
       * its label and scale the numbers to it */
      static const char *const prefixes[] = { "", "k", "M", "G", "T", "P" };
      int e = (int) floor (log10 (max_dir[DIR_IN]) / 3);
      e = CLAMP (e, 0, (int) G_N_ELEMENTS (prefixes) - 1);
      double unit = pow (1000, e);
      double top = max_dir[DIR_IN] / unit;
      g_ptr_array_add (options, g_strdup ("--vertical-label=OUT (download), bit/s"));
      g_ptr_array_add (options, g_strdup_printf ("--right-axis=%.10g:0", 1 / (in_scale * unit)));
      g_ptr_array_add (options, g_strdup_printf ("--right-axis-format=%s",
                                                 top < 10 ? "%.2lf" : top < 100 ? "%.1lf" : "%.0lf"));
      g_ptr_array_add (options, g_strdup_printf ("--right-axis-label=IN (upload), %sbit/s",
                                                 prefixes[e]));
    }
  else
    g_ptr_array_add (options, g_strdup ("--vertical-label=bit/s"));
  if (!rrd_graph (r, fig, options, defs, elements, &error))
    {
      report_figure_failed (r, fig, error);
      return;
    }
  g_free (fig->caption);
  fig->caption = g_strdup_printf (
    "Average traffic per hour of day over Monday to Friday of each week "
    "(hourly means from the hourly plugin's RRD files); OUT = download, "
    "IN = upload.%s%s", in_scale != 1 ? "  IN is drawn against the right axis." : "",
    any ? "" : "  No data in these weeks.");
}

static void
profile_lines_clear (GArray *lines)
{
  for (guint i = 0; i < lines->len; i++)
    g_free (g_array_index (lines, ProfileLine, i).legend);
}

static void
profile_figures (Report *r)
{
  static const char *const week_dashes[] = { NULL, "6,3", "2,2", "8,2,2,2" };
  /* Figures 2 and 10: one service, every week */
  const struct { const char *id, *number, *series, *title; } per_week[] = {
    { "fig2", "Figure 2", "broadband-all",
      "Broadband: weekday traffic by hour of day (PPPoE + IPoE)" },
    { "fig10", "Figure 10", "mobile-all", "Mobile: weekday traffic by hour of day" },
  };
  for (guint f = 0; f < G_N_ELEMENTS (per_week); f++)
    {
      g_autoptr (GArray) lines = g_array_new (FALSE, TRUE, sizeof (ProfileLine));
      guint rank = 0;
      for (guint i = 0; i < r->weeks->len; i++)
        {
          ReportWeek *w = r->weeks->pdata[i];
          if (w->missing)
            continue;
          for (int d = N_DIRS - 1; d >= 0; d--)
            {
              guint c = MIN (rank, G_N_ELEMENTS (in_colors) - 1);
              ProfileLine pl = {
                w, per_week[f].series, d,
                d == DIR_IN ? in_colors[c] : out_colors[c],
                week_dashes[MIN (rank, G_N_ELEMENTS (week_dashes) - 1)],
                g_strdup_printf ("%s %s", report_dir_titles[d], w->label)
              };
              g_array_append_val (lines, pl);
            }
          rank++;
        }
      profile_figure (r, per_week[f].id, per_week[f].number, per_week[f].title,
                      lines);
      profile_lines_clear (lines);
    }
  /* Figure 9: PPPoE and IPoE of the main week */
  g_autoptr (GArray) lines = g_array_new (FALSE, TRUE, sizeof (ProfileLine));
  ReportWeek *main = report_main_week (r);
  const char *access[] = { "broadband-pppoe", "broadband-ipoe" };
  const char *access_label[] = { "PPPoE", "IPoE" };
  for (guint a = 0; a < 2; a++)
    for (int d = N_DIRS - 1; d >= 0; d--)
      {
        ProfileLine pl = { main, access[a], d, access_colors[a][d],
                           d == DIR_IN ? "6,3" : NULL,
                           g_strdup_printf ("%s %s", access_label[a],
                                            report_dir_titles[d]) };
        g_array_append_val (lines, pl);
      }
  g_autofree char *t9 = g_strdup_printf (
    "Broadband: weekday traffic by hour of day, PPPoE and IPoE, %s", main->label);
  profile_figure (r, "fig9", "Figure 9", t9, lines);
  profile_lines_clear (lines);
}

/* ---- port categories over the week (Figures 7, 8) ---- */

/* Series of the ports plugin: RRD_DIR/ports/SERVICE-all.rrd, DS
 * in_CATEGORY and out_CATEGORY (bytes/s; plugins/ports/README.md). */
typedef struct {
  const char *ds;     /* category name in the DS: "tcp80" */
  const char *label;
  const char *color;
} PortCategory;

static const PortCategory port_categories[] = {
  { "total", "Total", "#303030" },
  { "tcp443", "TCP 443", "#C0392B" },
  { "udp443", "UDP 443", "#D68910" },
  { "tcp80", "TCP 80", "#1F5FA8" },
  { "tcpdyn", "TCP dynamic (>= 1024)", "#2E8B57" },
};

static char *
ports_path (Report *r, ReportService s)
{
  g_autofree char *file = g_strdup_printf ("%s-all.rrd", report_service_names[s]);
  return g_build_filename (r->rrd_dir, "ports", file, NULL);
}

static void
ports_figure (Report *r, ReportService s, const char *id, const char *number)
{
  ReportWeek *main = report_main_week (r);
  g_autofree char *title = g_strdup_printf (
    "%s: traffic by port over one week, %s (peak = 1)",
    report_service_titles[s], main->label);
  ReportFigure *fig = report_figure_new (r, id, number, title);
  GError *error = NULL;
  g_autofree char *path = ports_path (r, s);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (&error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
                   "%s does not exist (the ports plugin writes it)", path);
      report_figure_failed (r, fig, error);
      return;
    }
  g_autoptr (GPtrArray) defs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) elements = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) exports = g_ptr_array_new_with_free_func (g_free);
  for (guint c = 0; c < G_N_ELEMENTS (port_categories); c++)
    {
      const PortCategory *pc = &port_categories[c];
      /* the ports plugin's DS: in_tcp80 ... in_total, out_... */
      g_autofree char *in = g_strdup_printf ("in_%s", pc->ds);
      g_autofree char *out = g_strdup_printf ("out_%s", pc->ds);
      add_def (defs, in, path, in, 3600, 0, 0);
      add_def (defs, out, path, out, 3600, 0, 0);
      g_ptr_array_add (defs, g_strdup_printf ("CDEF:%s=%s,%s,ADDNAN", pc->ds, in, out));
    }
  g_ptr_array_add (defs, g_strdup ("VDEF:peak=total,MAXIMUM"));
  for (guint c = 0; c < G_N_ELEMENTS (port_categories); c++)
    {
      const PortCategory *pc = &port_categories[c];
      g_ptr_array_add (defs, g_strdup_printf ("CDEF:n_%s=%s,peak,/", pc->ds, pc->ds));
      g_ptr_array_add (exports, g_strdup_printf ("n_%s:%s", pc->ds, pc->label));
    }
  g_ptr_array_add (exports, g_strdup ("total:total bytes/s"));

  g_autoptr (XportData) x = xport (r, main->start_epoch, main->end_epoch, 3600,
                                   defs, exports, &error);
  if (!x)
    {
      report_figure_failed (r, fig, error);
      return;
    }
  guint n_cat = G_N_ELEMENTS (port_categories);
  double peak = NAN;
  gint64 peak_start = -1;
  for (guint i = 0; i < x->n_rows; i++)
    {
      double v = xport_value (x, i, n_cat);
      if (isfinite (v) && (!isfinite (peak) || v > peak))
        peak = v, peak_start = x->start + (gint64) i * x->step - x->step;
    }
  NfsubJsonWriter jw;
  g_autoptr (GString) j = g_string_new (NULL);
  report_json_writer_init (&jw, j);
  nfsub_json_begin_object (&jw, NULL);
  nfsub_json_put_int (&jw, "start", x->start - x->step);
  nfsub_json_put_int (&jw, "step", x->step);
  nfsub_json_put_number (&jw, "peak_bytes_per_s", peak);
  if (peak_start >= 0)
    nfsub_json_put_int (&jw, "peak_start", peak_start);
  else
    nfsub_json_put_null (&jw, "peak_start");
  nfsub_json_begin_array (&jw, "series");
  for (guint c = 0; c < n_cat; c++)
    {
      nfsub_json_begin_object (&jw, NULL);
      nfsub_json_put_string (&jw, "category", port_categories[c].ds);
      nfsub_json_put_string (&jw, "label", port_categories[c].label);
      nfsub_json_begin_array (&jw, "values");
      for (guint i = 0; i < x->n_rows; i++)
        nfsub_json_put_number (&jw, NULL, xport_value (x, i, c));
      nfsub_json_end_array (&jw);
      nfsub_json_end_object (&jw);
    }
  nfsub_json_end_array (&jw);
  nfsub_json_end_object (&jw);
  fig->data = nfsub_json_parse (j->str, j->len, "figure data", NULL);
  if (!isfinite (peak) || peak <= 0)
    {
      g_set_error (&error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
                   "no %s port traffic in %s for the week %s",
                   report_service_names[s], path, main->date);
      report_figure_failed (r, fig, error);
      return;
    }

  for (guint c = 0; c < n_cat; c++)
    {
      const PortCategory *pc = &port_categories[c];
      g_ptr_array_add (elements, g_strdup_printf ("LINE%s:n_%s%s:  %s",
                                                  c == 0 ? "2" : "1.5", pc->ds,
                                                  pc->color, pc->label));
    }
  g_ptr_array_add (elements, g_strdup ("COMMENT:\\n"));
  g_autoptr (GDateTime) pk_utc = g_date_time_new_from_unix_utc (peak_start);
  g_autoptr (GDateTime) pk = g_date_time_to_timezone (pk_utc, r->tz);
  g_autofree char *when = g_date_time_format (pk, "%a %d %b %H\\:%M");
  g_autofree char *bits = format_bits (peak);
  g_ptr_array_add (elements, g_strdup_printf (
                               "COMMENT:Peak of the total (= 1)\\: %s, hour "
                               "from %s\\l", bits, when));

  g_autoptr (GPtrArray) options = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (options, g_strdup_printf ("--start=%" G_GINT64_FORMAT, main->start_epoch));
  g_ptr_array_add (options, g_strdup_printf ("--end=%" G_GINT64_FORMAT, main->end_epoch));
  g_ptr_array_add (options, g_strdup ("--step=3600"));
  g_ptr_array_add (options, g_strdup ("--vertical-label=traffic / week's peak"));
  g_ptr_array_add (options, g_strdup ("--upper-limit=1.05"));
  g_ptr_array_add (options, g_strdup ("--rigid"));
  g_ptr_array_add (options, g_strdup ("--x-grid=HOUR:6:DAY:1:DAY:1:86400:%a %d %b"));
  if (!rrd_graph (r, fig, options, defs, elements, &error))
    {
      report_figure_failed (r, fig, error);
      return;
    }
  g_free (fig->caption);
  fig->caption = g_strdup_printf (
    "Hourly traffic (IN + OUT) of %s users by port category over the 7 days "
    "from %s, divided by the week's peak hour of the total.  TCP dynamic: "
    "TCP whose lower port is 1024 or above (mostly P2P).",
    report_service_names[s], main->date);
}

/* ---- Figure 1: monthly traffic ---- */

/* Calendar months are not a fixed step, so rrdtool cannot consolidate
 * them: the monthly means (normalised) go into an RRD of their own, one
 * row per day holding its month's value, kept as data/fig1-monthly.rrd,
 * and rrdtool graph draws that. */
static const struct { const char *key, *color, *dashes; } monthly_style[] = {
  { "broadband_out", "#1F3F7A", NULL },
  { "broadband_in", "#1F3F7A", "6,3" },
  { "broadband_pppoe_out", "#5B8FD0", NULL },
  { "broadband_pppoe_in", "#5B8FD0", "6,3" },
  { "broadband_ipoe_out", "#2E8B57", NULL },
  { "broadband_ipoe_in", "#2E8B57", "6,3" },
  { "mobile_out", "#C0392B", NULL },
  { "mobile_in", "#C0392B", "6,3" },
};

static void
monthly_figure (Report *r)
{
  ReportFigure *fig = report_figure_new (
    r, "fig1", "Figure 1", "Monthly average traffic, normalised");
  GError *error = NULL;
  int bb_month = -1, mob_month = -1;
  double bb_base = report_service_base (r, "broadband", &bb_month);
  double mob_base = report_service_base (r, "mobile", &mob_month);
  if (bb_month < 0 && mob_month < 0)
    {
      g_set_error (&error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
                   "no month with OUT traffic in the hourly RRD files");
      report_figure_failed (r, fig, error);
      return;
    }
  g_autofree char *bb_label = bb_month >= 0 ? month_label (r, (guint) bb_month)
                                            : g_strdup ("-");
  g_autofree char *mob_label = mob_month >= 0 ? month_label (r, (guint) mob_month)
                                              : g_strdup ("-");
  g_free (fig->title);
  if (bb_month == mob_month)
    fig->title = g_strdup_printf ("Monthly average traffic (%s OUT of each "
                                  "service = 1)", bb_label);
  else
    fig->title = g_strdup_printf ("Monthly average traffic (broadband OUT of "
                                  "%s = 1, mobile OUT of %s = 1)", bb_label,
                                  mob_label);
  g_free (fig->caption);
  fig->caption = g_strdup_printf (
    "Average traffic (bit/s) of each calendar month, the mean of the daily "
    "points of the hourly plugin's RRD files; broadband divided by its OUT "
    "of %s, mobile by its OUT of %s.  Broadband = PPPoE + IPoE.  Solid: OUT "
    "(download), dashed: IN (upload).  Each month is drawn flat over its "
    "days.", bb_label, mob_label);

  /* the daily rows of the figure's RRD */
  gint64 t0 = month_start (r, r->first_month_year, r->first_month_mon);
  gint64 t1 = month_start (r, r->first_month_year,
                           r->first_month_mon + (int) r->n_months);
  gint64 day0 = t0 - ((t0 % 86400) + 86400) % 86400;
  g_autofree char *rrd = g_build_filename (r->work_dir, "fig1-monthly.rrd", NULL);
  g_unlink (rrd);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (r->rrdtool));
  g_ptr_array_add (argv, g_strdup ("create"));
  g_ptr_array_add (argv, g_strdup (rrd));
  g_ptr_array_add (argv, g_strdup_printf ("--start=%" G_GINT64_FORMAT, day0 - 86400));
  g_ptr_array_add (argv, g_strdup ("--step=86400"));
  for (guint k = 0; k < r->traffic_series->len; k++)
    g_ptr_array_add (argv, g_strdup_printf ("DS:s%u:GAUGE:172800:U:U", k));
  g_ptr_array_add (argv, g_strdup_printf ("RRA:AVERAGE:0.5:1:%" G_GINT64_FORMAT,
                                          (t1 - day0) / 86400 + 2));
  g_ptr_array_add (argv, NULL);
  if (!report_run_tool (r, (const char *const *) argv->pdata, NULL, &error))
    {
      report_figure_failed (r, fig, error);
      return;
    }
  g_autoptr (GPtrArray) upd = g_ptr_array_new_with_free_func (g_free);
  for (gint64 d = day0; d < t1; d += 86400)
    {
      int y, m;
      month_of (r, d + 43200, &y, &m);
      int idx = (y - r->first_month_year) * 12 + (m - r->first_month_mon);
      GString *row = g_string_new (NULL);
      g_string_append_printf (row, "%" G_GINT64_FORMAT, d + 86400);
      for (guint k = 0; k < r->traffic_series->len; k++)
        {
          TrafficSeries *ts = r->traffic_series->pdata[k];
          double base = g_str_has_prefix (ts->key, "mobile") ? mob_base : bb_base;
          double v = idx >= 0 && (guint) idx < ts->monthly->len
                       ? g_array_index (ts->monthly, double, idx) / base : NAN;
          if (isfinite (v))
            g_string_append_printf (row, ":%.10g", v);
          else
            g_string_append (row, ":U");
        }
      g_ptr_array_add (upd, g_string_free (row, FALSE));
      if (upd->len == 2000 || d + 86400 >= t1)
        {
          g_ptr_array_insert (upd, 0, g_strdup (rrd));
          g_ptr_array_insert (upd, 0, g_strdup ("update"));
          g_ptr_array_insert (upd, 0, g_strdup (r->rrdtool));
          g_ptr_array_add (upd, NULL);
          gboolean ok = report_run_tool (r, (const char *const *) upd->pdata, NULL, &error);
          g_ptr_array_set_size (upd, 0);
          if (!ok)
            {
              report_figure_failed (r, fig, error);
              return;
            }
        }
    }

  g_autoptr (GPtrArray) defs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) elements = g_ptr_array_new_with_free_func (g_free);
  for (guint k = 0; k < r->traffic_series->len; k++)
    {
      TrafficSeries *ts = r->traffic_series->pdata[k];
      const char *color = "#555555", *dashes = NULL;
      for (guint st = 0; st < G_N_ELEMENTS (monthly_style); st++)
        if (strcmp (ts->key, monthly_style[st].key) == 0)
          color = monthly_style[st].color, dashes = monthly_style[st].dashes;
      g_autofree char *v = g_strdup_printf ("s%u", k);
      add_def (defs, v, rrd, v, 86400, 0, 0);
      g_ptr_array_add (elements, g_strdup_printf ("LINE2:%s%s:  %-20s%s%s", v, color,
                                                  ts->label,
                                                  dashes ? ":dashes=" : "",
                                                  dashes ? dashes : ""));
      if (k % 2 == 1)
        g_ptr_array_add (elements, g_strdup ("COMMENT:\\l"));
    }
  g_autoptr (GPtrArray) options = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (options, g_strdup_printf ("--start=%" G_GINT64_FORMAT, t0));
  g_ptr_array_add (options, g_strdup_printf ("--end=%" G_GINT64_FORMAT, t1));
  g_ptr_array_add (options, g_strdup ("--step=86400"));
  g_ptr_array_add (options, g_strdup ("--vertical-label=traffic / base month's OUT"));
  g_ptr_array_add (options, g_strdup ("--height=360"));
  if (r->n_months > 24)
    g_ptr_array_add (options, g_strdup ("--x-grid=MONTH:1:YEAR:1:YEAR:1:0:%Y"));
  else if (r->n_months > 3)
    g_ptr_array_add (options, g_strdup ("--x-grid=MONTH:1:MONTH:3:MONTH:3:0:%Y-%m"));
  else /* a label in the middle of each month, not at its cut-off end */
    g_ptr_array_add (options, g_strdup ("--x-grid=DAY:1:MONTH:1:MONTH:1:2592000:%B %Y"));
  /* the figure's own RRD is not the daemon's business */
  if (!rrd_graph_with (r, fig, options, defs, elements, FALSE, &error))
    report_figure_failed (r, fig, error);
}

/* ---- entry point ---- */

static void
write_traffic_json (Report *r, int m_index)
{
  NfsubJsonWriter jw;
  g_autoptr (GString) j = g_string_new (NULL);
  report_json_writer_init (&jw, j);
  nfsub_json_begin_object (&jw, NULL);
  nfsub_json_put_string (&jw, "unit", "bytes/s, monthly mean of daily means");
  /* months the report lacks are null */
  g_autofree char *first_month = r->n_months ? month_label (r, 0) : NULL;
  g_autofree char *base_month = r->base_month_index >= 0
                                  ? month_label (r, (guint) r->base_month_index)
                                  : NULL;
  g_autofree char *report_month = m_index >= 0 ? month_label (r, (guint) m_index)
                                               : NULL;
  nfsub_json_put_string (&jw, "first_month", first_month);
  nfsub_json_put_string (&jw, "base_month", base_month);
  nfsub_json_put_string (&jw, "report_month", report_month);
  nfsub_json_begin_array (&jw, "months");
  for (guint i = 0; i < r->n_months; i++)
    {
      g_autofree char *m = month_label (r, i);
      nfsub_json_put_string (&jw, NULL, m);
    }
  nfsub_json_end_array (&jw);
  nfsub_json_begin_object (&jw, "series");
  int bb_month, mob_month;
  double bb_base = report_service_base (r, "broadband", &bb_month);
  double mob_base = report_service_base (r, "mobile", &mob_month);
  for (guint k = 0; k < r->traffic_series->len; k++)
    {
      TrafficSeries *ts = r->traffic_series->pdata[k];
      double base = g_str_has_prefix (ts->key, "mobile") ? mob_base : bb_base;
      nfsub_json_begin_object (&jw, ts->key);
      nfsub_json_put_string (&jw, "label", ts->label);
      nfsub_json_begin_array (&jw, "monthly");
      for (guint i = 0; i < ts->monthly->len; i++)
        nfsub_json_put_number (&jw, NULL, g_array_index (ts->monthly, double, i));
      nfsub_json_end_array (&jw);
      nfsub_json_begin_array (&jw, "normalised");
      for (guint i = 0; i < ts->monthly->len; i++)
        nfsub_json_put_number (&jw, NULL, g_array_index (ts->monthly, double, i) / base);
      nfsub_json_end_array (&jw);
      nfsub_json_end_object (&jw);
    }
  nfsub_json_end_object (&jw);
  nfsub_json_end_object (&jw);
  r->traffic_json = nfsub_json_parse (j->str, j->len, "traffic", NULL);
}

gboolean
report_traffic (Report *r, GError **error)
{
  int m_index = -1;
  if (!monthly_means (r, &m_index, error))
    return FALSE;
  choose_base_month (r);
  write_traffic_json (r, m_index);
  monthly_figure (r);
  profile_figures (r);
  ports_figure (r, SERVICE_BROADBAND, "fig7", "Figure 7");
  ports_figure (r, SERVICE_MOBILE, "fig8", "Figure 8");
  growth_table (r, m_index);
  return ipoe_share_table (r, error);
}
