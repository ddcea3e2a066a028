/* basic.c — the first AgentFense program: upload a directory, run
 * commands in a sandbox over it, read the results, clean up.
 *
 *   basic [DIR]        (AGENTFENSE_ENDPOINT selects the server)
 *
 * The sandbox gets the default preset, view-only: the agent sees every
 * name but may read no content. Dropping the last reference destroys the
 * sandbox and the codebase made for it, like leaving a Python `with`. */
#include "example-util.h"

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *project = example_project (argc, argv);

  g_autoptr (AfSandbox) sandbox = af_sandbox_from_local (project, NULL, &error);
  CHECK (sandbox != NULL, error);
  printf ("sandbox %s is %s\n", af_sandbox_get_id (sandbox),
          af_sandbox_status_to_string (af_sandbox_get_status (sandbox)));

  g_autoptr (AfExecResult) ls =
      af_sandbox_run (sandbox, "ls /workspace", 0, NULL, NULL, TRUE, NULL, &error);
  CHECK (ls != NULL, error);
  printf ("files:\n%s", af_exec_result_get_stdout (ls));

  /* view-only: reading content fails inside the sandbox; that is a
   * result with a non-zero exit code, not an error of the call. */
  g_autoptr (AfExecResult) cat =
      af_sandbox_run (sandbox, "cat README.md", 0, NULL, NULL, FALSE, NULL, &error);
  CHECK (cat != NULL, error);
  printf ("cat README.md exited %d: %s", af_exec_result_get_exit_code (cat),
          af_exec_result_get_stderr (cat));

  /* Files are also reachable from outside, through the codebase. */
  g_autofree char *readme = af_sandbox_read_file (sandbox, "/workspace/README.md", NULL, &error);
  CHECK (readme != NULL, error);
  printf ("README.md from outside: %s", readme);

  g_clear_object (&sandbox);
  example_cleanup (project, argc);
  return 0;
}
