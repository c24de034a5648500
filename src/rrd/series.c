/* Subscriber series names and nfsub's checksummed GVariant state files. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <nfsub/plugin.h>
#include <nfsub/rrd.h>

static const char *const service_names[] = { "unknown", "broadband",
                                              "mobile", NULL };
static const char *const access_names[] = { "unknown", "pppoe", "ipoe",
                                             "mobile", NULL };

const char *
nfsub_service_name (guint service)
{
  return service < 3 ? service_names[service] : "unknown";
}

const char *
nfsub_access_name (guint access)
{
  return access < 4 ? access_names[access] : "unknown";
}

static gint
name_index (const char *const *names, const char *name)
{
  if (strcmp (name, "all") == 0)
    return -1;
  for (gint i = 0; names[i]; i++)
    if (strcmp (names[i], name) == 0)
      return i;
  return -2;
}

gboolean
nfsub_series_parse (const char *name, NfsubSeriesSpec *spec, GError **error)
{
  const char *dash = strchr (name, '-');
  gint s = -2, a = -2;
  if (dash)
    {
      g_autofree char *svc = g_strndup (name, (gsize) (dash - name));
      s = name_index (service_names, svc);
      a = name_index (access_names, dash + 1);
    }
  if (s == -2 || a == -2)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                   "series '%s': expected SERVICE-ACCESS with SERVICE "
                   "broadband|mobile|unknown|all and ACCESS "
                   "pppoe|ipoe|mobile|unknown|all", name);
      return FALSE;
    }
  spec->service = s;
  spec->access = a;
  return TRUE;
}

gboolean
nfsub_series_matches (const NfsubSeriesSpec *spec, guint tag_index)
{
  gint s = (gint) (tag_index / 4), a = (gint) (tag_index % 4);
  return (spec->service < 0 || spec->service == s)
         && (spec->access < 0 || spec->access == a);
}

/* File: "NFSUBGV1\n" TYPE "\n" SHA256-HEX "\n" then the serialised data
 * (little-endian GVariant, 8-byte aligned on load). */
#define STATE_MAGIC "NFSUBGV1\n"

gboolean
nfsub_state_save (const char *path, GVariant *state, GError **error)
{
  g_autoptr (GVariant) owned = g_variant_ref_sink (state);
  g_autoptr (GVariant) le = G_BYTE_ORDER == G_LITTLE_ENDIAN
                              ? g_variant_ref (owned)
                              : g_variant_byteswap (owned);
  gsize size = g_variant_get_size (le);
  g_autofree guint8 *data = g_malloc (size ? size : 1);
  g_variant_store (le, data);
  g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                      data, size);
  g_autoptr (GString) out = g_string_new (STATE_MAGIC);
  g_string_append_printf (out, "%s\n%s\n", g_variant_get_type_string (le),
                          sum);
  g_string_append_len (out, (const char *) data, (gssize) size);
  return nfsub_write_file_atomic (path, out->str, out->len, error);
}

GVariant *
nfsub_state_load (const char *path, const char *type, gboolean *missing,
                  GError **error)
{
  *missing = FALSE;
  g_autofree char *text = NULL;
  gsize len;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &text, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          *missing = TRUE;
          return NULL;
        }
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE, "%s",
                   local->message);
      return NULL;
    }
  const char *p = text, *end = text + len;
  if (len < strlen (STATE_MAGIC) || memcmp (p, STATE_MAGIC,
                                            strlen (STATE_MAGIC)) != 0)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "%s: not an nfsub state file (bad magic at byte 0)", path);
      return NULL;
    }
  p += strlen (STATE_MAGIC);
  const char *nl1 = memchr (p, '\n', (gsize) (end - p));
  const char *nl2 = nl1 ? memchr (nl1 + 1, '\n', (gsize) (end - nl1 - 1))
                        : NULL;
  if (!nl2)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "%s: truncated header", path);
      return NULL;
    }
  g_autofree char *file_type = g_strndup (p, (gsize) (nl1 - p));
  g_autofree char *file_sum = g_strndup (nl1 + 1, (gsize) (nl2 - nl1 - 1));
  if (strcmp (file_type, type) != 0)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "%s: state of type %s, expected %s (written by another "
                   "nfsub version?)", path, file_type, type);
      return NULL;
    }
  const char *data = nl2 + 1;
  gsize size = (gsize) (end - data);
  g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                      (const guchar *) data,
                                                      size);
  if (strcmp (sum, file_sum) != 0)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "%s: checksum mismatch at byte %td: the file is damaged",
                   path, data - text);
      return NULL;
    }
  /* g_bytes_new copies into malloc'd memory, aligned for any GVariant. */
  g_autoptr (GBytes) bytes = g_bytes_new (data, size);
  GVariant *v = g_variant_new_from_bytes (G_VARIANT_TYPE (type), bytes,
                                          FALSE);
  if (G_BYTE_ORDER != G_LITTLE_ENDIAN)
    {
      GVariant *swapped = g_variant_byteswap (v);
      g_variant_unref (v);
      v = swapped;
    }
  return g_variant_ref_sink (v);
}
