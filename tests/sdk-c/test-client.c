/* test-client.c — AfClient without a server: endpoint resolution
 * (AGENTFENSE_ENDPOINT, the local server socket, the TCP default), argument
 * checks made before anything is sent, and the errors a missing server
 * gives. Links the shared library: public API only. */
#include <agentfense/agentfense.h>

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  char *dir;
  char *socket_path;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->dir = g_dir_make_tmp ("af-client-XXXXXX", &error);
  g_assert_no_error (error);
  f->socket_path = g_build_filename (f->dir, "afd.sock", NULL);
  g_setenv ("AGENTFENSE_RUNTIME_DIR", f->dir, TRUE);
  g_unsetenv ("AGENTFENSE_ENDPOINT");
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_unlink (f->socket_path);
  g_assert_cmpint (g_rmdir (f->dir), ==, 0);
  g_unsetenv ("AGENTFENSE_RUNTIME_DIR");
  g_free (f->socket_path);
  g_free (f->dir);
}

static void
test_default_tcp (Fixture *f, gconstpointer data)
{
  g_autofree char *endpoint = af_client_default_endpoint ();
  g_assert_cmpstr (endpoint, ==, "localhost:9000");

  /* A regular file where the socket would be is not a server. */
  g_assert_true (g_file_set_contents (f->socket_path, "", 0, NULL));
  g_autofree char *again = af_client_default_endpoint ();
  g_assert_cmpstr (again, ==, "localhost:9000");
}

static void
test_default_socket (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) socket =
      g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (f->socket_path);
  g_assert_true (g_socket_bind (socket, address, TRUE, &error));
  g_assert_no_error (error);

  g_autofree char *expected = g_strconcat ("unix:", f->socket_path, NULL);
  g_autofree char *endpoint = af_client_default_endpoint ();
  g_assert_cmpstr (endpoint, ==, expected);

  g_autoptr (AfClient) client = af_client_new (NULL, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_client_get_endpoint (client), ==, expected);

  /* The environment variable beats the socket; an explicit endpoint beats
   * both, and an absolute path means a unix socket. */
  g_setenv ("AGENTFENSE_ENDPOINT", "127.0.0.1:7777", TRUE);
  g_autofree char *from_env = af_client_default_endpoint ();
  g_assert_cmpstr (from_env, ==, "127.0.0.1:7777");
  g_autoptr (AfClient) explicit_client = af_client_new ("/run/x.sock", FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_client_get_endpoint (explicit_client), ==, "unix:/run/x.sock");
  g_autoptr (AfClient) env_client = af_client_new ("", FALSE, &error);
  g_assert_cmpstr (af_client_get_endpoint (env_client), ==, "127.0.0.1:7777");
  g_unsetenv ("AGENTFENSE_ENDPOINT");
}

/* What a TLS client checks before any connection (the handshakes
 * themselves: test-tls.c). */
static void
test_secure_config (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfClient) tls = af_client_new ("localhost:9000", TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_client_get_endpoint (tls), ==, "localhost:9000");

  /* A unix socket is served plain. */
  g_assert_null (af_client_new ("unix:/run/x.sock", TRUE, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);
  g_assert_null (af_client_new ("/run/x.sock", TRUE, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);

  /* With no endpoint, TLS ignores the local socket and takes the TCP
   * default. */
  g_unsetenv ("AGENTFENSE_ENDPOINT");
  g_autoptr (AfClient) by_default = af_client_new (NULL, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_client_get_endpoint (by_default), ==, AF_CLIENT_DEFAULT_TCP_ENDPOINT);

  /* Files from the environment: named in the error when unreadable. */
  g_setenv ("AGENTFENSE_CA_FILE", "/nonexistent/ca.pem", TRUE);
  g_assert_null (af_client_new ("localhost:9000", TRUE, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, "/nonexistent/ca.pem"));
  g_assert_nonnull (strstr (error->message, "AGENTFENSE_CA_FILE"));
  g_clear_error (&error);
  /* An argument wins over the environment (and is checked the same). */
  g_assert_null (
      af_client_new_tls ("localhost:9000", "/nonexistent/other.pem", NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "/nonexistent/other.pem"));
  g_clear_error (&error);
  g_unsetenv ("AGENTFENSE_CA_FILE");
  g_setenv ("AGENTFENSE_CLIENT_CERT", "/nonexistent/client.pem", TRUE);
  g_assert_null (af_client_new ("localhost:9000", TRUE, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, "AGENTFENSE_CLIENT_KEY"));
  g_clear_error (&error);
  g_unsetenv ("AGENTFENSE_CLIENT_CERT");
  /* Plain clients do not look at any of it. */
  g_setenv ("AGENTFENSE_CA_FILE", "/nonexistent/ca.pem", TRUE);
  g_autoptr (AfClient) plain = af_client_new ("localhost:9000", FALSE, &error);
  g_assert_no_error (error);
  g_unsetenv ("AGENTFENSE_CA_FILE");
}

/* Nothing listens at the socket: every call is a connection error, with
 * the gRPC status behind it. */
static void
test_no_server (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfClient) client = af_client_new (f->socket_path, FALSE, &error);
  g_assert_no_error (error);

  g_assert_null (af_client_get_codebase (client, "cb_x", NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_CONNECTION);
  g_assert_cmpint (af_sdk_error_get_grpc_status (error), ==, 14);
  g_clear_error (&error);

  g_autoptr (GBytes) content = g_bytes_new_static ("x", 1);
  g_assert_false (af_client_upload_bytes (client, "cb_x", "a.txt", content, NULL, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_CONNECTION);
  g_clear_error (&error);

  g_assert_null (af_client_download_file (client, "cb_x", "a.txt", NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_CONNECTION);
}

/* Bad arguments fail before any call (no server needed to see them). */
static void
test_arguments (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfClient) client = af_client_new (f->socket_path, FALSE, &error);
  g_autoptr (GBytes) content = g_bytes_new_static ("x", 1);

  g_assert_null (af_client_get_codebase (client, "", NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);
  g_assert_null (af_client_create_codebase (client, NULL, NULL, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);
  g_assert_false (
      af_client_upload_bytes (client, "cb_x", "../escape", content, NULL, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);
  g_assert_false (af_client_upload_bytes (client, "cb_x", "/", content, NULL, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);
  g_assert_null (af_client_list_files (client, "cb_x", "a/../../b", FALSE, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);

  /* A local file that is a symbolic link is refused, not followed. */
  g_autofree char *link = g_build_filename (f->dir, "link", NULL);
  g_assert_cmpint (symlink ("/etc/hostname", link), ==, 0);
  g_assert_false (af_client_upload_local_file (client, "cb_x", "h", link, NULL, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_UPLOAD);
  g_assert_nonnull (strstr (error->message, "symbolic link"));
  g_unlink (link);
}

static void
test_cancelled (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfClient) client = af_client_new (f->socket_path, FALSE, &error);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_cancellable_cancel (cancellable);

  g_assert_null (af_client_list_codebases (client, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/sdk/client/default-tcp", test_default_tcp);
  ADD ("/sdk/client/default-socket", test_default_socket);
  ADD ("/sdk/client/secure-config", test_secure_config);
  ADD ("/sdk/client/no-server", test_no_server);
  ADD ("/sdk/client/arguments", test_arguments);
  ADD ("/sdk/client/cancelled", test_cancelled);
#undef ADD
  return g_test_run ();
}
