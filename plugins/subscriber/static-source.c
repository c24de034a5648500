/* subscriber: static assignments (enterprise prefixes, fixed addresses).
 *
 *   prefix,user,service,class,access[,from,to]
 *   203.0.113.0/29,acme,broadband,enterprise,ipoe
 *   2001:db8:ff00::/48,acme,,,ipoe,2024-01-01,2025-01-01
 *
 * Empty service/class/access come from the rules, then from
 * static_service/_class/_access.  from/to (epoch seconds or ISO 8601,
 * in the configured time zone) bound the assignment; empty: always.
 * The files are small and re-read by every process, so an edit applies
 * to the next file processed.  Static entries are the fallback: a
 * dynamic binding of the same prefix length wins while it is active, and
 * a longer prefix wins over a shorter one.
 */
#include "config.h"

#include <string.h>

#include "subscriber.h"

static gboolean
static_error (GError **error, const char *path, guint64 line, const char *fmt,
              ...) G_GNUC_PRINTF (4, 5);

static gboolean
static_error (GError **error, const char *path, guint64 line, const char *fmt,
              ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT,
               "%s: line %" G_GUINT64_FORMAT ": %s", path, line, what);
  return FALSE;
}

static gboolean
static_line (SubIndex *ix, const char *path, guint64 line_no, char *line,
             GError **error)
{
  SubConfig *c = ix->config;
  g_auto (GStrv) f = g_strsplit (line, ",", -1);
  guint n = g_strv_length (f);
  for (guint i = 0; i < n; i++)
    g_strstrip (f[i]);
  if (n != 5 && n != 7)
    return static_error (error, path, line_no,
                         "expected prefix,user,service,class,access[,from,to]"
                         " (%u fields)", n);
  LeasePrefix p;
  if (!parse_prefix (f[0], &p))
    return static_error (error, path, line_no, "bad prefix '%s'", f[0]);
  if (!*f[1] || strchr (f[1], ':'))
    return static_error (error, path, line_no,
                         "bad user name '%s' (empty, or with ':')", f[1]);
  RuleResult res = { 0, 0, 0, NULL };
  if (*f[2] && !parse_service (f[2], &res.service))
    return static_error (error, path, line_no,
                         "service '%s' is not broadband or mobile", f[2]);
  if (*f[3] && !parse_class (f[3], &res.user_class))
    return static_error (error, path, line_no,
                         "class '%s' is not personal or enterprise", f[3]);
  if (*f[4] && !parse_access (f[4], &res.access))
    return static_error (error, path, line_no,
                         "access '%s' is not pppoe, ipoe or mobile", f[4]);
  gint64 from = 0, to = LEASE_END_OPEN;
  if (n == 7)
    {
      if (*f[5] && (!parse_time (f[5], c->radius_timezone, &from) || from < 0))
        return static_error (error, path, line_no, "bad 'from' time '%s'",
                             f[5]);
      if (*f[6] && (!parse_time (f[6], c->radius_timezone, &to) || to < from))
        return static_error (error, path, line_no, "bad 'to' time '%s'",
                             f[6]);
    }
  RuleContext ctx = { SOURCE_STATIC, NULL, NULL, NULL, &p, 1 };
  rules_apply (c->rules, &ctx, &res);
  if (!res.service)
    res.service = c->static_service;
  if (!res.user_class)
    res.user_class = c->static_class;
  if (!res.access)
    res.access = c->static_access;
  g_autofree char *key = g_strdup_printf ("%s:%s", access_name (res.access),
                                          f[1]);
  guint32 user = lease_table_intern_user (ix->table, key, res.service,
                                          res.user_class, res.access);
  lease_table_add (ix->table, LEASE_STATIC, &p, (guint32) MIN (from, G_MAXUINT32),
                   (guint32) MIN (to, (gint64) LEASE_END_OPEN), user);
  ix->n_static++;
  ix->statics.applied++;
  return TRUE;
}

gboolean
static_source_load (SubIndex *ix, GError **error)
{
  lease_table_clear_static (ix->table);
  ix->n_static = 0;
  for (char **path = ix->config->static_files; path && *path; path++)
    {
      g_autofree char *text = NULL;
      gsize len;
      g_autoptr (GError) local = NULL;
      if (!g_file_get_contents (*path, &text, &len, &local))
        {
          g_set_error (error, NFSUB_ERROR, NFSUB_ERROR_INPUT, "%s: %s", *path,
                       local->message);
          return FALSE;
        }
      guint64 line_no = 0;
      char *next;
      for (char *line = text; line && line < text + len; line = next)
        {
          next = memchr (line, '\n', (gsize) (text + len - line));
          if (next)
            *next++ = '\0';
          line_no++;
          GError *bad = NULL;
          gsize line_len = strlen (line);
          if ((next ? (gsize) (next - 1 - line) : (gsize) (text + len - line))
              != line_len)
            static_error (&bad, *path, line_no, "NUL byte in line");
          else
            {
              g_strstrip (line);
              if (*line == '\0' || *line == '#'
                  || (line_no == 1 && g_str_has_prefix (line, "prefix,")))
                continue;
              ix->statics.records++;
              static_line (ix, *path, line_no, line, &bad);
            }
          if (bad && !sub_index_input_error (ix, &ix->statics, bad, error))
            return FALSE;
        }
    }
  return TRUE;
}
