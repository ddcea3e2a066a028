/* test-fuse-passthrough.c — files the kernel reads and writes itself
 * (FUSE passthrough, kernel 6.9+, as root): content through read, write
 * and mmap is exact, such opens are counted in GetStats (and their bytes
 * never reach the daemon, which proves the kernel did the I/O), and every
 * permission is still decided at open. Real mounts. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fuse-fixture.h"

static const char rules[] = "["
                            "{\"pattern\":\"/**\",\"permission\":\"write\",\"priority\":1},"
                            "{\"pattern\":\"/\",\"permission\":\"write\",\"priority\":1},"
                            "{\"pattern\":\"/ro/**\",\"permission\":\"read\",\"priority\":5},"
                            "{\"pattern\":\"/vw/**\",\"permission\":\"view\",\"priority\":5}"
                            "]";

#define BIG (1u << 20)

/* Passthrough exists from Linux 6.9 on; older kernels keep every read and
 * write in the daemon (covered by the other tests). */
static const char *
skip_reason (void)
{
  const char *r = fx_skip_reason ();
  if (r != NULL)
    return r;
  struct utsname u;
  unsigned major = 0, minor = 0;
  if (uname (&u) != 0 || sscanf (u.release, "%u.%u", &major, &minor) != 2)
    return "unknown kernel version";
  if (major < 6 || (major == 6 && minor < 9))
    return "kernel older than 6.9: no FUSE passthrough";
  return NULL;
}

typedef struct {
  guint64 passthrough, opens, creates, bytes_read, bytes_written;
} Stats;

static Stats
get_stats (FuseFixture *f)
{
  Stats st = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = fx_call (f, "GetStats", NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GVariant) dict = g_variant_get_child_value (reply, 0);
  g_autoptr (GVariant) ops = g_variant_lookup_value (dict, "ops", G_VARIANT_TYPE ("a{s(tt)}"));
  g_assert_nonnull (ops);
  guint64 denied;
  g_assert_true (g_variant_lookup (ops, "passthrough", "(tt)", &st.passthrough, &denied));
  g_assert_true (g_variant_lookup (ops, "open", "(tt)", &st.opens, &denied));
  g_assert_true (g_variant_lookup (ops, "create", "(tt)", &st.creates, &denied));
  g_assert_true (g_variant_lookup (dict, "bytes_read", "t", &st.bytes_read));
  g_assert_true (g_variant_lookup (dict, "bytes_written", "t", &st.bytes_written));
  return st;
}

static char *
pattern (gsize len, char seed)
{
  char *b = g_malloc (len);
  for (gsize i = 0; i < len; i++)
    b[i] = (char)(seed + (char)(i % 61));
  return b;
}

static void
write_src (FuseFixture *f, const char *rel, const char *data, gsize len)
{
  g_autofree char *p = fx_path (f->src, rel);
  g_autofree char *dir = g_path_get_dirname (p);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (p, data, (gssize)len, NULL));
}

/* Fills each NULL-terminated @rel of the source with the same BIG bytes
 * (pattern @seed) and mounts the rules over it (with @extra arguments);
 * returns the bytes. */
static char *mount_over_files (FuseFixture *f, char seed, const char *const *extra, const char *rel,
                               ...) G_GNUC_NULL_TERMINATED;

static char *
mount_over_files (FuseFixture *f, char seed, const char *const *extra, const char *rel, ...)
{
  char *content = pattern (BIG, seed);
  va_list ap;

  va_start (ap, rel);
  for (; rel != NULL; rel = va_arg (ap, const char *))
    write_src (f, rel, content, BIG);
  va_end (ap);
  fx_mount (f, rules, TRUE, extra);
  return content;
}

/* The file @rel under @dir holds exactly @len bytes of @content. */
static void
assert_file_is (const char *dir, const char *rel, const char *content, gsize len)
{
  g_autofree char *path = fx_path (dir, rel);
  g_autofree char *back = NULL;
  gsize back_len = 0;
  g_assert_true (g_file_get_contents (path, &back, &back_len, NULL));
  g_assert_cmpmem (back, back_len, content, len);
}

static void
read_exact (int fd, char *buf, gsize len, off_t off)
{
  gsize done = 0;
  while (done < len) {
    ssize_t n = pread (fd, buf + done, len - done, off + (off_t)done);
    g_assert_cmpint (n, >, 0);
    done += (gsize)n;
  }
}

/* A read-level file of 1 MiB: read and mmap see the source, the open is
 * counted as passthrough, and no byte went through the daemon. */
static void
test_read_level (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (skip_reason ());
  g_autofree char *content = mount_over_files (f, 'a', NULL, "ro/big", NULL);
  g_autofree char *mp = fx_path (f->mnt, "ro/big");
  Stats before = get_stats (f);
  int fd = open (mp, O_RDONLY);
  g_assert_cmpint (fd, >=, 0);
  g_autofree char *buf = g_malloc (BIG);
  read_exact (fd, buf, BIG, 0);
  g_assert_cmpmem (buf, BIG, content, BIG);
  void *map = mmap (NULL, BIG, PROT_READ, MAP_SHARED, fd, 0);
  g_assert_true (map != MAP_FAILED);
  g_assert_cmpmem (map, BIG, content, BIG);
  munmap (map, BIG);
  /* A second open of the same inode shares the backing. */
  int fd2 = open (mp, O_RDONLY);
  g_assert_cmpint (fd2, >=, 0);
  read_exact (fd2, buf, 4096, BIG - 4096);
  g_assert_cmpmem (buf, 4096, content + BIG - 4096, 4096);
  close (fd2);
  close (fd);
  Stats after = get_stats (f);
  g_assert_cmpuint (after.opens - before.opens, ==, 2);
  g_assert_cmpuint (after.passthrough - before.passthrough, ==, 2);
  g_assert_cmpuint (after.bytes_read, ==, before.bytes_read);
  fx_unmount (f);
}

/* Passing through decides nothing: a read-level file opened for writing
 * fails whatever its size, O_TRUNC truncates nothing, a view file never
 * opens, and each refusal is counted. */
static void
test_read_level_refusals (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (skip_reason ());
  g_autofree char *content = mount_over_files (f, 'b', NULL, "ro/big", "vw/big", NULL);
  g_autofree char *mp = fx_path (f->mnt, "ro/big"), *vp = fx_path (f->mnt, "vw/big");
  int ro = open (mp, O_RDONLY); /* the inode is in passthrough mode meanwhile */
  g_assert_cmpint (ro, >=, 0);
  const int modes[] = { O_RDWR, O_WRONLY, O_RDONLY | O_TRUNC, O_WRONLY | O_APPEND };
  for (gsize i = 0; i < G_N_ELEMENTS (modes); i++) {
    errno = 0;
    g_assert_cmpint (open (mp, modes[i]), ==, -1);
    g_assert_cmpint (errno, ==, EACCES);
    errno = 0;
    g_assert_cmpint (open (vp, modes[i]), ==, -1);
    g_assert_cmpint (errno, ==, EACCES);
  }
  errno = 0;
  g_assert_cmpint (open (vp, O_RDONLY), ==, -1);
  g_assert_cmpint (errno, ==, EACCES);
  errno = 0;
  g_assert_cmpint (truncate (mp, 0), ==, -1);
  g_assert_cmpint (errno, ==, EACCES);
  errno = 0;
  g_assert_cmpint (write (ro, "x", 1), ==, -1);
  g_assert_cmpint (errno, ==, EBADF);
  close (ro);
  struct stat st;
  g_assert_cmpint (stat (mp, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, BIG);
  assert_file_is (f->src, "ro/big", content, BIG);
  fx_unmount (f);
}

/* A file created at write level: writes, appends, a shared writable mmap
 * and truncation land in the delta through the kernel; another descriptor
 * and stat see them at once; the source never changes. */
static void
test_write_level (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (skip_reason ());
  fx_mount (f, rules, TRUE, NULL);
  g_autofree char *mp = fx_path (f->mnt, "new.bin");
  Stats before = get_stats (f);
  int w = open (mp, O_CREAT | O_EXCL | O_RDWR, 0644);
  g_assert_cmpint (w, >=, 0);
  g_autofree char *content = pattern (BIG, 'c');
  g_assert_cmpint (pwrite (w, content, BIG, 0), ==, (gssize)BIG);
  g_assert_cmpint (fdatasync (w), ==, 0);
  int r = open (mp, O_RDONLY);
  g_assert_cmpint (r, >=, 0);
  g_autofree char *buf = g_malloc (BIG);
  read_exact (r, buf, BIG, 0);
  g_assert_cmpmem (buf, BIG, content, BIG);
  /* Shared writable mapping: visible through read on the other fd. */
  char *map = mmap (NULL, BIG, PROT_READ | PROT_WRITE, MAP_SHARED, w, 0);
  g_assert_true (map != MAP_FAILED);
  memcpy (map + 100, "MAPPED", 6);
  g_assert_cmpint (msync (map, BIG, MS_SYNC), ==, 0);
  munmap (map, BIG);
  read_exact (r, buf, 6, 100);
  g_assert_cmpmem (buf, 6, "MAPPED", 6);
  /* Appends from a third descriptor, then a truncation. */
  int a = open (mp, O_WRONLY | O_APPEND);
  g_assert_cmpint (a, >=, 0);
  g_assert_cmpint (write (a, "TAIL", 4), ==, 4);
  close (a);
  struct stat st;
  g_assert_cmpint (stat (mp, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, BIG + 4);
  read_exact (r, buf, 4, BIG);
  g_assert_cmpmem (buf, 4, "TAIL", 4);
  g_assert_cmpint (ftruncate (w, 10), ==, 0);
  g_assert_cmpint (fstat (r, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 10);
  close (r);
  close (w);
  Stats after = get_stats (f);
  g_assert_cmpuint (after.creates - before.creates, ==, 1);
  g_assert_cmpuint (after.passthrough - before.passthrough, ==, 3);
  g_assert_cmpuint (after.bytes_written, ==, before.bytes_written);
  g_assert_cmpuint (after.bytes_read, ==, before.bytes_read);
  /* The content is the delta's file; the source has nothing. */
  assert_file_is (f->delta, "upper/new.bin", content, 10);
  g_autofree char *sp = fx_path (f->src, "new.bin");
  g_assert_cmpint (access (sp, F_OK), ==, -1);
  fx_unmount (f);
}

/* A source file at write level: a reader opened first stays cached (a
 * writer's copy-up must show through it), the writer passes through to
 * the copy in the delta once nothing else is open, and new opens see it. */
static void
test_copy_up (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (skip_reason ());
  g_autofree char *content = mount_over_files (f, 'd', NULL, "w/big", NULL);
  g_autofree char *mp = fx_path (f->mnt, "w/big");
  Stats s0 = get_stats (f);
  int r = open (mp, O_RDONLY);
  g_assert_cmpint (r, >=, 0);
  Stats s1 = get_stats (f);
  g_assert_cmpuint (s1.passthrough, ==, s0.passthrough);
  int w = open (mp, O_WRONLY);
  g_assert_cmpint (w, >=, 0);
  g_assert_cmpint (pwrite (w, "NEW", 3, 5000), ==, 3);
  char buf[3];
  read_exact (r, buf, 3, 5000);
  g_assert_cmpmem (buf, 3, "NEW", 3);
  close (w);
  close (r);
  /* Nothing open: the next writer and reader pass through to the delta. */
  w = open (mp, O_WRONLY);
  g_assert_cmpint (w, >=, 0);
  r = open (mp, O_RDONLY);
  g_assert_cmpint (r, >=, 0);
  g_assert_cmpint (pwrite (w, "AGAIN", 5, 7000), ==, 5);
  char buf5[5];
  read_exact (r, buf5, 5, 7000);
  g_assert_cmpmem (buf5, 5, "AGAIN", 5);
  close (w);
  close (r);
  Stats s2 = get_stats (f);
  g_assert_cmpuint (s2.passthrough - s1.passthrough, ==, 2);
  assert_file_is (f->src, "w/big", content, BIG);
  fx_unmount (f);
}

/* A small file in the delta: read through the page cache, rewritten
 * (same size) by a writer passing through, read through the page cache
 * again: the pages kept from the first read are not served. */
static void
test_cached_after_write (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (skip_reason ());
  fx_mount (f, rules, TRUE, NULL);
  g_autofree char *mp = fx_path (f->mnt, "small.txt");
  fx_write (mp, "first version\n");
  Stats s0 = get_stats (f);
  g_autofree char *c1 = fx_read (mp);
  g_assert_cmpstr (c1, ==, "first version\n");
  int w = open (mp, O_WRONLY);
  g_assert_cmpint (w, >=, 0);
  g_assert_cmpint (pwrite (w, "FIRST VERSION\n", 14, 0), ==, 14);
  close (w);
  Stats s1 = get_stats (f);
  /* Small read-only opens stay cached (unless every file passes
   * through); the writer passed through. */
  g_assert_cmpuint (s1.passthrough - s0.passthrough, >=, 1);
  g_autofree char *c2 = fx_read (mp);
  g_assert_cmpstr (c2, ==, "FIRST VERSION\n");
  fx_unmount (f);
}

/* --no-passthrough: the same reads, all through the daemon. */
static void
test_disabled (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (skip_reason ());
  const char *extra[] = { "--no-passthrough", NULL };
  g_autofree char *content = mount_over_files (f, 'e', extra, "ro/big", NULL);
  assert_file_is (f->mnt, "ro/big", content, BIG);
  Stats st = get_stats (f);
  g_assert_cmpuint (st.passthrough, ==, 0);
  g_assert_cmpuint (st.bytes_read, >=, BIG);
  fx_unmount (f);
}

int
main (int argc, char **argv)
{
  fx_test_init (&argc, &argv);
  FX_ADD ("passthrough/read-level", test_read_level);
  FX_ADD ("passthrough/read-level-refusals", test_read_level_refusals);
  FX_ADD ("passthrough/write-level", test_write_level);
  FX_ADD ("passthrough/copy-up", test_copy_up);
  FX_ADD ("passthrough/cached-after-write", test_cached_after_write);
  FX_ADD ("passthrough/disabled", test_disabled);
  return g_test_run ();
}
