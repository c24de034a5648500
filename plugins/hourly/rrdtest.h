/* Test helpers shared by the hourly and ports plugin tests: drive a plugin
 * module through whole `nfsub process` runs on hand-made flows, read RRD
 * files back with the real rrdtool, run a real rrdcached. */
#ifndef NFSUB_RRDTEST_H
#define NFSUB_RRDTEST_H

#include <glib.h>
#include <nfsub/nfsub.h>

G_BEGIN_DECLS

typedef struct {
  char *dir;          /* temp dir: config, state/, rrd/ */
  char *config_path;
  char *state_dir;
  char *rrd_dir;
  char *cached_sock;  /* set while an rrdcached runs */
  GPid cached_pid;
} RrdTestEnv;

/* A temp dir and a config: [nfsub] state_dir, rrd_dir, active_timeout,
 * plugins, then `extra` (more groups/keys, may be NULL). */
RrdTestEnv *rrdtest_env_new (const char *plugin, guint active_timeout,
                             const char *extra);
void rrdtest_env_free (RrdTestEnv *env);
/* Rewrites the config with another `extra`. */
void rrdtest_env_set_config (RrdTestEnv *env, const char *plugin,
                             guint active_timeout, const char *extra);

/* The plugin's descriptor from the built module (NFSUB_PLUGIN_PATH). */
const NfsubPluginDesc *rrdtest_plugin (const char *name);

/* A file of hand-made flows as the reader would present it. */
typedef struct {
  NfsubFileInfo info;
  GArray *flows; /* NfsubFlow */
  char *path;
} RrdTestFile;

RrdTestFile *rrdtest_file_new (const char *name, gint64 created);
void rrdtest_file_free (RrdTestFile *f);
/* Appends a flow; the stat record follows the flows. */
NfsubFlow *rrdtest_file_add (RrdTestFile *f, guint8 proto, guint16 sport,
                             guint16 dport, guint64 first_ms, guint64 last_ms,
                             guint64 bytes);
void rrdtest_tag (NfsubSubscriberTag *t, guint8 service, guint8 access);

/* One `nfsub process` run over `files` (init, per file begin/process in
 * batches/end, finish, free).  Returns FALSE with error on any failure. */
gboolean rrdtest_run (RrdTestEnv *env, const char *plugin,
                      RrdTestFile **files, guint n_files, GError **error);

/* `rrdtool fetch PATH CF -r RES -s START -e END [--daemon ADDR]`: rows of
 * (time, values...).  NaN for unknown. */
typedef struct {
  guint n_ds;
  char **ds_names;
  GArray *times;  /* gint64 */
  GArray *values; /* double, n_ds per row */
} RrdTestFetch;

RrdTestFetch *rrdtest_fetch (const char *path, const char *cf, guint res,
                             gint64 start, gint64 end, const char *daemon);
void rrdtest_fetch_free (RrdTestFetch *f);
/* Value of data source `ds` in the row ending at `t`, NaN if absent. */
double rrdtest_fetch_value (const RrdTestFetch *f, gint64 t, const char *ds);

/* A real rrdcached on a unix socket in env->dir (foreground, -g). */
void rrdtest_start_rrdcached (RrdTestEnv *env);
void rrdtest_stop_rrdcached (RrdTestEnv *env);
/* `rrdtool flushcached`: the daemon's FETCH ignores -r, so tests of the
 * consolidated RRAs flush and read the file itself. */
void rrdtest_flushcached (RrdTestEnv *env, const char *path);

char *rrdtest_run_command (const char *const *argv, int *status);

/* Runs the plugin's subcommand `command` in-process with `args`
 * (NULL-terminated, without the command name) on env's config; returns
 * what it printed on stdout, its exit status in *status. */
char *rrdtest_plugin_command (RrdTestEnv *env, const char *plugin,
                              const char *command, int *status,
                              const char *const *args);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RrdTestEnv, rrdtest_env_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RrdTestFile, rrdtest_file_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RrdTestFetch, rrdtest_fetch_free)

G_END_DECLS

#endif
