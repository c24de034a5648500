/* Crash-safe state.
 *
 * Single files: temp name, fsync, rename, fsync(dir).
 *
 * A run of `nfsub process` changes several files at once (each plugin's
 * state, the ledger).  A kill between two renames would leave plugin A's
 * new totals beside plugin B's old ones and a ledger that says the file
 * was not processed, so the re-run would count it twice in A.  While a
 * state transaction is open, nfsub_write_file_atomic therefore only
 * stages PATH.txn-new; the commit writes a journal listing the staged
 * paths (the commit point), renames them all, and removes the journal.
 * Recovery at the next start rolls a journalled commit forward and
 * throws away staged files that never reached a journal.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <nfsub/plugin.h>

#include "host-private.h"

#define STAGED_SUFFIX ".txn-new"
#define JOURNAL_NAME ".journal"

static GPtrArray *txn_paths; /* final paths staged in the open transaction */
static char *txn_state_dir;

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

static gboolean
write_synced (const char *target, const void *data, gsize len, GError **error)
{
  g_autofree char *tmp = g_strdup_printf ("%s.tmp.XXXXXX", target);
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
  if (g_rename (tmp, target) != 0)
    {
      int e = errno;
      g_unlink (tmp);
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "cannot rename %s to %s: %s", tmp, target, g_strerror (e));
      return FALSE;
    }
  return fsync_dir_of (target, error);
}

gboolean
nfsub_write_file_atomic (const char *path, const void *data, gsize len,
                         GError **error)
{
  if (!txn_paths)
    return write_synced (path, data, len, error);
  g_autofree char *staged = g_strconcat (path, STAGED_SUFFIX, NULL);
  if (!write_synced (staged, data, len, error))
    return FALSE;
  for (guint i = 0; i < txn_paths->len; i++)
    if (strcmp (txn_paths->pdata[i], path) == 0)
      return TRUE;
  g_ptr_array_add (txn_paths, g_strdup (path));
  return TRUE;
}

static char *
journal_path (const char *state_dir)
{
  return g_build_filename (state_dir, JOURNAL_NAME, NULL);
}

static gboolean
apply_journal (const char *journal, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (journal, &text, NULL, error))
    return FALSE;
  g_auto (GStrv) paths = g_strsplit (text, "\n", -1);
  for (char **p = paths; *p; p++)
    {
      if (!**p)
        continue;
      g_autofree char *staged = g_strconcat (*p, STAGED_SUFFIX, NULL);
      /* Already renamed by the interrupted commit: nothing to do. */
      if (!g_file_test (staged, G_FILE_TEST_EXISTS))
        continue;
      if (g_rename (staged, *p) != 0)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                       "cannot rename %s to %s: %s", staged, *p,
                       g_strerror (errno));
          return FALSE;
        }
      if (!fsync_dir_of (*p, error))
        return FALSE;
    }
  if (g_unlink (journal) != 0)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE, "cannot remove %s: %s",
                   journal, g_strerror (errno));
      return FALSE;
    }
  return fsync_dir_of (journal, error);
}

static void
remove_stray_staged (const char *dir, guint depth)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *e;
  if (!d || depth > 4)
    return;
  while ((e = g_dir_read_name (d)))
    {
      g_autofree char *full = g_build_filename (dir, e, NULL);
      if (g_str_has_suffix (e, STAGED_SUFFIX) || strstr (e, ".tmp."))
        g_unlink (full);
      else if (g_file_test (full, G_FILE_TEST_IS_DIR)
               && !g_file_test (full, G_FILE_TEST_IS_SYMLINK))
        remove_stray_staged (full, depth + 1);
    }
}

gboolean
nfsub_state_recover (const char *state_dir, GError **error)
{
  g_autofree char *journal = journal_path (state_dir);
  if (g_file_test (journal, G_FILE_TEST_EXISTS))
    {
      nfsub_log (NULL, G_LOG_LEVEL_MESSAGE,
                 "completing a state commit interrupted by a crash (%s)",
                 journal);
      if (!apply_journal (journal, error))
        return FALSE;
    }
  remove_stray_staged (state_dir, 0);
  return TRUE;
}

void
nfsub_state_txn_begin (const char *state_dir)
{
  g_return_if_fail (txn_paths == NULL);
  txn_paths = g_ptr_array_new_with_free_func (g_free);
  txn_state_dir = g_strdup (state_dir);
}

void
nfsub_state_txn_abort (void)
{
  if (!txn_paths)
    return;
  for (guint i = 0; i < txn_paths->len; i++)
    {
      g_autofree char *staged = g_strconcat (txn_paths->pdata[i],
                                             STAGED_SUFFIX, NULL);
      g_unlink (staged);
    }
  g_clear_pointer (&txn_paths, g_ptr_array_unref);
  g_clear_pointer (&txn_state_dir, g_free);
}

gboolean
nfsub_state_txn_commit (GError **error)
{
  g_return_val_if_fail (txn_paths != NULL, FALSE);
  g_autoptr (GPtrArray) paths = g_steal_pointer (&txn_paths);
  g_autofree char *state_dir = g_steal_pointer (&txn_state_dir);
  if (paths->len == 0)
    return TRUE;
  g_autoptr (GString) list = g_string_new (NULL);
  for (guint i = 0; i < paths->len; i++)
    g_string_append_printf (list, "%s\n", (char *) paths->pdata[i]);
  g_autofree char *journal = journal_path (state_dir);
  if (!write_synced (journal, list->str, list->len, error))
    return FALSE;
  /* Test hook: the crash-safety test kills us right after the commit
   * point to prove recovery rolls forward. */
  if (g_getenv ("NFSUB_TEST_CRASH_AFTER_JOURNAL"))
    _exit (77);
  return apply_journal (journal, error);
}
