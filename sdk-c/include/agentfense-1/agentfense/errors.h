/* errors.h — the error domain of libagentfense.
 *
 * Every error a libagentfense function returns is either in AF_SDK_ERROR or
 * G_IO_ERROR_CANCELLED (a GCancellable fired). The codes mirror the
 * exception classes of the AgentFense Python SDK, so code ported from it
 * keeps its error handling: each code is returned where the Python SDK
 * raises the corresponding exception. */
#pragma once

#include <agentfense/macros.h>

G_BEGIN_DECLS

/**
 * AF_SDK_ERROR:
 *
 * The error domain of libagentfense. Codes are #AfSdkError values.
 */
#define AF_SDK_ERROR (af_sdk_error_quark ())

/**
 * AfSdkError:
 * @AF_SDK_ERROR_FAILED: any other failure (Python: `SandboxError`).
 * @AF_SDK_ERROR_CONNECTION: the server could not be reached, or the
 *   connection failed during a call (`ConnectionError`).
 * @AF_SDK_ERROR_SANDBOX_NOT_FOUND: no such sandbox (`SandboxNotFoundError`).
 * @AF_SDK_ERROR_SANDBOX_NOT_RUNNING: the sandbox is not in the state the
 *   operation needs (`SandboxNotRunningError`).
 * @AF_SDK_ERROR_CODEBASE_NOT_FOUND: no such codebase (`CodebaseNotFoundError`).
 * @AF_SDK_ERROR_FILE_NOT_FOUND: no such file in the codebase
 *   (`FileNotFoundError`).
 * @AF_SDK_ERROR_COMMAND_TIMEOUT: a command ran past its timeout
 *   (`CommandTimeoutError`).
 * @AF_SDK_ERROR_COMMAND_FAILED: a command exited non-zero and the caller
 *   asked for that to be an error (`CommandExecutionError`).
 * @AF_SDK_ERROR_PERMISSION_DENIED: the caller may not do this
 *   (`PermissionDeniedError`).
 * @AF_SDK_ERROR_SESSION_NOT_FOUND: no such session (`SessionNotFoundError`).
 * @AF_SDK_ERROR_SESSION_CLOSED: the session is closed (`SessionClosedError`).
 * @AF_SDK_ERROR_RESOURCE_LIMIT: a limit was hit (`ResourceLimitExceededError`).
 * @AF_SDK_ERROR_INVALID_CONFIGURATION: an argument, option or rule is
 *   invalid (`InvalidConfigurationError`).
 * @AF_SDK_ERROR_UPLOAD: uploading a file failed (`UploadError`).
 *
 * Error codes of #AF_SDK_ERROR.
 */
typedef enum {
  AF_SDK_ERROR_FAILED = 0,
  AF_SDK_ERROR_CONNECTION = 1,
  AF_SDK_ERROR_SANDBOX_NOT_FOUND = 2,
  AF_SDK_ERROR_SANDBOX_NOT_RUNNING = 3,
  AF_SDK_ERROR_CODEBASE_NOT_FOUND = 4,
  AF_SDK_ERROR_FILE_NOT_FOUND = 5,
  AF_SDK_ERROR_COMMAND_TIMEOUT = 6,
  AF_SDK_ERROR_COMMAND_FAILED = 7,
  AF_SDK_ERROR_PERMISSION_DENIED = 8,
  AF_SDK_ERROR_SESSION_NOT_FOUND = 9,
  AF_SDK_ERROR_SESSION_CLOSED = 10,
  AF_SDK_ERROR_RESOURCE_LIMIT = 11,
  AF_SDK_ERROR_INVALID_CONFIGURATION = 12,
  AF_SDK_ERROR_UPLOAD = 13,
} AfSdkError;

/**
 * af_sdk_error_quark:
 *
 * Returns: the #GQuark of #AF_SDK_ERROR.
 */
AF_PUBLIC GQuark af_sdk_error_quark (void);

/**
 * af_sdk_error_code_name:
 * @code: an #AfSdkError value
 *
 * A stable lower-case name for @code ("sandbox-not-found"), for logs and
 * the `--json` output of the command-line tool.
 *
 * Returns: (transfer none) (nullable): the name, or %NULL for an unknown
 *   code.
 */
AF_PUBLIC const char *af_sdk_error_code_name (int code);

/**
 * af_sdk_error_get_grpc_status:
 * @error: (nullable): an error returned by libagentfense
 *
 * The gRPC status code the server answered with when @error came from a
 * call (for example 5, NOT_FOUND, behind %AF_SDK_ERROR_CODEBASE_NOT_FOUND).
 *
 * Returns: the status (1–16), or -1 when @error did not come from a server
 *   status (local validation, %NULL, or another domain).
 */
AF_PUBLIC int af_sdk_error_get_grpc_status (const GError *error);

/**
 * af_sdk_error_get_exit_code:
 * @error: (nullable): an error returned by libagentfense
 *
 * The exit code of the command behind an %AF_SDK_ERROR_COMMAND_FAILED
 * error (af_sandbox_run() with raise_on_error).
 *
 * Returns: the exit code, or -1 when @error is not such an error.
 */
AF_PUBLIC int af_sdk_error_get_exit_code (const GError *error);

/**
 * af_sdk_error_get_stderr:
 * @error: (nullable): an error returned by libagentfense
 *
 * The standard error of the command behind an
 * %AF_SDK_ERROR_COMMAND_FAILED error.
 *
 * Returns: (transfer none) (nullable): the text, or %NULL when @error is not
 *   such an error.
 */
AF_PUBLIC const char *af_sdk_error_get_stderr (const GError *error);

G_END_DECLS
