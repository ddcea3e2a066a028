/* sdk-test-server.h — a real afd-server for the sdk-c integration tests:
 * started on a temp state dir and socket with --ready-fd (the test blocks
 * on that pipe, never polls), stopped with SIGTERM by pid. */
#pragma once

#include <gio/gio.h>

typedef struct {
  char *top;      /* temp dir */
  char *socket;   /* top/afd.sock */
  char *endpoint; /* "unix:" + socket */
  GSubprocess *proc;
} SdkTestServer;

/* Starts afd-server with @extra_args (NULL-ended, may be NULL); returns
 * NULL and marks the test skipped when the binary was not built. */
SdkTestServer *sdk_test_server_start (const char *const *extra_args);

/* SIGTERM, wait for a clean exit, remove the temp dir. */
void sdk_test_server_stop (SdkTestServer *server);
