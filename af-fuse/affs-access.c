/* affs-access.c — the level of a path, statistics, denials, and what stat
 * shows.
 *
 * Owns: the translation from a libafpolicy decision to what the view does,
 * including implied traversal (a none directory with a visible descendant
 * in the real tree), and the attribute fix-ups that keep stat from
 * revealing hidden entries (directory link counts and sizes).
 *
 * Must never: match patterns itself (libafpolicy decides), or cache a
 * decision past a rule change (the caches here are cleared by
 * affs_policy_set). */
#include "affs.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>

static const char *const op_names[AFFS_OP_N] = {
  [AFFS_OP_LOOKUP] = "lookup",
  [AFFS_OP_GETATTR] = "getattr",
  [AFFS_OP_SETATTR] = "setattr",
  [AFFS_OP_READLINK] = "readlink",
  [AFFS_OP_MKNOD] = "mknod",
  [AFFS_OP_MKDIR] = "mkdir",
  [AFFS_OP_UNLINK] = "unlink",
  [AFFS_OP_RMDIR] = "rmdir",
  [AFFS_OP_SYMLINK] = "symlink",
  [AFFS_OP_RENAME] = "rename",
  [AFFS_OP_LINK] = "link",
  [AFFS_OP_OPEN] = "open",
  [AFFS_OP_READ] = "read",
  [AFFS_OP_WRITE] = "write",
  [AFFS_OP_CREATE] = "create",
  [AFFS_OP_OPENDIR] = "opendir",
  [AFFS_OP_READDIR] = "readdir",
  [AFFS_OP_ACCESS] = "access",
  [AFFS_OP_STATFS] = "statfs",
  [AFFS_OP_GETXATTR] = "getxattr",
  [AFFS_OP_LISTXATTR] = "listxattr",
  [AFFS_OP_SETXATTR] = "setxattr",
  [AFFS_OP_REMOVEXATTR] = "removexattr",
  [AFFS_OP_FALLOCATE] = "fallocate",
  [AFFS_OP_FSYNC] = "fsync",
  [AFFS_OP_PASSTHROUGH] = "passthrough",
};

const char *
affs_op_name (AffsOp op)
{
  return op < AFFS_OP_N ? op_names[op] : "unknown";
}

AfPolicy *
affs_policy_get (AfFs *fs)
{
  g_mutex_lock (&fs->policy_lock);
  AfPolicy *p = af_policy_ref (fs->policy);
  g_mutex_unlock (&fs->policy_lock);
  return p;
}

void
affs_policy_set (AfFs *fs, AfPolicy *policy)
{
  g_mutex_lock (&fs->policy_lock);
  AfPolicy *old = fs->policy;
  fs->policy = af_policy_ref (policy);
  g_mutex_unlock (&fs->policy_lock);
  if (old != NULL)
    af_policy_unref (old);
  affs_caches_clear (fs);
}

/* Deepest directory level the traversal confirmation descends. */
#define AFFS_REVEAL_MAX_DEPTH 64

/* Does any entry below directory @path decide at least view? Walks the
 * merged tree, descending only where the static half says it might. */
static gboolean
dir_reveals (AfFs *fs, AfPolicy *policy, const char *path, int depth)
{
  if (depth > AFFS_REVEAL_MAX_DEPTH)
    return FALSE;
  int v;
  if (affs_cache_get (fs, fs->reveals, path, &v))
    return v;
  guint gen = affs_cache_gen (fs);
  gboolean reveals = FALSE;
  int err = 0;
  g_autoptr (GArray) list = affs_list_merged (fs, path, &err);
  for (guint i = 0; list != NULL && i < list->len && !reveals; i++) {
    AffsDirent *e = &g_array_index (list, AffsDirent, i);
    g_autofree char *child = affs_path_join (path, e->name);
    g_autofree char *abs = affs_path_abs (child);
    if (af_policy_decide (policy, abs, -1, NULL) >= AF_LEVEL_VIEW)
      reveals = TRUE;
    else if (e->type == DT_DIR && af_policy_may_reveal_below (policy, abs, -1))
      reveals = dir_reveals (fs, policy, child, depth + 1);
  }
  affs_cache_put (fs, fs->reveals, path, reveals, gen);
  return reveals;
}

AffsLevel
affs_level (AfFs *fs, AfPolicy *policy, const char *path, mode_t type, int *out_rule)
{
  g_autofree char *abs = affs_path_abs (path);
  int rule = -1;
  AfLevel l = af_policy_decide (policy, abs, -1, &rule);
  if (out_rule != NULL)
    *out_rule = rule;
  switch (l) {
  case AF_LEVEL_WRITE:
    return AFFS_WRITE;
  case AF_LEVEL_READ:
    return AFFS_READ;
  case AF_LEVEL_VIEW:
    return AFFS_VIEW;
  case AF_LEVEL_NONE:
  default:
    break;
  }
  if (path[0] == '\0')
    return AFFS_TRAVERSE; /* the root is always reachable */
  if (S_ISDIR (type) && af_policy_may_reveal_below (policy, abs, -1) &&
      dir_reveals (fs, policy, path, 0))
    return AFFS_TRAVERSE;
  return AFFS_HIDDEN;
}

AffsLevel
affs_level_now (AfFs *fs, const char *path, mode_t type, int *out_rule)
{
  g_autoptr (AfPolicy) policy = affs_policy_get (fs);
  return affs_level (fs, policy, path, type, out_rule);
}

void
affs_count (AfFs *fs, AffsOp op, gboolean allowed)
{
  __atomic_fetch_add (allowed ? &fs->op_allowed[op] : &fs->op_denied[op], 1, __ATOMIC_RELAXED);
}

int
affs_deny (AfFs *fs, AffsOp op, const char *path, int rule, int err)
{
  affs_count (fs, op, FALSE);
  if (fs->verbose)
    g_debug ("deny %s %s: %s (rule %d)", affs_op_name (op), path != NULL ? path : "?",
             g_strerror (err), rule);
  if (fs->denied_func != NULL && path != NULL)
    fs->denied_func (path, op, rule, fs->denied_data);
  return err;
}

double
affs_attr_timeout (AfFs *fs, const struct stat *st)
{
  /* Each name of a hard-linked file is its own inode in the kernel, with
   * its own attributes and page cache. Not caching their attributes makes
   * the kernel ask on every stat and, with auto_inval_data, on every read
   * through the page cache: a changed size or mtime drops the stale pages.
   * (keep_cache is off for them too, see affs-ops-file.c.) */
  if (S_ISREG (st->st_mode) && st->st_nlink > 1)
    return 0.0;
  return fs->timeout;
}

void
affs_fill_attr (AfFs *fs, const char *path, const AffsNode *node, struct stat *out)
{
  *out = node->st;
  /* Inode numbers: the lower object's own number for lower entries (and
   * merged directories), the upper one with the top bit set otherwise, so
   * hard links share a number and the two layers never collide. */
  if (node->layer == AFFS_LAYER_UPPER && !(S_ISDIR (node->st.st_mode) && node->has_lower)) {
    out->st_ino = node->st.st_ino | (1ULL << 63);
  } else if (node->layer == AFFS_LAYER_UPPER) {
    struct stat lst;
    if (affs_lstat_beneath (fs->src_fd, path, &lst) == 0)
      out->st_ino = lst.st_ino;
  }
  if (S_ISDIR (out->st_mode)) {
    /* A directory's size and link count would count hidden entries: show
     * a fixed size and count only visible subdirectories. */
    int n;
    if (!affs_cache_get (fs, fs->dir_nlink, path, &n)) {
      guint gen = affs_cache_gen (fs);
      g_autoptr (AfPolicy) policy = affs_policy_get (fs);
      int err = 0;
      n = 2;
      g_autoptr (GArray) list = affs_list_merged (fs, path, &err);
      for (guint i = 0; list != NULL && i < list->len; i++) {
        AffsDirent *e = &g_array_index (list, AffsDirent, i);
        if (e->type != DT_DIR)
          continue;
        g_autofree char *child = affs_path_join (path, e->name);
        if (affs_level (fs, policy, child, S_IFDIR, NULL) != AFFS_HIDDEN)
          n++;
      }
      affs_cache_put (fs, fs->dir_nlink, path, n, gen);
    }
    out->st_nlink = (nlink_t)n;
    out->st_size = 4096;
    out->st_blocks = 8;
  }
}
