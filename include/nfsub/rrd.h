/* nfsub: time series for plugins, stored in RRD files that last for years.
 *
 * Two pieces, used together by the `ports` and `hourly` plugins and open
 * to any plugin that keeps byte counts over time:
 *
 *   NfsubBins    per-flow accumulation into 5-minute bins that stay open for
 *                a lateness window, then close in time order;
 *   NfsubRrd     writes closed bins to RRD files (librrd, or rrdcached),
 *                creating them with the layout of rrd/layout.h, skipping
 *                what a file already holds so a re-run never errors or
 *                counts twice.
 *
 * Why bins stay open: a flow record is exported when the flow ends or when
 * the exporter's active timeout expires, so a file rotated at T still holds
 * flows that started up to `active timeout` before T.  RRD refuses updates
 * in the past, so a bin is written only once no later file can add to it:
 * when the newest flow end seen (the watermark) is `lateness` past the
 * bin's end.  Bytes that arrive for a bin already closed are *late*: they
 * are counted (per cell, in the state) and handed to the next bin that
 * closes, never silently lost.
 */
#ifndef NFSUB_RRD_H
#define NFSUB_RRD_H

#include <glib.h>
#include <nfsub/flow.h>
#include <nfsub/nffile.h>

G_BEGIN_DECLS

/* The RRD step: one point per nfcapd rotation (rrd/README.md). */
#define NFSUB_RRD_STEP 300

/* ------------------------------------------------------------------ bins */

typedef struct NfsubBins NfsubBins;

/* Called for each closed bin that saw data, in time order.  `row` holds
 * the bin's bytes per cell; `late` the bytes that arrived for already
 * closed bins since the previous call (per cell).  Bins nobody saw are
 * not emitted: the RRD shows them as unknown, not as zero. */
typedef void (*NfsubBinsEmitFunc) (gint64 bin_start, const guint64 *row,
                                   const guint64 *late, gpointer user_data);

/* `cell_names` names each of the n_cells counters of a bin; the saved
 * state is matched by name, so a plugin can add or drop cells (e.g. a new
 * category) between runs.  `lateness` in seconds. */
NfsubBins *nfsub_bins_new (const char *const *cell_names, guint n_cells,
                           guint step, guint lateness,
                           NfsubBinsEmitFunc emit, gpointer user_data);
void nfsub_bins_free (NfsubBins *bins);

/* Adds `bytes` of a flow lasting [first_ms, last_ms] to `cell`, spread
 * over the bins it overlaps in proportion to time (exact integer split:
 * the parts add up to `bytes`).  The common case, a flow inside the bin of
 * the previous one, is two compares and an add. */
void nfsub_bins_add (NfsubBins *bins, guint cell, guint64 first_ms,
                     guint64 last_ms, guint64 bytes);

/* One flow for nfsub_bins_add_items: its bytes go to cell[0] and to
 * cell[1], either of which may be NFSUB_BINS_NO_CELL (a flow counts for
 * one end, or for both when both ends are subscribers). */
#define NFSUB_BINS_NO_CELL G_MAXUINT32
typedef struct {
  guint64 first_ms;
  guint64 last_ms;
  guint64 bytes;
  guint32 cell[2];
} NfsubBinsItem;

/* The same as nfsub_bins_add for cell[0], then cell[1], of each item in
 * order, in one call: a plugin's per-flow loop only fills items (without
 * a branch or a call), and the bins take them in a tight loop. */
void nfsub_bins_add_items (NfsubBins *bins, const NfsubBinsItem *items,
                           guint n_items);

/* Before the first flow of a file: a fresh state opens its first bin at
 * the file's first flow (from the stat record) rather than at whatever
 * flow comes first. */
void nfsub_bins_begin_file (NfsubBins *bins, const NfsubFileInfo *info);

/* Emits every bin the watermark has passed by `lateness`.  Returns the
 * number of bins closed (seen or not). */
guint nfsub_bins_close (NfsubBins *bins);

/* Calls `func` for each open bin that saw data, oldest first, with the
 * late bytes still waiting for the next written bin as `late`: what the
 * RRD files do not hold yet. */
void nfsub_bins_foreach_open (NfsubBins *bins, NfsubBinsEmitFunc func,
                              gpointer user_data);

/* State: save returns a floating GVariant; load replaces the state. */
GVariant *nfsub_bins_save (NfsubBins *bins);
gboolean nfsub_bins_load (NfsubBins *bins, GVariant *state, GError **error);

/* Newest flow end accepted (ms), 0 before any flow. */
guint64 nfsub_bins_watermark (NfsubBins *bins);
/* Start (seconds) of the oldest open bin; bins before it are closed.
 * -1 before any flow. */
gint64 nfsub_bins_open_from (NfsubBins *bins);
guint nfsub_bins_n_open (NfsubBins *bins);
/* Late bytes of a cell since the state began. */
guint64 nfsub_bins_late_total (NfsubBins *bins, guint cell);
/* Flows starting more than a day after the wall clock: counted here, not
 * binned (a broken exporter clock must not close every bin). */
guint64 nfsub_bins_future_bytes (NfsubBins *bins);
guint nfsub_bins_n_cells (NfsubBins *bins);
const char *nfsub_bins_cell_name (NfsubBins *bins, guint cell);

/* ------------------------------------------------------------- RRD files */

typedef struct NfsubRrd NfsubRrd;

/* `cached_address`: rrdcached address (unix:/path, /path, host[:port]) or
 * NULL to write files with librrd.  `log_name` prefixes log lines. */
NfsubRrd *nfsub_rrd_new (const char *log_name, const char *cached_address,
                         GError **error);
void nfsub_rrd_free (NfsubRrd *rrd);

/* Queues one point: `values` are the bytes of the step ending at
 * `bin_start` + NFSUB_RRD_STEP, one per data source of `ds_names` (the
 * file's data sources, all ABSOLUTE: RRD stores bytes/s).  The file is
 * created on flush if it does not exist. */
void nfsub_rrd_queue (NfsubRrd *rrd, const char *path,
                      const char *const *ds_names, gint64 bin_start,
                      const guint64 *values);
guint nfsub_rrd_n_queued (NfsubRrd *rrd);

/* Writes every queued point in time order, per file: points at or before
 * the file's last update are skipped (a re-run after a crash), a gap is
 * written as unknown.  Returns FALSE naming the file on an RRD error;
 * points already written stay written. */
gboolean nfsub_rrd_flush (NfsubRrd *rrd, GError **error);

/* Points skipped because the file already had them (since creation). */
guint64 nfsub_rrd_n_skipped (NfsubRrd *rrd);

/* Creates `path` with the nfsub layout if it does not exist.  `start`:
 * the time of the first point minus one step. */
gboolean nfsub_rrd_ensure (NfsubRrd *rrd, const char *path,
                           const char *const *ds_names, gint64 start,
                           GError **error);
/* The file's last update (seconds), through rrdcached when configured so
 * that points still in its cache count. */
gboolean nfsub_rrd_last (NfsubRrd *rrd, const char *path, gint64 *last,
                         GError **error);
/* With rrdcached: writes the daemon's pending points of `path` to disk
 * (before reading the file directly, e.g. for graphs). */
gboolean nfsub_rrd_flush_cached (NfsubRrd *rrd, const char *path,
                                 GError **error);

/* The RRA definitions of the layout (NULL-terminated "RRA:..." strings)
 * and the heartbeat; rrd/README.md explains every number. */
const char *const *nfsub_rrd_layout_rras (void);
guint nfsub_rrd_layout_heartbeat (void);

/* -------------------------------------------------------------- file key */

/* The identity of an nfcapd file: its stat record (flows, bytes, packets,
 * first, last) and size, so a copy under another name is the same file.
 * (nfsub's own ledger, STATE_DIR/ledger.tsv, skips a file processed
 * before, under any name, before any plugin sees a flow: a plugin needs no
 * ledger of its own.) */
guint64 nfsub_file_key (const NfsubFileInfo *info);

/* ------------------------------------------------------ subscriber series */

/* The service/access pair of one flow end as a small index, so a plugin
 * keeps one counter per pair and adds series up when a bin closes:
 * index = service * 4 + access, values outside the enums count as
 * unknown (0). */
#define NFSUB_TAG_INDEXES 12
static inline guint
nfsub_tag_index (const NfsubSubscriberTag *t)
{
  guint s = t->service <= NFSUB_SERVICE_MOBILE ? t->service : 0;
  guint a = t->access <= NFSUB_ACCESS_MOBILE ? t->access : 0;
  return s * 4 + a;
}

/* A series selects flow ends by service and access, named SERVICE-ACCESS
 * with SERVICE broadband|mobile|unknown|all and ACCESS
 * pppoe|ipoe|mobile|unknown|all, e.g. "broadband-pppoe", "mobile-all",
 * "all-all".  -1 means "all". */
typedef struct {
  gint service;
  gint access;
} NfsubSeriesSpec;

gboolean nfsub_series_parse (const char *name, NfsubSeriesSpec *spec,
                             GError **error);
gboolean nfsub_series_matches (const NfsubSeriesSpec *spec, guint tag_index);
const char *nfsub_service_name (guint service);
const char *nfsub_access_name (guint access);

/* ----------------------------------------------------------- state files */

/* A GVariant saved with a header (magic, type string, SHA-256 of the
 * data) through nfsub_write_file_atomic, so a damaged or foreign file is
 * one clear error instead of wrong numbers. */
gboolean nfsub_state_save (const char *path, GVariant *state, GError **error);
/* Returns the state (a new reference), or NULL: with *missing TRUE when
 * the file does not exist (and no error), else with error set. */
GVariant *nfsub_state_load (const char *path, const char *type,
                            gboolean *missing, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NfsubBins, nfsub_bins_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NfsubRrd, nfsub_rrd_free)

G_END_DECLS

#endif /* NFSUB_RRD_H */
