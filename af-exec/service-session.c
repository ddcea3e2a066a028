/* service-session.c — the session methods of org.agentfense.Exec1:
 * CreateSession, SessionExec, SessionExecStream, DestroySession,
 * ListSessions.
 *
 * Owns: the sandbox's table of live sessions and what ends one (its
 * destruction, or the caller of its running command going away). Must
 * never: run a command outside its session's shell, or keep a caller's fd
 * after its command is done. */
#include "service-private.h"

#include "af-error.h"
#include "af-ids.h"
#include "af-log.h"

static void
on_session_done (gpointer data, const AfExecResult *r, gboolean restarted, const GError *error)
{
  Call *c = data;
  service_complete (c, r ? service_result_to_variant (r, TRUE, restarted) : NULL, error);
}

typedef struct {
  Service *svc;
  GDBusMethodInvocation *inv;
} Pending;

static void
on_session_ready (gpointer data, AfSession *s, const GError *error)
{
  Pending *p = data;

  if (error) {
    g_dbus_method_invocation_return_gerror (p->inv, error);
  } else if (p->svc->stopping) {
    /* Stop came while the shell started: it goes with the rest. */
    g_dbus_method_invocation_return_error (p->inv, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                                           "the sandbox is stopping");
    af_session_destroy (s);
  } else {
    g_hash_table_insert (p->svc->sessions, g_strdup (af_session_get_id (s)), s);
    af_exec1_complete_create_session (p->svc->skeleton, p->inv, af_session_get_id (s));
  }
  g_free (p);
}

static gboolean
handle_create_session (AfExec1 *obj, GDBusMethodInvocation *inv, GVariant *request, gpointer data)
{
  Service *svc = data;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) env = service_env_from_variant (request);
  const char *shell = NULL, *id = NULL;
  g_autofree char *new_id = NULL;
  Pending *p;

  g_variant_lookup (request, "shell", "&s", &shell);
  g_variant_lookup (request, "id", "&s", &id);
  if (id == NULL || id[0] == '\0')
    id = new_id = af_id_new (AF_ID_SESSION);
  if (!service_check_capacity (svc, &error)) {
    g_dbus_method_invocation_return_gerror (inv, error);
    return TRUE;
  }
  if (!af_id_validate (AF_ID_SESSION, id, "session id", &error)) {
    g_dbus_method_invocation_return_gerror (inv, error);
    return TRUE;
  }
  if (g_hash_table_contains (svc->sessions, id)) {
    g_dbus_method_invocation_return_error (inv, AF_ERROR, AF_ERROR_ALREADY_EXISTS,
                                           "session %s already exists", id);
    return TRUE;
  }
  if (g_hash_table_size (svc->sessions) >=
      (guint)af_config_get_int (svc->config, "exec", "max_sessions")) {
    g_dbus_method_invocation_return_error (inv, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED,
                                           "this sandbox already has %u sessions",
                                           g_hash_table_size (svc->sessions));
    return TRUE;
  }
  p = g_new0 (Pending, 1);
  p->svc = svc;
  p->inv = inv;
  if (af_session_new (svc->sb, id, shell, (const char *const *)env, on_session_ready, p, &error) ==
      NULL) {
    g_dbus_method_invocation_return_gerror (inv, error);
    g_free (p);
  }
  return TRUE;
}

/* A session command's caller went away: the command runs in the session's
 * shell, so ending it means ending the session (as a cancelled call). */
static gboolean
on_session_lifeline (gpointer data)
{
  Call *c = data;
  Service *svc = c->svc;
  AfSession *s = g_hash_table_lookup (svc->sessions, c->session_id);

  c->lifeline_watch = NULL; /* a finished watch is gone */
  if (s != NULL) {
    af_sb_message (svc->sb_id, "the caller of a command in %s went away; ending the session",
                   c->session_id);
    g_hash_table_remove (svc->sessions, c->session_id);
    af_session_destroy (s); /* completes @c with a closed error */
  }
  return G_SOURCE_REMOVE;
}

static gboolean
start_session_exec (Service *svc, const char *id, GVariant *request, FdSet *fds,
                    const gint32 *handles, Call *c, GError **error)
{
  AfSession *s = g_hash_table_lookup (svc->sessions, id);
  AfSessionExecRequest req = { 0 };

  if (!service_check_capacity (svc, error))
    return FALSE;
  if (s == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND, "no session %s in this sandbox", id);
    return FALSE;
  }
  if (!service_take_fds (fds, handles, 2, c, error))
    return FALSE;
  /* service_take_fds filled [0], [1]: shift to stdout/stderr slots. */
  c->fds[2] = c->fds[1];
  c->fds[1] = c->fds[0];
  c->fds[0] = -1;
  if (!service_take_lifeline (request, fds, c, error))
    return FALSE;
  g_variant_lookup (request, "command", "&s", &req.command);
  req.timeout_ms = service_lookup_u64 (request, "timeout_ms",
                                       af_config_get_int (svc->config, "exec", "timeout"));
  req.output_cap = service_lookup_u64 (request, "output_limit",
                                       af_config_get_int (svc->config, "exec", "output_limit"));
  req.stdout_fd = c->fds[1];
  req.stderr_fd = c->fds[2];
  if (!af_session_exec (s, &req, on_session_done, c, error))
    return FALSE;
  if (c->lifeline >= 0) {
    c->session_id = g_strdup (id);
    c->lifeline_watch = af_fd_watch_once (c->lifeline, on_session_lifeline, c);
  }
  svc->n_running++;
  svc->n_run++;
  return TRUE;
}

/* SessionExec answers at the command's end; SessionExecStream answers now
 * with a stream id and signals ExecFinished at the end. */
static void
begin_session_exec (Service *svc, GDBusMethodInvocation *inv, GUnixFDList *fds, const char *id,
                    GVariant *request, GVariant *out, GVariant *err, gboolean streaming)
{
  Call *c = service_call_new (svc);
  g_autoptr (GError) error = NULL;
  gint32 handles[2] = { g_variant_get_handle (out), g_variant_get_handle (err) };
  guint64 stream_id = streaming ? ++svc->next_stream_id : 0;
  FdSet set;
  gboolean ok;

  service_close_late_fds (svc);
  c->stream_id = stream_id;
  c->invocation = streaming ? NULL : inv;
  service_fd_set_init (&set, fds);
  ok = start_session_exec (svc, id, request, &set, handles, c, &error);
  service_fd_set_clear (&set);
  if (!ok) {
    g_dbus_method_invocation_return_gerror (inv, error);
    service_call_free (c);
  } else if (streaming) {
    af_exec1_complete_session_exec_stream (svc->skeleton, inv, NULL, stream_id);
  }
}

static gboolean
handle_session_exec (AfExec1 *obj, GDBusMethodInvocation *inv, GUnixFDList *fds, const char *id,
                     GVariant *request, GVariant *out, GVariant *err, gpointer data)
{
  begin_session_exec (data, inv, fds, id, request, out, err, FALSE);
  return TRUE;
}

static gboolean
handle_session_exec_stream (AfExec1 *obj, GDBusMethodInvocation *inv, GUnixFDList *fds,
                            const char *id, GVariant *request, GVariant *out, GVariant *err,
                            gpointer data)
{
  begin_session_exec (data, inv, fds, id, request, out, err, TRUE);
  return TRUE;
}

static gboolean
handle_destroy_session (AfExec1 *obj, GDBusMethodInvocation *inv, const char *id, gpointer data)
{
  Service *svc = data;
  AfSession *s = g_hash_table_lookup (svc->sessions, id);

  if (s == NULL) {
    g_dbus_method_invocation_return_error (inv, AF_ERROR, AF_ERROR_NOT_FOUND,
                                           "no session %s in this sandbox", id);
    return TRUE;
  }
  g_hash_table_remove (svc->sessions, id);
  af_session_destroy (s);
  af_exec1_complete_destroy_session (obj, inv);
  return TRUE;
}

static gboolean
handle_list_sessions (AfExec1 *obj, GDBusMethodInvocation *inv, gpointer data)
{
  Service *svc = data;
  g_autofree const char **ids = (const char **)g_hash_table_get_keys_as_array (svc->sessions, NULL);
  af_exec1_complete_list_sessions (obj, inv, ids);
  return TRUE;
}

void
service_connect_sessions (Service *svc)
{
  g_signal_connect (svc->skeleton, "handle-create-session", G_CALLBACK (handle_create_session),
                    svc);
  g_signal_connect (svc->skeleton, "handle-session-exec", G_CALLBACK (handle_session_exec), svc);
  g_signal_connect (svc->skeleton, "handle-session-exec-stream",
                    G_CALLBACK (handle_session_exec_stream), svc);
  g_signal_connect (svc->skeleton, "handle-destroy-session", G_CALLBACK (handle_destroy_session),
                    svc);
  g_signal_connect (svc->skeleton, "handle-list-sessions", G_CALLBACK (handle_list_sessions), svc);
}
