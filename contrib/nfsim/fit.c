/* nfsim: mixture calibration (see fit.h). */
#include "fit.h"

#include <math.h>
#include <string.h>

#define LN10 2.302585092994046

static double
norm_cdf (double z)
{
  return 0.5 * erfc (-z / M_SQRT2);
}

double
nfsim_mixture_cdf (const NfsimMixture *m, double x)
{
  double c = 0;
  for (int i = 0; i < NFSIM_MIX_K; i++)
    if (m->weight[i] > 0)
      c += m->weight[i] * norm_cdf ((x - m->mu[i]) / m->sigma[i]);
  return c;
}

double
nfsim_mixture_quantile (const NfsimMixture *m, double u)
{
  double lo = 1e9, hi = -1e9;
  for (int i = 0; i < NFSIM_MIX_K; i++)
    if (m->weight[i] > 0)
      {
        lo = MIN (lo, m->mu[i] - 9 * m->sigma[i]);
        hi = MAX (hi, m->mu[i] + 9 * m->sigma[i]);
      }
  for (int it = 0; it < 100 && hi - lo > 1e-7; it++)
    {
      double mid = 0.5 * (lo + hi);
      if (nfsim_mixture_cdf (m, mid) < u)
        lo = mid;
      else
        hi = mid;
    }
  return 0.5 * (lo + hi);
}

/* E[10^x] of component i, in bytes */
static double
component_mean (const NfsimMixture *m, int i)
{
  double s = m->sigma[i] * LN10;
  return exp (m->mu[i] * LN10 + 0.5 * s * s);
}

/* E[10^x ; x > q] of component i */
static double
component_tail_mean (const NfsimMixture *m, int i, double q)
{
  /* with y = x ln10 ~ N(mu ln10, s^2): E[e^y; y > q ln10]
   *   = e^{mu' + s^2/2} Phi((mu' + s^2 - q ln10) / s) */
  double s = m->sigma[i] * LN10, mu = m->mu[i] * LN10;
  return exp (mu + 0.5 * s * s) * norm_cdf ((mu + s * s - q * LN10) / s);
}

/* The mode of the mixture's density over log10(bytes), smoothed with the
 * kernel the ground truth uses; *bumps (if not NULL) measures how far the
 * smoothed density is from unimodal: the total fall on the way up to the
 * mode plus the total rise after it, relative to the peak (0: unimodal). */
double
nfsim_mixture_tail_mean (const NfsimMixture *m, double q)
{
  double t = 0;
  for (int i = 0; i < NFSIM_MIX_K; i++)
    if (m->weight[i] > 0)
      t += m->weight[i] * component_tail_mean (m, i, q);
  return t;
}

static double
smoothed_mode_ex (const NfsimMixture *m, double *bumps)
{
  double sm[NFSIM_MIX_K];
  for (int i = 0; i < NFSIM_MIX_K; i++)
    sm[i] = sqrt (m->sigma[i] * m->sigma[i]
                  + NFSIM_MODE_SMOOTH_DECADES * NFSIM_MODE_SMOOTH_DECADES);
#define PDF(x)                                                                  \
  ({                                                                            \
    double _p = 0;                                                              \
    for (int _i = 0; _i < NFSIM_MIX_K; _i++)                                    \
      if (m->weight[_i] > 0)                                                    \
        {                                                                       \
          double _z = ((x) - m->mu[_i]) / sm[_i];                               \
          _p += m->weight[_i] * exp (-0.5 * _z * _z) / sm[_i];                  \
        }                                                                       \
    _p;                                                                         \
  })
  double lo = 1e9, hi = -1e9;
  for (int i = 0; i < NFSIM_MIX_K; i++)
    if (m->weight[i] > 0)
      {
        lo = MIN (lo, m->mu[i] - 2 * sm[i]);
        hi = MAX (hi, m->mu[i] + 2 * sm[i]);
      }
  int n = (int) ((hi - lo) / 0.02) + 1;
  if (n > 2000)
    n = 2000;
  double step = (hi - lo) / MAX (n - 1, 1);
  double grid[2000];
  int best_i = 0;
  for (int i = 0; i < n; i++)
    {
      grid[i] = PDF (lo + i * step);
      if (grid[i] > grid[best_i])
        best_i = i;
    }
  if (bumps)
    {
      double b = 0;
      for (int i = 1; i < n; i++)
        {
          double d = grid[i] - grid[i - 1];
          if (i <= best_i && d < 0)
            b -= d;
          if (i > best_i && d > 0)
            b += d;
        }
      *bumps = grid[best_i] > 0 ? b / grid[best_i] : 0;
    }
  double best_x = lo + best_i * step;
  double a = best_x - step, c2 = best_x + step;
  for (int it = 0; it < 30; it++)
    {
      double c = c2 - (c2 - a) * 0.618033988749895, d = a + (c2 - a) * 0.618033988749895;
      if (PDF (c) > PDF (d))
        c2 = d;
      else
        a = c;
    }
#undef PDF
  return 0.5 * (a + c2);
}

static double
smoothed_mode (const NfsimMixture *m)
{
  return smoothed_mode_ex (m, NULL);
}

void
nfsim_mixture_stats (const NfsimMixture *m, NfsimMixStats *out)
{
  double mean = 0;
  for (int i = 0; i < NFSIM_MIX_K; i++)
    if (m->weight[i] > 0)
      mean += m->weight[i] * component_mean (m, i);
  out->mean_mb = mean / 1e6;
  out->median_mb = pow (10, nfsim_mixture_quantile (m, 0.5) - 6);
  out->mode_mb = pow (10, smoothed_mode (m) - 6);
  for (int k = 0; k < 2; k++)
    {
      double q = nfsim_mixture_quantile (m, k == 0 ? 0.9 : 0.99), tail = 0;
      for (int i = 0; i < NFSIM_MIX_K; i++)
        if (m->weight[i] > 0)
          tail += m->weight[i] * component_tail_mean (m, i, q);
      if (k == 0)
        out->top10 = 100 * tail / mean;
      else
        out->top1 = 100 * tail / mean;
    }
}

/* parameter vector -> mixture; components: 0 main, 1 light, 2 heavy */
#define NPAR 8
static void
unpack (const double *p, NfsimMixture *m)
{
  double e0 = 1, e1 = exp (p[2]), e2 = exp (p[5]);
  double sum = e0 + e1 + e2;
  m->weight[0] = e0 / sum;
  m->weight[1] = e1 / sum;
  m->weight[2] = e2 / sum;
  m->mu[0] = p[0];
  m->sigma[0] = exp (p[1]);
  m->mu[1] = p[0] - exp (p[3]);
  m->sigma[1] = exp (p[4]);
  m->mu[2] = p[0] + exp (p[6]);
  m->sigma[2] = exp (p[7]);
}

static double
sq (double x)
{
  return x * x;
}

static double
objective (const double *p, const NfsimTargets *t)
{
  NfsimMixture m;
  unpack (p, &m);
  for (int i = 0; i < NFSIM_MIX_K; i++)
    if (!(m.mu[i] > 0 && m.mu[i] < 16) || !(m.sigma[i] <= 3 && m.sigma[i] >= 0.02))
      return 1e9;
  NfsimMixStats s;
  nfsim_mixture_stats (&m, &s);
  double f = 0;
  if (t->mean_mb > 0)
    f += sq (log (s.mean_mb / t->mean_mb));
  if (t->median_mb > 0)
    f += sq (log (s.median_mb / t->median_mb));
  if (t->mode_mb > 0)
    f += sq (log (s.mode_mb / t->mode_mb));
  if (t->top10 > 0)
    f += sq ((s.top10 - t->top10) / 10);
  if (t->top1 > 0)
    f += sq ((s.top1 - t->top1) / 10);
  /* shape priors, weak: no needle-thin components, the main body holds
   * most users, the light and heavy components stay on their side */
  for (int i = 0; i < NFSIM_MIX_K; i++)
    if (m.sigma[i] < 0.15)
      f += sq ((0.15 - m.sigma[i]) * 4);
  if (m.weight[0] < 0.5)
    f += sq ((0.5 - m.weight[0]) * 2);
  /* the main body sits at the published mode, so the realised
   * histogram has a clear peak there rather than a plateau */
  if (t->mode_mb > 0)
    f += 0.01 * sq ((m.mu[0] - (log10 (t->mode_mb) + 6)) / 0.1);
  if (m.weight[2] > 0.15)
    f += sq ((m.weight[2] - 0.15) * 2);
  /* one peak: the published densities are unimodal */
  double bumps = 0;
  smoothed_mode_ex (&m, &bumps);
  f += sq (bumps * 5);
  /* the light users sit within a decade and a half of the body (without this
   * the median alone would let them drift to a few bytes a day) */
  double d_light = m.mu[0] - m.mu[1];
  if (d_light > 1.5)
    f += sq ((d_light - 1.5) * 2);
  f += 1e-4 * (sq (p[1] - log (0.35)) + sq (p[4] - log (0.5)) + sq (p[7] - log (0.4)));
  return f;
}

/* Nelder-Mead, deterministic */
static double
nelder_mead (double *x, const NfsimTargets *t, double step, int iters)
{
  double simplex[NPAR + 1][NPAR], fv[NPAR + 1];
  for (int i = 0; i <= NPAR; i++)
    {
      memcpy (simplex[i], x, sizeof (double) * NPAR);
      if (i > 0)
        simplex[i][i - 1] += step;
      fv[i] = objective (simplex[i], t);
    }
  for (int it = 0; it < iters; it++)
    {
      if (it % 50 == 0)
        {
          double lo = fv[0], hi = fv[0];
          for (int i = 1; i <= NPAR; i++)
            lo = MIN (lo, fv[i]), hi = MAX (hi, fv[i]);
          if (hi - lo < 1e-13)
            break;
        }
      /* order */
      for (int i = 0; i <= NPAR; i++)
        for (int j = i + 1; j <= NPAR; j++)
          if (fv[j] < fv[i])
            {
              double tmp[NPAR];
              memcpy (tmp, simplex[i], sizeof tmp);
              memcpy (simplex[i], simplex[j], sizeof tmp);
              memcpy (simplex[j], tmp, sizeof tmp);
              double tf = fv[i];
              fv[i] = fv[j];
              fv[j] = tf;
            }
      double c[NPAR] = { 0 };
      for (int i = 0; i < NPAR; i++)
        for (int k = 0; k < NPAR; k++)
          c[k] += simplex[i][k] / NPAR;
      double xr[NPAR], xe[NPAR], xc[NPAR];
      for (int k = 0; k < NPAR; k++)
        xr[k] = c[k] + (c[k] - simplex[NPAR][k]);
      double fr = objective (xr, t);
      if (fr < fv[0])
        {
          for (int k = 0; k < NPAR; k++)
            xe[k] = c[k] + 2 * (c[k] - simplex[NPAR][k]);
          double fe = objective (xe, t);
          if (fe < fr)
            memcpy (simplex[NPAR], xe, sizeof xe), fv[NPAR] = fe;
          else
            memcpy (simplex[NPAR], xr, sizeof xr), fv[NPAR] = fr;
          continue;
        }
      if (fr < fv[NPAR - 1])
        {
          memcpy (simplex[NPAR], xr, sizeof xr);
          fv[NPAR] = fr;
          continue;
        }
      for (int k = 0; k < NPAR; k++)
        xc[k] = c[k] + 0.5 * (simplex[NPAR][k] - c[k]);
      double fc = objective (xc, t);
      if (fc < fv[NPAR])
        {
          memcpy (simplex[NPAR], xc, sizeof xc);
          fv[NPAR] = fc;
          continue;
        }
      for (int i = 1; i <= NPAR; i++)
        {
          for (int k = 0; k < NPAR; k++)
            simplex[i][k] = simplex[0][k] + 0.5 * (simplex[i][k] - simplex[0][k]);
          fv[i] = objective (simplex[i], t);
        }
    }
  int best = 0;
  for (int i = 1; i <= NPAR; i++)
    if (fv[i] < fv[best])
      best = i;
  memcpy (x, simplex[best], sizeof (double) * NPAR);
  return fv[best];
}

double
nfsim_mixture_fit (const NfsimTargets *t, NfsimMixture *out)
{
  double anchor = t->mode_mb > 0 ? log10 (t->mode_mb) + 6
                  : t->median_mb > 0 ? log10 (t->median_mb) + 6
                                     : log10 (t->mean_mb) + 5.7;
  double best[NPAR], best_f = INFINITY;
  /* a few deterministic starts: light/heavy components near or far */
  static const double starts[][4] = {
    /* dL, wL(logit), dH, wH(logit) */
    { 1.0, -1.0, 1.2, -3.0 }, { 1.5, -0.5, 1.8, -4.0 }, { 0.7, -1.5, 0.9, -2.5 },
  };
  for (guint s = 0; s < G_N_ELEMENTS (starts); s++)
    {
      double p[NPAR] = { anchor, log (0.35), starts[s][1], log (starts[s][0]),
                         log (0.5), starts[s][3], log (starts[s][2]), log (0.4) };
      double f = 0;
      for (int round = 0; round < 4; round++)
        f = nelder_mead (p, t, round == 0 ? 0.3 : 0.05, 1200);
      if (f < best_f)
        {
          best_f = f;
          memcpy (best, p, sizeof best);
        }
      if (best_f < 1e-6)
        break; /* the targets are met; the priors only break ties */
    }
  unpack (best, out);
  NfsimMixStats st;
  nfsim_mixture_stats (out, &st);
  double worst = 0;
  if (t->mean_mb > 0)
    worst = MAX (worst, fabs (st.mean_mb / t->mean_mb - 1));
  if (t->median_mb > 0)
    worst = MAX (worst, fabs (st.median_mb / t->median_mb - 1));
  if (t->mode_mb > 0)
    worst = MAX (worst, fabs (st.mode_mb / t->mode_mb - 1));
  if (t->top10 > 0)
    worst = MAX (worst, fabs (st.top10 - t->top10) / 100);
  if (t->top1 > 0)
    worst = MAX (worst, fabs (st.top1 - t->top1) / 100);
  return worst;
}

#ifdef NFSIM_FIT_MAIN
#include <stdio.h>
int
main (void)
{
  NfsimTargets ts[] = {
    { 834, 178, 224, 75, 46 },  { 5743, 2372, 5620, 50, 15 },
    { 16, 0, 14, 45, 13 },      { 150, 0, 112, 48, 12 },
    { 479, 75, 89, 0, 0 },      { 2986, 1187, 1995, 0, 0 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (ts); i++)
    {
      NfsimMixture m;
      double w = nfsim_mixture_fit (&ts[i], &m);
      NfsimMixStats s;
      nfsim_mixture_stats (&m, &s);
      printf ("target %.0f %.0f %.0f %.0f %.0f -> %.1f %.1f %.1f %.1f %.1f worst %.4f\n",
              ts[i].mean_mb, ts[i].median_mb, ts[i].mode_mb, ts[i].top10, ts[i].top1,
              s.mean_mb, s.median_mb, s.mode_mb, s.top10, s.top1, w);
      for (int k = 0; k < 3; k++)
        printf ("   w %.3f mu %.3f (%.0f MB) sigma %.3f\n", m.weight[k], m.mu[k],
                pow (10, m.mu[k] - 6), m.sigma[k]);
    }
}
#endif
