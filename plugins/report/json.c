/* report: JSON DOM reader and streaming writer (see json.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <nfsub/plugin.h>

#include "json.h"

struct RJson {
  RJsonType type;
  gboolean boolean;
  double number;
  char *string;
  GPtrArray *items; /* RJson*; arrays and objects */
  GPtrArray *keys;  /* char*; objects only, parallel to items */
};

static RJson *
node_new (RJsonType type)
{
  RJson *n = g_new0 (RJson, 1);
  n->type = type;
  if (type == RJSON_ARRAY || type == RJSON_OBJECT)
    n->items = g_ptr_array_new_with_free_func ((GDestroyNotify) rjson_free);
  if (type == RJSON_OBJECT)
    n->keys = g_ptr_array_new_with_free_func (g_free);
  return n;
}

void
rjson_free (RJson *node)
{
  if (!node)
    return;
  g_free (node->string);
  if (node->items)
    g_ptr_array_unref (node->items);
  if (node->keys)
    g_ptr_array_unref (node->keys);
  g_free (node);
}

/* ---- parser ---- */

typedef struct {
  const char *start, *p, *end;
  const char *origin;
  guint depth;
} Parser;

static gboolean G_GNUC_PRINTF (3, 4)
parse_fail (Parser *ps, GError **error, const char *fmt, ...)
{
  guint line = 1, col = 1;
  for (const char *c = ps->start; c < ps->p && c < ps->end; c++)
    {
      if (*c == '\n')
        line++, col = 1;
      else
        col++;
    }
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
               "%s: line %u, column %u (byte %" G_GSIZE_FORMAT "): %s",
               ps->origin, line, col, (gsize) (ps->p - ps->start), what);
  return FALSE;
}

static void
skip_space (Parser *ps)
{
  while (ps->p < ps->end
         && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
    ps->p++;
}

static gboolean
parse_hex4 (Parser *ps, gunichar *out, GError **error)
{
  if (ps->end - ps->p < 4)
    return parse_fail (ps, error, "truncated \\u escape");
  gunichar v = 0;
  for (int i = 0; i < 4; i++)
    {
      int d = g_ascii_xdigit_value (ps->p[i]);
      if (d < 0)
        return parse_fail (ps, error, "bad \\u escape");
      v = v * 16 + (gunichar) d;
    }
  ps->p += 4;
  *out = v;
  return TRUE;
}

static char *
parse_string_raw (Parser *ps, GError **error)
{
  /* at the opening quote */
  ps->p++;
  g_autoptr (GString) s = g_string_new (NULL);
  while (ps->p < ps->end && *ps->p != '"')
    {
      unsigned char c = (unsigned char) *ps->p;
      if (c < 0x20)
        {
          parse_fail (ps, error, "control character in string");
          return NULL;
        }
      if (c != '\\')
        {
          g_string_append_c (s, (char) c);
          ps->p++;
          continue;
        }
      ps->p++;
      if (ps->p >= ps->end)
        break;
      char e = *ps->p++;
      switch (e)
        {
        case '"': g_string_append_c (s, '"'); break;
        case '\\': g_string_append_c (s, '\\'); break;
        case '/': g_string_append_c (s, '/'); break;
        case 'b': g_string_append_c (s, '\b'); break;
        case 'f': g_string_append_c (s, '\f'); break;
        case 'n': g_string_append_c (s, '\n'); break;
        case 'r': g_string_append_c (s, '\r'); break;
        case 't': g_string_append_c (s, '\t'); break;
        case 'u':
          {
            gunichar u;
            if (!parse_hex4 (ps, &u, error))
              return NULL;
            if (u >= 0xD800 && u < 0xDC00 && ps->end - ps->p >= 6
                && ps->p[0] == '\\' && ps->p[1] == 'u')
              {
                ps->p += 2;
                gunichar lo;
                if (!parse_hex4 (ps, &lo, error))
                  return NULL;
                if (lo < 0xDC00 || lo > 0xDFFF)
                  {
                    parse_fail (ps, error, "bad surrogate pair");
                    return NULL;
                  }
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
              }
            if (!g_unichar_validate (u))
              {
                parse_fail (ps, error, "invalid code point in \\u escape");
                return NULL;
              }
            g_string_append_unichar (s, u);
            break;
          }
        default:
          ps->p--;
          parse_fail (ps, error, "unknown escape \\%c", e);
          return NULL;
        }
    }
  if (ps->p >= ps->end)
    {
      parse_fail (ps, error, "unterminated string");
      return NULL;
    }
  ps->p++;
  if (!g_utf8_validate (s->str, (gssize) s->len, NULL))
    {
      parse_fail (ps, error, "string is not UTF-8");
      return NULL;
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static RJson *parse_value (Parser *ps, GError **error);

static gboolean
expect_literal (Parser *ps, const char *word, GError **error)
{
  gsize n = strlen (word);
  if ((gsize) (ps->end - ps->p) < n || memcmp (ps->p, word, n) != 0)
    return parse_fail (ps, error, "unexpected character '%c'", *ps->p);
  ps->p += n;
  return TRUE;
}

static RJson *
parse_number (Parser *ps, GError **error)
{
  const char *q = ps->p;
  if (q < ps->end && *q == '-')
    q++;
  if (q >= ps->end || !g_ascii_isdigit (*q))
    {
      parse_fail (ps, error, "bad number");
      return NULL;
    }
  while (q < ps->end
         && (g_ascii_isdigit (*q) || *q == '.' || *q == 'e' || *q == 'E'
             || *q == '+' || *q == '-'))
    q++;
  g_autofree char *tmp = g_strndup (ps->p, (gsize) (q - ps->p));
  char *endp = NULL;
  double v = g_ascii_strtod (tmp, &endp);
  if (endp == tmp || *endp != '\0')
    {
      parse_fail (ps, error, "bad number '%s'", tmp);
      return NULL;
    }
  ps->p = q;
  RJson *n = node_new (RJSON_NUMBER);
  n->number = v;
  return n;
}

static RJson *
parse_container (Parser *ps, gboolean object, GError **error)
{
  if (++ps->depth > 200)
    {
      parse_fail (ps, error, "nesting deeper than 200");
      return NULL;
    }
  ps->p++;
  g_autoptr (RJson) node = node_new (object ? RJSON_OBJECT : RJSON_ARRAY);
  char close = object ? '}' : ']';
  skip_space (ps);
  if (ps->p < ps->end && *ps->p == close)
    {
      ps->p++;
      ps->depth--;
      return g_steal_pointer (&node);
    }
  for (;;)
    {
      skip_space (ps);
      if (object)
        {
          if (ps->p >= ps->end || *ps->p != '"')
            {
              parse_fail (ps, error, "expected a member name");
              return NULL;
            }
          char *key = parse_string_raw (ps, error);
          if (!key)
            return NULL;
          g_ptr_array_add (node->keys, key);
          skip_space (ps);
          if (ps->p >= ps->end || *ps->p != ':')
            {
              parse_fail (ps, error, "expected ':' after member name");
              return NULL;
            }
          ps->p++;
        }
      RJson *v = parse_value (ps, error);
      if (!v)
        return NULL;
      g_ptr_array_add (node->items, v);
      skip_space (ps);
      if (ps->p < ps->end && *ps->p == ',')
        {
          ps->p++;
          continue;
        }
      if (ps->p < ps->end && *ps->p == close)
        {
          ps->p++;
          break;
        }
      parse_fail (ps, error, "expected ',' or '%c'", close);
      return NULL;
    }
  ps->depth--;
  return g_steal_pointer (&node);
}

static RJson *
parse_value (Parser *ps, GError **error)
{
  skip_space (ps);
  if (ps->p >= ps->end)
    {
      parse_fail (ps, error, "unexpected end of input");
      return NULL;
    }
  switch (*ps->p)
    {
    case '{':
      return parse_container (ps, TRUE, error);
    case '[':
      return parse_container (ps, FALSE, error);
    case '"':
      {
        char *s = parse_string_raw (ps, error);
        if (!s)
          return NULL;
        RJson *n = node_new (RJSON_STRING);
        n->string = s;
        return n;
      }
    case 't':
    case 'f':
      {
        gboolean v = *ps->p == 't';
        if (!expect_literal (ps, v ? "true" : "false", error))
          return NULL;
        RJson *n = node_new (RJSON_BOOL);
        n->boolean = v;
        return n;
      }
    case 'n':
      if (!expect_literal (ps, "null", error))
        return NULL;
      return node_new (RJSON_NULL);
    default:
      return parse_number (ps, error);
    }
}

RJson *
rjson_parse (const char *text, gsize len, const char *origin, GError **error)
{
  Parser ps = { text, text, text + len, origin ? origin : "JSON", 0 };
  RJson *root = parse_value (&ps, error);
  if (!root)
    return NULL;
  skip_space (&ps);
  if (ps.p != ps.end)
    {
      parse_fail (&ps, error, "trailing characters after the JSON value");
      rjson_free (root);
      return NULL;
    }
  return root;
}

RJson *
rjson_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, error))
    return NULL;
  return rjson_parse (text, len, path, error);
}

/* ---- accessors ---- */

RJsonType
rjson_type (const RJson *node)
{
  return node ? node->type : RJSON_NULL;
}

const RJson *
rjson_get (const RJson *node, const char *key)
{
  if (!node || node->type != RJSON_OBJECT)
    return NULL;
  for (guint i = 0; i < node->keys->len; i++)
    if (strcmp (node->keys->pdata[i], key) == 0)
      return node->items->pdata[i];
  return NULL;
}

const RJson *
rjson_path (const RJson *node, const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  for (char **p = parts; *p && node; p++)
    {
      if (node->type == RJSON_ARRAY)
        {
          char *end = NULL;
          guint64 i = g_ascii_strtoull (*p, &end, 10);
          if (end == *p || *end || i >= node->items->len)
            return NULL;
          node = node->items->pdata[i];
        }
      else
        node = rjson_get (node, *p);
    }
  return node;
}

guint
rjson_length (const RJson *node)
{
  return node && node->items ? node->items->len : 0;
}

const RJson *
rjson_index (const RJson *node, guint i, const char **key)
{
  if (!node || !node->items || i >= node->items->len)
    return NULL;
  if (key)
    *key = node->keys ? node->keys->pdata[i] : NULL;
  return node->items->pdata[i];
}

gboolean
rjson_is_number (const RJson *node)
{
  return node && node->type == RJSON_NUMBER;
}

double
rjson_number (const RJson *node, double fallback)
{
  return node && node->type == RJSON_NUMBER ? node->number : fallback;
}

const char *
rjson_string (const RJson *node, const char *fallback)
{
  return node && node->type == RJSON_STRING ? node->string : fallback;
}

gboolean
rjson_bool (const RJson *node, gboolean fallback)
{
  return node && node->type == RJSON_BOOL ? node->boolean : fallback;
}

double
rjson_path_number (const RJson *node, const char *path)
{
  return rjson_number (rjson_path (node, path), NAN);
}

/* ---- writer ---- */

void
rjson_append_escaped (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const unsigned char *c = (const unsigned char *) s; *c; c++)
    {
      switch (*c)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        case '<':  /* safe inside an HTML <script> */
          g_string_append (out, "\\u003c");
          break;
        default:
          if (*c < 0x20)
            g_string_append_printf (out, "\\u%04x", *c);
          else
            g_string_append_c (out, (char) *c);
        }
    }
  g_string_append_c (out, '"');
}

void
rjson_writer_init (RJsonWriter *w, GString *out)
{
  *w = (RJsonWriter) { .out = out };
}

static void
writer_indent (RJsonWriter *w)
{
  g_string_append_c (w->out, '\n');
  for (guint i = 0; i < w->depth; i++)
    g_string_append (w->out, "  ");
}

/* Before any value: comma and newline unless it follows a key. */
static void
writer_value_prefix (RJsonWriter *w)
{
  if (w->after_key)
    {
      w->after_key = FALSE;
      return;
    }
  if (w->need_comma)
    g_string_append_c (w->out, ',');
  if (w->depth > 0)
    writer_indent (w);
}

void
rjson_key (RJsonWriter *w, const char *key)
{
  if (w->need_comma)
    g_string_append_c (w->out, ',');
  writer_indent (w);
  rjson_append_escaped (w->out, key);
  g_string_append (w->out, ": ");
  w->after_key = TRUE;
  w->need_comma = FALSE;
}

static void
writer_begin (RJsonWriter *w, char c)
{
  writer_value_prefix (w);
  g_string_append_c (w->out, c);
  w->depth++;
  w->need_comma = FALSE;
}

static void
writer_end (RJsonWriter *w, char c)
{
  gboolean empty = !w->need_comma;
  w->depth--;
  if (!empty)
    writer_indent (w);
  g_string_append_c (w->out, c);
  w->need_comma = TRUE;
  if (w->depth == 0)
    g_string_append_c (w->out, '\n');
}

void rjson_begin_object (RJsonWriter *w) { writer_begin (w, '{'); }
void rjson_end_object (RJsonWriter *w) { writer_end (w, '}'); }
void rjson_begin_array (RJsonWriter *w) { writer_begin (w, '['); }
void rjson_end_array (RJsonWriter *w) { writer_end (w, ']'); }

void
rjson_string_value (RJsonWriter *w, const char *s)
{
  writer_value_prefix (w);
  if (s)
    rjson_append_escaped (w->out, s);
  else
    g_string_append (w->out, "null");
  w->need_comma = TRUE;
}

void
rjson_number_value (RJsonWriter *w, double v)
{
  writer_value_prefix (w);
  if (!isfinite (v))
    g_string_append (w->out, "null");
  else if (v == floor (v) && fabs (v) < 9e15)
    g_string_append_printf (w->out, "%.0f", v);
  else
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      /* %.10g keeps every digit a table shows and avoids 0.1+0.2 noise */
      g_string_append (w->out, g_ascii_formatd (buf, sizeof buf, "%.10g", v));
    }
  w->need_comma = TRUE;
}

void
rjson_int_value (RJsonWriter *w, gint64 v)
{
  writer_value_prefix (w);
  g_string_append_printf (w->out, "%" G_GINT64_FORMAT, v);
  w->need_comma = TRUE;
}

void
rjson_bool_value (RJsonWriter *w, gboolean v)
{
  writer_value_prefix (w);
  g_string_append (w->out, v ? "true" : "false");
  w->need_comma = TRUE;
}

void
rjson_null_value (RJsonWriter *w)
{
  writer_value_prefix (w);
  g_string_append (w->out, "null");
  w->need_comma = TRUE;
}

void
rjson_node_value (RJsonWriter *w, const RJson *node)
{
  switch (rjson_type (node))
    {
    case RJSON_NULL: rjson_null_value (w); break;
    case RJSON_BOOL: rjson_bool_value (w, node->boolean); break;
    case RJSON_NUMBER: rjson_number_value (w, node->number); break;
    case RJSON_STRING: rjson_string_value (w, node->string); break;
    case RJSON_ARRAY:
      rjson_begin_array (w);
      for (guint i = 0; i < node->items->len; i++)
        rjson_node_value (w, node->items->pdata[i]);
      rjson_end_array (w);
      break;
    case RJSON_OBJECT:
      rjson_begin_object (w);
      for (guint i = 0; i < node->items->len; i++)
        {
          rjson_key (w, node->keys->pdata[i]);
          rjson_node_value (w, node->items->pdata[i]);
        }
      rjson_end_object (w);
      break;
    }
}
