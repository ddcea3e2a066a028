/* Unit tests for start-up reconciliation: every kind of disagreement between
 * the store and the rows is repaired, reported, and a second pass finds
 * nothing to do. */
#include "afd-reconcile.h"
#include "afd-test-util.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static void
test_repairs (void)
{
  g_autoptr (GError) error = NULL;
  AfdTestState s = { 0 };
  afd_test_state_open (&s);
  g_autoptr (AfdCodebase) cb = afd_codebases_create (s.cbs, &afd_test_root, "p", "", &error);
  g_autoptr (AfdCodebase) gone = afd_codebases_create (s.cbs, &afd_test_root, "q", "", &error);
  const char *files[] = { "keep", "lost", "changed", "dir/inner" };
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autoptr (AfdFileRow) r =
        afd_test_upload (s.cbs, &afd_test_root, cb->id, files[i], "content", &error);
    g_assert_no_error (error);
  }
  afd_test_state_close (&s);

  /* The damage a crash (or a meddler) can leave. */
  g_autofree char *cbdir = g_build_filename (s.state, "codebases", cb->id, NULL);
  g_autofree char *gonedir = g_build_filename (s.state, "codebases", gone->id, NULL);
  g_autofree char *tmp = g_build_filename (s.state, "tmp", NULL);
  g_autofree char *codebases = g_build_filename (s.state, "codebases", NULL);
  afd_test_write (tmp, "upload-1234.part", "partial");
  afd_test_write (codebases, ".trash-cb_00000000000000000000000000000009/x", "old");
  afd_test_write (codebases, "cb_00000000000000000000000000000008/y", "orphan");
  g_autofree char *lost = g_build_filename (cbdir, "lost", NULL);
  g_assert_cmpint (unlink (lost), ==, 0);
  afd_test_write (cbdir, "changed", "different and longer");
  afd_test_write (cbdir, "new/adopted", "complete");
  g_autofree char *link = g_build_filename (cbdir, "link", NULL);
  g_assert_cmpint (symlink ("/etc/passwd", link), ==, 0);
  g_assert_true (afd_store_remove_tree_at (AT_FDCWD, gonedir, &error));

  afd_test_state_open (&s);
  AfdReconcileReport report;
  g_assert_true (afd_reconcile (s.db, s.store, &report, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (report.temp_files_removed, ==, 1);
  g_assert_cmpuint (report.trash_removed, ==, 1);
  g_assert_cmpuint (report.orphan_dirs_removed, ==, 1);
  g_assert_cmpuint (report.dirs_recreated, ==, 1);
  g_assert_cmpuint (report.files_adopted, ==, 1);
  g_assert_cmpuint (report.rows_dropped, ==, 1);
  g_assert_cmpuint (report.rows_rehashed, ==, 1);
  g_assert_cmpuint (report.strange_removed, ==, 1);
  g_autofree char *text = afd_reconcile_report_describe (&report);
  g_assert_nonnull (strstr (text, "1 files without a row adopted"));

  /* Rows now match the disk exactly, sizes included. */
  g_autoptr (AfdCodebase) after = afd_codebases_get (s.cbs, &afd_test_root, cb->id, &error);
  g_assert_cmpint (after->file_count, ==, 4); /* keep changed dir/inner new/adopted */
  g_assert_cmpint (after->size, ==, 7 + 20 + 7 + 8);
  g_autoptr (AfdFileRow) changed = afd_rows_file_get (s.db, cb->id, "changed", &error);
  g_assert_cmpint (changed->size, ==, 20);
  g_autoptr (AfdFileRow) adopted = afd_rows_file_get (s.db, cb->id, "new/adopted", &error);
  g_assert_no_error (error);
  g_assert_cmpint (adopted->size, ==, 8);
  g_assert_false (g_file_test (link, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK));
  g_assert_true (g_file_test (gonedir, G_FILE_TEST_IS_DIR));
  g_autoptr (GPtrArray) tree = afd_test_tree (codebases);
  g_assert_false (afd_test_tree_contains (tree, "cb_00000000000000000000000000000008/"));
  g_assert_false (afd_test_tree_contains (tree, ".trash-cb_00000000000000000000000000000009/"));
  g_assert_true (g_file_test ("/etc/passwd", G_FILE_TEST_EXISTS));

  /* Idempotent. */
  g_assert_true (afd_reconcile (s.db, s.store, &report, &error));
  g_autofree char *none = afd_reconcile_report_describe (&report);
  g_assert_null (none);
  g_assert_true (afd_db_integrity_check (s.db, &error));
  afd_test_state_free (&s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/afd-reconcile/repairs", test_repairs);
  return g_test_run ();
}
