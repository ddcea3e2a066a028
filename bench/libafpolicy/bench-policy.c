/* bench-policy — decision time of libafpolicy and its flatness in the rule
 * count.
 *
 * For 10, 100 and 1,000 mixed rules (the agent-safe preset, anchored globs,
 * directory and file rules, unanchored globs by extension, by segment and by
 * prefix) it times af_policy_decide on paths of depth 8 and, in the same
 * run, the reference: a first-match scan over every rule in precedence order
 * (what a matcher without an index does). Both sides must agree on every
 * decision (checked by a checksum), or the benchmark fails.
 *
 *   bench-policy [--rounds N]
 *
 * Prints the median ns per decision over rounds of 1,000 paths (the three
 * rule counts interleaved, so they share the machine's load), the ratio to
 * the reference, the flatness t(N)/t(10), and the mean time of
 * af_policy_may_reveal_below on the paths' parent directories. */
#include "af-policy-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 1000
#define N_PATHS 4096

static const char *const exts[] = { "c", "h", "py", "md", "json", "rs", "go", "txt", "key", "pem" };
static const char *const words[] = { "src",  "lib",   "docs", "test", "app",  "core",
                                     "util", "model", "api",  "web",  "build" };

static void add (GArray *rules, AfPatternType type, AfLevel level, gint32 prio, const char *fmt,
                 ...) G_GNUC_PRINTF (5, 6);

static void
add (GArray *rules, AfPatternType type, AfLevel level, gint32 prio, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *pattern = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  af_rule_array_add (rules, pattern, type, level, prio);
}

/* n mixed rules: 9 from agent-safe, then a rotating mix. */
static GArray *
mixed_rules (guint n, guint n_pkgs)
{
  g_autoptr (AfPresetRegistry) reg = af_preset_registry_new ();
  GArray *rules = af_rule_array_new ();
  af_preset_registry_expand (reg, "agent-safe", rules, NULL);
  for (guint i = 0; rules->len < n; i++) {
    guint pkg = i % n_pkgs;
    const char *w = words[i % G_N_ELEMENTS (words)];
    const char *e = exts[i % G_N_ELEMENTS (exts)];
    switch (i % 8) {
    case 0:
      add (rules, AF_PATTERN_GLOB, AF_LEVEL_WRITE, 10, "/pkg%u/%s/**", pkg, w);
      break;
    case 1:
      add (rules, AF_PATTERN_GLOB, AF_LEVEL_VIEW, 5, "/pkg%u/%s/**/*.%s", pkg, w, e);
      break;
    case 2:
      add (rules, AF_PATTERN_DIRECTORY, AF_LEVEL_NONE, 20, "/pkg%u/%s/gen", pkg, w);
      break;
    case 3:
      add (rules, AF_PATTERN_FILE, AF_LEVEL_READ, 30, "/pkg%u/%s/a/b/c/d/e/f.%s", pkg, w, e);
      break;
    case 4:
      add (rules, AF_PATTERN_GLOB, AF_LEVEL_NONE, 40, "**/*.%s%u", e, i);
      break;
    case 5:
      add (rules, AF_PATTERN_GLOB, AF_LEVEL_NONE, 40, "**/cache%u/**", i);
      break;
    case 6:
      add (rules, AF_PATTERN_GLOB, AF_LEVEL_READ, 15, "/pkg%u/*/%s/*.%s", pkg, w, e);
      break;
    default:
      add (rules, AF_PATTERN_GLOB, AF_LEVEL_VIEW, 12, "**/tmp%u*", i);
      break;
    }
  }
  return rules;
}

static char **
make_paths (guint n_pkgs)
{
  GRand *rand = g_rand_new_with_seed (7);
  char **paths = g_new0 (char *, N_PATHS + 1);
  for (guint i = 0; i < N_PATHS; i++) {
    GString *s = g_string_new (NULL);
    g_string_append_printf (s, "/pkg%u", g_rand_int_range (rand, 0, (gint32)n_pkgs + 2));
    for (guint d = 1; d < 7; d++)
      g_string_append_printf (s, "/%s", words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
    g_string_append_printf (s, "/file%u.%s", i % 50,
                            exts[g_rand_int_range (rand, 0, G_N_ELEMENTS (exts))]);
    paths[i] = g_string_free (s, FALSE);
  }
  g_rand_free (rand);
  return paths;
}

/* The reference: first match in precedence order over every rule. */
static AfLevel
linear_decide (const AfPolicy *p, const char *path, gsize len, int *rule)
{
  for (gsize r = 0; r < p->n_rules; r++) {
    if (af_glob_match_from (p->by_rank[r].glob, 0, path, len, 0)) {
      *rule = (int)p->by_rank[r].index;
      return p->by_rank[r].level;
    }
  }
  *rule = -1;
  return AF_LEVEL_NONE;
}

/* CPU time of this thread: on a shared machine, wall time mostly measures
 * the other tenants. */
static double
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median ns per decision; *sum gets a checksum of the answers. */
static double
measure (const AfPolicy *p, char **paths, gsize *lens, gboolean linear, guint batches, guint64 *sum)
{
  double *t = g_new (double, batches);
  guint64 check = 0;
  guint at = 0;
  for (guint b = 0; b < batches; b++) {
    double t0 = now_ns ();
    for (guint i = 0; i < BATCH; i++, at = (at + 1) % N_PATHS) {
      int rule;
      AfLevel l = linear ? linear_decide (p, paths[at], lens[at], &rule)
                         : af_policy_decide (p, paths[at], (gssize)lens[at], &rule);
      check = check * 31 + (guint64)l * 100003 + (guint64)(rule + 1);
    }
    t[b] = (now_ns () - t0) / BATCH;
  }
  qsort (t, batches, sizeof (double), cmp_double);
  double median = t[batches / 2];
  g_free (t);
  *sum = check;
  return median;
}

typedef struct {
  guint n;
  AfPolicy *policy;
  char **paths;
  gsize *lens;
  double *fast, *ref; /* per round */
  guint visible, reveal;
  double reveal_ns;
} Config;

/* One batch of BATCH decisions from @at; returns ns per decision. */
static double
batch (const Config *c, gboolean linear, guint at)
{
  guint64 sum;
  (void)sum;
  double t0 = now_ns ();
  for (guint i = 0; i < BATCH; i++, at = (at + 1) % N_PATHS) {
    int rule;
    AfLevel l = linear ? linear_decide (c->policy, c->paths[at], c->lens[at], &rule)
                       : af_policy_decide (c->policy, c->paths[at], (gssize)c->lens[at], &rule);
    sum = (guint64)l + (guint64)rule;
  }
  return (now_ns () - t0) / BATCH;
}

static double
median (double *v, guint n)
{
  qsort (v, n, sizeof (double), cmp_double);
  return v[n / 2];
}

int
main (int argc, char **argv)
{
  guint rounds = 301;
  if (argc == 3 && strcmp (argv[1], "--rounds") == 0)
    rounds = (guint)atoi (argv[2]) | 1;

  static const guint counts[] = { 10, 100, 1000 };
  Config cfg[G_N_ELEMENTS (counts)];
  for (guint c = 0; c < G_N_ELEMENTS (counts); c++) {
    Config *k = &cfg[c];
    k->n = counts[c];
    guint n_pkgs = MAX (k->n / 10, 1);
    g_autoptr (GArray) rules = mixed_rules (k->n, n_pkgs);
    g_autoptr (GError) error = NULL;
    k->policy = af_policy_new ((const AfRule *)(void *)rules->data, rules->len, &error);
    if (k->policy == NULL) {
      fprintf (stderr, "bench-policy: %s\n", error->message);
      return 1;
    }
    k->paths = make_paths (n_pkgs);
    k->lens = g_new (gsize, N_PATHS);
    for (guint i = 0; i < N_PATHS; i++)
      k->lens[i] = strlen (k->paths[i]);
    k->fast = g_new (double, rounds);
    k->ref = g_new (double, rounds);

    /* Same answers on both sides, over the whole path set. */
    guint64 sum_fast, sum_ref;
    guint whole = (N_PATHS + BATCH - 1) / BATCH;
    measure (k->policy, k->paths, k->lens, FALSE, whole, &sum_fast);
    measure (k->policy, k->paths, k->lens, TRUE, whole, &sum_ref);
    if (sum_fast != sum_ref) {
      fprintf (stderr, "bench-policy: %u rules: decisions differ from the reference\n", k->n);
      return 1;
    }
    k->visible = k->reveal = 0;
    double t0 = now_ns ();
    for (guint i = 0; i < N_PATHS; i++) {
      const char *slash = strrchr (k->paths[i], '/');
      k->reveal += af_policy_may_reveal_below (k->policy, k->paths[i], slash - k->paths[i]);
    }
    k->reveal_ns = (now_ns () - t0) / N_PATHS;
    for (guint i = 0; i < N_PATHS; i++)
      k->visible += af_policy_decide (k->policy, k->paths[i], -1, NULL) != AF_LEVEL_NONE;
  }

  /* Interleaved rounds, so every configuration sees the same machine load;
   * the reference only every tenth round (it is slow). */
  guint n_ref = 0;
  for (guint r = 0; r < rounds; r++) {
    guint at = (r * BATCH) % N_PATHS;
    for (guint c = 0; c < G_N_ELEMENTS (counts); c++)
      cfg[c].fast[r] = batch (&cfg[c], FALSE, at);
    if (r % 10 == 0) {
      for (guint c = 0; c < G_N_ELEMENTS (counts); c++)
        cfg[c].ref[n_ref] = batch (&cfg[c], TRUE, at);
      n_ref++;
    }
  }

  /* Compile time, up to the 10,000-rule limit. */
  for (guint n = 10; n <= AF_POLICY_MAX_RULES; n *= 10) {
    g_autoptr (GArray) rules = mixed_rules (n, MAX (n / 10, 1));
    double t0 = now_ns ();
    AfPolicy *p = af_policy_new ((const AfRule *)(void *)rules->data, rules->len, NULL);
    double t1 = now_ns ();
    printf ("compile %5u rules: %8.3f ms CPU\n", n, (t1 - t0) / 1e6);
    af_policy_unref (p);
  }
  printf ("%-7s %-12s %-14s %-8s %-10s %-10s\n", "rules", "decide ns", "reference ns", "speedup",
          "flatness", "reveal ns");
  double base = median (cfg[0].fast, rounds);
  for (guint c = 0; c < G_N_ELEMENTS (counts); c++) {
    Config *k = &cfg[c];
    double fast = median (k->fast, rounds), ref = median (k->ref, n_ref);
    printf ("%-7u %-12.1f %-14.1f %-8.1f %-10.2f %-10.1f (%u/%u visible, %u/%u parents may "
            "reveal)\n",
            k->n, fast, ref, ref / fast, fast / base, k->reveal_ns, k->visible, N_PATHS, k->reveal,
            N_PATHS);
    af_policy_unref (k->policy);
    g_strfreev (k->paths);
    g_free (k->lens);
    g_free (k->fast);
    g_free (k->ref);
  }
  return 0;
}
