/* nfsim: a minimal streaming JSON writer for the ground-truth files. */
#ifndef NFSIM_JSON_H
#define NFSIM_JSON_H

#include <glib.h>

typedef struct {
  GString *out;
  /* per nesting level: does the next member need a comma? */
  gboolean need_comma[64];
  int depth;
  gboolean after_key;
} NfsimJson;

void nfsim_json_init (NfsimJson *j);
/* NULL key inside arrays */
void nfsim_json_begin_object (NfsimJson *j, const char *key);
void nfsim_json_end_object (NfsimJson *j);
void nfsim_json_begin_array (NfsimJson *j, const char *key);
void nfsim_json_end_array (NfsimJson *j);
void nfsim_json_uint (NfsimJson *j, const char *key, guint64 v);
void nfsim_json_int (NfsimJson *j, const char *key, gint64 v);
void nfsim_json_double (NfsimJson *j, const char *key, double v);
void nfsim_json_string (NfsimJson *j, const char *key, const char *v);
void nfsim_json_bool (NfsimJson *j, const char *key, gboolean v);
/* writes atomically (temp file + rename); frees the buffer */
gboolean nfsim_json_write (NfsimJson *j, const char *path, GError **error);

#endif
