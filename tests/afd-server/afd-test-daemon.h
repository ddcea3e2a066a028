/* afd-test-daemon.h — the afd-server tests' view of the shared daemon
 * starter (tests/common/af-test-daemon.h): the server built next to the
 * tests, listening on the unix socket and on an ephemeral TCP port, and
 * gRPC channels to it. */
#pragma once

#include "af-grpc-client.h"
#include "af-test-daemon.h"

#include <gio/gio.h>

typedef AfTestDaemon AfdTestDaemon;

/* The built afd-server next to the tests. */
char *afd_test_daemon_binary (void);

/* Make the dirs (once) and start the server with @extra_args (NULL-ended,
 * may be NULL). Fails the test if it does not become ready. */
void afd_test_daemon_start (AfdTestDaemon *d, const char *const *extra_args);

/* Start and expect failure: returns the exit status and the stderr text. */
int afd_test_daemon_run_expect_fail (AfdTestDaemon *d, const char *const *extra_args,
                                     char **out_stderr);

void afd_test_daemon_stop (AfdTestDaemon *d);  /* SIGTERM, wait, expect exit 0 */
void afd_test_daemon_kill9 (AfdTestDaemon *d); /* SIGKILL, wait */
void afd_test_daemon_free (AfdTestDaemon *d);  /* stop if running, remove the dirs */
gint64 afd_test_daemon_peak_rss_kb (AfdTestDaemon *d);

AfGrpcChannel *afd_test_daemon_unix_channel (AfdTestDaemon *d);
AfGrpcChannel *afd_test_daemon_tcp_channel (AfdTestDaemon *d);
