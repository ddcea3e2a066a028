/* af-ignore.h — gitignore patterns: parsing and matching (internal).
 *
 * Semantics are git's (gitignore(5)) for one ignore file at the root:
 * blank lines and `#` comments skipped, trailing spaces dropped unless
 * escaped, `!` negates, a trailing `/` matches directories only, a `/` at
 * the start or in the middle anchors the pattern at the root (otherwise it
 * matches a name at any depth), `*` `?` `[...]` never match `/`, and `**`
 * as a whole component matches any number of directories. The last
 * matching pattern decides.
 *
 * Must never: do I/O other than reading an ignore file, or follow
 * anything. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AF_IGNORE_MAX_PATTERN 4096            /* bytes in one pattern */
#define AF_IGNORE_MAX_FILE_SIZE (1024 * 1024) /* bytes in one ignore file */
#define AF_IGNORE_MAX_PATTERNS 100000         /* patterns in one set */

typedef struct _AfIgnore AfIgnore;

AfIgnore *af_ignore_new (void);
void af_ignore_free (AfIgnore *ignore);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfIgnore, af_ignore_free)

/* Adds one line of an ignore file; blank lines and comments add nothing.
 * Fails (AF_SDK_ERROR_INVALID_CONFIGURATION) only on a bound. */
gboolean af_ignore_add_line (AfIgnore *ignore, const char *line, GError **error);

/* Adds every line of the file at @path; a missing file adds nothing. */
gboolean af_ignore_add_file (AfIgnore *ignore, const char *path, GError **error);

/* Whether @path (relative to the root, '/'-separated, no leading or
 * trailing '/') is ignored. @is_dir says whether it is a directory. */
gboolean af_ignore_match (const AfIgnore *ignore, const char *path, gboolean is_dir);

/* The glob matcher alone: @pattern against @text, where `*`, `?` and
 * classes stop at '/' and a `**` component spans directories. */
gboolean af_ignore_glob_match (const char *pattern, const char *text);

G_END_DECLS
