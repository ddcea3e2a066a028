/* afd-sandboxes.h — the sandbox operations behind SandboxService.
 *
 * Owns: validation of every create request (codebase, rules through
 * libafpolicy, runtime, image, resources, labels, expiry); the in-memory
 * state of each sandbox (helpers, running commands, open sessions) kept in
 * step with its row; lifecycle (start, stop, destroy, helper death → ERROR,
 * expiry); limits; the commit of a sandbox's delta into the codebase and
 * the files rows that follow it; recovery at start-up. Transport-
 * independent: the gRPC handlers only translate.
 * Must never: show RUNNING for a sandbox that cannot exec, change a row
 * without its event in the same transaction, or leave a mount or helper
 * without an owner. */
#pragma once

#include "afd-codebases.h"
#include "afd-sandbox-rows.h"
#include "afd-supervisor.h"

G_BEGIN_DECLS

typedef struct _AfdSandboxes AfdSandboxes;

/* Live state of one sandbox known to the server. */
typedef struct {
  AfdSandboxes *owner;
  AfdSandboxRow *row;  /* mirror of the database row */
  AfdHelpers *helpers; /* while RUNNING */
  gboolean transition; /* a start or stop is in progress */
  guint n_execs;       /* commands running now */
  guint n_sessions;    /* active sessions */
  GHashTable *streams; /* exec_id (guint64*) → AfdStreamWatch* */
  guint finished_sub;  /* ExecFinished subscription */
  /* The codebase's owner, read once: a codebase never changes owner and
   * cannot be deleted while a sandbox over it exists, so the access check
   * of every later call (each Exec) needs no database read. */
  gboolean cb_owner_known, cb_has_owner_uid;
  gint64 cb_owner_uid;
  gint refs;
} AfdSandbox;

/* ExecFinished of af-exec, for one streaming command. */
typedef void (*AfdStreamFinished) (GVariant *result, const char *error_name,
                                   const char *error_message, gpointer data);

AfdSandboxes *afd_sandboxes_new (AfdCodebases *codebases, AfdStore *store,
                                 const AfdSettings *settings);
void afd_sandboxes_free (AfdSandboxes *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdSandboxes, afd_sandboxes_free)

/* Start-up: sandboxes the database shows running are checked against what
 * survived (helpers killed by recorded pid after checking their command
 * line, stale mounts under the state dir lazily unmounted), then marked
 * STOPPED (or restarted, per configuration). Sessions are closed. */
gboolean afd_sandboxes_recover (AfdSandboxes *self, GError **error);
/* Restarts begun by recovery that have not finished yet (the server waits
 * for them before it serves, so a client never sees them half-way). */
guint afd_sandboxes_restarts_pending (AfdSandboxes *self);

/* Stop every running sandbox (server shutdown); iterates the default
 * context until done. */
void afd_sandboxes_stop_all (AfdSandboxes *self);

typedef struct {
  const char *codebase_id;
  const AfRule *rules;
  gsize n_rules;
  gint64 expires_in_us;                      /* 0 = never */
  GVariant *labels;                          /* a{ss}, borrowed */
  int runtime, commit_mode, conflict_policy; /* 0 = default */
  const char *image;
  gint64 memory_bytes, cpu_quota, cpu_shares, pids_limit;
} AfdSandboxCreate;

AfdSandboxRow *afd_sandboxes_create (AfdSandboxes *self, const AfdCaller *caller,
                                     const AfdSandboxCreate *req, GError **error);
AfdSandboxRow *afd_sandboxes_get (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                                  GError **error);
GPtrArray *afd_sandboxes_list (AfdSandboxes *self, const AfdCaller *caller, const char *codebase_id,
                               int page_size, const char *page_token, char **out_next_token,
                               GError **error);

/* Lifecycle; the callback gets the resulting row (or an error). */
typedef void (*AfdSandboxDone) (AfdSandboxRow *row, const GError *error, gpointer data);
void afd_sandboxes_start (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                          AfdSandboxDone done, gpointer data);
void afd_sandboxes_stop (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                         AfdSandboxDone done, gpointer data);
void afd_sandboxes_destroy (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                            AfdSandboxDone done, gpointer data);

/* A running sandbox the caller may use (INVALID_ARGUMENT, NOT_FOUND,
 * PERMISSION_DENIED, FAILED_PRECONDITION when not running). A new ref. */
AfdSandbox *afd_sandboxes_lookup_running (AfdSandboxes *self, const AfdCaller *caller,
                                          const char *id, GError **error);
AfdSandbox *afd_sandbox_ref (AfdSandbox *sb);
void afd_sandbox_unref (AfdSandbox *sb);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdSandbox, afd_sandbox_unref)

/* The af-exec connection, or NULL (FAILED_PRECONDITION) when not running. */
GDBusConnection *afd_sandbox_exec_conn (AfdSandbox *sb, GError **error);

/* One more running command (RESOURCE_EXHAUSTED over the limit). */
gboolean afd_sandbox_exec_begin (AfdSandbox *sb, GError **error);
/* What the history keeps of one command. */
typedef struct {
  const char *what;       /* "sandbox.exec" or "session.exec" */
  const char *session_id; /* NULL for Exec and ExecStream */
  const char *command;
  int exit_code; /* -1 when it never ran */
  gint64 duration_us;
  const char *result; /* "exited", "timeout", "oom", "cancelled", "failed" */
} AfdExecRecord;

/* The command ended: history event, then the commit when the sandbox
 * commits after each command; @done runs after that commit. */
void afd_sandbox_exec_end (AfdSandbox *sb, const AfdCaller *caller, const AfdExecRecord *rec,
                           GCallback done, gpointer data);

void afd_sandbox_watch_stream (AfdSandbox *sb, guint64 exec_id, AfdStreamFinished func,
                               gpointer data);
void afd_sandbox_unwatch_stream (AfdSandbox *sb, guint64 exec_id);

/* The delta (new RPCs). @done gets (added, modified, deleted, conflicts)
 * as a GVariant "(asasasas)" or an error. */
typedef void (*AfdChangesDone) (GVariant *changes, const GError *error, gpointer data);
void afd_sandbox_get_changes (AfdSandbox *sb, AfdChangesDone done, gpointer data);
void afd_sandbox_commit (AfdSandbox *sb, const AfdCaller *caller, AfdChangesDone done,
                         gpointer data);
void afd_sandbox_discard (AfdSandbox *sb, AfdChangesDone done, gpointer data);
/* Validate and store @rules; live through af-fuse when running. */
void afd_sandboxes_update_rules (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                                 const AfRule *rules, gsize n_rules, AfdSandboxDone done,
                                 gpointer data);

/* Sessions. */
void afd_sandboxes_session_create (AfdSandboxes *self, const AfdCaller *caller,
                                   const char *sandbox_id, const char *shell, GVariant *env,
                                   void (*done) (AfdSessionRow *, const GError *, gpointer),
                                   gpointer data);
AfdSessionRow *afd_sandboxes_session_get (AfdSandboxes *self, const AfdCaller *caller,
                                          const char *id, GError **error);
GPtrArray *afd_sandboxes_session_list (AfdSandboxes *self, const AfdCaller *caller,
                                       const char *sandbox_id, GError **error);
gboolean afd_sandboxes_session_destroy (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                                        GError **error);
/* An active session and its running sandbox (a new ref), for SessionExec. */
AfdSandbox *afd_sandboxes_session_lookup (AfdSandboxes *self, const AfdCaller *caller,
                                          const char *id, GError **error);

/* Append a history event (its own light transaction, afd-db.h: a crash
 * of the server keeps it; only a power loss may lose the last few), so the
 * history costs a command no disk flush. */
void afd_sandboxes_event (AfdSandboxes *self, const AfdCaller *caller, const char *action,
                          const char *sandbox_id, const char *session_id, const char *detail);
/* The same with the actor already named (afd_sandboxes_actor). */
void afd_sandboxes_event_as (AfdSandboxes *self, const char *actor, const char *action,
                             const char *sandbox_id, const char *session_id, const char *detail);

const AfdSettings *afd_sandboxes_get_settings (AfdSandboxes *self);

G_END_DECLS
