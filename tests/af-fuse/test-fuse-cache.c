/* test-fuse-cache.c — the kernel's caches never show stale data: names of
 * one file (hard links) see each other's writes at once, through stat and
 * through an already open descriptor; xattr namespaces the view does not
 * have answer "not supported" (so tools stop asking) yet hidden paths stay
 * ENOENT. Real mounts. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse-fixture.h"

static const char rules[] = "["
                            "{\"pattern\":\"/**\",\"permission\":\"write\",\"priority\":1},"
                            "{\"pattern\":\"/\",\"permission\":\"write\",\"priority\":1},"
                            "{\"pattern\":\"**/secret*\",\"permission\":\"none\",\"priority\":50}"
                            "]";

static char *
pread_all (int fd)
{
  char buf[256];
  ssize_t n = pread (fd, buf, sizeof buf - 1, 0);
  g_assert_cmpint (n, >=, 0);
  return g_strndup (buf, (gsize)n);
}

static void
pwrite_str (const char *path, const char *content)
{
  int fd = open (path, O_WRONLY);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pwrite (fd, content, strlen (content), 0), ==, (gssize)strlen (content));
  g_assert_cmpint (close (fd), ==, 0);
}

static off_t
size_of (const char *path)
{
  struct stat st;
  g_assert_cmpint (stat (path, &st), ==, 0);
  return st.st_size;
}

/* A write through one name is seen through the other at once: size and
 * content, also through a descriptor opened (and read) before the write. */
static void
test_hard_link_aliases (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  g_autofree char *so = fx_path (f->src, "orig");
  fx_write (so, "one\n");
  fx_mount (f, rules, FALSE, NULL);
  g_autofree char *a = fx_path (f->mnt, "orig"), *b = fx_path (f->mnt, "alias");

  /* @a is open and its content cached before the link exists. */
  int fa = open (a, O_RDONLY);
  g_assert_cmpint (fa, >=, 0);
  g_autofree char *c0 = pread_all (fa);
  g_assert_cmpstr (c0, ==, "one\n");
  g_assert_cmpint (link (a, b), ==, 0);
  int fb = open (b, O_RDONLY);
  g_assert_cmpint (fb, >=, 0);
  g_autofree char *c1 = pread_all (fb);
  g_assert_cmpstr (c1, ==, "one\n");
  g_assert_cmpint (size_of (a), ==, 4);
  g_assert_cmpint (size_of (b), ==, 4);

  /* Through b: a sees it. */
  pwrite_str (b, "second version\n");
  g_assert_cmpint (size_of (a), ==, 15);
  g_autofree char *c2 = pread_all (fa);
  g_assert_cmpstr (c2, ==, "second version\n");
  g_autofree char *c2b = pread_all (fb);
  g_assert_cmpstr (c2b, ==, "second version\n");

  /* Through a, same length (only the content and mtime change): b sees it. */
  pwrite_str (a, "SECOND VERSION\n");
  g_assert_cmpint (size_of (b), ==, 15);
  g_autofree char *c3 = pread_all (fb);
  g_assert_cmpstr (c3, ==, "SECOND VERSION\n");

  /* Truncate through one name. */
  g_assert_cmpint (truncate (a, 3), ==, 0);
  g_assert_cmpint (size_of (b), ==, 3);
  g_autofree char *c4 = pread_all (fb);
  g_assert_cmpstr (c4, ==, "SEC");
  close (fa);
  close (fb);

  /* A third name; then the link count of every name follows unlinks. */
  g_autofree char *c = fx_path (f->mnt, "third");
  g_assert_cmpint (link (b, c), ==, 0);
  struct stat st;
  g_assert_cmpint (stat (a, &st), ==, 0);
  g_assert_cmpuint (st.st_nlink, ==, 3);
  g_assert_cmpint (unlink (b), ==, 0);
  g_assert_cmpint (stat (a, &st), ==, 0);
  g_assert_cmpuint (st.st_nlink, ==, 2);
  g_assert_cmpint (stat (c, &st), ==, 0);
  g_assert_cmpuint (st.st_nlink, ==, 2);
  pwrite_str (c, "x");
  g_autofree char *ca = fx_read (a);
  g_assert_cmpstr (ca, ==, "xEC");
  fx_unmount (f);
}

/* A descriptor opened for reading before a writer copies the file up
 * reads the new content, also where its pages were never cached. */
static void
test_reader_follows_copy_up (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  g_autofree char *sb = fx_path (f->src, "big");
  const gsize size = 8 << 20, at = 7 << 20;
  g_autofree char *zeros = g_malloc0 (size);
  g_assert_true (g_file_set_contents (sb, zeros, (gssize)size, NULL));
  fx_mount (f, rules, FALSE, NULL);
  g_autofree char *mb = fx_path (f->mnt, "big");
  int rfd = open (mb, O_RDONLY);
  g_assert_cmpint (rfd, >=, 0);
  char buf[4];
  g_assert_cmpint (pread (rfd, buf, sizeof buf, 0), ==, 4);
  int wfd = open (mb, O_WRONLY);
  g_assert_cmpint (wfd, >=, 0);
  g_assert_cmpint (pwrite (wfd, "NEW", 3, (off_t)at), ==, 3);
  g_assert_cmpint (close (wfd), ==, 0);
  memset (buf, 0, sizeof buf);
  g_assert_cmpint (pread (rfd, buf, 3, (off_t)at), ==, 3);
  g_assert_cmpmem (buf, 3, "NEW", 3);
  close (rfd);
  /* The source is untouched until a commit. */
  g_autofree char *src = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (sb, &src, &len, NULL));
  g_assert_cmpuint (len, ==, size);
  g_assert_cmpint (src[at], ==, 0);
  fx_unmount (f);
}

/* A read-only open of a small file costs no backing access (its file is
 * opened at the first read that reaches the daemon): what it reads is
 * still what an open file reads on any filesystem, whatever happens to
 * its name before that first read: unlinked, replaced by a rename,
 * copied up by a writer. */
static void
test_open_file_outlives_its_name (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  const char *names[] = { "a", "b", "c", "d" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *p = fx_path (f->src, names[i]);
    g_autofree char *c = g_strdup_printf ("content of %s\n", names[i]);
    g_assert_true (g_file_set_contents (p, c, -1, NULL));
  }
  fx_mount (f, rules, FALSE, NULL);
  g_autofree char *ma = fx_path (f->mnt, "a");
  g_autofree char *mb = fx_path (f->mnt, "b");
  g_autofree char *mc = fx_path (f->mnt, "c");
  g_autofree char *md = fx_path (f->mnt, "d");
  /* Unlinked before its first read. */
  int fa = open (ma, O_RDONLY);
  g_assert_cmpint (fa, >=, 0);
  g_assert_cmpint (unlink (ma), ==, 0);
  g_autofree char *ca = pread_all (fa);
  g_assert_cmpstr (ca, ==, "content of a\n");
  struct stat st;
  g_assert_cmpint (fstat (fa, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 13);
  close (fa);
  /* Replaced by a rename before its first read. */
  int fb = open (mb, O_RDONLY);
  g_assert_cmpint (fb, >=, 0);
  g_assert_cmpint (rename (mc, mb), ==, 0);
  g_autofree char *cb = pread_all (fb);
  g_assert_cmpstr (cb, ==, "content of b\n");
  close (fb);
  g_autofree char *cb2 = fx_read (mb);
  g_assert_cmpstr (cb2, ==, "content of c\n");
  /* Copied up by a writer before its first read: the new content. */
  int fd = open (md, O_RDONLY);
  g_assert_cmpint (fd, >=, 0);
  pwrite_str (md, "CONTENT");
  g_autofree char *cd = pread_all (fd);
  g_assert_cmpstr (cd, ==, "CONTENT of d\n");
  close (fd);
  fx_unmount (f);
}

/* A name absent from the view is remembered by the kernel (a second stat
 * asks nobody), yet what could make it appear is seen at once: a create
 * through the mount, a discard bringing back a deleted file, another
 * sandbox's commit announced with InvalidatePaths, and a rule change
 * (a hidden name is never cached as absent). */
static void
test_negative_entries (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  g_autofree char *sg = fx_path (f->src, "gone");
  g_assert_true (g_file_set_contents (sg, "here\n", -1, NULL));
  g_autofree char *ss = fx_path (f->src, "secret-x");
  g_assert_true (g_file_set_contents (ss, "hidden\n", -1, NULL));
  fx_mount (f, rules, TRUE, NULL);
  g_autofree char *ma = fx_path (f->mnt, "absent");
  g_autofree char *mg = fx_path (f->mnt, "gone");
  g_autofree char *mn = fx_path (f->mnt, "newcomer");
  g_autofree char *ms = fx_path (f->mnt, "secret-x");
  struct stat st;
  /* Created through the mount after being looked up as absent. */
  g_assert_cmpint (stat (ma, &st), ==, -1);
  g_assert_cmpint (stat (ma, &st), ==, -1);
  fx_write (ma, "made\n");
  g_assert_cmpint (stat (ma, &st), ==, 0);
  /* Deleted, looked up as absent, then brought back by a discard. */
  g_assert_cmpint (unlink (mg), ==, 0);
  g_assert_cmpint (stat (mg, &st), ==, -1);
  g_assert_cmpint (stat (mg, &st), ==, -1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) d = fx_call (f, "Discard", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (stat (mg, &st), ==, 0);
  g_autofree char *cg = fx_read (mg);
  g_assert_cmpstr (cg, ==, "here\n");
  g_assert_cmpint (stat (ma, &st), ==, -1);
  /* Appears in the source (another sandbox's commit), then announced. */
  g_assert_cmpint (stat (mn, &st), ==, -1);
  g_autofree char *sn = fx_path (f->src, "newcomer");
  g_assert_true (g_file_set_contents (sn, "new\n", -1, NULL));
  const char *paths[] = { "/newcomer", NULL };
  g_autoptr (GVariant) r = fx_call (f, "InvalidatePaths", g_variant_new ("(^as)", paths), &error);
  g_assert_no_error (error);
  g_assert_cmpint (stat (mn, &st), ==, 0);
  /* Hidden, then shown by a rule change. */
  g_assert_cmpint (stat (ms, &st), ==, -1);
  g_assert_cmpint (errno, ==, ENOENT);
  fx_update_rules (f, "[{\"pattern\":\"/**\",\"permission\":\"write\",\"priority\":1},"
                      "{\"pattern\":\"/\",\"permission\":\"write\",\"priority\":1}]");
  g_assert_cmpint (stat (ms, &st), ==, 0);
  fx_unmount (f);
}

/* Only user.* exists in the view: other namespaces are "not supported"
 * (ls -l then stops asking for labels and ACLs), a hidden path is ENOENT
 * whatever the name, and user.* still works. */
static void
test_xattr_namespaces (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  g_autofree char *sf = fx_path (f->src, "file"), *ss = fx_path (f->src, "secret");
  fx_write (sf, "f\n");
  fx_write (ss, "s\n");
  fx_mount (f, rules, FALSE, NULL);
  g_autofree char *mf = fx_path (f->mnt, "file"), *ms = fx_path (f->mnt, "secret");
  char buf[64];
  const char *names[] = { "security.selinux", "system.posix_acl_access",
                          "trusted.agentfense.origin", "security.capability" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
    errno = 0;
    g_assert_cmpint (lgetxattr (mf, names[i], buf, sizeof buf), ==, -1);
    g_assert_cmpint (errno, ==, EOPNOTSUPP);
    errno = 0;
    g_assert_cmpint (lgetxattr (f->mnt, names[i], buf, sizeof buf), ==, -1);
    g_assert_cmpint (errno, ==, EOPNOTSUPP);
    errno = 0;
    g_assert_cmpint (lgetxattr (ms, names[i], buf, sizeof buf), ==, -1);
    g_assert_cmpint (errno, ==, ENOENT);
  }
  g_assert_cmpint (lsetxattr (mf, "user.k", "v", 1, 0), ==, 0);
  g_assert_cmpint (lgetxattr (mf, "user.k", buf, sizeof buf), ==, 1);
  g_assert_cmpint (buf[0], ==, 'v');
  errno = 0;
  g_assert_cmpint (lgetxattr (mf, "user.absent", buf, sizeof buf), ==, -1);
  g_assert_cmpint (errno, ==, ENODATA);
  fx_unmount (f);
}

int
main (int argc, char **argv)
{
  fx_test_init (&argc, &argv);
  FX_ADD ("cache/hard-link-aliases", test_hard_link_aliases);
  FX_ADD ("cache/reader-follows-copy-up", test_reader_follows_copy_up);
  FX_ADD ("cache/xattr-namespaces", test_xattr_namespaces);
  FX_ADD ("cache/open-file-outlives-its-name", test_open_file_outlives_its_name);
  FX_ADD ("cache/negative-entries", test_negative_entries);
  return g_test_run ();
}
