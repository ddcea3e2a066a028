/* af-grpc-client-private.h — what af-grpc-client-async.c needs of
 * af-grpc-client.c: calls on an already encoded request with an absolute
 * deadline. Not installed.
 */
#pragma once

#include <grpc/grpc.h>

#include "af-grpc-client.h"

G_BEGIN_DECLS

/* Options resolved at submission time, so an async call's deadline counts
 * from when it was made, not from when a worker thread picked it up. */
typedef struct {
  gpr_timespec deadline;
  char **metadata; /* key, value, …, NULL */
} AfGrpcResolvedOptions;

void af_grpc_resolved_options_init (AfGrpcResolvedOptions *out, const AfGrpcCallOptions *options);
void af_grpc_resolved_options_clear (AfGrpcResolvedOptions *options);

/* Takes @request (an encoded message). */
ProtobufCMessage *af_grpc_channel_unary_encoded (AfGrpcChannel *channel, const char *method,
                                                 grpc_byte_buffer *request,
                                                 const ProtobufCMessageDescriptor *response_desc,
                                                 const AfGrpcResolvedOptions *options,
                                                 GCancellable *cancellable, GError **error);

/* Takes @message (an encoded message). */
gboolean af_grpc_client_stream_write_encoded (AfGrpcClientStream *stream, grpc_byte_buffer *message,
                                              GError **error);

gsize af_grpc_channel_get_max_message_size (AfGrpcChannel *channel);
AfGrpcChannel *af_grpc_client_stream_get_channel (AfGrpcClientStream *stream);

G_END_DECLS
