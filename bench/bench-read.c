/* bench-read: time the native reader on one nfcapd file.
 *
 * Reads FILE with nfsub_nffile_read in batches (as `nfsub process` does)
 * and sums bytes per protocol, the same work as
 * `nfdump -r FILE -q -A proto -o 'fmt:%pr %byt'`.  Prints flows, wall and
 * CPU time, flows/s and µs/flow of the best of N runs, and the
 * per-protocol sums so they can be checked against nfdump's. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include <nfsub/nffile.h>

static double
now_s (clockid_t clock)
{
  struct timespec ts;
  clock_gettime (clock, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
main (int argc, char **argv)
{
  gint runs = 3, batch = 2048;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "runs", 'n', 0, G_OPTION_ARG_INT, &runs, "Runs; the best counts (3)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Flows per read (2048)", "N" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Only the summary line", NULL },
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
