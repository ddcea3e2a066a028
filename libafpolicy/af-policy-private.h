/* af-policy-private.h — the compiled form of a rule set (private).
 *
 * Everything here is built once by af_policy_new and read-only afterwards,
 * which is what makes concurrent decisions lock-free. Rules are stored by
 * rank: rank 0 is the rule that wins over every other (precedence is a total
 * order on rules, independent of the path), so "the best matching rule" is
 * "the smallest matching rank". */
#pragma once

#include "af-glob.h"
#include "afpolicy.h"

#include <string.h>

G_BEGIN_DECLS

#define AF_NO_RANK G_MAXUINT32
#define AF_SEGMENT_FILTER_WORDS 16 /* 1,024 bits */

static inline guint
af_segment_filter_bit (guint32 bytes_hash)
{
  return bytes_hash >> 22; /* 0 .. 1023 */
}

/* What the part of a glob after its literal prefix looks like, so common
 * shapes are decided without running the general matcher. */
typedef enum {
  AF_SHAPE_GENERIC,      /* run af_glob_match_segs */
  AF_SHAPE_ANY_NONEMPTY, /* "**" "*": at least one more segment */
  AF_SHAPE_LAST,         /* "**" X: at least one more segment, the last matches X */
  AF_SHAPE_CONTAINS,     /* "**" L "**": some later segment is literally L */
} AfShape;

typedef struct {
  AfGlob *glob;
  guint index; /* in the rule list as given */
  AfLevel level;
  guint first;    /* length of the literal prefix, in segments */
  AfShape shape;  /* of segs[first..] */
  const AfSeg *x; /* the X or L of the shape */
  guint32 x_hash; /* af_hash_bytes of a literal L */
} AfCRule;

typedef struct {
  guint32 start, len; /* into list_items: ranks, ascending */
} AfList;

/* A node of the literal-prefix trie: the path "/a/b" reached by literal
 * segments. */
typedef struct {
  guint32 exact;   /* best rank matching exactly this path (file rules, literal globs) */
  guint32 subtree; /* best rank matching this path and all below (directory
                    * rules, globs "x" + a final globstar) */
  guint32 globs;   /* list of wildcard globs whose literal prefix is this path, or AF_NO_RANK */
  guint32 depth;   /* segments from the root; where those globs resume matching */
} AfNode;

typedef enum {
  AF_KEY_CHILD = 1,   /* trie edge: parent node + segment name */
  AF_KEY_SEGMENT = 2, /* unanchored globs needing a literal segment anywhere */
  AF_KEY_EXT = 3,     /* … whose last segment ends in ".ext" (key from the last '.') */
  AF_KEY_PREFIX = 4,  /* … whose last segment starts with 1–3 given bytes */
} AfKeyKind;

typedef struct {
  const char *key; /* NULL: empty slot */
  guint32 hash;
  guint32 parent;
  guint32 value; /* node id (CHILD) or list id */
  guint16 keylen;
  guint8 kind;
} AfSlot;

struct _AfPolicy {
  gint ref_count;
  gsize n_rules;
  AfRule *rules;    /* as given */
  AfCRule *by_rank; /* [n_rules] */
  guint32 *rank_of; /* [n_rules]: index as given → rank */
  AfNode *nodes;    /* [n_nodes], 0 is the root */
  guint n_nodes;
  AfList *lists; /* [n_lists] */
  guint32 *list_items;
  AfSlot *slots; /* open addressing, [slot_mask + 1] */
  guint32 slot_mask;
  gboolean has_segment_keys, has_ext_keys, has_prefix_keys;
  /* One bit per segment-key hash (top bits): most path segments name no
   * SEGMENT key, and this answers that from two cache lines. */
  guint64 segment_filter[AF_SEGMENT_FILTER_WORDS];
  GStringChunk *keys; /* storage for slot keys */
};

/* Build nodes, lists and slots from by_rank (af-policy-index.c). */
void af_policy_build_index (AfPolicy *policy);

static inline guint32
af_hash_bytes (const char *s, gsize n)
{
  guint32 h = 2166136261u; /* FNV-1a */
  for (gsize i = 0; i < n; i++)
    h = (h ^ (guchar)s[i]) * 16777619u;
  return h;
}

static inline guint32
af_hash_key (guint32 bytes_hash, guint kind, guint32 parent)
{
  guint32 h = bytes_hash ^ (kind * 0x9E3779B9u) ^ (parent * 0x85EBCA6Bu);
  h ^= h >> 16;
  h *= 0x7FEB352Du;
  h ^= h >> 15;
  h *= 0x846CA68Bu;
  h ^= h >> 16;
  return h;
}

/* AF_NO_RANK when absent. */
static inline guint32
af_policy_lookup (const AfPolicy *p, guint kind, guint32 parent, guint32 bytes_hash,
                  const char *key, gsize keylen)
{
  guint32 h = af_hash_key (bytes_hash, kind, parent);
  for (guint32 i = h & p->slot_mask;; i = (i + 1) & p->slot_mask) {
    const AfSlot *s = &p->slots[i];
    if (s->key == NULL)
      return AF_NO_RANK;
    if (s->hash == h && s->kind == kind && s->parent == parent && s->keylen == keylen &&
        memcmp (s->key, key, keylen) == 0)
      return s->value;
  }
}

G_END_DECLS
