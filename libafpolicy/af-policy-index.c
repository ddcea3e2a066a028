/* af-policy-index.c — builds the candidate index of a compiled policy.
 *
 * Owns the choice of where each rule is filed so that a decision looks only
 * at rules that could match:
 *   - a literal-prefix trie over whole segments: a glob "src" "lib" "*.c"
 *     hangs under node /src/lib; file rules and literal globs are resolved at
 *     their node (exact), directory rules and globs of the form literal
 *     prefix + a final "**" by reaching it (subtree);
 *   - globs that start with a wildcard are filed under a key the path must
 *     contain: their longest literal segment (the secrets preset rule under
 *     "secrets"), else the extension of their last segment ("*.pem" under
 *     ".pem"), else the first bytes of their last segment (".env*" under
 *     ".en");
 *   - the rest (e.g. "**" followed by "*") is tested on every path.
 * Lists hold ranks in ascending order, so a decision stops at the first
 * match of each list and skips lists that cannot beat what it has. Runs once
 * per policy; never decides whether a rule matches (af-glob.c does). */
#include "af-policy-private.h"

typedef struct {
  GHashTable *list_ids; /* "kind/parent/key" → list id + 1 */
  GPtrArray *lists;     /* GArray of guint32 ranks */
  GArray *nodes;        /* AfNode */
  GArray *entries;      /* AfSlot, unplaced */
  AfPolicy *policy;
} Builder;

static guint32
add_entry (Builder *b, guint kind, guint32 parent, const char *key, gsize keylen, guint32 value)
{
  AfSlot s = { 0 };
  s.key = g_string_chunk_insert_len (b->policy->keys, key, (gssize)keylen);
  s.keylen = (guint16)keylen;
  s.kind = (guint8)kind;
  s.parent = parent;
  s.value = value;
  s.hash = af_hash_key (af_hash_bytes (key, keylen), kind, parent);
  g_array_append_val (b->entries, s);
  return value;
}

static guint32
list_for (Builder *b, guint kind, guint32 parent, const char *key, gsize keylen)
{
  g_autofree char *id = g_strdup_printf ("%u/%u/%.*s", kind, parent, (int)keylen, key);
  guint32 found = GPOINTER_TO_UINT (g_hash_table_lookup (b->list_ids, id));
  if (found != 0)
    return found - 1;
  guint32 list = b->lists->len;
  g_ptr_array_add (b->lists, g_array_new (FALSE, FALSE, sizeof (guint32)));
  g_hash_table_insert (b->list_ids, g_steal_pointer (&id), GUINT_TO_POINTER (list + 1));
  if (kind != AF_KEY_CHILD)
    add_entry (b, kind, parent, key, keylen, list);
  return list;
}

static void
list_append (Builder *b, guint32 list, guint32 rank)
{
  g_array_append_val ((GArray *)g_ptr_array_index (b->lists, list), rank);
}

static guint32
child_of (Builder *b, GHashTable *children, guint32 parent, const AfSeg *seg)
{
  g_autofree char *id = g_strdup_printf ("%u/%s", parent, seg->text);
  guint32 found = GPOINTER_TO_UINT (g_hash_table_lookup (children, id));
  if (found != 0)
    return found - 1;
  AfNode node = { AF_NO_RANK, AF_NO_RANK, AF_NO_RANK,
                  g_array_index (b->nodes, AfNode, parent).depth + 1 };
  guint32 child = b->nodes->len;
  g_array_append_val (b->nodes, node);
  g_hash_table_insert (children, g_steal_pointer (&id), GUINT_TO_POINTER (child + 1));
  add_entry (b, AF_KEY_CHILD, parent, seg->text, seg->len, child);
  return child;
}

/* File an unanchored glob (its first segment has a wildcard). */
static void
file_unanchored (Builder *b, const AfGlob *g, guint32 rank)
{
  const AfSeg *best = NULL;
  for (guint i = 0; i < g->n_segs; i++)
    if (g->segs[i].kind == AF_SEG_LITERAL && (best == NULL || g->segs[i].len > best->len))
      best = &g->segs[i];
  if (best != NULL) {
    list_append (b, list_for (b, AF_KEY_SEGMENT, 0, best->text, best->len), rank);
    b->policy->has_segment_keys = TRUE;
    guint bit = af_segment_filter_bit (af_hash_bytes (best->text, best->len));
    b->policy->segment_filter[bit / 64] |= G_GUINT64_CONSTANT (1) << (bit % 64);
    return;
  }

  const AfSeg *last = &g->segs[g->n_segs - 1];
  if (last->kind == AF_SEG_GLOB) {
    g_autoptr (GString) prefix = g_string_new (NULL);
    g_autoptr (GString) suffix = g_string_new (NULL);
    af_seg_literal_affixes (last, prefix, suffix);
    const char *dot = memchr (suffix->str, '.', suffix->len) ? strrchr (suffix->str, '.') : NULL;
    if (dot != NULL) {
      gsize n = suffix->len - (gsize)(dot - suffix->str);
      list_append (b, list_for (b, AF_KEY_EXT, 0, dot, n), rank);
      b->policy->has_ext_keys = TRUE;
      return;
    }
    if (prefix->len > 0) {
      gsize n = MIN (prefix->len, 3);
      list_append (b, list_for (b, AF_KEY_PREFIX, 0, prefix->str, n), rank);
      b->policy->has_prefix_keys = TRUE;
      return;
    }
  }

  AfNode *root = &g_array_index (b->nodes, AfNode, 0);
  if (root->globs == AF_NO_RANK)
    root->globs = list_for (b, AF_KEY_CHILD, 0, "", 0);
  list_append (b, root->globs, rank);
}

static void
set_shape (AfCRule *cr, guint k)
{
  const AfGlob *g = cr->glob;
  const AfSeg *s = g->segs + k;
  guint rest = g->n_segs - k;
  cr->first = k;
  cr->shape = AF_SHAPE_GENERIC;
  if (rest == 2 && s[0].kind == AF_SEG_GLOBSTAR && s[1].kind == AF_SEG_STAR_ONLY) {
    cr->shape = AF_SHAPE_ANY_NONEMPTY;
  } else if (rest == 2 && s[0].kind == AF_SEG_GLOBSTAR) {
    cr->shape = AF_SHAPE_LAST;
    cr->x = &s[1];
  } else if (rest == 3 && s[0].kind == AF_SEG_GLOBSTAR && s[1].kind == AF_SEG_LITERAL &&
             s[2].kind == AF_SEG_GLOBSTAR) {
    cr->shape = AF_SHAPE_CONTAINS;
    cr->x = &s[1];
    cr->x_hash = af_hash_bytes (s[1].text, s[1].len);
  }
}

void
af_policy_build_index (AfPolicy *p)
{
  Builder b = { 0 };
  b.policy = p;
  b.list_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  b.lists = g_ptr_array_new_with_free_func ((GDestroyNotify)(void (*) (void))g_array_unref);
  b.nodes = g_array_new (FALSE, FALSE, sizeof (AfNode));
  b.entries = g_array_new (FALSE, TRUE, sizeof (AfSlot));
  g_autoptr (GHashTable) children = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  p->keys = g_string_chunk_new (1024);

  AfNode root = { AF_NO_RANK, AF_NO_RANK, AF_NO_RANK, 0 };
  g_array_append_val (b.nodes, root);

  for (guint32 rank = 0; rank < p->n_rules; rank++) {
    const AfGlob *g = p->by_rank[rank].glob;
    guint k = 0;
    guint32 node = 0;
    while (k < g->n_segs && g->segs[k].kind == AF_SEG_LITERAL)
      node = child_of (&b, children, node, &g->segs[k++]);
    set_shape (&p->by_rank[rank], k);

    AfNode *n = &g_array_index (b.nodes, AfNode, node);
    guint rest = g->n_segs - k;
    if (rest == 0) {
      if (n->exact == AF_NO_RANK)
        n->exact = rank;
    } else if (rest == 1 && g->segs[k].kind == AF_SEG_GLOBSTAR) {
      if (n->subtree == AF_NO_RANK)
        n->subtree = rank;
    } else if (k > 0) {
      if (n->globs == AF_NO_RANK) {
        g_autofree char *key = g_strdup_printf ("node%u", node);
        guint32 list = list_for (&b, AF_KEY_CHILD, node, key, strlen (key));
        n = &g_array_index (b.nodes, AfNode, node);
        n->globs = list;
      }
      list_append (&b, n->globs, rank);
    } else {
      file_unanchored (&b, g, rank);
    }
  }

  /* Flatten lists. */
  p->lists = g_new0 (AfList, MAX (b.lists->len, 1));
  gsize total = 0;
  for (guint i = 0; i < b.lists->len; i++)
    total += ((GArray *)g_ptr_array_index (b.lists, i))->len;
  p->list_items = g_new0 (guint32, MAX (total, 1));
  total = 0;
  for (guint i = 0; i < b.lists->len; i++) {
    GArray *l = g_ptr_array_index (b.lists, i);
    p->lists[i].start = (guint32)total;
    p->lists[i].len = l->len;
    memcpy (p->list_items + total, l->data, l->len * sizeof (guint32));
    total += l->len;
  }

  p->n_nodes = b.nodes->len;
  p->nodes = (AfNode *)(void *)g_array_free (b.nodes, FALSE);

  /* Open addressing at most half full. */
  guint32 size = 16;
  while (size < b.entries->len * 2)
    size *= 2;
  p->slot_mask = size - 1;
  p->slots = g_new0 (AfSlot, size);
  for (guint i = 0; i < b.entries->len; i++) {
    const AfSlot *e = &g_array_index (b.entries, AfSlot, i);
    guint32 j = e->hash & p->slot_mask;
    while (p->slots[j].key != NULL)
      j = (j + 1) & p->slot_mask;
    p->slots[j] = *e;
  }

  g_array_unref (b.entries);
  g_ptr_array_unref (b.lists);
  g_hash_table_unref (b.list_ids);
}
