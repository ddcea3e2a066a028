/* cli-shell.c — `agentfense shell [OPTIONS] DIR`: an interactive session
 * in a new sandbox over DIR, line by line: each line read from standard
 * input runs in the session's shell (so `cd` and variables persist) with
 * its output streamed; `exit [N]` or end of input leaves, and the sandbox
 * and the codebase are destroyed (cli-life.c).
 *
 * Ctrl-C while a command runs ends that command: the server ends the
 * session with it (the only way to stop what a session's shell runs), so a
 * new session starts and the shell's state is lost, which is said. Ctrl-C
 * at the prompt drops the line being typed.
 *
 * Owns: the read-run-print loop and the session. Must never: read the next
 * line while a command runs (it could be the command's input in a real
 * shell; here it waits its turn), or print a prompt when standard input is
 * not a terminal. */
#include "cli.h"

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_BYTES (1024 * 1024)

static char *opt_shell;
static char *opt_timeout;
static gboolean opt_raw;
static gboolean opt_keep;

static const GOptionEntry shell_entries[] = {
  { "shell", 's', 0, G_OPTION_ARG_STRING, &opt_shell,
    "The session's shell inside (default: the server's, /bin/sh)", "PATH" },
  { "timeout", 't', 0, G_OPTION_ARG_STRING, &opt_timeout,
    "Timeout of each command (seconds or a duration; default: the server's)", "S" },
  { "raw", 0, 0, G_OPTION_ARG_NONE, &opt_raw,
    "Pass output through unchanged (control sequences included)", NULL },
  { "keep", 0, 0, G_OPTION_ARG_NONE, &opt_keep,
    "Keep the sandbox and the codebase afterwards (their ids go to stderr)", NULL },
  { NULL },
};

typedef struct {
  CliContext *cli;
  CliLife *life;
  char *session_id;
  guint timeout_s;
  GString *input; /* read, not yet run */
  guint stdin_watch;
  gboolean interactive;
  gboolean busy;
  gboolean eof;
  gboolean prompted;     /* a prompt is up for the line being typed */
  int ending;            /* a signal that ends the shell once the command stops */
  GCancellable *command; /* the running command */
  int last_status;
} Shell;

typedef struct {
  Shell *shell;
  char *line;
} Job;

static void process_input (Shell *shell);

static void
prompt (Shell *shell)
{
  if (shell->interactive)
    g_printerr ("agentfense$ ");
  shell->prompted = TRUE;
}

static gboolean
open_session (Shell *shell, GError **error)
{
  AfSandbox *sandbox = cli_life_get_sandbox (shell->life);
  g_autoptr (AfSessionInfo) info = af_client_create_session (
      af_sandbox_get_client (sandbox), af_sandbox_get_id (sandbox), opt_shell, NULL, NULL, error);
  if (info == NULL)
    return FALSE;
  g_free (shell->session_id);
  shell->session_id = g_strdup (af_session_info_get_id (info));
  return TRUE;
}

static void
leave (Shell *shell, int status)
{
  if (shell->stdin_watch != 0) {
    g_source_remove (shell->stdin_watch);
    shell->stdin_watch = 0;
  }
  if (shell->interactive && shell->ending == 0)
    g_printerr ("\n");
  cli_life_finish (shell->life, shell->ending != 0 ? 128 + shell->ending : status);
}

static void
job_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Job *job = task_data;
  Shell *shell = job->shell;
  AfSandbox *sandbox = cli_life_get_sandbox (shell->life);
  g_task_return_int (task, cli_command_stream (shell->cli, af_sandbox_get_client (sandbox), NULL,
                                               shell->session_id, job->line, NULL, NULL,
                                               shell->timeout_s, opt_raw, cancellable));
}

static void
job_free (Job *job)
{
  g_free (job->line);
  g_free (job);
}

static void
on_job_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Shell *shell = user_data;
  shell->last_status = (int)g_task_propagate_int (G_TASK (result), NULL);
  gboolean interrupted = g_cancellable_is_cancelled (shell->command);
  g_clear_object (&shell->command);
  shell->busy = FALSE;
  if (shell->ending != 0) {
    leave (shell, shell->last_status);
    return;
  }
  if (interrupted) {
    g_autoptr (GError) error = NULL;
    if (!open_session (shell, &error)) {
      leave (shell, cli_fail (shell->cli, error));
      return;
    }
    g_printerr ("%s: command interrupted; a new session started (directory and variables are "
                "reset)\n",
                shell->cli->prog);
  }
  process_input (shell);
}

static void
run_line (Shell *shell, char *line)
{
  Job *job = g_new0 (Job, 1);
  job->shell = shell;
  job->line = line;
  shell->busy = TRUE;
  shell->command = g_cancellable_new ();
  g_autoptr (GTask) task = g_task_new (NULL, shell->command, on_job_done, shell);
  g_task_set_task_data (task, job, (GDestroyNotify)job_free);
  g_task_run_in_thread (task, job_thread);
}

/* Runs the next complete line, if any; else waits for input. */
static void
process_input (Shell *shell)
{
  for (;;) {
    char *nl = memchr (shell->input->str, '\n', shell->input->len);
    if (nl == NULL) {
      if (shell->eof) {
        if (shell->input->len == 0) {
          leave (shell, shell->last_status);
          return;
        }
        g_string_append_c (shell->input, '\n'); /* a last line without newline */
        continue;
      }
      if (!shell->prompted && shell->input->len == 0)
        prompt (shell);
      return;
    }
    gsize len = (gsize)(nl - shell->input->str);
    g_autofree char *line = g_strndup (shell->input->str, len);
    g_string_erase (shell->input, 0, (gssize)len + 1);
    g_strstrip (line);
    shell->prompted = FALSE;
    if (line[0] == '#' || line[0] == '\0')
      continue;
    /* `exit` is ours: in the session's shell it would end the session. */
    g_auto (GStrv) words = g_strsplit (line, " ", 2);
    if (strcmp (words[0], "exit") == 0) {
      gint64 status = shell->last_status;
      if (words[1] != NULL &&
          !g_ascii_string_to_signed (g_strstrip (words[1]), 10, 0, 255, &status, NULL))
        status = 2;
      leave (shell, (int)status);
      return;
    }
    run_line (shell, g_steal_pointer (&line));
    return;
  }
}

static gboolean
on_stdin (int fd, GIOCondition condition, gpointer user_data)
{
  Shell *shell = user_data;
  char buf[4096];
  ssize_t n = read (fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return G_SOURCE_CONTINUE;
  if (n <= 0) {
    shell->eof = TRUE;
    shell->stdin_watch = 0;
  } else {
    g_string_append_len (shell->input, buf, n);
    if (shell->input->len > LINE_MAX_BYTES &&
        memchr (shell->input->str, '\n', shell->input->len) == NULL) {
      g_autoptr (GError) error = g_error_new (AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                                              "a line of more than %d bytes", LINE_MAX_BYTES);
      shell->stdin_watch = 0;
      leave (shell, cli_fail (shell->cli, error));
      return G_SOURCE_REMOVE;
    }
  }
  if (!shell->busy)
    process_input (shell);
  return shell->eof ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static gboolean
on_interrupt (CliLife *life, int signum, gpointer data)
{
  Shell *shell = data;
  if (signum == SIGINT && shell->busy) {
    g_cancellable_cancel (shell->command);
    return TRUE;
  }
  if (signum == SIGINT) {
    /* At the prompt: drop what was typed, as a shell does. */
    g_string_truncate (shell->input, 0);
    g_printerr ("\n");
    prompt (shell);
    return TRUE;
  }
  /* SIGTERM, SIGHUP: end the command if one runs, then leave. */
  shell->ending = signum;
  if (shell->busy)
    g_cancellable_cancel (shell->command);
  else
    leave (shell, 128 + signum);
  return TRUE;
}

static void
shell_body (CliLife *life, gpointer data)
{
  Shell *shell = data;
  shell->life = life;
  g_autoptr (GError) error = NULL;
  if (!open_session (shell, &error)) {
    cli_life_finish (life, cli_fail (shell->cli, error));
    return;
  }
  if (shell->interactive) {
    g_autofree char *id = cli_escape (af_sandbox_get_id (cli_life_get_sandbox (life)));
    g_printerr ("sandbox %s: commands run in /workspace; 'exit' or Ctrl-D leaves and removes it\n",
                id);
  }
  process_input (shell);
  shell->stdin_watch = g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, shell);
}

int
cli_shell (CliContext *cli, int argc, char **argv)
{
  cli->command_exit = TRUE;
  if (!cli_parse_full (cli, "shell", "DIR",
                       "Upload DIR and run the lines typed in a session of a new sandbox over it; "
                       "the sandbox and the codebase are destroyed at the end.",
                       shell_entries, cli_create_entries (), &argc, &argv))
    return CLI_EXIT_COMMAND_TOOL;
  if (argc != 2) {
    cli_usage_error (cli, "shell", "expected DIR");
    return CLI_EXIT_COMMAND_TOOL;
  }
  g_autoptr (GError) error = NULL;
  guint timeout_s = 0;
  if (!cli_parse_timeout (opt_timeout, &timeout_s, &error))
    return cli_fail (cli, error);
  g_autoptr (AfSandboxOptions) options = cli_create_options (NULL, NULL, &error);
  if (options == NULL)
    return cli_fail (cli, error);

  Shell shell = { .cli = cli,
                  .timeout_s = timeout_s,
                  .input = g_string_new (NULL),
                  .interactive = isatty (STDIN_FILENO) };
  int status = cli_life_run (cli, argv[1], options, opt_keep, shell_body, on_interrupt, &shell);
  if (shell.stdin_watch != 0)
    g_source_remove (shell.stdin_watch);
  g_string_free (shell.input, TRUE);
  g_free (shell.session_id);
  return status;
}
