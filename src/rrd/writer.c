/* NfsubRrd: writes closed bins to RRD files, directly with librrd or
 * through rrdcached, so that a re-run never errors and never counts twice.
 *
 * Before updating a file the writer asks for its last update (rrdcached's
 * LAST includes points still in the daemon's cache) and drops every point
 * at or before it: after a crash between "RRD updated" and "state saved",
 * re-processing the same files produces the same points again and they
 * are skipped, not refused.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
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

gboolean
nfsub_rrd_ensure (NfsubRrd *rrd, const char *path,
                  const char *const *ds_names, gint64 start, GError **error)
{
  if (rrd_exists (rrd, path))
    return TRUE;
  if (rrd_is_local (rrd))
    {
      g_autofree char *dir = g_path_get_dirname (path);
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
      rc = rrd_update_r (q->path, tmpl, (int) args->len,
                         (const char **) args->pdata);
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
