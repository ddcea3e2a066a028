/* afd-test-daemon.h — a real afd-server for integration tests: started on a
 * temp state dir with --ready-fd (the test waits on that pipe, never polls),
 * stopped with SIGTERM or killed with SIGKILL, by pid only. */
#pragma once

#include "af-grpc-client.h"

#include <gio/gio.h>

typedef struct {
  char *top;    /* temp dir (0755, so other uids reach the socket) */
  char *state;  /* top/state */
  char *socket; /* top/afd.sock */
  int tcp_port;
  GSubprocess *proc;
  char *log;    /* top/server.log: stderr of the last run */
  char *config; /* top/afd.conf, empty */
} AfdTestDaemon;

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
