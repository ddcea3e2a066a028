/* bench-local-tree.c — how fast AfLocalTree selects the files of a large
 * tree, against git selecting the same files (`git ls-files --others
 * --exclude-standard`) and against `find` listing every file with its size
 * (which, like the scan and unlike git, stats each file), in the same run.
 * The scan and git must select the same set.
 *
 *   bench-local-tree [N_DIRS [FILES_PER_DIR]]   (default 500 × 100)
 */
#include <agentfense/agentfense.h>

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

static const char gitignore[] = "*.log\n"
                                "*.tmp\n"
                                "build/\n"
                                "/dist\n"
                                "**/cache/**\n"
                                "!keep.log\n"
                                "docs/**/*.bak\n"
                                "[Tt]humbs.db\n";

static const char *const suffixes[] = { ".c", ".h", ".log", ".tmp", ".py", ".bak", ".md" };

static void
make_tree (const char *root, int n_dirs, int per_dir)
{
  g_autofree char *gi = g_build_filename (root, ".gitignore", NULL);
  g_assert_true (g_file_set_contents (gi, gitignore, -1, NULL));
  for (int d = 0; d < n_dirs; d++) {
    const char *parent = (d % 10 == 0) ? "build" : (d % 7 == 0) ? "docs/x" : "src";
    g_autofree char *dir =
        g_strdup_printf ("%s/%s/d%04d%s", root, parent, d, d % 13 == 0 ? "/cache" : "");
    g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
    for (int f = 0; f < per_dir; f++) {
      g_autofree char *path = g_strdup_printf ("%s/f%03d%s", dir, f, suffixes[f % 7]);
      g_assert_true (g_file_set_contents (path, "x\n", 2, NULL));
    }
  }
}

static double
scan_once (const char *root, guint *out_count)
{
  g_autoptr (AfLocalTree) tree = af_local_tree_new (root, NULL);
  gint64 t0 = g_get_monotonic_time ();
  g_assert_true (af_local_tree_scan (tree, NULL, NULL));
  gint64 t1 = g_get_monotonic_time ();
  *out_count = af_local_tree_get_files (tree)->len;
  return (t1 - t0) / 1e6;
}

static double
git_once (const char *root, guint *out_count)
{
  const char *argv[] = { "git", "-C", root, "ls-files", "--others", "--exclude-standard", NULL };
  g_autofree char *out = NULL;
  int status = 0;
  gint64 t0 = g_get_monotonic_time ();
  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               NULL, &status, NULL));
  gint64 t1 = g_get_monotonic_time ();
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  guint lines = 0;
  for (const char *p = out; *p != '\0'; p++)
    lines += *p == '\n';
  *out_count = lines;
  return (t1 - t0) / 1e6;
}

/* The other reference: `find` stats every file for its size, as the scan
 * must (git does not stat untracked files), but applies no patterns. */
static double
find_once (const char *root)
{
  const char *argv[] = { "find", root, "-type", "f", "-printf", "%s %P\n", NULL };
  g_autofree char *out = NULL;
  int status = 0;
  gint64 t0 = g_get_monotonic_time ();
  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               NULL, &status, NULL));
  gint64 t1 = g_get_monotonic_time ();
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return (t1 - t0) / 1e6;
}

int
main (int argc, char **argv)
{
  int n_dirs = argc > 1 ? atoi (argv[1]) : 500;
  int per_dir = argc > 2 ? atoi (argv[2]) : 100;
  g_autofree char *root = g_dir_make_tmp ("af-bench-tree-XXXXXX", NULL);
  make_tree (root, n_dirs, per_dir);
  const char *init[] = { "git", "-C", root, "init", "-q", NULL };
  g_assert_true (g_spawn_sync (NULL, (char **)init, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, NULL, NULL));

  double best_ours = 1e9, best_git = 1e9, best_find = 1e9;
  guint ours = 0, theirs = 0;
  for (int run = 0; run < 5; run++) {
    best_ours = MIN (best_ours, scan_once (root, &ours));
    best_git = MIN (best_git, git_once (root, &theirs));
    best_find = MIN (best_find, find_once (root));
  }
  g_assert_cmpuint (ours, ==, theirs);
  g_print ("tree: %d files in %d dirs; both select %u files\n", n_dirs * per_dir + 1, n_dirs, ours);
  g_print ("AfLocalTree scan %.1f ms | git ls-files --others --exclude-standard %.1f ms "
           "(ratio %.2f) | find -printf %%s %.1f ms (ratio %.2f)\n",
           best_ours * 1e3, best_git * 1e3, best_ours / best_git, best_find * 1e3,
           best_ours / best_find);

  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", root);
  return system (cmd);
}
