/* af-glob.h — compiled patterns and the segment matcher (private).
 *
 * Owns: turning one rule pattern into a list of segments (validating the glob
 * grammar), and matching a compiled pattern against a canonical path. Must
 * never allocate while matching, nor know about rules, levels or precedence. */
#pragma once

#include <glib.h>

#include "afpolicy.h"

#include <string.h>

G_BEGIN_DECLS

typedef enum {
  AF_SEG_LITERAL,   /* text is the unescaped name; matches exactly it */
  AF_SEG_STAR_ONLY, /* "*", "***": matches any one segment */
  AF_SEG_GLOB,      /* text is the raw segment (escapes kept) */
  AF_SEG_GLOBSTAR,  /* "**" alone: zero or more whole segments */
} AfSegKind;

typedef struct {
  AfSegKind kind;
  guint len;
  char *text; /* NUL-terminated, @len bytes */
} AfSeg;

/* A pattern compiled for matching. Directory rules get an implicit trailing
 * globstar (they match the directory and everything below); runs of
 * globstars are collapsed (equivalent, and keeps backtracking linear). */
typedef struct {
  guint n_segs;
  AfSeg *segs;
  guint8 *covers_suffix; /* [n_segs + 1]: segs[i..] match every non-empty
                          * segment sequence */
  gboolean can_cover;    /* some covers_suffix[i] is set */
  gboolean has_wildcard; /* in the pattern as written (not the implicit one) */
  guint literal_chars;   /* characters that match themselves, '/' included */
  char *normalized;      /* "/a/b*" — canonical absolute pattern text */
} AfGlob;

/* Validate @pattern (@len bytes or -1) as a pattern of @type and compile it.
 * On failure the message says what is wrong without any rule index. */
AfGlob *af_glob_compile (const char *pattern, gssize len, AfPatternType type, GError **error);
void af_glob_free (AfGlob *glob);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfGlob, af_glob_free)

/* Does segment @seg match the path segment @s (@n bytes, no '/')? */
gboolean af_seg_match (const AfSeg *seg, const char *s, gsize n);

/* Match segs[@first..] against the segments of @path from byte offset @off
 * (empty segments are skipped). Linear backtracking over globstars. */
gboolean af_glob_match_from (const AfGlob *glob, guint first, const char *path, gsize len,
                             gsize off);

/* Could segs[..] match @path (all of its segments) as a prefix of some
 * longer path? *@out_extends: some path strictly below @path may match;
 * *@out_covers: every path strictly below @path matches. Exact for the
 * grammar; allocation-free (state set on the stack). */
void af_glob_match_prefix (const AfGlob *glob, const char *path, gsize len, gboolean *out_extends,
                           gboolean *out_covers);

/* The literal text a glob segment must start with (@prefix) and end with
 * (@suffix), unescaped; either may be empty. For index keys. */
void af_seg_literal_affixes (const AfSeg *seg, GString *prefix, GString *suffix);

/* Decode one character of possibly invalid UTF-8 at @s (@n > 0 bytes left):
 * an invalid byte decodes as itself + 0x110000, one byte long, so it never
 * equals a character of a (valid UTF-8) pattern. Returns the length. */
guint af_glob_next_char_slow (const char *s, gsize n, gunichar *out);

static inline guint
af_glob_next_char (const char *s, gsize n, gunichar *out)
{
  if ((guchar)s[0] < 0x80) {
    *out = (guchar)s[0];
    return 1;
  }
  return af_glob_next_char_slow (s, n, out);
}

/* One segment of a path being decided: where it is and its hash. */
typedef struct {
  guint32 off, len;
  guint32 hash;
} AfPathSeg;

/* Like af_glob_match_from, over a path already split into @n segments,
 * matching segs[@first..] against path segments [@from..]. */
gboolean af_glob_match_segs (const AfGlob *glob, guint first, const char *path,
                             const AfPathSeg *segs, guint n, guint from);

gboolean af_glob_seg_match_glob (const char *p, gsize pn, const char *s, gsize sn);

static inline gboolean
af_seg_match_inline (const AfSeg *seg, const char *s, gsize n)
{
  switch (seg->kind) {
  case AF_SEG_LITERAL:
    return n == seg->len && memcmp (seg->text, s, n) == 0;
  case AF_SEG_STAR_ONLY:
    return TRUE;
  case AF_SEG_GLOB:
    return af_glob_seg_match_glob (seg->text, seg->len, s, n);
  case AF_SEG_GLOBSTAR:
  default:
    return FALSE;
  }
}

G_END_DECLS
