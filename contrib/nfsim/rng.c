/* nfsim: deterministic PRNG and distributions (see rng.h). */
#include "rng.h"

#include <math.h>

guint64
nfsim_splitmix64 (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

void
nfsim_rng_seed (NfsimRng *rng, guint64 seed)
{
  guint64 st = seed;
  for (int i = 0; i < 4; i++)
    rng->s[i] = nfsim_splitmix64 (&st);
  rng->has_spare = FALSE;
  rng->spare_normal = 0;
}

void
nfsim_rng_seed_stream (NfsimRng *rng, guint64 seed, guint64 stream)
{
  guint64 st = seed ^ (stream * G_GUINT64_CONSTANT (0xd1342543de82ef95));
  nfsim_splitmix64 (&st);
  nfsim_rng_seed (rng, nfsim_splitmix64 (&st) ^ stream);
}

static inline guint64
rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

guint64
nfsim_rng_next (NfsimRng *rng)
{
  guint64 *s = rng->s;
  guint64 result = rotl (s[1] * 5, 7) * 9;
  guint64 t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

double
nfsim_rng_uniform (NfsimRng *rng)
{
  return (double) (nfsim_rng_next (rng) >> 11) * 0x1.0p-53;
}

guint64
nfsim_rng_below (NfsimRng *rng, guint64 n)
{
  /* rejection of the biased tail */
  guint64 limit = G_MAXUINT64 - (G_MAXUINT64 % n);
  guint64 x;
  do
    x = nfsim_rng_next (rng);
  while (x >= limit);
  return x % n;
}

double
nfsim_rng_normal (NfsimRng *rng)
{
  if (rng->has_spare)
    {
      rng->has_spare = FALSE;
      return rng->spare_normal;
    }
  double u, v, s;
  do
    {
      u = 2.0 * nfsim_rng_uniform (rng) - 1.0;
      v = 2.0 * nfsim_rng_uniform (rng) - 1.0;
      s = u * u + v * v;
    }
  while (s >= 1.0 || s == 0.0);
  double m = sqrt (-2.0 * log (s) / s);
  rng->spare_normal = v * m;
  rng->has_spare = TRUE;
  return u * m;
}

double
nfsim_rng_exponential (NfsimRng *rng, double mean)
{
  return -mean * log1p (-nfsim_rng_uniform (rng));
}

guint64
nfsim_rng_poisson (NfsimRng *rng, double mean)
{
  if (mean <= 0)
    return 0;
  if (mean < 30)
    {
      /* Knuth: multiply uniforms until below e^-mean */
      double limit = exp (-mean), prod = nfsim_rng_uniform (rng);
      guint64 k = 0;
      while (prod > limit)
        {
          k++;
          prod *= nfsim_rng_uniform (rng);
        }
      return k;
    }
  /* Hörmann's PTRS (transformed rejection with squeeze), exact */
  double slam = sqrt (mean), loglam = log (mean);
  double b = 0.931 + 2.53 * slam;
  double a = -0.059 + 0.02483 * b;
  double invalpha = 1.1239 + 1.1328 / (b - 3.4);
  double vr = 0.9277 - 3.6224 / (b - 2);
  for (;;)
    {
      double u = nfsim_rng_uniform (rng) - 0.5;
      double v = nfsim_rng_uniform (rng);
      double us = 0.5 - fabs (u);
      double k = floor ((2 * a / us + b) * u + mean + 0.43);
      if (us >= 0.07 && v <= vr)
        return (guint64) k;
      if (k < 0 || (us < 0.013 && v > us))
        continue;
      if (log (v) + log (invalpha) - log (a / (us * us) + b)
          <= -mean + k * loglam - lgamma (k + 1))
        return (guint64) k;
    }
}

guint64
nfsim_rng_binomial (NfsimRng *rng, guint64 n, double p)
{
  if (n == 0 || p <= 0)
    return 0;
  if (p >= 1)
    return n;
  double np = (double) n * p;
  if (np < 50)
    {
      /* exact: count successes by geometric gaps between them */
      double lq = log1p (-p);
      guint64 k = 0;
      double pos = 0;
      for (;;)
        {
          pos += floor (log1p (-nfsim_rng_uniform (rng)) / lq) + 1;
          if (pos > (double) n)
            return k;
          k++;
        }
    }
  /* np >= 50: the normal approximation's error is far below the
   * statistical noise any test can see */
  double sd = sqrt (np * (1 - p));
  double x = floor (np + sd * nfsim_rng_normal (rng) + 0.5);
  if (x < 0)
    x = 0;
  if (x > (double) n)
    x = (double) n;
  return (guint64) x;
}

guint
nfsim_rng_pick (NfsimRng *rng, const double *weights, guint n, double total)
{
  double x = nfsim_rng_uniform (rng) * total;
  for (guint i = 0; i < n; i++)
    {
      if (x < weights[i])
        return i;
      x -= weights[i];
    }
  /* rounding: the last non-zero weight */
  for (guint i = n; i > 0; i--)
    if (weights[i - 1] > 0)
      return i - 1;
  return 0;
}
