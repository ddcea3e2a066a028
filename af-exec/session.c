/* session.c — see session.h.
 *
 * The shell reads commands from a pipe only af-exec writes. Each command is
 * sent as
 *
 *   command eval '<command>' </dev/null 3>&-; printf '%s %s %d\n' SEQ NONCE "$?" >&3
 *
 * `command eval` keeps a syntax error from ending the shell, </dev/null keeps
 * the command off the control pipe, 3>&- hides the status pipe from it. The
 * status line carries a random nonce the command never sees in its own
 * input; a line without it is ignored, so printing or writing fake status
 * lines changes nothing. Output written before the status line is already in
 * the pipes when it arrives, so the relays drain and stop there — and the
 * result waits for them as an event, never in the main loop: a consumer that
 * reads slowly holds only its own command's result, not the sandbox. */
#define _GNU_SOURCE
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "af-error.h"
#include "relay.h"

#define STATUS_LINE_MAX 128

typedef struct {
  gboolean active;
  guint64 seq, nonce;
  AfRelay *out, *err;
  AfSessionDone done;
  gpointer data;
  gint64 start_us;
  GArray *before; /* host pids in the session when the command began */
  guint timer;
  int stage; /* 0 running, 1 SIGTERM sent, 2 SIGKILL sent, 3 shell killed */
  gboolean timed_out;
  /* Ended, the relays still forwarding what the pipes held: */
  gboolean finishing;
  int relays_busy;
  int wait_status;
  gboolean restarted;
  GError *error;
  gint64 duration_us;
  gboolean stale_pipes; /* the relays' pipes are of a shell that is gone */
} Command;

struct _AfSession {
  AfSandbox *sb;
  char *id;
  char **argv, **envp;
  AfCgroupCmd *cg;
  int ctl_w, out_r, err_r, status_r;
  guint status_watch;
  GString *status_buf;
  int shell_host_pid;
  gboolean running, closed, destroyed, restarting;
  gboolean doomed; /* free once no command is finishing */
  AfSessionReady ready;
  gpointer ready_data;
  Command cur;
  guint64 seq;
};

static gboolean start_shell (AfSession *s, GError **error);

const char *
af_session_get_id (AfSession *s)
{
  return s->id;
}

gboolean
af_session_is_closed (AfSession *s)
{
  return s->closed;
}

gboolean
af_session_is_busy (AfSession *s)
{
  return s->cur.active;
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

static void
close_shell_fds (AfSession *s)
{
  if (s->status_watch) {
    g_source_remove (s->status_watch);
    s->status_watch = 0;
  }
  close_fd (&s->ctl_w);
  close_fd (&s->out_r);
  close_fd (&s->err_r);
  close_fd (&s->status_r);
}

static void
session_free (AfSession *s)
{
  close_shell_fds (s);
  af_cgroup_cmd_free (s->cg);
  g_strfreev (s->argv);
  g_strfreev (s->envp);
  g_string_free (s->status_buf, TRUE);
  g_free (s->id);
  g_free (s);
}

/* Stop the relays where the output ends now; give the pipes back. */
static void
stop_relays (AfSession *s, AfExecResult *r)
{
  if (s->cur.out) {
    af_relay_drain_and_stop (s->cur.out);
    s->out_r = af_relay_join_keep_source (s->cur.out, r ? &r->stdout_bytes : NULL,
                                          r ? &r->stdout_truncated : NULL);
  }
  if (s->cur.err) {
    af_relay_drain_and_stop (s->cur.err);
    s->err_r = af_relay_join_keep_source (s->cur.err, r ? &r->stderr_bytes : NULL,
                                          r ? &r->stderr_truncated : NULL);
  }
  s->cur.out = s->cur.err = NULL;
}

/* A session destroyed (or never started) goes once nothing of it is in
 * flight: its shell reported, no command waiting for its relays. */
static void
maybe_free (AfSession *s)
{
  if (s->doomed && !s->running && s->ready == NULL && !s->cur.active)
    session_free (s);
}

/* The relays are done: join them (no wait now), give the pipes back to
 * the shell, and deliver the result. */
static void
complete_command (AfSession *s)
{
  AfExecResult r = { 0 };
  AfSessionDone done = s->cur.done;
  gpointer data = s->cur.data;
  g_autoptr (GError) error = g_steal_pointer (&s->cur.error);
  gboolean restarted = s->cur.restarted;
  int wait_status = s->cur.wait_status;
  gboolean stale = s->cur.stale_pipes;
  int out_r, err_r;

  if (s->cur.out) {
    out_r = af_relay_join_keep_source (s->cur.out, &r.stdout_bytes, &r.stdout_truncated);
    if (stale)
      close (out_r);
    else
      s->out_r = out_r;
  }
  if (s->cur.err) {
    err_r = af_relay_join_keep_source (s->cur.err, &r.stderr_bytes, &r.stderr_truncated);
    if (stale)
      close (err_r);
    else
      s->err_r = err_r;
  }
  r.duration_us = s->cur.duration_us;
  r.timed_out = s->cur.timed_out;
  if (WIFEXITED (wait_status)) {
    r.exit_code = WEXITSTATUS (wait_status);
  } else if (WIFSIGNALED (wait_status)) {
    r.term_signal = WTERMSIG (wait_status);
    r.exit_code = 128 + r.term_signal;
  }
  memset (&s->cur, 0, sizeof s->cur);
  /* A destroyed session goes now; @done gets nothing of it. */
  maybe_free (s);
  done (data, error ? NULL : &r, restarted, error);
}

static gboolean
on_relay_finished (gpointer data)
{
  AfSession *s = data;
  if (--s->cur.relays_busy == 0)
    complete_command (s);
  return G_SOURCE_REMOVE;
}

/* The command ended (its status, the shell's exit, a destroy): stop the
 * relays where the output ends now and complete once they are done. The
 * first end wins; later ones (the shell dying meanwhile) change nothing. */
static void
finish_command (AfSession *s, int wait_status, gboolean restarted, const GError *error)
{
  if (!s->cur.active || s->cur.finishing)
    return;
  s->cur.finishing = TRUE;
  g_clear_handle_id (&s->cur.timer, g_source_remove);
  g_clear_pointer (&s->cur.before, g_array_unref);
  s->cur.duration_us = g_get_monotonic_time () - s->cur.start_us;
  s->cur.wait_status = wait_status;
  s->cur.restarted = restarted;
  s->cur.error = error ? g_error_copy (error) : NULL;
  s->cur.relays_busy = 1; /* held until both are asked */
  if (s->cur.out) {
    af_relay_drain_and_stop (s->cur.out);
    if (!af_relay_when_finished (s->cur.out, on_relay_finished, s))
      s->cur.relays_busy++;
  }
  if (s->cur.err) {
    af_relay_drain_and_stop (s->cur.err);
    if (!af_relay_when_finished (s->cur.err, on_relay_finished, s))
      s->cur.relays_busy++;
  }
  on_relay_finished (s);
}

static gboolean
was_there (GArray *before, int pid)
{
  for (guint i = 0; before && i < before->len; i++)
    if (g_array_index (before, int, i) == pid)
      return TRUE;
  return FALSE;
}

/* Signal the processes the running command started: in the session's
 * cgroup, not the shell, not there before the command (earlier background
 * jobs live on). */
static void
signal_command (AfSession *s, int sig)
{
  g_autoptr (GArray) pids = af_cgroup_cmd_pids (s->cg);
  for (guint i = 0; i < pids->len; i++) {
    int pid = g_array_index (pids, int, i);
    if (pid != s->shell_host_pid && !was_there (s->cur.before, pid))
      kill (pid, sig);
  }
}

static gboolean
on_timeout_step (gpointer data)
{
  AfSession *s = data;

  s->cur.timer = 0;
  s->cur.timed_out = TRUE;
  switch (s->cur.stage++) {
  case 0:
    signal_command (s, SIGTERM);
    break;
  case 1:
    signal_command (s, SIGKILL);
    break;
  default:
    /* The shell itself is stuck (a builtin loop): replace it. */
    s->restarting = TRUE;
    af_cgroup_cmd_kill (s->cg);
    return G_SOURCE_REMOVE;
  }
  s->cur.timer = g_timeout_add (AF_SESSION_GRACE_MS, on_timeout_step, s);
  return G_SOURCE_REMOVE;
}

static void
handle_status_line (AfSession *s, const char *line)
{
  guint64 seq, nonce;
  int code;

  if (sscanf (line, "%" G_GUINT64_FORMAT " %" G_GINT64_MODIFIER "x %d", &seq, &nonce, &code) != 3)
    return;
  if (!s->cur.active || seq != s->cur.seq || nonce != s->cur.nonce)
    return; /* not ours: a forgery attempt, ignored */
  finish_command (s, W_EXITCODE (code & 0xff, 0), FALSE, NULL);
}

static gboolean
on_status (gint fd, GIOCondition cond, gpointer data)
{
  AfSession *s = data;
  char buf[256];
  ssize_t n;

  while ((n = read (fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] == '\n') {
        handle_status_line (s, s->status_buf->str);
        g_string_truncate (s->status_buf, 0);
      } else if (s->status_buf->len < STATUS_LINE_MAX) {
        g_string_append_c (s->status_buf, buf[i]);
      }
    }
  }
  if (n == 0) {
    s->status_watch = 0;
    return G_SOURCE_REMOVE; /* the shell is gone; its exit is reported */
  }
  return G_SOURCE_CONTINUE;
}

static void
on_shell_spawned (gpointer data, int pid, const GError *error)
{
  AfSession *s = data;
  g_autoptr (GArray) pids = NULL;

  if (error) {
    AfSessionReady ready = s->ready;
    s->running = FALSE;
    s->closed = TRUE;
    if (s->doomed && !ready) {
      /* Destroyed while a replacement shell was starting: the destroy
       * ended the command; the session goes once that has completed. */
      maybe_free (s);
      return;
    }
    finish_command (s, 0, FALSE, error);
    if (ready) {
      s->ready = NULL;
      ready (s->ready_data, NULL, error);
      s->doomed = TRUE;
      maybe_free (s);
    }
    return;
  }
  af_cgroup_cmd_set_leader (s->cg, pid);
  if (s->destroyed) {
    /* Its kill came before it was there: it goes now, and reports. */
    af_cgroup_cmd_kill (s->cg);
    return;
  }
  pids = af_cgroup_cmd_pids (s->cg);
  s->shell_host_pid = pids->len > 0 ? g_array_index (pids, int, 0) : 0;
  if (s->ready) {
    AfSessionReady ready = s->ready;
    s->ready = NULL;
    ready (s->ready_data, s, NULL);
  }
}

static void
on_shell_exited (gpointer data, int status)
{
  AfSession *s = data;
  g_autoptr (GError) error = NULL;

  s->running = FALSE;
  /* Background jobs end with their session's shell. */
  af_cgroup_cmd_kill (s->cg);
  if (s->destroyed) {
    if (s->cur.active)
      s->cur.stale_pipes = TRUE;
    maybe_free (s);
    return;
  }
  if (s->restarting) {
    s->restarting = FALSE;
    /* The relays keep the dead shell's pipes until they are done. */
    if (s->cur.active)
      s->cur.stale_pipes = TRUE;
    close_shell_fds (s);
    g_clear_pointer (&s->cg, af_cgroup_cmd_free);
    if (start_shell (s, &error)) {
      finish_command (s, W_EXITCODE (0, SIGKILL), TRUE, NULL);
      return;
    }
    s->closed = TRUE;
    finish_command (s, W_EXITCODE (0, SIGKILL), TRUE, error);
    return;
  }
  /* `exit N` in a command ends the session with that status. */
  s->closed = TRUE;
  finish_command (s, status, FALSE, NULL);
}

static gboolean
start_shell (AfSession *s, GError **error)
{
  int ctl[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, st[2] = { -1, -1 };
  AfSpawnRequest sr = { 0 };
  guint64 id = af_sandbox_next_id (s->sb);
  gboolean ok = FALSE;

  s->cg = af_cgroup_cmd_new (af_sandbox_get_cgroup (s->sb), error);
  if (s->cg == NULL)
    return FALSE;
  if (!g_unix_open_pipe (ctl, FD_CLOEXEC, error) || !g_unix_open_pipe (out, FD_CLOEXEC, error) ||
      !g_unix_open_pipe (err, FD_CLOEXEC, error) || !g_unix_open_pipe (st, FD_CLOEXEC, error))
    goto out;
  sr.argv = (const char *const *)s->argv;
  sr.envp = (const char *const *)s->envp;
  sr.cwd = "/workspace";
  sr.stdin_fd = ctl[0];
  sr.stdout_fd = out[1];
  sr.stderr_fd = err[1];
  sr.status_fd = st[1];
  sr.cgroup = s->cg;
  sr.spawned = on_shell_spawned;
  sr.exited = on_shell_exited;
  sr.data = s;
  if (!af_runtime_spawn (af_sandbox_get_runtime (s->sb), id, &sr, error))
    goto out;
  /* From the request on, until the runtime says the spawn failed or the
   * shell exited: a session destroyed in between (a replacement shell
   * still starting) is not freed under the runtime's callbacks. */
  s->running = TRUE;
  s->ctl_w = ctl[1];
  s->out_r = out[0];
  s->err_r = err[0];
  s->status_r = st[0];
  ctl[1] = out[0] = err[0] = st[0] = -1;
  g_unix_set_fd_nonblocking (s->status_r, TRUE, NULL);
  s->status_watch = g_unix_fd_add (s->status_r, G_IO_IN | G_IO_HUP, on_status, s);
  ok = TRUE;
out:
  for (int i = 0; i < 2; i++) {
    close_fd (&ctl[i]);
    close_fd (&out[i]);
    close_fd (&err[i]);
    close_fd (&st[i]);
  }
  if (!ok)
    g_clear_pointer (&s->cg, af_cgroup_cmd_free);
  return ok;
}

AfSession *
af_session_new (AfSandbox *sb, const char *id, const char *shell, const char *const *env,
                AfSessionReady ready, gpointer data, GError **error)
{
  AfSession *s;
  g_auto (GStrv) envp = af_sandbox_build_env (env, error);

  if (envp == NULL)
    return NULL;
  s = g_new0 (AfSession, 1);
  s->sb = sb;
  s->id = g_strdup (id);
  s->envp = g_steal_pointer (&envp);
  s->ctl_w = s->out_r = s->err_r = s->status_r = -1;
  s->status_buf = g_string_new (NULL);
  s->ready = ready;
  s->ready_data = data;
  if (shell == NULL || shell[0] == '\0' || g_str_equal (shell, "sh") ||
      g_str_equal (shell, "/bin/sh")) {
    s->argv = g_strsplit ("/bin/sh", " ", -1);
  } else if (g_str_equal (shell, "bash") || g_str_equal (shell, "/bin/bash")) {
    s->argv = g_strsplit ("bash --norc --noprofile", " ", -1);
  } else {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "shell must be sh or bash, not \"%s\"",
                 shell);
    session_free (s);
    return NULL;
  }
  if (!start_shell (s, error)) {
    session_free (s);
    return NULL;
  }
  return s;
}

static char *
quote (const char *text)
{
  GString *q = g_string_new ("'");
  for (const char *p = text; *p; p++) {
    if (*p == '\'')
      g_string_append (q, "'\\''");
    else
      g_string_append_c (q, *p);
  }
  g_string_append_c (q, '\'');
  return g_string_free (q, FALSE);
}

gboolean
af_session_exec (AfSession *s, const AfSessionExecRequest *req, AfSessionDone done, gpointer data,
                 GError **error)
{
  g_autofree char *quoted = NULL, *line = NULL;
  gsize len, off = 0;

  /* A shell still starting (after a restart) reads the command once it
   * runs: the control pipe holds it. */
  if (s->closed || s->destroyed) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "session %s is closed", s->id);
    return FALSE;
  }
  if (s->cur.active) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "session %s is running another command", s->id);
    return FALSE;
  }
  if (req->command == NULL || req->command[0] == '\0') {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "command is required");
    return FALSE;
  }
  if (strlen (req->command) > 128 * 1024) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "command is longer than 131072 bytes");
    return FALSE;
  }
  if (strchr (req->command, '\0') != req->command + strlen (req->command)) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "command contains a NUL byte");
    return FALSE;
  }

  memset (&s->cur, 0, sizeof s->cur);
  s->cur.active = TRUE;
  s->cur.seq = ++s->seq;
  s->cur.nonce = ((guint64)g_random_int () << 32) | g_random_int ();
  s->cur.done = done;
  s->cur.data = data;
  s->cur.start_us = g_get_monotonic_time ();
  s->cur.before = af_cgroup_cmd_pids (s->cg);
  s->cur.out = af_relay_start (s->out_r, req->stdout_fd, req->output_cap);
  s->cur.err = af_relay_start (s->err_r, req->stderr_fd, req->output_cap);
  s->out_r = s->err_r = -1; /* owned by the relays until they stop */

  quoted = quote (req->command);
  line =
      g_strdup_printf ("command eval %s </dev/null 3>&-; printf '%%s %%s %%d\\n' %" G_GUINT64_FORMAT
                       " %" G_GINT64_MODIFIER "x \"$?\" >&3\n",
                       quoted, s->cur.seq, s->cur.nonce);
  len = strlen (line);
  /* The shell reads as we write; a long command may take a few rounds. */
  while (off < len) {
    ssize_t n = write (s->ctl_w, line + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "session %s is closed", s->id);
      stop_relays (s, NULL);
      g_clear_pointer (&s->cur.before, g_array_unref);
      memset (&s->cur, 0, sizeof s->cur);
      return FALSE;
    }
    off += (gsize)n;
  }
  if (req->timeout_ms > 0)
    s->cur.timer = g_timeout_add ((guint)MIN (req->timeout_ms, G_MAXUINT), on_timeout_step, s);
  return TRUE;
}

void
af_session_destroy (AfSession *s)
{
  g_autoptr (GError) error = NULL;

  if (s->destroyed)
    return;
  s->destroyed = TRUE;
  s->closed = TRUE;
  if (s->cur.active) {
    error = g_error_new (AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "session %s was destroyed", s->id);
    finish_command (s, 0, FALSE, error);
  }
  af_cgroup_cmd_kill (s->cg);
  /* Freed now, or when the shell's exit is reported (on_shell_exited) and
   * the command's relays are done. */
  s->doomed = TRUE;
  maybe_free (s);
}
