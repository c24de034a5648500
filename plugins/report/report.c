/* report: `nfsub report --week YYYY-MM-DD [--compare YYYY-MM-DD ...] -o DIR`
 *
 * The weekly report of docs/analyses.md for broadband and mobile: tables,
 * figures (PNG and SVG), report.json and one self-contained index.html.
 *
 * The report computes no per-user statistics itself.  It runs the other
 * plugins' commands through this same nfsub binary (/proc/self/exe) with
 * the same config -- `nfsub usage --week W --json F`, `nfsub ports --week W
 * --json F` -- and reads the RRD files the hourly plugin keeps with
 * `rrdtool xport` and `rrdtool graph`.  So the host knows no plugin, the
 * plugins link no plugin, and every number on the page is one an operator
 * can get from the command that owns it.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "report.h"

/* `nfsub ports --week`'s exit status for "no data for that week"
 * (plugins/ports/README.md, "Exit status") */
#define PORTS_EXIT_NO_DATA 3

const char *const report_service_names[N_SERVICES] = { "broadband", "mobile" };
const char *const report_service_titles[N_SERVICES] = { "Broadband", "Mobile" };
const char *const report_dir_names[N_DIRS] = { "in", "out" };
const char *const report_dir_titles[N_DIRS] = { "IN", "OUT" };

static const char *const config_keys[] = {
  "gnuplot", "rrdtool", "assets", "title", "base_month", NULL
};

void
report_warn (Report *r, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  nfsub_warning (REPORT_PLUGIN, "%s", msg);
  g_ptr_array_add (r->warnings, msg);
}

ReportWeek *
report_main_week (Report *r)
{
  return r->weeks->pdata[0];
}

/* A compare week about `years` before the main one (+-60 days). */
ReportWeek *
report_week_years_before (Report *r, int years)
{
  ReportWeek *main = report_main_week (r);
  for (guint i = 1; i < r->weeks->len; i++)
    {
      ReportWeek *w = r->weeks->pdata[i];
      double days = (double) (main->start_epoch - w->start_epoch) / 86400.0;
      if (!w->missing && fabs (days - 365.25 * years) <= 60)
        return w;
    }
  return NULL;
}

/* Runs a tool; its stdout in *out (may be NULL).  A failure names the
 * command and carries the tool's own error text; a tool that ran and
 * exited non-zero gives an error of G_SPAWN_EXIT_ERROR with its exit
 * status as the code. */
gboolean
report_run_tool (Report *r, const char *const *argv, char **out,
                 GError **error)
{
  g_autofree char *std_out = NULL, *std_err = NULL;
  int status = 0;
  g_autoptr (GError) local = NULL;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
                     NULL, &std_out, &std_err, &status, &local))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_FAILED,
                   "cannot run %s: %s", argv[0], local->message);
      return FALSE;
    }
  if (!g_spawn_check_wait_status (status, &local))
    {
      g_autofree char *cmd = g_strjoinv (" ", (char **) argv);
      g_strstrip (std_err);
      gboolean exited = local->domain == G_SPAWN_EXIT_ERROR;
      g_set_error (error, exited ? G_SPAWN_EXIT_ERROR : NFSUB_ERROR,
                   exited ? local->code : NFSUB_ERROR_FAILED, "%s: %s%s%s",
                   cmd, local->message, *std_err ? ": " : "", std_err);
      return FALSE;
    }
  if (out)
    *out = g_steal_pointer (&std_out);
  return TRUE;
}

/* ---- weeks ---- */

void
report_week_free (ReportWeek *w)
{
  if (!w)
    return;
  g_free (w->date);
  g_free (w->label);
  g_free (w->missing_reason);
  if (w->start)
    g_date_time_unref (w->start);
  for (int s = 0; s < N_SERVICES; s++)
    {
      UsageService *u = &w->usage[s];
      for (int d = 0; d < N_DIRS; d++)
        {
          g_clear_pointer (&u->dir[d].density, g_array_unref);
          g_clear_pointer (&u->dir[d].density_smoothed, g_array_unref);
        }
      g_clear_pointer (&u->scatter_in, g_array_unref);
      g_clear_pointer (&u->scatter_out, g_array_unref);
      g_clear_pointer (&w->ports[s].rows, g_ptr_array_unref);
    }
  nfsub_json_free (w->usage_json);
  nfsub_json_free (w->ports_json);
  g_free (w);
}

static ReportWeek *
week_new (Report *r, const char *date, gboolean is_main, GError **error)
{
  int y, m, d;
  char tail;
  if (sscanf (date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3
      || strlen (date) != 10 || !g_date_valid_dmy (d, m, y))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                   "%s '%s': expected a date YYYY-MM-DD",
                   is_main ? "--week" : "--compare", date);
      return NULL;
    }
  ReportWeek *w = g_new0 (ReportWeek, 1);
  w->date = g_strdup (date);
  w->year = y;
  w->is_main = is_main;
  w->start = g_date_time_new (r->tz, y, m, d, 0, 0, 0);
  g_autoptr (GDateTime) end = g_date_time_add_days (w->start, 7);
  w->start_epoch = g_date_time_to_unix (w->start);
  w->end_epoch = g_date_time_to_unix (end);
  return w;
}

/* Years label the columns, as in the published tables; two weeks of one
 * year are told apart by their dates. */
static void
label_weeks (Report *r)
{
  gboolean years_unique = TRUE;
  for (guint i = 0; i < r->weeks->len; i++)
    for (guint j = i + 1; j < r->weeks->len; j++)
      if (((ReportWeek *) r->weeks->pdata[i])->year
          == ((ReportWeek *) r->weeks->pdata[j])->year)
        years_unique = FALSE;
  for (guint i = 0; i < r->weeks->len; i++)
    {
      ReportWeek *w = r->weeks->pdata[i];
      g_free (w->label);
      w->label = years_unique ? g_strdup_printf ("%d", w->year)
                              : g_strdup (w->date);
    }
}

/* ---- running the other plugins ---- */

static GPtrArray *
nfsub_argv (Report *r, const char *command)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (r->nfsub_exe));
  if (r->plugin_dir)
    {
      g_ptr_array_add (argv, g_strdup ("--plugin-dir"));
      g_ptr_array_add (argv, g_strdup (r->plugin_dir));
    }
  const char *conf = nfsub_host_config_path (r->host);
  if (conf)
    {
      g_ptr_array_add (argv, g_strdup ("-c"));
      g_ptr_array_add (argv, g_strdup (conf));
    }
  g_ptr_array_add (argv, g_strdup (command));
  return argv;
}

/* `nfsub COMMAND --week DATE --json FILE`; returns FILE. */
static char *
run_week_command (Report *r, ReportWeek *w, const char *command,
                  gboolean want_years, GError **error)
{
  g_autofree char *name = g_strdup_printf ("%s-%s.json", command, w->date);
  char *path = g_build_filename (r->work_dir, name, NULL);
  g_autoptr (GPtrArray) argv = nfsub_argv (r, command);
  g_ptr_array_add (argv, g_strdup ("--week"));
  g_ptr_array_add (argv, g_strdup (w->date));
  g_ptr_array_add (argv, g_strdup ("--json"));
  g_ptr_array_add (argv, g_strdup (path));
  /* the report needs only this week; its text on stdout is not read */
  if (strcmp (command, "usage") == 0)
    {
      g_ptr_array_add (argv, g_strdup ("--quiet"));
      if (!want_years)
        g_ptr_array_add (argv, g_strdup ("--no-years"));
    }
  g_ptr_array_add (argv, NULL);
  g_unlink (path);
  if (!report_run_tool (r, (const char *const *) argv->pdata, NULL, error))
    {
      g_free (path);
      return NULL;
    }
  return path;
}

/* --usage-json DATE=FILE: a JSON file saved earlier instead of a run. */
static const char *
given_json (char **pairs, const char *date)
{
  for (char **p = pairs; p && *p; p++)
    {
      const char *eq = strchr (*p, '=');
      if (eq && (gsize) (eq - *p) == strlen (date)
          && strncmp (*p, date, (gsize) (eq - *p)) == 0)
        return eq + 1;
    }
  return NULL;
}

static gboolean
check_given_json (char **pairs, const char *option, GPtrArray *weeks,
                  GError **error)
{
  for (char **p = pairs; p && *p; p++)
    {
      const char *eq = strchr (*p, '=');
      gboolean known = FALSE;
      for (guint i = 0; eq && i < weeks->len; i++)
        {
          ReportWeek *w = weeks->pdata[i];
          if ((gsize) (eq - *p) == strlen (w->date)
              && strncmp (*p, w->date, (gsize) (eq - *p)) == 0)
            known = TRUE;
        }
      if (!known)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                       "%s '%s': expected DATE=FILE with DATE one of the "
                       "report's weeks", option, *p);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
week_has_data (ReportWeek *w)
{
  for (int s = 0; s < N_SERVICES; s++)
    if (w->usage[s].present || w->ports[s].present)
      return TRUE;
  return FALSE;
}

/* One input of a week: the saved JSON given for it, or a run of
 * `nfsub COMMAND`, read into the week. */
static gboolean
collect_source (Report *r, ReportWeek *w, const char *command, char **pairs,
                gboolean want_years, GError **error)
{
  const char *given = given_json (pairs, w->date);
  g_autofree char *path = given ? g_strdup (given)
                                : run_week_command (r, w, command, want_years,
                                                    error);
  if (!path)
    return FALSE;
  return strcmp (command, "usage") == 0 ? report_read_usage (r, w, path, error)
                                        : report_read_ports (r, w, path, error);
}

/* Reads both inputs of a week.  A command that fails is a warning (its
 * tables and figures stay empty) and, unless its plugin is simply not
 * installed, makes the exit status 1.  The main week must have data from
 * one of them; a compare week without data is left out with a warning
 * (the report of the main week is still worth having). */
static gboolean
collect_week (Report *r, ReportWeek *w, char **usage_pairs,
              char **ports_pairs, gboolean want_years, GError **error)
{
  static const struct { const char *command, *what; } sources[] = {
    { "usage", "Tables 1, 2, concentration and Figures 3-6, 11" },
    { "ports", "Tables 3 and 4" },
  };
  g_autoptr (GString) reasons = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    {
      g_autoptr (GError) local = NULL;
      if (collect_source (r, w, sources[i].command,
                          i == 0 ? usage_pairs : ports_pairs,
                          i == 0 && want_years, &local))
        continue;
      gboolean not_installed = strstr (local->message, "unknown command") != NULL;
      /* `nfsub ports` exits with PORTS_EXIT_NO_DATA when it has no data for
       * the week (plugins/ports/README.md) */
      gboolean no_data = strcmp (sources[i].command, "ports") == 0
                         && g_error_matches (local, G_SPAWN_EXIT_ERROR,
                                             PORTS_EXIT_NO_DATA);
      if (not_installed)
        report_warn (r, "week %s: `nfsub %s` is not available (plugin %s not "
                        "installed): no %s", w->date, sources[i].command,
                     sources[i].command, sources[i].what);
      else if (no_data)
        report_warn (r, "week %s: `nfsub %s` has no data for it: no %s",
                     w->date, sources[i].command, sources[i].what);
      else
        {
          report_warn (r, "week %s: %s", w->date, local->message);
          r->input_failures++;
        }
      g_string_append_printf (reasons, "%s`nfsub %s` failed", reasons->len ? ", " : "",
                              sources[i].command);
    }
  if (week_has_data (w))
    return TRUE;

  g_autofree char *why = g_strdup_printf (
    "no data: no users in `nfsub usage` and no bytes in `nfsub ports` for "
    "the 7 days from %s%s%s%s", w->date, reasons->len ? " (" : "",
    reasons->str, reasons->len ? ")" : "");
  if (w->is_main)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT, "week %s: %s",
                   w->date, why);
      return FALSE;
    }
  w->missing = TRUE;
  w->missing_reason = g_strdup (why);
  report_warn (r, "compare week %s left out: %s", w->date, why);
  return TRUE;
}

/* Without --compare: the same week of every other year the usage store
 * holds, as `nfsub usage` found them (services.*.years[].week), newest
 * first. */
static gboolean
add_stored_years (Report *r, GError **error)
{
  ReportWeek *main = report_main_week (r);
  g_autoptr (GPtrArray) dates = g_ptr_array_new_with_free_func (g_free);
  for (int s = 0; s < N_SERVICES; s++)
    {
      const NfsubJson *years = nfsub_json_path (main->usage_json, "services");
      years = nfsub_json_get (nfsub_json_get (years, report_service_names[s]), "years");
      for (guint i = 0; i < nfsub_json_length (years); i++)
        {
          const NfsubJson *y = nfsub_json_index (years, i, NULL);
          const char *date = nfsub_json_string (nfsub_json_get (y, "week"), NULL);
          if (!date || strcmp (date, main->date) == 0
              || nfsub_json_number (nfsub_json_get (y, "users"), 0) <= 0)
            continue;
          gboolean dup = FALSE;
          for (guint k = 0; k < dates->len; k++)
            if (strcmp (dates->pdata[k], date) == 0)
              dup = TRUE;
          if (!dup)
            g_ptr_array_add (dates, g_strdup (date));
        }
    }
  /* newest first, like --compare is usually given */
  for (guint i = 1; i < dates->len; i++)
    for (guint j = i; j > 0 && strcmp (dates->pdata[j - 1], dates->pdata[j]) < 0; j--)
      {
        gpointer t = dates->pdata[j - 1];
        dates->pdata[j - 1] = dates->pdata[j];
        dates->pdata[j] = t;
      }
  for (guint i = 0; i < dates->len; i++)
    {
      ReportWeek *w = week_new (r, dates->pdata[i], FALSE, error);
      if (!w)
        return FALSE;
      g_ptr_array_add (r->weeks, w);
      nfsub_info (REPORT_PLUGIN, "comparing with %s (same week, stored year)",
                  w->date);
    }
  return TRUE;
}

/* ---- tools and assets ---- */

/* --plugin-dir is taken off the command line by the host before the
 * report runs; the children need it too, so read it back from the
 * original arguments (/proc/self/cmdline keeps them). */
static char *
original_plugin_dir (void)
{
  g_autofree char *cmdline = NULL;
  gsize len = 0;
  if (!g_file_get_contents ("/proc/self/cmdline", &cmdline, &len, NULL))
    return NULL;
  char *found = NULL;
  const char *prev = NULL;
  for (const char *p = cmdline; p < cmdline + len; p += strlen (p) + 1)
    {
      if (prev && strcmp (prev, "--plugin-dir") == 0)
        {
          g_free (found);
          found = g_strdup (p);
        }
      else if (g_str_has_prefix (p, "--plugin-dir="))
        {
          g_free (found);
          found = g_strdup (p + strlen ("--plugin-dir="));
        }
      prev = p;
    }
  if (found && !g_path_is_absolute (found))
    {
      g_autofree char *cwd = g_get_current_dir ();
      char *abs = g_build_filename (cwd, found, NULL);
      g_free (found);
      found = abs;
    }
  return found;
}

/* Config key, then environment variable, then default. */
static char *
setting (Report *r, const char *key, const char *env, const char *fallback)
{
  GKeyFile *kf = nfsub_host_config (r->host);
  g_autofree char *v = g_key_file_get_string (kf, REPORT_PLUGIN, key, NULL);
  if (v && *g_strstrip (v))
    return g_steal_pointer (&v);
  const char *e = env ? g_getenv (env) : NULL;
  if (e && *e)
    return g_strdup (e);
  return fallback ? g_strdup (fallback) : NULL;
}

static gboolean
find_program (const char *what, char **path, GError **error)
{
  if (strchr (*path, '/'))
    {
      if (g_file_test (*path, G_FILE_TEST_IS_EXECUTABLE))
        return TRUE;
    }
  else
    {
      char *found = g_find_program_in_path (*path);
      if (found)
        {
          g_free (*path);
          *path = found;
          return TRUE;
        }
    }
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
               "%s not found at '%s' (set [report] %s in the config; Debian "
               "package %s)", what, *path, what,
               strcmp (what, "gnuplot") == 0 ? "gnuplot-nox" : "rrdtool");
  return FALSE;
}

static gboolean
setup_tools (Report *r, GError **error)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  r->nfsub_exe = exe ? g_steal_pointer (&exe) : g_strdup ("nfsub");
  r->plugin_dir = original_plugin_dir ();
  r->gnuplot = setting (r, "gnuplot", "GNUPLOT", "gnuplot");
  r->rrdtool = setting (r, "rrdtool", "RRDTOOL", "rrdtool");
  if (!find_program ("gnuplot", &r->gnuplot, error)
      || !find_program ("rrdtool", &r->rrdtool, error))
    return FALSE;
  r->assets_dir = setting (r, "assets", "NFSUB_REPORT_ASSETS",
                           NFSUB_DATA_DIR "/report");
  g_autofree char *css = g_build_filename (r->assets_dir, "report.css", NULL);
  if (!g_file_test (css, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                   "report assets not found: %s does not exist (set [report] "
                   "assets or $NFSUB_REPORT_ASSETS to the directory holding "
                   "report.css and the gnuplot templates)", css);
      return FALSE;
    }
  r->rrd_dir = g_strdup (nfsub_host_rrd_dir (r->host));
  const char *cached = nfsub_host_rrdcached_address (r->host);
  r->rrdcached = cached ? g_strdup (cached) : NULL;
  r->title = setting (r, "title", NULL, "Broadband Traffic Report");
  return TRUE;
}

static gboolean
setup_output (Report *r, const char *out_dir, GError **error)
{
  if (g_path_is_absolute (out_dir))
    r->out_dir = g_strdup (out_dir);
  else
    {
      g_autofree char *cwd = g_get_current_dir ();
      r->out_dir = g_build_filename (cwd, out_dir, NULL);
    }
  r->fig_dir = g_build_filename (r->out_dir, "fig", NULL);
  r->work_dir = g_build_filename (r->out_dir, "data", NULL);
  const char *dirs[] = { r->out_dir, r->fig_dir, r->work_dir };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    if (g_mkdir_with_parents (dirs[i], 0755) != 0)
      {
        g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_FAILED,
                     "cannot create %s: %s", dirs[i], g_strerror (errno));
        return FALSE;
      }
  return TRUE;
}

static gboolean
parse_base_month (Report *r, GError **error)
{
  g_autofree char *v = setting (r, "base_month", NULL, NULL);
  if (!r->base_month && v)
    r->base_month = g_steal_pointer (&v);
  if (!r->base_month)
    return TRUE;
  int y, m;
  char tail;
  if (sscanf (r->base_month, "%4d-%2d%c", &y, &m, &tail) != 2 || m < 1
      || m > 12 || strlen (r->base_month) != 7)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                   "base month '%s': expected YYYY-MM (--base-month or "
                   "[report] base_month)", r->base_month);
      return FALSE;
    }
  return TRUE;
}

static void
report_free (Report *r)
{
  g_free (r->out_dir);
  g_free (r->fig_dir);
  g_free (r->work_dir);
  g_free (r->nfsub_exe);
  g_free (r->plugin_dir);
  g_free (r->gnuplot);
  g_free (r->rrdtool);
  g_free (r->assets_dir);
  g_free (r->rrd_dir);
  g_free (r->rrdcached);
  g_free (r->title);
  g_free (r->base_month);
  if (r->tz)
    g_time_zone_unref (r->tz);
  g_ptr_array_unref (r->weeks);
  g_ptr_array_unref (r->warnings);
  g_ptr_array_unref (r->highlights);
  g_ptr_array_unref (r->tables);
  g_ptr_array_unref (r->figures);
  g_ptr_array_unref (r->traffic_series);
  nfsub_json_free (r->traffic_json);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Report, report_free)

static void
traffic_series_free (TrafficSeries *s)
{
  g_free (s->key);
  g_free (s->label);
  if (s->monthly)
    g_array_unref (s->monthly);
  g_free (s);
}

static Report *
report_new (NfsubHost *host)
{
  Report *r = g_new0 (Report, 1);
  r->host = host;
  r->tz = g_time_zone_ref (nfsub_host_timezone (host));
  r->weeks = g_ptr_array_new_with_free_func ((GDestroyNotify) report_week_free);
  r->warnings = g_ptr_array_new_with_free_func (g_free);
  r->highlights = g_ptr_array_new_with_free_func (g_free);
  r->main_ipoe_share[DIR_IN] = r->main_ipoe_share[DIR_OUT] = NAN;
  r->tables = g_ptr_array_new_with_free_func ((GDestroyNotify) report_table_free);
  r->figures = g_ptr_array_new_with_free_func ((GDestroyNotify) report_figure_free);
  r->traffic_series = g_ptr_array_new_with_free_func ((GDestroyNotify) traffic_series_free);
  r->base_month_index = -1;
  return r;
}

static int
fail (GError *error)
{
  g_printerr ("nfsub report: %s\n", error->message);
  g_error_free (error);
  return 1;
}

static int
report_command (NfsubHost *host, int argc, char **argv)
{
  g_autofree char *week = NULL, *out_dir = NULL, *base_month = NULL;
  g_auto (GStrv) compare = NULL, usage_json = NULL, ports_json = NULL;
  gboolean quiet = FALSE, no_years = FALSE;
  GOptionEntry entries[] = {
    { "week", 'w', 0, G_OPTION_ARG_STRING, &week,
      "first day of the analysed week", "YYYY-MM-DD" },
    { "compare", 0, 0, G_OPTION_ARG_STRING_ARRAY, &compare,
      "a week to compare with (repeatable; e.g. a year before)", "YYYY-MM-DD" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir,
      "directory for index.html, report.json, fig/ and data/", "DIR" },
    { "base-month", 0, 0, G_OPTION_ARG_STRING, &base_month,
      "month whose OUT traffic is 1 in Figure 1 (default: first month "
      "with data)", "YYYY-MM" },
    { "usage-json", 0, 0, G_OPTION_ARG_STRING_ARRAY, &usage_json,
      "use this saved `nfsub usage --json` output for week DATE instead of "
      "running it (repeatable)", "DATE=FILE" },
    { "ports-json", 0, 0, G_OPTION_ARG_STRING_ARRAY, &ports_json,
      "same for `nfsub ports --json`", "DATE=FILE" },
    { "no-years", 0, 0, G_OPTION_ARG_NONE, &no_years,
      "without --compare, do not compare with the same week of the other "
      "years the usage store holds", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet,
      "print only the path of index.html", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_set_summary (
    ctx, "The weekly traffic report: tables, figures (PNG, SVG), report.json\n"
         "and one self-contained index.html, for broadband and mobile.");
  g_option_context_set_description (
    ctx, "Runs `nfsub usage` and `nfsub ports` for each week with the same\n"
         "config, and reads the hourly RRD files with rrdtool.  A compare\n"
         "week without data is left out with a warning; a main week without\n"
         "data or a missing RRD directory is an error (exit 1).\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return fail (error);
  if (argc > 1)
    {
      g_printerr ("nfsub report: unexpected argument '%s' (try --help)\n", argv[1]);
      return 2;
    }
  if (!week || !out_dir)
    {
      g_printerr ("nfsub report: --week and -o are required (try --help)\n");
      return 2;
    }
  if (!nfsub_config_check_keys (host, nfsub_host_config (host), REPORT_PLUGIN,
                                config_keys, &error))
    return fail (error);

  g_autoptr (Report) r = report_new (host);
  r->base_month = g_steal_pointer (&base_month);
  if (!parse_base_month (r, &error) || !setup_tools (r, &error))
    return fail (error);

  ReportWeek *w = week_new (r, week, TRUE, &error);
  if (!w)
    return fail (error);
  g_ptr_array_add (r->weeks, w);
  for (char **c = compare; c && *c; c++)
    {
      gboolean dup = FALSE;
      for (guint i = 0; i < r->weeks->len; i++)
        if (strcmp (((ReportWeek *) r->weeks->pdata[i])->date, *c) == 0)
          dup = TRUE;
      if (dup)
        {
          g_printerr ("nfsub report: week %s given twice\n", *c);
          return 2;
        }
      if (!(w = week_new (r, *c, FALSE, &error)))
        return fail (error);
      g_ptr_array_add (r->weeks, w);
    }

  /* Say what is wrong with the setup before minutes of work. */
  if (!g_file_test (r->rrd_dir, G_FILE_TEST_IS_DIR))
    {
      g_printerr ("nfsub report: RRD directory %s does not exist ([nfsub] "
                  "rrd_dir in %s): the hourly plugin writes it; run `nfsub "
                  "process` with the hourly plugin first\n", r->rrd_dir,
                  nfsub_host_config_path (host) ? nfsub_host_config_path (host)
                                                : "the built-in defaults");
      return 1;
    }
  if (!setup_output (r, out_dir, &error))
    return fail (error);

  gboolean auto_years = !compare && !no_years;
  if (!collect_week (r, report_main_week (r), usage_json, ports_json, auto_years,
                     &error))
    return fail (error);
  if (auto_years && !add_stored_years (r, &error))
    return fail (error);
  /* a DATE=FILE for no week of the report is a typo worth stopping for */
  if (!check_given_json (usage_json, "--usage-json", r->weeks, &error)
      || !check_given_json (ports_json, "--ports-json", r->weeks, &error))
    return fail (error);
  for (guint i = 1; i < r->weeks->len; i++)
    if (!collect_week (r, r->weeks->pdata[i], usage_json, ports_json, FALSE,
                       &error))
      return fail (error);
  /* Weeks without data are dropped from tables and figures, but stay in
   * report.json with the reason. */
  label_weeks (r);

  if (!report_traffic (r, &error))
    return fail (error);
  report_usage_figures (r);
  report_usage_tables (r);
  report_ports_tables (r);
  report_highlights (r);

  if (!report_write_json (r, &error) || !report_write_html (r, &error))
    return fail (error);

  guint failed = 0, no_data = 0;
  for (guint i = 0; i < r->figures->len; i++)
    {
      ReportFigure *f = r->figures->pdata[i];
      if (!f->made && f->no_data)
        no_data++;
      else if (!f->made)
        failed++;
    }
  g_autofree char *index = g_build_filename (r->out_dir, "index.html", NULL);
  if (!quiet)
    {
      g_print ("nfsub report: %u tables, %u figures", r->tables->len,
               r->figures->len - failed - no_data);
      if (no_data)
        g_print (" (%u without data)", no_data);
      if (failed)
        g_print (" (%u could not be drawn: see the page)", failed);
      if (r->warnings->len)
        g_print (", %u warnings", r->warnings->len);
      g_print ("\n");
    }
  g_print ("%s\n", index);
  return failed || r->input_failures ? 1 : 0;
}

static const NfsubCommand report_commands[] = {
  { "report", "the weekly report: tables, figures, index.html, report.json",
    report_command },
  { NULL, NULL, NULL }
};

NFSUB_PLUGIN_DEFINE (.name = REPORT_PLUGIN,
                     .description = "weekly report (HTML, PNG/SVG, JSON) from "
                                    "the usage, ports and hourly plugins",
                     .stage = NFSUB_STAGE_ACCOUNT,
                     .commands = report_commands);
