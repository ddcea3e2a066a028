/* af-guard-client.h — the test's side of af-test-guard (af-test-guard.c):
 * start a guard for the test's own temp dir, start daemons through it (so
 * they and everything they start are its descendants), wait for them, and
 * close it — which kills what is left, unmounts what is mounted under the
 * dir and removes the dir. The same happens when the test dies in any way,
 * because only the test holds the other end of the guard's socket.
 *
 * Owns: one guard process and its socket. Must never: signal a process
 * itself (tests kill their daemons by the pid this returns), or hand the
 * socket to a child (it is close-on-exec). Needs GLib and GIO (errors) only. */
#pragma once

#include <gio/gio.h>

typedef struct _AfGuard AfGuard;

/* The af-test-guard binary: $AF_TEST_GUARD, else the one built here. */
const char *af_guard_binary (void);

/* Starts a guard for @dir (absolute, canonical, an existing directory of
 * ours) with @envp (NULL: ours), which the daemons it starts inherit. Fails
 * the test if it cannot. */
AfGuard *af_guard_new (const char *dir, const char *const *envp);

/* Starts @argv (argv[0] a path) as a child of the guard; @fds[i] becomes
 * its fd i (-1: /dev/null), @n_fds ≥ 3. Returns the pid, or 0 with @error. */
GPid af_guard_spawn (AfGuard *g, const char *const *argv, const int *fds, guint n_fds,
                     GError **error);

/* Blocks until the guard reports that @pid (one of af_guard_spawn's) has
 * exited; returns its wait status. */
int af_guard_wait (AfGuard *g, GPid pid);

/* Whether @pid has been reported gone (does not block). */
gboolean af_guard_has_exited (AfGuard *g, GPid pid);

/* Closes the socket and waits for the guard to finish its cleanup; returns
 * its exit status (0 nothing was left, 1 it cleaned something up and named
 * it on stderr, 2 something could not be cleaned). Frees @g. */
int af_guard_close (AfGuard *g);
