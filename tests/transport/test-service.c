/* test-service.c — handlers of the test-only aftest.v1.TestService and the
 * thread that runs them. Owns nothing outside tests and benchmarks.
 */
#include "test-service.h"

#include <glib/gstdio.h>
#include <string.h>

#include "af-error.h"

static void
bump (TestServer *ts, guint *counter, int delta)
{
  g_mutex_lock (&ts->lock);
  *counter += delta;
  if (counter == &ts->active && ts->active > ts->peak_active)
    ts->peak_active = ts->active;
  g_cond_broadcast (&ts->cond);
  g_mutex_unlock (&ts->lock);
}

gboolean
test_server_wait_counter (TestServer *ts, guint *counter, guint value)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  gboolean ok = TRUE;

  g_mutex_lock (&ts->lock);
  while (*counter < value && ok)
    ok = g_cond_wait_until (&ts->cond, &ts->lock, end);
  ok = *counter >= value;
  g_mutex_unlock (&ts->lock);
  return ok;
}

static void
fill_reply (AfGrpcCall *call, const Aftest__V1__TestRequest *req, Aftest__V1__TestReply *reply,
            char **metadata)
{
  const AfGrpcPeer *peer = af_grpc_call_get_peer (call);

  reply->text = req->text;
  reply->payload = req->payload;
  reply->uid = peer->has_credentials ? (gint64)peer->uid : -1;
  reply->gid = peer->has_credentials ? (gint64)peer->gid : -1;
  reply->pid = peer->has_credentials ? (gint64)peer->pid : -1;
  reply->peer = (char *)peer->address;
  *metadata = af_grpc_call_dup_metadata (call, "x-test");
  reply->metadata = *metadata != NULL ? *metadata : (char *)"";
  reply->has_deadline = af_grpc_call_get_deadline (call) != G_MAXINT64;
}

typedef struct {
  TestServer *ts;
  AfGrpcCall *call;
} Delayed;

static gboolean
echo_later (gpointer data)
{
  Delayed *d = data;
  const Aftest__V1__TestRequest *req =
      (const Aftest__V1__TestRequest *)af_grpc_call_get_request (d->call);
  Aftest__V1__TestReply reply = AFTEST__V1__TEST_REPLY__INIT;
  g_autofree char *md = NULL;

  fill_reply (d->call, req, &reply, &md);
  af_grpc_call_finish (d->call, &reply.base, NULL);
  bump (d->ts, &d->ts->active, -1);
  g_free (d);
  return G_SOURCE_REMOVE;
}

static void
handle_echo (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  TestServer *ts = user_data;
  const Aftest__V1__TestRequest *req = (const Aftest__V1__TestRequest *)request;

  bump (ts, &ts->active, 1);
  if (req->code != 0) {
    af_grpc_call_finish_error (call, req->code, "%s", req->detail);
    bump (ts, &ts->active, -1);
    return;
  }
  Delayed *d = g_new0 (Delayed, 1);
  d->ts = ts;
  d->call = call;
  if (req->delay_ms > 0) {
    /* Finishes later while other calls proceed. */
    GSource *src = g_timeout_source_new (req->delay_ms);
    g_source_set_callback (src, echo_later, d, NULL);
    g_source_attach (src, g_main_context_get_thread_default ());
    g_source_unref (src);
  } else {
    echo_later (d);
  }
}

typedef struct {
  TestServer *ts;
  AfGrpcCall *call;
  guint32 next, count;
  guint8 *payload;
  gsize size;
  gulong cancel_id;
  gboolean done;
  gboolean flood;
} StreamJob;

static void
stream_job_end (StreamJob *job, const GError *error)
{
  job->done = TRUE;
  /* Disconnecting from inside the cancelled handler would deadlock. */
  if (!g_cancellable_is_cancelled (af_grpc_call_get_cancellable (job->call)))
    g_cancellable_disconnect (af_grpc_call_get_cancellable (job->call), job->cancel_id);
  af_grpc_call_set_send_ready_func (job->call, NULL, NULL);
  af_grpc_call_finish (job->call, NULL, error);
  bump (job->ts, &job->ts->active, -1);
}

static void
stream_produce (AfGrpcCall *call, gpointer data)
{
  StreamJob *job = data;
  g_autoptr (GError) error = NULL;

  while (!job->done && job->next < job->count) {
    /* A "flood" producer ignores can_send and relies on the refusal. */
    if (!job->flood && !af_grpc_call_can_send (call)) {
      bump (job->ts, &job->ts->stream_paused, 1);
      return; /* resumed by the send-ready func */
    }
    Aftest__V1__TestReply reply = AFTEST__V1__TEST_REPLY__INIT;
    reply.index = job->next;
    reply.payload.data = job->payload;
    reply.payload.len = job->size;
    if (!af_grpc_call_send (call, &reply.base, &error)) {
      if (job->flood && g_error_matches (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED) &&
          strstr (error->message, "queue") != NULL) {
        bump (job->ts, &job->ts->send_refused, 1);
        return; /* the send-ready func follows */
      }
      stream_job_end (job, error);
      return;
    }
    job->next++;
  }
  if (!job->done) {
    /* The end of a stream, told in its trailers (as ExecStream's exit
     * status is). */
    char count[24];
    g_snprintf (count, sizeof count, "%u", job->next);
    af_grpc_call_add_trailing_metadata (call, "x-test-sent", count);
    stream_job_end (job, NULL);
  }
}

static void
stream_cancelled (GCancellable *cancellable, gpointer data)
{
  StreamJob *job = data;

  bump (job->ts, &job->ts->stream_cancelled, 1);
  if (!job->done) {
    g_autoptr (GError) error = g_error_new_literal (AF_ERROR, AF_ERROR_CANCELLED, "cancelled");
    stream_job_end (job, error);
  }
}

static void
stream_job_free (gpointer data)
{
  StreamJob *job = data;
  g_free (job->payload);
  g_free (job);
}

static void
handle_stream (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  TestServer *ts = user_data;
  const Aftest__V1__TestRequest *req = (const Aftest__V1__TestRequest *)request;

  bump (ts, &ts->active, 1);
  StreamJob *job = g_new0 (StreamJob, 1);
  job->ts = ts;
  job->call = call;
  job->count = req->count;
  job->size = req->size;
  job->flood = g_strcmp0 (req->text, "flood") == 0;
  job->payload = g_malloc (req->size + 1);
  for (gsize i = 0; i < job->size; i++)
    job->payload[i] = (guint8)(i * 7);
  /* The job lives as long as the call's cancellable. */
  g_object_set_data_full (G_OBJECT (af_grpc_call_get_cancellable (call)), "job", job,
                          stream_job_free);
  af_grpc_call_set_send_ready_func (call, stream_produce, job);
  job->cancel_id = g_cancellable_connect (af_grpc_call_get_cancellable (call),
                                          G_CALLBACK (stream_cancelled), job, NULL);
  stream_produce (call, job);
}

typedef struct {
  TestServer *ts;
  guint64 total, messages;
  gboolean done;
} CollectJob;

static gboolean
collect_resume (gpointer data)
{
  AfGrpcCall *call = data;
  af_grpc_call_resume_receive (call);
  af_grpc_call_unref (call);
  return G_SOURCE_REMOVE;
}

static void
collect_receive (AfGrpcCall *call, const ProtobufCMessage *message, gpointer data)
{
  CollectJob *job = data;

  if (message != NULL) {
    const Aftest__V1__TestRequest *req = (const Aftest__V1__TestRequest *)message;
    g_assert_false (job->done); /* nothing arrives after finish */
    job->total += req->payload.len;
    job->messages++;
    if (g_strcmp0 (req->text, "fail") == 0) {
      /* Finishing early, before the client's half-close. */
      job->done = TRUE;
      af_grpc_call_finish_error (call, AF_ERROR_FAILED_PRECONDITION,
                                 "collect refused message %" G_GUINT64_FORMAT, job->messages);
      bump (job->ts, &job->ts->active, -1);
      return;
    }
    if (g_strcmp0 (req->text, "pause") == 0) {
      /* A consumer that cannot keep up: stop receiving for a while. */
      af_grpc_call_pause_receive (call);
      GSource *src = g_timeout_source_new (req->delay_ms);
      g_source_set_callback (src, collect_resume, af_grpc_call_ref (call), NULL);
      g_source_attach (src, g_main_context_get_thread_default ());
      g_source_unref (src);
    }
    return;
  }
  Aftest__V1__TestReply reply = AFTEST__V1__TEST_REPLY__INIT;
  job->done = TRUE;
  reply.total = job->total;
  reply.messages = job->messages;
  af_grpc_call_finish (call, &reply.base, NULL);
  bump (job->ts, &job->ts->active, -1);
}

static void
collect_cancelled (GCancellable *cancellable, gpointer data)
{
  CollectJob *job = data;
  AfGrpcCall *call = g_object_get_data (G_OBJECT (cancellable), "call");
  /* The end-of-stream callback never comes for a cancelled call. */
  if (job->done)
    return;
  job->done = TRUE;
  af_grpc_call_finish (call, NULL, NULL);
  bump (job->ts, &job->ts->active, -1);
}

static void
handle_collect (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  TestServer *ts = user_data;
  GCancellable *cancellable = af_grpc_call_get_cancellable (call);

  bump (ts, &ts->active, 1);
  CollectJob *job = g_new0 (CollectJob, 1);
  job->ts = ts;
  g_object_set_data_full (G_OBJECT (cancellable), "job", job, g_free);
  g_object_set_data (G_OBJECT (cancellable), "call", call);
  /* Connected before receiving starts, so exactly one of end-of-stream
   * and cancellation finishes the call. */
  g_signal_connect (cancellable, "cancelled", G_CALLBACK (collect_cancelled), job);
  af_grpc_call_set_receive_func (call, collect_receive, job);
}

static void
hang_cancelled (GCancellable *cancellable, gpointer data)
{
  AfGrpcCall *call = data;
  TestServer *ts = g_object_get_data (G_OBJECT (cancellable), "ts");

  bump (ts, &ts->hang_cancelled, 1);
  af_grpc_call_finish_error (call, AF_ERROR_CANCELLED, "hang was cancelled");
  bump (ts, &ts->active, -1);
}

static void
handle_hang (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  TestServer *ts = user_data;
  GCancellable *cancellable = af_grpc_call_get_cancellable (call);

  bump (ts, &ts->active, 1);
  g_object_set_data (G_OBJECT (cancellable), "ts", ts);
  g_signal_connect (cancellable, "cancelled", G_CALLBACK (hang_cancelled), call);
}

static const AfGrpcMethod test_methods[] = {
  { TEST_ECHO, AF_GRPC_UNARY, &aftest__v1__test_request__descriptor,
    &aftest__v1__test_reply__descriptor, handle_echo },
  { TEST_STREAM, AF_GRPC_SERVER_STREAMING, &aftest__v1__test_request__descriptor,
    &aftest__v1__test_reply__descriptor, handle_stream },
  { TEST_COLLECT, AF_GRPC_CLIENT_STREAMING, &aftest__v1__test_request__descriptor,
    &aftest__v1__test_reply__descriptor, handle_collect },
  { TEST_HANG, AF_GRPC_UNARY, &aftest__v1__test_request__descriptor,
    &aftest__v1__test_reply__descriptor, handle_hang },
};

static gpointer
server_thread (gpointer data)
{
  TestServer *ts = data;
  g_main_context_push_thread_default (ts->context);
  g_main_loop_run (ts->loop);
  g_main_context_pop_thread_default (ts->context);
  return NULL;
}

TestServer *
test_server_start (const AfGrpcServerOptions *options)
{
  return test_server_start_tls (options, NULL);
}

TestServer *
test_server_start_tls (const AfGrpcServerOptions *options, const AfGrpcServerTls *tls)
{
  TestServer *ts = g_new0 (TestServer, 1);
  AfGrpcServerOptions opts = { 0 };
  g_autoptr (GError) error = NULL;
  int port = 0;

  if (options != NULL)
    opts = *options;
  g_mutex_init (&ts->lock);
  g_cond_init (&ts->cond);
  ts->context = g_main_context_new ();
  ts->loop = g_main_loop_new (ts->context, FALSE);
  opts.context = ts->context;
  ts->dir = g_dir_make_tmp ("af-transport-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_no_errno (g_chmod (ts->dir, 0755));
  ts->socket_path = g_build_filename (ts->dir, "test.sock", NULL);
  ts->unix_endpoint = g_strconcat ("unix:", ts->socket_path, NULL);

  ts->server = af_grpc_server_new (&opts, &error);
  g_assert_no_error (error);
  af_grpc_server_add_methods (ts->server, test_methods, G_N_ELEMENTS (test_methods), ts, &error);
  g_assert_no_error (error);
  if (tls != NULL) {
    af_grpc_server_set_tls (ts->server, tls, &error);
    g_assert_no_error (error);
  }
  af_grpc_server_listen_unix (ts->server, ts->socket_path, 0666, &error);
  g_assert_no_error (error);
  af_grpc_server_listen_tcp (ts->server, "127.0.0.1:0", &port, &error);
  g_assert_no_error (error);
  ts->tcp_endpoint = g_strdup_printf ("127.0.0.1:%d", port);
  af_grpc_server_start (ts->server, &error);
  g_assert_no_error (error);
  ts->thread = g_thread_new ("test-server", server_thread, ts);
  return ts;
}

typedef struct {
  TestServer *ts;
  guint timeout_ms;
} StopData;

static void
on_stopped (GObject *source, GAsyncResult *result, gpointer data)
{
  TestServer *ts = data;
  g_autoptr (GError) error = NULL;
  af_grpc_server_shutdown_finish (ts->server, result, &error);
  g_assert_no_error (error);
  g_main_loop_quit (ts->loop);
}

static gboolean
stop_on_thread (gpointer data)
{
  StopData *sd = data;
  af_grpc_server_shutdown_async (sd->ts->server, sd->timeout_ms, on_stopped, sd->ts);
  return G_SOURCE_REMOVE;
}

void
test_server_shutdown (TestServer *ts, guint timeout_ms)
{
  StopData sd = { ts, timeout_ms };

  g_main_context_invoke (ts->context, stop_on_thread, &sd);
  g_thread_join (ts->thread);
  /* Free on this thread: nothing iterates the context any more. */
  g_clear_pointer (&ts->server, af_grpc_server_free);
}

void
test_server_stop (TestServer *ts, guint timeout_ms)
{
  if (ts->server != NULL)
    test_server_shutdown (ts, timeout_ms);
  g_main_loop_unref (ts->loop);
  /* Drop sources the handlers left (none expected) before the context. */
  while (g_main_context_iteration (ts->context, FALSE))
    ;
  g_main_context_unref (ts->context);
  g_assert_cmpint (g_remove (ts->socket_path), ==, -1); /* removed at shutdown */
  g_autofree char *lock = g_strconcat (ts->socket_path, ".lock", NULL);
  g_remove (lock);
  g_assert_no_errno (g_rmdir (ts->dir));
  g_free (ts->socket_path);
  g_free (ts->unix_endpoint);
  g_free (ts->tcp_endpoint);
  g_free (ts->dir);
  g_mutex_clear (&ts->lock);
  g_cond_clear (&ts->cond);
  g_free (ts);
}
