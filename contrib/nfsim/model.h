/* nfsim: the ISP population model (population mode).  See README.md. */
#ifndef NFSIM_MODEL_H
#define NFSIM_MODEL_H

#include "fit.h"
#include "nfsim.h"

typedef enum {
  GROUP_BROADBAND = 0, /* personal broadband (PPPoE and IPoE) */
  GROUP_MOBILE = 1,
  GROUP_ENTERPRISE = 2,
  N_GROUPS = 3,
} NfsimGroup;

typedef enum {
  ACCESS_PPPOE = 0,
  ACCESS_IPOE = 1,
  ACCESS_MOBILE = 2,
  ACCESS_TRANSIT = 3, /* pseudo-user: traffic of nobody */
  N_ACCESS = 4,
} NfsimAccess;

enum { DIR_IN = 0, DIR_OUT = 1 };

/* One row of a port share table: a traffic category and its byte share. */
typedef enum {
  CAT_PORT,    /* proto + server port, client port above it */
  CAT_LOW,     /* proto + some other well-known port (< 1024) */
  CAT_DYNAMIC, /* proto, both ports >= 1024 and not a listed port */
  CAT_NOPORT,  /* ESP, GRE, IP-in-IP, ICMP, other */
} NfsimCatKind;

typedef struct {
  char *name;     /* "tcp/443", "udp/dynamic", "esp" */
  NfsimCatKind kind;
  guint8 proto;   /* 6, 17, 50, 47, 4, 1 (58 for IPv6), 132 */
  guint16 port;
  double share;   /* percent */
} NfsimCategory;

typedef struct {
  GPtrArray *cats; /* NfsimCategory* */
  double total;
} NfsimPortTable;

typedef struct {
  double weekday[24], weekend[24]; /* normalised to sum 1 */
} NfsimProfile;

typedef struct {
  NfsimTargets target[2];       /* [DIR_IN], [DIR_OUT] */
  NfsimMixture mix[2];
  double fit_error[2];
  double in_out_correlation;
  double day_sigma;
  double weekend_factor;
  double sessions_per_day;      /* download sessions per user-day at the median */
  double ipv6_share;            /* PPPoE/mobile/enterprise: share of sessions */
  double rate_mbps_min, rate_mbps_max; /* session throughput range */
  NfsimProfile profile[2];      /* [dir] */
  NfsimPortTable *ports;
} NfsimGroupModel;

typedef struct {
  guint64 users;
  double mobile_share, enterprise_share, ipoe_share, both_share,
    enterprise_ipoe_share;

  char *week;       /* YYYY-MM-DD */
  guint days;
  char *timezone;
  gint64 week_start_ms; /* local midnight of week, as UTC epoch ms */
  gint32 utc_offset_s;  /* of the timezone at the week start */

  guint active_timeout_s, inactive_timeout_s;
  guint32 sampling[3];  /* [ACCESS_PPPOE], [ACCESS_IPOE], [ACCESS_MOBILE] */

  NfsimGroupModel group[N_GROUPS];
  NfsimPortTable port_tables[2]; /* broadband (also enterprise), mobile */
  double unattributed_share;
  double ack_ratio;

  guint interim_interval_s;
  double pppoe_session_hours, pppoe_reconnect_s;
  double mobile_session_hours, mobile_gap_minutes;
  double late_share;
  guint late_max_s;
  gboolean delegated_prefix;
  gboolean radius_gzip;

  guint kea_valid_lifetime_s, kea_renew_interval_s;
  double kea_renumber_share;
  guint ipoe_prefix_length;

  GKeyFile *keyfile; /* the effective config */
} NfsimConfig;

const char *nfsim_default_config (void);
/* defaults, then `path` (may be NULL) on top; unknown groups/keys and bad
 * values are errors naming the key */
NfsimConfig *nfsim_config_load (const char *path, const NfsimOptions *opt,
                                GError **error);
void nfsim_config_free (NfsimConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NfsimConfig, nfsim_config_free)

#endif
