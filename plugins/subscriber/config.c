/* subscriber: the [subscriber] config group. */
#include "config.h"

#include <string.h>

#include "subscriber.h"

static const char *const known_keys[] = {
  "radius_detail", "radius_user", "radius_strip_realm", "radius_service",
  "radius_class", "radius_access", "radius_timezone", "session_max_age",
  "kea_leases", "kea_duid_map", "kea_unmapped", "kea_lease_types",
  "kea_service", "kea_class", "kea_access",
  "static", "static_service", "static_class", "static_access",
  "grace", "grace_clock", "early_file", "early_wait_max", "retention",
  "on_error", NULL
};

/* Keys that do not change what the index holds: changing them does not
 * need a rebuild. */
static const char *const volatile_keys[] = {
  "grace", "grace_clock", "early_file", "early_wait_max", "retention",
  "on_error", "static", "static_service", "static_class", "static_access",
  "filter", NULL
};

static gboolean
config_error (GError **error, SubConfig *c, const char *group,
              const char *key, const char *expected, const char *value)
{
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
               "%s: [%s] %s: bad value '%s' (expected %s)", c->config_path,
               group, key, value ? value : "", expected);
  return FALSE;
}

static char *
resolve_path (SubConfig *c, const char *value)
{
  if (g_path_is_absolute (value) || !g_path_is_absolute (c->config_path))
    return g_strdup (value);
  g_autofree char *dir = g_path_get_dirname (c->config_path);
  return g_build_filename (dir, value, NULL);
}

static char *
get_string (GKeyFile *kf, const char *group, const char *key)
{
  char *v = g_key_file_get_string (kf, group, key, NULL);
  if (v)
    g_strstrip (v);
  return v;
}

static char **
get_paths (SubConfig *c, GKeyFile *kf, const char *group, const char *key)
{
  g_auto (GStrv) list = g_key_file_get_string_list (kf, group, key, NULL,
                                                    NULL);
  GPtrArray *out = g_ptr_array_new ();
  for (char **p = list; p && *p; p++)
    {
      g_strstrip (*p);
      if (**p)
        g_ptr_array_add (out, resolve_path (c, *p));
    }
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

typedef gboolean (*NameParser) (const char *, guint8 *);

static gboolean
get_name (SubConfig *c, GKeyFile *kf, const char *group, const char *key,
          NameParser parse, const char *expected, guint8 def, guint8 *out,
          GError **error)
{
  g_autofree char *v = get_string (kf, group, key);
  *out = def;
  if (v && !parse (v, out))
    return config_error (error, c, group, key, expected, v);
  return TRUE;
}

static gboolean
get_duration (SubConfig *c, GKeyFile *kf, const char *group, const char *key,
              guint32 def, guint32 *out, GError **error)
{
  g_autofree char *v = get_string (kf, group, key);
  *out = def;
  if (v && !parse_duration (v, out))
    return config_error (error, c, group, key,
                         "a duration: seconds, or with s/m/h/d/w", v);
  return TRUE;
}

static gboolean
get_bool (SubConfig *c, GKeyFile *kf, const char *group, const char *key,
          gboolean def, gboolean *out, GError **error)
{
  g_autofree char *v = get_string (kf, group, key);
  *out = def;
  if (!v)
    return TRUE;
  if (g_ascii_strcasecmp (v, "true") == 0 || strcmp (v, "1") == 0
      || g_ascii_strcasecmp (v, "yes") == 0)
    *out = TRUE;
  else if (g_ascii_strcasecmp (v, "false") == 0 || strcmp (v, "0") == 0
           || g_ascii_strcasecmp (v, "no") == 0)
    *out = FALSE;
  else
    return config_error (error, c, group, key, "true or false", v);
  return TRUE;
}

static gboolean
get_choice (SubConfig *c, GKeyFile *kf, const char *group, const char *key,
            const char *const *choices, int def, int *out, GError **error)
{
  g_autofree char *v = get_string (kf, group, key);
  *out = def;
  if (!v)
    return TRUE;
  for (int i = 0; choices[i]; i++)
    if (g_ascii_strcasecmp (v, choices[i]) == 0)
      {
        *out = i;
        return TRUE;
      }
  g_autofree char *list = g_strjoinv (" or ", (char **) choices);
  return config_error (error, c, group, key, list, v);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static guint64
config_fingerprint (GKeyFile *kf, const char *group)
{
  g_auto (GStrv) keys = g_key_file_has_group (kf, group)
                          ? g_key_file_get_keys (kf, group, NULL, NULL)
                          : NULL;
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  for (char **k = keys; k && *k; k++)
    {
      if (g_strv_contains (volatile_keys, *k))
        continue;
      g_autofree char *v = g_key_file_get_value (kf, group, *k, NULL);
      g_ptr_array_add (lines, g_strdup_printf ("%s=%s", *k, v ? v : ""));
    }
  g_ptr_array_sort (lines, compare_strings);
  /* Rules apply in config order, so order matters for them: hash the key
   * list in file order as well. */
  guint64 h = G_GUINT64_CONSTANT (1469598103934665603);
  for (guint i = 0; i < lines->len; i++)
    for (const char *p = lines->pdata[i];; p++)
      {
        h = (h ^ (guint8) *p) * G_GUINT64_CONSTANT (1099511628211);
        if (!*p)
          break;
      }
  for (char **k = keys; k && *k; k++)
    if (g_str_has_prefix (*k, "rule."))
      for (const char *p = *k;; p++)
        {
          h = (h ^ (guint8) *p) * G_GUINT64_CONSTANT (1099511628211);
          if (!*p)
            break;
        }
  return h;
}

static gboolean
config_fill (SubConfig *c, NfsubHost *host, GKeyFile *kf, const char *group,
             GError **error)
{
  /* rule.NAME keys are free-form; check the others like every plugin */
  g_auto (GStrv) keys = g_key_file_has_group (kf, group)
                          ? g_key_file_get_keys (kf, group, NULL, NULL)
                          : NULL;
  for (char **k = keys; k && *k; k++)
    if (!g_str_has_prefix (*k, "rule.") && strcmp (*k, "filter") != 0
        && !g_strv_contains (known_keys, *k))
      {
        g_autofree char *list = g_strjoinv (", ", (char **) known_keys);
        g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                     "%s: [%s] unknown key '%s' (known: %s, rule.NAME)",
                     c->config_path, group, *k, list);
        return FALSE;
      }

  c->radius_detail = get_paths (c, kf, group, "radius_detail");
  c->kea_leases = get_paths (c, kf, group, "kea_leases");
  c->static_files = get_paths (c, kf, group, "static");
  g_autofree char *map = get_string (kf, group, "kea_duid_map");
  if (map && *map)
    c->kea_duid_map = resolve_path (c, map);

  c->radius_user = get_string (kf, group, "radius_user");
  if (!c->radius_user || !*c->radius_user)
    {
      g_free (c->radius_user);
      c->radius_user = g_strdup ("User-Name");
    }
  if (!get_bool (c, kf, group, "radius_strip_realm", FALSE,
                 &c->radius_strip_realm, error)
      || !get_name (c, kf, group, "radius_service", parse_service,
                    "broadband or mobile", NFSUB_SERVICE_BROADBAND,
                    &c->radius_service, error)
      || !get_name (c, kf, group, "radius_class", parse_class,
                    "personal or enterprise", NFSUB_CLASS_PERSONAL,
                    &c->radius_class, error)
      || !get_name (c, kf, group, "radius_access", parse_access,
                    "pppoe, ipoe or mobile", NFSUB_ACCESS_PPPOE,
                    &c->radius_access, error)
      || !get_name (c, kf, group, "kea_service", parse_service,
                    "broadband or mobile", NFSUB_SERVICE_BROADBAND,
                    &c->kea_service, error)
      || !get_name (c, kf, group, "kea_class", parse_class,
                    "personal or enterprise", NFSUB_CLASS_PERSONAL,
                    &c->kea_class, error)
      || !get_name (c, kf, group, "kea_access", parse_access,
                    "pppoe, ipoe or mobile", NFSUB_ACCESS_IPOE,
                    &c->kea_access, error)
      || !get_name (c, kf, group, "static_service", parse_service,
                    "broadband or mobile", NFSUB_SERVICE_BROADBAND,
                    &c->static_service, error)
      || !get_name (c, kf, group, "static_class", parse_class,
                    "personal or enterprise", NFSUB_CLASS_ENTERPRISE,
                    &c->static_class, error)
      || !get_name (c, kf, group, "static_access", parse_access,
                    "pppoe, ipoe or mobile", NFSUB_ACCESS_IPOE,
                    &c->static_access, error)
      || !get_duration (c, kf, group, "session_max_age", 86400,
                        &c->session_max_age, error)
      || !get_duration (c, kf, group, "grace", 300, &c->grace, error)
      || !get_duration (c, kf, group, "early_wait_max", 900,
                        &c->early_wait_max, error)
      || !get_duration (c, kf, group, "retention", 8 * 86400, &c->retention,
                        error))
    return FALSE;

  g_autofree char *tz = get_string (kf, group, "radius_timezone");
  if (tz)
    {
      c->radius_timezone = g_time_zone_new_identifier (tz);
      if (!c->radius_timezone)
        return config_error (error, c, group, "radius_timezone",
                             "a time zone like UTC or Europe/Berlin", tz);
    }
  else if (host)
    c->radius_timezone = g_time_zone_ref (nfsub_host_timezone (host));
  else
    c->radius_timezone = g_time_zone_new_utc ();

  static const char *const unmapped[] = { "duid", "skip", NULL };
  static const char *const clocks[] = { "wall", "log", NULL };
  static const char *const early[] = { "wait", "fail", "process", NULL };
  static const char *const on_error[] = { "fail", "skip", NULL };
  int v;
  if (!get_choice (c, kf, group, "kea_unmapped", unmapped, 0, &v, error))
    return FALSE;
  c->kea_unmapped_skip = v == 1;
  if (!get_choice (c, kf, group, "grace_clock", clocks, CLOCK_WALL, &v,
                   error))
    return FALSE;
  c->grace_clock = (GraceClock) v;
  if (!get_choice (c, kf, group, "early_file", early, EARLY_WAIT, &v, error))
    return FALSE;
  c->early_file = (EarlyFile) v;
  if (!get_choice (c, kf, group, "on_error", on_error, 0, &v, error))
    return FALSE;
  c->skip_errors = v == 1;

  g_auto (GStrv) types = g_key_file_get_string_list (kf, group,
                                                     "kea_lease_types", NULL,
                                                     NULL);
  for (char **t = types; t && *t; t++)
    {
      g_strstrip (*t);
      if (g_ascii_strcasecmp (*t, "na") == 0)
        c->kea_na = TRUE;
      else if (g_ascii_strcasecmp (*t, "pd") != 0)
        return config_error (error, c, group, "kea_lease_types",
                             "a list of pd and na", *t);
    }

  if (!c->radius_detail[0] && !c->kea_leases[0] && !c->static_files[0])
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                   "%s: [%s] no source configured: set radius_detail, "
                   "kea_leases and/or static",
                   c->config_path, group);
      return FALSE;
    }
  c->rules = rules_parse (kf, group, c->config_path, error);
  if (!c->rules)
    return FALSE;
  c->fingerprint = config_fingerprint (kf, group);
  return TRUE;
}

SubConfig *
sub_config_load (NfsubHost *host, GKeyFile *kf, const char *group,
                 GError **error)
{
  SubConfig *c = g_new0 (SubConfig, 1);
  c->config_path = g_strdup (host ? nfsub_host_config_path (host) : "config");
  if (!config_fill (c, host, kf, group, error))
    {
      sub_config_free (c);
      return NULL;
    }
  return c;
}

void
sub_config_free (SubConfig *c)
{
  if (!c)
    return;
  g_free (c->config_path);
  g_strfreev (c->radius_detail);
  g_free (c->radius_user);
  if (c->radius_timezone)
    g_time_zone_unref (c->radius_timezone);
  g_strfreev (c->kea_leases);
  g_free (c->kea_duid_map);
  g_strfreev (c->static_files);
  rules_free (c->rules);
  g_free (c);
}
