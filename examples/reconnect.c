/* reconnect.c — a sandbox outlives the handle that made it: one handle
 * creates it and lets go (detach), another finds it again by id — as a
 * second process or a restarted agent would — and finally destroys it
 * with its codebase.
 *
 *   reconnect [DIR] */
#include "example-util.h"

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *project = example_project (argc, argv);

  g_autofree char *id = NULL;
  {
    g_autoptr (AfSandbox) first = af_sandbox_from_local (project, NULL, &error);
    CHECK (first != NULL, error);
    id = g_strdup (af_sandbox_get_id (first));
    af_sandbox_detach (first); /* keep it when this handle goes */
    printf ("created %s and let go of it\n", id);
  }

  g_autoptr (AfSandbox) again = af_sandbox_connect (id, NULL, FALSE, &error);
  CHECK (again != NULL, error);
  printf ("reconnected to %s (%s), owned: %s\n", af_sandbox_get_id (again),
          af_sandbox_status_to_string (af_sandbox_get_status (again)),
          af_sandbox_get_owned (again) ? "yes" : "no");
  g_autoptr (AfExecResult) r =
      af_sandbox_run (again, "ls /workspace/src", 0, NULL, NULL, TRUE, NULL, &error);
  CHECK (r != NULL, error);
  printf ("still there: %s", af_exec_result_get_stdout (r));

  /* A connected handle owns nothing: say what to do with the codebase. */
  CHECK (af_sandbox_destroy (again, AF_DELETE_CODEBASE_YES, NULL, &error), error);
  g_autoptr (AfSandbox) gone = af_sandbox_connect (id, NULL, FALSE, &error);
  printf ("after destroy: %s\n", af_sdk_error_code_name (error->code));
  example_cleanup (project, argc);
  return gone == NULL && error->code == AF_SDK_ERROR_SANDBOX_NOT_FOUND ? 0 : 1;
}
