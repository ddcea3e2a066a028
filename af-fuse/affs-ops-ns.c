/* affs-ops-ns.c — FUSE operations that change the namespace: mknod, mkdir,
 * symlink, link, unlink, rmdir, rename.
 *
 * A new name must decide write, whatever is there now (a none name fails
 * with EACCES whether or not it exists: no existence oracle). A rename or a
 * link needs write at both ends, and for a directory at every entry below
 * it at both ends, so no content changes level by moving. All upper changes
 * run under fs->delta_lock.
 *
 * Must never: create a device node, act on a name the sandbox cannot see. */
#include "affs-ops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

/* The checks every creation shares: @name in @parent may be created as
 * @type. Returns 0 with @t filled, or -errno (already counted). */
static int
check_create (AfFs *fs, fuse_ino_t parent, const char *name, mode_t type, AffsOp op, AffsTarget *t)
{
  int r = affs_child (fs, parent, name, op, t);
  if (r < 0)
    return r;
  t->level = affs_level_now (fs, t->path, t->exists ? t->node.st.st_mode : type, &t->rule);
  if (t->level != AFFS_WRITE)
    return affs_deny (fs, op, t->path, t->rule, -EACCES);
  if (t->exists)
    return -EEXIST;
  return 0;
}

/* Create the entry in upper (delta_lock held). */
static int
make_entry (fuse_req_t req, AfFs *fs, const char *path, mode_t mode, dev_t rdev, const char *link)
{
  AffsNode node;
  if (affs_resolve (fs, path, &node) == 0)
    return -EEXIST;
  gboolean was_whiteout;
  int r = affs_prepare_create (fs, path, &was_whiteout);
  if (r < 0)
    return r;
  const char *name;
  int pfd = affs_upper_parent (fs, path, &name);
  if (pfd < 0)
    return pfd;
  mode_t perm = mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID);
  if (link != NULL)
    r = symlinkat (link, pfd, name);
  else if (S_ISDIR (mode))
    r = mkdirat (pfd, name, perm);
  else
    r = mknodat (pfd, name, (mode & S_IFMT) | perm, rdev);
  r = r < 0 ? -errno : 0;
  if (r == 0) {
    affs_chown_new (pfd, name, req);
    /* A new directory never shows a lower twin: mark it opaque even when
     * there is none today, so a later rename or commit cannot merge one. */
    if (S_ISDIR (mode))
      r = affs_set_opaque (fs, pfd, name);
  } else if (was_whiteout) {
    (void)mknodat (pfd, name, S_IFCHR, 0);
  }
  close (pfd);
  return r;
}

static void
create_common (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev,
               const char *link, AffsOp op)
{
  AfFs *fs = affs_from_req (req);
  g_auto (AffsTarget) t = { 0 };
  int r = check_create (fs, parent, name, mode & S_IFMT, op, &t);
  if (r == 0 && (S_ISCHR (mode) || S_ISBLK (mode)))
    r = affs_deny (fs, op, t.path, t.rule, -EPERM);
  if (r == 0 && link != NULL && strlen (link) >= 4096)
    r = -ENAMETOOLONG;
  if (r == 0) {
    g_mutex_lock (&fs->delta_lock);
    r = make_entry (req, fs, t.path, mode, rdev, link);
    if (r == 0)
      r = affs_resolve (fs, t.path, &t.node);
    g_mutex_unlock (&fs->delta_lock);
    affs_caches_clear (fs);
  }
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  affs_count (fs, op, TRUE);
  affs_reply_entry (req, fs, t.path, &t.node);
}

static void
op_mknod (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
  create_common (req, parent, name, mode, rdev, NULL, AFFS_OP_MKNOD);
}

static void
op_mkdir (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
  create_common (req, parent, name, S_IFDIR | (mode & 07777), 0, NULL, AFFS_OP_MKDIR);
}

static void
op_symlink (fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
  create_common (req, parent, name, S_IFLNK | 0777, 0, link, AFFS_OP_SYMLINK);
}

static void
op_link (fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
  AfFs *fs = affs_from_req (req);
  g_auto (AffsTarget) src = { 0 };
  g_auto (AffsTarget) dst = { 0 };
  int r = affs_target (fs, ino, AFFS_OP_LINK, &src);
  if (r == 0 && src.level != AFFS_WRITE)
    r = affs_deny (fs, AFFS_OP_LINK, src.path, src.rule, -EACCES);
  if (r == 0 && S_ISDIR (src.node.st.st_mode))
    r = -EPERM;
  if (r == 0)
    r = check_create (fs, newparent, newname, src.node.st.st_mode, AFFS_OP_LINK, &dst);
  if (r == 0) {
    g_mutex_lock (&fs->delta_lock);
    r = affs_resolve (fs, src.path, &src.node);
    if (r == 0)
      r = affs_copy_up (fs, src.path, &src.node);
    gboolean was_whiteout = FALSE;
    if (r == 0 && affs_resolve (fs, dst.path, &dst.node) == 0)
      r = -EEXIST;
    if (r == 0)
      r = affs_prepare_create (fs, dst.path, &was_whiteout);
    const char *sname, *dname;
    int spfd = r == 0 ? affs_upper_parent (fs, src.path, &sname) : r;
    int dpfd = spfd >= 0 ? affs_upper_parent (fs, dst.path, &dname) : spfd;
    if (spfd < 0 || dpfd < 0)
      r = spfd < 0 ? spfd : dpfd;
    else if (linkat (spfd, sname, dpfd, dname, 0) < 0)
      r = -errno;
    if (r < 0 && was_whiteout && dpfd >= 0)
      (void)mknodat (dpfd, dname, S_IFCHR, 0);
    if (spfd >= 0)
      close (spfd);
    if (dpfd >= 0)
      close (dpfd);
    if (r == 0)
      r = affs_resolve (fs, dst.path, &dst.node);
    g_mutex_unlock (&fs->delta_lock);
    affs_caches_clear (fs);
  }
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  /* Each name is its own inode here: the other names' link counts are
   * stale in the kernel until told. Attributes only, which takes no lock
   * the kernel holds during link/unlink, so it is safe before the reply
   * (and must be: the caller may stat as soon as it returns). */
  affs_invalidate_file_attrs (fs);
  /* The source name's recorded link count decides whether its opens keep
   * the page cache (affs-ops-file.c): it has another name now. */
  affs_inode_note_stat (fs, ino, &dst.node.st);
  affs_count (fs, AFFS_OP_LINK, TRUE);
  affs_reply_entry (req, fs, dst.path, &dst.node);
}

/* The existing @name in @parent that the sandbox may remove. */
static int
check_remove (AfFs *fs, fuse_ino_t parent, const char *name, AffsOp op, AffsTarget *t)
{
  int r = affs_child (fs, parent, name, op, t);
  if (r < 0)
    return r;
  if (!t->exists)
    return -ENOENT;
  t->level = affs_level_now (fs, t->path, t->node.st.st_mode, &t->rule);
  if (t->level == AFFS_HIDDEN)
    return affs_deny (fs, op, t->path, t->rule, -ENOENT);
  if (t->level != AFFS_WRITE)
    return affs_deny (fs, op, t->path, t->rule, -EACCES);
  return 0;
}

static gboolean
dir_is_empty (AfFs *fs, const char *path)
{
  int err = 0;
  g_autoptr (GArray) list = affs_list_merged (fs, path, &err);
  return list != NULL && list->len == 0;
}

static void
remove_common (fuse_req_t req, fuse_ino_t parent, const char *name, gboolean dir)
{
  AfFs *fs = affs_from_req (req);
  AffsOp op = dir ? AFFS_OP_RMDIR : AFFS_OP_UNLINK;
  gboolean relink = FALSE;
  g_auto (AffsTarget) t = { 0 };
  int r = check_remove (fs, parent, name, op, &t);
  fuse_ino_t victim = r == 0 && !dir ? affs_inode_find (fs, t.path) : 0;
  if (victim != 0)
    affs_handles_materialize (fs, victim); /* an open file stays readable */
  if (r == 0) {
    g_mutex_lock (&fs->delta_lock);
    r = affs_resolve (fs, t.path, &t.node);
    if (r == 0 && dir && !S_ISDIR (t.node.st.st_mode))
      r = -ENOTDIR;
    else if (r == 0 && !dir && S_ISDIR (t.node.st.st_mode))
      r = -EISDIR;
    /* Hidden entries count too, and which one it is stays unsaid. */
    if (r == 0 && dir && !dir_is_empty (fs, t.path))
      r = -ENOTEMPTY;
    if (r == 0)
      r = affs_delete (fs, t.path, &t.node);
    g_mutex_unlock (&fs->delta_lock);
    relink = r == 0 && !dir && t.node.st.st_nlink > 1;
    if (r == 0)
      affs_inode_unlinked (fs, t.path);
    affs_caches_clear (fs);
  }
  if (relink)
    affs_invalidate_file_attrs (fs);
  AFFS_REPLY_ERR (req, fs, op, r);
}

static void
op_unlink (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  remove_common (req, parent, name, FALSE);
}

static void
op_rmdir (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  remove_common (req, parent, name, TRUE);
}

/* Every entry below directory @from must be write, and stay write at the
 * same place below @to. */
static int
check_tree_levels (AfFs *fs, AfPolicy *policy, const char *from, const char *to, int depth)
{
  if (depth > 256)
    return -ELOOP;
  int err = 0;
  g_autoptr (GArray) list = affs_list_merged (fs, from, &err);
  if (list == NULL)
    return err;
  for (guint i = 0; i < list->len; i++) {
    AffsDirent *e = &g_array_index (list, AffsDirent, i);
    g_autofree char *a = affs_path_join (from, e->name);
    g_autofree char *b = affs_path_join (to, e->name);
    mode_t type = DTTOIF (e->type);
    int rule = -1;
    if (affs_level (fs, policy, a, type, &rule) != AFFS_WRITE)
      return affs_deny (fs, AFFS_OP_RENAME, a, rule, -EACCES);
    if (affs_level (fs, policy, b, type, &rule) != AFFS_WRITE)
      return affs_deny (fs, AFFS_OP_RENAME, b, rule, -EACCES);
    if (e->type == DT_DIR) {
      int r = check_tree_levels (fs, policy, a, b, depth + 1);
      if (r < 0)
        return r;
    }
  }
  return 0;
}

static int
rename_checks (AfFs *fs, AffsTarget *src, AffsTarget *dst, unsigned int flags)
{
  gboolean sdir = S_ISDIR (src->node.st.st_mode);
  if (dst->exists && (flags & RENAME_NOREPLACE))
    return -EEXIST;
  if (!dst->exists && (flags & RENAME_EXCHANGE))
    return -ENOENT;
  if (dst->exists && !(flags & RENAME_EXCHANGE)) {
    gboolean ddir = S_ISDIR (dst->node.st.st_mode);
    if (sdir && !ddir)
      return -ENOTDIR;
    if (!sdir && ddir)
      return -EISDIR;
    if (ddir && !dir_is_empty (fs, dst->path))
      return -ENOTEMPTY;
  }
  g_autoptr (AfPolicy) policy = affs_policy_get (fs);
  int r = 0;
  if (sdir)
    r = check_tree_levels (fs, policy, src->path, dst->path, 0);
  if (r == 0 && (flags & RENAME_EXCHANGE) && S_ISDIR (dst->node.st.st_mode))
    r = check_tree_levels (fs, policy, dst->path, src->path, 0);
  return r;
}

/* The upper half of a rename (delta_lock held). */
static int
rename_upper (AfFs *fs, AffsTarget *src, AffsTarget *dst, unsigned int flags)
{
  int r = affs_resolve (fs, src->path, &src->node);
  if (r < 0)
    return r;
  dst->exists = affs_resolve (fs, dst->path, &dst->node) == 0;
  r = rename_checks (fs, src, dst, flags);
  if (r == 0)
    r = affs_copy_up_tree (fs, src->path);
  gboolean was_whiteout = FALSE;
  if (r == 0 && (flags & RENAME_EXCHANGE))
    r = affs_copy_up_tree (fs, dst->path);
  else if (r == 0)
    r = affs_prepare_create (fs, dst->path, &was_whiteout);
  if (r == 0 && dst->exists && !(flags & RENAME_EXCHANGE) && S_ISDIR (dst->node.st.st_mode))
    r = affs_clear_whiteouts (fs, dst->path);
  if (r < 0)
    return r;
  const char *sname, *dname;
  int spfd = affs_upper_parent (fs, src->path, &sname);
  if (spfd < 0)
    return spfd;
  int dpfd = affs_upper_parent (fs, dst->path, &dname);
  if (dpfd < 0) {
    close (spfd);
    return dpfd;
  }
  if (renameat2 (spfd, sname, dpfd, dname, flags & (RENAME_NOREPLACE | RENAME_EXCHANGE)) < 0)
    r = -errno;
  if (r == 0 && S_ISDIR (src->node.st.st_mode))
    r = affs_set_opaque (fs, dpfd, dname);
  if (r == 0 && (flags & RENAME_EXCHANGE) && S_ISDIR (dst->node.st.st_mode))
    r = affs_set_opaque (fs, spfd, sname);
  close (spfd);
  close (dpfd);
  if (r == 0 && !(flags & RENAME_EXCHANGE) && src->node.has_lower)
    r = affs_make_whiteout (fs, src->path);
  return r;
}

static void
op_rename (fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
           const char *newname, unsigned int flags)
{
  AfFs *fs = affs_from_req (req);
  g_auto (AffsTarget) src = { 0 };
  g_auto (AffsTarget) dst = { 0 };
  int r = 0;
  if ((flags & ~(unsigned int)(RENAME_NOREPLACE | RENAME_EXCHANGE)) != 0 ||
      ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)))
    r = -EINVAL; /* RENAME_WHITEOUT among them: whiteouts are ours alone */
  if (r == 0)
    r = check_remove (fs, parent, name, AFFS_OP_RENAME, &src);
  if (r == 0)
    r = affs_child (fs, newparent, newname, AFFS_OP_RENAME, &dst);
  if (r == 0) {
    dst.level = affs_level_now (fs, dst.path,
                                dst.exists ? dst.node.st.st_mode : src.node.st.st_mode, &dst.rule);
    if (dst.level != AFFS_WRITE)
      r = affs_deny (fs, AFFS_OP_RENAME, dst.path, dst.rule, -EACCES);
  }
  if (r == 0 && strcmp (src.path, dst.path) == 0) {
    AFFS_REPLY_ERR (req, fs, AFFS_OP_RENAME, 0);
    return;
  }
  if (r == 0) {
    /* Open files keep their content whatever the rename does to their
     * paths (replaced, moved, exchanged). */
    fuse_ino_t moved = affs_inode_find (fs, src.path);
    fuse_ino_t replaced = affs_inode_find (fs, dst.path);
    if (S_ISDIR (src.node.st.st_mode))
      affs_handles_materialize (fs, 0); /* files below it move too */
    else if (moved != 0)
      affs_handles_materialize (fs, moved);
    if (replaced != 0)
      affs_handles_materialize (fs, replaced);
    g_mutex_lock (&fs->delta_lock);
    r = rename_upper (fs, &src, &dst, flags);
    g_mutex_unlock (&fs->delta_lock);
    if (r == 0 && (flags & RENAME_EXCHANGE))
      affs_inode_exchanged (fs, src.path, dst.path);
    else if (r == 0)
      affs_inode_renamed (fs, src.path, dst.path);
    affs_caches_clear (fs);
  }
  AFFS_REPLY_ERR (req, fs, AFFS_OP_RENAME, r);
}

void
affs_ops_ns (struct fuse_lowlevel_ops *ops)
{
  ops->mknod = op_mknod;
  ops->mkdir = op_mkdir;
  ops->symlink = op_symlink;
  ops->link = op_link;
  ops->unlink = op_unlink;
  ops->rmdir = op_rmdir;
  ops->rename = op_rename;
}
