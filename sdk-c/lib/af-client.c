/* af-client.c — AfClient: endpoint resolution, the channel, and the one
 * helper every unary call goes through.
 *
 * Owns: which server a client talks to. Must never: implement gRPC (the
 * transport in libafcore does), log, or retry a call on its own. */
#include "af-sdk-private.h"

#include "af-dirs.h"
#include "af-grpc-tls.h"
#include "af-path.h"

#include <string.h>
#include <sys/stat.h>

G_DEFINE_BOXED_TYPE (AfClient, af_client, af_client_ref, af_client_unref)

/* Only a socket counts: a stale regular file or directory at the socket
 * path does not mean a server is there. */
static gboolean
is_socket (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 && S_ISSOCK (st.st_mode);
}

char *
af_client_default_endpoint (void)
{
  const char *env = g_getenv ("AGENTFENSE_ENDPOINT");
  if (env != NULL && *env != '\0')
    return af_client_resolve_endpoint (env);

  AfDirsEnv dirs;
  af_dirs_env_from_process (&dirs);
  g_autofree char *socket_path = af_dirs_server_socket (&dirs);
  if (socket_path != NULL && is_socket (socket_path))
    return g_strconcat ("unix:", socket_path, NULL);

  return g_strdup (AF_CLIENT_DEFAULT_TCP_ENDPOINT);
}

char *
af_client_resolve_endpoint (const char *endpoint)
{
  if (endpoint == NULL || *endpoint == '\0')
    return af_client_default_endpoint ();
  if (endpoint[0] == '/')
    return g_strconcat ("unix:", endpoint, NULL);
  return g_strdup (endpoint);
}

/* @value, else the environment variable @env, else NULL. */
static const char *
setting (const char *value, const char *env)
{
  if (value != NULL && *value != '\0')
    return value;
  const char *from_env = g_getenv (env);
  return from_env != NULL && *from_env != '\0' ? from_env : NULL;
}

/* Reads a PEM file for the channel; errors name where the path came
 * from. */
static gboolean
read_pem (const char *path, const char *what, const char *env, char **out, GError **error)
{
  if (path == NULL)
    return TRUE;
  g_autoptr (GError) local = NULL;
  *out = af_grpc_tls_read_pem (path, &local);
  if (*out == NULL) {
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION, "%s (%s, or $%s): %s",
                 what, path, env, local->message);
    return FALSE;
  }
  return TRUE;
}

static AfClient *
client_new (const char *endpoint, gboolean secure, const char *ca_file, const char *cert_file,
            const char *key_file, GError **error)
{
  AfGrpcChannelOptions options = { 0 };
  g_autofree char *ca = NULL, *cert = NULL, *key = NULL;
  g_autofree char *target = NULL;

  if (secure) {
    /* TLS is for TCP: with no endpoint given, the local unix socket (plain,
     * guarded by its file mode) is not a candidate. */
    const char *env = g_getenv ("AGENTFENSE_ENDPOINT");
    if (endpoint != NULL && *endpoint != '\0')
      target = af_client_resolve_endpoint (endpoint);
    else if (env != NULL && *env != '\0')
      target = af_client_resolve_endpoint (env);
    else
      target = g_strdup (AF_CLIENT_DEFAULT_TCP_ENDPOINT);
    if (g_str_has_prefix (target, "unix:") || g_str_has_prefix (target, "unix-abstract:")) {
      g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                   "endpoint '%s': TLS (secure) applies to TCP endpoints; a unix socket is "
                   "served plain and protected by its file mode",
                   target);
      return NULL;
    }
    ca_file = setting (ca_file, "AGENTFENSE_CA_FILE");
    cert_file = setting (cert_file, "AGENTFENSE_CLIENT_CERT");
    key_file = setting (key_file, "AGENTFENSE_CLIENT_KEY");
    if ((cert_file == NULL) != (key_file == NULL)) {
      g_set_error_literal (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                           "a client certificate needs its key and a key its certificate "
                           "(AGENTFENSE_CLIENT_CERT and AGENTFENSE_CLIENT_KEY)");
      return NULL;
    }
    if (!read_pem (ca_file, "CA file", "AGENTFENSE_CA_FILE", &ca, error) ||
        !read_pem (cert_file, "client certificate", "AGENTFENSE_CLIENT_CERT", &cert, error) ||
        !read_pem (key_file, "client key", "AGENTFENSE_CLIENT_KEY", &key, error))
      return NULL;
    options.tls = TRUE;
    options.tls_root_certs_pem = ca;
    options.tls_cert_chain_pem = cert;
    options.tls_private_key_pem = key;
    options.tls_server_name = setting (NULL, "AGENTFENSE_TLS_SERVER_NAME");
  } else {
    target = af_client_resolve_endpoint (endpoint);
  }

  g_autoptr (GError) local_error = NULL;
  AfGrpcChannel *channel = af_grpc_channel_new (target, &options, &local_error);
  if (key != NULL)
    memset (key, 0, strlen (key)); /* the channel holds its own copy */
  if (channel == NULL) {
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION, "endpoint '%s': %s",
                 target, local_error->message);
    return NULL;
  }

  AfClient *client = g_new0 (AfClient, 1);
  client->ref_count = 1;
  client->endpoint = g_steal_pointer (&target);
  client->channel = channel;
  return client;
}

AfClient *
af_client_new (const char *endpoint, gboolean secure, GError **error)
{
  return client_new (endpoint, secure, NULL, NULL, NULL, error);
}

AfClient *
af_client_new_tls (const char *endpoint, const char *ca_file, const char *cert_file,
                   const char *key_file, GError **error)
{
  return client_new (endpoint, TRUE, ca_file, cert_file, key_file, error);
}

AfClient *
af_client_ref (AfClient *client)
{
  g_return_val_if_fail (client != NULL, NULL);
  g_atomic_int_inc (&client->ref_count);
  return client;
}

void
af_client_unref (AfClient *client)
{
  if (client == NULL || !g_atomic_int_dec_and_test (&client->ref_count))
    return;
  af_grpc_channel_unref (client->channel);
  g_free (client->endpoint);
  g_free (client);
}

const char *
af_client_get_endpoint (AfClient *client)
{
  return client->endpoint;
}

gboolean
af_client_call_unary (AfClient *client, const char *method, const ProtobufCMessage *request,
                      const ProtobufCMessageDescriptor *response_desc,
                      ProtobufCMessage **out_response, AfCallContext context, const char *subject,
                      GCancellable *cancellable, GError **error)
{
  GError *call_error = NULL;
  if (!af_grpc_channel_call_unary (client->channel, method, request, response_desc, NULL,
                                   out_response, cancellable, &call_error)) {
    af_sdk_propagate_call_error (error, call_error, context, subject);
    return FALSE;
  }
  return TRUE;
}

gboolean
af_client_check_id (const char *id, const char *what, GError **error)
{
  if (id == NULL || *id == '\0') {
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION, "%s is required", what);
    return FALSE;
  }
  return TRUE;
}

char *
af_client_wire_path (const char *path, gboolean allow_root, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  AfPathFlags flags = AF_PATH_ALLOW_ABSOLUTE | (allow_root ? AF_PATH_ALLOW_ROOT : 0);
  char *normalized = af_path_normalize (path != NULL ? path : "", -1, flags, &local_error);
  if (normalized == NULL) {
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION, "path '%s': %s",
                 path != NULL ? path : "", local_error->message);
    return NULL;
  }
  return normalized;
}
