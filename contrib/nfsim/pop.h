/* nfsim: internal state of population mode, shared by population.c
 * (users, bindings, flow generation), assign.c (RADIUS/Kea/static files)
 * and truth.c (ground truth). */
#ifndef NFSIM_POP_H
#define NFSIM_POP_H

#include "model.h"

/* A period during which a user holds addresses: a RADIUS session (PPPoE,
 * mobile), an IPoE delegation between renumberings, or an enterprise's
 * static prefixes (the whole run). */
typedef struct {
  gint64 start_ms, stop_ms; /* stop_ms = G_MAXINT64: still up at the end */
  guint32 user;
  guint32 v4;               /* host order; 0: none */
  guint64 v6_64;            /* framed /64 (PPPoE, mobile): top 64 bits */
  guint64 pd;               /* delegated prefix (PPPoE, IPoE, enterprise): top 64 bits */
  guint8 pd_len;
  guint8 v4_len;            /* enterprise /29 */
  guint32 session_id;       /* RADIUS Acct-Session-Id */
  guint32 lease_iaid;
  /* RADIUS counters: exact bytes/packets per interim slot since start */
  guint32 n_slots;
  guint64 *slots;           /* n_slots x [in_bytes, out_bytes, in_pkts, out_pkts] */
} Binding;

typedef struct {
  guint8 group;     /* NfsimGroup */
  guint8 access;    /* NfsimAccess */
  guint8 n_hosts;   /* IPoE, enterprise, PPPoE-v6: host addresses in the prefix */
  char name[12];    /* u000001, e000001, m000001 */
  char key[20];     /* pppoe:u000001 */
  double daily[2];  /* target bytes/day, [DIR_IN], [DIR_OUT] */
  guint32 bind_first, bind_count;
  guint64 host_lo[4];   /* interface ids */
  guint16 host_net[4];  /* subnet within the delegated prefix */
  guint64 duid_no;      /* IPoE: DUID suffix */
  /* ground truth: days x [true_in, true_out, sampled_in, sampled_out] */
  guint64 *acc;
  /* sampled packets, for the usage plugin's sampling error estimates */
  guint64 sampled_packets[2];
} User;

/* traffic aggregation groups of the ground truth (ports, hourly) */
typedef enum {
  TG_BROADBAND = 0, /* PPPoE + IPoE, personal + enterprise */
  TG_PPPOE,
  TG_IPOE,
  TG_MOBILE,
  TG_ALL,           /* every record, unattributed included */
  N_TG,
} TrafficGroup;

/* port rows of the truth, by the lower-of-two-ports rule */
#define N_PORT_ROWS 64

typedef struct {
  guint64 bytes[2][N_PORT_ROWS]; /* [true/sampled][row] */
} PortAcc;

enum { HC_TCP80, HC_TCP443, HC_TCP_DYN, HC_UDP443, HC_TOTAL, N_HC };

typedef struct {
  NfsimOptions opt;
  NfsimConfig *cfg;
  guint64 seed;
  gint64 start_ms, end_ms;
  guint n_hours;
  guint8 *weekend; /* per day: Saturday or Sunday (local) */

  GArray *users;    /* User */
  GArray *bindings; /* Binding */
  guint32 transit_user;
  double group_median[N_GROUPS][2];  /* bytes/day, of the fitted mixture */

  /* truth accumulators */
  gboolean collect;        /* pass 1: truth; pass 2: export */
  guint64 rec_true, pkt_true, byte_true;
  guint64 rec_exported[3], pkt_sampled[3], byte_sampled[3]; /* per exporter */
  guint64 proto_stat[4][3]; /* tcp/udp/icmp/other x [flows, packets, bytes] (scaled) */
  guint64 unattr_true, unattr_sampled;
  guint64 *hourly;          /* N_TG x 4 (in,out,in_s,out_s) x n_hours */
  guint64 *hourly_cat;      /* N_TG x N_HC x n_hours, sampled */
  PortAcc ports[N_TG];
  char *port_row_names[N_PORT_ROWS];
  guint n_port_rows;

  /* bytes given to each port category so far, per port table */
  double cat_bytes[2][64];
  double cat_total[2];

  /* export */
  NfsimExporter *exporters[3];
  guint64 exported_so_far, export_total;
  gint64 progress_last_us, export_begin_us;
} Pop;

/* day and hour index (local) of a time, relative to the week start */
static inline gint
pop_hour_index (const Pop *pop, gint64 t_ms)
{
  return (gint) ((t_ms - pop->start_ms) / 3600000);
}

gboolean nfsim_write_assignments (Pop *pop, const char *dir, GError **error);
gboolean nfsim_write_truth (Pop *pop, const char *dir, GError **error);

#endif
