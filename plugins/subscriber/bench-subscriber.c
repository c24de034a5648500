/* bench-subscriber: the subscriber plugin at ISP scale.
 *
 * Builds the index of a population (default 1M users: half PPPoE from
 * RADIUS detail records with reconnects that hand addresses to other
 * users, half IPoE /56 delegations from a Kea lease file with a DUID map),
 * then tags flows (default 10M) in the host's 2048-flow batches and prints
 * ingest rate, memory per lease, index save/load time, lookups per second
 * and the tagging cost per flow next to the reader's.
 *
 * The reader's cost is measured in the same run, on the same batches: every
 * batch is read from a real nfcapd file (by default the 2M-flow nfsim ->
 * nfcapd fixture bench-filter uses; read-ahead off, so decompression is
 * this thread's CPU time), its ends and start time are then replaced by
 * the population's (untimed), and the batch is tagged.  The file is read
 * again from the start until --flows flows are done.  So the tagging
 * meets the caches as `nfsub process` leaves them after a read, and the
 * share "tagging / reading" is a ratio of two figures of one run, which
 * this shared machine's swings move together.  --read-ns N instead
 * compares with a fixed reader cost and tags generated batches only.
 *
 *   make bench-subscriber [SUBSCRIBER_BENCH_ARGS="--users N --flows N"]
 */
#include "config.h"

#include <malloc.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib/gstdio.h>

#include <nfsub/nffile.h>

#include "plugins/subscriber/subscriber.h"
#include "testutil.h"

#define T0 G_GINT64_CONSTANT (1717372800)
#define BATCH 2048

static gsize
huge_bytes (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/smaps_rollup", &text, NULL, NULL))
    return 0;
  const char *p = strstr (text, "AnonHugePages:");
  return p ? (gsize) g_ascii_strtoull (p + 14, NULL, 10) * 1024 : 0;
}

static gsize
rss_bytes (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return 0;
  const char *p = strstr (text, "VmRSS:");
  return p ? (gsize) g_ascii_strtoull (p + 6, NULL, 10) * 1024 : 0;
}

static double
now_s (void)
{
  return (double) g_get_monotonic_time () / 1e6;
}

/* CPU time of this thread: the machine may be shared, and the tagging
 * cost is CPU work */
static double
cpu_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static NfsubAddr
pppoe_addr (guint32 i)
{
  /* 100.64.0.0/10 */
  return nfsub_addr_from_v4 (0x64400000u + i);
}

static NfsubAddr
ipoe_addr (guint32 i, guint64 host)
{
  NfsubAddr a = { G_GUINT64_CONSTANT (0x20010db800000000) | ((guint64) i << 8)
                    | (host & 0xff),
                  host * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15) };
  return a;
}

typedef struct {
  guint32 users;    /* PPPoE users; as many IPoE */
  guint32 *addr_of; /* user -> current PPPoE address index */
  /* a user that reconnected (once): the address before, and the time of
   * the new session's start, 0: never moved */
  guint32 *addr_before;
  gint64 *moved_at;
} Population;

static void
append_record (GString *s, const char *status, guint32 user, guint32 session,
               guint32 addr, gint64 t, gint64 session_time)
{
  char ip[NFSUB_ADDR_STRLEN];
  NfsubAddr a = pppoe_addr (addr);
  nfsub_addr_to_string (&a, ip);
  /* libc's %e pads with a space, as FreeRADIUS writes it (GLib's would
   * use a figure space) */
  char ev[64], date[64];
  time_t tt = (time_t) t;
  struct tm tm;
  gmtime_r (&tt, &tm);
  strftime (ev, sizeof ev, "%b %e %Y %H:%M:%S UTC", &tm);
  strftime (date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
  g_string_append_printf (s,
                          "%s\n\tAcct-Status-Type = %s\n"
                          "\tUser-Name = \"user%u@isp.example\"\n"
                          "\tAcct-Session-Id = \"%08x%08x\"\n"
                          "\tNAS-IP-Address = 192.0.2.%u\n"
                          "\tFramed-IP-Address = %s\n"
                          "\tEvent-Timestamp = \"%s\"\n",
                          date, status, user, user, session, 1 + user % 50, ip,
                          ev);
  if (session_time >= 0)
    g_string_append_printf (s, "\tAcct-Session-Time = %" G_GINT64_FORMAT "\n",
                            session_time);
  g_string_append_printf (s, "\tTimestamp = %" G_GINT64_FORMAT "\n\n", t + 1);
}

static guint64
feed (SubIndex *ix, GString *s)
{
  g_autoptr (GBytes) b = g_bytes_new (s->str, s->len);
  g_autoptr (NfsubRadiusDetail) d = nfsub_radius_detail_new_from_bytes (
    "bench-detail", b, NFSUB_RADIUS_DETAIL_NONE);
  const NfsubRadiusRecord *r;
  g_autoptr (GError) error = NULL;
  guint64 n = 0;
  int rc;
  while ((rc = nfsub_radius_detail_next (d, &r, &error)) == 1)
    {
      if (!radius_apply_record (ix, r, &error))
        g_error ("%s", error->message);
      n++;
    }
  if (rc < 0)
    g_error ("%s", error->message);
  g_string_truncate (s, 0);
  return n;
}

/* PPPoE: every user starts a session in the first hour; churn_percent of
 * them reconnect later and get a free address, so that addresses move
 * between users within the day. */
static guint64
build_pppoe (SubIndex *ix, Population *pop, guint churn_percent, GRand *r)
{
  GString *s = g_string_sized_new (4 << 20);
  guint64 records = 0;
  guint32 next_free = pop->users; /* pool has 2x users addresses */
  GArray *freed = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (guint32 u = 0; u < pop->users; u++)
    {
      pop->addr_of[u] = u;
      append_record (s, "Start", u, 0, u, T0 + g_rand_int_range (r, 0, 3600),
                     -1);
      if (s->len > (4u << 20))
        records += feed (ix, s);
    }
  records += feed (ix, s);
  /* reconnects through the day, in time order, each of a different user
   * (so that a flow's time tells which of two addresses the user held) */
  guint32 n_churn = (guint32) ((guint64) pop->users * churn_percent / 100);
  guint32 *order = g_new (guint32, pop->users);
  for (guint32 u = 0; u < pop->users; u++)
    order[u] = u;
  for (guint32 k = 0; k < n_churn; k++)
    {
      guint32 j = k + (guint32) g_rand_int_range (r, 0, (gint32) (pop->users - k));
      guint32 u = order[j];
      order[j] = order[k];
      order[k] = u;
      /* spread over the day (the flows too are), in time order */
      gint64 t = T0 + 3600 + (gint64) k * 82800 / MAX (n_churn, 1);
      guint32 old = pop->addr_of[u];
      append_record (s, "Stop", u, 0, old, t, t - T0);
      g_array_append_val (freed, old);
      /* the new address: one another user gave up, else a fresh one */
      guint32 addr;
      if (freed->len > 1000)
        {
          guint i = (guint) g_rand_int_range (r, 0, (gint32) freed->len - 1);
          addr = g_array_index (freed, guint32, i);
          g_array_remove_index_fast (freed, i);
        }
      else
        addr = next_free++;
      pop->addr_before[u] = old;
      pop->moved_at[u] = t + 5;
      pop->addr_of[u] = addr;
      append_record (s, "Start", u, k + 1, addr, t + 5, -1);
      if (s->len > (4u << 20))
        records += feed (ix, s);
    }
  records += feed (ix, s);
  g_free (order);
  g_array_unref (freed);
  g_string_free (s, TRUE);
  return records;
}

static guint64
build_ipoe (SubIndex *ix, SubConfig *c, Population *pop)
{
  FILE *map = fopen (c->kea_duid_map, "w");
  FILE *leases = fopen (c->kea_leases[0], "w");
  if (!map || !leases)
    g_error ("cannot write the Kea files in the temp dir");
  fprintf (leases, "address,duid,valid_lifetime,expire,subnet_id,"
                   "pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,"
                   "fqdn_rev,hostname,hwaddr,state,user_context,hwtype,"
                   "hwaddr_source\n");
  for (guint32 u = 0; u < pop->users; u++)
    {
      char prefix[NFSUB_ADDR_STRLEN];
      NfsubAddr a = ipoe_addr (u, 0);
      a.hi &= ~G_GUINT64_CONSTANT (0xff);
      a.lo = 0;
      nfsub_addr_to_string (&a, prefix);
      fprintf (map, "00:03:00:01:%02x:%02x:%02x:%02x,ipoe%u\n", u >> 24,
               (u >> 16) & 0xff, (u >> 8) & 0xff, u & 0xff, u);
      fprintf (leases,
               "%s,00:03:00:01:%02x:%02x:%02x:%02x,172800,%" G_GINT64_FORMAT
               ",1,7200,2,1,56,0,0,,,0,,,\n",
               prefix, u >> 24, (u >> 16) & 0xff, (u >> 8) & 0xff, u & 0xff,
               /* two days from 10 minutes before the day: every flow
                * of the day falls in the delegation */
               T0 - 600 + 172800);
    }
  fclose (map);
  fclose (leases);
  g_autoptr (GError) error = NULL;
  if (!kea_source_refresh (ix, &error))
    g_error ("%s", error->message);
  return ix->kea.records;
}

/* A flow of the population: its start time and ends; the rest of f is
 * left as it is (a flow read from a file keeps its counters).  Returns
 * whether neither end is a subscriber's. */
static gboolean
population_ends (NfsubFlow *f, Population *pop, GRand *r)
{
  f->first_ms = (guint64) (T0 + 3600 + g_rand_int_range (r, 0, 82800)) * 1000;
  f->last_ms = f->first_ms + 1000;
  gboolean v6 = g_rand_int_range (r, 0, 2) == 0;
  f->family = v6 ? 6 : 4;
  NfsubAddr sub, other;
  guint32 u = (guint32) g_rand_int_range (r, 0, (gint32) pop->users);
  guint32 u2 = (guint32) g_rand_int_range (r, 0, (gint32) pop->users);
  if (v6)
    {
      sub = ipoe_addr (u, g_rand_int (r));
      other = ipoe_addr (u2, g_rand_int (r));
    }
  else
    {
      /* the address the user held at the flow's start */
      gint64 when = (gint64) (f->first_ms / 1000);
      sub = pppoe_addr (when < pop->moved_at[u] ? pop->addr_before[u]
                                                : pop->addr_of[u]);
      other = pppoe_addr (when < pop->moved_at[u2] ? pop->addr_before[u2]
                                                   : pop->addr_of[u2]);
    }
  int kind = g_rand_int_range (r, 0, 10);
  NfsubAddr internet
    = v6 ? (NfsubAddr) { G_GUINT64_CONSTANT (0x2a00145000000000) | g_rand_int (r),
                         g_rand_int (r) }
         : nfsub_addr_from_v4 (0x08000000u | (g_rand_int (r) & 0xffffff));
  if (kind < 8)
    other = internet; /* subscriber <-> Internet */
  else if (kind == 9)
    {
      /* neither end is a subscriber (transit, a scanner) */
      sub = internet;
      other = v6 ? (NfsubAddr) { G_GUINT64_CONSTANT (0x2a00145000000000),
                                 g_rand_int (r) }
                 : nfsub_addr_from_v4 (0x01010000u | (g_rand_int (r) & 0xffff));
    }
  /* kind 8: subscriber <-> subscriber */
  if (g_rand_boolean (r))
    f->src = sub, f->dst = other;
  else
    f->src = other, f->dst = sub;
  return kind == 9;
}

/* The flows' ends, made before the rounds: made per batch, the
 * population's arrays (a random read per end) would take cache lines
 * from the tagging that no real process gives away. */
typedef struct {
  NfsubAddr src, dst;
  guint64 first_ms;
  guint32 in_bytes; /* for generated batches */
  guint8 family;
} FlowEnds;

static void
ends_apply (NfsubFlow *f, const FlowEnds *e)
{
  f->first_ms = e->first_ms;
  f->last_ms = e->first_ms + 1000;
  f->src = e->src;
  f->dst = e->dst;
  f->family = e->family;
}

/* A whole generated flow (--read-ns). */
static void
make_flow (NfsubFlow *f, const FlowEnds *e)
{
  memset (f, 0, sizeof *f);
  f->in_bytes = e->in_bytes;
  f->in_packets = 1 + f->in_bytes / 1000;
  f->aggr_flows = 1;
  f->proto = 6;
  f->exporter = nfsub_addr_from_v4 (0xc0000201u);
  ends_apply (f, e);
}

/* The next batch of the file, from its start again at its end; the
 * reading's CPU time is added to *read_s. */
static guint
read_batch (NfsubNffile **file, const char *path, NfsubFlow *flows, guint max,
            double *read_s)
{
  g_autoptr (GError) error = NULL;
  for (int attempt = 0; attempt < 2; attempt++)
    {
      double t = cpu_s ();
      if (!*file)
        {
          *file = nfsub_nffile_open (path, &error);
          if (!*file)
            g_error ("%s", error->message);
          nfsub_nffile_set_readahead (*file, FALSE);
        }
      gssize n = nfsub_nffile_read (*file, flows, max, &error);
      *read_s += cpu_s () - t;
      if (n < 0)
        g_error ("%s", error->message);
      if (n > 0)
        return (guint) n;
      g_clear_pointer (file, nfsub_nffile_close);
    }
  g_error ("%s: no flows", path);
}

/* What one random cache line costs this machine over `bytes` of memory,
 * ns per line: the tagging's one read per subscriber end, alone.  Reads
 * in groups of 16 prefetched together (as tagging issues a stride's),
 * best of 3 passes over 4M lines; in huge pages where the kernel
 * allows, as the hot index is. */
static double
random_line_ns (gsize bytes)
{
  const gsize lines = bytes / 64, n = 4u << 20;
  char *mem = g_aligned_alloc0 (1, bytes, 2u << 20);
#ifdef MADV_HUGEPAGE
  madvise (mem, bytes, MADV_HUGEPAGE);
#endif
  memset (mem, 1, bytes);
  guint32 *at = g_new (guint32, n);
  GRand *r = g_rand_new_with_seed (7);
  for (gsize i = 0; i < n; i++)
    at[i] = (guint32) g_rand_int_range (r, 0, (gint32) lines);
  g_rand_free (r);
  double best = G_MAXDOUBLE;
  guint64 sum = 0;
  for (int pass = 0; pass < 3; pass++)
    {
      double t = cpu_s ();
      for (gsize i = 0; i < n; i += 16)
        {
          for (gsize k = 0; k < 16; k++)
            __builtin_prefetch (mem + (gsize) at[i + k] * 64);
          for (gsize k = 0; k < 16; k++)
            sum += (guint8) mem[(gsize) at[i + k] * 64];
        }
      best = MIN (best, (cpu_s () - t) * 1e9 / (double) n);
    }
  __asm__ volatile ("" : : "r"(sum));
  g_free (at);
  g_aligned_free (mem);
  return best;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

int
main (int argc, char **argv)
{
  gint64 users = 1000000, flows = 10000000, seed = 1;
  /* 0: the reader's cost is measured on --file */
  double read_ns = 0;
  g_autofree char *file_path = NULL;
  gint churn = 30, rounds = 5;
  GOptionEntry entries[] = {
    { "users", 'u', 0, G_OPTION_ARG_INT64, &users, "Users (half PPPoE, half IPoE)", "N" },
    { "flows", 'n', 0, G_OPTION_ARG_INT64, &flows, "Flows to tag", "N" },
    { "churn", 0, 0, G_OPTION_ARG_INT, &churn, "Percent of PPPoE users reconnecting", "P" },
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &file_path,
      "nfcapd file read for the batches (default: the bench-filter fixture)",
      "FILE" },
    { "read-ns", 0, 0, G_OPTION_ARG_DOUBLE, &read_ns,
      "Compare with this fixed reader cost (ns/flow) and tag generated "
      "batches, reading no file", "NS" },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds,
      "Tagging rounds over the same flows (default 5)", "N" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Random seed", "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- subscriber plugin benchmark");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (rounds < 1 || users < 2 || flows < 1 || read_ns < 0)
    {
      g_printerr ("--rounds, --users, --flows and --read-ns must be positive\n");
      return 2;
    }
  if (read_ns > 0 && file_path)
    {
      g_printerr ("--file and --read-ns exclude each other\n");
      return 2;
    }
  if (read_ns == 0 && !file_path)
    {
      g_printerr ("bench-subscriber: the bench-filter fixture (2M flows, nfsim "
                  "-> nfcapd -y), built once and cached\n");
      file_path = nfsub_test_fixture ("bench-filter", "-y",
                                      "-n 2000000 -s 5 -r 300000", &error);
      if (!file_path)
        {
          g_printerr ("bench-subscriber: %s\n", error->message);
          return 1;
        }
    }
  g_autofree char *dir = g_dir_make_tmp ("nfsub-bench-subscriber-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *leases = g_build_filename (dir, "leases6.csv", NULL);
  g_autofree char *map = g_build_filename (dir, "duid.csv", NULL);
  g_autofree char *index = g_build_filename (dir, "index.bin", NULL);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_key_file_set_string (kf, "subscriber", "kea_leases", leases);
  g_key_file_set_string (kf, "subscriber", "kea_duid_map", map);
  g_key_file_set_string (kf, "subscriber", "radius_strip_realm", "true");
  SubConfig *c = sub_config_load (NULL, kf, "subscriber", &error);
  g_assert_no_error (error);

  Population pop = { (guint32) (users / 2), g_new0 (guint32, users / 2 + 1),
                     g_new0 (guint32, users / 2 + 1), g_new0 (gint64, users / 2 + 1) };
  GRand *r = g_rand_new_with_seed ((guint32) seed);
  malloc_trim (0);
  gsize rss0 = rss_bytes ();
  SubIndex *ix = sub_index_new (c);
  double t = now_s ();
  guint64 radius_records = build_pppoe (ix, &pop, (guint) churn, r);
  double t_radius = now_s () - t;
  t = now_s ();
  guint64 kea_records = build_ipoe (ix, c, &pop);
  double t_kea = now_s () - t;
  malloc_trim (0);
  gsize rss1 = rss_bytes ();
  guint32 bindings = lease_table_n_bindings (ix->table);

  g_print ("users            %u (%u PPPoE, %u IPoE)\n",
           lease_table_n_users (ix->table), pop.users, pop.users);
  g_print ("bindings         %u (%zu RADIUS sessions)\n", bindings,
           ix->n_sessions);
  g_print ("RADIUS ingest    %" G_GUINT64_FORMAT " records in %.2f s: %.0f records/s\n",
           radius_records, t_radius, radius_records / t_radius);
  g_print ("Kea ingest       %" G_GUINT64_FORMAT " rows in %.2f s: %.0f rows/s\n",
           kea_records, t_kea, kea_records / t_kea);
  g_print ("build            RSS +%.1f MB while ingesting\n",
           (double) (rss1 - rss0) / 1e6);

  /* the steady state of a per-file process: load the saved index (and
   * the DUID map, needed whenever the lease file has new rows) */
  t = now_s ();
  g_assert_true (sub_index_save (ix, index, &error));
  double t_save = now_s () - t;
  GStatBuf st;
  g_stat (index, &st);
  sub_index_free (ix);
  malloc_trim (0);
  gsize rss2 = rss_bytes ();
  t = now_s ();
  ix = sub_index_new (c);
  g_assert_true (sub_index_load (ix, index, &error));
  double t_load = now_s () - t;
  g_assert_true (kea_load_duid_map (ix, &error));
  /* the hot index is built before the first batch is tagged: its memory
   * counts, and its time is part of a per-file process's start */
  t = now_s ();
  lease_table_tag_flows (ix->table, 0, NULL, NULL);
  double t_hot = now_s () - t;
  malloc_trim (0);
  gsize rss3 = rss_bytes ();
  g_assert_cmpuint (lease_table_n_bindings (ix->table), ==, bindings);
  gsize sessions_bytes = ix->sessions ? ((gsize) 1 << ix->session_bits)
                                          * sizeof (Session)
                                      : 0;
  gsize map_bytes = (sizeof (DuidSlot) << ix->duid_map.bits)
                    + ix->duid_map.names->allocated_len;
  g_print ("index            %.1f MB, saved in %.2f s, loaded in %.2f s, "
           "hot index (IPv4 %s, IPv6 %s) built in %.3f s\n",
           st.st_size / 1e6, t_save, t_load,
           lease_table_hot (ix->table, 4) ? "on" : "off",
           lease_table_hot (ix->table, 6) ? "on" : "off", t_hot);
  g_print ("memory           table %.1f MB + sessions %.1f MB + DUID map "
           "%.1f MB; RSS +%.1f MB (%.1f MB in huge pages)\n",
           lease_table_memory (ix->table) / 1e6, sessions_bytes / 1e6,
           map_bytes / 1e6, (double) (rss3 - rss2) / 1e6, huge_bytes () / 1e6);
  g_print ("per lease        %.0f bytes (RSS of the loaded index / bindings; "
           "target < 200)\n",
           (double) (rss3 - rss2) / bindings);

  /* Every round tags the same flows (the ends made once below, the
   * file read from its start), so the rounds differ only by the
   * machine's noise. */
  Tagger tg;
  tagger_init (&tg, ix, c->rules);
  NfsubFlow *batch_flows = g_new (NfsubFlow, BATCH);
  TagCounters counters = { 0 }, first_counters = { 0 };
  guint64 neither = 0;
  double *round_ns = g_new (double, rounds);
  double *round_read_ns = g_new (double, rounds);
  double *round_share = g_new (double, rounds);
  /* The clock is read twice per batch and about one read's cost falls
   * inside each interval; that cost (the least of a few runs of back to
   * back reads) is taken off every batch's time, so the figures are
   * the tagging call's alone. */
  double clock_read = G_MAXDOUBLE;
  for (gint rep = 0; rep < 5; rep++)
    {
      double c0 = cpu_s ();
      for (gint i = 0; i < 100000; i++)
        cpu_s ();
      clock_read = MIN (clock_read, (cpu_s () - c0) / 100001);
    }
  g_print ("clock read       %.0f ns, taken off each batch's time (%.2f ns/flow)\n",
           clock_read * 1e9, clock_read * 1e9 / BATCH);
  g_print ("random line read");
  static const guint probe_mb[] = { 6, 12, 18, 36 };
  for (guint i = 0; i < G_N_ELEMENTS (probe_mb); i++)
    g_print ("%s %.2f ns over %u MB", i ? "," : "",
             random_line_ns ((gsize) probe_mb[i] << 20), probe_mb[i]);
  g_print (" (this machine, groups of 16 prefetched)\n");
  if (file_path)
    {
      /* one pass untimed: the file in the page cache, as a file nfcapd
       * has just written is */
      g_autoptr (NfsubNffile) file = nfsub_nffile_open (file_path, &error);
      if (!file)
        g_error ("%s", error->message);
      gssize got;
      while ((got = nfsub_nffile_read (file, batch_flows, BATCH, &error)) > 0)
        ;
      if (got < 0)
        g_error ("%s", error->message);
      g_print ("batches          read from %s (read-ahead off; read once "
               "before the rounds), their ends and times replaced by the "
               "population's\n", file_path);
    }
  FlowEnds *ends = g_new (FlowEnds, flows);
  GRand *fr = g_rand_new_with_seed ((guint32) seed + 1000);
  for (gint64 i = 0; i < flows; i++)
    {
      NfsubFlow f;
      ends[i].in_bytes = (guint32) g_rand_int_range (fr, 40, 100000);
      neither += population_ends (&f, &pop, fr);
      ends[i].src = f.src;
      ends[i].dst = f.dst;
      ends[i].first_ms = f.first_ms;
      ends[i].family = f.family;
    }
  g_rand_free (fr);
  for (gint round = 0; round < rounds; round++)
    {
      NfsubNffile *file = NULL;
      memset (&counters, 0, sizeof counters);
      double tagging = 0, reading = 0;
      guint read_batches = 0;
      for (gint64 done = 0; done < flows;)
        {
          guint n = (guint) MIN (BATCH, flows - done);
          if (file_path)
            {
              n = read_batch (&file, file_path, batch_flows, n, &reading);
              read_batches++;
              for (guint i = 0; i < n; i++)
                ends_apply (&batch_flows[i], &ends[done + i]);
            }
          else
            for (guint i = 0; i < n; i++)
              make_flow (&batch_flows[i], &ends[done + i]);
          NfsubBatch batch = { batch_flows, n, NULL, 0 };
          t = cpu_s ();
          tagger_tag_batch (&tg, &batch, &counters);
          tagging += cpu_s () - t - clock_read;
          done += n;
        }
      g_clear_pointer (&file, nfsub_nffile_close);
      reading -= read_batches * clock_read;
      round_ns[round] = tagging * 1e9 / (double) flows;
      round_read_ns[round] = file_path ? reading * 1e9 / (double) flows : read_ns;
      round_share[round] = round_ns[round] / round_read_ns[round];
      g_print ("round %d          %" G_GINT64_FORMAT " flows: tagging %.2f s CPU "
               "(%.1f M flows/s, %.1f M lookups/s) %.1f ns/flow",
               round + 1, flows, tagging, flows / tagging / 1e6,
               2 * flows / tagging / 1e6, round_ns[round]);
      if (file_path)
        g_print (", reading %.1f ns/flow: %.1f%%", round_read_ns[round],
                 100.0 * round_share[round]);
      g_print ("\n");
      if (round == 0)
        first_counters = counters;
      else if (memcmp (&counters, &first_counters, sizeof counters) != 0)
        g_error ("round %d tagged differently from round 1", round + 1);
    }
  qsort (round_ns, rounds, sizeof *round_ns, compare_double);
  qsort (round_read_ns, rounds, sizeof *round_read_ns, compare_double);
  qsort (round_share, rounds, sizeof *round_share, compare_double);
  gint mid = (rounds - 1) / 2;
  double best = round_ns[0], median = round_ns[mid];
  g_print ("tagging          best %.1f ns/flow (%.1f M lookups/s), median %.1f "
           "ns/flow (%.1f M lookups/s) of %d rounds; %" G_GUINT64_FORMAT
           " ends bound of %" G_GINT64_FORMAT "\n",
           best, 2e3 / best, median, 2e3 / median, rounds,
           counters.in_flows + counters.out_flows, 2 * flows);
  g_print ("attributed       IN %.1f%% OUT %.1f%% unattributed %.1f%% of bytes\n",
           100.0 * counters.in_bytes / counters.bytes,
           100.0 * counters.out_bytes / counters.bytes,
           100.0 * counters.unattr_bytes / counters.bytes);
  if (file_path)
    g_print ("reading          best %.1f ns/flow, median %.1f ns/flow (the same "
             "batches, this run)\n", round_read_ns[0], round_read_ns[mid]);
  /* best tagging over best reading: each at its quietest round; the
   * rounds' own shares show how the two move together */
  g_print ("vs reading       %.1f%% (best tagging / best reading); per round "
           "median %.1f%%, least %.1f%%, most %.1f%%%s (target <= 30%%)\n",
           100.0 * best / round_read_ns[0], 100.0 * round_share[mid],
           100.0 * round_share[0], 100.0 * round_share[rounds - 1],
           file_path ? "" : " at the --read-ns given");
  /* the truth: a flow is unattributed when neither end is a
   * subscriber's (or, rarely, it starts in the 5 s between a user's Stop
   * and new Start) */
  g_print ("unattributed     %" G_GUINT64_FORMAT " flows, of which %" G_GUINT64_FORMAT
           " have no subscriber end (the mix)\n", counters.unattr_flows, neither);
  if (counters.unattr_flows < neither
      || counters.unattr_flows - neither > (guint64) flows / 10000)
    g_printerr ("warning: unattributed flows differ from the mix's by more than "
                "0.01%% of the flows\n");
  g_free (round_ns);
  g_free (round_read_ns);
  g_free (round_share);

  tagger_clear (&tg);
  g_free (batch_flows);
  sub_index_free (ix);
  sub_config_free (c);
  g_free (ends);
  g_free (pop.addr_of);
  g_free (pop.addr_before);
  g_free (pop.moved_at);
  g_rand_free (r);
  g_unlink (leases);
  g_unlink (map);
  g_unlink (index);
  g_rmdir (dir);
  return 0;
}
