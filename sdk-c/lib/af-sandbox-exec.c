/* af-sandbox-exec.c — commands of an AfSandbox (run, exec, exec_stream),
 * AfSession, and the asynchronous forms of the high-level API.
 *
 * Owns: the Python SDK's semantics on top of the wire calls (run's 60 s
 * default and raise_on_error, a session closed locally refusing work).
 * Must never: block the caller's thread in an _async function — the
 * blocking call runs on a GIO worker thread and the callback on the
 * caller's thread-default context — or touch caller memory after an _async
 * function returned (arguments are copied). */
#include "af-sdk-private.h"

struct _AfSession {
  gint ref_count;
  AfSandbox *sandbox; /* a reference: the session lives in it */
  AfSessionInfo *info;
  gint closed; /* atomic */
};

G_DEFINE_BOXED_TYPE (AfSession, af_session, af_session_ref, af_session_unref)

AfExecResult *
af_sandbox_exec (AfSandbox *sandbox, const char *command, const char *stdin_text, GHashTable *env,
                 const char *workdir, guint timeout_s, GCancellable *cancellable, GError **error)
{
  return af_client_exec (af_sandbox_get_client (sandbox), af_sandbox_get_id (sandbox), command,
                         stdin_text, env, workdir, timeout_s, cancellable, error);
}

AfExecResult *
af_sandbox_run (AfSandbox *sandbox, const char *command, guint timeout_s, GHashTable *env,
                const char *workdir, gboolean raise_on_error, GCancellable *cancellable,
                GError **error)
{
  AfExecResult *result = af_sandbox_exec (
      sandbox, command, NULL, env, workdir,
      timeout_s > 0 ? timeout_s : AF_SANDBOX_DEFAULT_RUN_TIMEOUT_S, cancellable, error);
  if (result != NULL && raise_on_error && af_exec_result_get_exit_code (result) != 0) {
    g_propagate_error (
        error, af_sdk_error_new_command_failed (command, af_exec_result_get_exit_code (result),
                                                af_exec_result_get_stderr (result)));
    g_clear_pointer (&result, af_exec_result_unref);
  }
  return result;
}

gboolean
af_sandbox_exec_stream_with_status (AfSandbox *sandbox, const char *command, const char *stdin_text,
                                    GHashTable *env, const char *workdir, guint timeout_s,
                                    AfOutputFunc func, gpointer user_data, AfExecStatus *out_status,
                                    GCancellable *cancellable, GError **error)
{
  return af_client_exec_stream_with_status (
      af_sandbox_get_client (sandbox), af_sandbox_get_id (sandbox), command, stdin_text, env,
      workdir, timeout_s, func, user_data, out_status, cancellable, error);
}

gboolean
af_sandbox_exec_stream (AfSandbox *sandbox, const char *command, const char *stdin_text,
                        GHashTable *env, const char *workdir, guint timeout_s, AfOutputFunc func,
                        gpointer user_data, GCancellable *cancellable, GError **error)
{
  return af_sandbox_exec_stream_with_status (sandbox, command, stdin_text, env, workdir, timeout_s,
                                             func, user_data, NULL, cancellable, error);
}

AfExecStream *
af_sandbox_exec_stream_start (AfSandbox *sandbox, const char *command, const char *stdin_text,
                              GHashTable *env, const char *workdir, guint timeout_s,
                              GCancellable *cancellable, GError **error)
{
  return af_client_exec_stream_start (af_sandbox_get_client (sandbox), af_sandbox_get_id (sandbox),
                                      command, stdin_text, env, workdir, timeout_s, cancellable,
                                      error);
}

/* ---- sessions ---- */

AfSession *
af_sandbox_session (AfSandbox *sandbox, const char *shell, GHashTable *env,
                    GCancellable *cancellable, GError **error)
{
  AfSessionInfo *info = af_client_create_session (
      af_sandbox_get_client (sandbox), af_sandbox_get_id (sandbox), shell, env, cancellable, error);
  if (info == NULL)
    return NULL;
  AfSession *session = g_new0 (AfSession, 1);
  session->ref_count = 1;
  session->sandbox = g_object_ref (sandbox);
  session->info = info;
  return session;
}

AfSession *
af_session_ref (AfSession *session)
{
  g_return_val_if_fail (session != NULL, NULL);
  g_atomic_int_inc (&session->ref_count);
  return session;
}

void
af_session_unref (AfSession *session)
{
  if (session == NULL || !g_atomic_int_dec_and_test (&session->ref_count))
    return;
  /* Like leaving the Python `with sandbox.session()` block. */
  af_session_close (session, NULL, NULL);
  af_session_info_unref (session->info);
  g_object_unref (session->sandbox);
  g_free (session);
}

const char *
af_session_get_id (AfSession *session)
{
  return af_session_info_get_id (session->info);
}

AfSessionInfo *
af_session_get_info (AfSession *session)
{
  return session->info;
}

gboolean
af_session_is_closed (AfSession *session)
{
  return g_atomic_int_get (&session->closed);
}

/* The Python SDK refuses work on a session it closed without asking the
 * server. */
static gboolean
check_open (AfSession *session, GError **error)
{
  if (af_session_is_closed (session)) {
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SESSION_CLOSED, "session %s is closed",
                 af_session_get_id (session));
    return FALSE;
  }
  return TRUE;
}

AfExecResult *
af_session_exec (AfSession *session, const char *command, guint timeout_s,
                 GCancellable *cancellable, GError **error)
{
  if (!check_open (session, error))
    return NULL;
  return af_client_session_exec (af_sandbox_get_client (session->sandbox),
                                 af_session_get_id (session), command, timeout_s, cancellable,
                                 error);
}

gboolean
af_session_exec_stream_with_status (AfSession *session, const char *command, guint timeout_s,
                                    AfOutputFunc func, gpointer user_data, AfExecStatus *out_status,
                                    GCancellable *cancellable, GError **error)
{
  if (out_status != NULL)
    *out_status = (AfExecStatus){ .exit_code = -1 };
  if (!check_open (session, error))
    return FALSE;
  return af_client_session_exec_stream_with_status (
      af_sandbox_get_client (session->sandbox), af_session_get_id (session), command, timeout_s,
      func, user_data, out_status, cancellable, error);
}

gboolean
af_session_exec_stream (AfSession *session, const char *command, guint timeout_s, AfOutputFunc func,
                        gpointer user_data, GCancellable *cancellable, GError **error)
{
  return af_session_exec_stream_with_status (session, command, timeout_s, func, user_data, NULL,
                                             cancellable, error);
}

AfExecStream *
af_session_exec_stream_start (AfSession *session, const char *command, guint timeout_s,
                              GCancellable *cancellable, GError **error)
{
  if (!check_open (session, error))
    return NULL;
  return af_client_session_exec_stream_start (af_sandbox_get_client (session->sandbox),
                                              af_session_get_id (session), command, timeout_s,
                                              cancellable, error);
}

gboolean
af_session_close (AfSession *session, GCancellable *cancellable, GError **error)
{
  if (!g_atomic_int_compare_and_exchange (&session->closed, FALSE, TRUE))
    return TRUE;
  return af_client_destroy_session (af_sandbox_get_client (session->sandbox),
                                    af_session_get_id (session), cancellable, error);
}

/* ---- asynchronous forms: the blocking call on a worker thread ---- */

typedef struct {
  char *path;
  AfSandboxOptions *options;  /* a copy: later changes by the caller do not apply */
  AfSandboxOptions *original; /* keeps the progress data of the copy alive */
  AfSession *session;
  char *command;
  char *stdin_text;
  GHashTable *env;
  char *workdir;
  guint timeout_s;
  gboolean raise_on_error;
  AfDeleteCodebase delete_codebase;
} AsyncData;

static void
async_data_free (AsyncData *d)
{
  g_free (d->path);
  g_clear_pointer (&d->options, af_sandbox_options_unref);
  g_clear_pointer (&d->original, af_sandbox_options_unref);
  g_clear_pointer (&d->session, af_session_unref);
  g_free (d->command);
  g_free (d->stdin_text);
  g_clear_pointer (&d->env, g_hash_table_unref);
  g_free (d->workdir);
  g_free (d);
}

static GHashTable *
copy_env (GHashTable *env)
{
  if (env == NULL)
    return NULL;
  GHashTable *copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, env);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_replace (copy, g_strdup (key), g_strdup (value));
  return copy;
}

static GTask *
task_new (gpointer source, GCancellable *cancellable, GAsyncReadyCallback callback,
          gpointer user_data, gpointer tag, AsyncData **out_data)
{
  GTask *task = g_task_new (source, cancellable, callback, user_data);
  g_task_set_source_tag (task, tag);
  AsyncData *d = g_new0 (AsyncData, 1);
  g_task_set_task_data (task, d, (GDestroyNotify)async_data_free);
  *out_data = d;
  return task;
}

static void
return_result (GTask *task, gpointer value, GDestroyNotify free_func, GError *error)
{
  if (value == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, value, free_func);
}

static void
from_local_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  AsyncData *d = task_data;
  GError *error = NULL;
  AfSandbox *sandbox = af_sandbox_from_local_internal (d->path, d->options, cancellable, &error);
  return_result (task, sandbox, g_object_unref, error);
}

void
af_sandbox_from_local_async (const char *path, AfSandboxOptions *options, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  AsyncData *d;
  g_autoptr (GTask) task =
      task_new (NULL, cancellable, callback, user_data, af_sandbox_from_local_async, &d);
  d->path = g_strdup (path);
  d->options = options != NULL ? af_sandbox_options_copy (options) : NULL;
  d->original = options != NULL ? af_sandbox_options_ref (options) : NULL;
  g_task_run_in_thread (task, from_local_thread);
}

AfSandbox *
af_sandbox_from_local_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
run_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  AsyncData *d = task_data;
  GError *error = NULL;
  AfExecResult *result = af_sandbox_run (source, d->command, d->timeout_s, d->env, d->workdir,
                                         d->raise_on_error, cancellable, &error);
  return_result (task, result, (GDestroyNotify)af_exec_result_unref, error);
}

void
af_sandbox_run_async (AfSandbox *sandbox, const char *command, guint timeout_s, GHashTable *env,
                      const char *workdir, gboolean raise_on_error, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
  AsyncData *d;
  g_autoptr (GTask) task =
      task_new (sandbox, cancellable, callback, user_data, af_sandbox_run_async, &d);
  d->command = g_strdup (command);
  d->timeout_s = timeout_s;
  d->env = copy_env (env);
  d->workdir = g_strdup (workdir);
  d->raise_on_error = raise_on_error;
  g_task_run_in_thread (task, run_thread);
}

AfExecResult *
af_sandbox_run_finish (AfSandbox *sandbox, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, sandbox), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
exec_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  AsyncData *d = task_data;
  GError *error = NULL;
  AfExecResult *result = af_sandbox_exec (source, d->command, d->stdin_text, d->env, d->workdir,
                                          d->timeout_s, cancellable, &error);
  return_result (task, result, (GDestroyNotify)af_exec_result_unref, error);
}

void
af_sandbox_exec_async (AfSandbox *sandbox, const char *command, const char *stdin_text,
                       GHashTable *env, const char *workdir, guint timeout_s,
                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  AsyncData *d;
  g_autoptr (GTask) task =
      task_new (sandbox, cancellable, callback, user_data, af_sandbox_exec_async, &d);
  d->command = g_strdup (command);
  d->stdin_text = g_strdup (stdin_text);
  d->env = copy_env (env);
  d->workdir = g_strdup (workdir);
  d->timeout_s = timeout_s;
  g_task_run_in_thread (task, exec_thread);
}

AfExecResult *
af_sandbox_exec_finish (AfSandbox *sandbox, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, sandbox), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
destroy_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  AsyncData *d = task_data;
  GError *error = NULL;
  if (af_sandbox_destroy (source, d->delete_codebase, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
af_sandbox_destroy_async (AfSandbox *sandbox, AfDeleteCodebase delete_codebase,
                          GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data)
{
  AsyncData *d;
  g_autoptr (GTask) task =
      task_new (sandbox, cancellable, callback, user_data, af_sandbox_destroy_async, &d);
  d->delete_codebase = delete_codebase;
  g_task_run_in_thread (task, destroy_thread);
}

gboolean
af_sandbox_destroy_finish (AfSandbox *sandbox, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, sandbox), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
session_exec_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  AsyncData *d = task_data;
  GError *error = NULL;
  AfExecResult *result =
      af_session_exec (d->session, d->command, d->timeout_s, cancellable, &error);
  return_result (task, result, (GDestroyNotify)af_exec_result_unref, error);
}

void
af_session_exec_async (AfSession *session, const char *command, guint timeout_s,
                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  AsyncData *d;
  g_autoptr (GTask) task =
      task_new (NULL, cancellable, callback, user_data, af_session_exec_async, &d);
  d->session = af_session_ref (session);
  d->command = g_strdup (command);
  d->timeout_s = timeout_s;
  g_task_run_in_thread (task, session_exec_thread);
}

AfExecResult *
af_session_exec_finish (AfSession *session, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
