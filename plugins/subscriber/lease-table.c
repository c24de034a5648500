/* subscriber: time-aware LPM table (see lease-table.h). */
#include "config.h"

#include <string.h>
#include <sys/mman.h>

#include "lease-table.h"

/* Static bindings live in their own array, told apart by the top bit of
 * the id, so clearing them leaves the dynamic ids intact. */
#define STATIC_ID_BIT 0x80000000u

/* A hash slot: the key's newest binding (its chain follows the
 * bindings' `next`).  The copy of the newest binding that the tagging of
 * a flow reads lives in the hot index (below), or, for a table that has
 * none, is read from the binding itself. */
typedef struct {
  guint32 head;        /* newest binding, 0: empty slot */
  guint32 unused;
} SlotHead;

/* A packed user: user id | service << 26 | class << 28 | access << 30 */
#define USER_ID_MASK ((1u << 26) - 1)

typedef struct {
  guint64 key;
  SlotHead h;
} Slot64;

typedef struct {
  guint64 hi, lo;
  SlotHead h;
} Slot128;

typedef struct PrefixTable {
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

/* The hot index: the longest table of a family (64-bit keys, /16 or
 * longer) mirrored into pages of HOT_PAGE consecutive prefixes, when its
 * keys are dense enough (address pools are), so that tagging a flow end
 * finds its newest binding's times, user and key text with one 16-byte
 * read at an address computed from the prefix, without a hash probe or
 * a key compare.  A directory (a small hash table, page number ->
 * page) stays in cache.  Entries are 16 bytes, 4 to a line; the pages of
 * a dense pool are a fraction of the hash table's size, so more of them
 * stay in the caches. */
#define HOT_PAGE_BITS 8
#define HOT_PAGE (1u << HOT_PAGE_BITS)
#define HOT_MIN_PLEN 16
/* pages may hold at most this many entries per key */
#define HOT_MAX_SPREAD 4

typedef struct {
  guint32 start, end;
  guint32 user;    /* packed; 0: no key here */
  guint32 key_ref; /* the user's key text */
} HotEntry;

typedef struct {
  guint64 page;    /* page number + 1, 0: empty */
  guint64 first;   /* index of the page's first entry */
} HotDir;

typedef struct {
  struct PrefixTable *pt; /* the table mirrored, NULL: none */
  guint8 shift;           /* prefix number = key >> shift */
  guint dir_bits;
  gsize dir_used;
  HotDir *dir;
  HotEntry *entries;      /* pairs: the newest binding of a key and the
                             one behind it (same cache line) */
  guint32 *seconds;       /* the id of the one behind */
  gsize n_pages, cap_pages;
  /* When the pages lie close together (one pool, or pools near each
   * other), a direct table over their range replaces the directory's
   * hash probe: page - page_min -> page index, 0: none (page 0 of the
   * entries is kept empty, so "none" reads as entries that never
   * apply, without a branch); entry [span] is 0 for every page outside
   * the range.  Rebuilt before a batch when pages were added. */
  guint32 *direct;
  guint64 page_min;
  gsize span;
  gboolean direct_stale;
  /* the table last decided about and its size then: decided again when
   * the longest table changes or its keys have doubled */
  struct PrefixTable *tried;
  gsize tried_keys;
} HotIndex;

/* Key text: chunks that never move (key pointers are handed out), a
 * key's place packed in 32 bits for the hot entries. */
#define KEY_CHUNK_BITS 22
#define KEY_CHUNK_MAX ((gsize) 1 << KEY_CHUNK_BITS)
#define KEY_CHUNKS_MAX (1u << (32 - KEY_CHUNK_BITS))

struct LeaseTable {
  /* per family, sorted by plen descending, dynamic before static */
  GPtrArray *tables[2]; /* [0] IPv4, [1] IPv6 */
  GPtrArray *by_id[2];  /* per kind: table id -> table (not owned) */
  BindingArray dyn, stat;

  LeaseUser *users; /* users[0] unused */
  guint32 n_users, cap_users;
  UserSlot *user_index;
  guint user_bits;
  GPtrArray *key_chunks; /* char * */
  gsize key_fill;        /* bytes used of the last chunk */
  gsize key_bytes;

  HotIndex hot[2];

  /* A coarse prefilter so that the many lookups of non-subscriber
   * addresses (the Internet end of every flow) stop before anything
   * else: one bitmap of FILTER_BITS bits that an address selects by its
   * first 32 bits (an IPv6 /32), or, when its first 64 bits are zero
   * (IPv4-mapped), by bits 16..47 of the second half (0xffff and the
   * IPv4 /16).  A bit is set while a bound prefix may hold an address
   * that selects it; different /32s and /16s share bits, which only lets
   * a few more addresses through. */
  guint64 *filter; /* FILTER_BITS bits */
};

#define FILTER_BITS (1u << 20)

/* The filter bit of an address (no branch: the family is a coin toss) */
static inline gsize
filter_index (guint64 hi, guint64 lo)
{
  guint64 v4 = -(guint64) (hi == 0);
  return (gsize) (((hi >> 32) ^ ((lo >> 16) & v4)) & (FILTER_BITS - 1));
}


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
  /* aligned to a huge page (else the kernel can back only its middle
   * with huge pages): map more, unmap the ends */
  void *m = mmap (NULL, bytes + HUGE_FROM, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED)
    g_error ("subscriber: out of memory (%zu bytes)", bytes);
  guintptr start = ((guintptr) m + HUGE_FROM - 1) & ~(guintptr) (HUGE_FROM - 1);
  if (start > (guintptr) m)
    munmap (m, start - (guintptr) m);
  gsize len = (bytes + 4095) & ~(gsize) 4095; /* what munmap will free */
  if ((guintptr) m + HUGE_FROM > start + (len - bytes))
    munmap ((void *) (start + len), (guintptr) m + HUGE_FROM - start - (len - bytes));
  void *p = (void *) start;
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
/* in LeaseBinding.slot: the binding is the one behind its key's newest */
#define SECOND_BIT 0x80000000u

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
        {
          LeaseBinding *b = binding_get (t, h->head);
          b->slot = (guint32) j;
          if (b->next)
            binding_get (t, b->next)->slot = (guint32) j | SECOND_BIT;
        }
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
      first = filter_index (p->addr.hi, p->addr.lo);
      count = p->plen >= 16 ? 1 : (gsize) 1 << (16 - p->plen);
    }
  else if (p->plen >= 32 && (p->addr.hi >> 32) != 0)
    first = filter_index (p->addr.hi, p->addr.lo), count = 1;
  else
    {
      /* a prefix shorter than /32, or one whose addresses may have a
       * first half of zero: any address may be bound */
      memset (t->filter, 0xff, FILTER_BITS / 8);
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

/* ---- hot index ---- */

static void
hot_clear (HotIndex *h)
{
  big_free (h->dir, sizeof (HotDir) << h->dir_bits);
  big_free (h->entries, 2 * sizeof (HotEntry) * HOT_PAGE * h->cap_pages);
  big_free (h->seconds, sizeof (guint32) * HOT_PAGE * h->cap_pages);
  g_free (h->direct);
  h->direct = NULL;
  h->span = 0;
  h->direct_stale = FALSE;
  h->pt = NULL;
  h->dir = NULL;
  h->entries = NULL;
  h->seconds = NULL;
  h->dir_bits = 0;
  h->dir_used = h->n_pages = h->cap_pages = 0;
}

static inline guint64
hot_prefix_number (const HotIndex *h, guint64 key)
{
  return key >> h->shift;
}

/* The index of a page's first entry, G_MAXSIZE: no such page. */
static inline gsize
hot_dir_find (const HotDir *dir, guint dir_bits, guint64 page)
{
  gsize mask = ((gsize) 1 << dir_bits) - 1;
  for (gsize j = (gsize) (hash64 (page) >> (64 - dir_bits));;
       j = (j + 1) & mask)
    {
      if (dir[j].page == page + 1)
        return (gsize) dir[j].first;
      if (dir[j].page == 0)
        return G_MAXSIZE;
    }
}

static void
hot_dir_insert (HotDir *dir, guint dir_bits, guint64 page, guint64 first)
{
  gsize mask = ((gsize) 1 << dir_bits) - 1;
  gsize j = (gsize) (hash64 (page) >> (64 - dir_bits));
  while (dir[j].page)
    j = (j + 1) & mask;
  dir[j].page = page + 1;
  dir[j].first = first;
}

/* The entry of a prefix number, creating its page; NULL when the index
 * has just been given up (too sparse). */
static gsize
hot_entry_index (HotIndex *h, guint64 pn)
{
  guint64 page = pn >> HOT_PAGE_BITS;
  gsize first = h->dir ? hot_dir_find (h->dir, h->dir_bits, page) : G_MAXSIZE;
  if (first != G_MAXSIZE)
    return first + (gsize) (pn & (HOT_PAGE - 1));
  if ((h->n_pages + 1) * HOT_PAGE
      > HOT_MAX_SPREAD * (h->pt->used + HOT_PAGE))
    return G_MAXSIZE;
  if (h->n_pages == 0)
    h->n_pages = 1; /* page 0 stays empty: "no page" of the direct table */
  if (h->n_pages >= h->cap_pages)
    {
      gsize cap = h->cap_pages ? h->cap_pages * 2 : 16;
      h->entries = big_realloc (h->entries,
                                2 * sizeof (HotEntry) * HOT_PAGE * h->cap_pages,
                                2 * sizeof (HotEntry) * HOT_PAGE * cap);
      h->seconds = big_realloc (h->seconds,
                              sizeof (guint32) * HOT_PAGE * h->cap_pages,
                              sizeof (guint32) * HOT_PAGE * cap);
      h->cap_pages = cap;
    }
  if (!h->dir || (h->dir_used + 1) * 2 > ((gsize) 1 << h->dir_bits))
    {
      guint bits = h->dir ? h->dir_bits + 1 : 6;
      HotDir *dir = big_alloc0 (sizeof (HotDir) << bits);
      if (h->dir)
        for (gsize j = 0; j < ((gsize) 1 << h->dir_bits); j++)
          if (h->dir[j].page)
            hot_dir_insert (dir, bits, h->dir[j].page - 1, h->dir[j].first);
      big_free (h->dir, sizeof (HotDir) << h->dir_bits);
      h->dir = dir;
      h->dir_bits = bits;
    }
  first = h->n_pages++ * HOT_PAGE;
  hot_dir_insert (h->dir, h->dir_bits, page, first);
  h->dir_used++;
  h->direct_stale = TRUE;
  return first + (gsize) (pn & (HOT_PAGE - 1));
}

static inline guint64
key64_of (const PrefixTable *pt, const NfsubAddr *a);

/* The entry of a key the index holds. */
static gsize
hot_index_of (const HotIndex *h, guint64 key)
{
  guint64 pn = hot_prefix_number (h, key);
  gsize first = hot_dir_find (h->dir, h->dir_bits, pn >> HOT_PAGE_BITS);
  g_assert (first != G_MAXSIZE);
  return first + (gsize) (pn & (HOT_PAGE - 1));
}

/* Entry i's key has `id` (0: none) behind its newest binding. */
static void
hot_set_second (LeaseTable *t, HotIndex *h, gsize i, guint32 id)
{
  h->seconds[i] = id;
  if (id)
    {
      const LeaseBinding *b = binding_get (t, id);
      h->entries[2 * i + 1] = (HotEntry) { b->start, b->end, pack_user (b),
                                           b->key_ref };
    }
  else
    h->entries[2 * i + 1] = (HotEntry) { 0, 0, 0, 0 };
}

/* A key of the mirrored table got a new newest binding. */
static void
hot_set (LeaseTable *t, HotIndex *h, guint64 key, guint32 head)
{
  gsize i = hot_entry_index (h, hot_prefix_number (h, key));
  if (i == G_MAXSIZE)
    {
      /* too sparse: tagging takes the hash table */
      h->tried = h->pt;
      h->tried_keys = h->pt->used;
      hot_clear (h);
      return;
    }
  const LeaseBinding *b = binding_get (t, head);
  h->entries[2 * i] = (HotEntry) { b->start, b->end, pack_user (b),
                               b->key_ref };
  hot_set_second (t, h, i, b->next);
}

/* The table tagging should mirror for family f, NULL: none. */
static PrefixTable *
hot_candidate (LeaseTable *t, int f)
{
  GPtrArray *list = t->tables[f];
  if (list->len == 0)
    return NULL;
  PrefixTable *pt = list->pdata[0];
  if (pt->wide || pt->plen < HOT_MIN_PLEN)
    return NULL;
  return pt;
}

static void
hot_direct_rebuild (HotIndex *h)
{
  g_free (h->direct);
  h->direct = NULL;
  h->span = 0;
  h->direct_stale = FALSE;
  guint64 lo = G_MAXUINT64, hi = 0;
  gsize n = (gsize) 1 << h->dir_bits;
  for (gsize j = 0; j < n; j++)
    if (h->dir[j].page)
      {
        lo = MIN (lo, h->dir[j].page - 1);
        hi = MAX (hi, h->dir[j].page - 1);
      }
  if (lo > hi || hi - lo >= 4 * (guint64) h->n_pages + 64)
    return;
  h->page_min = lo;
  h->span = (gsize) (hi - lo + 1);
  h->direct = g_new0 (guint32, h->span + 1);
  for (gsize j = 0; j < n; j++)
    if (h->dir[j].page)
      h->direct[h->dir[j].page - 1 - lo]
        = (guint32) (h->dir[j].first / HOT_PAGE);
}

/* Brings the hot index of family f in line with its longest table
 * (before a batch is tagged: tables change between batches). */
static void
hot_refresh (LeaseTable *t, int f)
{
  HotIndex *h = &t->hot[f];
  PrefixTable *want = hot_candidate (t, f);
  if (h->pt == want && want)
    {
      if (h->direct_stale)
        hot_direct_rebuild (h);
      return;
    }
  if (h->pt)
    hot_clear (h);
  if (!want || (want == h->tried && want->used < 2 * h->tried_keys))
    return;
  h->pt = want;
  h->tried = want;
  h->tried_keys = want->used;
  h->shift = (guint8) ((f == 0 ? 32 : 64) - want->plen);
  gsize n = (gsize) 1 << want->bits;
  for (gsize j = 0; j < n && h->pt; j++)
    if (want->s64[j].h.head)
      hot_set (t, h, want->s64[j].key, want->s64[j].h.head);
  if (h->pt)
    hot_direct_rebuild (h);
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
                     u->access & 3, NO_TABLE, 0, u->key_ref };
  BindingArray *arr = kind == LEASE_STATIC ? &t->stat : &t->dyn;
  guint32 id = binding_array_push (arr, &b);
  if (kind == LEASE_STATIC)
    id |= STATIC_ID_BIT;

  /* keep the chain sorted by start, newest first; ties: the later added
   * goes first (it is the newer information) */
  if (h->head == 0 || binding_get (t, h->head)->start <= start)
    {
      /* the newest and the one behind it know their slot */
      if (h->head)
        {
          LeaseBinding *old = binding_get (t, h->head);
          if (old->next)
            binding_get (t, old->next)->table = NO_TABLE;
          old->slot = (guint32) index | SECOND_BIT;
        }
      LeaseBinding *nb = binding_get (t, id);
      nb->next = h->head;
      nb->table = pt->id;
      nb->slot = (guint32) index;
      h->head = id;
      HotIndex *hot = &t->hot[p->family == 4 ? 0 : 1];
      if (hot->pt == pt)
        hot_set (t, hot, pt->s64[index].key, id);
    }
  else
    {
      guint32 *link = &binding_get (t, h->head)->next;
      gboolean second = TRUE;
      while (*link && binding_get (t, *link)->start > start)
        {
          link = &binding_get (t, *link)->next;
          second = FALSE;
        }
      LeaseBinding *nb = binding_get (t, id);
      nb->next = *link;
      *link = id;
      if (second)
        {
          if (nb->next)
            binding_get (t, nb->next)->table = NO_TABLE;
          nb->table = pt->id;
          nb->slot = (guint32) index | SECOND_BIT;
          HotIndex *hot = &t->hot[p->family == 4 ? 0 : 1];
          if (hot->pt == pt)
            hot_set_second (t, hot, hot_index_of (hot, pt->s64[index].key), id);
        }
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
      /* the newest binding of its key or the one behind it: the hot
       * index's copy */
      PrefixTable *pt = t->by_id[(id & STATIC_ID_BIT) ? LEASE_STATIC
                                                      : LEASE_DYNAMIC]
                          ->pdata[b->table];
      HotIndex *h = &t->hot[pt->family == 4 ? 0 : 1];
      if (h->pt == pt)
        {
          gsize i = hot_index_of (h, pt->s64[b->slot & ~SECOND_BIT].key);
          if (b->slot & SECOND_BIT)
            h->entries[2 * i + 1].end = end;
          else
            h->entries[2 * i].end = end;
        }
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
      /* its table may go: rebuilt before the next batch */
      hot_clear (&t->hot[f]);
      t->hot[f].tried = NULL;
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
  for (guint32 id = h->head; id; id = binding_get (t, id)->next)
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

/* Tagging a batch of flows is a software pipeline over strides of
 * TAG_STRIDE flows.  Each stage first issues the loads of every end that
 * needs one and only then reads what it loaded, so the cache misses of a
 * stride overlap instead of queueing one after another, and the misses
 * of stride k+1 are issued before stride k is finished:
 *   1. per flow: its time, converted once for both ends, and the
 *      prefilter of both ends (one bit per IPv4 /16 or IPv6 /32, no
 *      branches: whether an end passes is a coin toss);
 *   2. per end that passed: the prefix number in its family's hot index
 *      (a direct range or a directory probe, both in cache; a missing
 *      page reads the empty page 0), prefetch the pair; or, for a family
 *      without a hot index, hash the key and prefetch its hash line (the
 *      usual case, every family hot over a direct range, is compiled
 *      apart: tag_issue_with);
 *   3. read the pairs: the usual case (the newest binding applies) writes
 *      the tag in place; a flow older than the newest binding is answered
 *      by the second half of the pair, or queued, and the queued chain
 *      walks of many strides go one binding per round together (a loop
 *      of plain loads first there, as for the hash lines: on some
 *      machines software prefetches are dropped); a hash probe's key
 *      also goes to that queue;
 *   4. anything else (shorter prefixes behind a longest one that has no
 *      applicable binding, 128-bit keys) takes the one-address lookup. */
#ifndef TAG_STRIDE
#define TAG_STRIDE 16
#endif
/* strides issued ahead of the one being finished */
#ifndef TAG_DEPTH
#define TAG_DEPTH 1
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
 * stores of tags could alias the table's fields otherwise.  [0] IPv4,
 * [1] IPv6. */
typedef struct {
  const guint64 *filter;
  guint8 hot[2];       /* the longest table has a hot index */
  guint8 fast[2];      /* else its hash table has 64-bit keys */
  guint8 wide[2];      /* the longest table has 128-bit keys */
  guint8 more[2];      /* shorter tables follow */
  guint8 shift[2];     /* hash table: 64 - log2 (slots) */
  guint8 hot_shift[2]; /* prefix number = key >> hot_shift */
  guint8 dir_shift[2]; /* 64 - log2 (directory slots) */
  const guint32 *direct[2];
  guint64 page_min[2];
  gsize span[2];
  gsize dir_mask[2];
  const HotDir *dir[2];
  const HotEntry *entries[2]; /* pairs: newest, the one behind it */
  const guint32 *seconds[2];
  const Slot64 *slots[2];
  gsize slot_mask[2];
  guint64 key_mask[2]; /* IPv4: of the low half; IPv6: of the high */
  char *const *key_chunks;
  const LeaseBinding *dyn, *stat;
  const LeaseUser *users;
  /* every family's longest table has a hot index over a direct range
   * (a family without tables reads the empty ones below) */
  gboolean all_direct;
} LookupTables;

static const guint32 no_direct[1];
static const HotEntry no_entries[2 * HOT_PAGE];

static void
lookup_tables_init (LeaseTable *t, LookupTables *lt)
{
  memset (lt, 0, sizeof *lt);
  lt->filter = t->filter;
  for (int f = 0; f < 2; f++)
    {
      hot_refresh (t, f);
      GPtrArray *list = t->tables[f];
      if (list->len == 0)
        continue;
      PrefixTable *pt = list->pdata[0];
      lt->more[f] = list->len > 1;
      lt->wide[f] = pt->wide;
      if (pt->wide)
        continue;
      lt->key_mask[f] = f ? pt->mask_hi : pt->mask_lo & 0xffffffffu;
      const HotIndex *h = &t->hot[f];
      if (h->pt == pt)
        {
          lt->hot[f] = TRUE;
          lt->hot_shift[f] = h->shift;
          lt->dir_shift[f] = (guint8) (64 - h->dir_bits);
          lt->dir_mask[f] = ((gsize) 1 << h->dir_bits) - 1;
          lt->dir[f] = h->dir;
          lt->direct[f] = h->direct;
          lt->page_min[f] = h->page_min;
          lt->span[f] = h->span;
          lt->entries[f] = h->entries;
          lt->seconds[f] = h->seconds;
          continue;
        }
      lt->fast[f] = TRUE;
      lt->slots[f] = pt->s64;
      lt->shift[f] = (guint8) (64 - pt->bits);
      lt->slot_mask[f] = ((gsize) 1 << pt->bits) - 1;
    }
  lt->all_direct = TRUE;
  for (int f = 0; f < 2; f++)
    if (t->tables[f]->len == 0)
      {
        /* its addresses may still pass the prefilter (shared bits) */
        lt->direct[f] = no_direct;
        lt->entries[f] = no_entries;
        lt->span[f] = 0;
      }
    else if (!lt->hot[f] || !lt->direct[f])
      lt->all_direct = FALSE;
  lt->key_chunks = (char *const *) t->key_chunks->pdata;
  lt->dyn = t->dyn.v;
  lt->stat = t->stat.v;
  lt->users = t->users;
}

static inline const LeaseBinding *
lt_binding (const LookupTables *lt, guint32 id)
{
  return (id & STATIC_ID_BIT) ? &lt->stat[id & ~STATIC_ID_BIT] : &lt->dyn[id];
}

/* The flows of a batch; end 2k is flow k's source, 2k + 1 its
 * destination. */
typedef struct {
  NfsubFlow *flows;
  guint8 *found;
} TagIO;

static inline const NfsubAddr *
end_addr (const TagIO *io, gsize e)
{
  const NfsubFlow *f = &io->flows[e >> 1];
  return (e & 1) ? &f->dst : &f->src;
}

static inline guint32
end_when (const TagIO *io, gsize e)
{
  return lease_flow_time (&io->flows[e >> 1]);
}

/* The tag's second word (user id, service, class, access) from a packed
 * user: its six attribute bits index a table. */
static guint64 tag_attr_word[64];

static void
tag_attr_word_init (void)
{
  static gsize done;
  if (g_once_init_enter (&done))
    {
      for (guint v = 0; v < 64; v++)
        {
          NfsubSubscriberTag tag = { NULL, 0, v & 3, (v >> 2) & 3, v >> 4, 0 };
          memcpy (&tag_attr_word[v], (const char *) &tag + sizeof (const char *),
                  sizeof (guint64));
        }
      g_once_init_leave (&done, 1);
    }
}

static inline void
store_tag (NfsubSubscriberTag *tag, const char *key, guint32 packed_user)
{
  G_STATIC_ASSERT (sizeof (NfsubSubscriberTag) == 2 * sizeof (guint64));
  guint64 word[2] = { (guint64) (guintptr) key,
                      (packed_user & USER_ID_MASK) | tag_attr_word[packed_user >> 26] };
  memcpy (tag, word, sizeof word);
}

static inline void
emit_tag (const TagIO *io, gsize e, const char *key, guint32 packed_user)
{
  NfsubFlow *f = &io->flows[e >> 1];
  store_tag ((e & 1) ? &f->dst_tag : &f->src_tag, key, packed_user);
  io->found[e >> 1] |= (guint8) (1u << (e & 1));
}

/* An end's tag from its address: the ends and their tags lie in the same
 * order and distance in a flow. */
G_STATIC_ASSERT (G_STRUCT_OFFSET (NfsubFlow, dst) - G_STRUCT_OFFSET (NfsubFlow, src)
                 == G_STRUCT_OFFSET (NfsubFlow, dst_tag)
                      - G_STRUCT_OFFSET (NfsubFlow, src_tag));

static inline NfsubSubscriberTag *
end_tag (const NfsubAddr *a)
{
  return (NfsubSubscriberTag *) ((char *) a + (G_STRUCT_OFFSET (NfsubFlow, src_tag)
                                               - G_STRUCT_OFFSET (NfsubFlow, src)));
}

static inline const char *
lt_key (const LookupTables *lt, guint32 key_ref)
{
  return lt->key_chunks[key_ref >> KEY_CHUNK_BITS]
         + (key_ref & (KEY_CHUNK_MAX - 1));
}

static inline void
emit_binding (const LookupTables *lt, const TagIO *io, gsize e, guint32 id)
{
  const LeaseBinding *b = lt_binding (lt, id);
  emit_tag (io, e, lt_key (lt, b->key_ref), pack_user (b));
}

/* Chain walks (flows older than their key's newest binding, and every
 * key found in a hash table) from many strides, walked together: each
 * round of a walk waits for one miss per entry, and a handful per stride
 * would leave most of that wait uncovered. */
#define CHAIN_QUEUE 256
typedef struct {
  guint n;
  guint32 e[CHAIN_QUEUE];  /* end in the batch */
  guint32 id[CHAIN_QUEUE]; /* the binding to look at next, 0: hot entry */
  const HotEntry *cold_at[CHAIN_QUEUE];  /* its copy of the second binding */
  const guint32 *second_at[CHAIN_QUEUE]; /* and that binding's id */
} ChainQueue;

static void
chain_flush (LeaseTable *t, const LookupTables *lt, const TagIO *io,
             ChainQueue *cq)
{
  guint32 found_e[CHAIN_QUEUE], found_id[CHAIN_QUEUE];
  guint32 slow_e[CHAIN_QUEUE];
  guint n_found = 0, n_slow = 0, n = 0;
  /* hot entries: the copy of the binding behind the newest answers
   * most (read together: their loads overlap); older flows walk on from
   * that binding */
  guint64 touched = 0;
  for (guint k = 0; k < cq->n; k++)
    touched += cq->id[k] ? 0 : cq->cold_at[k]->start;
  touch_done (touched);
  for (guint k = 0; k < cq->n; k++)
    {
      guint32 id = cq->id[k];
      if (!id)
        {
          const HotEntry *ce = cq->cold_at[k];
          guint32 when = end_when (io, cq->e[k]);
          if (ce->start <= when)
            {
              /* none behind the newest: 0 .. 0, never applies */
              if (when < ce->end)
                emit_tag (io, cq->e[k], lt_key (lt, ce->key_ref), ce->user);
              else
                slow_e[n_slow++] = cq->e[k];
              continue;
            }
          id = *cq->second_at[k];
        }
      LOOKUP_PREFETCH (lt_binding (lt, id));
      cq->e[n] = cq->e[k];
      cq->id[n++] = id;
    }
  while (n)
    {
      touched = 0;
      for (guint k = 0; k < n; k++)
        touched += lt_binding (lt, cq->id[k])->start;
      touch_done (touched);
      guint n_next = 0;
      for (guint k = 0; k < n; k++)
        {
          guint32 e = cq->e[k];
          const LeaseBinding *b = lt_binding (lt, cq->id[k]);
          guint32 when = end_when (io, e);
          if (b->start <= when)
            {
              if (when < b->end)
                {
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

  for (guint k = 0; k < n_found; k++)
    emit_binding (lt, io, found_e[k], found_id[k]);

  /* no binding of the longest prefix applies: the shorter ones */
  for (guint k = 0; k < n_slow; k++)
    {
      const NfsubAddr *a = end_addr (io, slow_e[k]);
      if (!lt->more[!nfsub_addr_is_v4 (a)])
        continue;
      guint32 id = lookup_from (t, a, end_when (io, slow_e[k]), 1, NULL);
      if (id)
        emit_binding (lt, io, slow_e[k], id);
    }
}

static inline void
chain_push (LeaseTable *t, const LookupTables *lt, const TagIO *io,
            ChainQueue *cq, gsize e, guint32 id, const HotEntry *cold_at,
            const guint32 *second_at)
{
  if (cq->n == CHAIN_QUEUE)
    chain_flush (t, lt, io, cq);
  /* no prefetch of a hot entry's copy here: the miss queue is full of
   * the next stride's entries, and a prefetch waits for a free slot; the
   * queue's loads are issued together when it is flushed */
  if (id)
    LOOKUP_PREFETCH (lt_binding (lt, id));
  cq->e[cq->n] = (guint32) e;
  cq->cold_at[cq->n] = cold_at;
  cq->second_at[cq->n] = second_at;
  cq->id[cq->n++] = id;
}

/* The ends of one stride still to finish, by stage; ends are numbered
 * within the stride (2 * flow + side). */
typedef struct {
  guint n_hot, n_hash, n_slow;
  guint32 when[TAG_STRIDE];
  guint8 cand[2 * TAG_STRIDE];     /* ends that passed the prefilter */
  const NfsubAddr *cand_addr[2 * TAG_STRIDE];
  guint8 hot_e[2 * TAG_STRIDE];
  guint8 hot_fam[2 * TAG_STRIDE];
  const HotEntry *hot_at[2 * TAG_STRIDE]; /* its pair in the hot index */
  NfsubSubscriberTag *hot_tag[2 * TAG_STRIDE]; /* and its tag */
  guint8 hash_e[2 * TAG_STRIDE];
  guint8 hash_fam[2 * TAG_STRIDE];
  guint64 hash_key[2 * TAG_STRIDE];
  const Slot64 *hash_line[2 * TAG_STRIDE]; /* the pair of slots to probe */
  guint8 slow_e[2 * TAG_STRIDE];
  guint8 slow_from[2 * TAG_STRIDE];        /* table index to start from */
} TagWork;

static inline void
work_slow (TagWork *w, guint e, guint from)
{
  w->slow_e[w->n_slow] = (guint8) e;
  w->slow_from[w->n_slow++] = (guint8) from;
}

/* Stages 1 and 2 of the m flows from `flows`; all_direct: a constant,
 * so that the usual case is compiled without the other cases' tests. */
static inline __attribute__ ((always_inline)) void
tag_issue_with (const LookupTables *lt, const NfsubFlow *flows, guint m,
                TagWork *wp, gboolean all_direct)
{
  TagWork *restrict w = wp;
  const guint64 *filter = lt->filter;
  guint nc = 0;
  /* every end is written to the list, only those that pass counted */
  for (guint k = 0; k < m; k++)
    {
      const NfsubFlow *fl = &flows[k];
      w->when[k] = lease_flow_time (fl);
      gsize sbit = filter_index (fl->src.hi, fl->src.lo);
      gsize dbit = filter_index (fl->dst.hi, fl->dst.lo);
      w->cand[nc] = (guint8) (2 * k);
      w->cand_addr[nc] = &fl->src;
      nc += (guint) (filter[sbit >> 6] >> (sbit & 63)) & 1;
      w->cand[nc] = (guint8) (2 * k + 1);
      w->cand_addr[nc] = &fl->dst;
      nc += (guint) (filter[dbit >> 6] >> (dbit & 63)) & 1;
    }
  w->n_hot = w->n_hash = w->n_slow = 0;
  for (guint c = 0; c < nc; c++)
    {
      guint e = w->cand[c];
      guint64 hi = w->cand_addr[c]->hi, lo = w->cand_addr[c]->lo;
      guint f = (hi | ((lo >> 32) ^ 0xffff)) != 0;
      guint64 key = (f ? hi : lo) & lt->key_mask[f];
      if (all_direct || G_LIKELY (lt->hot[f]))
        {
          /* no page: page 0, whose entries never apply (no branch
           * here; the finish stage sends them on to shorter prefixes) */
          guint64 pn = key >> lt->hot_shift[f];
          guint64 page = pn >> HOT_PAGE_BITS;
          gsize first;
          if (all_direct || G_LIKELY (lt->direct[f] != NULL))
            {
              /* outside the range: the 0 at [span] */
              guint64 rel = page - lt->page_min[f];
              rel = rel < lt->span[f] ? rel : lt->span[f];
              first = (gsize) lt->direct[f][rel] << HOT_PAGE_BITS;
            }
          else
            {
              const HotDir *dir = lt->dir[f];
              gsize j = (gsize) (hash64 (page) >> lt->dir_shift[f]);
              while (dir[j].page != page + 1 && dir[j].page != 0)
                j = (j + 1) & lt->dir_mask[f];
              first = dir[j].page ? (gsize) dir[j].first : 0;
            }
          const HotEntry *he
            = &lt->entries[f][2 * (first | (gsize) (pn & (HOT_PAGE - 1)))];
          LOOKUP_PREFETCH (he);
          w->hot_e[w->n_hot] = (guint8) e;
          w->hot_fam[w->n_hot] = (guint8) f;
          w->hot_tag[w->n_hot] = end_tag (w->cand_addr[c]);
          w->hot_at[w->n_hot++] = he;
        }
      else if (lt->fast[f])
        {
          const Slot64 *line
            = lt->slots[f] + ((gsize) (hash64 (key) >> lt->shift[f]) & ~(gsize) 1);
          LOOKUP_PREFETCH (line);
          w->hash_e[w->n_hash] = (guint8) e;
          w->hash_fam[w->n_hash] = (guint8) f;
          w->hash_key[w->n_hash] = key;
          w->hash_line[w->n_hash++] = line;
        }
      else if (lt->wide[f])
        work_slow (w, e, 0);
    }
}

static void
tag_issue (const LookupTables *lt, const NfsubFlow *flows, guint m,
           TagWork *w)
{
  if (lt->all_direct)
    tag_issue_with (lt, flows, m, w, TRUE);
  else
    tag_issue_with (lt, flows, m, w, FALSE);
}

/* Stages 3 and 4 of the stride that starts at flow `base`. */
static inline void
tag_finish (LeaseTable *t, const LookupTables *lt, const TagIO *io,
            gsize base, TagWork *wp, ChainQueue *cq)
{
  TagWork *restrict w = wp;
  gsize e0 = 2 * base;

  /* the pairs are read right away: a loop of plain loads first (as for
   * the hash lines below) measured no better, stage 2's prefetches are
   * in flight already */
  for (guint k = 0; k < w->n_hot; k++)
    {
      guint e = w->hot_e[k], f = w->hot_fam[k];
      const HotEntry *he = w->hot_at[k];
      guint32 when = w->when[e >> 1];
      if (G_LIKELY (he->start <= when))
        {
          /* an empty entry (no key) ends at 0: never applies */
          if (G_LIKELY (when < he->end))
            {
              store_tag (w->hot_tag[k], lt_key (lt, he->key_ref), he->user);
              io->found[(e0 + e) >> 1] |= (guint8) (1u << (e & 1));
            }
          else if (lt->more[f])
            work_slow (w, e, 1);
        }
      else
        {
          /* the flow is older than the newest binding: the one behind
           * it, in the same line, answers most; older ones walk on */
          const HotEntry *se = he + 1;
          if (se->start <= when)
            {
              if (when < se->end)
                emit_tag (io, e0 + e, lt_key (lt, se->key_ref), se->user);
              else if (lt->more[f])
                work_slow (w, e, 1);
            }
          else
            chain_push (t, lt, io, cq, e0 + e, 0, se,
                        &lt->seconds[f][(gsize) (he - lt->entries[f]) / 2]);
        }
    }

  /* hash tables (families without a hot index): the key's slot, then
   * its chain */
  guint n = w->n_hash;
  while (n)
    {
      guint64 touched = 0;
      for (guint k = 0; k < n; k++)
        touched += w->hash_line[k]->key;
      touch_done (touched);
      guint n_next = 0;
      for (guint k = 0; k < n; k++)
        {
          guint e = w->hash_e[k], f = w->hash_fam[k];
          guint64 key = w->hash_key[k];
          const Slot64 *line = w->hash_line[k];
          guint used0 = line[0].h.head != 0, used1 = line[1].h.head != 0;
          guint at0 = used0 & (line[0].key == key);
          guint at1 = used0 & used1 & (line[1].key == key);
          if (at0 | at1)
            chain_push (t, lt, io, cq, e0 + e, line[at0 ^ 1].h.head, NULL, NULL);
          else if (used0 & used1)
            {
              /* the pair is full: the key may be in the next one */
              gsize next = (gsize) (line - lt->slots[f] + 2) & lt->slot_mask[f];
              LOOKUP_PREFETCH (&lt->slots[f][next]);
              w->hash_e[n_next] = (guint8) e;
              w->hash_fam[n_next] = (guint8) f;
              w->hash_key[n_next] = key;
              w->hash_line[n_next++] = &lt->slots[f][next];
            }
          else if (lt->more[f])
            work_slow (w, e, 1);
        }
      n = n_next;
    }

  for (guint k = 0; k < w->n_slow; k++)
    {
      gsize e = e0 + w->slow_e[k];
      guint32 id = lookup_from (t, end_addr (io, e), w->when[w->slow_e[k] >> 1],
                                w->slow_from[k], NULL);
      if (id)
        emit_binding (lt, io, e, id);
    }
}

void
lease_table_tag_flows (LeaseTable *t, guint n, NfsubFlow *flows,
                       guint8 *found)
{
  LookupTables lt;
  lookup_tables_init (t, &lt);
  tag_attr_word_init ();
  TagIO io = { flows, found };
  TagWork work[TAG_DEPTH + 1];
  ChainQueue chains;
  chains.n = 0;
  guint issued = 0, slot = 0;
  for (guint d = 0; d < TAG_DEPTH && issued < n; d++, issued += TAG_STRIDE)
    tag_issue (&lt, flows + issued, MIN (TAG_STRIDE, n - issued), &work[d]);
  for (guint base = 0; base < n; base += TAG_STRIDE)
    {
      if (issued < n)
        {
          tag_issue (&lt, flows + issued, MIN (TAG_STRIDE, n - issued),
                     &work[(slot + TAG_DEPTH) % (TAG_DEPTH + 1)]);
          issued += TAG_STRIDE;
        }
      tag_finish (t, &lt, &io, base, &work[slot], &chains);
      slot = (slot + 1) % (TAG_DEPTH + 1);
    }
  chain_flush (t, &lt, &io, &chains);
}

gboolean
lease_table_hot (LeaseTable *t, guint8 family)
{
  return t->hot[family == 4 ? 0 : 1].pt != NULL;
}

void
lease_table_lookup_many (LeaseTable *t, guint n, const NfsubAddr *addrs,
                         const guint32 *whens, LeaseHit *out)
{
  for (guint i = 0; i < n; i++)
    {
      guint32 id = lease_table_lookup (t, &addrs[i], whens[i]);
      if (!id)
        {
          out[i] = (LeaseHit) { NULL, 0, 0, 0, 0, 0, 0 };
          continue;
        }
      const LeaseBinding *b = binding_get (t, id);
      out[i] = (LeaseHit) { t->users[b->user].key, b->user, b->service,
                            b->user_class, b->access, 0, id };
    }
}

/* ---- users ---- */

/* Stores a key's text; *ref gets its place (chunk << KEY_CHUNK_BITS |
 * offset).  Chunks grow from 64 KiB to KEY_CHUNK_MAX (small tables stay
 * small); a longer key gets a chunk of its own at offset 0. */
static const char *
key_store (LeaseTable *t, const char *key, guint32 *ref)
{
  gsize len = strlen (key) + 1;
  guint n = t->key_chunks->len;
  gsize size = n ? MIN ((gsize) 64 * 1024 << MIN (n - 1, 6u), KEY_CHUNK_MAX) : 0;
  if (n == 0 || t->key_fill + len > size)
    {
      if (n == KEY_CHUNKS_MAX)
        g_error ("subscriber: more than %u chunks of user keys", KEY_CHUNKS_MAX);
      size = MIN ((gsize) 64 * 1024 << MIN (n, 6u), KEY_CHUNK_MAX);
      g_ptr_array_add (t->key_chunks, g_malloc (MAX (size, len)));
      t->key_fill = 0;
      n++;
    }
  char *p = (char *) t->key_chunks->pdata[n - 1] + t->key_fill;
  memcpy (p, key, len);
  *ref = (guint32) (n - 1) << KEY_CHUNK_BITS | (guint32) t->key_fill;
  /* a key longer than a chunk fills its own */
  t->key_fill = len > size ? KEY_CHUNK_MAX : t->key_fill + len;
  t->key_bytes += len;
  return p;
}

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
      u->key = key_store (t, key, &u->key_ref);
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
  t->key_chunks = g_ptr_array_new_with_free_func (g_free);
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
  hot_clear (&t->hot[0]);
  hot_clear (&t->hot[1]);
  /* Key pointers handed out in tags are valid while the table lives:
   * the plugins of a run (and the one process of nfcapd -x) end with
   * it; `nfsub watch` opens the plugins again for every file. */
  g_ptr_array_unref (t->key_chunks);
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
  for (int f = 0; f < 2; f++)
    total += (sizeof (HotDir) << t->hot[f].dir_bits)
             + (2 * sizeof (HotEntry) + sizeof (guint32)) * HOT_PAGE
                 * t->hot[f].cap_pages
             + (t->hot[f].direct ? (t->hot[f].span + 1) * sizeof (guint32) : 0);
  return total;
}
