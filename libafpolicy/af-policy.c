/* af-policy.c — compiling a rule set and deciding paths.
 *
 * Owns validation with rule-indexed errors, the precedence order, and the
 * three queries (decide, may_reveal_below, explain). A compiled AfPolicy is
 * immutable; decide and may_reveal_below never allocate, lock or log, so any
 * number of threads may call them at once. */
#include "af-policy-private.h"

#include "af-error.h"

#include <string.h>

gboolean
af_rule_validate (const AfRule *rule, gssize pattern_len, gsize index, GError **error)
{
  if ((guint)rule->level > AF_LEVEL_WRITE) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "rule %" G_GSIZE_FORMAT
                 ": unknown permission %d (expected none, view, read or write)",
                 index, (int)rule->level);
    return FALSE;
  }
  if ((guint)rule->type > AF_PATTERN_FILE) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "rule %" G_GSIZE_FORMAT
                 ": unknown pattern type %d (expected glob, directory or file)",
                 index, (int)rule->type);
    return FALSE;
  }
  g_autoptr (GError) local = NULL;
  g_autoptr (AfGlob) glob = af_glob_compile (rule->pattern, pattern_len, rule->type, &local);
  if (glob == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "rule %" G_GSIZE_FORMAT ": %s", index,
                 local->message);
    return FALSE;
  }
  return TRUE;
}

/* Precedence, best first: higher priority; file > directory > glob; no
 * wildcard before wildcard; more literal characters; later in the list. */
static int
compare_precedence (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const AfPolicy *p = user_data;
  guint ia = *(const guint32 *)a, ib = *(const guint32 *)b;
  const AfRule *ra = &p->rules[ia], *rb = &p->rules[ib];
  const AfGlob *ga = p->by_rank[ia].glob, *gb = p->by_rank[ib].glob;

  if (ra->priority != rb->priority)
    return ra->priority > rb->priority ? -1 : 1;
  if (ra->type != rb->type)
    return ra->type > rb->type ? -1 : 1; /* FILE(2) > DIRECTORY(1) > GLOB(0) */
  if (ga->has_wildcard != gb->has_wildcard)
    return ga->has_wildcard ? 1 : -1;
  if (ga->literal_chars != gb->literal_chars)
    return ga->literal_chars > gb->literal_chars ? -1 : 1;
  return ia > ib ? -1 : (ia < ib ? 1 : 0);
}

AfPolicy *
af_policy_new (const AfRule *rules, gsize n_rules, GError **error)
{
  if (n_rules > AF_POLICY_MAX_RULES) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "too many rules: %" G_GSIZE_FORMAT " (the limit is %d)", n_rules,
                 AF_POLICY_MAX_RULES);
    return NULL;
  }
  g_return_val_if_fail (rules != NULL || n_rules == 0, NULL);

  /* Compile into slots indexed as given first; reorder by rank after. */
  AfCRule *compiled = g_new0 (AfCRule, MAX (n_rules, 1));
  for (gsize i = 0; i < n_rules; i++) {
    g_autoptr (GError) local = NULL;
    if (!af_rule_validate (&rules[i], -1, i, error)) {
      for (gsize j = 0; j < i; j++)
        af_glob_free (compiled[j].glob);
      g_free (compiled);
      return NULL;
    }
    compiled[i].glob = af_glob_compile (rules[i].pattern, -1, rules[i].type, NULL);
    compiled[i].index = (guint)i;
    compiled[i].level = rules[i].level;
  }

  AfPolicy *p = g_new0 (AfPolicy, 1);
  p->ref_count = 1;
  p->n_rules = n_rules;
  p->rules = g_new0 (AfRule, MAX (n_rules, 1));
  for (gsize i = 0; i < n_rules; i++) {
    p->rules[i] = rules[i];
    p->rules[i].pattern = g_strdup (rules[i].pattern);
  }

  /* Sort original indices by precedence (by_rank temporarily as given). */
  p->by_rank = compiled;
  guint32 *order = g_new (guint32, MAX (n_rules, 1));
  for (gsize i = 0; i < n_rules; i++)
    order[i] = (guint32)i;
  g_qsort_with_data (order, (gint)n_rules, sizeof (guint32), compare_precedence, p);

  p->by_rank = g_new0 (AfCRule, MAX (n_rules, 1));
  p->rank_of = g_new0 (guint32, MAX (n_rules, 1));
  for (gsize r = 0; r < n_rules; r++) {
    p->by_rank[r] = compiled[order[r]];
    p->rank_of[order[r]] = (guint32)r;
  }
  g_free (order);
  g_free (compiled);

  af_policy_build_index (p);
  return p;
}

AfPolicy *
af_policy_ref (AfPolicy *policy)
{
  g_return_val_if_fail (policy != NULL, NULL);
  g_atomic_int_inc (&policy->ref_count);
  return policy;
}

void
af_policy_unref (AfPolicy *policy)
{
  if (policy == NULL || !g_atomic_int_dec_and_test (&policy->ref_count))
    return;
  for (gsize i = 0; i < policy->n_rules; i++) {
    af_rule_clear (&policy->rules[i]);
    af_glob_free (policy->by_rank[i].glob);
  }
  g_free (policy->rules);
  g_free (policy->by_rank);
  g_free (policy->rank_of);
  g_free (policy->nodes);
  g_free (policy->lists);
  g_free (policy->list_items);
  g_free (policy->slots);
  if (policy->keys)
    g_string_chunk_free (policy->keys);
  g_free (policy);
}

gsize
af_policy_get_n_rules (const AfPolicy *policy)
{
  return policy->n_rules;
}

const AfRule *
af_policy_get_rule (const AfPolicy *policy, gsize index)
{
  g_return_val_if_fail (index < policy->n_rules, NULL);
  return &policy->rules[index];
}

/* ---- decide ---- */

static inline void
test_list (const AfPolicy *p, guint32 list, const char *path, gsize len, gsize off, guint first,
           guint32 *best)
{
  const AfList *l = &p->lists[list];
  const guint32 *items = p->list_items + l->start;
  for (guint32 i = 0; i < l->len; i++) {
    guint32 r = items[i];
    if (r >= *best)
      return;
    if (af_glob_match_from (p->by_rank[r].glob, first, path, len, off)) {
      *best = r;
      return;
    }
  }
}

static inline void
test_key (const AfPolicy *p, guint kind, const char *key, gsize n, const char *path, gsize len,
          guint32 *best)
{
  guint32 list = af_policy_lookup (p, kind, 0, af_hash_bytes (key, n), key, n);
  if (list != AF_NO_RANK)
    test_list (p, list, path, len, 0, 0, best);
}

AfLevel
af_policy_decide (const AfPolicy *p, const char *path, gssize slen, int *out_rule)
{
  gsize len = slen < 0 ? strlen (path) : (gsize)slen;
  guint32 best = AF_NO_RANK;
  guint32 node = 0;
  gboolean on_trie = TRUE;
  gsize off = 0, last = 0, last_end = 0;

  if (p->nodes[0].subtree < best)
    best = p->nodes[0].subtree;
  if (p->nodes[0].globs != AF_NO_RANK)
    test_list (p, p->nodes[0].globs, path, len, 0, 0, &best);

  for (;;) {
    while (off < len && path[off] == '/')
      off++;
    if (off >= len)
      break;
    const char *slash = memchr (path + off, '/', len - off);
    gsize end = slash ? (gsize)(slash - path) : len;
    gsize n = end - off;
    guint32 h = af_hash_bytes (path + off, n);

    if (p->has_segment_keys) {
      guint32 list = af_policy_lookup (p, AF_KEY_SEGMENT, 0, h, path + off, n);
      if (list != AF_NO_RANK)
        test_list (p, list, path, len, 0, 0, &best);
    }
    if (on_trie) {
      guint32 child = af_policy_lookup (p, AF_KEY_CHILD, node, h, path + off, n);
      if (child == AF_NO_RANK) {
        on_trie = FALSE;
      } else {
        node = child;
        const AfNode *nd = &p->nodes[node];
        if (nd->subtree < best)
          best = nd->subtree;
        if (nd->globs != AF_NO_RANK)
          test_list (p, nd->globs, path, len, end, nd->depth, &best);
      }
    }
    last = off;
    last_end = end;
    off = end;
  }
  if (on_trie && p->nodes[node].exact < best)
    best = p->nodes[node].exact;

  if (last_end > last) {
    const char *seg = path + last;
    gsize n = last_end - last;
    if (p->has_ext_keys) {
      const char *dot = NULL;
      for (gsize i = n; i-- > 0;)
        if (seg[i] == '.') {
          dot = seg + i;
          break;
        }
      if (dot != NULL)
        test_key (p, AF_KEY_EXT, dot, n - (gsize)(dot - seg), path, len, &best);
    }
    if (p->has_prefix_keys)
      for (gsize k = 1; k <= 3 && k <= n; k++)
        test_key (p, AF_KEY_PREFIX, seg, k, path, len, &best);
  }

  if (best == AF_NO_RANK) {
    if (out_rule)
      *out_rule = -1;
    return AF_LEVEL_NONE;
  }
  if (out_rule)
    *out_rule = (int)p->by_rank[best].index;
  return p->by_rank[best].level;
}

gboolean
af_policy_may_reveal_below (const AfPolicy *p, const char *path, gssize slen)
{
  gsize len = slen < 0 ? strlen (path) : (gsize)slen;
  /* In rank order: the first rule that could reveal something below wins the
   * argument; a rule matching everything below that is none ends it, since
   * nothing after it can win anywhere below. */
  for (gsize r = 0; r < p->n_rules; r++) {
    gboolean extends, covers;
    af_glob_match_prefix (p->by_rank[r].glob, path, len, &extends, &covers);
    if (extends && p->by_rank[r].level >= AF_LEVEL_VIEW)
      return TRUE;
    if (covers)
      return FALSE;
  }
  return FALSE;
}

AfExplanation *
af_policy_explain (const AfPolicy *p, const char *path, gssize slen)
{
  gsize len = slen < 0 ? strlen (path) : (gsize)slen;
  AfExplanation *e = g_new0 (AfExplanation, 1);
  e->level = AF_LEVEL_NONE;
  e->rule = -1;
  e->matches = g_array_new (FALSE, FALSE, sizeof (int));
  for (gsize r = 0; r < p->n_rules; r++) {
    if (!af_glob_match_from (p->by_rank[r].glob, 0, path, len, 0))
      continue;
    int idx = (int)p->by_rank[r].index;
    if (e->rule < 0) {
      e->rule = idx;
      e->level = p->by_rank[r].level;
    }
    g_array_append_val (e->matches, idx);
  }
  return e;
}

void
af_explanation_free (AfExplanation *explanation)
{
  if (explanation == NULL)
    return;
  g_array_unref (explanation->matches);
  g_free (explanation);
}
