/* report: the tables (1/2 daily usage, 3/4 ports, concentration) and the
 * number formats every part of the page shares. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "report.h"

/* ---- formats ---- */

char *
report_format_thousands (double v, int decimals)
{
  if (!isfinite (v))
    return g_strdup ("");
  char buf[64];
  g_ascii_formatd (buf, sizeof buf, decimals == 0 ? "%.0f"
                                    : decimals == 1 ? "%.1f"
                                    : decimals == 2 ? "%.2f" : "%.3f", v);
  /* group the integer part's digits in threes */
  const char *start = buf[0] == '-' ? buf + 1 : buf;
  const char *dot = strchr (start, '.');
  gsize int_len = dot ? (gsize) (dot - start) : strlen (start);
  GString *s = g_string_new (buf[0] == '-' ? "-" : "");
  for (gsize i = 0; i < int_len; i++)
    {
      if (i > 0 && (int_len - i) % 3 == 0)
        g_string_append_c (s, ',');
      g_string_append_c (s, start[i]);
    }
  if (dot)
    g_string_append (s, dot);
  if (strcmp (s->str, "-0") == 0)
    g_string_assign (s, "0");
  return g_string_free (s, FALSE);
}

/* MB/day as the published tables print them: whole MB, one decimal for
 * volumes under 10 MB so light mobile users don't all read "0". */
char *
report_format_mb (double bytes)
{
  if (!isfinite (bytes))
    return g_strdup ("");
  double mb = bytes / 1e6;
  return report_format_thousands (mb, fabs (mb) < 10 ? 1 : 0);
}

char *
report_format_percent (double frac, int decimals)
{
  if (!isfinite (frac))
    return g_strdup ("");
  return report_format_thousands (frac * 100.0, decimals);
}

char *
report_format_bytes (double bytes)
{
  static const char *const units[] = { "B", "KB", "MB", "GB", "TB", "PB" };
  if (!isfinite (bytes))
    return g_strdup ("");
  guint u = 0;
  double v = bytes;
  while (fabs (v) >= 1000 && u + 1 < G_N_ELEMENTS (units))
    v /= 1000, u++;
  return g_strdup_printf ("%.*f %s", fabs (v) < 10 && u > 0 ? 1 : 0, v,
                          units[u]);
}

/* ---- the table model ---- */

static void
cell_free (ReportCell *c)
{
  g_free (c->text);
  g_free (c);
}

static void
row_free (ReportRow *row)
{
  g_free (row->label);
  g_ptr_array_unref (row->cells);
  g_free (row);
}

ReportTable *
report_table_new (const char *id, const char *number, const char *title)
{
  ReportTable *t = g_new0 (ReportTable, 1);
  t->id = g_strdup (id);
  t->number = g_strdup (number ? number : "");
  t->title = g_strdup (title);
  t->caption = g_strdup ("");
  t->unit = g_strdup ("");
  t->columns = g_ptr_array_new_with_free_func (g_free);
  t->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) row_free);
  return t;
}

void
report_table_free (ReportTable *t)
{
  g_free (t->id);
  g_free (t->number);
  g_free (t->title);
  g_free (t->caption);
  g_free (t->unit);
  g_ptr_array_unref (t->columns);
  g_ptr_array_unref (t->rows);
  g_free (t);
}

ReportRow *
report_table_add_row (ReportTable *t, const char *label)
{
  ReportRow *row = g_new0 (ReportRow, 1);
  row->label = g_strdup (label);
  row->cells = g_ptr_array_new_with_free_func ((GDestroyNotify) cell_free);
  g_ptr_array_add (t->rows, row);
  return row;
}

static ReportRow *
add_group_row (ReportTable *t, const char *label)
{
  ReportRow *row = report_table_add_row (t, label);
  row->is_group = TRUE;
  return row;
}

void
report_row_add (ReportRow *row, double value, const char *text)
{
  ReportCell *c = g_new0 (ReportCell, 1);
  c->value = value;
  c->text = g_strdup (isfinite (value) || text ? (text ? text : "") : "");
  g_ptr_array_add (row->cells, c);
}

static void
row_add_formatted (ReportRow *row, double value, char *text /* owned */)
{
  report_row_add (row, value, text);
  g_free (text);
}

static void
table_set_caption (ReportTable *t, const char *caption)
{
  g_free (t->caption);
  t->caption = g_strdup (caption);
}

static void
table_set_unit (ReportTable *t, const char *unit)
{
  g_free (t->unit);
  t->unit = g_strdup (unit);
}

/* Weeks with data, oldest first: tables read left to right in time. */
static GPtrArray *
weeks_chronological (Report *r)
{
  GPtrArray *out = g_ptr_array_new ();
  for (guint i = 0; i < r->weeks->len; i++)
    {
      ReportWeek *w = r->weeks->pdata[i];
      if (!w->missing)
        g_ptr_array_add (out, w);
    }
  for (guint i = 1; i < out->len; i++)
    for (guint j = i; j > 0; j--)
      {
        ReportWeek *a = out->pdata[j - 1], *b = out->pdata[j];
        if (a->start_epoch <= b->start_epoch)
          break;
        out->pdata[j - 1] = b;
        out->pdata[j] = a;
      }
  return out;
}

/* ---- Tables 1 and 2: mean, median, mode of daily usage ---- */

static void
usage_table (Report *r, ReportService s, const char *id, const char *number)
{
  g_autoptr (GPtrArray) weeks = weeks_chronological (r);
  g_autofree char *title = g_strdup_printf (
    "%s: mean, median and mode of daily usage per user",
    report_service_titles[s]);
  ReportTable *t = report_table_new (id, number, title);
  table_set_unit (t, "MB/day");
  table_set_caption (
    t, "Daily usage = a user's total over the analysed week / 7 (1 MB = "
       "10\u2076 bytes).  Mode: peak of the density smoothed over neighbouring "
       "0.05-decade bins, on the 0.05-decade grid (see Figures).  Personal "
       "users only.");
  for (guint i = 0; i < weeks->len; i++)
    g_ptr_array_add (t->columns, g_strdup (((ReportWeek *) weeks->pdata[i])->label));

  ReportRow *users = report_table_add_row (t, "Users");
  for (guint i = 0; i < weeks->len; i++)
    {
      ReportWeek *w = weeks->pdata[i];
      double v = w->usage[s].present ? (double) w->usage[s].users : NAN;
      row_add_formatted (users, v, report_format_thousands (v, 0));
    }
  static const char *const stat_names[] = { "Mean", "Median", "Mode" };
  for (int d = 0; d < N_DIRS; d++)
    {
      add_group_row (t, d == DIR_IN ? "IN (upload)" : "OUT (download)");
      for (int k = 0; k < 3; k++)
        {
          ReportRow *row = report_table_add_row (t, stat_names[k]);
          row->level = 1;
          for (guint i = 0; i < weeks->len; i++)
            {
              ReportWeek *w = weeks->pdata[i];
              const UsageDir *ud = &w->usage[s].dir[d];
              double v = !w->usage[s].present ? NAN
                         : k == 0 ? ud->mean : k == 1 ? ud->median : ud->mode;
              /* the cell's value is the MB figure it prints */
              row_add_formatted (row, v / 1e6, report_format_mb (v));
            }
        }
    }
  g_ptr_array_add (r->tables, t);
}

/* ---- concentration: top 10% and top 1% of users ---- */

static void
concentration_table (Report *r)
{
  g_autoptr (GPtrArray) weeks = weeks_chronological (r);
  ReportTable *t = report_table_new ("concentration", "",
                                     "Concentration: share of traffic of the "
                                     "heaviest users");
  table_set_unit (t, "% of the service's traffic");
  table_set_caption (t, "Users ranked by their weekly volume in each "
                        "direction separately.");
  for (guint i = 0; i < weeks->len; i++)
    g_ptr_array_add (t->columns, g_strdup (((ReportWeek *) weeks->pdata[i])->label));
  for (int s = 0; s < N_SERVICES; s++)
    {
      add_group_row (t, report_service_titles[s]);
      for (int d = N_DIRS - 1; d >= 0; d--)
        for (int top = 0; top < 2; top++)
          {
            g_autofree char *label = g_strdup_printf (
              "Top %s, %s", top == 0 ? "10%" : "1%", report_dir_titles[d]);
            ReportRow *row = report_table_add_row (t, label);
            row->level = 1;
            for (guint i = 0; i < weeks->len; i++)
              {
                ReportWeek *w = weeks->pdata[i];
                const UsageDir *ud = &w->usage[s].dir[d];
                double v = !w->usage[s].present ? NAN
                           : top == 0 ? ud->top10_share : ud->top1_share;
                row_add_formatted (row, v * 100,
                                   report_format_percent (v, 1));
              }
          }
      /* the "client type" users of the usage plugin: little upload */
      double cut = report_main_week (r)->usage[s].client_cut;
      if (isfinite (cut))
        {
          g_autofree char *cut_text = report_format_bytes (cut);
          g_autofree char *label = g_strdup_printf ("Users uploading < %s/day, "
                                                    "%% of users", cut_text);
          ReportRow *row = report_table_add_row (t, label);
          row->level = 1;
          for (guint i = 0; i < weeks->len; i++)
            {
              ReportWeek *w = weeks->pdata[i];
              double v = w->usage[s].present && w->usage[s].client_cut == cut
                           ? w->usage[s].client_user_share : NAN;
              row_add_formatted (row, v * 100, report_format_percent (v, 1));
            }
        }
    }
  g_ptr_array_add (r->tables, t);
}

/* Growth of the per-user statistics between the analysed weeks (the
 * traffic growth from the RRD series is in the growth table). */
static void
usage_growth_table (Report *r)
{
  ReportWeek *main = report_main_week (r);
  ReportWeek *y1 = report_week_years_before (r, 1), *y5 = report_week_years_before (r, 5);
  if (!y1 && !y5)
    return;
  ReportTable *t = report_table_new ("usage_growth", "",
                                     "Growth of daily usage per user");
  table_set_unit (t, "factor (x)");
  g_autofree char *cap = g_strdup_printf (
    "Ratio of the main week's statistic to the same statistic in the week "
    "about one year (%s) and five years (%s) before; annual rate = "
    "five-year factor^(1/5).", y1 ? y1->label : "none",
    y5 ? y5->label : "none");
  table_set_caption (t, cap);
  g_ptr_array_add (t->columns, g_strdup ("Year over year"));
  g_ptr_array_add (t->columns, g_strdup ("Five years"));
  g_ptr_array_add (t->columns, g_strdup ("Annual rate"));
  static const char *const stat_names[] = { "mean", "median", "mode" };
  for (int s = 0; s < N_SERVICES; s++)
    {
      add_group_row (t, report_service_titles[s]);
      for (int d = 0; d < N_DIRS; d++)
        for (int k = 0; k < 3; k++)
          {
            g_autofree char *label = g_strdup_printf ("%s %s",
                                                      report_dir_titles[d],
                                                      stat_names[k]);
            ReportRow *row = report_table_add_row (t, label);
            row->level = 1;
            double now = NAN, f1 = NAN, f5 = NAN;
            const UsageDir *cur = &main->usage[s].dir[d];
            now = k == 0 ? cur->mean : k == 1 ? cur->median : cur->mode;
            if (y1 && y1->usage[s].present)
              {
                const UsageDir *p = &y1->usage[s].dir[d];
                f1 = now / (k == 0 ? p->mean : k == 1 ? p->median : p->mode);
              }
            if (y5 && y5->usage[s].present)
              {
                const UsageDir *p = &y5->usage[s].dir[d];
                f5 = now / (k == 0 ? p->mean : k == 1 ? p->median : p->mode);
              }
            if (!main->usage[s].present)
              f1 = f5 = NAN;
            double rate = isfinite (f5) && f5 > 0 ? pow (f5, 0.2) : NAN;
            row_add_formatted (row, f1, report_format_thousands (f1, 2));
            row_add_formatted (row, f5, report_format_thousands (f5, 2));
            row_add_formatted (row, rate, report_format_thousands (rate, 2));
          }
    }
  g_ptr_array_add (r->tables, t);
}

void
report_usage_tables (Report *r)
{
  usage_table (r, SERVICE_BROADBAND, "table1", "Table 1");
  usage_table (r, SERVICE_MOBILE, "table2", "Table 2");
  concentration_table (r);
  usage_growth_table (r);
}

/* ---- Tables 3 and 4: share of bytes by protocol and port ---- */

static const PortRow *
find_port_row (const PortsService *p, const char *key)
{
  for (guint i = 0; p->rows && i < p->rows->len; i++)
    {
      const PortRow *row = p->rows->pdata[i];
      if (strcmp (row->key, key) == 0)
        return row;
    }
  return NULL;
}

static void
ports_table (Report *r, ReportService s, const char *id, const char *number)
{
  g_autoptr (GPtrArray) weeks = weeks_chronological (r);
  g_autofree char *title = g_strdup_printf (
    "%s: share of traffic by protocol and port", report_service_titles[s]);
  ReportTable *t = report_table_new (id, number, title);
  table_set_unit (t, "% of bytes");
  table_set_caption (
    t, "For TCP and UDP the port is the lower of the source and destination "
       "port: below 1024 marks client/server traffic, both ends at 1024 or "
       "above suggests P2P.  Personal and enterprise users.");
  for (guint i = 0; i < weeks->len; i++)
    g_ptr_array_add (t->columns, g_strdup (((ReportWeek *) weeks->pdata[i])->label));

  /* Row order: the main week's, then rows only older weeks have. */
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) order = g_ptr_array_new ();
  g_ptr_array_add (order, report_main_week (r));
  for (gint i = (gint) weeks->len - 1; i >= 0; i--)
    if (weeks->pdata[i] != report_main_week (r))
      g_ptr_array_add (order, weeks->pdata[i]);
  for (guint i = 0; i < order->len; i++)
    {
      ReportWeek *w = order->pdata[i];
      if (w->missing)
        continue;
      for (guint j = 0; w->ports[s].rows && j < w->ports[s].rows->len; j++)
        {
          PortRow *row = w->ports[s].rows->pdata[j];
          if (g_hash_table_add (seen, row->key))
            g_ptr_array_add (keys, row);
        }
    }
  for (guint k = 0; k < keys->len; k++)
    {
      const PortRow *proto = keys->pdata[k];
      ReportRow *row = report_table_add_row (t, proto->label);
      row->level = proto->level;
      for (guint i = 0; i < weeks->len; i++)
        {
          ReportWeek *w = weeks->pdata[i];
          const PortRow *pr = w->ports[s].present
                                ? find_port_row (&w->ports[s], proto->key)
                                : NULL;
          double v = pr ? pr->share : NAN;
          row_add_formatted (row, v, report_format_thousands (v, 1));
        }
    }
  g_ptr_array_add (r->tables, t);
}

void
report_ports_tables (Report *r)
{
  ports_table (r, SERVICE_BROADBAND, "table3", "Table 3");
  ports_table (r, SERVICE_MOBILE, "table4", "Table 4");
}
