/* proto: flows, packets and bytes per IP protocol.
 *
 * The smallest complete plugin, and the one the benchmark runs: it proves
 * the ABI end to end (config group, batches, state that survives the
 * one-process-per-file life under nfcapd -x, a subcommand).  State is
 * STATE_DIR/proto/totals.tsv, cumulative over every file processed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <nfsub/nfsub.h>

#define PLUGIN "proto"

typedef struct {
  guint64 flows, packets, bytes;
} ProtoCounters;

typedef struct {
  char *totals_path;
  gboolean print;          /* print the table after each run */
  ProtoCounters by_proto[256];
} ProtoPlugin;

static void
proto_plugin_free (gpointer data)
{
  ProtoPlugin *self = data;
  g_free (self->totals_path);
  g_free (self);
}

static gboolean
load_totals (ProtoPlugin *self, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (self->totals_path, &text, NULL, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      unsigned proto;
      guint64 f, p, b;
      if (sscanf (lines[i], "%u\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
                  "\t%" G_GUINT64_FORMAT, &proto, &f, &p, &b) != 4
          || proto > 255)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                       "%s: line %u: malformed", self->totals_path, i + 1);
          return FALSE;
        }
      self->by_proto[proto] = (ProtoCounters) { f, p, b };
    }
  return TRUE;
}

static gpointer
proto_init (NfsubHost *host, GKeyFile *config, const char *group,
            GError **error)
{
  static const char *const keys[] = { "print", NULL };
  if (!nfsub_config_check_keys (host, config, group, keys, error))
    return NULL;
  g_autoptr (GError) local = NULL;
  gboolean print = FALSE;
  if (g_key_file_has_key (config, group, "print", NULL))
    {
      print = g_key_file_get_boolean (config, group, "print", &local);
      if (local)
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
                       "%s: [%s] print: expected true or false",
                       nfsub_host_config_path (host), group);
          return NULL;
        }
    }
  const char *dir = nfsub_host_state_dir (host, PLUGIN, error);
  if (!dir)
    return NULL;
  ProtoPlugin *self = g_new0 (ProtoPlugin, 1);
  self->print = print;
  self->totals_path = g_build_filename (dir, "totals.tsv", NULL);
  if (!load_totals (self, error))
    {
      proto_plugin_free (self);
      return NULL;
    }
  return self;
}

static gboolean
proto_process (gpointer data, NfsubBatch *batch, GError **error)
{
  ProtoPlugin *self = data;
  guint n = nfsub_batch_size (batch);
  for (guint i = 0; i < n; i++)
    {
      const NfsubFlow *f = nfsub_batch_flow (batch, i);
      ProtoCounters *c = &self->by_proto[f->proto];
      c->flows += f->aggr_flows ? f->aggr_flows : 1;
      c->packets += nfsub_flow_packets (f);
      c->bytes += nfsub_flow_bytes (f);
    }
  return TRUE;
}

static GString *
format_totals (const ProtoCounters *by_proto)
{
  GString *s = g_string_new ("# proto\tflows\tpackets\tbytes\n");
  for (int p = 0; p < 256; p++)
    if (by_proto[p].flows)
      g_string_append_printf (s, "%d\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
                              "\t%" G_GUINT64_FORMAT "\n", p, by_proto[p].flows,
                              by_proto[p].packets, by_proto[p].bytes);
  return s;
}

static gboolean
proto_finish (gpointer data, GError **error)
{
  ProtoPlugin *self = data;
  g_autoptr (GString) s = format_totals (self->by_proto);
  if (self->print)
    fputs (s->str, stdout);
  return nfsub_write_file_atomic (self->totals_path, s->str, s->len, error);
}

static int
proto_command (NfsubHost *host, int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx, "Print the stored per-protocol totals.");
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("nfsub proto: %s\n", error->message);
      return 2;
    }
  ProtoPlugin *self = proto_init (host, nfsub_host_config (host), PLUGIN, &error);
  if (!self)
    {
      g_printerr ("nfsub proto: %s\n", error->message);
      return 1;
    }
  g_autoptr (GString) s = format_totals (self->by_proto);
  fputs (s->str, stdout);
  proto_plugin_free (self);
  return 0;
}

static const NfsubCommand proto_commands[] = {
  { "proto", "print stored flows/packets/bytes per IP protocol", proto_command },
  { NULL, NULL, NULL }
};

NFSUB_PLUGIN_DEFINE (.name = PLUGIN,
                     .description = "flows, packets and bytes per IP protocol",
                     .stage = NFSUB_STAGE_ACCOUNT,
                     .init = proto_init,
                     .process = proto_process,
                     .finish = proto_finish,
                     .free = proto_plugin_free,
                     .commands = proto_commands);
