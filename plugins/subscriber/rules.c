/* subscriber: classification rules and small parsers. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "subscriber.h"

typedef enum {
  TERM_SOURCE,
  TERM_REALM,
  TERM_NAS,
  TERM_NAS_ID,
  TERM_POOL,
  TERM_EXPORTER,
  TERM_IF,
  N_TERMS
} TermKind;

static const char *const term_names[N_TERMS] = {
  "source", "realm", "nas", "nas-id", "pool", "exporter", "if",
};

typedef struct {
  TermKind kind;
  SourceKind source;
  char *text;         /* realm, nas-id */
  LeasePrefix prefix; /* nas, pool, exporter */
  guint32 ifindex;
} Term;

typedef struct {
  char *name;
  GArray *terms;     /* Term */
  guint term_mask;   /* kinds present */
  RuleResult result; /* user_attribute owned */
} Rule;

struct RuleSet {
  GPtrArray *rules;      /* binding rules, config order */
  GPtrArray *flow_rules; /* exporter/if rules */
};

/* ---- names ---- */

gboolean
parse_service (const char *s, guint8 *out)
{
  if (g_ascii_strcasecmp (s, "broadband") == 0)
    *out = NFSUB_SERVICE_BROADBAND;
  else if (g_ascii_strcasecmp (s, "mobile") == 0)
    *out = NFSUB_SERVICE_MOBILE;
  else
    return FALSE;
  return TRUE;
}

gboolean
parse_class (const char *s, guint8 *out)
{
  if (g_ascii_strcasecmp (s, "personal") == 0)
    *out = NFSUB_CLASS_PERSONAL;
  else if (g_ascii_strcasecmp (s, "enterprise") == 0)
    *out = NFSUB_CLASS_ENTERPRISE;
  else
    return FALSE;
  return TRUE;
}

gboolean
parse_access (const char *s, guint8 *out)
{
  if (g_ascii_strcasecmp (s, "pppoe") == 0)
    *out = NFSUB_ACCESS_PPPOE;
  else if (g_ascii_strcasecmp (s, "ipoe") == 0)
    *out = NFSUB_ACCESS_IPOE;
  else if (g_ascii_strcasecmp (s, "mobile") == 0)
    *out = NFSUB_ACCESS_MOBILE;
  else
    return FALSE;
  return TRUE;
}

const char *
service_name (guint8 v)
{
  switch (v)
    {
    case NFSUB_SERVICE_BROADBAND: return "broadband";
    case NFSUB_SERVICE_MOBILE: return "mobile";
    default: return "unknown";
    }
}

const char *
class_name (guint8 v)
{
  switch (v)
    {
    case NFSUB_CLASS_PERSONAL: return "personal";
    case NFSUB_CLASS_ENTERPRISE: return "enterprise";
    default: return "unknown";
    }
}

const char *
access_name (guint8 v)
{
  switch (v)
    {
    case NFSUB_ACCESS_PPPOE: return "pppoe";
    case NFSUB_ACCESS_IPOE: return "ipoe";
    case NFSUB_ACCESS_MOBILE: return "mobile";
    default: return "unknown";
    }
}

gboolean
parse_duration (const char *s, guint32 *seconds)
{
  char *end;
  if (!g_ascii_isdigit (*s))
    return FALSE;
  guint64 v = g_ascii_strtoull (s, &end, 10);
  guint64 unit = 1;
  if (*end == 's')
    end++;
  else if (*end == 'm')
    unit = 60, end++;
  else if (*end == 'h')
    unit = 3600, end++;
  else if (*end == 'd')
    unit = 86400, end++;
  else if (*end == 'w')
    unit = 7 * 86400, end++;
  if (*end != '\0' || v > G_MAXUINT32 / unit)
    return FALSE;
  *seconds = (guint32) (v * unit);
  return TRUE;
}

gboolean
parse_time (const char *s, GTimeZone *tz, gint64 *out)
{
  while (*s == ' ')
    s++;
  if (*s == '@')
    s++;
  gboolean digits = *s != '\0';
  for (const char *p = s; *p; p++)
    if (!g_ascii_isdigit (*p))
      digits = FALSE;
  if (digits)
    {
      guint64 v = g_ascii_strtoull (s, NULL, 10);
      if (v > G_MAXUINT32)
        return FALSE;
      *out = (gint64) v;
      return TRUE;
    }
  /* GLib's ISO 8601 parser wants a 'T' and a time; accept the forms
   * operators type. */
  g_autofree char *text = g_strdup (s);
  g_strstrip (text);
  if (strlen (text) == 10)
    {
      char *t = g_strconcat (text, "T00:00:00", NULL);
      g_free (text);
      text = t;
    }
  else if (strlen (text) > 10 && text[10] == ' ')
    text[10] = 'T';
  if (strlen (text) == 16) /* no seconds */
    {
      char *t = g_strconcat (text, ":00", NULL);
      g_free (text);
      text = t;
    }
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (text, tz);
  if (!dt)
    return FALSE;
  *out = g_date_time_to_unix (dt);
  return TRUE;
}

gboolean
parse_prefix (const char *s, LeasePrefix *out)
{
  char buf[NFSUB_ADDR_STRLEN];
  const char *slash = strchr (s, '/');
  gsize alen = slash ? (gsize) (slash - s) : strlen (s);
  if (alen == 0 || alen >= sizeof buf)
    return FALSE;
  memcpy (buf, s, alen);
  buf[alen] = '\0';
  NfsubAddr a;
  if (!nfsub_addr_parse (buf, &a))
    return FALSE;
  guint8 family = strchr (buf, ':') ? 6 : 4;
  guint plen = family == 4 ? 32 : 128;
  if (slash)
    {
      char *end;
      if (!g_ascii_isdigit (slash[1]))
        return FALSE;
      guint64 v = g_ascii_strtoull (slash + 1, &end, 10);
      if (*end != '\0' || v > plen)
        return FALSE;
      plen = (guint) v;
    }
  return lease_prefix_make (out, &a, family, plen);
}

const char *
prefix_to_string (const LeasePrefix *p, char *buf)
{
  char a[NFSUB_ADDR_STRLEN];
  nfsub_addr_to_string (&p->addr, a);
  g_snprintf (buf, 64, "%s/%u", a, p->plen);
  return buf;
}

static gboolean
prefix_contains (const LeasePrefix *outer, const LeasePrefix *inner)
{
  if (outer->family != inner->family || inner->plen < outer->plen)
    return FALSE;
  LeasePrefix masked;
  lease_prefix_make (&masked, &inner->addr, inner->family, outer->plen);
  return nfsub_addr_equal (&masked.addr, &outer->addr);
}

/* ---- parsing ---- */

static void
rule_free (gpointer data)
{
  Rule *r = data;
  for (guint i = 0; i < r->terms->len; i++)
    g_free (g_array_index (r->terms, Term, i).text);
  g_array_unref (r->terms);
  g_free ((char *) r->result.user_attribute);
  g_free (r->name);
  g_free (r);
}

static gboolean
rule_error (GError **error, const char *config_path, const char *group,
            const char *key, const char *what, const char *token)
{
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_CONFIG,
               "%s: [%s] %s: %s%s%s%s", config_path, group, key, what,
               token ? " '" : "", token ? token : "", token ? "'" : "");
  return FALSE;
}

static Rule *
rule_parse (const char *key, const char *text, const char *config_path,
            const char *group, GError **error)
{
  g_autoptr (GPtrArray) words = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) parts = g_strsplit_set (text, " \t", -1);
  for (char **p = parts; *p; p++)
    if (**p)
      g_ptr_array_add (words, g_strdup (*p));

  Rule *r = g_new0 (Rule, 1);
  r->name = g_strdup (key);
  r->terms = g_array_new (FALSE, TRUE, sizeof (Term));
  guint i = 0;
  gboolean arrow = FALSE;
  for (; i < words->len; i++)
    {
      const char *w = words->pdata[i];
      if (strcmp (w, "=>") == 0 || strcmp (w, "->") == 0)
        {
          arrow = TRUE;
          i++;
          break;
        }
      int kind = -1;
      for (int k = 0; k < N_TERMS; k++)
        if (g_ascii_strcasecmp (w, term_names[k]) == 0)
          kind = k;
      if (kind < 0)
        {
          rule_error (error, config_path, group, key,
                      "unknown condition (known: source realm nas nas-id "
                      "pool exporter if)", w);
          goto fail;
        }
      if (i + 1 >= words->len)
        {
          rule_error (error, config_path, group, key, "missing value after",
                      w);
          goto fail;
        }
      const char *v = words->pdata[++i];
      Term t = { .kind = (TermKind) kind };
      gboolean ok = TRUE;
      switch (t.kind)
        {
        case TERM_SOURCE:
          if (g_ascii_strcasecmp (v, "radius") == 0)
            t.source = SOURCE_RADIUS;
          else if (g_ascii_strcasecmp (v, "kea") == 0)
            t.source = SOURCE_KEA;
          else if (g_ascii_strcasecmp (v, "static") == 0)
            t.source = SOURCE_STATIC;
          else
            ok = FALSE;
          break;
        case TERM_REALM:
        case TERM_NAS_ID:
          t.text = g_strdup (v);
          break;
        case TERM_NAS:
        case TERM_POOL:
        case TERM_EXPORTER:
          ok = parse_prefix (v, &t.prefix);
          break;
        case TERM_IF:
          {
            char *end;
            guint64 n = g_ascii_strtoull (v, &end, 10);
            ok = g_ascii_isdigit (*v) && *end == '\0' && n <= G_MAXUINT32;
            t.ifindex = (guint32) n;
          }
          break;
        default:
          break;
        }
      if (!ok)
        {
          g_autofree char *what = g_strdup_printf ("bad value for '%s':",
                                                   term_names[kind]);
          rule_error (error, config_path, group, key, what, v);
          goto fail;
        }
      g_array_append_val (r->terms, t);
      r->term_mask |= 1u << kind;
    }
  if (!arrow)
    {
      rule_error (error, config_path, group, key,
                  "expected 'CONDITIONS => ACTIONS'", NULL);
      goto fail;
    }
  if (i >= words->len)
    {
      rule_error (error, config_path, group, key, "no action after '=>'",
                  NULL);
      goto fail;
    }
  for (; i < words->len; i++)
    {
      const char *w = words->pdata[i];
      const char *eq = strchr (w, '=');
      if (!eq)
        {
          rule_error (error, config_path, group, key,
                      "expected FIELD=VALUE (service, class, access, user)",
                      w);
          goto fail;
        }
      g_autofree char *field = g_strndup (w, (gsize) (eq - w));
      const char *v = eq + 1;
      gboolean ok;
      if (strcmp (field, "service") == 0)
        ok = parse_service (v, &r->result.service);
      else if (strcmp (field, "class") == 0)
        ok = parse_class (v, &r->result.user_class);
      else if (strcmp (field, "access") == 0)
        ok = parse_access (v, &r->result.access);
      else if (strcmp (field, "user") == 0)
        {
          ok = *v != '\0';
          g_free ((char *) r->result.user_attribute);
          r->result.user_attribute = g_strdup (v);
        }
      else
        {
          rule_error (error, config_path, group, key,
                      "unknown action (known: service class access user)",
                      field);
          goto fail;
        }
      if (!ok)
        {
          rule_error (error, config_path, group, key, "bad action", w);
          goto fail;
        }
    }
  guint flow_terms = (1u << TERM_EXPORTER) | (1u << TERM_IF);
  if ((r->term_mask & flow_terms)
      && ((r->term_mask & ~flow_terms) || r->result.service
          || r->result.user_class || r->result.user_attribute
          || !r->result.access))
    {
      rule_error (error, config_path, group, key,
                  "a rule with 'exporter'/'if' decides per flow and may only "
                  "combine those two conditions with 'access=...'",
                  NULL);
      goto fail;
    }
  return r;

fail:
  rule_free (r);
  return NULL;
}

RuleSet *
rules_parse (GKeyFile *kf, const char *group, const char *config_path,
             GError **error)
{
  RuleSet *rs = g_new0 (RuleSet, 1);
  rs->rules = g_ptr_array_new_with_free_func (rule_free);
  rs->flow_rules = g_ptr_array_new_with_free_func (rule_free);
  g_auto (GStrv) keys = g_key_file_has_group (kf, group)
                          ? g_key_file_get_keys (kf, group, NULL, NULL)
                          : NULL;
  for (char **k = keys; k && *k; k++)
    {
      if (!g_str_has_prefix (*k, "rule."))
        continue;
      g_autofree char *text = g_key_file_get_string (kf, group, *k, NULL);
      Rule *r = rule_parse (*k, text ? text : "", config_path, group, error);
      if (!r)
        {
          rules_free (rs);
          return NULL;
        }
      if (r->term_mask & ((1u << TERM_EXPORTER) | (1u << TERM_IF)))
        g_ptr_array_add (rs->flow_rules, r);
      else
        g_ptr_array_add (rs->rules, r);
    }
  return rs;
}

void
rules_free (RuleSet *rs)
{
  if (!rs)
    return;
  g_ptr_array_unref (rs->rules);
  g_ptr_array_unref (rs->flow_rules);
  g_free (rs);
}

/* ---- evaluation ---- */

static gboolean
term_matches (const Term *t, const RuleContext *ctx)
{
  switch (t->kind)
    {
    case TERM_SOURCE:
      return ctx->source == t->source;
    case TERM_REALM:
      return ctx->realm && g_ascii_strcasecmp (ctx->realm, t->text) == 0;
    case TERM_NAS_ID:
      return ctx->nas_id && strcmp (ctx->nas_id, t->text) == 0;
    case TERM_NAS:
      {
        if (!ctx->nas_ip)
          return FALSE;
        LeasePrefix p;
        guint8 fam = nfsub_addr_is_v4 (ctx->nas_ip) ? 4 : 6;
        lease_prefix_make (&p, ctx->nas_ip, fam, fam == 4 ? 32 : 128);
        return prefix_contains (&t->prefix, &p);
      }
    case TERM_POOL:
      for (guint i = 0; i < ctx->n_prefixes; i++)
        if (prefix_contains (&t->prefix, &ctx->prefixes[i]))
          return TRUE;
      return FALSE;
    default:
      return FALSE;
    }
}

static gboolean
rule_matches (const Rule *r, const RuleContext *ctx)
{
  /* one term of each kind present must hold */
  for (int kind = 0; kind < N_TERMS; kind++)
    {
      if (!(r->term_mask & (1u << kind)))
        continue;
      gboolean any = FALSE;
      for (guint i = 0; i < r->terms->len && !any; i++)
        {
          const Term *t = &g_array_index (r->terms, Term, i);
          any = (int) t->kind == kind && term_matches (t, ctx);
        }
      if (!any)
        return FALSE;
    }
  return TRUE;
}

void
rules_apply (const RuleSet *rs, const RuleContext *ctx, RuleResult *out)
{
  for (guint i = 0; i < rs->rules->len; i++)
    {
      const Rule *r = rs->rules->pdata[i];
      if (!rule_matches (r, ctx))
        continue;
      if (!out->service)
        out->service = r->result.service;
      if (!out->user_class)
        out->user_class = r->result.user_class;
      if (!out->access)
        out->access = r->result.access;
      if (!out->user_attribute)
        out->user_attribute = r->result.user_attribute;
    }
}

gboolean
rules_have_flow_rules (const RuleSet *rs)
{
  return rs->flow_rules->len > 0;
}

guint8
rules_flow_access (const RuleSet *rs, const NfsubAddr *exporter,
                   guint32 ifindex)
{
  LeasePrefix ex;
  guint8 fam = nfsub_addr_is_v4 (exporter) ? 4 : 6;
  lease_prefix_make (&ex, exporter, fam, fam == 4 ? 32 : 128);
  for (guint i = 0; i < rs->flow_rules->len; i++)
    {
      const Rule *r = rs->flow_rules->pdata[i];
      gboolean ok = TRUE;
      for (int kind = TERM_EXPORTER; kind <= TERM_IF && ok; kind++)
        {
          if (!(r->term_mask & (1u << kind)))
            continue;
          gboolean any = FALSE;
          for (guint j = 0; j < r->terms->len && !any; j++)
            {
              const Term *t = &g_array_index (r->terms, Term, j);
              if ((int) t->kind != kind)
                continue;
              any = kind == TERM_EXPORTER ? prefix_contains (&t->prefix, &ex)
                                          : t->ifindex == ifindex;
            }
          ok = any;
        }
      if (ok)
        return r->result.access;
    }
  return 0;
}
