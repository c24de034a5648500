/* The host object behind NfsubHost: what the CLI builds from the config.
 * Not installed: plugins see only the accessors in <nfsub/plugin.h>. */
#ifndef NFSUB_HOST_PRIVATE_H
#define NFSUB_HOST_PRIVATE_H

#include <nfsub/plugin.h>

G_BEGIN_DECLS

#define NFSUB_MAIN_GROUP "nfsub"
#define NFSUB_DEFAULT_CONFIG NFSUB_SYSCONF_DIR "/nfsub.conf"
#define NFSUB_DEFAULT_STATE_DIR "/var/lib/nfsub"

struct NfsubHost {
  GKeyFile *config;
  char *config_path;      /* NULL when running on built-in defaults */
  char *state_dir;
  char *rrd_dir;
  char *rrdcached;        /* NULL: write RRD files directly */
  char *filter;           /* global filter expression, NULL: none */
  char **plugin_names;    /* [nfsub] plugins, in config order */
  char **plugin_path;     /* directories searched for modules */
  guint active_timeout;
  GTimeZone *timezone;
  GHashTable *plugin_state_dirs; /* name -> path, created on demand */
};

/* Loads `path` (NULL: the default config, or built-in defaults when that
 * file does not exist).  `plugin_dir` (may be NULL) goes first in the
 * module search path, then $NFSUB_PLUGIN_PATH, then [nfsub] plugin_dir,
 * then the installed plugin directory. */
NfsubHost *nfsub_host_new (const char *path, const char *plugin_dir,
                           GError **error);
void nfsub_host_free (NfsubHost *host);

/* Resolves a path from the config relative to the config file's folder. */
char *nfsub_host_resolve_path (NfsubHost *host, const char *value);

/* State transactions (atomic.c): between begin and commit,
 * nfsub_write_file_atomic only stages files; commit makes all of them
 * visible at once, crash or not.  recover finishes or discards an
 * interrupted commit; call it with the state lock held. */
void nfsub_state_txn_begin (const char *state_dir);
gboolean nfsub_state_txn_commit (GError **error);
void nfsub_state_txn_abort (void);
gboolean nfsub_state_recover (const char *state_dir, GError **error);

/* The state directory lock: one `nfsub process` at a time per state.
 * Waits when `wait` is TRUE, else fails naming the holder.  Returns the
 * lock fd (>= 0), released by nfsub_state_unlock or at exit. */
int nfsub_state_lock (const char *state_dir, gboolean wait, GError **error);
void nfsub_state_unlock (int fd);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NfsubHost, nfsub_host_free)

G_END_DECLS

#endif
