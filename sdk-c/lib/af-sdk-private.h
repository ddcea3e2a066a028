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

/* AF_SDK_ERROR_COMMAND_FAILED for a command that exited non-zero; the
 * exit code and the whole stderr ride along (af_sdk_error_get_exit_code,
 * af_sdk_error_get_stderr). */
GError *af_sdk_error_new_command_failed (const char *command, int exit_code,
                                         const char *stderr_text);

G_END_DECLS

/* ---- client internals (af-client.c) ---- */

#include "af-grpc-client.h"
#include "codebase.pb-c.h"

struct _AfClient {
  gint ref_count;
  char *endpoint;         /* gRPC target */
  AfGrpcChannel *channel; /* owned; thread-safe */
};

/* The endpoint for @endpoint as a user gave it (NULL or "" for the
 * default): an absolute path becomes "unix:PATH". */
char *af_client_resolve_endpoint (const char *endpoint);

/* One unary call of @client; errors go through the status table with
 * @context and @subject. */
gboolean af_client_call_unary (AfClient *client, const char *method,
                               const ProtobufCMessage *request,
                               const ProtobufCMessageDescriptor *response_desc,
                               ProtobufCMessage **out_response, AfCallContext context,
                               const char *subject, GCancellable *cancellable, GError **error);

/* A required id argument: NULL or "" is AF_SDK_ERROR_INVALID_CONFIGURATION
 * naming @what. The format is the server's business. */
gboolean af_client_check_id (const char *id, const char *what, GError **error);

/* A codebase path as the wire wants it (relative, canonical), or NULL with
 * AF_SDK_ERROR_INVALID_CONFIGURATION. With @allow_root "" and "/" are the
 * root. */
char *af_client_wire_path (const char *path, gboolean allow_root, GError **error);

/* ---- codebase values (af-codebase.c) ---- */

AfCodebase *af_codebase_new_from_wire (const Sandbox__V1__Codebase *message);
AfFileInfo *af_file_info_new_from_wire (const Sandbox__V1__FileInfo *message);

/* ---- sandbox values (af-sandbox-values.c) ---- */

#include "sandbox.pb-c.h"

GDateTime *af_sdk_datetime_from_wire (const Google__Protobuf__Timestamp *ts);
AfSandboxInfo *af_sandbox_info_new_from_wire (const Sandbox__V1__Sandbox *message);
AfSessionInfo *af_session_info_new_from_wire (const Sandbox__V1__Session *message);
AfExecResult *af_exec_result_new_from_wire (const Sandbox__V1__ExecResult *message,
                                            const char *command);
AfChanges *af_changes_new_from_wire (const Sandbox__V1__Changes *message);

/* ---- rules on the wire (af-rules.c) ---- */

/* New rules from messages (element-type AfPermissionRule). */
GPtrArray *af_sdk_rules_from_wire (Sandbox__V1__PermissionRule **rules, size_t n);

/* Messages for @rules, for a request: an array of @rules->len pointers
 * into one allocation; free with g_free() of the array, then of
 * *@out_storage. Patterns are borrowed from the rules. */
Sandbox__V1__PermissionRule **af_sdk_rules_to_wire (GPtrArray *rules,
                                                    Sandbox__V1__PermissionRule **out_storage);

/* ---- options (af-sandbox-options.c) ---- */

struct _AfSandboxOptions {
  gint ref_count;
  char *name;
  char *owner_id;
  char *preset;      /* NULL: AF_SANDBOX_DEFAULT_PRESET */
  GPtrArray *rules;  /* AfPermissionRule */
  GPtrArray *ignore; /* char * */
  gboolean default_ignores;
  gint64 max_file_size;
  AfUploadProgressFunc progress;
  gpointer progress_data;
  GDestroyNotify progress_destroy;
  AfRuntime runtime;
  char *image;
  AfResourceLimits resources;
  gboolean has_resources;
  GHashTable *labels;
  guint expires_in;
  AfCommitMode commit_mode;
  char *endpoint;
  gboolean secure;
  AfClient *client;
  gboolean auto_start;
};

/* ---- shared by the call files ---- */

/* FALSE with AF_SDK_ERROR_INVALID_CONFIGURATION above
 * AF_CLIENT_MAX_TIMEOUT_S. */
gboolean af_sdk_check_timeout (guint timeout_s, GError **error);

/* Env entries for a request from @env (may be NULL): *@out_n entries, the
 * array and the entries in one allocation (g_free), strings borrowed. The
 * entry type is the same layout for every map<string,string>. */
typedef struct {
  ProtobufCMessage base;
  char *key;
  char *value;
} AfSdkMapEntry;
AfSdkMapEntry **af_sdk_map_to_wire (GHashTable *map, const ProtobufCMessageDescriptor *descriptor,
                                    size_t *out_n);

/* ---- sandboxes (af-sandbox.c, af-sandbox-options.c) ---- */

/* af_sandbox_from_local() with a cancellable (its async form uses it). */
AfSandbox *af_sandbox_from_local_internal (const char *path, AfSandboxOptions *options,
                                           GCancellable *cancellable, GError **error);

/* A deep copy, so an async call does not see later changes. */
AfSandboxOptions *af_sandbox_options_copy (AfSandboxOptions *options);
