/* nfsim: the assignment sources nfsub reads -- FreeRADIUS detail files
 * (PPPoE and mobile sessions), Kea lease6 memfile + DUID map (IPoE),
 * static CSV (enterprise).  Formats: README.md. */
#include "config.h"

#include "pop.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const wday_names[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const month_names[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

typedef struct {
  int year, month, day, hour, min, sec, wday; /* wday 0 = Monday */
} LocalTime;

/* civil time of an epoch second at a fixed UTC offset (C locale names,
 * independent of the process's TZ and locale) */
static LocalTime
local_time (gint64 epoch_s, gint32 offset_s)
{
  gint64 t = epoch_s + offset_s;
  gint64 days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  gint64 sod = t - days * 86400;
  LocalTime lt;
  lt.hour = sod / 3600;
  lt.min = sod / 60 % 60;
  lt.sec = sod % 60;
  lt.wday = (int) (((days % 7) + 7 + 3) % 7);
  /* days since 1970-01-01 -> civil date (Howard Hinnant's algorithm) */
  gint64 z = days + 719468;
  gint64 era = (z >= 0 ? z : z - 146096) / 146097;
  gint64 doe = z - era * 146097;
  gint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  gint64 y = yoe + era * 400;
  gint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  gint64 mp = (5 * doy + 2) / 153;
  lt.day = doy - (153 * mp + 2) / 5 + 1;
  lt.month = mp < 10 ? mp + 3 : mp - 9;
  lt.year = y + (lt.month <= 2);
  return lt;
}

static void
format_v6_prefix (char *buf, gsize len, guint64 hi, guint8 plen)
{
  guint8 a[16] = { 0 };
  for (int i = 0; i < 8; i++)
    a[i] = hi >> (56 - 8 * i);
  g_autoptr (GInetAddress) ia = g_inet_address_new_from_bytes (a, G_SOCKET_FAMILY_IPV6);
  g_autofree char *s = g_inet_address_to_string (ia);
  g_snprintf (buf, len, "%s/%u", s, plen);
}

static void
format_v6_addr (char *buf, gsize len, guint64 hi)
{
  guint8 a[16] = { 0 };
  for (int i = 0; i < 8; i++)
    a[i] = hi >> (56 - 8 * i);
  g_autoptr (GInetAddress) ia = g_inet_address_new_from_bytes (a, G_SOCKET_FAMILY_IPV6);
  g_autofree char *s = g_inet_address_to_string (ia);
  g_strlcpy (buf, s, len);
}

static void
format_v4 (char *buf, gsize len, guint32 v)
{
  g_snprintf (buf, len, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
}

/* ------------------------------------------------------------ RADIUS */

enum { RAD_START, RAD_INTERIM, RAD_STOP };

typedef struct {
  gint64 arrival_ms;
  gint64 event_ms;
  guint32 binding;
  guint8 type;
  guint32 slots_upto; /* counters: slots [0, slots_upto) */
} RadRecord;

static gint
rad_cmp (gconstpointer a, gconstpointer b)
{
  const RadRecord *x = a, *y = b;
  if (x->arrival_ms != y->arrival_ms)
    return x->arrival_ms < y->arrival_ms ? -1 : 1;
  if (x->binding != y->binding)
    return x->binding < y->binding ? -1 : 1;
  return x->type - y->type;
}

static gboolean
write_file_maybe_gzip (const char *path, const GString *text, gboolean gzip, GError **error)
{
  if (!gzip)
    return g_file_set_contents (path, text->str, text->len, error);
  g_autofree char *gzpath = g_strconcat (path, ".gz", NULL);
  g_autoptr (GFile) f = g_file_new_for_path (gzpath);
  g_autoptr (GFileOutputStream) fos
    = g_file_replace (f, NULL, FALSE, G_FILE_CREATE_NONE, NULL, error);
  if (!fos)
    return FALSE;
  g_autoptr (GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
  g_autoptr (GOutputStream) out = g_converter_output_stream_new (G_OUTPUT_STREAM (fos),
                                                                 G_CONVERTER (z));
  return g_output_stream_write_all (out, text->str, text->len, NULL, NULL, error)
         && g_output_stream_close (out, NULL, error);
}

static void
append_radius_record (Pop *pop, GString *s, const RadRecord *r, const char *abbrev)
{
  NfsimConfig *cfg = pop->cfg;
  Binding *b = &g_array_index (pop->bindings, Binding, r->binding);
  User *u = &g_array_index (pop->users, User, b->user);
  gboolean mobile = u->access == ACCESS_MOBILE;
  gint32 off = cfg->utc_offset_s;
  LocalTime at = local_time (r->arrival_ms / 1000, off);
  LocalTime ev = local_time (r->event_ms / 1000, off);
  static const char *const types[] = { "Start", "Interim-Update", "Stop" };
  char buf[64];

  g_string_append_printf (s, "%s %s %2d %02d:%02d:%02d %d\n", wday_names[at.wday],
                          month_names[at.month - 1], at.day, at.hour, at.min, at.sec, at.year);
  g_string_append_printf (s, "\tAcct-Status-Type = %s\n", types[r->type]);
  g_string_append_printf (s, "\tUser-Name = \"%s\"\n", u->name);
  g_string_append_printf (s, "\tAcct-Session-Id = \"%08x\"\n", b->session_id);
  format_v4 (buf, sizeof buf, b->v4);
  g_string_append_printf (s, "\tFramed-IP-Address = %s\n", buf);
  format_v6_prefix (buf, sizeof buf, b->v6_64, 64);
  g_string_append_printf (s, "\tFramed-IPv6-Prefix = %s\n", buf);
  if (!mobile && cfg->delegated_prefix)
    {
      format_v6_prefix (buf, sizeof buf, b->pd, b->pd_len);
      g_string_append_printf (s, "\tDelegated-IPv6-Prefix = %s\n", buf);
    }
  g_string_append_printf (s, "\tNAS-IP-Address = %s\n", mobile ? "192.0.2.101" : "192.0.2.1");
  g_string_append_printf (s, "\tNAS-Port-Type = %s\n", mobile ? "Wireless-Other" : "Virtual");
  g_string_append (s, "\tService-Type = Framed-User\n");
  if (!mobile)
    g_string_append (s, "\tFramed-Protocol = PPP\n");
  guint32 no = atoi (u->name + 1);
  if (mobile)
    g_string_append_printf (s, "\tCalling-Station-Id = \"8190%08u\"\n", no);
  else
    g_string_append_printf (s, "\tCalling-Station-Id = \"02:00:00:%02x:%02x:%02x\"\n",
                            (no >> 16) & 255, (no >> 8) & 255, no & 255);
  g_string_append_printf (s, "\tEvent-Timestamp = \"%s %2d %d %02d:%02d:%02d %s\"\n",
                          month_names[ev.month - 1], ev.day, ev.year, ev.hour, ev.min,
                          ev.sec, abbrev);
  g_string_append_printf (s, "\tAcct-Delay-Time = %" G_GINT64_FORMAT "\n",
                          (r->arrival_ms - r->event_ms) / 1000);
  if (r->type != RAD_START)
    {
      guint64 c[4] = { 0, 0, 0, 0 };
      for (guint k = 0; k < MIN (r->slots_upto, b->n_slots); k++)
        for (int i = 0; i < 4; i++)
          c[i] += b->slots[k * 4 + i];
      g_string_append_printf (s, "\tAcct-Session-Time = %" G_GINT64_FORMAT "\n",
                              (r->event_ms - b->start_ms) / 1000);
      g_string_append_printf (s, "\tAcct-Input-Octets = %u\n", (guint32) c[0]);
      g_string_append_printf (s, "\tAcct-Output-Octets = %u\n", (guint32) c[1]);
      if (c[0] >> 32)
        g_string_append_printf (s, "\tAcct-Input-Gigawords = %u\n", (guint32) (c[0] >> 32));
      if (c[1] >> 32)
        g_string_append_printf (s, "\tAcct-Output-Gigawords = %u\n", (guint32) (c[1] >> 32));
      g_string_append_printf (s, "\tAcct-Input-Packets = %u\n", (guint32) c[2]);
      g_string_append_printf (s, "\tAcct-Output-Packets = %u\n", (guint32) c[3]);
    }
  if (r->type == RAD_STOP)
    g_string_append_printf (s, "\tAcct-Terminate-Cause = %s\n",
                            mobile ? "Lost-Service"
                            : b->session_id % 3 ? "User-Request" : "Lost-Carrier");
  g_autofree char *uniq_src = g_strdup_printf ("%s/%08x/%s", u->name, b->session_id,
                                               mobile ? "192.0.2.101" : "192.0.2.1");
  g_autofree char *uniq = g_compute_checksum_for_string (G_CHECKSUM_MD5, uniq_src, -1);
  g_string_append_printf (s, "\tAcct-Unique-Session-Id = \"%s\"\n", uniq);
  g_string_append_printf (s, "\tTimestamp = %" G_GINT64_FORMAT "\n\n", r->arrival_ms / 1000);
}

static gboolean
write_radius (Pop *pop, const char *dir, gboolean want_mobile, GError **error)
{
  NfsimConfig *cfg = pop->cfg;
  g_autoptr (GArray) recs = g_array_new (FALSE, FALSE, sizeof (RadRecord));
  gint64 interval_ms = cfg->interim_interval_s * 1000ll;
  for (guint32 bi = 0; bi < pop->bindings->len; bi++)
    {
      Binding *b = &g_array_index (pop->bindings, Binding, bi);
      User *u = &g_array_index (pop->users, User, b->user);
      if (!b->session_id || (u->access == ACCESS_MOBILE) != want_mobile)
        continue;
      NfsimRng rng;
      nfsim_rng_seed_stream (&rng, pop->seed ^ 0x7261646975730000ull, bi);
      RadRecord r = { 0 };
      r.binding = bi;
      r.type = RAD_START;
      r.event_ms = b->start_ms;
      r.arrival_ms = r.event_ms + nfsim_rng_below (&rng, 2000);
      g_array_append_val (recs, r);
      gint64 end = MIN (b->stop_ms, pop->end_ms);
      if (b->start_ms < pop->start_ms && end > pop->start_ms)
        {
          /* started before the simulated days: an Interim-Update at their
           * first second opens the books (counters 0), so that a reader
           * spreading a delta over its interval puts none of the
           * simulated traffic before the start */
          r.type = RAD_INTERIM;
          r.event_ms = pop->start_ms;
          r.slots_upto = 0;
          r.arrival_ms = r.event_ms + nfsim_rng_below (&rng, 1000);
          g_array_append_val (recs, r);
        }
      for (guint32 k = 1;; k++)
        {
          gint64 t = b->start_ms + k * interval_ms;
          if (t >= end)
            break;
          if (t < pop->start_ms)
            continue; /* no interims before the simulated days */
          r.type = RAD_INTERIM;
          r.event_ms = t;
          r.slots_upto = k;
          r.arrival_ms = t + (nfsim_rng_uniform (&rng) < cfg->late_share
                                ? 60000 + nfsim_rng_below (&rng, MAX (cfg->late_max_s, 61) * 1000ull - 60000)
                                : nfsim_rng_below (&rng, 2000));
          g_array_append_val (recs, r);
        }
      if (b->stop_ms == G_MAXINT64 && end > b->start_ms
          && (end - b->start_ms) % interval_ms != 0)
        {
          /* still up at the end: a last Interim-Update at the final
           * second closes the books, so that accounting counts all of
           * the simulated traffic (the ground truth's "in"/"out") */
          r.type = RAD_INTERIM;
          r.event_ms = end - 1000;
          r.slots_upto = G_MAXUINT32;
          r.arrival_ms = r.event_ms + nfsim_rng_below (&rng, 1000);
          g_array_append_val (recs, r);
        }
      if (b->stop_ms != G_MAXINT64)
        {
          r.type = RAD_STOP;
          r.event_ms = b->stop_ms;
          r.slots_upto = G_MAXUINT32;
          r.arrival_ms = b->stop_ms + (nfsim_rng_uniform (&rng) < cfg->late_share
                                         ? 60000 + nfsim_rng_below (&rng, MAX (cfg->late_max_s, 61) * 1000ull - 60000)
                                         : nfsim_rng_below (&rng, 2000));
          g_array_append_val (recs, r);
        }
    }
  g_array_sort (recs, rad_cmp);
  if (recs->len == 0)
    return TRUE;
  g_autofree char *nasdir = g_build_filename (dir, "radacct", want_mobile ? "192.0.2.101" : "192.0.2.1", NULL);
  if (g_mkdir_with_parents (nasdir, 0755) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "nfsim: mkdir %s: %s",
                   nasdir, g_strerror (errno));
      return FALSE;
    }
  /* the zone's abbreviation at the week start, as FreeRADIUS prints it */
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier (cfg->timezone);
  gint interval = g_time_zone_find_interval (tz, G_TIME_TYPE_UNIVERSAL, pop->start_ms / 1000);
  const char *abbrev = interval >= 0 ? g_time_zone_get_abbreviation (tz, interval) : "UTC";
  /* one file per arrival day; all but the last gzipped when asked */
  g_autoptr (GString) text = g_string_sized_new (1 << 20);
  int cur_key = -1;
  g_autofree char *cur_path = NULL;
  for (guint i = 0; i <= recs->len; i++)
    {
      int key = -1;
      LocalTime lt = { 0 };
      if (i < recs->len)
        {
          lt = local_time (g_array_index (recs, RadRecord, i).arrival_ms / 1000, cfg->utc_offset_s);
          key = lt.year * 10000 + lt.month * 100 + lt.day;
        }
      if (key != cur_key && cur_key != -1)
        {
          if (!write_file_maybe_gzip (cur_path, text, cfg->radius_gzip && i < recs->len, error))
            return FALSE;
          g_string_truncate (text, 0);
        }
      if (i == recs->len)
        break;
      if (key != cur_key)
        {
          cur_key = key;
          g_free (cur_path);
          char name[32];
          g_snprintf (name, sizeof name, "detail-%08d", key);
          cur_path = g_build_filename (nasdir, name, NULL);
        }
      append_radius_record (pop, text, &g_array_index (recs, RadRecord, i), abbrev);
    }
  return TRUE;
}

/* ------------------------------------------------------------ Kea */

typedef struct {
  gint64 t_ms;
  guint32 binding;
  gboolean release;
} KeaRow;

static gint
kea_cmp (gconstpointer a, gconstpointer b)
{
  const KeaRow *x = a, *y = b;
  if (x->t_ms != y->t_ms)
    return x->t_ms < y->t_ms ? -1 : 1;
  if (x->release != y->release)
    return x->release ? -1 : 1;
  return x->binding < y->binding ? -1 : x->binding > y->binding;
}

static void
format_duid (char *buf, gsize len, guint64 no)
{
  /* DUID-LL (type 3, hardware type 1) with a made-up MAC */
  g_snprintf (buf, len, "00:03:00:01:%02x:%02x:%02x:%02x:%02x:%02x",
              (guint) (no >> 40) & 255, (guint) (no >> 32) & 255, (guint) (no >> 24) & 255,
              (guint) (no >> 16) & 255, (guint) (no >> 8) & 255, (guint) no & 255);
}

static gboolean
write_kea (Pop *pop, const char *dir, GError **error)
{
  NfsimConfig *cfg = pop->cfg;
  g_autofree char *keadir = g_build_filename (dir, "kea", NULL);
  if (g_mkdir_with_parents (keadir, 0755) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "nfsim: mkdir %s: %s",
                   keadir, g_strerror (errno));
      return FALSE;
    }
  g_autoptr (GArray) rows = g_array_new (FALSE, FALSE, sizeof (KeaRow));
  g_autoptr (GString) map = g_string_new ("duid,user\n");
  char buf[64], duid[64];
  for (guint32 ui = 0; ui < pop->users->len; ui++)
    {
      User *u = &g_array_index (pop->users, User, ui);
      if (u->access != ACCESS_IPOE || u->group == GROUP_ENTERPRISE)
        continue;
      format_duid (duid, sizeof duid, u->duid_no);
      g_string_append_printf (map, "%s,%s\n", duid, u->name);
      for (guint32 k = 0; k < u->bind_count; k++)
        {
          guint32 bi = u->bind_first + k;
          Binding *b = &g_array_index (pop->bindings, Binding, bi);
          gint64 end = MIN (b->stop_ms, pop->end_ms);
          for (gint64 t = b->start_ms; t < end; t += cfg->kea_renew_interval_s * 1000ll)
            {
              KeaRow r = { t, bi, FALSE };
              g_array_append_val (rows, r);
            }
          if (b->stop_ms != G_MAXINT64)
            {
              KeaRow r = { b->stop_ms, bi, TRUE };
              g_array_append_val (rows, r);
            }
        }
    }
  g_array_sort (rows, kea_cmp);
  g_autoptr (GString) csv = g_string_new (
    "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,"
    "fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source\n");
  for (guint i = 0; i < rows->len; i++)
    {
      KeaRow *r = &g_array_index (rows, KeaRow, i);
      Binding *b = &g_array_index (pop->bindings, Binding, r->binding);
      User *u = &g_array_index (pop->users, User, b->user);
      format_v6_addr (buf, sizeof buf, b->pd);
      format_duid (duid, sizeof duid, u->duid_no);
      gint64 t = r->t_ms / 1000;
      guint valid = r->release ? 0 : cfg->kea_valid_lifetime_s;
      guint pref = r->release ? 0 : cfg->kea_valid_lifetime_s / 2;
      g_string_append_printf (csv, "%s,%s,%u,%" G_GINT64_FORMAT ",1,%u,2,%u,%u,0,0,,,0,,,\n",
                              buf, duid, valid, t + valid, pref, b->lease_iaid, b->pd_len);
    }
  g_autofree char *lpath = g_build_filename (keadir, "leases6.csv", NULL);
  g_autofree char *mpath = g_build_filename (keadir, "duid-users.csv", NULL);
  return g_file_set_contents (lpath, csv->str, csv->len, error)
         && g_file_set_contents (mpath, map->str, map->len, error);
}

/* ------------------------------------------------------------ static */

static gboolean
write_static (Pop *pop, const char *dir, GError **error)
{
  g_autoptr (GString) csv = g_string_new ("prefix,user,service,class,access,from,to\n");
  char buf[64];
  for (guint32 ui = 0; ui < pop->users->len; ui++)
    {
      User *u = &g_array_index (pop->users, User, ui);
      if (u->group != GROUP_ENTERPRISE)
        continue;
      Binding *b = &g_array_index (pop->bindings, Binding, u->bind_first);
      const char *access = u->access == ACCESS_IPOE ? "ipoe" : "pppoe";
      format_v4 (buf, sizeof buf, b->v4);
      g_string_append_printf (csv, "%s/%u,%s,broadband,enterprise,%s,,\n", buf, b->v4_len,
                              u->name, access);
      format_v6_prefix (buf, sizeof buf, b->pd, b->pd_len);
      g_string_append_printf (csv, "%s,%s,broadband,enterprise,%s,,\n", buf, u->name, access);
    }
  g_autofree char *path = g_build_filename (dir, "static.csv", NULL);
  return g_file_set_contents (path, csv->str, csv->len, error);
}

gboolean
nfsim_write_assignments (Pop *pop, const char *dir, GError **error)
{
  g_autofree char *conf = g_key_file_to_data (pop->cfg->keyfile, NULL, NULL);
  g_autofree char *confpath = g_build_filename (dir, "nfsim.conf", NULL);
  g_autofree char *raddir = g_build_filename (dir, "radacct", NULL);
  g_autofree char *keadir = g_build_filename (dir, "kea", NULL);
  /* a re-run must not leave the previous run's day files behind */
  g_autoptr (GFile) rd = g_file_new_for_path (raddir);
  if (g_file_test (raddir, G_FILE_TEST_IS_DIR))
    {
      for (int m = 0; m < 2; m++)
        {
          g_autofree char *nas = g_build_filename (raddir, m ? "192.0.2.101" : "192.0.2.1", NULL);
          GDir *d = g_dir_open (nas, 0, NULL);
          if (!d)
            continue;
          const char *n;
          while ((n = g_dir_read_name (d)))
            if (g_str_has_prefix (n, "detail-"))
              {
                g_autofree char *p = g_build_filename (nas, n, NULL);
                g_unlink (p);
              }
          g_dir_close (d);
        }
    }
  return g_file_set_contents (confpath, conf, -1, error)
         && write_radius (pop, dir, FALSE, error)
         && write_radius (pop, dir, TRUE, error)
         && write_kea (pop, dir, error)
         && write_static (pop, dir, error);
}
