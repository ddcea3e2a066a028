/* make-fixture-v1.c — writes fixtures/afd-v1.db: a database at schema
 * version 1 holding known rows, for the migration test. Built with the
 * tests, run by hand only when the fixture has to be recreated:
 *   build/tests/afd-server/make-fixture-v1 tests/afd-server/fixtures/afd-v1.db */
#include "afd-db.h"

#include <glib/gstdio.h>

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  if (argc != 2) {
    g_printerr ("usage: %s OUT.db\n", argv[0]);
    return 2;
  }
  g_unlink (argv[1]);
  g_autoptr (AfdDb) db = afd_db_open_at_version (argv[1], 1, &error);
  if (db == NULL) {
    g_printerr ("%s\n", error->message);
    return 1;
  }
  const char *sql =
      "INSERT INTO codebases (id, name, owner_id, created_at, updated_at) VALUES"
      " ('cb_00000000000000000000000000000001', 'alpha', 'alice', 1700000000000000, "
      "1700000000000000),"
      " ('cb_00000000000000000000000000000002', 'beta', 'bob', 1700000001000000, "
      "1700000001000000),"
      " ('cb_00000000000000000000000000000003', 'gamma ü', '', 1700000002000000, "
      "1700000002000000);"
      "INSERT INTO files (codebase_id, path, size, sha256, mtime) VALUES"
      " ('cb_00000000000000000000000000000001', 'README.md', 5, "
      "'2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', 1700000000000000),"
      " ('cb_00000000000000000000000000000001', 'src/main.c', 100, "
      "'0000000000000000000000000000000000000000000000000000000000000001', 1700000000000001),"
      " ('cb_00000000000000000000000000000002', 'a/b/c.txt', 7, "
      "'0000000000000000000000000000000000000000000000000000000000000002', 1700000001000000);"
      "INSERT INTO events (time, actor, action, codebase_id, detail) VALUES"
      " (1700000000000000, 'tcp:ipv4:127.0.0.1:1', 'codebase.create', "
      "'cb_00000000000000000000000000000001', 'name=alpha'),"
      " (1700000001000000, 'tcp:ipv4:127.0.0.1:1', 'codebase.create', "
      "'cb_00000000000000000000000000000002', 'name=beta');"
      "PRAGMA journal_mode = DELETE;";
  if (!afd_db_exec (db, sql, &error)) {
    g_printerr ("%s\n", error->message);
    return 1;
  }
  return 0;
}
