/* usage: a small streaming JSON writer (numbers, strings, nesting). */
#ifndef USAGE_JSONW_H
#define USAGE_JSONW_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  GString *out;
  guint depth;
  gboolean first[64];   /* nothing written yet at this depth */
  gboolean after_key;
} JsonW;

void jsonw_init (JsonW *w);
/* Returns the text (caller frees). */
char *jsonw_finish (JsonW *w);
void jsonw_begin_object (JsonW *w);
void jsonw_end_object (JsonW *w);
void jsonw_begin_array (JsonW *w);
void jsonw_end_array (JsonW *w);
void jsonw_key (JsonW *w, const char *key);
void jsonw_string (JsonW *w, const char *s);   /* NULL -> null */
/* NaN and infinities are written as null: JSON has no such numbers. */
void jsonw_number (JsonW *w, double v);
void jsonw_number_prec (JsonW *w, double v, int digits);
void jsonw_uint (JsonW *w, guint64 v);
void jsonw_bool (JsonW *w, gboolean v);
void jsonw_null (JsonW *w);
/* An array of numbers on one line. */
void jsonw_number_array (JsonW *w, const double *v, guint n, int digits);

/* key + value shorthands */
void jsonw_kv_number (JsonW *w, const char *k, double v);
void jsonw_kv_uint (JsonW *w, const char *k, guint64 v);
void jsonw_kv_string (JsonW *w, const char *k, const char *v);
void jsonw_kv_bool (JsonW *w, const char *k, gboolean v);

G_END_DECLS

#endif
