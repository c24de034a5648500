/* bench-ports: per-flow cost of the ports and hourly plugins.
 *
 *   bench-ports [-n FLOWS] [NFCAPD_FILE]
 *
 * Builds FLOWS synthetic tagged flows in memory (an hour of a 5-minute
 * file's mix: ports, protocols, IN/OUT/both/unattributed), then times each
 * plugin's process() over them in batches of 2048 (as the host calls it)
 * and prints ns/flow.  With an nfcapd file it also times the native reader
 * on that file (decompression included) and prints what the two plugins
 * add relative to reading, the figure the issue bounds (<= 30%).
 * Run from the build tree: NFSUB_PLUGIN_PATH=plugins plugins/ports/bench-ports
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The host's own per-flow pass (counters, tag reset) as the floor every
 * plugin adds to. */
static double
time_host_pass (GArray *flows)
{
  guint64 bytes = 0;
  gint64 t0 = g_get_monotonic_time ();
  for (guint i = 0; i < flows->len; i++)
    bytes += nfsub_flow_bytes (&g_array_index (flows, NfsubFlow, i));
  gint64 t1 = g_get_monotonic_time ();
  if (bytes == 42)
    printf ("#");
  return (double) (t1 - t0) * 1000.0 / flows->len;
}

static double
time_plugin (const char *name, GArray *flows, double *finish_ms)
{
  const NfsubPluginDesc *desc = rrdtest_plugin (name);
  g_autoptr (GError) error = NULL;
  /* a fresh state each time, like the first run over a file */
  g_autoptr (RrdTestEnv) env = rrdtest_env_new (name, 300, NULL);
  g_autoptr (NfsubHost) host = nfsub_host_new (env->config_path, NULL, &error);
  g_assert_no_error (error);
  gpointer self = desc->init (host, nfsub_host_config (host), name, &error);
  if (!self)
    g_error ("%s: %s", name, error->message);
  NfsubFileInfo info = { 0 };
  info.path = "bench";
  info.has_stat = TRUE;
  info.stat.numflows = flows->len;
  info.stat.first_ms = g_array_index (flows, NfsubFlow, 0).first_ms;
  info.stat.last_ms = g_array_index (flows, NfsubFlow, flows->len - 1).last_ms;
  info.file_size = flows->len;
  g_assert_true (desc->begin_file (self, &info, &error));
  g_autofree NfsubFlow *copy = g_new (NfsubFlow, BATCH);
  double spent = 0;
  for (guint at = 0; at < flows->len; at += BATCH)
    {
      guint n = MIN (BATCH, flows->len - at);
      /* the host hands each plugin the same batch buffer */
      memcpy (copy, &g_array_index (flows, NfsubFlow, at),
              n * sizeof (NfsubFlow));
      NfsubBatch batch = { copy, n, NULL, n };
      gint64 t0 = g_get_monotonic_time ();
      g_assert_true (desc->process (self, &batch, &error));
      spent += (double) (g_get_monotonic_time () - t0);
    }
  gint64 t0 = g_get_monotonic_time ();
  g_assert_true (desc->end_file (self, &info, &error));
  if (!desc->finish (self, &error))
    g_error ("%s finish: %s", name, error->message);
  *finish_ms = (double) (g_get_monotonic_time () - t0) / 1000.0;
  desc->free (self);
  return spent * 1000.0 / flows->len;
}

static GArray *
read_file (const char *path, double *ns_per_flow)
{
  GArray *all = g_array_new (FALSE, FALSE, sizeof (NfsubFlow));
  g_autoptr (GError) error = NULL;
  g_autofree NfsubFlow *buf = g_new (NfsubFlow, BATCH);
  /* the first pass warms the page cache; then the best of three */
  *ns_per_flow = G_MAXDOUBLE;
  for (int pass = 0; pass < 4; pass++)
    {
      g_array_set_size (all, 0);
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr (NfsubNffile) f = nfsub_nffile_open (path, &error);
      if (!f)
        g_error ("%s", error->message);
      gssize n;
      double copy_us = 0;
      while ((n = nfsub_nffile_read (f, buf, BATCH, &error)) > 0)
        {
          gint64 c0 = g_get_monotonic_time ();
          g_array_append_vals (all, buf, (guint) n);
          copy_us += (double) (g_get_monotonic_time () - c0);
        }
      if (n < 0)
        g_error ("%s", error->message);
      double ns = ((double) (g_get_monotonic_time () - t0) - copy_us)
                  * 1000.0 / MAX (all->len, 1);
      if (pass > 0)
        *ns_per_flow = MIN (*ns_per_flow, ns);
    }
  g_autoptr (GRand) rng = g_rand_new_with_seed (2);
  for (guint i = 0; i < all->len; i++)
    tag_flow (&g_array_index (all, NfsubFlow, i), rng);
  return all;
}

int
main (int argc, char **argv)
{
  gint n = 5000000;
  GOptionEntry entries[] = {
    { "flows", 'n', 0, G_OPTION_ARG_INT, &n, "synthetic flows", "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("[NFCAPD_FILE]");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || n < BATCH)
    {
      g_printerr ("bench-ports: %s\n", error ? error->message : "-n too small");
      return 2;
    }
  g_log_set_handler (NULL, G_LOG_LEVEL_INFO | G_LOG_LEVEL_MESSAGE,
                     g_log_default_handler, NULL);
  double read_ns = 0;
  GArray *flows;
  const char *source;
  if (argc > 1)
    {
      flows = read_file (argv[1], &read_ns);
      source = argv[1];
    }
  else
    {
      flows = synthetic_flows ((guint) n);
      source = "synthetic";
    }
  /* the machine may be shared: the best of three runs of each */
  double host_ns = G_MAXDOUBLE, ports_ns = G_MAXDOUBLE, hourly_ns = G_MAXDOUBLE;
  double fin_ports = 0, fin_hourly = 0, fin;
  for (int r = 0; r < 3; r++)
    {
      host_ns = MIN (host_ns, time_host_pass (flows));
      ports_ns = MIN (ports_ns, time_plugin ("ports", flows, &fin));
      fin_ports = MAX (fin_ports, fin);
      hourly_ns = MIN (hourly_ns, time_plugin ("hourly", flows, &fin));
      fin_hourly = MAX (fin_hourly, fin);
    }
  printf ("bench-ports: %u flows (%s), batches of %d\n", flows->len, source,
          BATCH);
  printf ("  host per-flow pass      %7.2f ns/flow\n", host_ns);
  printf ("  ports   process()       %7.2f ns/flow   finish %7.1f ms (max)\n",
          ports_ns, fin_ports);
  printf ("  hourly  process()       %7.2f ns/flow   finish %7.1f ms (max)\n",
          hourly_ns, fin_hourly);
  printf ("  ports + hourly          %7.2f ns/flow\n", ports_ns + hourly_ns);
  if (read_ns > 0)
    printf ("  native reader           %7.2f ns/flow -> ports+hourly add "
            "%.1f%% to reading (target <= 30%%)\n", read_ns,
            100.0 * (ports_ns + hourly_ns) / read_ns);
  else
    printf ("  (give an nfcapd file to compare with reading time; the "
            "target is <= 30%% of it)\n");
  g_array_unref (flows);
  return 0;
}
