/* afd-rpc.c — the daemon's gRPC server and the glue every handler shares.
 * Logs one line per RPC (debug), warnings for server-side failures. */
#include "afd-rpc.h"
#include "afd-events.h"
#include "afd-sandbox-service.h"

#include <string.h>

/* From a grpc thread, when a watched TLS file changed: GLib's log is
 * thread-safe. */
static void
on_tls_files_changed (gboolean ok, const char *message, gpointer data)
{
  if (ok)
    g_message ("%s", message);
  else
    g_warning ("%s", message);
}

AfdRpc *
afd_rpc_new (const AfdSettings *settings, AfdCodebases *codebases, GError **error)
{
  g_autoptr (AfdRpc) rpc = g_new0 (AfdRpc, 1);
  rpc->settings = settings;
  rpc->codebases = codebases;
  AfGrpcServerOptions options = {
    .max_message_size = (gsize)settings->max_message_size,
  };
  rpc->server = af_grpc_server_new (&options, error);
  if (rpc->server == NULL)
    return NULL;
  if (settings->tls_cert_pem != NULL) {
    AfGrpcServerTls tls = {
      settings->tls_cert_pem,      settings->tls_key_pem,
      settings->tls_client_ca_pem, settings->tls_cert_file,
      settings->tls_key_file,      settings->tls_client_ca_file,
      on_tls_files_changed,        NULL,
    };
    if (!af_grpc_server_set_tls (rpc->server, &tls, error))
      return NULL;
  }
  gsize n = 0;
  const AfGrpcMethod *methods = afd_codebase_service_methods (&n);
  if (!af_grpc_server_add_methods (rpc->server, methods, n, rpc, error))
    return NULL;
  if (settings->socket_path != NULL) {
    g_autofree char *dir = g_path_get_dirname (settings->socket_path);
    /* Others must reach the socket; what they may do is decided per uid. */
    if (!af_dirs_ensure (dir, 0755, error) ||
        !af_grpc_server_listen_unix (rpc->server, settings->socket_path, 0666, error))
      return NULL;
  }
  if (settings->listen != NULL &&
      !af_grpc_server_listen_tcp (rpc->server, settings->listen, &rpc->tcp_port, error))
    return NULL;
  return g_steal_pointer (&rpc);
}

gboolean
afd_rpc_add_sandbox_service (AfdRpc *rpc, struct _AfdSandboxes *sandboxes, GError **error)
{
  rpc->sandboxes = sandboxes;
  gsize n = 0;
  const AfGrpcMethod *methods = afd_sandbox_service_methods (&n);
  if (!af_grpc_server_add_methods (rpc->server, methods, n, rpc, error))
    return FALSE;
  methods = afd_exec_service_methods (&n);
  if (!af_grpc_server_add_methods (rpc->server, methods, n, rpc, error))
    return FALSE;
  methods = afd_events_service_methods (&n);
  return af_grpc_server_add_methods (rpc->server, methods, n, rpc, error);
}

gboolean
afd_rpc_start (AfdRpc *rpc, GError **error)
{
  return af_grpc_server_start (rpc->server, error);
}

void
afd_rpc_shutdown (AfdRpc *rpc, guint timeout_ms)
{
  g_autoptr (GError) error = NULL;
  if (rpc->server && !af_grpc_server_shutdown (rpc->server, timeout_ms, &error))
    g_warning ("shutdown: %s", error->message);
}

void
afd_rpc_free (AfdRpc *rpc)
{
  if (rpc == NULL)
    return;
  if (rpc->server)
    af_grpc_server_free (rpc->server);
  g_free (rpc);
}

gboolean
afd_rpc_caller (AfdRpc *rpc, AfGrpcCall *call, AfdCaller *out, GError **error)
{
  const AfGrpcPeer *peer = af_grpc_call_get_peer (call);
  memset (out, 0, sizeof *out);
  out->address = peer->address;
  if (peer->has_credentials) {
    out->is_unix = TRUE;
    out->uid = peer->uid;
    return TRUE;
  }
  if (rpc->settings->auth_token != NULL) {
    g_autofree char *auth = af_grpc_call_dup_metadata (call, "authorization");
    if (!afd_auth_check_bearer (rpc->settings->auth_token, auth, error))
      return FALSE;
  }
  return TRUE;
}

void
afd_rpc_finish (AfGrpcCall *call, const ProtobufCMessage *response, const GError *error,
                gint64 started_us)
{
  const char *method = af_grpc_call_get_method (call);
  const char *short_name = strrchr (method, '/');
  short_name = short_name ? short_name + 1 : method;
  const AfGrpcPeer *peer = af_grpc_call_get_peer (call);
  g_autofree char *who = peer->has_credentials ? g_strdup_printf ("uid:%u", (unsigned)peer->uid)
                                               : g_strdup (peer->address ? peer->address : "?");
  double ms = (double)(g_get_monotonic_time () - started_us) / 1000.0;
  int status = af_error_to_grpc_status (error);
  if (status == AF_ERROR_INTERNAL || status == AF_ERROR_DATA_LOSS || status == AF_ERROR_UNKNOWN)
    g_warning ("%s from %s failed: %s", short_name, who, error->message);
  else
    g_debug ("%s %s %s %.2f ms%s%s", short_name, who, status ? af_error_code_name (status) : "OK",
             ms, error ? ": " : "", error ? error->message : "");
  af_grpc_call_finish (call, response, error);
}

void
afd_rpc_finish_empty (AfGrpcCall *call, const GError *error, gint64 started_us)
{
  Sandbox__V1__Empty out = SANDBOX__V1__EMPTY__INIT;
  afd_rpc_finish (call, error ? NULL : &out.base, error, started_us);
}

void
afd_rpc_timestamp (Google__Protobuf__Timestamp *ts, gint64 us)
{
  google__protobuf__timestamp__init (ts);
  ts->seconds = us / G_USEC_PER_SEC;
  ts->nanos = (int32_t)(us % G_USEC_PER_SEC) * 1000;
  if (ts->nanos < 0) {
    ts->seconds--;
    ts->nanos += 1000000000;
  }
}

typedef struct {
  GSourceFunc func;
  gpointer data;
  GDestroyNotify destroy;
  GMainContext *context;
  gboolean scheduled;
} CancelClosure;

static void
cancel_closure_free (gpointer p)
{
  CancelClosure *c = p;
  if (!c->scheduled && c->destroy)
    c->destroy (c->data);
  g_main_context_unref (c->context);
  g_free (c);
}

static void
on_cancelled (GCancellable *cancellable, gpointer p)
{
  CancelClosure *c = p;
  if (c->scheduled)
    return;
  c->scheduled = TRUE;
  /* Not from inside the signal: the handler may disconnect itself then. */
  g_autoptr (GSource) idle = g_idle_source_new ();
  g_source_set_callback (idle, c->func, c->data, c->destroy);
  g_source_attach (idle, c->context);
}

gulong
afd_rpc_on_cancel (AfGrpcCall *call, GSourceFunc func, gpointer data, GDestroyNotify destroy)
{
  CancelClosure *c = g_new0 (CancelClosure, 1);
  c->func = func;
  c->data = data;
  c->destroy = destroy;
  c->context = g_main_context_ref_thread_default ();
  return g_cancellable_connect (af_grpc_call_get_cancellable (call), G_CALLBACK (on_cancelled), c,
                                cancel_closure_free);
}

void
afd_rpc_cancel_disconnect (AfGrpcCall *call, gulong handler)
{
  if (handler != 0)
    g_cancellable_disconnect (af_grpc_call_get_cancellable (call), handler);
}
