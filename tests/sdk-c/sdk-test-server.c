/* sdk-test-server.c — see sdk-test-server.h. */
#include "sdk-test-server.h"
#include "sdk-test-util.h"

#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

/* If the test dies (a failed assertion aborts), the server goes with it. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

SdkTestServer *
sdk_test_server_start (const char *const *extra_args)
{
  if (!g_file_test (AFD_SERVER_PATH, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("afd-server was not built");
    return NULL;
  }

  g_autoptr (GError) error = NULL;
  SdkTestServer *server = g_new0 (SdkTestServer, 1);
  server->top = g_dir_make_tmp ("af-sdk-it-XXXXXX", &error);
  g_assert_no_error (error);
  server->socket = g_build_filename (server->top, "afd.sock", NULL);
  server->endpoint = g_strconcat ("unix:", server->socket, NULL);
  g_autofree char *state = g_build_filename (server->top, "state", NULL);
  g_autofree char *config = g_build_filename (server->top, "afd.conf", NULL);
  g_autofree char *log = g_build_filename (server->top, "server.log", NULL);
  g_assert_true (g_file_set_contents (config, "", 0, &error));

  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (AFD_SERVER_PATH));
  g_ptr_array_add (argv, g_strdup_printf ("--state-dir=%s", state));
  g_ptr_array_add (argv, g_strdup_printf ("--socket=%s", server->socket));
  g_ptr_array_add (argv, g_strdup ("--listen=none"));
  g_ptr_array_add (argv, g_strdup_printf ("--config=%s", config));
  g_ptr_array_add (argv, g_strdup ("--ready-fd=3"));
  for (gsize i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (extra_args[i]));
  g_ptr_array_add (argv, NULL);

  int fds[2];
  g_assert_cmpint (g_unix_open_pipe (fds, FD_CLOEXEC, &error), ==, TRUE);
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  g_subprocess_launcher_take_fd (launcher, fds[1], 3);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  server->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  /* The launcher holds our copy of the write end: drop it, or the read
   * below never sees EOF. */
  g_clear_object (&launcher);

  /* Blocks until the READY line, or EOF when the server died. */
  char buf[512] = { 0 };
  gsize got = 0;
  for (;;) {
    ssize_t n = read (fds[0], buf + got, sizeof buf - 1 - got);
    if (n <= 0)
      break;
    got += (gsize)n;
  }
  close (fds[0]);
  if (!g_str_has_prefix (buf, "READY ")) {
    g_autofree char *text = NULL;
    g_file_get_contents (log, &text, NULL, NULL);
    g_error ("afd-server did not start: %s", text != NULL ? text : "(no log)");
  }
  return server;
}

void
sdk_test_server_stop (SdkTestServer *server)
{
  if (server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_subprocess_send_signal (server->proc, SIGTERM);
  g_assert_true (g_subprocess_wait (server->proc, NULL, &error));
  g_assert_true (g_subprocess_get_if_exited (server->proc));
  g_assert_cmpint (g_subprocess_get_exit_status (server->proc), ==, 0);
  g_object_unref (server->proc);
  g_assert_true (sdk_test_remove_tree (server->top));
  g_free (server->top);
  g_free (server->socket);
  g_free (server->endpoint);
  g_free (server);
}
