/* nfsub filter: nfdump 1.7.1 filter expressions, compiled for fast
 * evaluation over batches of flows.
 *
 * Semantics follow what nfdump 1.7.1 does with the same text, verified
 * against /usr/bin/nfdump by tests/test-filter-nfdump.c:
 *  - nfdump compares addresses in its "master record", where an IPv4
 *    address a.b.c.d is the 128-bit value ::a.b.c.d (not ::ffff:a.b.c.d as
 *    NfsubFlow stores it).  So "ip 10.0.0.1" also matches the IPv6 address
 *    ::10.0.0.1, "net 0.0.0.0/0" matches ::/96, and "net ::ffff:0:0/96"
 *    matches no IPv4 flow.  The evaluator compares in that view.
 *  - "net X/0" for IPv6 builds its mask with a 64-bit shift by 64, which
 *    on x86-64 leaves the mask all ones: nfdump's "net ::/0" means "the
 *    first 64 bits are zero".  Reproduced, not fixed.
 *  - "net A M" (dotted mask) masks only the low 32 bits.
 *  - "bytes"/"packets" compare the input counters, "out bytes" the output
 *    ones; "port" compares the stored ports (ICMP: src 0, dst type*256+code).
 *  - "flags XY" means all of X and Y set (and proto tcp); under an odd
 *    number of "not"s nfdump tests "any of X, Y set" instead
 *    (RunExtendedFilter's CMP_FLAGS), and so does nfsub.
 * Two evaluators over the same tree: nfsub_filter_match() runs a jump
 * program (every leaf test has a jump for true and one for false; "and",
 * "or" and "not" only decide the targets, so one flow is tested
 * short-circuit with no stack); nfsub_filter_select() runs the batch form
 * below.  The tests check both against each other and against nfdump.
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "filter-private.h"
#include "grammar.h"

G_DEFINE_QUARK (nfsub-filter-error-quark, nfsub_filter_error)

#define FILTER_FALSE (-1)
#define FILTER_TRUE (-2)

typedef struct {
  FilterTest test;
  gint32 on_true;
  gint32 on_false;
} FilterInsn;

/* The batch form (nfsub_filter_select): the tree in negation normal form
 * with runs of the same operator merged, evaluated one test at a time over
 * a list of flow indexes (a "selection vector"): each test is one tight,
 * branch-free loop, and an "and" only tests what passed the terms before
 * it.  Children of node i are kids[first .. first + n_kids). */
typedef enum {
  VEC_LEAF,
  VEC_AND,
  VEC_OR,
} VecKind;

typedef struct {
  guint8 kind;   /* VecKind */
  guint8 neg;    /* leaf: the result is negated */
  guint32 first;
  guint32 n_kids;
  FilterTest test;
} VecNode;

struct NfsubFilter {
  char *expression;
  FilterInsn *program;
  guint n_insns;
  gint32 start;         /* FILTER_TRUE: matches everything */
  VecNode *vec;         /* vec[0] is the root */
  guint32 *kids;
  guint vec_depth;      /* nesting of and/or nodes, for scratch space */
  GPtrArray *data;
};

static const char supported_words[] =
  "any, proto, ip/host, net, port, if, router ip, bytes, packets, flags, "
  "inet/inet6, src/dst/in/out, and/or/not, user, access, service, class, "
  "direction, unattributed";

/* ------------------------------------------------------------------ */
/* parse-time memory and errors                                        */

gpointer
filter_arena_alloc (NfsubFilterParser *p, gsize size)
{
  gpointer mem = g_malloc0 (size);
  g_ptr_array_add (p->arena, mem);
  return mem;
}

char *
filter_arena_strdup (NfsubFilterParser *p, const char *text, gsize len)
{
  char *s = g_strndup (text, len);
  g_ptr_array_add (p->arena, s);
  return s;
}

GArray *
filter_list_new (NfsubFilterParser *p)
{
  GArray *list = g_array_new (FALSE, FALSE, sizeof (NfsubFilterValue));
  g_ptr_array_add (p->lists, list);
  return list;
}

/* Positions are counted in characters, not bytes, when the text is UTF-8. */
static int
char_position (NfsubFilterParser *p, int byte_pos)
{
  gsize len = strlen (p->expression);
  if (byte_pos < 1)
    return 1;
  if ((gsize) byte_pos > len + 1)
    byte_pos = (int) len + 1;
  if (!g_utf8_validate (p->expression, byte_pos - 1, NULL))
    return byte_pos;
  return (int) g_utf8_pointer_to_offset (p->expression,
                                         p->expression + byte_pos - 1) + 1;
}

void
filter_set_error (NfsubFilterParser *p, int code, int pos, const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  if (p->error != NULL)
    return;
  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  p->error = g_error_new (NFSUB_FILTER_ERROR, code, "position %d: %s",
                          char_position (p, pos), msg);
}

void
filter_unsupported_keyword (NfsubFilterParser *p, int pos, const char *word)
{
  filter_set_error (p, NFSUB_FILTER_ERROR_UNSUPPORTED, pos,
                    "unsupported keyword '%s' (nfsub supports: %s)", word,
                    supported_words);
}

void
filter_syntax_error (NfsubFilterParser *p)
{
  if (p->tok_kind == NFSUB_FILTER_TOK_UNSUPPORTED)
    filter_unsupported_keyword (p, p->tok_pos, p->tok_text);
  else if (p->tok_kind == NFSUB_FILTER_TOK_NOT && p->tok_text[0] == '!'
           && p->expression[p->tok_pos] == '=')
    filter_set_error (p, NFSUB_FILTER_ERROR_SYNTAX, p->tok_pos,
                      "'!=' is not in nfdump's filter language: negate the "
                      "term instead (e.g. 'not port 80')");
  else if (p->tok_kind == 0)
    filter_set_error (p, NFSUB_FILTER_ERROR_SYNTAX, p->tok_pos,
                      "unexpected end of expression");
  else
    {
      /* the text may be a stray byte or a control character: keep the
       * message valid, printable UTF-8 */
      const char *text = p->tok_text ? p->tok_text : "";
      gboolean printable = g_utf8_validate (text, -1, NULL);
      for (const char *c = text; *c && printable; c++)
        printable = !g_ascii_iscntrl (*c);
      g_autofree char *shown = printable ? g_strdup (text) : g_strescape (text, NULL);
      filter_set_error (p, NFSUB_FILTER_ERROR_SYNTAX, p->tok_pos,
                        "syntax error at '%s'", shown);
    }
}

/* ------------------------------------------------------------------ */
/* tree                                                                */

static FilterNode *
node_new (NfsubFilterParser *p, FilterNodeKind kind)
{
  FilterNode *n = filter_arena_alloc (p, sizeof *n);
  n->kind = kind;
  return n;
}

static FilterNode *
leaf (NfsubFilterParser *p, FilterOp op)
{
  FilterNode *n = node_new (p, FILTER_NODE_LEAF);
  n->test.op = op;
  p->n_leaves++;
  return n;
}

FilterNode *
filter_node_and (NfsubFilterParser *p, FilterNode *a, FilterNode *b)
{
  FilterNode *n = node_new (p, FILTER_NODE_AND);
  n->left = a;
  n->right = b;
  return n;
}

FilterNode *
filter_node_or (NfsubFilterParser *p, FilterNode *a, FilterNode *b)
{
  FilterNode *n = node_new (p, FILTER_NODE_OR);
  n->left = a;
  n->right = b;
  return n;
}

FilterNode *
filter_node_not (NfsubFilterParser *p, FilterNode *a)
{
  FilterNode *n = node_new (p, FILTER_NODE_NOT);
  n->left = a;
  return n;
}

static const char *
dqual_word (int dqual)
{
  switch (dqual)
    {
    case FILTER_DQ_SRC: return "src";
    case FILTER_DQ_DST: return "dst";
    case FILTER_DQ_SRC_OR_DST: return "src or dst";
    case FILTER_DQ_SRC_AND_DST: return "src and dst";
    case FILTER_DQ_IN: return "in";
    case FILTER_DQ_OUT: return "out";
    default: return "";
    }
}

static void
dqual_error (NfsubFilterParser *p, const NfsubFilterValue *dq,
             const NfsubFilterValue *kw)
{
  filter_set_error (p, NFSUB_FILTER_ERROR_SYNTAX, dq->pos,
                    "'%s' cannot qualify '%s'", dqual_word (dq->dqual), kw->text);
}

/* src/dst qualified terms: one leaf that looks at the end(s) named. */
static FilterNode *
by_endpoint (NfsubFilterParser *p, const NfsubFilterValue *dq,
             const NfsubFilterValue *kw, const FilterTest *test)
{
  FilterNode *n;
  guint8 ends;

  switch (dq->dqual)
    {
    case FILTER_DQ_UNSPEC:
    case FILTER_DQ_SRC_OR_DST: ends = FILTER_ENDS_EITHER; break;
    case FILTER_DQ_SRC_AND_DST: ends = FILTER_ENDS_BOTH; break;
    case FILTER_DQ_SRC: ends = FILTER_ENDS_SRC; break;
    case FILTER_DQ_DST: ends = FILTER_ENDS_DST; break;
    default:
      dqual_error (p, dq, kw);
      return NULL;
    }
  n = leaf (p, test->op);
  n->test = *test;
  n->test.ends = ends;
  return n;
}

/* ------------------------------------------------------------------ */
/* terms                                                               */

FilterNode *
filter_term_any (NfsubFilterParser *p)
{
  return leaf (p, FILTER_OP_TRUE);
}

FilterNode *
filter_term_family (NfsubFilterParser *p, int family)
{
  /* nfdump: "inet" = the record has no IPv6 addresses */
  FilterNode *v6 = leaf (p, FILTER_OP_FAMILY6);
  return family == 6 ? v6 : filter_node_not (p, v6);
}

static FilterNode *
proto_leaf (NfsubFilterParser *p, guint64 proto)
{
  FilterNode *n = leaf (p, FILTER_OP_PROTO);
  n->test.a = proto;
  return n;
}

FilterNode *
filter_term_proto_number (NfsubFilterParser *p, const NfsubFilterValue *v)
{
  if (v->num > 255)
    {
      filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, v->pos,
                        "protocol number %s > 255", v->text);
      return NULL;
    }
  return proto_leaf (p, v->num);
}

/* nfdump 1.7.1's protocol names (output_util.c), index = number */
static const char *const proto_names[] = {
  "0", "ICMP", "IGMP", "GGP", "IPIP", "ST", "TCP", "CBT", "EGP", "IGP",
  "BBN", "NVPII", "PUP", "ARGUS", "ENCOM", "XNET", "CHAOS", "UDP", "MUX", "DCN",
  "HMP", "PRM", "XNS", "Trnk1", "Trnk2", "Leaf1", "Leaf2", "RDP", "IRTP", "ISO-4",
  "NETBK", "MFESP", "MEINP", "DCCP", "3PC", "IDPR", "XTP", "DDP", "IDPR", "TP++",
  "IL", "IPv6", "SDRP", "Rte6", "Frag6", "IDRP", "RSVP", "GRE", "MHRP", "BNA",
  "ESP", "AH", "INLSP", "SWIPE", "NARP", "MOBIL", "TLSP", "SKIP", "ICMP6", "NOHE6",
  "OPTS6", "HOST", "CFTP", "NET", "SATNT", "KLAN", "RVD", "IPPC", "FS", "SATM",
  "VISA", "IPCV", "CPNX", "CPHB", "WSN", "PVP", "BSATM", "SUNND", "WBMON", "WBEXP",
  "ISOIP", "VMTP", "SVMTP", "VINES", "TTP", "NSIGP", "DGP", "TCF", "EIGRP", "OSPF",
  "S-RPC", "LARP", "MTP", "AX.25", "OS", "MICP", "SCCSP", "ETHIP", "ENCAP", "99",
  "GMTP", "IFMP", "PNNI", "PIM", "ARIS", "SCPS", "QNX", "A/N", "IPcmp", "SNP",
  "CpqPP", "IPXIP", "VRRP", "PGM", "0hop", "L2TP", "DDX", "IATP", "STP", "SRP",
  "UTI", "SMP", "SM", "PTP", "ISIS4", "FIRE", "CRTP", "CRUDP", "128", "IPLT",
  "SPS", "PIPE", "SCTP", "FC", "134", "MHEAD", "UDP-L", "MPLS",
};

FilterNode *
filter_term_proto_name (NfsubFilterParser *p, const NfsubFilterValue *v)
{
  gsize len = strlen (v->text);
  if (len < 6)
    for (guint i = 0; i < G_N_ELEMENTS (proto_names); i++)
      if (g_ascii_strcasecmp (v->text, proto_names[i]) == 0)
        return proto_leaf (p, i);
  filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, v->pos,
                    "unknown protocol '%s'", v->text);
  return NULL;
}

FilterNode *
filter_term_counter (NfsubFilterParser *p, const NfsubFilterValue *dq,
                     gboolean bytes, const NfsubFilterValue *kw, int cmp,
                     const NfsubFilterValue *num)
{
  gboolean out;
  FilterNode *n;

  if (dq->dqual == FILTER_DQ_UNSPEC || dq->dqual == FILTER_DQ_IN)
    out = FALSE;
  else if (dq->dqual == FILTER_DQ_OUT)
    out = TRUE;
  else
    {
      dqual_error (p, dq, kw);
      return NULL;
    }
  if (bytes)
    n = leaf (p, out ? FILTER_OP_OUT_BYTES : FILTER_OP_IN_BYTES);
  else
    n = leaf (p, out ? FILTER_OP_OUT_PACKETS : FILTER_OP_IN_PACKETS);
  n->test.cmp = cmp;
  n->test.a = num->num;
  return n;
}

FilterNode *
filter_term_flags_number (NfsubFilterParser *p, int cmp, const NfsubFilterValue *num)
{
  FilterNode *n;
  if (num->num > 63)
    {
      filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, num->pos,
                        "flags must be 0..63, not %s", num->text);
      return NULL;
    }
  n = leaf (p, FILTER_OP_FLAGS_CMP);
  n->test.cmp = cmp;
  n->test.a = num->num;
  return filter_node_and (p, proto_leaf (p, 6), n);
}

FilterNode *
filter_term_flags_string (NfsubFilterParser *p, const NfsubFilterValue *v)
{
  static const struct { char letter; guint8 bit; } letters[] = {
    { 'F', 1 }, { 'S', 2 }, { 'R', 4 }, { 'P', 8 }, { 'A', 16 }, { 'U', 32 },
  };
  guint64 bits = 0;
  gsize len = strlen (v->text), count = 0;
  FilterNode *n;

  if (g_ascii_strcasecmp (v->text, "as") == 0)
    {
      /* "as" is a keyword in nfdump; its grammar special-cases "flags AS" */
      bits = 16 | 2;
    }
  else
    {
      /* nfdump counts distinct upper-case letters and wants every
       * character to be one */
      for (guint i = 0; i < G_N_ELEMENTS (letters); i++)
        if (strchr (v->text, letters[i].letter))
          {
            bits |= letters[i].bit;
            count++;
          }
      if (strchr (v->text, 'X'))
        {
          bits = 63;
          count++;
        }
      if (len > 7 || count != len)
        {
          filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, v->pos,
                            "'%s' is not a set of TCP flags (distinct upper-case "
                            "letters of FSRPAU, or X for all)", v->text);
          return NULL;
        }
    }
  n = leaf (p, FILTER_OP_FLAGS_ALL);
  n->test.a = bits;
  return filter_node_and (p, proto_leaf (p, 6), n);
}

/* nfdump's parse_ipv4: 1 to 4 dotted decimal bytes, left-aligned. */
static gboolean
parse_v4 (const char *s, guint8 out[4], int *bytes)
{
  guint8 tmp[4] = { 0, 0, 0, 0 };
  int n = 0;
  gboolean digit = FALSE;
  unsigned val = 0;

  *bytes = 0;
  for (; *s; s++)
    {
      if (*s >= '0' && *s <= '9')
        {
          val = val * 10 + (unsigned) (*s - '0');
          if (val > 255)
            return FALSE;
          if (!digit)
            {
              if (++n > 4)
                return FALSE;
              digit = TRUE;
            }
          tmp[n - 1] = (guint8) val;
        }
      else if (*s == '.' && digit)
        {
          if (n == 4 || s[1] == '\0')
            return FALSE;
          digit = FALSE;
          val = 0;
        }
      else
        return FALSE;
    }
  memcpy (out, tmp, 4);
  *bytes = n;
  return TRUE;
}

/* nfdump's parse_ipv6 (inet_pton-like); without "::" a short address
 * gives fewer than 16 bytes, left-aligned. */
static gboolean
parse_v6 (const char *src, guint8 out[16], int *bytes)
{
  guint8 tmp[16];
  guint8 *tp = tmp, *endp = tmp + 16, *colonp = NULL;
  const char *curtok;
  gboolean saw_xdigit = FALSE;
  unsigned val = 0;
  int ch;

  memset (tmp, 0, sizeof tmp);
  if (*src == ':' && *++src != ':')
    return FALSE;
  curtok = src;
  while ((ch = (unsigned char) *src++) != '\0')
    {
      if (g_ascii_isxdigit (ch))
        {
          val = (val << 4) | (unsigned) g_ascii_xdigit_value (ch);
          if (val > 0xffff)
            return FALSE;
          saw_xdigit = TRUE;
          continue;
        }
      if (ch == ':')
        {
          curtok = src;
          if (!saw_xdigit)
            {
              if (colonp)
                return FALSE;
              colonp = tp;
              continue;
            }
          else if (*src == '\0')
            return FALSE;
          if (tp + 2 > endp)
            return FALSE;
          *tp++ = (guint8) (val >> 8);
          *tp++ = (guint8) val;
          saw_xdigit = FALSE;
          val = 0;
          continue;
        }
      if (ch == '.' && tp + 4 <= endp)
        {
          int v4bytes;
          if (parse_v4 (curtok, tp, &v4bytes) && v4bytes > 0)
            {
              tp += 4;
              saw_xdigit = FALSE;
              break;
            }
        }
      return FALSE;
    }
  if (saw_xdigit)
    {
      if (tp + 2 > endp)
        return FALSE;
      *tp++ = (guint8) (val >> 8);
      *tp++ = (guint8) val;
    }
  if (colonp != NULL)
    {
      long n = tp - colonp;
      for (long i = 1; i <= n; i++)
        {
          endp[-i] = colonp[n - i];
          colonp[n - i] = 0;
        }
      tp = endp;
    }
  *bytes = 16 - (int) (endp - tp);
  memcpy (out, tmp, 16);
  return TRUE;
}

int
filter_parse_address (const char *text, guint64 *hi, guint64 *lo, int *bytes)
{
  *hi = *lo = 0;
  *bytes = 0;
  if (strchr (text, ':') != NULL)
    {
      guint8 b[16];
      if (!parse_v6 (text, b, bytes))
        return 0;
      for (int i = 0; i < 8; i++)
        {
          *hi = (*hi << 8) | b[i];
          *lo = (*lo << 8) | b[8 + i];
        }
      return 6;
    }
  for (const char *c = text; *c; c++)
    if (g_ascii_isalpha (*c))
      return -1;
  {
    guint8 b[4];
    if (!parse_v4 (text, b, bytes))
      return 0;
    *lo = ((guint64) b[0] << 24) | ((guint64) b[1] << 16) | ((guint64) b[2] << 8) | b[3];
    return 4;
  }
}

/* A complete address (ip, router ip, list entries). */
static gboolean
full_address (NfsubFilterParser *p, const NfsubFilterValue *v, guint64 *hi, guint64 *lo)
{
  int bytes;
  int af = filter_parse_address (v->text, hi, lo, &bytes);
  if (af < 0)
    {
      filter_set_error (p, NFSUB_FILTER_ERROR_UNSUPPORTED, v->pos,
                        "host names are not supported ('%s'): give an address",
                        v->text);
      return FALSE;
    }
  if (af == 0)
    {
      filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, v->pos,
                        "invalid IP address '%s'", v->text);
      return FALSE;
    }
  if ((af == 4 && bytes != 4) || (af == 6 && bytes != 16))
    {
      filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, v->pos,
                        "incomplete IP address '%s'", v->text);
      return FALSE;
    }
  return TRUE;
}

static FilterNode *
address_term (NfsubFilterParser *p, const NfsubFilterValue *dq,
              const NfsubFilterValue *kw, guint64 hi, guint64 lo,
              guint64 mask_hi, guint64 mask_lo)
{
  FilterTest t = { .op = FILTER_OP_ADDR, .a = hi & mask_hi, .b = lo & mask_lo,
                   .c = mask_hi, .d = mask_lo };
  return by_endpoint (p, dq, kw, &t);
}

FilterNode *
filter_term_ip (NfsubFilterParser *p, const NfsubFilterValue *dq,
                const NfsubFilterValue *kw, const NfsubFilterValue *addr)
{
  guint64 hi, lo;
  if (!full_address (p, addr, &hi, &lo))
    return NULL;
  return address_term (p, dq, kw, hi, lo, G_MAXUINT64, G_MAXUINT64);
}

static int
compare_pair (gconstpointer a, gconstpointer b)
{
  const guint64 *x = a, *y = b;
  if (x[0] != y[0])
    return x[0] < y[0] ? -1 : 1;
  if (x[1] != y[1])
    return x[1] < y[1] ? -1 : 1;
  return 0;
}

FilterNode *
filter_term_ip_list (NfsubFilterParser *p, const NfsubFilterValue *dq,
                     const NfsubFilterValue *kw, GArray *list)
{
  guint64 *pairs = g_new (guint64, 2 * list->len);
  guint n = 0;

  g_ptr_array_add (p->data, pairs);
  for (guint i = 0; i < list->len; i++)
    {
      const NfsubFilterValue *v = &g_array_index (list, NfsubFilterValue, i);
      if (!full_address (p, v, &pairs[2 * i], &pairs[2 * i + 1]))
        return NULL;
    }
  qsort (pairs, list->len, 2 * sizeof (guint64), compare_pair);
  for (guint i = 0; i < list->len; i++)
    if (n == 0 || compare_pair (&pairs[2 * (n - 1)], &pairs[2 * i]) != 0)
      {
        pairs[2 * n] = pairs[2 * i];
        pairs[2 * n + 1] = pairs[2 * i + 1];
        n++;
      }
  FilterTest t = { .op = FILTER_OP_ADDR_SET, .a = n, .data = pairs };
  return by_endpoint (p, dq, kw, &t);
}

FilterNode *
filter_term_net_prefix (NfsubFilterParser *p, const NfsubFilterValue *dq,
                        const NfsubFilterValue *kw, const NfsubFilterValue *addr,
                        const NfsubFilterValue *bits)
{
  guint64 hi, lo, mask_hi, mask_lo;
  int bytes;
  int af = filter_parse_address (addr->text, &hi, &lo, &bytes);

  if (af < 0)
    {
      filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, addr->pos,
                        "IP address required, not a host name ('%s')", addr->text);
      return NULL;
    }
  if (af == 0)
    {
      filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, addr->pos,
                        "invalid IP address '%s'", addr->text);
      return NULL;
    }
  if (bits->num > (guint64) bytes * 8)
    {
      filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, bits->pos,
                        "too many netbits (%s) for '%s'", bits->text, addr->text);
      return NULL;
    }
  if (af == 4)
    {
      mask_hi = G_MAXUINT64;
      mask_lo = G_MAXUINT64 << (32 - bits->num);
    }
  else if (bits->num > 64)
    {
      mask_hi = G_MAXUINT64;
      mask_lo = G_MAXUINT64 << (128 - bits->num);
    }
  else
    {
      /* nfdump shifts by 64 - bits; at /0 x86-64 masks the count to 0 */
      mask_hi = bits->num == 0 ? G_MAXUINT64 : G_MAXUINT64 << (64 - bits->num);
      mask_lo = 0;
    }
  return address_term (p, dq, kw, hi, lo, mask_hi, mask_lo);
}

FilterNode *
filter_term_net_mask (NfsubFilterParser *p, const NfsubFilterValue *dq,
                      const NfsubFilterValue *kw, const NfsubFilterValue *addr,
                      const NfsubFilterValue *mask)
{
  guint64 hi, lo, mhi, mlo;
  int bytes;
  int af = filter_parse_address (addr->text, &hi, &lo, &bytes);

  if (af <= 0)
    {
      filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, addr->pos,
                        "invalid IP address '%s'", addr->text);
      return NULL;
    }
  if (af != 4)
    {
      filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, addr->pos,
                        "the 'net ADDRESS MASK' form is valid only for IPv4");
      return NULL;
    }
  if (bytes != 4)
    {
      filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, addr->pos,
                        "need a complete IP address, not '%s'", addr->text);
      return NULL;
    }
  af = filter_parse_address (mask->text, &mhi, &mlo, &bytes);
  if (af != 4 || bytes != 4)
    {
      filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, mask->pos,
                        "invalid netmask '%s' for an IPv4 address", mask->text);
      return NULL;
    }
  /* nfdump compares only the low 32 bits here (mask high half is 0) */
  return address_term (p, dq, kw, hi, lo, 0, mlo);
}

FilterNode *
filter_term_router (NfsubFilterParser *p, const NfsubFilterValue *addr)
{
  guint64 hi, lo;
  int bytes;
  int af = filter_parse_address (addr->text, &hi, &lo, &bytes);
  FilterNode *n;

  if (af < 0)
    {
      filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, addr->pos,
                        "IP address required, not a host name ('%s')", addr->text);
      return NULL;
    }
  if (!full_address (p, addr, &hi, &lo))
    return NULL;
  n = leaf (p, FILTER_OP_ROUTER);
  n->test.a = hi;
  n->test.b = lo;
  return n;
}

FilterNode *
filter_term_port (NfsubFilterParser *p, const NfsubFilterValue *dq,
                  const NfsubFilterValue *kw, int cmp, const NfsubFilterValue *num)
{
  if (num->num > 65535)
    {
      filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, num->pos,
                        "port %s outside of range 0..65535", num->text);
      return NULL;
    }
  FilterTest t = { .op = FILTER_OP_PORT, .cmp = cmp, .a = num->num };
  return by_endpoint (p, dq, kw, &t);
}

FilterNode *
filter_term_port_list (NfsubFilterParser *p, const NfsubFilterValue *dq,
                       const NfsubFilterValue *kw, GArray *list)
{
  guint64 *bitmap = g_new0 (guint64, 65536 / 64);

  g_ptr_array_add (p->data, bitmap);
  for (guint i = 0; i < list->len; i++)
    {
      const NfsubFilterValue *v = &g_array_index (list, NfsubFilterValue, i);
      if (v->num > 65535)
        {
          filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, v->pos,
                            "port %s outside of range 0..65535", v->text);
          return NULL;
        }
      bitmap[v->num >> 6] |= G_GUINT64_CONSTANT (1) << (v->num & 63);
    }
  FilterTest t = { .op = FILTER_OP_PORT_SET, .data = bitmap };
  return by_endpoint (p, dq, kw, &t);
}

FilterNode *
filter_term_if (NfsubFilterParser *p, const NfsubFilterValue *dq,
                const NfsubFilterValue *kw, const NfsubFilterValue *num)
{
  FilterNode *n;

  if (num->num > G_MAXUINT32)
    {
      filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, num->pos,
                        "interface number %s outside of range 0..2^32-1", num->text);
      return NULL;
    }
  if (dq->dqual != FILTER_DQ_UNSPEC && dq->dqual != FILTER_DQ_IN
      && dq->dqual != FILTER_DQ_OUT)
    {
      dqual_error (p, dq, kw);
      return NULL;
    }
  n = leaf (p, FILTER_OP_IF);
  n->test.a = num->num;
  n->test.ends = dq->dqual == FILTER_DQ_IN    ? FILTER_ENDS_SRC
                 : dq->dqual == FILTER_DQ_OUT ? FILTER_ENDS_DST
                                              : FILTER_ENDS_EITHER;
  return n;
}

FilterNode *
filter_term_user (NfsubFilterParser *p, const NfsubFilterValue *dq,
                  const NfsubFilterValue *name)
{
  static const NfsubFilterValue user_kw = { .text = "user" };
  gsize len = strlen (name->text);
  char *key;

  if (len >= 2 && (name->text[0] == '\'' || name->text[0] == '"'))
    key = g_strndup (name->text + 1, len - 2);
  else
    key = g_strdup (name->text);
  g_ptr_array_add (p->data, key);
  FilterTest t = { .op = FILTER_OP_USER, .data = key };
  return by_endpoint (p, dq, &user_kw, &t);
}

FilterNode *
filter_term_tag (NfsubFilterParser *p, const NfsubFilterValue *dq,
                 const NfsubFilterValue *kw, const NfsubFilterValue *value)
{
  static const struct {
    const char *keyword, *value;
    FilterOp op;
    guint8 code;
  } tags[] = {
    { "access", "pppoe", FILTER_OP_ACCESS, NFSUB_ACCESS_PPPOE },
    { "access", "ipoe", FILTER_OP_ACCESS, NFSUB_ACCESS_IPOE },
    { "access", "mobile", FILTER_OP_ACCESS, NFSUB_ACCESS_MOBILE },
    { "service", "broadband", FILTER_OP_SERVICE, NFSUB_SERVICE_BROADBAND },
    { "service", "mobile", FILTER_OP_SERVICE, NFSUB_SERVICE_MOBILE },
    { "class", "personal", FILTER_OP_CLASS, NFSUB_CLASS_PERSONAL },
    { "class", "enterprise", FILTER_OP_CLASS, NFSUB_CLASS_ENTERPRISE },
  };
  GString *allowed = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (tags); i++)
    {
      if (g_ascii_strcasecmp (kw->text, tags[i].keyword) != 0)
        continue;
      if (g_ascii_strcasecmp (value->text, tags[i].value) == 0)
        {
          FilterTest t = { .op = tags[i].op, .a = tags[i].code };
          g_string_free (allowed, TRUE);
          return by_endpoint (p, dq, kw, &t);
        }
      g_string_append_printf (allowed, "%s%s", allowed->len ? "|" : "", tags[i].value);
    }
  filter_set_error (p, NFSUB_FILTER_ERROR_VALUE, value->pos,
                    "unknown %s '%s' (one of %s)", kw->text, value->text, allowed->str);
  g_string_free (allowed, TRUE);
  return NULL;
}

FilterNode *
filter_term_direction (NfsubFilterParser *p, const NfsubFilterValue *kw, gboolean out)
{
  FilterNode *n = leaf (p, FILTER_OP_DIRECTION);
  (void) kw;
  n->test.a = out ? NFSUB_DIR_OUT : NFSUB_DIR_IN;
  return n;
}

FilterNode *
filter_term_unattributed (NfsubFilterParser *p)
{
  return leaf (p, FILTER_OP_UNATTRIBUTED);
}

/* ------------------------------------------------------------------ */
/* compiling the tree to a program                                     */

typedef struct {
  FilterInsn *program;
  guint n;
} Emitter;

/* Returns the entry of `node` when its true outcome continues at
 * `on_true` and its false outcome at `on_false`.  `negated` counts the
 * "not"s above (mod 2) for nfdump's flags rule.  The left spine is walked
 * in a loop, so long "a or b or c ..." chains do not recurse deeply. */
static gint32
emit (Emitter *e, const FilterNode *node, gint32 on_true, gint32 on_false,
      gboolean negated)
{
  for (;;)
    {
      switch (node->kind)
        {
        case FILTER_NODE_LEAF:
          {
            FilterInsn *insn = &e->program[e->n];
            insn->test = node->test;
            if (insn->test.op == FILTER_OP_FLAGS_ALL && negated)
              insn->test.op = FILTER_OP_FLAGS_ANY;
            insn->on_true = on_true;
            insn->on_false = on_false;
            return (gint32) e->n++;
          }
        case FILTER_NODE_NOT:
          {
            gint32 t = on_true;
            on_true = on_false;
            on_false = t;
            negated = !negated;
            node = node->left;
            break;
          }
        case FILTER_NODE_AND:
          on_true = emit (e, node->right, on_true, on_false, negated);
          node = node->left;
          break;
        case FILTER_NODE_OR:
          on_false = emit (e, node->right, on_true, on_false, negated);
          node = node->left;
          break;
        }
    }
}

/* Building the batch form.  Runs of one operator ("a or b or c", also
 * across parentheses and after "not" is pushed down) become one node; the
 * runs are collected with an explicit stack so a long generated chain does
 * not recurse.  "not" reaches the leaves (De Morgan), where nfdump's flags
 * rule applies as in emit(). */
typedef struct {
  GArray *nodes; /* VecNode */
  GArray *kids;  /* guint32 */
  guint depth;
  GPtrArray *data; /* the filter's, for merged port maps */
} VecBuilder;

typedef struct {
  const FilterNode *node;
  gboolean negated;
} VecPending;

static VecKind
effective_kind (const FilterNode **node, gboolean *negated)
{
  while ((*node)->kind == FILTER_NODE_NOT)
    {
      *negated = !*negated;
      *node = (*node)->left;
    }
  if ((*node)->kind == FILTER_NODE_LEAF)
    return VEC_LEAF;
  if ((*node)->kind == FILTER_NODE_AND)
    return *negated ? VEC_OR : VEC_AND;
  return *negated ? VEC_AND : VEC_OR;
}

/* "proto tcp or proto udp" and "port 80 or port 443" (and the negated
 * forms joined by "and") become one set test each: one pass over the
 * flows instead of one per term.  Returns the number of children left. */
static guint
vec_merge_sets (VecBuilder *b, VecKind kind, guint32 *child, guint n)
{
  gboolean neg = kind == VEC_AND; /* not a and not b = not (a or b) */
  gint proto_set = -1, port_set[FILTER_ENDS_BOTH] = { -1, -1, -1, -1 };
  guint kept = 0;

  for (guint i = 0; i < n; i++)
    {
      VecNode *c = &g_array_index (b->nodes, VecNode, child[i]);
      gboolean merged = FALSE;

      if (c->kind == VEC_LEAF && c->neg == neg && c->test.op == FILTER_OP_PROTO)
        {
          guint64 bit = c->test.a;
          if (proto_set < 0)
            {
              proto_set = child[i];
              c->test.op = FILTER_OP_PROTO_SET;
              c->test.a = c->test.b = c->test.c = c->test.d = 0;
            }
          else
            merged = TRUE;
          VecNode *set = &g_array_index (b->nodes, VecNode, proto_set);
          guint64 *words[4] = { &set->test.a, &set->test.b, &set->test.c, &set->test.d };
          *words[bit >> 6] |= G_GUINT64_CONSTANT (1) << (bit & 63);
        }
      else if (c->kind == VEC_LEAF && c->neg == neg && c->test.op == FILTER_OP_PORT
               && c->test.cmp == FILTER_CMP_EQ && c->test.ends != FILTER_ENDS_BOTH)
        {
          /* both ends at once would mean "src in set and dst in set" */
          gint *slot = &port_set[c->test.ends - 1];
          guint64 port = c->test.a;
          if (*slot < 0)
            {
              guint64 *bitmap = g_new0 (guint64, 65536 / 64);
              g_ptr_array_add (b->data, bitmap);
              *slot = child[i];
              c->test.op = FILTER_OP_PORT_SET;
              c->test.data = bitmap;
            }
          else
            merged = TRUE;
          VecNode *set = &g_array_index (b->nodes, VecNode, *slot);
          guint64 *bitmap = (guint64 *) set->test.data;
          bitmap[port >> 6] |= G_GUINT64_CONSTANT (1) << (port & 63);
        }
      if (!merged)
        child[kept++] = child[i];
    }
  return kept;
}

static guint32
vec_build (VecBuilder *b, const FilterNode *node, gboolean negated, guint level)
{
  VecKind kind = effective_kind (&node, &negated);
  guint32 self = b->nodes->len;
  VecNode vn = { .kind = kind };

  g_array_append_val (b->nodes, vn);
  if (kind == VEC_LEAF)
    {
      VecNode *leaf = &g_array_index (b->nodes, VecNode, self);
      leaf->test = node->test;
      leaf->neg = negated;
      if (leaf->test.op == FILTER_OP_FLAGS_ALL && negated)
        leaf->test.op = FILTER_OP_FLAGS_ANY;
      return self;
    }

  b->depth = MAX (b->depth, level + 1);
  /* the operands of this run, in source order */
  g_autoptr (GArray) operands = g_array_new (FALSE, FALSE, sizeof (VecPending));
  g_autoptr (GArray) stack = g_array_new (FALSE, FALSE, sizeof (VecPending));
  VecPending top = { node, negated };
  g_array_append_val (stack, top);
  while (stack->len > 0)
    {
      VecPending cur = g_array_index (stack, VecPending, stack->len - 1);
      g_array_set_size (stack, stack->len - 1);
      if (effective_kind (&cur.node, &cur.negated) == kind)
        {
          VecPending right = { cur.node->right, cur.negated };
          VecPending left = { cur.node->left, cur.negated };
          g_array_append_val (stack, right);
          g_array_append_val (stack, left);
        }
      else
        g_array_append_val (operands, cur);
    }
  guint32 *child = g_new (guint32, operands->len);
  for (guint i = 0; i < operands->len; i++)
    {
      VecPending *op = &g_array_index (operands, VecPending, i);
      child[i] = vec_build (b, op->node, op->negated, level + 1);
    }
  guint n_child = vec_merge_sets (b, kind, child, operands->len);
  if (n_child == 1)
    {
      /* everything merged into one test: this node is that test */
      VecNode only = g_array_index (b->nodes, VecNode, child[0]);
      g_array_index (b->nodes, VecNode, self) = only;
      g_free (child);
      return self;
    }
  VecNode *me = &g_array_index (b->nodes, VecNode, self);
  me->first = b->kids->len;
  me->n_kids = n_child;
  g_array_append_vals (b->kids, child, n_child);
  g_free (child);
  return self;
}

static void
vec_build_program (NfsubFilter *filter, const FilterNode *root)
{
  VecBuilder b = { g_array_new (FALSE, FALSE, sizeof (VecNode)),
                   g_array_new (FALSE, FALSE, sizeof (guint32)), 0, filter->data };
  vec_build (&b, root, FALSE, 0);
  filter->vec_depth = b.depth;
  filter->vec = (VecNode *) g_array_free (b.nodes, FALSE);
  filter->kids = (guint32 *) g_array_free (b.kids, FALSE);
}

NfsubFilter *
nfsub_filter_compile (const char *expression, GError **error)
{
  NfsubFilterParser p = { 0 };
  NfsubFilter *filter;

  g_return_val_if_fail (expression != NULL, NULL);
  p.expression = expression;
  p.arena = g_ptr_array_new_with_free_func (g_free);
  p.lists = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  p.data = g_ptr_array_new_with_free_func (g_free);

  if (!nfsub_filter_parse_string (&p))
    {
      g_propagate_error (error, p.error);
      g_ptr_array_unref (p.arena);
      g_ptr_array_unref (p.lists);
      g_ptr_array_unref (p.data);
      return NULL;
    }

  filter = g_new0 (NfsubFilter, 1);
  filter->expression = g_strdup (expression);
  filter->data = p.data;
  if (p.root == NULL)
    filter->start = FILTER_TRUE;
  else
    {
      Emitter e = { g_new0 (FilterInsn, p.n_leaves), 0 };
      filter->start = emit (&e, p.root, FILTER_TRUE, FILTER_FALSE, FALSE);
      g_assert (e.n <= p.n_leaves);
      filter->program = e.program;
      filter->n_insns = e.n;
      vec_build_program (filter, p.root);
    }
  g_ptr_array_unref (p.arena);
  g_ptr_array_unref (p.lists);
  return filter;
}

/* ------------------------------------------------------------------ */
/* evaluation                                                          */

static inline gboolean
compare (guint8 cmp, guint64 x, guint64 v)
{
  switch (cmp)
    {
    case FILTER_CMP_GT: return x > v;
    case FILTER_CMP_LT: return x < v;
    case FILTER_CMP_GE: return x >= v;
    case FILTER_CMP_LE: return x <= v;
    default: return x == v;
    }
}

/* The address as nfdump's master record holds it: IPv4 as ::a.b.c.d. */
static inline guint64
view_lo (const NfsubFlow *f, const NfsubAddr *a)
{
  return f->family == 6 ? a->lo : (a->lo & G_GUINT64_CONSTANT (0xffffffff));
}

static inline gboolean
address_match (const FilterTest *in, const NfsubFlow *f, const NfsubAddr *a)
{
  guint64 hi = f->family == 6 ? a->hi : 0;
  return (hi & in->c) == in->a && (view_lo (f, a) & in->d) == in->b;
}

static inline gboolean
address_in_set (const FilterTest *in, const NfsubFlow *f, const NfsubAddr *a)
{
  const guint64 *pairs = in->data;
  guint64 hi = f->family == 6 ? a->hi : 0, lo = view_lo (f, a);
  guint lo_i = 0, hi_i = (guint) in->a;
  while (lo_i < hi_i)
    {
      guint mid = (lo_i + hi_i) / 2;
      const guint64 *e = pairs + 2 * mid;
      if (e[0] == hi && e[1] == lo)
        return TRUE;
      if (e[0] < hi || (e[0] == hi && e[1] < lo))
        lo_i = mid + 1;
      else
        hi_i = mid;
    }
  return FALSE;
}

static inline gboolean
proto_in_set (const FilterTest *in, guint8 proto)
{
  guint64 word = proto < 64 ? in->a : proto < 128 ? in->b : proto < 192 ? in->c : in->d;
  return (word >> (proto & 63)) & 1;
}

static inline gboolean
port_in_set (const FilterTest *in, guint16 port)
{
  const guint64 *bitmap = in->data;
  return (bitmap[port >> 6] >> (port & 63)) & 1;
}

static inline gboolean
router_match (const FilterTest *in, const NfsubFlow *f)
{
  /* the exporter's family is not in the flow: a v4-mapped value is an
   * IPv4 exporter */
  const NfsubAddr *x = &f->exporter;
  if (nfsub_addr_is_v4 (x))
    return in->a == 0 && in->b == nfsub_addr_v4 (x);
  return in->a == x->hi && in->b == x->lo;
}

static inline gboolean
user_is (const char *user, const char *key)
{
  return user != NULL && user[0] == key[0] && strcmp (user, key) == 0;
}

/* A two-ended test S (source) / D (destination) as in->ends asks. */
#define ENDS(S, D)                                                      \
  (in->ends == FILTER_ENDS_SRC ? (S)                                    \
   : in->ends == FILTER_ENDS_DST ? (D)                                  \
   : in->ends == FILTER_ENDS_EITHER ? ((S) || (D))                      \
   : ((S) && (D)))

static inline gboolean
run (const FilterInsn *program, gint32 pc, const NfsubFlow *f)
{
  while (pc >= 0)
    {
      const FilterTest *in = &program[pc].test;
      gboolean r;

      switch ((FilterOp) in->op)
        {
        case FILTER_OP_TRUE: r = TRUE; break;
        case FILTER_OP_FAMILY6: r = f->family == 6; break;
        case FILTER_OP_PROTO: r = f->proto == in->a; break;
        case FILTER_OP_PROTO_SET: r = proto_in_set (in, f->proto); break;
        case FILTER_OP_PORT:
          r = ENDS (compare (in->cmp, f->src_port, in->a),
                    compare (in->cmp, f->dst_port, in->a));
          break;
        case FILTER_OP_PORT_SET:
          r = ENDS (port_in_set (in, f->src_port), port_in_set (in, f->dst_port));
          break;
        case FILTER_OP_ADDR:
          r = ENDS (address_match (in, f, &f->src), address_match (in, f, &f->dst));
          break;
        case FILTER_OP_ADDR_SET:
          r = ENDS (address_in_set (in, f, &f->src), address_in_set (in, f, &f->dst));
          break;
        case FILTER_OP_ROUTER: r = router_match (in, f); break;
        case FILTER_OP_IF: r = ENDS (f->input_if == in->a, f->output_if == in->a); break;
        case FILTER_OP_IN_BYTES: r = compare (in->cmp, f->in_bytes, in->a); break;
        case FILTER_OP_OUT_BYTES: r = compare (in->cmp, f->out_bytes, in->a); break;
        case FILTER_OP_IN_PACKETS: r = compare (in->cmp, f->in_packets, in->a); break;
        case FILTER_OP_OUT_PACKETS: r = compare (in->cmp, f->out_packets, in->a); break;
        case FILTER_OP_FLAGS_ALL: r = (f->tcp_flags & in->a) == in->a; break;
        case FILTER_OP_FLAGS_ANY: r = (f->tcp_flags & in->a) != 0; break;
        case FILTER_OP_FLAGS_CMP: r = compare (in->cmp, f->tcp_flags, in->a); break;
        case FILTER_OP_USER:
          r = ENDS (user_is (f->src_tag.user, in->data), user_is (f->dst_tag.user, in->data));
          break;
        case FILTER_OP_ACCESS:
          r = ENDS (f->src_tag.access == in->a, f->dst_tag.access == in->a);
          break;
        case FILTER_OP_SERVICE:
          r = ENDS (f->src_tag.service == in->a, f->dst_tag.service == in->a);
          break;
        case FILTER_OP_CLASS:
          r = ENDS (f->src_tag.user_class == in->a, f->dst_tag.user_class == in->a);
          break;
        case FILTER_OP_DIRECTION: r = (f->direction & in->a) != 0; break;
        case FILTER_OP_UNATTRIBUTED: r = f->direction == 0; break;
        default: r = FALSE; break;
        }
      pc = r ? program[pc].on_true : program[pc].on_false;
    }
  return pc == FILTER_TRUE;
}

gboolean
nfsub_filter_match (const NfsubFilter *filter, const NfsubFlow *flow)
{
  g_return_val_if_fail (filter != NULL && flow != NULL, FALSE);
  return run (filter->program, filter->start, flow);
}

/* One test over a selection: writes to out the indexes in in[0..n) whose
 * test result differs from `flip`, i.e. passes when flip is 0, fails when
 * it is 1.  out may be in.  Every loop is branch-free in the flow data. */
#define VEC_LOOP(cond)                                          \
  do                                                            \
    {                                                           \
      for (guint j = 0; j < n; j++)                             \
        {                                                       \
          guint32 i = in[j];                                    \
          const NfsubFlow *f = &flows[i];                       \
          (void) f;                                             \
          out[k] = i;                                           \
          k += (guint) ((cond) != 0) ^ flip;                    \
        }                                                       \
    }                                                           \
  while (0)

/* both ends are evaluated (| and &, not || and &&): no branches */
#define VEC_ENDS(S, D)                                                  \
  do                                                                    \
    {                                                                   \
      switch (t->ends)                                                  \
        {                                                               \
        case FILTER_ENDS_SRC: VEC_LOOP (S); break;                      \
        case FILTER_ENDS_DST: VEC_LOOP (D); break;                      \
        case FILTER_ENDS_EITHER: VEC_LOOP ((S) | (D)); break;           \
        default: VEC_LOOP ((S) & (D)); break;                           \
        }                                                               \
    }                                                                   \
  while (0)

#define VEC_COMPARE(field)                                              \
  do                                                                    \
    {                                                                   \
      switch (t->cmp)                                                   \
        {                                                               \
        case FILTER_CMP_GT: VEC_LOOP (f->field > t->a); break;          \
        case FILTER_CMP_LT: VEC_LOOP (f->field < t->a); break;          \
        case FILTER_CMP_GE: VEC_LOOP (f->field >= t->a); break;         \
        case FILTER_CMP_LE: VEC_LOOP (f->field <= t->a); break;         \
        default: VEC_LOOP (f->field == t->a); break;                    \
        }                                                               \
    }                                                                   \
  while (0)

#define VEC_COMPARE_ENDS(src, dst)                                              \
  do                                                                            \
    {                                                                           \
      switch (t->cmp)                                                           \
        {                                                                       \
        case FILTER_CMP_GT: VEC_ENDS (f->src > t->a, f->dst > t->a); break;     \
        case FILTER_CMP_LT: VEC_ENDS (f->src < t->a, f->dst < t->a); break;     \
        case FILTER_CMP_GE: VEC_ENDS (f->src >= t->a, f->dst >= t->a); break;   \
        case FILTER_CMP_LE: VEC_ENDS (f->src <= t->a, f->dst <= t->a); break;   \
        default: VEC_ENDS (f->src == t->a, f->dst == t->a); break;              \
        }                                                                       \
    }                                                                           \
  while (0)

/* One test over a selection: writes to out the indexes in in[0..n) whose
 * test result differs from `flip`, i.e. the passing ones when flip is 0,
 * the failing ones when it is 1.  out may be in.  The loops are free of
 * branches on the flow data. */
static guint
vec_test (const FilterTest *t, guint flip, const NfsubFlow *flows,
          const guint32 *in, guint n, guint32 *out)
{
  guint k = 0;

  switch ((FilterOp) t->op)
    {
    case FILTER_OP_TRUE: VEC_LOOP (1); break;
    case FILTER_OP_FAMILY6: VEC_LOOP (f->family == 6); break;
    case FILTER_OP_PROTO: VEC_LOOP (f->proto == t->a); break;
    case FILTER_OP_PROTO_SET: VEC_LOOP (proto_in_set (t, f->proto)); break;
    case FILTER_OP_PORT: VEC_COMPARE_ENDS (src_port, dst_port); break;
    case FILTER_OP_PORT_SET:
      VEC_ENDS (port_in_set (t, f->src_port), port_in_set (t, f->dst_port));
      break;
    case FILTER_OP_ADDR:
      VEC_ENDS (address_match (t, f, &f->src), address_match (t, f, &f->dst));
      break;
    case FILTER_OP_ADDR_SET:
      VEC_ENDS (address_in_set (t, f, &f->src), address_in_set (t, f, &f->dst));
      break;
    case FILTER_OP_ROUTER: VEC_LOOP (router_match (t, f)); break;
    case FILTER_OP_IF: VEC_ENDS (f->input_if == t->a, f->output_if == t->a); break;
    case FILTER_OP_IN_BYTES: VEC_COMPARE (in_bytes); break;
    case FILTER_OP_OUT_BYTES: VEC_COMPARE (out_bytes); break;
    case FILTER_OP_IN_PACKETS: VEC_COMPARE (in_packets); break;
    case FILTER_OP_OUT_PACKETS: VEC_COMPARE (out_packets); break;
    case FILTER_OP_FLAGS_ALL: VEC_LOOP ((f->tcp_flags & t->a) == t->a); break;
    case FILTER_OP_FLAGS_ANY: VEC_LOOP ((f->tcp_flags & t->a) != 0); break;
    case FILTER_OP_FLAGS_CMP: VEC_COMPARE (tcp_flags); break;
    case FILTER_OP_USER:
      VEC_ENDS (user_is (f->src_tag.user, t->data), user_is (f->dst_tag.user, t->data));
      break;
    case FILTER_OP_ACCESS:
      VEC_ENDS (f->src_tag.access == t->a, f->dst_tag.access == t->a);
      break;
    case FILTER_OP_SERVICE:
      VEC_ENDS (f->src_tag.service == t->a, f->dst_tag.service == t->a);
      break;
    case FILTER_OP_CLASS:
      VEC_ENDS (f->src_tag.user_class == t->a, f->dst_tag.user_class == t->a);
      break;
    case FILTER_OP_DIRECTION: VEC_LOOP ((f->direction & t->a) != 0); break;
    case FILTER_OP_UNATTRIBUTED: VEC_LOOP (f->direction == 0); break;
    default: VEC_LOOP (0); break;
    }
  return k;
}

/* out = in minus sub, both sorted, sub a subset of in.  out may be in. */
static guint
vec_minus (const guint32 *in, guint n, const guint32 *sub, guint n_sub, guint32 *out)
{
  guint k = 0, s = 0;
  for (guint j = 0; j < n; j++)
    {
      guint32 i = in[j];
      gboolean drop = s < n_sub && sub[s] == i;
      out[k] = i;
      k += !drop;
      s += drop;
    }
  return k;
}

/* Writes to out the indexes in in[0..n) where node `v` is `want`.  An
 * "and" narrows its selection term by term looking for true, an "or"
 * narrows looking for false; the other answer is what is left over.
 * scratch holds 3 * stride indexes per level below this one. */
static guint
vec_eval (const NfsubFilter *filter, guint32 v, gboolean want,
          const NfsubFlow *flows, const guint32 *in, guint n, guint32 *out,
          guint32 *scratch, guint stride)
{
  const VecNode *node = &filter->vec[v];
  gboolean natural = node->kind == VEC_AND;
  guint32 *a = scratch, *b = scratch + stride, *rest = scratch + 2 * stride;
  guint32 *dst = want == natural ? out : rest;
  const guint32 *cur = in;
  guint m = n;

  if (node->kind == VEC_LEAF)
    return vec_test (&node->test, node->neg ^ !want, flows, in, n, out);

  for (guint c = 0; c < node->n_kids && m > 0; c++)
    {
      guint32 *target = c + 1 == node->n_kids ? dst : (cur == a ? b : a);
      m = vec_eval (filter, filter->kids[node->first + c], natural, flows, cur, m,
                    target, scratch + 3 * stride, stride);
      cur = target;
    }
  if (m == 0)
    {
      /* narrowed to nothing before the last term */
      if (want == natural)
        return 0;
      if (out != in)
        memmove (out, in, n * sizeof *out);
      return n;
    }
  if (want == natural)
    return m;
  return vec_minus (in, n, rest, m, out);
}

#define SELECT_CHUNK 512
#define VEC_MAX_DEPTH 32

guint
nfsub_filter_select (const NfsubFilter *filter, const NfsubFlow *flows,
                     guint n, const guint32 *in, guint n_in, guint32 *out)
{
  g_autofree guint32 *scratch = NULL;
  guint k = 0;

  g_return_val_if_fail (filter != NULL && out != NULL, 0);

  if (in == NULL)
    {
      if (filter->start == FILTER_TRUE)
        {
          for (guint i = 0; i < n; i++)
            out[i] = i;
          return n;
        }
      for (guint i = 0; i < n; i++)
        out[i] = i;
      in = out;
      n_in = n;
    }
  else
    {
      /* indexes outside the batch are dropped, and the selection must be
       * ascending for vec_minus: copy what qualifies */
      gboolean sorted = TRUE;
      for (guint j = 0; j < n_in; j++)
        {
          if (in[j] >= n)
            continue;
          if (k > 0 && in[j] <= out[k - 1])
            sorted = FALSE;
          out[k++] = in[j];
        }
      if (!sorted)
        {
          /* arbitrary order: evaluate flow by flow, keeping that order */
          guint m = 0;
          for (guint j = 0; j < k; j++)
            if (run (filter->program, filter->start, &flows[out[j]]))
              out[m++] = out[j];
          return m;
        }
      in = out;
      n_in = k;
      if (filter->start == FILTER_TRUE)
        return n_in;
    }
  if (n_in == 0)
    return 0;
  if (filter->vec_depth > VEC_MAX_DEPTH)
    {
      /* absurdly nested: the scratch space would not pay off */
      guint m = 0;
      for (guint j = 0; j < n_in; j++)
        if (run (filter->program, filter->start, &flows[in[j]]))
          out[m++] = in[j];
      return m;
    }
  /* a chunk at a time, so that the flows one test touched are still in
   * the cache for the next test */
  guint stride = MIN (n_in, SELECT_CHUNK);
  scratch = g_new (guint32, (gsize) 3 * stride * filter->vec_depth + 1);
  k = 0;
  for (guint c = 0; c < n_in; c += stride)
    {
      guint m = MIN (stride, n_in - c);
      /* out + k <= in + c: vec_eval may write over what it has read */
      k += vec_eval (filter, 0, TRUE, flows, in + c, m, out + k, scratch, stride);
    }
  return k;
}

const char *
nfsub_filter_expression (const NfsubFilter *filter)
{
  g_return_val_if_fail (filter != NULL, NULL);
  return filter->expression;
}

void
nfsub_filter_free (NfsubFilter *filter)
{
  if (filter == NULL)
    return;
  g_free (filter->expression);
  g_free (filter->program);
  g_free (filter->vec);
  g_free (filter->kids);
  g_ptr_array_unref (filter->data);
  g_free (filter);
}
