/* NfsubHost: the parsed [nfsub] config group and the services plugins use. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "host-private.h"

static const char *const main_keys[] = {
  "plugins", "state_dir", "rrd_dir", "plugin_dir", "active_timeout",
  "timezone", "filter", "rrdcached", NULL
};

char *
nfsub_host_resolve_path (NfsubHost *host, const char *value)
{
  if (g_path_is_absolute (value) || host->config_path == NULL)
    return g_strdup (value);
  g_autofree char *dir = g_path_get_dirname (host->config_path);
  return g_build_filename (dir, value, NULL);
}

static gboolean
host_load_main_group (NfsubHost *host, GError **error)
{
  GKeyFile *kf = host->config;
  const char *g = NFSUB_MAIN_GROUP;
  g_autoptr (GError) local = NULL;

  if (!nfsub_config_check_keys (host, kf, g, main_keys, error))
    return FALSE;

  g_autofree char *state = g_key_file_get_string (kf, g, "state_dir", NULL);
  host->state_dir = state ? nfsub_host_resolve_path (host, state)
                          : g_strdup (NFSUB_DEFAULT_STATE_DIR);
  g_autofree char *rrd = g_key_file_get_string (kf, g, "rrd_dir", NULL);
  host->rrd_dir = rrd ? nfsub_host_resolve_path (host, rrd)
                      : g_build_filename (host->state_dir, "rrd", NULL);

  host->plugin_names = g_key_file_get_string_list (kf, g, "plugins", NULL, NULL);
  if (host->plugin_names == NULL)
    host->plugin_names = g_new0 (char *, 1);
  for (char **p = host->plugin_names; *p; p++)
    g_strstrip (*p);

  host->filter = g_key_file_get_string (kf, g, "filter", NULL);
  if (host->filter && *g_strstrip (host->filter) == '\0')
    g_clear_pointer (&host->filter, g_free);

  host->active_timeout = 300;
  if (g_key_file_has_key (kf, g, "active_timeout", NULL))
    {
      gint v = g_key_file_get_integer (kf, g, "active_timeout", &local);
      if (local || v < 0 || v > 86400)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                       "%s: [%s] active_timeout: expected seconds 0..86400",
                       host->config_path, g);
          return FALSE;
        }
      host->active_timeout = (guint) v;
    }

  g_autofree char *tz = g_key_file_get_string (kf, g, "timezone", NULL);
  if (tz)
    {
      host->timezone = g_time_zone_new_identifier (g_strstrip (tz));
      if (host->timezone == NULL)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                       "%s: [%s] timezone: unknown time zone '%s'",
                       host->config_path, g, tz);
          return FALSE;
        }
    }
  else
    host->timezone = g_time_zone_new_local ();

  host->rrdcached = g_key_file_get_string (kf, g, "rrdcached", NULL);
  if (host->rrdcached == NULL && g_getenv ("RRDCACHED_ADDRESS")
      && *g_getenv ("RRDCACHED_ADDRESS"))
    host->rrdcached = g_strdup (g_getenv ("RRDCACHED_ADDRESS"));
  return TRUE;
}

NfsubHost *
nfsub_host_new (const char *path, const char *plugin_dir, GError **error)
{
  g_autoptr (NfsubHost) host = g_new0 (NfsubHost, 1);
  host->config = g_key_file_new ();
  host->plugin_state_dirs = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                   g_free, g_free);
  const char *file = path;
  if (file == NULL && g_file_test (NFSUB_DEFAULT_CONFIG, G_FILE_TEST_EXISTS))
    file = NFSUB_DEFAULT_CONFIG;

  if (file)
    {
      g_autoptr (GError) local = NULL;
      if (!g_key_file_load_from_file (host->config, file, G_KEY_FILE_NONE,
                                      &local))
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG, "%s: %s", file,
                       local->message);
          return NULL;
        }
      if (g_path_is_absolute (file))
        host->config_path = g_strdup (file);
      else
        {
          g_autofree char *cwd = g_get_current_dir ();
          host->config_path = g_build_filename (cwd, file, NULL);
        }
    }

  if (!host_load_main_group (host, error))
    return NULL;

  GPtrArray *dirs = g_ptr_array_new ();
  if (plugin_dir)
    g_ptr_array_add (dirs, g_strdup (plugin_dir));
  const char *env = g_getenv ("NFSUB_PLUGIN_PATH");
  if (env && *env)
    {
      g_auto (GStrv) parts = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);
      for (char **p = parts; *p; p++)
        if (**p)
          g_ptr_array_add (dirs, g_strdup (*p));
    }
  g_autofree char *cfg_dir = g_key_file_get_string (host->config,
                                                    NFSUB_MAIN_GROUP,
                                                    "plugin_dir", NULL);
  if (cfg_dir)
    g_ptr_array_add (dirs, nfsub_host_resolve_path (host, g_strstrip (cfg_dir)));
  g_ptr_array_add (dirs, g_strdup (NFSUB_PLUGIN_DIR));
  g_ptr_array_add (dirs, NULL);
  host->plugin_path = (char **) g_ptr_array_free (dirs, FALSE);

  return g_steal_pointer (&host);
}

void
nfsub_host_free (NfsubHost *host)
{
  if (!host)
    return;
  g_key_file_unref (host->config);
  g_free (host->config_path);
  g_free (host->state_dir);
  g_free (host->rrd_dir);
  g_free (host->rrdcached);
  g_free (host->filter);
  g_strfreev (host->plugin_names);
  g_strfreev (host->plugin_path);
  if (host->timezone)
    g_time_zone_unref (host->timezone);
  g_hash_table_unref (host->plugin_state_dirs);
  g_free (host);
}

const char *
nfsub_host_state_dir (NfsubHost *host, const char *plugin_name, GError **error)
{
  const char *dir = g_hash_table_lookup (host->plugin_state_dirs, plugin_name);
  if (dir)
    return dir;
  char *path = g_build_filename (host->state_dir, plugin_name, NULL);
  if (g_mkdir_with_parents (path, 0755) != 0)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "cannot create state directory %s: %s", path,
                   g_strerror (errno));
      g_free (path);
      return NULL;
    }
  g_hash_table_insert (host->plugin_state_dirs, g_strdup (plugin_name), path);
  return path;
}

const char *
nfsub_host_rrd_dir (NfsubHost *host)
{
  return host->rrd_dir;
}

const char *
nfsub_host_rrdcached_address (NfsubHost *host)
{
  return host->rrdcached;
}

GKeyFile *
nfsub_host_config (NfsubHost *host)
{
  return host->config;
}

const char *
nfsub_host_config_path (NfsubHost *host)
{
  return host->config_path ? host->config_path : "(built-in defaults)";
}

guint
nfsub_host_active_timeout (NfsubHost *host)
{
  return host->active_timeout;
}

GTimeZone *
nfsub_host_timezone (NfsubHost *host)
{
  return host->timezone;
}

gboolean
nfsub_config_check_keys (NfsubHost *host, GKeyFile *config, const char *group,
                         const char *const *allowed, GError **error)
{
  if (!g_key_file_has_group (config, group))
    return TRUE;
  g_auto (GStrv) keys = g_key_file_get_keys (config, group, NULL, NULL);
  for (char **k = keys; k && *k; k++)
    {
      /* `filter` is the host's key in every plugin group. */
      if (!g_strv_contains (allowed, *k) && strcmp (*k, "filter") != 0)
        {
          g_autofree char *list = g_strjoinv (", ", (char **) allowed);
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                       "%s: [%s] unknown key '%s' (known: %s)",
                       host ? nfsub_host_config_path (host) : "config", group,
                       *k, list);
          return FALSE;
        }
    }
  return TRUE;
}
