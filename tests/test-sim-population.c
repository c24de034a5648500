/* nfsim population mode against independent sources:
 *  - its config (the published figures): the simulated population's mean,
 *    median and mode within one 0.05-decade bin, port shares within 0.5
 *    points, before sampling;
 *  - the real nfcapd/nfdump: stored totals equal the ground truth exactly,
 *    and equal the unsampled truth within the error 1:N sampling predicts;
 *  - the assignment files it wrote: matching every flow nfdump prints to
 *    the user holding its address at its start (RADIUS detail, Kea lease6,
 *    static CSV, parsed here) gives exactly the per-user, per-hour and
 *    per-port ground truth;
 *  - determinism, IPFIX, and clear errors on a bad config.
 * Statistics are computed here from the per-user values, not taken from
 * the simulator's own summary. */
#include "config.h"

#include "testutil.h"

#include <gio/gio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POP_ARGS "-u 4000 -s 21"

/* ------------------------------------------------------------ fixture */

typedef struct {
  guint8 a[16];
  guint8 family;
} Addr;

typedef struct {
  gint64 t_ms;
  Addr src, dst;
  guint8 proto;
  guint16 sport, dport;
  guint64 bytes;
} Flow;

typedef struct {
  gint64 start_s, stop_s; /* [start, stop) */
  const char *key;        /* interned */
} Interval;

typedef struct {
  char *file;
  char *sim;
  NfsubTestJson *truth;
  GArray *flows;          /* Flow */
  GHashTable *prefixes;   /* "family/plen/hex" -> GArray of Interval */
  GHashTable *keys;       /* interned user keys */
  GHashTable *accounting; /* key -> guint64[2]: RADIUS counters per user */
  gint64 week_start;
  guint days;
} Pop;

static Pop *pop;

static gboolean
parse_addr (const char *text, Addr *out)
{
  g_autoptr (GInetAddress) ia = g_inet_address_new_from_string (text);
  if (!ia)
    return FALSE;
  memset (out, 0, sizeof *out);
  out->family = g_inet_address_get_family (ia) == G_SOCKET_FAMILY_IPV4 ? 4 : 6;
  memcpy (out->a, g_inet_address_to_bytes (ia), out->family == 4 ? 4 : 16);
  return TRUE;
}

/* "family/plen/hex of the masked prefix" into buf (at least 48 bytes) */
static const char *
prefix_key_buf (const Addr *a, guint plen, char *buf)
{
  static const char hex[] = "0123456789abcdef";
  int n = g_snprintf (buf, 12, "%u/%u/", a->family, plen);
  for (guint i = 0; i < (a->family == 4 ? 4u : 16u); i++)
    {
      int bits = (int) plen - 8 * (int) i;
      guint8 m = bits >= 8 ? a->a[i] : bits <= 0 ? 0 : a->a[i] & (0xff << (8 - bits));
      buf[n++] = hex[m >> 4];
      buf[n++] = hex[m & 15];
    }
  buf[n] = 0;
  return buf;
}

static char *
prefix_key (const Addr *a, guint plen)
{
  char buf[48];
  return g_strdup (prefix_key_buf (a, plen, buf));
}

static void
add_interval (const char *prefix, gint64 start, gint64 stop, const char *key)
{
  g_auto (GStrv) parts = g_strsplit (prefix, "/", 2);
  Addr a;
  g_assert_true (parse_addr (parts[0], &a));
  guint plen = parts[1] ? atoi (parts[1]) : (a.family == 4 ? 32 : 128);
  char *k = prefix_key (&a, plen);
  GArray *list = g_hash_table_lookup (pop->prefixes, k);
  if (!list)
    {
      list = g_array_new (FALSE, FALSE, sizeof (Interval));
      g_hash_table_insert (pop->prefixes, k, list);
    }
  else
    g_free (k);
  const char *ik = g_hash_table_lookup (pop->keys, key);
  if (!ik)
    {
      char *dup = g_strdup (key);
      g_hash_table_add (pop->keys, dup);
      ik = dup;
    }
  Interval iv = { start, stop, ik };
  g_array_append_val (list, iv);
}

static const char *
lookup_user (const Addr *a, gint64 t_s)
{
  static const guint v4[] = { 32, 29 }, v6[] = { 64, 56, 48 };
  const guint *lens = a->family == 4 ? v4 : v6;
  guint n = a->family == 4 ? G_N_ELEMENTS (v4) : G_N_ELEMENTS (v6);
  for (guint i = 0; i < n; i++)
    {
      char k[48];
      GArray *list = g_hash_table_lookup (pop->prefixes, prefix_key_buf (a, lens[i], k));
      for (guint j = 0; list && j < list->len; j++)
        {
          Interval *iv = &g_array_index (list, Interval, j);
          if (iv->start_s <= t_s && t_s < iv->stop_s)
            return iv->key;
        }
    }
  return NULL;
}

static gint64
parse_event_timestamp (const char *v)
{
  /* "Jun  3 2024 00:00:01 UTC" (the fixture runs in UTC) */
  static const char *const months = "JanFebMarAprMayJunJulAugSepOctNovDec";
  char mon[4] = { 0 };
  int day, year, h, m, s;
  g_assert_cmpint (sscanf (v, "%3s %d %d %d:%d:%d", mon, &day, &year, &h, &m, &s), ==, 6);
  const char *p = strstr (months, mon);
  g_assert_nonnull (p);
  g_autoptr (GDateTime) dt = g_date_time_new_utc (year, (p - months) / 3 + 1, day, h, m, s);
  return g_date_time_to_unix (dt);
}

static void
load_radius (const char *dir, const char *access)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *n;
  while ((n = g_dir_read_name (d)))
    g_ptr_array_add (names, g_strdup (n));
  g_dir_close (d);
  g_assert_cmpuint (names->len, >, 0);
  /* session id -> {key, nets, start, stop} */
  typedef struct {
    char *key;
    char *nets[3];
    gint64 start, stop;
    gint64 last_time;     /* Acct-Session-Time of the latest counters */
    guint64 octets[2];    /* their Input (IN) and Output (OUT) octets */
  } Sess;
  g_autoptr (GHashTable) sess = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint records = 0;
  for (guint f = 0; f < names->len; f++)
    {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, f), NULL);
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_auto (GStrv) blocks = g_strsplit (text, "\n\n", -1);
      for (char **b = blocks; *b; b++)
        {
          if (!**b)
            continue;
          g_auto (GStrv) lines = g_strsplit (*b, "\n", -1);
          g_autofree char *type = NULL, *user = NULL, *sid = NULL, *ev = NULL;
          gint64 stime = -1;
          guint64 oct[2] = { 0, 0 }, giga[2] = { 0, 0 };
          char *nets[3] = { NULL, NULL, NULL };
          for (char **l = lines + 1; *l; l++)
            {
              /* the format FreeRADIUS writes: a tab, "Name = value" */
              g_assert_true ((*l)[0] == '\t');
              char *eq = strstr (*l, " = ");
              g_assert_nonnull (eq);
              g_autofree char *name = g_strndup (*l + 1, eq - *l - 1);
              char *val = eq + 3;
              if (*val == '"')
                val++;
              gsize vl = strlen (val);
              if (vl && val[vl - 1] == '"')
                val[vl - 1] = 0;
              if (!strcmp (name, "Acct-Status-Type"))
                type = g_strdup (val);
              else if (!strcmp (name, "User-Name"))
                user = g_strdup (val);
              else if (!strcmp (name, "Acct-Session-Id"))
                sid = g_strdup (val);
              else if (!strcmp (name, "Event-Timestamp"))
                ev = g_strdup (val);
              else if (!strcmp (name, "Acct-Session-Time"))
                stime = g_ascii_strtoll (val, NULL, 10);
              else if (!strcmp (name, "Acct-Input-Octets"))
                oct[0] = g_ascii_strtoull (val, NULL, 10);
              else if (!strcmp (name, "Acct-Output-Octets"))
                oct[1] = g_ascii_strtoull (val, NULL, 10);
              else if (!strcmp (name, "Acct-Input-Gigawords"))
                giga[0] = g_ascii_strtoull (val, NULL, 10);
              else if (!strcmp (name, "Acct-Output-Gigawords"))
                giga[1] = g_ascii_strtoull (val, NULL, 10);
              else if (!strcmp (name, "Framed-IP-Address"))
                nets[0] = g_strdup (val);
              else if (!strcmp (name, "Framed-IPv6-Prefix"))
                nets[1] = g_strdup (val);
              else if (!strcmp (name, "Delegated-IPv6-Prefix"))
                nets[2] = g_strdup (val);
            }
          g_assert_nonnull (type);
          g_assert_nonnull (user);
          g_assert_nonnull (sid);
          g_assert_nonnull (ev);
          records++;
          Sess *s = g_hash_table_lookup (sess, sid);
          if (!s)
            {
              s = g_new0 (Sess, 1);
              s->key = g_strdup_printf ("%s:%s", access, user);
              s->start = G_MININT64;
              s->stop = G_MAXINT64;
              s->last_time = -1;
              g_hash_table_insert (sess, g_strdup (sid), s);
            }
          for (int i = 0; i < 3; i++)
            if (nets[i])
              {
                g_free (s->nets[i]);
                s->nets[i] = nets[i];
              }
          if (stime > s->last_time)
            {
              /* counters are cumulative: the latest record has them all */
              s->last_time = stime;
              s->octets[0] = oct[0] + (giga[0] << 32);
              s->octets[1] = oct[1] + (giga[1] << 32);
            }
          if (!strcmp (type, "Start"))
            s->start = parse_event_timestamp (ev);
          else if (!strcmp (type, "Stop"))
            s->stop = parse_event_timestamp (ev);
        }
    }
  g_assert_cmpuint (records, >, 0);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, sess);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      Sess *s = v;
      g_assert_cmpint (s->start, !=, G_MININT64); /* every session has its Start */
      guint64 *acc = g_hash_table_lookup (pop->accounting, s->key);
      if (!acc)
        {
          acc = g_new0 (guint64, 2);
          g_hash_table_insert (pop->accounting, g_strdup (s->key), acc);
        }
      acc[0] += s->octets[0];
      acc[1] += s->octets[1];
      for (int i = 0; i < 3; i++)
        if (s->nets[i])
          {
            add_interval (s->nets[i], s->start, s->stop, s->key);
            g_free (s->nets[i]);
          }
      g_free (s->key);
      g_free (s);
    }
}

static void
load_kea (void)
{
  g_autofree char *mpath = g_build_filename (pop->sim, "kea", "duid-users.csv", NULL);
  g_autofree char *lpath = g_build_filename (pop->sim, "kea", "leases6.csv", NULL);
  g_autofree char *mtext = NULL, *ltext = NULL;
  g_assert_true (g_file_get_contents (mpath, &mtext, NULL, NULL));
  g_assert_true (g_file_get_contents (lpath, &ltext, NULL, NULL));
  g_autoptr (GHashTable) duid = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto (GStrv) ml = g_strsplit (mtext, "\n", -1);
  g_assert_cmpstr (ml[0], ==, "duid,user");
  for (char **l = ml + 1; *l; l++)
    if (**l)
      {
        g_auto (GStrv) f = g_strsplit (*l, ",", 2);
        g_hash_table_insert (duid, g_strdup (f[0]), g_strdup_printf ("ipoe:%s", f[1]));
      }
  /* per prefix: a lease period runs from its first row (expire - valid)
   * to a release row (valid 0, expire = release time) */
  g_autoptr (GHashTable) open = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto (GStrv) ll = g_strsplit (ltext, "\n", -1);
  g_assert_true (g_str_has_prefix (ll[0], "address,duid,valid_lifetime,expire,subnet_id,"
                                          "pref_lifetime,lease_type,iaid,prefix_len"));
  guint rows = 0;
  for (char **l = ll + 1; *l; l++)
    {
      if (!**l)
        continue;
      g_auto (GStrv) f = g_strsplit (*l, ",", -1);
      g_assert_cmpuint (g_strv_length (f), ==, 17);
      g_assert_cmpstr (f[6], ==, "2"); /* IA_PD */
      rows++;
      g_autofree char *prefix = g_strdup_printf ("%s/%s", f[0], f[8]);
      const char *key = g_hash_table_lookup (duid, f[1]);
      g_assert_nonnull (key);
      gint64 valid = g_ascii_strtoll (f[2], NULL, 10), expire = g_ascii_strtoll (f[3], NULL, 10);
      gint64 *start = g_hash_table_lookup (open, prefix);
      if (valid > 0 && !start)
        {
          start = g_new (gint64, 1);
          *start = expire - valid;
          g_hash_table_insert (open, g_strdup (prefix), start);
        }
      else if (valid == 0 && start)
        {
          add_interval (prefix, *start, expire, key);
          g_hash_table_remove (open, prefix);
        }
      if (valid > 0)
        g_assert_cmpint (expire, >, 0);
    }
  g_assert_cmpuint (rows, >, 0);
  /* still open at the end: the last row's owner holds it */
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, open);
  /* the owner of a prefix still delegated at the end: its last row's */
  g_autoptr (GHashTable) owner = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (char **l = ll + 1; *l; l++)
    if (**l)
      {
        g_auto (GStrv) f = g_strsplit (*l, ",", -1);
        g_hash_table_insert (owner, g_strdup_printf ("%s/%s", f[0], f[8]),
                             g_hash_table_lookup (duid, f[1]));
      }
  while (g_hash_table_iter_next (&it, &k, &v))
    add_interval (k, *(gint64 *) v, G_MAXINT64, g_hash_table_lookup (owner, k));
}

static void
load_static (void)
{
  g_autofree char *path = g_build_filename (pop->sim, "static.csv", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "prefix,user,service,class,access,from,to");
  for (char **l = lines + 1; *l; l++)
    if (**l)
      {
        g_auto (GStrv) f = g_strsplit (*l, ",", -1);
        g_assert_cmpuint (g_strv_length (f), >=, 5);
        g_autofree char *key = g_strdup_printf ("%s:%s", f[4], f[1]);
        add_interval (f[0], G_MININT64, G_MAXINT64, key);
      }
}

static void
load_flows (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = nfsub_test_nfdump_output (
      &error, "-r", pop->file, "-q", "-N", "-6", "-o",
      "fmt:%ts|%sa|%da|%pr|%sp|%dp|%byt", NULL);
  g_assert_no_error (error);
  pop->flows = g_array_new (FALSE, FALSE, sizeof (Flow));
  char *save = NULL;
  for (char *line = strtok_r (out, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      g_auto (GStrv) f = g_strsplit (line, "|", -1);
      g_assert_cmpuint (g_strv_length (f), ==, 7);
      for (char **p = f; *p; p++)
        g_strstrip (*p);
      Flow fl = { 0 };
      int Y, M, D, h, m, s, ms;
      g_assert_cmpint (sscanf (f[0], "%d-%d-%d %d:%d:%d.%d", &Y, &M, &D, &h, &m, &s, &ms), ==, 7);
      g_autoptr (GDateTime) dt = g_date_time_new_utc (Y, M, D, h, m, s);
      fl.t_ms = g_date_time_to_unix (dt) * 1000 + ms;
      g_assert_true (parse_addr (f[1], &fl.src));
      g_assert_true (parse_addr (f[2], &fl.dst));
      fl.proto = atoi (f[3]);
      if (fl.proto == 6 || fl.proto == 17)
        {
          fl.sport = atoi (f[4]);
          fl.dport = atoi (f[5]);
        }
      fl.bytes = g_ascii_strtoull (f[6], NULL, 10);
      g_array_append_val (pop->flows, fl);
    }
}

static void
pop_setup (void)
{
  if (pop)
    return;
  pop = g_new0 (Pop, 1);
  g_autoptr (GError) error = NULL;
  pop->file = nfsub_test_fixture ("sim-population", "-y", POP_ARGS, &error);
  g_assert_no_error (error);
  pop->sim = nfsub_test_fixture_sim_dir (pop->file);
  g_autofree char *tp = g_build_filename (pop->sim, "truth.json", NULL);
  pop->truth = nfsub_test_json_load (tp, &error);
  g_assert_no_error (error);
  pop->week_start = (gint64) nfsub_test_json_number (pop->truth, "week_start_epoch");
  pop->days = (guint) nfsub_test_json_number (pop->truth, "days");
  pop->prefixes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) g_array_unref);
  pop->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  pop->accounting = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *r1 = g_build_filename (pop->sim, "radacct", "192.0.2.1", NULL);
  g_autofree char *r2 = g_build_filename (pop->sim, "radacct", "192.0.2.101", NULL);
  load_radius (r1, "pppoe");
  load_radius (r2, "mobile");
  load_kea ();
  load_static ();
  load_flows ();
}

/* ------------------------------------------------------------ statistics */

typedef struct {
  double mean, median, mode, top10, top1;
} Stats;

static gint
cmp_desc (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x > y ? -1 : x < y;
}

/* daily values (bytes/day); the mode from a 0.05-decade histogram
 * centred on the grid, smoothed by a Gaussian of 2 bins */
static void
stats_of (GArray *v, Stats *s)
{
  double *x = (double *) v->data;
  guint n = v->len;
  g_assert_cmpuint (n, >, 0);
  qsort (x, n, sizeof (double), cmp_desc);
  double sum = 0;
  for (guint i = 0; i < n; i++)
    sum += x[i];
  s->mean = sum / n;
  s->median = n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
  guint k10 = MAX (1, (guint) (n * 0.1 + 0.5)), k1 = MAX (1, (guint) (n * 0.01 + 0.5));
  double a = 0, b = 0;
  for (guint i = 0; i < k10; i++)
    {
      a += x[i];
      if (i < k1)
        b += x[i];
    }
  s->top10 = 100 * a / sum;
  s->top1 = 100 * b / sum;
  double hist[141] = { 0 };
  for (guint i = 0; i < n; i++)
    {
      if (x[i] <= 0)
        continue;
      int k = (int) floor ((log10 (x[i]) - 4) / 0.05 + 0.5);
      if (k >= 0 && k < 141)
        hist[k]++; /* out of the grid: not counted (the truth's catch-all bins) */
    }
  double best = -1;
  for (int k = 1; k < 140; k++)
    {
      double num = 0, den = 0;
      for (int j = MAX (1, k - 8); j <= MIN (139, k + 8); j++)
        {
          double w = exp (-0.5 * (j - k) * (j - k) / 4.0);
          num += w * hist[j];
          den += w;
        }
      if (num / den > best)
        {
          best = num / den;
          s->mode = pow (10, 4 + 0.05 * k);
        }
    }
}

static GArray *
user_values (const char *service, const char *klass, const char *access,
             const char *field)
{
  const NfsubTestJson *users = nfsub_test_json_member (pop->truth, "users");
  GArray *v = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; i < nfsub_test_json_length (users); i++)
    {
      const NfsubTestJson *u = nfsub_test_json_index (users, i, NULL);
      if (strcmp (nfsub_test_json_string (u, "service"), service)
          || strcmp (nfsub_test_json_string (u, "class"), klass)
          || (access && strcmp (nfsub_test_json_string (u, "access"), access)))
        continue;
      double x = nfsub_test_json_number (u, field) / pop->days;
      g_array_append_val (v, x);
    }
  return v;
}

static GKeyFile *
default_config (void)
{
  g_autoptr (GError) error = NULL;
  const char *argv[] = { nfsub_test_nfsim (), "--print-config", NULL };
  g_autofree char *text = nfsub_test_run (argv, NULL, &error);
  g_assert_no_error (error);
  GKeyFile *kf = g_key_file_new ();
  g_assert_true (g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, &error));
  g_assert_no_error (error);
  return kf;
}

static void
test_population_matches_config (void)
{
  pop_setup ();
  g_autoptr (GKeyFile) cfg = default_config ();
  static const struct {
    const char *service, *group;
  } groups[] = { { "broadband", "broadband" }, { "mobile", "mobile" } };
  for (guint g = 0; g < G_N_ELEMENTS (groups); g++)
    for (int dir = 0; dir < 2; dir++)
      {
        g_autoptr (GArray) v = user_values (groups[g].service, "personal", NULL,
                                            dir ? "out" : "in");
        Stats s;
        stats_of (v, &s);
        g_autofree char *cg = g_strdup_printf ("usage.%s.%s", groups[g].group, dir ? "out" : "in");
        struct {
          const char *key;
          double value;
        } checks[] = { { "mean", s.mean }, { "median", s.median }, { "mode", s.mode } };
        for (guint c = 0; c < G_N_ELEMENTS (checks); c++)
          {
            if (!g_key_file_has_key (cfg, cg, checks[c].key, NULL))
              continue;
            double target = g_key_file_get_double (cfg, cg, checks[c].key, NULL) * 1e6;
            g_test_message ("%s %s: %.1f MB (config %.1f MB)", cg, checks[c].key,
                            checks[c].value / 1e6, target / 1e6);
            /* within one 0.05-decade bin */
            g_assert_cmpfloat (fabs (log10 (checks[c].value / target)), <=, 0.05 + 1e-9);
          }
        /* the concentration figures too (not required to a bin, but the
         * model is fitted to them): within 2 points */
        double t10 = g_key_file_get_double (cfg, cg, "top10", NULL);
        double t1 = g_key_file_get_double (cfg, cg, "top1", NULL);
        g_test_message ("%s top10 %.1f (%.1f) top1 %.1f (%.1f)", cg, s.top10, t10, s.top1, t1);
        g_assert_cmpfloat (fabs (s.top10 - t10), <=, 2.0);
        g_assert_cmpfloat (fabs (s.top1 - t1), <=, 2.0);
      }
  /* IN and OUT correlated (Figures 5-6): rank correlation */
  g_autoptr (GArray) vin = user_values ("broadband", "personal", NULL, "in");
  g_autoptr (GArray) vout = user_values ("broadband", "personal", NULL, "out");
  double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  guint n = vin->len;
  for (guint i = 0; i < n; i++)
    {
      double x = log (g_array_index (vin, double, i) + 1), y = log (g_array_index (vout, double, i) + 1);
      sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
    }
  double r = (sxy - sx * sy / n) / sqrt ((sxx - sx * sx / n) * (syy - sy * sy / n));
  g_test_message ("log IN/OUT correlation %.2f", r);
  g_assert_cmpfloat (r, >, 0.5);
  /* OUT about an order of magnitude above IN */
  Stats si, so;
  stats_of (vin, &si);
  stats_of (vout, &so);
  g_assert_cmpfloat (so.median / si.median, >, 5);
}

static void
test_port_shares_match_config (void)
{
  pop_setup ();
  g_autoptr (GKeyFile) cfg = default_config ();
  static const char *const tables[][2] = { { "ports.broadband", "ports.broadband.true" },
                                           { "ports.mobile", "ports.mobile.true" } };
  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    {
      g_auto (GStrv) keys = g_key_file_get_keys (cfg, tables[t][0], NULL, NULL);
      double total = 0;
      for (char **k = keys; *k; k++)
        total += g_key_file_get_double (cfg, tables[t][0], *k, NULL);
      const NfsubTestJson *truth = nfsub_test_json_path (pop->truth, tables[t][1]);
      g_assert_nonnull (truth);
      double tcp = 0, udp = 0;
      for (char **k = keys; *k; k++)
        {
          double want = 100 * g_key_file_get_double (cfg, tables[t][0], *k, NULL) / total;
          if (g_str_has_prefix (*k, "tcp/"))
            tcp += want;
          if (g_str_has_prefix (*k, "udp/"))
            udp += want;
          /* a named port's row, or a protocol's */
          const NfsubTestJson *row = nfsub_test_json_member (truth, *k);
          if (!row)
            continue; /* tcp/low, tcp/dynamic: checked through the totals */
          double got = nfsub_test_json_get_number (row);
          g_test_message ("%s %s: %.2f%% (config %.2f%%)", tables[t][0], *k, got, want);
          g_assert_cmpfloat (fabs (got - want), <=, 0.5);
        }
      g_assert_cmpfloat (fabs (nfsub_test_json_number (truth, "tcp") - tcp), <=, 0.5);
      g_assert_cmpfloat (fabs (nfsub_test_json_number (truth, "udp") - udp), <=, 0.5);
    }
}

/* ------------------------------------------------------------ nfcapd */

static void
test_nfcapd_totals (void)
{
  pop_setup ();
  g_autoptr (GError) error = NULL;
  NfsubTestStat st;
  g_assert_true (nfsub_test_nfdump_stat (pop->file, &st, &error));
  g_assert_cmpuint (st.sequence_failures, ==, 0);
  const NfsubTestJson *t = pop->truth;
  g_assert_cmpuint (st.flows, ==, nfsub_test_json_number (t, "totals.expected_nfcapd.flows"));
  g_assert_cmpuint (st.packets, ==, nfsub_test_json_number (t, "totals.expected_nfcapd.packets"));
  g_assert_cmpuint (st.bytes, ==, nfsub_test_json_number (t, "totals.expected_nfcapd.bytes"));
  g_assert_cmpuint (st.bytes_tcp, ==, nfsub_test_json_number (t, "totals.expected_nfcapd.by_proto.tcp.bytes"));
  g_assert_cmpuint (st.bytes_udp, ==, nfsub_test_json_number (t, "totals.expected_nfcapd.by_proto.udp.bytes"));
  g_assert_cmpuint (pop->flows->len, ==, st.flows);

  /* against the unsampled truth: with 1-in-N packet sampling the scaled
   * byte total has variance sum over packets of (N-1) s^2 = (N-1) s B,
   * s the mean packet size; 5 standard deviations */
  double true_bytes = nfsub_test_json_number (t, "totals.true.bytes");
  double true_packets = nfsub_test_json_number (t, "totals.true.packets");
  double n_max = 0;
  const NfsubTestJson *ex = nfsub_test_json_member (t, "exporters");
  for (guint i = 0; i < nfsub_test_json_length (ex); i++)
    n_max = MAX (n_max, nfsub_test_json_number (nfsub_test_json_index (ex, i, NULL), "sampling"));
  double s = true_bytes / true_packets;
  double sd = sqrt ((n_max - 1) * s * true_bytes);
  g_test_message ("nfcapd bytes %.6g, true %.6g, sd %.3g", (double) st.bytes, true_bytes, sd);
  g_assert_cmpfloat (fabs (st.bytes - true_bytes), <=, 5 * sd);
  g_assert_cmpfloat (fabs ((double) st.packets - true_packets), <=, 5 * sqrt ((n_max - 1) * true_packets));
  /* flows that kept no packet vanished */
  g_assert_cmpfloat (st.flows, <, nfsub_test_json_number (t, "totals.true.records"));
}

/* every flow matched to its users through the assignment files */
static void
test_assignments_explain_truth (void)
{
  pop_setup ();
  g_autoptr (GHashTable) sums = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  guint64 unattributed = 0;
  guint nh = pop->days * 24;
  guint64 *bb_out = g_new0 (guint64, nh), *mob_in = g_new0 (guint64, nh);
  for (guint i = 0; i < pop->flows->len; i++)
    {
      Flow *f = &g_array_index (pop->flows, Flow, i);
      gint64 t = f->t_ms / 1000;
      const char *us = lookup_user (&f->src, t), *ud = lookup_user (&f->dst, t);
      for (int side = 0; side < 2; side++)
        {
          const char *u = side ? ud : us;
          if (!u)
            continue;
          guint64 *v = g_hash_table_lookup (sums, u);
          if (!v)
            {
              v = g_new0 (guint64, 2);
              g_hash_table_insert (sums, (gpointer) u, v);
            }
          v[side] += f->bytes;
        }
      if (!us && !ud)
        unattributed += f->bytes;
      gint64 h = (f->t_ms / 1000 - pop->week_start) / 3600;
      g_assert_true (h >= 0 && h < nh);
      if (ud && (g_str_has_prefix (ud, "pppoe:") || g_str_has_prefix (ud, "ipoe:")))
        bb_out[h] += f->bytes;
      if (us && g_str_has_prefix (us, "mobile:"))
        mob_in[h] += f->bytes;
    }
  const NfsubTestJson *users = nfsub_test_json_member (pop->truth, "users");
  guint checked = 0;
  for (guint i = 0; i < nfsub_test_json_length (users); i++)
    {
      const char *key;
      const NfsubTestJson *u = nfsub_test_json_index (users, i, &key);
      guint64 *v = g_hash_table_lookup (sums, key);
      guint64 in = v ? v[0] : 0, out = v ? v[1] : 0;
      if (in != (guint64) nfsub_test_json_number (u, "in_sampled")
          || out != (guint64) nfsub_test_json_number (u, "out_sampled"))
        g_error ("user %s: flows give IN %" G_GUINT64_FORMAT " OUT %" G_GUINT64_FORMAT
                 ", truth %.0f / %.0f", key, in, out, nfsub_test_json_number (u, "in_sampled"),
                 nfsub_test_json_number (u, "out_sampled"));
      checked++;
    }
  g_assert_cmpuint (checked, ==, 4000);
  g_assert_cmpuint (g_hash_table_size (sums), <=, checked);
  g_assert_cmpuint (unattributed, ==, nfsub_test_json_number (pop->truth, "unattributed.sampled_bytes"));
  g_assert_cmpuint (unattributed, >, 0);
  for (guint h = 0; h < nh; h++)
    {
      g_autofree char *p1 = g_strdup_printf ("hourly.broadband.out_sampled.%u", h);
      g_autofree char *p2 = g_strdup_printf ("hourly.mobile.in_sampled.%u", h);
      g_assert_cmpuint (bb_out[h], ==, nfsub_test_json_number (pop->truth, p1));
      g_assert_cmpuint (mob_in[h], ==, nfsub_test_json_number (pop->truth, p2));
    }

  /* the time-of-day shapes of the report, seen in what nfcapd stored:
   * broadband download peaks 19-23h on weekdays (2024-06-03 is a Monday),
   * mobile upload has a lunch peak above the hours around it */
  double prof[24] = { 0 }, mprof[24] = { 0 };
  for (guint d = 0; d < 5; d++)
    for (guint h = 0; h < 24; h++)
      {
        prof[h] += bb_out[d * 24 + h];
        mprof[h] += mob_in[d * 24 + h];
      }
  guint peak = 0;
  for (guint h = 1; h < 24; h++)
    if (prof[h] > prof[peak])
      peak = h;
  g_test_message ("broadband weekday download peak at %u h", peak);
  g_assert_cmpuint (peak, >=, 19);
  g_assert_cmpuint (peak, <=, 23);
  g_assert_cmpfloat (prof[peak], >, 2 * prof[4]);
  g_assert_cmpfloat (mprof[12], >, mprof[10]);
  g_assert_cmpfloat (mprof[12], >, mprof[15]);
  g_assert_cmpfloat (mprof[8], >, mprof[10]);
  g_free (bb_out);
  g_free (mob_in);

  /* per user, sampled vs true volume: z-scores of the binomial thinning
   * are mostly within 3 (heavy users, where the normal law holds) */
  guint big = 0, outliers = 0;
  for (guint i = 0; i < nfsub_test_json_length (users); i++)
    {
      const NfsubTestJson *u = nfsub_test_json_index (users, i, NULL);
      double tr = nfsub_test_json_number (u, "out"), sa = nfsub_test_json_number (u, "out_sampled");
      if (tr < 1e9 || strcmp (nfsub_test_json_string (u, "service"), "broadband"))
        continue;
      double sd = sqrt (999.0 * 1400 * tr);
      big++;
      if (fabs (sa - tr) > 3 * sd)
        outliers++;
    }
  g_test_message ("%u of %u users beyond 3 sd", outliers, big);
  g_assert_cmpuint (big, >, 500);
  g_assert_cmpuint (outliers, <=, big / 50);
}

/* RADIUS accounting (the report's source for mobile volumes): the
 * counters of each user's sessions add up to the true volumes */
static void
test_accounting_counters (void)
{
  pop_setup ();
  const NfsubTestJson *users = nfsub_test_json_member (pop->truth, "users");
  guint checked = 0;
  for (guint i = 0; i < nfsub_test_json_length (users); i++)
    {
      const char *key;
      const NfsubTestJson *u = nfsub_test_json_index (users, i, &key);
      if (!g_str_has_prefix (key, "mobile:") && !g_str_has_prefix (key, "pppoe:u"))
        continue;
      guint64 *acc = g_hash_table_lookup (pop->accounting, key);
      g_assert_nonnull (acc);
      g_assert_cmpuint (acc[0], ==, (guint64) nfsub_test_json_number (u, "in"));
      g_assert_cmpuint (acc[1], ==, (guint64) nfsub_test_json_number (u, "out"));
      checked++;
    }
  g_assert_cmpuint (checked, >, 2000);
}

/* the lower-of-two-ports rule over what nfdump prints equals the truth */
static void
test_ports_from_nfdump (void)
{
  pop_setup ();
  const NfsubTestJson *rows = nfsub_test_json_path (pop->truth, "ports.all.sampled");
  g_assert_nonnull (rows);
  guint64 total = 0, tcp = 0, udp = 0, tcp443 = 0, udp443 = 0, tcp_high = 0, esp = 0;
  for (guint i = 0; i < pop->flows->len; i++)
    {
      Flow *f = &g_array_index (pop->flows, Flow, i);
      guint16 low = MIN (f->sport, f->dport);
      total += f->bytes;
      if (f->proto == 6)
        {
          tcp += f->bytes;
          tcp443 += low == 443 ? f->bytes : 0;
          tcp_high += low >= 1024 ? f->bytes : 0;
        }
      else if (f->proto == 17)
        {
          udp += f->bytes;
          udp443 += low == 443 ? f->bytes : 0;
        }
      else if (f->proto == 50)
        esp += f->bytes;
    }
  struct {
    const char *row;
    guint64 bytes;
  } c[] = { { "tcp", tcp }, { "udp", udp }, { "tcp/443", tcp443 }, { "udp/443", udp443 },
            { "tcp>=1024", tcp_high }, { "esp", esp } };
  for (guint i = 0; i < G_N_ELEMENTS (c); i++)
    g_assert_cmpfloat (fabs (100.0 * c[i].bytes / total - nfsub_test_json_number (rows, c[i].row)),
                       <=, 1e-6);
  g_assert_cmpuint (total, ==, nfsub_test_json_number (pop->truth, "ports.all.bytes_sampled"));
}

/* ------------------------------------------------------------ misc */

static char *
run_files_only (const char *args, int *status)
{
  g_autofree char *dir = nfsub_test_tmpdir ("simpop");
  g_autofree char *line = g_strdup_printf ("%s -o %s %s", nfsub_test_nfsim (), dir, args);
  g_autoptr (GError) error = NULL;
  g_autofree char *out = nfsub_test_run_line (line, status, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&dir);
}

static void
test_deterministic (void)
{
  int st;
  g_autofree char *a = run_files_only ("-u 300 -d 2 -s 5", &st);
  g_assert_cmpint (st, ==, 0);
  g_autofree char *b = run_files_only ("-u 300 -d 2 -s 5", &st);
  g_autofree char *c = run_files_only ("-u 300 -d 2 -s 6", &st);
  const char *files[] = { "truth.json", "kea/leases6.csv", "static.csv",
                          "radacct/192.0.2.1/detail-20240603" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *pa = g_build_filename (a, files[i], NULL);
      g_autofree char *pb = g_build_filename (b, files[i], NULL);
      g_autofree char *pc = g_build_filename (c, files[i], NULL);
      g_autofree char *ta = NULL, *tb = NULL, *tc = NULL;
      g_assert_true (g_file_get_contents (pa, &ta, NULL, NULL));
      g_assert_true (g_file_get_contents (pb, &tb, NULL, NULL));
      g_assert_true (g_file_get_contents (pc, &tc, NULL, NULL));
      g_assert_cmpuint (strlen (ta), >, 100);
      g_assert_cmpstr (ta, ==, tb);
      if (i != 2) /* the static prefixes do not depend on the seed */
        g_assert_cmpstr (ta, !=, tc);
    }
  nfsub_test_rm_rf (a);
  nfsub_test_rm_rf (b);
  nfsub_test_rm_rf (c);
}

static void
test_ipfix (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *file = nfsub_test_fixture ("sim-population-ipfix", "-z",
                                              "-u 400 -d 1 -s 8 -f ipfix", &error);
  g_assert_no_error (error);
  g_autofree char *sim = nfsub_test_fixture_sim_dir (file);
  g_autofree char *tp = g_build_filename (sim, "truth.json", NULL);
  g_autoptr (NfsubTestJson) t = nfsub_test_json_load (tp, &error);
  g_assert_no_error (error);
  NfsubTestStat st;
  g_assert_true (nfsub_test_nfdump_stat (file, &st, &error));
  g_assert_cmpuint (st.sequence_failures, ==, 0);
  g_assert_cmpuint (st.flows, ==, nfsub_test_json_number (t, "totals.expected_nfcapd.flows"));
  g_assert_cmpuint (st.bytes, ==, nfsub_test_json_number (t, "totals.expected_nfcapd.bytes"));
  g_assert_cmpuint (st.flows, >, 10000);
}

static void
test_bad_config (void)
{
  g_autofree char *dir = nfsub_test_tmpdir ("simbad");
  static const struct {
    const char *text, *expect;
  } cases[] = {
    { "[population]\nuserz = 5\n", "userz" },
    { "[population]\nmobile_share = lots\n", "mobile_share" },
    { "[nosuch]\nx = 1\n", "nosuch" },
    { "[export]\nsampling_pppoe = 0\n", "sampling_pppoe" },
    { "[profile.mobile]\nout_weekday = 1 2 3\n", "out_weekday" },
    { "[ports.mobile]\ntcp/http = 5\n", "tcp/http" },
    { "[usage.mobile.in]\nmode = 14\n", "mean" },
    { "[time]\nweek = 2024-13-01\n", "week" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *conf = g_build_filename (dir, "bad.conf", NULL);
      g_assert_true (g_file_set_contents (conf, cases[i].text, -1, NULL));
      g_autofree char *out = g_build_filename (dir, "out", NULL);
      const char *argv[] = { nfsub_test_nfsim (), "-c", conf, "-o", out, "-u", "10", NULL };
      g_autofree char *stdout_text = NULL, *stderr_text = NULL;
      int status = 0;
      g_autoptr (GError) error = NULL;
      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                   &stdout_text, &stderr_text, &status, &error));
      g_test_message ("exit status %d", status);
      g_assert_cmpint (status, !=, 0);
      g_test_message ("%s -> %s", cases[i].text, stderr_text);
      g_assert_nonnull (strstr (stderr_text, cases[i].expect));
      g_assert_nonnull (strstr (stderr_text, "nfsim config"));
      g_assert_nonnull (strstr (stderr_text, conf)); /* names the file */
    }
  nfsub_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  /* nfdump prints local times; the fixture's week is in UTC */
  g_setenv ("TZ", "UTC", TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sim/population/matches-config", test_population_matches_config);
  g_test_add_func ("/sim/population/port-shares", test_port_shares_match_config);
  g_test_add_func ("/sim/population/nfcapd-totals", test_nfcapd_totals);
  g_test_add_func ("/sim/population/assignments-explain-truth", test_assignments_explain_truth);
  g_test_add_func ("/sim/population/ports-from-nfdump", test_ports_from_nfdump);
  g_test_add_func ("/sim/population/accounting-counters", test_accounting_counters);
  g_test_add_func ("/sim/population/deterministic", test_deterministic);
  g_test_add_func ("/sim/population/ipfix", test_ipfix);
  g_test_add_func ("/sim/population/bad-config", test_bad_config);
  return g_test_run ();
}
