/* bench-tls.c — what TLS costs the gRPC transport: the same calls over TCP
 * loopback in clear text (the reference) and with TLS (a throwaway P-256
 * certificate made by tests/transport/make-test-certs.sh), in one run,
 * against one in-process server:
 *   - sequential unary calls/s and p50 latency on one warm connection;
 *   - new connection + one call (the handshake) per second;
 *   - server-streaming MB/s (64 KiB messages).
 * Besides the wall-clock rates it prints the process CPU time per call /
 * per MiB (client and server together), which a busy machine disturbs
 * less. Each figure is the best of --rounds rounds.
 *
 *   bench-tls [--calls N] [--connects N] [--stream-mib N] [--rounds N]
 */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include "af-grpc-client.h"
#include "af-grpc-tls.h"
#include "bench-common.h"
#include "test-pki.h"
#include "test-service.h"

typedef struct {
  double rate, p50, cpu_us;
} Result;

static Result
bench_sequential (const char *endpoint, const AfGrpcChannelOptions *o, int calls)
{
  g_autoptr (AfGrpcChannel) ch = af_grpc_channel_new (endpoint, o, NULL);
  gint64 *lat = g_new (gint64, calls);
  for (int i = 0; i < 200; i++)
    bench_echo (ch, "ping");
  double c0 = bench_cpu_us ();
  gint64 start = g_get_monotonic_time ();
  for (int i = 0; i < calls; i++) {
    gint64 t = g_get_monotonic_time ();
    bench_echo (ch, "ping");
    lat[i] = g_get_monotonic_time () - t;
  }
  Result r = { calls / ((g_get_monotonic_time () - start) / 1e6), 0,
               (bench_cpu_us () - c0) / calls };
  qsort (lat, calls, sizeof *lat, bench_cmp_gint64);
  r.p50 = lat[calls / 2];
  g_free (lat);
  return r;
}

static Result
bench_connect (const char *endpoint, const AfGrpcChannelOptions *o, int connects)
{
  double c0 = bench_cpu_us ();
  gint64 start = g_get_monotonic_time ();
  for (int i = 0; i < connects; i++) {
    g_autoptr (AfGrpcChannel) ch = af_grpc_channel_new (endpoint, o, NULL);
    bench_echo (ch, "ping");
  }
  return (Result){ connects / ((g_get_monotonic_time () - start) / 1e6), 0,
                   (bench_cpu_us () - c0) / connects };
}

static Result
stream_rate (const char *endpoint, const AfGrpcChannelOptions *o, int mib)
{
  g_autoptr (AfGrpcChannel) ch = af_grpc_channel_new (endpoint, o, NULL);
  bench_echo (ch, "ping");
  double c0 = bench_cpu_us ();
  gint64 start = g_get_monotonic_time ();
  guint64 bytes = bench_stream (ch, mib);
  return (Result){ bytes / 1e6 / ((g_get_monotonic_time () - start) / 1e6), 0,
                   (bench_cpu_us () - c0) / mib };
}

static void
keep_best (Result *best, Result r)
{
  if (r.rate > best->rate)
    *best = r;
}

int
main (int argc, char **argv)
{
  int calls = 10000, connects = 300, mib = 256, rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (g_str_equal (argv[i], "--calls"))
      calls = atoi (argv[i + 1]);
    else if (g_str_equal (argv[i], "--connects"))
      connects = atoi (argv[i + 1]);
    else if (g_str_equal (argv[i], "--stream-mib"))
      mib = atoi (argv[i + 1]);
    else if (g_str_equal (argv[i], "--rounds"))
      rounds = atoi (argv[i + 1]);
  }

  AfTestPki *pki = af_test_pki_new ();
  if (pki == NULL)
    g_error ("make-test-certs.sh: openssl is missing");
  g_autofree char *cert = af_test_pki_read (pki, "server.pem");
  g_autofree char *key = af_test_pki_read (pki, "server.key");
  g_autofree char *ca = af_test_pki_read (pki, "ca.pem");
  af_test_pki_free (pki);

  TestServer *plain = test_server_start (NULL);
  AfGrpcServerTls tls = { cert, key, NULL };
  TestServer *secure = test_server_start_tls (NULL, &tls);
  AfGrpcChannelOptions tls_opts = { .tls = TRUE, .tls_root_certs_pem = ca };

  Result r[2][3] = { 0 };
  for (int round = 0; round < rounds; round++) {
    for (int t = 0; t < 2; t++) {
      const char *ep = t ? secure->tcp_endpoint : plain->tcp_endpoint;
      const AfGrpcChannelOptions *o = t ? &tls_opts : NULL;
      keep_best (&r[t][0], bench_sequential (ep, o, calls));
      keep_best (&r[t][1], bench_connect (ep, o, connects));
      keep_best (&r[t][2], stream_rate (ep, o, mib));
    }
  }
  printf ("best of %d rounds; %d sequential calls, %d connections, %d MiB streamed; TCP loopback\n",
          rounds, calls, connects, mib);
  printf ("| %-32s | %9s | %9s | %-6s | %-21s |\n", "", "plain", "TLS", "ratio",
          "CPU us plain / TLS");
  const char *what[] = { "unary sequential calls/s", "connect + 1 call /s",
                         "stream MB/s (64 KiB)" };
  for (int k = 0; k < 3; k++)
    printf ("| %-32s | %9.0f | %9.0f | %6.2f | %9.1f / %9.1f |\n", what[k], r[0][k].rate,
            r[1][k].rate, r[1][k].rate / r[0][k].rate, r[0][k].cpu_us, r[1][k].cpu_us);
  printf ("unary p50 latency: plain %.0f us, TLS %.0f us\n", r[0][0].p50, r[1][0].p50);
  printf ("(CPU per call, per connection, per MiB: client + server, one process)\n");
  test_server_stop (plain, 1000);
  test_server_stop (secure, 1000);
  return 0;
}
