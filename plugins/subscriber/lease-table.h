/* subscriber: the time-aware longest-prefix-match table of address
 * bindings (who held which address or prefix when).
 *
 * One open-addressing hash table per (family, prefix length, kind): IPv4
 * /32 and IPv6 /56 or /48 keys are plain integers, so a lookup is a hash
 * probe per length present, longest first.  Each key heads a chain of
 * bindings sorted by start time, newest first; the binding that applies at
 * time T is the newest one that started at or before T, if T is before its
 * end.  A newer start therefore ends an older binding of the same key even
 * when the older one never saw a Stop ("latest start wins").  At equal
 * length, dynamic bindings (RADIUS, Kea) are tried before static ones, so
 * a static entry is the fallback while no dynamic binding is active.
 *
 * A slot holds its key and newest binding.  For tagging, the longest
 * table of each family is mirrored, while its keys are dense (address
 * pools), by a hot index: 32-byte pairs addressed by the prefix number,
 * the newest binding's times, packed user and key text reference, and
 * the same of the binding behind it; so the usual lookup (the newest
 * binding applies, or for a flow from before a reconnect the one
 * behind) reads one half cache line and nothing else.  A
 * prefilter bitmap (IPv4 /16s, IPv6 /32s that hold a binding) stops most
 * lookups of Internet addresses before any table.  Batches of lookups
 * (lease_table_tag_flows) are a software pipeline that keeps many of
 * their cache misses in flight.
 *
 * Memory: 28 bytes per binding, 16 bytes per hash slot (load <= 0.7),
 * 36 bytes per hot entry (pages at most 4 entries per key), 16 bytes +
 * 8 bytes of index + the key text per user.  Key text is freed with the
 * table: tags' key pointers are valid while it lives.
 */
#ifndef SUBSCRIBER_LEASE_TABLE_H
#define SUBSCRIBER_LEASE_TABLE_H

#include <glib.h>
#include <nfsub/flow.h>

G_BEGIN_DECLS

#define LEASE_END_OPEN G_MAXUINT32

typedef struct {
  guint32 start;      /* epoch seconds, inclusive */
  guint32 end;        /* epoch seconds, exclusive; change it only with
                         lease_table_set_end() */
  guint32 user;       /* user id, >= 1 */
  guint32 next;       /* the next older binding of the same key, 0: none */
  guint8 service;     /* the user's, when the binding was added */
  guint8 user_class;
  guint8 access;
  guint8 table;       /* private: where the key's slot is, while newest */
  guint32 slot;       /* private */
  guint32 key_ref;    /* private: the user's key text */
} LeaseBinding;

/* What a lookup found: enough to fill a tag without another access.  The
 * first fields are laid out as an NfsubSubscriberTag, so that tagging
 * copies them as a whole. */
typedef struct {
  const char *key;    /* the user's key, NULL: no binding */
  guint32 user;
  guint8 service, user_class, access;
  guint8 reserved;    /* 0 */
  guint32 binding;
} LeaseHit;

typedef struct {
  const char *key;    /* "ACCESS:NAME", interned for the table's life */
  guint8 service;     /* NfsubService */
  guint8 user_class;  /* NfsubClass */
  guint8 access;      /* NfsubAccess */
  guint8 reserved;
  guint32 key_ref;    /* private: the key's place in the table's key text */
} LeaseUser;

typedef enum {
  LEASE_DYNAMIC = 0,
  LEASE_STATIC = 1,
} LeaseKind;

/* A prefix in its family's own bits: IPv4 plen 0..32, IPv6 0..128.  The
 * address is IPv4-mapped for IPv4, host bits clear. */
typedef struct {
  NfsubAddr addr;
  guint8 family; /* 4 or 6 */
  guint8 plen;
} LeasePrefix;

typedef struct LeaseTable LeaseTable;

LeaseTable *lease_table_new (void);
void lease_table_free (LeaseTable *t);

/* ---- users ---- */
#define LEASE_MAX_USERS ((1u << 26) - 1)
/* The id of `key`, creating the user if new; service/class/access are
 * (re)set to the given values unless they are UNKNOWN (0). */
guint32 lease_table_intern_user (LeaseTable *t, const char *key,
                                 guint8 service, guint8 user_class,
                                 guint8 access);
/* 0 when unknown */
guint32 lease_table_find_user (LeaseTable *t, const char *key);
const LeaseUser *lease_table_user (LeaseTable *t, guint32 id);
guint32 lease_table_n_users (LeaseTable *t); /* ids are 1..n */

/* ---- bindings ---- */
/* Clears host bits; FALSE if plen is out of range for the family. */
gboolean lease_prefix_make (LeasePrefix *p, const NfsubAddr *addr,
                            guint8 family, guint plen);
/* Adds a binding and returns its id (stable for the table's life). */
guint32 lease_table_add (LeaseTable *t, LeaseKind kind, const LeasePrefix *p,
                         guint32 start, guint32 end, guint32 user);
const LeaseBinding *lease_table_binding (LeaseTable *t, guint32 id);
/* Ends a binding at `end` (keeps the slot's copy in step). */
void lease_table_set_end (LeaseTable *t, guint32 id, guint32 end);
/* Makes room for n more dynamic bindings (bulk loads). */
void lease_table_reserve_bindings (LeaseTable *t, gsize n);
/* Makes room for `keys` more prefixes of one length (bulk loads). */
void lease_table_reserve (LeaseTable *t, LeaseKind kind, guint8 family,
                          guint8 plen, gsize keys);
guint32 lease_table_n_bindings (LeaseTable *t); /* ids are 1..n */
/* The newest binding of exactly this prefix, 0: none. */
guint32 lease_table_latest (LeaseTable *t, LeaseKind kind,
                            const LeasePrefix *p);
/* Drops every static binding (the static file is re-read as a whole). */
void lease_table_clear_static (LeaseTable *t);

/* The binding that applies to `addr` at `when`: longest prefix first,
 * dynamic before static at equal length.  0: none. */
guint32 lease_table_lookup (LeaseTable *t, const NfsubAddr *addr,
                            guint32 when);
/* The same, also giving the matching prefix and its kind. */
guint32 lease_table_lookup_match (LeaseTable *t, const NfsubAddr *addr,
                                  guint32 when, LeasePrefix *prefix,
                                  LeaseKind *kind);
/* The same for n addresses at once; overlaps the memory accesses of the
 * lookups (prefetching), which is what makes tagging cheap for big
 * tables. */
void lease_table_lookup_many (LeaseTable *t, guint n, const NfsubAddr *addrs,
                              const guint32 *whens, LeaseHit *out);
/* The time a flow is looked up at: its first second, clamped below
 * LEASE_END_OPEN. */
static inline guint32
lease_flow_time (const NfsubFlow *f)
{
  guint64 s = f->first_ms / 1000;
  return s >= LEASE_END_OPEN ? LEASE_END_OPEN - 1 : (guint32) s;
}

/* Tagging: the same for both ends of n flows, read in place, at
 * lease_flow_time ().  The tag of a bound end is written in place
 * (src_tag, dst_tag) and found[k] gets NFSUB_DIR_IN (flow k's source is
 * bound) and/or NFSUB_DIR_OUT (its destination).  Unbound ends' tags
 * are left alone and found[] is only ever ORed into. */
void lease_table_tag_flows (LeaseTable *t, guint n, NfsubFlow *flows,
                            guint8 *found);

/* Whether tagging reads family's (4 or 6) longest table through its hot
 * index (dense keys; decided before a batch is tagged). */
gboolean lease_table_hot (LeaseTable *t, guint8 family);

/* Every key with its binding chain (newest first). */
typedef void (*LeaseTableForeachFunc) (const LeasePrefix *p, LeaseKind kind,
                                       guint32 head, gpointer data);
void lease_table_foreach (LeaseTable *t, LeaseTableForeachFunc fn,
                          gpointer data);

/* Bytes the table holds (slots, bindings, users, key text). */
gsize lease_table_memory (LeaseTable *t);

G_END_DECLS

#endif
