/* test-pki.c — see test-pki.h. */
#include "test-pki.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "af-grpc-tls.h"

AfTestPki *
af_test_pki_new (void)
{
  g_autoptr (GError) error = NULL;
  AfTestPki *p = g_new0 (AfTestPki, 1);
  p->dir = g_dir_make_tmp ("af-tls-XXXXXX", &error);
  g_assert_no_error (error);
  g_autoptr (GSubprocess) proc = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, "/bin/sh",
                                                   AF_MAKE_TEST_CERTS, p->dir, NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait (proc, NULL, &error));
  /* make-test-certs.sh exits 77 when openssl is missing. */
  if (g_subprocess_get_if_exited (proc) && g_subprocess_get_exit_status (proc) == 77) {
    g_test_skip ("openssl is missing: cannot make test certificates");
    af_test_pki_free (p);
    return NULL;
  }
  g_assert_true (g_subprocess_get_successful (proc));
  return p;
}

char *
af_test_pki_path (const AfTestPki *p, const char *name)
{
  return g_build_filename (p->dir, name, NULL);
}

char *
af_test_pki_read (const AfTestPki *p, const char *name)
{
  g_autofree char *path = af_test_pki_path (p, name);
  g_autoptr (GError) error = NULL;
  char *text = af_grpc_tls_read_pem (path, &error);
  g_assert_no_error (error);
  return text;
}

void
af_test_pki_install (const AfTestPki *p, const char *from, const char *to)
{
  g_autofree char *text = af_test_pki_read (p, from);
  g_autofree char *path = af_test_pki_path (p, to);
  g_autofree char *tmp = g_strconcat (path, ".new", NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (tmp, text, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_rename (tmp, path), ==, 0);
}

void
af_test_pki_free (AfTestPki *p)
{
  if (p == NULL)
    return;
  g_autoptr (GDir) d = g_dir_open (p->dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *path = af_test_pki_path (p, name);
    g_assert_no_errno (g_unlink (path));
  }
  g_assert_no_errno (g_rmdir (p->dir));
  g_free (p->dir);
  g_free (p);
}
