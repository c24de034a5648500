/* subscriber: tagging a batch of flows. */
#include "config.h"

#include <string.h>

#include "subscriber.h"

void
tagger_init (Tagger *tg, SubIndex *ix, const RuleSet *rules)
{
  memset (tg, 0, sizeof *tg);
  tg->index = ix;
  tg->rules = rules;
  tg->flow_rules = rules && rules_have_flow_rules (rules);
  tg->access_users = g_hash_table_new (g_direct_hash, g_direct_equal);
}

void
tagger_clear (Tagger *tg)
{
  g_clear_pointer (&tg->access_users, g_hash_table_unref);
  g_clear_pointer (&tg->addrs, g_free);
  g_clear_pointer (&tg->whens, g_free);
  g_clear_pointer (&tg->found, g_free);
  tg->scratch = 0;
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

static inline void
fill_tag (Tagger *tg, NfsubSubscriberTag *tag, const LeaseHit *hit,
          const NfsubFlow *f, guint32 ifindex)
{
  if (G_UNLIKELY (tg->flow_rules))
    {
      guint8 access = rules_flow_access (tg->rules, &f->exporter, ifindex);
      if (access && access != hit->access)
        {
          guint32 user = user_with_access (tg, hit->user, access);
          tag->user = lease_table_user (tg->index->table, user)->key;
          tag->user_id = user;
          tag->service = hit->service;
          tag->user_class = hit->user_class;
          tag->access = access;
          return;
        }
    }
  tag->user = hit->key;
  tag->user_id = hit->user;
  tag->service = hit->service;
  tag->user_class = hit->user_class;
  tag->access = hit->access;
}

void
tagger_tag_batch (Tagger *tg, NfsubBatch *batch, TagCounters *c)
{
  guint n = nfsub_batch_size (batch);
  if (n == 0)
    return;
  if (tg->scratch < 2 * n)
    {
      tg->scratch = 2 * n;
      tg->addrs = g_renew (NfsubAddr, tg->addrs, tg->scratch);
      tg->whens = g_renew (guint32, tg->whens, tg->scratch);
      tg->found = g_renew (LeaseHit, tg->found, tg->scratch);
    }
  for (guint i = 0; i < n; i++)
    {
      const NfsubFlow *f = nfsub_batch_flow (batch, i);
      guint64 s = f->first_ms / 1000;
      guint32 when = s >= LEASE_END_OPEN ? LEASE_END_OPEN - 1 : (guint32) s;
      tg->addrs[2 * i] = f->src;
      tg->addrs[2 * i + 1] = f->dst;
      tg->whens[2 * i] = tg->whens[2 * i + 1] = when;
    }
  lease_table_lookup_many (tg->index->table, 2 * n, tg->addrs, tg->whens,
                           tg->found);
  for (guint i = 0; i < n; i++)
    {
      NfsubFlow *f = nfsub_batch_flow (batch, i);
      guint8 dir = 0;
      /* The source is the subscriber: traffic enters the router on the
       * subscriber side (input interface); the destination: it leaves
       * towards the subscriber (output interface). */
      if (tg->found[2 * i].key)
        {
          fill_tag (tg, &f->src_tag, &tg->found[2 * i], f, f->input_if);
          dir |= NFSUB_DIR_IN;
        }
      if (tg->found[2 * i + 1].key)
        {
          fill_tag (tg, &f->dst_tag, &tg->found[2 * i + 1], f, f->output_if);
          dir |= NFSUB_DIR_OUT;
        }
      f->direction = dir;
      guint64 bytes = nfsub_flow_bytes (f);
      c->flows++;
      c->bytes += bytes;
      c->packets += nfsub_flow_packets (f);
      if (dir & NFSUB_DIR_IN)
        c->in_flows++, c->in_bytes += bytes;
      if (dir & NFSUB_DIR_OUT)
        c->out_flows++, c->out_bytes += bytes;
      if (dir == (NFSUB_DIR_IN | NFSUB_DIR_OUT))
        c->both_flows++, c->both_bytes += bytes;
      if (dir == 0)
        c->unattr_flows++, c->unattr_bytes += bytes,
          c->unattr_packets += nfsub_flow_packets (f);
    }
}
