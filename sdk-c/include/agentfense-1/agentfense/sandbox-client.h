/* sandbox-client.h — the low-level calls of #AfClient for every method of
 * sandbox.v1 SandboxService (sandboxes, commands, sessions) and its
 * extensions (changes, commit, discard, live rule updates).
 *
 * Each function is one call (list functions follow pages); nothing is
 * cached or owned beyond it. The high-level #AfSandbox is built on these.
 *
 * Timeouts are in seconds; 0 means the server's default (60 s). Each
 * @env is a #GHashTable of string keys and values, or %NULL. */
#pragma once

#include <agentfense/client.h>
#include <agentfense/macros.h>
#include <agentfense/sandbox-options.h>
#include <agentfense/sandbox-values.h>

G_BEGIN_DECLS

/**
 * AF_CLIENT_MAX_TIMEOUT_S:
 *
 * The longest command timeout a call accepts (one day); more fails with
 * %AF_SDK_ERROR_INVALID_CONFIGURATION.
 */
#define AF_CLIENT_MAX_TIMEOUT_S (24 * 3600)

/**
 * af_client_create_sandbox:
 * @client: a client
 * @codebase_id: the codebase the sandbox works on
 * @rules: (element-type AfPermissionRule): the rules, fully expanded (see
 *   af_presets_extend())
 * @options: (nullable): the runtime, image, resources, labels, expiry and
 *   commit mode to ask for; the rest of the options is ignored here
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_CODEBASE_NOT_FOUND,
 *   %AF_SDK_ERROR_INVALID_CONFIGURATION for a rule the server refuses, …)
 *
 * Creates a sandbox (not started).
 *
 * Returns: (transfer full): the new sandbox, or %NULL with @error set.
 */
AF_PUBLIC AfSandboxInfo *af_client_create_sandbox (AfClient *client, const char *codebase_id,
                                                   GPtrArray *rules, AfSandboxOptions *options,
                                                   GCancellable *cancellable, GError **error);

/**
 * af_client_get_sandbox:
 * @client: a client
 * @sandbox_id: a sandbox id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_FOUND)
 *
 * Returns: (transfer full): the sandbox, or %NULL with @error set.
 */
AF_PUBLIC AfSandboxInfo *af_client_get_sandbox (AfClient *client, const char *sandbox_id,
                                                GCancellable *cancellable, GError **error);

/**
 * af_client_list_sandboxes:
 * @client: a client
 * @codebase_id: (nullable): only sandboxes over this codebase; %NULL for
 *   all
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Lists sandboxes, following the server's pages to the end.
 *
 * Returns: (transfer container) (element-type AfSandboxInfo): the
 *   sandboxes, or %NULL with @error set.
 */
AF_PUBLIC GPtrArray *af_client_list_sandboxes (AfClient *client, const char *codebase_id,
                                               GCancellable *cancellable, GError **error);

/**
 * af_client_start_sandbox:
 * @client: a client
 * @sandbox_id: a sandbox id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_FOUND;
 *   %AF_SDK_ERROR_SANDBOX_NOT_RUNNING when it is already running)
 *
 * Starts a created or stopped sandbox; returns once it runs.
 *
 * Returns: (transfer full): the sandbox after the start, or %NULL.
 */
AF_PUBLIC AfSandboxInfo *af_client_start_sandbox (AfClient *client, const char *sandbox_id,
                                                  GCancellable *cancellable, GError **error);

/**
 * af_client_stop_sandbox:
 * @client: a client
 * @sandbox_id: a sandbox id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_FOUND;
 *   %AF_SDK_ERROR_SANDBOX_NOT_RUNNING when it is not running)
 *
 * Stops a running sandbox: its sessions and processes end.
 *
 * Returns: (transfer full): the sandbox after the stop, or %NULL.
 */
AF_PUBLIC AfSandboxInfo *af_client_stop_sandbox (AfClient *client, const char *sandbox_id,
                                                 GCancellable *cancellable, GError **error);

/**
 * af_client_destroy_sandbox:
 * @client: a client
 * @sandbox_id: a sandbox id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_FOUND)
 *
 * Stops (if needed) and removes a sandbox; its codebase stays.
 *
 * Returns: %TRUE when it is gone.
 */
AF_PUBLIC gboolean af_client_destroy_sandbox (AfClient *client, const char *sandbox_id,
                                              GCancellable *cancellable, GError **error);

/**
 * af_client_exec:
 * @client: a client
 * @sandbox_id: a running sandbox
 * @command: a shell command line (run with `sh -c`)
 * @stdin_text: (nullable): what the command reads on standard input
 * @env: (nullable) (element-type utf8 utf8): extra environment variables
 * @workdir: (nullable): the working directory; %NULL for `/workspace`
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_FOUND,
 *   %AF_SDK_ERROR_SANDBOX_NOT_RUNNING, %AF_SDK_ERROR_COMMAND_TIMEOUT, …)
 *
 * Runs a command to its end. A non-zero exit is not an error: the result
 * carries it.
 *
 * Returns: (transfer full): the result, or %NULL with @error set.
 */
AF_PUBLIC AfExecResult *af_client_exec (AfClient *client, const char *sandbox_id,
                                        const char *command, const char *stdin_text,
                                        GHashTable *env, const char *workdir, guint timeout_s,
                                        GCancellable *cancellable, GError **error);

/**
 * af_client_exec_stream:
 * @client: a client
 * @sandbox_id: a running sandbox
 * @command: a shell command line
 * @stdin_text: (nullable): standard input
 * @env: (nullable) (element-type utf8 utf8): extra environment variables
 * @workdir: (nullable): the working directory
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @func: (scope call): called with each chunk of output as it arrives
 * @user_data: data for @func
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Runs a command, handing its output to @func while it runs.
 * af_client_exec_stream_with_status() also tells how it ended.
 *
 * Returns: %TRUE when the command finished and all output was delivered.
 */
AF_PUBLIC gboolean af_client_exec_stream (AfClient *client, const char *sandbox_id,
                                          const char *command, const char *stdin_text,
                                          GHashTable *env, const char *workdir, guint timeout_s,
                                          AfOutputFunc func, gpointer user_data,
                                          GCancellable *cancellable, GError **error);

/**
 * af_client_exec_stream_with_status:
 * @client: a client
 * @sandbox_id: a running sandbox
 * @command: a shell command line
 * @stdin_text: (nullable): standard input
 * @env: (nullable) (element-type utf8 utf8): extra environment variables
 * @workdir: (nullable): the working directory
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @func: (scope call): called with each chunk of output as it arrives
 * @user_data: data for @func
 * @out_status: (out caller-allocates) (optional): how the command ended,
 *   once it did (see #AfExecStatus)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * af_client_exec_stream(), and the exit status the server reported at the
 * end of the stream.
 *
 * Returns: %TRUE when the command finished and all output was delivered.
 */
AF_PUBLIC gboolean af_client_exec_stream_with_status (AfClient *client, const char *sandbox_id,
                                                      const char *command, const char *stdin_text,
                                                      GHashTable *env, const char *workdir,
                                                      guint timeout_s, AfOutputFunc func,
                                                      gpointer user_data, AfExecStatus *out_status,
                                                      GCancellable *cancellable, GError **error);

/**
 * af_client_exec_stream_start: (skip)
 * @client: a client
 * @sandbox_id: a running sandbox
 * @command: a shell command line
 * @stdin_text: (nullable): standard input
 * @env: (nullable) (element-type utf8 utf8): extra environment variables
 * @workdir: (nullable): the working directory
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @cancellable: (nullable): a #GCancellable for the whole command
 * @error: return location for an error
 *
 * Starts a command whose output the caller pulls with
 * af_exec_stream_next(). Errors of the call itself (an unknown sandbox)
 * show on the first af_exec_stream_next().
 *
 * Returns: (transfer full): the stream, or %NULL with @error set.
 */
AF_PUBLIC AfExecStream *af_client_exec_stream_start (AfClient *client, const char *sandbox_id,
                                                     const char *command, const char *stdin_text,
                                                     GHashTable *env, const char *workdir,
                                                     guint timeout_s, GCancellable *cancellable,
                                                     GError **error);

/**
 * af_client_create_session:
 * @client: a client
 * @sandbox_id: a running sandbox
 * @shell: (nullable): the shell; %NULL for the server's default
 * @env: (nullable) (element-type utf8 utf8): environment of the shell
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_FOUND,
 *   %AF_SDK_ERROR_SANDBOX_NOT_RUNNING, %AF_SDK_ERROR_RESOURCE_LIMIT)
 *
 * Starts a shell that keeps its state (directory, variables) between
 * commands.
 *
 * Returns: (transfer full): the session, or %NULL with @error set.
 */
AF_PUBLIC AfSessionInfo *af_client_create_session (AfClient *client, const char *sandbox_id,
                                                   const char *shell, GHashTable *env,
                                                   GCancellable *cancellable, GError **error);

/**
 * af_client_get_session:
 * @client: a client
 * @session_id: a session id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SESSION_NOT_FOUND)
 *
 * Returns: (transfer full): the session, or %NULL with @error set.
 */
AF_PUBLIC AfSessionInfo *af_client_get_session (AfClient *client, const char *session_id,
                                                GCancellable *cancellable, GError **error);

/**
 * af_client_list_sessions:
 * @client: a client
 * @sandbox_id: a sandbox id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_FOUND)
 *
 * Returns: (transfer container) (element-type AfSessionInfo): the sessions
 *   of the sandbox, or %NULL with @error set.
 */
AF_PUBLIC GPtrArray *af_client_list_sessions (AfClient *client, const char *sandbox_id,
                                              GCancellable *cancellable, GError **error);

/**
 * af_client_destroy_session:
 * @client: a client
 * @session_id: a session id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SESSION_NOT_FOUND)
 *
 * Closes a session: its shell and everything it started end.
 *
 * Returns: %TRUE when it is closed.
 */
AF_PUBLIC gboolean af_client_destroy_session (AfClient *client, const char *session_id,
                                              GCancellable *cancellable, GError **error);

/**
 * af_client_session_exec:
 * @client: a client
 * @session_id: an active session
 * @command: a command line for the session's shell
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SESSION_NOT_FOUND,
 *   %AF_SDK_ERROR_SESSION_CLOSED, %AF_SDK_ERROR_COMMAND_TIMEOUT, …)
 *
 * Returns: (transfer full): the result, or %NULL with @error set.
 */
AF_PUBLIC AfExecResult *af_client_session_exec (AfClient *client, const char *session_id,
                                                const char *command, guint timeout_s,
                                                GCancellable *cancellable, GError **error);

/**
 * af_client_session_exec_stream:
 * @client: a client
 * @session_id: an active session
 * @command: a command line for the session's shell
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @func: (scope call): called with each chunk of output
 * @user_data: data for @func
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Returns: %TRUE when the command finished and all output was delivered.
 */
AF_PUBLIC gboolean af_client_session_exec_stream (AfClient *client, const char *session_id,
                                                  const char *command, guint timeout_s,
                                                  AfOutputFunc func, gpointer user_data,
                                                  GCancellable *cancellable, GError **error);

/**
 * af_client_session_exec_stream_with_status:
 * @client: a client
 * @session_id: an open session
 * @command: a command line for the session's shell
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @func: (scope call): called with each chunk of output
 * @user_data: data for @func
 * @out_status: (out caller-allocates) (optional): how the command ended
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * af_client_session_exec_stream(), and the exit status the server
 * reported at the end of the stream.
 *
 * Returns: %TRUE when the command finished and all output was delivered.
 */
AF_PUBLIC gboolean af_client_session_exec_stream_with_status (
    AfClient *client, const char *session_id, const char *command, guint timeout_s,
    AfOutputFunc func, gpointer user_data, AfExecStatus *out_status, GCancellable *cancellable,
    GError **error);

/**
 * af_client_session_exec_stream_start: (skip)
 * @client: a client
 * @session_id: an active session
 * @command: a command line for the session's shell
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @cancellable: (nullable): a #GCancellable for the whole command
 * @error: return location for an error
 *
 * Returns: (transfer full): a stream to read with af_exec_stream_next(), or
 *   %NULL with @error set.
 */
AF_PUBLIC AfExecStream *
af_client_session_exec_stream_start (AfClient *client, const char *session_id, const char *command,
                                     guint timeout_s, GCancellable *cancellable, GError **error);

/**
 * af_client_get_changes:
 * @client: a client
 * @sandbox_id: a sandbox id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_FOUND)
 *
 * What a commit of the sandbox's changes would apply to the codebase now.
 *
 * Returns: (transfer full): the pending changes, or %NULL with @error set.
 */
AF_PUBLIC AfChanges *af_client_get_changes (AfClient *client, const char *sandbox_id,
                                            GCancellable *cancellable, GError **error);

/**
 * af_client_commit_changes:
 * @client: a client
 * @sandbox_id: a sandbox id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_FOUND)
 *
 * Applies the sandbox's changes to its codebase.
 *
 * Returns: (transfer full): what was applied, and the conflicts kept back,
 *   or %NULL with @error set.
 */
AF_PUBLIC AfChanges *af_client_commit_changes (AfClient *client, const char *sandbox_id,
                                               GCancellable *cancellable, GError **error);

/**
 * af_client_discard_changes:
 * @client: a client
 * @sandbox_id: a sandbox id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_FOUND)
 *
 * Drops the sandbox's uncommitted changes.
 *
 * Returns: %TRUE on success.
 */
AF_PUBLIC gboolean af_client_discard_changes (AfClient *client, const char *sandbox_id,
                                              GCancellable *cancellable, GError **error);

/**
 * af_client_update_permissions:
 * @client: a client
 * @sandbox_id: a sandbox id
 * @rules: (element-type AfPermissionRule): the new rules, fully expanded;
 *   they replace the old ones, live for a running sandbox
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SANDBOX_NOT_FOUND,
 *   %AF_SDK_ERROR_INVALID_CONFIGURATION)
 *
 * Returns: (transfer full): the sandbox with its new rules, or %NULL.
 */
AF_PUBLIC AfSandboxInfo *af_client_update_permissions (AfClient *client, const char *sandbox_id,
                                                       GPtrArray *rules, GCancellable *cancellable,
                                                       GError **error);

G_END_DECLS
