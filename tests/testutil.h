/* nfsub test helpers (tests/libtestutil.la).
 *
 * Fixtures: real nfcapd files made by running the simulator
 * (contrib/nfsim/nfsim) into a real nfcapd on a free loopback UDP port.
 * A fixture is built once per build tree and cached under
 *   $NFSUB_BUILDDIR/tests/fixtures/NAME/
 *     flows/            nfcapd's flow directory (the nfcapd.* files)
 *     sim/              nfsim's --out-dir: truth.json and, in population
 *                       mode, the RADIUS/Kea/static assignment files
 *     recipe            what it was built from (rebuilt when it changes,
 *                       e.g. new arguments or a rebuilt nfsim)
 *     nfcapd.log, nfsim.log
 * guarded by an flock on fixtures/NAME.lock, so parallel tests asking for
 * the same NAME wait for one build.  Use one NAME per argument set.
 *
 * Environment (set by `make check`): NFSUB_BUILDDIR, NFSUB_SRCDIR, NFCAPD,
 * NFDUMP.  Without NFSUB_BUILDDIR the helpers use the current directory;
 * without NFCAPD/NFDUMP they use nfcapd/nfdump from PATH.
 */
#ifndef NFSUB_TESTUTIL_H
#define NFSUB_TESTUTIL_H

#include <glib.h>

G_BEGIN_DECLS

/* $NFSUB_BUILDDIR or "."; $NFSUB_SRCDIR or "."; $NFCAPD or "nfcapd";
 * $NFDUMP or "nfdump"; path of the built simulator. */
const char *nfsub_test_builddir (void);
const char *nfsub_test_srcdir (void);
const char *nfsub_test_nfcapd (void);
const char *nfsub_test_nfdump (void);
const char *nfsub_test_nfsim (void);

/* The path of ONE complete nfcapd file for fixture NAME, built if needed:
 *   nfcapd -w DIR/flows -b 127.0.0.1 -p PORT -t 86400 -P DIR/nfcapd.pid
 *          -B 8388608 [compression]
 *   nfsim --target 127.0.0.1:PORT --out-dir DIR/sim [-r 200000] NFSIM_ARGS
 * compression: "" (none), "-z" (LZO), "-y" (LZ4), "-j" (BZ2), or NULL = "".
 * nfsim_args: shell-quoted arguments, e.g. "-n 20000 -S 10 -s 7" (random
 * mode) or "-u 500 -d 1" (population mode); a rate is added unless the
 * arguments give one (-r/--rate).
 * nfcapd rotates on the arrival clock (UTC days with -t 86400); if the
 * export happens to straddle UTC midnight and yields two files, the
 * fixture is rebuilt once (it cannot happen twice in a row).  It is also
 * rebuilt once at half the rate if nfcapd reports sequence failures (lost
 * packets); a second loss is an error.
 * Returns a newly allocated path, or NULL with error set. */
char *nfsub_test_fixture (const char *name, const char *compression,
                          const char *nfsim_args, GError **error);

/* Like nfsub_test_fixture but nfcapd rotates every rotate_seconds (>= 2;
 * below 60 nfcapd names files nfcapd.YYYYMMDDhhmmss) and the result is
 * the flow directory holding every complete nfcapd.* file (no
 * nfcapd.current.*), for multi-file tests.  How many files result depends
 * on the export time, i.e. flows / rate (give -r in nfsim_args).
 * Returns the directory, or NULL with error set. */
char *nfsub_test_fixture_dir (const char *name, const char *compression,
                              guint rotate_seconds, const char *nfsim_args,
                              GError **error);

/* The simulator output directory (DIR/sim) of a fixture returned above:
 * pass the file or directory path that nfsub_test_fixture{,_dir}
 * returned.  truth.json is in it. */
char *nfsub_test_fixture_sim_dir (const char *fixture_path);

/* Sorted list of the complete nfcapd.* files in dir (NULL-terminated,
 * free with g_strfreev). */
char **nfsub_test_list_nfcapd_files (const char *dir);

/* Runs argv (argv[0] searched in PATH) and returns its stdout.  A non-zero
 * exit is an error whose message carries the command and its stderr.
 * If exit_status is non-NULL a non-zero exit is not an error: the status
 * is stored there and stdout returned. */
char *nfsub_test_run (const char *const *argv, int *exit_status,
                      GError **error);
/* Same with a shell-style command line, e.g. "nfdump -r F -I". */
char *nfsub_test_run_line (const char *command_line, int *exit_status,
                           GError **error);
/* $NFDUMP with the given arguments (NULL-terminated), stdout returned. */
char *nfsub_test_nfdump_output (GError **error, const char *first_arg, ...)
  G_GNUC_NULL_TERMINATED;

/* The stat record of an nfcapd file as `nfdump -r FILE -I` prints it. */
typedef struct {
  guint64 flows, flows_tcp, flows_udp, flows_icmp, flows_other;
  guint64 packets, packets_tcp, packets_udp, packets_icmp, packets_other;
  guint64 bytes, bytes_tcp, bytes_udp, bytes_icmp, bytes_other;
  guint64 first, last; /* epoch seconds */
  guint64 sequence_failures;
} NfsubTestStat;
gboolean nfsub_test_nfdump_stat (const char *file, NfsubTestStat *stat,
                                 GError **error);

/* A fresh temporary directory (g_dir_make_tmp with "nfsub-PREFIX-XXXXXX")
 * and its recursive removal. */
char *nfsub_test_tmpdir (const char *prefix);
void nfsub_test_rm_rf (const char *path);

/* A UDP port on 127.0.0.1 that was free a moment ago. */
guint16 nfsub_test_free_udp_port (void);

/* The receive queue of the UDP socket bound to 127.0.0.1:port (v6: [::1]),
 * from /proc/net/udp{,6}; -1 while no such socket exists.  Lets a test
 * wait until nfcapd has bound its port, and drained what was sent to it
 * before it is told to stop. */
gint64 nfsub_test_udp_rx_queue (guint16 port, gboolean v6);

/* A real nfcapd on 127.0.0.1 (a free port), writing into flows with
 * rotation every rotate seconds and the compression flag given (-y, -z,
 * -j or NULL); its pid file and log go into dir.  Returns once it listens.
 * stop() waits until it has read what was sent (at most drain_ms), stops
 * it with SIGTERM and waits for it to close its last file. */
typedef struct _NfsubTestNfcapd NfsubTestNfcapd;
NfsubTestNfcapd *nfsub_test_nfcapd_start (const char *dir, const char *flows,
                                          guint rotate,
                                          const char *compression,
                                          GError **error);
guint16 nfsub_test_nfcapd_port (const NfsubTestNfcapd *nfcapd);
gboolean nfsub_test_nfcapd_stop (NfsubTestNfcapd *nfcapd, guint drain_ms,
                                 GError **error);
void nfsub_test_nfcapd_free (NfsubTestNfcapd *nfcapd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NfsubTestNfcapd, nfsub_test_nfcapd_free)

/* JSON reader for ground truth files (truth.json) and JSON outputs: the
 * tests' names for src/json's reader (NfsubTestJson is its NfsubJson).
 * Numbers are doubles (exact for integers up to 2^53); errors name the
 * file (or "JSON"), line and column. */
typedef struct NfsubJson NfsubTestJson;
typedef enum {
  NFSUB_TEST_JSON_NULL,
  NFSUB_TEST_JSON_BOOL,
  NFSUB_TEST_JSON_NUMBER,
  NFSUB_TEST_JSON_STRING,
  NFSUB_TEST_JSON_ARRAY,
  NFSUB_TEST_JSON_OBJECT,
} NfsubTestJsonType;

NfsubTestJson *nfsub_test_json_parse (const char *text, GError **error);
NfsubTestJson *nfsub_test_json_load (const char *path, GError **error);
void nfsub_test_json_free (NfsubTestJson *json);
NfsubTestJsonType nfsub_test_json_type (const NfsubTestJson *node);
/* Member of an object by key, or NULL. */
const NfsubTestJson *nfsub_test_json_member (const NfsubTestJson *node,
                                             const char *key);
/* Walks a dotted path of object keys and array indexes, e.g.
 * "expected_nfcapd.by_proto.tcp.bytes" or "hourly.out.3"; NULL if absent. */
const NfsubTestJson *nfsub_test_json_path (const NfsubTestJson *node,
                                           const char *path);
/* Number/string/bool at a dotted path; aborts the test (g_error) naming
 * the path if it is absent or of another type. */
double nfsub_test_json_number (const NfsubTestJson *node, const char *path);
/* the same with the path built printf-style ("users.%s.count", name) */
double nfsub_test_json_numberf (const NfsubTestJson *node, const char *fmt,
                                ...) G_GNUC_PRINTF (2, 3);
const char *nfsub_test_json_string (const NfsubTestJson *node,
                                    const char *path);
/* Arrays and objects: number of elements; i-th element (objects: i-th
 * member in file order, with its key in *key if non-NULL). */
guint nfsub_test_json_length (const NfsubTestJson *node);
const NfsubTestJson *nfsub_test_json_index (const NfsubTestJson *node,
                                            guint i, const char **key);
double nfsub_test_json_get_number (const NfsubTestJson *node); /* this node */
const char *nfsub_test_json_get_string (const NfsubTestJson *node);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NfsubTestJson, nfsub_test_json_free)

G_END_DECLS

#endif /* NFSUB_TESTUTIL_H */
