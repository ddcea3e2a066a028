/* af-exec-calls.c — the command calls of AfClient: Exec, ExecStream,
 * SessionExec, SessionExecStream (callback and pull forms), and
 * AfExecStream.
 *
 * Owns: building command requests, labelling streamed chunks, and reading
 * a stream's exit status from its trailing metadata. Must never: buffer a
 * stream's output (each chunk goes to the caller as it arrives), or turn a
 * non-zero exit into an error (af-sandbox-exec.c does that, when asked). */
#include "af-sdk-private.h"

#define METHOD(name) "/sandbox.v1.SandboxService/" name

struct _AfExecStream {
  AfGrpcClientStream *stream;
  AfCallContext context;
  char *subject;
  AfExecStatus status; /* filled at the end of the output */
};

/* Trailing metadata of ExecStream and SessionExecStream (docs/api.md). */
#define TRAILER_EXIT_CODE "agentfense-exit-code"
#define TRAILER_SIGNAL "agentfense-signal"
#define TRAILER_DURATION "agentfense-duration-us"
#define TRAILER_TRUNCATED "agentfense-truncated"

static gboolean
trailer_int (AfGrpcClientStream *stream, const char *key, gint64 min, gint64 max, gint64 *out)
{
  g_autofree char *value = af_grpc_client_stream_dup_trailing_metadata (stream, key);
  return value != NULL && g_ascii_string_to_signed (value, 10, min, max, out, NULL);
}

/* How the command ended, from the trailers of a stream that ended OK; not
 * reported when the server sent no (valid) exit code. */
static void
read_status (AfGrpcClientStream *stream, AfExecStatus *out)
{
  gint64 code = 0, sig = 0, us = 0;
  *out = (AfExecStatus){ .exit_code = -1 };
  if (!trailer_int (stream, TRAILER_EXIT_CODE, G_MININT32, G_MAXINT32, &code))
    return;
  out->reported = TRUE;
  out->exit_code = (int)code;
  if (trailer_int (stream, TRAILER_SIGNAL, 0, 255, &sig))
    out->signal = (int)sig;
  if (trailer_int (stream, TRAILER_DURATION, 0, G_MAXINT64, &us))
    out->duration_us = us;
  g_autofree char *cut = af_grpc_client_stream_dup_trailing_metadata (stream, TRAILER_TRUNCATED);
  if (cut != NULL) {
    g_auto (GStrv) parts = g_strsplit (cut, ",", -1);
    out->stdout_truncated = g_strv_contains ((const char *const *)parts, "stdout");
    out->stderr_truncated = g_strv_contains ((const char *const *)parts, "stderr");
  }
}

gboolean
af_sdk_check_timeout (guint timeout_s, GError **error)
{
  if (timeout_s > AF_CLIENT_MAX_TIMEOUT_S) {
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                 "timeout of %u s is longer than the limit of %d s", timeout_s,
                 AF_CLIENT_MAX_TIMEOUT_S);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_command (const char *command, GError **error)
{
  if (command == NULL || *command == '\0') {
    g_set_error_literal (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                         "command is required");
    return FALSE;
  }
  return TRUE;
}

/* An ExecRequest borrowing the caller's strings; the env block is the
 * caller's to g_free. */
typedef struct {
  Sandbox__V1__ExecRequest request;
  Google__Protobuf__Duration timeout;
  AfSdkMapEntry **env;
} ExecRequest;

static gboolean
exec_request_init (ExecRequest *r, const char *sandbox_id, const char *command,
                   const char *stdin_text, GHashTable *env, const char *workdir, guint timeout_s,
                   GError **error)
{
  memset (r, 0, sizeof *r);
  if (!af_client_check_id (sandbox_id, "sandbox_id", error) || !check_command (command, error) ||
      !af_sdk_check_timeout (timeout_s, error))
    return FALSE;
  sandbox__v1__exec_request__init (&r->request);
  r->request.sandbox_id = (char *)sandbox_id;
  r->request.command = (char *)command;
  if (stdin_text != NULL)
    r->request.stdin = (char *)stdin_text;
  if (workdir != NULL)
    r->request.workdir = (char *)workdir;
  r->env = af_sdk_map_to_wire (env, &sandbox__v1__exec_request__env_entry__descriptor,
                               &r->request.n_env);
  r->request.env = (Sandbox__V1__ExecRequest__EnvEntry **)r->env;
  if (timeout_s > 0) {
    google__protobuf__duration__init (&r->timeout);
    r->timeout.seconds = timeout_s;
    r->request.timeout = &r->timeout;
  }
  return TRUE;
}

typedef struct {
  Sandbox__V1__SessionExecRequest request;
  Google__Protobuf__Duration timeout;
} SessionExecRequest;

static gboolean
session_request_init (SessionExecRequest *r, const char *session_id, const char *command,
                      guint timeout_s, GError **error)
{
  memset (r, 0, sizeof *r);
  if (!af_client_check_id (session_id, "session_id", error) || !check_command (command, error) ||
      !af_sdk_check_timeout (timeout_s, error))
    return FALSE;
  sandbox__v1__session_exec_request__init (&r->request);
  r->request.session_id = (char *)session_id;
  r->request.command = (char *)command;
  if (timeout_s > 0) {
    google__protobuf__duration__init (&r->timeout);
    r->timeout.seconds = timeout_s;
    r->request.timeout = &r->timeout;
  }
  return TRUE;
}

AfExecResult *
af_client_exec (AfClient *client, const char *sandbox_id, const char *command,
                const char *stdin_text, GHashTable *env, const char *workdir, guint timeout_s,
                GCancellable *cancellable, GError **error)
{
  ExecRequest r;
  if (!exec_request_init (&r, sandbox_id, command, stdin_text, env, workdir, timeout_s, error))
    return NULL;
  g_autofree AfSdkMapEntry **env_block = r.env;
  g_autoptr (AfProtobufMessage) response = NULL;
  if (!af_client_call_unary (client, METHOD ("Exec"), &r.request.base,
                             &sandbox__v1__exec_result__descriptor, &response, AF_CALL_EXEC,
                             sandbox_id, cancellable, error))
    return NULL;
  return af_exec_result_new_from_wire ((const Sandbox__V1__ExecResult *)response, command);
}

AfExecResult *
af_client_session_exec (AfClient *client, const char *session_id, const char *command,
                        guint timeout_s, GCancellable *cancellable, GError **error)
{
  SessionExecRequest r;
  if (!session_request_init (&r, session_id, command, timeout_s, error))
    return NULL;
  g_autoptr (AfProtobufMessage) response = NULL;
  if (!af_client_call_unary (client, METHOD ("SessionExec"), &r.request.base,
                             &sandbox__v1__exec_result__descriptor, &response, AF_CALL_SESSION_EXEC,
                             session_id, cancellable, error))
    return NULL;
  return af_exec_result_new_from_wire ((const Sandbox__V1__ExecResult *)response, command);
}

/* Unlabelled output is what a plain stdout stream sends. */
static void
chunk_kind (const Sandbox__V1__ExecOutput *out, AfOutputKind *kind)
{
  *kind = out->type == SANDBOX__V1__EXEC_OUTPUT__OUTPUT_TYPE__OUTPUT_TYPE_STDERR ? AF_OUTPUT_STDERR
                                                                                 : AF_OUTPUT_STDOUT;
}

/* The callback form over the pull form, so the trailers are at hand once
 * the output ended. */
static gboolean
run_stream (AfClient *client, const char *method, const ProtobufCMessage *request,
            AfOutputFunc func, gpointer user_data, AfExecStatus *out_status, AfCallContext context,
            const char *subject, GCancellable *cancellable, GError **error)
{
  GError *call_error = NULL;
  if (out_status != NULL)
    *out_status = (AfExecStatus){ .exit_code = -1 };
  g_autoptr (AfGrpcClientStream) stream = af_grpc_channel_start_server_stream (
      client->channel, method, request, &sandbox__v1__exec_output__descriptor, NULL, cancellable,
      &call_error);
  if (stream == NULL) {
    af_sdk_propagate_call_error (error, call_error, context, subject);
    return FALSE;
  }
  for (;;) {
    g_autoptr (AfProtobufMessage) message = af_grpc_client_stream_read (stream, &call_error);
    if (message == NULL)
      break;
    const Sandbox__V1__ExecOutput *out = (const Sandbox__V1__ExecOutput *)message;
    AfOutputKind kind;
    chunk_kind (out, &kind);
    if (!func (kind, out->data.data, out->data.len, user_data)) {
      af_grpc_client_stream_cancel (stream);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "call %s was cancelled", method);
      return FALSE;
    }
  }
  if (call_error != NULL) {
    af_sdk_propagate_call_error (error, call_error, context, subject);
    return FALSE;
  }
  if (out_status != NULL)
    read_status (stream, out_status);
  return TRUE;
}

gboolean
af_client_exec_stream_with_status (AfClient *client, const char *sandbox_id, const char *command,
                                   const char *stdin_text, GHashTable *env, const char *workdir,
                                   guint timeout_s, AfOutputFunc func, gpointer user_data,
                                   AfExecStatus *out_status, GCancellable *cancellable,
                                   GError **error)
{
  g_return_val_if_fail (func != NULL, FALSE);
  ExecRequest r;
  if (!exec_request_init (&r, sandbox_id, command, stdin_text, env, workdir, timeout_s, error))
    return FALSE;
  g_autofree AfSdkMapEntry **env_block = r.env;
  return run_stream (client, METHOD ("ExecStream"), &r.request.base, func, user_data, out_status,
                     AF_CALL_EXEC, sandbox_id, cancellable, error);
}

gboolean
af_client_exec_stream (AfClient *client, const char *sandbox_id, const char *command,
                       const char *stdin_text, GHashTable *env, const char *workdir,
                       guint timeout_s, AfOutputFunc func, gpointer user_data,
                       GCancellable *cancellable, GError **error)
{
  return af_client_exec_stream_with_status (client, sandbox_id, command, stdin_text, env, workdir,
                                            timeout_s, func, user_data, NULL, cancellable, error);
}

gboolean
af_client_session_exec_stream_with_status (AfClient *client, const char *session_id,
                                           const char *command, guint timeout_s, AfOutputFunc func,
                                           gpointer user_data, AfExecStatus *out_status,
                                           GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (func != NULL, FALSE);
  SessionExecRequest r;
  if (!session_request_init (&r, session_id, command, timeout_s, error))
    return FALSE;
  return run_stream (client, METHOD ("SessionExecStream"), &r.request.base, func, user_data,
                     out_status, AF_CALL_SESSION_EXEC, session_id, cancellable, error);
}

gboolean
af_client_session_exec_stream (AfClient *client, const char *session_id, const char *command,
                               guint timeout_s, AfOutputFunc func, gpointer user_data,
                               GCancellable *cancellable, GError **error)
{
  return af_client_session_exec_stream_with_status (client, session_id, command, timeout_s, func,
                                                    user_data, NULL, cancellable, error);
}

static AfExecStream *
start_stream (AfClient *client, const char *method, const ProtobufCMessage *request,
              AfCallContext context, const char *subject, GCancellable *cancellable, GError **error)
{
  GError *call_error = NULL;
  AfGrpcClientStream *stream = af_grpc_channel_start_server_stream (
      client->channel, method, request, &sandbox__v1__exec_output__descriptor, NULL, cancellable,
      &call_error);
  if (stream == NULL) {
    af_sdk_propagate_call_error (error, call_error, context, subject);
    return NULL;
  }
  AfExecStream *self = g_new0 (AfExecStream, 1);
  self->stream = stream;
  self->status.exit_code = -1;
  self->context = context;
  self->subject = g_strdup (subject);
  return self;
}

AfExecStream *
af_client_exec_stream_start (AfClient *client, const char *sandbox_id, const char *command,
                             const char *stdin_text, GHashTable *env, const char *workdir,
                             guint timeout_s, GCancellable *cancellable, GError **error)
{
  ExecRequest r;
  if (!exec_request_init (&r, sandbox_id, command, stdin_text, env, workdir, timeout_s, error))
    return NULL;
  g_autofree AfSdkMapEntry **env_block = r.env;
  return start_stream (client, METHOD ("ExecStream"), &r.request.base, AF_CALL_EXEC, sandbox_id,
                       cancellable, error);
}

AfExecStream *
af_client_session_exec_stream_start (AfClient *client, const char *session_id, const char *command,
                                     guint timeout_s, GCancellable *cancellable, GError **error)
{
  SessionExecRequest r;
  if (!session_request_init (&r, session_id, command, timeout_s, error))
    return NULL;
  return start_stream (client, METHOD ("SessionExecStream"), &r.request.base, AF_CALL_SESSION_EXEC,
                       session_id, cancellable, error);
}

gboolean
af_exec_stream_next (AfExecStream *self, AfOutputKind *out_kind, GBytes **out_data, GError **error)
{
  GError *call_error = NULL;
  g_autoptr (AfProtobufMessage) message = af_grpc_client_stream_read (self->stream, &call_error);
  if (message == NULL) {
    if (call_error != NULL)
      af_sdk_propagate_call_error (error, call_error, self->context, self->subject);
    else
      read_status (self->stream, &self->status);
    return FALSE;
  }
  const Sandbox__V1__ExecOutput *out = (const Sandbox__V1__ExecOutput *)message;
  chunk_kind (out, out_kind);
  *out_data = g_bytes_new (out->data.data, out->data.len);
  return TRUE;
}

gboolean
af_exec_stream_get_status (AfExecStream *self, AfExecStatus *out_status)
{
  *out_status = self->status;
  return self->status.reported;
}

void
af_exec_stream_free (AfExecStream *self)
{
  if (self == NULL)
    return;
  af_grpc_client_stream_free (self->stream);
  g_free (self->subject);
  g_free (self);
}
