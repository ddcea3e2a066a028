/* Randomized property test: libafpolicy against a deliberately simple
 * reference matcher (straight recursion over the glob grammar, precedence by
 * a plain comparison over all rules, no index). For random rule sets ×
 * random paths the decision, the deciding rule and the explain list must be
 * identical, and af_policy_may_reveal_below must never say FALSE where an
 * enumerated descendant is visible. Seeded by g_test (--seed to replay);
 * AF_ORACLE_SETS overrides the number of rule sets. */
#include "afcore.h"
#include "afpolicy.h"

#include <string.h>

/* ---- the reference ---- */

static const char *
ref_next (const char *s, gunichar *c)
{
  *c = g_utf8_get_char (s);
  return g_utf8_next_char (s);
}

/* Bracket expression at p (just after '['); returns the position after ']'. */
static const char *
ref_class (const char *p, gunichar c, gboolean *hit)
{
  gboolean neg = FALSE, first = TRUE, in = FALSE;
  if (*p == '!' || *p == '^') {
    neg = TRUE;
    p++;
  }
  while (!(*p == ']' && !first)) {
    first = FALSE;
    gunichar lo, hi;
    if (*p == '\\')
      p++;
    p = ref_next (p, &lo);
    if (p[0] == '-' && p[1] != ']') {
      p++;
      if (*p == '\\')
        p++;
      p = ref_next (p, &hi);
      in = in || (lo <= c && c <= hi);
    } else {
      in = in || c == lo;
    }
  }
  *hit = in != neg;
  return p + 1;
}

/* Character-level recursion; p and s are single segments. */
static gboolean
ref_seg (const char *p, const char *s)
{
  if (*p == '\0')
    return *s == '\0';
  if (*p == '*')
    return ref_seg (p + 1, s) || (*s != '\0' && ref_seg (p, g_utf8_next_char (s)));
  if (*s == '\0')
    return FALSE;
  gunichar c;
  const char *rest = ref_next (s, &c);
  if (*p == '?')
    return ref_seg (p + 1, rest);
  if (*p == '[') {
    gboolean hit;
    const char *after = ref_class (p + 1, c, &hit);
    return hit && ref_seg (after, rest);
  }
  if (*p == '\\')
    p++;
  gunichar pc;
  const char *prest = ref_next (p, &pc);
  return pc == c && ref_seg (prest, rest);
}

static gboolean
ref_segs (char **pat, char **path)
{
  if (*pat == NULL)
    return *path == NULL;
  if (strcmp (*pat, "**") == 0)
    return ref_segs (pat + 1, path) || (*path != NULL && ref_segs (pat, path + 1));
  return *path != NULL && ref_seg (*pat, *path) && ref_segs (pat + 1, path + 1);
}

static char **
split (const char *abs)
{
  /* "/" → {}, "/a/b" → {a, b} */
  if (abs[1] == '\0')
    return g_new0 (char *, 1);
  return g_strsplit (abs + 1, "/", -1);
}

static char *
unescape (const char *s)
{
  GString *out = g_string_new (NULL);
  for (; *s; s++) {
    if (*s == '\\')
      s++;
    g_string_append_c (out, *s);
  }
  return g_string_free (out, FALSE);
}

typedef struct {
  char *norm; /* normalized absolute pattern */
  AfPatternType type;
  AfLevel level;
  gint32 priority;
  gboolean wild;
  guint literal;
  guint index;
} RefRule;

static void
ref_rule_prepare (RefRule *r, const AfRule *rule, guint index)
{
  g_autofree char *rel = af_path_normalize (
      rule->pattern, -1, AF_PATH_ALLOW_ABSOLUTE | AF_PATH_RESOLVE_DOTDOT | AF_PATH_ALLOW_ROOT,
      NULL);
  g_assert_nonnull (rel);
  r->norm = g_strconcat ("/", rel, NULL);
  r->type = rule->type;
  r->level = rule->level;
  r->priority = rule->priority;
  r->index = index;
  r->wild = FALSE;
  r->literal = 0;
  for (const char *p = r->norm; *p;) {
    if (*p == '\\') {
      r->literal++;
      p = g_utf8_next_char (p + 1);
    } else if (*p == '*' || *p == '?') {
      r->wild = TRUE;
      p++;
    } else if (*p == '[') {
      gboolean hit;
      r->wild = TRUE;
      p = ref_class (p + 1, 0, &hit);
    } else {
      r->literal++;
      p = g_utf8_next_char (p);
    }
  }
}

static gboolean
ref_matches (const RefRule *r, const char *path)
{
  if (r->type == AF_PATTERN_GLOB) {
    g_auto (GStrv) ps = split (r->norm);
    g_auto (GStrv) xs = split (path);
    return ref_segs (ps, xs);
  }
  g_autofree char *lit = unescape (r->norm);
  if (r->type == AF_PATTERN_FILE)
    return strcmp (lit, path) == 0;
  if (strcmp (lit, "/") == 0)
    return TRUE;
  gsize n = strlen (lit);
  return strncmp (lit, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* <0 when a wins */
static int
ref_cmp (gconstpointer pa, gconstpointer pb)
{
  const RefRule *a = *(const RefRule *const *)pa, *b = *(const RefRule *const *)pb;
  if (a->priority != b->priority)
    return a->priority > b->priority ? -1 : 1;
  if (a->type != b->type)
    return a->type > b->type ? -1 : 1;
  if (a->wild != b->wild)
    return a->wild ? 1 : -1;
  if (a->literal != b->literal)
    return a->literal > b->literal ? -1 : 1;
  return a->index > b->index ? -1 : 1;
}

/* Matching rules, best first. */
static GPtrArray *
ref_explain (RefRule *rules, guint n, const char *path)
{
  GPtrArray *m = g_ptr_array_new ();
  for (guint i = 0; i < n; i++)
    if (ref_matches (&rules[i], path))
      g_ptr_array_add (m, &rules[i]);
  g_ptr_array_sort (m, ref_cmp);
  return m;
}

static AfLevel
ref_decide (RefRule *rules, guint n, const char *path)
{
  g_autoptr (GPtrArray) m = ref_explain (rules, n, path);
  return m->len ? ((RefRule *)m->pdata[0])->level : AF_LEVEL_NONE;
}

/* ---- the generator ---- */

static const char *const names[] = { "a",     "b",       "ab",  "ba", ".env", ".env.local", "x.key",
                                     "c.pem", "secrets", "src", "é",  "日本", "a.b.c",      "*" };
static const char *const globsegs[] = {
  "*",     "**",  "?",    "*.key", "a*", "*b",   "[ab]",  "[!a]",  "[a-c]*", "\\*",
  ".env*", "a?",  "a**",  "*a*",   "?*", "[]]*", "[^b]?", "*.*",   "[é]",    "??",
  "*.pem", "s*s", "[a-]", "\\a",   "**", "**",   "*",     "[z-a]", "日*",    "secrets",
};

static char *
random_path (GRand *rand)
{
  guint depth = (guint)g_rand_int_range (rand, 0, 6);
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < depth; i++) {
    g_string_append_c (s, '/');
    g_string_append (s, names[g_rand_int_range (rand, 0, G_N_ELEMENTS (names))]);
  }
  if (s->len == 0)
    g_string_append_c (s, '/');
  return g_string_free (s, FALSE);
}

static void
random_rule (GRand *rand, AfRule *out)
{
  int t = g_rand_int_range (rand, 0, 10);
  out->type = t < 7 ? AF_PATTERN_GLOB : (t < 9 ? AF_PATTERN_DIRECTORY : AF_PATTERN_FILE);
  out->level = (AfLevel)g_rand_int_range (rand, 0, 4);
  static const gint32 prios[] = { -1, 0, 0, 0, 1, 5, 100 };
  out->priority = prios[g_rand_int_range (rand, 0, G_N_ELEMENTS (prios))];

  GString *s = g_string_new (NULL);
  guint depth = (guint)g_rand_int_range (rand, 0, 5);
  if (g_rand_boolean (rand))
    g_string_append_c (s, '/'); /* leading '/' optional */
  for (guint i = 0; i < depth; i++) {
    if (i > 0)
      g_string_append (s, g_rand_int_range (rand, 0, 12) == 0 ? "//" : "/");
    gboolean literal = out->type != AF_PATTERN_GLOB || g_rand_int_range (rand, 0, 2) == 0;
    const char *seg = literal ? names[g_rand_int_range (rand, 0, G_N_ELEMENTS (names) - 1)]
                              : globsegs[g_rand_int_range (rand, 0, G_N_ELEMENTS (globsegs))];
    g_string_append (s, seg);
    int extra = g_rand_int_range (rand, 0, 16);
    if (extra == 0)
      g_string_append (s, "/.");
    else if (extra == 1)
      g_string_append (s, "/zz/..");
  }
  if (s->len == 0)
    g_string_append (s, g_rand_boolean (rand) ? "/" : ".");
  if (g_rand_int_range (rand, 0, 8) == 0)
    g_string_append_c (s, '/');
  out->pattern = g_string_free (s, FALSE);
}

static void
check_set (GRand *rand, guint max_rules, guint n_paths, gboolean check_reveal, guint *n_decisions)
{
  guint n = (guint)g_rand_int_range (rand, 0, (gint32)max_rules + 1);
  g_autoptr (GArray) rules = af_rule_array_new ();
  for (guint i = 0; i < n; i++) {
    AfRule r;
    random_rule (rand, &r);
    g_array_append_val (rules, r);
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (AfPolicy) p = af_policy_new ((AfRule *)(void *)rules->data, n, &error);
  g_assert_no_error (error);

  RefRule *ref = g_new0 (RefRule, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    ref_rule_prepare (&ref[i], &g_array_index (rules, AfRule, i), i);

  for (guint k = 0; k < n_paths; k++) {
    g_autofree char *path = random_path (rand);
    g_autoptr (GPtrArray) m = ref_explain (ref, n, path);
    int want_rule = m->len ? (int)((RefRule *)m->pdata[0])->index : -1;
    AfLevel want = m->len ? ((RefRule *)m->pdata[0])->level : AF_LEVEL_NONE;
    int got_rule;
    AfLevel got = af_policy_decide (p, path, -1, &got_rule);
    g_autoptr (AfExplanation) e = af_policy_explain (p, path, -1);
    gboolean same = got == want && got_rule == want_rule && e->level == want &&
                    e->rule == want_rule && e->matches->len == m->len;
    for (guint i = 0; same && i < m->len; i++)
      same = g_array_index (e->matches, int, i) == (int)((RefRule *)m->pdata[i])->index;
    if (!same) {
      for (guint i = 0; i < n; i++) {
        const AfRule *r = &g_array_index (rules, AfRule, i);
        g_printerr ("  rule %u: %s '%s' %s p%d\n", i, af_pattern_type_to_string (r->type),
                    r->pattern, af_level_to_string (r->level), r->priority);
      }
      g_error ("%s: reference says %s by rule %d, libafpolicy %s by rule %d (explain %d)", path,
               af_level_to_string (want), want_rule, af_level_to_string (got), got_rule, e->rule);
    }
    (*n_decisions)++;

    if (check_reveal && !af_policy_may_reveal_below (p, path, -1)) {
      /* No false negatives: every enumerated descendant (1–2 levels) is none. */
      for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
        const char *sep = strcmp (path, "/") == 0 ? "" : "/";
        g_autofree char *c1 = g_strconcat (path, sep, names[i], NULL);
        if (ref_decide (ref, n, c1) != AF_LEVEL_NONE)
          g_error ("%s: may_reveal_below is FALSE but %s is visible", path, c1);
        for (guint j = 0; j < G_N_ELEMENTS (names); j++) {
          g_autofree char *c2 = g_strconcat (c1, "/", names[j], NULL);
          if (ref_decide (ref, n, c2) != AF_LEVEL_NONE)
            g_error ("%s: may_reveal_below is FALSE but %s is visible", path, c2);
        }
      }
    }
  }
  for (guint i = 0; i < n; i++)
    g_free (ref[i].norm);
  g_free (ref);
}

static void
test_oracle (void)
{
  const char *env = g_getenv ("AF_ORACLE_SETS");
  guint sets = env ? (guint)g_ascii_strtoull (env, NULL, 10) : 13000;
  guint decisions = 0;
  g_autoptr (GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  for (guint s = 0; s < sets; s++)
    check_set (rand, 8, 8, s % 32 == 0, &decisions);
  g_test_message ("%u rule sets, %u decisions identical to the reference", sets, decisions);
  if (env == NULL)
    g_assert_cmpuint (decisions, >=, 100000);
}

/* Large rule sets: many rules share index lists, trie nodes and keys. */
static void
test_oracle_large (void)
{
  guint decisions = 0;
  g_autoptr (GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  for (guint s = 0; s < 200; s++)
    check_set (rand, 150, 30, s % 4 == 0, &decisions);
  g_test_message ("200 large rule sets, %u decisions identical to the reference", decisions);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/policy/oracle", test_oracle);
  g_test_add_func ("/policy/oracle-large", test_oracle_large);
  return g_test_run ();
}
