/* usage: per-user daily volumes from RADIUS accounting counters.
 *
 * Interim-Update and Stop records carry a session's cumulative
 * Acct-Input-Octets (IN) and Acct-Output-Octets (OUT), with -Gigawords
 * above 4 GiB.  A session's usage between two of its records is the
 * difference of the counters, spread over the calendar days of the
 * interval in proportion to time (a session crossing midnight gives part
 * to each day).  The first counters of a session whose Start we saw count
 * from the Start; without a Start, from Event time - Acct-Session-Time.
 *
 * What is new in the detail files is read on every `nfsub process` run
 * (from the offsets reached last time); the session table and offsets
 * travel in the RADIUS store's deltas as its extra blob, so they commit
 * with the counters they produced.
 */
#include "config.h"

#include <errno.h>
#include <glob.h>
#include <string.h>

#include <glib/gstdio.h>
#include <nfsub/radius-detail.h>

#include "radius.h"
#include "usage-private.h"

#define STATE_MAGIC "URS1"

/* ---- the session table ---- */

void
usage_radius_state_init (UsageRadiusState *st)
{
  memset (st, 0, sizeof *st);
  st->files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  st->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        usage_radius_session_free);
}

void
usage_radius_state_clear (UsageRadiusState *st)
{
  g_clear_pointer (&st->files, g_hash_table_unref);
  g_clear_pointer (&st->sessions, g_hash_table_unref);
}

void
usage_radius_session_free (gpointer p)
{
  UsageRadiusSession *s = p;
  g_free (s->user);
  g_free (s);
}

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
put_string (GByteArray *b, const char *s)
{
  gsize n = strlen (s);
  put_varint (b, n);
  g_byte_array_append (b, (const guint8 *) s, (guint) n);
}

static char *
get_string (const guint8 **p, const guint8 *end)
{
  guint64 n;
  if (!get_varint (p, end, &n) || n > (guint64) (end - *p))
    return NULL;
  char *s = g_strndup ((const char *) *p, n);
  *p += n;
  return s;
}

/* times can be before 1970 in a broken record: zigzag them */
static guint64
zigzag (gint64 v)
{
  return ((guint64) v << 1) ^ (guint64) (v >> 63);
}

static gint64
unzigzag (guint64 v)
{
  return (gint64) (v >> 1) ^ -(gint64) (v & 1);
}

GBytes *
usage_radius_state_save (const UsageRadiusState *st)
{
  GByteArray *b = g_byte_array_new ();
  g_byte_array_append (b, (const guint8 *) STATE_MAGIC, 4);
  put_varint (b, zigzag (st->newest_event));
  put_varint (b, g_hash_table_size (st->files));
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, st->files);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const UsageRadiusFilePos *fp = v;
      put_string (b, k);
      put_varint (b, fp->offset);
      put_varint (b, fp->line);
      put_varint (b, fp->size);
    }
  put_varint (b, g_hash_table_size (st->sessions));
  g_hash_table_iter_init (&it, st->sessions);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const UsageRadiusSession *s = v;
      put_string (b, k);
      put_string (b, s->user);
      guint8 flags[2] = { s->meta, s->stopped };
      g_byte_array_append (b, flags, 2);
      put_varint (b, zigzag (s->last_time));
      put_varint (b, s->in_octets);
      put_varint (b, s->out_octets);
      put_varint (b, s->in_packets);
      put_varint (b, s->out_packets);
    }
  return g_byte_array_free_to_bytes (b);
}

gboolean
usage_radius_state_load (UsageRadiusState *st, GBytes *blob, const char *where,
                         GError **error)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (blob, &len), *start = p, *end = p + len;
  guint64 n, v;
  if (len < 4 || memcmp (p, STATE_MAGIC, 4) != 0)
    goto bad;
  p += 4;
  if (!get_varint (&p, end, &v))
    goto bad;
  st->newest_event = unzigzag (v);
  if (!get_varint (&p, end, &n))
    goto bad;
  for (guint64 i = 0; i < n; i++)
    {
      char *path = get_string (&p, end);
      UsageRadiusFilePos *fp = g_new0 (UsageRadiusFilePos, 1);
      g_hash_table_insert (st->files, path ? path : g_strdup (""), fp);
      if (!path || !get_varint (&p, end, &fp->offset)
          || !get_varint (&p, end, &fp->line) || !get_varint (&p, end, &fp->size))
        goto bad;
    }
  if (!get_varint (&p, end, &n))
    goto bad;
  for (guint64 i = 0; i < n; i++)
    {
      char *id = get_string (&p, end);
      if (!id)
        goto bad;
      UsageRadiusSession *s = g_new0 (UsageRadiusSession, 1);
      g_hash_table_insert (st->sessions, id, s);
      s->user = get_string (&p, end);
      if (!s->user || end - p < 2)
        goto bad;
      s->meta = p[0];
      s->stopped = p[1];
      p += 2;
      if (!get_varint (&p, end, &v))
        goto bad;
      s->last_time = unzigzag (v);
      if (!get_varint (&p, end, &s->in_octets) || !get_varint (&p, end, &s->out_octets)
          || !get_varint (&p, end, &s->in_packets)
          || !get_varint (&p, end, &s->out_packets))
        goto bad;
    }
  if (p != end)
    goto bad;
  return TRUE;
bad:
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
               "%s: RADIUS session state damaged near byte %" G_GSIZE_FORMAT,
               where, (gsize) (p - start));
  return FALSE;
}

/* ---- spreading a session's usage over calendar days ---- */

void
usage_radius_spread (UsageAccum *acc, UsageDayMap *days, guint32 user,
                     gint64 t0, gint64 t1, const UsageCounters *delta)
{
  if (t1 <= t0)
    {
      usage_accum_add (acc, usage_daymap_julian (days, t1 * 1000), user, delta);
      return;
    }
  /* integer shares, the rounding remainder to the last day: day sums add
   * up to the counters exactly */
  UsageCounters left = *delta;
  double span = (double) (t1 - t0);
  gint64 t = t0;
  while (t < t1)
    {
      const UsageDaySpan *d = usage_daymap_lookup (days, t * 1000);
      gint64 day_end = d->end_ms / 1000;
      guint32 julian = d->julian;
      UsageCounters part;
      if (day_end >= t1)
        part = left;
      else
        {
          double f = (double) (day_end - t) / span;
          part.in_bytes = MIN (left.in_bytes, (guint64) (delta->in_bytes * f));
          part.out_bytes = MIN (left.out_bytes, (guint64) (delta->out_bytes * f));
          part.in_pkts = MIN (left.in_pkts, (guint64) (delta->in_pkts * f));
          part.out_pkts = MIN (left.out_pkts, (guint64) (delta->out_pkts * f));
        }
      left.in_bytes -= part.in_bytes;
      left.out_bytes -= part.out_bytes;
      left.in_pkts -= part.in_pkts;
      left.out_pkts -= part.out_pkts;
      usage_accum_add (acc, julian, user, &part);
      t = day_end;
    }
}

/* ---- records ---- */

static guint
service_of_access (guint access)
{
  return access == NFSUB_ACCESS_MOBILE ? NFSUB_SERVICE_MOBILE
                                       : NFSUB_SERVICE_BROADBAND;
}

static const char *
access_prefix (guint access)
{
  switch (access)
    {
    case NFSUB_ACCESS_PPPOE: return "pppoe";
    case NFSUB_ACCESS_IPOE: return "ipoe";
    case NFSUB_ACCESS_MOBILE: return "mobile";
    default: return "unknown";
    }
}

static char *
session_id_of (const NfsubRadiusRecord *r, const char *user)
{
  const char *unique = nfsub_radius_record_get (r, "Acct-Unique-Session-Id");
  if (unique && *unique)
    return g_strdup (unique);
  const char *nas = nfsub_radius_record_get (r, "NAS-IP-Address");
  const char *sid = nfsub_radius_record_get (r, "Acct-Session-Id");
  return g_strdup_printf ("%s|%s|%s", nas ? nas : "", sid ? sid : "", user);
}

gboolean
usage_radius_record (UsageRadiusImport *im, const NfsubRadiusRecord *r,
                     guint access, GError **error)
{
  UsageRadiusState *st = im->state;
  NfsubRadiusStatus status = nfsub_radius_record_status (r);
  if (status != NFSUB_RADIUS_STATUS_START && status != NFSUB_RADIUS_STATUS_STOP
      && status != NFSUB_RADIUS_STATUS_INTERIM)
    return TRUE;  /* Accounting-On/Off and others carry no session counters */
  const char *name = nfsub_radius_record_get (r, im->user_attribute);
  if (!name || !*name)
    {
      im->no_user++;
      return TRUE;
    }
  g_autofree char *user = g_strdup_printf ("%s:%s", access_prefix (access), name);
  if (strlen (user) > USAGE_KEY_MAX)
    {
      im->no_user++;
      return TRUE;
    }
  gint64 t = nfsub_radius_record_event_time (r, im->tz, error);
  if (t < 0)
    return FALSE;
  if (t > st->newest_event)
    st->newest_event = t;
  g_autofree char *sid = session_id_of (r, user);
  UsageRadiusSession *s = g_hash_table_lookup (st->sessions, sid);
  guint8 meta = usage_meta_pack (service_of_access (access), im->user_class,
                                 access);

  /* a user with a session is a user of that day, with or without bytes:
   * the day's zeros count in the statistics */
  static const UsageCounters none = { 0, 0, 0, 0 };
  if (status == NFSUB_RADIUS_STATUS_START)
    {
      if (!s)
        {
          s = g_new0 (UsageRadiusSession, 1);
          s->user = g_strdup (user);
          s->meta = meta;
          s->last_time = t;
          g_hash_table_insert (st->sessions, g_steal_pointer (&sid), s);
          usage_accum_add (im->acc, usage_daymap_julian (im->days, t * 1000),
                           usage_accum_user (im->acc, s->user, s->meta), &none);
        }
      return TRUE;
    }

  guint64 in, out, in_pk = 0, out_pk = 0;
  gboolean have_in = nfsub_radius_record_get_octets (r, TRUE, &in, error);
  if (!have_in && error && *error)
    return FALSE;
  gboolean have_out = nfsub_radius_record_get_octets (r, FALSE, &out, error);
  if (!have_out && error && *error)
    return FALSE;
  if (!have_in && !have_out)
    {
      im->no_counters++;
      return TRUE;
    }
  if (!have_in)
    in = s ? s->in_octets : 0;
  if (!have_out)
    out = s ? s->out_octets : 0;
  if (!nfsub_radius_record_get_uint64 (r, "Acct-Input-Packets", &in_pk, error)
      && error && *error)
    return FALSE;
  if (!nfsub_radius_record_get_uint64 (r, "Acct-Output-Packets", &out_pk, error)
      && error && *error)
    return FALSE;

  if (!s)
    {
      /* No Start seen: the counters run from the session's start. */
      guint64 session_time = 0;
      if (!nfsub_radius_record_get_uint64 (r, "Acct-Session-Time",
                                           &session_time, error)
          && error && *error)
        return FALSE;
      s = g_new0 (UsageRadiusSession, 1);
      s->user = g_strdup (user);
      s->last_time = t - (gint64) MIN (session_time, (guint64) G_MAXINT32);
      g_hash_table_insert (st->sessions, g_steal_pointer (&sid), s);
    }
  s->meta = meta;
  if (s->stopped || t < s->last_time)
    {
      /* a repeat of a record already counted, or an older one arriving
       * after a newer: its counters are inside the newer ones */
      im->stale++;
      return TRUE;
    }
  UsageCounters d;
  /* counters that went down: the NAS restarted them; count from zero */
  gboolean reset = in < s->in_octets || out < s->out_octets;
  if (reset)
    im->resets++;
  d.in_bytes = reset ? in : in - s->in_octets;
  d.out_bytes = reset ? out : out - s->out_octets;
  d.in_pkts = (reset || in_pk < s->in_packets) ? in_pk : in_pk - s->in_packets;
  d.out_pkts = (reset || out_pk < s->out_packets) ? out_pk : out_pk - s->out_packets;
  if (d.in_bytes || d.out_bytes || d.in_pkts || d.out_pkts)
    {
      guint32 u = usage_accum_user (im->acc, s->user, s->meta);
      usage_radius_spread (im->acc, im->days, u, s->last_time, t, &d);
      im->records_counted++;
    }
  else
    usage_accum_add (im->acc, usage_daymap_julian (im->days, t * 1000),
                     usage_accum_user (im->acc, s->user, s->meta), &none);
  s->last_time = t;
  s->in_octets = in;
  s->out_octets = out;
  s->in_packets = in_pk;
  s->out_packets = out_pk;
  if (status == NFSUB_RADIUS_STATUS_STOP)
    s->stopped = TRUE;  /* kept a while, so a repeated Stop counts nothing */
  return TRUE;
}

/* Forgets sessions silent for `max_age` seconds (no Stop ever came) and
 * stopped ones after a day. */
void
usage_radius_age (UsageRadiusState *st, gint64 max_age)
{
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, st->sessions);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      const UsageRadiusSession *s = v;
      gint64 age = st->newest_event - s->last_time;
      if (age > max_age || (s->stopped && age > 86400))
        g_hash_table_iter_remove (&it);
    }
}

/* ---- detail files ---- */

typedef struct {
  char *path;
  guint access;
} DetailFile;

static void
detail_file_free (gpointer p)
{
  DetailFile *f = p;
  g_free (f->path);
  g_free (f);
}

static void
collect_detail (const char *path, guint access, GPtrArray *out, guint depth)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      if (depth > 4)
        return;
      g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name (d)))
        {
          g_autofree char *full = g_build_filename (path, name, NULL);
          if (g_file_test (full, G_FILE_TEST_IS_DIR))
            collect_detail (full, access, out, depth + 1);
          else if (g_str_has_prefix (name, "detail"))
            {
              DetailFile *f = g_new0 (DetailFile, 1);
              f->path = g_steal_pointer (&full);
              f->access = access;
              g_ptr_array_add (out, f);
            }
        }
    }
  else if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      DetailFile *f = g_new0 (DetailFile, 1);
      f->path = g_strdup (path);
      f->access = access;
      g_ptr_array_add (out, f);
    }
}

static gint
detail_file_cmp (gconstpointer a, gconstpointer b)
{
  const DetailFile *x = *(DetailFile *const *) a, *y = *(DetailFile *const *) b;
  return strcmp (x->path, y->path);
}

/* Entries are paths or glob patterns (as the subscriber plugin takes
 * them, e.g. "radacct/ * /detail-*" without the spaces); a folder stands
 * for the detail* files
 * below it. */
static GPtrArray *
detail_files (const UsageConfig *cfg)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (detail_file_free);
  for (guint i = 0; cfg->radius_detail && cfg->radius_detail[i]; i++)
    {
      glob_t gl;
      if (glob (cfg->radius_detail[i], GLOB_NOSORT, NULL, &gl) != 0)
        continue;  /* nothing there (yet) */
      for (size_t k = 0; k < gl.gl_pathc; k++)
        collect_detail (gl.gl_pathv[k], cfg->radius_detail_access[i], out, 0);
      globfree (&gl);
    }
  g_ptr_array_sort (out, detail_file_cmp);
  /* a file matched twice (a folder and a pattern) is read once */
  for (guint i = 1; i < out->len;)
    if (strcmp (((DetailFile *) out->pdata[i])->path,
                ((DetailFile *) out->pdata[i - 1])->path) == 0)
      g_ptr_array_remove_index (out, i);
    else
      i++;
  return out;
}

static gboolean
import_file (UsageRadiusImport *im, const DetailFile *df, GError **error)
{
  GStatBuf sb;
  if (g_stat (df->path, &sb) != 0)
    return TRUE;  /* rotated away between listing and reading */
  UsageRadiusFilePos *pos = g_hash_table_lookup (im->state->files, df->path);
  if (pos && pos->size == (guint64) sb.st_size)
    return TRUE;  /* nothing new */
  guint64 offset = 0, line = 0;
  if (pos && (guint64) sb.st_size > pos->size)
    offset = pos->offset, line = pos->line;
  /* a file that shrank was replaced: read it again from the start; the
   * sessions' counters keep what was counted from being counted twice */
  g_autoptr (GError) local = NULL;
  g_autoptr (NfsubRadiusDetail) d = nfsub_radius_detail_open (
      df->path, offset, line, NFSUB_RADIUS_DETAIL_FOLLOW, &local);
  if (!d && offset)
    {
      g_clear_error (&local);
      d = nfsub_radius_detail_open (df->path, 0, 0, NFSUB_RADIUS_DETAIL_FOLLOW,
                                    &local);
    }
  if (!d)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  const NfsubRadiusRecord *rec;
  int rc;
  for (;;)
    {
      rc = nfsub_radius_detail_next (d, &rec, &local);
      if (rc == 0)
        break;
      if (rc < 0)
        {
          /* a malformed record is skipped and counted; I/O errors stop us */
          if (nfsub_radius_detail_malformed (d) > im->malformed_seen)
            {
              im->malformed_seen = nfsub_radius_detail_malformed (d);
              im->malformed++;
              if (im->malformed <= 3)
                nfsub_warning (USAGE_PLUGIN, "%s (record skipped)", local->message);
              g_clear_error (&local);
              continue;
            }
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      if (!usage_radius_record (im, rec, df->access, &local))
        {
          im->malformed++;
          if (im->malformed <= 3)
            nfsub_warning (USAGE_PLUGIN, "%s (record skipped)", local->message);
          g_clear_error (&local);
        }
    }
  im->malformed_seen = 0;
  if (!pos)
    {
      pos = g_new0 (UsageRadiusFilePos, 1);
      g_hash_table_insert (im->state->files, g_strdup (df->path), pos);
    }
  pos->offset = nfsub_radius_detail_offset (d);
  pos->line = nfsub_radius_detail_line (d);
  /* the size at the resume point: a record still being written makes the
   * file grow, and we read again next time */
  pos->size = nfsub_radius_detail_is_compressed (d) ? (guint64) sb.st_size
                                                   : pos->offset;
  im->files_read++;
  return TRUE;
}

gboolean
usage_radius_import (UsagePlugin *self, GError **error)
{
  UsageStore *store = usage_plugin_radius_store (self, error);
  if (!store)
    return FALSE;
  g_autoptr (GPtrArray) files = detail_files (&self->cfg);
  g_autoptr (GBytes) blob = NULL;
  if (!usage_store_extra (store, &blob, error))
    return FALSE;
  UsageRadiusState state;
  usage_radius_state_init (&state);
  gboolean ok = FALSE;
  g_autoptr (UsageAccum) acc = usage_accum_new ();
  g_autoptr (UsageDelta) delta = usage_delta_new ();
  g_autoptr (GBytes) saved = NULL;
  UsageRadiusImport im = { 0 };
  im.state = &state;
  im.acc = acc;
  im.days = &self->days;
  im.tz = nfsub_host_timezone (self->host);
  im.user_attribute = self->cfg.radius_user_attribute;
  im.user_class = self->cfg.radius_class;
  if (blob && !usage_radius_state_load (&state, blob, usage_store_dir (store),
                                        error))
    goto out;
  for (guint i = 0; i < files->len; i++)
    if (!import_file (&im, files->pdata[i], error))
      goto out;
  if (im.files_read == 0)
    {
      ok = TRUE;  /* nothing new: no write at all */
      goto out;
    }
  usage_radius_age (&state, (gint64) self->cfg.radius_max_session_days * 86400);
  usage_accum_flush (acc, delta);
  saved = usage_radius_state_save (&state);
  usage_delta_set_extra (delta, saved);
  /* radius deltas carry the whole session table: merge them at once so
   * only the newest copy outlives the next run */
  ok = usage_store_commit (store, delta, error)
       && usage_store_compact (store, 0, 0, TRUE, error);
  if (ok)
    nfsub_info (USAGE_PLUGIN,
                "RADIUS: %u detail files read, %" G_GUINT64_FORMAT
                " records counted, %u sessions open, %" G_GUINT64_FORMAT
                " malformed, %" G_GUINT64_FORMAT " repeated/stale",
                im.files_read, im.records_counted,
                g_hash_table_size (state.sessions), im.malformed, im.stale);
out:
  usage_radius_state_clear (&state);
  return ok;
}
