/* The JSON module (src/json) against hand-written texts and values.
 *
 * Expected values are written out by hand; where Python's json module has
 * an opinion (the value of a text, the position of a syntax error, the
 * shortest text of a double), the expectation is what
 * python3 -c 'import json; ...' gives, noted beside the case.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "json/json.h"

static NfsubJson *
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  NfsubJson *j = nfsub_json_parse (text, strlen (text), "test", &error);
  g_assert_no_error (error);
  g_assert_nonnull (j);
  return j;
}

/* ---- reading ---- */

static void
test_parse_values (void)
{
  g_autoptr (NfsubJson) j = parse_ok (
    " {\"s\": \"text\", \"n\": -12.5e1, \"t\": true, \"f\": false, \"z\": null,\n"
    "  \"a\": [1, [2, 3], {\"k\": \"v\"}], \"o\": {}, \"e\": [], \"s\": \"second\"} ");
  g_assert_cmpint (nfsub_json_type (j), ==, NFSUB_JSON_OBJECT);
  g_assert_cmpuint (nfsub_json_length (j), ==, 9);
  /* a key given twice: the first counts (as json.loads keeps the last,
   * this is our own rule: the writers never repeat a key) */
  g_assert_cmpstr (nfsub_json_string (nfsub_json_get (j, "s"), NULL), ==, "text");
  g_assert_cmpfloat (nfsub_json_number (nfsub_json_get (j, "n"), 0), ==, -125.0);
  g_assert_true (nfsub_json_bool (nfsub_json_get (j, "t"), FALSE));
  g_assert_false (nfsub_json_bool (nfsub_json_get (j, "f"), TRUE));
  g_assert_cmpint (nfsub_json_type (nfsub_json_get (j, "z")), ==, NFSUB_JSON_NULL);
  g_assert_nonnull (nfsub_json_get (j, "z"));
  g_assert_null (nfsub_json_get (j, "missing"));
  g_assert_cmpfloat (nfsub_json_path_number (j, "a.1.1"), ==, 3.0);
  g_assert_cmpstr (nfsub_json_string (nfsub_json_path (j, "a.2.k"), NULL), ==, "v");
  g_assert_null (nfsub_json_path (j, "a.3"));
  g_assert_null (nfsub_json_path (j, "a.-1"));
  g_assert_null (nfsub_json_path (j, "a.x"));
  g_assert_true (isnan (nfsub_json_path_number (j, "a.2.k")));
  g_assert_cmpint (nfsub_json_type (nfsub_json_get (j, "o")), ==, NFSUB_JSON_OBJECT);
  g_assert_cmpuint (nfsub_json_length (nfsub_json_get (j, "o")), ==, 0);
  g_assert_cmpuint (nfsub_json_length (nfsub_json_get (j, "e")), ==, 0);
  /* members in file order, with their keys */
  const char *expected_keys[] = { "s", "n", "t", "f", "z", "a", "o", "e", "s" };
  for (guint i = 0; i < G_N_ELEMENTS (expected_keys); i++)
    {
      const char *key = NULL;
      g_assert_nonnull (nfsub_json_index (j, i, &key));
      g_assert_cmpstr (key, ==, expected_keys[i]);
    }
  g_assert_cmpstr (nfsub_json_string (nfsub_json_index (j, 8, NULL), NULL), ==, "second");
  g_assert_null (nfsub_json_index (j, 9, NULL));
  const char *key = "untouched";
  g_assert_nonnull (nfsub_json_index (nfsub_json_get (j, "a"), 0, &key));
  g_assert_null (key);
  /* fallbacks for the wrong type */
  g_assert_cmpfloat (nfsub_json_number (nfsub_json_get (j, "s"), -1), ==, -1);
  g_assert_cmpstr (nfsub_json_string (nfsub_json_get (j, "n"), "fb"), ==, "fb");
  g_assert_cmpint (nfsub_json_type (NULL), ==, NFSUB_JSON_NULL);
}

/* Objects above the index threshold are looked up through a hash table:
 * the same answers, the first of a repeated key included. */
static void
test_big_object (void)
{
  g_autoptr (GString) text = g_string_new ("{");
  for (int i = 0; i < 1000; i++)
    g_string_append_printf (text, "\"user%d\": %d, ", i, i * 3);
  g_string_append (text, "\"user7\": -1}");
  g_autoptr (NfsubJson) j = parse_ok (text->str);
  g_assert_cmpuint (nfsub_json_length (j), ==, 1001);
  for (int i = 0; i < 1000; i++)
    {
      g_autofree char *k = g_strdup_printf ("user%d", i);
      g_assert_cmpfloat (nfsub_json_number (nfsub_json_get (j, k), NAN), ==, i * 3);
    }
  g_assert_cmpfloat (nfsub_json_path_number (j, "user7"), ==, 21);
  g_assert_null (nfsub_json_get (j, "user1000"));
}

static void
test_exact_integers (void)
{
  g_autoptr (NfsubJson) j = parse_ok (
    "[9007199254740992, 9007199254740993, -9223372036854775808,"
    " 9223372036854775807, 9223372036854775808, 1.0, 1e2, 0, -0]");
  gint64 v = 0;
  /* 2^53: exact both ways */
  g_assert_true (nfsub_json_get_int64 (nfsub_json_index (j, 0, NULL), &v));
  g_assert_cmpint (v, ==, G_GINT64_CONSTANT (9007199254740992));
  g_assert_cmpfloat (nfsub_json_number (nfsub_json_index (j, 0, NULL), 0), ==,
                     9007199254740992.0);
  /* 2^53 + 1 has no double; the integer keeps it */
  g_assert_true (nfsub_json_get_int64 (nfsub_json_index (j, 1, NULL), &v));
  g_assert_cmpint (v, ==, G_GINT64_CONSTANT (9007199254740993));
  g_assert_true (nfsub_json_get_int64 (nfsub_json_index (j, 2, NULL), &v));
  g_assert_cmpint (v, ==, G_MININT64);
  g_assert_true (nfsub_json_get_int64 (nfsub_json_index (j, 3, NULL), &v));
  g_assert_cmpint (v, ==, G_MAXINT64);
  /* beyond 64 bits: a double only */
  g_assert_false (nfsub_json_get_int64 (nfsub_json_index (j, 4, NULL), &v));
  g_assert_cmpfloat (nfsub_json_number (nfsub_json_index (j, 4, NULL), 0), ==,
                     9223372036854775808.0);
  /* a fraction or an exponent is not an integer literal */
  g_assert_false (nfsub_json_get_int64 (nfsub_json_index (j, 5, NULL), &v));
  g_assert_false (nfsub_json_get_int64 (nfsub_json_index (j, 6, NULL), &v));
  g_assert_cmpfloat (nfsub_json_number (nfsub_json_index (j, 6, NULL), 0), ==, 100.0);
  g_assert_true (nfsub_json_get_int64 (nfsub_json_index (j, 8, NULL), &v));
  g_assert_cmpint (v, ==, 0);

  /* written back: integers as integers, never in exponent form */
  g_autoptr (GString) out = g_string_new (NULL);
  NfsubJsonWriter w;
  nfsub_json_writer_init (&w, out);
  nfsub_json_begin_array_line (&w, NULL);
  nfsub_json_put_number (&w, NULL, 9007199254740992.0);   /* 2^53 */
  nfsub_json_put_number (&w, NULL, -9007199254740992.0);
  nfsub_json_put_number (&w, NULL, 1e15);
  nfsub_json_put_number_digits (&w, NULL, 123456789012345.0, 4);
  nfsub_json_put_uint (&w, NULL, G_MAXUINT64);
  nfsub_json_put_int (&w, NULL, G_MININT64);
  nfsub_json_put_number (&w, NULL, -0.0);
  nfsub_json_put_node (&w, NULL, nfsub_json_index (j, 1, NULL));
  nfsub_json_end_array (&w);
  g_assert_cmpstr (out->str, ==,
                   "[9007199254740992, -9007199254740992, 1000000000000000, "
                   "123456789012345, 18446744073709551615, "
                   "-9223372036854775808, 0, 9007199254740993]\n");
}

/* Doubles: the shortest text that reads back (Python's repr), or the
 * digits asked for. */
static void
test_write_doubles (void)
{
  static const struct { double v; int digits; const char *text; } cases[] = {
    { 0.1 + 0.2, 0, "0.30000000000000004" },  /* repr(0.1 + 0.2) */
    { 0.1 + 0.2, 10, "0.3" },
    { 0.1, 0, "0.1" },
    { 1.0 / 3, 0, "0.3333333333333333" },      /* repr(1/3) */
    { 1.0 / 3, 4, "0.3333" },
    { 2.5, 0, "2.5" },
    { -1e-7, 0, "-1e-07" },                    /* repr(-1e-7) */
    { 1.5e300, 0, "1.5e+300" },                /* repr(1.5e300) */
    { 12345.678, 6, "12345.7" },
    /* 15 digits already read back (repr: 5e-324, the same double) */
    { 5e-324, 0, "4.94065645841247e-324" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GString) out = g_string_new (NULL);
      NfsubJsonWriter w;
      nfsub_json_writer_init (&w, out);
      w.digits = cases[i].digits;
      nfsub_json_put_number (&w, NULL, cases[i].v);
      g_assert_cmpstr (out->str, ==, cases[i].text);
      /* every text reads back; the shortest ones as the same double */
      g_autoptr (NfsubJson) back = parse_ok (out->str);
      if (cases[i].digits == 0)
        g_assert_cmpfloat (nfsub_json_number (back, NAN), ==, cases[i].v);
    }
  g_autoptr (GString) out = g_string_new (NULL);
  NfsubJsonWriter w;
  nfsub_json_writer_init (&w, out);
  nfsub_json_begin_array_line (&w, NULL);
  nfsub_json_put_number (&w, NULL, NAN);
  nfsub_json_put_number (&w, NULL, INFINITY);
  nfsub_json_put_number_digits (&w, NULL, -INFINITY, 3);
  nfsub_json_end_array (&w);
  g_assert_cmpstr (out->str, ==, "[null, null, null]\n");
}

static void
test_escapes (void)
{
  /* json.loads of the same text gives
   * 'a\x01b\n\t"\\/é😀 \x7f' */
  g_autoptr (NfsubJson) j = parse_ok (
    "\"a\\u0001b\\n\\t\\\"\\\\\\/\\u00e9\\ud83d\\ude00\\u0020\\u007F\"");
  g_assert_cmpstr (nfsub_json_string (j, NULL), ==,
                   "a\001b\n\t\"\\/\xc3\xa9\xf0\x9f\x98\x80 \x7f");
  /* raw UTF-8 passes through */
  g_autoptr (NfsubJson) raw = parse_ok ("[\"\xc3\xa9\xf0\x9f\x98\x80\"]");
  g_assert_cmpstr (nfsub_json_string (nfsub_json_index (raw, 0, NULL), NULL), ==,
                   "\xc3\xa9\xf0\x9f\x98\x80");
  /* \b \f \r */
  g_autoptr (NfsubJson) bfr = parse_ok ("\"\\b\\f\\r\"");
  g_assert_cmpstr (nfsub_json_string (bfr, NULL), ==, "\b\f\r");

  /* writing: control characters as \u00XX (\n \r \t short), '<' for
   * HTML, UTF-8 as it is */
  g_autoptr (GString) out = g_string_new (NULL);
  nfsub_json_append_escaped (out, "a\001\037\"\\\n\r\t</\xc3\xa9\x7f");
  g_assert_cmpstr (out->str, ==,
                   "\"a\\u0001\\u001f\\\"\\\\\\n\\r\\t\\u003c/\xc3\xa9\\u007f\"");
  /* and reads back as what was written */
  g_autoptr (NfsubJson) back = parse_ok (out->str);
  g_assert_cmpstr (nfsub_json_string (back, NULL), ==,
                   "a\001\037\"\\\n\r\t</\xc3\xa9\x7f");
}

/* ---- writing ---- */

static void
test_writer_layout (void)
{
  g_autoptr (GString) out = g_string_new (NULL);
  NfsubJsonWriter w;
  nfsub_json_writer_init (&w, out);
  nfsub_json_begin_object (&w, NULL);
  nfsub_json_put_string (&w, "name", "x");
  nfsub_json_begin_array_line (&w, "list");
  nfsub_json_put_uint (&w, NULL, 1);
  nfsub_json_begin_object (&w, NULL);
  nfsub_json_put_bool (&w, "in", TRUE);
  nfsub_json_end_object (&w);
  nfsub_json_end_array (&w);
  nfsub_json_begin_object (&w, "o");
  nfsub_json_end_object (&w);
  nfsub_json_put_node (&w, "none", NULL);  /* no node: null */
  nfsub_json_begin_array (&w, "a");
  nfsub_json_put_number (&w, NULL, 1.5);
  nfsub_json_put_null (&w, NULL);
  nfsub_json_put_string (&w, NULL, NULL);
  nfsub_json_put_int (&w, NULL, -3);
  nfsub_json_end_array (&w);
  nfsub_json_end_object (&w);
  g_assert_cmpstr (out->str, ==,
                   "{\n"
                   "  \"name\": \"x\",\n"
                   "  \"list\": [1, {\"in\": true}],\n"
                   "  \"o\": {},\n"
                   "  \"none\": null,\n"
                   "  \"a\": [\n"
                   "    1.5,\n"
                   "    null,\n"
                   "    null,\n"
                   "    -3\n"
                   "  ]\n"
                   "}\n");

  /* from a depth on, everything on one line (the simulator's truth) */
  g_string_truncate (out, 0);
  nfsub_json_writer_init (&w, out);
  w.line_depth = 3;
  nfsub_json_begin_object (&w, NULL);
  nfsub_json_begin_object (&w, "a");
  nfsub_json_begin_object (&w, "b");
  nfsub_json_put_uint (&w, "c", 1);
  nfsub_json_begin_array (&w, "d");
  nfsub_json_put_uint (&w, NULL, 1);
  nfsub_json_put_uint (&w, NULL, 2);
  nfsub_json_end_array (&w);
  nfsub_json_end_object (&w);
  nfsub_json_begin_object (&w, "e");
  nfsub_json_end_object (&w);
  nfsub_json_end_object (&w);
  nfsub_json_end_object (&w);
  g_assert_cmpstr (out->str, ==,
                   "{\n"
                   "  \"a\": {\n"
                   "    \"b\": {\"c\": 1, \"d\": [1, 2]},\n"
                   "    \"e\": {}\n"
                   "  }\n"
                   "}\n");

  /* one container on one line, its siblings not (table rows) */
  g_string_truncate (out, 0);
  nfsub_json_writer_init (&w, out);
  const guint64 v[3] = { 7, 0, G_MAXUINT64 };
  nfsub_json_begin_object (&w, NULL);
  nfsub_json_begin_array (&w, "rows");
  nfsub_json_begin_object_line (&w, NULL);
  nfsub_json_put_string (&w, "k", "x");
  nfsub_json_put_uint_array (&w, "v", v, 3);
  nfsub_json_end_object (&w);
  nfsub_json_begin_object (&w, NULL);
  nfsub_json_put_uint_array (&w, "none", v, 0);
  nfsub_json_end_object (&w);
  nfsub_json_end_array (&w);
  nfsub_json_end_object (&w);
  g_assert_cmpstr (out->str, ==,
                   "{\n"
                   "  \"rows\": [\n"
                   "    {\"k\": \"x\", \"v\": [7, 0, 18446744073709551615]},\n"
                   "    {\n"
                   "      \"none\": []\n"
                   "    }\n"
                   "  ]\n"
                   "}\n");
}

/* Parse, write the tree back, parse again: the same text both times. */
static void
test_round_trip (void)
{
  const char *text =
    "{\n"
    "  \"generator\": \"nfsim\",\n"
    "  \"seed\": 7,\n"
    "  \"bytes\": 9007199254740992,\n"
    "  \"share\": 0.125,\n"
    "  \"names\": [\n"
    "    \"a\\\"b\",\n"
    "    \"\\u00e9\\n\"\n"
    "  ],\n"
    "  \"empty\": [],\n"
    "  \"nested\": {\n"
    "    \"t\": true,\n"
    "    \"n\": null,\n"
    "    \"deep\": {\n"
    "      \"x\": -2.5e-05\n"
    "    }\n"
    "  }\n"
    "}\n";
  g_autoptr (NfsubJson) j = parse_ok (text);
  g_autoptr (GString) out = g_string_new (NULL);
  NfsubJsonWriter w;
  nfsub_json_writer_init (&w, out);
  nfsub_json_put_node (&w, NULL, j);
  /* \u00e9 comes back as UTF-8, the rest as it was */
  g_autofree char *expected = NULL;
  {
    g_autoptr (GString) e = g_string_new (text);
    g_string_replace (e, "\\u00e9", "\xc3\xa9", 0);
    expected = g_string_free (g_steal_pointer (&e), FALSE);
  }
  g_assert_cmpstr (out->str, ==, expected);
  g_autoptr (NfsubJson) again = parse_ok (out->str);
  g_autoptr (GString) out2 = g_string_new (NULL);
  nfsub_json_writer_init (&w, out2);
  nfsub_json_put_node (&w, NULL, again);
  g_assert_cmpstr (out2->str, ==, out->str);
  g_assert_cmpfloat (nfsub_json_path_number (again, "nested.deep.x"), ==, -2.5e-05);
}

/* ---- errors ---- */

typedef struct {
  const char *text;
  guint line, column, byte;
  const char *what;  /* part of the message */
} BadCase;

static void
test_malformed (void)
{
  /* positions: hand-counted; where json.loads fails at the same place its
   * message is noted ("char" is its 0-based character offset) */
  static const BadCase cases[] = {
    /* Expecting value: line 2 column 7 (char 15) */
    { "{\"a\": 1,\n \"b\": }", 2, 7, 15, "unexpected '}'" },
    /* Expecting ',' delimiter: line 1 column 6 (char 5) */
    { "[1, 2", 1, 6, 5, "expected ',' or ']', found end of input" },
    /* Unterminated string starting at: line 1 column 1 (char 0) */
    { "\"abc", 1, 1, 0, "string not terminated" },
    /* Expecting ',' delimiter: line 1 column 3 (char 2) */
    { "[01]", 1, 3, 2, "expected ',' or ']', found '1'" },
    { "[1.]", 1, 4, 3, "expected a digit after '.'" },
    { "[1e+]", 1, 5, 4, "expected a digit in the exponent" },
    { "[-]", 1, 3, 2, "expected a digit after '-', found ']'" },
    { "[+1]", 1, 2, 1, "unexpected '+'" },
    /* Invalid control character at: line 1 column 3 (char 2) */
    { "\"a\001b\"", 1, 3, 2, "control character 0x01" },
    { "\"\\ud800\"", 1, 2, 1, "without a low surrogate" },
    { "\"\\ud800\\u0041\"", 1, 2, 1, "not a low surrogate" },
    { "\"\\udc00\"", 1, 2, 1, "lone low surrogate" },
    { "\"\\u12G4\"", 1, 6, 5, "4 hex digits" },
    { "\"\\u0000\"", 1, 2, 1, "\\u0000" },
    /* Invalid \escape: line 1 column 2 (char 1) */
    { "\"\\x\"", 1, 2, 1, "unknown escape: backslash before 'x'" },
    /* Expecting value: line 1 column 1 (char 0) */
    { "tru", 1, 1, 0, "unexpected 't'" },
    { "nul", 1, 1, 0, "unexpected 'n'" },
    /* Expecting ':' delimiter: line 1 column 6 (char 5) */
    { "{\"a\" 1}", 1, 6, 5, "expected ':' after the member name" },
    /* Expecting property name enclosed in double quotes: line 1 column 2 */
    { "{a: 1}", 1, 2, 1, "expected a member name, found 'a'" },
    { "{\"a\": 1,}", 1, 9, 8, "expected a member name, found '}'" },
    /* Extra data: line 1 column 5 (char 4) */
    { "[1] x", 1, 5, 4, "expected the end after the JSON value" },
    { "\n\n  @", 3, 3, 4, "unexpected '@'" },
    /* columns count characters: é is one (json.loads: column 7, char 6) */
    { "[\"\xc3\xa9\", @]", 1, 7, 7, "unexpected '@'" },
    { "[\"\xff\"]", 1, 2, 1, "not UTF-8" },
    { "[1e999]", 1, 2, 1, "out of range" },
    { "", 1, 1, 0, "unexpected end of input" },
    { "   ", 1, 4, 3, "unexpected end of input" },
    { "[\x01]", 1, 2, 1, "unexpected byte 0x01" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const BadCase *c = &cases[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (NfsubJson) j = nfsub_json_parse (c->text, strlen (c->text),
                                                  "in.json", &error);
      g_assert_null (j);
      g_assert_error (error, NFSUB_JSON_ERROR, NFSUB_JSON_ERROR_SYNTAX);
      g_autofree char *where = g_strdup_printf (
        "in.json: line %u, column %u (byte %u): ", c->line, c->column, c->byte);
      g_autofree char *shown = g_strescape (c->text, NULL);
      g_test_message ("%s -> %s", shown, error->message);
      g_assert_true (g_str_has_prefix (error->message, where));
      g_assert_nonnull (strstr (error->message, c->what));
    }
}

/* The length given is the text: a NUL inside it is not the end. */
static void
test_length_bounds (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubJson) j = nfsub_json_parse ("[1]\0[2]", 7, NULL, &error);
  g_assert_null (j);
  g_assert_error (error, NFSUB_JSON_ERROR, NFSUB_JSON_ERROR_SYNTAX);
  g_assert_true (g_str_has_prefix (error->message,
                                   "JSON: line 1, column 4 (byte 3): "));
  /* and text beyond the length is not read */
  g_autoptr (NfsubJson) k = nfsub_json_parse ("[12]garbage", 4, NULL, NULL);
  g_assert_nonnull (k);
  g_assert_cmpfloat (nfsub_json_path_number (k, "0"), ==, 12);
  g_autoptr (NfsubJson) l = nfsub_json_parse ("\"ab\"", 3, NULL, NULL);
  g_assert_null (l);
}

static void
test_depth_limit (void)
{
  /* NFSUB_JSON_MAX_DEPTH levels read; one more is an error at the
   * bracket that goes too deep */
  g_autoptr (GString) ok = g_string_new (NULL);
  for (int i = 0; i < 200; i++)
    g_string_append_c (ok, '[');
  for (int i = 0; i < 200; i++)
    g_string_append_c (ok, ']');
  g_autoptr (NfsubJson) j = parse_ok (ok->str);
  g_assert_cmpuint (nfsub_json_length (j), ==, 1);

  g_autoptr (GString) deep = g_string_new (NULL);
  for (int i = 0; i < 201; i++)
    g_string_append (deep, "{\"k\":");
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubJson) none = nfsub_json_parse (deep->str, deep->len, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, NFSUB_JSON_ERROR, NFSUB_JSON_ERROR_SYNTAX);
  /* the 201st '{' is at byte 200 * 5 */
  g_assert_true (g_str_has_prefix (error->message,
                                   "JSON: line 1, column 1001 (byte 1000): "));
  g_assert_nonnull (strstr (error->message, "nested deeper than 200"));

  /* far deeper: still an error, not a stack overflow */
  g_autoptr (GString) abyss = g_string_new (NULL);
  for (int i = 0; i < 1000000; i++)
    g_string_append_c (abyss, '[');
  g_clear_error (&error);
  g_assert_null (nfsub_json_parse (abyss->str, abyss->len, NULL, &error));
  g_assert_error (error, NFSUB_JSON_ERROR, NFSUB_JSON_ERROR_SYNTAX);
}

/* A file's errors name the file. */
static void
test_load (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nfsub-json-XXXXXX", NULL);
  g_assert_nonnull (dir);
  g_autofree char *path = g_build_filename (dir, "bad.json", NULL);
  g_assert_true (g_file_set_contents (path, "{\n  \"a\": [1, 2,]\n}\n", -1, NULL));
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubJson) j = nfsub_json_load (path, &error);
  g_assert_null (j);
  g_autofree char *where = g_strdup_printf ("%s: line 2, column 14 (byte 15): ", path);
  g_assert_true (g_str_has_prefix (error->message, where));
  g_assert_true (g_file_set_contents (path, "{\"a\": [1, 2]}", -1, NULL));
  g_clear_error (&error);
  g_autoptr (NfsubJson) k = nfsub_json_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (nfsub_json_path_number (k, "a.1"), ==, 2);
  g_unlink (path);
  g_rmdir (dir);
  g_clear_error (&error);
  g_assert_null (nfsub_json_load (path, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

static const struct {
  const char *path;
  GTestFunc func;
} tests[] = {
  { "/json/parse-values", test_parse_values },
  { "/json/big-object", test_big_object },
  { "/json/exact-integers", test_exact_integers },
  { "/json/write-doubles", test_write_doubles },
  { "/json/escapes", test_escapes },
  { "/json/writer-layout", test_writer_layout },
  { "/json/round-trip", test_round_trip },
  { "/json/malformed", test_malformed },
  { "/json/length-bounds", test_length_bounds },
  { "/json/depth-limit", test_depth_limit },
  { "/json/load", test_load },
};

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (tests); i++)
    g_test_add_func (tests[i].path, tests[i].func);
  return g_test_run ();
}
