/* test-transport-stress.c — many calls at once and shutdown under load:
 * 200 concurrent calls mixing the three kinds over both listeners; a paused
 * client-stream receiver; a graceful shutdown with calls in flight (the
 * quick ones finish, the rest are cancelled and their handlers told). Run
 * it under `meson test --setup valgrind` and ASan for leaks.
 */
#include <gio/gio.h>
#include <string.h>

#include "af-error.h"
#include "af-grpc-client.h"
#include "test-service.h"
#include "test-util.h"

typedef struct {
  AfGrpcChannel *channel;
  int kind;
  int index;
  GError *error;
  gboolean ok;
} Job;

static gboolean
do_unary (Job *job)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  g_autofree char *text = g_strdup_printf ("call %d", job->index);
  g_autoptr (AfProtobufMessage) reply = NULL;

  req.text = text;
  req.delay_ms = 400; /* keeps the handlers overlapping */
  if (!af_grpc_channel_call_unary (job->channel, TEST_ECHO, &req.base,
                                   &aftest__v1__test_reply__descriptor, NULL, &reply, NULL,
                                   &job->error))
    return FALSE;
  return g_str_equal (((Aftest__V1__TestReply *)reply)->text, text);
}

static gboolean
do_stream (Job *job)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  guint n = 0;

  req.count = 40 + job->index % 7;
  req.size = 2000;
  g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_server_stream (
      job->channel, TEST_STREAM, &req.base, &aftest__v1__test_reply__descriptor, NULL, NULL,
      &job->error);
  if (s == NULL)
    return FALSE;
  for (;;) {
    g_autoptr (AfProtobufMessage) m = af_grpc_client_stream_read (s, &job->error);
    if (m == NULL)
      break;
    const Aftest__V1__TestReply *r = (const Aftest__V1__TestReply *)m;
    if (r->index != n || r->payload.len != 2000)
      return FALSE;
    n++;
  }
  return job->error == NULL && n == req.count;
}

static gboolean
do_collect (Job *job)
{
  guint8 buf[500];
  guint n = 30 + job->index % 5;

  memset (buf, 1, sizeof buf);
  g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_client_stream (
      job->channel, TEST_COLLECT, &aftest__v1__test_reply__descriptor, NULL, NULL, &job->error);
  if (s == NULL)
    return FALSE;
  for (guint i = 0; i < n; i++) {
    Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
    req.payload.data = buf;
    req.payload.len = sizeof buf;
    if (i == 0 && job->index % 10 == 2) {
      req.text = (char *)"pause";
      req.delay_ms = 100;
    }
    if (!af_grpc_client_stream_write (s, &req.base, &job->error))
      return FALSE;
  }
  g_autoptr (AfProtobufMessage) reply = NULL;
  if (!af_grpc_client_stream_finish (s, &reply, &job->error))
    return FALSE;
  const Aftest__V1__TestReply *r = (const Aftest__V1__TestReply *)reply;
  return r->messages == n && r->total == n * sizeof buf;
}

static gpointer
run_job (gpointer data)
{
  Job *job = data;
  switch (job->kind) {
  case 0:
    job->ok = do_unary (job);
    break;
  case 1:
    job->ok = do_stream (job);
    break;
  default:
    job->ok = do_collect (job);
    break;
  }
  return NULL;
}

static void
test_concurrent (void)
{
  const int n = test_under_valgrind () ? 30 : 200;
  TestServer *ts = test_server_start (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (AfGrpcChannel) unix_ch = af_grpc_channel_new (ts->unix_endpoint, NULL, &error);
  g_autoptr (AfGrpcChannel) tcp_ch = af_grpc_channel_new (ts->tcp_endpoint, NULL, &error);
  Job *jobs = g_new0 (Job, n);
  GThread **threads = g_new0 (GThread *, n);

  for (int i = 0; i < n; i++) {
    jobs[i].channel = i % 2 ? tcp_ch : unix_ch;
    jobs[i].kind = i % 3;
    jobs[i].index = i;
    threads[i] = g_thread_new ("client", run_job, &jobs[i]);
  }
  int ok = 0;
  for (int i = 0; i < n; i++) {
    g_thread_join (threads[i]);
    if (jobs[i].error != NULL)
      g_test_message ("call %d (kind %d): %s", i, jobs[i].kind, jobs[i].error->message);
    g_clear_error (&jobs[i].error);
    ok += jobs[i].ok;
  }
  g_test_message ("%d of %d calls correct; at most %u handlers active at once", ok, n,
                  ts->peak_active);
  g_assert_cmpint (ok, ==, n);
  /* They did overlap: a third are 400 ms unary calls started together
   * (the bound is loose so a busy machine cannot fail it). */
  g_assert_cmpuint (ts->peak_active, >=, n / 10);
  g_free (jobs);
  g_free (threads);
  test_server_stop (ts, 1000);
}

typedef struct {
  AfGrpcChannel *channel;
  const char *method;
  guint delay_ms;
  GError *error;
  gboolean ok;
} ShutdownJob;

static gpointer
run_shutdown_job (gpointer data)
{
  ShutdownJob *job = data;
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;

  if (g_str_equal (job->method, TEST_STREAM)) {
    req.count = 1000000;
    req.size = 4096;
    g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_server_stream (
        job->channel, TEST_STREAM, &req.base, &aftest__v1__test_reply__descriptor, NULL, NULL,
        &job->error);
    if (s == NULL)
      return NULL;
    for (;;) {
      g_autoptr (AfProtobufMessage) m = af_grpc_client_stream_read (s, &job->error);
      if (m == NULL)
        break;
      g_usleep (1000); /* a slow reader, so the stream stays in flight */
    }
    return NULL;
  }
  req.delay_ms = job->delay_ms;
  g_autoptr (AfProtobufMessage) reply = NULL;
  job->ok = af_grpc_channel_call_unary (job->channel, job->method, &req.base,
                                        &aftest__v1__test_reply__descriptor, NULL, &reply, NULL,
                                        &job->error);
  return NULL;
}

static void
test_shutdown_in_flight (void)
{
  TestServer *ts = test_server_start (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (AfGrpcChannel) unix_ch = af_grpc_channel_new (ts->unix_endpoint, NULL, &error);
  g_autoptr (AfGrpcChannel) tcp_ch = af_grpc_channel_new (ts->tcp_endpoint, NULL, &error);
  ShutdownJob jobs[] = {
    { unix_ch, TEST_HANG, 0 },  { tcp_ch, TEST_HANG, 0 },    { unix_ch, TEST_STREAM, 0 },
    { tcp_ch, TEST_STREAM, 0 }, { unix_ch, TEST_ECHO, 300 }, { tcp_ch, TEST_ECHO, 300 },
  };
  GThread *threads[G_N_ELEMENTS (jobs)];

  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    threads[i] = g_thread_new ("client", run_shutdown_job, &jobs[i]);
  /* Every call has reached its handler. */
  g_assert_true (test_server_wait_counter (ts, &ts->active, G_N_ELEMENTS (jobs)));

  gint64 start = g_get_monotonic_time ();
  test_server_shutdown (ts, 1000);
  /* The grace period was waited for, then the rest cancelled. */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 900 * 1000);
  g_assert_cmpuint (ts->hang_cancelled, ==, 2);
  g_assert_cmpuint (ts->stream_cancelled, ==, 2);
  g_assert_cmpuint (ts->active, ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++) {
    g_thread_join (threads[i]);
    g_test_message ("%s: %s", jobs[i].method, jobs[i].error ? jobs[i].error->message : "ok");
    if (g_str_equal (jobs[i].method, TEST_ECHO)) {
      /* Finished within the grace period. */
      g_assert_no_error (jobs[i].error);
      g_assert_true (jobs[i].ok);
    } else {
      g_assert_nonnull (jobs[i].error);
    }
    g_clear_error (&jobs[i].error);
  }
  test_server_stop (ts, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/transport-stress/concurrent", test_concurrent);
  g_test_add_func ("/transport-stress/shutdown-in-flight", test_shutdown_in_flight);
  return g_test_run ();
}
