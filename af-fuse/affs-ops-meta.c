/* affs-ops-meta.c — FUSE operations on names and attributes: lookup,
 * forget, getattr, setattr, readlink, access, statfs and the xattr family.
 *
 * Every operation decides the level again (affs_target); nothing relies on
 * the decision made at lookup. Changes copy up first and then act on the
 * upper entry, with fs->delta_lock held.
 *
 * Must never: change the source layer, reveal a hidden entry (ENOENT for
 * hidden, EACCES for visible-but-not-allowed), expose non-user xattrs. */
#include "affs-ops.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#define AFFS_XATTR_VALUE_MAX 65536

static void
op_lookup (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  AfFs *fs = affs_from_req (req);
  g_auto (AffsTarget) t = { 0 };
  int r = affs_child (fs, parent, name, AFFS_OP_LOOKUP, &t);
  if (r == 0 && !t.exists && affs_negative_note (fs, parent, name)) {
    /* Absent from the merged view (not hidden: a hidden name exists, and
     * a rule change must be able to show it): the kernel may remember
     * that, so a stat-then-create or a search path probed again does not
     * ask twice. Every invalidation of the view drops these entries. */
    struct fuse_entry_param e = { 0 };
    e.entry_timeout = fs->timeout;
    fuse_reply_entry (req, &e);
    return;
  }
  if (r < 0 || !t.exists) {
    fuse_reply_err (req, r < 0 ? -r : ENOENT);
    return;
  }
  t.level = affs_level_now (fs, t.path, t.node.st.st_mode, &t.rule);
  if (t.level == AFFS_HIDDEN) {
    fuse_reply_err (req, -affs_deny (fs, AFFS_OP_LOOKUP, t.path, t.rule, -ENOENT));
    return;
  }
  affs_count (fs, AFFS_OP_LOOKUP, TRUE);
  affs_reply_entry (req, fs, t.path, &t.node);
}

static void
op_forget (fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
  affs_inode_forget (affs_from_req (req), ino, nlookup);
  fuse_reply_none (req);
}

static void
op_forget_multi (fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
  AfFs *fs = affs_from_req (req);
  for (size_t i = 0; i < count; i++)
    affs_inode_forget (fs, forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none (req);
}

static void
op_getattr (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  AfFs *fs = affs_from_req (req);
  g_auto (AffsTarget) t = { 0 };
  int r = affs_target (fs, ino, AFFS_OP_GETATTR, &t);
  struct stat st;
  if (r == -ENOENT && t.path == NULL) {
    /* Unlinked but still open: an open handle's fd is the file (fstat
     * arrives without the handle). */
    r = affs_inode_fstat (fs, ino, &st);
    if (r < 0) {
      fuse_reply_err (req, -r);
      return;
    }
    affs_count (fs, AFFS_OP_GETATTR, TRUE);
    fuse_reply_attr (req, &st, affs_attr_timeout (fs, &st));
    return;
  }
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  affs_fill_attr (fs, t.path, &t.node, &st);
  affs_inode_note_stat (fs, ino, &t.node.st);
  affs_count (fs, AFFS_OP_GETATTR, TRUE);
  fuse_reply_attr (req, &st, affs_attr_timeout (fs, &st));
}

/* Apply @attr to the upper entry @path (already copied up). */
static int
apply_setattr (AfFs *fs, const char *path, const AffsNode *node, struct stat *attr, int to_set,
               struct fuse_file_info *fi)
{
  const char *name;
  int pfd = affs_upper_parent (fs, path, &name);
  if (pfd < 0)
    return pfd;
  int r = 0;
  if (to_set & FUSE_SET_ATTR_MODE) {
    if (S_ISLNK (node->st.st_mode))
      r = -EOPNOTSUPP;
    else if (fchmodat (pfd, name, attr->st_mode & 07777, 0) < 0)
      r = -errno;
  }
  if (r == 0 && (to_set & FUSE_SET_ATTR_SIZE)) {
    AffsHandle *h = fi != NULL ? (AffsHandle *)(uintptr_t)fi->fh : NULL;
    if (h != NULL && h->writable) {
      if (ftruncate (h->fd, attr->st_size) < 0)
        r = -errno;
    } else if (!S_ISREG (node->st.st_mode)) {
      r = S_ISDIR (node->st.st_mode) ? -EISDIR : -EINVAL;
    } else {
      int fd = openat (pfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
      if (fd < 0 || ftruncate (fd, attr->st_size) < 0)
        r = -errno;
      if (fd >= 0)
        close (fd);
    }
  }
  if (r == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
    struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
    if (to_set & FUSE_SET_ATTR_ATIME_NOW)
      ts[0].tv_nsec = UTIME_NOW;
    else if (to_set & FUSE_SET_ATTR_ATIME)
      ts[0] = attr->st_atim;
    if (to_set & FUSE_SET_ATTR_MTIME_NOW)
      ts[1].tv_nsec = UTIME_NOW;
    else if (to_set & FUSE_SET_ATTR_MTIME)
      ts[1] = attr->st_mtim;
    if (utimensat (pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
      r = -errno;
  }
  close (pfd);
  return r;
}

static void
op_setattr (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
            struct fuse_file_info *fi)
{
  AfFs *fs = affs_from_req (req);
  g_auto (AffsTarget) t = { 0 };
  int r = affs_target (fs, ino, AFFS_OP_SETATTR, &t);
  AffsHandle *h = fi != NULL ? (AffsHandle *)(uintptr_t)fi->fh : NULL;
  if (r == -ENOENT && t.path == NULL && h != NULL && h->writable &&
      (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_CTIME)) == 0) {
    /* ftruncate on an unlinked open file. */
    struct stat st;
    if (ftruncate (h->fd, attr->st_size) < 0 || fstat (h->fd, &st) < 0) {
      fuse_reply_err (req, errno);
      return;
    }
    affs_count (fs, AFFS_OP_SETATTR, TRUE);
    fuse_reply_attr (req, &st, affs_attr_timeout (fs, &st));
    return;
  }
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  if (t.level != AFFS_WRITE) {
    fuse_reply_err (req, -affs_deny (fs, AFFS_OP_SETATTR, t.path, t.rule, -EACCES));
    return;
  }
  if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
    /* Ownership is not the sandbox's to change. */
    fuse_reply_err (req, -affs_deny (fs, AFFS_OP_SETATTR, t.path, t.rule, -EPERM));
    return;
  }
  if ((to_set & FUSE_SET_ATTR_MODE) && (attr->st_mode & (S_ISUID | S_ISGID))) {
    fuse_reply_err (req, -affs_deny (fs, AFFS_OP_SETATTR, t.path, t.rule, -EPERM));
    return;
  }
  g_mutex_lock (&fs->delta_lock);
  r = affs_resolve (fs, t.path, &t.node);
  if (r == 0)
    r = affs_copy_up (fs, t.path, &t.node);
  if (r == 0)
    r = affs_resolve (fs, t.path, &t.node);
  if (r == 0)
    r = apply_setattr (fs, t.path, &t.node, attr, to_set, fi);
  if (r == 0)
    r = affs_resolve (fs, t.path, &t.node);
  g_mutex_unlock (&fs->delta_lock);
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  struct stat st;
  affs_fill_attr (fs, t.path, &t.node, &st);
  affs_inode_note_stat (fs, ino, &t.node.st);
  affs_count (fs, AFFS_OP_SETATTR, TRUE);
  fuse_reply_attr (req, &st, affs_attr_timeout (fs, &st));
}

static void
op_readlink (fuse_req_t req, fuse_ino_t ino)
{
  AfFs *fs = affs_from_req (req);
  g_auto (AffsTarget) t = { 0 };
  int r = affs_target (fs, ino, AFFS_OP_READLINK, &t);
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  if (t.level < AFFS_READ) {
    fuse_reply_err (req, -affs_deny (fs, AFFS_OP_READLINK, t.path, t.rule, -EACCES));
    return;
  }
  const char *name;
  int pfd = affs_open_parent (affs_layer_root (fs, &t.node), t.path, &name);
  if (pfd < 0) {
    fuse_reply_err (req, -pfd);
    return;
  }
  char buf[4097];
  ssize_t n = readlinkat (pfd, name, buf, sizeof buf - 1);
  int e = errno;
  close (pfd);
  if (n < 0) {
    fuse_reply_err (req, e);
    return;
  }
  buf[n] = '\0';
  affs_count (fs, AFFS_OP_READLINK, TRUE);
  fuse_reply_readlink (req, buf);
}

static void
op_access (fuse_req_t req, fuse_ino_t ino, int mask)
{
  AfFs *fs = affs_from_req (req);
  g_auto (AffsTarget) t = { 0 };
  int r = affs_target (fs, ino, AFFS_OP_ACCESS, &t);
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  gboolean dir = S_ISDIR (t.node.st.st_mode);
  gboolean ok = TRUE;
  if (mask & W_OK)
    ok = t.level == AFFS_WRITE;
  if (ok && (mask & R_OK))
    ok = dir ? t.level >= AFFS_TRAVERSE : t.level >= AFFS_READ;
  if (ok && (mask & X_OK))
    ok = dir ? t.level >= AFFS_TRAVERSE
             : t.level >= AFFS_READ && (t.node.st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH));
  if (!ok) {
    fuse_reply_err (req, -affs_deny (fs, AFFS_OP_ACCESS, t.path, t.rule, -EACCES));
    return;
  }
  AFFS_REPLY_ERR (req, fs, AFFS_OP_ACCESS, 0);
}

static void
op_statfs (fuse_req_t req, fuse_ino_t ino)
{
  AfFs *fs = affs_from_req (req);
  struct statvfs sv;
  /* Space and inodes are those of the delta, where every write lands. */
  if (statvfs (fs->delta_path, &sv) < 0) {
    fuse_reply_err (req, errno);
    return;
  }
  sv.f_namemax = 255;
  affs_count (fs, AFFS_OP_STATFS, TRUE);
  fuse_reply_statfs (req, &sv);
}

/* A real fd on the entry for xattr calls, or -errno (-ENODATA when the
 * kind of entry cannot carry user xattrs). */
static int
open_for_xattr (int root, const char *path, const struct stat *st, gboolean writable)
{
  if (!S_ISREG (st->st_mode) && !S_ISDIR (st->st_mode))
    return writable ? -EPERM : -ENODATA;
  return affs_open_beneath (root, path, O_RDONLY | O_NONBLOCK, 0);
}

static void
op_getxattr (fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
  AfFs *fs = affs_from_req (req);
  /* Only user.* exists in the view (security.* labels, system.* ACLs and
   * our trusted.* marks do not), whatever the level: any other namespace is
   * "not supported", as on a filesystem without it. That answer does not
   * depend on the file, so it costs no backing access, and tools take it
   * for the whole filesystem: ls -l stops asking for a label and an ACL per
   * file (which the kernel does not cache for FUSE: a round-trip each). A
   * hidden path is still ENOENT. */
  if (!g_str_has_prefix (name, "user.")) {
    int hidden = affs_target_visible (fs, ino, AFFS_OP_GETXATTR);
    fuse_reply_err (req, hidden < 0 ? -hidden : EOPNOTSUPP);
    return;
  }
  g_auto (AffsTarget) t = { 0 };
  int r = affs_target (fs, ino, AFFS_OP_GETXATTR, &t);
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  if (t.level < AFFS_READ) {
    fuse_reply_err (req, -affs_deny (fs, AFFS_OP_GETXATTR, t.path, t.rule, -EACCES));
    return;
  }
  int fd = open_for_xattr (affs_layer_root (fs, &t.node), t.path, &t.node.st, FALSE);
  if (fd < 0) {
    fuse_reply_err (req, -fd);
    return;
  }
  g_autofree char *buf = g_malloc (AFFS_XATTR_VALUE_MAX);
  g_autofree char *bname = affs_xattr_to_backing (fs, name);
  ssize_t n = fgetxattr (fd, bname, buf, AFFS_XATTR_VALUE_MAX);
  int e = errno;
  close (fd);
  affs_count (fs, AFFS_OP_GETXATTR, TRUE);
  if (n < 0)
    fuse_reply_err (req, e);
  else if (size == 0)
    fuse_reply_xattr (req, (size_t)n);
  else if ((size_t)n > size)
    fuse_reply_err (req, ERANGE);
  else
    fuse_reply_buf (req, buf, (size_t)n);
}

static void
op_listxattr (fuse_req_t req, fuse_ino_t ino, size_t size)
{
  AfFs *fs = affs_from_req (req);
  g_auto (AffsTarget) t = { 0 };
  int r = affs_target (fs, ino, AFFS_OP_LISTXATTR, &t);
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  g_autoptr (GString) out = g_string_new (NULL);
  /* Below read the list is empty: names of user xattrs are content. */
  int fd = t.level < AFFS_READ
               ? -EACCES
               : open_for_xattr (affs_layer_root (fs, &t.node), t.path, &t.node.st, FALSE);
  if (fd >= 0) {
    g_autofree char *names = g_malloc (AFFS_XATTR_VALUE_MAX);
    ssize_t n = flistxattr (fd, names, AFFS_XATTR_VALUE_MAX);
    close (fd);
    for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen (names + off) + 1)
      affs_xattr_append_view_name (fs, names + off, out);
  }
  affs_count (fs, AFFS_OP_LISTXATTR, TRUE);
  if (size == 0)
    fuse_reply_xattr (req, out->len);
  else if (out->len > size)
    fuse_reply_err (req, ERANGE);
  else
    fuse_reply_buf (req, out->str, out->len);
}

static void
change_xattr (fuse_req_t req, fuse_ino_t ino, AffsOp op, const char *name, const char *value,
              size_t size, int flags)
{
  AfFs *fs = affs_from_req (req);
  g_auto (AffsTarget) t = { 0 };
  int r = affs_target (fs, ino, op, &t);
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  if (t.level != AFFS_WRITE) {
    fuse_reply_err (req, -affs_deny (fs, op, t.path, t.rule, -EACCES));
    return;
  }
  if (!g_str_has_prefix (name, "user.")) {
    fuse_reply_err (req, -affs_deny (fs, op, t.path, t.rule, -EPERM));
    return;
  }
  if (size > AFFS_XATTR_VALUE_MAX) {
    fuse_reply_err (req, E2BIG);
    return;
  }
  g_mutex_lock (&fs->delta_lock);
  r = affs_resolve (fs, t.path, &t.node);
  if (r == 0)
    r = affs_copy_up (fs, t.path, &t.node);
  if (r == 0)
    r = affs_resolve (fs, t.path, &t.node);
  int fd = r == 0 ? open_for_xattr (fs->upper_fd, t.path, &t.node.st, TRUE) : r;
  if (fd >= 0) {
    g_autofree char *bname = affs_xattr_to_backing (fs, name);
    int rr = value != NULL ? fsetxattr (fd, bname, value, size, flags) : fremovexattr (fd, bname);
    r = rr < 0 ? -errno : 0;
    close (fd);
  } else {
    r = fd;
  }
  g_mutex_unlock (&fs->delta_lock);
  AFFS_REPLY_ERR (req, fs, op, r);
}

static void
op_setxattr (fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
             int flags)
{
  change_xattr (req, ino, AFFS_OP_SETXATTR, name, value != NULL ? value : "", size, flags);
}

static void
op_removexattr (fuse_req_t req, fuse_ino_t ino, const char *name)
{
  change_xattr (req, ino, AFFS_OP_REMOVEXATTR, name, NULL, 0, 0);
}

void
affs_ops_meta (struct fuse_lowlevel_ops *ops)
{
  ops->lookup = op_lookup;
  ops->forget = op_forget;
  ops->forget_multi = op_forget_multi;
  ops->getattr = op_getattr;
  ops->setattr = op_setattr;
  ops->readlink = op_readlink;
  ops->access = op_access;
  ops->statfs = op_statfs;
  ops->getxattr = op_getxattr;
  ops->listxattr = op_listxattr;
  ops->setxattr = op_setxattr;
  ops->removexattr = op_removexattr;
}
