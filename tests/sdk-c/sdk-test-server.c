/* sdk-test-server.c — see sdk-test-server.h. */
#include "sdk-test-server.h"

#include <unistd.h>

static SdkTestServer *
start (const char *config_text, const char *const *args)
{
  if (!g_file_test (AFD_SERVER_PATH, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("afd-server was not built");
    return NULL;
  }
  SdkTestServer *server = g_new0 (SdkTestServer, 1);
  af_test_daemon_prepare (server, config_text);
  af_test_daemon_start (server, AFD_SERVER_PATH, args);
  return server;
}

SdkTestServer *
sdk_test_server_start (const char *const *extra_args)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, (gpointer) "--listen=none");
  for (gsize i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer)extra_args[i]);
  g_ptr_array_add (args, NULL);
  return start (NULL, (const char *const *)args->pdata);
}

const char *
sdk_test_server_sandbox_skip_reason (void)
{
#if defined(AF_FUSE_PATH) && defined(AF_EXEC_PATH)
  if (geteuid () != 0)
    return "sandboxes need root (FUSE mounts with allow_other, per-sandbox uids)";
  if (!g_file_test ("/dev/fuse", G_FILE_TEST_EXISTS))
    return "no /dev/fuse";
  g_autofree char *bwrap = g_find_program_in_path ("bwrap");
  if (bwrap == NULL)
    return "no bwrap";
  if (!g_file_test (AF_FUSE_PATH, G_FILE_TEST_IS_EXECUTABLE) ||
      !g_file_test (AF_EXEC_PATH, G_FILE_TEST_IS_EXECUTABLE))
    return "af-fuse or af-exec was not built";
  return NULL;
#else
  return "af-fuse or af-exec is not part of this build";
#endif
}

SdkTestServer *
sdk_test_server_start_sandboxes (const char *config_text)
{
  const char *reason = sdk_test_server_sandbox_skip_reason ();
  if (reason != NULL) {
    g_test_skip (reason);
    return NULL;
  }
#if defined(AF_FUSE_PATH) && defined(AF_EXEC_PATH)
  const char *const args[] = { "--listen=none", "--fuse-helper=" AF_FUSE_PATH,
                               "--exec-helper=" AF_EXEC_PATH, NULL };
  return start (config_text, args);
#else
  return NULL;
#endif
}

void
sdk_test_server_stop (SdkTestServer *server)
{
  if (server == NULL)
    return;
  af_test_daemon_clear (server);
  g_free (server);
}
