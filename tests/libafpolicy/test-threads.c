/* Thread safety: one compiled policy, 8 threads deciding, explaining and
 * asking may_reveal_below at once (each also taking and dropping its own
 * reference), every answer compared with the single-threaded one. Built
 * plain, and run under helgrind and as a ThreadSanitizer build by meson
 * (see meson.build), so a data race fails the suite rather than hiding. */
#include "afcore.h"
#include "afpolicy.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>

#define N_THREADS 8

typedef struct {
  AfPolicy *policy;
  GPtrArray *paths;
  AfLevel *levels;
  int *rules;
  gboolean *reveal;
  guint rounds;
  gint *start; /* all threads begin together */
  guint mismatches;
} Work;

static void *
worker (void *data)
{
  Work *w = data;
  g_autoptr (AfPolicy) mine = af_policy_ref (w->policy);
  while (!g_atomic_int_get (w->start))
    sched_yield ();
  for (guint r = 0; r < w->rounds; r++) {
    for (guint i = 0; i < w->paths->len; i++) {
      const char *path = w->paths->pdata[i];
      int rule;
      if (af_policy_decide (mine, path, -1, &rule) != w->levels[i] || rule != w->rules[i])
        w->mismatches++;
      if (i % 16 == 0) {
        if (af_policy_may_reveal_below (mine, path, -1) != w->reveal[i])
          w->mismatches++;
        g_autoptr (AfExplanation) e = af_policy_explain (mine, path, -1);
        if (e->rule != w->rules[i])
          w->mismatches++;
      }
    }
  }
  return NULL;
}

static void
test_threads (void)
{
  /* A realistic mixed policy: a preset plus anchored and unanchored rules. */
  g_autoptr (AfPresetRegistry) reg = af_preset_registry_new ();
  g_autoptr (GArray) rules = af_rule_array_new ();
  g_assert_true (af_preset_registry_expand (reg, "agent-safe", rules, NULL));
  for (guint i = 0; i < 60; i++) {
    g_autofree char *a = g_strdup_printf ("/pkg%u/src/**", i);
    g_autofree char *b = g_strdup_printf ("/pkg%u/build", i);
    g_autofree char *c = g_strdup_printf ("**/*.ext%u", i % 20);
    af_rule_array_add (rules, a, AF_PATTERN_GLOB, AF_LEVEL_WRITE, (gint32)(i % 3));
    af_rule_array_add (rules, b, AF_PATTERN_DIRECTORY, AF_LEVEL_NONE, 20);
    af_rule_array_add (rules, c, AF_PATTERN_GLOB, AF_LEVEL_VIEW, 1);
  }
  g_autoptr (AfPolicy) policy =
      af_policy_new ((const AfRule *)(void *)rules->data, rules->len, NULL);
  g_assert_nonnull (policy);

  gboolean quick = g_getenv ("AF_THREADS_QUICK") != NULL; /* under helgrind */
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);
  static const char *const names[] = { "src",    "build", "a.ext3", ".env", "secrets", ".git",
                                       "output", "tmp",   "x.key",  "lib",  "main.c" };
  guint n_paths = quick ? 200 : 2000;
  for (guint i = 0; i < n_paths; i++) {
    GString *s = g_string_new (NULL);
    g_string_append_printf (s, "/pkg%u", g_rand_int_range (rand, 0, 70));
    guint depth = (guint)g_rand_int_range (rand, 0, 8);
    for (guint d = 0; d < depth; d++)
      g_string_append_printf (s, "/%s", names[g_rand_int_range (rand, 0, G_N_ELEMENTS (names))]);
    g_ptr_array_add (paths, g_string_free (s, FALSE));
  }

  AfLevel *levels = g_new (AfLevel, paths->len);
  int *rule_of = g_new (int, paths->len);
  gboolean *reveal = g_new (gboolean, paths->len);
  for (guint i = 0; i < paths->len; i++) {
    levels[i] = af_policy_decide (policy, paths->pdata[i], -1, &rule_of[i]);
    reveal[i] = af_policy_may_reveal_below (policy, paths->pdata[i], -1);
  }

  gint start = 0;
  Work work[N_THREADS];
  /* Plain pthreads: the checkers understand them without GLib's lazily
   * initialised thread-private data in the way. */
  pthread_t threads[N_THREADS];
  for (guint t = 0; t < N_THREADS; t++) {
    work[t] = (Work){ policy, paths, levels, rule_of, reveal, quick ? 2 : 50, &start, 0 };
    g_assert_cmpint (pthread_create (&threads[t], NULL, worker, &work[t]), ==, 0);
  }
  g_atomic_int_set (&start, 1);
  guint total = 0;
  for (guint t = 0; t < N_THREADS; t++) {
    g_assert_cmpint (pthread_join (threads[t], NULL), ==, 0);
    g_assert_cmpuint (work[t].mismatches, ==, 0);
    total += work[t].rounds * paths->len;
  }
  g_test_message ("%u threads, %u decisions, all identical to the single-threaded ones", N_THREADS,
                  total);
  g_free (levels);
  g_free (rule_of);
  g_free (reveal);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/policy/threads", test_threads);
  return g_test_run ();
}
