/* af-grpc-tls-reload.c — see af-grpc-tls-reload.h. */
#include "af-grpc-tls-reload.h"

#include <sys/stat.h>

#include "af-error.h"
#include "af-grpc-tls.h"

enum { CERT, KEY, CA, N_FILES };

/* What identifies one version of a file. */
typedef struct {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  gboolean missing;
} Stamp;

struct _AfGrpcTlsReload {
  GMutex lock;
  char *path[N_FILES]; /* CA: NULL without client certificates */
  char *pem[N_FILES];  /* served now */
  Stamp seen[N_FILES]; /* of the files last read, valid or not */
  gboolean served;     /* the first fetch has answered */
  void (*reloaded) (gboolean ok, const char *message, gpointer data);
  gpointer reloaded_data;
};

static const char *const what[N_FILES] = { "certificate", "private key", "client CA" };

static Stamp
stamp_of (const char *path)
{
  struct stat st;
  Stamp s = { 0 };
  if (stat (path, &st) != 0) {
    s.missing = TRUE;
    return s;
  }
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime = st.st_mtim;
  return s;
}

static gboolean
stamp_equal (const Stamp *a, const Stamp *b)
{
  return a->missing == b->missing && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static grpc_ssl_server_certificate_config *
config_of (AfGrpcTlsReload *r)
{
  grpc_ssl_pem_key_cert_pair pair = { r->pem[KEY], r->pem[CERT] };
  /* grpc copies the text. Its fetcher path asserts that root certificates
   * are there even when no client certificate is asked for: without a
   * client CA the server's own chain stands in, and verifies nothing,
   * since no client is asked for a certificate. */
  return grpc_ssl_server_certificate_config_create (r->pem[CA] ? r->pem[CA] : r->pem[CERT], &pair,
                                                    1);
}

/* Reads and checks the three files as af_grpc_server_set_tls checks its
 * text; on success they replace what is served. */
static gboolean
load (AfGrpcTlsReload *r, GError **error)
{
  char *pem[N_FILES] = { NULL };
  gboolean ok = TRUE;

  for (int i = 0; i < N_FILES && ok; i++)
    if (r->path[i] != NULL)
      ok = (pem[i] = af_grpc_tls_read_pem (r->path[i], error)) != NULL;
  if (ok && !af_grpc_tls_check_certificates (pem[CERT], NULL, error)) {
    g_prefix_error (error, "%s %s: ", what[CERT], r->path[CERT]);
    ok = FALSE;
  }
  if (ok && !af_grpc_tls_check_key (pem[KEY], pem[CERT], error)) {
    g_prefix_error (error, "%s %s: ", what[KEY], r->path[KEY]);
    ok = FALSE;
  }
  if (ok && pem[CA] != NULL && !af_grpc_tls_check_certificates (pem[CA], NULL, error)) {
    g_prefix_error (error, "%s %s: ", what[CA], r->path[CA]);
    ok = FALSE;
  }
  for (int i = 0; i < N_FILES; i++) {
    if (ok) {
      g_free (r->pem[i]);
      r->pem[i] = pem[i];
    } else {
      g_free (pem[i]);
    }
  }
  return ok;
}

static grpc_ssl_certificate_config_reload_status
fetch (void *data, grpc_ssl_server_certificate_config **config)
{
  AfGrpcTlsReload *r = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&r->lock);
  gboolean changed = FALSE;
  Stamp now[N_FILES] = { 0 };

  if (!r->served) {
    r->served = TRUE;
    *config = config_of (r);
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
  }
  for (int i = 0; i < N_FILES; i++) {
    if (r->path[i] == NULL)
      continue;
    now[i] = stamp_of (r->path[i]);
    changed = changed || !stamp_equal (&now[i], &r->seen[i]);
  }
  if (!changed)
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  /* Whatever comes of it, this version of the files has been judged. */
  memcpy (r->seen, now, sizeof now);
  if (!load (r, &error)) {
    if (r->reloaded) {
      g_autofree char *msg =
          g_strdup_printf ("TLS files changed but not taken (still serving the last valid "
                           "ones): %s",
                           error->message);
      r->reloaded (FALSE, msg, r->reloaded_data);
    }
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  }
  if (r->reloaded) {
    g_autofree char *msg = g_strdup_printf ("TLS certificate reloaded from %s", r->path[CERT]);
    r->reloaded (TRUE, msg, r->reloaded_data);
  }
  *config = config_of (r);
  return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
}

AfGrpcTlsReload *
af_grpc_tls_reload_new (const AfGrpcServerTls *tls, GError **error)
{
  AfGrpcTlsReload *r;

  if (tls->cert_chain_file == NULL || tls->private_key_file == NULL ||
      (tls->client_ca_pem != NULL) != (tls->client_ca_file != NULL)) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "TLS reload needs the file of every PEM item it serves");
    return NULL;
  }
  r = g_new0 (AfGrpcTlsReload, 1);
  g_mutex_init (&r->lock);
  r->path[CERT] = g_strdup (tls->cert_chain_file);
  r->path[KEY] = g_strdup (tls->private_key_file);
  r->path[CA] = g_strdup (tls->client_ca_file);
  r->pem[CERT] = g_strdup (tls->cert_chain_pem);
  r->pem[KEY] = g_strdup (tls->private_key_pem);
  r->pem[CA] = g_strdup (tls->client_ca_pem);
  for (int i = 0; i < N_FILES; i++)
    if (r->path[i] != NULL)
      r->seen[i] = stamp_of (r->path[i]);
  r->reloaded = tls->reloaded;
  r->reloaded_data = tls->reloaded_data;
  return r;
}

grpc_server_credentials *
af_grpc_tls_reload_credentials (AfGrpcTlsReload *r)
{
  /* With a client CA, a connection without a certificate that CA issued
   * fails its handshake: mutual TLS. */
  grpc_ssl_server_credentials_options *options =
      grpc_ssl_server_credentials_create_options_using_config_fetcher (
          r->path[CA] != NULL ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                              : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
          fetch, r);
  return grpc_ssl_server_credentials_create_with_options (options);
}

void
af_grpc_tls_reload_free (AfGrpcTlsReload *r)
{
  if (r == NULL)
    return;
  for (int i = 0; i < N_FILES; i++) {
    g_free (r->path[i]);
    g_free (r->pem[i]);
  }
  g_mutex_clear (&r->lock);
  g_free (r);
}
