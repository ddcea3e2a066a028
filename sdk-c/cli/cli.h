/* cli.h — what the verbs of the agentfense command-line tool share: the
 * global options, the exit codes, and the output helpers.
 *
 * Must never: hold verb logic (one file per verb: cli-*.c). */
#pragma once

#include <agentfense/agentfense.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Exit codes (documented in agentfense.1 and docs/sdk.md). */
typedef enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAILURE = 1,    /* anything not below */
  CLI_EXIT_USAGE = 2,      /* bad options or arguments */
  CLI_EXIT_CONNECTION = 3, /* the server could not be reached */
  CLI_EXIT_NOT_FOUND = 4,  /* no such sandbox, codebase, file or session */
  CLI_EXIT_PERMISSION = 5, /* permission denied */
  CLI_EXIT_INVALID = 6,    /* invalid configuration: rules, preset, arguments */
  CLI_EXIT_LIMIT = 7,      /* a resource limit was hit */
  CLI_EXIT_TIMEOUT = 8,    /* a command timed out */
  CLI_EXIT_STATE = 9,      /* sandbox not running, session closed */
  CLI_EXIT_UPLOAD = 10,    /* an upload failed */
  /* run, sandbox exec, shell: the command's own status (0-255) unless: */
  CLI_EXIT_COMMAND_TIMEOUT = 124, /* the command timed out (as timeout(1)) */
  CLI_EXIT_COMMAND_TOOL = 125,    /* agentfense failed around the command */
  CLI_EXIT_INTERRUPTED = 130,     /* 128 + SIGINT (SIGTERM: 143, SIGHUP: 129) */
} CliExit;

typedef struct {
  const char *prog; /* "agentfense" */
  char *endpoint;   /* --endpoint (owned), or NULL for the default */
  gboolean json;    /* --json */
  /* TLS: --secure, and --ca-file/--cert/--key (owned; each implies
   * --secure). */
  gboolean secure;
  char *ca_file, *cert_file, *key_file;
  /* Set by run, sandbox exec and shell: the exit status belongs to the
   * command, so the tool's own failures become CLI_EXIT_COMMAND_TOOL
   * (timeouts CLI_EXIT_COMMAND_TIMEOUT) instead of the table above. */
  gboolean command_exit;
} CliContext;

/* A verb: @argv[0] is the verb's own name ("presets"); returns an exit
 * code. */
typedef int (*CliVerbFunc) (CliContext *cli, int argc, char **argv);

int cli_presets (CliContext *cli, int argc, char **argv);
int cli_policy (CliContext *cli, int argc, char **argv);
int cli_codebase (CliContext *cli, int argc, char **argv);
int cli_sandbox (CliContext *cli, int argc, char **argv);
int cli_run (CliContext *cli, int argc, char **argv);
int cli_shell (CliContext *cli, int argc, char **argv);

/* The options every verb accepts (--json, --endpoint), to add to a verb's
 * GOptionContext. */
GOptionGroup *cli_global_options (CliContext *cli);

/* A client of --endpoint, with TLS when asked (--secure, --ca-file,
 * --cert, --key; the AGENTFENSE_* variables fill in what is not given). */
AfClient *cli_client_new (CliContext *cli, GError **error);

/* Parses @argv with @entries plus the global options; on failure prints
 * the error and returns FALSE (exit CLI_EXIT_USAGE). @parameter is the
 * usage line after the verb ("show NAME"). */
gboolean cli_parse (CliContext *cli, const char *verb, const char *parameter, const char *summary,
                    const GOptionEntry *entries, int *argc, char ***argv);

/* Same with a second list of entries (shared ones) in the main group. */
gboolean cli_parse_full (CliContext *cli, const char *verb, const char *parameter,
                         const char *summary, const GOptionEntry *entries,
                         const GOptionEntry *more_entries, int *argc, char ***argv);

/* Prints @error (text, or a JSON object on stderr with --json) and returns
 * the exit code for it. */
int cli_fail (CliContext *cli, const GError *error);

/* Prints a usage error and returns CLI_EXIT_USAGE. */
int cli_usage_error (CliContext *cli, const char *verb, const char *message);

/* The exit code for an error of libagentfense. */
int cli_exit_code_for_error (const GError *error);

/* @text with control characters (C0, DEL, C1) written as \xNN, so names
 * that came from elsewhere cannot drive the terminal. */
char *cli_escape (const char *text);

/* Tables: a header row, then rows of as many cells; printed with columns
 * padded to their widest cell, cells escaped. */
typedef struct _CliTable CliTable;
CliTable *cli_table_new (const char *const *headers);
void cli_table_add (CliTable *table, const char *const *cells);
void cli_table_print (CliTable *table);
void cli_table_free (CliTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliTable, cli_table_free)

/* Prints @node as pretty JSON on stdout followed by a newline. */
void cli_print_json (JsonNode *node);

/* A rule as a JSON object in the rule-file format. */
JsonNode *cli_rule_to_json (const char *pattern, const char *permission, const char *type,
                            gint priority);

/* A time for tables ("2026-11-26 06:01:02", local), "" for NULL. */
char *cli_format_time (GDateTime *time);
/* Member @name: ISO 8601 (UTC as the server sent it), or null. */
void cli_json_add_time (JsonBuilder *builder, const char *name, GDateTime *time);
/* Prints the builder's root as cli_print_json() does. */
void cli_print_builder (JsonBuilder *builder);

/* Why a local file was not uploaded: "too-large", "not-regular", ... */
const char *cli_skip_reason (AfLocalFileStatus status);

/* "1.5 MiB" */
char *cli_format_size (gint64 bytes);

/* ---- command output (cli-stream.c) ---- */

/* Where a command's stdout or stderr goes: @fd, with control characters
 * (all C0 but newline and tab, DEL, C1, and bytes that are not UTF-8)
 * written as \xNN unless @raw. A UTF-8 sequence cut by a chunk boundary
 * is completed by the next chunk. */
typedef struct _CliOutput CliOutput;
CliOutput *cli_output_new (int fd, gboolean raw);
gboolean cli_output_write (CliOutput *out, const guint8 *data, gsize len, GError **error);
/* Escapes what was kept back of an incomplete sequence; call at the end. */
gboolean cli_output_finish (CliOutput *out, GError **error);
void cli_output_free (CliOutput *out);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliOutput, cli_output_free)

/* @data escaped as by a non-raw CliOutput (a complete text). */
char *cli_escape_output (const guint8 *data, gsize len);

/* write() until done, retrying on EINTR. */
gboolean cli_write_all (int fd, const void *data, gsize len, GError **error);

/* ---- a command with live output and its status (cli-command.c) ---- */

typedef struct _CliCommand CliCommand;
/* Writes the command's stdout to @out_fd and stderr to @err_fd (escaped
 * unless @raw). */
CliCommand *cli_command_new (gboolean raw, int out_fd, int err_fd);
void cli_command_free (CliCommand *cmd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliCommand, cli_command_free)
/* The command line for @argv: one word is taken as a shell command line,
 * several are quoted as a program and its arguments. */
char *cli_command_join (char **argv);
/* An AfOutputFunc; user data: the CliCommand. */
gboolean cli_command_on_output (AfOutputKind kind, const guint8 *data, gsize length,
                                gpointer user_data);
/* Flushes the output. FALSE when writing our own output failed. */
gboolean cli_command_finish (CliCommand *cmd, GError **error);
/* The tool's exit status for a command status. */
int cli_command_exit_code (int status);
/* Runs @command in sandbox @sandbox_id, or in session @session_id (then
 * @env and @workdir are not used), with its output streamed to ours.
 * Returns the command's exit status, or (with the error printed)
 * CLI_EXIT_COMMAND_TIMEOUT / CLI_EXIT_COMMAND_TOOL. */
int cli_command_stream (CliContext *cli, AfClient *client, const char *sandbox_id,
                        const char *session_id, const char *command, GHashTable *env,
                        const char *workdir, guint timeout_s, gboolean raw,
                        GCancellable *cancellable);

/* ---- rules from options (cli-rules.c) ---- */

/* The preset and the extra rules of --preset, --rules FILE and --allow
 * PATTERN=LEVEL, for af_sandbox_options_*: *@out_preset (NULL: the
 * default) and *@out_rules (AfPermissionRule, in order). */
gboolean cli_rules_collect (const char *preset, const char *rules_file, char **allow,
                            char **out_preset, GPtrArray **out_rules, GError **error);

/* ---- options of a new sandbox (cli-create.c) ---- */

/* --preset, --rules, --allow, --runtime, --image, --memory, --cpu-quota,
 * --pids, --label, --expires, --manual-commit. */
const GOptionEntry *cli_create_entries (void);
/* AfSandboxOptions from those options. With @out_rules, also the fully
 * expanded rules (preset first) for af_client_create_sandbox(); with
 * @out_preset the preset name (NULL: the default). */
AfSandboxOptions *cli_create_options (GPtrArray **out_rules, char **out_preset, GError **error);
/* --timeout: seconds ("30") or a duration ("5m"); NULL gives 0 (the
 * server's default). */
gboolean cli_parse_timeout (const char *text, guint *out_seconds, GError **error);
/* --env NAME=VALUE... as a table, NULL for none. */
GHashTable *cli_parse_env (char **pairs, GError **error);

/* ---- a throwaway sandbox for run and shell (cli-life.c) ---- */

typedef struct _CliLife CliLife;
/* Called in the main loop once the sandbox runs; must end with
 * cli_life_finish(), now or later. */
typedef void (*CliLifeBody) (CliLife *life, gpointer data);
/* A signal arrived while the body runs: TRUE if the body took it. */
typedef gboolean (*CliLifeInterrupt) (CliLife *life, int signum, gpointer data);
/* Uploads @dir, creates and starts the sandbox (@options), runs @body,
 * then destroys the sandbox and the codebase (kept with @keep). Returns
 * the status given to cli_life_finish(), or 128+N after signal N. */
int cli_life_run (CliContext *cli, const char *dir, AfSandboxOptions *options, gboolean keep,
                  CliLifeBody body, CliLifeInterrupt interrupt, gpointer data);
void cli_life_finish (CliLife *life, int status);
AfSandbox *cli_life_get_sandbox (CliLife *life);
/* Fired by a signal the body did not take. */
GCancellable *cli_life_get_cancellable (CliLife *life);
int cli_life_get_signal (CliLife *life);

/* ---- sandboxes, changes, results (cli-sandbox-format.c) ---- */

void cli_sandbox_json (JsonBuilder *builder, AfSandboxInfo *info);
extern const char *const cli_sandbox_table_headers[];
void cli_sandbox_table_add (CliTable *table, AfSandboxInfo *info);
/* "key: value" lines and the rules. */
void cli_sandbox_print_info (AfSandboxInfo *info);
void cli_changes_json (JsonBuilder *builder, AfChanges *changes);
/* One "A|M|D|C path" line per path; returns the number of lines. */
guint cli_changes_print (AfChanges *changes);
void cli_exec_result_json (JsonBuilder *builder, AfExecResult *result);

/* ---- progress bar (cli-progress.c) ---- */

/* NULL (and every call below a no-op) unless standard error is a terminal
 * and the output is not --json. */
typedef struct _CliProgress CliProgress;
CliProgress *cli_progress_new (CliContext *cli, const char *label, guint total_files,
                               gint64 total_bytes);
void cli_progress_update (CliProgress *progress, guint files_done, gint64 bytes_done);
/* Ends the bar's line and frees @progress. */
void cli_progress_finish (CliProgress *progress);

G_END_DECLS
