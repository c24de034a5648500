/* Shared by the lease-reader fuzz targets (fuzz-kea-lease.c,
 * fuzz-static-csv.c): a quiet log, memfds, and the lease table's own
 * rules checked after the reader built it. */
#ifndef FUZZ_LEASE_CHECK_H
#define FUZZ_LEASE_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "plugins/subscriber/lease-table.h"
#include "plugins/subscriber/subscriber.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

static void
quiet_log (const char *domain, GLogLevelFlags level, const char *message,
           gpointer data)
{
  (void) domain, (void) level, (void) message, (void) data;
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc, (void) argv;
  /* skipped rows are logged as warnings: keep the fuzzer's output short */
  g_log_set_handler ("nfsub", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL
                     | G_LOG_FLAG_RECURSION, quiet_log, NULL);
  return 0;
}

static int
memfd_with (const char *name, const void *data, size_t len)
{
  int fd = memfd_create (name, MFD_CLOEXEC);
  if (fd < 0)
    abort ();
  if (len && write (fd, data, len) != (ssize_t) len)
    abort ();
  return fd;
}

typedef struct {
  LeaseTable *t;
  GArray *addrs;  /* NfsubAddr */
  GArray *whens;  /* guint32 */
  GArray *expect; /* guint32 binding from lease_table_lookup */
} CheckCtx;

static gboolean
prefix_contains (const LeasePrefix *p, const NfsubAddr *a)
{
  guint bits = p->family == 4 ? 96u + p->plen : p->plen;
  const guint8 *x = (const guint8 *) &p->addr, *y = (const guint8 *) a;
  for (guint i = 0; i < bits; i++)
    if (((x[i / 8] ^ y[i / 8]) >> (7 - i % 8)) & 1)
      return FALSE;
  return TRUE;
}

static void
check_key (const LeasePrefix *p, LeaseKind kind, guint32 head, gpointer data)
{
  CheckCtx *cx = data;
  guint32 n_users = lease_table_n_users (cx->t);
  (void) kind;
  for (guint32 id = head; id; id = lease_table_binding (cx->t, id)->next)
    {
      const LeaseBinding *b = lease_table_binding (cx->t, id);
      if (b->user < 1 || b->user > n_users || b->start > b->end)
        {
          fprintf (stderr, "binding %u: user %u of %u, %u..%u\n", id, b->user,
                   n_users, b->start, b->end);
          abort ();
        }
    }
  const LeaseBinding *h = lease_table_binding (cx->t, head);
  if (h->start >= h->end)
    return;
  LeasePrefix found;
  LeaseKind found_kind;
  guint32 got = lease_table_lookup_match (cx->t, &p->addr, h->start, &found,
                                          &found_kind);
  if (!got || found.family != p->family || found.plen < p->plen
      || !prefix_contains (&found, &p->addr))
    {
      fprintf (stderr, "lookup at the newest binding's start: %u (/%u)\n",
               got, found.plen);
      abort ();
    }
  g_array_append_val (cx->addrs, p->addr);
  g_array_append_val (cx->whens, h->start);
  g_array_append_val (cx->expect, got);
}

static void
check_table (LeaseTable *t)
{
  CheckCtx cx = { t, g_array_new (FALSE, FALSE, sizeof (NfsubAddr)),
                  g_array_new (FALSE, FALSE, sizeof (guint32)),
                  g_array_new (FALSE, FALSE, sizeof (guint32)) };
  lease_table_foreach (t, check_key, &cx);
  guint n = cx.addrs->len;
  LeaseHit *hits = g_new0 (LeaseHit, n + 1);
  lease_table_lookup_many (t, n, (const NfsubAddr *) cx.addrs->data,
                           (const guint32 *) cx.whens->data, hits);
  for (guint i = 0; i < n; i++)
    if (hits[i].binding != g_array_index (cx.expect, guint32, i)
        || !hits[i].key)
      {
        fprintf (stderr, "lookup_many %u != lookup %u\n", hits[i].binding,
                 g_array_index (cx.expect, guint32, i));
        abort ();
      }
  g_free (hits);
  g_array_unref (cx.addrs);
  g_array_unref (cx.whens);
  g_array_unref (cx.expect);
}

/* The index a target's input goes into: the subscriber config from the
 * text given (an INI [subscriber] group), as nfsub would load it. */
typedef struct {
  GKeyFile *keys;
  SubConfig *config;
  SubIndex *index;
} FuzzIndex;

static void
fuzz_index_open (FuzzIndex *f, const GString *conf)
{
  f->keys = g_key_file_new ();
  if (!g_key_file_load_from_data (f->keys, conf->str, conf->len,
                                  G_KEY_FILE_NONE, NULL))
    abort ();
  GError *e = NULL;
  f->config = sub_config_load (NULL, f->keys, "subscriber", &e);
  if (!f->config)
    {
      fprintf (stderr, "config: %s\n", e->message);
      abort ();
    }
  f->index = sub_index_new (f->config);
}

static void
fuzz_index_close (FuzzIndex *f)
{
  sub_index_free (f->index);
  sub_config_free (f->config);
  g_key_file_unref (f->keys);
}

#endif
