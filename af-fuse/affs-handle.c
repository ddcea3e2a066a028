/* affs-handle.c — open file handles: the fd each holds (counted against
 * the fd budget), lazy handles opened at their first use, and the file a
 * read-only handle reads after its path was given another file (copy-up,
 * commit).
 *
 * Must never: open a backing file by any route other than
 * affs_open_beneath / affs_resolve_open, or hand out a handle over the
 * budget. */
#include "affs-ops.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int
affs_handle_open (AfFs *fs, int fd, gboolean writable, AffsHandle **out)
{
  if (g_atomic_int_add (&fs->open_handles, 1) >= fs->max_handles) {
    g_atomic_int_add (&fs->open_handles, -1);
    if (fd >= 0)
      close (fd);
    return -ENFILE;
  }
  AffsHandle *h = g_new0 (AffsHandle, 1);
  h->fd = fd;
  h->read_fd = fd;
  h->writable = writable;
  /* Unknown generation: the first read that reaches us checks the file.
   * Openers that read the generation before resolving record it instead,
   * so a copy-up between their resolution and now is still noticed. */
  h->gen = g_atomic_int_get ((gint *)&fs->layer_gen) - 1;
  g_mutex_init (&h->lock);
  g_mutex_lock (&fs->handles_lock);
  g_hash_table_add (fs->handles, h);
  g_mutex_unlock (&fs->handles_lock);
  *out = h;
  return 0;
}

void
affs_handle_bind (AfFs *fs, AffsHandle *h, fuse_ino_t ino)
{
  h->ino = ino;
  affs_inode_handle_opened (fs, ino, h->fd, h->writable);
}

void
affs_handle_close (AfFs *fs, AffsHandle *h)
{
  affs_io_release (fs, h);
  g_mutex_lock (&h->lock);
  h->closing = TRUE;
  if (h->fd < 0)
    g_atomic_int_add (&fs->lazy_handles, -1);
  if (h->ino != 0)
    affs_inode_handle_closed (fs, h->ino, h->fd, h->writable);
  g_mutex_unlock (&h->lock);
  g_mutex_lock (&fs->handles_lock);
  g_hash_table_remove (fs->handles, h);
  g_mutex_unlock (&fs->handles_lock);
  if (h->fd >= 0)
    close (h->fd);
  for (GSList *l = h->retired; l != NULL; l = l->next) {
    close (GPOINTER_TO_INT (l->data));
    g_atomic_int_add (&fs->open_handles, -1);
  }
  if (h->read_fd != h->fd) {
    close (h->read_fd);
    g_atomic_int_add (&fs->open_handles, -1);
  }
  g_slist_free (h->retired);
  g_mutex_clear (&h->lock);
  g_free (h);
  g_atomic_int_add (&fs->open_handles, -1);
}

/* Open lazy handle @h's backing file: the file its inode's path resolves
 * to now (h->lock held). Non-blocking, so a path that became a FIFO cannot
 * hang the daemon; anything but a regular file is refused. */
static int
materialize_locked (AfFs *fs, AffsHandle *h)
{
  if (h->read_fd >= 0)
    return 0;
  if (h->closing)
    return -EBADF;
  guint gen = g_atomic_int_get ((gint *)&fs->layer_gen);
  g_autofree char *path = affs_inode_path (fs, h->ino, NULL);
  if (path == NULL)
    return -ENOENT;
  AffsNode node;
  int fd = -1;
  int r = affs_resolve_open (fs, path, h->open_flags | O_NONBLOCK, &node, &fd);
  if (r < 0)
    return r;
  if (!S_ISREG (node.st.st_mode)) {
    close (fd);
    return -EIO;
  }
  affs_inode_handle_opened (fs, h->ino, fd, FALSE);
  h->fd = fd;
  g_atomic_int_set ((gint *)&h->gen, gen);
  g_atomic_int_set (&h->read_fd, fd);
  g_atomic_int_add (&fs->lazy_handles, -1);
  return 0;
}

int
affs_handle_materialize (AfFs *fs, AffsHandle *h)
{
  if (g_atomic_int_get (&h->read_fd) >= 0)
    return 0;
  g_mutex_lock (&h->lock);
  int r = materialize_locked (fs, h);
  g_mutex_unlock (&h->lock);
  return r;
}

void
affs_handles_materialize (AfFs *fs, fuse_ino_t ino)
{
  if (g_atomic_int_get (&fs->lazy_handles) <= 0)
    return;
  /* Lock order: handles_lock, then a handle's lock, then fs->lock (what
   * affs_handle_close follows too, never holding two of the first). */
  g_mutex_lock (&fs->handles_lock);
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, fs->handles);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    AffsHandle *h = key;
    if ((ino != 0 && h->ino != ino) || g_atomic_int_get (&h->read_fd) >= 0)
      continue;
    g_mutex_lock (&h->lock);
    (void)materialize_locked (fs, h); /* a failure shows at the next read */
    g_mutex_unlock (&h->lock);
  }
  g_mutex_unlock (&fs->handles_lock);
}

/* The fd a read on @h uses: the file @ino's path resolves to now. Opened
 * read-only, a handle was bound to the layer the file was in; a writer's
 * copy-up (or a commit) since then made another file the content. */
int
affs_handle_read_fd (AfFs *fs, fuse_ino_t ino, AffsHandle *h)
{
  int r = affs_handle_materialize (fs, h);
  if (r < 0)
    return r;
  guint gen = g_atomic_int_get ((gint *)&fs->layer_gen);
  if (h->writable || (guint)g_atomic_int_get ((gint *)&h->gen) == gen)
    return g_atomic_int_get (&h->read_fd);
  g_mutex_lock (&h->lock);
  g_autofree char *path = affs_inode_path (fs, ino, NULL);
  AffsNode node;
  struct stat cur;
  if (path != NULL && affs_resolve (fs, path, &node) == 0 && S_ISREG (node.st.st_mode) &&
      fstat (h->read_fd, &cur) == 0 &&
      (cur.st_dev != node.st.st_dev || cur.st_ino != node.st.st_ino)) {
    /* Counted like a handle; over the budget the old file stays. */
    int fd = -EMFILE;
    if (g_atomic_int_add (&fs->open_handles, 1) < fs->max_handles)
      fd = affs_open_beneath (affs_layer_root (fs, &node), path, O_RDONLY, 0);
    if (fd >= 0) {
      if (h->read_fd != h->fd)
        h->retired = g_slist_prepend (h->retired, GINT_TO_POINTER (h->read_fd));
      g_atomic_int_set (&h->read_fd, fd);
    } else {
      g_atomic_int_add (&fs->open_handles, -1);
    }
  }
  g_atomic_int_set ((gint *)&h->gen, gen);
  g_mutex_unlock (&h->lock);
  return g_atomic_int_get (&h->read_fd);
}
