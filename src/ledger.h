/* The ledger of processed files, so that nfcapd retries and operator
 * backfills never count a file twice. */
#ifndef NFSUB_LEDGER_H
#define NFSUB_LEDGER_H

#include <nfsub/nffile.h>

G_BEGIN_DECLS

typedef struct NfsubLedger NfsubLedger;

typedef enum {
  NFSUB_LEDGER_NEW,       /* never processed */
  NFSUB_LEDGER_DONE,      /* the same content was processed (maybe at another path) */
  NFSUB_LEDGER_CHANGED,   /* this path was processed with other content */
} NfsubLedgerVerdict;

NfsubLedger *nfsub_ledger_load (const char *state_dir, GError **error);
/* `previous` (may be NULL) receives the path recorded for a DONE or
 * CHANGED verdict, owned by the ledger. */
NfsubLedgerVerdict nfsub_ledger_check (NfsubLedger *ledger, const char *path,
                                       const NfsubFileInfo *info,
                                       const char **previous);
void nfsub_ledger_add (NfsubLedger *ledger, const char *path,
                       const NfsubFileInfo *info);
/* Writes through nfsub_write_file_atomic, i.e. inside the open state
 * transaction, together with the plugins' state. */
gboolean nfsub_ledger_save (NfsubLedger *ledger, GError **error);
/* The canonical paths recorded, for a quick "seen it" check. */
GPtrArray *nfsub_ledger_paths (NfsubLedger *ledger);
guint nfsub_ledger_size (NfsubLedger *ledger);
void nfsub_ledger_free (NfsubLedger *ledger);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NfsubLedger, nfsub_ledger_free)

G_END_DECLS

#endif
