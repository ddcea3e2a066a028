/* example-util.c — see example-util.h. */
#define _XOPEN_SOURCE 700
#include "example-util.h"

#include <ftw.h>

static void
write_file (const char *root, const char *path, const char *text)
{
  g_autofree char *full = g_build_filename (root, path, NULL);
  g_autofree char *dir = g_path_get_dirname (full);
  g_autoptr (GError) error = NULL;
  if (g_mkdir_with_parents (dir, 0755) != 0 || !g_file_set_contents (full, text, -1, &error)) {
    fprintf (stderr, "cannot write %s\n", full);
    exit (1);
  }
}

char *
example_project (int argc, char **argv)
{
  if (argc > 1)
    return g_strdup (argv[1]);
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("af-example-XXXXXX", &error);
  CHECK (dir != NULL, error);
  write_file (dir, "README.md", "# demo\nA tiny project for the examples.\n");
  write_file (dir, "src/app.sh", "echo \"app says hello\"\n");
  write_file (dir, "tests/test.sh", "sh src/app.sh | grep -q hello && echo 'tests passed'\n");
  write_file (dir, "secrets/.env", "API_KEY=do-not-leak\n");
  write_file (dir, ".sandboxignore", "*.tmp\n");
  return dir;
}

static int
remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

void
example_cleanup (const char *project, int argc)
{
  if (argc <= 1)
    nftw (project, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
