/* test-fuse-escape.c — nothing outside the source and delta is ever touched.
 *
 * A host canary file and a host directory sit next to the source. Symlinks
 * in the source point at them, symlinks made through the mount point at
 * them (and at "../../.."), and the source is changed under the mount so a
 * path that was a file or a directory becomes a symlink while the kernel
 * still caches it and an fd is open. inotify on the canary and the
 * directory proves the daemon (and a commit) never opened, read or changed
 * them; their content is checked too. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse-fixture.h"

static const char rules_all_write[] =
    "[{\"pattern\":\"/**\",\"permission\":\"write\",\"priority\":1},"
    "{\"pattern\":\"/\",\"permission\":\"write\",\"priority\":1}]";

static void
replace_with_symlink (const char *path, const char *target)
{
  g_autofree char *tmp = g_strconcat (path, ".tmp-link", NULL);
  g_autofree char *old = g_strconcat (path, ".old", NULL);
  struct stat st;
  g_assert_cmpint (symlink (target, tmp), ==, 0);
  if (lstat (path, &st) == 0 && S_ISDIR (st.st_mode))
    g_assert_cmpint (rename (path, old), ==, 0); /* a directory cannot be renamed over */
  g_assert_cmpint (rename (tmp, path), ==, 0);
}

static void
test_escapes (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  g_autofree char *outside = fx_path (f->root, "outside");
  g_autofree char *outside_file = fx_path (outside, "file");
  g_assert_cmpint (mkdir (outside, 0755), ==, 0);
  fx_write (outside_file, "OUTSIDE\n");

  g_autofree char *w = fx_path (f->src, "w");
  g_autofree char *sub = fx_path (w, "sub");
  g_assert_cmpint (mkdir (w, 0755), ==, 0);
  g_assert_cmpint (mkdir (sub, 0755), ==, 0);
  g_autofree char *sf = fx_path (w, "f"), *sg = fx_path (w, "g"), *ssf = fx_path (sub, "file");
  fx_write (sf, "f\n");
  fx_write (sg, "g\n");
  fx_write (ssf, "sub\n");
  g_autofree char *abs_link = fx_path (w, "abs_link"), *rel_link = fx_path (w, "rel_link");
  g_autofree char *dir_link = fx_path (w, "dir_link");
  g_assert_cmpint (symlink (f->canary, abs_link), ==, 0);
  g_assert_cmpint (symlink ("../../canary.txt", rel_link), ==, 0);
  g_assert_cmpint (symlink (outside, dir_link), ==, 0);

  fx_mount (f, rules_all_write, TRUE, NULL);

  int ifd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  g_assert_cmpint (ifd, >=, 0);
  uint32_t mask = IN_OPEN | IN_ACCESS | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE |
                  IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF;
  g_assert_cmpint (inotify_add_watch (ifd, f->canary, mask), >=, 0);
  g_assert_cmpint (inotify_add_watch (ifd, outside, mask), >=, 0);
  g_assert_cmpint (inotify_add_watch (ifd, outside_file, mask), >=, 0);

  /* Symlinks in the source are shown, never followed by the daemon. */
  g_autofree char *m_abs = fx_path (f->mnt, "w/abs_link"), *m_rel = fx_path (f->mnt, "w/rel_link");
  g_autofree char *m_dir = fx_path (f->mnt, "w/dir_link");
  struct stat st;
  g_assert_cmpint (lstat (m_abs, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  char buf[4096];
  ssize_t n = readlink (m_abs, buf, sizeof buf - 1);
  g_assert_cmpint (n, >, 0);
  buf[n] = '\0';
  g_assert_cmpstr (buf, ==, f->canary);
  g_assert_cmpint (open (m_abs, O_RDONLY | O_NOFOLLOW), ==, -1);
  g_assert_cmpint (errno, ==, ELOOP);
  struct timespec ts[2] = { { 5, 0 }, { 6, 0 } };
  g_assert_cmpint (utimensat (AT_FDCWD, m_abs, ts, AT_SYMLINK_NOFOLLOW), ==, 0);
  g_assert_cmpint (lchown (m_rel, 0, 0), ==, -1);
  g_assert_cmpint (lsetxattr (m_rel, "user.x", "1", 1, 0), ==, -1);
  g_assert_cmpint (lstat (m_dir, &st), ==, 0);
  g_autofree char *m_moved = fx_path (f->mnt, "w/moved_link");
  g_assert_cmpint (rename (m_rel, m_moved), ==, 0);
  g_assert_cmpint (unlink (m_moved), ==, 0);

  /* Symlinks made through the mount are stored verbatim. */
  g_autofree char *m_up = fx_path (f->mnt, "w/up"), *m_can = fx_path (f->mnt, "w/canary_link");
  g_assert_cmpint (symlink ("../../..", m_up), ==, 0);
  g_assert_cmpint (symlink (f->canary, m_can), ==, 0);

  /* The source changes under the mount: cached file and directory
   * entries become symlinks to the canary and the outside directory, while
   * an fd on another file is open. */
  g_autofree char *m_f = fx_path (f->mnt, "w/f"), *m_g = fx_path (f->mnt, "w/g");
  g_autofree char *m_sub_file = fx_path (f->mnt, "w/sub/file");
  g_assert_cmpint (stat (m_g, &st), ==, 0);
  g_assert_cmpint (stat (m_sub_file, &st), ==, 0);
  int kept = open (m_f, O_RDWR);
  g_assert_cmpint (kept, >=, 0);
  replace_with_symlink (sg, f->canary);
  replace_with_symlink (sub, outside);
  replace_with_symlink (sf, f->canary);
  g_assert_cmpint (pwrite (kept, "F2\n", 3, 0), ==, 3);
  g_assert_cmpint (fsync (kept), ==, 0);
  int fd = open (m_g, O_RDONLY);
  if (fd >= 0) {
    /* Only acceptable if what it reads is not the canary. */
    n = read (fd, buf, sizeof buf);
    g_assert_true (n < 0 || memmem (buf, (size_t)n, "CANARY", 6) == NULL);
    close (fd);
  }
  fd = open (m_g, O_WRONLY | O_TRUNC);
  if (fd >= 0) {
    (void)!write (fd, "pwned\n", 6);
    close (fd);
  }
  (void)truncate (m_g, 0);
  (void)chmod (m_g, 0777);
  g_autofree char *c = fx_read (m_sub_file);
  g_assert_true (c == NULL || strstr (c, "OUTSIDE") == NULL);
  fd = open (m_sub_file, O_WRONLY | O_TRUNC);
  if (fd >= 0) {
    (void)!write (fd, "pwned\n", 6);
    close (fd);
  }
  g_autofree char *m_sub_new = fx_path (f->mnt, "w/sub/new");
  fd = open (m_sub_new, O_WRONLY | O_CREAT, 0644);
  if (fd >= 0)
    close (fd);

  /* Commit: the symlinks land in the source verbatim; the file whose
   * source became a symlink replaces the link, never writes through it. */
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) res = fx_call (f, "Commit", NULL, &error);
  g_assert_no_error (error);
  close (kept);
  g_autofree char *s_up = fx_path (w, "up");
  n = readlink (s_up, buf, sizeof buf - 1);
  g_assert_cmpint (n, ==, 8);
  buf[n] = '\0';
  g_assert_cmpstr (buf, ==, "../../..");
  g_assert_cmpint (lstat (sf, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_autofree char *fc = fx_read (sf);
  g_assert_cmpstr (fc, ==, "F2\n");
  fx_unmount (f);

  /* Not one event on the canary or the outside directory, and their
   * content is what it was. */
  char ev[4096];
  n = read (ifd, ev, sizeof ev);
  if (n > 0) {
    struct inotify_event *e = (struct inotify_event *)ev;
    g_error ("host files were touched: wd %d mask 0x%x name %s", e->wd, e->mask,
             e->len ? e->name : "");
  }
  g_assert_cmpint (n, ==, -1);
  g_assert_cmpint (errno, ==, EAGAIN);
  close (ifd);
  g_autofree char *canary = fx_read (f->canary), *of = fx_read (outside_file);
  g_assert_cmpstr (canary, ==, "CANARY\n");
  g_assert_cmpstr (of, ==, "OUTSIDE\n");
  g_autoptr (GDir) d = g_dir_open (outside, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (d), ==, "file");
  g_assert_null (g_dir_read_name (d));
}

int
main (int argc, char **argv)
{
  fx_test_init (&argc, &argv);
  FX_ADD ("escape/canary", test_escapes);
  return g_test_run ();
}
