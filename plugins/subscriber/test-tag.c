/* The batched tagging pipeline (tagger_tag_batch -> lease_table_tag_flows)
 * against the one-address lookup and against a brute-force reference, on
 * random tables that make every stage of the pipeline work: misses
 * inside and outside the prefilter's /16s and /32s, overflowing hash
 * lines, bindings churned many times over (chain walks of any depth),
 * shorter static prefixes behind dynamic ones, IPv6 keys longer than 64
 * bits, batch sizes around the pipeline's strides, and selections. */
#include "config.h"

#include <string.h>

#include "plugins/subscriber/subscriber.h"

/* ---- brute-force reference (as test-lease-table's, with masks) ---- */

typedef struct {
  guint8 family, plen;
  NfsubAddr addr; /* host bits clear */
  LeaseKind kind;
  guint32 start, end, user;
  guint8 service, user_class, access; /* the user's, when added */
  guint order;
  guint32 id;
} RefBinding;

static gboolean
ref_contains (const RefBinding *b, const NfsubAddr *a)
{
  gboolean v4 = a->hi == 0 && (a->lo >> 32) == 0xffff;
  if ((b->family == 4) != v4)
    return FALSE;
  guint bits = b->family == 4 ? 96u + b->plen : b->plen;
  guint64 mhi = bits >= 64 ? G_MAXUINT64 : bits ? G_MAXUINT64 << (64 - bits) : 0;
  guint64 mlo = bits <= 64 ? 0 : bits == 128 ? G_MAXUINT64 : G_MAXUINT64 << (128 - bits);
  return (a->hi & mhi) == b->addr.hi && (a->lo & mlo) == b->addr.lo;
}

/* Longest prefix first, dynamic before static; for one prefix the binding
 * with the latest start <= t (ties: the later added) applies if t < end. */
static const RefBinding *
ref_lookup (GArray *ref, const NfsubAddr *a, guint32 t)
{
  const RefBinding *best[129][2] = { { NULL } };
  for (guint i = 0; i < ref->len; i++)
    {
      const RefBinding *b = &g_array_index (ref, RefBinding, i);
      if (b->start > t || !ref_contains (b, a))
        continue;
      guint plen = b->family == 4 ? 96u + b->plen : b->plen;
      const RefBinding **slot = &best[plen][b->kind];
      if (!*slot || b->start > (*slot)->start
          || (b->start == (*slot)->start && b->order > (*slot)->order))
        *slot = b;
    }
  for (int plen = 128; plen >= 0; plen--)
    for (int kind = LEASE_DYNAMIC; kind <= LEASE_STATIC; kind++)
      if (best[plen][kind] && t < best[plen][kind]->end)
        return best[plen][kind];
  return NULL;
}

/* ---- the population ---- */

#define T_END 100000u /* times are 0 .. T_END */

typedef struct {
  LeaseTable *table;
  GArray *ref;              /* RefBinding */
  GArray *bound;            /* RefBinding index of bindings to aim at */
  guint32 users[300];
} World;

static void
add_binding (World *w, GRand *r, LeaseKind kind, guint8 family,
             const NfsubAddr *addr, guint plen, guint32 start, guint32 end)
{
  RefBinding b = { 0 };
  LeasePrefix p;
  g_assert_true (lease_prefix_make (&p, addr, family, plen));
  b.family = family;
  b.plen = (guint8) plen;
  b.addr = p.addr;
  b.kind = kind;
  b.start = start;
  b.end = end;
  b.user = w->users[g_rand_int_range (r, 0, G_N_ELEMENTS (w->users))];
  const LeaseUser *u = lease_table_user (w->table, b.user);
  b.service = u->service;
  b.user_class = u->user_class;
  b.access = u->access;
  b.order = w->ref->len;
  b.id = lease_table_add (w->table, kind, &p, start, end, b.user);
  g_array_append_val (w->ref, b);
  g_array_append_val (w->bound, b.order);
}

static NfsubAddr
v6_addr (guint64 hi, GRand *r)
{
  NfsubAddr a = { hi, ((guint64) g_rand_int (r) << 32) | g_rand_int (r) };
  return a;
}

/* A churned address: `n` bindings in time order, each ended by the next
 * or by a Stop; some are left open. */
static void
churn (World *w, GRand *r, LeaseKind kind, guint8 family, const NfsubAddr *a,
       guint plen, guint n)
{
  guint32 t = (guint32) g_rand_int_range (r, 0, 20000);
  for (guint k = 0; k < n && t < T_END; k++)
    {
      guint32 len = (guint32) g_rand_int_range (r, 1, 30000);
      guint32 end = g_rand_int_range (r, 0, 6) == 0 ? LEASE_END_OPEN : t + len;
      add_binding (w, r, kind, family, a, plen, t, end);
      /* gaps, overlaps (a new start ends the old binding) and ties */
      t += (guint32) g_rand_int_range (r, 0, 3) == 0 ? 0 : g_rand_int_range (r, 1, 40000);
    }
}

static void
world_build (World *w, GRand *r)
{
  w->table = lease_table_new ();
  w->ref = g_array_new (FALSE, FALSE, sizeof (RefBinding));
  w->bound = g_array_new (FALSE, FALSE, sizeof (guint));
  static const char *access[] = { "pppoe", "ipoe", "mobile" };
  for (guint u = 0; u < G_N_ELEMENTS (w->users); u++)
    {
      g_autofree char *key = g_strdup_printf ("%s:user%u", access[u % 3], u);
      w->users[u] = lease_table_intern_user (
        w->table, key, 1 + u % 2, 1 + (u / 2) % 2, 1 + u % 3);
    }
  /* IPv4 /32 pools in 100.64.0.0/16 and 100.65.0.0/16: thousands of keys
   * so that hash lines overflow */
  for (guint i = 0; i < 6000; i++)
    {
      NfsubAddr a = nfsub_addr_from_v4 (0x64400000u + (guint32) g_rand_int_range (r, 0, 0x20000));
      churn (w, r, LEASE_DYNAMIC, 4, &a, 32, (guint) g_rand_int_range (r, 1, 6));
    }
  /* static /24 and /28 enterprise ranges, some inside the pools */
  for (guint i = 0; i < 40; i++)
    {
      NfsubAddr a = nfsub_addr_from_v4 ((i % 2 ? 0x64400000u : 0xc6336400u)
                                        + ((guint32) g_rand_int_range (r, 0, 512) << 8));
      add_binding (w, r, LEASE_STATIC, 4, &a, i % 3 ? 24 : 28,
                   i % 4 ? 0 : (guint32) g_rand_int_range (r, 0, T_END),
                   i % 5 ? LEASE_END_OPEN : (guint32) g_rand_int_range (r, 0, 2 * T_END));
    }
  /* IPv6 /56 delegations in 2001:db8::/32 and 2001:db9::/32 */
  for (guint i = 0; i < 5000; i++)
    {
      guint64 hi = G_GUINT64_CONSTANT (0x20010db800000000)
                   | ((guint64) g_rand_int_range (r, 0, 2) << 32)
                   | ((guint64) g_rand_int_range (r, 0, 1 << 16) << 8);
      NfsubAddr a = { hi, 0 };
      churn (w, r, LEASE_DYNAMIC, 6, &a, 56, (guint) g_rand_int_range (r, 1, 5));
    }
  /* shorter dynamic and static IPv6 prefixes behind them */
  for (guint i = 0; i < 60; i++)
    {
      guint64 hi = G_GUINT64_CONSTANT (0x20010db800000000)
                   | ((guint64) g_rand_int_range (r, 0, 1 << 16) << 8);
      NfsubAddr a = { hi, 0 };
      if (i % 2)
        churn (w, r, LEASE_DYNAMIC, 6, &a, 48, 2);
      else
        add_binding (w, r, LEASE_STATIC, 6, &a, 40, 0, LEASE_END_OPEN);
    }
}

static const RefBinding *
random_binding (World *w, GRand *r)
{
  return &g_array_index (w->ref, RefBinding,
                         g_array_index (w->bound, guint,
                                        g_rand_int_range (r, 0, (gint32) w->bound->len)));
}

static void
world_add_wide (World *w, GRand *r)
{
  /* a static range shorter than /32: the prefilter passes all IPv6 */
  NfsubAddr short_prefix = { G_GUINT64_CONSTANT (0x20010db000000000), 0 };
  add_binding (w, r, LEASE_STATIC, 6, &short_prefix, 28, 0, LEASE_END_OPEN);
  /* aim many ends into it (most of it lies outside every bound /32) */
  guint short_index = w->ref->len - 1;
  for (guint i = 0; i < w->bound->len / 4; i++)
    g_array_append_val (w->bound, short_index);
  /* IA_NA /128s: the longest IPv6 table then has 128-bit keys and every
   * IPv6 lookup takes the plain path */
  for (guint i = 0; i < 200; i++)
    {
      const RefBinding *b = random_binding (w, r);
      if (b->family != 6)
        continue;
      NfsubAddr a = v6_addr (b->addr.hi | (guint64) g_rand_int_range (r, 0, 256), r);
      churn (w, r, LEASE_DYNAMIC, 6, &a, 128, 2);
    }
}

static void
world_free (World *w)
{
  lease_table_free (w->table);
  g_array_unref (w->ref);
  g_array_unref (w->bound);
}

/* A random address inside b's prefix */
static NfsubAddr
inside (const RefBinding *b, GRand *r)
{
  NfsubAddr a = b->addr;
  if (b->family == 6)
    {
      if (b->plen < 64)
        a.hi |= ((guint64) g_rand_int (r) << 32 | g_rand_int (r))
                & (G_MAXUINT64 >> b->plen);
      if (b->plen < 128)
        a.lo |= ((guint64) g_rand_int (r) << 32 | g_rand_int (r))
                & (b->plen <= 64 ? G_MAXUINT64 : G_MAXUINT64 >> (b->plen - 64));
    }
  else if (b->plen < 32)
    a.lo |= g_rand_int (r) & (0xffffffffu >> b->plen);
  return a;
}

/* An end: inside a bound prefix, unbound inside a pool's /16 or /32, or
 * anywhere on the Internet. */
static NfsubAddr
random_end (World *w, GRand *r, gboolean v6)
{
  int kind = g_rand_int_range (r, 0, 10);
  if (kind < 5 && w->bound->len)
    for (int tries = 0; tries < 100; tries++)
      {
        const RefBinding *b = random_binding (w, r);
        if ((b->family == 6) == v6)
          return inside (b, r);
      }
  if (kind < 8)
    {
      /* in a pool, probably unbound */
      if (v6)
        return v6_addr (G_GUINT64_CONSTANT (0x20010db800000000)
                          | ((guint64) g_rand_int_range (r, 0, 2) << 32)
                          | g_rand_int (r),
                        r);
      return nfsub_addr_from_v4 (0x64400000u + (guint32) g_rand_int_range (r, 0, 0x20000));
    }
  if (v6)
    return v6_addr (G_GUINT64_CONSTANT (0x2a00145000000000) | g_rand_int (r), r);
  return nfsub_addr_from_v4 (g_rand_int (r));
}

static void
random_flow (World *w, GRand *r, NfsubFlow *f)
{
  memset (f, 0, sizeof *f);
  gboolean v6 = g_rand_boolean (r);
  guint32 t = (guint32) g_rand_int_range (r, 0, T_END + 20000);
  int edge = g_rand_int_range (r, 0, 8);
  const RefBinding *b = edge < 2 && w->bound->len ? random_binding (w, r) : NULL;
  if (b)
    v6 = b->family == 6;
  f->family = v6 ? 6 : 4;
  f->src = random_end (w, r, v6);
  f->dst = random_end (w, r, v6);
  if (b)
    {
      /* an end of this binding's prefix, at one of its edges in time:
       * chain walks meet starts and ends exactly */
      *(g_rand_boolean (r) ? &f->src : &f->dst) = inside (b, r);
      guint32 end = b->end == LEASE_END_OPEN ? b->start : b->end;
      switch (g_rand_int_range (r, 0, 4))
        {
        case 0: t = b->start; break;
        case 1: t = b->start ? b->start - 1 : 0; break;
        case 2: t = end; break;
        default: t = end ? end - 1 : 0; break;
        }
    }
  f->first_ms = (guint64) t * 1000 + (guint64) g_rand_int_range (r, 0, 1000);
  if (edge == 2 && g_rand_int_range (r, 0, 10) == 0)
    f->first_ms = G_GUINT64_CONSTANT (5000000000000); /* after 2106 */
  f->last_ms = f->first_ms + 1000;
  f->in_bytes = (guint64) g_rand_int_range (r, 40, 1 << 20);
  f->in_packets = 1 + f->in_bytes / 1000;
  f->out_bytes = g_rand_int_range (r, 0, 4) == 0 ? 1234 : 0;
  f->aggr_flows = 1;
  /* tags the tagger must leave alone where an end is not bound */
  f->src_tag.user = "untouched";
  f->src_tag.user_id = 0xdead;
  f->dst_tag = f->src_tag;
  f->direction = 0xff;
}

static guint32
flow_time (const NfsubFlow *f)
{
  guint64 s = f->first_ms / 1000;
  return s >= LEASE_END_OPEN ? LEASE_END_OPEN - 1 : (guint32) s;
}

typedef struct {
  guint64 checked, bound, brute;
} Tally;

/* One end against the one-address lookup (every end) and the brute-force
 * reference (every `brute_every`-th). */
static void
check_end (World *w, const NfsubAddr *a, guint32 when,
           const NfsubSubscriberTag *tag, gboolean tagged, gboolean brute,
           Tally *tally)
{
  guint32 id = lease_table_lookup (w->table, a, when);
  tally->checked++;
  if (brute)
    {
      const RefBinding *want = ref_lookup (w->ref, a, when);
      g_assert_cmpuint (want ? want->id : 0, ==, id);
      tally->brute++;
    }
  g_assert_cmpint (tagged, ==, id != 0);
  if (!id)
    {
      g_assert_cmpstr (tag->user, ==, "untouched");
      g_assert_cmpuint (tag->user_id, ==, 0xdead);
      return;
    }
  tally->bound++;
  const LeaseBinding *b = lease_table_binding (w->table, id);
  g_assert_cmpstr (tag->user, ==, lease_table_user (w->table, b->user)->key);
  /* the interned key itself, not a copy */
  g_assert_true (tag->user == lease_table_user (w->table, b->user)->key);
  g_assert_cmpuint (tag->user_id, ==, b->user);
  g_assert_cmpuint (tag->service, ==, b->service);
  g_assert_cmpuint (tag->user_class, ==, b->user_class);
  g_assert_cmpuint (tag->access, ==, b->access);
  g_assert_cmpuint (tag->reserved, ==, 0);
}

static void
run_batches (World *w, GRand *r, guint rounds, guint brute_every)
{
  static const guint sizes[] = { 1, 2, 63, 64, 65, 127, 128, 129, 255, 257,
                                 1000, 2047, 2048 };
  SubIndex ix;
  memset (&ix, 0, sizeof ix);
  ix.table = w->table;
  Tagger tg;
  tagger_init (&tg, &ix, NULL);
  NfsubFlow *flows = g_new (NfsubFlow, 2048);
  guint *sel = g_new (guint, 2048);
  Tally tally = { 0 };
  for (guint round = 0; round < rounds; round++)
    {
      guint n = sizes[round % G_N_ELEMENTS (sizes)];
      for (guint i = 0; i < n; i++)
        random_flow (w, r, &flows[i]);
      NfsubBatch batch = { flows, n, NULL, 0 };
      gboolean selected = round % 3 == 2;
      if (selected)
        {
          /* every other flow, or a random subset, in order */
          batch.selected = sel;
          for (guint i = 0; i < n; i++)
            if (round % 2 ? i % 2 == 0 : g_rand_boolean (r))
              sel[batch.n_selected++] = i;
        }
      TagCounters c = { 0 };
      tagger_tag_batch (&tg, &batch, &c);

      TagCounters want = { 0 };
      guint k = 0;
      for (guint i = 0; i < n; i++)
        {
          const NfsubFlow *f = &flows[i];
          gboolean in_selection = !selected || (k < batch.n_selected && sel[k] == i);
          if (!in_selection)
            {
              g_assert_cmpuint (f->direction, ==, 0xff);
              g_assert_cmpstr (f->src_tag.user, ==, "untouched");
              g_assert_cmpstr (f->dst_tag.user, ==, "untouched");
              continue;
            }
          k++;
          guint32 when = flow_time (f);
          gboolean brute = (tally.checked / 2) % brute_every == 0;
          check_end (w, &f->src, when, &f->src_tag,
                     (f->direction & NFSUB_DIR_IN) != 0, brute, &tally);
          check_end (w, &f->dst, when, &f->dst_tag,
                     (f->direction & NFSUB_DIR_OUT) != 0, brute, &tally);
          g_assert_cmpuint (f->direction & ~(NFSUB_DIR_IN | NFSUB_DIR_OUT), ==, 0);
          guint64 bytes = f->in_bytes + f->out_bytes;
          guint64 packets = f->in_packets + f->out_packets;
          want.flows++;
          want.bytes += bytes;
          want.packets += packets;
          if (f->direction & NFSUB_DIR_IN)
            want.in_flows++, want.in_bytes += bytes;
          if (f->direction & NFSUB_DIR_OUT)
            want.out_flows++, want.out_bytes += bytes;
          if (f->direction == (NFSUB_DIR_IN | NFSUB_DIR_OUT))
            want.both_flows++, want.both_bytes += bytes;
          if (f->direction == 0)
            want.unattr_flows++, want.unattr_bytes += bytes,
              want.unattr_packets += packets;
        }
      g_assert_cmpuint (c.flows, ==, want.flows);
      g_assert_cmpuint (c.bytes, ==, want.bytes);
      g_assert_cmpuint (c.packets, ==, want.packets);
      g_assert_cmpuint (c.in_flows, ==, want.in_flows);
      g_assert_cmpuint (c.in_bytes, ==, want.in_bytes);
      g_assert_cmpuint (c.out_flows, ==, want.out_flows);
      g_assert_cmpuint (c.out_bytes, ==, want.out_bytes);
      g_assert_cmpuint (c.both_flows, ==, want.both_flows);
      g_assert_cmpuint (c.both_bytes, ==, want.both_bytes);
      g_assert_cmpuint (c.unattr_flows, ==, want.unattr_flows);
      g_assert_cmpuint (c.unattr_bytes, ==, want.unattr_bytes);
      g_assert_cmpuint (c.unattr_packets, ==, want.unattr_packets);
      g_assert_cmpuint (c.in_bytes + c.out_bytes - c.both_bytes + c.unattr_bytes,
                        ==, c.bytes);
    }
  /* the mix reached both outcomes, and the reference saw enough of it */
  g_assert_cmpuint (tally.bound, >, tally.checked / 20);
  g_assert_cmpuint (tally.bound, <, tally.checked * 9 / 10);
  g_assert_cmpuint (tally.brute, >, 2000);
  g_test_message ("%" G_GUINT64_FORMAT " ends, %" G_GUINT64_FORMAT
                  " bound, %" G_GUINT64_FORMAT " against brute force",
                  tally.checked, tally.bound, tally.brute);
  g_free (sel);
  g_free (flows);
  tagger_clear (&tg);
}

static void
test_random (void)
{
  GRand *r = g_rand_new_with_seed (20240607);
  World w;
  world_build (&w, r);
  run_batches (&w, r, 60, 8);
  /* ends changed after the fact (the slots keep copies) */
  for (guint i = 0; i < w.ref->len / 4; i++)
    {
      RefBinding *b = &g_array_index (w.ref, RefBinding,
                                      g_rand_int_range (r, 0, (gint32) w.ref->len));
      b->end = b->start + (guint32) g_rand_int_range (r, 0, 20000);
      lease_table_set_end (w.table, b->id, b->end);
    }
  run_batches (&w, r, 39, 8);
  world_free (&w);
  g_rand_free (r);
}

static void
test_wide_keys (void)
{
  GRand *r = g_rand_new_with_seed (77);
  World w;
  world_build (&w, r);
  world_add_wide (&w, r);
  run_batches (&w, r, 26, 8);
  world_free (&w);
  g_rand_free (r);
}

static void
test_one_family_and_empty (void)
{
  /* IPv4 bindings only: IPv6 ends have no table to go to */
  GRand *r = g_rand_new_with_seed (5);
  World w;
  w.table = lease_table_new ();
  w.ref = g_array_new (FALSE, FALSE, sizeof (RefBinding));
  w.bound = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint u = 0; u < G_N_ELEMENTS (w.users); u++)
    {
      g_autofree char *key = g_strdup_printf ("pppoe:only%u", u);
      w.users[u] = lease_table_intern_user (w.table, key, 1, 1, 1);
    }
  for (guint i = 0; i < 3000; i++)
    {
      NfsubAddr a = nfsub_addr_from_v4 (0x64400000u + (guint32) g_rand_int_range (r, 0, 0x20000));
      churn (&w, r, LEASE_DYNAMIC, 4, &a, 32, (guint) g_rand_int_range (r, 1, 4));
    }
  run_batches (&w, r, 13, 4);
  world_free (&w);

  /* no bindings at all */
  LeaseTable *empty = lease_table_new ();
  SubIndex ix;
  memset (&ix, 0, sizeof ix);
  ix.table = empty;
  Tagger tg;
  tagger_init (&tg, &ix, NULL);
  NfsubFlow flows[100];
  for (guint i = 0; i < G_N_ELEMENTS (flows); i++)
    {
      memset (&flows[i], 0, sizeof flows[i]);
      flows[i].src = nfsub_addr_from_v4 (g_rand_int (r));
      flows[i].dst = v6_addr (G_GUINT64_CONSTANT (0x20010db800000000) | g_rand_int (r), r);
      flows[i].in_bytes = 100;
      flows[i].direction = 0xff;
    }
  NfsubBatch batch = { flows, G_N_ELEMENTS (flows), NULL, 0 };
  TagCounters c = { 0 };
  tagger_tag_batch (&tg, &batch, &c);
  g_assert_cmpuint (c.unattr_flows, ==, G_N_ELEMENTS (flows));
  g_assert_cmpuint (c.unattr_bytes, ==, 100 * G_N_ELEMENTS (flows));
  for (guint i = 0; i < G_N_ELEMENTS (flows); i++)
    {
      g_assert_cmpuint (flows[i].direction, ==, 0);
      g_assert_null (flows[i].src_tag.user);
      g_assert_null (flows[i].dst_tag.user);
    }
  tagger_clear (&tg);
  lease_table_free (empty);
  g_rand_free (r);
}

/* Dense pools (the hot index mirrors both families' longest tables),
 * then bindings added out of order (new newest ones, ones inserted
 * behind the newest, new pages), ends changed, a second pool far away,
 * and a longer IPv6 table that takes the IPv6 index away. */
static void
test_dense_pools (void)
{
  GRand *r = g_rand_new_with_seed (4242);
  World w;
  w.table = lease_table_new ();
  w.ref = g_array_new (FALSE, FALSE, sizeof (RefBinding));
  w.bound = g_array_new (FALSE, FALSE, sizeof (guint));
  static const char *access[] = { "pppoe", "ipoe", "mobile" };
  for (guint u = 0; u < G_N_ELEMENTS (w.users); u++)
    {
      g_autofree char *key = g_strdup_printf ("%s:dense%u", access[u % 3], u);
      w.users[u] = lease_table_intern_user (w.table, key, 1 + u % 2,
                                            1 + (u / 2) % 2, 1 + u % 3);
    }
  for (guint i = 0; i < 6000; i++)
    {
      NfsubAddr a = nfsub_addr_from_v4 (0x64400000u + (guint32) g_rand_int_range (r, 0, 0x2000));
      churn (&w, r, LEASE_DYNAMIC, 4, &a, 32, (guint) g_rand_int_range (r, 1, 6));
    }
  for (guint i = 0; i < 5000; i++)
    {
      NfsubAddr a = { G_GUINT64_CONSTANT (0x20010db800000000)
                        | ((guint64) g_rand_int_range (r, 0, 0x2000) << 8), 0 };
      churn (&w, r, LEASE_DYNAMIC, 6, &a, 56, (guint) g_rand_int_range (r, 1, 5));
    }
  /* shorter static ranges behind them */
  for (guint i = 0; i < 20; i++)
    {
      NfsubAddr a = nfsub_addr_from_v4 (0x64400000u + ((guint32) g_rand_int_range (r, 0, 0x30) << 8));
      add_binding (&w, r, LEASE_STATIC, 4, &a, 24, 0, LEASE_END_OPEN);
      NfsubAddr b = { G_GUINT64_CONSTANT (0x20010db800000000)
                        | ((guint64) g_rand_int_range (r, 0, 0x30) << 16), 0 };
      add_binding (&w, r, LEASE_STATIC, 6, &b, 48, 0, LEASE_END_OPEN);
    }
  run_batches (&w, r, 26, 8);
  g_assert_true (lease_table_hot (w.table, 4));
  g_assert_true (lease_table_hot (w.table, 6));

  /* out of order: starts anywhere on keys that exist, keys in new pages */
  guint n = w.ref->len;
  for (guint i = 0; i < 1500; i++)
    {
      const RefBinding b = g_array_index (w.ref, RefBinding,
                                          g_rand_int_range (r, 0, (gint32) n));
      if (b.kind != LEASE_DYNAMIC)
        continue;
      guint32 start = (guint32) g_rand_int_range (r, 0, T_END);
      add_binding (&w, r, LEASE_DYNAMIC, b.family, &b.addr, b.plen, start,
                   start + (guint32) g_rand_int_range (r, 1, 30000));
    }
  for (guint i = 0; i < 300; i++)
    {
      NfsubAddr a = nfsub_addr_from_v4 (0x64402000u + (guint32) g_rand_int_range (r, 0, 0x1000));
      churn (&w, r, LEASE_DYNAMIC, 4, &a, 32, 2);
      NfsubAddr b = { G_GUINT64_CONSTANT (0x20010db800000000)
                        | ((guint64) g_rand_int_range (r, 0x2000, 0x3000) << 8), 0 };
      churn (&w, r, LEASE_DYNAMIC, 6, &b, 56, 2);
    }
  run_batches (&w, r, 26, 8);
  g_assert_true (lease_table_hot (w.table, 4));
  g_assert_true (lease_table_hot (w.table, 6));

  /* ends changed after the fact, newest bindings and older ones */
  for (guint i = 0; i < w.ref->len / 3; i++)
    {
      RefBinding *b = &g_array_index (w.ref, RefBinding,
                                      g_rand_int_range (r, 0, (gint32) w.ref->len));
      b->end = b->start + (guint32) g_rand_int_range (r, 0, 20000);
      lease_table_set_end (w.table, b->id, b->end);
    }
  run_batches (&w, r, 26, 8);

  /* a second IPv4 pool far from the first: the index finds pages by
   * its hashed directory instead of the direct range */
  for (guint i = 0; i < 2000; i++)
    {
      NfsubAddr a = nfsub_addr_from_v4 (0x0a000000u + (guint32) g_rand_int_range (r, 0, 0x800));
      churn (&w, r, LEASE_DYNAMIC, 4, &a, 32, (guint) g_rand_int_range (r, 1, 4));
    }
  run_batches (&w, r, 26, 8);
  g_assert_true (lease_table_hot (w.table, 4));

  /* IA_NA /128s: the longest IPv6 table has 128-bit keys, no index */
  world_add_wide (&w, r);
  run_batches (&w, r, 26, 8);
  g_assert_true (lease_table_hot (w.table, 4));
  g_assert_false (lease_table_hot (w.table, 6));
  world_free (&w);
  g_rand_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tag/random-vs-lookup-and-reference", test_random);
  g_test_add_func ("/tag/wide-ipv6-keys", test_wide_keys);
  g_test_add_func ("/tag/one-family-and-empty", test_one_family_and_empty);
  g_test_add_func ("/tag/dense-pools", test_dense_pools);
  return g_test_run ();
}
