/* libFuzzer target for the subscriber plugin's Kea lease6 memfile reader
 * (plugins/subscriber/kea-source.c) and its DUID map reader.
 *
 * Input: one flag byte, then the lease file.  Flags:
 *   bit 0  on_error = skip (else fail)
 *   bit 1  kea_lease_types = pd;na (else pd)
 *   bit 2  kea_unmapped = skip (else duid)
 *   bit 3  the file is "DUID-MAP %%\n LEASES": a kea_duid_map comes first
 *   bit 4  the lease file grows: its first half is read, then the rest is
 *          appended and read from the saved offset, as when Kea appends
 *   bit 5  ... and then the file is rewritten shorter (an LFC run) and
 *          read again from the start
 * The reader only knows files, so the parts go to memfds and the config
 * names them as /proc/self/fd/N.
 *
 * Besides sanitizer reports it traps when an error message does not name
 * the file, when on_error = skip fails on anything but the header, and
 * when the lease table the rows built breaks its own rules: every binding
 * has a known user and start <= end, and a lookup of a key's address at
 * its newest binding's start finds a binding (of that prefix or a longer
 * one that contains the address), the same one lookup_many finds. */
#define _GNU_SOURCE
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lease-check.h"

static void
check_error (const GError *e, const char *lease_path, const char *map_path)
{
  if (!g_str_has_prefix (e->message, lease_path)
      && !(map_path && g_str_has_prefix (e->message, map_path)))
    {
      fprintf (stderr, "error without the file name: %s\n", e->message);
      abort ();
    }
}

/* One refresh; FALSE when it failed (the error is checked). */
static gboolean
refresh (SubIndex *ix, gboolean skip, const char *lease_path,
         const char *map_path)
{
  GError *e = NULL;
  if (kea_source_refresh (ix, &e))
    return TRUE;
  if (!e)
    abort ();
  check_error (e, lease_path, map_path);
  /* with on_error = skip only a missing header may stop the reader */
  if (skip && !strstr (e->message, ": line 1: not a Kea lease6 file")
      && !strstr (e->message, "(kea_duid_map)"))
    {
      fprintf (stderr, "on_error = skip failed: %s\n", e->message);
      abort ();
    }
  g_error_free (e);
  return FALSE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  guint8 flags = data[0];
  const char *body = (const char *) data + 1;
  size_t len = size - 1;

  const char *leases = body;
  size_t leases_len = len;
  int map_fd = -1;
  if (flags & 8)
    {
      const char *sep = memmem (body, len, "%%\n", 3);
      if (sep)
        {
          map_fd = memfd_with ("kea-duid-map", body, (size_t) (sep - body));
          leases = sep + 3;
          leases_len = len - (size_t) (leases - body);
        }
    }
  gboolean grow = (flags & 16) && leases_len >= 2;
  size_t first = grow ? leases_len / 2 : leases_len;
  int lease_fd = memfd_with ("kea-leases6", leases, first);

  char lease_path[64], map_path[64];
  snprintf (lease_path, sizeof lease_path, "/proc/self/fd/%d", lease_fd);
  if (map_fd >= 0)
    snprintf (map_path, sizeof map_path, "/proc/self/fd/%d", map_fd);
  gboolean skip = flags & 1;

  g_autoptr (GString) conf = g_string_new ("[subscriber]\n");
  g_string_append_printf (conf, "kea_leases = %s\n", lease_path);
  if (map_fd >= 0)
    g_string_append_printf (conf, "kea_duid_map = %s\n", map_path);
  g_string_append_printf (conf, "on_error = %s\n", skip ? "skip" : "fail");
  g_string_append_printf (conf, "kea_lease_types = %s\n",
                          (flags & 2) ? "pd;na" : "pd");
  g_string_append_printf (conf, "kea_unmapped = %s\n",
                          (flags & 4) ? "skip" : "duid");
  /* rules the rows go through */
  g_string_append (conf,
                   "rule.biz = source kea pool 2001:db8:ff00::/40 => "
                   "class=enterprise access=pppoe\n"
                   "rule.mob = pool 2001:db8:aa00::/40 => service=mobile\n");
  FuzzIndex fx;
  fuzz_index_open (&fx, conf);
  SubIndex *ix = fx.index;

  const char *mp = map_fd >= 0 ? map_path : NULL;
  if (refresh (ix, skip, lease_path, mp))
    check_table (ix->table);
  if (grow)
    {
      if (write (lease_fd, leases + first, leases_len - first)
          != (ssize_t) (leases_len - first))
        abort ();
      if (refresh (ix, skip, lease_path, mp))
        check_table (ix->table);
      if (flags & 32)
        {
          /* an LFC rewrite: a shorter file, read again from the start */
          if (ftruncate (lease_fd, (off_t) first / 2) != 0)
            abort ();
          if (refresh (ix, skip, lease_path, mp))
            check_table (ix->table);
        }
    }

  fuzz_index_close (&fx);
  close (lease_fd);
  if (map_fd >= 0)
    close (map_fd);
  return 0;
}
