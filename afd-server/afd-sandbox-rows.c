/* afd-sandbox-rows.c — see afd-sandbox-rows.h. All SQL is static text. */
#include "afd-sandbox-rows.h"

#define SB_COLUMNS                                                                                 \
  "id, codebase_id, owner, status, error, labels, runtime, image, memory_bytes, cpu_quota, "       \
  "cpu_shares, pids_limit, commit_mode, conflict_policy, created_at, started_at, stopped_at, "     \
  "expires_at, fuse_pid, exec_pid"

static char *
col_dup (sqlite3_stmt *stmt, int col)
{
  const char *text = (const char *)sqlite3_column_text (stmt, col);
  return g_strdup (text ? text : "");
}

static void
rule_clear (gpointer p)
{
  af_rule_clear (p);
}

AfdSandboxRow *
afd_sandbox_row_new (void)
{
  AfdSandboxRow *row = g_new0 (AfdSandboxRow, 1);
  row->rules = g_array_new (FALSE, TRUE, sizeof (AfRule));
  g_array_set_clear_func (row->rules, rule_clear);
  return row;
}

AfdSandboxRow *
afd_sandbox_row_copy (const AfdSandboxRow *src)
{
  AfdSandboxRow *row = afd_sandbox_row_new ();
  GArray *rules = row->rules;
  *row = *src;
  row->rules = rules;
  row->id = g_strdup (src->id);
  row->codebase_id = g_strdup (src->codebase_id);
  row->owner = g_strdup (src->owner);
  row->error = g_strdup (src->error);
  row->labels = g_strdup (src->labels);
  row->image = g_strdup (src->image);
  for (guint i = 0; i < src->rules->len; i++) {
    AfRule r = g_array_index (src->rules, AfRule, i);
    r.pattern = g_strdup (r.pattern);
    g_array_append_val (row->rules, r);
  }
  return row;
}

void
afd_sandbox_row_free (AfdSandboxRow *row)
{
  if (row == NULL)
    return;
  g_free (row->id);
  g_free (row->codebase_id);
  g_free (row->owner);
  g_free (row->error);
  g_free (row->labels);
  g_free (row->image);
  g_array_unref (row->rules);
  g_free (row);
}

void
afd_session_row_free (AfdSessionRow *row)
{
  if (row == NULL)
    return;
  g_free (row->id);
  g_free (row->sandbox_id);
  g_free (row->shell);
  g_free (row);
}

static gboolean
load_rules (AfdDb *db, AfdSandboxRow *row, GError **error)
{
  g_auto (AfdStmt) stmt = afd_db_prepare (
      db,
      "SELECT pattern, type, permission, priority FROM sandbox_rules WHERE sandbox_id = ?1 "
      "ORDER BY idx",
      error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, row->id, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    AfRule r = { col_dup (stmt, 0), (AfPatternType)sqlite3_column_int (stmt, 1),
                 (AfLevel)sqlite3_column_int (stmt, 2), sqlite3_column_int (stmt, 3) };
    g_array_append_val (row->rules, r);
  }
  if (rc != SQLITE_DONE) {
    afd_db_set_error (db, "load rules", error);
    return FALSE;
  }
  return TRUE;
}

static AfdSandboxRow *
sandbox_from_stmt (sqlite3_stmt *stmt)
{
  AfdSandboxRow *row = afd_sandbox_row_new ();
  row->id = col_dup (stmt, 0);
  row->codebase_id = col_dup (stmt, 1);
  row->owner = col_dup (stmt, 2);
  row->status = sqlite3_column_int (stmt, 3);
  row->error = col_dup (stmt, 4);
  row->labels = col_dup (stmt, 5);
  row->runtime = sqlite3_column_int (stmt, 6);
  row->image = col_dup (stmt, 7);
  row->memory_bytes = sqlite3_column_int64 (stmt, 8);
  row->cpu_quota = sqlite3_column_int64 (stmt, 9);
  row->cpu_shares = sqlite3_column_int64 (stmt, 10);
  row->pids_limit = sqlite3_column_int64 (stmt, 11);
  row->commit_mode = sqlite3_column_int (stmt, 12);
  row->conflict_policy = sqlite3_column_int (stmt, 13);
  row->created_us = sqlite3_column_int64 (stmt, 14);
  row->started_us = sqlite3_column_int64 (stmt, 15);
  row->stopped_us = sqlite3_column_int64 (stmt, 16);
  row->expires_us = sqlite3_column_int64 (stmt, 17);
  row->fuse_pid = sqlite3_column_int64 (stmt, 18);
  row->exec_pid = sqlite3_column_int64 (stmt, 19);
  return row;
}

gboolean
afd_rows_sandbox_replace_rules (AfdDb *db, const char *id, const GArray *rules, GError **error)
{
  {
    g_auto (AfdStmt) del =
        afd_db_prepare (db, "DELETE FROM sandbox_rules WHERE sandbox_id = ?1", error);
    if (del == NULL)
      return FALSE;
    sqlite3_bind_text (del, 1, id, -1, SQLITE_STATIC);
    if (!afd_db_step_done (db, del, error))
      return FALSE;
  }
  for (guint i = 0; i < rules->len; i++) {
    const AfRule *r = &g_array_index (rules, AfRule, i);
    g_auto (AfdStmt) ins = afd_db_prepare (
        db,
        "INSERT INTO sandbox_rules (sandbox_id, idx, pattern, type, permission, priority) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        error);
    if (ins == NULL)
      return FALSE;
    sqlite3_bind_text (ins, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int (ins, 2, (int)i);
    sqlite3_bind_text (ins, 3, r->pattern, -1, SQLITE_STATIC);
    sqlite3_bind_int (ins, 4, r->type);
    sqlite3_bind_int (ins, 5, r->level);
    sqlite3_bind_int (ins, 6, r->priority);
    if (!afd_db_step_done (db, ins, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
afd_rows_sandbox_insert (AfdDb *db, const AfdSandboxRow *row, GError **error)
{
  g_auto (AfdStmt) stmt = afd_db_prepare (db,
                                          "INSERT INTO sandboxes (" SB_COLUMNS
                                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                                          "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
                                          error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, row->id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, row->codebase_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, row->owner, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 4, row->status);
  sqlite3_bind_text (stmt, 5, row->error ? row->error : "", -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 6, row->labels ? row->labels : "@a{ss} {}", -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 7, row->runtime);
  sqlite3_bind_text (stmt, 8, row->image ? row->image : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 9, row->memory_bytes);
  sqlite3_bind_int64 (stmt, 10, row->cpu_quota);
  sqlite3_bind_int64 (stmt, 11, row->cpu_shares);
  sqlite3_bind_int64 (stmt, 12, row->pids_limit);
  sqlite3_bind_int (stmt, 13, row->commit_mode);
  sqlite3_bind_int (stmt, 14, row->conflict_policy);
  sqlite3_bind_int64 (stmt, 15, row->created_us);
  sqlite3_bind_int64 (stmt, 16, row->started_us);
  sqlite3_bind_int64 (stmt, 17, row->stopped_us);
  sqlite3_bind_int64 (stmt, 18, row->expires_us);
  sqlite3_bind_int64 (stmt, 19, row->fuse_pid);
  sqlite3_bind_int64 (stmt, 20, row->exec_pid);
  if (!afd_db_step_done (db, stmt, error))
    return FALSE;
  return afd_rows_sandbox_replace_rules (db, row->id, row->rules, error);
}

AfdSandboxRow *
afd_rows_sandbox_get (AfdDb *db, const char *id, GError **error)
{
  g_autoptr (AfdSandboxRow) row = NULL;
  {
    g_auto (AfdStmt) stmt =
        afd_db_prepare (db, "SELECT " SB_COLUMNS " FROM sandboxes WHERE id = ?1", error);
    if (stmt == NULL)
      return NULL;
    sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_DONE) {
      g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND, "no sandbox %s", id);
      return NULL;
    }
    if (rc != SQLITE_ROW) {
      afd_db_set_error (db, "get sandbox", error);
      return NULL;
    }
    row = sandbox_from_stmt (stmt);
  }
  if (!load_rules (db, row, error))
    return NULL;
  return g_steal_pointer (&row);
}

static const char *
status_name (int status)
{
  switch (status) {
  case AFD_SB_PENDING:
    return "PENDING";
  case AFD_SB_RUNNING:
    return "RUNNING";
  case AFD_SB_STOPPED:
    return "STOPPED";
  case AFD_SB_ERROR:
    return "ERROR";
  default:
    return "UNKNOWN";
  }
}

GPtrArray *
afd_rows_sandbox_names_for_codebase (AfdDb *db, const char *codebase_id, int limit,
                                     gint64 *out_total, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  gint64 total = 0;
  g_auto (AfdStmt) stmt = afd_db_prepare (
      db, "SELECT id, status FROM sandboxes WHERE codebase_id = ?1 ORDER BY created_at, id", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, codebase_id, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    if (total++ < limit)
      g_ptr_array_add (out, g_strdup_printf ("%s (%s)", (const char *)sqlite3_column_text (stmt, 0),
                                             status_name (sqlite3_column_int (stmt, 1))));
  }
  if (rc != SQLITE_DONE) {
    afd_db_set_error (db, "list sandboxes of a codebase", error);
    return NULL;
  }
  *out_total = total;
  return g_steal_pointer (&out);
}

gboolean
afd_rows_sandbox_update_state (AfdDb *db, const AfdSandboxRow *row, GError **error)
{
  g_auto (AfdStmt) stmt = afd_db_prepare (
      db,
      "UPDATE sandboxes SET status = ?2, error = ?3, started_at = ?4, stopped_at = ?5, "
      "fuse_pid = ?6, exec_pid = ?7 WHERE id = ?1",
      error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, row->id, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 2, row->status);
  sqlite3_bind_text (stmt, 3, row->error ? row->error : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, row->started_us);
  sqlite3_bind_int64 (stmt, 5, row->stopped_us);
  sqlite3_bind_int64 (stmt, 6, row->fuse_pid);
  sqlite3_bind_int64 (stmt, 7, row->exec_pid);
  return afd_db_step_done (db, stmt, error);
}

gboolean
afd_rows_sandbox_delete (AfdDb *db, const char *id, GError **error)
{
  g_auto (AfdStmt) stmt = afd_db_prepare (db, "DELETE FROM sandboxes WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
  return afd_db_step_done (db, stmt, error);
}

GPtrArray *
afd_rows_sandbox_list (AfdDb *db, const char *codebase_id, gint64 after_us, const char *after_id,
                       int limit, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)afd_sandbox_row_free);
  {
    g_auto (AfdStmt) stmt = afd_db_prepare (
        db,
        "SELECT " SB_COLUMNS " FROM sandboxes WHERE (?1 IS NULL OR codebase_id = ?1) "
        "AND (created_at > ?2 OR (created_at = ?2 AND id > ?3)) "
        "ORDER BY created_at, id LIMIT ?4",
        error);
    if (stmt == NULL)
      return NULL;
    if (codebase_id)
      sqlite3_bind_text (stmt, 1, codebase_id, -1, SQLITE_STATIC);
    else
      sqlite3_bind_null (stmt, 1);
    sqlite3_bind_int64 (stmt, 2, after_us);
    sqlite3_bind_text (stmt, 3, after_id ? after_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int (stmt, 4, limit);
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      g_ptr_array_add (out, sandbox_from_stmt (stmt));
    if (rc != SQLITE_DONE) {
      afd_db_set_error (db, "list sandboxes", error);
      return NULL;
    }
  }
  for (guint i = 0; i < out->len; i++)
    if (!load_rules (db, g_ptr_array_index (out, i), error))
      return NULL;
  return g_steal_pointer (&out);
}

gboolean
afd_rows_session_insert (AfdDb *db, const AfdSessionRow *row, GError **error)
{
  g_auto (AfdStmt) stmt =
      afd_db_prepare (db,
                      "INSERT INTO sessions (id, sandbox_id, status, shell, created_at, closed_at) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                      error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, row->id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, row->sandbox_id, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 3, row->status);
  sqlite3_bind_text (stmt, 4, row->shell, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 5, row->created_us);
  sqlite3_bind_int64 (stmt, 6, row->closed_us);
  return afd_db_step_done (db, stmt, error);
}

static AfdSessionRow *
session_from_stmt (sqlite3_stmt *stmt)
{
  AfdSessionRow *row = g_new0 (AfdSessionRow, 1);
  row->id = col_dup (stmt, 0);
  row->sandbox_id = col_dup (stmt, 1);
  row->status = sqlite3_column_int (stmt, 2);
  row->shell = col_dup (stmt, 3);
  row->created_us = sqlite3_column_int64 (stmt, 4);
  row->closed_us = sqlite3_column_int64 (stmt, 5);
  return row;
}

AfdSessionRow *
afd_rows_session_get (AfdDb *db, const char *id, GError **error)
{
  g_auto (AfdStmt) stmt = afd_db_prepare (
      db, "SELECT id, sandbox_id, status, shell, created_at, closed_at FROM sessions WHERE id = ?1",
      error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
  int rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE) {
    g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND, "no session %s", id);
    return NULL;
  }
  if (rc != SQLITE_ROW) {
    afd_db_set_error (db, "get session", error);
    return NULL;
  }
  return session_from_stmt (stmt);
}

GPtrArray *
afd_rows_session_list (AfdDb *db, const char *sandbox_id, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)afd_session_row_free);
  g_auto (AfdStmt) stmt =
      afd_db_prepare (db,
                      "SELECT id, sandbox_id, status, shell, created_at, closed_at FROM sessions "
                      "WHERE sandbox_id = ?1 ORDER BY created_at, id",
                      error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, sandbox_id, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (out, session_from_stmt (stmt));
  if (rc != SQLITE_DONE) {
    afd_db_set_error (db, "list sessions", error);
    return NULL;
  }
  return g_steal_pointer (&out);
}

gboolean
afd_rows_session_close (AfdDb *db, const char *sandbox_id, const char *id, gint64 now_us,
                        GError **error)
{
  g_auto (AfdStmt) stmt =
      afd_db_prepare (db,
                      "UPDATE sessions SET status = 2, closed_at = ?3 WHERE status = 1 AND "
                      "((?2 IS NOT NULL AND id = ?2) OR (?2 IS NULL AND sandbox_id = ?1))",
                      error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, sandbox_id ? sandbox_id : "", -1, SQLITE_STATIC);
  if (id)
    sqlite3_bind_text (stmt, 2, id, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, 2);
  sqlite3_bind_int64 (stmt, 3, now_us);
  return afd_db_step_done (db, stmt, error);
}
