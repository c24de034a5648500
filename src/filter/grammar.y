/* nfsub filter grammar.
 *
 * The productions and precedences are nfdump 1.7.1's (grammar.y) for the
 * subset nfsub evaluates, so an expression parses the same way: "and" binds
 * tighter than "or", "not" tighter than both, an empty comparison means
 * "=", a direction qualifier may be "src or dst" / "src and dst".  The
 * actions build a small parse tree (filter.c compiles it to a program). */

%code requires {
#include "filter-private.h"
}

%code {
#include "config.h"
#include <string.h>
int nfsub_filter_yylex (NFSUB_FILTER_YYSTYPE *yylval, void *scanner);
static void nfsub_filter_yyerror (void *scanner, NfsubFilterParser *p, const char *msg);
#define CHECK(node) do { if ((node) == NULL) YYABORT; } while (0)
}

%define api.pure full
%define api.prefix {nfsub_filter_yy}
%define api.token.prefix {NFSUB_FILTER_TOK_}
%define api.value.type {NfsubFilterValue}
%lex-param {void *scanner}
%parse-param {void *scanner} {NfsubFilterParser *p}

%token ANY IP IF IN OUT FLAGS PROTO NET PORT PACKETS BYTES INET INET6 SRC DST ROUTER
%token USER ACCESS SERVICE CLASS DIRECTION UNATTRIBUTED
%token UNSUPPORTED
%token AND OR NOT EQ GT LT GE LE
%token NUMBER STRING WORD
%token BADCHAR

%left OR
%left AND
%precedence NEGATE

%%

prog:
    %empty                      { p->root = NULL; }
  | expr                        { p->root = $1.node; }
  ;

expr:
    term                        { $$ = $1; }
  | expr OR expr                { $$.node = filter_node_or (p, $1.node, $3.node); }
  | expr AND expr               { $$.node = filter_node_and (p, $1.node, $3.node); }
  | NOT expr %prec NEGATE       { $$.node = filter_node_not (p, $2.node); }
  | '(' expr ')'                { $$ = $2; }
  ;

term:
    ANY                         { CHECK ($$.node = filter_term_any (p)); }
  | INET                        { CHECK ($$.node = filter_term_family (p, 4)); }
  | INET6                       { CHECK ($$.node = filter_term_family (p, 6)); }
  | PROTO NUMBER                { CHECK ($$.node = filter_term_proto_number (p, &$2)); }
  | PROTO STRING                { CHECK ($$.node = filter_term_proto_name (p, &$2)); }
  | dqual PACKETS comp NUMBER   { CHECK ($$.node = filter_term_counter (p, &$1, FALSE, &$2, $3.cmp, &$4)); }
  | dqual BYTES comp NUMBER     { CHECK ($$.node = filter_term_counter (p, &$1, TRUE, &$2, $3.cmp, &$4)); }
  | FLAGS comp NUMBER           { CHECK ($$.node = filter_term_flags_number (p, $2.cmp, &$3)); }
  | FLAGS STRING                { CHECK ($$.node = filter_term_flags_string (p, &$2)); }
  | FLAGS UNSUPPORTED           { CHECK ($$.node = filter_term_flags_string (p, &$2)); }
  | dqual IP STRING             { CHECK ($$.node = filter_term_ip (p, &$1, &$2, &$3)); }
  | dqual IP IN '[' iplist ']'  { CHECK ($$.node = filter_term_ip_list (p, &$1, &$2, $5.list)); }
  | ROUTER IP STRING            { CHECK ($$.node = filter_term_router (p, &$3)); }
  | dqual PORT comp NUMBER      { CHECK ($$.node = filter_term_port (p, &$1, &$2, $3.cmp, &$4)); }
  | dqual PORT IN '[' ullist ']' { CHECK ($$.node = filter_term_port_list (p, &$1, &$2, $5.list)); }
  | dqual NET STRING STRING     { CHECK ($$.node = filter_term_net_mask (p, &$1, &$2, &$3, &$4)); }
  | dqual NET STRING '/' NUMBER { CHECK ($$.node = filter_term_net_prefix (p, &$1, &$2, &$3, &$5)); }
  | dqual IF NUMBER             { CHECK ($$.node = filter_term_if (p, &$1, &$2, &$3)); }
  | dqual USER name             { CHECK ($$.node = filter_term_user (p, &$1, &$3)); }
  | dqual ACCESS STRING         { CHECK ($$.node = filter_term_tag (p, &$1, &$2, &$3)); }
  | dqual SERVICE STRING        { CHECK ($$.node = filter_term_tag (p, &$1, &$2, &$3)); }
  | dqual CLASS STRING          { CHECK ($$.node = filter_term_tag (p, &$1, &$2, &$3)); }
  | DIRECTION IN                { CHECK ($$.node = filter_term_direction (p, &$1, FALSE)); }
  | DIRECTION OUT               { CHECK ($$.node = filter_term_direction (p, &$1, TRUE)); }
  | UNATTRIBUTED                { CHECK ($$.node = filter_term_unattributed (p)); }
  ;

/* a user key: a bare word, a number, or quoted text */
name:
    STRING                      { $$ = $1; }
  | NUMBER                      { $$ = $1; }
  | WORD                        { $$ = $1; }
  | UNSUPPORTED                 { $$ = $1; }
  ;

iplist:
    STRING                      { $$ = $1; $$.list = filter_list_new (p); g_array_append_val ($$.list, $1); }
  | STRING '/' NUMBER           { filter_set_error (p, NFSUB_FILTER_ERROR_UNSUPPORTED, $2.pos,
                                    "prefixes inside 'ip in [...]' are not supported (nfdump's list "
                                    "lookup is order-dependent for them): use 'net A/N or net B/M'");
                                  YYABORT; }
  | iplist STRING               { $$ = $1; g_array_append_val ($$.list, $2); }
  | iplist ',' STRING           { $$ = $1; g_array_append_val ($$.list, $3); }
  | iplist STRING '/' NUMBER    { filter_set_error (p, NFSUB_FILTER_ERROR_UNSUPPORTED, $3.pos,
                                    "prefixes inside 'ip in [...]' are not supported (nfdump's list "
                                    "lookup is order-dependent for them): use 'net A/N or net B/M'");
                                  YYABORT; }
  ;

ullist:
    NUMBER                      { $$ = $1; $$.list = filter_list_new (p); g_array_append_val ($$.list, $1); }
  | ullist NUMBER               { $$ = $1; g_array_append_val ($$.list, $2); }
  | ullist ',' NUMBER           { $$ = $1; g_array_append_val ($$.list, $3); }
  ;

comp:
    %empty                      { $$.cmp = FILTER_CMP_EQ; }
  | EQ                          { $$.cmp = FILTER_CMP_EQ; }
  | LT                          { $$.cmp = FILTER_CMP_LT; }
  | GT                          { $$.cmp = FILTER_CMP_GT; }
  | LE                          { $$.cmp = FILTER_CMP_LE; }
  | GE                          { $$.cmp = FILTER_CMP_GE; }
  ;

dqual:
    %empty                      { memset (&$$, 0, sizeof $$); $$.dqual = FILTER_DQ_UNSPEC; $$.pos = 0; }
  | SRC                         { $$ = $1; $$.dqual = FILTER_DQ_SRC; }
  | DST                         { $$ = $1; $$.dqual = FILTER_DQ_DST; }
  | SRC OR DST                  { $$ = $1; $$.dqual = FILTER_DQ_SRC_OR_DST; }
  | DST OR SRC                  { $$ = $1; $$.dqual = FILTER_DQ_SRC_OR_DST; }
  | SRC AND DST                 { $$ = $1; $$.dqual = FILTER_DQ_SRC_AND_DST; }
  | DST AND SRC                 { $$ = $1; $$.dqual = FILTER_DQ_SRC_AND_DST; }
  | IN                          { $$ = $1; $$.dqual = FILTER_DQ_IN; }
  | OUT                         { $$ = $1; $$.dqual = FILTER_DQ_OUT; }
  ;

%%

static void
nfsub_filter_yyerror (void *scanner, NfsubFilterParser *p, const char *msg)
{
  (void) scanner;
  if (p->error == NULL && strstr (msg, "exhausted") != NULL)
    filter_set_error (p, NFSUB_FILTER_ERROR_SYNTAX, p->tok_pos,
                      "expression nested too deeply");
  else if (p->error == NULL)
    filter_syntax_error (p);
}
