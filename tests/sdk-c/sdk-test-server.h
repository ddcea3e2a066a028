/* sdk-test-server.h — a real afd-server for the sdk-c integration tests,
 * over the shared starter of tests/common (temp state dir and socket,
 * --ready-fd, stopped by pid). */
#pragma once

#include "af-test-daemon.h"

#include <gio/gio.h>

typedef AfTestDaemon SdkTestServer;

/* Starts afd-server on its unix socket only, with @extra_args (NULL-ended,
 * may be NULL); returns NULL and marks the test skipped when the binary
 * was not built. */
SdkTestServer *sdk_test_server_start (const char *const *extra_args);

/* Why sandboxes cannot run here (not root, no /dev/fuse, no bwrap), or
 * NULL when they can. */
const char *sdk_test_server_sandbox_skip_reason (void);

/* Starts afd-server able to run sandboxes (the built af-fuse and af-exec
 * as helpers) with @config_text as its config file (NULL: empty). Returns
 * NULL and marks the test skipped when sandboxes cannot run here. */
SdkTestServer *sdk_test_server_start_sandboxes (const char *config_text);

/* SIGTERM, wait for a clean exit, remove the temp dir. */
void sdk_test_server_stop (SdkTestServer *server);
