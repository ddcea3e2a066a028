/* test-fuse-delta.c — delta semantics, commit/discard/changes over D-Bus,
 * live rule changes, kill -9 recovery and the fd bound, on real mounts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuse-fixture.h"

/* Everything writable except /secret* (none), /ro* (read), /vis* (view). */
static const char rules_main[] =
    "["
    "{\"pattern\":\"/**\",\"permission\":\"write\",\"priority\":1},"
    "{\"pattern\":\"/\",\"permission\":\"write\",\"priority\":1},"
    "{\"pattern\":\"**/secret*\",\"permission\":\"none\",\"priority\":50},"
    "{\"pattern\":\"/ro*\",\"permission\":\"read\",\"priority\":50},"
    "{\"pattern\":\"/ro*/**\",\"permission\":\"read\",\"priority\":50},"
    "{\"pattern\":\"/hidden\",\"permission\":\"none\",\"priority\":60,\"type\":\"directory\"},"
    "{\"pattern\":\"/hidden/shown/**\",\"permission\":\"read\",\"priority\":70},"
    "{\"pattern\":\"/hidden/shown\",\"permission\":\"read\",\"priority\":70}"
    "]";

static char *
m (FuseFixture *f, const char *rel)
{
  return fx_path (f->mnt, rel);
}

static char *
s (FuseFixture *f, const char *rel)
{
  return fx_path (f->src, rel);
}

static void
src_write (FuseFixture *f, const char *rel, const char *content)
{
  g_autofree char *p = s (f, rel);
  g_autofree char *dir = g_path_get_dirname (p);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  fx_write (p, content);
}

static void
assert_content (const char *path, const char *expected)
{
  g_autofree char *c = fx_read (path);
  g_assert_cmpstr (c, ==, expected);
}

static GPtrArray *
list_dir (const char *path)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  DIR *d = opendir (path);
  g_assert_nonnull (d);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      g_ptr_array_add (out, g_strdup (de->d_name));
  closedir (d);
  return out;
}

static gboolean
listed (const char *dir, const char *name)
{
  g_autoptr (GPtrArray) l = list_dir (dir);
  for (guint i = 0; i < l->len; i++)
    if (strcmp (l->pdata[i], name) == 0)
      return TRUE;
  return FALSE;
}

static void
test_rename_chain (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, "a", "A\n");
  fx_mount (f, rules_main, FALSE, NULL);
  g_autofree char *a = m (f, "a"), *b = m (f, "b"), *c = m (f, "c");
  g_assert_cmpint (rename (a, b), ==, 0);
  g_assert_cmpint (rename (b, c), ==, 0);
  g_assert_cmpint (rename (c, a), ==, 0);
  g_assert_cmpint (rename (a, b), ==, 0);
  assert_content (b, "A\n");
  g_assert_cmpint (access (a, F_OK), ==, -1);
  g_assert_cmpint (access (c, F_OK), ==, -1);
  g_autoptr (GPtrArray) l = list_dir (f->mnt);
  g_assert_cmpuint (l->len, ==, 1);
  g_autofree char *sa = s (f, "a");
  assert_content (sa, "A\n"); /* the source is untouched */
  fx_unmount (f);
}

static void
test_delete_recreate (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, "f", "old\n");
  src_write (f, "d/x", "x\n");
  src_write (f, "d/y", "y\n");
  fx_mount (f, rules_main, FALSE, NULL);
  g_autofree char *p = m (f, "f");
  g_assert_cmpint (unlink (p), ==, 0);
  g_assert_cmpint (access (p, F_OK), ==, -1);
  g_assert_false (listed (f->mnt, "f"));
  fx_write (p, "new\n");
  assert_content (p, "new\n");
  g_autoptr (GPtrArray) l = list_dir (f->mnt);
  g_assert_cmpuint (l->len, ==, 2); /* f and d, once each */

  /* rmdir + mkdir: the new directory is opaque, the old entries stay gone. */
  g_autofree char *dx = m (f, "d/x"), *dy = m (f, "d/y"), *d = m (f, "d");
  g_assert_cmpint (unlink (dx), ==, 0);
  g_assert_cmpint (unlink (dy), ==, 0);
  g_assert_cmpint (rmdir (d), ==, 0);
  g_assert_cmpint (mkdir (d, 0755), ==, 0);
  g_autoptr (GPtrArray) dl = list_dir (d);
  g_assert_cmpuint (dl->len, ==, 0);
  fx_write (dx, "again\n");
  g_autoptr (GPtrArray) dl2 = list_dir (d);
  g_assert_cmpuint (dl2->len, ==, 1);
  g_autofree char *sy = s (f, "d/y");
  assert_content (sy, "y\n");
  fx_unmount (f);
}

static void
test_hard_links (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, "orig", "one\n");
  fx_mount (f, rules_main, FALSE, NULL);
  g_autofree char *o = m (f, "orig"), *l = m (f, "alias");
  g_assert_cmpint (link (o, l), ==, 0);
  struct stat st;
  g_assert_cmpint (stat (o, &st), ==, 0);
  g_assert_cmpuint (st.st_nlink, ==, 2);
  int fd = open (l, O_WRONLY | O_TRUNC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, "two\n", 4), ==, 4);
  close (fd);
  assert_content (o, "two\n");
  g_assert_cmpint (unlink (o), ==, 0);
  assert_content (l, "two\n");
  g_assert_cmpint (stat (l, &st), ==, 0);
  g_assert_cmpuint (st.st_nlink, ==, 1);
  fx_unmount (f);
}

static void
test_two_appenders (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, "log", "");
  fx_mount (f, rules_main, FALSE, NULL);
  g_autofree char *p = m (f, "log");
  pid_t kids[2];
  for (int k = 0; k < 2; k++) {
    kids[k] = fork ();
    if (kids[k] == 0) {
      int fd = open (p, O_WRONLY | O_APPEND);
      if (fd < 0)
        _exit (1);
      char line[16];
      for (int i = 0; i < 500; i++) {
        g_snprintf (line, sizeof line, "%c%08d\n", 'a' + k, i);
        if (write (fd, line, 10) != 10)
          _exit (2);
      }
      close (fd);
      _exit (0);
    }
  }
  for (int k = 0; k < 2; k++) {
    int status;
    waitpid (kids[k], &status, 0);
    g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  }
  g_autofree char *c = fx_read (p);
  g_assert_cmpuint (strlen (c), ==, 1000 * 10);
  g_auto (GStrv) lines = g_strsplit (c, "\n", -1);
  int seen[2] = { 0, 0 };
  for (char **l = lines; *l != NULL && **l != '\0'; l++) {
    g_assert_cmpuint (strlen (*l), ==, 9);
    seen[(*l)[0] - 'a']++;
  }
  g_assert_cmpint (seen[0], ==, 500);
  g_assert_cmpint (seen[1], ==, 500);
  fx_unmount (f);
}

static void
test_whiteout_names (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, ".wh.lower", "ordinary\n");
  src_write (f, "victim", "v\n");
  char longname[256];
  memset (longname, 'L', 255);
  longname[255] = '\0';
  src_write (f, longname, "long\n");
  fx_mount (f, rules_main, FALSE, NULL);
  /* Names an overlay would reserve are ordinary files here. */
  g_autofree char *wl = m (f, ".wh.lower");
  assert_content (wl, "ordinary\n");
  g_autofree char *wx = m (f, ".wh.x"), *opq = m (f, ".wh..wh..opq");
  fx_write (wx, "mine\n");
  fx_write (opq, "mine too\n");
  g_autofree char *victim = m (f, "victim");
  g_assert_cmpint (unlink (victim), ==, 0);
  g_assert_true (listed (f->mnt, ".wh.x"));
  g_assert_true (listed (f->mnt, ".wh..wh..opq"));
  g_assert_true (listed (f->mnt, ".wh.lower"));
  g_assert_false (listed (f->mnt, "victim"));
  g_assert_false (listed (f->mnt, ".wh.victim"));
  g_assert_cmpint (unlink (wx), ==, 0);
  g_assert_false (listed (f->mnt, ".wh.x"));
  /* A 255-byte name can be deleted (a whiteout needs no longer name). */
  g_autofree char *lp = m (f, longname);
  assert_content (lp, "long\n");
  g_assert_cmpint (unlink (lp), ==, 0);
  g_assert_false (listed (f->mnt, longname));
  fx_write (lp, "back\n");
  assert_content (lp, "back\n");
  fx_unmount (f);
}

static void
test_rename_flags (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, "x", "X\n");
  src_write (f, "y", "Y\n");
  fx_mount (f, rules_main, FALSE, NULL);
  g_autofree char *x = m (f, "x"), *y = m (f, "y"), *z = m (f, "z");
  g_assert_cmpint (renameat2 (AT_FDCWD, x, AT_FDCWD, y, RENAME_NOREPLACE), ==, -1);
  g_assert_cmpint (errno, ==, EEXIST);
  g_assert_cmpint (renameat2 (AT_FDCWD, x, AT_FDCWD, y, RENAME_EXCHANGE), ==, 0);
  assert_content (x, "Y\n");
  assert_content (y, "X\n");
  g_assert_cmpint (renameat2 (AT_FDCWD, x, AT_FDCWD, z, RENAME_EXCHANGE), ==, -1);
  g_assert_cmpint (errno, ==, ENOENT);
  g_assert_cmpint (renameat2 (AT_FDCWD, x, AT_FDCWD, z, RENAME_WHITEOUT), ==, -1);
  g_assert_cmpint (errno, ==, EINVAL);
  g_assert_cmpint (renameat2 (AT_FDCWD, x, AT_FDCWD, z, RENAME_NOREPLACE), ==, 0);
  assert_content (z, "Y\n");
  /* Device nodes are refused even to root; FIFOs are fine. */
  g_autofree char *dev = m (f, "dev"), *fifo = m (f, "fifo");
  g_assert_cmpint (mknod (dev, S_IFCHR | 0600, makedev (1, 3)), ==, -1);
  g_assert_cmpint (errno, ==, EPERM);
  g_assert_cmpint (mknod (fifo, S_IFIFO | 0600, 0), ==, 0);
  fx_unmount (f);
}

static void
test_dirs (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, "tree/a/1", "1\n");
  src_write (f, "tree/b", "b\n");
  src_write (f, "withsecret/secret.txt", "s\n");
  src_write (f, "withsecret/open.txt", "o\n");
  src_write (f, "hidden/shown/file", "shown\n");
  src_write (f, "hidden/other/file", "other\n");
  src_write (f, "hidden/plain", "plain\n");
  fx_mount (f, rules_main, FALSE, NULL);
  /* A source directory renamed: moves with its content. */
  g_autofree char *tree = m (f, "tree"), *moved = m (f, "moved");
  g_assert_cmpint (rename (tree, moved), ==, 0);
  g_autofree char *m1 = m (f, "moved/a/1");
  assert_content (m1, "1\n");
  g_assert_cmpint (access (tree, F_OK), ==, -1);
  /* A directory holding a none entry cannot move (its content would change
   * level), and cannot be removed once the rest is gone. */
  g_autofree char *ws = m (f, "withsecret"), *ws2 = m (f, "ws2"),
                  *wo = m (f, "withsecret/open.txt");
  g_assert_cmpint (rename (ws, ws2), ==, -1);
  g_assert_cmpint (errno, ==, EACCES);
  g_assert_cmpint (unlink (wo), ==, 0);
  g_autoptr (GPtrArray) wl = list_dir (ws);
  g_assert_cmpuint (wl->len, ==, 0);
  g_assert_cmpint (rmdir (ws), ==, -1);
  g_assert_cmpint (errno, ==, ENOTEMPTY);
  /* Implied traversal: only the visible branch of a none directory. */
  g_autofree char *hidden = m (f, "hidden");
  g_autoptr (GPtrArray) hl = list_dir (hidden);
  g_assert_cmpuint (hl->len, ==, 1);
  g_assert_cmpstr (hl->pdata[0], ==, "shown");
  struct stat st;
  g_assert_cmpint (stat (hidden, &st), ==, 0);
  g_assert_cmpuint (st.st_nlink, ==, 3); /* . , .. and shown only */
  g_autofree char *hs = m (f, "hidden/shown/file"), *ho = m (f, "hidden/other/file");
  assert_content (hs, "shown\n");
  g_assert_cmpint (stat (ho, &st), ==, -1);
  g_assert_cmpint (errno, ==, ENOENT);
  g_autofree char *newh = m (f, "hidden/new");
  g_assert_cmpint (mkdir (newh, 0755), ==, -1);
  g_assert_cmpint (errno, ==, EACCES);
  fx_unmount (f);
}

static void
test_unlink_open_file (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, "f", "abc");
  fx_mount (f, rules_main, FALSE, NULL);
  g_autofree char *p = m (f, "f");
  int fd = open (p, O_RDWR);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (unlink (p), ==, 0);
  g_assert_cmpint (pwrite (fd, "XYZ!", 4, 0), ==, 4);
  char buf[8] = { 0 };
  g_assert_cmpint (pread (fd, buf, sizeof buf - 1, 0), ==, 4);
  g_assert_cmpstr (buf, ==, "XYZ!");
  struct stat st;
  g_assert_cmpint (fstat (fd, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 4);
  g_assert_cmpint (ftruncate (fd, 1), ==, 0);
  close (fd);
  g_assert_cmpint (access (p, F_OK), ==, -1);
  fx_unmount (f);
}

static void
strv_assert_has (GVariant *v, const char *path)
{
  g_autofree const char **a = g_variant_get_strv (v, NULL);
  for (const char **p = a; *p != NULL; p++)
    if (strcmp (*p, path) == 0)
      return;
  g_error ("%s not in the list", path);
}

static void
test_commit (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, "keep", "keep\n");
  src_write (f, "mod", "before\n");
  src_write (f, "gone", "gone\n");
  src_write (f, "dir/inner", "inner\n");
  fx_mount (f, rules_main, TRUE, NULL);
  g_autofree char *mod = m (f, "mod"), *gone = m (f, "gone"), *add = m (f, "added");
  g_autofree char *dir = m (f, "dir"), *inner = m (f, "dir/inner"), *nd = m (f, "newdir");
  g_autofree char *ndf = m (f, "newdir/f");
  fx_write (mod, "after\n");
  fx_write (add, "new\n");
  g_assert_cmpint (unlink (gone), ==, 0);
  g_assert_cmpint (unlink (inner), ==, 0);
  g_assert_cmpint (rmdir (dir), ==, 0);
  g_assert_cmpint (mkdir (nd, 0755), ==, 0);
  fx_write (ndf, "nf\n");

  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) changes = fx_call (f, "GetChanges", NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GVariant) ch_added = g_variant_get_child_value (changes, 0);
  g_autoptr (GVariant) ch_mod = g_variant_get_child_value (changes, 1);
  g_autoptr (GVariant) ch_del = g_variant_get_child_value (changes, 2);
  strv_assert_has (ch_added, "added");
  strv_assert_has (ch_mod, "mod");
  strv_assert_has (ch_del, "gone");
  strv_assert_has (ch_del, "dir");

  g_autoptr (GVariant) res = fx_call (f, "Commit", NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GVariant) c_mod = g_variant_get_child_value (res, 1);
  g_autoptr (GVariant) c_conf = g_variant_get_child_value (res, 3);
  strv_assert_has (c_mod, "mod");
  g_assert_cmpuint (g_variant_n_children (c_conf), ==, 0);
  g_autofree char *smod = s (f, "mod"), *sadd = s (f, "added"), *sgone = s (f, "gone");
  g_autofree char *sdir = s (f, "dir"), *sndf = s (f, "newdir/f");
  assert_content (smod, "after\n");
  assert_content (sadd, "new\n");
  assert_content (sndf, "nf\n");
  g_assert_cmpint (access (sgone, F_OK), ==, -1);
  g_assert_cmpint (access (sdir, F_OK), ==, -1);
  /* The delta is empty again and the view unchanged. */
  g_autofree char *upper = g_build_filename (f->delta, "upper", NULL);
  g_autoptr (GPtrArray) ul = list_dir (upper);
  g_assert_cmpuint (ul->len, ==, 0);
  assert_content (mod, "after\n");
  assert_content (ndf, "nf\n");
  g_assert_cmpint (access (gone, F_OK), ==, -1);

  /* Discard drops changes. */
  fx_write (mod, "discard me\n");
  g_autoptr (GVariant) d = fx_call (f, "Discard", NULL, &error);
  g_assert_no_error (error);
  assert_content (mod, "after\n");
  fx_unmount (f);
}

static void
test_conflict_reject (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, "c", "base\n");
  const char *extra[] = { "--conflict=reject", NULL };
  fx_mount (f, rules_main, TRUE, extra);
  g_autofree char *mc = m (f, "c"), *sc = s (f, "c");
  fx_write (mc, "mine\n");
  /* Someone else commits to the source meanwhile. */
  fx_write (sc, "theirs\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) res = fx_call (f, "Commit", NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GVariant) conf = g_variant_get_child_value (res, 3);
  strv_assert_has (conf, "c");
  assert_content (sc, "theirs\n");
  assert_content (mc, "mine\n"); /* kept in the delta */
  fx_unmount (f);
}

static void
test_live_rules (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, "doc", "readable\n");
  fx_mount (f, rules_main, TRUE, NULL);
  g_autofree char *doc = m (f, "doc");
  assert_content (doc, "readable\n");
  struct stat st;
  g_assert_cmpint (stat (doc, &st), ==, 0); /* now in the kernel's caches */
  fx_update_rules (f, "[{\"pattern\":\"/\",\"permission\":\"read\",\"priority\":1},"
                      "{\"pattern\":\"/doc\",\"permission\":\"none\",\"priority\":5}]");
  g_assert_cmpint (stat (doc, &st), ==, -1);
  g_assert_cmpint (errno, ==, ENOENT);
  g_assert_false (listed (f->mnt, "doc"));
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) stats = fx_call (f, "GetStats", NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GVariant) dict = g_variant_get_child_value (stats, 0);
  guint64 denials = 0;
  g_assert_true (g_variant_lookup (dict, "denials", "t", &denials));
  g_assert_cmpuint (denials, >=, 1);
  fx_update_rules (f, rules_main);
  assert_content (doc, "readable\n");
  fx_unmount (f);
}

static void
test_kill9 (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, "f", "source\n");
  fx_mount (f, rules_main, FALSE, NULL);
  g_autofree char *mf = m (f, "f"), *mn = m (f, "new");
  fx_write (mf, "changed\n");
  fx_write (mn, "created\n");
  fx_kill9 (f);
  g_autofree char *sf = s (f, "f"), *sn = s (f, "new");
  assert_content (sf, "source\n");
  g_assert_cmpint (access (sn, F_OK), ==, -1);
  g_autofree char *uf = g_build_filename (f->delta, "upper", "f", NULL);
  g_autofree char *un = g_build_filename (f->delta, "upper", "new", NULL);
  assert_content (uf, "changed\n");
  assert_content (un, "created\n");
  /* The same delta mounts again and shows the changes. */
  fx_mount (f, rules_main, FALSE, NULL);
  assert_content (mf, "changed\n");
  fx_unmount (f);
}

static void
on_denied (GDBusConnection *c, const char *sender, const char *path, const char *iface,
           const char *signal, GVariant *params, gpointer data)
{
  GPtrArray *got = data;
  const char *p, *op, *pattern;
  gint32 rule;
  g_variant_get (params, "(&s&si&s)", &p, &op, &rule, &pattern);
  g_ptr_array_add (got, g_strdup_printf ("%s %s %d %s", p, op, rule, pattern));
}

static void
test_denied_signal (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, "ro_file", "ro\n");
  fx_mount (f, rules_main, TRUE, NULL);
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func (g_free);
  guint id = g_dbus_connection_signal_subscribe (f->conn, NULL, "org.agentfense.Fuse1", "Denied",
                                                 "/org/agentfense/Fuse1", NULL,
                                                 G_DBUS_SIGNAL_FLAGS_NONE, on_denied, got, NULL);
  g_autofree char *p = m (f, "ro_file");
  g_assert_cmpint (open (p, O_WRONLY), ==, -1);
  g_assert_cmpint (errno, ==, EACCES);
  while (got->len == 0)
    g_main_context_iteration (NULL, TRUE);
  /* Either of the two read rules that match may decide; the signal names it. */
  g_assert_true (g_str_has_prefix (got->pdata[0], "/ro_file open "));
  g_assert_nonnull (strstr (got->pdata[0], " /ro*"));
  g_dbus_connection_signal_unsubscribe (f->conn, id);
  fx_unmount (f);
}

static gboolean
set_true_once (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_denied_rate_limit (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, "ro_file", "ro\n");
  fx_mount (f, rules_main, TRUE, NULL);
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func (g_free);
  guint id = g_dbus_connection_signal_subscribe (f->conn, NULL, "org.agentfense.Fuse1", "Denied",
                                                 "/org/agentfense/Fuse1", NULL,
                                                 G_DBUS_SIGNAL_FLAGS_NONE, on_denied, got, NULL);
  g_autofree char *p = m (f, "ro_file");
  gint64 start = g_get_monotonic_time ();
  for (int i = 0; i < 1000; i++)
    g_assert_cmpint (open (p, O_WRONLY), ==, -1);
  double secs = (double)(g_get_monotonic_time () - start) / 1e6;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) stats = fx_call (f, "GetStats", NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GVariant) dict = g_variant_get_child_value (stats, 0);
  guint64 denials = 0, suppressed = 0;
  g_assert_true (g_variant_lookup (dict, "denials", "t", &denials));
  g_assert_true (g_variant_lookup (dict, "denials_suppressed", "t", &suppressed));
  g_assert_cmpuint (denials, >=, 1000);
  /* Every denial counted by then was either signalled or suppressed; the
   * signals are emitted from the FUSE thread and may still be on their way
   * when the reply arrives: wait for them (bounded), then count. */
  gboolean timed_out = FALSE;
  guint timer = g_timeout_add_seconds (10, set_true_once, &timed_out);
  while (got->len + suppressed < denials && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timer);
  g_assert_cmpuint (got->len + suppressed, >=, denials);
  /* A burst of 100, then 20 a second. */
  g_assert_cmpuint (got->len, <=, 100 + (guint)(secs * 20) + 2);
  g_assert_cmpuint (got->len, >=, 100);
  g_assert_cmpuint (suppressed, >=, 1000 - got->len - 2);
  g_dbus_connection_signal_unsubscribe (f->conn, id);
  fx_unmount (f);
}

static void
test_invalidate_paths (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, "shared.txt", "version-1\n");
  fx_mount (f, rules_main, TRUE, NULL);
  g_autofree char *p = m (f, "shared.txt");
  assert_content (p, "version-1\n");
  /* Another sandbox commits (same size, same second: nothing the kernel
   * could notice by itself), then announces it. */
  g_autofree char *sp = s (f, "shared.txt"), *tmp = s (f, "shared.tmp");
  struct stat st;
  g_assert_cmpint (stat (sp, &st), ==, 0);
  fx_write (tmp, "version-2\n");
  struct timespec ts[2] = { st.st_atim, st.st_mtim };
  g_assert_cmpint (utimensat (AT_FDCWD, tmp, ts, 0), ==, 0);
  g_assert_cmpint (rename (tmp, sp), ==, 0);
  g_autoptr (GError) error = NULL;
  const char *paths[] = { "/shared.txt", NULL };
  g_autoptr (GVariant) r = fx_call (f, "InvalidatePaths", g_variant_new ("(^as)", paths), &error);
  g_assert_no_error (error);
  assert_content (p, "version-2\n");
  fx_unmount (f);
}

static void
test_commit_on_exit (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  src_write (f, "f", "old\n");
  const char *extra[] = { "--commit-on-exit", NULL };
  fx_mount (f, rules_main, FALSE, extra);
  g_autofree char *p = m (f, "f"), *sp = s (f, "f");
  fx_write (p, "new\n");
  assert_content (sp, "old\n");
  fx_unmount (f);
  assert_content (sp, "new\n");
}

static int
count_fds (GPid pid)
{
  g_autofree char *dir = g_strdup_printf ("/proc/%d/fd", pid);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  int n = 0;
  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static void
test_more_files_than_fds (FuseFixture *f, gconstpointer data)
{
  FX_SKIP_IF (fx_skip_reason ());
  const int n_files = 25000; /* above the hard RLIMIT_NOFILE of 20,000 */
  for (int d = 0; d < 25; d++) {
    g_autofree char *dir = g_strdup_printf ("%s/d%02d", f->src, d);
    g_assert_cmpint (mkdir (dir, 0755), ==, 0);
    for (int i = 0; i < n_files / 25; i++) {
      g_autofree char *p = g_strdup_printf ("%s/f%04d", dir, i);
      fx_write (p, "x");
    }
  }
  fx_mount (f, rules_main, FALSE, NULL);
  int found = 0, read_ok = 0;
  for (int d = 0; d < 25; d++) {
    g_autofree char *dir = g_strdup_printf ("%s/d%02d", f->mnt, d);
    g_autoptr (GPtrArray) l = list_dir (dir);
    for (guint i = 0; i < l->len; i++) {
      g_autofree char *p = g_build_filename (dir, l->pdata[i], NULL);
      struct stat st;
      found += stat (p, &st) == 0;
      char c = 0;
      int fd = open (p, O_RDONLY);
      if (fd >= 0 && read (fd, &c, 1) == 1 && c == 'x')
        read_ok++;
      if (fd >= 0)
        close (fd);
    }
  }
  g_assert_cmpint (found, ==, n_files);
  g_assert_cmpint (read_ok, ==, n_files);
  /* The kernel still references every inode; the daemon holds no fd for
   * any of them. */
  g_assert_cmpint (count_fds (f->pid), <, 64);
  fx_unmount (f);
}

int
main (int argc, char **argv)
{
  fx_test_init (&argc, &argv);
  FX_ADD ("delta/rename-chain", test_rename_chain);
  FX_ADD ("delta/delete-recreate", test_delete_recreate);
  FX_ADD ("delta/hard-links", test_hard_links);
  FX_ADD ("delta/two-appenders", test_two_appenders);
  FX_ADD ("delta/whiteout-names", test_whiteout_names);
  FX_ADD ("delta/rename-flags", test_rename_flags);
  FX_ADD ("delta/dirs", test_dirs);
  FX_ADD ("delta/unlink-open-file", test_unlink_open_file);
  FX_ADD ("control/commit-discard", test_commit);
  FX_ADD ("control/conflict-reject", test_conflict_reject);
  FX_ADD ("control/live-rules", test_live_rules);
  FX_ADD ("control/denied-signal", test_denied_signal);
  FX_ADD ("control/denied-rate-limit", test_denied_rate_limit);
  FX_ADD ("control/invalidate-paths", test_invalidate_paths);
  FX_ADD ("control/commit-on-exit", test_commit_on_exit);
  FX_ADD ("recovery/kill9", test_kill9);
  FX_ADD ("limits/more-files-than-fds", test_more_files_than_fds);
  return g_test_run ();
}
