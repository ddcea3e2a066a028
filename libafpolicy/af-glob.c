/* af-glob.c — the glob grammar: validation, compilation, matching.
 *
 * Owns the one definition of what a pattern segment means. Matching is
 * allocation-free and linear-time backtracking (one backtrack point for '*'
 * within a segment, one for '**' across segments), so a hostile pattern
 * cannot make a decision exponential. Never logs, never does I/O. */
#include "af-glob.h"

#include "af-error.h"
#include "af-path.h"

#include <string.h>

/* The most segments a pattern can have: 4,096 bytes of "a/a/…" plus the
 * implicit globstar of a directory rule, plus the end position. */
#define AF_GLOB_MAX_POSITIONS (AF_POLICY_MAX_PATTERN / 2 + 3)
#define AF_GLOB_SET_WORDS ((AF_GLOB_MAX_POSITIONS + 63) / 64)

guint
af_glob_next_char_slow (const char *s, gsize n, gunichar *out)
{
  guchar c = (guchar)s[0];
  gunichar r = g_utf8_get_char_validated (s, (gssize)n);
  if (r < 0x110000) {
    *out = r;
    return (guint)g_utf8_skip[c];
  }
  *out = 0x110000 + c;
  return 1;
}

/* Read one (possibly escaped) character of a bracket expression at p[*i].
 * FALSE when the pattern ends first. */
static gboolean
class_char (const char *p, gsize n, gsize *i, gunichar *out)
{
  if (*i < n && p[*i] == '\\')
    (*i)++;
  if (*i >= n)
    return FALSE;
  *i += af_glob_next_char (p + *i, n - *i, out);
  return TRUE;
}

/* Scan a bracket expression whose '[' is at p[i - 1]. Sets *end past the
 * closing ']' and *matched for character @cp. FALSE when unbalanced. A ']'
 * right after '[' (or "[!", "[^") is a member; '-' first or last is literal;
 * a reversed range matches nothing. */
static gboolean
class_scan (const char *p, gsize n, gsize i, gunichar cp, gsize *end, gboolean *matched)
{
  gboolean negate = FALSE, hit = FALSE, first = TRUE;
  if (i < n && (p[i] == '!' || p[i] == '^')) {
    negate = TRUE;
    i++;
  }
  for (;;) {
    if (i >= n)
      return FALSE;
    if (p[i] == ']' && !first) {
      i++;
      break;
    }
    first = FALSE;
    gunichar lo, hi;
    if (!class_char (p, n, &i, &lo))
      return FALSE;
    if (i + 1 < n && p[i] == '-' && p[i + 1] != ']') {
      i++;
      if (!class_char (p, n, &i, &hi))
        return FALSE;
      if (lo <= cp && cp <= hi)
        hit = TRUE;
    } else if (cp == lo) {
      hit = TRUE;
    }
  }
  *end = i;
  *matched = hit != negate;
  return TRUE;
}

/* Character-level glob match of raw segment @p against @s. */
gboolean
af_glob_seg_match_glob (const char *p, gsize pn, const char *s, gsize sn)
{
  gsize pi = 0, si = 0;
  gsize star_p = G_MAXSIZE, star_s = 0;

  while (si < sn) {
    if (pi < pn) {
      char c = p[pi];
      if (c == '*') {
        while (pi < pn && p[pi] == '*')
          pi++;
        star_p = pi;
        star_s = si;
        continue;
      }
      if (c == '?') {
        gunichar cp;
        si += af_glob_next_char (s + si, sn - si, &cp);
        pi++;
        continue;
      }
      if (c == '[') {
        gunichar cp;
        guint cl = af_glob_next_char (s + si, sn - si, &cp);
        gsize end;
        gboolean matched;
        if (class_scan (p, pn, pi + 1, cp, &end, &matched) && matched) {
          pi = end;
          si += cl;
          continue;
        }
      } else {
        if (c == '\\')
          c = p[++pi];
        if (s[si] == c) {
          pi++;
          si++;
          continue;
        }
      }
    }
    if (star_p == G_MAXSIZE)
      return FALSE;
    gunichar cp;
    star_s += af_glob_next_char (s + star_s, sn - star_s, &cp);
    si = star_s;
    pi = star_p;
  }
  while (pi < pn && p[pi] == '*')
    pi++;
  return pi == pn;
}

gboolean
af_seg_match (const AfSeg *seg, const char *s, gsize n)
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

static inline gsize
skip_slashes (const char *path, gsize len, gsize off)
{
  while (off < len && path[off] == '/')
    off++;
  return off;
}

static inline gsize
seg_end (const char *path, gsize len, gsize off)
{
  const char *slash = memchr (path + off, '/', len - off);
  return slash ? (gsize)(slash - path) : len;
}

gboolean
af_glob_match_from (const AfGlob *glob, guint first, const char *path, gsize len, gsize off)
{
  const AfSeg *segs = glob->segs;
  guint m = glob->n_segs, pi = first;
  guint star_pi = G_MAXUINT;
  gsize star_off = 0;

  for (;;) {
    off = skip_slashes (path, len, off);
    if (off >= len)
      break;
    gsize end = seg_end (path, len, off);
    if (pi < m) {
      if (segs[pi].kind == AF_SEG_GLOBSTAR) {
        star_pi = ++pi;
        star_off = off;
        continue;
      }
      if (af_seg_match (&segs[pi], path + off, end - off)) {
        pi++;
        off = end;
        continue;
      }
    }
    if (star_pi == G_MAXUINT)
      return FALSE;
    /* The last globstar swallows one more segment; retry after it. */
    star_off = skip_slashes (path, len, star_off);
    star_off = seg_end (path, len, star_off);
    off = star_off;
    pi = star_pi;
  }
  while (pi < m && segs[pi].kind == AF_SEG_GLOBSTAR)
    pi++;
  return pi == m;
}

gboolean
af_glob_match_segs (const AfGlob *glob, guint first, const char *path, const AfPathSeg *segs,
                    guint n, guint from)
{
  const AfSeg *ps = glob->segs;
  guint m = glob->n_segs, pi = first, si = from;
  guint star_pi = G_MAXUINT, star_si = 0;

  while (si < n) {
    if (pi < m) {
      if (ps[pi].kind == AF_SEG_GLOBSTAR) {
        star_pi = ++pi;
        star_si = si;
        continue;
      }
      if (af_seg_match_inline (&ps[pi], path + segs[si].off, segs[si].len)) {
        pi++;
        si++;
        continue;
      }
    }
    if (star_pi == G_MAXUINT)
      return FALSE;
    si = ++star_si;
    pi = star_pi;
  }
  while (pi < m && ps[pi].kind == AF_SEG_GLOBSTAR)
    pi++;
  return pi == m;
}

static void
set_closure (const AfGlob *glob, guint64 *set)
{
  /* Ascending, so a chain of globstars would close in one pass (runs are
   * collapsed anyway). */
  for (guint i = 0; i < glob->n_segs; i++)
    if ((set[i / 64] >> (i % 64)) & 1 && glob->segs[i].kind == AF_SEG_GLOBSTAR)
      set[(i + 1) / 64] |= G_GUINT64_CONSTANT (1) << ((i + 1) % 64);
}

void
af_glob_match_prefix (const AfGlob *glob, const char *path, gsize len, gboolean *out_extends,
                      gboolean *out_covers)
{
  guint64 cur[AF_GLOB_SET_WORDS], next[AF_GLOB_SET_WORDS];
  guint m = glob->n_segs;
  guint words = (m + 1 + 63) / 64;
  gboolean any = TRUE;

  g_assert (m + 1 <= AF_GLOB_MAX_POSITIONS);
  memset (cur, 0, words * sizeof (guint64));
  cur[0] = 1;
  set_closure (glob, cur);

  gsize off = 0;
  for (;;) {
    off = skip_slashes (path, len, off);
    if (off >= len)
      break;
    gsize end = seg_end (path, len, off);
    memset (next, 0, words * sizeof (guint64));
    any = FALSE;
    for (guint w = 0; w < words; w++) {
      guint64 bits = cur[w];
      while (bits) {
        guint i = w * 64 + (guint)__builtin_ctzll (bits);
        bits &= bits - 1;
        if (i >= m)
          continue;
        guint to;
        if (glob->segs[i].kind == AF_SEG_GLOBSTAR)
          to = i;
        else if (af_seg_match (&glob->segs[i], path + off, end - off))
          to = i + 1;
        else
          continue;
        next[to / 64] |= G_GUINT64_CONSTANT (1) << (to % 64);
        any = TRUE;
      }
    }
    if (!any)
      break;
    set_closure (glob, next);
    memcpy (cur, next, words * sizeof (guint64));
    off = end;
  }

  gboolean extends = FALSE, covers = FALSE;
  if (any) {
    for (guint i = 0; i <= m; i++) {
      if (!((cur[i / 64] >> (i % 64)) & 1))
        continue;
      if (i < m)
        extends = TRUE;
      if (glob->covers_suffix[i])
        covers = TRUE;
    }
  }
  *out_extends = extends;
  *out_covers = covers;
}

/* ---- compilation ---- */

static gboolean fail (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, msg);
  return FALSE;
}

/* Lex one segment of a normalized pattern into @out. */
static gboolean
lex_segment (const char *s, gsize n, AfPatternType type, AfSeg *out, guint *literal_chars,
             gboolean *has_wildcard, GError **error)
{
  gboolean wild = FALSE, all_stars = TRUE;
  g_autoptr (GString) lit = g_string_sized_new (n);
  gsize i = 0;

  if (n == 2 && s[0] == '*' && s[1] == '*') {
    wild = TRUE;
    i = n;
  }
  while (i < n) {
    char c = s[i];
    if (c == '\\') {
      if (i + 1 >= n)
        return fail (error, "trailing '\\' in pattern (a '\\' escapes the next character, and "
                            "'/' cannot be escaped)");
      gunichar cp;
      guint cl = af_glob_next_char (s + i + 1, n - i - 1, &cp);
      g_string_append_len (lit, s + i + 1, cl);
      (*literal_chars)++;
      all_stars = FALSE;
      i += 1 + cl;
    } else if (c == '*') {
      wild = TRUE;
      i++;
    } else if (c == '?') {
      wild = TRUE;
      all_stars = FALSE;
      i++;
    } else if (c == '[') {
      gsize end;
      gboolean matched;
      if (!class_scan (s, n, i + 1, 0, &end, &matched))
        return fail (error, "unbalanced '[' in pattern (a bracket expression needs its ']' in "
                            "the same segment)");
      wild = TRUE;
      all_stars = FALSE;
      i = end;
    } else {
      gunichar cp;
      guint cl = af_glob_next_char (s + i, n - i, &cp);
      g_string_append_len (lit, s + i, cl);
      (*literal_chars)++;
      all_stars = FALSE;
      i += cl;
    }
  }

  if (wild && type != AF_PATTERN_GLOB)
    return fail (error,
                 "wildcards ('*', '?', '[') are not allowed in a %s rule; use a glob rule, or "
                 "escape them with '\\'",
                 af_pattern_type_to_string (type));

  if (n == 2 && s[0] == '*' && s[1] == '*') {
    out->kind = AF_SEG_GLOBSTAR;
    out->text = g_strdup ("**");
    out->len = 2;
  } else if (!wild) {
    out->kind = AF_SEG_LITERAL;
    out->len = (guint)lit->len;
    out->text = g_strndup (lit->str, lit->len);
  } else {
    out->kind = all_stars ? AF_SEG_STAR_ONLY : AF_SEG_GLOB;
    out->len = (guint)n;
    out->text = g_strndup (s, n);
  }
  *has_wildcard = *has_wildcard || wild;
  return TRUE;
}

void
af_glob_free (AfGlob *glob)
{
  if (glob == NULL)
    return;
  for (guint i = 0; i < glob->n_segs; i++)
    g_free (glob->segs[i].text);
  g_free (glob->segs);
  g_free (glob->covers_suffix);
  g_free (glob->normalized);
  g_free (glob);
}

AfGlob *
af_glob_compile (const char *pattern, gssize len, AfPatternType type, GError **error)
{
  if (pattern == NULL) {
    fail (error, "empty pattern");
    return NULL;
  }
  gsize n = len < 0 ? strlen (pattern) : (gsize)len;
  if (n == 0) {
    fail (error, "empty pattern");
    return NULL;
  }
  if (n > AF_POLICY_MAX_PATTERN) {
    fail (error, "pattern is %" G_GSIZE_FORMAT " bytes long; the limit is %d", n,
          AF_POLICY_MAX_PATTERN);
    return NULL;
  }
  if (memchr (pattern, '\0', n) != NULL) {
    fail (error, "pattern contains a NUL byte");
    return NULL;
  }
  if ((guint)type > AF_PATTERN_FILE) {
    fail (error, "unknown pattern type %d", (int)type);
    return NULL;
  }

  g_autoptr (GError) local = NULL;
  g_autofree char *rel = af_path_normalize (
      pattern, (gssize)n, AF_PATH_ALLOW_ABSOLUTE | AF_PATH_RESOLVE_DOTDOT | AF_PATH_ALLOW_ROOT,
      &local);
  if (rel == NULL) {
    fail (error, "invalid pattern: %s", local->message);
    return NULL;
  }

  g_autoptr (AfGlob) glob = g_new0 (AfGlob, 1);
  glob->normalized = af_path_to_absolute (rel);
  glob->literal_chars = 1; /* the leading '/' */

  g_autoptr (GArray) segs = g_array_new (FALSE, TRUE, sizeof (AfSeg));
  const char *p = rel;
  while (*p != '\0') {
    const char *slash = strchr (p, '/');
    gsize sn = slash ? (gsize)(slash - p) : strlen (p);
    AfSeg seg = { 0 };
    if (p != rel)
      glob->literal_chars++; /* the '/' before this segment */
    if (!lex_segment (p, sn, type, &seg, &glob->literal_chars, &glob->has_wildcard, error)) {
      for (guint i = 0; i < segs->len; i++)
        g_free (g_array_index (segs, AfSeg, i).text);
      return NULL;
    }
    if (seg.kind == AF_SEG_GLOBSTAR && segs->len > 0 &&
        g_array_index (segs, AfSeg, segs->len - 1).kind == AF_SEG_GLOBSTAR)
      g_free (seg.text);
    else
      g_array_append_val (segs, seg);
    p += sn;
    if (*p == '/')
      p++;
  }
  if (type == AF_PATTERN_DIRECTORY) {
    AfSeg seg = { AF_SEG_GLOBSTAR, 2, g_strdup ("**") };
    g_array_append_val (segs, seg);
  }

  glob->n_segs = segs->len;
  glob->segs = (AfSeg *)(void *)g_array_free (g_steal_pointer (&segs), FALSE);

  /* segs[i..] matches every non-empty sequence iff it is only '*'-segments
   * and globstars, with at least one globstar and at most one '*'. */
  glob->covers_suffix = g_new0 (guint8, glob->n_segs + 1);
  guint n_gs = 0, n_star = 0, n_other = 0;
  for (guint i = glob->n_segs; i-- > 0;) {
    switch (glob->segs[i].kind) {
    case AF_SEG_GLOBSTAR:
      n_gs++;
      break;
    case AF_SEG_STAR_ONLY:
      n_star++;
      break;
    default:
      n_other++;
    }
    glob->covers_suffix[i] = n_other == 0 && n_gs >= 1 && n_star <= 1;
    glob->can_cover = glob->can_cover || glob->covers_suffix[i];
  }
  return g_steal_pointer (&glob);
}

void
af_seg_literal_affixes (const AfSeg *seg, GString *prefix, GString *suffix)
{
  const char *s = seg->text;
  gsize n = seg->len, i = 0;
  gboolean in_prefix = TRUE;

  g_string_truncate (prefix, 0);
  g_string_truncate (suffix, 0);
  if (seg->kind == AF_SEG_LITERAL) {
    g_string_append_len (prefix, s, n);
    g_string_append_len (suffix, s, n);
    return;
  }
  if (seg->kind != AF_SEG_GLOB)
    return;
  while (i < n) {
    char c = s[i];
    if (c == '*' || c == '?' || c == '[') {
      in_prefix = FALSE;
      g_string_truncate (suffix, 0);
      if (c == '[') {
        gsize end;
        gboolean matched;
        if (!class_scan (s, n, i + 1, 0, &end, &matched))
          return;
        i = end;
      } else {
        i++;
      }
      continue;
    }
    if (c == '\\')
      i++;
    gunichar cp;
    guint cl = af_glob_next_char (s + i, n - i, &cp);
    if (in_prefix)
      g_string_append_len (prefix, s + i, cl);
    g_string_append_len (suffix, s + i, cl);
    i += cl;
  }
}
