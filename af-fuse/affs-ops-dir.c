/* affs-ops-dir.c — FUSE directory reading: opendir, readdir, readdirplus,
 * releasedir, fsyncdir.
 *
 * A listing is the merged view filtered by policy: hidden names never
 * appear, a traversable none directory lists only what is visible. The
 * listing is taken at offset 0 and served from the handle after that, so
 * offsets stay stable while the directory changes. The kernel may cache it
 * (cache_readdir): every rule change invalidates every inode, and local
 * changes drop the cache through the kernel's own bookkeeping.
 *
 * Must never: hold a backing fd in a handle (fds stay bounded). */
#include "affs-ops.h"

#include <dirent.h>
#include <errno.h>

typedef struct {
  GMutex lock;
  GArray *entries; /* AffsDirent, visible only; NULL until the first read */
} AffsDirHandle;

static void
op_opendir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  AfFs *fs = affs_from_req (req);
  g_auto (AffsTarget) t = { 0 };
  int r = affs_target (fs, ino, AFFS_OP_OPENDIR, &t);
  if (r == 0 && !S_ISDIR (t.node.st.st_mode))
    r = -ENOTDIR;
  if (r < 0) {
    fuse_reply_err (req, -r);
    return;
  }
  AffsDirHandle *h = g_new0 (AffsDirHandle, 1);
  g_mutex_init (&h->lock);
  fi->fh = (uintptr_t)h;
  /* The kernel may keep listings between opens: anything that changes one
   * (a rule change, a commit, a discard, a local change) invalidates it. */
  fi->cache_readdir = 1;
  fi->keep_cache = 1;
  affs_count (fs, AFFS_OP_OPENDIR, TRUE);
  g_mutex_lock (&fs->handles_lock);
  g_hash_table_add (fs->dir_handles, h);
  g_mutex_unlock (&fs->handles_lock);
  if (fuse_reply_open (req, fi) != 0) {
    g_mutex_lock (&fs->handles_lock);
    g_hash_table_remove (fs->dir_handles, h);
    g_mutex_unlock (&fs->handles_lock);
  }
}

static int
fill_listing (AfFs *fs, fuse_ino_t ino, AffsDirHandle *h)
{
  g_auto (AffsTarget) t = { 0 };
  int r = affs_target (fs, ino, AFFS_OP_READDIR, &t);
  if (r < 0)
    return r;
  int err = 0;
  g_autoptr (GArray) all = affs_list_merged (fs, t.path, &err);
  if (all == NULL)
    return err;
  g_autoptr (AfPolicy) policy = affs_policy_get (fs);
  GArray *vis = g_array_sized_new (FALSE, TRUE, sizeof (AffsDirent), all->len);
  g_array_set_clear_func (vis, (GDestroyNotify)NULL);
  for (guint i = 0; i < all->len; i++) {
    AffsDirent *e = &g_array_index (all, AffsDirent, i);
    g_autofree char *child = affs_path_join (t.path, e->name);
    if (affs_level (fs, policy, child, DTTOIF (e->type), NULL) == AFFS_HIDDEN)
      continue;
    AffsDirent copy = { g_steal_pointer (&e->name), e->type };
    g_array_append_val (vis, copy);
  }
  if (h->entries != NULL) {
    for (guint i = 0; i < h->entries->len; i++)
      g_free (g_array_index (h->entries, AffsDirent, i).name);
    g_array_unref (h->entries);
  }
  h->entries = vis;
  return 0;
}

static void
do_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi,
            gboolean plus)
{
  AfFs *fs = affs_from_req (req);
  AffsDirHandle *h = (AffsDirHandle *)(uintptr_t)fi->fh;
  g_autofree char *dirpath = affs_inode_path (fs, ino, NULL);
  g_mutex_lock (&h->lock);
  int r = 0;
  if (off == 0 || h->entries == NULL)
    r = fill_listing (fs, ino, h);
  if (r < 0 || dirpath == NULL) {
    g_mutex_unlock (&h->lock);
    fuse_reply_err (req, r < 0 ? -r : ENOENT);
    return;
  }
  size = MIN (size, (size_t)1 << 20);
  g_autofree char *buf = g_malloc (size);
  size_t pos = 0;
  /* Offsets: 1 and 2 are "." and "..", entry i is i + 3. */
  for (off_t i = off; i < (off_t)h->entries->len + 2; i++) {
    const char *name;
    struct stat st = { 0 };
    struct fuse_entry_param e = { 0 };
    g_autofree char *child = NULL;
    AffsNode node;
    if (i < 2) {
      name = i == 0 ? "." : "..";
      st.st_mode = S_IFDIR;
      st.st_ino = 1;
    } else {
      AffsDirent *de = &g_array_index (h->entries, AffsDirent, i - 2);
      name = de->name;
      child = affs_path_join (dirpath, de->name);
      st.st_mode = DTTOIF (de->type);
      st.st_ino = g_str_hash (child) | 1u;
      if (plus && affs_resolve (fs, child, &node) == 0) {
        affs_fill_attr (fs, child, &node, &e.attr);
        e.ino = affs_inode_ref_path (fs, child, &node.st);
        e.generation = 1;
        e.attr_timeout = affs_attr_timeout (fs, &e.attr);
        e.entry_timeout = fs->timeout;
      }
    }
    size_t n;
    if (plus) {
      if (e.ino == 0)
        e.attr = st;
      n = fuse_add_direntry_plus (req, buf + pos, size - pos, name, &e, i + 1);
    } else {
      n = fuse_add_direntry (req, buf + pos, size - pos, name, &st, i + 1);
    }
    if (n > size - pos) {
      if (e.ino != 0)
        affs_inode_forget (fs, e.ino, 1);
      break;
    }
    pos += n;
  }
  g_mutex_unlock (&h->lock);
  affs_count (fs, AFFS_OP_READDIR, TRUE);
  fuse_reply_buf (req, buf, pos);
}

static void
op_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  do_readdir (req, ino, size, off, fi, FALSE);
}

static void
op_readdirplus (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  do_readdir (req, ino, size, off, fi, TRUE);
}

void
affs_dir_handle_free (gpointer handle)
{
  AffsDirHandle *h = handle;
  if (h->entries != NULL) {
    for (guint i = 0; i < h->entries->len; i++)
      g_free (g_array_index (h->entries, AffsDirent, i).name);
    g_array_unref (h->entries);
  }
  g_mutex_clear (&h->lock);
  g_free (h);
}

static void
op_releasedir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  AfFs *fs = affs_from_req (req);
  g_mutex_lock (&fs->handles_lock);
  g_hash_table_remove (fs->dir_handles, (gpointer)(uintptr_t)fi->fh);
  g_mutex_unlock (&fs->handles_lock);
  fuse_reply_err (req, 0);
}

static void
op_fsyncdir (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
  fuse_reply_err (req, 0);
}

void
affs_ops_dir (struct fuse_lowlevel_ops *ops)
{
  ops->opendir = op_opendir;
  ops->readdir = op_readdir;
  ops->readdirplus = op_readdirplus;
  ops->releasedir = op_releasedir;
  ops->fsyncdir = op_fsyncdir;
}
