/* test-sandbox-more.c — sessions, the change calls and the asynchronous
 * API of libagentfense against a real afd-server running sandboxes, with
 * the error codes they raise (session-not-found, session-closed,
 * resource-limit). Links the shared library: public API only. */
#include "sdk-test-sandbox.h"

#include <string.h>

static void
test_sessions (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfSandbox) sb = sdk_test_full_access_sandbox (f);

  g_autoptr (GHashTable) env = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (env, "STAGE", "one");
  AfSession *session = af_sandbox_session (sb, NULL, env, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (af_session_get_id (session), "sess_"));
  AfSessionInfo *info = af_session_get_info (session);
  g_assert_cmpstr (af_session_info_get_sandbox_id (info), ==, af_sandbox_get_id (sb));
  g_assert_cmpint (af_session_info_get_status (info), ==, AF_SESSION_STATUS_ACTIVE);
  g_assert_nonnull (af_session_info_get_created_at (info));
  g_assert_null (af_session_info_get_closed_at (info));
  g_assert_cmpstr (af_session_info_get_shell (info), !=, "");

  /* State carries over between commands. */
  g_autoptr (AfExecResult) a = af_session_exec (session, "cd src; X=42", 0, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (AfExecResult) b = af_session_exec (session, "echo $X $STAGE; pwd", 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_exec_result_get_stdout (b), ==, "42 one\n/workspace/src\n");

  /* Streams in a session, both forms. */
  g_autoptr (GString) out = g_string_new (NULL);
  g_assert_true (
      af_session_exec_stream (session, "echo $X", 0, sdk_test_append_output, out, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out->str, ==, "out:42\n");
  g_autoptr (AfExecStream) stream =
      af_session_exec_stream_start (session, "echo e >&2", 0, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *pulled = sdk_test_drain_stream (stream, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pulled, ==, "err:e\n");

  /* The exit status of a streamed session command: the session's shell
   * goes on after a command that failed. */
  AfExecStatus status = { 0 };
  g_autoptr (GString) quiet = g_string_new (NULL);
  g_assert_true (af_session_exec_stream_with_status (session, "(exit 3)", 0, sdk_test_append_output,
                                                     quiet, &status, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (status.reported);
  g_assert_cmpint (status.exit_code, ==, 3);
  g_assert_true (af_session_exec_stream_with_status (session, "echo $X", 0, sdk_test_append_output,
                                                     quiet, &status, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (status.exit_code, ==, 0);
  g_assert_cmpstr (quiet->str, ==, "out:42\n");

  /* A session command that times out. */
  g_assert_null (af_session_exec (session, "sleep 30", 1, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_COMMAND_TIMEOUT);
  g_clear_error (&error);

  /* The low-level calls see it. */
  g_autoptr (GPtrArray) listed =
      af_client_list_sessions (f->client, af_sandbox_get_id (sb), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (listed->len, ==, 1);
  g_autoptr (AfSessionInfo) got =
      af_client_get_session (f->client, af_session_get_id (session), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_session_info_get_id (got), ==, af_session_get_id (session));

  /* Closed: refused locally, as the Python SDK does; then on the server. */
  g_autofree char *id = g_strdup (af_session_get_id (session));
  g_assert_true (af_session_close (session, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (af_session_is_closed (session));
  g_assert_true (af_session_close (session, NULL, &error)); /* again: nothing */
  g_assert_null (af_session_exec (session, "true", 0, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SESSION_CLOSED);
  g_assert_cmpint (af_sdk_error_get_grpc_status (error), ==, -1);
  g_clear_error (&error);
  g_assert_false (
      af_session_exec_stream (session, "true", 0, sdk_test_append_output, out, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SESSION_CLOSED);
  g_clear_error (&error);
  af_session_unref (session);

  GError *server_error = NULL;
  AfExecResult *r = af_client_session_exec (f->client, id, "true", 0, NULL, &server_error);
  g_assert_null (r);
  g_assert_true (g_error_matches (server_error, AF_SDK_ERROR, AF_SDK_ERROR_SESSION_CLOSED) ||
                 g_error_matches (server_error, AF_SDK_ERROR, AF_SDK_ERROR_SESSION_NOT_FOUND));
  g_clear_error (&server_error);

  g_assert_null (af_client_get_session (f->client, "sess_nope", NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SESSION_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (af_client_destroy_session (f->client, "sess_nope", NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SESSION_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (af_client_session_exec (f->client, "sess_nope", "true", 0, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SESSION_NOT_FOUND);
  g_clear_error (&error);

  /* Dropping the last reference closes an open session. */
  AfSession *dropped = af_sandbox_session (sb, "/bin/sh", NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *dropped_id = g_strdup (af_session_get_id (dropped));
  af_session_unref (dropped);
  g_autoptr (GPtrArray) after =
      af_client_list_sessions (f->client, af_sandbox_get_id (sb), NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < after->len; i++)
    if (g_strcmp0 (af_session_info_get_id (after->pdata[i]), dropped_id) == 0)
      g_assert_cmpint (af_session_info_get_status (after->pdata[i]), ==, AF_SESSION_STATUS_CLOSED);
}

/* sandbox.max_sessions = 1: the second open session is a resource limit. */
static void
test_session_limit (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfSandbox) sb = sdk_test_full_access_sandbox (f);
  g_autoptr (AfSession) first = af_sandbox_session (sb, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (af_sandbox_session (sb, NULL, NULL, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_RESOURCE_LIMIT);
  g_assert_cmpint (af_sdk_error_get_grpc_status (error), ==, 8);
}

static gboolean
strv_contains (const char *const *strv, const char *item)
{
  return g_strv_contains (strv, item);
}

static void
test_changes (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *tree = sdk_test_make_tree ();
  g_autoptr (AfSandboxOptions) options = sdk_test_options (f);
  af_sandbox_options_set_preset (options, "full-access");
  af_sandbox_options_set_commit_mode (options, AF_COMMIT_MODE_MANUAL);
  g_autoptr (AfSandbox) sb = af_sandbox_from_local (tree, options, &error);
  g_assert_no_error (error);
  g_autoptr (AfSandboxInfo) info = af_sandbox_get_info (sb);
  g_assert_cmpint (af_sandbox_info_get_commit_mode (info), ==, AF_COMMIT_MODE_MANUAL);
  const char *id = af_sandbox_get_id (sb);

  g_autoptr (AfExecResult) r =
      af_sandbox_run (sb, "echo new > added.txt; echo changed >> main.c; rm src/util.c", 0, NULL,
                      NULL, TRUE, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (AfChanges) pending = af_client_get_changes (f->client, id, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (strv_contains (af_changes_get_added (pending), "added.txt"));
  g_assert_true (strv_contains (af_changes_get_modified (pending), "main.c"));
  g_assert_true (strv_contains (af_changes_get_deleted (pending), "src/util.c"));
  g_assert_cmpuint (g_strv_length ((char **)af_changes_get_conflicts (pending)), ==, 0);
  /* Not committed yet: the codebase still has the old content. */
  g_assert_null (af_sandbox_read_file (sb, "added.txt", NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_FILE_NOT_FOUND);
  g_clear_error (&error);

  g_autoptr (AfChanges) committed = af_client_commit_changes (f->client, id, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (strv_contains (af_changes_get_added (committed), "added.txt"));
  g_autofree char *added = af_sandbox_read_file (sb, "added.txt", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (added, ==, "new\n");

  /* Discard drops what is not committed. */
  g_autoptr (AfExecResult) r2 =
      af_sandbox_run (sb, "echo tmp > scratch.txt", 0, NULL, NULL, TRUE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (af_client_discard_changes (f->client, id, NULL, &error));
  g_assert_no_error (error);
  g_autoptr (AfChanges) none = af_client_get_changes (f->client, id, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length ((char **)af_changes_get_added (none)), ==, 0);

  /* Rules change live: main.c disappears. */
  g_autoptr (GPtrArray) rules = af_presets_get ("full-access", &error);
  g_assert_no_error (error);
  g_ptr_array_add (
      rules, af_permission_rule_new ("/main.c", AF_PERMISSION_NONE, AF_PATTERN_KIND_FILE, 1000));
  g_autoptr (AfSandboxInfo) updated =
      af_client_update_permissions (f->client, id, rules, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (af_sandbox_info_get_permissions (updated)->len, ==, rules->len);
  g_autoptr (AfExecResult) ls = af_sandbox_run (sb, "ls", 0, NULL, NULL, TRUE, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (strstr (af_exec_result_get_stdout (ls), "main.c"));

  g_assert_null (af_client_get_changes (f->client, "sb_nope", NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SANDBOX_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (af_client_update_permissions (f->client, "sb_nope", rules, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SANDBOX_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (af_client_discard_changes (f->client, "", NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_assert_true (sdk_test_remove_tree (tree));
}

/* The async API on one main loop: from_local, a session exec, run, exec
 * and destroy, one after another per sandbox, four sandboxes at once. */
typedef struct {
  GMainLoop *loop;
  Fixture *f;
  int pending;
  GPtrArray *sandboxes;
  GPtrArray *outputs;
} AsyncState;

static void
done_one (AsyncState *s)
{
  if (--s->pending == 0)
    g_main_loop_quit (s->loop);
}

static void
on_destroyed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AsyncState *s = user_data;
  g_autoptr (GError) error = NULL;
  g_assert_true (af_sandbox_destroy_finish (AF_SANDBOX (source), result, &error));
  g_assert_no_error (error);
  done_one (s);
}

typedef struct {
  AsyncState *s;
  AfSandbox *sandbox;
  AfSession *session;
} SessionStep;

static void on_run (GObject *source, GAsyncResult *result, gpointer user_data);

static void
on_session_exec (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SessionStep *step = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfExecResult) r = af_session_exec_finish (step->session, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_exec_result_get_stdout (r), ==, "/workspace/src\n");
  af_session_unref (step->session); /* closes it */
  af_sandbox_run_async (step->sandbox, "exit 7", 0, NULL, NULL, TRUE, NULL, on_run, step->s);
  g_free (step);
}

static void
on_exec (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AsyncState *s = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfExecResult) r = af_sandbox_exec_finish (AF_SANDBOX (source), result, &error);
  g_assert_no_error (error);
  g_ptr_array_add (s->outputs, g_strdup (af_exec_result_get_stdout (r)));
  af_sandbox_destroy_async (AF_SANDBOX (source), AF_DELETE_CODEBASE_DEFAULT, NULL, on_destroyed, s);
}

static void
on_run (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AsyncState *s = user_data;
  g_autoptr (GError) error = NULL;
  g_assert_null (af_sandbox_run_finish (AF_SANDBOX (source), result, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_COMMAND_FAILED);
  g_assert_cmpint (af_sdk_error_get_exit_code (error), ==, 7);
  af_sandbox_exec_async (AF_SANDBOX (source), "cat", "piped", NULL, NULL, 0, NULL, on_exec, s);
}

static void
on_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AsyncState *s = user_data;
  g_autoptr (GError) error = NULL;
  AfSandbox *sb = af_sandbox_from_local_finish (result, &error);
  g_assert_no_error (error);
  g_ptr_array_add (s->sandboxes, sb);
  SessionStep *step = g_new0 (SessionStep, 1);
  step->s = s;
  step->sandbox = sb;
  step->session = af_sandbox_session (sb, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  af_session_exec_async (step->session, "cd src && pwd", 0, NULL, on_session_exec, step);
}

static void
test_async (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autofree char *tree = sdk_test_make_tree ();
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  AsyncState s = { g_main_loop_new (context, FALSE), f, 4,
                   g_ptr_array_new_with_free_func (g_object_unref),
                   g_ptr_array_new_with_free_func (g_free) };
  g_autoptr (AfSandboxOptions) options = sdk_test_options (f);
  af_sandbox_options_set_preset (options, "full-access");
  for (int i = 0; i < 4; i++)
    af_sandbox_from_local_async (tree, options, NULL, on_created, &s);
  /* The options were copied: changing them now does not matter. */
  af_sandbox_options_set_preset (options, "no-such-preset");
  g_main_loop_run (s.loop);

  g_assert_cmpuint (s.outputs->len, ==, 4);
  for (guint i = 0; i < s.outputs->len; i++)
    g_assert_cmpstr (s.outputs->pdata[i], ==, "piped");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) left = af_client_list_sandboxes (f->client, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (left->len, ==, 0);

  /* A failing async from_local reports through the callback. */
  g_autoptr (GAsyncResult) failed = NULL;
  af_sandbox_from_local_async ("/nonexistent", options, NULL, sdk_test_store_result, &failed);
  while (failed == NULL)
    g_main_context_iteration (context, TRUE);
  g_assert_null (af_sandbox_from_local_finish (failed, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);

  g_ptr_array_unref (s.sandboxes);
  g_ptr_array_unref (s.outputs);
  g_main_loop_unref (s.loop);
  g_main_context_pop_thread_default (context);
  g_assert_true (sdk_test_remove_tree (tree));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  sdk_test_add ("/sandbox/sessions", test_sessions);
  sdk_test_add_with_config ("/sandbox/session-limit", "[sandbox]\nmax_sessions=1\n",
                            test_session_limit);
  sdk_test_add ("/sandbox/changes", test_changes);
  sdk_test_add ("/sandbox/async", test_async);
  return g_test_run ();
}
