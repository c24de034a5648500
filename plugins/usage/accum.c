/* usage: per-run accumulator (see accum.h). */
#include "config.h"

#include <string.h>

#include "accum.h"

typedef struct {
  char *key;
  guint8 meta;
} LocalUser;

typedef struct {
  const char *tag_key;  /* the subscriber's pointer, compared, never read */
  guint32 local;        /* local index + 1; 0: unknown */
} TagSlot;

typedef struct {
  guint32 julian;
  GArray *counters;     /* UsageCounters by local user */
  GByteArray *touched_flag;
  GArray *touched;      /* guint32 local users with counters */
} DayAccum;

struct UsageAccum {
  GArray *users;        /* LocalUser */
  GHashTable *by_key;   /* key -> local + 1 */
  GArray *by_tag;       /* TagSlot by tag user_id */
  GHashTable *days;     /* julian -> DayAccum* */
  DayAccum *last_day;
};

static void
day_accum_free (gpointer p)
{
  DayAccum *d = p;
  g_array_unref (d->counters);
  g_byte_array_unref (d->touched_flag);
  g_array_unref (d->touched);
  g_free (d);
}

UsageAccum *
usage_accum_new (void)
{
  UsageAccum *a = g_new0 (UsageAccum, 1);
  a->users = g_array_new (FALSE, FALSE, sizeof (LocalUser));
  a->by_key = g_hash_table_new (g_str_hash, g_str_equal);
  a->by_tag = g_array_new (FALSE, TRUE, sizeof (TagSlot));
  a->days = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                   day_accum_free);
  return a;
}

void
usage_accum_free (UsageAccum *a)
{
  if (!a)
    return;
  for (guint i = 0; i < a->users->len; i++)
    g_free (g_array_index (a->users, LocalUser, i).key);
  g_array_unref (a->users);
  g_hash_table_unref (a->by_key);
  g_array_unref (a->by_tag);
  g_hash_table_unref (a->days);
  g_free (a);
}

guint32
usage_accum_user (UsageAccum *a, const char *key, guint8 meta)
{
  gpointer v = g_hash_table_lookup (a->by_key, key);
  if (v)
    {
      guint32 u = GPOINTER_TO_UINT (v) - 1;
      g_array_index (a->users, LocalUser, u).meta = meta;
      return u;
    }
  LocalUser lu = { g_strdup (key), meta };
  g_array_append_val (a->users, lu);
  guint32 u = a->users->len - 1;
  g_hash_table_insert (a->by_key, lu.key, GUINT_TO_POINTER (u + 1));
  return u;
}

guint32
usage_accum_user_tagged (UsageAccum *a, guint32 user_id, const char *key,
                         guint8 meta)
{
  if (user_id == 0 || user_id > (1u << 24))
    return usage_accum_user (a, key, meta);
  if (user_id >= a->by_tag->len)
    g_array_set_size (a->by_tag, MAX (user_id + 1, a->by_tag->len * 2));
  TagSlot *slot = &g_array_index (a->by_tag, TagSlot, user_id);
  if (slot->local && slot->tag_key == key)
    {
      LocalUser *lu = &g_array_index (a->users, LocalUser, slot->local - 1);
      lu->meta = meta;
      return slot->local - 1;
    }
  guint32 u = usage_accum_user (a, key, meta);
  slot->tag_key = key;
  slot->local = u + 1;
  return u;
}

const char *
usage_accum_user_key (UsageAccum *a, guint32 user)
{
  return g_array_index (a->users, LocalUser, user).key;
}

static DayAccum *
day_accum (UsageAccum *a, guint32 julian)
{
  if (a->last_day && a->last_day->julian == julian)
    return a->last_day;
  DayAccum *d = g_hash_table_lookup (a->days, GUINT_TO_POINTER (julian));
  if (!d)
    {
      d = g_new0 (DayAccum, 1);
      d->julian = julian;
      d->counters = g_array_new (FALSE, TRUE, sizeof (UsageCounters));
      d->touched_flag = g_byte_array_new ();
      d->touched = g_array_new (FALSE, FALSE, sizeof (guint32));
      g_hash_table_insert (a->days, GUINT_TO_POINTER (julian), d);
    }
  a->last_day = d;
  return d;
}

void
usage_accum_add (UsageAccum *a, guint32 julian, guint32 user,
                 const UsageCounters *c)
{
  DayAccum *d = day_accum (a, julian);
  if (user >= d->counters->len)
    {
      guint n = MAX (user + 1, MAX (1024u, a->users->len));
      guint old = d->touched_flag->len;
      g_array_set_size (d->counters, n);
      g_byte_array_set_size (d->touched_flag, n);
      memset (d->touched_flag->data + old, 0, n - old);
    }
  if (!d->touched_flag->data[user])
    {
      d->touched_flag->data[user] = 1;
      g_array_append_val (d->touched, user);
    }
  usage_counters_add (&g_array_index (d->counters, UsageCounters, user), c);
}

gboolean
usage_accum_is_empty (UsageAccum *a)
{
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, a->days);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (((DayAccum *) v)->touched->len)
      return FALSE;
  return TRUE;
}

static gint
by_key (gconstpointer x, gconstpointer y, gpointer data)
{
  GArray *users = data;
  return strcmp (g_array_index (users, LocalUser, *(const guint32 *) x).key,
                 g_array_index (users, LocalUser, *(const guint32 *) y).key);
}

void
usage_accum_flush (UsageAccum *a, UsageDelta *delta)
{
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, a->days);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      DayAccum *d = v;
      if (d->touched->len == 0)
        continue;
      g_array_sort_with_data (d->touched, by_key, a->users);
      UsageSectionWriter w;
      usage_section_writer_init (&w);
      for (guint i = 0; i < d->touched->len; i++)
        {
          guint32 u = g_array_index (d->touched, guint32, i);
          const LocalUser *lu = &g_array_index (a->users, LocalUser, u);
          UsageCounters *c = &g_array_index (d->counters, UsageCounters, u);
          usage_section_writer_add (&w, lu->key, strlen (lu->key), lu->meta, c);
          memset (c, 0, sizeof *c);
          d->touched_flag->data[u] = 0;
        }
      guint64 n = w.n_entries;
      usage_delta_set_day (delta, d->julian, usage_section_writer_finish (&w), n);
      g_array_set_size (d->touched, 0);
    }
  /* days are few; keeping their arrays would pin memory of days gone by */
  g_hash_table_remove_all (a->days);
  a->last_day = NULL;
}
