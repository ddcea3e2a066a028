/* af-grpc-client-async.c — GTask forms of the client calls.
 *
 * Each operation runs its blocking counterpart on a GTask worker thread and
 * completes on the caller's thread-default context. Messages are encoded
 * before the function returns, so callers may free them at once, and
 * deadlines count from the moment of the call.
 *
 * Must never: touch caller-owned messages from a worker thread.
 */
#include "af-grpc-client-private.h"

#include "af-grpc-wire.h"

typedef struct {
  AfGrpcChannel *channel;
  char *method;
  grpc_byte_buffer *request;
  const ProtobufCMessageDescriptor *response_desc;
  AfGrpcResolvedOptions options;
} UnaryData;

static void
unary_data_free (UnaryData *d)
{
  if (d->request != NULL)
    grpc_byte_buffer_destroy (d->request);
  af_grpc_resolved_options_clear (&d->options);
  af_grpc_channel_unref (d->channel);
  g_free (d->method);
  g_free (d);
}

static void
free_message (gpointer message)
{
  protobuf_c_message_free_unpacked (message, NULL);
}

static void
unary_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  UnaryData *d = task_data;
  GError *error = NULL;

  ProtobufCMessage *reply =
      af_grpc_channel_unary_encoded (d->channel, d->method, g_steal_pointer (&d->request),
                                     d->response_desc, &d->options, cancellable, &error);
  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, reply, free_message);
}

void
af_grpc_channel_call_unary_async (AfGrpcChannel *channel, const char *method,
                                  const ProtobufCMessage *request,
                                  const ProtobufCMessageDescriptor *response_desc,
                                  const AfGrpcCallOptions *options, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, af_grpc_channel_call_unary_async);
  grpc_byte_buffer *req =
      af_grpc_wire_pack (request, af_grpc_channel_get_max_message_size (channel), NULL, &error);
  if (req == NULL) {
    g_task_return_error (task, error);
    return;
  }
  UnaryData *d = g_new0 (UnaryData, 1);
  d->channel = af_grpc_channel_ref (channel);
  d->method = g_strdup (method);
  d->request = req;
  d->response_desc = response_desc;
  af_grpc_resolved_options_init (&d->options, options);
  g_task_set_task_data (task, d, (GDestroyNotify)unary_data_free);
  g_task_run_in_thread (task, unary_thread);
}

ProtobufCMessage *
af_grpc_channel_call_unary_finish (AfGrpcChannel *channel, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* A per-operation cancellable cancels the whole call: a stream cannot
 * resume after an interrupted read or write. */
static void
on_op_cancelled (GCancellable *cancellable, gpointer stream)
{
  af_grpc_client_stream_cancel (stream);
}

static gulong
link_cancellable (AfGrpcClientStream *stream, GCancellable *cancellable)
{
  if (cancellable == NULL)
    return 0;
  return g_cancellable_connect (cancellable, G_CALLBACK (on_op_cancelled), stream, NULL);
}

static void
read_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  AfGrpcClientStream *stream = task_data;
  GError *error = NULL;

  gulong id = link_cancellable (stream, cancellable);
  ProtobufCMessage *msg = af_grpc_client_stream_read (stream, &error);
  if (cancellable != NULL)
    g_cancellable_disconnect (cancellable, id);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, msg, free_message);
}

void
af_grpc_client_stream_read_async (AfGrpcClientStream *stream, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, af_grpc_client_stream_read_async);
  g_task_set_task_data (task, stream, NULL);
  /* The stream reports cancellation through its own status. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_run_in_thread (task, read_thread);
}

ProtobufCMessage *
af_grpc_client_stream_read_finish (AfGrpcClientStream *stream, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct {
  AfGrpcClientStream *stream;
  grpc_byte_buffer *message;
} WriteData;

static void
write_data_free (WriteData *d)
{
  if (d->message != NULL)
    grpc_byte_buffer_destroy (d->message);
  g_free (d);
}

static void
write_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  WriteData *d = task_data;
  GError *error = NULL;

  gulong id = link_cancellable (d->stream, cancellable);
  gboolean ok =
      af_grpc_client_stream_write_encoded (d->stream, g_steal_pointer (&d->message), &error);
  if (cancellable != NULL)
    g_cancellable_disconnect (cancellable, id);
  if (!ok)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
af_grpc_client_stream_write_async (AfGrpcClientStream *stream, const ProtobufCMessage *message,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, af_grpc_client_stream_write_async);
  g_task_set_check_cancellable (task, FALSE);
  grpc_byte_buffer *buffer = af_grpc_wire_pack (
      message, af_grpc_channel_get_max_message_size (af_grpc_client_stream_get_channel (stream)),
      NULL, &error);
  if (buffer == NULL) {
    g_task_return_error (task, error);
    return;
  }
  WriteData *d = g_new0 (WriteData, 1);
  d->stream = stream;
  d->message = buffer;
  g_task_set_task_data (task, d, (GDestroyNotify)write_data_free);
  g_task_run_in_thread (task, write_thread);
}

gboolean
af_grpc_client_stream_write_finish (AfGrpcClientStream *stream, GAsyncResult *result,
                                    GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
finish_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  AfGrpcClientStream *stream = task_data;
  ProtobufCMessage *reply = NULL;
  GError *error = NULL;

  gulong id = link_cancellable (stream, cancellable);
  gboolean ok = af_grpc_client_stream_finish (stream, &reply, &error);
  if (cancellable != NULL)
    g_cancellable_disconnect (cancellable, id);
  if (!ok)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, reply, free_message);
}

void
af_grpc_client_stream_finish_async (AfGrpcClientStream *stream, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, af_grpc_client_stream_finish_async);
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, stream, NULL);
  g_task_run_in_thread (task, finish_thread);
}

ProtobufCMessage *
af_grpc_client_stream_finish_finish (AfGrpcClientStream *stream, GAsyncResult *result,
                                     GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
