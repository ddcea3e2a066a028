/* afd-rpc.h — what every RPC handler of afd-server shares.
 *
 * Owns: the gRPC server of the daemon (built on libafcore's transport), the
 * registration of each service's method table, turning a call's peer into an
 * AfdCaller (unix uid from the kernel; TCP with the bearer-token check), the
 * one log line per RPC, and protobuf helpers (timestamps).
 * Must never: decide what a caller may touch (afd-identity and the
 * operations do), or block the main context. */
#pragma once

#include "af-grpc-server.h"
#include "afd-codebases.h"
#include "afd-config.h"
#include "afd-identity.h"

#include "google/protobuf/timestamp.pb-c.h"

G_BEGIN_DECLS

typedef struct {
  AfGrpcServer *server;
  const AfdSettings *settings;
  AfdCodebases *codebases;
  struct _AfdSandboxes *sandboxes; /* set by afd_rpc_add_sandbox_service */
  int tcp_port;                    /* bound TCP port, 0 when TCP is off */
} AfdRpc;

/* Create the server, register every service, listen on the configured
 * unix socket (mode 0666: access is decided per uid) and TCP address. */
AfdRpc *afd_rpc_new (const AfdSettings *settings, AfdCodebases *codebases, GError **error);
gboolean afd_rpc_start (AfdRpc *rpc, GError **error);
/* Graceful: in-flight calls get @timeout_ms, then are cancelled. */
void afd_rpc_shutdown (AfdRpc *rpc, guint timeout_ms);
void afd_rpc_free (AfdRpc *rpc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdRpc, afd_rpc_free)

/* Fill @out from @call (borrowing strings from the call). UNAUTHENTICATED
 * for a TCP call without the configured bearer token. */
gboolean afd_rpc_caller (AfdRpc *rpc, AfGrpcCall *call, AfdCaller *out, GError **error);

/* Finish @call with @response or @error and log one debug line (an INTERNAL
 * or DATA_LOSS error is logged as a warning). @started_us from
 * g_get_monotonic_time() when the call began. */
void afd_rpc_finish (AfGrpcCall *call, const ProtobufCMessage *response, const GError *error,
                     gint64 started_us);

/* afd_rpc_finish with an Empty response when @error is NULL: the reply of
 * every delete/destroy/discard method. */
void afd_rpc_finish_empty (AfGrpcCall *call, const GError *error, gint64 started_us);

void afd_rpc_timestamp (Google__Protobuf__Timestamp *ts, gint64 us);

/* Run @func(@data) once on the current thread-default context after
 * @call's cancellable fires (never from inside the signal handler itself);
 * returns the handler id for afd_rpc_cancel_disconnect. */
gulong afd_rpc_on_cancel (AfGrpcCall *call, GSourceFunc func, gpointer data,
                          GDestroyNotify destroy);
void afd_rpc_cancel_disconnect (AfGrpcCall *call, gulong handler);

/* Register SandboxService (afd-sandbox-service.c, afd-exec-service.c)
 * over @sandboxes (borrowed). Before afd_rpc_start. */
gboolean afd_rpc_add_sandbox_service (AfdRpc *rpc, struct _AfdSandboxes *sandboxes, GError **error);

/* The CodebaseService method table (afd-codebase-service.c). */
const AfGrpcMethod *afd_codebase_service_methods (gsize *out_n);

G_END_DECLS
