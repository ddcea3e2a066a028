/* "A decision allocates nothing": malloc, calloc and realloc are wrapped
 * (this executable's definitions take precedence over libc's) and counted
 * while af_policy_decide and af_policy_may_reveal_below run over many paths,
 * including ones deeper than the indexed walk. Not built with sanitizers,
 * which bring their own allocator. */
#include "afcore.h"
#include "afpolicy.h"

#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc (size_t n);
extern void *__libc_calloc (size_t n, size_t m);
extern void *__libc_realloc (void *p, size_t n);

static gboolean counting;
static guint n_allocs;

void *
malloc (size_t n)
{
  if (counting)
    n_allocs++;
  return __libc_malloc (n);
}

void *
calloc (size_t n, size_t m)
{
  if (counting)
    n_allocs++;
  return __libc_calloc (n, m);
}

void *
realloc (void *p, size_t n)
{
  if (counting)
    n_allocs++;
  return __libc_realloc (p, n);
}

static void
test_noalloc (void)
{
  g_autoptr (AfPresetRegistry) reg = af_preset_registry_new ();
  g_autoptr (GArray) rules = af_rule_array_new ();
  g_assert_true (af_preset_registry_expand (reg, "agent-safe", rules, NULL));
  af_rule_array_add (rules, "/src/**/*.c", AF_PATTERN_GLOB, AF_LEVEL_WRITE, 5);
  af_rule_array_add (rules, "/src/gen", AF_PATTERN_DIRECTORY, AF_LEVEL_NONE, 6);
  af_rule_array_add (rules, "/a/b", AF_PATTERN_FILE, AF_LEVEL_VIEW, 0);
  af_rule_array_add (rules, "*/[a-c]?/**/x*", AF_PATTERN_GLOB, AF_LEVEL_READ, 7);
  g_autoptr (AfPolicy) p = af_policy_new ((const AfRule *)(void *)rules->data, rules->len, NULL);
  g_assert_nonnull (p);

  GString *deep = g_string_new (NULL);
  for (guint i = 0; i < 300; i++)
    g_string_append (deep, "/d");
  const char *paths[] = { "/",          "/src/a/b.c", "/src/gen/x", "/.env",         "/a/b",
                          "/x/ab/y/xz", "/secrets/k", "/output/o",  "/.git/HEAD",    deep->str,
                          "/tmp/t.pem", "/é/日本",    "/a/\xff",    "/credentials1", "/q.key" };
  guint visible = 0;
  counting = TRUE;
  for (guint r = 0; r < 100; r++)
    for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
      int rule;
      visible += af_policy_decide (p, paths[i], -1, &rule) != AF_LEVEL_NONE;
      visible += af_policy_may_reveal_below (p, paths[i], -1);
    }
  counting = FALSE;
  g_assert_cmpuint (n_allocs, ==, 0);
  g_assert_cmpuint (visible, >, 0);

  /* The counter works: explain does allocate. */
  counting = TRUE;
  AfExplanation *e = af_policy_explain (p, "/src/a.c", -1);
  counting = FALSE;
  af_explanation_free (e);
  g_assert_cmpuint (n_allocs, >, 0);
  g_string_free (deep, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/policy/noalloc", test_noalloc);
  return g_test_run ();
}
