/* affs-delta.c — changes to the upper layer: copy-up, whiteouts, opaque
 * directories, new entries.
 *
 * Owns: the on-disk form of the delta. Upper mirrors the changed part of
 * the tree; a deleted lower entry is a 0:0 character device (a name the
 * sandbox can never create, since device nodes are refused, and one that
 * works for any name up to 255 bytes); a directory that replaces its lower
 * twin carries the trusted.agentfense.opaque xattr; a copied-up file records
 * the lower file's identity in trusted.agentfense.origin for conflict
 * detection at commit. trusted.* cannot be read or set through the view.
 *
 * Every function here expects fs->delta_lock held.
 *
 * Must never: touch the source layer except to read it, or follow a symlink. */
#include "affs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static guint64 tmp_counter;

static void
copy_times (int parentfd, const char *name, const struct stat *st)
{
  struct timespec ts[2] = { st->st_atim, st->st_mtim };
  (void)utimensat (parentfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

static void
copy_owner (int parentfd, const char *name, const struct stat *st)
{
  (void)fchownat (parentfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
}

/* Copy the user.* xattrs of @src to @dst (both real fds). Others stay
 * behind: security.* and trusted.* are not the sandbox's to carry, nor are
 * our own marks (a commit record on a source file, without root). */
static void
copy_user_xattrs (AfFs *fs, int src, int dst)
{
  char names[8192];
  ssize_t len = flistxattr (src, names, sizeof names);
  for (ssize_t off = 0; len > 0 && off < len; off += (ssize_t)strlen (names + off) + 1) {
    const char *n = names + off;
    if (!g_str_has_prefix (n, "user.") || affs_xattr_is_mark (fs, n))
      continue;
    char value[65536];
    ssize_t vlen = fgetxattr (src, n, value, sizeof value);
    if (vlen >= 0)
      (void)fsetxattr (dst, n, value, (size_t)vlen, 0);
  }
}

static int
copy_data (int src, int dst)
{
  for (;;) {
    ssize_t n = copy_file_range (src, NULL, dst, NULL, 1 << 30, 0);
    if (n == 0)
      return 0;
    if (n > 0)
      continue;
    if (errno == EINTR)
      continue;
    if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
      return -errno;
    break;
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read (src, buf, sizeof buf);
    if (n == 0)
      return 0;
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write (dst, buf + done, (size_t)(n - done));
      if (w < 0) {
        if (errno == EINTR)
          continue;
        return -errno;
      }
      done += w;
    }
  }
}

int
affs_upper_mkdirs (AfFs *fs, const char *path)
{
  if (path[0] == '\0')
    return 0;
  /* Known to be there (the cache is cleared by every change that could
   * remove it, all under delta_lock, which the caller holds). */
  int cached;
  if (affs_cache_get (fs, fs->upper_dirs, path, &cached) && cached)
    return 0;
  struct stat st;
  int r = affs_lstat_beneath (fs->upper_fd, path, &st);
  if (r == 0)
    return S_ISDIR (st.st_mode) ? 0 : -ENOTDIR;
  g_autofree char *parent = affs_path_dirname (path);
  r = affs_upper_mkdirs (fs, parent);
  if (r < 0)
    return r;
  struct stat lst;
  r = affs_lstat_beneath (fs->src_fd, path, &lst);
  if (r < 0)
    return r;
  if (!S_ISDIR (lst.st_mode))
    return -ENOTDIR;
  const char *name;
  int pfd = affs_open_parent (fs->upper_fd, path, &name);
  if (pfd < 0)
    return pfd;
  r = 0;
  if (mkdirat (pfd, name, 0700) < 0 && errno != EEXIST)
    r = -errno;
  affs_caches_clear (fs); /* the upper layer gained a directory */
  if (r == 0) {
    copy_owner (pfd, name, &lst);
    (void)fchmodat (pfd, name, lst.st_mode & 07777, 0);
    copy_times (pfd, name, &lst);
  }
  close (pfd);
  return r;
}

static int
copy_up_file (AfFs *fs, const char *path, const struct stat *lst, int upfd, const char *name)
{
  int src = affs_open_beneath (fs->src_fd, path, O_RDONLY | O_NONBLOCK, 0);
  if (src < 0)
    return src;
  char tmpname[64];
  g_snprintf (tmpname, sizeof tmpname, "cu-%d-%" G_GUINT64_FORMAT, getpid (), ++tmp_counter);
  int dst = openat (fs->work_fd, tmpname, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (dst < 0) {
    int e = -errno;
    close (src);
    return e;
  }
  int r = copy_data (src, dst);
  if (r == 0) {
    (void)fchown (dst, lst->st_uid, lst->st_gid);
    (void)fchmod (dst, lst->st_mode & 07777);
    copy_user_xattrs (fs, src, dst);
    g_autofree char *origin =
        g_strdup_printf ("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT ":%" G_GINT64_FORMAT
                         ":%" G_GINT64_FORMAT ":%ld:%" G_GINT64_FORMAT ":%ld",
                         (guint64)lst->st_dev, (guint64)lst->st_ino, (gint64)lst->st_size,
                         (gint64)lst->st_mtim.tv_sec, lst->st_mtim.tv_nsec,
                         (gint64)lst->st_ctim.tv_sec, lst->st_ctim.tv_nsec);
    if (fsetxattr (dst, AFFS_XATTR_ORIGIN (fs), origin, strlen (origin), 0) < 0)
      r = -errno;
    struct timespec ts[2] = { lst->st_atim, lst->st_mtim };
    (void)futimens (dst, ts);
  }
  close (src);
  close (dst);
  if (r == 0 && renameat (fs->work_fd, tmpname, upfd, name) < 0)
    r = -errno;
  if (r < 0)
    (void)unlinkat (fs->work_fd, tmpname, 0);
  return r;
}

int
affs_copy_up (AfFs *fs, const char *path, const AffsNode *node)
{
  if (node->layer == AFFS_LAYER_UPPER)
    return 0;
  const struct stat *lst = &node->st;
  if (S_ISDIR (lst->st_mode))
    return affs_upper_mkdirs (fs, path);
  if (S_ISCHR (lst->st_mode) || S_ISBLK (lst->st_mode))
    return -EPERM;
  g_autofree char *parent = affs_path_dirname (path);
  int r = affs_upper_mkdirs (fs, parent);
  if (r < 0)
    return r;
  const char *name;
  int upfd = affs_open_parent (fs->upper_fd, path, &name);
  if (upfd < 0)
    return upfd;
  if (S_ISREG (lst->st_mode)) {
    r = copy_up_file (fs, path, lst, upfd, name);
    if (r == 0)
      affs_layers_changed (fs); /* read-only handles on the lower copy move up */
  } else if (S_ISLNK (lst->st_mode)) {
    const char *lname;
    int lpfd = affs_open_parent (fs->src_fd, path, &lname);
    char target[4097];
    ssize_t n = lpfd < 0 ? -1 : readlinkat (lpfd, lname, target, sizeof target - 1);
    r = n < 0 ? (lpfd < 0 ? lpfd : -errno) : 0;
    if (lpfd >= 0)
      close (lpfd);
    if (r == 0) {
      target[n] = '\0';
      if (symlinkat (target, upfd, name) < 0)
        r = -errno;
    }
  } else {
    if (mknodat (upfd, name, lst->st_mode & (S_IFMT | 07777), 0) < 0)
      r = -errno;
  }
  if (r == 0 && !S_ISREG (lst->st_mode)) {
    copy_owner (upfd, name, lst);
    copy_times (upfd, name, lst);
  }
  close (upfd);
  return r;
}

int
affs_set_opaque (AfFs *fs, int parentfd, const char *name)
{
  int fd = openat (parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  int r = fsetxattr (fd, AFFS_XATTR_OPAQUE (fs), "y", 1, 0) < 0 ? -errno : 0;
  close (fd);
  return r;
}

int
affs_clear_whiteouts (AfFs *fs, const char *path)
{
  int fd = affs_open_beneath (fs->upper_fd, path, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0)
    return fd == -ENOENT ? 0 : fd;
  DIR *d = fdopendir (fd);
  if (d == NULL) {
    close (fd);
    return -ENOMEM;
  }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (de->d_type == DT_CHR || de->d_type == DT_UNKNOWN)
      g_ptr_array_add (names, g_strdup (de->d_name));
  int r = 0;
  for (guint i = 0; i < names->len; i++) {
    struct stat st;
    if (fstatat (dirfd (d), names->pdata[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        affs_is_whiteout (&st) && unlinkat (dirfd (d), names->pdata[i], 0) < 0)
      r = -errno;
  }
  closedir (d);
  return r;
}

int
affs_make_whiteout (AfFs *fs, const char *path)
{
  g_autofree char *parent = affs_path_dirname (path);
  int r = affs_upper_mkdirs (fs, parent);
  if (r < 0)
    return r;
  const char *name;
  int pfd = affs_open_parent (fs->upper_fd, path, &name);
  if (pfd < 0)
    return pfd;
  r = mknodat (pfd, name, S_IFCHR | 0000, makedev (0, 0)) < 0 ? -errno : 0;
  close (pfd);
  return r;
}

int
affs_delete (AfFs *fs, const char *path, const AffsNode *node)
{
  if (node->layer == AFFS_LAYER_UPPER) {
    const char *name;
    if (S_ISDIR (node->st.st_mode)) {
      int r = affs_clear_whiteouts (fs, path);
      if (r < 0)
        return r;
    }
    int pfd = affs_open_parent (fs->upper_fd, path, &name);
    if (pfd < 0)
      return pfd;
    int r = unlinkat (pfd, name, S_ISDIR (node->st.st_mode) ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
    close (pfd);
    if (r < 0)
      return r;
  }
  if (node->has_lower)
    return affs_make_whiteout (fs, path);
  return 0;
}

int
affs_prepare_create (AfFs *fs, const char *path, gboolean *out_was_whiteout)
{
  *out_was_whiteout = FALSE;
  g_autofree char *parent = affs_path_dirname (path);
  int r = affs_upper_mkdirs (fs, parent);
  if (r < 0)
    return r;
  struct stat st;
  if (affs_lstat_beneath (fs->upper_fd, path, &st) == 0 && affs_is_whiteout (&st)) {
    const char *name;
    int pfd = affs_open_parent (fs->upper_fd, path, &name);
    if (pfd < 0)
      return pfd;
    r = unlinkat (pfd, name, 0) < 0 ? -errno : 0;
    close (pfd);
    *out_was_whiteout = r == 0;
  }
  return r;
}

void
affs_chown_new (int parentfd, const char *name, fuse_req_t req)
{
  const struct fuse_ctx *ctx = fuse_req_ctx (req);
  (void)fchownat (parentfd, name, ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW);
}

int
affs_copy_up_tree (AfFs *fs, const char *path)
{
  AffsNode node;
  int r = affs_resolve (fs, path, &node);
  if (r < 0)
    return r;
  if (!S_ISDIR (node.st.st_mode))
    return affs_copy_up (fs, path, &node);
  if (node.layer == AFFS_LAYER_UPPER && (node.opaque || !node.has_lower))
    return 0; /* already independent of lower */
  r = affs_upper_mkdirs (fs, path);
  if (r < 0)
    return r;
  int err = 0;
  g_autoptr (GArray) list = affs_list_merged (fs, path, &err);
  if (list == NULL)
    return err;
  for (guint i = 0; i < list->len; i++) {
    g_autofree char *child = affs_path_join (path, g_array_index (list, AffsDirent, i).name);
    r = affs_copy_up_tree (fs, child);
    if (r < 0)
      return r;
  }
  const char *name;
  int pfd = affs_open_parent (fs->upper_fd, path, &name);
  if (pfd < 0)
    return pfd;
  r = affs_set_opaque (fs, pfd, name);
  close (pfd);
  if (r == 0)
    r = affs_clear_whiteouts (fs, path);
  affs_caches_clear (fs);
  return r;
}

int
affs_remove_tree (int root, const char *path)
{
  int fd = affs_open_beneath (root, path, O_RDONLY | O_DIRECTORY, 0);
  if (fd >= 0) {
    DIR *d = fdopendir (fd);
    if (d == NULL) {
      close (fd);
      return -ENOMEM;
    }
    g_autoptr (GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
    struct dirent *de;
    int r = 0;
    while ((de = readdir (d)) != NULL) {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (unlinkat (dirfd (d), de->d_name, 0) == 0)
        continue;
      if (errno == EISDIR || errno == EPERM)
        g_ptr_array_add (dirs, affs_path_join (path, de->d_name));
      else if (errno != ENOENT)
        r = -errno;
    }
    closedir (d);
    for (guint i = 0; r == 0 && i < dirs->len; i++)
      r = affs_remove_tree (root, dirs->pdata[i]);
    if (r < 0)
      return r;
  } else if (fd != -ENOTDIR && fd != -ELOOP) {
    return fd == -ENOENT ? 0 : fd;
  }
  if (path[0] == '\0')
    return 0;
  const char *name;
  int pfd = affs_open_parent (root, path, &name);
  if (pfd < 0)
    return pfd == -ENOENT ? 0 : pfd;
  int r = 0;
  if (unlinkat (pfd, name, fd >= 0 ? AT_REMOVEDIR : 0) < 0 && errno != ENOENT)
    r = -errno;
  close (pfd);
  return r;
}
