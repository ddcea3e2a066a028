/* exec-testlib.h — shared pieces of the af-exec integration tests: a
 * workspace with the try-syscall helper in it, running af-exec, and
 * looking at host processes through /proc. */
#pragma once

#include <gio/gio.h>

typedef struct {
  char *workspace; /* 0777 temp dir, removed at teardown */
} ExecFixture;

/* The runtime under test: AF_EXEC_TEST_RUNTIME=docker, else bwrap. */
gboolean exec_test_is_docker (void);
/* "--runtime docker --image …" or nothing: what every af-exec run gets. */
const char *const *exec_test_runtime_args (void);
/* The docker suite's image, imported from busybox-static when missing. */
#define EXEC_TEST_IMAGE "agentfense-busybox:test"

/* Skip (and return FALSE) when the runtime under test cannot build a
 * sandbox here: bwrap without namespaces, or no Docker engine (the docker
 * suite starts one with scripts/start-dockerd.sh and imports its image). */
gboolean exec_test_require_sandbox (void);
gboolean exec_test_require_root (void);

void exec_fixture_setup (ExecFixture *fx, gconstpointer data);
void exec_fixture_teardown (ExecFixture *fx, gconstpointer data);

const char *exec_test_af_exec (void);

/* Run af-exec one-shot with @args (NULL-terminated, the part after
 * `--workspace WS`), feeding @input; returns the exit status (or -signal). */
int exec_test_run (ExecFixture *fx, const char *input, char **out, char **err,
                   const char *first_arg, ...) G_GNUC_NULL_TERMINATED;

/* @prefix followed by this test run's tag: 13 digits, the test's pid
 * (zero-padded to 7) and a random number (6), so the same length in every
 * run. Processes that a test later looks for on the host by command line
 * carry it (`sleep 301.<tag>`): a concurrent run of the same test — another
 * build, another checkout — has another tag, and neither sees the other's
 * processes. */
char *exec_test_tagged (const char *prefix);

/* Host pids whose command line (args joined by spaces) starts with @needle. */
GArray *exec_test_find_procs (const char *needle);

/* How many such processes there are. */
guint exec_test_count_procs (const char *needle);
/* Host pids with @needle anywhere in their command line. */
GArray *exec_test_find_procs_mentioning (const char *needle);

/* "Uid:" real uid of a host pid, or -1. */
gint64 exec_test_proc_uid (int pid);

/* Wait (at most @timeout_ms) until a process with @needle shows up. */
int exec_test_wait_proc (const char *needle, int timeout_ms);

/* Whether @err, the stderr of a failed `docker container inspect`, says
 * the container does not exist: "Error: No such container: …" from
 * dockerd, "… no such container" from Podman. */
gboolean exec_test_no_such_container (const char *err);
