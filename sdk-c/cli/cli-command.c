/* cli-command.c — one command in a sandbox or a session with its output
 * streamed live, and its exit status.
 *
 * The sandbox.v1 streaming calls (ExecStream, SessionExecStream) carry only
 * output, no exit status. So the command is sent wrapped:
 *
 *   /bin/sh -c '<command>'
 *   printf '\036agentfense-exit:<nonce>:%d\n' "$?" >&2
 *
 * The inner shell parses the command exactly as the server would, and an
 * `exit` in it ends only that shell. The status line goes last on stderr,
 * with a random nonce the command never sees (it is in the outer shell's
 * text only), and this file takes it out of the stream: the user sees the
 * command's own bytes, nothing else. In a session the command instead
 * runs in the session's shell (`cd` and variables must persist), so it is
 * sent as is with the status line appended.
 *
 * Owns: the wrapping, the status line filter (state across chunks), the
 * mapping of a run to the tool's exit status. Must never: let the status
 * line reach the user's terminal, or invent a status it did not see. */
#include "cli.h"

#include <string.h>
#include <unistd.h>

#define MARKER_HEAD "\036agentfense-exit:"
/* The longest status line: head, 32 hex digits, ':', a sign and 10
 * digits, newline. */
#define MARKER_MAX (sizeof MARKER_HEAD - 1 + 32 + 1 + 11 + 1)

struct _CliCommand {
  char *marker; /* MARKER_HEAD nonce ':' */
  CliOutput *out, *err;
  GByteArray *held; /* stderr bytes that may be the start of the status line */
  gboolean have_status;
  int status;
  GError *write_error; /* the first failed write to our own stdout/stderr */
};

CliCommand *
cli_command_new (gboolean raw, int out_fd, int err_fd)
{
  CliCommand *cmd = g_new0 (CliCommand, 1);
  cmd->marker = g_strdup_printf (MARKER_HEAD "%08x%08x%08x%08x:", g_random_int (), g_random_int (),
                                 g_random_int (), g_random_int ());
  cmd->out = cli_output_new (out_fd, raw);
  cmd->err = cli_output_new (err_fd, raw);
  cmd->held = g_byte_array_new ();
  return cmd;
}

void
cli_command_free (CliCommand *cmd)
{
  if (cmd == NULL)
    return;
  g_free (cmd->marker);
  cli_output_free (cmd->out);
  cli_output_free (cmd->err);
  g_byte_array_unref (cmd->held);
  g_clear_error (&cmd->write_error);
  g_free (cmd);
}

const char *
cli_command_get_marker (CliCommand *cmd)
{
  return cmd->marker;
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

static char *
status_line_command (CliCommand *cmd)
{
  /* The marker has no quote, backslash or %: it goes into the format as
   * is, with \036 spelled the way printf(1) reads it. */
  return g_strdup_printf ("printf '\\036%s%%d\\n' \"$?\" >&2", cmd->marker + 1);
}

char *
cli_command_wrap (CliCommand *cmd, const char *command, gboolean in_session)
{
  g_autofree char *status = status_line_command (cmd);
  if (in_session)
    return g_strdup_printf ("%s\n%s", command, status);
  g_autofree char *quoted = g_shell_quote (command);
  return g_strdup_printf ("/bin/sh -c %s\n%s", quoted, status);
}

static void
note_write (CliCommand *cmd, gboolean ok, GError *error)
{
  if (!ok && cmd->write_error == NULL)
    cmd->write_error = error;
  else if (!ok)
    g_error_free (error);
}

static void
emit_err (CliCommand *cmd, const guint8 *data, gsize len)
{
  GError *error = NULL;
  if (len > 0)
    note_write (cmd, cli_output_write (cmd->err, data, len, &error), error);
}

/* Parses a complete status line at the start of @p (@len bytes, ending in
 * '\n'); FALSE if it is not one. */
static gboolean
parse_status (CliCommand *cmd, const char *p, gsize len, int *out_status)
{
  gsize mlen = strlen (cmd->marker);
  if (len < mlen + 2 || memcmp (p, cmd->marker, mlen) != 0 || p[len - 1] != '\n')
    return FALSE;
  g_autofree char *digits = g_strndup (p + mlen, len - mlen - 1);
  gint64 value = 0;
  if (!g_ascii_string_to_signed (digits, 10, G_MININT32, G_MAXINT32, &value, NULL))
    return FALSE;
  *out_status = (int)value;
  return TRUE;
}

/* Passes stderr through, holding back only what could still become the
 * status line: a suffix that starts with \036 and agrees with the marker
 * so far. Everything else is written at once. */
static void
filter_stderr (CliCommand *cmd, const guint8 *data, gsize len)
{
  g_byte_array_append (cmd->held, data, (guint)len);
  gsize mlen = strlen (cmd->marker);
  for (;;) {
    const guint8 *buf = cmd->held->data;
    gsize n = cmd->held->len;
    if (n == 0)
      return;
    const guint8 *rs = memchr (buf, '\036', n);
    if (rs == NULL) {
      emit_err (cmd, buf, n);
      g_byte_array_set_size (cmd->held, 0);
      return;
    }
    gsize at = (gsize)(rs - buf);
    gsize rest = n - at;
    gsize cmp = MIN (rest, mlen);
    gboolean agrees = memcmp (rs, cmd->marker, cmp) == 0;
    if (agrees && rest > mlen) {
      /* The marker is complete: digits up to a newline follow. */
      const guint8 *nl = memchr (rs + mlen, '\n', rest - mlen);
      int status;
      if (nl == NULL && rest < MARKER_MAX) {
        emit_err (cmd, buf, at);
        g_byte_array_remove_range (cmd->held, 0, (guint)at);
        return;
      }
      if (nl != NULL && parse_status (cmd, (const char *)rs, (gsize)(nl - rs) + 1, &status)) {
        emit_err (cmd, buf, at);
        cmd->have_status = TRUE;
        cmd->status = status;
        g_byte_array_remove_range (cmd->held, 0, (guint)(nl - buf) + 1);
        continue;
      }
      agrees = FALSE;
    }
    if (agrees) {
      /* Could still be the marker: wait for more. */
      emit_err (cmd, buf, at);
      g_byte_array_remove_range (cmd->held, 0, (guint)at);
      return;
    }
    /* Not the marker: everything up to and including this \036 goes. */
    emit_err (cmd, buf, at + 1);
    g_byte_array_remove_range (cmd->held, 0, (guint)at + 1);
  }
}

gboolean
cli_command_on_output (AfOutputKind kind, const guint8 *data, gsize length, gpointer user_data)
{
  CliCommand *cmd = user_data;
  if (kind == AF_OUTPUT_STDERR) {
    filter_stderr (cmd, data, length);
  } else {
    GError *error = NULL;
    note_write (cmd, cli_output_write (cmd->out, data, length, &error), error);
  }
  /* Our own stdout gone (a closed pipe): stop the stream. */
  return cmd->write_error == NULL;
}

gboolean
cli_command_finish (CliCommand *cmd, int *out_status, GError **error)
{
  /* What was held back never became the status line: it is output. */
  emit_err (cmd, cmd->held->data, cmd->held->len);
  g_byte_array_set_size (cmd->held, 0);
  GError *local = NULL;
  note_write (cmd, cli_output_finish (cmd->out, &local), local);
  local = NULL;
  note_write (cmd, cli_output_finish (cmd->err, &local), local);
  if (cmd->write_error != NULL) {
    g_propagate_error (error, g_steal_pointer (&cmd->write_error));
    return FALSE;
  }
  *out_status = cmd->have_status ? cmd->status : -1;
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
  g_autofree char *wrapped = cli_command_wrap (cmd, command, session_id != NULL);
  gboolean ok;

  if (session_id != NULL)
    ok = af_client_session_exec_stream (client, session_id, wrapped, timeout_s,
                                        cli_command_on_output, cmd, cancellable, &error);
  else
    ok = af_client_exec_stream (client, sandbox_id, wrapped, NULL, env, workdir, timeout_s,
                                cli_command_on_output, cmd, cancellable, &error);
  int status = -1;
  g_autoptr (GError) write_error = NULL;
  gboolean written = cli_command_finish (cmd, &status, &write_error);
  if (!ok && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return CLI_EXIT_INTERRUPTED; /* the one who cancelled reports it */
  if (!ok)
    return cli_fail (cli, error);
  if (!written)
    return cli_fail (cli, write_error);
  if (status < 0) {
    g_autoptr (GError) lost = g_error_new (
        AF_SDK_ERROR, AF_SDK_ERROR_FAILED,
        "the command's exit status was not reported (a shell syntax error, or error output "
        "beyond the server's limit)");
    return cli_fail (cli, lost);
  }
  return cli_command_exit_code (status);
}
