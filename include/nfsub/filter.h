/* nfsub: nfdump filter expressions, evaluated natively.
 *
 * The language is the common subset of nfdump's (proto, ip/net/port with
 * src/dst, in/out if, router ip, bytes, packets, flags, inet/inet6,
 * and/or/not, parentheses) plus nfsub's own tags (user, access, service,
 * direction).  Anything outside it is a compile error naming the token
 * and its position: never a silently different result.
 */
#ifndef NFSUB_FILTER_H
#define NFSUB_FILTER_H

#include <glib.h>
#include <nfsub/flow.h>

G_BEGIN_DECLS

#define NFSUB_FILTER_ERROR (nfsub_filter_error_quark ())
GQuark nfsub_filter_error_quark (void);

typedef enum {
  NFSUB_FILTER_ERROR_SYNTAX,      /* "position 12: unexpected 'foo'" */
  NFSUB_FILTER_ERROR_UNSUPPORTED, /* valid nfdump, outside nfsub's subset */
  NFSUB_FILTER_ERROR_VALUE,       /* bad address, port out of range ... */
} NfsubFilterError;

typedef struct NfsubFilter NfsubFilter;

NfsubFilter *nfsub_filter_compile (const char *expression, GError **error);

gboolean nfsub_filter_match (const NfsubFilter *filter, const NfsubFlow *flow);

/* Writes to `out` the indexes of the flows in flows[0..n) that match,
 * restricted to `in` (n_in indexes) when `in` is not NULL.  `out` must
 * hold n (or n_in) entries; it may be the same array as `in`.  Returns
 * the number written. */
guint nfsub_filter_select (const NfsubFilter *filter, const NfsubFlow *flows,
                           guint n, const guint32 *in, guint n_in,
                           guint32 *out);

/* The expression as compiled (for logs and `nfsub filters`). */
const char *nfsub_filter_expression (const NfsubFilter *filter);

void nfsub_filter_free (NfsubFilter *filter);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NfsubFilter, nfsub_filter_free)

G_END_DECLS

#endif
