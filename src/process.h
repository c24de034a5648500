/* `nfsub process`: read nfcapd files and run the plugins over them. */
#ifndef NFSUB_PROCESS_H
#define NFSUB_PROCESS_H

#include <nfsub/plugin.h>

#include "ledger.h"

G_BEGIN_DECLS

typedef struct {
  guint64 files;
  guint64 files_skipped;      /* already in the ledger */
  guint64 flows;
  guint64 flows_filtered_out; /* removed by [nfsub] filter */
  guint64 bytes;
  guint64 packets;
} NfsubProcessStats;

/* Expands FILE|DIR arguments: a directory stands for every finished
 * nfcapd.* file below it (nfcapd -S subdirectories included), in time
 * order; nfcapd.current.* files are skipped. */
GPtrArray *nfsub_collect_input_files (char **args, GError **error);

/* Runs every file through the plugins, then lets them save their state
 * and records the files in `ledger` (may be NULL).  Files the ledger
 * knows are skipped; with `force` they are refused instead. */
gboolean nfsub_process_files (NfsubHost *host, GPtrArray *plugins,
                              GPtrArray *files, NfsubFileLedger *ledger,
                              gboolean force, NfsubProcessStats *stats,
                              GError **error);

/* One locked, all-or-nothing run: lock the state directory, recover an
 * interrupted commit, open the configured plugins, process `files` and
 * commit the plugins' state with the ledger.  On error nothing of this
 * run is stored. */
gboolean nfsub_process_run (NfsubHost *host, GPtrArray *files, gboolean force,
                            gboolean wait_for_lock, NfsubProcessStats *stats,
                            GError **error);

G_END_DECLS

#endif
