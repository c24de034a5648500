/* usage: calendar days in the host's time zone (see daymap.h). */
#include "config.h"

#include <string.h>

#include "daymap.h"
#include "store.h"

void
usage_daymap_init (UsageDayMap *m, GTimeZone *tz)
{
  memset (m, 0, sizeof *m);
  m->tz = g_time_zone_ref (tz);
  /* empty spans: nothing matches until the first lookup */
  m->cache[0].start_ms = m->cache[1].start_ms = 1;
}

void
usage_daymap_clear (UsageDayMap *m)
{
  g_clear_pointer (&m->tz, g_time_zone_unref);
}

gint64
usage_day_start_ms (GTimeZone *tz, guint32 julian)
{
  int y, mo, d;
  usage_julian_to_ymd (julian, &y, &mo, &d);
  /* A zone whose clocks jump at midnight has no 00:00 that day; GLib then
   * moves to the first instant that exists, which is where the day starts. */
  g_autoptr (GDateTime) dt = g_date_time_new (tz, y, mo, d, 0, 0, 0);
  return g_date_time_to_unix (dt) * 1000;
}

const UsageDaySpan *
usage_daymap_lookup (UsageDayMap *m, gint64 ms)
{
  for (guint i = 0; i < 2; i++)
    if (ms >= m->cache[i].start_ms && ms < m->cache[i].end_ms)
      return &m->cache[i];
  gint64 secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (secs);
  g_autoptr (GDateTime) local = g_date_time_to_timezone (utc, m->tz);
  guint32 julian = usage_julian_from_ymd (g_date_time_get_year (local),
                                          g_date_time_get_month (local),
                                          g_date_time_get_day_of_month (local));
  UsageDaySpan *c = &m->cache[m->next];
  m->next ^= 1;
  c->julian = julian;
  c->start_ms = usage_day_start_ms (m->tz, julian);
  c->end_ms = usage_day_start_ms (m->tz, julian + 1);
  return c;
}
