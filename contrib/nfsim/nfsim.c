/* nfsim: synthetic ISP flow exporter (NetFlow v9 / IPFIX) for nfsub's
 * tests, benchmarks and demo.  See contrib/nfsim/README.md. */
#include "config.h"

#include "nfsim.h"
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gboolean
nfsim_parse_time (const char *text, guint64 *out_ms)
{
  char *end;
  guint64 v = g_ascii_strtoull (text, &end, 10);
  if (*text && *end == 0)
    {
      *out_ms = v * 1000;
      return TRUE;
    }
  g_autofree char *iso = NULL;
  if (strlen (text) == 10)
    iso = g_strconcat (text, "T00:00:00Z", NULL);
  else
    {
      iso = g_strdup (text);
      if (iso[10] == ' ')
        iso[10] = 'T';
    }
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (iso, utc);
  if (!dt)
    return FALSE;
  *out_ms = (guint64) g_date_time_to_unix (dt) * 1000;
  return TRUE;
}

int
main (int argc, char **argv)
{
  NfsimOptions opt = { 0 };
  g_autofree char *format = NULL, *start = NULL, *tmpl = NULL;
  gint64 seed = 1, flows = 0, sampling = 1, source_id = 1, duration = 3600;
  double rate = 0;
  gboolean print_config = FALSE;
  GOptionEntry entries[] = {
    { "print-config", 0, 0, G_OPTION_ARG_NONE, &print_config,
      "Print the default population config and exit", NULL },
    { "target", 't', 0, G_OPTION_ARG_STRING, &opt.target,
      "Collector to export to (e.g. 127.0.0.1:9995)", "HOST:PORT" },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
      "Export format: v9 (default) or ipfix", "FMT" },
    { "template", 0, 0, G_OPTION_ARG_STRING, &tmpl,
      "Random mode: data templates, lean (default) or router (a PE/BNG "
      "router's fields: next hops, VLANs, MACs, MPLS, VRFs, ...)", "NAME" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Random seed (default 1)", "N" },
    { "sampling", 'S', 0, G_OPTION_ARG_INT64, &sampling,
      "Random mode: 1-in-N packet sampling, announced to the collector "
      "(population mode: from the config)", "N" },
    { "rate", 'r', 0, G_OPTION_ARG_DOUBLE, &rate,
      "Flow records per second on the wire (0: unpaced)", "FPS" },
    { "source-id", 0, 0, G_OPTION_ARG_INT64, &source_id,
      "Random mode: v9 source id / IPFIX observation domain (default 1)", "ID" },
    { "truth", 'T', 0, G_OPTION_ARG_FILENAME, &opt.truth_path,
      "Random mode: write the ground truth JSON here", "FILE" },
    { "flows", 'n', 0, G_OPTION_ARG_INT64, &flows,
      "Random mode: number of flows to generate", "N" },
    { "start", 0, 0, G_OPTION_ARG_STRING, &start,
      "Random mode: first flow time, UTC (default 2024-06-03 00:00:00)", "TIME" },
    { "duration", 0, 0, G_OPTION_ARG_INT64, &duration,
      "Random mode: flow start times spread over this many seconds (default 3600)", "S" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt.config_path,
      "Population mode: model config (GKeyFile; see README)", "FILE" },
    { "out-dir", 'o', 0, G_OPTION_ARG_FILENAME, &opt.out_dir,
      "Population mode: directory for RADIUS/Kea/static files and ground truth", "DIR" },
    { "users", 'u', 0, G_OPTION_ARG_INT64, &opt.users,
      "Population mode: number of users (overrides the config)", "N" },
    { "days", 'd', 0, G_OPTION_ARG_INT, &opt.days,
      "Population mode: number of days (overrides the config)", "N" },
    { "week", 'w', 0, G_OPTION_ARG_STRING, &opt.week,
      "Population mode: first day, UTC (overrides the config)", "YYYY-MM-DD" },
    { "no-files", 0, 0, G_OPTION_ARG_NONE, &opt.no_files,
      "Population mode: export only, write no files (a run with the same "
      "config, seed and options wrote them before)", NULL },
    { "progress", 'p', 0, G_OPTION_ARG_NONE, &opt.progress,
      "Print progress to stderr", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt.verbose, "Print a summary", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- synthetic ISP NetFlow exporter");
  g_option_context_set_summary (
    ctx, "Random mode (--flows N): a plain mix of flows for reader tests.\n"
         "Population mode (--config FILE or --out-dir DIR): a week of an ISP's "
         "broadband and mobile users, with RADIUS, Kea and static assignment "
         "files and ground truth.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("nfsim: %s\n", error->message);
      return 2;
    }
  if (argc > 1)
    {
      g_printerr ("nfsim: unexpected argument '%s'\n", argv[1]);
      return 2;
    }
  if (print_config)
    {
      fputs (nfsim_default_config (), stdout);
      return 0;
    }
  opt.format = NFSIM_FORMAT_V9;
  if (format && g_strcmp0 (format, "v9") != 0)
    {
      if (g_strcmp0 (format, "ipfix") == 0 || g_strcmp0 (format, "10") == 0)
        opt.format = NFSIM_FORMAT_IPFIX;
      else
        {
          g_printerr ("nfsim: --format: '%s' is neither v9 nor ipfix\n", format);
          return 2;
        }
    }
  opt.tmpl = NFSIM_TEMPLATE_LEAN;
  if (tmpl && g_strcmp0 (tmpl, "lean") != 0)
    {
      if (g_strcmp0 (tmpl, "router") == 0)
        opt.tmpl = NFSIM_TEMPLATE_ROUTER;
      else
        {
          g_printerr ("nfsim: --template: '%s' is neither lean nor router\n", tmpl);
          return 2;
        }
      if (flows <= 0)
        {
          g_printerr ("nfsim: --template router: random mode only (give --flows N)\n");
          return 2;
        }
    }
  if (sampling < 1 || sampling > G_MAXUINT32)
    {
      g_printerr ("nfsim: --sampling: %" G_GINT64_FORMAT " out of range\n", sampling);
      return 2;
    }
  if (source_id < 0 || source_id > G_MAXUINT32 || flows < 0 || duration < 1
      || duration > G_MAXUINT32 || rate < 0)
    {
      g_printerr ("nfsim: a numeric option is out of range\n");
      return 2;
    }
  opt.seed = (guint64) seed;
  opt.sampling = sampling;
  opt.rate = rate;
  opt.source_id = source_id;
  opt.flows = flows;
  opt.duration_s = duration;
  if (!nfsim_parse_time (start ? start : "2024-06-03", &opt.start_ms))
    {
      g_printerr ("nfsim: --start: cannot parse '%s'\n", start);
      return 2;
    }

  if (opt.out_dir && g_mkdir_with_parents (opt.out_dir, 0755) != 0)
    {
      g_printerr ("nfsim: --out-dir %s: %s\n", opt.out_dir, g_strerror (errno));
      return 1;
    }
  int rc;
  if (flows > 0)
    {
      if (!opt.target)
        {
          g_printerr ("nfsim: random mode needs --target HOST:PORT\n");
          return 2;
        }
      if (!opt.truth_path && opt.out_dir)
        opt.truth_path = g_build_filename (opt.out_dir, "truth.json", NULL);
      rc = nfsim_run_random (&opt, &error);
    }
  else if (opt.config_path || opt.out_dir)
    rc = nfsim_run_population (&opt, &error);
  else
    {
      g_printerr ("nfsim: give --flows N (random mode) or --out-dir DIR "
                  "[--config FILE] (population mode); see --help\n");
      return 2;
    }
  if (rc != 0 && error)
    g_printerr ("%s\n", error->message);
  g_free (opt.target);
  g_free (opt.truth_path);
  g_free (opt.config_path);
  g_free (opt.out_dir);
  g_free (opt.week);
  return rc;
}
