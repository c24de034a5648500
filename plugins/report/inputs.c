/* report: reading what `nfsub usage --json` and `nfsub ports --json` write
 * (schemas in plugins/usage/README.md and plugins/ports/README.md).  Only
 * this file knows their member names. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "report.h"

static GArray *
number_array (const RJson *node)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; i < rjson_length (node); i++)
    {
      double v = rjson_number (rjson_index (node, i, NULL), NAN);
      g_array_append_val (a, v);
    }
  return a;
}

static const RJson *
service_node (const RJson *root, const char *service)
{
  const RJson *n = rjson_path (root, "services");
  if (n)
    return rjson_get (n, service);
  return rjson_get (root, service);
}

static gboolean
bad_input (GError **error, const char *path, const char *what)
{
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT, "%s: %s", path, what);
  return FALSE;
}

static void
read_usage_dir (UsageDir *d, const RJson *node)
{
  d->mean = rjson_path_number (node, "mean");
  d->median = rjson_path_number (node, "median");
  d->mode = rjson_path_number (node, "mode");
  d->top10_share = rjson_path_number (node, "top10_share");
  d->top1_share = rjson_path_number (node, "top1_share");
  d->total = rjson_path_number (node, "total");
  d->density = number_array (rjson_get (node, "density"));
  d->density_smoothed = number_array (rjson_get (node, "smoothed"));
  d->unreliable_below = rjson_path_number (node, "unreliable_below");
}

gboolean
report_read_usage (Report *r, ReportWeek *w, const char *path, GError **error)
{
  RJson *root = rjson_load (path, error);
  if (!root)
    return FALSE;
  w->usage_json = root;
  if (rjson_type (root) != RJSON_OBJECT)
    return bad_input (error, path, "expected a JSON object");
  for (int s = 0; s < N_SERVICES; s++)
    {
      UsageService *u = &w->usage[s];
      const RJson *sn = service_node (root, report_service_names[s]);
      u->density_first = 4.0;
      u->density_step = 0.05;
      u->client_cut = NAN;
      u->client_user_share = NAN;
      for (int d = 0; d < N_DIRS; d++)
        {
          u->dir[d].density = g_array_new (FALSE, FALSE, sizeof (double));
          u->dir[d].density_smoothed = g_array_new (FALSE, FALSE, sizeof (double));
          u->dir[d].mean = u->dir[d].median = u->dir[d].mode = NAN;
          u->dir[d].top10_share = u->dir[d].top1_share = NAN;
          u->dir[d].unreliable_below = NAN;
        }
      u->scatter_in = g_array_new (FALSE, FALSE, sizeof (double));
      u->scatter_out = g_array_new (FALSE, FALSE, sizeof (double));
      if (!sn)
        continue;
      u->users = (guint64) rjson_number (rjson_get (sn, "users"), 0);
      u->from_accounting = g_strcmp0 (rjson_string (rjson_get (sn, "source"), NULL),
                                      "radius") == 0;
      u->present = u->users > 0;
      if (!u->present)
        continue;
      for (int d = 0; d < N_DIRS; d++)
        {
          g_array_unref (u->dir[d].density);
          g_array_unref (u->dir[d].density_smoothed);
          read_usage_dir (&u->dir[d], rjson_get (sn, report_dir_names[d]));
        }
      const RJson *bins = rjson_get (sn, "bins");
      if (bins)
        {
          u->density_first = rjson_number (rjson_get (bins, "first_log10"), 4.0);
          u->density_step = rjson_number (rjson_get (bins, "step_log10"), 0.05);
        }
      const RJson *sample = rjson_get (sn, "sample");
      g_array_unref (u->scatter_in);
      g_array_unref (u->scatter_out);
      u->scatter_in = number_array (rjson_get (sample, "in"));
      u->scatter_out = number_array (rjson_get (sample, "out"));
      if (u->scatter_in->len != u->scatter_out->len)
        return bad_input (error, path, "sample.in and sample.out differ in length");
      const RJson *client = rjson_get (sn, "client");
      u->client_cut = rjson_path_number (client, "cut");
      u->client_user_share = rjson_path_number (client, "user_share");
    }

  /* Days of the week without data change what "daily" means: say so. */
  const RJson *days = rjson_get (root, "days");
  const char *policy = rjson_string (rjson_get (root, "missing_days_policy"), NULL);
  for (int s = 0; s < N_SERVICES; s++)
    {
      if (!w->usage[s].present)
        continue;
      g_autoptr (GString) missing = g_string_new (NULL);
      guint n_missing = 0;
      for (guint i = 0; i < rjson_length (days); i++)
        {
          const RJson *d = rjson_index (days, i, NULL);
          const char *svc = rjson_string (rjson_get (d, "service"), "");
          if (strcmp (svc, report_service_names[s]) != 0
              || rjson_bool (rjson_get (d, "present"), TRUE))
            continue;
          g_string_append_printf (missing, "%s%s", n_missing ? ", " : "",
                                  rjson_string (rjson_get (d, "date"), "?"));
          n_missing++;
        }
      if (n_missing)
        report_warn (r, "week %s: %s usage has no data for %u of 7 days (%s)%s%s",
                     w->date, report_service_names[s], n_missing, missing->str,
                     policy ? "; " : "", policy ? policy : "");
    }
  return TRUE;
}

static void
port_row_free (PortRow *row)
{
  g_free (row->key);
  g_free (row->label);
  g_free (row);
}

/* `nfsub ports --json` (plugins/ports/README.md): every series with one
 * column per stored week; the report takes the asked week's column of
 * broadband-all and mobile-all. */
gboolean
report_read_ports (Report *r, ReportWeek *w, const char *path, GError **error)
{
  RJson *root = rjson_load (path, error);
  if (!root)
    return FALSE;
  w->ports_json = root;
  for (int s = 0; s < N_SERVICES; s++)
    w->ports[s].rows = g_ptr_array_new_with_free_func ((GDestroyNotify) port_row_free);
  if (rjson_type (root) != RJSON_OBJECT)
    return bad_input (error, path, "expected a JSON object");
  const char *asked = rjson_string (rjson_get (root, "week"), NULL);
  const RJson *columns = rjson_get (root, "columns");
  int col = -1;
  for (guint i = 0; asked && i < rjson_length (columns); i++)
    if (g_strcmp0 (rjson_string (rjson_get (rjson_index (columns, i, NULL), "week"), NULL),
                   asked) == 0)
      col = (int) i;
  if (col < 0)
    return bad_input (error, path, "no column for the asked week (\"week\" "
                                   "not among \"columns[].week\")");
  const RJson *series = rjson_get (root, "series");
  for (int s = 0; s < N_SERVICES; s++)
    {
      PortsService *p = &w->ports[s];
      g_autofree char *name = g_strdup_printf ("%s-all", report_service_names[s]);
      const RJson *sn = NULL;
      for (guint i = 0; i < rjson_length (series); i++)
        {
          const RJson *c = rjson_index (series, i, NULL);
          if (g_strcmp0 (rjson_string (rjson_get (c, "name"), NULL), name) == 0)
            sn = c;
        }
      if (!sn)
        continue;
      p->total_bytes = rjson_number (rjson_index (rjson_get (sn, "total_bytes"), (guint) col, NULL), 0);
      p->present = p->total_bytes > 0;
      const RJson *rows = rjson_get (sn, "rows");
      for (guint i = 0; i < rjson_length (rows); i++)
        {
          const RJson *rn = rjson_index (rows, i, NULL);
          const char *label = rjson_string (rjson_get (rn, "label"), NULL);
          const char *kind = rjson_string (rjson_get (rn, "kind"), NULL);
          if (!label || !kind)
            return bad_input (error, path, "a ports row without label or kind");
          PortRow *row = g_new0 (PortRow, 1);
          /* a stable identity across weeks: kind, protocol, group, port */
          row->key = g_strdup_printf (
            "%s/%g/%s/%g", kind, rjson_number (rjson_get (rn, "proto"), -1),
            rjson_string (rjson_get (rn, "group"), "-"),
            rjson_number (rjson_get (rn, "port"), -1));
          row->label = g_strdup (label);
          row->level = (guint) rjson_number (rjson_get (rn, "level"), 0);
          row->share = rjson_number (rjson_index (rjson_get (rn, "percent"), (guint) col,
                                                  NULL), NAN);
          g_ptr_array_add (p->rows, row);
        }
    }
  return TRUE;
}
