/* subscriber: every flow end gets the user who held its address at the
 * flow's start, the service, class and access type, and the flow its
 * direction (IN: the source is a subscriber's, upload; OUT: the
 * destination is, download; both; or 0, unattributed).
 *
 * Sources: FreeRADIUS detail files, Kea lease6 memfiles, static CSV (see
 * radius-source.c, kea-source.c, static-source.c); rules in rules.c.
 *
 * Late accounting.  RADIUS records arrive after the fact (Interim and Stop
 * minutes later, a Start delayed by retries), and the host hands each
 * batch on to the account plugins at once, so a flow cannot wait for its
 * binding inside one run.  Instead the plugin waits *before* a file: a
 * file whose flows end at E is tagged only once the accounting is
 * complete up to E + grace -- by the wall clock (grace_clock = wall, the
 * default: nfcapd hands over a file right after its interval, so the
 * process sleeps until E + grace and then re-reads the detail files) or
 * by the newest RADIUS arrival Timestamp seen (grace_clock = log).
 * early_file = wait (default, up to early_wait_max), fail (exit with a
 * "retry after" message, for schedulers that retry) or process (tag now,
 * late bindings miss).  Backfills of old files never wait.
 *
 * Per file, the plugin logs and keeps (STATE/subscriber/files/DAY.tsv)
 * flows and bytes with a subscriber source (IN), destination (OUT), both,
 * and none (unattributed), so that
 *     IN + OUT - both + unattributed = the file's total   (nfdump -I).
 */
#define _GNU_SOURCE 1 /* dladdr */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "subscriber.h"

#define DAY_HEADER                                                            \
  "# file\tfirst_ms\tlast_ms\tflows\tbytes\tpackets\tin_flows\tin_bytes\t"     \
  "out_flows\tout_bytes\tboth_flows\tboth_bytes\tunattributed_flows\t"        \
  "unattributed_bytes\n"

typedef struct {
  NfsubHost *host;
  SubConfig *config;
  SubIndex *index;
  char *state_dir;
  char *index_path;
  Tagger tagger;

  TagCounters file, run;
  gboolean file_filtered;
  GHashTable *days;   /* "YYYY-MM-DD" -> GPtrArray of lines (char *) */
  guint files;
} SubPlugin;

static void
sub_plugin_free (gpointer data)
{
  SubPlugin *self = data;
  if (!self)
    return;
  tagger_clear (&self->tagger);
  sub_index_free (self->index);
  sub_config_free (self->config);
  g_free (self->state_dir);
  g_free (self->index_path);
  if (self->days)
    g_hash_table_unref (self->days);
  g_free (self);
}

static void
log_source_stats (SubIndex *ix)
{
  const struct {
    const char *name;
    SourceStats *s;
  } all[] = { { "radius", &ix->radius }, { "kea", &ix->kea },
              { "static", &ix->statics } };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    {
      SourceStats *s = all[i].s;
      if (s->records == 0 && s->malformed == 0)
        continue;
      nfsub_info (SUBSCRIBER_PLUGIN,
                  "%s: %" G_GUINT64_FORMAT " records read (%" G_GUINT64_FORMAT
                  " bytes), %" G_GUINT64_FORMAT " applied, %" G_GUINT64_FORMAT
                  " ignored, %" G_GUINT64_FORMAT " malformed and skipped",
                  all[i].name, s->records, s->bytes_read, s->applied,
                  s->ignored, s->malformed);
    }
}

/* Tags hand out user keys "for the process lifetime": the key strings
 * outlive the table that made them (lease-table.c keeps them), and the
 * module must stay mapped for that, even after the host closes it. */
static void
stay_resident (void)
{
  static gboolean done;
  Dl_info info;
  if (done || !dladdr ((void *) stay_resident, &info) || !info.dli_fname)
    return;
  GModule *self = g_module_open (info.dli_fname, G_MODULE_BIND_LOCAL);
  if (self)
    g_module_make_resident (self);
  done = TRUE;
}

/* Loads config, index and sources.  Shared by the plugin and commands. */
static SubPlugin *
sub_plugin_open (NfsubHost *host, GKeyFile *config, const char *group,
                 GError **error)
{
  g_autoptr (GError) local = NULL;
  stay_resident ();
  SubPlugin *self = g_new0 (SubPlugin, 1);
  self->host = host;
  self->config = sub_config_load (host, config, group, error);
  if (!self->config)
    goto fail;
  const char *dir = nfsub_host_state_dir (host, SUBSCRIBER_PLUGIN, error);
  if (!dir)
    goto fail;
  self->state_dir = g_strdup (dir);
  self->index_path = g_build_filename (dir, "index.bin", NULL);
  self->index = sub_index_new (self->config);
  if (!sub_index_load (self->index, self->index_path, error)
      || !sub_index_refresh (self->index, error))
    goto fail;
  tagger_init (&self->tagger, self->index, self->config->rules);
  self->days = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) g_ptr_array_unref);
  return self;

fail:
  sub_plugin_free (self);
  return NULL;
}

static gpointer
sub_init (NfsubHost *host, GKeyFile *config, const char *group,
          GError **error)
{
  SubPlugin *self = sub_plugin_open (host, config, group, error);
  if (!self)
    return NULL;
  SubIndex *ix = self->index;
  nfsub_info (SUBSCRIBER_PLUGIN,
              "%u users, %u dynamic bindings, %u static, %zu sessions; "
              "accounting up to %" G_GINT64_FORMAT,
              lease_table_n_users (ix->table),
              lease_table_n_bindings (ix->table), ix->n_static,
              ix->n_sessions, ix->newest_arrival);
  return self;
}

static char *
format_time (gint64 t)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (t);
  return dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M:%S UTC")
            : g_strdup_printf ("%" G_GINT64_FORMAT, t);
}

/* Waits until the accounting covers the file's flows plus the grace
 * period, or says why it cannot. */
static gboolean
wait_for_accounting (SubPlugin *self, const NfsubFileInfo *info,
                     GError **error)
{
  SubConfig *c = self->config;
  if (c->grace == 0 || !c->radius_detail[0])
    return TRUE;
  gint64 flows_end = info->has_stat && info->stat.last_ms
                       ? (gint64) (info->stat.last_ms / 1000)
                       : info->created;
  gint64 needed = flows_end + c->grace;
  gint64 waited = 0;
  for (;;)
    {
      gint64 now = g_get_real_time () / G_USEC_PER_SEC;
      gint64 horizon = c->grace_clock == CLOCK_WALL
                         ? now
                         : self->index->newest_arrival;
      if (horizon >= needed)
        return TRUE;
      g_autofree char *end_text = format_time (flows_end);
      g_autofree char *need_text = format_time (needed);
      g_autofree char *have_text = format_time (horizon);
      const char *clock = c->grace_clock == CLOCK_WALL
                            ? "the clock"
                            : "the newest RADIUS record";
      if (c->early_file == EARLY_PROCESS)
        {
          nfsub_warning (SUBSCRIBER_PLUGIN,
                         "%s: accounting may not be complete (flows until %s,"
                         " grace %us, %s says %s): tagging anyway",
                         info->path, end_text, c->grace, clock, have_text);
          return TRUE;
        }
      gint64 remaining = needed - horizon;
      if (c->early_file == EARLY_FAIL
          || (c->grace_clock == CLOCK_WALL
              && waited + remaining > (gint64) c->early_wait_max)
          || (c->grace_clock == CLOCK_LOG
              && waited >= (gint64) c->early_wait_max))
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
                       "accounting not yet complete for %s: its flows run "
                       "until %s and RADIUS records may come up to %us late "
                       "(grace), but %s says %s; retry after %s",
                       info->path, end_text, c->grace, clock, have_text,
                       need_text);
          return FALSE;
        }
      gint64 nap = c->grace_clock == CLOCK_WALL ? remaining : MIN (5, remaining);
      nfsub_info (SUBSCRIBER_PLUGIN,
                  "%s: waiting %" G_GINT64_FORMAT
                  "s for late accounting (flows until %s, grace %us)",
                  info->path, nap, end_text, c->grace);
      g_usleep ((gulong) nap * G_USEC_PER_SEC);
      waited += nap;
      if (!sub_index_refresh (self->index, error))
        return FALSE;
    }
}

static gboolean
sub_begin_file (gpointer data, const NfsubFileInfo *info, GError **error)
{
  SubPlugin *self = data;
  if (!wait_for_accounting (self, info, error))
    return FALSE;
  memset (&self->file, 0, sizeof self->file);
  self->file_filtered = FALSE;
  return TRUE;
}

static gboolean
sub_process (gpointer data, NfsubBatch *batch, GError **error)
{
  SubPlugin *self = data;
  if (batch->selected)
    self->file_filtered = TRUE;
  tagger_tag_batch (&self->tagger, batch, &self->file);
  return TRUE;
}

static double
percent (guint64 part, guint64 whole)
{
  return whole ? 100.0 * (double) part / (double) whole : 0.0;
}

/* Per-day TSV of per-file counters; a file processed again replaces its
 * line. */
static GPtrArray *
day_lines (SubPlugin *self, const char *day, GError **error)
{
  GPtrArray *lines = g_hash_table_lookup (self->days, day);
  if (lines)
    return lines;
  lines = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *dir = g_build_filename (self->state_dir, "files", NULL);
  g_autofree char *name = g_strconcat (day, ".tsv", NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  if (g_file_get_contents (path, &text, NULL, &local))
    {
      g_auto (GStrv) all = g_strsplit (text, "\n", -1);
      for (char **l = all; *l; l++)
        if (**l && **l != '#')
          g_ptr_array_add (lines, g_strdup (*l));
    }
  else if (!g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE, "%s: %s", path,
                   local->message);
      g_ptr_array_unref (lines);
      return NULL;
    }
  g_hash_table_insert (self->days, g_strdup (day), lines);
  return lines;
}

static gboolean
sub_end_file (gpointer data, const NfsubFileInfo *info, GError **error)
{
  SubPlugin *self = data;
  TagCounters *c = &self->file;
  g_autofree char *base = g_path_get_basename (info->path);
  nfsub_info (SUBSCRIBER_PLUGIN,
              "%s: %" G_GUINT64_FORMAT " flows, %" G_GUINT64_FORMAT
              " bytes; IN %" G_GUINT64_FORMAT " (%.1f%%), OUT %"
              G_GUINT64_FORMAT " (%.1f%%), both %" G_GUINT64_FORMAT
              ", unattributed %" G_GUINT64_FORMAT " bytes in %"
              G_GUINT64_FORMAT " flows (%.1f%%)",
              base, c->flows, c->bytes, c->in_bytes,
              percent (c->in_bytes, c->bytes), c->out_bytes,
              percent (c->out_bytes, c->bytes), c->both_bytes,
              c->unattr_bytes, c->unattr_flows,
              percent (c->unattr_bytes, c->bytes));
  if (info->has_stat && !self->file_filtered
      && (c->bytes != info->stat.numbytes || c->flows != info->stat.numflows))
    nfsub_warning (SUBSCRIBER_PLUGIN,
                   "%s: saw %" G_GUINT64_FORMAT " flows / %" G_GUINT64_FORMAT
                   " bytes but its stat record says %" G_GUINT64_FORMAT
                   " / %" G_GUINT64_FORMAT,
                   base, c->flows, c->bytes, info->stat.numflows,
                   info->stat.numbytes);

  guint64 first_ms = info->has_stat && info->stat.first_ms
                       ? info->stat.first_ms
                       : (guint64) MAX (info->created, 0) * 1000;
  guint64 last_ms = info->has_stat ? info->stat.last_ms : first_ms;
  g_autoptr (GDateTime) dt
    = g_date_time_new_from_unix_utc ((gint64) (first_ms / 1000));
  g_autofree char *day = g_date_time_format (dt, "%Y-%m-%d");
  GPtrArray *lines = day_lines (self, day, error);
  if (!lines)
    return FALSE;
  g_autofree char *prefix = g_strconcat (base, "\t", NULL);
  for (guint i = 0; i < lines->len; i++)
    if (g_str_has_prefix (lines->pdata[i], prefix))
      g_ptr_array_remove_index (lines, i--);
  g_ptr_array_add (
    lines,
    g_strdup_printf (
      "%s\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
      "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
      "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
      "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT
      "\t%" G_GUINT64_FORMAT,
      base, first_ms, last_ms, c->flows, c->bytes, c->packets, c->in_flows,
      c->in_bytes, c->out_flows, c->out_bytes, c->both_flows, c->both_bytes,
      c->unattr_flows, c->unattr_bytes));

  self->run.flows += c->flows;
  self->run.bytes += c->bytes;
  self->run.in_bytes += c->in_bytes;
  self->run.out_bytes += c->out_bytes;
  self->run.both_bytes += c->both_bytes;
  self->run.unattr_bytes += c->unattr_bytes;
  self->files++;
  return TRUE;
}

static gint
compare_lines (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static gboolean
sub_finish (gpointer data, GError **error)
{
  SubPlugin *self = data;
  log_source_stats (self->index);
  if (self->index->dirty
      && !sub_index_save (self->index, self->index_path, error))
    return FALSE;
  g_autofree char *dir = g_build_filename (self->state_dir, "files", NULL);
  if (g_hash_table_size (self->days) && g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_STATE,
                   "cannot create %s: %s", dir, g_strerror (errno));
      return FALSE;
    }
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, self->days);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      GPtrArray *lines = value;
      g_ptr_array_sort (lines, compare_lines);
      GString *s = g_string_new (DAY_HEADER);
      for (guint i = 0; i < lines->len; i++)
        {
          g_string_append (s, lines->pdata[i]);
          g_string_append_c (s, '\n');
        }
      g_autofree char *name = g_strconcat (key, ".tsv", NULL);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      gboolean ok = nfsub_write_file_atomic (path, s->str, s->len, error);
      g_string_free (s, TRUE);
      if (!ok)
        return FALSE;
    }
  if (self->files > 1)
    nfsub_info (SUBSCRIBER_PLUGIN,
                "%u files: %" G_GUINT64_FORMAT " bytes, unattributed %.2f%%",
                self->files, self->run.bytes,
                percent (self->run.unattr_bytes, self->run.bytes));
  return TRUE;
}

/* ---- commands ---- */

SubIndex *
sub_open_readonly (NfsubHost *host, SubConfig **config_out, GError **error)
{
  SubPlugin *p = sub_plugin_open (host, nfsub_host_config (host),
                                  SUBSCRIBER_PLUGIN, error);
  if (!p)
    return NULL;
  SubIndex *ix = g_steal_pointer (&p->index);
  *config_out = g_steal_pointer (&p->config);
  sub_plugin_free (p);
  return ix;
}

static int
command_error (const char *cmd, GError *error)
{
  g_printerr ("nfsub %s: %s\n", cmd, error->message);
  g_error_free (error);
  return 1;
}

static int
cmd_filters (NfsubHost *host, int argc, char **argv)
{
  g_autofree char *at_text = NULL;
  g_autofree char *out_dir = NULL;
  GOptionEntry entries[] = {
    { "at", 0, 0, G_OPTION_ARG_STRING, &at_text,
      "The instant (2024-06-03T12:00:00Z, 2024-06-03 12:00, @EPOCH; "
      "default: now)", "TIME" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir,
      "Directory for the .nf files (default: .)", "DIR" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (
    "- nfdump filter files of the subscribers' addresses at an instant");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (
    ctx, "Writes pppoe.nf ipoe.nf mobile.nf broadband.nf mobile-service.nf\n"
         "personal.nf enterprise.nf subscribers.nf for `nfdump -f FILE`.\n");
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return command_error (argv[0], error);
  if (argc > 1)
    {
      g_printerr ("nfsub filters: unexpected argument '%s'\n", argv[1]);
      return 2;
    }
  gint64 at = g_get_real_time () / G_USEC_PER_SEC;
  if (at_text && !parse_time (at_text, nfsub_host_timezone (host), &at))
    {
      g_printerr ("nfsub filters: --at: cannot read time '%s'\n", at_text);
      return 2;
    }
  SubConfig *config = NULL;
  SubIndex *ix = sub_open_readonly (host, &config, &error);
  if (!ix)
    return command_error ("filters", error);
  g_autoptr (GPtrArray) written = g_ptr_array_new_with_free_func (g_free);
  gboolean ok = write_filter_files (ix, at, out_dir ? out_dir : ".", written,
                                    &error);
  sub_index_free (ix);
  sub_config_free (config);
  if (!ok)
    return command_error ("filters", error);
  for (guint i = 0; i < written->len; i++)
    g_print ("%s\n", (char *) written->pdata[i]);
  return 0;
}

static void
print_binding (SubIndex *ix, const char *indent, guint32 id)
{
  const LeaseBinding *b = lease_table_binding (ix->table, id);
  const LeaseUser *u = lease_table_user (ix->table, b->user);
  g_autofree char *from = format_time (b->start);
  g_autofree char *to = b->end == LEASE_END_OPEN ? g_strdup ("open")
                                                 : format_time (b->end);
  g_print ("%s%s  %s .. %s  (%s, %s, %s)\n", indent, u->key, from, to,
           service_name (u->service), class_name (u->user_class),
           access_name (u->access));
}

static int
cmd_lookup (NfsubHost *host, int argc, char **argv)
{
  g_autofree char *at_text = NULL;
  gboolean history = FALSE;
  GOptionEntry entries[] = {
    { "at", 0, 0, G_OPTION_ARG_STRING, &at_text,
      "The instant (default: now)", "TIME" },
    { "history", 0, 0, G_OPTION_ARG_NONE, &history,
      "Also list every binding of the matching prefix", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx
    = g_option_context_new ("ADDR - who held ADDR at an instant");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return command_error ("subscriber lookup", error);
  NfsubAddr addr;
  if (argc != 2 || !nfsub_addr_parse (argv[1], &addr))
    {
      g_printerr ("nfsub subscriber lookup: expected one IPv4 or IPv6 "
                  "address\n");
      return 2;
    }
  gint64 at = g_get_real_time () / G_USEC_PER_SEC;
  if (at_text && !parse_time (at_text, nfsub_host_timezone (host), &at))
    {
      g_printerr ("nfsub subscriber lookup: --at: cannot read time '%s'\n",
                  at_text);
      return 2;
    }
  SubConfig *config = NULL;
  SubIndex *ix = sub_open_readonly (host, &config, &error);
  if (!ix)
    return command_error ("subscriber lookup", error);
  guint32 when = at < 0 ? 0 : at >= LEASE_END_OPEN ? LEASE_END_OPEN - 1
                                                   : (guint32) at;
  LeasePrefix p;
  LeaseKind kind;
  guint32 id = lease_table_lookup_match (ix->table, &addr, when, &p, &kind);
  g_autofree char *at_str = format_time (at);
  int rc = 0;
  if (!id)
    {
      g_print ("%s at %s: unattributed (no binding)\n", argv[1], at_str);
      rc = 1;
    }
  else
    {
      char buf[64];
      g_print ("%s at %s: %s (%s binding of %s)\n", argv[1], at_str,
               lease_table_user (ix->table,
                                 lease_table_binding (ix->table, id)->user)
                 ->key,
               kind == LEASE_STATIC ? "static" : "dynamic",
               prefix_to_string (&p, buf));
      print_binding (ix, "  ", id);
      if (history)
        {
          g_print ("history of %s (newest first):\n", buf);
          for (guint32 b = lease_table_latest (ix->table, kind, &p); b;
               b = lease_table_binding (ix->table, b)->next)
            print_binding (ix, "  ", b);
        }
    }
  sub_index_free (ix);
  sub_config_free (config);
  return rc;
}

static int
cmd_status (NfsubHost *host, int argc, char **argv)
{
  GError *error = NULL;
  SubConfig *config = NULL;
  SubIndex *ix = sub_open_readonly (host, &config, &error);
  if (!ix)
    return command_error ("subscriber status", error);
  g_autofree char *ev = format_time (ix->newest_event);
  g_autofree char *ar = format_time (ix->newest_arrival);
  g_print ("users           %u\n"
           "dynamic bindings %u\n"
           "static bindings %u\n"
           "sessions        %zu\n"
           "newest event    %s\n"
           "newest arrival  %s\n"
           "table memory    %zu bytes\n",
           lease_table_n_users (ix->table),
           lease_table_n_bindings (ix->table), ix->n_static, ix->n_sessions,
           ev, ar, lease_table_memory (ix->table));
  for (guint i = 0; i < ix->files->len; i++)
    {
      TrackedFile *t = ix->files->pdata[i];
      g_print ("%-6s %s: byte %" G_GUINT64_FORMAT ", line %" G_GUINT64_FORMAT
               "%s\n",
               t->kind == SOURCE_RADIUS ? "radius" : "kea", t->path,
               t->offset, t->line, t->seen ? "" : " (gone)");
    }
  sub_index_free (ix);
  sub_config_free (config);
  return 0;
}

static int
cmd_subscriber (NfsubHost *host, int argc, char **argv)
{
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      g_print ("Usage: nfsub subscriber lookup ADDR [--at TIME] [--history]\n"
               "       nfsub subscriber status\n");
      return argc < 2 ? 2 : 0;
    }
  if (strcmp (argv[1], "lookup") == 0)
    return cmd_lookup (host, argc - 1, argv + 1);
  if (strcmp (argv[1], "status") == 0)
    return cmd_status (host, argc - 1, argv + 1);
  g_printerr ("nfsub subscriber: unknown subcommand '%s' (lookup, status)\n",
              argv[1]);
  return 2;
}

static const NfsubCommand sub_commands[] = {
  { "filters", "nfdump filter files of subscriber addresses (--at TIME)",
    cmd_filters },
  { "subscriber", "who held an address (lookup ADDR --at TIME), status",
    cmd_subscriber },
  { NULL, NULL, NULL }
};

NFSUB_PLUGIN_DEFINE (.name = SUBSCRIBER_PLUGIN,
                     .description = "who held each flow end's address: user, "
                                    "service, class, access, direction",
                     .stage = NFSUB_STAGE_TAG, .init = sub_init,
                     .begin_file = sub_begin_file, .process = sub_process,
                     .end_file = sub_end_file, .finish = sub_finish,
                     .free = sub_plugin_free, .commands = sub_commands);
