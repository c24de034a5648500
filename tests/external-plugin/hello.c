/* A plugin written outside the nfsub tree, built only with what
 * `pkg-config nfsub` gives: proves the installed headers, library and
 * .pc file are enough to write one (make installcheck builds it). */
#include <nfsub/nfsub.h>

typedef struct {
  guint64 flows;
} Hello;

static gpointer
hello_init (NfsubHost *host, GKeyFile *config, const char *group, GError **error)
{
  static const char *const keys[] = { NULL };
  if (!nfsub_config_check_keys (host, config, group, keys, error))
    return NULL;
  return g_new0 (Hello, 1);
}

static gboolean
hello_process (gpointer self, NfsubBatch *batch, GError **error)
{
  ((Hello *) self)->flows += nfsub_batch_size (batch);
  return TRUE;
}

static gboolean
hello_finish (gpointer self, GError **error)
{
  g_print ("hello: %" G_GUINT64_FORMAT " flows\n", ((Hello *) self)->flows);
  return TRUE;
}

NFSUB_PLUGIN_DEFINE (.name = "hello", .description = "an out-of-tree plugin",
                     .stage = NFSUB_STAGE_ACCOUNT, .init = hello_init,
                     .process = hello_process, .finish = hello_finish,
                     .free = g_free);
