/* usage: RADIUS accounting counters from a real FreeRADIUS server.
 *
 * A FreeRADIUS 3.2 on loopback (started with the subscriber tests' helper,
 * recipe in docs/real-peers.md) receives Start/Interim-Update/Stop
 * requests from radclient and writes its detail file; the usage plugin
 * reads that file and must find the per-day counters worked out by hand
 * below.  FreeRADIUS rewrites Event-Timestamp, adds Timestamp and
 * Acct-Unique-Session-Id: this is what the plugin meets in production. */
#include "config.h"

#include <string.h>

#include <nfsub/nfsub.h>

#include "../../src/lib/host-private.h"
#include "../../tests/testutil.h"
#include "plugins/subscriber/test-peers.h"
#include "store.h"

extern const NfsubPluginDesc nfsub_plugin_v1;

/* 2024-06-03 23:30:00 UTC */
#define T0 1717457400

/* Session A (user m1): Start 23:30; Interim 00:30 with IN 3600, OUT 36000;
 * Stop 01:00 with IN 5400, OUT 54000.
 *   23:30-00:30: 3600 -> 1800 on June 3, 1800 on June 4
 *   00:30-01:00: 1800 -> June 4
 *   June 3: IN 1800, OUT 18000; June 4: IN 3600, OUT 36000.
 * Session B (user m2), no Start, one Stop at 12:00 June 4 after 1 h:
 *   IN 2 x 2^32 + 7 (Gigawords 2), OUT 11 -> all June 4.
 * The Interim of A is sent twice (a retransmission): counted once. */
static const char packets[] =
  "Acct-Status-Type = Start\n"
  "User-Name = \"m1\"\n"
  "Acct-Session-Id = \"a1\"\n"
  "NAS-IP-Address = 192.0.2.101\n"
  "Framed-IP-Address = 100.64.0.1\n"
  "Event-Timestamp = 1717457400\n"
  "\n"
  "Acct-Status-Type = Interim-Update\n"
  "User-Name = \"m1\"\n"
  "Acct-Session-Id = \"a1\"\n"
  "NAS-IP-Address = 192.0.2.101\n"
  "Framed-IP-Address = 100.64.0.1\n"
  "Acct-Session-Time = 3600\n"
  "Acct-Input-Octets = 3600\n"
  "Acct-Output-Octets = 36000\n"
  "Event-Timestamp = 1717461000\n"
  "\n"
  "Acct-Status-Type = Interim-Update\n"
  "User-Name = \"m1\"\n"
  "Acct-Session-Id = \"a1\"\n"
  "NAS-IP-Address = 192.0.2.101\n"
  "Framed-IP-Address = 100.64.0.1\n"
  "Acct-Session-Time = 3600\n"
  "Acct-Input-Octets = 3600\n"
  "Acct-Output-Octets = 36000\n"
  "Event-Timestamp = 1717461000\n"
  "\n"
  "Acct-Status-Type = Stop\n"
  "User-Name = \"m1\"\n"
  "Acct-Session-Id = \"a1\"\n"
  "NAS-IP-Address = 192.0.2.101\n"
  "Framed-IP-Address = 100.64.0.1\n"
  "Acct-Session-Time = 5400\n"
  "Acct-Input-Octets = 5400\n"
  "Acct-Output-Octets = 54000\n"
  "Event-Timestamp = 1717462800\n"
  "\n"
  "Acct-Status-Type = Stop\n"
  "User-Name = \"m2\"\n"
  "Acct-Session-Id = \"b1\"\n"
  "NAS-IP-Address = 192.0.2.101\n"
  "Framed-IP-Address = 100.64.0.2\n"
  "Acct-Session-Time = 3600\n"
  "Acct-Input-Octets = 7\n"
  "Acct-Input-Gigawords = 2\n"
  "Acct-Output-Octets = 11\n"
  "Event-Timestamp = 1717502400\n";

static void
day_counters (const char *state, int day, GHashTable *out)
{
  g_autofree char *dir = g_build_filename (state, "usage", "radius", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (UsageStore) s = usage_store_open (dir, FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (UsageDayData) dd = usage_store_read_day (
      s, usage_julian_from_ymd (2024, 6, day), &error);
  g_assert_no_error (error);
  g_autoptr (UsageMerge) m = usage_merge_new ();
  for (guint i = 0; i < dd->readers->len; i++)
    usage_merge_add (m, dd->readers->pdata[i], i, 0);
  g_assert_true (usage_merge_start (m, &error));
  const char *key;
  gsize len;
  guint8 meta;
  UsageCounters c;
  while (usage_merge_next (m, &key, &len, &meta, &c, NULL, &error) > 0)
    g_hash_table_insert (out, g_strdup (key), g_memdup2 (&c, sizeof c));
  g_assert_no_error (error);
}

static void
test_freeradius (void)
{
  g_autofree char *dir = nfsub_test_tmpdir ("usage-freeradius");
  g_autofree char *skip = NULL;
  g_autoptr (GError) error = NULL;
  TestRadius *radius = test_radius_start (dir, &skip, &error);
  if (!radius && skip)
    {
      g_test_skip (skip);
      nfsub_test_rm_rf (dir);
      return;
    }
  g_assert_no_error (error);
  g_assert_true (test_radius_send (radius, packets, &error));
  g_assert_no_error (error);
  test_radius_stop (radius);

  g_autofree char *acct = g_build_filename (dir, "radacct", NULL);
  g_autofree char *state = g_build_filename (dir, "state", NULL);
  g_autofree char *conf = g_build_filename (dir, "nfsub.conf", NULL);
  g_autofree char *text = g_strdup_printf (
      "[nfsub]\nstate_dir = %s\ntimezone = UTC\n"
      "[usage]\nradius_detail = mobile=%s\n", state, acct);
  g_assert_true (g_file_set_contents (conf, text, -1, NULL));
  NfsubHost *host = nfsub_host_new (conf, NULL, &error);
  g_assert_no_error (error);
  gpointer self = nfsub_plugin_v1.init (host, nfsub_host_config (host), "usage",
                                        &error);
  g_assert_no_error (error);
  g_assert_true (nfsub_plugin_v1.finish (self, &error));
  g_assert_no_error (error);
  nfsub_plugin_v1.free (self);
  nfsub_host_free (host);

  g_autoptr (GHashTable) d3 = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                     g_free, g_free);
  g_autoptr (GHashTable) d4 = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                     g_free, g_free);
  day_counters (state, 3, d3);
  day_counters (state, 4, d4);
  const UsageCounters *a3 = g_hash_table_lookup (d3, "mobile:m1");
  const UsageCounters *a4 = g_hash_table_lookup (d4, "mobile:m1");
  const UsageCounters *b4 = g_hash_table_lookup (d4, "mobile:m2");
  g_assert_nonnull (a3);
  g_assert_nonnull (a4);
  g_assert_nonnull (b4);
  g_assert_null (g_hash_table_lookup (d3, "mobile:m2"));
  g_assert_cmpuint (a3->in_bytes, ==, 1800);
  g_assert_cmpuint (a3->out_bytes, ==, 18000);
  g_assert_cmpuint (a4->in_bytes, ==, 3600);
  g_assert_cmpuint (a4->out_bytes, ==, 36000);
  g_assert_cmpuint (b4->in_bytes, ==, (G_GUINT64_CONSTANT (2) << 32) + 7);
  g_assert_cmpuint (b4->out_bytes, ==, 11);
  nfsub_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/usage/radius/freeradius", test_freeradius);
  return g_test_run ();
}
