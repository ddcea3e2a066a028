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
#include "af-fd-watch.h"
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
  AfFdWatch *lifeline; /* watch on the caller's lifeline fd */
  gboolean exited;
  int relays_busy; /* relays still forwarding after the end (finish) */
} Exec;

static void
exec_free (Exec *ex)
{
  if (ex->timeout)
    g_source_remove (ex->timeout);
  af_fd_watch_remove (ex->lifeline);
  af_cgroup_cmd_free (ex->cg);
  g_free (ex);
}

/* The relays are done: nothing can block any more. Deliver the result. */
static void
complete (Exec *ex)
{
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
}

static gboolean
on_relay_finished (gpointer data)
{
  Exec *ex = data;
  if (--ex->relays_busy == 0)
    complete (ex);
  return G_SOURCE_REMOVE;
}

static gboolean
finish (gpointer data)
{
  Exec *ex = data;

  /* The command's processes are gone (the cgroup is empty), so all they
   * wrote is in the pipes. Drain and stop rather than wait for EOF: a
   * process elsewhere (a session's job the command handed its stdout to
   * over a socket) may still hold a write end, and must not block us.
   * Neither may a consumer that reads slowly: the result waits for the
   * relays in the main loop, other commands go on meanwhile. */
  ex->relays_busy = 1; /* held until both are asked */
  if (ex->out) {
    af_relay_drain_and_stop (ex->out);
    if (!af_relay_when_finished (ex->out, on_relay_finished, ex))
      ex->relays_busy++;
  }
  if (ex->err) {
    af_relay_drain_and_stop (ex->err);
    if (!af_relay_when_finished (ex->err, on_relay_finished, ex))
      ex->relays_busy++;
  }
  on_relay_finished (ex);
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
  g_clear_pointer (&ex->lifeline, af_fd_watch_remove);
  if (af_cgroup_get_mode (af_sandbox_get_cgroup (ex->sb)) == AF_CGROUP_MODE_NONE) {
    /* The tree is the command's session (cgroup-none.c): kill what is
     * left of it, take what the pipes hold, stop waiting for EOF. */
    af_cgroup_cmd_kill (ex->cg);
    finish (ex);
    return;
  }
  /* Usually the main process was the last one: finished at once on one
   * read of cgroup.events, no kill needed (@ex is gone then). Otherwise
   * the watch is armed first, then the rest of the tree killed. */
  if (!af_cgroup_cmd_when_empty (ex->cg, finish, ex))
    af_cgroup_cmd_kill (ex->cg);
}

static void
on_spawned (gpointer data, int pid, const GError *error)
{
  Exec *ex = data;

  if (error == NULL) {
    af_cgroup_cmd_set_leader (ex->cg, pid);
    return;
  }
  /* Out of the watch before the caller closes the fd with the answer. */
  g_clear_pointer (&ex->lifeline, af_fd_watch_remove);
  if (ex->out)
    af_relay_drain_and_stop (ex->out);
  if (ex->err)
    af_relay_drain_and_stop (ex->err);
  if (ex->out)
    af_relay_join (ex->out, NULL, NULL);
  if (ex->err)
    af_relay_join (ex->err, NULL, NULL);
  ex->out = ex->err = NULL;
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
on_lifeline (gpointer data)
{
  Exec *ex = data;

  ex->lifeline = NULL; /* a finished watch is gone */
  af_cgroup_cmd_kill (ex->cg);
  return G_SOURCE_REMOVE;
}

static gboolean
strv_has_prefix (char **strv, const char *prefix)
{
  for (char **s = strv; *s; s++)
    if (g_str_has_prefix (*s, prefix))
      return TRUE;
  return FALSE;
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
  if (req->shell_semantics && !strv_has_prefix (envp, "PWD=")) {
    /* sh exports PWD to what it runs; a command run without it gets the
     * same environment. */
    guint n = g_strv_length (envp);
    envp = g_renew (char *, envp, n + 2);
    envp[n] = g_strconcat ("PWD=", cwd, NULL);
    envp[n + 1] = NULL;
  }

  ex = g_new0 (Exec, 1);
  ex->sb = sb;
  ex->id = af_sandbox_next_id (sb);
  ex->done = done;
  ex->data = data;
  ex->cg = af_cgroup_cmd_new (af_sandbox_get_cgroup (sb), error);
  if (ex->cg == NULL) {
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
  sr.shell_errors = req->shell_semantics;
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
    ex->lifeline = af_fd_watch_once (req->lifeline_fd, on_lifeline, ex);
  return TRUE;
}

static gboolean
is_plain_word_char (char c)
{
  return g_ascii_isalnum (c) || strchr ("_-./,:@%+=", c) != NULL;
}

/* Words sh treats itself as the first word of a command: reserved words
 * and builtins of dash (Debian's /bin/sh), of bash (/bin/sh elsewhere) and
 * of POSIX. A builtin can differ from the program of the same name (echo,
 * printf, test, kill, pwd), so any of them goes to the shell. */
static const char *const shell_words[] = {
  "!",      "{",       "}",        "[",        "[[",        "]]",       ".",       ":",
  "alias",  "bg",      "bind",     "break",    "builtin",   "caller",   "case",    "cd",
  "chdir",  "command", "compgen",  "complete", "compopt",   "continue", "coproc",  "declare",
  "dirs",   "disown",  "do",       "done",     "echo",      "elif",     "else",    "enable",
  "esac",   "eval",    "exec",     "exit",     "export",    "false",    "fc",      "fg",
  "fi",     "for",     "function", "getopts",  "hash",      "help",     "history", "if",
  "in",     "jobs",    "kill",     "let",      "local",     "logout",   "mapfile", "popd",
  "printf", "pushd",   "pwd",      "read",     "readarray", "readonly", "return",  "select",
  "set",    "shift",   "shopt",    "source",   "suspend",   "test",     "then",    "time",
  "times",  "trap",    "true",     "type",     "typeset",   "ulimit",   "umask",   "unalias",
  "unset",  "until",   "wait",     "while",    NULL,
};

char **
af_exec_shell_argv (const char *command)
{
  gboolean plain = command[0] != '\0';

  /* Only words of plain characters separated by spaces: no quoting,
   * expansion, redirection, globbing, comment or operator of any kind. */
  for (const char *p = command; *p && plain; p++)
    plain = is_plain_word_char (*p) || *p == ' ';
  if (plain) {
    g_auto (GStrv) words = g_strsplit (command, " ", -1);
    g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
    for (char **w = words; *w; w++)
      if (**w)
        g_ptr_array_add (argv, g_strdup (*w));
    /* Not an assignment ("A=b cmd"), nor a word sh handles itself. */
    if (argv->len > 0 && strchr (argv->pdata[0], '=') == NULL &&
        !g_strv_contains (shell_words, argv->pdata[0])) {
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
