/* The subscriber plugin on a simulated ISP day: contrib/nfsim's population
 * (PPPoE and mobile sessions in FreeRADIUS detail files with late
 * Interim/Stop records and address reuse, IPoE delegations in a Kea lease
 * file, enterprise prefixes in a static CSV) exported to a real nfcapd.
 * Every user's IN and OUT bytes must equal the simulator's ground truth
 * exactly, and IN + OUT - both + unattributed must equal `nfdump -I`. */
#include "config.h"

#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include <nfsub/nffile.h>

#include "plugins/subscriber/subscriber.h"
#include "plugins/subscriber/test-peers.h"
#include "tests/testutil.h"

static char *
write_config (const char *dir, const char *sim)
{
  g_autofree char *conf = g_strdup_printf (
    "[nfsub]\n"
    "state_dir = %s/state\n"
    "plugins = subscriber\n"
    "timezone = UTC\n"
    "[subscriber]\n"
    "radius_detail = %s/radacct/*/detail-*\n"
    "radius_timezone = UTC\n"
    "rule.mobile = nas 192.0.2.101 => service=mobile access=mobile\n"
    "kea_leases = %s/kea/leases6.csv\n"
    "kea_duid_map = %s/kea/duid-users.csv\n"
    "static = %s/static.csv\n",
    dir, sim, sim, sim, sim);
  char *path = g_build_filename (dir, "nfsub.conf", NULL);
  test_write_file (path, conf);
  return path;
}

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
test_population_day (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *file = nfsub_test_fixture ("subscriber-pop", "-y",
                                              "-u 300 -d 1 -s 3", &error);
  g_assert_no_error (error);
  g_autofree char *sim = nfsub_test_fixture_sim_dir (file);
  g_autofree char *truth_path = g_build_filename (sim, "truth.json", NULL);
  g_autoptr (NfsubTestJson) truth = nfsub_test_json_load (truth_path, &error);
  g_assert_no_error (error);
  g_autofree char *dir = nfsub_test_tmpdir ("subscriber-sim");
  g_autofree char *conf = write_config (dir, sim);

  /* tag in process, as the pipeline does */
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_assert_true (g_key_file_load_from_file (kf, conf, 0, &error));
  SubConfig *c = sub_config_load (NULL, kf, "subscriber", &error);
  g_assert_no_error (error);
  SubIndex *ix = sub_index_new (c);
  g_assert_true (sub_index_refresh (ix, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ix->radius.malformed + ix->kea.malformed
                      + ix->statics.malformed,
                    ==, 0);
  Tagger tg;
  tagger_init (&tg, ix, c->rules);
  g_autoptr (GHashTable) in = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                     g_free, g_free);
  g_autoptr (GHashTable) out = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                      g_free, g_free);
  g_autoptr (GHashTable) attrs = g_hash_table_new_full (g_str_hash,
                                                        g_str_equal, g_free,
                                                        g_free);
  TagCounters counters = { 0 };
  g_autoptr (NfsubNffile) nf = nfsub_nffile_open (file, &error);
  g_assert_no_error (error);
  NfsubFlow flows[2048];
  gssize n;
  while ((n = nfsub_nffile_read (nf, flows, G_N_ELEMENTS (flows), &error)) > 0)
    {
      for (gssize i = 0; i < n; i++)
        {
          memset (&flows[i].src_tag, 0, sizeof flows[i].src_tag);
          memset (&flows[i].dst_tag, 0, sizeof flows[i].dst_tag);
          flows[i].direction = 0;
        }
      NfsubBatch batch = { flows, (guint) n, NULL, 0 };
      tagger_tag_batch (&tg, &batch, &counters);
      for (gssize i = 0; i < n; i++)
        {
          const NfsubFlow *f = &flows[i];
          const NfsubSubscriberTag *tags[2] = { &f->src_tag, &f->dst_tag };
          for (int e = 0; e < 2; e++)
            if (tags[e]->user)
              {
                add_bytes (e == 0 ? in : out, tags[e]->user,
                           nfsub_flow_bytes (f));
                g_hash_table_replace (
                  attrs, g_strdup (tags[e]->user),
                  g_strdup_printf ("%s %s %s", service_name (tags[e]->service),
                                   class_name (tags[e]->user_class),
                                   access_name (tags[e]->access)));
              }
        }
    }
  g_assert_no_error (error);

  /* every user, exactly */
  const NfsubTestJson *users = nfsub_test_json_member (truth, "users");
  guint n_users = nfsub_test_json_length (users);
  g_assert_cmpuint (n_users, ==, 300 + 0); /* -u 300 */
  guint active = 0;
  for (guint i = 0; i < n_users; i++)
    {
      const char *key;
      const NfsubTestJson *u = nfsub_test_json_index (users, i, &key);
      guint64 want_in = (guint64) nfsub_test_json_number (u, "in_sampled");
      guint64 want_out = (guint64) nfsub_test_json_number (u, "out_sampled");
      if (get_bytes (in, key) != want_in || get_bytes (out, key) != want_out)
        g_error ("%s: nfsub IN %" G_GUINT64_FORMAT " OUT %" G_GUINT64_FORMAT
                 ", truth IN %" G_GUINT64_FORMAT " OUT %" G_GUINT64_FORMAT,
                 key, get_bytes (in, key), get_bytes (out, key), want_in,
                 want_out);
      const char *got = g_hash_table_lookup (attrs, key);
      if (got)
        {
          g_autofree char *want = g_strdup_printf (
            "%s %s %s", nfsub_test_json_string (u, "service"),
            nfsub_test_json_string (u, "class"),
            nfsub_test_json_string (u, "access"));
          g_assert_cmpstr (got, ==, want);
          active++;
        }
      g_hash_table_remove (in, key);
      g_hash_table_remove (out, key);
    }
  g_assert_cmpuint (active, >, 250);
  /* nobody nfsub knows that the truth does not */
  g_assert_cmpuint (g_hash_table_size (in), ==, 0);
  g_assert_cmpuint (g_hash_table_size (out), ==, 0);
  g_assert_cmpuint (counters.unattr_bytes, ==,
                    (guint64) nfsub_test_json_number (
                      truth, "unattributed.sampled_bytes"));
  NfsubTestStat st;
  g_assert_true (nfsub_test_nfdump_stat (file, &st, &error));
  g_assert_cmpuint (counters.flows, ==, st.flows);
  g_assert_cmpuint (counters.in_bytes + counters.out_bytes
                      - counters.both_bytes + counters.unattr_bytes,
                    ==, st.bytes);
  tagger_clear (&tg);
  sub_index_free (ix);
  sub_config_free (c);

  /* the same through `nfsub process`, the way nfcapd -x runs it */
  const char *argv[] = { test_nfsub_binary (), "process", "-c", conf, file,
                         NULL };
  int status;
  g_autofree char *o = nfsub_test_run (argv, &status, &error);
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  g_autofree char *base = g_path_get_basename (file);
  g_autofree char *files_dir = g_build_filename (dir, "state", "subscriber",
                                                 "files", NULL);
  g_autoptr (GDir) d = g_dir_open (files_dir, 0, &error);
  g_assert_no_error (error);
  gboolean found = FALSE;
  const char *name;
  while ((name = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (files_dir, name, NULL);
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
      for (char **l = lines; *l; l++)
        {
          g_auto (GStrv) f = g_strsplit (*l, "\t", -1);
          if (g_strv_length (f) != 14 || strcmp (f[0], base) != 0)
            continue;
          found = TRUE;
          g_assert_cmpuint (g_ascii_strtoull (f[3], NULL, 10), ==, st.flows);
          g_assert_cmpuint (g_ascii_strtoull (f[4], NULL, 10), ==, st.bytes);
          g_assert_cmpuint (g_ascii_strtoull (f[7], NULL, 10), ==,
                            counters.in_bytes);
          g_assert_cmpuint (g_ascii_strtoull (f[9], NULL, 10), ==,
                            counters.out_bytes);
          g_assert_cmpuint (g_ascii_strtoull (f[13], NULL, 10), ==,
                            counters.unattr_bytes);
        }
    }
  g_assert_true (found);
  nfsub_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK);
  g_test_add_func ("/subscriber-sim/population-day", test_population_day);
  return g_test_run ();
}
