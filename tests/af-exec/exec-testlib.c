/* exec-testlib.c — see exec-testlib.h. */
#include "exec-testlib.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

const char *
exec_test_af_exec (void)
{
  const char *bin = g_getenv ("AF_EXEC_BIN");
  g_assert_nonnull (bin);
  return bin;
}

gboolean
exec_test_require_root (void)
{
  if (geteuid () != 0) {
    g_test_skip ("needs root (cgroups, a sandbox uid other than ours)");
    return FALSE;
  }
  return TRUE;
}

gboolean
exec_test_is_docker (void)
{
  return g_strcmp0 (g_getenv ("AF_EXEC_TEST_RUNTIME"), "docker") == 0;
}

const char *const *
exec_test_runtime_args (void)
{
  static const char *const docker[] = { "--runtime", "docker", "--image", EXEC_TEST_IMAGE, NULL };
  static const char *const none[] = { NULL };
  return exec_test_is_docker () ? docker : none;
}

static gboolean
run_ok (const char *cmd, char **why)
{
  g_autofree char *err = NULL;
  int status = -1;
  const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
  if (!g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                     &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL)) {
    if (why)
      *why = g_strdup_printf ("%s: %s", cmd, err ? g_strstrip (err) : "failed");
    return FALSE;
  }
  return TRUE;
}

/* Start an engine when none answers, and import a busybox-static image. */
static char *
prepare_docker (void)
{
  g_autofree char *why = NULL;
  g_autofree char *script =
      g_build_filename (g_getenv ("G_TEST_SRCDIR") ? g_getenv ("G_TEST_SRCDIR") : ".", "..",
                        "scripts", "start-dockerd.sh", NULL);
  g_autofree char *start = g_strdup_printf ("sh '%s'", script);
  g_autofree char *import = NULL;
  g_autofree char *cli = g_find_program_in_path ("docker");

  if (cli == NULL)
    return g_strdup ("no docker CLI installed");
  if (!run_ok ("docker info", NULL) && !run_ok (start, &why))
    return g_strdup_printf ("no Docker engine can run here (%s)", why);
  if (run_ok ("docker image inspect " EXEC_TEST_IMAGE, NULL))
    return NULL;
  if (!g_file_test ("/bin/busybox", G_FILE_TEST_IS_EXECUTABLE))
    return g_strdup ("busybox-static is not installed (needed for the test image)");
  import = g_strdup_printf ("sh '%s/make-test-image.sh' " EXEC_TEST_IMAGE,
                            g_getenv ("AF_TEST_COMMON_DIR") ? g_getenv ("AF_TEST_COMMON_DIR")
                                                            : "../tests/common");
  if (!run_ok (import, &why))
    return g_strdup_printf ("cannot import the test image: %s", why);
  return NULL;
}

gboolean
exec_test_require_sandbox (void)
{
  static int ok = -1;
  static char *why = NULL;
  if (exec_test_is_docker ()) {
    if (ok < 0) {
      why = prepare_docker ();
      ok = why == NULL;
    }
    if (!ok)
      g_test_skip (why);
    return ok;
  }
  if (ok < 0) {
    g_autofree char *bwrap = g_find_program_in_path ("bwrap");
    int status = -1;
    if (bwrap) {
      const char *argv[] = {
        bwrap, "--unshare-all", "--ro-bind", "/", "/", "--", "/bin/true", NULL
      };
      g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                    &status, NULL);
    }
    ok = bwrap != NULL && status == 0;
  }
  if (!ok)
    g_test_skip ("bwrap is missing or cannot create namespaces here");
  return ok;
}

void
exec_fixture_setup (ExecFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *helper = NULL, *dest = NULL, *contents = NULL;
  gsize len;

  fx->workspace = g_dir_make_tmp ("af-exec-test-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (chmod (fx->workspace, 0777), ==, 0);
  helper = g_strdup (g_getenv ("AF_TRY_SYSCALL"));
  g_assert_nonnull (helper);
  dest = g_build_filename (fx->workspace, "try-syscall", NULL);
  g_file_get_contents (helper, &contents, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents (dest, contents, (gssize)len, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chmod (dest, 0755), ==, 0);
}

static void
rm_rf (const char *path)
{
  g_autoptr (GFile) f = g_file_new_for_path (path);
  g_autoptr (GFileEnumerator) en = g_file_enumerate_children (
      f, G_FILE_ATTRIBUTE_STANDARD_NAME "," G_FILE_ATTRIBUTE_STANDARD_TYPE,
      G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  GFileInfo *info;
  while (en && (info = g_file_enumerator_next_file (en, NULL, NULL))) {
    g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);
    if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
      rm_rf (child);
    else
      g_unlink (child);
    g_object_unref (info);
  }
  g_rmdir (path);
}

void
exec_fixture_teardown (ExecFixture *fx, gconstpointer data)
{
  rm_rf (fx->workspace);
  g_free (fx->workspace);
}

int
exec_test_run (ExecFixture *fx, const char *input, char **out, char **err, const char *first_arg,
               ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) l = NULL;
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) in = NULL, o = NULL, e = NULL;
  va_list ap;

  g_ptr_array_add (argv, (char *)exec_test_af_exec ());
  g_ptr_array_add (argv, "--workspace");
  g_ptr_array_add (argv, fx->workspace);
  for (const char *const *r = exec_test_runtime_args (); *r; r++)
    g_ptr_array_add (argv, (char *)*r);
  va_start (ap, first_arg);
  for (const char *a = first_arg; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *)a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                 G_SUBPROCESS_FLAGS_STDERR_PIPE);
  p = g_subprocess_launcher_spawnv (l, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  in = g_bytes_new (input ? input : "", input ? strlen (input) : 0);
  g_subprocess_communicate (p, in, NULL, &o, &e, &error);
  g_assert_no_error (error);
  /* Empty output has no data pointer: still hand back "". */
  if (out)
    *out = g_bytes_get_size (o) ? g_strndup (g_bytes_get_data (o, NULL), g_bytes_get_size (o))
                                : g_strdup ("");
  if (err)
    *err = g_bytes_get_size (e) ? g_strndup (g_bytes_get_data (e, NULL), g_bytes_get_size (e))
                                : g_strdup ("");
  if (g_subprocess_get_if_signaled (p))
    return -g_subprocess_get_term_sig (p);
  return g_subprocess_get_exit_status (p);
}

char *
exec_test_tagged (const char *prefix)
{
  static char tag[16];

  if (tag[0] == '\0')
    g_snprintf (tag, sizeof tag, "%07d%06d", (int)getpid (), g_random_int_range (0, 1000000));
  return g_strconcat (prefix, tag, NULL);
}

/* Host pids whose command line (args joined by spaces) starts with, or
 * with @anywhere contains, @needle. */
static GArray *
find_procs (const char *needle, gboolean anywhere)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GDir) d = g_dir_open ("/proc", 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d))) {
    g_autofree char *path = NULL, *cmd = NULL;
    gsize len;
    int pid = atoi (name);
    if (pid <= 0 || pid == getpid ())
      continue;
    path = g_strdup_printf ("/proc/%d/cmdline", pid);
    if (!g_file_get_contents (path, &cmd, &len, NULL))
      continue;
    for (gsize i = 0; i + 1 < len; i++)
      if (cmd[i] == '\0')
        cmd[i] = ' ';
    if (anywhere ? strstr (cmd, needle) != NULL : g_str_has_prefix (cmd, needle))
      g_array_append_val (pids, pid);
  }
  return pids;
}

GArray *
exec_test_find_procs (const char *needle)
{
  return find_procs (needle, FALSE);
}

guint
exec_test_count_procs (const char *needle)
{
  g_autoptr (GArray) pids = exec_test_find_procs (needle);
  return pids->len;
}

GArray *
exec_test_find_procs_mentioning (const char *needle)
{
  return find_procs (needle, TRUE);
}

gint64
exec_test_proc_uid (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *text = NULL;
  const char *uid;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  uid = strstr (text, "\nUid:");
  return uid ? g_ascii_strtoll (uid + 5, NULL, 10) : -1;
}

static gboolean
on_tick (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

int
exec_test_wait_proc (const char *needle, int timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;

  /* /proc has no change notification; the test polls it in 10 ms steps. */
  while (g_get_monotonic_time () < end) {
    g_autoptr (GArray) pids = exec_test_find_procs (needle);
    gboolean fired = FALSE;
    if (pids->len > 0)
      return g_array_index (pids, int, 0);
    g_timeout_add (10, on_tick, &fired);
    while (!fired)
      g_main_context_iteration (NULL, TRUE);
  }
  return -1;
}

gboolean
exec_test_no_such_container (const char *err)
{
  g_autofree char *lower = g_ascii_strdown (err ? err : "", -1);
  return strstr (lower, "no such container") != NULL;
}
