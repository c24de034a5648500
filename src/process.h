/* `nfsub process`: read nfcapd files and run the plugins over them. */
#ifndef NFSUB_PROCESS_H
#define NFSUB_PROCESS_H

#include <nfsub/plugin.h>

G_BEGIN_DECLS

typedef struct {
  guint64 files;
  guint64 flows;
  guint64 flows_filtered_out; /* removed by [nfsub] filter */
  guint64 bytes;
  guint64 packets;
} NfsubProcessStats;

/* Expands FILE|DIR arguments: a directory stands for every finished
 * nfcapd.* file below it (nfcapd -S subdirectories included), in time
 * order; nfcapd.current.* files are skipped. */
GPtrArray *nfsub_collect_input_files (char **args, GError **error);

gboolean nfsub_process_files (NfsubHost *host, GPtrArray *plugins,
                              GPtrArray *files, NfsubProcessStats *stats,
                              GError **error);

G_END_DECLS

#endif
