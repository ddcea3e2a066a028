/* af-sandbox-values.c — the immutable values of the sandbox API
 * (AfSandboxInfo, AfSessionInfo, AfExecResult, AfChanges), the names of
 * its enumerations, and their conversion from wire messages.
 *
 * Owns: what a value keeps of a message. Must never: keep a pointer into a
 * message (values copy), or be changed after construction. */
#include "af-sdk-private.h"

struct _AfSandboxInfo {
  gint ref_count;
  char *id;
  char *codebase_id;
  AfSandboxStatus status;
  AfRuntime runtime;
  char *image;
  AfResourceLimits resources;
  GHashTable *labels;
  GPtrArray *permissions;
  GDateTime *created_at, *started_at, *stopped_at, *expires_at;
  AfCommitMode commit_mode;
  char *error;
};

struct _AfSessionInfo {
  gint ref_count;
  char *id;
  char *sandbox_id;
  AfSessionStatus status;
  char *shell;
  GDateTime *created_at, *closed_at;
};

struct _AfExecResult {
  gint ref_count;
  char *command;
  GBytes *stdout_bytes; /* holds a NUL after the data, so the text form is free */
  char *stderr_text;
  int exit_code;
  double duration;
};

struct _AfChanges {
  gint ref_count;
  char **added, **modified, **deleted, **conflicts;
};

G_DEFINE_BOXED_TYPE (AfSandboxInfo, af_sandbox_info, af_sandbox_info_ref, af_sandbox_info_unref)
G_DEFINE_BOXED_TYPE (AfSessionInfo, af_session_info, af_session_info_ref, af_session_info_unref)
G_DEFINE_BOXED_TYPE (AfExecResult, af_exec_result, af_exec_result_ref, af_exec_result_unref)
G_DEFINE_BOXED_TYPE (AfChanges, af_changes, af_changes_ref, af_changes_unref)

static const char *const status_names[] = { "unknown", "pending", "running", "stopped", "error" };

const char *
af_sandbox_status_to_string (AfSandboxStatus status)
{
  if ((guint)status >= G_N_ELEMENTS (status_names))
    return "unknown";
  return status_names[status];
}

static const char *const runtime_names[] = { "default", "bwrap", "docker" };

const char *
af_runtime_to_string (AfRuntime runtime)
{
  if ((guint)runtime >= G_N_ELEMENTS (runtime_names))
    return "default";
  return runtime_names[runtime];
}

gboolean
af_runtime_from_string (const char *text, AfRuntime *out_runtime, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (runtime_names); i++) {
    if (text != NULL && g_ascii_strcasecmp (text, runtime_names[i]) == 0) {
      *out_runtime = (AfRuntime)i;
      return TRUE;
    }
  }
  g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
               "unknown runtime '%s' (expected bwrap or docker)", text != NULL ? text : "");
  return FALSE;
}

/* An unset or zero Timestamp means "not known" (as in the Python SDK). */
GDateTime *
af_sdk_datetime_from_wire (const Google__Protobuf__Timestamp *ts)
{
  if (ts == NULL || (ts->seconds == 0 && ts->nanos == 0))
    return NULL;
  g_autoptr (GDateTime) seconds = g_date_time_new_from_unix_utc (ts->seconds);
  if (seconds == NULL)
    return NULL;
  return g_date_time_add (seconds, ts->nanos / 1000);
}

/* Enum values from a peer are not trusted to be in range. */
static int
clamp_enum (int value, int max)
{
  return value >= 0 && value <= max ? value : 0;
}

AfSandboxInfo *
af_sandbox_info_new_from_wire (const Sandbox__V1__Sandbox *m)
{
  AfSandboxInfo *info = g_new0 (AfSandboxInfo, 1);
  info->ref_count = 1;
  info->id = g_strdup (m->id);
  info->codebase_id = g_strdup (m->codebase_id);
  info->status = (AfSandboxStatus)clamp_enum (m->status, AF_SANDBOX_STATUS_ERROR);
  info->runtime = (AfRuntime)clamp_enum (m->runtime, AF_RUNTIME_DOCKER);
  info->image = g_strdup (m->image);
  if (m->resources != NULL) {
    info->resources.memory_bytes = m->resources->memory_bytes;
    info->resources.cpu_quota = m->resources->cpu_quota;
    info->resources.cpu_shares = m->resources->cpu_shares;
    info->resources.pids_limit = m->resources->pids_limit;
  }
  info->labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (size_t i = 0; i < m->n_labels; i++)
    g_hash_table_replace (info->labels, g_strdup (m->labels[i]->key),
                          g_strdup (m->labels[i]->value));
  info->permissions = af_sdk_rules_from_wire (m->permissions, m->n_permissions);
  info->created_at = af_sdk_datetime_from_wire (m->created_at);
  info->started_at = af_sdk_datetime_from_wire (m->started_at);
  info->stopped_at = af_sdk_datetime_from_wire (m->stopped_at);
  info->expires_at = af_sdk_datetime_from_wire (m->expires_at);
  info->commit_mode = (AfCommitMode)clamp_enum (m->commit_mode, AF_COMMIT_MODE_MANUAL);
  info->error = g_strdup (m->error);
  return info;
}

AfSandboxInfo *
af_sandbox_info_ref (AfSandboxInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  g_atomic_int_inc (&info->ref_count);
  return info;
}

void
af_sandbox_info_unref (AfSandboxInfo *info)
{
  if (info == NULL || !g_atomic_int_dec_and_test (&info->ref_count))
    return;
  g_free (info->id);
  g_free (info->codebase_id);
  g_free (info->image);
  g_hash_table_unref (info->labels);
  g_ptr_array_unref (info->permissions);
  g_clear_pointer (&info->created_at, g_date_time_unref);
  g_clear_pointer (&info->started_at, g_date_time_unref);
  g_clear_pointer (&info->stopped_at, g_date_time_unref);
  g_clear_pointer (&info->expires_at, g_date_time_unref);
  g_free (info->error);
  g_free (info);
}

const char *
af_sandbox_info_get_id (AfSandboxInfo *info)
{
  return info->id;
}

const char *
af_sandbox_info_get_codebase_id (AfSandboxInfo *info)
{
  return info->codebase_id;
}

AfSandboxStatus
af_sandbox_info_get_status (AfSandboxInfo *info)
{
  return info->status;
}

AfRuntime
af_sandbox_info_get_runtime (AfSandboxInfo *info)
{
  return info->runtime;
}

const char *
af_sandbox_info_get_image (AfSandboxInfo *info)
{
  return info->image;
}

const AfResourceLimits *
af_sandbox_info_get_resources (AfSandboxInfo *info)
{
  return &info->resources;
}

GHashTable *
af_sandbox_info_get_labels (AfSandboxInfo *info)
{
  return info->labels;
}

GPtrArray *
af_sandbox_info_get_permissions (AfSandboxInfo *info)
{
  return info->permissions;
}

GDateTime *
af_sandbox_info_get_created_at (AfSandboxInfo *info)
{
  return info->created_at;
}

GDateTime *
af_sandbox_info_get_started_at (AfSandboxInfo *info)
{
  return info->started_at;
}

GDateTime *
af_sandbox_info_get_stopped_at (AfSandboxInfo *info)
{
  return info->stopped_at;
}

GDateTime *
af_sandbox_info_get_expires_at (AfSandboxInfo *info)
{
  return info->expires_at;
}

AfCommitMode
af_sandbox_info_get_commit_mode (AfSandboxInfo *info)
{
  return info->commit_mode;
}

const char *
af_sandbox_info_get_error (AfSandboxInfo *info)
{
  return info->error;
}

AfSessionInfo *
af_session_info_new_from_wire (const Sandbox__V1__Session *m)
{
  AfSessionInfo *info = g_new0 (AfSessionInfo, 1);
  info->ref_count = 1;
  info->id = g_strdup (m->id);
  info->sandbox_id = g_strdup (m->sandbox_id);
  info->status = (AfSessionStatus)clamp_enum (m->status, AF_SESSION_STATUS_CLOSED);
  info->shell = g_strdup (m->shell);
  info->created_at = af_sdk_datetime_from_wire (m->created_at);
  info->closed_at = af_sdk_datetime_from_wire (m->closed_at);
  return info;
}

AfSessionInfo *
af_session_info_ref (AfSessionInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  g_atomic_int_inc (&info->ref_count);
  return info;
}

void
af_session_info_unref (AfSessionInfo *info)
{
  if (info == NULL || !g_atomic_int_dec_and_test (&info->ref_count))
    return;
  g_free (info->id);
  g_free (info->sandbox_id);
  g_free (info->shell);
  g_clear_pointer (&info->created_at, g_date_time_unref);
  g_clear_pointer (&info->closed_at, g_date_time_unref);
  g_free (info);
}

const char *
af_session_info_get_id (AfSessionInfo *info)
{
  return info->id;
}

const char *
af_session_info_get_sandbox_id (AfSessionInfo *info)
{
  return info->sandbox_id;
}

AfSessionStatus
af_session_info_get_status (AfSessionInfo *info)
{
  return info->status;
}

const char *
af_session_info_get_shell (AfSessionInfo *info)
{
  return info->shell;
}

GDateTime *
af_session_info_get_created_at (AfSessionInfo *info)
{
  return info->created_at;
}

GDateTime *
af_session_info_get_closed_at (AfSessionInfo *info)
{
  return info->closed_at;
}

AfExecResult *
af_exec_result_new_from_wire (const Sandbox__V1__ExecResult *m, const char *command)
{
  AfExecResult *result = g_new0 (AfExecResult, 1);
  result->ref_count = 1;
  result->command = g_strdup (command);
  gsize len = strlen (m->stdout);
  /* One allocation with a NUL after the data: the bytes and the text
   * views share it. */
  char *copy = g_malloc (len + 1);
  memcpy (copy, m->stdout, len + 1);
  result->stdout_bytes = g_bytes_new_take (copy, len);
  result->stderr_text = g_strdup (m->stderr);
  result->exit_code = m->exit_code;
  if (m->duration != NULL)
    result->duration = (double)m->duration->seconds + (double)m->duration->nanos / 1e9;
  return result;
}

AfExecResult *
af_exec_result_ref (AfExecResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_atomic_int_inc (&result->ref_count);
  return result;
}

void
af_exec_result_unref (AfExecResult *result)
{
  if (result == NULL || !g_atomic_int_dec_and_test (&result->ref_count))
    return;
  g_free (result->command);
  g_bytes_unref (result->stdout_bytes);
  g_free (result->stderr_text);
  g_free (result);
}

const char *
af_exec_result_get_command (AfExecResult *result)
{
  return result->command;
}

const char *
af_exec_result_get_stdout (AfExecResult *result)
{
  return g_bytes_get_data (result->stdout_bytes, NULL);
}

GBytes *
af_exec_result_get_stdout_bytes (AfExecResult *result)
{
  return result->stdout_bytes;
}

const char *
af_exec_result_get_stderr (AfExecResult *result)
{
  return result->stderr_text;
}

int
af_exec_result_get_exit_code (AfExecResult *result)
{
  return result->exit_code;
}

double
af_exec_result_get_duration (AfExecResult *result)
{
  return result->duration;
}

static char **
strv_from_wire (char **items, size_t n)
{
  char **out = g_new0 (char *, n + 1);
  for (size_t i = 0; i < n; i++)
    out[i] = g_strdup (items[i]);
  return out;
}

AfChanges *
af_changes_new_from_wire (const Sandbox__V1__Changes *m)
{
  AfChanges *changes = g_new0 (AfChanges, 1);
  changes->ref_count = 1;
  changes->added = strv_from_wire (m->added, m->n_added);
  changes->modified = strv_from_wire (m->modified, m->n_modified);
  changes->deleted = strv_from_wire (m->deleted, m->n_deleted);
  changes->conflicts = strv_from_wire (m->conflicts, m->n_conflicts);
  return changes;
}

AfChanges *
af_changes_ref (AfChanges *changes)
{
  g_return_val_if_fail (changes != NULL, NULL);
  g_atomic_int_inc (&changes->ref_count);
  return changes;
}

void
af_changes_unref (AfChanges *changes)
{
  if (changes == NULL || !g_atomic_int_dec_and_test (&changes->ref_count))
    return;
  g_strfreev (changes->added);
  g_strfreev (changes->modified);
  g_strfreev (changes->deleted);
  g_strfreev (changes->conflicts);
  g_free (changes);
}

const char *const *
af_changes_get_added (AfChanges *changes)
{
  return (const char *const *)changes->added;
}

const char *const *
af_changes_get_modified (AfChanges *changes)
{
  return (const char *const *)changes->modified;
}

const char *const *
af_changes_get_deleted (AfChanges *changes)
{
  return (const char *const *)changes->deleted;
}

const char *const *
af_changes_get_conflicts (AfChanges *changes)
{
  return (const char *const *)changes->conflicts;
}
