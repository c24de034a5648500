/* nfsim: population model config (defaults in nfsim-defaults.conf). */
#include "config.h"

#include "model.h"

#include <gio/gio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char default_config[] =
#include "contrib/nfsim/defaults.inc"
  ;

const char *
nfsim_default_config (void)
{
  return default_config;
}

static const char *const group_names[N_GROUPS] = { "broadband", "mobile", "enterprise" };

static gboolean
get_double (GKeyFile *kf, const char *group, const char *key, double min,
            double max, double *out, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *text = g_key_file_get_value (kf, group, key, &local);
  if (!text)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                   "nfsim config: [%s] %s is missing", group, key);
      return FALSE;
    }
  char *end;
  double v = g_ascii_strtod (g_strstrip (text), &end);
  if (end == text || *end || !isfinite (v) || v < min || v > max)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "nfsim config: [%s] %s = '%s': expected a number in [%g, %g]",
                   group, key, text, min, max);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

static gboolean
get_uint (GKeyFile *kf, const char *group, const char *key, double min,
          double max, guint64 *out, GError **error)
{
  double v;
  if (!get_double (kf, group, key, min, max, &v, error))
    return FALSE;
  if (v != floor (v))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "nfsim config: [%s] %s: expected a whole number", group, key);
      return FALSE;
    }
  *out = (guint64) v;
  return TRUE;
}

static gboolean
get_bool (GKeyFile *kf, const char *group, const char *key, gboolean *out,
          GError **error)
{
  g_autoptr (GError) local = NULL;
  gboolean v = g_key_file_get_boolean (kf, group, key, &local);
  if (local)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "nfsim config: [%s] %s: expected true or false", group, key);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

static gboolean
get_profile (GKeyFile *kf, const char *group, const char *key, double *out,
             GError **error)
{
  g_autofree char *text = g_key_file_get_value (kf, group, key, NULL);
  g_auto (GStrv) parts = text ? g_strsplit_set (g_strstrip (text), " \t,", -1) : NULL;
  guint n = 0;
  double sum = 0;
  for (char **p = parts; p && *p; p++)
    {
      if (!**p)
        continue;
      char *end;
      double v = g_ascii_strtod (*p, &end);
      if (*end || !isfinite (v) || v < 0 || n >= 24)
        {
          n = 99;
          break;
        }
      out[n++] = v;
      sum += v;
    }
  if (n != 24 || sum <= 0)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "nfsim config: [%s] %s: expected 24 non-negative weights", group, key);
      return FALSE;
    }
  for (guint h = 0; h < 24; h++)
    out[h] /= sum;
  return TRUE;
}

static void
port_table_clear (NfsimPortTable *t)
{
  if (t->cats)
    g_ptr_array_unref (t->cats);
  t->cats = NULL;
}

static void
category_free (NfsimCategory *c)
{
  g_free (c->name);
  g_free (c);
}

static gboolean
get_port_table (GKeyFile *kf, const char *group, NfsimPortTable *t, GError **error)
{
  g_auto (GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);
  t->cats = g_ptr_array_new_with_free_func ((GDestroyNotify) category_free);
  t->total = 0;
  static const struct {
    const char *name;
    guint8 proto;
  } noport[] = { { "esp", 50 }, { "gre", 47 }, { "ipencap", 4 }, { "icmp", 1 }, { "other", 132 } };
  for (char **k = keys; k && *k; k++)
    {
      NfsimCategory *c = g_new0 (NfsimCategory, 1);
      c->name = g_strdup (*k);
      g_ptr_array_add (t->cats, c);
      if (!get_double (kf, group, *k, 0, 100, &c->share, error))
        return FALSE;
      t->total += c->share;
      gboolean ok = FALSE;
      for (guint i = 0; i < G_N_ELEMENTS (noport); i++)
        if (strcmp (*k, noport[i].name) == 0)
          {
            c->kind = CAT_NOPORT;
            c->proto = noport[i].proto;
            ok = TRUE;
          }
      if (g_str_has_prefix (*k, "tcp/") || g_str_has_prefix (*k, "udp/"))
        {
          c->proto = (*k)[0] == 't' ? 6 : 17;
          const char *rest = *k + 4;
          if (strcmp (rest, "low") == 0)
            c->kind = CAT_LOW, ok = TRUE;
          else if (strcmp (rest, "dynamic") == 0)
            c->kind = CAT_DYNAMIC, ok = TRUE;
          else
            {
              char *end;
              guint64 port = g_ascii_strtoull (rest, &end, 10);
              if (*rest && !*end && port >= 1 && port < 65000)
                {
                  c->kind = CAT_PORT;
                  c->port = port;
                  ok = TRUE;
                }
            }
        }
      if (!ok)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       "nfsim config: [%s] %s: not a category (tcp/PORT, udp/PORT, "
                       "tcp/low, tcp/dynamic, udp/low, udp/dynamic, esp, gre, "
                       "ipencap, icmp, other)", group, *k);
          return FALSE;
        }
    }
  if (t->cats->len > 48)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "nfsim config: [%s]: %u categories, at most 48", group, t->cats->len);
      return FALSE;
    }
  if (t->total <= 0)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "nfsim config: [%s]: shares sum to 0", group);
      return FALSE;
    }
  return TRUE;
}

/* user file on top of the defaults; a key the defaults lack is an error
 * (port tables excepted: any category may be added there) */
static gboolean
merge_user_config (GKeyFile *kf, const char *path, GError **error)
{
  g_autoptr (GKeyFile) user = g_key_file_new ();
  if (!g_key_file_load_from_file (user, path, G_KEY_FILE_NONE, error))
    {
      g_prefix_error (error, "nfsim config %s: ", path);
      return FALSE;
    }
  g_auto (GStrv) groups = g_key_file_get_groups (user, NULL);
  for (char **g = groups; *g; g++)
    {
      gboolean ports = g_str_has_prefix (*g, "ports.");
      if (!g_key_file_has_group (kf, *g) && !ports)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
                       "nfsim config %s: unknown group [%s]", path, *g);
          return FALSE;
        }
      if (ports)
        g_key_file_remove_group (kf, *g, NULL); /* a table replaces the default */
      g_auto (GStrv) keys = g_key_file_get_keys (user, *g, NULL, NULL);
      for (char **k = keys; k && *k; k++)
        {
          if (!ports && !g_key_file_has_key (kf, *g, *k, NULL)
              && !g_str_has_prefix (*g, "usage."))
            {
              g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                           "nfsim config %s: unknown key [%s] %s", path, *g, *k);
              return FALSE;
            }
          g_autofree char *v = g_key_file_get_value (user, *g, *k, NULL);
          g_key_file_set_value (kf, *g, *k, v);
        }
      if (g_str_has_prefix (*g, "usage."))
        {
          /* a usage group replaces the default targets as a whole, so
           * that a target can be left out */
          g_auto (GStrv) dkeys = g_key_file_get_keys (kf, *g, NULL, NULL);
          for (char **k = dkeys; k && *k; k++)
            if (!g_key_file_has_key (user, *g, *k, NULL))
              g_key_file_remove_key (kf, *g, *k, NULL);
          for (char **k = keys; k && *k; k++)
            if (strcmp (*k, "mean") && strcmp (*k, "median") && strcmp (*k, "mode")
                && strcmp (*k, "top10") && strcmp (*k, "top1"))
              {
                g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                             "nfsim config %s: unknown key [%s] %s (mean, median, "
                             "mode, top10, top1)", path, *g, *k);
                return FALSE;
              }
        }
    }
  return TRUE;
}

static gboolean
get_targets (GKeyFile *kf, const char *group, NfsimTargets *t, GError **error)
{
  double *fields[] = { &t->mean_mb, &t->median_mb, &t->mode_mb, &t->top10, &t->top1 };
  const char *names[] = { "mean", "median", "mode", "top10", "top1" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      *fields[i] = 0;
      if (g_key_file_has_key (kf, group, names[i], NULL)
          && !get_double (kf, group, names[i], 1e-3, i < 3 ? 1e7 : 100, fields[i], error))
        return FALSE;
    }
  if (t->mean_mb <= 0)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                   "nfsim config: [%s] mean is required", group);
      return FALSE;
    }
  if (t->top1 > 0 && t->top10 > 0 && t->top1 >= t->top10)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "nfsim config: [%s] top1 must be below top10", group);
      return FALSE;
    }
  return TRUE;
}

static NfsimConfig *config_load (const char *path, const NfsimOptions *opt, GError **error);

NfsimConfig *
nfsim_config_load (const char *path, const NfsimOptions *opt, GError **error)
{
  GError *local = NULL;
  NfsimConfig *cfg = config_load (path, opt, &local);
  if (!cfg)
    {
      /* the defaults are valid, so a bad value comes from the user's file
       * (or the command line): name it */
      if (path && g_str_has_prefix (local->message, "nfsim config: "))
        {
          char *m = g_strdup_printf ("nfsim config %s: %s", path,
                                     local->message + strlen ("nfsim config: "));
          g_free (local->message);
          local->message = m;
        }
      g_propagate_error (error, local);
    }
  return cfg;
}

static NfsimConfig *
config_load (const char *path, const NfsimOptions *opt, GError **error)
{
  g_autoptr (NfsimConfig) cfg = g_new0 (NfsimConfig, 1);
  cfg->keyfile = g_key_file_new ();
  GKeyFile *kf = cfg->keyfile;
  if (!g_key_file_load_from_data (kf, default_config, -1, G_KEY_FILE_KEEP_COMMENTS, error))
    return NULL;
  if (path && !merge_user_config (kf, path, error))
    return NULL;
  if (opt && opt->users > 0)
    {
      g_autofree char *v = g_strdup_printf ("%" G_GINT64_FORMAT, opt->users);
      g_key_file_set_value (kf, "population", "users", v);
    }
  if (opt && opt->days > 0)
    {
      g_autofree char *v = g_strdup_printf ("%d", opt->days);
      g_key_file_set_value (kf, "time", "days", v);
    }
  if (opt && opt->week)
    g_key_file_set_value (kf, "time", "week", opt->week);

  guint64 u;
  if (!get_uint (kf, "population", "users", 1, 1e8, &cfg->users, error)
      || !get_double (kf, "population", "mobile_share", 0, 1, &cfg->mobile_share, error)
      || !get_double (kf, "population", "enterprise_share", 0, 1, &cfg->enterprise_share, error)
      || !get_double (kf, "population", "ipoe_share", 0, 1, &cfg->ipoe_share, error)
      || !get_double (kf, "population", "both_share", 0, 1, &cfg->both_share, error)
      || !get_double (kf, "population", "enterprise_ipoe_share", 0, 1,
                      &cfg->enterprise_ipoe_share, error))
    return NULL;

  cfg->week = g_strstrip (g_key_file_get_value (kf, "time", "week", NULL));
  cfg->timezone = g_strstrip (g_key_file_get_value (kf, "time", "timezone", NULL));
  if (!get_uint (kf, "time", "days", 1, 366, &u, error))
    return NULL;
  cfg->days = u;
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier (cfg->timezone);
  if (!tz)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "nfsim config: [time] timezone = '%s': unknown time zone", cfg->timezone);
      return NULL;
    }
  int y, m, d;
  char tail;
  if (sscanf (cfg->week, "%d-%d-%d%c", &y, &m, &d, &tail) != 3
      || !g_date_valid_dmy (d, m, y))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "nfsim config: [time] week = '%s': expected YYYY-MM-DD", cfg->week);
      return NULL;
    }
  g_autoptr (GDateTime) start = g_date_time_new (tz, y, m, d, 0, 0, 0);
  cfg->week_start_ms = g_date_time_to_unix (start) * 1000;
  cfg->utc_offset_s = g_date_time_get_utc_offset (start) / G_USEC_PER_SEC;

  if (!get_uint (kf, "export", "active_timeout", 1, 86400, &u, error))
    return NULL;
  cfg->active_timeout_s = u;
  if (!get_uint (kf, "export", "inactive_timeout", 1, 86400, &u, error))
    return NULL;
  cfg->inactive_timeout_s = u;
  const char *sampling_keys[] = { "sampling_pppoe", "sampling_ipoe", "sampling_mobile" };
  for (int i = 0; i < 3; i++)
    {
      if (!get_uint (kf, "export", sampling_keys[i], 1, 1e6, &u, error))
        return NULL;
      cfg->sampling[i] = u;
    }

  if (!get_port_table (kf, "ports.broadband", &cfg->port_tables[0], error)
      || !get_port_table (kf, "ports.mobile", &cfg->port_tables[1], error))
    return NULL;

  for (int g = 0; g < N_GROUPS; g++)
    {
      NfsimGroupModel *gm = &cfg->group[g];
      g_autofree char *bgroup = g_strdup_printf ("behaviour.%s", group_names[g]);
      g_autofree char *pgroup = g_strdup_printf ("profile.%s", group_names[g]);
      for (int dir = 0; dir < 2; dir++)
        {
          g_autofree char *ugroup = g_strdup_printf ("usage.%s.%s", group_names[g],
                                                     dir == DIR_IN ? "in" : "out");
          if (!get_targets (kf, ugroup, &gm->target[dir], error))
            return NULL;
          g_autofree char *kwd = g_strdup_printf ("%s_weekday", dir == DIR_IN ? "in" : "out");
          g_autofree char *kwe = g_strdup_printf ("%s_weekend", dir == DIR_IN ? "in" : "out");
          if (!get_profile (kf, pgroup, kwd, gm->profile[dir].weekday, error)
              || !get_profile (kf, pgroup, kwe, gm->profile[dir].weekend, error))
            return NULL;
        }
      if (!get_double (kf, bgroup, "in_out_correlation", -0.99, 0.99, &gm->in_out_correlation, error)
          || !get_double (kf, bgroup, "day_sigma", 0, 3, &gm->day_sigma, error)
          || !get_double (kf, bgroup, "weekend_factor", 0.01, 100, &gm->weekend_factor, error)
          || !get_double (kf, bgroup, "sessions_per_day", 0.1, 10000, &gm->sessions_per_day, error)
          || !get_double (kf, bgroup, "ipv6_share", 0, 1, &gm->ipv6_share, error)
          || !get_double (kf, bgroup, "rate_mbps_min", 0.001, 1e5, &gm->rate_mbps_min, error)
          || !get_double (kf, bgroup, "rate_mbps_max", 0.001, 1e5, &gm->rate_mbps_max, error))
        return NULL;
      if (gm->rate_mbps_max < gm->rate_mbps_min)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       "nfsim config: [%s] rate_mbps_max is below rate_mbps_min", bgroup);
          return NULL;
        }
      gm->ports = &cfg->port_tables[g == GROUP_MOBILE ? 1 : 0];
    }

  if (!get_double (kf, "traffic", "unattributed_share", 0, 0.5, &cfg->unattributed_share, error)
      || !get_double (kf, "traffic", "ack_ratio", 0, 0.5, &cfg->ack_ratio, error))
    return NULL;

  if (!get_uint (kf, "radius", "interim_interval", 60, 86400 * 30, &u, error))
    return NULL;
  cfg->interim_interval_s = u;
  if (!get_double (kf, "radius", "pppoe_session_hours", 0.1, 1e5, &cfg->pppoe_session_hours, error)
      || !get_double (kf, "radius", "pppoe_reconnect_seconds", 0, 86400, &cfg->pppoe_reconnect_s, error)
      || !get_double (kf, "radius", "mobile_session_hours", 0.1, 1e5, &cfg->mobile_session_hours, error)
      || !get_double (kf, "radius", "mobile_gap_minutes", 0, 1e5, &cfg->mobile_gap_minutes, error)
      || !get_double (kf, "radius", "late_share", 0, 1, &cfg->late_share, error)
      || !get_uint (kf, "radius", "late_max_seconds", 0, 86400, &u, error))
    return NULL;
  cfg->late_max_s = u;
  if (!get_bool (kf, "radius", "delegated_prefix", &cfg->delegated_prefix, error)
      || !get_bool (kf, "radius", "gzip", &cfg->radius_gzip, error))
    return NULL;

  if (!get_uint (kf, "kea", "valid_lifetime", 600, 1e8, &u, error))
    return NULL;
  cfg->kea_valid_lifetime_s = u;
  if (!get_uint (kf, "kea", "renew_interval", 60, 1e8, &u, error))
    return NULL;
  cfg->kea_renew_interval_s = u;
  if (!get_double (kf, "kea", "renumber_share", 0, 1, &cfg->kea_renumber_share, error)
      || !get_uint (kf, "kea", "prefix_length", 48, 56, &u, error))
    return NULL;
  if (u != 48 && u != 56)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "nfsim config: [kea] prefix_length: 48 or 56");
      return NULL;
    }
  cfg->ipoe_prefix_length = u;

  /* every other key of the defaults' groups was read above; catch typos
   * in the groups whose keys are free-form only where they are parsed */
  return g_steal_pointer (&cfg);
}

void
nfsim_config_free (NfsimConfig *cfg)
{
  if (!cfg)
    return;
  g_free (cfg->week);
  g_free (cfg->timezone);
  port_table_clear (&cfg->port_tables[0]);
  port_table_clear (&cfg->port_tables[1]);
  if (cfg->keyfile)
    g_key_file_free (cfg->keyfile);
  g_free (cfg);
}
