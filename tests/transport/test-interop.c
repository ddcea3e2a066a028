/* test-interop.c — Debian's /usr/bin/python3 + grpcio (an independent
 * client) against the C server, over the unix socket and over TCP, for the
 * three call kinds, statuses, limits, deadline and cancellation. The
 * scenarios are in interop-client.py; this program runs the server and
 * checks what its handlers saw.
 */
#include <gio/gio.h>

#include "test-service.h"

static void
run_python (gconstpointer data)
{
  gboolean tcp = GPOINTER_TO_INT (data);
  const char *srcdir = g_getenv ("AF_TRANSPORT_SRCDIR");
  const char *pydir = g_getenv ("AF_TRANSPORT_PYTHON_DIR");
  g_autoptr (GError) error = NULL;

  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("/usr/bin/python3 is missing");
    return;
  }
  g_assert_nonnull (srcdir);
  g_assert_nonnull (pydir);
  AfGrpcServerOptions opts = { .max_message_size = 1024 * 1024 };
  TestServer *ts = test_server_start (&opts);
  g_autofree char *script = g_build_filename (srcdir, "interop-client.py", NULL);
  g_autoptr (GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_setenv (launcher, "PYTHONPATH", pydir, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "PYTHONHOME");
  g_autoptr (GSubprocess) proc = g_subprocess_launcher_spawn (
      launcher, &error, "/usr/bin/python3", script, tcp ? ts->tcp_endpoint : ts->unix_endpoint,
      tcp ? "tcp" : "unix", NULL);
  g_assert_no_error (error);
  g_autofree char *out = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("%s", out);
  if (g_subprocess_get_exit_status (proc) != 0 && g_strrstr (out, "No module named 'grpc'")) {
    test_server_stop (ts, 1000);
    g_test_skip ("python3-grpcio is not installed");
    return;
  }
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);

  /* What the handlers saw of the client's deadline and cancellation. */
  g_assert_true (test_server_wait_counter (ts, &ts->hang_cancelled, 1));
  g_assert_true (test_server_wait_counter (ts, &ts->stream_cancelled, 1));
  test_server_stop (ts, 1000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/interop/python/unix", GINT_TO_POINTER (0), run_python);
  g_test_add_data_func ("/interop/python/tcp", GINT_TO_POINTER (1), run_python);
  return g_test_run ();
}
