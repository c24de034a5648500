/* usage: in-memory per-day, per-user counters of one run, until they are
 * written out as a delta. */
#ifndef USAGE_ACCUM_H
#define USAGE_ACCUM_H

#include <glib.h>

#include "store.h"

G_BEGIN_DECLS

typedef struct UsageAccum UsageAccum;

UsageAccum *usage_accum_new (void);
void usage_accum_free (UsageAccum *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsageAccum, usage_accum_free)

/* The run-local index of user `key` (interned; meta updated). */
guint32 usage_accum_user (UsageAccum *a, const char *key, guint8 meta);
/* Same, through the tag's dense user id and key pointer, which the
 * subscriber plugin keeps stable within a process: no string hashing on
 * the per-flow path. */
guint32 usage_accum_user_tagged (UsageAccum *a, guint32 user_id,
                                 const char *key, guint8 meta);
const char *usage_accum_user_key (UsageAccum *a, guint32 user);

void usage_accum_add (UsageAccum *a, guint32 julian, guint32 user,
                      const UsageCounters *c);
gboolean usage_accum_is_empty (UsageAccum *a);
/* Moves every day's counters into `delta` (one sorted section a day) and
 * resets them; users stay interned. */
void usage_accum_flush (UsageAccum *a, UsageDelta *delta);

G_END_DECLS

#endif
