/* usage: week statistics (see stats.h and README.md for the definitions). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

double
usage_bin_centre_log10 (int bin)
{
  return USAGE_LOG10_MIN + USAGE_LOG10_STEP * bin;
}

int
usage_bin_of (double bytes_per_day)
{
  if (!(bytes_per_day > 0))
    return -2;
  /* times 20 rather than divided by 0.05: exact for whole decades */
  double pos = (log10 (bytes_per_day) - USAGE_LOG10_MIN) * 20.0 + 0.5;
  if (pos < 0)
    return -1;
  if (pos >= USAGE_N_BINS)
    return USAGE_N_BINS;
  return (int) pos;
}

static int
cmp_double_desc (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? 1 : x > y ? -1 : 0;
}

static int
cmp_u64 (const void *a, const void *b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return x < y ? -1 : x > y;
}

double
usage_top_share (const double *sorted_desc, guint n, double total, double p)
{
  if (n == 0 || !(total > 0))
    return NAN;
  double want = p * n;
  guint whole = (guint) floor (want);
  if (whole > n)
    whole = n;
  double sum = 0;
  for (guint i = 0; i < whole; i++)
    sum += sorted_desc[i];
  if (whole < n)
    sum += (want - whole) * sorted_desc[whole];
  return sum / total;
}

static double
rse_of (guint64 k)
{
  return k ? 1.0 / sqrt ((double) k) : INFINITY;
}

static void
smooth (const double *in, double *out)
{
  const int reach = (int) ceil (4 * USAGE_SMOOTH_SIGMA_BINS);
  double w[64];
  for (int d = 0; d <= reach; d++)
    w[d] = exp (-0.5 * (d / USAGE_SMOOTH_SIGMA_BINS) * (d / USAGE_SMOOTH_SIGMA_BINS));
  for (int i = 0; i < USAGE_N_BINS; i++)
    {
      double sum = 0, norm = 0;
      for (int j = MAX (0, i - reach); j <= MIN (USAGE_N_BINS - 1, i + reach); j++)
        {
          sum += w[abs (i - j)] * in[j];
          norm += w[abs (i - j)];
        }
      out[i] = sum / norm;
    }
}

void
usage_dir_stats_compute (UsageDirStats *st, const double *v, const guint64 *k,
                         guint n, double rse_threshold)
{
  memset (st, 0, sizeof *st);
  st->mode_bin = -1;
  st->mean = st->median = st->mode = st->mode_refined = 0;
  st->top10_share = st->top1_share = NAN;
  for (int b = 0; b < USAGE_N_BINS; b++)
    st->rse_median[b] = NAN;
  if (n == 0)
    return;

  g_autofree int *bin_of = g_new (int, n);
  double total = 0;
  for (guint i = 0; i < n; i++)
    {
      total += v[i];
      int b = usage_bin_of (v[i]);
      bin_of[i] = b;
      if (b == -2)
        st->zero++;
      else if (b == -1)
        st->underflow++;
      else if (b == USAGE_N_BINS)
        st->overflow++;
      else
        st->counts[b]++;
      if (k && rse_of (k[i]) > rse_threshold)
        st->users_unreliable++;
    }
  st->total = total;
  st->mean = total / n;

  g_autofree double *sorted = g_memdup2 (v, sizeof (double) * n);
  qsort (sorted, n, sizeof (double), cmp_double_desc);
  st->median = (n % 2) ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  st->top10_share = usage_top_share (sorted, n, total, 0.10);
  st->top1_share = usage_top_share (sorted, n, total, 0.01);

  for (int b = 0; b < USAGE_N_BINS; b++)
    st->density[b] = (double) st->counts[b] / ((double) n * USAGE_LOG10_STEP);
  smooth (st->density, st->smoothed);
  double best = 0;
  for (int b = 0; b < USAGE_N_BINS; b++)
    if (st->smoothed[b] > best)
      {
        best = st->smoothed[b];
        st->mode_bin = b;
      }
  if (st->mode_bin >= 0)
    {
      int b = st->mode_bin;
      double x = usage_bin_centre_log10 (b);
      st->mode = pow (10, x);
      st->mode_refined = st->mode;
      if (b > 0 && b < USAGE_N_BINS - 1)
        {
          double l = st->smoothed[b - 1], c = st->smoothed[b], r = st->smoothed[b + 1];
          double den = l - 2 * c + r;
          if (den < 0)
            st->mode_refined = pow (10, x + USAGE_LOG10_STEP * 0.5 * (l - r) / den);
        }
    }

  /* median sampled-packet count per bin -> median RSE per bin */
  if (k)
    {
      g_autofree guint *start = g_new0 (guint, USAGE_N_BINS + 1);
      for (guint i = 0; i < n; i++)
        if (bin_of[i] >= 0 && bin_of[i] < USAGE_N_BINS)
          start[bin_of[i] + 1]++;
      for (int b = 0; b < USAGE_N_BINS; b++)
        start[b + 1] += start[b];
      g_autofree guint64 *ks = g_new (guint64, start[USAGE_N_BINS] + 1);
      g_autofree guint *fill = g_memdup2 (start, sizeof (guint) * (USAGE_N_BINS + 1));
      for (guint i = 0; i < n; i++)
        if (bin_of[i] >= 0 && bin_of[i] < USAGE_N_BINS)
          ks[fill[bin_of[i]]++] = k[i];
      int last_bad = -1;
      for (int b = 0; b < USAGE_N_BINS; b++)
        {
          guint m = start[b + 1] - start[b];
          if (m == 0)
            continue;
          guint64 *g = ks + start[b];
          qsort (g, m, sizeof (guint64), cmp_u64);
          /* the median RSE is the RSE of the median count (monotone map) */
          double r = (m % 2) ? rse_of (g[m / 2])
                             : (rse_of (g[m / 2 - 1]) + rse_of (g[m / 2])) / 2;
          st->rse_median[b] = r;
          if (r > rse_threshold)
            last_bad = b;
        }
      if (last_bad >= 0)
        st->unreliable_below = pow (10, usage_bin_centre_log10 (last_bad)
                                            + USAGE_LOG10_STEP / 2);
    }
}

void
usage_stats_compute (UsageWeekStats *st, const double *in, const double *out,
                     const guint64 *k_in, const guint64 *k_out, guint n,
                     double rse_threshold, double client_cut)
{
  memset (st, 0, sizeof *st);
  st->n_users = n;
  st->rse_threshold = rse_threshold;
  st->client_cut = client_cut;
  usage_dir_stats_compute (&st->in, in, k_in, n, rse_threshold);
  usage_dir_stats_compute (&st->out, out, k_out, n, rse_threshold);
  double cin = 0, cout = 0;
  for (guint i = 0; i < n; i++)
    if (in[i] < client_cut)
      {
        st->client_users++;
        cin += in[i];
        cout += out[i];
      }
  st->client_user_share = n ? (double) st->client_users / n : NAN;
  st->client_in_share = st->in.total > 0 ? cin / st->in.total : NAN;
  st->client_out_share = st->out.total > 0 ? cout / st->out.total : NAN;
}

guint64
usage_sample_rank (const char *key, gsize len, guint64 seed)
{
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325) ^ seed;
  for (gsize i = 0; i < len; i++)
    {
      h ^= (guint8) key[i];
      h *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  /* splitmix64 finaliser: FNV alone leaves near keys near each other */
  h ^= h >> 30;
  h *= G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  h ^= h >> 27;
  h *= G_GUINT64_CONSTANT (0x94d049bb133111eb);
  h ^= h >> 31;
  return h;
}
