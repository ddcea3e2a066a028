/* sdk-test-util.c — see sdk-test-util.h. */
#include "sdk-test-util.h"

#include <glib/gstdio.h>

void
sdk_test_write_file (const char *root, const char *path, const char *contents)
{
  g_autofree char *full = g_build_filename (root, path, NULL);
  g_autofree char *dir = g_path_get_dirname (full);
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (full, contents, -1, &error));
}

gboolean
sdk_test_remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  if (dir != NULL) {
    const char *name;
    while ((name = g_dir_read_name (dir)) != NULL) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (!g_file_test (child, G_FILE_TEST_IS_SYMLINK) && g_file_test (child, G_FILE_TEST_IS_DIR))
        sdk_test_remove_tree (child);
      else
        g_unlink (child);
    }
  }
  return g_rmdir (path) == 0;
}
