/* afd-db.c — SQLite connection, integrity check, migrations, statement cache.
 * Never logs: every failure is returned as a GError. */
#include "afd-db.h"
#include "afd-schema.h"

#include <string.h>

struct _AfdDb {
  sqlite3 *handle;
  char *path;
  GHashTable *stmts; /* static SQL text (by address) -> sqlite3_stmt*, owned */
  int version;
  gboolean durable_full; /* server.sync: durable commits wait for the disk */
  int sync_now;          /* PRAGMA synchronous in force: 0 unknown, 1 NORMAL, 2 FULL */
  GPtrArray *deferred;   /* DeferredEvent*, oldest first (afd_db_defer_event) */
  guint defer_timer;
  gboolean flushing;
};

typedef struct {
  gint64 time_us;
  char *actor, *action, *codebase_id, *sandbox_id, *session_id, *detail;
} DeferredEvent;

static void
deferred_event_free (gpointer p)
{
  DeferredEvent *e = p;
  g_free (e->actor);
  g_free (e->action);
  g_free (e->codebase_id);
  g_free (e->sandbox_id);
  g_free (e->session_id);
  g_free (e->detail);
  g_free (e);
}

sqlite3 *
afd_db_handle (AfdDb *db)
{
  return db->handle;
}

int
afd_db_schema_version (AfdDb *db)
{
  return db->version;
}

gint64
afd_db_now_us (void)
{
  return g_get_real_time ();
}

static int
code_for_sqlite (int rc)
{
  switch (rc & 0xff) {
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return AF_ERROR_DATA_LOSS;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return AF_ERROR_UNAVAILABLE;
  case SQLITE_FULL:
    return AF_ERROR_RESOURCE_EXHAUSTED;
  case SQLITE_CONSTRAINT:
    return AF_ERROR_FAILED_PRECONDITION;
  default:
    return AF_ERROR_INTERNAL;
  }
}

void
afd_db_set_error (AfdDb *db, const char *what, GError **error)
{
  int rc = sqlite3_extended_errcode (db->handle);
  g_set_error (error, AF_ERROR, code_for_sqlite (rc), "database %s: %s: %s", db->path, what,
               sqlite3_errmsg (db->handle));
}

gboolean
afd_db_exec (AfdDb *db, const char *sql, GError **error)
{
  char *msg = NULL;
  int rc = sqlite3_exec (db->handle, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    g_set_error (error, AF_ERROR, code_for_sqlite (rc), "database %s: %s", db->path,
                 msg ? msg : sqlite3_errstr (rc));
    sqlite3_free (msg);
    return FALSE;
  }
  return TRUE;
}

sqlite3_stmt *
afd_db_prepare (AfdDb *db, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (db->stmts, sql);
  if (stmt != NULL) {
    sqlite3_reset (stmt);
    sqlite3_clear_bindings (stmt);
    return stmt;
  }
  if (sqlite3_prepare_v3 (db->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) !=
      SQLITE_OK) {
    afd_db_set_error (db, "prepare", error);
    return NULL;
  }
  g_hash_table_insert (db->stmts, (gpointer)sql, stmt);
  return stmt;
}

gboolean
afd_db_step_done (AfdDb *db, sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE) {
    afd_db_set_error (db, "step", error);
    sqlite3_reset (stmt);
    return FALSE;
  }
  sqlite3_reset (stmt);
  return TRUE;
}

/* One cached statement that returns no rows: no parse per call. */
static gboolean
run_cached (AfdDb *db, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = afd_db_prepare (db, sql, error);
  return stmt != NULL && afd_db_step_done (db, stmt, error);
}

/* The pragma is read by the commit, so it is set before BEGIN; and only
 * when it changes (most transactions in a row are of one kind). */
static gboolean
apply_sync (AfdDb *db, gboolean full, GError **error)
{
  int want = full ? 2 : 1;
  if (db->sync_now == want)
    return TRUE;
  if (!run_cached (db, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", error))
    return FALSE;
  db->sync_now = want;
  return TRUE;
}

gboolean
afd_db_set_sync (AfdDb *db, gboolean full, GError **error)
{
  db->durable_full = full;
  return apply_sync (db, full, error);
}

/* Queued history rows go before any other write, so row ids keep the
 * order of what happened. Only between transactions. */
static gboolean
flush_before_write (AfdDb *db, GError **error)
{
  if (db->deferred == NULL || db->deferred->len == 0 || db->flushing ||
      !sqlite3_get_autocommit (db->handle))
    return TRUE;
  return afd_db_flush_events (db, error);
}

gboolean
afd_db_begin (AfdDb *db, GError **error)
{
  return flush_before_write (db, error) && apply_sync (db, db->durable_full, error) &&
         run_cached (db, "BEGIN IMMEDIATE", error);
}

gboolean
afd_db_begin_light (AfdDb *db, GError **error)
{
  return afd_db_light (db, error) && run_cached (db, "BEGIN IMMEDIATE", error);
}

gboolean
afd_db_light (AfdDb *db, GError **error)
{
  return flush_before_write (db, error) && apply_sync (db, FALSE, error);
}

static gboolean on_defer_timer (gpointer data);

gboolean
afd_db_flush_events (AfdDb *db, GError **error)
{
  if (db->deferred == NULL || db->deferred->len == 0 || db->flushing)
    return TRUE;
  /* Inside a caller's transaction they wait for the timer: a BEGIN here
   * would fail and lose them. */
  if (!sqlite3_get_autocommit (db->handle)) {
    if (db->defer_timer == 0)
      db->defer_timer = g_timeout_add (AFD_DB_DEFER_MS, on_defer_timer, db);
    return TRUE;
  }
  g_clear_handle_id (&db->defer_timer, g_source_remove);
  /* Taken first: whatever happens, a row is written once or dropped. */
  g_autoptr (GPtrArray) rows = g_steal_pointer (&db->deferred);
  db->flushing = TRUE;
  gboolean ok = afd_db_begin_light (db, error);
  for (guint i = 0; ok && i < rows->len; i++) {
    const DeferredEvent *e = g_ptr_array_index (rows, i);
    g_auto (AfdStmt) stmt = afd_db_prepare (
        db,
        "INSERT INTO events (time, actor, action, codebase_id, sandbox_id, session_id, detail)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        error);
    if (stmt == NULL) {
      ok = FALSE;
      break;
    }
    sqlite3_bind_int64 (stmt, 1, e->time_us);
    sqlite3_bind_text (stmt, 2, e->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, e->action, -1, SQLITE_STATIC);
    if (e->codebase_id)
      sqlite3_bind_text (stmt, 4, e->codebase_id, -1, SQLITE_STATIC);
    if (e->sandbox_id)
      sqlite3_bind_text (stmt, 5, e->sandbox_id, -1, SQLITE_STATIC);
    if (e->session_id)
      sqlite3_bind_text (stmt, 6, e->session_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 7, e->detail ? e->detail : "", -1, SQLITE_STATIC);
    ok = afd_db_step_done (db, stmt, error);
  }
  if (ok)
    ok = afd_db_commit (db, error);
  if (!ok)
    afd_db_rollback (db);
  db->flushing = FALSE;
  return ok;
}

static gboolean
on_defer_timer (gpointer data)
{
  AfdDb *db = data;
  db->defer_timer = 0;
  /* A row that cannot be written now is dropped with the batch: history
   * never holds back the commands themselves. */
  afd_db_flush_events (db, NULL);
  return G_SOURCE_REMOVE;
}

void
afd_db_defer_event (AfdDb *db, const char *actor, const char *action, const char *codebase_id,
                    const char *sandbox_id, const char *session_id, const char *detail)
{
  g_autoptr (GError) error = NULL;
  DeferredEvent *e = g_new0 (DeferredEvent, 1);
  e->time_us = afd_db_now_us ();
  e->actor = g_strdup (actor);
  e->action = g_strdup (action);
  e->codebase_id = g_strdup (codebase_id);
  e->sandbox_id = g_strdup (sandbox_id);
  e->session_id = g_strdup (session_id);
  e->detail = g_strdup (detail);
  if (db->deferred == NULL)
    db->deferred = g_ptr_array_new_with_free_func (deferred_event_free);
  g_ptr_array_add (db->deferred, e);
  /* Written now, before the command's answer: a client that saw a result
   * finds it in the history, even after a kill -9 of the server. Only
   * inside a caller's transaction does it wait (for the timer). */
  if (!afd_db_flush_events (db, &error))
    g_warning ("a command's history row was not written: %s", error->message);
}

gboolean
afd_db_commit (AfdDb *db, GError **error)
{
  return run_cached (db, "COMMIT", error);
}

void
afd_db_rollback (AfdDb *db)
{
  if (!sqlite3_get_autocommit (db->handle))
    sqlite3_exec (db->handle, "ROLLBACK", NULL, NULL, NULL);
}

/* Run a pragma whose answer is rows of text; TRUE when the only row is "ok".
 * Up to a few problem lines are kept in the message. */
static gboolean
check_pragma (AfdDb *db, const char *pragma, GError **error)
{
  sqlite3_stmt *raw = NULL;
  int rc = sqlite3_prepare_v2 (db->handle, pragma, -1, &raw, NULL);
  g_autoptr (GString) problems = g_string_new (NULL);
  int n = 0;
  if (rc == SQLITE_OK) {
    while ((rc = sqlite3_step (raw)) == SQLITE_ROW) {
      const char *row = (const char *)sqlite3_column_text (raw, 0);
      if (row != NULL && strcmp (row, "ok") == 0)
        continue;
      if (n++ < 3)
        g_string_append_printf (problems, "%s%s", problems->len ? "; " : "", row ? row : "?");
    }
  }
  sqlite3_finalize (raw);
  if (rc != SQLITE_DONE) {
    g_set_error (error, AF_ERROR, AF_ERROR_DATA_LOSS, "database %s is not a usable database: %s",
                 db->path, sqlite3_errstr (rc));
    return FALSE;
  }
  if (n > 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_DATA_LOSS, "database %s is corrupt (%s)", db->path,
                 problems->str);
    return FALSE;
  }
  return TRUE;
}

gboolean
afd_db_integrity_check (AfdDb *db, GError **error)
{
  return check_pragma (db, "PRAGMA integrity_check", error);
}

static gboolean
read_version (AfdDb *db, int *out, GError **error)
{
  sqlite3_stmt *raw = NULL;
  if (sqlite3_prepare_v2 (db->handle, "PRAGMA user_version", -1, &raw, NULL) != SQLITE_OK ||
      sqlite3_step (raw) != SQLITE_ROW) {
    afd_db_set_error (db, "read schema version", error);
    sqlite3_finalize (raw);
    return FALSE;
  }
  *out = sqlite3_column_int (raw, 0);
  sqlite3_finalize (raw);
  return TRUE;
}

/* Each migration and its version bump commit together or not at all. */
static gboolean
migrate (AfdDb *db, int target, GError **error)
{
  int version = 0;
  if (!read_version (db, &version, error))
    return FALSE;
  if (version > AFD_DB_SCHEMA_VERSION) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "database %s has schema version %d, newer than this afd-server (%d)", db->path,
                 version, AFD_DB_SCHEMA_VERSION);
    return FALSE;
  }
  while (version < target) {
    const char *sql = afd_schema_migration (version + 1);
    g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %d", version + 1);
    g_autoptr (GError) local = NULL;
    if (!afd_db_begin (db, error))
      return FALSE;
    if (!afd_db_exec (db, sql, &local) || !afd_db_exec (db, bump, &local)) {
      afd_db_rollback (db);
      g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "migration to schema version %d: %s",
                   version + 1, local->message);
      return FALSE;
    }
    if (!afd_db_commit (db, error))
      return FALSE;
    version++;
  }
  db->version = version;
  return TRUE;
}

static void
finalize_stmt (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

AfdDb *
afd_db_open_at_version (const char *path, int target_version, GError **error)
{
  g_autoptr (AfdDb) db = g_new0 (AfdDb, 1);
  db->path = g_strdup (path);
  db->stmts = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, finalize_stmt);

  int rc = sqlite3_open_v2 (path, &db->handle,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                SQLITE_OPEN_EXRESCODE,
                            NULL);
  if (rc != SQLITE_OK) {
    g_set_error (error, AF_ERROR, code_for_sqlite (rc), "cannot open database %s: %s", path,
                 db->handle ? sqlite3_errmsg (db->handle) : sqlite3_errstr (rc));
    return NULL;
  }
  sqlite3_extended_result_codes (db->handle, 1);
  /* Another process (sqlite3 CLI, a backup) may hold a lock briefly. */
  sqlite3_busy_timeout (db->handle, 5000);

  /* Before anything writes: a damaged file must stop the server, never be
   * "repaired" into an empty database. */
  if (!check_pragma (db, "PRAGMA quick_check", error))
    return NULL;

  if (!afd_db_exec (db, "PRAGMA journal_mode = WAL", error) || !afd_db_set_sync (db, TRUE, error) ||
      !afd_db_exec (db, "PRAGMA foreign_keys = ON", error) ||
      !afd_db_exec (db, "PRAGMA trusted_schema = OFF", error))
    return NULL;

  if (!migrate (db, target_version, error))
    return NULL;
  return g_steal_pointer (&db);
}

AfdDb *
afd_db_open (const char *path, GError **error)
{
  return afd_db_open_at_version (path, AFD_DB_SCHEMA_VERSION, error);
}

AfdDb *
afd_db_open_readonly (const char *path, GError **error)
{
  g_autoptr (AfdDb) db = g_new0 (AfdDb, 1);
  db->path = g_strdup (path);
  db->stmts = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, finalize_stmt);
  /* No CREATE: a missing database is an error, not a new empty one. */
  int rc = sqlite3_open_v2 (
      path, &db->handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
  if (rc != SQLITE_OK) {
    g_set_error (error, AF_ERROR, code_for_sqlite (rc), "cannot open database %s: %s", path,
                 db->handle ? sqlite3_errmsg (db->handle) : sqlite3_errstr (rc));
    return NULL;
  }
  sqlite3_extended_result_codes (db->handle, 1);
  sqlite3_busy_timeout (db->handle, 5000);
  if (!afd_db_exec (db, "PRAGMA trusted_schema = OFF", error) ||
      !read_version (db, &db->version, error))
    return NULL;
  if (db->version < 1 || db->version > AFD_DB_SCHEMA_VERSION) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "database %s has schema version %d; this build reads 1..%d", path, db->version,
                 AFD_DB_SCHEMA_VERSION);
    return NULL;
  }
  return g_steal_pointer (&db);
}

void
afd_db_close (AfdDb *db)
{
  if (db == NULL)
    return;
  if (db->handle)
    afd_db_flush_events (db, NULL);
  g_clear_handle_id (&db->defer_timer, g_source_remove);
  g_clear_pointer (&db->deferred, g_ptr_array_unref);
  if (db->stmts)
    g_hash_table_destroy (db->stmts);
  if (db->handle)
    sqlite3_close (db->handle);
  g_free (db->path);
  g_free (db);
}
