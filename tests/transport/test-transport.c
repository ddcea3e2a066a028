/* test-transport.c — C client <-> C server over the unix socket and TCP:
 * the three call kinds, status and details, metadata, peer identity,
 * deadlines, cancellation, async forms, connection errors.
 */
#include <gio/gio.h>
#include <grpc/grpc.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "af-error.h"
#include "af-grpc-client.h"
#include "test-service.h"
#include "test-util.h"

typedef struct {
  TestServer *ts;
  AfGrpcChannel *channel;
  const char *endpoint;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->ts = test_server_start (NULL);
  f->endpoint = GPOINTER_TO_INT (data) ? f->ts->tcp_endpoint : f->ts->unix_endpoint;
  f->channel = af_grpc_channel_new (f->endpoint, NULL, &error);
  g_assert_no_error (error);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  af_grpc_channel_unref (f->channel);
  test_server_stop (f->ts, 1000);
}

static Aftest__V1__TestReply *
echo (Fixture *f, Aftest__V1__TestRequest *req, const AfGrpcCallOptions *opts, GError **error)
{
  ProtobufCMessage *reply = NULL;
  if (!af_grpc_channel_call_unary (f->channel, TEST_ECHO, &req->base,
                                   &aftest__v1__test_reply__descriptor, opts, &reply, NULL, error))
    return NULL;
  return (Aftest__V1__TestReply *)reply;
}

static void
test_unary (Fixture *f, gconstpointer data)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  const char *md[] = { "x-test", "token-42", NULL };
  AfGrpcCallOptions opts = { .timeout_ms = 5000, .metadata = md };
  g_autoptr (GError) error = NULL;
  guint8 bytes[] = { 0, 1, 2, 255 };

  req.text = (char *)"hello";
  req.payload.data = bytes;
  req.payload.len = sizeof bytes;
  g_autoptr (AfProtobufMessage) reply = (AfProtobufMessage *)echo (f, &req, &opts, &error);
  g_assert_no_error (error);
  Aftest__V1__TestReply *r = (Aftest__V1__TestReply *)reply;
  g_assert_cmpstr (r->text, ==, "hello");
  g_assert_cmpmem (r->payload.data, r->payload.len, bytes, sizeof bytes);
  g_assert_cmpstr (r->metadata, ==, "token-42");
  g_assert_true (r->has_deadline);
  if (GPOINTER_TO_INT (data)) {
    g_assert_cmpint (r->uid, ==, -1);
    g_assert_true (g_str_has_prefix (r->peer, "ipv4:127.0.0.1:"));
  } else {
    g_assert_cmpint (r->uid, ==, getuid ());
    g_assert_cmpint (r->gid, ==, getgid ());
    g_assert_cmpint (r->pid, ==, getpid ());
    g_autofree char *want = g_strconcat ("unix:", f->ts->socket_path, NULL);
    g_assert_cmpstr (r->peer, ==, want);
  }

  /* Metadata grpc would refuse on the wire is refused here, clearly. */
  const char *bad_md[] = { "X-Upper", "v", NULL };
  AfGrpcCallOptions bad = { .metadata = bad_md };
  g_assert_null (echo (f, &req, &bad, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "metadata"));
  g_clear_error (&error);

  /* No options: no deadline seen by the handler. */
  g_autoptr (AfProtobufMessage) reply2 = (ProtobufCMessage *)echo (f, &req, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (((Aftest__V1__TestReply *)reply2)->has_deadline);
  g_assert_cmpstr (((Aftest__V1__TestReply *)reply2)->metadata, ==, "");
}

static void
test_status (Fixture *f, gconstpointer data)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  g_autoptr (GError) error = NULL;

  for (int code = 1; code <= 16; code++) {
    g_autofree char *detail = g_strdup_printf ("plain words for code %d", code);
    req.code = code;
    req.detail = detail;
    g_assert_null (echo (f, &req, NULL, &error));
    g_assert_error (error, AF_ERROR, code);
    g_assert_cmpstr (error->message, ==, detail);
    g_clear_error (&error);
  }
}

static void
test_server_unavailable (Fixture *f, gconstpointer data)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  g_autoptr (GError) error = NULL;

  /* A server's own UNAVAILABLE is not mistaken for a failed connect. */
  req.code = AF_ERROR_UNAVAILABLE;
  req.detail = (char *)"failed to connect to the container engine";
  g_assert_null (echo (f, &req, NULL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE);
  g_assert_cmpstr (error->message, ==, "failed to connect to the container engine");
}

static void
test_unknown_method (Fixture *f, gconstpointer data)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  g_autoptr (GError) error = NULL;
  ProtobufCMessage *reply = NULL;

  g_assert_false (af_grpc_channel_call_unary (f->channel, "/aftest.v1.TestService/Nope", &req.base,
                                              &aftest__v1__test_reply__descriptor, NULL, &reply,
                                              NULL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_UNIMPLEMENTED);
  g_assert_nonnull (strstr (error->message, "/aftest.v1.TestService/Nope"));
}

static void
test_empty_body (Fixture *f, gconstpointer data)
{
  g_autofree char *details = NULL;
  grpc_status_code status = test_raw_call (f->endpoint, TEST_ECHO, NULL, 0, &details);
  g_assert_cmpint (status, ==, GRPC_STATUS_INVALID_ARGUMENT);
  g_assert_cmpstr (details, ==, "empty request body");
}

static void
test_nul_in_string (Fixture *f, gconstpointer data)
{
  /* text = "x\0y" (field 1), then inner { name = "a\0" } (field 8). */
  const guint8 top[] = { 0x0a, 3, 'x', 0, 'y' };
  const guint8 nested[] = { 0x42, 4, 0x0a, 2, 'a', 0 };
  /* inner { labels { key: "k" value: "v\0" } } — a map entry. */
  const guint8 map[] = { 0x42, 9, 0x12, 7, 0x0a, 1, 'k', 0x12, 2, 'v', 0 };
  /* bytes may hold NULs. */
  const guint8 bytes_ok[] = { 0x12, 3, 'x', 0, 'y' };
  g_autofree char *d1 = NULL, *d2 = NULL, *d3 = NULL, *d4 = NULL;

  g_assert_cmpint (test_raw_call (f->endpoint, TEST_ECHO, top, sizeof top, &d1), ==,
                   GRPC_STATUS_INVALID_ARGUMENT);
  g_assert_cmpstr (d1, ==, "field text contains a NUL byte");
  g_assert_cmpint (test_raw_call (f->endpoint, TEST_ECHO, nested, sizeof nested, &d2), ==,
                   GRPC_STATUS_INVALID_ARGUMENT);
  g_assert_cmpstr (d2, ==, "field inner.name contains a NUL byte");
  g_assert_cmpint (test_raw_call (f->endpoint, TEST_ECHO, map, sizeof map, &d3), ==,
                   GRPC_STATUS_INVALID_ARGUMENT);
  g_assert_cmpstr (d3, ==, "field inner.labels.value contains a NUL byte");
  g_assert_cmpint (test_raw_call (f->endpoint, TEST_ECHO, bytes_ok, sizeof bytes_ok, &d4), ==,
                   GRPC_STATUS_OK);
}

typedef struct {
  guint count;
  gsize bytes;
  guint stop_after;
} StreamCount;

static gboolean
count_message (const ProtobufCMessage *message, gpointer data)
{
  StreamCount *c = data;
  const Aftest__V1__TestReply *r = (const Aftest__V1__TestReply *)message;
  g_assert_cmpuint (r->index, ==, c->count);
  c->count++;
  c->bytes += r->payload.len;
  return c->stop_after == 0 || c->count < c->stop_after;
}

static void
test_server_stream (Fixture *f, gconstpointer data)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  g_autoptr (GError) error = NULL;
  StreamCount c = { 0 };

  /* Callback form; more than the queue bound so the producer pauses. */
  req.count = 500;
  req.size = 10000;
  g_assert_true (af_grpc_channel_call_server_stream (f->channel, TEST_STREAM, &req.base,
                                                     &aftest__v1__test_reply__descriptor, NULL,
                                                     count_message, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.count, ==, 500);
  g_assert_cmpuint (c.bytes, ==, 500 * 10000);
  g_assert_cmpuint (f->ts->stream_paused, >, 0);

  /* A producer that ignores can_send is refused, not buffered, and still
   * gets every message out through the send-ready func. */
  c = (StreamCount){ 0 };
  req.text = (char *)"flood";
  g_assert_true (af_grpc_channel_call_server_stream (f->channel, TEST_STREAM, &req.base,
                                                     &aftest__v1__test_reply__descriptor, NULL,
                                                     count_message, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.count, ==, 500);
  g_assert_cmpuint (f->ts->send_refused, >, 0);
  req.text = NULL;

  /* Pull form, including an empty stream. */
  for (guint n = 0; n < 3; n += 2) {
    req.count = n;
    req.size = 3;
    g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_server_stream (
        f->channel, TEST_STREAM, &req.base, &aftest__v1__test_reply__descriptor, NULL, NULL,
        &error);
    g_assert_no_error (error);
    guint got = 0;
    ProtobufCMessage *m;
    while ((m = af_grpc_client_stream_read (s, &error)) != NULL) {
      g_assert_cmpuint (((Aftest__V1__TestReply *)m)->index, ==, got);
      got++;
      protobuf_c_message_free_unpacked (m, NULL);
    }
    g_assert_no_error (error);
    g_assert_cmpuint (got, ==, n);
    /* Reading past the end stays at the end. */
    g_assert_null (af_grpc_client_stream_read (s, &error));
    g_assert_no_error (error);
  }
}

static void
test_client_stream (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint8 buf[1000];
  memset (buf, 'z', sizeof buf);

  g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_client_stream (
      f->channel, TEST_COLLECT, &aftest__v1__test_reply__descriptor, NULL, NULL, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 300; i++) {
    Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
    req.payload.data = buf;
    req.payload.len = sizeof buf;
    g_assert_true (af_grpc_client_stream_write (s, &req.base, &error));
    g_assert_no_error (error);
  }
  g_autoptr (AfProtobufMessage) reply = NULL;
  g_assert_true (af_grpc_client_stream_finish (s, &reply, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (((Aftest__V1__TestReply *)reply)->messages, ==, 300);
  g_assert_cmpuint (((Aftest__V1__TestReply *)reply)->total, ==, 300 * sizeof buf);

  /* The server finishes early with an error: later writes may fail, the
   * status says why. */
  g_autoptr (AfGrpcClientStream) s3 = af_grpc_channel_start_client_stream (
      f->channel, TEST_COLLECT, &aftest__v1__test_reply__descriptor, NULL, NULL, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 50; i++) {
    Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
    req.text = i == 2 ? (char *)"fail" : NULL;
    if (!af_grpc_client_stream_write (s3, &req.base, &error))
      break;
  }
  g_clear_error (&error);
  g_autoptr (AfProtobufMessage) reply3 = NULL;
  g_assert_false (af_grpc_client_stream_finish (s3, &reply3, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION);
  g_assert_cmpstr (error->message, ==, "collect refused message 3");
  g_clear_error (&error);

  /* Zero messages. */
  g_autoptr (AfGrpcClientStream) s2 = af_grpc_channel_start_client_stream (
      f->channel, TEST_COLLECT, &aftest__v1__test_reply__descriptor, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (AfProtobufMessage) reply2 = NULL;
  g_assert_true (af_grpc_client_stream_finish (s2, &reply2, &error));
  g_assert_cmpuint (((Aftest__V1__TestReply *)reply2)->messages, ==, 0);
}

static void
test_deadline (Fixture *f, gconstpointer data)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  AfGrpcCallOptions opts = { .timeout_ms = 200 };
  g_autoptr (GError) error = NULL;
  ProtobufCMessage *reply = NULL;

  gint64 start = g_get_monotonic_time ();
  g_assert_false (af_grpc_channel_call_unary (f->channel, TEST_HANG, &req.base,
                                              &aftest__v1__test_reply__descriptor, &opts, &reply,
                                              NULL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_DEADLINE_EXCEEDED);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 150 * 1000);
  /* The handler was told. */
  g_assert_true (test_server_wait_counter (f->ts, &f->ts->hang_cancelled, 1));
}

static gboolean
cancel_later (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static gpointer
cancel_thread (gpointer data)
{
  g_usleep (100 * 1000); /* let the call reach the handler first */
  cancel_later (data);
  return NULL;
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  g_autoptr (GError) error = NULL;
  ProtobufCMessage *reply = NULL;

  /* Unary cancelled from another thread through the GCancellable. */
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  GThread *t = g_thread_new ("cancel", cancel_thread, cancellable);
  g_assert_false (af_grpc_channel_call_unary (f->channel, TEST_HANG, &req.base,
                                              &aftest__v1__test_reply__descriptor, NULL, &reply,
                                              cancellable, &error));
  g_thread_join (t);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (test_server_wait_counter (f->ts, &f->ts->hang_cancelled, 1));
  g_clear_error (&error);

  /* Cancelling mid-stream (the callback says stop): the producer sees it. */
  StreamCount c = { .stop_after = 5 };
  req.count = 1000000;
  req.size = 1000;
  g_assert_false (af_grpc_channel_call_server_stream (f->channel, TEST_STREAM, &req.base,
                                                      &aftest__v1__test_reply__descriptor, NULL,
                                                      count_message, &c, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (c.count, ==, 5);
  g_assert_true (test_server_wait_counter (f->ts, &f->ts->stream_cancelled, 1));
  g_clear_error (&error);

  /* Already cancelled: nothing is sent. */
  g_assert_false (af_grpc_channel_call_unary (f->channel, TEST_ECHO, &req.base,
                                              &aftest__v1__test_reply__descriptor, NULL, &reply,
                                              cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

typedef struct {
  GMainLoop *loop;
  ProtobufCMessage *reply;
  GError *error;
  AfGrpcChannel *channel;
  AfGrpcClientStream *stream;
  guint messages;
} AsyncState;

static void
on_unary_done (GObject *source, GAsyncResult *result, gpointer data)
{
  AsyncState *st = data;
  st->reply = af_grpc_channel_call_unary_finish (st->channel, result, &st->error);
  g_main_loop_quit (st->loop);
}

static void
on_read_done (GObject *source, GAsyncResult *result, gpointer data)
{
  AsyncState *st = data;
  ProtobufCMessage *m = af_grpc_client_stream_read_finish (st->stream, result, &st->error);
  if (m == NULL) {
    g_main_loop_quit (st->loop);
    return;
  }
  st->messages++;
  protobuf_c_message_free_unpacked (m, NULL);
  af_grpc_client_stream_read_async (st->stream, NULL, on_read_done, st);
}

static void
on_finish_done (GObject *source, GAsyncResult *result, gpointer data)
{
  AsyncState *st = data;
  st->reply = af_grpc_client_stream_finish_finish (st->stream, result, &st->error);
  g_main_loop_quit (st->loop);
}

static void
on_write_done (GObject *source, GAsyncResult *result, gpointer data)
{
  AsyncState *st = data;
  if (!af_grpc_client_stream_write_finish (st->stream, result, &st->error)) {
    g_main_loop_quit (st->loop);
    return;
  }
  if (++st->messages < 5) {
    Aftest__V1__TestRequest chunk = AFTEST__V1__TEST_REQUEST__INIT;
    guint8 bytes[10] = { 0 };
    chunk.payload.data = bytes;
    chunk.payload.len = sizeof bytes; /* encoded before the call returns */
    af_grpc_client_stream_write_async (st->stream, &chunk.base, NULL, on_write_done, st);
  } else {
    af_grpc_client_stream_finish_async (st->stream, NULL, on_finish_done, st);
  }
}

static void
test_async (Fixture *f, gconstpointer data)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  AsyncState st = { 0 };
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_main_context_push_thread_default (ctx);
  st.loop = g_main_loop_new (ctx, FALSE);
  st.channel = f->channel;

  req.text = (char *)"async";
  req.delay_ms = 50;
  af_grpc_channel_call_unary_async (f->channel, TEST_ECHO, &req.base,
                                    &aftest__v1__test_reply__descriptor, NULL, NULL, on_unary_done,
                                    &st);
  g_main_loop_run (st.loop);
  g_assert_no_error (st.error);
  g_assert_cmpstr (((Aftest__V1__TestReply *)st.reply)->text, ==, "async");
  protobuf_c_message_free_unpacked (st.reply, NULL);

  req.count = 20;
  req.size = 100;
  g_autoptr (GError) error = NULL;
  st.stream = af_grpc_channel_start_server_stream (
      f->channel, TEST_STREAM, &req.base, &aftest__v1__test_reply__descriptor, NULL, NULL, &error);
  g_assert_no_error (error);
  af_grpc_client_stream_read_async (st.stream, NULL, on_read_done, &st);
  g_main_loop_run (st.loop);
  g_assert_no_error (st.error);
  g_assert_cmpuint (st.messages, ==, 20);
  af_grpc_client_stream_free (st.stream);

  /* Client streaming, asynchronously. */
  st.stream = af_grpc_channel_start_client_stream (
      f->channel, TEST_COLLECT, &aftest__v1__test_reply__descriptor, NULL, NULL, &error);
  g_assert_no_error (error);
  st.messages = 0;
  Aftest__V1__TestRequest chunk = AFTEST__V1__TEST_REQUEST__INIT;
  guint8 bytes[10] = { 0 };
  chunk.payload.data = bytes;
  chunk.payload.len = sizeof bytes;
  af_grpc_client_stream_write_async (st.stream, &chunk.base, NULL, on_write_done, &st);
  g_main_loop_run (st.loop);
  g_assert_no_error (st.error);
  g_assert_cmpuint (((Aftest__V1__TestReply *)st.reply)->messages, ==, 5);
  g_assert_cmpuint (((Aftest__V1__TestReply *)st.reply)->total, ==, 50);
  protobuf_c_message_free_unpacked (st.reply, NULL);
  af_grpc_client_stream_free (st.stream);

  g_main_loop_unref (st.loop);
  g_main_context_pop_thread_default (ctx);
}

static void
test_cannot_connect (void)
{
  g_autoptr (GError) error = NULL;
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  ProtobufCMessage *reply = NULL;
  const char *endpoints[] = { "unix:/nonexistent/af-test.sock", "127.0.0.1:1",
                              "unix-abstract:af-test-nothing-listens" };

  for (guint i = 0; i < G_N_ELEMENTS (endpoints); i++) {
    g_autoptr (AfGrpcChannel) ch = af_grpc_channel_new (endpoints[i], NULL, &error);
    g_assert_no_error (error);
    g_assert_false (af_grpc_channel_call_unary (
        ch, TEST_ECHO, &req.base, &aftest__v1__test_reply__descriptor, NULL, &reply, NULL, &error));
    g_assert_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE);
    g_autofree char *want = g_strdup_printf ("cannot connect to %s", endpoints[i]);
    g_assert_true (g_str_has_prefix (error->message, want));
    g_clear_error (&error);
  }
}

static void
test_unix_listener (void)
{
  TestServer *ts = test_server_start (NULL);
  g_autoptr (GError) error = NULL;
  struct stat st;

  g_assert_no_errno (stat (ts->socket_path, &st));
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpint (st.st_mode & 0777, ==, 0666);

  /* A second server on the same socket refuses instead of stealing it. */
  g_autoptr (AfGrpcServer) second = af_grpc_server_new (NULL, &error);
  g_assert_no_error (error);
  g_assert_false (af_grpc_server_listen_unix (second, ts->socket_path, 0600, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_ALREADY_EXISTS);
  g_assert_nonnull (strstr (error->message, "already running"));
  g_clear_error (&error);
  g_clear_pointer (&second, af_grpc_server_free);

  /* The first still serves, with its mode intact. */
  g_assert_no_errno (stat (ts->socket_path, &st));
  g_assert_cmpint (st.st_mode & 0777, ==, 0666);
  g_autoptr (AfGrpcChannel) ch = af_grpc_channel_new (ts->unix_endpoint, NULL, &error);
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  g_autoptr (AfProtobufMessage) reply = NULL;
  g_assert_true (af_grpc_channel_call_unary (
      ch, TEST_ECHO, &req.base, &aftest__v1__test_reply__descriptor, NULL, &reply, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&ch, af_grpc_channel_unref);

  /* A stale socket of a dead server is replaced; a missing directory is
   * NOT_FOUND. */
  g_autofree char *stale = g_build_filename (ts->dir, "stale.sock", NULL);
  g_autoptr (GSocket) sock =
      g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (stale);
  g_assert_true (g_socket_bind (sock, addr, FALSE, &error));
  g_socket_close (sock, NULL);
  g_autoptr (AfGrpcServer) third = af_grpc_server_new (NULL, &error);
  g_assert_true (af_grpc_server_listen_unix (third, stale, 0600, &error));
  g_assert_no_error (error);
  g_assert_no_errno (stat (stale, &st));
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_false (af_grpc_server_listen_unix (third, "/nonexistent/dir/x.sock", 0600, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_pointer (&third, af_grpc_server_free);
  /* Freed without ever starting, with a TCP port bound. */
  g_autoptr (AfGrpcServer) fourth = af_grpc_server_new (NULL, &error);
  g_assert_true (af_grpc_server_listen_tcp (fourth, "127.0.0.1:0", NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&fourth, af_grpc_server_free);
  /* Nor can a second server share a TCP port (no SO_REUSEPORT). */
  g_autoptr (AfGrpcServer) fifth = af_grpc_server_new (NULL, &error);
  g_assert_false (af_grpc_server_listen_tcp (fifth, ts->tcp_endpoint, NULL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE);
  g_clear_error (&error);
  g_clear_pointer (&fifth, af_grpc_server_free);
  g_autofree char *stale_lock = g_strconcat (stale, ".lock", NULL);
  g_assert_no_errno (unlink (stale_lock));

  test_server_stop (ts, 1000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  const char *kinds[] = { "unix", "tcp" };
  for (int k = 0; k < 2; k++) {
#define ADD(name, fn)                                                                              \
  do {                                                                                             \
    g_autofree char *path = g_strdup_printf ("/transport/%s/%s", kinds[k], name);                  \
    g_test_add (path, Fixture, GINT_TO_POINTER (k), setup, fn, teardown);                          \
  } while (0)
    ADD ("unary", test_unary);
    ADD ("status", test_status);
    ADD ("unknown-method", test_unknown_method);
    ADD ("server-unavailable", test_server_unavailable);
    ADD ("empty-body", test_empty_body);
    ADD ("nul-in-string", test_nul_in_string);
    ADD ("server-stream", test_server_stream);
    ADD ("client-stream", test_client_stream);
    ADD ("deadline", test_deadline);
    ADD ("cancel", test_cancel);
    ADD ("async", test_async);
#undef ADD
  }
  g_test_add_func ("/transport/cannot-connect", test_cannot_connect);
  g_test_add_func ("/transport/unix-listener", test_unix_listener);
  return g_test_run ();
}
