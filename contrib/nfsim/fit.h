/* nfsim: calibration of the per-user daily volume distribution.
 *
 * The published figures (mean, median, mode, top-10% and top-1% shares)
 * cannot all be met by one log-normal: broadband's mode lies *above* its
 * median (a log-normal's log-density is symmetric, so there mode = median),
 * and the top shares need a heavier right tail than the body's width
 * gives.  The model is therefore a mixture of three log-normals (Gaussians
 * in log10(bytes/day)): a main body, a light-user component below it (the
 * left skew that puts the median under the mode) and a heavy-user
 * component above it (the tail that carries the top shares).  Its eight
 * parameters are fitted to whichever targets are given; every statistic
 * of the mixture has a closed form (the smoothed mode too: smoothing with
 * a Gaussian kernel adds its variance to each component's), so the fit is
 * a cheap Nelder-Mead over an exact objective. */
#ifndef NFSIM_FIT_H
#define NFSIM_FIT_H

#include <glib.h>

#define NFSIM_MIX_K 3

typedef struct {
  double weight[NFSIM_MIX_K];
  double mu[NFSIM_MIX_K];    /* log10(bytes/day) */
  double sigma[NFSIM_MIX_K]; /* decades */
} NfsimMixture;

/* Targets; a value <= 0 means "not given". Volumes in MB/day (10^6 bytes),
 * shares in percent. */
typedef struct {
  double mean_mb, median_mb, mode_mb, top10, top1;
} NfsimTargets;

typedef struct {
  double mean_mb, median_mb, mode_mb, top10, top1;
} NfsimMixStats;

/* Smoothing of the published mode: Gaussian kernel of this sigma (decades),
 * the same the ground truth uses on the realised histogram. */
#define NFSIM_MODE_SMOOTH_DECADES 0.1

void nfsim_mixture_stats (const NfsimMixture *m, NfsimMixStats *out);
double nfsim_mixture_cdf (const NfsimMixture *m, double x);
/* x with cdf(x) = u, 0 < u < 1 */
double nfsim_mixture_quantile (const NfsimMixture *m, double u);
/* E[V ; log10 V > q] in bytes/day (V = 10^x) */
double nfsim_mixture_tail_mean (const NfsimMixture *m, double q);
/* Fits a mixture to the targets; returns the worst relative error of the
 * given targets (shares: absolute points / 100). */
double nfsim_mixture_fit (const NfsimTargets *t, NfsimMixture *out);

#endif
