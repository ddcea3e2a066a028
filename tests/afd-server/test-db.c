/* Unit tests for afd-server's database layer: pragmas, migrations (from the
 * v1 fixture), refusal of corrupt or newer databases, triggers that keep
 * codebase size and file_count exact, statement reuse. */
#include "afd-db.h"
#include "afd-rows.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  char *dir;
  char *path;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("afd-db-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->path = g_build_filename (f->dir, "afd.db", NULL);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  const char *suffixes[] = { "", "-wal", "-shm", "-journal" };
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++) {
    g_autofree char *p = g_strconcat (f->path, suffixes[i], NULL);
    g_unlink (p);
  }
  g_assert_cmpint (g_rmdir (f->dir), ==, 0);
  g_free (f->path);
  g_free (f->dir);
}

static gint64
query_int (AfdDb *db, const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  g_assert_cmpint (sqlite3_prepare_v2 (afd_db_handle (db), sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  gint64 v = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return v;
}

static char *
query_text (AfdDb *db, const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  g_assert_cmpint (sqlite3_prepare_v2 (afd_db_handle (db), sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  char *v = g_strdup ((const char *)sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  return v;
}

static void
test_fresh (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfdDb) db = afd_db_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (afd_db_schema_version (db), ==, AFD_DB_SCHEMA_VERSION);
  g_assert_cmpint (query_int (db, "PRAGMA user_version"), ==, AFD_DB_SCHEMA_VERSION);
  g_autofree char *mode = query_text (db, "PRAGMA journal_mode");
  g_assert_cmpstr (mode, ==, "wal");
  g_assert_cmpint (query_int (db, "PRAGMA foreign_keys"), ==, 1);
  g_assert_cmpint (query_int (db, "PRAGMA busy_timeout"), >, 0);
  g_assert_cmpint (query_int (db, "PRAGMA synchronous"), ==, 2); /* FULL */
  g_assert_true (afd_db_set_sync (db, FALSE, &error));
  g_assert_cmpint (query_int (db, "PRAGMA synchronous"), ==, 1); /* NORMAL */
  g_assert_true (afd_db_integrity_check (db, &error));
  g_assert_no_error (error);

  /* Reopening an up-to-date database migrates nothing. */
  afd_db_close (g_steal_pointer (&db));
  db = afd_db_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (afd_db_schema_version (db), ==, AFD_DB_SCHEMA_VERSION);
}

static void
test_statement_reuse (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfdDb) db = afd_db_open (f->path, &error);
  g_assert_no_error (error);
  g_autofree char *id = af_id_new (AF_ID_CODEBASE);
  AfdCodebase cb = { .id = id, .name = "n", .owner_id = "x" };
  g_assert_true (afd_rows_codebase_insert (db, &cb, &error));

  static const char sql[] = "SELECT count(*) FROM codebases WHERE owner_id = ?1";
  sqlite3_stmt *a = afd_db_prepare (db, sql, &error);
  g_assert_no_error (error);
  sqlite3_bind_text (a, 1, "x", -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (a), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (a, 0), ==, 1);
  g_assert_true (sqlite3_stmt_busy (a));

  /* The same statement comes back, reset and with its binding cleared. */
  sqlite3_stmt *b = afd_db_prepare (db, sql, &error);
  g_assert_true (a == b);
  g_assert_false (sqlite3_stmt_busy (b));
  g_assert_cmpint (sqlite3_step (b), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (b, 0), ==, 0);
  sqlite3_reset (b);
}

/* Durable transactions (codebase content) follow server.sync; light ones
 * (sandbox, session and event rows) never wait for the disk; each begin
 * sets its own mode, whatever ran before. 2 = FULL, 1 = NORMAL. */
static void
test_sync_modes (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfdDb) db = afd_db_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (query_int (db, "PRAGMA synchronous"), ==, 2);

  g_assert_true (afd_db_begin_light (db, &error));
  g_assert_cmpint (query_int (db, "PRAGMA synchronous"), ==, 1);
  g_assert_true (afd_db_exec (db, "CREATE TABLE t (x)", &error));
  g_assert_true (afd_db_commit (db, &error));
  g_assert_no_error (error);

  g_assert_true (afd_db_begin (db, &error));
  g_assert_cmpint (query_int (db, "PRAGMA synchronous"), ==, 2);
  g_assert_true (afd_db_exec (db, "INSERT INTO t VALUES (1)", &error));
  g_assert_true (afd_db_commit (db, &error));

  g_assert_true (afd_db_light (db, &error));
  g_assert_cmpint (query_int (db, "PRAGMA synchronous"), ==, 1);
  g_assert_true (afd_db_exec (db, "INSERT INTO t VALUES (2)", &error));
  g_assert_true (afd_db_begin (db, &error));
  g_assert_cmpint (query_int (db, "PRAGMA synchronous"), ==, 2);
  afd_db_rollback (db);

  /* server.sync = false: durable ones are NORMAL too. */
  g_assert_true (afd_db_set_sync (db, FALSE, &error));
  g_assert_true (afd_db_begin (db, &error));
  g_assert_cmpint (query_int (db, "PRAGMA synchronous"), ==, 1);
  g_assert_true (afd_db_commit (db, &error));
  g_assert_true (afd_db_set_sync (db, TRUE, &error));
  g_assert_true (afd_db_begin_light (db, &error));
  g_assert_true (afd_db_commit (db, &error));
  g_assert_true (afd_db_begin (db, &error));
  g_assert_cmpint (query_int (db, "PRAGMA synchronous"), ==, 2);
  g_assert_true (afd_db_commit (db, &error));
  g_assert_no_error (error);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM t"), ==, 2);
}

static void
test_refuses_garbage (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *junk = g_strnfill (8192, 'x');
  g_assert_true (g_file_set_contents (f->path, junk, 8192, NULL));
  g_autoptr (AfdDb) db = afd_db_open (f->path, &error);
  g_assert_null (db);
  g_assert_error (error, AF_ERROR, AF_ERROR_DATA_LOSS);
  g_assert_nonnull (strstr (error->message, f->path));
  /* Nothing was "repaired" into an empty database. */
  g_autofree char *after = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (f->path, &after, &len, NULL));
  g_assert_cmpmem (after, len, junk, 8192);
}

static void
test_refuses_corrupt_page (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  {
    g_autoptr (AfdDb) db = afd_db_open (f->path, &error);
    g_assert_no_error (error);
    g_assert_true (afd_db_exec (db, "PRAGMA journal_mode = DELETE", &error));
    g_assert_no_error (error);
    for (int i = 0; i < 200; i++) {
      AfdCodebase cb = { .id = af_id_new (AF_ID_CODEBASE), .name = "n", .owner_id = "o" };
      g_assert_true (afd_rows_codebase_insert (db, &cb, &error));
      g_free (cb.id);
    }
  }
  /* Scribble over the middle of the b-tree pages (not the header). */
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (f->path, &bytes, &len, NULL));
  g_assert_cmpuint (len, >, 4096 * 3);
  memset (bytes + 4096 + 100, 0xA5, len - 4096 - 200);
  g_assert_true (g_file_set_contents (f->path, bytes, (gssize)len, NULL));

  g_autoptr (AfdDb) db = afd_db_open (f->path, &error);
  g_assert_null (db);
  g_assert_error (error, AF_ERROR, AF_ERROR_DATA_LOSS);
}

static void
test_refuses_newer (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  {
    g_autoptr (AfdDb) db = afd_db_open (f->path, &error);
    g_assert_no_error (error);
    g_assert_true (afd_db_exec (db, "PRAGMA user_version = 99", &error));
  }
  g_autoptr (AfdDb) db = afd_db_open (f->path, &error);
  g_assert_null (db);
  g_assert_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION);
  g_assert_nonnull (strstr (error->message, "newer"));
}

static void
test_migrate_fixture (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *fixture =
      g_test_build_filename (G_TEST_DIST, "afd-server", "fixtures", "afd-v1.db", NULL);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (fixture, &bytes, &len, &error));
  g_assert_true (g_file_set_contents (f->path, bytes, (gssize)len, &error));

  {
    /* It really is a version-1 database. */
    g_autoptr (AfdDb) old = afd_db_open_at_version (f->path, 1, &error);
    g_assert_no_error (error);
    g_assert_cmpint (afd_db_schema_version (old), ==, 1);
  }

  g_autoptr (AfdDb) db = afd_db_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (afd_db_schema_version (db), ==, AFD_DB_SCHEMA_VERSION);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM codebases"), ==, 3);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM files"), ==, 3);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM events"), ==, 2);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM codebases WHERE owner_uid IS NULL"), ==, 3);

  g_autoptr (AfdCodebase) a =
      afd_rows_codebase_get (db, "cb_00000000000000000000000000000001", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (a->name, ==, "alpha");
  g_assert_cmpstr (a->owner_id, ==, "alice");
  g_assert_cmpint (a->size, ==, 105);
  g_assert_cmpint (a->file_count, ==, 2);
  g_assert_cmpint (a->created_us, ==, 1700000000000000);
  g_assert_false (a->has_owner_uid);
  g_autoptr (AfdCodebase) c =
      afd_rows_codebase_get (db, "cb_00000000000000000000000000000003", &error);
  g_assert_cmpstr (c->name, ==, "gamma ü");
  g_autoptr (AfdFileRow) fr =
      afd_rows_file_get (db, "cb_00000000000000000000000000000002", "a/b/c.txt", &error);
  g_assert_no_error (error);
  g_assert_cmpint (fr->size, ==, 7);
  g_assert_cmpstr (fr->sha256, ==,
                   "0000000000000000000000000000000000000000000000000000000000000002");

  /* Version 2 works on the old rows: the owner index answers. */
  gint64 n = 0;
  g_assert_true (afd_rows_codebase_count_owner (db, "bob", -1, &n, &error));
  g_assert_cmpint (n, ==, 1);
  g_assert_true (afd_db_integrity_check (db, &error));
}

static void
test_triggers_and_cascade (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfdDb) db = afd_db_open (f->path, &error);
  g_autofree char *id = af_id_new (AF_ID_CODEBASE);
  AfdCodebase cb = { .id = id, .name = "n", .owner_id = "" };
  g_assert_true (afd_rows_codebase_insert (db, &cb, &error));
  AfdFileRow r1 = { .path = "a", .size = 10, .sha256 = "x", .mtime_us = 1 };
  AfdFileRow r2 = { .path = "b/c", .size = 5, .sha256 = "y", .mtime_us = 2 };
  g_assert_true (afd_rows_file_upsert (db, id, &r1, &error));
  g_assert_true (afd_rows_file_upsert (db, id, &r2, &error));
  r1.size = 3; /* re-upload replaces */
  g_assert_true (afd_rows_file_upsert (db, id, &r1, &error));
  g_assert_no_error (error);
  g_autoptr (AfdCodebase) got = afd_rows_codebase_get (db, id, &error);
  g_assert_cmpint (got->size, ==, 8);
  g_assert_cmpint (got->file_count, ==, 2);
  g_assert_true (afd_rows_file_delete (db, id, "b/c", &error));
  g_clear_pointer (&got, afd_codebase_free);
  got = afd_rows_codebase_get (db, id, &error);
  g_assert_cmpint (got->size, ==, 3);
  g_assert_cmpint (got->file_count, ==, 1);

  /* Shape: "a" is a file, "b" was a directory. */
  g_assert_false (afd_rows_file_check_shape (db, id, "a/x", &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION);
  g_clear_error (&error);
  g_assert_true (afd_rows_file_upsert (db, id, &r2, &error));
  g_assert_false (afd_rows_file_check_shape (db, id, "b", &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION);
  g_clear_error (&error);
  g_assert_true (afd_rows_file_check_shape (db, id, "bb", &error));

  g_assert_true (afd_rows_codebase_delete (db, id, &error));
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM files"), ==, 0);
  g_assert_false (afd_rows_codebase_delete (db, id, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
}

/* The history's bounds: by count keeps the newest N, by age drops what is
 * older, a batch never deletes more than asked; the read-only connection
 * reads beside the writer and cannot write. */
static void
test_events_prune_and_readonly (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfdDb) db = afd_db_open (f->path, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 25; i++) {
    g_autofree char *detail = g_strdup_printf ("n=%d", i);
    g_assert_true (afd_rows_event_append_session (
        db, "uid:0", "sandbox.exec", NULL, "sb_00000000000000000000000000000000",
        i % 2 ? "sess_00000000000000000000000000000000" : NULL, detail, &error));
  }
  /* Five old ones by age. */
  g_assert_true (afd_db_exec (db, "UPDATE events SET time = 1000 WHERE id <= 5", &error));
  int n = -1;
  g_assert_true (afd_rows_event_prune (db, 0, 2000, 3, &n, &error));
  g_assert_cmpint (n, ==, 3); /* the batch bound */
  g_assert_true (afd_rows_event_prune (db, 0, 2000, 3, &n, &error));
  g_assert_cmpint (n, ==, 2);
  g_assert_true (afd_rows_event_prune (db, 0, 2000, 3, &n, &error));
  g_assert_cmpint (n, ==, 0);
  /* Then by count: the newest 10 stay. */
  g_assert_true (afd_rows_event_prune (db, 10, 0, 1000, &n, &error));
  g_assert_cmpint (n, ==, 10);
  g_autoptr (GPtrArray) rows = afd_rows_event_list (db, NULL, NULL, 0, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 10);
  const AfdEventRow *first = g_ptr_array_index (rows, 0);
  g_assert_cmpstr (first->detail, ==, "n=15");
  g_assert_cmpstr (first->session_id, ==, "sess_00000000000000000000000000000000");
  g_assert_cmpstr (((AfdEventRow *)g_ptr_array_index (rows, 1))->session_id, ==, "");

  /* A reader beside the writer: sees the rows, pages by id, cannot write. */
  g_autoptr (AfdDb) ro = afd_db_open_readonly (f->path, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) page = afd_rows_event_list (ro, "sb_00000000000000000000000000000000", NULL,
                                                    0, first->id, 4, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 4);
  g_assert_cmpstr (((AfdEventRow *)g_ptr_array_index (page, 0))->detail, ==, "n=16");
  g_assert_false (afd_rows_event_append (ro, "uid:0", "x", NULL, NULL, "", &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_autofree char *missing = g_build_filename (f->dir, "none.db", NULL);
  g_assert_null (afd_db_open_readonly (missing, &error));
  g_assert_nonnull (error);
}

/* Command history rows (afd_db_defer_event): in the table at once outside
 * a transaction, so a command that was answered is in the history even if
 * the server is killed next; inside a caller's transaction they wait, and
 * are written after it — on the next write, an explicit flush, the timer
 * or close — in the order things happened. */
static void
test_deferred_events (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  AfdDb *db = afd_db_open (f->path, &error);
  g_assert_no_error (error);
  const char *sb = "sb_00000000000000000000000000000000";

  afd_db_defer_event (db, "uid:0", "sandbox.exec", "cb_00000000000000000000000000000000", sb, NULL,
                      "n=1");
  g_assert_cmpint (query_int (db, "SELECT COUNT(*) FROM events"), ==, 1);

  /* Inside a transaction: queued, written by the next write after it. */
  g_assert_true (afd_db_begin_light (db, &error));
  afd_db_defer_event (db, "uid:0", "session.exec", NULL, sb,
                      "sess_00000000000000000000000000000000", "n=2");
  g_assert_true (afd_db_commit (db, &error));
  g_assert_cmpint (query_int (db, "SELECT COUNT(*) FROM events"), ==, 1);
  g_assert_true (afd_db_begin_light (db, &error));
  g_assert_true (afd_rows_event_append (db, "uid:0", "sandbox.stop", NULL, sb, "", &error));
  g_assert_true (afd_db_commit (db, &error));
  g_autoptr (GPtrArray) rows = afd_rows_event_list (db, sb, NULL, 0, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 3);
  g_assert_cmpstr (((AfdEventRow *)g_ptr_array_index (rows, 0))->detail, ==, "n=1");
  g_assert_cmpstr (((AfdEventRow *)g_ptr_array_index (rows, 0))->codebase_id, ==,
                   "cb_00000000000000000000000000000000");
  g_assert_cmpstr (((AfdEventRow *)g_ptr_array_index (rows, 1))->session_id, ==,
                   "sess_00000000000000000000000000000000");
  g_assert_cmpstr (((AfdEventRow *)g_ptr_array_index (rows, 2))->action, ==, "sandbox.stop");

  /* Queued in a transaction that ends: the timer writes it (the test
   * waits on the main context). */
  g_assert_true (afd_db_begin_light (db, &error));
  afd_db_defer_event (db, "uid:0", "sandbox.exec", NULL, sb, NULL, "timer");
  g_assert_true (afd_db_commit (db, &error));
  g_assert_cmpint (query_int (db, "SELECT COUNT(*) FROM events WHERE detail = 'timer'"), ==, 0);
  while (query_int (db, "SELECT COUNT(*) FROM events WHERE detail = 'timer'") == 0)
    g_main_context_iteration (NULL, TRUE);

  /* An explicit flush, and close: nothing queued is lost. */
  g_assert_true (afd_db_begin_light (db, &error));
  afd_db_defer_event (db, "uid:0", "sandbox.exec", NULL, sb, NULL, "flush");
  g_assert_true (afd_db_commit (db, &error));
  g_assert_true (afd_db_flush_events (db, &error));
  g_assert_cmpint (query_int (db, "SELECT COUNT(*) FROM events WHERE detail = 'flush'"), ==, 1);
  g_assert_true (afd_db_begin_light (db, &error));
  afd_db_defer_event (db, "uid:0", "sandbox.exec", NULL, sb, NULL, "close");
  g_assert_true (afd_db_commit (db, &error));
  afd_db_close (db);
  db = afd_db_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (query_int (db, "SELECT COUNT(*) FROM events WHERE detail = 'close'"), ==, 1);
  g_assert_cmpint (query_int (db, "SELECT COUNT(*) FROM events"), ==, 6);
  afd_db_close (db);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add (name, Fixture, NULL, setup, fn, teardown)
  ADD ("/afd-db/fresh", test_fresh);
  ADD ("/afd-db/statement-reuse", test_statement_reuse);
  ADD ("/afd-db/sync-modes", test_sync_modes);
  ADD ("/afd-db/refuses-garbage", test_refuses_garbage);
  ADD ("/afd-db/refuses-corrupt-page", test_refuses_corrupt_page);
  ADD ("/afd-db/refuses-newer", test_refuses_newer);
  ADD ("/afd-db/migrate-v1-fixture", test_migrate_fixture);
  ADD ("/afd-db/triggers-and-cascade", test_triggers_and_cascade);
  ADD ("/afd-db/events-prune-and-readonly", test_events_prune_and_readonly);
  ADD ("/afd-db/deferred-events", test_deferred_events);
  return g_test_run ();
}
