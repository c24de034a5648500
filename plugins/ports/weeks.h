/* ports plugin: byte counts per protocol and lower port for one week.
 *
 * A week is Monday 00:00 to the next Monday 00:00 in the configured time
 * zone ([nfsub] timezone), named after its Monday ("2024-06-03").  A flow
 * belongs to the week of its start.  Counters are kept per "port cell":
 * the service/access pair of a subscriber end (nfsub_tag_index, 12) or
 * unattributed (12); a flow with both ends subscribers counts in both
 * ends' cells, as in the IN/OUT series.
 */
#ifndef NFSUB_PORTS_WEEKS_H
#define NFSUB_PORTS_WEEKS_H

#include <nfsub/nfsub.h>
#include <nfsub/rrd.h>

G_BEGIN_DECLS

#define PORT_CELLS (NFSUB_TAG_INDEXES + 1)
#define PORT_CELL_UNATTRIBUTED NFSUB_TAG_INDEXES
#define N_PORTS 65536

enum { PORT_TCP = 0, PORT_UDP = 1 };
enum { PORT_LOW = 0, PORT_HIGH = 1 }; /* lower port < 1024, >= 1024 */

/* One flat counter array per cell, so a flow end is one increment
 * wherever its bytes go: [0, 65536) TCP by lower port, [65536, 131072)
 * UDP by lower port, then one counter per other IP protocol. */
#define PORT_SLOT_PROTO (2 * N_PORTS)
#define PORT_SLOTS (2 * N_PORTS + 256)

typedef struct {
  guint64 *counts;    /* PORT_SLOTS, or NULL before the cell's first flow */
  /* Bytes of ports a compaction dropped (kept in their < / >= 1024 group
   * so the group totals stay exact): [PORT_TCP/UDP][PORT_LOW/HIGH]. */
  guint64 rest[2][2];
} PortCell;

typedef struct {
  gint64 start;       /* seconds */
  gint64 end;
  char *label;        /* local date of the Monday, YYYY-MM-DD */
  PortCell cells[PORT_CELLS];
  GHashTable *files;  /* file keys (guint64 *) whose flows are in here */
  gboolean dirty;     /* changed since loaded */
} PortWeek;

/* The week containing `t` (seconds) in `tz`. */
PortWeek *port_week_new (GTimeZone *tz, gint64 t);
void port_week_free (PortWeek *w);
/* Start (seconds) and label of the week containing `t`. */
gint64 port_week_start (GTimeZone *tz, gint64 t, char **label);
/* ISO 8601 week-numbering year and week of a week's Monday. */
void port_week_iso (GTimeZone *tz, gint64 start, int *year, int *week);

guint64 *port_cell_alloc (PortCell *c);

/* The slot of a flow: arithmetic rather than branches (see
 * ports_category).  TCP: lower; UDP: N_PORTS + lower; other protocols:
 * PORT_SLOT_PROTO + proto. */
static inline guint
port_slot (guint8 proto, guint16 lower)
{
  guint tcp = proto == 6, udp = proto == 17;
  guint ported = (guint) -(tcp | udp);
  guint with_port = udp * N_PORTS + lower;
  guint other = PORT_SLOT_PROTO + proto;
  return (with_port & ported) | (other & ~ported);
}

static inline void
port_cell_add (PortCell *c, guint slot, guint64 bytes)
{
  guint64 *counts = c->counts;
  if (G_UNLIKELY (!counts))
    counts = port_cell_alloc (c);
  counts[slot] += bytes;
}

/* Counters of protocol k's ports (NULL: none yet). */
static inline const guint64 *
port_cell_ports (const PortCell *c, guint k)
{
  return c->counts ? c->counts + (gsize) k * N_PORTS : NULL;
}

/* Bytes of an IP protocol (TCP and UDP: every port and the rest). */
guint64 port_cell_proto (const PortCell *c, guint8 proto);
guint64 port_cell_total (const PortCell *c);

/* Sum over the cells a series selects (spec NULL: the unattributed cell)
 * into `out` (zeroed first; out->ports allocated). */
void port_cell_sum (const PortWeek *w, const NfsubSeriesSpec *spec,
                    PortCell *out);
void port_cell_clear (PortCell *c);
/* Bytes of TCP/UDP (k) in the < or >= 1024 group (g). */
guint64 port_cell_group (const PortCell *c, guint k, guint g);

/* Keeps, per protocol, the ports of `fixed` and the `keep` largest ports
 * of every series a report can ask for; the others go to `rest`. */
void port_week_compact (PortWeek *w, guint keep, const guint16 *fixed_tcp,
                        guint n_fixed_tcp, const guint16 *fixed_udp,
                        guint n_fixed_udp);

#define PORT_WEEK_TYPE "(xxsata(qatataqataqat))"
GVariant *port_week_save (const PortWeek *w);
PortWeek *port_week_load (GVariant *v, GError **error);

void port_week_add_file (PortWeek *w, guint64 key);

G_END_DECLS

#endif
