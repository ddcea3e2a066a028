/* af-ignore.c — gitignore pattern parsing and matching (see af-ignore.h
 * for the semantics).
 *
 * Matching is a backtracking wildmatch over the pattern and the path; both
 * are bounded (AF_IGNORE_MAX_PATTERN, the walker's path limit), and a
 * failed `*` or `**` gives up as soon as the rest cannot match, which keeps
 * the cost of one match polynomial for ordinary patterns. */
#include "af-ignore.h"

#include <agentfense/agentfense.h>
#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  char *glob;        /* the pattern body: no '!', no leading or trailing '/' */
  gboolean negate;   /* '!': a match re-includes */
  gboolean dir_only; /* trailing '/' */
  gboolean anchored; /* had a '/' other than a trailing one: match the whole path */
} AfIgnoreRule;

struct _AfIgnore {
  GArray *rules; /* AfIgnoreRule */
};

static void
rule_clear (gpointer data)
{
  AfIgnoreRule *rule = data;
  g_free (rule->glob);
}

AfIgnore *
af_ignore_new (void)
{
  AfIgnore *ignore = g_new0 (AfIgnore, 1);
  ignore->rules = g_array_new (FALSE, TRUE, sizeof (AfIgnoreRule));
  g_array_set_clear_func (ignore->rules, rule_clear);
  return ignore;
}

void
af_ignore_free (AfIgnore *ignore)
{
  if (ignore == NULL)
    return;
  g_array_unref (ignore->rules);
  g_free (ignore);
}

/* Length of @line without trailing unescaped spaces (and a '\r' from a
 * CRLF file). */
static gsize
trimmed_length (const char *line, gsize len)
{
  if (len > 0 && line[len - 1] == '\r')
    len--;
  while (len > 0 && line[len - 1] == ' ') {
    gsize backslashes = 0;
    while (backslashes < len - 1 && line[len - 2 - backslashes] == '\\')
      backslashes++;
    if (backslashes % 2 == 1)
      break; /* "\ " keeps the space */
    len--;
  }
  return len;
}

gboolean
af_ignore_add_line (AfIgnore *ignore, const char *line, GError **error)
{
  gsize len = strlen (line);

  if (len > AF_IGNORE_MAX_PATTERN) {
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                 "ignore pattern longer than %d bytes", AF_IGNORE_MAX_PATTERN);
    return FALSE;
  }
  if (ignore->rules->len >= AF_IGNORE_MAX_PATTERNS) {
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                 "more than %d ignore patterns", AF_IGNORE_MAX_PATTERNS);
    return FALSE;
  }

  len = trimmed_length (line, len);
  if (len == 0 || line[0] == '#')
    return TRUE;

  AfIgnoreRule rule = { 0 };
  const char *start = line;
  if (*start == '!') {
    rule.negate = TRUE;
    start++;
  } else if (start[0] == '\\' && (start[1] == '!' || start[1] == '#')) {
    start++; /* "\!name", "\#name": literal first character */
  }
  gsize body_len = len - (gsize)(start - line);

  if (body_len > 0 && start[body_len - 1] == '/') {
    rule.dir_only = TRUE;
    body_len--;
  }
  if (memchr (start, '/', body_len) != NULL)
    rule.anchored = TRUE;
  if (body_len > 0 && start[0] == '/') {
    start++;
    body_len--;
  }
  if (body_len == 0)
    return TRUE; /* "/", "!" or "!/": git ignores such lines too */

  rule.glob = g_strndup (start, body_len);
  g_array_append_val (ignore->rules, rule);
  return TRUE;
}

gboolean
af_ignore_add_file (AfIgnore *ignore, const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr (GError) local_error = NULL;

  /* Check the size before reading: an ignore file is a user-controlled
   * input like any other. */
  GStatBuf st;
  if (g_stat (path, &st) != 0)
    return TRUE;
  if (st.st_size > AF_IGNORE_MAX_FILE_SIZE) {
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                 "%s is larger than %d bytes", path, AF_IGNORE_MAX_FILE_SIZE);
    return FALSE;
  }
  if (!g_file_get_contents (path, &contents, &length, &local_error)) {
    if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return TRUE;
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION, "%s",
                 local_error->message);
    return FALSE;
  }
  if (length > AF_IGNORE_MAX_FILE_SIZE) {
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                 "%s is larger than %d bytes", path, AF_IGNORE_MAX_FILE_SIZE);
    return FALSE;
  }

  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++) {
    g_autoptr (GError) line_error = NULL;
    if (!af_ignore_add_line (ignore, lines[i], &line_error)) {
      g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION, "%s:%zu: %s", path,
                   i + 1, line_error->message);
      return FALSE;
    }
  }
  return TRUE;
}

/* A bracket expression at @p (just after '['). Sets *@matched and returns
 * the pattern position after ']', or NULL when the class is not closed
 * (then '[' is an ordinary character). */
static const char *
match_class (const char *p, char c, gboolean *matched)
{
  gboolean negate = FALSE;
  gboolean found = FALSE;

  if (*p == '!' || *p == '^') {
    negate = TRUE;
    p++;
  }
  gboolean first = TRUE;
  while (*p != '\0' && (*p != ']' || first)) {
    char lo = *p;
    if (lo == '\\' && p[1] != '\0')
      lo = *++p;
    char hi = lo;
    if (p[1] == '-' && p[2] != '\0' && p[2] != ']') {
      hi = p[2];
      p += 2;
      if (hi == '\\' && p[1] != '\0')
        hi = *++p;
    }
    if (c >= lo && c <= hi)
      found = TRUE;
    p++;
    first = FALSE;
  }
  if (*p != ']')
    return NULL;
  *matched = (found != negate) && c != '/';
  return p + 1;
}

/* Is the "**" at @p a whole path component of @pattern? */
static gboolean
is_double_star_component (const char *pattern, const char *p)
{
  return p[0] == '*' && p[1] == '*' && (p == pattern || p[-1] == '/') &&
         (p[2] == '/' || p[2] == '\0');
}

static gboolean
glob_match (const char *pattern, const char *p, const char *t)
{
  while (*p != '\0') {
    if (is_double_star_component (pattern, p)) {
      if (p[2] == '\0')
        return TRUE; /* a trailing double star: everything below */
      /* "**" + "/": zero or more whole directories. */
      const char *rest = p + 3;
      for (const char *s = t;; s++) {
        if ((s == t || s[-1] == '/') && glob_match (pattern, rest, s))
          return TRUE;
        if (*s == '\0')
          return FALSE;
      }
    }
    switch (*p) {
    case '*': {
      while (*p == '*')
        p++; /* "a**b" is an ordinary star */
      for (const char *s = t;; s++) {
        if (glob_match (pattern, p, s))
          return TRUE;
        if (*s == '\0' || *s == '/')
          return FALSE;
      }
    }
    case '?':
      if (*t == '\0' || *t == '/')
        return FALSE;
      p++;
      t++;
      break;
    case '[': {
      gboolean matched = FALSE;
      const char *after = (*t != '\0') ? match_class (p + 1, *t, &matched) : NULL;
      if (after != NULL) {
        if (!matched)
          return FALSE;
        p = after;
        t++;
        break;
      }
      if (*t != '[')
        return FALSE;
      p++;
      t++;
      break;
    }
    case '\\':
      if (p[1] != '\0')
        p++;
      G_GNUC_FALLTHROUGH;
    default:
      if (*p != *t)
        return FALSE;
      p++;
      t++;
      break;
    }
  }
  return *t == '\0';
}

gboolean
af_ignore_glob_match (const char *pattern, const char *text)
{
  return glob_match (pattern, pattern, text);
}

gboolean
af_ignore_match (const AfIgnore *ignore, const char *path, gboolean is_dir)
{
  const char *slash = strrchr (path, '/');
  const char *basename = slash != NULL ? slash + 1 : path;

  /* The last matching rule decides: walk backwards and stop at the first. */
  for (guint i = ignore->rules->len; i-- > 0;) {
    const AfIgnoreRule *rule = &g_array_index (ignore->rules, AfIgnoreRule, i);
    if (rule->dir_only && !is_dir)
      continue;
    if (af_ignore_glob_match (rule->glob, rule->anchored ? path : basename))
      return !rule->negate;
  }
  return FALSE;
}
