/* cli-sandbox.c — `agentfense sandbox ls|create|start|stop|rm|exec|info|
 * changes|commit|discard`: the SandboxService of a server through the
 * low-level AfClient calls (the sandbox outlives this process, so no
 * AfSandbox object owns it here).
 *
 * Owns: the sandbox subcommands and their output. Must never: destroy a
 * sandbox it was not told to, or print command output unescaped unless
 * --raw. */
#include "cli.h"

#include <string.h>

static char *opt_codebase;
static gboolean opt_start;
static char *opt_timeout;
static char **opt_env;
static char *opt_workdir;
static gboolean opt_raw;

static const GOptionEntry entries[] = {
  { "codebase", 0, 0, G_OPTION_ARG_STRING, &opt_codebase, "ls: only sandboxes of this codebase",
    "ID" },
  { "start", 0, 0, G_OPTION_ARG_NONE, &opt_start, "create: start the sandbox too", NULL },
  { "timeout", 't', 0, G_OPTION_ARG_STRING, &opt_timeout,
    "exec: command timeout (seconds or a duration; default: the server's)", "S" },
  { "env", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &opt_env,
    "exec: a variable for the command (repeatable)", "NAME=VALUE" },
  { "workdir", 'w', 0, G_OPTION_ARG_STRING, &opt_workdir,
    "exec: working directory inside (default /workspace)", "DIR" },
  { "raw", 0, 0, G_OPTION_ARG_NONE, &opt_raw,
    "exec: pass the command's output through unchanged (control sequences included)", NULL },
  { NULL },
};

static int
print_info_result (CliContext *cli, AfSandboxInfo *info, gboolean full)
{
  if (cli->json) {
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    cli_sandbox_json (builder, info);
    cli_print_builder (builder);
  } else if (full) {
    cli_sandbox_print_info (info);
  } else {
    g_autofree char *id = cli_escape (af_sandbox_info_get_id (info));
    g_print ("%s\n", id);
  }
  return CLI_EXIT_OK;
}

static int
sandbox_ls (CliContext *cli, AfClient *client)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) sandboxes = af_client_list_sandboxes (client, opt_codebase, NULL, &error);
  if (sandboxes == NULL)
    return cli_fail (cli, error);
  if (cli->json) {
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    json_builder_begin_array (builder);
    for (guint i = 0; i < sandboxes->len; i++)
      cli_sandbox_json (builder, sandboxes->pdata[i]);
    json_builder_end_array (builder);
    cli_print_builder (builder);
    return CLI_EXIT_OK;
  }
  g_autoptr (CliTable) table = cli_table_new (cli_sandbox_table_headers);
  for (guint i = 0; i < sandboxes->len; i++)
    cli_sandbox_table_add (table, sandboxes->pdata[i]);
  cli_table_print (table);
  return CLI_EXIT_OK;
}

static int
sandbox_create (CliContext *cli, AfClient *client, const char *codebase_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rules = NULL;
  g_autoptr (AfSandboxOptions) options = cli_create_options (&rules, NULL, &error);
  if (options == NULL)
    return cli_fail (cli, error);
  g_autoptr (AfSandboxInfo) info =
      af_client_create_sandbox (client, codebase_id, rules, options, NULL, &error);
  if (info == NULL)
    return cli_fail (cli, error);
  if (opt_start) {
    g_autoptr (AfSandboxInfo) started =
        af_client_start_sandbox (client, af_sandbox_info_get_id (info), NULL, &error);
    if (started == NULL) {
      /* Created but not started: say which sandbox is left. */
      int code = cli_fail (cli, error);
      g_autofree char *id = cli_escape (af_sandbox_info_get_id (info));
      g_printerr ("%s: sandbox %s was created but is not running\n", cli->prog, id);
      return code;
    }
    return print_info_result (cli, started, FALSE);
  }
  return print_info_result (cli, info, FALSE);
}

typedef AfSandboxInfo *(*InfoCall) (AfClient *, const char *, GCancellable *, GError **);

/* start, stop, info: one call per id, stopping at the first failure. */
static int
sandbox_each (CliContext *cli, AfClient *client, InfoCall call, gboolean full, int n, char **ids)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  if (n > 1)
    json_builder_begin_array (builder);
  for (int i = 0; i < n; i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (AfSandboxInfo) info = call (client, ids[i], NULL, &error);
    if (info == NULL)
      return cli_fail (cli, error);
    if (cli->json) {
      cli_sandbox_json (builder, info);
    } else {
      if (full && i > 0)
        g_print ("\n");
      print_info_result (cli, info, full);
    }
  }
  if (n > 1)
    json_builder_end_array (builder);
  if (cli->json)
    cli_print_builder (builder);
  return CLI_EXIT_OK;
}

static int
sandbox_rm (CliContext *cli, AfClient *client, int n, char **ids)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_array (builder);
  for (int i = 0; i < n; i++) {
    g_autoptr (GError) error = NULL;
    if (!af_client_destroy_sandbox (client, ids[i], NULL, &error))
      return cli_fail (cli, error);
    json_builder_add_string_value (builder, ids[i]);
    if (!cli->json) {
      g_autofree char *shown = cli_escape (ids[i]);
      g_print ("%s\n", shown);
    }
  }
  json_builder_end_array (builder);
  if (cli->json)
    cli_print_builder (builder);
  return CLI_EXIT_OK;
}

static int
sandbox_changes (CliContext *cli, AfClient *client, const char *verb, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfChanges) changes = NULL;
  if (strcmp (verb, "discard") == 0) {
    if (!af_client_discard_changes (client, id, NULL, &error))
      return cli_fail (cli, error);
    if (cli->json) {
      g_autoptr (JsonBuilder) builder = json_builder_new ();
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "discarded");
      json_builder_add_string_value (builder, id);
      json_builder_end_object (builder);
      cli_print_builder (builder);
    }
    return CLI_EXIT_OK;
  }
  gboolean commit = strcmp (verb, "commit") == 0;
  changes = commit ? af_client_commit_changes (client, id, NULL, &error)
                   : af_client_get_changes (client, id, NULL, &error);
  if (changes == NULL)
    return cli_fail (cli, error);
  if (cli->json) {
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    cli_changes_json (builder, changes);
    cli_print_builder (builder);
  } else {
    cli_changes_print (changes);
  }
  /* As a merge with conflicts: what was kept back is a failure to see. */
  const char *const *conflicts = af_changes_get_conflicts (changes);
  if (commit && conflicts != NULL && conflicts[0] != NULL) {
    if (!cli->json)
      g_printerr ("%s: %u file(s) kept back by conflicts (C)\n", cli->prog,
                  g_strv_length ((char **)conflicts));
    return CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
}

static int
sandbox_exec (CliContext *cli, AfClient *client, const char *id, char **command_argv)
{
  g_autoptr (GError) error = NULL;
  guint timeout_s = 0;
  cli->command_exit = TRUE;
  if (!cli_parse_timeout (opt_timeout, &timeout_s, &error))
    return cli_fail (cli, error);
  g_autoptr (GHashTable) env = cli_parse_env (opt_env, &error);
  if (error != NULL)
    return cli_fail (cli, error);
  g_autofree char *command = cli_command_join (command_argv);

  if (cli->json) {
    /* For scripts: the whole result at once, the command's exit status as
     * the tool's. */
    g_autoptr (AfExecResult) result =
        af_client_exec (client, id, command, NULL, env, opt_workdir, timeout_s, NULL, &error);
    if (result == NULL)
      return cli_fail (cli, error);
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    cli_exec_result_json (builder, result);
    cli_print_builder (builder);
    return cli_command_exit_code (af_exec_result_get_exit_code (result));
  }
  return cli_command_stream (cli, client, id, NULL, command, env, opt_workdir, timeout_s, opt_raw,
                             NULL);
}

int
cli_sandbox (CliContext *cli, int argc, char **argv)
{
  if (!cli_parse_full (cli, "sandbox",
                       "ls | create CODEBASE | start ID... | stop ID... | rm ID... | "
                       "exec ID -- COMMAND... | info ID... | changes ID | commit ID | discard ID",
                       "Manage sandboxes on the server.", entries, cli_create_entries (), &argc,
                       &argv))
    return CLI_EXIT_USAGE;
  const char *sub = argc >= 2 ? argv[1] : "";

  g_autoptr (GError) error = NULL;
  g_autoptr (AfClient) client = cli_client_new (cli, &error);
  if (client == NULL)
    return cli_fail (cli, error);

  if (strcmp (sub, "ls") == 0 && argc == 2)
    return sandbox_ls (cli, client);
  if (strcmp (sub, "create") == 0 && argc == 3)
    return sandbox_create (cli, client, argv[2]);
  if (strcmp (sub, "start") == 0 && argc >= 3)
    return sandbox_each (cli, client, af_client_start_sandbox, FALSE, argc - 2, argv + 2);
  if (strcmp (sub, "stop") == 0 && argc >= 3)
    return sandbox_each (cli, client, af_client_stop_sandbox, FALSE, argc - 2, argv + 2);
  if (strcmp (sub, "info") == 0 && argc >= 3)
    return sandbox_each (cli, client, af_client_get_sandbox, TRUE, argc - 2, argv + 2);
  if (strcmp (sub, "rm") == 0 && argc >= 3)
    return sandbox_rm (cli, client, argc - 2, argv + 2);
  if ((strcmp (sub, "changes") == 0 || strcmp (sub, "commit") == 0 ||
       strcmp (sub, "discard") == 0) &&
      argc == 3)
    return sandbox_changes (cli, client, sub, argv[2]);
  if (strcmp (sub, "exec") == 0 && argc >= 4) {
    /* GOption leaves the "--" that ended the options in place. */
    int first = strcmp (argv[3], "--") == 0 ? 4 : 3;
    if (first < argc)
      return sandbox_exec (cli, client, argv[2], argv + first);
  }
  return cli_usage_error (cli, "sandbox",
                          "expected ls, create CODEBASE, start ID..., stop ID..., rm ID..., "
                          "exec ID -- COMMAND..., info ID..., changes ID, commit ID or discard ID");
}
