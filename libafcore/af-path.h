/* af-path.h — codebase-relative path normalization.
 *
 * Every path that comes from a client (upload names, list paths, rule
 * patterns) passes through af_path_normalize before it reaches the disk or
 * the policy engine. The result is canonical: components joined by single
 * '/', no leading or trailing '/', no "." or ".." components; "" is the root.
 * It is pure string work: no I/O, no symlink resolution (the store never
 * follows symlinks, so a lexical path is the real one). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AF_PATH_MAX 4096     /* bytes in a whole path, as given */
#define AF_PATH_NAME_MAX 255 /* bytes in one component */

typedef enum {
  AF_PATH_FLAGS_NONE = 0,
  /* A leading '/' is accepted and means the codebase root. Without it an
   * absolute path is an error ("must be relative"). */
  AF_PATH_ALLOW_ABSOLUTE = 1 << 0,
  /* ".." is resolved lexically; only climbing above the root is an error.
   * Without it any ".." component is an error. */
  AF_PATH_RESOLVE_DOTDOT = 1 << 1,
  /* The root itself ("", ".", "/") is accepted and normalizes to "".
   * Without it the root is an error ("path is empty"). */
  AF_PATH_ALLOW_ROOT = 1 << 2,
} AfPathFlags;

/* Normalize @path (@len bytes, or -1 for NUL-terminated) under @flags.
 * Always rejected: a NUL byte inside the given length, a path longer than
 * AF_PATH_MAX, a component longer than AF_PATH_NAME_MAX, invalid UTF-8.
 * Empty components ("a//b", trailing "/") and "." components are dropped.
 * Returns a newly allocated canonical relative path, or NULL with
 * AF_ERROR_INVALID_ARGUMENT naming what is wrong. */
char *af_path_normalize (const char *path, gssize len, AfPathFlags flags, GError **error);

/* "/" + @relative (the canonical form used by rules and inside /workspace). */
char *af_path_to_absolute (const char *relative);

/* The last component of a canonical path ("" for the root); points into
 * @relative. */
const char *af_path_basename (const char *relative);

G_END_DECLS
