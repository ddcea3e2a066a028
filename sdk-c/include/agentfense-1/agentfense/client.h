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
 * @secure: whether to use TLS; this build offers no TLS transport yet, so
 *   %TRUE fails with %AF_SDK_ERROR_INVALID_CONFIGURATION
 * @error: return location for an %AF_SDK_ERROR_INVALID_CONFIGURATION error
 *
 * Creates a client. No connection is made yet: a server that is not there
 * shows as %AF_SDK_ERROR_CONNECTION from the first call.
 *
 * Returns: (transfer full): a new client, or %NULL with @error set.
 */
AF_PUBLIC AfClient *af_client_new (const char *endpoint, gboolean secure, GError **error);

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
