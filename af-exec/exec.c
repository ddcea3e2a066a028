/* exec.c — one command from spawn to a result: its cgroup, its output
 * relays, its timeout, and the kill of its whole tree when it ends.
 *
 * Order at the end matters: the main process's exit is reported by the
 * init; then the command's cgroup is killed (background and setsid'd
 * processes included); once the cgroup is empty no writer of the output
 * pipes is left, so the relays reach EOF; only then is the result given.
 * Must never: report a result while a process of the command survives. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "af-error.h"
#include "relay.h"

typedef struct {
  AfSandbox *sb;
  guint64 id;
  AfCgroupCmd *cg;
  AfRelay *out, *err;
  AfExecDone done;
  gpointer data;
  AfExecResult result;
  gint64 oom_before;
  gint64 start_us;
  guint timeout;
  guint lifeline; /* watch on the caller's lifeline fd */
  gboolean exited;
  gboolean shell_semantics;
  int stderr_fd; /* borrowed, for a shell-style "not found" */
  char *arg0;
} Exec;

static void
exec_free (Exec *ex)
{
  if (ex->timeout)
    g_source_remove (ex->timeout);
  if (ex->lifeline)
    g_source_remove (ex->lifeline);
  af_cgroup_cmd_free (ex->cg);
  g_free (ex->arg0);
  g_free (ex);
}

static gboolean
finish (gpointer data)
{
  Exec *ex = data;

  /* The command's processes are gone (the cgroup is empty), so all they
   * wrote is in the pipes. Drain and stop rather than wait for EOF: a
   * process elsewhere (a session's job the command handed its stdout to
   * over a socket) may still hold a write end, and must not block us. */
  if (ex->out)
    af_relay_drain_and_stop (ex->out);
  if (ex->err)
    af_relay_drain_and_stop (ex->err);
  if (ex->out)
    af_relay_join (ex->out, &ex->result.stdout_bytes, &ex->result.stdout_truncated);
  if (ex->err)
    af_relay_join (ex->err, &ex->result.stderr_bytes, &ex->result.stderr_truncated);
  ex->out = ex->err = NULL;
  if (ex->oom_before >= 0 && ex->result.term_signal == SIGKILL && !ex->result.timed_out) {
    gint64 after = af_cgroup_oom_kills (af_sandbox_get_cgroup (ex->sb));
    ex->result.oom_killed = after > ex->oom_before;
  }
  ex->done (ex->data, &ex->result, NULL);
  exec_free (ex);
  return G_SOURCE_REMOVE;
}

static void
on_exited (gpointer data, int status)
{
  Exec *ex = data;

  ex->exited = TRUE;
  ex->result.duration_us = g_get_monotonic_time () - ex->start_us;
  if (WIFEXITED (status)) {
    ex->result.exit_code = WEXITSTATUS (status);
  } else if (WIFSIGNALED (status)) {
    ex->result.term_signal = WTERMSIG (status);
    ex->result.exit_code = 128 + WTERMSIG (status);
  }
  /* A shell reports its child's OOM kill as exit 137. */
  if (ex->result.exit_code == 128 + SIGKILL)
    ex->result.term_signal = SIGKILL;
  if (ex->timeout) {
    g_source_remove (ex->timeout);
    ex->timeout = 0;
  }
  g_clear_handle_id (&ex->lifeline, g_source_remove);
  if (af_cgroup_get_mode (af_sandbox_get_cgroup (ex->sb)) == AF_CGROUP_MODE_NONE) {
    /* The tree is the command's session (cgroup-none.c): kill what is
     * left of it, take what the pipes hold, stop waiting for EOF. */
    af_cgroup_cmd_kill (ex->cg);
    if (ex->out)
      af_relay_drain_and_stop (ex->out);
    if (ex->err)
      af_relay_drain_and_stop (ex->err);
    finish (ex);
    return;
  }
  /* Usually the main process was the last one: one read of
   * cgroup.events then saves the kill. */
  if (!af_cgroup_cmd_is_empty (ex->cg))
    af_cgroup_cmd_kill (ex->cg);
  af_cgroup_cmd_when_empty (ex->cg, finish, ex);
}

static void
on_spawned (gpointer data, int pid, const GError *error)
{
  Exec *ex = data;

  if (error == NULL) {
    af_cgroup_cmd_set_leader (ex->cg, pid);
    return;
  }
  if (ex->out)
    af_relay_drain_and_stop (ex->out);
  if (ex->err)
    af_relay_drain_and_stop (ex->err);
  if (ex->out)
    af_relay_join (ex->out, NULL, NULL);
  if (ex->err)
    af_relay_join (ex->err, NULL, NULL);
  ex->out = ex->err = NULL;
  if (ex->shell_semantics && (g_error_matches (error, AF_ERROR, AF_ERROR_NOT_FOUND) ||
                              g_error_matches (error, AF_ERROR, AF_ERROR_PERMISSION_DENIED))) {
    gboolean missing = g_error_matches (error, AF_ERROR, AF_ERROR_NOT_FOUND);
    g_autofree char *msg =
        g_strdup_printf ("sh: 1: %s: %s\n", ex->arg0, missing ? "not found" : "Permission denied");
    /* A consumer that went away misses the message; the code says it. */
    ex->result.stderr_bytes =
        write (ex->stderr_fd, msg, strlen (msg)) < 0 ? 0 : (gint64)strlen (msg);
    ex->result.exit_code = missing ? 127 : 126;
    ex->result.duration_us = g_get_monotonic_time () - ex->start_us;
    ex->done (ex->data, &ex->result, NULL);
    exec_free (ex);
    return;
  }
  ex->done (ex->data, NULL, error);
  exec_free (ex);
}

static gboolean
on_timeout (gpointer data)
{
  Exec *ex = data;

  ex->timeout = 0;
  ex->result.timed_out = TRUE;
  /* SIGKILL the whole tree; the init then reports the main process. */
  af_cgroup_cmd_kill (ex->cg);
  return G_SOURCE_REMOVE;
}

/* The caller closed its end of the lifeline (cancelled, or died): nobody
 * waits for this command any more. */
static gboolean
on_lifeline (gint fd, GIOCondition cond, gpointer data)
{
  Exec *ex = data;

  ex->lifeline = 0;
  af_cgroup_cmd_kill (ex->cg);
  return G_SOURCE_REMOVE;
}

gboolean
af_sandbox_exec (AfSandbox *sb, const AfExecRequest *req, AfExecDone done, gpointer data,
                 GError **error)
{
  g_auto (GStrv) envp = NULL;
  Exec *ex;
  AfSpawnRequest sr = { 0 };
  int out[2] = { -1, -1 }, err[2] = { -1, -1 };
  const char *cwd = req->cwd && req->cwd[0] ? req->cwd : "/workspace";
  gboolean ok;

  if (!af_sandbox_is_alive (sb)) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "the sandbox is not running: %s",
                 af_sandbox_death_reason (sb));
    return FALSE;
  }
  if (req->argv == NULL || req->argv[0] == NULL || req->argv[0][0] == '\0') {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "command is required");
    return FALSE;
  }
  if (cwd[0] != '/') {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "workdir must be an absolute path inside the sandbox, not \"%s\"", cwd);
    return FALSE;
  }
  envp = af_sandbox_build_env (req->env, error);
  if (envp == NULL)
    return FALSE;

  ex = g_new0 (Exec, 1);
  ex->sb = sb;
  ex->id = af_sandbox_next_id (sb);
  ex->done = done;
  ex->data = data;
  ex->shell_semantics = req->shell_semantics;
  ex->stderr_fd = req->stderr_fd;
  ex->arg0 = g_strdup (req->argv[0]);
  ex->cg = af_cgroup_cmd_new (af_sandbox_get_cgroup (sb), ex->id, error);
  if (ex->cg == NULL) {
    g_free (ex->arg0);
    g_free (ex);
    return FALSE;
  }
  if (!g_unix_open_pipe (out, FD_CLOEXEC, error) || !g_unix_open_pipe (err, FD_CLOEXEC, error)) {
    for (int i = 0; i < 2; i++)
      if (out[i] >= 0)
        close (out[i]);
    exec_free (ex);
    return FALSE;
  }
  ex->out = af_relay_start (out[0], req->stdout_fd, req->output_cap);
  ex->err = af_relay_start (err[0], req->stderr_fd, req->output_cap);
  ex->oom_before = af_cgroup_oom_kills (af_sandbox_get_cgroup (sb));

  sr.argv = req->argv;
  sr.envp = (const char *const *)envp;
  sr.cwd = cwd;
  sr.stdin_fd = req->stdin_fd;
  sr.stdout_fd = out[1];
  sr.stderr_fd = err[1];
  sr.status_fd = -1;
  sr.cgroup = ex->cg;
  sr.spawned = on_spawned;
  sr.exited = on_exited;
  sr.data = ex;
  ex->start_us = g_get_monotonic_time ();
  ok = af_runtime_spawn (af_sandbox_get_runtime (sb), ex->id, &sr, error);
  /* The sandbox holds its own copies now (or never will). */
  close (out[1]);
  close (err[1]);
  if (!ok) {
    af_relay_join (ex->out, NULL, NULL);
    af_relay_join (ex->err, NULL, NULL);
    ex->out = ex->err = NULL;
    exec_free (ex);
    return FALSE;
  }
  if (req->timeout_ms > 0)
    ex->timeout = g_timeout_add ((guint)MIN (req->timeout_ms, G_MAXUINT), on_timeout, ex);
  if (req->lifeline_fd > 0)
    ex->lifeline = g_unix_fd_add (req->lifeline_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_lifeline, ex);
  return TRUE;
}

static gboolean
is_plain_word_char (char c)
{
  return g_ascii_isalnum (c) || strchr ("_-./,:@%+=", c) != NULL;
}

char **
af_exec_shell_argv (const char *command)
{
  gboolean plain = command[0] != '\0';
  const char *first_end;

  for (const char *p = command; *p && plain; p++)
    plain = is_plain_word_char (*p) || *p == ' ';
  /* An assignment first ("A=b cmd") or a builtin needs the shell. */
  first_end = strchr (command, ' ');
  if (plain) {
    g_autofree char *first =
        g_strndup (command, first_end ? (gsize)(first_end - command) : strlen (command));
    static const char *const builtins[] = { "cd",    "export", "exit", "set",   "unset", "alias",
                                            "read",  "eval",   "exec", "wait",  "trap",  "shift",
                                            "umask", "ulimit", ".",    "source" };
    if (strchr (first, '='))
      plain = FALSE;
    for (gsize i = 0; plain && i < G_N_ELEMENTS (builtins); i++)
      if (g_str_equal (first, builtins[i]))
        plain = FALSE;
  }
  if (plain) {
    g_auto (GStrv) words = g_strsplit (command, " ", -1);
    g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
    for (char **w = words; *w; w++)
      if (**w)
        g_ptr_array_add (argv, g_strdup (*w));
    if (argv->len > 0) {
      g_ptr_array_add (argv, NULL);
      return (char **)g_ptr_array_free (g_steal_pointer (&argv), FALSE);
    }
  }
  {
    char **argv = g_new0 (char *, 4);
    argv[0] = g_strdup ("/bin/sh");
    argv[1] = g_strdup ("-c");
    argv[2] = g_strdup (command);
    return argv;
  }
}
