/* nfsub's one JSON reader and writer (internal: src/json/libnfsubjson.la,
 * linked into the report and usage plugins, the simulator and the test
 * helpers; not installed, not part of libnfsub).
 *
 * GLib has no JSON and the project links nothing beyond the libraries
 * configure checks, so this is a plain DOM reader and a streaming writer.
 *
 * Reader: objects keep their members in file order (a key given twice:
 * the first counts); numbers are doubles, and an integer literal that fits
 * in 64 bits also keeps its exact value (nfsub_json_get_int64).  Strings
 * must be UTF-8; \u escapes (with surrogate pairs) are decoded.  Errors
 * name the origin, line, column and byte.
 *
 * Writer: appends to a GString, indents by two spaces, tracks commas.
 * Integral doubles up to 2^53 in magnitude are written as integers (a
 * counter never comes out as 1.2e+15); other numbers with a chosen number
 * of significant digits.
 */
#ifndef NFSUB_JSON_H
#define NFSUB_JSON_H

#include <glib.h>

G_BEGIN_DECLS

#define NFSUB_JSON_ERROR (nfsub_json_error_quark ())
GQuark nfsub_json_error_quark (void);
typedef enum {
  NFSUB_JSON_ERROR_SYNTAX,  /* not JSON, or nested deeper than the limit */
} NfsubJsonError;

/* Containers nested deeper than this are an error, not a stack overflow. */
#define NFSUB_JSON_MAX_DEPTH 200

typedef enum {
  NFSUB_JSON_NULL,
  NFSUB_JSON_BOOL,
  NFSUB_JSON_NUMBER,
  NFSUB_JSON_STRING,
  NFSUB_JSON_ARRAY,
  NFSUB_JSON_OBJECT,
} NfsubJsonType;

typedef struct NfsubJson NfsubJson;

/* `origin` names the text in error messages (a file name); NULL: "JSON". */
NfsubJson *nfsub_json_parse (const char *text, gsize len, const char *origin,
                             GError **error);
NfsubJson *nfsub_json_load (const char *path, GError **error);
void nfsub_json_free (NfsubJson *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NfsubJson, nfsub_json_free)

/* NULL reads as NFSUB_JSON_NULL. */
NfsubJsonType nfsub_json_type (const NfsubJson *node);
/* Member of an object (NULL if absent or node is not an object). */
const NfsubJson *nfsub_json_get (const NfsubJson *node, const char *key);
/* Dotted path of members and array indexes: "in.mean", "density.3". */
const NfsubJson *nfsub_json_path (const NfsubJson *node, const char *path);
guint nfsub_json_length (const NfsubJson *node);  /* arrays and objects */
/* i-th element; of an object the i-th member in file order, its key in
 * *key if key is non-NULL (NULL for arrays). */
const NfsubJson *nfsub_json_index (const NfsubJson *node, guint i,
                                   const char **key);

gboolean nfsub_json_is_number (const NfsubJson *node);
double nfsub_json_number (const NfsubJson *node, double fallback);
/* TRUE and the exact value if node is an integer literal within gint64. */
gboolean nfsub_json_get_int64 (const NfsubJson *node, gint64 *value);
const char *nfsub_json_string (const NfsubJson *node, const char *fallback);
gboolean nfsub_json_bool (const NfsubJson *node, gboolean fallback);
/* Number at a path, or NAN when absent / not a number. */
double nfsub_json_path_number (const NfsubJson *node, const char *path);

/* ---- writer ---- */

typedef struct {
  GString *out;
  guint depth;
  gboolean need_comma;
  /* significant digits of nfsub_json_put_number; 0 (the default): the
   * fewest that read back as the same double */
  int digits;
  /* containers opened at this depth or deeper are written on one line
   * (0: never); nfsub_json_begin_array_line opens one such array */
  guint line_depth;
  guint line_from;  /* depth of the outermost open one-line container */
} NfsubJsonWriter;

/* out: where the text goes (the caller owns it).  Each top-level value
 * ends with a newline. */
void nfsub_json_writer_init (NfsubJsonWriter *w, GString *out);

/* Every value is written under its member name: key inside an object,
 * NULL inside an array and at the top. */
void nfsub_json_begin_object (NfsubJsonWriter *w, const char *key);
void nfsub_json_begin_array (NfsubJsonWriter *w, const char *key);
/* An array or object written on one line, whatever it holds (long
 * number lists, table rows). */
void nfsub_json_begin_array_line (NfsubJsonWriter *w, const char *key);
void nfsub_json_begin_object_line (NfsubJsonWriter *w, const char *key);
void nfsub_json_end_object (NfsubJsonWriter *w);
void nfsub_json_end_array (NfsubJsonWriter *w);
void nfsub_json_put_string (NfsubJsonWriter *w, const char *key,
                            const char *s);  /* NULL -> null */
/* Non-finite numbers are written as null: JSON has no NaN. */
void nfsub_json_put_number (NfsubJsonWriter *w, const char *key, double v);
void nfsub_json_put_number_digits (NfsubJsonWriter *w, const char *key,
                                   double v, int digits);
void nfsub_json_put_int (NfsubJsonWriter *w, const char *key, gint64 v);
void nfsub_json_put_uint (NfsubJsonWriter *w, const char *key, guint64 v);
/* n unsigned integers as an array on one line */
void nfsub_json_put_uint_array (NfsubJsonWriter *w, const char *key,
                                const guint64 *v, gsize n);
void nfsub_json_put_bool (NfsubJsonWriter *w, const char *key, gboolean v);
void nfsub_json_put_null (NfsubJsonWriter *w, const char *key);
/* Copies a parsed node (integer literals exactly). */
void nfsub_json_put_node (NfsubJsonWriter *w, const char *key,
                          const NfsubJson *node);

/* A JSON string literal (quotes included); '<' is escaped so the text is
 * safe inside an HTML <script>. */
void nfsub_json_append_escaped (GString *out, const char *s);

G_END_DECLS

#endif /* NFSUB_JSON_H */
