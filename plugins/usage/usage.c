/* usage: per-user daily volumes (IN/OUT bytes and sampled packets) by
 * calendar day, from tagged flows and from RADIUS accounting counters,
 * and their weekly distribution (`nfsub usage`, command.c).
 *
 * Each nfcapd file's contribution becomes a delta in the store (store.h)
 * at end_file, so `nfcapd -x` running one process per file loads nothing
 * big at init and writes little per file; days are compacted into one
 * file a day once they close or their pending data grows.  The store's
 * ledger makes a file counted twice impossible, so a run killed at any
 * moment can simply be repeated.
 */
#include "config.h"

#include <string.h>

#include "usage-private.h"

const char *
usage_source_name (UsageSource s)
{
  return s == USAGE_SOURCE_RADIUS ? "radius" : "flows";
}

static gboolean
config_error (NfsubHost *host, GError **error, const char *group,
              const char *key, const char *what)
{
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG, "%s: [%s] %s: %s",
               nfsub_host_config_path (host), group, key, what);
  return FALSE;
}

static gboolean
config_source (NfsubHost *host, GKeyFile *kf, const char *group,
               const char *key, UsageSource *out, GError **error)
{
  g_autofree char *v = g_key_file_get_string (kf, group, key, NULL);
  if (!v)
    return TRUE;
  g_strstrip (v);
  if (strcmp (v, "flows") == 0)
    *out = USAGE_SOURCE_FLOWS;
  else if (strcmp (v, "radius") == 0 || strcmp (v, "accounting") == 0)
    *out = USAGE_SOURCE_RADIUS;
  else
    return config_error (host, error, group, key,
                         "expected flows or radius");
  return TRUE;
}

static gboolean
config_uint (NfsubHost *host, GKeyFile *kf, const char *group, const char *key,
             guint min, guint max, guint *out, GError **error)
{
  if (!g_key_file_has_key (kf, group, key, NULL))
    return TRUE;
  g_autoptr (GError) local = NULL;
  gint64 v = g_key_file_get_int64 (kf, group, key, &local);
  if (local || v < min || v > max)
    {
      g_autofree char *what = g_strdup_printf ("expected a whole number %u..%u",
                                               min, max);
      return config_error (host, error, group, key, what);
    }
  *out = (guint) v;
  return TRUE;
}

static gboolean
config_enum (NfsubHost *host, GKeyFile *kf, const char *group, const char *key,
             const char *const *names, guint *out, GError **error)
{
  g_autofree char *v = g_key_file_get_string (kf, group, key, NULL);
  if (!v)
    return TRUE;
  g_strstrip (v);
  for (guint i = 0; names[i]; i++)
    if (*names[i] && g_ascii_strcasecmp (v, names[i]) == 0)
      {
        *out = i;
        return TRUE;
      }
  g_autoptr (GString) what = g_string_new ("expected one of");
  for (guint i = 0; names[i]; i++)
    if (*names[i])
      g_string_append_printf (what, " %s", names[i]);
  return config_error (host, error, group, key, what->str);
}

/* Relative paths in the config are relative to the config file's folder. */
static char *
resolve_config_path (NfsubHost *host, const char *value)
{
  const char *conf = nfsub_host_config_path (host);
  if (g_path_is_absolute (value) || !g_path_is_absolute (conf))
    return g_strdup (value);
  g_autofree char *dir = g_path_get_dirname (conf);
  return g_build_filename (dir, value, NULL);
}

static const char *const service_names[] = { "", "broadband", "mobile", NULL };
static const char *const class_names[] = { "", "personal", "enterprise", NULL };
static const char *const access_names[] = { "", "pppoe", "ipoe", "mobile", NULL };

void
usage_config_clear (UsageConfig *cfg)
{
  g_clear_pointer (&cfg->radius_detail, g_strfreev);
  g_clear_pointer (&cfg->radius_detail_access, g_free);
  g_clear_pointer (&cfg->radius_user_attribute, g_free);
}

gboolean
usage_config_load (NfsubHost *host, GKeyFile *kf, const char *group,
                   UsageConfig *cfg, GError **error)
{
  static const char *const keys[] = {
    "source_broadband", "source_mobile", "checkpoint_files", "compact_min_mb",
    "radius_detail", "radius_user_attribute", "radius_service",
    "radius_class", "radius_access", "radius_max_session_days", "cache_mb",
    NULL
  };
  memset (cfg, 0, sizeof *cfg);
  cfg->source_broadband = USAGE_SOURCE_FLOWS;
  cfg->source_mobile = USAGE_SOURCE_RADIUS;
  cfg->checkpoint_files = 1;
  guint compact_mb = 4, cache_mb = 512;
  cfg->radius_service = 2;  /* mobile */
  cfg->radius_class = 1;    /* personal */
  cfg->radius_access = 3;   /* mobile */
  cfg->radius_max_session_days = 7;
  if (!nfsub_config_check_keys (host, kf, group, keys, error)
      || !config_source (host, kf, group, "source_broadband",
                         &cfg->source_broadband, error)
      || !config_source (host, kf, group, "source_mobile", &cfg->source_mobile,
                         error)
      || !config_uint (host, kf, group, "checkpoint_files", 1, 100000,
                       &cfg->checkpoint_files, error)
      || !config_uint (host, kf, group, "compact_min_mb", 0, 1 << 20,
                       &compact_mb, error)
      || !config_uint (host, kf, group, "cache_mb", 0, 1 << 20, &cache_mb,
                       error)
      || !config_enum (host, kf, group, "radius_service", service_names,
                       &cfg->radius_service, error)
      || !config_enum (host, kf, group, "radius_class", class_names,
                       &cfg->radius_class, error)
      || !config_enum (host, kf, group, "radius_access", access_names,
                       &cfg->radius_access, error)
      || !config_uint (host, kf, group, "radius_max_session_days", 1, 366,
                       &cfg->radius_max_session_days, error))
    {
      usage_config_clear (cfg);
      return FALSE;
    }
  cfg->compact_min_bytes = (gsize) compact_mb << 20;
  cfg->cache_bytes = (gsize) cache_mb << 20;
  /* radius_detail = [ACCESS=]PATH;...: files or folders of detail files;
   * ACCESS (pppoe, ipoe, mobile) overrides radius_access for that one */
  if (g_key_file_has_key (kf, group, "radius_detail", NULL))
    {
      g_auto (GStrv) list = g_key_file_get_string_list (kf, group,
                                                        "radius_detail", NULL,
                                                        NULL);
      GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
      GArray *access = g_array_new (TRUE, TRUE, sizeof (guint));
      for (char **p = list; p && *p; p++)
        {
          char *item = g_strstrip (*p);
          if (!*item)
            continue;
          guint a = cfg->radius_access;
          char *eq = strchr (item, '=');
          if (eq)
            {
              *eq = '\0';
              guint i;
              for (i = 1; access_names[i]; i++)
                if (g_ascii_strcasecmp (item, access_names[i]) == 0)
                  break;
              if (!access_names[i])
                {
                  g_autofree char *what = g_strdup_printf (
                      "'%s=': expected pppoe=, ipoe= or mobile= before a path",
                      item);
                  g_ptr_array_free (paths, TRUE);
                  g_array_unref (access);
                  config_error (host, error, group, "radius_detail", what);
                  usage_config_clear (cfg);
                  return FALSE;
                }
              a = i;
              item = g_strstrip (eq + 1);
            }
          g_ptr_array_add (paths, resolve_config_path (host, item));
          g_array_append_val (access, a);
        }
      g_ptr_array_add (paths, NULL);
      cfg->radius_detail = (char **) g_ptr_array_free (paths, FALSE);
      cfg->radius_detail_access = (guint *) g_array_free (access, FALSE);
    }
  g_autofree char *attr = g_key_file_get_string (kf, group,
                                                 "radius_user_attribute", NULL);
  cfg->radius_user_attribute = g_strdup (attr ? g_strstrip (attr) : "User-Name");
  return TRUE;
}

void
usage_plugin_free (gpointer data)
{
  UsagePlugin *self = data;
  if (!self)
    return;
  usage_config_clear (&self->cfg);
  g_free (self->state_dir);
  usage_store_free (self->flows);
  usage_store_free (self->radius);
  usage_accum_free (self->acc);
  usage_delta_free (self->delta);
  if (self->run_files)
    g_hash_table_unref (self->run_files);
  usage_daymap_clear (&self->days);
  g_free (self);
}

UsagePlugin *
usage_plugin_new (NfsubHost *host, GKeyFile *config, const char *group,
                  GError **error)
{
  g_autofree char *flows_dir = NULL;
  UsagePlugin *self = g_new0 (UsagePlugin, 1);
  self->host = host;
  if (!usage_config_load (host, config, group, &self->cfg, error))
    goto fail;
  const char *dir = nfsub_host_state_dir (host, USAGE_PLUGIN, error);
  if (!dir)
    goto fail;
  self->state_dir = g_strdup (dir);
  flows_dir = g_build_filename (dir, "flows", NULL);
  self->flows = usage_store_open (flows_dir, TRUE, error);
  if (!self->flows)
    goto fail;
  usage_store_set_cache_budget (self->flows, self->cfg.cache_bytes);
  /* now, not in finish: opening sweeps, and that must happen before the
   * host opens its state transaction */
  if (self->cfg.radius_detail && !usage_plugin_radius_store (self, error))
    goto fail;
  self->acc = usage_accum_new ();
  self->delta = usage_delta_new ();
  self->run_files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  usage_daymap_init (&self->days, nfsub_host_timezone (host));
  self->active_timeout = nfsub_host_active_timeout (host);
  return self;
fail:
  usage_plugin_free (self);
  return NULL;
}

UsageStore *
usage_plugin_radius_store (UsagePlugin *self, GError **error)
{
  if (!self->radius)
    {
      g_autofree char *dir = g_build_filename (self->state_dir, "radius", NULL);
      self->radius = usage_store_open (dir, TRUE, error);
      if (self->radius)
        usage_store_set_cache_budget (self->radius, self->cfg.cache_bytes);
    }
  return self->radius;
}

static gpointer
usage_init (NfsubHost *host, GKeyFile *config, const char *group,
            GError **error)
{
  return usage_plugin_new (host, config, group, error);
}

char *
usage_file_identity (const NfsubFileInfo *file, char **bucket)
{
  g_autofree char *base = g_path_get_basename (file->path);
  /* nfcapd.YYYYMMDDhhmm: the slot day; else the stat record's first day */
  const char *digits = g_str_has_prefix (base, "nfcapd.") ? base + 7 : "";
  if (strspn (digits, "0123456789") >= 8)
    *bucket = g_strndup (digits, 8);
  else if (file->has_stat && file->stat.first_ms)
    {
      g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (
          (gint64) (file->stat.first_ms / 1000));
      *bucket = dt ? g_date_time_format (dt, "%Y%m%d") : g_strdup ("other");
    }
  else
    *bucket = g_strdup ("other");
  for (char *p = base; *p; p++)
    if (*p == '\t' || *p == '\n')
      *p = '_';
  return g_strdup_printf ("%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%"
                          G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%"
                          G_GUINT64_FORMAT "\t%" G_GINT64_FORMAT,
                          base, file->file_size,
                          file->has_stat ? file->stat.numflows : 0,
                          file->has_stat ? file->stat.numbytes : 0,
                          file->has_stat ? file->stat.first_ms : 0,
                          file->has_stat ? file->stat.last_ms : 0,
                          file->created);
}

static gboolean
usage_begin_file (gpointer data, const NfsubFileInfo *file, GError **error)
{
  UsagePlugin *self = data;
  g_autofree char *bucket = NULL;
  g_autofree char *id = usage_file_identity (file, &bucket);
  gboolean found = g_hash_table_contains (self->run_files, id);
  if (!found && !usage_store_has_file (self->flows, bucket, id, &found, error))
    return FALSE;
  self->skip_file = found;
  if (found)
    nfsub_info (USAGE_PLUGIN, "%s: already counted, skipped", file->path);
  return TRUE;
}

static inline guint64
sampled_packets (const NfsubFlow *f)
{
  guint64 p = nfsub_flow_packets (f);
  guint64 rate = f->sampling_rate ? f->sampling_rate : 1;
  if (rate == 1 || p == 0)
    return p;
  guint64 k = (p + rate / 2) / rate;
  return k ? k : 1;
}

static inline gboolean
key_ok (UsagePlugin *self, const char *key)
{
  if (G_LIKELY (strlen (key) <= USAGE_KEY_MAX && *key))
    return TRUE;
  if (self->skipped_keys++ == 0)
    nfsub_warning (USAGE_PLUGIN, "user key of %zu bytes not stored (limit %d)",
                   strlen (key), USAGE_KEY_MAX);
  return FALSE;
}

static gboolean
usage_process (gpointer data, NfsubBatch *batch, GError **error)
{
  UsagePlugin *self = data;
  if (self->skip_file)
    return TRUE;
  guint n = nfsub_batch_size (batch);
  for (guint i = 0; i < n; i++)
    {
      const NfsubFlow *f = nfsub_batch_flow (batch, i);
      if (!f->direction)
        continue;
      /* the day the flow started: a late flow of the next file still
       * lands on the day it belongs to */
      gint64 t = (gint64) f->first_ms;
      guint32 julian = usage_daymap_julian (&self->days, t);
      if (t > self->max_first_ms)
        self->max_first_ms = t;
      guint64 bytes = nfsub_flow_bytes (f);
      guint64 k = sampled_packets (f);
      if ((f->direction & NFSUB_DIR_IN) && f->src_tag.user
          && key_ok (self, f->src_tag.user))
        {
          const NfsubSubscriberTag *tag = &f->src_tag;
          guint32 u = usage_accum_user_tagged (
              self->acc, tag->user_id, tag->user,
              usage_meta_pack (tag->service, tag->user_class, tag->access));
          UsageCounters c = { bytes, 0, k, 0 };
          usage_accum_add (self->acc, julian, u, &c);
        }
      if ((f->direction & NFSUB_DIR_OUT) && f->dst_tag.user
          && key_ok (self, f->dst_tag.user))
        {
          const NfsubSubscriberTag *tag = &f->dst_tag;
          guint32 u = usage_accum_user_tagged (
              self->acc, tag->user_id, tag->user,
              usage_meta_pack (tag->service, tag->user_class, tag->access));
          UsageCounters c = { 0, bytes, 0, k };
          usage_accum_add (self->acc, julian, u, &c);
        }
    }
  return TRUE;
}

/* Days that no flow of a later file can start in any more. */
static guint32
closed_before (UsagePlugin *self)
{
  if (self->max_first_ms <= 0)
    return 0;
  gint64 t = self->max_first_ms - 2 * (gint64) self->active_timeout * 1000;
  return usage_daymap_lookup (&self->days, t)->julian;
}

static gboolean
checkpoint (UsagePlugin *self, GError **error)
{
  usage_accum_flush (self->acc, self->delta);
  if (!usage_store_commit (self->flows, self->delta, error))
    return FALSE;
  usage_delta_free (self->delta);
  self->delta = usage_delta_new ();
  self->files_in_delta = 0;
  return usage_store_compact (self->flows, closed_before (self),
                              self->cfg.compact_min_bytes, FALSE, error);
}

static gboolean
usage_end_file (gpointer data, const NfsubFileInfo *file, GError **error)
{
  UsagePlugin *self = data;
  if (self->skip_file)
    {
      self->skip_file = FALSE;
      return TRUE;
    }
  g_autofree char *bucket = NULL;
  char *id = usage_file_identity (file, &bucket);
  usage_delta_add_file (self->delta, bucket, id);
  g_hash_table_add (self->run_files, id);
  if (++self->files_in_delta >= self->cfg.checkpoint_files)
    return checkpoint (self, error);
  return TRUE;
}

static gboolean
usage_finish (gpointer data, GError **error)
{
  UsagePlugin *self = data;
  if (self->files_in_delta && !checkpoint (self, error))
    return FALSE;
  if (self->cfg.radius_detail && !usage_radius_import (self, error))
    return FALSE;
  return TRUE;
}

static const NfsubCommand usage_commands[] = {
  { "usage", "per-user daily usage of a week: density, shares, scatter",
    usage_command },
  { NULL, NULL, NULL }
};

NFSUB_PLUGIN_DEFINE (.name = USAGE_PLUGIN,
                     .description = "per-user daily usage and its distribution",
                     .stage = NFSUB_STAGE_ACCOUNT,
                     .init = usage_init,
                     .begin_file = usage_begin_file,
                     .process = usage_process,
                     .end_file = usage_end_file,
                     .finish = usage_finish,
                     .free = usage_plugin_free,
                     .commands = usage_commands);
