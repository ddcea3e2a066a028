/* afd-db.h — the SQLite metadata database of afd-server.
 *
 * Owns: opening (WAL, foreign keys, busy timeout), the start-up integrity
 * check, schema migrations, a cache of prepared statements, transactions.
 * Must never: hold a statement un-reset past its use (a stepped statement
 * pins a WAL snapshot), build SQL from request data (always bind), or be used
 * from more than one thread (the daemon runs every handler on its main
 * thread). */
#pragma once

#include "afcore.h"

#include <sqlite3.h>

G_BEGIN_DECLS

typedef struct _AfdDb AfdDb;

/* Schema versions: 1 = codebases, files, events; 2 = unix-socket ownership
 * (codebases.owner_uid) and event/listing indexes; 3 = sandboxes, sandbox_rules,
 * sessions. */
#define AFD_DB_SCHEMA_VERSION 3

/* Open (creating if needed) @path, run PRAGMA quick_check, then migrate to
 * AFD_DB_SCHEMA_VERSION. A corrupt file is AF_ERROR_DATA_LOSS; a database
 * newer than this build is AF_ERROR_FAILED_PRECONDITION. */
AfdDb *afd_db_open (const char *path, GError **error);

/* Like afd_db_open but migrate only up to @target_version (tests and the
 * fixture generator use this to build old databases). */
AfdDb *afd_db_open_at_version (const char *path, int target_version, GError **error);

/* Open an existing database read-only (no check, no migration, never a
 * write): for readers beside a running server, such as `--events`. WAL
 * lets them read while the server writes. */
AfdDb *afd_db_open_readonly (const char *path, GError **error);

void afd_db_close (AfdDb *db);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdDb, afd_db_close)

sqlite3 *afd_db_handle (AfdDb *db);
int afd_db_schema_version (AfdDb *db);

/* A cached prepared statement for the static string @sql, reset and with
 * bindings cleared. Declare the variable g_auto (AfdStmt) so it is reset when
 * it goes out of scope. */
typedef sqlite3_stmt *AfdStmt;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (AfdStmt, sqlite3_reset, NULL)
sqlite3_stmt *afd_db_prepare (AfdDb *db, const char *sql, GError **error);

/* Step @stmt expecting SQLITE_DONE. */
gboolean afd_db_step_done (AfdDb *db, sqlite3_stmt *stmt, GError **error);

/* One statement, no bindings, no rows (DDL, pragmas). */
gboolean afd_db_exec (AfdDb *db, const char *sql, GError **error);

/* Two kinds of write (docs/benchmarks.md, afd-server README):
 * - durable: codebase content and its rows (uploads, deletions, commits of
 *   a delta, migrations). PRAGMA synchronous as afd_db_set_sync says: FULL
 *   (on disk when the commit returns; the default) or NORMAL.
 * - light: sandbox, session and event rows. Always synchronous = NORMAL:
 *   in WAL mode the database stays consistent after any crash; a process
 *   crash (kill -9) loses nothing, a power loss or kernel crash may undo
 *   the last light commits since the last durable commit or checkpoint
 *   (none of them can survive a reboot anyway: no helper does).
 * A durable commit syncs the WAL and so every light commit before it. */
gboolean afd_db_set_sync (AfdDb *db, gboolean full, GError **error);

/* BEGIN IMMEDIATE (durable / light) / COMMIT / ROLLBACK. Rollback never
 * fails visibly. */
gboolean afd_db_begin (AfdDb *db, GError **error);
gboolean afd_db_begin_light (AfdDb *db, GError **error);
/* Light mode for the autocommit statements that follow (an event row). */
gboolean afd_db_light (AfdDb *db, GError **error);
gboolean afd_db_commit (AfdDb *db, GError **error);
void afd_db_rollback (AfdDb *db);

/* History rows of commands: written at once, in a light transaction (no
 * fsync), before the command is answered. Inside a caller's transaction
 * a row waits in a queue — at most AFD_DB_DEFER_MS, or until the next
 * write transaction, read of the history (afd_db_flush_events) or close,
 * whichever comes first — so ids keep the order things happened in. A
 * row that cannot be written is reported with g_warning. The strings are
 * copied; the time is taken now. */
#define AFD_DB_DEFER_MS 50
void afd_db_defer_event (AfdDb *db, const char *actor, const char *action, const char *codebase_id,
                         const char *sandbox_id, const char *session_id, const char *detail);
/* Write the queued rows now (nothing to do: TRUE). */
gboolean afd_db_flush_events (AfdDb *db, GError **error);

/* Set @error from the connection's last error, prefixed with @what. */
void afd_db_set_error (AfdDb *db, const char *what, GError **error);

/* PRAGMA integrity_check; TRUE when it reports "ok". */
gboolean afd_db_integrity_check (AfdDb *db, GError **error);

/* Microseconds since the epoch (the unit every timestamp column uses). */
gint64 afd_db_now_us (void);

G_END_DECLS
