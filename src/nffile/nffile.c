/* Native reader for nfdump 1.7 flow files (layout 2, V3 records).
 *
 * The format is in docs/nffile-format.md.  Everything on disk is in the
 * writer's byte order (always little-endian in practice) and nothing is
 * aligned, so every field is read with a fixed-size memcpy, which the
 * compiler turns into a plain load.
 *
 * Memory: one 5 MiB buffer for the stored block and one for the
 * decompressed block, whatever the file size; with read-ahead (a worker
 * thread that decompresses the next block while the caller walks one)
 * one more of each.  Every length read from the
 * file is checked before it is used, so a corrupt file ends in a GError
 * that names the file, the block and the byte offset, never in a crash or
 * a loop.
 *
 * Exporter and sampler records apply to the flow records after them, in
 * file order; an exporter redefined by an appended nfcapd run takes over
 * its sysid.  nfcapd 1.7.1 writes them before the flows that use them.
 * From 1.7.3 several compression threads may write blocks out of order;
 * a sampled flow whose Sampler record comes later then reports rate 1
 * (its counters are scaled all the same; only the reported rate is
 * missing).
 */
/* sched_getaffinity and CPU_COUNT */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bzlib.h>
#include <lz4.h>
#include <lzo/lzo1x.h>
#include <zstd.h>

#include <nfsub/nffile.h>

#include "nffile-private.h"

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "nffile.c reads little-endian files with plain loads; port the rd* helpers"
#endif

G_DEFINE_QUARK (nfsub-nffile-error-quark, nfsub_nffile_error)

#define NFFILE_MAGIC 0xA50C
#define NFFILE_MAGIC_SWAPPED 0x0CA5
#define NFFILE_HEADER_SIZE 40
#define BLOCK_HEADER_SIZE 12
/* nfdump's readers accept at most 5 MiB of payload per block. */
#define BLOCK_BUFFER_SIZE (5u * 1024u * 1024u)

enum {
  BLOCK_TYPE_V15 = 1,
  BLOCK_TYPE_V16 = 2,
  BLOCK_TYPE_STANDARD = 3,
  BLOCK_TYPE_ARRAY = 4,
};

enum {
  RECORD_EXPORTER_INFO = 7,
  RECORD_EXPORTER_STAT = 8,
  RECORD_V3 = 11,
  RECORD_SAMPLER = 15,
  RECORD_IDENT = 0x8001,
  RECORD_STAT = 0x8002,
};

enum {
  EX_GENERIC_FLOW = 1,
  EX_IPV4_FLOW = 2,
  EX_IPV6_FLOW = 3,
  EX_FLOW_MISC = 4,
  EX_CNT_FLOW = 5,
  EX_AS_ROUTING = 7,
  EX_IP_NEXT_HOP_V4 = 10,
  EX_IP_NEXT_HOP_V6 = 11,
  EX_IP_RECEIVED_V4 = 12,
  EX_IP_RECEIVED_V6 = 13,
  EX_SAMPLER_INFO = 18,
};

enum {
  SAMPLER_GENERIC = -1,
  SAMPLER_DEFAULT = -2,
  SAMPLER_OVERWRITE = -3,
};

/* What the flow records need to know about one exporter sysid, indexed by
 * sysid.  `generation` changes when an appended run redefines the sysid, so
 * the samplers of the earlier run stop applying. */
/* Layouts of V3 records kept per file (see parse_v3). */
#define N_LAYOUTS 16
#define LAYOUT_MAX_ELEMENTS 16
typedef struct RecordLayout RecordLayout;

/* Read-ahead (see readahead_take): one block walked while the next is
 * decompressed. */
#define READAHEAD_SLOTS 2
typedef struct Readahead Readahead;
static void readahead_free (NfsubNffile *f);

typedef struct {
  NfsubAddr ip;
  guint32 rate;       /* rate for flows that name no sampler; 0: none known */
  guint32 generation;
  gboolean known;
} SysidState;

struct NfsubNffile {
  NfsubFileInfo info;
  char *path;
  char *ident;

  int fd;                  /* -1 when reading from memory */
  const guint8 *mem;
  gsize mem_len;

  guint8 *stored;          /* block as stored on disk (compressed files only) */
  guint8 *payload;         /* decompressed block */
  ZSTD_DCtx *zstd;

  /* the data block being walked */
  const guint8 *block;
  gsize block_len;
  gsize rec_off;           /* offset of the next record in block */
  guint32 rec_left;        /* records not yet walked */
  guint32 cur_block;       /* index of the block being walked */
  guint64 cur_block_pos;   /* file offset of its header */
  gboolean in_block;

  guint32 next_block;      /* index of the next block to load */
  guint64 pos;             /* file offset of the next block header */
  gboolean at_end;
  GError *failure;         /* sticky: every later read repeats it */

  SysidState *sysids;
  guint n_sysids;
  GArray *exporters;       /* NfsubExporter, in file order, distinct */
  GArray *samplers;        /* NfsubSampler, in file order, distinct */
  GArray *sampler_generation; /* guint32 per sampler: sysid generation */

  RecordLayout *layouts;   /* N_LAYOUTS, indexed by record size */

  gboolean readahead;      /* load blocks in a worker thread */
  int readahead_share;     /* the caller decompresses too: -1 when it
                            * pays, 0 never, 1 whenever it can (tests) */
  gboolean started;        /* the first data block was asked for */
  Readahead *ra;           /* the worker, while it runs */
};

const char *
nfsub_compression_name (guint8 compression)
{
  switch (compression)
    {
    case NFSUB_COMPRESSION_NONE: return "none";
    case NFSUB_COMPRESSION_LZO: return "LZO";
    case NFSUB_COMPRESSION_BZ2: return "BZ2";
    case NFSUB_COMPRESSION_LZ4: return "LZ4";
    case NFSUB_COMPRESSION_ZSTD: return "ZSTD";
    default: return "unknown";
    }
}

static inline guint16
rd16 (const guint8 *p)
{
  guint16 v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline guint32
rd32 (const guint8 *p)
{
  guint32 v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline guint64
rd64 (const guint8 *p)
{
  guint64 v;
  memcpy (&v, p, sizeof v);
  return v;
}

/* nfdump stores an IPv6 address as two host-order halves, which is exactly
 * NfsubAddr's layout. */
static inline NfsubAddr
rd_addr6 (const guint8 *p)
{
  NfsubAddr a = { rd64 (p), rd64 (p + 8) };
  return a;
}

/* Reads len bytes at off.  Returns the number of bytes read (short at the
 * end of the file) or -1 with errno set. */
static gssize
source_pread (NfsubNffile *f, void *buf, gsize len, guint64 off)
{
  if (f->fd < 0)
    {
      if (off >= f->mem_len)
        return 0;
      gsize n = MIN (len, f->mem_len - off);
      memcpy (buf, f->mem + off, n);
      return (gssize) n;
    }
  gsize done = 0;
  while (done < len)
    {
      ssize_t n = pread (f->fd, (guint8 *) buf + done, len - done,
                         (off_t) (off + done));
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (n == 0)
        break;
      done += (gsize) n;
    }
  return (gssize) done;
}

/* A view of len bytes at off: straight into the caller's memory when
 * reading from memory, else read into buf. */
static const guint8 *
source_view (NfsubNffile *f, guint8 *buf, gsize len, guint64 off,
             gssize *got)
{
  if (f->fd < 0)
    {
      *got = off >= f->mem_len ? 0 : (gssize) MIN (len, f->mem_len - off);
      return f->mem + off;
    }
  *got = source_pread (f, buf, len, off);
  return buf;
}

static gboolean
fail (NfsubNffile *f, GError **error, NfsubNffileError code,
      const char *fmt, ...) G_GNUC_PRINTF (4, 5);

/* Records the first error and hands a copy to the caller. */
static gboolean
fail (NfsubNffile *f, GError **error, NfsubNffileError code,
      const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (!f->failure)
    f->failure = g_error_new (NFSUB_NFFILE_ERROR, code, "%s: %s", f->path,
                              what);
  if (error)
    *error = g_error_copy (f->failure);
  return FALSE;
}

static gboolean
block_error (NfsubNffile *f, GError **error, NfsubNffileError code,
             const char *fmt, ...) G_GNUC_PRINTF (4, 5);

/* Like fail(), but only hands the error to the caller: block loading
 * also runs in the read-ahead thread, and the walk makes the error sticky
 * when it reaches that block. */
static gboolean
block_error (NfsubNffile *f, GError **error, NfsubNffileError code,
             const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NFSUB_NFFILE_ERROR, code, "%s: %s", f->path, what);
  return FALSE;
}

static void
lzo_init_once (void)
{
  static gsize done = 0;
  if (g_once_init_enter (&done))
    {
      int rc = lzo_init ();
      g_once_init_leave (&done, rc == LZO_E_OK ? 1 : 2);
    }
}

/* Decompresses stored[0..size) into out (BLOCK_BUFFER_SIZE bytes).
 * Returns the payload length, or 0 with `why` set. */
static gsize
decompress_block (NfsubNffile *f, const guint8 *stored, guint32 size,
                  guint8 *out, ZSTD_DCtx **zstd, const char **why)
{
  switch (f->info.compression)
    {
    case NFSUB_COMPRESSION_LZO:
      {
        lzo_uint out_len = BLOCK_BUFFER_SIZE;
        int rc = lzo1x_decompress_safe (stored, size, out, &out_len,
                                        NULL);
        if (rc != LZO_E_OK)
          {
            *why = rc == LZO_E_OUTPUT_OVERRUN ? "LZO data expands past 5 MiB"
                                              : "LZO decompression failed";
            return 0;
          }
        return out_len;
      }
    case NFSUB_COMPRESSION_BZ2:
      {
        unsigned int out_len = BLOCK_BUFFER_SIZE;
        int rc = BZ2_bzBuffToBuffDecompress ((char *) out, &out_len,
                                             (char *) stored, size, 0, 0);
        if (rc != BZ_OK)
          {
            *why = rc == BZ_OUTBUFF_FULL ? "BZ2 data expands past 5 MiB"
                                         : "BZ2 decompression failed";
            return 0;
          }
        return out_len;
      }
    case NFSUB_COMPRESSION_LZ4:
      {
        int n = LZ4_decompress_safe ((const char *) stored,
                                     (char *) out, (int) size,
                                     BLOCK_BUFFER_SIZE);
        if (n <= 0)
          {
            *why = "LZ4 decompression failed";
            return 0;
          }
        return (gsize) n;
      }
    case NFSUB_COMPRESSION_ZSTD:
      {
        if (!*zstd)
          {
            *zstd = ZSTD_createDCtx ();
            if (!*zstd)
              {
                *why = "out of memory for the ZSTD context";
                return 0;
              }
            /* a block never needs more than its 5 MiB output as window */
            ZSTD_DCtx_setParameter (*zstd, ZSTD_d_windowLogMax, 23);
          }
        size_t n = ZSTD_decompressDCtx (*zstd, out,
                                        BLOCK_BUFFER_SIZE, stored, size);
        if (ZSTD_isError (n))
          {
            *why = ZSTD_getErrorName (n);
            return 0;
          }
        return n;
      }
    default:
      *why = "unknown compression";
      return 0;
    }
}

/* The two buffers a block is read with: as stored on disk (compressed
 * files read from a file) and decompressed (or as stored, for
 * uncompressed files read from a file).  NULL where not needed. */
typedef struct {
  guint8 *stored;
  guint8 *payload;
  ZSTD_DCtx **zstd;        /* made on first use */
} BlockBuffers;

/* A block on its way from the file to the walk: its header read and
 * checked, then its stored bytes read, then inflated (decompressed). */
typedef struct {
  guint64 pos;             /* file offset of its header */
  guint32 num_records;
  guint32 size;            /* bytes stored after the header */
  guint16 type;
  const guint8 *stored;    /* NULL until read */
  const guint8 *payload;   /* once inflated */
  gsize payload_len;
} Block;

/* These run in the read-ahead thread too, so they touch nothing of `f`
 * but the file and what inflating owns (the ZSTD context), and set no
 * sticky failure.  `what` names the block in errors ("data block 3",
 * "appendix block 0"). */

static gboolean
block_read_header (NfsubNffile *f, guint64 pos, const char *what, Block *b,
                   GError **error)
{
  guint8 hdr[BLOCK_HEADER_SIZE];
  gssize got = source_pread (f, hdr, sizeof hdr, pos);
  if (got < 0)
    return block_error (f, error, NFSUB_NFFILE_ERROR_IO,
                 "%s at byte %" G_GUINT64_FORMAT ": read failed: %s", what,
                 pos, g_strerror (errno));
  if (got < BLOCK_HEADER_SIZE)
    return block_error (f, error, NFSUB_NFFILE_ERROR_TRUNCATED,
                 "%s at byte %" G_GUINT64_FORMAT
                 ": file ends inside the block header (truncated file)",
                 what, pos);
  b->pos = pos;
  b->num_records = rd32 (hdr);
  b->size = rd32 (hdr + 4);
  b->type = rd16 (hdr + 8);
  b->stored = NULL;
  b->payload = NULL;
  b->payload_len = 0;
  if (b->num_records == 0 || b->size == 0 || b->size > BLOCK_BUFFER_SIZE)
    return block_error (f, error, NFSUB_NFFILE_ERROR_CORRUPT,
                 "%s at byte %" G_GUINT64_FORMAT
                 ": corrupt block header (%u records, %u bytes, type %u)",
                 what, pos, b->num_records, b->size, b->type);
  return TRUE;
}

static gboolean
block_read_stored (NfsubNffile *f, const char *what, const BlockBuffers *buf,
                   Block *b, GError **error)
{
  gssize got;
  gboolean raw = f->info.compression == NFSUB_COMPRESSION_NONE;
  const guint8 *stored = source_view (f, raw ? buf->payload : buf->stored,
                                      b->size, b->pos + BLOCK_HEADER_SIZE,
                                      &got);
  if (got < 0)
    return block_error (f, error, NFSUB_NFFILE_ERROR_IO,
                 "%s at byte %" G_GUINT64_FORMAT ": read failed: %s", what,
                 b->pos, g_strerror (errno));
  if ((guint64) got < b->size)
    return block_error (f, error, NFSUB_NFFILE_ERROR_TRUNCATED,
                 "%s at byte %" G_GUINT64_FORMAT
                 ": block of %u bytes but the file ends after %"
                 G_GSSIZE_FORMAT " (truncated file)",
                 what, b->pos, b->size, got);
  b->stored = stored;
  return TRUE;
}

static gboolean
block_inflate (NfsubNffile *f, const char *what, const BlockBuffers *buf,
               Block *b, GError **error)
{
  if (f->info.compression == NFSUB_COMPRESSION_NONE)
    {
      b->payload = b->stored;
      b->payload_len = b->size;
      return TRUE;
    }
  const char *why = NULL;
  gsize n = decompress_block (f, b->stored, b->size, buf->payload, buf->zstd,
                             &why);
  if (n == 0)
    return block_error (f, error, NFSUB_NFFILE_ERROR_CORRUPT,
                 "%s at byte %" G_GUINT64_FORMAT ": %s (%s, %u bytes stored)",
                 what, b->pos, why ? why : "empty payload",
                 nfsub_compression_name (f->info.compression), b->size);
  b->payload = buf->payload;
  b->payload_len = n;
  return TRUE;
}

/* Reads the block whose header is at `pos`, decompressed, with `buf`. */
static gboolean
read_block (NfsubNffile *f, guint64 pos, const char *what,
            const BlockBuffers *buf, Block *b, GError **error)
{
  return block_read_header (f, pos, what, b, error)
         && block_read_stored (f, what, buf, b, error)
         && block_inflate (f, what, buf, b, error);
}

static SysidState *
sysid_state (NfsubNffile *f, guint16 sysid)
{
  if (sysid >= f->n_sysids)
    {
      guint n = MAX ((guint) sysid + 1, f->n_sysids * 2);
      n = MIN (n, 65536u);
      f->sysids = g_renew (SysidState, f->sysids, n);
      memset (f->sysids + f->n_sysids, 0,
              (n - f->n_sysids) * sizeof (SysidState));
      f->n_sysids = n;
    }
  return &f->sysids[sysid];
}

static guint32
sampler_rate (const NfsubSampler *s)
{
  guint64 packet = s->packet_interval ? s->packet_interval : 1;
  guint64 rate = (packet + s->space_interval) / packet;
  return (guint32) MAX (rate, 1);
}

/* nfcapd picks the sampler for a flow that names none in this order:
 * overwrite (-s -N), one announced with ID 0, the generic one from option
 * data or the v5 header, the default (-s N).  Mirror it. */
static void
sysid_update_rate (NfsubNffile *f, guint16 sysid)
{
  SysidState *st = sysid_state (f, sysid);
  static const gint64 order[] = { SAMPLER_OVERWRITE, 0, SAMPLER_GENERIC,
                                  SAMPLER_DEFAULT };
  const NfsubSampler *best = NULL;
  guint best_rank = G_N_ELEMENTS (order) + 1;
  for (guint i = 0; i < f->samplers->len; i++)
    {
      const NfsubSampler *s = &g_array_index (f->samplers, NfsubSampler, i);
      if (s->exporter_sysid != sysid
          || g_array_index (f->sampler_generation, guint32, i)
                 != st->generation)
        continue;
      guint rank = G_N_ELEMENTS (order);
      for (guint k = 0; k < G_N_ELEMENTS (order); k++)
        if (s->id == order[k])
          rank = k;
      /* later records of the same rank replace earlier ones */
      if (rank <= best_rank)
        {
          best = s;
          best_rank = rank;
        }
    }
  st->rate = best ? sampler_rate (best) : 0;
}

static guint32
selected_sampler_rate (NfsubNffile *f, guint16 sysid, guint64 selector)
{
  SysidState *st = sysid_state (f, sysid);
  for (guint i = f->samplers->len; i-- > 0;)
    {
      const NfsubSampler *s = &g_array_index (f->samplers, NfsubSampler, i);
      if (s->exporter_sysid == sysid && s->id == (gint64) selector
          && g_array_index (f->sampler_generation, guint32, i)
                 == st->generation)
        return sampler_rate (s);
    }
  return st->rate;
}

static void
parse_exporter_info (NfsubNffile *f, const guint8 *p)
{
  NfsubExporter e = { 0 };
  e.version = rd32 (p + 4);
  guint16 family = rd16 (p + 24);
  e.sysid = rd16 (p + 26);
  e.id = rd32 (p + 28);
  if (family == 0)
    {
      /* 1.7.8: 16 network-order bytes, IPv4 already IPv4-mapped */
      e.ip.hi = GUINT64_FROM_BE (rd64 (p + 8));
      e.ip.lo = GUINT64_FROM_BE (rd64 (p + 16));
    }
  else if (family == 2) /* AF_INET */
    e.ip = nfsub_addr_from_v4 (rd32 (p + 16));
  else
    e.ip = rd_addr6 (p + 8);

  SysidState *st = sysid_state (f, e.sysid);
  if (st->known && nfsub_addr_equal (&st->ip, &e.ip))
    {
      /* nfcapd repeats each exporter at the start of a file: same run */
      for (guint i = f->exporters->len; i-- > 0;)
        {
          const NfsubExporter *o = &g_array_index (f->exporters,
                                                   NfsubExporter, i);
          if (o->sysid == e.sysid)
            {
              if (o->version == e.version && o->id == e.id)
                return;
              break;
            }
        }
    }
  /* a different exporter under a known sysid: an appended run took the
   * sysid over, so the earlier run's samplers no longer apply */
  if (st->known)
    st->generation++;
  st->known = TRUE;
  st->ip = e.ip;
  g_array_append_val (f->exporters, e);
  sysid_update_rate (f, e.sysid);
}

static void
parse_sampler (NfsubNffile *f, const guint8 *p)
{
  NfsubSampler s = { 0 };
  s.exporter_sysid = rd16 (p + 4);
  s.algorithm = rd16 (p + 6);
  s.id = (gint64) rd64 (p + 8);
  s.packet_interval = rd32 (p + 16);
  s.space_interval = rd32 (p + 20);
  guint32 gen = sysid_state (f, s.exporter_sysid)->generation;
  for (guint i = 0; i < f->samplers->len; i++)
    {
      const NfsubSampler *o = &g_array_index (f->samplers, NfsubSampler, i);
      if (o->exporter_sysid == s.exporter_sysid && o->id == s.id
          && o->algorithm == s.algorithm
          && o->packet_interval == s.packet_interval
          && o->space_interval == s.space_interval
          && g_array_index (f->sampler_generation, guint32, i) == gen)
        return;
    }
  g_array_append_val (f->samplers, s);
  g_array_append_val (f->sampler_generation, gen);
  sysid_update_rate (f, s.exporter_sysid);
}

static gboolean
bad_record (NfsubNffile *f, GError **error, gsize rec_off, const char *fmt,
            ...) G_GNUC_PRINTF (4, 5);

static gboolean
bad_record (NfsubNffile *f, GError **error, gsize rec_off, const char *fmt,
            ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  return fail (f, error, NFSUB_NFFILE_ERROR_CORRUPT,
               "data block %u at byte %" G_GUINT64_FORMAT
               ": record at payload offset %" G_GSIZE_FORMAT ": %s",
               f->cur_block, f->cur_block_pos, rec_off, what);
}

typedef enum {
  V3_FLOW,
  V3_NOT_A_FLOW, /* no EXgenericFlow: nfcapd does not count it either */
  V3_BAD,
} V3Result;

/* Minimum element lengths (header included) of the elements we read. */
static const guint8 element_min_len[] = {
  [EX_GENERIC_FLOW] = 52, [EX_IPV4_FLOW] = 12,      [EX_IPV6_FLOW] = 36,
  [EX_FLOW_MISC] = 14,    [EX_CNT_FLOW] = 28,       [EX_AS_ROUTING] = 12,
  [EX_IP_NEXT_HOP_V4] = 8, [EX_IP_NEXT_HOP_V6] = 20, [EX_IP_RECEIVED_V4] = 8,
  [EX_IP_RECEIVED_V6] = 20, [EX_SAMPLER_INFO] = 16,
};

/* Where a flow's fields sit in a V3 record with a given sequence of
 * elements.  Offsets count from the record's start and point at element
 * data; 0 means the record has no such element.  When an element kind
 * appears twice the later one wins, as a walk that fills the flow element
 * by element would have it. */
struct RecordLayout {
  guint16 size;                     /* record size; 0: slot unused */
  guint16 n_elements;
  guint16 element_off[LAYOUT_MAX_ELEMENTS];  /* element header offsets */
  guint32 element_word[LAYOUT_MAX_ELEMENTS]; /* their id | len << 16 */

  guint16 generic;                  /* 0: not a flow */
  guint16 addr4, addr6;             /* EXipv4Flow / EXipv6Flow */
  guint16 misc, flow_dir;           /* EXflowMisc; flow_dir needs len >= 15 */
  guint16 cnt, as;
  guint16 next_hop4, next_hop6;
  guint16 received4, received6;     /* exporter address */
  guint16 sampler;
  gboolean sampler_id64;            /* 1.7.2+ u64 selector, else 1.7.1 i32 */
  guint8 family;                    /* 4 also when there is no address */
  guint64 addr_mapped, next_hop_mapped, received_mapped;
};

/* Element data read for a missing element: every field it gives is 0. */
static const guint8 no_element[64] __attribute__ ((aligned (16)));

static inline const guint8 *
element_data (const guint8 *p, guint16 off)
{
  return off ? p + off : no_element;
}

/* Walks the elements of the V3 record p[0..size), checking every length,
 * and notes where each field is in `layout`.  The walk must end exactly at
 * the record's end.  A layout of more than LAYOUT_MAX_ELEMENTS elements
 * still describes the record but gets size 0, so it is never cached. */
static V3Result
layout_build (NfsubNffile *f, const guint8 *p, guint16 size, gsize rec_off,
              RecordLayout *layout, GError **error)
{
  if (G_UNLIKELY (size < 12))
    {
      bad_record (f, error, rec_off, "V3 record of %u bytes is shorter than "
                  "its 12-byte header", size);
      return V3_BAD;
    }
  guint16 n_elements = rd16 (p + 4);
  memset (layout, 0, sizeof *layout);
  const guint8 *e = p + 12;
  const guint8 *end = p + size;
  for (guint i = 0; i < n_elements; i++)
    {
      if (G_UNLIKELY (end - e < 4))
        {
          bad_record (f, error, rec_off, "element %u of %u starts past the "
                      "end of the %u-byte record", i, n_elements, size);
          return V3_BAD;
        }
      guint16 id = rd16 (e);
      guint16 len = rd16 (e + 2);
      if (G_UNLIKELY (len < 4 || len > end - e
                      || (id < G_N_ELEMENTS (element_min_len)
                          && len < element_min_len[id])))
        {
          bad_record (f, error, rec_off, "element %u (id %u) has bad length "
                      "%u (%td bytes left in the %u-byte record)", i, id, len,
                      end - e, size);
          return V3_BAD;
        }
      if (i < LAYOUT_MAX_ELEMENTS)
        {
          layout->element_off[i] = (guint16) (e - p);
          layout->element_word[i] = rd32 (e);
        }
      /* e + 4 <= end <= p + 65535, and at least 16 */
      guint16 d = (guint16) (e + 4 - p);
      switch (id)
        {
        case EX_GENERIC_FLOW: layout->generic = d; break;
        case EX_IPV4_FLOW: layout->addr4 = d; layout->addr6 = 0; break;
        case EX_IPV6_FLOW: layout->addr6 = d; layout->addr4 = 0; break;
        case EX_FLOW_MISC:
          layout->misc = d;
          if (len >= 15)
            layout->flow_dir = d + 10;
          break;
        case EX_CNT_FLOW: layout->cnt = d; break;
        case EX_AS_ROUTING: layout->as = d; break;
        case EX_IP_NEXT_HOP_V4:
          layout->next_hop4 = d; layout->next_hop6 = 0; break;
        case EX_IP_NEXT_HOP_V6:
          layout->next_hop6 = d; layout->next_hop4 = 0; break;
        case EX_IP_RECEIVED_V4:
          layout->received4 = d; layout->received6 = 0; break;
        case EX_IP_RECEIVED_V6:
          layout->received6 = d; layout->received4 = 0; break;
        case EX_SAMPLER_INFO:
          /* 1.7.2+: u64 selector ID (length 20); 1.7.1: i32 id (16) */
          layout->sampler = d;
          layout->sampler_id64 = len >= 20;
          break;
        default:
          break;
        }
      e += len;
    }
  if (G_UNLIKELY (e != end))
    {
      bad_record (f, error, rec_off, "%u elements fill %td bytes but the "
                  "record says %u", n_elements, e - p, size);
      return V3_BAD;
    }
  layout->family = layout->addr6 ? 6 : 4;
  /* a record without addresses reads as 0.0.0.0 -> 0.0.0.0 */
  layout->addr_mapped = layout->addr6 ? 0 : NFSUB_ADDR_V4_MAPPED;
  layout->next_hop_mapped = layout->next_hop4 ? NFSUB_ADDR_V4_MAPPED : 0;
  layout->received_mapped = layout->received4 ? NFSUB_ADDR_V4_MAPPED : 0;
  layout->n_elements = n_elements;
  layout->size = n_elements <= LAYOUT_MAX_ELEMENTS ? size : 0;
  return layout->generic ? V3_FLOW : V3_NOT_A_FLOW;
}

/* Does the record at p have exactly the elements `layout` was built from?
 * Then the walk layout_build would do on it takes the same steps and
 * passes the same checks, so its fields are where the layout says. */
static inline gboolean
layout_matches (const RecordLayout *layout, const guint8 *p, guint16 size)
{
  /* size first: it guarantees the 12-byte header and every element
   * header the layout names are inside the record */
  if (layout->size != size || rd16 (p + 4) != layout->n_elements)
    return FALSE;
  for (guint i = 0; i < layout->n_elements; i++)
    if (rd32 (p + layout->element_off[i]) != layout->element_word[i])
      return FALSE;
  return TRUE;
}

/* Fills every field of `fl` once from the record p laid out as `layout`
 * (a flow: layout->generic != 0).  A missing element reads as zeros, and
 * IPv4 and IPv6 addresses are both built from loads and ORs, so records
 * of mixed families take no unpredictable branch. */
static inline void
flow_fill (NfsubNffile *f, const guint8 *p, const RecordLayout *layout,
           NfsubFlow *fl)
{
  const guint8 *g = p + layout->generic;
  const guint8 *a4 = element_data (p, layout->addr4);
  const guint8 *a6 = element_data (p, layout->addr6);
  const guint8 *misc = element_data (p, layout->misc);
  const guint8 *cnt = element_data (p, layout->cnt);
  const guint8 *as = element_data (p, layout->as);
  const guint8 *h4 = element_data (p, layout->next_hop4);
  const guint8 *h6 = element_data (p, layout->next_hop6);

  fl->first_ms = rd64 (g);
  fl->last_ms = rd64 (g + 8);
  fl->received_ms = rd64 (g + 16);
  fl->in_packets = rd64 (g + 24);
  fl->in_bytes = rd64 (g + 32);
  fl->out_packets = rd64 (cnt + 8);
  fl->out_bytes = rd64 (cnt + 16);
  guint64 aggr = rd64 (cnt);
  fl->aggr_flows = aggr ? aggr : 1;

  /* IPv4: a6 reads zeros, a4 the address; IPv6 the other way round */
  fl->src.hi = rd64 (a6);
  fl->src.lo = rd64 (a6 + 8) | layout->addr_mapped | rd32 (a4);
  fl->dst.hi = rd64 (a6 + 16);
  fl->dst.lo = rd64 (a6 + 24) | layout->addr_mapped | rd32 (a4 + 4);
  fl->next_hop.hi = rd64 (h6);
  fl->next_hop.lo = rd64 (h6 + 8) | layout->next_hop_mapped | rd32 (h4);

  guint16 sysid = rd16 (p + 8);
  SysidState *st = sysid < f->n_sysids ? &f->sysids[sysid] : NULL;
  if (G_LIKELY (layout->received4 | layout->received6))
    {
      const guint8 *r4 = element_data (p, layout->received4);
      const guint8 *r6 = element_data (p, layout->received6);
      fl->exporter.hi = rd64 (r6);
      fl->exporter.lo = rd64 (r6 + 8) | layout->received_mapped | rd32 (r4);
    }
  else if (st && st->known)
    fl->exporter = st->ip;
  else
    fl->exporter = (NfsubAddr) { 0, 0 };

  fl->input_if = rd32 (misc);
  fl->output_if = rd32 (misc + 4);
  fl->src_as = rd32 (as);
  fl->dst_as = rd32 (as + 4);

  guint8 flags = p[10];
  guint32 rate = 1;
  if (G_UNLIKELY (flags & NFSUB_FLOW_SAMPLED))
    {
      guint32 r;
      if (layout->sampler)
        {
          const guint8 *s = p + layout->sampler;
          guint64 selector = layout->sampler_id64
                                 ? rd64 (s)
                                 : (guint64) (gint64) (gint32) rd32 (s);
          r = selected_sampler_rate (f, sysid, selector);
        }
      else
        r = st ? st->rate : 0;
      if (r)
        rate = r;
    }
  fl->sampling_rate = rate;

  fl->src_port = rd16 (g + 40);
  fl->dst_port = rd16 (g + 42);
  fl->exporter_sysid = sysid;
  fl->proto = g[44];
  fl->tcp_flags = g[45];
  fl->family = layout->family;
  fl->flags = flags;
  fl->src_tos = g[47];
  fl->fwd_status = g[46];
  fl->src_mask = misc[8];
  fl->dst_mask = misc[9];
  fl->flow_dir = *element_data (p, layout->flow_dir);
  fl->nfversion = p[11];

  /* the tag part is the tag stage's to fill */
  G_STATIC_ASSERT (offsetof (NfsubFlow, direction) + 36 == sizeof (NfsubFlow));
  memset (&fl->direction, 0, sizeof (NfsubFlow)
                                 - offsetof (NfsubFlow, direction));
}

/* Fills `fl` from the V3 record p[0..size).  Records usually come in a few
 * element sequences (one per template); the layout of each is kept in a
 * small table indexed by record size, and a record whose element headers
 * all match a kept layout skips the checked walk. */
static inline V3Result
parse_v3 (NfsubNffile *f, const guint8 *p, guint16 size, gsize rec_off,
          NfsubFlow *fl, GError **error)
{
  RecordLayout *layout = &f->layouts[(size >> 2) % N_LAYOUTS];
  if (G_UNLIKELY (!layout_matches (layout, p, size)))
    {
      RecordLayout fresh;
      V3Result r = layout_build (f, p, size, rec_off, &fresh, error);
      if (r == V3_BAD)
        return V3_BAD;
      if (fresh.size)
        *layout = fresh;
      else
        layout = &fresh;
      if (r == V3_NOT_A_FLOW)
        return r;
      flow_fill (f, p, layout, fl);
      return V3_FLOW;
    }
  if (G_UNLIKELY (!layout->generic))
    return V3_NOT_A_FLOW; /* no EXgenericFlow: nfcapd does not count it */
  flow_fill (f, p, layout, fl);
  return V3_FLOW;
}

/* ------------------------------------------------------------------ */
/* Loading data blocks, in two stages.
 *
 * Locating a block reads its header (and, for compressed files, its
 * stored bytes) and moves the cursor f->next_block/f->pos on, so it runs
 * in file order in the caller's thread.  Finishing it reads the stored
 * bytes of an uncompressed file, decompresses, and makes the checks that
 * follow; with read-ahead that runs in the worker thread.  Either way the
 * checks of one block come in the order of one sequential load, and the
 * walk meets the blocks' results in file order, so the first error is the
 * same error, with the same block number, whatever the mode. */

typedef struct {
  Block b;
  guint32 index;
  gboolean runs_into_appendix;
} DataBlock;

typedef enum {
  LOAD_BLOCK,   /* a block of flow records */
  LOAD_SKIP,    /* a block without flow records */
  LOAD_END,     /* no more data blocks */
  LOAD_FAILED,  /* `error` set */
} LoadResult;

static LoadResult
data_block_locate (NfsubNffile *f, const BlockBuffers *buf, DataBlock *db,
                   GError **error)
{
  if (f->next_block >= f->info.num_blocks)
    {
      if (f->info.appendix_blocks > 0 && f->pos != f->info.off_appendix)
        {
          block_error (f, error, NFSUB_NFFILE_ERROR_CORRUPT,
                       "the %u data blocks end at byte %" G_GUINT64_FORMAT
                       " but the header puts the appendix at byte %"
                       G_GUINT64_FORMAT, f->info.num_blocks, f->pos,
                       f->info.off_appendix);
          return LOAD_FAILED;
        }
      return LOAD_END;
    }
  guint32 index = f->next_block;
  guint64 pos = f->pos;
  if (f->info.appendix_blocks > 0 && pos >= f->info.off_appendix)
    {
      block_error (f, error, NFSUB_NFFILE_ERROR_CORRUPT,
                   "the header announces %u data blocks but block %u "
                   "would start at byte %" G_GUINT64_FORMAT
                   ", where the appendix is", f->info.num_blocks, index,
                   pos);
      return LOAD_FAILED;
    }
  char what[64];
  g_snprintf (what, sizeof what, "data block %u", index);
  db->index = index;
  if (!block_read_header (f, pos, what, &db->b, error))
    return LOAD_FAILED;
  /* a compressed block is read here, so the other stage only inflates;
   * an uncompressed one there, so reading it overlaps the walk */
  if (f->info.compression != NFSUB_COMPRESSION_NONE
      && !block_read_stored (f, what, buf, &db->b, error))
    return LOAD_FAILED;
  f->next_block++;
  f->pos = pos + BLOCK_HEADER_SIZE + db->b.size;
  db->runs_into_appendix = f->info.appendix_blocks > 0
                           && f->pos > f->info.off_appendix;
  return LOAD_BLOCK;
}

static LoadResult
data_block_finish (NfsubNffile *f, const BlockBuffers *buf, DataBlock *db,
                   GError **error)
{
  char what[64];
  g_snprintf (what, sizeof what, "data block %u", db->index);
  Block *b = &db->b;
  if ((!b->stored && !block_read_stored (f, what, buf, b, error))
      || !block_inflate (f, what, buf, b, error))
    return LOAD_FAILED;
  if (db->runs_into_appendix)
    {
      block_error (f, error, NFSUB_NFFILE_ERROR_CORRUPT,
                   "data block %u at byte %" G_GUINT64_FORMAT
                   " runs into the appendix at byte %" G_GUINT64_FORMAT,
                   db->index, b->pos, f->info.off_appendix);
      return LOAD_FAILED;
    }
  switch (b->type)
    {
    case BLOCK_TYPE_STANDARD:
      return LOAD_BLOCK;
    case BLOCK_TYPE_ARRAY:
      return LOAD_SKIP; /* lookup tables of nfdump's GeoDB/Tor files */
    case BLOCK_TYPE_V15:
    case BLOCK_TYPE_V16:
      block_error (f, error, NFSUB_NFFILE_ERROR_UNSUPPORTED,
                   "data block %u at byte %" G_GUINT64_FORMAT
                   " holds nfdump 1.%s records: convert with "
                   "nfdump -r old -w new", db->index, b->pos,
                   b->type == BLOCK_TYPE_V15 ? "5" : "6");
      return LOAD_FAILED;
    default:
      block_error (f, error, NFSUB_NFFILE_ERROR_CORRUPT,
                   "data block %u at byte %" G_GUINT64_FORMAT
                   ": unknown block type %u", db->index, b->pos, b->type);
      return LOAD_FAILED;
    }
}

/* Without read-ahead: both stages here, skipping blocks without flows. */
static LoadResult
load_next_block (NfsubNffile *f, DataBlock *db, GError **error)
{
  BlockBuffers buf = { f->stored, f->payload, &f->zstd };
  for (;;)
    {
      LoadResult r = data_block_locate (f, &buf, db, error);
      if (r == LOAD_BLOCK)
        r = data_block_finish (f, &buf, db, error);
      if (r != LOAD_SKIP)
        return r;
    }
}

/* ------------------------------------------------------------------ */
/* Read-ahead: the caller locates blocks into READAHEAD_SLOTS slots, the
 * worker thread finishes (decompresses) them oldest first, and the caller
 * walks them in file order.  For LZ4 that is about an even split: reading
 * the stored bytes (the kernel's copy) plus the walk against the
 * decompression.  Where decompression takes more than twice what the
 * caller does per block (LZO, BZ2; or a plugin-light caller), the caller
 * also finishes the newer slot while the worker is on the older one, so
 * both threads decompress. */

typedef enum {
  SLOT_FREE,       /* the caller locates the next block into it */
  SLOT_LOCATED,    /* to be finished, by whichever thread claims it */
  SLOT_FINISHING,  /* claimed */
  SLOT_READY,      /* a block to walk */
  SLOT_SKIP,       /* a block without flows */
  SLOT_END,        /* no more data blocks */
  SLOT_FAILED,     /* locating or finishing failed: `error` */
} SlotState;

typedef struct {
  BlockBuffers buf;        /* slot 0 has f->stored, f->payload, f->zstd */
  ZSTD_DCtx *zstd;         /* the other slots' own context */
  guint64 seq;             /* blocks located before this one */
  SlotState state;
  DataBlock block;
  GError *error;
  gint64 finish_us;        /* what finishing took */
} ReadaheadSlot;

struct Readahead {
  GThread *thread;
  GMutex lock;             /* guards slot states and seqs, the flags */
  GCond cond;              /* a slot changed state, or stop */
  gboolean stop;
  gboolean located_all;    /* locating met the end or an error */
  gboolean worker_busy;    /* the worker finishes a slot */
  ReadaheadSlot slot[READAHEAD_SLOTS];
  /* the caller's */
  guint locate;            /* the slot the next block is located into */
  guint64 n_located;
  guint take;              /* the slot walked next */
  gboolean holding;        /* the caller walks the slot before `take` */
  gint64 handed_out_us;    /* when the last block went to the caller */
  /* moving averages, in µs per block: finishing, and the caller's own
   * work (locating, walking, whatever it does between reads) */
  double finish_avg, caller_avg;
  guint n_timed;
};

/* The LOCATED slot located first; NULL if none.  Under the lock. */
static ReadaheadSlot *
oldest_located (Readahead *ra)
{
  ReadaheadSlot *best = NULL;
  for (guint i = 0; i < READAHEAD_SLOTS; i++)
    if (ra->slot[i].state == SLOT_LOCATED
        && (!best || ra->slot[i].seq < best->seq))
      best = &ra->slot[i];
  return best;
}

/* Finishes a slot this thread claimed, and says so. */
static void
slot_finish (NfsubNffile *f, Readahead *ra, ReadaheadSlot *s)
{
  GError *error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  LoadResult r = data_block_finish (f, &s->buf, &s->block, &error);
  gint64 t1 = g_get_monotonic_time ();
  g_mutex_lock (&ra->lock);
  s->finish_us = t1 - t0;
  s->error = error;
  s->state = r == LOAD_BLOCK ? SLOT_READY
             : r == LOAD_SKIP ? SLOT_SKIP : SLOT_FAILED;
  g_cond_broadcast (&ra->cond);
  g_mutex_unlock (&ra->lock);
}

static gpointer
readahead_worker (gpointer data)
{
  NfsubNffile *f = data;
  Readahead *ra = f->ra;
  g_mutex_lock (&ra->lock);
  for (;;)
    {
      /* NULL for gcc -O1, which cannot see the loop sets it before a read */
      ReadaheadSlot *s = NULL;
      while (!ra->stop && !(s = oldest_located (ra)) && !ra->located_all)
        g_cond_wait (&ra->cond, &ra->lock);
      if (ra->stop || !s)
        break; /* stopped, or nothing more will be located */
      s->state = SLOT_FINISHING;
      ra->worker_busy = TRUE;
      g_mutex_unlock (&ra->lock);
      slot_finish (f, ra, s);
      g_mutex_lock (&ra->lock);
      ra->worker_busy = FALSE;
    }
  g_mutex_unlock (&ra->lock);
  return NULL;
}

/* Starts the worker.  FALSE (and the caller reads without it) if the
 * thread cannot be made. */
static gboolean
readahead_start (NfsubNffile *f)
{
  Readahead *ra = g_new0 (Readahead, 1);
  g_mutex_init (&ra->lock);
  g_cond_init (&ra->cond);
  for (guint i = 0; i < READAHEAD_SLOTS; i++)
    {
      BlockBuffers *buf = &ra->slot[i].buf;
      if (i == 0)
        {
          *buf = (BlockBuffers) { f->stored, f->payload, &f->zstd };
          continue;
        }
      /* only the buffers reading without read-ahead needs too */
      buf->stored = f->stored ? g_malloc (BLOCK_BUFFER_SIZE) : NULL;
      buf->payload = f->payload ? g_malloc (BLOCK_BUFFER_SIZE) : NULL;
      buf->zstd = &ra->slot[i].zstd;
    }
  f->ra = ra;
  ra->thread = g_thread_try_new ("nfsub-readahead", readahead_worker, f,
                                 NULL);
  if (!ra->thread)
    {
      readahead_free (f);
      return FALSE;
    }
  return TRUE;
}

static void
moving_average (double *avg, double sample, guint n)
{
  *avg = n == 0 ? sample : 0.875 * *avg + 0.125 * sample;
}

/* Gives the slot of the block walked before back, locates blocks into the
 * free slots, and hands out the next block in file order, finishing
 * blocks itself where that is quicker than waiting. */
static LoadResult
readahead_take (NfsubNffile *f, DataBlock *db, GError **error)
{
  Readahead *ra = f->ra;
  for (;;)
    {
      if (ra->holding)
        {
          guint held = (ra->take + READAHEAD_SLOTS - 1) % READAHEAD_SLOTS;
          g_mutex_lock (&ra->lock);
          ra->slot[held].state = SLOT_FREE;
          g_mutex_unlock (&ra->lock);
          ra->holding = FALSE;
        }
      for (;;)
        {
          ReadaheadSlot *s = &ra->slot[ra->locate];
          g_mutex_lock (&ra->lock);
          gboolean free_slot = !ra->located_all && s->state == SLOT_FREE;
          g_mutex_unlock (&ra->lock);
          if (!free_slot)
            break;
          /* no other thread touches a FREE slot */
          GError *e = NULL;
          LoadResult r = data_block_locate (f, &s->buf, &s->block, &e);
          g_mutex_lock (&ra->lock);
          s->seq = ra->n_located++;
          s->error = e;
          s->state = r == LOAD_BLOCK ? SLOT_LOCATED
                     : r == LOAD_END ? SLOT_END : SLOT_FAILED;
          ra->located_all = r != LOAD_BLOCK;
          g_cond_broadcast (&ra->cond);
          g_mutex_unlock (&ra->lock);
          ra->locate = (ra->locate + 1) % READAHEAD_SLOTS;
        }
      /* the caller's work for one block: walking it (and whatever it
       * does with the flows), locating the next */
      if (ra->handed_out_us)
        {
          moving_average (&ra->caller_avg, (double) (g_get_monotonic_time ()
                                                     - ra->handed_out_us),
                          ra->n_timed);
          ra->handed_out_us = 0;
        }
      gboolean help = f->readahead_share > 0
                      || (f->readahead_share < 0 && ra->n_timed >= 2
                          && ra->finish_avg > 2.0 * ra->caller_avg);
      ReadaheadSlot *s = &ra->slot[ra->take];
      ReadaheadSlot *mine = NULL;
      g_mutex_lock (&ra->lock);
      while (s->state == SLOT_LOCATED || s->state == SLOT_FINISHING)
        {
          /* An idle worker gets the block due next (it was woken when
           * the block was located); a busy one leaves it to this thread.
           * While the worker is on the block due next, this thread
           * finishes a newer one, when decompressing is the slow part. */
          if (s->state == SLOT_LOCATED && ra->worker_busy)
            mine = s;
          else if (s->state == SLOT_FINISHING && help)
            mine = oldest_located (ra);
          if (mine)
            break;
          g_cond_wait (&ra->cond, &ra->lock);
        }
      if (mine)
        {
          mine->state = SLOT_FINISHING;
          g_mutex_unlock (&ra->lock);
          slot_finish (f, ra, mine);
          continue;
        }
      SlotState state = s->state;
      gint64 finish_us = s->finish_us;
      g_mutex_unlock (&ra->lock);
      /* READY, SKIP, END and FAILED are the last word on a slot */
      switch (state)
        {
        case SLOT_READY:
          moving_average (&ra->finish_avg, (double) finish_us, ra->n_timed);
          ra->n_timed++;
          *db = s->block;
          ra->take = (ra->take + 1) % READAHEAD_SLOTS;
          ra->holding = TRUE;
          ra->handed_out_us = g_get_monotonic_time ();
          return LOAD_BLOCK;
        case SLOT_SKIP:
          ra->take = (ra->take + 1) % READAHEAD_SLOTS;
          ra->holding = TRUE;
          continue;
        case SLOT_FAILED:
          g_propagate_error (error, g_error_copy (s->error));
          return LOAD_FAILED;
        default:
          g_assert (state == SLOT_END);
          return LOAD_END;
        }
    }
}

/* Stops and joins the worker (it finishes the block it is on) and frees
 * what read-ahead allocated. */
static void
readahead_free (NfsubNffile *f)
{
  Readahead *ra = f->ra;
  if (!ra)
    return;
  if (ra->thread)
    {
      g_mutex_lock (&ra->lock);
      ra->stop = TRUE;
      g_cond_broadcast (&ra->cond);
      g_mutex_unlock (&ra->lock);
      g_thread_join (ra->thread);
    }
  for (guint i = 0; i < READAHEAD_SLOTS; i++)
    {
      if (i > 0)
        {
          g_free (ra->slot[i].buf.stored);
          g_free (ra->slot[i].buf.payload);
          if (ra->slot[i].zstd)
            ZSTD_freeDCtx (ra->slot[i].zstd);
        }
      g_clear_error (&ra->slot[i].error);
    }
  g_mutex_clear (&ra->lock);
  g_cond_clear (&ra->cond);
  g_free (ra);
  f->ra = NULL;
}

/* CPUs this process may run on: `taskset -c 0` makes it one, though
 * g_get_num_processors() still counts the machine's. */
static guint
cpus_to_run_on (void)
{
#ifdef CPU_COUNT
  cpu_set_t set;
  if (sched_getaffinity (0, sizeof set, &set) == 0)
    return (guint) CPU_COUNT (&set);
#endif
  return g_get_num_processors ();
}

/* The default: on with more than one CPU to run on (the affinity mask
 * counts: `taskset -c 0` means one); NFSUB_READAHEAD=0 turns it off,
 * =1 on even with one CPU. */
static gboolean
readahead_default (void)
{
  const char *env = g_getenv ("NFSUB_READAHEAD");
  if (env && *env)
    {
      if (strcmp (env, "0") == 0)
        return FALSE;
      if (strcmp (env, "1") == 0)
        return TRUE;
      static gsize warned = 0;
      if (g_once_init_enter (&warned))
        {
          g_warning ("NFSUB_READAHEAD=%s: expected 0 or 1; ignored", env);
          g_once_init_leave (&warned, 1);
        }
    }
  return cpus_to_run_on () > 1;
}

void
nfsub_nffile_set_readahead (NfsubNffile *f, gboolean enabled)
{
  g_return_if_fail (f != NULL);
  if (!f->started)
    f->readahead = enabled;
}

void
nfsub_nffile_readahead_share (NfsubNffile *f, int share)
{
  f->readahead_share = share;
}

gboolean
nfsub_nffile_readahead_running (NfsubNffile *f)
{
  return f->ra != NULL;
}

/* Makes the next data block the one the walk is in.  FALSE at the end of
 * the data blocks or on an error, which becomes sticky. */
static gboolean
next_data_block (NfsubNffile *f)
{
  if (G_UNLIKELY (!f->started))
    {
      f->started = TRUE;
      /* one block leaves nothing to overlap */
      if (f->readahead && f->info.num_blocks > 1)
        readahead_start (f);
    }
  DataBlock db;
  GError *error = NULL;
  LoadResult r = f->ra ? readahead_take (f, &db, &error)
                       : load_next_block (f, &db, &error);
  if (r == LOAD_FAILED)
    {
      if (!f->failure)
        f->failure = error;
      else
        g_error_free (error);
      return FALSE;
    }
  if (r == LOAD_END)
    {
      f->at_end = TRUE;
      return FALSE;
    }
  f->block = db.b.payload;
  f->block_len = db.b.payload_len;
  f->rec_off = 0;
  f->rec_left = db.b.num_records;
  f->cur_block = db.index;
  f->cur_block_pos = db.b.pos;
  f->in_block = TRUE;
  return TRUE;
}

gssize
nfsub_nffile_read (NfsubNffile *f, NfsubFlow *flows, gsize max,
                   GError **error)
{
  gsize n = 0;
  if (f->failure)
    goto out;
  while (n < max)
    {
      if (!f->in_block)
        {
          if (f->at_end || !next_data_block (f))
            break;
        }
      /* walk the records of the block; locals keep the loop in registers */
      const guint8 *block = f->block;
      gsize len = f->block_len;
      gsize off = f->rec_off;
      guint32 left = f->rec_left;
      while (left > 0 && n < max)
        {
          if (G_UNLIKELY (len - off < 4))
            {
              bad_record (f, NULL, off, "%u records still to come but only "
                          "%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                          " payload bytes left", left, len - off, len);
              goto out;
            }
          const guint8 *p = block + off;
          guint16 type = rd16 (p);
          guint16 size = rd16 (p + 2);
          if (G_UNLIKELY (size < 4 || size > len - off))
            {
              bad_record (f, NULL, off, "type %u, bad size %u (%" G_GSIZE_FORMAT
                          " payload bytes left)", type, size, len - off);
              goto out;
            }
          if (G_LIKELY (type == RECORD_V3))
            {
              V3Result r = parse_v3 (f, p, size, off, &flows[n], NULL);
              if (G_LIKELY (r == V3_FLOW))
                n++;
              else if (r == V3_BAD)
                goto out;
            }
          else if (type == RECORD_EXPORTER_INFO)
            {
              if (size < 32)
                {
                  bad_record (f, NULL, off, "exporter record of %u bytes "
                              "(expected 32)", size);
                  goto out;
                }
              parse_exporter_info (f, p);
            }
          else if (type == RECORD_SAMPLER)
            {
              if (size < 24)
                {
                  bad_record (f, NULL, off, "sampler record of %u bytes "
                              "(expected 24)", size);
                  goto out;
                }
              parse_sampler (f, p);
            }
          /* anything else (exporter stats, name tables, legacy types) is
           * skipped by its size */
          off += size;
          left--;
        }
      f->rec_off = off;
      f->rec_left = left;
      if (left == 0)
        {
          if (G_UNLIKELY (off != len))
            {
              fail (f, NULL, NFSUB_NFFILE_ERROR_CORRUPT,
                    "data block %u at byte %" G_GUINT64_FORMAT
                    ": its records fill %" G_GSIZE_FORMAT
                    " bytes but the payload has %" G_GSIZE_FORMAT,
                    f->cur_block, f->cur_block_pos, off, len);
              goto out;
            }
          f->in_block = FALSE;
        }
    }
out:
  /* flows already filled are handed out first; the (sticky) error comes
   * with the next call */
  if (n == 0 && f->failure)
    {
      if (error)
        *error = g_error_copy (f->failure);
      return -1;
    }
  return (gssize) n;
}

/* The appendix holds the ident and the stat record.  Missing or bad
 * appendix data is an error: a file whose header promises an appendix that
 * is not there was truncated or damaged. */
static gboolean
read_appendix (NfsubNffile *f, GError **error)
{
  guint64 pos = f->info.off_appendix;
  for (guint i = 0; i < f->info.appendix_blocks; i++)
    {
      char what[64];
      g_snprintf (what, sizeof what, "appendix block %u", i);
      Block b;
      BlockBuffers buf = { f->stored, f->payload, &f->zstd };
      if (!read_block (f, pos, what, &buf, &b, error))
        return FALSE;
      guint64 block_pos = pos;
      pos += BLOCK_HEADER_SIZE + b.size;
      if (b.type != BLOCK_TYPE_STANDARD)
        continue;
      gsize off = 0;
      for (guint32 r = 0; r < b.num_records; r++)
        {
          if (b.payload_len - off < 4)
            return fail (f, error, NFSUB_NFFILE_ERROR_CORRUPT,
                         "%s at byte %" G_GUINT64_FORMAT
                         ": record %u runs past the %" G_GSIZE_FORMAT
                         "-byte payload", what, block_pos, r, b.payload_len);
          const guint8 *p = b.payload + off;
          guint16 type = rd16 (p);
          guint16 size = rd16 (p + 2);
          if (size < 4 || size > b.payload_len - off)
            return fail (f, error, NFSUB_NFFILE_ERROR_CORRUPT,
                         "%s at byte %" G_GUINT64_FORMAT
                         ": record %u has bad size %u", what, block_pos, r,
                         size);
          if (type == RECORD_IDENT && size < 128)
            {
              g_free (f->ident);
              f->ident = g_strndup ((const char *) p + 4, size - 4);
            }
          else if (type == RECORD_STAT && size == 4 + 144)
            {
              NfsubStatRecord *s = &f->info.stat;
              guint64 v[18];
              for (guint k = 0; k < 18; k++)
                v[k] = rd64 (p + 4 + 8 * k);
              s->numflows = v[0];
              s->numbytes = v[1];
              s->numpackets = v[2];
              s->numflows_tcp = v[3];
              s->numflows_udp = v[4];
              s->numflows_icmp = v[5];
              s->numflows_other = v[6];
              s->numbytes_tcp = v[7];
              s->numbytes_udp = v[8];
              s->numbytes_icmp = v[9];
              s->numbytes_other = v[10];
              s->numpackets_tcp = v[11];
              s->numpackets_udp = v[12];
              s->numpackets_icmp = v[13];
              s->numpackets_other = v[14];
              s->first_ms = v[15];
              s->last_ms = v[16];
              s->sequence_failures = v[17];
              f->info.has_stat = TRUE;
            }
          off += size;
        }
      if (off != b.payload_len)
        return fail (f, error, NFSUB_NFFILE_ERROR_CORRUPT,
                     "%s at byte %" G_GUINT64_FORMAT
                     ": its records fill %" G_GSIZE_FORMAT
                     " bytes but the payload has %" G_GSIZE_FORMAT,
                     what, block_pos, off, b.payload_len);
    }
  return TRUE;
}

static gboolean
parse_header (NfsubNffile *f, GError **error)
{
  guint8 h[NFFILE_HEADER_SIZE];
  gssize got = source_pread (f, h, sizeof h, 0);
  if (got < 0)
    return fail (f, error, NFSUB_NFFILE_ERROR_IO, "read failed: %s",
                 g_strerror (errno));
  if (got == 0)
    return fail (f, error, NFSUB_NFFILE_ERROR_NOT_NFFILE,
                 "empty file (0 bytes): not an nfdump file");
  if (got < 4)
    return fail (f, error, NFSUB_NFFILE_ERROR_NOT_NFFILE,
                 "only %" G_GSSIZE_FORMAT " bytes: not an nfdump file", got);
  guint16 magic = rd16 (h);
  guint16 version = rd16 (h + 2);
  if (magic == NFFILE_MAGIC_SWAPPED)
    return fail (f, error, NFSUB_NFFILE_ERROR_UNSUPPORTED,
                 "byte 0: magic A5 0C: written on a big-endian host, "
                 "which nfdump files do not support");
  if (magic != NFFILE_MAGIC)
    return fail (f, error, NFSUB_NFFILE_ERROR_NOT_NFFILE,
                 "byte 0: bad magic 0x%04x (an nfdump file starts with "
                 "0C A5): not an nfdump file", magic);
  if (version == 1)
    return fail (f, error, NFSUB_NFFILE_ERROR_UNSUPPORTED,
                 "nfdump 1.6 file: convert with nfdump -r old -w new "
                 "(layout version 1 is not read)");
  if (version != 2)
    return fail (f, error, NFSUB_NFFILE_ERROR_UNSUPPORTED,
                 "byte 2: unknown layout version %u (nfsub reads layout 2, "
                 "nfdump 1.7)", version);
  if (got < NFFILE_HEADER_SIZE)
    return fail (f, error, NFSUB_NFFILE_ERROR_TRUNCATED,
                 "file of %" G_GSSIZE_FORMAT " bytes ends inside the %d-byte "
                 "header (truncated file)", got, NFFILE_HEADER_SIZE);

  NfsubFileInfo *info = &f->info;
  info->layout_version = version;
  info->nfdversion = rd32 (h + 4);
  info->created = (gint64) rd64 (h + 8);
  info->compression = h[16];
  guint8 encryption = h[17];
  info->appendix_blocks = rd16 (h + 18);
  info->creator = rd32 (h + 20);
  info->off_appendix = rd64 (h + 24);
  info->num_blocks = rd32 (h + 36);

  if (encryption != 0)
    return fail (f, error, NFSUB_NFFILE_ERROR_UNSUPPORTED,
                 "byte 17: encrypted file (encryption %u), not supported",
                 encryption);
  if (info->compression > NFSUB_COMPRESSION_ZSTD)
    return fail (f, error, NFSUB_NFFILE_ERROR_UNSUPPORTED,
                 "byte 16: unknown compression %u", info->compression);
  if (info->appendix_blocks > 0)
    {
      if (info->off_appendix < NFFILE_HEADER_SIZE)
        return fail (f, error, NFSUB_NFFILE_ERROR_CORRUPT,
                     "byte 24: appendix offset %" G_GUINT64_FORMAT
                     " points into the header", info->off_appendix);
      if (info->off_appendix >= info->file_size)
        return fail (f, error, NFSUB_NFFILE_ERROR_TRUNCATED,
                     "byte 24: appendix at byte %" G_GUINT64_FORMAT
                     " but the file has only %" G_GUINT64_FORMAT
                     " bytes (truncated file)", info->off_appendix,
                     info->file_size);
      if (info->num_blocks == 0 && info->off_appendix != NFFILE_HEADER_SIZE)
        return fail (f, error, NFSUB_NFFILE_ERROR_CORRUPT,
                     "byte 24: no data blocks, yet the appendix is at byte %"
                     G_GUINT64_FORMAT, info->off_appendix);
      /* every data block takes at least a header and one byte */
      if ((info->off_appendix - NFFILE_HEADER_SIZE) / (BLOCK_HEADER_SIZE + 1)
          < info->num_blocks)
        return fail (f, error, NFSUB_NFFILE_ERROR_CORRUPT,
                     "byte 36: %u data blocks cannot fit before the appendix "
                     "at byte %" G_GUINT64_FORMAT, info->num_blocks,
                     info->off_appendix);
    }
  return TRUE;
}

static NfsubNffile *
nffile_new (const char *path)
{
  NfsubNffile *f = g_new0 (NfsubNffile, 1);
  f->fd = -1;
  f->path = g_strdup (path);
  f->info.path = f->path;
  f->info.ident = "";
  f->pos = NFFILE_HEADER_SIZE;
  f->exporters = g_array_new (FALSE, FALSE, sizeof (NfsubExporter));
  f->samplers = g_array_new (FALSE, FALSE, sizeof (NfsubSampler));
  f->sampler_generation = g_array_new (FALSE, FALSE, sizeof (guint32));
  f->layouts = g_new0 (RecordLayout, N_LAYOUTS);
  f->readahead = readahead_default ();
  f->readahead_share = -1;
  return f;
}

static NfsubNffile *
nffile_start (NfsubNffile *f, GError **error)
{
  if (!parse_header (f, error))
    goto out;
  /* uncompressed blocks in memory are walked where they are */
  if (f->fd >= 0 || f->info.compression != NFSUB_COMPRESSION_NONE)
    f->payload = g_malloc (BLOCK_BUFFER_SIZE);
  if (f->info.compression != NFSUB_COMPRESSION_NONE)
    {
      if (f->fd >= 0)
        f->stored = g_malloc (BLOCK_BUFFER_SIZE);
      if (f->info.compression == NFSUB_COMPRESSION_LZO)
        lzo_init_once ();
    }
  if (!read_appendix (f, error))
    goto out;
  if (f->ident)
    f->info.ident = f->ident;
  if (f->fd >= 0)
    posix_fadvise (f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return f;
out:
  nfsub_nffile_close (f);
  return NULL;
}

NfsubNffile *
nfsub_nffile_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  NfsubNffile *f = nffile_new (path);
  f->fd = open (path, O_RDONLY | O_CLOEXEC);
  if (f->fd < 0)
    {
      int e = errno;
      fail (f, error, NFSUB_NFFILE_ERROR_IO, "cannot open: %s",
            g_strerror (e));
      nfsub_nffile_close (f);
      return NULL;
    }
  struct stat st = { 0 };
  if (fstat (f->fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      int e = errno;
      fail (f, error, NFSUB_NFFILE_ERROR_IO, "%s",
            S_ISDIR (st.st_mode) ? "is a directory, not a file"
            : e ? g_strerror (e) : "not a regular file");
      nfsub_nffile_close (f);
      return NULL;
    }
  f->info.file_size = (guint64) st.st_size;
  return nffile_start (f, error);
}

NfsubNffile *
nfsub_nffile_open_memory (const void *data, gsize len, const char *name,
                          GError **error)
{
  NfsubNffile *f = nffile_new (name ? name : "(memory)");
  f->mem = data;
  f->mem_len = len;
  f->info.file_size = len;
  return nffile_start (f, error);
}

const NfsubFileInfo *
nfsub_nffile_info (NfsubNffile *f)
{
  return &f->info;
}

const NfsubExporter *
nfsub_nffile_exporters (NfsubNffile *f, guint *n)
{
  *n = f->exporters->len;
  return (const NfsubExporter *) f->exporters->data;
}

const NfsubSampler *
nfsub_nffile_samplers (NfsubNffile *f, guint *n)
{
  *n = f->samplers->len;
  return (const NfsubSampler *) f->samplers->data;
}

guint
nfsub_nffile_current_block (NfsubNffile *f)
{
  return f->cur_block;
}

void
nfsub_nffile_close (NfsubNffile *f)
{
  if (!f)
    return;
  readahead_free (f); /* the worker reads f->fd and f->stored */
  if (f->fd >= 0)
    close (f->fd);
  g_free (f->stored);
  g_free (f->payload);
  if (f->zstd)
    ZSTD_freeDCtx (f->zstd);
  g_free (f->sysids);
  g_array_unref (f->exporters);
  g_array_unref (f->samplers);
  g_array_unref (f->sampler_generation);
  g_free (f->layouts);
  g_clear_error (&f->failure);
  g_free (f->ident);
  g_free (f->path);
  g_free (f);
}
