/* af-path.c — lexical normalization of codebase paths. Pure; never logs. */
#include "af-path.h"
#include "af-error.h"

#include <string.h>

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

char *
af_path_normalize (const char *path, gssize len, AfPathFlags flags, GError **error)
{
  if (path == NULL) {
    fail (error, "path is missing");
    return NULL;
  }
  gsize n = len < 0 ? strlen (path) : (gsize)len;

  if (memchr (path, '\0', n) != NULL) {
    fail (error, "path contains a NUL byte");
    return NULL;
  }
  if (n > AF_PATH_MAX) {
    fail (error, "path is %" G_GSIZE_FORMAT " bytes long; the limit is %d", n, AF_PATH_MAX);
    return NULL;
  }
  if (!g_utf8_validate_len (path, n, NULL)) {
    fail (error, "path is not valid UTF-8");
    return NULL;
  }
  if (n > 0 && path[0] == '/' && !(flags & AF_PATH_ALLOW_ABSOLUTE)) {
    fail (error, "path must be relative to the codebase root, not absolute");
    return NULL;
  }

  /* Component starts of the output, for ".." popping. */
  GString *out = g_string_sized_new (n);
  g_autoptr (GArray) starts = g_array_new (FALSE, FALSE, sizeof (gsize));

  gsize i = 0;
  while (i < n) {
    while (i < n && path[i] == '/')
      i++;
    gsize s = i;
    while (i < n && path[i] != '/')
      i++;
    gsize clen = i - s;
    if (clen == 0)
      continue;
    if (clen > AF_PATH_NAME_MAX) {
      g_string_free (out, TRUE);
      fail (error, "a path component is %" G_GSIZE_FORMAT " bytes long; the limit is %d", clen,
            AF_PATH_NAME_MAX);
      return NULL;
    }
    if (clen == 1 && path[s] == '.')
      continue;
    if (clen == 2 && path[s] == '.' && path[s + 1] == '.') {
      if (!(flags & AF_PATH_RESOLVE_DOTDOT)) {
        g_string_free (out, TRUE);
        fail (error, "path must not contain '..'");
        return NULL;
      }
      if (starts->len == 0) {
        g_string_free (out, TRUE);
        fail (error, "path climbs above the codebase root with '..'");
        return NULL;
      }
      gsize back = g_array_index (starts, gsize, starts->len - 1);
      g_array_set_size (starts, starts->len - 1);
      g_string_truncate (out, back > 0 ? back - 1 : 0);
      continue;
    }
    if (out->len > 0)
      g_string_append_c (out, '/');
    gsize start = out->len;
    g_array_append_val (starts, start);
    g_string_append_len (out, path + s, (gssize)clen);
  }

  if (out->len == 0 && !(flags & AF_PATH_ALLOW_ROOT)) {
    g_string_free (out, TRUE);
    fail (error, "path is empty (names the codebase root)");
    return NULL;
  }
  return g_string_free (out, FALSE);
}

char *
af_path_to_absolute (const char *relative)
{
  g_return_val_if_fail (relative != NULL, NULL);
  return g_strconcat ("/", relative, NULL);
}

const char *
af_path_basename (const char *relative)
{
  g_return_val_if_fail (relative != NULL, NULL);
  const char *slash = strrchr (relative, '/');
  return slash ? slash + 1 : relative;
}
