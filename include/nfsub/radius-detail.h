/* nfsub: reader for FreeRADIUS `detail` accounting files.
 *
 * rlm_detail writes one record per accounting request:
 *
 *   Mon Jun  3 00:00:01 2024                      <- date line (server's local time)
 *   \tAcct-Status-Type = Start                    <- tab-indented "Name = value"
 *   \tUser-Name = "alice"
 *   \tEvent-Timestamp = "Jun  3 2024 00:00:01 UTC"
 *   \tTimestamp = 1717372801                      <- arrival time, epoch seconds
 *                                                 <- blank line ends the record
 *
 * The reader returns every attribute of every record generically (name and
 * value as text, in file order, with their line numbers), so any plugin can
 * use any attribute; typed helpers below cover the common ones.  Files may
 * be gzip-compressed (detected by their magic bytes, not their name);
 * offsets and line numbers then count the uncompressed stream.
 *
 * Reading can resume: nfsub_radius_detail_offset()/_line() after the last
 * record give the position to pass to nfsub_radius_detail_open() next time.
 * With NFSUB_RADIUS_DETAIL_FOLLOW the file is taken as still being written:
 * a last record not yet ended by a blank line is not returned and the
 * resume position stays before it.
 *
 * Records and attributes returned are valid until the next call of
 * nfsub_radius_detail_next() or nfsub_radius_detail_close().
 */
#ifndef NFSUB_RADIUS_DETAIL_H
#define NFSUB_RADIUS_DETAIL_H

#include <glib.h>
#include <nfsub/flow.h>

G_BEGIN_DECLS

typedef struct {
  const char *name;  /* as written, e.g. "Framed-IP-Address" */
  const char *value; /* quotes removed, \" \\ \t \n \r \ooo unescaped;
                        unquoted values as written ("10.0.0.1", "Start") */
  guint64 line;      /* 1-based line number in the (uncompressed) file */
} NfsubRadiusAttr;

typedef struct {
  const char *path;     /* the file, as passed to open */
  guint64 line;         /* line number of the date line */
  guint64 offset;       /* byte offset of the date line */
  guint64 end_offset;   /* byte offset just after the record's blank line */
  const char *date;     /* the date line, e.g. "Mon Jun  3 00:00:01 2024" */
  guint n_attrs;
  const NfsubRadiusAttr *attrs; /* in file order; names may repeat */
} NfsubRadiusRecord;

typedef enum {
  NFSUB_RADIUS_DETAIL_NONE = 0,
  /* The file may still grow: an unterminated last record is left unread. */
  NFSUB_RADIUS_DETAIL_FOLLOW = 1 << 0,
} NfsubRadiusDetailFlags;

typedef struct NfsubRadiusDetail NfsubRadiusDetail;

/* Opens `path` (plain or gzip) and positions it at `offset` (bytes of the
 * uncompressed stream; 0: start), which must be a record boundary returned
 * by nfsub_radius_detail_offset() before; `line` is the line number there
 * (0 at offset 0).  An offset past the end is an error (the file shrank:
 * the caller should start again from 0). */
NfsubRadiusDetail *nfsub_radius_detail_open (const char *path, guint64 offset,
                                             guint64 line,
                                             NfsubRadiusDetailFlags flags,
                                             GError **error);
/* The same over bytes in memory (plain or gzip); `name` is used in
 * messages.  For tests and fuzzers. */
NfsubRadiusDetail *nfsub_radius_detail_new_from_bytes (
  const char *name, GBytes *data, NfsubRadiusDetailFlags flags);

/* Reads the next record.  Returns 1 with *record set, 0 at the end, or -1
 * with `error` set (NFSUB_ERROR_INPUT, the message names the file and the
 * line).  After a malformed record the reader has already moved past it
 * (to the next blank line), so calling again goes on with the next record:
 * stop at the first error, or skip and count, as the caller decides.
 * An I/O or decompression error is final: every later call returns -1. */
int nfsub_radius_detail_next (NfsubRadiusDetail *detail,
                              const NfsubRadiusRecord **record,
                              GError **error);

/* Resume position: the byte offset and line number just after the last
 * record returned or skipped. */
guint64 nfsub_radius_detail_offset (NfsubRadiusDetail *detail);
guint64 nfsub_radius_detail_line (NfsubRadiusDetail *detail);
/* Malformed records skipped so far (each also returned -1 once). */
guint64 nfsub_radius_detail_malformed (NfsubRadiusDetail *detail);
/* TRUE when the input is gzip-compressed. */
gboolean nfsub_radius_detail_is_compressed (NfsubRadiusDetail *detail);

void nfsub_radius_detail_close (NfsubRadiusDetail *detail);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NfsubRadiusDetail, nfsub_radius_detail_close)

/* ---- typed helpers ----
 * Each getter returns TRUE with *out set when the attribute is present and
 * valid; FALSE with `error` unset when it is absent; FALSE with `error` set
 * (naming file, line and attribute) when it is present but malformed.
 * Names compare case-insensitively; the first occurrence is used. */

const NfsubRadiusAttr *nfsub_radius_record_find (const NfsubRadiusRecord *r,
                                                 const char *name);
/* The value text, or NULL when absent. */
const char *nfsub_radius_record_get (const NfsubRadiusRecord *r,
                                     const char *name);

/* Decimal integer (Acct-Session-Time, Acct-Input-Octets, Timestamp ...). */
gboolean nfsub_radius_record_get_uint64 (const NfsubRadiusRecord *r,
                                         const char *name, guint64 *out,
                                         GError **error);
/* IPv4 or IPv6 address (Framed-IP-Address, NAS-IP-Address ...). */
gboolean nfsub_radius_record_get_addr (const NfsubRadiusRecord *r,
                                       const char *name, NfsubAddr *out,
                                       GError **error);
/* "ADDR/LEN" (Framed-IPv6-Prefix, Delegated-IPv6-Prefix); the address is
 * returned with the host bits cleared; prefix_len counts IPv6 bits (an IPv4
 * prefix is returned IPv4-mapped with prefix_len 96 + its length). */
gboolean nfsub_radius_record_get_prefix (const NfsubRadiusRecord *r,
                                         const char *name, NfsubAddr *out,
                                         guint *prefix_len, GError **error);
/* A date attribute (Event-Timestamp) as epoch seconds: FreeRADIUS's
 * "Jun  3 2024 00:00:01 UTC" form (zone UTC/GMT/Z or +hhmm; any other zone
 * name is taken as `tz`, NULL meaning UTC), or plain epoch digits. */
gboolean nfsub_radius_record_get_time (const NfsubRadiusRecord *r,
                                       const char *name, GTimeZone *tz,
                                       gint64 *out, GError **error);

typedef enum {
  NFSUB_RADIUS_STATUS_NONE = 0, /* absent or unknown */
  NFSUB_RADIUS_STATUS_START = 1,
  NFSUB_RADIUS_STATUS_STOP = 2,
  NFSUB_RADIUS_STATUS_INTERIM = 3, /* Interim-Update (Alive) */
  NFSUB_RADIUS_STATUS_ACCOUNTING_ON = 7,
  NFSUB_RADIUS_STATUS_ACCOUNTING_OFF = 8,
} NfsubRadiusStatus;
/* Acct-Status-Type by name ("Start", "Interim-Update", "Alive" ...) or
 * number. */
NfsubRadiusStatus nfsub_radius_record_status (const NfsubRadiusRecord *r);

/* Acct-Input-Octets + 2^32 * Acct-Input-Gigawords (input = from the user,
 * i.e. upload / IN) or the Output pair (to the user, download / OUT).
 * Present when the Octets attribute is. */
gboolean nfsub_radius_record_get_octets (const NfsubRadiusRecord *r,
                                         gboolean input, guint64 *out,
                                         GError **error);

/* When the event happened, epoch seconds: Event-Timestamp if present,
 * else Timestamp minus Acct-Delay-Time, else the date line (read in `tz`,
 * NULL meaning UTC).  -1 with `error` set when none of them is usable. */
gint64 nfsub_radius_record_event_time (const NfsubRadiusRecord *r,
                                       GTimeZone *tz, GError **error);
/* When the server wrote the record: Timestamp, else the date line. */
gint64 nfsub_radius_record_arrival_time (const NfsubRadiusRecord *r,
                                         GTimeZone *tz, GError **error);

/* Parses a date line ("Mon Jun  3 00:00:01 2024", ctime() layout) in `tz`
 * (NULL: UTC).  FALSE when it is not one. */
gboolean nfsub_radius_parse_date_line (const char *line, GTimeZone *tz,
                                       gint64 *out);

G_END_DECLS

#endif /* NFSUB_RADIUS_DETAIL_H */
