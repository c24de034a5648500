/* Filter expressions on hand-made flows.
 *
 * Every expected selection below was worked out by hand from the flow
 * table and nfdump 1.7.1's rules (see src/filter/filter.c for the rules
 * and tests/test-filter-nfdump.c for the same rules checked against the
 * real nfdump).  A selection is written as one character per flow,
 * '1' = selected, flow 0 first. */
#include "config.h"

#include <string.h>

#include <nfsub/filter.h>

#define N_FLOWS 10

static NfsubFlow flows[N_FLOWS];

static NfsubAddr
addr (const char *text)
{
  NfsubAddr a;
  if (!nfsub_addr_parse (text, &a))
    g_error ("bad test address %s", text);
  return a;
}

static void
set_flow (guint i, guint8 family, guint8 proto, const char *src, guint16 sport,
          const char *dst, guint16 dport, guint8 flags, guint64 bytes,
          guint64 packets, guint32 in_if, guint32 out_if, const char *exporter)
{
  NfsubFlow *f = &flows[i];
  memset (f, 0, sizeof *f);
  f->family = family;
  f->proto = proto;
  f->src = addr (src);
  f->dst = addr (dst);
  f->src_port = sport;
  f->dst_port = dport;
  f->tcp_flags = flags;
  f->in_bytes = bytes;
  f->in_packets = packets;
  f->input_if = in_if;
  f->output_if = out_if;
  if (exporter)
    f->exporter = addr (exporter);
  f->aggr_flows = 1;
}

static void
set_tag (NfsubSubscriberTag *t, const char *user, guint8 access, guint8 service,
         guint8 user_class)
{
  t->user = user;
  t->user_id = 1;
  t->access = access;
  t->service = service;
  t->user_class = user_class;
}

static void
make_flows (void)
{
  /* 0: IPv4 TCP, flags SA */
  set_flow (0, 4, 6, "10.0.0.1", 1234, "192.168.1.1", 80, 0x12, 1500, 3, 1, 2, "192.0.2.1");
  /* 1: IPv4 UDP DNS */
  set_flow (1, 4, 17, "10.0.0.2", 53, "8.8.8.8", 53, 0, 100, 1, 17, 2, "192.0.2.2");
  /* 2: IPv6 TCP, flags S, IPv6 exporter */
  set_flow (2, 6, 6, "2001:db8::1", 443, "2001:db8:1::5", 50000, 0x02, 1000000, 1000, 3, 17, "2001:db8::fe");
  /* 3: IPv4 ICMP echo request: ports as nfdump stores them */
  set_flow (3, 4, 1, "172.16.0.1", 0, "10.0.0.1", 2048, 0, 84, 1, 1, 3, "192.0.2.1");
  /* 4: IPv6 with IPv4-compatible ::10.0.0.1 */
  set_flow (4, 6, 17, "::10.0.0.1", 5000, "::1", 1024, 0, 2000, 2, 2, 1, "192.0.2.2");
  /* 5: IPv6 with IPv4-mapped ::ffff:10.0.0.1, output counters set */
  set_flow (5, 6, 6, "::ffff:10.0.0.1", 80, "2001:db8::2", 1023, 0x11, 1001, 10, 0, 0, "192.0.2.1");
  flows[5].out_bytes = 500;
  flows[5].out_packets = 5;
  /* 6: IPv4 upload of a PPPoE user */
  set_flow (6, 4, 6, "100.64.0.5", 40000, "1.1.1.1", 443, 0x18, 5000, 5, 5, 6, "192.0.2.1");
  set_tag (&flows[6].src_tag, "pppoe:alice", NFSUB_ACCESS_PPPOE, NFSUB_SERVICE_BROADBAND, NFSUB_CLASS_PERSONAL);
  flows[6].direction = NFSUB_DIR_IN;
  /* 7: IPv6 download of an enterprise IPoE user */
  set_flow (7, 6, 17, "2a00::1", 443, "2001:db8:abcd::7", 51000, 0, G_GUINT64_CONSTANT (3000000000), 2000000, 6, 5, "2001:db8::fe");
  set_tag (&flows[7].dst_tag, "ipoe:bob", NFSUB_ACCESS_IPOE, NFSUB_SERVICE_BROADBAND, NFSUB_CLASS_ENTERPRISE);
  flows[7].direction = NFSUB_DIR_OUT;
  /* 8: GRE between a mobile user and a PPPoE user */
  set_flow (8, 4, 47, "10.1.2.3", 0, "10.1.2.4", 0, 0, 999, 1, 7, 8, "192.0.2.2");
  set_tag (&flows[8].src_tag, "mobile:carol", NFSUB_ACCESS_MOBILE, NFSUB_SERVICE_MOBILE, NFSUB_CLASS_PERSONAL);
  set_tag (&flows[8].dst_tag, "pppoe:alice", NFSUB_ACCESS_PPPOE, NFSUB_SERVICE_BROADBAND, NFSUB_CLASS_PERSONAL);
  flows[8].direction = NFSUB_DIR_IN | NFSUB_DIR_OUT;
  /* 9: IPv4 ESP, zero counters, no exporter address */
  set_flow (9, 4, 50, "0.0.0.0", 0, "255.255.255.255", 0, 0, 0, 0, 0, 0, NULL);
}

typedef struct {
  const char *expression;
  const char *expected; /* one '0'/'1' per flow */
} MatchCase;

static const MatchCase match_cases[] = {
  { "", "1111111111" },
  { "any", "1111111111" },
  { "not any", "0000000000" },
  /* protocols */
  { "proto tcp", "1010011000" },
  { "proto udp", "0100100100" },
  { "proto icmp", "0001000000" },
  { "proto 47", "0000000010" },
  { "proto gre", "0000000010" },
  { "proto esp", "0000000001" },
  { "proto 0x32", "0000000001" },
  { "PROTO TCP", "1010011000" },
  /* families */
  { "inet", "1101001011" },
  { "ipv4", "1101001011" },
  { "inet6", "0010110100" },
  { "ipv6 and port 443", "0010000100" },
  /* addresses: IPv4 a.b.c.d is ::a.b.c.d to nfdump, not ::ffff:a.b.c.d */
  { "ip 10.0.0.1", "1001100000" },
  { "host 10.0.0.1", "1001100000" },
  { "ip ::ffff:10.0.0.1", "0000010000" },
  { "src ip 10.0.0.1", "1000100000" },
  { "dst ip 10.0.0.1", "0001000000" },
  { "src and dst ip 10.0.0.1", "0000000000" },
  { "src or dst ip 10.0.0.1", "1001100000" },
  { "ip 8.8.8.8", "0100000000" },
  { "ip 2001:db8::1", "0010000000" },
  { "ip in [10.0.0.1 2001:db8::1, 1.1.1.1]", "1011101000" },
  { "src ip in [10.0.0.1]", "1000100000" },
  /* networks */
  { "net 10.0.0.0/8", "1101100010" },
  { "net 10.0/16", "1101100000" },
  { "net 10.0.0.1/8", "1101100010" },
  { "net ::ffff:0:0/96", "0000010000" },
  { "net 0.0.0.0/0", "1101101011" },
  { "net ::/0", "1101111011" },
  { "net 2001:db8::/32", "0010010100" },
  { "net 2001:db8/32", "0010010100" },
  { "src net 2001:db8::/32", "0010000000" },
  { "net 2001:db8:1::/48", "0010000000" },
  { "dst net 2001:db8:abcd::7/128", "0000000100" },
  { "net 10.0.0.0 255.0.0.0", "1101110010" },
  { "net 255.255.255.255/32", "0000000001" },
  /* ports */
  { "port 80", "1000010000" },
  { "port = 80", "1000010000" },
  { "port == 80", "1000010000" },
  { "port eq 80", "1000010000" },
  { "port 0x50", "1000010000" },
  { "port 0", "0001000011" },
  { "port 2048", "0001000000" },
  { "src port > 1023", "1000101000" },
  { "src port gt 1023", "1000101000" },
  { "dst port < 1024", "1100011011" },
  { "dst port lt 1024", "1100011011" },
  { "port >= 1024", "1011101100" },
  { "port ge 1024", "1011101100" },
  { "port le 53", "0101000011" },
  { "port <= 53", "0101000011" },
  { "port in [80 443, 53]", "1110011100" },
  { "dst port in [443]", "0000001000" },
  { "src or dst port 53", "0100000000" },
  { "dst and src port 53", "0100000000" },
  { "src and dst port 80", "0000000000" },
  /* interfaces, router */
  { "if 17", "0110000000" },
  { "in if 1", "1001000000" },
  { "out if 2", "1100000000" },
  { "router ip 192.0.2.1", "1001011000" },
  { "router ip 2001:db8::fe", "0010000100" },
  { "router ip 0.0.0.0", "0000000001" },
  /* counters: "bytes" and "packets" are the input counters */
  { "bytes > 1000", "1010111100" },
  { "bytes > 1k", "1010111100" },
  { "bytes > 1K", "1010111100" },
  { "in bytes > 1000", "1010111100" },
  { "bytes >= 1m", "0010000100" },
  { "bytes > 2g", "0000000100" },
  { "bytes 1001", "0000010000" },
  { "packets < 2", "0101000011" },
  { "out bytes > 0", "0000010000" },
  { "out packets 5", "0000010000" },
  /* TCP flags: all given flags set, implies proto tcp */
  { "flags S", "1010000000" },
  { "flags AS", "1000000000" },
  { "flags as", "1000000000" },
  { "flags SA", "1000000000" },
  { "flags 0x12", "1000000000" },
  { "flags > 16", "1000011000" },
  { "flags X", "0000000000" },
  { "flags FA", "0000010000" },
  /* nfdump tests "any of the flags" under an odd number of nots */
  { "not flags AS", "0101100111" },
  { "not (proto tcp and flags AS)", "0101100111" },
  { "not not flags AS", "1000000000" },
  { "not flags S", "0101111111" },
  /* precedence: not > and > or */
  { "proto tcp or proto udp and port 53", "1110011000" },
  { "(proto tcp or proto udp) and port 53", "0100000000" },
  { "not proto tcp and port 80", "0000000000" },
  { "not (proto tcp and port 80)", "0111101111" },
  { "! proto tcp || port 80", "1101110111" },
  { "proto tcp && not port 80", "0010001000" },
  { "PROTO TCP AND PORT 80", "1000010000" },
  { "proto tcp # a comment", "1010011000" },
  { "proto tcp\n\tand port 80", "1000010000" },
  { "((((proto udp))))", "0100100100" },
  /* runs of protocols / equal ports (merged into one set test by select) */
  { "proto tcp or proto udp", "1110111100" },
  { "proto tcp or proto udp or proto 47", "1110111110" },
  { "not proto tcp and not proto udp", "0001000011" },
  { "not (proto tcp or proto udp) or port 53", "0101000011" },
  { "port 80 or port 53", "1100010000" },
  { "not port 80 and not port 53", "0011101111" },
  { "src port 80 or src port 53", "0100010000" },
  { "src port 80 or dst port 53", "0100010000" },
  { "src and dst port 53 or port 80", "1100010000" },
  { "port 80 or port > 50000 or proto icmp", "1001010100" },
  /* nfsub tags */
  { "user pppoe:alice", "0000001010" },
  { "src user pppoe:alice", "0000001000" },
  { "dst user 'pppoe:alice'", "0000000010" },
  { "user \"ipoe:bob\"", "0000000100" },
  { "user nobody", "0000000000" },
  { "access pppoe", "0000001010" },
  { "access IPoE", "0000000100" },
  { "access mobile", "0000000010" },
  { "src access pppoe", "0000001000" },
  { "service broadband", "0000001110" },
  { "service mobile", "0000000010" },
  { "class enterprise", "0000000100" },
  { "class personal", "0000001010" },
  { "direction in", "0000001010" },
  { "direction out", "0000000110" },
  { "unattributed", "1111110001" },
  { "not unattributed and access pppoe", "0000001010" },
  { "unattributed or user ipoe:bob", "1111110101" },
};

static char *
selection_of (const NfsubFilter *filter)
{
  char *s = g_malloc0 (N_FLOWS + 1);
  for (guint i = 0; i < N_FLOWS; i++)
    s[i] = nfsub_filter_match (filter, &flows[i]) ? '1' : '0';
  return s;
}

static void
test_match (void)
{
  for (guint c = 0; c < G_N_ELEMENTS (match_cases); c++)
    {
      const MatchCase *mc = &match_cases[c];
      g_autoptr (GError) error = NULL;
      g_autoptr (NfsubFilter) filter = nfsub_filter_compile (mc->expression, &error);
      g_autofree char *got = NULL;

      if (filter == NULL)
        g_error ("'%s': %s", mc->expression, error->message);
      got = selection_of (filter);
      if (strcmp (got, mc->expected) != 0)
        g_test_message ("'%s': got %s, expected %s", mc->expression, got, mc->expected);
      g_assert_cmpstr (got, ==, mc->expected);
      g_assert_cmpstr (nfsub_filter_expression (filter), ==, mc->expression);
    }
}

/* select() agrees with match(), with and without an input index list,
 * including out == in. */
static void
test_select (void)
{
  for (guint c = 0; c < G_N_ELEMENTS (match_cases); c++)
    {
      const MatchCase *mc = &match_cases[c];
      g_autoptr (NfsubFilter) filter = nfsub_filter_compile (mc->expression, NULL);
      guint32 out[N_FLOWS], idx[N_FLOWS];
      guint n, n_idx = 0, expect_n = 0;

      g_assert_nonnull (filter);
      n = nfsub_filter_select (filter, flows, N_FLOWS, NULL, 0, out);
      for (guint i = 0; i < N_FLOWS; i++)
        if (mc->expected[i] == '1')
          g_assert_cmpuint (out[expect_n++], ==, i);
      g_assert_cmpuint (n, ==, expect_n);

      /* the odd flows only, filtered in place */
      for (guint i = 1; i < N_FLOWS; i += 2)
        idx[n_idx++] = i;
      n = nfsub_filter_select (filter, flows, N_FLOWS, idx, n_idx, idx);
      expect_n = 0;
      for (guint i = 1; i < N_FLOWS; i += 2)
        if (mc->expected[i] == '1')
          g_assert_cmpuint (idx[expect_n++], ==, i);
      g_assert_cmpuint (n, ==, expect_n);
    }
}

/* Over a large batch (several of select()'s chunks) select() agrees with
 * match() flow by flow: all flows, an ascending subset in place, and an
 * unsorted subset (whose order is kept). */
static void
test_select_large (void)
{
  const guint n = 5000;
  g_autofree NfsubFlow *many = g_new (NfsubFlow, n);
  g_autofree guint32 *out = g_new (guint32, n);
  g_autofree guint32 *idx = g_new (guint32, n);
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);

  for (guint i = 0; i < n; i++)
    {
      many[i] = flows[g_rand_int_range (rand, 0, N_FLOWS)];
      many[i].src_port = g_rand_boolean (rand) ? many[i].src_port : g_rand_int_range (rand, 0, 2000);
      many[i].in_bytes = g_rand_int_range (rand, 0, 3000);
      many[i].tcp_flags = g_rand_int_range (rand, 0, 64);
    }
  for (guint c = 0; c < G_N_ELEMENTS (match_cases); c++)
    {
      g_autoptr (NfsubFilter) filter = nfsub_filter_compile (match_cases[c].expression, NULL);
      guint m = nfsub_filter_select (filter, many, n, NULL, 0, out), k = 0, n_idx = 0;

      for (guint i = 0; i < n; i++)
        if (nfsub_filter_match (filter, &many[i]))
          {
            g_assert_cmpuint (k, <, m);
            g_assert_cmpuint (out[k++], ==, i);
          }
      g_assert_cmpuint (k, ==, m);

      for (guint i = 0; i < n; i += 1 + g_rand_int_range (rand, 0, 3))
        idx[n_idx++] = i;
      g_autofree guint32 *subset = g_memdup2 (idx, n_idx * sizeof *idx);
      m = nfsub_filter_select (filter, many, n, idx, n_idx, idx);
      k = 0;
      for (guint j = 0; j < n_idx; j++)
        if (nfsub_filter_match (filter, &many[subset[j]]))
          {
            g_assert_cmpuint (k, <, m);
            g_assert_cmpuint (idx[k++], ==, subset[j]);
          }
      g_assert_cmpuint (k, ==, m);

      /* descending order, plus an index past the end that is dropped */
      n_idx = 0;
      for (guint i = n; i-- > 0;)
        idx[n_idx++] = i;
      idx[0] = n + 7;
      m = nfsub_filter_select (filter, many, n, idx, n_idx, out);
      k = 0;
      for (guint i = n - 1; i-- > 0;)
        if (nfsub_filter_match (filter, &many[i]))
          g_assert_cmpuint (out[k++], ==, i);
      g_assert_cmpuint (k, ==, m);
    }
}

/* Several compiled filters are independent of each other. */
static void
test_coexist (void)
{
  g_autoptr (NfsubFilter) a = nfsub_filter_compile ("proto tcp", NULL);
  g_autoptr (NfsubFilter) b = nfsub_filter_compile ("port 53", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubFilter) bad = nfsub_filter_compile ("port 53 and", &error);
  g_autofree char *sa = NULL, *sb = NULL;

  g_assert_null (bad);
  sa = selection_of (a);
  sb = selection_of (b);
  g_assert_cmpstr (sa, ==, "1010011000");
  g_assert_cmpstr (sb, ==, "0100000000");
}

typedef struct {
  const char *expression;
  int code;
  const char *message; /* the whole message */
} ErrorCase;

static const ErrorCase error_cases[] = {
  { "proto tcp and as 3", NFSUB_FILTER_ERROR_UNSUPPORTED,
    "position 15: unsupported keyword 'as' (nfsub supports: any, proto, ip/host, net, "
    "port, if, router ip, bytes, packets, flags, inet/inet6, src/dst/in/out, and/or/not, "
    "user, access, service, class, direction, unattributed)" },
  { "ident foo", NFSUB_FILTER_ERROR_UNSUPPORTED, NULL },
  { "src port 80 or tos 3", NFSUB_FILTER_ERROR_UNSUPPORTED, NULL },
  { "proto tcp and @include x", NFSUB_FILTER_ERROR_UNSUPPORTED, NULL },
  { "port != 80", NFSUB_FILTER_ERROR_SYNTAX,
    "position 6: '!=' is not in nfdump's filter language: negate the term instead "
    "(e.g. 'not port 80')" },
  { "proto tcp and", NFSUB_FILTER_ERROR_SYNTAX, "position 14: unexpected end of expression" },
  { "(proto tcp", NFSUB_FILTER_ERROR_SYNTAX, "position 11: unexpected end of expression" },
  { "proto tcp )", NFSUB_FILTER_ERROR_SYNTAX, "position 11: syntax error at ')'" },
  { "tcp", NFSUB_FILTER_ERROR_SYNTAX, "position 1: syntax error at 'tcp'" },
  { "bytes > 5x", NFSUB_FILTER_ERROR_SYNTAX, "position 9: syntax error at '5x'" },
  { "port ne 80", NFSUB_FILTER_ERROR_SYNTAX, "position 6: syntax error at 'ne'" },
  { "net 10/8", NFSUB_FILTER_ERROR_SYNTAX, "position 5: syntax error at '10'" },
  { "ip 10.0.0.1/24", NFSUB_FILTER_ERROR_SYNTAX, "position 12: syntax error at '/'" },
  { "src if 3", NFSUB_FILTER_ERROR_SYNTAX, "position 1: 'src' cannot qualify 'if'" },
  { "in ip 10.0.0.1", NFSUB_FILTER_ERROR_SYNTAX, "position 1: 'in' cannot qualify 'ip'" },
  { "src bytes > 3", NFSUB_FILTER_ERROR_SYNTAX, "position 1: 'src' cannot qualify 'bytes'" },
  { "port 65536", NFSUB_FILTER_ERROR_VALUE, "position 6: port 65536 outside of range 0..65535" },
  { "port 80k", NFSUB_FILTER_ERROR_VALUE, "position 6: port 80k outside of range 0..65535" },
  { "port in [80 70000]", NFSUB_FILTER_ERROR_VALUE, "position 13: port 70000 outside of range 0..65535" },
  { "proto 256", NFSUB_FILTER_ERROR_VALUE, "position 7: protocol number 256 > 255" },
  { "proto foo", NFSUB_FILTER_ERROR_VALUE, "position 7: unknown protocol 'foo'" },
  { "proto ipv6", NFSUB_FILTER_ERROR_SYNTAX, "position 7: syntax error at 'ipv6'" },
  { "ip 10.0", NFSUB_FILTER_ERROR_VALUE, "position 4: incomplete IP address '10.0'" },
  { "ip 2001:db8", NFSUB_FILTER_ERROR_VALUE, "position 4: incomplete IP address '2001:db8'" },
  { "ip 256.1.1.1", NFSUB_FILTER_ERROR_VALUE, "position 4: invalid IP address '256.1.1.1'" },
  { "host www.example.com", NFSUB_FILTER_ERROR_UNSUPPORTED,
    "position 6: host names are not supported ('www.example.com'): give an address" },
  { "net 10.0.0.0/33", NFSUB_FILTER_ERROR_VALUE,
    "position 14: too many netbits (33) for '10.0.0.0'" },
  { "net 2001:db8::/129", NFSUB_FILTER_ERROR_VALUE,
    "position 16: too many netbits (129) for '2001:db8::'" },
  { "net 2001:db8:: ffff::", NFSUB_FILTER_ERROR_VALUE,
    "position 5: the 'net ADDRESS MASK' form is valid only for IPv4" },
  { "ip in [10.0.0.0/8]", NFSUB_FILTER_ERROR_UNSUPPORTED, NULL },
  { "router ip gw.example.com", NFSUB_FILTER_ERROR_VALUE, NULL },
  { "flags sa", NFSUB_FILTER_ERROR_VALUE,
    "position 7: 'sa' is not a set of TCP flags (distinct upper-case letters of FSRPAU, "
    "or X for all)" },
  { "flags SS", NFSUB_FILTER_ERROR_VALUE, NULL },
  { "flags 64", NFSUB_FILTER_ERROR_VALUE, "position 7: flags must be 0..63, not 64" },
  { "if 4294967296", NFSUB_FILTER_ERROR_VALUE, NULL },
  { "access dsl", NFSUB_FILTER_ERROR_VALUE,
    "position 8: unknown access 'dsl' (one of pppoe|ipoe|mobile)" },
  { "service fixed", NFSUB_FILTER_ERROR_VALUE,
    "position 9: unknown service 'fixed' (one of broadband|mobile)" },
  { "direction both", NFSUB_FILTER_ERROR_SYNTAX, "position 11: syntax error at 'both'" },
  { "()", NFSUB_FILTER_ERROR_SYNTAX, "position 2: syntax error at ')'" },
  { "proto tcp\r", NFSUB_FILTER_ERROR_SYNTAX, "position 10: syntax error at '\\r'" },
  /* positions count characters, not bytes */
  { "# \xc3\xa9\nas", NFSUB_FILTER_ERROR_UNSUPPORTED, NULL },
  { "user \xc3\xa9", NFSUB_FILTER_ERROR_SYNTAX, "position 6: syntax error at '\xc3\xa9'" },
  { "proto tcp and \xff", NFSUB_FILTER_ERROR_SYNTAX, "position 15: syntax error at '\\377'" },
};

static void
test_errors (void)
{
  for (guint c = 0; c < G_N_ELEMENTS (error_cases); c++)
    {
      const ErrorCase *ec = &error_cases[c];
      g_autoptr (GError) error = NULL;
      g_autoptr (NfsubFilter) filter = nfsub_filter_compile (ec->expression, &error);

      if (filter != NULL)
        g_error ("'%s' compiled but must not", ec->expression);
      g_assert_error (error, NFSUB_FILTER_ERROR, ec->code);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_true (g_str_has_prefix (error->message, "position "));
      if (ec->message)
        g_assert_cmpstr (error->message, ==, ec->message);
    }
  {
    /* "# é\nas": the keyword starts at byte 6, character 5 */
    g_autoptr (GError) error = NULL;
    g_assert_null (nfsub_filter_compile ("# \xc3\xa9\nas", &error));
    g_assert_true (g_str_has_prefix (error->message, "position 5: unsupported keyword 'as'"));
  }
}

/* A long "or" chain (a filter generated from an address list) compiles
 * and evaluates without deep recursion. */
static void
test_long_chain (void)
{
  GString *expr = g_string_new ("ip 10.9.9.9");
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubFilter) filter = NULL;
  g_autofree char *got = NULL;

  for (guint i = 0; i < 20000; i++)
    g_string_append_printf (expr, " or ip 10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
  g_string_append (expr, " or port 443");
  filter = nfsub_filter_compile (expr->str, &error);
  g_assert_no_error (error);
  got = selection_of (filter);
  /* 10.0.0.1 and 10.0.0.2 are in the list (i = 1, 2); 443 adds 2, 6, 7 */
  g_assert_cmpstr (got, ==, "1111101100");
  g_string_free (expr, TRUE);
}

/* Deep nesting: bison's stack limit is an error, not a crash; a deep but
 * acceptable nesting evaluates the same in both evaluators. */
static void
test_deep (void)
{
  GString *expr = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (NfsubFilter) filter = NULL;
  g_autofree char *got = NULL;
  guint32 out[N_FLOWS];

  for (guint i = 0; i < 20000; i++)
    g_string_append_c (expr, '(');
  g_string_append (expr, "any");
  for (guint i = 0; i < 20000; i++)
    g_string_append_c (expr, ')');
  g_assert_null (nfsub_filter_compile (expr->str, &error));
  g_assert_error (error, NFSUB_FILTER_ERROR, NFSUB_FILTER_ERROR_SYNTAX);
  g_assert_true (g_str_has_suffix (error->message, ": expression nested too deeply"));
  g_clear_error (&error);

  /* 100 levels alternating and/or: "proto tcp and (port 80 or (proto tcp and (...)))" */
  g_string_truncate (expr, 0);
  for (guint i = 0; i < 100; i++)
    g_string_append (expr, i % 2 ? "port 80 or (" : "proto tcp and (");
  g_string_append (expr, "port 1234");
  for (guint i = 0; i < 100; i++)
    g_string_append_c (expr, ')');
  filter = nfsub_filter_compile (expr->str, &error);
  g_assert_no_error (error);
  got = selection_of (filter);
  /* tcp and (port 80 or (tcp and (...port 1234))): flows 0 (80, 1234) and 5 (80) */
  g_assert_cmpstr (got, ==, "1000010000");
  g_assert_cmpuint (nfsub_filter_select (filter, flows, N_FLOWS, NULL, 0, out), ==, 2);
  g_assert_cmpuint (out[0], ==, 0);
  g_assert_cmpuint (out[1], ==, 5);
  g_string_free (expr, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  make_flows ();
  g_test_add_func ("/filter/match", test_match);
  g_test_add_func ("/filter/select", test_select);
  g_test_add_func ("/filter/select-large", test_select_large);
  g_test_add_func ("/filter/coexist", test_coexist);
  g_test_add_func ("/filter/errors", test_errors);
  g_test_add_func ("/filter/long-chain", test_long_chain);
  g_test_add_func ("/filter/deep", test_deep);
  return g_test_run ();
}
