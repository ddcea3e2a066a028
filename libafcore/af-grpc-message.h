/* af-grpc-message.h — g_autoptr support for decoded protobuf-c messages,
 * shared by the transport's public headers.
 *
 * Owns: the AfProtobufMessage alias. Must never: hold anything but a
 * message from protobuf_c_message_unpack (freed with the default allocator).
 */
#pragma once

#include <glib.h>
#include <protobuf-c/protobuf-c.h>

G_BEGIN_DECLS

/* g_autoptr (AfProtobufMessage) m = …; frees with
 * protobuf_c_message_free_unpacked. */
typedef ProtobufCMessage AfProtobufMessage;

static inline void
af_protobuf_message_free (AfProtobufMessage *message)
{
  if (message != NULL)
    protobuf_c_message_free_unpacked (message, NULL);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfProtobufMessage, af_protobuf_message_free)

G_END_DECLS
