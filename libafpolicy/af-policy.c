/* af-policy.c — compiling a rule set and deciding paths.
 *
 * Owns validation with rule-indexed errors, the precedence order, and the
 * three queries (decide, may_reveal_below, explain). A compiled AfPolicy is
 * immutable; decide and may_reveal_below never allocate, lock or log, so any
 * number of threads may call them at once. */
#include "af-policy-private.h"

#include "af-error.h"

#include <string.h>

/* Validate and compile one rule; errors name @index. */
static AfGlob *
compile_rule (const AfRule *rule, gssize pattern_len, gsize index, GError **error)
{
  if ((guint)rule->level > AF_LEVEL_WRITE) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "rule %" G_GSIZE_FORMAT
                 ": unknown permission %d (expected none, view, read or write)",
                 index, (int)rule->level);
    return NULL;
  }
  if ((guint)rule->type > AF_PATTERN_FILE) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "rule %" G_GSIZE_FORMAT
                 ": unknown pattern type %d (expected glob, directory or file)",
                 index, (int)rule->type);
    return NULL;
  }
  g_autoptr (GError) local = NULL;
  AfGlob *glob = af_glob_compile (rule->pattern, pattern_len, rule->type, &local);
  if (glob == NULL)
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "rule %" G_GSIZE_FORMAT ": %s", index,
                 local->message);
  return glob;
}

gboolean
af_rule_validate (const AfRule *rule, gssize pattern_len, gsize index, GError **error)
{
  g_autoptr (AfGlob) glob = compile_rule (rule, pattern_len, index, error);
  return glob != NULL;
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
  gsize total = 0;
  for (gsize i = 0; i < n_rules; i++)
    total += rules[i].pattern ? strlen (rules[i].pattern) : 0;
  if (total > AF_POLICY_MAX_TOTAL_PATTERN) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "the patterns of this rule set total %" G_GSIZE_FORMAT " bytes; the limit is %d",
                 total, AF_POLICY_MAX_TOTAL_PATTERN);
    return NULL;
  }

  /* Compile into slots indexed as given first; reorder by rank after. */
  AfCRule *compiled = g_new0 (AfCRule, MAX (n_rules, 1));
  for (gsize i = 0; i < n_rules; i++) {
    compiled[i].glob = compile_rule (&rules[i], -1, i, error);
    if (compiled[i].glob == NULL) {
      for (gsize j = 0; j < i; j++)
        af_glob_free (compiled[j].glob);
      g_free (compiled);
      return NULL;
    }
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

/* Deeper paths (over 512 bytes) take the unindexed, equally
 * allocation-free path. */
#define AF_DECIDE_MAX_SEGS 256

typedef struct {
  const char *path;
  const AfPathSeg *segs;
  guint n;
} Path;

static inline gboolean
rule_matches (const AfCRule *cr, const Path *x)
{
  switch (cr->shape) {
  case AF_SHAPE_ANY_NONEMPTY:
    return x->n > cr->first;
  case AF_SHAPE_LAST: {
    if (x->n <= cr->first)
      return FALSE;
    const AfPathSeg *last = &x->segs[x->n - 1];
    return af_seg_match_inline (cr->x, x->path + last->off, last->len);
  }
  case AF_SHAPE_CONTAINS:
    for (guint i = cr->first; i < x->n; i++)
      if (x->segs[i].hash == cr->x_hash && x->segs[i].len == cr->x->len &&
          memcmp (x->path + x->segs[i].off, cr->x->text, cr->x->len) == 0)
        return TRUE;
    return FALSE;
  case AF_SHAPE_GENERIC:
  default:
    return af_glob_match_segs (cr->glob, cr->first, x->path, x->segs, x->n, cr->first);
  }
}

/* Ranks in a list ascend: stop at the first match, or as soon as no later
 * rule could beat the best so far. */
static inline void
test_list (const AfPolicy *p, guint32 list, const Path *x, guint32 *best)
{
  const AfList *l = &p->lists[list];
  const guint32 *items = p->list_items + l->start;
  for (guint32 i = 0; i < l->len; i++) {
    guint32 r = items[i];
    if (r >= *best)
      return;
    if (rule_matches (&p->by_rank[r], x)) {
      *best = r;
      return;
    }
  }
}

static inline void
test_key (const AfPolicy *p, guint kind, const char *key, gsize n, const Path *x, guint32 *best)
{
  guint32 list = af_policy_lookup (p, kind, 0, af_hash_bytes (key, n), key, n);
  if (list != AF_NO_RANK)
    test_list (p, list, x, best);
}

static guint32
decide_unindexed (const AfPolicy *p, const char *path, gsize len)
{
  for (gsize r = 0; r < p->n_rules; r++)
    if (af_glob_match_from (p->by_rank[r].glob, 0, path, len, 0))
      return (guint32)r;
  return AF_NO_RANK;
}

static guint32
decide_rank (const AfPolicy *p, const char *path, gsize len)
{
  AfPathSeg segs[AF_DECIDE_MAX_SEGS];
  guint n = 0;

  for (gsize off = 0;;) {
    while (off < len && path[off] == '/')
      off++;
    if (off >= len)
      break;
    /* Find the end and hash in one pass (af_hash_bytes, inlined). */
    gsize end = off;
    guint32 h = 2166136261u;
    while (end < len && path[end] != '/')
      h = (h ^ (guchar)path[end++]) * 16777619u;
    if (n == AF_DECIDE_MAX_SEGS || end > G_MAXUINT32)
      return decide_unindexed (p, path, len);
    segs[n].off = (guint32)off;
    segs[n].len = (guint32)(end - off);
    segs[n].hash = h;
    n++;
    off = end;
  }

  const Path x = { path, segs, n };
  guint32 best = p->nodes[0].subtree;
  guint32 node = 0;
  gboolean on_trie = TRUE;

  if (p->nodes[0].globs != AF_NO_RANK)
    test_list (p, p->nodes[0].globs, &x, &best);

  for (guint i = 0; i < n; i++) {
    const char *seg = path + segs[i].off;
    guint bit = af_segment_filter_bit (segs[i].hash);
    if ((p->segment_filter[bit / 64] >> (bit % 64)) & 1) {
      guint32 list = af_policy_lookup (p, AF_KEY_SEGMENT, 0, segs[i].hash, seg, segs[i].len);
      if (list != AF_NO_RANK)
        test_list (p, list, &x, &best);
    }
    if (on_trie) {
      guint32 child = af_policy_lookup (p, AF_KEY_CHILD, node, segs[i].hash, seg, segs[i].len);
      if (child == AF_NO_RANK) {
        on_trie = FALSE;
      } else {
        node = child;
        const AfNode *nd = &p->nodes[node];
        if (nd->subtree < best)
          best = nd->subtree;
        if (nd->globs != AF_NO_RANK)
          test_list (p, nd->globs, &x, &best);
      }
    }
  }
  if (on_trie && p->nodes[node].exact < best)
    best = p->nodes[node].exact;

  if (n > 0) {
    const char *seg = path + segs[n - 1].off;
    gsize sn = segs[n - 1].len;
    if (p->has_ext_keys) {
      gsize i = sn;
      while (i > 0 && seg[i - 1] != '.')
        i--;
      if (i > 0)
        test_key (p, AF_KEY_EXT, seg + i - 1, sn - i + 1, &x, &best);
    }
    if (p->has_prefix_keys)
      for (gsize k = 1; k <= 3 && k <= sn; k++)
        test_key (p, AF_KEY_PREFIX, seg, k, &x, &best);
  }
  return best;
}

AfLevel
af_policy_decide (const AfPolicy *p, const char *path, gssize slen, int *out_rule)
{
  gsize len = slen < 0 ? strlen (path) : (gsize)slen;
  guint32 best = decide_rank (p, path, len);
  if (best == AF_NO_RANK) {
    if (out_rule)
      *out_rule = -1;
    return AF_LEVEL_NONE;
  }
  if (out_rule)
    *out_rule = (int)p->by_rank[best].index;
  return p->by_rank[best].level;
}

/* Could @cr match some path strictly below the directory @x (*extends), or
 * every such path (*covers)? Shape shortcuts; the NFA for the rest. */
static void
reveal_one (const AfCRule *cr, const Path *x, const char *path, gsize len, gboolean *extends,
            gboolean *covers)
{
  const AfGlob *g = cr->glob;
  guint k = cr->first, n = x->n;
  *extends = *covers = FALSE;
  for (guint i = 0; i < k && i < n; i++)
    if (x->segs[i].len != g->segs[i].len ||
        memcmp (path + x->segs[i].off, g->segs[i].text, g->segs[i].len) != 0)
      return; /* the literal prefix leaves this directory's subtree */
  guint rest = g->n_segs - k;
  if (n < k) {
    *extends = TRUE; /* strictly below: the rest of the prefix and beyond */
    return;
  }
  if (rest == 0)
    return; /* exactly the prefix, which is this directory or above */
  if (rest == 1 && g->segs[k].kind == AF_SEG_GLOBSTAR) {
    *extends = *covers = TRUE;
    return;
  }
  switch (cr->shape) {
  case AF_SHAPE_ANY_NONEMPTY:
    *extends = *covers = TRUE;
    return;
  case AF_SHAPE_LAST:
    *extends = TRUE;
    return;
  case AF_SHAPE_CONTAINS:
    *extends = TRUE;
    for (guint i = k; i < n; i++)
      if (x->segs[i].hash == cr->x_hash && x->segs[i].len == cr->x->len &&
          memcmp (path + x->segs[i].off, cr->x->text, cr->x->len) == 0)
        *covers = TRUE;
    return;
  case AF_SHAPE_GENERIC:
  default:
    af_glob_match_prefix (g, path, len, extends, covers);
  }
}

gboolean
af_policy_may_reveal_below (const AfPolicy *p, const char *path, gssize slen)
{
  gsize len = slen < 0 ? strlen (path) : (gsize)slen;
  AfPathSeg segs[AF_DECIDE_MAX_SEGS];
  guint n = 0;
  gboolean split = TRUE;

  for (gsize off = 0;;) {
    while (off < len && path[off] == '/')
      off++;
    if (off >= len)
      break;
    gsize end = off;
    while (end < len && path[end] != '/')
      end++;
    if (n == AF_DECIDE_MAX_SEGS || end > G_MAXUINT32) {
      split = FALSE;
      break;
    }
    segs[n].off = (guint32)off;
    segs[n].len = (guint32)(end - off);
    segs[n].hash = af_hash_bytes (path + off, end - off);
    n++;
    off = end;
  }
  const Path x = { path, segs, n };

  /* In rank order: the first rule that could reveal something below wins the
   * argument; a rule matching everything below that is none ends it, since
   * nothing after it can win anywhere below. */
  for (gsize r = 0; r < p->n_rules; r++) {
    const AfCRule *cr = &p->by_rank[r];
    gboolean visible = cr->level >= AF_LEVEL_VIEW;
    /* A none rule that can never cover a subtree cannot end the search. */
    if (!visible && !cr->glob->can_cover)
      continue;
    gboolean extends, covers;
    if (split)
      reveal_one (cr, &x, path, len, &extends, &covers);
    else
      af_glob_match_prefix (cr->glob, path, len, &extends, &covers);
    if (extends && visible)
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
