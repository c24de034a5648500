/* nfsim: ground truth of population mode (truth.json, truth-users.csv).
 * Definitions: README.md. */
#include "config.h"

#include "pop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* density grid: bin k is centred on log10(bytes/day) = 4 + 0.05 k, the
 * grid the published modes sit on (5,620 MB = 10^9.75 bytes) */
#define DENS_LO 4.0
#define DENS_STEP 0.05
#define DENS_BINS 141
#define SMOOTH_BINS 2.0

typedef struct {
  double mean, median, mode, mode_raw, top10, top1;
  double density[DENS_BINS];
  guint n;
} Stats;

static gint
cmp_double_desc (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x > y ? -1 : x < y;
}

static guint
dens_bin (double v)
{
  if (v <= 0)
    return 0;
  double k = floor ((log10 (v) - DENS_LO) / DENS_STEP + 0.5);
  return k < 0 ? 0 : k >= DENS_BINS ? DENS_BINS - 1 : (guint) k;
}

/* values: bytes/day per user, sorted in place (descending) */
static void
compute_stats (double *v, guint n, Stats *s)
{
  memset (s, 0, sizeof *s);
  s->n = n;
  if (n == 0)
    return;
  qsort (v, n, sizeof (double), cmp_double_desc);
  double sum = 0;
  for (guint i = 0; i < n; i++)
    sum += v[i];
  s->mean = sum / n;
  s->median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  guint k10 = MAX (1, (guint) floor (n * 0.10 + 0.5)), k1 = MAX (1, (guint) floor (n * 0.01 + 0.5));
  double t10 = 0, t1 = 0;
  for (guint i = 0; i < k10; i++)
    {
      t10 += v[i];
      if (i < k1)
        t1 += v[i];
    }
  s->top10 = sum > 0 ? 100 * t10 / sum : 0;
  s->top1 = sum > 0 ? 100 * t1 / sum : 0;
  for (guint i = 0; i < n; i++)
    s->density[dens_bin (v[i])] += 1;
  /* mode: tallest bin of the histogram smoothed with a Gaussian kernel */
  double best = -1, best_raw = -1;
  for (int k = 0; k < DENS_BINS; k++)
    {
      double num = 0, den = 0;
      /* the catch-all bins 0 and 140 are not densities: left out */
      for (int j = MAX (1, k - 8); j <= MIN (DENS_BINS - 2, k + 8); j++)
        {
          double w = exp (-0.5 * (j - k) * (j - k) / (SMOOTH_BINS * SMOOTH_BINS));
          num += w * s->density[j];
          den += w;
        }
      double sm = num / den;
      /* bins 0 and the last collect everything outside the grid */
      if (k > 0 && k < DENS_BINS - 1 && sm > best)
        {
          best = sm;
          s->mode = pow (10, DENS_LO + DENS_STEP * k);
        }
      if (k > 0 && k < DENS_BINS - 1 && s->density[k] > best_raw)
        {
          best_raw = s->density[k];
          s->mode_raw = pow (10, DENS_LO + DENS_STEP * k);
        }
    }
}

void
nfsim_truth_begin (NfsubJsonWriter *w, GString *out, const char *mode,
                   guint64 seed)
{
  nfsub_json_writer_init (w, out);
  w->line_depth = 3;
  w->digits = 10;
  nfsub_json_begin_object (w, NULL);
  nfsub_json_put_string (w, "generator", "nfsim");
  nfsub_json_put_string (w, "mode", mode);
  nfsub_json_put_uint (w, "seed", seed);
}

static void
json_stats (NfsubJsonWriter *j, const char *key, const Stats *s)
{
  nfsub_json_begin_object (j, key);
  nfsub_json_put_number (j, "mean_mb", s->mean / 1e6);
  nfsub_json_put_number (j, "median_mb", s->median / 1e6);
  nfsub_json_put_number (j, "mode_mb", s->mode / 1e6);
  nfsub_json_put_number (j, "mode_log10_bytes", s->mode > 0 ? log10 (s->mode) : 0);
  nfsub_json_put_number (j, "mode_raw_mb", s->mode_raw / 1e6);
  nfsub_json_put_number (j, "top10_share", s->top10);
  nfsub_json_put_number (j, "top1_share", s->top1);
  nfsub_json_begin_array (j, "density");
  for (int k = 0; k < DENS_BINS; k++)
    nfsub_json_put_uint (j, NULL, (guint64) s->density[k]);
  nfsub_json_end_array (j);
  nfsub_json_end_object (j);
}

static const char *const group_names[N_GROUPS] = { "broadband", "mobile", "enterprise" };
static const char *const access_names[] = { "pppoe", "ipoe", "mobile", "transit" };

static void
write_groups (Pop *pop, NfsubJsonWriter *j)
{
  guint days = pop->cfg->days;
  static const struct {
    const char *name;
    int group;
    int access; /* -1: any */
  } sel[] = { { "broadband", GROUP_BROADBAND, -1 }, { "broadband_pppoe", GROUP_BROADBAND, ACCESS_PPPOE },
              { "broadband_ipoe", GROUP_BROADBAND, ACCESS_IPOE }, { "mobile", GROUP_MOBILE, -1 },
              { "enterprise", GROUP_ENTERPRISE, -1 } };
  double *v = g_new (double, pop->users->len);
  nfsub_json_begin_object (j, "groups");
  for (guint s = 0; s < G_N_ELEMENTS (sel); s++)
    {
      nfsub_json_begin_object (j, sel[s].name);
      guint n = 0;
      for (int m = 0; m < 4; m++)
        {
          n = 0;
          for (guint i = 0; i < pop->users->len; i++)
            {
              User *u = &g_array_index (pop->users, User, i);
              if (u->access == ACCESS_TRANSIT || u->group != sel[s].group
                  || (sel[s].access >= 0 && u->access != sel[s].access))
                continue;
              guint64 sum = 0;
              for (guint d = 0; d < days; d++)
                sum += u->acc[d * 4 + m];
              v[n++] = (double) sum / days;
            }
          if (m == 0)
            nfsub_json_put_uint (j, "users", n);
          Stats st;
          compute_stats (v, n, &st);
          static const char *const names[] = { "in", "out", "in_sampled", "out_sampled" };
          json_stats (j, names[m], &st);
          if (pop->opt.verbose && (s == 0 || s == 3))
            g_printerr ("nfsim: truth %-9s %-11s %6u users  mean %9.1f  median %8.1f  "
                        "mode %8.1f MB/day  top10 %4.1f%%  top1 %4.1f%%\n",
                        sel[s].name, names[m], n, st.mean / 1e6, st.median / 1e6,
                        st.mode / 1e6, st.top10, st.top1);
        }
      nfsub_json_end_object (j);
    }
  nfsub_json_end_object (j);
  g_free (v);
}

static void
write_model (Pop *pop, NfsubJsonWriter *j)
{
  nfsub_json_begin_object (j, "model");
  for (int g = 0; g < N_GROUPS; g++)
    for (int dir = 0; dir < 2; dir++)
      {
        NfsimGroupModel *gm = &pop->cfg->group[g];
        g_autofree char *key = g_strdup_printf ("%s.%s", group_names[g], dir == DIR_IN ? "in" : "out");
        nfsub_json_begin_object (j, key);
        const NfsimTargets *t = &gm->target[dir];
        nfsub_json_begin_object (j, "target");
        if (t->mean_mb > 0) nfsub_json_put_number (j, "mean_mb", t->mean_mb);
        if (t->median_mb > 0) nfsub_json_put_number (j, "median_mb", t->median_mb);
        if (t->mode_mb > 0) nfsub_json_put_number (j, "mode_mb", t->mode_mb);
        if (t->top10 > 0) nfsub_json_put_number (j, "top10_share", t->top10);
        if (t->top1 > 0) nfsub_json_put_number (j, "top1_share", t->top1);
        nfsub_json_end_object (j);
        NfsimMixStats ms;
        nfsim_mixture_stats (&gm->mix[dir], &ms);
        nfsub_json_begin_object (j, "fit");
        nfsub_json_put_number (j, "mean_mb", ms.mean_mb);
        nfsub_json_put_number (j, "median_mb", ms.median_mb);
        nfsub_json_put_number (j, "mode_mb", ms.mode_mb);
        nfsub_json_put_number (j, "top10_share", ms.top10);
        nfsub_json_put_number (j, "top1_share", ms.top1);
        nfsub_json_put_number (j, "worst_error", gm->fit_error[dir]);
        nfsub_json_end_object (j);
        nfsub_json_begin_array (j, "mixture");
        for (int k = 0; k < NFSIM_MIX_K; k++)
          {
            nfsub_json_begin_object (j, NULL);
            nfsub_json_put_number (j, "weight", gm->mix[dir].weight[k]);
            nfsub_json_put_number (j, "mu_log10", gm->mix[dir].mu[k]);
            nfsub_json_put_number (j, "sigma_log10", gm->mix[dir].sigma[k]);
            nfsub_json_end_object (j);
          }
        nfsub_json_end_array (j);
        nfsub_json_end_object (j);
      }
  nfsub_json_end_object (j);
}

static const char *const tg_port_names[N_TG] = { "broadband", "pppoe", "ipoe", "mobile", "all" };
static const char *const tg_hour_names[N_TG] = { "broadband", "broadband_pppoe", "broadband_ipoe", "mobile", "all" };

static void
write_ports (Pop *pop, NfsubJsonWriter *j)
{
  nfsub_json_begin_object (j, "ports");
  for (int tg = 0; tg < N_TG; tg++)
    {
      PortAcc *a = &pop->ports[tg];
      nfsub_json_begin_object (j, tg_port_names[tg]);
      for (int m = 0; m < 2; m++)
        {
          /* total = the protocol rows: tcp, udp, esp, gre, ipencap, icmp, other */
          static const int proto_rows[] = { 0, 3, 6, 7, 8, 9, 10 };
          guint64 total = 0;
          for (guint i = 0; i < G_N_ELEMENTS (proto_rows); i++)
            total += a->bytes[m][proto_rows[i]];
          nfsub_json_begin_object (j, m == 0 ? "true" : "sampled");
          for (guint r = 0; r < pop->n_port_rows; r++)
            nfsub_json_put_number (j, pop->port_row_names[r],
                                   total ? 100.0 * a->bytes[m][r] / total : 0.0);
          nfsub_json_end_object (j);
          nfsub_json_put_uint (j, m == 0 ? "bytes_true" : "bytes_sampled", total);
        }
      nfsub_json_end_object (j);
    }
  nfsub_json_end_object (j);
}

static void
write_hourly (Pop *pop, NfsubJsonWriter *j)
{
  guint nh = pop->n_hours;
  nfsub_json_begin_object (j, "hourly");
  for (int tg = 0; tg < N_TG; tg++)
    {
      guint64 *h = pop->hourly + (gsize) tg * 4 * nh;
      guint64 *c = pop->hourly_cat + (gsize) tg * N_HC * nh;
      nfsub_json_begin_object (j, tg_hour_names[tg]);
      if (tg == TG_ALL)
        {
          nfsub_json_put_uint_array (j, "bytes", h, nh);
          nfsub_json_put_uint_array (j, "bytes_sampled", h + 2 * nh, nh);
        }
      else
        {
          nfsub_json_put_uint_array (j, "in", h, nh);
          nfsub_json_put_uint_array (j, "out", h + nh, nh);
          nfsub_json_put_uint_array (j, "in_sampled", h + 2 * nh, nh);
          nfsub_json_put_uint_array (j, "out_sampled", h + 3 * nh, nh);
        }
      nfsub_json_begin_object (j, "categories_sampled");
      static const char *const cn[N_HC] = { "tcp/80", "tcp/443", "tcp_dynamic", "udp/443", "total" };
      for (int k = 0; k < N_HC; k++)
        nfsub_json_put_uint_array (j, cn[k], c + k * nh, nh);
      nfsub_json_end_object (j);
      nfsub_json_end_object (j);
    }
  nfsub_json_end_object (j);
}

static void
write_users (Pop *pop, NfsubJsonWriter *j, GString *csv)
{
  guint days = pop->cfg->days;
  g_string_append (csv, "key,service,class,access,in,out,in_sampled,out_sampled,"
                        "in_packets_sampled,out_packets_sampled\n");
  nfsub_json_begin_object (j, "users");
  for (guint i = 0; i < pop->users->len; i++)
    {
      User *u = &g_array_index (pop->users, User, i);
      if (u->access == ACCESS_TRANSIT)
        continue;
      guint64 tot[4] = { 0 };
      for (guint d = 0; d < days; d++)
        for (int m = 0; m < 4; m++)
          tot[m] += u->acc[d * 4 + m];
      const char *service = u->group == GROUP_MOBILE ? "mobile" : "broadband";
      const char *klass = u->group == GROUP_ENTERPRISE ? "enterprise" : "personal";
      nfsub_json_begin_object (j, u->key);
      nfsub_json_put_string (j, "service", service);
      nfsub_json_put_string (j, "class", klass);
      nfsub_json_put_string (j, "access", access_names[u->access]);
      static const char *const names[] = { "in", "out", "in_sampled", "out_sampled" };
      for (int m = 0; m < 4; m++)
        nfsub_json_put_uint (j, names[m], tot[m]);
      nfsub_json_put_uint (j, "in_packets_sampled", u->sampled_packets[0]);
      nfsub_json_put_uint (j, "out_packets_sampled", u->sampled_packets[1]);
      for (int m = 0; m < 4; m++)
        {
          g_autofree char *k = g_strdup_printf ("%s_days", names[m]);
          nfsub_json_begin_array (j, k);
          for (guint d = 0; d < days; d++)
            nfsub_json_put_uint (j, NULL, u->acc[d * 4 + m]);
          nfsub_json_end_array (j);
        }
      nfsub_json_end_object (j);
      g_string_append_printf (csv, "%s,%s,%s,%s,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
                              ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
                              ",%" G_GUINT64_FORMAT "\n",
                              u->key, service, klass, access_names[u->access], tot[0], tot[1],
                              tot[2], tot[3], u->sampled_packets[0], u->sampled_packets[1]);
    }
  nfsub_json_end_object (j);
}

gboolean
nfsim_write_truth (Pop *pop, const char *dir, GError **error)
{
  NfsimConfig *cfg = pop->cfg;
  g_autoptr (GString) out = g_string_sized_new (4096);
  NfsubJsonWriter j;
  nfsim_truth_begin (&j, out, "population", pop->seed);
  g_autoptr (GDateTime) ws = g_date_time_new_from_unix_utc (pop->start_ms / 1000);
  g_autofree char *wss = g_date_time_format_iso8601 (ws);
  nfsub_json_put_string (&j, "week_start", wss);
  nfsub_json_put_int (&j, "week_start_epoch", pop->start_ms / 1000);
  nfsub_json_put_uint (&j, "days", cfg->days);
  nfsub_json_put_string (&j, "timezone", cfg->timezone);
  nfsub_json_put_int (&j, "utc_offset_seconds", cfg->utc_offset_s);
  nfsub_json_put_uint (&j, "active_timeout", cfg->active_timeout_s);

  nfsub_json_begin_array (&j, "exporters");
  static const char *const names[3] = { "pppoe-bng", "ipoe-edge", "mobile-gateway" };
  for (int e = 0; e < 3; e++)
    {
      nfsub_json_begin_object (&j, NULL);
      nfsub_json_put_uint (&j, "source_id", e + 1);
      nfsub_json_put_string (&j, "name", names[e]);
      nfsub_json_put_uint (&j, "sampling", cfg->sampling[e]);
      nfsub_json_put_uint (&j, "records", pop->rec_exported[e]);
      nfsub_json_put_uint (&j, "packets", pop->pkt_sampled[e]);
      nfsub_json_put_uint (&j, "bytes", pop->byte_sampled[e]);
      nfsub_json_end_object (&j);
    }
  nfsub_json_end_array (&j);

  nfsub_json_begin_object (&j, "totals");
  nfsub_json_begin_object (&j, "true");
  nfsub_json_put_uint (&j, "records", pop->rec_true);
  nfsub_json_put_uint (&j, "packets", pop->pkt_true);
  nfsub_json_put_uint (&j, "bytes", pop->byte_true);
  nfsub_json_end_object (&j);
  nfsub_json_begin_object (&j, "expected_nfcapd");
  nfsub_json_put_uint (&j, "flows", pop->rec_exported[0] + pop->rec_exported[1] + pop->rec_exported[2]);
  nfsub_json_put_uint (&j, "packets", pop->pkt_sampled[0] + pop->pkt_sampled[1] + pop->pkt_sampled[2]);
  nfsub_json_put_uint (&j, "bytes", pop->byte_sampled[0] + pop->byte_sampled[1] + pop->byte_sampled[2]);
  nfsub_json_begin_object (&j, "by_proto");
  static const char *const pn[4] = { "tcp", "udp", "icmp", "other" };
  for (int p = 0; p < 4; p++)
    {
      nfsub_json_begin_object (&j, pn[p]);
      nfsub_json_put_uint (&j, "flows", pop->proto_stat[p][0]);
      nfsub_json_put_uint (&j, "packets", pop->proto_stat[p][1]);
      nfsub_json_put_uint (&j, "bytes", pop->proto_stat[p][2]);
      nfsub_json_end_object (&j);
    }
  nfsub_json_end_object (&j);
  nfsub_json_end_object (&j);
  nfsub_json_end_object (&j);

  nfsub_json_begin_object (&j, "unattributed");
  nfsub_json_put_uint (&j, "true_bytes", pop->unattr_true);
  nfsub_json_put_uint (&j, "sampled_bytes", pop->unattr_sampled);
  nfsub_json_end_object (&j);

  write_groups (pop, &j);
  write_model (pop, &j);
  write_ports (pop, &j);
  write_hourly (pop, &j);
  g_autoptr (GString) csv = g_string_new (NULL);
  write_users (pop, &j, csv);
  nfsub_json_end_object (&j);

  g_autofree char *path = g_build_filename (dir, "truth.json", NULL);
  g_autofree char *cpath = g_build_filename (dir, "truth-users.csv", NULL);
  const char *tpath = pop->opt.truth_path ? pop->opt.truth_path : path;
  return g_file_set_contents (tpath, out->str, (gssize) out->len, error)
         && g_file_set_contents (cpath, csv->str, csv->len, error);
}
