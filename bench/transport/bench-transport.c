/* bench-transport.c — throughput and latency of the gRPC transport.
 *
 * Runs the test-only service in a child process (`--serve`), then measures
 * from this process with the libafcore client, and from /usr/bin/python3
 * with grpcio (the reference) against the same server in the same run:
 *   - sequential unary calls/s with p50/p99 latency, unix socket and TCP;
 *   - unary calls/s with 32 calls in flight (32 client threads);
 *   - server-streaming MB/s (64 KiB messages).
 * Besides wall-clock rates it reports CPU time per call (client and server),
 * which a busy shared machine disturbs far less. Each figure is the best of
 * --rounds rounds. Every reply is checked (text echoed, counts, totals).
 *
 *   bench-transport [--calls N] [--stream-mib N] [--rounds N]
 */
#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "af-grpc-client.h"
#include "bench-common.h"
#include "test-service.h"

typedef struct {
  double rate;                 /* calls/s or MB/s */
  double p50, p99;             /* µs, sequential only */
  double client_us, server_us; /* CPU per call (per MiB for streams) */
} Result;

static const char *server_pid;

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

static double
server_cpu_us (void)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/stat", server_pid);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  /* Fields after the ")" of the command name: utime is the 12th, stime 13th. */
  g_auto (GStrv) f = g_strsplit (strrchr (text, ')') + 2, " ", -1);
  return (g_ascii_strtod (f[11], NULL) + g_ascii_strtod (f[12], NULL)) * 1e6 /
         sysconf (_SC_CLK_TCK);
}

static Result
bench_sequential (const char *endpoint, int calls)
{
  g_autoptr (AfGrpcChannel) ch = af_grpc_channel_new (endpoint, NULL, NULL);
  gint64 *lat = g_new (gint64, calls);
  Result r;

  for (int i = 0; i < 200; i++) /* connect and warm up */
    bench_echo (ch, "warm");
  double c0 = bench_cpu_us (), s0 = server_cpu_us ();
  gint64 start = g_get_monotonic_time ();
  for (int i = 0; i < calls; i++) {
    gint64 t = g_get_monotonic_time ();
    bench_echo (ch, "ping");
    lat[i] = g_get_monotonic_time () - t;
  }
  r.rate = calls / ((g_get_monotonic_time () - start) / 1e6);
  r.client_us = (bench_cpu_us () - c0) / calls;
  r.server_us = (server_cpu_us () - s0) / calls;
  qsort (lat, calls, sizeof *lat, bench_cmp_gint64);
  r.p50 = lat[calls / 2];
  r.p99 = lat[calls * 99 / 100];
  g_free (lat);
  return r;
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
    bench_echo (f->ch, "flight");
  return NULL;
}

static Result
bench_in_flight (const char *endpoint, int calls)
{
  g_autoptr (AfGrpcChannel) ch = af_grpc_channel_new (endpoint, NULL, NULL);
  GThread *threads[32];
  InFlight f = { ch, calls / 32 };
  Result r = { 0 };

  bench_echo (ch, "warm");
  double c0 = bench_cpu_us (), s0 = server_cpu_us ();
  gint64 start = g_get_monotonic_time ();
  for (int i = 0; i < 32; i++)
    threads[i] = g_thread_new ("bench", in_flight_thread, &f);
  for (int i = 0; i < 32; i++)
    g_thread_join (threads[i]);
  int done = f.calls * 32;
  r.rate = done / ((g_get_monotonic_time () - start) / 1e6);
  r.client_us = (bench_cpu_us () - c0) / done;
  r.server_us = (server_cpu_us () - s0) / done;
  return r;
}

static Result
stream_rate (const char *endpoint, int mib)
{
  g_autoptr (AfGrpcChannel) ch = af_grpc_channel_new (endpoint, NULL, NULL);
  Result r = { 0 };

  bench_echo (ch, "warm");
  double c0 = bench_cpu_us (), s0 = server_cpu_us ();
  gint64 start = g_get_monotonic_time ();
  guint64 bytes = bench_stream (ch, mib);
  r.rate = bytes / 1e6 / ((g_get_monotonic_time () - start) / 1e6);
  r.client_us = (bench_cpu_us () - c0) / mib;
  r.server_us = (server_cpu_us () - s0) / mib;
  return r;
}

/* Runs the python reference; fills seq/flight/stream from its output. */
static gboolean
run_python (const char *endpoint, int calls, int mib, Result *seq, Result *flight, Result *stream)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *calls_s = g_strdup_printf ("%d", calls);
  g_autofree char *mib_s = g_strdup_printf ("%d", mib);
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_setenv (l, "PYTHONPATH", BENCH_PYTHON_DIR, TRUE);
  g_autoptr (GSubprocess) p =
      g_subprocess_launcher_spawn (l, &error, "/usr/bin/python3", BENCH_PYTHON_SCRIPT, endpoint,
                                   calls_s, mib_s, server_pid, NULL);
  g_autofree char *out = NULL;
  if (p == NULL || !g_subprocess_communicate_utf8 (p, NULL, NULL, &out, NULL, &error) ||
      g_subprocess_get_exit_status (p) != 0) {
    printf ("  python reference failed: %s\n", error ? error->message : "exit status");
    return FALSE;
  }
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **line = lines; *line; line++) {
    Result *r = NULL;
    double v[5];
    char key[16];
    if (sscanf (*line, "%15s %lf %lf %lf %lf %lf", key, &v[0], &v[1], &v[2], &v[3], &v[4]) != 6)
      continue;
    r = g_str_equal (key, "seq") ? seq : g_str_equal (key, "flight") ? flight : stream;
    *r = (Result){ v[0], v[1], v[2], v[3], v[4] };
  }
  return TRUE;
}

static void
keep_best (Result *best, Result r)
{
  if (r.rate > best->rate)
    *best = r;
}

static void
print_row (const char *what, const char *unit, Result ours, Result py)
{
  printf ("| %-30s | %8.0f | %8.0f | %5.2f | %6.1f / %6.1f | %6.1f / %6.1f |\n", what, ours.rate,
          py.rate, py.rate > 0 ? ours.rate / py.rate : 0, ours.client_us, ours.server_us,
          py.client_us, py.server_us);
  (void)unit;
}

int
main (int argc, char **argv)
{
  int calls = 20000, mib = 512, rounds = 3;

  if (argc > 1 && g_str_equal (argv[1], "--serve"))
    return serve ();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (g_str_equal (argv[i], "--calls"))
      calls = atoi (argv[i + 1]);
    else if (g_str_equal (argv[i], "--stream-mib"))
      mib = atoi (argv[i + 1]);
    else if (g_str_equal (argv[i], "--rounds"))
      rounds = atoi (argv[i + 1]);
  }

  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) server =
      g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                        argv[0], "--serve", NULL);
  g_assert_no_error (error);
  server_pid = g_subprocess_get_identifier (server);
  g_autoptr (GDataInputStream) in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server));
  g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_auto (GStrv) endpoints = g_strsplit (line, " ", 2);
  const char *names[] = { "unix", "tcp" };

  Result ours[2][3] = { 0 }, py[2][3] = { 0 };
  for (int round = 0; round < rounds; round++) {
    for (int e = 0; e < 2; e++) {
      keep_best (&ours[e][0], bench_sequential (endpoints[e], calls));
      keep_best (&ours[e][1], bench_in_flight (endpoints[e], calls * 2));
      keep_best (&ours[e][2], stream_rate (endpoints[e], mib));
      Result s = { 0 }, f = { 0 }, st = { 0 };
      if (run_python (endpoints[e], calls / 4, mib / 2, &s, &f, &st)) {
        keep_best (&py[e][0], s);
        keep_best (&py[e][1], f);
        keep_best (&py[e][2], st);
      }
    }
  }

  printf ("best of %d rounds; %d sequential calls (python: %d), %d MiB streamed (python: %d)\n",
          rounds, calls, calls / 4, mib, mib / 2);
  printf ("| %-30s | %8s | %8s | %5s | %-15s | %-15s |\n", "", "libafcore", "grpcio", "ratio",
          "CPU us ours c/s", "CPU us py c/s");
  for (int e = 0; e < 2; e++) {
    g_autofree char *a = g_strdup_printf ("unary sequential calls/s, %s", names[e]);
    g_autofree char *b = g_strdup_printf ("unary 32 in flight calls/s, %s", names[e]);
    g_autofree char *c = g_strdup_printf ("stream MB/s (64 KiB), %s", names[e]);
    print_row (a, "calls/s", ours[e][0], py[e][0]);
    print_row (b, "calls/s", ours[e][1], py[e][1]);
    print_row (c, "MB/s", ours[e][2], py[e][2]);
  }
  for (int e = 0; e < 2; e++)
    printf ("latency %s: libafcore p50 %.0f us p99 %.0f us; grpcio p50 %.0f us p99 %.0f us\n",
            names[e], ours[e][0].p50, ours[e][0].p99, py[e][0].p50, py[e][0].p99);
  printf ("(CPU per call for unary, per MiB for streams: client / server)\n");

  g_output_stream_close (g_subprocess_get_stdin_pipe (server), NULL, NULL);
  g_subprocess_wait_check (server, NULL, &error);
  g_assert_no_error (error);
  return 0;
}
