/* report: a small JSON reader and writer.
 *
 * The report reads what `nfsub usage --json` and `nfsub ports --json` write
 * and writes report.json.  GLib has no JSON, and the project links nothing
 * beyond the libraries configure checks, so this is a plain DOM: objects
 * keep their members in file order, numbers are doubles (exact for integers
 * below 2^53, which covers byte counts of a week).
 */
#ifndef REPORT_JSON_H
#define REPORT_JSON_H

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  RJSON_NULL,
  RJSON_BOOL,
  RJSON_NUMBER,
  RJSON_STRING,
  RJSON_ARRAY,
  RJSON_OBJECT,
} RJsonType;

typedef struct RJson RJson;

/* `origin` names the text in error messages (a file name). */
RJson *rjson_parse (const char *text, gsize len, const char *origin,
                    GError **error);
RJson *rjson_load (const char *path, GError **error);
void rjson_free (RJson *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RJson, rjson_free)

RJsonType rjson_type (const RJson *node);
/* Member of an object (NULL if absent or node is not an object). */
const RJson *rjson_get (const RJson *node, const char *key);
/* Dotted path of members and array indexes: "in.mean", "density.3". */
const RJson *rjson_path (const RJson *node, const char *path);
guint rjson_length (const RJson *node);  /* arrays and objects */
const RJson *rjson_index (const RJson *node, guint i, const char **key);

gboolean rjson_is_number (const RJson *node);
double rjson_number (const RJson *node, double fallback);
const char *rjson_string (const RJson *node, const char *fallback);
gboolean rjson_bool (const RJson *node, gboolean fallback);
/* Number at a path, or NAN when absent / not a number. */
double rjson_path_number (const RJson *node, const char *path);

/* ---- writer: appends to a GString, tracks commas and indentation ---- */

typedef struct {
  GString *out;
  guint depth;
  gboolean need_comma;
  gboolean after_key;
} RJsonWriter;

void rjson_writer_init (RJsonWriter *w, GString *out);
void rjson_begin_object (RJsonWriter *w);
void rjson_end_object (RJsonWriter *w);
void rjson_begin_array (RJsonWriter *w);
void rjson_end_array (RJsonWriter *w);
void rjson_key (RJsonWriter *w, const char *key);
void rjson_string_value (RJsonWriter *w, const char *s);  /* NULL -> null */
/* Non-finite numbers are written as null: JSON has no NaN. */
void rjson_number_value (RJsonWriter *w, double v);
void rjson_int_value (RJsonWriter *w, gint64 v);
void rjson_bool_value (RJsonWriter *w, gboolean v);
void rjson_null_value (RJsonWriter *w);
/* Copies a parsed node. */
void rjson_node_value (RJsonWriter *w, const RJson *node);

/* JSON string escaping (for the HTML page's embedded data, too). */
void rjson_append_escaped (GString *out, const char *s);

G_END_DECLS

#endif
