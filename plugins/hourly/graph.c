/* `nfsub graph`: the report's time-series figures from nfsub's RRD files,
 * drawn by the rrdtool binary from the templates in rrd/.
 *
 *   monthly  Figure 1: monthly mean traffic, normalised to a base month's
 *            OUT; year-over-year and five-year growth, IPoE share.
 *   weekday  Figures 2, 9, 10: the Monday-Friday mean of each hour of the
 *            day, several weeks overlaid; growth between the weeks.
 *   ports    Figures 7, 8: TCP 80, TCP 443, TCP dynamic, UDP 443 and the
 *            total over a week, normalised to the week's peak; a compare
 *            week overlaid; growth per category.
 *
 * Numbers are computed here from the RRD files (rrd_fetch), printed on
 * stdout and written beside the curves (COMMENT lines).  PNG or SVG by
 * the output's extension or --format.  The rrdtool binary ($RRDTOOL, else
 * from PATH) draws.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <rrd.h>

#include <nfsub/nfsub.h>
#include <nfsub/rrd.h>

#include "hourly.h"

#ifndef NFSUB_RRD_TEMPLATE_DIR
#define NFSUB_RRD_TEMPLATE_DIR NFSUB_DATA_DIR "/rrd"
#endif

#define CMD "nfsub graph"

static const char *const palette[] = { "#1f77b4", "#d62728", "#2ca02c",
                                       "#ff7f0e", "#9467bd", "#8c564b",
                                       "#e377c2", "#7f7f7f" };

/* ------------------------------------------------------------ templates */

/* Variables for one expansion: globals plus, inside `@for LIST@`, the
 * current item's. */
typedef struct {
  GHashTable *vars;  /* name -> value */
  GHashTable *lists; /* name -> GPtrArray of GHashTable (item vars) */
} Template;

static Template *
template_new (void)
{
  Template *t = g_new0 (Template, 1);
  t->vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  t->lists = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                    (GDestroyNotify) g_ptr_array_unref);
  return t;
}

static void
template_free (Template *t)
{
  g_hash_table_unref (t->vars);
  g_hash_table_unref (t->lists);
  g_free (t);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Template, template_free)

static void
template_set (Template *t, const char *name, const char *fmt, ...)
  G_GNUC_PRINTF (3, 4);
static void
template_set (Template *t, const char *name, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_hash_table_replace (t->vars, g_strdup (name), g_strdup_vprintf (fmt, ap));
  va_end (ap);
}

/* A new item of list `name`; set its variables with item_set. */
static GHashTable *
template_add_item (Template *t, const char *name)
{
  GPtrArray *list = g_hash_table_lookup (t->lists, name);
  if (!list)
    {
      list = g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref);
      g_hash_table_insert (t->lists, g_strdup (name), list);
    }
  GHashTable *item = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            g_free);
  g_ptr_array_add (list, item);
  return item;
}

static void
item_set (GHashTable *item, const char *name, const char *fmt, ...)
  G_GNUC_PRINTF (3, 4);
static void
item_set (GHashTable *item, const char *name, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_hash_table_replace (item, g_strdup (name), g_strdup_vprintf (fmt, ap));
  va_end (ap);
}

/* Text for a COMMENT/legend: rrdtool treats ':' as a separator. */
static char *
rrd_escape (const char *text)
{
  GString *s = g_string_new (NULL);
  for (const char *p = text; *p; p++)
    {
      if (*p == ':')
        g_string_append_c (s, '\\');
      g_string_append_c (s, *p);
    }
  return g_string_free (s, FALSE);
}

static char *
substitute (const char *line, GHashTable *item, GHashTable *vars,
            const char *file, guint lineno, GError **error)
{
  GString *out = g_string_new (NULL);
  const char *p = line;
  while (*p)
    {
      const char *at = strchr (p, '@');
      if (!at)
        {
          g_string_append (out, p);
          break;
        }
      const char *end = strchr (at + 1, '@');
      if (!end)
        {
          g_string_append (out, p);
          break;
        }
      g_string_append_len (out, p, at - p);
      g_autofree char *name = g_strndup (at + 1, (gsize) (end - at - 1));
      const char *value = item ? g_hash_table_lookup (item, name) : NULL;
      if (!value)
        value = g_hash_table_lookup (vars, name);
      if (!value)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                       "%s:%u: unknown variable @%s@", file, lineno, name);
          g_string_free (out, TRUE);
          return NULL;
        }
      g_string_append (out, value);
      p = end + 1;
    }
  return g_string_free (out, FALSE);
}

/* Expands template file `path` into rrdtool graph arguments.  Lines:
 * `#` comments and blank lines are skipped; `@for LIST@` ... `@end@`
 * repeat their lines for each item of LIST; every other line is one
 * argument with its @NAME@ variables replaced. */
static GPtrArray *
template_expand (Template *t, const char *path, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; lines[i]; i++)
    {
      char *l = g_strstrip (lines[i]);
      if (*l == '\0' || *l == '#')
        continue;
      if (g_str_has_prefix (l, "@for ") && g_str_has_suffix (l, "@"))
        {
          g_autofree char *name = g_strndup (l + 5, strlen (l) - 6);
          guint body = i + 1, end = body;
          while (lines[end] && strcmp (g_strstrip (lines[end]), "@end@") != 0)
            end++;
          if (!lines[end])
            {
              g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                           "%s:%u: @for %s@ without @end@", path, i + 1, name);
              return NULL;
            }
          GPtrArray *items = g_hash_table_lookup (t->lists, name);
          for (guint k = 0; items && k < items->len; k++)
            for (guint j = body; j < end; j++)
              {
                char *bl = g_strstrip (lines[j]);
                if (*bl == '\0' || *bl == '#')
                  continue;
                char *arg = substitute (bl, items->pdata[k], t->vars, path,
                                        j + 1, error);
                if (!arg)
                  return NULL;
                g_ptr_array_add (args, arg);
              }
          i = end;
          continue;
        }
      char *arg = substitute (l, NULL, t->vars, path, i + 1, error);
      if (!arg)
        return NULL;
      g_ptr_array_add (args, arg);
    }
  return g_steal_pointer (&args);
}

/* ---------------------------------------------------------------- data */

/* Mean of data source `ds` of `file` per `step` seconds over [start, end)
 * (consolidation AVERAGE); NaN where unknown.  n_out values. */
static double *
fetch_series (const char *file, const char *ds, gint64 start, gint64 end,
              gulong step, guint *n_out, GError **error)
{
  time_t s = (time_t) start, e = (time_t) end;
  unsigned long st = step, ds_cnt = 0;
  char **names = NULL;
  rrd_value_t *data = NULL;
  rrd_clear_error ();
  if (rrd_fetch_r (file, "AVERAGE", &s, &e, &st, &ds_cnt, &names, &data) != 0)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_FAILED, "%s: %s", file,
                   rrd_get_error ());
      rrd_clear_error ();
      return NULL;
    }
  int col = -1;
  for (unsigned long i = 0; i < ds_cnt; i++)
    {
      if (strcmp (names[i], ds) == 0)
        col = (int) i;
      rrd_freemem (names[i]);
    }
  rrd_freemem (names);
  if (col < 0)
    {
      rrd_freemem (data);
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_FAILED,
                   "%s: no data source '%s'", file, ds);
      return NULL;
    }
  /* rows are the intervals (s, s+st], (s+st, s+2st] ...; re-bin onto
   * [start, end) in `step` slots by interval start */
  guint n = (guint) ((end - start) / (gint64) step);
  double *out = g_new (double, n);
  for (guint i = 0; i < n; i++)
    out[i] = NAN;
  guint rows = (guint) ((e - s) / (time_t) st);
  for (guint r = 0; r < rows; r++)
    {
      gint64 t0 = (gint64) s + (gint64) r * (gint64) st;
      double v = data[(gsize) r * ds_cnt + (gsize) col];
      if (st == step && t0 >= start && t0 < end)
        out[(t0 - start) / (gint64) step] = v;
      else if (st < step && t0 >= start && t0 < end && !isnan (v))
        {
          /* finer than asked (recent data): average into the slot */
          guint slot = (guint) ((t0 - start) / (gint64) step);
          out[slot] = isnan (out[slot]) ? v * (double) st / (double) step
                                        : out[slot] + v * (double) st / (double) step;
        }
    }
  rrd_freemem (data);
  *n_out = n;
  return out;
}

static char *
series_file (NfsubHost *host, const char *plugin, const char *series)
{
  g_autofree char *file = g_strdup_printf ("%s.rrd", series);
  return g_build_filename (nfsub_host_rrd_dir (host), plugin, file, NULL);
}

/* With rrdcached, files on disk lag behind: flush before reading. */
static gboolean
flush_files (NfsubHost *host, const char *const *files, GError **error)
{
  const char *addr = nfsub_host_rrdcached_address (host);
  if (!addr)
    return TRUE;
  g_autoptr (NfsubRrd) rrd = nfsub_rrd_new ("graph", addr, error);
  if (!rrd)
    return FALSE;
  for (guint i = 0; files[i]; i++)
    if (g_file_test (files[i], G_FILE_TEST_EXISTS)
        && !nfsub_rrd_flush_cached (rrd, files[i], error))
      return FALSE;
  return TRUE;
}

static gboolean
need_file (const char *path, GError **error)
{
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_FAILED,
               "%s: no such RRD file (has the plugin run on this series?)",
               path);
  return FALSE;
}

/* ------------------------------------------------------------- drawing */

typedef struct {
  char *output;
  char *format;     /* PNG or SVG */
  char *templates;
  char *title;
  gboolean print_args;
  GTimeZone *tz;
  NfsubHost *host;
} GraphCommon;

static gboolean
draw (GraphCommon *g, Template *t, const char *name, GError **error)
{
  g_autofree char *file = g_strdup_printf ("%s.rrdgraph", name);
  g_autofree char *path = g_build_filename (g->templates, file, NULL);
  template_set (t, "FORMAT", "%s", g->format);
  if (!g_hash_table_contains (t->vars, "TITLE"))
    template_set (t, "TITLE", "%s", "");
  if (g->title)
    template_set (t, "TITLE", "%s", g->title);
  const char *addr = nfsub_host_rrdcached_address (g->host);
  g_autoptr (GPtrArray) args = template_expand (t, path, error);
  if (!args)
    return FALSE;
  g_ptr_array_insert (args, 0, g_strdup (g->output));
  g_ptr_array_insert (args, 0, g_strdup ("graph"));
  if (addr)
    g_ptr_array_add (args, g_strdup_printf ("--daemon=%s", addr));
  if (g->print_args)
    {
      GString *s = g_string_new ("rrdtool");
      for (guint i = 0; i < args->len; i++)
        {
          g_autofree char *q = g_shell_quote (args->pdata[i]);
          g_string_append_printf (s, " %s", q);
        }
      printf ("%s\n", s->str);
      g_string_free (s, TRUE);
    }
  g_ptr_array_add (args, NULL);
  /* The rrdtool binary draws, not librrd in this process: rrd_graph is
   * not thread-safe, keeps global state and leaks on every call. */
  const char *tool = g_getenv ("RRDTOOL");
  g_ptr_array_insert (args, 0, g_strdup (tool && *tool ? tool : "rrdtool"));
  /* rrdtool draws times in $TZ: the config's zone */
  g_auto (GStrv) env = g_get_environ ();
  const char *tzid = g_time_zone_get_identifier (g->tz);
  if (tzid && strcmp (tzid, "local") != 0)
    env = g_environ_setenv (env, "TZ", tzid, TRUE);
  g_autofree char *out = NULL, *err = NULL;
  int status;
  if (!g_spawn_sync (NULL, (char **) args->pdata, env, G_SPAWN_SEARCH_PATH,
                     NULL, NULL, &out, &err, &status, error))
    {
      g_prefix_error (error, "cannot run %s: ", (char *) args->pdata[0]);
      return FALSE;
    }
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_FAILED,
                   "rrdtool graph (%s): %s", path,
                   err && *err ? g_strstrip (err) : "failed");
      return FALSE;
    }
  return TRUE;
}

static void
add_note (Template *t, const char *text)
{
  printf ("%s\n", text);
  g_autofree char *esc = rrd_escape (text);
  GHashTable *item = template_add_item (t, "NOTE");
  item_set (item, "TEXT", "%s", esc);
}

/* Local midnight of YYYY-MM-DD, or -1. */
static gint64
parse_date (GTimeZone *tz, const char *text, int *y, int *m, int *d)
{
  char tail;
  int yy, mm, dd = 1;
  int n = sscanf (text, "%4d-%2d-%2d%c", &yy, &mm, &dd, &tail);
  if ((n != 3 && n != 2) || mm < 1 || mm > 12 || dd < 1 || dd > 31)
    return -1;
  g_autoptr (GDateTime) dt = g_date_time_new (tz, yy, mm, dd, 0, 0, 0);
  if (!dt)
    return -1;
  if (y)
    *y = yy;
  if (m)
    *m = mm;
  if (d)
    *d = dd;
  return g_date_time_to_unix (dt);
}

/* Monday 00:00 (local) of the week holding `t`. */
static gint64
week_monday (GTimeZone *tz, gint64 t)
{
  g_autoptr (GDateTime) u = g_date_time_new_from_unix_utc (t);
  g_autoptr (GDateTime) l = g_date_time_to_timezone (u, tz);
  g_autoptr (GDateTime) day = g_date_time_new (tz, g_date_time_get_year (l),
                                               g_date_time_get_month (l),
                                               g_date_time_get_day_of_month (l),
                                               0, 0, 0);
  g_autoptr (GDateTime) mon = g_date_time_add_days (
    day, -(g_date_time_get_day_of_week (l) - 1));
  return g_date_time_to_unix (mon);
}

static gint64
add_days (GTimeZone *tz, gint64 t, int days)
{
  g_autoptr (GDateTime) u = g_date_time_new_from_unix_utc (t);
  g_autoptr (GDateTime) l = g_date_time_to_timezone (u, tz);
  g_autoptr (GDateTime) r = g_date_time_add_days (l, days);
  return g_date_time_to_unix (r);
}

static char *
format_day (GTimeZone *tz, gint64 t)
{
  g_autoptr (GDateTime) u = g_date_time_new_from_unix_utc (t);
  g_autoptr (GDateTime) l = g_date_time_to_timezone (u, tz);
  return g_date_time_format (l, "%Y-%m-%d");
}

/* "+14%", "1.72x" or "n/a" into buf */
static const char *
ratio_text (char *buf, gsize len, const char *fmt, double v)
{
  if (isnan (v) || isinf (v))
    g_strlcpy (buf, "n/a", len);
  else
    g_snprintf (buf, len, fmt, v);
  return buf;
}

static double
mean_known (const double *v, guint n, guint *known)
{
  double sum = 0;
  guint k = 0;
  for (guint i = 0; i < n; i++)
    if (!isnan (v[i]))
      {
        sum += v[i];
        k++;
      }
  if (known)
    *known = k;
  return k ? sum / k : NAN;
}

/* ------------------------------------------------------------ monthly */

typedef struct {
  const char *series;
  const char *ds;
  const char *legend;
} Curve;

static int
graph_monthly (GraphCommon *g, int argc, char **argv)
{
  g_autofree char *service = NULL, *from = NULL, *to = NULL, *base = NULL;
  GOptionEntry entries[] = {
    { "service", 's', 0, G_OPTION_ARG_STRING, &service,
      "broadband (PPPoE, IPoE, total; default) or mobile", "S" },
    { "from", 0, 0, G_OPTION_ARG_STRING, &from,
      "first month (default: 5 years before --to)", "YYYY-MM" },
    { "to", 0, 0, G_OPTION_ARG_STRING, &to,
      "last month (default: the last complete month)", "YYYY-MM" },
    { "base", 0, 0, G_OPTION_ARG_STRING, &base,
      "month whose OUT is 1 (default: --from)", "YYYY-MM" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("-o FILE");
  g_option_context_set_summary (ctx, "Figure 1: monthly mean traffic "
                                     "normalised to a base month's OUT.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr (CMD " monthly: %s\n", error->message);
      return 2;
    }
  gboolean mobile = service && strcmp (service, "mobile") == 0;
  if (service && !mobile && strcmp (service, "broadband") != 0)
    {
      g_printerr (CMD " monthly: --service: broadband or mobile\n");
      return 2;
    }
  /* months as (year, month) counted from year 0 */
  int ty, tm;
  if (to)
    {
      if (parse_date (g->tz, to, &ty, &tm, NULL) < 0)
        {
          g_printerr (CMD " monthly: --to: expected YYYY-MM\n");
          return 2;
        }
    }
  else
    {
      g_autoptr (GDateTime) now = g_date_time_new_now (g->tz);
      ty = g_date_time_get_year (now);
      tm = g_date_time_get_month (now) - 1;
      if (tm == 0)
        ty--, tm = 12;
    }
  int last = ty * 12 + (tm - 1);
  int first = last - 60;
  int fy, fm;
  if (from)
    {
      if (parse_date (g->tz, from, &fy, &fm, NULL) < 0)
        {
          g_printerr (CMD " monthly: --from: expected YYYY-MM\n");
          return 2;
        }
      first = fy * 12 + (fm - 1);
    }
  int base_m = first;
  if (base)
    {
      int by, bm;
      if (parse_date (g->tz, base, &by, &bm, NULL) < 0)
        {
          g_printerr (CMD " monthly: --base: expected YYYY-MM\n");
          return 2;
        }
      base_m = by * 12 + (bm - 1);
    }
  if (first > last || base_m < first || base_m > last)
    {
      g_printerr (CMD " monthly: need --from <= --base <= --to\n");
      return 2;
    }
  guint n_months = (guint) (last - first + 1);

  static const Curve bb[] = {
    { "broadband-all", "out", "broadband OUT" },
    { "broadband-all", "in", "broadband IN" },
    { "broadband-pppoe", "out", "PPPoE OUT" },
    { "broadband-pppoe", "in", "PPPoE IN" },
    { "broadband-ipoe", "out", "IPoE OUT" },
    { "broadband-ipoe", "in", "IPoE IN" },
  };
  static const Curve mob[] = {
    { "mobile-all", "out", "mobile OUT" },
    { "mobile-all", "in", "mobile IN" },
  };
  const Curve *curves = mobile ? mob : bb;
  guint n_curves = mobile ? G_N_ELEMENTS (mob) : G_N_ELEMENTS (bb);

  /* month boundaries (local time) */
  g_autofree gint64 *edges = g_new (gint64, n_months + 1);
  for (guint i = 0; i <= n_months; i++)
    {
      int mi = first + (int) i;
      g_autoptr (GDateTime) dt = g_date_time_new (g->tz, mi / 12, mi % 12 + 1,
                                                  1, 0, 0, 0);
      edges[i] = g_date_time_to_unix (dt);
    }
  /* daily means (UTC days of the daily RRA) -> monthly means */
  gint64 day0 = edges[0] - edges[0] % 86400;
  gint64 day1 = edges[n_months] + 86400 - edges[n_months] % 86400;
  double *monthly[8];
  for (guint c = 0; c < n_curves; c++)
    {
      g_autofree char *file = series_file (g->host, "hourly", curves[c].series);
      const char *files[] = { file, NULL };
      guint n_days;
      if (!need_file (file, &error) || !flush_files (g->host, files, &error))
        {
          g_printerr (CMD " monthly: %s\n", error->message);
          return 1;
        }
      g_autofree double *days = fetch_series (file, curves[c].ds, day0, day1,
                                              86400, &n_days, &error);
      if (!days)
        {
          g_printerr (CMD " monthly: %s\n", error->message);
          return 1;
        }
      monthly[c] = g_new (double, n_months);
      for (guint i = 0; i < n_months; i++)
        {
          /* days whose noon falls in the month */
          guint a = (guint) ((edges[i] - day0 + 43200) / 86400);
          guint b = (guint) ((edges[i + 1] - day0 + 43200) / 86400);
          b = MIN (b, n_days);
          guint known;
          double m = a < b ? mean_known (days + a, b - a, &known) : NAN;
          monthly[c][i] = a < b && known * 2 >= b - a ? m : NAN;
        }
    }
  guint bi = (guint) (base_m - first);
  double base_v = monthly[0][bi];
  if (isnan (base_v) || base_v <= 0)
    {
      g_autofree char *bl = g_strdup_printf ("%04d-%02d", base_m / 12,
                                             base_m % 12 + 1);
      g_printerr (CMD " monthly: no data for the base month %s in %s\n", bl,
                  curves[0].series);
      for (guint c = 0; c < n_curves; c++)
        g_free (monthly[c]);
      return 1;
    }

  /* the normalised means go to a temporary RRD, one row per day */
  g_autofree char *tmpdir = g_dir_make_tmp ("nfsub-graph-XXXXXX", &error);
  g_autofree char *data = g_build_filename (tmpdir, "monthly.rrd", NULL);
  g_autoptr (GPtrArray) create = g_ptr_array_new_with_free_func (g_free);
  for (guint c = 0; c < n_curves; c++)
    g_ptr_array_add (create, g_strdup_printf ("DS:c%u:GAUGE:172800:0:U", c));
  g_ptr_array_add (create, g_strdup_printf ("RRA:AVERAGE:0.5:1:%u",
                                            (guint) ((day1 - day0) / 86400 + 2)));
  rrd_clear_error ();
  int rc = rrd_create_r (data, 86400, (time_t) (day0 - 86400),
                         (int) create->len, (const char **) create->pdata);
  g_autoptr (GPtrArray) upd = g_ptr_array_new_with_free_func (g_free);
  for (gint64 d = day0; rc == 0 && d < day1; d += 86400)
    {
      guint i = 0;
      while (i + 1 < n_months && edges[i + 1] <= d + 43200)
        i++;
      GString *s = g_string_new (NULL);
      g_string_printf (s, "%" G_GINT64_FORMAT, d + 86400);
      for (guint c = 0; c < n_curves; c++)
        {
          double v = monthly[c][i] / base_v;
          if (isnan (v))
            g_string_append (s, ":U");
          else
            g_string_append_printf (s, ":%.9g", v);
        }
      g_ptr_array_add (upd, g_string_free (s, FALSE));
    }
  if (rc == 0)
    rc = rrd_update_r (data, NULL, (int) upd->len,
                       (const char **) upd->pdata);
  if (rc != 0)
    {
      g_printerr (CMD " monthly: %s: %s\n", data, rrd_get_error ());
      rrd_clear_error ();
      for (guint c = 0; c < n_curves; c++)
        g_free (monthly[c]);
      return 1;
    }

  g_autoptr (Template) t = template_new ();
  template_set (t, "DATA", "%s", data);
  template_set (t, "START", "%" G_GINT64_FORMAT, edges[0]);
  template_set (t, "END", "%" G_GINT64_FORMAT, edges[n_months]);
  g_autofree char *base_label = g_strdup_printf ("%04d-%02d", base_m / 12,
                                                 base_m % 12 + 1);
  template_set (t, "TITLE", "%s monthly traffic (%s OUT = 1)",
                mobile ? "Mobile" : "Broadband", base_label);
  template_set (t, "BASE", "%s", base_label);
  for (guint c = 0; c < n_curves; c++)
    {
      GHashTable *it = template_add_item (t, "CURVE");
      item_set (it, "ID", "c%u", c);
      item_set (it, "COLOR", "%s", palette[(c / 2) % G_N_ELEMENTS (palette)]);
      item_set (it, "LEGEND", "%s", curves[c].legend);
      item_set (it, "DASHES", "%s", strcmp (curves[c].ds, "in") == 0
                                      ? ":dashes=6,3" : "");
    }

  /* growth: the last month against 12 and 60 months before */
  g_autofree char *last_label = g_strdup_printf ("%04d-%02d", last / 12,
                                                 last % 12 + 1);
  printf ("%s: monthly mean bits/s normalised to %s of %s OUT (%.4g bit/s)\n",
          mobile ? "mobile" : "broadband", base_label, curves[0].series,
          base_v * 8);
  for (guint c = 0; c < n_curves; c++)
    {
      double v = monthly[c][n_months - 1];
      double y1 = n_months > 12 ? monthly[c][n_months - 13] : NAN;
      double y5 = n_months > 60 ? monthly[c][n_months - 61] : NAN;
      char yoy[32], f5[32], rate[32];
      g_autofree char *note = g_strdup_printf (
        "%-14s %s %.3f  year-over-year %s  5-year %s (%s a year)",
        curves[c].legend, last_label, v / base_v,
        ratio_text (yoy, sizeof yoy, "%+.0f%%", 100 * (v / y1 - 1)),
        ratio_text (f5, sizeof f5, "%.2fx", v / y5),
        ratio_text (rate, sizeof rate, "%.2fx", pow (v / y5, 0.2)));
      add_note (t, note);
    }
  if (!mobile)
    {
      double all_out = monthly[0][n_months - 1], all_in = monthly[1][n_months - 1];
      g_autofree char *note = g_strdup_printf (
        "IPoE share %s: %.0f%% of IN, %.0f%% of OUT", last_label,
        100 * monthly[5][n_months - 1] / all_in,
        100 * monthly[4][n_months - 1] / all_out);
      add_note (t, note);
    }
  gboolean ok = draw (g, t, "monthly", &error);
  g_unlink (data);
  g_rmdir (tmpdir);
  for (guint c = 0; c < n_curves; c++)
    g_free (monthly[c]);
  if (!ok)
    {
      g_printerr (CMD " monthly: %s\n", error->message);
      return 1;
    }
  return 0;
}

/* ------------------------------------------------------------ weekday */

static int
graph_weekday (GraphCommon *g, int argc, char **argv)
{
  g_auto (GStrv) weeks = NULL;
  g_autofree char *series = NULL;
  GOptionEntry entries[] = {
    { "week", 'w', 0, G_OPTION_ARG_STRING_ARRAY, &weeks,
      "a week to draw (any date in it; repeat to overlay)", "YYYY-MM-DD" },
    { "series", 's', 0, G_OPTION_ARG_STRING, &series,
      "hourly series (default broadband-all; mobile-all for Figure 10)",
      "NAME" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("-o FILE");
  g_option_context_set_summary (ctx, "Figures 2, 9, 10: the mean of each "
                                     "hour over Monday-Friday, weeks "
                                     "overlaid, IN and OUT.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr (CMD " weekday: %s\n", error->message);
      return 2;
    }
  if (!weeks || !weeks[0])
    {
      g_printerr (CMD " weekday: at least one --week is required\n");
      return 2;
    }
  const char *name = series ? series : "broadband-all";
  NfsubSeriesSpec spec;
  if (!nfsub_series_parse (name, &spec, &error))
    {
      g_printerr (CMD " weekday: --series: %s\n", error->message);
      return 2;
    }
  g_autofree char *file = series_file (g->host, "hourly", name);
  const char *files[] = { file, NULL };
  if (!need_file (file, &error) || !flush_files (g->host, files, &error))
    {
      g_printerr (CMD " weekday: %s\n", error->message);
      return 1;
    }
  guint n = g_strv_length (weeks);
  g_autofree gint64 *mondays = g_new (gint64, n);
  for (guint i = 0; i < n; i++)
    {
      gint64 t = parse_date (g->tz, weeks[i], NULL, NULL, NULL);
      if (t < 0)
        {
          g_printerr (CMD " weekday: --week '%s': expected YYYY-MM-DD\n",
                      weeks[i]);
          return 2;
        }
      mondays[i] = week_monday (g->tz, t + 43200);
    }
  /* the x axis is the newest week's Monday, 00:00-24:00 */
  gint64 ref = mondays[0];
  for (guint i = 1; i < n; i++)
    ref = MAX (ref, mondays[i]);

  g_autoptr (Template) t = template_new ();
  template_set (t, "RRD", "%s", file);
  template_set (t, "REF_START", "%" G_GINT64_FORMAT, ref);
  template_set (t, "REF_END", "%" G_GINT64_FORMAT, add_days (g->tz, ref, 1));
  template_set (t, "TITLE", "%s: mean of Monday-Friday per hour", name);
  g_autofree double *mean_in = g_new (double, n);
  g_autofree double *mean_out = g_new (double, n);
  for (guint i = 0; i < n; i++)
    {
      GHashTable *it = template_add_item (t, "WEEK");
      g_autofree char *label = format_day (g->tz, mondays[i]);
      item_set (it, "I", "%u", i);
      item_set (it, "LABEL", "%s", label);
      item_set (it, "COLOR", "%s", palette[i % G_N_ELEMENTS (palette)]);
      double sin = 0, sout = 0;
      guint kin = 0, kout = 0;
      for (int d = 0; d < 5; d++)
        {
          gint64 s = add_days (g->tz, mondays[i], d);
          gint64 e = add_days (g->tz, mondays[i], d + 1);
          g_autofree char *ks = g_strdup_printf ("D%d", d + 1);
          g_autofree char *ke = g_strdup_printf ("D%dE", d + 1);
          g_autofree char *kshift = g_strdup_printf ("S%d", d + 1);
          item_set (it, ks, "%" G_GINT64_FORMAT, s);
          item_set (it, ke, "%" G_GINT64_FORMAT, e);
          item_set (it, kshift, "%" G_GINT64_FORMAT, ref - s);
          guint nv;
          g_autofree double *vin = fetch_series (file, "in", s, e, 3600, &nv,
                                                 &error);
          g_autofree double *vout = vin ? fetch_series (file, "out", s, e,
                                                        3600, &nv, &error)
                                        : NULL;
          if (!vout)
            {
              g_printerr (CMD " weekday: %s\n", error->message);
              return 1;
            }
          for (guint h = 0; h < nv; h++)
            {
              if (!isnan (vin[h]))
                sin += vin[h], kin++;
              if (!isnan (vout[h]))
                sout += vout[h], kout++;
            }
        }
      mean_in[i] = kin ? sin / kin * 8 : NAN;
      mean_out[i] = kout ? sout / kout * 8 : NAN;
      if (kout < 5 * 24 / 2)
        g_printerr (CMD " weekday: week of %s has %u of 120 weekday hours\n",
                    label, kout);
    }
  printf ("%s: Monday-Friday mean traffic (bit/s)\n", name);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *label = format_day (g->tz, mondays[i]);
      /* growth against the oldest week drawn */
      guint oldest = 0;
      for (guint j = 1; j < n; j++)
        if (mondays[j] < mondays[oldest])
          oldest = j;
      g_autofree char *old_label = format_day (g->tz, mondays[oldest]);
      char go[32], gi[32];
      g_autofree char *note = g_strdup_printf (
        "week of %s  OUT %.4g  IN %.4g  growth vs week of %s: OUT %s IN %s",
        label, mean_out[i], mean_in[i], old_label,
        ratio_text (go, sizeof go, "%.2fx", mean_out[i] / mean_out[oldest]),
        ratio_text (gi, sizeof gi, "%.2fx", mean_in[i] / mean_in[oldest]));
      add_note (t, note);
    }
  if (!draw (g, t, "weekday", &error))
    {
      g_printerr (CMD " weekday: %s\n", error->message);
      return 1;
    }
  return 0;
}

/* -------------------------------------------------------------- ports */

static int
graph_ports (GraphCommon *g, int argc, char **argv)
{
  g_autofree char *week = NULL, *compare = NULL, *series = NULL;
  g_autofree char *direction = NULL;
  GOptionEntry entries[] = {
    { "week", 'w', 0, G_OPTION_ARG_STRING, &week, "the week (any date in it)",
      "YYYY-MM-DD" },
    { "compare", 'C', 0, G_OPTION_ARG_STRING, &compare,
      "a week to overlay, e.g. a year before", "YYYY-MM-DD" },
    { "series", 's', 0, G_OPTION_ARG_STRING, &series,
      "ports series (default broadband-all; mobile-all for Figure 8)", "NAME" },
    { "direction", 'd', 0, G_OPTION_ARG_STRING, &direction,
      "both (default), in or out", "D" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("-o FILE");
  g_option_context_set_summary (ctx, "Figures 7, 8: port categories over a "
                                     "week, normalised to the week's peak.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr (CMD " ports: %s\n", error->message);
      return 2;
    }
  if (!week)
    {
      g_printerr (CMD " ports: --week is required\n");
      return 2;
    }
  const char *name = series ? series : "broadband-all";
  NfsubSeriesSpec spec;
  if (!nfsub_series_parse (name, &spec, &error))
    {
      g_printerr (CMD " ports: --series: %s\n", error->message);
      return 2;
    }
  const char *dir = direction ? direction : "both";
  if (strcmp (dir, "both") != 0 && strcmp (dir, "in") != 0
      && strcmp (dir, "out") != 0)
    {
      g_printerr (CMD " ports: --direction: both, in or out\n");
      return 2;
    }
  g_autofree char *file = series_file (g->host, "ports", name);
  const char *files[] = { file, NULL };
  if (!need_file (file, &error) || !flush_files (g->host, files, &error))
    {
      g_printerr (CMD " ports: %s\n", error->message);
      return 1;
    }
  gint64 wt = parse_date (g->tz, week, NULL, NULL, NULL);
  gint64 ct = compare ? parse_date (g->tz, compare, NULL, NULL, NULL) : 0;
  if (wt < 0 || ct < 0)
    {
      g_printerr (CMD " ports: dates are YYYY-MM-DD\n");
      return 2;
    }
  gint64 mon = week_monday (g->tz, wt + 43200);
  gint64 end = add_days (g->tz, mon, 7);

  g_autoptr (Template) t = template_new ();
  template_set (t, "RRD", "%s", file);
  template_set (t, "START", "%" G_GINT64_FORMAT, mon);
  template_set (t, "END", "%" G_GINT64_FORMAT, end);
  g_autofree char *label = format_day (g->tz, mon);
  template_set (t, "TITLE", "%s: port categories, week of %s (peak = 1)",
                name, label);
  /* "both": IN + OUT; otherwise one direction (the other adds nothing) */
  template_set (t, "IN", "%s", strcmp (dir, "out") == 0 ? "0" : "1");
  template_set (t, "OUT", "%s", strcmp (dir, "in") == 0 ? "0" : "1");
  static const char *const cats[] = { "tcp80", "tcp443", "tcpdyn", "udp443",
                                      "other", "total" };
  static const char *const legends[] = { "TCP 80", "TCP 443",
                                         "TCP dynamic", "UDP 443", "other",
                                         "total" };
  gint64 weeks_start[2] = { mon, 0 };
  guint n_weeks = 1;
  g_autofree char *clabel = NULL;
  if (compare)
    {
      weeks_start[1] = week_monday (g->tz, ct + 43200);
      n_weeks = 2;
      clabel = format_day (g->tz, weeks_start[1]);
      template_add_item (t, "CPEAK");
    }
  /* category totals over each week, for the shares and growth */
  double totals[2][6];
  for (guint w = 0; w < n_weeks; w++)
    for (guint c = 0; c < 6; c++)
      {
        totals[w][c] = 0;
        for (guint d = 0; d < 2; d++)
          {
            if ((d == 0 && strcmp (dir, "out") == 0)
                || (d == 1 && strcmp (dir, "in") == 0))
              continue;
            g_autofree char *ds = g_strdup_printf ("%s_%s", d ? "out" : "in",
                                                   cats[c]);
            guint nv;
            g_autofree double *v = fetch_series (
              file, ds, weeks_start[w], add_days (g->tz, weeks_start[w], 7),
              3600, &nv, &error);
            if (!v)
              {
                g_printerr (CMD " ports: %s\n", error->message);
                return 1;
              }
            for (guint h = 0; h < nv; h++)
              if (!isnan (v[h]))
                totals[w][c] += v[h] * 3600;
          }
      }
  printf ("%s: port categories, week of %s%s%s (%s)\n", name, label,
          compare ? " vs " : "", compare ? clabel : "", dir);
  for (guint c = 0; c < 6; c++)
    {
      GHashTable *it = template_add_item (t, "CAT");
      item_set (it, "CAT", "%s", cats[c]);
      item_set (it, "LEGEND", "%s", legends[c]);
      item_set (it, "COLOR", "%s", c == 5 ? "#000000"
                                          : palette[c % G_N_ELEMENTS (palette)]);
      item_set (it, "WIDTH", "%s", c == 5 ? "2" : "1");
      if (compare)
        {
          /* the compare week's curves: one list item per category */
          GHashTable *ci = template_add_item (t, "CCAT");
          item_set (ci, "CAT", "%s", cats[c]);
          item_set (ci, "LEGEND", "%s", legends[c]);
          item_set (ci, "COLOR", "%s", c == 5 ? "#000000"
                                              : palette[c % G_N_ELEMENTS (palette)]);
          item_set (ci, "CSTART", "%" G_GINT64_FORMAT, weeks_start[1]);
          item_set (ci, "CEND", "%" G_GINT64_FORMAT,
                    add_days (g->tz, weeks_start[1], 7));
          item_set (ci, "SHIFT", "%" G_GINT64_FORMAT, mon - weeks_start[1]);
          item_set (ci, "CLABEL", "%s", clabel);
        }
      double share = totals[0][5] ? 100 * totals[0][c] / totals[0][5] : NAN;
      g_autofree char *note = NULL;
      char yoy[32];
      if (compare)
        note = g_strdup_printf ("%-12s %5.1f%% of bytes, against week of %s %s",
                                legends[c], share, clabel,
                                ratio_text (yoy, sizeof yoy, "%.2fx",
                                            totals[0][c] / totals[1][c]));
      else
        note = g_strdup_printf ("%-12s %5.1f%% of bytes", legends[c], share);
      add_note (t, note);
    }
  if (!draw (g, t, "ports", &error))
    {
      g_printerr (CMD " ports: %s\n", error->message);
      return 1;
    }
  return 0;
}

/* ------------------------------------------------------------ command */

int
hourly_graph_command (NfsubHost *host, int argc, char **argv)
{
  static const char usage[] =
    "Usage: nfsub graph KIND [OPTIONS] -o FILE.png|FILE.svg\n"
    "  monthly   Figure 1: monthly traffic normalised to a base month\n"
    "  weekday   Figures 2, 9, 10: weekday hourly profile, weeks overlaid\n"
    "  ports     Figures 7, 8: port categories over a week, peak = 1\n"
    "Common options: -o FILE, --format PNG|SVG, --templates DIR, --title T,\n"
    "  --print (print the rrdtool command line).  `nfsub graph KIND --help`\n"
    "  lists the options of one kind.\n";
  if (argc < 2 || argv[1][0] == '-')
    {
      g_printerr ("%s", usage);
      return argc >= 2 && (strcmp (argv[1], "--help") == 0
                           || strcmp (argv[1], "-h") == 0)
               ? 0 : 2;
    }
  const char *kind = argv[1];
  GraphCommon g = { 0 };
  g.host = host;
  g.tz = nfsub_host_timezone (host);
  GOptionEntry common[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &g.output, "image to write",
      "FILE" },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &g.format,
      "PNG or SVG (default: from the file name)", "F" },
    { "templates", 0, 0, G_OPTION_ARG_FILENAME, &g.templates,
      "directory of the .rrdgraph templates (default " NFSUB_RRD_TEMPLATE_DIR
      ")", "DIR" },
    { "title", 0, 0, G_OPTION_ARG_STRING, &g.title, "graph title", "T" },
    { "print", 0, 0, G_OPTION_ARG_NONE, &g.print_args,
      "print the rrdtool graph command line", NULL },
    { NULL }
  };
  /* Common options first (ignoring the kind's own), then the kind's. */
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_add_main_entries (ctx, common, NULL);
  g_option_context_set_ignore_unknown_options (ctx, TRUE);
  g_option_context_set_help_enabled (ctx, FALSE);
  g_autoptr (GError) error = NULL;
  int rest_argc = argc - 1;
  char **rest = g_new0 (char *, argc + 1);
  for (int i = 1; i < argc; i++)
    rest[i - 1] = argv[i];
  int status = 2;
  if (!g_option_context_parse (ctx, &rest_argc, &rest, &error))
    g_printerr (CMD ": %s\n", error->message);
  else
    {
      gboolean help = FALSE;
      for (int i = 1; i < rest_argc; i++)
        help = help || strcmp (rest[i], "--help") == 0
               || strcmp (rest[i], "-h") == 0;
      if (!g.output && !help)
        g_printerr (CMD " %s: -o FILE is required\n", kind);
      else
        {
          if (!g.format)
            g.format = g_strdup (g.output && g_str_has_suffix (g.output, ".svg")
                                   ? "SVG" : "PNG");
          for (char *p = g.format; *p; p++)
            *p = g_ascii_toupper (*p);
          if (!g.templates)
            g.templates = g_strdup (NFSUB_RRD_TEMPLATE_DIR);
          if (strcmp (g.format, "PNG") != 0 && strcmp (g.format, "SVG") != 0)
            g_printerr (CMD ": --format: PNG or SVG\n");
          else if (strcmp (kind, "monthly") == 0)
            status = graph_monthly (&g, rest_argc, rest);
          else if (strcmp (kind, "weekday") == 0)
            status = graph_weekday (&g, rest_argc, rest);
          else if (strcmp (kind, "ports") == 0)
            status = graph_ports (&g, rest_argc, rest);
          else
            g_printerr (CMD ": unknown kind '%s'\n%s", kind, usage);
        }
    }
  g_free (rest);
  g_free (g.output);
  g_free (g.format);
  g_free (g.templates);
  g_free (g.title);
  return status;
}
