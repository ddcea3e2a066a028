/* cli-sandbox-format.c — how the tool shows sandboxes, changes and
 * command results: JSON objects (the schema tests/sdk-c/test-cli.py
 * checks) and the human forms.
 *
 * Owns: the presentation of AfSandboxInfo, AfChanges and AfExecResult.
 * Must never: call the server. */
#include "cli.h"

static const char *
commit_mode_name (AfCommitMode mode)
{
  return mode == AF_COMMIT_MODE_MANUAL ? "manual" : "after-each-command";
}

static const char *
status_name (AfSandboxStatus status)
{
  const char *name = af_sandbox_status_to_string (status);
  return name != NULL ? name : "unknown";
}

static const char *
runtime_name (AfRuntime runtime)
{
  const char *name = af_runtime_to_string (runtime);
  return name != NULL ? name : "default";
}

void
cli_sandbox_json (JsonBuilder *builder, AfSandboxInfo *info)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, af_sandbox_info_get_id (info));
  json_builder_set_member_name (builder, "codebase_id");
  json_builder_add_string_value (builder, af_sandbox_info_get_codebase_id (info));
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, status_name (af_sandbox_info_get_status (info)));
  json_builder_set_member_name (builder, "error");
  const char *error = af_sandbox_info_get_error (info);
  if (error != NULL && error[0] != '\0')
    json_builder_add_string_value (builder, error);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "runtime");
  json_builder_add_string_value (builder, runtime_name (af_sandbox_info_get_runtime (info)));
  json_builder_set_member_name (builder, "image");
  json_builder_add_string_value (builder, af_sandbox_info_get_image (info));
  json_builder_set_member_name (builder, "commit_mode");
  json_builder_add_string_value (builder,
                                 commit_mode_name (af_sandbox_info_get_commit_mode (info)));

  const AfResourceLimits *limits = af_sandbox_info_get_resources (info);
  json_builder_set_member_name (builder, "resources");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "memory_bytes");
  json_builder_add_int_value (builder, limits->memory_bytes);
  json_builder_set_member_name (builder, "cpu_quota");
  json_builder_add_int_value (builder, limits->cpu_quota);
  json_builder_set_member_name (builder, "cpu_shares");
  json_builder_add_int_value (builder, limits->cpu_shares);
  json_builder_set_member_name (builder, "pids_limit");
  json_builder_add_int_value (builder, limits->pids_limit);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "labels");
  json_builder_begin_object (builder);
  GHashTable *labels = af_sandbox_info_get_labels (info);
  if (labels != NULL) {
    g_autoptr (GList) keys = g_hash_table_get_keys (labels);
    keys = g_list_sort (keys, (GCompareFunc)g_strcmp0);
    for (GList *k = keys; k != NULL; k = k->next) {
      json_builder_set_member_name (builder, k->data);
      json_builder_add_string_value (builder, g_hash_table_lookup (labels, k->data));
    }
  }
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "permissions");
  json_builder_begin_array (builder);
  GPtrArray *rules = af_sandbox_info_get_permissions (info);
  for (guint i = 0; rules != NULL && i < rules->len; i++) {
    const AfPermissionRule *rule = rules->pdata[i];
    json_builder_add_value (
        builder,
        cli_rule_to_json (af_permission_rule_get_pattern (rule),
                          af_permission_to_string (af_permission_rule_get_permission (rule)),
                          af_pattern_kind_to_string (af_permission_rule_get_kind (rule)),
                          af_permission_rule_get_priority (rule)));
  }
  json_builder_end_array (builder);
  cli_json_add_time (builder, "created_at", af_sandbox_info_get_created_at (info));
  cli_json_add_time (builder, "started_at", af_sandbox_info_get_started_at (info));
  cli_json_add_time (builder, "stopped_at", af_sandbox_info_get_stopped_at (info));
  cli_json_add_time (builder, "expires_at", af_sandbox_info_get_expires_at (info));
  json_builder_end_object (builder);
}

void
cli_sandbox_table_add (CliTable *table, AfSandboxInfo *info)
{
  g_autofree char *created = cli_format_time (af_sandbox_info_get_created_at (info));
  const char *row[] = { af_sandbox_info_get_id (info),
                        af_sandbox_info_get_codebase_id (info),
                        status_name (af_sandbox_info_get_status (info)),
                        runtime_name (af_sandbox_info_get_runtime (info)),
                        created,
                        NULL };
  cli_table_add (table, row);
}

const char *const cli_sandbox_table_headers[] = { "ID",      "CODEBASE", "STATUS",
                                                  "RUNTIME", "CREATED",  NULL };

static void
info_line (const char *key, const char *value)
{
  g_autofree char *shown = cli_escape (value != NULL ? value : "");
  g_print ("%-12s %s\n", key, shown);
}

static void
info_time (const char *key, GDateTime *time)
{
  if (time == NULL)
    return;
  g_autofree char *text = cli_format_time (time);
  info_line (key, text);
}

static char *
limit_text (gint64 value, gboolean bytes)
{
  if (value <= 0)
    return g_strdup ("-");
  return bytes ? cli_format_size (value) : g_strdup_printf ("%" G_GINT64_FORMAT, value);
}

void
cli_sandbox_print_info (AfSandboxInfo *info)
{
  info_line ("id:", af_sandbox_info_get_id (info));
  info_line ("codebase:", af_sandbox_info_get_codebase_id (info));
  info_line ("status:", status_name (af_sandbox_info_get_status (info)));
  const char *error = af_sandbox_info_get_error (info);
  if (error != NULL && error[0] != '\0')
    info_line ("error:", error);
  info_line ("runtime:", runtime_name (af_sandbox_info_get_runtime (info)));
  const char *image = af_sandbox_info_get_image (info);
  if (image != NULL && image[0] != '\0')
    info_line ("image:", image);
  info_line ("commit:", commit_mode_name (af_sandbox_info_get_commit_mode (info)));
  const AfResourceLimits *limits = af_sandbox_info_get_resources (info);
  g_autofree char *memory = limit_text (limits->memory_bytes, TRUE);
  g_autofree char *quota = limit_text (limits->cpu_quota, FALSE);
  g_autofree char *pids = limit_text (limits->pids_limit, FALSE);
  g_autofree char *resources =
      g_strdup_printf ("memory %s, cpu quota %s, pids %s", memory, quota, pids);
  info_line ("resources:", resources);
  info_time ("created:", af_sandbox_info_get_created_at (info));
  info_time ("started:", af_sandbox_info_get_started_at (info));
  info_time ("stopped:", af_sandbox_info_get_stopped_at (info));
  info_time ("expires:", af_sandbox_info_get_expires_at (info));

  GHashTable *labels = af_sandbox_info_get_labels (info);
  if (labels != NULL && g_hash_table_size (labels) > 0) {
    g_autoptr (GList) keys = g_hash_table_get_keys (labels);
    keys = g_list_sort (keys, (GCompareFunc)g_strcmp0);
    for (GList *k = keys; k != NULL; k = k->next) {
      g_autofree char *pair =
          g_strdup_printf ("%s=%s", (char *)k->data, (char *)g_hash_table_lookup (labels, k->data));
      info_line (k == keys ? "labels:" : "", pair);
    }
  }

  GPtrArray *rules = af_sandbox_info_get_permissions (info);
  g_print ("rules:\n");
  const char *headers[] = { "  PRIORITY", "PERMISSION", "TYPE", "PATTERN", NULL };
  g_autoptr (CliTable) table = cli_table_new (headers);
  for (guint i = 0; rules != NULL && i < rules->len; i++) {
    const AfPermissionRule *rule = rules->pdata[i];
    g_autofree char *priority = g_strdup_printf ("  %d", af_permission_rule_get_priority (rule));
    const char *row[] = { priority,
                          af_permission_to_string (af_permission_rule_get_permission (rule)),
                          af_pattern_kind_to_string (af_permission_rule_get_kind (rule)),
                          af_permission_rule_get_pattern (rule), NULL };
    cli_table_add (table, row);
  }
  cli_table_print (table);
}

static void
add_paths (JsonBuilder *builder, const char *name, const char *const *paths)
{
  json_builder_set_member_name (builder, name);
  json_builder_begin_array (builder);
  for (gsize i = 0; paths != NULL && paths[i] != NULL; i++)
    json_builder_add_string_value (builder, paths[i]);
  json_builder_end_array (builder);
}

void
cli_changes_json (JsonBuilder *builder, AfChanges *changes)
{
  json_builder_begin_object (builder);
  add_paths (builder, "added", af_changes_get_added (changes));
  add_paths (builder, "modified", af_changes_get_modified (changes));
  add_paths (builder, "deleted", af_changes_get_deleted (changes));
  add_paths (builder, "conflicts", af_changes_get_conflicts (changes));
  json_builder_end_object (builder);
}

static guint
print_paths (const char *mark, const char *const *paths)
{
  guint n = 0;
  for (; paths != NULL && paths[n] != NULL; n++) {
    g_autofree char *shown = cli_escape (paths[n]);
    g_print ("%s %s\n", mark, shown);
  }
  return n;
}

guint
cli_changes_print (AfChanges *changes)
{
  /* One path per line with a status letter, as `git status --short`:
   * A added, M modified, D deleted, C kept back by a conflict. */
  guint n = print_paths ("A", af_changes_get_added (changes));
  n += print_paths ("M", af_changes_get_modified (changes));
  n += print_paths ("D", af_changes_get_deleted (changes));
  n += print_paths ("C", af_changes_get_conflicts (changes));
  return n;
}

/* JSON strings are UTF-8: bytes that are not become U+FFFD. */
static void
add_text (JsonBuilder *builder, const char *name, const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text != NULL ? text : "", -1);
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, valid);
}

void
cli_exec_result_json (JsonBuilder *builder, AfExecResult *result)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "command");
  json_builder_add_string_value (builder, af_exec_result_get_command (result));
  json_builder_set_member_name (builder, "exit_code");
  json_builder_add_int_value (builder, af_exec_result_get_exit_code (result));
  add_text (builder, "stdout", af_exec_result_get_stdout (result));
  add_text (builder, "stderr", af_exec_result_get_stderr (result));
  json_builder_set_member_name (builder, "duration");
  json_builder_add_double_value (builder, af_exec_result_get_duration (result));
  json_builder_end_object (builder);
}
