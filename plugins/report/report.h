/* report: the weekly report's model, shared by its parts.
 *
 *   report.c      the `nfsub report` command: options, running the other
 *                 plugins' commands, putting the pieces together
 *   inputs.c      reading `nfsub usage --json` and `nfsub ports --json`
 *   traffic.c     the RRD time series (rrdtool xport / rrdtool graph)
 *   plots.c       gnuplot figures (densities, scatter, monthly traffic)
 *   tables.c      the tables, each cell a number and its printed text
 *   output.c      report.json and index.html
 */
#ifndef REPORT_REPORT_H
#define REPORT_REPORT_H

#include <glib.h>
#include <nfsub/plugin.h>

#include "json/json.h"

G_BEGIN_DECLS

#define REPORT_PLUGIN "report"

typedef enum { SERVICE_BROADBAND, SERVICE_MOBILE, N_SERVICES } ReportService;
typedef enum { DIR_IN, DIR_OUT, N_DIRS } ReportDir;

extern const char *const report_service_names[N_SERVICES];  /* broadband */
extern const char *const report_service_titles[N_SERVICES]; /* Broadband */
extern const char *const report_dir_names[N_DIRS];          /* in, out */
extern const char *const report_dir_titles[N_DIRS];         /* IN, OUT */

/* One direction of one service's daily-usage statistics for a week.
 * Volumes in bytes/day; shares are fractions 0..1; NAN when unknown. */
typedef struct {
  double mean, median, mode;
  double top10_share, top1_share;
  double total;                 /* sum of daily usage over users */
  /* density over log10(bytes/day): bin i centred on
   * density_first + i * density_step, per decade */
  GArray *density;              /* double */
  GArray *density_smoothed;     /* double, may be empty */
  double unreliable_below;      /* bytes/day; 0 = none; NAN = unknown */
} UsageDir;

typedef struct {
  gboolean present;             /* the week had users of this service */
  gboolean from_accounting;     /* volumes from RADIUS counters, not flows */
  guint64 users;
  UsageDir dir[N_DIRS];
  double density_first, density_step;
  GArray *scatter_in, *scatter_out; /* bytes/day pairs of the sample */
  double client_cut;            /* bytes/day; NAN unknown */
  double client_user_share;     /* users uploading less than client_cut */
} UsageService;

/* One row of Table 3/4: a protocol or port and its share of bytes. */
typedef struct {
  char *key;      /* stable id: "tcp", "tcp_lt1024", "tcp/443", "udp/4500" */
  char *label;    /* as printed: "TCP", "(< 1024)", "443" */
  guint level;    /* 0 protocol, 1 port range, 2 port */
  double share;   /* percent of the week's bytes */
} PortRow;

typedef struct {
  gboolean present;
  GPtrArray *rows; /* PortRow*, in table order */
  double total_bytes;
} PortsService;

typedef struct {
  char *date;          /* YYYY-MM-DD, first day of the week */
  GDateTime *start;    /* 00:00 of that day in the report's time zone */
  gint64 start_epoch, end_epoch; /* [start, start + 7 days) */
  int year;
  char *label;         /* what tables and legends call it: "2024" or the date */
  gboolean is_main;
  gboolean missing;    /* compare week without data: left out */
  char *missing_reason;
  UsageService usage[N_SERVICES];
  PortsService ports[N_SERVICES];
  NfsubJson *usage_json, *ports_json; /* as read, kept for report.json */
} ReportWeek;

/* A table as shown: every cell a number (NAN: blank) and its text. */
typedef struct {
  char *text;
  double value;
} ReportCell;

typedef struct {
  char *label;
  guint level;     /* indentation, for Tables 3/4 */
  gboolean is_group; /* a section heading row spanning the table */
  GPtrArray *cells; /* ReportCell* */
} ReportRow;

typedef struct {
  char *id;         /* "table1" */
  char *number;     /* "Table 1" or "" */
  char *title;
  char *caption;
  char *unit;       /* shown above the columns */
  GPtrArray *columns; /* char* */
  GPtrArray *rows;    /* ReportRow* */
} ReportTable;

typedef struct {
  char *id;          /* "fig3": file names fig3.png, fig3.svg */
  char *number;      /* "Figure 3" */
  char *title;
  char *caption;
  char *tool;        /* "rrdtool graph" or "gnuplot" */
  gboolean made;     /* png and svg exist */
  gboolean no_data;  /* not made for want of data (not a failure) */
  char *error;       /* why not made */
  NfsubJson *data;       /* the numbers the figure shows (owned) */
} ReportFigure;

/* One series of the monthly traffic figure (bytes/s averaged per month). */
typedef struct {
  char *key;        /* "broadband_pppoe_in" */
  char *label;      /* "Broadband PPPoE IN" */
  GArray *monthly;  /* double, one per month from Report.first_month */
} TrafficSeries;

typedef struct {
  NfsubHost *host;
  char *out_dir;
  char *fig_dir;
  char *work_dir;        /* gnuplot data and scripts (kept: reproducible) */
  char *nfsub_exe;       /* this binary, for the other plugins' commands */
  char *plugin_dir;      /* --plugin-dir the user gave, or NULL */
  char *gnuplot, *rrdtool;
  char *assets_dir;      /* gnuplot templates, CSS */
  char *rrd_dir;
  char *rrdcached;
  GTimeZone *tz;
  char *title;
  char *base_month;      /* "YYYY-MM" or NULL: the first month with data */
  gboolean keep_work;

  GPtrArray *weeks;      /* ReportWeek*, main first, then compares */
  GPtrArray *warnings;   /* char* shown on the page and in report.json */
  GPtrArray *highlights; /* char*: "at a glance" sentences */
  double main_ipoe_share[N_DIRS]; /* fraction, main week; NAN unknown */
  GPtrArray *tables;     /* ReportTable* */
  GPtrArray *figures;    /* ReportFigure* */
  NfsubJson *traffic_json;   /* monthly traffic, growth, IPoE share */
  GPtrArray *traffic_series; /* TrafficSeries* */
  int first_month_year, first_month_mon;
  guint n_months;
  int base_month_index;  /* -1: none */
  guint input_failures;  /* `nfsub usage/ports` runs that failed */
} Report;

/* report.c */
gboolean report_run_tool (Report *r, const char *const *argv, char **out,
                          GError **error);
void report_warn (Report *r, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
ReportWeek *report_main_week (Report *r);
ReportWeek *report_week_years_before (Report *r, int years);

/* highlights.c */
void report_highlights (Report *r);

/* inputs.c */
gboolean report_read_usage (Report *r, ReportWeek *w, const char *json_path,
                            GError **error);
gboolean report_read_ports (Report *r, ReportWeek *w, const char *json_path,
                            GError **error);
void report_week_free (ReportWeek *w);

/* traffic.c */
gboolean report_traffic (Report *r, GError **error);

/* plots.c */
gboolean report_plot_gnuplot (Report *r, ReportFigure *fig,
                              const char *template_name, const char *vars,
                              GError **error);
void report_usage_figures (Report *r);
/* a service's monthly OUT that Figure 1 divides by, and its month */
double report_service_base (Report *r, const char *service, int *month_index);

/* tables.c */
ReportTable *report_table_new (const char *id, const char *number,
                               const char *title);
void report_table_free (ReportTable *t);
ReportRow *report_table_add_row (ReportTable *t, const char *label);
void report_row_add (ReportRow *row, double value, const char *text);
void report_usage_tables (Report *r);
void report_ports_tables (Report *r);

/* figures */
ReportFigure *report_figure_new (Report *r, const char *id,
                                 const char *number, const char *title);
void report_figure_free (ReportFigure *f);
void report_figure_failed (Report *r, ReportFigure *fig, GError *error);

/* output.c */
/* The report's JSON (report.json, figure data): doubles with 10
 * significant digits, every digit a table shows and no 0.1 + 0.2 noise. */
void report_json_writer_init (NfsubJsonWriter *w, GString *out);
gboolean report_write_json (Report *r, GError **error);
gboolean report_write_html (Report *r, GError **error);

/* formatting shared by tables and figures */
char *report_format_mb (double bytes);       /* 5,620 */
char *report_format_percent (double frac, int decimals);
char *report_format_thousands (double v, int decimals);
char *report_format_bytes (double bytes);    /* "224 MB", "5.6 GB" */

G_END_DECLS

#endif
