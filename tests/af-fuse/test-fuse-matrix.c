/* test-fuse-matrix.c — the operation × level matrix with exact errnos.
 *
 * Every operation runs against an entry of each level (none, view, read,
 * write) in a forked child that has dropped to nobody (the sandbox side),
 * never in the daemon. Each (operation, level) pair gets its own entry so
 * no operation sees another's effect. Expected values are the contract in
 * docs/filesystem.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse-fixture.h"

#define NOBODY 65534

static const char *const levels[] = { "none", "view", "read", "write" };

typedef enum {
  SETUP_FILE,
  SETUP_DIR,
  SETUP_LINK,
  SETUP_EXE,
  SETUP_NOTHING,
} Setup;

typedef struct {
  const char *mnt;
  const char *name;  /* <level>_<op>, relative to mnt */
  const char *level; /* for names the op derives */
} Ctx;

typedef int (*OpFunc) (const Ctx *c);

typedef struct {
  const char *op;
  Setup setup;
  OpFunc fn;
  int expect[4]; /* none, view, read, write */
} MatrixRow;

static char *
at (const Ctx *c, const char *suffix)
{
  return g_strdup_printf ("%s/%s%s", c->mnt, c->name, suffix != NULL ? suffix : "");
}

#define RET(expr) ((expr) < 0 ? errno : 0)

static int
op_stat (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  struct stat st;
  return RET (lstat (p, &st));
}

static int
op_listed (const Ctx *c)
{
  DIR *d = opendir (c->mnt);
  if (d == NULL)
    return errno;
  struct dirent *de;
  int r = ENOENT;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, c->name) == 0)
      r = 0;
  closedir (d);
  return r;
}

static int
open_close (const Ctx *c, int flags)
{
  g_autofree char *p = at (c, NULL);
  int fd = open (p, flags | O_CLOEXEC);
  if (fd < 0)
    return errno;
  close (fd);
  return 0;
}

static int
op_open_r (const Ctx *c)
{
  return open_close (c, O_RDONLY);
}

static int
op_open_w (const Ctx *c)
{
  return open_close (c, O_WRONLY);
}

static int
op_open_rw (const Ctx *c)
{
  return open_close (c, O_RDWR);
}

static int
op_open_trunc (const Ctx *c)
{
  return open_close (c, O_RDONLY | O_TRUNC);
}

static int
op_read (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  int fd = open (p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  char buf[16] = { 0 };
  ssize_t n = read (fd, buf, sizeof buf - 1);
  close (fd);
  return n == 5 && strcmp (buf, "data\n") == 0 ? 0 : EIO;
}

static int
op_append (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  int fd = open (p, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0)
    return errno;
  int r = write (fd, "more\n", 5) == 5 ? 0 : errno;
  close (fd);
  return r;
}

static int
op_exec (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  pid_t pid = fork ();
  if (pid == 0) {
    char *argv[] = { p, NULL };
    execv (p, argv);
    _exit (100 + errno);
  }
  int status;
  waitpid (pid, &status, 0);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 7)
    return 0;
  return WIFEXITED (status) && WEXITSTATUS (status) >= 100 ? WEXITSTATUS (status) - 100 : EIO;
}

static int
op_mmap (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  int fd = open (p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  void *m = mmap (NULL, 5, PROT_READ, MAP_PRIVATE, fd, 0);
  close (fd);
  if (m == MAP_FAILED)
    return errno;
  int r = memcmp (m, "data\n", 5) == 0 ? 0 : EIO;
  munmap (m, 5);
  return r;
}

static int
op_readlink (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  char buf[64];
  ssize_t n = readlink (p, buf, sizeof buf);
  if (n < 0)
    return errno;
  return n == 6 && memcmp (buf, "target", 6) == 0 ? 0 : EIO;
}

static int
op_getxattr (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  char buf[16];
  ssize_t n = getxattr (p, "user.test", buf, sizeof buf);
  if (n < 0)
    return errno;
  return n == 1 && buf[0] == 'v' ? 0 : EIO;
}

static int
op_listxattr (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  char buf[256];
  return RET (listxattr (p, buf, sizeof buf));
}

static int
op_setxattr (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  return RET (setxattr (p, "user.new", "x", 1, 0));
}

static int
op_removexattr (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  return RET (removexattr (p, "user.test"));
}

static int
op_truncate (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  return RET (truncate (p, 0));
}

static int
op_chmod (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  return RET (chmod (p, 0600));
}

static int
op_chmod_suid (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  return RET (chmod (p, 04755));
}

static int
op_chown (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  return RET (chown (p, NOBODY, NOBODY));
}

static int
op_utimens (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  struct timespec ts[2] = { { 1000, 0 }, { 2000, 0 } };
  return RET (utimensat (AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW));
}

static int
op_unlink (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  return RET (unlink (p));
}

static int
op_rmdir (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  return RET (rmdir (p));
}

static int
op_rename_from (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  g_autofree char *q = at (c, "_moved");
  return RET (rename (p, q));
}

static int
op_rename_to_write (const Ctx *c)
{
  /* Moving content into a write place: only write content may move. */
  g_autofree char *p = at (c, NULL);
  g_autofree char *q = g_strdup_printf ("%s/write_dest_%s", c->mnt, c->name);
  return RET (rename (p, q));
}

static int
op_rename_over (const Ctx *c)
{
  /* A write file renamed over an existing entry of this level. */
  g_autofree char *p = g_strdup_printf ("%s/write_src_%s", c->mnt, c->name);
  g_autofree char *q = at (c, NULL);
  return RET (rename (p, q));
}

static int
op_link_from (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  g_autofree char *q = g_strdup_printf ("%s/write_link_%s", c->mnt, c->name);
  return RET (link (p, q));
}

static int
op_link_to (const Ctx *c)
{
  g_autofree char *p = g_strdup_printf ("%s/write_src_%s", c->mnt, c->name);
  g_autofree char *q = at (c, "_new");
  return RET (link (p, q));
}

static int
op_create_new (const Ctx *c)
{
  g_autofree char *p = at (c, "_new");
  int fd = open (p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno;
  close (fd);
  return 0;
}

static int
op_create_existing (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  int fd = open (p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno;
  close (fd);
  return 0;
}

static int
op_mkdir_new (const Ctx *c)
{
  g_autofree char *p = at (c, "_new");
  return RET (mkdir (p, 0755));
}

static int
op_mkdir_existing (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  return RET (mkdir (p, 0755));
}

static int
op_symlink_new (const Ctx *c)
{
  g_autofree char *p = at (c, "_new");
  return RET (symlink ("anywhere", p));
}

static int
op_mkfifo_new (const Ctx *c)
{
  g_autofree char *p = at (c, "_new");
  return RET (mknod (p, S_IFIFO | 0644, 0));
}

static int
op_mknod_chr (const Ctx *c)
{
  /* As nobody the kernel refuses before asking us; the root case is in
   * test-fuse-delta. */
  g_autofree char *p = at (c, "_new");
  return RET (mknod (p, S_IFSOCK | 0644, 0));
}

static int
op_access_r (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  return RET (access (p, R_OK));
}

static int
op_access_w (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  return RET (access (p, W_OK));
}

static int
op_access_x (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  return RET (access (p, X_OK));
}

static int
op_opendir (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  DIR *d = opendir (p);
  if (d == NULL)
    return errno;
  closedir (d);
  return 0;
}

static int
op_fallocate (const Ctx *c)
{
  g_autofree char *p = at (c, NULL);
  int fd = open (p, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return errno;
  int r = RET (fallocate (fd, 0, 0, 4096));
  close (fd);
  return r;
}

#define OK 0
#define NOENT ENOENT
#define ACC EACCES

static const MatrixRow rows[] = {
  { "stat", SETUP_FILE, op_stat, { NOENT, OK, OK, OK } },
  { "listed", SETUP_FILE, op_listed, { NOENT, OK, OK, OK } },
  { "open-r", SETUP_FILE, op_open_r, { NOENT, ACC, OK, OK } },
  { "read", SETUP_FILE, op_read, { NOENT, ACC, OK, OK } },
  { "open-w", SETUP_FILE, op_open_w, { NOENT, ACC, ACC, OK } },
  { "open-rw", SETUP_FILE, op_open_rw, { NOENT, ACC, ACC, OK } },
  { "open-trunc", SETUP_FILE, op_open_trunc, { NOENT, ACC, ACC, OK } },
  { "append", SETUP_FILE, op_append, { NOENT, ACC, ACC, OK } },
  { "exec", SETUP_EXE, op_exec, { NOENT, ACC, OK, OK } },
  { "mmap", SETUP_FILE, op_mmap, { NOENT, ACC, OK, OK } },
  { "readlink", SETUP_LINK, op_readlink, { NOENT, ACC, OK, OK } },
  { "getxattr", SETUP_FILE, op_getxattr, { NOENT, ACC, OK, OK } },
  { "listxattr", SETUP_FILE, op_listxattr, { NOENT, OK, OK, OK } },
  { "setxattr", SETUP_FILE, op_setxattr, { NOENT, ACC, ACC, OK } },
  { "removexattr", SETUP_FILE, op_removexattr, { NOENT, ACC, ACC, OK } },
  { "truncate", SETUP_FILE, op_truncate, { NOENT, ACC, ACC, OK } },
  { "chmod", SETUP_FILE, op_chmod, { NOENT, ACC, ACC, OK } },
  { "chmod-suid", SETUP_FILE, op_chmod_suid, { NOENT, ACC, ACC, EPERM } },
  { "chown", SETUP_FILE, op_chown, { NOENT, ACC, ACC, EPERM } },
  { "utimens", SETUP_FILE, op_utimens, { NOENT, ACC, ACC, OK } },
  { "unlink", SETUP_FILE, op_unlink, { NOENT, ACC, ACC, OK } },
  { "rmdir", SETUP_DIR, op_rmdir, { NOENT, ACC, ACC, OK } },
  { "rename-from", SETUP_FILE, op_rename_from, { NOENT, ACC, ACC, OK } },
  { "rename-to-write", SETUP_FILE, op_rename_to_write, { NOENT, ACC, ACC, OK } },
  { "rename-over", SETUP_FILE, op_rename_over, { ACC, ACC, ACC, OK } },
  { "link-from", SETUP_FILE, op_link_from, { NOENT, ACC, ACC, OK } },
  { "link-to", SETUP_NOTHING, op_link_to, { ACC, ACC, ACC, OK } },
  { "create-new", SETUP_NOTHING, op_create_new, { ACC, ACC, ACC, OK } },
  /* On a visible name the kernel answers EEXIST itself (the entry is
   * visible anyway); on a none name it must be EACCES, as for a new one. */
  { "create-existing", SETUP_FILE, op_create_existing, { ACC, EEXIST, EEXIST, EEXIST } },
  { "mkdir-new", SETUP_NOTHING, op_mkdir_new, { ACC, ACC, ACC, OK } },
  { "mkdir-existing", SETUP_FILE, op_mkdir_existing, { ACC, EEXIST, EEXIST, EEXIST } },
  { "symlink-new", SETUP_NOTHING, op_symlink_new, { ACC, ACC, ACC, OK } },
  { "mkfifo-new", SETUP_NOTHING, op_mkfifo_new, { ACC, ACC, ACC, OK } },
  { "mksock-new", SETUP_NOTHING, op_mknod_chr, { ACC, ACC, ACC, OK } },
  { "access-r", SETUP_FILE, op_access_r, { NOENT, ACC, OK, OK } },
  { "access-w", SETUP_FILE, op_access_w, { NOENT, ACC, ACC, OK } },
  { "access-x", SETUP_EXE, op_access_x, { NOENT, ACC, OK, OK } },
  { "opendir", SETUP_DIR, op_opendir, { NOENT, OK, OK, OK } },
  { "fallocate", SETUP_FILE, op_fallocate, { NOENT, ACC, ACC, OK } },
};

static const char matrix_rules[] =
    "["
    "{\"pattern\":\"/\",\"permission\":\"read\",\"priority\":1},"
    "{\"pattern\":\"/none*\",\"permission\":\"none\",\"priority\":10},"
    "{\"pattern\":\"/view*\",\"permission\":\"view\",\"priority\":10},"
    "{\"pattern\":\"/read*\",\"permission\":\"read\",\"priority\":10},"
    "{\"pattern\":\"/write*\",\"permission\":\"write\",\"priority\":10}"
    "]";

static char *
entry_name (int level, gsize row)
{
  g_autofree char *op = g_strdup (rows[row].op);
  g_strdelimit (op, "-", '_');
  return g_strdup_printf ("%s_%s", levels[level], op);
}

static void
setup_source (FuseFixture *f)
{
  for (gsize r = 0; r < G_N_ELEMENTS (rows); r++) {
    for (int l = 0; l < 4; l++) {
      g_autofree char *name = entry_name (l, r);
      g_autofree char *p = fx_path (f->src, name);
      switch (rows[r].setup) {
      case SETUP_FILE:
        fx_write (p, "data\n");
        g_assert_cmpint (setxattr (p, "user.test", "v", 1, 0), ==, 0);
        break;
      case SETUP_EXE:
        fx_write (p, "#!/bin/sh\nexit 7\n");
        g_assert_cmpint (chmod (p, 0755), ==, 0);
        break;
      case SETUP_DIR:
        g_assert_cmpint (mkdir (p, 0755), ==, 0);
        break;
      case SETUP_LINK:
        g_assert_cmpint (symlink ("target", p), ==, 0);
        break;
      case SETUP_NOTHING:
        break;
      }
      g_autofree char *src_name = g_strdup_printf ("write_src_%s", name);
      g_autofree char *sp = fx_path (f->src, src_name);
      fx_write (sp, "data\n");
    }
  }
}

/* Runs every row as nobody in a child; returns the mismatches, one a line. */
static char *
run_matrix_child (const char *mnt)
{
  int pipefd[2];
  g_assert_cmpint (pipe (pipefd), ==, 0);
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0) {
    close (pipefd[0]);
    if (setgroups (0, NULL) < 0 || setgid (NOBODY) < 0 || setuid (NOBODY) < 0)
      _exit (3);
    GString *out = g_string_new (NULL);
    for (gsize r = 0; r < G_N_ELEMENTS (rows); r++) {
      for (int l = 0; l < 4; l++) {
        g_autofree char *name = entry_name (l, r);
        Ctx c = { mnt, name, levels[l] };
        int got = rows[r].fn (&c);
        if (got != rows[r].expect[l])
          g_string_append_printf (out, "%s at %s: expected %s, got %s\n", rows[r].op, levels[l],
                                  rows[r].expect[l] ? g_strerror (rows[r].expect[l]) : "success",
                                  got ? g_strerror (got) : "success");
      }
    }
    (void)!write (pipefd[1], out->str, out->len);
    _exit (0);
  }
  close (pipefd[1]);
  GString *out = g_string_new (NULL);
  char buf[4096];
  ssize_t n;
  while ((n = read (pipefd[0], buf, sizeof buf)) > 0)
    g_string_append_len (out, buf, n);
  close (pipefd[0]);
  int status;
  waitpid (pid, &status, 0);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  return g_string_free (out, FALSE);
}

static void
test_matrix (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  setup_source (f);
  fx_mount (f, matrix_rules, FALSE, NULL);
  g_autofree char *mismatches = run_matrix_child (f->mnt);
  if (mismatches[0] != '\0')
    g_printerr ("%s", mismatches);
  g_assert_cmpstr (mismatches, ==, "");

  /* Nothing of the source changed, whatever the level: writes went to the
   * delta (a refused O_TRUNC truncated nothing). */
  for (gsize r = 0; r < G_N_ELEMENTS (rows); r++) {
    if (rows[r].setup != SETUP_FILE)
      continue;
    for (int l = 0; l < 4; l++) {
      g_autofree char *name = entry_name (l, r);
      g_autofree char *p = fx_path (f->src, name);
      g_autofree char *content = fx_read (p);
      g_assert_cmpstr (content, ==, "data\n");
    }
  }
  fx_unmount (f);
}

int
main (int argc, char **argv)
{
  fx_test_init (&argc, &argv);
  FX_ADD ("matrix", test_matrix);
  return g_test_run ();
}
