/* nfsim: minimal streaming JSON writer (see json.h). */
#include "json.h"

#include <math.h>

void
nfsim_json_init (NfsimJson *j)
{
  j->out = g_string_sized_new (4096);
  j->depth = 0;
  j->need_comma[0] = FALSE;
  j->after_key = FALSE;
}

static void
put_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, *p);
        }
      else if (*p < 0x20)
        g_string_append_printf (out, "\\u%04x", *p);
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static void
member (NfsimJson *j, const char *key)
{
  if (j->need_comma[j->depth])
    g_string_append_c (j->out, ',');
  if (j->depth < 3)
    {
      g_string_append_c (j->out, '\n');
      for (int i = 0; i < j->depth; i++)
        g_string_append (j->out, "  ");
    }
  j->need_comma[j->depth] = TRUE;
  if (key)
    {
      put_string (j->out, key);
      g_string_append (j->out, ": ");
    }
}

static void
json_open (NfsimJson *j, const char *key, char c)
{
  if (j->depth > 0 || j->out->len > 0)
    member (j, key);
  g_string_append_c (j->out, c);
  g_assert (j->depth < 63);
  j->depth++;
  j->need_comma[j->depth] = FALSE;
}

static void
json_close (NfsimJson *j, char c)
{
  g_assert (j->depth > 0);
  gboolean had = j->need_comma[j->depth];
  j->depth--;
  if (had && j->depth < 2)
    {
      g_string_append_c (j->out, '\n');
      for (int i = 0; i < j->depth; i++)
        g_string_append (j->out, "  ");
    }
  g_string_append_c (j->out, c);
}

void
nfsim_json_begin_object (NfsimJson *j, const char *key)
{
  json_open (j, key, '{');
}

void
nfsim_json_end_object (NfsimJson *j)
{
  json_close (j, '}');
}

void
nfsim_json_begin_array (NfsimJson *j, const char *key)
{
  json_open (j, key, '[');
}

void
nfsim_json_end_array (NfsimJson *j)
{
  json_close (j, ']');
}

void
nfsim_json_uint (NfsimJson *j, const char *key, guint64 v)
{
  member (j, key);
  g_string_append_printf (j->out, "%" G_GUINT64_FORMAT, v);
}

void
nfsim_json_int (NfsimJson *j, const char *key, gint64 v)
{
  member (j, key);
  g_string_append_printf (j->out, "%" G_GINT64_FORMAT, v);
}

void
nfsim_json_double (NfsimJson *j, const char *key, double v)
{
  member (j, key);
  if (!isfinite (v))
    {
      g_string_append (j->out, "null");
      return;
    }
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (buf, sizeof buf, "%.10g", v);
  g_string_append (j->out, buf);
}

void
nfsim_json_string (NfsimJson *j, const char *key, const char *v)
{
  member (j, key);
  put_string (j->out, v);
}

void
nfsim_json_bool (NfsimJson *j, const char *key, gboolean v)
{
  member (j, key);
  g_string_append (j->out, v ? "true" : "false");
}

gboolean
nfsim_json_write (NfsimJson *j, const char *path, GError **error)
{
  g_string_append_c (j->out, '\n');
  gboolean ok = g_file_set_contents (path, j->out->str, j->out->len, error);
  g_string_free (j->out, TRUE);
  j->out = NULL;
  return ok;
}
