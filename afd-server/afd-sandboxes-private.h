/* afd-sandboxes-private.h — what the files of the sandbox operations share
 * (afd-sandboxes.c: lifecycle; afd-sandbox-delta.c: commits and rules;
 * afd-sessions.c: sessions). Not for the gRPC handlers. */
#pragma once

#include "afd-limits.h"
#include "afd-sandboxes.h"

struct _AfdSandboxes {
  AfdCodebases *codebases;
  AfdDb *db;
  AfdStore *store;
  const AfdSettings *settings;
  char *fuse_path, *exec_path;
  AfdLimits limits;    /* what af-exec can enforce (bwrap runtime) */
  GHashTable *live;    /* sandbox id → AfdSandbox* (every row the server knows) */
  GHashTable *running; /* owner → running count (GUINT_TO_POINTER) */
  guint expiry_source;
};

/* The live sandbox @id (borrowed), loading its row on first use. */
AfdSandbox *afd_sandboxes_find (AfdSandboxes *self, const char *id, GError **error);
/* INVALID_ARGUMENT/NOT_FOUND/PERMISSION_DENIED as for any sandbox call. */
AfdSandbox *afd_sandboxes_find_for (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                                    GError **error);
/* Persist row state with an event in one transaction. */
gboolean afd_sandboxes_save_state (AfdSandboxes *self, AfdSandbox *sb, const char *actor,
                                   const char *action, const char *detail, GError **error);
/* The rule file af-fuse reads (JSON array). */
char *afd_rules_to_json (const GArray *rules);
/* Check rules with libafpolicy; errors name the bad rule. */
gboolean afd_rules_validate (const AfRule *rules, gsize n, GError **error);
/* <state>/sandboxes/<id>, mounts/<id>, delta/<id>. */
char *afd_sandbox_dir (AfdSandboxes *self, const char *id, const char *kind);
/* After a commit: bring the files rows in line and tell other sandboxes. */
void afd_sandboxes_after_commit (AfdSandboxes *self, AfdSandbox *sb, const char *actor,
                                 GVariant *changes);
/* (Re)arm the timer for the next sandbox to expire. */
void afd_sandboxes_schedule_expiry (AfdSandboxes *self);
/* "uid:N", "tcp:…", or "server" for the server's own actions (NULL or an
 * all-zero caller). */
char *afd_sandboxes_actor (const AfdCaller *caller);
