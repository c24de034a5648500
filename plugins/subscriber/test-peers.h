/* subscriber tests: real peers on loopback (FreeRADIUS, Kea DHCPv6,
 * nfcapd fed with hand-made flows) and small shared helpers. */
#ifndef SUBSCRIBER_TEST_PEERS_H
#define SUBSCRIBER_TEST_PEERS_H

#include <glib.h>
#include <gio/gio.h>

#include "contrib/nfsim/export.h"

G_BEGIN_DECLS

/* ---- FreeRADIUS (recipe: docs/real-peers.md) ---- */
typedef struct {
  char *dir;         /* temp dir holding raddb/, radacct/, logs */
  char *acct_dir;    /* radacct/127.0.0.1: where the detail files appear */
  guint16 port;      /* accounting port on 127.0.0.1 */
  GSubprocess *proc;
} TestRadius;

/* NULL with a reason in *skip when freeradius/radclient are missing. */
TestRadius *test_radius_start (const char *dir, char **skip, GError **error);
/* Sends accounting requests (attribute lines; packets separated by a blank
 * line) one at a time, in order, with radclient; waits for each answer. */
gboolean test_radius_send (TestRadius *r, const char *packets,
                           GError **error);
void test_radius_stop (TestRadius *r);
/* The detail files the server wrote (sorted). */
char **test_radius_detail_files (TestRadius *r);

/* ---- Kea DHCPv6 (recipe: docs/real-peers.md) ---- */
typedef struct {
  char *dir;
  char *lease_file;
  char *socket_path;
  GSubprocess *proc;
} TestKea;

TestKea *test_kea_start (const char *dir, char **skip, GError **error);
/* Sends one JSON command over the control socket; returns the answer. */
char *test_kea_command (TestKea *k, const char *json, GError **error);
void test_kea_stop (TestKea *k);

/* ---- nfcapd fed with exactly these flows ---- */
/* Runs a real nfcapd (-t 86400, compression flag or "") on a free port,
 * exports the records as NetFlow v9 from one router, stops nfcapd and
 * returns the path of the one file it wrote. */
char *test_nfcapd_file (const char *dir, const NfsimRecord *records, guint n,
                        const char *compression, GError **error);

/* Helpers */
NfsimRecord test_flow_v4 (const char *src, const char *dst, guint64 first_ms,
                          guint64 bytes);
NfsimRecord test_flow_v6 (const char *src, const char *dst, guint64 first_ms,
                          guint64 bytes);
void test_write_file (const char *path, const char *text);
/* The built nfsub CLI. */
const char *test_nfsub_binary (void);

G_END_DECLS

#endif
