/* afd-sha256.c — SHA-256 through libcrypto when available, GChecksum
 * otherwise. Never logs. */
#include "afd-sha256.h"

#ifdef AFD_HAVE_LIBCRYPTO
#include <openssl/evp.h>
#endif

struct _AfdSha256 {
#ifdef AFD_HAVE_LIBCRYPTO
  EVP_MD_CTX *ctx;
#else
  GChecksum *sum;
#endif
};

const char *
afd_sha256_implementation (void)
{
#ifdef AFD_HAVE_LIBCRYPTO
  return "openssl";
#else
  return "glib";
#endif
}

AfdSha256 *
afd_sha256_new (void)
{
  AfdSha256 *sha = g_new0 (AfdSha256, 1);
#ifdef AFD_HAVE_LIBCRYPTO
  sha->ctx = EVP_MD_CTX_new ();
  /* Only allocation failure can make these fail: treat like g_malloc. */
  if (sha->ctx == NULL || EVP_DigestInit_ex (sha->ctx, EVP_sha256 (), NULL) != 1)
    g_error ("SHA-256: cannot initialise libcrypto digest");
#else
  sha->sum = g_checksum_new (G_CHECKSUM_SHA256);
#endif
  return sha;
}

void
afd_sha256_update (AfdSha256 *sha, const void *data, gsize len)
{
#ifdef AFD_HAVE_LIBCRYPTO
  EVP_DigestUpdate (sha->ctx, data, len);
#else
  g_checksum_update (sha->sum, data, (gssize)len);
#endif
}

char *
afd_sha256_finish_hex (AfdSha256 *sha)
{
#ifdef AFD_HAVE_LIBCRYPTO
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex (sha->ctx, md, &n);
  char *hex = g_malloc (n * 2 + 1);
  for (unsigned int i = 0; i < n; i++) {
    hex[2 * i] = "0123456789abcdef"[md[i] >> 4];
    hex[2 * i + 1] = "0123456789abcdef"[md[i] & 0xf];
  }
  hex[n * 2] = '\0';
  return hex;
#else
  return g_strdup (g_checksum_get_string (sha->sum));
#endif
}

void
afd_sha256_free (AfdSha256 *sha)
{
  if (sha == NULL)
    return;
#ifdef AFD_HAVE_LIBCRYPTO
  EVP_MD_CTX_free (sha->ctx);
#else
  g_checksum_free (sha->sum);
#endif
  g_free (sha);
}
