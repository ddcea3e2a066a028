/* Unit tests for libafpolicy's API: decisions, explain, implied traversal,
 * validation errors (each names the rule index and the reason), the enum
 * names and wire values, and the allocation-free decision path. */
#include "afcore.h"
#include "afpolicy.h"

#include <string.h>

typedef struct {
  const char *pattern;
  AfPatternType type;
  AfLevel level;
  gint32 priority;
} R;

static AfPolicy *
policy_of (const R *rules, gsize n)
{
  g_autoptr (GArray) a = af_rule_array_new ();
  for (gsize i = 0; i < n; i++)
    af_rule_array_add (a, rules[i].pattern, rules[i].type, rules[i].level, rules[i].priority);
  g_autoptr (GError) error = NULL;
  AfPolicy *p = af_policy_new ((const AfRule *)(void *)a->data, a->len, &error);
  g_assert_no_error (error);
  return p;
}

static void
assert_decision (const AfPolicy *p, const char *path, AfLevel level, int rule)
{
  int got_rule = -2;
  AfLevel got = af_policy_decide (p, path, -1, &got_rule);
  if (got != level || got_rule != rule)
    g_error ("%s: expected %s by rule %d, got %s by rule %d", path, af_level_to_string (level),
             rule, af_level_to_string (got), got_rule);
  g_autoptr (AfExplanation) e = af_policy_explain (p, path, -1);
  g_assert_cmpint (e->level, ==, level);
  g_assert_cmpint (e->rule, ==, rule);
  if (rule >= 0)
    g_assert_cmpint (g_array_index (e->matches, int, 0), ==, rule);
  else
    g_assert_cmpuint (e->matches->len, ==, 0);
}

static void
test_decide_basic (void)
{
  static const R rules[] = {
    { "**/*", AF_PATTERN_GLOB, AF_LEVEL_READ, 0 },
    { "/src", AF_PATTERN_DIRECTORY, AF_LEVEL_WRITE, 0 },
    { "/src/gen/out.c", AF_PATTERN_FILE, AF_LEVEL_VIEW, 0 },
    { "**/*.key", AF_PATTERN_GLOB, AF_LEVEL_NONE, 100 },
  };
  g_autoptr (AfPolicy) p = policy_of (rules, G_N_ELEMENTS (rules));
  g_assert_cmpuint (af_policy_get_n_rules (p), ==, 4);
  g_assert_cmpstr (af_policy_get_rule (p, 3)->pattern, ==, "**/*.key");
  assert_decision (p, "/", AF_LEVEL_NONE, -1);
  assert_decision (p, "/README", AF_LEVEL_READ, 0);
  assert_decision (p, "/src", AF_LEVEL_WRITE, 1);
  assert_decision (p, "/src/a/b.c", AF_LEVEL_WRITE, 1);
  assert_decision (p, "/src/gen/out.c", AF_LEVEL_VIEW, 2);
  assert_decision (p, "/src/gen/out.c/x", AF_LEVEL_WRITE, 1);
  assert_decision (p, "/src/id.key", AF_LEVEL_NONE, 3);
  assert_decision (p, "/deep/a/b/c/d/e/f/id.key", AF_LEVEL_NONE, 3);
  /* explicit length: only the first bytes count */
  int rule;
  g_assert_cmpint (af_policy_decide (p, "/src/id.key", 4, &rule), ==, AF_LEVEL_WRITE);
  g_assert_cmpint (rule, ==, 1);
  g_assert_cmpint (af_policy_decide (p, "/x", -1, NULL), ==, AF_LEVEL_READ);
}

static void
test_explain_order (void)
{
  static const R rules[] = {
    { "**/*", AF_PATTERN_GLOB, AF_LEVEL_READ, 0 },
    { "/a/**", AF_PATTERN_GLOB, AF_LEVEL_WRITE, 0 },
    { "/a", AF_PATTERN_DIRECTORY, AF_LEVEL_VIEW, 0 },
    { "/a/b", AF_PATTERN_FILE, AF_LEVEL_NONE, -1 },
    { "/a/*", AF_PATTERN_GLOB, AF_LEVEL_VIEW, 5 },
  };
  g_autoptr (AfPolicy) p = policy_of (rules, G_N_ELEMENTS (rules));
  g_autoptr (AfExplanation) e = af_policy_explain (p, "/a/b", -1);
  /* p5 first; then p0: the directory before globs; among the globs, rule
   * 1 (3 literal characters) before rule 0 (2); the p-1 file last. */
  static const int expected[] = { 4, 2, 1, 0, 3 };
  g_assert_cmpuint (e->matches->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpint (g_array_index (e->matches, int, i), ==, expected[i]);
  g_assert_cmpint (e->rule, ==, 4);
  g_assert_cmpint (e->level, ==, AF_LEVEL_VIEW);
}

static void
test_reveal_below (void)
{
  static const R one[] = { { "/a/b/c.txt", AF_PATTERN_GLOB, AF_LEVEL_READ, 0 } };
  g_autoptr (AfPolicy) p = policy_of (one, 1);
  g_assert_true (af_policy_may_reveal_below (p, "/", -1));
  g_assert_true (af_policy_may_reveal_below (p, "/a", -1));
  g_assert_true (af_policy_may_reveal_below (p, "/a/b", -1));
  g_assert_false (af_policy_may_reveal_below (p, "/a/b/c.txt", -1));
  g_assert_false (af_policy_may_reveal_below (p, "/a/c", -1));
  g_assert_false (af_policy_may_reveal_below (p, "/b", -1));

  /* A covering none rule of higher precedence hides everything below. */
  static const R hide[] = {
    { "**/*", AF_PATTERN_GLOB, AF_LEVEL_READ, 0 },
    { "**/secrets/**", AF_PATTERN_GLOB, AF_LEVEL_NONE, 100 },
    { "/secrets/public", AF_PATTERN_DIRECTORY, AF_LEVEL_READ, 200 },
  };
  g_autoptr (AfPolicy) q = policy_of (hide, 2);
  g_assert_false (af_policy_may_reveal_below (q, "/secrets", -1));
  g_assert_false (af_policy_may_reveal_below (q, "/x/secrets/y", -1));
  g_assert_true (af_policy_may_reveal_below (q, "/x", -1));
  g_autoptr (AfPolicy) r = policy_of (hide, 3);
  g_assert_true (af_policy_may_reveal_below (r, "/secrets", -1));
  g_assert_false (af_policy_may_reveal_below (r, "/x/secrets", -1));

  /* Empty policy: nothing anywhere. */
  g_autoptr (AfPolicy) empty = policy_of (NULL, 0);
  g_assert_false (af_policy_may_reveal_below (empty, "/", -1));
  assert_decision (empty, "/", AF_LEVEL_NONE, -1);
  assert_decision (empty, "/a", AF_LEVEL_NONE, -1);
}

typedef struct {
  const char *pattern;
  AfPatternType type;
  int level;
  const char *why;
} BadCase;

static void
test_validation (void)
{
  g_autofree char *long_pattern = g_strnfill (AF_POLICY_MAX_PATTERN + 1, 'a');
  const BadCase cases[] = {
    { "", AF_PATTERN_GLOB, AF_LEVEL_READ, "empty pattern" },
    { "/a/[bc", AF_PATTERN_GLOB, AF_LEVEL_READ, "unbalanced '['" },
    { "[]", AF_PATTERN_GLOB, AF_LEVEL_READ, "unbalanced '['" },
    { "/a/[!]", AF_PATTERN_GLOB, AF_LEVEL_READ, "unbalanced '['" },
    { "/a\\", AF_PATTERN_GLOB, AF_LEVEL_READ, "trailing '\\'" },
    { "/a\\/b", AF_PATTERN_GLOB, AF_LEVEL_READ, "trailing '\\'" },
    { "/..", AF_PATTERN_GLOB, AF_LEVEL_READ, "above the codebase root" },
    { "/a/../../b", AF_PATTERN_DIRECTORY, AF_LEVEL_READ, "above the codebase root" },
    { long_pattern, AF_PATTERN_GLOB, AF_LEVEL_READ, "4097 bytes long; the limit is 4096" },
    { "/a", AF_PATTERN_GLOB, 7, "unknown permission" },
    { "/a", AF_PATTERN_GLOB, -1, "unknown permission" },
    { "/a", (AfPatternType)5, AF_LEVEL_READ, "unknown pattern type" },
    { "/a/*.c", AF_PATTERN_FILE, AF_LEVEL_READ, "not allowed in a file rule" },
    { "/a/?", AF_PATTERN_DIRECTORY, AF_LEVEL_READ, "not allowed in a directory rule" },
    { "/a/[x]", AF_PATTERN_FILE, AF_LEVEL_READ, "not allowed in a file rule" },
    { "/**", AF_PATTERN_DIRECTORY, AF_LEVEL_READ, "not allowed in a directory rule" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    /* The bad rule sits at index 2 behind two good ones. */
    AfRule rules[3] = {
      { (char *)"/ok", AF_PATTERN_GLOB, AF_LEVEL_READ, 0 },
      { (char *)"**/*", AF_PATTERN_GLOB, AF_LEVEL_VIEW, 0 },
      { (char *)cases[i].pattern, cases[i].type, (AfLevel)cases[i].level, 0 },
    };
    g_autoptr (GError) error = NULL;
    g_autoptr (AfPolicy) p = af_policy_new (rules, 3, &error);
    g_assert_null (p);
    g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
    if (!g_str_has_prefix (error->message, "rule 2: ") || !strstr (error->message, cases[i].why))
      g_error ("case %u (%s): message '%s' lacks 'rule 2: …%s'", i, cases[i].pattern,
               error->message, cases[i].why);
  }

  /* NUL bytes only exist with explicit lengths (wire strings). */
  AfRule nul = { (char *)"/a\0b", AF_PATTERN_GLOB, AF_LEVEL_READ, 0 };
  g_autoptr (GError) error = NULL;
  g_assert_false (af_rule_validate (&nul, 4, 9, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_true (strstr (error->message, "rule 9: ") == error->message);
  g_assert_nonnull (strstr (error->message, "NUL byte"));
  g_assert_true (af_rule_validate (&nul, 2, 9, NULL));

  /* Exactly at the limit is fine; escapes and odd-but-valid classes too. */
  static const char *const good[] = { "/a/[]]", "/a/[!]]x",    "/a/\\[", "/a/[a-]", "/",
                                      ".",      "/a/./b/../c", "//a//",  "/a/\\*",  "**/**/x" };
  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    AfRule r = { (char *)good[i], AF_PATTERN_GLOB, AF_LEVEL_READ, 0 };
    g_autoptr (GError) e2 = NULL;
    g_autoptr (AfPolicy) p = af_policy_new (&r, 1, &e2);
    g_assert_no_error (e2);
    g_assert_nonnull (p);
  }
  g_autofree char *segs = g_strnfill (AF_POLICY_MAX_PATTERN, 'a');
  for (guint i = 1; i < AF_POLICY_MAX_PATTERN; i += 2)
    segs[i] = '/';
  AfRule deep = { segs, AF_PATTERN_GLOB, AF_LEVEL_READ, 0 };
  g_assert_true (af_rule_validate (&deep, -1, 0, NULL));
  /* escaped wildcards are literal in file rules */
  static const R lit[] = { { "/a\\*b", AF_PATTERN_FILE, AF_LEVEL_READ, 0 } };
  g_autoptr (AfPolicy) lp = policy_of (lit, 1);
  assert_decision (lp, "/a*b", AF_LEVEL_READ, 0);
  assert_decision (lp, "/axb", AF_LEVEL_NONE, -1);
}

static void
test_too_many_rules (void)
{
  g_autoptr (GArray) a = af_rule_array_new ();
  for (guint i = 0; i <= AF_POLICY_MAX_RULES; i++)
    af_rule_array_add (a, "/x", AF_PATTERN_GLOB, AF_LEVEL_READ, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (AfPolicy) p = af_policy_new ((const AfRule *)(void *)a->data, a->len, &error);
  g_assert_null (p);
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "10001"));
  g_assert_nonnull (strstr (error->message, "10000"));
  g_clear_error (&error);
  g_autoptr (AfPolicy) ok = af_policy_new ((const AfRule *)(void *)a->data, a->len - 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (af_policy_decide (ok, "/x", -1, NULL), ==, AF_LEVEL_READ);

  /* The patterns' total size is bounded too: 300 rules of 4,000 bytes. */
  g_autoptr (GArray) big = af_rule_array_new ();
  g_autofree char *deep = g_strnfill (4000, 'a');
  for (guint i = 1; i < 4000; i += 2)
    deep[i] = '/';
  for (guint i = 0; i < 300; i++)
    af_rule_array_add (big, deep, AF_PATTERN_GLOB, AF_LEVEL_READ, 0);
  g_autoptr (AfPolicy) too_big =
      af_policy_new ((const AfRule *)(void *)big->data, big->len, &error);
  g_assert_null (too_big);
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "1200000 bytes; the limit is 1048576"));
  g_clear_error (&error);
  g_autoptr (AfPolicy) fits = af_policy_new ((const AfRule *)(void *)big->data, 250, &error);
  g_assert_no_error (error);
  g_assert_cmpint (af_policy_decide (fits, deep, -1, NULL), ==, AF_LEVEL_READ);
}

static void
test_names_and_wire (void)
{
  static const char *const names[] = { "none", "view", "read", "write" };
  static const char *const wire[] = { "PERMISSION_NONE", "PERMISSION_VIEW", "PERMISSION_READ",
                                      "PERMISSION_WRITE" };
  for (int i = 0; i < 4; i++) {
    AfLevel l = 99;
    g_assert_cmpstr (af_level_to_string ((AfLevel)i), ==, names[i]);
    g_assert_true (af_level_parse (names[i], &l, NULL));
    g_assert_cmpint (l, ==, i);
    l = 99;
    g_assert_true (af_level_parse (wire[i], &l, NULL));
    g_assert_cmpint (l, ==, i);
    g_assert_cmpint (af_level_to_wire ((AfLevel)i), ==, i + 1);
    g_assert_true (af_level_from_wire (i + 1, &l, NULL));
    g_assert_cmpint (l, ==, i);
  }
  g_autoptr (GError) error = NULL;
  AfLevel l;
  g_assert_false (af_level_parse ("admin", &l, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (af_level_parse ("PERMISSION_UNSPECIFIED", &l, &error));
  g_clear_error (&error);
  g_assert_false (af_level_from_wire (0, &l, &error));
  g_assert_nonnull (strstr (error->message, "unspecified"));
  g_clear_error (&error);
  g_assert_false (af_level_from_wire (5, &l, &error));
  g_clear_error (&error);

  AfPatternType t = 99;
  g_assert_true (af_pattern_type_from_wire (0, &t, NULL));
  g_assert_cmpint (t, ==, AF_PATTERN_GLOB);
  g_assert_true (af_pattern_type_from_wire (2, &t, NULL));
  g_assert_cmpint (t, ==, AF_PATTERN_DIRECTORY);
  g_assert_true (af_pattern_type_from_wire (3, &t, NULL));
  g_assert_cmpint (t, ==, AF_PATTERN_FILE);
  g_assert_false (af_pattern_type_from_wire (4, &t, &error));
  g_clear_error (&error);
  g_assert_cmpint (af_pattern_type_to_wire (AF_PATTERN_FILE), ==, 3);
  g_assert_true (af_pattern_type_parse ("directory", &t, NULL));
  g_assert_cmpint (t, ==, AF_PATTERN_DIRECTORY);
  g_assert_true (af_pattern_type_parse ("PATTERN_TYPE_FILE", &t, NULL));
  g_assert_cmpint (t, ==, AF_PATTERN_FILE);
  g_assert_false (af_pattern_type_parse ("regex", &t, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (af_pattern_type_to_string (AF_PATTERN_GLOB), ==, "glob");

  AfRule r = { (char *)"/src/**", AF_PATTERN_GLOB, AF_LEVEL_WRITE, 10 };
  g_autofree char *text = af_rule_to_string (&r);
  g_assert_cmpstr (text, ==, "glob '/src/**' write priority 10");
}

/* Paths deeper than the indexed walk handles (256 segments) decide the same
 * through the unindexed path. */
static void
test_deep_paths (void)
{
  static const R rules[] = {
    { "**/*", AF_PATTERN_GLOB, AF_LEVEL_READ, 0 },
    { "/a", AF_PATTERN_DIRECTORY, AF_LEVEL_WRITE, 0 },
    { "**/*.key", AF_PATTERN_GLOB, AF_LEVEL_NONE, 100 },
    { "**/deep/**", AF_PATTERN_GLOB, AF_LEVEL_VIEW, 50 },
  };
  g_autoptr (AfPolicy) p = policy_of (rules, G_N_ELEMENTS (rules));
  for (guint depth = 250; depth < 262; depth++) {
    GString *s = g_string_new ("/a");
    for (guint i = 1; i < depth; i++)
      g_string_append (s, "/x");
    assert_decision (p, s->str, AF_LEVEL_WRITE, 1);
    g_string_append (s, "/id.key");
    assert_decision (p, s->str, AF_LEVEL_NONE, 2);
    g_string_insert (s, 0, "/b/deep");
    assert_decision (p, s->str, AF_LEVEL_NONE, 2);
    g_string_truncate (s, s->len - strlen ("/id.key"));
    assert_decision (p, s->str, AF_LEVEL_VIEW, 3);
    g_string_free (s, TRUE);
  }
}

/* Non-canonical input is tolerated: empty segments are skipped. */
static void
test_lenient_paths (void)
{
  static const R rules[] = { { "/a/b", AF_PATTERN_FILE, AF_LEVEL_READ, 0 } };
  g_autoptr (AfPolicy) p = policy_of (rules, 1);
  g_assert_cmpint (af_policy_decide (p, "a/b", -1, NULL), ==, AF_LEVEL_READ);
  g_assert_cmpint (af_policy_decide (p, "//a//b/", -1, NULL), ==, AF_LEVEL_READ);
  g_assert_cmpint (af_policy_decide (p, "", -1, NULL), ==, AF_LEVEL_NONE);
  /* invalid UTF-8 in a real file name decides without crashing */
  g_assert_cmpint (af_policy_decide (p, "/a/\xff\xfe", -1, NULL), ==, AF_LEVEL_NONE);

  /* Each invalid byte is one character that no pattern character equals. */
  static const R q[] = { { "/b/?", AF_PATTERN_GLOB, AF_LEVEL_READ, 0 },
                         { "/c/[!x]", AF_PATTERN_GLOB, AF_LEVEL_VIEW, 0 },
                         { "/d/*z", AF_PATTERN_GLOB, AF_LEVEL_WRITE, 0 } };
  g_autoptr (AfPolicy) u = policy_of (q, G_N_ELEMENTS (q));
  assert_decision (u, "/b/\xff", AF_LEVEL_READ, 0);
  assert_decision (u, "/b/\xff\xfe", AF_LEVEL_NONE, -1);
  assert_decision (u, "/b/\xc3", AF_LEVEL_READ, 0); /* a truncated sequence */
  assert_decision (u, "/c/\xff", AF_LEVEL_VIEW, 1);
  assert_decision (u, "/d/\xe6\x97z", AF_LEVEL_WRITE, 2);
}

static void
test_refcount (void)
{
  static const R rules[] = { { "/a", AF_PATTERN_FILE, AF_LEVEL_READ, 0 } };
  AfPolicy *p = policy_of (rules, 1);
  AfPolicy *q = af_policy_ref (p);
  g_assert_true (p == q);
  af_policy_unref (p);
  g_assert_cmpint (af_policy_decide (q, "/a", -1, NULL), ==, AF_LEVEL_READ);
  af_policy_unref (q);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/policy/decide/basic", test_decide_basic);
  g_test_add_func ("/policy/explain/order", test_explain_order);
  g_test_add_func ("/policy/reveal-below", test_reveal_below);
  g_test_add_func ("/policy/validation", test_validation);
  g_test_add_func ("/policy/too-many-rules", test_too_many_rules);
  g_test_add_func ("/policy/names-and-wire", test_names_and_wire);
  g_test_add_func ("/policy/refcount", test_refcount);
  g_test_add_func ("/policy/deep-paths", test_deep_paths);
  g_test_add_func ("/policy/lenient-paths", test_lenient_paths);
  return g_test_run ();
}
