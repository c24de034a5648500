/* nfsim: shared declarations of the flow simulator. */
#ifndef NFSIM_H
#define NFSIM_H

#include <glib.h>

#include "export.h"
#include "json/json.h"
#include "rng.h"

typedef struct {
  char *target;        /* collector HOST:PORT; NULL: generate files only */
  NfsimFormat format;
  NfsimTemplate tmpl;  /* data templates (random mode) */
  guint32 source_id;   /* v9 source id / IPFIX observation domain */
  guint64 seed;
  guint32 sampling;    /* 1-in-N; 1 = unsampled */
  double rate;         /* flows per second on the wire, 0 = unpaced */
  char *truth_path;
  gboolean verbose;
  gboolean progress;

  /* random mode */
  guint64 flows;
  guint64 start_ms;
  guint32 duration_s;

  /* population mode */
  char *config_path;
  char *out_dir;
  gint64 users;        /* overrides the config when > 0 */
  gint days;           /* overrides the config when > 0 */
  char *week;          /* overrides the config's start day */
  gboolean no_files;   /* export only: the files of an earlier identical run stand */
} NfsimOptions;

int nfsim_run_random (const NfsimOptions *opt, GError **error);
int nfsim_run_population (const NfsimOptions *opt, GError **error);

/* "2024-06-03", "2024-06-03T00:00:00Z", "2024-06-03 00:00:00" (UTC) or
 * epoch seconds -> epoch ms */
gboolean nfsim_parse_time (const char *text, guint64 *out_ms);

/* Starts a truth file: its layout (containers from the third level on
 * one line, so a user is one line; doubles with 10 significant digits),
 * the top object and the members every truth file begins with. */
void nfsim_truth_begin (NfsubJsonWriter *w, GString *out, const char *mode,
                        guint64 seed);

#endif
