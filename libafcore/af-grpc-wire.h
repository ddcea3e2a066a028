/* af-grpc-wire.h — internal glue between protobuf-c messages and grpc core
 * byte buffers, shared by the server and the client. Not installed.
 *
 * Owns: encoding/decoding with size limits, the NUL-in-string check that
 * protobuf-c would otherwise hide, the status → GError mapping for received
 * statuses, and the process-wide grpc_init/grpc_shutdown pairing.
 *
 * Must never: log, or accept a STRING field with an embedded NUL byte.
 */
#pragma once

#include <glib.h>
#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "af-grpc-message.h"

G_BEGIN_DECLS

/* Maximum nesting of sub-messages walked before a request is refused. */
#define AF_GRPC_WIRE_MAX_DEPTH 64

/* Walks the encoded message @data of type @desc (recursively into
 * sub-messages and map entries) and fails with AF_ERROR_INVALID_ARGUMENT
 * "field X contains a NUL byte" for any STRING field holding a NUL, or
 * "malformed message" for bytes protobuf could not decode. protobuf-c would
 * silently truncate such a string at the NUL on unpack. */
gboolean af_grpc_wire_check_strings (const ProtobufCMessageDescriptor *desc, const guint8 *data,
                                     gsize len, GError **error);

/* Encodes @message into a new byte buffer; RESOURCE_EXHAUSTED when larger
 * than @max_size (0: no limit). *@out_len gets the encoded size. */
grpc_byte_buffer *af_grpc_wire_pack (const ProtobufCMessage *message, gsize max_size,
                                     gsize *out_len, GError **error);

/* Decodes @buffer as @desc after af_grpc_wire_check_strings; NULL buffer is
 * INVALID_ARGUMENT "empty request body". @what names it in errors
 * ("request", "response"). */
ProtobufCMessage *af_grpc_wire_unpack (const ProtobufCMessageDescriptor *desc,
                                       grpc_byte_buffer *buffer, const char *what, GError **error);

/* A new error for a received non-OK @status with @details (may be empty). */
GError *af_grpc_wire_status_to_error (grpc_status_code status, grpc_slice details);

/* grpc_init / grpc_shutdown_blocking, paired by every server and channel. */
void af_grpc_runtime_ref (void);
void af_grpc_runtime_unref (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (grpc_byte_buffer, grpc_byte_buffer_destroy)

G_END_DECLS
