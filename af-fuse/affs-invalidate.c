/* affs-invalidate.c — telling the kernel to forget what it cached.
 *
 * Owns: the calls to fuse_lowlevel_notify_inval_*. Long entry/attr timeouts
 * and kept page and readdir caches are only correct because every event
 * that changes what the view shows without passing through the kernel (a
 * rule change, a commit or discard, another sandbox's commit) ends here.
 *
 * Must never: be called with fs->lock, fs->delta_lock or cache_lock held
 * (the kernel may call back into the filesystem while it invalidates). */
#include "affs.h"

#include <errno.h>

static void
invalidate_ref (AfFs *fs, const AffsInodeRef *ref)
{
  if (fs->se == NULL)
    return;
  (void)fuse_lowlevel_notify_inval_inode (fs->se, ref->ino, 0, 0);
  if (ref->parent != 0 && ref->name != NULL)
    (void)fuse_lowlevel_notify_inval_entry (fs->se, ref->parent, ref->name, strlen (ref->name));
}

void
affs_invalidate_all (AfFs *fs)
{
  affs_caches_clear (fs);
  g_autoptr (GArray) refs = affs_inode_snapshot (fs);
  /* Order does not matter: an ino the kernel already dropped (because its
   * parent's dentry went first) is simply unknown to it (ENOENT, ignored). */
  for (guint i = 0; i < refs->len; i++)
    invalidate_ref (fs, &g_array_index (refs, AffsInodeRef, i));
}

void
affs_invalidate_paths (AfFs *fs, const char *const *paths)
{
  affs_caches_clear (fs);
  affs_layers_changed (fs);
  g_autoptr (GArray) refs = affs_inode_snapshot (fs);
  for (guint i = 0; i < refs->len; i++) {
    AffsInodeRef *ref = &g_array_index (refs, AffsInodeRef, i);
    for (const char *const *p = paths; *p != NULL; p++) {
      gsize len = strlen (*p);
      /* The path itself, what is below it, and its ancestors (their
       * listings and link counts). */
      if (strcmp (ref->path, *p) == 0 ||
          (strncmp (ref->path, *p, len) == 0 && ref->path[len] == '/') ||
          (strncmp (*p, ref->path, strlen (ref->path)) == 0 &&
           ((*p)[strlen (ref->path)] == '/' || ref->path[0] == '\0'))) {
        invalidate_ref (fs, ref);
        break;
      }
    }
  }
}

void
affs_invalidate_file_attrs (AfFs *fs)
{
  if (fs->se == NULL)
    return;
  g_autoptr (GArray) refs = affs_inode_snapshot (fs);
  for (guint i = 0; i < refs->len; i++) {
    AffsInodeRef *ref = &g_array_index (refs, AffsInodeRef, i);
    if (S_ISREG (ref->type))
      (void)fuse_lowlevel_notify_inval_inode (fs->se, ref->ino, -1, 0);
  }
}
