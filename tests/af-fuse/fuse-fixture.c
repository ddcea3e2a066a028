/* fuse-fixture.c — see fuse-fixture.h. Waits on events only: the ready
 * pipe and the D-Bus connection through the main context, process exit
 * through waitpid. */
#include "fuse-fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "afpolicy.h"

static const char *
af_fuse_binary (void)
{
  const char *b = g_getenv ("AF_FUSE_BIN");
  return b != NULL ? b : "af-fuse";
}

const char *
fx_skip_reason (void)
{
  if (geteuid () != 0)
    return "needs root (FUSE mounts with allow_other)";
  if (access ("/dev/fuse", R_OK | W_OK) != 0)
    return "no usable /dev/fuse";
  if (g_getenv ("AF_FUSE_BIN") == NULL || access (g_getenv ("AF_FUSE_BIN"), X_OK) != 0)
    return "af-fuse binary not built (AF_FUSE_BIN)";
  return NULL;
}

char *
fx_path (const char *dir, const char *rel)
{
  return g_build_filename (dir, rel, NULL);
}

void
fx_write (const char *path, const char *content)
{
  /* In place (no temporary name: names may already be 255 bytes long). */
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    g_error ("open %s: %s", path, g_strerror (errno));
  gsize len = strlen (content);
  g_assert_cmpint (write (fd, content, len), ==, (gssize)len);
  g_assert_cmpint (close (fd), ==, 0);
}

char *
fx_read (const char *path)
{
  char *data = NULL;
  if (!g_file_get_contents (path, &data, NULL, NULL))
    return NULL;
  return data;
}

void
fx_init (FuseFixture *f)
{
  memset (f, 0, sizeof *f);
  g_autoptr (GError) error = NULL;
  g_autofree char *made = g_dir_make_tmp ("af-fuse-test-XXXXXX", &error);
  g_assert_no_error (error);
  /* Canonical: the guard compares it with the mount table. */
  char *real = realpath (made, NULL);
  g_assert_nonnull (real);
  f->root = g_strdup (real);
  free (real);
  f->guard = af_guard_new (f->root, NULL);
  /* The sandbox side of some tests runs as nobody: let it reach mnt/. */
  g_assert_cmpint (chmod (f->root, 0755), ==, 0);
  f->src = fx_path (f->root, "src");
  f->mnt = fx_path (f->root, "mnt");
  f->delta = fx_path (f->root, "delta");
  f->rules = fx_path (f->root, "rules.json");
  f->canary = fx_path (f->root, "canary.txt");
  g_assert_cmpint (g_mkdir (f->src, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (f->mnt, 0755), ==, 0);
  fx_write (f->canary, "CANARY\n");
}

static gboolean
is_mounted (const char *mnt)
{
  g_autofree char *info = NULL;
  g_assert_true (g_file_get_contents ("/proc/self/mountinfo", &info, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (info, "\n", -1);
  for (char **l = lines; *l != NULL; l++) {
    g_auto (GStrv) parts = g_strsplit (*l, " ", 6);
    if (g_strv_length (parts) >= 5 && g_strcmp0 (parts[4], mnt) == 0)
      return TRUE;
  }
  return FALSE;
}

typedef struct {
  FuseFixture *f;
  GString *ready;
  gboolean eof;
} Wait;

static gboolean
on_ready_fd (int fd, GIOCondition cond, gpointer data)
{
  Wait *w = data;
  char buf[64];
  ssize_t n = read (fd, buf, sizeof buf);
  if (n <= 0) {
    w->eof = TRUE;
    return G_SOURCE_REMOVE;
  }
  g_string_append_len (w->ready, buf, n);
  return G_SOURCE_CONTINUE;
}

static void
on_peer (AfDBusPeerServer *server, GDBusConnection *connection, gpointer data)
{
  FuseFixture *f = data;
  if (f->conn == NULL)
    f->conn = g_object_ref (connection);
}

void
fx_mount (FuseFixture *f, const char *rules_json, gboolean dbus, const char *const *extra)
{
  g_autoptr (GError) error = NULL;
  fx_write (f->rules, rules_json);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (af_fuse_binary ()));
  g_ptr_array_add (argv, g_strdup_printf ("--source=%s", f->src));
  g_ptr_array_add (argv, g_strdup_printf ("--mountpoint=%s", f->mnt));
  g_ptr_array_add (argv, g_strdup_printf ("--rules=%s", f->rules));
  g_ptr_array_add (argv, g_strdup_printf ("--delta=%s", f->delta));
  g_ptr_array_add (argv, g_strdup ("--foreground"));
  g_ptr_array_add (argv, g_strdup ("--ready-fd=3"));
  if (dbus) {
    g_autofree char *sock = fx_path (f->root, "fuse.sock");
    f->server = af_dbus_peer_server_new (sock, on_peer, f, &error);
    g_assert_no_error (error);
    g_ptr_array_add (
        argv, g_strdup_printf ("--dbus-address=%s", af_dbus_peer_server_get_address (f->server)));
  }
  for (const char *const *e = extra; e != NULL && *e != NULL; e++)
    g_ptr_array_add (argv, g_strdup (*e));
  /* The same tests again with other settings (meson.build: the matrix and
   * delta tests run once more with every regular file passing through). */
  const char *more = g_getenv ("AF_FUSE_TEST_ARGS");
  g_auto (GStrv) more_v = more != NULL ? g_strsplit (more, " ", -1) : NULL;
  for (char **e = more_v; e != NULL && *e != NULL; e++)
    if (**e != '\0')
      g_ptr_array_add (argv, g_strdup (*e));
  g_ptr_array_add (argv, NULL);

  int pipefd[2];
  g_assert_true (g_unix_open_pipe (pipefd, FD_CLOEXEC, NULL));
  /* A child of the guard: if the test dies, the guard kills it and
   * unmounts. */
  int fds[] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, pipefd[1] };
  f->pid = af_guard_spawn (f->guard, (const char *const *)argv->pdata, fds, 4, &error);
  g_assert_no_error (error);
  close (pipefd[1]);

  Wait w = { f, g_string_new (NULL), FALSE };
  guint id = g_unix_fd_add (pipefd[0], G_IO_IN | G_IO_HUP | G_IO_ERR, on_ready_fd, &w);
  /* af-fuse reports ready only after its control connection is up; the
   * server side may see that connection a little after the pipe closes. */
  for (;;) {
    gboolean ready = strstr (w.ready->str, "ready") != NULL;
    if ((ready && (!dbus || f->conn != NULL)) || (w.eof && !ready))
      break;
    g_main_context_iteration (NULL, TRUE);
  }
  if (!w.eof)
    g_source_remove (id);
  close (pipefd[0]);
  g_assert_nonnull (strstr (w.ready->str, "ready"));
  g_string_free (w.ready, TRUE);
  f->mounted = TRUE;
  g_assert_true (is_mounted (f->mnt));
}

static int
wait_exit (FuseFixture *f)
{
  return af_guard_wait (f->guard, f->pid);
}

void
fx_unmount (FuseFixture *f)
{
  if (!f->mounted)
    return;
  g_clear_object (&f->conn);
  g_assert_cmpint (kill (f->pid, SIGTERM), ==, 0);
  int status = wait_exit (f);
  f->mounted = FALSE;
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_assert_false (is_mounted (f->mnt));
  g_clear_pointer (&f->server, af_dbus_peer_server_free);
}

static void
lazy_unmount (const char *mnt)
{
  const char *argv[] = { "fusermount3", "-u", "-z", mnt, NULL };
  int status = 0;
  g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                NULL, NULL, NULL, &status, NULL);
}

void
fx_kill9 (FuseFixture *f)
{
  g_assert_cmpint (kill (f->pid, SIGKILL), ==, 0);
  int status = wait_exit (f);
  g_assert_true (WIFSIGNALED (status));
  f->mounted = FALSE;
  g_clear_object (&f->conn);
  lazy_unmount (f->mnt);
  g_assert_false (is_mounted (f->mnt));
  g_clear_pointer (&f->server, af_dbus_peer_server_free);
}

void
fx_clear (FuseFixture *f)
{
  if (f->mounted) {
    /* A failed test: never leave the mount or the process behind. */
    kill (f->pid, SIGKILL);
    wait_exit (f);
    lazy_unmount (f->mnt);
    f->mounted = FALSE;
  }
  g_clear_object (&f->conn);
  g_clear_pointer (&f->server, af_dbus_peer_server_free);
  if (f->guard != NULL) {
    /* The guard removes root (not crossing a mount, not following a
     * symbolic link) after killing and unmounting whatever is left, and
     * names on stderr what it had to clean. */
    int status = af_guard_close (g_steal_pointer (&f->guard));
    g_assert_cmpint (status, <=, 1);
    g_assert_false (g_file_test (f->root, G_FILE_TEST_EXISTS));
  }
  g_free (f->root);
  g_free (f->src);
  g_free (f->mnt);
  g_free (f->delta);
  g_free (f->rules);
  g_free (f->canary);
  memset (f, 0, sizeof *f);
}

GVariant *
fx_call (FuseFixture *f, const char *method, GVariant *params, GError **error)
{
  g_assert_nonnull (f->conn);
  return g_dbus_connection_call_sync (f->conn, NULL, "/org/agentfense/Fuse1",
                                      "org.agentfense.Fuse1", method, params, NULL,
                                      G_DBUS_CALL_FLAGS_NONE, 30000, NULL, error);
}

void
fx_update_rules (FuseFixture *f, const char *rules_json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) rules = af_rule_array_new ();
  g_assert_true (af_rules_parse_json (rules_json, -1, NULL, rules, &error));
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(sssi)"));
  for (guint i = 0; i < rules->len; i++) {
    AfRule *r = &g_array_index (rules, AfRule, i);
    g_variant_builder_add (&b, "(sssi)", r->pattern, af_pattern_type_to_string (r->type),
                           af_level_to_string (r->level), r->priority);
  }
  g_autoptr (GVariant) reply = fx_call (f, "UpdateRules", g_variant_new ("(a(sssi))", &b), &error);
  g_assert_no_error (error);
}

void
fx_setup (FuseFixture *f, gconstpointer data)
{
  fx_init (f);
}

void
fx_teardown (FuseFixture *f, gconstpointer data)
{
  fx_clear (f);
}

void
fx_test_init (int *argc, char ***argv)
{
  g_test_init (argc, argv, NULL);
  g_test_set_nonfatal_assertions ();
}
