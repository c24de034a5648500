/* subscriber: nfdump filter files (`nfsub filters`).
 *
 * For an instant T, each file lists the addresses whose owner at T (by
 * the same longest-prefix, dynamic-before-static rule the tagger uses)
 * has the file's access type, service or class, as
 *   ip in [ ADDR ADDR/LEN ... ]
 * so that `nfdump -f pppoe.nf` selects the flows with at least one end
 * in it.  nfdump keeps such a list in a tree that needs disjoint
 * prefixes, so a prefix that has more specific prefixes of other owners
 * inside is written as the pieces around them.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "subscriber.h"

typedef struct {
  LeasePrefix p;
  LeaseKind kind;
  guint32 user;
  gint parent;        /* index of the enclosing entry, -1: none */
  GArray *children;   /* indexes of directly enclosed entries */
} Entry;

typedef struct {
  SubIndex *ix;
  guint32 at;
  GArray *entries;
} Collect;

static void
collect_active (const LeasePrefix *p, LeaseKind kind, guint32 head,
                gpointer data)
{
  Collect *c = data;
  for (guint32 id = head; id; id = lease_table_binding (c->ix->table, id)->next)
    {
      const LeaseBinding *b = lease_table_binding (c->ix->table, id);
      if (b->start <= c->at)
        {
          if (c->at < b->end)
            {
              Entry e = { *p, kind, b->user, -1, NULL };
              g_array_append_val (c->entries, e);
            }
          return;
        }
    }
}

static int
addr_cmp (const NfsubAddr *a, const NfsubAddr *b)
{
  if (a->hi != b->hi)
    return a->hi < b->hi ? -1 : 1;
  if (a->lo != b->lo)
    return a->lo < b->lo ? -1 : 1;
  return 0;
}

static gint
entry_order (gconstpointer x, gconstpointer y)
{
  const Entry *a = x, *b = y;
  if (a->p.family != b->p.family)
    return a->p.family < b->p.family ? -1 : 1;
  int c = addr_cmp (&a->p.addr, &b->p.addr);
  if (c)
    return c;
  if (a->p.plen != b->p.plen)
    return a->p.plen < b->p.plen ? -1 : 1;
  return (int) a->kind - (int) b->kind; /* dynamic first */
}

static gboolean
contains (const LeasePrefix *outer, const LeasePrefix *inner)
{
  if (outer->family != inner->family || inner->plen < outer->plen)
    return FALSE;
  LeasePrefix m;
  lease_prefix_make (&m, &inner->addr, inner->family, outer->plen);
  return nfsub_addr_equal (&m.addr, &outer->addr);
}

typedef gboolean (*Category) (const LeaseUser *u);
static gboolean cat_pppoe (const LeaseUser *u) { return u->access == NFSUB_ACCESS_PPPOE; }
static gboolean cat_ipoe (const LeaseUser *u) { return u->access == NFSUB_ACCESS_IPOE; }
static gboolean cat_mobile (const LeaseUser *u) { return u->access == NFSUB_ACCESS_MOBILE; }
static gboolean cat_broadband (const LeaseUser *u) { return u->service == NFSUB_SERVICE_BROADBAND; }
static gboolean cat_mobile_service (const LeaseUser *u) { return u->service == NFSUB_SERVICE_MOBILE; }
static gboolean cat_personal (const LeaseUser *u) { return u->user_class == NFSUB_CLASS_PERSONAL; }
static gboolean cat_enterprise (const LeaseUser *u) { return u->user_class == NFSUB_CLASS_ENTERPRISE; }
static gboolean cat_all (const LeaseUser *u) { return TRUE; }

static const struct {
  const char *file;
  const char *what;
  Category match;
} categories[] = {
  { "pppoe.nf", "access pppoe", cat_pppoe },
  { "ipoe.nf", "access ipoe", cat_ipoe },
  { "mobile.nf", "access mobile", cat_mobile },
  { "broadband.nf", "service broadband", cat_broadband },
  { "mobile-service.nf", "service mobile", cat_mobile_service },
  { "personal.nf", "class personal", cat_personal },
  { "enterprise.nf", "class enterprise", cat_enterprise },
  { "subscribers.nf", "every subscriber", cat_all },
};

static void
emit (GString *out, const LeasePrefix *p, guint *count)
{
  char buf[NFSUB_ADDR_STRLEN];
  nfsub_addr_to_string (&p->addr, buf);
  if (p->plen == (p->family == 4 ? 32 : 128))
    g_string_append_printf (out, "%s\n", buf);
  else
    g_string_append_printf (out, "%s/%u\n", buf, p->plen);
  (*count)++;
}

/* p minus the prefixes in `holes` (all inside p, none equal to p). */
static void
emit_minus (GString *out, const LeasePrefix *p, GPtrArray *holes,
            guint *count)
{
  if (holes->len == 0)
    {
      emit (out, p, count);
      return;
    }
  for (guint i = 0; i < holes->len; i++)
    if (((LeasePrefix *) holes->pdata[i])->plen == p->plen)
      return; /* covered whole */
  guint max = p->family == 4 ? 32 : 128;
  if (p->plen >= max)
    return;
  for (int bit = 0; bit < 2; bit++)
    {
      LeasePrefix half = *p;
      half.plen = p->plen + 1;
      if (bit)
        {
          /* set the bit after the prefix, in IPv6 numbering */
          guint pos = (p->family == 4 ? 96 : 0) + p->plen;
          if (pos < 64)
            half.addr.hi |= G_GUINT64_CONSTANT (1) << (63 - pos);
          else
            half.addr.lo |= G_GUINT64_CONSTANT (1) << (127 - pos);
        }
      g_autoptr (GPtrArray) inside = g_ptr_array_new ();
      for (guint i = 0; i < holes->len; i++)
        if (contains (&half, holes->pdata[i]))
          g_ptr_array_add (inside, holes->pdata[i]);
      emit_minus (out, &half, inside, count);
    }
}

static gboolean
write_all (SubIndex *ix, GArray *e, gint64 at, const char *dir,
           GPtrArray *written, GError **error)
{
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_FAILED,
                   "cannot create %s: %s", dir, g_strerror (errno));
      return FALSE;
    }
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (at);
  g_autofree char *when = g_date_time_format_iso8601 (dt);
  for (gsize k = 0; k < G_N_ELEMENTS (categories); k++)
    {
      g_autoptr (GString) list = g_string_new (NULL);
      guint count = 0;
      for (guint i = 0; i < e->len; i++)
        {
          Entry *x = &g_array_index (e, Entry, i);
          if (!categories[k].match (lease_table_user (ix->table, x->user)))
            continue;
          g_autoptr (GPtrArray) holes = g_ptr_array_new ();
          for (guint j = 0; j < x->children->len; j++)
            g_ptr_array_add (holes,
                             &g_array_index (e, Entry,
                                             g_array_index (x->children, gint,
                                                            j))
                                .p);
          emit_minus (list, &x->p, holes, &count);
        }
      g_autoptr (GString) text = g_string_new (NULL);
      g_string_append_printf (text,
                              "# nfsub filters: %s at %s (%" G_GINT64_FORMAT
                              "), %u prefixes\n"
                              "# flows with at least one end in this list\n",
                              categories[k].what, when, at, count);
      if (ix->config->rules && rules_have_flow_rules (ix->config->rules))
        g_string_append (text,
                         "# note: access decided per router interface "
                         "(exporter/if rules) is not expressible here\n");
      if (count == 0)
        g_string_append (text, "not any\n");
      else
        g_string_append_printf (text, "ip in [\n%s]\n", list->str);
      g_autofree char *path = g_build_filename (dir, categories[k].file, NULL);
      if (!g_file_set_contents (path, text->str, (gssize) text->len, error))
        return FALSE;
      if (written)
        g_ptr_array_add (written, g_strdup (path));
    }
  return TRUE;
}

gboolean
write_filter_files (SubIndex *ix, gint64 at, const char *dir,
                    GPtrArray *written, GError **error)
{
  Collect c = { ix, at < 0 ? 0 : at > G_MAXUINT32 ? G_MAXUINT32 : (guint32) at,
                g_array_new (FALSE, FALSE, sizeof (Entry)) };
  lease_table_foreach (ix->table, collect_active, &c);
  g_array_sort (c.entries, entry_order);

  /* the same prefix both dynamic and static: the dynamic one owns it */
  GArray *e = g_array_new (FALSE, FALSE, sizeof (Entry));
  for (guint i = 0; i < c.entries->len; i++)
    {
      Entry *x = &g_array_index (c.entries, Entry, i);
      if (e->len > 0)
        {
          Entry *last = &g_array_index (e, Entry, e->len - 1);
          if (last->p.family == x->p.family && last->p.plen == x->p.plen
              && nfsub_addr_equal (&last->p.addr, &x->p.addr))
            continue;
        }
      g_array_append_val (e, *x);
    }
  g_array_unref (c.entries);

  /* nesting: sorted by address then length, an entry's parent is the
   * nearest earlier entry that contains it */
  GArray *stack = g_array_new (FALSE, FALSE, sizeof (gint));
  for (guint i = 0; i < e->len; i++)
    {
      Entry *x = &g_array_index (e, Entry, i);
      x->children = g_array_new (FALSE, FALSE, sizeof (gint));
      while (stack->len > 0
             && !contains (&g_array_index (e, Entry,
                                           g_array_index (stack, gint,
                                                          stack->len - 1))
                              .p,
                           &x->p))
        g_array_set_size (stack, stack->len - 1);
      if (stack->len > 0)
        {
          gint parent = g_array_index (stack, gint, stack->len - 1);
          x->parent = parent;
          gint self = (gint) i;
          g_array_append_val (g_array_index (e, Entry, parent).children, self);
        }
      gint self = (gint) i;
      g_array_append_val (stack, self);
    }
  g_array_unref (stack);

  gboolean ok = write_all (ix, e, at, dir, written, error);
  for (guint i = 0; i < e->len; i++)
    g_array_unref (g_array_index (e, Entry, i).children);
  g_array_unref (e);
  return ok;
}
