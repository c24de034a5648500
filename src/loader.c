/* Plugin modules: found by name in the search path, opened with
 * G_MODULE_BIND_LOCAL (a missing symbol fails at load, not mid-run), and
 * refused unless their descriptor carries this host's ABI version. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lib/host-private.h"
#include "loader.h"
#include <nfsub/filter.h>

/* Installed modules sit at DIR/NAME.so; in a build tree libtool leaves
 * them at DIR/NAME/.libs/NAME.so, which lets tests run uninstalled. */
static GPtrArray *
candidate_paths (NfsubHost *host, const char *name)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *file = g_strconcat (name, ".so", NULL);
  for (char **dir = host->plugin_path; *dir; dir++)
    {
      g_ptr_array_add (paths, g_build_filename (*dir, file, NULL));
      g_ptr_array_add (paths, g_build_filename (*dir, name, ".libs", file, NULL));
    }
  return paths;
}

void
nfsub_plugin_free (NfsubPlugin *plugin)
{
  if (!plugin)
    return;
  if (plugin->self && plugin->desc->free)
    plugin->desc->free (plugin->self);
  if (plugin->filter)
    nfsub_filter_free (plugin->filter);
  if (plugin->module)
    g_module_close (plugin->module);
  g_free (plugin->name);
  g_free (plugin->path);
  g_free (plugin);
}

static NfsubPlugin *
plugin_open_path (const char *name, const char *path, GError **error)
{
  g_autoptr (NfsubPlugin) plugin = g_new0 (NfsubPlugin, 1);
  plugin->name = g_strdup (name);
  plugin->path = g_strdup (path);
  plugin->module = g_module_open (path, G_MODULE_BIND_LOCAL);
  if (!plugin->module)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_PLUGIN,
                   "plugin '%s': cannot load %s: %s", name, path,
                   g_module_error ());
      return NULL;
    }
  gpointer sym = NULL;
  if (!g_module_symbol (plugin->module, NFSUB_PLUGIN_SYMBOL, &sym) || !sym)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_PLUGIN,
                   "plugin '%s': %s exports no %s: not an nfsub plugin",
                   name, path, NFSUB_PLUGIN_SYMBOL);
      return NULL;
    }
  /* Read only the version first: a descriptor from another ABI may have
   * a different size and layout beyond it. */
  guint32 abi;
  memcpy (&abi, sym, sizeof abi);
  if (abi != NFSUB_ABI_VERSION)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_PLUGIN,
                   "plugin '%s': %s was built for plugin ABI %u, this nfsub "
                   "speaks ABI %u: rebuild the plugin against this nfsub",
                   name, path, abi, NFSUB_ABI_VERSION);
      return NULL;
    }
  const NfsubPluginDesc *desc = sym;
  if (desc->struct_size < sizeof (NfsubPluginDesc) || desc->name == NULL
      || (desc->stage != NFSUB_STAGE_TAG && desc->stage != NFSUB_STAGE_ACCOUNT))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_PLUGIN,
                   "plugin '%s': %s has a malformed descriptor", name, path);
      return NULL;
    }
  if (strcmp (desc->name, name) != 0)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_PLUGIN,
                   "plugin '%s': %s calls itself '%s'", name, path, desc->name);
      return NULL;
    }
  plugin->desc = desc;
  return g_steal_pointer (&plugin);
}

NfsubPlugin *
nfsub_plugin_open (NfsubHost *host, const char *name, GError **error)
{
  if (!*name || strchr (name, '/') || strchr (name, '.'))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                   "%s: [nfsub] plugins: '%s' is not a plugin name",
                   nfsub_host_config_path (host), name);
      return NULL;
    }
  g_autoptr (GPtrArray) paths = candidate_paths (host, name);
  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = g_ptr_array_index (paths, i);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return plugin_open_path (name, path, error);
    }
  g_ptr_array_add (paths, NULL);
  g_autofree char *searched = g_strjoinv (", ", (char **) paths->pdata);
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_PLUGIN,
               "plugin '%s' not found; searched: %s", name, searched);
  return NULL;
}

static gboolean
plugin_init (NfsubHost *host, NfsubPlugin *plugin, GError **error)
{
  GKeyFile *config = nfsub_host_config (host);
  g_autofree char *expr = g_key_file_get_string (config, plugin->name,
                                                 "filter", NULL);
  if (expr && *g_strstrip (expr))
    {
      g_autoptr (GError) local = NULL;
      plugin->filter = nfsub_filter_compile (expr, &local);
      if (!plugin->filter)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                       "%s: [%s] filter: %s", nfsub_host_config_path (host),
                       plugin->name, local->message);
          return FALSE;
        }
    }
  if (!plugin->desc->init)
    return TRUE;
  g_autoptr (GError) local = NULL;
  plugin->self = plugin->desc->init (host, config, plugin->name, &local);
  if (!plugin->self)
    {
      if (local)
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_PLUGIN,
                     "plugin '%s': init failed", plugin->name);
      return FALSE;
    }
  return TRUE;
}

GPtrArray *
nfsub_plugins_open_configured (NfsubHost *host, GError **error)
{
  g_autoptr (GPtrArray) plugins
      = g_ptr_array_new_with_free_func ((GDestroyNotify) nfsub_plugin_free);
  for (char **name = host->plugin_names; *name; name++)
    {
      for (guint i = 0; i < plugins->len; i++)
        if (strcmp (((NfsubPlugin *) plugins->pdata[i])->name, *name) == 0)
          {
            g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                         "%s: [nfsub] plugins: '%s' listed twice",
                         nfsub_host_config_path (host), *name);
            return NULL;
          }
      NfsubPlugin *plugin = nfsub_plugin_open (host, *name, error);
      if (!plugin)
        return NULL;
      g_ptr_array_add (plugins, plugin);
    }
  /* Stable order: tag stage first, config order within a stage. */
  g_autoptr (GPtrArray) ordered
      = g_ptr_array_new_with_free_func ((GDestroyNotify) nfsub_plugin_free);
  for (int stage = NFSUB_STAGE_TAG; stage <= NFSUB_STAGE_ACCOUNT; stage++)
    for (guint i = 0; i < plugins->len; i++)
      {
        NfsubPlugin *p = plugins->pdata[i];
        if (p && (int) p->desc->stage == stage)
          {
            g_ptr_array_add (ordered, p);
            plugins->pdata[i] = NULL;
          }
      }
  for (guint i = 0; i < ordered->len; i++)
    if (!plugin_init (host, ordered->pdata[i], error))
      return NULL;
  return g_steal_pointer (&ordered);
}

static void
collect_module_names (const char *dir, GHashTable *names)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (!d)
    return;
  const char *entry;
  while ((entry = g_dir_read_name (d)))
    {
      g_autofree char *full = g_build_filename (dir, entry, NULL);
      if (g_str_has_suffix (entry, ".so"))
        g_hash_table_add (names, g_strndup (entry, strlen (entry) - 3));
      else if (g_file_test (full, G_FILE_TEST_IS_DIR))
        {
          g_autofree char *so = g_strconcat (entry, ".so", NULL);
          g_autofree char *built = g_build_filename (full, ".libs", so, NULL);
          if (g_file_test (built, G_FILE_TEST_IS_REGULAR))
            g_hash_table_add (names, g_strdup (entry));
        }
    }
}

static int
compare_names (const void *a, const void *b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
nfsub_plugins_open_all (NfsubHost *host)
{
  g_autoptr (GHashTable) names = g_hash_table_new_full (g_str_hash,
                                                        g_str_equal, g_free,
                                                        NULL);
  for (char **dir = host->plugin_path; *dir; dir++)
    collect_module_names (*dir, names);
  g_autofree const char **list
      = (const char **) g_hash_table_get_keys_as_array (names, NULL);
  guint n = g_hash_table_size (names);
  qsort (list, n, sizeof *list, compare_names);
  GPtrArray *plugins
      = g_ptr_array_new_with_free_func ((GDestroyNotify) nfsub_plugin_free);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GError) local = NULL;
      NfsubPlugin *p = nfsub_plugin_open (host, list[i], &local);
      if (p)
        g_ptr_array_add (plugins, p);
      else
        g_printerr ("nfsub: %s\n", local->message);
    }
  return plugins;
}

NfsubPlugin *
nfsub_plugin_find_command (NfsubHost *host, const char *command,
                           const NfsubCommand **out, GError **error)
{
  g_autoptr (GPtrArray) all = nfsub_plugins_open_all (host);
  for (guint i = 0; i < all->len; i++)
    {
      NfsubPlugin *p = all->pdata[i];
      for (const NfsubCommand *c = p->desc->commands; c && c->name; c++)
        if (strcmp (c->name, command) == 0)
          {
            *out = c;
            return g_ptr_array_steal_index (all, i);
          }
    }
  return NULL;
}
