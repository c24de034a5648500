/* libFuzzer target for the FreeRADIUS detail reader (src/radius/).
 * The first byte chooses the flags; the rest is the file (plain or gzip).
 * Every record goes through every typed helper. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include <nfsub/plugin.h>
#include <nfsub/radius-detail.h>

static void
exercise (const NfsubRadiusRecord *r, GTimeZone *tz)
{
  static const char *const names[] = {
    "Framed-IP-Address", "Framed-IPv6-Prefix", "Delegated-IPv6-Prefix",
    "Event-Timestamp", "Timestamp", "Acct-Session-Time", "User-Name",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      NfsubAddr a;
      guint plen;
      guint64 v;
      gint64 t;
      GError *e = NULL;
      nfsub_radius_record_get_addr (r, names[i], &a, &e);
      g_clear_error (&e);
      nfsub_radius_record_get_prefix (r, names[i], &a, &plen, &e);
      g_clear_error (&e);
      nfsub_radius_record_get_uint64 (r, names[i], &v, &e);
      g_clear_error (&e);
      nfsub_radius_record_get_time (r, names[i], tz, &t, &e);
      g_clear_error (&e);
    }
  GError *e = NULL;
  guint64 octets;
  nfsub_radius_record_get_octets (r, TRUE, &octets, &e);
  g_clear_error (&e);
  nfsub_radius_record_get_octets (r, FALSE, &octets, &e);
  g_clear_error (&e);
  nfsub_radius_record_event_time (r, tz, &e);
  g_clear_error (&e);
  nfsub_radius_record_arrival_time (r, NULL, &e);
  g_clear_error (&e);
  (void) nfsub_radius_record_status (r);
  for (guint i = 0; i < r->n_attrs; i++)
    if (!r->attrs[i].name || !r->attrs[i].value)
      abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static GTimeZone *tz;
  if (!tz)
    tz = g_time_zone_new_identifier ("Europe/Berlin");
  if (size < 1)
    return 0;
  NfsubRadiusDetailFlags flags = (data[0] & 1) ? NFSUB_RADIUS_DETAIL_FOLLOW
                                               : NFSUB_RADIUS_DETAIL_NONE;
  GBytes *bytes = g_bytes_new (data + 1, size - 1);
  NfsubRadiusDetail *d = nfsub_radius_detail_new_from_bytes ("fuzz", bytes,
                                                             flags);
  const NfsubRadiusRecord *r;
  guint64 last_offset = 0;
  for (int i = 0; i < 100000; i++)
    {
      GError *e = NULL;
      guint64 malformed = nfsub_radius_detail_malformed (d);
      int rc = nfsub_radius_detail_next (d, &r, &e);
      if (rc == 0)
        break;
      if (rc < 0)
        {
          if (!e || !e->message)
            abort ();
          g_error_free (e);
          if (nfsub_radius_detail_malformed (d) == malformed)
            break; /* I/O or gzip error: final */
          continue;
        }
      exercise (r, tz);
      if (r->end_offset < r->offset || r->offset < last_offset)
        abort ();
      last_offset = r->end_offset;
    }
  nfsub_radius_detail_close (d);
  g_bytes_unref (bytes);
  return 0;
}
