/* test-fuse-crash.c — af-fuse killed (SIGKILL) in the middle of a Commit of
 * a large delta, at points chosen from the source's own inotify events (so
 * the kill lands while the source is being changed): every source file is
 * then exactly old or exactly new, never partial; a remount over the same
 * delta and a retried Commit complete the change and leave no temporary
 * behind. Real mounts and a real D-Bus peer connection. */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse-fixture.h"

static const char rules[] = "["
                            "{\"pattern\":\"/**\",\"permission\":\"write\",\"priority\":1},"
                            "{\"pattern\":\"/\",\"permission\":\"write\",\"priority\":1}"
                            "]";

#define N_DIRS 4
#define N_PER_DIR 40 /* files per directory: modified, deleted or kept */
#define N_ADDED 30
#define OLD_SIZE (48 * 1024)
#define NEW_SIZE (80 * 1024)

typedef enum { KEPT, MODIFIED, DELETED } Fate;

static Fate
fate_of (int i)
{
  return i % 5 == 0 ? DELETED : i % 5 == 1 ? KEPT : MODIFIED;
}

static char *
content (const char *tag, const char *rel, gsize size)
{
  GString *s = g_string_sized_new (size);
  g_string_printf (s, "%s %s\n", tag, rel);
  while (s->len < size)
    g_string_append_c (s, tag[0]);
  g_string_truncate (s, size);
  return g_string_free (s, FALSE);
}

static void
write_file (const char *path, const char *data)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents_full (path, data, -1, G_FILE_SET_CONTENTS_NONE, 0644, &error));
  g_assert_no_error (error);
}

static void
make_source (FuseFixture *f)
{
  for (int d = 0; d < N_DIRS; d++) {
    g_autofree char *dir = g_strdup_printf ("%s/d%d", f->src, d);
    g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
    for (int i = 0; i < N_PER_DIR; i++) {
      g_autofree char *rel = g_strdup_printf ("d%d/f%03d", d, i);
      g_autofree char *p = g_build_filename (f->src, rel, NULL);
      g_autofree char *c = content ("old", rel, OLD_SIZE);
      write_file (p, c);
    }
  }
  /* A directory replaced whole in the sandbox (rm -r, mkdir: opaque). */
  g_autofree char *odir = g_build_filename (f->src, "odir", NULL);
  g_assert_cmpint (g_mkdir (odir, 0755), ==, 0);
  for (int i = 0; i < 5; i++) {
    g_autofree char *rel = g_strdup_printf ("odir/old%d", i);
    g_autofree char *p = g_build_filename (f->src, rel, NULL);
    g_autofree char *c = content ("old", rel, OLD_SIZE);
    write_file (p, c);
  }
}

/* The sandbox's changes, made through the mount. */
static void
change_through_mount (FuseFixture *f)
{
  for (int d = 0; d < N_DIRS; d++)
    for (int i = 0; i < N_PER_DIR; i++) {
      g_autofree char *rel = g_strdup_printf ("d%d/f%03d", d, i);
      g_autofree char *p = g_build_filename (f->mnt, rel, NULL);
      if (fate_of (i) == DELETED) {
        g_assert_cmpint (unlink (p), ==, 0);
      } else if (fate_of (i) == MODIFIED) {
        g_autofree char *c = content ("new", rel, NEW_SIZE);
        fx_write (p, c);
      }
    }
  g_autofree char *added = g_build_filename (f->mnt, "added", NULL);
  g_assert_cmpint (g_mkdir (added, 0755), ==, 0);
  for (int i = 0; i < N_ADDED; i++) {
    g_autofree char *rel =
        i % 2 ? g_strdup_printf ("added/a%02d", i) : g_strdup_printf ("d%d/a%02d", i % N_DIRS, i);
    g_autofree char *p = g_build_filename (f->mnt, rel, NULL);
    g_autofree char *c = content ("new", rel, NEW_SIZE);
    fx_write (p, c);
  }
  for (int i = 0; i < 5; i++) {
    g_autofree char *p = g_strdup_printf ("%s/odir/old%d", f->mnt, i);
    g_assert_cmpint (unlink (p), ==, 0);
  }
  g_autofree char *odir = g_build_filename (f->mnt, "odir", NULL);
  g_assert_cmpint (rmdir (odir), ==, 0);
  g_assert_cmpint (g_mkdir (odir, 0755), ==, 0);
  g_autofree char *onew = g_build_filename (f->mnt, "odir/new", NULL);
  g_autofree char *c = content ("new", "odir/new", NEW_SIZE);
  fx_write (onew, c);
}

/* @rel in the source is absent, or exactly its old or new content; which
 * ones are allowed depends on its fate. Returns 1 if new, 0 if old or
 * absent. */
static int
check_file (FuseFixture *f, const char *rel, gboolean may_be_old, gboolean may_be_new,
            gboolean may_be_absent)
{
  g_autofree char *p = g_build_filename (f->src, rel, NULL);
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents (p, &data, &len, NULL)) {
    if (!may_be_absent)
      g_test_message ("%s: absent", rel);
    g_assert_true (may_be_absent);
    return 0;
  }
  g_autofree char *old = content ("old", rel, OLD_SIZE);
  g_autofree char *new = content ("new", rel, NEW_SIZE);
  gboolean is_old = len == OLD_SIZE && memcmp (data, old, len) == 0;
  gboolean is_new = len == NEW_SIZE && memcmp (data, new, len) == 0;
  if (!(is_old && may_be_old) && !(is_new && may_be_new))
    g_test_message ("%s: partial or unexpected content (%zu bytes, old %d new %d)", rel, len,
                    is_old, is_new);
  g_assert_true ((is_old && may_be_old) || (is_new && may_be_new));
  return is_new;
}

/* Every file old or new; after a complete commit (@done) only new. Returns
 * the number of files found in their new state. */
static int
check_source (FuseFixture *f, gboolean done)
{
  int n_new = 0;
  for (int d = 0; d < N_DIRS; d++)
    for (int i = 0; i < N_PER_DIR; i++) {
      g_autofree char *rel = g_strdup_printf ("d%d/f%03d", d, i);
      switch (fate_of (i)) {
      case KEPT:
        check_file (f, rel, TRUE, FALSE, FALSE);
        break;
      case MODIFIED:
        n_new += check_file (f, rel, !done, TRUE, FALSE);
        break;
      case DELETED:
        check_file (f, rel, !done, FALSE, TRUE);
        break;
      }
    }
  for (int i = 0; i < N_ADDED; i++) {
    g_autofree char *rel =
        i % 2 ? g_strdup_printf ("added/a%02d", i) : g_strdup_printf ("d%d/a%02d", i % N_DIRS, i);
    n_new += check_file (f, rel, FALSE, TRUE, !done);
  }
  for (int i = 0; i < 5; i++) {
    g_autofree char *rel = g_strdup_printf ("odir/old%d", i);
    check_file (f, rel, !done, FALSE, TRUE);
  }
  n_new += check_file (f, "odir/new", FALSE, TRUE, !done);
  return n_new;
}

/* Names in the source that are not part of either state: commit
 * temporaries a crash left behind. */
static int
count_strays (const char *dir)
{
  int n = 0;
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *p = g_build_filename (dir, name, NULL);
    if (g_str_has_prefix (name, ".af-commit-")) {
      g_test_message ("stray temporary %s", p);
      n++;
    }
    if (g_file_test (p, G_FILE_TEST_IS_DIR) && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
      n += count_strays (p);
  }
  return n;
}

typedef struct {
  FuseFixture *f;
  GMainLoop *loop;
  int inotify_fd;
  int events;
  int kill_after;
  gboolean killed;
  gboolean reply_done;
} Crash;

static gboolean
on_inotify (int fd, GIOCondition cond, gpointer data)
{
  Crash *c = data;
  char buf[8192] __attribute__ ((aligned (__alignof__(struct inotify_event))));
  ssize_t n = read (fd, buf, sizeof buf);
  for (char *p = buf; n > 0 && p < buf + n;) {
    struct inotify_event *ev = (struct inotify_event *)(gpointer)p;
    c->events++;
    p += sizeof *ev + ev->len;
  }
  if (!c->killed && c->events >= c->kill_after) {
    c->killed = TRUE;
    fx_kill9 (c->f);
    g_main_loop_quit (c->loop);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static void
on_commit_reply (GObject *source, GAsyncResult *res, gpointer data)
{
  Crash *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply =
      g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  c->reply_done = TRUE;
  g_main_loop_quit (c->loop);
}

static gboolean
on_timeout (gpointer data)
{
  g_error ("commit neither finished nor reached the kill point in time");
  return G_SOURCE_REMOVE;
}

static void
watch_tree (int ifd, const char *dir)
{
  g_assert_cmpint (inotify_add_watch (ifd, dir, IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MODIFY),
                   >=, 0);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *p = g_build_filename (dir, name, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR))
      watch_tree (ifd, p);
  }
}

/* One round: build, change, commit with a kill after @kill_after source
 * events, check, remount, commit again, check. */
static void
crash_round (int kill_after)
{
  FuseFixture fx, *f = &fx;
  fx_init (f);
  make_source (f);
  fx_mount (f, rules, TRUE, NULL);
  change_through_mount (f);

  Crash c = { f,
              g_main_loop_new (NULL, FALSE),
              inotify_init1 (IN_CLOEXEC | IN_NONBLOCK),
              0,
              kill_after,
              FALSE,
              FALSE };
  g_assert_cmpint (c.inotify_fd, >=, 0);
  watch_tree (c.inotify_fd, f->src);
  guint watch = g_unix_fd_add (c.inotify_fd, G_IO_IN, on_inotify, &c);
  guint timer = g_timeout_add_seconds (240, on_timeout, NULL);
  g_dbus_connection_call (f->conn, NULL, "/org/agentfense/Fuse1", "org.agentfense.Fuse1", "Commit",
                          NULL, NULL, G_DBUS_CALL_FLAGS_NONE, 240000, NULL, on_commit_reply, &c);
  g_main_loop_run (c.loop);
  /* The call ends either way (reply, or the peer's death): wait for it so
   * its callback never outlives this frame. */
  while (!c.reply_done)
    g_main_context_iteration (NULL, TRUE);
  if (!c.killed) {
    g_source_remove (watch);
    fx_kill9 (f);
  }
  g_source_remove (timer);
  close (c.inotify_fd);
  g_main_loop_unref (c.loop);

  int n_new = check_source (f, FALSE);
  g_test_message ("kill after %d source events (%d seen, killed %d): %d of %d entries new",
                  kill_after, c.events, c.killed, n_new, N_DIRS * N_PER_DIR * 3 / 5 + N_ADDED + 1);

  /* The same delta, mounted again: the retried commit completes. */
  fx_mount (f, rules, TRUE, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) res = fx_call (f, "Commit", NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GVariant) conflicts = g_variant_get_child_value (res, 3);
  g_assert_cmpuint (g_variant_n_children (conflicts), ==, 0);
  g_autoptr (GVariant) left = fx_call (f, "GetChanges", NULL, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < 3; i++) {
    g_autoptr (GVariant) v = g_variant_get_child_value (left, i);
    g_assert_cmpuint (g_variant_n_children (v), ==, 0);
  }
  fx_unmount (f);
  check_source (f, TRUE);
  g_assert_cmpint (count_strays (f->src), ==, 0);
  fx_clear (f);
}

static void
test_crash_mid_commit (void)
{
  FX_SKIP_IF (fx_skip_reason ());
  /* Early, a third in, two thirds in, and one random point (reproducible
   * with --seed). A modified file makes at least two source events
   * (temporary created, renamed over). */
  const int total = N_DIRS * N_PER_DIR * 3 / 5 * 2;
  int points[] = { 1, total / 3, 2 * total / 3, g_test_rand_int_range (1, total) };
  for (gsize i = 0; i < G_N_ELEMENTS (points); i++)
    crash_round (points[i]);
}

int
main (int argc, char **argv)
{
  fx_test_init (&argc, &argv);
  g_test_add_func ("/af-fuse/crash/kill-mid-commit", test_crash_mid_commit);
  return g_test_run ();
}
