/* cli-command.c — one command in a sandbox or a session with its output
 * streamed live, and its exit status.
 *
 * The command goes to the server as the user wrote it. Its exit status
 * comes at the end of the stream, in the call's trailing metadata
 * (afd-server's agentfense-exit-code, read by libagentfense into an
 * AfExecStatus): nothing is added to the command or taken out of its
 * output.
 *
 * Owns: the command's output on our stdout/stderr, the mapping of a run to
 * the tool's exit status. Must never: invent a status the server did not
 * report. */
#include "cli.h"

#include <string.h>
#include <unistd.h>

struct _CliCommand {
  CliOutput *out, *err;
  GError *write_error; /* the first failed write to our own stdout/stderr */
};

CliCommand *
cli_command_new (gboolean raw, int out_fd, int err_fd)
{
  CliCommand *cmd = g_new0 (CliCommand, 1);
  cmd->out = cli_output_new (out_fd, raw);
  cmd->err = cli_output_new (err_fd, raw);
  return cmd;
}

void
cli_command_free (CliCommand *cmd)
{
  if (cmd == NULL)
    return;
  cli_output_free (cmd->out);
  cli_output_free (cmd->err);
  g_clear_error (&cmd->write_error);
  g_free (cmd);
}

char *
cli_command_join (char **argv)
{
  /* One word is a shell command line ("make && make test"); several are
   * a program and its arguments, each passed as given. */
  if (argv[0] != NULL && argv[1] == NULL)
    return g_strdup (argv[0]);
  g_autoptr (GString) line = g_string_new (NULL);
  for (gsize i = 0; argv[i] != NULL; i++) {
    g_autofree char *quoted = g_shell_quote (argv[i]);
    if (i > 0)
      g_string_append_c (line, ' ');
    g_string_append (line, quoted);
  }
  return g_string_free (g_steal_pointer (&line), FALSE);
}

static void
note_write (CliCommand *cmd, gboolean ok, GError *error)
{
  if (!ok && cmd->write_error == NULL)
    cmd->write_error = error;
  else if (!ok)
    g_error_free (error);
}

gboolean
cli_command_on_output (AfOutputKind kind, const guint8 *data, gsize length, gpointer user_data)
{
  CliCommand *cmd = user_data;
  GError *error = NULL;
  CliOutput *to = kind == AF_OUTPUT_STDERR ? cmd->err : cmd->out;
  note_write (cmd, cli_output_write (to, data, length, &error), error);
  /* Our own stdout gone (a closed pipe): stop the stream. */
  return cmd->write_error == NULL;
}

gboolean
cli_command_finish (CliCommand *cmd, GError **error)
{
  GError *local = NULL;
  note_write (cmd, cli_output_finish (cmd->out, &local), local);
  local = NULL;
  note_write (cmd, cli_output_finish (cmd->err, &local), local);
  if (cmd->write_error != NULL) {
    g_propagate_error (error, g_steal_pointer (&cmd->write_error));
    return FALSE;
  }
  return TRUE;
}

int
cli_command_exit_code (int status)
{
  /* A shell reports a command killed by signal N as 128+N; anything out
   * of range for an exit status is reported as a failure of the command. */
  if (status < 0 || status > 255)
    return 255;
  return status;
}

int
cli_command_stream (CliContext *cli, AfClient *client, const char *sandbox_id,
                    const char *session_id, const char *command, GHashTable *env,
                    const char *workdir, guint timeout_s, gboolean raw, GCancellable *cancellable)
{
  g_autoptr (CliCommand) cmd = cli_command_new (raw, STDOUT_FILENO, STDERR_FILENO);
  g_autoptr (GError) error = NULL;
  AfExecStatus status;
  gboolean ok;

  if (session_id != NULL)
    ok = af_client_session_exec_stream_with_status (client, session_id, command, timeout_s,
                                                    cli_command_on_output, cmd, &status,
                                                    cancellable, &error);
  else
    ok = af_client_exec_stream_with_status (client, sandbox_id, command, NULL, env, workdir,
                                            timeout_s, cli_command_on_output, cmd, &status,
                                            cancellable, &error);
  g_autoptr (GError) write_error = NULL;
  gboolean written = cli_command_finish (cmd, &write_error);
  if (!ok && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return CLI_EXIT_INTERRUPTED; /* the one who cancelled reports it */
  if (!ok)
    return cli_fail (cli, error);
  if (!written)
    return cli_fail (cli, write_error);
  if (!status.reported) {
    g_autoptr (GError) lost = g_error_new_literal (
        AF_SDK_ERROR, AF_SDK_ERROR_FAILED,
        "the server did not report the command's exit status (a server without the "
        "agentfense-exit-code trailer; 'agentfense sandbox exec --json' uses the unary call, "
        "which always reports it)");
    return cli_fail (cli, lost);
  }
  return cli_command_exit_code (status.exit_code);
}
