/* `nfsub ports --week DATE`: Tables 3 and 4 of the report from the stored
 * week tables, one column per stored year (the same ISO week number) and
 * per --compare week; JSON and CSV with every series (README.md has the
 * JSON schema). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "../../src/json/json.h"
#include "ports.h"

typedef enum {
  ROW_PROTOCOL,
  ROW_GROUP,
  ROW_PORT,
  ROW_OTHER,
} RowKind;

static const char *const row_kind_names[] = { "protocol", "group", "port",
                                              "other" };

typedef struct {
  char *label;
  RowKind kind;
  int level;
  int proto;      /* -1: none (other) */
  int port;       /* -1: none */
  int group;      /* -1: none, PORT_LOW, PORT_HIGH */
  gboolean fixed; /* a port of the fixed list */
  guint64 *bytes; /* per column */
} Row;

typedef struct {
  char *name;
  NfsubSeriesSpec spec;
  gboolean unattributed;
  GPtrArray *rows;  /* Row */
  guint64 *total;   /* per column */
} SeriesTable;

typedef struct {
  char *label;
  PortWeek *week;
  gboolean borrowed;
  gboolean closed;
  int iso_year, iso_week;
} Column;

static void
row_free (gpointer data)
{
  Row *r = data;
  g_free (r->label);
  g_free (r->bytes);
  g_free (r);
}

static void
series_table_free (gpointer data)
{
  SeriesTable *t = data;
  g_free (t->name);
  g_ptr_array_unref (t->rows);
  g_free (t->total);
  g_free (t);
}

static Row *
add_row (SeriesTable *t, guint n_cols, const char *label, RowKind kind,
         int level, int proto, int port, int group)
{
  Row *r = g_new0 (Row, 1);
  r->label = g_strdup (label);
  r->kind = kind;
  r->level = level;
  r->proto = proto;
  r->port = port;
  r->group = group;
  r->bytes = g_new0 (guint64, n_cols);
  g_ptr_array_add (t->rows, r);
  return r;
}

typedef struct {
  guint16 port;
  guint64 bytes;
  gboolean fixed;
} ListedPort;

static gint
listed_desc (gconstpointer a, gconstpointer b)
{
  const ListedPort *x = a, *y = b;
  if (x->bytes != y->bytes)
    return x->bytes < y->bytes ? 1 : -1;
  return (int) x->port - (int) y->port;
}

/* The ports listed for protocol k: the fixed ones and the `top` largest
 * of the reference column, by bytes there, largest first. */
static GArray *
listed_ports (PortsPlugin *self, const PortCell *ref, guint k, guint top)
{
  GArray *list = g_array_new (FALSE, FALSE, sizeof (ListedPort));
  g_autofree gboolean *in = g_new0 (gboolean, N_PORTS);
  const GArray *fixed = self->fixed[k];
  const guint64 *ports = port_cell_ports (ref, k);
  for (guint i = 0; i < fixed->len; i++)
    {
      guint16 p = g_array_index (fixed, guint16, i);
      if (in[p])
        continue;
      in[p] = TRUE;
      ListedPort lp = { p, ports ? ports[p] : 0, TRUE };
      g_array_append_val (list, lp);
    }
  if (ports && top)
    {
      g_autoptr (GArray) all = g_array_new (FALSE, FALSE, sizeof (ListedPort));
      for (guint p = 0; p < N_PORTS; p++)
        if (ports[p] && !in[p])
          {
            ListedPort lp = { (guint16) p, ports[p], FALSE };
            g_array_append_val (all, lp);
          }
      g_array_sort (all, listed_desc);
      for (guint i = 0; i < all->len && i < top; i++)
        g_array_append_val (list, g_array_index (all, ListedPort, i));
    }
  g_array_sort (list, listed_desc);
  return list;
}

static SeriesTable *
build_table (PortsPlugin *self, const char *name, Column *cols, guint n_cols,
             guint ref_col, guint top)
{
  SeriesTable *t = g_new0 (SeriesTable, 1);
  t->name = g_strdup (name);
  t->rows = g_ptr_array_new_with_free_func (row_free);
  t->total = g_new0 (guint64, n_cols);
  t->unattributed = strcmp (name, "unattributed") == 0;
  if (!t->unattributed)
    g_assert (nfsub_series_parse (name, &t->spec, NULL));

  PortCell *sums = g_new0 (PortCell, n_cols);
  for (guint c = 0; c < n_cols; c++)
    port_cell_sum (cols[c].week, t->unattributed ? NULL : &t->spec, &sums[c]);

  static const struct {
    const char *name;
    guint8 proto;
  } protos[] = { { "TCP", 6 }, { "UDP", 17 } };
  for (guint k = 0; k < 2; k++)
    {
      guint8 proto = protos[k].proto;
      Row *r = add_row (t, n_cols, protos[k].name, ROW_PROTOCOL, 0, proto, -1,
                        -1);
      for (guint c = 0; c < n_cols; c++)
        r->bytes[c] = port_cell_proto (&sums[c], proto);
      g_autoptr (GArray) listed = listed_ports (self, &sums[ref_col], k, top);
      for (guint g = 0; g < 2; g++)
        {
          g_autofree char *gl = g_strdup_printf ("%s (%s 1024)",
                                                 protos[k].name,
                                                 g == PORT_LOW ? "<" : ">=");
          r = add_row (t, n_cols, gl, ROW_GROUP, 1, proto, -1, (int) g);
          for (guint c = 0; c < n_cols; c++)
            r->bytes[c] = port_cell_group (&sums[c], k, g);
          for (guint i = 0; i < listed->len; i++)
            {
              ListedPort *lp = &g_array_index (listed, ListedPort, i);
              if ((lp->port < 1024) != (g == PORT_LOW))
                continue;
              g_autofree char *pl = g_strdup_printf ("%u", lp->port);
              r = add_row (t, n_cols, pl, ROW_PORT, 2, proto, lp->port,
                           (int) g);
              r->fixed = lp->fixed;
              for (guint c = 0; c < n_cols; c++)
                {
                  const guint64 *cp = port_cell_ports (&sums[c], k);
                  r->bytes[c] = cp ? cp[lp->port] : 0;
                }
            }
        }
    }
  static const struct {
    const char *name;
    guint8 proto;
  } others[] = { { "ESP", 50 }, { "GRE", 47 }, { "IP-ENCAP", 4 } };
  guint64 *named = g_new0 (guint64, n_cols);
  for (guint c = 0; c < n_cols; c++)
    {
      t->total[c] = port_cell_total (&sums[c]);
      named[c] = port_cell_proto (&sums[c], 6) + port_cell_proto (&sums[c], 17);
    }
  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    {
      Row *r = add_row (t, n_cols, others[i].name, ROW_PROTOCOL, 0,
                        others[i].proto, -1, -1);
      for (guint c = 0; c < n_cols; c++)
        {
          r->bytes[c] = port_cell_proto (&sums[c], others[i].proto);
          named[c] += r->bytes[c];
        }
    }
  /* ICMP: v4 and v6, as nfcapd's stat record counts them */
  Row *r = add_row (t, n_cols, "ICMP", ROW_PROTOCOL, 0, 1, -1, -1);
  for (guint c = 0; c < n_cols; c++)
    {
      r->bytes[c] = port_cell_proto (&sums[c], 1)
                    + port_cell_proto (&sums[c], 58);
      named[c] += r->bytes[c];
    }
  r = add_row (t, n_cols, "other", ROW_OTHER, 0, -1, -1, -1);
  for (guint c = 0; c < n_cols; c++)
    r->bytes[c] = t->total[c] - named[c];
  g_free (named);
  for (guint c = 0; c < n_cols; c++)
    port_cell_clear (&sums[c]);
  g_free (sums);
  return t;
}

static char *
human_bytes (guint64 b)
{
  static const char *const units[] = { "B", "KB", "MB", "GB", "TB", "PB",
                                       "EB" };
  double v = (double) b;
  guint u = 0;
  while (v >= 1000 && u + 1 < G_N_ELEMENTS (units))
    {
      v /= 1000;
      u++;
    }
  return g_strdup_printf (u ? "%.2f %s" : "%.0f %s", v, units[u]);
}

static void
print_table (SeriesTable *t, Column *cols, guint n_cols, const char *tz)
{
  printf ("Usage by port: %s, share of bytes (%%), lower port of TCP/UDP; "
          "weeks Monday-Sunday, %s\n", t->name, tz);
  printf ("%-22s", "");
  for (guint c = 0; c < n_cols; c++)
    printf (" %11s", cols[c].label);
  printf ("\n");
  for (guint i = 0; i < t->rows->len; i++)
    {
      Row *r = t->rows->pdata[i];
      g_autofree char *label = g_strdup_printf ("%*s%s", r->level * 2, "",
                                                r->kind == ROW_GROUP
                                                  ? (r->group == PORT_LOW
                                                       ? "(< 1024)"
                                                       : "(>= 1024)")
                                                  : r->label);
      printf ("%-22s", label);
      for (guint c = 0; c < n_cols; c++)
        if (t->total[c])
          printf (" %11.1f", 100.0 * (double) r->bytes[c] / (double) t->total[c]);
        else
          printf (" %11s", "-");
      printf ("\n");
    }
  printf ("%-22s", "total");
  for (guint c = 0; c < n_cols; c++)
    {
      g_autofree char *h = human_bytes (t->total[c]);
      printf (" %11s", h);
    }
  printf ("\n%-22s", "nfcapd files");
  for (guint c = 0; c < n_cols; c++)
    printf (" %11u", g_hash_table_size (cols[c].week->files));
  printf ("\n");
}

/* A share as the CSV writes it ("%.6f"), in the JSON the same double:
 * the shortest text that reads back as that rounded value. */
static void
json_percent (NfsubJsonWriter *w, guint64 bytes, guint64 total)
{
  if (!total)
    {
      nfsub_json_put_null (w, NULL);
      return;
    }
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (buf, sizeof buf, "%.6f",
                   100.0 * (double) bytes / (double) total);
  nfsub_json_put_number (w, NULL, g_ascii_strtod (buf, NULL));
}

/* Schema: README.md.  A column and a row are one line each. */
static GString *
to_json (PortsPlugin *self, GPtrArray *tables, Column *cols, guint n_cols,
         const char *week, const char *tz)
{
  NfsubJsonWriter w;
  nfsub_json_writer_init (&w, g_string_new (NULL));
  nfsub_json_begin_object (&w, NULL);
  nfsub_json_put_string (&w, "generator", "nfsub ports");
  nfsub_json_put_int (&w, "version", 1);
  nfsub_json_put_string (&w, "timezone", tz);
  nfsub_json_put_string (&w, "week", week);
  nfsub_json_begin_array (&w, "columns");
  for (guint c = 0; c < n_cols; c++)
    {
      g_autoptr (GDateTime) end = g_date_time_new_from_unix_utc (cols[c].week->end);
      g_autoptr (GDateTime) endl = g_date_time_to_timezone (end, self->tz);
      g_autofree char *end_s = g_date_time_format (endl, "%Y-%m-%d");
      nfsub_json_begin_object_line (&w, NULL);
      nfsub_json_put_string (&w, "week", cols[c].label);
      nfsub_json_put_string (&w, "end", end_s);
      nfsub_json_put_int (&w, "start_epoch", cols[c].week->start);
      nfsub_json_put_int (&w, "end_epoch", cols[c].week->end);
      nfsub_json_put_int (&w, "iso_year", cols[c].iso_year);
      nfsub_json_put_int (&w, "iso_week", cols[c].iso_week);
      nfsub_json_put_bool (&w, "closed", cols[c].closed);
      nfsub_json_put_uint (&w, "files", g_hash_table_size (cols[c].week->files));
      nfsub_json_end_object (&w);
    }
  nfsub_json_end_array (&w);
  nfsub_json_begin_array (&w, "series");
  for (guint i = 0; i < tables->len; i++)
    {
      SeriesTable *t = tables->pdata[i];
      nfsub_json_begin_object (&w, NULL);
      nfsub_json_put_string (&w, "name", t->name);
      if (t->unattributed)
        {
          nfsub_json_put_null (&w, "service");
          nfsub_json_put_null (&w, "access");
        }
      else
        {
          nfsub_json_put_string (
            &w, "service", t->spec.service < 0
                             ? "all"
                             : nfsub_service_name ((guint) t->spec.service));
          nfsub_json_put_string (
            &w, "access", t->spec.access < 0
                            ? "all"
                            : nfsub_access_name ((guint) t->spec.access));
        }
      nfsub_json_put_uint_array (&w, "total_bytes", t->total, n_cols);
      nfsub_json_begin_array (&w, "rows");
      for (guint j = 0; j < t->rows->len; j++)
        {
          Row *r = t->rows->pdata[j];
          nfsub_json_begin_object_line (&w, NULL);
          nfsub_json_put_string (&w, "label", r->label);
          nfsub_json_put_string (&w, "kind", row_kind_names[r->kind]);
          nfsub_json_put_int (&w, "level", r->level);
          if (r->proto >= 0)
            nfsub_json_put_int (&w, "proto", r->proto);
          else
            nfsub_json_put_null (&w, "proto");
          if (r->port >= 0)
            {
              nfsub_json_put_int (&w, "port", r->port);
              nfsub_json_put_bool (&w, "fixed", r->fixed);
            }
          else
            {
              nfsub_json_put_null (&w, "port");
              nfsub_json_put_null (&w, "fixed");
            }
          nfsub_json_put_string (&w, "group",
                                 r->group < 0 ? NULL
                                 : r->group == PORT_LOW ? "low"
                                                        : "high");
          nfsub_json_put_uint_array (&w, "bytes", r->bytes, n_cols);
          nfsub_json_begin_array (&w, "percent");
          for (guint c = 0; c < n_cols; c++)
            json_percent (&w, r->bytes[c], t->total[c]);
          nfsub_json_end_array (&w);
          nfsub_json_end_object (&w);
        }
      nfsub_json_end_array (&w);
      nfsub_json_end_object (&w);
    }
  nfsub_json_end_array (&w);
  nfsub_json_end_object (&w);
  return w.out;
}

static GString *
to_csv (GPtrArray *tables, Column *cols, guint n_cols)
{
  GString *s = g_string_new ("week,series,label,kind,proto,port,group,"
                             "bytes,percent\n");
  for (guint i = 0; i < tables->len; i++)
    {
      SeriesTable *t = tables->pdata[i];
      for (guint j = 0; j < t->rows->len; j++)
        {
          Row *r = t->rows->pdata[j];
          for (guint c = 0; c < n_cols; c++)
            {
              g_string_append_printf (s, "%s,%s,\"%s\",%s,", cols[c].label,
                                      t->name, r->label,
                                      row_kind_names[r->kind]);
              if (r->proto >= 0)
                g_string_append_printf (s, "%d", r->proto);
              g_string_append_c (s, ',');
              if (r->port >= 0)
                g_string_append_printf (s, "%d", r->port);
              g_string_append_printf (s, ",%s,%" G_GUINT64_FORMAT ",",
                                      r->group < 0 ? ""
                                      : r->group == PORT_LOW ? "low"
                                                             : "high",
                                      r->bytes[c]);
              if (t->total[c])
                g_string_append_printf (s, "%.6f", 100.0 * (double) r->bytes[c]
                                                     / (double) t->total[c]);
              g_string_append_c (s, '\n');
            }
        }
    }
  return s;
}

/* The label of the week holding local date `date` (YYYY-MM-DD). */
static char *
week_of_date (PortsPlugin *self, const char *date, GError **error)
{
  int y, m, d;
  char tail;
  if (sscanf (date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3
      || !g_date_valid_dmy ((GDateDay) d, (GDateMonth) m, (GDateYear) y))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                   "'%s' is not a date YYYY-MM-DD", date);
      return NULL;
    }
  g_autoptr (GDateTime) noon = g_date_time_new (self->tz, y, m, d, 12, 0, 0);
  char *label;
  port_week_start (self->tz, g_date_time_to_unix (noon), &label);
  return label;
}

static gboolean
column_add (PortsPlugin *self, GArray *cols, const char *label,
            GError **error)
{
  for (guint i = 0; i < cols->len; i++)
    if (strcmp (g_array_index (cols, Column, i).label, label) == 0)
      return TRUE;
  Column c = { 0 };
  c.week = ports_get_week (self, label, &c.borrowed, error);
  if (!c.week)
    return FALSE;
  c.label = g_strdup (label);
  c.closed = !c.borrowed;
  port_week_iso (self->tz, c.week->start, &c.iso_year, &c.iso_week);
  g_array_append_val (cols, c);
  return TRUE;
}

static gint
column_compare (gconstpointer a, gconstpointer b)
{
  return strcmp (((const Column *) a)->label, ((const Column *) b)->label);
}

int
ports_report_command (NfsubHost *host, int argc, char **argv)
{
  g_autofree char *week = NULL, *service = NULL, *access = NULL;
  g_autofree char *json = NULL, *csv = NULL;
  g_auto (GStrv) compare = NULL;
  gint top = -1;
  gboolean list = FALSE;
  GOptionEntry entries[] = {
    { "week", 'w', 0, G_OPTION_ARG_STRING, &week,
      "the week holding DATE (weeks start on Monday)", "YYYY-MM-DD" },
    { "service", 's', 0, G_OPTION_ARG_STRING, &service,
      "broadband, mobile, unknown, all (default) or unattributed", "S" },
    { "access", 'a', 0, G_OPTION_ARG_STRING, &access,
      "pppoe, ipoe, mobile, unknown or all (default)", "A" },
    { "compare", 'C', 0, G_OPTION_ARG_STRING_ARRAY, &compare,
      "also show the week holding DATE (repeatable)", "YYYY-MM-DD" },
    { "top", 't', 0, G_OPTION_ARG_INT, &top,
      "ports per protocol listed besides the fixed ones (config: top)", "N" },
    { "json", 'j', 0, G_OPTION_ARG_FILENAME, &json,
      "write every series as JSON (schema: plugins/ports/README.md)", "FILE" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "write every series as CSV",
      "FILE" },
    { "list", 'l', 0, G_OPTION_ARG_NONE, &list, "list the stored weeks",
      NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_set_summary (
    ctx, "Share of bytes by protocol and port for a week (the layout of "
         "Tables 3 and 4), one column per stored year: the weeks with the "
         "same ISO week number, plus --compare weeks.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("nfsub ports: %s\n", error->message);
      return 2;
    }
  if (argc > 1)
    {
      g_printerr ("nfsub ports: unexpected argument '%s'\n", argv[1]);
      return 2;
    }
  g_autoptr (PortsPlugin) self = ports_plugin_new (
    host, nfsub_host_config (host), "ports", FALSE, &error);
  if (!self)
    {
      g_printerr ("nfsub ports: %s\n", error->message);
      return 1;
    }
  g_autoptr (GPtrArray) stored = ports_stored_weeks (self, &error);
  if (list)
    {
      for (guint i = 0; i < stored->len; i++)
        printf ("%s\n", (char *) stored->pdata[i]);
      return 0;
    }
  if (!week)
    {
      g_printerr ("nfsub ports: --week YYYY-MM-DD is required\n");
      return 2;
    }
  if (top < 0)
    top = (gint) self->top;
  if ((guint) top > self->keep)
    {
      g_printerr ("nfsub ports: --top %d is more than keep_ports (%u), the "
                  "ports a closed week keeps\n", top, self->keep);
      return 2;
    }
  g_autofree char *selected = NULL;
  if (service && strcmp (service, "unattributed") == 0)
    {
      if (access)
        {
          g_printerr ("nfsub ports: --access does not apply to "
                      "unattributed traffic\n");
          return 2;
        }
      selected = g_strdup ("unattributed");
    }
  else
    {
      selected = g_strdup_printf ("%s-%s", service ? service : "all",
                                  access ? access : "all");
      NfsubSeriesSpec spec;
      if (!nfsub_series_parse (selected, &spec, &error))
        {
          g_printerr ("nfsub ports: --service/--access: %s\n",
                      error->message);
          return 2;
        }
    }

  g_autofree char *label = week_of_date (self, week, &error);
  if (!label)
    {
      g_printerr ("nfsub ports: --week: %s\n", error->message);
      return 2;
    }
  gboolean have = FALSE;
  for (guint i = 0; i < stored->len; i++)
    have = have || strcmp (stored->pdata[i], label) == 0;
  if (!have)
    {
      g_autofree char *known = NULL;
      g_ptr_array_add (stored, NULL);
      known = g_strjoinv (", ", (char **) stored->pdata);
      g_printerr ("nfsub ports: no data for the week of %s (%s); stored "
                  "weeks: %s\n", week, label, *known ? known : "none");
      return PORTS_EXIT_NO_DATA;
    }

  g_autoptr (GArray) cols = g_array_new (FALSE, TRUE, sizeof (Column));
  if (!column_add (self, cols, label, &error))
    {
      g_printerr ("nfsub ports: %s\n", error->message);
      return 1;
    }
  int ref_year = g_array_index (cols, Column, 0).iso_year;
  int ref_week = g_array_index (cols, Column, 0).iso_week;
  for (guint i = 0; i < stored->len; i++)
    {
      const char *l = stored->pdata[i];
      int y, w;
      int yy, mm, dd;
      if (sscanf (l, "%4d-%2d-%2d", &yy, &mm, &dd) != 3)
        continue;
      g_autoptr (GDateTime) noon = g_date_time_new (self->tz, yy, mm, dd, 12,
                                                    0, 0);
      port_week_iso (self->tz, g_date_time_to_unix (noon), &y, &w);
      if (w == ref_week && y != ref_year && !column_add (self, cols, l, &error))
        {
          g_printerr ("nfsub ports: %s\n", error->message);
          return 1;
        }
    }
  for (char **c = compare; c && *c; c++)
    {
      g_autofree char *cl = week_of_date (self, *c, &error);
      if (!cl || !column_add (self, cols, cl, &error))
        {
          g_printerr ("nfsub ports: --compare %s: %s\n", *c, error->message);
          return 1;
        }
    }
  g_array_sort (cols, column_compare);
  guint ref_col = 0;
  for (guint i = 0; i < cols->len; i++)
    if (strcmp (g_array_index (cols, Column, i).label, label) == 0)
      ref_col = i;

  const char *tz = g_time_zone_get_identifier (self->tz);
  Column *c0 = (Column *) cols->data;
  g_autoptr (GPtrArray) tables = g_ptr_array_new_with_free_func (series_table_free);
  static const char *const json_series[] = { "all-all", "broadband-all",
                                             "broadband-pppoe",
                                             "broadband-ipoe", "mobile-all",
                                             "unattributed", NULL };
  SeriesTable *shown = build_table (self, selected, c0, cols->len, ref_col,
                                    (guint) top);
  g_ptr_array_add (tables, shown);
  for (guint i = 0; json_series[i]; i++)
    if (strcmp (json_series[i], selected) != 0)
      g_ptr_array_add (tables, build_table (self, json_series[i], c0,
                                            cols->len, ref_col, (guint) top));
  print_table (shown, c0, cols->len, tz);

  int status = 0;
  if (json)
    {
      g_autoptr (GString) s = to_json (self, tables, c0, cols->len, label, tz);
      if (!g_file_set_contents (json, s->str, (gssize) s->len, &error))
        {
          g_printerr ("nfsub ports: %s\n", error->message);
          status = 1;
        }
    }
  if (csv && status == 0)
    {
      g_autoptr (GString) s = to_csv (tables, c0, cols->len);
      if (!g_file_set_contents (csv, s->str, (gssize) s->len, &error))
        {
          g_printerr ("nfsub ports: %s\n", error->message);
          status = 1;
        }
    }
  for (guint i = 0; i < cols->len; i++)
    {
      Column *c = &g_array_index (cols, Column, i);
      g_free (c->label);
      if (!c->borrowed)
        port_week_free (c->week);
    }
  return status;
}
