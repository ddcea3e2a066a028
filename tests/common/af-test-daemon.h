/* af-test-daemon.h — a real afd-server for the integration tests of every
 * component: started on a temp state dir with --ready-fd (the test blocks
 * on that pipe, never polls), stopped with SIGTERM or killed with SIGKILL,
 * by pid only. The server runs under an af-test-guard (af-guard-client.h)
 * for the temp dir: however the test ends — teardown, a failed assertion,
 * meson's timeout, SIGKILL — the guard kills the server and every helper it
 * started, unmounts what is mounted under the dir and removes the dir.
 *
 * Owns: the temp dirs, the guard and the server process it started. Must
 * never: signal a process it did not start, or leave its temp dir behind.
 * Needs GLib/GIO only, so any test can link it. */
#pragma once

#include <gio/gio.h>

#include "af-guard-client.h"

typedef struct {
  char *top;      /* temp dir (0755, so other uids reach the socket) */
  char *state;    /* top/state */
  char *socket;   /* top/afd.sock */
  char *endpoint; /* "unix:" + socket */
  int tcp_port;   /* from the READY line; 0 when not listening on TCP */
  AfGuard *guard; /* from prepare to clear */
  GPid pid;       /* the running server (a child of the guard), 0 if none */
  char *log;      /* top/server.log: stderr of the last run */
  char *config;   /* top/afd.conf */
} AfTestDaemon;

/* Makes the dirs, starts the guard and writes the config file
 * (@config_text, NULL for an empty one: nothing of the host's /etc leaks
 * into a test). Done once; later calls keep what exists. */
void af_test_daemon_prepare (AfTestDaemon *d, const char *config_text);

/* Starts @binary with --state-dir, --socket, --config, --ready-fd and
 * @args (NULL-ended, may be NULL; say --listen there). Fails the test with
 * the server's log if it does not become ready. */
void af_test_daemon_start (AfTestDaemon *d, const char *binary, const char *const *args);

/* Starts it expecting failure: returns the exit status and the stderr. */
int af_test_daemon_run_expect_fail (AfTestDaemon *d, const char *binary, const char *const *args,
                                    char **out_stderr);

void af_test_daemon_stop (AfTestDaemon *d);  /* SIGTERM, wait, expect exit 0 */
void af_test_daemon_kill9 (AfTestDaemon *d); /* SIGKILL, wait */
gint64 af_test_daemon_peak_rss_kb (AfTestDaemon *d);

/* Stops it if running; after a failed test prints the server's log; closes
 * the guard, which kills whatever of the server's is left (naming it),
 * unmounts and removes the dirs; fails the test if anything could not be
 * cleaned up; clears @d. */
void af_test_daemon_clear (AfTestDaemon *d);
