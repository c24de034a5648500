/* nfsub: native reader for nfdump 1.7 flow files (layout 2, V3 records).
 *
 * Streams: memory use is fixed whatever the file size: two 5 MiB block
 * buffers (stored and decompressed; one for uncompressed files), or with
 * read-ahead four (two of each; two for uncompressed files) and one thread.
 * The format is described in docs/nffile-format.md; the real nfdump binary
 * is the oracle the tests compare against.
 */
#ifndef NFSUB_NFFILE_H
#define NFSUB_NFFILE_H

#include <glib.h>
#include <nfsub/flow.h>

G_BEGIN_DECLS

#define NFSUB_NFFILE_ERROR (nfsub_nffile_error_quark ())
GQuark nfsub_nffile_error_quark (void);

typedef enum {
  NFSUB_NFFILE_ERROR_IO,          /* open/read failed */
  NFSUB_NFFILE_ERROR_NOT_NFFILE,  /* wrong magic, too short */
  NFSUB_NFFILE_ERROR_UNSUPPORTED, /* 1.6 layout, big-endian, encrypted, unknown compression */
  NFSUB_NFFILE_ERROR_TRUNCATED,   /* a block runs past the end of the file */
  NFSUB_NFFILE_ERROR_CORRUPT,     /* bad block header, decompression failure, bad record */
} NfsubNffileError;

typedef enum {
  NFSUB_COMPRESSION_NONE = 0,
  NFSUB_COMPRESSION_LZO = 1,
  NFSUB_COMPRESSION_BZ2 = 2,
  NFSUB_COMPRESSION_LZ4 = 3,
  NFSUB_COMPRESSION_ZSTD = 4,
} NfsubCompression;

/* The appendix stat record, as nfcapd wrote it (nfdump -I prints it). */
typedef struct {
  guint64 numflows;
  guint64 numbytes;
  guint64 numpackets;
  guint64 numflows_tcp, numflows_udp, numflows_icmp, numflows_other;
  guint64 numbytes_tcp, numbytes_udp, numbytes_icmp, numbytes_other;
  guint64 numpackets_tcp, numpackets_udp, numpackets_icmp, numpackets_other;
  guint64 first_ms;
  guint64 last_ms;
  guint64 sequence_failures;
} NfsubStatRecord;

typedef struct {
  guint16 sysid;
  guint32 version;  /* export protocol: 5, 9, 10 ... */
  guint32 id;       /* v9 source id / IPFIX observation domain */
  NfsubAddr ip;
} NfsubExporter;

typedef struct {
  guint16 exporter_sysid;
  guint16 algorithm;
  gint64 id;        /* -1 generic, -2 default (-s N), -3 overwrite (-s -N) */
  guint32 packet_interval;
  guint32 space_interval;
} NfsubSampler;

typedef struct {
  const char *path;
  guint64 file_size;
  guint16 layout_version;
  guint32 nfdversion;
  gint64 created;          /* seconds */
  guint8 compression;      /* NfsubCompression */
  guint16 appendix_blocks;
  guint64 off_appendix;
  guint32 num_blocks;
  guint32 creator;
  const char *ident;       /* "" when absent */
  gboolean has_stat;
  NfsubStatRecord stat;
} NfsubFileInfo;

typedef struct NfsubNffile NfsubNffile;

/* Opens FILE, validates the header and reads the appendix (ident, stat). */
NfsubNffile *nfsub_nffile_open (const char *path, GError **error);

const NfsubFileInfo *nfsub_nffile_info (NfsubNffile *file);

/* Fills up to `max` flows.  Returns the number filled, 0 at the end of the
 * file, -1 with `error` set on a bad block (the error names the file and
 * the block number). */
gssize nfsub_nffile_read (NfsubNffile *file, NfsubFlow *flows, gsize max,
                          GError **error);

/* Exporters and samplers seen so far (complete once read() returned 0). */
const NfsubExporter *nfsub_nffile_exporters (NfsubNffile *file, guint *n);
const NfsubSampler *nfsub_nffile_samplers (NfsubNffile *file, guint *n);

/* Read-ahead: a worker thread decompresses the next block (for
 * uncompressed files: reads it) while the caller walks the current one,
 * so decompression and the walk run on two cores.  Flows, errors and their order are exactly those
 * without it.  The default is on when the process may run on more than
 * one CPU (sched affinity counts) and the file has more than one data
 * block; the environment variable NFSUB_READAHEAD=0 turns the default
 * off, NFSUB_READAHEAD=1 on even with one CPU.  This function overrides
 * the default; call it before the first nfsub_nffile_read (later calls do
 * nothing).  The thread starts at the first read and ends at close. */
void nfsub_nffile_set_readahead (NfsubNffile *file, gboolean enabled);

/* Index of the data block the last flow returned came from. */
guint nfsub_nffile_current_block (NfsubNffile *file);

void nfsub_nffile_close (NfsubNffile *file);

const char *nfsub_compression_name (guint8 compression);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NfsubNffile, nfsub_nffile_close)

G_END_DECLS

#endif /* NFSUB_NFFILE_H */
