/* usage: calendar days in the host's time zone. */
#ifndef USAGE_DAYMAP_H
#define USAGE_DAYMAP_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint32 julian;
  gint64 start_ms, end_ms; /* [start, end): 23, 24 or 25 hours */
} UsageDaySpan;

typedef struct {
  GTimeZone *tz;
  UsageDaySpan cache[2];
  guint next;
} UsageDayMap;

void usage_daymap_init (UsageDayMap *m, GTimeZone *tz);
void usage_daymap_clear (UsageDayMap *m);
/* The day holding instant `ms` (epoch milliseconds). */
const UsageDaySpan *usage_daymap_lookup (UsageDayMap *m, gint64 ms);

static inline guint32
usage_daymap_julian (UsageDayMap *m, gint64 ms)
{
  const UsageDaySpan *c = &m->cache[0];
  if (ms >= c->start_ms && ms < c->end_ms)
    return c->julian;
  c = &m->cache[1];
  if (ms >= c->start_ms && ms < c->end_ms)
    return c->julian;
  return usage_daymap_lookup (m, ms)->julian;
}

/* Local midnight starting day `julian`, in epoch milliseconds. */
gint64 usage_day_start_ms (GTimeZone *tz, guint32 julian);

G_END_DECLS

#endif
