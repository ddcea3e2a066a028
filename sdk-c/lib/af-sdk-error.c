/* af-sdk-error.c — AF_SDK_ERROR and the single table that maps a gRPC
 * status plus the context of the call to an AF_SDK_ERROR code.
 *
 * Owns: the mapping. Every error that reaches a user after a call passes
 * through af_sdk_propagate_call_error(); no other file decides a code from
 * a status. Must never: log. */
#include "af-sdk-private.h"

#include "af-error.h"

#include <string.h>

typedef struct {
  int grpc_status;
  int exit_code;     /* COMMAND_FAILED only; else -1 */
  char *stderr_text; /* COMMAND_FAILED only */
} AfSdkErrorPrivate;

static void
af_sdk_error_private_init (AfSdkErrorPrivate *priv)
{
  priv->grpc_status = -1;
  priv->exit_code = -1;
  priv->stderr_text = NULL;
}

static void
af_sdk_error_private_copy (const AfSdkErrorPrivate *src, AfSdkErrorPrivate *dest)
{
  dest->grpc_status = src->grpc_status;
  dest->exit_code = src->exit_code;
  dest->stderr_text = g_strdup (src->stderr_text);
}

static void
af_sdk_error_private_clear (AfSdkErrorPrivate *priv)
{
  g_clear_pointer (&priv->stderr_text, g_free);
}

G_DEFINE_EXTENDED_ERROR (AfSdkError, af_sdk_error)

#define ANY_STATUS (-1)
#define ANY_CONTEXT (-1)

/* First matching row wins. @what and @after frame the subject in the
 * message ("sandbox " + id + " not found"); a row with @what NULL leaves
 * the server's details alone. */
typedef struct {
  int grpc_status;
  int context;
  AfSdkError code;
  const char *what;
  const char *after;
} AfStatusRow;

static const AfStatusRow status_table[] = {
  /* The server is not there, or the connection broke. */
  { AF_ERROR_UNAVAILABLE, ANY_CONTEXT, AF_SDK_ERROR_CONNECTION, NULL, NULL },

  /* Unknown ids, named after what the call addressed. */
  { AF_ERROR_NOT_FOUND, AF_CALL_SANDBOX, AF_SDK_ERROR_SANDBOX_NOT_FOUND, "sandbox ", " not found" },
  { AF_ERROR_NOT_FOUND, AF_CALL_EXEC, AF_SDK_ERROR_SANDBOX_NOT_FOUND, "sandbox ", " not found" },
  { AF_ERROR_NOT_FOUND, AF_CALL_CODEBASE, AF_SDK_ERROR_CODEBASE_NOT_FOUND, "codebase ",
    " not found" },
  { AF_ERROR_NOT_FOUND, AF_CALL_UPLOAD, AF_SDK_ERROR_CODEBASE_NOT_FOUND, "codebase ",
    " not found" },
  { AF_ERROR_NOT_FOUND, AF_CALL_FILE, AF_SDK_ERROR_FILE_NOT_FOUND, "file ", " not found" },
  { AF_ERROR_NOT_FOUND, AF_CALL_SESSION, AF_SDK_ERROR_SESSION_NOT_FOUND, "session ", " not found" },
  { AF_ERROR_NOT_FOUND, AF_CALL_SESSION_EXEC, AF_SDK_ERROR_SESSION_NOT_FOUND, "session ",
    " not found" },

  /* Wrong state: a sandbox not running, a session closed. */
  { AF_ERROR_FAILED_PRECONDITION, AF_CALL_SANDBOX, AF_SDK_ERROR_SANDBOX_NOT_RUNNING, "sandbox ",
    " is not running" },
  { AF_ERROR_FAILED_PRECONDITION, AF_CALL_EXEC, AF_SDK_ERROR_SANDBOX_NOT_RUNNING, "sandbox ",
    " is not running" },
  { AF_ERROR_FAILED_PRECONDITION, AF_CALL_SESSION, AF_SDK_ERROR_SESSION_CLOSED, "session ",
    " is closed" },
  { AF_ERROR_FAILED_PRECONDITION, AF_CALL_SESSION_EXEC, AF_SDK_ERROR_SESSION_CLOSED, "session ",
    " is closed" },

  /* A deadline is a command timeout only where a command ran; elsewhere
   * the call itself did not complete in time. */
  { AF_ERROR_DEADLINE_EXCEEDED, AF_CALL_EXEC, AF_SDK_ERROR_COMMAND_TIMEOUT, "command timed out",
    "" },
  { AF_ERROR_DEADLINE_EXCEEDED, AF_CALL_SESSION_EXEC, AF_SDK_ERROR_COMMAND_TIMEOUT,
    "command timed out", "" },
  { AF_ERROR_DEADLINE_EXCEEDED, ANY_CONTEXT, AF_SDK_ERROR_CONNECTION, NULL, NULL },

  { AF_ERROR_PERMISSION_DENIED, ANY_CONTEXT, AF_SDK_ERROR_PERMISSION_DENIED, NULL, NULL },
  { AF_ERROR_UNAUTHENTICATED, ANY_CONTEXT, AF_SDK_ERROR_PERMISSION_DENIED, NULL, NULL },
  { AF_ERROR_RESOURCE_EXHAUSTED, ANY_CONTEXT, AF_SDK_ERROR_RESOURCE_LIMIT, NULL, NULL },

  /* Anything else going wrong during an upload is an upload error. */
  { ANY_STATUS, AF_CALL_UPLOAD, AF_SDK_ERROR_UPLOAD, "upload of ", " failed" },

  { AF_ERROR_INVALID_ARGUMENT, ANY_CONTEXT, AF_SDK_ERROR_INVALID_CONFIGURATION, NULL, NULL },
  { AF_ERROR_OUT_OF_RANGE, ANY_CONTEXT, AF_SDK_ERROR_INVALID_CONFIGURATION, NULL, NULL },
  { AF_ERROR_ALREADY_EXISTS, ANY_CONTEXT, AF_SDK_ERROR_INVALID_CONFIGURATION, NULL, NULL },

  { ANY_STATUS, ANY_CONTEXT, AF_SDK_ERROR_FAILED, NULL, NULL },
};

static const char *const code_names[] = {
  [AF_SDK_ERROR_FAILED] = "failed",
  [AF_SDK_ERROR_CONNECTION] = "connection",
  [AF_SDK_ERROR_SANDBOX_NOT_FOUND] = "sandbox-not-found",
  [AF_SDK_ERROR_SANDBOX_NOT_RUNNING] = "sandbox-not-running",
  [AF_SDK_ERROR_CODEBASE_NOT_FOUND] = "codebase-not-found",
  [AF_SDK_ERROR_FILE_NOT_FOUND] = "file-not-found",
  [AF_SDK_ERROR_COMMAND_TIMEOUT] = "command-timeout",
  [AF_SDK_ERROR_COMMAND_FAILED] = "command-failed",
  [AF_SDK_ERROR_PERMISSION_DENIED] = "permission-denied",
  [AF_SDK_ERROR_SESSION_NOT_FOUND] = "session-not-found",
  [AF_SDK_ERROR_SESSION_CLOSED] = "session-closed",
  [AF_SDK_ERROR_RESOURCE_LIMIT] = "resource-limit",
  [AF_SDK_ERROR_INVALID_CONFIGURATION] = "invalid-configuration",
  [AF_SDK_ERROR_UPLOAD] = "upload",
};

const char *
af_sdk_error_code_name (int code)
{
  if (code < 0 || code >= (int)G_N_ELEMENTS (code_names))
    return NULL;
  return code_names[code];
}

static const AfStatusRow *
find_row (int grpc_status, AfCallContext context)
{
  for (gsize i = 0; i < G_N_ELEMENTS (status_table); i++) {
    const AfStatusRow *row = &status_table[i];
    if ((row->grpc_status == ANY_STATUS || row->grpc_status == grpc_status) &&
        (row->context == ANY_CONTEXT || row->context == (int)context))
      return row;
  }
  g_assert_not_reached (); /* the last row matches everything */
}

AfSdkError
af_sdk_error_code_for_status (int grpc_status, AfCallContext context)
{
  return find_row (grpc_status, context)->code;
}

GError *
af_sdk_error_new_from_status (int grpc_status, const char *details, AfCallContext context,
                              const char *subject)
{
  const AfStatusRow *row = find_row (grpc_status, context);
  gboolean has_details = details != NULL && *details != '\0';
  g_autofree char *message = NULL;

  /* Details that already say what the row would ("command timed out
   * after 1000 ms") are not prefixed a second time. */
  if (row->what != NULL && has_details && g_str_has_prefix (details, row->what)) {
    message = g_strdup (details);
  } else if (row->what != NULL) {
    const char *subject_text = (subject != NULL && *row->after != '\0') ? subject : "";
    message = g_strconcat (row->what, subject_text, row->after, has_details ? ": " : "",
                           has_details ? details : "", NULL);
  } else if (has_details) {
    message = g_strdup (details);
  } else {
    const char *name = af_error_code_name (grpc_status);
    message = g_strdup_printf ("the server answered %s", name != NULL ? name : "an unknown status");
  }

  GError *error = g_error_new_literal (AF_SDK_ERROR, row->code, message);
  AfSdkErrorPrivate *priv = af_sdk_error_get_private (error);
  priv->grpc_status = grpc_status;
  return error;
}

int
af_sdk_error_get_grpc_status (const GError *error)
{
  if (error == NULL || error->domain != AF_SDK_ERROR)
    return -1;
  return af_sdk_error_get_private (error)->grpc_status;
}

void
af_sdk_propagate_call_error (GError **dest, GError *src, AfCallContext context, const char *subject)
{
  if (g_error_matches (src, G_IO_ERROR, G_IO_ERROR_CANCELLED) || src->domain == AF_SDK_ERROR) {
    g_propagate_error (dest, src);
    return;
  }
  if (src->domain == AF_ERROR && src->code > 0 && src->code < AF_ERROR_N_CODES) {
    g_propagate_error (dest,
                       af_sdk_error_new_from_status (src->code, src->message, context, subject));
    g_error_free (src);
    return;
  }
  g_propagate_error (dest, g_error_new_literal (AF_SDK_ERROR, AF_SDK_ERROR_FAILED, src->message));
  g_error_free (src);
}

int
af_sdk_error_get_exit_code (const GError *error)
{
  if (error == NULL || error->domain != AF_SDK_ERROR)
    return -1;
  return af_sdk_error_get_private (error)->exit_code;
}

const char *
af_sdk_error_get_stderr (const GError *error)
{
  if (error == NULL || error->domain != AF_SDK_ERROR)
    return NULL;
  return af_sdk_error_get_private (error)->stderr_text;
}

/* The message carries the start of stderr: enough to see what went wrong
 * in a log line, not a megabyte of output. */
#define STDERR_IN_MESSAGE 512

GError *
af_sdk_error_new_command_failed (const char *command, int exit_code, const char *stderr_text)
{
  const char *err = stderr_text != NULL ? stderr_text : "";
  gsize len = strlen (err);
  g_autofree char *head = g_strndup (err, MIN (len, STDERR_IN_MESSAGE));
  g_strchomp (head);
  GError *error = g_error_new (AF_SDK_ERROR, AF_SDK_ERROR_COMMAND_FAILED,
                               "command '%s' exited with code %d%s%s%s", command, exit_code,
                               *head != '\0' ? ": " : "", head, len > STDERR_IN_MESSAGE ? "…" : "");
  AfSdkErrorPrivate *priv = af_sdk_error_get_private (error);
  priv->exit_code = exit_code;
  priv->stderr_text = g_strdup (err);
  return error;
}
