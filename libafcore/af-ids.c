/* af-ids.c — random ids. Owns the prefixes; never logs. */
#include "af-ids.h"
#include "af-error.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

static const char *const prefixes[AF_ID_N_KINDS] = { "cb_", "sb_", "sess_" };
static const char *const kind_names[AF_ID_N_KINDS] = { "codebase", "sandbox", "session" };

const char *
af_id_prefix (AfIdKind kind)
{
  g_return_val_if_fail (kind < AF_ID_N_KINDS, NULL);
  return prefixes[kind];
}

char *
af_id_new (AfIdKind kind)
{
  static const char hex[] = "0123456789abcdef";
  guint8 bytes[AF_ID_RANDOM_HEX_LEN / 2];
  gsize got = 0;

  g_return_val_if_fail (kind < AF_ID_N_KINDS, NULL);

  while (got < sizeof bytes) {
    ssize_t n = getrandom (bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      g_error ("getrandom failed: %s", g_strerror (errno));
    }
    got += (gsize)n;
  }

  gsize plen = strlen (prefixes[kind]);
  char *id = g_malloc (plen + AF_ID_RANDOM_HEX_LEN + 1);
  memcpy (id, prefixes[kind], plen);
  for (gsize i = 0; i < sizeof bytes; i++) {
    id[plen + 2 * i] = hex[bytes[i] >> 4];
    id[plen + 2 * i + 1] = hex[bytes[i] & 0xf];
  }
  id[plen + AF_ID_RANDOM_HEX_LEN] = '\0';
  return id;
}

gboolean
af_id_is_valid (AfIdKind kind, const char *id)
{
  if (kind >= AF_ID_N_KINDS || id == NULL)
    return FALSE;
  gsize plen = strlen (prefixes[kind]);
  if (strncmp (id, prefixes[kind], plen) != 0)
    return FALSE;
  const char *p = id + plen;
  gsize n = 0;
  for (; p[n] != '\0'; n++) {
    if (n >= AF_ID_RANDOM_HEX_LEN)
      return FALSE;
    if (!((p[n] >= '0' && p[n] <= '9') || (p[n] >= 'a' && p[n] <= 'f')))
      return FALSE;
  }
  return n == AF_ID_RANDOM_HEX_LEN;
}

gboolean
af_id_validate (AfIdKind kind, const char *id, const char *what, GError **error)
{
  g_return_val_if_fail (kind < AF_ID_N_KINDS, FALSE);
  if (id == NULL || *id == '\0') {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "%s is required", what);
    return FALSE;
  }
  if (!af_id_is_valid (kind, id)) {
    /* No such resource can exist; clients treat an unknown id as NOT_FOUND
     * whatever its spelling. The id is not echoed: it may be hostile. */
    g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND,
                 "%s not found: %s is not a valid %s id (%s followed by %d lowercase hex digits)",
                 kind_names[kind], what, kind_names[kind], prefixes[kind], AF_ID_RANDOM_HEX_LEN);
    return FALSE;
  }
  return TRUE;
}
