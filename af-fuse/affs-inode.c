/* affs-inode.c — the virtual inode table.
 *
 * Owns: the mapping between the numbers the kernel holds (fuse_ino_t) and
 * paths in the merged view, and the kernel's lookup counts. An ino is never
 * a pointer: every request's ino is looked up in a hash table, so a stale or
 * forged number yields ENOENT/ESTALE, never a wild access.
 *
 * Must never: do I/O, hold a file descriptor, or call into libfuse (an
 * inode's passthrough backing is released through affs-passthrough.c). */
#include "affs-ops.h"

#include <errno.h>
#include <sys/stat.h>

static void
inode_free (gpointer p)
{
  AffsInode *inode = p;
  g_slist_free (inode->open_fds);
  g_free (inode->path);
  g_free (inode);
}

void
affs_inodes_init (AfFs *fs)
{
  g_mutex_init (&fs->lock);
  fs->inodes = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, inode_free);
  fs->paths = g_hash_table_new (g_str_hash, g_str_equal);
  AffsInode *root = g_new0 (AffsInode, 1);
  root->ino = FUSE_ROOT_ID;
  root->path = g_strdup ("");
  root->nlookup = 1; /* never forgotten */
  root->type = S_IFDIR;
  G_STATIC_ASSERT (sizeof (fuse_ino_t) == sizeof (gint64));
  g_hash_table_insert (fs->inodes, &root->ino, root);
  g_hash_table_insert (fs->paths, root->path, root);
  fs->next_ino = FUSE_ROOT_ID + 1;
}

void
affs_inodes_clear (AfFs *fs)
{
  if (fs->inodes != NULL) {
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init (&iter, fs->inodes);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      affs_inode_backing_drop (fs, value);
  }
  g_clear_pointer (&fs->paths, g_hash_table_unref);
  g_clear_pointer (&fs->inodes, g_hash_table_unref);
  g_mutex_clear (&fs->lock);
}

char *
affs_inode_path (AfFs *fs, fuse_ino_t ino, mode_t *out_type)
{
  char *path = NULL;
  g_mutex_lock (&fs->lock);
  AffsInode *inode = g_hash_table_lookup (fs->inodes, &ino);
  if (inode != NULL && inode->path != NULL) {
    path = g_strdup (inode->path);
    if (out_type != NULL)
      *out_type = inode->type;
  }
  g_mutex_unlock (&fs->lock);
  return path;
}

fuse_ino_t
affs_inode_ref_path (AfFs *fs, const char *path, const struct stat *st)
{
  mode_t type = st->st_mode;
  g_mutex_lock (&fs->lock);
  AffsInode *inode = g_hash_table_lookup (fs->paths, path);
  if (inode != NULL && (inode->type & S_IFMT) != (type & S_IFMT) && inode->ino != FUSE_ROOT_ID) {
    /* The entry at this path was replaced behind the kernel's back (a
     * commit, a discard): give the new object a new ino, detach the old. */
    g_hash_table_remove (fs->paths, inode->path);
    g_clear_pointer (&inode->path, g_free);
    inode = NULL;
  }
  if (inode == NULL) {
    inode = g_new0 (AffsInode, 1);
    inode->ino = fs->next_ino++;
    inode->path = g_strdup (path);
    inode->type = type & S_IFMT;
    g_hash_table_insert (fs->inodes, &inode->ino, inode);
    g_hash_table_insert (fs->paths, inode->path, inode);
  }
  inode->nlookup++;
  inode->size = st->st_size;
  inode->nlink = st->st_nlink;
  fuse_ino_t ino = inode->ino;
  g_mutex_unlock (&fs->lock);
  return ino;
}

void
affs_inode_note_stat (AfFs *fs, fuse_ino_t ino, const struct stat *st)
{
  g_mutex_lock (&fs->lock);
  AffsInode *inode = g_hash_table_lookup (fs->inodes, &ino);
  if (inode != NULL && (inode->type & S_IFMT) == (st->st_mode & S_IFMT)) {
    inode->size = st->st_size;
    inode->nlink = st->st_nlink;
  }
  g_mutex_unlock (&fs->lock);
}

char *
affs_inode_info (AfFs *fs, fuse_ino_t ino, mode_t *out_type, gint64 *out_size, nlink_t *out_nlink)
{
  g_mutex_lock (&fs->lock);
  AffsInode *inode = g_hash_table_lookup (fs->inodes, &ino);
  char *path = NULL;
  /* Only an inode without passthrough opens: the size recorded at create
   * says nothing of what was written through the kernel since, and a new
   * open must join the backing file (which needs the file). */
  if (inode != NULL && inode->path != NULL && inode->backing == NULL) {
    path = g_strdup (inode->path);
    *out_type = inode->type;
    *out_size = inode->size;
    *out_nlink = inode->nlink;
  }
  g_mutex_unlock (&fs->lock);
  return path;
}

fuse_ino_t
affs_inode_find (AfFs *fs, const char *path)
{
  g_mutex_lock (&fs->lock);
  AffsInode *inode = g_hash_table_lookup (fs->paths, path);
  fuse_ino_t ino = inode != NULL ? inode->ino : 0;
  g_mutex_unlock (&fs->lock);
  return ino;
}

void
affs_inode_forget (AfFs *fs, fuse_ino_t ino, guint64 n)
{
  if (ino == FUSE_ROOT_ID)
    return;
  g_mutex_lock (&fs->lock);
  AffsInode *inode = g_hash_table_lookup (fs->inodes, &ino);
  if (inode != NULL) {
    inode->nlookup = n >= inode->nlookup ? 0 : inode->nlookup - n;
    if (inode->nlookup == 0) {
      affs_inode_backing_drop (fs, inode);
      if (inode->path != NULL)
        g_hash_table_remove (fs->paths, inode->path);
      g_hash_table_remove (fs->inodes, &ino);
    }
  }
  g_mutex_unlock (&fs->lock);
}

void
affs_inode_handle_opened (AfFs *fs, fuse_ino_t ino, int fd, gboolean writer)
{
  g_mutex_lock (&fs->lock);
  AffsInode *inode = g_hash_table_lookup (fs->inodes, &ino);
  if (inode != NULL) {
    inode->writers += writer ? 1 : 0;
    if (fd >= 0) /* a lazy handle has none yet */
      inode->open_fds = g_slist_prepend (inode->open_fds, GINT_TO_POINTER (fd));
  }
  g_mutex_unlock (&fs->lock);
}

void
affs_inode_handle_closed (AfFs *fs, fuse_ino_t ino, int fd, gboolean writer)
{
  g_mutex_lock (&fs->lock);
  AffsInode *inode = g_hash_table_lookup (fs->inodes, &ino);
  if (inode != NULL) {
    inode->writers -= writer ? 1 : 0;
    if (fd >= 0)
      inode->open_fds = g_slist_remove (inode->open_fds, GINT_TO_POINTER (fd));
  }
  g_mutex_unlock (&fs->lock);
}

int
affs_inode_fstat (AfFs *fs, fuse_ino_t ino, struct stat *st)
{
  int r = -ENOENT;
  g_mutex_lock (&fs->lock);
  AffsInode *inode = g_hash_table_lookup (fs->inodes, &ino);
  if (inode != NULL && inode->open_fds != NULL)
    r = fstat (GPOINTER_TO_INT (inode->open_fds->data), st) < 0 ? -errno : 0;
  g_mutex_unlock (&fs->lock);
  return r;
}

int
affs_inode_writers (AfFs *fs, fuse_ino_t ino)
{
  g_mutex_lock (&fs->lock);
  AffsInode *inode = g_hash_table_lookup (fs->inodes, &ino);
  int n = inode != NULL ? inode->writers : 0;
  g_mutex_unlock (&fs->lock);
  return n;
}

static gboolean
path_is_below (const char *path, const char *dir, gsize dir_len)
{
  return strncmp (path, dir, dir_len) == 0 && path[dir_len] == '/';
}

void
affs_inode_unlinked (AfFs *fs, const char *path)
{
  g_mutex_lock (&fs->lock);
  AffsInode *inode = g_hash_table_lookup (fs->paths, path);
  if (inode != NULL) {
    g_hash_table_remove (fs->paths, path);
    g_clear_pointer (&inode->path, g_free);
  }
  g_mutex_unlock (&fs->lock);
}

/* Under fs->lock: the inodes at or below @dir. */
static void
collect_subtree_locked (AfFs *fs, const char *dir, GPtrArray *out)
{
  gsize dir_len = strlen (dir);
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, fs->inodes);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    AffsInode *inode = value;
    if (inode->path != NULL &&
        (strcmp (inode->path, dir) == 0 || path_is_below (inode->path, dir, dir_len)))
      g_ptr_array_add (out, inode);
  }
}

/* Under fs->lock: give @moved (collected under @from) paths under @to. */
static void
repath_locked (AfFs *fs, GPtrArray *moved, const char *from, const char *to)
{
  gsize from_len = strlen (from);
  for (guint i = 0; i < moved->len; i++) {
    AffsInode *inode = moved->pdata[i];
    g_hash_table_remove (fs->paths, inode->path);
    char *new_path = g_strconcat (to, inode->path + from_len, NULL);
    g_free (inode->path);
    inode->path = new_path;
  }
}

static void
reinsert_locked (AfFs *fs, GPtrArray *moved)
{
  for (guint i = 0; i < moved->len; i++) {
    AffsInode *inode = moved->pdata[i];
    g_hash_table_replace (fs->paths, inode->path, inode);
  }
}

void
affs_inode_renamed (AfFs *fs, const char *from, const char *to)
{
  g_autoptr (GPtrArray) moved = g_ptr_array_new ();
  g_autoptr (GPtrArray) replaced = g_ptr_array_new ();
  g_mutex_lock (&fs->lock);
  /* The replaced target (and anything the kernel still holds below it) is
   * gone from the namespace. */
  collect_subtree_locked (fs, to, replaced);
  collect_subtree_locked (fs, from, moved);
  for (guint i = 0; i < replaced->len; i++) {
    AffsInode *inode = replaced->pdata[i];
    g_hash_table_remove (fs->paths, inode->path);
    g_clear_pointer (&inode->path, g_free);
  }
  repath_locked (fs, moved, from, to);
  reinsert_locked (fs, moved);
  g_mutex_unlock (&fs->lock);
}

void
affs_inode_exchanged (AfFs *fs, const char *a, const char *b)
{
  g_autoptr (GPtrArray) under_a = g_ptr_array_new ();
  g_autoptr (GPtrArray) under_b = g_ptr_array_new ();
  g_mutex_lock (&fs->lock);
  collect_subtree_locked (fs, a, under_a);
  collect_subtree_locked (fs, b, under_b);
  repath_locked (fs, under_a, a, b);
  repath_locked (fs, under_b, b, a);
  reinsert_locked (fs, under_a);
  reinsert_locked (fs, under_b);
  g_mutex_unlock (&fs->lock);
}

void
affs_inode_ref_clear (gpointer p)
{
  AffsInodeRef *ref = p;
  g_free (ref->name);
  g_free (ref->path);
}

GArray *
affs_inode_snapshot (AfFs *fs)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (AffsInodeRef));
  g_array_set_clear_func (out, affs_inode_ref_clear);
  g_mutex_lock (&fs->lock);
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, fs->inodes);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    AffsInode *inode = value;
    if (inode->path == NULL)
      continue;
    AffsInodeRef ref = { 0 };
    ref.ino = inode->ino;
    ref.type = inode->type;
    ref.path = g_strdup (inode->path);
    if (inode->ino != FUSE_ROOT_ID) {
      g_autofree char *dir = affs_path_dirname (inode->path);
      AffsInode *parent = g_hash_table_lookup (fs->paths, dir);
      ref.parent = parent != NULL ? parent->ino : 0;
      ref.name = g_strdup (affs_path_basename (inode->path));
    }
    g_array_append_val (out, ref);
  }
  g_mutex_unlock (&fs->lock);
  return out;
}
