/* af-grpc-server-private.h — structures shared by the server's files
 * (af-grpc-server.c: lifecycle and completion-queue thread; af-grpc-call.c:
 * one call's state machine; af-grpc-listen.c: unix-socket listener and peer
 * credentials). Not installed; nothing outside those files includes it.
 *
 * Threading: everything here is touched only on the server context's thread,
 * except AfGrpcServer.events (guarded by events_lock), which the completion
 * queue thread fills.
 */
#pragma once

#include <grpc/grpc.h>

#include "af-grpc-server.h"

G_BEGIN_DECLS

/* One per kind of in-flight grpc operation of an object. The completion
 * queue carries a pointer to it; its func runs on the server context. */
typedef struct {
  void (*func) (gpointer owner, gboolean ok);
  gpointer owner;
} AfGrpcTag;

typedef struct {
  AfGrpcMethod method;
  gpointer user_data;
  void *handle; /* from grpc_server_register_method */
} AfGrpcMethodEntry;

/* An armed grpc_server_request_(registered_)call; becomes an AfGrpcCall. */
typedef struct {
  AfGrpcServer *server;
  AfGrpcMethodEntry *entry; /* NULL: the generic request for unknown methods */
  AfGrpcTag tag;
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array metadata;
  grpc_byte_buffer *payload;
  grpc_call_details details; /* generic only */
} AfGrpcPending;

typedef struct {
  gboolean has_credentials; /* FALSE for TCP peers of an adopted socket */
  uid_t uid;
  gid_t gid;
  pid_t pid;
  char *address; /* "unix:PATH", or "ipv4:A:P" / "ipv6:[A]:P" */
} AfGrpcPeerCreds;

struct _AfGrpcServer {
  GMainContext *context;
  GSource *source; /* drains events on the context */

  GMutex events_lock;
  GQueue events; /* AfGrpcEvent*, from the CQ thread; guarded by events_lock */

  GThread *thread;
  grpc_server *server;
  grpc_completion_queue *cq;
  grpc_server_credentials *insecure;
  grpc_server_credentials *tls;        /* NULL: TCP listeners are plain */
  struct _AfGrpcTlsReload *tls_reload; /* the files behind tls, when watched; outlives it */
  gboolean listening;                  /* a listener was added: TLS can no longer change */

  GPtrArray *methods; /* AfGrpcMethodEntry*, owned */
  GHashTable *paths;  /* path → AfGrpcMethodEntry* */

  gsize max_message_size;
  gsize queue_bytes;
  guint queue_messages;

  GPtrArray *listeners;   /* AfGrpcUnixListener*, owned */
  GHashTable *peer_creds; /* GINT_TO_POINTER (fd) → AfGrpcPeerCreds* of that connection */

  gboolean started;
  gboolean shutting_down;
  gboolean cq_shut; /* no batch may start any more */
  gboolean thread_done;
  guint n_calls;
  AfGrpcTag shutdown_tag;
  GSource *timeout_source;
  GTask *shutdown_task;
};

/* af-grpc-call.c */
void af_grpc_call_take_pending (AfGrpcServer *server, AfGrpcPending *pending);

/* af-grpc-server.c */
void af_grpc_server_call_gone (AfGrpcServer *server);

/* af-grpc-listen.c */
typedef struct _AfGrpcUnixListener AfGrpcUnixListener;
AfGrpcUnixListener *af_grpc_unix_listener_new (AfGrpcServer *server, const char *path, guint mode,
                                               GError **error);
AfGrpcUnixListener *af_grpc_fd_listener_new (AfGrpcServer *server, int fd, int *out_port,
                                             GError **error);
void af_grpc_unix_listener_start (AfGrpcUnixListener *listener);
void af_grpc_unix_listener_stop (AfGrpcUnixListener *listener);
void af_grpc_unix_listener_free (AfGrpcUnixListener *listener);
void af_grpc_peer_creds_free (AfGrpcPeerCreds *creds);

G_END_DECLS
