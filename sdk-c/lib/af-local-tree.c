/* af-local-tree.c — the walk that selects the files of a local directory
 * for upload (see local-tree.h).
 *
 * Owns: AfLocalTree and AfLocalFile. Every entry below the root is opened
 * relative to its parent directory fd with O_NOFOLLOW and inspected with
 * fstatat(AT_SYMLINK_NOFOLLOW), so a symbolic link inside the tree is never
 * followed, whatever it points at. Must never: read file contents (the
 * upload does), log, or follow a link below the root. */
#include "af-sdk-private.h"

#include "af-ignore.h"
#include "af-path.h"

#include <dirent.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a scan ignores unless told not to: the same list the Python SDK
 * applies, as gitignore lines. */
static const char *const default_ignores[] = {
  ".git/",       "__pycache__/",  "*.pyc",          "*.pyo",        ".DS_Store",
  "Thumbs.db",   "node_modules/", ".venv/",         "venv/",        ".env",
  "*.egg-info/", ".tox/",         ".pytest_cache/", ".mypy_cache/", ".ruff_cache/",
};

#define AF_LOCAL_TREE_MAX_DEPTH 256

struct _AfLocalFile {
  char *path;
  gint64 size;
  AfLocalFileStatus status;
};

struct _AfLocalTree {
  char *root;
  GPtrArray *patterns; /* char*: added with af_local_tree_add_ignore_pattern */
  gboolean default_ignores;
  gint64 max_file_size; /* 0: none */

  /* Results of the last scan. */
  GPtrArray *files;   /* AfLocalFile*, owned */
  GPtrArray *skipped; /* AfLocalFile*, owned */
  gint64 total_size;
};

typedef struct {
  AfLocalTree *tree;
  AfIgnore *ignore;
  GCancellable *cancellable;
  GPtrArray *files;
  GPtrArray *skipped;
  gint64 total_size;
} ScanState;

static void
local_file_free (gpointer data)
{
  AfLocalFile *file = data;
  g_free (file->path);
  g_free (file);
}

static AfLocalFile *
local_file_new (const char *path, gint64 size, AfLocalFileStatus status)
{
  AfLocalFile *file = g_new0 (AfLocalFile, 1);
  file->path = g_strdup (path);
  file->size = size;
  file->status = status;
  return file;
}

const char *
af_local_file_get_path (const AfLocalFile *file)
{
  return file->path;
}

gint64
af_local_file_get_size (const AfLocalFile *file)
{
  return file->size;
}

AfLocalFileStatus
af_local_file_get_status (const AfLocalFile *file)
{
  return file->status;
}

AfLocalTree *
af_local_tree_new (const char *root, GError **error)
{
  g_return_val_if_fail (root != NULL, NULL);

  GStatBuf st;
  if (g_stat (root, &st) != 0) {
    int saved_errno = errno;
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION, "%s: %s", root,
                 g_strerror (saved_errno));
    return NULL;
  }
  if (!S_ISDIR (st.st_mode)) {
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION, "%s is not a directory",
                 root);
    return NULL;
  }

  AfLocalTree *tree = g_new0 (AfLocalTree, 1);
  tree->root = g_strdup (root);
  tree->patterns = g_ptr_array_new_with_free_func (g_free);
  tree->default_ignores = TRUE;
  tree->max_file_size = AF_LOCAL_TREE_DEFAULT_MAX_FILE_SIZE;
  tree->files = g_ptr_array_new_with_free_func (local_file_free);
  tree->skipped = g_ptr_array_new_with_free_func (local_file_free);
  return tree;
}

void
af_local_tree_free (AfLocalTree *tree)
{
  if (tree == NULL)
    return;
  g_free (tree->root);
  g_ptr_array_unref (tree->patterns);
  g_ptr_array_unref (tree->files);
  g_ptr_array_unref (tree->skipped);
  g_free (tree);
}

const char *
af_local_tree_get_root (AfLocalTree *tree)
{
  return tree->root;
}

gboolean
af_local_tree_add_ignore_pattern (AfLocalTree *tree, const char *pattern, GError **error)
{
  g_return_val_if_fail (pattern != NULL, FALSE);

  /* Parse now so a bad pattern fails here, naming itself, not in a scan. */
  g_autoptr (AfIgnore) check = af_ignore_new ();
  if (!af_ignore_add_line (check, pattern, error))
    return FALSE;
  if (tree->patterns->len >= AF_IGNORE_MAX_PATTERNS) {
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                 "more than %d ignore patterns", AF_IGNORE_MAX_PATTERNS);
    return FALSE;
  }
  g_ptr_array_add (tree->patterns, g_strdup (pattern));
  return TRUE;
}

void
af_local_tree_set_default_ignores (AfLocalTree *tree, gboolean enabled)
{
  tree->default_ignores = enabled;
}

void
af_local_tree_set_max_file_size (AfLocalTree *tree, gint64 max_bytes)
{
  tree->max_file_size = MAX (max_bytes, 0);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

static gboolean
add_entry (ScanState *state, GPtrArray *list, AfLocalFile *file, GError **error)
{
  if (state->files->len + state->skipped->len >= AF_LOCAL_TREE_MAX_FILES) {
    local_file_free (file);
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_RESOURCE_LIMIT, "%s holds more than %d files",
                 state->tree->root, AF_LOCAL_TREE_MAX_FILES);
    return FALSE;
  }
  g_ptr_array_add (list, file);
  return TRUE;
}

static gboolean scan_dir (ScanState *state, int dir_fd, const char *prefix, guint depth,
                          GError **error);

/* One entry @name of the directory @dir_fd, whose path relative to the
 * root is @prefix ("" for the root). */
static gboolean
scan_entry (ScanState *state, int dir_fd, const char *prefix, const char *name, guint depth,
            GError **error)
{
  g_autofree char *path = *prefix != '\0' ? g_strconcat (prefix, "/", name, NULL) : g_strdup (name);
  struct stat st;

  if (strlen (path) > AF_PATH_MAX) {
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                 "path longer than %d bytes below %s", AF_PATH_MAX, state->tree->root);
    return FALSE;
  }
  if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT)
      return TRUE; /* removed while we walked */
    return add_entry (state, state->skipped, local_file_new (path, 0, AF_LOCAL_FILE_UNREADABLE),
                      error);
  }

  gboolean is_dir = S_ISDIR (st.st_mode);
  if (af_ignore_match (state->ignore, path, is_dir))
    return TRUE;

  if (is_dir) {
    if (depth + 1 > AF_LOCAL_TREE_MAX_DEPTH) {
      g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                   "%s: more than %d nested directories", path, AF_LOCAL_TREE_MAX_DEPTH);
      return FALSE;
    }
    int fd = openat (dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return add_entry (state, state->skipped, local_file_new (path, 0, AF_LOCAL_FILE_UNREADABLE),
                        error);
    return scan_dir (state, fd, path, depth + 1, error);
  }
  if (!S_ISREG (st.st_mode))
    return add_entry (state, state->skipped, local_file_new (path, 0, AF_LOCAL_FILE_NOT_REGULAR),
                      error);
  if (state->tree->max_file_size > 0 && st.st_size > state->tree->max_file_size)
    return add_entry (state, state->skipped,
                      local_file_new (path, st.st_size, AF_LOCAL_FILE_TOO_LARGE), error);

  state->total_size += st.st_size;
  return add_entry (state, state->files, local_file_new (path, st.st_size, AF_LOCAL_FILE_INCLUDED),
                    error);
}

/* Scans the directory open at @fd (taken: closed before returning). Names
 * are sorted so the result is the same on every file system. */
static gboolean
scan_dir (ScanState *state, int fd, const char *prefix, guint depth, GError **error)
{
  DIR *dir = fdopendir (fd);
  if (dir == NULL) {
    close (fd);
    return add_entry (state, state->skipped, local_file_new (prefix, 0, AF_LOCAL_FILE_UNREADABLE),
                      error);
  }

  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *entry;
  while ((entry = readdir (dir)) != NULL) {
    if (strcmp (entry->d_name, ".") == 0 || strcmp (entry->d_name, "..") == 0)
      continue;
    g_ptr_array_add (names, g_strdup (entry->d_name));
  }
  g_ptr_array_sort (names, compare_names);

  gboolean ok = TRUE;
  for (guint i = 0; ok && i < names->len; i++) {
    if (g_cancellable_set_error_if_cancelled (state->cancellable, error)) {
      ok = FALSE;
      break;
    }
    ok = scan_entry (state, dirfd (dir), prefix, names->pdata[i], depth, error);
  }
  closedir (dir);
  return ok;
}

static int
compare_files (gconstpointer a, gconstpointer b)
{
  const AfLocalFile *fa = *(const AfLocalFile *const *)a;
  const AfLocalFile *fb = *(const AfLocalFile *const *)b;
  return strcmp (fa->path, fb->path);
}

static AfIgnore *
build_ignore (AfLocalTree *tree, GError **error)
{
  g_autoptr (AfIgnore) ignore = af_ignore_new ();

  if (tree->default_ignores) {
    for (gsize i = 0; i < G_N_ELEMENTS (default_ignores); i++)
      if (!af_ignore_add_line (ignore, default_ignores[i], error))
        return NULL;
  }
  const char *const ignore_files[] = { ".gitignore", ".sandboxignore" };
  for (gsize i = 0; i < G_N_ELEMENTS (ignore_files); i++) {
    g_autofree char *path = g_build_filename (tree->root, ignore_files[i], NULL);
    if (!af_ignore_add_file (ignore, path, error))
      return NULL;
  }
  for (guint i = 0; i < tree->patterns->len; i++)
    if (!af_ignore_add_line (ignore, tree->patterns->pdata[i], error))
      return NULL;
  return g_steal_pointer (&ignore);
}

gboolean
af_local_tree_scan (AfLocalTree *tree, GCancellable *cancellable, GError **error)
{
  g_ptr_array_set_size (tree->files, 0);
  g_ptr_array_set_size (tree->skipped, 0);
  tree->total_size = 0;

  g_autoptr (AfIgnore) ignore = build_ignore (tree, error);
  if (ignore == NULL)
    return FALSE;

  /* The root itself may be a link the user named on purpose: follow it. */
  int fd = open (tree->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int saved_errno = errno;
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION, "%s: %s", tree->root,
                 g_strerror (saved_errno));
    return FALSE;
  }

  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (local_file_free);
  g_autoptr (GPtrArray) skipped = g_ptr_array_new_with_free_func (local_file_free);
  ScanState state = {
    .tree = tree,
    .ignore = ignore,
    .cancellable = cancellable,
    .files = files,
    .skipped = skipped,
  };
  if (!scan_dir (&state, fd, "", 0, error))
    return FALSE;

  /* Depth-first order over sorted names is not path order ("a/b" vs "a.c"):
   * sort the lists themselves. */
  g_ptr_array_sort (files, compare_files);
  g_ptr_array_sort (skipped, compare_files);
  g_ptr_array_extend_and_steal (tree->files, g_steal_pointer (&files));
  g_ptr_array_extend_and_steal (tree->skipped, g_steal_pointer (&skipped));
  tree->total_size = state.total_size;
  return TRUE;
}

GPtrArray *
af_local_tree_get_files (AfLocalTree *tree)
{
  return tree->files;
}

GPtrArray *
af_local_tree_get_skipped (AfLocalTree *tree)
{
  return tree->skipped;
}

gint64
af_local_tree_get_total_size (AfLocalTree *tree)
{
  return tree->total_size;
}
