/* afd-schema.c — SQL of every schema version.
 *
 * Conventions: timestamps are INTEGER microseconds since the epoch; ids are
 * validated text (cb_…, sb_…, sess_…). Sandboxes, sessions and rules arrive in
 * a later version as tables referencing codebases(id) (ON DELETE RESTRICT), so
 * a codebase in use can never lose its rows. The events table has no foreign
 * keys on purpose: the history outlives what it talks about. */
#include "afd-schema.h"

static const char *const migrations[] = {
  /* 1: codebases, files, events. codebases.size and file_count are kept
   * exact by triggers, so no code path can forget them. */
  "CREATE TABLE codebases ("
  "  id TEXT PRIMARY KEY NOT NULL,"
  "  name TEXT NOT NULL,"
  "  owner_id TEXT NOT NULL DEFAULT '',"
  "  size INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),"
  "  file_count INTEGER NOT NULL DEFAULT 0 CHECK (file_count >= 0),"
  "  created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL"
  ");"
  "CREATE INDEX codebases_order ON codebases (created_at, id);"
  "CREATE TABLE files ("
  "  codebase_id TEXT NOT NULL REFERENCES codebases (id) ON DELETE CASCADE,"
  "  path TEXT NOT NULL,"
  "  size INTEGER NOT NULL CHECK (size >= 0),"
  "  sha256 TEXT NOT NULL,"
  "  mtime INTEGER NOT NULL,"
  "  PRIMARY KEY (codebase_id, path)"
  ") WITHOUT ROWID;"
  "CREATE TRIGGER files_ins AFTER INSERT ON files BEGIN"
  "  UPDATE codebases SET size = size + NEW.size, file_count = file_count + 1"
  "   WHERE id = NEW.codebase_id;"
  " END;"
  "CREATE TRIGGER files_del AFTER DELETE ON files BEGIN"
  "  UPDATE codebases SET size = size - OLD.size, file_count = file_count - 1"
  "   WHERE id = OLD.codebase_id;"
  " END;"
  "CREATE TRIGGER files_upd AFTER UPDATE OF size ON files BEGIN"
  "  UPDATE codebases SET size = size - OLD.size + NEW.size WHERE id = NEW.codebase_id;"
  " END;"
  "CREATE TABLE events ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  time INTEGER NOT NULL,"
  "  actor TEXT NOT NULL,"
  "  action TEXT NOT NULL,"
  "  codebase_id TEXT,"
  "  sandbox_id TEXT,"
  "  session_id TEXT,"
  "  detail TEXT NOT NULL DEFAULT ''"
  ");",

  /* 2: the caller's uid over the unix socket owns a codebase (NULL: created
   * over TCP, owned by owner_id as sent); indexes for owner listings and for
   * the history of one resource. */
  "ALTER TABLE codebases ADD COLUMN owner_uid INTEGER;"
  "CREATE INDEX codebases_owner ON codebases (owner_id, created_at, id);"
  "CREATE INDEX codebases_owner_uid ON codebases (owner_uid, created_at, id);"
  "CREATE INDEX events_codebase ON events (codebase_id, id);"
  "CREATE INDEX events_sandbox ON events (sandbox_id, id);",

  /* 3: sandboxes, their rules, their sessions. A sandbox row holds
   * everything needed to start it again after a restart; helper pids are
   * kept so a restarted server can find and end what outlived it. */
  "CREATE TABLE sandboxes ("
  "  id TEXT PRIMARY KEY NOT NULL,"
  "  codebase_id TEXT NOT NULL REFERENCES codebases (id) ON DELETE RESTRICT,"
  "  owner TEXT NOT NULL,"
  "  status INTEGER NOT NULL,"
  "  error TEXT NOT NULL DEFAULT '',"
  "  labels TEXT NOT NULL DEFAULT '{}',"
  "  runtime INTEGER NOT NULL,"
  "  image TEXT NOT NULL DEFAULT '',"
  "  memory_bytes INTEGER NOT NULL DEFAULT 0,"
  "  cpu_quota INTEGER NOT NULL DEFAULT 0,"
  "  cpu_shares INTEGER NOT NULL DEFAULT 0,"
  "  pids_limit INTEGER NOT NULL DEFAULT 0,"
  "  commit_mode INTEGER NOT NULL DEFAULT 1,"
  "  conflict_policy INTEGER NOT NULL DEFAULT 1,"
  "  created_at INTEGER NOT NULL,"
  "  started_at INTEGER NOT NULL DEFAULT 0,"
  "  stopped_at INTEGER NOT NULL DEFAULT 0,"
  "  expires_at INTEGER NOT NULL DEFAULT 0,"
  "  fuse_pid INTEGER NOT NULL DEFAULT 0,"
  "  exec_pid INTEGER NOT NULL DEFAULT 0"
  ");"
  "CREATE INDEX sandboxes_order ON sandboxes (created_at, id);"
  "CREATE INDEX sandboxes_codebase ON sandboxes (codebase_id, created_at, id);"
  "CREATE TABLE sandbox_rules ("
  "  sandbox_id TEXT NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,"
  "  idx INTEGER NOT NULL,"
  "  pattern TEXT NOT NULL,"
  "  type INTEGER NOT NULL,"
  "  permission INTEGER NOT NULL,"
  "  priority INTEGER NOT NULL,"
  "  PRIMARY KEY (sandbox_id, idx)"
  ") WITHOUT ROWID;"
  "CREATE TABLE sessions ("
  "  id TEXT PRIMARY KEY NOT NULL,"
  "  sandbox_id TEXT NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,"
  "  status INTEGER NOT NULL,"
  "  shell TEXT NOT NULL,"
  "  created_at INTEGER NOT NULL,"
  "  closed_at INTEGER NOT NULL DEFAULT 0"
  ");"
  "CREATE INDEX sessions_sandbox ON sessions (sandbox_id, created_at);",
};

const char *
afd_schema_migration (int version)
{
  if (version < 1 || version > (int)G_N_ELEMENTS (migrations))
    return NULL;
  return migrations[version - 1];
}
