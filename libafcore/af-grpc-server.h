/* af-grpc-server.h — the gRPC server of AgentFense: a method table of
 * protobuf-c handlers on the GLib main loop, over grpc core.
 *
 * Owns: the public server and per-call API. Handlers run on the GMainContext
 * given in AfGrpcServerOptions (the thread-default context at
 * af_grpc_server_new when none is given); every AfGrpcCall function must be
 * called on that context's thread. grpc runs its own threads: a process that
 * has created a server may spawn children only with fork+exec (GSubprocess,
 * posix_spawn), never fork alone.
 *
 * Must never: log, exit, or block the main context; buffer more than the
 * configured bounds per call; let a second server take over a unix socket
 * another live server holds.
 *
 * See docs/transport.md for threading, peer credentials and limits.
 */
#pragma once

#include <gio/gio.h>
#include <protobuf-c/protobuf-c.h>

#include "af-grpc-message.h"
#include <sys/types.h>

G_BEGIN_DECLS

typedef enum {
  AF_GRPC_UNARY = 0,
  AF_GRPC_SERVER_STREAMING = 1,
  AF_GRPC_CLIENT_STREAMING = 2,
} AfGrpcMethodKind;

typedef struct _AfGrpcServer AfGrpcServer;
typedef struct _AfGrpcCall AfGrpcCall;

/* Called on the server context when a call arrives. @request is the decoded
 * request for UNARY and SERVER_STREAMING (owned by the call, valid as long as
 * the call), NULL for CLIENT_STREAMING (set a receive func instead). The
 * handler must eventually call af_grpc_call_finish() exactly once — now or
 * later; @call stays valid until then (take a ref to keep it longer). */
typedef void (*AfGrpcHandler) (AfGrpcCall *call, const ProtobufCMessage *request,
                               gpointer user_data);

/* One row of a method table. Adding a method is adding a row. */
typedef struct {
  const char *path; /* full method path: "/sandbox.v1.SandboxService/Exec" */
  AfGrpcMethodKind kind;
  const ProtobufCMessageDescriptor *request;
  const ProtobufCMessageDescriptor *response;
  AfGrpcHandler handler;
} AfGrpcMethod;

#define AF_GRPC_DEFAULT_MAX_MESSAGE_SIZE (4 * 1024 * 1024)
#define AF_GRPC_DEFAULT_QUEUE_BYTES (1024 * 1024)
#define AF_GRPC_DEFAULT_QUEUE_MESSAGES 64
#define AF_GRPC_DEFAULT_CALLS_PER_CONNECTION 256

typedef struct {
  /* Context handlers run on; NULL: the thread-default one at _new. */
  GMainContext *context;
  /* Largest message received or sent, in bytes (0: default 4 MiB). A larger
   * request fails with RESOURCE_EXHAUSTED; so does sending a larger one. */
  gsize max_message_size;
  /* Bound of the per-call send queue and client-stream receive queue, in
   * bytes of encoded messages and in messages (0: defaults 1 MiB / 64). */
  gsize queue_bytes;
  guint queue_messages;
  /* Calls one connection may have open at once (HTTP/2
   * MAX_CONCURRENT_STREAMS; 0: default 256). Further calls wait in the
   * client until one ends. */
  guint max_calls_per_connection;
} AfGrpcServerOptions;

/* Peer identity of a call. For calls on a unix-socket listener
 * (af_grpc_server_listen_unix) has_credentials is TRUE and uid/gid/pid come
 * from SO_PEERCRED of the accepted connection; otherwise they are -1 and
 * only address is set ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000"). */
typedef struct {
  gboolean has_credentials;
  uid_t uid;
  gid_t gid;
  pid_t pid;
  const char *address; /* "unix:/run/x.sock" for unix-socket peers */
} AfGrpcPeer;

AfGrpcServer *af_grpc_server_new (const AfGrpcServerOptions *options, GError **error);

/* Registers @n_methods rows; @user_data is passed to each handler. Only
 * before af_grpc_server_start(). Duplicate paths are INVALID_ARGUMENT. */
gboolean af_grpc_server_add_methods (AfGrpcServer *server, const AfGrpcMethod *methods,
                                     gsize n_methods, gpointer user_data, GError **error);

/* Listens on a unix socket at @path, created with permission bits @mode
 * (e.g. 0600, 0666). A lock file "@path.lock" is flock()ed for the life of
 * the server: if another live server holds it this fails with
 * AF_ERROR_ALREADY_EXISTS "… already running …" and leaves the socket
 * alone; a stale socket of a dead server is replaced. The parent directory
 * must exist. Peers get SO_PEERCRED credentials. Before or after _start. */
gboolean af_grpc_server_listen_unix (AfGrpcServer *server, const char *path, guint mode,
                                     GError **error);

/* Serves connections on @fd, a socket already bound and listening that
 * another process handed over (systemd socket activation). AF_UNIX peers get
 * SO_PEERCRED credentials as with af_grpc_server_listen_unix; AF_INET and
 * AF_INET6 peers only an address, and @out_port (if not NULL) receives the
 * bound port (0 for AF_UNIX). The server owns @fd from then on, also on
 * failure; it never unlinks the socket's path (its creator owns it). Before
 * or after _start. */
gboolean af_grpc_server_listen_fd (AfGrpcServer *server, int fd, int *out_port, GError **error);

/* TLS of the TCP listeners (PEM text, copied). With @client_ca_pem, every
 * client must present a certificate issued by one of those CAs (mutual
 * TLS); without it none is asked for.
 *
 * With the *_file members naming the files the text was read from, the
 * files are watched: before each new handshake a changed, valid set
 * replaces the served one (af-grpc-tls-reload.h), so renewed certificates
 * need no restart; an invalid change keeps the last valid set. @reloaded
 * (may be NULL) is told of each reload or rejected change, on a grpc
 * thread. */
typedef struct {
  const char *cert_chain_pem;  /* the server's certificate, then intermediates */
  const char *private_key_pem; /* unencrypted */
  const char *client_ca_pem;   /* NULL: no client certificates */
  const char *cert_chain_file; /* NULL: the text is fixed */
  const char *private_key_file;
  const char *client_ca_file;
  void (*reloaded) (gboolean ok, const char *message, gpointer data);
  gpointer reloaded_data;
} AfGrpcServerTls;

/* From now on TCP listeners (af_grpc_server_listen_tcp) speak TLS only.
 * Unix-socket listeners stay plain: the socket's file mode and SO_PEERCRED
 * protect them. An adopted TCP socket (af_grpc_server_listen_fd) is then
 * refused, because grpc core serves a connection it did not accept itself
 * only without TLS. Call before any listen function. The PEM text is
 * checked here: AF_ERROR_INVALID_ARGUMENT with a message starting with
 * "certificate", "private key" or "client CA" says which part is wrong. */
gboolean af_grpc_server_set_tls (AfGrpcServer *server, const AfGrpcServerTls *tls, GError **error);

/* Listens on TCP @host_port ("127.0.0.1:9000"; port 0 picks a free one,
 * returned in @out_port), with TLS once af_grpc_server_set_tls() was
 * called. Only before af_grpc_server_start(). */
gboolean af_grpc_server_listen_tcp (AfGrpcServer *server, const char *host_port, int *out_port,
                                    GError **error);

/* Starts serving. Calls are handled while the context is iterated. */
gboolean af_grpc_server_start (AfGrpcServer *server, GError **error);

/* Graceful shutdown: stop accepting, let in-flight calls finish for up to
 * @timeout_ms, then cancel the rest (their handlers see the cancellable fire
 * and must still call af_grpc_call_finish). Completes on the server context
 * once every call is gone. Call once, on the server context's thread. */
void af_grpc_server_shutdown_async (AfGrpcServer *server, guint timeout_ms,
                                    GAsyncReadyCallback callback, gpointer user_data);
gboolean af_grpc_server_shutdown_finish (AfGrpcServer *server, GAsyncResult *result,
                                         GError **error);

/* Synchronous form: iterates the server context until the shutdown is done.
 * The calling thread must be the one that may iterate that context. */
gboolean af_grpc_server_shutdown (AfGrpcServer *server, guint timeout_ms, GError **error);

/* Frees the server; shuts it down first (timeout 0: in-flight calls are
 * cancelled) if that was not done, iterating the server context until the
 * shutdown completes — so call it where that context may be iterated (its
 * own thread, or any thread once nothing else runs it). */
void af_grpc_server_free (AfGrpcServer *server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfGrpcServer, af_grpc_server_free)

/* ---- per call (all on the server context's thread) ---- */

AfGrpcCall *af_grpc_call_ref (AfGrpcCall *call);
void af_grpc_call_unref (AfGrpcCall *call);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfGrpcCall, af_grpc_call_unref)

const char *af_grpc_call_get_method (AfGrpcCall *call);
AfGrpcMethodKind af_grpc_call_get_kind (AfGrpcCall *call);
const ProtobufCMessage *af_grpc_call_get_request (AfGrpcCall *call);

/* Cancelled (on the server context) when the client cancels or goes away,
 * the deadline passes, or the server shuts down — at most once, and never
 * after af_grpc_call_finish(). Owned by the call. */
GCancellable *af_grpc_call_get_cancellable (AfGrpcCall *call);
gboolean af_grpc_call_is_cancelled (AfGrpcCall *call);

/* Absolute deadline on the g_get_monotonic_time() clock (µs), or G_MAXINT64
 * when the client set none. */
gint64 af_grpc_call_get_deadline (AfGrpcCall *call);

/* The first value of request metadata @key (lower-case ASCII, e.g.
 * "authorization"), newly allocated, or NULL when absent. */
char *af_grpc_call_dup_metadata (AfGrpcCall *call, const char *key);

const AfGrpcPeer *af_grpc_call_get_peer (AfGrpcCall *call);

/* Server streaming: queues @message (encoded now; the caller keeps
 * ownership of @message). Fails with RESOURCE_EXHAUSTED when the message is
 * larger than max_message_size or the send queue is full (check
 * af_grpc_call_can_send first), with CANCELLED when the call is over. */
gboolean af_grpc_call_send (AfGrpcCall *call, const ProtobufCMessage *message, GError **error);

/* Whether the send queue has room. When it returns FALSE, pause the producer
 * and resume it from the send-ready func. */
gboolean af_grpc_call_can_send (AfGrpcCall *call);

typedef void (*AfGrpcCallFunc) (AfGrpcCall *call, gpointer user_data);

/* @func is called (on the server context) each time the send queue drains
 * to half its bound after af_grpc_call_can_send() returned FALSE. */
void af_grpc_call_set_send_ready_func (AfGrpcCall *call, AfGrpcCallFunc func, gpointer user_data);

/* Client streaming: @func receives each message (owned by the transport,
 * valid during the callback only) in order, then once with NULL at the end
 * of the stream (client half-closed). Not called after the call is
 * cancelled or finished (a handler may finish early, e.g. with an error).
 * Receiving starts when the func is set. At most the queue bound is read
 * ahead while receiving is paused. */
typedef void (*AfGrpcReceiveFunc) (AfGrpcCall *call, const ProtobufCMessage *message,
                                   gpointer user_data);
void af_grpc_call_set_receive_func (AfGrpcCall *call, AfGrpcReceiveFunc func, gpointer user_data);
void af_grpc_call_pause_receive (AfGrpcCall *call);
void af_grpc_call_resume_receive (AfGrpcCall *call);

/* Adds @key: @value to the trailing metadata sent with the call's status
 * (both copied). Keys are lower-case ASCII ("agentfense-exit-code"), values
 * printable ASCII. Before af_grpc_call_finish(); a call that is already
 * over ignores it. */
void af_grpc_call_add_trailing_metadata (AfGrpcCall *call, const char *key, const char *value);

/* Ends the call: with @error non-NULL the status comes from
 * af_error_to_grpc_status(@error) and the details from its message;
 * otherwise OK, with @response as the reply for UNARY and CLIENT_STREAMING
 * (ignored for SERVER_STREAMING, whose queued messages are sent first).
 * Releases the handler's reference: do not use @call afterwards unless
 * you hold your own ref. Harmless on a cancelled call. */
void af_grpc_call_finish (AfGrpcCall *call, const ProtobufCMessage *response, const GError *error);

/* Convenience: finishes with an AF_ERROR @code and printf-style details. */
void af_grpc_call_finish_error (AfGrpcCall *call, int code, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

G_END_DECLS
