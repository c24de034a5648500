/* report: report.json (every number shown, with its printed text) and
 * index.html (one file: inline CSS, the PNG figures as data URIs, links to
 * the SVG versions beside it). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "report.h"

/* ---- report.json ---- */

static void
write_table_json (NfsubJsonWriter *jw, ReportTable *t)
{
  nfsub_json_begin_object (jw, NULL);
  nfsub_json_put_string (jw, "id", t->id);
  nfsub_json_put_string (jw, "number", t->number);
  nfsub_json_put_string (jw, "title", t->title);
  nfsub_json_put_string (jw, "unit", t->unit);
  nfsub_json_put_string (jw, "caption", t->caption);
  nfsub_json_begin_array (jw, "columns");
  for (guint i = 0; i < t->columns->len; i++)
    nfsub_json_put_string (jw, NULL, t->columns->pdata[i]);
  nfsub_json_end_array (jw);
  nfsub_json_begin_array (jw, "rows");
  for (guint i = 0; i < t->rows->len; i++)
    {
      ReportRow *row = t->rows->pdata[i];
      nfsub_json_begin_object (jw, NULL);
      nfsub_json_put_string (jw, "label", row->label);
      if (row->is_group)
        {
          nfsub_json_put_bool (jw, "group", TRUE);
        }
      else
        {
          nfsub_json_put_int (jw, "level", row->level);
          nfsub_json_begin_array (jw, "values");
          for (guint c = 0; c < row->cells->len; c++)
            nfsub_json_put_number (jw, NULL, ((ReportCell *) row->cells->pdata[c])->value);
          nfsub_json_end_array (jw);
          nfsub_json_begin_array (jw, "text");
          for (guint c = 0; c < row->cells->len; c++)
            nfsub_json_put_string (jw, NULL, ((ReportCell *) row->cells->pdata[c])->text);
          nfsub_json_end_array (jw);
        }
      nfsub_json_end_object (jw);
    }
  nfsub_json_end_array (jw);
  nfsub_json_end_object (jw);
}

void
report_json_writer_init (NfsubJsonWriter *w, GString *out)
{
  nfsub_json_writer_init (w, out);
  w->digits = 10;
}

gboolean
report_write_json (Report *r, GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);
  NfsubJsonWriter jw;
  report_json_writer_init (&jw, out);
  nfsub_json_begin_object (&jw, NULL);
  nfsub_json_put_string (&jw, "generator", "nfsub report " PACKAGE_VERSION);
  nfsub_json_put_string (&jw, "title", r->title);
  g_autoptr (GDateTime) now = g_date_time_new_now (r->tz);
  g_autofree char *now_s = g_date_time_format_iso8601 (now);
  nfsub_json_put_string (&jw, "generated", now_s);
  nfsub_json_put_string (&jw, "timezone", g_time_zone_get_identifier (r->tz));
  nfsub_json_put_string (&jw, "week", report_main_week (r)->date);
  nfsub_json_begin_array (&jw, "weeks");
  for (guint i = 0; i < r->weeks->len; i++)
    {
      ReportWeek *w = r->weeks->pdata[i];
      nfsub_json_begin_object (&jw, NULL);
      nfsub_json_put_string (&jw, "date", w->date);
      nfsub_json_put_string (&jw, "label", w->label);
      nfsub_json_put_bool (&jw, "main", w->is_main);
      nfsub_json_put_int (&jw, "start", w->start_epoch);
      nfsub_json_put_int (&jw, "end", w->end_epoch);
      nfsub_json_put_bool (&jw, "missing", w->missing);
      if (w->missing)
        {
          nfsub_json_put_string (&jw, "reason", w->missing_reason);
        }
      else
        {
          nfsub_json_begin_object (&jw, "users");
          for (int s = 0; s < N_SERVICES; s++)
            {
              nfsub_json_put_int (&jw, report_service_names[s], (gint64) w->usage[s].users);
            }
          nfsub_json_end_object (&jw);
        }
      nfsub_json_end_object (&jw);
    }
  nfsub_json_end_array (&jw);
  nfsub_json_begin_array (&jw, "warnings");
  for (guint i = 0; i < r->warnings->len; i++)
    nfsub_json_put_string (&jw, NULL, r->warnings->pdata[i]);
  nfsub_json_end_array (&jw);
  nfsub_json_begin_array (&jw, "highlights");
  for (guint i = 0; i < r->highlights->len; i++)
    nfsub_json_put_string (&jw, NULL, r->highlights->pdata[i]);
  nfsub_json_end_array (&jw);
  nfsub_json_begin_array (&jw, "tables");
  for (guint i = 0; i < r->tables->len; i++)
    write_table_json (&jw, r->tables->pdata[i]);
  nfsub_json_end_array (&jw);
  nfsub_json_begin_array (&jw, "figures");
  for (guint i = 0; i < r->figures->len; i++)
    {
      ReportFigure *f = r->figures->pdata[i];
      nfsub_json_begin_object (&jw, NULL);
      nfsub_json_put_string (&jw, "id", f->id);
      nfsub_json_put_string (&jw, "number", f->number);
      nfsub_json_put_string (&jw, "title", f->title);
      nfsub_json_put_string (&jw, "caption", f->caption);
      nfsub_json_put_string (&jw, "tool", f->tool);
      nfsub_json_put_bool (&jw, "made", f->made);
      if (f->made)
        {
          g_autofree char *png = g_strdup_printf ("fig/%s.png", f->id);
          g_autofree char *svg = g_strdup_printf ("fig/%s.svg", f->id);
          nfsub_json_put_string (&jw, "png", png);
          nfsub_json_put_string (&jw, "svg", svg);
        }
      else
        {
          nfsub_json_put_bool (&jw, "no_data", f->no_data);
          nfsub_json_put_string (&jw, "error", f->error);
        }
      if (f->data)
        nfsub_json_put_node (&jw, "data", f->data);
      else if (strcmp (f->id, "fig1") == 0 && r->traffic_json)
        nfsub_json_put_string (&jw, "data", "see traffic");
      else
        nfsub_json_put_null (&jw, "data");
      nfsub_json_end_object (&jw);
    }
  nfsub_json_end_array (&jw);
  /* a NULL node is written as null */
  nfsub_json_put_node (&jw, "traffic", r->traffic_json);
  nfsub_json_end_object (&jw);

  g_autofree char *path = g_build_filename (r->out_dir, "report.json", NULL);
  return nfsub_write_file_atomic (path, out->str, out->len, error);
}

/* ---- index.html ---- */

static void
html_escape (GString *out, const char *s)
{
  g_autofree char *e = g_markup_escape_text (s ? s : "", -1);
  g_string_append (out, e);
}

static ReportTable *
find_table (Report *r, const char *id)
{
  for (guint i = 0; i < r->tables->len; i++)
    if (strcmp (((ReportTable *) r->tables->pdata[i])->id, id) == 0)
      return r->tables->pdata[i];
  return NULL;
}

static ReportFigure *
find_figure (Report *r, const char *id)
{
  for (guint i = 0; i < r->figures->len; i++)
    if (strcmp (((ReportFigure *) r->figures->pdata[i])->id, id) == 0)
      return r->figures->pdata[i];
  return NULL;
}

static void
html_table (GString *h, ReportTable *t)
{
  guint ncols = t->columns->len;
  g_string_append_printf (h, "<div class=\"table-wrap\">\n<table class=\"data\" id=\"%s\">\n<caption>",
                          t->id);
  if (*t->number)
    {
      g_string_append (h, "<span class=\"num\">");
      html_escape (h, t->number);
      g_string_append (h, "</span> ");
    }
  html_escape (h, t->title);
  g_string_append (h, "</caption>\n<thead><tr><th class=\"unit\">");
  html_escape (h, t->unit);
  g_string_append (h, "</th>");
  for (guint c = 0; c < ncols; c++)
    {
      g_string_append (h, "<th scope=\"col\">");
      html_escape (h, t->columns->pdata[c]);
      g_string_append (h, "</th>");
    }
  g_string_append (h, "</tr></thead>\n<tbody>\n");
  for (guint i = 0; i < t->rows->len; i++)
    {
      ReportRow *row = t->rows->pdata[i];
      if (row->is_group)
        {
          g_string_append_printf (h, "<tr class=\"group\"><th colspan=\"%u\" scope=\"rowgroup\">",
                                  ncols + 1);
          html_escape (h, row->label);
          g_string_append (h, "</th></tr>\n");
          continue;
        }
      g_string_append_printf (h, "<tr class=\"level%u\"><th scope=\"row\">", row->level);
      html_escape (h, row->label);
      g_string_append (h, "</th>");
      for (guint c = 0; c < row->cells->len; c++)
        {
          ReportCell *cell = row->cells->pdata[c];
          char buf[G_ASCII_DTOSTR_BUF_SIZE];
          if (isfinite (cell->value))
            g_string_append_printf (h, "<td data-value=\"%s\">",
                                    g_ascii_formatd (buf, sizeof buf, "%.10g", cell->value));
          else
            g_string_append (h, "<td class=\"na\">");
          html_escape (h, *cell->text ? cell->text : "\xe2\x80\x93");
          g_string_append (h, "</td>");
        }
      g_string_append (h, "</tr>\n");
    }
  g_string_append (h, "</tbody>\n</table>\n");
  if (t->caption && *t->caption)
    {
      g_string_append (h, "<p class=\"note\">");
      html_escape (h, t->caption);
      g_string_append (h, "</p>\n");
    }
  g_string_append (h, "</div>\n");
}

static gboolean
html_figure (Report *r, GString *h, ReportFigure *f, GError **error)
{
  g_string_append_printf (h, "<figure id=\"%s\"%s>\n", f->id,
                          f->made ? "" : " class=\"missing\"");
  if (f->made)
    {
      g_autofree char *name = g_strdup_printf ("%s.png", f->id);
      g_autofree char *path = g_build_filename (r->fig_dir, name, NULL);
      g_autofree char *png = NULL;
      gsize len = 0;
      if (!g_file_get_contents (path, &png, &len, error))
        return FALSE;
      g_autofree char *b64 = g_base64_encode ((const guchar *) png, len);
      g_string_append (h, "<img alt=\"");
      html_escape (h, f->title);
      g_string_append_printf (h, "\" src=\"data:image/png;base64,%s\">\n", b64);
    }
  else
    {
      g_string_append (h, f->no_data ? "<div class=\"nofig\">No data: "
                                     : "<div class=\"nofig\">Not drawn: ");
      html_escape (h, f->error);
      g_string_append (h, "</div>\n");
    }
  g_string_append (h, "<figcaption><span class=\"num\">");
  html_escape (h, f->number);
  g_string_append (h, "</span> ");
  html_escape (h, f->title);
  g_string_append (h, ". ");
  html_escape (h, f->caption);
  if (f->made)
    g_string_append_printf (h, " <span class=\"src\">Drawn with %s; "
                               "<a href=\"fig/%s.svg\">SVG</a>, "
                               "<a href=\"fig/%s.png\">PNG</a>.</span>",
                            f->tool, f->id, f->id);
  g_string_append (h, "</figcaption>\n</figure>\n");
  return TRUE;
}

/* What goes where: the sections of docs/analyses.md. */
typedef struct {
  const char *anchor;
  const char *heading;
  const char *intro;
  const char *items[8];  /* "fig1", "table1", ... */
} Section;

static const Section sections[] = {
  { "monthly", "1. Monthly traffic",
    "Average traffic per month for broadband (PPPoE, IPoE) and mobile, IN "
    "(upload) and OUT (download), relative to a base month, with growth "
    "rates and the share of IPoE.",
    { "fig1", "growth", "ipoe_share", NULL } },
  { "hourly", "2. Traffic by hour of day",
    "Weekday (Monday to Friday) average traffic per hour of day.",
    { "fig2", "fig9", "fig10", NULL } },
  { "usage", "3. Daily usage per user",
    "Daily usage = a user's total over the analysed week divided by 7.  "
    "The distributions are close to log-normal; OUT is about an order of "
    "magnitude above IN.",
    { "table1", "fig3", "fig4", "table2", "fig11", "usage_growth", NULL } },
  { "concentration", "4. Concentration",
    "How much of the traffic the heaviest users carry.",
    { "concentration", NULL } },
  { "inout", "5. IN and OUT of each user",
    "Upload against download per user, for a random sample of users.",
    { "fig5", "fig6", NULL } },
  { "ports", "6. Usage by port",
    "Share of bytes by protocol and port over the analysed week.",
    { "table3", "table4", NULL } },
  { "categories", "7. Port categories over the week",
    "Hourly traffic of the main port categories over the 7 days, "
    "normalised to the week's peak.",
    { "fig7", "fig8", NULL } },
};

static char *
week_range_text (ReportWeek *w)
{
  g_autoptr (GDateTime) last = g_date_time_add_days (w->start, 6);
  g_autofree char *a = g_date_time_format (w->start, "%a %-d %B %Y");
  g_autofree char *b = g_date_time_format (last, "%a %-d %B %Y");
  return g_strdup_printf ("%s \xe2\x80\x93 %s", a, b);
}

gboolean
report_write_html (Report *r, GError **error)
{
  g_autofree char *css_path = g_build_filename (r->assets_dir, "report.css", NULL);
  g_autofree char *css = NULL;
  if (!g_file_get_contents (css_path, &css, NULL, error))
    return FALSE;
  ReportWeek *main = report_main_week (r);
  g_autoptr (GString) h = g_string_new (NULL);
  g_string_append (h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                      "<meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<meta name=\"generator\" content=\"nfsub report " PACKAGE_VERSION "\">\n"
                      "<title>");
  html_escape (h, r->title);
  g_string_append_printf (h, " \xe2\x80\x93 week of %s</title>\n<style>\n", main->date);
  g_string_append (h, css);
  g_string_append (h, "</style>\n</head>\n<body>\n<header>\n<h1>");
  html_escape (h, r->title);
  g_string_append (h, "</h1>\n<p class=\"week\">Analysed week: <strong>");
  g_autofree char *range = week_range_text (main);
  html_escape (h, range);
  g_string_append (h, "</strong>");
  gboolean any_compare = FALSE;
  for (guint i = 1; i < r->weeks->len; i++)
    {
      ReportWeek *w = r->weeks->pdata[i];
      if (w->missing)
        continue;
      g_autofree char *wr = week_range_text (w);
      g_string_append (h, any_compare ? "; " : "<br>Compared with: ");
      html_escape (h, wr);
      any_compare = TRUE;
    }
  g_autoptr (GDateTime) now = g_date_time_new_now (r->tz);
  g_autofree char *now_s = g_date_time_format (now, "%Y-%m-%d %H:%M %Z");
  g_string_append (h, "</p>\n<p class=\"meta\">Time zone ");
  html_escape (h, g_time_zone_get_identifier (r->tz));
  g_string_append (h, ". Generated ");
  html_escape (h, now_s);
  g_string_append (h, " by nfsub report " PACKAGE_VERSION
                      " from Sampled NetFlow (nfcapd files) and the RRD "
                      "series of the hourly and ports plugins.  Every number "
                      "is also in <a href=\"report.json\">report.json</a>.</p>\n");
  g_string_append (h, "<nav><ol>");
  for (guint s = 0; s < G_N_ELEMENTS (sections); s++)
    {
      g_string_append_printf (h, "<li><a href=\"#%s\">", sections[s].anchor);
      html_escape (h, sections[s].heading + 3);
      g_string_append (h, "</a></li>");
    }
  g_string_append (h, "</ol></nav>\n</header>\n<main>\n");

  if (r->warnings->len)
    {
      g_string_append (h, "<section class=\"warnings\" id=\"warnings\">\n<h2>Warnings</h2>\n<ul>\n");
      for (guint i = 0; i < r->warnings->len; i++)
        {
          g_string_append (h, "<li>");
          html_escape (h, r->warnings->pdata[i]);
          g_string_append (h, "</li>\n");
        }
      g_string_append (h, "</ul>\n</section>\n");
    }

  if (r->highlights->len)
    {
      g_string_append (h, "<section class=\"glance\" id=\"glance\">\n<h2>At a glance</h2>\n<ul>\n");
      for (guint i = 0; i < r->highlights->len; i++)
        {
          g_string_append (h, "<li>");
          html_escape (h, r->highlights->pdata[i]);
          g_string_append (h, "</li>\n");
        }
      g_string_append (h, "</ul>\n</section>\n");
    }

  for (guint s = 0; s < G_N_ELEMENTS (sections); s++)
    {
      const Section *sec = &sections[s];
      g_string_append_printf (h, "<section id=\"%s\">\n<h2>", sec->anchor);
      html_escape (h, sec->heading);
      g_string_append (h, "</h2>\n<p class=\"intro\">");
      html_escape (h, sec->intro);
      g_string_append (h, "</p>\n");
      for (guint i = 0; sec->items[i]; i++)
        {
          ReportTable *t = find_table (r, sec->items[i]);
          ReportFigure *f = find_figure (r, sec->items[i]);
          if (t)
            html_table (h, t);
          else if (f && !html_figure (r, h, f, error))
            return FALSE;
        }
      g_string_append (h, "</section>\n");
    }
  g_string_append (h, "</main>\n<footer>\n<p>IN = upload from users, OUT = "
                      "download to users.  A user is one subscription "
                      "(broadband; PPPoE and IPoE count as two users) or one "
                      "mobile line.  1 MB = 10<sup>6</sup> bytes.  Per-user "
                      "statistics count personal users; port statistics "
                      "include enterprise traffic.  Under 1:N packet sampling "
                      "a light user's volume is an estimate from few "
                      "packets: see the reliability lines in Figures 3, 4 "
                      "and 11.</p>\n<p>Inputs and plotting scripts: "
                      "<code>data/</code> (re-draw any figure with its "
                      "<code>.gp</code> or <code>.rrdgraph.sh</code> "
                      "file).</p>\n</footer>\n</body>\n</html>\n");
  g_autofree char *path = g_build_filename (r->out_dir, "index.html", NULL);
  return nfsub_write_file_atomic (path, h->str, h->len, error);
}
