/* subscriber: the persistent index of bindings, RADIUS sessions and source
 * file positions (STATE/subscriber/index.bin).
 *
 * nfcapd -x starts one nfsub process per 5-minute file, so each process
 * loads the index, reads only what the sources gained since the last run
 * (by file identity and offset), tags its file, and saves the index.  The
 * snapshot holds plain arrays; the hash tables are rebuilt on load.
 */
#include "config.h"

#include <errno.h>
#include <glob.h>
#include <string.h>
#include <sys/stat.h>

#include <gio/gio.h>

#include "subscriber.h"

#define INDEX_MAGIC "NFSUBIX\n"
#define INDEX_VERSION 3
#define FINGERPRINT_BYTES 1024
/* at most this many bad-record messages per source per run in the log */
#define MAX_LOGGED_ERRORS 10

/* ---- sessions: open addressing on the 64-bit session id ---- */

static inline gsize
session_slot (guint64 id, guint bits)
{
  return (gsize) ((id * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15)) >> (64 - bits));
}

static void
sessions_grow (SubIndex *ix)
{
  Session *old = ix->sessions;
  gsize old_n = ix->sessions ? (gsize) 1 << ix->session_bits : 0;
  ix->session_bits = ix->sessions ? ix->session_bits + 1 : 10;
  gsize n = (gsize) 1 << ix->session_bits;
  ix->sessions = g_new0 (Session, n);
  for (gsize i = 0; i < old_n; i++)
    if (old[i].id)
      {
        gsize j = session_slot (old[i].id, ix->session_bits);
        while (ix->sessions[j].id)
          j = (j + 1) & (n - 1);
        ix->sessions[j] = old[i];
      }
  g_free (old);
}

Session *
sub_index_session (SubIndex *ix, guint64 id, gboolean create)
{
  if (id == 0)
    id = 1; /* 0 marks empty slots */
  if (!ix->sessions)
    {
      if (!create)
        return NULL;
      sessions_grow (ix);
    }
  gsize mask = ((gsize) 1 << ix->session_bits) - 1;
  for (gsize j = session_slot (id, ix->session_bits);; j = (j + 1) & mask)
    {
      Session *s = &ix->sessions[j];
      if (s->id == id)
        return s;
      if (s->id == 0)
        {
          if (!create)
            return NULL;
          if ((ix->n_sessions + 1) * 10 > (mask + 1) * 7)
            {
              sessions_grow (ix);
              return sub_index_session (ix, id, create);
            }
          memset (s, 0, sizeof *s);
          s->id = id;
          ix->n_sessions++;
          return s;
        }
    }
}

guint16
sub_index_nas (SubIndex *ix, const char *name)
{
  gpointer v = g_hash_table_lookup (ix->nas_index, name);
  if (v)
    return (guint16) (GPOINTER_TO_UINT (v) - 1);
  if (ix->nas_names->len >= G_MAXUINT16)
    return G_MAXUINT16; /* absurdly many NASes share the last slot */
  char *copy = g_strdup (name);
  g_ptr_array_add (ix->nas_names, copy);
  g_hash_table_insert (ix->nas_index, copy,
                       GUINT_TO_POINTER (ix->nas_names->len));
  return (guint16) (ix->nas_names->len - 1);
}

/* ---- life ---- */

static void
tracked_file_free (gpointer p)
{
  TrackedFile *f = p;
  g_free (f->path);
  g_free (f);
}

static void
index_reset (SubIndex *ix)
{
  lease_table_free (ix->table);
  ix->table = lease_table_new ();
  g_clear_pointer (&ix->sessions, g_free);
  ix->session_bits = 0;
  ix->n_sessions = 0;
  g_ptr_array_set_size (ix->nas_names, 0);
  g_hash_table_remove_all (ix->nas_index);
  g_ptr_array_set_size (ix->files, 0);
  ix->newest_event = ix->newest_arrival = 0;
  ix->n_static = 0;
}

SubIndex *
sub_index_new (SubConfig *config)
{
  SubIndex *ix = g_new0 (SubIndex, 1);
  ix->config = config;
  ix->nas_names = g_ptr_array_new ();
  ix->nas_index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         NULL);
  ix->files = g_ptr_array_new_with_free_func (tracked_file_free);
  ix->duid_map.names = g_string_new (NULL);
  ix->kea_pending = g_array_new (FALSE, FALSE, sizeof (guint32));
  index_reset (ix);
  return ix;
}

void
sub_index_free (SubIndex *ix)
{
  if (!ix)
    return;
  lease_table_free (ix->table);
  g_free (ix->sessions);
  g_ptr_array_unref (ix->nas_names);
  g_hash_table_unref (ix->nas_index);
  g_ptr_array_unref (ix->files);
  g_free (ix->duid_map.slots);
  g_string_free (ix->duid_map.names, TRUE);
  g_array_unref (ix->kea_pending);
  g_free (ix);
}

/* ---- bad input ---- */

gboolean
sub_index_input_error (SubIndex *ix, SourceStats *stats, GError *error,
                       GError **out)
{
  if (!ix->config->skip_errors)
    {
      g_propagate_error (out, error);
      return FALSE;
    }
  stats->malformed++;
  if (ix->errors_logged < MAX_LOGGED_ERRORS)
    nfsub_warning (SUBSCRIBER_PLUGIN, "skipped: %s", error->message);
  else if (ix->errors_logged == MAX_LOGGED_ERRORS)
    nfsub_warning (SUBSCRIBER_PLUGIN,
                   "more bad records skipped (see the counts at the end)");
  ix->errors_logged++;
  g_error_free (error);
  return TRUE;
}

/* ---- source files ---- */

void
scanned_file_free (gpointer p)
{
  ScannedFile *f = p;
  g_free (f->path);
  g_free (f);
}

static gint
compare_scanned (gconstpointer a, gconstpointer b)
{
  const ScannedFile *x = *(ScannedFile *const *) a;
  const ScannedFile *y = *(ScannedFile *const *) b;
  return strcmp (x->path, y->path);
}

GPtrArray *
scan_globs (char **globs, GError **error)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (scanned_file_free);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (char **g = globs; g && *g; g++)
    {
      glob_t gl;
      int rc = glob (*g, GLOB_NOSORT, NULL, &gl);
      if (rc == GLOB_NOMATCH)
        continue;
      if (rc != 0)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
                       "%s: cannot list files (glob error %d)", *g, rc);
          g_ptr_array_unref (out);
          return NULL;
        }
      for (size_t i = 0; i < gl.gl_pathc; i++)
        {
          struct stat st;
          const char *p = gl.gl_pathv[i];
          if (stat (p, &st) == 0 && S_ISDIR (st.st_mode))
            {
              /* Reading nothing from it would tag part of the traffic
               * and call the rest unattributed, without a word. */
              g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                           "%s is a directory: name the files in it "
                           "(a pattern such as %s/*)", p, p);
              globfree (&gl);
              g_ptr_array_unref (out);
              return NULL;
            }
          if (stat (p, &st) != 0 || !S_ISREG (st.st_mode))
            continue;
          ScannedFile *f = g_new0 (ScannedFile, 1);
          f->path = g_strdup (p);
          if (!g_hash_table_add (seen, f->path))
            {
              scanned_file_free (f);
              continue;
            }
          f->dev = (guint64) st.st_dev;
          f->ino = (guint64) st.st_ino;
          f->size = (guint64) st.st_size;
          f->mtime = (gint64) st.st_mtim.tv_sec * 1000000000
                     + st.st_mtim.tv_nsec;
          g_ptr_array_add (out, f);
        }
      globfree (&gl);
    }
  /* Name order is time order for rotated files (detail-YYYYMMDD). */
  g_ptr_array_sort (out, compare_scanned);
  return out;
}

/* The first `len` uncompressed bytes (gzip is decompressed); NULL when
 * the file cannot be read. */
static guint8 *
read_head (const char *path, guint32 len, guint32 *got)
{
  *got = 0;
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileInputStream) raw = g_file_read (file, NULL, NULL);
  if (!raw)
    return NULL;
  guint8 magic[2];
  gsize n = 0;
  if (!g_input_stream_read_all (G_INPUT_STREAM (raw), magic, 2, &n, NULL,
                                NULL)
      || !g_seekable_seek (G_SEEKABLE (raw), 0, G_SEEK_SET, NULL, NULL))
    return NULL;
  g_autoptr (GInputStream) in = NULL;
  if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
    {
      g_autoptr (GZlibDecompressor) z
        = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
      in = g_converter_input_stream_new (G_INPUT_STREAM (raw),
                                         G_CONVERTER (z));
    }
  else
    in = g_object_ref (G_INPUT_STREAM (raw));
  guint8 *buf = g_malloc (len);
  gsize total = 0;
  /* a damaged gzip tail is the reader's business; keep what decodes */
  g_input_stream_read_all (in, buf, len, &total, NULL, NULL);
  *got = (guint32) total;
  return buf;
}

static guint64 hash_bytes (const guint8 *p, gsize n);

guint64
fingerprint_file (const char *path, guint32 len, guint32 *got)
{
  g_autofree guint8 *buf = read_head (path, len, got);
  return buf ? hash_bytes (buf, *got) : 0;
}

/* The tracker of a scanned file: the same inode, else (by_content) a file
 * whose first bytes match, e.g. detail-20240603 after logrotate made it
 * detail-20240603.gz; else a new tracker at offset 0. */
TrackedFile *
sub_index_track (SubIndex *ix, SourceKind kind, const ScannedFile *f,
                 gboolean by_content)
{
  for (guint i = 0; i < ix->files->len; i++)
    {
      TrackedFile *t = ix->files->pdata[i];
      if (t->kind == kind && t->dev == f->dev && t->ino == f->ino
          && !t->seen)
        {
          if (strcmp (t->path, f->path) != 0)
            {
              g_free (t->path);
              t->path = g_strdup (f->path);
            }
          t->seen = TRUE;
          if (t->fp_len && (t->size != f->size || t->mtime != f->mtime))
            {
              /* an inode can be reused by a new file */
              guint32 got;
              guint64 h = fingerprint_file (f->path, t->fp_len, &got);
              if (got != t->fp_len || h != t->fp_hash)
                {
                  nfsub_info (SUBSCRIBER_PLUGIN,
                              "%s: new content: reading it from the start",
                              f->path);
                  t->offset = t->line = 0;
                  t->fp_len = 0;
                  t->size = G_MAXUINT64;
                }
            }
          return t;
        }
    }
  if (by_content)
    {
      guint32 got = 0;
      g_autofree guint8 *head = read_head (f->path, FINGERPRINT_BYTES, &got);
      for (guint i = 0; head && i < ix->files->len; i++)
        {
          TrackedFile *t = ix->files->pdata[i];
          if (t->kind != kind || t->fp_len == 0 || t->fp_len > got
              || hash_bytes (head, t->fp_len) != t->fp_hash)
            continue;
          nfsub_info (SUBSCRIBER_PLUGIN,
                      "%s holds the content of %s: continuing at byte %"
                      G_GUINT64_FORMAT, f->path, t->path, t->offset);
          if (t->seen)
            {
              /* both are still there (a compressed copy beside the
               * original): the copy starts where the original is */
              TrackedFile *copy = g_new0 (TrackedFile, 1);
              *copy = *t;
              copy->path = g_strdup (f->path);
              g_ptr_array_add (ix->files, copy);
              t = copy;
            }
          else
            {
              g_free (t->path);
              t->path = g_strdup (f->path);
            }
          t->dev = f->dev;
          t->ino = f->ino;
          t->size = G_MAXUINT64; /* force a read */
          t->seen = TRUE;
          return t;
        }
    }
  TrackedFile *t = g_new0 (TrackedFile, 1);
  t->kind = kind;
  t->path = g_strdup (f->path);
  t->dev = f->dev;
  t->ino = f->ino;
  t->size = G_MAXUINT64;
  t->seen = TRUE;
  g_ptr_array_add (ix->files, t);
  return t;
}

gboolean
sub_index_refresh (SubIndex *ix, GError **error)
{
  for (guint i = 0; i < ix->files->len; i++)
    ((TrackedFile *) ix->files->pdata[i])->seen = FALSE;
  ix->errors_logged = 0;
  if (ix->config->radius_detail[0] && !radius_source_refresh (ix, error))
    return FALSE;
  if (ix->config->kea_leases[0] && !kea_source_refresh (ix, error))
    return FALSE;
  if (!static_source_load (ix, error))
    return FALSE;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  for (guint i = 0; i < ix->files->len; i++)
    {
      TrackedFile *t = ix->files->pdata[i];
      if (t->seen)
        t->gone_since = 0;
      else if (t->gone_since == 0)
        t->gone_since = now;
    }
  return TRUE;
}

/* ---- snapshot ---- */

typedef struct {
  const guint8 *p, *end;
  gboolean bad;
} Reader;

static void
put (GByteArray *b, const void *v, gsize n)
{
  g_byte_array_append (b, v, (guint) n);
}
#define PUT(b, v) put ((b), &(v), sizeof (v))

static void
put_str (GByteArray *b, const char *s)
{
  guint32 n = (guint32) strlen (s);
  PUT (b, n);
  put (b, s, n);
}

static gboolean
get (Reader *r, void *out, gsize n)
{
  if (r->bad || (gsize) (r->end - r->p) < n)
    {
      r->bad = TRUE;
      memset (out, 0, n);
      return FALSE;
    }
  memcpy (out, r->p, n);
  r->p += n;
  return TRUE;
}
#define GET(r, v) get ((r), &(v), sizeof (v))

static char *
get_str (Reader *r)
{
  guint32 n;
  if (!GET (r, n) || (gsize) (r->end - r->p) < n)
    {
      r->bad = TRUE;
      return g_strdup ("");
    }
  char *s = g_strndup ((const char *) r->p, n);
  r->p += n;
  return s;
}

static guint64
hash_bytes (const guint8 *p, gsize n)
{
  guint64 h = G_GUINT64_CONSTANT (1469598103934665603);
  for (gsize i = 0; i < n; i++)
    h = (h ^ p[i]) * G_GUINT64_CONSTANT (1099511628211);
  return h;
}

typedef struct {
  guint8 family, plen;
  guint64 hi, lo;
  guint32 start, end, user;
} __attribute__ ((packed)) SavedBinding;

typedef struct {
  SubIndex *ix;
  GArray *out;      /* SavedBinding, each chain oldest first */
  guint32 *new_id;  /* old dynamic id -> new id (0: dropped) */
  guint32 *user_map;
  guint32 n_users;
  guint32 cutoff;
  guint32 keys[2][129]; /* kept keys per family (v4, v6) and length */
} SaveWalk;

static void
save_chain (const LeasePrefix *p, LeaseKind kind, guint32 head, gpointer data)
{
  SaveWalk *w = data;
  if (kind != LEASE_DYNAMIC)
    return;
  guint32 ids[64];
  guint n = 0;
  GArray *overflow = NULL;
  for (guint32 id = head; id;
       id = lease_table_binding (w->ix->table, id)->next)
    {
      if (n < G_N_ELEMENTS (ids))
        ids[n++] = id;
      else
        {
          if (!overflow)
            {
              overflow = g_array_new (FALSE, FALSE, sizeof (guint32));
              g_array_append_vals (overflow, ids, n);
            }
          g_array_append_val (overflow, id);
        }
    }
  const guint32 *all = overflow ? (guint32 *) overflow->data : ids;
  guint total = overflow ? overflow->len : n;
  guint kept_before = w->out->len;
  for (guint k = total; k-- > 0;)
    {
      const LeaseBinding *b = lease_table_binding (w->ix->table, all[k]);
      if (b->end != LEASE_END_OPEN && b->end < w->cutoff)
        continue;
      if (!w->user_map[b->user])
        w->user_map[b->user] = ++w->n_users;
      SavedBinding s = { p->family, p->plen, p->addr.hi, p->addr.lo,
                         b->start, b->end, w->user_map[b->user] };
      g_array_append_val (w->out, s);
      w->new_id[all[k]] = w->out->len;
    }
  if (w->out->len > kept_before)
    w->keys[p->family == 4 ? 0 : 1][p->plen]++;
  if (overflow)
    g_array_unref (overflow);
}

gboolean
sub_index_save (SubIndex *ix, const char *path, GError **error)
{
  SubConfig *c = ix->config;
  g_autoptr (GByteArray) b = g_byte_array_sized_new (1 << 20);
  put (b, INDEX_MAGIC, 8);
  guint32 version = INDEX_VERSION;
  PUT (b, version);
  PUT (b, c->fingerprint);
  PUT (b, ix->newest_event);
  PUT (b, ix->newest_arrival);

  /* Drop what ended before the retention window: flows that old are
   * not processed any more (backfills beyond it need a rebuild). */
  gint64 cut = ix->newest_event - (gint64) c->retention;
  guint32 cutoff = cut > 0 ? (guint32) cut : 0;
  SaveWalk w = { ix, g_array_new (FALSE, FALSE, sizeof (SavedBinding)),
                 g_new0 (guint32, lease_table_n_bindings (ix->table) + 2),
                 g_new0 (guint32, lease_table_n_users (ix->table) + 1), 0,
                 cutoff, { { 0 } } };
  lease_table_foreach (ix->table, save_chain, &w);

  /* users still referenced, in their new order */
  g_autofree guint32 *order = g_new0 (guint32, w.n_users + 1);
  for (guint32 u = 1; u <= lease_table_n_users (ix->table); u++)
    if (w.user_map[u])
      order[w.user_map[u]] = u;
  PUT (b, w.n_users);
  for (guint32 i = 1; i <= w.n_users; i++)
    {
      const LeaseUser *u = lease_table_user (ix->table, order[i]);
      put (b, &u->service, 3);
      put_str (b, u->key);
    }

  /* how many keys of each length: the loader sizes its tables first */
  guint32 n_groups = 0;
  for (int f = 0; f < 2; f++)
    for (int l = 0; l <= 128; l++)
      n_groups += w.keys[f][l] != 0;
  PUT (b, n_groups);
  for (int f = 0; f < 2; f++)
    for (int l = 0; l <= 128; l++)
      if (w.keys[f][l])
        {
          guint8 family = f == 0 ? 4 : 6, plen = (guint8) l;
          PUT (b, family);
          PUT (b, plen);
          PUT (b, w.keys[f][l]);
        }
  guint32 n = w.out->len;
  PUT (b, n);
  put (b, w.out->data, (gsize) n * sizeof (SavedBinding));

  PUT (b, ix->nas_names->len);
  for (guint i = 0; i < ix->nas_names->len; i++)
    put_str (b, ix->nas_names->pdata[i]);

  /* Sessions: keep what may still get records (open ones, and closed ones
   * for a day so that late duplicates find them). */
  gint64 session_cut = ix->newest_event - MAX ((gint64) 86400,
                                               4 * (gint64) c->grace);
  guint32 n_sessions = 0;
  gsize count_at = b->len;
  PUT (b, n_sessions);
  gsize slots = ix->sessions ? (gsize) 1 << ix->session_bits : 0;
  for (gsize i = 0; i < slots; i++)
    {
      Session s = ix->sessions[i];
      if (!s.id)
        continue;
      gint64 alive_until = s.closed ? s.last_event
                                    : (gint64) s.last_event + c->session_max_age;
      if (alive_until < session_cut)
        continue;
      gboolean any = FALSE;
      for (int k = 0; k < 3; k++)
        {
          s.binding[k] = s.binding[k] ? w.new_id[s.binding[k]] : 0;
          any |= s.binding[k] != 0;
        }
      if (!any)
        continue;
      s.user = w.user_map[s.user];
      if (!s.user)
        continue;
      PUT (b, s);
      n_sessions++;
    }
  memcpy (b->data + count_at, &n_sessions, sizeof n_sessions);

  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  guint32 n_files = 0;
  count_at = b->len;
  PUT (b, n_files);
  for (guint i = 0; i < ix->files->len; i++)
    {
      TrackedFile *t = ix->files->pdata[i];
      /* a file gone from the scans for longer than the retention */
      if (t->gone_since && t->gone_since + (gint64) c->retention < now)
        continue;
      guint8 kind = (guint8) t->kind;
      PUT (b, kind);
      put_str (b, t->path);
      PUT (b, t->dev);
      PUT (b, t->ino);
      PUT (b, t->size);
      PUT (b, t->mtime);
      PUT (b, t->offset);
      PUT (b, t->line);
      PUT (b, t->fp_len);
      PUT (b, t->fp_hash);
      PUT (b, t->gone_since);
      n_files++;
    }
  memcpy (b->data + count_at, &n_files, sizeof n_files);

  guint64 check = hash_bytes (b->data, b->len);
  PUT (b, check);

  g_array_unref (w.out);
  g_free (w.new_id);
  g_free (w.user_map);
  return nfsub_write_file_atomic (path, b->data, b->len, error);
}

static gboolean
index_parse (SubIndex *ix, const guint8 *data, gsize len, const char **why)
{
  SubConfig *c = ix->config;
  if (len < 8 + 4 + 8 + 8 || memcmp (data, INDEX_MAGIC, 8) != 0)
    {
      *why = "not an nfsub subscriber index";
      return FALSE;
    }
  guint64 check;
  memcpy (&check, data + len - 8, 8);
  if (hash_bytes (data, len - 8) != check)
    {
      *why = "checksum mismatch (damaged)";
      return FALSE;
    }
  Reader r = { data + 8, data + len - 8, FALSE };
  guint32 version;
  guint64 fingerprint;
  GET (&r, version);
  if (version != INDEX_VERSION)
    {
      *why = "written by another index version";
      return FALSE;
    }
  GET (&r, fingerprint);
  if (fingerprint != c->fingerprint)
    {
      *why = "the [subscriber] configuration changed";
      return FALSE;
    }
  GET (&r, ix->newest_event);
  GET (&r, ix->newest_arrival);

  guint32 n_users;
  GET (&r, n_users);
  for (guint32 i = 0; i < n_users && !r.bad; i++)
    {
      guint8 attrs[3];
      get (&r, attrs, 3);
      g_autofree char *key = get_str (&r);
      if (lease_table_intern_user (ix->table, key, attrs[0], attrs[1],
                                   attrs[2])
          != i + 1)
        r.bad = TRUE;
    }
  guint32 n_groups;
  GET (&r, n_groups);
  for (guint32 i = 0; i < n_groups && !r.bad; i++)
    {
      guint8 family, plen;
      guint32 keys;
      GET (&r, family);
      GET (&r, plen);
      GET (&r, keys);
      if ((family != 4 && family != 6) || plen > (family == 4 ? 32 : 128)
          || keys > (guint32) (len / sizeof (SavedBinding)))
        {
          *why = "bad table header";
          return FALSE;
        }
      lease_table_reserve (ix->table, LEASE_DYNAMIC, family, plen, keys);
    }
  guint32 n_bindings;
  GET (&r, n_bindings);
  if (r.bad || (gsize) (r.end - r.p) / sizeof (SavedBinding) < n_bindings)
    {
      *why = "truncated";
      return FALSE;
    }
  /* room for what this run adds too */
  lease_table_reserve_bindings (ix->table, n_bindings + n_bindings / 16 + 1024);
  for (guint32 i = 0; i < n_bindings; i++)
    {
      SavedBinding s;
      GET (&r, s);
      LeasePrefix p;
      NfsubAddr a = { s.hi, s.lo };
      if (!lease_prefix_make (&p, &a, s.family, s.plen) || s.user == 0
          || s.user > n_users)
        {
          *why = "bad binding record";
          return FALSE;
        }
      lease_table_add (ix->table, LEASE_DYNAMIC, &p, s.start, s.end, s.user);
    }
  guint32 n_nas;
  GET (&r, n_nas);
  for (guint32 i = 0; i < n_nas && !r.bad; i++)
    {
      g_autofree char *name = get_str (&r);
      sub_index_nas (ix, name);
    }
  guint32 n_sessions;
  GET (&r, n_sessions);
  if (n_sessions > len / sizeof (Session))
    {
      *why = "bad session count";
      return FALSE;
    }
  /* sessions come in hash order: size the table for all of them first */
  while (!ix->sessions
         || ((gsize) 1 << ix->session_bits) * 7 < (gsize) n_sessions * 10)
    sessions_grow (ix);
  for (guint32 i = 0; i < n_sessions && !r.bad; i++)
    {
      Session s;
      if (!GET (&r, s))
        break;
      for (int k = 0; k < 3; k++)
        if (s.binding[k] > n_bindings)
          r.bad = TRUE;
      if (s.user == 0 || s.user > n_users)
        r.bad = TRUE;
      if (r.bad)
        break;
      *sub_index_session (ix, s.id, TRUE) = s;
    }
  guint32 n_files;
  GET (&r, n_files);
  for (guint32 i = 0; i < n_files && !r.bad; i++)
    {
      TrackedFile *t = g_new0 (TrackedFile, 1);
      guint8 kind;
      GET (&r, kind);
      t->kind = (SourceKind) kind;
      t->path = get_str (&r);
      GET (&r, t->dev);
      GET (&r, t->ino);
      GET (&r, t->size);
      GET (&r, t->mtime);
      GET (&r, t->offset);
      GET (&r, t->line);
      GET (&r, t->fp_len);
      GET (&r, t->fp_hash);
      GET (&r, t->gone_since);
      g_ptr_array_add (ix->files, t);
    }
  if (r.bad || r.p != r.end)
    {
      *why = "malformed";
      return FALSE;
    }
  return TRUE;
}

gboolean
sub_index_load (SubIndex *ix, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &data, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          nfsub_info (SUBSCRIBER_PLUGIN,
                      "no index yet (%s): reading every source from the start",
                      path);
          return TRUE;
        }
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE, "%s: %s", path,
                   local->message);
      return FALSE;
    }
  const char *why = NULL;
  if (!index_parse (ix, (const guint8 *) data, len, &why))
    {
      nfsub_warning (SUBSCRIBER_PLUGIN,
                     "%s: %s: rebuilding it from every source", path, why);
      index_reset (ix);
      ix->dirty = TRUE;
    }
  return TRUE;
}
