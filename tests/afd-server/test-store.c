/* Unit tests for the on-disk store: symlinks planted in the store are never
 * followed (reading, writing, listing parents, removing), uploads are atomic
 * (a reader sees the old or the new content, never a mix) and leave no temp
 * file. */
#include "afd-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  AfdTestState s;
  char *outside; /* top/outside: a directory a symlink points to */
  int root;      /* a codebase root fd */
  char *cbdir;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  afd_test_state_open (&f->s);
  f->outside = g_build_filename (f->s.top, "outside", NULL);
  afd_test_write (f->outside, "secret", "top secret");
  g_assert_true (
      afd_store_create_codebase (f->s.store, "cb_0123456789abcdef0123456789abcdef", &error));
  f->root = afd_store_open_codebase (f->s.store, "cb_0123456789abcdef0123456789abcdef", &error);
  g_assert_no_error (error);
  f->cbdir =
      g_build_filename (f->s.state, "codebases", "cb_0123456789abcdef0123456789abcdef", NULL);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  close (f->root);
  g_free (f->outside);
  g_free (f->cbdir);
  afd_test_state_free (&f->s);
}

static void
plant_links (Fixture *f)
{
  g_autofree char *dirlink = g_build_filename (f->cbdir, "dirlink", NULL);
  g_autofree char *filelink = g_build_filename (f->cbdir, "filelink", NULL);
  g_autofree char *secret = g_build_filename (f->outside, "secret", NULL);
  g_assert_cmpint (symlink (f->outside, dirlink), ==, 0);
  g_assert_cmpint (symlink (secret, filelink), ==, 0);
}

static void
test_symlinks_not_followed (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  plant_links (f);

  g_assert_cmpint (afd_store_open_file (f->root, "filelink", &error), <, 0);
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (afd_store_open_file (f->root, "dirlink/secret", &error), <, 0);
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (afd_store_open_dir (f->root, "dirlink", FALSE, &error), <, 0);
  g_assert_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION);
  g_clear_error (&error);

  /* Writing through a symlinked directory fails; replacing a symlink leaf
   * replaces the link itself, never its target. */
  g_autoptr (AfdUpload) up = afd_upload_begin (f->s.store, &error);
  g_assert_true (afd_upload_write (up, "pwned", 5, &error));
  g_autofree char *sha = NULL;
  gint64 mtime = 0;
  g_assert_false (afd_upload_commit (up, f->root, "dirlink/secret", &sha, &mtime, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION);
  g_clear_error (&error);
  g_assert_true (afd_upload_commit (up, f->root, "filelink", &sha, &mtime, &error));
  g_assert_no_error (error);

  g_autofree char *secret = g_build_filename (f->outside, "secret", NULL);
  g_autofree char *content = NULL;
  g_assert_true (g_file_get_contents (secret, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "top secret");
  g_autofree char *filelink = g_build_filename (f->cbdir, "filelink", NULL);
  g_assert_false (g_file_test (filelink, G_FILE_TEST_IS_SYMLINK));

  /* Removing the codebase removes the link, not what it points to. */
  g_assert_true (
      afd_store_remove_codebase (f->s.store, "cb_0123456789abcdef0123456789abcdef", &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (f->cbdir, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (secret, G_FILE_TEST_IS_REGULAR));
}

static void
test_special_files (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *fifo = g_build_filename (f->cbdir, "fifo", NULL);
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  /* Must not block on the FIFO, must not serve it. */
  g_assert_cmpint (afd_store_open_file (f->root, "fifo", &error), <, 0);
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
}

static void
test_atomic_replace (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sha = NULL;
  gint64 mtime = 0;
  g_autoptr (AfdUpload) first = afd_upload_begin (f->s.store, &error);
  g_assert_true (afd_upload_write (first, "old content", 11, &error));
  g_assert_true (afd_upload_commit (first, f->root, "d/e/file", &sha, &mtime, &error));
  g_assert_no_error (error);

  /* A reader that opened the old file keeps reading the old bytes while the
   * new ones stream into the temp dir and after the rename. */
  int reader = afd_store_open_file (f->root, "d/e/file", &error);
  g_assert_cmpint (reader, >=, 0);
  g_autoptr (AfdUpload) second = afd_upload_begin (f->s.store, &error);
  g_autofree char *tmpdir = g_build_filename (f->s.state, "tmp", NULL);
  g_autoptr (GPtrArray) during = afd_test_tree (tmpdir);
  g_assert_cmpuint (during->len, ==, 1);
  g_assert_true (afd_upload_write (second, "new", 3, &error));
  g_autofree char *cur = NULL;
  g_autofree char *path = g_build_filename (f->cbdir, "d/e/file", NULL);
  g_assert_true (g_file_get_contents (path, &cur, NULL, NULL));
  g_assert_cmpstr (cur, ==, "old content");
  g_clear_pointer (&sha, g_free);
  g_assert_true (afd_upload_commit (second, f->root, "d/e/file", &sha, &mtime, &error));
  g_assert_cmpstr (sha, ==, "11507a0e2f5e69d5dfa40a62a1bd7b6ee57e6bcd85c67c9b8431b36fff21c437");
  char buf[32] = { 0 };
  g_assert_cmpint (pread (reader, buf, sizeof buf, 0), ==, 11);
  g_assert_cmpstr (buf, ==, "old content");
  close (reader);
  g_clear_pointer (&cur, g_free);
  g_assert_true (g_file_get_contents (path, &cur, NULL, NULL));
  g_assert_cmpstr (cur, ==, "new");
  g_autoptr (GPtrArray) after = afd_test_tree (tmpdir);
  g_assert_cmpuint (after->len, ==, 0);

  /* An abandoned upload leaves nothing. */
  AfdUpload *dropped = afd_upload_begin (f->s.store, &error);
  g_assert_true (afd_upload_write (dropped, "zzz", 3, &error));
  afd_upload_free (dropped);
  g_autoptr (GPtrArray) after2 = afd_test_tree (tmpdir);
  g_assert_cmpuint (after2->len, ==, 0);
}

static void
test_file_dir_conflicts (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sha = NULL;
  gint64 mtime = 0;
  g_autoptr (AfdUpload) a = afd_upload_begin (f->s.store, &error);
  g_assert_true (afd_upload_commit (a, f->root, "f", &sha, &mtime, &error));
  g_autoptr (AfdUpload) b = afd_upload_begin (f->s.store, &error);
  g_assert_false (afd_upload_commit (b, f->root, "f/g", &sha, &mtime, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION);
  g_clear_error (&error);
  g_autofree char *emptydir = g_build_filename (f->cbdir, "dir", NULL);
  g_assert_cmpint (g_mkdir (emptydir, 0755), ==, 0);
  g_autoptr (AfdUpload) c = afd_upload_begin (f->s.store, &error);
  g_assert_false (afd_upload_commit (c, f->root, "dir", &sha, &mtime, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION);
  g_assert_true (g_file_test (emptydir, G_FILE_TEST_IS_DIR));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add (name, Fixture, NULL, setup, fn, teardown)
  ADD ("/afd-store/symlinks-not-followed", test_symlinks_not_followed);
  ADD ("/afd-store/special-files", test_special_files);
  ADD ("/afd-store/atomic-replace", test_atomic_replace);
  ADD ("/afd-store/file-dir-conflicts", test_file_dir_conflicts);
  return g_test_run ();
}
