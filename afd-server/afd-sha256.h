/* afd-sha256.h — SHA-256 for file checksums.
 *
 * Owns: the choice of implementation. OpenSSL's libcrypto (which uses the
 * CPU's SHA extensions) when built with it, else GLib's GChecksum — the
 * latter is several times slower and capped large uploads. Must never
 * produce anything but the lower-case hex digest. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _AfdSha256 AfdSha256;

AfdSha256 *afd_sha256_new (void);
void afd_sha256_update (AfdSha256 *sha, const void *data, gsize len);
/* The 64-character lower-case hex digest; call once. */
char *afd_sha256_finish_hex (AfdSha256 *sha);
void afd_sha256_free (AfdSha256 *sha);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdSha256, afd_sha256_free)

/* "openssl" or "glib" */
const char *afd_sha256_implementation (void);

G_END_DECLS
