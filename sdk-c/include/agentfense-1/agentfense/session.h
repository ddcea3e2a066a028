/* session.h — AfSession, a shell inside a sandbox that keeps its state
 * (working directory, variables) between commands: the C form of the
 * Python SDK's `Session`. Made by af_sandbox_session() (sandbox.h).
 *
 * A session holds a reference on its sandbox. Dropping the last reference
 * to a session that was not closed closes it on the server (blocking,
 * errors ignored), like leaving `with sandbox.session() as s:`. */
#pragma once

#include <agentfense/macros.h>
#include <agentfense/sandbox-values.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * AfSession:
 *
 * A shell in a sandbox that keeps its state between commands. Reference
 * counted; dropping the last reference to a session that was not closed
 * closes it (blocking, errors ignored).
 */
typedef struct _AfSession AfSession;

/**
 * af_session_get_type:
 *
 * Returns: the boxed #GType of #AfSession.
 */
AF_PUBLIC GType af_session_get_type (void);

/**
 * af_session_ref:
 * @session: a session
 *
 * Returns: (transfer full): @session
 */
AF_PUBLIC AfSession *af_session_ref (AfSession *session);

/**
 * af_session_unref:
 * @session: (transfer full): a session
 */
AF_PUBLIC void af_session_unref (AfSession *session);

/**
 * af_session_get_id:
 * @session: a session
 *
 * Returns: (transfer none): the session id ("sess_…").
 */
AF_PUBLIC const char *af_session_get_id (AfSession *session);

/**
 * af_session_get_info:
 * @session: a session
 *
 * Returns: (transfer none): the description the server gave at creation.
 */
AF_PUBLIC AfSessionInfo *af_session_get_info (AfSession *session);

/**
 * af_session_is_closed:
 * @session: a session
 *
 * Returns: whether af_session_close() was called on it.
 */
AF_PUBLIC gboolean af_session_is_closed (AfSession *session);

/**
 * af_session_exec:
 * @session: an open session
 * @command: a command line for the session's shell
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_SESSION_CLOSED, …)
 *
 * Returns: (transfer full): the result, or %NULL with @error set.
 */
AF_PUBLIC AfExecResult *af_session_exec (AfSession *session, const char *command, guint timeout_s,
                                         GCancellable *cancellable, GError **error);

/**
 * af_session_exec_async:
 * @session: an open session
 * @command: a command line for the session's shell
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @cancellable: (nullable): a #GCancellable
 * @callback: called on the caller's thread-default main context when done
 * @user_data: data for @callback
 *
 * The asynchronous form of af_session_exec(). Commands of one session run
 * one after another on the server.
 */
AF_PUBLIC void af_session_exec_async (AfSession *session, const char *command, guint timeout_s,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);

/**
 * af_session_exec_finish:
 * @session: a session
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): the result, or %NULL with @error set.
 */
AF_PUBLIC AfExecResult *af_session_exec_finish (AfSession *session, GAsyncResult *result,
                                                GError **error);

/**
 * af_session_exec_stream:
 * @session: an open session
 * @command: a command line for the session's shell
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @func: (scope call): called with each chunk of output
 * @user_data: data for @func
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Returns: %TRUE when the command finished and all output was delivered.
 */
AF_PUBLIC gboolean af_session_exec_stream (AfSession *session, const char *command, guint timeout_s,
                                           AfOutputFunc func, gpointer user_data,
                                           GCancellable *cancellable, GError **error);

/**
 * af_session_exec_stream_with_status:
 * @session: an open session
 * @command: a command line for the session's shell
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @func: (scope call): called with each chunk of output
 * @user_data: data for @func
 * @out_status: (out caller-allocates) (optional): how the command ended
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * af_session_exec_stream(), and the exit status at the end.
 *
 * Returns: %TRUE when the command finished and all output was delivered.
 */
AF_PUBLIC gboolean af_session_exec_stream_with_status (AfSession *session, const char *command,
                                                       guint timeout_s, AfOutputFunc func,
                                                       gpointer user_data, AfExecStatus *out_status,
                                                       GCancellable *cancellable, GError **error);

/**
 * af_session_exec_stream_start: (skip)
 * @session: an open session
 * @command: a command line for the session's shell
 * @timeout_s: the timeout in seconds; 0 for the server's default
 * @cancellable: (nullable): a #GCancellable for the whole command
 * @error: return location for an error
 *
 * Returns: (transfer full): a stream to read with af_exec_stream_next().
 */
AF_PUBLIC AfExecStream *af_session_exec_stream_start (AfSession *session, const char *command,
                                                      guint timeout_s, GCancellable *cancellable,
                                                      GError **error);

/**
 * af_session_close:
 * @session: a session
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Closes the session on the server. Closing a closed session does nothing.
 *
 * Returns: %TRUE on success.
 */
AF_PUBLIC gboolean af_session_close (AfSession *session, GCancellable *cancellable, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfSession, af_session_unref)

G_END_DECLS
