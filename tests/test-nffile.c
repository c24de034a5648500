/* Tests of the native nffile reader against the real nfdump.
 *
 * Every fixture is written during the test run by a real nfcapd that
 * receives NetFlow v9 and IPFIX from the simulator (contrib/nfsim) over
 * loopback UDP, once per compression nfcapd 1.7.1 can write.  For each
 * file the reader's flows must equal what `nfdump` prints for the same
 * file, field by field and flow by flow, and the sums of the reader's
 * flows must equal the stat record as `nfdump -I` prints it.
 *
 * Bad input (truncated, flipped bytes, wrong magic, 1.6 layout, ...) must
 * give a GError naming the file, never a crash: run this test under
 * valgrind or ASan too.
 */
/* sched_getaffinity and CPU_COUNT */
#define _GNU_SOURCE
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <lz4.h>
#include <zstd.h>

#include <nfsub/nffile.h>
#include <nfsub/nffile-print.h>

#include "src/nffile/nffile-private.h"
#include "tests/test-nffile-collector.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------------ */
/* fixtures */

/* One real nfcapd file per compression nfcapd 1.7.1 writes, from the
 * shared fixture helper (tests/testutil.h: nfsim into nfcapd, cached in
 * the build tree).  NetFlow v9 sampled 1:10, which nfcapd scales; and one
 * IPFIX file sampled 1:4.  The router ones use nfsim's router template
 * (next hops, BGP next hops, VLANs, MACs, MPLS labels, adjacent AS, VRFs,
 * forwarding status / end reason, engine type and id), so records carry
 * many more elements (EXbgpNextHop*, EXvLan, EXmacAddr, EXmplsLabel,
 * EXasAdjacent, EXvrf) that the reader must step over. */
typedef struct {
  const char *name;        /* test path component */
  const char *nfcapd_flag; /* compression option of nfcapd 1.7.1 */
  guint8 compression;      /* what the file header must say */
  const char *nfsim_args;
  guint version;           /* 9 or 10 */
  guint32 sampling;
  guint32 source_id;
  gboolean router;         /* nfsim --template router */
  char *path;              /* the file, once made */
  gboolean failed;
} Fixture;

#define V9_ARGS "-n 20000 -S 10 -s 7 --source-id 101"
static Fixture fixtures[] = {
  { "none", "", NFSUB_COMPRESSION_NONE, V9_ARGS, 9, 10, 101 },
  { "lzo", "-z", NFSUB_COMPRESSION_LZO, V9_ARGS, 9, 10, 101 },
  { "lz4", "-y", NFSUB_COMPRESSION_LZ4, V9_ARGS, 9, 10, 101 },
  { "bz2", "-j", NFSUB_COMPRESSION_BZ2, V9_ARGS, 9, 10, 101 },
  { "ipfix-lz4", "-y", NFSUB_COMPRESSION_LZ4,
    "-f ipfix -n 12000 -S 4 -s 8 --source-id 202", 10, 4, 202 },
  { "router-v9-lzo", "-z", NFSUB_COMPRESSION_LZO,
    "--template router -n 20000 -S 10 -s 9 --source-id 303", 9, 10, 303,
    TRUE },
  { "router-ipfix-lz4", "-y", NFSUB_COMPRESSION_LZ4,
    "--template router -f ipfix -n 12000 -s 10 --source-id 404", 10, 1, 404,
    TRUE },
};
#define FX_NONE (&fixtures[0])
#define FX_LZO (&fixtures[1])
#define FX_LZ4 (&fixtures[2])

static char *tmp_root;

static const char *
fixture_path (Fixture *fx)
{
  if (fx->path || fx->failed)
    return fx->path;
  g_autofree char *name = g_strdup_printf ("nffile-%s", fx->name);
  g_autoptr (GError) error = NULL;
  fx->path = nfsub_test_fixture (name, fx->nfcapd_flag, fx->nfsim_args,
                                 &error);
  if (!fx->path)
    {
      fx->failed = TRUE;
      g_test_message ("fixture %s: %s", fx->name, error->message);
    }
  return fx->path;
}

static gboolean
have_tools (void)
{
  if (!collector_tools_available ())
    {
      g_test_skip ("nfcapd, nfdump or nfsim not available");
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* the reader's view of a file */

typedef struct {
  GArray *flows; /* NfsubFlow */
  NfsubFileInfo info;
  char *ident;
  GArray *exporters;
  GArray *samplers;
  GError *error;
  guint max_block;
  gboolean readahead_ran;
} ReadResult;

/* Every file is read three times: without read-ahead, with it (forced
 * on, whatever the CPU count), and with it and the caller's thread
 * decompressing blocks too whenever it can; all must give the same
 * flows, exporters, samplers and error, to the byte. */
typedef enum {
  READ_PLAIN,
  READ_AHEAD,
  READ_AHEAD_SHARED,
  N_READ_MODES,
} ReadMode;

static void
read_result_free (ReadResult *r)
{
  g_array_unref (r->flows);
  g_array_unref (r->exporters);
  g_array_unref (r->samplers);
  g_clear_error (&r->error);
  g_free (r->ident);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReadResult, read_result_free)

static ReadResult *
read_opened (NfsubNffile *f, GError *open_error, gsize batch, ReadMode mode)
{
  ReadResult *r = g_new0 (ReadResult, 1);
  r->flows = g_array_new (FALSE, FALSE, sizeof (NfsubFlow));
  r->exporters = g_array_new (FALSE, FALSE, sizeof (NfsubExporter));
  r->samplers = g_array_new (FALSE, FALSE, sizeof (NfsubSampler));
  if (!f)
    {
      r->error = open_error;
      return r;
    }
  r->info = *nfsub_nffile_info (f);
  r->ident = g_strdup (r->info.ident);
  r->info.ident = r->ident;
  r->info.path = NULL;
  nfsub_nffile_set_readahead (f, mode != READ_PLAIN);
  if (mode == READ_AHEAD_SHARED)
    nfsub_nffile_readahead_share (f, 1);
  g_autofree NfsubFlow *buf = g_new (NfsubFlow, batch);
  for (;;)
    {
      gssize n = nfsub_nffile_read (f, buf, batch, &r->error);
      if (n < 0)
        {
          g_assert_nonnull (r->error);
          /* errors are sticky: a second call repeats the same one */
          g_autoptr (GError) again = NULL;
          g_assert_cmpint (nfsub_nffile_read (f, buf, batch, &again), ==, -1);
          g_assert_cmpstr (again->message, ==, r->error->message);
          break;
        }
      if (n == 0)
        break;
      g_assert_cmpint (n, <=, (gssize) batch);
      g_array_append_vals (r->flows, buf, (guint) n);
      r->max_block = MAX (r->max_block, nfsub_nffile_current_block (f));
    }
  guint n;
  const NfsubExporter *e = nfsub_nffile_exporters (f, &n);
  g_array_append_vals (r->exporters, e, n);
  const NfsubSampler *s = nfsub_nffile_samplers (f, &n);
  g_array_append_vals (r->samplers, s, n);
  r->readahead_ran = nfsub_nffile_readahead_running (f);
  /* a file of one data block has nothing to read ahead */
  g_assert_cmpint (r->readahead_ran, ==,
                   mode != READ_PLAIN && r->info.num_blocks > 1);
  nfsub_nffile_close (f);
  return r;
}

static void
assert_same_result (const ReadResult *a, const ReadResult *b)
{
  g_assert_cmpuint (a->flows->len, ==, b->flows->len);
  /* the reader writes every byte of a flow (valgrind checks that too) */
  if (a->flows->len > 0
      && memcmp (a->flows->data, b->flows->data,
                 a->flows->len * sizeof (NfsubFlow)) != 0)
    g_error ("read-ahead changes the flows");
  g_assert_cmpint (!!a->error, ==, !!b->error);
  if (a->error)
    {
      g_assert_cmpint (a->error->code, ==, b->error->code);
      g_assert_cmpstr (a->error->message, ==, b->error->message);
    }
  g_assert_cmpuint (a->max_block, ==, b->max_block);
  g_assert_cmpuint (a->exporters->len, ==, b->exporters->len);
  for (guint i = 0; i < a->exporters->len; i++)
    {
      const NfsubExporter *x = &g_array_index (a->exporters, NfsubExporter, i);
      const NfsubExporter *y = &g_array_index (b->exporters, NfsubExporter, i);
      g_assert_cmpuint (x->sysid, ==, y->sysid);
      g_assert_cmpuint (x->version, ==, y->version);
      g_assert_cmpuint (x->id, ==, y->id);
      g_assert_true (nfsub_addr_equal (&x->ip, &y->ip));
    }
  g_assert_cmpuint (a->samplers->len, ==, b->samplers->len);
  for (guint i = 0; i < a->samplers->len; i++)
    {
      const NfsubSampler *x = &g_array_index (a->samplers, NfsubSampler, i);
      const NfsubSampler *y = &g_array_index (b->samplers, NfsubSampler, i);
      g_assert_cmpuint (x->exporter_sysid, ==, y->exporter_sysid);
      g_assert_cmpuint (x->algorithm, ==, y->algorithm);
      g_assert_cmpint (x->id, ==, y->id);
      g_assert_cmpuint (x->packet_interval, ==, y->packet_interval);
      g_assert_cmpuint (x->space_interval, ==, y->space_interval);
    }
}

/* Reads in every mode; returns the plain result once the others equal
 * it. */
static ReadResult *
read_all_modes (const char *path, const void *data, gsize len, gsize batch)
{
  ReadResult *r[N_READ_MODES];
  for (ReadMode mode = READ_PLAIN; mode < N_READ_MODES; mode++)
    {
      GError *error = NULL;
      NfsubNffile *f = data
                           ? nfsub_nffile_open_memory (data, len, path, &error)
                           : nfsub_nffile_open (path, &error);
      r[mode] = read_opened (f, error, batch, mode);
    }
  for (ReadMode mode = READ_AHEAD; mode < N_READ_MODES; mode++)
    {
      assert_same_result (r[READ_PLAIN], r[mode]);
      read_result_free (r[mode]);
    }
  return r[READ_PLAIN];
}

static ReadResult *
read_file (const char *path, gsize batch)
{
  return read_all_modes (path, NULL, 0, batch);
}

static ReadResult *
read_memory (const void *data, gsize len, const char *name)
{
  return read_all_modes (name, data, len, 1000);
}

/* ------------------------------------------------------------------ */
/* the oracle: nfdump's output */

static char *
run_nfdump (const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) nfsub_test_nfdump ());
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_auto (GStrv) env = g_get_environ ();
  /* nfdump prints %te and %tr in local time */
  env = g_environ_setenv (env, "TZ", "UTC", TRUE);
  char *out = NULL, *err = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  gboolean ok = g_spawn_sync (NULL, (char **) argv->pdata, env,
                              G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                              &status, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("nfdump failed: %s", err);
  g_free (err);
  return out;
}

/* `nfdump -I`: "Key: value" lines */
static GHashTable *
nfdump_info (const char *path)
{
  const char *args[] = { "-r", path, "-I", NULL };
  g_autofree char *out = run_nfdump (args);
  GHashTable *h = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         g_free);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      char *colon = strchr (lines[i], ':');
      if (!colon)
        continue;
      *colon = 0;
      g_hash_table_insert (h, g_strdup (g_strstrip (lines[i])),
                           g_strdup (g_strstrip (colon + 1)));
    }
  return h;
}

static guint64
info_u64 (GHashTable *h, const char *key)
{
  const char *v = g_hash_table_lookup (h, key);
  if (!v)
    g_error ("nfdump -I printed no '%s'", key);
  char *end;
  guint64 x = g_ascii_strtoull (v, &end, 10);
  g_assert_true (*end == 0);
  return x;
}

#define ORACLE_FMT                                                           \
  "fmt:%tsr|%te|%tr|%pr|%sa|%da|%sp|%dp|%ibyt|%ipkt|%obyt|%opkt|%in|%out|"   \
  "%ra|%exp|%fl|%flg|%stos|%smk|%dmk|%dir|%sas|%das|%nh|%fwd|%nfv"

enum {
  O_TSR, O_TE, O_TR, O_PR, O_SA, O_DA, O_SP, O_DP, O_IBYT, O_IPKT, O_OBYT,
  O_OPKT, O_IN, O_OUT, O_RA, O_EXP, O_FL, O_FLG, O_STOS, O_SMK, O_DMK, O_DIR,
  O_SAS, O_DAS, O_NH, O_FWD, O_NFV, O_N_FIELDS
};

static guint64
parse_u64 (const char *s)
{
  char *end;
  while (*s == ' ')
    s++;
  guint64 v = g_ascii_strtoull (s, &end, 10);
  while (*end == ' ')
    end++;
  if (*end)
    g_error ("nfdump field '%s' is not a number", s);
  return v;
}

/* "2024-06-03 00:35:30.086" (UTC) */
static guint64
parse_time_ms (const char *s)
{
  while (*s == ' ')
    s++;
  int Y, M, D, h, m, sec, ms;
  if (sscanf (s, "%d-%d-%d %d:%d:%d.%d", &Y, &M, &D, &h, &m, &sec, &ms) != 7)
    g_error ("nfdump time '%s'", s);
  g_autoptr (GDateTime) dt = g_date_time_new_utc (Y, M, D, h, m, sec);
  return (guint64) g_date_time_to_unix (dt) * 1000 + (guint64) ms;
}

/* "1717374929.711" */
static guint64
parse_raw_time_ms (const char *s)
{
  while (*s == ' ')
    s++;
  const char *dot = strchr (s, '.');
  g_assert_nonnull (dot);
  g_autofree char *secs = g_strndup (s, (gsize) (dot - s));
  return parse_u64 (secs) * 1000 + parse_u64 (dot + 1);
}

static NfsubAddr
parse_addr (const char *s)
{
  NfsubAddr a;
  g_autofree char *t = g_strstrip (g_strdup (s));
  if (!nfsub_addr_parse (t, &a))
    g_error ("nfdump address '%s'", t);
  return a;
}

/* "...AP.SF" */
static guint8
parse_flags (const char *s)
{
  g_autofree char *t = g_strstrip (g_strdup (s));
  g_assert_cmpuint (strlen (t), ==, 8);
  guint8 v = 0;
  for (int i = 0; i < 8; i++)
    if (t[i] != '.')
      v |= (guint8) (0x80 >> i);
  return v;
}

/* %dp prints ICMP as "type.code" */
static guint16
parse_port (const char *s, guint8 proto)
{
  g_autofree char *t = g_strstrip (g_strdup (s));
  char *dot = strchr (t, '.');
  if (dot && (proto == 1 || proto == 58))
    {
      *dot = 0;
      return (guint16) (parse_u64 (t) * 256 + parse_u64 (dot + 1));
    }
  return (guint16) parse_u64 (t);
}

/* %nfv prints "Nv9", "Nv10" (NetFlow/IPFIX: low 4 bits), "Sv5" (sFlow,
 * 0x80), "Pv1" (nfpcapd, 0x40), "EVT..." for events */
static gboolean
nfversion_matches (const NfsubFlow *f, const char *field)
{
  g_autofree char *t = g_strstrip (g_strdup (field));
  const char *prefix = (f->flags & NFSUB_FLOW_EVENT) ? "EVT"
                       : (f->nfversion & 0x80)       ? "Sv"
                       : (f->nfversion & 0x40)       ? "Pv"
                                                     : "Nv";
  if (!g_str_has_prefix (t, prefix))
    return FALSE;
  guint expect = (f->flags & NFSUB_FLOW_EVENT) ? f->nfversion
                                               : (f->nfversion & 0x0f);
  return parse_u64 (t + strlen (prefix)) == expect;
}

/* Compares every flow with nfdump's line for it. */
static void
compare_with_nfdump_lines (const char *path, GArray *flows)
{
  const char *args[] = { "-6", "-r", path, "-q", "-N", "-o", ORACLE_FMT, NULL };
  g_autofree char *out = run_nfdump (args);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  guint n_lines = g_strv_length (lines);
  if (n_lines > 0 && lines[n_lines - 1][0] == 0)
    n_lines--;
  g_assert_cmpuint (n_lines, ==, flows->len);
  for (guint i = 0; i < flows->len; i++)
    {
      const NfsubFlow *f = &g_array_index (flows, NfsubFlow, i);
      g_auto (GStrv) v = g_strsplit (lines[i], "|", -1);
      if (g_strv_length (v) != O_N_FIELDS)
        g_error ("nfdump line %u has %u fields: %s", i, g_strv_length (v),
                 lines[i]);
      NfsubAddr sa = parse_addr (v[O_SA]), da = parse_addr (v[O_DA]);
      NfsubAddr ra = parse_addr (v[O_RA]), nh = parse_addr (v[O_NH]);
      guint8 proto = (guint8) parse_u64 (v[O_PR]);
      guint8 family = strchr (v[O_SA], ':') ? 6 : 4;
      g_autofree char *dir = g_strstrip (g_strdup (v[O_DIR]));
      struct {
        const char *name;
        gboolean ok;
      } checks[] = {
        { "first (%tsr)", f->first_ms == parse_raw_time_ms (v[O_TSR]) },
        { "last (%te)", f->last_ms == parse_time_ms (v[O_TE]) },
        { "received (%tr)", f->received_ms == parse_time_ms (v[O_TR]) },
        { "proto", f->proto == proto },
        { "family", f->family == family },
        { "src addr", nfsub_addr_equal (&f->src, &sa) },
        { "dst addr", nfsub_addr_equal (&f->dst, &da) },
        { "src port", f->src_port == parse_port (v[O_SP], proto) },
        { "dst port", f->dst_port == parse_port (v[O_DP], proto) },
        { "in bytes", f->in_bytes == parse_u64 (v[O_IBYT]) },
        { "in packets", f->in_packets == parse_u64 (v[O_IPKT]) },
        { "out bytes", f->out_bytes == parse_u64 (v[O_OBYT]) },
        { "out packets", f->out_packets == parse_u64 (v[O_OPKT]) },
        { "input if", f->input_if == parse_u64 (v[O_IN]) },
        { "output if", f->output_if == parse_u64 (v[O_OUT]) },
        { "exporter (%ra)", nfsub_addr_equal (&f->exporter, &ra) },
        { "exporter sysid", f->exporter_sysid == parse_u64 (v[O_EXP]) },
        { "flows (%fl)", f->aggr_flows == parse_u64 (v[O_FL]) },
        { "tcp flags", proto != 6 || f->tcp_flags == parse_flags (v[O_FLG]) },
        { "src tos", f->src_tos == parse_u64 (v[O_STOS]) },
        { "src mask", f->src_mask == parse_u64 (v[O_SMK]) },
        { "dst mask", f->dst_mask == parse_u64 (v[O_DMK]) },
        { "direction", (f->flow_dir ? 'E' : 'I') == dir[0] },
        { "src AS", f->src_as == parse_u64 (v[O_SAS]) },
        { "dst AS", f->dst_as == parse_u64 (v[O_DAS]) },
        { "next hop", nfsub_addr_equal (&f->next_hop, &nh)
                          || (nfsub_addr_is_v4 (&nh) && nfsub_addr_v4 (&nh) == 0
                              && f->next_hop.hi == 0 && f->next_hop.lo == 0) },
        { "fwd status", f->fwd_status == parse_u64 (v[O_FWD]) },
        { "nf version (%nfv)", nfversion_matches (f, v[O_NFV]) },
      };
      for (guint k = 0; k < G_N_ELEMENTS (checks); k++)
        if (!checks[k].ok)
          {
            g_autoptr (GString) mine = g_string_new (NULL);
            nfsub_flow_format (f, mine);
            g_error ("%s: flow %u: %s differs from nfdump\n  nfdump: %s\n"
                     "  nfsub:  %s", path, i, checks[k].name, lines[i],
                     mine->str);
          }
    }
}

static guint
stat_class (guint8 proto)
{
  switch (proto)
    {
    case 6: return 0;
    case 17: return 1;
    case 1: case 58: return 2;
    default: return 3;
    }
}

/* The reader's flows, summed, must give what nfdump -I prints; so must
 * the stat record the reader parsed. */
static void
compare_with_nfdump_info (const char *path, const ReadResult *r)
{
  g_autoptr (GHashTable) h = nfdump_info (path);
  guint64 flows = 0, bytes = 0, packets = 0;
  guint64 c_flows[4] = { 0 }, c_bytes[4] = { 0 }, c_packets[4] = { 0 };
  guint64 first = G_MAXUINT64, last = 0;
  for (guint i = 0; i < r->flows->len; i++)
    {
      const NfsubFlow *f = &g_array_index (r->flows, NfsubFlow, i);
      flows += f->aggr_flows;
      bytes += nfsub_flow_bytes (f);
      packets += nfsub_flow_packets (f);
      guint c = stat_class (f->proto);
      c_flows[c] += f->aggr_flows;
      c_bytes[c] += f->in_bytes; /* nfcapd: per-protocol sums are in-only */
      c_packets[c] += f->in_packets;
      first = MIN (first, f->first_ms);
      last = MAX (last, f->last_ms);
    }
  static const char *cls[] = { "tcp", "udp", "icmp", "other" };
  g_assert_cmpuint (flows, ==, info_u64 (h, "Flows"));
  g_assert_cmpuint (bytes, ==, info_u64 (h, "Bytes"));
  g_assert_cmpuint (packets, ==, info_u64 (h, "Packets"));
  for (guint c = 0; c < 4; c++)
    {
      g_autofree char *kf = g_strdup_printf ("Flows_%s", cls[c]);
      g_autofree char *kb = g_strdup_printf ("Bytes_%s", cls[c]);
      g_autofree char *kp = g_strdup_printf ("Packets_%s", cls[c]);
      g_assert_cmpuint (c_flows[c], ==, info_u64 (h, kf));
      g_assert_cmpuint (c_bytes[c], ==, info_u64 (h, kb));
      g_assert_cmpuint (c_packets[c], ==, info_u64 (h, kp));
    }
  if (flows > 0)
    {
      g_assert_cmpuint (first / 1000, ==, info_u64 (h, "First"));
      g_assert_cmpuint (first % 1000, ==, info_u64 (h, "msec_first"));
      g_assert_cmpuint (last / 1000, ==, info_u64 (h, "Last"));
      g_assert_cmpuint (last % 1000, ==, info_u64 (h, "msec_last"));
    }

  /* the stat record as the reader parsed it */
  const NfsubStatRecord *s = &r->info.stat;
  g_assert_true (r->info.has_stat);
  g_assert_cmpuint (s->numflows, ==, info_u64 (h, "Flows"));
  g_assert_cmpuint (s->numbytes, ==, info_u64 (h, "Bytes"));
  g_assert_cmpuint (s->numpackets, ==, info_u64 (h, "Packets"));
  g_assert_cmpuint (s->numflows_tcp, ==, info_u64 (h, "Flows_tcp"));
  g_assert_cmpuint (s->numbytes_udp, ==, info_u64 (h, "Bytes_udp"));
  g_assert_cmpuint (s->numpackets_icmp, ==, info_u64 (h, "Packets_icmp"));
  g_assert_cmpuint (s->numflows_other, ==, info_u64 (h, "Flows_other"));
  g_assert_cmpuint (s->first_ms / 1000, ==, info_u64 (h, "First"));
  g_assert_cmpuint (s->last_ms % 1000, ==, info_u64 (h, "msec_last"));
  g_assert_cmpuint (s->sequence_failures, ==,
                    info_u64 (h, "Sequence failures"));
  g_assert_cmpstr (r->info.ident, ==, g_hash_table_lookup (h, "Ident"));
}

/* Sampling: nfcapd scaled the counters of a sampled exporter by its
 * announced rate and flagged the records; the reader must report that
 * rate (from the Sampler record), and 1 for an unsampled exporter.  The
 * expectations come from the simulator's arguments, not from the file. */
typedef struct {
  guint32 source_id;
  guint version;
  guint32 sampling;
  guint64 flows; /* expected flow count, 0: do not check */
} ExpectedExporter;

static void
check_sampling (const ReadResult *r, const ExpectedExporter *want,
                guint n_want)
{
  guint16 sysid[8] = { 0 };
  g_assert_cmpuint (n_want, <=, G_N_ELEMENTS (sysid));
  g_assert_cmpuint (r->exporters->len, ==, n_want);
  for (guint i = 0; i < r->exporters->len; i++)
    {
      const NfsubExporter *e = &g_array_index (r->exporters, NfsubExporter, i);
      char buf[NFSUB_ADDR_STRLEN];
      g_assert_cmpstr (nfsub_addr_to_string (&e->ip, buf), ==, "127.0.0.1");
      guint k;
      for (k = 0; k < n_want && want[k].source_id != e->id; k++)
        ;
      g_assert_cmpuint (k, <, n_want);
      g_assert_cmpuint (e->version, ==, want[k].version);
      sysid[k] = e->sysid;
    }
  for (guint i = 0; i < r->samplers->len; i++)
    {
      const NfsubSampler *s = &g_array_index (r->samplers, NfsubSampler, i);
      guint k;
      for (k = 0; k < n_want && sysid[k] != s->exporter_sysid; k++)
        ;
      g_assert_cmpuint (k, <, n_want);
      g_assert_cmpuint (want[k].sampling, >, 1);
      g_assert_cmpuint (s->packet_interval + s->space_interval, ==,
                        want[k].sampling * s->packet_interval);
    }
  guint64 seen[8] = { 0 };
  for (guint i = 0; i < r->flows->len; i++)
    {
      const NfsubFlow *f = &g_array_index (r->flows, NfsubFlow, i);
      guint k;
      for (k = 0; k < n_want && sysid[k] != f->exporter_sysid; k++)
        ;
      g_assert_cmpuint (k, <, n_want);
      seen[k]++;
      g_assert_cmpuint (f->nfversion, ==, want[k].version);
      g_assert_cmpuint (f->sampling_rate, ==, want[k].sampling);
      if (want[k].sampling > 1)
        {
          g_assert_true (f->flags & NFSUB_FLOW_SAMPLED);
          /* nfcapd multiplied the exported counters by the rate */
          g_assert_cmpuint (f->in_bytes % want[k].sampling, ==, 0);
          g_assert_cmpuint (f->in_packets % want[k].sampling, ==, 0);
        }
      else
        g_assert_false (f->flags & NFSUB_FLOW_SAMPLED);
    }
  for (guint k = 0; k < n_want; k++)
    {
      g_assert_cmpuint (seen[k], >, 0);
      if (want[k].flows)
        g_assert_cmpuint (seen[k], ==, want[k].flows);
    }
}

/* A router fixture must really hold the router's elements, or comparing
 * it with nfdump proves nothing more than the lean ones: nfdump must show
 * the values nfsim's router template sends (contrib/nfsim/README.md) in
 * every flow, or in some flows where they depend on the direction.
 * nfcapd 1.7.1 keeps forwarding status and adjacent AS from v9 only, the
 * end reason from IPFIX only. */
static void
check_router_elements (const char *path, guint version, guint n_flows)
{
  const char *args[] = {
    "-6", "-r", path, "-q", "-N", "-o",
    "fmt:%svln|%dvln|%ismc|%idmc|%osmc|%odmc|%eng|%mpls1|%mpls2|%nhb|%nas|"
    "%pas|%ivrf|%evrf|%fwd|%end|%mpls3",
    NULL
  };
  g_autofree char *out = run_nfdump (args);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  guint n = 0, labelled = 0, bgp = 0, next_as = 0, prev_as = 0, vrf = 0;
  for (guint i = 0; lines[i] && lines[i][0]; i++, n++)
    {
      g_auto (GStrv) v = g_strsplit (lines[i], "|", -1);
      g_assert_cmpuint (g_strv_length (v), ==, 17);
      for (guint k = 0; k < 17; k++)
        g_strstrip (v[k]);
      /* VLANs 100..4063, MACs 02:.. (CPE) or 06:.. (router, core) */
      g_assert_cmpuint (parse_u64 (v[0]), >=, 100);
      g_assert_cmpuint (parse_u64 (v[1]), >=, 100);
      for (guint k = 2; k < 6; k++)
        g_assert_true (g_str_has_prefix (v[k], "02:")
                       || g_str_has_prefix (v[k], "06:00:00:00:0"));
      g_assert_true (g_str_equal (v[6], "1/1") || g_str_equal (v[6], "1/2"));
      if (!g_str_equal (v[7], "0-0-0"))
        {
          labelled++;
          /* two or three entries, the last one bottom of stack */
          g_assert_true (g_str_has_suffix (v[8], "-1")
                         != g_str_has_suffix (v[16], "-1"));
        }
      if (!g_str_equal (v[9], "0.0.0.0") && !g_str_equal (v[9], "::"))
        bgp++;
      next_as += parse_u64 (v[10]) != 0;
      prev_as += parse_u64 (v[11]) != 0;
      vrf += parse_u64 (v[12]) + parse_u64 (v[13]) != 0;
      guint64 fwd = parse_u64 (v[14]), end = parse_u64 (v[15]);
      if (version == 9)
        {
          g_assert_true (fwd == 64 || fwd == 66 || fwd == 129 || fwd == 131);
          g_assert_cmpuint (end, ==, 0);
        }
      else
        {
          g_assert_cmpuint (fwd, ==, 0);
          g_assert_true (end >= 1 && end <= 3);
        }
    }
  g_assert_cmpuint (n, ==, n_flows);
  /* downloads are labelled and come from a transit AS, uploads go to
   * a BGP next hop and a transit AS: both kinds are common */
  g_assert_cmpuint (labelled, >, n / 2);
  g_assert_cmpuint (bgp, >, n / 5);
  g_assert_cmpuint (vrf, ==, n);
  if (version == 9)
    {
      g_assert_cmpuint (next_as, ==, bgp);
      g_assert_cmpuint (prev_as, ==, n - bgp);
    }
  else
    g_assert_cmpuint (next_as + prev_as, ==, 0);
}

static void
test_oracle (gconstpointer data)
{
  Fixture *fx = (Fixture *) data;
  if (!have_tools ())
    return;
  const char *path = fixture_path (fx);
  g_assert_nonnull (path);
  g_autoptr (ReadResult) r = read_file (path, 4096);
  g_assert_no_error (r->error);
  g_assert_cmpuint (r->info.compression, ==, fx->compression);
  g_assert_cmpuint (r->info.layout_version, ==, 2);
  g_assert_cmpuint (r->info.num_blocks, >=, 2); /* the walk crosses blocks */
  g_assert_cmpuint (r->max_block, ==, r->info.num_blocks - 1);
  compare_with_nfdump_info (path, r);
  compare_with_nfdump_lines (path, r->flows);
  ExpectedExporter want = { fx->source_id, fx->version, fx->sampling, 0 };
  check_sampling (r, &want, 1);
  if (fx->router)
    check_router_elements (path, fx->version, r->flows->len);

  /* batch size must not matter */
  g_autoptr (ReadResult) r1 = read_file (path, 1);
  g_assert_no_error (r1->error);
  g_assert_cmpuint (r1->flows->len, ==, r->flows->len);
  g_assert_cmpmem (r1->flows->data, r1->flows->len * sizeof (NfsubFlow),
                   r->flows->data, r->flows->len * sizeof (NfsubFlow));
}

/* Two exporters into one nfcapd: NetFlow v9 sampled 1:10 and IPFIX
 * unsampled, told apart by source id / observation domain; and an ident
 * (-I).  Flows of each exporter carry that exporter's rate. */
static void
test_two_exporters (void)
{
  if (!have_tools ())
    return;
  g_autofree char *dir = g_build_filename (tmp_root, "two-exporters", NULL);
  g_autoptr (GError) error = NULL;
  const NfsimRun runs[] = {
    { .format = "v9", .flows = 9000, .seed = 21, .sampling = 10,
      .source_id = 101 },
    { .format = "ipfix", .flows = 5000, .seed = 22, .sampling = 1,
      .source_id = 202 },
  };
  g_autofree char *path = collector_make_file (dir, "-y", "nfsub-test",
                                               runs, 2, &error);
  g_assert_no_error (error);
  g_autoptr (ReadResult) r = read_file (path, 1024);
  g_assert_no_error (r->error);
  g_assert_cmpstr (r->info.ident, ==, "nfsub-test");
  compare_with_nfdump_info (path, r);
  compare_with_nfdump_lines (path, r->flows);
  /* unsampled: nfsim exports every flow it makes */
  const ExpectedExporter want[] = { { 101, 9, 10, 0 }, { 202, 10, 1, 5000 } };
  check_sampling (r, want, 2);
}

/* NetFlow v5: nfreplay sends the IPv4 flows of the LZ4 fixture as v5 to
 * an nfcapd with a default sampling rate (-s 100), which nfcapd applies
 * to v5 (it announces none) and records as Sampler id -2 (default). */
static void
test_v5_default_sampling (void)
{
  if (!have_tools ())
    return;
  if (!collector_nfreplay_available ())
    {
      g_test_skip ("nfreplay not available");
      return;
    }
  const char *source = fixture_path (FX_LZ4);
  g_assert_nonnull (source);
  /* how many IPv4 flows the source holds, per nfdump */
  const char *args[] = { "-r", source, "-q", "-N", "-o", "fmt:%sa", NULL };
  g_autofree char *out = run_nfdump (args);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  guint64 n_v4 = 0;
  for (guint i = 0; lines[i]; i++)
    if (*lines[i] && !strchr (lines[i], ':'))
      n_v4++;
  g_assert_cmpuint (n_v4, >, 1000);

  g_autofree char *dir = g_build_filename (tmp_root, "v5", NULL);
  g_autoptr (GError) error = NULL;
  const NfsimRun runs[] = { { .replay_file = source } };
  g_autofree char *path = collector_make_file (dir, "-z -s 100", NULL, runs,
                                               1, &error);
  g_assert_no_error (error);
  g_autoptr (ReadResult) r = read_file (path, 2048);
  g_assert_no_error (r->error);
  compare_with_nfdump_info (path, r);
  compare_with_nfdump_lines (path, r->flows);
  g_assert_cmpuint (r->flows->len, ==, n_v4);
  g_assert_cmpuint (r->exporters->len, ==, 1);
  const NfsubExporter *e = (const NfsubExporter *) r->exporters->data;
  g_assert_cmpuint (e->version, ==, 5);
  g_assert_cmpuint (r->samplers->len, ==, 1);
  const NfsubSampler *s = (const NfsubSampler *) r->samplers->data;
  g_assert_cmpint (s->id, ==, -2);
  g_assert_cmpuint (s->packet_interval, ==, 1);
  g_assert_cmpuint (s->space_interval, ==, 99);
  for (guint i = 0; i < r->flows->len; i++)
    {
      const NfsubFlow *f = &g_array_index (r->flows, NfsubFlow, i);
      g_assert_cmpuint (f->nfversion, ==, 5);
      g_assert_cmpuint (f->family, ==, 4);
      g_assert_true (f->flags & NFSUB_FLOW_SAMPLED);
      g_assert_cmpuint (f->sampling_rate, ==, 100);
      g_assert_cmpuint (f->in_packets % 100, ==, 0);
    }
}

/* An exporter talking over IPv6 (nfcapd -6 on ::1): the address comes in
 * EXipReceivedV6 and in an ExporterInfo record of family AF_INET6. */
static void
test_ipv6_exporter (void)
{
  if (!have_tools ())
    return;
  g_autofree char *dir = g_build_filename (tmp_root, "ipv6-exporter", NULL);
  g_autoptr (GError) error = NULL;
  const NfsimRun runs[] = { { .format = "v9", .flows = 4000, .seed = 31,
                              .sampling = 3, .source_id = 7 } };
  g_autofree char *path = collector_make_file (dir, "-6 -y", NULL, runs, 1,
                                               &error);
  if (!path && error && strstr (error->message, "did not bind"))
    {
      g_test_skip ("no IPv6 loopback here");
      return;
    }
  g_assert_no_error (error);
  g_autoptr (ReadResult) r = read_file (path, 2048);
  g_assert_no_error (r->error);
  compare_with_nfdump_info (path, r);
  compare_with_nfdump_lines (path, r->flows);
  NfsubAddr lo6;
  g_assert_true (nfsub_addr_parse ("::1", &lo6));
  g_assert_cmpuint (r->exporters->len, ==, 1);
  const NfsubExporter *e = (const NfsubExporter *) r->exporters->data;
  g_assert_true (nfsub_addr_equal (&e->ip, &lo6));
  g_assert_cmpuint (e->id, ==, 7);
  for (guint i = 0; i < r->flows->len; i++)
    {
      const NfsubFlow *f = &g_array_index (r->flows, NfsubFlow, i);
      g_assert_true (nfsub_addr_equal (&f->exporter, &lo6));
      g_assert_cmpuint (f->sampling_rate, ==, 3);
    }
}

/* ------------------------------------------------------------------ */
/* ZSTD.  nfcapd 1.7.1 cannot write ZSTD (it arrived in 1.7.3) and the
 * Debian nfdump cannot read it, so there is no real ZSTD file to compare
 * with.  What we can do honestly: take the real LZ4 file, decompress each
 * block and recompress it with ZSTD_compress, exactly the framing nfdump
 * 1.7.3+ writes (one zstd frame per block, no extra header), and require
 * the identical flows.  The LZ4 flows are themselves checked against
 * nfdump above. */

static GByteArray *
recompress_lz4_as_zstd (const guint8 *src, gsize len)
{
  GByteArray *out = g_byte_array_new ();
  g_assert_cmpuint (len, >=, 40);
  g_assert_cmpuint (src[16], ==, NFSUB_COMPRESSION_LZ4);
  guint32 num_blocks;
  guint16 appendix_blocks;
  memcpy (&num_blocks, src + 36, 4);
  memcpy (&appendix_blocks, src + 18, 2);
  g_byte_array_append (out, src, 40);
  out->data[16] = NFSUB_COMPRESSION_ZSTD;
  gsize pos = 40;
  g_autofree char *plain = g_malloc (5 * 1024 * 1024);
  gsize cap = ZSTD_compressBound (5 * 1024 * 1024);
  g_autofree guint8 *packed = g_malloc (cap);
  guint64 off_appendix = 0;
  for (guint b = 0; b < num_blocks + appendix_blocks; b++)
    {
      if (b == num_blocks)
        off_appendix = out->len;
      g_assert_cmpuint (pos + 12, <=, len);
      guint8 hdr[12];
      memcpy (hdr, src + pos, 12);
      guint32 size;
      memcpy (&size, hdr + 4, 4);
      g_assert_cmpuint (pos + 12 + size, <=, len);
      int n = LZ4_decompress_safe ((const char *) src + pos + 12, plain,
                                   (int) size, 5 * 1024 * 1024);
      g_assert_cmpint (n, >, 0);
      size_t z = ZSTD_compress (packed, cap, plain, (size_t) n, 3);
      g_assert_false (ZSTD_isError (z));
      guint32 zsize = (guint32) z;
      memcpy (hdr + 4, &zsize, 4);
      g_byte_array_append (out, hdr, 12);
      g_byte_array_append (out, packed, zsize);
      pos += 12 + size;
    }
  memcpy (out->data + 24, &off_appendix, 8);
  return out;
}

static void
test_zstd (void)
{
  if (!have_tools ())
    return;
  const char *lz4 = fixture_path (FX_LZ4);
  g_assert_nonnull (lz4);
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (lz4, &data, &len, NULL));
  g_autoptr (GByteArray) z = recompress_lz4_as_zstd ((guint8 *) data, len);
  g_autofree char *zpath = g_build_filename (tmp_root, "nfcapd.zstd", NULL);
  g_assert_true (g_file_set_contents (zpath, (char *) z->data, z->len, NULL));

  g_autoptr (ReadResult) a = read_file (lz4, 1000);
  g_autoptr (ReadResult) b = read_file (zpath, 1000);
  g_assert_no_error (a->error);
  g_assert_no_error (b->error);
  g_assert_cmpuint (b->info.compression, ==, NFSUB_COMPRESSION_ZSTD);
  g_assert_cmpstr (nfsub_compression_name (b->info.compression), ==, "ZSTD");
  g_assert_cmpuint (a->flows->len, ==, b->flows->len);
  g_assert_cmpmem (a->flows->data, a->flows->len * sizeof (NfsubFlow),
                   b->flows->data, b->flows->len * sizeof (NfsubFlow));
  g_assert_cmpmem (&a->info.stat, sizeof a->info.stat, &b->info.stat,
                   sizeof b->info.stat);
  g_assert_cmpstr (a->info.ident, ==, b->info.ident);
  /* and the LZ4 flows are nfdump's */
  compare_with_nfdump_lines (lz4, b->flows);
}

/* ------------------------------------------------------------------ */
/* special files written by nfcapd */

/* nfcapd started and stopped with no traffic: a valid file with no flows */
static void
test_empty_slot (void)
{
  if (!have_tools ())
    return;
  g_autofree char *dir = g_build_filename (tmp_root, "empty", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *path = collector_make_file (dir, "-y", NULL, NULL, 0,
                                               &error);
  g_assert_no_error (error);
  g_autoptr (ReadResult) r = read_file (path, 100);
  g_assert_no_error (r->error);
  g_assert_cmpuint (r->flows->len, ==, 0);
  compare_with_nfdump_info (path, r);
  g_assert_cmpstr (r->info.ident, ==, "none");
}

/* nfcapd restarted within its time slot appends to the file: the second
 * run numbers its exporters from 1 again and announces its own sampling
 * rate.  Flows of each run must carry their own run's rate. */
static void
test_appended (void)
{
  if (!have_tools ())
    return;
  g_autofree char *dir = g_build_filename (tmp_root, "appended", NULL);
  g_autoptr (GError) error = NULL;
  const NfsimRun run1[] = { { .format = "v9", .flows = 3000, .seed = 11,
                              .sampling = 4, .source_id = 1 } };
  const NfsimRun run2[] = { { .format = "v9", .flows = 3000, .seed = 12,
                              .sampling = 7, .source_id = 2 } };
  g_autofree char *path = NULL;
  guint64 n1 = 0;
  for (int attempt = 0; attempt < 3 && !path; attempt++)
    {
      g_clear_error (&error);
      g_autofree char *p1 = collector_make_file (dir, "-z", NULL, run1, 1,
                                                 &error);
      g_assert_no_error (error);
      g_autoptr (GHashTable) h = nfdump_info (p1);
      n1 = info_u64 (h, "Flows");
      path = collector_append_file (dir, "-z", NULL, run2, 1, p1, &error);
      if (!path)
        g_test_message ("append attempt %d: %s", attempt, error->message);
    }
  g_assert_no_error (error);
  g_autoptr (ReadResult) r = read_file (path, 777);
  g_assert_no_error (r->error);
  compare_with_nfdump_info (path, r);
  compare_with_nfdump_lines (path, r->flows);
  g_assert_cmpuint (r->flows->len, >, n1);
  g_assert_cmpuint (r->exporters->len, ==, 2);
  const NfsubExporter *e = (const NfsubExporter *) r->exporters->data;
  g_assert_cmpuint (e[0].sysid, ==, e[1].sysid);
  g_assert_cmpuint (e[0].id, ==, 1);
  g_assert_cmpuint (e[1].id, ==, 2);
  for (guint i = 0; i < r->flows->len; i++)
    {
      const NfsubFlow *f = &g_array_index (r->flows, NfsubFlow, i);
      g_assert_cmpuint (f->exporter_sysid, ==, e[0].sysid);
      g_assert_cmpuint (f->sampling_rate, ==, i < n1 ? 4 : 7);
    }
}

/* ------------------------------------------------------------------ */
/* bad input */

static void
assert_error_names (const GError *error, const char *path, gint code)
{
  g_assert_nonnull (error);
  g_assert_true (error->domain == NFSUB_NFFILE_ERROR);
  if (code >= 0)
    g_assert_cmpint (error->code, ==, code);
  if (!strstr (error->message, path))
    g_error ("error does not name the file %s: %s", path, error->message);
}

static char *
write_variant (const char *name, const void *data, gsize len)
{
  char *path = g_build_filename (tmp_root, name, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, data, (gssize) len, &error);
  g_assert_no_error (error);
  return path;
}

static ReadResult *
read_variant (const char *name, const void *data, gsize len)
{
  g_autofree char *path = write_variant (name, data, len);
  ReadResult *r = read_file (path, 512);
  /* the in-memory reader (used by the fuzzer) must agree */
  g_autoptr (ReadResult) m = read_memory (data, len, path);
  g_assert_cmpuint (m->flows->len, ==, r->flows->len);
  g_assert_cmpint (!!m->error, ==, !!r->error);
  if (r->error)
    g_assert_cmpstr (m->error->message, ==, r->error->message);
  g_unlink (path);
  return r;
}

static void
expect_error (const char *name, const void *data, gsize len, gint code,
              const char *needle)
{
  g_autofree char *path = g_build_filename (tmp_root, name, NULL);
  g_autoptr (ReadResult) r = read_variant (name, data, len);
  assert_error_names (r->error, path, code);
  if (needle && !strstr (r->error->message, needle))
    g_error ("error for %s lacks '%s': %s", name, needle, r->error->message);
  g_test_message ("%s: %s", name, r->error->message);
}

static char *
fixture_bytes (Fixture *fx, gsize *len)
{
  const char *path = fixture_path (fx);
  g_assert_nonnull (path);
  char *data = NULL;
  g_assert_true (g_file_get_contents (path, &data, len, NULL));
  return data;
}

/* Offsets of every block header, found by walking the chain here. */
static GArray *
block_offsets (const guint8 *d, gsize len)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (gsize));
  guint32 nb;
  guint16 na;
  memcpy (&nb, d + 36, 4);
  memcpy (&na, d + 18, 2);
  gsize pos = 40;
  for (guint i = 0; i < nb + na && pos + 12 <= len; i++)
    {
      g_array_append_val (a, pos);
      guint32 size;
      memcpy (&size, d + pos + 4, 4);
      pos += 12 + size;
    }
  return a;
}

static void
test_bad_header (void)
{
  guint8 h[300] = { 0 };
  expect_error ("zero-length", h, 0, NFSUB_NFFILE_ERROR_NOT_NFFILE, "empty");
  expect_error ("text", "hello world, not flows\n", 23,
                NFSUB_NFFILE_ERROR_NOT_NFFILE, "magic");
  expect_error ("tiny", "\x0c", 1, NFSUB_NFFILE_ERROR_NOT_NFFILE, NULL);

  /* nfdump 1.6 (layout 1): magic, version 1, flags, blocks, ident ... */
  h[0] = 0x0c, h[1] = 0xa5, h[2] = 1;
  h[4] = 0x10; /* LZ4 */
  h[8] = 3;    /* NumBlocks */
  memcpy (h + 12, "none", 4);
  expect_error ("layout1", h, sizeof h, NFSUB_NFFILE_ERROR_UNSUPPORTED,
                "nfdump 1.6 file: convert with nfdump -r old -w new");

  /* big-endian writer: magic bytes swapped */
  memset (h, 0, sizeof h);
  h[0] = 0xa5, h[1] = 0x0c, h[3] = 2;
  expect_error ("bigendian", h, 40, NFSUB_NFFILE_ERROR_UNSUPPORTED,
                "big-endian");

  memset (h, 0, sizeof h);
  h[0] = 0x0c, h[1] = 0xa5, h[2] = 7;
  expect_error ("layout7", h, 40, NFSUB_NFFILE_ERROR_UNSUPPORTED,
                "layout version 7");
  h[2] = 2;
  expect_error ("short-header", h, 39, NFSUB_NFFILE_ERROR_TRUNCATED, NULL);
  h[17] = 1;
  expect_error ("encrypted", h, 40, NFSUB_NFFILE_ERROR_UNSUPPORTED,
                "encrypted");
  h[17] = 0;
  h[16] = 9;
  expect_error ("compression9", h, 40, NFSUB_NFFILE_ERROR_UNSUPPORTED,
                "compression 9");
  h[16] = 0;
  /* a header alone, 0 blocks, no appendix: what a crashed nfcapd leaves */
  g_autoptr (ReadResult) r = read_variant ("header-only", h, 40);
  g_assert_no_error (r->error);
  g_assert_cmpuint (r->flows->len, ==, 0);
  g_assert_false (r->info.has_stat);

  g_autoptr (GError) error = NULL;
  g_autofree char *missing = g_build_filename (tmp_root, "no-such-file", NULL);
  g_assert_null (nfsub_nffile_open (missing, &error));
  assert_error_names (error, missing, NFSUB_NFFILE_ERROR_IO);
  g_clear_error (&error);
  g_assert_null (nfsub_nffile_open (tmp_root, &error));
  assert_error_names (error, tmp_root, NFSUB_NFFILE_ERROR_IO);
}

/* Hand-made corruption at known places of the uncompressed fixture. */
static void
test_bad_blocks (void)
{
  if (!have_tools ())
    return;
  gsize len;
  g_autofree guint8 *orig = (guint8 *) fixture_bytes (FX_NONE, &len);
  g_autoptr (GArray) blocks = block_offsets (orig, len);
  g_assert_cmpuint (blocks->len, >=, 3);
  gsize b1 = g_array_index (blocks, gsize, 1);
  g_autofree guint8 *d = g_memdup2 (orig, len);
  guint32 v;

#define RESET() memcpy (d, orig, len)
  /* block 1: size 0, size above 5 MiB, zero records */
  RESET ();
  memset (d + b1 + 4, 0, 4);
  expect_error ("size0", d, len, NFSUB_NFFILE_ERROR_CORRUPT, "data block 1");
  RESET ();
  v = 6 * 1024 * 1024;
  memcpy (d + b1 + 4, &v, 4);
  expect_error ("size6m", d, len, NFSUB_NFFILE_ERROR_CORRUPT,
                "corrupt block header");
  RESET ();
  memset (d + b1, 0, 4);
  expect_error ("records0", d, len, NFSUB_NFFILE_ERROR_CORRUPT,
                "data block 1");
  /* one record more or less than the payload holds */
  RESET ();
  memcpy (&v, d + b1, 4);
  v++;
  memcpy (d + b1, &v, 4);
  expect_error ("records+1", d, len, NFSUB_NFFILE_ERROR_CORRUPT,
                "data block 1");
  RESET ();
  v -= 2;
  memcpy (d + b1, &v, 4);
  expect_error ("records-1", d, len, NFSUB_NFFILE_ERROR_CORRUPT,
                "records fill");
  /* block type 2: nfdump 1.6 records inside a layout-2 file */
  RESET ();
  d[b1 + 8] = 2;
  expect_error ("type2", d, len, NFSUB_NFFILE_ERROR_UNSUPPORTED,
                "convert with nfdump");
  RESET ();
  d[b1 + 8] = 77;
  expect_error ("type77", d, len, NFSUB_NFFILE_ERROR_CORRUPT,
                "unknown block type 77");
  /* block type 4 (nfdump's array blocks of lookup tables): skipped, its
   * flows are not read, the blocks around it are */
  RESET ();
  d[b1 + 8] = 4;
  {
    guint in_block1 = 0, total = 0;
    g_autoptr (NfsubNffile) f = nfsub_nffile_open_memory (orig, len, "orig",
                                                          NULL);
    g_assert_nonnull (f);
    NfsubFlow fl;
    while (nfsub_nffile_read (f, &fl, 1, NULL) == 1)
      {
        total++;
        in_block1 += nfsub_nffile_current_block (f) == 1;
      }
    g_assert_cmpuint (in_block1, >, 0);
    g_autoptr (ReadResult) r = read_variant ("type4", d, len);
    g_assert_no_error (r->error);
    g_assert_cmpuint (r->flows->len, ==, total - in_block1);
  }
  /* first record of block 1: size +1, size 2 */
  RESET ();
  guint16 rs;
  memcpy (&rs, d + b1 + 12 + 2, 2);
  rs++;
  memcpy (d + b1 + 12 + 2, &rs, 2);
  expect_error ("recsize+1", d, len, NFSUB_NFFILE_ERROR_CORRUPT,
                "payload offset 0");
  RESET ();
  rs = 2;
  memcpy (d + b1 + 12 + 2, &rs, 2);
  expect_error ("recsize2", d, len, NFSUB_NFFILE_ERROR_CORRUPT,
                "bad size 2");
  /* first element of the first V3 record of block 1: length 0, length
   * past the record */
  RESET ();
  g_assert_cmpuint (d[b1 + 12], ==, 11);
  memset (d + b1 + 12 + 12 + 2, 0, 2);
  expect_error ("elemlen0", d, len, NFSUB_NFFILE_ERROR_CORRUPT,
                "bad length 0");
  RESET ();
  rs = 0x7fff;
  memcpy (d + b1 + 12 + 12 + 2, &rs, 2);
  expect_error ("elemlen-big", d, len, NFSUB_NFFILE_ERROR_CORRUPT,
                "data block 1");
  /* numElements one too many / too few */
  RESET ();
  d[b1 + 12 + 4]++;
  expect_error ("elements+1", d, len, NFSUB_NFFILE_ERROR_CORRUPT,
                "starts past the end");
  RESET ();
  d[b1 + 12 + 4]--;
  expect_error ("elements-1", d, len, NFSUB_NFFILE_ERROR_CORRUPT,
                "elements fill");
  /* the appendix offset in the header */
  RESET ();
  guint64 off;
  memcpy (&off, d + 24, 8);
  off += 1;
  memcpy (d + 24, &off, 8);
  expect_error ("appendix+1", d, len, -1, NULL);
  RESET ();
  off = len + 100;
  memcpy (d + 24, &off, 8);
  expect_error ("appendix-past-end", d, len, NFSUB_NFFILE_ERROR_TRUNCATED,
                "truncated");
  /* one block more than there is */
  RESET ();
  memcpy (&v, d + 36, 4);
  v++;
  memcpy (d + 36, &v, 4);
  expect_error ("numblocks+1", d, len, NFSUB_NFFILE_ERROR_CORRUPT, NULL);
  RESET ();
  v -= 2;
  memcpy (d + 36, &v, 4);
  expect_error ("numblocks-1", d, len, NFSUB_NFFILE_ERROR_CORRUPT,
                "appendix");
#undef RESET
}

/* Every compression: cut the file in the header, around every block
 * header, inside payloads and inside the appendix.  Each cut loses data
 * the header announces, so each must be an error naming the file. */
static void
test_truncated (gconstpointer data)
{
  Fixture *fx = (Fixture *) data;
  if (!have_tools ())
    return;
  gsize len;
  g_autofree guint8 *d = (guint8 *) fixture_bytes (fx, &len);
  g_autoptr (GArray) blocks = block_offsets (d, len);
  g_autoptr (GArray) cuts = g_array_new (FALSE, FALSE, sizeof (gsize));
  gsize fixed[] = { 1, 2, 3, 4, 20, 39, 40, 41, 51, 52, 53, len - 1, len - 2,
                    len - 12, len / 2, len / 3 };
  g_array_append_vals (cuts, fixed, G_N_ELEMENTS (fixed));
  for (guint i = 0; i < blocks->len; i++)
    {
      gsize b = g_array_index (blocks, gsize, i);
      gsize around[] = { b, b + 1, b + 11, b + 12, b + 13, b + 100 };
      for (guint k = 0; k < G_N_ELEMENTS (around); k++)
        if (around[k] < len)
          g_array_append_val (cuts, around[k]);
    }
  GRand *rand = g_rand_new_with_seed (42);
  for (int i = 0; i < 20; i++)
    {
      gsize c = (gsize) g_rand_int_range (rand, 1, (gint32) len);
      g_array_append_val (cuts, c);
    }
  g_rand_free (rand);
  for (guint i = 0; i < cuts->len; i++)
    {
      gsize cut = g_array_index (cuts, gsize, i);
      g_autofree char *name = g_strdup_printf ("trunc-%s-%zu", fx->name, cut);
      g_autofree char *path = g_build_filename (tmp_root, name, NULL);
      g_autoptr (ReadResult) r = read_variant (name, d, cut);
      /* every cut loses the appendix or a block the header announces */
      assert_error_names (r->error, path, -1);
      if (cut >= 40)
        g_assert_cmpint (r->error->code, ==, NFSUB_NFFILE_ERROR_TRUNCATED);
    }
}

/* Every compression: flip bytes in the file header, in block headers and
 * in stored payloads (seeded by the test's random seed).  Decompression
 * fails, or the record and element checks catch it, or (a byte that only
 * changes a counter) the file reads; never a crash.  Most must fail. */
static void
test_flipped (gconstpointer data)
{
  Fixture *fx = (Fixture *) data;
  if (!have_tools ())
    return;
  gsize len;
  g_autofree guint8 *orig = (guint8 *) fixture_bytes (fx, &len);
  g_autoptr (GArray) blocks = block_offsets (orig, len);
  g_autofree guint8 *d = g_memdup2 (orig, len);
  GRand *rand = g_rand_new_with_seed (g_test_rand_int ());
  guint errors = 0, n = 0;
  g_autofree char *name = g_strdup_printf ("flip-%s", fx->name);
  g_autofree char *path = g_build_filename (tmp_root, name, NULL);
  for (int i = 0; i < 150; i++)
    {
      memcpy (d, orig, len);
      /* a third in the file header, a third in block headers, a third in
       * payloads; one to four bytes each */
      int where = i % 3;
      int flips = g_rand_int_range (rand, 1, 5);
      for (int k = 0; k < flips; k++)
        {
          gsize pos;
          if (where == 0)
            pos = (gsize) g_rand_int_range (rand, 0, 40);
          else
            {
              gsize b = g_array_index (blocks, gsize,
                                       g_rand_int_range (rand, 0,
                                                         (gint32) blocks->len));
              pos = where == 1 ? b + (gsize) g_rand_int_range (rand, 0, 12)
                               : b + 12 + (gsize) g_rand_int_range (rand, 0, 4000);
            }
          if (pos < len)
            d[pos] ^= (guint8) g_rand_int_range (rand, 1, 256);
        }
      g_autoptr (ReadResult) r = read_variant (name, d, len);
      n++;
      if (r->error)
        {
          errors++;
          assert_error_names (r->error, path, -1);
        }
    }
  g_rand_free (rand);
  g_test_message ("%s: %u of %u corrupted files gave an error", fx->name,
                  errors, n);
  g_assert_cmpuint (errors, >, n / 3);
}

/* ------------------------------------------------------------------ */
/* layouts nfcapd 1.7.1 does not write, made by editing a real file */

typedef void (*RecordFunc) (guint8 *record, guint16 type, guint16 size,
                            gpointer data);

/* Calls func for every record of the data blocks of an uncompressed file;
 * an independent walk, written from the format description. */
static void
walk_records (guint8 *d, gsize len, RecordFunc func, gpointer data)
{
  g_assert_cmpuint (d[16], ==, NFSUB_COMPRESSION_NONE);
  guint32 nb;
  memcpy (&nb, d + 36, 4);
  gsize pos = 40;
  for (guint b = 0; b < nb; b++)
    {
      guint32 nrec, size;
      memcpy (&nrec, d + pos, 4);
      memcpy (&size, d + pos + 4, 4);
      g_assert_cmpuint (pos + 12 + size, <=, len);
      guint8 *p = d + pos + 12;
      for (guint32 r = 0; r < nrec; r++)
        {
          guint16 type, rsize;
          memcpy (&type, p, 2);
          memcpy (&rsize, p + 2, 2);
          func (p, type, rsize, data);
          p += rsize;
        }
      pos += 12 + size;
    }
}

/* Finds element `id` of a V3 record; NULL if absent. */
static guint8 *
v3_element (guint8 *record, guint16 id)
{
  guint16 n;
  memcpy (&n, record + 4, 2);
  guint8 *e = record + 12;
  for (guint i = 0; i < n; i++)
    {
      guint16 eid, elen;
      memcpy (&eid, e, 2);
      memcpy (&elen, e + 2, 2);
      if (eid == id)
        return e;
      e += elen;
    }
  return NULL;
}

static void
hide_received_ip (guint8 *record, guint16 type, guint16 size, gpointer data)
{
  guint8 *e;
  if (type == 11 && (e = v3_element (record, 12)))
    {
      guint16 unknown = 250; /* an ID no nfdump defines: skipped by length */
      memcpy (e, &unknown, 2);
      (*(guint *) data)++;
    }
}

/* 1.7.8 writes ExporterInfo with 16 network-order bytes (IPv4 mapped) and
 * family 0 */
static void
exporter_to_178 (guint8 *record, guint16 type, guint16 size, gpointer data)
{
  if (type != 7)
    return;
  guint16 family;
  memcpy (&family, record + 24, 2);
  g_assert_cmpuint (family, ==, 2);
  guint32 v4;
  memcpy (&v4, record + 16, 4);
  guint8 ip[16] = { 0 };
  ip[10] = ip[11] = 0xff;
  ip[12] = (guint8) (v4 >> 24);
  ip[13] = (guint8) (v4 >> 16);
  ip[14] = (guint8) (v4 >> 8);
  ip[15] = (guint8) v4;
  memcpy (record + 8, ip, 16);
  memset (record + 24, 0, 2);
  (*(guint *) data)++;
}

/* Without EXipReceivedV4 in the records the exporter address comes from
 * the ExporterInfo record; in either ExporterInfo layout (1.7.1 host-order
 * with family 2, 1.7.8 network-order IPv4-mapped with family 0) it is
 * 127.0.0.1, and every other field stays what nfdump printed. */
static void
test_exporter_fallback (void)
{
  if (!have_tools ())
    return;
  gsize len;
  g_autofree guint8 *d = (guint8 *) fixture_bytes (FX_NONE, &len);
  g_autoptr (ReadResult) orig = read_memory (d, len, "orig");
  g_assert_no_error (orig->error);
  guint hidden = 0, converted = 0;
  walk_records (d, len, hide_received_ip, &hidden);
  g_assert_cmpuint (hidden, ==, orig->flows->len);
  for (int layout = 0; layout < 2; layout++)
    {
      if (layout == 1)
        {
          walk_records (d, len, exporter_to_178, &converted);
          g_assert_cmpuint (converted, >=, 1);
        }
      g_autoptr (ReadResult) r = read_variant ("no-received-ip", d, len);
      g_assert_no_error (r->error);
      g_assert_cmpuint (r->flows->len, ==, orig->flows->len);
      g_assert_cmpmem (r->flows->data, r->flows->len * sizeof (NfsubFlow),
                       orig->flows->data,
                       orig->flows->len * sizeof (NfsubFlow));
      const NfsubExporter *e = (const NfsubExporter *) r->exporters->data;
      g_assert_cmpuint (r->exporters->len, ==, 1);
      g_assert_true (nfsub_addr_is_v4 (&e->ip));
      g_assert_cmpuint (nfsub_addr_v4 (&e->ip), ==, 0x7f000001);
    }
}

/* ------------------------------------------------------------------ */
/* the human formatter: hand-computed expectations */

static void
test_format (void)
{
  NfsubFlow f = { 0 };
  f.first_ms = G_GUINT64_CONSTANT (1717372800123); /* 2024-06-03 00:00:00.123 */
  f.last_ms = f.first_ms + 61500;
  f.proto = 6;
  f.family = 4;
  nfsub_addr_parse ("10.0.0.1", &f.src);
  nfsub_addr_parse ("192.0.2.7", &f.dst);
  nfsub_addr_parse ("127.0.0.1", &f.exporter);
  f.src_port = 50000;
  f.dst_port = 443;
  f.in_packets = 12;
  f.in_bytes = 3456;
  f.input_if = 3;
  f.output_if = 4;
  f.exporter_sysid = 1;
  f.sampling_rate = 10;
  g_autoptr (GString) s = g_string_new (NULL);
  nfsub_flow_format (&f, s);
  g_assert_cmpstr (s->str, ==,
                   "2024-06-03T00:00:00.123Z   61.500 TCP   10.0.0.1:50000 -> "
                   "192.0.2.7:443 packets 12 bytes 3456 if 3->4 "
                   "exporter 127.0.0.1/1 sampling 1:10");
  g_string_truncate (s, 0);
  f.proto = 58;
  f.family = 6;
  f.sampling_rate = 1;
  nfsub_addr_parse ("2001:db8::1", &f.src);
  nfsub_addr_parse ("2001:db8::2", &f.dst);
  f.src_port = 0;
  f.dst_port = 128 * 256; /* echo request */
  f.out_bytes = 100;
  f.out_packets = 1;
  nfsub_flow_format (&f, s);
  g_assert_cmpstr (s->str, ==,
                   "2024-06-03T00:00:00.123Z   61.500 ICMP6 [2001:db8::1]:0 -> "
                   "[2001:db8::2]:128.0 packets 12+1 bytes 3456+100 if 3->4 "
                   "exporter 127.0.0.1/1 sampling 1:1");
}

static void
test_info_format (void)
{
  if (!have_tools ())
    return;
  const char *path = fixture_path (FX_LZO);
  g_assert_nonnull (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubNffile) f = nfsub_nffile_open (path, &error);
  g_assert_no_error (error);
  g_autoptr (GString) s = g_string_new (NULL);
  nfsub_file_info_format (nfsub_nffile_info (f), s);
  g_autoptr (GHashTable) h = nfdump_info (path);
  /* every stat line nfdump -I prints appears in ours, same value */
  static const char *keys[] = { "Flows", "Flows_tcp", "Flows_udp",
                                "Flows_icmp", "Flows_other", "Packets",
                                "Bytes", "Bytes_tcp", "First", "Last",
                                "msec_first", "msec_last",
                                "Sequence failures", "Ident" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autofree char *line = g_strdup_printf (
          "\n%s: %s\n", keys[i], (char *) g_hash_table_lookup (h, keys[i]));
      if (!strstr (s->str, line))
        g_error ("info lacks '%s':\n%s", g_strstrip (line), s->str);
    }
  g_assert_nonnull (strstr (s->str, "Compression: LZO\n"));
}

/* ------------------------------------------------------------------ */
/* read-ahead: the default, the switch, and stopping the worker early */

static gboolean
readahead_after_first_read (const char *path, int set)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubNffile) f = nfsub_nffile_open (path, &error);
  g_assert_no_error (error);
  if (set >= 0)
    nfsub_nffile_set_readahead (f, set);
  NfsubFlow flows[16];
  g_assert_cmpint (nfsub_nffile_read (f, flows, 16, &error), ==, 16);
  /* too late: the reading mode stays */
  nfsub_nffile_set_readahead (f, !nfsub_nffile_readahead_running (f));
  g_assert_cmpint (nfsub_nffile_read (f, flows, 16, &error), ==, 16);
  return nfsub_nffile_readahead_running (f);
}

static void
test_readahead_switch (void)
{
  if (!have_tools ())
    return;
  const char *path = fixture_path (FX_LZ4);
  g_assert_nonnull (path);
  g_autofree char *saved = g_strdup (g_getenv ("NFSUB_READAHEAD"));
  g_setenv ("NFSUB_READAHEAD", "0", TRUE);
  g_assert_false (readahead_after_first_read (path, -1));
  g_assert_true (readahead_after_first_read (path, TRUE));
  g_setenv ("NFSUB_READAHEAD", "1", TRUE);
  g_assert_true (readahead_after_first_read (path, -1));
  g_assert_false (readahead_after_first_read (path, FALSE));
  /* unset: on with more than one CPU to run on */
  g_unsetenv ("NFSUB_READAHEAD");
  cpu_set_t set;
  g_assert_cmpint (sched_getaffinity (0, sizeof set, &set), ==, 0);
  g_assert_cmpint (readahead_after_first_read (path, -1), ==,
                   CPU_COUNT (&set) > 1);
  /* pinned to one CPU: off */
  cpu_set_t one;
  CPU_ZERO (&one);
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET (cpu, &set))
      {
        CPU_SET (cpu, &one);
        break;
      }
  g_assert_cmpint (sched_setaffinity (0, sizeof one, &one), ==, 0);
  g_assert_false (readahead_after_first_read (path, -1));
  g_assert_true (readahead_after_first_read (path, TRUE));
  g_assert_cmpint (sched_setaffinity (0, sizeof set, &set), ==, 0);
  if (saved)
    g_setenv ("NFSUB_READAHEAD", saved, TRUE);
}

/* Closing in the middle of a file stops the worker, wherever it is:
 * waiting for a free slot, or loading a block (run under valgrind and
 * ASan for the leaks and races this would show). */
static void
test_readahead_close_early (void)
{
  if (!have_tools ())
    return;
  for (Fixture *fx = fixtures; fx < fixtures + G_N_ELEMENTS (fixtures); fx++)
    {
      const char *path = fixture_path (fx);
      g_assert_nonnull (path);
      for (gsize stop = 0; stop < 3; stop++)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (NfsubNffile) f = nfsub_nffile_open (path, &error);
          g_assert_no_error (error);
          nfsub_nffile_set_readahead (f, TRUE);
          NfsubFlow flows[64];
          /* 0: close before reading; 1: after one batch, while the worker
           * is likely loading; 2: after a short pause, when it waits */
          if (stop > 0)
            g_assert_cmpint (nfsub_nffile_read (f, flows, 64, &error), ==,
                             64);
          if (stop > 1)
            g_usleep (20000);
          g_assert_cmpint (nfsub_nffile_readahead_running (f), ==,
                           stop > 0);
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_root = nfsub_test_tmpdir ("test-nffile");
  g_assert_nonnull (tmp_root);

  for (guint i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      g_autofree char *p = g_strdup_printf ("/nffile/oracle/%s",
                                            fixtures[i].name);
      g_test_add_data_func (p, &fixtures[i], test_oracle);
    }
  g_test_add_func ("/nffile/oracle/zstd-from-lz4", test_zstd);
  g_test_add_func ("/nffile/oracle/two-exporters", test_two_exporters);
  g_test_add_func ("/nffile/oracle/v5-default-sampling",
                   test_v5_default_sampling);
  g_test_add_func ("/nffile/oracle/ipv6-exporter", test_ipv6_exporter);
  g_test_add_func ("/nffile/oracle/empty-slot", test_empty_slot);
  g_test_add_func ("/nffile/oracle/appended", test_appended);
  g_test_add_func ("/nffile/bad/header", test_bad_header);
  g_test_add_func ("/nffile/bad/blocks", test_bad_blocks);
  for (guint i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      g_autofree char *p = g_strdup_printf ("/nffile/bad/truncated/%s",
                                            fixtures[i].name);
      g_test_add_data_func (p, &fixtures[i], test_truncated);
      g_autofree char *q = g_strdup_printf ("/nffile/bad/flipped/%s",
                                            fixtures[i].name);
      g_test_add_data_func (q, &fixtures[i], test_flipped);
    }
  g_test_add_func ("/nffile/variants/exporter-fallback",
                   test_exporter_fallback);
  g_test_add_func ("/nffile/format/flow", test_format);
  g_test_add_func ("/nffile/format/info", test_info_format);
  g_test_add_func ("/nffile/readahead/switch", test_readahead_switch);
  g_test_add_func ("/nffile/readahead/close-early",
                   test_readahead_close_early);

  int rc = g_test_run ();
  for (guint i = 0; i < G_N_ELEMENTS (fixtures); i++)
    g_free (fixtures[i].path);
  if (g_getenv ("NFSUB_KEEP_TMP"))
    g_printerr ("# kept %s\n", tmp_root);
  else
    nfsub_test_rm_rf (tmp_root);
  g_free (tmp_root);
  return rc;
}
