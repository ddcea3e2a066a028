/* client.h — a connection to an AgentFense server (afd-server, or any
 * server of the sandbox.v1 gRPC protocol).
 *
 * An #AfClient is reference counted and may be used from several threads
 * at once; each call blocks the calling thread until the server answered
 * (or its GCancellable fired). */
#pragma once

#include <agentfense/macros.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * AF_CLIENT_DEFAULT_TCP_ENDPOINT:
 *
 * Where clients look when neither %AGENTFENSE_ENDPOINT nor a local server
 * socket says otherwise: the address the Python SDK uses.
 */
#define AF_CLIENT_DEFAULT_TCP_ENDPOINT "localhost:9000"

/**
 * AfClient:
 *
 * A client of one server endpoint.
 */
typedef struct _AfClient AfClient;

/**
 * af_client_get_type:
 *
 * Returns: the boxed #GType of #AfClient.
 */
AF_PUBLIC GType af_client_get_type (void);

/**
 * af_client_default_endpoint:
 *
 * The endpoint af_client_new() uses when given %NULL: the value of the
 * environment variable `AGENTFENSE_ENDPOINT` if set and not empty; else the
 * local server's unix socket (`$AGENTFENSE_RUNTIME_DIR/afd.sock`,
 * `/run/agentfense/afd.sock` for root, `$XDG_RUNTIME_DIR/agentfense/afd.sock`
 * otherwise) if a socket exists there; else
 * %AF_CLIENT_DEFAULT_TCP_ENDPOINT.
 *
 * Returns: (transfer full): the endpoint ("unix:/run/agentfense/afd.sock",
 *   "localhost:9000").
 */
AF_PUBLIC char *af_client_default_endpoint (void);

/**
 * af_client_new:
 * @endpoint: (nullable): "unix:/path", an absolute socket path, "host:port",
 *   or %NULL for af_client_default_endpoint()
 * @secure: whether to use TLS, as the Python SDK's `secure=True`
 * @error: return location for an %AF_SDK_ERROR_INVALID_CONFIGURATION error
 *
 * Creates a client. No connection is made yet: a server that is not there
 * shows as %AF_SDK_ERROR_CONNECTION from the first call.
 *
 * With @secure the connection is TLS, and the server's certificate must
 * chain to a trusted CA: by default grpc's roots (the file named by
 * `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`, else the system's bundle,
 * /etc/ssl/certs/ca-certificates.crt on Debian), or the PEM file named by
 * `AGENTFENSE_CA_FILE` for a private CA. `AGENTFENSE_CLIENT_CERT` and
 * `AGENTFENSE_CLIENT_KEY` name a client certificate and its key, for a
 * server that requires one (mutual TLS). `AGENTFENSE_TLS_SERVER_NAME`
 * checks the certificate against that name instead of the endpoint's host
 * (a server reached by address). TLS applies to TCP endpoints only: with
 * @endpoint %NULL the local unix socket is not considered, and a unix
 * endpoint fails with %AF_SDK_ERROR_INVALID_CONFIGURATION. A handshake
 * that fails (an untrusted certificate, a plain server, a missing client
 * certificate) shows as %AF_SDK_ERROR_CONNECTION from the first call.
 *
 * Returns: (transfer full): a new client, or %NULL with @error set.
 */
AF_PUBLIC AfClient *af_client_new (const char *endpoint, gboolean secure, GError **error);

/**
 * af_client_new_tls:
 * @endpoint: (nullable): "host:port", or %NULL for `AGENTFENSE_ENDPOINT`,
 *   else %AF_CLIENT_DEFAULT_TCP_ENDPOINT
 * @ca_file: (nullable) (type filename): PEM CA certificates to trust
 *   instead of the default roots; %NULL: `AGENTFENSE_CA_FILE`, else the
 *   default roots
 * @cert_file: (nullable) (type filename): PEM client certificate (chain);
 *   %NULL: `AGENTFENSE_CLIENT_CERT`, else none
 * @key_file: (nullable) (type filename): its unencrypted PEM private key;
 *   %NULL: `AGENTFENSE_CLIENT_KEY`, else none
 * @error: return location for an %AF_SDK_ERROR_INVALID_CONFIGURATION error
 *   (a file that cannot be read or is not PEM, a key that does not belong
 *   to the certificate)
 *
 * Creates a TLS client as af_client_new() with @secure %TRUE, with the
 * files given here taking precedence over the environment.
 *
 * Returns: (transfer full): a new client, or %NULL with @error set.
 */
AF_PUBLIC AfClient *af_client_new_tls (const char *endpoint, const char *ca_file,
                                       const char *cert_file, const char *key_file, GError **error);

/**
 * af_client_ref:
 * @client: a client
 *
 * Returns: (transfer full): @client
 */
AF_PUBLIC AfClient *af_client_ref (AfClient *client);

/**
 * af_client_unref:
 * @client: (transfer full): a client
 *
 * Drops a reference; the connection closes with the last one.
 */
AF_PUBLIC void af_client_unref (AfClient *client);

/**
 * af_client_get_endpoint:
 * @client: a client
 *
 * Returns: (transfer none): the endpoint in use, in gRPC target form
 *   ("unix:/run/agentfense/afd.sock", "localhost:9000").
 */
AF_PUBLIC const char *af_client_get_endpoint (AfClient *client);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfClient, af_client_unref)

G_END_DECLS
