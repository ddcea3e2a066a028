/* af-grpc-tls-reload.h — a TLS server's certificate, key and client CA
 * kept in step with their files: renewed certificates are served from the
 * next handshake on, without a restart and without dropping a connection.
 *
 * grpc core asks a "certificate config fetcher" before every TLS handshake
 * whether the material changed. Ours compares each file's identity (device,
 * inode, size, modification time: a rename over it and an edit in place
 * both change it) with what it last read; on a change it reads the three
 * files, checks them as at start-up (af-grpc-tls.c) and answers with the
 * new material, or, when the new set is invalid — a certificate renewed
 * before its key, a truncated file — keeps serving the last valid set and
 * reports why. A set whose files have not changed since it was rejected is
 * not read again.
 *
 * Owns: the file identities and the PEM text last served, behind a mutex
 * (the fetcher runs on grpc's threads). Must never: log (it reports through
 * the caller's callback), or serve material that failed the checks. */
#pragma once

#include <grpc/grpc_security.h>

#include "af-grpc-server.h"

G_BEGIN_DECLS

typedef struct _AfGrpcTlsReload AfGrpcTlsReload;

/* For @tls, whose *_file members name the files its PEM text was read
 * from (cert_chain_file and private_key_file set; client_ca_file when
 * client_ca_pem is). The PEM text is served first; the files' identities
 * are taken now. */
AfGrpcTlsReload *af_grpc_tls_reload_new (const AfGrpcServerTls *tls, GError **error);

/* Server credentials whose material comes from @reload: it must outlive
 * them and the server they serve. */
grpc_server_credentials *af_grpc_tls_reload_credentials (AfGrpcTlsReload *reload);

void af_grpc_tls_reload_free (AfGrpcTlsReload *reload);

G_END_DECLS
