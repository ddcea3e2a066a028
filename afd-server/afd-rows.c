/* afd-rows.c — SQL on codebases, files and events. Never logs, never opens a
 * transaction, never builds SQL from data. */
#include "afd-rows.h"

#include <string.h>

void
afd_codebase_free (AfdCodebase *cb)
{
  if (cb == NULL)
    return;
  g_free (cb->id);
  g_free (cb->name);
  g_free (cb->owner_id);
  g_free (cb);
}

void
afd_file_row_free (AfdFileRow *row)
{
  if (row == NULL)
    return;
  g_free (row->path);
  g_free (row->sha256);
  g_free (row);
}

static char *
column_dup (sqlite3_stmt *stmt, int col)
{
  const char *text = (const char *)sqlite3_column_text (stmt, col);
  return g_strdup (text ? text : "");
}

#define CODEBASE_COLUMNS "id, name, owner_id, size, file_count, created_at, updated_at, owner_uid"

static AfdCodebase *
codebase_from_row (sqlite3_stmt *stmt)
{
  AfdCodebase *cb = g_new0 (AfdCodebase, 1);
  cb->id = column_dup (stmt, 0);
  cb->name = column_dup (stmt, 1);
  cb->owner_id = column_dup (stmt, 2);
  cb->size = sqlite3_column_int64 (stmt, 3);
  cb->file_count = sqlite3_column_int64 (stmt, 4);
  cb->created_us = sqlite3_column_int64 (stmt, 5);
  cb->updated_us = sqlite3_column_int64 (stmt, 6);
  cb->has_owner_uid = sqlite3_column_type (stmt, 7) != SQLITE_NULL;
  cb->owner_uid = sqlite3_column_int64 (stmt, 7);
  return cb;
}

AfdCodebase *
afd_rows_codebase_get (AfdDb *db, const char *id, GError **error)
{
  g_auto (AfdStmt) stmt =
      afd_db_prepare (db, "SELECT " CODEBASE_COLUMNS " FROM codebases WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
  int rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return codebase_from_row (stmt);
  if (rc == SQLITE_DONE)
    g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND, "no codebase %s", id);
  else
    afd_db_set_error (db, "get codebase", error);
  return NULL;
}

gboolean
afd_rows_codebase_insert (AfdDb *db, const AfdCodebase *cb, GError **error)
{
  g_auto (AfdStmt) stmt = afd_db_prepare (
      db,
      "INSERT INTO codebases (id, name, owner_id, created_at, updated_at, owner_uid)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
      error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, cb->id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, cb->name, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, cb->owner_id ? cb->owner_id : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, cb->created_us);
  sqlite3_bind_int64 (stmt, 5, cb->updated_us);
  if (cb->has_owner_uid)
    sqlite3_bind_int64 (stmt, 6, cb->owner_uid);
  else
    sqlite3_bind_null (stmt, 6);
  return afd_db_step_done (db, stmt, error);
}

gboolean
afd_rows_codebase_delete (AfdDb *db, const char *id, GError **error)
{
  g_auto (AfdStmt) stmt = afd_db_prepare (db, "DELETE FROM codebases WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
  if (!afd_db_step_done (db, stmt, error))
    return FALSE;
  if (sqlite3_changes (afd_db_handle (db)) == 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND, "no codebase %s", id);
    return FALSE;
  }
  return TRUE;
}

gboolean
afd_rows_codebase_touch (AfdDb *db, const char *id, gint64 now_us, GError **error)
{
  g_auto (AfdStmt) stmt =
      afd_db_prepare (db, "UPDATE codebases SET updated_at = ?2 WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, now_us);
  return afd_db_step_done (db, stmt, error);
}

GPtrArray *
afd_rows_codebase_list (AfdDb *db, const char *owner_id, gint64 owner_uid, gint64 after_us,
                        const char *after_id, int limit, GError **error)
{
  g_auto (AfdStmt) stmt = afd_db_prepare (db,
                                          "SELECT " CODEBASE_COLUMNS " FROM codebases"
                                          " WHERE (?1 IS NULL OR owner_id = ?1)"
                                          "   AND (?2 IS NULL OR owner_uid = ?2)"
                                          "   AND (created_at, id) > (?3, ?4)"
                                          " ORDER BY created_at, id LIMIT ?5",
                                          error);
  if (stmt == NULL)
    return NULL;
  if (owner_id)
    sqlite3_bind_text (stmt, 1, owner_id, -1, SQLITE_STATIC);
  if (owner_uid >= 0)
    sqlite3_bind_int64 (stmt, 2, owner_uid);
  sqlite3_bind_int64 (stmt, 3, after_us);
  sqlite3_bind_text (stmt, 4, after_id ? after_id : "", -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 5, limit);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)afd_codebase_free);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (out, codebase_from_row (stmt));
  if (rc != SQLITE_DONE) {
    afd_db_set_error (db, "list codebases", error);
    return NULL;
  }
  return g_steal_pointer (&out);
}

gboolean
afd_rows_codebase_count_owner (AfdDb *db, const char *owner_id, gint64 owner_uid, gint64 *out_count,
                               GError **error)
{
  g_auto (AfdStmt) stmt = afd_db_prepare (db,
                                          "SELECT count(*) FROM codebases WHERE"
                                          " CASE WHEN ?2 IS NULL THEN owner_id = ?1"
                                          " ELSE owner_uid = ?2 END",
                                          error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, owner_id ? owner_id : "", -1, SQLITE_STATIC);
  if (owner_uid >= 0)
    sqlite3_bind_int64 (stmt, 2, owner_uid);
  if (sqlite3_step (stmt) != SQLITE_ROW) {
    afd_db_set_error (db, "count codebases", error);
    return FALSE;
  }
  *out_count = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

GPtrArray *
afd_rows_codebase_ids (AfdDb *db, GError **error)
{
  g_auto (AfdStmt) stmt = afd_db_prepare (db, "SELECT id FROM codebases ORDER BY id", error);
  if (stmt == NULL)
    return NULL;
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (out, column_dup (stmt, 0));
  if (rc != SQLITE_DONE) {
    afd_db_set_error (db, "list codebase ids", error);
    return NULL;
  }
  return g_steal_pointer (&out);
}

static AfdFileRow *
file_from_row (sqlite3_stmt *stmt)
{
  AfdFileRow *row = g_new0 (AfdFileRow, 1);
  row->path = column_dup (stmt, 0);
  row->size = sqlite3_column_int64 (stmt, 1);
  row->sha256 = column_dup (stmt, 2);
  row->mtime_us = sqlite3_column_int64 (stmt, 3);
  return row;
}

AfdFileRow *
afd_rows_file_get (AfdDb *db, const char *codebase_id, const char *path, GError **error)
{
  g_auto (AfdStmt) stmt = afd_db_prepare (
      db, "SELECT path, size, sha256, mtime FROM files WHERE codebase_id = ?1 AND path = ?2",
      error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, codebase_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, path, -1, SQLITE_STATIC);
  int rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return file_from_row (stmt);
  if (rc == SQLITE_DONE)
    g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND, "no file '%s'", path);
  else
    afd_db_set_error (db, "get file", error);
  return NULL;
}

gboolean
afd_rows_file_upsert (AfdDb *db, const char *codebase_id, const AfdFileRow *row, GError **error)
{
  /* An UPDATE (not INSERT OR REPLACE, which deletes then inserts) so the
   * size triggers see one change. */
  g_auto (AfdStmt) stmt = afd_db_prepare (
      db,
      "INSERT INTO files (codebase_id, path, size, sha256, mtime) VALUES (?1, ?2, ?3, ?4, ?5)"
      " ON CONFLICT (codebase_id, path) DO UPDATE SET"
      " size = excluded.size, sha256 = excluded.sha256, mtime = excluded.mtime",
      error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, codebase_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, row->path, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, row->size);
  sqlite3_bind_text (stmt, 4, row->sha256, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 5, row->mtime_us);
  return afd_db_step_done (db, stmt, error);
}

gboolean
afd_rows_file_delete (AfdDb *db, const char *codebase_id, const char *path, GError **error)
{
  g_auto (AfdStmt) stmt =
      afd_db_prepare (db, "DELETE FROM files WHERE codebase_id = ?1 AND path = ?2", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, codebase_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, path, -1, SQLITE_STATIC);
  return afd_db_step_done (db, stmt, error);
}

/* Paths under "d" sort between "d/" and "d0" ('0' follows '/'). */
static sqlite3_stmt *
prepare_under (AfdDb *db, const char *codebase_id, const char *dir, int limit, char **lo, char **hi,
               GError **error)
{
  *lo = *dir ? g_strconcat (dir, "/", NULL) : g_strdup ("");
  *hi = *dir ? g_strconcat (dir, "0", NULL) : NULL;
  sqlite3_stmt *stmt = afd_db_prepare (db,
                                       "SELECT path, size, sha256, mtime FROM files"
                                       " WHERE codebase_id = ?1 AND path >= ?2"
                                       "   AND (?3 IS NULL OR path < ?3)"
                                       " ORDER BY path LIMIT ?4",
                                       error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, codebase_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, *lo, -1, SQLITE_STATIC);
  if (*hi)
    sqlite3_bind_text (stmt, 3, *hi, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 4, limit);
  return stmt;
}

GPtrArray *
afd_rows_file_list_under (AfdDb *db, const char *codebase_id, const char *dir, int limit,
                          GError **error)
{
  g_autofree char *lo = NULL, *hi = NULL;
  g_auto (AfdStmt) stmt = prepare_under (db, codebase_id, dir, limit, &lo, &hi, error);
  if (stmt == NULL)
    return NULL;
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)afd_file_row_free);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (out, file_from_row (stmt));
  if (rc != SQLITE_DONE) {
    afd_db_set_error (db, "list files", error);
    return NULL;
  }
  return g_steal_pointer (&out);
}

gboolean
afd_rows_file_foreach_under (AfdDb *db, const char *codebase_id, const char *dir,
                             AfdFileRowFunc func, gpointer user_data, GError **error)
{
  g_autofree char *lo = NULL, *hi = NULL;
  g_auto (AfdStmt) stmt = prepare_under (db, codebase_id, dir, -1, &lo, &hi, error);
  if (stmt == NULL)
    return FALSE;
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    AfdFileRow row = {
      .path = (char *)sqlite3_column_text (stmt, 0),
      .size = sqlite3_column_int64 (stmt, 1),
      .sha256 = (char *)sqlite3_column_text (stmt, 2),
      .mtime_us = sqlite3_column_int64 (stmt, 3),
    };
    if (!func (&row, user_data))
      return TRUE;
  }
  if (rc != SQLITE_DONE) {
    afd_db_set_error (db, "list files", error);
    return FALSE;
  }
  return TRUE;
}

gboolean
afd_rows_file_check_shape (AfdDb *db, const char *codebase_id, const char *path, GError **error)
{
  /* Any ancestor that is a file? */
  for (const char *slash = strchr (path, '/'); slash; slash = strchr (slash + 1, '/')) {
    g_autofree char *ancestor = g_strndup (path, (gsize)(slash - path));
    g_autoptr (AfdFileRow) row = afd_rows_file_get (db, codebase_id, ancestor, NULL);
    if (row != NULL) {
      g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                   "'%s' is a file, so '%s' cannot be created under it", ancestor, path);
      return FALSE;
    }
  }
  g_autoptr (GPtrArray) under = afd_rows_file_list_under (db, codebase_id, path, 1, error);
  if (under == NULL)
    return FALSE;
  if (under->len > 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "'%s' is a directory, it cannot be replaced by a file", path);
    return FALSE;
  }
  return TRUE;
}

gboolean
afd_rows_event_append (AfdDb *db, const char *actor, const char *action, const char *codebase_id,
                       const char *sandbox_id, const char *detail, GError **error)
{
  return afd_rows_event_append_session (db, actor, action, codebase_id, sandbox_id, NULL, detail,
                                        error);
}

gboolean
afd_rows_event_append_session (AfdDb *db, const char *actor, const char *action,
                               const char *codebase_id, const char *sandbox_id,
                               const char *session_id, const char *detail, GError **error)
{
  g_auto (AfdStmt) stmt = afd_db_prepare (
      db,
      "INSERT INTO events (time, actor, action, codebase_id, sandbox_id, session_id, detail)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?7, ?6)",
      error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, afd_db_now_us ());
  sqlite3_bind_text (stmt, 2, actor, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, action, -1, SQLITE_STATIC);
  if (codebase_id)
    sqlite3_bind_text (stmt, 4, codebase_id, -1, SQLITE_STATIC);
  if (sandbox_id)
    sqlite3_bind_text (stmt, 5, sandbox_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 6, detail ? detail : "", -1, SQLITE_STATIC);
  if (session_id)
    sqlite3_bind_text (stmt, 7, session_id, -1, SQLITE_STATIC);
  return afd_db_step_done (db, stmt, error);
}

void
afd_event_row_free (AfdEventRow *row)
{
  if (row == NULL)
    return;
  g_free (row->actor);
  g_free (row->action);
  g_free (row->codebase_id);
  g_free (row->sandbox_id);
  g_free (row->session_id);
  g_free (row->detail);
  g_free (row);
}

static char *
column_text (sqlite3_stmt *stmt, int i)
{
  const char *t = (const char *)sqlite3_column_text (stmt, i);
  return g_strdup (t ? t : "");
}

GPtrArray *
afd_rows_event_list (AfdDb *db, const char *sandbox_id, const char *codebase_id, gint64 since_us,
                     gint64 after_id, int limit, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)afd_event_row_free);
  /* By rowid (the primary key): the filters on the two indexed columns
   * narrow it when given. */
  g_auto (AfdStmt) stmt = afd_db_prepare (
      db,
      "SELECT id, time, actor, action, codebase_id, sandbox_id, session_id, detail FROM events"
      " WHERE id > ?1 AND time >= ?2 AND (?3 IS NULL OR sandbox_id = ?3)"
      " AND (?4 IS NULL OR codebase_id = ?4) ORDER BY id LIMIT ?5",
      error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, after_id);
  sqlite3_bind_int64 (stmt, 2, since_us);
  if (sandbox_id)
    sqlite3_bind_text (stmt, 3, sandbox_id, -1, SQLITE_STATIC);
  if (codebase_id)
    sqlite3_bind_text (stmt, 4, codebase_id, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 5, limit);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    AfdEventRow *r = g_new0 (AfdEventRow, 1);
    r->id = sqlite3_column_int64 (stmt, 0);
    r->time_us = sqlite3_column_int64 (stmt, 1);
    r->actor = column_text (stmt, 2);
    r->action = column_text (stmt, 3);
    r->codebase_id = column_text (stmt, 4);
    r->sandbox_id = column_text (stmt, 5);
    r->session_id = column_text (stmt, 6);
    r->detail = column_text (stmt, 7);
    g_ptr_array_add (out, r);
  }
  if (rc != SQLITE_DONE) {
    afd_db_set_error (db, "list events", error);
    return NULL;
  }
  return g_steal_pointer (&out);
}

gboolean
afd_rows_event_prune (AfdDb *db, gint64 keep_count, gint64 before_us, int batch, int *out_deleted,
                      GError **error)
{
  /* Ids only grow, so "beyond the newest N" is "id <= max(id) - N" with no
   * count over the table; and the oldest rows come first by rowid, so one
   * batch never scans more than it deletes (plus the newest it keeps). */
  g_auto (AfdStmt) stmt = afd_db_prepare (
      db,
      "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE"
      " (?1 > 0 AND id <= (SELECT MAX(id) FROM events) - ?1) OR (?2 > 0 AND time < ?2)"
      " ORDER BY id LIMIT ?3)",
      error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, keep_count);
  sqlite3_bind_int64 (stmt, 2, before_us);
  sqlite3_bind_int (stmt, 3, batch);
  if (!afd_db_step_done (db, stmt, error))
    return FALSE;
  *out_deleted = sqlite3_changes (afd_db_handle (db));
  return TRUE;
}
