/* The subscriber plugin end to end: hand-made flows through a real nfcapd,
 * assignments from a detail log, a Kea lease file and a static CSV.
 *
 * The oracle for every flow is nfdump's own output for the file, tagged by
 * a brute-force reference written here from the meaning of the sources
 * (a list of who held which prefix from when to when); totals are checked
 * against `nfdump -I`, filter files against `nfdump -f`. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include <nfsub/nffile.h>

#include "plugins/subscriber/subscriber.h"
#include "plugins/subscriber/test-peers.h"
#include "tests/testutil.h"

#define T0 G_GINT64_CONSTANT (1717372800) /* 2024-06-03 00:00:00 UTC */
#define OPEN G_MAXINT64

/* ---- the sources ---- */

static const char detail_text[] =
  "Mon Jun  3 00:00:00 2024\n"
  "\tAcct-Status-Type = Start\n"
  "\tUser-Name = \"alice@isp.example\"\n"
  "\tAcct-Session-Id = \"a1\"\n"
  "\tNAS-IP-Address = 192.0.2.1\n"
  "\tFramed-IP-Address = 100.64.0.1\n"
  "\tDelegated-IPv6-Prefix = 2001:db8:100:100::/56\n"
  "\tEvent-Timestamp = \"Jun  3 2024 00:00:00 UTC\"\n"
  "\tTimestamp = 1717372801\n"
  "\n"
  /* the mobile session started an hour ago; its Start never came */
  "Mon Jun  3 00:00:02 2024\n"
  "\tAcct-Status-Type = Interim-Update\n"
  "\tUser-Name = \"imsi-440101234567890\"\n"
  "\tCalling-Station-Id = \"0901234567\"\n"
  "\tAcct-Session-Id = \"m1\"\n"
  "\tNAS-IP-Address = 192.0.2.9\n"
  "\tFramed-IP-Address = 10.200.0.5\n"
  "\tAcct-Session-Time = 3600\n"
  "\tEvent-Timestamp = \"Jun  3 2024 00:00:00 UTC\"\n"
  "\tTimestamp = 1717372802\n"
  "\n"
  "Mon Jun  3 00:10:00 2024\n"
  "\tAcct-Status-Type = Stop\n"
  "\tUser-Name = \"alice@isp.example\"\n"
  "\tAcct-Session-Id = \"a1\"\n"
  "\tNAS-IP-Address = 192.0.2.1\n"
  "\tFramed-IP-Address = 100.64.0.1\n"
  "\tAcct-Session-Time = 600\n"
  "\tEvent-Timestamp = \"Jun  3 2024 00:10:00 UTC\"\n"
  "\tTimestamp = 1717373400\n"
  "\n"
  /* the address goes to bob the same second */
  "Mon Jun  3 00:10:00 2024\n"
  "\tAcct-Status-Type = Start\n"
  "\tUser-Name = \"bob@isp.example\"\n"
  "\tAcct-Session-Id = \"b1\"\n"
  "\tNAS-IP-Address = 192.0.2.1\n"
  "\tFramed-IP-Address = 100.64.0.1\n"
  "\tEvent-Timestamp = \"Jun  3 2024 00:10:00 UTC\"\n"
  "\tTimestamp = 1717373400\n"
  "\n"
  /* carol's Stop arrives before her Start (out of order) */
  "Mon Jun  3 00:15:00 2024\n"
  "\tAcct-Status-Type = Stop\n"
  "\tUser-Name = \"carol@isp.example\"\n"
  "\tAcct-Session-Id = \"c1\"\n"
  "\tNAS-IP-Address = 192.0.2.1\n"
  "\tFramed-IP-Address = 100.64.0.3\n"
  "\tAcct-Session-Time = 800\n"
  "\tEvent-Timestamp = \"Jun  3 2024 00:15:00 UTC\"\n"
  "\tTimestamp = 1717373700\n"
  "\n"
  "Mon Jun  3 00:15:01 2024\n"
  "\tAcct-Status-Type = Start\n"
  "\tUser-Name = \"carol@isp.example\"\n"
  "\tAcct-Session-Id = \"c1\"\n"
  "\tNAS-IP-Address = 192.0.2.1\n"
  "\tFramed-IP-Address = 100.64.0.3\n"
  "\tEvent-Timestamp = \"Jun  3 2024 00:01:40 UTC\"\n"
  "\tAcct-Delay-Time = 800\n"
  "\tTimestamp = 1717373701\n"
  "\n"
  /* erin's PPPoE address lies inside acme's static /29 */
  "Mon Jun  3 00:15:02 2024\n"
  "\tAcct-Status-Type = Interim-Update\n"
  "\tUser-Name = \"erin\"\n"
  "\tAcct-Session-Id = \"e1\"\n"
  "\tNAS-IP-Address = 192.0.2.1\n"
  "\tFramed-IP-Address = 203.0.113.5\n"
  "\tAcct-Session-Time = 1900\n"
  "\tEvent-Timestamp = \"Jun  3 2024 00:15:00 UTC\"\n"
  "\tTimestamp = 1717373702\n"
  "\n";

/* what the sources mean, by hand */
typedef struct {
  const char *prefix;
  const char *user;
  gint64 start, end;
} RefAssign;

static const RefAssign reference[] = {
  { "100.64.0.1/32", "pppoe:alice", T0, T0 + 600 },
  { "2001:db8:100:100::/56", "pppoe:alice", T0, T0 + 600 },
  { "100.64.0.1/32", "pppoe:bob", T0 + 600, OPEN },
  { "10.200.0.5/32", "mobile:0901234567", T0 - 3600, OPEN },
  { "100.64.0.3/32", "pppoe:carol", T0 + 100, T0 + 900 },
  { "203.0.113.5/32", "pppoe:erin", T0 + 900 - 1900, OPEN },
  { "2001:db8:200:100::/56", "ipoe:dave", T0 - 100, T0 - 100 + 86400 },
  { "2001:db8:200:200::/56", "ipoe:alice", T0 - 100, T0 - 100 + 86400 },
  { "203.0.113.0/29", "ipoe:acme", 0, OPEN },
  { "198.51.100.0/24", "ipoe:corp", T0 + 300, T0 + 900 },
};

typedef struct {
  const char *user;
  guint8 service, user_class, access;
} RefUser;

static const RefUser ref_users[] = {
  { "pppoe:alice", NFSUB_SERVICE_BROADBAND, NFSUB_CLASS_PERSONAL, NFSUB_ACCESS_PPPOE },
  { "pppoe:bob", NFSUB_SERVICE_BROADBAND, NFSUB_CLASS_PERSONAL, NFSUB_ACCESS_PPPOE },
  { "pppoe:carol", NFSUB_SERVICE_BROADBAND, NFSUB_CLASS_PERSONAL, NFSUB_ACCESS_PPPOE },
  { "pppoe:erin", NFSUB_SERVICE_BROADBAND, NFSUB_CLASS_PERSONAL, NFSUB_ACCESS_PPPOE },
  { "mobile:0901234567", NFSUB_SERVICE_MOBILE, NFSUB_CLASS_PERSONAL, NFSUB_ACCESS_MOBILE },
  { "ipoe:dave", NFSUB_SERVICE_BROADBAND, NFSUB_CLASS_PERSONAL, NFSUB_ACCESS_IPOE },
  { "ipoe:alice", NFSUB_SERVICE_BROADBAND, NFSUB_CLASS_PERSONAL, NFSUB_ACCESS_IPOE },
  { "ipoe:acme", NFSUB_SERVICE_BROADBAND, NFSUB_CLASS_ENTERPRISE, NFSUB_ACCESS_IPOE },
  { "ipoe:corp", NFSUB_SERVICE_BROADBAND, NFSUB_CLASS_ENTERPRISE, NFSUB_ACCESS_IPOE },
};

static const RefUser *
ref_user (const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (ref_users); i++)
    if (strcmp (ref_users[i].user, key) == 0)
      return &ref_users[i];
  g_error ("no reference user %s", key);
}

/* the user holding `addr` at second t by the reference, or NULL */
static const char *
ref_lookup (const char *addr, gint64 t)
{
  NfsubAddr a;
  g_assert_true (nfsub_addr_parse (addr, &a));
  const RefAssign *best = NULL;
  guint best_len = 0;
  for (gsize i = 0; i < G_N_ELEMENTS (reference); i++)
    {
      LeasePrefix p;
      g_assert_true (parse_prefix (reference[i].prefix, &p));
      LeasePrefix m;
      if (!lease_prefix_make (&m, &a, p.family, p.plen)
          || !nfsub_addr_equal (&m.addr, &p.addr))
        continue;
      if (t < reference[i].start || t >= reference[i].end)
        continue;
      if (!best || p.plen > best_len)
        best = &reference[i], best_len = p.plen;
    }
  return best ? best->user : NULL;
}

static const char *const subscriber_v4[] = { "100.64.0.1", "100.64.0.3",
                                             "10.200.0.5", "203.0.113.3",
                                             "203.0.113.5", "203.0.113.7",
                                             "198.51.100.7" };
static const char *const subscriber_v6[] = { "2001:db8:100:1ab::5",
                                             "2001:db8:200:1ff::9",
                                             "2001:db8:200:200::1",
                                             "2001:db8:200:300::1" };
static const char *const internet_v4[] = { "8.8.8.8", "1.1.1.1",
                                           "192.0.2.50", "100.64.0.2" };
static const char *const internet_v6[] = { "2001:4860::8888",
                                           "2a00:1450::200e" };

static void
random_flows (GArray *out, GRand *r, guint n, gint64 from, gint64 to)
{
  for (guint i = 0; i < n; i++)
    {
      gboolean v6 = g_rand_int_range (r, 0, 3) == 0;
      const char *const *sub = v6 ? subscriber_v6 : subscriber_v4;
      const char *const *net = v6 ? internet_v6 : internet_v4;
      guint nsub = v6 ? G_N_ELEMENTS (subscriber_v6) : G_N_ELEMENTS (subscriber_v4);
      guint nnet = v6 ? G_N_ELEMENTS (internet_v6) : G_N_ELEMENTS (internet_v4);
      const char *a = g_rand_boolean (r) ? sub[g_rand_int_range (r, 0, (gint32) nsub)]
                                         : net[g_rand_int_range (r, 0, (gint32) nnet)];
      const char *b = g_rand_int_range (r, 0, 4) == 0
                        ? sub[g_rand_int_range (r, 0, (gint32) nsub)]
                        : net[g_rand_int_range (r, 0, (gint32) nnet)];
      if (g_rand_boolean (r))
        {
          const char *t = a;
          a = b;
          b = t;
        }
      guint64 first = (guint64) (from * 1000)
                      + (guint64) g_rand_int_range (r, 0, (gint32) ((to - from) * 1000));
      guint64 bytes = (guint64) g_rand_int_range (r, 40, 2000000);
      NfsimRecord rec = v6 ? test_flow_v6 (a, b, first, bytes)
                           : test_flow_v4 (a, b, first, bytes);
      g_array_append_val (out, rec);
    }
}

typedef struct {
  char *dir;
  char *conf;
  char *main_file;   /* churn window: flows T0-120 .. T0+1200 */
  char *stable_file; /* flows T0+700 .. T0+880, no binding changes */
} Fixture;

static Fixture fx;

static void
write_sources (const char *dir, const char *extra_config)
{
  g_autofree char *radacct = g_build_filename (dir, "radacct", NULL);
  g_mkdir_with_parents (radacct, 0755);
  g_autofree char *detail = g_build_filename (radacct, "detail-20240603", NULL);
  test_write_file (detail, detail_text);
  g_autofree char *leases = g_strdup_printf (
    "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,"
    "iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,"
    "hwtype,hwaddr_source\n"
    "2001:db8:200:100::,00:03:00:01:00:00:00:04,86400,%" G_GINT64_FORMAT
    ",1,7200,2,1,56,0,0,,,0,,,\n"
    "2001:db8:200:200::,00:03:00:01:00:00:00:01,86400,%" G_GINT64_FORMAT
    ",1,7200,2,1,56,0,0,,,0,,,\n",
    T0 - 100 + 86400, T0 - 100 + 86400);
  g_autofree char *lease_path = g_build_filename (dir, "leases6.csv", NULL);
  test_write_file (lease_path, leases);
  g_autofree char *map = g_build_filename (dir, "duid.csv", NULL);
  test_write_file (map, "00:03:00:01:00:00:00:04,dave\n"
                        "00:03:00:01:00:00:00:01,alice\n");
  g_autofree char *st = g_build_filename (dir, "static.csv", NULL);
  test_write_file (st, "prefix,user,service,class,access\n"
                       "203.0.113.0/29,acme,broadband,enterprise,ipoe\n"
                       "# a time-bounded one; class and access by default\n"
                       "198.51.100.0/24,corp,broadband,,,2024-06-03T00:05:00Z,"
                       "2024-06-03 00:15\n");
  g_autofree char *conf = g_strdup_printf (
    "[nfsub]\n"
    "state_dir = state\n"
    "timezone = UTC\n"
    "plugins = subscriber\n"
    "[subscriber]\n"
    "radius_detail = radacct/detail-*\n"
    "radius_strip_realm = true\n"
    "radius_timezone = UTC\n"
    "rule.mobile = nas 192.0.2.9 => service=mobile access=mobile "
    "user=Calling-Station-Id\n"
    "kea_leases = leases6.csv\n"
    "kea_duid_map = duid.csv\n"
    "static = static.csv\n"
    "%s",
    extra_config ? extra_config : "");
  g_autofree char *conf_path = g_build_filename (dir, "nfsub.conf", NULL);
  test_write_file (conf_path, conf);
}

static void
fixture_build (void)
{
  if (fx.dir)
    return;
  fx.dir = nfsub_test_tmpdir ("subscriber");
  write_sources (fx.dir, NULL);
  fx.conf = g_build_filename (fx.dir, "nfsub.conf", NULL);

  GRand *r = g_rand_new_with_seed (7);
  g_autoptr (GArray) flows = g_array_new (FALSE, FALSE, sizeof (NfsimRecord));
  /* the churn, to the millisecond */
  NfsimRecord named[] = {
    test_flow_v4 ("100.64.0.1", "8.8.8.8", (T0 - 10) * 1000, 1000),
    test_flow_v4 ("100.64.0.1", "8.8.8.8", T0 * 1000 + 10, 2000),
    test_flow_v4 ("1.1.1.1", "100.64.0.1", (T0 + 599) * 1000 + 999, 3000),
    test_flow_v4 ("1.1.1.1", "100.64.0.1", (T0 + 600) * 1000, 4000),
    test_flow_v4 ("100.64.0.1", "10.200.0.5", (T0 + 700) * 1000, 5000),
    test_flow_v4 ("203.0.113.5", "203.0.113.3", (T0 + 800) * 1000, 6000),
  };
  g_array_append_vals (flows, named, G_N_ELEMENTS (named));
  random_flows (flows, r, 400, T0 - 120, T0 + 1200);
  g_autofree char *main_dir = g_build_filename (fx.dir, "main", NULL);
  g_autoptr (GError) error = NULL;
  fx.main_file = test_nfcapd_file (main_dir, (NfsimRecord *) flows->data,
                                   flows->len, "-y", &error);
  g_assert_no_error (error);

  g_array_set_size (flows, 0);
  random_flows (flows, r, 300, T0 + 700, T0 + 880);
  g_autofree char *stable_dir = g_build_filename (fx.dir, "stable", NULL);
  fx.stable_file = test_nfcapd_file (stable_dir, (NfsimRecord *) flows->data,
                                     flows->len, "", &error);
  g_assert_no_error (error);
  g_rand_free (r);
}

/* ---- nfdump, the oracle ---- */

typedef struct {
  gint64 first_ms;
  char src[64], dst[64];
  guint64 bytes;
} DumpFlow;

static GArray *
nfdump_flows (const char *file, const char *filter_file)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = filter_file
    ? nfsub_test_nfdump_output (&error, "-r", file, "-f", filter_file, "-q",
                                "-N", "-6", "-o", "fmt:%tsr|%sa|%da|%byt", NULL)
    : nfsub_test_nfdump_output (&error, "-r", file, "-q", "-N", "-6", "-o",
                                "fmt:%tsr|%sa|%da|%byt", NULL);
  g_assert_no_error (error);
  GArray *flows = g_array_new (FALSE, TRUE, sizeof (DumpFlow));
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      if (!**l)
        continue;
      g_auto (GStrv) f = g_strsplit (*l, "|", -1);
      g_assert_cmpuint (g_strv_length (f), ==, 4);
      DumpFlow d;
      memset (&d, 0, sizeof d);
      guint64 sec, ms;
      g_assert_cmpint (sscanf (g_strstrip (f[0]), "%" G_GUINT64_FORMAT ".%"
                               G_GUINT64_FORMAT, &sec, &ms), ==, 2);
      d.first_ms = (gint64) (sec * 1000 + ms);
      g_strlcpy (d.src, g_strstrip (f[1]), sizeof d.src);
      g_strlcpy (d.dst, g_strstrip (f[2]), sizeof d.dst);
      d.bytes = g_ascii_strtoull (g_strstrip (f[3]), NULL, 10);
      g_array_append_val (flows, d);
    }
  return flows;
}

/* ---- nfsub itself ---- */

typedef struct {
  GHashTable *in, *out;   /* user key -> bytes (guint64 *) */
  TagCounters c;
  GArray *tags;           /* per flow: src key, dst key (const char *) */
} Tagged;

static void
add_bytes (GHashTable *t, const char *key, guint64 bytes)
{
  guint64 *v = g_hash_table_lookup (t, key);
  if (!v)
    {
      v = g_new0 (guint64, 1);
      g_hash_table_insert (t, g_strdup (key), v);
    }
  *v += bytes;
}

static guint64
get_bytes (GHashTable *t, const char *key)
{
  guint64 *v = g_hash_table_lookup (t, key);
  return v ? *v : 0;
}

static void
tagged_free (Tagged *t)
{
  g_hash_table_unref (t->in);
  g_hash_table_unref (t->out);
  g_array_unref (t->tags);
  g_free (t);
}

/* Reads the file with nfsub's reader and tags it in process, as the
 * pipeline would.  `check` gets each tagged flow. */
typedef void (*FlowCheck) (const NfsubFlow *f, guint index, gpointer data);

static Tagged *
tag_file (const char *conf_path, const char *file, FlowCheck check,
          gpointer data)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (g_key_file_load_from_file (kf, conf_path, 0, &error));
  /* paths in the config are relative to it: run from its folder */
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *dir = g_path_get_dirname (conf_path);
  g_assert_cmpint (g_chdir (dir), ==, 0);
  SubConfig *c = sub_config_load (NULL, kf, "subscriber", &error);
  g_assert_no_error (error);
  SubIndex *ix = sub_index_new (c);
  g_assert_true (sub_index_refresh (ix, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chdir (cwd), ==, 0);

  Tagger tg;
  tagger_init (&tg, ix, c->rules);
  Tagged *t = g_new0 (Tagged, 1);
  t->in = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  t->out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  t->tags = g_array_new (FALSE, FALSE, sizeof (const char *));
  g_autoptr (NfsubNffile) nf = nfsub_nffile_open (file, &error);
  g_assert_no_error (error);
  NfsubFlow flows[100];
  gssize n;
  guint index = 0;
  while ((n = nfsub_nffile_read (nf, flows, G_N_ELEMENTS (flows), &error)) > 0)
    {
      for (gssize i = 0; i < n; i++)
        {
          memset (&flows[i].src_tag, 0, sizeof flows[i].src_tag);
          memset (&flows[i].dst_tag, 0, sizeof flows[i].dst_tag);
          flows[i].direction = 0;
        }
      NfsubBatch batch = { flows, (guint) n, NULL, 0 };
      tagger_tag_batch (&tg, &batch, &t->c);
      for (gssize i = 0; i < n; i++)
        {
          const NfsubFlow *f = &flows[i];
          if (f->src_tag.user)
            add_bytes (t->in, f->src_tag.user, nfsub_flow_bytes (f));
          if (f->dst_tag.user)
            add_bytes (t->out, f->dst_tag.user, nfsub_flow_bytes (f));
          if (check)
            check (f, index, data);
          index++;
        }
    }
  g_assert_no_error (error);
  tagger_clear (&tg);
  sub_index_free (ix);
  sub_config_free (c);
  return t;
}

static void
check_against_reference (const NfsubFlow *f, guint index, gpointer data)
{
  GArray *dump = data;
  g_assert_cmpuint (index, <, dump->len);
  const DumpFlow *d = &g_array_index (dump, DumpFlow, index);
  char src[NFSUB_ADDR_STRLEN], dst[NFSUB_ADDR_STRLEN];
  /* same flow as nfdump's line */
  g_assert_cmpint ((gint64) f->first_ms, ==, d->first_ms);
  g_assert_cmpstr (nfsub_addr_to_string (&f->src, src), ==, d->src);
  g_assert_cmpstr (nfsub_addr_to_string (&f->dst, dst), ==, d->dst);
  g_assert_cmpuint (nfsub_flow_bytes (f), ==, d->bytes);
  gint64 t = d->first_ms / 1000;
  const char *want_src = ref_lookup (d->src, t);
  const char *want_dst = ref_lookup (d->dst, t);
  g_assert_cmpstr (f->src_tag.user, ==, want_src);
  g_assert_cmpstr (f->dst_tag.user, ==, want_dst);
  guint8 dir = (want_src ? NFSUB_DIR_IN : 0) | (want_dst ? NFSUB_DIR_OUT : 0);
  g_assert_cmpuint (f->direction, ==, dir);
  const struct {
    const char *want;
    const NfsubSubscriberTag *tag;
  } ends[] = { { want_src, &f->src_tag }, { want_dst, &f->dst_tag } };
  for (int e = 0; e < 2; e++)
    {
      if (!ends[e].want)
        {
          g_assert_cmpuint (ends[e].tag->user_id, ==, 0);
          continue;
        }
      const RefUser *u = ref_user (ends[e].want);
      g_assert_cmpuint (ends[e].tag->user_id, !=, 0);
      g_assert_cmpuint (ends[e].tag->service, ==, u->service);
      g_assert_cmpuint (ends[e].tag->user_class, ==, u->user_class);
      g_assert_cmpuint (ends[e].tag->access, ==, u->access);
    }
}

static void
test_tags_and_conservation (void)
{
  fixture_build ();
  g_autoptr (GArray) dump = nfdump_flows (fx.main_file, NULL);
  g_assert_cmpuint (dump->len, ==, 406);

  Tagged *t = tag_file (fx.conf, fx.main_file, check_against_reference, dump);

  /* per user: IN and OUT bytes from nfdump's lines and the reference */
  g_autoptr (GHashTable) in = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                     g_free, g_free);
  g_autoptr (GHashTable) out = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                      g_free, g_free);
  guint64 unattributed = 0, both = 0, total = 0;
  for (guint i = 0; i < dump->len; i++)
    {
      const DumpFlow *d = &g_array_index (dump, DumpFlow, i);
      const char *s = ref_lookup (d->src, d->first_ms / 1000);
      const char *e = ref_lookup (d->dst, d->first_ms / 1000);
      if (s)
        add_bytes (in, s, d->bytes);
      if (e)
        add_bytes (out, e, d->bytes);
      if (s && e)
        both += d->bytes;
      if (!s && !e)
        unattributed += d->bytes;
      total += d->bytes;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (ref_users); i++)
    {
      g_assert_cmpuint (get_bytes (t->in, ref_users[i].user), ==,
                        get_bytes (in, ref_users[i].user));
      g_assert_cmpuint (get_bytes (t->out, ref_users[i].user), ==,
                        get_bytes (out, ref_users[i].user));
    }
  g_assert_cmpuint (g_hash_table_size (t->in), ==, g_hash_table_size (in));
  g_assert_cmpuint (g_hash_table_size (t->out), ==, g_hash_table_size (out));
  /* the churn flows went where they belong, and some of everything */
  g_assert_cmpuint (get_bytes (in, "pppoe:alice"), >, 0);
  g_assert_cmpuint (get_bytes (out, "pppoe:bob"), >, 0);
  g_assert_cmpuint (both, >, 0);
  g_assert_cmpuint (unattributed, >, 0);

  /* conservation against nfdump -I */
  NfsubTestStat st;
  g_autoptr (GError) error = NULL;
  g_assert_true (nfsub_test_nfdump_stat (fx.main_file, &st, &error));
  g_assert_cmpuint (total, ==, st.bytes);
  guint64 sum_in = 0, sum_out = 0;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, t->in);
  while (g_hash_table_iter_next (&it, &k, &v))
    sum_in += *(guint64 *) v;
  g_hash_table_iter_init (&it, t->out);
  while (g_hash_table_iter_next (&it, &k, &v))
    sum_out += *(guint64 *) v;
  g_assert_cmpuint (sum_in, ==, t->c.in_bytes);
  g_assert_cmpuint (sum_out, ==, t->c.out_bytes);
  g_assert_cmpuint (t->c.both_bytes, ==, both);
  g_assert_cmpuint (t->c.unattr_bytes, ==, unattributed);
  g_assert_cmpuint (sum_in + sum_out - t->c.both_bytes + t->c.unattr_bytes, ==,
                    st.bytes);
  g_assert_cmpuint (t->c.flows, ==, st.flows);
  tagged_free (t);
}

/* ---- nfsub process ---- */

/* Runs the built nfsub in cwd; returns stdout, and in *err stdout and
 * stderr together (the log). */
static char *
run_nfsub (const char *cwd, int *status, char **err, const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) test_nfsub_binary ());
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_auto (GStrv) env = g_get_environ ();
  env = g_environ_setenv (env, "G_MESSAGES_DEBUG", "nfsub", TRUE);
  char *out = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (cwd, (char **) argv->pdata, env, 0, NULL, NULL,
                               &out, err, status, &error));
  g_assert_no_error (error);
  *status = WIFEXITED (*status) ? WEXITSTATUS (*status) : 128;
  /* GLib logs info to stdout, errors to stderr: *err gets both */
  char *both = g_strconcat (out, *err, NULL);
  g_free (*err);
  *err = both;
  return out;
}

/* the counters line nfsub keeps for `file` under state_dir (two fixture
 * files share a name: told apart by their first flow) */
static gboolean
counters_line (const char *state_dir, const char *file, guint64 v[13])
{
  NfsubTestStat st;
  g_autoptr (GError) error = NULL;
  g_assert_true (nfsub_test_nfdump_stat (file, &st, &error));
  g_autofree char *base = g_path_get_basename (file);
  g_autofree char *dir = g_build_filename (state_dir, "subscriber", "files",
                                           NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
      for (char **l = lines; *l; l++)
        {
          g_auto (GStrv) f = g_strsplit (*l, "\t", -1);
          if (g_strv_length (f) == 14 && strcmp (f[0], base) == 0
              && g_ascii_strtoull (f[1], NULL, 10) / 1000 == st.first)
            {
              for (int i = 0; i < 13; i++)
                v[i] = g_ascii_strtoull (f[i + 1], NULL, 10);
              return TRUE;
            }
        }
    }
  return FALSE;
}

static void
test_process (void)
{
  fixture_build ();
  int status;
  g_autofree char *err = NULL;
  g_autofree char *out = run_nfsub (fx.dir, &status, &err, "process", "-c",
                                    fx.conf, fx.main_file, NULL);
  if (status != 0)
    g_error ("nfsub process failed (%d): %s", status, err);
  g_autofree char *state = g_build_filename (fx.dir, "state", NULL);
  guint64 v[13];
  g_assert_true (counters_line (state, fx.main_file, v));
  /* first_ms last_ms flows bytes packets in_f in_b out_f out_b both_f
   * both_b unattr_f unattr_b */
  NfsubTestStat st;
  g_autoptr (GError) error = NULL;
  g_assert_true (nfsub_test_nfdump_stat (fx.main_file, &st, &error));
  g_assert_cmpuint (v[2], ==, st.flows);
  g_assert_cmpuint (v[3], ==, st.bytes);
  g_assert_cmpuint (v[4], ==, st.packets);
  g_assert_cmpuint (v[6] + v[8] - v[10] + v[12], ==, st.bytes);
  g_assert_cmpuint (v[5] + v[7] - v[9] + v[11], ==, st.flows);
  /* the same numbers as the reference tagging of nfdump's lines */
  g_autoptr (GArray) dump = nfdump_flows (fx.main_file, NULL);
  guint64 in_b = 0, unattr_b = 0, both_f = 0;
  for (guint i = 0; i < dump->len; i++)
    {
      const DumpFlow *d = &g_array_index (dump, DumpFlow, i);
      const char *s = ref_lookup (d->src, d->first_ms / 1000);
      const char *e = ref_lookup (d->dst, d->first_ms / 1000);
      in_b += s ? d->bytes : 0;
      unattr_b += !s && !e ? d->bytes : 0;
      both_f += s && e;
    }
  g_assert_cmpuint (v[6], ==, in_b);
  g_assert_cmpuint (v[12], ==, unattr_b);
  g_assert_cmpuint (v[9], ==, both_f);
  g_assert_nonnull (strstr (err, "unattributed"));

  /* the index was saved; a lookup through the CLI agrees */
  g_autofree char *index = g_build_filename (state, "subscriber", "index.bin",
                                             NULL);
  g_assert_true (g_file_test (index, G_FILE_TEST_EXISTS));
  g_autofree char *err2 = NULL;
  g_autofree char *look = run_nfsub (fx.dir, &status, &err2, "subscriber",
                                     "-c", fx.conf, "lookup", "100.64.0.1",
                                     "--at", "2024-06-03T00:09:59Z", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (look, ": pppoe:alice (dynamic binding of "
                                  "100.64.0.1/32)"));
  g_free (look);
  g_free (err2);
  err2 = NULL;
  look = run_nfsub (fx.dir, &status, &err2, "subscriber", "-c", fx.conf,
                    "lookup", "203.0.113.6", "--at", "@1717372800", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (look, ": ipoe:acme (static binding of "
                                  "203.0.113.0/29)"));
}

/* nfcapd -x runs one process per file: the second run reads only what the
 * sources gained. */
static void
test_incremental (void)
{
  fixture_build ();
  g_autofree char *dir = nfsub_test_tmpdir ("subscriber-incr");
  write_sources (dir, NULL);
  g_autofree char *conf = g_build_filename (dir, "nfsub.conf", NULL);
  int status;
  g_autofree char *err = NULL;
  g_autofree char *out = run_nfsub (dir, &status, &err, "process", "-c", conf,
                                    fx.stable_file, NULL);
  if (status != 0)
    g_error ("nfsub process failed (%d): %s", status, err);
  g_assert_nonnull (strstr (err, "radius: 7 records read"));
  /* the server appends one record */
  g_autofree char *detail = g_build_filename (dir, "radacct",
                                              "detail-20240603", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (detail, &text, NULL, NULL));
  g_autofree char *more = g_strconcat (
    text,
    "Mon Jun  3 01:00:00 2024\n"
    "\tAcct-Status-Type = Start\n"
    "\tUser-Name = \"frank\"\n"
    "\tAcct-Session-Id = \"f1\"\n"
    "\tNAS-IP-Address = 192.0.2.1\n"
    "\tFramed-IP-Address = 100.64.0.9\n"
    "\tEvent-Timestamp = \"Jun  3 2024 01:00:00 UTC\"\n"
    "\n",
    NULL);
  test_write_file (detail, more);
  g_free (err);
  g_free (out);
  out = run_nfsub (dir, &status, &err, "process", "-c", conf, fx.main_file,
                   NULL);
  if (status != 0)
    g_error ("nfsub process failed (%d): %s", status, err);
  if (!strstr (err, "radius: 1 records read"))
    g_error ("expected 1 new record read:\n%s", err);
  /* the main file's counters equal those of a run from scratch */
  g_autofree char *state = g_build_filename (dir, "state", NULL);
  g_autofree char *fresh = g_build_filename (fx.dir, "state", NULL);
  guint64 a[13], b[13];
  g_assert_true (counters_line (state, fx.main_file, a));
  if (!counters_line (fresh, fx.main_file, b))
    {
      g_test_incomplete ("run /subscriber/process first");
      return;
    }
  for (int i = 0; i < 13; i++)
    g_assert_cmpuint (a[i], ==, b[i]);
  nfsub_test_rm_rf (dir);
}

/* `nfsub filters` files select with nfdump what nfsub tags. */
typedef struct {
  guint counts[8];
} CategoryCounts;

static void
count_categories (const NfsubFlow *f, guint index, gpointer data)
{
  CategoryCounts *c = data;
  const NfsubSubscriberTag *t[2] = { &f->src_tag, &f->dst_tag };
  gboolean hit[8] = { FALSE };
  for (int e = 0; e < 2; e++)
    {
      if (!t[e]->user)
        continue;
      hit[0] |= t[e]->access == NFSUB_ACCESS_PPPOE;
      hit[1] |= t[e]->access == NFSUB_ACCESS_IPOE;
      hit[2] |= t[e]->access == NFSUB_ACCESS_MOBILE;
      hit[3] |= t[e]->service == NFSUB_SERVICE_BROADBAND;
      hit[4] |= t[e]->service == NFSUB_SERVICE_MOBILE;
      hit[5] |= t[e]->user_class == NFSUB_CLASS_PERSONAL;
      hit[6] |= t[e]->user_class == NFSUB_CLASS_ENTERPRISE;
      hit[7] = TRUE;
    }
  for (int i = 0; i < 8; i++)
    c->counts[i] += hit[i];
}

static void
test_filters (void)
{
  static const char *const files[8] = {
    "pppoe.nf", "ipoe.nf", "mobile.nf", "broadband.nf", "mobile-service.nf",
    "personal.nf", "enterprise.nf", "subscribers.nf",
  };
  fixture_build ();
  g_autofree char *nf_dir = g_build_filename (fx.dir, "nf", NULL);
  int status;
  g_autofree char *err = NULL;
  g_autofree char *out = run_nfsub (fx.dir, &status, &err, "filters", "-c",
                                    fx.conf, "--at", "2024-06-03 00:13:20",
                                    "-o", nf_dir, NULL);
  if (status != 0)
    g_error ("nfsub filters failed (%d): %s", status, err);
  CategoryCounts want = { { 0 } };
  Tagged *t = tag_file (fx.conf, fx.stable_file, count_categories, &want);
  for (int i = 0; i < 8; i++)
    {
      g_autofree char *path = g_build_filename (nf_dir, files[i], NULL);
      g_assert_nonnull (strstr (out, path));
      g_autoptr (GArray) sel = nfdump_flows (fx.stable_file, path);
      if (sel->len != want.counts[i])
        {
          g_autofree char *text = NULL;
          g_file_get_contents (path, &text, NULL, NULL);
          g_error ("%s: nfdump selects %u flows, nfsub tagged %u\n%s",
                   files[i], sel->len, want.counts[i], text);
        }
    }
  /* every category is exercised and acme's /29 is written around erin */
  for (int i = 0; i < 8; i++)
    g_assert_cmpuint (want.counts[i], >, 0);
  g_autofree char *ipoe = NULL;
  g_autofree char *ipoe_path = g_build_filename (nf_dir, "ipoe.nf", NULL);
  g_assert_true (g_file_get_contents (ipoe_path, &ipoe, NULL, NULL));
  g_assert_null (strstr (ipoe, "203.0.113.0/29"));
  g_assert_nonnull (strstr (ipoe, "\n203.0.113.4\n"));
  g_assert_nonnull (strstr (ipoe, "203.0.113.6/31\n"));
  g_assert_nonnull (strstr (ipoe, "203.0.113.0/30\n"));
  tagged_free (t);
}

/* Malformed input: one clear error with file and line, or skipped. */
static void
test_bad_input (void)
{
  fixture_build ();
  g_autofree char *dir = nfsub_test_tmpdir ("subscriber-bad");
  write_sources (dir, NULL);
  g_autofree char *detail = g_build_filename (dir, "radacct",
                                              "detail-20240603", NULL);
  g_autofree char *bad = g_strconcat (
    detail_text,
    "Mon Jun  3 01:00:00 2024\n"
    "\tAcct-Status-Type = Start\n"
    "\tFramed-IP-Address = 100.64.0.300\n"
    "\tUser-Name = \"x\"\n"
    "\tAcct-Session-Id = \"x1\"\n"
    "\n"
    "Mon Jun  3 01:00:00 2024\n"
    "\tAcct-Status-Type = Start\n"
    "\tUser-Name \"broken\n"
    "\n",
    NULL);
  test_write_file (detail, bad);
  g_autofree char *conf = g_build_filename (dir, "nfsub.conf", NULL);
  guint lines = 0;
  for (const char *p = detail_text; *p; p++)
    lines += *p == '\n';
  int status;
  g_autofree char *err = NULL;
  g_autofree char *out = run_nfsub (dir, &status, &err, "process", "-c", conf,
                                    fx.stable_file, NULL);
  g_assert_cmpint (status, !=, 0);
  g_autofree char *where = g_strdup_printf (
    "%s: line %u: Framed-IP-Address = \"100.64.0.300\": expected an IP "
    "address", detail, lines + 3);
  if (!strstr (err, where))
    g_error ("stderr lacks '%s':\n%s", where, err);

  /* on_error = skip: both bad records are skipped and counted */
  write_sources (dir, "on_error = skip\n");
  test_write_file (detail, bad);
  g_free (err);
  g_free (out);
  out = run_nfsub (dir, &status, &err, "process", "-c", conf, fx.stable_file,
                   NULL);
  if (status != 0)
    g_error ("nfsub process failed (%d): %s", status, err);
  g_assert_nonnull (strstr (err, "2 malformed and skipped"));
  g_autofree char *where2 = g_strdup_printf ("%s: line %u: attribute line "
                                             "without ' = '",
                                             detail, lines + 9);
  g_assert_nonnull (strstr (err, where2));

  /* a directory where files are expected is refused, not read as empty
   * (the key given twice: the later value is the one that counts) */
  write_sources (dir, "radius_detail = radacct\n");
  g_free (err);
  g_free (out);
  out = run_nfsub (dir, &status, &err, "process", "-c", conf, fx.stable_file,
                   NULL);
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (err, "radacct is a directory"));

  /* an unknown key names itself */
  write_sources (dir, "radius_usr = User-Name\n");
  g_free (err);
  g_free (out);
  out = run_nfsub (dir, &status, &err, "process", "-c", conf, fx.stable_file,
                   NULL);
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (err, "[subscriber] unknown key 'radius_usr'"));
  /* a bad rule names the token */
  write_sources (dir, "rule.x = pool 10.0.0.0/33 => access=pppoe\n");
  g_free (err);
  g_free (out);
  out = run_nfsub (dir, &status, &err, "process", "-c", conf, fx.stable_file,
                   NULL);
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (err, "rule.x: bad value for 'pool': '10.0.0.0/33'"));
  nfsub_test_rm_rf (dir);
}

/* A file whose flows just ended: the accounting may still come. */
static void
test_grace (void)
{
  g_autofree char *dir = nfsub_test_tmpdir ("subscriber-grace");
  gint64 now_ms = g_get_real_time () / 1000;
  NfsimRecord recs[] = {
    test_flow_v4 ("100.64.0.1", "8.8.8.8", (guint64) now_ms - 2000, 100),
    test_flow_v4 ("8.8.8.8", "100.64.0.1", (guint64) now_ms - 1000, 200),
  };
  g_autoptr (GError) error = NULL;
  g_autofree char *file = test_nfcapd_file (dir, recs, G_N_ELEMENTS (recs),
                                            "", &error);
  g_assert_no_error (error);

  write_sources (dir, "grace = 1h\nearly_file = fail\n");
  g_autofree char *conf = g_build_filename (dir, "nfsub.conf", NULL);
  int status;
  g_autofree char *err = NULL;
  g_autofree char *out = run_nfsub (dir, &status, &err, "process", "-c", conf,
                                    file, NULL);
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (err, "accounting not yet complete for"));
  g_assert_nonnull (strstr (err, "retry after"));

  /* early_file = wait: sleeps out a short grace, then tags */
  write_sources (dir, "grace = 4s\nearly_file = wait\n");
  gint64 start = g_get_monotonic_time ();
  g_free (err);
  g_free (out);
  out = run_nfsub (dir, &status, &err, "process", "-c", conf, file, NULL);
  if (status != 0)
    g_error ("nfsub process failed (%d): %s", status, err);
  gint64 file_end = now_ms / 1000 + 4; /* last flow ends a second later */
  gint64 waited_until = g_get_real_time () / G_USEC_PER_SEC;
  g_assert_cmpint (waited_until, >=, file_end);
  g_assert_nonnull (strstr (err, "waiting"));
  g_assert_cmpint (g_get_monotonic_time () - start, >, 1000000);
  nfsub_test_rm_rf (dir);
}

/* Flow rules: the access comes from the router interface.  The test
 * exporter sends every flow with input 10 and output 20; a rule makes
 * the subscriber seen through output 20 (the destination end) IPoE. */
typedef struct {
  guint checked;
} RuleCheck;

static void
check_flow_rule (const NfsubFlow *f, guint index, gpointer data)
{
  RuleCheck *rc = data;
  char src[NFSUB_ADDR_STRLEN], dst[NFSUB_ADDR_STRLEN];
  gint64 t = (gint64) (f->first_ms / 1000);
  const char *want_src = ref_lookup (nfsub_addr_to_string (&f->src, src), t);
  const char *want_dst = ref_lookup (nfsub_addr_to_string (&f->dst, dst), t);
  g_assert_cmpstr (f->src_tag.user, ==, want_src);
  if (!want_dst)
    {
      g_assert_null (f->dst_tag.user);
      return;
    }
  const char *colon = strchr (want_dst, ':');
  g_autofree char *ipoe = g_strconcat ("ipoe", colon, NULL);
  g_assert_cmpstr (f->dst_tag.user, ==, ipoe);
  g_assert_cmpuint (f->dst_tag.access, ==, NFSUB_ACCESS_IPOE);
  g_assert_cmpuint (f->dst_tag.service, ==, ref_user (want_dst)->service);
  /* another access is another user */
  if (want_src && strcmp (want_src, want_dst) == 0
      && ref_user (want_dst)->access != NFSUB_ACCESS_IPOE)
    g_assert_cmpuint (f->src_tag.user_id, !=, f->dst_tag.user_id);
  rc->checked++;
}

static void
test_flow_rules (void)
{
  fixture_build ();
  g_autofree char *dir = nfsub_test_tmpdir ("subscriber-rules");
  write_sources (dir, "rule.bng-ipoe-port = exporter 127.0.0.0/8 if 20 "
                      "=> access=ipoe\n"
                      "rule.other-router = exporter 192.0.2.77 => "
                      "access=mobile\n");
  g_autofree char *conf = g_build_filename (dir, "nfsub.conf", NULL);
  RuleCheck rc = { 0 };
  Tagged *t = tag_file (conf, fx.main_file, check_flow_rule, &rc);
  g_assert_cmpuint (rc.checked, >, 50);
  tagged_free (t);
  nfsub_test_rm_rf (dir);
}

/* Bindings that ended before the retention window are dropped when the
 * index is saved; what is still open survives the save and load. */
static const char *
who_at (SubIndex *ix, const char *addr, gint64 t)
{
  NfsubAddr a;
  g_assert_true (nfsub_addr_parse (addr, &a));
  guint32 id = lease_table_lookup (ix->table, &a, (guint32) t);
  return id ? lease_table_user (ix->table,
                                lease_table_binding (ix->table, id)->user)
                ->key
            : "-";
}

static void
test_retention (void)
{
  g_autofree char *dir = nfsub_test_tmpdir ("subscriber-retention");
  write_sources (dir, "retention = 1h\n");
  /* three hours later someone else connects: the newest event */
  g_autofree char *detail = g_build_filename (dir, "radacct",
                                              "detail-20240603", NULL);
  g_autofree char *more = g_strconcat (
    detail_text,
    "Mon Jun  3 03:00:00 2024\n"
    "\tAcct-Status-Type = Start\n"
    "\tUser-Name = \"frank\"\n"
    "\tAcct-Session-Id = \"f1\"\n"
    "\tNAS-IP-Address = 192.0.2.1\n"
    "\tFramed-IP-Address = 100.64.0.9\n"
    "\tEvent-Timestamp = \"Jun  3 2024 03:00:00 UTC\"\n"
    "\n",
    NULL);
  test_write_file (detail, more);
  g_autofree char *conf = g_build_filename (dir, "nfsub.conf", NULL);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (g_key_file_load_from_file (kf, conf, 0, &error));
  g_autofree char *cwd = g_get_current_dir ();
  g_assert_cmpint (g_chdir (dir), ==, 0);
  SubConfig *c = sub_config_load (NULL, kf, "subscriber", &error);
  g_assert_no_error (error);
  g_autofree char *index = g_build_filename (dir, "index.bin", NULL);
  SubIndex *ix = sub_index_new (c);
  g_assert_true (sub_index_refresh (ix, &error));
  g_assert_cmpstr (who_at (ix, "100.64.0.1", T0 + 10), ==, "pppoe:alice");
  g_assert_cmpstr (who_at (ix, "100.64.0.3", T0 + 200), ==, "pppoe:carol");
  guint32 before = lease_table_n_bindings (ix->table);
  g_assert_true (sub_index_save (ix, index, &error));
  sub_index_free (ix);

  ix = sub_index_new (c);
  g_assert_true (sub_index_load (ix, index, &error));
  g_assert_true (sub_index_refresh (ix, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ix->radius.records, ==, 0); /* nothing read again */
  /* alice's two bindings and carol's ended more than an hour before
   * 03:00: gone; the open ones and the Kea and static ones remain */
  g_assert_cmpuint (lease_table_n_bindings (ix->table), ==, before - 3);
  g_assert_cmpstr (who_at (ix, "100.64.0.1", T0 + 10), ==, "-");
  g_assert_cmpstr (who_at (ix, "100.64.0.3", T0 + 200), ==, "-");
  g_assert_cmpstr (who_at (ix, "100.64.0.1", T0 + 700), ==, "pppoe:bob");
  g_assert_cmpstr (who_at (ix, "100.64.0.9", T0 + 10801), ==, "pppoe:frank");
  g_assert_cmpstr (who_at (ix, "2001:db8:200:1ff::1", T0), ==, "ipoe:dave");
  g_assert_cmpstr (who_at (ix, "203.0.113.1", T0), ==, "ipoe:acme");
  /* bob's session is still known: his Stop still ends his binding */
  g_assert_cmpuint (ix->n_sessions, ==, 4); /* bob, mobile, erin, frank */
  sub_index_free (ix);
  sub_config_free (c);
  g_assert_cmpint (g_chdir (cwd), ==, 0);
  nfsub_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* the plugin warns about skipped records: that is under test here */
  g_log_set_always_fatal (G_LOG_FATAL_MASK);
  g_test_add_func ("/subscriber/tags-and-conservation",
                   test_tags_and_conservation);
  g_test_add_func ("/subscriber/process", test_process);
  g_test_add_func ("/subscriber/incremental", test_incremental);
  g_test_add_func ("/subscriber/filters", test_filters);
  g_test_add_func ("/subscriber/bad-input", test_bad_input);
  g_test_add_func ("/subscriber/grace", test_grace);
  g_test_add_func ("/subscriber/flow-rules", test_flow_rules);
  g_test_add_func ("/subscriber/retention", test_retention);
  int rc = g_test_run ();
  if (fx.dir)
    nfsub_test_rm_rf (fx.dir);
  return rc;
}
