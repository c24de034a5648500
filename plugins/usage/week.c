/* usage: loading one week of per-user totals from a store. */
#include "config.h"

#include <string.h>

#include "stats.h"
#include "week.h"

gboolean
usage_selection_matches (const UsageSelection *sel, guint8 meta)
{
  return (!sel->service || usage_meta_service (meta) == sel->service)
         && (!sel->access || usage_meta_access (meta) == sel->access)
         && (!sel->user_class || usage_meta_class (meta) == sel->user_class);
}

void
usage_week_clear (UsageWeek *w)
{
  g_clear_pointer (&w->in, g_array_unref);
  g_clear_pointer (&w->out, g_array_unref);
  g_clear_pointer (&w->k_in, g_array_unref);
  g_clear_pointer (&w->k_out, g_array_unref);
  g_clear_pointer (&w->rank, g_array_unref);
  g_clear_pointer (&w->meta, g_array_unref);
  g_clear_pointer (&w->days_mask, g_array_unref);
  g_clear_pointer (&w->keys, g_ptr_array_unref);
}

gboolean
usage_week_load (UsageStore *store, guint32 start, const UsageSelection *sel,
                 UsageMissingPolicy policy, guint64 seed, gboolean want_keys,
                 UsageWeek *w, GError **error)
{
  memset (w, 0, sizeof *w);
  w->start = start;
  w->in = g_array_new (FALSE, FALSE, sizeof (double));
  w->out = g_array_new (FALSE, FALSE, sizeof (double));
  w->k_in = g_array_new (FALSE, FALSE, sizeof (guint64));
  w->k_out = g_array_new (FALSE, FALSE, sizeof (guint64));
  w->rank = g_array_new (FALSE, FALSE, sizeof (guint64));
  w->meta = g_array_new (FALSE, FALSE, sizeof (guint8));
  w->days_mask = g_array_new (FALSE, FALSE, sizeof (guint8));
  if (want_keys)
    w->keys = g_ptr_array_new_with_free_func (g_free);

  UsageDayData *days[USAGE_WEEK_DAYS] = { NULL };
  g_autoptr (UsageMerge) m = usage_merge_new ();
  gboolean ok = FALSE;
  for (guint d = 0; d < USAGE_WEEK_DAYS; d++)
    {
      days[d] = usage_store_read_day (store, start + d, error);
      if (!days[d])
        goto out;
      w->present[d] = days[d]->present;
      w->inputs[d] = days[d]->n_inputs;
      if (w->present[d])
        w->days_observed++;
      for (guint i = 0; i < days[d]->readers->len; i++)
        {
          /* a later day's tags describe the user better than an earlier
           * day's, whatever the delta numbers say */
          guint64 prio = ((guint64) d << 48)
                         | (GPOINTER_TO_SIZE (days[d]->priorities->pdata[i])
                            & G_GUINT64_CONSTANT (0xffffffffffff));
          usage_merge_add (m, days[d]->readers->pdata[i], prio, d);
        }
    }
  w->divisor = policy == USAGE_MISSING_ZERO || w->days_observed == 0
                   ? USAGE_WEEK_DAYS : w->days_observed;
  if (!usage_merge_start (m, error))
    goto out;
  const char *key;
  gsize key_len;
  guint8 meta = 0;
  UsageCounters c;
  guint64 mask;
  int rc;
  while ((rc = usage_merge_next (m, &key, &key_len, &meta, &c, &mask, error)) > 0)
    {
      w->users_in_store++;
      if (!usage_selection_matches (sel, meta))
        continue;
      w->users_by_days[__builtin_popcountll (mask)]++;
      double vin = (double) c.in_bytes / w->divisor;
      double vout = (double) c.out_bytes / w->divisor;
      guint64 rank = usage_sample_rank (key, key_len, seed);
      g_array_append_val (w->in, vin);
      g_array_append_val (w->out, vout);
      g_array_append_val (w->k_in, c.in_pkts);
      g_array_append_val (w->k_out, c.out_pkts);
      g_array_append_val (w->rank, rank);
      g_array_append_val (w->meta, meta);
      guint8 days_mask = (guint8) mask;
      g_array_append_val (w->days_mask, days_mask);
      if (want_keys)
        g_ptr_array_add (w->keys, g_strndup (key, key_len));
    }
  ok = rc == 0;
out:
  /* the merge reads from the days' sections: free it first */
  g_clear_pointer (&m, usage_merge_free);
  for (guint d = 0; d < USAGE_WEEK_DAYS; d++)
    if (days[d])
      usage_day_data_free (days[d]);
  if (!ok)
    usage_week_clear (w);
  return ok;
}

void
usage_week_select (const UsageWeek *all, const UsageSelection *sel,
                   UsageWeek *w)
{
  memset (w, 0, sizeof *w);
  w->start = all->start;
  memcpy (w->present, all->present, sizeof w->present);
  memcpy (w->inputs, all->inputs, sizeof w->inputs);
  w->days_observed = all->days_observed;
  w->divisor = all->divisor;
  w->users_in_store = all->users_in_store;
  w->in = g_array_new (FALSE, FALSE, sizeof (double));
  w->out = g_array_new (FALSE, FALSE, sizeof (double));
  w->k_in = g_array_new (FALSE, FALSE, sizeof (guint64));
  w->k_out = g_array_new (FALSE, FALSE, sizeof (guint64));
  w->rank = g_array_new (FALSE, FALSE, sizeof (guint64));
  w->meta = g_array_new (FALSE, FALSE, sizeof (guint8));
  w->days_mask = g_array_new (FALSE, FALSE, sizeof (guint8));
  if (all->keys)
    w->keys = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < all->meta->len; i++)
    {
      guint8 meta = g_array_index (all->meta, guint8, i);
      if (!usage_selection_matches (sel, meta))
        continue;
      guint8 mask = g_array_index (all->days_mask, guint8, i);
      w->users_by_days[__builtin_popcount (mask)]++;
      g_array_append_val (w->in, g_array_index (all->in, double, i));
      g_array_append_val (w->out, g_array_index (all->out, double, i));
      g_array_append_val (w->k_in, g_array_index (all->k_in, guint64, i));
      g_array_append_val (w->k_out, g_array_index (all->k_out, guint64, i));
      g_array_append_val (w->rank, g_array_index (all->rank, guint64, i));
      g_array_append_val (w->meta, meta);
      g_array_append_val (w->days_mask, mask);
      if (all->keys)
        g_ptr_array_add (w->keys, g_strdup (all->keys->pdata[i]));
    }
}
