/* af-ids.h — resource identifiers: a kind prefix and 128 random bits.
 *
 * Ids are unguessable (getrandom) and have exactly one spelling: the prefix
 * then 32 lowercase hex digits. Validate an id before it is used in any path
 * or query; a valid id contains nothing but [a-z0-9_]. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  AF_ID_CODEBASE, /* cb_   */
  AF_ID_SANDBOX,  /* sb_   */
  AF_ID_SESSION,  /* sess_ */
  AF_ID_N_KINDS,
} AfIdKind;

#define AF_ID_RANDOM_HEX_LEN 32

const char *af_id_prefix (AfIdKind kind);

/* A new random id of @kind. Never fails: getrandom blocks until the pool is
 * ready and the process aborts if the kernel refuses entropy outright. */
char *af_id_new (AfIdKind kind);

gboolean af_id_is_valid (AfIdKind kind, const char *id);

/* Like af_id_is_valid but says what is wrong, naming @what ("sandbox_id"):
 * an empty or NULL id is AF_ERROR_INVALID_ARGUMENT ("is required"); a
 * malformed one is AF_ERROR_NOT_FOUND, because no such resource can exist. */
gboolean af_id_validate (AfIdKind kind, const char *id, const char *what, GError **error);

G_END_DECLS
