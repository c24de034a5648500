/* hourly: IN/OUT bytes of every subscriber series over time, in RRD files
 * that keep hourly points for ten years (rrd/README.md).
 *
 * Per flow end: a subscriber source is IN (upload) for its series, a
 * subscriber destination OUT (download); a flow with no subscriber end is
 * unattributed and has its own file.  Counters are kept per
 * (service, access, direction) cell in 5-minute bins (NfsubBins) and
 * added up into the configured series when a bin closes, so the per-flow
 * work is one or two array increments whatever the number of series.
 *
 * Files, under RRD_DIR/hourly/:
 *   SERIES.rrd        in, out, late_in, late_out
 *   unattributed.rrd  bytes, late
 *   cat-NAME.rrd      in, out, unattributed, late    (category.NAME = filter)
 * State: STATE_DIR/hourly/state.gv (open bins, late counters).  Files
 * already processed never reach the plugin: nfsub's ledger skips them.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <nfsub/nfsub.h>
#include <nfsub/rrd.h>

#include "categories.h"
#include "hourly.h"
#include "../../src/json/json.h"
#include "../../src/rrd/bins-hot.h"
#include "../../src/rrd/plugin-config.h"

#define PLUGIN "hourly"
#define STATE_VERSION 2
#define STATE_TYPE "(uv)"
/* version 1 also held the plugin's own ledger of files */
#define STATE_V1_TYPE "(uvv)"

/* cells: tag index (12) x direction (2), then unattributed, then three per
 * category */
#define CELL(tag, dir) ((tag) * 2 + (dir))
#define CELL_UNATTRIBUTED (NFSUB_TAG_INDEXES * 2)
#define N_FIXED_CELLS (CELL_UNATTRIBUTED + 1)
enum { DIR_IN = 0, DIR_OUT = 1 };

static const char *const series_ds[] = { "in", "out", "late_in", "late_out",
                                         NULL };
static const char *const unattributed_ds[] = { "bytes", "late", NULL };

struct HourlyPlugin {
  char *state_path;
  char *rrd_dir;
  char *unattributed_path;
  GPtrArray *series;      /* NfsubRrdSeries */
  Categories *categories;
  NfsubBins *bins;
  NfsubRrd *rrd;
  guint lateness;
  NfsubBinsHotMode mode;  /* how process() runs a batch (bins-hot.h) */
};

/* CELL (nfsub_tag_index (tag), 0) as the sum of two table entries (two
 * loads instead of two compares and selects): service * 8 and access * 2,
 * values outside the enums as unknown (0), as nfsub_tag_index does. */
static struct {
  guint8 service[256];
  guint8 access[256];
} tag_cell;

static void
tag_cell_init (void)
{
  static gsize done;
  if (!g_once_init_enter (&done))
    return;
  for (guint v = 0; v < 256; v++)
    {
      NfsubSubscriberTag t = { .service = (guint8) v, .access = 0 };
      tag_cell.service[v] = (guint8) CELL (nfsub_tag_index (&t), 0);
      t.service = 0;
      t.access = (guint8) v;
      tag_cell.access[v] = (guint8) CELL (nfsub_tag_index (&t), 0);
    }
  g_once_init_leave (&done, 1);
}

void
hourly_plugin_free (gpointer data)
{
  HourlyPlugin *self = data;
  if (!self)
    return;
  g_free (self->state_path);
  g_free (self->rrd_dir);
  g_free (self->unattributed_path);
  if (self->series)
    g_ptr_array_unref (self->series);
  categories_free (self->categories);
  nfsub_bins_free (self->bins);
  nfsub_rrd_free (self->rrd);
  g_free (self);
}

static void
hourly_emit (gint64 bin_start, const guint64 *row, const guint64 *late,
             gpointer data)
{
  HourlyPlugin *self = data;
  for (guint i = 0; i < self->series->len; i++)
    {
      NfsubRrdSeries *s = self->series->pdata[i];
      guint64 v[4] = { 0, 0, 0, 0 };
      for (guint t = 0; t < NFSUB_TAG_INDEXES; t++)
        if (nfsub_series_matches (&s->spec, t))
          {
            v[0] += row[CELL (t, DIR_IN)];
            v[1] += row[CELL (t, DIR_OUT)];
            v[2] += late[CELL (t, DIR_IN)];
            v[3] += late[CELL (t, DIR_OUT)];
          }
      nfsub_rrd_queue (self->rrd, s->path, series_ds, bin_start, v);
    }
  guint64 u[2] = { row[CELL_UNATTRIBUTED], late[CELL_UNATTRIBUTED] };
  nfsub_rrd_queue (self->rrd, self->unattributed_path, unattributed_ds,
                   bin_start, u);
  categories_emit (self->categories, self->rrd, bin_start, row, late);
}

static char **
hourly_cell_names (HourlyPlugin *self, guint *n_cells)
{
  GPtrArray *names = g_ptr_array_new ();
  for (guint t = 0; t < NFSUB_TAG_INDEXES; t++)
    for (guint d = 0; d < 2; d++)
      g_ptr_array_add (names, g_strdup_printf ("%s.%s.%s",
                                               nfsub_service_name (t / 4),
                                               nfsub_access_name (t % 4),
                                               d == DIR_IN ? "in" : "out"));
  g_ptr_array_add (names, g_strdup ("unattributed"));
  categories_add_cells (self->categories, names);
  *n_cells = names->len;
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}

static gboolean
hourly_load_state (HourlyPlugin *self, GError **error)
{
  gboolean missing;
  g_autoptr (GError) local = NULL;
  g_autoptr (GVariant) state = nfsub_state_load (self->state_path, STATE_TYPE,
                                                 &missing, &local);
  if (!state && !missing)
    {
      /* a version 1 state: its ledger is of no use any more */
      g_autoptr (GError) v1_error = NULL;
      g_autoptr (GVariant) v1 = nfsub_state_load (
        self->state_path, STATE_V1_TYPE, &missing, &v1_error);
      if (v1)
        {
          g_autoptr (GVariant) v1_bins = g_variant_get_child_value (v1, 1);
          state = g_variant_ref_sink (g_variant_new (
            "(u@v)", (guint32) STATE_VERSION, v1_bins));
        }
    }
  if (!state)
    {
      if (missing)
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  guint32 version;
  g_autoptr (GVariant) bins = NULL;
  g_variant_get (state, "(uv)", &version, &bins);
  if (version != STATE_VERSION)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "%s: state version %u, expected %u", self->state_path,
                   version, STATE_VERSION);
      return FALSE;
    }
  if (!nfsub_bins_load (self->bins, bins, &local))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE, "%s: %s",
                   self->state_path, local->message);
      return FALSE;
    }
  return TRUE;
}

HourlyPlugin *
hourly_plugin_new (NfsubHost *host, GKeyFile *config, const char *group,
                   gboolean connect, GError **error)
{
  static const char *const keys[] = { "series", "lateness", "ledger_days",
                                      NULL };
  if (!categories_check_keys (host, config, group, keys, error))
    return NULL;

  g_autoptr (GError) local = NULL;
  g_autoptr (HourlyPlugin) self = g_new0 (HourlyPlugin, 1);
  tag_cell_init ();
  self->rrd_dir = g_build_filename (nfsub_host_rrd_dir (host), PLUGIN, NULL);
  self->unattributed_path = g_build_filename (self->rrd_dir,
                                              "unattributed.rrd", NULL);

  if (!nfsub_rrd_plugin_config (host, config, group, PLUGIN, self->rrd_dir,
                                &self->series, &self->lateness, error))
    return NULL;
  self->categories = categories_new (host, config, group, self->rrd_dir,
                                     error);
  if (!self->categories)
    return NULL;

  const char *dir = nfsub_host_state_dir (host, PLUGIN, error);
  if (!dir)
    return NULL;
  self->state_path = g_build_filename (dir, "state.gv", NULL);

  guint n_cells;
  g_auto (GStrv) cells = hourly_cell_names (self, &n_cells);
  self->bins = nfsub_bins_new ((const char *const *) cells, n_cells,
                               NFSUB_RRD_STEP, self->lateness, hourly_emit,
                               self);
  if (!hourly_load_state (self, error))
    return NULL;
  if (connect)
    {
      self->rrd = nfsub_rrd_new (PLUGIN, nfsub_host_rrdcached_address (host),
                                 error);
      if (!self->rrd)
        return NULL;
    }
  return g_steal_pointer (&self);
}

static gpointer
hourly_init (NfsubHost *host, GKeyFile *config, const char *group,
             GError **error)
{
  return hourly_plugin_new (host, config, group, TRUE, error);
}

static gboolean
hourly_begin_file (gpointer data, const NfsubFileInfo *file, GError **error)
{
  HourlyPlugin *self = data;
  nfsub_bins_begin_file (self->bins, file);
  return TRUE;
}

/* Flows held back for one nfsub_bins_add_items call: they stay in L1. */
#define ITEMS_CHUNK 256

/* a ? x : y for a in {0, 1}, as arithmetic: the compiler would make a
 * branch of the conditional, and the directions of consecutive flows are
 * as good as random */
static inline guint
pick (guint a, guint x, guint y)
{
  return y ^ ((x ^ y) & -a);
}

/* A subscriber source is IN for its cell, a subscriber destination OUT for
 * its cell (both: both), neither: unattributed.  The tag of the first end
 * is chosen before its index is computed, so that one index is computed
 * per flow (two for the rare flow between two subscribers). */
static inline void
hourly_cells (const NfsubFlow *f, guint32 *c0, guint32 *c1)
{
  guint d = f->direction;
  guint in = d & NFSUB_DIR_IN, out = (d & NFSUB_DIR_OUT) >> 1;
  const NfsubSubscriberTag *tag = in ? &f->src_tag : &f->dst_tag;
  /* CELL (nfsub_tag_index (tag), in ^ 1) by table */
  guint c = tag_cell.service[tag->service] + tag_cell.access[tag->access]
            + (in ^ 1);
  *c0 = pick (in | out, c, CELL_UNATTRIBUTED);
  *c1 = NFSUB_BINS_NO_CELL;
  /* a branch: flows between two subscribers are few */
  if (G_UNLIKELY (in & out))
    *c1 = CELL (nfsub_tag_index (&f->dst_tag), DIR_OUT);
}

/* Each flow goes straight into its open bin (bins-hot.h) or, the few
 * that do not lie inside one, to nfsub_bins_add_items.  `selected` and
 * `many` are constants in each of NFSUB_BINS_HOT_RUN's four calls, so
 * each inlined copy tests neither per flow. */
G_ALWAYS_INLINE static inline void
hourly_flows (HourlyPlugin *self, const NfsubFlow *flows,
              const guint32 *selected, guint n, gboolean many)
{
  NfsubBins *bins = self->bins;
  NfsubBinsItem items[ITEMS_CHUNK];
  guint kept = 0;
  for (guint i = 0; i < n;)
    {
      /* one window until the held-back flows must go in */
      NfsubBinsHot window;
      guint64 wm = nfsub_bins_hot_begin (bins, &window);
      /* a copy the loop only reads and whose address no call sees: kept
       * in registers */
      const NfsubBinsHot hot = window;
      guint n_items = 0;
      while (i < n)
        {
          const NfsubFlow *f = selected ? &flows[selected[i]] : &flows[i];
          i++;
          guint32 c0, c1;
          hourly_cells (f, &c0, &c1);
          guint64 first = f->first_ms, last = f->last_ms;
          guint64 bytes = nfsub_flow_bytes (f);
          nfsub_bins_hot_put (&hot, &wm, items, &n_items, many, first, last,
                              bytes, c0, c1);
          if (G_UNLIKELY (n_items == ITEMS_CHUNK
                          || MAX (first, last) >= hot.force_ms))
            break;
        }
      nfsub_bins_hot_end (bins, &window, wm);
      nfsub_bins_add_items (bins, items, n_items);
      kept += n_items;
    }
  nfsub_bins_hot_mode_update (&self->mode, many, n, kept);
}

static gboolean
hourly_process (gpointer data, NfsubBatch *batch, GError **error)
{
  HourlyPlugin *self = data;
  NFSUB_BINS_HOT_RUN (&self->mode, batch, hourly_flows, self);
  categories_account (self->categories, self->bins, batch);
  return TRUE;
}

/* Points wait in memory until the run ends (one RRD update call per file
 * per run); a long run (a backfilled week) writes every day's worth. */
#define FLUSH_EVERY_POINTS 4096

static gboolean
hourly_end_file (gpointer data, const NfsubFileInfo *file, GError **error)
{
  HourlyPlugin *self = data;
  nfsub_bins_close (self->bins);
  if (nfsub_rrd_n_queued (self->rrd) >= FLUSH_EVERY_POINTS)
    return nfsub_rrd_flush (self->rrd, error);
  return TRUE;
}

gboolean
hourly_save_state (HourlyPlugin *self, GError **error)
{
  return nfsub_state_save (self->state_path,
                           g_variant_new ("(uv)", (guint32) STATE_VERSION,
                                          nfsub_bins_save (self->bins)),
                           error);
}

static gboolean
hourly_finish (gpointer data, GError **error)
{
  HourlyPlugin *self = data;
  nfsub_bins_close (self->bins);
  /* RRD before state: if we die in between, the re-run recomputes the
   * same points and the writer skips those the files already hold. */
  if (!nfsub_rrd_flush (self->rrd, error))
    return FALSE;
  if (nfsub_rrd_n_skipped (self->rrd))
    nfsub_info (PLUGIN, "%" G_GUINT64_FORMAT " points were already in the "
                "RRD files (re-run) and were skipped",
                nfsub_rrd_n_skipped (self->rrd));
  return hourly_save_state (self, error);
}

/* ---- `nfsub hourly`: what the state holds ---- */

typedef struct {
  HourlyPlugin *self;
  NfsubJsonWriter *json;
} OpenDump;

/* Per series: IN, OUT (or unattributed bytes) of one row. */
static void
series_values (HourlyPlugin *self, const NfsubRrdSeries *s, const guint64 *row,
               guint64 *in, guint64 *out)
{
  *in = *out = 0;
  for (guint t = 0; t < NFSUB_TAG_INDEXES; t++)
    if (nfsub_series_matches (&s->spec, t))
      {
        *in += row[CELL (t, DIR_IN)];
        *out += row[CELL (t, DIR_OUT)];
      }
}

/* {"SERIES": {"in": IN, "out": OUT}, ..., "unattributed": BYTES} */
static void
series_json (HourlyPlugin *self, NfsubJsonWriter *w, const char *key,
             const guint64 *row)
{
  nfsub_json_begin_object (w, key);
  for (guint i = 0; i < self->series->len; i++)
    {
      NfsubRrdSeries *s = self->series->pdata[i];
      guint64 in, out;
      series_values (self, s, row, &in, &out);
      nfsub_json_begin_object (w, s->name);
      nfsub_json_put_uint (w, "in", in);
      nfsub_json_put_uint (w, "out", out);
      nfsub_json_end_object (w);
    }
  nfsub_json_put_uint (w, "unattributed", row[CELL_UNATTRIBUTED]);
  nfsub_json_end_object (w);
}

static void
dump_open_bin (gint64 bin_start, const guint64 *row, const guint64 *late,
               gpointer data)
{
  OpenDump *d = data;
  nfsub_json_begin_object (d->json, NULL);
  nfsub_json_put_int (d->json, "start", bin_start);
  series_json (d->self, d->json, "series", row);
  nfsub_json_end_object (d->json);
}

/* JSON: the open bins (not in the RRD files yet), the late bytes waiting
 * for the next written bin, and the late totals since the state began,
 * per series.  An open bin and a series' late total are one line each. */
static GString *
hourly_state_json (HourlyPlugin *self)
{
  NfsubJsonWriter w;
  nfsub_json_writer_init (&w, g_string_new (NULL));
  w.line_depth = 3;
  nfsub_json_begin_object (&w, NULL);
  nfsub_json_put_string (&w, "generator", "nfsub hourly");
  nfsub_json_put_uint (&w, "lateness", self->lateness);
  nfsub_json_put_uint (&w, "watermark_ms", nfsub_bins_watermark (self->bins));
  nfsub_json_put_int (&w, "open_from", nfsub_bins_open_from (self->bins));
  nfsub_json_put_uint (&w, "future_bytes",
                       nfsub_bins_future_bytes (self->bins));
  nfsub_json_begin_array (&w, "open");
  OpenDump d = { self, &w };
  nfsub_bins_foreach_open (self->bins, dump_open_bin, &d);
  nfsub_json_end_array (&w);
  guint n_cells = nfsub_bins_n_cells (self->bins);
  g_autofree guint64 *late = g_new0 (guint64, n_cells);
  for (guint c = 0; c < n_cells; c++)
    late[c] = nfsub_bins_late_total (self->bins, c);
  series_json (self, &w, "late_total", late);
  nfsub_json_end_object (&w);
  return w.out;
}

static int
hourly_status_command (NfsubHost *host, int argc, char **argv)
{
  g_autofree char *json = NULL;
  GOptionEntry entries[] = {
    { "json", 'j', 0, G_OPTION_ARG_FILENAME, &json,
      "write the open bins and late totals per series as JSON", "FILE" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx, "Print the hourly plugin's state: open "
                                     "bins, watermark, late bytes.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("nfsub hourly: %s\n", error->message);
      return 2;
    }
  g_autoptr (HourlyPlugin) self = hourly_plugin_new (
    host, nfsub_host_config (host), PLUGIN, FALSE, &error);
  if (!self)
    {
      g_printerr ("nfsub hourly: %s\n", error->message);
      return 1;
    }
  guint64 wm = nfsub_bins_watermark (self->bins);
  gint64 open = nfsub_bins_open_from (self->bins);
  g_autoptr (GDateTime) wm_t = g_date_time_new_from_unix_utc ((gint64) (wm / 1000));
  g_autoptr (GDateTime) open_t = g_date_time_new_from_unix_utc (MAX (open, 0));
  g_autofree char *wm_s = g_date_time_format_iso8601 (wm_t);
  g_autofree char *open_s = g_date_time_format_iso8601 (open_t);
  printf ("rrd directory   %s\n", self->rrd_dir);
  printf ("lateness        %u s\n", self->lateness);
  printf ("watermark       %s\n", wm ? wm_s : "-");
  printf ("open from       %s (%u bins with data, not in the RRD files yet)\n",
          open >= 0 ? open_s : "-", nfsub_bins_n_open (self->bins));
  printf ("future bytes    %" G_GUINT64_FORMAT "\n",
          nfsub_bins_future_bytes (self->bins));
  printf ("late bytes (arrived after their bin was written):\n");
  for (guint c = 0; c < nfsub_bins_n_cells (self->bins); c++)
    {
      guint64 late = nfsub_bins_late_total (self->bins, c);
      if (late)
        printf ("  %-32s %" G_GUINT64_FORMAT "\n",
                nfsub_bins_cell_name (self->bins, c), late);
    }
  if (json)
    {
      g_autoptr (GString) j = hourly_state_json (self);
      if (!g_file_set_contents (json, j->str, (gssize) j->len, &error))
        {
          g_printerr ("nfsub hourly: %s\n", error->message);
          return 1;
        }
    }
  return 0;
}

static const NfsubCommand hourly_commands[] = {
  { "hourly", "print the hourly series state (open bins, late bytes)",
    hourly_status_command },
  { "graph", "draw Figures 1, 2/9/10 and 7/8 from the RRD files (PNG, SVG)",
    hourly_graph_command },
  { NULL, NULL, NULL }
};

NFSUB_PLUGIN_DEFINE (.name = PLUGIN,
                     .description = "IN/OUT per subscriber series and "
                                    "categories into RRD files",
                     .stage = NFSUB_STAGE_ACCOUNT,
                     .init = hourly_init,
                     .begin_file = hourly_begin_file,
                     .process = hourly_process,
                     .end_file = hourly_end_file,
                     .finish = hourly_finish,
                     .free = hourly_plugin_free,
                     .commands = hourly_commands);
