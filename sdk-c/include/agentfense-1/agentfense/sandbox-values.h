/* sandbox-values.h — what the server says about sandboxes, sessions,
 * commands and changes: immutable, reference-counted values, and the
 * enumerations of the sandbox.v1 protocol.
 *
 * Every value here is produced by the library from a server answer; none
 * can be changed after it was made. */
#pragma once

#include <agentfense/macros.h>
#include <agentfense/rules.h>
#include <glib-object.h>

G_BEGIN_DECLS

/**
 * AfSandboxStatus:
 * @AF_SANDBOX_STATUS_UNKNOWN: the server did not say.
 * @AF_SANDBOX_STATUS_PENDING: created, not started.
 * @AF_SANDBOX_STATUS_RUNNING: started: commands and sessions may run.
 * @AF_SANDBOX_STATUS_STOPPED: stopped; may be started again.
 * @AF_SANDBOX_STATUS_ERROR: a helper failed; af_sandbox_info_get_error()
 *   says why.
 *
 * The life states of a sandbox; the values are those of
 * `sandbox.v1.SandboxStatus`.
 */
typedef enum {
  AF_SANDBOX_STATUS_UNKNOWN = 0,
  AF_SANDBOX_STATUS_PENDING = 1,
  AF_SANDBOX_STATUS_RUNNING = 2,
  AF_SANDBOX_STATUS_STOPPED = 3,
  AF_SANDBOX_STATUS_ERROR = 4,
} AfSandboxStatus;

/**
 * af_sandbox_status_to_string:
 * @status: an #AfSandboxStatus
 *
 * Returns: (transfer none): "unknown", "pending", "running", "stopped" or
 *   "error".
 */
AF_PUBLIC const char *af_sandbox_status_to_string (AfSandboxStatus status);

/**
 * AfRuntime:
 * @AF_RUNTIME_DEFAULT: the server's default (bubblewrap).
 * @AF_RUNTIME_BWRAP: bubblewrap namespaces on the host.
 * @AF_RUNTIME_DOCKER: a Docker container.
 *
 * Where commands run; the values are those of `sandbox.v1.RuntimeType`.
 */
typedef enum {
  AF_RUNTIME_DEFAULT = 0,
  AF_RUNTIME_BWRAP = 1,
  AF_RUNTIME_DOCKER = 2,
} AfRuntime;

/**
 * af_runtime_to_string:
 * @runtime: an #AfRuntime
 *
 * Returns: (transfer none): "default", "bwrap" or "docker".
 */
AF_PUBLIC const char *af_runtime_to_string (AfRuntime runtime);

/**
 * af_runtime_from_string:
 * @text: "bwrap" or "docker" (or "default")
 * @out_runtime: (out): where to store the runtime
 * @error: return location for an %AF_SDK_ERROR_INVALID_CONFIGURATION error
 *
 * Returns: %TRUE if @text names a runtime.
 */
AF_PUBLIC gboolean af_runtime_from_string (const char *text, AfRuntime *out_runtime,
                                           GError **error);

/**
 * AfCommitMode:
 * @AF_COMMIT_MODE_DEFAULT: the server's default: after each command.
 * @AF_COMMIT_MODE_AFTER_EACH_COMMAND: the sandbox's changes reach the
 *   codebase after each command (what the Python SDK expects).
 * @AF_COMMIT_MODE_MANUAL: only af_client_commit_changes() applies them.
 *
 * When the changes of a sandbox reach its codebase (an extension of
 * sandbox.v1).
 */
typedef enum {
  AF_COMMIT_MODE_DEFAULT = 0,
  AF_COMMIT_MODE_AFTER_EACH_COMMAND = 1,
  AF_COMMIT_MODE_MANUAL = 2,
} AfCommitMode;

/**
 * AfResourceLimits:
 * @memory_bytes: memory limit in bytes, 0 for none
 * @cpu_quota: CPU time in µs per 100 ms period, 0 for none
 * @cpu_shares: relative CPU weight, 0 for the default
 * @pids_limit: most processes at once, 0 for none
 *
 * Resource limits of a sandbox (`sandbox.v1.ResourceLimits`). A plain
 * struct: copy it by value.
 */
typedef struct {
  gint64 memory_bytes;
  gint64 cpu_quota;
  gint64 cpu_shares;
  gint64 pids_limit;
} AfResourceLimits;

/**
 * AfSandboxInfo:
 *
 * A sandbox as the server described it at one moment. Immutable,
 * reference counted.
 */
typedef struct _AfSandboxInfo AfSandboxInfo;

/**
 * af_sandbox_info_get_type:
 *
 * Returns: the boxed #GType of #AfSandboxInfo.
 */
AF_PUBLIC GType af_sandbox_info_get_type (void);

/**
 * af_sandbox_info_ref:
 * @info: a sandbox description
 *
 * Returns: (transfer full): @info
 */
AF_PUBLIC AfSandboxInfo *af_sandbox_info_ref (AfSandboxInfo *info);

/**
 * af_sandbox_info_unref:
 * @info: (transfer full): a sandbox description
 */
AF_PUBLIC void af_sandbox_info_unref (AfSandboxInfo *info);

/**
 * af_sandbox_info_get_id:
 * @info: a sandbox description
 *
 * Returns: (transfer none): the id ("sb_…").
 */
AF_PUBLIC const char *af_sandbox_info_get_id (AfSandboxInfo *info);

/**
 * af_sandbox_info_get_codebase_id:
 * @info: a sandbox description
 *
 * Returns: (transfer none): the id of the codebase it works on.
 */
AF_PUBLIC const char *af_sandbox_info_get_codebase_id (AfSandboxInfo *info);

/**
 * af_sandbox_info_get_status:
 * @info: a sandbox description
 *
 * Returns: the status.
 */
AF_PUBLIC AfSandboxStatus af_sandbox_info_get_status (AfSandboxInfo *info);

/**
 * af_sandbox_info_get_runtime:
 * @info: a sandbox description
 *
 * Returns: the runtime.
 */
AF_PUBLIC AfRuntime af_sandbox_info_get_runtime (AfSandboxInfo *info);

/**
 * af_sandbox_info_get_image:
 * @info: a sandbox description
 *
 * Returns: (transfer none): the container image ("" for bwrap).
 */
AF_PUBLIC const char *af_sandbox_info_get_image (AfSandboxInfo *info);

/**
 * af_sandbox_info_get_resources:
 * @info: a sandbox description
 *
 * Returns: (transfer none): the resource limits (all 0 when none).
 */
AF_PUBLIC const AfResourceLimits *af_sandbox_info_get_resources (AfSandboxInfo *info);

/**
 * af_sandbox_info_get_labels:
 * @info: a sandbox description
 *
 * Returns: (transfer none) (element-type utf8 utf8): the labels; do not
 *   modify.
 */
AF_PUBLIC GHashTable *af_sandbox_info_get_labels (AfSandboxInfo *info);

/**
 * af_sandbox_info_get_permissions:
 * @info: a sandbox description
 *
 * Returns: (transfer none) (element-type AfPermissionRule): the rules in
 *   force, as the server holds them.
 */
AF_PUBLIC GPtrArray *af_sandbox_info_get_permissions (AfSandboxInfo *info);

/**
 * af_sandbox_info_get_created_at:
 * @info: a sandbox description
 *
 * Returns: (transfer none) (nullable): when it was created (UTC).
 */
AF_PUBLIC GDateTime *af_sandbox_info_get_created_at (AfSandboxInfo *info);

/**
 * af_sandbox_info_get_started_at:
 * @info: a sandbox description
 *
 * Returns: (transfer none) (nullable): when it was last started, or %NULL.
 */
AF_PUBLIC GDateTime *af_sandbox_info_get_started_at (AfSandboxInfo *info);

/**
 * af_sandbox_info_get_stopped_at:
 * @info: a sandbox description
 *
 * Returns: (transfer none) (nullable): when it was last stopped, or %NULL.
 */
AF_PUBLIC GDateTime *af_sandbox_info_get_stopped_at (AfSandboxInfo *info);

/**
 * af_sandbox_info_get_expires_at:
 * @info: a sandbox description
 *
 * Returns: (transfer none) (nullable): when the server will destroy it, or
 *   %NULL for never.
 */
AF_PUBLIC GDateTime *af_sandbox_info_get_expires_at (AfSandboxInfo *info);

/**
 * af_sandbox_info_get_commit_mode:
 * @info: a sandbox description
 *
 * Returns: when its changes reach the codebase.
 */
AF_PUBLIC AfCommitMode af_sandbox_info_get_commit_mode (AfSandboxInfo *info);

/**
 * af_sandbox_info_get_error:
 * @info: a sandbox description
 *
 * Returns: (transfer none): why it is in %AF_SANDBOX_STATUS_ERROR ("" when
 *   it is not).
 */
AF_PUBLIC const char *af_sandbox_info_get_error (AfSandboxInfo *info);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfSandboxInfo, af_sandbox_info_unref)

/**
 * AfSessionStatus:
 * @AF_SESSION_STATUS_UNKNOWN: the server did not say.
 * @AF_SESSION_STATUS_ACTIVE: commands may run in it.
 * @AF_SESSION_STATUS_CLOSED: closed.
 *
 * The values are those of `sandbox.v1.SessionStatus`.
 */
typedef enum {
  AF_SESSION_STATUS_UNKNOWN = 0,
  AF_SESSION_STATUS_ACTIVE = 1,
  AF_SESSION_STATUS_CLOSED = 2,
} AfSessionStatus;

/**
 * AfSessionInfo:
 *
 * A session as the server described it. Immutable, reference counted.
 */
typedef struct _AfSessionInfo AfSessionInfo;

/**
 * af_session_info_get_type:
 *
 * Returns: the boxed #GType of #AfSessionInfo.
 */
AF_PUBLIC GType af_session_info_get_type (void);

/**
 * af_session_info_ref:
 * @info: a session description
 *
 * Returns: (transfer full): @info
 */
AF_PUBLIC AfSessionInfo *af_session_info_ref (AfSessionInfo *info);

/**
 * af_session_info_unref:
 * @info: (transfer full): a session description
 */
AF_PUBLIC void af_session_info_unref (AfSessionInfo *info);

/**
 * af_session_info_get_id:
 * @info: a session description
 *
 * Returns: (transfer none): the id ("sess_…").
 */
AF_PUBLIC const char *af_session_info_get_id (AfSessionInfo *info);

/**
 * af_session_info_get_sandbox_id:
 * @info: a session description
 *
 * Returns: (transfer none): the sandbox it runs in.
 */
AF_PUBLIC const char *af_session_info_get_sandbox_id (AfSessionInfo *info);

/**
 * af_session_info_get_status:
 * @info: a session description
 *
 * Returns: the status.
 */
AF_PUBLIC AfSessionStatus af_session_info_get_status (AfSessionInfo *info);

/**
 * af_session_info_get_shell:
 * @info: a session description
 *
 * Returns: (transfer none): the shell it runs.
 */
AF_PUBLIC const char *af_session_info_get_shell (AfSessionInfo *info);

/**
 * af_session_info_get_created_at:
 * @info: a session description
 *
 * Returns: (transfer none) (nullable): when it was created (UTC).
 */
AF_PUBLIC GDateTime *af_session_info_get_created_at (AfSessionInfo *info);

/**
 * af_session_info_get_closed_at:
 * @info: a session description
 *
 * Returns: (transfer none) (nullable): when it was closed, or %NULL.
 */
AF_PUBLIC GDateTime *af_session_info_get_closed_at (AfSessionInfo *info);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfSessionInfo, af_session_info_unref)

/**
 * AfExecResult:
 *
 * The outcome of one command. Immutable, reference counted.
 */
typedef struct _AfExecResult AfExecResult;

/**
 * af_exec_result_get_type:
 *
 * Returns: the boxed #GType of #AfExecResult.
 */
AF_PUBLIC GType af_exec_result_get_type (void);

/**
 * af_exec_result_ref:
 * @result: a result
 *
 * Returns: (transfer full): @result
 */
AF_PUBLIC AfExecResult *af_exec_result_ref (AfExecResult *result);

/**
 * af_exec_result_unref:
 * @result: (transfer full): a result
 */
AF_PUBLIC void af_exec_result_unref (AfExecResult *result);

/**
 * af_exec_result_get_command:
 * @result: a result
 *
 * Returns: (transfer none): the command that ran.
 */
AF_PUBLIC const char *af_exec_result_get_command (AfExecResult *result);

/**
 * af_exec_result_get_stdout:
 * @result: a result
 *
 * The standard output as a NUL-terminated string: the bytes the command
 * wrote, not necessarily UTF-8 (see af_exec_result_get_stdout_bytes() for
 * output that may contain NUL bytes).
 *
 * Returns: (transfer none): the standard output.
 */
AF_PUBLIC const char *af_exec_result_get_stdout (AfExecResult *result);

/**
 * af_exec_result_get_stdout_bytes:
 * @result: a result
 *
 * Returns: (transfer none): the standard output as bytes.
 */
AF_PUBLIC GBytes *af_exec_result_get_stdout_bytes (AfExecResult *result);

/**
 * af_exec_result_get_stderr:
 * @result: a result
 *
 * Returns: (transfer none): the standard error.
 */
AF_PUBLIC const char *af_exec_result_get_stderr (AfExecResult *result);

/**
 * af_exec_result_get_exit_code:
 * @result: a result
 *
 * Returns: the exit code (128 + N for a command killed by signal N).
 */
AF_PUBLIC int af_exec_result_get_exit_code (AfExecResult *result);

/**
 * af_exec_result_get_duration:
 * @result: a result
 *
 * Returns: how long the command ran, in seconds.
 */
AF_PUBLIC double af_exec_result_get_duration (AfExecResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfExecResult, af_exec_result_unref)

/**
 * AfChanges:
 *
 * Codebase-relative paths a sandbox changed (what a commit would apply, or
 * what it applied). Immutable, reference counted.
 */
typedef struct _AfChanges AfChanges;

/**
 * af_changes_get_type:
 *
 * Returns: the boxed #GType of #AfChanges.
 */
AF_PUBLIC GType af_changes_get_type (void);

/**
 * af_changes_ref:
 * @changes: a change set
 *
 * Returns: (transfer full): @changes
 */
AF_PUBLIC AfChanges *af_changes_ref (AfChanges *changes);

/**
 * af_changes_unref:
 * @changes: (transfer full): a change set
 */
AF_PUBLIC void af_changes_unref (AfChanges *changes);

/**
 * af_changes_get_added:
 * @changes: a change set
 *
 * Returns: (transfer none) (array zero-terminated=1): paths created.
 */
AF_PUBLIC const char *const *af_changes_get_added (AfChanges *changes);

/**
 * af_changes_get_modified:
 * @changes: a change set
 *
 * Returns: (transfer none) (array zero-terminated=1): paths changed.
 */
AF_PUBLIC const char *const *af_changes_get_modified (AfChanges *changes);

/**
 * af_changes_get_deleted:
 * @changes: a change set
 *
 * Returns: (transfer none) (array zero-terminated=1): paths removed.
 */
AF_PUBLIC const char *const *af_changes_get_deleted (AfChanges *changes);

/**
 * af_changes_get_conflicts:
 * @changes: a change set
 *
 * Returns: (transfer none) (array zero-terminated=1): paths a commit kept
 *   back because the codebase changed them meanwhile.
 */
AF_PUBLIC const char *const *af_changes_get_conflicts (AfChanges *changes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfChanges, af_changes_unref)

/**
 * AfOutputKind:
 * @AF_OUTPUT_STDOUT: a chunk of standard output.
 * @AF_OUTPUT_STDERR: a chunk of standard error.
 *
 * Which stream a chunk of streamed output came from.
 */
typedef enum {
  AF_OUTPUT_STDOUT = 1,
  AF_OUTPUT_STDERR = 2,
} AfOutputKind;

/**
 * AfOutputFunc:
 * @kind: the stream the chunk came from
 * @data: (array length=length): the bytes
 * @length: how many
 * @user_data: the data given with the function
 *
 * Receives streamed output as it arrives.
 *
 * Returns: %TRUE to go on; %FALSE cancels the command's call (the call then
 *   fails with %G_IO_ERROR_CANCELLED).
 */
typedef gboolean (*AfOutputFunc) (AfOutputKind kind, const guint8 *data, gsize length,
                                  gpointer user_data);

/**
 * AfExecStream:
 *
 * The pull form of streamed output: one running command whose chunks the
 * caller reads with af_exec_stream_next(). Used by one thread at a time.
 */
typedef struct _AfExecStream AfExecStream;

/**
 * af_exec_stream_next:
 * @stream: a stream
 * @out_kind: (out): which stream the chunk came from
 * @out_data: (out) (transfer full): the chunk
 * @error: return location for an error (%AF_SDK_ERROR_COMMAND_TIMEOUT, …)
 *
 * Waits for the next chunk of output.
 *
 * Returns: %TRUE with a chunk; %FALSE at the end of the output (@error
 *   unset: the command finished) or on failure (@error set).
 */
AF_PUBLIC gboolean af_exec_stream_next (AfExecStream *stream, AfOutputKind *out_kind,
                                        GBytes **out_data, GError **error);

/**
 * AfExecStatus:
 * @reported: %TRUE when the server reported how the command ended; %FALSE
 *   from a server that does not (the fields below are then -1 / 0)
 * @exit_code: the exit code; 128 + N for a command killed by signal N (as
 *   a shell reports it)
 * @signal: the signal that killed the command, 0 if none did
 * @duration_us: how long the command ran, in microseconds
 * @stdout_truncated: the server cut standard output at its limit
 * @stderr_truncated: the server cut standard error at its limit
 *
 * How a streamed command ended. The streaming calls of the protocol carry
 * only output in their messages; afd-server sends the end in the call's
 * trailing metadata (`agentfense-exit-code`, … — see docs/api.md).
 */
typedef struct {
  gboolean reported;
  int exit_code;
  int signal;
  gint64 duration_us;
  gboolean stdout_truncated;
  gboolean stderr_truncated;
} AfExecStatus;

/**
 * af_exec_stream_get_status:
 * @stream: a stream whose output ended: af_exec_stream_next() returned
 *   %FALSE without an error
 * @out_status: (out caller-allocates): how the command ended
 *
 * Reads how the command ended. Before the end of the output, or after a
 * failed call, @out_status is not reported.
 *
 * Returns: @out_status->reported.
 */
AF_PUBLIC gboolean af_exec_stream_get_status (AfExecStream *stream, AfExecStatus *out_status);

/**
 * af_exec_stream_free:
 * @stream: (transfer full) (nullable): a stream
 *
 * Frees the stream; a command still running has its call cancelled (the
 * server kills it).
 */
AF_PUBLIC void af_exec_stream_free (AfExecStream *stream);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfExecStream, af_exec_stream_free)

G_END_DECLS
