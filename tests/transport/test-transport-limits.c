/* test-transport-limits.c — the bounds of the transport: message size in
 * both directions, server memory while a slow client reads 200 MB, the
 * receive pause of client streaming, and the peer uid of a client running
 * as another user.
 */
#include <gio/gio.h>
#include <string.h>
#include <unistd.h>

#include "af-error.h"
#include "af-grpc-client.h"
#include "test-service.h"
#include "test-util.h"

#define MiB (1024 * 1024)

static void
test_oversize (void)
{
  AfGrpcServerOptions sopts = { .max_message_size = 1 * MiB };
  AfGrpcChannelOptions copts = { .max_message_size = 8 * MiB };
  TestServer *ts = test_server_start (&sopts);
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *big = g_malloc0 (2 * MiB);
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  ProtobufCMessage *reply = NULL;

  const char *endpoints[] = { ts->unix_endpoint, ts->tcp_endpoint };
  for (guint i = 0; i < 2; i++) {
    g_autoptr (AfGrpcChannel) ch = af_grpc_channel_new (endpoints[i], &copts, &error);
    g_assert_no_error (error);

    /* Request larger than the server accepts. */
    req.payload.data = big;
    req.payload.len = 2 * MiB;
    g_assert_false (af_grpc_channel_call_unary (
        ch, TEST_ECHO, &req.base, &aftest__v1__test_reply__descriptor, NULL, &reply, NULL, &error));
    g_assert_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED);
    g_clear_error (&error);

    /* Just under the limit passes. */
    req.payload.len = MiB - 64;
    g_autoptr (AfProtobufMessage) ok_reply = NULL;
    g_assert_true (af_grpc_channel_call_unary (ch, TEST_ECHO, &req.base,
                                               &aftest__v1__test_reply__descriptor, NULL, &ok_reply,
                                               NULL, &error));
    g_assert_no_error (error);

    /* A streamed message larger than the server may send. */
    Aftest__V1__TestRequest sreq = AFTEST__V1__TEST_REQUEST__INIT;
    sreq.count = 3;
    sreq.size = 2 * MiB;
    g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_server_stream (
        ch, TEST_STREAM, &sreq.base, &aftest__v1__test_reply__descriptor, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_null (af_grpc_client_stream_read (s, &error));
    g_assert_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED);
    g_assert_nonnull (strstr (error->message, "exceeds the limit"));
    g_clear_error (&error);

    /* A client-streamed message too large for the server. */
    g_autoptr (AfGrpcClientStream) c = af_grpc_channel_start_client_stream (
        ch, TEST_COLLECT, &aftest__v1__test_reply__descriptor, NULL, NULL, &error);
    g_assert_no_error (error);
    req.payload.len = 2 * MiB;
    af_grpc_client_stream_write (c, &req.base, NULL); /* may or may not fail yet */
    g_autoptr (AfProtobufMessage) c_reply = NULL;
    g_assert_false (af_grpc_client_stream_finish (c, &c_reply, &error));
    g_assert_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED);
    g_clear_error (&error);
  }

  /* The client's own limit is checked before anything is sent. */
  AfGrpcChannelOptions small = { .max_message_size = 1000 };
  g_autoptr (AfGrpcChannel) ch = af_grpc_channel_new (ts->unix_endpoint, &small, &error);
  req.payload.len = 2000;
  g_assert_false (af_grpc_channel_call_unary (
      ch, TEST_ECHO, &req.base, &aftest__v1__test_reply__descriptor, NULL, &reply, NULL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED);
  test_server_stop (ts, 1000);
}

static void
test_slow_reader_rss (void)
{
#if defined(__SANITIZE_ADDRESS__)
  g_test_skip ("RSS is meaningless under AddressSanitizer (quarantine keeps freed memory)");
  return;
#endif
  if (test_under_valgrind ()) {
    g_test_skip ("RSS is meaningless under valgrind");
    return;
  }
  const char *client = g_getenv ("AF_TRANSPORT_CLIENT");
  g_assert_nonnull (client);
  /* Bound: send queue (1 MiB) + one message + grpc's own per-stream
   * buffering (flow-control windows) + allocator slack. Far below the
   * 200 MB that would pile up without backpressure. */
  const gsize bound_kb = 24 * 1024;
  TestServer *ts = test_server_start (NULL);
  g_autoptr (GError) error = NULL;
  const guint count = 3200, size = 64 * 1024; /* 200 MiB */

  gsize before_kb = test_proc_status_kb ("VmRSS");
  g_autoptr (GSubprocess) proc =
      g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, client, "slow-stream",
                        ts->unix_endpoint, G_STRINGIFY (3200), G_STRINGIFY (65536), "4", NULL);
  g_assert_no_error (error);
  g_autofree char *out = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
  g_autofree char *want =
      g_strdup_printf ("%u %" G_GUINT64_FORMAT "\n", count, (guint64)count * size);
  g_assert_cmpstr (out, ==, want);

  gsize peak_kb = test_proc_status_kb ("VmHWM");
  g_test_message ("RSS before %zu kB, peak %zu kB, bound +%zu kB; producer paused %u times",
                  before_kb, peak_kb, bound_kb, ts->stream_paused);
  g_assert_cmpuint (peak_kb, <, before_kb + bound_kb);
  g_assert_cmpuint (ts->stream_paused, >, 0);
  test_server_stop (ts, 1000);
}

static void
test_peer_uid (void)
{
  const char *client = g_getenv ("AF_TRANSPORT_CLIENT");
  g_autofree char *setpriv = g_find_program_in_path ("setpriv");
  g_autoptr (GError) error = NULL;

  if (getuid () != 0 || setpriv == NULL) {
    g_test_skip ("needs root and setpriv to run the client as another uid");
    return;
  }
  g_assert_nonnull (client);
  TestServer *ts = test_server_start (NULL);
  g_autoptr (GSubprocess) proc =
      g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, setpriv, "--reuid=65534",
                        "--regid=65533", "--clear-groups", client, "peer", ts->unix_endpoint, NULL);
  g_assert_no_error (error);
  /* setpriv execs the client, so the pid is the subprocess's own. */
  g_autofree char *want = g_strdup_printf ("65534 65533 %s\n", g_subprocess_get_identifier (proc));
  g_autofree char *out = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
  g_assert_cmpstr (out, ==, want);
  test_server_stop (ts, 1000);
}

static void
test_client_killed (void)
{
  const char *client = g_getenv ("AF_TRANSPORT_CLIENT");
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (client);
  TestServer *ts = test_server_start (NULL);
  /* A client that goes away mid-stream without cancelling. */
  g_autoptr (GSubprocess) proc =
      g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, client, "slow-stream",
                        ts->unix_endpoint, "1000000", "1000", "1000", NULL);
  g_assert_no_error (error);
  g_assert_true (test_server_wait_counter (ts, &ts->stream_paused, 1));
  g_subprocess_force_exit (proc);
  g_assert_true (g_subprocess_wait (proc, NULL, &error));
  /* The producer was told, and the call went away. */
  g_assert_true (test_server_wait_counter (ts, &ts->stream_cancelled, 1));
  test_server_stop (ts, 1000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/transport-limits/oversize", test_oversize);
  g_test_add_func ("/transport-limits/slow-reader-rss", test_slow_reader_rss);
  g_test_add_func ("/transport-limits/peer-uid", test_peer_uid);
  g_test_add_func ("/transport-limits/client-killed", test_client_killed);
  return g_test_run ();
}
