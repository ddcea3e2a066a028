/* afd-exec-service.c — SandboxService commands: Exec, ExecStream, and the
 * session methods (Create/Get/List/DestroySession, SessionExec,
 * SessionExecStream).
 *
 * Owns: the pipes of each command (stdin written from the request; stdout
 * and stderr read as af-exec relays them — gathered for unary calls, sent
 * chunk by chunk for streams, reading paused while the stream's send queue
 * is full), the mapping of af-exec results to status codes, and what a
 * cancelled call does to its command. Must never: pass command output
 * through D-Bus messages, or finish a call before the commit that follows
 * its command. */
#include "afd-sandbox-service.h"
#include "af-fd-watch.h"

#include "google/protobuf/duration.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <gio/gunixoutputstream.h>
#include <glib-unix.h>
#include <unistd.h>

#define EXEC_PATH "/org/agentfense/Exec1"
#define EXEC_IFACE "org.agentfense.Exec1"
#define CHUNK (64 * 1024)
#define MAX_COMMAND (1024 * 1024)
#define MAX_ENV 256

typedef struct {
  int fd;
  AfFdWatch *watch;
  gboolean eof;
  GString *buf; /* unary: everything (af-exec caps it) */
} Stream;

typedef struct {
  AfGrpcCall *call;
  gint64 started;
  AfdRpc *rpc;
  AfdCaller caller; /* address borrowed from the call */
  AfdSandbox *sb;
  char *session_id; /* NULL for Exec */
  char *command;
  gboolean streaming;
  Stream out, err;
  GOutputStream *stdin_stream;
  GVariant *result;
  /* What complete() needs of @result, read in one pass when it arrives
   * (each g_variant_lookup walks the whole dictionary). */
  gint32 exit_code;
  guint64 duration_us;
  gboolean timed_out, oom_killed;
  GError *error;
  gboolean ended; /* reply (unary) or ExecFinished (stream) arrived */
  gboolean have_exec_id;
  guint64 exec_id;
  gboolean paused, completing, finished;
  gboolean cancelled; /* the client went away before the end */
  gulong cancel_handler;
  int lifeline; /* write end; closing it makes af-exec kill the command */
  struct CancelToken *token;
  guint timeout_ms;
} ExecState;

/* What a cancellation callback holds: it may run after the state is gone. */
typedef struct CancelToken {
  ExecState *st;
} CancelToken;

static void
token_release (gpointer p)
{
  g_rc_box_release (p);
}

static void pump (ExecState *st);

static void
exec_state_free (ExecState *st)
{
  for (Stream *s = &st->out; s <= &st->err; s++) {
    g_clear_pointer (&s->watch, af_fd_watch_remove);
    if (s->fd >= 0)
      close (s->fd);
    if (s->buf)
      g_string_free (s->buf, TRUE);
  }
  if (st->have_exec_id && !st->ended)
    afd_sandbox_unwatch_stream (st->sb, st->exec_id);
  if (st->lifeline >= 0)
    close (st->lifeline);
  g_clear_object (&st->stdin_stream);
  g_clear_pointer (&st->result, g_variant_unref);
  g_clear_error (&st->error);
  afd_rpc_cancel_disconnect (st->call, st->cancel_handler);
  if (st->token) {
    st->token->st = NULL;
    g_rc_box_release (st->token);
  }
  afd_sandbox_unref (st->sb);
  af_grpc_call_unref (st->call);
  g_free (st->session_id);
  g_free (st->command);
  g_free (st);
}

/* A stream's messages carry only output: the command's end travels in the
 * trailing metadata of the status, which clients that do not look for it
 * never see (docs/api.md, "Exit status of streamed commands"). */
static void
add_exit_trailers (ExecState *st)
{
  if (st->result == NULL || st->cancelled)
    return;
  gint32 sig = 0;
  gboolean out_cut = FALSE, err_cut = FALSE;
  g_variant_lookup (st->result, "signal", "i", &sig);
  g_variant_lookup (st->result, "stdout_truncated", "b", &out_cut);
  g_variant_lookup (st->result, "stderr_truncated", "b", &err_cut);
  char value[32];
  g_snprintf (value, sizeof value, "%d", st->exit_code);
  af_grpc_call_add_trailing_metadata (st->call, "agentfense-exit-code", value);
  if (sig > 0) {
    g_snprintf (value, sizeof value, "%d", sig);
    af_grpc_call_add_trailing_metadata (st->call, "agentfense-signal", value);
  }
  g_snprintf (value, sizeof value, "%" G_GUINT64_FORMAT, st->duration_us);
  af_grpc_call_add_trailing_metadata (st->call, "agentfense-duration-us", value);
  af_grpc_call_add_trailing_metadata (st->call, "agentfense-truncated",
                                      out_cut && err_cut ? "stdout,stderr"
                                      : out_cut          ? "stdout"
                                      : err_cut          ? "stderr"
                                                         : "none");
}

static void
on_committed (gpointer data)
{
  ExecState *st = data;
  if (st->streaming)
    add_exit_trailers (st);
  if (st->error) {
    afd_rpc_finish (st->call, NULL, st->error, st->started);
  } else if (st->streaming) {
    afd_rpc_finish (st->call, NULL, NULL, st->started);
  } else {
    Sandbox__V1__ExecResult out = SANDBOX__V1__EXEC_RESULT__INIT;
    Google__Protobuf__Duration d = GOOGLE__PROTOBUF__DURATION__INIT;
    guint64 us = st->duration_us;
    d.seconds = (gint64)(us / G_USEC_PER_SEC);
    d.nanos = (gint32)(us % G_USEC_PER_SEC) * 1000;
    /* string fields: af-exec output need not be UTF-8; protobuf-c sends
     * the bytes as they are. */
    out.stdout = st->out.buf->str;
    out.stderr = st->err.buf->str;
    out.exit_code = st->exit_code;
    out.duration = &d;
    afd_rpc_finish (st->call, &out.base, NULL, st->started);
  }
  exec_state_free (st);
}

static void
take_result (ExecState *st, GVariant *result)
{
  GVariantIter it;
  const char *key;
  GVariant *v;
  st->result = g_variant_ref (result);
  g_variant_iter_init (&it, result);
  while (g_variant_iter_next (&it, "{&sv}", &key, &v)) {
    if (strcmp (key, "exit_code") == 0 && g_variant_is_of_type (v, G_VARIANT_TYPE_INT32))
      st->exit_code = g_variant_get_int32 (v);
    else if (strcmp (key, "duration_us") == 0 && g_variant_is_of_type (v, G_VARIANT_TYPE_UINT64))
      st->duration_us = g_variant_get_uint64 (v);
    else if (strcmp (key, "timed_out") == 0 && g_variant_is_of_type (v, G_VARIANT_TYPE_BOOLEAN))
      st->timed_out = g_variant_get_boolean (v);
    else if (strcmp (key, "oom_killed") == 0 && g_variant_is_of_type (v, G_VARIANT_TYPE_BOOLEAN))
      st->oom_killed = g_variant_get_boolean (v);
    g_variant_unref (v);
  }
}

/* Output complete and the end known: history, commit, then the answer. */
static void
complete (ExecState *st)
{
  if (st->completing)
    return;
  st->completing = TRUE;
  /* Nothing more is read: a hang-up that comes now must not wake us
   * again and again while the commit runs. */
  g_clear_pointer (&st->out.watch, af_fd_watch_remove);
  g_clear_pointer (&st->err.watch, af_fd_watch_remove);
  gint64 duration = (gint64)st->duration_us;
  gboolean timed_out = st->timed_out, oom = st->oom_killed;
  if (st->result) {
    if (timed_out && st->error == NULL)
      st->error =
          g_error_new (AF_ERROR, AF_ERROR_DEADLINE_EXCEEDED,
                       "command timed out after %u ms; its processes were killed", st->timeout_ms);
    else if (oom && st->error == NULL && st->streaming)
      st->error = g_error_new_literal (AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED,
                                       "command killed: memory limit of the sandbox reached");
  }
  AfdExecRecord rec = {
    .what = st->session_id ? "session.exec" : "sandbox.exec",
    .session_id = st->session_id,
    .command = st->command,
    .exit_code = st->result ? st->exit_code : -1,
    .duration_us = duration,
    .result = st->cancelled        ? "cancelled"
              : st->result == NULL ? "failed"
              : timed_out          ? "timeout"
              : oom                ? "oom"
                                   : "exited",
  };
  afd_sandbox_exec_end (st->sb, &st->caller, &rec, G_CALLBACK (on_committed), st);
}

static gboolean
on_readable (gpointer data)
{
  ExecState *st = data;
  pump (st);
  return G_SOURCE_CONTINUE;
}

static void
watch (ExecState *st, Stream *s)
{
  if (s->watch == NULL && !s->eof)
    s->watch = af_fd_watch_add (s->fd, on_readable, st);
}

static void
on_send_ready (AfGrpcCall *call, gpointer data)
{
  ExecState *st = data;
  if (!st->paused)
    return;
  st->paused = FALSE;
  watch (st, &st->out);
  watch (st, &st->err);
  pump (st);
}

/* The client is gone: keep reading (and dropping) until the end, never
 * waiting for a send queue that will not drain. */
static void
stop_streaming (ExecState *st)
{
  st->streaming = FALSE;
  if (st->out.buf == NULL)
    st->out.buf = g_string_new (NULL);
  if (st->err.buf == NULL)
    st->err.buf = g_string_new (NULL);
  if (st->paused) {
    st->paused = FALSE;
    watch (st, &st->out);
    watch (st, &st->err);
  }
}

/* Read what is there, one chunk per stream in turn (so interleaved output
 * keeps its order as far as two pipes allow). */
static void
pump (ExecState *st)
{
  char buf[CHUNK];
  if (st->completing)
    return;
  gboolean progress = TRUE;
  while (progress) {
    progress = FALSE;
    for (Stream *s = &st->out; s <= &st->err; s++) {
      if (s->eof)
        continue;
      if (st->streaming && !af_grpc_call_can_send (st->call)) {
        st->paused = TRUE;
        g_clear_pointer (&st->out.watch, af_fd_watch_remove);
        g_clear_pointer (&st->err.watch, af_fd_watch_remove);
        return;
      }
      ssize_t n = read (s->fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) {
        progress = TRUE;
        continue;
      }
      if (n < 0 && errno == EAGAIN)
        continue;
      if (n <= 0) {
        s->eof = TRUE;
        g_clear_pointer (&s->watch, af_fd_watch_remove);
        continue;
      }
      progress = TRUE;
      if (!st->streaming) {
        g_string_append_len (s->buf, buf, n);
        continue;
      }
      Sandbox__V1__ExecOutput msg = SANDBOX__V1__EXEC_OUTPUT__INIT;
      msg.type = s == &st->out ? SANDBOX__V1__EXEC_OUTPUT__OUTPUT_TYPE__OUTPUT_TYPE_STDOUT
                               : SANDBOX__V1__EXEC_OUTPUT__OUTPUT_TYPE__OUTPUT_TYPE_STDERR;
      msg.data.data = (uint8_t *)buf;
      msg.data.len = (size_t)n;
      g_autoptr (GError) error = NULL;
      if (!af_grpc_call_send (st->call, &msg.base, &error))
        stop_streaming (st);
    }
  }
  /* af-exec answers only after it forwarded all output: once the end is
   * known and the pipes are empty, the output is complete (sessions keep
   * their pipes' other ends, so EOF is not the signal). */
  if (st->ended)
    complete (st);
}

static gboolean
on_cancel (gpointer data)
{
  ExecState *st = ((CancelToken *)data)->st;
  if (st == NULL || st->completing)
    return G_SOURCE_REMOVE;
  st->cancelled = TRUE;
  af_sb_message (st->sb->row->id, "call cancelled by the client%s",
                 st->session_id ? "; killing the session" : "");
  if (st->session_id) {
    /* The session's shell runs the command: killing its tree is the only
     * way to end the command, and the session with it. */
    g_autoptr (GError) error = NULL;
    if (!afd_sandboxes_session_destroy (st->rpc->sandboxes, &st->caller, st->session_id, &error))
      g_warning ("cancel: %s", error->message);
  }
  /* af-exec sees the lifeline hang up and kills the command's whole tree;
   * its end then completes the call as usual (the answer goes nowhere). */
  if (st->lifeline >= 0) {
    close (st->lifeline);
    st->lifeline = -1;
  }
  if (st->streaming)
    stop_streaming (st);
  pump (st);
  return G_SOURCE_REMOVE;
}

/* The reply of a call to af-exec, or NULL with st->error set (the remote
 * error's D-Bus name stripped from its message). */
static GVariant *
finish_call (ExecState *st, GObject *source, GAsyncResult *res)
{
  GVariant *v = g_dbus_connection_call_with_unix_fd_list_finish (G_DBUS_CONNECTION (source), NULL,
                                                                 res, &st->error);
  if (v == NULL)
    g_dbus_error_strip_remote_error (st->error);
  return v;
}

static void
on_reply (GObject *source, GAsyncResult *res, gpointer data)
{
  ExecState *st = data;
  g_autoptr (GVariant) v = finish_call (st, source, res);
  if (v != NULL) {
    g_autoptr (GVariant) r = g_variant_get_child_value (v, 0);
    take_result (st, r);
  }
  st->ended = TRUE;
  pump (st);
}

static void
on_stream_finished (GVariant *result, const char *error_name, const char *error_message,
                    gpointer data)
{
  ExecState *st = data;
  st->ended = TRUE;
  if (result)
    take_result (st, result);
  if (error_name && error_name[0]) {
    g_autoptr (GError) remote = g_dbus_error_new_for_dbus_error (error_name, error_message);
    g_dbus_error_strip_remote_error (remote);
    st->error = af_error_normalize (remote);
  }
  pump (st);
}

static void
on_stream_reply (GObject *source, GAsyncResult *res, gpointer data)
{
  ExecState *st = data;
  g_autoptr (GVariant) v = finish_call (st, source, res);
  if (v == NULL) {
    st->ended = TRUE;
    pump (st);
    return;
  }
  g_variant_get (v, "(t)", &st->exec_id);
  st->have_exec_id = TRUE;
  afd_sandbox_watch_stream (st->sb, st->exec_id, on_stream_finished, st);
}

/* A pipe for one output stream: our end, non-blocking, in @s; the
 * command's end returned (-1 on failure). */
static int
open_output (ExecState *st, Stream *s, GError **error)
{
  int p[2];
  if (!g_unix_open_pipe (p, FD_CLOEXEC, error))
    return -1;
  s->fd = p[0];
  fcntl (p[0], F_SETFL, O_NONBLOCK); /* a new pipe end has no other status flag */
  s->buf = st->streaming ? NULL : g_string_new (NULL);
  return p[1];
}

static guint
timeout_of (ExecState *st, const Google__Protobuf__Duration *d)
{
  const AfdSettings *s = afd_sandboxes_get_settings (st->rpc->sandboxes);
  gint64 ms = s->exec_timeout_ms;
  if (d && (d->seconds > 0 || d->nanos > 0))
    ms = MIN (d->seconds, 86400) * 1000 + d->nanos / 1000000;
  /* Never outlive the client's deadline: when it passes, the command dies. */
  gint64 deadline = af_grpc_call_get_deadline (st->call);
  if (deadline != G_MAXINT64) {
    gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
    ms = MIN (ms, MAX (left, 1));
  }
  return (guint)MAX (ms, 1);
}

static GVariant *
build_request (ExecState *st, const char *command, size_t n_env,
               Sandbox__V1__ExecRequest__EnvEntry **env, const char *workdir, GError **error)
{
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&b, "{sv}", "command", g_variant_new_string (command));
  g_variant_builder_add (&b, "{sv}", "timeout_ms", g_variant_new_uint64 (st->timeout_ms));
  /* The lifeline is the last handle run() passes: [stdin,] stdout,
   * stderr, lifeline. */
  g_variant_builder_add (&b, "{sv}", "lifeline", g_variant_new_handle (st->session_id ? 2 : 3));
  if (!st->streaming) {
    /* A unary answer must fit in one message: both streams together. */
    gint64 max = afd_sandboxes_get_settings (st->rpc->sandboxes)->max_message_size;
    g_variant_builder_add (&b, "{sv}", "output_limit",
                           g_variant_new_uint64 ((guint64)MAX (max / 2 - 1024, 1024)));
  }
  if (workdir && workdir[0])
    g_variant_builder_add (&b, "{sv}", "workdir", g_variant_new_string (workdir));
  if (n_env > 0) {
    if (n_env > MAX_ENV) {
      g_variant_builder_clear (&b);
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "env: at most %d variables",
                   MAX_ENV);
      return NULL;
    }
    GVariantBuilder e;
    g_variant_builder_init (&e, G_VARIANT_TYPE ("a{ss}"));
    for (size_t i = 0; i < n_env; i++)
      g_variant_builder_add (&e, "{ss}", env[i]->key, env[i]->value);
    g_variant_builder_add (&b, "{sv}", "env", g_variant_builder_end (&e));
  }
  return g_variant_builder_end (&b);
}

static ExecState *
exec_state_new (AfGrpcCall *call, gint64 started, AfdRpc *rpc, const AfdCaller *caller,
                gboolean streaming)
{
  ExecState *st = g_new0 (ExecState, 1);
  st->call = af_grpc_call_ref (call);
  st->started = started;
  st->rpc = rpc;
  st->caller = *caller;
  st->streaming = streaming;
  st->out.fd = st->err.fd = st->lifeline = -1;
  return st;
}

/* All of stdin is written (or the command stopped reading): EOF for it. */
static void
on_stdin_written (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GOutputStream) stream = data;
  g_output_stream_write_all_finish (stream, res, NULL, NULL);
  g_output_stream_close (stream, NULL, NULL);
}

static void
close_all (int *fds, int n)
{
  for (int i = 0; i < n; i++)
    if (fds[i] >= 0)
      close (fds[i]);
}

/* Common to the four command calls: checks, pipes, the D-Bus call. */
static void
run (ExecState *st, const char *method, GVariant *params_tail, const char *stdin_data,
     GError **error)
{
  g_autoptr (GVariant) tail = g_variant_ref_sink (params_tail);
  GDBusConnection *conn = afd_sandbox_exec_conn (st->sb, error);
  if (conn == NULL)
    return;
  /* The command's ends, in handle order: [stdin,] stdout, stderr,
   * lifeline. The fd list takes them as they are (no copies). */
  int theirs[4] = { -1, -1, -1, -1 }, n = 0;
  int in_w = -1;
  if (st->session_id == NULL) {
    if (stdin_data && stdin_data[0]) {
      int p[2];
      if (!g_unix_open_pipe (p, FD_CLOEXEC, error))
        return;
      theirs[n++] = p[0];
      in_w = p[1];
    } else {
      /* No input: end of file at once, without a pipe to feed. */
      theirs[n] = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (theirs[n++] < 0) {
        g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot open /dev/null: %s",
                     g_strerror (errno));
        return;
      }
    }
  }
  int life[2] = { -1, -1 };
  if ((theirs[n++] = open_output (st, &st->out, error)) < 0 ||
      (theirs[n++] = open_output (st, &st->err, error)) < 0 ||
      !g_unix_open_pipe (life, FD_CLOEXEC, error)) {
    close_all (theirs, n);
    if (in_w >= 0)
      close (in_w);
    return;
  }
  /* The lifeline: af-exec holds the read end for as long as the command
   * runs; we close the write end when the client goes away. */
  theirs[n++] = life[0];
  st->lifeline = life[1];
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new_from_array (theirs, n);
  if (!afd_sandbox_exec_begin (st->sb, error)) {
    if (in_w >= 0)
      close (in_w);
    return;
  }
  GVariant *params;
  if (st->session_id)
    params = g_variant_new ("(s@a{sv}hh)", st->session_id, tail, 0, 1);
  else
    params = g_variant_new ("(@a{sv}hhh)", tail, 0, 1, 2);
  if (in_w >= 0) {
    /* stdin goes in the background: a command that never reads it must
     * not block the server, and the request string lives with the call. */
    g_unix_set_fd_nonblocking (in_w, TRUE, NULL);
    st->stdin_stream = g_unix_output_stream_new (in_w, TRUE);
    g_output_stream_write_all_async (st->stdin_stream, stdin_data, strlen (stdin_data),
                                     G_PRIORITY_DEFAULT, NULL, on_stdin_written,
                                     g_object_ref (st->stdin_stream));
  }
  st->token = g_rc_box_new0 (CancelToken);
  st->token->st = st;
  st->cancel_handler =
      afd_rpc_on_cancel (st->call, on_cancel, g_rc_box_acquire (st->token), token_release);
  watch (st, &st->out);
  watch (st, &st->err);
  if (st->streaming)
    af_grpc_call_set_send_ready_func (st->call, on_send_ready, st);
  g_dbus_connection_call_with_unix_fd_list (
      conn, NULL, EXEC_PATH, EXEC_IFACE, method, params,
      st->streaming ? G_VARIANT_TYPE ("(t)") : G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE,
      (int)MIN ((guint64)st->timeout_ms + 30000, G_MAXINT), fds, NULL,
      st->streaming ? on_stream_reply : on_reply, st);
}

/* A command is required and bounded, in Exec and SessionExec alike. */
static gboolean
check_command (const char *command, GError **error)
{
  if (command == NULL || command[0] == '\0') {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "command is required");
    return FALSE;
  }
  if (strlen (command) > MAX_COMMAND) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "command: longer than %d bytes",
                 MAX_COMMAND);
    return FALSE;
  }
  return TRUE;
}

/* Send the built request @r (NULL when building failed with @error) to
 * af-exec; on any failure the call is answered and @st freed here. */
static void
start (ExecState *st, const char *method, GVariant *r, const char *stdin_text, GError *error)
{
  g_autoptr (GError) run_error = NULL;
  if (r != NULL && error == NULL) {
    run (st, method, r, stdin_text, &run_error);
    error = run_error;
  }
  if (error) {
    afd_rpc_finish (st->call, NULL, error, st->started);
    exec_state_free (st);
  }
}

typedef AfdSandbox *(*SandboxLookup) (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                                      GError **error);

/* How Exec and SessionExec open: the caller, the required @id (named
 * @id_name in the error), the command, then the running sandbox from
 * @lookup. Returns the state of the call, its sandbox, command and timeout
 * set, or NULL with the call already answered. */
static ExecState *
open_exec (AfGrpcCall *call, AfdRpc *rpc, gboolean streaming, const char *id_name, const char *id,
           SandboxLookup lookup, const char *command, const Google__Protobuf__Duration *timeout)
{
  gint64 started = g_get_monotonic_time ();
  g_autoptr (GError) error = NULL;
  AfdCaller caller;
  if (!afd_rpc_caller (rpc, call, &caller, &error)) {
    afd_rpc_finish (call, NULL, error, started);
    return NULL;
  }
  AfdSandbox *sb = NULL;
  if (id == NULL || id[0] == '\0')
    g_set_error (&error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "%s is required", id_name);
  else if (check_command (command, &error))
    sb = lookup (rpc->sandboxes, &caller, id, &error);
  if (sb == NULL) {
    afd_rpc_finish (call, NULL, error, started);
    return NULL;
  }
  ExecState *st = exec_state_new (call, started, rpc, &caller, streaming);
  st->sb = sb;
  st->command = g_strdup (command);
  st->timeout_ms = timeout_of (st, timeout);
  return st;
}

static void
exec_common (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data,
             gboolean streaming)
{
  const Sandbox__V1__ExecRequest *req = (const Sandbox__V1__ExecRequest *)request;
  ExecState *st = open_exec (call, user_data, streaming, "sandbox_id", req->sandbox_id,
                             afd_sandboxes_lookup_running, req->command, req->timeout);
  if (st == NULL)
    return;
  g_autoptr (GError) error = NULL;
  GVariant *r = build_request (st, req->command, req->n_env, req->env, req->workdir, &error);
  start (st, streaming ? "ExecStream" : "Exec", r, req->stdin, error);
}

static void
exec (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  exec_common (call, request, user_data, FALSE);
}

static void
exec_stream (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  exec_common (call, request, user_data, TRUE);
}

static void
session_exec_common (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data,
                     gboolean streaming)
{
  const Sandbox__V1__SessionExecRequest *req = (const Sandbox__V1__SessionExecRequest *)request;
  ExecState *st = open_exec (call, user_data, streaming, "session_id", req->session_id,
                             afd_sandboxes_session_lookup, req->command, req->timeout);
  if (st == NULL)
    return;
  st->session_id = g_strdup (req->session_id);
  g_autoptr (GError) error = NULL;
  GVariant *r = build_request (st, req->command, 0, NULL, NULL, &error);
  start (st, streaming ? "SessionExecStream" : "SessionExec", r, NULL, error);
}

static void
session_exec (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  session_exec_common (call, request, user_data, FALSE);
}

static void
session_exec_stream (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  session_exec_common (call, request, user_data, TRUE);
}

/* ---- session bookkeeping ---- */

typedef struct {
  Sandbox__V1__Session msg;
  Google__Protobuf__Timestamp created, closed;
} SessionMsg;

static void
fill_session (SessionMsg *m, const AfdSessionRow *row)
{
  sandbox__v1__session__init (&m->msg);
  m->msg.id = row->id;
  m->msg.sandbox_id = row->sandbox_id;
  m->msg.status = (Sandbox__V1__SessionStatus)row->status;
  m->msg.shell = row->shell;
  afd_rpc_timestamp (&m->created, row->created_us);
  m->msg.created_at = &m->created;
  if (row->closed_us) {
    afd_rpc_timestamp (&m->closed, row->closed_us);
    m->msg.closed_at = &m->closed;
  }
}

#define BEGIN_CALL(req_type)                                                                       \
  AfdRpc *rpc = user_data;                                                                         \
  const req_type *req = (const req_type *)request;                                                 \
  gint64 started = g_get_monotonic_time ();                                                        \
  g_autoptr (GError) error = NULL;                                                                 \
  AfdCaller caller;                                                                                \
  if (!afd_rpc_caller (rpc, call, &caller, &error)) {                                              \
    afd_rpc_finish (call, NULL, error, started);                                                   \
    return;                                                                                        \
  }

typedef struct {
  AfGrpcCall *call;
  gint64 started;
} Pending;

static void
on_session_created (AfdSessionRow *row, const GError *error, gpointer data)
{
  Pending *p = data;
  if (row) {
    SessionMsg m;
    fill_session (&m, row);
    afd_rpc_finish (p->call, &m.msg.base, NULL, p->started);
  } else {
    afd_rpc_finish (p->call, NULL, error, p->started);
  }
  af_grpc_call_unref (p->call);
  g_free (p);
}

static void
create_session (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__CreateSessionRequest);
  if (req->n_env > MAX_ENV) {
    g_set_error (&error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "env: at most %d variables", MAX_ENV);
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  GVariantBuilder e;
  g_variant_builder_init (&e, G_VARIANT_TYPE ("a{ss}"));
  for (size_t i = 0; i < req->n_env; i++)
    g_variant_builder_add (&e, "{ss}", req->env[i]->key, req->env[i]->value);
  GVariant *env = g_variant_builder_end (&e);
  Pending *p = g_new0 (Pending, 1);
  p->call = af_grpc_call_ref (call);
  p->started = started;
  afd_sandboxes_session_create (rpc->sandboxes, &caller, req->sandbox_id, req->shell,
                                req->n_env ? env : NULL, on_session_created, p);
  if (req->n_env == 0)
    g_variant_unref (g_variant_ref_sink (env));
}

static void
get_session (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__GetSessionRequest);
  g_autoptr (AfdSessionRow) row =
      afd_sandboxes_session_get (rpc->sandboxes, &caller, req->session_id, &error);
  if (row == NULL) {
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  SessionMsg m;
  fill_session (&m, row);
  afd_rpc_finish (call, &m.msg.base, NULL, started);
}

static void
list_sessions (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__ListSessionsRequest);
  g_autoptr (GPtrArray) rows =
      afd_sandboxes_session_list (rpc->sandboxes, &caller, req->sandbox_id, &error);
  if (rows == NULL) {
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  g_autofree SessionMsg *msgs = g_new0 (SessionMsg, rows->len + 1);
  g_autofree Sandbox__V1__Session **ptrs = g_new0 (Sandbox__V1__Session *, rows->len + 1);
  for (guint i = 0; i < rows->len; i++) {
    fill_session (&msgs[i], g_ptr_array_index (rows, i));
    ptrs[i] = &msgs[i].msg;
  }
  Sandbox__V1__ListSessionsResponse out = SANDBOX__V1__LIST_SESSIONS_RESPONSE__INIT;
  out.n_sessions = rows->len;
  out.sessions = ptrs;
  afd_rpc_finish (call, &out.base, NULL, started);
}

static void
destroy_session (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__DestroySessionRequest);
  afd_sandboxes_session_destroy (rpc->sandboxes, &caller, req->session_id, &error);
  afd_rpc_finish_empty (call, error, started);
}

#define METHOD(name, kind, req, resp, fn)                                                          \
  {                                                                                                \
    "/sandbox.v1.SandboxService/" name, kind, &req##__descriptor, &resp##__descriptor, fn          \
  }

static const AfGrpcMethod methods[] = {
  METHOD ("Exec", AF_GRPC_UNARY, sandbox__v1__exec_request, sandbox__v1__exec_result, exec),
  METHOD ("ExecStream", AF_GRPC_SERVER_STREAMING, sandbox__v1__exec_request,
          sandbox__v1__exec_output, exec_stream),
  METHOD ("CreateSession", AF_GRPC_UNARY, sandbox__v1__create_session_request, sandbox__v1__session,
          create_session),
  METHOD ("GetSession", AF_GRPC_UNARY, sandbox__v1__get_session_request, sandbox__v1__session,
          get_session),
  METHOD ("ListSessions", AF_GRPC_UNARY, sandbox__v1__list_sessions_request,
          sandbox__v1__list_sessions_response, list_sessions),
  METHOD ("DestroySession", AF_GRPC_UNARY, sandbox__v1__destroy_session_request, sandbox__v1__empty,
          destroy_session),
  METHOD ("SessionExec", AF_GRPC_UNARY, sandbox__v1__session_exec_request, sandbox__v1__exec_result,
          session_exec),
  METHOD ("SessionExecStream", AF_GRPC_SERVER_STREAMING, sandbox__v1__session_exec_request,
          sandbox__v1__exec_output, session_exec_stream),
};

const AfGrpcMethod *
afd_exec_service_methods (gsize *out_n)
{
  *out_n = G_N_ELEMENTS (methods);
  return methods;
}
