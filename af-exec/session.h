/* session.h — a persistent shell in a sandbox.
 *
 * Owns: one shell per session (cwd, exported variables, functions and
 * background jobs persist between commands), the side channel that marks
 * where each command ends and with which status (fd 3 of the shell, never
 * its output), and timeouts that kill the running command and keep the
 * session usable. Must never: put a marker into the command's output, or
 * accept a status line that does not carry the command's nonce. */
#pragma once

#include "sandbox.h"

G_BEGIN_DECLS

#define AF_SESSION_GRACE_MS 1000 /* SIGTERM → SIGKILL → new shell, each after this */

typedef struct _AfSession AfSession;

typedef void (*AfSessionReady) (gpointer data, AfSession *session, const GError *error);

/* Start the shell (@shell: NULL or "sh" → /bin/sh; "bash" → bash). @ready
 * runs once the shell runs (or could not start); on error the session is
 * already freed. */
AfSession *af_session_new (AfSandbox *sb, const char *id, const char *shell, const char *const *env,
                           AfSessionReady ready, gpointer data, GError **error);

const char *af_session_get_id (AfSession *s);
gboolean af_session_is_closed (AfSession *s);
gboolean af_session_is_busy (AfSession *s);

typedef struct {
  const char *command;
  gint64 timeout_ms;        /* 0 = none */
  int stdout_fd, stderr_fd; /* borrowed until done */
  gint64 output_cap;
} AfSessionExecRequest;

/* One command at a time (FAILED_PRECONDITION when busy or closed). The
 * result's extra flag: @restarted when the shell had to be replaced. */
typedef void (*AfSessionDone) (gpointer data, const AfExecResult *result, gboolean restarted,
                               const GError *error);

gboolean af_session_exec (AfSession *s, const AfSessionExecRequest *req, AfSessionDone done,
                          gpointer data, GError **error);

/* Kill the session's whole tree. The object frees itself once its shell's
 * end is reported; a running command's @done gets a closed error. */
void af_session_destroy (AfSession *s);

G_END_DECLS
