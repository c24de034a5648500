/* subscriber: time-aware LPM table (see lease-table.h). */
#include "config.h"

#include <string.h>
#include <sys/mman.h>

#include "lease-table.h"

/* Static bindings live in their own array, told apart by the top bit of
 * the id, so clearing them leaves the dynamic ids intact. */
#define STATIC_ID_BIT 0x80000000u

/* A slot's copy of its newest binding (see lease_table_set_end for how it
 * stays in step). */
typedef struct {
  guint32 head;        /* newest binding, 0: empty slot */
  guint32 start, end;
  guint32 user;        /* user id | service << 26 | class << 28 | access << 30 */
  const char *key;     /* the user's key */
} SlotHead;

#define USER_ID_MASK ((1u << 26) - 1)

typedef struct {
  guint64 key;
  SlotHead h;
} Slot64;

typedef struct {
  guint64 hi, lo;
  SlotHead h;
} Slot128;

typedef struct {
  guint8 family;
  guint8 plen;
  guint8 kind;
  guint8 id;       /* index in LeaseTable.by_id[kind] */
  gboolean wide;   /* IPv6 longer than /64: 128-bit keys */
  guint64 mask_hi; /* address mask (IPv6 halves; IPv4 in mask_lo) */
  guint64 mask_lo;
  guint bits;      /* log2 of the slot count */
  gsize used;
  Slot64 *s64;
  Slot128 *s128;
} PrefixTable;

typedef struct {
  LeaseBinding *v;
  guint32 n;   /* v[0] is unused: id 0 means none */
  guint32 cap;
} BindingArray;

typedef struct {
  guint32 hash;
  guint32 id;
} UserSlot;

struct LeaseTable {
  /* per family, sorted by plen descending, dynamic before static */
  GPtrArray *tables[2]; /* [0] IPv4, [1] IPv6 */
  GPtrArray *by_id[2];  /* per kind: table id -> table (not owned) */
  BindingArray dyn, stat;

  LeaseUser *users; /* users[0] unused */
  guint32 n_users, cap_users;
  UserSlot *user_index;
  guint user_bits;
  GStringChunk *keys;
  gsize key_bytes;

  /* A coarse prefilter so that the many lookups of non-subscriber
   * addresses (the Internet end of every flow) stop before touching a
   * hash table: one bit per IPv4 /16 that holds a bound prefix, then one
   * per IPv6 /32 by its low V6_FILTER_BITS bits (all set while a prefix
   * shorter than /32 is bound).  One bitmap, so that a batch finds the
   * bit of either family with one load. */
  guint64 *filter; /* FILTER_BITS bits */
};

#define V6_FILTER_BITS 20
#define FILTER_V6_BASE 65536
#define FILTER_BITS (FILTER_V6_BASE + (1u << V6_FILTER_BITS))

/* The filter bit of an address (no branch: the family is a coin toss) */
static inline gsize
filter_index (guint64 hi, guint64 lo)
{
  gsize v6 = (hi | ((lo >> 32) ^ 0xffff)) != 0;
  gsize i4 = (lo >> 16) & 0xffff;
  gsize i6 = FILTER_V6_BASE + ((hi >> 32) & ((1u << V6_FILTER_BITS) - 1));
  /* a mask, not `v6 ? i6 : i4`, which compilers may turn into a branch */
  return i4 ^ ((i4 ^ i6) & -v6);
}

/* Keys outlive the table: tags hand out key pointers "for the process
 * lifetime", and plugins later in the pipeline may still hold them. */
static GPtrArray *retired_key_chunks;
G_LOCK_DEFINE_STATIC (retired_key_chunks);

static inline guint64
hash64 (guint64 k)
{
  k ^= k >> 31;
  return k * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);
}

static inline guint64
hash128 (guint64 hi, guint64 lo)
{
  return hash64 (hi ^ (lo * G_GUINT64_CONSTANT (0xC2B2AE3D27D4EB4F)));
}

static guint32
hash_string (const char *s)
{
  /* FNV-1a */
  guint32 h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (guint8) *s) * 16777619u;
  return h ? h : 1;
}

/* ---- memory ----
 * The big arrays are touched at random by every lookup; with 4 KiB pages
 * nearly each access is also a TLB miss.  Arrays from 2 MiB up get their
 * own mapping with transparent huge pages where the kernel allows. */
#define HUGE_FROM (2u << 20)

static gpointer
big_alloc0 (gsize bytes)
{
  if (bytes < HUGE_FROM)
    return g_aligned_alloc0 (1, bytes, 64); /* whole cache lines */
  void *p = mmap (NULL, bytes, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    g_error ("subscriber: out of memory (%zu bytes)", bytes);
#ifdef MADV_HUGEPAGE
  madvise (p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

static void
big_free (gpointer p, gsize bytes)
{
  if (!p)
    return;
  if (bytes < HUGE_FROM)
    g_aligned_free (p);
  else
    munmap (p, bytes);
}

static gpointer
big_realloc (gpointer p, gsize old_bytes, gsize new_bytes)
{
  gpointer q = big_alloc0 (new_bytes);
  if (p)
    memcpy (q, p, MIN (old_bytes, new_bytes));
  big_free (p, old_bytes);
  return q;
}

/* ---- prefixes ---- */

static void
mask_for (guint8 family, guint plen, guint64 *mhi, guint64 *mlo)
{
  if (family == 4)
    {
      *mhi = G_MAXUINT64;
      *mlo = plen == 0 ? G_GUINT64_CONSTANT (0xffffffff00000000)
                       : (G_MAXUINT64 << (32 - plen));
      return;
    }
  if (plen <= 64)
    {
      *mhi = plen == 0 ? 0 : G_MAXUINT64 << (64 - plen);
      *mlo = 0;
    }
  else
    {
      *mhi = G_MAXUINT64;
      *mlo = plen == 128 ? G_MAXUINT64 : G_MAXUINT64 << (128 - plen);
    }
}

gboolean
lease_prefix_make (LeasePrefix *p, const NfsubAddr *addr, guint8 family,
                   guint plen)
{
  if ((family != 4 && family != 6) || plen > (family == 4 ? 32u : 128u))
    return FALSE;
  if (family == 4 && !nfsub_addr_is_v4 (addr))
    return FALSE;
  guint64 mhi, mlo;
  mask_for (family, plen, &mhi, &mlo);
  p->addr.hi = addr->hi & mhi;
  p->addr.lo = addr->lo & mlo;
  p->family = family;
  p->plen = (guint8) plen;
  return TRUE;
}

/* ---- bindings ---- */

#define NO_TABLE 0xff

static guint32
binding_array_push (BindingArray *a, const LeaseBinding *b)
{
  if (a->n == 0)
    a->n = 1;
  if (a->n >= a->cap)
    {
      guint32 old_cap = a->cap;
      a->cap = a->cap ? a->cap + a->cap / 2 : 1024;
      a->v = big_realloc (a->v, (gsize) old_cap * sizeof (LeaseBinding),
                          (gsize) a->cap * sizeof (LeaseBinding));
    }
  a->v[a->n] = *b;
  return a->n++;
}

static inline LeaseBinding *
binding_get (LeaseTable *t, guint32 id)
{
  return (id & STATIC_ID_BIT) ? &t->stat.v[id & ~STATIC_ID_BIT] : &t->dyn.v[id];
}

const LeaseBinding *
lease_table_binding (LeaseTable *t, guint32 id)
{
  g_return_val_if_fail (id != 0, NULL);
  return binding_get (t, id);
}

guint32
lease_table_n_bindings (LeaseTable *t)
{
  return t->dyn.n ? t->dyn.n - 1 : 0;
}

/* ---- prefix tables ---- */

static PrefixTable *
prefix_table_new (guint8 family, guint8 plen, guint8 kind)
{
  PrefixTable *pt = g_new0 (PrefixTable, 1);
  pt->family = family;
  pt->plen = plen;
  pt->kind = kind;
  pt->wide = family == 6 && plen > 64;
  mask_for (family, plen, &pt->mask_hi, &pt->mask_lo);
  pt->bits = 4;
  if (pt->wide)
    pt->s128 = big_alloc0 (sizeof (Slot128) << pt->bits);
  else
    pt->s64 = big_alloc0 (sizeof (Slot64) << pt->bits);
  return pt;
}

static void
prefix_table_free (gpointer data)
{
  PrefixTable *pt = data;
  big_free (pt->s64, sizeof (Slot64) << pt->bits);
  big_free (pt->s128, sizeof (Slot128) << pt->bits);
  g_free (pt);
}

static inline guint64
key64_of (const PrefixTable *pt, const NfsubAddr *a)
{
  return pt->family == 4 ? (a->lo & pt->mask_lo) & 0xffffffffu
                         : a->hi & pt->mask_hi;
}

/* Slots pair up into 64-byte lines (32-byte slots, line-aligned arrays)
 * and a key's home is always the first slot of a line: the usual probe
 * (the home slot and its neighbour) then reads one cache line, which a
 * batched lookup prefetches. */
static inline gsize
slot_of64 (const PrefixTable *pt, guint64 key)
{
  return (gsize) (hash64 (key) >> (64 - pt->bits)) & ~(gsize) 1;
}

static inline gsize
slot_of128 (const PrefixTable *pt, guint64 hi, guint64 lo)
{
  return (gsize) (hash128 (hi, lo) >> (64 - pt->bits));
}

static inline SlotHead *
slot_head_at (PrefixTable *pt, gsize j)
{
  return pt->wide ? &pt->s128[j].h : &pt->s64[j].h;
}

/* The head binding keeps the index of its slot: a moved slot tells it. */
static void
prefix_table_relink (LeaseTable *t, PrefixTable *pt)
{
  gsize n = (gsize) 1 << pt->bits;
  for (gsize j = 0; j < n; j++)
    {
      SlotHead *h = slot_head_at (pt, j);
      if (h->head)
        binding_get (t, h->head)->slot = (guint32) j;
    }
}

static void
prefix_table_grow (LeaseTable *t, PrefixTable *pt)
{
  gsize old_n = (gsize) 1 << pt->bits;
  pt->bits++;
  gsize n = (gsize) 1 << pt->bits;
  gsize mask = n - 1;
  if (pt->wide)
    {
      Slot128 *old = pt->s128;
      pt->s128 = big_alloc0 (sizeof (Slot128) * n);
      for (gsize i = 0; i < old_n; i++)
        if (old[i].h.head)
          {
            gsize j = slot_of128 (pt, old[i].hi, old[i].lo);
            while (pt->s128[j].h.head)
              j = (j + 1) & mask;
            pt->s128[j] = old[i];
          }
      big_free (old, sizeof (Slot128) * old_n);
    }
  else
    {
      Slot64 *old = pt->s64;
      pt->s64 = big_alloc0 (sizeof (Slot64) * n);
      for (gsize i = 0; i < old_n; i++)
        if (old[i].h.head)
          {
            gsize j = slot_of64 (pt, old[i].key);
            while (pt->s64[j].h.head)
              j = (j + 1) & mask;
            pt->s64[j] = old[i];
          }
      big_free (old, sizeof (Slot64) * old_n);
    }
  prefix_table_relink (t, pt);
}

/* The slot of the prefix's key, claiming an empty one when `create`
 * (head 0 until the caller links a binding).  NULL when absent and not
 * creating.  *index gets the slot's index. */
static SlotHead *
prefix_table_slot (LeaseTable *t, PrefixTable *pt, const NfsubAddr *a,
                   gboolean create, gsize *index)
{
  gsize mask = ((gsize) 1 << pt->bits) - 1;
  if (create && (pt->used + 1) * 10 > (mask + 1) * 7)
    {
      prefix_table_grow (t, pt);
      mask = ((gsize) 1 << pt->bits) - 1;
    }
  if (pt->wide)
    {
      guint64 hi = a->hi & pt->mask_hi, lo = a->lo & pt->mask_lo;
      for (gsize j = slot_of128 (pt, hi, lo);; j = (j + 1) & mask)
        {
          Slot128 *s = &pt->s128[j];
          if (s->h.head == 0)
            {
              if (!create)
                return NULL;
              s->hi = hi;
              s->lo = lo;
              pt->used++;
              *index = j;
              return &s->h;
            }
          if (s->hi == hi && s->lo == lo)
            {
              *index = j;
              return &s->h;
            }
        }
    }
  guint64 key = key64_of (pt, a);
  for (gsize j = slot_of64 (pt, key);; j = (j + 1) & mask)
    {
      Slot64 *s = &pt->s64[j];
      if (s->h.head == 0)
        {
          if (!create)
            return NULL;
          s->key = key;
          pt->used++;
          *index = j;
          return &s->h;
        }
      if (s->key == key)
        {
          *index = j;
          return &s->h;
        }
    }
}

static gint
table_order (gconstpointer a, gconstpointer b)
{
  const PrefixTable *x = *(PrefixTable *const *) a;
  const PrefixTable *y = *(PrefixTable *const *) b;
  if (x->plen != y->plen)
    return x->plen > y->plen ? -1 : 1;
  return (gint) x->kind - (gint) y->kind;
}

static PrefixTable *
table_for (LeaseTable *t, guint8 family, guint8 plen, LeaseKind kind,
           gboolean create)
{
  GPtrArray *list = t->tables[family == 4 ? 0 : 1];
  for (guint i = 0; i < list->len; i++)
    {
      PrefixTable *pt = list->pdata[i];
      if (pt->plen == plen && pt->kind == kind)
        return pt;
    }
  if (!create)
    return NULL;
  PrefixTable *pt = prefix_table_new (family, plen, (guint8) kind);
  /* at most 33 + 129 lengths per kind: ids fit below NO_TABLE */
  pt->id = (guint8) t->by_id[kind]->len;
  g_ptr_array_add (t->by_id[kind], pt);
  g_ptr_array_add (list, pt);
  g_ptr_array_sort (list, table_order);
  return pt;
}

static inline void
filter_set (LeaseTable *t, gsize i)
{
  t->filter[i >> 6] |= G_GUINT64_CONSTANT (1) << (i & 63);
}

static void
filter_mark (LeaseTable *t, const LeasePrefix *p)
{
  gsize first, count;
  if (p->family == 4)
    {
      first = nfsub_addr_v4 (&p->addr) >> 16;
      count = p->plen >= 16 ? 1 : (gsize) 1 << (16 - p->plen);
    }
  else if (p->plen >= 32)
    first = filter_index (p->addr.hi, p->addr.lo), count = 1;
  else
    {
      /* a prefix shorter than /32: every IPv6 address may be bound */
      memset (t->filter + FILTER_V6_BASE / 64, 0xff,
              ((gsize) 1 << V6_FILTER_BITS) / 8);
      return;
    }
  for (gsize i = 0; i < count; i++)
    filter_set (t, first + i);
}

static inline gboolean
filter_pass (const LeaseTable *t, const NfsubAddr *a)
{
  gsize i = filter_index (a->hi, a->lo);
  return (t->filter[i >> 6] >> (i & 63)) & 1;
}

static inline guint32
pack_user (const LeaseBinding *b)
{
  return b->user | (guint32) b->service << 26 | (guint32) b->user_class << 28
         | (guint32) b->access << 30;
}

static void
slot_sync (LeaseTable *t, SlotHead *h)
{
  const LeaseBinding *b = binding_get (t, h->head);
  h->start = b->start;
  h->end = b->end;
  h->user = pack_user (b);
  h->key = t->users[b->user].key;
}

guint32
lease_table_add (LeaseTable *t, LeaseKind kind, const LeasePrefix *p,
                 guint32 start, guint32 end, guint32 user)
{
  g_return_val_if_fail (user != 0 && user <= t->n_users, 0);
  PrefixTable *pt = table_for (t, p->family, p->plen, kind, TRUE);
  gsize index;
  SlotHead *h = prefix_table_slot (t, pt, &p->addr, TRUE, &index);
  const LeaseUser *u = &t->users[user];
  LeaseBinding b = { start, end, user, 0, u->service & 3, u->user_class & 3,
                     u->access & 3, NO_TABLE, 0 };
  BindingArray *arr = kind == LEASE_STATIC ? &t->stat : &t->dyn;
  guint32 id = binding_array_push (arr, &b);
  if (kind == LEASE_STATIC)
    id |= STATIC_ID_BIT;

  /* keep the chain sorted by start, newest first; ties: the later added
   * goes first (it is the newer information) */
  if (h->head == 0 || binding_get (t, h->head)->start <= start)
    {
      if (h->head)
        binding_get (t, h->head)->table = NO_TABLE;
      LeaseBinding *nb = binding_get (t, id);
      nb->next = h->head;
      nb->table = pt->id;
      nb->slot = (guint32) index;
      h->head = id;
      slot_sync (t, h);
    }
  else
    {
      guint32 *link = &binding_get (t, h->head)->next;
      while (*link && binding_get (t, *link)->start > start)
        link = &binding_get (t, *link)->next;
      binding_get (t, id)->next = *link;
      *link = id;
    }
  filter_mark (t, p);
  return id;
}

void
lease_table_set_end (LeaseTable *t, guint32 id, guint32 end)
{
  LeaseBinding *b = binding_get (t, id);
  b->end = end;
  if (b->table != NO_TABLE)
    {
      PrefixTable *pt = t->by_id[(id & STATIC_ID_BIT) ? LEASE_STATIC
                                                      : LEASE_DYNAMIC]
                          ->pdata[b->table];
      slot_head_at (pt, b->slot)->end = end;
    }
}

void
lease_table_reserve_bindings (LeaseTable *t, gsize n)
{
  BindingArray *a = &t->dyn;
  gsize want = (gsize) MAX (a->n, 1) + n;
  if (want > a->cap)
    {
      guint32 old_cap = a->cap;
      a->cap = (guint32) want;
      a->v = big_realloc (a->v, (gsize) old_cap * sizeof (LeaseBinding),
                          (gsize) a->cap * sizeof (LeaseBinding));
    }
}

void
lease_table_reserve (LeaseTable *t, LeaseKind kind, guint8 family,
                     guint8 plen, gsize keys)
{
  PrefixTable *pt = table_for (t, family, plen, kind, TRUE);
  /* Keys that arrive in another table's hash order cluster badly while a
   * table grows under them: size it once for all of them. */
  while (((gsize) 1 << pt->bits) * 7 < (pt->used + keys) * 10)
    prefix_table_grow (t, pt);
}

guint32
lease_table_latest (LeaseTable *t, LeaseKind kind, const LeasePrefix *p)
{
  PrefixTable *pt = table_for (t, p->family, p->plen, kind, FALSE);
  if (!pt)
    return 0;
  gsize index;
  SlotHead *h = prefix_table_slot (t, pt, &p->addr, FALSE, &index);
  return h ? h->head : 0;
}

void
lease_table_clear_static (LeaseTable *t)
{
  for (int f = 0; f < 2; f++)
    {
      GPtrArray *list = t->tables[f];
      for (guint i = list->len; i-- > 0;)
        if (((PrefixTable *) list->pdata[i])->kind == LEASE_STATIC)
          g_ptr_array_remove_index (list, i);
      g_ptr_array_sort (list, table_order);
    }
  g_ptr_array_set_size (t->by_id[LEASE_STATIC], 0);
  t->stat.n = 0;
  /* The prefilters may now pass a few addresses they need not: they
   * are only ever a shortcut. */
}

/* ---- lookup ---- */

/* The binding of this slot's key that applies at `when`, 0: none. */
static inline guint32
slot_find (LeaseTable *t, const SlotHead *h, guint32 when)
{
  if (h->start <= when)
    return when < h->end ? h->head : 0;
  for (guint32 id = binding_get (t, h->head)->next; id;
       id = binding_get (t, id)->next)
    {
      const LeaseBinding *b = binding_get (t, id);
      if (b->start <= when)
        return when < b->end ? id : 0;
    }
  return 0;
}

static guint32
lookup_from (LeaseTable *t, const NfsubAddr *a, guint32 when, guint first,
             PrefixTable **where)
{
  GPtrArray *list = t->tables[nfsub_addr_is_v4 (a) ? 0 : 1];
  for (guint i = first; i < list->len; i++)
    {
      gsize index;
      SlotHead *h = prefix_table_slot (t, list->pdata[i], a, FALSE, &index);
      if (h)
        {
          guint32 id = slot_find (t, h, when);
          if (id)
            {
              if (where)
                *where = list->pdata[i];
              return id;
            }
        }
    }
  return 0;
}

guint32
lease_table_lookup_match (LeaseTable *t, const NfsubAddr *a, guint32 when,
                          LeasePrefix *prefix, LeaseKind *kind)
{
  PrefixTable *pt = NULL;
  guint32 id = lookup_from (t, a, when, 0, &pt);
  if (id)
    {
      lease_prefix_make (prefix, a, pt->family, pt->plen);
      *kind = (LeaseKind) pt->kind;
    }
  return id;
}

guint32
lease_table_lookup (LeaseTable *t, const NfsubAddr *a, guint32 when)
{
  if (!filter_pass (t, a))
    return 0;
  return lookup_from (t, a, when, 0, NULL);
}

/* Batched lookups are a software pipeline over strides of addresses.
 * Each stage first issues the loads of every address that needs one and
 * only then reads what it loaded, so the cache misses of a stride overlap
 * instead of queueing one after another:
 *   1. prefilter (one bit per /16 or /32, no branches);
 *   2. hash the key for the family's first (longest) table, prefetch its
 *      line, then load one word of every line in a loop without branches
 *      on the loaded data (prefetches alone are dropped on some machines,
 *      e.g. a VM whose page walks are costly; plain loads in a loop that
 *      does not branch on them keep many misses in flight); probe the
 *      line; a key that overflowed to the next line goes round again;
 *   3. a flow older than the slot's newest binding walks the chain, one
 *      binding per round;
 *   4. a binding found on the chain needs its user's key.
 * Addresses whose longest table has no applicable binding while shorter
 * tables exist, and tables with keys longer than 64 bits, take the plain
 * lookup (rare: static ranges behind dynamic pools).
 *
 * The pipeline is instantiated for two layouts with constant address
 * arithmetic: flows (tags written in place) and plain arrays (LeaseHit
 * results); see lease_table_tag_flows and lease_table_lookup_many. */
#ifndef LOOKUP_STRIDE
#define LOOKUP_STRIDE 32
#endif
#ifndef LOOKUP_DEPTH
#define LOOKUP_DEPTH 1
#endif
#ifndef LOOKUP_PREFETCH
#define LOOKUP_PREFETCH(p) __builtin_prefetch (p)
#endif

static inline void
touch_done (guint64 sum)
{
  __asm__ volatile ("" : : "r"(sum));
}

/* What the hot loops read, copied out of the table once per batch: the
 * stores of results could alias the table's fields otherwise. */
typedef struct {
  const guint64 *filter;
  const Slot64 *slots[2]; /* [0] IPv4, [1] IPv6: the longest table */
  guint8 shift[2];        /* 64 - log2 (slots) */
  guint8 fast[2];         /* a longest table with 64-bit keys exists */
  guint8 wide[2];         /* the longest table has 128-bit keys */
  guint8 more[2];         /* shorter tables follow */
  gsize slot_mask[2];
  guint64 key_mask[2];    /* IPv4: of the low half; IPv6: of the high */
  const LeaseBinding *dyn, *stat;
  const LeaseUser *users;
} LookupTables;

typedef struct {
  const guint8 *addrs;
  const guint32 *whens;
  LeaseHit *out;     /* plain layout */
  guint8 *tags;      /* flow layout */
  gsize tag_stride;
  guint8 *found;
} LookupIO;

static void
lookup_tables_init (LeaseTable *t, LookupTables *lt)
{
  memset (lt, 0, sizeof *lt);
  lt->filter = t->filter;
  for (int f = 0; f < 2; f++)
    {
      GPtrArray *list = t->tables[f];
      if (list->len == 0)
        continue;
      PrefixTable *pt = list->pdata[0];
      lt->more[f] = list->len > 1;
      lt->wide[f] = pt->wide;
      if (pt->wide)
        continue;
      lt->fast[f] = TRUE;
      lt->slots[f] = pt->s64;
      lt->shift[f] = (guint8) (64 - pt->bits);
      lt->slot_mask[f] = ((gsize) 1 << pt->bits) - 1;
      lt->key_mask[f] = f ? pt->mask_hi : pt->mask_lo & 0xffffffffu;
    }
  lt->dyn = t->dyn.v;
  lt->stat = t->stat.v;
  lt->users = t->users;
}

static inline const LeaseBinding *
lt_binding (const LookupTables *lt, guint32 id)
{
  return (id & STATIC_ID_BIT) ? &lt->stat[id & ~STATIC_ID_BIT] : &lt->dyn[id];
}

/* The entries of one stride still to finish, by stage. */
typedef struct {
  guint n_probe, n_slow;
  guint16 probe_i[LOOKUP_STRIDE]; /* entry, relative to the stride */
  guint8 probe_fam[LOOKUP_STRIDE];
  const Slot64 *probe_line[LOOKUP_STRIDE]; /* its first slot */
  guint64 probe_key[LOOKUP_STRIDE];
  guint16 slow_i[LOOKUP_STRIDE];
  guint8 slow_from[LOOKUP_STRIDE]; /* table index to start from */
} StrideWork;

/* Chain walks (flows older than their slot's newest binding) from many
 * strides, walked together: each round of a walk waits for one miss per
 * entry, and a handful per stride would leave most of that wait
 * uncovered. */
#define CHAIN_QUEUE 256
typedef struct {
  guint n;
  guint32 e[CHAIN_QUEUE];  /* entry */
  guint32 id[CHAIN_QUEUE]; /* the binding to look at next */
} ChainQueue;

static inline void
work_slow (StrideWork *w, guint i, guint from)
{
  w->slow_i[w->n_slow] = (guint16) i;
  w->slow_from[w->n_slow++] = (guint8) from;
}

/* FLOWS: the entries are the sources and destinations of flows (entry
 * 2k and 2k+1: flow k's src and dst), results are written to their tags;
 * else a plain array of addresses with LeaseHit results. */
#define ENTRY_ADDR(io, e)                                                     \
  ((const NfsubAddr *) (FLOWS ? (io)->addrs + (gsize) ((e) >> 1) * sizeof (NfsubFlow) \
                                  + (gsize) ((e) & 1) * sizeof (NfsubAddr)    \
                              : (io)->addrs + (gsize) (e) * sizeof (NfsubAddr)))
#define ENTRY_WHEN(io, e)                                                     \
  (FLOWS ? lease_flow_time ((const NfsubFlow *) ((io)->addrs                  \
                                                 + (gsize) ((e) >> 1) * sizeof (NfsubFlow) \
                                                 - G_STRUCT_OFFSET (NfsubFlow, src))) \
         : (io)->whens[e])

static inline __attribute__ ((always_inline)) void
emit_hit (const LookupIO *io, guint e, const gboolean FLOWS, const char *key,
          guint32 user, guint8 service, guint8 user_class, guint8 access,
          guint32 binding)
{
  if (FLOWS)
    {
      NfsubSubscriberTag tag = { key, user, service, user_class, access, 0 };
      memcpy (io->tags + (gsize) (e >> 1) * io->tag_stride
                + (gsize) (e & 1) * sizeof tag,
              &tag, sizeof tag);
      io->found[e >> 1] |= (guint8) (1u << (e & 1));
    }
  else
    {
      LeaseHit *o = &io->out[e];
      o->key = key;
      o->user = user;
      o->service = service;
      o->user_class = user_class;
      o->access = access;
      o->reserved = 0;
      o->binding = binding;
    }
}

static inline __attribute__ ((always_inline)) void
emit_binding (const LookupTables *lt, const LookupIO *io, guint e,
              const gboolean FLOWS, guint32 id)
{
  const LeaseBinding *b = lt_binding (lt, id);
  emit_hit (io, e, FLOWS, lt->users[b->user].key, b->user, b->service,
            b->user_class, b->access, id);
}

/* Stages 1 and 2 up to the prefetches: what one stride issues while the
 * previous stride is finished. */
static inline __attribute__ ((always_inline)) void
stride_issue (const LookupTables *lt, const LookupIO *io, guint base,
              guint m, const gboolean FLOWS, StrideWork *wp)
{
  StrideWork *restrict w = wp;
  w->n_probe = w->n_slow = 0;
  guint16 cand[LOOKUP_STRIDE];
  guint8 cand_fam[LOOKUP_STRIDE];
  guint nc = 0;

  /* 1: prefilter */
  const guint64 *filter = lt->filter;
  for (guint i = 0; i < m; i++)
    {
      const NfsubAddr *a = ENTRY_ADDR (io, base + i);
      guint64 hi = a->hi, lo = a->lo;
      gsize bit = filter_index (hi, lo);
      cand[nc] = (guint16) i;
      cand_fam[nc] = bit >= FILTER_V6_BASE;
      nc += (filter[bit >> 6] >> (bit & 63)) & 1;
    }

  /* 2: hash and prefetch */
  for (guint k = 0; k < nc; k++)
    {
      guint i = cand[k], f = cand_fam[k];
      if (G_UNLIKELY (!lt->fast[f]))
        {
          if (lt->wide[f])
            work_slow (w, i, 0);
          continue;
        }
      const NfsubAddr *a = ENTRY_ADDR (io, base + i);
      guint64 key = (f ? a->hi : a->lo) & lt->key_mask[f];
      gsize j = (gsize) (hash64 (key) >> lt->shift[f]) & ~(gsize) 1;
      const Slot64 *line = &lt->slots[f][j];
      LOOKUP_PREFETCH (line);
      guint at = w->n_probe++;
      w->probe_i[at] = (guint16) i;
      w->probe_fam[at] = (guint8) f;
      w->probe_key[at] = key;
      w->probe_line[at] = line;
    }
}

/* Stages 3 and 4 for the queued chain walks. */
static inline __attribute__ ((always_inline)) void
chain_flush (LeaseTable *t, const LookupTables *lt, const LookupIO *io,
             const gboolean FLOWS, ChainQueue *cq)
{
  guint32 found_e[CHAIN_QUEUE], found_id[CHAIN_QUEUE];
  guint32 slow_e[CHAIN_QUEUE];
  guint n_found = 0, n_slow = 0, n = cq->n;
  while (n)
    {
      guint64 touched = 0;
      for (guint k = 0; k < n; k++)
        touched += lt_binding (lt, cq->id[k])->start;
      touch_done (touched);
      guint n_next = 0;
      for (guint k = 0; k < n; k++)
        {
          guint32 e = cq->e[k];
          const LeaseBinding *b = lt_binding (lt, cq->id[k]);
          guint32 when = ENTRY_WHEN (io, e);
          if (b->start <= when)
            {
              if (when < b->end)
                {
                  LOOKUP_PREFETCH (&lt->users[b->user]);
                  found_e[n_found] = e;
                  found_id[n_found++] = cq->id[k];
                }
              else
                slow_e[n_slow++] = e;
            }
          else if (b->next)
            {
              LOOKUP_PREFETCH (lt_binding (lt, b->next));
              cq->e[n_next] = e;
              cq->id[n_next++] = b->next;
            }
          else
            slow_e[n_slow++] = e;
        }
      n = n_next;
    }
  cq->n = 0;

  /* their users' keys */
  guint64 touched = 0;
  for (guint k = 0; k < n_found; k++)
    touched += lt->users[lt_binding (lt, found_id[k])->user].access;
  touch_done (touched);
  for (guint k = 0; k < n_found; k++)
    emit_binding (lt, io, found_e[k], FLOWS, found_id[k]);

  /* no binding of the longest prefix applies: the shorter ones */
  for (guint k = 0; k < n_slow; k++)
    {
      const NfsubAddr *a = ENTRY_ADDR (io, slow_e[k]);
      if (!lt->more[!nfsub_addr_is_v4 (a)])
        continue;
      guint32 id = lookup_from (t, a, ENTRY_WHEN (io, slow_e[k]), 1, NULL);
      if (id)
        emit_binding (lt, io, slow_e[k], FLOWS, id);
    }
}

/* The rest of a stride: probes, chains, users' keys, plain lookups. */
static inline __attribute__ ((always_inline)) void
stride_finish (LeaseTable *t, const LookupTables *lt, const LookupIO *io,
               guint base, const gboolean FLOWS, StrideWork *wp,
               ChainQueue *cq)
{
  StrideWork *restrict w = wp;
  guint n = w->n_probe;
  while (n)
    {
      guint64 touched = 0;
      for (guint k = 0; k < n; k++)
        touched += w->probe_line[k]->key;
      touch_done (touched);
      guint n_next = 0;
      for (guint k = 0; k < n; k++)
        {
          guint i = w->probe_i[k], f = w->probe_fam[k];
          guint64 key = w->probe_key[k];
          const Slot64 *line = w->probe_line[k];
          /* the home slot, its neighbour in the line, else the next line
           * (the list shrinks in place as entries finish); which of the
           * two holds the key is a coin toss, so it is chosen without a
           * branch */
          guint used0 = line[0].h.head != 0, used1 = line[1].h.head != 0;
          guint at0 = used0 & (line[0].key == key);
          guint at1 = used0 & used1 & (line[1].key == key);
          const SlotHead *h = &line[at0 ^ 1].h;
          if (G_UNLIKELY (!(at0 | at1)))
            {
              if (used0 & used1)
                {
                  gsize next = (gsize) (line - lt->slots[f] + 2) & lt->slot_mask[f];
                  LOOKUP_PREFETCH (&lt->slots[f][next]);
                  w->probe_i[n_next] = (guint16) i;
                  w->probe_fam[n_next] = (guint8) f;
                  w->probe_key[n_next] = key;
                  w->probe_line[n_next++] = &lt->slots[f][next];
                }
              else if (lt->more[f])
                work_slow (w, i, 1);
              continue;
            }
          guint32 when = ENTRY_WHEN (io, base + i);
          if (G_LIKELY (h->start <= when))
            {
              if (G_LIKELY (when < h->end))
                emit_hit (io, base + i, FLOWS, h->key, h->user & USER_ID_MASK,
                          (h->user >> 26) & 3, (h->user >> 28) & 3,
                          h->user >> 30, h->head);
              else if (lt->more[f])
                work_slow (w, i, 1);
            }
          else
            {
              /* the flow is older than the newest binding */
              if (cq->n == CHAIN_QUEUE)
                chain_flush (t, lt, io, FLOWS, cq);
              LOOKUP_PREFETCH (lt_binding (lt, h->head));
              cq->e[cq->n] = base + i;
              cq->id[cq->n++] = h->head;
            }
        }
      n = n_next;
    }

  for (guint k = 0; k < w->n_slow; k++)
    {
      guint i = w->slow_i[k];
      guint32 id = lookup_from (t, ENTRY_ADDR (io, base + i),
                                ENTRY_WHEN (io, base + i), w->slow_from[k],
                                NULL);
      if (id)
        emit_binding (lt, io, base + i, FLOWS, id);
    }
}

/* The misses of the next LOOKUP_DEPTH strides are issued before a
 * stride is finished, so they are in flight while its probes run. */
static inline __attribute__ ((always_inline)) void
lookup_pipeline (LeaseTable *t, const LookupTables *lt, const LookupIO *io,
                 guint n, const gboolean FLOWS)
{
  StrideWork work[LOOKUP_DEPTH + 1];
  ChainQueue chains;
  chains.n = 0;
  guint issued = 0, slot = 0;
  for (guint d = 0; d < LOOKUP_DEPTH && issued < n; d++)
    {
      stride_issue (lt, io, issued, MIN (LOOKUP_STRIDE, n - issued), FLOWS,
                    &work[d]);
      issued += LOOKUP_STRIDE;
    }
  for (guint base = 0; base < n; base += LOOKUP_STRIDE)
    {
      if (issued < n)
        {
          stride_issue (lt, io, issued, MIN (LOOKUP_STRIDE, n - issued),
                        FLOWS, &work[(slot + LOOKUP_DEPTH) % (LOOKUP_DEPTH + 1)]);
          issued += LOOKUP_STRIDE;
        }
      stride_finish (t, lt, io, base, FLOWS, &work[slot], &chains);
      slot = (slot + 1) % (LOOKUP_DEPTH + 1);
    }
  chain_flush (t, lt, io, FLOWS, &chains);
}

void
lease_table_tag_flows (LeaseTable *t, guint n, NfsubFlow *flows,
                       guint8 *found)
{
  LookupTables lt;
  lookup_tables_init (t, &lt);
  /* entry 2k: flow k's source, 2k + 1: its destination */
  G_STATIC_ASSERT (G_STRUCT_OFFSET (NfsubFlow, dst)
                   == G_STRUCT_OFFSET (NfsubFlow, src) + sizeof (NfsubAddr));
  G_STATIC_ASSERT (G_STRUCT_OFFSET (NfsubFlow, dst_tag)
                   == G_STRUCT_OFFSET (NfsubFlow, src_tag)
                        + sizeof (NfsubSubscriberTag));
  LookupIO io = { (const guint8 *) &flows[0].src, NULL, NULL,
                  (guint8 *) &flows[0].src_tag, sizeof (NfsubFlow), found };
  lookup_pipeline (t, &lt, &io, 2 * n, TRUE);
}

void
lease_table_lookup_many (LeaseTable *t, guint n, const NfsubAddr *addrs,
                         const guint32 *whens, LeaseHit *out)
{
  LookupTables lt;
  lookup_tables_init (t, &lt);
  for (guint i = 0; i < n; i++)
    out[i] = (LeaseHit) { NULL, 0, 0, 0, 0, 0, 0 };
  LookupIO io = { (const guint8 *) addrs, whens, out, NULL, 0, NULL };
  lookup_pipeline (t, &lt, &io, n, FALSE);
}

/* ---- users ---- */

static void
user_index_insert (LeaseTable *t, guint32 hash, guint32 id)
{
  gsize mask = ((gsize) 1 << t->user_bits) - 1;
  gsize j = (gsize) (hash64 (hash) >> (64 - t->user_bits));
  while (t->user_index[j].id)
    j = (j + 1) & mask;
  t->user_index[j].hash = hash;
  t->user_index[j].id = id;
}

guint32
lease_table_find_user (LeaseTable *t, const char *key)
{
  guint32 h = hash_string (key);
  gsize mask = ((gsize) 1 << t->user_bits) - 1;
  for (gsize j = (gsize) (hash64 (h) >> (64 - t->user_bits));;
       j = (j + 1) & mask)
    {
      UserSlot *s = &t->user_index[j];
      if (s->id == 0)
        return 0;
      if (s->hash == h && strcmp (t->users[s->id].key, key) == 0)
        return s->id;
    }
}

guint32
lease_table_intern_user (LeaseTable *t, const char *key, guint8 service,
                         guint8 user_class, guint8 access)
{
  guint32 id = lease_table_find_user (t, key);
  if (!id)
    {
      if ((gsize) (t->n_users + 1) * 10 > ((gsize) 1 << t->user_bits) * 7)
        {
          UserSlot *old = t->user_index;
          gsize old_n = (gsize) 1 << t->user_bits;
          t->user_bits++;
          t->user_index = big_alloc0 (sizeof (UserSlot) << t->user_bits);
          for (gsize i = 0; i < old_n; i++)
            if (old[i].id)
              user_index_insert (t, old[i].hash, old[i].id);
          big_free (old, sizeof (UserSlot) * old_n);
        }
      if (t->n_users + 1 >= t->cap_users)
        {
          guint32 old_cap = t->cap_users;
          t->cap_users = t->cap_users ? t->cap_users * 2 : 1024;
          t->users = big_realloc (t->users, sizeof (LeaseUser) * old_cap,
                                  sizeof (LeaseUser) * t->cap_users);
        }
      if (t->n_users >= LEASE_MAX_USERS)
        g_error ("subscriber: more than %u users", LEASE_MAX_USERS);
      id = ++t->n_users;
      LeaseUser *u = &t->users[id];
      memset (u, 0, sizeof *u);
      u->key = g_string_chunk_insert (t->keys, key);
      t->key_bytes += strlen (key) + 1;
      user_index_insert (t, hash_string (key), id);
    }
  LeaseUser *u = &t->users[id];
  if (service)
    u->service = service;
  if (user_class)
    u->user_class = user_class;
  if (access)
    u->access = access;
  return id;
}

const LeaseUser *
lease_table_user (LeaseTable *t, guint32 id)
{
  g_return_val_if_fail (id >= 1 && id <= t->n_users, NULL);
  return &t->users[id];
}

guint32
lease_table_n_users (LeaseTable *t)
{
  return t->n_users;
}

/* ---- life ---- */

LeaseTable *
lease_table_new (void)
{
  LeaseTable *t = g_new0 (LeaseTable, 1);
  t->tables[0] = g_ptr_array_new_with_free_func (prefix_table_free);
  t->tables[1] = g_ptr_array_new_with_free_func (prefix_table_free);
  t->by_id[0] = g_ptr_array_new ();
  t->by_id[1] = g_ptr_array_new ();
  t->filter = g_new0 (guint64, FILTER_BITS / 64);
  t->user_bits = 10;
  t->user_index = big_alloc0 (sizeof (UserSlot) << t->user_bits);
  t->keys = g_string_chunk_new (64 * 1024);
  return t;
}

void
lease_table_free (LeaseTable *t)
{
  if (!t)
    return;
  g_ptr_array_unref (t->tables[0]);
  g_ptr_array_unref (t->tables[1]);
  g_ptr_array_unref (t->by_id[0]);
  g_ptr_array_unref (t->by_id[1]);
  big_free (t->dyn.v, sizeof (LeaseBinding) * t->dyn.cap);
  big_free (t->stat.v, sizeof (LeaseBinding) * t->stat.cap);
  big_free (t->users, sizeof (LeaseUser) * t->cap_users);
  big_free (t->user_index, sizeof (UserSlot) << t->user_bits);
  g_free (t->filter);
  G_LOCK (retired_key_chunks);
  if (!retired_key_chunks)
    retired_key_chunks = g_ptr_array_new ();
  g_ptr_array_add (retired_key_chunks, t->keys);
  G_UNLOCK (retired_key_chunks);
  g_free (t);
}

void
lease_table_foreach (LeaseTable *t, LeaseTableForeachFunc fn, gpointer data)
{
  for (int f = 0; f < 2; f++)
    {
      GPtrArray *list = t->tables[f];
      for (guint i = 0; i < list->len; i++)
        {
          PrefixTable *pt = list->pdata[i];
          gsize n = (gsize) 1 << pt->bits;
          LeasePrefix p = { { 0, 0 }, pt->family, pt->plen };
          for (gsize j = 0; j < n; j++)
            {
              guint32 head;
              if (pt->wide)
                {
                  head = pt->s128[j].h.head;
                  p.addr.hi = pt->s128[j].hi;
                  p.addr.lo = pt->s128[j].lo;
                }
              else
                {
                  head = pt->s64[j].h.head;
                  if (pt->family == 4)
                    p.addr = nfsub_addr_from_v4 ((guint32) pt->s64[j].key);
                  else
                    p.addr.hi = pt->s64[j].key, p.addr.lo = 0;
                }
              if (head)
                fn (&p, (LeaseKind) pt->kind, head, data);
            }
        }
    }
}

gsize
lease_table_memory (LeaseTable *t)
{
  gsize total = sizeof *t + FILTER_BITS / 8;
  for (int f = 0; f < 2; f++)
    for (guint i = 0; i < t->tables[f]->len; i++)
      {
        PrefixTable *pt = t->tables[f]->pdata[i];
        total += ((gsize) 1 << pt->bits)
                 * (pt->wide ? sizeof (Slot128) : sizeof (Slot64));
      }
  total += (gsize) (t->dyn.cap + t->stat.cap) * sizeof (LeaseBinding);
  total += (gsize) t->cap_users * sizeof (LeaseUser);
  total += ((gsize) 1 << t->user_bits) * sizeof (UserSlot);
  total += t->key_bytes;
  return total;
}
