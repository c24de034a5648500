/* nfsim through a real nfcapd: what nfcapd stores (its own stat record,
 * read back by the real nfdump) equals the simulator's ground truth, for
 * NetFlow v9 and IPFIX, every compression, with and without sampling. */
#include "config.h"

#include "testutil.h"

#include <math.h>
#include <string.h>

typedef struct {
  const char *name;
  const char *compression;
  const char *args;
} Case;

static const Case cases[] = {
  { "sim-v9-plain", "", "-n 20000 -s 11 -S 1" },
  { "sim-v9-lzo-s10", "-z", "-n 30000 -s 12 -S 10" },
  { "sim-v9-lz4-s100", "-y", "-n 30000 -s 13 -S 100" },
  { "sim-ipfix-bz2-s10", "-j", "-n 20000 -s 14 -S 10 -f ipfix" },
};

static void
check_stat_equals_truth (gconstpointer data)
{
  const Case *c = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *file = nfsub_test_fixture (c->name, c->compression, c->args, &error);
  g_assert_no_error (error);
  g_autofree char *sim = nfsub_test_fixture_sim_dir (file);
  g_autofree char *truth_path = g_build_filename (sim, "truth.json", NULL);
  g_autoptr (NfsubTestJson) truth = nfsub_test_json_load (truth_path, &error);
  g_assert_no_error (error);

  NfsubTestStat st;
  g_assert_true (nfsub_test_nfdump_stat (file, &st, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (st.sequence_failures, ==, 0);
  g_assert_cmpuint (st.flows, ==, nfsub_test_json_number (truth, "expected_nfcapd.flows"));
  g_assert_cmpuint (st.packets, ==, nfsub_test_json_number (truth, "expected_nfcapd.packets"));
  g_assert_cmpuint (st.bytes, ==, nfsub_test_json_number (truth, "expected_nfcapd.bytes"));
  struct {
    const char *p;
    guint64 flows, packets, bytes;
  } per[] = {
    { "tcp", st.flows_tcp, st.packets_tcp, st.bytes_tcp },
    { "udp", st.flows_udp, st.packets_udp, st.bytes_udp },
    { "icmp", st.flows_icmp, st.packets_icmp, st.bytes_icmp },
    { "other", st.flows_other, st.packets_other, st.bytes_other },
  };
  for (guint i = 0; i < G_N_ELEMENTS (per); i++)
    {
      g_autofree char *f = g_strdup_printf ("expected_nfcapd.by_proto.%s.flows", per[i].p);
      g_autofree char *p = g_strdup_printf ("expected_nfcapd.by_proto.%s.packets", per[i].p);
      g_autofree char *b = g_strdup_printf ("expected_nfcapd.by_proto.%s.bytes", per[i].p);
      g_assert_cmpuint (per[i].flows, ==, nfsub_test_json_number (truth, f));
      g_assert_cmpuint (per[i].packets, ==, nfsub_test_json_number (truth, p));
      g_assert_cmpuint (per[i].bytes, ==, nfsub_test_json_number (truth, b));
    }

  /* the sampler nfcapd recorded: every record flagged Sampled or none */
  double rate = nfsub_test_json_number (truth, "sampling");
  g_autofree char *raw = nfsub_test_nfdump_output (&error, "-r", file, "-o", "raw", "-c", "50", NULL);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (raw, "Flow Record"));
  if (rate > 1)
    g_assert_nonnull (strstr (raw, "Sampled"));
  else
    g_assert_null (strstr (raw, "Sampled"));

  /* sampling thins flows: fewer records than generated, in proportion */
  double generated = nfsub_test_json_number (truth, "true.flows");
  double exported = nfsub_test_json_number (truth, "exported.flows");
  if (rate > 1)
    g_assert_cmpfloat (exported, <, generated);
  else
    g_assert_cmpfloat (exported, ==, generated);
  /* sampled totals scale back to the truth within sampling error:
   * packets kept ~ Binomial(P, 1/N); the relative sd of the scaled total
   * is sqrt((N-1)/P); allow 5 sd */
  double true_packets = nfsub_test_json_number (truth, "true.packets");
  double rel_sd = sqrt ((rate - 1) / true_packets);
  g_assert_cmpfloat (fabs ((double) st.packets / true_packets - 1), <=, 5 * rel_sd + 1e-12);
}

static void
check_same_seed_same_flows (void)
{
  /* determinism: the same arguments give the same records, flow by flow */
  g_autoptr (GError) error = NULL;
  g_autofree char *a = nfsub_test_fixture ("sim-det-a", "-y", "-n 3000 -s 99 -S 10", &error);
  g_assert_no_error (error);
  g_autofree char *b = nfsub_test_fixture ("sim-det-b", "", "-n 3000 -s 99 -S 10 -r 50000", &error);
  g_assert_no_error (error);
  const char *fmt = "fmt:%ts|%te|%pr|%sa|%da|%sp|%dp|%byt|%pkt|%in|%out|%flg|%sas|%das";
  g_autofree char *da = nfsub_test_nfdump_output (&error, "-r", a, "-q", "-N", "-o", fmt, "-O", "tstart", NULL);
  g_assert_no_error (error);
  g_autofree char *db = nfsub_test_nfdump_output (&error, "-r", b, "-q", "-N", "-o", fmt, "-O", "tstart", NULL);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (da), >, 1000);
  g_assert_cmpstr (da, ==, db);
}

static void
check_fixture_dir (void)
{
  /* several rotations: together the files hold exactly what was sent */
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = nfsub_test_fixture_dir ("sim-multi", "-y", 2,
                                                 "-n 60000 -s 5 -S 10 -r 12000", &error);
  g_assert_no_error (error);
  g_auto (GStrv) files = nfsub_test_list_nfcapd_files (dir);
  g_assert_cmpuint (g_strv_length (files), >=, 2);
  guint64 flows = 0, bytes = 0;
  for (char **f = files; *f; f++)
    {
      NfsubTestStat st;
      g_assert_true (nfsub_test_nfdump_stat (*f, &st, &error));
      g_assert_cmpuint (st.sequence_failures, ==, 0);
      flows += st.flows;
      bytes += st.bytes;
    }
  g_autofree char *sim = nfsub_test_fixture_sim_dir (dir);
  g_autofree char *truth_path = g_build_filename (sim, "truth.json", NULL);
  g_autoptr (NfsubTestJson) truth = nfsub_test_json_load (truth_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (flows, ==, nfsub_test_json_number (truth, "expected_nfcapd.flows"));
  g_assert_cmpuint (bytes, ==, nfsub_test_json_number (truth, "expected_nfcapd.bytes"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/sim/random/%s", cases[i].name);
      g_test_add_data_func (path, &cases[i], check_stat_equals_truth);
    }
  g_test_add_func ("/sim/random/deterministic", check_same_seed_same_flows);
  g_test_add_func ("/sim/random/fixture-dir", check_fixture_dir);
  return g_test_run ();
}
