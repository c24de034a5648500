/* Finding, checking and opening plugin modules. */
#ifndef NFSUB_LOADER_H
#define NFSUB_LOADER_H

#include <nfsub/plugin.h>

G_BEGIN_DECLS

typedef struct {
  char *name;
  char *path;
  GModule *module;
  const NfsubPluginDesc *desc;
  gpointer self;        /* the plugin's state once initialised */
  gpointer filter;      /* NfsubFilter of `filter =`, or NULL */
} NfsubPlugin;

/* Opens module NAME from the host's search path and checks its ABI. */
NfsubPlugin *nfsub_plugin_open (NfsubHost *host, const char *name,
                                GError **error);
/* Opens the modules `[nfsub] plugins` lists and initialises them, tag
 * stage first, each stage in config order. */
GPtrArray *nfsub_plugins_open_configured (NfsubHost *host, GError **error);
/* Finds the plugin that provides subcommand `command` among every module
 * in the search path.  NULL, without error, when none does. */
NfsubPlugin *nfsub_plugin_find_command (NfsubHost *host, const char *command,
                                        const NfsubCommand **out,
                                        GError **error);
/* Every module in the search path (for `nfsub plugins`). */
GPtrArray *nfsub_plugins_open_all (NfsubHost *host);
void nfsub_plugin_free (NfsubPlugin *plugin);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NfsubPlugin, nfsub_plugin_free)

G_END_DECLS

#endif
