/* affs.h — af-fuse internals shared by its files: the filesystem state
 * (AfFs), the virtual inode table, backing access beneath the layer roots,
 * the merged (delta over source) view, the level of a path, and statistics.
 *
 * Owns nothing by itself; each section names the file that implements it.
 * Never include libfuse from outside af-fuse. */
#pragma once

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <glib.h>
#include <sys/stat.h>

#include "afpolicy.h"

G_BEGIN_DECLS

/* Our view of a path's level. TRAVERSE is a none directory that has a visible
 * descendant in the real tree: it can be looked up and lists only visible
 * children, and nothing else. */
typedef enum {
  AFFS_HIDDEN = 0,
  AFFS_TRAVERSE = 1,
  AFFS_VIEW = 2,
  AFFS_READ = 3,
  AFFS_WRITE = 4,
} AffsLevel;

typedef enum {
  AFFS_CONFLICT_LWW = 0,
  AFFS_CONFLICT_REJECT = 1,
} AffsConflict;

/* Operation kinds, for statistics and the Denied signal. */
typedef enum {
  AFFS_OP_LOOKUP,
  AFFS_OP_GETATTR,
  AFFS_OP_SETATTR,
  AFFS_OP_READLINK,
  AFFS_OP_MKNOD,
  AFFS_OP_MKDIR,
  AFFS_OP_UNLINK,
  AFFS_OP_RMDIR,
  AFFS_OP_SYMLINK,
  AFFS_OP_RENAME,
  AFFS_OP_LINK,
  AFFS_OP_OPEN,
  AFFS_OP_READ,
  AFFS_OP_WRITE,
  AFFS_OP_CREATE,
  AFFS_OP_OPENDIR,
  AFFS_OP_READDIR,
  AFFS_OP_ACCESS,
  AFFS_OP_STATFS,
  AFFS_OP_GETXATTR,
  AFFS_OP_LISTXATTR,
  AFFS_OP_SETXATTR,
  AFFS_OP_REMOVEXATTR,
  AFFS_OP_FALLOCATE,
  AFFS_OP_FSYNC,
  AFFS_OP_PASSTHROUGH, /* opens whose reads and writes the kernel does itself */
  AFFS_OP_N,
} AffsOp;

const char *affs_op_name (AffsOp op);

/* One inode of the virtual table. The kernel only ever sees `ino`; the path
 * is what every backing access resolves again from a layer root, so an
 * inode holds no file descriptor (the fd count is bounded whatever the tree
 * size and the kernel's cache settings). */
/* A backing file registered with the kernel for passthrough
 * (affs-passthrough.c). */
typedef struct _AffsBacking AffsBacking;

typedef struct {
  fuse_ino_t ino;
  char *path;       /* canonical relative ("" = root); NULL once unlinked. fs->lock */
  guint64 nlookup;  /* kernel references; fs->lock */
  mode_t type;      /* S_IFMT bits at lookup */
  gint writers;     /* open handles for writing; fs->lock */
  GSList *open_fds; /* GINT_TO_POINTER (fd) of open handles (borrowed); fs->lock */
  /* The kernel's I/O mode of this inode (affs-passthrough.c); fs->lock. */
  AffsBacking *backing; /* shared by pt_opens passthrough handles; NULL if none */
  guint pt_opens;
  guint cached_opens;  /* handles through the page cache */
  gboolean pt_written; /* written through passthrough since the last cached open */
  /* The backing file's size and link count when the kernel was last given
   * this inode's attributes (lookup, create, readdirplus, getattr,
   * setattr, link); fs->lock. A read-only open chooses its I/O mode from
   * them without touching the file (affs-ops-file.c, lazy handles). */
  gint64 size;
  nlink_t nlink;
} AffsInode;

/* A denial, handed to the control interface (which rate-limits it). */
typedef void (*AffsDeniedFunc) (const char *path, AffsOp op, int rule, gpointer user_data);

typedef struct {
  /* Layer roots: O_PATH directory fds, open for the whole life of the mount.
   * Every backing access is beneath one of them (affs-backing.c). */
  int src_fd;
  int upper_fd; /* <delta>/upper: the changed entries, mirrored */
  int work_fd;  /* <delta>/work: temporaries, same filesystem as upper */
  char *source_path;
  char *delta_path;
  char *mountpoint;
  char *sandbox_id; /* for log fields; may be NULL */
  gboolean verbose;
  AffsConflict conflict;
  double timeout; /* entry/attr timeout handed to the kernel */
  int threads;    /* FUSE worker threads (affs-session.c explains the default) */

  /* The policy: swapped whole by UpdateRules. policy_lock guards the
   * pointer only; a decision runs on a ref without any lock. */
  GMutex policy_lock;
  AfPolicy *policy;

  /* Inode table. Lock order: delta_lock before lock; never call into the
   * kernel (notify_*) with either held. */
  GMutex lock;
  GHashTable *inodes; /* fuse_ino_t → AffsInode* (owned) */
  GHashTable *paths;  /* path → AffsInode* (borrowed, key is inode->path) */
  fuse_ino_t next_ino;

  /* Caches of derived facts about directories; cleared whole on any
   * namespace change or rule change. cache_lock only. */
  GMutex cache_lock;
  GHashTable *lower_visible; /* dir path → GINT_TO_POINTER (1 + visible) */
  GHashTable *reveals;       /* dir path → GINT_TO_POINTER (1 + reveals) */
  GHashTable *upper_dirs;    /* dir path → GINT_TO_POINTER (1 + exists in upper) */
  GHashTable *dir_nlink;     /* dir path → GINT_TO_POINTER (1 + visible link count) */
  guint cache_gen;           /* bumped by every clear: a value computed across a
                              * clear is not stored (affs_cache_put) */
  /* Names the kernel was told do not exist, for the entry timeout (keys
   * "<parent ino>/<name>", owned): the kernel cannot list its negative
   * dentries, so an invalidation of the view drops these one by one
   * (affs-invalidate.c). Bounded by AFFS_NEGATIVE_MAX; not cleared by
   * affs_caches_clear. cache_lock. */
  GHashTable *negatives;

  /* Serializes every change to the upper layer (copy-up, whiteouts, opaque
   * marks, renames, commit, discard): the merged view stays consistent
   * without per-path locks. Data writes through open fds do not take it. */
  GMutex delta_lock;

  /* Open handles hold one fd each; bounded by max_handles (from the fd
   * limit) so the process can never run out of fds. Atomic. */
  gint open_handles;
  gint max_handles;
  /* Every live handle (AffsHandle*, owned), so a shutdown with releases
   * still in flight closes them. handles_lock only. */
  GMutex handles_lock;
  GHashTable *handles;
  GHashTable *dir_handles; /* directory handles (owned, freed on removal) */
  gint lazy_handles;       /* handles not opened yet (affs-ops-file.c); atomic */

  struct fuse_session *se;
  struct _AffsSession *session; /* affs-session.h */
  /* Without root (affs-rootless.c): marks are user.agentfense.* xattrs, and
   * fusermount3 made the mount at this absolute path (so it also takes it
   * away, after a daemonizing chdir too); NULL when libfuse mounted. */
  gboolean user_xattrs;
  char *fusermount_path;

  /* Bumped (atomic) whenever the file a path resolves to may have changed
   * behind open read-only handles: copy-up, commit, discard, another
   * sandbox's commit. A handle that saw an older value checks its file
   * again before reading (affs-ops-file.c). */
  guint layer_gen;

  /* Passthrough (affs-passthrough.c): offered by the kernel at INIT,
   * accepted in our reply, and on (atomic) once a registration works; off
   * again for good if the kernel refuses one for every file. */
  gboolean passthrough_offered;
  gboolean passthrough_accepted;
  gint passthrough;
  gint64 passthrough_min_size; /* smaller files read through the page cache */

  /* Requests read from the kernel, by opcode (< AFFS_REQ_OPCODES; atomic),
   * counted by the I/O wrapper (affs-passthrough.c) when installed, and
   * logged at exit with --verbose: how many round trips a workload costs. */
#define AFFS_REQ_OPCODES 64
  gint64 requests[AFFS_REQ_OPCODES];

  /* Statistics: atomic counters. */
  gint64 op_allowed[AFFS_OP_N];
  gint64 op_denied[AFFS_OP_N];
  gint64 bytes_read;
  gint64 bytes_written;

  AffsDeniedFunc denied_func;
  gpointer denied_data;
} AfFs;

/* ---- affs-inode.c: the virtual inode table ---- */
void affs_inodes_init (AfFs *fs);
void affs_inodes_clear (AfFs *fs);
/* Copy of the path of @ino (NULL if unknown or unlinked); @out_type may be NULL. */
char *affs_inode_path (AfFs *fs, fuse_ino_t ino, mode_t *out_type);
/* The inode of @path, created if needed, with its lookup count raised by
 * one; @st (the backing file's) gives its type, size and link count. */
fuse_ino_t affs_inode_ref_path (AfFs *fs, const char *path, const struct stat *st);
/* Record the size and link count of @st on @ino (attributes just given). */
void affs_inode_note_stat (AfFs *fs, fuse_ino_t ino, const struct stat *st);
/* Copy of the path of @ino with its type, size and link count as recorded;
 * NULL if unknown, unlinked, or open in passthrough mode. */
char *affs_inode_info (AfFs *fs, fuse_ino_t ino, mode_t *out_type, gint64 *out_size,
                       nlink_t *out_nlink);
/* The ino for @path if the kernel knows it, else 0. */
fuse_ino_t affs_inode_find (AfFs *fs, const char *path);
void affs_inode_forget (AfFs *fs, fuse_ino_t ino, guint64 n);
/* Open handles on @ino: counted for writers (commit keeps such files in
 * the delta) and remembered so an unlinked open file can still be stat'ed. */
void affs_inode_handle_opened (AfFs *fs, fuse_ino_t ino, int fd, gboolean writer);
void affs_inode_handle_closed (AfFs *fs, fuse_ino_t ino, int fd, gboolean writer);
/* fstat through any open handle of @ino; -ENOENT if none. */
int affs_inode_fstat (AfFs *fs, fuse_ino_t ino, struct stat *st);
int affs_inode_writers (AfFs *fs, fuse_ino_t ino);
/* Namespace changes, mirrored in the table. */
void affs_inode_unlinked (AfFs *fs, const char *path);
void affs_inode_renamed (AfFs *fs, const char *from, const char *to);
void affs_inode_exchanged (AfFs *fs, const char *a, const char *b);
/* Every known inode as (parent ino, name, ino), for kernel cache
 * invalidation outside the lock. @prefix limits to a subtree (NULL = all). */
typedef struct {
  fuse_ino_t parent;
  fuse_ino_t ino;
  char *name;
  char *path;
  mode_t type;
} AffsInodeRef;
GArray *affs_inode_snapshot (AfFs *fs);
void affs_inode_ref_clear (gpointer p);

/* ---- affs-backing.c: access beneath a layer root, the merged view ---- */
/* openat2 (root, path, flags | O_NOFOLLOW | O_CLOEXEC) with RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS. "" opens the root itself.
 * Returns an fd or -errno. */
int affs_open_beneath (int root, const char *path, int flags, mode_t mode);
/* lstat of @path beneath @root; 0 or -errno. */
int affs_lstat_beneath (int root, const char *path, struct stat *st);
/* The parent directory of @path (O_PATH) and a pointer to its last
 * component; -errno on failure. */
int affs_open_parent (int root, const char *path, const char **out_name);

char *affs_path_join (const char *dir, const char *name);
char *affs_path_dirname (const char *path);
const char *affs_path_basename (const char *path);
char *affs_path_abs (const char *path); /* "/" + path, for the policy */
gboolean affs_name_valid (const char *name);

typedef enum {
  AFFS_LAYER_UPPER,
  AFFS_LAYER_LOWER,
} AffsLayer;

typedef struct {
  AffsLayer layer;
  struct stat st;     /* of the entry in @layer */
  gboolean has_lower; /* a visible lower entry exists at this path */
  gboolean opaque;    /* upper directory hiding the lower one */
} AffsNode;

/* Resolve @path in the merged view: 0, -ENOENT (absent or whited out), or
 * another -errno. */
int affs_resolve (AfFs *fs, const char *path, AffsNode *out);
/* affs_resolve, and the entry opened with @flags (a read-only open of a
 * regular file): below a directory the delta never touched, one open and
 * one fstat instead of a resolution and then an open. *@out_fd is the fd
 * (owned by the caller) when 0 is returned. */
int affs_resolve_open (AfFs *fs, const char *path, int flags, AffsNode *out, int *out_fd);
/* TRUE if lower entries directly below directory @path are part of the view. */
gboolean affs_dir_lower_visible (AfFs *fs, const char *path);
/* Does directory @path exist in upper? (cached; "" always does) */
gboolean affs_upper_has_dir (AfFs *fs, const char *path);
void affs_caches_clear (AfFs *fs);
void affs_layers_changed (AfFs *fs);
/* The derived-fact caches: take the generation before computing, store
 * with it; a clear in between makes the store a no-op. */
guint affs_cache_gen (AfFs *fs);
gboolean affs_cache_get (AfFs *fs, GHashTable *table, const char *key, int *out_value);
void affs_cache_put (AfFs *fs, GHashTable *table, const char *key, int value, guint gen);

typedef struct {
  char *name;
  unsigned char type; /* DT_* */
} AffsDirent;

/* The merged listing of directory @path, without policy filtering (so rmdir
 * can see hidden entries); NULL with -errno in @out_err. Elements are
 * AffsDirent, cleared by the array. Sorted by name for stable offsets. */
GArray *affs_list_merged (AfFs *fs, const char *path, int *out_err);
/* Is the upper entry at @path (already lstat'ed as @st) a whiteout? */
gboolean affs_is_whiteout (const struct stat *st);
gboolean affs_upper_is_opaque (AfFs *fs, const char *path);

/* ---- affs-access.c: levels, statistics, denials ---- */
AfPolicy *affs_policy_get (AfFs *fs); /* a ref */
void affs_policy_set (AfFs *fs, AfPolicy *policy);
/* The level of @path (of file type @type) under @policy; @out_rule may be NULL. */
AffsLevel affs_level (AfFs *fs, AfPolicy *policy, const char *path, mode_t type, int *out_rule);
/* Convenience: the level under the current policy. */
AffsLevel affs_level_now (AfFs *fs, const char *path, mode_t type, int *out_rule);
void affs_count (AfFs *fs, AffsOp op, gboolean allowed);
/* Record a denial (counts it and notifies); returns @err for tail calls. */
int affs_deny (AfFs *fs, AffsOp op, const char *path, int rule, int err);
void affs_fill_attr (AfFs *fs, const char *path, const AffsNode *node, struct stat *out);
/* How long the kernel may keep @st: fs->timeout, except for a regular file
 * with several names, whose names are separate inodes here (a write
 * through one must show through the others at once: see affs-access.c). */
double affs_attr_timeout (AfFs *fs, const struct stat *st);

/* ---- affs-delta.c: the upper layer (caller holds delta_lock) ---- */
/* Make sure directory @path exists in upper, copying attributes from lower. */
int affs_upper_mkdirs (AfFs *fs, const char *path);
/* Copy the lower entry at @path up, unless it is already in upper. */
int affs_copy_up (AfFs *fs, const char *path, const AffsNode *node);
/* Copy a whole merged directory tree up so it no longer depends on lower
 * (a directory rename moves only upper entries). */
int affs_copy_up_tree (AfFs *fs, const char *path);
/* Remove @path from upper if present and whiteout it if lower has it. */
int affs_delete (AfFs *fs, const char *path, const AffsNode *node);
/* Prepare @path in upper for a new entry: parents exist, a whiteout there is
 * removed. Sets *@out_was_whiteout. */
int affs_prepare_create (AfFs *fs, const char *path, gboolean *out_was_whiteout);
int affs_make_whiteout (AfFs *fs, const char *path);
int affs_set_opaque (AfFs *fs, int dirfd_upper, const char *name);
/* Remove the whiteouts inside upper directory @path (it is empty in the view). */
int affs_clear_whiteouts (AfFs *fs, const char *path);
/* Owner of new entries: the caller. */
void affs_chown_new (int parentfd, const char *name, fuse_req_t req);
/* Remove a tree beneath @root (never following symlinks). */
int affs_remove_tree (int root, const char *path);

/* ---- affs-rootless.c: marks and mounting without root ---- */
typedef enum {
  AFFS_MARK_OPAQUE,
  AFFS_MARK_ORIGIN,
  AFFS_MARK_COMMIT,
  AFFS_MARK_PENDING, /* a commit temporary's name (affs-commit.c) */
} AffsMark;
/* The xattr name of @mark in this delta's scheme (trusted.* or user.*). */
const char *affs_mark_name (const AfFs *fs, AffsMark mark);
#define AFFS_XATTR_OPAQUE(fs) affs_mark_name ((fs), AFFS_MARK_OPAQUE)
#define AFFS_XATTR_ORIGIN(fs) affs_mark_name ((fs), AFFS_MARK_ORIGIN)
#define AFFS_XATTR_COMMIT(fs) affs_mark_name ((fs), AFFS_MARK_COMMIT)
#define AFFS_XATTR_PENDING(fs) affs_mark_name ((fs), AFFS_MARK_PENDING)
/* Pick the delta's scheme (recorded in the delta; user.* without root). */
gboolean affs_marks_init (AfFs *fs, GError **error);
/* A view xattr name (user.*) as stored in the layers (escaped). */
char *affs_xattr_to_backing (const AfFs *fs, const char *name);
/* TRUE for a stored name that is one of our marks (never shown, never copied). */
gboolean affs_xattr_is_mark (const AfFs *fs, const char *backing);
/* Append the view name of stored @backing with its NUL, if the view shows it. */
void affs_xattr_append_view_name (const AfFs *fs, const char *backing, GString *out);
/* Mount through fusermount3; returns the /dev/fuse fd. */
int affs_fusermount_mount (AfFs *fs, const char *mountpoint, const char *opts, GError **error);
/* Unmount what affs_fusermount_mount mounted; nothing otherwise. */
void affs_fusermount_unmount (AfFs *fs);

/* ---- affs-ops-*.c: the FUSE operations ---- */
void affs_ops_meta (struct fuse_lowlevel_ops *ops);
void affs_ops_dir (struct fuse_lowlevel_ops *ops);
void affs_ops_file (struct fuse_lowlevel_ops *ops);
void affs_ops_ns (struct fuse_lowlevel_ops *ops);
void affs_dir_handle_free (gpointer handle);
void affs_reply_entry (fuse_req_t req, AfFs *fs, const char *path, const AffsNode *node);

static inline AfFs *
affs_from_req (fuse_req_t req)
{
  return (AfFs *)fuse_req_userdata (req);
}

/* ---- affs-invalidate.c: kernel cache invalidation (no locks held) ---- */
void affs_invalidate_all (AfFs *fs);
void affs_invalidate_paths (AfFs *fs, const char *const *paths);
/* Attributes only, of every regular file: a hard link changed a link count
 * that other names (other inodes here) show. */
void affs_invalidate_file_attrs (AfFs *fs);
/* Record that the kernel may cache "@name does not exist in @parent";
 * FALSE (do not let it) when the record is full. */
gboolean affs_negative_note (AfFs *fs, fuse_ino_t parent, const char *name);

/* ---- affs-commit.c: commit, discard, changes (takes delta_lock) ---- */
typedef struct {
  GPtrArray *added;
  GPtrArray *modified;
  GPtrArray *deleted;
  GPtrArray *conflicts;
} AffsChanges;
AffsChanges *affs_changes_new (void);
void affs_changes_free (AffsChanges *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AffsChanges, affs_changes_free)
gboolean affs_get_changes (AfFs *fs, AffsChanges *out, GError **error);
gboolean affs_commit (AfFs *fs, AffsChanges *out, GError **error);
gboolean affs_discard (AfFs *fs, GError **error);

G_END_DECLS
