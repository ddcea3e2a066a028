/* af-grpc-client.h — the gRPC client of AgentFense over grpc core +
 * protobuf-c: unary, server-streaming and client-streaming calls, in
 * blocking and GTask forms.
 *
 * Owns: channels (one HTTP/2 connection to "unix:/path" or "host:port"),
 * per-call deadline, metadata and cancellation, and the mapping of a
 * received status to a GError (AF_ERROR, same table as the server).
 *
 * Must never: log, exit, or keep a call's resources after it returns. The
 * blocking functions may run on any thread and do not need a main loop; an
 * AfGrpcChannel may be shared by threads. A single AfGrpcClientStream is
 * used by one thread at a time (af_grpc_client_stream_cancel excepted).
 *
 * Errors: a status other than OK becomes AF_ERROR with the same code and the
 * server's details; nothing listening becomes AF_ERROR_UNAVAILABLE "cannot
 * connect to ENDPOINT: …"; a cancelled GCancellable gives G_IO_ERROR_CANCELLED.
 */
#pragma once

#include <gio/gio.h>
#include <protobuf-c/protobuf-c.h>

#include "af-grpc-message.h"

G_BEGIN_DECLS

typedef struct _AfGrpcChannel AfGrpcChannel;
typedef struct _AfGrpcClientStream AfGrpcClientStream;

typedef struct {
  /* Largest message sent or received in bytes (0: 4 MiB). */
  gsize max_message_size;
  /* TLS (grpc's SSL credentials). Without @tls the channel is plain. */
  gboolean tls;
  /* PEM CAs the server's certificate must chain to; NULL: grpc's default
   * roots ($GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, else the system's bundle,
   * /etc/ssl/certs/ca-certificates.crt on Debian). */
  const char *tls_root_certs_pem;
  /* The client's certificate chain and key for mutual TLS: both or
   * neither. */
  const char *tls_cert_chain_pem;
  const char *tls_private_key_pem;
  /* Name to check the server certificate against instead of the
   * endpoint's host (grpc.ssl_target_name_override); NULL: the host. */
  const char *tls_server_name;
} AfGrpcChannelOptions;

typedef struct {
  /* Deadline relative to the start of the call, in ms; 0 means none. */
  guint timeout_ms;
  /* Request metadata: NULL-terminated list of key, value, key, value, …
   * Keys lower-case ASCII. May be NULL. */
  const char *const *metadata;
} AfGrpcCallOptions;

/* @endpoint: "unix:/path", "unix-abstract:name", "host:port" or
 * "dns:host:port". Does not connect yet: a failure to connect (a TLS
 * handshake that fails included) is reported by the first call as
 * AF_ERROR_UNAVAILABLE. @options may be NULL. The TLS PEM text is checked
 * here (AF_ERROR_INVALID_ARGUMENT) and copied. */
AfGrpcChannel *af_grpc_channel_new (const char *endpoint, const AfGrpcChannelOptions *options,
                                    GError **error);
AfGrpcChannel *af_grpc_channel_ref (AfGrpcChannel *channel);
void af_grpc_channel_unref (AfGrpcChannel *channel);
const char *af_grpc_channel_get_endpoint (AfGrpcChannel *channel);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfGrpcChannel, af_grpc_channel_unref)

/* ---- blocking forms (any thread) ---- */

/* Unary call. On success *@out_response is a new message of
 * @response_desc (free with protobuf_c_message_free_unpacked). */
gboolean af_grpc_channel_call_unary (AfGrpcChannel *channel, const char *method,
                                     const ProtobufCMessage *request,
                                     const ProtobufCMessageDescriptor *response_desc,
                                     const AfGrpcCallOptions *options,
                                     ProtobufCMessage **out_response, GCancellable *cancellable,
                                     GError **error);

/* Server streaming, callback form: @func is called with each message
 * (owned by the transport, valid during the call); return FALSE to cancel
 * the call (then this returns G_IO_ERROR_CANCELLED). Returns once the
 * stream ended. */
typedef gboolean (*AfGrpcClientMessageFunc) (const ProtobufCMessage *message, gpointer user_data);
gboolean af_grpc_channel_call_server_stream (AfGrpcChannel *channel, const char *method,
                                             const ProtobufCMessage *request,
                                             const ProtobufCMessageDescriptor *response_desc,
                                             const AfGrpcCallOptions *options,
                                             AfGrpcClientMessageFunc func, gpointer user_data,
                                             GCancellable *cancellable, GError **error);

/* Server streaming, pull form: start, then af_grpc_client_stream_read until
 * it returns NULL (end: check @error — NULL without error means the stream
 * ended with OK). */
AfGrpcClientStream *af_grpc_channel_start_server_stream (
    AfGrpcChannel *channel, const char *method, const ProtobufCMessage *request,
    const ProtobufCMessageDescriptor *response_desc, const AfGrpcCallOptions *options,
    GCancellable *cancellable, GError **error);

/* Next message (new, free with protobuf_c_message_free_unpacked), or NULL
 * at the end of the stream or on error. */
ProtobufCMessage *af_grpc_client_stream_read (AfGrpcClientStream *stream, GError **error);

/* Client streaming: start, write messages, then finish for the response.
 * A write failing means the call is over: call finish for the status. */
AfGrpcClientStream *af_grpc_channel_start_client_stream (
    AfGrpcChannel *channel, const char *method, const ProtobufCMessageDescriptor *response_desc,
    const AfGrpcCallOptions *options, GCancellable *cancellable, GError **error);
gboolean af_grpc_client_stream_write (AfGrpcClientStream *stream, const ProtobufCMessage *message,
                                      GError **error);
gboolean af_grpc_client_stream_finish (AfGrpcClientStream *stream, ProtobufCMessage **out_response,
                                       GError **error);

/* The first value of trailing metadata @key the server sent with the
 * status (newly allocated), or NULL when absent or when the stream has not
 * ended yet (af_grpc_client_stream_read returned NULL, or finish
 * returned). */
char *af_grpc_client_stream_dup_trailing_metadata (AfGrpcClientStream *stream, const char *key);

/* Cancels the call (any thread); pending and later operations fail. */
void af_grpc_client_stream_cancel (AfGrpcClientStream *stream);

/* Frees the stream; cancels the call if it has not ended. */
void af_grpc_client_stream_free (AfGrpcClientStream *stream);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfGrpcClientStream, af_grpc_client_stream_free)

/* ---- asynchronous forms (GTask: @callback runs on the thread-default
 * context of the caller; the work runs on a worker thread) ---- */

void af_grpc_channel_call_unary_async (AfGrpcChannel *channel, const char *method,
                                       const ProtobufCMessage *request,
                                       const ProtobufCMessageDescriptor *response_desc,
                                       const AfGrpcCallOptions *options, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data);
/* Returns the response (new) or NULL with @error. */
ProtobufCMessage *af_grpc_channel_call_unary_finish (AfGrpcChannel *channel, GAsyncResult *result,
                                                     GError **error);

/* Next message of a server stream; NULL with no error at the end. */
void af_grpc_client_stream_read_async (AfGrpcClientStream *stream, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data);
ProtobufCMessage *af_grpc_client_stream_read_finish (AfGrpcClientStream *stream,
                                                     GAsyncResult *result, GError **error);

/* Writes @message (encoded before this returns; the caller keeps it). */
void af_grpc_client_stream_write_async (AfGrpcClientStream *stream, const ProtobufCMessage *message,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data);
gboolean af_grpc_client_stream_write_finish (AfGrpcClientStream *stream, GAsyncResult *result,
                                             GError **error);

/* Half-closes and waits for the response of a client stream. */
void af_grpc_client_stream_finish_async (AfGrpcClientStream *stream, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data);
ProtobufCMessage *af_grpc_client_stream_finish_finish (AfGrpcClientStream *stream,
                                                       GAsyncResult *result, GError **error);

G_END_DECLS
