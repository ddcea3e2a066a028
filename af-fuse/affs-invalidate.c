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

/* Negative entries outstanding at most: one key each (~40 bytes + name). */
#define AFFS_NEGATIVE_MAX 20000

gboolean
affs_negative_note (AfFs *fs, fuse_ino_t parent, const char *name)
{
  g_autofree char *key = g_strdup_printf ("%" G_GUINT64_FORMAT "/%s", (guint64)parent, name);
  g_mutex_lock (&fs->cache_lock);
  gboolean ok = g_hash_table_contains (fs->negatives, key) ||
                g_hash_table_size (fs->negatives) < AFFS_NEGATIVE_MAX;
  if (ok)
    g_hash_table_add (fs->negatives, g_steal_pointer (&key));
  g_mutex_unlock (&fs->cache_lock);
  return ok;
}

/* Drop every negative entry handed out: a name absent before a commit,
 * a discard (whiteouts gone), another sandbox's commit or a rule change
 * may name something now. Names created through the mount since were
 * replaced in the kernel already; telling it again costs nothing. */
static void
invalidate_negatives (AfFs *fs)
{
  g_mutex_lock (&fs->cache_lock);
  GHashTable *old = fs->negatives;
  fs->negatives = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_mutex_unlock (&fs->cache_lock);
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, old);
  while (fs->se != NULL && g_hash_table_iter_next (&iter, &key, NULL)) {
    const char *slash = strchr (key, '/');
    fuse_ino_t parent = (fuse_ino_t)g_ascii_strtoull (key, NULL, 10);
    if (slash != NULL)
      (void)fuse_lowlevel_notify_inval_entry (fs->se, parent, slash + 1, strlen (slash + 1));
  }
  g_hash_table_unref (old);
}

void
affs_invalidate_all (AfFs *fs)
{
  affs_caches_clear (fs);
  invalidate_negatives (fs);
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
  invalidate_negatives (fs);
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
