/* subscriber: bindings from FreeRADIUS detail files.
 *
 * A session is NAS + Acct-Session-Id.  Start opens it; Interim-Update
 * keeps it alive; Stop ends it.  Its addresses (Framed-IP-Address,
 * Framed-IPv6-Prefix or -Address, Delegated-IPv6-Prefix) become bindings
 * from the session's start: the Start's event time, or event time minus
 * Acct-Session-Time when the Start is missing or comes late.  A session
 * without Stop is open until session_max_age after its last record, or
 * until another binding of the same address starts.  Accounting-On/Off
 * from a NAS ends all its open sessions.  The user is the configured
 * attribute (User-Name by default, per rule e.g. Calling-Station-Id),
 * never the session id, so reconnects stay one user.
 */
#include "config.h"

#include <string.h>

#include "subscriber.h"

#define FINGERPRINT_BYTES 1024

static guint64
session_id (const char *nas, const char *sid)
{
  guint64 h = G_GUINT64_CONSTANT (1469598103934665603);
  for (const char *p = nas;; p++)
    {
      h = (h ^ (guint8) *p) * G_GUINT64_CONSTANT (1099511628211);
      if (!*p)
        break;
    }
  for (const char *p = sid; *p; p++)
    h = (h ^ (guint8) *p) * G_GUINT64_CONSTANT (1099511628211);
  h ^= h >> 29;
  return h ? h : 1;
}

static guint32
clamp_time (gint64 t)
{
  if (t <= 0)
    return 0;
  if (t >= (gint64) LEASE_END_OPEN)
    return LEASE_END_OPEN - 1;
  return (guint32) t;
}

static gboolean
record_error (const NfsubRadiusRecord *r, GError **error, const char *fmt,
              ...) G_GNUC_PRINTF (3, 4);

static gboolean
record_error (const NfsubRadiusRecord *r, GError **error, const char *fmt,
              ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
               "%s: line %" G_GUINT64_FORMAT ": %s", r->path, r->line, what);
  return FALSE;
}

/* Is `id` in the binding chain of prefix p?  (Chains are short.) */
static gboolean
chain_has (SubIndex *ix, const LeasePrefix *p, guint32 id)
{
  for (guint32 b = lease_table_latest (ix->table, LEASE_DYNAMIC, p); b;
       b = lease_table_binding (ix->table, b)->next)
    if (b == id)
      return TRUE;
  return FALSE;
}

static void
binding_close (SubIndex *ix, guint32 id, guint32 t)
{
  const LeaseBinding *b = lease_table_binding (ix->table, id);
  if (t < b->end)
    lease_table_set_end (ix->table, id, MAX (b->start, t));
}

static gboolean
accounting_on_off (SubIndex *ix, const char *nas, guint32 t)
{
  guint16 n = sub_index_nas (ix, nas);
  gsize slots = ix->sessions ? (gsize) 1 << ix->session_bits : 0;
  for (gsize i = 0; i < slots; i++)
    {
      Session *s = &ix->sessions[i];
      if (!s->id || s->closed || s->nas != n)
        continue;
      for (int k = 0; k < 3; k++)
        if (s->binding[k]
            && lease_table_binding (ix->table, s->binding[k])->start < t)
          binding_close (ix, s->binding[k], t);
      s->closed = 1;
      s->last_event = MAX (s->last_event, t);
    }
  return TRUE;
}

gboolean
radius_apply_record (SubIndex *ix, const NfsubRadiusRecord *r,
                     GError **error)
{
  SubConfig *c = ix->config;
  NfsubRadiusStatus status = nfsub_radius_record_status (r);
  ix->radius.records++;
  if (status == NFSUB_RADIUS_STATUS_NONE)
    {
      ix->radius.ignored++;
      return TRUE;
    }
  GError *local = NULL;
  gint64 event = nfsub_radius_record_event_time (r, c->radius_timezone,
                                                 &local);
  if (event < 0)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  if (event > now + 86400)
    return record_error (r, error,
                         "event time %" G_GINT64_FORMAT
                         " is more than a day in the future",
                         event);
  guint32 t = clamp_time (event);
  guint64 arrival;
  if (nfsub_radius_record_get_uint64 (r, "Timestamp", &arrival, NULL)
      && (gint64) arrival <= now + 86400)
    ix->newest_arrival = MAX (ix->newest_arrival, (gint64) arrival);
  ix->newest_event = MAX (ix->newest_event, event);

  const char *nas = nfsub_radius_record_get (r, "NAS-IP-Address");
  if (!nas)
    nas = nfsub_radius_record_get (r, "NAS-IPv6-Address");
  if (!nas)
    nas = nfsub_radius_record_get (r, "NAS-Identifier");
  if (!nas)
    nas = "";

  if (status == NFSUB_RADIUS_STATUS_ACCOUNTING_ON
      || status == NFSUB_RADIUS_STATUS_ACCOUNTING_OFF)
    {
      ix->radius.applied++;
      ix->dirty = TRUE;
      return accounting_on_off (ix, nas, t);
    }

  const char *sid = nfsub_radius_record_get (r, "Acct-Session-Id");
  if (!sid || !*sid)
    return record_error (r, error, "accounting record without Acct-Session-Id");

  /* the addresses this record carries */
  static const char *const attrs[3][2] = {
    { "Framed-IP-Address", NULL },
    { "Framed-IPv6-Prefix", "Framed-IPv6-Address" },
    { "Delegated-IPv6-Prefix", NULL },
  };
  LeasePrefix prefixes[3];
  gboolean have[3] = { FALSE, FALSE, FALSE };
  guint n_prefixes = 0;
  LeasePrefix present[3];
  for (int k = 0; k < 3; k++)
    for (int j = 0; j < 2 && !have[k] && attrs[k][j]; j++)
      {
        NfsubAddr a;
        guint plen;
        gboolean got;
        if (k == 0)
          {
            got = nfsub_radius_record_get_addr (r, attrs[k][j], &a, &local);
            /* 255.255.255.254 "NAS assigns", 0.0.0.0: no address */
            if (got && (!nfsub_addr_is_v4 (&a) || nfsub_addr_v4 (&a) == 0
                        || nfsub_addr_v4 (&a) >= 0xfffffffeu))
              got = FALSE;
            plen = 32;
          }
        else if (j == 0)
          {
            got = nfsub_radius_record_get_prefix (r, attrs[k][j], &a, &plen,
                                                  &local);
            if (got && plen >= 96 && nfsub_addr_is_v4 (&a))
              got = FALSE; /* an IPv4 value in an IPv6 attribute */
          }
        else
          {
            got = nfsub_radius_record_get_addr (r, attrs[k][j], &a, &local);
            plen = 128;
          }
        if (local)
          {
            g_propagate_error (error, local);
            return FALSE;
          }
        if (got && lease_prefix_make (&prefixes[k], &a, k == 0 ? 4 : 6, plen))
          {
            have[k] = TRUE;
            present[n_prefixes++] = prefixes[k];
          }
      }

  guint64 session_time = 0;
  gboolean have_session_time = nfsub_radius_record_get_uint64 (
    r, "Acct-Session-Time", &session_time, &local);
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  guint32 start = t;
  if (status != NFSUB_RADIUS_STATUS_START && have_session_time
      && session_time <= t)
    start = t - (guint32) session_time;

  guint64 id = session_id (nas, sid);
  Session *s = sub_index_session (ix, id, FALSE);
  if (!s)
    {
      if (n_prefixes == 0)
        {
          /* nothing to bind (e.g. a Stop of a session we never saw) */
          ix->radius.ignored++;
          return TRUE;
        }
      const char *user_name = nfsub_radius_record_get (r, "User-Name");
      const char *at = user_name ? strrchr (user_name, '@') : NULL;
      NfsubAddr nas_ip;
      gboolean nas_is_ip = nfsub_addr_parse (nas, &nas_ip);
      RuleContext ctx = { SOURCE_RADIUS, at ? at + 1 : NULL,
                          nas_is_ip ? &nas_ip : NULL,
                          nfsub_radius_record_get (r, "NAS-Identifier"),
                          present, n_prefixes };
      RuleResult res = { 0, 0, 0, NULL };
      rules_apply (c->rules, &ctx, &res);
      if (!res.service)
        res.service = c->radius_service;
      if (!res.user_class)
        res.user_class = c->radius_class;
      if (!res.access)
        res.access = c->radius_access;
      if (!res.user_attribute)
        res.user_attribute = c->radius_user;
      const char *name = nfsub_radius_record_get (r, res.user_attribute);
      if (!name || !*name)
        return record_error (r, error, "no %s (the attribute that names the "
                             "user) in this record", res.user_attribute);
      g_autofree char *key = NULL;
      const char *cut = NULL;
      if (c->radius_strip_realm
          && g_ascii_strcasecmp (res.user_attribute, "User-Name") == 0)
        cut = strrchr (name, '@');
      if (cut)
        key = g_strdup_printf ("%s:%.*s", access_name (res.access),
                               (int) (cut - name), name);
      else
        key = g_strdup_printf ("%s:%s", access_name (res.access), name);
      guint32 user = lease_table_intern_user (ix->table, key, res.service,
                                              res.user_class, res.access);
      s = sub_index_session (ix, id, TRUE);
      s->user = user;
      s->nas = sub_index_nas (ix, nas);
      s->last_event = t;
    }
  else if (s->closed)
    {
      /* a duplicate, or a record that arrived after the Stop */
      ix->radius.ignored++;
      return TRUE;
    }

  gboolean stop = status == NFSUB_RADIUS_STATUS_STOP;
  guint32 end = stop ? t : clamp_time ((gint64) t + c->session_max_age);
  for (int k = 0; k < 3; k++)
    {
      if (have[k])
        {
          if (s->binding[k] && !chain_has (ix, &prefixes[k], s->binding[k]))
            {
              /* the session moved to another address */
              binding_close (ix, s->binding[k], t);
              s->binding[k] = lease_table_add (ix->table, LEASE_DYNAMIC,
                                               &prefixes[k], t, end, s->user);
              continue;
            }
          if (!s->binding[k])
            {
              s->binding[k] = lease_table_add (ix->table, LEASE_DYNAMIC,
                                               &prefixes[k], start, end,
                                               s->user);
              continue;
            }
        }
      if (!s->binding[k])
        continue;
      const LeaseBinding *b = lease_table_binding (ix->table, s->binding[k]);
      if (stop)
        lease_table_set_end (ix->table, s->binding[k], MAX (b->start, t));
      else if (end > b->end)
        lease_table_set_end (ix->table, s->binding[k], end);
    }
  if (stop)
    s->closed = 1;
  s->last_event = MAX (s->last_event, t);
  ix->radius.applied++;
  ix->dirty = TRUE;
  return TRUE;
}

/* The first FINGERPRINT_BYTES of the file are recorded so that a rotated
 * copy (detail-X.gz) is recognised as the file already read. */
static void
update_fingerprint (TrackedFile *t)
{
  if (t->fp_len >= FINGERPRINT_BYTES)
    return;
  guint32 got;
  guint64 h = fingerprint_file (t->path, FINGERPRINT_BYTES, &got);
  if (got > 0)
    {
      t->fp_len = got;
      t->fp_hash = h;
    }
}

static gboolean
read_detail_file (SubIndex *ix, TrackedFile *t, const ScannedFile *f,
                  GError **error)
{
  GError *local = NULL;
  g_autoptr (NfsubRadiusDetail) d = nfsub_radius_detail_open (
    f->path, t->offset, t->line, NFSUB_RADIUS_DETAIL_FOLLOW, &local);
  if (!d && t->offset > 0 && local && strstr (local->message, "past the end"))
    {
      nfsub_warning (SUBSCRIBER_PLUGIN,
                     "%s is shorter than the %" G_GUINT64_FORMAT
                     " bytes read before: it was replaced, reading it again",
                     f->path, t->offset);
      g_clear_error (&local);
      t->offset = t->line = 0;
      t->fp_len = 0;
      d = nfsub_radius_detail_open (f->path, 0, 0,
                                    NFSUB_RADIUS_DETAIL_FOLLOW, &local);
    }
  if (!d)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  /* A compressed file is a finished one: no record is still being
   * written, so the FOLLOW flag only matters for plain files. */
  guint64 before = t->offset;
  const NfsubRadiusRecord *r;
  int rc;
  for (;;)
    {
      guint64 malformed = nfsub_radius_detail_malformed (d);
      rc = nfsub_radius_detail_next (d, &r, &local);
      if (rc == 0)
        break;
      if (rc < 0)
        {
          if (nfsub_radius_detail_malformed (d) == malformed)
            {
              /* I/O or decompression: the rest of the file is unreadable */
              if (!sub_index_input_error (ix, &ix->radius, local, error))
                return FALSE;
              local = NULL;
              break;
            }
          if (!sub_index_input_error (ix, &ix->radius, local, error))
            return FALSE;
          local = NULL;
          continue;
        }
      if (!radius_apply_record (ix, r, &local))
        {
          if (!sub_index_input_error (ix, &ix->radius, local, error))
            return FALSE;
          local = NULL;
        }
    }
  t->offset = nfsub_radius_detail_offset (d);
  t->line = nfsub_radius_detail_line (d);
  t->size = f->size;
  t->mtime = f->mtime;
  if (t->offset != before)
    ix->dirty = TRUE;
  ix->radius.files_read++;
  ix->radius.bytes_read += t->offset - before;
  update_fingerprint (t);
  return TRUE;
}

gboolean
radius_source_refresh (SubIndex *ix, GError **error)
{
  g_autoptr (GPtrArray) files = scan_globs (ix->config->radius_detail, error);
  if (!files)
    return FALSE;
  for (guint i = 0; i < files->len; i++)
    {
      const ScannedFile *f = files->pdata[i];
      TrackedFile *t = sub_index_track (ix, SOURCE_RADIUS, f, TRUE);
      if (t->size == f->size && t->mtime == f->mtime)
        continue; /* nothing new */
      if (!read_detail_file (ix, t, f, error))
        return FALSE;
    }
  return TRUE;
}
