/* One writer per state directory: nfcapd -x may start the next nfsub
 * while the previous one still runs, and an operator may backfill by
 * hand at the same time.  flock() is released by the kernel when the
 * holder dies, so a kill -9 never leaves a stale lock behind. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "host-private.h"

int
nfsub_state_lock (const char *state_dir, gboolean wait, GError **error)
{
  if (g_mkdir_with_parents (state_dir, 0755) != 0)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "cannot create state directory %s: %s", state_dir,
                   g_strerror (errno));
      return -1;
    }
  g_autofree char *path = g_build_filename (state_dir, ".lock", NULL);
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE, "cannot open %s: %s",
                   path, g_strerror (errno));
      return -1;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      char holder[32] = "";
      ssize_t n = pread (fd, holder, sizeof holder - 1, 0);
      holder[n > 0 ? n : 0] = '\0';
      g_strstrip (holder);
      if (!wait)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                       "%s is locked by another nfsub (pid %s); not waiting",
                       state_dir, *holder ? holder : "?");
          close (fd);
          return -1;
        }
      nfsub_log (NULL, G_LOG_LEVEL_MESSAGE,
                 "waiting for the state lock %s held by pid %s", path,
                 *holder ? holder : "?");
      while (flock (fd, LOCK_EX) != 0)
        if (errno != EINTR)
          {
            g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                         "cannot lock %s: %s", path, g_strerror (errno));
            close (fd);
            return -1;
          }
    }
  char pid[32];
  int len = g_snprintf (pid, sizeof pid, "%ld\n", (long) getpid ());
  if (ftruncate (fd, 0) != 0 || pwrite (fd, pid, (size_t) len, 0) != len)
    { /* the pid is only for the message above; the lock is what counts */ }
  return fd;
}

void
nfsub_state_unlock (int fd)
{
  if (fd >= 0)
    close (fd);
}
