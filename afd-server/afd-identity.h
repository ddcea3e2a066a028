/* afd-identity.h — who is calling, and what that caller may touch.
 *
 * Owns: the caller model (unix-socket uid, or TCP with owner_id as sent), the
 * ownership rule for codebases, and the bearer-token check for TCP.
 * Must never: trust a uid that did not come from the kernel (SO_PEERCRED), or
 * compare tokens in time that depends on their content. */
#pragma once

#include "afd-rows.h"

#include <sys/types.h>

G_BEGIN_DECLS

typedef struct {
  gboolean is_unix; /* TRUE: @uid is the peer's, from the kernel */
  uid_t uid;
  const char *address; /* peer address for the history */
} AfdCaller;

/* A unix caller that is not root: scoped to its own codebases. */
gboolean afd_caller_is_scoped (const AfdCaller *caller);

/* The owner_uid a listing or count is filtered by (-1: none). */
gint64 afd_caller_scope_uid (const AfdCaller *caller);

/* "uid:1000" or "tcp:ipv4:127.0.0.1:41234": the actor in events. */
char *afd_caller_actor (const AfdCaller *caller);

/* PERMISSION_DENIED when @caller may not touch @cb. */
gboolean afd_caller_check_codebase (const AfdCaller *caller, const AfdCodebase *cb, GError **error);

/* For TCP calls when a token is configured: @authorization is the value of
 * the "authorization" metadata (may be NULL). UNAUTHENTICATED unless it is
 * "Bearer <token>". */
gboolean afd_auth_check_bearer (const char *token, const char *authorization, GError **error);

G_END_DECLS
