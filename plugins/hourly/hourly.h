/* hourly plugin: internals shared by its sources (not installed). */
#ifndef NFSUB_PLUGIN_HOURLY_H
#define NFSUB_PLUGIN_HOURLY_H

#include <nfsub/nfsub.h>

G_BEGIN_DECLS

typedef struct HourlyPlugin HourlyPlugin;
void hourly_plugin_free (gpointer self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HourlyPlugin, hourly_plugin_free)

/* connect: open the rrdcached connection (not needed to read state). */
HourlyPlugin *hourly_plugin_new (NfsubHost *host, GKeyFile *config,
                                 const char *group, gboolean connect,
                                 GError **error);
gboolean hourly_save_state (HourlyPlugin *self, GError **error);

/* `nfsub graph` (graph.c) */
int hourly_graph_command (NfsubHost *host, int argc, char **argv);

G_END_DECLS

#endif
