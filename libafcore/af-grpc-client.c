/* af-grpc-client.c — channels and blocking calls.
 *
 * Each call gets its own pluck completion queue, driven by the calling
 * thread itself: no hand-off to another thread on the fast path, and no
 * main loop needed. A RECV_STATUS_ON_CLIENT batch is outstanding from the
 * start of every call, so the status is always collected, and a GCancellable
 * is turned into grpc_call_cancel (thread-safe in grpc core).
 *
 * Owns: AfGrpcChannel, AfGrpcClientStream. Must never: leave an operation
 * pending when a call is freed (the CQ could not be destroyed), or log.
 */
#include "af-grpc-client-private.h"

#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <string.h>

#include "af-error.h"
#include "af-grpc-tls.h"
#include "af-grpc-wire.h"

struct _AfGrpcChannel {
  gint ref_count; /* atomic */
  char *endpoint;
  grpc_channel *channel;
  gsize max_message_size;
  GMutex lock;
  GHashTable *registered; /* method → handle; guarded by lock */
};

struct _AfGrpcClientStream {
  AfGrpcChannel *channel;
  char *method;
  const ProtobufCMessageDescriptor *response_desc;
  grpc_completion_queue *cq;
  grpc_call *call;
  GCancellable *cancellable;
  gulong cancel_id;
  gint local_cancel; /* atomic: cancelled by us, not by the peer */

  grpc_metadata *metadata;
  size_t n_metadata;
  grpc_metadata_array initial_md, trailing_md;
  grpc_status_code status;
  grpc_slice details;
  gboolean status_pending; /* the status batch has not been plucked */
  gboolean half_closed;

  /* Distinct addresses used as pluck tags. */
  char tag_start, tag_status, tag_op;
};

static gboolean
check_tls (const AfGrpcChannelOptions *o, GError **error)
{
  if ((o->tls_cert_chain_pem == NULL) != (o->tls_private_key_pem == NULL)) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "a client certificate needs its private key, and a key its certificate");
    return FALSE;
  }
  if (o->tls_root_certs_pem != NULL &&
      !af_grpc_tls_check_certificates (o->tls_root_certs_pem, NULL, error)) {
    g_prefix_error (error, "CA certificates: ");
    return FALSE;
  }
  if (o->tls_cert_chain_pem != NULL) {
    if (!af_grpc_tls_check_certificates (o->tls_cert_chain_pem, NULL, error)) {
      g_prefix_error (error, "client certificate: ");
      return FALSE;
    }
    if (!af_grpc_tls_check_key (o->tls_private_key_pem, o->tls_cert_chain_pem, error)) {
      g_prefix_error (error, "client key: ");
      return FALSE;
    }
  }
  return TRUE;
}

AfGrpcChannel *
af_grpc_channel_new (const char *endpoint, const AfGrpcChannelOptions *options, GError **error)
{
  gsize max =
      options != NULL && options->max_message_size ? options->max_message_size : 4 * 1024 * 1024;

  if (endpoint == NULL || *endpoint == '\0') {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "empty endpoint");
    return NULL;
  }
  if (max > G_MAXINT) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "max message size is larger than 2 GiB");
    return NULL;
  }
  if (options != NULL && options->tls && !check_tls (options, error))
    return NULL;
  af_grpc_runtime_ref ();
  AfGrpcChannel *self = g_new0 (AfGrpcChannel, 1);
  self->ref_count = 1;
  self->endpoint = g_strdup (endpoint);
  self->max_message_size = max;
  g_mutex_init (&self->lock);
  self->registered = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  grpc_arg args[] = {
    { GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, { .integer = (int)max } },
    { GRPC_ARG_INTEGER, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, { .integer = (int)max } },
    /* No transparent retries: the retry filter would keep a copy of what a
     * call sent (up to 256 KiB each) to replay it, and our calls are not
     * all idempotent. Calls fail fast when nothing listens (no
     * wait_for_ready). */
    { GRPC_ARG_INTEGER, GRPC_ARG_ENABLE_RETRIES, { .integer = 0 } },
    /* Only read when set: tests reach a server by address while its
     * certificate names a host. */
    { GRPC_ARG_STRING, GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, { .string = NULL } },
  };
  grpc_channel_args channel_args = { G_N_ELEMENTS (args) - 1, args };
  grpc_channel_credentials *creds;
  if (options != NULL && options->tls) {
    grpc_ssl_pem_key_cert_pair pair = { options->tls_private_key_pem, options->tls_cert_chain_pem };
    /* NULL roots: grpc's default roots. The PEM text is copied. */
    creds = grpc_ssl_credentials_create_ex (options->tls_root_certs_pem,
                                            options->tls_cert_chain_pem != NULL ? &pair : NULL,
                                            NULL, NULL);
    if (options->tls_server_name != NULL) {
      args[G_N_ELEMENTS (args) - 1].value.string = (char *)options->tls_server_name;
      channel_args.num_args = G_N_ELEMENTS (args);
    }
  } else {
    creds = grpc_insecure_credentials_create ();
  }
  self->channel = grpc_channel_create (endpoint, creds, &channel_args);
  grpc_channel_credentials_release (creds);
  return self;
}

AfGrpcChannel *
af_grpc_channel_ref (AfGrpcChannel *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
af_grpc_channel_unref (AfGrpcChannel *self)
{
  if (self == NULL || !g_atomic_int_dec_and_test (&self->ref_count))
    return;
  grpc_channel_destroy (self->channel);
  g_hash_table_unref (self->registered);
  g_mutex_clear (&self->lock);
  g_free (self->endpoint);
  g_free (self);
  af_grpc_runtime_unref ();
}

const char *
af_grpc_channel_get_endpoint (AfGrpcChannel *self)
{
  return self->endpoint;
}

gsize
af_grpc_channel_get_max_message_size (AfGrpcChannel *self)
{
  return self->max_message_size;
}

AfGrpcChannel *
af_grpc_client_stream_get_channel (AfGrpcClientStream *s)
{
  return s->channel;
}

static void *
channel_method_handle (AfGrpcChannel *self, const char *method)
{
  g_mutex_lock (&self->lock);
  void *handle = g_hash_table_lookup (self->registered, method);
  if (handle == NULL) {
    handle = grpc_channel_register_call (self->channel, method, NULL, NULL);
    g_hash_table_insert (self->registered, g_strdup (method), handle);
  }
  g_mutex_unlock (&self->lock);
  return handle;
}

void
af_grpc_resolved_options_init (AfGrpcResolvedOptions *out, const AfGrpcCallOptions *options)
{
  out->deadline = gpr_inf_future (GPR_CLOCK_REALTIME);
  out->metadata = NULL;
  if (options == NULL)
    return;
  if (options->timeout_ms > 0)
    out->deadline = gpr_time_add (gpr_now (GPR_CLOCK_REALTIME),
                                  gpr_time_from_millis (options->timeout_ms, GPR_TIMESPAN));
  if (options->metadata != NULL)
    out->metadata = g_strdupv ((char **)options->metadata);
}

void
af_grpc_resolved_options_clear (AfGrpcResolvedOptions *options)
{
  g_clear_pointer (&options->metadata, g_strfreev);
}

static void
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  AfGrpcClientStream *s = user_data;
  g_atomic_int_set (&s->local_cancel, 1);
  grpc_call_cancel (s->call, NULL);
}

static gboolean
pluck (AfGrpcClientStream *s, void *tag)
{
  grpc_event ev =
      grpc_completion_queue_pluck (s->cq, tag, gpr_inf_future (GPR_CLOCK_REALTIME), NULL);
  return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static void
set_start_error (grpc_call_error rc, const char *method, GError **error)
{
  if (rc == GRPC_CALL_ERROR_INVALID_METADATA)
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "invalid request metadata for %s (keys are lower-case ASCII, values printable)",
                 method);
  else
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot start call %s (grpc error %d)", method,
                 (int)rc);
}

static AfGrpcClientStream *
stream_new (AfGrpcChannel *channel, const char *method,
            const ProtobufCMessageDescriptor *response_desc, const AfGrpcResolvedOptions *options,
            GCancellable *cancellable, GError **error)
{
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  AfGrpcClientStream *s = g_new0 (AfGrpcClientStream, 1);
  s->channel = af_grpc_channel_ref (channel);
  s->method = g_strdup (method);
  s->response_desc = response_desc;
  s->cq = grpc_completion_queue_create_for_pluck (NULL);
  s->call = grpc_channel_create_registered_call (channel->channel, NULL, GRPC_PROPAGATE_DEFAULTS,
                                                 s->cq, channel_method_handle (channel, method),
                                                 options->deadline, NULL);
  grpc_metadata_array_init (&s->initial_md);
  grpc_metadata_array_init (&s->trailing_md);
  s->details = grpc_empty_slice ();
  guint n = options->metadata != NULL ? g_strv_length (options->metadata) / 2 : 0;
  s->metadata = g_new0 (grpc_metadata, n + 1);
  for (guint i = 0; i < n; i++) {
    s->metadata[i].key = grpc_slice_from_copied_string (options->metadata[2 * i]);
    s->metadata[i].value = grpc_slice_from_copied_string (options->metadata[2 * i + 1]);
  }
  s->n_metadata = n;
  if (cancellable != NULL) {
    s->cancellable = g_object_ref (cancellable);
    s->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), s, NULL);
  }
  return s;
}

/* Starts the status batch (with the initial metadata receive, which the
 * server sends with its first message or its status). */
static gboolean
stream_start_status (AfGrpcClientStream *s, GError **error)
{
  grpc_op ops[2];
  memset (ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[0].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
  ops[1].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[1].data.recv_status_on_client.trailing_metadata = &s->trailing_md;
  ops[1].data.recv_status_on_client.status = &s->status;
  ops[1].data.recv_status_on_client.status_details = &s->details;
  if (grpc_call_start_batch (s->call, ops, 2, &s->tag_status, NULL) != GRPC_CALL_OK) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot start call %s", s->method);
    return FALSE;
  }
  s->status_pending = TRUE;
  return TRUE;
}

/* Waits for the status; FALSE with @error unless it is OK. */
static gboolean
stream_wait_status (AfGrpcClientStream *s, GError **error)
{
  if (s->status_pending) {
    pluck (s, &s->tag_status);
    s->status_pending = FALSE;
  }
  if (s->status == GRPC_STATUS_OK)
    return TRUE;
  if (g_atomic_int_get (&s->local_cancel)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "call %s was cancelled", s->method);
    return FALSE;
  }
  g_autoptr (GError) status_error = af_grpc_wire_status_to_error (s->status, s->details);
  /* grpc's client channel reports a peer it could not reach as
   * UNAVAILABLE with details of its own making (a server's UNAVAILABLE
   * keeps its words); say it in the product's words. */
  if (s->status == GRPC_STATUS_UNAVAILABLE && s->initial_md.count == 0 &&
      (g_str_has_prefix (status_error->message, "failed to connect to all addresses") ||
       g_str_has_prefix (status_error->message, "DNS resolution failed"))) {
    g_set_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE, "cannot connect to %s: %s",
                 s->channel->endpoint, status_error->message);
    return FALSE;
  }
  g_propagate_error (error, g_steal_pointer (&status_error));
  return FALSE;
}

char *
af_grpc_client_stream_dup_trailing_metadata (AfGrpcClientStream *s, const char *key)
{
  gsize key_len = strlen (key);

  if (s->status_pending)
    return NULL;
  for (size_t i = 0; i < s->trailing_md.count; i++) {
    const grpc_metadata *md = &s->trailing_md.metadata[i];
    if (GRPC_SLICE_LENGTH (md->key) == key_len &&
        memcmp (GRPC_SLICE_START_PTR (md->key), key, key_len) == 0)
      return g_strndup ((const char *)GRPC_SLICE_START_PTR (md->value),
                        GRPC_SLICE_LENGTH (md->value));
  }
  return NULL;
}

void
af_grpc_client_stream_cancel (AfGrpcClientStream *s)
{
  g_atomic_int_set (&s->local_cancel, 1);
  grpc_call_cancel (s->call, NULL);
}

void
af_grpc_client_stream_free (AfGrpcClientStream *s)
{
  if (s == NULL)
    return;
  if (s->cancellable != NULL) {
    g_cancellable_disconnect (s->cancellable, s->cancel_id);
    g_object_unref (s->cancellable);
  }
  if (s->status_pending) {
    grpc_call_cancel (s->call, NULL);
    pluck (s, &s->tag_status);
  }
  grpc_call_unref (s->call);
  grpc_completion_queue_shutdown (s->cq);
  grpc_completion_queue_pluck (s->cq, NULL, gpr_inf_past (GPR_CLOCK_REALTIME), NULL);
  grpc_completion_queue_destroy (s->cq);
  for (size_t i = 0; i < s->n_metadata; i++) {
    grpc_slice_unref (s->metadata[i].key);
    grpc_slice_unref (s->metadata[i].value);
  }
  g_free (s->metadata);
  grpc_metadata_array_destroy (&s->initial_md);
  grpc_metadata_array_destroy (&s->trailing_md);
  grpc_slice_unref (s->details);
  af_grpc_channel_unref (s->channel);
  g_free (s->method);
  g_free (s);
}

ProtobufCMessage *
af_grpc_channel_unary_encoded (AfGrpcChannel *channel, const char *method,
                               grpc_byte_buffer *request,
                               const ProtobufCMessageDescriptor *response_desc,
                               const AfGrpcResolvedOptions *options, GCancellable *cancellable,
                               GError **error)
{
  g_autoptr (grpc_byte_buffer) req = request;
  g_autoptr (grpc_byte_buffer) reply = NULL;
  grpc_op ops[6];

  g_autoptr (AfGrpcClientStream) s =
      stream_new (channel, method, response_desc, options, cancellable, error);
  if (s == NULL)
    return NULL;
  /* One batch, one wakeup: the whole unary exchange. */
  memset (ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[0].data.send_initial_metadata.count = s->n_metadata;
  ops[0].data.send_initial_metadata.metadata = s->metadata;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = req;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &reply;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.trailing_metadata = &s->trailing_md;
  ops[5].data.recv_status_on_client.status = &s->status;
  ops[5].data.recv_status_on_client.status_details = &s->details;
  grpc_call_error rc = grpc_call_start_batch (s->call, ops, 6, &s->tag_status, NULL);
  if (rc != GRPC_CALL_OK) {
    set_start_error (rc, method, error);
    return NULL;
  }
  s->status_pending = TRUE;
  if (!stream_wait_status (s, error))
    return NULL;
  if (reply == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "%s returned OK without a response", method);
    return NULL;
  }
  return af_grpc_wire_unpack (response_desc, reply, "response", error);
}

gboolean
af_grpc_channel_call_unary (AfGrpcChannel *channel, const char *method,
                            const ProtobufCMessage *request,
                            const ProtobufCMessageDescriptor *response_desc,
                            const AfGrpcCallOptions *options, ProtobufCMessage **out_response,
                            GCancellable *cancellable, GError **error)
{
  AfGrpcResolvedOptions resolved;

  grpc_byte_buffer *req = af_grpc_wire_pack (request, channel->max_message_size, NULL, error);
  if (req == NULL)
    return FALSE;
  af_grpc_resolved_options_init (&resolved, options);
  ProtobufCMessage *reply = af_grpc_channel_unary_encoded (channel, method, req, response_desc,
                                                           &resolved, cancellable, error);
  af_grpc_resolved_options_clear (&resolved);
  if (reply == NULL)
    return FALSE;
  *out_response = reply;
  return TRUE;
}

static AfGrpcClientStream *
start_stream (AfGrpcChannel *channel, const char *method, const ProtobufCMessage *request,
              const ProtobufCMessageDescriptor *response_desc, const AfGrpcCallOptions *options,
              GCancellable *cancellable, GError **error)
{
  AfGrpcResolvedOptions resolved;
  g_autoptr (grpc_byte_buffer) req = NULL;
  grpc_op ops[3];
  size_t n = 0;

  if (request != NULL) {
    req = af_grpc_wire_pack (request, channel->max_message_size, NULL, error);
    if (req == NULL)
      return NULL;
  }
  af_grpc_resolved_options_init (&resolved, options);
  g_autoptr (AfGrpcClientStream) s =
      stream_new (channel, method, response_desc, &resolved, cancellable, error);
  af_grpc_resolved_options_clear (&resolved);
  if (s == NULL)
    return NULL;

  memset (ops, 0, sizeof ops);
  ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[n].data.send_initial_metadata.count = s->n_metadata;
  ops[n].data.send_initial_metadata.metadata = s->metadata;
  n++;
  if (req != NULL) {
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = req;
    n++;
    ops[n].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    n++;
    s->half_closed = TRUE;
  }
  grpc_call_error rc = grpc_call_start_batch (s->call, ops, n, &s->tag_start, NULL);
  if (rc != GRPC_CALL_OK) {
    set_start_error (rc, method, error);
    return NULL;
  }
  gboolean sent = pluck (s, &s->tag_start);
  if (!stream_start_status (s, error))
    return NULL;
  if (!sent) {
    /* The call is already over: report its status. */
    if (stream_wait_status (s, error))
      g_set_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE, "call %s ended before it started",
                   method);
    return NULL;
  }
  return g_steal_pointer (&s);
}

AfGrpcClientStream *
af_grpc_channel_start_server_stream (AfGrpcChannel *channel, const char *method,
                                     const ProtobufCMessage *request,
                                     const ProtobufCMessageDescriptor *response_desc,
                                     const AfGrpcCallOptions *options, GCancellable *cancellable,
                                     GError **error)
{
  g_return_val_if_fail (request != NULL, NULL);
  return start_stream (channel, method, request, response_desc, options, cancellable, error);
}

ProtobufCMessage *
af_grpc_client_stream_read (AfGrpcClientStream *s, GError **error)
{
  g_autoptr (grpc_byte_buffer) buffer = NULL;
  grpc_op op = { 0 };

  if (!s->status_pending) { /* already ended */
    stream_wait_status (s, error);
    return NULL;
  }
  op.op = GRPC_OP_RECV_MESSAGE;
  op.data.recv_message.recv_message = &buffer;
  if (grpc_call_start_batch (s->call, &op, 1, &s->tag_op, NULL) != GRPC_CALL_OK) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot read from %s", s->method);
    return NULL;
  }
  if (!pluck (s, &s->tag_op) || buffer == NULL) {
    stream_wait_status (s, error);
    return NULL;
  }
  ProtobufCMessage *msg = af_grpc_wire_unpack (s->response_desc, buffer, "response", error);
  if (msg == NULL) {
    grpc_call_cancel (s->call, NULL);
    pluck (s, &s->tag_status);
    s->status_pending = FALSE;
  }
  return msg;
}

gboolean
af_grpc_channel_call_server_stream (AfGrpcChannel *channel, const char *method,
                                    const ProtobufCMessage *request,
                                    const ProtobufCMessageDescriptor *response_desc,
                                    const AfGrpcCallOptions *options, AfGrpcClientMessageFunc func,
                                    gpointer user_data, GCancellable *cancellable, GError **error)
{
  g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_server_stream (
      channel, method, request, response_desc, options, cancellable, error);
  if (s == NULL)
    return FALSE;
  for (;;) {
    g_autoptr (GError) local = NULL;
    g_autoptr (AfProtobufMessage) msg = af_grpc_client_stream_read (s, &local);
    if (msg == NULL) {
      if (local != NULL) {
        g_propagate_error (error, g_steal_pointer (&local));
        return FALSE;
      }
      return TRUE;
    }
    if (!func (msg, user_data)) {
      af_grpc_client_stream_cancel (s);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "call %s was cancelled", method);
      return FALSE;
    }
  }
}

AfGrpcClientStream *
af_grpc_channel_start_client_stream (AfGrpcChannel *channel, const char *method,
                                     const ProtobufCMessageDescriptor *response_desc,
                                     const AfGrpcCallOptions *options, GCancellable *cancellable,
                                     GError **error)
{
  return start_stream (channel, method, NULL, response_desc, options, cancellable, error);
}

gboolean
af_grpc_client_stream_write_encoded (AfGrpcClientStream *s, grpc_byte_buffer *message,
                                     GError **error)
{
  g_autoptr (grpc_byte_buffer) buffer = message;
  grpc_op op = { 0 };

  g_return_val_if_fail (!s->half_closed, FALSE);
  if (!s->status_pending) {
    if (stream_wait_status (s, error))
      g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "call %s is over", s->method);
    return FALSE;
  }
  op.op = GRPC_OP_SEND_MESSAGE;
  op.data.send_message.send_message = buffer;
  if (grpc_call_start_batch (s->call, &op, 1, &s->tag_op, NULL) != GRPC_CALL_OK) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot write to %s", s->method);
    return FALSE;
  }
  if (!pluck (s, &s->tag_op)) {
    /* The call is over; its status says why. */
    if (stream_wait_status (s, error))
      g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "call %s is over", s->method);
    return FALSE;
  }
  return TRUE;
}

gboolean
af_grpc_client_stream_write (AfGrpcClientStream *s, const ProtobufCMessage *message, GError **error)
{
  grpc_byte_buffer *buffer = af_grpc_wire_pack (message, s->channel->max_message_size, NULL, error);
  if (buffer == NULL)
    return FALSE;
  return af_grpc_client_stream_write_encoded (s, buffer, error);
}

gboolean
af_grpc_client_stream_finish (AfGrpcClientStream *s, ProtobufCMessage **out_response,
                              GError **error)
{
  g_autoptr (grpc_byte_buffer) reply = NULL;
  grpc_op ops[2];
  size_t n = 0;

  if (s->status_pending) {
    memset (ops, 0, sizeof ops);
    if (!s->half_closed) {
      ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
      s->half_closed = TRUE;
    }
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n].data.recv_message.recv_message = &reply;
    n++;
    if (grpc_call_start_batch (s->call, ops, n, &s->tag_op, NULL) != GRPC_CALL_OK) {
      g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot finish %s", s->method);
      return FALSE;
    }
    pluck (s, &s->tag_op);
  }
  if (!stream_wait_status (s, error))
    return FALSE;
  if (reply == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "%s returned OK without a response",
                 s->method);
    return FALSE;
  }
  ProtobufCMessage *msg = af_grpc_wire_unpack (s->response_desc, reply, "response", error);
  if (msg == NULL)
    return FALSE;
  *out_response = msg;
  return TRUE;
}
