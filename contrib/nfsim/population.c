/* nfsim: population mode -- users, their address bindings, and the flow
 * records of their traffic (see README.md and model.h).
 *
 * Generation is deterministic per (user, day, direction, session) random
 * stream, so the same records come out in both passes: pass 1 collects the
 * ground truth and the RADIUS counters (written before anything is
 * exported, so the collector side finds the assignment files in place),
 * pass 2 exports the sampled records in order of their end time. */
#include "config.h"

#include "pop.h"

#include <errno.h>
#include <gio/gio.h>
#include <math.h>
#include <string.h>

#define HOUR_MS G_GINT64_CONSTANT (3600000)
#define DAY_MS (24 * HOUR_MS)

/* address plan (README) */
#define V4_PPPOE 0x0a000000u   /* 10.0.0.0/9 */
#define V4_MOBILE 0x64400000u  /* 100.64.0.0/10 */
#define V4_ENTERPRISE 0xac100000u /* 172.16.0.0/12 */
#define V4_SERVERS 0xc6120000u /* 198.18.0.0/16 */
#define V4_PEERS 0xc6130000u   /* 198.19.0.0/16 */
#define V6_TOP(x) ((guint64) (x) << 40)
#define V6_PPPOE_FRAMED V6_TOP (0x3fff01)
#define V6_PPPOE_PD V6_TOP (0x3fff02)
#define V6_IPOE_PD V6_TOP (0x3fff03)
#define V6_MOBILE V6_TOP (0x3fff04)
#define V6_ENTERPRISE V6_TOP (0x3fff05)
#define V6_INTERNET V6_TOP (0x3fff0f)

enum { STREAM_VOLUME = 1, STREAM_DAYS, STREAM_PLAN, STREAM_SESSION, STREAM_BIND,
       STREAM_USERS, STREAM_POOL };

static void
stream (NfsimRng *rng, const Pop *pop, guint64 kind, guint64 a, guint64 b)
{
  guint64 st = kind * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15) ^ (a << 20) ^ b;
  guint64 id = nfsim_splitmix64 (&st) ^ a;
  nfsim_rng_seed_stream (rng, pop->seed, id ^ (b * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9)));
}

static double
rng_gamma (NfsimRng *rng, double shape)
{
  /* Marsaglia-Tsang; shape < 1 by the boost U^(1/shape) */
  if (shape < 1)
    return rng_gamma (rng, shape + 1) * pow (nfsim_rng_uniform (rng) + 1e-300, 1.0 / shape);
  double d = shape - 1.0 / 3, c = 1 / sqrt (9 * d);
  for (;;)
    {
      double x, v;
      do
        {
          x = nfsim_rng_normal (rng);
          v = 1 + c * x;
        }
      while (v <= 0);
      v = v * v * v;
      double u = nfsim_rng_uniform (rng);
      if (u < 1 - 0.0331 * x * x * x * x || log (u) < 0.5 * x * x + d * (1 - v + log (v)))
        return d * v;
    }
}

/* ------------------------------------------------------------ volumes */

typedef struct {
  double lo, step;
  guint n;
  double *cdf;
} CdfTable;

static void
cdf_table_init (CdfTable *t, const NfsimMixture *m)
{
  t->lo = 1e9;
  double hi = -1e9;
  for (int i = 0; i < NFSIM_MIX_K; i++)
    if (m->weight[i] > 0)
      {
        t->lo = MIN (t->lo, m->mu[i] - 7 * m->sigma[i]);
        hi = MAX (hi, m->mu[i] + 7 * m->sigma[i]);
      }
  t->step = 0.0005;
  t->n = (guint) ((hi - t->lo) / t->step) + 2;
  t->cdf = g_new (double, t->n);
  for (guint i = 0; i < t->n; i++)
    t->cdf[i] = nfsim_mixture_cdf (m, t->lo + i * t->step);
}

static double
cdf_table_quantile (const CdfTable *t, double u)
{
  guint lo = 0, hi = t->n - 1;
  if (u <= t->cdf[0])
    return t->lo;
  if (u >= t->cdf[hi])
    return t->lo + hi * t->step;
  while (hi - lo > 1)
    {
      guint mid = (lo + hi) / 2;
      if (t->cdf[mid] < u)
        lo = mid;
      else
        hi = mid;
    }
  double f = (u - t->cdf[lo]) / (t->cdf[hi] - t->cdf[lo] + 1e-300);
  return t->lo + (lo + f) * t->step;
}

typedef struct {
  double key;
  guint32 index;
} Ranked;

static gint
ranked_cmp (gconstpointer a, gconstpointer b)
{
  double x = ((const Ranked *) a)->key, y = ((const Ranked *) b)->key;
  return x < y ? -1 : x > y;
}

/* Stratified draw with a Gaussian copula: user i of the group gets the
 * quantile (rank + U)/n of each margin, ranks from correlated normals, so
 * the realised population follows the fitted mixture closely even in the
 * top 1% (an iid draw of 14,000 heavy-tailed values misses the mean by
 * several percent). */
static void
assign_volumes (Pop *pop)
{
  for (int g = 0; g < N_GROUPS; g++)
    {
      NfsimGroupModel *gm = &pop->cfg->group[g];
      g_autoptr (GArray) members = g_array_new (FALSE, FALSE, sizeof (guint32));
      for (guint32 i = 0; i < pop->users->len; i++)
        if (g_array_index (pop->users, User, i).group == g
            && g_array_index (pop->users, User, i).access != ACCESS_TRANSIT)
          g_array_append_val (members, i);
      guint n = members->len;
      for (int dir = 0; dir < 2; dir++)
        pop->group_median[g][dir] = pow (10, nfsim_mixture_quantile (&gm->mix[dir], 0.5));
      if (n == 0)
        continue;
      NfsimRng rng;
      stream (&rng, pop, STREAM_VOLUME, g, 0);
      Ranked *r[2] = { g_new (Ranked, n), g_new (Ranked, n) };
      double rho = gm->in_out_correlation;
      for (guint i = 0; i < n; i++)
        {
          double z1 = nfsim_rng_normal (&rng), z2 = nfsim_rng_normal (&rng);
          r[DIR_IN][i] = (Ranked) { z1, i };
          r[DIR_OUT][i] = (Ranked) { rho * z1 + sqrt (1 - rho * rho) * z2, i };
        }
      for (int dir = 0; dir < 2; dir++)
        {
          CdfTable t;
          cdf_table_init (&t, &gm->mix[dir]);
          qsort (r[dir], n, sizeof (Ranked), ranked_cmp);
          for (guint k = 0; k < n; k++)
            {
              double u = (k + nfsim_rng_uniform (&rng)) / n;
              double x = cdf_table_quantile (&t, u);
              if (k + 3 >= n && n >= 10)
                {
                  /* the top strata span the heavy tail: a random point in
                   * them moves the group's mean by percents; their exact
                   * conditional mean keeps it (and the top shares) */
                  double qa = nfsim_mixture_quantile (&gm->mix[dir], (double) k / n);
                  double qb = k + 1 < n ? nfsim_mixture_quantile (&gm->mix[dir], (double) (k + 1) / n) : 1e9;
                  double mass = nfsim_mixture_tail_mean (&gm->mix[dir], qa)
                                - (k + 1 < n ? nfsim_mixture_tail_mean (&gm->mix[dir], qb) : 0);
                  x = log10 (mass * n);
                }
              guint32 ui = g_array_index (members, guint32, r[dir][k].index);
              g_array_index (pop->users, User, ui).daily[dir] = pow (10, x);
            }
          g_free (t.cdf);
          g_free (r[dir]);
        }
    }
}

/* ------------------------------------------------------------ users */

static void
add_user (Pop *pop, NfsimGroup g, NfsimAccess a, char prefix, guint no)
{
  User u = { 0 };
  u.group = g;
  u.access = a;
  g_snprintf (u.name, sizeof u.name, "%c%06u", prefix, no);
  static const char *const access_names[] = { "pppoe", "ipoe", "mobile", "transit" };
  g_snprintf (u.key, sizeof u.key, "%s:%s", access_names[a], u.name);
  g_array_append_val (pop->users, u);
}

static void
build_users (Pop *pop)
{
  NfsimConfig *cfg = pop->cfg;
  guint64 total = cfg->users;
  guint64 mobile = (guint64) llround (total * cfg->mobile_share);
  guint64 bb = total - mobile;
  guint64 ent = (guint64) llround (bb * cfg->enterprise_share);
  guint64 personal = bb - ent;
  guint64 ipoe = (guint64) llround (personal * cfg->ipoe_share);
  guint64 pppoe = personal - ipoe;
  guint64 both = MIN ((guint64) llround (ipoe * cfg->both_share), pppoe);

  NfsimRng rng;
  stream (&rng, pop, STREAM_USERS, 0, 0);
  for (guint64 i = 0; i < pppoe; i++)
    add_user (pop, GROUP_BROADBAND, ACCESS_PPPOE, 'u', i + 1);
  /* IPoE: the first `both` reuse a random subset of PPPoE names */
  guint32 *perm = g_new (guint32, MAX (pppoe, 1));
  for (guint64 i = 0; i < pppoe; i++)
    perm[i] = i;
  for (guint64 i = pppoe; i > 1; i--)
    {
      guint64 j = nfsim_rng_below (&rng, i);
      guint32 t = perm[i - 1];
      perm[i - 1] = perm[j];
      perm[j] = t;
    }
  for (guint64 i = 0; i < ipoe; i++)
    add_user (pop, GROUP_BROADBAND, ACCESS_IPOE, 'u',
              i < both ? perm[i] + 1 : pppoe + (i - both) + 1);
  g_free (perm);
  for (guint64 i = 0; i < ent; i++)
    add_user (pop, GROUP_ENTERPRISE,
              nfsim_rng_uniform (&rng) < cfg->enterprise_ipoe_share ? ACCESS_IPOE : ACCESS_PPPOE,
              'e', i + 1);
  for (guint64 i = 0; i < mobile; i++)
    add_user (pop, GROUP_MOBILE, ACCESS_MOBILE, 'm', i + 1);
  pop->transit_user = pop->users->len;
  add_user (pop, GROUP_BROADBAND, ACCESS_TRANSIT, 't', 0);

  for (guint i = 0; i < pop->users->len; i++)
    {
      User *u = &g_array_index (pop->users, User, i);
      NfsimRng r;
      stream (&r, pop, STREAM_USERS, 1, i);
      u->n_hosts = 1 + nfsim_rng_below (&r, u->group == GROUP_ENTERPRISE ? 4 : 3);
      for (int h = 0; h < 4; h++)
        {
          /* SLAAC-like random interface ids; a few /64s of the prefix */
          u->host_lo[h] = nfsim_rng_next (&r) & G_GUINT64_CONSTANT (0xfdffffffffffffff);
          u->host_net[h] = nfsim_rng_below (&r, 256);
        }
      u->duid_no = 0x020000000000ull + i + 1;
      u->acc = g_new0 (guint64, pop->cfg->days * 4);
    }
}

/* ------------------------------------------------------------ bindings */

typedef struct {
  guint32 *ring;
  guint32 size, head, count;
} Pool;

static void
pool_init (Pool *p, guint32 size, NfsimRng *rng)
{
  p->ring = g_new (guint32, size);
  p->size = size;
  p->head = 0;
  p->count = size;
  for (guint32 i = 0; i < size; i++)
    p->ring[i] = i;
  for (guint32 i = size; i > 1; i--)
    {
      guint32 j = nfsim_rng_below (rng, i);
      guint32 t = p->ring[i - 1];
      p->ring[i - 1] = p->ring[j];
      p->ring[j] = t;
    }
}

static guint32
pool_take (Pool *p)
{
  g_assert (p->count > 0);
  guint32 v = p->ring[p->head];
  p->head = (p->head + 1) % p->size;
  p->count--;
  return v;
}

static void
pool_give (Pool *p, guint32 v)
{
  p->ring[(p->head + p->count) % p->size] = v;
  p->count++;
}

typedef struct {
  gint64 t;
  guint32 binding;
  gboolean start;
} BindEvent;

static gint
bind_event_cmp (gconstpointer a, gconstpointer b)
{
  const BindEvent *x = a, *y = b;
  if (x->t != y->t)
    return x->t < y->t ? -1 : 1;
  if (x->start != y->start)
    return x->start ? 1 : -1; /* releases first */
  return x->binding < y->binding ? -1 : x->binding > y->binding;
}

static void
build_bindings (Pop *pop)
{
  NfsimConfig *cfg = pop->cfg;
  guint n_users[N_ACCESS] = { 0 };
  for (guint i = 0; i < pop->users->len; i++)
    n_users[g_array_index (pop->users, User, i).access]++;
  guint32 session_id = 0x10000;
  guint32 enterprise_no = 0;

  for (guint32 i = 0; i < pop->users->len; i++)
    {
      User *u = &g_array_index (pop->users, User, i);
      NfsimRng rng;
      stream (&rng, pop, STREAM_BIND, i, 0);
      u->bind_first = pop->bindings->len;
      if (u->access == ACCESS_TRANSIT)
        continue;
      if (u->group == GROUP_ENTERPRISE)
        {
          Binding b = { 0 };
          b.user = i;
          b.start_ms = pop->start_ms - DAY_MS;
          b.stop_ms = G_MAXINT64;
          b.v4 = V4_ENTERPRISE + enterprise_no * 8;
          b.v4_len = 29;
          b.pd = V6_ENTERPRISE | ((guint64) enterprise_no << 16);
          b.pd_len = 48;
          enterprise_no++;
          g_array_append_val (pop->bindings, b);
        }
      else if (u->access == ACCESS_IPOE)
        {
          /* one delegation, renewed; some users are renumbered once */
          Binding b = { 0 };
          b.user = i;
          b.start_ms = pop->start_ms - (gint64) (nfsim_rng_uniform (&rng) * cfg->kea_renew_interval_s * 1000);
          b.stop_ms = G_MAXINT64;
          b.pd_len = cfg->ipoe_prefix_length;
          b.lease_iaid = 1;
          if (nfsim_rng_uniform (&rng) < cfg->kea_renumber_share)
            {
              gint64 t = pop->start_ms + (gint64) (nfsim_rng_uniform (&rng) * (pop->end_ms - pop->start_ms));
              b.stop_ms = t;
              g_array_append_val (pop->bindings, b);
              b.start_ms = t + 1000 + nfsim_rng_below (&rng, 60000);
              b.stop_ms = G_MAXINT64;
              b.lease_iaid = 2;
            }
          g_array_append_val (pop->bindings, b);
        }
      else
        {
          /* RADIUS sessions: exponential lengths, the one running at the
           * week start already aged (memoryless) */
          gboolean mobile = u->access == ACCESS_MOBILE;
          double mean_ms = (mobile ? cfg->mobile_session_hours : cfg->pppoe_session_hours) * HOUR_MS;
          double gap_ms = mobile ? cfg->mobile_gap_minutes * 60000.0 : cfg->pppoe_reconnect_s * 1000.0;
          gint64 start = pop->start_ms - (gint64) nfsim_rng_exponential (&rng, mean_ms) - 1000;
          gint64 stop = pop->start_ms + (gint64) nfsim_rng_exponential (&rng, mean_ms) + 1000;
          for (;;)
            {
              Binding b = { 0 };
              b.user = i;
              b.start_ms = start;
              b.stop_ms = stop >= pop->end_ms ? G_MAXINT64 : stop;
              b.session_id = session_id++;
              g_array_append_val (pop->bindings, b);
              if (stop >= pop->end_ms)
                break;
              start = stop + 1000 + (gint64) nfsim_rng_exponential (&rng, MAX (gap_ms, 1));
              if (start >= pop->end_ms)
                break;
              stop = start + 60000 + (gint64) nfsim_rng_exponential (&rng, mean_ms);
            }
        }
      u->bind_count = pop->bindings->len - u->bind_first;
    }

  /* RADIUS and Kea carry whole seconds: so do the bindings, so that a
   * record starting before a Stop's millisecond also does before its
   * second */
  for (guint32 bi = 0; bi < pop->bindings->len; bi++)
    {
      Binding *b = &g_array_index (pop->bindings, Binding, bi);
      b->start_ms -= b->start_ms % 1000;
      if (b->stop_ms != G_MAXINT64)
        b->stop_ms -= b->stop_ms % 1000;
    }

  /* addresses from FIFO pools in event order: released addresses go to
   * the tail and come back later in the week to someone else */
  Pool v4[N_ACCESS] = { { 0 } }, v6[N_ACCESS] = { { 0 } };
  NfsimRng rng;
  stream (&rng, pop, STREAM_POOL, 0, 0);
  for (int a = 0; a < ACCESS_TRANSIT; a++)
    {
      guint32 size = n_users[a] + n_users[a] / 6 + 64;
      pool_init (&v4[a], size, &rng);
      pool_init (&v6[a], size, &rng);
    }
  g_autoptr (GArray) ev = g_array_new (FALSE, FALSE, sizeof (BindEvent));
  for (guint32 bi = 0; bi < pop->bindings->len; bi++)
    {
      Binding *b = &g_array_index (pop->bindings, Binding, bi);
      User *u = &g_array_index (pop->users, User, b->user);
      if (u->group == GROUP_ENTERPRISE)
        continue;
      BindEvent s = { b->start_ms, bi, TRUE };
      g_array_append_val (ev, s);
      if (b->stop_ms != G_MAXINT64)
        {
          BindEvent e = { b->stop_ms, bi, FALSE };
          g_array_append_val (ev, e);
        }
    }
  g_array_sort (ev, bind_event_cmp);
  guint32 *held4 = g_new0 (guint32, pop->bindings->len);
  guint32 *held6 = g_new0 (guint32, pop->bindings->len);
  for (guint i = 0; i < ev->len; i++)
    {
      BindEvent *e = &g_array_index (ev, BindEvent, i);
      Binding *b = &g_array_index (pop->bindings, Binding, e->binding);
      guint8 a = g_array_index (pop->users, User, b->user).access;
      if (!e->start)
        {
          if (a != ACCESS_IPOE)
            pool_give (&v4[a], held4[e->binding]);
          pool_give (&v6[a], held6[e->binding]);
          continue;
        }
      guint32 i6 = held6[e->binding] = pool_take (&v6[a]);
      if (a == ACCESS_IPOE)
        {
          b->pd = V6_IPOE_PD | ((guint64) i6 << (b->pd_len == 48 ? 16 : 8));
          continue;
        }
      guint32 i4 = held4[e->binding] = pool_take (&v4[a]);
      if (a == ACCESS_PPPOE)
        {
          b->v4 = V4_PPPOE + i4 + 1;
          b->v6_64 = V6_PPPOE_FRAMED | i6;
          b->pd = V6_PPPOE_PD | ((guint64) i6 << 8);
          b->pd_len = 56;
        }
      else
        {
          b->v4 = V4_MOBILE + i4 + 1;
          b->v6_64 = V6_MOBILE | i6;
        }
      b->v4_len = 32;
    }
  g_free (held4);
  g_free (held6);
  for (int a = 0; a < ACCESS_TRANSIT; a++)
    {
      g_free (v4[a].ring);
      g_free (v6[a].ring);
    }
}

/* the binding holding at t, or else the next one (*next), or NULL */
static Binding *
binding_at (Pop *pop, const User *u, gint64 t, Binding **next)
{
  *next = NULL;
  for (guint32 k = 0; k < u->bind_count; k++)
    {
      Binding *b = &g_array_index (pop->bindings, Binding, u->bind_first + k);
      if (t < b->start_ms)
        {
          *next = b;
          return NULL;
        }
      if (t < b->stop_ms)
        return b;
    }
  return NULL;
}

/* ------------------------------------------------------------ records */

typedef struct {
  NfsimRecord rec;
  guint64 true_packets, true_bytes;
  guint64 scaled_packets, scaled_bytes; /* sampled x N: what nfcapd stores */
  guint32 in_user, out_user;            /* G_MAXUINT32: none */
  Binding *in_binding, *out_binding;
  guint8 exporter;
} GenRecord;

/* truth rows by the lower-of-two-ports rule */
enum { ROW_TCP, ROW_TCP_LOW, ROW_TCP_HIGH, ROW_UDP, ROW_UDP_LOW, ROW_UDP_HIGH,
       ROW_ESP, ROW_GRE, ROW_IPENCAP, ROW_ICMP, ROW_OTHER, N_FIXED_ROWS };
static const char *const fixed_rows[] = { "tcp", "tcp<1024", "tcp>=1024", "udp", "udp<1024",
                                          "udp>=1024", "esp", "gre", "ipencap", "icmp", "other" };

static void
port_rows_init (Pop *pop)
{
  for (guint i = 0; i < N_FIXED_ROWS; i++)
    pop->port_row_names[i] = g_strdup (fixed_rows[i]);
  pop->n_port_rows = N_FIXED_ROWS;
  for (int t = 0; t < 2; t++)
    {
      GPtrArray *cats = pop->cfg->port_tables[t].cats;
      for (guint i = 0; i < cats->len; i++)
        {
          NfsimCategory *c = g_ptr_array_index (cats, i);
          if (c->kind != CAT_PORT)
            continue;
          gboolean seen = FALSE;
          for (guint r = N_FIXED_ROWS; r < pop->n_port_rows; r++)
            seen |= strcmp (pop->port_row_names[r], c->name) == 0;
          if (!seen && pop->n_port_rows < N_PORT_ROWS)
            pop->port_row_names[pop->n_port_rows++] = g_strdup (c->name);
        }
    }
}

static guint
port_row (Pop *pop, guint8 proto, guint16 port)
{
  char name[16];
  g_snprintf (name, sizeof name, "%s/%u", proto == 6 ? "tcp" : "udp", port);
  for (guint r = N_FIXED_ROWS; r < pop->n_port_rows; r++)
    if (strcmp (pop->port_row_names[r], name) == 0)
      return r;
  return G_MAXUINT;
}

static void
add_port_bytes (Pop *pop, PortAcc *acc, const NfsimRecord *r, guint64 tb, guint64 sb)
{
  guint rows[3], n = 0;
  switch (r->proto)
    {
    case 6:
    case 17:
      {
        guint16 low = MIN (r->src_port, r->dst_port);
        gboolean tcp = r->proto == 6;
        rows[n++] = tcp ? ROW_TCP : ROW_UDP;
        rows[n++] = low < 1024 ? (tcp ? ROW_TCP_LOW : ROW_UDP_LOW) : (tcp ? ROW_TCP_HIGH : ROW_UDP_HIGH);
        guint pr = port_row (pop, r->proto, low);
        if (pr != G_MAXUINT)
          rows[n++] = pr;
        break;
      }
    case 50: rows[n++] = ROW_ESP; break;
    case 47: rows[n++] = ROW_GRE; break;
    case 4: rows[n++] = ROW_IPENCAP; break;
    case 1: case 58: rows[n++] = ROW_ICMP; break;
    default: rows[n++] = ROW_OTHER; break;
    }
  for (guint i = 0; i < n; i++)
    {
      acc->bytes[0][rows[i]] += tb;
      acc->bytes[1][rows[i]] += sb;
    }
}

static int
hour_category (const NfsimRecord *r)
{
  guint16 low = MIN (r->src_port, r->dst_port);
  if (r->proto == 6 && low == 80)
    return HC_TCP80;
  if (r->proto == 6 && low == 443)
    return HC_TCP443;
  if (r->proto == 6 && low >= 1024)
    return HC_TCP_DYN;
  if (r->proto == 17 && low == 443)
    return HC_UDP443;
  return -1;
}

static void
traffic_groups (const User *u, int *tg, int *n)
{
  *n = 0;
  if (u->access == ACCESS_MOBILE)
    tg[(*n)++] = TG_MOBILE;
  else if (u->access == ACCESS_PPPOE || u->access == ACCESS_IPOE)
    {
      tg[(*n)++] = TG_BROADBAND;
      tg[(*n)++] = u->access == ACCESS_PPPOE ? TG_PPPOE : TG_IPOE;
    }
}

static void
account (Pop *pop, const GenRecord *g)
{
  pop->rec_true++;
  pop->pkt_true += g->true_packets;
  pop->byte_true += g->true_bytes;
  if (g->scaled_packets)
    {
      pop->rec_exported[g->exporter]++;
      pop->pkt_sampled[g->exporter] += g->scaled_packets;
      pop->byte_sampled[g->exporter] += g->scaled_bytes;
      int pc = g->rec.proto == 6 ? 0 : g->rec.proto == 17 ? 1
               : (g->rec.proto == 1 || g->rec.proto == 58) ? 2 : 3;
      pop->proto_stat[pc][0]++;
      pop->proto_stat[pc][1] += g->scaled_packets;
      pop->proto_stat[pc][2] += g->scaled_bytes;
    }
  gint hour = pop_hour_index (pop, g->rec.first_ms);
  /* records start inside the simulated days by construction */
  g_assert (hour >= 0 && (guint) hour < pop->n_hours);
  guint day = hour / 24;
  int hc = hour_category (&g->rec);
  gboolean counted_tg[N_TG] = { FALSE };
  for (int side = 0; side < 2; side++) /* DIR_IN: src is the user */
    {
      guint32 ui = side == DIR_IN ? g->in_user : g->out_user;
      if (ui == G_MAXUINT32)
        continue;
      User *u = &g_array_index (pop->users, User, ui);
      u->acc[day * 4 + side] += g->true_bytes;
      u->acc[day * 4 + 2 + side] += g->scaled_bytes;
      u->sampled_packets[side] += g->scaled_packets;
      Binding *b = side == DIR_IN ? g->in_binding : g->out_binding;
      if (b && b->session_id && (gint64) g->rec.first_ms >= b->start_ms)
        {
          guint slot = (g->rec.first_ms - b->start_ms) / (pop->cfg->interim_interval_s * 1000ull);
          if (slot >= b->n_slots)
            {
              guint n = slot + 8;
              b->slots = g_renew (guint64, b->slots, n * 4);
              memset (b->slots + b->n_slots * 4, 0, (n - b->n_slots) * 4 * sizeof (guint64));
              b->n_slots = n;
            }
          b->slots[slot * 4 + side] += g->true_bytes;
          b->slots[slot * 4 + 2 + side] += g->true_packets;
        }
      int tg[2], n;
      traffic_groups (u, tg, &n);
      for (int k = 0; k < n; k++)
        {
          guint64 *h = pop->hourly + ((gsize) tg[k] * 4) * pop->n_hours;
          h[side * pop->n_hours + hour] += g->true_bytes;
          h[(2 + side) * pop->n_hours + hour] += g->scaled_bytes;
          if (!counted_tg[tg[k]])
            {
              counted_tg[tg[k]] = TRUE;
              add_port_bytes (pop, &pop->ports[tg[k]], &g->rec, g->true_bytes, g->scaled_bytes);
              guint64 *c = pop->hourly_cat + ((gsize) tg[k] * N_HC) * pop->n_hours;
              if (hc >= 0)
                c[hc * pop->n_hours + hour] += g->scaled_bytes;
              c[HC_TOTAL * pop->n_hours + hour] += g->scaled_bytes;
            }
        }
    }
  if (g->in_user == G_MAXUINT32 && g->out_user == G_MAXUINT32)
    {
      pop->unattr_true += g->true_bytes;
      pop->unattr_sampled += g->scaled_bytes;
    }
  add_port_bytes (pop, &pop->ports[TG_ALL], &g->rec, g->true_bytes, g->scaled_bytes);
  guint64 *c = pop->hourly_cat + ((gsize) TG_ALL * N_HC) * pop->n_hours;
  if (hc >= 0)
    c[hc * pop->n_hours + hour] += g->scaled_bytes;
  c[HC_TOTAL * pop->n_hours + hour] += g->scaled_bytes;
  guint64 *h = pop->hourly + ((gsize) TG_ALL * 4) * pop->n_hours;
  h[hour] += g->true_bytes; /* TG_ALL "in" = every record's bytes */
  h[2 * pop->n_hours + hour] += g->scaled_bytes;
}

/* A session: one connection between a user's host and a remote end. */
typedef struct {
  guint32 user;
  guint8 main_dir;
  guint8 family;
  guint8 proto;
  guint16 user_port, remote_port;
  guint8 remote[16];
  guint32 remote_as;
  guint host;
  double main_pkt, ack_pkt; /* average packet sizes */
} Session;

static void
put_v4 (guint8 *a, guint32 v)
{
  a[0] = v >> 24;
  a[1] = v >> 16;
  a[2] = v >> 8;
  a[3] = v;
}

static void
put_v6 (guint8 *a, guint64 hi, guint64 lo)
{
  for (int i = 0; i < 8; i++)
    {
      a[i] = hi >> (56 - 8 * i);
      a[8 + i] = lo >> (56 - 8 * i);
    }
}

/* The user's address for a session at a binding; FALSE if the binding
 * has no address of that family. */
static gboolean
user_address (const User *u, const Binding *b, guint8 family, guint host,
              guint8 *addr, guint8 *mask)
{
  memset (addr, 0, 16);
  if (family == 4)
    {
      if (!b->v4)
        return FALSE;
      put_v4 (addr, b->v4_len == 29 ? b->v4 + 1 + host % 6 : b->v4);
      *mask = b->v4_len;
      return TRUE;
    }
  if (u->access == ACCESS_MOBILE)
    {
      put_v6 (addr, b->v6_64, u->host_lo[0]);
      *mask = 64;
      return TRUE;
    }
  if (!b->pd)
    return FALSE;
  guint64 net = b->pd_len == 48 ? ((guint64) u->host_net[host] | ((guint64) host << 8))
                                : (guint64) u->host_net[host];
  put_v6 (addr, b->pd | net, u->host_lo[host]);
  *mask = b->pd_len;
  return TRUE;
}

static const guint16 low_ports[] = { 21, 25, 110, 119, 143, 465, 554, 587, 636, 853, 873, 990, 995 };

static gboolean
port_listed (const NfsimPortTable *t, guint8 proto, guint16 port)
{
  for (guint i = 0; i < t->cats->len; i++)
    {
      NfsimCategory *c = g_ptr_array_index (t->cats, i);
      if (c->kind == CAT_PORT && c->proto == proto && c->port == port)
        return TRUE;
    }
  return FALSE;
}

static void
remote_address (NfsimRng *rng, guint8 family, guint cat_index, gboolean peer, guint8 *addr)
{
  memset (addr, 0, 16);
  if (family == 4)
    {
      guint32 a = peer ? V4_PEERS | (guint32) nfsim_rng_below (rng, 65536)
                       : V4_SERVERS | ((cat_index * 7 % 256) << 8) | (guint32) nfsim_rng_below (rng, 256);
      put_v4 (addr, a);
    }
  else
    put_v6 (addr, V6_INTERNET | ((guint64) (peer ? 0xff : cat_index) << 32)
                    | nfsim_rng_below (rng, 1u << 20),
            peer ? nfsim_rng_next (rng) : 1 + nfsim_rng_below (rng, 4096));
}

/* Splits [t, t+span) of a session into records like a router's cache:
 * active timeout and idle gaps over the inactive timeout end a record.
 * Emits the main and the reverse record of each slice. */
typedef void (*EmitFunc) (Pop *pop, GenRecord *g, gpointer data);

static void
emit_slices (Pop *pop, NfsimRng *rng, const Session *s, const User *u, Binding *b,
             gint64 t, gint64 span_ms, double main_bytes, double ack_bytes,
             EmitFunc emit, gpointer data)
{
  NfsimConfig *cfg = pop->cfg;
  gint64 active_ms = cfg->active_timeout_s * 1000ll;
  /* idle gaps: some sessions pause (page reading, buffering) */
  int gaps = 0;
  if (span_ms > 60000 && nfsim_rng_uniform (rng) < 0.4)
    {
      guint64 g = nfsim_rng_poisson (rng, span_ms / 900000.0);
      gaps = (int) MIN (g, 8);
    }
  gint64 gap_at[8], gap_len[8];
  for (int i = 0; i < gaps; i++)
    {
      gap_at[i] = (gint64) (nfsim_rng_uniform (rng) * span_ms);
      gap_len[i] = (cfg->inactive_timeout_s + 2) * 1000ll + nfsim_rng_below (rng, 90000);
    }
  /* sort gaps */
  for (int i = 0; i < gaps; i++)
    for (int j = i + 1; j < gaps; j++)
      if (gap_at[j] < gap_at[i])
        {
          gint64 x = gap_at[i];
          gap_at[i] = gap_at[j];
          gap_at[j] = x;
        }
  guint8 user_addr[16], mask = 0;
  if (u && !user_address (u, b, s->family, s->host, user_addr, &mask))
    return;
  guint8 transit_src[16];
  if (!u)
    remote_address (rng, s->family, 255, TRUE, transit_src);

  /* records end before the binding does (idle gaps stretch a session
   * beyond its active time) and before the simulated days do */
  gint64 end_limit = pop->end_ms - 1;
  if (b && b->stop_ms != G_MAXINT64)
    end_limit = MIN (end_limit, b->stop_ms - 1);
  gint64 pos = 0; /* active time consumed */
  gint64 wall = t;
  int next_gap = 0;
  double main_left = main_bytes, ack_left = ack_bytes;
  while (pos < span_ms && wall < end_limit)
    {
      gint64 seg = MIN (active_ms, span_ms - pos);
      if (next_gap < gaps && gap_at[next_gap] > pos && gap_at[next_gap] < pos + seg)
        seg = gap_at[next_gap] - pos;
      if (seg < 1)
        seg = 1;
      if (wall + seg > end_limit)
        seg = end_limit - wall;
      gboolean last = pos + seg >= span_ms || wall + seg >= end_limit;
      double frac = last ? 1.0 : (double) seg / (span_ms - pos);
      double mb = last ? main_left : main_left * frac;
      double ab = last ? ack_left : ack_left * frac;
      main_left -= mb;
      ack_left -= ab;
      for (int which = 0; which < 2; which++)
        {
          double bytes = which == 0 ? mb : ab;
          guint64 tb = (guint64) llround (bytes);
          if (tb == 0)
            continue;
          int dir = which == 0 ? s->main_dir : 1 - s->main_dir; /* DIR_IN: user sends */
          double avg = which == 0 ? s->main_pkt : s->ack_pkt;
          guint64 tp = MAX (1, (guint64) llround (bytes / avg));
          if (tb < tp * 20)
            tp = MAX (1, tb / 20);
          GenRecord g = { 0 };
          NfsimRecord *r = &g.rec;
          r->family = s->family;
          r->proto = s->proto;
          guint8 *remote = (guint8 *) s->remote;
          const guint8 *uaddr = u ? user_addr : transit_src;
          if (dir == DIR_IN)
            {
              memcpy (r->src, uaddr, 16);
              memcpy (r->dst, remote, 16);
              r->src_port = s->user_port;
              r->dst_port = s->remote_port;
              r->src_mask = u ? mask : 24;
              r->dst_mask = s->family == 4 ? 24 : 48;
              r->dst_as = s->remote_as;
            }
          else
            {
              memcpy (r->src, remote, 16);
              memcpy (r->dst, uaddr, 16);
              r->src_port = s->remote_port;
              r->dst_port = s->user_port;
              r->src_mask = s->family == 4 ? 24 : 48;
              r->dst_mask = u ? mask : 24;
              r->src_as = s->remote_as;
            }
          if (s->proto == 1 || s->proto == 58)
            {
              /* ICMP: type/code in the destination port, none in the source */
              r->src_port = 0;
              r->dst_port = s->proto == 1 ? (dir == DIR_IN ? 0x0800 : 0x0000)
                                          : (dir == DIR_IN ? 0x8000 : 0x8100);
            }
          guint access = u ? u->access : ACCESS_PPPOE;
          guint32 user_if = access == ACCESS_PPPOE ? 1 + s->user % 8
                            : access == ACCESS_IPOE ? 11 + s->user % 8
                                                   : 21 + s->user % 4;
          guint32 up_if = access == ACCESS_PPPOE ? 100 : access == ACCESS_IPOE ? 101 : 102;
          if (!u)
            user_if = 103;
          r->input_if = dir == DIR_IN ? user_if : up_if;
          r->output_if = dir == DIR_IN ? up_if : user_if;
          if (s->proto == 6)
            r->tcp_flags = pos == 0 && last ? 0x1b : pos == 0 ? 0x1a : last ? 0x19 : 0x18;
          g.exporter = access == ACCESS_MOBILE ? 2 : access == ACCESS_IPOE ? 1 : 0;
          guint32 n = cfg->sampling[g.exporter];
          guint64 k = n > 1 ? nfsim_rng_binomial (rng, tp, 1.0 / n) : tp;
          g.true_packets = tp;
          g.true_bytes = tb;
          r->first_ms = wall;
          r->last_ms = wall + seg;
          if (k > 0)
            {
              guint64 kb = (guint64) llround ((double) tb * k / tp);
              kb = MAX (kb, k);
              r->packets = k;
              r->bytes = kb;
              g.scaled_packets = k * n;
              g.scaled_bytes = kb * n;
              if (k == 1)
                r->first_ms = r->last_ms = wall + (gint64) (nfsim_rng_uniform (rng) * seg);
              else if (k < tp)
                {
                  gint64 a = (gint64) (nfsim_rng_uniform (rng) * seg / (k + 1.0));
                  gint64 z = (gint64) (nfsim_rng_uniform (rng) * seg / (k + 1.0));
                  r->first_ms = wall + a;
                  r->last_ms = wall + seg - z;
                }
            }
          g.in_user = g.out_user = G_MAXUINT32;
          if (u)
            {
              if (dir == DIR_IN)
                g.in_user = s->user, g.in_binding = b;
              else
                g.out_user = s->user, g.out_binding = b;
            }
          emit (pop, &g, data);
        }
      pos += seg;
      wall += seg;
      if (next_gap < gaps && gap_at[next_gap] <= pos)
        wall += gap_len[next_gap++];
    }
}

typedef struct {
  guint32 user;
  guint8 dir;
  guint8 hour;
  guint16 k;
  float bytes, ack;
} PlanEntry;

static gboolean
is_weekend (const Pop *pop, guint day)
{
  return pop->weekend[day];
}

static void
weekend_init (Pop *pop)
{
  pop->weekend = g_new0 (guint8, pop->cfg->days);
  for (guint day = 0; day < pop->cfg->days; day++)
    {
      /* local days since 1970-01-01, a Thursday; 0 = Monday */
      gint64 local_s = (pop->start_ms / 1000) + pop->cfg->utc_offset_s + (gint64) day * 86400 + 43200;
      int w = (int) (((local_s / 86400) + 3) % 7);
      pop->weekend[day] = w >= 5;
    }
}

/* per-day volume factors of a user, summing to `days` in each direction */
static void
day_factors (const Pop *pop, guint32 ui, const NfsimGroupModel *gm, double *f_in, double *f_out)
{
  NfsimRng rng;
  stream (&rng, pop, STREAM_DAYS, ui, 0);
  guint days = pop->cfg->days;
  double s[2] = { 0, 0 };
  for (guint d = 0; d < days; d++)
    {
      double z = nfsim_rng_normal (&rng), z2 = nfsim_rng_normal (&rng);
      double w = is_weekend (pop, d) ? gm->weekend_factor : 1.0;
      double sg = gm->day_sigma;
      f_in[d] = w * exp (sg * z);
      f_out[d] = w * exp (sg * (0.7 * z + 0.714 * z2));
      s[0] += f_in[d];
      s[1] += f_out[d];
    }
  for (guint d = 0; d < days; d++)
    {
      f_in[d] *= days / s[0];
      f_out[d] *= days / s[1];
    }
}

static guint
pick_hour (NfsimRng *rng, const double *profile)
{
  return nfsim_rng_pick (rng, profile, 24, 1.0);
}

/* Sessions of every user for day d, bucketed by hour. */
static void
plan_day (Pop *pop, guint d, GArray **buckets)
{
  NfsimConfig *cfg = pop->cfg;
  guint days = cfg->days;
  double *f_in = g_new (double, days), *f_out = g_new (double, days);
  gboolean weekend = is_weekend (pop, d);
  double total_sessions = 0;
  for (guint32 ui = 0; ui < pop->users->len; ui++)
    {
      User *u = &g_array_index (pop->users, User, ui);
      gboolean transit = u->access == ACCESS_TRANSIT;
      const NfsimGroupModel *gm = &cfg->group[u->group];
      double vin, vout, lam[2];
      NfsimRng rng;
      stream (&rng, pop, STREAM_PLAN, ui, d);
      if (!transit)
        {
          day_factors (pop, ui, gm, f_in, f_out);
          vin = u->daily[DIR_IN] * f_in[d];
          vout = u->daily[DIR_OUT] * f_out[d];
          lam[DIR_OUT] = gm->sessions_per_day
                         * pow (MAX (vout, 1) / pop->group_median[u->group][DIR_OUT], 0.25);
          lam[DIR_IN] = 0.5 * gm->sessions_per_day
                        * pow (MAX (vin, 1) / pop->group_median[u->group][DIR_IN], 0.25);
          total_sessions += lam[0] + lam[1];
        }
      else
        {
          vin = u->daily[DIR_IN];
          vout = u->daily[DIR_OUT];
          lam[DIR_OUT] = lam[DIR_IN] = MAX (4, cfg->unattributed_share * total_sessions / 2);
        }
      double ack = cfg->ack_ratio;
      double a_o = vout > 0 ? MIN (ack, 0.5 * vin / vout) : 0;
      double a_i = vin > 0 ? MIN (ack, 0.5 * vout / vin) : 0;
      double det = 1 - a_i * a_o;
      double budget[2];
      budget[DIR_OUT] = (vout - a_i * vin) / det;
      budget[DIR_IN] = (vin - a_o * vout) / det;
      double ackr[2] = { a_i, a_o }; /* reverse share of IN / OUT sessions */
      const NfsimGroupModel *pm = transit ? &cfg->group[GROUP_BROADBAND] : gm;
      for (int dir = 0; dir < 2; dir++)
        {
          if (budget[dir] <= 0)
            continue;
          guint64 k = nfsim_rng_poisson (&rng, MIN (MAX (lam[dir], 0.2), 2000));
          k = MAX (k, 1);
          double *w = g_new (double, k), sum = 0;
          for (guint64 i = 0; i < k; i++)
            sum += w[i] = rng_gamma (&rng, 0.7) + 1e-9;
          const double *profile = weekend ? pm->profile[dir].weekend : pm->profile[dir].weekday;
          for (guint64 i = 0; i < k; i++)
            {
              PlanEntry pe = { ui, dir, pick_hour (&rng, profile), i,
                               budget[dir] * w[i] / sum, budget[dir] * w[i] / sum * ackr[dir] };
              g_array_append_val (buckets[pe.hour], pe);
            }
          g_free (w);
        }
    }
  g_free (f_in);
  g_free (f_out);
}

static void
gen_session (Pop *pop, guint d, const PlanEntry *pe, EmitFunc emit, gpointer data)
{
  NfsimConfig *cfg = pop->cfg;
  User *u = &g_array_index (pop->users, User, pe->user);
  gboolean transit = u->access == ACCESS_TRANSIT;
  const NfsimGroupModel *gm = &cfg->group[transit ? GROUP_BROADBAND : u->group];
  NfsimRng rng;
  stream (&rng, pop, STREAM_SESSION, pe->user, ((guint64) d << 24) | ((guint64) pe->dir << 20) | pe->k);

  Session s = { 0 };
  s.user = pe->user;
  s.main_dir = pe->dir;
  const NfsimPortTable *pt = gm->ports;
  double shares[64];
  guint nc = MIN (pt->cats->len, 64);
  for (guint i = 0; i < nc; i++)
    shares[i] = ((NfsimCategory *) g_ptr_array_index (pt->cats, i))->share;
  /* the category with the largest byte deficit against its share (smooth
   * weighted round robin over bytes): the realised port shares then
   * match the table to a fraction of a point even where a few heavy
   * users carry much of the traffic; the random draw breaks ties */
  int table = pt == &cfg->port_tables[0] ? 0 : 1;
  double sbytes = pe->bytes + pe->ack;
  double after = pop->cat_total[table] + sbytes;
  guint ci = nfsim_rng_pick (&rng, shares, nc, pt->total);
  double best = -G_MAXDOUBLE;
  for (guint i = 0; i < nc; i++)
    {
      double deficit = shares[i] / pt->total * after - pop->cat_bytes[table][i];
      if (shares[i] > 0 && deficit > best + 1e-9)
        {
          best = deficit;
          ci = i;
        }
    }
  pop->cat_bytes[table][ci] += sbytes;
  pop->cat_total[table] = after;
  const NfsimCategory *c = g_ptr_array_index (pt->cats, ci);

  if (u->access == ACCESS_IPOE && u->group != GROUP_ENTERPRISE)
    s.family = 6;
  else
    s.family = nfsim_rng_uniform (&rng) < gm->ipv6_share ? 6 : 4;
  s.proto = c->proto;
  if (s.proto == 1 && s.family == 6)
    s.proto = 58;
  gboolean peer = c->kind == CAT_DYNAMIC;
  switch (c->kind)
    {
    case CAT_PORT:
      {
        guint lo = MAX ((guint) c->port + 1, 32768u);
        s.remote_port = c->port;
        s.user_port = lo + nfsim_rng_below (&rng, 65536 - lo);
        break;
      }
    case CAT_LOW:
      do
        s.remote_port = low_ports[nfsim_rng_below (&rng, G_N_ELEMENTS (low_ports))];
      while (port_listed (pt, s.proto, s.remote_port) && nfsim_rng_uniform (&rng) < 0.99);
      s.user_port = 32768 + nfsim_rng_below (&rng, 32768);
      break;
    case CAT_DYNAMIC:
      do
        {
          s.remote_port = 1024 + nfsim_rng_below (&rng, 64512);
          s.user_port = 1024 + nfsim_rng_below (&rng, 64512);
        }
      while (port_listed (pt, s.proto, MIN (s.remote_port, s.user_port))
             || port_listed (&cfg->port_tables[0], s.proto, MIN (s.remote_port, s.user_port))
             || port_listed (&cfg->port_tables[1], s.proto, MIN (s.remote_port, s.user_port)));
      break;
    case CAT_NOPORT:
      break;
    }
  remote_address (&rng, s.family, ci, peer, s.remote);
  s.remote_as = 64496 + ci % 16;
  s.host = nfsim_rng_below (&rng, u->n_hosts ? u->n_hosts : 1);
  /* packet sizes: bulk one way, ACK-sized the other */
  switch (s.proto)
    {
    case 6: s.main_pkt = 1200 + nfsim_rng_below (&rng, 240); s.ack_pkt = 52 + nfsim_rng_below (&rng, 60); break;
    case 17:
      s.main_pkt = c->port == 53 ? 80 + nfsim_rng_below (&rng, 120) : 1100 + nfsim_rng_below (&rng, 250);
      s.ack_pkt = c->port == 53 ? s.main_pkt : 60 + nfsim_rng_below (&rng, 300);
      break;
    case 1: case 58: s.main_pkt = s.ack_pkt = 64 + nfsim_rng_below (&rng, 40); break;
    default: s.main_pkt = 1000 + nfsim_rng_below (&rng, 400); s.ack_pkt = 80 + nfsim_rng_below (&rng, 200); break;
    }

  double rate_bps = exp (log (gm->rate_mbps_min) + nfsim_rng_uniform (&rng)
                         * (log (gm->rate_mbps_max) - log (gm->rate_mbps_min))) * 1e6;
  double bytes = pe->bytes, ack = pe->ack;
  gint64 span = (gint64) MAX (1.0, bytes * 8 / rate_bps * 1000);
  span = MIN (span, 3 * HOUR_MS);
  gint64 t = pop->start_ms + ((gint64) d * 24 + pe->hour) * HOUR_MS
             + (gint64) (nfsim_rng_uniform (&rng) * HOUR_MS);

  if (transit)
    {
      emit_slices (pop, &rng, &s, NULL, NULL, t, span, bytes, ack, emit, data);
      return;
    }
  /* place the session on the user's bindings: none at t -> wait for the
   * next; a disconnect cuts it and the rest resumes after the reconnect
   * with the new address (the user's volume is kept) */
  for (int hop = 0; hop < 16 && bytes > 0.5 && t < pop->end_ms; hop++)
    {
      Binding *next, *b = binding_at (pop, u, t, &next);
      if (!b)
        {
          if (!next)
            return;
          t = next->start_ms + 1000 + nfsim_rng_below (&rng, 30000);
          continue;
        }
      gint64 avail = MIN (b->stop_ms, pop->end_ms) - t;
      if (avail <= 0)
        {
          t = b->stop_ms + 1;
          continue;
        }
      gint64 part = MIN (span, avail);
      double f = (double) part / span;
      /* cut by the end of the simulated days: squeeze the rest in, so
       * that the user's volume is kept */
      if (part >= span || b->stop_ms >= pop->end_ms)
        f = 1;
      emit_slices (pop, &rng, &s, u, b, t, part, bytes * f, ack * f, emit, data);
      bytes -= bytes * f;
      ack -= ack * f;
      span -= part;
      if (f >= 1 || span <= 0)
        return;
      t = b->stop_ms + 1;
      s.user_port = s.user_port ^ 0x0101; /* a new connection */
      if (s.user_port < 1024)
        s.user_port += 1024;
    }
}

/* ------------------------------------------------------------ passes */

static void
emit_collect (Pop *pop, GenRecord *g, gpointer data)
{
  account (pop, g);
}

static void
emit_export (Pop *pop, GenRecord *g, gpointer data)
{
  if (g->scaled_packets == 0)
    return;
  GArray *pending = data;
  g_array_append_val (pending, *g);
}

static gint
gen_record_cmp (gconstpointer a, gconstpointer b)
{
  const GenRecord *x = a, *y = b;
  if (x->rec.last_ms != y->rec.last_ms)
    return x->rec.last_ms < y->rec.last_ms ? -1 : 1;
  return x->rec.first_ms < y->rec.first_ms ? -1 : x->rec.first_ms > y->rec.first_ms;
}

static void
progress (Pop *pop, guint hour, gboolean force)
{
  if (!pop->opt.progress)
    return;
  gint64 now = g_get_monotonic_time ();
  if (!force && now - pop->progress_last_us < 2000000)
    return;
  pop->progress_last_us = now;
  double secs = (now - pop->export_begin_us) / 1e6;
  if (pop->export_total)
    g_printerr ("nfsim: exported %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                " records (%.0f%%), simulated day %u hour %02u, %.0f records/s\n",
                pop->exported_so_far, pop->export_total,
                100.0 * pop->exported_so_far / pop->export_total,
                hour / 24 + 1, hour % 24, secs > 0 ? pop->exported_so_far / secs : 0.0);
  else
    g_printerr ("nfsim: exported %" G_GUINT64_FORMAT " records (%.0f%% of the simulated "
                "time), simulated day %u hour %02u, %.0f records/s\n",
                pop->exported_so_far, 100.0 * (hour + 1) / pop->n_hours,
                hour / 24 + 1, hour % 24, secs > 0 ? pop->exported_so_far / secs : 0.0);
}

/* One pace for all three exporters: records leave at opt.rate per second
 * in their common time order. */
static void
pace (Pop *pop, guint64 records)
{
  if (pop->opt.rate <= 0)
    return;
  gint64 due = pop->export_begin_us + (gint64) (records * 1e6 / pop->opt.rate);
  gint64 now = g_get_monotonic_time ();
  if (due > now)
    g_usleep (due - now);
}

static gboolean
run_pass (Pop *pop, gboolean exporting, GError **error)
{
  memset (pop->cat_bytes, 0, sizeof pop->cat_bytes);
  memset (pop->cat_total, 0, sizeof pop->cat_total);
  guint days = pop->cfg->days;
  GArray *buckets[24];
  for (int h = 0; h < 24; h++)
    buckets[h] = g_array_new (FALSE, FALSE, sizeof (PlanEntry));
  g_autoptr (GArray) pending = g_array_new (FALSE, FALSE, sizeof (GenRecord));
  gboolean ok = TRUE;
  for (guint d = 0; d < days && ok; d++)
    {
      for (int h = 0; h < 24; h++)
        g_array_set_size (buckets[h], 0);
      plan_day (pop, d, buckets);
      for (guint h = 0; h < 24 && ok; h++)
        {
          for (guint i = 0; i < buckets[h]->len; i++)
            gen_session (pop, d, &g_array_index (buckets[h], PlanEntry, i),
                         exporting ? emit_export : emit_collect, pending);
          if (!exporting)
            continue;
          /* every later record starts after this hour: what ends before
           * its end can go out, in order */
          gint64 horizon = pop->start_ms + ((gint64) d * 24 + h + 1) * HOUR_MS;
          gboolean last = d == days - 1 && h == 23;
          g_array_sort (pending, gen_record_cmp);
          guint n = 0;
          while (n < pending->len
                 && (last || g_array_index (pending, GenRecord, n).rec.last_ms < (guint64) horizon))
            {
              GenRecord *g = &g_array_index (pending, GenRecord, n);
              if ((pop->exported_so_far + n) % 64 == 0)
                pace (pop, pop->exported_so_far + n);
              if (!nfsim_exporter_add (pop->exporters[g->exporter], &g->rec, error))
                {
                  ok = FALSE;
                  break;
                }
              n++;
            }
          g_array_remove_range (pending, 0, n);
          pop->exported_so_far += n;
          progress (pop, d * 24 + h, FALSE);
        }
    }
  for (int h = 0; h < 24; h++)
    g_array_free (buckets[h], TRUE);
  if (ok && exporting)
    for (int e = 0; e < 3 && ok; e++)
      ok = nfsim_exporter_flush (pop->exporters[e], error);
  return ok;
}

static void
pop_free (Pop *pop)
{
  if (pop->users)
    {
      for (guint i = 0; i < pop->users->len; i++)
        g_free (g_array_index (pop->users, User, i).acc);
      g_array_free (pop->users, TRUE);
    }
  if (pop->bindings)
    {
      for (guint i = 0; i < pop->bindings->len; i++)
        g_free (g_array_index (pop->bindings, Binding, i).slots);
      g_array_free (pop->bindings, TRUE);
    }
  for (guint i = 0; i < pop->n_port_rows; i++)
    g_free (pop->port_row_names[i]);
  g_free (pop->hourly);
  g_free (pop->weekend);
  g_free (pop->hourly_cat);
  for (int e = 0; e < 3; e++)
    nfsim_exporter_free (pop->exporters[e]);
  nfsim_config_free (pop->cfg);
}

int
nfsim_run_population (const NfsimOptions *opt, GError **error)
{
  Pop pop = { 0 };
  int rc = 1;
  pop.opt = *opt;
  pop.seed = opt->seed;
  if (!opt->out_dir)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "nfsim: population mode needs --out-dir DIR");
      return 2;
    }
  if (opt->no_files && !opt->target)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "nfsim: --no-files without --target has nothing to do");
      return 2;
    }
  pop.cfg = nfsim_config_load (opt->config_path, opt, error);
  if (!pop.cfg)
    return 2;
  NfsimConfig *cfg = pop.cfg;
  gint64 t0 = g_get_monotonic_time ();
  for (int g = 0; g < N_GROUPS; g++)
    for (int dir = 0; dir < 2; dir++)
      cfg->group[g].fit_error[dir] = nfsim_mixture_fit (&cfg->group[g].target[dir],
                                                        &cfg->group[g].mix[dir]);
  if (opt->verbose)
    g_printerr ("nfsim: fitted the usage distributions in %.1f s\n",
                (g_get_monotonic_time () - t0) / 1e6);
  pop.start_ms = cfg->week_start_ms;
  pop.end_ms = cfg->week_start_ms + cfg->days * DAY_MS;
  pop.n_hours = cfg->days * 24;
  pop.users = g_array_new (FALSE, FALSE, sizeof (User));
  pop.bindings = g_array_new (FALSE, FALSE, sizeof (Binding));
  pop.hourly = g_new0 (guint64, (gsize) N_TG * 4 * pop.n_hours);
  pop.hourly_cat = g_new0 (guint64, (gsize) N_TG * N_HC * pop.n_hours);
  port_rows_init (&pop);
  weekend_init (&pop);

  build_users (&pop);
  assign_volumes (&pop);
  /* the transit pseudo-user carries unattributed_share of all bytes */
  {
    double sum[2] = { 0, 0 };
    for (guint i = 0; i < pop.users->len; i++)
      for (int dir = 0; dir < 2; dir++)
        sum[dir] += g_array_index (pop.users, User, i).daily[dir];
    User *t = &g_array_index (pop.users, User, pop.transit_user);
    double s = cfg->unattributed_share / (1 - cfg->unattributed_share);
    t->daily[DIR_IN] = s * (sum[0] + sum[1]) / 2;
    t->daily[DIR_OUT] = s * (sum[0] + sum[1]) / 2;
  }
  build_bindings (&pop);

  if (!opt->no_files)
    {
      pop.collect = TRUE;
      t0 = g_get_monotonic_time ();
      if (!run_pass (&pop, FALSE, error))
        goto out;
      if (opt->verbose)
        g_printerr ("nfsim: %u users, %" G_GUINT64_FORMAT " records generated, %" G_GUINT64_FORMAT
                    " exported after sampling (%.1f s)\n",
                    pop.users->len - 1, pop.rec_true,
                    pop.rec_exported[0] + pop.rec_exported[1] + pop.rec_exported[2],
                    (g_get_monotonic_time () - t0) / 1e6);
      if (!nfsim_write_assignments (&pop, opt->out_dir, error)
          || !nfsim_write_truth (&pop, opt->out_dir, error))
        goto out;
      if (opt->verbose)
        g_printerr ("nfsim: wrote assignments and ground truth to %s\n", opt->out_dir);
    }

  if (opt->target)
    {
      pop.collect = FALSE;
      static const guint32 source_ids[3] = { 1, 2, 3 };
      for (int e = 0; e < 3; e++)
        {
          pop.exporters[e] = nfsim_exporter_new (opt->target, opt->format, source_ids[e],
                                                 cfg->sampling[e], 0, error);
          if (!pop.exporters[e])
            goto out;
        }
      pop.export_total = pop.rec_exported[0] + pop.rec_exported[1] + pop.rec_exported[2];
      pop.export_begin_us = g_get_monotonic_time ();
      if (!run_pass (&pop, TRUE, error))
        goto out;
      progress (&pop, pop.n_hours - 1, TRUE);
      if (!opt->no_files && pop.exported_so_far != pop.export_total)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "nfsim: internal error: exported %" G_GUINT64_FORMAT
                       " records, pass 1 counted %" G_GUINT64_FORMAT,
                       pop.exported_so_far, pop.export_total);
          goto out;
        }
    }
  rc = 0;
out:
  pop_free (&pop);
  return rc;
}
