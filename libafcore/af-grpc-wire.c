/* af-grpc-wire.c — protobuf-c ⇄ grpc byte buffers, the NUL-in-string check,
 * received status → GError, and grpc runtime pairing.
 *
 * Owns: every encode/decode of a message crossing the transport. Must never
 * hand protobuf-c a request holding a STRING with an embedded NUL (it would
 * be truncated silently), nor log.
 */
#include "af-grpc-wire.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <string.h>

#include "af-error.h"
#include "af-grpc-log.h"

static G_LOCK_DEFINE (runtime);
static guint runtime_refs;

void
af_grpc_runtime_ref (void)
{
  G_LOCK (runtime);
  if (runtime_refs++ == 0) {
    af_grpc_log_install (); /* before grpc_init: its own lines too */
    grpc_init ();
  }
  G_UNLOCK (runtime);
}

void
af_grpc_runtime_unref (void)
{
  G_LOCK (runtime);
  g_assert (runtime_refs > 0);
  /* grpc_shutdown_blocking: plain grpc_shutdown may finish on another
   * thread after we return, which valgrind reports as leaks. */
  if (--runtime_refs == 0)
    grpc_shutdown_blocking ();
  G_UNLOCK (runtime);
}

static gboolean
read_varint (const guint8 **p, const guint8 *end, guint64 *out)
{
  guint64 v = 0;
  for (guint shift = 0; shift < 64; shift += 7) {
    if (*p >= end)
      return FALSE;
    guint8 b = *(*p)++;
    v |= (guint64)(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = v;
      return TRUE;
    }
  }
  return FALSE;
}

static gboolean
check_message (const ProtobufCMessageDescriptor *desc, const guint8 *data, gsize len, guint depth,
               const char *prefix, GError **error)
{
  const guint8 *p = data;
  const guint8 *end = data + len;

  if (depth > AF_GRPC_WIRE_MAX_DEPTH) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "message nested deeper than %d levels",
                 AF_GRPC_WIRE_MAX_DEPTH);
    return FALSE;
  }
  while (p < end) {
    guint64 key, n;
    if (!read_varint (&p, end, &key) || (key >> 3) == 0 || (key >> 3) > G_MAXUINT32)
      goto malformed;
    switch (key & 7) {
    case 0:
      if (!read_varint (&p, end, &n))
        goto malformed;
      break;
    case 1:
      if ((gsize)(end - p) < 8)
        goto malformed;
      p += 8;
      break;
    case 5:
      if ((gsize)(end - p) < 4)
        goto malformed;
      p += 4;
      break;
    case 2: {
      if (!read_varint (&p, end, &n) || n > (guint64)(end - p))
        goto malformed;
      const ProtobufCFieldDescriptor *field =
          protobuf_c_message_descriptor_get_field (desc, (unsigned)(key >> 3));
      if (field != NULL && field->type == PROTOBUF_C_TYPE_STRING && memchr (p, 0, n) != NULL) {
        g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "field %s%s contains a NUL byte",
                     prefix, field->name);
        return FALSE;
      }
      if (field != NULL && field->type == PROTOBUF_C_TYPE_MESSAGE) {
        g_autofree char *sub = g_strconcat (prefix, field->name, ".", NULL);
        if (!check_message (field->descriptor, p, n, depth + 1, sub, error))
          return FALSE;
      }
      p += n;
      break;
    }
    default:
      /* Groups (3, 4) are not decoded by protobuf-c either. */
      goto malformed;
    }
  }
  return TRUE;

malformed:
  g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "malformed %s message", desc->name);
  return FALSE;
}

gboolean
af_grpc_wire_check_strings (const ProtobufCMessageDescriptor *desc, const guint8 *data, gsize len,
                            GError **error)
{
  return check_message (desc, data, len, 0, "", error);
}

grpc_byte_buffer *
af_grpc_wire_pack (const ProtobufCMessage *message, gsize max_size, gsize *out_len, GError **error)
{
  gsize len = protobuf_c_message_get_packed_size (message);
  if (max_size > 0 && len > max_size) {
    g_set_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED,
                 "message of %" G_GSIZE_FORMAT " bytes exceeds the limit of %" G_GSIZE_FORMAT
                 " bytes",
                 len, max_size);
    return NULL;
  }
  grpc_slice slice = grpc_slice_malloc (len);
  protobuf_c_message_pack (message, GRPC_SLICE_START_PTR (slice));
  grpc_byte_buffer *buffer = grpc_raw_byte_buffer_create (&slice, 1);
  grpc_slice_unref (slice); /* the buffer took its own ref */
  if (out_len != NULL)
    *out_len = len;
  return buffer;
}

ProtobufCMessage *
af_grpc_wire_unpack (const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *buffer,
                     const char *what, GError **error)
{
  grpc_byte_buffer_reader reader;
  ProtobufCMessage *message = NULL;

  if (buffer == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "empty %s body", what);
    return NULL;
  }
  if (!grpc_byte_buffer_reader_init (&reader, buffer)) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "cannot read the %s body", what);
    return NULL;
  }
  grpc_slice slice;
  if (buffer->type == GRPC_BB_RAW && buffer->data.raw.compression == GRPC_COMPRESS_NONE &&
      buffer->data.raw.slice_buffer.count == 1)
    slice = grpc_slice_ref (buffer->data.raw.slice_buffer.slices[0]); /* no copy */
  else
    slice = grpc_byte_buffer_reader_readall (&reader);
  grpc_byte_buffer_reader_destroy (&reader);

  const guint8 *data = GRPC_SLICE_START_PTR (slice);
  gsize len = GRPC_SLICE_LENGTH (slice);
  if (af_grpc_wire_check_strings (desc, data, len, error)) {
    /* protobuf-c copies strings and bytes out, so the slice can go. */
    message = protobuf_c_message_unpack (desc, NULL, len, data);
    if (message == NULL)
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "malformed %s message %s", what,
                   desc->name);
  }
  grpc_slice_unref (slice);
  return message;
}

GError *
af_grpc_wire_status_to_error (grpc_status_code status, grpc_slice details)
{
  AfErrorCode code = af_error_code_from_grpc_status ((int)status);
  gsize len = GRPC_SLICE_LENGTH (details);

  if (len == 0)
    return g_error_new (AF_ERROR, code, "%s", af_error_code_name (code));
  return g_error_new (AF_ERROR, code, "%.*s", (int)len,
                      (const char *)GRPC_SLICE_START_PTR (details));
}
