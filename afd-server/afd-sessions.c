/* afd-sessions.c — sessions of a running sandbox: creation and destruction
 * through af-exec, their rows, the per-sandbox limit.
 *
 * Must never: keep a session ACTIVE in the database that af-exec no longer
 * has (a stopped or failed sandbox closes all of them). */
#include "afd-sandboxes-private.h"

#include <string.h>

#define EXEC_PATH "/org/agentfense/Exec1"
#define EXEC_IFACE "org.agentfense.Exec1"

typedef struct {
  AfdSandbox *sb;
  char *actor;
  char *id;
  char *shell;
  void (*done) (AfdSessionRow *, const GError *, gpointer);
  gpointer data;
} CreateOp;

static void
on_created (GObject *source, GAsyncResult *res, gpointer data)
{
  CreateOp *op = data;
  AfdSandbox *sb = op->sb;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) v = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  g_autoptr (AfdSessionRow) row = NULL;
  if (v == NULL) {
    g_dbus_error_strip_remote_error (error);
    if (sb->n_sessions > 0)
      sb->n_sessions--;
  } else if (sb->owner == NULL || sb->row->status != AFD_SB_RUNNING) {
    g_set_error (&error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "sandbox %s stopped while the session was created", sb->row->id);
  } else {
    AfdSandboxes *self = sb->owner;
    row = g_new0 (AfdSessionRow, 1);
    row->id = g_strdup (op->id);
    row->sandbox_id = g_strdup (sb->row->id);
    row->status = AFD_SESSION_ACTIVE;
    row->shell = g_strdup (op->shell);
    row->created_us = afd_db_now_us ();
    g_autofree char *detail = g_strdup_printf ("session=%s shell=%s", op->id, op->shell);
    if (!afd_db_begin_light (self->db, &error) ||
        !afd_rows_session_insert (self->db, row, &error) ||
        !afd_rows_event_append (self->db, op->actor, "session.create", sb->row->codebase_id,
                                sb->row->id, detail, &error) ||
        !afd_db_commit (self->db, &error)) {
      afd_db_rollback (self->db);
      g_clear_pointer (&row, afd_session_row_free);
    }
  }
  op->done (row, error, op->data);
  afd_sandbox_unref (op->sb);
  g_free (op->actor);
  g_free (op->id);
  g_free (op->shell);
  g_free (op);
}

void
afd_sandboxes_session_create (AfdSandboxes *self, const AfdCaller *caller, const char *sandbox_id,
                              const char *shell, GVariant *env,
                              void (*done) (AfdSessionRow *, const GError *, gpointer),
                              gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfdSandbox) sb = afd_sandboxes_lookup_running (self, caller, sandbox_id, &error);
  if (sb == NULL) {
    done (NULL, error, data);
    return;
  }
  if (sb->n_sessions >= (guint)self->settings->max_sessions) {
    g_set_error (&error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED,
                 "limit sandbox.max_sessions reached: %s has %u open sessions", sandbox_id,
                 sb->n_sessions);
    done (NULL, error, data);
    return;
  }
  if (shell && strlen (shell) > 255) {
    g_set_error_literal (&error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "shell: too long");
    done (NULL, error, data);
    return;
  }
  sb->n_sessions++;
  CreateOp *op = g_new0 (CreateOp, 1);
  op->sb = afd_sandbox_ref (sb);
  op->actor = afd_caller_actor (caller);
  op->id = af_id_new (AF_ID_SESSION);
  op->shell = g_strdup (shell && shell[0] ? shell : "/bin/sh");
  op->done = done;
  op->data = data;
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&b, "{sv}", "id", g_variant_new_string (op->id));
  if (shell && shell[0])
    g_variant_builder_add (&b, "{sv}", "shell", g_variant_new_string (shell));
  if (env)
    g_variant_builder_add (&b, "{sv}", "env", env);
  g_dbus_connection_call (afd_helpers_get_exec (sb->helpers), NULL, EXEC_PATH, EXEC_IFACE,
                          "CreateSession", g_variant_new ("(a{sv})", &b), G_VARIANT_TYPE ("(s)"),
                          G_DBUS_CALL_FLAGS_NONE, 30000, NULL, on_created, op);
}

static AfdSessionRow *
session_for (AfdSandboxes *self, const AfdCaller *caller, const char *id, AfdSandbox **out_sb,
             GError **error)
{
  if (id == NULL || id[0] == '\0') {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "session_id is required");
    return NULL;
  }
  if (!af_id_validate (AF_ID_SESSION, id, "session_id", error))
    return NULL;
  g_autoptr (AfdSessionRow) row = afd_rows_session_get (self->db, id, error);
  if (row == NULL)
    return NULL;
  AfdSandbox *sb = afd_sandboxes_find_for (self, caller, row->sandbox_id, error);
  if (sb == NULL) {
    if (g_error_matches (*error, AF_ERROR, AF_ERROR_NOT_FOUND)) {
      g_clear_error (error);
      g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND, "no session %s", id);
    }
    return NULL;
  }
  if (out_sb)
    *out_sb = sb;
  return g_steal_pointer (&row);
}

AfdSessionRow *
afd_sandboxes_session_get (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                           GError **error)
{
  return session_for (self, caller, id, NULL, error);
}

GPtrArray *
afd_sandboxes_session_list (AfdSandboxes *self, const AfdCaller *caller, const char *sandbox_id,
                            GError **error)
{
  if (afd_sandboxes_find_for (self, caller, sandbox_id, error) == NULL)
    return NULL;
  return afd_rows_session_list (self->db, sandbox_id, error);
}

AfdSandbox *
afd_sandboxes_session_lookup (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                              GError **error)
{
  AfdSandbox *sb = NULL;
  g_autoptr (AfdSessionRow) row = session_for (self, caller, id, &sb, error);
  if (row == NULL)
    return NULL;
  if (row->status != AFD_SESSION_ACTIVE) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "session %s is closed", id);
    return NULL;
  }
  if (afd_sandbox_exec_conn (sb, error) == NULL)
    return NULL;
  return afd_sandbox_ref (sb);
}

gboolean
afd_sandboxes_session_destroy (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                               GError **error)
{
  AfdSandbox *sb = NULL;
  g_autoptr (AfdSessionRow) row = session_for (self, caller, id, &sb, error);
  if (row == NULL)
    return FALSE;
  if (row->status != AFD_SESSION_ACTIVE)
    return TRUE; /* already closed: destroying is idempotent */
  if (sb->helpers) {
    /* Kills the session's whole process tree; the reply is not awaited. */
    g_dbus_connection_call (afd_helpers_get_exec (sb->helpers), NULL, EXEC_PATH, EXEC_IFACE,
                            "DestroySession", g_variant_new ("(s)", id), NULL,
                            G_DBUS_CALL_FLAGS_NONE, 30000, NULL, NULL, NULL);
    if (sb->n_sessions > 0)
      sb->n_sessions--;
  }
  g_autofree char *actor = afd_caller_actor (caller);
  g_autofree char *detail = g_strdup_printf ("session=%s", id);
  if (!afd_db_begin_light (self->db, error) ||
      !afd_rows_session_close (self->db, row->sandbox_id, id, afd_db_now_us (), error) ||
      !afd_rows_event_append (self->db, actor, "session.destroy", sb->row->codebase_id, sb->row->id,
                              detail, error) ||
      !afd_db_commit (self->db, error)) {
    afd_db_rollback (self->db);
    return FALSE;
  }
  return TRUE;
}
