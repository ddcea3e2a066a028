/* af-sdk-private.h — what the sources of libagentfense share and nobody
 * outside the library sees: the call contexts of the error table and the
 * conversions every call uses.
 *
 * Must never: be installed, or declare anything AF_PUBLIC. */
#pragma once

#include <agentfense/agentfense.h>

G_BEGIN_DECLS

/* What a call addressed: the same gRPC status means a different error
 * depending on it (NOT_FOUND on GetSandbox is sandbox-not-found, on
 * DownloadFile file-not-found). */
typedef enum {
  AF_CALL_GENERIC = 0,
  AF_CALL_SANDBOX,      /* Get/Start/Stop/Destroy/CreateSession on a sandbox */
  AF_CALL_CODEBASE,     /* Get/Delete/ListFiles on a codebase; CreateSandbox */
  AF_CALL_FILE,         /* DownloadFile */
  AF_CALL_UPLOAD,       /* UploadFiles */
  AF_CALL_EXEC,         /* Exec, ExecStream */
  AF_CALL_SESSION,      /* Get/DestroySession */
  AF_CALL_SESSION_EXEC, /* SessionExec, SessionExecStream */
  AF_CALL_N_CONTEXTS,
} AfCallContext;

/* The AF_SDK_ERROR code for a gRPC status (1..16) received in @context.
 * Pure: the one table in af-sdk-error.c. */
AfSdkError af_sdk_error_code_for_status (int grpc_status, AfCallContext context);

/* A new AF_SDK_ERROR for status @grpc_status with the server's @details
 * (may be NULL or empty) about @subject (the id or path the call named;
 * may be NULL). The message names the subject and ends with the details. */
GError *af_sdk_error_new_from_status (int grpc_status, const char *details, AfCallContext context,
                                      const char *subject);

/* Turns an error of the transport (@src, taken) into the error a caller of
 * the library sees and stores it in @dest: AF_ERROR statuses go through
 * the table, G_IO_ERROR_CANCELLED stays as it is, anything else becomes
 * AF_SDK_ERROR_FAILED with the same message. */
void af_sdk_propagate_call_error (GError **dest, GError *src, AfCallContext context,
                                  const char *subject);

G_END_DECLS
