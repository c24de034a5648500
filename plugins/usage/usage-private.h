/* usage: what the plugin's files share (not installed). */
#ifndef USAGE_PRIVATE_H
#define USAGE_PRIVATE_H

#include <nfsub/nfsub.h>

#include "accum.h"
#include "daymap.h"
#include "store.h"

G_BEGIN_DECLS

#define USAGE_PLUGIN "usage"

typedef enum {
  USAGE_SOURCE_FLOWS = 0,
  USAGE_SOURCE_RADIUS = 1,
} UsageSource;

typedef struct {
  UsageSource source_broadband;
  UsageSource source_mobile;
  guint checkpoint_files;   /* input files per delta */
  gsize compact_min_bytes;
  gsize cache_bytes;        /* written files kept for reading back */
  /* RADIUS accounting counters */
  char **radius_detail;     /* files or folders of detail files */
  guint *radius_detail_access; /* NfsubAccess of each */
  char *radius_user_attribute;
  guint radius_service, radius_class, radius_access;
  guint radius_max_session_days;
} UsageConfig;

typedef struct {
  NfsubHost *host;
  UsageConfig cfg;
  char *state_dir;
  UsageStore *flows;        /* per-user counters from flows */
  UsageStore *radius;       /* from accounting counters (opened on demand) */
  UsageAccum *acc;
  UsageDelta *delta;        /* input files since the last checkpoint */
  guint files_in_delta;
  GHashTable *run_files;    /* identities counted in this run */
  gboolean skip_file;
  UsageDayMap days;
  gint64 max_first_ms;
  guint active_timeout;
  guint64 skipped_keys;     /* users whose key is too long to store */
} UsagePlugin;

gboolean usage_config_load (NfsubHost *host, GKeyFile *kf, const char *group,
                            UsageConfig *cfg, GError **error);
void usage_config_clear (UsageConfig *cfg);
const char *usage_source_name (UsageSource s);

UsagePlugin *usage_plugin_new (NfsubHost *host, GKeyFile *config,
                               const char *group, GError **error);
void usage_plugin_free (gpointer self);
/* Opens the RADIUS store if it is not open yet. */
UsageStore *usage_plugin_radius_store (UsagePlugin *self, GError **error);

/* Identity of an input file in the ledger, and its bucket (slot day). */
char *usage_file_identity (const NfsubFileInfo *file, char **bucket);

/* The CLI: `nfsub usage ...` (command.c). */
int usage_command (NfsubHost *host, int argc, char **argv);

/* RADIUS accounting counters (radius.c): reads what is new in the
 * configured detail files into the RADIUS store. */
gboolean usage_radius_import (UsagePlugin *self, GError **error);

G_END_DECLS

#endif
