/* afd-sandbox-rows.h — rows of the sandboxes, sandbox_rules and sessions
 * tables.
 *
 * Owns: every SQL statement on those tables (static text, bound, cached by
 * afd-db). Must never: check permissions, touch the disk, spawn anything, or
 * open a transaction — callers group these calls into one with an event. */
#pragma once

#include "afd-db.h"
#include "afpolicy.h"

G_BEGIN_DECLS

/* Values stored in sandboxes.status and sessions.status: the wire enums. */
enum {
  AFD_SB_PENDING = 1,
  AFD_SB_RUNNING = 2,
  AFD_SB_STOPPED = 3,
  AFD_SB_ERROR = 4,
};
enum {
  AFD_SESSION_ACTIVE = 1,
  AFD_SESSION_CLOSED = 2,
};
enum {
  AFD_RUNTIME_BWRAP = 1,
  AFD_RUNTIME_DOCKER = 2,
};
enum {
  AFD_COMMIT_AFTER_EACH = 1,
  AFD_COMMIT_MANUAL = 2,
};
enum {
  AFD_CONFLICT_LWW = 1,
  AFD_CONFLICT_REJECT = 2,
};

typedef struct {
  char *id;
  char *codebase_id;
  char *owner; /* "uid:N" or the codebase owner_id for TCP callers */
  int status;
  char *error;  /* reason of ERROR, "" otherwise */
  char *labels; /* GVariant text of a{ss} */
  int runtime;
  char *image;
  gint64 memory_bytes, cpu_quota, cpu_shares, pids_limit;
  int commit_mode;
  int conflict_policy;
  gint64 created_us, started_us, stopped_us, expires_us; /* 0 = unset */
  gint64 fuse_pid, exec_pid;                             /* 0 = none */
  GArray *rules;                                         /* AfRule, owned */
} AfdSandboxRow;

AfdSandboxRow *afd_sandbox_row_new (void);
AfdSandboxRow *afd_sandbox_row_copy (const AfdSandboxRow *row);
void afd_sandbox_row_free (AfdSandboxRow *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdSandboxRow, afd_sandbox_row_free)

typedef struct {
  char *id;
  char *sandbox_id;
  int status;
  char *shell;
  gint64 created_us, closed_us;
} AfdSessionRow;

void afd_session_row_free (AfdSessionRow *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdSessionRow, afd_session_row_free)

/* Insert the row and its rules. */
gboolean afd_rows_sandbox_insert (AfdDb *db, const AfdSandboxRow *row, GError **error);
/* NULL with NOT_FOUND when absent; rules included. */
AfdSandboxRow *afd_rows_sandbox_get (AfdDb *db, const char *id, GError **error);
/* Status, error, times and pids of @row. */
gboolean afd_rows_sandbox_update_state (AfdDb *db, const AfdSandboxRow *row, GError **error);
gboolean afd_rows_sandbox_replace_rules (AfdDb *db, const char *id, const GArray *rules,
                                         GError **error);
gboolean afd_rows_sandbox_delete (AfdDb *db, const char *id, GError **error);
/* Sandboxes after (@after_us, @after_id) in (created_at, id) order, at most
 * @limit; @codebase_id NULL = any. Rules included. */
GPtrArray *afd_rows_sandbox_list (AfdDb *db, const char *codebase_id, gint64 after_us,
                                  const char *after_id, int limit, GError **error);

/* The sandboxes over @codebase_id, as "sb_… (STATUS)" text, oldest
 * first, at most @limit; *@out_total gets how many there are. */
GPtrArray *afd_rows_sandbox_names_for_codebase (AfdDb *db, const char *codebase_id, int limit,
                                                gint64 *out_total, GError **error);

gboolean afd_rows_session_insert (AfdDb *db, const AfdSessionRow *row, GError **error);
AfdSessionRow *afd_rows_session_get (AfdDb *db, const char *id, GError **error);
GPtrArray *afd_rows_session_list (AfdDb *db, const char *sandbox_id, GError **error);
/* Close one session (@id) or, with @id NULL, every active one of @sandbox_id. */
gboolean afd_rows_session_close (AfdDb *db, const char *sandbox_id, const char *id, gint64 now_us,
                                 GError **error);

G_END_DECLS
