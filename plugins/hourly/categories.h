/* User-defined categories (NfSen-like channels) shared by the hourly and
 * ports plugins: config keys `category.NAME = <nfdump filter>`, one RRD
 * file each (cat-NAME.rrd: in, out, unattributed, late). */
#ifndef NFSUB_PLUGIN_CATEGORIES_H
#define NFSUB_PLUGIN_CATEGORIES_H

#include <nfsub/nfsub.h>
#include <nfsub/rrd.h>

G_BEGIN_DECLS

typedef struct Categories Categories;

/* Compiles every `category.NAME` key of `group`; files go to rrd_dir. */
Categories *categories_new (NfsubHost *host, GKeyFile *config,
                            const char *group, const char *rrd_dir,
                            GError **error);
void categories_free (Categories *cats);
guint categories_count (Categories *cats);
/* Appends three cell names per category to `names` (remembering where). */
void categories_add_cells (Categories *cats, GPtrArray *names);
/* Adds the batch's matching flows to the bins. */
void categories_account (Categories *cats, NfsubBins *bins,
                         NfsubBatch *batch);
/* Queues one point per category file for a closed bin. */
void categories_emit (Categories *cats, NfsubRrd *rrd, gint64 bin_start,
                      const guint64 *row, const guint64 *late);

/* nfsub_config_check_keys with `fixed` plus every category.NAME key. */
gboolean categories_check_keys (NfsubHost *host, GKeyFile *config,
                                const char *group, const char *const *fixed,
                                GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Categories, categories_free)

G_END_DECLS

#endif
