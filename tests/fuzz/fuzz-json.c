/* libFuzzer target: src/json's reader, and its writer on what it read.
 * Any input must end in a tree or a GError, never a crash, leak or hang;
 * a tree written out must read back and write out as the same text. */
#include "config.h"

#include <string.h>

#include "json/json.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static char *
write_tree (const NfsubJson *tree)
{
  GString *out = g_string_new (NULL);
  NfsubJsonWriter w;
  nfsub_json_writer_init (&w, out);
  nfsub_json_put_node (&w, NULL, tree);
  return g_string_free (out, FALSE);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  GError *error = NULL;
  NfsubJson *tree = nfsub_json_parse ((const char *) data, size, "fuzz", &error);
  if (!tree)
    {
      g_assert (error != NULL && strstr (error->message, "fuzz: line ") == error->message);
      g_error_free (error);
      return 0;
    }
  /* the accessors on whatever came */
  for (guint i = 0; i < nfsub_json_length (tree); i++)
    {
      const char *key = NULL;
      const NfsubJson *child = nfsub_json_index (tree, i, &key);
      if (key)
        g_assert (nfsub_json_get (tree, key) != NULL);
      (void) nfsub_json_number (child, 0);
      (void) nfsub_json_string (child, NULL);
    }
  (void) nfsub_json_path (tree, "0.a.1");

  char *text = write_tree (tree);
  NfsubJson *again = nfsub_json_parse (text, strlen (text), "written", &error);
  if (!again)
    g_error ("written text does not read back: %s\n%s", error->message, text);
  char *text2 = write_tree (again);
  if (strcmp (text, text2) != 0)
    g_error ("written twice, two texts:\n%s\n%s", text, text2);
  g_free (text2);
  g_free (text);
  nfsub_json_free (again);
  nfsub_json_free (tree);
  return 0;
}
