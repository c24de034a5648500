/* ports: bytes by protocol and port (Tables 3 and 4) per week, and port
 * categories over time in RRD files (Figures 7 and 8).
 *
 * For TCP and UDP the port of a flow is the lower of its two ports: a
 * server port (< 1024) marks client/server traffic, two dynamic ports
 * suggest P2P.  Per flow end the plugin adds the flow's bytes to
 *   - the week table of the flow's start: per port cell (service/access of
 *     the subscriber end, or unattributed), per protocol and lower port;
 *   - the 5-minute bins of the RRD series: per (service, access,
 *     direction) and category TCP 80 / TCP 443 / TCP dynamic / UDP 443 /
 *     other.
 * Both are array increments; series and totals are summed when a bin
 * closes or a report is asked for.
 *
 * Files: RRD_DIR/ports/SERIES.rrd (in_/out_ tcp80, tcp443, tcpdyn,
 * udp443, other, total; late_in, late_out), RRD_DIR/ports/unattributed.rrd,
 * RRD_DIR/ports/cat-NAME.rrd; STATE_DIR/ports/state.gv (open weeks, bins)
 * and STATE_DIR/ports/weeks/YYYY-MM-DD.gv (closed weeks).  Files already
 * processed never reach the plugin: nfsub's ledger skips them.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "ports.h"
#include "../../src/rrd/bins-hot.h"

#define PLUGIN "ports"
#define STATE_VERSION 2
#define STATE_TYPE "(uvav)"
/* version 1 also held the plugin's own ledger of files */
#define STATE_V1_TYPE "(uvvav)"
#define DEFAULT_TCP_PORTS "443;80;183;993;22;31000;1935;8080"
#define DEFAULT_UDP_PORTS "443;4500;8801;51820;53"
#define DEFAULT_TOP 5
#define DEFAULT_KEEP 100
/* flows starting later than this after the wall clock: broken clock */
#define FUTURE_SLACK_MS (G_GUINT64_CONSTANT (86400) * 1000)

/* bins: (tag, direction, category), then unattributed per category */
#define PCELL(tag, dir, cat) ((((tag) * 2) + (dir)) * N_PCATS + (cat))
#define PCELL_UNATTRIBUTED(cat) (NFSUB_TAG_INDEXES * 2 * N_PCATS + (cat))
#define N_PFIXED_CELLS (PCELL_UNATTRIBUTED (N_PCATS))

static const char *const pcat_names[N_PCATS] = { "tcp80", "tcp443",
                                                 "tcpdyn", "udp443",
                                                 "other" };
static const char *const series_ds[] = {
  "in_tcp80", "in_tcp443", "in_tcpdyn", "in_udp443", "in_other", "in_total",
  "out_tcp80", "out_tcp443", "out_tcpdyn", "out_udp443", "out_other",
  "out_total", "late_in", "late_out", NULL
};
static const char *const unattributed_ds[] = { "tcp80", "tcp443", "tcpdyn",
                                               "udp443", "other", "total",
                                               "late", NULL };

/* The category (ports_category) by protocol class (TCP, UDP, other) and
 * lower port, 1024 standing for every dynamic port: one load instead of a
 * dozen compares per flow. */
static guint8 category_table[3 * 1025];

/* Per IP protocol: its counters' slot is base + (lower port & port_mask),
 * its category category_table[row + MIN (lower port & port_mask,
 * 1024)]; other protocols have port mask 0 (slot PORT_SLOT_PROTO + proto,
 * category "other").  One load per flow for both. */
typedef struct {
  guint32 base;
  guint16 port_mask;
  guint16 row;
} ProtoInfo;
static ProtoInfo proto_info[256];

static void
category_table_init (void)
{
  static gsize done;
  if (!g_once_init_enter (&done))
    return;
  static const guint8 protos[3] = { 6, 17, 0 };
  for (guint k = 0; k < 3; k++)
    for (guint p = 0; p <= 1024; p++)
      {
        guint16 lower;
        category_table[k * 1025 + p] = (guint8) ports_category (
          protos[k], (guint16) p, (guint16) p, &lower);
      }
  for (guint proto = 0; proto < 256; proto++)
    {
      guint k = proto == 6 ? 0 : proto == 17 ? 1 : 2;
      proto_info[proto] = (ProtoInfo) {
        .base = k < 2 ? k * N_PORTS : PORT_SLOT_PROTO + proto,
        .port_mask = k < 2 ? 0xffff : 0,
        .row = (guint16) (k * 1025),
      };
    }
  g_once_init_leave (&done, 1);
}

/* nfsub_tag_index as the sum of two table entries (two loads instead of
 * two compares and selects): service * 4 and access, values outside the
 * enums as unknown (0). */
static struct {
  guint8 service[256];
  guint8 access[256];
} tag_index;

static void
tag_index_init (void)
{
  static gsize done;
  if (!g_once_init_enter (&done))
    return;
  for (guint v = 0; v < 256; v++)
    {
      NfsubSubscriberTag t = { .service = (guint8) v, .access = 0 };
      tag_index.service[v] = (guint8) nfsub_tag_index (&t);
      t.service = 0;
      t.access = (guint8) v;
      tag_index.access[v] = (guint8) nfsub_tag_index (&t);
    }
  g_once_init_leave (&done, 1);
}

void
ports_plugin_free (gpointer data)
{
  PortsPlugin *self = data;
  if (!self)
    return;
  if (self->tz)
    g_time_zone_unref (self->tz);
  g_free (self->state_path);
  g_free (self->weeks_dir);
  g_free (self->rrd_dir);
  g_free (self->unattributed_path);
  if (self->series)
    g_ptr_array_unref (self->series);
  categories_free (self->categories);
  nfsub_bins_free (self->bins);
  nfsub_rrd_free (self->rrd);
  for (guint k = 0; k < 2; k++)
    if (self->fixed[k])
      g_array_unref (self->fixed[k]);
  if (self->weeks)
    g_ptr_array_unref (self->weeks);
  g_free (self);
}

static void
ports_emit (gint64 bin_start, const guint64 *row, const guint64 *late,
            gpointer data)
{
  PortsPlugin *self = data;
  for (guint i = 0; i < self->series->len; i++)
    {
      NfsubRrdSeries *s = self->series->pdata[i];
      guint64 v[14] = { 0 };
      for (guint t = 0; t < NFSUB_TAG_INDEXES; t++)
        {
          if (!nfsub_series_matches (&s->spec, t))
            continue;
          for (guint d = 0; d < 2; d++)
            for (guint c = 0; c < N_PCATS; c++)
              {
                v[d * 6 + c] += row[PCELL (t, d, c)];
                v[d * 6 + 5] += row[PCELL (t, d, c)];
                v[12 + d] += late[PCELL (t, d, c)];
              }
        }
      nfsub_rrd_queue (self->rrd, s->path, series_ds, bin_start, v);
    }
  guint64 u[7] = { 0 };
  for (guint c = 0; c < N_PCATS; c++)
    {
      u[c] = row[PCELL_UNATTRIBUTED (c)];
      u[5] += u[c];
      u[6] += late[PCELL_UNATTRIBUTED (c)];
    }
  nfsub_rrd_queue (self->rrd, self->unattributed_path, unattributed_ds,
                   bin_start, u);
  categories_emit (self->categories, self->rrd, bin_start, row, late);
}

static char **
ports_cell_names (PortsPlugin *self, guint *n)
{
  GPtrArray *names = g_ptr_array_new ();
  for (guint t = 0; t < NFSUB_TAG_INDEXES; t++)
    for (guint d = 0; d < 2; d++)
      for (guint c = 0; c < N_PCATS; c++)
        g_ptr_array_add (names, g_strdup_printf (
                                  "%s.%s.%s.%s", nfsub_service_name (t / 4),
                                  nfsub_access_name (t % 4),
                                  d ? "out" : "in", pcat_names[c]));
  for (guint c = 0; c < N_PCATS; c++)
    g_ptr_array_add (names, g_strdup_printf ("unattributed.%s",
                                             pcat_names[c]));
  g_assert (names->len == N_PFIXED_CELLS);
  categories_add_cells (self->categories, names);
  *n = names->len;
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}

static GArray *
parse_port_list (NfsubHost *host, GKeyFile *config, const char *group,
                 const char *key, const char *def, GError **error)
{
  g_autofree char *text = g_key_file_has_key (config, group, key, NULL)
                            ? g_key_file_get_value (config, group, key, NULL)
                            : g_strdup (def);
  g_auto (GStrv) parts = g_strsplit_set (text, ";, ", -1);
  GArray *ports = g_array_new (FALSE, FALSE, sizeof (guint16));
  for (char **p = parts; *p; p++)
    {
      if (!**p)
        continue;
      guint64 v;
      if (!g_ascii_string_to_unsigned (*p, 10, 0, 65535, &v, NULL))
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                       "%s: [%s] %s: '%s' is not a port 0..65535",
                       nfsub_host_config_path (host), group, key, *p);
          g_array_unref (ports);
          return NULL;
        }
      guint16 port = (guint16) v;
      g_array_append_val (ports, port);
    }
  return ports;
}

static gboolean
ports_load_state (PortsPlugin *self, GError **error)
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
          g_autoptr (GVariant) v1_weeks = g_variant_get_child_value (v1, 3);
          state = g_variant_ref_sink (g_variant_new (
            "(u@v@av)", (guint32) STATE_VERSION, v1_bins, v1_weeks));
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
  g_autoptr (GVariantIter) weeks = NULL;
  g_variant_get (state, "(uvav)", &version, &bins, &weeks);
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
  GVariant *wv;
  while (g_variant_iter_next (weeks, "v", &wv))
    {
      PortWeek *w = port_week_load (wv, &local);
      g_variant_unref (wv);
      if (!w)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE, "%s: %s",
                       self->state_path, local->message);
          return FALSE;
        }
      /* not in its week file yet (or changed since) */
      w->dirty = TRUE;
      g_ptr_array_add (self->weeks, w);
    }
  return TRUE;
}

PortsPlugin *
ports_plugin_new (NfsubHost *host, GKeyFile *config, const char *group,
                  gboolean connect, GError **error)
{
  static const char *const keys[] = { "series", "lateness", "ledger_days",
                                      "top", "keep_ports", "tcp_ports",
                                      "udp_ports", NULL };
  if (!categories_check_keys (host, config, group, keys, error))
    return NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (PortsPlugin) self = g_new0 (PortsPlugin, 1);
  self->tz = g_time_zone_ref (nfsub_host_timezone (host));
  self->weeks = g_ptr_array_new_with_free_func ((GDestroyNotify) port_week_free);
  self->rrd_dir = g_build_filename (nfsub_host_rrd_dir (host), PLUGIN, NULL);
  self->unattributed_path = g_build_filename (self->rrd_dir,
                                              "unattributed.rrd", NULL);
  category_table_init ();
  tag_index_init ();
  self->future_limit_ms = (guint64) (g_get_real_time () / 1000)
                          + FUTURE_SLACK_MS;

  if (!nfsub_rrd_plugin_config (host, config, group, PLUGIN, self->rrd_dir,
                                &self->series, &self->lateness, error))
    return NULL;
  self->top = DEFAULT_TOP;
  self->keep = DEFAULT_KEEP;
  if (!nfsub_rrd_config_uint (host, config, group, "top", 0, 1000,
                              &self->top, error)
      || !nfsub_rrd_config_uint (host, config, group, "keep_ports", 1, 65536,
                                 &self->keep, error))
    return NULL;
  if (self->top > self->keep)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                   "%s: [%s] top: %u is more than keep_ports (%u), the ports "
                   "a closed week keeps", nfsub_host_config_path (host),
                   group, self->top, self->keep);
      return NULL;
    }
  self->fixed[0] = parse_port_list (host, config, group, "tcp_ports",
                                    DEFAULT_TCP_PORTS, error);
  if (!self->fixed[0])
    return NULL;
  self->fixed[1] = parse_port_list (host, config, group, "udp_ports",
                                    DEFAULT_UDP_PORTS, error);
  if (!self->fixed[1])
    return NULL;
  self->categories = categories_new (host, config, group, self->rrd_dir,
                                     error);
  if (!self->categories)
    return NULL;

  const char *dir = nfsub_host_state_dir (host, PLUGIN, error);
  if (!dir)
    return NULL;
  self->state_path = g_build_filename (dir, "state.gv", NULL);
  self->weeks_dir = g_build_filename (dir, "weeks", NULL);

  guint n_cells;
  g_auto (GStrv) cells = ports_cell_names (self, &n_cells);
  self->bins = nfsub_bins_new ((const char *const *) cells, n_cells,
                               NFSUB_RRD_STEP, self->lateness, ports_emit,
                               self);
  if (!ports_load_state (self, error))
    return NULL;
  if (connect)
    {
      self->rrd = nfsub_rrd_new (PLUGIN, nfsub_host_rrdcached_address (host),
                                 error);
      if (!self->rrd)
        return NULL;
    }
  self->wk_start_ms = 0;
  self->wk_end_ms = 0;
  return g_steal_pointer (&self);
}

static gpointer
ports_init (NfsubHost *host, GKeyFile *config, const char *group,
            GError **error)
{
  return ports_plugin_new (host, config, group, TRUE, error);
}

static char *
week_path (PortsPlugin *self, const char *label)
{
  g_autofree char *file = g_strdup_printf ("%s.gv", label);
  return g_build_filename (self->weeks_dir, file, NULL);
}

static PortWeek *
load_week_file (const char *path, GError **error)
{
  gboolean missing;
  g_autoptr (GError) local = NULL;
  g_autoptr (GVariant) v = nfsub_state_load (path, PORT_WEEK_TYPE, &missing,
                                             &local);
  if (!v)
    {
      if (missing)
        g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                     "%s: no such week file", path);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  PortWeek *w = port_week_load (v, &local);
  if (!w)
    g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE, "%s: %s", path,
                 local->message);
  return w;
}

/* The open week holding `first_ms`: found among the open ones, reopened
 * from its file (late flows of a closed week), or new. */
static PortWeek *
ports_open_week (PortsPlugin *self, guint64 first_ms)
{
  for (guint i = 0; i < self->weeks->len; i++)
    {
      PortWeek *w = self->weeks->pdata[i];
      if ((guint64) w->start * 1000 <= first_ms
          && first_ms < (guint64) w->end * 1000)
        return w;
    }
  g_autofree char *label = NULL;
  port_week_start (self->tz, (gint64) (first_ms / 1000), &label);
  g_autofree char *path = week_path (self, label);
  PortWeek *w = NULL;
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_autoptr (GError) error = NULL;
      w = load_week_file (path, &error);
      if (w)
        nfsub_info (PLUGIN, "week %s reopened for late flows", label);
      else
        /* Never merge into a table we cannot read: count the flows in a
         * fresh table that will not overwrite it (see finish). */
        nfsub_warning (PLUGIN, "%s", error->message);
    }
  if (!w)
    w = port_week_new (self->tz, (gint64) (first_ms / 1000));
  g_ptr_array_add (self->weeks, w);
  return w;
}

static void
ports_switch_week (PortsPlugin *self, guint64 first_ms)
{
  if (first_ms > self->future_limit_ms)
    {
      /* the bins count these as future bytes; no week table for them */
      self->wk = NULL;
      self->wk_start_ms = first_ms;
      self->wk_end_ms = first_ms + 1;
      return;
    }
  PortWeek *w = ports_open_week (self, first_ms);
  self->wk_start_ms = (guint64) w->start * 1000;
  self->wk_end_ms = (guint64) w->end * 1000;
  /* the week counts the files that added to it */
  port_week_add_file (w, self->file_key);
  self->wk = w;
}

static gboolean
ports_begin_file (gpointer data, const NfsubFileInfo *file, GError **error)
{
  PortsPlugin *self = data;
  self->file_key = nfsub_file_key (file);
  self->wk = NULL;
  self->wk_start_ms = 0;
  self->wk_end_ms = 0;
  nfsub_bins_begin_file (self->bins, file);
  return TRUE;
}

/* a ? x : y for a in {0, 1}, as arithmetic: the compiler would make a
 * branch of the conditional, and directions and protocols of consecutive
 * flows are as good as random */
static inline guint
pick (guint a, guint x, guint y)
{
  return y ^ ((x ^ y) & -a);
}

/* Adds staged flow ends to their counters.  Their lines were prefetched
 * when the ends were staged, a group of flows before, so the adds find
 * them in the cache instead of waiting for each in turn. */
static inline void
ports_fold (const PortStaged *staged, guint n)
{
  for (guint j = 0; j < n; j++)
    *staged[j].counter += staged[j].bytes;
}

/* The counter of `slot` in `cell`, its counters allocated on the cell's
 * first flow; `cell` may be a place holder when `staging` is 0 (nothing
 * will be added): then the address is only computed, never used. */
static inline guint64 *
ports_counter (PortCell *cell, guint slot, guint staging)
{
  guint64 *counts = cell->counts;
  if (G_UNLIKELY (!counts && staging))
    counts = port_cell_alloc (cell);
  /* (integer arithmetic: counts is NULL for a place holder) */
  return (guint64 *) ((guintptr) counts + slot * sizeof (guint64));
}

/* One flow: its bins cells, and its ends staged in `staged` (returns how
 * many: none while `staging` is 0, when no week takes the flow). */
G_ALWAYS_INLINE static inline guint
ports_flow (const NfsubFlow *f, guint64 bytes, guint32 *c0, guint32 *c1,
            PortStaged *staged, PortCell *cells, guint staging)
{
  ProtoInfo pi = proto_info[f->proto];
  guint p = MIN (f->src_port, f->dst_port) & pi.port_mask;
  guint cat = category_table[pi.row + MIN (p, 1024)];
  guint slot = pi.base + p;
  guint d = f->direction;
  guint in = d & NFSUB_DIR_IN, out = (d & NFSUB_DIR_OUT) >> 1;
  /* The first end: the subscriber source (IN), else the subscriber
   * destination (OUT), else the unattributed cell; the second: the
   * destination of a flow between two subscribers.  The first end's tag
   * is chosen before its index is computed (one index per flow). */
  const NfsubSubscriberTag *tag = in ? &f->src_tag : &f->dst_tag;
  guint t = tag_index.service[tag->service] + tag_index.access[tag->access];
  guint t0 = pick (in | out, t, PORT_CELL_UNATTRIBUTED);
  guint dir0 = out & ~in;
  guint both = in & out;
  /* PCELL_UNATTRIBUTED (cat) is PCELL (PORT_CELL_UNATTRIBUTED, 0, cat) */
  *c0 = PCELL (t0, dir0, cat);
  *c1 = NFSUB_BINS_NO_CELL;
  guint64 *counter = ports_counter (&cells[t0], slot, staging);
  staged[0].counter = counter;
  staged[0].bytes = bytes;
  /* a branch: flows between two subscribers are few */
  if (G_UNLIKELY (both))
    {
      guint t_dst = nfsub_tag_index (&f->dst_tag);
      *c1 = PCELL (t_dst, 1, cat);
      staged[1].counter = ports_counter (&cells[t_dst], slot, staging);
      staged[1].bytes = bytes;
    }
  /* the line the fold will add to */
  __builtin_prefetch (counter, 1);
  return (1 + both) & -staging;
}

/* Flows held back for one nfsub_bins_add_items call: they stay in L1. */
#define ITEMS_CHUNK 256

/* Flows whose ends are staged before those of the group before are added
 * to their counters: long enough for the prefetches to arrive, short
 * enough for their lines to stay in L1 while the flows stream through. */
#define FOLD_GROUP 256

/* Each flow goes straight into its open bin (bins-hot.h) or, the few
 * that do not lie inside one, to nfsub_bins_add_items; its ends are
 * staged for the week's port counters and added a group of flows later.
 * `selected` and `many` are constants in each of NFSUB_BINS_HOT_RUN's
 * four calls, so each inlined copy tests neither per flow. */
G_ALWAYS_INLINE static inline void
ports_flows (PortsPlugin *self, const NfsubFlow *flows,
             const guint32 *selected, guint n, gboolean many)
{
  NfsubBins *bins = self->bins;
  NfsubBinsItem items[ITEMS_CHUNK];
  guint n_items = 0;
  /* the ends of this group and of the one before: two per flow at most */
  PortStaged staged[2][2 * FOLD_GROUP];
  guint n_staged[2] = { 0, 0 };
  /* place holders while no week takes the flows (nothing is staged) */
  static PortCell no_cells[PORT_CELLS];
  guint64 wk_start = self->wk_start_ms, wk_end = self->wk_end_ms;
  PortCell *cells = self->wk ? self->wk->cells : no_cells;
  guint staging = self->wk != NULL;
  guint kept = 0;
  NfsubBinsHot window;
  guint64 wm = nfsub_bins_hot_begin (bins, &window);
  for (guint at = 0; at < n; at += FOLD_GROUP)
    {
      guint m = MIN (FOLD_GROUP, n - at);
      guint g = (at / FOLD_GROUP) & 1;
      PortStaged *group = staged[g];
      guint n_group = 0;
      for (guint i = at; i < at + m;)
        {
          /* a copy the loop only reads and whose address no call sees:
           * kept in registers */
          const NfsubBinsHot hot = window;
          gboolean flush = FALSE;
          while (i < at + m)
            {
              const NfsubFlow *f = selected ? &flows[selected[i]]
                                            : &flows[i];
              i++;
              guint64 first = f->first_ms, last = f->last_ms;
              if (G_UNLIKELY (first - wk_start >= wk_end - wk_start))
                {
                  ports_switch_week (self, first);
                  wk_start = self->wk_start_ms;
                  wk_end = self->wk_end_ms;
                  cells = self->wk ? self->wk->cells : no_cells;
                  staging = self->wk != NULL;
                }
              guint64 bytes = nfsub_flow_bytes (f);
              guint32 c0, c1;
              n_group += ports_flow (f, bytes, &c0, &c1, group + n_group,
                                     cells, staging);
              nfsub_bins_hot_put (&hot, &wm, items, &n_items, many, first,
                                  last, bytes, c0, c1);
              if (G_UNLIKELY (n_items == ITEMS_CHUNK
                              || MAX (first, last) >= hot.force_ms))
                {
                  flush = TRUE;
                  break;
                }
            }
          if (flush)
            {
              nfsub_bins_hot_end (bins, &window, wm);
              nfsub_bins_add_items (bins, items, n_items);
              kept += n_items;
              n_items = 0;
              wm = nfsub_bins_hot_begin (bins, &window);
            }
        }
      ports_fold (staged[g ^ 1], n_staged[g ^ 1]);
      n_staged[g ^ 1] = 0;
      n_staged[g] = n_group;
    }
  ports_fold (staged[0], n_staged[0]);
  ports_fold (staged[1], n_staged[1]);
  nfsub_bins_hot_end (bins, &window, wm);
  nfsub_bins_add_items (bins, items, n_items);
  nfsub_bins_hot_mode_update (&self->mode, many, n, kept + n_items);
}

static gboolean
ports_process (gpointer data, NfsubBatch *batch, GError **error)
{
  PortsPlugin *self = data;
  NFSUB_BINS_HOT_RUN (&self->mode, batch, ports_flows, self);
  categories_account (self->categories, self->bins, batch);
  return TRUE;
}

#define FLUSH_EVERY_POINTS 4096

static gboolean
ports_end_file (gpointer data, const NfsubFileInfo *file, GError **error)
{
  PortsPlugin *self = data;
  nfsub_bins_close (self->bins);
  if (nfsub_rrd_n_queued (self->rrd) >= FLUSH_EVERY_POINTS)
    return nfsub_rrd_flush (self->rrd, error);
  return TRUE;
}

/* Weeks the watermark has passed by the lateness window are complete:
 * compacted and written to their own file, then left out of the state. */
static gboolean
ports_close_weeks (PortsPlugin *self, GError **error)
{
  guint64 wm = nfsub_bins_watermark (self->bins);
  for (guint i = 0; i < self->weeks->len;)
    {
      PortWeek *w = self->weeks->pdata[i];
      if ((guint64) (w->end + self->lateness) * 1000 > wm)
        {
          i++;
          continue;
        }
      if (!w->dirty)
        {
          /* unchanged since it was read: nothing to write */
          g_ptr_array_remove_index (self->weeks, i);
          self->wk = NULL;
          self->wk_start_ms = 0;
          self->wk_end_ms = 0;
          continue;
        }
      port_week_compact (w, self->keep,
                         (const guint16 *) self->fixed[0]->data,
                         self->fixed[0]->len,
                         (const guint16 *) self->fixed[1]->data,
                         self->fixed[1]->len);
      g_autofree char *path = week_path (self, w->label);
      if (g_mkdir_with_parents (self->weeks_dir, 0755) != 0)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                       "cannot create %s: %s", self->weeks_dir,
                       g_strerror (errno));
          return FALSE;
        }
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        {
          /* A week file we could not read when late flows came: keep it
           * and put the late table beside it, for a human to merge. */
          g_autoptr (GError) local = NULL;
          PortWeek *old = load_week_file (path, &local);
          if (!old)
            {
              g_free (path);
              path = g_strdup_printf ("%s/%s.late-%" G_GINT64_FORMAT ".gv",
                                      self->weeks_dir, w->label,
                                      g_get_real_time ());
              nfsub_warning (PLUGIN, "late flows of week %s saved in %s",
                             w->label, path);
            }
          port_week_free (old);
        }
      if (!nfsub_state_save (path, port_week_save (w), error))
        return FALSE;
      nfsub_info (PLUGIN, "week %s closed (%u files)", w->label,
                  g_hash_table_size (w->files));
      g_ptr_array_remove_index (self->weeks, i);
      self->wk = NULL;
      self->wk_start_ms = 0;
      self->wk_end_ms = 0;
    }
  return TRUE;
}

static gboolean
ports_save_state (PortsPlugin *self, GError **error)
{
  GVariantBuilder weeks;
  g_variant_builder_init (&weeks, G_VARIANT_TYPE ("av"));
  for (guint i = 0; i < self->weeks->len; i++)
    g_variant_builder_add (&weeks, "v", port_week_save (self->weeks->pdata[i]));
  return nfsub_state_save (self->state_path,
                           g_variant_new ("(uv@av)", (guint32) STATE_VERSION,
                                          nfsub_bins_save (self->bins),
                                          g_variant_builder_end (&weeks)),
                           error);
}

static gboolean
ports_finish (gpointer data, GError **error)
{
  PortsPlugin *self = data;
  nfsub_bins_close (self->bins);
  /* RRD first: a crash before the state is saved re-runs into points the
   * files already hold, which the writer skips. */
  if (!nfsub_rrd_flush (self->rrd, error))
    return FALSE;
  if (!ports_close_weeks (self, error))
    return FALSE;
  return ports_save_state (self, error);
}

static gint
compare_labels (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
ports_stored_weeks (PortsPlugin *self, GError **error)
{
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < self->weeks->len; i++)
    {
      PortWeek *w = self->weeks->pdata[i];
      char *l = g_strdup (w->label);
      g_ptr_array_add (labels, l);
      g_hash_table_add (seen, l);
    }
  g_autoptr (GDir) dir = g_dir_open (self->weeks_dir, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)))
    {
      if (strlen (name) != 13 || !g_str_has_suffix (name, ".gv"))
        continue;
      char *l = g_strndup (name, 10);
      if (g_hash_table_contains (seen, l))
        {
          g_free (l);
          continue;
        }
      g_ptr_array_add (labels, l);
      g_hash_table_add (seen, l);
    }
  g_ptr_array_sort (labels, compare_labels);
  return g_steal_pointer (&labels);
}

PortWeek *
ports_get_week (PortsPlugin *self, const char *label, gboolean *borrowed,
                GError **error)
{
  *borrowed = FALSE;
  for (guint i = 0; i < self->weeks->len; i++)
    {
      PortWeek *w = self->weeks->pdata[i];
      if (strcmp (w->label, label) == 0)
        {
          *borrowed = TRUE;
          return w;
        }
    }
  g_autofree char *path = week_path (self, label);
  return load_week_file (path, error);
}

static const NfsubCommand ports_commands[] = {
  { "ports", "bytes by protocol and port for a week (Tables 3, 4); JSON, CSV",
    ports_report_command },
  { NULL, NULL, NULL }
};

NFSUB_PLUGIN_DEFINE (.name = PLUGIN,
                     .description = "bytes by protocol and port per week, "
                                    "port categories into RRD files",
                     .stage = NFSUB_STAGE_ACCOUNT,
                     .init = ports_init,
                     .begin_file = ports_begin_file,
                     .process = ports_process,
                     .end_file = ports_end_file,
                     .finish = ports_finish,
                     .free = ports_plugin_free,
                     .commands = ports_commands);
