/* affs-ops.h — helpers shared by the FUSE operation files (affs-ops-*.c).
 * Owns nothing; see affs-ops-util.c. */
#pragma once

#include "affs.h"

G_BEGIN_DECLS

typedef struct {
  char *path;
  AffsNode node;
  AffsLevel level;
  int rule;
  gboolean exists; /* affs_child only */
} AffsTarget;

void affs_target_clear (AffsTarget *t);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AffsTarget, affs_target_clear)

/* Path, node and level of @ino; a hidden path is -ENOENT (and a denial). */
int affs_target (AfFs *fs, fuse_ino_t ino, AffsOp op, AffsTarget *t);
/* Path and node (if it exists: t->exists) of @name in @parent, which must
 * be a reachable directory. The level is not computed. */
int affs_child (AfFs *fs, fuse_ino_t parent, const char *name, AffsOp op, AffsTarget *t);
int affs_upper_parent (AfFs *fs, const char *path, const char **out_name);
/* 0 if @ino is a path the sandbox may see (or an unlinked open file),
 * -ENOENT (a denial) if hidden. From the table and the policy only: no
 * backing access, for answers that do not depend on the file itself. */
int affs_target_visible (AfFs *fs, fuse_ino_t ino, AffsOp op);
int affs_layer_root (AfFs *fs, const AffsNode *node);

/* Reply an error and return; counts allowed when @err is 0. */
#define AFFS_REPLY_ERR(req, fs, op, err)                                                           \
  do {                                                                                             \
    int e_ = (err);                                                                                \
    if (e_ >= 0)                                                                                   \
      affs_count ((fs), (op), TRUE);                                                               \
    fuse_reply_err ((req), e_ < 0 ? -e_ : e_);                                                     \
  } while (0)

/* How the kernel does a handle's I/O (affs-passthrough.c). */
typedef enum {
  AFFS_IO_CACHED,      /* through the page cache, misses read by us */
  AFFS_IO_PASSTHROUGH, /* the kernel reads and writes the backing file itself */
  AFFS_IO_DIRECT,      /* uncached, every read and write through us */
} AffsIo;

/* A file handle: one fd, counted against fs->max_handles. */
typedef struct {
  int fd;
  AffsIo io;
  AffsBacking *backing; /* AFFS_IO_PASSTHROUGH: a reference (fs->lock) */
  gboolean shareable;   /* fd is read-write without O_APPEND: registrable as is */
  gboolean drop_cache;  /* AFFS_IO_CACHED after passthrough writes: pages may be stale */
  gboolean writable;
  fuse_ino_t ino; /* set by affs_handle_bind; writers are counted on it */
  /* Read-only handles: the fd reads go to (atomic). It starts as @fd and
   * moves to the file the path resolves to now when the layers changed
   * (a copy-up by a writer, a commit): reads never mix old and new
   * content. Replaced fds stay open in @retired until release, so a read
   * running concurrently never sees its fd closed or reused. */
  int read_fd;
  guint gen;   /* fs->layer_gen when read_fd was last checked; atomic */
  GMutex lock; /* serializes the check; guards retired, and fd/read_fd/closing of lazy handles */
  GSList *retired; /* GINT_TO_POINTER (fd) */
  /* A lazy handle (read-only, small regular file, cached) is opened with
   * fd = read_fd = -1: a warm read is served from the page cache and
   * never reaches us, so the backing file is opened at the first request
   * that needs it (affs_handle_materialize) with @open_flags. */
  int open_flags;
  gboolean closing; /* release under way: never materialize again */
} AffsHandle;

int affs_handle_open (AfFs *fs, int fd, gboolean writable, AffsHandle **out);
void affs_handle_bind (AfFs *fs, AffsHandle *h, fuse_ino_t ino);
void affs_handle_close (AfFs *fs, AffsHandle *h);
/* Open the backing files of lazy handles, of inode @ino (0: all), before
 * the file they would resolve to goes away (unlink, rename over it,
 * commit, discard): an open file stays readable, as on any filesystem. */
void affs_handles_materialize (AfFs *fs, fuse_ino_t ino);
/* Open lazy handle @h now if it is not yet; 0 or -errno. */
int affs_handle_materialize (AfFs *fs, AffsHandle *h);
/* The fd a read on @h uses (opened if lazy, moved to the current file if
 * its path was given another one); -errno on failure. */
int affs_handle_read_fd (AfFs *fs, fuse_ino_t ino, AffsHandle *h);

/* ---- affs-passthrough.c ---- */
typedef struct {
  const struct stat *st; /* of the backing file opened */
  gboolean eligible;     /* passing through keeps the semantics of this open */
  gboolean writer;       /* the open may write */
  int backing_fd;        /* what to register (borrowed) if eligible */
  gboolean backing_writable;
} AffsIoRequest;
/* Wrap the session's I/O (before the loop starts); FALSE if libfuse refuses. */
gboolean affs_passthrough_install (AfFs *fs);
/* The next reply this thread sends is the INIT reply (from the init op). */
void affs_passthrough_arm_init (void);
/* Around fuse_reply_open/create of @h on this thread. */
void affs_passthrough_arm_open (const AffsHandle *h);
void affs_passthrough_disarm (void);
/* Log fs->requests (debug level): one line, opcodes by name. */
void affs_requests_log (AfFs *fs);
/* Set h->io (after affs_handle_bind) and count the handle on @ino. */
void affs_io_choose (AfFs *fs, AffsHandle *h, fuse_ino_t ino, const AffsIoRequest *rq);
void affs_io_release (AfFs *fs, AffsHandle *h);
/* An inode leaves the table (fs->lock held). */
void affs_inode_backing_drop (AfFs *fs, AffsInode *inode);

G_END_DECLS
