/* libFuzzer target for the subscriber plugin's static assignments reader
 * (plugins/subscriber/static-source.c):
 *   prefix,user,service,class,access[,from,to]
 *
 * Input: one flag byte, then the file.  Flags:
 *   bit 0  on_error = skip (else fail)
 *   bit 1  times without a zone are Europe/Berlin (else UTC)
 *   bit 2  the input is "FILE1 %%\n FILE2": two static files
 * Each input is loaded twice into one index, as every nfsub process
 * re-reads the static files: the second load must drop the first one's
 * entries and give the same count.
 *
 * Besides sanitizer reports it traps when an error message does not name
 * the file, when on_error = skip fails at all (the files are readable),
 * when the two loads disagree, and when the lease table breaks its own
 * rules (see lease-check.h). */
#define _GNU_SOURCE
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lease-check.h"

/* One load; FALSE when it failed (the error is checked). */
static gboolean
load (SubIndex *ix, gboolean skip, char **paths)
{
  GError *e = NULL;
  if (static_source_load (ix, &e))
    return TRUE;
  if (!e)
    abort ();
  gboolean named = FALSE;
  for (char **p = paths; *p; p++)
    named = named || g_str_has_prefix (e->message, *p);
  if (!named)
    {
      fprintf (stderr, "error without the file name: %s\n", e->message);
      abort ();
    }
  if (skip)
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

  int fds[2] = { -1, -1 };
  const char *sep = (flags & 4) ? memmem (body, len, "%%\n", 3) : NULL;
  if (sep)
    {
      fds[0] = memfd_with ("static-1", body, (size_t) (sep - body));
      fds[1] = memfd_with ("static-2", sep + 3, len - (size_t) (sep + 3 - body));
    }
  else
    fds[0] = memfd_with ("static", body, len);

  char path_buf[2][64];
  char *paths[3] = { NULL, NULL, NULL };
  g_autoptr (GString) conf = g_string_new ("[subscriber]\nstatic = ");
  for (int i = 0; i < 2 && fds[i] >= 0; i++)
    {
      snprintf (path_buf[i], sizeof path_buf[i], "/proc/self/fd/%d", fds[i]);
      paths[i] = path_buf[i];
      g_string_append_printf (conf, "%s%s", i ? ";" : "", paths[i]);
    }
  gboolean skip = flags & 1;
  g_string_append_printf (conf, "\non_error = %s\n", skip ? "skip" : "fail");
  g_string_append_printf (conf, "radius_timezone = %s\n",
                          (flags & 2) ? "Europe/Berlin" : "UTC");
  /* rules the entries go through */
  g_string_append (conf,
                   "rule.biz = source static pool 203.0.113.0/24 => "
                   "class=personal access=pppoe\n"
                   "rule.v6 = pool 2001:db8::/32 => service=mobile\n");
  FuzzIndex fx;
  fuzz_index_open (&fx, conf);
  SubIndex *ix = fx.index;

  if (load (ix, skip, paths))
    {
      check_table (ix->table);
      guint first = ix->n_static;
      if (!load (ix, skip, paths) || ix->n_static != first)
        {
          fprintf (stderr, "second load: %u entries, first %u\n",
                   ix->n_static, first);
          abort ();
        }
      check_table (ix->table);
    }

  fuzz_index_close (&fx);
  for (int i = 0; i < 2; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  return 0;
}
