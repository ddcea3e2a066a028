/* cli-output.c — option parsing shared by the verbs, error reporting and
 * exit codes, tables and JSON output of the agentfense tool.
 *
 * Owns: the mapping from AF_SDK_ERROR to exit codes and every byte the
 * tool prints around a verb's data. Must never: print unescaped text that
 * came from a server or a file into a table. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const GOptionEntry no_entries[] = { { NULL } };

GOptionGroup *
cli_global_options (CliContext *cli)
{
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &cli->json, "Print JSON for scripts", NULL },
    { "endpoint", 0, 0, G_OPTION_ARG_STRING, &cli->endpoint,
      "Server address (unix:/path or host:port)", "ADDRESS" },
    { "secure", 0, 0, G_OPTION_ARG_NONE, &cli->secure,
      "Connect with TLS (TCP endpoints; trusts the system's CAs)", NULL },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &cli->ca_file,
      "Trust the CA certificates of this PEM file (implies --secure)", "FILE" },
    { "cert", 0, 0, G_OPTION_ARG_FILENAME, &cli->cert_file,
      "Client certificate, PEM, for servers that require one (implies --secure)", "FILE" },
    { "key", 0, 0, G_OPTION_ARG_FILENAME, &cli->key_file, "Private key of --cert, PEM", "FILE" },
    { NULL },
  };
  GOptionGroup *group =
      g_option_group_new ("global", "Options of every command:", "Show global options", NULL, NULL);
  g_option_group_add_entries (group, entries);
  return group;
}

AfClient *
cli_client_new (CliContext *cli, GError **error)
{
  if (cli->secure || cli->ca_file != NULL || cli->cert_file != NULL || cli->key_file != NULL)
    return af_client_new_tls (cli->endpoint, cli->ca_file, cli->cert_file, cli->key_file, error);
  return af_client_new (cli->endpoint, FALSE, error);
}

gboolean
cli_parse_full (CliContext *cli, const char *verb, const char *parameter, const char *summary,
                const GOptionEntry *entries, const GOptionEntry *more_entries, int *argc,
                char ***argv)
{
  g_autofree char *title = g_strdup_printf ("%s %s", verb, parameter);
  g_autoptr (GOptionContext) context = g_option_context_new (title);
  g_autoptr (GError) error = NULL;

  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, entries != NULL ? entries : no_entries, NULL);
  if (more_entries != NULL)
    g_option_context_add_main_entries (context, more_entries, NULL);
  g_option_context_add_group (context, cli_global_options (cli));
  g_option_context_set_strict_posix (context, FALSE);
  if (!g_option_context_parse (context, argc, argv, &error)) {
    cli_usage_error (cli, verb, error->message);
    return FALSE;
  }
  return TRUE;
}

gboolean
cli_parse (CliContext *cli, const char *verb, const char *parameter, const char *summary,
           const GOptionEntry *entries, int *argc, char ***argv)
{
  return cli_parse_full (cli, verb, parameter, summary, entries, NULL, argc, argv);
}

int
cli_exit_code_for_error (const GError *error)
{
  if (error->domain != AF_SDK_ERROR)
    return CLI_EXIT_FAILURE;
  switch ((AfSdkError)error->code) {
  case AF_SDK_ERROR_CONNECTION:
    return CLI_EXIT_CONNECTION;
  case AF_SDK_ERROR_SANDBOX_NOT_FOUND:
  case AF_SDK_ERROR_CODEBASE_NOT_FOUND:
  case AF_SDK_ERROR_FILE_NOT_FOUND:
  case AF_SDK_ERROR_SESSION_NOT_FOUND:
    return CLI_EXIT_NOT_FOUND;
  case AF_SDK_ERROR_PERMISSION_DENIED:
    return CLI_EXIT_PERMISSION;
  case AF_SDK_ERROR_INVALID_CONFIGURATION:
    return CLI_EXIT_INVALID;
  case AF_SDK_ERROR_RESOURCE_LIMIT:
    return CLI_EXIT_LIMIT;
  case AF_SDK_ERROR_COMMAND_TIMEOUT:
    return CLI_EXIT_TIMEOUT;
  case AF_SDK_ERROR_SANDBOX_NOT_RUNNING:
  case AF_SDK_ERROR_SESSION_CLOSED:
    return CLI_EXIT_STATE;
  case AF_SDK_ERROR_UPLOAD:
    return CLI_EXIT_UPLOAD;
  case AF_SDK_ERROR_FAILED:
  case AF_SDK_ERROR_COMMAND_FAILED:
    break;
  }
  return CLI_EXIT_FAILURE;
}

static void
print_json_error (const char *code, const char *message, int exit_code)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_set_member_name (builder, "exit_code");
  json_builder_add_int_value (builder, exit_code);
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = json_to_string (root, FALSE);
  g_printerr ("%s\n", text);
}

int
cli_fail (CliContext *cli, const GError *error)
{
  int exit_code = cli_exit_code_for_error (error);
  if (cli->command_exit)
    exit_code = exit_code == CLI_EXIT_TIMEOUT ? CLI_EXIT_COMMAND_TIMEOUT : CLI_EXIT_COMMAND_TOOL;
  if (cli->json) {
    const char *code =
        error->domain == AF_SDK_ERROR ? af_sdk_error_code_name (error->code) : "failed";
    print_json_error (code != NULL ? code : "failed", error->message, exit_code);
  } else {
    g_autofree char *message = cli_escape (error->message);
    g_printerr ("%s: %s\n", cli->prog, message);
  }
  return exit_code;
}

int
cli_usage_error (CliContext *cli, const char *verb, const char *message)
{
  if (cli->json) {
    print_json_error ("usage", message, CLI_EXIT_USAGE);
  } else {
    g_printerr ("%s %s: %s\n", cli->prog, verb, message);
    g_printerr ("Try '%s %s --help'.\n", cli->prog, verb);
  }
  return CLI_EXIT_USAGE;
}

char *
cli_escape (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));
  for (const char *p = text; *p != '\0';) {
    gunichar c = g_utf8_get_char_validated (p, -1);
    if (c == (gunichar)-1 || c == (gunichar)-2) {
      g_string_append_printf (out, "\\x%02x", (guchar)*p);
      p++;
      continue;
    }
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
      g_string_append_printf (out, "\\x%02x", c);
    else
      g_string_append_unichar (out, c);
    p = g_utf8_next_char (p);
  }
  return g_string_free (out, FALSE);
}

struct _CliTable {
  guint n_columns;
  GPtrArray *rows; /* GStrv, escaped; row 0 is the header */
};

CliTable *
cli_table_new (const char *const *headers)
{
  CliTable *table = g_new0 (CliTable, 1);
  table->n_columns = g_strv_length ((char **)headers);
  table->rows = g_ptr_array_new_with_free_func ((GDestroyNotify)g_strfreev);
  cli_table_add (table, headers);
  return table;
}

void
cli_table_add (CliTable *table, const char *const *cells)
{
  char **row = g_new0 (char *, table->n_columns + 1);
  for (guint i = 0; i < table->n_columns; i++)
    row[i] = cli_escape (cells[i] != NULL ? cells[i] : "");
  g_ptr_array_add (table->rows, row);
}

void
cli_table_print (CliTable *table)
{
  g_autofree glong *widths = g_new0 (glong, table->n_columns);
  for (guint r = 0; r < table->rows->len; r++) {
    char **row = table->rows->pdata[r];
    for (guint c = 0; c < table->n_columns; c++)
      widths[c] = MAX (widths[c], g_utf8_strlen (row[c], -1));
  }
  for (guint r = 0; r < table->rows->len; r++) {
    char **row = table->rows->pdata[r];
    g_autoptr (GString) line = g_string_new (NULL);
    for (guint c = 0; c < table->n_columns; c++) {
      g_string_append (line, row[c]);
      if (c + 1 < table->n_columns) {
        for (glong pad = g_utf8_strlen (row[c], -1); pad < widths[c] + 2; pad++)
          g_string_append_c (line, ' ');
      }
    }
    g_print ("%s\n", line->str);
  }
}

void
cli_table_free (CliTable *table)
{
  if (table == NULL)
    return;
  g_ptr_array_unref (table->rows);
  g_free (table);
}

void
cli_print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  json_generator_set_root (generator, node);
  g_autofree char *text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

JsonNode *
cli_rule_to_json (const char *pattern, const char *permission, const char *type, gint priority)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "pattern");
  json_builder_add_string_value (builder, pattern);
  json_builder_set_member_name (builder, "permission");
  json_builder_add_string_value (builder, permission);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, type);
  json_builder_set_member_name (builder, "priority");
  json_builder_add_int_value (builder, priority);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

char *
cli_format_size (gint64 bytes)
{
  if (bytes < 1024)
    return g_strdup_printf ("%" G_GINT64_FORMAT " B", bytes);
  return g_format_size_full ((guint64)bytes, G_FORMAT_SIZE_IEC_UNITS);
}

char *
cli_format_time (GDateTime *time)
{
  if (time == NULL)
    return g_strdup ("");
  /* Local time to the second: what a person compares with `date`. */
  g_autoptr (GDateTime) local = g_date_time_to_local (time);
  return g_date_time_format (local, "%Y-%m-%d %H:%M:%S");
}

void
cli_json_add_time (JsonBuilder *builder, const char *name, GDateTime *time)
{
  json_builder_set_member_name (builder, name);
  if (time != NULL) {
    g_autofree char *text = g_date_time_format_iso8601 (time);
    json_builder_add_string_value (builder, text);
  } else {
    json_builder_add_null_value (builder);
  }
}

void
cli_print_builder (JsonBuilder *builder)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  cli_print_json (root);
}

const char *
cli_skip_reason (AfLocalFileStatus status)
{
  switch (status) {
  case AF_LOCAL_FILE_TOO_LARGE:
    return "too-large";
  case AF_LOCAL_FILE_NOT_REGULAR:
    return "not-regular";
  case AF_LOCAL_FILE_UNREADABLE:
    return "unreadable";
  case AF_LOCAL_FILE_INCLUDED:
    break;
  }
  return "included";
}
