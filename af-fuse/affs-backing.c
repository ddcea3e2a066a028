/* affs-backing.c — access beneath a layer root, and the merged view.
 *
 * Owns: every path resolution on the backing directories. Each goes through
 * openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
 * from the source or upper root fd, so no symlink, "..", rename race or
 * replaced component can lead outside the layer. Also owns the merge rules:
 * an upper entry hides the lower one; a whiteout (a 0:0 character device in
 * upper, which no sandbox can create because device nodes are refused) hides
 * a lower entry; an opaque upper directory (trusted.agentfense.opaque) hides
 * the whole lower directory.
 *
 * Must never: follow a symlink, decide policy, change anything. */
#include "affs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

int
affs_open_beneath (int root, const char *path, int flags, mode_t mode)
{
  struct open_how how = { 0 };
  how.flags = (guint64)(flags | O_NOFOLLOW | O_CLOEXEC);
  if (flags & (O_CREAT | O_TMPFILE))
    how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const char *p = (path == NULL || path[0] == '\0') ? "." : path;
  int fd;
  do
    fd = (int)syscall (SYS_openat2, root, p, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return fd < 0 ? -errno : fd;
}

int
affs_lstat_beneath (int root, const char *path, struct stat *st)
{
  int fd = affs_open_beneath (root, path, O_PATH, 0);
  if (fd < 0)
    return fd;
  int r = fstat (fd, st) < 0 ? -errno : 0;
  close (fd);
  return r;
}

int
affs_open_parent (int root, const char *path, const char **out_name)
{
  const char *slash = strrchr (path, '/');
  if (slash == NULL) {
    *out_name = path;
    return affs_open_beneath (root, "", O_PATH | O_DIRECTORY, 0);
  }
  g_autofree char *dir = g_strndup (path, (gsize)(slash - path));
  *out_name = slash + 1;
  return affs_open_beneath (root, dir, O_PATH | O_DIRECTORY, 0);
}

char *
affs_path_join (const char *dir, const char *name)
{
  if (dir[0] == '\0')
    return g_strdup (name);
  return g_strconcat (dir, "/", name, NULL);
}

char *
affs_path_dirname (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash == NULL ? g_strdup ("") : g_strndup (path, (gsize)(slash - path));
}

const char *
affs_path_basename (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash == NULL ? path : slash + 1;
}

char *
affs_path_abs (const char *path)
{
  return g_strconcat ("/", path, NULL);
}

gboolean
affs_name_valid (const char *name)
{
  gsize len = strlen (name);
  return len > 0 && len <= 255 && strchr (name, '/') == NULL && strcmp (name, ".") != 0 &&
         strcmp (name, "..") != 0;
}

gboolean
affs_is_whiteout (const struct stat *st)
{
  return S_ISCHR (st->st_mode) && st->st_rdev == makedev (0, 0);
}

gboolean
affs_upper_is_opaque (AfFs *fs, const char *path)
{
  int fd = affs_open_beneath (fs->upper_fd, path, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0)
    return FALSE;
  char v;
  gboolean opaque = fgetxattr (fd, AFFS_XATTR_OPAQUE (fs), &v, 1) >= 0;
  close (fd);
  return opaque;
}

void
affs_caches_clear (AfFs *fs)
{
  g_mutex_lock (&fs->cache_lock);
  fs->cache_gen++;
  g_hash_table_remove_all (fs->lower_visible);
  g_hash_table_remove_all (fs->reveals);
  g_hash_table_remove_all (fs->upper_dirs);
  g_hash_table_remove_all (fs->dir_nlink);
  g_mutex_unlock (&fs->cache_lock);
}

/* Bound on each cache of directory facts; past it that cache starts over. */
#define AFFS_DIR_CACHE_MAX 200000

guint
affs_cache_gen (AfFs *fs)
{
  g_mutex_lock (&fs->cache_lock);
  guint gen = fs->cache_gen;
  g_mutex_unlock (&fs->cache_lock);
  return gen;
}

gboolean
affs_cache_get (AfFs *fs, GHashTable *table, const char *key, int *out_value)
{
  g_mutex_lock (&fs->cache_lock);
  gpointer v = g_hash_table_lookup (table, key);
  g_mutex_unlock (&fs->cache_lock);
  if (v == NULL)
    return FALSE;
  *out_value = GPOINTER_TO_INT (v) - 1;
  return TRUE;
}

void
affs_cache_put (AfFs *fs, GHashTable *table, const char *key, int value, guint gen)
{
  g_mutex_lock (&fs->cache_lock);
  if (gen == fs->cache_gen) {
    if (g_hash_table_size (table) > AFFS_DIR_CACHE_MAX)
      g_hash_table_remove_all (table);
    g_hash_table_insert (table, g_strdup (key), GINT_TO_POINTER (value + 1));
  }
  g_mutex_unlock (&fs->cache_lock);
}

gboolean
affs_upper_has_dir (AfFs *fs, const char *path)
{
  if (path[0] == '\0')
    return TRUE;
  int v;
  if (affs_cache_get (fs, fs->upper_dirs, path, &v))
    return v;
  guint gen = affs_cache_gen (fs);
  struct stat st;
  gboolean has = affs_lstat_beneath (fs->upper_fd, path, &st) == 0 && S_ISDIR (st.st_mode);
  affs_cache_put (fs, fs->upper_dirs, path, has, gen);
  return has;
}

gboolean
affs_dir_lower_visible (AfFs *fs, const char *path)
{
  int v;
  if (affs_cache_get (fs, fs->lower_visible, path, &v))
    return v;
  guint gen = affs_cache_gen (fs);
  gboolean visible;
  struct stat st;
  if (path[0] == '\0') {
    visible = TRUE;
  } else {
    g_autofree char *parent = affs_path_dirname (path);
    visible = affs_dir_lower_visible (fs, parent);
    if (visible && affs_upper_has_dir (fs, parent)) {
      /* An upper directory that is opaque hides its lower twin; an upper
       * non-directory (or a whiteout) means the lower one is gone. */
      int r = affs_lstat_beneath (fs->upper_fd, path, &st);
      if (r == 0)
        visible = S_ISDIR (st.st_mode) && !affs_upper_is_opaque (fs, path);
    }
    if (visible)
      visible = affs_lstat_beneath (fs->src_fd, path, &st) == 0 && S_ISDIR (st.st_mode);
  }
  affs_cache_put (fs, fs->lower_visible, path, visible, gen);
  return visible;
}

int
affs_resolve (AfFs *fs, const char *path, AffsNode *out)
{
  memset (out, 0, sizeof *out);
  g_autofree char *parent = path[0] != '\0' ? affs_path_dirname (path) : NULL;
  gboolean lower_ok = parent == NULL || affs_dir_lower_visible (fs, parent);
  struct stat lst;
  /* Most lookups are below directories the delta never touched: then the
   * upper layer cannot have the entry and is not asked. */
  int r = parent == NULL || affs_upper_has_dir (fs, parent)
              ? affs_lstat_beneath (fs->upper_fd, path, &out->st)
              : -ENOENT;
  if (r == 0) {
    if (affs_is_whiteout (&out->st))
      return -ENOENT;
    out->layer = AFFS_LAYER_UPPER;
    out->has_lower = lower_ok && affs_lstat_beneath (fs->src_fd, path, &lst) == 0;
    if (S_ISDIR (out->st.st_mode) && path[0] != '\0')
      out->opaque = affs_upper_is_opaque (fs, path);
    if (path[0] == '\0' && out->has_lower)
      out->st = lst; /* the root looks like the source root */
    return 0;
  }
  if (r != -ENOENT && r != -ENOTDIR)
    return r;
  if (!lower_ok)
    return -ENOENT;
  r = affs_lstat_beneath (fs->src_fd, path, &out->st);
  if (r == -ENOTDIR || r == -ELOOP)
    return -ENOENT;
  if (r < 0)
    return r;
  out->layer = AFFS_LAYER_LOWER;
  out->has_lower = TRUE;
  return 0;
}

static void
dirent_clear (gpointer p)
{
  g_free (((AffsDirent *)p)->name);
}

static int
dirent_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (((const AffsDirent *)a)->name, ((const AffsDirent *)b)->name);
}

/* Read directory @path beneath @root into @names (name → DT type + 1). */
static int
read_dir (int root, const char *path, GHashTable *names, gboolean skip_existing)
{
  int fd = affs_open_beneath (root, path, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0)
    return fd;
  DIR *d = fdopendir (fd);
  if (d == NULL) {
    int e = -errno;
    close (fd);
    return e;
  }
  struct dirent *de;
  errno = 0;
  while ((de = readdir (d)) != NULL) {
    if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
      continue;
    unsigned char type = de->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      type = (unsigned char)IFTODT (st.st_mode);
    }
    if (skip_existing && g_hash_table_contains (names, de->d_name))
      continue;
    g_hash_table_insert (names, g_strdup (de->d_name), GINT_TO_POINTER (type + 1));
  }
  closedir (d);
  return 0;
}

GArray *
affs_list_merged (AfFs *fs, const char *path, int *out_err)
{
  g_autoptr (GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean upper_opaque = FALSE;
  int r;
  if (affs_upper_has_dir (fs, path)) {
    r = read_dir (fs->upper_fd, path, names, FALSE);
    if (r < 0) {
      *out_err = r;
      return NULL;
    }
    upper_opaque = path[0] != '\0' && affs_upper_is_opaque (fs, path);
  }
  if (!upper_opaque && affs_dir_lower_visible (fs, path)) {
    r = read_dir (fs->src_fd, path, names, TRUE);
    if (r < 0 && r != -ENOENT && r != -ENOTDIR) {
      *out_err = r;
      return NULL;
    }
  }
  GArray *out = g_array_sized_new (FALSE, TRUE, sizeof (AffsDirent), g_hash_table_size (names));
  g_array_set_clear_func (out, dirent_clear);
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, names);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    unsigned char type = (unsigned char)(GPOINTER_TO_INT (value) - 1);
    /* A character device in upper is always a whiteout: the view refuses
     * device nodes, so nothing else can be one. */
    if (type == DT_CHR) {
      g_autofree char *child = affs_path_join (path, key);
      struct stat cst;
      if (affs_lstat_beneath (fs->upper_fd, child, &cst) == 0 && affs_is_whiteout (&cst))
        continue;
    }
    AffsDirent e = { g_strdup (key), type };
    g_array_append_val (out, e);
  }
  g_array_sort (out, dirent_cmp);
  return out;
}
