/* af-test-daemon.c — see af-test-daemon.h. */
#define _GNU_SOURCE
#include "af-test-daemon.h"

#include <fcntl.h>
#include <ftw.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

void
af_test_daemon_prepare (AfTestDaemon *d, const char *config_text)
{
  if (d->top != NULL)
    return;
  g_autoptr (GError) error = NULL;
  d->top = g_dir_make_tmp ("afd-it-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (d->top, 0755), ==, 0);
  d->state = g_build_filename (d->top, "state", NULL);
  d->socket = g_build_filename (d->top, "afd.sock", NULL);
  d->endpoint = g_strconcat ("unix:", d->socket, NULL);
  d->log = g_build_filename (d->top, "server.log", NULL);
  d->config = g_build_filename (d->top, "afd.conf", NULL);
  g_assert_true (
      g_file_set_contents (d->config, config_text != NULL ? config_text : "", -1, &error));
}

/* A test that fails an assertion aborts without stopping its daemon; the
 * daemon must not outlive it (it would hold the test's stdout open and keep
 * meson waiting until the timeout). */
static void
die_with_test (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GSubprocess *
spawn (AfTestDaemon *d, const char *binary, const char *const *args, int ready_w, gboolean capture,
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

  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (
      capture ? G_SUBPROCESS_FLAGS_STDERR_PIPE : G_SUBPROCESS_FLAGS_NONE);
  if (!capture)
    g_subprocess_launcher_set_stderr_file_path (l, d->log);
  if (ready_w >= 0)
    g_subprocess_launcher_take_fd (l, ready_w, 3);
  g_subprocess_launcher_set_child_setup (l, die_with_test, NULL, NULL);
  /* Under ASan, freed memory sits in a quarantine (256 MiB by default) and
   * would hide what the server really keeps; a small one keeps the RSS
   * checks meaningful. */
  const char *asan = g_getenv ("ASAN_OPTIONS");
  if (asan != NULL) {
    g_autofree char *opts = g_strdup_printf ("%s:quarantine_size_mb=8", asan);
    g_subprocess_launcher_setenv (l, "ASAN_OPTIONS", opts, TRUE);
  }
  return g_subprocess_launcher_spawnv (l, (const char *const *)argv->pdata, error);
}

void
af_test_daemon_start (AfTestDaemon *d, const char *binary, const char *const *args)
{
  g_autoptr (GError) error = NULL;
  af_test_daemon_prepare (d, NULL);
  g_assert_null (d->proc);
  int fds[2];
  g_assert_cmpint (pipe2 (fds, O_CLOEXEC), ==, 0);
  d->proc = spawn (d, binary, args, fds[1], FALSE, &error);
  g_assert_no_error (error);
  /* The launcher took the write end; once it is gone, the read below ends
   * at the READY line or at EOF when the server died. */
  char buf[256] = { 0 };
  gsize got = 0;
  for (;;) {
    ssize_t n = read (fds[0], buf + got, sizeof buf - 1 - got);
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
  g_autoptr (GSubprocess) p = spawn (d, binary, args, -1, TRUE, &error);
  g_assert_no_error (error);
  g_autofree char *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, NULL, &err, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (p));
  *out_stderr = g_steal_pointer (&err);
  return g_subprocess_get_exit_status (p);
}

void
af_test_daemon_stop (AfTestDaemon *d)
{
  if (d->proc == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_subprocess_send_signal (d->proc, SIGTERM);
  g_assert_true (g_subprocess_wait (d->proc, NULL, &error));
  g_assert_true (g_subprocess_get_if_exited (d->proc));
  g_assert_cmpint (g_subprocess_get_exit_status (d->proc), ==, 0);
  g_clear_object (&d->proc);
}

void
af_test_daemon_kill9 (AfTestDaemon *d)
{
  g_assert_nonnull (d->proc);
  g_subprocess_send_signal (d->proc, SIGKILL);
  g_assert_true (g_subprocess_wait (d->proc, NULL, NULL));
  g_assert_true (g_subprocess_get_if_signaled (d->proc));
  g_clear_object (&d->proc);
}

gint64
af_test_daemon_peak_rss_kb (AfTestDaemon *d)
{
  g_autofree char *path =
      g_strdup_printf ("/proc/%s/status", g_subprocess_get_identifier (d->proc));
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  const char *hwm = strstr (text, "VmHWM:");
  g_assert_nonnull (hwm);
  return g_ascii_strtoll (hwm + 6, NULL, 10);
}

static int
remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path) == 0 ? 0 : -1;
}

void
af_test_daemon_clear (AfTestDaemon *d)
{
  if (d->proc != NULL)
    af_test_daemon_stop (d);
  if (d->top != NULL) {
    if (g_test_initialized () && g_test_failed ()) {
      g_autofree char *log = NULL;
      if (g_file_get_contents (d->log, &log, NULL, NULL))
        g_test_message ("server log:\n%s", log);
    }
    /* Depth first, never crossing a symbolic link or a mount. */
    g_assert_cmpint (nftw (d->top, remove_entry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT), ==, 0);
  }
  g_free (d->top);
  g_free (d->state);
  g_free (d->socket);
  g_free (d->endpoint);
  g_free (d->log);
  g_free (d->config);
  memset (d, 0, sizeof *d);
}
