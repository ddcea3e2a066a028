/* cli-run.c — `agentfense run [OPTIONS] DIR -- COMMAND...`: upload DIR,
 * run the command in a new sandbox over it with its output streamed live,
 * destroy the sandbox and the codebase (cli-life.c), exit with the
 * command's status.
 *
 * Owns: running the one command (in a worker thread: the streaming call
 * blocks, the main loop keeps the signals). Must never: print anything on
 * stdout but the command's output (or, with --json, the result). */
#include "cli.h"

static char *opt_timeout;
static char **opt_env;
static char *opt_workdir;
static gboolean opt_raw;
static gboolean opt_keep;

static const GOptionEntry run_entries[] = {
  { "timeout", 't', 0, G_OPTION_ARG_STRING, &opt_timeout,
    "Command timeout (seconds or a duration; default: the server's, 60 s)", "S" },
  { "env", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &opt_env, "A variable for the command (repeatable)",
    "NAME=VALUE" },
  { "workdir", 'w', 0, G_OPTION_ARG_STRING, &opt_workdir,
    "Working directory inside (default /workspace)", "DIR" },
  { "raw", 0, 0, G_OPTION_ARG_NONE, &opt_raw,
    "Pass the command's output through unchanged (control sequences included)", NULL },
  { "keep", 0, 0, G_OPTION_ARG_NONE, &opt_keep,
    "Keep the sandbox and the codebase afterwards (their ids go to stderr)", NULL },
  { NULL },
};

typedef struct {
  CliContext *cli;
  CliLife *life; /* set when the sandbox runs */
  char *command;
  GHashTable *env;
  guint timeout_s;
} Run;

static void
run_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Run *run = task_data;
  AfSandbox *sandbox = cli_life_get_sandbox (run->life);
  AfClient *client = af_sandbox_get_client (sandbox);
  const char *id = af_sandbox_get_id (sandbox);

  if (!run->cli->json) {
    g_task_return_int (task,
                       cli_command_stream (run->cli, client, id, NULL, run->command, run->env,
                                           opt_workdir, run->timeout_s, opt_raw, cancellable));
    return;
  }
  /* For scripts: the whole result at once. */
  g_autoptr (GError) error = NULL;
  g_autoptr (AfExecResult) result = af_client_exec (
      client, id, run->command, NULL, run->env, opt_workdir, run->timeout_s, cancellable, &error);
  if (result == NULL) {
    g_task_return_int (task, g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                                 ? CLI_EXIT_INTERRUPTED
                                 : cli_fail (run->cli, error));
    return;
  }
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  cli_exec_result_json (builder, result);
  cli_print_builder (builder);
  g_task_return_int (task, cli_command_exit_code (af_exec_result_get_exit_code (result)));
}

static void
on_ran (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Run *run = user_data;
  cli_life_finish (run->life, (int)g_task_propagate_int (G_TASK (result), NULL));
}

static void
run_body (CliLife *life, gpointer data)
{
  Run *run = data;
  run->life = life;
  g_autoptr (GTask) task = g_task_new (NULL, cli_life_get_cancellable (life), on_ran, run);
  g_task_set_task_data (task, run, NULL);
  g_task_run_in_thread (task, run_thread);
}

int
cli_run (CliContext *cli, int argc, char **argv)
{
  cli->command_exit = TRUE;
  if (!cli_parse_full (cli, "run", "DIR -- COMMAND...",
                       "Upload DIR, run COMMAND in a new sandbox over it with its output streamed, "
                       "then destroy the sandbox and the codebase.\n"
                       "The exit status is the command's; 124: the command timed out; 125: "
                       "agentfense failed; 128+N: interrupted by signal N.",
                       run_entries, cli_create_entries (), &argc, &argv))
    return CLI_EXIT_COMMAND_TOOL;
  /* GOption leaves the "--" that ended the options in place. */
  int first = argc >= 3 && g_strcmp0 (argv[2], "--") == 0 ? 3 : 2;
  if (argc < 2 || first >= argc) {
    cli_usage_error (cli, "run", "expected DIR -- COMMAND...");
    return CLI_EXIT_COMMAND_TOOL;
  }

  g_autoptr (GError) error = NULL;
  guint timeout_s = 0;
  if (!cli_parse_timeout (opt_timeout, &timeout_s, &error))
    return cli_fail (cli, error);
  g_autoptr (GHashTable) env = cli_parse_env (opt_env, &error);
  if (error != NULL)
    return cli_fail (cli, error);
  g_autoptr (AfSandboxOptions) options = cli_create_options (NULL, NULL, &error);
  if (options == NULL)
    return cli_fail (cli, error);

  g_autofree char *command = cli_command_join (argv + first);
  Run run = { .cli = cli, .command = command, .env = env, .timeout_s = timeout_s };
  return cli_life_run (cli, argv[1], options, opt_keep, run_body, NULL, &run);
}
