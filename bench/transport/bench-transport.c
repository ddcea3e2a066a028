/* bench-transport.c — throughput and latency of the gRPC transport.
 *
 * Runs the test-only service in a child process (`--serve`), then measures
 * from this process with the libafcore client, and from /usr/bin/python3
 * with grpcio (the reference) against the same server in the same run:
 *   - sequential unary calls/s with p50/p99 latency, unix socket and TCP;
 *   - unary calls/s with 32 calls in flight (32 client threads);
 *   - server-streaming MB/s (64 KiB messages).
 * Every reply is checked (text echoed, message count and byte totals).
 *
 *   bench-transport [--calls N] [--stream-mib N]
 */
#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "af-grpc-client.h"
#include "test-service.h"

static int
serve (void)
{
  TestServer *ts = test_server_start (NULL);
  char line[16];

  printf ("%s %s\n", ts->unix_endpoint, ts->tcp_endpoint);
  fflush (stdout);
  /* Serve until the parent closes our stdin. */
  while (fgets (line, sizeof line, stdin) != NULL)
    ;
  test_server_stop (ts, 1000);
  return 0;
}

static int
cmp_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
  return x < y ? -1 : x > y;
}

static void
echo_once (AfGrpcChannel *ch, const char *text)
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

static void
bench_sequential (const char *label, const char *endpoint, int calls, double *out_rate)
{
  g_autoptr (AfGrpcChannel) ch = af_grpc_channel_new (endpoint, NULL, NULL);
  gint64 *lat = g_new (gint64, calls);

  for (int i = 0; i < 200; i++) /* connect and warm up */
    echo_once (ch, "warm");
  gint64 start = g_get_monotonic_time ();
  for (int i = 0; i < calls; i++) {
    gint64 t = g_get_monotonic_time ();
    echo_once (ch, "ping");
    lat[i] = g_get_monotonic_time () - t;
  }
  double secs = (g_get_monotonic_time () - start) / 1e6;
  qsort (lat, calls, sizeof *lat, cmp_gint64);
  *out_rate = calls / secs;
  printf ("  %-28s %9.0f calls/s   p50 %5" G_GINT64_FORMAT " us   p99 %5" G_GINT64_FORMAT " us\n",
          label, *out_rate, lat[calls / 2], lat[calls * 99 / 100]);
  g_free (lat);
}

typedef struct {
  AfGrpcChannel *ch;
  int calls;
} InFlight;

static gpointer
in_flight_thread (gpointer data)
{
  InFlight *f = data;
  for (int i = 0; i < f->calls; i++)
    echo_once (f->ch, "flight");
  return NULL;
}

static double
bench_in_flight (const char *label, const char *endpoint, int calls)
{
  g_autoptr (AfGrpcChannel) ch = af_grpc_channel_new (endpoint, NULL, NULL);
  const int n = 32;
  GThread *threads[32];
  InFlight f = { ch, calls / n };

  echo_once (ch, "warm");
  gint64 start = g_get_monotonic_time ();
  for (int i = 0; i < n; i++)
    threads[i] = g_thread_new ("bench", in_flight_thread, &f);
  for (int i = 0; i < n; i++)
    g_thread_join (threads[i]);
  double rate = f.calls * n / ((g_get_monotonic_time () - start) / 1e6);
  printf ("  %-28s %9.0f calls/s\n", label, rate);
  return rate;
}

static double
bench_stream (const char *label, const char *endpoint, int mib)
{
  g_autoptr (AfGrpcChannel) ch = af_grpc_channel_new (endpoint, NULL, NULL);
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  g_autoptr (GError) error = NULL;
  guint64 bytes = 0, n = 0;

  req.count = mib * 16;
  req.size = 64 * 1024;
  gint64 start = g_get_monotonic_time ();
  g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_server_stream (
      ch, TEST_STREAM, &req.base, &aftest__v1__test_reply__descriptor, NULL, NULL, &error);
  g_assert_no_error (error);
  for (;;) {
    g_autoptr (AfProtobufMessage) m = af_grpc_client_stream_read (s, &error);
    if (m == NULL)
      break;
    bytes += ((Aftest__V1__TestReply *)m)->payload.len;
    n++;
  }
  g_assert_no_error (error);
  if (n != req.count || bytes != (guint64)req.count * req.size)
    g_error ("stream: got %" G_GUINT64_FORMAT " messages", n);
  double rate = bytes / 1e6 / ((g_get_monotonic_time () - start) / 1e6);
  printf ("  %-28s %9.0f MB/s\n", label, rate);
  return rate;
}

/* Runs the python reference; returns its stdout lines ("key value"). */
static GHashTable *
run_python (const char *endpoint, int calls, int mib)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *calls_s = g_strdup_printf ("%d", calls);
  g_autofree char *mib_s = g_strdup_printf ("%d", mib);
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_setenv (l, "PYTHONPATH", BENCH_PYTHON_DIR, TRUE);
  g_autoptr (GSubprocess) p = g_subprocess_launcher_spawn (
      l, &error, "/usr/bin/python3", BENCH_PYTHON_SCRIPT, endpoint, calls_s, mib_s, NULL);
  g_autofree char *out = NULL;
  GHashTable *result = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (p == NULL || !g_subprocess_communicate_utf8 (p, NULL, NULL, &out, NULL, &error) ||
      g_subprocess_get_exit_status (p) != 0) {
    printf ("  python reference failed: %s\n", error ? error->message : "exit status");
    return result;
  }
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **line = lines; *line; line++) {
    g_auto (GStrv) kv = g_strsplit (*line, " ", 2);
    if (kv[0] && kv[1])
      g_hash_table_insert (result, g_strdup (kv[0]), g_strdup (kv[1]));
  }
  return result;
}

static double
py_value (GHashTable *py, const char *key)
{
  const char *v = g_hash_table_lookup (py, key);
  return v ? g_ascii_strtod (v, NULL) : 0;
}

int
main (int argc, char **argv)
{
  int calls = 20000, mib = 512;

  if (argc > 1 && g_str_equal (argv[1], "--serve"))
    return serve ();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (g_str_equal (argv[i], "--calls"))
      calls = atoi (argv[i + 1]);
    else if (g_str_equal (argv[i], "--stream-mib"))
      mib = atoi (argv[i + 1]);
  }

  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) server = g_subprocess_new (
      G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, argv[0], "--serve",
      NULL);
  g_assert_no_error (error);
  g_autoptr (GDataInputStream) in =
      g_data_input_stream_new (g_subprocess_get_stdout_pipe (server));
  g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_auto (GStrv) endpoints = g_strsplit (line, " ", 2);
  const char *unix_ep = endpoints[0], *tcp_ep = endpoints[1];

  printf ("libafcore client -> C server (separate process), %d calls, %d MiB streamed\n", calls,
          mib);
  double seq_unix, seq_tcp;
  bench_sequential ("unary sequential, unix", unix_ep, calls, &seq_unix);
  bench_sequential ("unary sequential, tcp", tcp_ep, calls, &seq_tcp);
  double fl_unix = bench_in_flight ("unary 32 in flight, unix", unix_ep, calls * 2);
  double fl_tcp = bench_in_flight ("unary 32 in flight, tcp", tcp_ep, calls * 2);
  double st_unix = bench_stream ("stream 64 KiB msgs, unix", unix_ep, mib);
  double st_tcp = bench_stream ("stream 64 KiB msgs, tcp", tcp_ep, mib);

  printf ("python3-grpcio client (reference) -> same server\n");
  struct {
    const char *name, *ep;
    double seq, flight, stream;
  } refs[] = { { "unix", unix_ep, seq_unix, fl_unix, st_unix },
               { "tcp", tcp_ep, seq_tcp, fl_tcp, st_tcp } };
  for (guint i = 0; i < G_N_ELEMENTS (refs); i++) {
    g_autoptr (GHashTable) py = run_python (refs[i].ep, calls / 4, mib / 4);
    double seq = py_value (py, "seq_calls_per_s");
    double flight = py_value (py, "flight_calls_per_s");
    double stream = py_value (py, "stream_mb_per_s");
    printf ("  %-5s unary sequential %7.0f calls/s (p50 %s us, p99 %s us)   ours/python %.2f\n",
            refs[i].name, seq, (char *)g_hash_table_lookup (py, "seq_p50_us"),
            (char *)g_hash_table_lookup (py, "seq_p99_us"), seq > 0 ? refs[i].seq / seq : 0);
    printf ("  %-5s unary 32 in flight %6.0f calls/s   ours/python %.2f\n", refs[i].name, flight,
            flight > 0 ? refs[i].flight / flight : 0);
    printf ("  %-5s stream %18.0f MB/s      ours/python %.2f\n", refs[i].name, stream,
            stream > 0 ? refs[i].stream / stream : 0);
  }

  g_output_stream_close (g_subprocess_get_stdin_pipe (server), NULL, NULL);
  g_subprocess_wait_check (server, NULL, &error);
  g_assert_no_error (error);
  return 0;
}
