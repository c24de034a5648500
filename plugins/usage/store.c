/* usage: the on-disk store (format in README.md, design in store.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sys/stat.h>

#include <glib/gstdio.h>
#include <nfsub/plugin.h>

#include "store.h"

#define DAY_MAGIC "NFSUBUD1"
#define DELTA_MAGIC "NFSUBUX1"
#define EXTRA_MAGIC "NFSUBUE1"
#define FORMAT_VERSION 1
#define RACE_TEXT "changed while in use (another nfsub is writing)"
#define DAY_HEADER 64
#define DELTA_HEADER 96
#define DELTA_DAY_ENTRY 32

/* ---- little helpers ---- */

static guint64
hash_bytes (guint64 h, const guint8 *p, gsize n)
{
  /* FNV-1a: catches torn or flipped bytes; not a defence against tampering */
  for (gsize i = 0; i < n; i++)
    {
      h ^= p[i];
      h *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  return h;
}
#define HASH_INIT G_GUINT64_CONSTANT (0xcbf29ce484222325)

static void
put_varint (GByteArray *b, guint64 v)
{
  guint8 buf[10];
  guint n = 0;
  while (v >= 0x80)
    {
      buf[n++] = (guint8) (v | 0x80);
      v >>= 7;
    }
  buf[n++] = (guint8) v;
  g_byte_array_append (b, buf, n);
}

static gboolean
get_varint (const guint8 **p, const guint8 *end, guint64 *out)
{
  guint64 v = 0;
  for (guint shift = 0; shift < 64 && *p < end; shift += 7)
    {
      guint8 byte = *(*p)++;
      if (shift == 63 && byte > 1)
        return FALSE;
      v |= (guint64) (byte & 0x7f) << shift;
      if (!(byte & 0x80))
        {
          *out = v;
          return TRUE;
        }
    }
  return FALSE;
}

static void
put_u32 (guint8 *p, guint32 v)
{
  v = GUINT32_TO_LE (v);
  memcpy (p, &v, 4);
}

static void
put_u64 (guint8 *p, guint64 v)
{
  v = GUINT64_TO_LE (v);
  memcpy (p, &v, 8);
}

static guint32
get_u32 (const guint8 *p)
{
  guint32 v;
  memcpy (&v, p, 4);
  return GUINT32_FROM_LE (v);
}

static guint64
get_u64 (const guint8 *p)
{
  guint64 v;
  memcpy (&v, p, 8);
  return GUINT64_FROM_LE (v);
}

/* ---- dates ---- */

guint32
usage_julian_from_ymd (int y, int m, int d)
{
  if (!g_date_valid_dmy ((GDateDay) d, (GDateMonth) m, (GDateYear) y))
    return 0;
  GDate date;
  g_date_clear (&date, 1);
  g_date_set_dmy (&date, (GDateDay) d, (GDateMonth) m, (GDateYear) y);
  return g_date_get_julian (&date);
}

void
usage_julian_to_ymd (guint32 julian, int *y, int *m, int *d)
{
  GDate date;
  g_date_clear (&date, 1);
  g_date_set_julian (&date, julian);
  *y = g_date_get_year (&date);
  *m = g_date_get_month (&date);
  *d = g_date_get_day (&date);
}

char *
usage_julian_to_string (guint32 julian)
{
  int y, m, d;
  usage_julian_to_ymd (julian, &y, &m, &d);
  return g_strdup_printf ("%04d-%02d-%02d", y, m, d);
}

gboolean
usage_julian_parse (const char *text, guint32 *julian)
{
  int y, m, d;
  char tail;
  if (sscanf (text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3
      || strlen (text) != 10)
    return FALSE;
  guint32 j = usage_julian_from_ymd (y, m, d);
  if (!j)
    return FALSE;
  *julian = j;
  return TRUE;
}

/* ---- section writer / reader ---- */

void
usage_section_writer_init (UsageSectionWriter *w)
{
  w->bytes = g_byte_array_new ();
  w->n_entries = 0;
  w->last_key = g_string_new (NULL);
}

void
usage_section_writer_clear (UsageSectionWriter *w)
{
  if (w->bytes)
    g_byte_array_unref (w->bytes);
  if (w->last_key)
    g_string_free (w->last_key, TRUE);
  w->bytes = NULL;
  w->last_key = NULL;
}

void
usage_section_writer_add (UsageSectionWriter *w, const char *key,
                          gsize key_len, guint8 meta, const UsageCounters *c)
{
  g_assert (key_len <= USAGE_KEY_MAX);
  gsize prefix = 0;
  gsize max = MIN (key_len, w->last_key->len);
  while (prefix < max && w->last_key->str[prefix] == key[prefix])
    prefix++;
  /* strictly increasing keys: the merge relies on it */
  g_assert (w->n_entries == 0
            || (prefix < key_len
                && (prefix == w->last_key->len
                    || (guint8) key[prefix] > (guint8) w->last_key->str[prefix])));
  put_varint (w->bytes, prefix);
  put_varint (w->bytes, key_len - prefix);
  g_byte_array_append (w->bytes, (const guint8 *) key + prefix,
                       (guint) (key_len - prefix));
  g_byte_array_append (w->bytes, &meta, 1);
  put_varint (w->bytes, c->in_bytes);
  put_varint (w->bytes, c->out_bytes);
  put_varint (w->bytes, c->in_pkts);
  put_varint (w->bytes, c->out_pkts);
  g_string_truncate (w->last_key, prefix);
  g_string_append_len (w->last_key, key + prefix, (gssize) (key_len - prefix));
  w->n_entries++;
}

GBytes *
usage_section_writer_finish (UsageSectionWriter *w)
{
  GByteArray *out = g_byte_array_sized_new (w->bytes->len + 10);
  put_varint (out, w->n_entries);
  g_byte_array_append (out, w->bytes->data, w->bytes->len);
  usage_section_writer_clear (w);
  return g_byte_array_free_to_bytes (out);
}

static int
section_corrupt (UsageSectionReader *r, const guint8 *at, const char *what,
                 GError **error)
{
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
               "%s: byte %" G_GSIZE_FORMAT ": corrupt usage record (%s)",
               r->file, r->file_offset + (gsize) (at - r->start), what);
  return -1;
}

gboolean
usage_section_reader_init (UsageSectionReader *r, const guint8 *data,
                           gsize len, const char *file, gsize file_offset,
                           GError **error)
{
  memset (r, 0, offsetof (UsageSectionReader, key));
  r->key[0] = '\0';
  r->key_len = 0;
  r->start = r->p = data;
  r->end = data + len;
  r->file = file;
  r->file_offset = file_offset;
  if (!get_varint (&r->p, r->end, &r->remaining))
    {
      section_corrupt (r, r->start, "entry count", error);
      return FALSE;
    }
  return TRUE;
}

int
usage_section_reader_next (UsageSectionReader *r, GError **error)
{
  if (r->remaining == 0)
    {
      if (r->p != r->end)
        return section_corrupt (r, r->p, "bytes after the last entry", error);
      return 0;
    }
  const guint8 *at = r->p;
  guint64 prefix, suffix;
  if (!get_varint (&r->p, r->end, &prefix) || !get_varint (&r->p, r->end, &suffix))
    return section_corrupt (r, at, "key length", error);
  if (prefix > r->key_len || suffix > USAGE_KEY_MAX
      || prefix + suffix > USAGE_KEY_MAX || suffix == 0
      || (guint64) (r->end - r->p) < suffix + 1)
    return section_corrupt (r, at, "key", error);
  /* keys must increase, or the merge would double count */
  if (r->key_len && prefix < r->key_len
      && (guint8) r->p[0] <= (guint8) r->key[prefix])
    return section_corrupt (r, at, "keys out of order", error);
  memcpy (r->key + prefix, r->p, suffix);
  r->key_len = prefix + suffix;
  r->key[r->key_len] = '\0';
  if (memchr (r->key, '\0', r->key_len))
    return section_corrupt (r, at, "NUL in key", error);
  r->p += suffix;
  r->meta = *r->p++;
  if (!get_varint (&r->p, r->end, &r->c.in_bytes)
      || !get_varint (&r->p, r->end, &r->c.out_bytes)
      || !get_varint (&r->p, r->end, &r->c.in_pkts)
      || !get_varint (&r->p, r->end, &r->c.out_pkts))
    return section_corrupt (r, at, "counters", error);
  r->remaining--;
  return 1;
}

/* ---- k-way merge ---- */

typedef struct {
  UsageSectionReader *reader;
  guint64 priority;
  guint tag;
} MergeInput;

struct UsageMerge {
  GArray *inputs;     /* MergeInput */
  guint *heap;        /* indexes into inputs, ordered by current key */
  guint heap_len;
  char key[USAGE_KEY_MAX + 1];
};

UsageMerge *
usage_merge_new (void)
{
  UsageMerge *m = g_new0 (UsageMerge, 1);
  m->inputs = g_array_new (FALSE, FALSE, sizeof (MergeInput));
  return m;
}

void
usage_merge_free (UsageMerge *m)
{
  if (!m)
    return;
  g_array_unref (m->inputs);
  g_free (m->heap);
  g_free (m);
}

void
usage_merge_add (UsageMerge *m, UsageSectionReader *reader, guint64 priority,
                 guint tag)
{
  MergeInput in = { reader, priority, tag };
  g_array_append_val (m->inputs, in);
}

static int
merge_cmp (UsageMerge *m, guint a, guint b)
{
  const UsageSectionReader *ra = g_array_index (m->inputs, MergeInput, a).reader;
  const UsageSectionReader *rb = g_array_index (m->inputs, MergeInput, b).reader;
  return strcmp (ra->key, rb->key);
}

static void
heap_down (UsageMerge *m, guint i)
{
  for (;;)
    {
      guint l = 2 * i + 1, r = l + 1, s = i;
      if (l < m->heap_len && merge_cmp (m, m->heap[l], m->heap[s]) < 0)
        s = l;
      if (r < m->heap_len && merge_cmp (m, m->heap[r], m->heap[s]) < 0)
        s = r;
      if (s == i)
        return;
      guint t = m->heap[i];
      m->heap[i] = m->heap[s];
      m->heap[s] = t;
      i = s;
    }
}

gboolean
usage_merge_start (UsageMerge *m, GError **error)
{
  m->heap = g_new (guint, m->inputs->len + 1);
  m->heap_len = 0;
  for (guint i = 0; i < m->inputs->len; i++)
    {
      int rc = usage_section_reader_next (
          g_array_index (m->inputs, MergeInput, i).reader, error);
      if (rc < 0)
        return FALSE;
      if (rc > 0)
        m->heap[m->heap_len++] = i;
    }
  for (guint i = m->heap_len / 2; i-- > 0;)
    heap_down (m, i);
  return TRUE;
}

int
usage_merge_next (UsageMerge *m, const char **key, gsize *key_len,
                  guint8 *meta, UsageCounters *c, guint64 *tag_mask,
                  GError **error)
{
  if (m->heap_len == 0)
    return 0;
  MergeInput *top = &g_array_index (m->inputs, MergeInput, m->heap[0]);
  gsize len = top->reader->key_len;
  memcpy (m->key, top->reader->key, len + 1);
  memset (c, 0, sizeof *c);
  guint64 best_priority = 0;
  gboolean first = TRUE;
  guint64 mask = 0;
  while (m->heap_len > 0)
    {
      MergeInput *in = &g_array_index (m->inputs, MergeInput, m->heap[0]);
      if (in->reader->key_len != len || memcmp (in->reader->key, m->key, len) != 0)
        break;
      usage_counters_add (c, &in->reader->c);
      if (first || in->priority >= best_priority)
        {
          best_priority = in->priority;
          *meta = in->reader->meta;
          first = FALSE;
        }
      mask |= G_GUINT64_CONSTANT (1) << (in->tag & 63);
      int rc = usage_section_reader_next (in->reader, error);
      if (rc < 0)
        return -1;
      if (rc == 0)
        m->heap[0] = m->heap[--m->heap_len];
      heap_down (m, 0);
    }
  *key = m->key;
  *key_len = len;
  if (tag_mask)
    *tag_mask = mask;
  return 1;
}

/* ---- delta being built ---- */

typedef struct {
  guint32 julian;
  guint64 n_entries;
  GBytes *section;
} DeltaDay;

struct UsageDelta {
  GPtrArray *buckets;     /* parallel to identities */
  GPtrArray *identities;
  GArray *days;           /* DeltaDay, sorted by julian at commit */
  GBytes *extra;
};

static void
delta_day_clear (gpointer p)
{
  DeltaDay *d = p;
  g_clear_pointer (&d->section, g_bytes_unref);
}

UsageDelta *
usage_delta_new (void)
{
  UsageDelta *d = g_new0 (UsageDelta, 1);
  d->buckets = g_ptr_array_new_with_free_func (g_free);
  d->identities = g_ptr_array_new_with_free_func (g_free);
  d->days = g_array_new (FALSE, FALSE, sizeof (DeltaDay));
  g_array_set_clear_func (d->days, delta_day_clear);
  return d;
}

void
usage_delta_free (UsageDelta *d)
{
  if (!d)
    return;
  g_ptr_array_unref (d->buckets);
  g_ptr_array_unref (d->identities);
  g_array_unref (d->days);
  if (d->extra)
    g_bytes_unref (d->extra);
  g_free (d);
}

void
usage_delta_add_file (UsageDelta *d, const char *bucket, const char *identity)
{
  g_ptr_array_add (d->buckets, g_strdup (bucket));
  g_ptr_array_add (d->identities, g_strdup (identity));
}

void
usage_delta_set_day (UsageDelta *d, guint32 julian, GBytes *section,
                     guint64 n_entries)
{
  for (guint i = 0; i < d->days->len; i++)
    g_assert (g_array_index (d->days, DeltaDay, i).julian != julian);
  DeltaDay day = { julian, n_entries, section };
  g_array_append_val (d->days, day);
}

void
usage_delta_set_extra (UsageDelta *d, GBytes *extra)
{
  if (d->extra)
    g_bytes_unref (d->extra);
  d->extra = extra ? g_bytes_ref (extra) : NULL;
}

gboolean
usage_delta_is_empty (UsageDelta *d)
{
  return d->days->len == 0 && d->identities->len == 0 && d->extra == NULL;
}

static gint
delta_day_cmp (gconstpointer a, gconstpointer b)
{
  guint32 x = ((const DeltaDay *) a)->julian, y = ((const DeltaDay *) b)->julian;
  return x < y ? -1 : x > y;
}

/* ---- the store ---- */

typedef struct {
  guint32 julian;
  guint64 n_entries;
  guint64 offset;
  guint64 length;
} PendingDay;

typedef struct {
  guint64 seq;
  char *path;
  guint64 file_len;
  guint32 n_files;
  guint64 extra_offset, extra_len;
  GArray *days;          /* PendingDay */
  GPtrArray *buckets, *identities;
} Pending;

typedef struct {
  guint32 julian;
  guint64 merged_through;
  guint64 n_inputs;
  guint64 n_users;
  guint64 payload_len;
  gsize file_size;
} DayHeader;

struct UsageStore {
  char *dir, *days_dir, *pending_dir, *ledger_dir, *extra_path, *seq_path;
  GPtrArray *pending;          /* Pending*, not merged everywhere yet, by seq */
  GHashTable *known_files;     /* "bucket\tidentity" of pending deltas */
  GHashTable *ledgers;         /* bucket -> GHashTable set of identities */
  guint64 last_seq;            /* highest seq ever handed out */
  /* Files this process wrote.  While the host's state transaction is open
   * they exist only under a staged name until the run commits, so this
   * process reads them from here, never from their final path. */
  GHashTable *written;         /* path -> GBytes */
  gsize written_bytes, cache_budget;
  GHashTable *evicted;         /* day file path -> DayHeader* we wrote */
  guint64 extra_seq;           /* newest extra blob known */
  GBytes *extra;
  gboolean extra_loaded;
};

static void
pending_free (gpointer p)
{
  Pending *d = p;
  g_free (d->path);
  g_array_unref (d->days);
  g_ptr_array_unref (d->buckets);
  g_ptr_array_unref (d->identities);
  g_free (d);
}

const char *
usage_store_dir (UsageStore *s)
{
  return s->dir;
}

void
usage_store_free (UsageStore *s)
{
  if (!s)
    return;
  g_free (s->dir);
  g_free (s->days_dir);
  g_free (s->pending_dir);
  g_free (s->ledger_dir);
  g_free (s->extra_path);
  g_free (s->seq_path);
  g_ptr_array_unref (s->pending);
  g_hash_table_unref (s->known_files);
  g_hash_table_unref (s->ledgers);
  g_hash_table_unref (s->written);
  g_hash_table_unref (s->evicted);
  if (s->extra)
    g_bytes_unref (s->extra);
  g_free (s);
}

void
usage_store_set_cache_budget (UsageStore *s, gsize bytes)
{
  s->cache_budget = bytes;
}

static gboolean
state_error (GError **error, const char *path, const char *fmt, ...)
  G_GNUC_PRINTF (3, 4);

static gboolean
state_error (GError **error, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE, "%s: %s", path, msg);
  return FALSE;
}

/* ---- reading and writing files, through the write cache ---- */

static gboolean
is_day_path (UsageStore *s, const char *path)
{
  return g_str_has_prefix (path, s->days_dir) && g_str_has_suffix (path, ".day");
}

static gboolean parse_day_header (const char *path, const guint8 *h,
                                  gsize file_size, guint32 julian,
                                  DayHeader *out, GError **error);

static void
cache_drop (UsageStore *s, const char *path)
{
  GBytes *b = g_hash_table_lookup (s->written, path);
  if (!b)
    return;
  s->written_bytes -= g_bytes_get_size (b);
  g_hash_table_remove (s->written, path);
}

/* Keeps memory bounded in long runs: day files go first (they are
 * re-read only when a later delta of the same day is compacted). */
static void
cache_evict (UsageStore *s, const char *keep)
{
  if (s->written_bytes <= s->cache_budget)
    return;
  g_autoptr (GPtrArray) victims = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, s->written);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (is_day_path (s, k) && strcmp (k, keep) != 0)
      g_ptr_array_add (victims, g_strdup (k));
  for (guint i = 0; i < victims->len && s->written_bytes > s->cache_budget; i++)
    {
      const char *path = victims->pdata[i];
      GBytes *b = g_hash_table_lookup (s->written, path);
      gsize len;
      const guint8 *p = g_bytes_get_data (b, &len);
      DayHeader *h = g_new0 (DayHeader, 1);
      if (parse_day_header (path, p, len, get_u32 (p + 12), h, NULL))
        g_hash_table_insert (s->evicted, g_strdup (path), h);
      else
        g_free (h);
      cache_drop (s, path);
    }
}

static gboolean
store_write (UsageStore *s, const char *path, GBytes *bytes, GError **error)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (bytes, &len);
  if (!nfsub_write_file_atomic (path, p, len, error))
    return FALSE;
  cache_drop (s, path);
  g_hash_table_remove (s->evicted, path);
  g_hash_table_insert (s->written, g_strdup (path), g_bytes_ref (bytes));
  s->written_bytes += len;
  cache_evict (s, path);
  return TRUE;
}

/* Whether what this process wrote to `path` is what the disk holds at
 * that name: not so while the host's transaction keeps it staged. */
static gboolean
store_write_visible (UsageStore *s, const char *path)
{
  GBytes *mine = g_hash_table_lookup (s->written, path);
  if (!mine)
    return TRUE;
  g_autoptr (GMappedFile) mf = g_mapped_file_new (path, FALSE, NULL);
  if (!mf)
    return FALSE;
  gsize len = g_mapped_file_get_length (mf);
  return len == g_bytes_get_size (mine)
         && memcmp (g_mapped_file_get_contents (mf), g_bytes_get_data (mine, NULL),
                    len) == 0;
}

/* A whole file: from the cache, else mapped from disk.  *absent (no
 * error) when neither has it. */
static GBytes *
store_read (UsageStore *s, const char *path, gboolean *absent, GError **error)
{
  *absent = FALSE;
  GBytes *b = g_hash_table_lookup (s->written, path);
  if (b)
    return g_bytes_ref (b);
  g_autoptr (GError) local = NULL;
  g_autoptr (GMappedFile) mf = g_mapped_file_new (path, FALSE, &local);
  if (!mf)
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          *absent = TRUE;
          return NULL;
        }
      state_error (error, path, "%s", local->message);
      return NULL;
    }
  return g_mapped_file_get_bytes (mf);
}

typedef struct {
  FILE *fp;
  const guint8 *mem;
  gsize mem_len;
  const char *path;
} ByteSource;

static gboolean
source_read (ByteSource *src, guint64 offset, void *buf, gsize len,
             GError **error)
{
  if (src->mem)
    {
      if (offset > src->mem_len || len > src->mem_len - offset)
        return state_error (error, src->path, "truncated (cannot read %"
                            G_GSIZE_FORMAT " bytes at byte %" G_GUINT64_FORMAT
                            ")", len, offset);
      memcpy (buf, src->mem + offset, len);
      return TRUE;
    }
  if (fseeko (src->fp, (off_t) offset, SEEK_SET) != 0
      || fread (buf, 1, len, src->fp) != len)
    return state_error (error, src->path, "truncated (cannot read %"
                        G_GSIZE_FORMAT " bytes at byte %" G_GUINT64_FORMAT ")",
                        len, offset);
  return TRUE;
}

/* A delta's header, day table and file list, not its sections. */
static Pending *
pending_parse (ByteSource *src, guint64 size, GError **error)
{
  const char *path = src->path;
  Pending *d = g_new0 (Pending, 1);
  d->path = g_strdup (path);
  d->days = g_array_new (FALSE, FALSE, sizeof (PendingDay));
  d->buckets = g_ptr_array_new_with_free_func (g_free);
  d->identities = g_ptr_array_new_with_free_func (g_free);
  guint8 *table = NULL, *files = NULL;
  guint8 h[DELTA_HEADER];
  guint64 files_off = 0, files_len = 0;
  const guint8 *p = NULL;
  if (!source_read (src, 0, h, sizeof h, error))
    goto fail;
  if (memcmp (h, DELTA_MAGIC, 8) != 0 || get_u32 (h + 8) != FORMAT_VERSION)
    {
      state_error (error, path, "byte 0: not an nfsub usage delta (magic/version)");
      goto fail;
    }
  guint32 n_days = get_u32 (h + 12);
  d->seq = get_u64 (h + 16);
  d->n_files = get_u32 (h + 24);
  files_off = get_u64 (h + 32);
  files_len = get_u64 (h + 40);
  d->extra_offset = get_u64 (h + 48);
  d->extra_len = get_u64 (h + 56);
  d->file_len = get_u64 (h + 64);
  guint64 table_end = DELTA_HEADER + (guint64) n_days * DELTA_DAY_ENTRY;
  if (d->file_len != size || n_days > 100000 || d->seq == 0
      || table_end > d->file_len || files_off < table_end
      || files_off > d->file_len || files_len > d->file_len - files_off
      || d->extra_offset > d->file_len
      || d->extra_len > d->file_len - d->extra_offset)
    {
      state_error (error, path, "byte 12: inconsistent header (file length %"
                   G_GUINT64_FORMAT ", recorded %" G_GUINT64_FORMAT ")",
                   size, d->file_len);
      goto fail;
    }
  table = g_malloc (n_days * DELTA_DAY_ENTRY + 1);
  if (!source_read (src, DELTA_HEADER, table, n_days * DELTA_DAY_ENTRY, error))
    goto fail;
  for (guint32 i = 0; i < n_days; i++)
    {
      const guint8 *e = table + i * DELTA_DAY_ENTRY;
      PendingDay pd = { get_u32 (e), get_u64 (e + 8), get_u64 (e + 16),
                        get_u64 (e + 24) };
      if (pd.offset > d->file_len || pd.length > d->file_len - pd.offset
          || pd.julian == 0)
        {
          state_error (error, path, "byte %u: bad day table entry",
                       DELTA_HEADER + i * DELTA_DAY_ENTRY);
          goto fail;
        }
      g_array_append_val (d->days, pd);
    }
  files = g_malloc (files_len + 1);
  if (!source_read (src, files_off, files, files_len, error))
    goto fail;
  p = files;
  const guint8 *end = files + files_len;
  for (guint32 i = 0; i < d->n_files; i++)
    {
      guint64 bl, il;
      if (!get_varint (&p, end, &bl) || bl > (guint64) (end - p))
        goto bad_files;
      char *bucket = g_strndup ((const char *) p, bl);
      p += bl;
      if (!get_varint (&p, end, &il) || il > (guint64) (end - p))
        {
          g_free (bucket);
          goto bad_files;
        }
      g_ptr_array_add (d->buckets, bucket);
      g_ptr_array_add (d->identities, g_strndup ((const char *) p, il));
      p += il;
    }
  g_free (table);
  g_free (files);
  return d;

bad_files:
  state_error (error, path, "byte %" G_GUINT64_FORMAT ": bad file list",
               files_off + (guint64) (p - files));
fail:
  g_free (table);
  g_free (files);
  pending_free (d);
  return NULL;
}

static Pending *
pending_load_disk (const char *path, GError **error)
{
  FILE *fp = fopen (path, "rb");
  if (!fp)
    {
      state_error (error, path, "%s", g_strerror (errno));
      return NULL;
    }
  struct stat st;
  if (fstat (fileno (fp), &st) != 0)
    {
      fclose (fp);
      state_error (error, path, "%s", g_strerror (errno));
      return NULL;
    }
  ByteSource src = { fp, NULL, 0, path };
  Pending *d = pending_parse (&src, (guint64) st.st_size, error);
  fclose (fp);
  return d;
}

static gint
pending_cmp (gconstpointer a, gconstpointer b)
{
  const Pending *x = *(Pending *const *) a, *y = *(Pending *const *) b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
pending_index (UsageStore *s, Pending *p)
{
  g_ptr_array_add (s->pending, p);
  for (guint i = 0; i < p->identities->len; i++)
    g_hash_table_add (s->known_files,
                      g_strconcat (p->buckets->pdata[i], "\t",
                                   p->identities->pdata[i], NULL));
}

/* Small text/binary state files, read through the write cache. */
static gboolean
read_small (UsageStore *s, const char *path, GBytes **out, GError **error)
{
  gboolean absent;
  *out = store_read (s, path, &absent, error);
  return *out != NULL || absent;
}

static gboolean
read_seq_file (UsageStore *s, GError **error)
{
  g_autoptr (GBytes) b = NULL;
  if (!read_small (s, s->seq_path, &b, error))
    return FALSE;
  if (!b)
    return TRUE;
  gsize len;
  g_autofree char *text = g_strndup (g_bytes_get_data (b, &len), g_bytes_get_size (b));
  char *end = NULL;
  guint64 v = g_ascii_strtoull (text, &end, 10);
  if (end == text || (*end != '\n' && *end != '\0'))
    return state_error (error, s->seq_path, "line 1: expected a number");
  s->last_seq = MAX (s->last_seq, v);
  return TRUE;
}

static gboolean
write_seq (UsageStore *s, GError **error)
{
  char text[32];
  int n = g_snprintf (text, sizeof text, "%" G_GUINT64_FORMAT "\n", s->last_seq);
  g_autoptr (GBytes) b = g_bytes_new (text, (gsize) n);
  return store_write (s, s->seq_path, b, error);
}

static gboolean sweep_merged (UsageStore *s, GError **error);

UsageStore *
usage_store_open (const char *dir, gboolean sweep, GError **error)
{
  g_autoptr (UsageStore) s = g_new0 (UsageStore, 1);
  s->dir = g_strdup (dir);
  s->days_dir = g_build_filename (dir, "days", NULL);
  s->pending_dir = g_build_filename (dir, "pending", NULL);
  s->ledger_dir = g_build_filename (dir, "ledger", NULL);
  s->extra_path = g_build_filename (dir, "extra.bin", NULL);
  s->seq_path = g_build_filename (dir, "seq", NULL);
  s->pending = g_ptr_array_new_with_free_func (pending_free);
  s->known_files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->ledgers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) g_hash_table_unref);
  s->written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) g_bytes_unref);
  s->evicted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s->cache_budget = (gsize) 512 << 20;
  const char *dirs[] = { s->days_dir, s->pending_dir, s->ledger_dir };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    if (g_mkdir_with_parents (dirs[i], 0755) != 0)
      {
        state_error (error, dirs[i], "cannot create: %s", g_strerror (errno));
        return NULL;
      }
  if (!read_seq_file (s, error))
    return NULL;

  g_autoptr (GDir) d = g_dir_open (s->pending_dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      /* staged or temporary copies are not deltas (yet) */
      if (!g_str_has_suffix (name, ".delta"))
        continue;
      g_autofree char *path = g_build_filename (s->pending_dir, name, NULL);
      Pending *p = pending_load_disk (path, error);
      if (!p)
        return NULL;
      pending_index (s, p);
      s->last_seq = MAX (s->last_seq, p->seq);
    }
  g_ptr_array_sort (s->pending, pending_cmp);
  if (sweep && !sweep_merged (s, error))
    return NULL;
  return g_steal_pointer (&s);
}

guint
usage_store_n_pending (UsageStore *s)
{
  return s->pending->len;
}

static gboolean
valid_bucket (const char *bucket)
{
  if (!*bucket || strlen (bucket) > 64)
    return FALSE;
  for (const char *p = bucket; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

static char *
ledger_path (UsageStore *s, const char *bucket)
{
  g_autofree char *file = g_strconcat (bucket, ".tsv", NULL);
  return g_build_filename (s->ledger_dir, file, NULL);
}

static GHashTable *
ledger_bucket (UsageStore *s, const char *bucket, GError **error)
{
  GHashTable *set = g_hash_table_lookup (s->ledgers, bucket);
  if (set)
    return set;
  g_autofree char *path = ledger_path (s, bucket);
  g_autoptr (GBytes) b = NULL;
  if (!read_small (s, path, &b, error))
    return NULL;
  set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (b)
    {
      g_autofree char *text = g_strndup (g_bytes_get_data (b, NULL),
                                         g_bytes_get_size (b));
      g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
      for (char **l = lines; *l; l++)
        if (**l && **l != '#')
          g_hash_table_add (set, g_strdup (*l));
    }
  g_hash_table_insert (s->ledgers, g_strdup (bucket), set);
  return set;
}

gboolean
usage_store_has_file (UsageStore *s, const char *bucket, const char *identity,
                      gboolean *found, GError **error)
{
  g_return_val_if_fail (valid_bucket (bucket), FALSE);
  g_autofree char *k = g_strconcat (bucket, "\t", identity, NULL);
  if (g_hash_table_contains (s->known_files, k))
    {
      *found = TRUE;
      return TRUE;
    }
  GHashTable *set = ledger_bucket (s, bucket, error);
  if (!set)
    return FALSE;
  *found = g_hash_table_contains (set, identity);
  return TRUE;
}

gboolean
usage_store_commit (UsageStore *s, UsageDelta *d, GError **error)
{
  if (usage_delta_is_empty (d))
    return TRUE;
  g_array_sort (d->days, delta_day_cmp);
  guint64 seq = s->last_seq + 1;

  g_autoptr (GByteArray) files = g_byte_array_new ();
  for (guint i = 0; i < d->identities->len; i++)
    {
      const char *b = d->buckets->pdata[i], *id = d->identities->pdata[i];
      g_return_val_if_fail (valid_bucket (b) && !strchr (id, '\n'), FALSE);
      put_varint (files, strlen (b));
      g_byte_array_append (files, (const guint8 *) b, (guint) strlen (b));
      put_varint (files, strlen (id));
      g_byte_array_append (files, (const guint8 *) id, (guint) strlen (id));
    }
  guint64 table_len = (guint64) d->days->len * DELTA_DAY_ENTRY;
  guint64 files_off = DELTA_HEADER + table_len;
  guint64 extra_off = files_off + files->len;
  gsize extra_len = d->extra ? g_bytes_get_size (d->extra) : 0;
  guint64 off = extra_off + extra_len;

  GByteArray *out = g_byte_array_new ();
  g_byte_array_set_size (out, (guint) (DELTA_HEADER + table_len));
  memset (out->data, 0, out->len);
  for (guint i = 0; i < d->days->len; i++)
    {
      DeltaDay *day = &g_array_index (d->days, DeltaDay, i);
      guint8 *e = out->data + DELTA_HEADER + i * DELTA_DAY_ENTRY;
      gsize len = g_bytes_get_size (day->section);
      put_u32 (e, day->julian);
      put_u64 (e + 8, day->n_entries);
      put_u64 (e + 16, off);
      put_u64 (e + 24, len);
      off += len;
    }
  g_byte_array_append (out, files->data, files->len);
  if (extra_len)
    g_byte_array_append (out, g_bytes_get_data (d->extra, NULL), (guint) extra_len);
  for (guint i = 0; i < d->days->len; i++)
    {
      gsize len;
      const guint8 *p = g_bytes_get_data (g_array_index (d->days, DeltaDay, i).section,
                                          &len);
      g_byte_array_append (out, p, (guint) len);
    }
  g_assert (out->len == off);
  guint8 *h = out->data;
  memcpy (h, DELTA_MAGIC, 8);
  put_u32 (h + 8, FORMAT_VERSION);
  put_u32 (h + 12, d->days->len);
  put_u64 (h + 16, seq);
  put_u32 (h + 24, d->identities->len);
  put_u64 (h + 32, files_off);
  put_u64 (h + 40, extra_off - files_off);
  put_u64 (h + 48, extra_off);
  put_u64 (h + 56, extra_len);
  put_u64 (h + 64, out->len);
  put_u64 (h + 72, hash_bytes (HASH_INIT, out->data + DELTA_HEADER,
                               out->len - DELTA_HEADER));
  g_autoptr (GBytes) bytes = g_byte_array_free_to_bytes (out);

  char name[64];
  g_snprintf (name, sizeof name, "%016" G_GINT64_MODIFIER "u.delta", seq);
  g_autofree char *path = g_build_filename (s->pending_dir, name, NULL);
  if (!store_write (s, path, bytes, error))
    return FALSE;
  s->last_seq = seq;
  gsize len;
  const guint8 *p = g_bytes_get_data (bytes, &len);
  ByteSource src = { NULL, p, len, path };
  Pending *pd = pending_parse (&src, len, error);
  if (!pd)
    return FALSE;
  pending_index (s, pd);
  if (extra_len)
    {
      if (s->extra)
        g_bytes_unref (s->extra);
      s->extra = g_bytes_ref (d->extra);
      s->extra_seq = seq;
      s->extra_loaded = TRUE;
    }
  return TRUE;
}

/* Checks a whole file's hash. */
static gboolean
check_hash (const char *path, GBytes *b, gsize header_len, gsize hash_at,
            GError **error)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (b, &len);
  if (len < header_len)
    return state_error (error, path, "truncated (%" G_GSIZE_FORMAT " bytes)", len);
  if (hash_bytes (HASH_INIT, p + header_len, len - header_len)
      != get_u64 (p + hash_at))
    return state_error (error, path, "checksum mismatch (file damaged)");
  return TRUE;
}

static char *
day_path (UsageStore *s, guint32 julian)
{
  int y, m, d;
  usage_julian_to_ymd (julian, &y, &m, &d);
  char name[32];
  g_snprintf (name, sizeof name, "%04d%02d%02d.day", y, m, d);
  return g_build_filename (s->days_dir, name, NULL);
}

static gboolean
parse_day_header (const char *path, const guint8 *h, gsize file_size,
                  guint32 julian, DayHeader *out, GError **error)
{
  if (file_size < DAY_HEADER)
    return state_error (error, path, "truncated header");
  if (memcmp (h, DAY_MAGIC, 8) != 0 || get_u32 (h + 8) != FORMAT_VERSION)
    return state_error (error, path, "byte 0: not an nfsub usage day file");
  out->julian = get_u32 (h + 12);
  out->merged_through = get_u64 (h + 16);
  out->n_inputs = get_u64 (h + 24);
  out->n_users = get_u64 (h + 32);
  out->payload_len = get_u64 (h + 40);
  out->file_size = file_size;
  if (out->julian != julian)
    return state_error (error, path, "byte 12: holds another day");
  if (out->payload_len != file_size - DAY_HEADER)
    return state_error (error, path, "truncated (header says %" G_GUINT64_FORMAT
                        " payload bytes, file has %" G_GSIZE_FORMAT ")",
                        out->payload_len, file_size - DAY_HEADER);
  return TRUE;
}

typedef enum {
  DAY_ABSENT,
  DAY_OK,
  /* written by this run, dropped from the cache, and the file on disk is
   * not that version (the run's commit is still staged) */
  DAY_UNAVAILABLE,
} DayStatus;

/* Header only. */
static gboolean
day_header (UsageStore *s, guint32 julian, DayStatus *status, DayHeader *out,
            GError **error)
{
  g_autofree char *path = day_path (s, julian);
  memset (out, 0, sizeof *out);
  GBytes *cached = g_hash_table_lookup (s->written, path);
  if (cached)
    {
      *status = DAY_OK;
      return parse_day_header (path, g_bytes_get_data (cached, NULL),
                               g_bytes_get_size (cached), julian, out, error);
    }
  FILE *fp = fopen (path, "rb");
  if (!fp)
    {
      if (errno != ENOENT)
        return state_error (error, path, "%s", g_strerror (errno));
      *status = g_hash_table_contains (s->evicted, path) ? DAY_UNAVAILABLE
                                                         : DAY_ABSENT;
      return TRUE;
    }
  guint8 h[DAY_HEADER];
  struct stat st;
  gboolean ok = fstat (fileno (fp), &st) == 0
                && (gsize) st.st_size >= DAY_HEADER
                && fread (h, 1, DAY_HEADER, fp) == DAY_HEADER;
  fclose (fp);
  if (!ok)
    return state_error (error, path, "truncated header");
  if (!parse_day_header (path, h, (gsize) st.st_size, julian, out, error))
    return FALSE;
  *status = DAY_OK;
  DayHeader *mine = g_hash_table_lookup (s->evicted, path);
  if (mine && (mine->merged_through != out->merged_through
               || mine->file_size != out->file_size))
    *status = DAY_UNAVAILABLE;
  return TRUE;
}

static GBytes *
read_delta (UsageStore *s, Pending *d, GError **error)
{
  gboolean absent;
  GBytes *b = store_read (s, d->path, &absent, error);
  if (!b)
    {
      if (absent)
        state_error (error, d->path, RACE_TEXT);
      return NULL;
    }
  if (g_bytes_get_size (b) != d->file_len)
    {
      g_bytes_unref (b);
      state_error (error, d->path, RACE_TEXT);
      return NULL;
    }
  if (!check_hash (d->path, b, DELTA_HEADER, 72, error))
    {
      g_bytes_unref (b);
      return NULL;
    }
  return b;
}

void
usage_day_data_free (UsageDayData *d)
{
  if (!d)
    return;
  g_ptr_array_unref (d->readers);
  g_ptr_array_unref (d->priorities);
  g_ptr_array_unref (d->blobs);
  g_free (d);
}

UsageDayData *
usage_store_read_day (UsageStore *s, guint32 julian, GError **error)
{
  g_autoptr (UsageDayData) out = g_new0 (UsageDayData, 1);
  out->julian = julian;
  out->readers = g_ptr_array_new_with_free_func (g_free);
  out->priorities = g_ptr_array_new ();
  out->blobs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  DayStatus status;
  DayHeader hdr;
  if (!day_header (s, julian, &status, &hdr, error))
    return NULL;
  g_autofree char *path = day_path (s, julian);
  if (status == DAY_UNAVAILABLE)
    {
      state_error (error, path, "rewritten by this run and no longer in memory");
      return NULL;
    }
  if (status == DAY_OK)
    {
      gboolean absent;
      GBytes *b = store_read (s, path, &absent, error);
      if (!b)
        {
          if (absent)
            state_error (error, path, RACE_TEXT);
          return NULL;
        }
      g_ptr_array_add (out->blobs, b);
      gsize len;
      const guint8 *p = g_bytes_get_data (b, &len);
      if (!check_hash (path, b, DAY_HEADER, 48, error)
          || !parse_day_header (path, p, len, julian, &hdr, error))
        return NULL;
      UsageSectionReader *r = g_new (UsageSectionReader, 1);
      g_ptr_array_add (out->readers, r);
      g_ptr_array_add (out->priorities, GSIZE_TO_POINTER ((gsize) hdr.merged_through));
      /* the reader keeps `file` for its error messages */
      if (!usage_section_reader_init (r, p + DAY_HEADER, len - DAY_HEADER,
                                      g_intern_string (path), DAY_HEADER, error))
        return NULL;
      out->n_inputs = hdr.n_inputs;
      out->present = TRUE;
      out->merged_through = hdr.merged_through;
    }
  for (guint i = 0; i < s->pending->len; i++)
    {
      Pending *d = s->pending->pdata[i];
      if (d->seq <= hdr.merged_through)
        continue;
      for (guint k = 0; k < d->days->len; k++)
        {
          PendingDay *pd = &g_array_index (d->days, PendingDay, k);
          if (pd->julian != julian)
            continue;
          GBytes *b = read_delta (s, d, error);
          if (!b)
            return NULL;
          g_ptr_array_add (out->blobs, b);
          const guint8 *p = g_bytes_get_data (b, NULL);
          UsageSectionReader *r = g_new (UsageSectionReader, 1);
          g_ptr_array_add (out->readers, r);
          g_ptr_array_add (out->priorities, GSIZE_TO_POINTER ((gsize) d->seq));
          if (!usage_section_reader_init (r, p + pd->offset, pd->length,
                                          g_intern_string (d->path), pd->offset,
                                          error))
            return NULL;
          out->n_inputs += d->n_files;
          out->present = TRUE;
        }
    }
  return g_steal_pointer (&out);
}

static gint
julian_cmp (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

static guint32
julian_of_day_name (const char *name)
{
  int y, m, dd;
  char tail[8];
  if (strlen (name) == 12 && sscanf (name, "%4d%2d%2d%7s", &y, &m, &dd, tail) == 4
      && strcmp (tail, ".day") == 0)
    return usage_julian_from_ymd (y, m, dd);
  return 0;
}

GArray *
usage_store_days (UsageStore *s)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr (GDir) d = g_dir_open (s->days_dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      guint32 j = julian_of_day_name (name);
      if (j)
        g_hash_table_add (seen, GUINT_TO_POINTER (j));
    }
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init (&it, s->written);
  while (g_hash_table_iter_next (&it, &k, NULL))
    if (is_day_path (s, k))
      {
        g_autofree char *base = g_path_get_basename (k);
        guint32 j = julian_of_day_name (base);
        if (j)
          g_hash_table_add (seen, GUINT_TO_POINTER (j));
      }
  for (guint i = 0; i < s->pending->len; i++)
    {
      Pending *p = s->pending->pdata[i];
      for (guint n = 0; n < p->days->len; n++)
        g_hash_table_add (seen, GUINT_TO_POINTER (
                                    g_array_index (p->days, PendingDay, n).julian));
    }
  GArray *out = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_hash_table_iter_init (&it, seen);
  while (g_hash_table_iter_next (&it, &k, NULL))
    {
      guint32 j = GPOINTER_TO_UINT (k);
      g_array_append_val (out, j);
    }
  g_array_sort (out, julian_cmp);
  return out;
}

/* Merges one day's file with its pending sections into a new day file. */
static gboolean
compact_day (UsageStore *s, guint32 julian, GError **error)
{
  g_autoptr (UsageDayData) dd = usage_store_read_day (s, julian, error);
  if (!dd)
    return FALSE;
  guint64 merged_through = dd->merged_through;
  for (guint i = 0; i < dd->priorities->len; i++)
    merged_through = MAX (merged_through,
                          (guint64) GPOINTER_TO_SIZE (dd->priorities->pdata[i]));
  if (merged_through <= dd->merged_through)
    return TRUE;  /* nothing new */

  g_autoptr (UsageMerge) m = usage_merge_new ();
  for (guint i = 0; i < dd->readers->len; i++)
    usage_merge_add (m, dd->readers->pdata[i],
                     GPOINTER_TO_SIZE (dd->priorities->pdata[i]), 0);
  if (!usage_merge_start (m, error))
    return FALSE;
  UsageSectionWriter w;
  usage_section_writer_init (&w);
  const char *key;
  gsize key_len;
  guint8 meta = 0;
  UsageCounters c;
  int rc;
  while ((rc = usage_merge_next (m, &key, &key_len, &meta, &c, NULL, error)) > 0)
    usage_section_writer_add (&w, key, key_len, meta, &c);
  if (rc < 0)
    {
      usage_section_writer_clear (&w);
      return FALSE;
    }
  guint64 n_users = w.n_entries;
  g_autoptr (GBytes) section = usage_section_writer_finish (&w);
  gsize len;
  const guint8 *p = g_bytes_get_data (section, &len);
  guint8 *buf = g_malloc (DAY_HEADER + len);
  memset (buf, 0, DAY_HEADER);
  memcpy (buf, DAY_MAGIC, 8);
  put_u32 (buf + 8, FORMAT_VERSION);
  put_u32 (buf + 12, julian);
  put_u64 (buf + 16, merged_through);
  put_u64 (buf + 24, dd->n_inputs);
  put_u64 (buf + 32, n_users);
  put_u64 (buf + 40, len);
  memcpy (buf + DAY_HEADER, p, len);
  put_u64 (buf + 48, hash_bytes (HASH_INIT, buf + DAY_HEADER, len));
  g_autoptr (GBytes) bytes = g_bytes_new_take (buf, DAY_HEADER + len);
  g_autofree char *path = day_path (s, julian);
  /* drop the readers' hold on the old version before caching the new */
  g_clear_pointer (&m, usage_merge_free);
  g_clear_pointer (&dd, usage_day_data_free);
  return store_write (s, path, bytes, error);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static gboolean
ledger_append (UsageStore *s, const char *bucket, GPtrArray *ids,
               GError **error)
{
  GHashTable *set = ledger_bucket (s, bucket, error);
  if (!set)
    return FALSE;
  gboolean changed = FALSE;
  for (guint i = 0; i < ids->len; i++)
    if (g_hash_table_add (set, g_strdup (ids->pdata[i])))
      changed = TRUE;
  if (!changed)
    return TRUE;
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, set);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (all, key);
  g_ptr_array_sort (all, compare_strings);
  GString *text = g_string_new ("# input files counted in this store\n");
  for (guint i = 0; i < all->len; i++)
    g_string_append_printf (text, "%s\n", (const char *) all->pdata[i]);
  g_autoptr (GBytes) b = g_string_free_to_bytes (text);
  g_autofree char *path = ledger_path (s, bucket);
  return store_write (s, path, b, error);
}

static gboolean
read_extra_file (UsageStore *s, guint64 *seq, GBytes **blob, GError **error)
{
  g_autoptr (GBytes) b = NULL;
  *seq = 0;
  *blob = NULL;
  if (!read_small (s, s->extra_path, &b, error))
    return FALSE;
  if (!b)
    return TRUE;
  gsize len;
  const guint8 *p = g_bytes_get_data (b, &len);
  if (len < 32 || memcmp (p, EXTRA_MAGIC, 8) != 0
      || get_u64 (p + 16) != len - 32
      || get_u64 (p + 24) != hash_bytes (HASH_INIT, p + 32, len - 32))
    return state_error (error, s->extra_path, "damaged (bad header or checksum)");
  *seq = get_u64 (p + 8);
  *blob = g_bytes_new_from_bytes (b, 32, len - 32);
  return TRUE;
}

static gboolean
write_extra_file (UsageStore *s, guint64 seq, GBytes *blob, GError **error)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (blob, &len);
  guint8 *buf = g_malloc (32 + len);
  memcpy (buf, EXTRA_MAGIC, 8);
  put_u64 (buf + 8, seq);
  put_u64 (buf + 16, len);
  put_u64 (buf + 24, hash_bytes (HASH_INIT, p, len));
  memcpy (buf + 32, p, len);
  g_autoptr (GBytes) b = g_bytes_new_take (buf, 32 + len);
  return store_write (s, s->extra_path, b, error);
}

static GBytes *
delta_extra (UsageStore *s, Pending *d, GError **error)
{
  g_autoptr (GBytes) b = read_delta (s, d, error);
  if (!b)
    return NULL;
  return g_bytes_new_from_bytes (b, d->extra_offset, d->extra_len);
}

gboolean
usage_store_extra (UsageStore *s, GBytes **out, GError **error)
{
  *out = NULL;
  if (!s->extra_loaded)
    {
      guint64 seq;
      GBytes *blob;
      if (!read_extra_file (s, &seq, &blob, error))
        return FALSE;
      for (guint i = s->pending->len; i-- > 0;)
        {
          Pending *d = s->pending->pdata[i];
          if (d->extra_len == 0 || d->seq <= seq)
            continue;
          if (blob)
            g_bytes_unref (blob);
          blob = delta_extra (s, d, error);
          if (!blob)
            return FALSE;
          seq = d->seq;
          break;
        }
      s->extra = blob;
      s->extra_seq = seq;
      s->extra_loaded = TRUE;
    }
  *out = s->extra ? g_bytes_ref (s->extra) : NULL;
  return TRUE;
}

/* Deltas all of whose days sit in day files with merged_through >= seq. */
static GPtrArray *
fully_merged (UsageStore *s, GError **error)
{
  g_autoptr (GHashTable) through = g_hash_table_new_full (g_direct_hash,
                                                          g_direct_equal,
                                                          NULL, g_free);
  g_autoptr (GPtrArray) done = g_ptr_array_new ();
  for (guint i = 0; i < s->pending->len; i++)
    {
      Pending *d = s->pending->pdata[i];
      gboolean all = TRUE;
      for (guint k = 0; k < d->days->len && all; k++)
        {
          guint32 julian = g_array_index (d->days, PendingDay, k).julian;
          guint64 *mt = g_hash_table_lookup (through, GUINT_TO_POINTER (julian));
          if (!mt)
            {
              DayStatus status;
              DayHeader hdr;
              if (!day_header (s, julian, &status, &hdr, error))
                return NULL;
              mt = g_new (guint64, 1);
              *mt = status == DAY_OK ? hdr.merged_through : 0;
              g_hash_table_insert (through, GUINT_TO_POINTER (julian), mt);
            }
          all = *mt >= d->seq;
        }
      if (all)
        g_ptr_array_add (done, d);
    }
  return g_steal_pointer (&done);
}

/* At open, in a new process, the disk holds committed state only: deltas
 * that committed day files contain can go, once the ledger and extra.bin
 * carry what they alone held. */
static gboolean
sweep_merged (UsageStore *s, GError **error)
{
  g_autoptr (GPtrArray) done = fully_merged (s, error);
  if (!done)
    return FALSE;
  if (done->len == 0)
    return TRUE;
  if (!write_seq (s, error))
    return FALSE;
  g_autoptr (GHashTable) by_bucket = g_hash_table_new_full (
      g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  Pending *newest_extra = NULL;
  for (guint i = 0; i < done->len; i++)
    {
      Pending *d = done->pdata[i];
      for (guint f = 0; f < d->identities->len; f++)
        {
          GPtrArray *ids = g_hash_table_lookup (by_bucket, d->buckets->pdata[f]);
          if (!ids)
            {
              ids = g_ptr_array_new ();
              g_hash_table_insert (by_bucket, d->buckets->pdata[f], ids);
            }
          g_ptr_array_add (ids, d->identities->pdata[f]);
        }
      if (d->extra_len && (!newest_extra || d->seq > newest_extra->seq))
        newest_extra = d;
    }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, by_bucket);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (!ledger_append (s, k, v, error))
      return FALSE;
  if (newest_extra)
    {
      guint64 file_seq;
      g_autoptr (GBytes) old = NULL;
      if (!read_extra_file (s, &file_seq, &old, error))
        return FALSE;
      if (newest_extra->seq > file_seq)
        {
          g_autoptr (GBytes) blob = delta_extra (s, newest_extra, error);
          if (!blob || !write_extra_file (s, newest_extra->seq, blob, error))
            return FALSE;
        }
    }
  /* Deleting is final; the writes above may still be staged (a host
   * transaction open around this open): then the deltas stay, and a later
   * open removes them. */
  gboolean visible = store_write_visible (s, s->seq_path)
                     && store_write_visible (s, s->extra_path);
  g_hash_table_iter_init (&it, by_bucket);
  while (visible && g_hash_table_iter_next (&it, &k, NULL))
    {
      g_autofree char *path = ledger_path (s, k);
      visible = store_write_visible (s, path);
    }
  if (!visible)
    return TRUE;
  for (guint i = 0; i < done->len; i++)
    {
      Pending *d = done->pdata[i];
      if (g_unlink (d->path) != 0 && errno != ENOENT)
        return state_error (error, d->path, "cannot remove: %s", g_strerror (errno));
      for (guint f = 0; f < d->identities->len; f++)
        {
          g_autofree char *key = g_strconcat (d->buckets->pdata[f], "\t",
                                              d->identities->pdata[f], NULL);
          g_hash_table_remove (s->known_files, key);
        }
      g_ptr_array_remove (s->pending, d);
    }
  return TRUE;
}

gboolean
usage_store_compact (UsageStore *s, guint32 closed_before, gsize min_bytes,
                     gboolean force, GError **error)
{
  if (s->pending->len == 0)
    return TRUE;
  g_autoptr (GHashTable) pending_bytes = g_hash_table_new_full (
      g_direct_hash, g_direct_equal, NULL, g_free);
  for (guint i = 0; i < s->pending->len; i++)
    {
      Pending *d = s->pending->pdata[i];
      for (guint k = 0; k < d->days->len; k++)
        {
          PendingDay *pd = &g_array_index (d->days, PendingDay, k);
          guint64 *n = g_hash_table_lookup (pending_bytes,
                                            GUINT_TO_POINTER (pd->julian));
          if (!n)
            {
              n = g_new0 (guint64, 1);
              g_hash_table_insert (pending_bytes, GUINT_TO_POINTER (pd->julian), n);
            }
          *n += pd->length;
        }
    }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, pending_bytes);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      guint32 julian = GPOINTER_TO_UINT (k);
      DayStatus status;
      DayHeader hdr;
      if (!day_header (s, julian, &status, &hdr, error))
        return FALSE;
      if (status == DAY_UNAVAILABLE)
        continue;  /* the next run merges it */
      guint64 pend = *(guint64 *) v;
      gboolean due = force || (closed_before && julian < closed_before)
                     || pend >= MAX ((guint64) min_bytes, (guint64) hdr.file_size);
      if (due && !compact_day (s, julian, error))
        return FALSE;
    }
  /* Merged deltas leave this process's view (and memory); their files stay
   * until a later open sweeps them, because under the host's transaction
   * the day files that replace them are not on disk before the commit. */
  g_autoptr (GPtrArray) done = fully_merged (s, error);
  if (!done)
    return FALSE;
  for (guint i = 0; i < done->len; i++)
    {
      Pending *d = done->pdata[i];
      cache_drop (s, d->path);
      /* known_files keeps their identities: still counted */
      g_ptr_array_remove (s->pending, d);
    }
  return TRUE;
}

static guint64
dir_bytes (const char *dir)
{
  guint64 total = 0;
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      GStatBuf st;
      if (g_stat (path, &st) == 0 && S_ISREG (st.st_mode))
        total += (guint64) st.st_size;
    }
  return total;
}

guint64
usage_store_disk_bytes (UsageStore *s)
{
  return dir_bytes (s->days_dir) + dir_bytes (s->pending_dir)
         + dir_bytes (s->ledger_dir) + dir_bytes (s->dir);
}

gboolean
usage_store_error_is_race (const GError *error)
{
  return error && error->domain == NFSUB_ERROR
         && strstr (error->message, RACE_TEXT) != NULL;
}
