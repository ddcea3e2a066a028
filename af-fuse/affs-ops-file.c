/* affs-ops-file.c — FUSE operations on file content: open, create, read,
 * write, flush, release, fsync, fallocate, lseek.
 *
 * An open for writing (or with O_TRUNC) needs write and copies the file up
 * first; an open for reading needs read; view and traversal never open.
 * Read and write decide the level again, so a rule change reaches files
 * that are already open. Each handle holds one fd (a read-only handle one more
 * per time its file was replaced under it: copy-up, commit), every one
 * counted against the bound (affs-handle.c). A read-only open of a small
 * file is decided from the inode table alone and its handle is lazy: it
 * opens its file at the first request that needs one, or before its name
 * goes away (affs_handles_materialize), whichever comes first.
 *
 * Must never: open a backing file by any route other than
 * affs_open_beneath, or truncate anything on an open that is refused. */
#include "affs-ops.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* Flags for the backing open: only what changes how the backing file
 * behaves. Creation is ours to do, O_DIRECT buys nothing behind FUSE, and
 * kernel-internal bits (FMODE_EXEC on exec) would make openat2 fail. */
static int
backing_flags (int flags)
{
  return flags & (O_ACCMODE | O_APPEND | O_TRUNC | O_NONBLOCK | O_SYNC | O_DSYNC | O_LARGEFILE);
}

/* The backing flags of a writer's fd in the delta. With passthrough on, a
 * write-only open of the delta file is made read-write so the same fd can
 * be registered as the inode's backing file, which later readers share
 * (the kernel refuses reads on the write-only open itself, so nothing is
 * granted). Not with O_APPEND: the backing file's own append flag would
 * apply to every open sharing it. */
static int
writer_flags (AfFs *fs, int flags)
{
  int f = backing_flags (flags);
  if ((f & O_ACCMODE) == O_WRONLY && !(f & O_APPEND) && g_atomic_int_get (&fs->passthrough))
    f = (f & ~O_ACCMODE) | O_RDWR;
  return f;
}

static gboolean
shareable (int flags)
{
  return (flags & O_ACCMODE) == O_RDWR && !(flags & O_APPEND);
}

static gboolean
wants_write (int flags)
{
  return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* Open @path for @flags (level already checked), copying up for writes. */
static int
open_backing (AfFs *fs, const char *path, int flags, AffsNode *node, AffsHandle **out)
{
  guint gen = g_atomic_int_get ((gint *)&fs->layer_gen);
  int fd;
  gboolean w = wants_write (flags);
  if (w) {
    g_mutex_lock (&fs->delta_lock);
    int r = affs_resolve (fs, path, node);
    if (r == 0)
      r = affs_copy_up (fs, path, node);
    if (r == 0)
      r = affs_resolve (fs, path, node);
    fd = r < 0 ? r : affs_open_beneath (fs->upper_fd, path, writer_flags (fs, flags), 0);
    g_mutex_unlock (&fs->delta_lock);
  } else {
    fd = affs_open_beneath (affs_layer_root (fs, node), path, backing_flags (flags), 0);
  }
  if (fd < 0)
    return fd;
  int r = affs_handle_open (fs, fd, (flags & O_ACCMODE) != O_RDONLY, out);
  if (r == 0) {
    (*out)->gen = gen;
    (*out)->shareable = w && shareable (writer_flags (fs, flags));
  }
  return r;
}

static void
set_open_flags (struct fuse_file_info *fi, const AffsNode *node, AffsHandle *h)
{
  fi->fh = (uintptr_t)h;
  /* Page cache survives between opens: every change to a file's content
   * goes through this mount (and so through the kernel's cache) or is
   * followed by an explicit invalidation (commit by another sandbox,
   * discard). A file with several links is the exception: its other names
   * are other inodes here, whose caches a write through this one would
   * not update. */
  fi->keep_cache = node->st.st_nlink <= 1 && !h->drop_cache;
  /* The inode passes through to another file than this open's: uncached,
   * so this open reads and writes the file its path names now. */
  if (h->io == AFFS_IO_DIRECT) {
    fi->direct_io = 1;
    fi->keep_cache = 0;
  }
  /* The kernel refuses a passthrough open with any flag but direct_io,
   * parallel_direct_writes and noflush (EIO to the opener); the page cache
   * it would keep is the backing file's own anyway. */
  if (h->io == AFFS_IO_PASSTHROUGH)
    fi->keep_cache = 0;
  /* flush does nothing here: spare the round-trip on every close. */
  fi->noflush = 1;
}

/* Choose the kernel's I/O mode for handle @h (bound to its inode) of
 * @path. Passthrough only where the file cannot change identity under the
 * open: a read-level file (this sandbox can never copy it up), or a file
 * already in the delta (no copy-up left to do; a commit or discard replaces
 * it by rename, which an open descriptor does not follow on any
 * filesystem). A source file at write level stays cached: a writer's
 * copy-up must show through descriptors opened before it
 * (cache/reader-follows-copy-up), and a passthrough descriptor would keep
 * reading the source file. Small read-only files stay cached too: their
 * pages are read once and kept, and a registration costs two ioctls. */
static void
choose_io (AfFs *fs, AffsHandle *h, fuse_ino_t ino, const char *path, const AffsNode *node,
           AffsLevel level, gboolean writer)
{
  gboolean regular = S_ISREG (node->st.st_mode);
  gboolean upper_write = level == AFFS_WRITE && node->layer == AFFS_LAYER_UPPER;
  gboolean eligible = g_atomic_int_get (&fs->passthrough) && regular &&
                      (upper_write || (level == AFFS_READ && !writer)) &&
                      (writer || node->st.st_size >= fs->passthrough_min_size);
  AffsIoRequest rq = { &node->st, eligible, writer, h->fd, FALSE };
  int fd = -1;
  if (eligible && upper_write && h->shareable) {
    rq.backing_writable = TRUE;
  } else if (eligible && upper_write) {
    /* Registered read-write (and without the opener's O_APPEND), so later
     * writers of the same file can share the backing. */
    fd = affs_open_beneath (fs->upper_fd, path, O_RDWR, 0);
    rq.backing_fd = fd;
    rq.backing_writable = TRUE;
    rq.eligible = fd >= 0;
  }
  affs_io_choose (fs, h, ino, &rq);
  if (fd >= 0)
    close (fd);
}

/* Reply to an open with @h's I/O mode. */
static int
reply_open (fuse_req_t req, AffsHandle *h, struct fuse_file_info *fi)
{
  affs_passthrough_arm_open (h);
  int r = fuse_reply_open (req, fi);
  affs_passthrough_disarm ();
  return r;
}

/* A read-only open (the most frequent request: grep, cc, cat): the entry
 * is opened while it is resolved, the level decided on what was found,
 * and the fd dropped unless the level allows reading. Nothing is read
 * before the decision. */
static int
open_read_only (AfFs *fs, fuse_ino_t ino, int flags, AffsTarget *t, AffsHandle **out)
{
  memset (t, 0, sizeof *t);
  t->rule = -1;
  t->path = affs_inode_path (fs, ino, NULL);
  if (fs->verbose)
    g_debug ("open /%s", t->path != NULL ? t->path : "(unlinked)");
  if (t->path == NULL)
    return -ENOENT;
  guint gen = g_atomic_int_get ((gint *)&fs->layer_gen);
  int fd = -1;
  int r = affs_resolve_open (fs, t->path, backing_flags (flags) | O_NOCTTY, &t->node, &fd);
  if (r < 0)
    return r;
  t->level = affs_level_now (fs, t->path, t->node.st.st_mode, &t->rule);
  if (t->level == AFFS_HIDDEN)
    r = affs_deny (fs, AFFS_OP_OPEN, t->path, t->rule, -ENOENT);
  else if (S_ISDIR (t->node.st.st_mode))
    r = -EISDIR;
  else if (t->level < AFFS_READ)
    r = affs_deny (fs, AFFS_OP_OPEN, t->path, t->rule, -EACCES);
  if (r < 0) {
    close (fd);
    return r;
  }
  r = affs_handle_open (fs, fd, FALSE, out);
  if (r == 0)
    (*out)->gen = gen; /* seen before resolving: a later copy-up is noticed */
  return r;
}

/* A read-only open of a small regular file, decided on the inode table
 * alone: the level from the path and type the kernel was given, the
 * caching from the recorded size and link count. Its backing file is
 * opened at the first request that needs it (a warm read never sends
 * one: the page cache is kept), so the open itself costs no syscall.
 * FALSE (nothing replied) where the file itself must be seen first: an
 * unknown or non-regular inode, or a size that may pass through. */
static gboolean
open_lazy (fuse_req_t req, AfFs *fs, fuse_ino_t ino, struct fuse_file_info *fi)
{
  mode_t type = 0;
  gint64 size = 0;
  nlink_t nlink = 0;
  g_autofree char *path = affs_inode_info (fs, ino, &type, &size, &nlink);
  if (path == NULL || !S_ISREG (type) ||
      (g_atomic_int_get (&fs->passthrough) && size >= fs->passthrough_min_size))
    return FALSE;
  if (fs->verbose)
    g_debug ("open /%s (lazy)", path);
  int rule = -1;
  AffsLevel level = affs_level_now (fs, path, type, &rule);
  int r = 0;
  if (level == AFFS_HIDDEN)
    r = affs_deny (fs, AFFS_OP_OPEN, path, rule, -ENOENT);
  else if (level < AFFS_READ)
    r = affs_deny (fs, AFFS_OP_OPEN, path, rule, -EACCES);
  AffsHandle *h = NULL;
  if (r == 0) {
    /* Counted before the handle is listed: a materialization running
     * concurrently must not skip it (the count only lets it skip when
     * there is no lazy handle at all). */
    g_atomic_int_inc (&fs->lazy_handles);
    r = affs_handle_open (fs, -1, FALSE, &h);
    if (r < 0)
      g_atomic_int_add (&fs->lazy_handles, -1);
  }
  if (r < 0) {
    fuse_reply_err (req, -r);
    return TRUE;
  }
  h->open_flags = backing_flags (fi->flags) | O_NOCTTY;
  affs_handle_bind (fs, h, ino);
  AffsIoRequest rq = { NULL, FALSE, FALSE, -1, FALSE };
  affs_io_choose (fs, h, ino, &rq);
  AffsNode node = { 0 };
  node.st.st_nlink = nlink;
  set_open_flags (fi, &node, h);
  affs_count (fs, AFFS_OP_OPEN, TRUE);
  if (reply_open (req, h, fi) != 0)
    affs_handle_close (fs, h);
  return TRUE;
}

static void
op_open (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  AfFs *fs = affs_from_req (req);
  g_auto (AffsTarget) t = { 0 };
  if (!wants_write (fi->flags) && open_lazy (req, fs, ino, fi))
    return;
  if (!wants_write (fi->flags)) {
    AffsHandle *h = NULL;
    int r = open_read_only (fs, ino, fi->flags, &t, &h);
    if (r < 0) {
      fuse_reply_err (req, -r);
      return;
    }
    affs_handle_bind (fs, h, ino);
    choose_io (fs, h, ino, t.path, &t.node, t.level, FALSE);
    set_open_flags (fi, &t.node, h);
    affs_count (fs, AFFS_OP_OPEN, TRUE);
    if (reply_open (req, h, fi) != 0)
      affs_handle_close (fs, h);
    return;
  }
  int r = affs_target (fs, ino, AFFS_OP_OPEN, &t);
  if (r == 0 && S_ISDIR (t.node.st.st_mode))
    r = -EISDIR;
  if (r == 0 && t.level < AFFS_READ)
    r = affs_deny (fs, AFFS_OP_OPEN, t.path, t.rule, -EACCES);
  if (r == 0 && wants_write (fi->flags) && t.level != AFFS_WRITE)
    r = affs_deny (fs, AFFS_OP_OPEN, t.path, t.rule, -EACCES);
  AffsHandle *h = NULL;
  if (r == 0)
    r = open_backing (fs, t.path, fi->flags, &t.node, &h);
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  affs_handle_bind (fs, h, ino);
  choose_io (fs, h, ino, t.path, &t.node, t.level, (fi->flags & O_ACCMODE) != O_RDONLY);
  set_open_flags (fi, &t.node, h);
  affs_count (fs, AFFS_OP_OPEN, TRUE);
  if (reply_open (req, h, fi) != 0)
    affs_handle_close (fs, h);
}

/* The merged node of the file just created in upper as @fd (owned by the
 * caller). Without a whiteout there was no visible lower entry (the path
 * resolved to nothing under delta_lock), so the descriptor's own stat is
 * the node; the owner is changed (through the descriptor) only when the
 * daemon's identity is not the caller's. Over a whiteout, the lower entry
 * it hid is part of the node: resolve it. */
static int
created_node (AfFs *fs, fuse_req_t req, int fd, const char *path, gboolean was_whiteout,
              AffsNode *out)
{
  memset (out, 0, sizeof *out);
  if (fstat (fd, &out->st) < 0)
    return -errno;
  const struct fuse_ctx *ctx = fuse_req_ctx (req);
  if (out->st.st_uid != ctx->uid || out->st.st_gid != ctx->gid) {
    (void)!fchown (fd, ctx->uid, ctx->gid);
    if (fstat (fd, &out->st) < 0)
      return -errno;
  }
  out->layer = AFFS_LAYER_UPPER;
  return was_whiteout ? affs_resolve (fs, path, out) : 0;
}

/* Create @path (which resolved to nothing under delta_lock, held by the
 * caller) in upper, opened with @oflags; *@out_fd and *@out_node on
 * success. The parent is made in upper if needed (known ones from the
 * cache, without a syscall), and the file is created beneath the upper
 * root in one openat2 (exclusive, no symlink anywhere on the way). A
 * whiteout is the only entry upper can hold there: only an EEXIST looks
 * for one to replace, so the common case asks nothing before creating. */
static int
create_new (AfFs *fs, fuse_req_t req, const char *path, int oflags, mode_t mode, AffsNode *out_node,
            int *out_fd, gboolean *out_was_whiteout)
{
  *out_was_whiteout = FALSE;
  g_autofree char *parent = affs_path_dirname (path);
  int r = affs_upper_mkdirs (fs, parent);
  if (r < 0)
    return r;
  oflags |= O_CREAT | O_EXCL;
  mode_t m = mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID);
  int fd = affs_open_beneath (fs->upper_fd, path, oflags, m);
  if (fd == -EEXIST) {
    const char *bname;
    int pfd = affs_upper_parent (fs, path, &bname);
    if (pfd < 0)
      return pfd;
    struct stat st;
    if (fstatat (pfd, bname, &st, AT_SYMLINK_NOFOLLOW) == 0 && affs_is_whiteout (&st) &&
        unlinkat (pfd, bname, 0) == 0) {
      *out_was_whiteout = TRUE;
      fd = openat (pfd, bname, oflags | O_NOFOLLOW | O_CLOEXEC, m);
      if (fd < 0) {
        fd = -errno;
        (void)mknodat (pfd, bname, S_IFCHR, 0);
      }
    }
    close (pfd);
  }
  if (fd < 0)
    return fd;
  r = created_node (fs, req, fd, path, *out_was_whiteout, out_node);
  if (r < 0)
    close (fd);
  else
    *out_fd = fd;
  return r;
}

static void
op_create (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
           struct fuse_file_info *fi)
{
  AfFs *fs = affs_from_req (req);
  g_auto (AffsTarget) t = { 0 };
  int r = affs_child (fs, parent, name, AFFS_OP_CREATE, &t);
  if (r == 0) {
    t.level = affs_level_now (fs, t.path, t.exists ? t.node.st.st_mode : S_IFREG, &t.rule);
    if (t.level != AFFS_WRITE)
      r = affs_deny (fs, AFFS_OP_CREATE, t.path, t.rule, -EACCES);
  }
  if (r == 0 && t.exists && (fi->flags & O_EXCL))
    r = -EEXIST;
  AffsHandle *h = NULL;
  int fd = -1;
  if (r == 0 && t.exists) {
    r = S_ISDIR (t.node.st.st_mode) ? -EISDIR : 0;
    if (r == 0)
      r = open_backing (fs, t.path, fi->flags, &t.node, &h);
  } else if (r == 0) {
    g_mutex_lock (&fs->delta_lock);
    gboolean was_whiteout = FALSE;
    AffsNode cur;
    r = affs_resolve (fs, t.path, &cur) == 0 ? -EEXIST : 0;
    if (r == 0)
      r = create_new (fs, req, t.path, writer_flags (fs, fi->flags), mode, &t.node, &fd,
                      &was_whiteout);
    g_mutex_unlock (&fs->delta_lock);
    /* A new regular file changes none of the cached directory facts
     * (upper directories, lower visibility, revealed none directories,
     * subdirectory counts): affs_upper_mkdirs already cleared them if it
     * made a parent. A whiteout replaced by the file is a change of the
     * merged view those facts may rest on. */
    if (was_whiteout)
      affs_caches_clear (fs);
    if (r == 0) {
      r = affs_handle_open (fs, fd, (fi->flags & O_ACCMODE) != O_RDONLY, &h);
      if (r == 0)
        h->shareable = shareable (writer_flags (fs, fi->flags));
    } else if (fd >= 0)
      close (fd);
  }
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  struct fuse_entry_param e = { 0 };
  affs_fill_attr (fs, t.path, &t.node, &e.attr);
  e.ino = affs_inode_ref_path (fs, t.path, &t.node.st);
  e.generation = 1;
  e.attr_timeout = affs_attr_timeout (fs, &e.attr);
  e.entry_timeout = fs->timeout;
  affs_handle_bind (fs, h, e.ino);
  choose_io (fs, h, e.ino, t.path, &t.node, t.level, (fi->flags & O_ACCMODE) != O_RDONLY);
  set_open_flags (fi, &t.node, h);
  affs_count (fs, AFFS_OP_CREATE, TRUE);
  affs_passthrough_arm_open (h);
  int rr = fuse_reply_create (req, &e, fi);
  affs_passthrough_disarm ();
  if (rr != 0) {
    affs_inode_forget (fs, e.ino, 1);
    affs_handle_close (fs, h);
  }
}

/* The level check every read and write repeats; an unlinked file (no
 * path) keeps what it was opened with. */
static int
recheck (AfFs *fs, fuse_ino_t ino, AffsOp op, AffsLevel need)
{
  mode_t type = 0;
  g_autofree char *path = affs_inode_path (fs, ino, &type);
  if (path == NULL)
    return 0;
  int rule = -1;
  AffsLevel l = affs_level_now (fs, path, type, &rule);
  if (l < need)
    return affs_deny (fs, op, path, rule, l == AFFS_HIDDEN ? -ENOENT : -EACCES);
  return 0;
}

static void
op_read (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  AfFs *fs = affs_from_req (req);
  AffsHandle *h = (AffsHandle *)(uintptr_t)fi->fh;
  int r = recheck (fs, ino, AFFS_OP_READ, AFFS_READ);
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  int fd = affs_handle_read_fd (fs, ino, h);
  if (fd < 0) {
    fuse_reply_err (req, -fd);
    return;
  }
  struct fuse_bufvec buf = FUSE_BUFVEC_INIT (size);
  buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  buf.buf[0].fd = fd;
  buf.buf[0].pos = off;
  affs_count (fs, AFFS_OP_READ, TRUE);
  __atomic_fetch_add (&fs->bytes_read, (gint64)size, __ATOMIC_RELAXED);
  /* With splice enabled at init, libfuse moves the pages without a copy. */
  fuse_reply_data (req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void
op_write_buf (fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
              struct fuse_file_info *fi)
{
  AfFs *fs = affs_from_req (req);
  AffsHandle *h = (AffsHandle *)(uintptr_t)fi->fh;
  int r = recheck (fs, ino, AFFS_OP_WRITE, AFFS_WRITE);
  if (r == 0 && !h->writable)
    r = -EBADF;
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  struct fuse_bufvec out = FUSE_BUFVEC_INIT (fuse_buf_size (in));
  out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  out.buf[0].fd = h->fd;
  out.buf[0].pos = off;
  ssize_t n = fuse_buf_copy (&out, in, 0);
  if (n < 0) {
    fuse_reply_err (req, (int)-n);
    return;
  }
  affs_count (fs, AFFS_OP_WRITE, TRUE);
  __atomic_fetch_add (&fs->bytes_written, (gint64)n, __ATOMIC_RELAXED);
  fuse_reply_write (req, (size_t)n);
}

static void
op_flush (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  fuse_reply_err (req, 0);
}

static void
op_release (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  affs_handle_close (affs_from_req (req), (AffsHandle *)(uintptr_t)fi->fh);
  fuse_reply_err (req, 0);
}

static void
op_fsync (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
  AfFs *fs = affs_from_req (req);
  AffsHandle *h = (AffsHandle *)(uintptr_t)fi->fh;
  int r = affs_handle_materialize (fs, h);
  if (r == 0)
    r = (datasync ? fdatasync (h->fd) : fsync (h->fd)) < 0 ? -errno : 0;
  AFFS_REPLY_ERR (req, fs, AFFS_OP_FSYNC, r);
}

static void
op_fallocate (fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
              struct fuse_file_info *fi)
{
  AfFs *fs = affs_from_req (req);
  AffsHandle *h = (AffsHandle *)(uintptr_t)fi->fh;
  int r = recheck (fs, ino, AFFS_OP_FALLOCATE, AFFS_WRITE);
  if (r == 0 && !h->writable)
    r = -EBADF;
  if (r == 0 && fallocate (h->fd, mode, offset, length) < 0)
    r = -errno;
  AFFS_REPLY_ERR (req, fs, AFFS_OP_FALLOCATE, r);
}

static void
op_lseek (fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi)
{
  AffsHandle *h = (AffsHandle *)(uintptr_t)fi->fh;
  int r = affs_handle_materialize (affs_from_req (req), h);
  off_t res = r < 0 ? -1 : lseek (h->fd, off, whence);
  if (r < 0)
    fuse_reply_err (req, -r);
  else if (res < 0)
    fuse_reply_err (req, errno);
  else
    fuse_reply_lseek (req, res);
}

void
affs_ops_file (struct fuse_lowlevel_ops *ops)
{
  ops->open = op_open;
  ops->create = op_create;
  ops->read = op_read;
  ops->write_buf = op_write_buf;
  ops->flush = op_flush;
  ops->release = op_release;
  ops->fsync = op_fsync;
  ops->fallocate = op_fallocate;
  ops->lseek = op_lseek;
}
