/* af-client.c — AfClient: endpoint resolution, the channel, and the one
 * helper every unary call goes through.
 *
 * Owns: which server a client talks to. Must never: implement gRPC (the
 * transport in libafcore does), log, or retry a call on its own. */
#include "af-sdk-private.h"

#include "af-dirs.h"
#include "af-path.h"

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

AfClient *
af_client_new (const char *endpoint, gboolean secure, GError **error)
{
  if (secure) {
    g_set_error_literal (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                         "TLS (secure = TRUE) is not supported by this build of libagentfense");
    return NULL;
  }

  g_autofree char *target = af_client_resolve_endpoint (endpoint);
  g_autoptr (GError) local_error = NULL;
  AfGrpcChannel *channel = af_grpc_channel_new (target, NULL, &local_error);
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
