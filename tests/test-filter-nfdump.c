/* Differential test: nfsub's filter against the real nfdump 1.7.1.
 *
 * For each fixture file and each of a few hundred random expressions drawn
 * from the grammar (seeded; terms use addresses, nets, ports, protocols,
 * interfaces, routers and counters that occur in the file, so selections
 * are not trivial), the set of flows
 *   nfdump -r FILE -q -N -o 'fmt:%cnt' 'EXPR'
 * prints (%cnt = the record's 1-based position in the file) must equal the
 * set nfsub's reader + filter selects, flow by flow.  An expression nfdump
 * rejects must be rejected by nfsub too.
 *
 * Fixtures:
 *  - "random": the simulator's random mode through a real nfcapd (LZ4).
 *  - "edge": this test exports NetFlow v9 itself to a real nfcapd from
 *    three loopback routers (127.0.0.1-3), with the addresses and values
 *    where nfdump's rules are subtle: ::a.b.c.d and ::ffff:a.b.c.d, ::1,
 *    port 0 and 65535, ICMP type/code ports, TCP flags with ECE/CWR,
 *    output counters, 32-bit interface numbers, counters above 2^32.
 *
 * NFSUB_FILTER_SEED=N changes the expression seed; NFSUB_FILTER_EXPRS=N the
 * number of expressions per fixture (default 250). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <nfsub/filter.h>
#include <nfsub/nffile.h>

#include "testutil.h"

typedef struct {
  const char *name;
  char *path;
  GArray *flows; /* NfsubFlow, file order */
  /* values that occur in the file */
  GPtrArray *addresses; /* char *, as text */
  GArray *ports, *protos, *ifs, *bytes, *packets; /* guint64 */
  GPtrArray *routers;
} Fixture;

static Fixture fixtures[2] = { { .name = "random" }, { .name = "edge" } };

/* ------------------------------------------------------------------ */
/* the edge fixture: our own NetFlow v9 export into a real nfcapd      */

typedef struct {
  guint8 family;
  guint8 src[16], dst[16];
  guint16 sport, dport;
  guint8 proto, flags;
  guint64 bytes, packets, out_bytes, out_packets;
  guint32 in_if, out_if;
  guint64 first_ms, last_ms;
} EdgeRecord;

static const char *const edge_v4[] = {
  "10.0.0.1", "10.0.0.2", "10.0.1.5", "10.255.255.255", "192.168.1.1", "192.168.1.200",
  "172.16.5.4", "8.8.8.8", "0.0.0.0", "0.0.0.1", "255.255.255.255", "100.64.3.7",
};
static const char *const edge_v6[] = {
  "2001:db8::1", "2001:db8::2", "2001:db8:1::5", "2001:db8:0:0:1::1", "2001:db8:ffff::a00:1",
  "fe80::1", "::1", "::", "::10.0.0.1", "::ffff:10.0.0.1", "::ffff:192.168.1.1",
  "ff02::1", "3fff:300:1:100::42", "2001:db8::10.0.0.1",
};
static const guint16 edge_ports[] = { 0, 1, 22, 53, 80, 443, 1023, 1024, 1025, 2048, 8080, 50000, 65535 };
static const guint8 edge_protos[] = { 6, 6, 6, 17, 17, 1, 58, 47, 50, 4, 132, 0 };
static const guint16 edge_icmp[] = { 0, 0x0800, 0x0300, 0x0303, 0x0b00, 0x8000, 0x8100, 0x0104 };
static const guint64 edge_bytes[] = { 0, 1, 40, 999, 1000, 1001, 1500, 10000, 123456, 999999,
                                      1000000, 2000000000, G_GUINT64_CONSTANT (5000000000),
                                      G_GUINT64_CONSTANT (1000000000000) };
static const guint64 edge_packets[] = { 1, 2, 3, 10, 999, 1000, 1001, 4294967296 };
static const guint32 edge_ifs[] = { 0, 1, 2, 3, 17, 255, 65535, 4294967295u };

static void
edge_record (GRand *rand, EdgeRecord *r, guint64 base_ms)
{
  memset (r, 0, sizeof *r);
  r->family = g_rand_int_range (rand, 0, 10) < 6 ? 4 : 6;
  for (int end = 0; end < 2; end++)
    {
      guint8 *a = end ? r->dst : r->src;
      if (r->family == 4)
        inet_pton (AF_INET, edge_v4[g_rand_int_range (rand, 0, G_N_ELEMENTS (edge_v4))], a);
      else
        inet_pton (AF_INET6, edge_v6[g_rand_int_range (rand, 0, G_N_ELEMENTS (edge_v6))], a);
    }
  r->proto = edge_protos[g_rand_int_range (rand, 0, G_N_ELEMENTS (edge_protos))];
  if (r->proto == 1 || r->proto == 58)
    {
      r->sport = 0;
      r->dport = edge_icmp[g_rand_int_range (rand, 0, G_N_ELEMENTS (edge_icmp))];
    }
  else
    {
      r->sport = edge_ports[g_rand_int_range (rand, 0, G_N_ELEMENTS (edge_ports))];
      r->dport = edge_ports[g_rand_int_range (rand, 0, G_N_ELEMENTS (edge_ports))];
    }
  /* TCP flags on every TCP flow (all 8 bits), sometimes on others too */
  if (r->proto == 6 || g_rand_int_range (rand, 0, 4) == 0)
    r->flags = (guint8) g_rand_int_range (rand, 0, 256);
  r->bytes = edge_bytes[g_rand_int_range (rand, 0, G_N_ELEMENTS (edge_bytes))];
  r->packets = edge_packets[g_rand_int_range (rand, 0, G_N_ELEMENTS (edge_packets))];
  if (g_rand_boolean (rand))
    {
      r->out_bytes = edge_bytes[g_rand_int_range (rand, 0, G_N_ELEMENTS (edge_bytes))];
      r->out_packets = edge_packets[g_rand_int_range (rand, 0, G_N_ELEMENTS (edge_packets))];
    }
  r->in_if = edge_ifs[g_rand_int_range (rand, 0, G_N_ELEMENTS (edge_ifs))];
  r->out_if = edge_ifs[g_rand_int_range (rand, 0, G_N_ELEMENTS (edge_ifs))];
  r->first_ms = base_ms + (guint64) g_rand_int_range (rand, 0, 600000);
  r->last_ms = r->first_ms + (guint64) g_rand_int_range (rand, 0, 60000);
}

static guint8 *
put16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8;
  p[1] = v;
  return p + 2;
}

static guint8 *
put32 (guint8 *p, guint32 v)
{
  p = put16 (p, v >> 16);
  return put16 (p, v);
}

static guint8 *
put64 (guint8 *p, guint64 v)
{
  p = put32 (p, v >> 32);
  return put32 (p, v);
}

/* fields of templates 256 (IPv4) and 257 (IPv6): id, length */
static const guint16 template_fields[][2] = {
  { 152, 8 }, { 153, 8 }, { 1, 8 }, { 2, 8 }, { 23, 8 }, { 24, 8 },
  { 0, 0 }, /* addresses: 8/12 (4) or 27/28 (16) */
  { 10, 4 }, { 14, 4 }, { 7, 2 }, { 11, 2 }, { 4, 1 }, { 6, 1 },
};

static guint8 *
put_templates (guint8 *p)
{
  guint8 *start = p;
  p = put16 (p, 0); /* template flowset */
  p = put16 (p, 0); /* length, below */
  for (int v6 = 0; v6 < 2; v6++)
    {
      p = put16 (p, 256 + v6);
      p = put16 (p, G_N_ELEMENTS (template_fields) + 1);
      for (guint i = 0; i < G_N_ELEMENTS (template_fields); i++)
        {
          if (template_fields[i][0] == 0)
            {
              p = put16 (p, v6 ? 27 : 8);
              p = put16 (p, v6 ? 16 : 4);
              p = put16 (p, v6 ? 28 : 12);
              p = put16 (p, v6 ? 16 : 4);
            }
          else
            {
              p = put16 (p, template_fields[i][0]);
              p = put16 (p, template_fields[i][1]);
            }
        }
    }
  put16 (start + 2, (guint16) (p - start));
  return p;
}

static guint8 *
put_record (guint8 *p, const EdgeRecord *r)
{
  int alen = r->family == 4 ? 4 : 16;
  p = put64 (p, r->first_ms);
  p = put64 (p, r->last_ms);
  p = put64 (p, r->bytes);
  p = put64 (p, r->packets);
  p = put64 (p, r->out_bytes);
  p = put64 (p, r->out_packets);
  memcpy (p, r->src, alen);
  p += alen;
  memcpy (p, r->dst, alen);
  p += alen;
  p = put32 (p, r->in_if);
  p = put32 (p, r->out_if);
  p = put16 (p, r->sport);
  p = put16 (p, r->dport);
  *p++ = r->proto;
  *p++ = r->flags;
  return p;
}

#define EDGE_FLOWS 3000
#define EDGE_ROUTERS 3

/* Sends EDGE_FLOWS records from 127.0.0.1..3; returns the records sent. */
static gboolean
edge_export (guint16 port, GError **error)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (20240603);
  int fds[EDGE_ROUTERS];
  guint32 sequence[EDGE_ROUTERS] = { 0 };
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (port) };
  guint64 base_ms = G_GUINT64_CONSTANT (1717372800000); /* 2024-06-03 */
  guint sent = 0;

  inet_pton (AF_INET, "127.0.0.1", &to.sin_addr);
  for (int i = 0; i < EDGE_ROUTERS; i++)
    {
      struct sockaddr_in from = { .sin_family = AF_INET };
      g_autofree char *ip = g_strdup_printf ("127.0.0.%d", i + 1);
      inet_pton (AF_INET, ip, &from.sin_addr);
      fds[i] = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fds[i] < 0 || bind (fds[i], (struct sockaddr *) &from, sizeof from) != 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                       "router %s: %s", ip, g_strerror (errno));
          return FALSE;
        }
    }
  while (sent < EDGE_FLOWS)
    {
      guint8 packet[1400], *p;
      int router = g_rand_int_range (rand, 0, EDGE_ROUTERS);
      EdgeRecord rec[12];
      guint n = MIN (G_N_ELEMENTS (rec), EDGE_FLOWS - sent);
      guint8 family = g_rand_boolean (rand) ? 4 : 6;

      /* one data flowset per packet: all records of one family */
      for (guint i = 0; i < n; i++)
        {
          do
            edge_record (rand, &rec[i], base_ms);
          while (rec[i].family != family);
        }
      p = packet;
      p = put16 (p, 9);
      p = put16 (p, 2 + n);
      p = put32 (p, 3600000); /* sysUptime, unused with absolute times */
      p = put32 (p, (guint32) (base_ms / 1000 + 3600));
      p = put32 (p, sequence[router]++);
      p = put32 (p, 1 + router); /* source id */
      p = put_templates (p);
      guint8 *set = p;
      p = put16 (p, family == 4 ? 256 : 257);
      p = put16 (p, 0);
      for (guint i = 0; i < n; i++)
        p = put_record (p, &rec[i]);
      while ((p - set) % 4)
        *p++ = 0;
      put16 (set + 2, (guint16) (p - set));
      if (sendto (fds[router], packet, p - packet, 0, (struct sockaddr *) &to, sizeof to) < 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                       "sendto: %s", g_strerror (errno));
          return FALSE;
        }
      sent += n;
      g_usleep (300);
    }
  for (int i = 0; i < EDGE_ROUTERS; i++)
    close (fds[i]);
  return TRUE;
}

static char *
make_edge_fixture (const char *dir, GError **error)
{
  g_autofree char *flows = g_build_filename (dir, "flows", NULL);
  g_autofree char *pidfile = g_build_filename (dir, "nfcapd.pid", NULL);
  g_autofree char *log = g_build_filename (dir, "nfcapd.log", NULL);
  guint16 port = nfsub_test_free_udp_port ();
  g_autofree char *port_s = g_strdup_printf ("%u", port);
  const char *argv[] = { nfsub_test_nfcapd (), "-w", flows, "-b", "127.0.0.1", "-p", port_s,
                         "-t", "86400", "-P", pidfile, "-B", "4194304", NULL };
  g_autoptr (GSubprocessLauncher) launcher
    = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autoptr (GSubprocess) nfcapd = NULL;
  gboolean ok;

  g_mkdir_with_parents (flows, 0755);
  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  nfcapd = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (!nfcapd)
    return NULL;
  for (int i = 0; i < 500 && !g_file_test (pidfile, G_FILE_TEST_EXISTS); i++)
    g_usleep (20000);
  ok = edge_export (port, error);
  g_usleep (500000);
  if (g_subprocess_get_identifier (nfcapd))
    kill (atoi (g_subprocess_get_identifier (nfcapd)), SIGTERM);
  for (int i = 0; i < 3000 && g_subprocess_get_identifier (nfcapd); i++)
    g_usleep (20000);
  if (g_subprocess_get_identifier (nfcapd))
    {
      g_subprocess_force_exit (nfcapd);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "nfcapd did not stop");
      return NULL;
    }
  if (!ok)
    return NULL;
  g_auto (GStrv) files = nfsub_test_list_nfcapd_files (flows);
  if (files == NULL || files[0] == NULL || files[1] != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "nfcapd wrote %u files in %s, expected 1",
                   files ? g_strv_length (files) : 0, flows);
      return NULL;
    }
  return g_strdup (files[0]);
}

/* ------------------------------------------------------------------ */
/* reading and nfdump                                                  */

static void
add_value (GArray *values, guint64 v)
{
  for (guint i = 0; i < values->len; i++)
    if (g_array_index (values, guint64, i) == v)
      return;
  g_array_append_val (values, v);
}

static void
add_address (GPtrArray *texts, const NfsubAddr *a, guint8 family)
{
  char buf[NFSUB_ADDR_STRLEN];
  if (family == 6 && nfsub_addr_is_v4 (a))
    {
      /* an IPv6 flow's ::ffff:a.b.c.d: nfsub_addr_to_string would print
       * it as IPv4 */
      g_snprintf (buf, sizeof buf, "::ffff:%s", nfsub_addr_to_string (a, (char[NFSUB_ADDR_STRLEN]){ 0 }));
    }
  else
    nfsub_addr_to_string (a, buf);
  for (guint i = 0; i < texts->len; i++)
    if (strcmp (texts->pdata[i], buf) == 0)
      return;
  g_ptr_array_add (texts, g_strdup (buf));
}

static void
load_fixture (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubNffile) file = nfsub_nffile_open (fx->path, &error);
  NfsubFlow batch[1024];
  gssize n;

  g_assert_no_error (error);
  fx->flows = g_array_new (FALSE, FALSE, sizeof (NfsubFlow));
  while ((n = nfsub_nffile_read (file, batch, G_N_ELEMENTS (batch), &error)) > 0)
    g_array_append_vals (fx->flows, batch, n);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 0);

  fx->addresses = g_ptr_array_new_with_free_func (g_free);
  fx->routers = g_ptr_array_new_with_free_func (g_free);
  fx->ports = g_array_new (FALSE, FALSE, sizeof (guint64));
  fx->protos = g_array_new (FALSE, FALSE, sizeof (guint64));
  fx->ifs = g_array_new (FALSE, FALSE, sizeof (guint64));
  fx->bytes = g_array_new (FALSE, FALSE, sizeof (guint64));
  fx->packets = g_array_new (FALSE, FALSE, sizeof (guint64));
  /* a sample is enough to draw terms from */
  for (guint i = 0; i < fx->flows->len; i += 1 + fx->flows->len / 400)
    {
      const NfsubFlow *f = &g_array_index (fx->flows, NfsubFlow, i);
      add_address (fx->addresses, &f->src, f->family);
      add_address (fx->addresses, &f->dst, f->family);
      add_value (fx->ports, f->src_port);
      add_value (fx->ports, f->dst_port);
      add_value (fx->ifs, f->input_if);
      add_value (fx->ifs, f->output_if);
      add_value (fx->bytes, f->in_bytes);
      add_value (fx->bytes, f->out_bytes);
      add_value (fx->packets, f->in_packets);
      add_value (fx->packets, f->out_packets);
    }
  for (guint i = 0; i < fx->flows->len; i++)
    {
      const NfsubFlow *f = &g_array_index (fx->flows, NfsubFlow, i);
      add_value (fx->protos, f->proto);
      if (i % 50 == 0)
        add_address (fx->routers, &f->exporter, 4);
    }
  g_test_message ("%s: %s, %u flows, %u addresses, %u routers", fx->name, fx->path,
                  fx->flows->len, fx->addresses->len, fx->routers->len);
}

/* The flows nfdump selects (0-based file positions), or NULL when nfdump
 * rejects the expression (its message in *why). */
static GArray *
nfdump_select (const char *path, const char *expression, char **why)
{
  const char *argv[] = { nfsub_test_nfdump (), "-r", path, "-q", "-N", "-o", "fmt:%cnt",
                         expression, NULL };
  g_autoptr (GError) error = NULL;
  int status = 0;
  g_autofree char *out = nfsub_test_run (argv, &status, &error);
  GArray *selected;

  g_assert_no_error (error);
  if (status != 0)
    {
      *why = g_strdup (out);
      return NULL;
    }
  selected = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      char *s = g_strstrip (*l);
      if (*s == '\0' || !g_ascii_isdigit (*s))
        continue; /* "No matching flows" */
      guint32 cnt = (guint32) g_ascii_strtoull (s, NULL, 10);
      g_assert_cmpuint (cnt, >=, 1);
      cnt -= 1;
      g_array_append_val (selected, cnt);
    }
  return selected;
}

/* ------------------------------------------------------------------ */
/* random expressions                                                  */

static guint64
pick (GRand *r, GArray *values)
{
  return g_array_index (values, guint64, g_rand_int_range (r, 0, values->len));
}

static const char *
pick_text (GRand *r, GPtrArray *texts)
{
  return texts->pdata[g_rand_int_range (r, 0, texts->len)];
}

static const char *
endpoint_qualifier (GRand *r)
{
  static const char *const q[] = { "", "", "", "src ", "dst ", "src or dst ", "src and dst ",
                                   "dst or src ", "dst and src " };
  return q[g_rand_int_range (r, 0, G_N_ELEMENTS (q))];
}

static const char *
comparison (GRand *r)
{
  static const char *const c[] = { "", "= ", "== ", "eq ", "> ", "gt ", "< ", "lt ",
                                   ">= ", "ge ", "<= ", "le " };
  return c[g_rand_int_range (r, 0, G_N_ELEMENTS (c))];
}

/* A number as nfdump's scanner reads it: plain, hex, or with a k/m/g
 * suffix (powers of 1000) when it divides evenly. */
static void
append_number (GString *s, GRand *r, guint64 v)
{
  int style = g_rand_int_range (r, 0, 6);
  if (style == 0 && v < G_MAXUINT32)
    g_string_append_printf (s, "0x%" G_GINT64_MODIFIER "x", v);
  else if (style == 1 && v >= 1000000000 && v % 1000000000 == 0)
    g_string_append_printf (s, "%" G_GUINT64_FORMAT "g", v / 1000000000);
  else if (style == 1 && v >= 1000000 && v % 1000000 == 0)
    g_string_append_printf (s, "%" G_GUINT64_FORMAT "M", v / 1000000);
  else if (style == 1 && v >= 1000 && v % 1000 == 0)
    g_string_append_printf (s, "%" G_GUINT64_FORMAT "k", v / 1000);
  else
    g_string_append_printf (s, "%" G_GUINT64_FORMAT, v);
}

/* Something near a value that occurs, so comparisons split the flows. */
static guint64
near (GRand *r, guint64 v)
{
  switch (g_rand_int_range (r, 0, 6))
    {
    case 0: return v + 1;
    case 1: return v ? v - 1 : 0;
    case 2: return (v / 1000) * 1000;
    default: return v;
    }
}

static void
append_net (GString *s, GRand *r, const char *address)
{
  gboolean v6 = strchr (address, ':') != NULL;
  int bits = g_rand_int_range (r, 0, v6 ? 129 : 33);

  if (!v6 && g_rand_int_range (r, 0, 4) == 0)
    {
      /* the dotted mask form */
      guint32 mask = bits ? G_MAXUINT32 << (32 - bits) : 0;
      g_string_append_printf (s, "net %s %u.%u.%u.%u", address, mask >> 24,
                              (mask >> 16) & 255, (mask >> 8) & 255, mask & 255);
      return;
    }
  if (!v6 && bits <= 24 && g_rand_int_range (r, 0, 3) == 0)
    {
      /* nfdump's short form: "10.0/16" */
      g_auto (GStrv) parts = g_strsplit (address, ".", 4);
      int keep = MAX (1, (bits + 7) / 8);
      g_string_append (s, "net ");
      for (int i = 0; i < keep; i++)
        g_string_append_printf (s, "%s%s", i ? "." : "", parts[i]);
      g_string_append_printf (s, "/%d", bits);
      return;
    }
  g_string_append_printf (s, "net %s/%d", address, bits);
}

static void
append_address (GString *s, GRand *r, const char *address)
{
  /* IPv4 written the IPv6 ways: nfdump's view makes ::a.b.c.d equal it */
  if (strchr (address, ':') == NULL && strcmp (address, "0.0.0.0") != 0)
    switch (g_rand_int_range (r, 0, 8))
      {
      case 0: g_string_append_printf (s, "::%s", address); return;
      case 1: g_string_append_printf (s, "::ffff:%s", address); return;
      default: break;
      }
  g_string_append (s, address);
}

static void
append_term (GString *s, GRand *r, const Fixture *fx)
{
  switch (g_rand_int_range (r, 0, 20))
    {
    case 0:
      {
        static const char *const names[] = { "tcp", "udp", "icmp", "icmp6", "gre", "esp",
                                             "sctp", "ipip", "ipv6", "TCP" };
        int which = g_rand_int_range (r, 0, G_N_ELEMENTS (names) + 3);
        if (which < (int) G_N_ELEMENTS (names) && strcmp (names[which], "ipv6") != 0)
          g_string_append_printf (s, "proto %s", names[which]);
        else
          g_string_append_printf (s, "proto %" G_GUINT64_FORMAT, pick (r, fx->protos));
        break;
      }
    case 1:
    case 2:
      g_string_append_printf (s, "%s%s ", endpoint_qualifier (r),
                              g_rand_boolean (r) ? "ip" : "host");
      append_address (s, r, pick_text (r, fx->addresses));
      break;
    case 3:
    case 4:
      g_string_append (s, endpoint_qualifier (r));
      append_net (s, r, pick_text (r, fx->addresses));
      break;
    case 5:
    case 6:
      g_string_append_printf (s, "%sport %s", endpoint_qualifier (r), comparison (r));
      append_number (s, r, near (r, pick (r, fx->ports)) & 0xffff);
      break;
    case 7:
      {
        int n = g_rand_int_range (r, 1, 5);
        g_string_append_printf (s, "%sport in [", endpoint_qualifier (r));
        for (int i = 0; i < n; i++)
          g_string_append_printf (s, "%s%" G_GUINT64_FORMAT, i == 0 ? " " : g_rand_boolean (r) ? ", " : " ",
                                  pick (r, fx->ports));
        g_string_append (s, " ]");
        break;
      }
    case 8:
      {
        static const char *const q[] = { "", "in ", "out " };
        g_string_append_printf (s, "%sif ", q[g_rand_int_range (r, 0, 3)]);
        append_number (s, r, pick (r, fx->ifs));
        break;
      }
    case 9:
      if (g_rand_int_range (r, 0, 5) == 0)
        g_string_append (s, "router ip 127.0.0.9");
      else
        g_string_append_printf (s, "router ip %s", pick_text (r, fx->routers));
      break;
    case 10:
    case 11:
      {
        static const char *const q[] = { "", "", "in ", "out " };
        gboolean bytes = g_rand_boolean (r);
        g_string_append_printf (s, "%s%s %s", q[g_rand_int_range (r, 0, 4)],
                                bytes ? "bytes" : "packets", comparison (r));
        append_number (s, r, near (r, pick (r, bytes ? fx->bytes : fx->packets)));
        break;
      }
    case 12:
    case 13:
      {
        static const char letters[] = "FSRPAU";
        int n = g_rand_int_range (r, 0, 4);
        if (n == 0)
          {
            if (g_rand_boolean (r))
              g_string_append (s, "flags X");
            else
              g_string_append_printf (s, "flags %s%d", comparison (r), g_rand_int_range (r, 0, 64));
            break;
          }
        g_string_append (s, "flags ");
        guint used = 0;
        for (int i = 0; i < n; i++)
          {
            int l = g_rand_int_range (r, 0, 6);
            if (used & (1u << l))
              continue;
            used |= 1u << l;
            g_string_append_c (s, letters[l]);
          }
        break;
      }
    case 14:
      {
        static const char *const fam[] = { "inet", "inet6", "ipv4", "ipv6" };
        g_string_append (s, fam[g_rand_int_range (r, 0, 4)]);
        break;
      }
    case 15:
      {
        int n = g_rand_int_range (r, 1, 4);
        g_string_append_printf (s, "%sip in [", endpoint_qualifier (r));
        for (int i = 0; i < n; i++)
          {
            g_string_append (s, i == 0 ? " " : g_rand_boolean (r) ? ", " : " ");
            const char *a = pick_text (r, fx->addresses);
            g_string_append (s, a);
          }
        g_string_append (s, " ]");
        break;
      }
    case 16:
      g_string_append (s, g_rand_int_range (r, 0, 3) ? "any" : "not any");
      break;
    default:
      /* the common operator terms again, so they dominate */
      if (g_rand_boolean (r))
        g_string_append_printf (s, "proto %s", g_rand_boolean (r) ? "tcp" : "udp");
      else
        {
          g_string_append_printf (s, "%sport %s", endpoint_qualifier (r), comparison (r));
          append_number (s, r, pick (r, fx->ports));
        }
      break;
    }
}

static void
append_expression (GString *s, GRand *r, const Fixture *fx, int depth)
{
  int kind = depth >= 3 ? 0 : g_rand_int_range (r, 0, 9);
  static const char *const and_words[] = { " and ", " && ", " AND " };
  static const char *const or_words[] = { " or ", " || ", " OR " };
  static const char *const not_words[] = { "not ", "! ", "!", "NOT " };

  switch (kind)
    {
    case 0:
    case 1:
    case 2:
      append_term (s, r, fx);
      break;
    case 3:
    case 4:
      append_expression (s, r, fx, depth + 1);
      g_string_append (s, and_words[g_rand_int_range (r, 0, 3)]);
      append_expression (s, r, fx, depth + 1);
      break;
    case 5:
    case 6:
      append_expression (s, r, fx, depth + 1);
      g_string_append (s, or_words[g_rand_int_range (r, 0, 3)]);
      append_expression (s, r, fx, depth + 1);
      break;
    case 7:
      g_string_append (s, not_words[g_rand_int_range (r, 0, 4)]);
      append_expression (s, r, fx, depth + 1);
      break;
    default:
      g_string_append_c (s, '(');
      append_expression (s, r, fx, depth + 1);
      g_string_append_c (s, ')');
      break;
    }
}

/* ------------------------------------------------------------------ */

static void
flow_describe (GString *s, const NfsubFlow *f)
{
  char a[NFSUB_ADDR_STRLEN], b[NFSUB_ADDR_STRLEN], x[NFSUB_ADDR_STRLEN];
  g_string_append_printf (s, "v%u proto %u %s:%u -> %s:%u flags 0x%x bytes %" G_GUINT64_FORMAT
                          "/%" G_GUINT64_FORMAT " packets %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
                          " if %u/%u router %s",
                          f->family, f->proto, nfsub_addr_to_string (&f->src, a), f->src_port,
                          nfsub_addr_to_string (&f->dst, b), f->dst_port, f->tcp_flags,
                          f->in_bytes, f->out_bytes, f->in_packets, f->out_packets,
                          f->input_if, f->output_if, nfsub_addr_to_string (&f->exporter, x));
}

/* Compares one expression; returns FALSE (after logging) on a difference. */
static gboolean
compare_one (const Fixture *fx, const char *expression, guint *nontrivial,
             guint *rejected)
{
  g_autofree char *why = NULL;
  g_autoptr (GArray) want = nfdump_select (fx->path, expression, &why);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubFilter) filter = nfsub_filter_compile (expression, &error);
  guint n = fx->flows->len;
  g_autofree guint32 *got = g_new (guint32, MAX (n, 1));
  guint n_got;

  if (want == NULL)
    {
      (*rejected)++;
      if (filter != NULL)
        {
          g_test_message ("%s: nfdump rejects '%s' (%s) but nfsub accepts it", fx->name,
                          expression, g_strstrip (why));
          return FALSE;
        }
      return TRUE;
    }
  if (filter == NULL)
    {
      g_test_message ("%s: nfsub rejects '%s' (%s) but nfdump selects %u flows", fx->name,
                      expression, error->message, want->len);
      return FALSE;
    }
  n_got = nfsub_filter_select (filter, (const NfsubFlow *) fx->flows->data, n, NULL, 0, got);
  /* the single-flow evaluator agrees with the batch one */
  for (guint i = 0, k = 0; i < n; i++)
    {
      gboolean in_batch = k < n_got && got[k] == i;
      k += in_batch;
      if (nfsub_filter_match (filter, &g_array_index (fx->flows, NfsubFlow, i)) != in_batch)
        {
          g_test_message ("%s: '%s': match() and select() disagree on flow %u", fx->name,
                          expression, i);
          return FALSE;
        }
    }
  if (want->len > 0 && want->len < n)
    (*nontrivial)++;
  for (guint i = 0, j = 0; i < MAX (n_got, want->len) || j < want->len; i++, j++)
    {
      guint32 g = i < n_got ? got[i] : G_MAXUINT32;
      guint32 w = j < want->len ? g_array_index (want, guint32, j) : G_MAXUINT32;
      if (g != w)
        {
          guint32 flow = MIN (g, w);
          g_autoptr (GString) msg = g_string_new (NULL);
          g_string_append_printf (msg, "%s: '%s': nfdump selects %u flows, nfsub %u; flow %u "
                                  "(%%cnt %u) only in %s: ",
                                  fx->name, expression, want->len, n_got, flow, flow + 1,
                                  flow == g ? "nfsub" : "nfdump");
          if (flow < n)
            flow_describe (msg, &g_array_index (fx->flows, NfsubFlow, flow));
          g_test_message ("%s", msg->str);
          return FALSE;
        }
    }
  return TRUE;
}

static void
test_differential (gconstpointer data)
{
  const Fixture *fx = data;
  const char *seed_env = g_getenv ("NFSUB_FILTER_SEED");
  const char *count_env = g_getenv ("NFSUB_FILTER_EXPRS");
  guint32 seed = seed_env ? (guint32) g_ascii_strtoull (seed_env, NULL, 10) : 7;
  guint count = count_env ? (guint) g_ascii_strtoull (count_env, NULL, 10) : 250;
  g_autoptr (GRand) r = g_rand_new_with_seed (seed + (fx == &fixtures[1] ? 1000 : 0));
  guint nontrivial = 0, rejected = 0, failures = 0;

  if (fx->flows == NULL)
    {
      g_test_skip ("no fixture");
      return;
    }
  for (guint e = 0; e < count; e++)
    {
      g_autoptr (GString) expr = g_string_new (NULL);
      append_expression (expr, r, fx, 0);
      if (g_rand_int_range (r, 0, 10) == 0)
        {
          char *up = g_ascii_strup (expr->str, -1);
          g_string_assign (expr, up);
          g_free (up);
        }
      if (!compare_one (fx, expr->str, &nontrivial, &rejected))
        failures++;
    }
  g_test_message ("%s: %u expressions (seed %u), %u select some but not all flows, "
                  "%u rejected by both, %u differ",
                  fx->name, count, seed, nontrivial, rejected, failures);
  g_assert_cmpuint (failures, ==, 0);
  /* the corpus must be discriminating, not "all" or "none" every time */
  g_assert_cmpuint (nontrivial, >=, count / 2);
}

/* Hand-picked expressions on the edge fixture: the rules where a naive
 * implementation differs from nfdump. */
static void
test_edge_cases (void)
{
  static const char *const cases[] = {
    "ip 10.0.0.1", "ip ::10.0.0.1", "ip ::ffff:10.0.0.1", "net ::ffff:0:0/96",
    "net 0.0.0.0/0", "net ::/0", "net ::/1", "net ::/64", "net ::/65", "net ::/96",
    "net 10.0.0.0 255.0.0.0", "net 10.0.0.0 255.255.255.255", "net 0.0.0.0 0.0.0.0",
    "net 2001:db8/32", "net 10.0/16", "net 10.0.0.0/8", "src net 2001:db8::/32",
    "port 0", "port 2048", "port 65535", "port > 65534", "port < 1", "src port > 1023",
    "dst port in [ 2048 0x0303 ]", "port in [80, 443 53]",
    "flags AS", "not flags AS", "not not flags AS", "not (flags AS or port 80)",
    "not (proto udp or flags SAF)", "flags X", "not flags X", "flags 0", "flags > 63",
    "flags < 2", "proto udp and flags S", "!(flags RU and not flags FS)",
    "bytes > 4g", "bytes 1t", "out bytes > 0", "out packets 1001", "in packets >= 4294967296",
    "if 4294967295", "in if 0", "out if 65535", "router ip 127.0.0.2",
    "router ip ::127.0.0.3", "router ip ::ffff:127.0.0.1", "inet and net ::/0",
    "inet6 and ip ::", "ip 0.0.0.0", "ip ::", "proto 0", "proto icmp and port 2048",
    "proto icmp6 and dst port 0x8000", "any", "not any", "", "proto tcp or proto udp and port 53",
    "not proto tcp and port 80", "src and dst port 80", "dst or src ip 8.8.8.8",
  };
  Fixture *fx = &fixtures[1];
  guint nontrivial = 0, rejected = 0, failures = 0;

  if (fx->flows == NULL)
    {
      g_test_skip ("no fixture");
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    if (!compare_one (fx, cases[i], &nontrivial, &rejected))
      failures++;
  g_assert_cmpuint (rejected, ==, 0);
  g_assert_cmpuint (failures, ==, 0);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = NULL;

  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();

  fixtures[0].path = nfsub_test_fixture ("filter-random", "-y", "-n 20000 -S 4 -s 11", &error);
  if (fixtures[0].path)
    load_fixture (&fixtures[0]);
  else
    g_printerr ("random fixture: %s\n", error->message);
  g_clear_error (&error);

  tmp = nfsub_test_tmpdir ("filter-edge");
  fixtures[1].path = make_edge_fixture (tmp, &error);
  if (fixtures[1].path)
    load_fixture (&fixtures[1]);
  else
    g_printerr ("edge fixture: %s\n", error->message);

  g_test_add_data_func ("/filter-nfdump/random", &fixtures[0], test_differential);
  g_test_add_data_func ("/filter-nfdump/edge", &fixtures[1], test_differential);
  g_test_add_func ("/filter-nfdump/edge-cases", test_edge_cases);
  int ret = g_test_run ();

  if (fixtures[0].path == NULL || fixtures[1].path == NULL)
    ret = 1; /* a missing fixture is a failure, not a skip */
  nfsub_test_rm_rf (tmp);
  return ret;
}
