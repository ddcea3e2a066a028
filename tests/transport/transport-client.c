/* transport-client.c — a separate client process for the transport tests:
 * to run as another uid (peer credentials) and to read a stream slowly
 * without sharing the server's address space (RSS bound).
 *
 *   transport-client peer ENDPOINT
 *       one Echo; prints "UID GID PID" as the server saw them
 *   transport-client slow-stream ENDPOINT COUNT SIZE PAUSE_MS_PER_MB
 *       reads COUNT messages of SIZE bytes, pausing PAUSE_MS_PER_MB after
 *       each MiB; prints "MESSAGES BYTES"
 */
#include <stdio.h>
#include <stdlib.h>

#include "af-grpc-client.h"
#include "test-service.h"

static int
run_peer (AfGrpcChannel *channel)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfProtobufMessage) reply = NULL;

  if (!af_grpc_channel_call_unary (channel, TEST_ECHO, &req.base,
                                   &aftest__v1__test_reply__descriptor, NULL, &reply, NULL,
                                   &error)) {
    fprintf (stderr, "transport-client: %s\n", error->message);
    return 1;
  }
  Aftest__V1__TestReply *r = (Aftest__V1__TestReply *)reply;
  printf ("%" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", r->uid, r->gid,
          r->pid);
  return 0;
}

static int
run_slow_stream (AfGrpcChannel *channel, guint count, guint size, guint pause_ms)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  g_autoptr (GError) error = NULL;
  guint64 messages = 0, bytes = 0, since_pause = 0;

  req.count = count;
  req.size = size;
  g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_server_stream (
      channel, TEST_STREAM, &req.base, &aftest__v1__test_reply__descriptor, NULL, NULL, &error);
  if (s == NULL) {
    fprintf (stderr, "transport-client: %s\n", error->message);
    return 1;
  }
  for (;;) {
    g_autoptr (AfProtobufMessage) m = af_grpc_client_stream_read (s, &error);
    if (m == NULL)
      break;
    messages++;
    bytes += ((Aftest__V1__TestReply *)m)->payload.len;
    since_pause += ((Aftest__V1__TestReply *)m)->payload.len;
    if (since_pause >= 1024 * 1024) {
      since_pause = 0;
      g_usleep (pause_ms * 1000); /* the point: a reader slower than the producer */
    }
  }
  if (error != NULL) {
    fprintf (stderr, "transport-client: %s\n", error->message);
    return 1;
  }
  printf ("%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT "\n", messages, bytes);
  return 0;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (argc < 3) {
    fprintf (stderr, "usage: transport-client peer|slow-stream ENDPOINT …\n");
    return 2;
  }
  g_autoptr (AfGrpcChannel) channel = af_grpc_channel_new (argv[2], NULL, &error);
  if (channel == NULL) {
    fprintf (stderr, "transport-client: %s\n", error->message);
    return 1;
  }
  if (g_str_equal (argv[1], "peer"))
    return run_peer (channel);
  if (g_str_equal (argv[1], "slow-stream") && argc == 6)
    return run_slow_stream (channel, atoi (argv[3]), atoi (argv[4]), atoi (argv[5]));
  fprintf (stderr, "transport-client: bad arguments\n");
  return 2;
}
