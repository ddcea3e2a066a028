/* af-grpc-call.c — one server call: decoding the request, running the
 * handler, the bounded send queue (server streaming) and receive queue
 * (client streaming), cancellation, and the final status.
 *
 * Owns: the AfGrpcCall and its grpc_call. Invariants: at most one batch per
 * operation kind is in flight (send chain, receive, close); every in-flight
 * batch and the handler each hold one reference; a RECV_CLOSE_ON_SERVER is
 * outstanding from the start, which is how cancellation, deadline and
 * shutdown become visible (the cancellable fires).
 *
 * Must never: queue more than the configured bounds (plus one message),
 * start a batch on a call that is over, or call the handler's funcs after
 * the call was cancelled.
 */
#include "af-grpc-server-private.h"

#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdlib.h>
#include <string.h>

#include "af-error.h"
#include "af-grpc-wire.h"

typedef struct {
  grpc_byte_buffer *buffer;
  gsize len;
} SendItem;

struct _AfGrpcCall {
  gint ref_count;
  AfGrpcServer *server;
  AfGrpcMethodEntry *entry; /* NULL: unknown method */
  char *path;
  grpc_call *call;
  grpc_metadata_array metadata;
  gint64 deadline;
  AfGrpcPeer peer;
  char *peer_address;
  ProtobufCMessage *request;
  GCancellable *cancellable;

  AfGrpcTag send_tag, recv_tag, close_tag;
  int close_cancelled; /* out-param of RECV_CLOSE_ON_SERVER */
  gboolean dead;       /* cancelled or failed: nothing more goes out */
  gboolean finished;   /* the handler called finish */
  gboolean initial_metadata_sent;
  gboolean send_in_flight;
  gboolean status_sent;
  grpc_status_code status;
  char *details;
  GArray *trailing; /* grpc_metadata with owned slices; NULL: none */

  GQueue send_queue; /* SendItem*, not yet in a batch */
  SendItem *in_flight;
  gsize send_bytes; /* queued + in flight */
  gboolean send_blocked;
  AfGrpcCallFunc send_ready_func;
  gpointer send_ready_data;

  AfGrpcReceiveFunc recv_func;
  gpointer recv_data;
  grpc_byte_buffer *recv_buffer;
  GQueue recv_queue; /* ProtobufCMessage*, received and not yet delivered */
  gsize recv_bytes;
  gboolean recv_in_flight, recv_paused, recv_eof, recv_end_delivered, recv_delivering;
};

static void call_pump_send (AfGrpcCall *self);
static void call_pump_recv (AfGrpcCall *self);

AfGrpcCall *
af_grpc_call_ref (AfGrpcCall *self)
{
  self->ref_count++;
  return self;
}

static void
send_item_free (SendItem *item)
{
  grpc_byte_buffer_destroy (item->buffer);
  g_free (item);
}

static void
flush_queues (AfGrpcCall *self)
{
  SendItem *item;
  ProtobufCMessage *msg;

  while ((item = g_queue_pop_head (&self->send_queue)) != NULL) {
    self->send_bytes -= item->len;
    send_item_free (item);
  }
  while ((msg = g_queue_pop_head (&self->recv_queue)) != NULL)
    protobuf_c_message_free_unpacked (msg, NULL);
  self->recv_bytes = 0;
}

void
af_grpc_call_unref (AfGrpcCall *self)
{
  if (--self->ref_count > 0)
    return;
  AfGrpcServer *server = self->server;
  flush_queues (self);
  g_assert (self->in_flight == NULL);
  grpc_call_unref (self->call);
  grpc_metadata_array_destroy (&self->metadata);
  if (self->request != NULL)
    protobuf_c_message_free_unpacked (self->request, NULL);
  g_object_unref (self->cancellable);
  g_free (self->peer_address);
  g_free (self->details);
  if (self->trailing != NULL) {
    for (guint i = 0; i < self->trailing->len; i++) {
      grpc_metadata *md = &g_array_index (self->trailing, grpc_metadata, i);
      grpc_slice_unref (md->key);
      grpc_slice_unref (md->value);
    }
    g_array_unref (self->trailing);
  }
  g_free (self->path);
  g_free (self);
  af_grpc_server_call_gone (server);
}

/* The call is over from our side: nothing more will be sent or received. */
static void
call_kill (AfGrpcCall *self)
{
  if (self->dead)
    return;
  self->dead = TRUE;
  flush_queues (self);
  /* A handler that has finished is no longer listening. */
  if (!self->finished)
    g_cancellable_cancel (self->cancellable);
}

static gboolean
call_start_batch (AfGrpcCall *self, const grpc_op *ops, size_t n, AfGrpcTag *tag)
{
  if (self->server->cq_shut) {
    call_kill (self);
    return FALSE;
  }
  af_grpc_call_ref (self);
  if (grpc_call_start_batch (self->call, ops, n, tag, NULL) != GRPC_CALL_OK) {
    self->ref_count--; /* never below 1 here: the caller holds one */
    call_kill (self);
    return FALSE;
  }
  return TRUE;
}

static void
on_close (gpointer owner, gboolean ok)
{
  AfGrpcCall *self = owner;

  if (!ok || self->close_cancelled)
    call_kill (self);
  af_grpc_call_unref (self);
}

static gboolean
call_has_room (AfGrpcCall *self, gsize bytes_limit, guint messages_limit)
{
  guint n = self->send_queue.length + (self->in_flight != NULL ? 1 : 0);
  return self->send_bytes < bytes_limit && n < messages_limit;
}

static void
on_send (gpointer owner, gboolean ok)
{
  AfGrpcCall *self = owner;

  self->send_in_flight = FALSE;
  if (self->in_flight != NULL) {
    self->send_bytes -= self->in_flight->len;
    send_item_free (self->in_flight);
    self->in_flight = NULL;
  }
  if (!ok)
    call_kill (self);
  call_pump_send (self);
  /* Resume the producer at half the bound, not at the first free byte, so
   * it runs in bursts rather than one message per wakeup. */
  if (self->send_blocked && !self->dead && !self->finished &&
      call_has_room (self, self->server->queue_bytes / 2 + 1,
                     self->server->queue_messages / 2 + 1)) {
    self->send_blocked = FALSE;
    if (self->send_ready_func != NULL)
      self->send_ready_func (self, self->send_ready_data);
  }
  af_grpc_call_unref (self);
}

static void
call_pump_send (AfGrpcCall *self)
{
  grpc_op ops[3];
  size_t n = 0;
  grpc_slice details;

  if (self->send_in_flight || self->dead)
    return;
  memset (ops, 0, sizeof ops);
  SendItem *item = g_queue_pop_head (&self->send_queue);
  gboolean with_status = self->finished && !self->status_sent && self->send_queue.length == 0;
  if (item == NULL && !with_status)
    return;
  if (!self->initial_metadata_sent) {
    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    n++;
    self->initial_metadata_sent = TRUE;
  }
  if (item != NULL) {
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = item->buffer;
    n++;
    self->in_flight = item;
  }
  if (with_status) {
    details = grpc_slice_from_copied_string (self->details != NULL ? self->details : "");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = self->status;
    ops[n].data.send_status_from_server.status_details = &details;
    if (self->trailing != NULL) {
      ops[n].data.send_status_from_server.trailing_metadata_count = self->trailing->len;
      ops[n].data.send_status_from_server.trailing_metadata = (grpc_metadata *)self->trailing->data;
    }
    n++;
    self->status_sent = TRUE;
  }
  self->send_in_flight = call_start_batch (self, ops, n, &self->send_tag);
  if (with_status)
    grpc_slice_unref (details); /* copied by start_batch */
  if (!self->send_in_flight && self->in_flight != NULL) {
    self->send_bytes -= self->in_flight->len;
    send_item_free (self->in_flight);
    self->in_flight = NULL;
  }
}

static gint64
deadline_to_monotonic (gpr_timespec deadline)
{
  if (gpr_time_cmp (deadline, gpr_inf_future (deadline.clock_type)) == 0)
    return G_MAXINT64;
  gpr_timespec left = gpr_time_sub (deadline, gpr_now (deadline.clock_type));
  return g_get_monotonic_time () + (gint64)left.tv_sec * G_USEC_PER_SEC + left.tv_nsec / 1000;
}

static void
call_init_peer (AfGrpcCall *self)
{
  char *peer = grpc_call_get_peer (self->call);

  self->peer.uid = (uid_t)-1;
  self->peer.gid = (gid_t)-1;
  self->peer.pid = -1;
  /* Connections we accepted ourselves carry the peer string "fd:N";
   * their SO_PEERCRED was recorded at accept time. */
  if (peer != NULL && g_str_has_prefix (peer, "fd:")) {
    int fd = atoi (peer + 3);
    AfGrpcPeerCreds *creds = g_hash_table_lookup (self->server->peer_creds, GINT_TO_POINTER (fd));
    if (creds != NULL) {
      self->peer.has_credentials = creds->has_credentials;
      if (creds->has_credentials) {
        self->peer.uid = creds->uid;
        self->peer.gid = creds->gid;
        self->peer.pid = creds->pid;
      }
      self->peer_address = g_strdup (creds->address);
    }
  }
  if (self->peer_address == NULL)
    self->peer_address = g_strdup (peer != NULL ? peer : "unknown");
  self->peer.address = self->peer_address;
  gpr_free (peer);
}

void
af_grpc_call_take_pending (AfGrpcServer *server, AfGrpcPending *p)
{
  AfGrpcCall *self = g_new0 (AfGrpcCall, 1);
  g_autoptr (GError) error = NULL;
  grpc_op op = { 0 };

  self->ref_count = 1; /* the handler's */
  self->server = server;
  server->n_calls++;
  self->entry = p->entry;
  self->call = g_steal_pointer (&p->call);
  self->metadata = p->metadata;
  self->cancellable = g_cancellable_new ();
  self->send_tag = (AfGrpcTag){ on_send, self };
  self->close_tag = (AfGrpcTag){ on_close, self };
  g_queue_init (&self->send_queue);
  g_queue_init (&self->recv_queue);
  if (p->entry != NULL) {
    self->path = g_strdup (p->entry->method.path);
    self->deadline = deadline_to_monotonic (p->deadline);
  } else {
    self->path = g_strndup ((const char *)GRPC_SLICE_START_PTR (p->details.method),
                            GRPC_SLICE_LENGTH (p->details.method));
    self->deadline = deadline_to_monotonic (p->details.deadline);
    grpc_call_details_destroy (&p->details);
  }
  grpc_byte_buffer *payload = g_steal_pointer (&p->payload);
  g_free (p);
  call_init_peer (self);

  op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  op.data.recv_close_on_server.cancelled = &self->close_cancelled;
  call_start_batch (self, &op, 1, &self->close_tag);

  if (self->entry == NULL) {
    af_grpc_call_finish_error (self, AF_ERROR_UNIMPLEMENTED, "unknown method %s", self->path);
    return;
  }
  const AfGrpcMethod *m = &self->entry->method;
  if (m->kind != AF_GRPC_CLIENT_STREAMING) {
    self->request = af_grpc_wire_unpack (m->request, payload, "request", &error);
    if (payload != NULL)
      grpc_byte_buffer_destroy (payload);
    if (self->request == NULL) {
      af_grpc_call_finish (self, NULL, error);
      return;
    }
  }
  m->handler (self, self->request, self->entry->user_data);
}

const char *
af_grpc_call_get_method (AfGrpcCall *self)
{
  return self->path;
}

AfGrpcMethodKind
af_grpc_call_get_kind (AfGrpcCall *self)
{
  return self->entry != NULL ? self->entry->method.kind : AF_GRPC_UNARY;
}

const ProtobufCMessage *
af_grpc_call_get_request (AfGrpcCall *self)
{
  return self->request;
}

GCancellable *
af_grpc_call_get_cancellable (AfGrpcCall *self)
{
  return self->cancellable;
}

gboolean
af_grpc_call_is_cancelled (AfGrpcCall *self)
{
  return g_cancellable_is_cancelled (self->cancellable);
}

gint64
af_grpc_call_get_deadline (AfGrpcCall *self)
{
  return self->deadline;
}

char *
af_grpc_call_dup_metadata (AfGrpcCall *self, const char *key)
{
  gsize key_len = strlen (key);

  for (size_t i = 0; i < self->metadata.count; i++) {
    const grpc_metadata *md = &self->metadata.metadata[i];
    if (GRPC_SLICE_LENGTH (md->key) == key_len &&
        memcmp (GRPC_SLICE_START_PTR (md->key), key, key_len) == 0)
      return g_strndup ((const char *)GRPC_SLICE_START_PTR (md->value),
                        GRPC_SLICE_LENGTH (md->value));
  }
  return NULL;
}

const AfGrpcPeer *
af_grpc_call_get_peer (AfGrpcCall *self)
{
  return &self->peer;
}

gboolean
af_grpc_call_can_send (AfGrpcCall *self)
{
  return !self->dead &&
         call_has_room (self, self->server->queue_bytes, self->server->queue_messages);
}

gboolean
af_grpc_call_send (AfGrpcCall *self, const ProtobufCMessage *message, GError **error)
{
  g_return_val_if_fail (!self->finished, FALSE);
  g_return_val_if_fail (af_grpc_call_get_kind (self) == AF_GRPC_SERVER_STREAMING, FALSE);

  if (self->dead) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_CANCELLED, "the call was cancelled");
    return FALSE;
  }
  if (!af_grpc_call_can_send (self)) {
    self->send_blocked = TRUE;
    g_set_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED,
                 "send queue of %s is full; wait for the send-ready callback", self->path);
    return FALSE;
  }
  SendItem *item = g_new0 (SendItem, 1);
  item->buffer = af_grpc_wire_pack (message, self->server->max_message_size, &item->len, error);
  if (item->buffer == NULL) {
    g_free (item);
    return FALSE;
  }
  g_queue_push_tail (&self->send_queue, item);
  self->send_bytes += item->len;
  if (!call_has_room (self, self->server->queue_bytes, self->server->queue_messages))
    self->send_blocked = TRUE;
  call_pump_send (self);
  return TRUE;
}

void
af_grpc_call_set_send_ready_func (AfGrpcCall *self, AfGrpcCallFunc func, gpointer user_data)
{
  self->send_ready_func = func;
  self->send_ready_data = user_data;
}

void
af_grpc_call_add_trailing_metadata (AfGrpcCall *self, const char *key, const char *value)
{
  g_return_if_fail (!self->finished);
  g_return_if_fail (key != NULL && value != NULL);

  if (self->dead)
    return;
  if (self->trailing == NULL)
    self->trailing = g_array_new (FALSE, TRUE, sizeof (grpc_metadata));
  /* The slices stay ours until the call is freed: grpc reads them when the
   * status batch starts and keeps no pointer past its completion. */
  grpc_metadata md = { 0 };
  md.key = grpc_slice_from_copied_string (key);
  md.value = grpc_slice_from_copied_string (value);
  g_array_append_val (self->trailing, md);
}

void
af_grpc_call_finish (AfGrpcCall *self, const ProtobufCMessage *response, const GError *error)
{
  g_return_if_fail (!self->finished);

  self->finished = TRUE;
  if (!self->dead) {
    g_autoptr (GError) pack_error = NULL;
    if (error == NULL && response != NULL &&
        af_grpc_call_get_kind (self) != AF_GRPC_SERVER_STREAMING) {
      SendItem *item = g_new0 (SendItem, 1);
      item->buffer =
          af_grpc_wire_pack (response, self->server->max_message_size, &item->len, &pack_error);
      if (item->buffer != NULL) {
        g_queue_push_tail (&self->send_queue, item);
        self->send_bytes += item->len;
      } else {
        g_free (item);
        g_prefix_error (&pack_error, "response: ");
        error = pack_error;
      }
    } else if (error == NULL && af_grpc_call_get_kind (self) != AF_GRPC_SERVER_STREAMING) {
      g_set_error (&pack_error, AF_ERROR, AF_ERROR_INTERNAL, "%s returned no response", self->path);
      error = pack_error;
    }
    if (error != NULL) {
      self->status = (grpc_status_code)af_error_to_grpc_status (error);
      self->details = g_strdup (error->message);
    } else {
      self->status = GRPC_STATUS_OK;
    }
    call_pump_send (self);
  }
  af_grpc_call_unref (self);
}

void
af_grpc_call_finish_error (AfGrpcCall *self, int code, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autoptr (GError) error = g_error_new_valist (AF_ERROR, code, format, ap);
  va_end (ap);
  af_grpc_call_finish (self, NULL, error);
}

/* ---- client-streaming receive ---- */

static void
call_deliver (AfGrpcCall *self)
{
  ProtobufCMessage *msg;

  if (self->recv_delivering || self->recv_func == NULL)
    return;
  self->recv_delivering = TRUE;
  af_grpc_call_ref (self);
  while (!self->recv_paused && !self->dead && !self->finished &&
         (msg = g_queue_pop_head (&self->recv_queue)) != NULL) {
    self->recv_bytes -= protobuf_c_message_get_packed_size (msg);
    self->recv_func (self, msg, self->recv_data);
    protobuf_c_message_free_unpacked (msg, NULL);
  }
  if (!self->recv_paused && !self->dead && !self->finished && self->recv_eof &&
      self->recv_queue.length == 0 && !self->recv_end_delivered) {
    self->recv_end_delivered = TRUE;
    self->recv_func (self, NULL, self->recv_data);
  }
  self->recv_delivering = FALSE;
  call_pump_recv (self);
  af_grpc_call_unref (self);
}

static void
on_recv (gpointer owner, gboolean ok)
{
  AfGrpcCall *self = owner;
  g_autoptr (GError) error = NULL;

  self->recv_in_flight = FALSE;
  grpc_byte_buffer *buffer = g_steal_pointer (&self->recv_buffer);
  if (!ok || self->dead) {
    if (buffer != NULL)
      grpc_byte_buffer_destroy (buffer);
    call_kill (self);
  } else if (buffer == NULL) {
    self->recv_eof = TRUE;
    call_deliver (self);
  } else {
    ProtobufCMessage *msg =
        af_grpc_wire_unpack (self->entry->method.request, buffer, "request", &error);
    grpc_byte_buffer_destroy (buffer);
    if (msg == NULL) {
      /* The handler learns of it through the cancellable. */
      grpc_call_cancel_with_status (self->call, (grpc_status_code)af_error_to_grpc_status (error),
                                    error->message, NULL);
      call_kill (self);
    } else {
      self->recv_bytes += protobuf_c_message_get_packed_size (msg);
      g_queue_push_tail (&self->recv_queue, msg);
      call_deliver (self);
    }
  }
  af_grpc_call_unref (self);
}

static void
call_pump_recv (AfGrpcCall *self)
{
  grpc_op op = { 0 };

  if (self->recv_func == NULL || self->recv_in_flight || self->recv_eof || self->dead ||
      self->finished)
    return;
  if (self->recv_queue.length >= self->server->queue_messages ||
      self->recv_bytes >= self->server->queue_bytes)
    return;
  op.op = GRPC_OP_RECV_MESSAGE;
  op.data.recv_message.recv_message = &self->recv_buffer;
  self->recv_in_flight = call_start_batch (self, &op, 1, &self->recv_tag);
}

void
af_grpc_call_set_receive_func (AfGrpcCall *self, AfGrpcReceiveFunc func, gpointer user_data)
{
  g_return_if_fail (af_grpc_call_get_kind (self) == AF_GRPC_CLIENT_STREAMING);

  self->recv_func = func;
  self->recv_data = user_data;
  self->recv_tag = (AfGrpcTag){ on_recv, self };
  call_pump_recv (self);
}

void
af_grpc_call_pause_receive (AfGrpcCall *self)
{
  self->recv_paused = TRUE;
}

void
af_grpc_call_resume_receive (AfGrpcCall *self)
{
  if (!self->recv_paused)
    return;
  self->recv_paused = FALSE;
  call_deliver (self);
}
