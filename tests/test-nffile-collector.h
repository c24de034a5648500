/* nfsub tests: the nfcapd files the shared fixture helper
 * (tests/testutil.h) cannot make: several nfsim runs into one nfcapd (two
 * exporters in one file), an ident (-I), nfcapd with no input at all, and
 * nfcapd restarted within its time slot (it then appends to the file).
 *
 * Starts a real nfcapd on a free loopback UDP port (foreground child, with
 * a pid file), feeds it from contrib/nfsim, waits until nfcapd has drained
 * its socket, stops it by pid and returns the finished file.
 */
#ifndef NFSUB_TEST_NFFILE_COLLECTOR_H
#define NFSUB_TEST_NFFILE_COLLECTOR_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *format; /* "v9" or "ipfix" */
  guint64 flows;      /* flows nfsim generates (before sampling) */
  guint64 seed;
  guint32 sampling;   /* 1-in-N announced to nfcapd; 1: none */
  guint32 source_id;  /* v9 source id / IPFIX observation domain */
  const char *replay_file; /* instead of nfsim: nfreplay -v 5 this file */
} NfsimRun;

/* nfcapd, nfdump (as tests/testutil.h finds them) and nfsim exist */
gboolean collector_tools_available (void);
/* nfreplay (Debian's nfdump package has it) exists */
gboolean collector_nfreplay_available (void);

/* Runs nfcapd (options such as "-y" or "-z -s 100", or NULL; ident or NULL) in a
 * fresh DIR and sends the runs in order.  Returns the path of the single
 * file nfcapd wrote (retried if the run straddled a rotation). */
char *collector_make_file (const char *dir, const char *compression_flag,
                           const char *ident, const NfsimRun *runs,
                           guint n_runs, GError **error);

/* Starts nfcapd again in DIR (which holds `existing` from
 * collector_make_file), sends the runs, stops it.  Returns the path when
 * nfcapd appended to `existing` (same time slot), else NULL and an
 * error. */
char *collector_append_file (const char *dir, const char *compression_flag,
                             const char *ident, const NfsimRun *runs,
                             guint n_runs, const char *existing,
                             GError **error);

G_END_DECLS

#endif
