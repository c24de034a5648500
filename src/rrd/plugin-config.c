/* Configuration of the RRD series plugins: see plugin-config.h. */
#include "config.h"

#include <nfsub/plugin.h>

#include "plugin-config.h"

static void
rrd_series_free (gpointer data)
{
  NfsubRrdSeries *s = data;
  g_free (s->name);
  g_free (s->path);
  g_free (s);
}

gboolean
nfsub_rrd_config_uint (NfsubHost *host, GKeyFile *config, const char *group,
                       const char *key, guint min, guint max, guint *value,
                       GError **error)
{
  if (!g_key_file_has_key (config, group, key, NULL))
    return TRUE;
  g_autoptr (GError) local = NULL;
  gint64 v = g_key_file_get_int64 (config, group, key, &local);
  if (local || v < min || v > max)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                   "%s: [%s] %s: expected an integer %u..%u",
                   nfsub_host_config_path (host), group, key, min, max);
      return FALSE;
    }
  *value = (guint) v;
  return TRUE;
}

gboolean
nfsub_rrd_plugin_config (NfsubHost *host, GKeyFile *config, const char *group,
                         const char *plugin, const char *rrd_dir,
                         GPtrArray **series, guint *lateness, GError **error)
{
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (
    rrd_series_free);
  g_auto (GStrv) names = NULL;
  if (g_key_file_has_key (config, group, "series", NULL))
    names = g_key_file_get_string_list (config, group, "series", NULL, NULL);
  else
    names = g_strsplit (NFSUB_RRD_DEFAULT_SERIES, ";", -1);
  for (char **n = names; n && *n; n++)
    {
      g_strstrip (*n);
      if (!**n)
        continue;
      NfsubRrdSeries *s = g_new0 (NfsubRrdSeries, 1);
      s->name = g_strdup (*n);
      g_ptr_array_add (list, s);
      g_autoptr (GError) local = NULL;
      if (!nfsub_series_parse (*n, &s->spec, &local))
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                       "%s: [%s] series: %s", nfsub_host_config_path (host),
                       group, local->message);
          return FALSE;
        }
      g_autofree char *file = g_strdup_printf ("%s.rrd", *n);
      s->path = g_build_filename (rrd_dir, file, NULL);
    }

  guint value = nfsub_host_active_timeout (host) + NFSUB_RRD_STEP;
  if (!nfsub_rrd_config_uint (host, config, group, "lateness", 0, 7 * 86400,
                              &value, error))
    return FALSE;
  if (g_key_file_has_key (config, group, "ledger_days", NULL))
    nfsub_warning (plugin, "%s: [%s] ledger_days is not used any more: "
                   "nfsub's own ledger skips every file processed before",
                   nfsub_host_config_path (host), group);
  *series = g_steal_pointer (&list);
  *lateness = value;
  return TRUE;
}
