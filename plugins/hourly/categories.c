/* User-defined categories: see categories.h. */
#include "config.h"

#include <string.h>

#include "categories.h"

enum { CAT_IN = 0, CAT_OUT = 1, CAT_UNATTRIBUTED = 2, CAT_CELLS = 3 };

static const char *const category_ds[] = { "in", "out", "unattributed",
                                           "late", NULL };

typedef struct {
  char *name;
  char *path;
  NfsubFilter *filter;
  guint first_cell;
} Category;

struct Categories {
  GPtrArray *list; /* Category */
  guint32 *selection;
  guint selection_size;
};

static void
category_free (gpointer data)
{
  Category *c = data;
  g_free (c->name);
  g_free (c->path);
  if (c->filter)
    nfsub_filter_free (c->filter);
  g_free (c);
}

void
categories_free (Categories *cats)
{
  if (!cats)
    return;
  g_ptr_array_unref (cats->list);
  g_free (cats->selection);
  g_free (cats);
}

static gboolean
category_name_ok (const char *name)
{
  if (!*name || strlen (name) > 64)
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

Categories *
categories_new (NfsubHost *host, GKeyFile *config, const char *group,
                const char *rrd_dir, GError **error)
{
  g_autoptr (Categories) cats = g_new0 (Categories, 1);
  cats->list = g_ptr_array_new_with_free_func (category_free);
  if (!g_key_file_has_group (config, group))
    return g_steal_pointer (&cats);
  g_auto (GStrv) keys = g_key_file_get_keys (config, group, NULL, NULL);
  for (char **k = keys; k && *k; k++)
    {
      if (!g_str_has_prefix (*k, "category."))
        continue;
      const char *name = *k + strlen ("category.");
      if (!category_name_ok (name))
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                       "%s: [%s] %s: a category name is 1-64 letters, "
                       "digits, '_' or '-'", nfsub_host_config_path (host),
                       group, *k);
          return NULL;
        }
      g_autofree char *expr = g_key_file_get_string (config, group, *k, NULL);
      g_autoptr (GError) local = NULL;
      NfsubFilter *filter = nfsub_filter_compile (expr ? expr : "", &local);
      if (!filter)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                       "%s: [%s] %s: %s", nfsub_host_config_path (host),
                       group, *k, local->message);
          return NULL;
        }
      Category *c = g_new0 (Category, 1);
      c->name = g_strdup (name);
      c->filter = filter;
      g_autofree char *file = g_strdup_printf ("cat-%s.rrd", name);
      c->path = g_build_filename (rrd_dir, file, NULL);
      g_ptr_array_add (cats->list, c);
    }
  return g_steal_pointer (&cats);
}

guint
categories_count (Categories *cats)
{
  return cats->list->len;
}

void
categories_add_cells (Categories *cats, GPtrArray *names)
{
  for (guint i = 0; i < cats->list->len; i++)
    {
      Category *c = cats->list->pdata[i];
      c->first_cell = names->len;
      g_ptr_array_add (names, g_strdup_printf ("category.%s.in", c->name));
      g_ptr_array_add (names, g_strdup_printf ("category.%s.out", c->name));
      g_ptr_array_add (names, g_strdup_printf ("category.%s.unattributed",
                                               c->name));
    }
}

/* A flow counts like in the series: IN if its source is a subscriber, OUT
 * if its destination is (both: both), unattributed if neither. */
void
categories_account (Categories *cats, NfsubBins *bins, NfsubBatch *batch)
{
  if (cats->list->len == 0)
    return;
  if (batch->n_flows > cats->selection_size)
    {
      g_free (cats->selection);
      cats->selection_size = batch->n_flows;
      cats->selection = g_new (guint32, cats->selection_size);
    }
  for (guint i = 0; i < cats->list->len; i++)
    {
      Category *c = cats->list->pdata[i];
      guint n = nfsub_filter_select (c->filter, batch->flows, batch->n_flows,
                                     batch->selected, batch->n_selected,
                                     cats->selection);
      for (guint j = 0; j < n; j++)
        {
          const NfsubFlow *f = &batch->flows[cats->selection[j]];
          guint64 bytes = nfsub_flow_bytes (f);
          if (f->direction & NFSUB_DIR_IN)
            nfsub_bins_add (bins, c->first_cell + CAT_IN, f->first_ms,
                            f->last_ms, bytes);
          if (f->direction & NFSUB_DIR_OUT)
            nfsub_bins_add (bins, c->first_cell + CAT_OUT, f->first_ms,
                            f->last_ms, bytes);
          if (!(f->direction & (NFSUB_DIR_IN | NFSUB_DIR_OUT)))
            nfsub_bins_add (bins, c->first_cell + CAT_UNATTRIBUTED,
                            f->first_ms, f->last_ms, bytes);
        }
    }
}

void
categories_emit (Categories *cats, NfsubRrd *rrd, gint64 bin_start,
                 const guint64 *row, const guint64 *late)
{
  for (guint i = 0; i < cats->list->len; i++)
    {
      Category *c = cats->list->pdata[i];
      const guint64 *r = &row[c->first_cell], *l = &late[c->first_cell];
      guint64 v[4] = { r[CAT_IN], r[CAT_OUT], r[CAT_UNATTRIBUTED],
                       l[CAT_IN] + l[CAT_OUT] + l[CAT_UNATTRIBUTED] };
      nfsub_rrd_queue (rrd, c->path, category_ds, bin_start, v);
    }
}

gboolean
categories_check_keys (NfsubHost *host, GKeyFile *config, const char *group,
                       const char *const *fixed, GError **error)
{
  g_autoptr (GPtrArray) allowed = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; fixed[i]; i++)
    g_ptr_array_add (allowed, g_strdup (fixed[i]));
  if (g_key_file_has_group (config, group))
    {
      g_auto (GStrv) keys = g_key_file_get_keys (config, group, NULL, NULL);
      for (char **k = keys; k && *k; k++)
        if (g_str_has_prefix (*k, "category."))
          g_ptr_array_add (allowed, g_strdup (*k));
    }
  g_ptr_array_add (allowed, NULL);
  return nfsub_config_check_keys (host, config, group,
                                  (const char *const *) allowed->pdata, error);
}
