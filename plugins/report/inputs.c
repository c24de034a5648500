/* report: reading what `nfsub usage --json` and `nfsub ports --json` write
 * (schemas in plugins/usage/README.md and plugins/ports/README.md).  Only
 * this file knows their member names. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "report.h"

static GArray *
number_array (const NfsubJson *node)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; i < nfsub_json_length (node); i++)
    {
      double v = nfsub_json_number (nfsub_json_index (node, i, NULL), NAN);
      g_array_append_val (a, v);
    }
  return a;
}

static const NfsubJson *
service_node (const NfsubJson *root, const char *service)
{
  const NfsubJson *n = nfsub_json_path (root, "services");
  if (n)
    return nfsub_json_get (n, service);
  return nfsub_json_get (root, service);
}

static gboolean
bad_input (GError **error, const char *path, const char *what)
{
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT, "%s: %s", path, what);
  return FALSE;
}

static void
read_usage_dir (UsageDir *d, const NfsubJson *node)
{
  d->mean = nfsub_json_path_number (node, "mean");
  d->median = nfsub_json_path_number (node, "median");
  d->mode = nfsub_json_path_number (node, "mode");
  d->top10_share = nfsub_json_path_number (node, "top10_share");
  d->top1_share = nfsub_json_path_number (node, "top1_share");
  d->total = nfsub_json_path_number (node, "total");
  d->density = number_array (nfsub_json_get (node, "density"));
  d->density_smoothed = number_array (nfsub_json_get (node, "smoothed"));
  d->unreliable_below = nfsub_json_path_number (node, "unreliable_below");
}

gboolean
report_read_usage (Report *r, ReportWeek *w, const char *path, GError **error)
{
  NfsubJson *root = nfsub_json_load (path, error);
  if (!root)
    return FALSE;
  w->usage_json = root;
  if (nfsub_json_type (root) != NFSUB_JSON_OBJECT)
    return bad_input (error, path, "expected a JSON object");
  for (int s = 0; s < N_SERVICES; s++)
    {
      UsageService *u = &w->usage[s];
      const NfsubJson *sn = service_node (root, report_service_names[s]);
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
      u->users = (guint64) nfsub_json_number (nfsub_json_get (sn, "users"), 0);
      u->from_accounting = g_strcmp0 (nfsub_json_string (nfsub_json_get (sn, "source"), NULL),
                                      "radius") == 0;
      u->present = u->users > 0;
      if (!u->present)
        continue;
      for (int d = 0; d < N_DIRS; d++)
        {
          g_array_unref (u->dir[d].density);
          g_array_unref (u->dir[d].density_smoothed);
          read_usage_dir (&u->dir[d], nfsub_json_get (sn, report_dir_names[d]));
        }
      const NfsubJson *bins = nfsub_json_get (sn, "bins");
      if (bins)
        {
          u->density_first = nfsub_json_number (nfsub_json_get (bins, "first_log10"), 4.0);
          u->density_step = nfsub_json_number (nfsub_json_get (bins, "step_log10"), 0.05);
        }
      const NfsubJson *sample = nfsub_json_get (sn, "sample");
      g_array_unref (u->scatter_in);
      g_array_unref (u->scatter_out);
      u->scatter_in = number_array (nfsub_json_get (sample, "in"));
      u->scatter_out = number_array (nfsub_json_get (sample, "out"));
      if (u->scatter_in->len != u->scatter_out->len)
        return bad_input (error, path, "sample.in and sample.out differ in length");
      const NfsubJson *client = nfsub_json_get (sn, "client");
      u->client_cut = nfsub_json_path_number (client, "cut");
      u->client_user_share = nfsub_json_path_number (client, "user_share");
    }

  /* Days of the week without data change what "daily" means: say so. */
  const NfsubJson *days = nfsub_json_get (root, "days");
  const char *policy = nfsub_json_string (nfsub_json_get (root, "missing_days_policy"), NULL);
  for (int s = 0; s < N_SERVICES; s++)
    {
      if (!w->usage[s].present)
        continue;
      g_autoptr (GString) missing = g_string_new (NULL);
      guint n_missing = 0;
      for (guint i = 0; i < nfsub_json_length (days); i++)
        {
          const NfsubJson *d = nfsub_json_index (days, i, NULL);
          const char *svc = nfsub_json_string (nfsub_json_get (d, "service"), "");
          if (strcmp (svc, report_service_names[s]) != 0
              || nfsub_json_bool (nfsub_json_get (d, "present"), TRUE))
            continue;
          g_string_append_printf (missing, "%s%s", n_missing ? ", " : "",
                                  nfsub_json_string (nfsub_json_get (d, "date"), "?"));
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
  NfsubJson *root = nfsub_json_load (path, error);
  if (!root)
    return FALSE;
  w->ports_json = root;
  for (int s = 0; s < N_SERVICES; s++)
    w->ports[s].rows = g_ptr_array_new_with_free_func ((GDestroyNotify) port_row_free);
  if (nfsub_json_type (root) != NFSUB_JSON_OBJECT)
    return bad_input (error, path, "expected a JSON object");
  const char *asked = nfsub_json_string (nfsub_json_get (root, "week"), NULL);
  const NfsubJson *columns = nfsub_json_get (root, "columns");
  int col = -1;
  for (guint i = 0; asked && i < nfsub_json_length (columns); i++)
    if (g_strcmp0 (nfsub_json_string (nfsub_json_get (nfsub_json_index (columns, i, NULL), "week"), NULL),
                   asked) == 0)
      col = (int) i;
  if (col < 0)
    return bad_input (error, path, "no column for the asked week (\"week\" "
                                   "not among \"columns[].week\")");
  const NfsubJson *series = nfsub_json_get (root, "series");
  for (int s = 0; s < N_SERVICES; s++)
    {
      PortsService *p = &w->ports[s];
      g_autofree char *name = g_strdup_printf ("%s-all", report_service_names[s]);
      const NfsubJson *sn = NULL;
      for (guint i = 0; i < nfsub_json_length (series); i++)
        {
          const NfsubJson *c = nfsub_json_index (series, i, NULL);
          if (g_strcmp0 (nfsub_json_string (nfsub_json_get (c, "name"), NULL), name) == 0)
            sn = c;
        }
      if (!sn)
        continue;
      p->total_bytes = nfsub_json_number (nfsub_json_index (nfsub_json_get (sn, "total_bytes"), (guint) col, NULL), 0);
      p->present = p->total_bytes > 0;
      const NfsubJson *rows = nfsub_json_get (sn, "rows");
      for (guint i = 0; i < nfsub_json_length (rows); i++)
        {
          const NfsubJson *rn = nfsub_json_index (rows, i, NULL);
          const char *label = nfsub_json_string (nfsub_json_get (rn, "label"), NULL);
          const char *kind = nfsub_json_string (nfsub_json_get (rn, "kind"), NULL);
          if (!label || !kind)
            return bad_input (error, path, "a ports row without label or kind");
          PortRow *row = g_new0 (PortRow, 1);
          /* a stable identity across weeks: kind, protocol, group, port */
          row->key = g_strdup_printf (
            "%s/%g/%s/%g", kind, nfsub_json_number (nfsub_json_get (rn, "proto"), -1),
            nfsub_json_string (nfsub_json_get (rn, "group"), "-"),
            nfsub_json_number (nfsub_json_get (rn, "port"), -1));
          row->label = g_strdup (label);
          row->level = (guint) nfsub_json_number (nfsub_json_get (rn, "level"), 0);
          row->share = nfsub_json_number (
            nfsub_json_index (nfsub_json_get (rn, "percent"), (guint) col, NULL), NAN);
          g_ptr_array_add (p->rows, row);
        }
    }
  return TRUE;
}
