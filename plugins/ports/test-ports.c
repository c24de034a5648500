/* ports plugin: the lower-port rule on hand-made flows, the table and its
 * JSON against hand-computed byte counts, weeks across years, closed
 * weeks reopened by late flows (their bytes added, each file counted
 * once), compaction keeping group totals exact, and the RRD port
 * categories read back with `rrdtool fetch` against sums computed here
 * (categories add up to the total, the total equals the hourly plugin's).
 */
#include "config.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <nfsub/nfsub.h>

#include "lib/host-private.h"
#include "rrdtest.h"
#include "testutil.h"

#define T0 G_GINT64_CONSTANT (1717372800) /* Mon 2024-06-03 00:00 UTC */
#define T2023 G_GINT64_CONSTANT (1685923200) /* Mon 2023-06-05 00:00 UTC */
#define STEP 300
#define ACTIVE 60

static guint64
ms (gint64 s)
{
  return (guint64) s * 1000;
}

/* Runs `nfsub ports ARGS` in-process (the plugin's command) and returns
 * its stdout; *status its exit status. */
static char *
run_ports_command (RrdTestEnv *env, int *status, ...)
{
  const NfsubPluginDesc *desc = rrdtest_plugin ("ports");
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubHost) host = nfsub_host_new (env->config_path, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) "ports");
  va_list ap;
  va_start (ap, status);
  const char *a;
  while ((a = va_arg (ap, const char *)))
    g_ptr_array_add (argv, (char *) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  g_autofree char *out_path = g_build_filename (env->dir, "stdout.txt", NULL);
  fflush (stdout);
  int saved = dup (1);
  int fd = open (out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  g_assert_cmpint (fd, >=, 0);
  dup2 (fd, 1);
  close (fd);
  const NfsubCommand *cmd = &desc->commands[0];
  g_assert_cmpstr (cmd->name, ==, "ports");
  *status = cmd->run (host, (int) argv->len - 1, (char **) argv->pdata);
  fflush (stdout);
  dup2 (saved, 1);
  close (saved);
  char *text = NULL;
  g_assert_true (g_file_get_contents (out_path, &text, NULL, NULL));
  return text;
}

/* The JSON row of `series` with `label` (and kind). */
static const NfsubTestJson *
json_row (const NfsubTestJson *root, const char *series, const char *label,
          const char *kind)
{
  const NfsubTestJson *list = nfsub_test_json_member (root, "series");
  for (guint i = 0; i < nfsub_test_json_length (list); i++)
    {
      const NfsubTestJson *s = nfsub_test_json_index (list, i, NULL);
      if (strcmp (nfsub_test_json_string (s, "name"), series) != 0)
        continue;
      const NfsubTestJson *rows = nfsub_test_json_member (s, "rows");
      for (guint j = 0; j < nfsub_test_json_length (rows); j++)
        {
          const NfsubTestJson *r = nfsub_test_json_index (rows, j, NULL);
          if (strcmp (nfsub_test_json_string (r, "label"), label) == 0
              && strcmp (nfsub_test_json_string (r, "kind"), kind) == 0)
            return r;
        }
      return NULL;
    }
  g_error ("no series %s in the JSON", series);
}

static double
json_bytes (const NfsubTestJson *root, const char *series, const char *label,
            const char *kind, guint col)
{
  const NfsubTestJson *r = json_row (root, series, label, kind);
  if (!r)
    return -1;
  g_autofree char *path = g_strdup_printf ("bytes.%u", col);
  return nfsub_test_json_number (r, path);
}

static double
json_total (const NfsubTestJson *root, const char *series, guint col)
{
  const NfsubTestJson *list = nfsub_test_json_member (root, "series");
  for (guint i = 0; i < nfsub_test_json_length (list); i++)
    {
      const NfsubTestJson *s = nfsub_test_json_index (list, i, NULL);
      if (strcmp (nfsub_test_json_string (s, "name"), series) == 0)
        {
          g_autofree char *path = g_strdup_printf ("total_bytes.%u", col);
          return nfsub_test_json_number (s, path);
        }
    }
  g_error ("no series %s", series);
}

static NfsubFlow *
add_out (RrdTestFile *f, guint8 proto, guint16 sp, guint16 dp, gint64 t,
         guint64 bytes, guint8 service, guint8 access)
{
  NfsubFlow *flow = rrdtest_file_add (f, proto, sp, dp, ms (t), ms (t) + 500,
                                      bytes);
  rrdtest_tag (&flow->dst_tag, service, access);
  flow->direction = NFSUB_DIR_OUT;
  return flow;
}

static void
run_ok (RrdTestEnv *env, const char *plugin, RrdTestFile *f)
{
  g_autoptr (GError) error = NULL;
  if (!rrdtest_run (env, plugin, &f, 1, &error))
    g_error ("%s on %s: %s", plugin, f->path, error->message);
}

/* The lower of the two ports, on flows built by hand. */
static void
test_lower_port_rule (void)
{
  g_autoptr (RrdTestEnv) env = rrdtest_env_new (
    "ports", ACTIVE, "[ports]\ntop = 5\n");
  /* timezone UTC for the week boundaries */
  rrdtest_env_set_config (env, "ports", ACTIVE,
                          "timezone = UTC\n[ports]\ntop = 5\n");
  g_autoptr (RrdTestFile) f = rrdtest_file_new ("nfcapd.a", T0 + 3600);
  gint64 t = T0 + 3600;
  const guint8 BB = NFSUB_SERVICE_BROADBAND, PPP = NFSUB_ACCESS_PPPOE;
  add_out (f, 6, 50000, 443, t, 1000, BB, PPP);  /* 443 vs 50000: 443 */
  add_out (f, 6, 443, 50000, t, 1500, BB, PPP);  /* reversed: 443 */
  add_out (f, 6, 80, 443, t, 2000, BB, PPP);     /* 80 vs 443: 80 */
  add_out (f, 6, 40000, 50000, t, 3000, BB, PPP); /* both dynamic: 40000 */
  add_out (f, 6, 1023, 1024, t, 70, BB, PPP);    /* 1023: < 1024 group */
  add_out (f, 1, 0, 8 * 256, t, 400, BB, PPP);   /* ICMP echo: no port */
  add_out (f, 58, 0, 128 * 256, t, 40, BB, PPP); /* ICMPv6 counts as ICMP */
  add_out (f, 17, 61000, 443, t, 5000, BB, PPP); /* UDP 443 */
  add_out (f, 17, 4500, 4500, t, 600, BB, PPP);  /* UDP 4500 */
  add_out (f, 50, 0, 0, t, 700, BB, PPP);        /* ESP */
  add_out (f, 47, 0, 0, t, 300, BB, PPP);        /* GRE */
  add_out (f, 4, 0, 0, t, 100, BB, PPP);         /* IP-ENCAP */
  add_out (f, 132, 5000, 36412, t, 50, BB, PPP); /* SCTP: other */
  /* both ends subscribers: counts for the IPoE source and the PPPoE
   * destination */
  NfsubFlow *both = add_out (f, 6, 51000, 443, t, 10000, BB, PPP);
  rrdtest_tag (&both->src_tag, BB, NFSUB_ACCESS_IPOE);
  both->direction |= NFSUB_DIR_IN;
  /* unattributed: TCP 22 */
  NfsubFlow *none = rrdtest_file_add (f, 6, 60000, 22, ms (t), ms (t), 900);
  none->direction = 0;
  run_ok (env, "ports", f);

  g_autofree char *json = g_build_filename (env->dir, "ports.json", NULL);
  g_autofree char *csv = g_build_filename (env->dir, "ports.csv", NULL);
  int status;
  g_autofree char *out = run_ports_command (env, &status, "--week",
                                            "2024-06-07", "--service",
                                            "broadband", "--access", "pppoe",
                                            "--json", json, "--csv", csv,
                                            NULL);
  g_assert_cmpint (status, ==, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubTestJson) root = nfsub_test_json_load (json, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (nfsub_test_json_string (root, "week"), ==, "2024-06-03");
  g_assert_cmpuint (nfsub_test_json_length (nfsub_test_json_member (root, "columns")), ==, 1);

  const char *S = "broadband-pppoe";
  double tcp443 = 1000 + 1500 + 10000, tcp80 = 2000, tcp1023 = 70;
  double tcp_low = tcp443 + tcp80 + tcp1023, tcp_high = 3000;
  double udp = 5000 + 600;
  double total = tcp_low + tcp_high + 400 + 40 + udp + 700 + 300 + 100 + 50;
  g_assert_cmpfloat (json_total (root, S, 0), ==, total);
  g_assert_cmpfloat (json_bytes (root, S, "TCP", "protocol", 0), ==, tcp_low + tcp_high);
  g_assert_cmpfloat (json_bytes (root, S, "TCP (< 1024)", "group", 0), ==, tcp_low);
  g_assert_cmpfloat (json_bytes (root, S, "TCP (>= 1024)", "group", 0), ==, tcp_high);
  g_assert_cmpfloat (json_bytes (root, S, "443", "port", 0), ==, tcp443);
  g_assert_cmpfloat (json_bytes (root, S, "80", "port", 0), ==, tcp80);
  /* 40000 is a top port of the TCP >= 1024 group; 50000 never counts */
  g_assert_cmpfloat (json_bytes (root, S, "40000", "port", 0), ==, 3000);
  g_assert_null (json_row (root, S, "50000", "port"));
  g_assert_cmpfloat (json_bytes (root, S, "UDP", "protocol", 0), ==, udp);
  g_assert_cmpfloat (json_bytes (root, S, "ICMP", "protocol", 0), ==, 440);
  g_assert_cmpfloat (json_bytes (root, S, "ESP", "protocol", 0), ==, 700);
  g_assert_cmpfloat (json_bytes (root, S, "GRE", "protocol", 0), ==, 300);
  g_assert_cmpfloat (json_bytes (root, S, "IP-ENCAP", "protocol", 0), ==, 100);
  g_assert_cmpfloat (json_bytes (root, S, "other", "other", 0), ==, 50);
  const NfsubTestJson *r443 = json_row (root, S, "443", "port");
  g_assert_cmpfloat_with_epsilon (nfsub_test_json_number (r443, "percent.0"),
                                  100.0 * tcp443 / total, 1e-4);
  /* the flow between two subscribers counts for both ends */
  g_assert_cmpfloat (json_bytes (root, "broadband-ipoe", "443", "port", 0), ==, 10000);
  g_assert_cmpfloat (json_total (root, "broadband-all", 0), ==, total + 10000);
  g_assert_cmpfloat (json_bytes (root, "unattributed", "22", "port", 0), ==, 900);
  g_assert_cmpfloat (json_total (root, "unattributed", 0), ==, 900);
  g_assert_cmpfloat (json_total (root, "mobile-all", 0), ==, 0);

  /* the printed table: Table 3's rows in Table 3's order */
  static const char *const order[] = { "TCP ", "(< 1024)", "443 ", "80 ",
                                       "(>= 1024)", "40000", "UDP ", "ESP",
                                       "GRE", "IP-ENCAP", "ICMP", "other",
                                       "total", NULL };
  const char *at = out;
  for (guint i = 0; order[i]; i++)
    {
      const char *p = strstr (at, order[i]);
      if (!p)
        g_error ("table row '%s' missing or out of order in:\n%s", order[i],
                 out);
      at = p;
    }
  g_autofree char *pct = g_strdup_printf ("%.1f", 100.0 * tcp443 / total);
  g_assert_nonnull (strstr (out, pct));

  /* CSV: one line per (week, series, row) */
  g_autofree char *csv_text = NULL;
  g_assert_true (g_file_get_contents (csv, &csv_text, NULL, NULL));
  g_assert_true (g_str_has_prefix (csv_text, "week,series,label,kind,proto,"
                                             "port,group,bytes,percent\n"));
  g_assert_nonnull (strstr (csv_text, "2024-06-03,broadband-pppoe,\"443\","
                                      "port,6,443,low,12500,"));

  /* a week nothing was stored for: a clear message, non-zero exit */
  g_autofree char *none_out = run_ports_command (env, &status, "--week",
                                                 "2020-01-01", NULL);
  g_assert_cmpint (status, !=, 0);
}

/* The JSON is JSON whatever the config says: the time zone, given as a
 * zoneinfo file whose path holds a quote, a backslash and a '<', comes
 * back from the JSON reader as the very same string (it was once written
 * with "%s", unescaped).  Shares carry the CSV's six decimals. */
static void
test_json_text (void)
{
  g_autoptr (RrdTestEnv) env = rrdtest_env_new ("ports", ACTIVE, NULL);
  g_autofree char *zones = g_build_filename (env->dir, "zones", NULL);
  g_assert_cmpint (g_mkdir (zones, 0755), ==, 0);
  g_autofree char *zone = g_build_filename (zones, "a \"quoted\" \\ <zone>",
                                            NULL);
  g_autofree char *utc = NULL;
  gsize utc_len;
  g_assert_true (g_file_get_contents ("/usr/share/zoneinfo/UTC", &utc,
                                      &utc_len, NULL));
  g_assert_true (g_file_set_contents (zone, utc, (gssize) utc_len, NULL));
  /* a key file value: a backslash is written as two */
  g_auto (GStrv) parts = g_strsplit (zone, "\\", -1);
  g_autofree char *zone_kf = g_strjoinv ("\\\\", parts);
  g_autofree char *extra = g_strdup_printf ("timezone = %s\n", zone_kf);
  rrdtest_env_set_config (env, "ports", ACTIVE, extra);

  g_autoptr (RrdTestFile) f = rrdtest_file_new ("nfcapd.q", T0 + 3600);
  const guint8 BB = NFSUB_SERVICE_BROADBAND, PPP = NFSUB_ACCESS_PPPOE;
  add_out (f, 6, 50000, 443, T0 + 3600, 1000, BB, PPP);
  add_out (f, 17, 50000, 53, T0 + 3600, 2000, BB, PPP);
  run_ok (env, "ports", f);

  g_autofree char *json = g_build_filename (env->dir, "q.json", NULL);
  int status;
  g_autofree char *out = run_ports_command (env, &status, "--week",
                                            "2024-06-05", "--json", json,
                                            NULL);
  g_assert_cmpint (status, ==, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubTestJson) root = nfsub_test_json_load (json, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (nfsub_test_json_string (root, "timezone"), ==, zone);
  g_assert_cmpstr (nfsub_test_json_string (root, "week"), ==, "2024-06-03");
  const char *S = "broadband-pppoe";
  g_assert_cmpfloat (json_total (root, S, 0), ==, 3000);
  /* 100 * 1000 / 3000 and 100 * 2000 / 3000 to six decimals */
  const NfsubTestJson *tcp = json_row (root, S, "TCP", "protocol");
  const NfsubTestJson *udp = json_row (root, S, "UDP", "protocol");
  g_assert_cmpfloat (nfsub_test_json_number (tcp, "percent.0"), ==, 33.333333);
  g_assert_cmpfloat (nfsub_test_json_number (udp, "percent.0"), ==, 66.666667);
  g_assert_cmpfloat (nfsub_test_json_number (
                       json_row (root, S, "ESP", "protocol"), "percent.0"),
                     ==, 0);
  /* a column whose total is 0: null, not a number */
  const NfsubTestJson *mob = json_row (root, "mobile-all", "TCP", "protocol");
  g_assert_cmpint (nfsub_test_json_type (
                     nfsub_test_json_path (mob, "percent.0")),
                   ==, NFSUB_TEST_JSON_NULL);
  g_assert_cmpint (nfsub_test_json_type (nfsub_test_json_path (tcp, "port")),
                   ==, NFSUB_TEST_JSON_NULL);
  g_assert_cmpstr (nfsub_test_json_string (
                     json_row (root, S, "443", "port"), "group"),
                   ==, "low");
}

/* The 5-minute file at Monday 00:00 holds flows of both weeks, in no
 * order: each goes to the week it started in, every one of them (a flow
 * going back to a week the same file had already added to was once
 * dropped). */
static void
test_week_boundary (void)
{
  g_autoptr (RrdTestEnv) env = rrdtest_env_new ("ports", ACTIVE, NULL);
  rrdtest_env_set_config (env, "ports", ACTIVE, "timezone = UTC\n");
  g_autoptr (RrdTestFile) f = rrdtest_file_new ("nfcapd.boundary", T0 + 300);
  const guint8 BB = NFSUB_SERVICE_BROADBAND, PPP = NFSUB_ACCESS_PPPOE;
  double sunday = 0, monday = 0;
  for (guint i = 0; i < 40; i++)
    {
      /* Sunday 23:55.. and Monday 00:00.., alternating, then in runs */
      gboolean before = i < 20 ? i % 2 == 0 : (i / 5) % 2 == 0;
      gint64 t = before ? T0 - 300 + i : T0 + i;
      guint64 bytes = 1000 + i;
      add_out (f, 6, 50000, 443, t, bytes, BB, PPP);
      *(before ? &sunday : &monday) += (double) bytes;
    }
  run_ok (env, "ports", f);
  int status;
  g_autofree char *json = g_build_filename (env->dir, "b.json", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *o1 = run_ports_command (env, &status, "--week",
                                           "2024-05-27", "--json", json, NULL);
  g_assert_cmpint (status, ==, 0);
  g_autoptr (NfsubTestJson) w1 = nfsub_test_json_load (json, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (json_total (w1, "broadband-pppoe", 0), ==, sunday);
  g_assert_cmpfloat (nfsub_test_json_number (
                       nfsub_test_json_member (w1, "columns"), "0.files"),
                     ==, 1);
  g_autofree char *o2 = run_ports_command (env, &status, "--week",
                                           "2024-06-03", "--json", json, NULL);
  g_assert_cmpint (status, ==, 0);
  g_autoptr (NfsubTestJson) w2 = nfsub_test_json_load (json, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (json_total (w2, "broadband-pppoe", 0), ==, monday);
  g_assert_cmpfloat (nfsub_test_json_number (
                       nfsub_test_json_member (w2, "columns"), "0.files"),
                     ==, 1);
}

/* A file of flows of the week starting `week` at hour `h`. */
static RrdTestFile *
week_file (const char *name, gint64 week, int h, guint64 bytes443,
           guint64 bytes80)
{
  RrdTestFile *f = rrdtest_file_new (name, week + h * 3600);
  add_out (f, 6, 50000, 443, week + h * 3600, bytes443,
           NFSUB_SERVICE_BROADBAND, NFSUB_ACCESS_PPPOE);
  add_out (f, 6, 50001, 80, week + h * 3600 + 10, bytes80,
           NFSUB_SERVICE_BROADBAND, NFSUB_ACCESS_PPPOE);
  return f;
}

/* Same ISO week in two years, a --compare week, closing, a late file
 * reopening a closed week.  (Files processed twice never reach the
 * plugin: nfsub's ledger skips them; test-rrd-nfsim /rrd-nfsim/duplicates
 * runs them through `nfsub process`.) */
static void
test_years_late (void)
{
  g_autoptr (RrdTestEnv) env = rrdtest_env_new ("ports", ACTIVE, NULL);
  rrdtest_env_set_config (env, "ports", ACTIVE, "timezone = UTC\n");
  g_autoptr (RrdTestFile) y23 = week_file ("nfcapd.2023a", T2023, 30, 100, 10);
  g_autoptr (RrdTestFile) w22 = week_file ("nfcapd.w22", T0 - 7 * 86400, 30,
                                           7, 3);
  g_autoptr (RrdTestFile) y24 = week_file ("nfcapd.2024a", T0, 30, 1000, 20);
  g_autoptr (RrdTestFile) y24b = week_file ("nfcapd.2024b", T0, 100, 500, 0);
  /* late for 2023's week */
  g_autoptr (RrdTestFile) late = week_file ("nfcapd.2023late", T2023, 50, 40, 2);
  run_ok (env, "ports", y23);
  run_ok (env, "ports", w22);
  run_ok (env, "ports", y24);
  g_autofree char *closed23 = g_build_filename (env->state_dir, "ports",
                                                "weeks", "2023-06-05.gv",
                                                NULL);
  g_assert_true (g_file_test (closed23, G_FILE_TEST_EXISTS));
  run_ok (env, "ports", late);
  run_ok (env, "ports", y24b);

  g_autofree char *json = g_build_filename (env->dir, "y.json", NULL);
  int status;
  g_autofree char *out = run_ports_command (env, &status, "--week",
                                            "2024-06-03", "--compare",
                                            "2024-05-29", "--json", json,
                                            NULL);
  g_assert_cmpint (status, ==, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubTestJson) root = nfsub_test_json_load (json, &error);
  g_assert_no_error (error);
  const NfsubTestJson *cols = nfsub_test_json_member (root, "columns");
  g_assert_cmpuint (nfsub_test_json_length (cols), ==, 3);
  g_assert_cmpstr (nfsub_test_json_string (cols, "0.week"), ==, "2023-06-05");
  g_assert_cmpstr (nfsub_test_json_string (cols, "1.week"), ==, "2024-05-27");
  g_assert_cmpstr (nfsub_test_json_string (cols, "2.week"), ==, "2024-06-03");
  g_assert_cmpfloat (nfsub_test_json_number (cols, "0.iso_week"), ==, 23);
  g_assert_cmpfloat (nfsub_test_json_number (cols, "2.iso_week"), ==, 23);
  g_assert_true (nfsub_test_json_type (nfsub_test_json_path (cols, "0.closed"))
                 == NFSUB_TEST_JSON_BOOL);
  const char *S = "broadband-pppoe";
  /* 2023: first file once plus the late file once */
  g_assert_cmpfloat (json_bytes (root, S, "443", "port", 0), ==, 100 + 40);
  g_assert_cmpfloat (json_bytes (root, S, "80", "port", 0), ==, 10 + 2);
  g_assert_cmpfloat (nfsub_test_json_number (cols, "0.files"), ==, 2);
  g_assert_cmpfloat (json_bytes (root, S, "443", "port", 1), ==, 7);
  g_assert_cmpfloat (json_bytes (root, S, "443", "port", 2), ==, 1500);
  g_assert_cmpfloat (json_total (root, S, 2), ==, 1520);

  /* without --compare: only the stored years of ISO week 23 */
  g_autofree char *out2 = run_ports_command (env, &status, "--week",
                                             "2024-06-09", "--json", json,
                                             NULL);
  g_assert_cmpint (status, ==, 0);
  g_autoptr (NfsubTestJson) root2 = nfsub_test_json_load (json, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (nfsub_test_json_length (nfsub_test_json_member (root2, "columns")), ==, 2);
  g_assert_nonnull (strstr (out2, "2023-06-05"));
}

/* Closing a week keeps `keep_ports` ports per series and protocol; the
 * < / >= 1024 totals stay exact and the largest ports survive. */
static void
test_compaction (void)
{
  g_autoptr (RrdTestEnv) env = rrdtest_env_new ("ports", ACTIVE, NULL);
  rrdtest_env_set_config (env, "ports", ACTIVE,
                          "timezone = UTC\n[ports]\nkeep_ports = 10\n"
                          "top = 3\ntcp_ports = 443\nudp_ports = 443\n");
  g_autoptr (RrdTestFile) f = rrdtest_file_new ("nfcapd.many", T0 + 7200);
  double high = 0, low = 0;
  for (guint p = 0; p < 300; p++)
    {
      /* dynamic port 2000+p: bytes decreasing with p */
      guint64 b = 100000 - p * 300;
      add_out (f, 6, (guint16) (2000 + p), 60000, T0 + 7200, b,
               NFSUB_SERVICE_BROADBAND, NFSUB_ACCESS_IPOE);
      high += (double) b;
      add_out (f, 6, (guint16) (1 + p % 1000), 60000, T0 + 7200, 10,
               NFSUB_SERVICE_BROADBAND, NFSUB_ACCESS_IPOE);
      low += 10;
    }
  run_ok (env, "ports", f);
  /* a flow of the next week, 8 days on, closes this one */
  g_autoptr (RrdTestFile) next = week_file ("nfcapd.next", T0 + 8 * 86400, 1,
                                            1, 1);
  run_ok (env, "ports", next);
  g_autofree char *closed = g_build_filename (env->state_dir, "ports",
                                              "weeks", "2024-06-03.gv", NULL);
  g_assert_true (g_file_test (closed, G_FILE_TEST_EXISTS));

  g_autofree char *json = g_build_filename (env->dir, "c.json", NULL);
  int status;
  g_autofree char *out = run_ports_command (env, &status, "--week",
                                            "2024-06-03", "--service",
                                            "broadband", "--json", json,
                                            NULL);
  g_assert_cmpint (status, ==, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubTestJson) root = nfsub_test_json_load (json, &error);
  g_assert_no_error (error);
  const char *S = "broadband-ipoe";
  g_assert_cmpfloat (json_bytes (root, S, "TCP (>= 1024)", "group", 0), ==, high);
  g_assert_cmpfloat (json_bytes (root, S, "TCP (< 1024)", "group", 0), ==, low);
  g_assert_cmpfloat (json_bytes (root, S, "2000", "port", 0), ==, 100000);
  g_assert_cmpfloat (json_bytes (root, S, "2002", "port", 0), ==, 100000 - 600);
  g_assert_null (json_row (root, S, "2003", "port")); /* top 3 */
  g_autofree char *bad = run_ports_command (env, &status, "--week",
                                            "2024-06-03", "--top", "11",
                                            NULL);
  g_assert_cmpint (status, ==, 2);
}

/* Random flows through ports and hourly: each RRD category equals the
 * bytes of its flows, categories add up to the total, and the total
 * equals the hourly plugin's IN/OUT for the same series. */
static void
test_rrd_categories (void)
{
  g_autoptr (RrdTestEnv) env = rrdtest_env_new ("ports;hourly", ACTIVE, NULL);
  g_autoptr (GRand) rng = g_rand_new_with_seed (99);
  const guint n_files = 16;
  /* expected[bin][dir][cat] for broadband-all, whole flows in one bin */
  GHashTable *expected = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                g_free, g_free);
  guint64 wm = 0;
  for (guint i = 0; i < n_files; i++)
    {
      g_autoptr (RrdTestFile) f = rrdtest_file_new ("nfcapd.r", T0 + i * STEP);
      g_free (f->path);
      f->path = g_strdup_printf ("nfcapd.r%u", i);
      f->info.path = f->path;
      for (guint k = 0; k < 300; k++)
        {
          gint64 bin = T0 + (gint64) i * STEP;
          guint64 first = ms (bin) + (guint64) g_rand_int_range (rng, 0, 299000);
          guint64 last = first + (guint64) g_rand_int_range (rng, 0, 1000);
          last = MIN (last, ms (bin + STEP) - 1);
          static const guint8 protos[] = { 6, 6, 6, 17, 17, 50 };
          guint8 proto = protos[g_rand_int_range (rng, 0, 6)];
          static const guint16 ports[] = { 80, 443, 443, 22, 8080, 40000 };
          guint16 sp = (guint16) g_rand_int_range (rng, 1024, 65536);
          guint16 dp = ports[g_rand_int_range (rng, 0, 6)];
          guint64 bytes = (guint64) g_rand_int_range (rng, 40, 5000000);
          NfsubFlow *flow = rrdtest_file_add (f, proto, sp, dp, first, last,
                                              bytes);
          gboolean out = g_rand_boolean (rng);
          rrdtest_tag (out ? &flow->dst_tag : &flow->src_tag,
                       NFSUB_SERVICE_BROADBAND,
                       g_rand_boolean (rng) ? NFSUB_ACCESS_PPPOE
                                            : NFSUB_ACCESS_IPOE);
          flow->direction = out ? NFSUB_DIR_OUT : NFSUB_DIR_IN;
          wm = MAX (wm, last);
          /* the category, written out here independently */
          guint16 lower = MIN (sp, dp);
          int cat;
          if (proto == 6 && lower == 80)
            cat = 0;
          else if (proto == 6 && lower == 443)
            cat = 1;
          else if (proto == 6 && lower >= 1024)
            cat = 2;
          else if (proto == 17 && lower == 443)
            cat = 3;
          else
            cat = 4;
          gint64 key = (gint64) (first / 1000 / STEP * STEP);
          double *row = g_hash_table_lookup (expected, &key);
          if (!row)
            {
              gint64 *k = g_new (gint64, 1);
              *k = key;
              row = g_new0 (double, 10);
              g_hash_table_insert (expected, k, row);
            }
          row[(out ? 5 : 0) + cat] += (double) bytes;
        }
      RrdTestFile *files[] = { f };
      g_autoptr (GError) error = NULL;
      if (!rrdtest_run (env, "ports", files, 1, &error)
          || !rrdtest_run (env, "hourly", files, 1, &error))
        g_error ("run %u: %s", i, error->message);
    }
  g_autofree char *pfile = g_build_filename (env->rrd_dir, "ports",
                                             "broadband-all.rrd", NULL);
  g_autofree char *hfile = g_build_filename (env->rrd_dir, "hourly",
                                             "broadband-all.rrd", NULL);
  g_autoptr (RrdTestFetch) p = rrdtest_fetch (pfile, "AVERAGE", STEP,
                                              T0 - STEP, T0 + n_files * STEP,
                                              NULL);
  g_autoptr (RrdTestFetch) h = rrdtest_fetch (hfile, "AVERAGE", STEP,
                                              T0 - STEP, T0 + n_files * STEP,
                                              NULL);
  static const char *const cats[] = { "tcp80", "tcp443", "tcpdyn", "udp443",
                                      "other" };
  guint checked = 0;
  for (gint64 b = T0; b < T0 + n_files * STEP; b += STEP)
    {
      if (ms (b + STEP + ACTIVE + STEP) > wm)
        {
          g_assert_true (isnan (rrdtest_fetch_value (p, b + STEP, "in_total")));
          continue;
        }
      double *row = g_hash_table_lookup (expected, &b);
      g_assert_nonnull (row);
      for (guint d = 0; d < 2; d++)
        {
          double sum = 0, want_total = 0;
          for (guint c = 0; c < 5; c++)
            {
              g_autofree char *ds = g_strdup_printf ("%s_%s", d ? "out" : "in",
                                                     cats[c]);
              double v = rrdtest_fetch_value (p, b + STEP, ds) * STEP;
              g_assert_cmpfloat_with_epsilon (v, row[d * 5 + c],
                                              1e-6 * row[d * 5 + c] + 1);
              sum += v;
              want_total += row[d * 5 + c];
            }
          double total = rrdtest_fetch_value (p, b + STEP,
                                              d ? "out_total" : "in_total")
                         * STEP;
          g_assert_cmpfloat_with_epsilon (sum, total, 1e-6 * total + 5);
          g_assert_cmpfloat_with_epsilon (total, want_total,
                                          1e-6 * want_total + 1);
          double hourly = rrdtest_fetch_value (h, b + STEP, d ? "out" : "in")
                          * STEP;
          g_assert_cmpfloat_with_epsilon (total, hourly, 1e-6 * total + 1);
        }
      checked++;
    }
  g_assert_cmpuint (checked, >=, n_files - 3);
  g_hash_table_unref (expected);
}

static void
expect_config_error (const char *extra, const char *needle)
{
  g_autoptr (RrdTestEnv) env = rrdtest_env_new ("ports", ACTIVE, extra);
  g_autoptr (GError) error = NULL;
  g_assert_false (rrdtest_run (env, "ports", NULL, 0, &error));
  if (!strstr (error->message, needle))
    g_error ("error '%s' does not name '%s'", error->message, needle);
}

static void
test_config_errors (void)
{
  expect_config_error ("[ports]\ntcp_ports = 443;http\n", "tcp_ports");
  expect_config_error ("[ports]\ntop = 50\nkeep_ports = 10\n", "top");
  expect_config_error ("[ports]\nseries = mobile-dsl\n", "mobile-dsl");
  expect_config_error ("[ports]\nkeep = 3\n", "keep");
}

/* The exit status of `nfsub ports` tells no data from a failure
 * (README.md, "Exit status"): 0 a stored week, 3 a week not stored (in an
 * empty state and beside a stored week), 2 bad arguments, 1 a state that
 * cannot be read or a JSON file that cannot be written; the nfsub binary
 * passes the status on. */
static void
test_exit_codes (void)
{
  g_autoptr (RrdTestEnv) env = rrdtest_env_new ("ports", ACTIVE, NULL);
  rrdtest_env_set_config (env, "ports", ACTIVE, "timezone = UTC\n");
  int status = -1;
  g_autofree char *o1 = run_ports_command (env, &status, "--week",
                                           "2024-06-05", NULL);
  g_assert_cmpint (status, ==, 3);

  g_autoptr (RrdTestFile) f = rrdtest_file_new ("nfcapd.exit", T0 + 300);
  add_out (f, 6, 50000, 443, T0 + 10, 1000, NFSUB_SERVICE_BROADBAND,
           NFSUB_ACCESS_PPPOE);
  run_ok (env, "ports", f);
  g_autofree char *o2 = run_ports_command (env, &status, "--week",
                                           "2024-06-05", NULL);
  g_assert_cmpint (status, ==, 0);
  g_autofree char *o3 = run_ports_command (env, &status, "--week",
                                           "2024-06-12", NULL);
  g_assert_cmpint (status, ==, 3);

  g_autofree char *o4 = run_ports_command (env, &status, "--weak",
                                           "2024-06-05", NULL);
  g_assert_cmpint (status, ==, 2);
  g_autofree char *o5 = run_ports_command (env, &status, NULL);
  g_assert_cmpint (status, ==, 2);
  g_autofree char *o6 = run_ports_command (env, &status, "--week",
                                           "2024-13-45", NULL);
  g_assert_cmpint (status, ==, 2);

  g_autofree char *bad_json = g_build_filename (env->dir, "no-such-dir",
                                                "w.json", NULL);
  g_autofree char *o7 = run_ports_command (env, &status, "--week",
                                           "2024-06-05", "--json", bad_json,
                                           NULL);
  g_assert_cmpint (status, ==, 1);

  /* the real binary, on a state file that is not one: a failure, not
   * "no data" */
  const char *builddir = g_getenv ("NFSUB_BUILDDIR");
  g_autofree char *nfsub = g_build_filename (builddir ? builddir : ".",
                                             "src", "nfsub", NULL);
  const char *argv3[] = { nfsub, "-c", env->config_path, "ports", "--week",
                          "2024-06-12", NULL };
  g_autofree char *o8 = rrdtest_run_command (argv3, &status);
  g_assert_cmpint (status, ==, 3);
  g_autofree char *state = g_build_filename (env->state_dir, "ports",
                                             "state.gv", NULL);
  g_assert_true (g_file_test (state, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_set_contents (state, "not a state", -1, NULL));
  g_autofree char *o9 = rrdtest_run_command (argv3, &status);
  g_assert_cmpint (status, ==, 1);
  g_autofree char *o10 = run_ports_command (env, &status, "--week",
                                            "2024-06-05", NULL);
  g_assert_cmpint (status, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ports/lower-port-rule", test_lower_port_rule);
  g_test_add_func ("/ports/years-late", test_years_late);
  g_test_add_func ("/ports/json-text", test_json_text);
  g_test_add_func ("/ports/week-boundary", test_week_boundary);
  g_test_add_func ("/ports/compaction", test_compaction);
  g_test_add_func ("/ports/rrd-categories", test_rrd_categories);
  g_test_add_func ("/ports/config-errors", test_config_errors);
  g_test_add_func ("/ports/exit-codes", test_exit_codes);
  return g_test_run ();
}
