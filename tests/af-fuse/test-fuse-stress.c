/* test-fuse-stress.c — 8 threads of mixed operations for 30 s
 * (AF_FUSE_STRESS_SECONDS overrides) on one mount: each thread keeps a model
 * of its own directory and checks every result against it, and all threads
 * also race on a shared directory where only EEXIST/ENOENT/ENOTEMPTY are
 * acceptable failures. Afterwards the daemon holds no handle and no more fds
 * than at the start, and exits cleanly (under ASan: without leaks). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse-fixture.h"

#define N_THREADS 8
#define N_FILES 16

static const char rules[] = "[{\"pattern\":\"/**\",\"permission\":\"write\",\"priority\":1},"
                            "{\"pattern\":\"/\",\"permission\":\"write\",\"priority\":1},"
                            "{\"pattern\":\"**/*.secret\",\"permission\":\"none\",\"priority\":9},"
                            "{\"pattern\":\"/base/**\",\"permission\":\"read\",\"priority\":5}]";

typedef struct {
  const char *mnt;
  int id;
  gint64 deadline;
  guint64 ops;
  GString *errors;
} Worker;

static void
fail (Worker *w, const char *what, const char *path, int err)
{
  if (w->errors->len < 4000)
    g_string_append_printf (w->errors, "thread %d: %s %s: %s\n", w->id, what, path,
                            g_strerror (err));
}

static gboolean
ok_shared (int err)
{
  return err == EEXIST || err == ENOENT || err == ENOTEMPTY;
}

static gpointer
worker (gpointer data)
{
  Worker *w = data;
  GRand *rand = g_rand_new_with_seed ((guint32)w->id * 7919u);
  g_autofree char *dir = g_strdup_printf ("%s/t%d", w->mnt, w->id);
  g_autofree char *shared = g_strdup_printf ("%s/shared", w->mnt);
  if (mkdir (dir, 0755) < 0)
    fail (w, "mkdir", dir, errno);
  gint64 sizes[N_FILES];
  for (int i = 0; i < N_FILES; i++)
    sizes[i] = -1; /* model: -1 absent, else content length of 'a'+i bytes */
  char buf[8192];
  while (g_get_monotonic_time () < w->deadline) {
    int i = g_rand_int_range (rand, 0, N_FILES);
    g_autofree char *p = g_strdup_printf ("%s/f%02d", dir, i);
    g_autofree char *q = g_strdup_printf ("%s/g%02d", dir, i);
    int op = g_rand_int_range (rand, 0, 10);
    w->ops++;
    switch (op) {
    case 0:
    case 1: { /* write whole file */
      int len = g_rand_int_range (rand, 0, (int)sizeof buf);
      memset (buf, 'a' + i, (size_t)len);
      int fd = open (p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || write (fd, buf, (size_t)len) != len)
        fail (w, "write", p, errno);
      if (fd >= 0)
        close (fd);
      sizes[i] = len;
      break;
    }
    case 2: { /* append */
      if (sizes[i] < 0)
        break;
      int fd = open (p, O_WRONLY | O_APPEND);
      memset (buf, 'a' + i, 100);
      if (fd < 0 || write (fd, buf, 100) != 100)
        fail (w, "append", p, errno);
      if (fd >= 0)
        close (fd);
      sizes[i] += 100;
      break;
    }
    case 3:
    case 4: { /* read and check against the model */
      int fd = open (p, O_RDONLY);
      if (fd < 0) {
        if (!(sizes[i] < 0 && errno == ENOENT))
          fail (w, "open", p, errno);
        break;
      }
      if (sizes[i] < 0)
        fail (w, "exists but should not", p, EEXIST);
      gint64 total = 0;
      ssize_t n;
      while ((n = read (fd, buf, sizeof buf)) > 0) {
        for (ssize_t k = 0; k < n; k++)
          if (buf[k] != 'a' + i) {
            fail (w, "content", p, EIO);
            break;
          }
        total += n;
      }
      close (fd);
      if (total != sizes[i])
        fail (w, "size", p, EIO);
      break;
    }
    case 5: /* rename away and back */
      if (sizes[i] < 0)
        break;
      if (rename (p, q) < 0 || rename (q, p) < 0)
        fail (w, "rename", p, errno);
      break;
    case 6: /* unlink */
      if (unlink (p) < 0 && !(sizes[i] < 0 && errno == ENOENT))
        fail (w, "unlink", p, errno);
      sizes[i] = -1;
      break;
    case 7: { /* shared directory: races allowed, only benign errors */
      g_autofree char *sd = g_strdup_printf ("%s/d%d", shared, i);
      g_autofree char *sf = g_strdup_printf ("%s/d%d/f", shared, i);
      if (mkdir (sd, 0755) < 0 && !ok_shared (errno))
        fail (w, "shared mkdir", sd, errno);
      int fd = open (sf, O_WRONLY | O_CREAT, 0644);
      if (fd >= 0)
        close (fd);
      else if (!ok_shared (errno))
        fail (w, "shared create", sf, errno);
      if (unlink (sf) < 0 && !ok_shared (errno))
        fail (w, "shared unlink", sf, errno);
      if (rmdir (sd) < 0 && !ok_shared (errno))
        fail (w, "shared rmdir", sd, errno);
      break;
    }
    case 8: { /* list and stat */
      DIR *d = opendir (dir);
      if (d == NULL) {
        fail (w, "opendir", dir, errno);
        break;
      }
      struct dirent *de;
      while ((de = readdir (d)) != NULL) {
        struct stat st;
        if (de->d_name[0] != '.' && fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
            errno != ENOENT)
          fail (w, "stat", de->d_name, errno);
      }
      closedir (d);
      break;
    }
    case 9: { /* the read-only and none parts stay so under load */
      g_autofree char *ro = g_strdup_printf ("%s/base/file", w->mnt);
      g_autofree char *sec = g_strdup_printf ("%s/base/x.secret", w->mnt);
      int fd = open (ro, O_WRONLY);
      if (fd >= 0 || errno != EACCES)
        fail (w, "read-only open for write", ro, fd >= 0 ? 0 : errno);
      if (fd >= 0)
        close (fd);
      struct stat st;
      if (stat (sec, &st) == 0 || errno != ENOENT)
        fail (w, "none entry", sec, errno);
      break;
    }
    }
  }
  g_rand_free (rand);
  return NULL;
}

/* fds other than pipes: libfuse keeps a splice pipe pair per worker
 * thread, and the worker count follows the load (bounded by the loop's
 * max_threads); everything else is ours. */
static int
count_fds (GPid pid)
{
  g_autofree char *dir = g_strdup_printf ("/proc/%d/fd", pid);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  int n = 0;
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *p = g_build_filename (dir, name, NULL);
    g_autofree char *target = g_file_read_link (p, NULL);
    if (target != NULL && !g_str_has_prefix (target, "pipe:"))
      n++;
  }
  return n;
}

static void
test_stress (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  g_autofree char *base = fx_path (f->src, "base"), *bf = fx_path (f->src, "base/file");
  g_autofree char *bs = fx_path (f->src, "base/x.secret"), *sh = fx_path (f->src, "shared");
  g_assert_cmpint (mkdir (base, 0755), ==, 0);
  g_assert_cmpint (mkdir (sh, 0755), ==, 0);
  fx_write (bf, "ro\n");
  fx_write (bs, "secret\n");
  fx_mount (f, rules, TRUE, NULL);
  int fds_before = count_fds (f->pid);

  const char *env = g_getenv ("AF_FUSE_STRESS_SECONDS");
  int seconds = env != NULL ? atoi (env) : 30;
  Worker workers[N_THREADS];
  GThread *threads[N_THREADS];
  gint64 deadline = g_get_monotonic_time () + (gint64)seconds * G_USEC_PER_SEC;
  for (int i = 0; i < N_THREADS; i++) {
    workers[i] = (Worker){ f->mnt, i, deadline, 0, g_string_new (NULL) };
    threads[i] = g_thread_new ("stress", worker, &workers[i]);
  }
  guint64 total = 0;
  for (int i = 0; i < N_THREADS; i++) {
    g_thread_join (threads[i]);
    total += workers[i].ops;
    if (workers[i].errors->len > 0)
      g_printerr ("%s", workers[i].errors->str);
    g_assert_cmpuint (workers[i].errors->len, ==, 0);
    g_string_free (workers[i].errors, TRUE);
  }
  g_test_message ("%" G_GUINT64_FORMAT " operations in %d s", total, seconds);
  g_assert_cmpuint (total, >, 1000);

  /* Releases reach the daemon asynchronously after close(): the bound has
   * a small slack for ones still in flight. A leak of one handle per
   * operation would show as thousands. */
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) stats = fx_call (f, "GetStats", NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GVariant) dict = g_variant_get_child_value (stats, 0);
  guint32 handles = 99;
  g_assert_true (g_variant_lookup (dict, "open_handles", "u", &handles));
  g_assert_cmpuint (handles, <=, 2);
  g_assert_cmpint (count_fds (f->pid), <=, fds_before + 4);
  fx_unmount (f); /* exit status 0: under ASan this includes no leaks */
}

int
main (int argc, char **argv)
{
  fx_test_init (&argc, &argv);
  FX_ADD ("stress/8x30s", test_stress);
  return g_test_run ();
}
