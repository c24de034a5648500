/* The detail reader and the RADIUS source against files a real FreeRADIUS
 * server writes: radclient sends Start/Interim/Stop on loopback, the test
 * parses what the server wrote and compares with what was sent. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "plugins/subscriber/subscriber.h"
#include "plugins/subscriber/test-peers.h"
#include "tests/testutil.h"

#define T0 G_GINT64_CONSTANT (1717372800) /* 2024-06-03 00:00:00 UTC */

static const char first_batch[] =
  "Acct-Status-Type = Start\n"
  "User-Name = \"alice@isp.example\"\n"
  "Acct-Session-Id = \"s-alice-1\"\n"
  "NAS-IP-Address = 192.0.2.1\n"
  "Framed-IP-Address = 100.64.0.1\n"
  "Framed-IPv6-Prefix = 2001:db8:ff00:1::/64\n"
  "Delegated-IPv6-Prefix = 2001:db8:100:100::/56\n"
  "Calling-Station-Id = \"00:11:22:33:44:55\"\n"
  "Event-Timestamp = 1717372800\n"
  "\n"
  "Acct-Status-Type = Interim-Update\n"
  "User-Name = \"alice@isp.example\"\n"
  "Acct-Session-Id = \"s-alice-1\"\n"
  "NAS-IP-Address = 192.0.2.1\n"
  "Framed-IP-Address = 100.64.0.1\n"
  "Acct-Session-Time = 600\n"
  "Acct-Input-Octets = 1000\n"
  "Acct-Output-Octets = 20000\n"
  "Event-Timestamp = 1717373400\n"
  "\n"
  "Acct-Status-Type = Stop\n"
  "User-Name = \"alice@isp.example\"\n"
  "Acct-Session-Id = \"s-alice-1\"\n"
  "NAS-IP-Address = 192.0.2.1\n"
  "Framed-IP-Address = 100.64.0.1\n"
  "Acct-Session-Time = 3600\n"
  "Acct-Input-Octets = 5000\n"
  "Acct-Output-Octets = 123456\n"
  "Acct-Output-Gigawords = 3\n"
  "Acct-Terminate-Cause = User-Request\n"
  "Event-Timestamp = 1717376400\n"
  "\n"
  "Acct-Status-Type = Start\n"
  "User-Name = \"bob@isp.example\"\n"
  "Acct-Session-Id = \"s-bob-1\"\n"
  "NAS-IP-Address = 192.0.2.1\n"
  "Framed-IP-Address = 100.64.0.1\n"
  "Event-Timestamp = 1717376500\n"
  "\n"
  "Acct-Status-Type = Start\n"
  "User-Name = \"imsi-440101234567890\"\n"
  "Calling-Station-Id = \"0901234567\"\n"
  "Acct-Session-Id = \"m-1\"\n"
  "NAS-IP-Address = 192.0.2.9\n"
  "Framed-IP-Address = 10.200.0.5\n"
  "Event-Timestamp = 1717372900\n"
  "\n"
  "Acct-Status-Type = Start\n"
  "User-Name = \"we\\\"ird\\\\name\"\n"
  "Acct-Session-Id = \"s-w\"\n"
  "NAS-IP-Address = 192.0.2.1\n"
  "Framed-IP-Address = 100.64.0.99\n"
  "Event-Timestamp = 1717373000\n";

static const char second_batch[] =
  "Acct-Status-Type = Stop\n"
  "User-Name = \"bob@isp.example\"\n"
  "Acct-Session-Id = \"s-bob-1\"\n"
  "NAS-IP-Address = 192.0.2.1\n"
  "Acct-Session-Time = 3500\n"
  "Event-Timestamp = 1717380000\n"
  "\n"
  "Acct-Status-Type = Start\n"
  "User-Name = \"carol@isp.example\"\n"
  "Acct-Session-Id = \"s-carol-1\"\n"
  "NAS-IP-Address = 192.0.2.1\n"
  "Framed-IP-Address = 100.64.0.2\n"
  "Event-Timestamp = 1717380100\n";

typedef struct {
  char *dir;
  TestRadius *radius;
  gint64 sent_from, sent_until; /* wall clock around the sending */
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = nfsub_test_tmpdir ("radius-real");
  g_autofree char *skip = NULL;
  g_autoptr (GError) error = NULL;
  f->radius = test_radius_start (f->dir, &skip, &error);
  if (skip)
    {
      g_test_skip (skip);
      return;
    }
  g_assert_no_error (error);
  f->sent_from = g_get_real_time () / G_USEC_PER_SEC;
  g_assert_true (test_radius_send (f->radius, first_batch, &error));
  g_assert_no_error (error);
  f->sent_until = g_get_real_time () / G_USEC_PER_SEC + 1;
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  test_radius_stop (f->radius);
  nfsub_test_rm_rf (f->dir);
  g_free (f->dir);
}

static void
test_parse (Fixture *f, gconstpointer data)
{
  if (!f->radius)
    return;
  g_auto (GStrv) files = test_radius_detail_files (f->radius);
  g_assert_cmpuint (g_strv_length (files), >=, 1);
  g_autoptr (GError) error = NULL;
  guint n = 0;
  static const struct {
    NfsubRadiusStatus status;
    const char *user, *session, *framed;
    gint64 event;
  } want[] = {
    { NFSUB_RADIUS_STATUS_START, "alice@isp.example", "s-alice-1",
      "100.64.0.1", T0 },
    { NFSUB_RADIUS_STATUS_INTERIM, "alice@isp.example", "s-alice-1",
      "100.64.0.1", T0 + 600 },
    { NFSUB_RADIUS_STATUS_STOP, "alice@isp.example", "s-alice-1",
      "100.64.0.1", T0 + 3600 },
    { NFSUB_RADIUS_STATUS_START, "bob@isp.example", "s-bob-1", "100.64.0.1",
      T0 + 3700 },
    { NFSUB_RADIUS_STATUS_START, "imsi-440101234567890", "m-1", "10.200.0.5",
      T0 + 100 },
    { NFSUB_RADIUS_STATUS_START, "we\"ird\\name", "s-w", "100.64.0.99",
      T0 + 200 },
  };
  for (char **p = files; *p; p++)
    {
      g_autoptr (NfsubRadiusDetail) d
        = nfsub_radius_detail_open (*p, 0, 0, 0, &error);
      g_assert_no_error (error);
      const NfsubRadiusRecord *r;
      int rc;
      guint64 prev_end = 0;
      while ((rc = nfsub_radius_detail_next (d, &r, &error)) == 1)
        {
          g_assert_cmpuint (n, <, G_N_ELEMENTS (want));
          g_assert_cmpuint (r->offset, ==, prev_end);
          prev_end = r->end_offset;
          if (n == 0)
            g_assert_cmpuint (r->line, ==, 1);
          g_assert_cmpint (nfsub_radius_record_status (r), ==, want[n].status);
          g_assert_cmpstr (nfsub_radius_record_get (r, "User-Name"), ==,
                           want[n].user);
          g_assert_cmpstr (nfsub_radius_record_get (r, "Acct-Session-Id"), ==,
                           want[n].session);
          NfsubAddr a, expect;
          g_assert_true (nfsub_radius_record_get_addr (r, "Framed-IP-Address",
                                                       &a, &error));
          g_assert_true (nfsub_addr_parse (want[n].framed, &expect));
          g_assert_true (nfsub_addr_equal (&a, &expect));
          gint64 t;
          /* the server rewrote the epoch we sent as "Jun  3 2024 ..." */
          g_assert_cmpstr (nfsub_radius_record_get (r, "Event-Timestamp"), !=,
                           NULL);
          g_assert_null (strchr ("0123456789",
                                 nfsub_radius_record_get (r, "Event-Timestamp")[0]));
          g_assert_true (nfsub_radius_record_get_time (r, "Event-Timestamp",
                                                       NULL, &t, &error));
          g_assert_cmpint (t, ==, want[n].event);
          g_assert_cmpint (nfsub_radius_record_event_time (r, NULL, &error), ==,
                           want[n].event);
          gint64 arrival = nfsub_radius_record_arrival_time (r, NULL, &error);
          g_assert_cmpint (arrival, >=, f->sent_from);
          g_assert_cmpint (arrival, <=, f->sent_until);
          /* the date line is the arrival in the server's zone; our TZ is
           * the server's, so read it in the local zone */
          g_autoptr (GTimeZone) local = g_time_zone_new_local ();
          g_assert_true (nfsub_radius_parse_date_line (r->date, local, &t));
          g_assert_cmpint (t, >=, f->sent_from - 1);
          g_assert_cmpint (t, <=, f->sent_until);
          const char *unique = nfsub_radius_record_get (r,
                                                        "Acct-Unique-Session-Id");
          g_assert_nonnull (unique);
          g_assert_cmpuint (strlen (unique), ==, 32);
          if (n == 0)
            {
              guint plen;
              g_assert_true (nfsub_radius_record_get_prefix (
                r, "Delegated-IPv6-Prefix", &a, &plen, &error));
              g_assert_true (nfsub_addr_parse ("2001:db8:100:100::", &expect));
              g_assert_true (nfsub_addr_equal (&a, &expect));
              g_assert_cmpuint (plen, ==, 56);
              g_assert_cmpstr (nfsub_radius_record_get (r, "Calling-Station-Id"),
                               ==, "00:11:22:33:44:55");
            }
          if (n == 2)
            {
              guint64 v;
              g_assert_true (nfsub_radius_record_get_octets (r, TRUE, &v,
                                                             &error));
              g_assert_cmpuint (v, ==, 5000);
              g_assert_true (nfsub_radius_record_get_octets (r, FALSE, &v,
                                                             &error));
              g_assert_cmpuint (v, ==, 3 * G_GUINT64_CONSTANT (4294967296)
                                         + 123456);
              g_assert_true (nfsub_radius_record_get_uint64 (
                r, "Acct-Session-Time", &v, &error));
              g_assert_cmpuint (v, ==, 3600);
              g_assert_cmpstr (nfsub_radius_record_get (r, "Acct-Terminate-Cause"),
                               ==, "User-Request");
            }
          g_assert_no_error (error);
          n++;
        }
      g_assert_no_error (error);
      g_assert_cmpint (rc, ==, 0);
      g_assert_cmpuint (nfsub_radius_detail_malformed (d), ==, 0);
    }
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (want));
}

static SubConfig *
make_config (const char *acct_dir)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *glob = g_build_filename (acct_dir, "detail-*", NULL);
  g_key_file_set_string (kf, "subscriber", "radius_detail", glob);
  g_key_file_set_string (kf, "subscriber", "radius_strip_realm", "true");
  g_key_file_set_string (kf, "subscriber", "rule.mobile",
                         "nas 192.0.2.9 => service=mobile access=mobile "
                         "user=Calling-Station-Id");
  g_key_file_set_string (kf, "subscriber", "radius_timezone", "UTC");
  g_autoptr (GError) error = NULL;
  SubConfig *c = sub_config_load (NULL, kf, "subscriber", &error);
  g_assert_no_error (error);
  return c;
}

/* the user key holding `addr` at T0 + dt, or "-" */
static const char *
who (SubIndex *ix, const char *addr, gint64 dt)
{
  NfsubAddr a;
  g_assert_true (nfsub_addr_parse (addr, &a));
  guint32 id = lease_table_lookup (ix->table, &a, (guint32) (T0 + dt));
  if (!id)
    return "-";
  return lease_table_user (ix->table, lease_table_binding (ix->table, id)->user)
    ->key;
}

static void
check_first_batch (SubIndex *ix)
{
  g_assert_cmpstr (who (ix, "100.64.0.1", -1), ==, "-");
  g_assert_cmpstr (who (ix, "100.64.0.1", 0), ==, "pppoe:alice");
  g_assert_cmpstr (who (ix, "100.64.0.1", 3599), ==, "pppoe:alice");
  g_assert_cmpstr (who (ix, "100.64.0.1", 3650), ==, "-");
  g_assert_cmpstr (who (ix, "100.64.0.1", 3700), ==, "pppoe:bob");
  g_assert_cmpstr (who (ix, "2001:db8:100:1ab::1", 1000), ==, "pppoe:alice");
  g_assert_cmpstr (who (ix, "2001:db8:100:200::1", 1000), ==, "-");
  g_assert_cmpstr (who (ix, "2001:db8:100:1ab::1", 3600), ==, "-");
  g_assert_cmpstr (who (ix, "2001:db8:ff00:1:1:2:3:4", 10), ==, "pppoe:alice");
  g_assert_cmpstr (who (ix, "10.200.0.5", 200), ==, "mobile:0901234567");
  g_assert_cmpstr (who (ix, "10.200.0.5", 99), ==, "-");
  g_assert_cmpstr (who (ix, "100.64.0.99", 300), ==, "pppoe:we\"ird\\name");
  const LeaseUser *m = lease_table_user (
    ix->table, lease_table_find_user (ix->table, "mobile:0901234567"));
  g_assert_cmpint (m->service, ==, NFSUB_SERVICE_MOBILE);
  g_assert_cmpint (m->access, ==, NFSUB_ACCESS_MOBILE);
  const LeaseUser *a = lease_table_user (
    ix->table, lease_table_find_user (ix->table, "pppoe:alice"));
  g_assert_cmpint (a->service, ==, NFSUB_SERVICE_BROADBAND);
  g_assert_cmpint (a->user_class, ==, NFSUB_CLASS_PERSONAL);
  g_assert_cmpint (a->access, ==, NFSUB_ACCESS_PPPOE);
}

/* Bindings from the server's files; then only new records are read after
 * a save/load; a gzip-rotated copy is recognised and not read again. */
static void
test_index (Fixture *f, gconstpointer data)
{
  if (!f->radius)
    return;
  g_autoptr (GError) error = NULL;
  SubConfig *c = make_config (f->radius->acct_dir);
  g_autofree char *index = g_build_filename (f->dir, "index.bin", NULL);

  SubIndex *ix = sub_index_new (c);
  g_assert_true (sub_index_load (ix, index, &error));
  g_assert_true (sub_index_refresh (ix, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ix->radius.records, ==, 6);
  g_assert_cmpuint (ix->radius.malformed, ==, 0);
  check_first_batch (ix);
  g_assert_true (sub_index_save (ix, index, &error));
  sub_index_free (ix);

  /* the server appends two more records */
  g_assert_true (test_radius_send (f->radius, second_batch, &error));
  g_assert_no_error (error);
  ix = sub_index_new (c);
  g_assert_true (sub_index_load (ix, index, &error));
  g_assert_true (sub_index_refresh (ix, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ix->radius.records, ==, 2); /* only the new ones */
  check_first_batch (ix);
  g_assert_cmpstr (who (ix, "100.64.0.1", 7100), ==, "pppoe:bob");
  g_assert_cmpstr (who (ix, "100.64.0.1", 7200), ==, "-");
  g_assert_cmpstr (who (ix, "100.64.0.2", 7300), ==, "pppoe:carol");
  g_assert_true (sub_index_save (ix, index, &error));
  sub_index_free (ix);

  /* logrotate: the file becomes FILE.gz; the original goes away */
  test_radius_stop (f->radius);
  f->radius = NULL;
  g_autofree char *acct = g_build_filename (f->dir, "radacct", "127.0.0.1",
                                            NULL);
  g_autofree char *glob = g_build_filename (acct, "detail-*", NULL);
  g_autoptr (GPtrArray) scanned = scan_globs ((char *[]) { glob, NULL },
                                              &error);
  g_assert_cmpuint (scanned->len, ==, 1);
  const char *plain = ((ScannedFile *) scanned->pdata[0])->path;
  g_autofree char *gz = g_strconcat (plain, ".gz", NULL);
  g_autofree char *zipped = NULL;
  gsize zlen;
  {
    g_autofree char *argv0 = g_strdup_printf ("sh -c 'gzip -c %s > %s'",
                                              plain, gz);
    int status;
    g_free (nfsub_test_run_line (argv0, &status, &error));
    g_assert_no_error (error);
    g_assert_cmpint (status, ==, 0);
  }
  g_assert_true (g_file_get_contents (gz, &zipped, &zlen, NULL));
  g_assert_cmpuint (zlen, >, 20);
  g_unlink (plain);
  ix = sub_index_new (c);
  g_assert_true (sub_index_load (ix, index, &error));
  g_assert_true (sub_index_refresh (ix, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ix->radius.records, ==, 0); /* nothing read twice */
  check_first_batch (ix);
  g_assert_cmpstr (who (ix, "100.64.0.2", 7300), ==, "pppoe:carol");
  sub_index_free (ix);

  /* without the index everything comes from the .gz alone */
  g_unlink (index);
  ix = sub_index_new (c);
  g_assert_true (sub_index_load (ix, index, &error));
  g_assert_true (sub_index_refresh (ix, &error));
  g_assert_cmpuint (ix->radius.records, ==, 8);
  check_first_batch (ix);
  g_assert_cmpstr (who (ix, "100.64.0.1", 7200), ==, "-");
  sub_index_free (ix);
  sub_config_free (c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/radius-real/parse", Fixture, NULL, fixture_setup, test_parse,
              fixture_teardown);
  g_test_add ("/radius-real/index", Fixture, NULL, fixture_setup, test_index,
              fixture_teardown);
  return g_test_run ();
}
