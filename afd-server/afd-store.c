/* afd-store.c — codebase content on disk, reached only through dir fds with
 * O_NOFOLLOW. Never logs; never touches the database. */
#include "afd-store.h"
#include "afd-sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct _AfdStore {
  int codebases_fd;
  int tmp_fd;
  gboolean sync;
};

struct _AfdUpload {
  AfdStore *store;
  int fd;
  char *tmp_name; /* under store->tmp_fd; NULL once renamed away */
  AfdSha256 *sha;
  gint64 size;
};

static gboolean set_errno_error (GError **error, int err, const char *fmt, ...)
    G_GNUC_PRINTF (3, 4);

static gboolean
set_errno_error (GError **error, int err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  int code;
  switch (err) {
  case ENOENT:
    code = AF_ERROR_NOT_FOUND;
    break;
  case ENOSPC:
  case EDQUOT:
  case EMFILE:
  case ENFILE:
    code = AF_ERROR_RESOURCE_EXHAUSTED;
    break;
  default:
    code = AF_ERROR_INTERNAL;
  }
  g_set_error (error, AF_ERROR, code, "%s: %s", what, g_strerror (err));
  return FALSE;
}

gint64
afd_store_stat_mtime_us (const struct stat *st)
{
  return (gint64)st->st_mtim.tv_sec * G_USEC_PER_SEC + st->st_mtim.tv_nsec / 1000;
}

static int
open_or_make_dir (const char *path, GError **error)
{
  if (!af_dirs_ensure (path, 0700, error))
    return -1;
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    set_errno_error (error, errno, "cannot open %s", path);
  return fd;
}

AfdStore *
afd_store_open (const char *state_dir, GError **error)
{
  g_autofree char *cb = g_build_filename (state_dir, "codebases", NULL);
  g_autofree char *tmp = g_build_filename (state_dir, "tmp", NULL);
  AfdStore *store = g_new0 (AfdStore, 1);
  store->codebases_fd = store->tmp_fd = -1;
  store->sync = TRUE;
  if ((store->codebases_fd = open_or_make_dir (cb, error)) < 0 ||
      (store->tmp_fd = open_or_make_dir (tmp, error)) < 0) {
    afd_store_free (store);
    return NULL;
  }
  return store;
}

void
afd_store_free (AfdStore *store)
{
  if (store == NULL)
    return;
  if (store->codebases_fd >= 0)
    close (store->codebases_fd);
  if (store->tmp_fd >= 0)
    close (store->tmp_fd);
  g_free (store);
}

void
afd_store_set_sync (AfdStore *store, gboolean sync)
{
  store->sync = sync;
}

int
afd_store_codebases_fd (AfdStore *store)
{
  return store->codebases_fd;
}

int
afd_store_tmp_fd (AfdStore *store)
{
  return store->tmp_fd;
}

gboolean
afd_store_create_codebase (AfdStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (af_id_is_valid (AF_ID_CODEBASE, id), FALSE);
  if (mkdirat (store->codebases_fd, id, 0755) != 0 && errno != EEXIST)
    return set_errno_error (error, errno, "cannot create the directory of codebase %s", id);
  return TRUE;
}

int
afd_store_open_codebase (AfdStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (af_id_is_valid (AF_ID_CODEBASE, id), -1);
  int fd = openat (store->codebases_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    set_errno_error (error, errno, "codebase %s has no directory", id);
  return fd;
}

static gboolean
remove_children (int dirfd, int depth, GError **error)
{
  if (depth > AFD_STORE_MAX_DEPTH + 8) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INTERNAL, "directory tree too deep to remove");
    return FALSE;
  }
  int dup_fd = dup (dirfd);
  if (dup_fd < 0)
    return set_errno_error (error, errno, "dup");
  DIR *dir = fdopendir (dup_fd);
  if (dir == NULL) {
    close (dup_fd);
    return set_errno_error (error, errno, "fdopendir");
  }
  gboolean ok = TRUE;
  struct dirent *de;
  while (ok && (errno = 0, de = readdir (dir)) != NULL) {
    if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
      continue;
    if (unlinkat (dirfd, de->d_name, 0) == 0)
      continue;
    if (errno != EISDIR && errno != EPERM) {
      if (errno != ENOENT)
        ok = set_errno_error (error, errno, "cannot remove %s", de->d_name);
      continue;
    }
    int sub = openat (dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
      ok = set_errno_error (error, errno, "cannot open %s", de->d_name);
      continue;
    }
    ok = remove_children (sub, depth + 1, error);
    close (sub);
    if (ok && unlinkat (dirfd, de->d_name, AT_REMOVEDIR) != 0 && errno != ENOENT)
      ok = set_errno_error (error, errno, "cannot remove directory %s", de->d_name);
  }
  closedir (dir);
  return ok;
}

gboolean
afd_store_remove_tree_at (int dirfd, const char *name, GError **error)
{
  if (unlinkat (dirfd, name, 0) == 0 || errno == ENOENT)
    return TRUE;
  if (errno != EISDIR && errno != EPERM)
    return set_errno_error (error, errno, "cannot remove %s", name);
  int sub = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0)
    return set_errno_error (error, errno, "cannot open %s", name);
  gboolean ok = remove_children (sub, 0, error);
  close (sub);
  if (ok && unlinkat (dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
    return set_errno_error (error, errno, "cannot remove directory %s", name);
  return ok;
}

gboolean
afd_store_remove_codebase (AfdStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (af_id_is_valid (AF_ID_CODEBASE, id), FALSE);
  g_autofree char *trash = g_strdup_printf (".trash-%s", id);
  if (renameat (store->codebases_fd, id, store->codebases_fd, trash) != 0) {
    if (errno == ENOENT)
      return TRUE;
    return set_errno_error (error, errno, "cannot move codebase %s away", id);
  }
  return afd_store_remove_tree_at (store->codebases_fd, trash, error);
}

/* Walk the components of @relpath under @root_fd; returns an fd on the last
 * one as a directory. */
int
afd_store_open_dir (int root_fd, const char *relpath, gboolean create, GError **error)
{
  int fd = dup (root_fd);
  if (fd < 0) {
    set_errno_error (error, errno, "dup");
    return -1;
  }
  if (*relpath == '\0')
    return fd;
  g_auto (GStrv) parts = g_strsplit (relpath, "/", -1);
  g_autoptr (GString) walked = g_string_new (NULL);
  for (gsize i = 0; parts[i]; i++) {
    g_string_append_printf (walked, "%s%s", i ? "/" : "", parts[i]);
    if (create && mkdirat (fd, parts[i], 0755) != 0 && errno != EEXIST) {
      set_errno_error (error, errno, "cannot create directory '%s'", walked->str);
      close (fd);
      return -1;
    }
    int next = openat (fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    close (fd);
    if (next < 0) {
      if (err == ENOTDIR || err == ELOOP)
        g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "'%s' is not a directory",
                     walked->str);
      else
        set_errno_error (error, err, "directory '%s'", walked->str);
      return -1;
    }
    fd = next;
  }
  return fd;
}

static void
split_parent (const char *relpath, char **out_parent, const char **out_leaf)
{
  const char *slash = strrchr (relpath, '/');
  *out_parent = slash ? g_strndup (relpath, (gsize)(slash - relpath)) : g_strdup ("");
  *out_leaf = slash ? slash + 1 : relpath;
}

int
afd_store_open_file (int root_fd, const char *relpath, GError **error)
{
  g_return_val_if_fail (*relpath != '\0', -1);
  g_autofree char *parent = NULL;
  const char *leaf;
  split_parent (relpath, &parent, &leaf);
  g_autoptr (GError) local = NULL;
  int dirfd = afd_store_open_dir (root_fd, parent, FALSE, &local);
  if (dirfd < 0) {
    /* A path through a file or a missing directory: no such file. */
    g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND, "no file '%s'", relpath);
    return -1;
  }
  int fd = openat (dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  int err = errno;
  close (dirfd);
  if (fd < 0) {
    if (err == ENOENT || err == ELOOP)
      g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND, "no file '%s'", relpath);
    else
      set_errno_error (error, err, "cannot open '%s'", relpath);
    return -1;
  }
  struct stat st;
  if (fstat (fd, &st) != 0) {
    set_errno_error (error, errno, "stat '%s'", relpath);
    close (fd);
    return -1;
  }
  if (S_ISDIR (st.st_mode)) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "'%s' is a directory", relpath);
    close (fd);
    return -1;
  }
  if (!S_ISREG (st.st_mode)) {
    g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND, "no file '%s'", relpath);
    close (fd);
    return -1;
  }
  /* O_NONBLOCK only guarded the open against FIFOs. */
  fcntl (fd, F_SETFL, 0);
  return fd;
}

char *
afd_store_hash_fd (int fd, GError **error)
{
  g_autoptr (AfdSha256) sha = afd_sha256_new ();
  g_autofree guchar *buf = g_malloc (256 * 1024);
  off_t off = 0;
  for (;;) {
    ssize_t n = pread (fd, buf, 256 * 1024, off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      set_errno_error (error, errno, "read");
      return NULL;
    }
    if (n == 0)
      break;
    afd_sha256_update (sha, buf, (gsize)n);
    off += n;
  }
  return afd_sha256_finish_hex (sha);
}

AfdUpload *
afd_upload_begin (AfdStore *store, GError **error)
{
  g_autoptr (AfdUpload) up = g_new0 (AfdUpload, 1);
  up->store = store;
  up->fd = -1;
  for (int attempt = 0; attempt < 8 && up->fd < 0; attempt++) {
    g_free (up->tmp_name);
    up->tmp_name = g_strdup_printf ("upload-%08x%08x.part", g_random_int (), g_random_int ());
    up->fd = openat (store->tmp_fd, up->tmp_name,
                     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (up->fd < 0 && errno != EEXIST) {
      set_errno_error (error, errno, "cannot create a temporary file");
      g_clear_pointer (&up->tmp_name, g_free);
      return NULL;
    }
  }
  if (up->fd < 0) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INTERNAL, "no free temporary file name");
    g_clear_pointer (&up->tmp_name, g_free);
    return NULL;
  }
  up->sha = afd_sha256_new ();
  return g_steal_pointer (&up);
}

gboolean
afd_upload_write (AfdUpload *up, const void *data, gsize len, GError **error)
{
  const guint8 *p = data;
  gsize left = len;
  while (left > 0) {
    ssize_t n = write (up->fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return set_errno_error (error, errno, "cannot write the upload");
    p += n;
    left -= (gsize)n;
  }
  afd_sha256_update (up->sha, data, len);
  up->size += (gint64)len;
  return TRUE;
}

gint64
afd_upload_size (AfdUpload *up)
{
  return up->size;
}

gboolean
afd_upload_commit (AfdUpload *up, int root_fd, const char *relpath, char **out_sha256,
                   gint64 *out_mtime_us, GError **error)
{
  g_return_val_if_fail (up->tmp_name != NULL && *relpath != '\0', FALSE);
  if (up->store->sync && fsync (up->fd) != 0)
    return set_errno_error (error, errno, "cannot sync the upload");
  struct stat st;
  if (fstat (up->fd, &st) != 0)
    return set_errno_error (error, errno, "stat");

  g_autofree char *parent = NULL;
  const char *leaf;
  split_parent (relpath, &parent, &leaf);
  int dirfd = afd_store_open_dir (root_fd, parent, TRUE, error);
  if (dirfd < 0)
    return FALSE;

  /* Never replace a directory with a file (rename would fail for a
   * non-empty one, but an empty one would silently go). */
  struct stat target;
  if (fstatat (dirfd, leaf, &target, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (target.st_mode)) {
    close (dirfd);
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "'%s' is a directory", relpath);
    return FALSE;
  }
  if (renameat (up->store->tmp_fd, up->tmp_name, dirfd, leaf) != 0) {
    int err = errno;
    close (dirfd);
    return set_errno_error (error, err, "cannot move the upload to '%s'", relpath);
  }
  g_clear_pointer (&up->tmp_name, g_free);
  /* The rename is durable only once the directory is. */
  if (up->store->sync)
    fsync (dirfd);
  close (dirfd);

  *out_sha256 = afd_sha256_finish_hex (up->sha);
  g_clear_pointer (&up->sha, afd_sha256_free);
  *out_mtime_us = afd_store_stat_mtime_us (&st);
  return TRUE;
}

void
afd_upload_free (AfdUpload *up)
{
  if (up == NULL)
    return;
  if (up->fd >= 0)
    close (up->fd);
  if (up->tmp_name != NULL)
    unlinkat (up->store->tmp_fd, up->tmp_name, 0);
  g_free (up->tmp_name);
  afd_sha256_free (up->sha);
  g_free (up);
}
