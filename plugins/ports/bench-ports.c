/* bench-ports: per-flow cost of the ports and hourly plugins.
 *
 *   bench-ports [-n FLOWS] [-r RUNS] [NFCAPD_FILE]
 *
 * Builds FLOWS synthetic tagged flows in memory (an hour of a 5-minute
 * file's mix: ports, protocols, IN/OUT/unattributed), or reads the flows
 * of NFCAPD_FILE and tags them at random the same way, then times ports
 * alone, hourly alone and both together as the host runs them (batches of
 * 2048, each plugin in turn on the same buffer; process() and end_file())
 * and prints ns/flow of CPU time, the best of RUNS runs.  With a file it
 * also times the native reader on it (decompression included) and prints
 * what the two plugins add relative to reading, the figure the issue
 * bounds (<= 30%).
 * Run from the build tree: NFSUB_PLUGIN_PATH=plugins plugins/ports/bench-ports
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nfsub/nfsub.h>

#include "lib/host-private.h"
#include "rrdtest.h"

#define BATCH 2048
#define T0 G_GINT64_CONSTANT (1717372800)

static void
tag_flow (NfsubFlow *f, GRand *rng)
{
  double r = g_rand_double (rng);
  NfsubSubscriberTag *t = NULL;
  if (r < 0.35)
    {
      t = &f->src_tag;
      f->direction = NFSUB_DIR_IN;
    }
  else if (r < 0.95)
    {
      t = &f->dst_tag;
      f->direction = NFSUB_DIR_OUT;
    }
  else
    f->direction = 0;
  if (t)
    {
      double s = g_rand_double (rng);
      t->service = s < 0.8 ? NFSUB_SERVICE_BROADBAND : NFSUB_SERVICE_MOBILE;
      t->access = s < 0.45   ? NFSUB_ACCESS_PPPOE
                  : s < 0.8 ? NFSUB_ACCESS_IPOE
                            : NFSUB_ACCESS_MOBILE;
      t->user_id = 1;
    }
}

static GArray *
synthetic_flows (guint n)
{
  GArray *a = g_array_sized_new (FALSE, TRUE, sizeof (NfsubFlow), n);
  g_array_set_size (a, n);
  g_autoptr (GRand) rng = g_rand_new_with_seed (1);
  for (guint i = 0; i < n; i++)
    {
      NfsubFlow *f = &g_array_index (a, NfsubFlow, i);
      /* in export order: times advance through the hour */
      guint64 export_ms = (guint64) T0 * 1000 + (guint64) i * 3600000 / n;
      f->last_ms = export_ms;
      f->first_ms = export_ms - (guint64) g_rand_int_range (rng, 0, 60000);
      static const guint8 protos[] = { 6, 6, 6, 6, 17, 17, 17, 50, 1, 47 };
      f->proto = protos[g_rand_int_range (rng, 0, G_N_ELEMENTS (protos))];
      static const guint16 server[] = { 443, 443, 443, 80, 993, 22, 8080,
                                        4500 };
      f->src_port = (guint16) g_rand_int_range (rng, 1024, 65536);
      f->dst_port = g_rand_int_range (rng, 0, 10) == 0
                      ? (guint16) g_rand_int_range (rng, 1024, 65536)
                      : server[g_rand_int_range (rng, 0, G_N_ELEMENTS (server))];
      f->in_bytes = (guint64) g_rand_int_range (rng, 40, 1500000);
      f->in_packets = f->in_bytes / 1000 + 1;
      f->aggr_flows = 1;
      f->family = 4;
      tag_flow (f, rng);
    }
  return a;
}

/* CPU time of this thread: the machine is shared, and a process waiting
 * for a core must not count as work. */
static gint64
cpu_ns (void)
{
  struct timespec t;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t);
  return (gint64) t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The host's own per-flow pass (counters, tag reset) as the floor every
 * plugin adds to. */
static double
time_host_pass (GArray *flows)
{
  guint64 bytes = 0;
  gint64 t0 = cpu_ns ();
  for (guint i = 0; i < flows->len; i++)
    bytes += nfsub_flow_bytes (&g_array_index (flows, NfsubFlow, i));
  gint64 t1 = cpu_ns ();
  if (bytes == 42)
    printf ("#");
  return (double) (t1 - t0) / flows->len;
}

/* Runs the plugins as `nfsub process` does on one file: every batch goes
 * to each plugin in turn, in the same buffer.  Times begin_file() and
 * process() per flow; end_file() and finish() (closing bins, RRD and
 * state writes: per file and per run, not per flow) are reported apart,
 * in ms. */
static double
time_plugins (const char *const *names, GArray *flows, double *finish_ms)
{
  guint n_plugins = g_strv_length ((char **) names);
  const NfsubPluginDesc *desc[4];
  gpointer self[4];
  g_assert (n_plugins <= G_N_ELEMENTS (desc));
  g_autoptr (GError) error = NULL;
  g_autofree char *list = g_strjoinv (";", (char **) names);
  /* a fresh state each time, like the first run over a file */
  g_autoptr (RrdTestEnv) env = rrdtest_env_new (list, 300, NULL);
  g_autoptr (NfsubHost) host = nfsub_host_new (env->config_path, NULL, &error);
  g_assert_no_error (error);
  NfsubFileInfo info = { 0 };
  info.path = "bench";
  info.has_stat = TRUE;
  info.stat.numflows = flows->len;
  /* as nfcapd's stat record: the first start and the last end */
  info.stat.first_ms = G_MAXUINT64;
  for (guint i = 0; i < flows->len; i++)
    {
      const NfsubFlow *f = &g_array_index (flows, NfsubFlow, i);
      info.stat.first_ms = MIN (info.stat.first_ms, f->first_ms);
      info.stat.last_ms = MAX (info.stat.last_ms, f->last_ms);
    }
  info.file_size = flows->len;
  for (guint p = 0; p < n_plugins; p++)
    {
      desc[p] = rrdtest_plugin (names[p]);
      self[p] = desc[p]->init (host, nfsub_host_config (host), names[p],
                               &error);
      if (!self[p])
        g_error ("%s: %s", names[p], error->message);
    }
  gint64 spent = 0, t0 = cpu_ns ();
  for (guint p = 0; p < n_plugins; p++)
    g_assert_true (desc[p]->begin_file (self[p], &info, &error));
  spent += cpu_ns () - t0;
  g_autofree NfsubFlow *copy = g_new (NfsubFlow, BATCH);
  for (guint at = 0; at < flows->len; at += BATCH)
    {
      guint n = MIN (BATCH, flows->len - at);
      /* the host hands each plugin the same batch buffer */
      memcpy (copy, &g_array_index (flows, NfsubFlow, at),
              n * sizeof (NfsubFlow));
      NfsubBatch batch = { copy, n, NULL, n };
      t0 = cpu_ns ();
      for (guint p = 0; p < n_plugins; p++)
        g_assert_true (desc[p]->process (self[p], &batch, &error));
      spent += cpu_ns () - t0;
    }
  t0 = cpu_ns ();
  for (guint p = 0; p < n_plugins; p++)
    g_assert_true (desc[p]->end_file (self[p], &info, &error));
  for (guint p = 0; p < n_plugins; p++)
    if (!desc[p]->finish (self[p], &error))
      g_error ("%s finish: %s", names[p], error->message);
  *finish_ms = (double) (cpu_ns () - t0) / 1e6;
  for (guint p = 0; p < n_plugins; p++)
    desc[p]->free (self[p]);
  return (double) spent / flows->len;
}

static gint64
process_cpu_ns (void)
{
  struct timespec t;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t);
  return (gint64) t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Times the native reader alone on `path` (decompression included): the
 * best wall time and the best CPU time of the process (the reader may
 * decompress in a thread of its own), per flow, of three passes after one
 * that warms the page cache.  Then keeps the flows, tagged at random. */
static GArray *
read_file (const char *path, double *wall_ns, double *cpu_ns_per_flow)
{
  g_autoptr (GError) error = NULL;
  g_autofree NfsubFlow *buf = g_new (NfsubFlow, BATCH);
  *wall_ns = *cpu_ns_per_flow = G_MAXDOUBLE;
  for (int pass = 0; pass < 4; pass++)
    {
      gint64 w0 = g_get_monotonic_time (), c0 = process_cpu_ns ();
      g_autoptr (NfsubNffile) f = nfsub_nffile_open (path, &error);
      if (!f)
        g_error ("%s", error->message);
      gssize n;
      guint64 flows = 0, bytes = 0;
      while ((n = nfsub_nffile_read (f, buf, BATCH, &error)) > 0)
        {
          flows += (guint64) n;
          bytes += nfsub_flow_bytes (&buf[n - 1]);
        }
      if (n < 0)
        g_error ("%s", error->message);
      g_clear_pointer (&f, nfsub_nffile_close);
      double wall = (double) (g_get_monotonic_time () - w0) * 1000.0
                    / MAX (flows, 1);
      double cpu = (double) (process_cpu_ns () - c0) / MAX (flows, 1);
      if (pass > 0)
        {
          *wall_ns = MIN (*wall_ns, wall);
          *cpu_ns_per_flow = MIN (*cpu_ns_per_flow, cpu);
        }
      if (bytes == 42)
        printf ("#");
    }
  GArray *all = g_array_new (FALSE, FALSE, sizeof (NfsubFlow));
  g_autoptr (NfsubNffile) f = nfsub_nffile_open (path, &error);
  gssize n;
  while ((n = nfsub_nffile_read (f, buf, BATCH, &error)) > 0)
    g_array_append_vals (all, buf, (guint) n);
  if (n < 0)
    g_error ("%s", error->message);
  g_autoptr (GRand) rng = g_rand_new_with_seed (2);
  for (guint i = 0; i < all->len; i++)
    tag_flow (&g_array_index (all, NfsubFlow, i), rng);
  return all;
}

int
main (int argc, char **argv)
{
  gint n = 5000000, runs = 3;
  GOptionEntry entries[] = {
    { "flows", 'n', 0, G_OPTION_ARG_INT, &n, "synthetic flows", "N" },
    { "runs", 'r', 0, G_OPTION_ARG_INT, &runs, "runs of each (best counts)",
      "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("[NFCAPD_FILE]");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || n < BATCH
      || runs < 1)
    {
      g_printerr ("bench-ports: %s\n", error ? error->message : "-n too small");
      return 2;
    }
  g_log_set_handler (NULL, G_LOG_LEVEL_INFO | G_LOG_LEVEL_MESSAGE,
                     g_log_default_handler, NULL);
  double read_ns = 0, read_cpu_ns = 0;
  GArray *flows;
  const char *source;
  if (argc > 1)
    {
      flows = read_file (argv[1], &read_ns, &read_cpu_ns);
      source = argv[1];
    }
  else
    {
      flows = synthetic_flows ((guint) n);
      source = "synthetic";
    }
  /* the machine may be shared: the best of `runs` runs of each */
  static const char *const ports_only[] = { "ports", NULL };
  static const char *const hourly_only[] = { "hourly", NULL };
  static const char *const both[] = { "ports", "hourly", NULL };
  double host_ns = G_MAXDOUBLE, ports_ns = G_MAXDOUBLE;
  double hourly_ns = G_MAXDOUBLE, both_ns = G_MAXDOUBLE;
  double fin_ports = 0, fin_hourly = 0, fin_both = 0, fin;
  for (int r = 0; r < runs; r++)
    {
      host_ns = MIN (host_ns, time_host_pass (flows));
      ports_ns = MIN (ports_ns, time_plugins (ports_only, flows, &fin));
      fin_ports = MAX (fin_ports, fin);
      hourly_ns = MIN (hourly_ns, time_plugins (hourly_only, flows, &fin));
      fin_hourly = MAX (fin_hourly, fin);
      both_ns = MIN (both_ns, time_plugins (both, flows, &fin));
      fin_both = MAX (fin_both, fin);
    }
  printf ("bench-ports: %u flows (%s), batches of %d, best of %d runs, "
          "CPU time\n", flows->len, source, BATCH, runs);
  printf ("  host per-flow pass      %7.2f ns/flow\n", host_ns);
  printf ("  ports                   %7.2f ns/flow   end+finish %7.1f ms (max)\n",
          ports_ns, fin_ports);
  printf ("  hourly                  %7.2f ns/flow   end+finish %7.1f ms (max)\n",
          hourly_ns, fin_hourly);
  printf ("  ports + hourly          %7.2f ns/flow   end+finish %7.1f ms (max)\n",
          both_ns, fin_both);
  if (read_ns > 0)
    printf ("  native reader           %7.2f ns/flow wall, %.2f ns/flow CPU "
            "(all threads)\n"
            "  -> ports+hourly add %.1f%% to the reader's wall time, %.1f%% "
            "to its CPU time (target <= 30%%)\n", read_ns, read_cpu_ns,
            100.0 * both_ns / read_ns, 100.0 * both_ns / read_cpu_ns);
  else
    printf ("  (give an nfcapd file to compare with reading time; the "
            "target is <= 30%% of it)\n");
  g_array_unref (flows);
  return 0;
}
