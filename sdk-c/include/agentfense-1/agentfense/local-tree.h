/* local-tree.h — which files of a local directory get uploaded.
 *
 * The walk behind "upload this directory" (from_local, `agentfense codebase
 * upload`): it honours `.gitignore` and `.sandboxignore` at the root and
 * extra patterns, all with gitignore semantics, never follows a symbolic
 * link, and skips files larger than a limit (50 MB by default), reporting
 * every file it skipped for a reason other than an ignore pattern. */
#pragma once

#include <agentfense/macros.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * AF_LOCAL_TREE_DEFAULT_MAX_FILE_SIZE:
 *
 * Files larger than this (50 MB, as in the Python SDK) are skipped unless
 * af_local_tree_set_max_file_size() says otherwise.
 */
#define AF_LOCAL_TREE_DEFAULT_MAX_FILE_SIZE ((gint64)50 * 1024 * 1024)

/**
 * AF_LOCAL_TREE_MAX_FILES:
 *
 * A scan that finds more files than this fails with
 * %AF_SDK_ERROR_RESOURCE_LIMIT rather than growing without bound.
 */
#define AF_LOCAL_TREE_MAX_FILES 1000000

/**
 * AfLocalFileStatus:
 * @AF_LOCAL_FILE_INCLUDED: to be uploaded.
 * @AF_LOCAL_FILE_TOO_LARGE: skipped: larger than the size limit.
 * @AF_LOCAL_FILE_NOT_REGULAR: skipped: a symbolic link, socket, FIFO or
 *   device (never followed, never uploaded).
 * @AF_LOCAL_FILE_UNREADABLE: skipped: a directory that could not be opened.
 *
 * What the scan decided about one path.
 */
typedef enum {
  AF_LOCAL_FILE_INCLUDED = 0,
  AF_LOCAL_FILE_TOO_LARGE = 1,
  AF_LOCAL_FILE_NOT_REGULAR = 2,
  AF_LOCAL_FILE_UNREADABLE = 3,
} AfLocalFileStatus;

/**
 * AfLocalFile:
 *
 * One path found by a scan. Owned by the #AfLocalTree that found it.
 */
typedef struct _AfLocalFile AfLocalFile;

/**
 * af_local_file_get_path:
 * @file: a file of a scan
 *
 * Returns: (transfer none): the path relative to the root, components
 *   separated by '/' ("src/main.c").
 */
AF_PUBLIC const char *af_local_file_get_path (const AfLocalFile *file);

/**
 * af_local_file_get_size:
 * @file: a file of a scan
 *
 * Returns: the size in bytes when the scan saw it (0 for a non-regular file).
 */
AF_PUBLIC gint64 af_local_file_get_size (const AfLocalFile *file);

/**
 * af_local_file_get_status:
 * @file: a file of a scan
 *
 * Returns: included, or why it was skipped.
 */
AF_PUBLIC AfLocalFileStatus af_local_file_get_status (const AfLocalFile *file);

/**
 * AfLocalTree:
 *
 * A local directory, the rules that select its files, and the result of
 * the last scan. Not thread-safe; free with af_local_tree_free().
 */
typedef struct _AfLocalTree AfLocalTree;

/**
 * af_local_tree_new: (skip)
 * @root: a local directory
 * @error: return location for an %AF_SDK_ERROR_INVALID_CONFIGURATION error
 *   when @root does not exist or is not a directory
 *
 * Returns: (transfer full): a new tree with the default ignore patterns
 *   (version-control and tool caches such as `.git/`, `node_modules/`,
 *   `__pycache__/`, `.env`) and the default size limit.
 */
AF_PUBLIC AfLocalTree *af_local_tree_new (const char *root, GError **error);

/**
 * af_local_tree_free:
 * @tree: (transfer full) (nullable): a tree
 */
AF_PUBLIC void af_local_tree_free (AfLocalTree *tree);

/**
 * af_local_tree_get_root:
 * @tree: a tree
 *
 * Returns: (transfer none): the root as given to af_local_tree_new().
 */
AF_PUBLIC const char *af_local_tree_get_root (AfLocalTree *tree);

/**
 * af_local_tree_add_ignore_pattern:
 * @tree: a tree
 * @pattern: one line of gitignore syntax (`build/`, `!keep.log`, `/TODO`,
 *   `*.tmp`)
 * @error: return location for an %AF_SDK_ERROR_INVALID_CONFIGURATION error
 *
 * Adds a pattern that is evaluated after the root's `.gitignore` and
 * `.sandboxignore`, so it can override them (a later match wins).
 *
 * Returns: %TRUE on success, %FALSE if the pattern is too long.
 */
AF_PUBLIC gboolean af_local_tree_add_ignore_pattern (AfLocalTree *tree, const char *pattern,
                                                     GError **error);

/**
 * af_local_tree_set_default_ignores:
 * @tree: a tree
 * @enabled: whether the default patterns apply (they do unless turned off)
 */
AF_PUBLIC void af_local_tree_set_default_ignores (AfLocalTree *tree, gboolean enabled);

/**
 * af_local_tree_set_max_file_size:
 * @tree: a tree
 * @max_bytes: files larger than this are skipped and reported; 0 means no
 *   limit
 */
AF_PUBLIC void af_local_tree_set_max_file_size (AfLocalTree *tree, gint64 max_bytes);

/**
 * af_local_tree_scan:
 * @tree: a tree
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Walks the tree (again, if it was scanned before). Patterns are applied
 * in this order, the last match deciding: the defaults, `.gitignore`,
 * `.sandboxignore`, then those added with af_local_tree_add_ignore_pattern().
 * An ignored directory is not entered, so nothing below it can be
 * re-included (as in git).
 *
 * Returns: %TRUE on success; on failure the previous results are cleared.
 */
AF_PUBLIC gboolean af_local_tree_scan (AfLocalTree *tree, GCancellable *cancellable,
                                       GError **error);

/**
 * af_local_tree_get_files:
 * @tree: a scanned tree
 *
 * Returns: (transfer none) (element-type AfLocalFile): the files to upload,
 *   sorted by path; valid until the next scan or af_local_tree_free().
 */
AF_PUBLIC GPtrArray *af_local_tree_get_files (AfLocalTree *tree);

/**
 * af_local_tree_get_skipped:
 * @tree: a scanned tree
 *
 * Returns: (transfer none) (element-type AfLocalFile): the paths skipped for
 *   a reason other than an ignore pattern, sorted by path.
 */
AF_PUBLIC GPtrArray *af_local_tree_get_skipped (AfLocalTree *tree);

/**
 * af_local_tree_get_total_size:
 * @tree: a scanned tree
 *
 * Returns: the sum of the sizes of the included files.
 */
AF_PUBLIC gint64 af_local_tree_get_total_size (AfLocalTree *tree);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfLocalTree, af_local_tree_free)

G_END_DECLS
