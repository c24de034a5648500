/* The FreeRADIUS detail reader on hand-written input: every expected value
 * below is written out by hand from the text of the sample. */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <nfsub/plugin.h>
#include <nfsub/radius-detail.h>

#include "tests/testutil.h"

static const char sample[] =
  "Mon Jun  3 00:00:01 2024\n"                         /* line 1 */
  "\tAcct-Status-Type = Start\n"
  "\tUser-Name = \"alice@isp.example\"\n"
  "\tFramed-IP-Address = 10.1.2.3\n"
  "\tDelegated-IPv6-Prefix = 2001:db8:100:2ff::/56\n"  /* line 5 */
  "\tEvent-Timestamp = \"Jun  3 2024 00:00:01 UTC\"\n"
  "\tConnect-Info = \"a\\\"b\\\\c\\td\\303\\251\"\n"
  "\tTimestamp = 1717372805\n"
  "\n"
  "Mon Jun  3 01:00:01 2024\n"                         /* line 10 */
  "\tAcct-Status-Type = Stop\n"
  "\tUser-Name = \"alice@isp.example\"\n"
  "\tAcct-Session-Time = 3600\n"
  "\tAcct-Input-Octets = 123\n"
  "\tAcct-Output-Octets = 4567\n"                      /* line 15 */
  "\tAcct-Output-Gigawords = 2\n"
  "\tAcct-Delay-Time = 5\n"
  "\tTimestamp = 1717376406\n"
  "\n";
/* byte offset of line 10: */
#define SECOND_RECORD_OFFSET 269

static char *
write_temp (const char *dir, const char *name, const void *data, gsize len)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, data, (gssize) len, &error);
  g_assert_no_error (error);
  return path;
}

static GBytes *
gzip_bytes (const void *data, gsize len)
{
  g_autoptr (GZlibCompressor) z
    = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
  g_autoptr (GOutputStream) mem = g_memory_output_stream_new_resizable ();
  g_autoptr (GOutputStream) out
    = g_converter_output_stream_new (mem, G_CONVERTER (z));
  g_autoptr (GError) error = NULL;
  gsize written;
  g_assert_true (g_output_stream_write_all (out, data, len, &written, NULL,
                                            &error));
  g_assert_true (g_output_stream_close (out, NULL, &error));
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
}

static void
check_first_record (const NfsubRadiusRecord *r)
{
  g_assert_cmpuint (r->line, ==, 1);
  g_assert_cmpuint (r->offset, ==, 0);
  g_assert_cmpuint (r->end_offset, ==, SECOND_RECORD_OFFSET);
  g_assert_cmpstr (r->date, ==, "Mon Jun  3 00:00:01 2024");
  g_assert_cmpuint (r->n_attrs, ==, 7);
  g_assert_cmpstr (r->attrs[0].name, ==, "Acct-Status-Type");
  g_assert_cmpstr (r->attrs[0].value, ==, "Start");
  g_assert_cmpuint (r->attrs[0].line, ==, 2);
  g_assert_cmpstr (r->attrs[1].value, ==, "alice@isp.example");
  g_assert_cmpstr (r->attrs[6].name, ==, "Timestamp");
  g_assert_cmpuint (r->attrs[6].line, ==, 8);
  /* "a\"b\\c\td\303\251" -> a"b\c<TAB>dé */
  g_assert_cmpstr (nfsub_radius_record_get (r, "connect-info"), ==,
                   "a\"b\\c\td\xc3\xa9");
  g_assert_cmpint (nfsub_radius_record_status (r), ==,
                   NFSUB_RADIUS_STATUS_START);

  g_autoptr (GError) error = NULL;
  NfsubAddr a, expect;
  g_assert_true (nfsub_radius_record_get_addr (r, "Framed-IP-Address", &a,
                                               &error));
  g_assert_true (nfsub_addr_equal (&a, &(NfsubAddr) { 0, 0xffff0a010203 }));
  guint plen;
  g_assert_true (nfsub_radius_record_get_prefix (r, "Delegated-IPv6-Prefix",
                                                 &a, &plen, &error));
  g_assert_cmpuint (plen, ==, 56);
  /* 2001:db8:100:2ff:: masked to /56 = 2001:db8:100:200:: */
  g_assert_true (nfsub_addr_parse ("2001:db8:100:200::", &expect));
  g_assert_true (nfsub_addr_equal (&a, &expect));
  g_assert_false (nfsub_radius_record_get_addr (r, "NAS-IP-Address", &a,
                                                &error));
  g_assert_no_error (error);

  gint64 t;
  g_assert_true (nfsub_radius_record_get_time (r, "Event-Timestamp", NULL, &t,
                                               &error));
  g_assert_cmpint (t, ==, 1717372801); /* date -u -d 2024-06-03T00:00:01 +%s */
  g_assert_cmpint (nfsub_radius_record_event_time (r, NULL, &error), ==,
                   1717372801);
  g_assert_cmpint (nfsub_radius_record_arrival_time (r, NULL, &error), ==,
                   1717372805);
  g_assert_no_error (error);
}

static void
check_second_record (const NfsubRadiusRecord *r)
{
  g_assert_cmpuint (r->line, ==, 10);
  g_assert_cmpuint (r->offset, ==, SECOND_RECORD_OFFSET);
  g_assert_cmpuint (r->end_offset, ==, sizeof sample - 1);
  g_assert_cmpint (nfsub_radius_record_status (r), ==,
                   NFSUB_RADIUS_STATUS_STOP);
  g_autoptr (GError) error = NULL;
  guint64 v;
  g_assert_true (nfsub_radius_record_get_octets (r, TRUE, &v, &error));
  g_assert_cmpuint (v, ==, 123);
  g_assert_true (nfsub_radius_record_get_octets (r, FALSE, &v, &error));
  g_assert_cmpuint (v, ==, 2 * G_GUINT64_CONSTANT (4294967296) + 4567);
  g_assert_true (nfsub_radius_record_get_uint64 (r, "Acct-Session-Time", &v,
                                                 &error));
  g_assert_cmpuint (v, ==, 3600);
  /* no Event-Timestamp: Timestamp - Acct-Delay-Time */
  g_assert_cmpint (nfsub_radius_record_event_time (r, NULL, &error), ==,
                   1717376401);
  g_assert_no_error (error);
}

static void
read_sample (NfsubRadiusDetail *d)
{
  const NfsubRadiusRecord *r;
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (nfsub_radius_detail_next (d, &r, &error), ==, 1);
  check_first_record (r);
  g_assert_cmpuint (nfsub_radius_detail_offset (d), ==, SECOND_RECORD_OFFSET);
  g_assert_cmpuint (nfsub_radius_detail_line (d), ==, 9);
  g_assert_cmpint (nfsub_radius_detail_next (d, &r, &error), ==, 1);
  check_second_record (r);
  g_assert_cmpint (nfsub_radius_detail_next (d, &r, &error), ==, 0);
  g_assert_no_error (error);
  g_assert_cmpuint (nfsub_radius_detail_offset (d), ==, sizeof sample - 1);
  g_assert_cmpuint (nfsub_radius_detail_line (d), ==, 19);
}

static void
test_plain_and_gzip (void)
{
  g_autofree char *dir = nfsub_test_tmpdir ("radius-detail");
  g_autofree char *plain = write_temp (dir, "detail-20240603", sample,
                                       sizeof sample - 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubRadiusDetail) d
    = nfsub_radius_detail_open (plain, 0, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_false (nfsub_radius_detail_is_compressed (d));
  read_sample (d);

  g_autoptr (GBytes) gz = gzip_bytes (sample, sizeof sample - 1);
  gsize gz_len;
  const void *gz_data = g_bytes_get_data (gz, &gz_len);
  /* named without .gz: detection is by content */
  g_autofree char *zpath = write_temp (dir, "detail-20240603.rotated",
                                       gz_data, gz_len);
  g_autoptr (NfsubRadiusDetail) z
    = nfsub_radius_detail_open (zpath, 0, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_true (nfsub_radius_detail_is_compressed (z));
  read_sample (z);

  g_autoptr (NfsubRadiusDetail) m
    = nfsub_radius_detail_new_from_bytes ("mem.gz", gz, 0);
  read_sample (m);

  /* resume at the second record, plain and compressed */
  const char *paths[] = { plain, zpath };
  for (int i = 0; i < 2; i++)
    {
      g_autoptr (NfsubRadiusDetail) r2 = nfsub_radius_detail_open (
        paths[i], SECOND_RECORD_OFFSET, 9, 0, &error);
      g_assert_no_error (error);
      const NfsubRadiusRecord *r;
      g_assert_cmpint (nfsub_radius_detail_next (r2, &r, &error), ==, 1);
      check_second_record (r);
      g_assert_cmpint (nfsub_radius_detail_next (r2, &r, &error), ==, 0);
      g_assert_no_error (error);
    }

  /* an offset past the end: the file was replaced */
  for (int i = 0; i < 2; i++)
    {
      g_autoptr (NfsubRadiusDetail) bad = nfsub_radius_detail_open (
        paths[i], 100000, 9, 0, &error);
      g_assert_null (bad);
      g_assert_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT);
      g_assert_nonnull (strstr (error->message, paths[i]));
      g_assert_nonnull (strstr (error->message, "past the end"));
      g_clear_error (&error);
    }
  nfsub_test_rm_rf (dir);
}

/* A file being written: the unterminated last record waits. */
static void
test_follow (void)
{
  g_autofree char *dir = nfsub_test_tmpdir ("radius-follow");
  gsize cut = SECOND_RECORD_OFFSET + 60; /* inside the second record */
  g_autofree char *path = write_temp (dir, "detail", sample, cut);
  g_autoptr (GError) error = NULL;
  const NfsubRadiusRecord *r;
  {
    g_autoptr (NfsubRadiusDetail) d = nfsub_radius_detail_open (
      path, 0, 0, NFSUB_RADIUS_DETAIL_FOLLOW, &error);
    g_assert_cmpint (nfsub_radius_detail_next (d, &r, &error), ==, 1);
    check_first_record (r);
    g_assert_cmpint (nfsub_radius_detail_next (d, &r, &error), ==, 0);
    g_assert_no_error (error);
    g_assert_cmpuint (nfsub_radius_detail_offset (d), ==,
                      SECOND_RECORD_OFFSET);
    g_assert_cmpuint (nfsub_radius_detail_line (d), ==, 9);
  }
  {
    /* without FOLLOW the cut line ("\tUser-Name") is the file's last,
     * and malformed */
    g_autoptr (NfsubRadiusDetail) d
      = nfsub_radius_detail_open (path, SECOND_RECORD_OFFSET, 9, 0, &error);
    g_assert_cmpint (nfsub_radius_detail_next (d, &r, &error), ==, -1);
    g_assert_nonnull (strstr (error->message, "line 12: "));
    g_clear_error (&error);
  }
  /* the writer finishes the record: resume picks it up whole */
  g_free (path);
  path = write_temp (dir, "detail", sample, sizeof sample - 1);
  g_autoptr (NfsubRadiusDetail) d = nfsub_radius_detail_open (
    path, SECOND_RECORD_OFFSET, 9, NFSUB_RADIUS_DETAIL_FOLLOW, &error);
  g_assert_cmpint (nfsub_radius_detail_next (d, &r, &error), ==, 1);
  check_second_record (r);
  g_assert_cmpint (nfsub_radius_detail_next (d, &r, &error), ==, 0);
  g_assert_no_error (error);
  nfsub_test_rm_rf (dir);
}

/* Each bad record: one error naming the file and the line, then the
 * reader goes on with the next good record. */
static void
test_malformed (void)
{
  static const struct {
    const char *text;
    guint64 bad_line;
    const char *what;
  } cases[] = {
    { "\tUser-Name = \"x\"\n\n", 1, "outside a record" },
    { "Mon Jun  3 00:00:01 2024\n\tUser-Name \"x\"\n\n", 2, "' = '" },
    { "Mon Jun  3 00:00:01 2024\n\tUser-Name = \"x\n\n", 2, "unterminated" },
    { "Mon Jun  3 00:00:01 2024\n\tUser-Name = \"x\" y\n\n", 2,
      "after the closing quote" },
    { "Mon Jun  3 00:00:01 2024\n\tA = 1\nMon Jun  3 00:00:02 2024\n\tB = 2\n\n",
      3, "neither" },
    { "Mon Jun  3 00:00:01 2024\n\n", 1, "without attributes" },
    { "Mon Jun  3 00:00:01 2024\n\tA = 1\x00" "2\n\n", 2, "NUL" },
    { "Mon Jun  3 00:00:01 2024\n\t = 1\n\n", 2, "without a name" },
  };
  static const char good[] = "Tue Jun  4 00:00:00 2024\n\tUser-Name = ok\n\n";
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      /* cases may hold a NUL: measure up to the double newline */
      const char *t = cases[i].text;
      gsize len = strlen (t);
      if (strstr (cases[i].what, "NUL"))
        len = 35;
      g_autoptr (GByteArray) buf = g_byte_array_new ();
      g_byte_array_append (buf, (const guint8 *) t, (guint) len);
      g_byte_array_append (buf, (const guint8 *) good, sizeof good - 1);
      g_autoptr (GBytes) bytes = g_byte_array_free_to_bytes (
        g_steal_pointer (&buf));
      g_autoptr (NfsubRadiusDetail) d
        = nfsub_radius_detail_new_from_bytes ("bad-detail", bytes, 0);
      const NfsubRadiusRecord *r;
      g_autoptr (GError) error = NULL;
      g_assert_cmpint (nfsub_radius_detail_next (d, &r, &error), ==, -1);
      g_assert_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT);
      g_autofree char *where = g_strdup_printf ("bad-detail: line %"
                                                G_GUINT64_FORMAT ": ",
                                                cases[i].bad_line);
      if (!g_str_has_prefix (error->message, where)
          || !strstr (error->message, cases[i].what))
        g_error ("case %zu: got \"%s\", want \"%s...%s\"", i, error->message,
                 where, cases[i].what);
      g_clear_error (&error);
      g_assert_cmpint (nfsub_radius_detail_next (d, &r, &error), ==, 1);
      g_assert_no_error (error);
      g_assert_cmpstr (nfsub_radius_record_get (r, "User-Name"), ==, "ok");
      g_assert_cmpint (nfsub_radius_detail_next (d, &r, &error), ==, 0);
      g_assert_cmpuint (nfsub_radius_detail_malformed (d), ==, 1);
    }

  /* an over-long line */
  GString *s = g_string_new ("Mon Jun  3 00:00:01 2024\n\tX = ");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (s, 'x');
  g_string_append (s, "\n\n");
  g_string_append (s, good);
  g_autoptr (GBytes) bytes = g_string_free_to_bytes (s);
  g_autoptr (NfsubRadiusDetail) d
    = nfsub_radius_detail_new_from_bytes ("long", bytes, 0);
  const NfsubRadiusRecord *r;
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (nfsub_radius_detail_next (d, &r, &error), ==, -1);
  g_assert_nonnull (strstr (error->message, "long: line 2: line too long"));
  g_clear_error (&error);
  g_assert_cmpint (nfsub_radius_detail_next (d, &r, &error), ==, 1);
  g_assert_cmpuint (r->line, ==, 4);
  g_assert_cmpuint (r->offset, ==, 24 + 1 + 5 + 100000 + 2);

  /* broken gzip: a final error, never a crash */
  g_autoptr (GBytes) gz = gzip_bytes (sample, sizeof sample - 1);
  gsize n;
  const guint8 *p = g_bytes_get_data (gz, &n);
  g_autofree guint8 *broken = g_memdup2 (p, n);
  broken[n / 2] ^= 0xff;
  g_autoptr (GBytes) bb = g_bytes_new (broken, n - 4);
  g_autoptr (NfsubRadiusDetail) bz
    = nfsub_radius_detail_new_from_bytes ("broken.gz", bb, 0);
  int rc;
  while ((rc = nfsub_radius_detail_next (bz, &r, &error)) == 1)
    ;
  g_assert_cmpint (rc, ==, -1);
  g_assert_nonnull (strstr (error->message, "broken.gz: gzip"));
  g_clear_error (&error);
  g_assert_cmpint (nfsub_radius_detail_next (bz, &r, &error), ==, -1);
}

static void
test_times (void)
{
  static const struct {
    const char *value;
    gint64 expect;
  } ok[] = {
    { "Jun  3 2024 00:00:01 UTC", 1717372801 },
    { "Jun 3 2024 00:00:01 GMT", 1717372801 },
    { "Jun  3 2024 02:00:01 +0200", 1717372801 },
    { "Jun  2 2024 20:00:01 -0400", 1717372801 },
    { "Feb 29 2024 12:00:00 UTC", 1709208000 },
    { "1717372801", 1717372801 },
  };
  static const char *const bad[] = {
    "Jun 31 2024 00:00:01 UTC", "Feb 29 2023 00:00:00 UTC",
    "Jux  3 2024 00:00:01 UTC", "Jun  3 2024 25:00:01 UTC",
    "Jun  3 2024 00:00:01 +9999", "Jun  3 2024", "", "yesterday",
    "Jun  3 2024 00:00:01 U+C",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (ok) + G_N_ELEMENTS (bad); i++)
    {
      gboolean good = i < G_N_ELEMENTS (ok);
      const char *v = good ? ok[i].value : bad[i - G_N_ELEMENTS (ok)];
      g_autofree char *text = g_strdup_printf (
        "Mon Jun  3 00:00:01 2024\n\tEvent-Timestamp = \"%s\"\n\n", v);
      g_autoptr (GBytes) b = g_bytes_new (text, strlen (text));
      g_autoptr (NfsubRadiusDetail) d
        = nfsub_radius_detail_new_from_bytes ("t", b, 0);
      const NfsubRadiusRecord *r;
      g_autoptr (GError) error = NULL;
      g_assert_cmpint (nfsub_radius_detail_next (d, &r, &error), ==, 1);
      gint64 t = 0;
      gboolean got = nfsub_radius_record_get_time (r, "Event-Timestamp", NULL,
                                                   &t, &error);
      if (good)
        {
          g_assert_no_error (error);
          g_assert_true (got);
          g_assert_cmpint (t, ==, ok[i].expect);
        }
      else
        {
          g_assert_false (got);
          g_assert_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT);
          g_assert_nonnull (strstr (error->message, "t: line 2: "));
        }
    }
  /* a zone name other than UTC is the given zone's time */
  g_autoptr (GTimeZone) berlin = g_time_zone_new_identifier ("Europe/Berlin");
  if (berlin)
    {
      static const char text[]
        = "Mon Jun  3 02:00:01 2024\n\tEvent-Timestamp = \"Jun  3 2024 "
          "02:00:01 CEST\"\n\n";
      g_autoptr (GBytes) b = g_bytes_new_static (text, sizeof text - 1);
      g_autoptr (NfsubRadiusDetail) d
        = nfsub_radius_detail_new_from_bytes ("t", b, 0);
      const NfsubRadiusRecord *r;
      g_assert_cmpint (nfsub_radius_detail_next (d, &r, NULL), ==, 1);
      gint64 t;
      g_assert_true (nfsub_radius_record_get_time (r, "Event-Timestamp",
                                                   berlin, &t, NULL));
      g_assert_cmpint (t, ==, 1717372801);
      g_assert_true (nfsub_radius_parse_date_line (r->date, berlin, &t));
      g_assert_cmpint (t, ==, 1717372801);
    }
  gint64 t;
  g_assert_true (nfsub_radius_parse_date_line ("Mon Jun  3 00:00:01 2024",
                                               NULL, &t));
  g_assert_cmpint (t, ==, 1717372801);
  g_assert_false (nfsub_radius_parse_date_line ("Mon Jun  3 00:00:01", NULL,
                                                &t));
  g_assert_false (nfsub_radius_parse_date_line ("hello", NULL, &t));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/radius-detail/plain-and-gzip", test_plain_and_gzip);
  g_test_add_func ("/radius-detail/follow", test_follow);
  g_test_add_func ("/radius-detail/malformed", test_malformed);
  g_test_add_func ("/radius-detail/times", test_times);
  return g_test_run ();
}
