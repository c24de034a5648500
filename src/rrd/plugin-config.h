/* Configuration shared by the plugins that keep RRD series (`ports`,
 * `hourly`): the `series` and `lateness` keys of their group, one
 * definition for both (in-tree plugins only: not installed). */
#ifndef NFSUB_RRD_PLUGIN_CONFIG_H
#define NFSUB_RRD_PLUGIN_CONFIG_H

#include <nfsub/nfsub.h>
#include <nfsub/rrd.h>

G_BEGIN_DECLS

/* The series a plugin writes when its `series` key is absent. */
#define NFSUB_RRD_DEFAULT_SERIES                                              \
  "broadband-pppoe;broadband-ipoe;broadband-all;mobile-all;all-all"

/* One series file: SERVICE-ACCESS, RRD_DIR/PLUGIN/NAME.rrd. */
typedef struct {
  char *name;
  char *path;
  NfsubSeriesSpec spec;
} NfsubRrdSeries;

/* From `group` of `config`:
 *   series    a list of SERVICE-ACCESS (default NFSUB_RRD_DEFAULT_SERIES),
 *             each a file NAME.rrd under `rrd_dir` (*series: a new array
 *             of NfsubRrdSeries that frees them);
 *   lateness  seconds, 0 .. 7 days (default [nfsub] active_timeout + one
 *             step, rrd/README.md);
 *   ledger_days  no longer used: a warning (logged as `plugin`).
 * FALSE with an error naming the config file, group and key. */
gboolean nfsub_rrd_plugin_config (NfsubHost *host, GKeyFile *config,
                                  const char *group, const char *plugin,
                                  const char *rrd_dir, GPtrArray **series,
                                  guint *lateness, GError **error);

/* An integer key in min .. max into *value, left as it is when the key is
 * absent; FALSE with an error naming the key and the range. */
gboolean nfsub_rrd_config_uint (NfsubHost *host, GKeyFile *config,
                                const char *group, const char *key, guint min,
                                guint max, guint *value, GError **error);

G_END_DECLS

#endif
