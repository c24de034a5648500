/* nfsim: a small deterministic PRNG (xoshiro256**, seeded by splitmix64)
 * and the distributions the simulator draws from.
 *
 * Own generator rather than rand()/g_random so that a seed gives the same
 * population and flows on every libc and GLib version. */
#ifndef NFSIM_RNG_H
#define NFSIM_RNG_H

#include <glib.h>

typedef struct {
  guint64 s[4];
  /* Box-Muller yields normals in pairs; the second is kept here. */
  double spare_normal;
  gboolean has_spare;
} NfsimRng;

guint64 nfsim_splitmix64 (guint64 *state);
void nfsim_rng_seed (NfsimRng *rng, guint64 seed);
/* An independent stream derived from (seed, stream id), so that e.g. user
 * 123's traffic does not change when user 122's draws change. */
void nfsim_rng_seed_stream (NfsimRng *rng, guint64 seed, guint64 stream);
guint64 nfsim_rng_next (NfsimRng *rng);
/* uniform in [0, 1) with 53 random bits */
double nfsim_rng_uniform (NfsimRng *rng);
/* uniform integer in [0, n), n > 0, unbiased */
guint64 nfsim_rng_below (NfsimRng *rng, guint64 n);
double nfsim_rng_normal (NfsimRng *rng);
double nfsim_rng_exponential (NfsimRng *rng, double mean);
/* Poisson(mean); exact for small means, normal approximation above 1e4 */
guint64 nfsim_rng_poisson (NfsimRng *rng, double mean);
/* Binomial(n, p): the number of a flow's n packets a 1-in-N sampler keeps.
 * Exact (inversion) when n*p is small, BTPE-free normal approximation with
 * continuity correction when n*p*(1-p) is large. */
guint64 nfsim_rng_binomial (NfsimRng *rng, guint64 n, double p);
/* index into a table of non-negative weights summing to total */
guint nfsim_rng_pick (NfsimRng *rng, const double *weights, guint n, double total);

#endif /* NFSIM_RNG_H */
