/* test-local-tree.c — the walk that selects files for upload, on a crafted
 * tree: ignore files, option patterns, defaults, the size limit, links and
 * special files, and a comparison with what git considers not ignored. */
#include "sdk-test-util.h"

#include <agentfense/agentfense.h>

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  char *root;
} Fixture;

static void
sparse_file (const char *root, const char *path, gint64 size)
{
  g_autofree char *full = g_build_filename (root, path, NULL);
  int fd = open (full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, size), ==, 0);
  close (fd);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->root = g_dir_make_tmp ("af-local-tree-XXXXXX", &error);
  g_assert_no_error (error);

  sdk_test_write_file (f->root, ".gitignore",
                       "# build products\n*.log\n!keep.log\nbuild/\n/TODO\ndocs/**/*.tmp\n");
  sdk_test_write_file (f->root, ".sandboxignore", "secret/\n");
  sdk_test_write_file (f->root, "a.c", "int main;\n");
  sdk_test_write_file (f->root, "b.log", "log\n");
  sdk_test_write_file (f->root, "keep.log", "kept\n");
  sdk_test_write_file (f->root, "TODO", "root todo\n");
  sdk_test_write_file (f->root, "sub/TODO", "sub todo\n");
  sdk_test_write_file (f->root, "sub/build", "a file named build\n");
  sdk_test_write_file (f->root, "build/out.o", "obj\n");
  sdk_test_write_file (f->root, "docs/readme.md", "# docs\n");
  sdk_test_write_file (f->root, "docs/c.tmp", "tmp\n");
  sdk_test_write_file (f->root, "docs/a/b/c.tmp", "tmp\n");
  sdk_test_write_file (f->root, "deep/a/b/c/d.txt", "deep\n");
  sdk_test_write_file (f->root, "secret/key", "hunter2\n");
  sdk_test_write_file (f->root, ".git/config", "[core]\n");
  sdk_test_write_file (f->root, "node_modules/x/index.js", "x\n");
  sdk_test_write_file (f->root, ".env", "TOKEN=1\n");
  sparse_file (f->root, "big.bin", AF_LOCAL_TREE_DEFAULT_MAX_FILE_SIZE + 1);
  sparse_file (f->root, "exact.bin", AF_LOCAL_TREE_DEFAULT_MAX_FILE_SIZE);

  g_autofree char *link = g_build_filename (f->root, "link", NULL);
  g_assert_cmpint (symlink ("/etc/passwd", link), ==, 0);
  g_autofree char *dirlink = g_build_filename (f->root, "dirlink", NULL);
  g_assert_cmpint (symlink ("/etc", dirlink), ==, 0);
  g_autofree char *fifo = g_build_filename (f->root, "fifo", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_assert_true (sdk_test_remove_tree (f->root));
  g_free (f->root);
}

/* "path" for included files, "path:status" for skipped ones, joined by
 * spaces, in the order the tree returns them. */
static char *
describe (GPtrArray *files)
{
  g_autoptr (GString) out = g_string_new (NULL);
  for (guint i = 0; i < files->len; i++) {
    const AfLocalFile *file = files->pdata[i];
    if (out->len > 0)
      g_string_append_c (out, ' ');
    g_string_append (out, af_local_file_get_path (file));
    switch (af_local_file_get_status (file)) {
    case AF_LOCAL_FILE_INCLUDED:
      break;
    case AF_LOCAL_FILE_TOO_LARGE:
      g_string_append (out, ":too-large");
      break;
    case AF_LOCAL_FILE_NOT_REGULAR:
      g_string_append (out, ":not-regular");
      break;
    case AF_LOCAL_FILE_UNREADABLE:
      g_string_append (out, ":unreadable");
      break;
    }
  }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static AfLocalTree *
scan (Fixture *f, void (*configure) (AfLocalTree *tree))
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfLocalTree) tree = af_local_tree_new (f->root, &error);
  g_assert_no_error (error);
  if (configure != NULL)
    configure (tree);
  g_assert_true (af_local_tree_scan (tree, NULL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&tree);
}

static void
test_defaults (Fixture *f, gconstpointer data)
{
  g_autoptr (AfLocalTree) tree = scan (f, NULL);
  g_autofree char *files = describe (af_local_tree_get_files (tree));
  g_autofree char *skipped = describe (af_local_tree_get_skipped (tree));

  g_assert_cmpstr (files, ==,
                   ".gitignore .sandboxignore a.c deep/a/b/c/d.txt docs/readme.md exact.bin "
                   "keep.log sub/TODO sub/build");
  g_assert_cmpstr (skipped, ==,
                   "big.bin:too-large dirlink:not-regular fifo:not-regular "
                   "link:not-regular");
  g_assert_cmpint (af_local_file_get_size (af_local_tree_get_skipped (tree)->pdata[0]), ==,
                   AF_LOCAL_TREE_DEFAULT_MAX_FILE_SIZE + 1);

  /* Total: the sizes of the included files. */
  gint64 total = 0;
  GPtrArray *list = af_local_tree_get_files (tree);
  for (guint i = 0; i < list->len; i++)
    total += af_local_file_get_size (list->pdata[i]);
  g_assert_cmpint (af_local_tree_get_total_size (tree), ==, total);
  g_assert_cmpint (total, >, AF_LOCAL_TREE_DEFAULT_MAX_FILE_SIZE);
}

static void
configure_options (AfLocalTree *tree)
{
  g_assert_true (af_local_tree_add_ignore_pattern (tree, "!b.log", NULL));
  g_assert_true (af_local_tree_add_ignore_pattern (tree, "/sub/", NULL));
  g_assert_true (af_local_tree_add_ignore_pattern (tree, "**/c", NULL));
  g_assert_true (af_local_tree_add_ignore_pattern (tree, "!secret/key", NULL));
}

/* Option patterns come last, so they override the ignore files, but a file
 * in a directory that is ignored stays ignored (secret/key). */
static void
test_option_patterns (Fixture *f, gconstpointer data)
{
  g_autoptr (AfLocalTree) tree = scan (f, configure_options);
  g_autofree char *files = describe (af_local_tree_get_files (tree));

  g_assert_cmpstr (files, ==,
                   ".gitignore .sandboxignore a.c b.log docs/readme.md exact.bin keep.log");
}

static void
configure_limit (AfLocalTree *tree)
{
  af_local_tree_set_max_file_size (tree, 8);
  af_local_tree_set_default_ignores (tree, FALSE);
}

static void
test_limit_and_no_defaults (Fixture *f, gconstpointer data)
{
  g_autoptr (AfLocalTree) tree = scan (f, configure_limit);
  g_autofree char *files = describe (af_local_tree_get_files (tree));
  g_autofree char *skipped = describe (af_local_tree_get_skipped (tree));

  /* Files of at most 8 bytes; with the defaults off .git and .env count. */
  g_assert_cmpstr (files, ==,
                   ".env .git/config .sandboxignore deep/a/b/c/d.txt docs/readme.md keep.log "
                   "node_modules/x/index.js");
  g_assert_cmpstr (skipped, ==,
                   ".gitignore:too-large a.c:too-large big.bin:too-large dirlink:not-regular "
                   "exact.bin:too-large fifo:not-regular "
                   "link:not-regular sub/TODO:too-large sub/build:too-large");

  /* 0 lifts the limit. */
  af_local_tree_set_max_file_size (tree, 0);
  g_assert_true (af_local_tree_scan (tree, NULL, NULL));
  g_autofree char *skipped2 = describe (af_local_tree_get_skipped (tree));
  g_assert_cmpstr (skipped2, ==, "dirlink:not-regular fifo:not-regular link:not-regular");
}

static void
test_bad_root (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *file = g_build_filename (f->root, "a.c", NULL);
  g_autofree char *missing = g_build_filename (f->root, "missing", NULL);

  g_assert_null (af_local_tree_new (file, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);
  g_assert_null (af_local_tree_new (missing, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
}

static void
test_cancelled (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfLocalTree) tree = af_local_tree_new (f->root, &error);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();

  g_assert_true (af_local_tree_scan (tree, NULL, &error));
  g_assert_cmpuint (af_local_tree_get_files (tree)->len, >, 0);
  g_cancellable_cancel (cancellable);
  g_assert_false (af_local_tree_scan (tree, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (af_local_tree_get_files (tree)->len, ==, 0);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

static void
configure_like_git (AfLocalTree *tree)
{
  af_local_tree_set_default_ignores (tree, FALSE);
  af_local_tree_set_max_file_size (tree, 0);
}

/* git decides the same: with the defaults off and no .sandboxignore, the
 * files the walk keeps (plus the links it refuses to follow) are exactly the
 * untracked, not-ignored files git lists. */
static void
test_same_as_git (Fixture *f, gconstpointer data)
{
  g_autofree char *git = g_find_program_in_path ("git");
  if (git == NULL) {
    g_test_skip ("git is not installed");
    return;
  }
  g_autofree char *sandboxignore = g_build_filename (f->root, ".sandboxignore", NULL);
  g_assert_cmpint (g_unlink (sandboxignore), ==, 0);
  g_autofree char *fifo = g_build_filename (f->root, "fifo", NULL);
  g_assert_cmpint (g_unlink (fifo), ==, 0); /* git does not list FIFOs at all */
  g_autofree char *dotgit = g_build_filename (f->root, ".git", NULL);
  g_assert_true (sdk_test_remove_tree (dotgit));

  const char *init[] = { git, "-C", f->root, "init", "-q", NULL };
  g_autoptr (GError) error = NULL;
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **)init, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                               NULL, NULL, &status, &error));
  g_assert_true (g_spawn_check_wait_status (status, &error));
  const char *ls[] = { git, "-C", f->root, "ls-files", "--others", "--exclude-standard", NULL };
  g_autofree char *out = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **)ls, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL,
                               &status, &error));
  g_assert_true (g_spawn_check_wait_status (status, &error));

  g_auto (GStrv) git_lines = g_strsplit (g_strstrip (out), "\n", -1);
  g_autoptr (GPtrArray) git_files = g_ptr_array_new ();
  for (gsize i = 0; git_lines[i] != NULL; i++)
    g_ptr_array_add (git_files, git_lines[i]);
  g_ptr_array_sort (git_files, compare_strings);

  g_autoptr (AfLocalTree) tree = scan (f, configure_like_git);
  g_autoptr (GPtrArray) ours = g_ptr_array_new ();
  GPtrArray *lists[] = { af_local_tree_get_files (tree), af_local_tree_get_skipped (tree) };
  for (gsize l = 0; l < G_N_ELEMENTS (lists); l++)
    for (guint i = 0; i < lists[l]->len; i++) {
      const char *path = af_local_file_get_path (lists[l]->pdata[i]);
      if (!g_str_has_prefix (path, ".git/"))
        g_ptr_array_add (ours, (gpointer)path);
    }
  g_ptr_array_sort (ours, compare_strings);

  g_ptr_array_add (git_files, NULL);
  g_ptr_array_add (ours, NULL);
  g_autofree char *git_joined = g_strjoinv (" ", (char **)git_files->pdata);
  g_autofree char *ours_joined = g_strjoinv (" ", (char **)ours->pdata);
  g_assert_cmpstr (ours_joined, ==, git_joined);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/sdk/local-tree/defaults", test_defaults);
  ADD ("/sdk/local-tree/option-patterns", test_option_patterns);
  ADD ("/sdk/local-tree/limit-and-no-defaults", test_limit_and_no_defaults);
  ADD ("/sdk/local-tree/bad-root", test_bad_root);
  ADD ("/sdk/local-tree/cancelled", test_cancelled);
  ADD ("/sdk/local-tree/same-as-git", test_same_as_git);
#undef ADD
  return g_test_run ();
}
