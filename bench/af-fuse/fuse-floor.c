/* fuse-floor.c — the cheapest FUSE filesystem that can serve the
 * benchmark's read-only work: a read-only mirror of a directory that
 * answers every request from memory where it can, with the same kernel
 * settings af-fuse uses (600 s entry and attribute timeouts, cached
 * listings, keep_cache and noflush on every open, one worker thread).
 *
 * It decides nothing: no policy, no delta, no fd budget. Its OPEN makes no
 * syscall at all. What it costs over the native directory is what any
 * FUSE filesystem that is asked at open pays on this machine — the round
 * trips — so bench-fuse.sh reports af-fuse against it as well as against
 * the native directory.
 *
 * Usage (as root): fuse-floor SOURCE MOUNTPOINT — foreground, ends on
 * unmount or SIGTERM.
 *
 * Must never: write anything (every changing request is refused with
 * EROFS); serve anything outside SOURCE (lookups are confined to names
 * without '/', and every access is relative to SOURCE's fd with
 * O_NOFOLLOW). Not built for production use: inodes are never forgotten. */
#define FUSE_USE_VERSION 34
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FLOOR_TIMEOUT 600.0

typedef struct {
  int root_fd;
  GMutex lock;
  GPtrArray *paths;    /* ino - 1 → relative path ("." for the root) */
  GHashTable *by_path; /* path → ino */
} Floor;

static Floor floor_fs;

/* The path of @ino, or NULL (borrowed: paths are never freed while mounted). */
static const char *
path_of (fuse_ino_t ino)
{
  g_mutex_lock (&floor_fs.lock);
  const char *p = ino >= 1 && ino <= floor_fs.paths->len ? floor_fs.paths->pdata[ino - 1] : NULL;
  g_mutex_unlock (&floor_fs.lock);
  return p;
}

static fuse_ino_t
ino_for (const char *path)
{
  g_mutex_lock (&floor_fs.lock);
  fuse_ino_t ino = GPOINTER_TO_SIZE (g_hash_table_lookup (floor_fs.by_path, path));
  if (ino == 0) {
    char *copy = g_strdup (path);
    g_ptr_array_add (floor_fs.paths, copy);
    ino = floor_fs.paths->len;
    g_hash_table_insert (floor_fs.by_path, copy, GSIZE_TO_POINTER (ino));
  }
  g_mutex_unlock (&floor_fs.lock);
  return ino;
}

static char *
child_path (const char *parent, const char *name)
{
  return strcmp (parent, ".") == 0 ? g_strdup (name) : g_strconcat (parent, "/", name, NULL);
}

static void
op_lookup (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  const char *pp = path_of (parent);
  if (pp == NULL || strchr (name, '/') != NULL || strcmp (name, "..") == 0 ||
      strcmp (name, ".") == 0) {
    fuse_reply_err (req, pp == NULL ? ESTALE : EINVAL);
    return;
  }
  g_autofree char *path = child_path (pp, name);
  struct fuse_entry_param e = { 0 };
  if (fstatat (floor_fs.root_fd, path, &e.attr, AT_SYMLINK_NOFOLLOW) != 0) {
    fuse_reply_err (req, errno);
    return;
  }
  e.ino = ino_for (path);
  e.attr.st_ino = e.ino;
  e.attr_timeout = e.entry_timeout = FLOOR_TIMEOUT;
  fuse_reply_entry (req, &e);
}

static void
op_getattr (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  (void)fi;
  const char *p = path_of (ino);
  struct stat st;
  if (p == NULL || fstatat (floor_fs.root_fd, p, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    fuse_reply_err (req, p == NULL ? ESTALE : errno);
    return;
  }
  st.st_ino = ino;
  fuse_reply_attr (req, &st, FLOOR_TIMEOUT);
}

static void
op_readlink (fuse_req_t req, fuse_ino_t ino)
{
  const char *p = path_of (ino);
  char buf[PATH_MAX];
  ssize_t n = p != NULL ? readlinkat (floor_fs.root_fd, p, buf, sizeof buf - 1) : -1;
  if (n < 0) {
    fuse_reply_err (req, p == NULL ? ESTALE : errno);
    return;
  }
  buf[n] = '\0';
  fuse_reply_readlink (req, buf);
}

static void
op_opendir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  const char *p = path_of (ino);
  int fd = p != NULL ? openat (floor_fs.root_fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) : -1;
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (d == NULL) {
    int err = p == NULL ? ESTALE : errno;
    if (fd >= 0)
      close (fd);
    fuse_reply_err (req, err);
    return;
  }
  fi->fh = (uint64_t)(uintptr_t)d;
  fi->keep_cache = 1;
  fi->cache_readdir = 1;
  fuse_reply_open (req, fi);
}

static void
op_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  const char *p = path_of (ino);
  DIR *d = (DIR *)(uintptr_t)fi->fh;
  g_autofree char *buf = g_malloc (size);
  size_t used = 0;
  seekdir (d, off);
  for (struct dirent *de; p != NULL && (de = readdir (d)) != NULL;) {
    gboolean dots = strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0;
    g_autofree char *path = dots ? NULL : child_path (p, de->d_name);
    struct stat st = { .st_mode = (mode_t)DTTOIF (de->d_type) };
    st.st_ino = dots ? 1 : ino_for (path);
    size_t n = fuse_add_direntry (req, buf + used, size - used, de->d_name, &st, telldir (d));
    if (n > size - used)
      break;
    used += n;
  }
  fuse_reply_buf (req, buf, used);
}

static void
op_releasedir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  (void)ino;
  closedir ((DIR *)(uintptr_t)fi->fh);
  fuse_reply_err (req, 0);
}

/* The floor's whole point: an open answered from memory. */
static void
op_open (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
    fuse_reply_err (req, EROFS);
    return;
  }
  if (path_of (ino) == NULL) {
    fuse_reply_err (req, ESTALE);
    return;
  }
  fi->keep_cache = 1;
  fi->noflush = 1;
  fuse_reply_open (req, fi);
}

static void
op_read (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  (void)fi;
  const char *p = path_of (ino);
  int fd = p != NULL ? openat (floor_fs.root_fd, p, O_RDONLY | O_NOFOLLOW) : -1;
  if (fd < 0) {
    fuse_reply_err (req, p == NULL ? ESTALE : errno);
    return;
  }
  g_autofree char *buf = g_malloc (size);
  ssize_t n = pread (fd, buf, size, off);
  int err = errno;
  close (fd);
  if (n < 0)
    fuse_reply_err (req, err);
  else
    fuse_reply_buf (req, buf, (size_t)n);
}

static void
op_release (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  (void)ino, (void)fi;
  fuse_reply_err (req, 0);
}

static void
op_init (void *userdata, struct fuse_conn_info *conn)
{
  (void)userdata;
  /* The settings af-fuse asks for that matter to reads and listings. */
  conn->want &= ~(unsigned)(FUSE_CAP_READDIRPLUS | FUSE_CAP_WRITEBACK_CACHE);
  if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
    conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
  conn->max_readahead = 1 << 20;
}

static const struct fuse_lowlevel_ops floor_ops = {
  .init = op_init,
  .lookup = op_lookup,
  .getattr = op_getattr,
  .readlink = op_readlink,
  .opendir = op_opendir,
  .readdir = op_readdir,
  .releasedir = op_releasedir,
  .open = op_open,
  .read = op_read,
  .release = op_release,
};

int
main (int argc, char **argv)
{
  if (argc != 3) {
    fprintf (stderr, "usage: %s SOURCE MOUNTPOINT\n", argv[0]);
    return 2;
  }
  floor_fs.root_fd = open (argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (floor_fs.root_fd < 0) {
    fprintf (stderr, "fuse-floor: %s: %s\n", argv[1], g_strerror (errno));
    return 1;
  }
  g_mutex_init (&floor_fs.lock);
  floor_fs.paths = g_ptr_array_new ();
  floor_fs.by_path = g_hash_table_new (g_str_hash, g_str_equal);
  (void)ino_for (".");

  char *args[] = { argv[0], "-o", "fsname=fuse-floor", NULL };
  struct fuse_args fargs = FUSE_ARGS_INIT (3, args);
  struct fuse_session *se = fuse_session_new (&fargs, &floor_ops, sizeof floor_ops, NULL);
  int rc = 1;
  if (se != NULL && fuse_set_signal_handlers (se) == 0) {
    if (fuse_session_mount (se, argv[2]) == 0) {
      /* One worker, as af-fuse runs by default. */
      rc = fuse_session_loop (se) == 0 ? 0 : 1;
      fuse_session_unmount (se);
    }
    fuse_remove_signal_handlers (se);
  }
  if (se != NULL)
    fuse_session_destroy (se);
  return rc;
}
