/* affs-ops-util.c — what every FUSE operation does first: turn an ino (or
 * a parent ino and a name) into a path, a merged node and a level, and reply
 * with an entry.
 *
 * Must never: cache a level (it is decided again on every call) or trust an
 * ino it did not find in the table. */
#include "affs-ops.h"

#include <errno.h>
#include <string.h>

int
affs_target (AfFs *fs, fuse_ino_t ino, AffsOp op, AffsTarget *t)
{
  memset (t, 0, sizeof *t);
  t->rule = -1;
  mode_t type = 0;
  t->path = affs_inode_path (fs, ino, &type);
  if (fs->verbose)
    g_debug ("%s /%s", affs_op_name (op), t->path != NULL ? t->path : "(unlinked)");
  if (t->path == NULL)
    return -ENOENT;
  int r = affs_resolve (fs, t->path, &t->node);
  if (r < 0)
    return r;
  t->level = affs_level_now (fs, t->path, t->node.st.st_mode, &t->rule);
  if (t->level == AFFS_HIDDEN)
    return affs_deny (fs, op, t->path, t->rule, -ENOENT);
  return 0;
}

int
affs_child (AfFs *fs, fuse_ino_t parent, const char *name, AffsOp op, AffsTarget *t)
{
  memset (t, 0, sizeof *t);
  t->rule = -1;
  if (!affs_name_valid (name))
    return strlen (name) > 255 ? -ENAMETOOLONG : -EINVAL;
  mode_t ptype = 0;
  g_autofree char *ppath = affs_inode_path (fs, parent, &ptype);
  if (ppath == NULL)
    return -ENOENT;
  if (!S_ISDIR (ptype))
    return -ENOTDIR;
  /* The parent must still be reachable under the current rules. */
  if (affs_level_now (fs, ppath, S_IFDIR, NULL) == AFFS_HIDDEN)
    return affs_deny (fs, op, ppath, -1, -ENOENT);
  t->path = affs_path_join (ppath, name);
  if (fs->verbose)
    g_debug ("%s /%s", affs_op_name (op), t->path);
  int r = affs_resolve (fs, t->path, &t->node);
  if (r == 0)
    t->exists = TRUE;
  else if (r != -ENOENT)
    return r;
  return 0;
}

int
affs_target_visible (AfFs *fs, fuse_ino_t ino, AffsOp op)
{
  mode_t type = 0;
  g_autofree char *path = affs_inode_path (fs, ino, &type);
  if (path == NULL)
    return 0;
  int rule = -1;
  if (affs_level_now (fs, path, type, &rule) == AFFS_HIDDEN)
    return affs_deny (fs, op, path, rule, -ENOENT);
  return 0;
}

void
affs_target_clear (AffsTarget *t)
{
  g_clear_pointer (&t->path, g_free);
}

void
affs_reply_entry (fuse_req_t req, AfFs *fs, const char *path, const AffsNode *node)
{
  struct fuse_entry_param e = { 0 };
  affs_fill_attr (fs, path, node, &e.attr);
  e.ino = affs_inode_ref_path (fs, path, &node->st);
  e.generation = 1;
  e.attr_timeout = affs_attr_timeout (fs, &e.attr);
  e.entry_timeout = fs->timeout;
  if (fuse_reply_entry (req, &e) != 0)
    affs_inode_forget (fs, e.ino, 1); /* the kernel did not take the reference */
}

int
affs_upper_parent (AfFs *fs, const char *path, const char **out_name)
{
  return affs_open_parent (fs->upper_fd, path, out_name);
}

int
affs_layer_root (AfFs *fs, const AffsNode *node)
{
  return node->layer == AFFS_LAYER_UPPER ? fs->upper_fd : fs->src_fd;
}
