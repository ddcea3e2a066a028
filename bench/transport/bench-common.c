/* bench-common.c — see bench-common.h. */
#include "bench-common.h"

#include <sys/resource.h>

#include "test-service.h"

double
bench_cpu_us (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec +
         ru.ru_stime.tv_usec;
}

int
bench_cmp_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
  return x < y ? -1 : x > y;
}

void
bench_echo (AfGrpcChannel *ch, const char *text)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfProtobufMessage) reply = NULL;

  req.text = (char *)text;
  if (!af_grpc_channel_call_unary (ch, TEST_ECHO, &req.base, &aftest__v1__test_reply__descriptor,
                                   NULL, &reply, NULL, &error))
    g_error ("echo: %s", error->message);
  if (!g_str_equal (((Aftest__V1__TestReply *)reply)->text, text))
    g_error ("echo: wrong reply");
}

guint64
bench_stream (AfGrpcChannel *ch, int mib)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  g_autoptr (GError) error = NULL;
  guint64 bytes = 0, n = 0;

  req.count = mib * 16;
  req.size = 64 * 1024;
  g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_server_stream (
      ch, TEST_STREAM, &req.base, &aftest__v1__test_reply__descriptor, NULL, NULL, &error);
  if (s == NULL)
    g_error ("stream: %s", error->message);
  for (;;) {
    g_autoptr (AfProtobufMessage) m = af_grpc_client_stream_read (s, &error);
    if (m == NULL)
      break;
    bytes += ((Aftest__V1__TestReply *)m)->payload.len;
    n++;
  }
  if (error != NULL)
    g_error ("stream: %s", error->message);
  if (n != req.count || bytes != (guint64)req.count * req.size)
    g_error ("stream: got %" G_GUINT64_FORMAT " messages, %" G_GUINT64_FORMAT " bytes", n, bytes);
  return bytes;
}
