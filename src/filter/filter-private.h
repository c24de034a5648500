/* nfsub filter internals: the parse tree the grammar builds and the flat
 * program the evaluator runs.  Not installed. */
#ifndef NFSUB_FILTER_PRIVATE_H
#define NFSUB_FILTER_PRIVATE_H

#include <glib.h>
#include <nfsub/filter.h>

G_BEGIN_DECLS

/* Comparison operators, as nfdump's `comp` rule spells them. */
typedef enum {
  FILTER_CMP_EQ = 0,
  FILTER_CMP_GT,
  FILTER_CMP_LT,
  FILTER_CMP_GE,
  FILTER_CMP_LE,
} FilterCmp;

/* Direction qualifiers (nfdump's `dqual`). */
typedef enum {
  FILTER_DQ_UNSPEC = 0,
  FILTER_DQ_SRC,
  FILTER_DQ_DST,
  FILTER_DQ_SRC_OR_DST,
  FILTER_DQ_SRC_AND_DST,
  FILTER_DQ_IN,
  FILTER_DQ_OUT,
} FilterDqual;

/* Which end(s) of the flow a test looks at: nfdump's "src", "dst", no
 * qualifier / "src or dst" (either), "src and dst" (both).  For
 * interfaces the source end is the input, the destination the output. */
typedef enum {
  FILTER_ENDS_SRC = 1,
  FILTER_ENDS_DST,
  FILTER_ENDS_EITHER,
  FILTER_ENDS_BOTH,
} FilterEnds;

/* Leaf tests.  Each reads one or two fields of the flow; "not" never
 * appears in a program because it is folded into jumps or leaves. */
typedef enum {
  FILTER_OP_TRUE = 0,
  FILTER_OP_FAMILY6,         /* flow->family == 6 */
  FILTER_OP_PROTO,           /* proto == a */
  FILTER_OP_PORT,            /* port <cmp> a */
  FILTER_OP_PORT_SET,        /* bit `port` of the 65536-bit map data */
  FILTER_OP_ADDR,            /* (view(addr) & mask{c,d}) == {a,b} */
  FILTER_OP_ADDR_SET,        /* view(addr) in the sorted pairs data[0..a) */
  FILTER_OP_ROUTER,          /* view(exporter) == {a,b} */
  FILTER_OP_IF,              /* input_if / output_if == a */
  FILTER_OP_IN_BYTES,        /* in_bytes <cmp> a */
  FILTER_OP_OUT_BYTES,
  FILTER_OP_IN_PACKETS,
  FILTER_OP_OUT_PACKETS,
  FILTER_OP_FLAGS_ALL,       /* proto must be checked separately */
  FILTER_OP_FLAGS_ANY,       /* nfdump's inverted CMP_FLAGS */
  FILTER_OP_FLAGS_CMP,       /* tcp_flags <cmp> a */
  FILTER_OP_USER,            /* strcmp (tag.user, data) == 0 */
  FILTER_OP_ACCESS,          /* tag.access == a */
  FILTER_OP_SERVICE,
  FILTER_OP_CLASS,
  FILTER_OP_DIRECTION,       /* (direction & a) != 0 */
  FILTER_OP_UNATTRIBUTED,    /* direction == 0 */
  FILTER_OP_PROTO_SET,       /* bit proto of the 256-bit map {a,b,c,d} */
} FilterOp;

typedef struct {
  guint8 op;    /* FilterOp */
  guint8 cmp;   /* FilterCmp */
  guint8 ends;  /* FilterEnds, for the ops that have two ends */
  guint64 a, b, c, d;
  gconstpointer data; /* owned by the filter's data array */
} FilterTest;

typedef enum {
  FILTER_NODE_LEAF,
  FILTER_NODE_AND,
  FILTER_NODE_OR,
  FILTER_NODE_NOT,
} FilterNodeKind;

typedef struct FilterNode FilterNode;
struct FilterNode {
  FilterNodeKind kind;
  FilterNode *left, *right; /* NOT uses left */
  FilterTest test;
};

/* One bison semantic value: every token keeps its text and position so
 * any error can name them. */
typedef struct {
  int pos;            /* 1-based character position in the expression */
  const char *text;   /* as written; owned by the parser's arena */
  guint64 num;        /* NUMBER, as nfdump's scanner computes it */
  int dqual;          /* FilterDqual */
  int cmp;            /* FilterCmp */
  FilterNode *node;
  GArray *list;       /* ullist (guint64) or iplist (char *) */
} NfsubFilterValue;

typedef struct {
  const char *expression;
  gsize offset;          /* scanner position, 0-based */
  GPtrArray *arena;      /* everything parse-time; freed at the end */
  GPtrArray *lists;      /* GArrays of NfsubFilterValue for [...] lists */
  GPtrArray *data;       /* what the compiled program keeps */
  guint n_leaves;
  FilterNode *root;      /* NULL: empty expression, matches everything */
  GError *error;
  int scan_pos;          /* start of the token being scanned, 1-based */
  /* the most recent token, for syntax errors */
  int tok_kind;
  int tok_pos;
  const char *tok_text;
} NfsubFilterParser;

/* scanner.l */
gboolean nfsub_filter_parse_string (NfsubFilterParser *p);

/* filter.c: helpers the grammar's actions call.  Each term builder returns
 * NULL with p->error set when the term is invalid. */
gpointer filter_arena_alloc (NfsubFilterParser *p, gsize size);
GArray *filter_list_new (NfsubFilterParser *p);
char *filter_arena_strdup (NfsubFilterParser *p, const char *text, gsize len);
void filter_set_error (NfsubFilterParser *p, int code, int pos,
                       const char *format, ...) G_GNUC_PRINTF (4, 5);
void filter_syntax_error (NfsubFilterParser *p);
void filter_unsupported_keyword (NfsubFilterParser *p, int pos, const char *word);

FilterNode *filter_node_and (NfsubFilterParser *p, FilterNode *a, FilterNode *b);
FilterNode *filter_node_or (NfsubFilterParser *p, FilterNode *a, FilterNode *b);
FilterNode *filter_node_not (NfsubFilterParser *p, FilterNode *a);

FilterNode *filter_term_any (NfsubFilterParser *p);
FilterNode *filter_term_family (NfsubFilterParser *p, int family);
FilterNode *filter_term_proto_number (NfsubFilterParser *p, const NfsubFilterValue *v);
FilterNode *filter_term_proto_name (NfsubFilterParser *p, const NfsubFilterValue *v);
FilterNode *filter_term_counter (NfsubFilterParser *p, const NfsubFilterValue *dq,
                                 gboolean bytes, const NfsubFilterValue *kw,
                                 int cmp, const NfsubFilterValue *num);
FilterNode *filter_term_flags_number (NfsubFilterParser *p, int cmp,
                                      const NfsubFilterValue *num);
FilterNode *filter_term_flags_string (NfsubFilterParser *p, const NfsubFilterValue *v);
FilterNode *filter_term_ip (NfsubFilterParser *p, const NfsubFilterValue *dq,
                            const NfsubFilterValue *kw, const NfsubFilterValue *addr);
FilterNode *filter_term_ip_list (NfsubFilterParser *p, const NfsubFilterValue *dq,
                                 const NfsubFilterValue *kw, GArray *list);
FilterNode *filter_term_net_prefix (NfsubFilterParser *p, const NfsubFilterValue *dq,
                                    const NfsubFilterValue *kw,
                                    const NfsubFilterValue *addr,
                                    const NfsubFilterValue *bits);
FilterNode *filter_term_net_mask (NfsubFilterParser *p, const NfsubFilterValue *dq,
                                  const NfsubFilterValue *kw,
                                  const NfsubFilterValue *addr,
                                  const NfsubFilterValue *mask);
FilterNode *filter_term_router (NfsubFilterParser *p, const NfsubFilterValue *addr);
FilterNode *filter_term_port (NfsubFilterParser *p, const NfsubFilterValue *dq,
                              const NfsubFilterValue *kw, int cmp,
                              const NfsubFilterValue *num);
FilterNode *filter_term_port_list (NfsubFilterParser *p, const NfsubFilterValue *dq,
                                   const NfsubFilterValue *kw, GArray *list);
FilterNode *filter_term_if (NfsubFilterParser *p, const NfsubFilterValue *dq,
                            const NfsubFilterValue *kw, const NfsubFilterValue *num);
FilterNode *filter_term_user (NfsubFilterParser *p, const NfsubFilterValue *dq,
                              const NfsubFilterValue *name);
FilterNode *filter_term_tag (NfsubFilterParser *p, const NfsubFilterValue *dq,
                             const NfsubFilterValue *kw, const NfsubFilterValue *value);
FilterNode *filter_term_direction (NfsubFilterParser *p, const NfsubFilterValue *kw,
                                   gboolean out);
FilterNode *filter_term_unattributed (NfsubFilterParser *p);

/* Addresses as nfdump's parse_ip reads them.  Returns 4 or 6, 0 for a
 * malformed address, -1 for a name (nfdump would resolve it).  *bytes is
 * how many bytes were written (partial IPv4 "10.1" gives 2). */
int filter_parse_address (const char *text, guint64 *hi, guint64 *lo, int *bytes);

G_END_DECLS

#endif /* NFSUB_FILTER_PRIVATE_H */
