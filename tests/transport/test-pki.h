/* test-pki.h — a throwaway PKI for TLS tests and benchmarks: a temporary
 * directory filled by make-test-certs.sh (openssl), its files by name, and
 * removal of the directory. Never reused between runs, never outside the
 * temporary directory it made. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *dir; /* ca.pem, server.pem/.key, client.pem/.key, other-ca.pem, ... */
} AfTestPki;

/* Makes the certificates in a new temporary directory. Returns NULL, and
 * marks the running test skipped, when openssl is missing; any other
 * failure is a failed assertion. */
AfTestPki *af_test_pki_new (void);
/* The path of the file @name of @p. */
char *af_test_pki_path (const AfTestPki *p, const char *name);
/* The PEM text of the file @name of @p (asserts it is readable PEM). */
char *af_test_pki_read (const AfTestPki *p, const char *name);
/* Copies @p's file @from over its file @to the way renewal tools write: a
 * new file renamed over the old one. */
void af_test_pki_install (const AfTestPki *p, const char *from, const char *to);
/* Removes the directory and its files; NULL is accepted. */
void af_test_pki_free (AfTestPki *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfTestPki, af_test_pki_free)

G_END_DECLS
