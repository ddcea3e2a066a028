/* af-grpc-tls.h — TLS material of the gRPC transport: PEM text checked
 * before grpc sees it, and the grpc credentials built from it.
 *
 * grpc core checks certificates and keys only when a listener is added or
 * a connection handshakes, and then reports a mistake in its own log, not
 * to the caller. These checks (OpenSSL's PEM parser, the same one grpc
 * uses) turn a wrong file into an error the caller can name.
 *
 * Owns: parsing and matching PEM certificates and keys. Must never: log,
 * prompt for a passphrase (an encrypted key is refused), or read a file —
 * callers read files, so their errors can name where the path came from.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Largest PEM text accepted for one certificate chain, key or CA bundle. */
#define AF_GRPC_TLS_MAX_PEM (1024 * 1024)

/* AF_ERROR_INVALID_ARGUMENT unless @pem holds at least one PEM certificate
 * and nothing unparsable between them; *@out_count (may be NULL) gets how
 * many. */
gboolean af_grpc_tls_check_certificates (const char *pem, guint *out_count, GError **error);

/* AF_ERROR_INVALID_ARGUMENT unless @key_pem is an unencrypted PEM private
 * key and, when @cert_pem is not NULL, the key of its first certificate. */
gboolean af_grpc_tls_check_key (const char *key_pem, const char *cert_pem, GError **error);

/* Reads @path for one of the PEM items above: a missing, unreadable,
 * empty, binary or oversized file is AF_ERROR_INVALID_ARGUMENT naming
 * @path. Returns the text (g_free). */
char *af_grpc_tls_read_pem (const char *path, GError **error);

G_END_DECLS
