/* test-transport-tls.c — TLS of the transport, both ends real: the C
 * server with TLS on TCP (plain on its unix socket), the C client with
 * grpc's SSL credentials, a throwaway PKI made by openssl in a temp dir
 * (make-test-certs.sh). Also the trailing metadata a stream ends with, and
 * grpc's own log lines (a failed handshake) in our log format on a server's
 * stderr.
 */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "af-error.h"
#include "af-grpc-client.h"
#include "af-grpc-tls.h"
#include "af-log.h"
#include "test-pki.h"
#include "test-service.h"

/* The PKI's files read once as PEM text. */
typedef struct {
  AfTestPki *pki;
  char *ca, *server_cert, *server_key, *named_cert, *named_key, *client_cert, *client_key;
  char *other_ca, *other_client_cert, *other_client_key;
} Pki;

/* NULL (the test skipped) when openssl is missing. */
static Pki *
pki_new (void)
{
  AfTestPki *pki = af_test_pki_new ();
  if (pki == NULL)
    return NULL;
  Pki *p = g_new0 (Pki, 1);
  p->pki = pki;
  p->ca = af_test_pki_read (pki, "ca.pem");
  p->server_cert = af_test_pki_read (pki, "server.pem");
  p->server_key = af_test_pki_read (pki, "server.key");
  p->named_cert = af_test_pki_read (pki, "named.pem");
  p->named_key = af_test_pki_read (pki, "named.key");
  p->client_cert = af_test_pki_read (pki, "client.pem");
  p->client_key = af_test_pki_read (pki, "client.key");
  p->other_ca = af_test_pki_read (pki, "other-ca.pem");
  p->other_client_cert = af_test_pki_read (pki, "other-client.pem");
  p->other_client_key = af_test_pki_read (pki, "other-client.key");
  return p;
}

static void
pki_free (Pki *p)
{
  if (p == NULL)
    return;
  af_test_pki_free (p->pki);
  g_free (p->ca);
  g_free (p->server_cert);
  g_free (p->server_key);
  g_free (p->named_cert);
  g_free (p->named_key);
  g_free (p->client_cert);
  g_free (p->client_key);
  g_free (p->other_ca);
  g_free (p->other_client_cert);
  g_free (p->other_client_key);
  g_free (p);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pki, pki_free)

/* One Echo; returns its error (NULL on success, with the reply checked). */
static GError *
echo (const char *endpoint, const AfGrpcChannelOptions *options)
{
  GError *error = NULL;
  g_autoptr (AfGrpcChannel) channel = af_grpc_channel_new (endpoint, options, &error);
  g_assert_no_error (error);
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  req.text = "over tls";
  ProtobufCMessage *reply = NULL;
  AfGrpcCallOptions call = { .timeout_ms = 10000 };
  if (!af_grpc_channel_call_unary (channel, TEST_ECHO, &req.base,
                                   &aftest__v1__test_reply__descriptor, &call, &reply, NULL,
                                   &error))
    return error;
  g_assert_cmpstr (((Aftest__V1__TestReply *)reply)->text, ==, "over tls");
  protobuf_c_message_free_unpacked (reply, NULL);
  return NULL;
}

static AfGrpcServerTls
server_tls (const Pki *p, const char *client_ca)
{
  return (AfGrpcServerTls){ p->server_cert, p->server_key, client_ca };
}

static void
test_unary_and_stream (void)
{
  g_autoptr (Pki) p = pki_new ();
  if (p == NULL)
    return;
  AfGrpcServerTls tls = server_tls (p, NULL);
  TestServer *ts = test_server_start_tls (NULL, &tls);
  AfGrpcChannelOptions opts = { .tls = TRUE, .tls_root_certs_pem = p->ca };
  g_autoptr (GError) error = echo (ts->tcp_endpoint, &opts);
  g_assert_no_error (error);

  /* A stream over TLS, and the trailer it ends with. */
  g_autoptr (AfGrpcChannel) channel = af_grpc_channel_new (ts->tcp_endpoint, &opts, &error);
  g_assert_no_error (error);
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  req.count = 200;
  req.size = 10000;
  g_autoptr (AfGrpcClientStream) stream = af_grpc_channel_start_server_stream (
      channel, TEST_STREAM, &req.base, &aftest__v1__test_reply__descriptor, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (af_grpc_client_stream_dup_trailing_metadata (stream, "x-test-sent"));
  guint n = 0;
  ProtobufCMessage *msg;
  while ((msg = af_grpc_client_stream_read (stream, &error)) != NULL) {
    g_assert_cmpuint (((Aftest__V1__TestReply *)msg)->index, ==, n);
    g_assert_cmpuint (((Aftest__V1__TestReply *)msg)->payload.len, ==, 10000);
    n++;
    protobuf_c_message_free_unpacked (msg, NULL);
  }
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 200);
  g_autofree char *sent = af_grpc_client_stream_dup_trailing_metadata (stream, "x-test-sent");
  g_assert_cmpstr (sent, ==, "200");
  g_assert_null (af_grpc_client_stream_dup_trailing_metadata (stream, "x-absent"));

  /* The unix socket of the same server stays plain. */
  g_autoptr (GError) plain = echo (ts->unix_endpoint, NULL);
  g_assert_no_error (plain);
  test_server_stop (ts, 1000);
}

static void
test_untrusted_and_plain (void)
{
  g_autoptr (Pki) p = pki_new ();
  if (p == NULL)
    return;
  AfGrpcServerTls tls = server_tls (p, NULL);
  TestServer *ts = test_server_start_tls (NULL, &tls);

  /* A client trusting another CA: the handshake fails, a connection error. */
  AfGrpcChannelOptions other = { .tls = TRUE, .tls_root_certs_pem = p->other_ca };
  g_autoptr (GError) untrusted = echo (ts->tcp_endpoint, &other);
  g_assert_error (untrusted, AF_ERROR, AF_ERROR_UNAVAILABLE);
  g_test_message ("untrusted: %s", untrusted->message);
  g_assert_true (g_str_has_prefix (untrusted->message, "cannot connect to "));

  /* A plaintext client to the TLS port. */
  g_autoptr (GError) plain = echo (ts->tcp_endpoint, NULL);
  g_assert_error (plain, AF_ERROR, AF_ERROR_UNAVAILABLE);
  g_test_message ("plain client: %s", plain->message);
  g_assert_true (g_str_has_prefix (plain->message, "cannot connect to "));

  /* A TLS client to a plain server. */
  TestServer *plain_server = test_server_start (NULL);
  AfGrpcChannelOptions opts = { .tls = TRUE, .tls_root_certs_pem = p->ca };
  g_autoptr (GError) to_plain = echo (plain_server->tcp_endpoint, &opts);
  g_assert_error (to_plain, AF_ERROR, AF_ERROR_UNAVAILABLE);
  test_server_stop (plain_server, 1000);

  /* The certificate names localhost and 127.0.0.1; "localhost" works too. */
  g_autofree char *by_name = g_strdup_printf ("localhost:%s", strrchr (ts->tcp_endpoint, ':') + 1);
  g_autoptr (GError) named = echo (by_name, &opts);
  g_assert_no_error (named);
  test_server_stop (ts, 1000);
}

static void
test_server_name_override (void)
{
  g_autoptr (Pki) p = pki_new ();
  if (p == NULL)
    return;
  AfGrpcServerTls tls = { p->named_cert, p->named_key, NULL };
  TestServer *ts = test_server_start_tls (NULL, &tls);
  /* Reached by address, the certificate for afd.test does not match... */
  AfGrpcChannelOptions opts = { .tls = TRUE, .tls_root_certs_pem = p->ca };
  g_autoptr (GError) mismatch = echo (ts->tcp_endpoint, &opts);
  g_assert_error (mismatch, AF_ERROR, AF_ERROR_UNAVAILABLE);
  /* ...unless the name to check is given. */
  opts.tls_server_name = "afd.test";
  g_autoptr (GError) error = echo (ts->tcp_endpoint, &opts);
  g_assert_no_error (error);
  test_server_stop (ts, 1000);
}

static void
test_mutual (void)
{
  g_autoptr (Pki) p = pki_new ();
  if (p == NULL)
    return;
  AfGrpcServerTls tls = server_tls (p, p->ca);
  TestServer *ts = test_server_start_tls (NULL, &tls);

  AfGrpcChannelOptions opts = { .tls = TRUE, .tls_root_certs_pem = p->ca };
  g_autoptr (GError) no_cert = echo (ts->tcp_endpoint, &opts);
  g_assert_error (no_cert, AF_ERROR, AF_ERROR_UNAVAILABLE);
  g_test_message ("no client certificate: %s", no_cert->message);
  g_assert_true (g_str_has_prefix (no_cert->message, "cannot connect to "));

  opts.tls_cert_chain_pem = p->other_client_cert;
  opts.tls_private_key_pem = p->other_client_key;
  g_autoptr (GError) other = echo (ts->tcp_endpoint, &opts);
  g_assert_error (other, AF_ERROR, AF_ERROR_UNAVAILABLE);

  opts.tls_cert_chain_pem = p->client_cert;
  opts.tls_private_key_pem = p->client_key;
  g_autoptr (GError) error = echo (ts->tcp_endpoint, &opts);
  g_assert_no_error (error);

  /* The unix socket asks for no certificate. */
  g_autoptr (GError) plain = echo (ts->unix_endpoint, NULL);
  g_assert_no_error (plain);
  test_server_stop (ts, 1000);
}

static void
test_bad_material (void)
{
  g_autoptr (Pki) p = pki_new ();
  if (p == NULL)
    return;
  g_autoptr (GError) error = NULL;
  AfGrpcServerOptions none = { 0 };
  const struct {
    AfGrpcServerTls tls;
    const char *prefix;
  } cases[] = {
    { { "not a certificate", p->server_key, NULL }, "certificate: no PEM certificate" },
    { { "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", p->server_key, NULL },
      "certificate: certificate 1 does not parse" },
    { { p->server_cert, "garbage", NULL }, "private key: not an unencrypted PEM private key" },
    { { p->server_cert, p->client_key, NULL }, "private key: the private key does not belong" },
    { { p->server_cert, p->server_cert, NULL }, "private key: not an unencrypted" },
    { { p->server_cert, p->server_key, "junk" }, "client CA: no PEM certificate" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (AfGrpcServer) server = af_grpc_server_new (&none, &error);
    g_assert_no_error (error);
    g_assert_false (af_grpc_server_set_tls (server, &cases[i].tls, &error));
    g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
    g_test_message ("%s", error->message);
    g_assert_true (g_str_has_prefix (error->message, cases[i].prefix));
    g_clear_error (&error);
  }

  /* The client checks its material too. */
  AfGrpcChannelOptions half = { .tls = TRUE, .tls_cert_chain_pem = p->client_cert };
  g_assert_null (af_grpc_channel_new ("127.0.0.1:1", &half, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  AfGrpcChannelOptions wrong = { .tls = TRUE,
                                 .tls_cert_chain_pem = p->client_cert,
                                 .tls_private_key_pem = p->server_key };
  g_assert_null (af_grpc_channel_new ("127.0.0.1:1", &wrong, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_true (g_str_has_prefix (error->message, "client key: "));
  g_clear_error (&error);

  /* Files: missing, empty. */
  g_assert_null (af_grpc_tls_read_pem ("/nonexistent/cert.pem", &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "/nonexistent/cert.pem"));
  g_clear_error (&error);
  g_autofree char *empty = af_test_pki_path (p->pki, "empty.pem");
  g_assert_true (g_file_set_contents (empty, "", 0, &error));
  g_assert_null (af_grpc_tls_read_pem (empty, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
}

static void
test_adopted_tcp_refused (void)
{
  g_autoptr (Pki) p = pki_new ();
  if (p == NULL)
    return;
  g_autoptr (GError) error = NULL;
  AfGrpcServerOptions none = { 0 };
  g_autoptr (AfGrpcServer) server = af_grpc_server_new (&none, &error);
  g_assert_no_error (error);
  AfGrpcServerTls tls = server_tls (p, NULL);
  g_assert_true (af_grpc_server_set_tls (server, &tls, &error));
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  g_assert_no_errno (bind (fd, (struct sockaddr *)&sa, sizeof sa));
  g_assert_no_errno (listen (fd, 4));
  /* The server owns @fd, also on failure. */
  g_assert_false (af_grpc_server_listen_fd (server, fd, NULL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "TLS"));
}

/* What the server reported of its watched files, from grpc's threads. */
typedef struct {
  GMutex lock;
  guint ok;
  GPtrArray *rejected; /* messages */
} Reloads;

static void
on_reloaded (gboolean ok, const char *message, gpointer data)
{
  Reloads *r = data;
  g_mutex_lock (&r->lock);
  if (ok)
    r->ok++;
  else
    g_ptr_array_add (r->rejected, g_strdup (message));
  g_mutex_unlock (&r->lock);
}

/* A server started from files serves their renewed contents from the next
 * connection on, without a restart; a half-renewed set (certificate
 * without its key) is refused and the last valid one kept, until the key
 * follows. */
static void
test_reload_from_files (void)
{
  g_autoptr (Pki) p = pki_new ();
  if (p == NULL)
    return;
  g_autofree char *cert = af_test_pki_path (p->pki, "live.pem");
  g_autofree char *key = af_test_pki_path (p->pki, "live.key");
  Reloads seen = { .rejected = g_ptr_array_new_with_free_func (g_free) };
  g_mutex_init (&seen.lock);
  af_test_pki_install (p->pki, "server.pem", "live.pem");
  af_test_pki_install (p->pki, "server.key", "live.key");

  AfGrpcServerTls tls = {
    p->server_cert, p->server_key, NULL, cert, key, NULL, on_reloaded, &seen
  };
  TestServer *ts = test_server_start_tls (NULL, &tls);
  AfGrpcChannelOptions by_ca = { .tls = TRUE, .tls_root_certs_pem = p->ca };
  AfGrpcChannelOptions by_other = { .tls = TRUE, .tls_root_certs_pem = p->other_ca };
  g_autoptr (GError) first = echo (ts->tcp_endpoint, &by_ca);
  g_assert_no_error (first);

  /* Renewed by the other CA: key first, then certificate. */
  af_test_pki_install (p->pki, "rotated.key", "live.key");
  af_test_pki_install (p->pki, "rotated.pem", "live.pem");
  g_autoptr (GError) renewed = echo (ts->tcp_endpoint, &by_other);
  g_assert_no_error (renewed);
  g_autoptr (GError) old_trust = echo (ts->tcp_endpoint, &by_ca);
  g_assert_error (old_trust, AF_ERROR, AF_ERROR_UNAVAILABLE);

  /* Half a renewal: the certificate without its key is not taken. */
  af_test_pki_install (p->pki, "server.pem", "live.pem");
  g_autoptr (GError) kept = echo (ts->tcp_endpoint, &by_other);
  g_assert_no_error (kept);
  g_mutex_lock (&seen.lock);
  g_assert_cmpuint (seen.rejected->len, >=, 1);
  g_assert_nonnull (strstr (g_ptr_array_index (seen.rejected, 0), "private key"));
  g_assert_nonnull (strstr (g_ptr_array_index (seen.rejected, 0), key));
  g_mutex_unlock (&seen.lock);

  /* The key follows: the set is whole again and served. */
  af_test_pki_install (p->pki, "server.key", "live.key");
  g_autoptr (GError) back = echo (ts->tcp_endpoint, &by_ca);
  g_assert_no_error (back);
  test_server_stop (ts, 1000);
  g_assert_cmpuint (seen.ok, ==, 2);

  g_ptr_array_unref (seen.rejected);
  g_mutex_clear (&seen.lock);
}

/* The server of test_grpc_log_format, in a child process (this program run
 * with --tls-log-server PKI_DIR): logs as a daemon does (af_log_init),
 * serves TLS with client certificates from the PKI's CA, prints its TCP
 * endpoint on stdout and stops when its stdin closes. */
static int
run_log_server (const char *pki_dir)
{
  AfTestPki pki = { (char *)pki_dir };
  g_autofree char *cert = af_test_pki_read (&pki, "server.pem");
  g_autofree char *key = af_test_pki_read (&pki, "server.key");
  g_autofree char *ca = af_test_pki_read (&pki, "ca.pem");
  AfGrpcServerTls tls = { cert, key, ca };
  TestServer *ts;
  char c;

  af_log_init (AF_LOG_LEVEL_MESSAGE);
  ts = test_server_start_tls (NULL, &tls);
  printf ("%s\n", ts->tcp_endpoint);
  fflush (stdout);
  while (read (STDIN_FILENO, &c, 1) > 0)
    ;
  test_server_stop (ts, 1000);
  return 0;
}

/* A client with a certificate from another CA: the handshake fails on the
 * server, and grpc's line about it reaches the server's stderr in our
 * format ("MESSAGE grpc …"), not in grpc's own ("E1126 12:00:00.000 … file.cc:1501] …"). */
static void
test_grpc_log_format (void)
{
  g_autoptr (Pki) p = pki_new ();
  if (p == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                 G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_unsetenv (launcher, "GRPC_VERBOSITY"); /* grpc's default: ERROR */
  g_autoptr (GSubprocess) server = g_subprocess_launcher_spawn (
      launcher, &error, "/proc/self/exe", "--tls-log-server", p->pki->dir, NULL);
  g_assert_no_error (error);
  g_autoptr (GDataInputStream) lines =
      g_data_input_stream_new (g_subprocess_get_stdout_pipe (server));
  g_autofree char *endpoint = g_data_input_stream_read_line (lines, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (endpoint);

  AfGrpcChannelOptions other = { .tls = TRUE,
                                 .tls_root_certs_pem = p->ca,
                                 .tls_cert_chain_pem = p->other_client_cert,
                                 .tls_private_key_pem = p->other_client_key };
  g_autoptr (GError) refused = echo (endpoint, &other);
  g_assert_error (refused, AF_ERROR, AF_ERROR_UNAVAILABLE);

  g_autofree char *out = NULL, *err = NULL;
  g_subprocess_communicate_utf8 (server, NULL, NULL, &out, &err, &error); /* closes its stdin */
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (server));
  g_assert_cmpint (g_subprocess_get_exit_status (server), ==, 0);
  g_test_message ("server stderr:\n%s", err);

  g_auto (GStrv) lines_of_err = g_strsplit (err, "\n", -1);
  g_autoptr (GRegex) grpc_format =
      g_regex_new ("^[DIE][0-9]{4} [0-9:.]+ +[0-9]+ [^ ]+:[0-9]+\\]", 0, 0, &error);
  g_assert_no_error (error);
  guint ours = 0;
  for (guint i = 0; lines_of_err[i]; i++) {
    g_assert_false (g_regex_match (grpc_format, lines_of_err[i], 0, NULL));
    if (g_str_has_prefix (lines_of_err[i], "MESSAGE " AF_LOG_DOMAIN_GRPC " ") &&
        strstr (lines_of_err[i], "Handshake failed") != NULL)
      ours++;
  }
  g_assert_cmpuint (ours, >=, 1);
}

int
main (int argc, char **argv)
{
  if (argc == 3 && strcmp (argv[1], "--tls-log-server") == 0)
    return run_log_server (argv[2]);
  /* The name "localhost" is resolved below; grpc's default c-ares resolver
   * leaks a few bytes per process in Debian's build (LeakSanitizer), its
   * getaddrinfo one does not. Read by grpc_init, so set before. */
  g_setenv ("GRPC_DNS_RESOLVER", "native", TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tls/unary-and-stream", test_unary_and_stream);
  g_test_add_func ("/tls/untrusted-and-plain", test_untrusted_and_plain);
  g_test_add_func ("/tls/server-name-override", test_server_name_override);
  g_test_add_func ("/tls/mutual", test_mutual);
  g_test_add_func ("/tls/bad-material", test_bad_material);
  g_test_add_func ("/tls/adopted-tcp-refused", test_adopted_tcp_refused);
  g_test_add_func ("/tls/reload-from-files", test_reload_from_files);
  g_test_add_func ("/tls/grpc-log-format", test_grpc_log_format);
  return g_test_run ();
}
