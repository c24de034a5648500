/* usage: the on-disk store of per-user daily counters.
 *
 * One store per source (flows, radius) in its own directory:
 *
 *   days/YYYYMMDD.day     one compacted file per calendar day: every user
 *                         seen that day, sorted by key, front-coded keys
 *                         and varint counters (see README.md)
 *   pending/SEQ.delta     what one run (or one nfcapd file) added, for one
 *                         or more days, plus the identities of the input
 *                         files it covers; written atomically, so a delta
 *                         is the commit point of a run
 *   ledger/BUCKET.tsv     identities of input files whose deltas have been
 *                         compacted away (so a file is never counted twice)
 *   extra.bin            an opaque blob the owner keeps in step with the
 *                         data (the RADIUS session state)
 *
 * Every file is written with nfsub_write_file_atomic.  A kill at any point
 * leaves either the old or the new version of each file, and the order of
 * writes (day files first, then ledger, then deleting deltas) makes every
 * intermediate state read the same totals.
 */
#ifndef USAGE_STORE_H
#define USAGE_STORE_H

#include <glib.h>

G_BEGIN_DECLS

#define USAGE_KEY_MAX 1024

typedef struct {
  guint64 in_bytes;
  guint64 out_bytes;
  /* Sampled packets (packets / sampling rate): the number of packets the
   * router actually looked at, which sets the estimate's error. */
  guint64 in_pkts;
  guint64 out_pkts;
} UsageCounters;

static inline void
usage_counters_add (UsageCounters *a, const UsageCounters *b)
{
  a->in_bytes += b->in_bytes;
  a->out_bytes += b->out_bytes;
  a->in_pkts += b->in_pkts;
  a->out_pkts += b->out_pkts;
}

/* Service, class and access of a user, packed in one byte. */
static inline guint8
usage_meta_pack (guint service, guint user_class, guint access)
{
  return (guint8) ((service & 3) | (user_class & 3) << 2 | (access & 3) << 4);
}
static inline guint usage_meta_service (guint8 m) { return m & 3; }
static inline guint usage_meta_class (guint8 m) { return (m >> 2) & 3; }
static inline guint usage_meta_access (guint8 m) { return (m >> 4) & 3; }

/* ---- sections: a sorted run of (key, meta, counters) ---- */

typedef struct {
  GByteArray *bytes;
  guint64 n_entries;
  GString *last_key;
} UsageSectionWriter;

void usage_section_writer_init (UsageSectionWriter *w);
void usage_section_writer_clear (UsageSectionWriter *w);
/* Keys must come in strictly increasing strcmp order. */
void usage_section_writer_add (UsageSectionWriter *w, const char *key,
                               gsize key_len, guint8 meta,
                               const UsageCounters *c);
/* The encoded section: varint count, then the entries. */
GBytes *usage_section_writer_finish (UsageSectionWriter *w);

typedef struct {
  const guint8 *start, *p, *end;
  guint64 remaining;
  const char *file;     /* for errors */
  gsize file_offset;    /* of `start` in the file */
  char key[USAGE_KEY_MAX + 1];
  gsize key_len;
  guint8 meta;
  UsageCounters c;
} UsageSectionReader;

gboolean usage_section_reader_init (UsageSectionReader *r, const guint8 *data,
                                    gsize len, const char *file,
                                    gsize file_offset, GError **error);
/* 1: an entry is in r->key/meta/c; 0: end; -1: corrupt (error names the
 * file and byte offset). */
int usage_section_reader_next (UsageSectionReader *r, GError **error);

/* ---- k-way merge of sections by key ---- */

typedef struct UsageMerge UsageMerge;

UsageMerge *usage_merge_new (void);
/* `priority` decides whose meta wins for a key found in several sections
 * (highest wins: later data describes the user's current tags).  `tag` is
 * returned in the per-entry source mask (bit `tag`, tag < 64). */
void usage_merge_add (UsageMerge *m, UsageSectionReader *reader,
                      guint64 priority, guint tag);
/* Starts the merge; reads the first entry of each section. */
gboolean usage_merge_start (UsageMerge *m, GError **error);
/* 1: merged entry (counters summed over sections); 0: end; -1: error. */
int usage_merge_next (UsageMerge *m, const char **key, gsize *key_len,
                      guint8 *meta, UsageCounters *c, guint64 *tag_mask,
                      GError **error);
void usage_merge_free (UsageMerge *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsageMerge, usage_merge_free)

/* ---- a delta being built by one run ---- */

typedef struct UsageDelta UsageDelta;

UsageDelta *usage_delta_new (void);
void usage_delta_free (UsageDelta *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsageDelta, usage_delta_free)
/* Identity of an input file this delta covers, and the ledger bucket it
 * goes to once compacted (e.g. the file's slot day, "20240603"). */
void usage_delta_add_file (UsageDelta *d, const char *bucket,
                           const char *identity);
/* Takes the encoded section of one day (julian day number). */
void usage_delta_set_day (UsageDelta *d, guint32 julian, GBytes *section,
                          guint64 n_entries);
void usage_delta_set_extra (UsageDelta *d, GBytes *extra);
gboolean usage_delta_is_empty (UsageDelta *d);

/* ---- the store ---- */

typedef struct UsageStore UsageStore;

/* Opens (creating the folders) and reads the headers of pending deltas.
 * With `sweep` (the plugin, under the host's state lock, in a new
 * process) it also removes deltas the committed day files contain,
 * after moving their input files to the ledger.  Readers pass FALSE. */
UsageStore *usage_store_open (const char *dir, gboolean sweep, GError **error);
/* Bytes of written files kept for reading back in this process. */
void usage_store_set_cache_budget (UsageStore *s, gsize bytes);
void usage_store_free (UsageStore *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsageStore, usage_store_free)
const char *usage_store_dir (UsageStore *s);

/* Whether an input file with this identity has been counted. */
gboolean usage_store_has_file (UsageStore *s, const char *bucket,
                               const char *identity, gboolean *found,
                               GError **error);
/* Writes the delta as the next pending file (the commit point). */
gboolean usage_store_commit (UsageStore *s, UsageDelta *d, GError **error);

/* Merges pending deltas into day files: every day when `force`; else the
 * days before `closed_before` (julian; 0 = none) and the days whose pending
 * data has grown to the size of their day file (at least `min_bytes`).
 * Deltas then merged everywhere are dropped from this store's view; their
 * files go at the next open with `sweep`. */
gboolean usage_store_compact (UsageStore *s, guint32 closed_before,
                              gsize min_bytes, gboolean force,
                              GError **error);

/* The newest extra blob (from the pending deltas, else extra.bin); *out is
 * NULL when there is none. */
gboolean usage_store_extra (UsageStore *s, GBytes **out, GError **error);

guint usage_store_n_pending (UsageStore *s);

/* Sorted julian days that have data (a day file or pending sections). */
GArray *usage_store_days (UsageStore *s);

/* Everything known about one day, for reading. */
typedef struct {
  guint32 julian;
  gboolean present;     /* a day file or pending data exists */
  guint64 merged_through; /* of the day file (0: none) */
  guint64 n_inputs;     /* input files (deltas' files) that added to it */
  GPtrArray *readers;   /* UsageSectionReader*, day file first */
  GPtrArray *priorities;/* guint64 as pointers, parallel to readers */
  GPtrArray *blobs;     /* keeps the bytes alive */
} UsageDayData;

UsageDayData *usage_store_read_day (UsageStore *s, guint32 julian,
                                    GError **error);
void usage_day_data_free (UsageDayData *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsageDayData, usage_day_data_free)

/* TRUE for the error of a reader that lost a race with a writer (a delta
 * merged and removed after it was listed): opening again and re-reading
 * gives a consistent result. */
gboolean usage_store_error_is_race (const GError *error);

/* Total bytes of the store's files (days, pending, ledger). */
guint64 usage_store_disk_bytes (UsageStore *s);

/* Julian day <-> "YYYY-MM-DD" / YYYYMMDD. */
guint32 usage_julian_from_ymd (int y, int m, int d);
void usage_julian_to_ymd (guint32 julian, int *y, int *m, int *d);
char *usage_julian_to_string (guint32 julian); /* "2024-06-03" */
gboolean usage_julian_parse (const char *text, guint32 *julian);

G_END_DECLS

#endif
