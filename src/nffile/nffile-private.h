/* nfsub: reader entry points for tests and fuzzing, not part of the ABI. */
#ifndef NFSUB_NFFILE_PRIVATE_H
#define NFSUB_NFFILE_PRIVATE_H

#include <nfsub/nffile.h>

G_BEGIN_DECLS

/* Like nfsub_nffile_open, but reads the file from data[0..len), which must
 * stay valid until close.  `name` stands for the path in errors. */
NfsubNffile *nfsub_nffile_open_memory (const void *data, gsize len,
                                       const char *name, GError **error);

/* Whether the read-ahead thread runs (from the first read on). */
gboolean nfsub_nffile_readahead_running (NfsubNffile *file);

G_END_DECLS

#endif
