/* NfsubRrd: writes closed bins to RRD files, directly with librrd or
 * through rrdcached, so that a re-run never errors and never counts twice.
 *
 * Before updating a file the writer asks for its last update (rrdcached's
 * LAST includes points still in the daemon's cache) and drops every point
 * at or before it: after a crash between "RRD updated" and "state saved",
 * re-processing the same files produces the same points again and they
 * are skipped, not refused.
 *
 * librrd updates a file in place, header and rows in turn; a process
 * killed in between leaves archive pointers moved and the last update
 * time not (the next update of the same points would advance them
 * again).  So a local update is journaled: the file's header (all that
 * locates the rows) is saved beside it first and put back if the update
 * did not finish; redoing it then writes the same rows in the same
 * places.  (rrdcached applies updates itself; a client killed mid-way has
 * sent some points or not, and LAST says which.)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
/* the file format's structs (rrd_format.h), for the journal's header
 * length; no deprecated function is called */
#define RRD_EXPORT_DEPRECATED
#include <rrd.h>
#include <rrd_client.h>

#include <nfsub/plugin.h>
#include <nfsub/rrd.h>

#include "../../rrd/layout.h"

G_STATIC_ASSERT (NFSUB_LAYOUT_STEP == NFSUB_RRD_STEP);

static const char *const layout_rras[] = { NFSUB_LAYOUT_RRAS, NULL };

const char *const *
nfsub_rrd_layout_rras (void)
{
  return layout_rras;
}

guint
nfsub_rrd_layout_heartbeat (void)
{
  return NFSUB_LAYOUT_HEARTBEAT;
}

typedef struct {
  gint64 bin_start;
  guint64 *values;
} RrdPoint;

typedef struct {
  char *path;
  char **ds_names;
  guint n_ds;
  GArray *points; /* RrdPoint, in queue order */
} RrdQueue;

struct NfsubRrd {
  char *log_name;
  char *address;      /* rrdcached, NULL: librrd on the files */
  gboolean cached;
  GHashTable *queues; /* path -> RrdQueue */
  GPtrArray *order;   /* RrdQueue, first queued first */
  guint n_queued;
  guint64 n_skipped;
};

static void
rrd_queue_clear_points (RrdQueue *q)
{
  for (guint i = 0; i < q->points->len; i++)
    g_free (g_array_index (q->points, RrdPoint, i).values);
  g_array_set_size (q->points, 0);
}

static void
rrd_queue_free (gpointer data)
{
  RrdQueue *q = data;
  rrd_queue_clear_points (q);
  g_array_unref (q->points);
  g_free (q->path);
  g_strfreev (q->ds_names);
  g_free (q);
}

static char *
take_rrd_error (void)
{
  const char *e = rrd_get_error ();
  char *msg = g_strdup (e && *e ? e : "unknown RRD error");
  rrd_clear_error ();
  return msg;
}

NfsubRrd *
nfsub_rrd_new (const char *log_name, const char *cached_address,
               GError **error)
{
  g_autoptr (NfsubRrd) rrd = g_new0 (NfsubRrd, 1);
  rrd->log_name = g_strdup (log_name ? log_name : "rrd");
  rrd->queues = g_hash_table_new (g_str_hash, g_str_equal);
  rrd->order = g_ptr_array_new_with_free_func (rrd_queue_free);
  if (cached_address && *cached_address)
    {
      rrd->address = g_strdup (cached_address);
      rrd->cached = TRUE;
      rrd_clear_error ();
      /* Debian's librrd exports only the rrdc_* calls (one connection per
       * process, shared by every plugin: the host gives all the same
       * address). */
      if (rrdc_connect (rrd->address) != 0)
        {
          g_autofree char *msg = take_rrd_error ();
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_FAILED,
                       "cannot connect to rrdcached at %s: %s", rrd->address,
                       msg);
          return NULL;
        }
    }
  return g_steal_pointer (&rrd);
}

void
nfsub_rrd_free (NfsubRrd *rrd)
{
  if (!rrd)
    return;
  g_hash_table_unref (rrd->queues);
  g_ptr_array_unref (rrd->order);
  g_free (rrd->address);
  g_free (rrd->log_name);
  g_free (rrd);
}

void
nfsub_rrd_queue (NfsubRrd *rrd, const char *path, const char *const *ds_names,
                 gint64 bin_start, const guint64 *values)
{
  RrdQueue *q = g_hash_table_lookup (rrd->queues, path);
  if (!q)
    {
      q = g_new0 (RrdQueue, 1);
      q->path = g_strdup (path);
      q->ds_names = g_strdupv ((char **) ds_names);
      q->n_ds = g_strv_length (q->ds_names);
      q->points = g_array_new (FALSE, FALSE, sizeof (RrdPoint));
      g_hash_table_insert (rrd->queues, q->path, q);
      g_ptr_array_add (rrd->order, q);
    }
  RrdPoint p = { bin_start, g_memdup2 (values, sizeof (guint64) * q->n_ds) };
  g_array_append_val (q->points, p);
  rrd->n_queued++;
}

guint
nfsub_rrd_n_queued (NfsubRrd *rrd)
{
  return rrd->n_queued;
}

guint64
nfsub_rrd_n_skipped (NfsubRrd *rrd)
{
  return rrd->n_skipped;
}

/* rrdcached on a unix socket shares our file system; a remote one does
 * not, and creates what it needs under its own base directory. */
static gboolean
rrd_is_local (NfsubRrd *rrd)
{
  return !rrd->cached || g_str_has_prefix (rrd->address, "unix:")
         || rrd->address[0] == '/';
}

gboolean
nfsub_rrd_last (NfsubRrd *rrd, const char *path, gint64 *last,
                GError **error)
{
  rrd_clear_error ();
  time_t t = rrd->cached ? rrdc_last (path) : rrd_last_r (path);
  if (t == (time_t) -1)
    {
      g_autofree char *msg = take_rrd_error ();
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_FAILED,
                   "%s: last update: %s", path, msg);
      return FALSE;
    }
  *last = (gint64) t;
  return TRUE;
}

static gboolean
rrd_exists (NfsubRrd *rrd, const char *path)
{
  if (rrd_is_local (rrd))
    return g_file_test (path, G_FILE_TEST_EXISTS);
  gint64 last;
  return nfsub_rrd_last (rrd, path, &last, NULL);
}

/* librrd creates a file under a temporary name (NAME + 6 characters)
 * and renames it, as GLib does the journal (NAME.journal + '.' + 6); a
 * process killed in between leaves that file behind.  Only one nfsub
 * process works on a state at a time. */
static void
remove_stale_temporaries (const char *path, const char *sep)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *base = g_strconcat (name, sep, NULL);
  gsize len = strlen (base);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;
  while (d && (entry = g_dir_read_name (d)))
    if (strlen (entry) == len + 6 && strncmp (entry, base, len) == 0)
      {
        g_autofree char *full = g_build_filename (dir, entry, NULL);
        g_unlink (full);
      }
}

gboolean
nfsub_rrd_ensure (NfsubRrd *rrd, const char *path,
                  const char *const *ds_names, gint64 start, GError **error)
{
  if (rrd_exists (rrd, path))
    return TRUE;
  if (rrd_is_local (rrd))
    {
      g_autofree char *dir = g_path_get_dirname (path);
      remove_stale_temporaries (path, "");
      if (g_mkdir_with_parents (dir, 0755) != 0)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                       "cannot create RRD directory %s: %s", dir,
                       g_strerror (errno));
          return FALSE;
        }
    }
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; ds_names[i]; i++)
    g_ptr_array_add (args, g_strdup_printf ("DS:%s:ABSOLUTE:%u:0:U",
                                            ds_names[i],
                                            NFSUB_LAYOUT_HEARTBEAT));
  for (guint i = 0; layout_rras[i]; i++)
    g_ptr_array_add (args, g_strdup (layout_rras[i]));
  rrd_clear_error ();
  int rc;
  if (rrd->cached)
    rc = rrdc_create_r2 (path, NFSUB_LAYOUT_STEP, (time_t) start, 1, NULL,
                         NULL, (int) args->len, (const char **) args->pdata);
  else
    rc = rrd_create_r2 (path, NFSUB_LAYOUT_STEP, (time_t) start, 1, NULL,
                        NULL, (int) args->len, (const char **) args->pdata);
  if (rc != 0)
    {
      g_autofree char *msg = take_rrd_error ();
      /* Another process may have created it meanwhile: fine. */
      if (rrd_exists (rrd, path))
        return TRUE;
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_FAILED, "%s: create: %s",
                   path, msg);
      return FALSE;
    }
  return TRUE;
}

gboolean
nfsub_rrd_flush_cached (NfsubRrd *rrd, const char *path, GError **error)
{
  if (!rrd->cached)
    return TRUE;
  rrd_clear_error ();
  if (rrdc_flush (path) != 0)
    {
      g_autofree char *msg = take_rrd_error ();
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_FAILED,
                   "%s: rrdcached flush: %s", path, msg);
      return FALSE;
    }
  return TRUE;
}

/* The length of an RRD file's header: everything before the archives'
 * rows (static header, data source and archive definitions, live head,
 * PDP and CDP preparation, archive pointers).  0 if the file is not laid
 * out so (then it is updated without a journal). */
static gsize
rrd_header_length (int fd, gsize file_size)
{
  stat_head_t head;
  if (pread (fd, &head, sizeof head, 0) != (gssize) sizeof head
      || memcmp (head.cookie, RRD_COOKIE, 4) != 0
      || memcmp (head.version, RRD_VERSION3, 4) < 0)
    return 0;
  gsize n_ds = head.ds_cnt, n_rra = head.rra_cnt;
  if (n_ds == 0 || n_ds > 10000 || n_rra == 0 || n_rra > 10000)
    return 0;
  g_autofree rra_def_t *rra = g_new (rra_def_t, n_rra);
  off_t at = (off_t) (sizeof (stat_head_t) + n_ds * sizeof (ds_def_t));
  if (pread (fd, rra, n_rra * sizeof *rra, at)
      != (gssize) (n_rra * sizeof *rra))
    return 0;
  gsize rows = 0;
  for (gsize i = 0; i < n_rra; i++)
    rows += rra[i].row_cnt;
  gsize header = sizeof (stat_head_t) + n_ds * sizeof (ds_def_t)
                 + n_rra * sizeof (rra_def_t) + sizeof (live_head_t)
                 + n_ds * sizeof (pdp_prep_t)
                 + n_ds * n_rra * sizeof (cdp_prep_t)
                 + n_rra * sizeof (rra_ptr_t);
  if (header + rows * n_ds * sizeof (rrd_value_t) != file_size)
    return 0;
  return header;
}

static char *
journal_path (const char *path)
{
  return g_strconcat (path, ".journal", NULL);
}

static void
fsync_dir_of (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    {
      (void) fsync (fd);
      close (fd);
    }
}

/* Puts back the header a journal holds (an update cut short), or does
 * nothing without a journal. */
static gboolean
rrd_undo_unfinished (NfsubRrd *rrd, const char *path, GError **error)
{
  g_autofree char *jpath = journal_path (path);
  g_autofree char *saved = NULL;
  gsize len;
  remove_stale_temporaries (jpath, ".");
  if (!g_file_test (jpath, G_FILE_TEST_EXISTS))
    return TRUE;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (jpath, &saved, &len, &local))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE, "%s: %s", jpath,
                   local->message);
      return FALSE;
    }
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    {
      /* the file is gone: nothing to put back */
      g_unlink (jpath);
      return TRUE;
    }
  if (fd < 0 || pwrite (fd, saved, len, 0) != (gssize) len || fsync (fd) != 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "%s: cannot undo an update cut short: %s", path,
                   g_strerror (e));
      return FALSE;
    }
  close (fd);
  g_unlink (jpath);
  fsync_dir_of (jpath);
  nfsub_info (rrd->log_name, "%s: an update cut short (crash) was undone; "
              "its points are written again", path);
  return TRUE;
}

/* rrd_update_r with the file's header saved beside it until the update
 * is on disk (see the top of this file). */
static int
rrd_update_journaled (const char *path, const char *tmpl, GPtrArray *args,
                      GError **error)
{
  g_autofree char *jpath = journal_path (path);
  gsize header = 0;
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && fstat (fd, &st) == 0)
    header = rrd_header_length (fd, (gsize) st.st_size);
  g_autofree char *saved = header ? g_malloc (header) : NULL;
  if (header && pread (fd, saved, header, 0) != (gssize) header)
    header = 0;
  g_autoptr (GError) local = NULL;
  if (header
      && !g_file_set_contents_full (jpath, saved, (gssize) header,
                                    G_FILE_SET_CONTENTS_CONSISTENT
                                      | G_FILE_SET_CONTENTS_DURABLE,
                                    0644, &local))
    {
      if (fd >= 0)
        close (fd);
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE, "%s", local->message);
      return -1;
    }
  int rc = rrd_update_r (path, tmpl, (int) args->len,
                         (const char **) args->pdata);
  if (fd >= 0)
    {
      /* on disk before the journal goes */
      if (rc == 0)
        (void) fsync (fd);
      close (fd);
    }
  if (header)
    {
      if (rc != 0)
        {
          /* an update that failed half-way is undone as well */
          g_autoptr (GError) ignored = NULL;
          int wfd = open (path, O_WRONLY | O_CLOEXEC);
          if (wfd >= 0)
            {
              if (pwrite (wfd, saved, header, 0) == (gssize) header)
                (void) fsync (wfd);
              close (wfd);
            }
        }
      g_unlink (jpath);
      fsync_dir_of (jpath);
    }
  return rc;
}

static gint
point_compare (gconstpointer a, gconstpointer b)
{
  gint64 x = ((const RrdPoint *) a)->bin_start;
  gint64 y = ((const RrdPoint *) b)->bin_start;
  return (x > y) - (x < y);
}

static gboolean
rrd_flush_queue (NfsubRrd *rrd, RrdQueue *q, GError **error)
{
  if (q->points->len == 0)
    return TRUE;
  /* Stable: two points for one bin (should not happen) keep queue order,
   * and the second is dropped below as "not after the last". */
  g_array_sort (q->points, point_compare);
  gint64 first = g_array_index (q->points, RrdPoint, 0).bin_start;
  if (!rrd->cached && !rrd_undo_unfinished (rrd, q->path, error))
    return FALSE;
  if (!nfsub_rrd_ensure (rrd, q->path, (const char *const *) q->ds_names,
                         first, error))
    return FALSE;
  gint64 last;
  if (!nfsub_rrd_last (rrd, q->path, &last, error))
    return FALSE;

  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) s = g_string_new (NULL);
  gint64 prev = last;
  for (guint i = 0; i < q->points->len; i++)
    {
      const RrdPoint *p = &g_array_index (q->points, RrdPoint, i);
      gint64 t = p->bin_start + NFSUB_LAYOUT_STEP;
      if (t <= prev)
        {
          rrd->n_skipped++;
          continue;
        }
      if (p->bin_start > prev)
        {
          /* A bin nobody saw: unknown, not the next bin's rate. */
          g_string_printf (s, "%" G_GINT64_FORMAT, p->bin_start);
          for (guint d = 0; d < q->n_ds; d++)
            g_string_append (s, ":U");
          g_ptr_array_add (args, g_strdup (s->str));
        }
      g_string_printf (s, "%" G_GINT64_FORMAT, t);
      for (guint d = 0; d < q->n_ds; d++)
        g_string_append_printf (s, ":%" G_GUINT64_FORMAT, p->values[d]);
      g_ptr_array_add (args, g_strdup (s->str));
      prev = t;
    }
  if (args->len == 0)
    return TRUE;

  rrd_clear_error ();
  int rc;
  if (rrd->cached)
    rc = rrdc_update (q->path, (int) args->len,
                      (const char *const *) args->pdata);
  else
    {
      g_autofree char *tmpl = g_strjoinv (":", q->ds_names);
      rc = rrd_update_journaled (q->path, tmpl, args, error);
      if (rc != 0 && error && *error)
        return FALSE;
    }
  if (rc != 0)
    {
      g_autofree char *msg = take_rrd_error ();
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_FAILED, "%s: update: %s",
                   q->path, msg);
      return FALSE;
    }
  return TRUE;
}

gboolean
nfsub_rrd_flush (NfsubRrd *rrd, GError **error)
{
  gboolean ok = TRUE;
  for (guint i = 0; i < rrd->order->len; i++)
    {
      RrdQueue *q = rrd->order->pdata[i];
      GError *local = NULL;
      if (ok && !rrd_flush_queue (rrd, q, &local))
        {
          g_propagate_error (error, local);
          ok = FALSE;
        }
      rrd->n_queued -= q->points->len;
      rrd_queue_clear_points (q);
    }
  return ok;
}
