/* bench-usage: 1M users x a week through the usage plugin, then
 * `nfsub usage --week` on the result.  Prints wall time and peak memory
 * of each step and the store's size on disk.
 *
 *   make bench-usage [BENCH_USAGE_ARGS="--users 1000000 --days 7"]
 *
 * The flows are made here (two a user a day, IN and OUT, tagged as the
 * subscriber plugin tags them) and go through the plugin's descriptor
 * callbacks as `nfsub process` would call them, one "file" a day; the
 * statistics run as the real CLI in a child process, so its peak RSS is
 * its own. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <glib/gstdio.h>
#include <nfsub/nfsub.h>

#include "../../src/lib/host-private.h"
#include "store.h"
#include "usage-private.h"

extern const NfsubPluginDesc nfsub_plugin_v1;

#define BATCH 2048

static guint64
rng_next (guint64 *s)
{
  /* splitmix64 */
  guint64 z = (*s += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static double
rng_normal (guint64 *s)
{
  double u = ((rng_next (s) >> 11) + 0.5) / 9007199254740992.0;
  double v = ((rng_next (s) >> 11) + 0.5) / 9007199254740992.0;
  return sqrt (-2 * log (u)) * cos (2 * G_PI * v);
}

static double
now (void)
{
  return (double) g_get_monotonic_time () / 1e6;
}

static long
self_maxrss_mb (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

static guint64
dir_size (const char *path)
{
  guint64 total = 0;
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *full = g_build_filename (path, name, NULL);
      if (g_file_test (full, G_FILE_TEST_IS_DIR))
        total += dir_size (full);
      else
        {
          GStatBuf st;
          if (g_stat (full, &st) == 0)
            total += (guint64) st.st_size;
        }
    }
  return total;
}

static void
die (GError *error)
{
  g_printerr ("bench-usage: %s\n", error->message);
  exit (1);
}

/* One "nfcapd file" of the given users' flows on day `day`. */
static void
run_file (gpointer self, const char *name, gint64 day_start_ms, guint first,
          guint count, char **keys, guint64 seed, double scale)
{
  g_autofree NfsubFlow *flows = g_new0 (NfsubFlow, BATCH);
  NfsubFileInfo info = { 0 };
  info.path = name;
  info.file_size = count;
  info.has_stat = TRUE;
  info.stat.numflows = 2 * (guint64) count;
  GError *error = NULL;
  if (!nfsub_plugin_v1.begin_file (self, &info, &error))
    die (error);
  guint n = 0;
  for (guint u = first; u < first + count; u++)
    {
      /* a user's level is fixed (seeded by the user), the day varies */
      guint64 us = seed ^ (guint64) u * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
      double level = 8.3 + 0.9 * rng_normal (&us);
      guint64 ds = us ^ (guint64) day_start_ms;
      double out_b = pow (10, level + 0.3 * rng_normal (&ds)) * scale;
      double in_b = out_b / pow (10, 0.8 + 0.4 * rng_normal (&ds));
      gboolean mobile = u % 5 == 0;
      for (int dir = 0; dir < 2; dir++)
        {
          NfsubFlow *f = &flows[n++];
          memset (f, 0, sizeof *f);
          f->first_ms = (guint64) day_start_ms + rng_next (&ds) % 86400000;
          f->last_ms = f->first_ms + 1000;
          f->in_bytes = (guint64) (dir ? out_b : in_b) + 40;
          f->in_packets = (f->in_bytes / 700 + 1000) / 1000 * 1000;
          f->sampling_rate = 1000;
          NfsubSubscriberTag t = { keys[u], u + 1,
                                   mobile ? NFSUB_SERVICE_MOBILE : NFSUB_SERVICE_BROADBAND,
                                   NFSUB_CLASS_PERSONAL,
                                   mobile ? NFSUB_ACCESS_MOBILE
                                          : (u % 2 ? NFSUB_ACCESS_PPPOE : NFSUB_ACCESS_IPOE),
                                   0 };
          if (dir == 0)
            f->src_tag = t, f->direction = NFSUB_DIR_IN;
          else
            f->dst_tag = t, f->direction = NFSUB_DIR_OUT;
          if (n == BATCH)
            {
              NfsubBatch b = { flows, n, NULL, 0 };
              if (!nfsub_plugin_v1.process (self, &b, &error))
                die (error);
              n = 0;
            }
        }
    }
  NfsubBatch b = { flows, n, NULL, 0 };
  if (n && !nfsub_plugin_v1.process (self, &b, &error))
    die (error);
  if (!nfsub_plugin_v1.end_file (self, &info, &error))
    die (error);
}

int
main (int argc, char **argv)
{
  gint users = 1000000, days = 7;
  gchar *keep = NULL;
  GOptionEntry entries[] = {
    { "users", 'u', 0, G_OPTION_ARG_INT, &users, "users (default 1000000)", "N" },
    { "days", 'd', 0, G_OPTION_ARG_INT, &days, "days (default 7)", "N" },
    { "keep", 'k', 0, G_OPTION_ARG_FILENAME, &keep,
      "state directory to use and keep (default: a temporary one, removed)", "DIR" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    die (error);

  g_autofree char *work = keep ? g_strdup (keep) : g_dir_make_tmp ("bench-usage-XXXXXX", &error);
  if (!work)
    die (error);
  g_mkdir_with_parents (work, 0755);
  g_autofree char *state = g_build_filename (work, "state", NULL);
  g_autofree char *conf = g_build_filename (work, "nfsub.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[nfsub]\nstate_dir = %s\ntimezone = UTC\n"
                                           "[usage]\nsource_mobile = flows\n", state);
  g_file_set_contents (conf, text, -1, NULL);
  NfsubHost *host = nfsub_host_new (conf, NULL, &error);
  if (!host)
    die (error);

  char **keys = g_new (char *, users + 1);
  for (gint u = 0; u < users; u++)
    keys[u] = g_strdup_printf (u % 5 == 0 ? "mobile:m%07d"
                               : u % 2 ? "pppoe:u%07d" : "ipoe:u%07d", u);
  keys[users] = NULL;

  g_print ("bench-usage: %d users x %d days (2 flows a user a day), state in %s\n",
           users, days, work);
  /* 2024-06-03 00:00 UTC */
  const gint64 week_ms = G_GINT64_CONSTANT (1717372800000);
  double t0 = now ();
  for (gint d = 0; d < days; d++)
    {
      /* a fresh process a day, like nfcapd -x: init loads the store */
      double ti = now ();
      gpointer self = nfsub_plugin_v1.init (host, nfsub_host_config (host), "usage",
                                            &error);
      if (!self)
        die (error);
      double init_s = now () - ti;
      char name[64];
      g_snprintf (name, sizeof name, "nfcapd.2024060%d0000", 3 + d);
      double tp = now ();
      run_file (self, name, week_ms + (gint64) d * 86400000, 0, (guint) users, keys,
                42, 1.0);
      if (!nfsub_plugin_v1.finish (self, &error))
        die (error);
      nfsub_plugin_v1.free (self);
      g_print ("  day %d: init %.3f s, %d users' flows + commit %.2f s\n", d + 1,
               init_s, users, now () - tp);
    }
  double write_s = now () - t0;
  g_autofree char *usage_dir = g_build_filename (state, "usage", NULL);
  guint64 disk = dir_size (usage_dir);
  g_print ("write: %.1f s for %d days (%.2f Mflows/s), peak RSS %ld MB\n", write_s,
           days, 2.0 * users * days / write_s / 1e6, self_maxrss_mb ());
  g_print ("store on disk: %.1f MB (%.1f bytes per user-day)\n", disk / 1e6,
           (double) disk / ((double) users * days));

  /* one small 5-minute file in a new process: what nfcapd -x pays per file */
  {
    double ti = now ();
    gpointer self = nfsub_plugin_v1.init (host, nfsub_host_config (host), "usage",
                                          &error);
    if (!self)
      die (error);
    double init_s = now () - ti;
    guint n = MIN ((guint) users, 100000);
    run_file (self, "nfcapd.202406091200", week_ms + 6 * 86400000 + 43200000, 0, n,
              keys, 43, 1.0 / 288);
    if (!nfsub_plugin_v1.finish (self, &error))
      die (error);
    nfsub_plugin_v1.free (self);
    g_print ("one more 5-minute file (%u users): init %.3f s, total %.3f s\n", n,
             init_s, now () - ti);
  }

  /* the statistics, as the CLI */
  g_autofree char *nfsub = g_build_filename (g_getenv ("NFSUB_BUILDDIR")
                                                 ? g_getenv ("NFSUB_BUILDDIR") : ".",
                                             "src", "nfsub", NULL);
  g_autofree char *json = g_build_filename (work, "usage.json", NULL);
  const char *cargv[] = { nfsub, "-c", conf, "usage", "--week", "2024-06-03",
                          "--json", json, "-q", NULL };
  double ts = now ();
  GPid pid;
  if (!g_spawn_async (NULL, (char **) cargv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                      NULL, &pid, &error))
    die (error);
  int status;
  struct rusage ru;
  if (wait4 (pid, &status, 0, &ru) < 0 || !WIFEXITED (status)
      || WEXITSTATUS (status) != 0)
    {
      g_printerr ("bench-usage: nfsub usage failed\n");
      return 1;
    }
  double stats_s = now () - ts;
  g_print ("nfsub usage --week (broadband + mobile, %d users, years table): "
           "%.2f s, peak RSS %ld MB\n", users, stats_s, ru.ru_maxrss / 1024);

  for (gint u = 0; u < users; u++)
    g_free (keys[u]);
  g_free (keys);
  nfsub_host_free (host);
  if (!keep)
    {
      g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", work);
      if (system (cmd) != 0)
        g_printerr ("bench-usage: could not remove %s\n", work);
    }
  g_free (keep);
  return 0;
}
