/* usage: RADIUS accounting counters -> per-user daily volumes. */
#ifndef USAGE_RADIUS_H
#define USAGE_RADIUS_H

#include <glib.h>
#include <nfsub/radius-detail.h>

#include "accum.h"
#include "daymap.h"

G_BEGIN_DECLS

typedef struct {
  guint64 offset, line;  /* resume position */
  guint64 size;          /* file size up to which it has been read */
} UsageRadiusFilePos;

typedef struct {
  char *user;            /* "ACCESS:NAME" */
  guint8 meta;
  guint8 stopped;
  gint64 last_time;      /* epoch seconds of the counters below */
  guint64 in_octets, out_octets, in_packets, out_packets;
} UsageRadiusSession;

typedef struct {
  GHashTable *files;     /* path -> UsageRadiusFilePos */
  GHashTable *sessions;  /* session id -> UsageRadiusSession */
  gint64 newest_event;
} UsageRadiusState;

void usage_radius_state_init (UsageRadiusState *st);
void usage_radius_state_clear (UsageRadiusState *st);
void usage_radius_session_free (gpointer s);
GBytes *usage_radius_state_save (const UsageRadiusState *st);
gboolean usage_radius_state_load (UsageRadiusState *st, GBytes *blob,
                                  const char *where, GError **error);

typedef struct {
  UsageRadiusState *state;
  UsageAccum *acc;
  UsageDayMap *days;
  GTimeZone *tz;
  const char *user_attribute;
  guint user_class;
  guint files_read;
  guint64 records_counted, no_user, no_counters, stale, resets, malformed;
  guint64 malformed_seen;
} UsageRadiusImport;

/* One accounting record of a source whose users have access `access`. */
gboolean usage_radius_record (UsageRadiusImport *im,
                              const NfsubRadiusRecord *r, guint access,
                              GError **error);
/* Adds `delta` to `user`, spread over the days of [t0, t1] (seconds) in
 * proportion to time; all of it to t1's day when t1 <= t0. */
void usage_radius_spread (UsageAccum *acc, UsageDayMap *days, guint32 user,
                          gint64 t0, gint64 t1, const UsageCounters *delta);
void usage_radius_age (UsageRadiusState *st, gint64 max_age);

G_END_DECLS

#endif
