/* test-sdk-error.c — the gRPC status + context → AF_SDK_ERROR table. */
#include "af-sdk-private.h"

#include <string.h>

#include "af-error.h"

typedef struct {
  int status;
  AfCallContext context;
  AfSdkError code;
} Case;

/* Where the Python SDK raises each exception class. */
static const Case cases[] = {
  { AF_ERROR_UNAVAILABLE, AF_CALL_GENERIC, AF_SDK_ERROR_CONNECTION },
  { AF_ERROR_UNAVAILABLE, AF_CALL_UPLOAD, AF_SDK_ERROR_CONNECTION },
  { AF_ERROR_UNAVAILABLE, AF_CALL_EXEC, AF_SDK_ERROR_CONNECTION },
  { AF_ERROR_NOT_FOUND, AF_CALL_SANDBOX, AF_SDK_ERROR_SANDBOX_NOT_FOUND },
  { AF_ERROR_NOT_FOUND, AF_CALL_EXEC, AF_SDK_ERROR_SANDBOX_NOT_FOUND },
  { AF_ERROR_NOT_FOUND, AF_CALL_CODEBASE, AF_SDK_ERROR_CODEBASE_NOT_FOUND },
  { AF_ERROR_NOT_FOUND, AF_CALL_UPLOAD, AF_SDK_ERROR_CODEBASE_NOT_FOUND },
  { AF_ERROR_NOT_FOUND, AF_CALL_FILE, AF_SDK_ERROR_FILE_NOT_FOUND },
  { AF_ERROR_NOT_FOUND, AF_CALL_SESSION, AF_SDK_ERROR_SESSION_NOT_FOUND },
  { AF_ERROR_NOT_FOUND, AF_CALL_SESSION_EXEC, AF_SDK_ERROR_SESSION_NOT_FOUND },
  { AF_ERROR_NOT_FOUND, AF_CALL_GENERIC, AF_SDK_ERROR_FAILED },
  { AF_ERROR_FAILED_PRECONDITION, AF_CALL_SANDBOX, AF_SDK_ERROR_SANDBOX_NOT_RUNNING },
  { AF_ERROR_FAILED_PRECONDITION, AF_CALL_EXEC, AF_SDK_ERROR_SANDBOX_NOT_RUNNING },
  { AF_ERROR_FAILED_PRECONDITION, AF_CALL_SESSION, AF_SDK_ERROR_SESSION_CLOSED },
  { AF_ERROR_FAILED_PRECONDITION, AF_CALL_SESSION_EXEC, AF_SDK_ERROR_SESSION_CLOSED },
  { AF_ERROR_FAILED_PRECONDITION, AF_CALL_CODEBASE, AF_SDK_ERROR_FAILED },
  { AF_ERROR_DEADLINE_EXCEEDED, AF_CALL_EXEC, AF_SDK_ERROR_COMMAND_TIMEOUT },
  { AF_ERROR_DEADLINE_EXCEEDED, AF_CALL_SESSION_EXEC, AF_SDK_ERROR_COMMAND_TIMEOUT },
  { AF_ERROR_DEADLINE_EXCEEDED, AF_CALL_CODEBASE, AF_SDK_ERROR_CONNECTION },
  { AF_ERROR_PERMISSION_DENIED, AF_CALL_FILE, AF_SDK_ERROR_PERMISSION_DENIED },
  { AF_ERROR_PERMISSION_DENIED, AF_CALL_UPLOAD, AF_SDK_ERROR_PERMISSION_DENIED },
  { AF_ERROR_UNAUTHENTICATED, AF_CALL_GENERIC, AF_SDK_ERROR_PERMISSION_DENIED },
  { AF_ERROR_RESOURCE_EXHAUSTED, AF_CALL_EXEC, AF_SDK_ERROR_RESOURCE_LIMIT },
  { AF_ERROR_RESOURCE_EXHAUSTED, AF_CALL_UPLOAD, AF_SDK_ERROR_RESOURCE_LIMIT },
  { AF_ERROR_INVALID_ARGUMENT, AF_CALL_UPLOAD, AF_SDK_ERROR_UPLOAD },
  { AF_ERROR_INTERNAL, AF_CALL_UPLOAD, AF_SDK_ERROR_UPLOAD },
  { AF_ERROR_DATA_LOSS, AF_CALL_UPLOAD, AF_SDK_ERROR_UPLOAD },
  { AF_ERROR_INVALID_ARGUMENT, AF_CALL_SANDBOX, AF_SDK_ERROR_INVALID_CONFIGURATION },
  { AF_ERROR_INVALID_ARGUMENT, AF_CALL_GENERIC, AF_SDK_ERROR_INVALID_CONFIGURATION },
  { AF_ERROR_OUT_OF_RANGE, AF_CALL_GENERIC, AF_SDK_ERROR_INVALID_CONFIGURATION },
  { AF_ERROR_ALREADY_EXISTS, AF_CALL_CODEBASE, AF_SDK_ERROR_INVALID_CONFIGURATION },
  { AF_ERROR_INTERNAL, AF_CALL_SANDBOX, AF_SDK_ERROR_FAILED },
  { AF_ERROR_UNIMPLEMENTED, AF_CALL_GENERIC, AF_SDK_ERROR_FAILED },
  { AF_ERROR_CANCELLED, AF_CALL_EXEC, AF_SDK_ERROR_FAILED },
  { AF_ERROR_UNKNOWN, AF_CALL_FILE, AF_SDK_ERROR_FAILED },
};

static void
test_table (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    AfSdkError got = af_sdk_error_code_for_status (cases[i].status, cases[i].context);
    if (got != cases[i].code)
      g_error ("case %zu: status %s in context %d gave %s, expected %s", i,
               af_error_code_name (cases[i].status), cases[i].context, af_sdk_error_code_name (got),
               af_sdk_error_code_name (cases[i].code));
  }
}

/* Every status in every context maps to some code with a name. */
static void
test_total (void)
{
  for (int status = 1; status < AF_ERROR_N_CODES; status++)
    for (int context = 0; context < AF_CALL_N_CONTEXTS; context++)
      g_assert_nonnull (af_sdk_error_code_name (af_sdk_error_code_for_status (status, context)));
}

static void
test_code_names (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (int code = AF_SDK_ERROR_FAILED; code <= AF_SDK_ERROR_UPLOAD; code++) {
    const char *name = af_sdk_error_code_name (code);
    g_assert_nonnull (name);
    g_assert_false (g_hash_table_contains (seen, name));
    g_hash_table_add (seen, (gpointer)name);
  }
  g_assert_cmpstr (af_sdk_error_code_name (AF_SDK_ERROR_SANDBOX_NOT_FOUND), ==,
                   "sandbox-not-found");
  g_assert_null (af_sdk_error_code_name (-1));
  g_assert_null (af_sdk_error_code_name (AF_SDK_ERROR_UPLOAD + 1));
}

static void
test_messages (void)
{
  g_autoptr (GError) error = af_sdk_error_new_from_status (
      AF_ERROR_NOT_FOUND, "no codebase with this id", AF_CALL_CODEBASE, "cb_0123");
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_CODEBASE_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "codebase cb_0123 not found: no codebase with this id");
  g_assert_cmpint (af_sdk_error_get_grpc_status (error), ==, AF_ERROR_NOT_FOUND);

  /* The status survives a copy (an extended error). */
  g_autoptr (GError) copy = g_error_copy (error);
  g_assert_cmpint (af_sdk_error_get_grpc_status (copy), ==, AF_ERROR_NOT_FOUND);

  g_autoptr (GError) bare =
      af_sdk_error_new_from_status (AF_ERROR_INTERNAL, "", AF_CALL_GENERIC, NULL);
  g_assert_error (bare, AF_SDK_ERROR, AF_SDK_ERROR_FAILED);
  g_assert_cmpstr (bare->message, ==, "the server answered INTERNAL");

  g_autoptr (GError) timeout =
      af_sdk_error_new_from_status (AF_ERROR_DEADLINE_EXCEEDED, "after 60 s", AF_CALL_EXEC, "sb_1");
  g_assert_cmpstr (timeout->message, ==, "command timed out: after 60 s");
  /* The server's own words are not prefixed with the same words again. */
  g_autoptr (GError) said = af_sdk_error_new_from_status (
      AF_ERROR_DEADLINE_EXCEEDED, "command timed out after 1000 ms", AF_CALL_SESSION_EXEC, "s");
  g_assert_error (said, AF_SDK_ERROR, AF_SDK_ERROR_COMMAND_TIMEOUT);
  g_assert_cmpstr (said->message, ==, "command timed out after 1000 ms");

  /* command-failed carries the exit code and the whole stderr; the message
   * only the start of it. */
  g_autofree char *long_err = g_strnfill (2000, 'e');
  g_autoptr (GError) failed = af_sdk_error_new_command_failed ("make", 2, long_err);
  g_assert_error (failed, AF_SDK_ERROR, AF_SDK_ERROR_COMMAND_FAILED);
  g_assert_cmpint (af_sdk_error_get_exit_code (failed), ==, 2);
  g_assert_cmpstr (af_sdk_error_get_stderr (failed), ==, long_err);
  g_assert_cmpint (af_sdk_error_get_grpc_status (failed), ==, -1);
  g_assert_true (g_str_has_prefix (failed->message, "command 'make' exited with code 2: eee"));
  g_assert_cmpuint (strlen (failed->message), <, 600);
  g_assert_cmpint (af_sdk_error_get_exit_code (timeout), ==, -1);
  g_assert_null (af_sdk_error_get_stderr (timeout));

  g_autoptr (GError) upload = af_sdk_error_new_from_status (
      AF_ERROR_INVALID_ARGUMENT, "path must be relative", AF_CALL_UPLOAD, "/etc/passwd");
  g_assert_error (upload, AF_SDK_ERROR, AF_SDK_ERROR_UPLOAD);
  g_assert_cmpstr (upload->message, ==, "upload of /etc/passwd failed: path must be relative");
}

static void
test_propagate (void)
{
  g_autoptr (GError) error = NULL;

  af_sdk_propagate_call_error (&error, g_error_new_literal (AF_ERROR, AF_ERROR_NOT_FOUND, "gone"),
                               AF_CALL_SESSION, "sess_1");
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_SESSION_NOT_FOUND);
  g_clear_error (&error);

  /* A cancelled GCancellable stays G_IO_ERROR_CANCELLED. */
  af_sdk_propagate_call_error (
      &error, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "Operation was cancelled"),
      AF_CALL_EXEC, "sb_1");
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (af_sdk_error_get_grpc_status (error), ==, -1);
  g_clear_error (&error);

  /* Our own errors pass unchanged; others become FAILED. */
  af_sdk_propagate_call_error (
      &error, g_error_new_literal (AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION, "bad"),
      AF_CALL_UPLOAD, "x");
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_assert_cmpint (af_sdk_error_get_grpc_status (error), ==, -1);
  g_clear_error (&error);

  af_sdk_propagate_call_error (&error, g_error_new_literal (G_FILE_ERROR, G_FILE_ERROR_IO, "io"),
                               AF_CALL_FILE, "x");
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "io");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sdk/error/table", test_table);
  g_test_add_func ("/sdk/error/total", test_total);
  g_test_add_func ("/sdk/error/code-names", test_code_names);
  g_test_add_func ("/sdk/error/messages", test_messages);
  g_test_add_func ("/sdk/error/propagate", test_propagate);
  return g_test_run ();
}
