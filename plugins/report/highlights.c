/* report: "at a glance" -- the sentences a published report opens with,
 * built from the same numbers as the tables (and printed the same way). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "report.h"

static void
add (Report *r, char *sentence)
{
  g_ptr_array_add (r->highlights, sentence);
}

static char *
signed_percent (double ratio)
{
  g_autofree char *p = report_format_thousands (fabs (ratio - 1) * 100, 0);
  return g_strdup_printf ("%s%s%%", ratio >= 1 ? "+" : "\xe2\x88\x92", p);
}

static void
usage_sentences (Report *r, ReportService s)
{
  ReportWeek *main = report_main_week (r);
  const UsageService *u = &main->usage[s];
  if (!u->present)
    return;
  const UsageDir *in = &u->dir[DIR_IN], *out = &u->dir[DIR_OUT];
  g_autofree char *users = report_format_thousands ((double) u->users, 0);
  g_autofree char *om = report_format_mb (out->mean), *od = report_format_mb (out->median),
                  *oo = report_format_mb (out->mode), *im = report_format_mb (in->mean),
                  *id = report_format_mb (in->median), *io = report_format_mb (in->mode);
  add (r, g_strdup_printf ("%s, %s: %s users downloaded %s MB a day on average "
                           "(median %s, mode %s) and uploaded %s MB (median %s, "
                           "mode %s).", report_service_titles[s], main->label,
                           users, om, od, oo, im, id, io));
  ReportWeek *prev = report_week_years_before (r, 1);
  if (prev && prev->usage[s].present)
    {
      g_autofree char *go = signed_percent (out->mean / prev->usage[s].dir[DIR_OUT].mean);
      g_autofree char *gi = signed_percent (in->mean / prev->usage[s].dir[DIR_IN].mean);
      add (r, g_strdup_printf ("%s mean daily usage against %s: download %s, "
                               "upload %s.", report_service_titles[s], prev->label,
                               go, gi));
    }
  if (isfinite (out->top10_share) && isfinite (in->top10_share))
    {
      g_autofree char *a = report_format_percent (out->top10_share, 0);
      g_autofree char *b = report_format_percent (in->top10_share, 0);
      g_autofree char *c = report_format_percent (out->top1_share, 0);
      g_autofree char *d = report_format_percent (in->top1_share, 0);
      add (r, g_strdup_printf ("The heaviest 10%% of %s users carried %s%% of "
                               "the download and %s%% of the upload; the "
                               "heaviest 1%%: %s%% and %s%%.",
                               report_service_names[s], a, b, c, d));
    }
}

static double
series_value (Report *r, const char *key, int index)
{
  for (guint k = 0; k < r->traffic_series->len; k++)
    {
      TrafficSeries *ts = r->traffic_series->pdata[k];
      if (strcmp (ts->key, key) == 0 && index >= 0 && (guint) index < ts->monthly->len)
        return g_array_index (ts->monthly, double, index);
    }
  return NAN;
}

static void
traffic_sentences (Report *r)
{
  if (r->n_months == 0)
    return;
  int m = (int) r->n_months - 1;
  int k = r->first_month_mon - 1 + m;
  g_autofree char *month = g_strdup_printf ("%04d-%02d", r->first_month_year + k / 12,
                                            k % 12 + 1);
  static const struct { const char *key, *title; } services[] = {
    { "broadband", "Broadband" }, { "mobile", "Mobile" } };
  for (guint s = 0; s < G_N_ELEMENTS (services); s++)
    {
      g_autofree char *ko = g_strdup_printf ("%s_out", services[s].key);
      g_autofree char *ki = g_strdup_printf ("%s_in", services[s].key);
      double o = series_value (r, ko, m), i = series_value (r, ki, m);
      double o1 = series_value (r, ko, m - 12), i1 = series_value (r, ki, m - 12);
      double o5 = series_value (r, ko, m - 60), i5 = series_value (r, ki, m - 60);
      if (isfinite (o / o1) && isfinite (i / i1) && o1 > 0 && i1 > 0)
        {
          g_autofree char *go = signed_percent (o / o1), *gi = signed_percent (i / i1);
          add (r, g_strdup_printf ("%s traffic in %s against a year before: "
                                   "OUT %s, IN %s.", services[s].title, month,
                                   go, gi));
        }
      if (isfinite (o / o5) && isfinite (i / i5) && o5 > 0 && i5 > 0)
        {
          g_autofree char *fo = report_format_thousands (o / o5, 2);
          g_autofree char *fi = report_format_thousands (i / i5, 2);
          g_autofree char *ro = report_format_thousands (pow (o / o5, 0.2), 2);
          g_autofree char *ri = report_format_thousands (pow (i / i5, 0.2), 2);
          add (r, g_strdup_printf ("%s traffic over five years: OUT %sx (%sx a "
                                   "year), IN %sx (%sx a year).",
                                   services[s].title, fo, ro, fi, ri));
        }
    }
}

static const PortRow *
port_row (const PortsService *p, const char *key)
{
  for (guint i = 0; p->rows && i < p->rows->len; i++)
    if (strcmp (((PortRow *) p->rows->pdata[i])->key, key) == 0)
      return p->rows->pdata[i];
  return NULL;
}

static void
ports_sentences (Report *r)
{
  ReportWeek *main = report_main_week (r);
  for (int s = 0; s < N_SERVICES; s++)
    {
      const PortsService *p = &main->ports[s];
      /* rows keyed kind/proto/group/port (inputs.c) */
      const PortRow *t443 = port_row (p, "port/6/low/443");
      const PortRow *u443 = port_row (p, "port/17/low/443");
      if (!p->present || !t443 || !u443)
        continue;
      g_autofree char *a = report_format_thousands (t443->share, 1);
      g_autofree char *b = report_format_thousands (u443->share, 1);
      add (r, g_strdup_printf ("%s, %s: TCP port 443 carried %s%% of the bytes, "
                               "UDP port 443 (QUIC) %s%%.", report_service_titles[s],
                               main->label, a, b));
    }
}

void
report_highlights (Report *r)
{
  usage_sentences (r, SERVICE_BROADBAND);
  const double *ipoe_share = r->main_ipoe_share;
  if (isfinite (ipoe_share[DIR_OUT]) && isfinite (ipoe_share[DIR_IN]))
    {
      g_autofree char *o = report_format_percent (ipoe_share[DIR_OUT], 0);
      g_autofree char *i = report_format_percent (ipoe_share[DIR_IN], 0);
      add (r, g_strdup_printf ("IPoE carried %s%% of broadband OUT and %s%% of "
                               "IN in %s.", o, i, report_main_week (r)->label));
    }
  traffic_sentences (r);
  usage_sentences (r, SERVICE_MOBILE);
  ports_sentences (r);
}
