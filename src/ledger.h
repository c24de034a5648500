/* The ledger of processed files, so that nfcapd retries and operator
 * backfills never count a file twice. */
#ifndef NFSUB_FILE_LEDGER_H
#define NFSUB_FILE_LEDGER_H

#include <nfsub/nffile.h>

G_BEGIN_DECLS

typedef struct NfsubFileLedger NfsubFileLedger;

typedef enum {
  NFSUB_FILE_LEDGER_NEW,       /* never processed */
  NFSUB_FILE_LEDGER_DONE,      /* the same content was processed (maybe at another path) */
  NFSUB_FILE_LEDGER_CHANGED,   /* this path was processed with other content */
} NfsubFileLedgerVerdict;

NfsubFileLedger *nfsub_file_ledger_load (const char *state_dir, GError **error);
/* `previous` (may be NULL) receives the path recorded for a DONE or
 * CHANGED verdict, owned by the ledger. */
NfsubFileLedgerVerdict nfsub_file_ledger_check (NfsubFileLedger *ledger, const char *path,
                                       const NfsubFileInfo *info,
                                       const char **previous);
void nfsub_file_ledger_add (NfsubFileLedger *ledger, const char *path,
                       const NfsubFileInfo *info);
/* Writes through nfsub_write_file_atomic, i.e. inside the open state
 * transaction, together with the plugins' state. */
gboolean nfsub_file_ledger_save (NfsubFileLedger *ledger, GError **error);
/* The canonical paths recorded, for a quick "seen it" check. */
GPtrArray *nfsub_file_ledger_paths (NfsubFileLedger *ledger);
guint nfsub_file_ledger_size (NfsubFileLedger *ledger);
void nfsub_file_ledger_free (NfsubFileLedger *ledger);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NfsubFileLedger, nfsub_file_ledger_free)

G_END_DECLS

#endif
