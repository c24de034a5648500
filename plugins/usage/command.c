/* usage: `nfsub usage` -- the week's statistics (text, JSON, CSV), the
 * table across years, and the flows-vs-accounting comparison. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "stats.h"
#include "usage-private.h"
#include "week.h"

#define SCHEMA "nfsub-usage/1"

typedef struct {
  char *week, *service, *access, *user_class, *source, *missing;
  char *json, *csv, *sample_csv, *years_csv;
  gint sample;
  gint64 seed;
  double rse_max;
  double client_mb;
  gboolean compare, no_years, list_days, quiet;
} UsageOptions;

typedef struct {
  int year;
  guint32 start;
  guint days_observed;
  guint64 users;
  double mean[2], median[2], mode[2];
} YearRow;

typedef struct {
  guint service;            /* NfsubService */
  UsageSource source;
  UsageStore *store;        /* borrowed */
  UsageSelection sel;
  UsageWeek week;
  UsageWeekStats st;
  gboolean has_k;           /* sampled packet counts are meaningful */
  GArray *sample;           /* guint user indexes, in rank order */
  GPtrArray *years;         /* YearRow*, ascending year */
} ServiceResult;

static const char *const service_names[] = { "unknown", "broadband", "mobile" };
static const char *const class_names[] = { "any", "personal", "enterprise" };
static const char *const access_names[] = { "all", "pppoe", "ipoe", "mobile" };

static void
service_result_clear (ServiceResult *r)
{
  usage_week_clear (&r->week);
  g_clear_pointer (&r->sample, g_array_unref);
  g_clear_pointer (&r->years, g_ptr_array_unref);
}

static int
fail (GError *error)
{
  g_printerr ("nfsub usage: %s\n", error->message);
  g_error_free (error);
  return 1;
}

static int
usage_error (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

static int
usage_error (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_printerr ("nfsub usage: %s (try --help)\n", msg);
  return 2;
}

static gboolean
parse_name (const char *text, const char *const *names, guint n, guint *out)
{
  for (guint i = 0; i < n; i++)
    if (g_ascii_strcasecmp (text, names[i]) == 0)
      {
        *out = i;
        return TRUE;
      }
  return FALSE;
}

static char *
mb_text (double bytes)
{
  if (!isfinite (bytes))
    return g_strdup ("-");
  double mb = bytes / 1e6;
  return g_strdup_printf (mb < 10 ? "%.2f" : mb < 100 ? "%.1f" : "%.0f", mb);
}

static char *
pct_text (double f)
{
  return isfinite (f) ? g_strdup_printf ("%.1f%%", 100 * f) : g_strdup ("-");
}

/* ---- the same week in other years ---- */

static int
weekday_of (guint32 julian)
{
  GDate d;
  g_date_clear (&d, 1);
  g_date_set_julian (&d, julian);
  return g_date_get_weekday (&d);
}

/* The week of year `year` that starts on the same weekday as `start`, as
 * close as possible to the same calendar date (within 3 days). */
static guint32
aligned_week (guint32 start, int year)
{
  int y, m, d;
  usage_julian_to_ymd (start, &y, &m, &d);
  int dim = g_date_get_days_in_month ((GDateMonth) m, (GDateYear) year);
  guint32 base = usage_julian_from_ymd (year, m, MIN (d, dim));
  int shift = ((weekday_of (start) - weekday_of (base)) % 7 + 7) % 7;
  if (shift > 3)
    shift -= 7;
  return (guint32) ((gint64) base + shift);
}

static gboolean
compute_years (ServiceResult *r, const UsageOptions *o, UsageMissingPolicy policy,
               GError **error)
{
  r->years = g_ptr_array_new_with_free_func (g_free);
  int y0, m0, d0;
  usage_julian_to_ymd (r->week.start, &y0, &m0, &d0);
  g_autoptr (GArray) days = usage_store_days (r->store);
  g_autoptr (GHashTable) years = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_hash_table_add (years, GINT_TO_POINTER (y0));
  if (!o->no_years)
    for (guint i = 0; i < days->len; i++)
      {
        int y, m, d;
        usage_julian_to_ymd (g_array_index (days, guint32, i), &y, &m, &d);
        g_hash_table_add (years, GINT_TO_POINTER (y));
      }
  g_autoptr (GList) keys = g_hash_table_get_keys (years);
  for (GList *l = keys; l; l = l->next)
    {
      int year = GPOINTER_TO_INT (l->data);
      YearRow *row = g_new0 (YearRow, 1);
      row->year = year;
      if (year == y0)
        {
          row->start = r->week.start;
          row->days_observed = r->week.days_observed;
          row->users = r->st.n_users;
          const UsageDirStats *ds[2] = { &r->st.in, &r->st.out };
          for (int d = 0; d < 2; d++)
            {
              row->mean[d] = ds[d]->mean;
              row->median[d] = ds[d]->median;
              row->mode[d] = ds[d]->mode_bin >= 0 ? ds[d]->mode : NAN;
            }
          g_ptr_array_add (r->years, row);
          continue;
        }
      row->start = aligned_week (r->week.start, year);
      UsageWeek w;
      if (!usage_week_load (r->store, row->start, &r->sel, policy, 0, FALSE, &w,
                            error))
        {
          g_free (row);
          return FALSE;
        }
      row->days_observed = w.days_observed;
      row->users = w.in->len;
      if (row->users == 0)
        {
          usage_week_clear (&w);
          g_free (row);
          continue;
        }
      GArray *vals[2] = { w.in, w.out };
      for (int d = 0; d < 2; d++)
        {
          UsageDirStats ds;
          usage_dir_stats_compute (&ds, (const double *) vals[d]->data, NULL,
                                   vals[d]->len, o->rse_max);
          row->mean[d] = ds.mean;
          row->median[d] = ds.median;
          row->mode[d] = ds.mode_bin >= 0 ? ds.mode : NAN;
        }
      usage_week_clear (&w);
      g_ptr_array_add (r->years, row);
    }
  /* by year (a handful of rows) */
  for (guint i = 1; i < r->years->len; i++)
    for (guint j = i; j > 0
         && ((YearRow *) r->years->pdata[j - 1])->year
                > ((YearRow *) r->years->pdata[j])->year;
         j--)
      {
        gpointer t = r->years->pdata[j];
        r->years->pdata[j] = r->years->pdata[j - 1];
        r->years->pdata[j - 1] = t;
      }
  return TRUE;
}

static const YearRow *
year_row (const ServiceResult *r, int year)
{
  for (guint i = 0; r->years && i < r->years->len; i++)
    if (((YearRow *) r->years->pdata[i])->year == year)
      return r->years->pdata[i];
  return NULL;
}

static double
growth (double now, double before)
{
  return isfinite (now) && isfinite (before) && before > 0 ? now / before - 1 : NAN;
}

/* ---- sample ---- */

static const guint64 *sort_ranks;

static int
by_rank (const void *a, const void *b)
{
  guint64 x = sort_ranks[*(const guint *) a], y = sort_ranks[*(const guint *) b];
  return x < y ? -1 : x > y;
}

static GArray *
choose_sample (const UsageWeek *w, guint n)
{
  guint total = w->rank->len;
  /* ranks are uniform over 64 bits: the n smallest lie below about
   * n/total of the range; take a margin, sort only those, and fall back
   * to all when the margin was not enough */
  double frac = total ? MIN (1.0, 1.5 * n / total + 64.0 / total) : 1.0;
  guint64 limit = frac >= 1.0 ? G_MAXUINT64 : (guint64) (frac * 18446744073709551615.0);
  GArray *idx = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; i < total; i++)
    if (g_array_index (w->rank, guint64, i) <= limit)
      g_array_append_val (idx, i);
  if (idx->len < MIN (n, total))
    {
      g_array_set_size (idx, 0);
      for (guint i = 0; i < total; i++)
        g_array_append_val (idx, i);
    }
  total = idx->len;
  sort_ranks = (const guint64 *) w->rank->data;
  if (total > 1) /* an empty GArray has no data pointer */
    qsort (idx->data, total, sizeof (guint), by_rank);
  sort_ranks = NULL;
  g_array_set_size (idx, MIN (n, total));
  return idx;
}

/* ---- one service ---- */

/* `all`: every user of the week in r's store (loaded on first use, shared
 * by the services that read the same store). */
static gboolean
compute_service (ServiceResult *r, UsageWeek *all, const UsageOptions *o,
                 UsageMissingPolicy policy, GError **error)
{
  if (!all->in)
    {
      UsageSelection any = { 0, 0, 0 };
      if (!usage_week_load (r->store, r->week.start, &any, policy,
                            (guint64) o->seed, FALSE, all, error))
        return FALSE;
    }
  usage_week_select (all, &r->sel, &r->week);
  guint n = r->week.in->len;
  usage_stats_compute (&r->st, (const double *) r->week.in->data,
                       (const double *) r->week.out->data,
                       r->has_k ? (const guint64 *) r->week.k_in->data : NULL,
                       r->has_k ? (const guint64 *) r->week.k_out->data : NULL,
                       n, o->rse_max, o->client_mb * 1e6);
  r->sample = choose_sample (&r->week, (guint) o->sample);
  return compute_years (r, o, policy, error);
}

/* ---- text ---- */

static void
print_service (GString *out, const ServiceResult *r, const UsageOptions *o)
{
  const UsageWeek *w = &r->week;
  g_autofree char *start = usage_julian_to_string (w->start);
  g_autofree char *end = usage_julian_to_string (w->start + 6);
  g_string_append_printf (out, "\n%s (%s users, access %s, source %s), %s .. %s\n",
                          service_names[r->service],
                          class_names[r->sel.user_class],
                          access_names[r->sel.access],
                          usage_source_name (r->source), start, end);
  if (r->st.n_users == 0)
    {
      g_string_append_printf (out, "  no users in this week%s\n",
                              w->days_observed ? "" : " (no data stored for any of its days)");
      return;
    }
  g_string_append_printf (out, "  users: %u; seen on 1..7 days:", r->st.n_users);
  for (int d = 1; d <= USAGE_WEEK_DAYS; d++)
    g_string_append_printf (out, " %" G_GUINT64_FORMAT, w->users_by_days[d]);
  g_string_append_printf (out, "\n  daily usage = total / %.0f%s\n", w->divisor,
                          w->days_observed < USAGE_WEEK_DAYS
                              ? " (missing days: see above)" : "");
  g_string_append (out, "                                 IN, MB/day"
                        "                  OUT, MB/day\n"
                        "  year  week           users      mean   median     mode"
                        "      mean   median     mode\n");
  for (guint i = 0; i < r->years->len; i++)
    {
      const YearRow *y = r->years->pdata[i];
      g_autofree char *ys = usage_julian_to_string (y->start);
      g_string_append_printf (out, "  %-4d  %-10s %9" G_GUINT64_FORMAT, y->year, ys,
                              y->users);
      for (int d = 0; d < 2; d++)
        {
          g_autofree char *a = mb_text (y->mean[d]);
          g_autofree char *b = mb_text (y->median[d]);
          g_autofree char *c = mb_text (y->mode[d]);
          g_string_append_printf (out, " %9s %8s %8s", a, b, c);
        }
      g_string_append_c (out, '\n');
      const YearRow *prev = year_row (r, y->year - 1);
      if (prev)
        {
          char label[32];
          g_snprintf (label, sizeof label, "YoY %d/%d", y->year, y->year - 1);
          g_string_append_printf (out, "  %-26s", label);
          for (int d = 0; d < 2; d++)
            {
              double g[3] = { growth (y->mean[d], prev->mean[d]),
                              growth (y->median[d], prev->median[d]),
                              growth (y->mode[d], prev->mode[d]) };
              for (int k = 0; k < 3; k++)
                {
                  char buf[16] = "-";
                  if (isfinite (g[k]))
                    g_snprintf (buf, sizeof buf, "%+.0f%%", 100 * g[k]);
                  g_string_append_printf (out, k == 0 ? " %9s" : " %8s", buf);
                }
            }
          g_string_append_c (out, '\n');
        }
    }
  g_autofree char *t10i = pct_text (r->st.in.top10_share);
  g_autofree char *t10o = pct_text (r->st.out.top10_share);
  g_autofree char *t1i = pct_text (r->st.in.top1_share);
  g_autofree char *t1o = pct_text (r->st.out.top1_share);
  g_string_append_printf (out, "  top 10%% of users: %s of IN, %s of OUT; "
                          "top 1%%: %s of IN, %s of OUT\n", t10i, t10o, t1i, t1o);
  g_autofree char *cu = pct_text (r->st.client_user_share);
  g_autofree char *ci = pct_text (r->st.client_in_share);
  g_autofree char *co = pct_text (r->st.client_out_share);
  g_string_append_printf (out, "  client type (upload < %g MB/day): %" G_GUINT64_FORMAT
                          " users (%s), %s of IN, %s of OUT\n", o->client_mb,
                          r->st.client_users, cu, ci, co);
  if (r->has_k)
    {
      const UsageDirStats *ds[2] = { &r->st.in, &r->st.out };
      for (int d = 0; d < 2; d++)
        {
          g_autofree char *below = mb_text (ds[d]->unreliable_below);
          g_autofree char *what
              = ds[d]->unreliable_below > 0
                    ? g_strdup_printf ("density unreliable below %s MB/day "
                                       "(median RSE of the bin > %.0f%%)",
                                       below, 100 * o->rse_max)
                    : g_strdup ("density reliable over the whole range");
          g_string_append_printf (
              out, "  sampling %s: %s; %" G_GUINT64_FORMAT " users with RSE > %.0f%%\n",
              d ? "OUT" : "IN", what, ds[d]->users_unreliable, 100 * o->rse_max);
        }
    }
  else
    g_string_append (out, "  exact counters (accounting): no sampling error\n");
}

/* ---- JSON ---- */

/* The documents' doubles have 15 significant digits unless said. */
static void
usage_json_begin (NfsubJsonWriter *j)
{
  nfsub_json_writer_init (j, g_string_new (NULL));
  j->digits = 15;
}

static char *
usage_json_finish (NfsubJsonWriter *j)
{
  return g_string_free (j->out, FALSE);
}

/* on one line: these arrays are long */
static void
json_doubles (NfsubJsonWriter *j, const char *key, const double *v, guint n,
              int prec)
{
  nfsub_json_begin_array_line (j, key);
  for (guint i = 0; i < n; i++)
    nfsub_json_put_number_digits (j, NULL, v[i], prec);
  nfsub_json_end_array (j);
}

static void
json_dir (NfsubJsonWriter *j, const char *name, const UsageDirStats *ds, gboolean has_k)
{
  nfsub_json_begin_object (j, name);
  nfsub_json_put_number (j, "mean", ds->mean);
  nfsub_json_put_number (j, "median", ds->median);
  if (ds->mode_bin >= 0)
    {
      nfsub_json_put_number (j, "mode", ds->mode);
      nfsub_json_put_number (j, "mode_log10", usage_bin_centre_log10 (ds->mode_bin));
      nfsub_json_put_number (j, "mode_refined", ds->mode_refined);
    }
  else
    {
      nfsub_json_put_null (j, "mode");
      nfsub_json_put_null (j, "mode_log10");
      nfsub_json_put_null (j, "mode_refined");
    }
  nfsub_json_put_number (j, "top10_share", ds->top10_share);
  nfsub_json_put_number (j, "top1_share", ds->top1_share);
  nfsub_json_put_number (j, "total", ds->total);
  nfsub_json_put_uint (j, "zero", ds->zero);
  nfsub_json_put_uint (j, "underflow", ds->underflow);
  nfsub_json_put_uint (j, "overflow", ds->overflow);
  double counts[USAGE_N_BINS];
  for (int b = 0; b < USAGE_N_BINS; b++)
    counts[b] = (double) ds->counts[b];
  json_doubles (j, "counts", counts, USAGE_N_BINS, 15);
  json_doubles (j, "density", ds->density, USAGE_N_BINS, 10);
  json_doubles (j, "smoothed", ds->smoothed, USAGE_N_BINS, 10);
  if (has_k)
    {
      json_doubles (j, "rse_median", ds->rse_median, USAGE_N_BINS, 4);
      nfsub_json_put_number (j, "unreliable_below", ds->unreliable_below);
      nfsub_json_put_uint (j, "users_unreliable", ds->users_unreliable);
    }
  else
    {
      /* exact counters: reliable everywhere */
      nfsub_json_put_number (j, "unreliable_below", 0);
      nfsub_json_put_uint (j, "users_unreliable", 0);
    }
  nfsub_json_end_object (j);
}

static void
json_service (NfsubJsonWriter *j, const ServiceResult *r, const UsageOptions *o)
{
  const UsageWeek *w = &r->week;
  nfsub_json_begin_object (j, service_names[r->service]);
  nfsub_json_put_string (j, "source", usage_source_name (r->source));
  nfsub_json_put_string (j, "access", access_names[r->sel.access]);
  nfsub_json_put_string (j, "class", class_names[r->sel.user_class]);
  nfsub_json_put_uint (j, "users", r->st.n_users);
  nfsub_json_put_uint (j, "users_in_store", w->users_in_store);
  if (r->st.n_users == 0)
    nfsub_json_put_string (j, "message", w->days_observed
                                         ? "no users of this selection in the week"
                                         : "no data stored for any day of the week");
  nfsub_json_begin_array (j, "users_by_days_seen");
  for (int d = 0; d <= USAGE_WEEK_DAYS; d++)
    nfsub_json_put_uint (j, NULL, w->users_by_days[d]);
  nfsub_json_end_array (j);
  nfsub_json_begin_object (j, "bins");
  nfsub_json_put_number (j, "first_log10", USAGE_LOG10_MIN);
  nfsub_json_put_number (j, "step_log10", USAGE_LOG10_STEP);
  nfsub_json_put_uint (j, "count", USAGE_N_BINS);
  nfsub_json_put_string (j, "centred", "bin i covers first + i*step +- step/2");
  nfsub_json_end_object (j);
  if (r->st.n_users)
    {
      json_dir (j, "in", &r->st.in, r->has_k);
      json_dir (j, "out", &r->st.out, r->has_k);
      nfsub_json_begin_object (j, "client");
      nfsub_json_put_number (j, "cut", r->st.client_cut);
      nfsub_json_put_uint (j, "users", r->st.client_users);
      nfsub_json_put_number (j, "user_share", r->st.client_user_share);
      nfsub_json_put_number (j, "in_share", r->st.client_in_share);
      nfsub_json_put_number (j, "out_share", r->st.client_out_share);
      nfsub_json_end_object (j);
      nfsub_json_begin_object (j, "sample");
      nfsub_json_put_uint (j, "seed", (guint64) o->seed);
      nfsub_json_put_uint (j, "size", r->sample->len);
      g_autofree double *sin = g_new (double, r->sample->len + 1);
      g_autofree double *sout = g_new (double, r->sample->len + 1);
      for (guint i = 0; i < r->sample->len; i++)
        {
          guint u = g_array_index (r->sample, guint, i);
          sin[i] = g_array_index (w->in, double, u);
          sout[i] = g_array_index (w->out, double, u);
        }
      json_doubles (j, "in", sin, r->sample->len, 10);
      json_doubles (j, "out", sout, r->sample->len, 10);
      nfsub_json_end_object (j);
    }
  nfsub_json_begin_array (j, "years");
  for (guint i = 0; r->years && i < r->years->len; i++)
    {
      const YearRow *y = r->years->pdata[i];
      const YearRow *prev = year_row (r, y->year - 1);
      g_autofree char *ys = usage_julian_to_string (y->start);
      nfsub_json_begin_object (j, NULL);
      nfsub_json_put_uint (j, "year", (guint64) y->year);
      nfsub_json_put_string (j, "week", ys);
      nfsub_json_put_uint (j, "days_observed", y->days_observed);
      nfsub_json_put_uint (j, "users", y->users);
      for (int d = 0; d < 2; d++)
        {
          nfsub_json_begin_object (j, d ? "out" : "in");
          nfsub_json_put_number (j, "mean", y->mean[d]);
          nfsub_json_put_number (j, "median", y->median[d]);
          nfsub_json_put_number (j, "mode", y->mode[d]);
          if (prev)
            {
              nfsub_json_begin_object (j, "yoy");
              nfsub_json_put_number (j, "mean", growth (y->mean[d], prev->mean[d]));
              nfsub_json_put_number (j, "median", growth (y->median[d], prev->median[d]));
              nfsub_json_put_number (j, "mode", growth (y->mode[d], prev->mode[d]));
              nfsub_json_end_object (j);
            }
          else
            nfsub_json_put_null (j, "yoy");
          nfsub_json_end_object (j);
        }
      nfsub_json_end_object (j);
    }
  nfsub_json_end_array (j);
  nfsub_json_end_object (j);
}

static char *
json_document (ServiceResult *results, guint n, const UsageOptions *o,
               NfsubHost *host, UsageMissingPolicy policy)
{
  NfsubJsonWriter j;
  usage_json_begin (&j);
  nfsub_json_begin_object (&j, NULL);
  nfsub_json_put_string (&j, "schema", SCHEMA);
  const UsageWeek *w = &results[0].week;
  g_autofree char *start = usage_julian_to_string (w->start);
  nfsub_json_put_string (&j, "week", start);
  nfsub_json_put_string (&j, "timezone",
                         g_time_zone_get_identifier (nfsub_host_timezone (host)));
  nfsub_json_put_string (&j, "units", "bytes/day; shares are fractions 0..1");
  nfsub_json_put_string (&j, "missing_days_policy",
                         policy == USAGE_MISSING_ZERO ? "zero" : "scale");
  nfsub_json_begin_object (&j, "smoothing");
  nfsub_json_put_string (&j, "kernel", "gaussian");
  nfsub_json_put_number (&j, "sigma_log10", USAGE_SMOOTH_SIGMA_BINS * USAGE_LOG10_STEP);
  nfsub_json_put_number (&j, "truncate_sigmas", 4);
  nfsub_json_end_object (&j);
  nfsub_json_put_number (&j, "rse_threshold", o->rse_max);
  nfsub_json_begin_object (&j, "services");
  for (guint i = 0; i < n; i++)
    {
      /* per service: its own store's days */
      json_service (&j, &results[i], o);
    }
  nfsub_json_end_object (&j);
  nfsub_json_begin_array (&j, "days");
  for (guint i = 0; i < n; i++)
    for (int d = 0; d < USAGE_WEEK_DAYS; d++)
      {
        const UsageWeek *rw = &results[i].week;
        g_autofree char *ds = usage_julian_to_string (rw->start + d);
        nfsub_json_begin_object (&j, NULL);
        nfsub_json_put_string (&j, "service", service_names[results[i].service]);
        nfsub_json_put_string (&j, "date", ds);
        nfsub_json_put_bool (&j, "present", rw->present[d]);
        nfsub_json_put_uint (&j, "inputs", rw->inputs[d]);
        nfsub_json_end_object (&j);
      }
  nfsub_json_end_array (&j);
  nfsub_json_end_object (&j);
  return usage_json_finish (&j);
}

/* ---- CSV ---- */

static void
csv_number (GString *s, double v)
{
  if (isfinite (v))
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.10g", v));
    }
}

static GString *
csv_density (ServiceResult *results, guint n)
{
  GString *s = g_string_new ("service,direction,bin,log10_bytes_per_day,"
                             "bytes_per_day,users,density,smoothed,rse_median\n");
  for (guint i = 0; i < n; i++)
    {
      const ServiceResult *r = &results[i];
      if (!r->st.n_users)
        continue;
      const UsageDirStats *ds[2] = { &r->st.in, &r->st.out };
      for (int d = 0; d < 2; d++)
        for (int b = 0; b < USAGE_N_BINS; b++)
          {
            double x = usage_bin_centre_log10 (b);
            g_string_append_printf (s, "%s,%s,%d,", service_names[r->service],
                                    d ? "out" : "in", b);
            csv_number (s, x);
            g_string_append_c (s, ',');
            csv_number (s, pow (10, x));
            g_string_append_printf (s, ",%" G_GUINT64_FORMAT ",", ds[d]->counts[b]);
            csv_number (s, ds[d]->density[b]);
            g_string_append_c (s, ',');
            csv_number (s, ds[d]->smoothed[b]);
            g_string_append_c (s, ',');
            if (r->has_k)
              csv_number (s, ds[d]->rse_median[b]);
            g_string_append_c (s, '\n');
          }
    }
  return s;
}

static GString *
csv_sample (ServiceResult *results, guint n)
{
  GString *s = g_string_new ("service,in_bytes_per_day,out_bytes_per_day\n");
  for (guint i = 0; i < n; i++)
    for (guint k = 0; results[i].sample && k < results[i].sample->len; k++)
      {
        guint u = g_array_index (results[i].sample, guint, k);
        g_string_append_printf (s, "%s,", service_names[results[i].service]);
        csv_number (s, g_array_index (results[i].week.in, double, u));
        g_string_append_c (s, ',');
        csv_number (s, g_array_index (results[i].week.out, double, u));
        g_string_append_c (s, '\n');
      }
  return s;
}

static GString *
csv_years (ServiceResult *results, guint n)
{
  GString *s = g_string_new ("service,year,week,users,in_mean,in_median,in_mode,"
                             "out_mean,out_median,out_mode,in_mean_yoy,"
                             "in_median_yoy,in_mode_yoy,out_mean_yoy,"
                             "out_median_yoy,out_mode_yoy\n");
  for (guint i = 0; i < n; i++)
    for (guint k = 0; results[i].years && k < results[i].years->len; k++)
      {
        const YearRow *y = results[i].years->pdata[k];
        const YearRow *prev = year_row (&results[i], y->year - 1);
        g_autofree char *ys = usage_julian_to_string (y->start);
        g_string_append_printf (s, "%s,%d,%s,%" G_GUINT64_FORMAT,
                                service_names[results[i].service], y->year, ys,
                                y->users);
        for (int d = 0; d < 2; d++)
          {
            double v[3] = { y->mean[d], y->median[d], y->mode[d] };
            for (int c = 0; c < 3; c++)
              {
                g_string_append_c (s, ',');
                csv_number (s, v[c]);
              }
          }
        for (int d = 0; d < 2; d++)
          {
            double v[3] = { prev ? growth (y->mean[d], prev->mean[d]) : NAN,
                            prev ? growth (y->median[d], prev->median[d]) : NAN,
                            prev ? growth (y->mode[d], prev->mode[d]) : NAN };
            for (int c = 0; c < 3; c++)
              {
                g_string_append_c (s, ',');
                csv_number (s, v[c]);
              }
          }
        g_string_append_c (s, '\n');
      }
  return s;
}

static gboolean
write_output (const char *path, const char *data, gsize len, GError **error)
{
  if (strcmp (path, "-") == 0)
    {
      fwrite (data, 1, len, stdout);
      return TRUE;
    }
  if (!g_file_set_contents (path, data, (gssize) len, error))
    return FALSE;
  return TRUE;
}

/* ---- compare sources ---- */

typedef struct {
  guint64 lo, hi;  /* sampled packets range [lo, hi) */
  guint64 users;
  double sum_sq_err, sum_pred_sq;  /* of relative errors, and of 1/k */
} KBucket;

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
quantile_sorted (const double *v, guint n, double q)
{
  if (n == 0)
    return NAN;
  double pos = q * (n - 1);
  guint i = (guint) floor (pos);
  if (i + 1 >= n)
    return v[n - 1];
  return v[i] + (pos - i) * (v[i + 1] - v[i]);
}

static int
run_compare (NfsubHost *host, UsageStore *flows, UsageStore *radius,
             const UsageOptions *o, const UsageSelection *sel, guint32 start,
             UsageMissingPolicy policy)
{
  GError *error = NULL;
  UsageWeek wf, wr;
  if (!usage_week_load (flows, start, sel, policy, 0, TRUE, &wf, &error))
    return fail (error);
  if (!usage_week_load (radius, start, sel, policy, 0, TRUE, &wr, &error))
    {
      usage_week_clear (&wf);
      return fail (error);
    }
  /* join on the sorted keys */
  guint i = 0, k = 0;
  guint64 only_flows = 0, only_radius = 0;
  double tot[2][2] = { { 0 } };  /* [source][dir] over joint users */
  GArray *errs[2] = { g_array_new (FALSE, FALSE, sizeof (double)),
                      g_array_new (FALSE, FALSE, sizeof (double)) };
  KBucket buckets[2][6];
  for (int d = 0; d < 2; d++)
    for (int b = 0; b < 6; b++)
      /* sampled packets 0, 1-9, 10-99, ..., >= 10^4 */
      buckets[d][b] = (KBucket) { b ? (guint64) pow (10, b - 1) : 0,
                                  (guint64) pow (10, b), 0, 0, 0 };
  GString *csv = o->csv ? g_string_new ("user,flows_in,radius_in,flows_out,"
                                        "radius_out,sampled_packets_in,"
                                        "sampled_packets_out,rel_err_in,"
                                        "rel_err_out\n")
                        : NULL;
  while (i < wf.keys->len || k < wr.keys->len)
    {
      int c = i >= wf.keys->len ? 1
              : k >= wr.keys->len ? -1
              : strcmp (wf.keys->pdata[i], wr.keys->pdata[k]);
      if (c < 0)
        {
          only_flows++;
          i++;
          continue;
        }
      if (c > 0)
        {
          only_radius++;
          k++;
          continue;
        }
      double fv[2] = { g_array_index (wf.in, double, i), g_array_index (wf.out, double, i) };
      double rv[2] = { g_array_index (wr.in, double, k), g_array_index (wr.out, double, k) };
      guint64 kk[2] = { g_array_index (wf.k_in, guint64, i),
                        g_array_index (wf.k_out, guint64, i) };
      double e[2];
      for (int d = 0; d < 2; d++)
        {
          tot[0][d] += fv[d];
          tot[1][d] += rv[d];
          e[d] = rv[d] > 0 ? fv[d] / rv[d] - 1 : NAN;
          if (isfinite (e[d]))
            {
              g_array_append_val (errs[d], e[d]);
              int b = kk[d] == 0 ? 0 : MIN (5, 1 + (int) floor (log10 ((double) kk[d])));
              KBucket *kb = &buckets[d][b];
              kb->users++;
              kb->sum_sq_err += e[d] * e[d];
              kb->sum_pred_sq += kk[d] ? 1.0 / (double) kk[d] : 0;
            }
        }
      if (csv)
        {
          g_string_append_printf (csv, "%s", (const char *) wf.keys->pdata[i]);
          double vals[6] = { fv[0] * wf.divisor, rv[0] * wr.divisor,
                             fv[1] * wf.divisor, rv[1] * wr.divisor, e[0], e[1] };
          for (int v = 0; v < 4; v++)
            {
              g_string_append_c (csv, ',');
              csv_number (csv, vals[v]);
            }
          g_string_append_printf (csv, ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT,
                                  kk[0], kk[1]);
          for (int v = 4; v < 6; v++)
            {
              g_string_append_c (csv, ',');
              csv_number (csv, vals[v]);
            }
          g_string_append_c (csv, '\n');
        }
      i++;
      k++;
    }
  guint64 joint = errs[0]->len ? errs[0]->len : errs[1]->len;
  NfsubJsonWriter j;
  usage_json_begin (&j);
  nfsub_json_begin_object (&j, NULL);
  nfsub_json_put_string (&j, "schema", "nfsub-usage-compare/1");
  g_autofree char *ws = usage_julian_to_string (start);
  nfsub_json_put_string (&j, "week", ws);
  nfsub_json_put_string (&j, "service", sel->service ? service_names[sel->service] : "any");
  nfsub_json_put_uint (&j, "users_both", joint);
  nfsub_json_put_uint (&j, "users_only_flows", only_flows);
  nfsub_json_put_uint (&j, "users_only_radius", only_radius);
  GString *text = g_string_new (NULL);
  g_string_append_printf (text, "compare sources, week %s (%s): users in both %"
                          G_GUINT64_FORMAT ", only in flows %" G_GUINT64_FORMAT
                          ", only in accounting %" G_GUINT64_FORMAT "\n", ws,
                          sel->service ? service_names[sel->service] : "any service",
                          joint, only_flows, only_radius);
  for (int d = 0; d < 2; d++)
    {
      const char *dn = d ? "out" : "in";
      if (errs[d]->len > 1)
        qsort (errs[d]->data, errs[d]->len, sizeof (double), cmp_double);
      g_autoptr (GArray) absv = g_array_sized_new (FALSE, FALSE, sizeof (double),
                                                   errs[d]->len);
      double mean = 0;
      for (guint x = 0; x < errs[d]->len; x++)
        {
          double v = g_array_index (errs[d], double, x);
          mean += v;
          double a = fabs (v);
          g_array_append_val (absv, a);
        }
      mean = errs[d]->len ? mean / errs[d]->len : NAN;
      if (absv->len > 1)
        qsort (absv->data, absv->len, sizeof (double), cmp_double);
      double agg = tot[1][d] > 0 ? tot[0][d] / tot[1][d] - 1 : NAN;
      nfsub_json_begin_object (&j, dn);
      nfsub_json_put_number (&j, "flows_total", tot[0][d]);
      nfsub_json_put_number (&j, "radius_total", tot[1][d]);
      nfsub_json_put_number (&j, "aggregate_rel_error", agg);
      nfsub_json_put_number (&j, "mean_rel_error", mean);
      nfsub_json_put_number (&j, "median_rel_error",
                             quantile_sorted ((double *) errs[d]->data, errs[d]->len, 0.5));
      nfsub_json_put_number (&j, "median_abs_rel_error",
                             quantile_sorted ((double *) absv->data, absv->len, 0.5));
      nfsub_json_put_number (&j, "p90_abs_rel_error",
                             quantile_sorted ((double *) absv->data, absv->len, 0.9));
      nfsub_json_begin_array (&j, "by_sampled_packets");
      for (int b = 0; b < 6; b++)
        {
          KBucket *kb = &buckets[d][b];
          nfsub_json_begin_object (&j, NULL);
          nfsub_json_put_uint (&j, "from", kb->lo);
          if (b == 5)
            nfsub_json_put_null (&j, "below");
          else
            nfsub_json_put_uint (&j, "below", kb->hi);
          nfsub_json_put_uint (&j, "users", kb->users);
          nfsub_json_put_number (&j, "rms_rel_error",
                                 kb->users ? sqrt (kb->sum_sq_err / kb->users) : NAN);
          nfsub_json_put_number (&j, "predicted_rse",
                                 kb->users && b ? sqrt (kb->sum_pred_sq / kb->users) : NAN);
          nfsub_json_end_object (&j);
        }
      nfsub_json_end_array (&j);
      nfsub_json_end_object (&j);
      g_autofree char *a = pct_text (agg);
      g_autofree char *m = pct_text (quantile_sorted ((double *) absv->data,
                                                      absv->len, 0.5));
      g_autofree char *p90 = pct_text (quantile_sorted ((double *) absv->data,
                                                        absv->len, 0.9));
      g_string_append_printf (text, "  %s: flows estimate vs accounting: aggregate "
                              "%s, per user median |error| %s, 90th percentile %s\n",
                              d ? "OUT" : "IN", a, m, p90);
      for (int b = 1; b < 6; b++)
        {
          KBucket *kb = &buckets[d][b];
          if (!kb->users)
            continue;
          g_autofree char *obs = pct_text (sqrt (kb->sum_sq_err / kb->users));
          g_autofree char *pred = pct_text (sqrt (kb->sum_pred_sq / kb->users));
          g_autofree char *hi = b == 5 ? g_strdup ("")
                                       : g_strdup_printf ("%" G_GUINT64_FORMAT,
                                                          kb->hi - 1);
          g_string_append_printf (text, "    users with %" G_GUINT64_FORMAT "..%s "
                                  "sampled packets: %" G_GUINT64_FORMAT
                                  ", rms error %s (1/sqrt(k) predicts %s)\n",
                                  kb->lo, hi, kb->users, obs, pred);
        }
    }
  nfsub_json_end_object (&j);
  g_autofree char *doc = usage_json_finish (&j);
  int rc = 0;
  if (!o->quiet)
    fputs (text->str, stdout);
  g_string_free (text, TRUE);
  if (o->json && !write_output (o->json, doc, strlen (doc), &error))
    rc = fail (error);
  if (csv)
    {
      if (!rc && !write_output (o->csv, csv->str, csv->len, &error))
        rc = fail (error);
      g_string_free (csv, TRUE);
    }
  usage_week_clear (&wf);
  usage_week_clear (&wr);
  g_array_unref (errs[0]);
  g_array_unref (errs[1]);
  return rc;
}

/* ---- entry ---- */

int
usage_command (NfsubHost *host, int argc, char **argv)
{
  UsageOptions o = { 0 };
  o.sample = 5000;
  o.seed = 1;
  o.rse_max = 0.30;
  o.client_mb = 100;
  GOptionEntry entries[] = {
    { "week", 'w', 0, G_OPTION_ARG_STRING, &o.week,
      "first day of the week (YYYY-MM-DD, in [nfsub] timezone)", "DATE" },
    { "service", 's', 0, G_OPTION_ARG_STRING, &o.service,
      "broadband or mobile (default: both)", "NAME" },
    { "access", 'a', 0, G_OPTION_ARG_STRING, &o.access,
      "pppoe, ipoe, mobile or all (default all)", "NAME" },
    { "class", 0, 0, G_OPTION_ARG_STRING, &o.user_class,
      "personal (default), enterprise or any", "NAME" },
    { "source", 0, 0, G_OPTION_ARG_STRING, &o.source,
      "flows or radius (default: per service, from the config)", "NAME" },
    { "missing", 0, 0, G_OPTION_ARG_STRING, &o.missing,
      "days without data: scale (default: divide by the days present) or "
      "zero (divide by 7)", "POLICY" },
    { "json", 'j', 0, G_OPTION_ARG_FILENAME, &o.json,
      "write the statistics as JSON to FILE (- = stdout)", "FILE" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &o.csv,
      "write the densities as CSV (with --compare-sources: per user)", "FILE" },
    { "sample-csv", 0, 0, G_OPTION_ARG_FILENAME, &o.sample_csv,
      "write the scatter sample as CSV", "FILE" },
    { "years-csv", 0, 0, G_OPTION_ARG_FILENAME, &o.years_csv,
      "write the table across years as CSV", "FILE" },
    { "sample", 0, 0, G_OPTION_ARG_INT, &o.sample,
      "users in the scatter sample (default 5000)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &o.seed,
      "seed of the sample (default 1)", "N" },
    { "rse-max", 0, 0, G_OPTION_ARG_DOUBLE, &o.rse_max,
      "relative standard error above which a bin is unreliable (default 0.30)",
      "X" },
    { "client-cut", 0, 0, G_OPTION_ARG_DOUBLE, &o.client_mb,
      "upload MB/day below which a user counts as client type (default 100)",
      "MB" },
    { "no-years", 0, 0, G_OPTION_ARG_NONE, &o.no_years,
      "only the given week, not the same week of other stored years", NULL },
    { "compare-sources", 0, 0, G_OPTION_ARG_NONE, &o.compare,
      "compare the sampled flow estimate with the accounting counters", NULL },
    { "list-days", 0, 0, G_OPTION_ARG_NONE, &o.list_days,
      "list the days stored in each source", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet, "no text on stdout", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx,
      "Per-user daily usage of a week (daily = weekly total / 7): density over\n"
      "log10(bytes/day), mean, median, mode, top 10%/1% shares, an IN/OUT\n"
      "scatter sample, sampling reliability, and the same week in other years.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  int rc = 0;
  ServiceResult results[2] = { { 0 } };
  guint n_results = 0;
  UsageConfig cfg = { 0 };
  UsageStore *flows = NULL, *radius = NULL;
  g_autofree char *flows_dir = NULL, *radius_dir = NULL;

  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      rc = fail (error);
      goto out;
    }
  if (argc > 1)
    {
      rc = usage_error ("unexpected argument '%s'", argv[1]);
      goto out;
    }
  guint service = 0, access = 0, user_class = NFSUB_CLASS_PERSONAL;
  gboolean source_given = FALSE;
  UsageSource source = USAGE_SOURCE_FLOWS;
  UsageMissingPolicy policy = USAGE_MISSING_SCALE;
  if (o.service && (!parse_name (o.service, service_names, 3, &service) || !service))
    {
      rc = usage_error ("--service: expected broadband or mobile, not '%s'", o.service);
      goto out;
    }
  if (o.access && !parse_name (o.access, access_names, 4, &access))
    {
      rc = usage_error ("--access: expected pppoe, ipoe, mobile or all, not '%s'",
                        o.access);
      goto out;
    }
  if (o.user_class && !parse_name (o.user_class, class_names, 3, &user_class))
    {
      rc = usage_error ("--class: expected personal, enterprise or any, not '%s'",
                        o.user_class);
      goto out;
    }
  if (o.source)
    {
      source_given = TRUE;
      if (strcmp (o.source, "flows") == 0)
        source = USAGE_SOURCE_FLOWS;
      else if (strcmp (o.source, "radius") == 0 || strcmp (o.source, "accounting") == 0)
        source = USAGE_SOURCE_RADIUS;
      else
        {
          rc = usage_error ("--source: expected flows or radius, not '%s'", o.source);
          goto out;
        }
    }
  if (o.missing)
    {
      if (strcmp (o.missing, "zero") == 0)
        policy = USAGE_MISSING_ZERO;
      else if (strcmp (o.missing, "scale") != 0)
        {
          rc = usage_error ("--missing: expected scale or zero, not '%s'", o.missing);
          goto out;
        }
    }
  if (o.sample < 0 || o.sample > 10000000 || !(o.rse_max > 0) || !(o.client_mb >= 0))
    {
      rc = usage_error ("--sample, --rse-max or --client-cut out of range");
      goto out;
    }

  if (!usage_config_load (host, nfsub_host_config (host), USAGE_PLUGIN, &cfg,
                          &error))
    {
      rc = fail (error);
      goto out;
    }
  const char *dir = nfsub_host_state_dir (host, USAGE_PLUGIN, &error);
  if (!dir)
    {
      rc = fail (error);
      goto out;
    }
  flows_dir = g_build_filename (dir, "flows", NULL);
  radius_dir = g_build_filename (dir, "radius", NULL);
  if (!(flows = usage_store_open (flows_dir, FALSE, &error))
      || !(radius = usage_store_open (radius_dir, FALSE, &error)))
    {
      rc = fail (error);
      goto out;
    }

  if (o.list_days)
    {
      UsageStore *stores[2] = { flows, radius };
      for (int s = 0; s < 2; s++)
        {
          g_autoptr (GArray) days = usage_store_days (stores[s]);
          g_print ("%s: %u days", usage_source_name (s), days->len);
          for (guint i = 0; i < days->len; i++)
            {
              g_autofree char *d = usage_julian_to_string (g_array_index (days, guint32, i));
              g_print ("%s%s", i ? " " : ": ", d);
            }
          g_print ("\n");
        }
      goto out;
    }

  guint32 start;
  if (!o.week)
    {
      rc = usage_error ("--week DATE is required");
      goto out;
    }
  if (!usage_julian_parse (o.week, &start))
    {
      rc = usage_error ("--week: expected YYYY-MM-DD, not '%s'", o.week);
      goto out;
    }

  if (o.compare)
    {
      UsageSelection sel = { service, access, o.user_class ? user_class : 0 };
      rc = run_compare (host, flows, radius, &o, &sel, start, policy);
      goto out;
    }

  /* A concurrent `nfsub process` may remove a delta this reader listed
   * (merged into a day file meanwhile): read again, from a fresh listing. */
  for (guint attempt = 0;; attempt++)
    {
      UsageWeek all[2] = { { 0 } };  /* by source */
      gboolean ok = TRUE;
      for (guint s = NFSUB_SERVICE_BROADBAND; s <= NFSUB_SERVICE_MOBILE && ok; s++)
        {
          if (service && s != service)
            continue;
          ServiceResult *r = &results[n_results++];
          r->service = s;
          r->source = source_given ? source
                      : s == NFSUB_SERVICE_MOBILE ? cfg.source_mobile
                                                  : cfg.source_broadband;
          r->store = r->source == USAGE_SOURCE_RADIUS ? radius : flows;
          r->has_k = r->source == USAGE_SOURCE_FLOWS;
          r->sel = (UsageSelection) { s, access, user_class };
          r->week.start = start;
          ok = compute_service (r, &all[r->source], &o, policy, &error);
        }
      usage_week_clear (&all[0]);
      usage_week_clear (&all[1]);
      if (ok)
        break;
      if (attempt >= 2 || !usage_store_error_is_race (error))
        {
          rc = fail (error);
          goto out;
        }
      g_clear_error (&error);
      for (guint i = 0; i < n_results; i++)
        service_result_clear (&results[i]);
      memset (results, 0, sizeof results);
      n_results = 0;
      usage_store_free (flows);
      usage_store_free (radius);
      radius = NULL;
      if (!(flows = usage_store_open (flows_dir, FALSE, &error))
          || !(radius = usage_store_open (radius_dir, FALSE, &error)))
        {
          rc = fail (error);
          goto out;
        }
    }

  if (!o.quiet)
    {
      g_autoptr (GString) text = g_string_new (NULL);
      g_autofree char *end = usage_julian_to_string (start + 6);
      g_string_append_printf (text, "nfsub usage: week %s .. %s (%s)\n", o.week, end,
                              g_time_zone_get_identifier (nfsub_host_timezone (host)));
      for (guint i = 0; i < n_results; i++)
        {
          const UsageWeek *w = &results[i].week;
          if (w->days_observed < USAGE_WEEK_DAYS)
            {
              g_string_append_printf (text, "%s (%s): missing days:",
                                      service_names[results[i].service],
                                      usage_source_name (results[i].source));
              for (int d = 0; d < USAGE_WEEK_DAYS; d++)
                if (!w->present[d])
                  {
                    g_autofree char *ds = usage_julian_to_string (start + d);
                    g_string_append_printf (text, " %s", ds);
                  }
              g_autofree char *how
                  = w->days_observed == 0 ? g_strdup ("no data at all")
                    : policy == USAGE_MISSING_ZERO
                        ? g_strdup ("counted as zero (daily = total / 7)")
                        : g_strdup_printf ("daily = total over the %u days with "
                                           "data / %u", w->days_observed,
                                           w->days_observed);
              g_string_append_printf (text, " -- %s\n", how);
            }
        }
      for (guint i = 0; i < n_results; i++)
        print_service (text, &results[i], &o);
      fputs (text->str, stdout);
    }
  if (o.json)
    {
      g_autofree char *doc = json_document (results, n_results, &o, host, policy);
      if (!write_output (o.json, doc, strlen (doc), &error))
        {
          rc = fail (error);
          goto out;
        }
    }
  struct {
    const char *path;
    GString *(*make) (ServiceResult *, guint);
  } csvs[] = { { o.csv, csv_density }, { o.sample_csv, csv_sample },
               { o.years_csv, csv_years } };
  for (guint c = 0; c < G_N_ELEMENTS (csvs); c++)
    if (csvs[c].path)
      {
        g_autoptr (GString) s = csvs[c].make (results, n_results);
        if (!write_output (csvs[c].path, s->str, s->len, &error))
          {
            rc = fail (error);
            goto out;
          }
      }
out:
  for (guint i = 0; i < n_results; i++)
    service_result_clear (&results[i]);
  usage_store_free (flows);
  usage_store_free (radius);
  usage_config_clear (&cfg);
  g_free (o.week);
  g_free (o.service);
  g_free (o.access);
  g_free (o.user_class);
  g_free (o.source);
  g_free (o.missing);
  g_free (o.json);
  g_free (o.csv);
  g_free (o.sample_csv);
  g_free (o.years_csv);
  return rc;
}
