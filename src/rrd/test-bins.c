/* NfsubBins against a plain model of what it promises (include/nfsub/
 * rrd.h, rrd/README.md): per flow end, bytes spread over the bins the
 * flow covers in proportion to time (rounded down, the last bin takes the
 * remainder), bins closing in time order once the watermark is
 * `lateness` past them, late bytes for closed bins, future bytes for
 * flows starting more than a day after the wall clock, records longer
 * than a day clipped, a flow more than MAX_OPEN_BINS ahead closing the
 * oldest bins first.
 *
 * The model keeps open bins in a hash table and does everything the
 * obvious way, one flow end at a time.  Random flows with every edge
 * case (zero length, ending before they start, two bins, many bins, a
 * day and more, late, future, far ahead, byte counts whose split needs
 * 128 bits, both ends) go to the library by nfsub_bins_add and by
 * nfsub_bins_add_items in chunks of every size, and through a plugin's
 * own loop (bins-hot.h: the flows inside one open bin added in the loop,
 * the others held back and added in chunks), with saves and reloads in
 * between; every emitted bin and the final state must equal the model's.
 */
#include "config.h"

#include <string.h>

#include <nfsub/plugin.h>
#include <nfsub/rrd.h>

#include "bins-hot.h"

#define N_CELLS 7
#define STEP 300
#define STEP_MS (STEP * G_GUINT64_CONSTANT (1000))
#define LATENESS 600
#define MAX_OPEN_BINS 4096
#define MAX_FLOW_SPAN_MS (G_GUINT64_CONSTANT (86400) * 1000)
#define NOT_STARTED G_MININT64

/* ------------------------------------------------------------ the model */

typedef struct {
  guint64 cell[N_CELLS];
} Row;

typedef struct {
  gint64 base;
  guint64 watermark;
  guint64 future_limit;
  guint64 future_bytes;
  guint64 late_pending[N_CELLS];
  guint64 late_total[N_CELLS];
  GHashTable *open; /* gint64 bin -> Row (saw data) */
  GString *emitted;
} Model;

static void
model_init (Model *m, guint64 future_limit)
{
  memset (m, 0, sizeof *m);
  m->base = NOT_STARTED;
  m->future_limit = future_limit;
  m->open = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                   g_free);
  m->emitted = g_string_new (NULL);
}

static void
model_clear (Model *m)
{
  g_hash_table_unref (m->open);
  g_string_free (m->emitted, TRUE);
}

static void
print_row (GString *out, gint64 start, const guint64 *row,
           const guint64 *late)
{
  g_string_append_printf (out, "%" G_GINT64_FORMAT ":", start);
  for (guint c = 0; c < N_CELLS; c++)
    g_string_append_printf (out, " %" G_GUINT64_FORMAT, row[c]);
  g_string_append (out, " late");
  for (guint c = 0; c < N_CELLS; c++)
    g_string_append_printf (out, " %" G_GUINT64_FORMAT, late[c]);
  g_string_append_c (out, '\n');
}

static Row *
model_row (Model *m, gint64 bin)
{
  Row *r = g_hash_table_lookup (m->open, &bin);
  if (!r)
    {
      r = g_new0 (Row, 1);
      g_hash_table_insert (m->open, g_memdup2 (&bin, sizeof bin), r);
    }
  return r;
}

static void
model_close_oldest (Model *m)
{
  gint64 bin = m->base;
  Row *r = g_hash_table_lookup (m->open, &bin);
  if (r)
    {
      print_row (m->emitted, bin * STEP, r->cell, m->late_pending);
      memset (m->late_pending, 0, sizeof m->late_pending);
      g_hash_table_remove (m->open, &bin);
    }
  m->base++;
}

static void
model_put (Model *m, gint64 bin, guint cell, guint64 bytes)
{
  if (bin < m->base)
    {
      m->late_pending[cell] += bytes;
      m->late_total[cell] += bytes;
    }
  else
    model_row (m, bin)->cell[cell] += bytes;
}

static void
model_add (Model *m, guint cell, guint64 first, guint64 last, guint64 bytes)
{
  if (first > m->future_limit)
    {
      m->future_bytes += bytes;
      return;
    }
  if (last < first)
    last = first;
  if (last - first > MAX_FLOW_SPAN_MS)
    last = first + MAX_FLOW_SPAN_MS;
  gint64 b0 = (gint64) (first / STEP_MS);
  gint64 b1 = last > first ? (gint64) ((last - 1) / STEP_MS) : b0;
  if (m->base == NOT_STARTED)
    m->base = b0 - LATENESS / STEP - 1;
  /* a flow too far ahead closes the oldest bins first; with none left
   * open, the base jumps */
  while (b1 - m->base >= MAX_OPEN_BINS)
    {
      model_close_oldest (m);
      if (g_hash_table_size (m->open) == 0)
        {
          m->base = MAX (m->base, b1 - MAX_OPEN_BINS + 1);
          break;
        }
    }
  m->watermark = MAX (m->watermark, last);
  guint64 given = 0;
  for (gint64 bin = b0; bin <= b1; bin++)
    {
      guint64 part;
      if (bin == b1)
        part = bytes - given;
      else
        {
          guint64 end = (guint64) (bin + 1) * STEP_MS;
          guint64 start = MAX ((guint64) bin * STEP_MS, first);
          part = (guint64) ((unsigned __int128) bytes * (end - start)
                            / (last - first));
        }
      given += part;
      /* a bin a flow touches is seen, even for 0 bytes */
      model_put (m, bin, cell, part);
    }
}

static void
model_begin_file (Model *m, guint64 first)
{
  if (m->base == NOT_STARTED && first && first <= m->future_limit)
    m->base = (gint64) (first / STEP_MS);
}

static void
model_close (Model *m)
{
  if (m->base == NOT_STARTED)
    return;
  while ((guint64) (m->base + 1) * STEP_MS + LATENESS * 1000 <= m->watermark)
    {
      if (g_hash_table_size (m->open) == 0)
        {
          m->base = (gint64) ((m->watermark - LATENESS * 1000) / STEP_MS);
          break;
        }
      model_close_oldest (m);
    }
}

/* ---------------------------------------------------------- the library */

typedef struct {
  GString *emitted;
} Sink;

static void
sink_emit (gint64 bin_start, const guint64 *row, const guint64 *late,
           gpointer data)
{
  Sink *s = data;
  print_row (s->emitted, bin_start, row, late);
}

static const char *const cell_names[N_CELLS + 1] = { "a", "b", "c", "d", "e",
                                                     "f", "g", NULL };

static gint
compare_bins (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

/* A saved state, library's or model's, as comparable text. */
static char *
state_text (GVariant *state)
{
  guint32 version;
  g_autofree const char **names = NULL;
  guint64 step_ms, watermark, future;
  gint64 base;
  g_autoptr (GVariant) late_p = NULL, late_t = NULL, rows = NULL;
  g_variant_get (state, "(u^a&stxtt@at@at@a(xat))", &version, &names,
                 &step_ms, &base, &watermark, &future, &late_p, &late_t,
                 &rows);
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "base %" G_GINT64_FORMAT " wm %" G_GUINT64_FORMAT
                          " future %" G_GUINT64_FORMAT "\n", base, watermark,
                          future);
  gsize n;
  const guint64 *lp = g_variant_get_fixed_array (late_p, &n, sizeof (guint64));
  g_assert_cmpuint (n, ==, N_CELLS);
  const guint64 *lt = g_variant_get_fixed_array (late_t, &n, sizeof (guint64));
  print_row (s, -1, lp, lt);
  GVariantIter iter;
  g_variant_iter_init (&iter, rows);
  gint64 bin;
  GVariant *row_v;
  static const guint64 zero[N_CELLS];
  while (g_variant_iter_next (&iter, "(x@at)", &bin, &row_v))
    {
      const guint64 *row = g_variant_get_fixed_array (row_v, &n,
                                                      sizeof (guint64));
      g_assert_cmpuint (n, ==, N_CELLS);
      print_row (s, bin, row, zero);
      g_variant_unref (row_v);
    }
  return g_string_free (s, FALSE);
}

static char *
model_state_text (Model *m)
{
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "base %" G_GINT64_FORMAT " wm %" G_GUINT64_FORMAT
                          " future %" G_GUINT64_FORMAT "\n", m->base,
                          m->watermark, m->future_bytes);
  print_row (s, -1, m->late_pending, m->late_total);
  GArray *bins = g_array_new (FALSE, FALSE, sizeof (gint64));
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, m->open);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_array_append_val (bins, *(gint64 *) key);
  g_array_sort (bins, compare_bins);
  static const guint64 zero[N_CELLS];
  for (guint i = 0; i < bins->len; i++)
    {
      gint64 bin = g_array_index (bins, gint64, i);
      print_row (s, bin, ((Row *) g_hash_table_lookup (m->open, &bin))->cell,
                 zero);
    }
  g_array_unref (bins);
  return g_string_free (s, FALSE);
}

/* ------------------------------------------------------------- the flows */

typedef struct {
  guint64 first, last, bytes;
  guint32 cell[2];
} Flow;

/* One file's flows around `now` (ms), with every edge case now and then
 * (`plain`: none, as in files that arrive in time). */
static GArray *
random_file (GRand *rng, guint64 now, guint64 future_limit, guint n,
             gboolean plain)
{
  GArray *flows = g_array_new (FALSE, FALSE, sizeof (Flow));
  for (guint i = 0; i < n; i++)
    {
      Flow f = { 0 };
      /* starts within the active timeout before the file and its 5 min */
      f.first = now - 300000 + (guint64) g_rand_int_range (rng, 0, 600000);
      gint kind = g_rand_int_range (rng, 0, 100);
      if (plain && kind >= 75)
        kind = 99;
      if (kind < 40)
        f.last = f.first + (guint64) g_rand_int_range (rng, 0, 20000);
      else if (kind < 70)
        f.last = f.first + (guint64) g_rand_int_range (rng, 200000, 300001);
      else if (kind < 75)
        f.last = f.first; /* zero length */
      else if (kind < 78)
        {
          /* ending before it starts; now and then the newest of all (its
           * start, not its end, moves the watermark) */
          if (g_rand_int_range (rng, 0, 50) == 0)
            f.first = now + (guint64) g_rand_int_range (rng, 3, 10) * 3600000;
          f.last = f.first - (guint64) g_rand_int_range (rng, 1, 5000);
        }
      else if (kind < 84)
        f.last = f.first + (guint64) g_rand_int_range (rng, 600000, 7200000);
      else if (kind < 85)
        f.last = f.first + MAX_FLOW_SPAN_MS
                 + (guint64) g_rand_int_range (rng, 0, 3) * 3600000;
      else if (kind < 90)
        {
          /* late: hours before */
          f.first -= (guint64) g_rand_int_range (rng, 1, 48) * 3600000;
          f.last = f.first + (guint64) g_rand_int_range (rng, 0, 400000);
        }
      else if (kind < 91)
        {
          /* a broken exporter clock: beyond the future limit (now and
           * then across it, which moves the watermark a long way) */
          gboolean across = g_rand_int_range (rng, 0, 300) == 0;
          f.first = future_limit - (across ? 1000 : 0)
                    + (across ? 0 : (guint64) g_rand_int_range (rng, 1, 3))
                        * 86400000;
          f.last = f.first + (guint64) g_rand_int_range (rng, 0, 900000);
        }
      else if (kind < 92 && g_rand_int_range (rng, 0, 20) == 0)
        {
          /* far ahead: more than MAX_OPEN_BINS bins (closes bins) */
          f.first = now + (guint64) g_rand_int_range (rng, 15, 40)
                          * 86400000;
          f.last = f.first + (guint64) g_rand_int_range (rng, 0, 400000);
        }
      else
        f.last = f.first + (guint64) g_rand_int_range (rng, 0, 310000);
      gint size = g_rand_int_range (rng, 0, 100);
      f.bytes = size < 3    ? 0
                : size < 6  ? G_MAXUINT64 / (guint64) g_rand_int_range (
                                rng, 2, 5000) /* a 128-bit split */
                : size < 50 ? (guint64) g_rand_int_range (rng, 40, 1500)
                            : (guint64) g_rand_int_range (rng, 1, G_MAXINT32)
                                * (guint64) g_rand_int_range (rng, 1, 1000);
      f.cell[0] = (guint32) g_rand_int_range (rng, 0, N_CELLS);
      gint both = g_rand_int_range (rng, 0, 10);
      f.cell[1] = both == 0   ? (guint32) g_rand_int_range (rng, 0, N_CELLS)
                  : both == 1 ? f.cell[0]
                              : NFSUB_BINS_NO_CELL;
      g_array_append_val (flows, f);
    }
  return flows;
}

typedef enum {
  FEED_ONE_BY_ONE, /* nfsub_bins_add per end */
  FEED_ITEMS,      /* nfsub_bins_add_items, chunks of random sizes */
  FEED_HOT,        /* bins-hot.h as a plugin's loop uses it */
} Feed;

/* The loop of bins-hot.h's comment, with held-back chunks of `chunk`
 * flows at most, `many` or not.  Returns how many flows went in through
 * the window. */
static guint
hot_feed (NfsubBins *bins, GArray *flows, guint chunk, gboolean many)
{
  g_autofree NfsubBinsItem *items = g_new (NfsubBinsItem, chunk);
  guint n_items = 0, n_hot = 0;
  NfsubBinsHot hot;
  guint64 wm = nfsub_bins_hot_begin (bins, &hot);
  for (guint i = 0; i < flows->len; i++)
    {
      Flow *f = &g_array_index (flows, Flow, i);
      /* the first end is always a cell in the plugins */
      guint32 c0 = f->cell[0], c1 = f->cell[1];
      if (c0 == NFSUB_BINS_NO_CELL)
        {
          c0 = c1;
          c1 = NFSUB_BINS_NO_CELL;
        }
      if (c0 == NFSUB_BINS_NO_CELL)
        continue;
      guint before = n_items;
      nfsub_bins_hot_put (&hot, &wm, items, &n_items, many, f->first,
                          f->last, f->bytes, c0, c1);
      n_hot += n_items == before;
      if (n_items == chunk || MAX (f->first, f->last) >= hot.force_ms)
        {
          nfsub_bins_hot_end (bins, &hot, wm);
          nfsub_bins_add_items (bins, items, n_items);
          n_items = 0;
          wm = nfsub_bins_hot_begin (bins, &hot);
        }
    }
  nfsub_bins_hot_end (bins, &hot, wm);
  nfsub_bins_add_items (bins, items, n_items);
  return n_hot;
}

static guint n_hot_total, n_flows_total;

static void
library_feed (NfsubBins *bins, GArray *flows, Feed feed, GRand *rng)
{
  if (feed == FEED_HOT)
    {
      guint chunk = (guint) g_rand_int_range (rng, 1, 300);
      /* a batch of the host at a time */
      for (guint at = 0; at < flows->len; at += 2048)
        {
          g_autoptr (GArray) batch = g_array_new (FALSE, FALSE, sizeof (Flow));
          g_array_append_vals (batch, &g_array_index (flows, Flow, at),
                               MIN (2048, flows->len - at));
          /* both ways of keeping flows, batch by batch */
          n_hot_total += hot_feed (bins, batch, chunk,
                                   g_rand_boolean (rng));
        }
      n_flows_total += flows->len;
      return;
    }
  if (feed == FEED_ONE_BY_ONE)
    {
      for (guint i = 0; i < flows->len; i++)
        {
          Flow *f = &g_array_index (flows, Flow, i);
          for (guint e = 0; e < 2; e++)
            if (f->cell[e] != NFSUB_BINS_NO_CELL)
              nfsub_bins_add (bins, f->cell[e], f->first, f->last, f->bytes);
        }
      return;
    }
  g_autofree NfsubBinsItem *items = g_new (NfsubBinsItem, flows->len);
  for (guint i = 0; i < flows->len; i++)
    {
      Flow *f = &g_array_index (flows, Flow, i);
      items[i] = (NfsubBinsItem) { f->first, f->last, f->bytes,
                                   { f->cell[0], f->cell[1] } };
    }
  for (guint at = 0; at < flows->len;)
    {
      /* (not inside MIN, which would draw twice) */
      guint chunk = (guint) g_rand_int_range (rng, 1, 3000);
      guint n = MIN (chunk, flows->len - at);
      nfsub_bins_add_items (bins, items + at, n);
      at += n;
    }
}

static void
model_feed (Model *m, GArray *flows)
{
  for (guint i = 0; i < flows->len; i++)
    {
      Flow *f = &g_array_index (flows, Flow, i);
      for (guint e = 0; e < 2; e++)
        if (f->cell[e] != NFSUB_BINS_NO_CELL)
          model_add (m, f->cell[e], f->first, f->last, f->bytes);
    }
}

static void
check_same (NfsubBins *bins, Sink *sink, Model *m, const char *when)
{
  g_autoptr (GVariant) saved = g_variant_ref_sink (nfsub_bins_save (bins));
  g_autofree char *lib = state_text (saved);
  g_autofree char *mod = model_state_text (m);
  if (strcmp (lib, mod) != 0 || strcmp (sink->emitted->str, m->emitted->str))
    g_test_message ("%s:\nlibrary state\n%s\nmodel state\n%s", when, lib, mod);
  g_assert_cmpstr (sink->emitted->str, ==, m->emitted->str);
  g_assert_cmpstr (lib, ==, mod);
  g_assert_cmpuint (nfsub_bins_watermark (bins), ==, m->watermark);
  g_assert_cmpuint (nfsub_bins_future_bytes (bins), ==, m->future_bytes);
  for (guint c = 0; c < N_CELLS; c++)
    g_assert_cmpuint (nfsub_bins_late_total (bins, c), ==, m->late_total[c]);
}

/* A run of files, one nfsub_bins_begin_file / feed / close each, and now
 * and then a save and a load into a fresh NfsubBins (a new process). */
static void
test_against_model (gconstpointer data)
{
  Feed feed = GPOINTER_TO_INT (data) & 0xf;
  gboolean plain = GPOINTER_TO_INT (data) >> 4;
  n_hot_total = n_flows_total = 0;
  for (guint32 seed = 1; seed <= 12; seed++)
    {
      g_autoptr (GRand) rng = g_rand_new_with_seed (seed * 7919 + feed);
      Sink sink = { g_string_new (NULL) };
      g_autoptr (NfsubBins) bins = nfsub_bins_new (
        cell_names, N_CELLS, STEP, LATENESS, sink_emit, &sink);
      /* the library's future limit is a day after its creation */
      guint64 limit = (guint64) (g_get_real_time () / 1000) + MAX_FLOW_SPAN_MS;
      Model m;
      model_init (&m, limit);
      /* flows near the future limit would straddle the two clocks */
      guint64 now = G_GUINT64_CONSTANT (1717372800000)
                    + (guint64) g_rand_int_range (rng, 0, 86400) * 1000;
      for (guint file = 0; file < 40; file++)
        {
          /* (a little before the limit: the library's moves on when it
           * is made anew) */
          g_autoptr (GArray) flows = random_file (
            rng, now, limit - 5000, (guint) g_rand_int_range (rng, 0, 3000),
            plain);
          if (g_rand_int_range (rng, 0, 4) == 0)
            {
              /* a file whose stat record gives its first flow */
              NfsubFileInfo info = { 0 };
              info.has_stat = TRUE;
              info.stat.numflows = flows->len;
              info.stat.first_ms = now - 300000;
              info.stat.last_ms = now + 300000
                                  + (guint64) g_rand_int_range (rng, 0, 3)
                                      * 86400000;
              nfsub_bins_begin_file (bins, &info);
              if (flows->len)
                model_begin_file (&m, info.stat.first_ms);
            }
          library_feed (bins, flows, feed, rng);
          model_feed (&m, flows);
          nfsub_bins_close (bins);
          model_close (&m);
          g_autofree char *when = g_strdup_printf ("seed %u file %u", seed,
                                                   file);
          check_same (bins, &sink, &m, when);
          if (g_rand_int_range (rng, 0, 5) == 0)
            {
              g_autoptr (GVariant) saved
                = g_variant_ref_sink (nfsub_bins_save (bins));
              g_clear_pointer (&bins, nfsub_bins_free);
              bins = nfsub_bins_new (cell_names, N_CELLS, STEP, LATENESS,
                                     sink_emit, &sink);
              g_autoptr (GError) error = NULL;
              g_assert_true (nfsub_bins_load (bins, saved, &error));
              g_assert_no_error (error);
            }
          /* the next file: 5 minutes on, or a gap, or a step back */
          gint next = plain ? 2 : g_rand_int_range (rng, 0, 20);
          now += next == 0   ? (guint64) g_rand_int_range (rng, 1, 72) * 3600000
                 : next == 1 ? 0
                             : 300000;
        }
      g_string_free (sink.emitted, TRUE);
      model_clear (&m);
    }
  if (feed == FEED_HOT)
    {
      /* Through the window (in the batches not run `many`, half of
       * them): most flows of files in time order, some of files with
       * every edge case (mostly late: their far ahead flows close the
       * bins of the others); never all. */
      g_test_message ("%u of %u flows through the window", n_hot_total,
                      n_flows_total);
      g_assert_cmpuint (n_hot_total, >, n_flows_total / (plain ? 4 : 1000));
      g_assert_cmpuint (n_hot_total, <, n_flows_total);
    }
}

/* A record ending before it starts counts at its start, and its start
 * (not its end) moves the watermark, whether its bin is open already (the
 * fast path) or not (the slow path). */
static void
test_ends_before_start (void)
{
  for (guint grown = 0; grown < 2; grown++)
    {
      g_autoptr (NfsubBins) bins = nfsub_bins_new (cell_names, N_CELLS, STEP,
                                                   LATENESS, NULL, NULL);
      guint64 t = G_GUINT64_CONSTANT (1717372800000); /* 2024-06-03 00:00 */
      NfsubFileInfo info = { 0 };
      info.has_stat = TRUE;
      info.stat.numflows = 2;
      info.stat.first_ms = t;
      /* grown: the file's stat record opens a day of bins at once */
      info.stat.last_ms = grown ? t + 86400000 : t;
      nfsub_bins_begin_file (bins, &info);
      nfsub_bins_add (bins, 0, t, t + 1000, 100);
      /* 3 hours later, 2 s long backwards */
      nfsub_bins_add (bins, 1, t + 10800000, t + 10798000, 50);
      g_assert_cmpuint (nfsub_bins_watermark (bins), ==, t + 10800000);
      g_autoptr (GVariant) saved = g_variant_ref_sink (nfsub_bins_save (bins));
      g_autofree char *text = state_text (saved);
      /* bin 5724576 is t, 36 bins later its 50 bytes */
      g_assert_nonnull (strstr (text, "\n5724576: 100 0 0 0 0 0 0 "));
      g_assert_nonnull (strstr (text, "\n5724612: 0 50 0 0 0 0 0 "));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/bins/model/one-by-one",
                        GINT_TO_POINTER (FEED_ONE_BY_ONE), test_against_model);
  g_test_add_data_func ("/bins/model/items", GINT_TO_POINTER (FEED_ITEMS),
                        test_against_model);
  g_test_add_data_func ("/bins/model/hot", GINT_TO_POINTER (FEED_HOT),
                        test_against_model);
  g_test_add_data_func ("/bins/model/hot-in-time",
                        GINT_TO_POINTER (FEED_HOT | 1 << 4),
                        test_against_model);
  g_test_add_data_func ("/bins/model/items-in-time",
                        GINT_TO_POINTER (FEED_ITEMS | 1 << 4),
                        test_against_model);
  g_test_add_func ("/bins/ends-before-start", test_ends_before_start);
  return g_test_run ();
}
