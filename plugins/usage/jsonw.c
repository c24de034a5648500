/* usage: a small streaming JSON writer. */
#include "config.h"

#include <math.h>
#include <stdio.h>

#include "jsonw.h"

void
jsonw_init (JsonW *w)
{
  w->out = g_string_new (NULL);
  w->depth = 0;
  w->first[0] = TRUE;
  w->after_key = FALSE;
}

char *
jsonw_finish (JsonW *w)
{
  g_string_append_c (w->out, '\n');
  return g_string_free (w->out, FALSE);
}

static void
before_value (JsonW *w)
{
  if (w->after_key)
    {
      w->after_key = FALSE;
      return;
    }
  if (!w->first[w->depth])
    g_string_append_c (w->out, ',');
  w->first[w->depth] = FALSE;
  if (w->depth > 0)
    {
      g_string_append_c (w->out, '\n');
      for (guint i = 0; i < w->depth; i++)
        g_string_append (w->out, "  ");
    }
}

static void
open_nested (JsonW *w, char c)
{
  before_value (w);
  g_string_append_c (w->out, c);
  g_assert (w->depth + 1 < G_N_ELEMENTS (w->first));
  w->first[++w->depth] = TRUE;
}

static void
close_nested (JsonW *w, char c)
{
  gboolean empty = w->first[w->depth];
  w->depth--;
  if (!empty)
    {
      g_string_append_c (w->out, '\n');
      for (guint i = 0; i < w->depth; i++)
        g_string_append (w->out, "  ");
    }
  g_string_append_c (w->out, c);
}

void jsonw_begin_object (JsonW *w) { open_nested (w, '{'); }
void jsonw_end_object (JsonW *w) { close_nested (w, '}'); }
void jsonw_begin_array (JsonW *w) { open_nested (w, '['); }
void jsonw_end_array (JsonW *w) { close_nested (w, ']'); }

static void
append_quoted (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (out, "\\%c", *p);
      else if (*p < 0x20)
        g_string_append_printf (out, "\\u%04x", *p);
      else
        g_string_append_c (out, (char) *p);
    }
  g_string_append_c (out, '"');
}

void
jsonw_key (JsonW *w, const char *key)
{
  before_value (w);
  append_quoted (w->out, key);
  g_string_append (w->out, ": ");
  w->after_key = TRUE;
}

void
jsonw_string (JsonW *w, const char *s)
{
  before_value (w);
  if (s)
    append_quoted (w->out, s);
  else
    g_string_append (w->out, "null");
}

void
jsonw_number_prec (JsonW *w, double v, int digits)
{
  before_value (w);
  if (!isfinite (v))
    {
      g_string_append (w->out, "null");
      return;
    }
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char fmt[8];
  g_snprintf (fmt, sizeof fmt, "%%.%dg", digits);
  g_ascii_formatd (buf, sizeof buf, fmt, v);
  g_string_append (w->out, buf);
}

void
jsonw_number (JsonW *w, double v)
{
  jsonw_number_prec (w, v, 15);
}

void
jsonw_uint (JsonW *w, guint64 v)
{
  before_value (w);
  g_string_append_printf (w->out, "%" G_GUINT64_FORMAT, v);
}

void
jsonw_bool (JsonW *w, gboolean v)
{
  before_value (w);
  g_string_append (w->out, v ? "true" : "false");
}

void
jsonw_null (JsonW *w)
{
  before_value (w);
  g_string_append (w->out, "null");
}

void
jsonw_kv_number (JsonW *w, const char *k, double v)
{
  jsonw_key (w, k);
  jsonw_number (w, v);
}

void
jsonw_kv_uint (JsonW *w, const char *k, guint64 v)
{
  jsonw_key (w, k);
  jsonw_uint (w, v);
}

void
jsonw_kv_string (JsonW *w, const char *k, const char *v)
{
  jsonw_key (w, k);
  jsonw_string (w, v);
}

void
jsonw_kv_bool (JsonW *w, const char *k, gboolean v)
{
  jsonw_key (w, k);
  jsonw_bool (w, v);
}

void
jsonw_number_array (JsonW *w, const double *v, guint n, int digits)
{
  before_value (w);
  /* one line: these arrays are long */
  g_string_append_c (w->out, '[');
  char fmt[8];
  g_snprintf (fmt, sizeof fmt, "%%.%dg", digits);
  for (guint i = 0; i < n; i++)
    {
      if (i)
        g_string_append (w->out, ", ");
      if (!isfinite (v[i]))
        g_string_append (w->out, "null");
      else
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];
          g_string_append (w->out, g_ascii_formatd (buf, sizeof buf, fmt, v[i]));
        }
    }
  g_string_append_c (w->out, ']');
}
