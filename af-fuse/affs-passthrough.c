/* affs-passthrough.c — FUSE passthrough: the kernel reads and writes an
 * open file's backing file itself, without a request to us per read/write.
 *
 * libfuse 3.14 cannot ask for it, so the session's I/O is wrapped
 * (fuse_session_custom_io): the INIT request tells us whether the kernel
 * offers FUSE_PASSTHROUGH; the INIT reply is patched to accept it; an
 * OPEN/CREATE reply sent by a thread that armed a hand-off (thread-local,
 * set just before fuse_reply_open/create on the same thread) gets
 * FOPEN_PASSTHROUGH and the backing id.
 *
 * Owns: the kernel ABI definitions this needs (our own, checked by size),
 * the backing ids (FUSE_DEV_IOC_BACKING_OPEN/CLOSE) and the per-inode I/O
 * mode. The kernel allows one mode per inode at a time: either every open
 * file passes through to one and the same backing file, or none does (a
 * cached open of an inode in passthrough mode fails with ETXTBSY, another
 * backing with EBUSY). So the choice for a new open follows what is open
 * on the inode already; where neither fits (the path now resolves to
 * another file) the open is uncached (direct_io) through us.
 *
 * Must never: decide a permission (every decision is made before, at open),
 * pass through a file whose content could change identity under the open
 * (a lower file a writer could copy up: the caller decides eligibility),
 * or touch a reply other than the one armed on this thread. */
#include "affs-ops.h"

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- kernel ABI (include/uapi/linux/fuse.h, protocol 7.40+) ---- */
#define AFFS_FUSE_INIT 26u
#define AFFS_FUSE_INIT_EXT (1u << 30)
#define AFFS_FUSE_PASSTHROUGH_FLAGS2 (1u << (37 - 32)) /* FUSE_PASSTHROUGH, bit 37 */
#define AFFS_FOPEN_PASSTHROUGH (1u << 7)
/* Our backing files live on plain filesystems (depth 0): one level above
 * them leaves room for an overlay on top of the mount. */
#define AFFS_MAX_STACK_DEPTH 1u

struct affs_fuse_in_header {
  uint32_t len;
  uint32_t opcode;
  uint64_t unique;
  uint64_t nodeid;
  uint32_t uid;
  uint32_t gid;
  uint32_t pid;
  uint16_t total_extlen;
  uint16_t padding;
};
struct affs_fuse_out_header {
  uint32_t len;
  int32_t error;
  uint64_t unique;
};
struct affs_fuse_init_in {
  uint32_t major;
  uint32_t minor;
  uint32_t max_readahead;
  uint32_t flags;
  uint32_t flags2;
  uint32_t unused[11];
};
struct affs_fuse_init_out {
  uint32_t major;
  uint32_t minor;
  uint32_t max_readahead;
  uint32_t flags;
  uint16_t max_background;
  uint16_t congestion_threshold;
  uint32_t max_write;
  uint32_t time_gran;
  uint16_t max_pages;
  uint16_t map_alignment;
  uint32_t flags2;
  uint32_t max_stack_depth;
  uint16_t request_timeout;
  uint16_t unused[11];
};
struct affs_fuse_open_out {
  uint64_t fh;
  uint32_t open_flags;
  int32_t backing_id;
};
struct affs_fuse_backing_map {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};
G_STATIC_ASSERT (sizeof (struct affs_fuse_in_header) == 40);
G_STATIC_ASSERT (sizeof (struct affs_fuse_out_header) == 16);
G_STATIC_ASSERT (sizeof (struct affs_fuse_init_in) == 64);
G_STATIC_ASSERT (sizeof (struct affs_fuse_init_out) == 64);
G_STATIC_ASSERT (G_STRUCT_OFFSET (struct affs_fuse_init_out, flags2) == 32);
G_STATIC_ASSERT (G_STRUCT_OFFSET (struct affs_fuse_init_out, max_stack_depth) == 36);
G_STATIC_ASSERT (sizeof (struct affs_fuse_open_out) == 16);
G_STATIC_ASSERT (sizeof (struct affs_fuse_backing_map) == 16);
#define AFFS_FUSE_DEV_IOC_BACKING_OPEN _IOW (229, 1, struct affs_fuse_backing_map)
#define AFFS_FUSE_DEV_IOC_BACKING_CLOSE _IOW (229, 2, uint32_t)

/* One registered backing file, shared by the passthrough opens of an
 * inode. Counted by its handles (fs->lock), so it outlives an inode the
 * kernel forgets before the last release reaches us. */
struct _AffsBacking {
  int32_t id;
  dev_t dev;
  ino_t ino;
  gboolean writable;
  guint refs;
};

/* The reply this thread is about to send, and what to put in it. */
typedef enum {
  PATCH_NONE,
  PATCH_INIT,
  PATCH_OPEN,
} PatchKind;
static __thread PatchKind tl_patch;
static __thread int32_t tl_backing_id;

static int
dev_fd (AfFs *fs)
{
  return fuse_session_fd (fs->se);
}

/* A registration the kernel refuses for every file means passthrough is
 * off for this mount; other errors concern one file. */
static gboolean
refusal_is_global (int err)
{
  return err == EPERM || err == ENOTTY || err == EOPNOTSUPP || err == ENOSYS;
}

static void
probe (AfFs *fs)
{
  /* Any regular file on a depth-0 filesystem shows whether the kernel
   * accepts registrations from us (CAP_SYS_ADMIN, passthrough enabled). */
  int fd = memfd_create ("af-fuse-probe", MFD_CLOEXEC);
  if (fd < 0)
    return;
  struct affs_fuse_backing_map map = { .fd = fd };
  int id = ioctl (dev_fd (fs), AFFS_FUSE_DEV_IOC_BACKING_OPEN, &map);
  int err = errno;
  close (fd);
  if (id > 0) {
    uint32_t u = (uint32_t)id;
    (void)ioctl (dev_fd (fs), AFFS_FUSE_DEV_IOC_BACKING_CLOSE, &u);
    g_atomic_int_set (&fs->passthrough, 1);
    if (fs->verbose)
      g_debug ("passthrough: enabled (files of %" G_GINT64_FORMAT " bytes and more)",
               (gint64)fs->passthrough_min_size);
  } else if (fs->verbose) {
    g_debug ("passthrough: the kernel refuses backing files (%s): every read and write goes "
             "through af-fuse",
             g_strerror (err));
  }
}

static void
patch_init (AfFs *fs, struct iovec *iov, int count)
{
  if (count < 2 || iov[0].iov_len < sizeof (struct affs_fuse_out_header))
    return;
  const struct affs_fuse_out_header *oh = iov[0].iov_base;
  if (oh->error != 0 || iov[1].iov_len < sizeof (struct affs_fuse_init_out))
    return;
  if (!fs->passthrough_offered) {
    if (fs->verbose)
      g_debug ("passthrough: not offered by the kernel");
    return;
  }
  struct affs_fuse_init_out *out = iov[1].iov_base;
  out->flags |= AFFS_FUSE_INIT_EXT;
  out->flags2 |= AFFS_FUSE_PASSTHROUGH_FLAGS2;
  out->max_stack_depth = AFFS_MAX_STACK_DEPTH;
  fs->passthrough_accepted = TRUE;
}

static void
patch_open (struct iovec *iov, int count)
{
  if (count < 2 || iov[0].iov_len < sizeof (struct affs_fuse_out_header))
    return;
  const struct affs_fuse_out_header *oh = iov[0].iov_base;
  struct iovec *last = &iov[count - 1];
  if (oh->error != 0 || last->iov_len < sizeof (struct affs_fuse_open_out))
    return;
  /* fuse_open_out ends both replies (OPEN: alone; CREATE: after the entry). */
  struct affs_fuse_open_out *out =
      (void *)((char *)last->iov_base + last->iov_len - sizeof (struct affs_fuse_open_out));
  out->open_flags |= AFFS_FOPEN_PASSTHROUGH;
  out->backing_id = tl_backing_id;
}

static ssize_t
io_writev (int fd, struct iovec *iov, int count, void *userdata)
{
  AfFs *fs = userdata;
  PatchKind kind = tl_patch;
  if (kind == PATCH_INIT) {
    tl_patch = PATCH_NONE;
    patch_init (fs, iov, count);
  } else if (kind == PATCH_OPEN) {
    patch_open (iov, count);
  }
  ssize_t n = writev (fd, iov, count);
  /* The kernel processed the INIT reply inside that writev: backing
   * registrations are possible from now on. */
  if (kind == PATCH_INIT && n >= 0 && fs->passthrough_accepted)
    probe (fs);
  return n;
}

static ssize_t
io_read (int fd, void *buf, size_t len, void *userdata)
{
  AfFs *fs = userdata;
  ssize_t n = read (fd, buf, len);
  if (n >= (ssize_t)sizeof (struct affs_fuse_in_header)) {
    guint32 op = ((const struct affs_fuse_in_header *)buf)->opcode;
    if (op < AFFS_REQ_OPCODES)
      __atomic_fetch_add (&fs->requests[op], 1, __ATOMIC_RELAXED);
  }
  if (n >= (ssize_t)(sizeof (struct affs_fuse_in_header) + sizeof (struct affs_fuse_init_in))) {
    const struct affs_fuse_in_header *ih = buf;
    if (ih->opcode == AFFS_FUSE_INIT) {
      const struct affs_fuse_init_in *in = (const void *)(ih + 1);
      fs->passthrough_offered = in->major == 7 && in->minor >= 40 &&
                                (in->flags & AFFS_FUSE_INIT_EXT) &&
                                (in->flags2 & AFFS_FUSE_PASSTHROUGH_FLAGS2);
    }
  }
  return n;
}

static ssize_t
io_splice_receive (int fdin, off_t *offin, int fdout, off_t *offout, size_t len, unsigned int flags,
                   void *userdata)
{
  return splice (fdin, offin, fdout, offout, len, flags);
}

static ssize_t
io_splice_send (int fdin, off_t *offin, int fdout, off_t *offout, size_t len, unsigned int flags,
                void *userdata)
{
  return splice (fdin, offin, fdout, offout, len, flags);
}

gboolean
affs_passthrough_install (AfFs *fs)
{
  static const struct fuse_custom_io io = {
    .writev = io_writev,
    .read = io_read,
    .splice_receive = io_splice_receive,
    .splice_send = io_splice_send,
  };
  return fuse_session_custom_io (fs->se, &io, fuse_session_fd (fs->se)) == 0;
}

void
affs_passthrough_arm_init (void)
{
  tl_patch = PATCH_INIT;
}

void
affs_passthrough_arm_open (const AffsHandle *h)
{
  if (h->io == AFFS_IO_PASSTHROUGH) {
    tl_patch = PATCH_OPEN;
    tl_backing_id = h->backing->id;
  }
}

void
affs_passthrough_disarm (void)
{
  tl_patch = PATCH_NONE;
}

static void
backing_unref_locked (AfFs *fs, AffsBacking *b)
{
  if (--b->refs > 0)
    return;
  uint32_t id = (uint32_t)b->id;
  if (fs->se != NULL) /* else the connection, and every id with it, is gone */
    (void)ioctl (dev_fd (fs), AFFS_FUSE_DEV_IOC_BACKING_CLOSE, &id);
  g_free (b);
}

/* Register @fd; NULL (and passthrough off for good on a global refusal)
 * if the kernel says no. */
static AffsBacking *
backing_new (AfFs *fs, int fd, const struct stat *st, gboolean writable)
{
  struct affs_fuse_backing_map map = { .fd = fd };
  int id = ioctl (dev_fd (fs), AFFS_FUSE_DEV_IOC_BACKING_OPEN, &map);
  if (id <= 0) {
    int err = errno;
    if (refusal_is_global (err) && g_atomic_int_compare_and_exchange (&fs->passthrough, 1, 0))
      g_message ("passthrough: the kernel refused a backing file (%s); off for this mount",
                 g_strerror (err));
    return NULL;
  }
  AffsBacking *b = g_new0 (AffsBacking, 1);
  b->id = id;
  b->dev = st->st_dev;
  b->ino = st->st_ino;
  b->writable = writable;
  b->refs = 1;
  return b;
}

void
affs_io_choose (AfFs *fs, AffsHandle *h, fuse_ino_t ino, const AffsIoRequest *rq)
{
  h->io = AFFS_IO_CACHED;
  g_mutex_lock (&fs->lock);
  AffsInode *inode = g_hash_table_lookup (fs->inodes, &ino);
  if (inode == NULL) {
    h->io = AFFS_IO_DIRECT; /* counted nowhere: safe whatever is open */
  } else if (inode->backing != NULL && rq->st == NULL) {
    h->io = AFFS_IO_DIRECT; /* a lazy open: its file is not known yet */
  } else if (inode->backing != NULL) {
    AffsBacking *b = inode->backing;
    /* The inode passes through already: only the same file can join. */
    if (b->dev == rq->st->st_dev && b->ino == rq->st->st_ino && (b->writable || !rq->writer)) {
      b->refs++;
      h->backing = b;
      h->io = AFFS_IO_PASSTHROUGH;
    } else {
      h->io = AFFS_IO_DIRECT;
    }
  } else if (inode->cached_opens == 0 && rq->eligible && g_atomic_int_get (&fs->passthrough)) {
    AffsBacking *b = backing_new (fs, rq->backing_fd, rq->st, rq->backing_writable);
    if (b != NULL) {
      inode->backing = b;
      b->refs++; /* the inode's reference, dropped when its opens end */
      h->backing = b;
      h->io = AFFS_IO_PASSTHROUGH;
    }
  }
  if (inode != NULL && h->io == AFFS_IO_CACHED) {
    inode->cached_opens++;
    /* The kernel wrote the backing file without this inode's page cache.
     * A write() also invalidates the inode's attributes (so the next read
     * refreshes them and drops changed pages), but a store through a
     * shared mapping of the backing file does not: drop the pages. */
    h->drop_cache = inode->pt_written;
    inode->pt_written = FALSE;
  }
  if (inode != NULL && h->io == AFFS_IO_PASSTHROUGH) {
    inode->pt_opens++;
    inode->pt_written |= rq->writer;
  }
  g_mutex_unlock (&fs->lock);
  if (h->io == AFFS_IO_PASSTHROUGH)
    affs_count (fs, AFFS_OP_PASSTHROUGH, TRUE);
}

void
affs_io_release (AfFs *fs, AffsHandle *h)
{
  g_mutex_lock (&fs->lock);
  AffsInode *inode = h->ino != 0 ? g_hash_table_lookup (fs->inodes, &h->ino) : NULL;
  if (h->io == AFFS_IO_CACHED && inode != NULL && inode->cached_opens > 0)
    inode->cached_opens--;
  if (h->io == AFFS_IO_PASSTHROUGH) {
    if (inode != NULL && inode->backing == h->backing && --inode->pt_opens == 0) {
      inode->backing = NULL;
      backing_unref_locked (fs, h->backing);
    }
    backing_unref_locked (fs, h->backing);
    h->backing = NULL;
  }
  h->io = AFFS_IO_DIRECT;
  g_mutex_unlock (&fs->lock);
}

void
affs_inode_backing_drop (AfFs *fs, AffsInode *inode)
{
  /* The inode leaves the table with passthrough opens whose releases are
   * still to come: they hold their own references. */
  if (inode->backing != NULL) {
    backing_unref_locked (fs, inode->backing);
    inode->backing = NULL;
  }
}

void
affs_requests_log (AfFs *fs)
{
  /* Names of the opcodes (include/uapi/linux/fuse.h) a mount sees. */
  static const char *const names[AFFS_REQ_OPCODES] = {
    [1] = "LOOKUP",        [2] = "FORGET",     [3] = "GETATTR",
    [4] = "SETATTR",       [5] = "READLINK",   [6] = "SYMLINK",
    [8] = "MKNOD",         [9] = "MKDIR",      [10] = "UNLINK",
    [11] = "RMDIR",        [12] = "RENAME",    [13] = "LINK",
    [14] = "OPEN",         [15] = "READ",      [16] = "WRITE",
    [17] = "STATFS",       [18] = "RELEASE",   [20] = "FSYNC",
    [21] = "SETXATTR",     [22] = "GETXATTR",  [23] = "LISTXATTR",
    [24] = "REMOVEXATTR",  [25] = "FLUSH",     [26] = "INIT",
    [27] = "OPENDIR",      [28] = "READDIR",   [29] = "RELEASEDIR",
    [30] = "FSYNCDIR",     [34] = "ACCESS",    [35] = "CREATE",
    [36] = "INTERRUPT",    [38] = "DESTROY",   [39] = "IOCTL",
    [42] = "BATCH_FORGET", [43] = "FALLOCATE", [44] = "READDIRPLUS",
    [45] = "RENAME2",      [46] = "LSEEK",     [47] = "COPY_FILE_RANGE",
  };
  g_autoptr (GString) line = g_string_new (NULL);
  for (guint i = 0; i < AFFS_REQ_OPCODES; i++) {
    gint64 n = __atomic_load_n (&fs->requests[i], __ATOMIC_RELAXED);
    if (n == 0)
      continue;
    if (names[i] != NULL)
      g_string_append_printf (line, " %s=%" G_GINT64_FORMAT, names[i], n);
    else
      g_string_append_printf (line, " op%u=%" G_GINT64_FORMAT, i, n);
  }
  g_debug ("requests:%s", line->len > 0 ? line->str : " (not counted: no I/O wrapper)");
}
