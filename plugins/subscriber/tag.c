/* subscriber: tagging a batch of flows. */
#include "config.h"

#include <string.h>

#include "subscriber.h"

/* Flows of a selection looked up at once (their ends are copied). */
#ifndef TAG_CHUNK
#define TAG_CHUNK 64
#endif

void
tagger_init (Tagger *tg, SubIndex *ix, const RuleSet *rules)
{
  memset (tg, 0, sizeof *tg);
  tg->index = ix;
  tg->rules = rules;
  tg->flow_rules = rules && rules_have_flow_rules (rules);
  tg->access_users = g_hash_table_new (g_direct_hash, g_direct_equal);
  tg->scratch = g_new0 (NfsubFlow, TAG_CHUNK);
}

void
tagger_clear (Tagger *tg)
{
  g_clear_pointer (&tg->access_users, g_hash_table_unref);
  g_clear_pointer (&tg->scratch, g_free);
  g_clear_pointer (&tg->dirs, g_free);
  tg->capacity = 0;
}

/* The same subscription under another access type is another user
 * ("pppoe:alice" vs "ipoe:alice"). */
static guint32
user_with_access (Tagger *tg, guint32 user, guint8 access)
{
  gpointer key = GUINT_TO_POINTER (((guintptr) user << 2) | access);
  gpointer v = g_hash_table_lookup (tg->access_users, key);
  if (v)
    return GPOINTER_TO_UINT (v);
  LeaseTable *t = tg->index->table;
  const LeaseUser *u = lease_table_user (t, user);
  const char *colon = strchr (u->key, ':');
  g_autofree char *k = g_strdup_printf ("%s:%s", access_name (access),
                                        colon ? colon + 1 : u->key);
  guint8 service = u->service, user_class = u->user_class;
  guint32 id = lease_table_intern_user (t, k, service, user_class, access);
  g_hash_table_insert (tg->access_users, key, GUINT_TO_POINTER (id));
  return id;
}

/* A flow rule decides the access per flow end; the tag in place was
 * written from the binding. */
static void
apply_flow_rule (Tagger *tg, NfsubSubscriberTag *tag, const NfsubFlow *f,
                 guint32 ifindex)
{
  guint8 access = rules_flow_access (tg->rules, &f->exporter, ifindex);
  if (access && access != tag->access)
    {
      guint32 user = user_with_access (tg, tag->user_id, access);
      tag->user = lease_table_user (tg->index->table, user)->key;
      tag->user_id = user;
      tag->access = access;
    }
}

void
tagger_tag_batch (Tagger *tg, NfsubBatch *batch, TagCounters *c)
{
  guint n = nfsub_batch_size (batch);
  LeaseTable *t = tg->index->table;
  if (tg->capacity < n)
    {
      tg->capacity = n;
      tg->dirs = g_renew (guint8, tg->dirs, n);
    }
  guint8 *dirs = tg->dirs;
  memset (dirs, 0, n);

  /* The lookups set NFSUB_DIR_IN for a bound source (the subscriber
   * sends: upload) and NFSUB_DIR_OUT for a bound destination. */
  if (!batch->selected)
    {
      /* addresses and times read, tags written in place */
      lease_table_tag_flows (t, n, batch->flows, dirs);
    }
  else
    for (guint base = 0; base < n; base += TAG_CHUNK)
      {
        /* a selection: its flows' ends in a scratch chunk */
        guint m = MIN (TAG_CHUNK, n - base);
        NfsubFlow *scratch = tg->scratch;
        for (guint i = 0; i < m; i++)
          {
            const NfsubFlow *f = nfsub_batch_flow (batch, base + i);
            scratch[i].first_ms = f->first_ms;
            scratch[i].src = f->src;
            scratch[i].dst = f->dst;
          }
        lease_table_tag_flows (t, m, scratch, dirs + base);
        for (guint i = 0; i < m; i++)
          {
            NfsubFlow *f = nfsub_batch_flow (batch, base + i);
            if (dirs[base + i] & NFSUB_DIR_IN)
              f->src_tag = scratch[i].src_tag;
            if (dirs[base + i] & NFSUB_DIR_OUT)
              f->dst_tag = scratch[i].dst_tag;
          }
      }

  /* The source is the subscriber: traffic enters the router on the
   * subscriber side (input interface); the destination: it leaves
   * towards the subscriber (output interface). */
  if (G_UNLIKELY (tg->flow_rules))
    for (guint i = 0; i < n; i++)
      {
        NfsubFlow *f = nfsub_batch_flow (batch, i);
        if (dirs[i] & NFSUB_DIR_IN)
          apply_flow_rule (tg, &f->src_tag, f, f->input_if);
        if (dirs[i] & NFSUB_DIR_OUT)
          apply_flow_rule (tg, &f->dst_tag, f, f->output_if);
      }

  /* sums per direction value (0 unattributed, 1 IN, 2 OUT, 3 both),
   * indexed rather than masked: fewer instructions per flow; in locals,
   * as stores through `c` could alias the flows */
  guint64 flows_by[4] = { 0 }, bytes_by[4] = { 0 }, packets_by[4] = { 0 };
#define COUNT_DIRECTION(f, i)                                                  \
  do                                                                           \
    {                                                                          \
      guint dir = dirs[i] & 3;                                                 \
      (f)->direction = (guint8) dir;                                           \
      flows_by[dir]++;                                                         \
      bytes_by[dir] += nfsub_flow_bytes (f);                                   \
      packets_by[dir] += nfsub_flow_packets (f);                               \
    }                                                                          \
  while (0)
  /* a whole batch (no selection) without the per-flow test of the
   * accessor */
  if (!batch->selected)
    for (guint i = 0; i < n; i++)
      COUNT_DIRECTION (&batch->flows[i], i);
  else
    for (guint i = 0; i < n; i++)
      COUNT_DIRECTION (&batch->flows[batch->selected[i]], i);
#undef COUNT_DIRECTION
  guint64 bytes_sum = bytes_by[0] + bytes_by[1] + bytes_by[2] + bytes_by[3];
  guint64 packets_sum
    = packets_by[0] + packets_by[1] + packets_by[2] + packets_by[3];
  guint64 in_flows = flows_by[1] + flows_by[3], in_bytes = bytes_by[1] + bytes_by[3];
  guint64 out_flows = flows_by[2] + flows_by[3], out_bytes = bytes_by[2] + bytes_by[3];
  guint64 both_flows = flows_by[3], both_bytes = bytes_by[3];
  guint64 unattr_flows = flows_by[0], unattr_bytes = bytes_by[0];
  guint64 unattr_packets = packets_by[0];
  c->flows += n;
  c->bytes += bytes_sum;
  c->packets += packets_sum;
  c->in_flows += in_flows;
  c->in_bytes += in_bytes;
  c->out_flows += out_flows;
  c->out_bytes += out_bytes;
  c->both_flows += both_flows;
  c->both_bytes += both_bytes;
  c->unattr_flows += unattr_flows;
  c->unattr_bytes += unattr_bytes;
  c->unattr_packets += unattr_packets;
}
