/* exec-client.h — a test's side of org.agentfense.Exec1: a peer server,
 * af-exec --serve spawned against it, and calls with fds attached, made
 * with plain GDBus (independent of the generated code). */
#pragma once

#include <gio/gio.h>

typedef struct {
  char *dir;
  GSubprocess *proc;
  GDBusConnection *conn;
  GPtrArray *signals; /* ExecFinished parameters, in arrival order */
  guint sub;
} ExecService;

/* Spawn af-exec --serve against the peer server at @address, over
 * @workspace, with the runtime under test and @extra_args. */
GSubprocess *exec_service_spawn (const char *address, const char *workspace,
                                 const char *const *extra_args);
/* Start af-exec --serve with @extra_args (NULL-terminated) over @workspace. */
ExecService *exec_service_start (const char *workspace, const char *const *extra_args);
/* Stop (the Stop method), then exec_service_wait_exit. */
void exec_service_stop (ExecService *svc);
/* Wait for the process, check it exited 0, free @svc. */
void exec_service_wait_exit (ExecService *svc);

typedef struct {
  GVariant *result; /* a{sv}, or NULL with error */
  GError *error;
  GString *out, *err;
} ExecOutcome;

void exec_outcome_clear (ExecOutcome *o);

/* Exec with @request (a{sv}, floating ok) and @input on stdin. */
void exec_service_exec (ExecService *svc, GVariant *request, const char *input, ExecOutcome *o);
/* SessionExec. */
void exec_service_session_exec (ExecService *svc, const char *session, GVariant *request,
                                ExecOutcome *o);
/* Any method without fds; returns the reply or NULL with @error. */
GVariant *exec_service_call (ExecService *svc, const char *method, GVariant *params,
                             GError **error);

gint32 exec_result_int (GVariant *result, const char *key);
gboolean exec_result_bool (GVariant *result, const char *key);
guint64 exec_result_u64 (GVariant *result, const char *key);
