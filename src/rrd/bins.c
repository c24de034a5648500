/* NfsubBins: per-cell byte counts in fixed time bins that close, in time
 * order, once the watermark has passed them by the lateness window.
 *
 * Open bins live in a ring indexed by bin number modulo the capacity; the
 * ring grows (doubling) when a flow reaches past it, up to MAX_OPEN_BINS.
 * A flow further ahead than that forces the oldest bins closed first: they
 * would close anyway as soon as that flow moves the watermark.
 *
 * A row has one counter more than there are cells: a junk counter that
 * NFSUB_BINS_NO_CELL lands in on the slow paths, never emitted or saved.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <nfsub/plugin.h>
#include <nfsub/rrd.h>

#include "bins-hot.h"

#define BINS_STATE_VERSION 1
/* 14 days of 5-minute bins: far more than any lateness window. */
#define MAX_OPEN_BINS 4096
/* A record claiming to last longer than this is clipped to it (nfcapd
 * records end at the exporter's active timeout, minutes). */
#define MAX_FLOW_SPAN_MS (G_GUINT64_CONSTANT (86400) * 1000)
/* Flows starting this long after the wall clock are a broken clock. */
#define FUTURE_SLACK_MS (G_GUINT64_CONSTANT (86400) * 1000)

struct NfsubBins {
  char **cell_names;
  guint n_cells;
  guint stride;       /* n_cells + the junk counter */
  guint64 step_ms;
  guint64 lateness_ms;
  NfsubBinsEmitFunc emit;
  gpointer emit_data;

  gint64 base;        /* oldest open bin number; G_MININT64: not started */
  guint cap;          /* ring capacity, a power of two */
  guint64 *rows;      /* cap * stride */
  guint8 *seen;       /* cap */
  guint n_seen;       /* bins in the ring that saw data */
  /* seen flags set without counting them (nfsub_bins_hot_end): n_seen
   * is recounted before it is next read (bins_n_seen) */
  gboolean n_seen_stale;
  guint64 *late_pending; /* stride */
  guint64 *late_total;   /* stride */
  guint64 future_bytes;
  guint64 watermark_ms;
  guint64 future_limit_ms;
};

#define NOT_STARTED G_MININT64

/* A ring of 2 MiB or more (a file covering days: a week of bins of the
 * ports plugin is 2 MiB) is mapped on its own, on huge pages where the
 * kernel allows (madvise mode): a few page faults instead of one per
 * 4 KiB, which cost more than the counting in such a file. */
#define HUGE_PAGE ((gsize) 2 << 20)

static gsize
rows_mapped_size (gsize bytes)
{
  return (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

/* Zeroed memory for `n` counters. */
static guint64 *
rows_alloc (gsize n)
{
  gsize bytes = n * sizeof (guint64);
  if (bytes < HUGE_PAGE)
    return g_new0 (guint64, n);
  gsize size = rows_mapped_size (bytes);
  /* one huge page more, to align the start on one */
  guint8 *p = mmap (NULL, size + HUGE_PAGE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    g_error ("bins: cannot map %zu bytes: %s", size, g_strerror (errno));
  guint8 *start = (guint8 *) (((guintptr) p + HUGE_PAGE - 1)
                              & ~(guintptr) (HUGE_PAGE - 1));
  if (start > p)
    munmap (p, (gsize) (start - p));
  munmap (start + size, HUGE_PAGE - (gsize) (start - p));
#ifdef MADV_HUGEPAGE
  (void) madvise (start, size, MADV_HUGEPAGE);
#endif
  return (guint64 *) start;
}

static void
rows_free (guint64 *rows, gsize n)
{
  gsize bytes = n * sizeof (guint64);
  if (!rows)
    return;
  if (bytes < HUGE_PAGE)
    g_free (rows);
  else
    munmap (rows, rows_mapped_size (bytes));
}

static void
bins_reset_ring (NfsubBins *b, guint cap)
{
  rows_free (b->rows, (gsize) b->cap * b->stride);
  g_free (b->seen);
  b->cap = cap;
  b->rows = rows_alloc ((gsize) cap * b->stride);
  b->seen = g_new0 (guint8, cap);
  b->n_seen = 0;
  b->n_seen_stale = FALSE;
}

/* The number of bins in the ring that saw data. */
static guint
bins_n_seen (NfsubBins *b)
{
  if (G_UNLIKELY (b->n_seen_stale))
    {
      guint n = 0;
      for (guint i = 0; i < b->cap; i++)
        n += b->seen[i] != 0;
      b->n_seen = n;
      b->n_seen_stale = FALSE;
    }
  return b->n_seen;
}

NfsubBins *
nfsub_bins_new (const char *const *cell_names, guint n_cells, guint step,
                guint lateness, NfsubBinsEmitFunc emit, gpointer user_data)
{
  g_return_val_if_fail (step > 0 && n_cells > 0, NULL);
  NfsubBins *b = g_new0 (NfsubBins, 1);
  b->cell_names = g_new0 (char *, n_cells + 1);
  for (guint i = 0; i < n_cells; i++)
    b->cell_names[i] = g_strdup (cell_names[i]);
  b->n_cells = n_cells;
  b->stride = n_cells + 1;
  b->step_ms = (guint64) step * 1000;
  b->lateness_ms = (guint64) lateness * 1000;
  b->emit = emit;
  b->emit_data = user_data;
  b->base = NOT_STARTED;
  b->late_pending = g_new0 (guint64, b->stride);
  b->late_total = g_new0 (guint64, b->stride);
  b->future_limit_ms = (guint64) (g_get_real_time () / 1000) + FUTURE_SLACK_MS;
  bins_reset_ring (b, 8);
  return b;
}

void
nfsub_bins_free (NfsubBins *b)
{
  if (!b)
    return;
  g_strfreev (b->cell_names);
  rows_free (b->rows, (gsize) b->cap * b->stride);
  g_free (b->seen);
  g_free (b->late_pending);
  g_free (b->late_total);
  g_free (b);
}

static inline guint64 *
bins_row (NfsubBins *b, gint64 bin)
{
  return &b->rows[(gsize) ((guint64) bin & (b->cap - 1)) * b->stride];
}

static inline guint8 *
bins_seen (NfsubBins *b, gint64 bin)
{
  return &b->seen[(guint64) bin & (b->cap - 1)];
}

/* Closes bin `base`: emits it if it saw data, clears it, moves on. */
static void
bins_close_oldest (NfsubBins *b)
{
  gint64 bin = b->base;
  guint64 *row = bins_row (b, bin);
  guint8 *seen = bins_seen (b, bin);
  if (*seen)
    {
      bins_n_seen (b); /* counted before one is taken off */
      if (b->emit)
        b->emit (bin * (gint64) (b->step_ms / 1000), row, b->late_pending,
                 b->emit_data);
      memset (b->late_pending, 0, sizeof (guint64) * b->stride);
      memset (row, 0, sizeof (guint64) * b->stride);
      *seen = 0;
      b->n_seen--;
    }
  b->base++;
}

/* Makes room for bin `last` (>= base): grows the ring, or closes the
 * oldest bins when `last` is more than MAX_OPEN_BINS ahead. */
static void
bins_reach (NfsubBins *b, gint64 last)
{
  if (last - b->base < (gint64) b->cap)
    return;
  if (last - b->base >= MAX_OPEN_BINS)
    {
      /* Skip straight over empty stretches instead of walking them. */
      while (last - b->base >= MAX_OPEN_BINS)
        {
          bins_close_oldest (b);
          if (bins_n_seen (b) == 0)
            {
              b->base = MAX (b->base, last - MAX_OPEN_BINS + 1);
              break;
            }
        }
      if (last - b->base < (gint64) b->cap)
        return;
    }
  guint cap = b->cap;
  while (last - b->base >= (gint64) cap)
    cap *= 2;
  guint64 *rows = rows_alloc ((gsize) cap * b->stride);
  guint8 *seen = g_new0 (guint8, cap);
  for (gint64 bin = b->base; bin < b->base + (gint64) b->cap; bin++)
    {
      guint64 new_slot = (guint64) bin & (cap - 1);
      memcpy (&rows[new_slot * b->stride], bins_row (b, bin),
              sizeof (guint64) * b->stride);
      seen[new_slot] = *bins_seen (b, bin);
    }
  rows_free (b->rows, (gsize) b->cap * b->stride);
  g_free (b->seen);
  b->rows = rows;
  b->seen = seen;
  b->cap = cap;
}

static inline void
bins_mark_seen (NfsubBins *b, gint64 bin)
{
  guint8 *seen = bins_seen (b, bin);
  if (!*seen)
    {
      *seen = 1;
      b->n_seen++;
    }
}

/* Adds `bytes` to cells c0 and c1 (either may be the junk counter) of
 * `bin`, or to their late counters if the bin is closed. */
static inline void
bins_put (NfsubBins *b, gint64 bin, guint c0, guint c1, guint64 bytes)
{
  if (bin < b->base)
    {
      b->late_pending[c0] += bytes;
      b->late_total[c0] += bytes;
      b->late_pending[c1] += bytes;
      b->late_total[c1] += bytes;
      return;
    }
  guint64 *row = bins_row (b, bin);
  row[c0] += bytes;
  row[c1] += bytes;
  bins_mark_seen (b, bin);
}

/* Spreads a flow covering [first, last) over its bins b0 < b1: each bin
 * gets bytes * overlap / duration, rounded down; the last bin takes the
 * remainder so the parts sum to `bytes`.  A bin before the oldest open
 * one gets late bytes. */
static inline void
bins_split (NfsubBins *b, guint c0, guint c1, gint64 b0, gint64 b1,
            guint64 first_ms, guint64 last_ms, guint64 bytes)
{
  guint64 duration = last_ms - first_ms;
  guint64 given = 0;
  /* bytes * overlap (overlap <= step) fits in 64 bits: the same quotient
   * without a 128-bit division */
  gboolean narrow = bytes <= G_MAXUINT64 / b->step_ms;
  for (gint64 bin = b0; bin <= b1; bin++)
    {
      guint64 part;
      if (bin == b1)
        part = bytes - given;
      else
        {
          guint64 end = (guint64) (bin + 1) * b->step_ms;
          guint64 start = MAX ((guint64) bin * b->step_ms, first_ms);
          if (G_LIKELY (narrow))
            part = bytes * (end - start) / duration;
          else
            {
              unsigned __int128 p = (unsigned __int128) bytes * (end - start);
              part = (guint64) (p / duration);
            }
        }
      given += part;
      if (part)
        bins_put (b, bin, c0, c1, part);
      else if (bin >= b->base)
        bins_mark_seen (b, bin);
    }
}

/* Everything but a flow inside open bins: future flows, the first flow of
 * a fresh state, late flows, flows past the ring. */
static void
bins_add_slow (NfsubBins *b, guint c0, guint c1, guint64 first_ms,
               guint64 last_ms, guint64 bytes)
{
  if (first_ms > b->future_limit_ms)
    {
      /* counted once per end, as for the bins */
      b->future_bytes += (c0 < b->n_cells ? bytes : 0)
                         + (c1 < b->n_cells ? bytes : 0);
      return;
    }
  if (last_ms < first_ms)
    last_ms = first_ms;
  if (last_ms - first_ms > MAX_FLOW_SPAN_MS)
    last_ms = first_ms + MAX_FLOW_SPAN_MS;

  gint64 b0 = (gint64) (first_ms / b->step_ms);
  /* The flow covers [first, last); a record of zero length sits at first. */
  gint64 b1 = last_ms > first_ms ? (gint64) ((last_ms - 1) / b->step_ms) : b0;
  if (b->base == NOT_STARTED)
    b->base = b0 - (gint64) (b->lateness_ms / b->step_ms) - 1;
  if (b1 >= b->base)
    bins_reach (b, b1);
  if (last_ms > b->watermark_ms)
    b->watermark_ms = last_ms;

  if (b0 == b1)
    bins_put (b, b0, c0, c1, bytes);
  else
    bins_split (b, c0, c1, b0, b1, first_ms, last_ms, bytes);
}

/* Adds the items of `spans` (indexes into `items`), each over two or
 * more open bins.  Nothing has moved the ring since they were found in
 * it, so bins_split puts nothing late. */
G_ALWAYS_INLINE static inline void
bins_add_spans (NfsubBins *b, const NfsubBinsItem *items,
                const guint16 *spans, guint n_spans, const guint64 step_ms)
{
  guint64 *rows = b->rows;
  guint8 *seen = b->seen;
  const guint64 mask = b->cap - 1;
  const guint stride = b->stride, junk = b->n_cells;
  for (guint k = 0; k < n_spans; k++)
    {
      const NfsubBinsItem *it = &items[spans[k]];
      guint64 first = it->first_ms, last = it->last_ms, bytes = it->bytes;
      guint64 b0 = first / step_ms, b1 = (last - 1) / step_ms;
      guint c0 = MIN (it->cell[0], junk), c1 = MIN (it->cell[1], junk);
      if (G_LIKELY (b1 == b0 + 1 && bytes <= G_MAXUINT64 / step_ms))
        {
          /* two bins, the common long flow: bins_split's arithmetic */
          guint64 part = bytes * (b1 * step_ms - first) / (last - first);
          guint64 s0 = b0 & mask, s1 = b1 & mask;
          guint64 *row0 = rows + s0 * stride, *row1 = rows + s1 * stride;
          row0[c0] += part;
          row1[c0] += bytes - part;
          if (G_UNLIKELY (c1 != junk))
            {
              row0[c1] += part;
              row1[c1] += bytes - part;
            }
          if (G_UNLIKELY (!seen[s0] || !seen[s1]))
            {
              b->n_seen += !seen[s0] + !seen[s1];
              seen[s0] = seen[s1] = 1;
            }
        }
      else
        bins_split (b, c0, c1, (gint64) b0, (gint64) b1, first, last, bytes);
    }
}

/* Items per run of nfsub_bins_add_items' loop (spans are guint16). */
#define ITEMS_RUN 1024

/* The times [lo, hi) a flow must lie in for the add loop: the open ring
 * (bins base .. base + cap - 1) up to the future limit.  Empty before the
 * first flow. */
static inline void
bins_ring_window (const NfsubBins *b, guint64 step_ms, guint64 *lo,
                  guint64 *hi)
{
  if (b->base == NOT_STARTED || b->base + (gint64) b->cap <= 0)
    {
      *lo = G_MAXUINT64;
      *hi = 0;
      return;
    }
  *lo = (guint64) MAX (b->base, 0) * step_ms;
  *hi = MIN ((guint64) (b->base + (gint64) b->cap) * step_ms,
             b->future_limit_ms + 1);
}

/* The loop of nfsub_bins_add_items for one step (a constant in the
 * common case, so the divisions become multiplications).  A flow inside
 * one open bin is added at once; a flow over several open bins only
 * noted, and added after the run (bins_add_spans), so that the loop has
 * no branch on how many bins a flow covers (in some files half of the
 * flows cover two).  Anything else takes the slow path, after the noted
 * spans: the slow path may move the ring or close bins.  Ring, base and
 * watermark stay in registers, written back and read again around it. */
G_ALWAYS_INLINE static inline void
bins_add_items_step (NfsubBins *b, const NfsubBinsItem *items, guint n,
                     const guint64 step_ms)
{
  guint16 spans[ITEMS_RUN];
  for (guint at = 0; at < n; at += ITEMS_RUN)
    {
      const NfsubBinsItem *run = items + at;
      guint m = MIN (n - at, ITEMS_RUN), n_spans = 0;
      guint64 *rows = b->rows;
      guint8 *seen = b->seen;
      guint64 mask = b->cap - 1, lo, hi;
      bins_ring_window (b, step_ms, &lo, &hi);
      guint64 wm = b->watermark_ms;
      const guint stride = b->stride, junk = b->n_cells;
      for (guint i = 0; i < m; i++)
        {
          const NfsubBinsItem *it = &run[i];
          guint64 first = it->first_ms, last = it->last_ms;
          guint64 bytes = it->bytes;
          /* the flow covers [first, last); a record of zero length sits
           * at first */
          guint64 final = last > first ? last - 1 : first;
          guint c0 = MIN (it->cell[0], junk), c1 = it->cell[1];
          /* In the open bins and not after the future limit (final < hi),
           * and no longer than MAX_FLOW_SPAN_MS: the slow path clips such
           * a record, and takes one ending before it starts too (the
           * difference wraps), as well as anything before the first
           * flow (lo > hi). */
          if (G_UNLIKELY (first < lo || final >= hi
                          || last - first > MAX_FLOW_SPAN_MS))
            {
              b->watermark_ms = wm;
              bins_add_spans (b, run, spans, n_spans, step_ms);
              n_spans = 0;
              bins_add_slow (b, c0, MIN (c1, junk), first, last, bytes);
              rows = b->rows;
              seen = b->seen;
              mask = b->cap - 1;
              bins_ring_window (b, step_ms, &lo, &hi);
              wm = b->watermark_ms;
              continue;
            }
          guint64 b0 = first / step_ms;
          guint64 spanning = final >= (b0 + 1) * step_ms;
          guint64 add = bytes & (spanning - 1);
          guint64 slot = b0 & mask;
          guint64 *row = rows + slot * stride;
          row[c0] += add;
          /* a branch, not an add to the junk counter: flows between two
           * subscribers are few, and adds to one counter flow after flow
           * would each wait for the one before */
          if (G_UNLIKELY (c1 != NFSUB_BINS_NO_CELL))
            row[MIN (c1, junk)] += add;
          if (G_UNLIKELY (!seen[slot]))
            {
              seen[slot] = 1;
              b->n_seen++;
            }
          wm = MAX (wm, last);
          spans[n_spans] = (guint16) i;
          n_spans += (guint) spanning;
        }
      b->watermark_ms = wm;
      bins_add_spans (b, run, spans, n_spans, step_ms);
    }
}

void
nfsub_bins_add_items (NfsubBins *b, const NfsubBinsItem *items, guint n)
{
  if (G_LIKELY (b->step_ms == NFSUB_RRD_STEP * 1000))
    bins_add_items_step (b, items, n, NFSUB_RRD_STEP * 1000);
  else
    bins_add_items_step (b, items, n, b->step_ms);
}

guint64
nfsub_bins_hot_begin (NfsubBins *b, NfsubBinsHot *h)
{
  *h = (NfsubBinsHot) { .rows = b->rows, .seen = b->seen,
                        .mask = b->cap - 1, .stride = b->stride,
                        .junk = b->n_cells };
  if (b->base == NOT_STARTED)
    return b->watermark_ms; /* force_ms 0: the first flow sets the base */
  gint64 force = b->base + MAX_OPEN_BINS;
  h->force_ms = force > 0 ? (guint64) force * b->step_ms : 0;
  if (b->step_ms != NFSUB_RRD_STEP * 1000)
    return b->watermark_ms;
  /* the open bins, up to the first bin holding a time past the future
   * limit */
  gint64 lo = MAX (b->base, 0);
  gint64 hi = MIN (b->base + (gint64) b->cap,
                   (gint64) ((b->future_limit_ms + 1) / b->step_ms));
  if (hi > lo)
    {
      h->lo_bin = (guint64) lo;
      h->n_bins = (guint64) (hi - lo);
    }
  return b->watermark_ms;
}

void
nfsub_bins_hot_end (NfsubBins *b, const NfsubBinsHot *h, guint64 watermark_ms)
{
  b->watermark_ms = MAX (b->watermark_ms, watermark_ms);
  /* the loop set seen flags without counting them: counted when next
   * asked (a pass over the ring, once a file rather than once a batch) */
  if (h->n_bins)
    b->n_seen_stale = TRUE;
}

void
nfsub_bins_add (NfsubBins *b, guint cell, guint64 first_ms, guint64 last_ms,
                guint64 bytes)
{
  NfsubBinsItem item = { first_ms, last_ms, bytes,
                         { cell, NFSUB_BINS_NO_CELL } };
  nfsub_bins_add_items (b, &item, 1);
}

void
nfsub_bins_begin_file (NfsubBins *b, const NfsubFileInfo *info)
{
  if (!info || !info->has_stat || info->stat.numflows == 0
      || info->stat.first_ms == 0 || info->stat.first_ms > b->future_limit_ms)
    return;
  if (b->base == NOT_STARTED)
    b->base = (gint64) (info->stat.first_ms / b->step_ms);
  /* Room for the file's bins at once, rather than doubling the ring flow
   * by flow (each time copying it into fresh memory) when a file covers
   * hours or days.  Only growth: the ring's size changes nothing else. */
  guint64 last_ms = MIN (MAX (info->stat.last_ms, info->stat.first_ms),
                         b->future_limit_ms);
  gint64 last = (gint64) (last_ms / b->step_ms);
  if (last >= b->base && last - b->base < MAX_OPEN_BINS)
    bins_reach (b, last);
}

guint
nfsub_bins_close (NfsubBins *b)
{
  if (b->base == NOT_STARTED)
    return 0;
  guint closed = 0;
  while ((guint64) (b->base + 1) * b->step_ms + b->lateness_ms
         <= b->watermark_ms)
    {
      if (bins_n_seen (b) == 0)
        {
          /* Nothing open: jump to the first bin the watermark keeps open. */
          gint64 keep = (gint64) ((b->watermark_ms - b->lateness_ms)
                                  / b->step_ms);
          closed += (guint) MIN (keep - b->base, (gint64) G_MAXUINT / 2);
          b->base = keep;
          break;
        }
      bins_close_oldest (b);
      closed++;
    }
  return closed;
}

/* (version, cell names, step_ms, base, watermark_ms, future_bytes,
 *  late_pending, late_total, [(bin, row)]) */
#define BINS_STATE_TYPE "(uastxttatata(xat))"

GVariant *
nfsub_bins_save (NfsubBins *b)
{
  GVariantBuilder bins;
  g_variant_builder_init (&bins, G_VARIANT_TYPE ("a(xat)"));
  if (b->base != NOT_STARTED)
    for (gint64 bin = b->base; bin < b->base + (gint64) b->cap; bin++)
      if (*bins_seen (b, bin))
        g_variant_builder_add (&bins, "(x@at)", bin,
                               g_variant_new_fixed_array (
                                 G_VARIANT_TYPE_UINT64, bins_row (b, bin),
                                 b->n_cells, sizeof (guint64)));
  return g_variant_new (
    "(u@astxtt@at@ata(xat))", (guint32) BINS_STATE_VERSION,
    g_variant_new_strv ((const char *const *) b->cell_names, b->n_cells),
    b->step_ms, (gint64) b->base, b->watermark_ms, b->future_bytes,
    g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, b->late_pending,
                               b->n_cells, sizeof (guint64)),
    g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, b->late_total,
                               b->n_cells, sizeof (guint64)),
    &bins);
}

/* Copies `src` (cells named src_names) into `dst` (this state's cells). */
static void
map_cells (NfsubBins *b, const int *map, guint n_src, const guint64 *src,
           guint64 *dst)
{
  for (guint i = 0; i < n_src; i++)
    if (map[i] >= 0)
      dst[map[i]] += src[i];
}

gboolean
nfsub_bins_load (NfsubBins *b, GVariant *state, GError **error)
{
  if (!g_variant_is_of_type (state, G_VARIANT_TYPE (BINS_STATE_TYPE)))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "bins state has type %s, expected %s",
                   g_variant_get_type_string (state), BINS_STATE_TYPE);
      return FALSE;
    }
  guint32 version;
  g_autofree const char **names = NULL;
  guint64 step_ms, watermark, future;
  gint64 base;
  g_autoptr (GVariant) late_p = NULL, late_t = NULL, rows = NULL;
  g_variant_get (state, "(u^a&stxtt@at@at@a(xat))", &version, &names,
                 &step_ms, &base, &watermark, &future, &late_p, &late_t,
                 &rows);
  if (version != BINS_STATE_VERSION || step_ms != b->step_ms)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "bins state version %u step %" G_GUINT64_FORMAT
                   " ms, expected version %u step %" G_GUINT64_FORMAT " ms",
                   version, step_ms, BINS_STATE_VERSION, b->step_ms);
      return FALSE;
    }
  guint n_src = g_strv_length ((char **) names);
  g_autofree int *map = g_new (int, n_src ? n_src : 1);
  for (guint i = 0; i < n_src; i++)
    {
      map[i] = -1;
      for (guint j = 0; j < b->n_cells; j++)
        if (strcmp (names[i], b->cell_names[j]) == 0)
          {
            map[i] = (int) j;
            break;
          }
    }

  gsize n;
  const guint64 *lp = g_variant_get_fixed_array (late_p, &n, sizeof (guint64));
  const guint64 *lt = NULL;
  gsize n_lt;
  lt = g_variant_get_fixed_array (late_t, &n_lt, sizeof (guint64));
  if (n != n_src || n_lt != n_src)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "bins state: %zu late counters for %u cells", n, n_src);
      return FALSE;
    }

  bins_reset_ring (b, 8);
  memset (b->late_pending, 0, sizeof (guint64) * b->stride);
  memset (b->late_total, 0, sizeof (guint64) * b->stride);
  b->base = base;
  b->watermark_ms = watermark;
  b->future_bytes = future;
  map_cells (b, map, n_src, lp, b->late_pending);
  map_cells (b, map, n_src, lt, b->late_total);

  GVariantIter iter;
  g_variant_iter_init (&iter, rows);
  gint64 bin;
  GVariant *row_v;
  while (g_variant_iter_next (&iter, "(x@at)", &bin, &row_v))
    {
      gsize nr;
      const guint64 *row = g_variant_get_fixed_array (row_v, &nr,
                                                      sizeof (guint64));
      if (nr != n_src || base == NOT_STARTED || bin < base
          || bin - base >= MAX_OPEN_BINS)
        {
          g_variant_unref (row_v);
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                       "bins state: bin %" G_GINT64_FORMAT
                       " outside the open range or of the wrong size", bin);
          return FALSE;
        }
      bins_reach (b, bin);
      map_cells (b, map, n_src, row, bins_row (b, bin));
      bins_mark_seen (b, bin);
      g_variant_unref (row_v);
    }
  return TRUE;
}

void
nfsub_bins_foreach_open (NfsubBins *b, NfsubBinsEmitFunc func,
                         gpointer user_data)
{
  if (b->base == NOT_STARTED)
    return;
  for (gint64 bin = b->base; bin < b->base + (gint64) b->cap; bin++)
    if (*bins_seen (b, bin))
      func (bin * (gint64) (b->step_ms / 1000), bins_row (b, bin),
            b->late_pending, user_data);
}

guint64
nfsub_bins_watermark (NfsubBins *b)
{
  return b->watermark_ms;
}

gint64
nfsub_bins_open_from (NfsubBins *b)
{
  return b->base == NOT_STARTED ? -1 : b->base * (gint64) (b->step_ms / 1000);
}

guint
nfsub_bins_n_open (NfsubBins *b)
{
  return bins_n_seen (b);
}

guint64
nfsub_bins_late_total (NfsubBins *b, guint cell)
{
  g_return_val_if_fail (cell < b->n_cells, 0);
  return b->late_total[cell];
}

guint64
nfsub_bins_future_bytes (NfsubBins *b)
{
  return b->future_bytes;
}

guint
nfsub_bins_n_cells (NfsubBins *b)
{
  return b->n_cells;
}

const char *
nfsub_bins_cell_name (NfsubBins *b, guint cell)
{
  g_return_val_if_fail (cell < b->n_cells, NULL);
  return b->cell_names[cell];
}
