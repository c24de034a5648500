/* nfsub's JSON reader (DOM) and streaming writer (see json.h). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "json.h"

G_DEFINE_QUARK (nfsub-json-error-quark, nfsub_json_error)

/* Objects with more members than this get a key index: the simulator's
 * truth.json has one member per user, looked up by key in the tests. */
#define INDEX_MIN_MEMBERS 16

struct NfsubJson {
  NfsubJsonType type;
  gboolean boolean;
  gboolean exact;   /* NUMBER: an integer literal that fits in gint64 */
  gint64 integer;   /* its value when exact */
  double number;
  char *string;
  GPtrArray *items;   /* NfsubJson*; arrays and objects */
  GPtrArray *keys;    /* char*; objects only, parallel to items */
  GHashTable *index;  /* key -> position + 1 (first wins); big objects */
};

static NfsubJson *
node_new (NfsubJsonType type)
{
  NfsubJson *n = g_new0 (NfsubJson, 1);
  n->type = type;
  if (type == NFSUB_JSON_ARRAY || type == NFSUB_JSON_OBJECT)
    n->items = g_ptr_array_new_with_free_func ((GDestroyNotify) nfsub_json_free);
  if (type == NFSUB_JSON_OBJECT)
    n->keys = g_ptr_array_new_with_free_func (g_free);
  return n;
}

void
nfsub_json_free (NfsubJson *node)
{
  if (!node)
    return;
  g_free (node->string);
  if (node->index)
    g_hash_table_unref (node->index);
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

/* Line and column (in characters, both from 1) of the parser's position. */
static gboolean G_GNUC_PRINTF (3, 4)
parse_fail (Parser *ps, GError **error, const char *fmt, ...)
{
  guint line = 1, col = 1;
  for (const char *c = ps->start; c < ps->p && c < ps->end; c++)
    {
      if (*c == '\n')
        line++, col = 1;
      else if (((unsigned char) *c & 0xC0) != 0x80)  /* not a UTF-8 tail byte */
        col++;
    }
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NFSUB_JSON_ERROR, NFSUB_JSON_ERROR_SYNTAX,
               "%s: line %u, column %u (byte %" G_GSIZE_FORMAT "): %s",
               ps->origin, line, col, (gsize) (ps->p - ps->start), what);
  return FALSE;
}

/* What stands at the parser's position, for messages. */
static char *
describe_here (const Parser *ps)
{
  if (ps->p >= ps->end)
    return g_strdup ("end of input");
  unsigned char c = (unsigned char) *ps->p;
  if (c >= 0x20 && c < 0x7F)
    return g_strdup_printf ("'%c'", c);
  return g_strdup_printf ("byte 0x%02x", c);
}

static gboolean
fail_unexpected (Parser *ps, GError **error, const char *expected)
{
  g_autofree char *here = describe_here (ps);
  return parse_fail (ps, error, "%s%s%s", expected ? expected : "unexpected ",
                     expected ? ", found " : "", here);
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
  gunichar v = 0;
  for (int i = 0; i < 4; i++)
    {
      int d = ps->p + i < ps->end ? g_ascii_xdigit_value (ps->p[i]) : -1;
      if (d < 0)
        {
          ps->p += i;
          return parse_fail (ps, error, "\\u escape needs 4 hex digits");
        }
      v = v * 16 + (gunichar) d;
    }
  ps->p += 4;
  *out = v;
  return TRUE;
}

/* A \u escape (at the 'u'), with its low surrogate if it is a high one. */
static gboolean
parse_unicode_escape (Parser *ps, GString *s, GError **error)
{
  const char *escape = ps->p - 1;
  ps->p++;
  gunichar u;
  if (!parse_hex4 (ps, &u, error))
    return FALSE;
  if (u >= 0xD800 && u < 0xDC00)
    {
      if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
        {
          ps->p = escape;
          return parse_fail (ps, error, "high surrogate \\u%04X without a "
                             "low surrogate after it", u);
        }
      ps->p += 2;
      gunichar lo;
      if (!parse_hex4 (ps, &lo, error))
        return FALSE;
      if (lo < 0xDC00 || lo > 0xDFFF)
        {
          ps->p = escape;
          return parse_fail (ps, error, "high surrogate \\u%04X followed by "
                             "\\u%04X, not a low surrogate", u, lo);
        }
      u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
    }
  else if (u >= 0xDC00 && u <= 0xDFFF)
    {
      ps->p = escape;
      return parse_fail (ps, error, "lone low surrogate \\u%04X", u);
    }
  if (u == 0)
    {
      /* strings are handed out NUL-terminated */
      ps->p = escape;
      return parse_fail (ps, error, "\\u0000 in a string");
    }
  g_string_append_unichar (s, u);
  return TRUE;
}

static char *
parse_string_raw (Parser *ps, GError **error)
{
  /* at the opening quote */
  const char *opening = ps->p;
  ps->p++;
  g_autoptr (GString) s = g_string_new (NULL);
  while (ps->p < ps->end && *ps->p != '"')
    {
      unsigned char c = (unsigned char) *ps->p;
      if (c < 0x20)
        {
          parse_fail (ps, error, "control character 0x%02x in a string "
                      "(must be escaped)", c);
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
      char e = *ps->p;
      const char *simple = strchr ("\"\\/bfnrt", e);
      if (e && simple)
        {
          static const char decoded[] = "\"\\/\b\f\n\r\t";
          g_string_append_c (s, decoded[simple - "\"\\/bfnrt"]);
          ps->p++;
        }
      else if (e == 'u')
        {
          if (!parse_unicode_escape (ps, s, error))
            return NULL;
        }
      else
        {
          g_autofree char *what = describe_here (ps);
          ps->p--;  /* the message points at the backslash */
          parse_fail (ps, error, "unknown escape: backslash before %s", what);
          return NULL;
        }
    }
  if (ps->p >= ps->end)
    {
      ps->p = opening;
      parse_fail (ps, error, "string not terminated");
      return NULL;
    }
  ps->p++;
  if (!g_utf8_validate (s->str, (gssize) s->len, NULL))
    {
      ps->p = opening;
      parse_fail (ps, error, "string is not UTF-8");
      return NULL;
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static NfsubJson *parse_value (Parser *ps, GError **error);

static gboolean
expect_literal (Parser *ps, const char *word, GError **error)
{
  gsize n = strlen (word);
  if ((gsize) (ps->end - ps->p) < n || memcmp (ps->p, word, n) != 0)
    return fail_unexpected (ps, error, NULL);
  ps->p += n;
  return TRUE;
}

static const char *
skip_digits (const char *q, const char *end)
{
  while (q < end && g_ascii_isdigit (*q))
    q++;
  return q;
}

/* RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static NfsubJson *
parse_number (Parser *ps, GError **error)
{
  const char *q = ps->p;
  if (*q == '-')
    q++;
  if (q >= ps->end || !g_ascii_isdigit (*q))
    {
      gboolean minus = q > ps->p;
      ps->p = q;
      fail_unexpected (ps, error, minus ? "expected a digit after '-'" : NULL);
      return NULL;
    }
  q = *q == '0' ? q + 1 : skip_digits (q, ps->end);
  gboolean integer = TRUE;
  if (q < ps->end && *q == '.')
    {
      integer = FALSE;
      const char *digits = ++q;
      q = skip_digits (q, ps->end);
      if (q == digits)
        {
          ps->p = q;
          fail_unexpected (ps, error, "expected a digit after '.'");
          return NULL;
        }
    }
  if (q < ps->end && (*q == 'e' || *q == 'E'))
    {
      integer = FALSE;
      q++;
      if (q < ps->end && (*q == '+' || *q == '-'))
        q++;
      const char *digits = q;
      q = skip_digits (q, ps->end);
      if (q == digits)
        {
          ps->p = q;
          fail_unexpected (ps, error, "expected a digit in the exponent");
          return NULL;
        }
    }
  g_autofree char *text = g_strndup (ps->p, (gsize) (q - ps->p));
  double v = g_ascii_strtod (text, NULL);
  if (!isfinite (v))
    {
      parse_fail (ps, error, "number %s is out of range", text);
      return NULL;
    }
  NfsubJson *n = node_new (NFSUB_JSON_NUMBER);
  n->number = v;
  if (integer)
    {
      errno = 0;
      gint64 i = g_ascii_strtoll (text, NULL, 10);
      if (errno == 0)
        {
          n->exact = TRUE;
          n->integer = i;
        }
    }
  ps->p = q;
  return n;
}

static void
object_index_add (NfsubJson *node, guint position)
{
  char *key = node->keys->pdata[position];
  if (!g_hash_table_contains (node->index, key))
    g_hash_table_insert (node->index, key, GUINT_TO_POINTER (position + 1));
}

static NfsubJson *
parse_container (Parser *ps, gboolean object, GError **error)
{
  if (++ps->depth > NFSUB_JSON_MAX_DEPTH)
    {
      parse_fail (ps, error, "nested deeper than %d", NFSUB_JSON_MAX_DEPTH);
      return NULL;
    }
  ps->p++;
  g_autoptr (NfsubJson) node = node_new (object ? NFSUB_JSON_OBJECT : NFSUB_JSON_ARRAY);
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
              fail_unexpected (ps, error, "expected a member name");
              return NULL;
            }
          char *key = parse_string_raw (ps, error);
          if (!key)
            return NULL;
          g_ptr_array_add (node->keys, key);
          skip_space (ps);
          if (ps->p >= ps->end || *ps->p != ':')
            {
              fail_unexpected (ps, error, "expected ':' after the member name");
              return NULL;
            }
          ps->p++;
        }
      NfsubJson *v = parse_value (ps, error);
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
      fail_unexpected (ps, error, object ? "expected ',' or '}'"
                                         : "expected ',' or ']'");
      return NULL;
    }
  if (object && node->items->len > INDEX_MIN_MEMBERS)
    {
      node->index = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint i = 0; i < node->keys->len; i++)
        object_index_add (node, i);
    }
  ps->depth--;
  return g_steal_pointer (&node);
}

static NfsubJson *
parse_value (Parser *ps, GError **error)
{
  skip_space (ps);
  if (ps->p >= ps->end)
    {
      parse_fail (ps, error, "unexpected end of input, expected a value");
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
        NfsubJson *n = node_new (NFSUB_JSON_STRING);
        n->string = s;
        return n;
      }
    case 't':
    case 'f':
      {
        gboolean v = *ps->p == 't';
        if (!expect_literal (ps, v ? "true" : "false", error))
          return NULL;
        NfsubJson *n = node_new (NFSUB_JSON_BOOL);
        n->boolean = v;
        return n;
      }
    case 'n':
      if (!expect_literal (ps, "null", error))
        return NULL;
      return node_new (NFSUB_JSON_NULL);
    default:
      return parse_number (ps, error);
    }
}

NfsubJson *
nfsub_json_parse (const char *text, gsize len, const char *origin,
                  GError **error)
{
  Parser ps = { text, text, text + len, origin ? origin : "JSON", 0 };
  NfsubJson *root = parse_value (&ps, error);
  if (!root)
    return NULL;
  skip_space (&ps);
  if (ps.p != ps.end)
    {
      fail_unexpected (&ps, error, "expected the end after the JSON value");
      nfsub_json_free (root);
      return NULL;
    }
  return root;
}

NfsubJson *
nfsub_json_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, error))
    return NULL;
  return nfsub_json_parse (text, len, path, error);
}

/* ---- accessors ---- */

NfsubJsonType
nfsub_json_type (const NfsubJson *node)
{
  return node ? node->type : NFSUB_JSON_NULL;
}

const NfsubJson *
nfsub_json_get (const NfsubJson *node, const char *key)
{
  if (!node || node->type != NFSUB_JSON_OBJECT)
    return NULL;
  if (node->index)
    {
      guint position = GPOINTER_TO_UINT (g_hash_table_lookup (node->index, key));
      return position ? node->items->pdata[position - 1] : NULL;
    }
  for (guint i = 0; i < node->keys->len; i++)
    if (strcmp (node->keys->pdata[i], key) == 0)
      return node->items->pdata[i];
  return NULL;
}

const NfsubJson *
nfsub_json_path (const NfsubJson *node, const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  for (char **p = parts; *p && node; p++)
    {
      if (node->type == NFSUB_JSON_ARRAY)
        {
          char *end = NULL;
          guint64 i = g_ascii_strtoull (*p, &end, 10);
          if (end == *p || *end || !g_ascii_isdigit (**p) || i >= node->items->len)
            return NULL;
          node = node->items->pdata[i];
        }
      else
        node = nfsub_json_get (node, *p);
    }
  return node;
}

guint
nfsub_json_length (const NfsubJson *node)
{
  return node && node->items ? node->items->len : 0;
}

const NfsubJson *
nfsub_json_index (const NfsubJson *node, guint i, const char **key)
{
  if (!node || !node->items || i >= node->items->len)
    return NULL;
  if (key)
    *key = node->keys ? node->keys->pdata[i] : NULL;
  return node->items->pdata[i];
}

gboolean
nfsub_json_is_number (const NfsubJson *node)
{
  return node && node->type == NFSUB_JSON_NUMBER;
}

double
nfsub_json_number (const NfsubJson *node, double fallback)
{
  return nfsub_json_is_number (node) ? node->number : fallback;
}

gboolean
nfsub_json_get_int64 (const NfsubJson *node, gint64 *value)
{
  if (!nfsub_json_is_number (node) || !node->exact)
    return FALSE;
  *value = node->integer;
  return TRUE;
}

const char *
nfsub_json_string (const NfsubJson *node, const char *fallback)
{
  return node && node->type == NFSUB_JSON_STRING ? node->string : fallback;
}

gboolean
nfsub_json_bool (const NfsubJson *node, gboolean fallback)
{
  return node && node->type == NFSUB_JSON_BOOL ? node->boolean : fallback;
}

double
nfsub_json_path_number (const NfsubJson *node, const char *path)
{
  return nfsub_json_number (nfsub_json_path (node, path), NAN);
}

/* ---- writer ---- */

void
nfsub_json_append_escaped (GString *out, const char *s)
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
          if (*c < 0x20 || *c == 0x7F)
            g_string_append_printf (out, "\\u%04x", *c);
          else
            g_string_append_c (out, (char) *c);
        }
    }
  g_string_append_c (out, '"');
}

void
nfsub_json_writer_init (NfsubJsonWriter *w, GString *out)
{
  *w = (NfsubJsonWriter) { .out = out };
}

static gboolean
writer_on_one_line (const NfsubJsonWriter *w)
{
  return w->line_from > 0 && w->depth >= w->line_from;
}

/* Before any value: the separator, then its member name if it has one. */
static void
writer_member (NfsubJsonWriter *w, const char *key)
{
  if (writer_on_one_line (w))
    {
      if (w->need_comma)
        g_string_append (w->out, ", ");
    }
  else
    {
      if (w->need_comma)
        g_string_append_c (w->out, ',');
      if (w->depth > 0)
        {
          g_string_append_c (w->out, '\n');
          for (guint i = 0; i < w->depth; i++)
            g_string_append (w->out, "  ");
        }
    }
  if (key)
    {
      nfsub_json_append_escaped (w->out, key);
      g_string_append (w->out, ": ");
    }
  w->need_comma = TRUE;
}

static void
writer_begin (NfsubJsonWriter *w, const char *key, char c, gboolean one_line)
{
  writer_member (w, key);
  g_string_append_c (w->out, c);
  w->depth++;
  w->need_comma = FALSE;
  if (w->line_from == 0
      && (one_line || (w->line_depth > 0 && w->depth >= w->line_depth)))
    w->line_from = w->depth;
}

static void
writer_end (NfsubJsonWriter *w, char c)
{
  g_return_if_fail (w->depth > 0);
  gboolean empty = !w->need_comma;
  gboolean one_line = writer_on_one_line (w);
  if (w->line_from == w->depth)
    w->line_from = 0;
  w->depth--;
  if (!empty && !one_line)
    {
      g_string_append_c (w->out, '\n');
      for (guint i = 0; i < w->depth; i++)
        g_string_append (w->out, "  ");
    }
  g_string_append_c (w->out, c);
  w->need_comma = TRUE;
  if (w->depth == 0)
    g_string_append_c (w->out, '\n');
}

void
nfsub_json_begin_object (NfsubJsonWriter *w, const char *key)
{
  writer_begin (w, key, '{', FALSE);
}

void
nfsub_json_begin_array (NfsubJsonWriter *w, const char *key)
{
  writer_begin (w, key, '[', FALSE);
}

void
nfsub_json_begin_array_line (NfsubJsonWriter *w, const char *key)
{
  writer_begin (w, key, '[', TRUE);
}

void
nfsub_json_begin_object_line (NfsubJsonWriter *w, const char *key)
{
  writer_begin (w, key, '{', TRUE);
}

void nfsub_json_end_object (NfsubJsonWriter *w) { writer_end (w, '}'); }
void nfsub_json_end_array (NfsubJsonWriter *w) { writer_end (w, ']'); }

void
nfsub_json_put_string (NfsubJsonWriter *w, const char *key, const char *s)
{
  writer_member (w, key);
  if (s)
    nfsub_json_append_escaped (w->out, s);
  else
    g_string_append (w->out, "null");
}

/* 2^53: every integer up to here is a double of its own */
#define EXACT_INTEGER_MAX 9007199254740992.0

void
nfsub_json_put_number_digits (NfsubJsonWriter *w, const char *key, double v,
                              int digits)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char format[8];
  writer_member (w, key);
  if (!isfinite (v))
    g_string_append (w->out, "null");
  else if (v == floor (v) && fabs (v) <= EXACT_INTEGER_MAX)
    g_string_append_printf (w->out, "%.0f", v + 0.0);  /* + 0.0: no "-0" */
  else if (digits > 0)
    {
      g_snprintf (format, sizeof format, "%%.%dg", MIN (digits, 17));
      g_string_append (w->out, g_ascii_formatd (buf, sizeof buf, format, v));
    }
  else
    {
      /* the shortest text that reads back as v (17 digits always do) */
      for (int d = 15; d <= 17; d++)
        {
          g_snprintf (format, sizeof format, "%%.%dg", d);
          g_ascii_formatd (buf, sizeof buf, format, v);
          if (d == 17 || g_ascii_strtod (buf, NULL) == v)
            break;
        }
      g_string_append (w->out, buf);
    }
}

void
nfsub_json_put_number (NfsubJsonWriter *w, const char *key, double v)
{
  nfsub_json_put_number_digits (w, key, v, w->digits);
}

void
nfsub_json_put_int (NfsubJsonWriter *w, const char *key, gint64 v)
{
  writer_member (w, key);
  g_string_append_printf (w->out, "%" G_GINT64_FORMAT, v);
}

void
nfsub_json_put_uint (NfsubJsonWriter *w, const char *key, guint64 v)
{
  writer_member (w, key);
  g_string_append_printf (w->out, "%" G_GUINT64_FORMAT, v);
}

void
nfsub_json_put_uint_array (NfsubJsonWriter *w, const char *key,
                           const guint64 *v, gsize n)
{
  nfsub_json_begin_array_line (w, key);
  for (gsize i = 0; i < n; i++)
    nfsub_json_put_uint (w, NULL, v[i]);
  nfsub_json_end_array (w);
}

void
nfsub_json_put_bool (NfsubJsonWriter *w, const char *key, gboolean v)
{
  writer_member (w, key);
  g_string_append (w->out, v ? "true" : "false");
}

void
nfsub_json_put_null (NfsubJsonWriter *w, const char *key)
{
  writer_member (w, key);
  g_string_append (w->out, "null");
}

void
nfsub_json_put_node (NfsubJsonWriter *w, const char *key, const NfsubJson *node)
{
  switch (nfsub_json_type (node))
    {
    case NFSUB_JSON_NULL: nfsub_json_put_null (w, key); break;
    case NFSUB_JSON_BOOL: nfsub_json_put_bool (w, key, node->boolean); break;
    case NFSUB_JSON_NUMBER:
      if (node->exact)
        nfsub_json_put_int (w, key, node->integer);
      else
        nfsub_json_put_number (w, key, node->number);
      break;
    case NFSUB_JSON_STRING: nfsub_json_put_string (w, key, node->string); break;
    case NFSUB_JSON_ARRAY:
      nfsub_json_begin_array (w, key);
      for (guint i = 0; i < node->items->len; i++)
        nfsub_json_put_node (w, NULL, node->items->pdata[i]);
      nfsub_json_end_array (w);
      break;
    case NFSUB_JSON_OBJECT:
      nfsub_json_begin_object (w, key);
      for (guint i = 0; i < node->items->len; i++)
        nfsub_json_put_node (w, node->keys->pdata[i], node->items->pdata[i]);
      nfsub_json_end_object (w);
      break;
    }
}
