/* nfsub: the command line.  It knows the reader, the plugin loader and the
 * pipeline; everything else (tagging, accounting, reports) comes from
 * plugins, which may add subcommands of their own. */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <nfsub/nffile-print.h>
#include <nfsub/nffile.h>

#include "lib/host-private.h"
#include "loader.h"
#include "process.h"
#include "watch.h"

static const char usage_text[] =
  "Usage: nfsub [-c FILE] [--plugin-dir DIR] COMMAND [ARGS]\n"
  "\n"
  "Subscriber traffic statistics from nfdump flow files.\n"
  "\n"
  "Commands:\n"
  "  process FILE|DIR...   run the configured plugins over nfcapd files\n"
  "                        (DIR: every finished nfcapd.* in time order)\n"
  "  watch DIR             follow nfcapd's flow directory, process each\n"
  "                        finished file once (catches up after downtime)\n"
  "  dump FILE             one flow per line\n"
  "  info FILE             file header, compression, blocks, stat record\n"
  "  plugins               list the plugins found and their commands\n"
  "%s"
  "\n"
  "Options:\n"
  "  -c, --config FILE     config file (default " NFSUB_DEFAULT_CONFIG ")\n"
  "      --plugin-dir DIR  look for plugins in DIR first\n"
  "  -h, --help            this help; COMMAND --help for a command's\n"
  "  -V, --version         print the version\n"
  "\n"
  "As an nfcapd hook:  nfcapd ... -x 'nfsub process -c CONF %%d/%%f'\n";

typedef struct {
  char *config;
  char *plugin_dir;
} GlobalOptions;

/* -c and --plugin-dir may stand before or after the command, so
 * `nfsub process -c CONF FILE` and `nfsub -c CONF process FILE` agree.
 * Removes them from argv.  Returns FALSE with a message on a dangling
 * option. */
static gboolean
take_global_options (int *argc, char **argv, GlobalOptions *opts)
{
  int out = 1;
  for (int i = 1; i < *argc; i++)
    {
      const char *a = argv[i];
      char **slot = NULL;
      const char *value = NULL;
      if (strcmp (a, "--") == 0)
        {
          while (i < *argc)
            argv[out++] = argv[i++];
          break;
        }
      if (strcmp (a, "-c") == 0 || strcmp (a, "--config") == 0)
        slot = &opts->config;
      else if (strcmp (a, "--plugin-dir") == 0)
        slot = &opts->plugin_dir;
      else if (g_str_has_prefix (a, "--config="))
        slot = &opts->config, value = a + 9;
      else if (g_str_has_prefix (a, "--plugin-dir="))
        slot = &opts->plugin_dir, value = a + 13;
      if (!slot)
        {
          argv[out++] = argv[i];
          continue;
        }
      if (!value)
        {
          if (i + 1 >= *argc)
            {
              g_printerr ("nfsub: option %s needs an argument\n", a);
              return FALSE;
            }
          value = argv[++i];
        }
      g_free (*slot);
      *slot = g_strdup (value);
    }
  *argc = out;
  argv[out] = NULL;
  return TRUE;
}

static int
fail (GError *error)
{
  g_printerr ("nfsub: %s\n", error->message);
  g_error_free (error);
  return 1;
}

static int
command_process (NfsubHost *host, int argc, char **argv)
{
  gboolean quiet = FALSE, force = FALSE, no_wait = FALSE;
  GOptionEntry entries[] = {
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "print no summary", NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &force,
      "do not skip files the ledger knows (refused: see README)", NULL },
    { "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait,
      "fail instead of waiting when another nfsub holds the state lock", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("FILE|DIR...");
  g_option_context_set_summary (ctx, "Run the configured plugins over nfcapd files.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return fail (error);
  if (argc < 2)
    {
      g_printerr ("nfsub process: no input file (try --help)\n");
      return 2;
    }
  g_autoptr (GPtrArray) files = nfsub_collect_input_files (argv + 1, &error);
  if (!files)
    return fail (error);
  NfsubProcessStats stats = { 0 };
  gint64 t0 = g_get_monotonic_time ();
  if (!nfsub_process_run (host, files, force, !no_wait, &stats, &error))
    {
      g_printerr ("nfsub: %s\nnfsub: nothing from this run was stored; "
                  "state is as it was before\n", error->message);
      g_error_free (error);
      return 1;
    }
  double secs = (double) (g_get_monotonic_time () - t0) / 1e6;
  if (!quiet && stats.files_skipped)
    g_print ("nfsub: %" G_GUINT64_FORMAT " files already processed, skipped\n",
             stats.files_skipped);
  if (!quiet)
    g_print ("nfsub: %" G_GUINT64_FORMAT " files, %" G_GUINT64_FORMAT
             " flows, %" G_GUINT64_FORMAT " bytes, %" G_GUINT64_FORMAT
             " packets in %.2f s (%.2f Mflows/s)\n",
             stats.files, stats.flows, stats.bytes, stats.packets, secs,
             secs > 0 ? (double) stats.flows / secs / 1e6 : 0.0);
  return 0;
}

static int
command_dump (NfsubHost *host, int argc, char **argv)
{
  gint64 limit = -1;
  GOptionEntry entries[] = {
    { "count", 'n', 0, G_OPTION_ARG_INT64, &limit, "print at most N flows", "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("FILE");
  g_option_context_set_summary (ctx, "Print the flows of an nfdump file, one per line.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return fail (error);
  if (argc != 2)
    {
      g_printerr ("nfsub dump: expected one FILE (try --help)\n");
      return 2;
    }
  g_autoptr (NfsubNffile) file = nfsub_nffile_open (argv[1], &error);
  if (!file)
    return fail (error);
  g_autofree NfsubFlow *flows = g_new (NfsubFlow, 1024);
  g_autoptr (GString) line = g_string_sized_new (256);
  gssize n;
  gint64 printed = 0;
  while ((n = nfsub_nffile_read (file, flows, 1024, &error)) > 0)
    for (gssize i = 0; i < n && (limit < 0 || printed < limit); i++, printed++)
      {
        g_string_truncate (line, 0);
        nfsub_flow_format (&flows[i], line);
        g_string_append_c (line, '\n');
        fwrite (line->str, 1, line->len, stdout);
      }
  if (n < 0)
    return fail (error);
  return 0;
}

static int
command_info (NfsubHost *host, int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new ("FILE");
  g_option_context_set_summary (ctx, "Show an nfdump file's header, blocks and stat record.");
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return fail (error);
  if (argc != 2)
    {
      g_printerr ("nfsub info: expected one FILE (try --help)\n");
      return 2;
    }
  g_autoptr (NfsubNffile) file = nfsub_nffile_open (argv[1], &error);
  if (!file)
    return fail (error);
  g_autoptr (GString) out = g_string_new (NULL);
  nfsub_file_info_format (nfsub_nffile_info (file), out);
  fputs (out->str, stdout);
  return 0;
}

static int
command_plugins (NfsubHost *host, int argc, char **argv)
{
  g_autoptr (GPtrArray) all = nfsub_plugins_open_all (host);
  for (guint i = 0; i < all->len; i++)
    {
      NfsubPlugin *p = all->pdata[i];
      g_print ("%-12s %-7s %s\n             %s\n", p->name,
               p->desc->stage == NFSUB_STAGE_TAG ? "tag" : "account",
               p->desc->description ? p->desc->description : "", p->path);
      for (const NfsubCommand *c = p->desc->commands; c && c->name; c++)
        g_print ("             nfsub %-10s %s\n", c->name, c->summary);
    }
  return 0;
}

static const NfsubCommand builtin_commands[] = {
  { "process", "run the configured plugins over nfcapd files", command_process },
  { "watch", "follow an nfcapd flow directory", nfsub_command_watch },
  { "dump", "one flow per line", command_dump },
  { "info", "file header, compression, blocks, stat record", command_info },
  { "plugins", "list plugins and their commands", command_plugins },
  { NULL, NULL, NULL }
};

/* Plugin commands in the help text, so `nfsub --help` shows all of them. */
static char *
plugin_commands_help (NfsubHost *host)
{
  GString *s = g_string_new (NULL);
  g_autoptr (GPtrArray) all = nfsub_plugins_open_all (host);
  for (guint i = 0; i < all->len; i++)
    {
      NfsubPlugin *p = all->pdata[i];
      for (const NfsubCommand *c = p->desc->commands; c && c->name; c++)
        g_string_append_printf (s, "  %-21s %s (plugin %s)\n", c->name,
                                c->summary, p->name);
    }
  return g_string_free (s, FALSE);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  GlobalOptions opts = { 0 };
  if (!take_global_options (&argc, argv, &opts))
    return 2;

  if (argc < 2 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "--help") == 0
      || strcmp (argv[1], "help") == 0)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (NfsubHost) host = nfsub_host_new (opts.config, opts.plugin_dir,
                                                   &error);
      g_autofree char *extra = host ? plugin_commands_help (host) : g_strdup ("");
      g_print (usage_text, extra);
      return argc < 2 ? 2 : 0;
    }
  if (strcmp (argv[1], "-V") == 0 || strcmp (argv[1], "--version") == 0)
    {
      g_print ("nfsub %s (plugin ABI %d)\n", PACKAGE_VERSION, NFSUB_ABI_VERSION);
      return 0;
    }
  if (argv[1][0] == '-')
    {
      g_printerr ("nfsub: unknown option '%s' (try --help)\n", argv[1]);
      return 2;
    }

  GError *error = NULL;
  g_autoptr (NfsubHost) host = nfsub_host_new (opts.config, opts.plugin_dir,
                                               &error);
  g_free (opts.config);
  g_free (opts.plugin_dir);
  if (!host)
    return fail (error);

  const char *name = argv[1];
  for (const NfsubCommand *c = builtin_commands; c->name; c++)
    if (strcmp (c->name, name) == 0)
      return c->run (host, argc - 1, argv + 1);

  const NfsubCommand *cmd = NULL;
  g_autoptr (NfsubPlugin) provider = nfsub_plugin_find_command (host, name,
                                                                &cmd, &error);
  if (!provider)
    {
      g_printerr ("nfsub: unknown command '%s' (try --help)\n", name);
      return 2;
    }
  return cmd->run (host, argc - 1, argv + 1);
}
