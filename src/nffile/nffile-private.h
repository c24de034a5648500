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

/* Whether the caller's thread decompresses blocks too while the worker is
 * on the one due next: -1 when that pays (the default), 0 never, 1
 * whenever it can (so tests take that path on small files). */
void nfsub_nffile_readahead_share (NfsubNffile *file, int share);

G_END_DECLS

#endif
