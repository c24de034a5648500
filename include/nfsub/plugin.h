/* nfsub: the plugin ABI.
 *
 * A plugin is a GModule that exports exactly one symbol, `nfsub_plugin_v1`,
 * a const NfsubPluginDesc.  The host checks abi_version and struct_size
 * before it touches anything else, so a module built against another ABI
 * is refused with a clear message instead of crashing.  Write one with
 * NFSUB_PLUGIN_DEFINE (see plugins/proto for the smallest example).
 *
 * Life of a plugin in `nfsub process`:
 *   init (its config group)           once
 *   begin_file / process* / end_file  per nfcapd file (end_file = interval close)
 *   finish                            once, after the last file: persist state
 *   free                              always, also after an error
 * Tag-stage plugins run before account-stage plugins, each stage in the
 * order the config lists them.
 */
#ifndef NFSUB_PLUGIN_H
#define NFSUB_PLUGIN_H

#include <glib.h>
#include <gmodule.h>
#include <nfsub/flow.h>
#include <nfsub/nffile.h>

G_BEGIN_DECLS

/* Bump on any incompatible change of NfsubPluginDesc, NfsubFlow or the
 * host functions below. */
#define NFSUB_ABI_VERSION 1
#define NFSUB_PLUGIN_SYMBOL "nfsub_plugin_v1"

typedef enum {
  NFSUB_STAGE_TAG = 1,     /* writes tags into flows */
  NFSUB_STAGE_ACCOUNT = 2, /* reads flows and tags, keeps statistics */
} NfsubStage;

/* What the host offers a plugin: paths, config, logging.  Opaque. */
typedef struct NfsubHost NfsubHost;

/* A batch of flows.  When the plugin has a `filter =`, `selected` lists the
 * indexes it selected; otherwise it is NULL and every flow is selected.
 * Use the accessors so both cases read the same. */
typedef struct {
  NfsubFlow *flows;
  guint n_flows;
  const guint32 *selected;
  guint n_selected;
} NfsubBatch;

static inline guint
nfsub_batch_size (const NfsubBatch *b)
{
  return b->selected ? b->n_selected : b->n_flows;
}

static inline NfsubFlow *
nfsub_batch_flow (const NfsubBatch *b, guint i)
{
  return b->selected ? &b->flows[b->selected[i]] : &b->flows[i];
}

/* A subcommand a plugin adds to the CLI (`nfsub NAME ...`).  argv[0] is
 * NAME.  Returns the process exit status. */
typedef struct {
  const char *name;
  const char *summary;
  int (*run) (NfsubHost *host, int argc, char **argv);
} NfsubCommand;

typedef struct {
  guint32 abi_version;  /* NFSUB_ABI_VERSION */
  guint32 struct_size;  /* sizeof (NfsubPluginDesc) */
  const char *name;     /* also the config group name */
  const char *description;
  NfsubStage stage;

  /* Returns the plugin's state, or NULL with error set.  `group` is the
   * plugin's config group (it may be absent from `config`). */
  gpointer (*init) (NfsubHost *host, GKeyFile *config, const char *group,
                    GError **error);
  gboolean (*begin_file) (gpointer self, const NfsubFileInfo *file,
                          GError **error);
  gboolean (*process) (gpointer self, NfsubBatch *batch, GError **error);
  /* Interval close: the file's flows are all seen. */
  gboolean (*end_file) (gpointer self, const NfsubFileInfo *file,
                        GError **error);
  /* Persist state.  Called once after the last file of a run. */
  gboolean (*finish) (gpointer self, GError **error);
  void (*free) (gpointer self);

  const NfsubCommand *commands; /* NULL-terminated by name == NULL, or NULL */

  gpointer reserved[8];
} NfsubPluginDesc;

#define NFSUB_PLUGIN_DEFINE(...)                                              \
  G_MODULE_EXPORT const NfsubPluginDesc nfsub_plugin_v1 = {                   \
    .abi_version = NFSUB_ABI_VERSION,                                         \
    .struct_size = sizeof (NfsubPluginDesc),                                  \
    __VA_ARGS__                                                               \
  }

/* ---- host services (in libnfsub) ---- */

/* The directory for this plugin's persistent state (created on demand):
 * STATE_DIR/NAME. */
const char *nfsub_host_state_dir (NfsubHost *host, const char *plugin_name,
                                  GError **error);
/* The RRD directory from `[nfsub] rrd_dir`. */
const char *nfsub_host_rrd_dir (NfsubHost *host);
/* rrdcached address: `[nfsub] rrdcached`, else $RRDCACHED_ADDRESS, else
 * NULL (update RRD files directly). */
const char *nfsub_host_rrdcached_address (NfsubHost *host);
/* The loaded config (the [nfsub] group and one group per plugin). */
GKeyFile *nfsub_host_config (NfsubHost *host);
const char *nfsub_host_config_path (NfsubHost *host);
/* `[nfsub] active_timeout` in seconds (default 300): how long after its
 * start a flow can still arrive; plugins size lateness windows from it. */
guint nfsub_host_active_timeout (NfsubHost *host);
/* `[nfsub] timezone` (default: the system's). */
GTimeZone *nfsub_host_timezone (NfsubHost *host);

/* Checks that every key in `group` is one of `allowed` (NULL-terminated)
 * or `filter`, which the host handles for every plugin.
 * The error names the config file, the group and the offending key. */
gboolean nfsub_config_check_keys (NfsubHost *host, GKeyFile *config,
                                  const char *group,
                                  const char *const *allowed, GError **error);

/* Writes `len` bytes to `path` atomically: temp file in the same directory,
 * fsync, rename, fsync of the directory.  A crash leaves the old file or
 * the new one, never a mix. */
gboolean nfsub_write_file_atomic (const char *path, const void *data,
                                  gsize len, GError **error);

/* Log lines start with the plugin's name, like collectd's. */
void nfsub_log (const char *plugin, GLogLevelFlags level, const char *fmt,
                ...) G_GNUC_PRINTF (3, 4);
#define nfsub_info(plugin, ...) nfsub_log (plugin, G_LOG_LEVEL_INFO, __VA_ARGS__)
#define nfsub_warning(plugin, ...) nfsub_log (plugin, G_LOG_LEVEL_WARNING, __VA_ARGS__)

#define NFSUB_ERROR (nfsub_error_quark ())
GQuark nfsub_error_quark (void);
typedef enum {
  NFSUB_ERROR_FAILED,
  NFSUB_ERROR_CONFIG, /* unknown key, bad value */
  NFSUB_ERROR_PLUGIN, /* missing module, wrong ABI */
  NFSUB_ERROR_INPUT,  /* malformed input file */
  NFSUB_ERROR_STATE,  /* state directory problem */
} NfsubErrorCode;

G_END_DECLS

#endif /* NFSUB_PLUGIN_H */
