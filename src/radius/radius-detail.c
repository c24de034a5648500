/* FreeRADIUS detail file reader (see include/nfsub/radius-detail.h).
 *
 * Lines are cut out of a large buffer with memchr; a record's text is
 * copied into one arena so the attribute pointers handed out stay valid
 * until the next record.  gzip input goes through GIO's zlib converter, so
 * compressed rotated files read exactly like plain ones. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <gio/gio.h>

#include <nfsub/plugin.h>
#include <nfsub/radius-detail.h>

#define READ_CHUNK (256 * 1024)
/* A real detail line is far below these; anything longer is garbage, and
 * the limits keep a hostile file from costing unbounded memory. */
#define MAX_LINE (64 * 1024)
#define MAX_ATTRS 4096

typedef struct {
  gsize name;  /* offsets into the arena */
  gsize value;
  guint64 line;
} AttrSlot;

struct NfsubRadiusDetail {
  char *path;
  GInputStream *stream;
  gboolean compressed;
  NfsubRadiusDetailFlags flags;

  /* buffer holds stream bytes [buf_offset, buf_offset + buf_len) */
  char *buf;
  gsize buf_len;
  gsize buf_size;
  gsize buf_pos;        /* next unread byte */
  guint64 buf_offset;
  gboolean eof;
  GError *fatal;        /* sticky I/O or decompression error */

  guint64 line;         /* lines consumed */
  guint64 resume_offset;
  guint64 resume_line;
  guint64 malformed;

  GString *arena;
  GArray *slots;        /* AttrSlot */
  GArray *attrs;        /* NfsubRadiusAttr, rebuilt per record */
  NfsubRadiusRecord record;
};

/* ---- input ---- */

static gboolean
looks_gzip (const guint8 *p, gsize n)
{
  return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* Wraps a stream whose first bytes are in `head` (already read). */
static void
detail_setup_stream (NfsubRadiusDetail *d, GInputStream *raw)
{
  if (d->compressed)
    {
      g_autoptr (GZlibDecompressor) z
        = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
      d->stream = g_converter_input_stream_new (raw, G_CONVERTER (z));
    }
  else
    d->stream = g_object_ref (raw);
}

/* Reads more bytes into the buffer, keeping the unread tail.  Returns FALSE
 * at the end of the input or on a fatal error (d->fatal). */
static gboolean
detail_fill (NfsubRadiusDetail *d)
{
  if (d->eof || d->fatal)
    return FALSE;
  if (d->buf_pos > 0)
    {
      memmove (d->buf, d->buf + d->buf_pos, d->buf_len - d->buf_pos);
      d->buf_len -= d->buf_pos;
      d->buf_offset += d->buf_pos;
      d->buf_pos = 0;
    }
  if (d->buf_size - d->buf_len < READ_CHUNK)
    {
      d->buf_size = d->buf_len + READ_CHUNK;
      d->buf = g_realloc (d->buf, d->buf_size);
    }
  GError *local = NULL;
  gssize n = g_input_stream_read (d->stream, d->buf + d->buf_len,
                                  d->buf_size - d->buf_len, NULL, &local);
  if (n < 0)
    {
      g_set_error (&d->fatal, NFSUB_ERROR, NFSUB_ERROR_INPUT,
                   "%s: %s after byte %" G_GUINT64_FORMAT ": %s", d->path,
                   d->compressed ? "gzip decompression failed"
                                 : "read failed",
                   d->buf_offset + d->buf_len, local->message);
      g_error_free (local);
      return FALSE;
    }
  if (n == 0)
    {
      d->eof = TRUE;
      return FALSE;
    }
  d->buf_len += (gsize) n;
  return TRUE;
}

/* The next line, without its '\n' (and a '\r' before it).  Returns FALSE
 * when no complete line is available: at the end of input (a last line
 * without '\n' counts as complete unless following a growing file) or on
 * a fatal error.  *too_long is set (and the line skipped) for a line over
 * MAX_LINE. */
static gboolean
detail_next_line (NfsubRadiusDetail *d, char **line, gsize *len,
                  guint64 *line_offset, gboolean *too_long)
{
  *too_long = FALSE;
  gboolean skipping = FALSE;
  for (;;)
    {
      char *start = d->buf + d->buf_pos;
      gsize avail = d->buf_len - d->buf_pos;
      char *nl = avail ? memchr (start, '\n', avail) : NULL;
      if (nl)
        {
          gsize n = (gsize) (nl - start);
          *line_offset = d->buf_offset + d->buf_pos;
          d->buf_pos += n + 1;
          d->line++;
          if (skipping || n > MAX_LINE)
            {
              *too_long = TRUE;
              *line = start;
              *len = 0;
              return TRUE;
            }
          if (n > 0 && start[n - 1] == '\r')
            n--;
          start[n] = '\0';
          *line = start;
          *len = n;
          return TRUE;
        }
      if (avail > MAX_LINE)
        {
          /* Drop what we have of the long line and keep looking for its
           * end; the line's offset is lost, which only matters for
           * messages. */
          skipping = TRUE;
          d->buf_offset += d->buf_len;
          d->buf_len = d->buf_pos = 0;
        }
      if (!detail_fill (d))
        {
          if (d->fatal)
            return FALSE;
          avail = d->buf_len - d->buf_pos;
          if (avail == 0 || (d->flags & NFSUB_RADIUS_DETAIL_FOLLOW))
            return FALSE;
          /* final line without a newline */
          start = d->buf + d->buf_pos;
          *line_offset = d->buf_offset + d->buf_pos;
          if (d->buf_len == d->buf_size)
            {
              d->buf_size++;
              d->buf = g_realloc (d->buf, d->buf_size);
              start = d->buf + d->buf_pos;
            }
          gsize n = avail;
          d->buf_pos = d->buf_len;
          d->line++;
          if (skipping || n > MAX_LINE)
            {
              *too_long = TRUE;
              *line = start;
              *len = 0;
              return TRUE;
            }
          if (n > 0 && start[n - 1] == '\r')
            n--;
          start[n] = '\0';
          *line = start;
          *len = n;
          return TRUE;
        }
    }
}

static gboolean
is_blank (const char *s, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t')
      return FALSE;
  return TRUE;
}

/* ---- attribute lines ---- */

static int
octal_digit (char c)
{
  return c >= '0' && c <= '7' ? c - '0' : -1;
}

/* Parses "\tName = value" into the arena.  Returns NULL on success or a
 * static description of what is wrong. */
static const char *
parse_attr_line (NfsubRadiusDetail *d, const char *s, gsize len,
                 AttrSlot *slot)
{
  const char *end = s + len;
  if (memchr (s, '\0', len))
    return "NUL byte in line";
  while (s < end && (*s == ' ' || *s == '\t'))
    s++;
  const char *name = s;
  while (s < end && *s != ' ' && *s != '\t' && *s != '=')
    s++;
  if (s == name)
    return "attribute line without a name";
  gsize name_len = (gsize) (s - name);
  while (s < end && (*s == ' ' || *s == '\t'))
    s++;
  if (s == end || *s != '=')
    return "attribute line without ' = '";
  s++;
  while (s < end && (*s == ' ' || *s == '\t'))
    s++;

  slot->name = d->arena->len;
  g_string_append_len (d->arena, name, (gssize) name_len);
  g_string_append_c (d->arena, '\0');
  slot->value = d->arena->len;

  if (s < end && *s == '"')
    {
      s++;
      gboolean closed = FALSE;
      while (s < end)
        {
          char c = *s++;
          if (c == '"')
            {
              closed = TRUE;
              break;
            }
          if (c != '\\' || s == end)
            {
              g_string_append_c (d->arena, c);
              continue;
            }
          c = *s++;
          switch (c)
            {
            case 'n': g_string_append_c (d->arena, '\n'); break;
            case 'r': g_string_append_c (d->arena, '\r'); break;
            case 't': g_string_append_c (d->arena, '\t'); break;
            case '"': g_string_append_c (d->arena, '"'); break;
            case '\\': g_string_append_c (d->arena, '\\'); break;
            default:
              if (octal_digit (c) >= 0 && end - s >= 2 && octal_digit (s[0]) >= 0
                  && octal_digit (s[1]) >= 0)
                {
                  int v = octal_digit (c) * 64 + octal_digit (s[0]) * 8
                          + octal_digit (s[1]);
                  s += 2;
                  if (v == 0 || v > 255)
                    return "bad octal escape in quoted value";
                  g_string_append_c (d->arena, (char) v);
                }
              else
                {
                  /* not an escape FreeRADIUS writes: keep it as it is */
                  g_string_append_c (d->arena, '\\');
                  g_string_append_c (d->arena, c);
                }
            }
        }
      if (!closed)
        return "unterminated quoted value";
      while (s < end && (*s == ' ' || *s == '\t'))
        s++;
      if (s != end)
        return "text after the closing quote";
    }
  else
    {
      const char *v_end = end;
      while (v_end > s && (v_end[-1] == ' ' || v_end[-1] == '\t'))
        v_end--;
      g_string_append_len (d->arena, s, v_end - s);
    }
  g_string_append_c (d->arena, '\0');
  return NULL;
}

/* ---- records ---- */

static void
detail_set_input_error (NfsubRadiusDetail *d, GError **error, guint64 line,
                        const char *what)
{
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT, "%s: line %" G_GUINT64_FORMAT
               ": %s", d->path, line, what);
}

int
nfsub_radius_detail_next (NfsubRadiusDetail *d,
                          const NfsubRadiusRecord **record, GError **error)
{
  char *line;
  gsize len;
  guint64 line_offset;
  gboolean too_long;

  if (d->fatal)
    {
      g_propagate_error (error, g_error_copy (d->fatal));
      return -1;
    }

  for (;;)
    {
      /* Between records: skip blank lines, find a date line. */
      guint64 before_line = d->line;
      if (!detail_next_line (d, &line, &len, &line_offset, &too_long))
        break;
      if (!too_long && is_blank (line, len))
        {
          d->resume_offset = d->buf_offset + d->buf_pos;
          d->resume_line = d->line;
          continue;
        }

      guint64 rec_line = d->line;
      guint64 rec_offset = line_offset;
      const char *problem = NULL;
      guint64 problem_line = rec_line;
      g_string_truncate (d->arena, 0);
      g_array_set_size (d->slots, 0);

      if (too_long)
        problem = "line too long";
      else if (line[0] == ' ' || line[0] == '\t')
        problem = "attribute line outside a record (no date line before it)";
      else if (memchr (line, '\0', len))
        problem = "NUL byte in line";
      else
        {
          g_string_append_len (d->arena, line, (gssize) len);
          g_string_append_c (d->arena, '\0');
        }

      /* The record's lines up to the blank line (or the end). */
      gboolean ended = FALSE;  /* saw the blank line */
      gboolean complete = TRUE;
      for (;;)
        {
          if (!detail_next_line (d, &line, &len, &line_offset, &too_long))
            {
              if (d->fatal)
                {
                  g_propagate_error (error, g_error_copy (d->fatal));
                  return -1;
                }
              /* End of input inside a record.  A growing file may not have
               * the rest yet: leave the record for the next run. */
              if (d->flags & NFSUB_RADIUS_DETAIL_FOLLOW)
                complete = FALSE;
              break;
            }
          if (!too_long && is_blank (line, len))
            {
              ended = TRUE;
              break;
            }
          if (problem)
            continue;
          if (too_long)
            {
              problem = "line too long";
              problem_line = d->line;
              continue;
            }
          if (line[0] != ' ' && line[0] != '\t')
            {
              problem = "line is neither an indented attribute nor blank "
                        "(missing blank line between records?)";
              problem_line = d->line;
              continue;
            }
          if (d->slots->len >= MAX_ATTRS)
            {
              problem = "too many attributes in one record";
              problem_line = d->line;
              continue;
            }
          AttrSlot slot = { 0, 0, d->line };
          const char *bad = parse_attr_line (d, line, len, &slot);
          if (bad)
            {
              problem = bad;
              problem_line = d->line;
              continue;
            }
          g_array_append_val (d->slots, slot);
        }

      if (!complete)
        {
          /* Rewind nothing: the stream cannot go back, but the resume
           * position still points before this record, which is what the
           * caller stores.  Report the end. */
          d->line = before_line;
          return 0;
        }
      (void) ended;
      d->resume_offset = d->buf_offset + d->buf_pos;
      d->resume_line = d->line;

      if (!problem && d->slots->len == 0)
        problem = "record without attributes";
      if (problem)
        {
          d->malformed++;
          detail_set_input_error (d, error, problem_line, problem);
          return -1;
        }

      g_array_set_size (d->attrs, d->slots->len);
      for (guint i = 0; i < d->slots->len; i++)
        {
          AttrSlot *s = &g_array_index (d->slots, AttrSlot, i);
          NfsubRadiusAttr *a = &g_array_index (d->attrs, NfsubRadiusAttr, i);
          a->name = d->arena->str + s->name;
          a->value = d->arena->str + s->value;
          a->line = s->line;
        }
      d->record.path = d->path;
      d->record.line = rec_line;
      d->record.offset = rec_offset;
      d->record.end_offset = d->resume_offset;
      d->record.date = d->arena->str;
      d->record.n_attrs = d->attrs->len;
      d->record.attrs = (const NfsubRadiusAttr *) d->attrs->data;
      *record = &d->record;
      return 1;
    }

  if (d->fatal)
    {
      g_propagate_error (error, g_error_copy (d->fatal));
      return -1;
    }
  return 0;
}

static NfsubRadiusDetail *
detail_new (const char *name, NfsubRadiusDetailFlags flags)
{
  NfsubRadiusDetail *d = g_new0 (NfsubRadiusDetail, 1);
  d->path = g_strdup (name);
  d->flags = flags;
  d->buf_size = READ_CHUNK;
  d->buf = g_malloc (d->buf_size);
  d->arena = g_string_sized_new (1024);
  d->slots = g_array_new (FALSE, FALSE, sizeof (AttrSlot));
  d->attrs = g_array_new (FALSE, FALSE, sizeof (NfsubRadiusAttr));
  return d;
}

/* Discards bytes up to `offset` (gzip streams cannot seek). */
static gboolean
detail_skip_to (NfsubRadiusDetail *d, guint64 offset, GError **error)
{
  while (d->buf_offset + d->buf_len < offset)
    {
      d->buf_pos = d->buf_len;
      if (!detail_fill (d))
        {
          if (d->fatal)
            {
              g_propagate_error (error, g_steal_pointer (&d->fatal));
              return FALSE;
            }
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
                       "%s: resume offset %" G_GUINT64_FORMAT
                       " is past the end (%" G_GUINT64_FORMAT
                       " bytes): the file was replaced or truncated",
                       d->path, offset, d->buf_offset + d->buf_len);
          return FALSE;
        }
    }
  d->buf_pos = (gsize) (offset - d->buf_offset);
  return TRUE;
}

NfsubRadiusDetail *
nfsub_radius_detail_open (const char *path, guint64 offset, guint64 line,
                          NfsubRadiusDetailFlags flags, GError **error)
{
  g_autoptr (NfsubRadiusDetail) d = detail_new (path, flags);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  GError *local = NULL;
  g_autoptr (GFileInputStream) raw = g_file_read (file, NULL, &local);
  if (!raw)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT, "%s: %s", path,
                   local->message);
      g_error_free (local);
      return NULL;
    }
  guint8 head[2];
  gsize got = 0;
  if (!g_input_stream_read_all (G_INPUT_STREAM (raw), head, 2, &got, NULL,
                                &local)
      || !g_seekable_seek (G_SEEKABLE (raw), 0, G_SEEK_SET, NULL, &local))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT, "%s: %s", path,
                   local->message);
      g_error_free (local);
      return NULL;
    }
  d->compressed = looks_gzip (head, got);

  if (!d->compressed && offset > 0)
    {
      /* Plain files seek; check the offset against the size first. */
      g_autoptr (GFileInfo) info = g_file_input_stream_query_info (
        raw, G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, &local);
      if (!info)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT, "%s: %s", path,
                       local->message);
          g_error_free (local);
          return NULL;
        }
      guint64 size = (guint64) g_file_info_get_size (info);
      if (offset > size)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
                       "%s: resume offset %" G_GUINT64_FORMAT
                       " is past the end (%" G_GUINT64_FORMAT
                       " bytes): the file was replaced or truncated",
                       path, offset, size);
          return NULL;
        }
      if (!g_seekable_seek (G_SEEKABLE (raw), (goffset) offset, G_SEEK_SET,
                            NULL, &local))
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT, "%s: %s", path,
                       local->message);
          g_error_free (local);
          return NULL;
        }
      d->buf_offset = offset;
    }
  detail_setup_stream (d, G_INPUT_STREAM (raw));
  if (d->compressed && offset > 0 && !detail_skip_to (d, offset, error))
    return NULL;
  d->line = d->resume_line = line;
  d->resume_offset = offset;
  return g_steal_pointer (&d);
}

NfsubRadiusDetail *
nfsub_radius_detail_new_from_bytes (const char *name, GBytes *data,
                                    NfsubRadiusDetailFlags flags)
{
  NfsubRadiusDetail *d = detail_new (name, flags);
  gsize n;
  const guint8 *p = g_bytes_get_data (data, &n);
  d->compressed = looks_gzip (p, n);
  g_autoptr (GInputStream) raw = g_memory_input_stream_new_from_bytes (data);
  detail_setup_stream (d, raw);
  return d;
}

guint64
nfsub_radius_detail_offset (NfsubRadiusDetail *d)
{
  return d->resume_offset;
}

guint64
nfsub_radius_detail_line (NfsubRadiusDetail *d)
{
  return d->resume_line;
}

guint64
nfsub_radius_detail_malformed (NfsubRadiusDetail *d)
{
  return d->malformed;
}

gboolean
nfsub_radius_detail_is_compressed (NfsubRadiusDetail *d)
{
  return d->compressed;
}

void
nfsub_radius_detail_close (NfsubRadiusDetail *d)
{
  if (!d)
    return;
  g_clear_object (&d->stream);
  g_clear_error (&d->fatal);
  g_free (d->buf);
  g_free (d->path);
  g_string_free (d->arena, TRUE);
  g_array_unref (d->slots);
  g_array_unref (d->attrs);
  g_free (d);
}

/* ---- typed helpers ---- */

const NfsubRadiusAttr *
nfsub_radius_record_find (const NfsubRadiusRecord *r, const char *name)
{
  for (guint i = 0; i < r->n_attrs; i++)
    if (g_ascii_strcasecmp (r->attrs[i].name, name) == 0)
      return &r->attrs[i];
  return NULL;
}

const char *
nfsub_radius_record_get (const NfsubRadiusRecord *r, const char *name)
{
  const NfsubRadiusAttr *a = nfsub_radius_record_find (r, name);
  return a ? a->value : NULL;
}

static void
attr_error (const NfsubRadiusRecord *r, const NfsubRadiusAttr *a,
            GError **error, const char *expected)
{
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
               "%s: line %" G_GUINT64_FORMAT ": %s = \"%s\": expected %s",
               r->path, a->line, a->name, a->value, expected);
}

static gboolean
parse_decimal (const char *s, guint64 *out)
{
  if (!g_ascii_isdigit (*s))
    return FALSE;
  guint64 v = 0;
  for (; *s; s++)
    {
      if (!g_ascii_isdigit (*s))
        return FALSE;
      guint digit = (guint) (*s - '0');
      if (v > (G_MAXUINT64 - digit) / 10)
        return FALSE;
      v = v * 10 + digit;
    }
  *out = v;
  return TRUE;
}

gboolean
nfsub_radius_record_get_uint64 (const NfsubRadiusRecord *r, const char *name,
                                guint64 *out, GError **error)
{
  const NfsubRadiusAttr *a = nfsub_radius_record_find (r, name);
  if (!a)
    return FALSE;
  if (!parse_decimal (a->value, out))
    {
      attr_error (r, a, error, "a decimal number");
      return FALSE;
    }
  return TRUE;
}

gboolean
nfsub_radius_record_get_addr (const NfsubRadiusRecord *r, const char *name,
                              NfsubAddr *out, GError **error)
{
  const NfsubRadiusAttr *a = nfsub_radius_record_find (r, name);
  if (!a)
    return FALSE;
  if (!nfsub_addr_parse (a->value, out))
    {
      attr_error (r, a, error, "an IP address");
      return FALSE;
    }
  return TRUE;
}

static void
addr_mask (NfsubAddr *a, guint len)
{
  if (len >= 128)
    return;
  if (len <= 64)
    {
      a->hi = len == 0 ? 0 : a->hi & (G_MAXUINT64 << (64 - len));
      a->lo = 0;
    }
  else
    a->lo &= G_MAXUINT64 << (128 - len);
}

gboolean
nfsub_radius_record_get_prefix (const NfsubRadiusRecord *r, const char *name,
                                NfsubAddr *out, guint *prefix_len,
                                GError **error)
{
  const NfsubRadiusAttr *a = nfsub_radius_record_find (r, name);
  if (!a)
    return FALSE;
  const char *slash = strchr (a->value, '/');
  guint64 len;
  char addr[NFSUB_ADDR_STRLEN];
  if (!slash || (gsize) (slash - a->value) >= sizeof addr
      || !parse_decimal (slash + 1, &len))
    {
      attr_error (r, a, error, "ADDRESS/LENGTH");
      return FALSE;
    }
  memcpy (addr, a->value, (gsize) (slash - a->value));
  addr[slash - a->value] = '\0';
  NfsubAddr parsed;
  if (!nfsub_addr_parse (addr, &parsed))
    {
      attr_error (r, a, error, "ADDRESS/LENGTH");
      return FALSE;
    }
  gboolean v4 = nfsub_addr_is_v4 (&parsed) && strchr (addr, ':') == NULL;
  if (len > (v4 ? 32u : 128u))
    {
      attr_error (r, a, error, v4 ? "a prefix length 0..32"
                                  : "a prefix length 0..128");
      return FALSE;
    }
  guint plen = (guint) len + (v4 ? 96 : 0);
  addr_mask (&parsed, plen);
  *out = parsed;
  *prefix_len = plen;
  return TRUE;
}

static int
month_from_name (const char *s)
{
  static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  for (int i = 0; i < 12; i++)
    if (g_ascii_strncasecmp (s, names + 3 * i, 3) == 0)
      return i + 1;
  return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static gint64
days_from_civil (gint64 y, int m, int d)
{
  y -= m <= 2;
  gint64 era = (y >= 0 ? y : y - 399) / 400;
  gint64 yoe = y - era * 400;
  gint64 doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  gint64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static gboolean
valid_civil (gint64 year, int month, int day, int h, int mi, int s)
{
  static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  if (year < 1970 || year > 9999 || month < 1 || month > 12 || day < 1
      || day > mdays[month - 1] || h > 23 || mi > 59 || s > 60)
    return FALSE;
  if (month == 2 && day == 29
      && !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
    return FALSE;
  return TRUE;
}

/* Local civil time in tz (NULL: UTC) to epoch seconds. */
static gint64
civil_to_epoch (GTimeZone *tz, gint64 year, int month, int day, int h,
                int mi, int s)
{
  gint64 t = days_from_civil (year, month, day) * 86400 + h * 3600 + mi * 60
             + s;
  if (tz)
    {
      gint64 local = t;
      gint interval = g_time_zone_adjust_time (tz, G_TIME_TYPE_STANDARD,
                                               &local);
      t -= g_time_zone_get_offset (tz, interval);
    }
  return t;
}

static const char *
skip_spaces (const char *s)
{
  while (*s == ' ' || *s == '\t')
    s++;
  return s;
}

static gboolean
read_int (const char **s, int max_digits, int *out)
{
  const char *p = *s;
  int v = 0, n = 0;
  while (g_ascii_isdigit (*p) && n < max_digits)
    v = v * 10 + (*p++ - '0'), n++;
  if (n == 0)
    return FALSE;
  *s = p;
  *out = v;
  return TRUE;
}

static gboolean
read_hms (const char **s, int *h, int *mi, int *sec)
{
  if (!read_int (s, 2, h) || **s != ':')
    return FALSE;
  (*s)++;
  if (!read_int (s, 2, mi) || **s != ':')
    return FALSE;
  (*s)++;
  return read_int (s, 2, sec);
}

/* "Jun  3 2024 00:00:01 UTC" */
static gboolean
parse_event_timestamp (const char *text, GTimeZone *tz, gint64 *out)
{
  const char *s = skip_spaces (text);
  int month = month_from_name (s);
  if (!month)
    return FALSE;
  s = skip_spaces (s + 3);
  int day, year, h, mi, sec;
  if (!read_int (&s, 2, &day))
    return FALSE;
  s = skip_spaces (s);
  if (!read_int (&s, 4, &year))
    return FALSE;
  s = skip_spaces (s);
  if (!read_hms (&s, &h, &mi, &sec))
    return FALSE;
  s = skip_spaces (s);
  if (!valid_civil (year, month, day, h, mi, sec))
    return FALSE;

  gint64 utc = days_from_civil (year, month, day) * 86400 + h * 3600
               + mi * 60 + sec;
  if (*s == '\0')
    {
      *out = civil_to_epoch (tz, year, month, day, h, mi, sec);
      return TRUE;
    }
  if (g_ascii_strcasecmp (s, "UTC") == 0 || g_ascii_strcasecmp (s, "GMT") == 0
      || strcmp (s, "Z") == 0)
    {
      *out = utc;
      return TRUE;
    }
  if ((*s == '+' || *s == '-') && strlen (s) == 5)
    {
      int hh = 0, mm = 0;
      const char *p = s + 1;
      if (!g_ascii_isdigit (p[0]) || !g_ascii_isdigit (p[1])
          || !g_ascii_isdigit (p[2]) || !g_ascii_isdigit (p[3]))
        return FALSE;
      hh = (p[0] - '0') * 10 + (p[1] - '0');
      mm = (p[2] - '0') * 10 + (p[3] - '0');
      if (hh > 14 || mm > 59)
        return FALSE;
      gint64 off = hh * 3600 + mm * 60;
      *out = *s == '+' ? utc - off : utc + off;
      return TRUE;
    }
  /* A zone abbreviation (CEST, EDT ...): the server's own zone. */
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalpha (*p))
      return FALSE;
  *out = civil_to_epoch (tz, year, month, day, h, mi, sec);
  return TRUE;
}

gboolean
nfsub_radius_record_get_time (const NfsubRadiusRecord *r, const char *name,
                              GTimeZone *tz, gint64 *out, GError **error)
{
  const NfsubRadiusAttr *a = nfsub_radius_record_find (r, name);
  if (!a)
    return FALSE;
  guint64 epoch;
  if (parse_decimal (a->value, &epoch) && epoch < G_GUINT64_CONSTANT (1) << 40)
    {
      *out = (gint64) epoch;
      return TRUE;
    }
  if (!parse_event_timestamp (a->value, tz, out))
    {
      attr_error (r, a, error, "a date like \"Jun  3 2024 00:00:01 UTC\"");
      return FALSE;
    }
  return TRUE;
}

gboolean
nfsub_radius_parse_date_line (const char *line, GTimeZone *tz, gint64 *out)
{
  /* "Mon Jun  3 00:00:01 2024" */
  const char *s = skip_spaces (line);
  for (int i = 0; i < 3; i++)
    if (!g_ascii_isalpha (s[i]))
      return FALSE;
  s = skip_spaces (s + 3);
  int month = month_from_name (s);
  if (!month)
    return FALSE;
  s = skip_spaces (s + 3);
  int day, h, mi, sec, year;
  if (!read_int (&s, 2, &day))
    return FALSE;
  s = skip_spaces (s);
  if (!read_hms (&s, &h, &mi, &sec))
    return FALSE;
  s = skip_spaces (s);
  if (!read_int (&s, 4, &year))
    return FALSE;
  if (*skip_spaces (s) != '\0' || !valid_civil (year, month, day, h, mi, sec))
    return FALSE;
  *out = civil_to_epoch (tz, year, month, day, h, mi, sec);
  return TRUE;
}

NfsubRadiusStatus
nfsub_radius_record_status (const NfsubRadiusRecord *r)
{
  const char *v = nfsub_radius_record_get (r, "Acct-Status-Type");
  if (!v)
    return NFSUB_RADIUS_STATUS_NONE;
  static const struct {
    const char *name;
    NfsubRadiusStatus status;
  } names[] = {
    { "Start", NFSUB_RADIUS_STATUS_START },
    { "Stop", NFSUB_RADIUS_STATUS_STOP },
    { "Interim-Update", NFSUB_RADIUS_STATUS_INTERIM },
    { "Alive", NFSUB_RADIUS_STATUS_INTERIM },
    { "Accounting-On", NFSUB_RADIUS_STATUS_ACCOUNTING_ON },
    { "Accounting-Off", NFSUB_RADIUS_STATUS_ACCOUNTING_OFF },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (v, names[i].name) == 0)
      return names[i].status;
  guint64 n;
  if (parse_decimal (v, &n))
    switch (n)
      {
      case 1: case 2: case 3: case 7: case 8:
        return (NfsubRadiusStatus) n;
      }
  return NFSUB_RADIUS_STATUS_NONE;
}

gboolean
nfsub_radius_record_get_octets (const NfsubRadiusRecord *r, gboolean input,
                                guint64 *out, GError **error)
{
  guint64 octets, giga = 0;
  if (!nfsub_radius_record_get_uint64 (
        r, input ? "Acct-Input-Octets" : "Acct-Output-Octets", &octets, error))
    return FALSE;
  GError *local = NULL;
  if (!nfsub_radius_record_get_uint64 (
        r, input ? "Acct-Input-Gigawords" : "Acct-Output-Gigawords", &giga,
        &local)
      && local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (octets > G_MAXUINT32 || giga > G_MAXUINT32)
    {
      const NfsubRadiusAttr *a = nfsub_radius_record_find (
        r, octets > G_MAXUINT32
             ? (input ? "Acct-Input-Octets" : "Acct-Output-Octets")
             : (input ? "Acct-Input-Gigawords" : "Acct-Output-Gigawords"));
      attr_error (r, a, error, "a 32-bit counter");
      return FALSE;
    }
  *out = (giga << 32) + octets;
  return TRUE;
}

static gboolean
record_date_line (const NfsubRadiusRecord *r, GTimeZone *tz, gint64 *out,
                  GError **error)
{
  if (nfsub_radius_parse_date_line (r->date, tz, out))
    return TRUE;
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
               "%s: line %" G_GUINT64_FORMAT
               ": no Event-Timestamp or Timestamp, and the record's first "
               "line \"%s\" is not a date",
               r->path, r->line, r->date);
  return FALSE;
}

gint64
nfsub_radius_record_event_time (const NfsubRadiusRecord *r, GTimeZone *tz,
                                GError **error)
{
  gint64 t;
  GError *local = NULL;
  if (nfsub_radius_record_get_time (r, "Event-Timestamp", tz, &t, &local))
    return t;
  if (local)
    {
      g_propagate_error (error, local);
      return -1;
    }
  guint64 arrival, delay = 0;
  if (nfsub_radius_record_get_uint64 (r, "Timestamp", &arrival, &local))
    {
      if (!nfsub_radius_record_get_uint64 (r, "Acct-Delay-Time", &delay,
                                           &local)
          && local)
        {
          g_propagate_error (error, local);
          return -1;
        }
      if (arrival < G_GUINT64_CONSTANT (1) << 40 && delay <= arrival)
        return (gint64) (arrival - delay);
      const NfsubRadiusAttr *a = nfsub_radius_record_find (r, "Timestamp");
      attr_error (r, a, error, "epoch seconds not smaller than Acct-Delay-Time");
      return -1;
    }
  if (local)
    {
      g_propagate_error (error, local);
      return -1;
    }
  return record_date_line (r, tz, &t, error) ? t : -1;
}

gint64
nfsub_radius_record_arrival_time (const NfsubRadiusRecord *r, GTimeZone *tz,
                                  GError **error)
{
  guint64 arrival;
  GError *local = NULL;
  if (nfsub_radius_record_get_uint64 (r, "Timestamp", &arrival, &local))
    {
      if (arrival < G_GUINT64_CONSTANT (1) << 40)
        return (gint64) arrival;
      const NfsubRadiusAttr *a = nfsub_radius_record_find (r, "Timestamp");
      attr_error (r, a, error, "epoch seconds");
      return -1;
    }
  if (local)
    {
      g_propagate_error (error, local);
      return -1;
    }
  gint64 t;
  return record_date_line (r, tz, &t, error) ? t : -1;
}
