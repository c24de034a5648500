/* The Kea source against the lease file a real kea-dhcp6 writes: the test
 * adds, renews and deletes delegations over Kea's control socket and
 * checks the bindings against the wall-clock times of its own commands. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "plugins/subscriber/subscriber.h"
#include "plugins/subscriber/test-peers.h"
#include "tests/testutil.h"

#define D_ALICE "00:03:00:01:aa:bb:cc:dd:ee:01"
#define D_BOB "00:03:00:01:aa:bb:cc:dd:ee:02"
#define D_NOBODY "00:03:00:01:aa:bb:cc:dd:ee:03"
#define D_DAVE "00:03:00:01:aa:bb:cc:dd:ee:04"

static gint64
now_s (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static void
kea (TestKea *k, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
kea (TestKea *k, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *json = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_autoptr (GError) error = NULL;
  g_autofree char *answer = test_kea_command (k, json, &error);
  g_assert_no_error (error);
  if (!strstr (answer, "\"result\": 0"))
    g_error ("kea refused %s: %s", json, answer);
}

static void
add_pd (TestKea *k, const char *prefix, const char *duid, guint valid)
{
  kea (k,
       "{\"command\": \"lease6-add\", \"arguments\": {\"subnet-id\": 1, "
       "\"ip-address\": \"%s\", \"prefix-len\": 56, \"type\": \"IA_PD\", "
       "\"duid\": \"%s\", \"iaid\": 1, \"valid-lft\": %u}}",
       prefix, duid, valid);
}

static const char *
who (SubIndex *ix, const char *addr, gint64 t)
{
  NfsubAddr a;
  g_assert_true (nfsub_addr_parse (addr, &a));
  guint32 id = lease_table_lookup (ix->table, &a, (guint32) t);
  return id ? lease_table_user (ix->table,
                                lease_table_binding (ix->table, id)->user)
                ->key
            : "-";
}

static const LeaseBinding *
binding_at (SubIndex *ix, const char *addr, gint64 t)
{
  NfsubAddr a;
  g_assert_true (nfsub_addr_parse (addr, &a));
  guint32 id = lease_table_lookup (ix->table, &a, (guint32) t);
  g_assert_cmpuint (id, !=, 0);
  return lease_table_binding (ix->table, id);
}

static SubConfig *
make_config (const char *lease_file, const char *map, gboolean skip)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_key_file_set_string (kf, "subscriber", "kea_leases", lease_file);
  g_key_file_set_string (kf, "subscriber", "kea_duid_map", map);
  if (skip)
    g_key_file_set_string (kf, "subscriber", "on_error", "skip");
  g_autoptr (GError) error = NULL;
  SubConfig *c = sub_config_load (NULL, kf, "subscriber", &error);
  g_assert_no_error (error);
  return c;
}

static void
test_kea (void)
{
  g_autofree char *dir = nfsub_test_tmpdir ("kea-real");
  g_autofree char *skip = NULL;
  g_autoptr (GError) error = NULL;
  TestKea *k = test_kea_start (dir, &skip, &error);
  if (skip)
    {
      g_test_skip (skip);
      nfsub_test_rm_rf (dir);
      return;
    }
  g_assert_no_error (error);

  g_autofree char *map = g_build_filename (dir, "duid-users.csv", NULL);
  test_write_file (map,
                   "duid,user,service,class,access\n"
                   "# IPoE subscribers\n"
                   D_ALICE ",alice\n"
                   "00030001AABBCCDDEE02,bob,broadband,enterprise,\n"
                   D_DAVE ",dave,,,\n");

  gint64 t1 = now_s ();
  add_pd (k, "2001:db8:100:100::", D_ALICE, 86400);
  add_pd (k, "2001:db8:100:200::", D_BOB, 3600);
  add_pd (k, "2001:db8:100:300::", D_NOBODY, 3600);
  gint64 t1_end = now_s ();
  g_usleep (2100000);
  gint64 t2 = now_s ();
  kea (k, "{\"command\": \"lease6-del\", \"arguments\": {\"ip-address\": "
          "\"2001:db8:100:100::\", \"type\": \"IA_PD\"}}");
  g_usleep (2100000);
  gint64 t3 = now_s ();
  add_pd (k, "2001:db8:100:100::", D_DAVE, 600);
  kea (k, "{\"command\": \"lease6-update\", \"arguments\": {\"subnet-id\": 1, "
          "\"ip-address\": \"2001:db8:100:200::\", \"prefix-len\": 56, "
          "\"type\": \"IA_PD\", \"duid\": \"" D_BOB "\", \"iaid\": 1, "
          "\"valid-lft\": 7200}}");
  gint64 t3_end = now_s ();

  SubConfig *c = make_config (k->lease_file, map, FALSE);
  g_autofree char *index = g_build_filename (dir, "index.bin", NULL);
  SubIndex *ix = sub_index_new (c);
  g_assert_true (sub_index_load (ix, index, &error));
  g_assert_true (sub_index_refresh (ix, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ix->kea.malformed, ==, 0);
  /* 3 adds, 1 delete, 1 add, 1 update */
  g_assert_cmpuint (ix->kea.records, ==, 6);

  /* alice held ...100::/56 from her add until the delete */
  g_assert_cmpstr (who (ix, "2001:db8:100:100::1", t1 - 1), ==, "-");
  g_assert_cmpstr (who (ix, "2001:db8:100:1ff:1:2:3:4", t1_end), ==,
                   "ipoe:alice");
  const LeaseBinding *b = binding_at (ix, "2001:db8:100:100::1", t1_end);
  g_assert_cmpint (b->start, >=, t1);
  g_assert_cmpint (b->start, <=, t1_end);
  /* Kea's delete row has no time: the binding ends at the next grant */
  g_assert_cmpint (b->end, >=, t2);
  g_assert_cmpint (b->end, <=, t3_end);
  g_assert_cmpstr (who (ix, "2001:db8:100:100::1", t3_end), ==, "ipoe:dave");
  b = binding_at (ix, "2001:db8:100:100::1", t3_end);
  g_assert_cmpint (b->end - b->start, ==, 600);

  /* bob: class from the map, renewed to 7200 s from the update */
  g_assert_cmpstr (who (ix, "2001:db8:100:2aa::1", t1_end), ==, "ipoe:bob");
  b = binding_at (ix, "2001:db8:100:2aa::1", t1_end);
  g_assert_cmpint (b->start, >=, t1);
  g_assert_cmpint (b->start, <=, t1_end);
  g_assert_cmpint (b->end, >=, t3 + 7200);
  g_assert_cmpint (b->end, <=, t3_end + 7200);
  const LeaseUser *u = lease_table_user (
    ix->table, lease_table_find_user (ix->table, "ipoe:bob"));
  g_assert_cmpint (u->user_class, ==, NFSUB_CLASS_ENTERPRISE);
  g_assert_cmpint (u->service, ==, NFSUB_SERVICE_BROADBAND);
  g_assert_cmpint (u->access, ==, NFSUB_ACCESS_IPOE);
  u = lease_table_user (ix->table,
                        lease_table_find_user (ix->table, "ipoe:alice"));
  g_assert_cmpint (u->user_class, ==, NFSUB_CLASS_PERSONAL);

  /* an unmapped DUID is still a subscriber, named after its DUID */
  g_assert_cmpstr (who (ix, "2001:db8:100:300::1", t1_end), ==,
                   "ipoe:duid-00030001aabbccddee03");
  g_assert_cmpstr (who (ix, "2001:db8:100:400::1", t1_end), ==, "-");
  g_assert_true (sub_index_save (ix, index, &error));
  sub_index_free (ix);

  /* incremental: only the new row is read */
  add_pd (k, "2001:db8:100:400::", D_ALICE, 3600);
  gint64 t4 = now_s ();
  ix = sub_index_new (c);
  g_assert_true (sub_index_load (ix, index, &error));
  g_assert_true (sub_index_refresh (ix, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ix->kea.records, ==, 1);
  g_assert_cmpstr (who (ix, "2001:db8:100:400::1", t4), ==, "ipoe:alice");
  g_assert_cmpstr (who (ix, "2001:db8:100:100::1", t3_end), ==, "ipoe:dave");
  sub_index_free (ix);
  test_kea_stop (k);

  /* a damaged copy: one clear error naming file and line, or skipped */
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (c->kea_leases[0], &text, NULL, NULL));
  g_autofree char *bad_path = g_build_filename (dir, "bad.csv", NULL);
  g_autofree char *bad = g_strconcat (
    text, "2001:db8:100:500::,zz:zz,3600,1717372800,1,7200,2,1,56,0,0,,,0,,,\n",
    "2001:db8:100:600::," D_BOB ",3600,1717372800,1,7200,2,1,56,0,0,,,0,,,\n",
    "garbage\n", NULL);
  test_write_file (bad_path, bad);
  guint rows = 0;
  for (const char *p = text; *p; p++)
    rows += *p == '\n';
  SubConfig *cb = make_config (bad_path, map, FALSE);
  ix = sub_index_new (cb);
  g_assert_false (sub_index_refresh (ix, &error));
  g_autofree char *where = g_strdup_printf ("%s: line %u: bad duid 'zz:zz'",
                                            bad_path, rows + 1);
  g_assert_nonnull (error);
  if (!g_str_has_prefix (error->message, where))
    g_error ("got '%s', want '%s'", error->message, where);
  g_clear_error (&error);
  sub_index_free (ix);
  sub_config_free (cb);

  g_log_set_always_fatal (G_LOG_FATAL_MASK);
  cb = make_config (bad_path, map, TRUE);
  ix = sub_index_new (cb);
  g_assert_true (sub_index_refresh (ix, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ix->kea.malformed, ==, 2);
  g_assert_cmpstr (who (ix, "2001:db8:100:600::1", 1717372800 - 3600), ==,
                   "ipoe:bob");
  sub_index_free (ix);
  sub_config_free (cb);

  sub_config_free (c);
  nfsub_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kea-real/leases", test_kea);
  return g_test_run ();
}
