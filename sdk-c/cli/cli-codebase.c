/* cli-codebase.c — `agentfense codebase create|ls|files|upload|download|rm`:
 * the CodebaseService of a server, through libagentfense's AfClient.
 *
 * Owns: the presentation of codebases and transfers (tables, JSON). Must
 * never: decide which local files to upload (the library's AfLocalTree
 * does). */
#include "cli.h"

#include "af-config.h"

#include <stdio.h>
#include <string.h>
#include <gio/gunixoutputstream.h>
#include <unistd.h>

static char *opt_owner;
static char **opt_ignore;
static char *opt_max_file_size;
static gboolean opt_no_default_ignores;
static char *opt_as;
static char *opt_output;
static gboolean opt_recursive;

static const GOptionEntry entries[] = {
  { "owner", 0, 0, G_OPTION_ARG_STRING, &opt_owner, "create, ls: the owner id", "OWNER" },
  { "ignore", 'i', 0, G_OPTION_ARG_STRING_ARRAY, &opt_ignore,
    "upload: skip files matching PATTERN (gitignore syntax; repeatable)", "PATTERN" },
  { "max-file-size", 0, 0, G_OPTION_ARG_STRING, &opt_max_file_size,
    "upload: skip files larger than SIZE (default 50M; 0 = no limit)", "SIZE" },
  { "no-default-ignores", 0, 0, G_OPTION_ARG_NONE, &opt_no_default_ignores,
    "upload: also upload .git/, node_modules/, .env and other default-ignored paths", NULL },
  { "as", 0, 0, G_OPTION_ARG_STRING, &opt_as,
    "upload of one file: its path in the codebase (default: its name)", "PATH" },
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output,
    "download: write to FILE instead of standard output", "FILE" },
  { "recursive", 'r', 0, G_OPTION_ARG_NONE, &opt_recursive, "files: list everything below", NULL },
  { NULL },
};

static void
codebase_json (JsonBuilder *builder, AfCodebase *codebase)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, af_codebase_get_id (codebase));
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, af_codebase_get_name (codebase));
  json_builder_set_member_name (builder, "owner_id");
  json_builder_add_string_value (builder, af_codebase_get_owner_id (codebase));
  json_builder_set_member_name (builder, "size");
  json_builder_add_int_value (builder, af_codebase_get_size (codebase));
  json_builder_set_member_name (builder, "file_count");
  json_builder_add_int_value (builder, af_codebase_get_file_count (codebase));
  cli_json_add_time (builder, "created_at", af_codebase_get_created_at (codebase));
  cli_json_add_time (builder, "updated_at", af_codebase_get_updated_at (codebase));
  json_builder_end_object (builder);
}

static int
codebase_create (CliContext *cli, AfClient *client, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfCodebase) codebase =
      af_client_create_codebase (client, name, opt_owner, NULL, &error);
  if (codebase == NULL)
    return cli_fail (cli, error);
  if (cli->json) {
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    codebase_json (builder, codebase);
    cli_print_builder (builder);
  } else {
    g_autofree char *id = cli_escape (af_codebase_get_id (codebase));
    g_print ("%s\n", id);
  }
  return CLI_EXIT_OK;
}

static int
codebase_ls (CliContext *cli, AfClient *client)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) codebases = af_client_list_codebases (client, opt_owner, NULL, &error);
  if (codebases == NULL)
    return cli_fail (cli, error);

  if (cli->json) {
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    json_builder_begin_array (builder);
    for (guint i = 0; i < codebases->len; i++)
      codebase_json (builder, codebases->pdata[i]);
    json_builder_end_array (builder);
    cli_print_builder (builder);
    return CLI_EXIT_OK;
  }
  const char *headers[] = { "ID", "NAME", "OWNER", "FILES", "SIZE", "CREATED", NULL };
  g_autoptr (CliTable) table = cli_table_new (headers);
  for (guint i = 0; i < codebases->len; i++) {
    AfCodebase *codebase = codebases->pdata[i];
    g_autofree char *files = g_strdup_printf ("%d", af_codebase_get_file_count (codebase));
    g_autofree char *size = cli_format_size (af_codebase_get_size (codebase));
    g_autofree char *created = cli_format_time (af_codebase_get_created_at (codebase));
    const char *row[] = { af_codebase_get_id (codebase),
                          af_codebase_get_name (codebase),
                          af_codebase_get_owner_id (codebase),
                          files,
                          size,
                          created,
                          NULL };
    cli_table_add (table, row);
  }
  cli_table_print (table);
  return CLI_EXIT_OK;
}

static int
codebase_files (CliContext *cli, AfClient *client, const char *id, const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) files =
      af_client_list_files (client, id, path, opt_recursive, NULL, &error);
  if (files == NULL)
    return cli_fail (cli, error);

  if (cli->json) {
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    json_builder_begin_array (builder);
    for (guint i = 0; i < files->len; i++) {
      AfFileInfo *info = files->pdata[i];
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, af_file_info_get_path (info));
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, af_file_info_get_name (info));
      json_builder_set_member_name (builder, "is_dir");
      json_builder_add_boolean_value (builder, af_file_info_is_dir (info));
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, af_file_info_get_size (info));
      cli_json_add_time (builder, "modified_at", af_file_info_get_modified_at (info));
      json_builder_end_object (builder);
    }
    json_builder_end_array (builder);
    cli_print_builder (builder);
    return CLI_EXIT_OK;
  }
  const char *headers[] = { "TYPE", "SIZE", "PATH", NULL };
  g_autoptr (CliTable) table = cli_table_new (headers);
  for (guint i = 0; i < files->len; i++) {
    AfFileInfo *info = files->pdata[i];
    g_autofree char *size = g_strdup_printf ("%" G_GINT64_FORMAT, af_file_info_get_size (info));
    const char *row[] = { af_file_info_is_dir (info) ? "dir" : "file", size,
                          af_file_info_get_path (info), NULL };
    cli_table_add (table, row);
  }
  cli_table_print (table);
  return CLI_EXIT_OK;
}

static void
on_progress (const AfLocalFile *file, guint files_done, gint64 bytes_done, gpointer user_data)
{
  cli_progress_update (user_data, files_done, bytes_done);
}

static int
upload_one_file (CliContext *cli, AfClient *client, const char *id, const char *local)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *base = g_path_get_basename (local);
  const char *target = opt_as != NULL ? opt_as : base;
  g_autofree char *checksum = NULL;
  if (!af_client_upload_local_file (client, id, target, local, &checksum, NULL, &error))
    return cli_fail (cli, error);
  if (cli->json) {
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "path");
    json_builder_add_string_value (builder, target);
    json_builder_set_member_name (builder, "checksum");
    json_builder_add_string_value (builder, checksum);
    json_builder_end_object (builder);
    cli_print_builder (builder);
  } else {
    g_autofree char *shown = cli_escape (target);
    g_print ("uploaded %s\n", shown);
  }
  return CLI_EXIT_OK;
}

static int
codebase_upload (CliContext *cli, AfClient *client, const char *id, const char *local)
{
  g_autoptr (GError) error = NULL;

  if (g_file_test (local, G_FILE_TEST_IS_REGULAR))
    return upload_one_file (cli, client, id, local);

  g_autoptr (AfLocalTree) tree = af_local_tree_new (local, &error);
  if (tree == NULL)
    return cli_fail (cli, error);
  af_local_tree_set_default_ignores (tree, !opt_no_default_ignores);
  if (opt_max_file_size != NULL) {
    gint64 limit = 0;
    if (!af_config_parse_size (opt_max_file_size, &limit, &error))
      return cli_usage_error (cli, "codebase", error->message);
    af_local_tree_set_max_file_size (tree, limit);
  }
  for (gsize i = 0; opt_ignore != NULL && opt_ignore[i] != NULL; i++)
    if (!af_local_tree_add_ignore_pattern (tree, opt_ignore[i], &error))
      return cli_fail (cli, error);
  if (!af_local_tree_scan (tree, NULL, &error))
    return cli_fail (cli, error);

  GPtrArray *files = af_local_tree_get_files (tree);
  GPtrArray *skipped = af_local_tree_get_skipped (tree);
  gint64 total_bytes = af_local_tree_get_total_size (tree);
  CliProgress *progress = cli_progress_new (cli, "uploading", files->len, total_bytes);
  gboolean ok = af_client_upload_tree (client, id, tree, progress != NULL ? on_progress : NULL,
                                       progress, NULL, &error);
  cli_progress_finish (progress);
  if (!ok)
    return cli_fail (cli, error);

  if (cli->json) {
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "codebase_id");
    json_builder_add_string_value (builder, id);
    json_builder_set_member_name (builder, "files");
    json_builder_add_int_value (builder, files->len);
    json_builder_set_member_name (builder, "bytes");
    json_builder_add_int_value (builder, total_bytes);
    json_builder_set_member_name (builder, "skipped");
    json_builder_begin_array (builder);
    for (guint i = 0; i < skipped->len; i++) {
      const AfLocalFile *file = skipped->pdata[i];
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, af_local_file_get_path (file));
      json_builder_set_member_name (builder, "reason");
      json_builder_add_string_value (builder, cli_skip_reason (af_local_file_get_status (file)));
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, af_local_file_get_size (file));
      json_builder_end_object (builder);
    }
    json_builder_end_array (builder);
    json_builder_end_object (builder);
    cli_print_builder (builder);
    return CLI_EXIT_OK;
  }
  for (guint i = 0; i < skipped->len; i++) {
    const AfLocalFile *file = skipped->pdata[i];
    g_autofree char *path = cli_escape (af_local_file_get_path (file));
    g_printerr ("skipped %s (%s)\n", path, cli_skip_reason (af_local_file_get_status (file)));
  }
  g_autofree char *size = cli_format_size (total_bytes);
  g_print ("uploaded %u %s (%s), skipped %u\n", files->len, files->len == 1 ? "file" : "files",
           size, skipped->len);
  return CLI_EXIT_OK;
}

static int
codebase_download (CliContext *cli, AfClient *client, const char *id, const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GOutputStream) out = NULL;
  g_autoptr (GFile) file = NULL;

  if (opt_output != NULL) {
    /* Written next to the target and renamed over it only when complete. */
    file = g_file_new_for_commandline_arg (opt_output);
    out = G_OUTPUT_STREAM (
        g_file_replace (file, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION, NULL, &error));
    if (out == NULL) {
      g_autoptr (GError) shown =
          g_error_new (AF_SDK_ERROR, AF_SDK_ERROR_FAILED, "%s: %s", opt_output, error->message);
      return cli_fail (cli, shown);
    }
  } else {
    out = g_unix_output_stream_new (STDOUT_FILENO, FALSE);
  }

  g_autoptr (GCancellable) abandon = g_cancellable_new ();
  if (!af_client_download_file_to_stream (client, id, path, out, NULL, &error)) {
    /* Closing a cancelled replace stream leaves the old file in place. */
    g_cancellable_cancel (abandon);
    g_output_stream_close (out, abandon, NULL);
    return cli_fail (cli, error);
  }
  if (!g_output_stream_close (out, NULL, &error)) {
    g_autoptr (GError) shown =
        g_error_new (AF_SDK_ERROR, AF_SDK_ERROR_FAILED, "writing: %s", error->message);
    return cli_fail (cli, shown);
  }
  return CLI_EXIT_OK;
}

static int
codebase_rm (CliContext *cli, AfClient *client, int n_ids, char **ids)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_array (builder);
  for (int i = 0; i < n_ids; i++) {
    if (!af_client_delete_codebase (client, ids[i], NULL, &error))
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

int
cli_codebase (CliContext *cli, int argc, char **argv)
{
  if (!cli_parse (cli, "codebase",
                  "create NAME | ls | files ID [PATH] | upload ID DIR|FILE | download ID PATH | "
                  "rm ID...",
                  "Manage codebases on the server.", entries, &argc, &argv))
    return CLI_EXIT_USAGE;
  const char *sub = argc >= 2 ? argv[1] : "";

  g_autoptr (GError) error = NULL;
  g_autoptr (AfClient) client = cli_client_new (cli, &error);
  if (client == NULL)
    return cli_fail (cli, error);

  if (strcmp (sub, "create") == 0 && argc == 3)
    return codebase_create (cli, client, argv[2]);
  if (strcmp (sub, "ls") == 0 && argc == 2)
    return codebase_ls (cli, client);
  if (strcmp (sub, "files") == 0 && (argc == 3 || argc == 4))
    return codebase_files (cli, client, argv[2], argc == 4 ? argv[3] : "");
  if (strcmp (sub, "upload") == 0 && argc == 4)
    return codebase_upload (cli, client, argv[2], argv[3]);
  if (strcmp (sub, "download") == 0 && argc == 4)
    return codebase_download (cli, client, argv[2], argv[3]);
  if (strcmp (sub, "rm") == 0 && argc >= 3)
    return codebase_rm (cli, client, argc - 2, argv + 2);
  return cli_usage_error (cli, "codebase",
                          "expected create NAME, ls, files ID [PATH], upload ID DIR|FILE, "
                          "download ID PATH or rm ID...");
}
