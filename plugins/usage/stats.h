/* usage: statistics of one week's per-user daily volumes (sections 3-5 of
 * docs/analyses.md).  Pure computations over arrays, no I/O. */
#ifndef USAGE_STATS_H
#define USAGE_STATS_H

#include <glib.h>

G_BEGIN_DECLS

/* Bins of log10(bytes/day), centred on the 0.05-decade grid the published
 * tables use (10^3.75 MB = 5,620 MB): centre i is 4.00 + 0.05 i, from
 * 10^4 (10 KB) to 10^11 (100 GB), each bin +-0.025 decade wide. */
#define USAGE_LOG10_MIN 4.0
#define USAGE_LOG10_STEP 0.05
#define USAGE_N_BINS 141
/* Gaussian kernel the mode is taken from: sigma 0.1 decade (2 bins),
 * truncated at 4 sigma, renormalised at the range ends. */
#define USAGE_SMOOTH_SIGMA_BINS 2.0

double usage_bin_centre_log10 (int bin);
/* -1 below the first bin's lower edge, USAGE_N_BINS above the last bin's
 * upper edge (or for x <= 0: -2). */
int usage_bin_of (double bytes_per_day);

typedef struct {
  guint64 counts[USAGE_N_BINS];
  double density[USAGE_N_BINS];  /* counts / (users * 0.05): per decade */
  double smoothed[USAGE_N_BINS]; /* density through the Gaussian kernel */
  guint64 zero;                  /* users with no bytes at all */
  guint64 underflow;             /* 0 < daily < 10^3.975 */
  guint64 overflow;              /* daily >= 10^11.025 */
  double total;                  /* sum of the users' daily bytes */
  double mean, median;           /* bytes/day */
  int mode_bin;                  /* -1: no user inside the bin range */
  double mode;                   /* 10^(mode bin centre), bytes/day */
  double mode_refined;           /* parabola through the smoothed peak */
  double top10_share, top1_share;/* fractions; NaN when total == 0 */
  /* Sampling: relative standard error of a user's volume ~ 1/sqrt(k),
   * k = sampled packets over the week.  Median per bin (NaN: empty). */
  double rse_median[USAGE_N_BINS];
  double unreliable_below;       /* bytes/day; 0: no bin is unreliable */
  guint64 users_unreliable;      /* users whose own RSE > threshold */
} UsageDirStats;

typedef struct {
  guint n_users;
  UsageDirStats in, out;
  double rse_threshold;
  /* client-type cut: users uploading less than `client_cut` bytes/day */
  double client_cut;
  guint64 client_users;
  double client_user_share, client_in_share, client_out_share;
} UsageWeekStats;

/* in/out: daily bytes per user; k_in/k_out: sampled packets over the
 * period per user (may be NULL: no sampling information). */
void usage_stats_compute (UsageWeekStats *st, const double *in,
                          const double *out, const guint64 *k_in,
                          const guint64 *k_out, guint n, double rse_threshold,
                          double client_cut);

/* One direction (exposed for tests). */
void usage_dir_stats_compute (UsageDirStats *st, const double *v,
                              const guint64 *k, guint n, double rse_threshold);

/* Share of the total held by the largest fraction p of the values, with
 * the Lorenz curve interpolated between users (exact when p*n is whole).
 * `sorted_desc` is sorted largest first. */
double usage_top_share (const double *sorted_desc, guint n, double total,
                        double p);

/* Stable pseudo-random rank of a user key, for the reproducible sample. */
guint64 usage_sample_rank (const char *key, gsize len, guint64 seed);

G_END_DECLS

#endif
