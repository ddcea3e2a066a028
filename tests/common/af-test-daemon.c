/* af-test-daemon.c — see af-test-daemon.h. */
#define _GNU_SOURCE
#include "af-test-daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The environment the server runs with: ours, except that under ASan freed
 * memory sits in a quarantine (256 MiB by default) and would hide what the
 * server really keeps; a small one keeps the RSS checks meaningful. */
static char **
server_environ (void)
{
  char **env = g_get_environ ();
  const char *asan = g_environ_getenv (env, "ASAN_OPTIONS");
  if (asan != NULL) {
    g_autofree char *opts = g_strdup_printf ("%s:quarantine_size_mb=8", asan);
    env = g_environ_setenv (env, "ASAN_OPTIONS", opts, TRUE);
  }
  return env;
}

void
af_test_daemon_prepare (AfTestDaemon *d, const char *config_text)
{
  if (d->top != NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *made = g_dir_make_tmp ("afd-it-XXXXXX", &error);
  g_assert_no_error (error);
  /* The guard wants the canonical path (it compares it with mountinfo). */
  d->top = realpath (made, NULL);
  g_assert_nonnull (d->top);
  g_assert_cmpint (g_chmod (d->top, 0755), ==, 0);
  g_auto (GStrv) env = server_environ ();
  d->guard = af_guard_new (d->top, (const char *const *)env);
  d->state = g_build_filename (d->top, "state", NULL);
  d->socket = g_build_filename (d->top, "afd.sock", NULL);
  d->endpoint = g_strconcat ("unix:", d->socket, NULL);
  d->log = g_build_filename (d->top, "server.log", NULL);
  d->config = g_build_filename (d->top, "afd.conf", NULL);
  g_assert_true (
      g_file_set_contents (d->config, config_text != NULL ? config_text : "", -1, &error));
}

/* Starts @binary under the guard with stderr on @err_fd and, when
 * @ready_w ≥ 0, --ready-fd=3 on it. */
static GPid
spawn (AfTestDaemon *d, const char *binary, const char *const *args, int ready_w, int err_fd,
       GError **error)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (binary));
  g_ptr_array_add (argv, g_strdup_printf ("--state-dir=%s", d->state));
  g_ptr_array_add (argv, g_strdup_printf ("--socket=%s", d->socket));
  g_ptr_array_add (argv, g_strdup_printf ("--config=%s", d->config));
  if (ready_w >= 0)
    g_ptr_array_add (argv, g_strdup ("--ready-fd=3"));
  for (gsize i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);
  int fds[] = { -1, STDOUT_FILENO, err_fd, ready_w };
  return af_guard_spawn (d->guard, (const char *const *)argv->pdata, fds, ready_w >= 0 ? 4 : 3,
                         error);
}

void
af_test_daemon_start (AfTestDaemon *d, const char *binary, const char *const *args)
{
  g_autoptr (GError) error = NULL;
  af_test_daemon_prepare (d, NULL);
  g_assert_cmpint (d->pid, ==, 0);
  int fds[2];
  g_assert_cmpint (pipe2 (fds, O_CLOEXEC), ==, 0);
  /* Like a GSubprocess stderr file: created, written from the start. */
  int log_fd = open (d->log, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
  g_assert_cmpint (log_fd, >=, 0);
  d->pid = spawn (d, binary, args, fds[1], log_fd, &error);
  g_assert_no_error (error);
  close (fds[1]);
  close (log_fd);
  /* Only the server holds the write end now; the read below ends at the
   * READY line or at EOF when the server died. */
  char buf[256] = { 0 };
  gsize got = 0;
  for (;;) {
    ssize_t n = read (fds[0], buf + got, sizeof buf - 1 - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (gsize)n;
  }
  close (fds[0]);
  if (!g_str_has_prefix (buf, "READY ")) {
    g_autofree char *log = NULL;
    g_file_get_contents (d->log, &log, NULL, NULL);
    g_error ("afd-server did not start: %s", log ? log : "(no log)");
  }
  const char *port = strstr (buf, "tcp_port=");
  d->tcp_port = port != NULL ? atoi (port + strlen ("tcp_port=")) : 0;
}

int
af_test_daemon_run_expect_fail (AfTestDaemon *d, const char *binary, const char *const *args,
                                char **out_stderr)
{
  g_autoptr (GError) error = NULL;
  af_test_daemon_prepare (d, NULL);
  int fds[2];
  g_assert_cmpint (pipe2 (fds, O_CLOEXEC), ==, 0);
  GPid pid = spawn (d, binary, args, -1, fds[1], &error);
  g_assert_no_error (error);
  close (fds[1]);
  g_autoptr (GString) err = g_string_new (NULL);
  char buf[4096];
  for (;;) {
    ssize_t n = read (fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    g_string_append_len (err, buf, n);
  }
  close (fds[0]);
  int status = af_guard_wait (d->guard, pid);
  g_assert_true (WIFEXITED (status));
  *out_stderr = g_string_free (g_steal_pointer (&err), FALSE);
  return WEXITSTATUS (status);
}

void
af_test_daemon_stop (AfTestDaemon *d)
{
  if (d->pid == 0)
    return;
  g_assert_cmpint (kill (d->pid, SIGTERM), ==, 0);
  int status = af_guard_wait (d->guard, d->pid);
  d->pid = 0;
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

void
af_test_daemon_kill9 (AfTestDaemon *d)
{
  g_assert_cmpint (d->pid, >, 0);
  g_assert_cmpint (kill (d->pid, SIGKILL), ==, 0);
  int status = af_guard_wait (d->guard, d->pid);
  d->pid = 0;
  g_assert_true (WIFSIGNALED (status));
}

gint64
af_test_daemon_peak_rss_kb (AfTestDaemon *d)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int)d->pid);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  const char *hwm = strstr (text, "VmHWM:");
  g_assert_nonnull (hwm);
  return g_ascii_strtoll (hwm + 6, NULL, 10);
}

void
af_test_daemon_clear (AfTestDaemon *d)
{
  if (d->pid != 0)
    af_test_daemon_stop (d);
  if (d->top != NULL) {
    if (g_test_initialized () && g_test_failed ()) {
      g_autofree char *log = NULL;
      if (g_file_get_contents (d->log, &log, NULL, NULL))
        g_test_message ("server log:\n%s", log);
    }
    /* The guard removes the dir (never following a symbolic link or
     * crossing a mount) after killing and unmounting what is left; it
     * names on stderr whatever it had to clean. */
    int status = af_guard_close (g_steal_pointer (&d->guard));
    if (status == 1 && g_test_initialized ())
      g_test_message ("af-test-guard cleaned up after the test (see stderr)");
    g_assert_cmpint (status, <=, 1);
    g_assert_false (g_file_test (d->top, G_FILE_TEST_EXISTS));
  }
  free (d->top);
  g_free (d->state);
  g_free (d->socket);
  g_free (d->endpoint);
  g_free (d->log);
  g_free (d->config);
  memset (d, 0, sizeof *d);
}
