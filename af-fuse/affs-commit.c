/* affs-commit.c — applying the delta to the source, dropping it, listing it.
 *
 * Owns: the commit protocol. Each file is written to a temporary in its
 * source directory, synced, recorded on the upper file
 * (trusted.agentfense.commit = identity of the temporary), renamed over the
 * target and the directory synced; only then is the upper entry removed. A
 * crash at any point leaves every source file old or new, and a retry
 * recognises a file it already applied (the recorded identity matches) so
 * it is not mistaken for a conflict. The temporary's name is recorded on
 * the upper file (trusted.agentfense.pending) before it is created, so a
 * retry removes a temporary a crash left in the source. An opaque directory first replaces the
 * source directory with an empty one and loses its mark, so a retry merges
 * the remaining children instead of deleting applied ones.
 *
 * Conflicts: a copied-up file records the lower identity (dev, ino, size,
 * mtime, ctime) it came from; a source that no longer matches changed since.
 * lww applies anyway; reject keeps the delta entry and reports it.
 *
 * Must never: follow a symlink in the source or the delta (all access via
 * affs_open_beneath or *at calls on one name with NOFOLLOW), or remove an
 * upper entry before its change is durable in the source. */
#include "affs-ops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "af-error.h"

static guint64 commit_counter;

AffsChanges *
affs_changes_new (void)
{
  AffsChanges *c = g_new0 (AffsChanges, 1);
  c->added = g_ptr_array_new_with_free_func (g_free);
  c->modified = g_ptr_array_new_with_free_func (g_free);
  c->deleted = g_ptr_array_new_with_free_func (g_free);
  c->conflicts = g_ptr_array_new_with_free_func (g_free);
  return c;
}

void
affs_changes_free (AffsChanges *c)
{
  if (c == NULL)
    return;
  g_ptr_array_unref (c->added);
  g_ptr_array_unref (c->modified);
  g_ptr_array_unref (c->deleted);
  g_ptr_array_unref (c->conflicts);
  g_free (c);
}

/* Names in upper directory @path (everything, whiteouts included). */
static GPtrArray *
upper_names (AfFs *fs, const char *path, int *out_err)
{
  int fd = affs_open_beneath (fs->upper_fd, path, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) {
    *out_err = fd;
    return NULL;
  }
  DIR *d = fdopendir (fd);
  if (d == NULL) {
    *out_err = -errno;
    close (fd);
    return NULL;
  }
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      g_ptr_array_add (names, g_strdup (de->d_name));
  closedir (d);
  return names;
}

static char *
identity (const struct stat *st, gboolean with_ctime)
{
  if (with_ctime)
    return g_strdup_printf ("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT ":%" G_GINT64_FORMAT
                            ":%" G_GINT64_FORMAT ":%ld:%" G_GINT64_FORMAT ":%ld",
                            (guint64)st->st_dev, (guint64)st->st_ino, (gint64)st->st_size,
                            (gint64)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
                            (gint64)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
  return g_strdup_printf ("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT ":%" G_GINT64_FORMAT
                          ":%" G_GINT64_FORMAT ":%ld",
                          (guint64)st->st_dev, (guint64)st->st_ino, (gint64)st->st_size,
                          (gint64)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
}

static char *
get_xattr_str (AfFs *fs, const char *path, const char *name)
{
  int fd = affs_open_beneath (fs->upper_fd, path, O_RDONLY | O_NONBLOCK, 0);
  if (fd < 0)
    return NULL;
  char buf[256];
  ssize_t n = fgetxattr (fd, name, buf, sizeof buf - 1);
  close (fd);
  if (n < 0)
    return NULL;
  return g_strndup (buf, (gsize)n);
}

static int
fsync_dir (int root, const char *path)
{
  int fd = affs_open_beneath (root, path, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0)
    return fd;
  int r = fsync (fd) < 0 ? -errno : 0;
  close (fd);
  return r;
}

/* Write upper @path's content as a new temporary in the source parent and
 * rename it over the target. */
static int
apply_entry (AfFs *fs, const char *path, const struct stat *ust)
{
  const char *name;
  int spfd = affs_open_parent (fs->src_fd, path, &name);
  if (spfd < 0)
    return spfd;
  char tmp[80];
  g_snprintf (tmp, sizeof tmp, ".af-commit-%d-%08x-%" G_GUINT64_FORMAT, getpid (), g_random_int (),
              ++commit_counter);
  int r = 0;
  if (S_ISREG (ust->st_mode)) {
    int src = affs_open_beneath (fs->upper_fd, path, O_RDONLY, 0);
    /* Recorded before the temporary exists: whatever a crash leaves in
     * the source, the retry knows its name (drop_pending). */
    if (src >= 0 && fsetxattr (src, AFFS_XATTR_PENDING (fs), tmp, strlen (tmp), 0) < 0) {
      close (src);
      src = -errno;
    }
    int dst = src < 0
                  ? src
                  : openat (spfd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (src < 0 || dst < 0)
      r = src < 0 ? src : -errno;
    char buf[1 << 16];
    while (r == 0) {
      ssize_t n = copy_file_range (src, NULL, dst, NULL, 1 << 30, 0);
      if (n > 0)
        continue;
      if (n == 0)
        break;
      /* Different filesystems on old kernels: plain copy. */
      ssize_t m;
      while ((m = read (src, buf, sizeof buf)) > 0)
        if (write (dst, buf, (size_t)m) != m) {
          r = -EIO;
          break;
        }
      if (m < 0)
        r = -errno;
      break;
    }
    if (r == 0) {
      (void)fchown (dst, ust->st_uid, ust->st_gid);
      (void)fchmod (dst, ust->st_mode & 07777);
      struct timespec ts[2] = { ust->st_atim, ust->st_mtim };
      (void)futimens (dst, ts);
      if (fsync (dst) < 0)
        r = -errno;
    }
    struct stat tst;
    if (r == 0 && fstat (dst, &tst) == 0) {
      /* Recorded before the rename: a retry after a crash sees its own
       * result in the source and does not take it for a conflict. */
      g_autofree char *id = identity (&tst, FALSE);
      if (fsetxattr (src, AFFS_XATTR_COMMIT (fs), id, strlen (id), 0) < 0)
        r = -errno;
    }
    if (src >= 0)
      close (src);
    if (dst >= 0)
      close (dst);
  } else if (S_ISLNK (ust->st_mode)) {
    const char *uname;
    int upfd = affs_open_parent (fs->upper_fd, path, &uname);
    char target[4097];
    ssize_t n = upfd < 0 ? -1 : readlinkat (upfd, uname, target, sizeof target - 1);
    if (n < 0)
      r = upfd < 0 ? upfd : -errno;
    if (upfd >= 0)
      close (upfd);
    if (r == 0) {
      target[n] = '\0';
      /* Stored verbatim and never followed by us. */
      if (symlinkat (target, spfd, tmp) < 0)
        r = -errno;
    }
  } else if (S_ISFIFO (ust->st_mode) || S_ISSOCK (ust->st_mode)) {
    if (mknodat (spfd, tmp, ust->st_mode & (S_IFMT | 07777), 0) < 0)
      r = -errno;
  } else {
    r = -EPERM;
  }
  if (r == 0) {
    struct stat cur;
    if (fstatat (spfd, name, &cur, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (cur.st_mode))
      r = affs_remove_tree (fs->src_fd, path);
  }
  if (r == 0 && renameat (spfd, tmp, spfd, name) < 0)
    r = -errno;
  if (r < 0)
    (void)unlinkat (spfd, tmp, 0);
  close (spfd);
  if (r == 0) {
    g_autofree char *dir = affs_path_dirname (path);
    r = fsync_dir (fs->src_fd, dir);
  }
  return r;
}

static gboolean
has_writers (AfFs *fs, const char *path)
{
  fuse_ino_t ino = affs_inode_find (fs, path);
  return ino != 0 && affs_inode_writers (fs, ino) > 0;
}

static int
remove_upper (AfFs *fs, const char *path, int flags)
{
  const char *name;
  int pfd = affs_open_parent (fs->upper_fd, path, &name);
  if (pfd < 0)
    return pfd;
  int r = unlinkat (pfd, name, flags) < 0 && errno != ENOENT ? -errno : 0;
  close (pfd);
  return r;
}

static int commit_dir (AfFs *fs, const char *path, AffsChanges *out);

/* A temporary an interrupted commit of @path created in the source (its
 * name was recorded on the upper file first): remove it. Only that exact
 * name, which carries a random part, in @path's source directory. */
static void
drop_pending (AfFs *fs, const char *path)
{
  g_autofree char *pending = get_xattr_str (fs, path, AFFS_XATTR_PENDING (fs));
  if (pending == NULL || !g_str_has_prefix (pending, ".af-commit-") ||
      strchr (pending, '/') != NULL)
    return;
  const char *name;
  int spfd = affs_open_parent (fs->src_fd, path, &name);
  if (spfd >= 0) {
    (void)unlinkat (spfd, pending, 0);
    close (spfd);
  }
}

static int
commit_file (AfFs *fs, const char *path, const struct stat *ust, AffsChanges *out)
{
  if (S_ISREG (ust->st_mode))
    drop_pending (fs, path);
  struct stat sst;
  gboolean src_exists = affs_lstat_beneath (fs->src_fd, path, &sst) == 0;
  g_autofree char *origin = get_xattr_str (fs, path, AFFS_XATTR_ORIGIN (fs));
  g_autofree char *applied = get_xattr_str (fs, path, AFFS_XATTR_COMMIT (fs));
  g_autofree char *cur = src_exists ? identity (&sst, TRUE) : NULL;
  g_autofree char *cur_short = src_exists ? identity (&sst, FALSE) : NULL;
  gboolean already = applied != NULL && g_strcmp0 (applied, cur_short) == 0;
  if (!already && S_ISREG (ust->st_mode)) {
    /* Changed since copy-up, or appeared although we created it. */
    gboolean conflict = origin != NULL ? g_strcmp0 (origin, cur) != 0 : src_exists;
    if (conflict && fs->conflict == AFFS_CONFLICT_REJECT) {
      g_ptr_array_add (out->conflicts, g_strdup (path));
      return 0;
    }
  }
  if (!already) {
    int r = apply_entry (fs, path, ust);
    if (r < 0)
      return r;
  }
  g_ptr_array_add (src_exists || origin != NULL ? out->modified : out->added, g_strdup (path));
  if (S_ISREG (ust->st_mode) && has_writers (fs, path)) {
    /* Still open for writing: later writes must not be lost, so the upper
     * file stays, now based on what was just committed. */
    struct stat nst;
    int fd = affs_open_beneath (fs->upper_fd, path, O_RDONLY, 0);
    if (fd >= 0 && affs_lstat_beneath (fs->src_fd, path, &nst) == 0) {
      g_autofree char *id = identity (&nst, TRUE);
      (void)fsetxattr (fd, AFFS_XATTR_ORIGIN (fs), id, strlen (id), 0);
      (void)fremovexattr (fd, AFFS_XATTR_COMMIT (fs));
      (void)fremovexattr (fd, AFFS_XATTR_PENDING (fs));
    }
    if (fd >= 0)
      close (fd);
    return 0;
  }
  return remove_upper (fs, path, 0);
}

static int
commit_subdir (AfFs *fs, const char *path, const struct stat *ust, AffsChanges *out)
{
  struct stat sst;
  int r = affs_lstat_beneath (fs->src_fd, path, &sst);
  gboolean opaque = affs_upper_is_opaque (fs, path);
  gboolean src_dir = r == 0 && S_ISDIR (sst.st_mode);
  if (r == 0 && (opaque || !src_dir)) {
    r = affs_remove_tree (fs->src_fd, path);
    if (r < 0)
      return r;
    src_dir = FALSE;
  }
  if (!src_dir) {
    const char *name;
    int spfd = affs_open_parent (fs->src_fd, path, &name);
    if (spfd < 0)
      return spfd;
    r = mkdirat (spfd, name, ust->st_mode & 07777) < 0 && errno != EEXIST ? -errno : 0;
    close (spfd);
    if (r < 0)
      return r;
    g_ptr_array_add (out->added, g_strdup (path));
  }
  if (opaque) {
    /* The source now holds an empty directory: from here on a retry must
     * merge, not replace. */
    int fd = affs_open_beneath (fs->upper_fd, path, O_RDONLY | O_DIRECTORY, 0);
    if (fd >= 0) {
      (void)fremovexattr (fd, AFFS_XATTR_OPAQUE (fs));
      (void)fsync (fd);
      close (fd);
    }
  }
  r = commit_dir (fs, path, out);
  if (r < 0)
    return r;
  /* Kept when something in it stays in the delta (open files, conflicts). */
  (void)remove_upper (fs, path, AT_REMOVEDIR);
  return 0;
}

static int
commit_dir (AfFs *fs, const char *path, AffsChanges *out)
{
  int err = 0;
  g_autoptr (GPtrArray) names = upper_names (fs, path, &err);
  if (names == NULL)
    return err;
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *child = affs_path_join (path, names->pdata[i]);
    struct stat ust;
    int r = affs_lstat_beneath (fs->upper_fd, child, &ust);
    if (r < 0)
      return r;
    if (affs_is_whiteout (&ust)) {
      r = affs_remove_tree (fs->src_fd, child);
      if (r == 0) {
        g_autofree char *dir = affs_path_dirname (child);
        r = fsync_dir (fs->src_fd, dir);
      }
      if (r == 0)
        r = remove_upper (fs, child, 0);
      if (r == 0)
        g_ptr_array_add (out->deleted, g_strdup (child));
    } else if (S_ISDIR (ust.st_mode)) {
      r = commit_subdir (fs, child, &ust, out);
    } else {
      r = commit_file (fs, child, &ust, out);
    }
    if (r < 0)
      return r;
  }
  return 0;
}

gboolean
affs_commit (AfFs *fs, AffsChanges *out, GError **error)
{
  affs_handles_materialize (fs, 0); /* open files keep what they opened */
  g_mutex_lock (&fs->delta_lock);
  int r = commit_dir (fs, "", out);
  /* Before the lock goes: a create must not trust a cached upper
   * directory the commit removed (affs_upper_mkdirs). */
  affs_caches_clear (fs);
  g_mutex_unlock (&fs->delta_lock);
  /* Inode numbers and layers changed under the kernel's caches. */
  affs_layers_changed (fs);
  affs_invalidate_all (fs);
  if (r < 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "commit failed: %s", g_strerror (-r));
    return FALSE;
  }
  return TRUE;
}

gboolean
affs_discard (AfFs *fs, GError **error)
{
  affs_handles_materialize (fs, 0);
  g_mutex_lock (&fs->delta_lock);
  int r = affs_remove_tree (fs->upper_fd, "");
  affs_caches_clear (fs); /* under the lock, as in affs_commit */
  g_mutex_unlock (&fs->delta_lock);
  affs_layers_changed (fs);
  affs_invalidate_all (fs);
  if (r < 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "discard failed: %s", g_strerror (-r));
    return FALSE;
  }
  return TRUE;
}

static int
changes_dir (AfFs *fs, const char *path, AffsChanges *out)
{
  int err = 0;
  g_autoptr (GPtrArray) names = upper_names (fs, path, &err);
  if (names == NULL)
    return err;
  gboolean opaque = path[0] != '\0' && affs_upper_is_opaque (fs, path);
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *child = affs_path_join (path, names->pdata[i]);
    struct stat ust, lst;
    if (affs_lstat_beneath (fs->upper_fd, child, &ust) < 0)
      continue;
    gboolean lower = affs_lstat_beneath (fs->src_fd, child, &lst) == 0;
    if (affs_is_whiteout (&ust)) {
      if (lower)
        g_ptr_array_add (out->deleted, g_strdup (child));
    } else if (S_ISDIR (ust.st_mode)) {
      if (!lower)
        g_ptr_array_add (out->added, g_strdup (child));
      int r = changes_dir (fs, child, out);
      if (r < 0)
        return r;
    } else {
      g_ptr_array_add (lower ? out->modified : out->added, g_strdup (child));
    }
  }
  if (opaque) {
    /* What the opaque directory hides is deleted. */
    g_autoptr (GHashTable) in_upper = g_hash_table_new (g_str_hash, g_str_equal);
    for (guint i = 0; i < names->len; i++)
      g_hash_table_add (in_upper, names->pdata[i]);
    int fd = affs_open_beneath (fs->src_fd, path, O_RDONLY | O_DIRECTORY, 0);
    DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
    if (d == NULL && fd >= 0)
      close (fd);
    struct dirent *de;
    while (d != NULL && (de = readdir (d)) != NULL)
      if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0 &&
          !g_hash_table_contains (in_upper, de->d_name))
        g_ptr_array_add (out->deleted, affs_path_join (path, de->d_name));
    if (d != NULL)
      closedir (d);
  }
  return 0;
}

gboolean
affs_get_changes (AfFs *fs, AffsChanges *out, GError **error)
{
  g_mutex_lock (&fs->delta_lock);
  int r = changes_dir (fs, "", out);
  g_mutex_unlock (&fs->delta_lock);
  if (r < 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot read the delta: %s", g_strerror (-r));
    return FALSE;
  }
  return TRUE;
}
