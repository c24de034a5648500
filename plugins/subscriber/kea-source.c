/* subscriber: IPoE delegated prefixes from ISC Kea's lease6 memfile.
 *
 * Kea appends a row whenever a lease changes (new, renewed, released,
 * reclaimed, deleted), so the last row for a prefix wins.  A row says the
 * prefix belongs to its DUID from cltt = expire - valid_lifetime until
 * expire; a renewal by the same DUID extends the binding, a row for another
 * DUID starts a new one (which ends the old one, "latest start wins").
 * valid_lifetime 0 is a removal (lease6-del, release).  Kea writes it with
 * the lease's old cltt, not the time of the removal, so the binding ends
 * at the next time the file tells: the cltt of the next row that grants
 * or renews a lease (rows are appended in time order), else the file's
 * modification time when it was read; never after the lease's expire.
 * The lease file cleanup (LFC) writes a new file; it is read again from
 * the start, which is harmless since rows are applied idempotently.
 *
 * DUIDs map to users through kea_duid_map, a CSV
 *   duid,user[,service,class,access]
 * (DUID in any hex notation: 00:03:00:01:..., 00030001..., case ignored).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "subscriber.h"

#define FINGERPRINT_BYTES 1024

enum {
  COL_ADDRESS,
  COL_DUID,
  COL_VALID,
  COL_EXPIRE,
  COL_LEASE_TYPE,
  COL_PREFIX_LEN,
  COL_STATE,
  N_COLS
};
static const char *const col_names[N_COLS] = {
  "address", "duid", "valid_lifetime", "expire", "lease_type", "prefix_len",
  "state",
};

static gboolean
line_error (GError **error, const char *path, guint64 line, const char *fmt,
            ...) G_GNUC_PRINTF (4, 5);

static gboolean
line_error (GError **error, const char *path, guint64 line, const char *fmt,
            ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
               "%s: line %" G_GUINT64_FORMAT ": %s", path, line, what);
  return FALSE;
}

/* Lower-case hex without separators; NULL if not a DUID. */
static char *
normalise_duid (const char *text)
{
  GString *s = g_string_sized_new (strlen (text));
  for (const char *p = text; *p; p++)
    {
      if (*p == ':' || *p == '-' || *p == ' ')
        continue;
      if (!g_ascii_isxdigit (*p))
        {
          g_string_free (s, TRUE);
          return NULL;
        }
      g_string_append_c (s, g_ascii_tolower (*p));
    }
  if (s->len == 0 || s->len % 2 != 0)
    {
      g_string_free (s, TRUE);
      return NULL;
    }
  return g_string_free (s, FALSE);
}

static gboolean
parse_u64 (const char *s, guint64 *out)
{
  if (!g_ascii_isdigit (*s))
    return FALSE;
  char *end;
  errno = 0;
  *out = g_ascii_strtoull (s, &end, 10);
  return *end == '\0' && errno == 0;
}

static guint64
duid_hash (const char *hex)
{
  guint64 h = G_GUINT64_CONSTANT (1469598103934665603);
  for (const char *p = hex; *p; p++)
    h = (h ^ (guint8) *p) * G_GUINT64_CONSTANT (1099511628211);
  h ^= h >> 32;
  return h ? h : 1;
}

static inline gsize
duid_slot (guint64 h, guint bits)
{
  return (gsize) ((h * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15)) >> (64 - bits));
}

static DuidSlot *
duid_map_find (DuidMap *m, guint64 h, gboolean create)
{
  if (!m->slots)
    {
      if (!create)
        return NULL;
      m->bits = 10;
      m->slots = g_new0 (DuidSlot, (gsize) 1 << m->bits);
    }
  gsize mask = ((gsize) 1 << m->bits) - 1;
  for (gsize j = duid_slot (h, m->bits);; j = (j + 1) & mask)
    {
      DuidSlot *s = &m->slots[j];
      if (s->hash == h)
        return s;
      if (s->hash == 0)
        {
          if (!create)
            return NULL;
          if ((m->n + 1) * 10 > (mask + 1) * 7)
            {
              DuidSlot *old = m->slots;
              gsize old_n = mask + 1;
              m->bits++;
              m->slots = g_new0 (DuidSlot, (gsize) 1 << m->bits);
              gsize nmask = ((gsize) 1 << m->bits) - 1;
              for (gsize i = 0; i < old_n; i++)
                if (old[i].hash)
                  {
                    gsize k = duid_slot (old[i].hash, m->bits);
                    while (m->slots[k].hash)
                      k = (k + 1) & nmask;
                    m->slots[k] = old[i];
                  }
              g_free (old);
              return duid_map_find (m, h, create);
            }
          s->hash = h;
          m->n++;
          return s;
        }
    }
}

gboolean
kea_load_duid_map (SubIndex *ix, GError **error)
{
  SubConfig *c = ix->config;
  DuidMap *m = &ix->duid_map;
  struct stat st;
  if (stat (c->kea_duid_map, &st) != 0)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
                   "%s (kea_duid_map): %s", c->kea_duid_map,
                   g_strerror (errno));
      return FALSE;
    }
  gint64 mtime = (gint64) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  if (m->loaded && (guint64) st.st_size == m->file_size
      && mtime == m->file_mtime)
    return TRUE;
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (c->kea_duid_map, &text, NULL, &local))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
                   "%s (kea_duid_map): %s", c->kea_duid_map, local->message);
      return FALSE;
    }
  g_clear_pointer (&m->slots, g_free);
  m->n = 0;
  g_string_truncate (m->names, 0);
  char *save = NULL;
  guint64 line_no = 0;
  for (char *line = text; line; line = save)
    {
      save = strchr (line, '\n');
      if (save)
        *save++ = '\0';
      line_no++;
      g_strstrip (line);
      if (*line == '\0' || *line == '#')
        continue;
      char *f[6];
      guint n = 0;
      for (char *p = line; n < G_N_ELEMENTS (f);)
        {
          f[n++] = g_strstrip (p);
          char *comma = strchr (p, ',');
          if (!comma)
            break;
          *comma = '\0';
          p = comma + 1;
        }
      if (line_no == 1 && g_ascii_strcasecmp (f[0], "duid") == 0)
        continue; /* header */
      guint8 service = 0, user_class = 0, access = 0;
      g_autofree char *duid = n >= 2 ? normalise_duid (f[0]) : NULL;
      GError *bad = NULL;
      if (n < 2 || n > 5)
        line_error (&bad, c->kea_duid_map, line_no,
                    "expected duid,user[,service,class,access]");
      else if (!duid)
        line_error (&bad, c->kea_duid_map, line_no, "'%s' is not a DUID",
                    f[0]);
      else if (!*f[1] || strchr (f[1], ':'))
        line_error (&bad, c->kea_duid_map, line_no,
                    "bad user name '%s' (empty, or with ':')", f[1]);
      else if (n > 2 && *f[2] && !parse_service (f[2], &service))
        line_error (&bad, c->kea_duid_map, line_no,
                    "service '%s' is not broadband or mobile", f[2]);
      else if (n > 3 && *f[3] && !parse_class (f[3], &user_class))
        line_error (&bad, c->kea_duid_map, line_no,
                    "class '%s' is not personal or enterprise", f[3]);
      else if (n > 4 && *f[4] && !parse_access (f[4], &access))
        line_error (&bad, c->kea_duid_map, line_no,
                    "access '%s' is not pppoe, ipoe or mobile", f[4]);
      if (bad)
        {
          if (!sub_index_input_error (ix, &ix->kea, bad, error))
            return FALSE;
          continue;
        }
      DuidSlot *slot = duid_map_find (m, duid_hash (duid), TRUE);
      slot->name = (guint32) m->names->len;
      slot->service = service;
      slot->user_class = user_class;
      slot->access = access;
      g_string_append (m->names, f[1]);
      g_string_append_c (m->names, '\0');
    }
  m->file_size = (guint64) st.st_size;
  m->file_mtime = mtime;
  m->loaded = TRUE;
  nfsub_info (SUBSCRIBER_PLUGIN, "%s: %zu DUIDs mapped to users",
              c->kea_duid_map, m->n);
  return TRUE;
}

static void
kea_close_pending (SubIndex *ix, guint32 when)
{
  for (guint i = 0; i < ix->kea_pending->len; i++)
    {
      guint32 id = g_array_index (ix->kea_pending, guint32, i);
      const LeaseBinding *b = lease_table_binding (ix->table, id);
      if (when < b->end)
        lease_table_set_end (ix->table, id, MAX (b->start, when));
    }
  g_array_set_size (ix->kea_pending, 0);
}

gboolean
kea_apply_line (SubIndex *ix, const char *path, guint64 line_no, char *line,
                const int *columns, GError **error)
{
  SubConfig *c = ix->config;
  ix->kea.records++;
  char *fields[64];
  guint n = 0;
  for (char *p = line; n < G_N_ELEMENTS (fields);)
    {
      fields[n++] = p;
      char *comma = strchr (p, ',');
      if (!comma)
        break;
      *comma = '\0';
      p = comma + 1;
    }
  for (int k = 0; k < N_COLS; k++)
    if (columns[k] >= 0 && (guint) columns[k] >= n)
      return line_error (error, path, line_no,
                         "%u fields, no '%s' column", n, col_names[k]);

  guint64 type, valid, expire, plen64 = 128, state = 0;
  if (!parse_u64 (fields[columns[COL_LEASE_TYPE]], &type) || type > 2)
    return line_error (error, path, line_no, "bad lease_type '%s'",
                       fields[columns[COL_LEASE_TYPE]]);
  if (type == 1 || (type == 0 && !c->kea_na))
    {
      ix->kea.ignored++;
      return TRUE;
    }
  if (!parse_u64 (fields[columns[COL_VALID]], &valid) || valid > G_MAXUINT32)
    return line_error (error, path, line_no, "bad valid_lifetime '%s'",
                       fields[columns[COL_VALID]]);
  if (!parse_u64 (fields[columns[COL_EXPIRE]], &expire)
      || expire > G_GUINT64_CONSTANT (1) << 40 || valid > expire
      /* the cltt must be a 32-bit time like every binding's start */
      || expire - valid >= LEASE_END_OPEN)
    return line_error (error, path, line_no, "bad expire '%s'",
                       fields[columns[COL_EXPIRE]]);
  if (type == 2
      && (!parse_u64 (fields[columns[COL_PREFIX_LEN]], &plen64) || plen64 == 0
          || plen64 > 128))
    return line_error (error, path, line_no, "bad prefix_len '%s'",
                       fields[columns[COL_PREFIX_LEN]]);
  if (columns[COL_STATE] >= 0 && *fields[columns[COL_STATE]]
      && !parse_u64 (fields[columns[COL_STATE]], &state))
    return line_error (error, path, line_no, "bad state '%s'",
                       fields[columns[COL_STATE]]);
  NfsubAddr a;
  LeasePrefix p;
  const char *addr_text = fields[columns[COL_ADDRESS]];
  if (!nfsub_addr_parse (addr_text, &a) || !strchr (addr_text, ':')
      || !lease_prefix_make (&p, &a, 6, (guint) plen64))
    return line_error (error, path, line_no, "bad IPv6 address '%s'",
                       addr_text);
  if (state == 1)
    {
      /* declined: nobody holds it */
      ix->kea.ignored++;
      return TRUE;
    }
  g_autofree char *duid = normalise_duid (fields[columns[COL_DUID]]);
  if (!duid)
    return line_error (error, path, line_no, "bad duid '%s'",
                       fields[columns[COL_DUID]]);

  const DuidSlot *mapped = duid_map_find (&ix->duid_map, duid_hash (duid),
                                          FALSE);
  const char *mapped_name = mapped ? ix->duid_map.names->str + mapped->name
                                   : NULL;
  if (!mapped && c->kea_unmapped_skip)
    {
      ix->kea.ignored++;
      return TRUE;
    }
  RuleContext ctx = { SOURCE_KEA, NULL, NULL, NULL, &p, 1 };
  RuleResult res = { 0, 0, 0, NULL };
  if (mapped)
    {
      res.service = mapped->service;
      res.user_class = mapped->user_class;
      res.access = mapped->access;
    }
  rules_apply (c->rules, &ctx, &res);
  if (!res.service)
    res.service = c->kea_service;
  if (!res.user_class)
    res.user_class = c->kea_class;
  if (!res.access)
    res.access = c->kea_access;
  g_autofree char *key = mapped
                           ? g_strdup_printf ("%s:%s", access_name (res.access),
                                              mapped_name)
                           : g_strdup_printf ("%s:duid-%s",
                                              access_name (res.access), duid);
  guint32 user = lease_table_intern_user (ix->table, key, res.service,
                                          res.user_class, res.access);

  guint32 start = (guint32) (expire - valid);
  guint32 end = expire >= LEASE_END_OPEN ? LEASE_END_OPEN - 1
                                         : (guint32) expire;
  guint32 latest = lease_table_latest (ix->table, LEASE_DYNAMIC, &p);
  const LeaseBinding *b = latest ? lease_table_binding (ix->table, latest)
                                 : NULL;
  gboolean same = b && b->user == user;
  ix->newest_event = MAX (ix->newest_event, (gint64) start);
  ix->kea.applied++;
  ix->dirty = TRUE;

  if (valid == 0)
    {
      if (same)
        g_array_append_val (ix->kea_pending, latest);
      return TRUE;
    }
  if (state == 2)
    {
      /* reclaimed after it expired: it ended at its expire */
      if (same && end < b->end)
        lease_table_set_end (ix->table, latest, MAX (b->start, end));
      return TRUE;
    }
  /* a row that grants or renews is written at its cltt: removals above it
   * happened before */
  kea_close_pending (ix, start);
  if (same && start <= b->end)
    {
      /* a renewal; a newer row is the truth even if it shortens */
      if (start >= b->start || end > b->end)
        lease_table_set_end (ix->table, latest, end);
      return TRUE;
    }
  lease_table_add (ix->table, LEASE_DYNAMIC, &p, start, end, user);
  return TRUE;
}

static gboolean
read_header (const char *path, FILE *fp, int *columns, guint64 *header_len,
             GError **error)
{
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline (&line, &cap, fp);
  if (n <= 0 || line[n - 1] != '\n')
    {
      free (line);
      *header_len = 0;
      return TRUE; /* empty or still being written: nothing yet */
    }
  *header_len = (guint64) n;
  line[n - 1] = '\0';
  if (n >= 2 && line[n - 2] == '\r')
    line[n - 2] = '\0';
  for (int k = 0; k < N_COLS; k++)
    columns[k] = -1;
  g_auto (GStrv) names = g_strsplit (line, ",", -1);
  free (line);
  for (int i = 0; names[i]; i++)
    for (int k = 0; k < N_COLS; k++)
      if (strcmp (g_strstrip (names[i]), col_names[k]) == 0)
        columns[k] = i;
  for (int k = 0; k < COL_STATE; k++)
    if (columns[k] < 0)
      return line_error (error, path, 1,
                         "not a Kea lease6 file: no '%s' column in the header",
                         col_names[k]);
  return TRUE;
}

static gboolean
read_lease_file (SubIndex *ix, TrackedFile *t, const ScannedFile *f,
                 GError **error)
{
  FILE *fp = fopen (f->path, "r");
  if (!fp)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT, "%s: %s", f->path,
                   g_strerror (errno));
      return FALSE;
    }
  if (f->size < t->offset)
    {
      nfsub_info (SUBSCRIBER_PLUGIN, "%s was rewritten: reading it again",
                  f->path);
      t->offset = t->line = 0;
    }
  int columns[N_COLS];
  guint64 header_len;
  if (!read_header (f->path, fp, columns, &header_len, error))
    {
      fclose (fp);
      return FALSE;
    }
  if (header_len == 0)
    {
      fclose (fp);
      return TRUE;
    }
  guint64 offset = t->offset, line_no = t->line;
  if (offset < header_len)
    offset = header_len, line_no = 1;
  else if (fseeko (fp, (off_t) offset, SEEK_SET) != 0)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT, "%s: %s", f->path,
                   g_strerror (errno));
      fclose (fp);
      return FALSE;
    }
  guint64 before = offset;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  gboolean ok = TRUE;
  while ((n = getline (&line, &cap, fp)) > 0)
    {
      if (line[n - 1] != '\n')
        break; /* Kea is still writing this row */
      line_no++;
      offset += (guint64) n;
      line[n - 1] = '\0';
      if (n >= 2 && line[n - 2] == '\r')
        line[n - 2] = '\0';
      if (line[0] == '\0')
        continue;
      GError *local = NULL;
      if (memchr (line, '\0', (size_t) n - 1))
        line_error (&local, f->path, line_no, "NUL byte in line");
      else
        kea_apply_line (ix, f->path, line_no, line, columns, &local);
      if (local && !sub_index_input_error (ix, &ix->kea, local, error))
        {
          ok = FALSE;
          break;
        }
    }
  free (line);
  fclose (fp);
  if (!ok)
    return FALSE;
  /* removals at the end of what was read: the file's write time */
  kea_close_pending (ix, (guint32) (f->mtime / 1000000000));
  t->offset = offset;
  t->line = line_no;
  t->size = f->size;
  t->mtime = f->mtime;
  if (offset != before)
    ix->dirty = TRUE;
  ix->kea.files_read++;
  ix->kea.bytes_read += offset - before;
  if (t->fp_len < FINGERPRINT_BYTES)
    {
      guint32 got;
      guint64 h = fingerprint_file (t->path, FINGERPRINT_BYTES, &got);
      if (got)
        t->fp_len = got, t->fp_hash = h;
    }
  return TRUE;
}

gboolean
kea_source_refresh (SubIndex *ix, GError **error)
{
  g_autoptr (GPtrArray) files = scan_globs (ix->config->kea_leases, error);
  if (!files)
    return FALSE;
  for (guint i = 0; i < files->len; i++)
    {
      const ScannedFile *f = files->pdata[i];
      TrackedFile *t = sub_index_track (ix, SOURCE_KEA, f, FALSE);
      if (t->size == f->size && t->mtime == f->mtime)
        continue;
      /* the map is big and only needed for new rows */
      if (ix->config->kea_duid_map && !kea_load_duid_map (ix, error))
        return FALSE;
      if (!read_lease_file (ix, t, f, error))
        return FALSE;
    }
  return TRUE;
}
