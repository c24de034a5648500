/* NfsubBinsHot: a plugin's own per-flow loop adding straight into the open
 * bins of an NfsubBins (in-tree plugins only: not installed).
 *
 * nfsub_bins_add_items makes a plugin write every flow as an item and the
 * bins read it back: two passes and a 32-byte round trip per flow.  Most
 * flows of a batch lie inside one 5-minute bin among a few open ones, so
 * the plugin's loop adds those itself (nfsub_bins_hot_put: a division by a
 * constant, two compares, an add) and hands only the others to
 * nfsub_bins_add_items; in files where many flows cover two bins it hands
 * over every flow (NfsubBinsHotMode).
 *
 * Why the result is exactly that of nfsub_bins_add_items on every flow in
 * order: the window holds only open bins (at or after the oldest, inside
 * the ring, before the future limit), so a flow inside one of its bins
 * goes to that bin whatever came before; the other flows add to bins, late
 * counters or future bytes, all sums, except a flow that reaches so far
 * ahead that open bins must close first (nfsub_bins_add_items'
 * MAX_OPEN_BINS).  For such a flow (`hot.force_ms`) the plugin folds the
 * window and adds the flows it holds back before it, in order.
 *
 *   NfsubBinsHot hot;
 *   guint64 wm = nfsub_bins_hot_begin (bins, &hot);
 *   for each flow:
 *     nfsub_bins_hot_put (&hot, &wm, items, &n, many, the flow);
 *     if (n == CHUNK || MAX (first, last) >= hot.force_ms)
 *       { nfsub_bins_hot_end (bins, &hot, wm);
 *         nfsub_bins_add_items (bins, items, n); n = 0;
 *         wm = nfsub_bins_hot_begin (bins, &hot); }
 *   nfsub_bins_hot_end (bins, &hot, wm); nfsub_bins_add_items (bins, items, n);
 *
 * The window is read only between begin and end and the watermark a
 * separate scalar, so that the compiler keeps both in registers (a
 * structure changed in the loop ends up in vector registers, unpacked
 * flow after flow).
 *
 * Nothing else may touch the bins between begin and end.
 */
#ifndef NFSUB_RRD_BINS_HOT_H
#define NFSUB_RRD_BINS_HOT_H

#include <nfsub/plugin.h>
#include <nfsub/rrd.h>

G_BEGIN_DECLS

typedef struct {
  guint64 *rows;        /* the ring's rows (slot = bin & mask) */
  guint8 *seen;         /* the ring's seen flags */
  guint64 mask;
  guint64 stride;
  guint64 lo_bin;       /* the window: bins lo_bin .. lo_bin + n_bins - 1 */
  guint64 n_bins;       /* 0: no window (every flow is an item) */
  guint32 junk;         /* the junk counter (a cell past the last) */
  /* a flow whose start or end is at or after this may close open bins:
   * fold and add the held-back items first */
  guint64 force_ms;
} NfsubBinsHot;

/* Opens the window on the open bins (steps other than NFSUB_RRD_STEP: no
 * window); returns the watermark, for nfsub_bins_hot_put to move. */
guint64 nfsub_bins_hot_begin (NfsubBins *bins, NfsubBinsHot *hot);
/* Counts the bins the window's flows made seen and moves the bins'
 * watermark to `watermark_ms`. */
void nfsub_bins_hot_end (NfsubBins *bins, const NfsubBinsHot *hot,
                         guint64 watermark_ms);

/* Adds a flow to cell c0 (a cell of the bins, never NFSUB_BINS_NO_CELL)
 * and cell c1 (NFSUB_BINS_NO_CELL: none) of its bin if it lies inside one
 * bin of the window; else keeps it as items[*n_items] (a flow over two or
 * more bins, outside the window, or ending before it starts) for
 * nfsub_bins_add_items.  `many` (NfsubBinsHotMode): keep every flow, as
 * in a file where half the flows cover two bins, in no order: a branch
 * on which would be mispredicted flow after flow, and
 * nfsub_bins_add_items takes a mix without one. */
G_ALWAYS_INLINE static inline void
nfsub_bins_hot_put (const NfsubBinsHot *hot, guint64 *watermark_ms,
                    NfsubBinsItem *items, guint *n_items, gboolean many,
                    guint64 first_ms, guint64 last_ms, guint64 bytes,
                    guint32 c0, guint32 c1)
{
  const guint64 step_ms = NFSUB_RRD_STEP * 1000;
  guint64 bin = first_ms / step_ms;
  guint64 bin_end = bin * step_ms + step_ms;
  /* [first, last) inside [first, bin_end); last < first wraps and fails */
  if (many || G_UNLIKELY (bin - hot->lo_bin >= hot->n_bins
                          || last_ms - first_ms > bin_end - first_ms))
    {
      items[(*n_items)++] = (NfsubBinsItem) { first_ms, last_ms, bytes,
                                              { c0, c1 } };
      return;
    }
  guint64 slot = bin & hot->mask;
  guint64 *row = hot->rows + slot * hot->stride;
  row[c0] += bytes;
  if (G_UNLIKELY (c1 != NFSUB_BINS_NO_CELL))
    row[MIN (c1, hot->junk)] += bytes;
  hot->seen[slot] = 1;
  *watermark_ms = MAX (*watermark_ms, last_ms);
}

/* Which way a plugin's loop runs a batch: flows into the window, the few
 * others kept, or (`many`) every flow kept, when more than one in eight
 * of the last batch that went the first way was kept.  Every 16th batch
 * goes the first way again, to see whether that still holds. */
typedef struct {
  guint flows;   /* of the last batch run the first way */
  guint kept;
  guint batches;
} NfsubBinsHotMode;

static inline gboolean
nfsub_bins_hot_mode_many (NfsubBinsHotMode *mode)
{
  mode->batches++;
  return mode->kept > mode->flows / 8 && mode->batches % 16 != 0;
}

static inline void
nfsub_bins_hot_mode_update (NfsubBinsHotMode *mode, gboolean many,
                            guint flows, guint kept)
{
  if (!many)
    {
      mode->flows = flows;
      mode->kept = kept;
    }
}

/* Runs a batch through a plugin's loop the way `mode` says:
 *
 *   G_ALWAYS_INLINE static inline void
 *   LOOP (Plugin *self, const NfsubFlow *flows, const guint32 *selected,
 *         guint n, gboolean many);
 *
 * over flows[selected[i]] (or flows[i] when `selected` is NULL), i < n,
 * each into the window or kept (`many`: every one), ending with
 * nfsub_bins_hot_mode_update (&self->mode, many, n, kept).  A call for
 * each case with constant arguments: inlined there, each copy of the
 * loop is compiled without the per-flow tests of whether flows are
 * selected and whether every flow is kept.  A macro rather than an
 * always-inline function taking LOOP as a pointer: through the pointer
 * GCC 12 still inlines all four copies, but allocates registers and
 * places code differently (same instruction counts), which measured
 * 2-3% slower per flow; the macro compiles to exactly the code of the
 * plugins' own dispatch. */
#define NFSUB_BINS_HOT_RUN(mode, batch, LOOP, self)                          \
  G_STMT_START                                                               \
  {                                                                          \
    const NfsubBatch *run_batch_ = (batch);                                  \
    gboolean run_many_ = nfsub_bins_hot_mode_many (mode);                    \
    if (run_batch_->selected && run_many_)                                   \
      LOOP ((self), run_batch_->flows, run_batch_->selected,                 \
            run_batch_->n_selected, TRUE);                                   \
    else if (run_batch_->selected)                                           \
      LOOP ((self), run_batch_->flows, run_batch_->selected,                 \
            run_batch_->n_selected, FALSE);                                  \
    else if (run_many_)                                                      \
      LOOP ((self), run_batch_->flows, NULL, run_batch_->n_flows, TRUE);     \
    else                                                                     \
      LOOP ((self), run_batch_->flows, NULL, run_batch_->n_flows, FALSE);    \
  }                                                                          \
  G_STMT_END

G_END_DECLS

#endif
