/* libFuzzer target over the JSON rule parser and the matcher.
 *
 * Input: a rule file (JSON), then a NUL byte, then paths separated by '\n'.
 * Every input must be handled without a crash, leak or sanitizer report;
 * a rule set that compiles must give, for every path, the same answer from
 * the indexed decision and from explain (which tests every rule), and the
 * answer must not change when the path is decided again, and the parent of
 * a visible path must be one af_policy_may_reveal_below says yes to. Build with
 * CC=clang and -Dfuzzing=true; docs/permissions.md says how to run it. */
#include "afpolicy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *)data;
  const char *nul = memchr (text, '\0', size);
  gsize json_len = nul ? (gsize)(nul - text) : size;

  GArray *rules = af_rule_array_new ();
  GPtrArray *errors = g_ptr_array_new_with_free_func (g_free);
  gboolean ok = af_rules_parse_json_full (text, (gssize)json_len, NULL, rules, errors, NULL);
  if (ok != (errors->len == 0))
    abort ();

  AfPolicy *policy = NULL;
  if (ok) {
    GError *error = NULL;
    policy = af_policy_new ((const AfRule *)(void *)rules->data, rules->len, &error);
    /* The parser validated every rule: compiling cannot fail. */
    if (policy == NULL)
      abort ();
  }

  /* Patterns with explicit lengths (NUL bytes included) through validation. */
  if (nul != NULL) {
    AfRule r = { (char *)text, AF_PATTERN_GLOB, AF_LEVEL_READ, 0 };
    GError *error = NULL;
    if (!af_rule_validate (&r, (gssize)json_len, 0, &error))
      g_error_free (error);
  }

  if (policy != NULL && nul != NULL) {
    const char *p = nul + 1, *end = text + size;
    while (p <= end) {
      const char *nl = memchr (p, '\n', (size_t)(end - p));
      gsize n = nl ? (gsize)(nl - p) : (gsize)(end - p);
      int rule, again;
      AfLevel level = af_policy_decide (policy, p, (gssize)n, &rule);
      AfExplanation *e = af_policy_explain (policy, p, (gssize)n);
      if (e->level != level || e->rule != rule)
        abort ();
      if (af_policy_decide (policy, p, (gssize)n, &again) != level || again != rule)
        abort ();
      /* No false negative: a visible path's parent may reveal below. */
      gsize t = n;
      while (t > 0 && p[t - 1] == '/')
        t--;
      if (t > 0) {
        gsize parent = t;
        while (parent > 0 && p[parent - 1] != '/')
          parent--;
        gboolean reveal = af_policy_may_reveal_below (policy, p, (gssize)parent);
        if (level >= AF_LEVEL_VIEW && !reveal)
          abort ();
      }
      af_explanation_free (e);
      if (nl == NULL)
        break;
      p = nl + 1;
    }
  }

  if (policy != NULL)
    af_policy_unref (policy);
  g_ptr_array_unref (errors);
  g_array_unref (rules);
  return 0;
}
