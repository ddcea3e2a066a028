/* sandbox.h — AfSandbox, the high-level handle of one sandbox: the C form
 * of the Python SDK's `Sandbox` (its sessions: session.h).
 *
 * Ownership: a sandbox made by af_sandbox_from_local() or
 * af_sandbox_from_codebase() *owns* the server's sandbox (and, for
 * from_local, the codebase it created). Dropping the last reference to an
 * owning sandbox that was never destroyed destroys it on the server —
 * blocking, errors ignored — the C counterpart of the Python SDK's `with
 * Sandbox.from_local(...)`. Call af_sandbox_destroy() yourself to see its
 * errors, or af_sandbox_detach() to keep the sandbox after the handle goes.
 * af_sandbox_connect() owns nothing.
 *
 * Threads: the blocking functions may be called from any thread; one
 * AfSandbox may be used by several threads at once. The _async functions
 * call back on the thread-default main context of the caller, so one
 * thread can drive many sandboxes; their blocking work runs on GIO's
 * worker threads. */
#pragma once

#include <agentfense/client.h>
#include <agentfense/codebase.h>
#include <agentfense/macros.h>
#include <agentfense/sandbox-client.h>
#include <agentfense/sandbox-options.h>
#include <agentfense/sandbox-values.h>
#include <agentfense/session.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * AF_SANDBOX_DEFAULT_RUN_TIMEOUT_S:
 *
 * The timeout af_sandbox_run() uses when given 0: 60 seconds.
 */
#define AF_SANDBOX_DEFAULT_RUN_TIMEOUT_S 60

/**
 * AfDeleteCodebase:
 * @AF_DELETE_CODEBASE_DEFAULT: delete the codebase only if this handle
 *   created it (af_sandbox_from_local()).
 * @AF_DELETE_CODEBASE_YES: delete it.
 * @AF_DELETE_CODEBASE_NO: keep it.
 *
 * What af_sandbox_destroy() does with the sandbox's codebase.
 */
typedef enum {
  AF_DELETE_CODEBASE_DEFAULT = 0,
  AF_DELETE_CODEBASE_YES = 1,
  AF_DELETE_CODEBASE_NO = 2,
} AfDeleteCodebase;

/**
 * AfSandbox:
 *
 * A handle on one sandbox of a server.
 */
#define AF_TYPE_SANDBOX (af_sandbox_get_type ())
/**
 * af_sandbox_get_type:
 *
 * Returns: the #GType of #AfSandbox.
 */
/* Declared once more for the export attribute; the scanner must see one. */
#ifndef __GI_SCANNER__
AF_PUBLIC GType af_sandbox_get_type (void);
#endif
G_DECLARE_FINAL_TYPE (AfSandbox, af_sandbox, AF, SANDBOX, GObject)

/**
 * af_sandbox_from_local:
 * @path: a local directory
 * @options: (nullable): options; %NULL for all defaults
 * @error: return location for an error (%AF_SDK_ERROR_INVALID_CONFIGURATION
 *   when @path is not a directory or the preset is unknown,
 *   %AF_SDK_ERROR_UPLOAD, %AF_SDK_ERROR_CONNECTION, …)
 *
 * Creates a codebase (named after the directory unless the options name
 * it), uploads every file of @path that the ignore rules keep (the root's
 * `.gitignore` and `.sandboxignore`, the options' patterns) and that is
 * not larger than the size limit (skipped files: af_sandbox_get_skipped()),
 * expands the preset, appends the options' rules, creates the sandbox and
 * starts it unless auto-start is off. On failure nothing created is left
 * on the server.
 *
 * Returns: (transfer full): an owning sandbox, or %NULL with @error set.
 */
AF_PUBLIC AfSandbox *af_sandbox_from_local (const char *path, AfSandboxOptions *options,
                                            GError **error);

/**
 * af_sandbox_from_local_async:
 * @path: a local directory
 * @options: (nullable): options (read before this returns)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called on the caller's thread-default main context when done
 * @user_data: data for @callback
 *
 * The asynchronous form of af_sandbox_from_local().
 */
AF_PUBLIC void af_sandbox_from_local_async (const char *path, AfSandboxOptions *options,
                                            GCancellable *cancellable, GAsyncReadyCallback callback,
                                            gpointer user_data);

/**
 * af_sandbox_from_local_finish:
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): an owning sandbox, or %NULL with @error set.
 */
AF_PUBLIC AfSandbox *af_sandbox_from_local_finish (GAsyncResult *result, GError **error);

/**
 * af_sandbox_from_codebase:
 * @codebase_id: an existing codebase
 * @options: (nullable): options (the upload options are ignored)
 * @error: return location for an error (%AF_SDK_ERROR_CODEBASE_NOT_FOUND, …)
 *
 * Creates (and unless told otherwise starts) a sandbox over an existing
 * codebase. The sandbox is owned; the codebase is not.
 *
 * Returns: (transfer full): an owning sandbox, or %NULL with @error set.
 */
AF_PUBLIC AfSandbox *af_sandbox_from_codebase (const char *codebase_id, AfSandboxOptions *options,
                                               GError **error);

/**
 * af_sandbox_connect:
 * @sandbox_id: an existing sandbox
 * @endpoint: (nullable): the server; %NULL for the default
 * @secure: whether to use TLS
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_FOUND, …)
 *
 * A handle on an existing sandbox (for example one made by another
 * process). It owns neither the sandbox nor its codebase.
 *
 * Returns: (transfer full): the sandbox, or %NULL with @error set.
 */
AF_PUBLIC AfSandbox *af_sandbox_connect (const char *sandbox_id, const char *endpoint,
                                         gboolean secure, GError **error);

/**
 * af_sandbox_connect_with_client:
 * @client: a client
 * @sandbox_id: an existing sandbox
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_FOUND, …)
 *
 * Like af_sandbox_connect() over an existing client.
 *
 * Returns: (transfer full): the sandbox, or %NULL with @error set.
 */
AF_PUBLIC AfSandbox *af_sandbox_connect_with_client (AfClient *client, const char *sandbox_id,
                                                     GCancellable *cancellable, GError **error);

/**
 * af_sandbox_get_client:
 * @sandbox: a sandbox
 *
 * Returns: (transfer none): the client it talks through.
 */
AF_PUBLIC AfClient *af_sandbox_get_client (AfSandbox *sandbox);

/**
 * af_sandbox_get_id:
 * @sandbox: a sandbox
 *
 * Returns: (transfer none): the sandbox id ("sb_…").
 */
AF_PUBLIC const char *af_sandbox_get_id (AfSandbox *sandbox);

/**
 * af_sandbox_get_codebase_id:
 * @sandbox: a sandbox
 *
 * Returns: (transfer none): the id of its codebase.
 */
AF_PUBLIC const char *af_sandbox_get_codebase_id (AfSandbox *sandbox);

/**
 * af_sandbox_get_status:
 * @sandbox: a sandbox
 *
 * The status as of the last call that told it (af_sandbox_refresh() asks).
 *
 * Returns: the status.
 */
AF_PUBLIC AfSandboxStatus af_sandbox_get_status (AfSandbox *sandbox);

/**
 * af_sandbox_get_runtime:
 * @sandbox: a sandbox
 *
 * Returns: the runtime.
 */
AF_PUBLIC AfRuntime af_sandbox_get_runtime (AfSandbox *sandbox);

/**
 * af_sandbox_get_info:
 * @sandbox: a sandbox
 *
 * Returns: (transfer full): the last description the server gave
 *   (timestamps, labels, resources, rules).
 */
AF_PUBLIC AfSandboxInfo *af_sandbox_get_info (AfSandbox *sandbox);

/**
 * af_sandbox_get_codebase:
 * @sandbox: a sandbox
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_CODEBASE_NOT_FOUND)
 *
 * Asks the server for the sandbox's codebase (name, file count, size).
 *
 * Returns: (transfer full): the codebase, or %NULL with @error set.
 */
AF_PUBLIC AfCodebase *af_sandbox_get_codebase (AfSandbox *sandbox, GCancellable *cancellable,
                                               GError **error);

/**
 * af_sandbox_get_skipped:
 * @sandbox: a sandbox
 *
 * Returns: (transfer none) (element-type AfLocalFile) (nullable): the files
 *   af_sandbox_from_local() did not upload for a reason other than an
 *   ignore pattern (too large, not a regular file); %NULL for a sandbox not
 *   made by it.
 */
AF_PUBLIC GPtrArray *af_sandbox_get_skipped (AfSandbox *sandbox);

/**
 * af_sandbox_get_owned:
 * @sandbox: a sandbox
 *
 * Returns: whether dropping the last reference destroys the sandbox.
 */
AF_PUBLIC gboolean af_sandbox_get_owned (AfSandbox *sandbox);

/**
 * af_sandbox_detach:
 * @sandbox: a sandbox
 *
 * Gives up ownership: the sandbox (and a codebase this handle created)
 * stays on the server after the last reference is dropped.
 */
AF_PUBLIC void af_sandbox_detach (AfSandbox *sandbox);

/**
 * af_sandbox_start:
 * @sandbox: a sandbox
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_RUNNING
 *   when it already runs, …)
 *
 * Returns: %TRUE once it runs.
 */
AF_PUBLIC gboolean af_sandbox_start (AfSandbox *sandbox, GCancellable *cancellable, GError **error);

/**
 * af_sandbox_stop:
 * @sandbox: a sandbox
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_RUNNING
 *   when it does not run, …)
 *
 * Returns: %TRUE once it stopped.
 */
AF_PUBLIC gboolean af_sandbox_stop (AfSandbox *sandbox, GCancellable *cancellable, GError **error);

/**
 * af_sandbox_refresh:
 * @sandbox: a sandbox
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_FOUND)
 *
 * Asks the server for the sandbox's current state.
 *
 * Returns: %TRUE on success.
 */
AF_PUBLIC gboolean af_sandbox_refresh (AfSandbox *sandbox, GCancellable *cancellable,
                                       GError **error);

/**
 * af_sandbox_destroy:
 * @sandbox: a sandbox
 * @delete_codebase: what to do with the codebase
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Destroys the sandbox on the server (stopping it first if it runs), then
 * deletes the codebase if @delete_codebase says so. The handle stays valid
 * for its getters; it no longer owns anything.
 *
 * Returns: %TRUE on success.
 */
AF_PUBLIC gboolean af_sandbox_destroy (AfSandbox *sandbox, AfDeleteCodebase delete_codebase,
                                       GCancellable *cancellable, GError **error);

/**
 * af_sandbox_destroy_async:
 * @sandbox: a sandbox
 * @delete_codebase: what to do with the codebase
 * @cancellable: (nullable): a #GCancellable
 * @callback: called on the caller's thread-default main context when done
 * @user_data: data for @callback
 *
 * The asynchronous form of af_sandbox_destroy().
 */
AF_PUBLIC void af_sandbox_destroy_async (AfSandbox *sandbox, AfDeleteCodebase delete_codebase,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data);

/**
 * af_sandbox_destroy_finish:
 * @sandbox: a sandbox
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: %TRUE on success.
 */
AF_PUBLIC gboolean af_sandbox_destroy_finish (AfSandbox *sandbox, GAsyncResult *result,
                                              GError **error);

/**
 * af_sandbox_run:
 * @sandbox: a running sandbox
 * @command: a shell command line
 * @timeout_s: the timeout in seconds; 0 for
 *   %AF_SANDBOX_DEFAULT_RUN_TIMEOUT_S
 * @env: (nullable) (element-type utf8 utf8): extra environment variables
 * @workdir: (nullable): the working directory; %NULL for `/workspace`
 * @raise_on_error: whether a non-zero exit is an error
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_COMMAND_FAILED with
 *   @raise_on_error — af_sdk_error_get_exit_code() and
 *   af_sdk_error_get_stderr() tell more —, %AF_SDK_ERROR_COMMAND_TIMEOUT,
 *   %AF_SDK_ERROR_SANDBOX_NOT_RUNNING, …)
 *
 * Runs a command to its end (the Python SDK's `Sandbox.run`).
 *
 * Returns: (transfer full): the result, or %NULL with @error set.
 */
AF_PUBLIC AfExecResult *af_sandbox_run (AfSandbox *sandbox, const char *command, guint timeout_s,
                                        GHashTable *env, const char *workdir,
                                        gboolean raise_on_error, GCancellable *cancellable,
                                        GError **error);

/**
 * af_sandbox_run_async:
 * @sandbox: a running sandbox
 * @command: a shell command line
 * @timeout_s: the timeout in seconds; 0 for the default
 * @env: (nullable) (element-type utf8 utf8): extra environment variables
 *   (copied)
 * @workdir: (nullable): the working directory
 * @raise_on_error: whether a non-zero exit is an error
 * @cancellable: (nullable): a #GCancellable
 * @callback: called on the caller's thread-default main context when done
 * @user_data: data for @callback
 *
 * The asynchronous form of af_sandbox_run().
 */
AF_PUBLIC void af_sandbox_run_async (AfSandbox *sandbox, const char *command, guint timeout_s,
                                     GHashTable *env, const char *workdir, gboolean raise_on_error,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data);

/**
 * af_sandbox_run_finish:
 * @sandbox: a sandbox
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): the result, or %NULL with @error set.
 */
AF_PUBLIC AfExecResult *af_sandbox_run_finish (AfSandbox *sandbox, GAsyncResult *result,
                                               GError **error);

/**
 * af_sandbox_exec:
 * @sandbox: a running sandbox
 * @command: a shell command line
 * @stdin_text: (nullable): standard input
 * @env: (nullable) (element-type utf8 utf8): extra environment variables
 * @workdir: (nullable): the working directory; %NULL for `/workspace`
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Runs a command to its end; a non-zero exit is not an error.
 *
 * Returns: (transfer full): the result, or %NULL with @error set.
 */
AF_PUBLIC AfExecResult *af_sandbox_exec (AfSandbox *sandbox, const char *command,
                                         const char *stdin_text, GHashTable *env,
                                         const char *workdir, guint timeout_s,
                                         GCancellable *cancellable, GError **error);

/**
 * af_sandbox_exec_async:
 * @sandbox: a running sandbox
 * @command: a shell command line
 * @stdin_text: (nullable): standard input (copied)
 * @env: (nullable) (element-type utf8 utf8): extra environment (copied)
 * @workdir: (nullable): the working directory
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @cancellable: (nullable): a #GCancellable
 * @callback: called on the caller's thread-default main context when done
 * @user_data: data for @callback
 *
 * The asynchronous form of af_sandbox_exec().
 */
AF_PUBLIC void af_sandbox_exec_async (AfSandbox *sandbox, const char *command,
                                      const char *stdin_text, GHashTable *env, const char *workdir,
                                      guint timeout_s, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data);

/**
 * af_sandbox_exec_finish:
 * @sandbox: a sandbox
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): the result, or %NULL with @error set.
 */
AF_PUBLIC AfExecResult *af_sandbox_exec_finish (AfSandbox *sandbox, GAsyncResult *result,
                                                GError **error);

/**
 * af_sandbox_exec_stream:
 * @sandbox: a running sandbox
 * @command: a shell command line
 * @stdin_text: (nullable): standard input
 * @env: (nullable) (element-type utf8 utf8): extra environment variables
 * @workdir: (nullable): the working directory
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @func: (scope call): called with each chunk, stdout and stderr labelled
 * @user_data: data for @func
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Runs a command, handing its output to @func as it arrives.
 *
 * Returns: %TRUE when the command finished and all output was delivered.
 */
AF_PUBLIC gboolean af_sandbox_exec_stream (AfSandbox *sandbox, const char *command,
                                           const char *stdin_text, GHashTable *env,
                                           const char *workdir, guint timeout_s, AfOutputFunc func,
                                           gpointer user_data, GCancellable *cancellable,
                                           GError **error);

/**
 * af_sandbox_exec_stream_with_status:
 * @sandbox: a running sandbox
 * @command: a shell command line
 * @stdin_text: (nullable): standard input
 * @env: (nullable) (element-type utf8 utf8): extra environment variables
 * @workdir: (nullable): the working directory
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @func: (scope call): called with each chunk, stdout and stderr labelled
 * @user_data: data for @func
 * @out_status: (out caller-allocates) (optional): how the command ended:
 *   exit code, signal, duration (see #AfExecStatus)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * af_sandbox_exec_stream(), and the exit status at the end.
 *
 * Returns: %TRUE when the command finished and all output was delivered.
 */
AF_PUBLIC gboolean af_sandbox_exec_stream_with_status (AfSandbox *sandbox, const char *command,
                                                       const char *stdin_text, GHashTable *env,
                                                       const char *workdir, guint timeout_s,
                                                       AfOutputFunc func, gpointer user_data,
                                                       AfExecStatus *out_status,
                                                       GCancellable *cancellable, GError **error);

/**
 * af_sandbox_exec_stream_start: (skip)
 * @sandbox: a running sandbox
 * @command: a shell command line
 * @stdin_text: (nullable): standard input
 * @env: (nullable) (element-type utf8 utf8): extra environment variables
 * @workdir: (nullable): the working directory
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @cancellable: (nullable): a #GCancellable for the whole command
 * @error: return location for an error
 *
 * The pull form: read the output with af_exec_stream_next().
 *
 * Returns: (transfer full): the stream, or %NULL with @error set.
 */
AF_PUBLIC AfExecStream *af_sandbox_exec_stream_start (AfSandbox *sandbox, const char *command,
                                                      const char *stdin_text, GHashTable *env,
                                                      const char *workdir, guint timeout_s,
                                                      GCancellable *cancellable, GError **error);

/**
 * af_sandbox_read_file:
 * @sandbox: a sandbox
 * @path: `/workspace/…` or a path relative to the codebase root
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_FILE_NOT_FOUND;
 *   %AF_SDK_ERROR_FAILED when the content is not UTF-8)
 *
 * Returns: (transfer full): the content as UTF-8 text, or %NULL.
 */
AF_PUBLIC char *af_sandbox_read_file (AfSandbox *sandbox, const char *path,
                                      GCancellable *cancellable, GError **error);

/**
 * af_sandbox_read_file_bytes:
 * @sandbox: a sandbox
 * @path: `/workspace/…` or a path relative to the codebase root
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_FILE_NOT_FOUND)
 *
 * Returns: (transfer full): the content, or %NULL with @error set.
 */
AF_PUBLIC GBytes *af_sandbox_read_file_bytes (AfSandbox *sandbox, const char *path,
                                              GCancellable *cancellable, GError **error);

/**
 * af_sandbox_write_file:
 * @sandbox: a sandbox
 * @path: `/workspace/…` or a path relative to the codebase root
 * @content: the text to write
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Creates or replaces a file of the sandbox's codebase.
 *
 * Returns: %TRUE on success.
 */
AF_PUBLIC gboolean af_sandbox_write_file (AfSandbox *sandbox, const char *path, const char *content,
                                          GCancellable *cancellable, GError **error);

/**
 * af_sandbox_write_file_bytes:
 * @sandbox: a sandbox
 * @path: `/workspace/…` or a path relative to the codebase root
 * @content: the bytes to write
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Returns: %TRUE on success.
 */
AF_PUBLIC gboolean af_sandbox_write_file_bytes (AfSandbox *sandbox, const char *path,
                                                GBytes *content, GCancellable *cancellable,
                                                GError **error);

/**
 * af_sandbox_list_files:
 * @sandbox: a sandbox
 * @path: (nullable): `/workspace/…`, a codebase-relative directory, or
 *   %NULL for the root
 * @recursive: whether to list everything below
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Returns: (transfer container) (element-type AfFileInfo): the entries
 *   (paths relative to the codebase root), or %NULL with @error set.
 */
AF_PUBLIC GPtrArray *af_sandbox_list_files (AfSandbox *sandbox, const char *path,
                                            gboolean recursive, GCancellable *cancellable,
                                            GError **error);

/**
 * af_sandbox_session:
 * @sandbox: a running sandbox
 * @shell: (nullable): the shell; %NULL for the server's default
 * @env: (nullable) (element-type utf8 utf8): environment of the shell
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Returns: (transfer full): a new session, or %NULL with @error set.
 */
AF_PUBLIC AfSession *af_sandbox_session (AfSandbox *sandbox, const char *shell, GHashTable *env,
                                         GCancellable *cancellable, GError **error);

G_END_DECLS
