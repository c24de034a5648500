/* usage: one week of a store, per user, for the statistics. */
#ifndef USAGE_WEEK_H
#define USAGE_WEEK_H

#include <glib.h>

#include "store.h"

G_BEGIN_DECLS

#define USAGE_WEEK_DAYS 7

typedef struct {
  guint service;     /* NfsubService; 0: any */
  guint access;      /* NfsubAccess; 0: any */
  guint user_class;  /* NfsubClass; 0: any */
} UsageSelection;

typedef enum {
  /* daily = total over the days that have data / their number */
  USAGE_MISSING_SCALE = 0,
  /* daily = total / 7: a missing day counts as zero for everybody */
  USAGE_MISSING_ZERO = 1,
} UsageMissingPolicy;

typedef struct {
  guint32 start;                      /* julian day of the first day */
  gboolean present[USAGE_WEEK_DAYS];  /* the store has data for the day */
  guint64 inputs[USAGE_WEEK_DAYS];    /* input files that added to it */
  guint days_observed;
  double divisor;                     /* what week totals are divided by */
  guint64 users_in_store;             /* every user of the week */
  guint64 users_by_days[USAGE_WEEK_DAYS + 1]; /* selected users seen on d days */
  /* selected users, sorted by key */
  GArray *in, *out;                   /* double, bytes/day */
  GArray *k_in, *k_out;               /* guint64, sampled packets, week */
  GArray *rank;                       /* guint64, usage_sample_rank */
  GArray *meta;                       /* guint8 */
  GArray *days_mask;                  /* guint8, bit d: seen on day d */
  GPtrArray *keys;                    /* char*, only when asked for */
} UsageWeek;

gboolean usage_week_load (UsageStore *store, guint32 start,
                          const UsageSelection *sel, UsageMissingPolicy policy,
                          guint64 seed, gboolean want_keys, UsageWeek *week,
                          GError **error);
void usage_week_clear (UsageWeek *week);
/* The users of `all` (loaded with an empty selection) that `sel` picks,
 * without reading the store again. */
void usage_week_select (const UsageWeek *all, const UsageSelection *sel,
                        UsageWeek *out);

gboolean usage_selection_matches (const UsageSelection *sel, guint8 meta);

G_END_DECLS

#endif
