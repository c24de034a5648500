/* bench-read: time the native reader on one nfcapd file.
 *
 * Reads FILE with nfsub_nffile_read in batches (as `nfsub process` does)
 * and sums bytes per protocol, the same work as
 * `nfdump -r FILE -q -A proto -o 'fmt:%pr %byt'`.  Prints flows, wall and
 * CPU time, flows/s and µs/flow of the best of N runs, and the
 * per-protocol sums so they can be checked against nfdump's.
 *
 * --floor instead only reads each data block with pread and decompresses
 * it with the same library call the reader makes, no record walk: what
 * one core cannot go below with these libraries and a pread per block. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <bzlib.h>
#include <lz4.h>
#include <lzo/lzo1x.h>
#include <zstd.h>

#include <nfsub/nffile.h>

static double
now_s (clockid_t clock)
{
  struct timespec ts;
  clock_gettime (clock, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

#define BLOCK_MAX (5u * 1024u * 1024u)

/* pread + decompress every data block; returns the payload bytes or -1 */
static gint64
floor_pass (const char *path, guint8 compression, guint32 num_blocks,
            guint8 *stored, guint8 *payload, ZSTD_DCtx *zstd)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  gint64 total = 0;
  off_t pos = 40;
  for (guint32 b = 0; b < num_blocks; b++)
    {
      guint8 hdr[12];
      guint32 size;
      if (pread (fd, hdr, 12, pos) != 12)
        goto bad;
      memcpy (&size, hdr + 4, 4);
      if (size == 0 || size > BLOCK_MAX
          || pread (fd, stored, size, pos + 12) != (ssize_t) size)
        goto bad;
      pos += 12 + size;
      switch (compression)
        {
        case NFSUB_COMPRESSION_NONE:
          total += size;
          break;
        case NFSUB_COMPRESSION_LZ4:
          {
            int n = LZ4_decompress_safe ((const char *) stored,
                                         (char *) payload, (int) size,
                                         BLOCK_MAX);
            if (n <= 0)
              goto bad;
            total += n;
            break;
          }
        case NFSUB_COMPRESSION_LZO:
          {
            lzo_uint n = BLOCK_MAX;
            if (lzo1x_decompress_safe (stored, size, payload, &n, NULL)
                != LZO_E_OK)
              goto bad;
            total += (gint64) n;
            break;
          }
        case NFSUB_COMPRESSION_BZ2:
          {
            unsigned int n = BLOCK_MAX;
            if (BZ2_bzBuffToBuffDecompress ((char *) payload, &n,
                                            (char *) stored, size, 0, 0)
                != BZ_OK)
              goto bad;
            total += n;
            break;
          }
        case NFSUB_COMPRESSION_ZSTD:
          {
            size_t n = ZSTD_decompressDCtx (zstd, payload, BLOCK_MAX, stored,
                                            size);
            if (ZSTD_isError (n))
              goto bad;
            total += (gint64) n;
            break;
          }
        default:
          goto bad;
        }
    }
  close (fd);
  return total;
bad:
  close (fd);
  return -1;
}

int
main (int argc, char **argv)
{
  gint runs = 3, batch = 2048;
  gboolean quiet = FALSE, floor_only = FALSE;
  GOptionEntry entries[] = {
    { "runs", 'n', 0, G_OPTION_ARG_INT, &runs, "Runs; the best counts (3)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Flows per read (2048)", "N" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Only the summary line", NULL },
    { "floor", 0, 0, G_OPTION_ARG_NONE, &floor_only,
      "Only pread and decompress the blocks (no record walk)", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("FILE");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2
      || runs < 1 || batch < 1)
    {
      g_printerr ("bench-read: %s\n", error ? error->message
                                            : "usage: bench-read [-n RUNS] FILE");
      return 2;
    }
  if (floor_only)
    {
      g_autoptr (NfsubNffile) f = nfsub_nffile_open (argv[1], &error);
      if (!f)
        {
          g_printerr ("bench-read: %s\n", error->message);
          return 1;
        }
      const NfsubFileInfo *info = nfsub_nffile_info (f);
      guint8 compression = info->compression;
      guint32 num_blocks = info->num_blocks;
      guint64 n_flows = info->has_stat ? info->stat.numflows : 0;
      if (compression == NFSUB_COMPRESSION_LZO && lzo_init () != LZO_E_OK)
        return 1;
      g_autofree guint8 *stored = g_malloc (BLOCK_MAX);
      g_autofree guint8 *payload = g_malloc (BLOCK_MAX);
      ZSTD_DCtx *zstd = ZSTD_createDCtx ();
      double best_wall = 0, best_cpu = 0;
      gint64 bytes = 0;
      for (int run = 0; run < runs; run++)
        {
          double w0 = now_s (CLOCK_MONOTONIC);
          double c0 = now_s (CLOCK_PROCESS_CPUTIME_ID);
          bytes = floor_pass (argv[1], compression, num_blocks, stored,
                              payload, zstd);
          double wall = now_s (CLOCK_MONOTONIC) - w0;
          double cpu = now_s (CLOCK_PROCESS_CPUTIME_ID) - c0;
          if (bytes < 0)
            {
              g_printerr ("bench-read: %s: cannot read or decompress a "
                          "block\n", argv[1]);
              return 1;
            }
          if (run == 0 || wall < best_wall)
            best_wall = wall;
          if (run == 0 || cpu < best_cpu)
            best_cpu = cpu;
        }
      ZSTD_freeDCtx (zstd);
      printf ("nfsub-floor blocks %u payload %" G_GINT64_FORMAT " bytes flows %"
              G_GUINT64_FORMAT " wall %.3f s cpu %.3f s %.3f us/flow\n",
              num_blocks, bytes, n_flows, best_wall, best_cpu,
              best_wall * 1e6 / (double) MAX (n_flows, 1));
      return 0;
    }

  g_autofree NfsubFlow *flows = g_new (NfsubFlow, batch);
  double best_wall = 0, best_cpu = 0;
  guint64 n_flows = 0;
  guint64 bytes[256] = { 0 };
  for (int run = 0; run < runs; run++)
    {
      memset (bytes, 0, sizeof bytes);
      n_flows = 0;
      double w0 = now_s (CLOCK_MONOTONIC);
      double c0 = now_s (CLOCK_PROCESS_CPUTIME_ID);
      g_autoptr (NfsubNffile) f = nfsub_nffile_open (argv[1], &error);
      if (!f)
        {
          g_printerr ("bench-read: %s\n", error->message);
          return 1;
        }
      gssize n;
      while ((n = nfsub_nffile_read (f, flows, (gsize) batch, &error)) > 0)
        {
          for (gssize i = 0; i < n; i++)
            bytes[flows[i].proto] += flows[i].in_bytes;
          n_flows += (guint64) n;
        }
      if (n < 0)
        {
          g_printerr ("bench-read: %s\n", error->message);
          return 1;
        }
      double wall = now_s (CLOCK_MONOTONIC) - w0;
      double cpu = now_s (CLOCK_PROCESS_CPUTIME_ID) - c0;
      if (run == 0 || wall < best_wall)
        best_wall = wall;
      if (run == 0 || cpu < best_cpu)
        best_cpu = cpu;
    }
  if (!quiet)
    for (int p = 0; p < 256; p++)
      if (bytes[p])
        printf ("%d %" G_GUINT64_FORMAT "\n", p, bytes[p]);
  printf ("nfsub-reader flows %" G_GUINT64_FORMAT " wall %.3f s cpu %.3f s "
          "%.0f flows/s %.3f us/flow\n",
          n_flows, best_wall, best_cpu, n_flows / best_wall,
          best_wall * 1e6 / (double) MAX (n_flows, 1));
  return 0;
}
