/* test-fuse-posix.c — a POSIX behaviour subset on write paths, in the
 * style of pjdfstest: open, unlink, rename, link, mkdir, rmdir, chmod,
 * truncate, utimens, each with its error cases, on entries from the source
 * (copied up) and entries created through the mount. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fuse-fixture.h"

static const char rules_all_write[] =
    "[{\"pattern\":\"/**\",\"permission\":\"write\",\"priority\":1},"
    "{\"pattern\":\"/\",\"permission\":\"write\",\"priority\":1}]";

#define ERRNO_IS(expr, e)                                                                          \
  do {                                                                                             \
    g_assert_cmpint ((expr), ==, -1);                                                              \
    g_assert_cmpint (errno, ==, (e));                                                              \
  } while (0)

static char *
m (FuseFixture *f, const char *rel)
{
  return fx_path (f->mnt, rel);
}

static void
test_posix (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  g_autofree char *sfile = fx_path (f->src, "lower"), *sdir = fx_path (f->src, "ldir");
  g_autofree char *sdirf = fx_path (f->src, "ldir/x");
  fx_write (sfile, "0123456789");
  g_assert_cmpint (mkdir (sdir, 0755), ==, 0);
  fx_write (sdirf, "x");
  fx_mount (f, rules_all_write, FALSE, NULL);

  g_autofree char *lower = m (f, "lower"), *ldir = m (f, "ldir"), *n = m (f, "n");
  g_autofree char *d = m (f, "d"), *d2 = m (f, "d2"), *dn = m (f, "d/n");
  struct stat st;

  /* open */
  mode_t old = umask (022);
  int fd = open (n, O_CREAT | O_EXCL | O_WRONLY, 0666);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_assert_cmpint (stat (n, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0644);
  g_assert_cmpint (st.st_uid, ==, geteuid ());
  g_assert_cmpint (st.st_size, ==, 0);
  umask (old);
  ERRNO_IS (open (n, O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
  ERRNO_IS (open (ldir, O_WRONLY), EISDIR);
  g_autofree char *missing = m (f, "missing/x");
  ERRNO_IS (open (missing, O_CREAT | O_WRONLY, 0644), ENOENT);
  g_autofree char *under_file = m (f, "lower/x");
  ERRNO_IS (open (under_file, O_RDONLY), ENOTDIR);

  /* truncate: grow with zeros, shrink; on a source file (copy-up) */
  g_assert_cmpint (truncate (lower, 4), ==, 0);
  g_assert_cmpint (stat (lower, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 4);
  g_assert_cmpint (truncate (lower, 8), ==, 0);
  char buf[16] = { 0 };
  fd = open (lower, O_RDONLY);
  g_assert_cmpint (read (fd, buf, sizeof buf), ==, 8);
  close (fd);
  g_assert_cmpint (memcmp (buf, "0123\0\0\0\0", 8), ==, 0);
  ERRNO_IS (truncate (ldir, 0), EISDIR);
  ERRNO_IS (truncate (lower, -1), EINVAL);

  /* chmod changes the mode and the ctime */
  g_assert_cmpint (stat (lower, &st), ==, 0);
  struct timespec ctime0 = st.st_ctim;
  g_usleep (10000);
  g_assert_cmpint (chmod (lower, 0640), ==, 0);
  g_assert_cmpint (stat (lower, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0640);
  g_assert_true (st.st_ctim.tv_sec > ctime0.tv_sec ||
                 (st.st_ctim.tv_sec == ctime0.tv_sec && st.st_ctim.tv_nsec > ctime0.tv_nsec));

  /* utimens: exact times, then UTIME_NOW / UTIME_OMIT */
  struct timespec ts[2] = { { 100000, 5 }, { 200000, 7 } };
  g_assert_cmpint (utimensat (AT_FDCWD, lower, ts, 0), ==, 0);
  g_assert_cmpint (stat (lower, &st), ==, 0);
  g_assert_cmpint (st.st_atim.tv_sec, ==, 100000);
  g_assert_cmpint (st.st_mtim.tv_sec, ==, 200000);
  g_assert_cmpint (st.st_mtim.tv_nsec, ==, 7);
  struct timespec ts2[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };
  g_assert_cmpint (utimensat (AT_FDCWD, lower, ts2, 0), ==, 0);
  g_assert_cmpint (stat (lower, &st), ==, 0);
  g_assert_cmpint (st.st_atim.tv_sec, ==, 100000);
  g_assert_cmpint (st.st_mtim.tv_sec, >, 200000);

  /* link / unlink and link counts */
  g_autofree char *n2 = m (f, "n2");
  g_assert_cmpint (link (n, n2), ==, 0);
  g_assert_cmpint (stat (n, &st), ==, 0);
  g_assert_cmpuint (st.st_nlink, ==, 2);
  ERRNO_IS (link (n, n2), EEXIST);
  ERRNO_IS (link (ldir, d2), EPERM);
  g_assert_cmpint (unlink (n2), ==, 0);
  g_assert_cmpint (stat (n, &st), ==, 0);
  g_assert_cmpuint (st.st_nlink, ==, 1);
  ERRNO_IS (unlink (n2), ENOENT);
  ERRNO_IS (unlink (ldir), EISDIR);

  /* mkdir / rmdir */
  g_assert_cmpint (mkdir (d, 0755), ==, 0);
  ERRNO_IS (mkdir (d, 0755), EEXIST);
  g_assert_cmpint (stat (d, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  g_assert_cmpuint (st.st_nlink, ==, 2);
  fx_write (dn, "n");
  ERRNO_IS (rmdir (d), ENOTEMPTY);
  ERRNO_IS (rmdir (n), ENOTDIR);
  ERRNO_IS (rmdir (ldir), ENOTEMPTY);

  /* rename: file over file, dir over empty dir, the error cases */
  g_assert_cmpint (rename (n, lower), ==, 0);
  ERRNO_IS (stat (n, &st), ENOENT);
  g_assert_cmpint (stat (lower, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 0);
  g_assert_cmpint (mkdir (d2, 0755), ==, 0);
  ERRNO_IS (rename (d2, d), ENOTEMPTY);
  ERRNO_IS (rename (lower, d2), EISDIR);
  ERRNO_IS (rename (d2, lower), ENOTDIR);
  g_assert_cmpint (rename (d, d2), ==, 0);
  g_autofree char *d2n = m (f, "d2/n");
  g_assert_cmpint (stat (d2n, &st), ==, 0);
  ERRNO_IS (stat (d, &st), ENOENT);
  g_autofree char *inside = m (f, "d2/sub");
  ERRNO_IS (rename (d2, inside), EINVAL);
  g_autofree char *lmoved = m (f, "lmoved"), *lmx = m (f, "lmoved/x");
  g_assert_cmpint (rename (ldir, lmoved), ==, 0);
  g_autofree char *x = fx_read (lmx);
  g_assert_cmpstr (x, ==, "x");

  /* readdir sees every entry once, after many creations */
  for (int i = 0; i < 200; i++) {
    g_autofree char *rel = g_strdup_printf ("d2/many%03d", i);
    g_autofree char *p = m (f, rel);
    fx_write (p, "m");
  }
  DIR *dir = opendir (d2);
  g_assert_nonnull (dir);
  int count = 0;
  struct dirent *de;
  while ((de = readdir (dir)) != NULL)
    count += strncmp (de->d_name, "many", 4) == 0;
  closedir (dir);
  g_assert_cmpint (count, ==, 200);

  /* symlink targets are verbatim */
  g_autofree char *sl = m (f, "sl");
  g_assert_cmpint (symlink ("../../x/./y", sl), ==, 0);
  char t[64];
  ssize_t len = readlink (sl, t, sizeof t - 1);
  g_assert_cmpint (len, ==, 11);
  t[len] = '\0';
  g_assert_cmpstr (t, ==, "../../x/./y");

  /* statfs answers (for the delta's filesystem) with the usual name limit. */
  struct statvfs sv;
  g_assert_cmpint (statvfs (f->mnt, &sv), ==, 0);
  g_assert_cmpuint (sv.f_namemax, ==, 255);
  g_assert_cmpuint (sv.f_blocks, >, 0);

  /* The source never changed. */
  g_autofree char *src_content = fx_read (sfile);
  g_assert_cmpstr (src_content, ==, "0123456789");
  fx_unmount (f);
}

int
main (int argc, char **argv)
{
  fx_test_init (&argc, &argv);
  FX_ADD ("posix/subset", test_posix);
  return g_test_run ();
}
