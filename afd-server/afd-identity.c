/* afd-identity.c — caller scoping and bearer tokens. Never logs. */
#include "afd-identity.h"

#include <string.h>

gboolean
afd_caller_is_scoped (const AfdCaller *caller)
{
  return caller->is_unix && caller->uid != 0;
}

gint64
afd_caller_scope_uid (const AfdCaller *caller)
{
  return afd_caller_is_scoped (caller) ? (gint64)caller->uid : -1;
}

char *
afd_caller_actor (const AfdCaller *caller)
{
  if (caller->is_unix)
    return g_strdup_printf ("uid:%u", (unsigned)caller->uid);
  return g_strdup_printf ("tcp:%s", caller->address ? caller->address : "?");
}

gboolean
afd_caller_check_codebase (const AfdCaller *caller, const AfdCodebase *cb, GError **error)
{
  if (!afd_caller_is_scoped (caller))
    return TRUE;
  if (cb->has_owner_uid && cb->owner_uid == (gint64)caller->uid)
    return TRUE;
  g_set_error (error, AF_ERROR, AF_ERROR_PERMISSION_DENIED, "codebase %s belongs to another user",
               cb->id);
  return FALSE;
}

/* Compare without an early exit, so the time taken says nothing about how
 * much of the token matched. */
static gboolean
equal_constant_time (const char *a, gsize alen, const char *b, gsize blen)
{
  guint8 diff = alen != blen;
  for (gsize i = 0; i < alen; i++)
    diff |= (guint8)a[i] ^ (guint8)(i < blen ? b[i] : 0);
  return diff == 0;
}

gboolean
afd_auth_check_bearer (const char *token, const char *authorization, GError **error)
{
  static const char prefix[] = "Bearer ";
  if (authorization == NULL || g_ascii_strncasecmp (authorization, prefix, strlen (prefix)) != 0) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_UNAUTHENTICATED,
                         "this server requires 'authorization: Bearer <token>' metadata");
    return FALSE;
  }
  const char *given = authorization + strlen (prefix);
  if (!equal_constant_time (given, strlen (given), token, strlen (token))) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_UNAUTHENTICATED, "invalid bearer token");
    return FALSE;
  }
  return TRUE;
}
