/* af-grpc-server.c — server lifecycle: method registration, listeners, the
 * completion-queue thread and its hand-off to the GLib context, graceful
 * shutdown.
 *
 * Owns: the grpc_server, its completion queue and the one thread that drains
 * it. The CQ has no fd, so it cannot join GLib's poll: the thread blocks in
 * grpc_completion_queue_next and forwards {tag, ok} to the server context,
 * where every tag func (and so every grpc_call_start_batch) runs; batches of
 * one call therefore never race.
 *
 * Must never: run a handler off the server context, start a batch after the
 * completion queue was shut down, or log.
 */
#include "af-grpc-server-private.h"

#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>

#include "af-error.h"
#include "af-grpc-tls-reload.h"
#include "af-grpc-tls.h"
#include "af-grpc-wire.h"

/* Requests kept armed per method: grpc queues further calls itself. */
#define PREARMED_PER_METHOD 4

typedef struct {
  AfGrpcTag *tag; /* NULL: the CQ thread has exited */
  gboolean ok;
} AfGrpcEvent;

typedef struct {
  GSource source;
  AfGrpcServer *server;
} EventSource;

static gboolean
events_pending (AfGrpcServer *self)
{
  g_mutex_lock (&self->events_lock);
  gboolean pending = self->events.length > 0;
  g_mutex_unlock (&self->events_lock);
  return pending;
}

static gboolean
event_source_prepare (GSource *source, gint *timeout)
{
  *timeout = -1;
  return events_pending (((EventSource *)source)->server);
}

static gboolean
event_source_check (GSource *source)
{
  return events_pending (((EventSource *)source)->server);
}

static void maybe_complete_shutdown (AfGrpcServer *self);

static gboolean
event_source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  AfGrpcServer *self = ((EventSource *)source)->server;
  GQueue batch = G_QUEUE_INIT;

  g_mutex_lock (&self->events_lock);
  batch = self->events;
  g_queue_init (&self->events);
  g_mutex_unlock (&self->events_lock);

  AfGrpcEvent *ev;
  while ((ev = g_queue_pop_head (&batch)) != NULL) {
    AfGrpcTag *tag = ev->tag;
    gboolean ok = ev->ok;
    g_free (ev);
    if (tag == NULL) {
      self->thread_done = TRUE;
      maybe_complete_shutdown (self);
    } else {
      tag->func (tag->owner, ok);
    }
  }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs event_source_funcs = {
  event_source_prepare, event_source_check, event_source_dispatch, NULL, NULL, NULL,
};

static gpointer
cq_thread (gpointer data)
{
  AfGrpcServer *self = data;

  for (;;) {
    grpc_event ev =
        grpc_completion_queue_next (self->cq, gpr_inf_future (GPR_CLOCK_REALTIME), NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT)
      continue;
    AfGrpcEvent *out = g_new (AfGrpcEvent, 1);
    out->tag = ev.type == GRPC_QUEUE_SHUTDOWN ? NULL : ev.tag;
    out->ok = ev.success != 0;
    g_mutex_lock (&self->events_lock);
    gboolean was_empty = self->events.length == 0;
    g_queue_push_tail (&self->events, out);
    g_mutex_unlock (&self->events_lock);
    /* A non-empty queue keeps the source ready, so one wakeup suffices. */
    if (was_empty)
      g_main_context_wakeup (self->context);
    if (ev.type == GRPC_QUEUE_SHUTDOWN)
      break;
  }
  return NULL;
}

static void arm (AfGrpcServer *self, AfGrpcMethodEntry *entry);

static void
pending_free (AfGrpcPending *p)
{
  grpc_metadata_array_destroy (&p->metadata);
  if (p->entry == NULL)
    grpc_call_details_destroy (&p->details);
  if (p->payload != NULL)
    grpc_byte_buffer_destroy (p->payload);
  if (p->call != NULL)
    grpc_call_unref (p->call);
  g_free (p);
}

static void
on_request (gpointer owner, gboolean ok)
{
  AfGrpcPending *p = owner;
  AfGrpcServer *self = p->server;

  if (!ok) {
    /* Shutdown: the armed request is returned unused. */
    pending_free (p);
    return;
  }
  if (!self->shutting_down)
    arm (self, p->entry);
  af_grpc_call_take_pending (self, p);
}

static void
arm (AfGrpcServer *self, AfGrpcMethodEntry *entry)
{
  AfGrpcPending *p = g_new0 (AfGrpcPending, 1);
  grpc_call_error rc;

  p->server = self;
  p->entry = entry;
  p->tag.func = on_request;
  p->tag.owner = p;
  grpc_metadata_array_init (&p->metadata);
  if (entry == NULL) {
    grpc_call_details_init (&p->details);
    rc = grpc_server_request_call (self->server, &p->call, &p->details, &p->metadata, self->cq,
                                   self->cq, &p->tag);
  } else {
    gboolean has_payload = entry->method.kind != AF_GRPC_CLIENT_STREAMING;
    rc = grpc_server_request_registered_call (self->server, entry->handle, &p->call, &p->deadline,
                                              &p->metadata, has_payload ? &p->payload : NULL,
                                              self->cq, self->cq, &p->tag);
  }
  if (rc != GRPC_CALL_OK)
    pending_free (p);
}

AfGrpcServer *
af_grpc_server_new (const AfGrpcServerOptions *options, GError **error)
{
  AfGrpcServerOptions defaults = { 0 };
  if (options == NULL)
    options = &defaults;

  AfGrpcServer *self = g_new0 (AfGrpcServer, 1);
  self->context = options->context != NULL ? g_main_context_ref (options->context)
                                           : g_main_context_ref_thread_default ();
  self->max_message_size =
      options->max_message_size ? options->max_message_size : AF_GRPC_DEFAULT_MAX_MESSAGE_SIZE;
  self->queue_bytes = options->queue_bytes ? options->queue_bytes : AF_GRPC_DEFAULT_QUEUE_BYTES;
  self->queue_messages =
      options->queue_messages ? options->queue_messages : AF_GRPC_DEFAULT_QUEUE_MESSAGES;
  if (self->max_message_size > G_MAXINT) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "max message size %" G_GSIZE_FORMAT " is larger than 2 GiB",
                 self->max_message_size);
    g_main_context_unref (self->context);
    g_free (self);
    return NULL;
  }
  g_mutex_init (&self->events_lock);
  g_queue_init (&self->events);
  self->methods = g_ptr_array_new_with_free_func (g_free);
  self->paths = g_hash_table_new (g_str_hash, g_str_equal);
  self->listeners = g_ptr_array_new_with_free_func ((GDestroyNotify)af_grpc_unix_listener_free);
  self->peer_creds =
      g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify)af_grpc_peer_creds_free);

  af_grpc_runtime_ref ();
  grpc_arg args[] = {
    { GRPC_ARG_INTEGER,
      GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
      { .integer = (int)self->max_message_size } },
    { GRPC_ARG_INTEGER,
      GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
      { .integer = (int)self->max_message_size } },
    /* Without this a second server could bind the same TCP port. */
    { GRPC_ARG_INTEGER, GRPC_ARG_ALLOW_REUSEPORT, { .integer = 0 } },
    { GRPC_ARG_INTEGER,
      GRPC_ARG_MAX_CONCURRENT_STREAMS,
      { .integer =
            (int)MIN (options->max_calls_per_connection ? options->max_calls_per_connection
                                                        : AF_GRPC_DEFAULT_CALLS_PER_CONNECTION,
                      (guint)G_MAXINT) } },
  };
  grpc_channel_args channel_args = { G_N_ELEMENTS (args), args };
  self->server = grpc_server_create (&channel_args, NULL);
  self->cq = grpc_completion_queue_create_for_next (NULL);
  grpc_server_register_completion_queue (self->server, self->cq, NULL);
  self->insecure = grpc_insecure_server_credentials_create ();

  GSource *source = g_source_new (&event_source_funcs, sizeof (EventSource));
  ((EventSource *)source)->server = self;
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "af-grpc-server");
  g_source_attach (source, self->context);
  self->source = source;
  return self;
}

gboolean
af_grpc_server_add_methods (AfGrpcServer *self, const AfGrpcMethod *methods, gsize n_methods,
                            gpointer user_data, GError **error)
{
  g_return_val_if_fail (!self->started, FALSE);

  for (gsize i = 0; i < n_methods; i++) {
    const AfGrpcMethod *m = &methods[i];
    if (m->path == NULL || m->path[0] != '/' || m->handler == NULL || m->request == NULL ||
        (m->response == NULL && m->kind != AF_GRPC_SERVER_STREAMING) ||
        (m->kind == AF_GRPC_SERVER_STREAMING && m->response == NULL)) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                   "method row %" G_GSIZE_FORMAT " (%s) is incomplete", i,
                   m->path ? m->path : "no path");
      return FALSE;
    }
    if (g_hash_table_contains (self->paths, m->path)) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "method %s registered twice",
                   m->path);
      return FALSE;
    }
    AfGrpcMethodEntry *entry = g_new0 (AfGrpcMethodEntry, 1);
    entry->method = *m;
    entry->user_data = user_data;
    entry->handle = grpc_server_register_method (self->server, m->path, NULL,
                                                 m->kind == AF_GRPC_CLIENT_STREAMING
                                                     ? GRPC_SRM_PAYLOAD_NONE
                                                     : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
                                                 0);
    if (entry->handle == NULL) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "cannot register method %s",
                   m->path);
      g_free (entry);
      return FALSE;
    }
    g_ptr_array_add (self->methods, entry);
    g_hash_table_insert (self->paths, (gpointer)entry->method.path, entry);
  }
  return TRUE;
}

gboolean
af_grpc_server_set_tls (AfGrpcServer *self, const AfGrpcServerTls *tls, GError **error)
{
  g_return_val_if_fail (!self->listening && self->tls == NULL, FALSE);
  g_return_val_if_fail (tls != NULL, FALSE);

  if (!af_grpc_tls_check_certificates (tls->cert_chain_pem, NULL, error)) {
    g_prefix_error (error, "certificate: ");
    return FALSE;
  }
  if (!af_grpc_tls_check_key (tls->private_key_pem, tls->cert_chain_pem, error)) {
    g_prefix_error (error, "private key: ");
    return FALSE;
  }
  if (tls->client_ca_pem != NULL &&
      !af_grpc_tls_check_certificates (tls->client_ca_pem, NULL, error)) {
    g_prefix_error (error, "client CA: ");
    return FALSE;
  }
  if (tls->cert_chain_file != NULL) {
    self->tls_reload = af_grpc_tls_reload_new (tls, error);
    if (self->tls_reload == NULL)
      return FALSE;
    self->tls = af_grpc_tls_reload_credentials (self->tls_reload);
  } else {
    grpc_ssl_pem_key_cert_pair pair = { tls->private_key_pem, tls->cert_chain_pem };
    /* Copied by grpc. With a client CA, a connection without a certificate
     * that CA issued fails its handshake: mutual TLS. */
    self->tls = grpc_ssl_server_credentials_create_ex (
        tls->client_ca_pem, &pair, 1,
        tls->client_ca_pem != NULL ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                   : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
        NULL);
  }
  if (self->tls == NULL) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "certificate: grpc refused the TLS credentials");
    return FALSE;
  }
  return TRUE;
}

gboolean
af_grpc_server_listen_unix (AfGrpcServer *self, const char *path, guint mode, GError **error)
{
  g_return_val_if_fail (!self->shutting_down, FALSE);

  AfGrpcUnixListener *listener = af_grpc_unix_listener_new (self, path, mode, error);
  if (listener == NULL)
    return FALSE;
  self->listening = TRUE;
  g_ptr_array_add (self->listeners, listener);
  if (self->started)
    af_grpc_unix_listener_start (listener);
  return TRUE;
}

gboolean
af_grpc_server_listen_fd (AfGrpcServer *self, int fd, int *out_port, GError **error)
{
  g_return_val_if_fail (!self->shutting_down, FALSE);

  AfGrpcUnixListener *listener = af_grpc_fd_listener_new (self, fd, out_port, error);
  if (listener == NULL)
    return FALSE;
  self->listening = TRUE;
  g_ptr_array_add (self->listeners, listener);
  if (self->started)
    af_grpc_unix_listener_start (listener);
  return TRUE;
}

gboolean
af_grpc_server_listen_tcp (AfGrpcServer *self, const char *host_port, int *out_port, GError **error)
{
  g_return_val_if_fail (!self->started, FALSE);

  if (g_str_has_prefix (host_port, "unix:")) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "%s is not a TCP address (use af_grpc_server_listen_unix)", host_port);
    return FALSE;
  }
  self->listening = TRUE;
  int port = grpc_server_add_http2_port (self->server, host_port,
                                         self->tls != NULL ? self->tls : self->insecure);
  if (port == 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE,
                 "cannot listen on %s (address in use or invalid)", host_port);
    return FALSE;
  }
  if (out_port != NULL)
    *out_port = port;
  return TRUE;
}

gboolean
af_grpc_server_start (AfGrpcServer *self, GError **error)
{
  g_return_val_if_fail (!self->started, FALSE);

  grpc_server_start (self->server);
  self->started = TRUE;
  self->thread = g_thread_new ("af-grpc-cq", cq_thread, self);
  for (guint i = 0; i < self->methods->len; i++)
    for (int k = 0; k < PREARMED_PER_METHOD; k++)
      arm (self, g_ptr_array_index (self->methods, i));
  /* Unknown methods would hang until their deadline without a generic
   * request armed; it answers UNIMPLEMENTED. */
  arm (self, NULL);
  for (guint i = 0; i < self->listeners->len; i++)
    af_grpc_unix_listener_start (g_ptr_array_index (self->listeners, i));
  return TRUE;
}

void
af_grpc_server_call_gone (AfGrpcServer *self)
{
  g_assert (self->n_calls > 0);
  self->n_calls--;
  maybe_complete_shutdown (self);
}

static void
maybe_complete_shutdown (AfGrpcServer *self)
{
  if (!self->thread_done || self->n_calls > 0 || self->thread == NULL)
    return;
  g_thread_join (self->thread);
  self->thread = NULL;
  grpc_completion_queue_destroy (self->cq);
  self->cq = NULL;
  if (self->shutdown_task != NULL) {
    GTask *task = g_steal_pointer (&self->shutdown_task);
    g_task_return_boolean (task, TRUE);
    g_object_unref (task);
  }
}

static void
on_shutdown_done (gpointer owner, gboolean ok)
{
  AfGrpcServer *self = owner;

  if (self->timeout_source != NULL) {
    g_source_destroy (self->timeout_source);
    g_clear_pointer (&self->timeout_source, g_source_unref);
  }
  grpc_server_destroy (self->server);
  self->server = NULL;
  self->cq_shut = TRUE;
  grpc_completion_queue_shutdown (self->cq);
}

static gboolean
on_shutdown_timeout (gpointer data)
{
  AfGrpcServer *self = data;

  g_clear_pointer (&self->timeout_source, g_source_unref);
  grpc_server_cancel_all_calls (self->server);
  return G_SOURCE_REMOVE;
}

void
af_grpc_server_shutdown_async (AfGrpcServer *self, guint timeout_ms, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_return_if_fail (!self->shutting_down);

  GTask *task = g_task_new (NULL, NULL, callback, user_data);
  g_task_set_source_tag (task, af_grpc_server_shutdown_async);
  self->shutting_down = TRUE;
  for (guint i = 0; i < self->listeners->len; i++)
    af_grpc_unix_listener_stop (g_ptr_array_index (self->listeners, i));

  if (!self->started) {
    /* Nothing was ever armed and no thread runs: tear down right here.
     * grpc still wants its shutdown (a TCP port may have been added). */
    grpc_event ev;
    grpc_server_shutdown_and_notify (self->server, self->cq, &self->shutdown_tag);
    do
      ev = grpc_completion_queue_next (self->cq, gpr_inf_future (GPR_CLOCK_REALTIME), NULL);
    while (ev.type != GRPC_OP_COMPLETE || ev.tag != &self->shutdown_tag);
    grpc_server_destroy (self->server);
    self->server = NULL;
    self->cq_shut = TRUE;
    grpc_completion_queue_shutdown (self->cq);
    do
      ev = grpc_completion_queue_next (self->cq, gpr_inf_future (GPR_CLOCK_REALTIME), NULL);
    while (ev.type != GRPC_QUEUE_SHUTDOWN);
    grpc_completion_queue_destroy (self->cq);
    self->cq = NULL;
    g_task_return_boolean (task, TRUE);
    g_object_unref (task);
    return;
  }

  self->shutdown_task = task;
  self->shutdown_tag.func = on_shutdown_done;
  self->shutdown_tag.owner = self;
  grpc_server_shutdown_and_notify (self->server, self->cq, &self->shutdown_tag);
  if (timeout_ms == 0) {
    grpc_server_cancel_all_calls (self->server);
  } else {
    self->timeout_source = g_timeout_source_new (timeout_ms);
    g_source_set_callback (self->timeout_source, on_shutdown_timeout, self, NULL);
    g_source_attach (self->timeout_source, self->context);
  }
}

gboolean
af_grpc_server_shutdown_finish (AfGrpcServer *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_sync_shutdown (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;
  *out = g_object_ref (result);
}

gboolean
af_grpc_server_shutdown (AfGrpcServer *self, guint timeout_ms, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  g_main_context_push_thread_default (self->context);
  af_grpc_server_shutdown_async (self, timeout_ms, on_sync_shutdown, &result);
  while (result == NULL)
    g_main_context_iteration (self->context, TRUE);
  g_main_context_pop_thread_default (self->context);
  return af_grpc_server_shutdown_finish (self, result, error);
}

void
af_grpc_server_free (AfGrpcServer *self)
{
  if (self == NULL)
    return;
  if (!self->shutting_down)
    af_grpc_server_shutdown (self, 0, NULL);
  else
    while (self->cq != NULL)
      g_main_context_iteration (self->context, TRUE);

  g_ptr_array_unref (self->listeners);
  g_hash_table_unref (self->peer_creds);
  grpc_server_credentials_release (self->insecure);
  if (self->tls != NULL)
    grpc_server_credentials_release (self->tls);
  g_source_destroy (self->source);
  g_source_unref (self->source);
  g_assert (self->events.length == 0);
  g_mutex_clear (&self->events_lock);
  g_hash_table_unref (self->paths);
  g_ptr_array_unref (self->methods);
  g_main_context_unref (self->context);
  af_grpc_runtime_unref ();
  /* After the credentials and the server: no handshake can ask it now. */
  af_grpc_tls_reload_free (self->tls_reload);
  g_free (self);
}
