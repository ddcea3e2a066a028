/* test-tls.c — libagentfense over TLS to a real afd-server whose TCP
 * listener has a certificate of a throwaway CA (made with openssl by
 * tests/transport/make-test-certs.sh): unary, client- and server-streaming
 * calls; the CA from an argument and from AGENTFENSE_CA_FILE; an untrusted
 * CA, a plain client and a missing client certificate as connection
 * errors; and the start-up errors of a bad certificate configuration. */
#include "sdk-test-server.h"

#include <agentfense/agentfense.h>
#include <glib/gstdio.h>
#include <string.h>

#include "test-pki.h"

/* afd-server on 127.0.0.1 (a free port) with TLS from the PKI's files
 * @name.pem and @name.key, and client certificates required when
 * @mutual. */
static SdkTestServer *
start_tls_server (const AfTestPki *p, const char *name, gboolean mutual, char **out_endpoint)
{
  g_autofree char *cert_name = g_strconcat (name, ".pem", NULL);
  g_autofree char *key_name = g_strconcat (name, ".key", NULL);
  g_autofree char *cert = af_test_pki_path (p, cert_name);
  g_autofree char *key = af_test_pki_path (p, key_name);
  g_autofree char *ca = af_test_pki_path (p, "ca.pem");
  g_autofree char *cert_arg = g_strconcat ("--tls-cert=", cert, NULL);
  g_autofree char *key_arg = g_strconcat ("--tls-key=", key, NULL);
  g_autofree char *ca_arg = g_strconcat ("--tls-client-ca=", ca, NULL);
  const char *args[] = { "--listen=127.0.0.1:0", cert_arg, key_arg, mutual ? ca_arg : NULL, NULL };
  SdkTestServer *server = sdk_test_server_start (args);
  if (server != NULL) {
    g_assert_cmpint (server->tcp_port, >, 0);
    *out_endpoint = g_strdup_printf ("127.0.0.1:%d", server->tcp_port);
  }
  return server;
}

/* A codebase round trip: create (unary), upload (client streaming),
 * download (server streaming), delete. */
static GError *
round_trip (AfClient *client)
{
  GError *error = NULL;
  g_autoptr (AfCodebase) cb = af_client_create_codebase (client, "tls", "tester", NULL, &error);
  if (cb == NULL)
    return error;
  g_autoptr (GBytes) content = g_bytes_new_static ("sealed\n", 7);
  g_assert_true (af_client_upload_bytes (client, af_codebase_get_id (cb), "a.txt", content, NULL,
                                         NULL, &error));
  g_assert_no_error (error);
  g_autoptr (GBytes) back =
      af_client_download_file (client, af_codebase_get_id (cb), "a.txt", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back, content));
  g_assert_true (af_client_delete_codebase (client, af_codebase_get_id (cb), NULL, &error));
  g_assert_no_error (error);
  return NULL;
}

/* round_trip () with a new client trusting the CA file @ca. */
static GError *
trip_trusting (const char *endpoint, const char *ca)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfClient) client = af_client_new_tls (endpoint, ca, NULL, NULL, &error);
  g_assert_no_error (error);
  return round_trip (client);
}

/* `agentfense --endpoint ENDPOINT [OPTION [VALUE]] codebase ls`; the exit
 * status. */
static int
run_cli (const char *endpoint, const char *option, const char *value, const char *more)
{
  g_autoptr (GError) error = NULL;
  const char *argv[10] = { AGENTFENSE_CLI, "--endpoint", endpoint };
  gsize n = 3;
  for (const char *const *a = (const char *const[]){ option, value, more, NULL }; *a != NULL; a++)
    argv[n++] = *a;
  argv[n++] = "codebase";
  argv[n++] = "ls";
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_unsetenv (launcher, "AGENTFENSE_CA_FILE");
  g_autoptr (GSubprocess) proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_autofree char *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err, &error));
  g_assert_no_error (error);
  g_test_message ("agentfense %s %s: %s", option ? option : "", value ? value : "", err);
  g_assert_true (g_subprocess_get_if_exited (proc));
  return g_subprocess_get_exit_status (proc);
}

static void
test_tls (void)
{
  g_autoptr (AfTestPki) p = af_test_pki_new ();
  if (p == NULL)
    return;
  g_autofree char *endpoint = NULL;
  SdkTestServer *server = start_tls_server (p, "server", FALSE, &endpoint);
  if (server == NULL)
    return;
  g_autofree char *ca = af_test_pki_path (p, "ca.pem");
  g_autofree char *other_ca = af_test_pki_path (p, "other-ca.pem");
  g_autoptr (GError) error = NULL;

  g_autoptr (AfClient) client = af_client_new_tls (endpoint, ca, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GError) trip = round_trip (client);
  g_assert_no_error (trip);

  /* secure = TRUE with the private CA from the environment. */
  g_setenv ("AGENTFENSE_CA_FILE", ca, TRUE);
  g_autoptr (AfClient) from_env = af_client_new (endpoint, TRUE, &error);
  g_unsetenv ("AGENTFENSE_CA_FILE");
  g_assert_no_error (error);
  g_autoptr (GError) env_trip = round_trip (from_env);
  g_assert_no_error (env_trip);

  /* A client that trusts another CA, and one that does not speak TLS:
   * connection errors, as when nothing listens. */
  g_autoptr (AfClient) untrusting = af_client_new_tls (endpoint, other_ca, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GError) untrusted = round_trip (untrusting);
  g_assert_error (untrusted, AF_SDK_ERROR, AF_SDK_ERROR_CONNECTION);
  g_test_message ("untrusted: %s", untrusted->message);
  g_autoptr (AfClient) plain = af_client_new (endpoint, FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (GError) plain_error = round_trip (plain);
  g_assert_error (plain_error, AF_SDK_ERROR, AF_SDK_ERROR_CONNECTION);

  /* The tool: --ca-file implies --secure; --secure alone trusts only the
   * system's CAs, which did not issue this certificate (exit 3:
   * connection). */
  int cli_status = run_cli (endpoint, "--ca-file", ca, NULL);
  g_assert_cmpint (cli_status, ==, 0);
  cli_status = run_cli (endpoint, "--secure", NULL, NULL);
  g_assert_cmpint (cli_status, ==, 3);
  cli_status = run_cli (endpoint, NULL, NULL, NULL);
  g_assert_cmpint (cli_status, ==, 3);

  /* The unix socket of the same server stays plain. */
  g_autoptr (AfClient) local = af_client_new (server->endpoint, FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (GError) local_trip = round_trip (local);
  g_assert_no_error (local_trip);
  sdk_test_server_stop (server);
}

/* A certificate renewed on disk is what the running server presents to the
 * next connection: no restart, and the log says so. */
static void
test_renewed_certificate (void)
{
  g_autoptr (AfTestPki) p = af_test_pki_new ();
  if (p == NULL)
    return;
  af_test_pki_install (p, "server.pem", "live.pem");
  af_test_pki_install (p, "server.key", "live.key");
  g_autofree char *endpoint = NULL;
  SdkTestServer *server = start_tls_server (p, "live", FALSE, &endpoint);
  if (server == NULL)
    return;
  g_autofree char *ca = af_test_pki_path (p, "ca.pem");
  g_autofree char *other_ca = af_test_pki_path (p, "other-ca.pem");

  g_autoptr (GError) before = trip_trusting (endpoint, ca);
  g_assert_no_error (before);

  /* Renewed, by another CA so that the difference shows. */
  af_test_pki_install (p, "rotated.key", "live.key");
  af_test_pki_install (p, "rotated.pem", "live.pem");
  g_autoptr (GError) renewed = trip_trusting (endpoint, other_ca);
  g_assert_no_error (renewed);
  g_autoptr (GError) refused = trip_trusting (endpoint, ca);
  g_assert_error (refused, AF_SDK_ERROR, AF_SDK_ERROR_CONNECTION);

  g_autofree char *log = NULL;
  g_assert_true (g_file_get_contents (server->log, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "TLS certificate reloaded"));
  sdk_test_server_stop (server);
}

static void
test_mutual (void)
{
  g_autoptr (AfTestPki) p = af_test_pki_new ();
  if (p == NULL)
    return;
  g_autofree char *endpoint = NULL;
  SdkTestServer *server = start_tls_server (p, "server", TRUE, &endpoint);
  if (server == NULL)
    return;
  g_autofree char *ca = af_test_pki_path (p, "ca.pem");
  g_autofree char *cert = af_test_pki_path (p, "client.pem");
  g_autofree char *key = af_test_pki_path (p, "client.key");
  g_autofree char *other_cert = af_test_pki_path (p, "other-client.pem");
  g_autofree char *other_key = af_test_pki_path (p, "other-client.key");
  g_autoptr (GError) error = NULL;

  g_autoptr (AfClient) anonymous = af_client_new_tls (endpoint, ca, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GError) refused = round_trip (anonymous);
  g_assert_error (refused, AF_SDK_ERROR, AF_SDK_ERROR_CONNECTION);

  g_autoptr (AfClient) stranger = af_client_new_tls (endpoint, ca, other_cert, other_key, &error);
  g_assert_no_error (error);
  g_autoptr (GError) stranger_error = round_trip (stranger);
  g_assert_error (stranger_error, AF_SDK_ERROR, AF_SDK_ERROR_CONNECTION);

  g_autoptr (AfClient) known = af_client_new_tls (endpoint, ca, cert, key, &error);
  g_assert_no_error (error);
  g_autoptr (GError) trip = round_trip (known);
  g_assert_no_error (trip);

  /* The same through the environment. */
  g_setenv ("AGENTFENSE_CA_FILE", ca, TRUE);
  g_setenv ("AGENTFENSE_CLIENT_CERT", cert, TRUE);
  g_setenv ("AGENTFENSE_CLIENT_KEY", key, TRUE);
  g_autoptr (AfClient) from_env = af_client_new (endpoint, TRUE, &error);
  g_unsetenv ("AGENTFENSE_CA_FILE");
  g_unsetenv ("AGENTFENSE_CLIENT_CERT");
  g_unsetenv ("AGENTFENSE_CLIENT_KEY");
  g_assert_no_error (error);
  g_autoptr (GError) env_trip = round_trip (from_env);
  g_assert_no_error (env_trip);
  sdk_test_server_stop (server);
}

/* A bad certificate configuration stops afd-server at start-up with the
 * key and the file named. */
static void
test_startup_errors (void)
{
  if (!g_file_test (AFD_SERVER_PATH, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("afd-server was not built");
    return;
  }
  g_autoptr (AfTestPki) p = af_test_pki_new ();
  if (p == NULL)
    return;
  g_autofree char *cert = g_strconcat ("--tls-cert=", p->dir, "/server.pem", NULL);
  g_autofree char *key = g_strconcat ("--tls-key=", p->dir, "/server.key", NULL);
  g_autofree char *wrong_key = g_strconcat ("--tls-key=", p->dir, "/client.key", NULL);
  g_autofree char *key_as_cert = g_strconcat ("--tls-cert=", p->dir, "/server.key", NULL);
  g_autofree char *junk_ca = g_strconcat ("--tls-client-ca=", p->dir, "/server.key", NULL);
  const struct {
    const char *args[4];
    const char *want[4];
  } cases[] = {
    { { "--tls-cert=/nonexistent/server.pem", key, NULL },
      { "tls_cert", "/nonexistent/server.pem", NULL } },
    { { cert, "--tls-key=/nonexistent/server.key", NULL },
      { "tls_key", "/nonexistent/server.key", NULL } },
    { { cert, wrong_key, NULL }, { "tls_key", "client.key", "does not belong" } },
    { { key_as_cert, key, NULL }, { "tls_cert", "server.key", "no PEM certificate" } },
    { { cert, NULL }, { "tls_cert and tls_key go together", NULL } },
    { { cert, key, junk_ca }, { "tls_client_ca", "server.key", NULL } },
  };
  AfTestDaemon d = { 0 };
  af_test_daemon_prepare (&d, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    const char *args[8] = { "--listen=127.0.0.1:0" };
    for (gsize k = 0; cases[i].args[k] != NULL; k++)
      args[k + 1] = cases[i].args[k];
    g_autofree char *err = NULL;
    int status = af_test_daemon_run_expect_fail (&d, AFD_SERVER_PATH, args, &err);
    g_test_message ("%s", err);
    g_assert_cmpint (status, !=, 0);
    for (gsize k = 0; cases[i].want[k] != NULL; k++)
      g_assert_nonnull (strstr (err, cases[i].want[k]));
  }
  af_test_daemon_clear (&d);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sdk/tls/server-auth", test_tls);
  g_test_add_func ("/sdk/tls/mutual", test_mutual);
  g_test_add_func ("/sdk/tls/renewed-certificate", test_renewed_certificate);
  g_test_add_func ("/sdk/tls/startup-errors", test_startup_errors);
  return g_test_run ();
}
