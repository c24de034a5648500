/* The time-aware LPM table against a brute-force reference that scans
 * every binding, plus hand-computed churn cases. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "plugins/subscriber/lease-table.h"

typedef struct {
  LeasePrefix p;
  LeaseKind kind;
  guint32 start, end, user;
  guint order; /* insertion order */
  guint32 id;  /* the table's id for it */
} RefBinding;

static gboolean
ref_contains (const LeasePrefix *p, const NfsubAddr *a)
{
  guint8 fam = nfsub_addr_is_v4 (a) ? 4 : 6;
  if (fam != p->family)
    return FALSE;
  /* compare bit by bit: independent of the table's masks */
  guint base = fam == 4 ? 96 : 0;
  for (guint i = 0; i < p->plen; i++)
    {
      guint bit = base + i;
      guint64 x = bit < 64 ? a->hi >> (63 - bit) : a->lo >> (127 - bit);
      guint64 y = bit < 64 ? p->addr.hi >> (63 - bit)
                           : p->addr.lo >> (127 - bit);
      if ((x & 1) != (y & 1))
        return FALSE;
    }
  return TRUE;
}

/* Documented semantics: longest prefix first, dynamic before static; for
 * one prefix the binding with the latest start <= t applies if t < end. */
static const RefBinding *
ref_lookup (GArray *ref, const NfsubAddr *a, guint32 t)
{
  for (int plen = 128; plen >= 0; plen--)
    for (int kind = LEASE_DYNAMIC; kind <= LEASE_STATIC; kind++)
      {
        const RefBinding *best = NULL;
        for (guint i = 0; i < ref->len; i++)
          {
            const RefBinding *b = &g_array_index (ref, RefBinding, i);
            if (b->p.plen != plen || (int) b->kind != kind
                || !ref_contains (&b->p, a) || b->start > t)
              continue;
            if (!best || b->start > best->start
                || (b->start == best->start && b->order > best->order))
              best = b;
          }
        if (best && t < best->end)
          return best;
      }
  return NULL;
}

static void
test_churn (void)
{
  LeaseTable *t = lease_table_new ();
  guint32 a = lease_table_intern_user (t, "pppoe:alice", NFSUB_SERVICE_BROADBAND,
                                       NFSUB_CLASS_PERSONAL, NFSUB_ACCESS_PPPOE);
  guint32 b = lease_table_intern_user (t, "pppoe:bob", NFSUB_SERVICE_BROADBAND,
                                       NFSUB_CLASS_PERSONAL, NFSUB_ACCESS_PPPOE);
  g_assert_cmpuint (lease_table_intern_user (t, "pppoe:alice", 0, 0, 0), ==, a);
  g_assert_cmpuint (lease_table_find_user (t, "pppoe:bob"), ==, b);
  g_assert_cmpuint (lease_table_find_user (t, "ipoe:bob"), ==, 0);

  NfsubAddr addr;
  g_assert_true (nfsub_addr_parse ("10.0.0.1", &addr));
  LeasePrefix p;
  g_assert_true (lease_prefix_make (&p, &addr, 4, 32));
  /* alice 1000..2000, bob 2000..3000 */
  guint32 ba = lease_table_add (t, LEASE_DYNAMIC, &p, 1000, 2000, a);
  guint32 bb = lease_table_add (t, LEASE_DYNAMIC, &p, 2000, 3000, b);
  g_assert_cmpuint (lease_table_lookup (t, &addr, 999), ==, 0);
  g_assert_cmpuint (lease_table_lookup (t, &addr, 1000), ==, ba);
  g_assert_cmpuint (lease_table_lookup (t, &addr, 1999), ==, ba);
  g_assert_cmpuint (lease_table_lookup (t, &addr, 2000), ==, bb);
  g_assert_cmpuint (lease_table_lookup (t, &addr, 2999), ==, bb);
  g_assert_cmpuint (lease_table_lookup (t, &addr, 3000), ==, 0);

  /* an open session is ended by the next start of the address */
  NfsubAddr addr2;
  g_assert_true (nfsub_addr_parse ("10.0.0.2", &addr2));
  g_assert_true (lease_prefix_make (&p, &addr2, 4, 32));
  guint32 open = lease_table_add (t, LEASE_DYNAMIC, &p, 1000, LEASE_END_OPEN, a);
  guint32 later = lease_table_add (t, LEASE_DYNAMIC, &p, 1500, 1600, b);
  g_assert_cmpuint (lease_table_lookup (t, &addr2, 1400), ==, open);
  g_assert_cmpuint (lease_table_lookup (t, &addr2, 1550), ==, later);
  g_assert_cmpuint (lease_table_lookup (t, &addr2, 1700), ==, 0);

  /* a static /24 is the fallback when no dynamic /32 is active */
  NfsubAddr net;
  g_assert_true (nfsub_addr_parse ("10.0.0.0", &net));
  guint32 corp = lease_table_intern_user (t, "ipoe:corp", NFSUB_SERVICE_BROADBAND,
                                          NFSUB_CLASS_ENTERPRISE,
                                          NFSUB_ACCESS_IPOE);
  g_assert_true (lease_prefix_make (&p, &net, 4, 24));
  guint32 st = lease_table_add (t, LEASE_STATIC, &p, 0, LEASE_END_OPEN, corp);
  g_assert_cmpuint (lease_table_lookup (t, &addr, 1500), ==, ba);
  g_assert_cmpuint (lease_table_lookup (t, &addr, 5000), ==, st);
  LeasePrefix m;
  LeaseKind k;
  g_assert_cmpuint (lease_table_lookup_match (t, &addr, 5000, &m, &k), ==, st);
  g_assert_cmpuint (m.plen, ==, 24);
  g_assert_cmpint (k, ==, LEASE_STATIC);
  lease_table_clear_static (t);
  g_assert_cmpuint (lease_table_lookup (t, &addr, 5000), ==, 0);
  g_assert_cmpuint (lease_table_lookup (t, &addr, 1500), ==, ba);

  /* IPv6: a /56 delegation covers its /64s, not its neighbour */
  NfsubAddr v6, in, out;
  g_assert_true (nfsub_addr_parse ("2001:db8:100:200::", &v6));
  g_assert_true (nfsub_addr_parse ("2001:db8:100:2ff:1:2:3:4", &in));
  g_assert_true (nfsub_addr_parse ("2001:db8:100:300::1", &out));
  g_assert_true (lease_prefix_make (&p, &v6, 6, 56));
  guint32 d6 = lease_table_add (t, LEASE_DYNAMIC, &p, 100, 200, b);
  g_assert_cmpuint (lease_table_lookup (t, &in, 150), ==, d6);
  g_assert_cmpuint (lease_table_lookup (t, &out, 150), ==, 0);
  g_assert_cmpuint (lease_table_lookup (t, &in, 200), ==, 0);
  /* an IPv4 address never matches an IPv6 prefix and vice versa */
  g_assert_cmpuint (lease_table_lookup (t, &addr, 150), ==, 0);
  lease_table_free (t);
}

static NfsubAddr
random_addr (GRand *r, gboolean v4)
{
  if (v4)
    /* a few /16s so that prefixes collide and nest */
    return nfsub_addr_from_v4 ((10u << 24) | ((guint32) g_rand_int_range (r, 0, 3) << 16)
                               | (guint32) g_rand_int_range (r, 0, 1024));
  NfsubAddr a = { G_GUINT64_CONSTANT (0x20010db800000000)
                    | ((guint64) g_rand_int_range (r, 0, 4) << 16)
                    | (guint64) g_rand_int_range (r, 0, 4) << 8,
                  ((guint64) g_rand_int (r) << 32) | g_rand_int (r) };
  if (g_rand_boolean (r))
    a.hi |= (guint64) g_rand_int_range (r, 0, 256);
  return a;
}

static void
test_random_against_reference (void)
{
  static const guint v4_lens[] = { 32, 32, 32, 30, 29, 24, 16 };
  static const guint v6_lens[] = { 56, 56, 48, 64, 128, 40 };
  GRand *r = g_rand_new_with_seed (20240603);
  for (int round = 0; round < 20; round++)
    {
      LeaseTable *t = lease_table_new ();
      GArray *ref = g_array_new (FALSE, FALSE, sizeof (RefBinding));
      guint32 users[50];
      for (int u = 0; u < 50; u++)
        {
          g_autofree char *key = g_strdup_printf ("pppoe:u%d", u);
          users[u] = lease_table_intern_user (t, key, 1, 1, 1);
        }
      int n = g_rand_int_range (r, 10, 400);
      for (int i = 0; i < n; i++)
        {
          gboolean v4 = g_rand_boolean (r);
          NfsubAddr a = random_addr (r, v4);
          guint plen = v4 ? v4_lens[g_rand_int_range (r, 0, G_N_ELEMENTS (v4_lens))]
                          : v6_lens[g_rand_int_range (r, 0, G_N_ELEMENTS (v6_lens))];
          RefBinding b;
          g_assert_true (lease_prefix_make (&b.p, &a, v4 ? 4 : 6, plen));
          b.kind = g_rand_int_range (r, 0, 4) == 0 ? LEASE_STATIC : LEASE_DYNAMIC;
          b.start = (guint32) g_rand_int_range (r, 0, 1000);
          b.end = g_rand_int_range (r, 0, 5) == 0
                    ? LEASE_END_OPEN
                    : b.start + (guint32) g_rand_int_range (r, 0, 300);
          b.user = users[g_rand_int_range (r, 0, 50)];
          b.order = ref->len;
          b.id = lease_table_add (t, b.kind, &b.p, b.start, b.end, b.user);
          g_array_append_val (ref, b);
          /* sometimes the same prefix again: churn */
          if (g_rand_int_range (r, 0, 3) == 0)
            {
              b.start = (guint32) g_rand_int_range (r, 0, 1000);
              b.end = b.start + (guint32) g_rand_int_range (r, 1, 300);
              b.user = users[g_rand_int_range (r, 0, 50)];
              b.order = ref->len;
              b.id = lease_table_add (t, b.kind, &b.p, b.start, b.end, b.user);
              g_array_append_val (ref, b);
            }
        }
      /* Stops and renewals after the fact: ends change (the slots keep a
       * copy of their newest binding's) */
      for (guint i = 0; i < ref->len / 3; i++)
        {
          RefBinding *b = &g_array_index (
            ref, RefBinding, g_rand_int_range (r, 0, (gint32) ref->len));
          b->end = b->start + (guint32) g_rand_int_range (r, 0, 400);
          lease_table_set_end (t, b->id, b->end);
        }
      const guint q = 3000;
      NfsubAddr *addrs = g_new (NfsubAddr, q);
      guint32 *whens = g_new (guint32, q);
      LeaseHit *found = g_new (LeaseHit, q);
      for (guint i = 0; i < q; i++)
        {
          if (g_rand_boolean (r) && ref->len)
            {
              /* inside a known prefix (host bits random) */
              const RefBinding *b = &g_array_index (
                ref, RefBinding, g_rand_int_range (r, 0, (gint32) ref->len));
              NfsubAddr noise = random_addr (r, b->p.family == 4);
              LeasePrefix host;
              lease_prefix_make (&host, &b->p.addr, b->p.family, b->p.plen);
              addrs[i] = host.addr;
              /* keep the prefix bits, take the rest from noise */
              guint base = b->p.family == 4 ? 96 : 0;
              for (guint bit = base + b->p.plen; bit < 128; bit++)
                {
                  guint64 v = bit < 64 ? (noise.hi >> (63 - bit)) & 1
                                       : (noise.lo >> (127 - bit)) & 1;
                  if (bit < 64)
                    addrs[i].hi |= v << (63 - bit);
                  else
                    addrs[i].lo |= v << (127 - bit);
                }
            }
          else
            addrs[i] = random_addr (r, g_rand_boolean (r));
          whens[i] = (guint32) g_rand_int_range (r, 0, 1400);
        }
      lease_table_lookup_many (t, q, addrs, whens, found);
      for (guint i = 0; i < q; i++)
        {
          const RefBinding *want = ref_lookup (ref, &addrs[i], whens[i]);
          guint32 got = lease_table_lookup (t, &addrs[i], whens[i]);
          g_assert_cmpuint (found[i].binding, ==, got);
          if (got)
            {
              const LeaseBinding *fb = lease_table_binding (t, got);
              const LeaseUser *fu = lease_table_user (t, fb->user);
              g_assert_cmpstr (found[i].key, ==, fu->key);
              g_assert_cmpuint (found[i].user, ==, fb->user);
              g_assert_cmpuint (found[i].access, ==, fu->access);
              g_assert_cmpuint (found[i].service, ==, fu->service);
              g_assert_cmpuint (found[i].user_class, ==, fu->user_class);
            }
          else
            g_assert_null (found[i].key);
          if (!want)
            {
              g_assert_cmpuint (got, ==, 0);
              continue;
            }
          g_assert_cmpuint (got, !=, 0);
          const LeaseBinding *b = lease_table_binding (t, got);
          g_assert_cmpuint (b->start, ==, want->start);
          g_assert_cmpuint (b->end, ==, want->end);
          g_assert_cmpuint (b->user, ==, want->user);
          LeasePrefix m;
          LeaseKind k;
          g_assert_cmpuint (lease_table_lookup_match (t, &addrs[i], whens[i],
                                                      &m, &k),
                            ==, got);
          g_assert_cmpuint (m.plen, ==, want->p.plen);
          g_assert_cmpint (k, ==, want->kind);
        }
      g_free (addrs);
      g_free (whens);
      g_free (found);
      g_array_unref (ref);
      lease_table_free (t);
    }
  g_rand_free (r);
}

/* ---- memory returns when a table is freed ---- */

#ifdef __SANITIZE_ADDRESS__
/* libasan's; its header is not installed with every compiler */
size_t __sanitizer_get_current_allocated_bytes (void);
#endif

/* Heap bytes in use, from the allocator's own books (not the code under
 * test): glibc's mallinfo2, or AddressSanitizer's allocator.  0 where
 * neither exists (the heap check then holds trivially; the address
 * space check below still applies). */
static gsize
heap_in_use (void)
{
#if defined(__SANITIZE_ADDRESS__)
  return __sanitizer_get_current_allocated_bytes ();
#elif defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  struct mallinfo2 m = mallinfo2 ();
  return m.uordblks + m.hblkhd;
#else
  return 0;
#endif
}

/* Mapped address space (the big arrays are mmap'ed), from the kernel. */
static gsize
mapped_bytes (void)
{
  gsize pages = 0;
  FILE *f = fopen ("/proc/self/statm", "r");
  if (f)
    {
      if (fscanf (f, "%zu", &pages) != 1)
        pages = 0;
      fclose (f);
    }
  return pages * 4096;
}

/* A table as a per-file process builds one: many users (key text),
 * dense pools of both families (hash tables and the hot index, built by
 * tagging a batch), reconnects. */
static void
build_tag_free (guint round)
{
  LeaseTable *t = lease_table_new ();
  NfsubFlow *flows = g_new0 (NfsubFlow, 256);
  guint8 *found = g_new0 (guint8, 256);
  for (guint i = 0; i < 50000; i++)
    {
      char key[64];
      g_snprintf (key, sizeof key, "pppoe:subscriber-%u-of-round-%u", i, round);
      guint32 u = lease_table_intern_user (t, key, 1, 1, 1);
      NfsubAddr a4 = nfsub_addr_from_v4 (0x64400000u + i);
      NfsubAddr a6 = { G_GUINT64_CONSTANT (0x20010db800000000) | ((guint64) i << 8), 0 };
      LeasePrefix p;
      lease_prefix_make (&p, &a4, 4, 32);
      lease_table_add (t, LEASE_DYNAMIC, &p, 1000, 2000, u);
      lease_table_add (t, LEASE_DYNAMIC, &p, 1500, LEASE_END_OPEN, u);
      lease_prefix_make (&p, &a6, 6, 56);
      lease_table_add (t, LEASE_DYNAMIC, &p, 1000, LEASE_END_OPEN, u);
      if (i < 256)
        {
          flows[i].first_ms = 1600000;
          flows[i].src = a4;
          flows[i].dst = a6;
        }
    }
  lease_table_tag_flows (t, 256, flows, found);
  for (guint i = 0; i < 256; i++)
    g_assert_cmpuint (found[i], ==, NFSUB_DIR_IN | NFSUB_DIR_OUT);
  g_assert_true (lease_table_hot (t, 4));
  g_assert_true (lease_table_hot (t, 6));
  lease_table_free (t);
  g_free (found);
  g_free (flows);
}

static void
test_free_returns_memory (void)
{
  /* `nfsub watch` opens (and frees) the plugins once per file: what a
   * table held must come back when it is freed, key text included */
  build_tag_free (0);
  gsize heap0 = heap_in_use (), mapped0 = mapped_bytes ();
  for (guint round = 1; round <= 6; round++)
    build_tag_free (round);
  gsize heap1 = heap_in_use (), mapped1 = mapped_bytes ();
  g_test_message ("heap in use %zu -> %zu bytes, mapped %zu -> %zu bytes",
                  heap0, heap1, mapped0, mapped1);
  /* each round interns 1.7 MB of key text and maps about 10 MB */
  g_assert_cmpuint (heap1, <=, heap0 + 256 * 1024);
#ifndef __SANITIZE_ADDRESS__
  /* (AddressSanitizer keeps freed memory mapped in its quarantine;
   * valgrind maps its own) */
  if (!g_getenv ("NFSUB_VALGRIND"))
    g_assert_cmpuint (mapped1, <=, mapped0 + 8 * 1024 * 1024);
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lease-table/churn", test_churn);
  g_test_add_func ("/lease-table/random-vs-reference",
                   test_random_against_reference);
  g_test_add_func ("/lease-table/free-returns-memory", test_free_returns_memory);
  return g_test_run ();
}
