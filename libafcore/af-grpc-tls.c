/* af-grpc-tls.c — PEM checks for the transport's TLS (see af-grpc-tls.h).
 *
 * OpenSSL's error queue is per thread and grpc's handshakes use it too:
 * every path here leaves it empty. */
#include "af-grpc-tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

#include "af-error.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BIO, BIO_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)

/* Never ask for a passphrase: an encrypted key simply fails to load. */
static int
no_passphrase (char *buf, int size, int rwflag, void *u)
{
  return -1;
}

static char *
openssl_reason (void)
{
  unsigned long code = ERR_peek_last_error ();
  const char *reason = code != 0 ? ERR_reason_error_string (code) : NULL;
  char *text = g_strdup (reason != NULL ? reason : "unknown reason");
  ERR_clear_error ();
  return text;
}

gboolean
af_grpc_tls_check_certificates (const char *pem, guint *out_count, GError **error)
{
  guint n = 0;

  if (pem == NULL || strlen (pem) > AF_GRPC_TLS_MAX_PEM) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "no certificate (empty, or larger than %d bytes)", AF_GRPC_TLS_MAX_PEM);
    return FALSE;
  }
  g_autoptr (BIO) bio = BIO_new_mem_buf (pem, -1);
  for (;;) {
    g_autoptr (X509) cert = PEM_read_bio_X509 (bio, NULL, no_passphrase, NULL);
    if (cert == NULL)
      break;
    n++;
  }
  /* The loop ends at the end of the text (PEM_R_NO_START_LINE) or at a
   * block that does not parse; only the first is fine, and only after at
   * least one certificate. */
  unsigned long last = ERR_peek_last_error ();
  gboolean clean_end = last == 0 || (ERR_GET_LIB (last) == ERR_LIB_PEM &&
                                     ERR_GET_REASON (last) == PEM_R_NO_START_LINE);
  if (!clean_end) {
    g_autofree char *why = openssl_reason ();
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "certificate %u does not parse as a PEM X.509 certificate (%s)", n + 1, why);
    return FALSE;
  }
  ERR_clear_error ();
  if (n == 0) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)");
    return FALSE;
  }
  if (out_count != NULL)
    *out_count = n;
  return TRUE;
}

gboolean
af_grpc_tls_check_key (const char *key_pem, const char *cert_pem, GError **error)
{
  if (key_pem == NULL || strlen (key_pem) > AF_GRPC_TLS_MAX_PEM) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "no private key (empty, or larger than %d bytes)", AF_GRPC_TLS_MAX_PEM);
    return FALSE;
  }
  g_autoptr (BIO) bio = BIO_new_mem_buf (key_pem, -1);
  g_autoptr (EVP_PKEY) key = PEM_read_bio_PrivateKey (bio, NULL, no_passphrase, NULL);
  if (key == NULL) {
    g_autofree char *why = openssl_reason ();
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "not an unencrypted PEM private key (%s)", why);
    return FALSE;
  }
  if (cert_pem == NULL)
    return TRUE;
  g_autoptr (BIO) cert_bio = BIO_new_mem_buf (cert_pem, -1);
  g_autoptr (X509) cert = PEM_read_bio_X509 (cert_bio, NULL, no_passphrase, NULL);
  if (cert == NULL) {
    g_autofree char *why = openssl_reason ();
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "no certificate to match (%s)", why);
    return FALSE;
  }
  int match = X509_check_private_key (cert, key);
  ERR_clear_error ();
  if (match != 1) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "the private key does not belong to the certificate");
    return FALSE;
  }
  return TRUE;
}

char *
af_grpc_tls_read_pem (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;

  if (path == NULL || *path == '\0') {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "empty file name");
    return NULL;
  }
  if (!g_file_get_contents (path, &text, &len, &local)) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "%s", local->message);
    return NULL;
  }
  if (len == 0 || len > AF_GRPC_TLS_MAX_PEM || memchr (text, '\0', len) != NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "%s: not a PEM file (empty, binary, or larger than %d bytes)", path,
                 AF_GRPC_TLS_MAX_PEM);
    return NULL;
  }
  return g_steal_pointer (&text);
}
