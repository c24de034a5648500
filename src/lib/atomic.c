/* Crash-safe file replacement: temp name, fsync, rename, fsync(dir). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <nfsub/plugin.h>

static gboolean
fsync_dir_of (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE, "%s: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  /* Some file systems refuse fsync on a directory; the rename is still
   * ordered after the data fsync, which is what matters most. */
  (void) fsync (fd);
  close (fd);
  return TRUE;
}

gboolean
nfsub_write_file_atomic (const char *path, const void *data, gsize len,
                         GError **error)
{
  g_autofree char *tmp = g_strdup_printf ("%s.tmp.XXXXXX", path);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "cannot create %s: %s", tmp, g_strerror (errno));
      return FALSE;
    }
  const guint8 *p = data;
  gsize left = len;
  while (left > 0)
    {
      ssize_t w = write (fd, p, left);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        {
          int e = errno;
          close (fd);
          g_unlink (tmp);
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                       "cannot write %s: %s", tmp, g_strerror (e));
          return FALSE;
        }
      p += w;
      left -= (gsize) w;
    }
  if (fsync (fd) != 0 || close (fd) != 0)
    {
      int e = errno;
      g_unlink (tmp);
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "cannot sync %s: %s", tmp, g_strerror (e));
      return FALSE;
    }
  if (g_rename (tmp, path) != 0)
    {
      int e = errno;
      g_unlink (tmp);
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "cannot rename %s to %s: %s", tmp, path, g_strerror (e));
      return FALSE;
    }
  return fsync_dir_of (path, error);
}
