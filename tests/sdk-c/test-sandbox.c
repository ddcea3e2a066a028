/* test-sandbox.c — AfSandbox and the SandboxService calls of libagentfense
 * against a real afd-server running real sandboxes (af-fuse mounts,
 * af-exec isolation): life, commands, streams, files, ownership, and each
 * error code where the Python SDK raises it. Links the shared library:
 * public API only. Sessions, changes and async: test-sandbox-more.c. */
#include "sdk-test-sandbox.h"

#include <string.h>

static void
test_from_local (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *tree = sdk_test_make_tree ();
  /* Ignore rules and the size limit on a crafted tree. */
  sdk_test_write_file (tree, ".gitignore", "*.log\nbuild/\n");
  sdk_test_write_file (tree, ".sandboxignore", "secret.txt\n");
  sdk_test_write_file (tree, "app.log", "ignored by .gitignore\n");
  sdk_test_write_file (tree, "build/out.o", "ignored directory\n");
  sdk_test_write_file (tree, "secret.txt", "ignored by .sandboxignore\n");
  sdk_test_write_file (tree, "notes.tmp", "ignored by an option pattern\n");
  g_autofree char *big = g_strnfill (3000, 'x');
  sdk_test_write_file (tree, "big.bin", big);

  g_autoptr (AfSandboxOptions) options = sdk_test_options (f);
  af_sandbox_options_add_ignore_pattern (options, "*.tmp");
  af_sandbox_options_set_max_file_size (options, 2000);
  af_sandbox_options_set_name (options, "crafted");
  af_sandbox_options_set_label (options, "team", "sdk");
  guint progress_calls = 0;
  af_sandbox_options_set_upload_progress (options, sdk_test_count_progress, &progress_calls, NULL);

  g_autoptr (AfSandbox) sb = af_sandbox_from_local (tree, options, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (af_sandbox_get_id (sb), "sb_"));
  g_assert_true (g_str_has_prefix (af_sandbox_get_codebase_id (sb), "cb_"));
  g_assert_cmpint (af_sandbox_get_status (sb), ==, AF_SANDBOX_STATUS_RUNNING);
  g_assert_cmpint (af_sandbox_get_runtime (sb), ==, AF_RUNTIME_BWRAP);
  g_assert_true (af_sandbox_get_owned (sb));
  g_assert_true (af_sandbox_get_client (sb) == f->client);

  GPtrArray *skipped = af_sandbox_get_skipped (sb);
  g_assert_nonnull (skipped);
  g_assert_cmpuint (skipped->len, ==, 1);
  g_assert_cmpstr (af_local_file_get_path (skipped->pdata[0]), ==, "big.bin");
  g_assert_cmpint (af_local_file_get_status (skipped->pdata[0]), ==, AF_LOCAL_FILE_TOO_LARGE);

  /* What reached the codebase: main.c, src/util.c, .gitignore,
   * .sandboxignore — nothing ignored, nothing too large. */
  g_autoptr (AfCodebase) codebase = af_sandbox_get_codebase (sb, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_codebase_get_name (codebase), ==, "crafted");
  g_assert_cmpint (af_codebase_get_file_count (codebase), ==, 4);
  g_assert_cmpuint (progress_calls, ==, 4);
  g_autoptr (GPtrArray) files = af_sandbox_list_files (sb, "/workspace", TRUE, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *listing = sdk_test_file_list (files);
  g_assert_cmpstr (listing, ==, ".gitignore .sandboxignore main.c src/ src/util.c");

  g_autoptr (AfSandboxInfo) info = af_sandbox_get_info (sb);
  g_assert_cmpstr (g_hash_table_lookup (af_sandbox_info_get_labels (info), "team"), ==, "sdk");
  g_assert_nonnull (af_sandbox_info_get_created_at (info));
  g_assert_nonnull (af_sandbox_info_get_started_at (info));
  g_assert_null (af_sandbox_info_get_expires_at (info));
  /* The default preset, view-only, arrived expanded. */
  g_autoptr (GPtrArray) preset = af_presets_get ("view-only", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (af_sandbox_info_get_permissions (info)->len, ==, preset->len);

  /* view-only: names visible, content not. */
  g_autoptr (AfExecResult) ls =
      af_sandbox_run (sb, "ls /workspace", 0, NULL, NULL, TRUE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_exec_result_get_stdout (ls), ==, "main.c\nsrc\n");
  g_autoptr (AfExecResult) cat =
      af_sandbox_run (sb, "cat /workspace/main.c", 0, NULL, NULL, FALSE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (af_exec_result_get_exit_code (cat), !=, 0);
  g_assert_nonnull (strstr (af_exec_result_get_stderr (cat), "ermission denied"));

  /* Destroy with the default: the codebase this handle made goes too. */
  g_autofree char *codebase_id = g_strdup (af_sandbox_get_codebase_id (sb));
  g_assert_true (af_sandbox_destroy (sb, AF_DELETE_CODEBASE_DEFAULT, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (af_sandbox_get_owned (sb));
  g_assert_null (af_client_get_sandbox (f->client, af_sandbox_get_id (sb), NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SANDBOX_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (af_client_get_codebase (f->client, codebase_id, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_CODEBASE_NOT_FOUND);
  g_clear_error (&error);
  /* Destroying again: the sandbox is gone. */
  g_assert_false (af_sandbox_destroy (sb, AF_DELETE_CODEBASE_NO, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SANDBOX_NOT_FOUND);
  sdk_test_remove_tree (tree);
}

static void
test_run_and_exec (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfSandbox) sb = sdk_test_full_access_sandbox (f);

  g_autoptr (GHashTable) env = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (env, "GREETING", "hello");
  g_autoptr (AfExecResult) r =
      af_sandbox_run (sb, "echo $GREETING; pwd", 0, env, "/workspace/src", TRUE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_exec_result_get_stdout (r), ==, "hello\n/workspace/src\n");
  g_assert_cmpint (af_exec_result_get_exit_code (r), ==, 0);
  g_assert_cmpstr (af_exec_result_get_command (r), ==, "echo $GREETING; pwd");
  g_assert_cmpfloat (af_exec_result_get_duration (r), >=, 0.0);
  g_assert_cmpfloat (af_exec_result_get_duration (r), <, 60.0);
  g_assert_cmpuint (g_bytes_get_size (af_exec_result_get_stdout_bytes (r)), ==, 21);

  /* A non-zero exit is a result, not an error, unless asked. */
  g_autoptr (AfExecResult) failed =
      af_sandbox_run (sb, "echo oops >&2; exit 3", 0, NULL, NULL, FALSE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (af_exec_result_get_exit_code (failed), ==, 3);
  g_assert_cmpstr (af_exec_result_get_stderr (failed), ==, "oops\n");
  g_assert_null (af_sandbox_run (sb, "echo oops >&2; exit 3", 0, NULL, NULL, TRUE, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_COMMAND_FAILED);
  g_assert_cmpint (af_sdk_error_get_exit_code (error), ==, 3);
  g_assert_cmpstr (af_sdk_error_get_stderr (error), ==, "oops\n");
  g_assert_nonnull (strstr (error->message, "exited with code 3: oops"));
  /* The extended error survives a copy. */
  g_autoptr (GError) copy = g_error_copy (error);
  g_assert_cmpint (af_sdk_error_get_exit_code (copy), ==, 3);
  g_assert_cmpstr (af_sdk_error_get_stderr (copy), ==, "oops\n");
  g_clear_error (&error);

  /* exec: stdin, env, workdir. */
  g_autoptr (AfExecResult) e =
      af_sandbox_exec (sb, "tr a-z A-Z; echo $X", "shout\n", env, NULL, 30, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_exec_result_get_stdout (e), ==, "SHOUT\n\n");

  /* Timeouts: command-timeout, and the sandbox goes on. */
  g_assert_null (af_sandbox_run (sb, "sleep 30", 1, NULL, NULL, FALSE, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_COMMAND_TIMEOUT);
  g_assert_cmpint (af_sdk_error_get_grpc_status (error), ==, 4);
  g_clear_error (&error);
  g_assert_null (
      af_sandbox_exec (sb, "true", NULL, NULL, NULL, AF_CLIENT_MAX_TIMEOUT_S + 1, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);
  g_assert_null (af_sandbox_exec (sb, "", NULL, NULL, NULL, 0, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);

  /* A cancelled call. */
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_cancellable_cancel (cancellable);
  g_assert_null (af_sandbox_run (sb, "true", 0, NULL, NULL, FALSE, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  g_autoptr (AfExecResult) after =
      af_sandbox_run (sb, "echo alive", 0, NULL, NULL, TRUE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_exec_result_get_stdout (after), ==, "alive\n");
}

typedef struct {
  GString *out;
  GString *err;
  guint chunks;
} Collected;

static gboolean
collect (AfOutputKind kind, const guint8 *bytes, gsize length, gpointer user_data)
{
  Collected *c = user_data;
  g_string_append_len (kind == AF_OUTPUT_STDERR ? c->err : c->out, (const char *)bytes,
                       (gssize)length);
  c->chunks++;
  return TRUE;
}

static gboolean
stop_at_first_chunk (AfOutputKind kind, const guint8 *bytes, gsize length, gpointer user_data)
{
  guint *chunks = user_data;
  (*chunks)++;
  return FALSE;
}

static void
test_exec_stream (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfSandbox) sb = sdk_test_full_access_sandbox (f);

  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GString) err = g_string_new (NULL);
  Collected c = { out, err, 0 };
  g_assert_true (af_sandbox_exec_stream (sb, "echo one; echo two >&2; cat", "three\n", NULL, NULL,
                                         0, collect, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out->str, ==, "one\nthree\n");
  g_assert_cmpstr (err->str, ==, "two\n");

  /* Pull form, and a timeout on a stream. */
  g_autoptr (AfExecStream) stream = af_sandbox_exec_stream_start (
      sb, "printf a; printf b >&2", NULL, NULL, NULL, 0, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GString) pulled = g_string_new (NULL);
  AfOutputKind kind;
  GBytes *chunk = NULL;
  while (af_exec_stream_next (stream, &kind, &chunk, &error)) {
    g_string_append_printf (pulled, "%s:%.*s ", kind == AF_OUTPUT_STDOUT ? "out" : "err",
                            (int)g_bytes_get_size (chunk),
                            (const char *)g_bytes_get_data (chunk, NULL));
    g_bytes_unref (chunk);
  }
  g_assert_no_error (error);
  g_assert_true (strstr (pulled->str, "out:a ") != NULL);
  g_assert_true (strstr (pulled->str, "err:b ") != NULL);

  g_autoptr (AfExecStream) slow =
      af_sandbox_exec_stream_start (sb, "sleep 30", NULL, NULL, NULL, 1, NULL, &error);
  g_assert_no_error (error);
  while (af_exec_stream_next (slow, &kind, &chunk, &error))
    g_bytes_unref (chunk);
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_COMMAND_TIMEOUT);
  g_clear_error (&error);

  /* A callback that stops the stream cancels the call; the command dies
   * with it and the server still shuts down cleanly at teardown. */
  guint seen = 0;
  g_assert_false (af_sandbox_exec_stream (sb, "echo first; sleep 30", NULL, NULL, NULL, 0,
                                          stop_at_first_chunk, &seen, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (seen, ==, 1);

  /* An unknown sandbox shows on the first read of a pulled stream. */
  g_autoptr (AfExecStream) none =
      af_client_exec_stream_start (f->client, "sb_nope", "true", NULL, NULL, NULL, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (af_exec_stream_next (none, &kind, &chunk, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SANDBOX_NOT_FOUND);
}

static gboolean
ignore_output (AfOutputKind kind, const guint8 *data, gsize length, gpointer user_data)
{
  return TRUE;
}

/* The exit status of a streamed command, from the stream's trailers:
 * both forms, a normal exit, a failing one and a death by signal. */
static void
test_exec_stream_status (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfSandbox) sb = sdk_test_full_access_sandbox (f);
  const struct {
    const char *command;
    int exit_code, signal;
  } cases[] = {
    { "echo fine", 0, 0 },
    { "echo failing >&2; exit 3", 3, 0 },
    { "echo dying; kill -KILL $$", 128 + 9, 9 },
    { "kill -TERM $$", 128 + 15, 15 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    AfExecStatus status = { .exit_code = -7 };
    g_assert_true (af_sandbox_exec_stream_with_status (sb, cases[i].command, NULL, NULL, NULL, 0,
                                                       ignore_output, NULL, &status, NULL, &error));
    g_assert_no_error (error);
    g_assert_true (status.reported);
    g_assert_cmpint (status.exit_code, ==, cases[i].exit_code);
    g_assert_cmpint (status.signal, ==, cases[i].signal);
    g_assert_cmpint (status.duration_us, >, 0);
    g_assert_false (status.stdout_truncated || status.stderr_truncated);

    g_autoptr (AfExecStream) stream =
        af_sandbox_exec_stream_start (sb, cases[i].command, NULL, NULL, NULL, 0, NULL, &error);
    g_assert_no_error (error);
    AfExecStatus pulled;
    g_assert_false (af_exec_stream_get_status (stream, &pulled)); /* not before the end */
    g_autofree char *output = sdk_test_drain_stream (stream, &error);
    g_assert_no_error (error);
    g_assert_true (af_exec_stream_get_status (stream, &pulled));
    g_assert_cmpint (pulled.exit_code, ==, cases[i].exit_code);
    g_assert_cmpint (pulled.signal, ==, cases[i].signal);
  }
  /* A failed call reports no status. */
  AfExecStatus none = { .reported = TRUE };
  g_assert_false (af_sandbox_exec_stream_with_status (sb, "sleep 30", NULL, NULL, NULL, 1,
                                                      ignore_output, NULL, &none, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_COMMAND_TIMEOUT);
  g_assert_false (none.reported);
}

static void
test_files (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfSandbox) sb = sdk_test_full_access_sandbox (f);

  g_autofree char *text = af_sandbox_read_file (sb, "/workspace/main.c", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "int main (void) { return 0; }\n");
  g_autofree char *same = af_sandbox_read_file (sb, "main.c", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (same, ==, text);

  g_assert_true (af_sandbox_write_file (sb, "/workspace/new/hello.txt", "héllo\n", NULL, &error));
  g_assert_no_error (error);
  g_autoptr (AfExecResult) r =
      af_sandbox_run (sb, "cat new/hello.txt", 0, NULL, NULL, TRUE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_exec_result_get_stdout (r), ==, "héllo\n");

  /* What a command writes is read back through the codebase. */
  g_autoptr (AfExecResult) w =
      af_sandbox_run (sb, "printf 'made\\n' > made.txt", 0, NULL, NULL, TRUE, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *made = af_sandbox_read_file (sb, "made.txt", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (made, ==, "made\n");

  static const guint8 binary[] = { 0xff, 0x00, 0xfe, 'a' };
  g_autoptr (GBytes) bytes = g_bytes_new_static (binary, sizeof binary);
  g_assert_true (af_sandbox_write_file_bytes (sb, "bin.dat", bytes, NULL, &error));
  g_assert_no_error (error);
  g_autoptr (GBytes) back = af_sandbox_read_file_bytes (sb, "/workspace/bin.dat", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back, bytes));
  g_assert_null (af_sandbox_read_file (sb, "bin.dat", NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_FAILED);
  g_clear_error (&error);

  g_assert_null (af_sandbox_read_file (sb, "/workspace/missing", NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_FILE_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (af_sandbox_read_file (sb, "../etc/passwd", NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);

  g_autoptr (GPtrArray) top = af_sandbox_list_files (sb, NULL, FALSE, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *top_list = sdk_test_file_list (top);
  g_assert_cmpstr (top_list, ==, "bin.dat made.txt main.c new/ src/");
  g_autoptr (GPtrArray) sub = af_sandbox_list_files (sb, "/workspace/src", TRUE, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *sub_list = sdk_test_file_list (sub);
  g_assert_cmpstr (sub_list, ==, "src/util.c");
}

static void
test_life (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfSandbox) sb = sdk_test_full_access_sandbox (f);

  /* start of a running sandbox: sandbox-not-running (FAILED_PRECONDITION). */
  g_assert_false (af_sandbox_start (sb, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SANDBOX_NOT_RUNNING);
  g_clear_error (&error);

  g_assert_true (af_sandbox_stop (sb, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (af_sandbox_get_status (sb), ==, AF_SANDBOX_STATUS_STOPPED);
  g_autoptr (AfSandboxInfo) stopped = af_sandbox_get_info (sb);
  g_assert_nonnull (af_sandbox_info_get_stopped_at (stopped));

  g_assert_null (af_sandbox_run (sb, "true", 0, NULL, NULL, FALSE, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SANDBOX_NOT_RUNNING);
  g_clear_error (&error);
  g_assert_false (af_sandbox_stop (sb, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SANDBOX_NOT_RUNNING);
  g_clear_error (&error);
  g_assert_null (af_sandbox_session (sb, NULL, NULL, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SANDBOX_NOT_RUNNING);
  g_clear_error (&error);

  g_assert_true (af_sandbox_start (sb, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (af_sandbox_get_status (sb), ==, AF_SANDBOX_STATUS_RUNNING);

  /* Reconnect by id: a handle that owns nothing. */
  g_autoptr (AfSandbox) other =
      af_sandbox_connect (af_sandbox_get_id (sb), f->server->endpoint, FALSE, &error);
  g_assert_no_error (error);
  g_assert_false (af_sandbox_get_owned (other));
  g_assert_cmpstr (af_sandbox_get_codebase_id (other), ==, af_sandbox_get_codebase_id (sb));
  g_assert_null (af_sandbox_get_skipped (other));
  g_assert_true (af_sandbox_stop (other, NULL, &error));
  g_assert_no_error (error);
  /* The first handle learns of it on refresh. */
  g_assert_cmpint (af_sandbox_get_status (sb), ==, AF_SANDBOX_STATUS_RUNNING);
  g_assert_true (af_sandbox_refresh (sb, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (af_sandbox_get_status (sb), ==, AF_SANDBOX_STATUS_STOPPED);
  g_clear_object (&other);
  /* Dropping a non-owning handle left the sandbox alone. */
  g_autoptr (AfSandboxInfo) still =
      af_client_get_sandbox (f->client, af_sandbox_get_id (sb), NULL, &error);
  g_assert_no_error (error);

  g_assert_null (af_sandbox_connect ("sb_doesnotexist", f->server->endpoint, FALSE, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SANDBOX_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (af_sandbox_connect ("sb_x", "/nonexistent/afd.sock", FALSE, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_CONNECTION);
  g_clear_error (&error);
  /* TLS is for TCP endpoints: a unix socket with secure is a mistake. */
  g_assert_null (af_sandbox_connect ("sb_x", f->server->endpoint, TRUE, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
}

/* The last unref of an owning handle destroys its sandbox and the
 * codebase it made; a detached one stays. */
static void
test_unref_destroys (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  AfSandbox *sb = sdk_test_full_access_sandbox (f);
  g_autofree char *id = g_strdup (af_sandbox_get_id (sb));
  g_autofree char *cb = g_strdup (af_sandbox_get_codebase_id (sb));
  g_object_unref (sb);
  g_assert_null (af_client_get_sandbox (f->client, id, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SANDBOX_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (af_client_get_codebase (f->client, cb, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_CODEBASE_NOT_FOUND);
  g_clear_error (&error);

  sb = sdk_test_full_access_sandbox (f);
  g_free (id);
  id = g_strdup (af_sandbox_get_id (sb));
  af_sandbox_detach (sb);
  g_object_unref (sb);
  g_autoptr (AfSandboxInfo) kept = af_client_get_sandbox (f->client, id, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (af_client_destroy_sandbox (f->client, id, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (
      af_client_delete_codebase (f->client, af_sandbox_info_get_codebase_id (kept), NULL, &error));
  g_assert_no_error (error);
}

static void
test_from_codebase (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfCodebase) cb = af_client_create_codebase (f->client, "shared", NULL, NULL, &error);
  g_assert_no_error (error);
  const char *cb_id = af_codebase_get_id (cb);
  g_autoptr (GBytes) content = g_bytes_new_static ("data\n", 5);
  g_assert_true (af_client_upload_bytes (f->client, cb_id, "f.txt", content, NULL, NULL, &error));
  g_assert_no_error (error);

  g_autoptr (AfSandboxOptions) options = sdk_test_options (f);
  af_sandbox_options_set_preset (options, "read-only");
  af_sandbox_options_set_auto_start (options, FALSE);
  af_sandbox_options_set_expires_in (options, 3600);
  g_autoptr (AfSandbox) sb = af_sandbox_from_codebase (cb_id, options, &error);
  g_assert_no_error (error);
  g_assert_cmpint (af_sandbox_get_status (sb), ==, AF_SANDBOX_STATUS_PENDING);
  g_autoptr (AfSandboxInfo) info = af_sandbox_get_info (sb);
  g_assert_nonnull (af_sandbox_info_get_expires_at (info));
  g_assert_true (af_sandbox_start (sb, NULL, &error));
  g_assert_no_error (error);
  g_autoptr (AfExecResult) r =
      af_sandbox_run (sb, "cat f.txt; echo x > f.txt", 0, NULL, NULL, FALSE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_exec_result_get_stdout (r), ==, "data\n");
  g_assert_cmpint (af_exec_result_get_exit_code (r), !=, 0); /* read-only */

  /* The listing filter finds it, by codebase. */
  g_autoptr (GPtrArray) listed = af_client_list_sandboxes (f->client, cb_id, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (listed->len, ==, 1);
  g_assert_cmpstr (af_sandbox_info_get_id (listed->pdata[0]), ==, af_sandbox_get_id (sb));

  /* Not owned: the default destroy keeps the codebase. */
  g_assert_true (af_sandbox_destroy (sb, AF_DELETE_CODEBASE_DEFAULT, NULL, &error));
  g_assert_no_error (error);
  g_autoptr (AfCodebase) still = af_client_get_codebase (f->client, cb_id, NULL, &error);
  g_assert_no_error (error);

  g_assert_null (af_sandbox_from_codebase ("cb_doesnotexist", options, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_CODEBASE_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (af_sandbox_from_codebase ("", options, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
}

/* Bad input fails before anything is created, and a failure half-way
 * leaves nothing behind on the server. */
static void
test_invalid (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfSandboxOptions) options = sdk_test_options (f);
  g_assert_null (af_sandbox_from_local ("/nonexistent/dir", options, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);

  g_autofree char *tree = sdk_test_make_tree ();
  g_autofree char *file = g_build_filename (tree, "main.c", NULL);
  g_assert_null (af_sandbox_from_local (file, options, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);

  af_sandbox_options_set_preset (options, "no-such-preset");
  g_assert_null (af_sandbox_from_local (tree, options, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);

  /* A rule the server refuses: the codebase made for it is deleted. */
  af_sandbox_options_set_preset (options, NULL);
  g_autoptr (AfPermissionRule) bad =
      af_permission_rule_new ("", AF_PERMISSION_READ, AF_PATTERN_KIND_GLOB, 0);
  af_sandbox_options_add_rule (options, bad);
  g_assert_null (af_sandbox_from_local (tree, options, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);

  /* A docker sandbox without an image (and no server default). */
  g_autoptr (AfSandboxOptions) docker = sdk_test_options (f);
  af_sandbox_options_set_runtime (docker, AF_RUNTIME_DOCKER);
  g_assert_null (af_sandbox_from_local (tree, docker, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);

  g_autoptr (GPtrArray) left = af_client_list_codebases (f->client, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (left->len, ==, 0);
  g_autoptr (GPtrArray) sandboxes = af_client_list_sandboxes (f->client, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sandboxes->len, ==, 0);

  AfRuntime runtime;
  g_assert_true (af_runtime_from_string ("docker", &runtime, NULL));
  g_assert_cmpint (runtime, ==, AF_RUNTIME_DOCKER);
  g_assert_false (af_runtime_from_string ("lxc", &runtime, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_assert_cmpstr (af_runtime_to_string (AF_RUNTIME_BWRAP), ==, "bwrap");
  g_assert_cmpstr (af_sandbox_status_to_string (AF_SANDBOX_STATUS_STOPPED), ==, "stopped");
  sdk_test_remove_tree (tree);
}

/* Options not covered elsewhere: owner, default ignores off, resource
 * limits, the endpoint instead of a client, connect with a client. */
static void
test_options (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *tree = sdk_test_make_tree ();
  sdk_test_write_file (tree, "__pycache__/x.pyc", "cache\n");
  g_autoptr (AfSandboxOptions) options = af_sandbox_options_new ();
  af_sandbox_options_set_endpoint (options, f->server->socket, FALSE); /* a bare path */
  af_sandbox_options_set_owner_id (options, "owner-7");
  af_sandbox_options_set_default_ignores (options, FALSE);
  AfResourceLimits limits = { .memory_bytes = 128 * 1024 * 1024, .pids_limit = 64 };
  af_sandbox_options_set_resources (options, &limits);
  af_sandbox_options_set_label (options, "gone", "x");
  af_sandbox_options_set_label (options, "gone", NULL);
  g_autoptr (AfSandbox) sb = af_sandbox_from_local (tree, options, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_client_get_endpoint (af_sandbox_get_client (sb)), ==, f->server->endpoint);

  g_autoptr (AfCodebase) codebase = af_sandbox_get_codebase (sb, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_codebase_get_owner_id (codebase), ==, "owner-7");
  g_assert_cmpint (af_codebase_get_file_count (codebase), ==, 3); /* the cache too */

  g_autoptr (AfSandboxInfo) info = af_sandbox_get_info (sb);
  g_assert_cmpint (af_sandbox_info_get_resources (info)->memory_bytes, ==, limits.memory_bytes);
  g_assert_cmpint (af_sandbox_info_get_resources (info)->pids_limit, ==, 64);
  g_assert_cmpstr (af_sandbox_info_get_image (info), ==, "");
  g_assert_cmpstr (af_sandbox_info_get_error (info), ==, "");
  g_assert_cmpuint (g_hash_table_size (af_sandbox_info_get_labels (info)), ==, 0);

  g_autoptr (AfSandbox) other =
      af_sandbox_connect_with_client (f->client, af_sandbox_get_id (sb), NULL, &error);
  g_assert_no_error (error);
  g_assert_false (af_sandbox_get_owned (other));
  g_autoptr (GPtrArray) all = af_client_list_sandboxes (f->client, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 1);
  g_assert_true (sdk_test_remove_tree (tree));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  sdk_test_add ("/sandbox/from-local", test_from_local);
  sdk_test_add ("/sandbox/run-and-exec", test_run_and_exec);
  sdk_test_add ("/sandbox/exec-stream", test_exec_stream);
  sdk_test_add ("/sandbox/exec-stream-status", test_exec_stream_status);
  sdk_test_add ("/sandbox/files", test_files);
  sdk_test_add ("/sandbox/life", test_life);
  sdk_test_add ("/sandbox/unref-destroys", test_unref_destroys);
  sdk_test_add ("/sandbox/from-codebase", test_from_codebase);
  sdk_test_add ("/sandbox/invalid", test_invalid);
  sdk_test_add ("/sandbox/options", test_options);
  return g_test_run ();
}
