/* Week tables of the ports plugin (see weeks.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "weeks.h"

gint64
port_week_start (GTimeZone *tz, gint64 t, char **label)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (t);
  g_autoptr (GDateTime) local = dt ? g_date_time_to_timezone (dt, tz) : NULL;
  if (!local)
    {
      /* outside GDateTime's range: a broken timestamp; put it at 1970 */
      if (label)
        *label = g_strdup ("1970-01-01");
      return 0;
    }
  int dow = g_date_time_get_day_of_week (local); /* 1 = Monday */
  g_autoptr (GDateTime) day = g_date_time_new (
    tz, g_date_time_get_year (local), g_date_time_get_month (local),
    g_date_time_get_day_of_month (local), 0, 0, 0);
  g_autoptr (GDateTime) monday = g_date_time_add_days (day, -(dow - 1));
  if (label)
    *label = g_date_time_format (monday, "%Y-%m-%d");
  return g_date_time_to_unix (monday);
}

void
port_week_iso (GTimeZone *tz, gint64 start, int *year, int *week)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (start);
  g_autoptr (GDateTime) local = g_date_time_to_timezone (dt, tz);
  *year = g_date_time_get_week_numbering_year (local);
  *week = g_date_time_get_week_of_year (local);
}

static PortWeek *
port_week_alloc (void)
{
  PortWeek *w = g_new0 (PortWeek, 1);
  w->files = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                    NULL);
  return w;
}

PortWeek *
port_week_new (GTimeZone *tz, gint64 t)
{
  PortWeek *w = port_week_alloc ();
  w->start = port_week_start (tz, t, &w->label);
  g_autoptr (GDateTime) s = g_date_time_new_from_unix_utc (w->start);
  g_autoptr (GDateTime) sl = g_date_time_to_timezone (s, tz);
  g_autoptr (GDateTime) e = g_date_time_add_days (sl, 7);
  w->end = g_date_time_to_unix (e);
  w->dirty = TRUE;
  return w;
}

/* A cell's counters are 1 MiB hit at random (dynamic ports): on a 2 MiB
 * huge page where the kernel allows it (madvise mode), so the accesses
 * miss the cache at most, not the TLB as well. */
#define HUGE_PAGE (2u << 20)

guint64 *
port_cell_alloc (PortCell *c)
{
  /* the whole huge page is ours, or the kernel cannot map it as one */
  gsize size = (PORT_SLOTS * sizeof (guint64) + HUGE_PAGE - 1)
               & ~(gsize) (HUGE_PAGE - 1);
  void *p = NULL;
  if (posix_memalign (&p, HUGE_PAGE, size) != 0)
    g_error ("ports: out of memory (%zu bytes)", size);
#ifdef MADV_HUGEPAGE
  (void) madvise (p, size, MADV_HUGEPAGE);
#endif
  memset (p, 0, PORT_SLOTS * sizeof (guint64));
  c->counts = p;
  return c->counts;
}

void
port_cell_clear (PortCell *c)
{
  free (c->counts);
  memset (c, 0, sizeof *c);
}

guint64
port_cell_proto (const PortCell *c, guint8 proto)
{
  if (proto == 6 || proto == 17)
    return port_cell_group (c, proto == 17, PORT_LOW)
           + port_cell_group (c, proto == 17, PORT_HIGH);
  return c->counts ? c->counts[PORT_SLOT_PROTO + proto] : 0;
}

guint64
port_cell_total (const PortCell *c)
{
  guint64 sum = c->rest[0][0] + c->rest[0][1] + c->rest[1][0] + c->rest[1][1];
  if (c->counts)
    for (guint i = 0; i < PORT_SLOTS; i++)
      sum += c->counts[i];
  return sum;
}

void
port_week_free (PortWeek *w)
{
  if (!w)
    return;
  for (guint i = 0; i < PORT_CELLS; i++)
    port_cell_clear (&w->cells[i]);
  g_hash_table_unref (w->files);
  g_free (w->label);
  g_free (w);
}

void
port_week_add_file (PortWeek *w, guint64 key)
{
  gint64 *k = g_new (gint64, 1);
  *k = (gint64) key;
  g_hash_table_add (w->files, k); /* a set: a file counts once */
  w->dirty = TRUE;
}

static void
cell_accumulate (PortCell *out, const PortCell *c)
{
  for (guint k = 0; k < 2; k++)
    {
      out->rest[k][0] += c->rest[k][0];
      out->rest[k][1] += c->rest[k][1];
    }
  if (!c->counts)
    return;
  if (!out->counts)
    port_cell_alloc (out);
  for (guint i = 0; i < PORT_SLOTS; i++)
    out->counts[i] += c->counts[i];
}

void
port_cell_sum (const PortWeek *w, const NfsubSeriesSpec *spec, PortCell *out)
{
  port_cell_clear (out);
  if (!spec)
    {
      cell_accumulate (out, &w->cells[PORT_CELL_UNATTRIBUTED]);
      return;
    }
  for (guint t = 0; t < NFSUB_TAG_INDEXES; t++)
    if (nfsub_series_matches (spec, t))
      cell_accumulate (out, &w->cells[t]);
}

guint64
port_cell_group (const PortCell *c, guint k, guint g)
{
  guint64 sum = c->rest[k][g];
  const guint64 *ports = port_cell_ports (c, k);
  if (ports)
    for (guint p = g == PORT_LOW ? 0 : 1024; p < (g == PORT_LOW ? 1024 : N_PORTS); p++)
      sum += ports[p];
  return sum;
}

typedef struct {
  guint16 port;
  guint64 bytes;
} PortBytes;

static int
port_bytes_desc (const void *a, const void *b)
{
  const PortBytes *x = a, *y = b;
  if (x->bytes != y->bytes)
    return x->bytes < y->bytes ? 1 : -1;
  return (int) x->port - (int) y->port;
}

/* Marks in `keep` the `n` largest ports of `ports`. */
static void
mark_top (const guint64 *ports, guint n, gboolean *keep)
{
  if (!ports || n == 0)
    return;
  g_autofree PortBytes *list = g_new (PortBytes, N_PORTS);
  guint len = 0;
  for (guint p = 0; p < N_PORTS; p++)
    if (ports[p])
      list[len++] = (PortBytes) { (guint16) p, ports[p] };
  qsort (list, len, sizeof *list, port_bytes_desc);
  for (guint i = 0; i < len && i < n; i++)
    keep[list[i].port] = TRUE;
}

void
port_week_compact (PortWeek *w, guint keep_n, const guint16 *fixed_tcp,
                   guint n_fixed_tcp, const guint16 *fixed_udp,
                   guint n_fixed_udp)
{
  for (guint k = 0; k < 2; k++)
    {
      g_autofree gboolean *keep = g_new0 (gboolean, N_PORTS);
      const guint16 *fixed = k == PORT_TCP ? fixed_tcp : fixed_udp;
      guint n_fixed = k == PORT_TCP ? n_fixed_tcp : n_fixed_udp;
      for (guint i = 0; i < n_fixed; i++)
        keep[fixed[i]] = TRUE;
      /* every SERVICE-ACCESS a report can select, and unattributed */
      for (gint s = -1; s <= 2; s++)
        for (gint a = -1; a <= 3; a++)
          {
            NfsubSeriesSpec spec = { s, a };
            PortCell sum = { 0 };
            port_cell_sum (w, &spec, &sum);
            mark_top (port_cell_ports (&sum, k), keep_n, keep);
            port_cell_clear (&sum);
          }
      mark_top (port_cell_ports (&w->cells[PORT_CELL_UNATTRIBUTED], k),
                keep_n, keep);
      for (guint c = 0; c < PORT_CELLS; c++)
        {
          if (!w->cells[c].counts)
            continue;
          guint64 *ports = w->cells[c].counts + (gsize) k * N_PORTS;
          for (guint p = 0; p < N_PORTS; p++)
            if (ports[p] && !keep[p])
              {
                w->cells[c].rest[k][p < 1024 ? PORT_LOW : PORT_HIGH]
                  += ports[p];
                ports[p] = 0;
              }
        }
    }
}

static GVariant *
sparse_ports (const guint64 *ports, gboolean want_ports)
{
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE,
                                        want_ports ? sizeof (guint16)
                                                   : sizeof (guint64));
  if (ports)
    for (guint p = 0; p < N_PORTS; p++)
      if (ports[p])
        {
          if (want_ports)
            {
              guint16 q = (guint16) p;
              g_array_append_val (out, q);
            }
          else
            g_array_append_val (out, ports[p]);
        }
  return g_variant_new_fixed_array (want_ports ? G_VARIANT_TYPE_UINT16
                                               : G_VARIANT_TYPE_UINT64,
                                    out->data, out->len,
                                    want_ports ? sizeof (guint16)
                                               : sizeof (guint64));
}

GVariant *
port_week_save (const PortWeek *w)
{
  GVariantBuilder files, cells;
  g_variant_builder_init (&files, G_VARIANT_TYPE ("at"));
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, w->files);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_variant_builder_add (&files, "t", (guint64) *(gint64 *) key);
  g_variant_builder_init (&cells, G_VARIANT_TYPE ("a(qatataqataqat)"));
  for (guint c = 0; c < PORT_CELLS; c++)
    {
      const PortCell *cell = &w->cells[c];
      if (port_cell_total (cell) == 0)
        continue;
      guint64 proto[256];
      for (guint p = 0; p < 256; p++)
        proto[p] = port_cell_proto (cell, (guint8) p);
      guint64 rest[4] = { cell->rest[0][0], cell->rest[0][1],
                          cell->rest[1][0], cell->rest[1][1] };
      g_variant_builder_add (
        &cells, "(q@at@at@aq@at@aq@at)", (guint16) c,
        g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, proto, 256,
                                   sizeof (guint64)),
        g_variant_new_fixed_array (G_VARIANT_TYPE_UINT64, rest, 4,
                                   sizeof (guint64)),
        sparse_ports (port_cell_ports (cell, PORT_TCP), TRUE),
        sparse_ports (port_cell_ports (cell, PORT_TCP), FALSE),
        sparse_ports (port_cell_ports (cell, PORT_UDP), TRUE),
        sparse_ports (port_cell_ports (cell, PORT_UDP), FALSE));
    }
  return g_variant_new (PORT_WEEK_TYPE, w->start, w->end, w->label, &files, &cells);
}

static gboolean
load_ports (PortCell *cell, guint k, GVariant *ports_v, GVariant *bytes_v,
            GError **error)
{
  gsize np, nb;
  const guint16 *ports = g_variant_get_fixed_array (ports_v, &np,
                                                    sizeof (guint16));
  const guint64 *bytes = g_variant_get_fixed_array (bytes_v, &nb,
                                                    sizeof (guint64));
  if (np != nb)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "%zu ports but %zu byte counters", np, nb);
      return FALSE;
    }
  if (np && !cell->counts)
    port_cell_alloc (cell);
  for (gsize i = 0; i < np; i++)
    cell->counts[(gsize) k * N_PORTS + ports[i]] += bytes[i];
  return TRUE;
}

PortWeek *
port_week_load (GVariant *v, GError **error)
{
  if (!g_variant_is_of_type (v, G_VARIANT_TYPE (PORT_WEEK_TYPE)))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "week table of type %s, expected %s",
                   g_variant_get_type_string (v), PORT_WEEK_TYPE);
      return NULL;
    }
  PortWeek *w = port_week_alloc ();
  g_autoptr (GVariantIter) files = NULL, cells = NULL;
  g_variant_get (v, "(xxsata(qatataqataqat))", &w->start, &w->end, &w->label, &files, &cells);
  guint64 key;
  while (g_variant_iter_next (files, "t", &key))
    port_week_add_file (w, key);
  guint16 c;
  GVariant *proto_v, *rest_v, *tp, *tb, *up, *ub;
  while (g_variant_iter_next (cells, "(q@at@at@aq@at@aq@at)", &c, &proto_v,
                              &rest_v, &tp, &tb, &up, &ub))
    {
      gsize n_proto, n_rest;
      const guint64 *proto = g_variant_get_fixed_array (proto_v, &n_proto,
                                                        sizeof (guint64));
      const guint64 *rest = g_variant_get_fixed_array (rest_v, &n_rest,
                                                       sizeof (guint64));
      gboolean ok = c < PORT_CELLS && n_proto == 256 && n_rest == 4;
      if (!ok)
        g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                     "week %s: cell %u malformed", w->label, c);
      else
        {
          PortCell *cell = &w->cells[c];
          cell->rest[0][0] = rest[0];
          cell->rest[0][1] = rest[1];
          cell->rest[1][0] = rest[2];
          cell->rest[1][1] = rest[3];
          ok = load_ports (cell, PORT_TCP, tp, tb, error)
               && load_ports (cell, PORT_UDP, up, ub, error);
          for (guint p = 0; ok && p < 256; p++)
            if (p != 6 && p != 17 && proto[p])
              {
                if (!cell->counts)
                  port_cell_alloc (cell);
                cell->counts[PORT_SLOT_PROTO + p] = proto[p];
              }
          /* TCP/UDP totals are the ports plus the rest: a check */
          if (ok && (port_cell_proto (cell, 6) != proto[6]
                     || port_cell_proto (cell, 17) != proto[17]))
            {
              g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                           "week %s: cell %u: TCP/UDP totals disagree with "
                           "their ports", w->label, c);
              ok = FALSE;
            }
        }
      g_variant_unref (proto_v);
      g_variant_unref (rest_v);
      g_variant_unref (tp);
      g_variant_unref (tb);
      g_variant_unref (up);
      g_variant_unref (ub);
      if (!ok)
        {
          port_week_free (w);
          return NULL;
        }
    }
  w->dirty = FALSE;
  return w;
}
