/* test-service.h — the test-only aftest.v1.TestService implemented on the
 * transport, run on its own thread and GMainContext, so blocking clients in
 * the test's thread (or in child processes) can call it.
 *
 * Shared by the transport tests and bench/transport. Must never be linked
 * into the product.
 */
#pragma once

#include "af-grpc-server.h"
#include "transport_test.pb-c.h"

#define TEST_ECHO "/aftest.v1.TestService/Echo"
#define TEST_STREAM "/aftest.v1.TestService/Stream"
#define TEST_COLLECT "/aftest.v1.TestService/Collect"
#define TEST_HANG "/aftest.v1.TestService/Hang"

typedef struct {
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
  AfGrpcServer *server;
  char *dir;
  char *socket_path;
  char *unix_endpoint; /* "unix:DIR/test.sock" */
  char *tcp_endpoint;  /* "127.0.0.1:PORT" */

  /* Counters the handlers bump on the server thread; read under lock. */
  GMutex lock;
  GCond cond;
  guint hang_cancelled;   /* Hang calls that saw their cancellation */
  guint stream_cancelled; /* Stream calls that saw their cancellation */
  guint stream_paused;    /* times a Stream producer found the queue full */
  guint send_refused;     /* sends refused because the queue was full */
  guint active;           /* calls whose handler has not finished */
  guint peak_active;      /* the most calls in a handler at once */
} TestServer;

/* Starts the service on a unix socket in a new temp dir (mode 0666) and on
 * 127.0.0.1 with a free port; @options may be NULL. Aborts the test on
 * failure. */
TestServer *test_server_start (const AfGrpcServerOptions *options);

/* The same with TLS on the TCP listener (the unix socket stays plain).
 * Stream calls that end OK carry the trailer "x-test-sent: N". */
TestServer *test_server_start_tls (const AfGrpcServerOptions *options, const AfGrpcServerTls *tls);

/* Graceful shutdown with @timeout_ms; joins the thread and frees the
 * server, leaving the counters readable. */
void test_server_shutdown (TestServer *ts, guint timeout_ms);

/* test_server_shutdown (if not done), then frees @ts and removes the dir. */
void test_server_stop (TestServer *ts, guint timeout_ms);

/* Waits (up to 10 s) until *@counter (a field of @ts) reaches @value. */
gboolean test_server_wait_counter (TestServer *ts, guint *counter, guint value);
