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
} CliExit;

typedef struct {
  const char *prog; /* "agentfense" */
  char *endpoint;   /* --endpoint (owned), or NULL for the default */
  gboolean json;    /* --json */
} CliContext;

/* A verb: @argv[0] is the verb's own name ("presets"); returns an exit
 * code. */
typedef int (*CliVerbFunc) (CliContext *cli, int argc, char **argv);

int cli_presets (CliContext *cli, int argc, char **argv);
int cli_policy (CliContext *cli, int argc, char **argv);
int cli_codebase (CliContext *cli, int argc, char **argv);

/* The options every verb accepts (--json, --endpoint), to add to a verb's
 * GOptionContext. */
GOptionGroup *cli_global_options (CliContext *cli);

/* Parses @argv with @entries plus the global options; on failure prints
 * the error and returns FALSE (exit CLI_EXIT_USAGE). @parameter is the
 * usage line after the verb ("show NAME"). */
gboolean cli_parse (CliContext *cli, const char *verb, const char *parameter, const char *summary,
                    const GOptionEntry *entries, int *argc, char ***argv);

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
