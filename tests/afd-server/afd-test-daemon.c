/* afd-test-daemon.c — see afd-test-daemon.h. */
#include "afd-test-daemon.h"

char *
afd_test_daemon_binary (void)
{
  return g_strdup (AFD_SERVER_PATH);
}

/* What every afd-server test runs with: TCP on an ephemeral port besides
 * the socket, and the info lines in the log a failure prints. */
static GPtrArray *
args_with (const char *const *extra_args)
{
  GPtrArray *args = g_ptr_array_new ();
  g_ptr_array_add (args, (gpointer) "--listen=127.0.0.1:0");
  g_ptr_array_add (args, (gpointer) "--log-level=info");
  for (gsize i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer)extra_args[i]);
  g_ptr_array_add (args, NULL);
  return args;
}

void
afd_test_daemon_start (AfdTestDaemon *d, const char *const *extra_args)
{
  g_autoptr (GPtrArray) args = args_with (extra_args);
  af_test_daemon_start (d, AFD_SERVER_PATH, (const char *const *)args->pdata);
  g_assert_cmpint (d->tcp_port, >, 0);
}

int
afd_test_daemon_run_expect_fail (AfdTestDaemon *d, const char *const *extra_args, char **out_stderr)
{
  g_autoptr (GPtrArray) args = args_with (extra_args);
  return af_test_daemon_run_expect_fail (d, AFD_SERVER_PATH, (const char *const *)args->pdata,
                                         out_stderr);
}

void
afd_test_daemon_stop (AfdTestDaemon *d)
{
  af_test_daemon_stop (d);
}

void
afd_test_daemon_kill9 (AfdTestDaemon *d)
{
  af_test_daemon_kill9 (d);
}

gint64
afd_test_daemon_peak_rss_kb (AfdTestDaemon *d)
{
  return af_test_daemon_peak_rss_kb (d);
}

void
afd_test_daemon_free (AfdTestDaemon *d)
{
  af_test_daemon_clear (d);
}

AfGrpcChannel *
afd_test_daemon_unix_channel (AfdTestDaemon *d)
{
  g_autofree char *ep = g_strdup_printf ("unix:%s", d->socket);
  g_autoptr (GError) error = NULL;
  AfGrpcChannel *ch = af_grpc_channel_new (ep, NULL, &error);
  g_assert_no_error (error);
  return ch;
}

AfGrpcChannel *
afd_test_daemon_tcp_channel (AfdTestDaemon *d)
{
  g_autofree char *ep = g_strdup_printf ("127.0.0.1:%d", d->tcp_port);
  g_autoptr (GError) error = NULL;
  AfGrpcChannel *ch = af_grpc_channel_new (ep, NULL, &error);
  g_assert_no_error (error);
  return ch;
}
