/* subscriber: internal interfaces shared by the plugin, its commands, its
 * tests and its benchmark (not installed). */
#ifndef SUBSCRIBER_SUBSCRIBER_H
#define SUBSCRIBER_SUBSCRIBER_H

#include <glib.h>
#include <nfsub/nfsub.h>
#include <nfsub/radius-detail.h>

#include "lease-table.h"

G_BEGIN_DECLS

#define SUBSCRIBER_PLUGIN "subscriber"

typedef enum {
  SOURCE_RADIUS = 1,
  SOURCE_KEA = 2,
  SOURCE_STATIC = 3,
} SourceKind;

/* ---- rules (rules.c) ----
 * rule.NAME = TERMS => ACTIONS
 *   terms (all must hold; repeated terms of one kind: any of them):
 *     source radius|kea|static, realm NAME, nas ADDR[/LEN], nas-id TEXT,
 *     pool PREFIX, exporter ADDR, if N
 *   actions: service=broadband|mobile class=personal|enterprise
 *            access=pppoe|ipoe|mobile user=ATTRIBUTE (RADIUS only)
 * Rules with exporter/if terms are flow rules: they decide only the
 * access, per flow end, from the router and the subscriber-side
 * interface (input interface for the source end, output for the
 * destination end). */
typedef struct RuleSet RuleSet;

typedef struct {
  SourceKind source;
  const char *realm;        /* NULL: none */
  const NfsubAddr *nas_ip;  /* NULL: none */
  const char *nas_id;       /* NULL: none */
  const LeasePrefix *prefixes;
  guint n_prefixes;
} RuleContext;

typedef struct {
  guint8 service, user_class, access;
  const char *user_attribute; /* RADIUS: which attribute names the user */
} RuleResult;

RuleSet *rules_parse (GKeyFile *kf, const char *group, const char *config_path,
                      GError **error);
void rules_free (RuleSet *rules);
/* Fills the fields of `result` still unset (0 / NULL) from the first
 * matching rule that sets them. */
void rules_apply (const RuleSet *rules, const RuleContext *ctx,
                  RuleResult *result);
gboolean rules_have_flow_rules (const RuleSet *rules);
/* The access a flow rule gives this (exporter, interface), 0: none. */
guint8 rules_flow_access (const RuleSet *rules, const NfsubAddr *exporter,
                          guint32 ifindex);

gboolean parse_service (const char *s, guint8 *out);
gboolean parse_class (const char *s, guint8 *out);
gboolean parse_access (const char *s, guint8 *out);
const char *service_name (guint8 v);
const char *class_name (guint8 v);
const char *access_name (guint8 v);
/* "300", "300s", "5m", "2h", "8d" */
gboolean parse_duration (const char *s, guint32 *seconds);
/* "2024-06-03T12:00:00Z", "2024-06-03 12:00", "2024-06-03", "@1717372801"
 * or plain epoch seconds; no zone given: `tz` */
gboolean parse_time (const char *s, GTimeZone *tz, gint64 *out);
/* "ADDR/LEN" or a bare address (full length) */
gboolean parse_prefix (const char *s, LeasePrefix *out);
const char *prefix_to_string (const LeasePrefix *p, char *buf /* 64 */);

/* ---- configuration (config.c) ---- */
typedef enum { CLOCK_WALL, CLOCK_LOG } GraceClock;
typedef enum { EARLY_WAIT, EARLY_FAIL, EARLY_PROCESS } EarlyFile;

typedef struct {
  char *config_path;
  char **radius_detail;     /* globs */
  char *radius_user;        /* default user attribute */
  gboolean radius_strip_realm;
  guint8 radius_service, radius_class, radius_access;
  GTimeZone *radius_timezone;
  guint32 session_max_age;

  char **kea_leases;        /* globs */
  char *kea_duid_map;
  gboolean kea_unmapped_skip;
  gboolean kea_na;          /* also IA_NA addresses as /128 */
  guint8 kea_service, kea_class, kea_access;

  char **static_files;
  guint8 static_service, static_class, static_access;

  RuleSet *rules;
  guint32 grace;
  GraceClock grace_clock;
  EarlyFile early_file;
  guint32 early_wait_max;
  guint32 retention;
  gboolean skip_errors;     /* on_error = skip */
  guint64 fingerprint;      /* of everything that shapes the index */
} SubConfig;

SubConfig *sub_config_load (NfsubHost *host, GKeyFile *kf, const char *group,
                            GError **error);
void sub_config_free (SubConfig *c);

/* ---- the index (index.c): bindings, sessions, file positions ---- */
typedef struct {
  guint64 id;          /* hash of NAS and Acct-Session-Id */
  guint32 binding[3];  /* Framed-IP-Address, Framed-IPv6-Prefix/-Address,
                          Delegated-IPv6-Prefix; 0: none */
  guint32 user;
  guint32 last_event;
  guint16 nas;
  guint8 closed;
  guint8 reserved;
} Session;

typedef struct {
  SourceKind kind;
  char *path;
  guint64 dev, ino, size;
  gint64 mtime;
  guint64 offset, line;
  guint32 fp_len;      /* fingerprint: hash of the first fp_len bytes */
  guint64 fp_hash;
  /* wall clock of the first scan that missed it, 0 while scans see it: kept
   * as "since" rather than "last seen" so that an index saved by the same
   * inputs is the same bytes whenever it is written (the crash test compares
   * state byte for byte) */
  gint64 gone_since;
  gboolean seen;       /* in this run's scan */
} TrackedFile;

typedef struct {
  guint64 records, applied, ignored, malformed;
  guint64 files_read, bytes_read;
} SourceStats;

/* kea_duid_map entries: open addressing on a 64-bit hash of the DUID
 * (hex, lower case); names live in one buffer. */
typedef struct {
  guint64 hash;     /* 0: empty */
  guint32 name;     /* offset into DuidMap.names */
  guint8 service, user_class, access;
  guint8 reserved;
} DuidSlot;

typedef struct {
  DuidSlot *slots;
  guint bits;
  gsize n;
  GString *names;
  guint64 file_size;
  gint64 file_mtime;
  gboolean loaded;
} DuidMap;

typedef struct {
  SubConfig *config;      /* not owned */
  LeaseTable *table;

  Session *sessions;      /* open addressing by id; id 0 = empty */
  guint session_bits;
  gsize n_sessions;

  GPtrArray *nas_names;   /* index -> name */
  GHashTable *nas_index;  /* name -> index + 1 */

  GPtrArray *files;       /* TrackedFile */
  DuidMap duid_map;       /* loaded when a lease file has new rows */
  GArray *kea_pending;    /* bindings removed by a row with no time */

  gint64 newest_event;    /* newest accounting event seen (RADIUS, Kea) */
  gint64 newest_arrival;  /* newest RADIUS Timestamp seen */
  gboolean dirty;         /* changed since loaded */
  guint n_static;

  SourceStats radius, kea, statics;
  guint errors_logged;
} SubIndex;

SubIndex *sub_index_new (SubConfig *config);
void sub_index_free (SubIndex *ix);
/* Loads STATE/subscriber/index.bin if it exists and was built from the
 * same configuration; otherwise starts empty (and says why). */
gboolean sub_index_load (SubIndex *ix, const char *path, GError **error);
gboolean sub_index_save (SubIndex *ix, const char *path, GError **error);
/* Reads what is new in every source (and the static files whole). */
gboolean sub_index_refresh (SubIndex *ix, GError **error);

/* A bad input record: error, or (on_error = skip) count and log. */
gboolean sub_index_input_error (SubIndex *ix, SourceStats *stats,
                                GError *error, GError **out);

Session *sub_index_session (SubIndex *ix, guint64 id, gboolean create);
guint16 sub_index_nas (SubIndex *ix, const char *name);

/* sources */
gboolean radius_source_refresh (SubIndex *ix, GError **error);
gboolean radius_apply_record (SubIndex *ix, const NfsubRadiusRecord *r,
                              GError **error);
gboolean kea_source_refresh (SubIndex *ix, GError **error);
gboolean kea_load_duid_map (SubIndex *ix, GError **error);
gboolean kea_apply_line (SubIndex *ix, const char *path, guint64 line_no,
                         char *line, const int *columns, GError **error);
gboolean static_source_load (SubIndex *ix, GError **error);

/* file tracking shared by the sources (index.c) */
typedef struct {
  char *path;
  guint64 dev, ino, size;
  gint64 mtime;
} ScannedFile;
GPtrArray *scan_globs (char **globs, GError **error); /* ScannedFile */
void scanned_file_free (gpointer p);
TrackedFile *sub_index_track (SubIndex *ix, SourceKind kind,
                              const ScannedFile *f, gboolean by_content);
guint64 fingerprint_file (const char *path, guint32 len, guint32 *got);

/* ---- tagging (tag.c) ---- */
typedef struct {
  guint64 flows, bytes, packets;
  guint64 in_flows, in_bytes;     /* source end is a subscriber's */
  guint64 out_flows, out_bytes;   /* destination end is a subscriber's */
  guint64 both_flows, both_bytes; /* both ends (counted in in and out) */
  guint64 unattr_flows, unattr_bytes, unattr_packets;
} TagCounters;

typedef struct {
  SubIndex *index;
  const RuleSet *rules;
  gboolean flow_rules;
  GHashTable *access_users;  /* (user << 2 | access) -> user */
  NfsubFlow *scratch;        /* the ends of a selection's flows */
  guint8 *dirs;              /* per flow of a batch */
  guint capacity;            /* flows dirs holds */
} Tagger;

void tagger_init (Tagger *tg, SubIndex *ix, const RuleSet *rules);
void tagger_clear (Tagger *tg);
void tagger_tag_batch (Tagger *tg, NfsubBatch *batch, TagCounters *c);

/* ---- nfdump filter files (filters.c) ---- */
gboolean write_filter_files (SubIndex *ix, gint64 at, const char *dir,
                             GPtrArray *written /* char* paths, may be NULL */,
                             GError **error);

/* ---- the plugin's commands (subscriber.c) ---- */
/* Opens the index read-only and brings it up to date in memory. */
SubIndex *sub_open_readonly (NfsubHost *host, SubConfig **config_out,
                             GError **error);

G_END_DECLS

#endif
