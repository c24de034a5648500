/* Address helpers for NfsubAddr (host-order halves, IPv4-mapped v4). */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include <nfsub/flow.h>

static void
addr_to_bytes (const NfsubAddr *a, guint8 out[16])
{
  for (int i = 0; i < 8; i++)
    {
      out[i] = (guint8) (a->hi >> (56 - 8 * i));
      out[8 + i] = (guint8) (a->lo >> (56 - 8 * i));
    }
}

const char *
nfsub_addr_to_string (const NfsubAddr *a, char *buf)
{
  if (nfsub_addr_is_v4 (a))
    {
      guint32 v4 = nfsub_addr_v4 (a);
      g_snprintf (buf, NFSUB_ADDR_STRLEN, "%u.%u.%u.%u", v4 >> 24,
                  (v4 >> 16) & 0xff, (v4 >> 8) & 0xff, v4 & 0xff);
      return buf;
    }
  guint8 bytes[16];
  addr_to_bytes (a, bytes);
  if (!inet_ntop (AF_INET6, bytes, buf, NFSUB_ADDR_STRLEN))
    g_strlcpy (buf, "?", NFSUB_ADDR_STRLEN);
  return buf;
}

gboolean
nfsub_addr_parse (const char *text, NfsubAddr *out)
{
  struct in_addr v4;
  struct in6_addr v6;

  if (strchr (text, ':') == NULL)
    {
      if (inet_pton (AF_INET, text, &v4) != 1)
        return FALSE;
      *out = nfsub_addr_from_v4 (ntohl (v4.s_addr));
      return TRUE;
    }
  if (inet_pton (AF_INET6, text, &v6) != 1)
    return FALSE;
  out->hi = out->lo = 0;
  for (int i = 0; i < 8; i++)
    {
      out->hi = (out->hi << 8) | v6.s6_addr[i];
      out->lo = (out->lo << 8) | v6.s6_addr[8 + i];
    }
  return TRUE;
}
