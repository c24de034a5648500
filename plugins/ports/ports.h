/* ports plugin internals shared by ports.c and report.c (not installed). */
#ifndef NFSUB_PLUGIN_PORTS_H
#define NFSUB_PLUGIN_PORTS_H

#include <nfsub/nfsub.h>
#include <nfsub/rrd.h>

#include "../hourly/categories.h"
#include "../../src/rrd/bins-hot.h"
#include "../../src/rrd/plugin-config.h"
#include "weeks.h"

G_BEGIN_DECLS

/* Port categories of the RRD series (Figures 7 and 8). */
enum {
  PCAT_TCP80,
  PCAT_TCP443,
  PCAT_TCPDYN, /* TCP, lower port >= 1024 */
  PCAT_UDP443,
  PCAT_OTHER,
  N_PCATS
};

/* A flow end waiting to be added to a week's port counters: the counter
 * (a week's cell's counts, allocated for good until the week closes) and
 * the bytes. */
typedef struct {
  guint64 *counter;
  guint64 bytes;
} PortStaged;

typedef struct {
  GTimeZone *tz;
  char *state_path;
  char *weeks_dir;
  char *rrd_dir;
  char *unattributed_path;
  GPtrArray *series;     /* NfsubRrdSeries */
  Categories *categories;
  NfsubBins *bins;
  NfsubRrd *rrd;
  guint lateness;
  guint top;             /* ports per protocol added to the fixed ones */
  guint keep;            /* ports per protocol and series a closed week keeps */
  GArray *fixed[2];      /* guint16: TCP, UDP ports always shown */
  GPtrArray *weeks;      /* PortWeek, open */

  /* the file being processed */
  guint64 file_key;
  /* the week of the previous flow, [start, end) (wk NULL: a flow from the
   * future; start = end: none yet) */
  guint64 wk_start_ms, wk_end_ms;
  PortWeek *wk;
  guint64 future_limit_ms;
  NfsubBinsHotMode mode; /* how ports_process runs a batch (bins-hot.h) */
} PortsPlugin;

PortsPlugin *ports_plugin_new (NfsubHost *host, GKeyFile *config,
                               const char *group, gboolean connect,
                               GError **error);
void ports_plugin_free (gpointer self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PortsPlugin, ports_plugin_free)

/* Labels (YYYY-MM-DD) of every stored week, open or closed, sorted. */
GPtrArray *ports_stored_weeks (PortsPlugin *self, GError **error);
/* The week table with that label (open: the state's; closed: its file).
 * NULL with error if not stored.  Owned by the caller unless *borrowed. */
PortWeek *ports_get_week (PortsPlugin *self, const char *label,
                          gboolean *borrowed, GError **error);

/* Category of a flow for the RRD series, and its lower port (0 when the
 * protocol has no ports).  Written as arithmetic on 0/1 flags, not as
 * conditionals, which the compiler turns into branches: protocols and
 * ports of consecutive flows are as good as random, and mispredicted
 * branches cost more than the rest of the per-flow work.
 *   TCP: 80 -> TCP80 (0), 443 -> TCP443 (1), >= 1024 -> TCPDYN (2), else
 *   OTHER (4); UDP: 443 -> UDP443 (3), else OTHER; any other protocol:
 *   OTHER. */
G_STATIC_ASSERT (PCAT_TCP80 == 0 && PCAT_TCP443 == 1 && PCAT_TCPDYN == 2
                 && PCAT_UDP443 == 3 && PCAT_OTHER == 4);
static inline guint
ports_category (guint8 proto, guint16 sport, guint16 dport, guint16 *lower)
{
  guint p = sport < dport ? sport : dport;
  guint tcp = proto == 6, udp = proto == 17;
  guint is80 = p == 80, is443 = p == 443, dyn = p >= 1024;
  *lower = (guint16) (p & -(tcp | udp));
  return PCAT_OTHER - tcp * (2 * dyn + 4 * is80 + 3 * is443) - udp * is443;
}

/* `nfsub ports` (report.c).  Exit status: 0 done, 1 a failure (state
 * unreadable, a file not written), 2 bad arguments, PORTS_EXIT_NO_DATA
 * the asked week is not stored (plugins/ports/README.md; the report
 * plugin treats it as "no data", not as a failure). */
#define PORTS_EXIT_NO_DATA 3
int ports_report_command (NfsubHost *host, int argc, char **argv);

G_END_DECLS

#endif
