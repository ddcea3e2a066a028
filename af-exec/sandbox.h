/* sandbox.h — one running sandbox: its cgroups, its runtime, its commands.
 *
 * Owns: building the isolation once (cgroups first, then the runtime), the
 * environment every command starts from (PATH, HOME, LANG, TERM — nothing
 * of af-exec's own), running one command to completion (exec.c) and
 * tearing everything down. Must never: read af-exec's environment into a
 * command's, or return before a finished command's cgroup is empty. */
#pragma once

#include "runtime.h"

G_BEGIN_DECLS

#define AF_EXEC_MAX_ENV 256
#define AF_EXEC_MAX_ENV_BYTES (64 * 1024)
#define AF_EXEC_TIMEOUT_EXIT 124 /* one-shot exit status for a timeout */

typedef struct _AfSandbox AfSandbox;

/* Takes @cfg's contents (the struct is copied and @cfg cleared). The
 * sandbox runs and answers on return. */
AfSandbox *af_sandbox_new (AfSandboxConfig *cfg, GError **error);
/* af_sandbox_new in two steps, for a caller with other work to do while
 * the isolation is built: launch (cgroups made, bwrap started), then
 * finish (wait until the init answers; on failure free the sandbox).
 * Nothing may be run in it in between. */
AfSandbox *af_sandbox_launch (AfSandboxConfig *cfg, GError **error);
gboolean af_sandbox_finish_launch (AfSandbox *sb, GError **error);
void af_sandbox_free (AfSandbox *sb);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfSandbox, af_sandbox_free)

const AfSandboxConfig *af_sandbox_get_config (AfSandbox *sb);
AfCgroup *af_sandbox_get_cgroup (AfSandbox *sb);
AfRuntime *af_sandbox_get_runtime (AfSandbox *sb);
gboolean af_sandbox_is_alive (AfSandbox *sb);
/* Why the sandbox died, or NULL while it lives. */
const char *af_sandbox_death_reason (AfSandbox *sb);
guint64 af_sandbox_next_id (AfSandbox *sb);
/* @func runs once when the sandbox dies (its init gone). */
void af_sandbox_set_died_func (AfSandbox *sb, GSourceFunc func, gpointer data);

/* Kill every process of the sandbox; running commands end (SIGKILL) and
 * sessions close through their normal callbacks. */
void af_sandbox_kill (AfSandbox *sb);

/* The environment inside: the defaults, then @env_add ("K=V") on top.
 * Validates names and bounds (INVALID_ARGUMENT). */
char **af_sandbox_build_env (const char *const *env_add, GError **error);

typedef struct {
  const char *const *argv;  /* run as given; use af_exec_shell_argv for a string */
  const char *const *env;   /* "K=V" additions */
  const char *cwd;          /* NULL = /workspace */
  gint64 timeout_ms;        /* 0 = none */
  int stdin_fd;             /* borrowed */
  int stdout_fd, stderr_fd; /* borrowed destinations */
  gint64 output_cap;        /* per stream; 0 = unlimited */
  /* A command string run without a shell (af_exec_shell_argv): report a
   * missing or unrunnable program as a shell would, exit 127 or 126 with a
   * message on stderr, not as an error. */
  gboolean shell_semantics;
  /* > 0: the read end of a pipe whose writer is the caller (borrowed until
   * done); when it reports EOF or HUP the caller is gone and the command's
   * whole tree is killed. 0 = none (fd 0 is never a received fd). */
  int lifeline_fd;
} AfExecRequest;

typedef struct {
  int exit_code;   /* 0-255, or 128+signal */
  int term_signal; /* 0 unless killed by a signal */
  gboolean timed_out;
  gboolean oom_killed;
  gboolean stdout_truncated, stderr_truncated;
  gint64 stdout_bytes, stderr_bytes;
  gint64 duration_us;
} AfExecResult;

/* @error is set when the command could not start (bad workdir, no such
 * program, sandbox gone); otherwise @result describes its end. */
typedef void (*AfExecDone) (gpointer data, const AfExecResult *result, const GError *error);

/* Start a command; @done runs once from the thread-default main context,
 * after its whole process tree is gone and its output is forwarded.
 * Returns FALSE (and does not call @done) if it cannot even be sent. */
gboolean af_sandbox_exec (AfSandbox *sb, const AfExecRequest *req, AfExecDone done, gpointer data,
                          GError **error);

/* argv for `/bin/sh -c COMMAND`, or the words themselves when COMMAND is
 * plain words without shell syntax (saves a shell's fork+exec). */
char **af_exec_shell_argv (const char *command);

G_END_DECLS
