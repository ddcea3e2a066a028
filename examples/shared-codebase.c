/* shared-codebase.c — one codebase, two sandboxes with different rights:
 * a writer that may change src/ and a reviewer that may only read. What
 * the writer's command changes reaches the codebase when the command ends,
 * and the reviewer sees it.
 *
 *   shared-codebase [DIR] */
#include "example-util.h"

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *project = example_project (argc, argv);
  g_autoptr (AfClient) client = af_client_new (NULL, FALSE, &error);
  CHECK (client != NULL, error);

  /* The codebase is made and uploaded once, by hand. */
  g_autoptr (AfCodebase) codebase =
      af_client_create_codebase (client, "shared", NULL, NULL, &error);
  CHECK (codebase != NULL, error);
  const char *codebase_id = af_codebase_get_id (codebase);
  g_autoptr (AfLocalTree) tree = af_local_tree_new (project, &error);
  CHECK (tree != NULL, error);
  CHECK (af_local_tree_scan (tree, NULL, &error), error);
  CHECK (af_client_upload_tree (client, codebase_id, tree, NULL, NULL, NULL, &error), error);

  g_autoptr (AfSandboxOptions) writer_options = af_sandbox_options_new ();
  af_sandbox_options_set_client (writer_options, client);
  af_sandbox_options_set_preset (writer_options, "development");
  g_autoptr (AfSandbox) writer = af_sandbox_from_codebase (codebase_id, writer_options, &error);
  CHECK (writer != NULL, error);

  g_autoptr (AfSandboxOptions) reviewer_options = af_sandbox_options_new ();
  af_sandbox_options_set_client (reviewer_options, client);
  af_sandbox_options_set_preset (reviewer_options, "read-only");
  g_autoptr (AfSandbox) reviewer = af_sandbox_from_codebase (codebase_id, reviewer_options, &error);
  CHECK (reviewer != NULL, error);

  g_autoptr (AfExecResult) w = af_sandbox_run (writer, "echo 'echo patched' > src/app.sh", 0, NULL,
                                               NULL, TRUE, NULL, &error);
  CHECK (w != NULL, error);
  g_autoptr (AfExecResult) r =
      af_sandbox_run (reviewer, "sh src/app.sh", 0, NULL, NULL, TRUE, NULL, &error);
  CHECK (r != NULL, error);
  printf ("reviewer runs the writer's change: %s", af_exec_result_get_stdout (r));
  g_autoptr (AfExecResult) denied =
      af_sandbox_run (reviewer, "echo no > src/app.sh", 0, NULL, NULL, FALSE, NULL, &error);
  CHECK (denied != NULL, error);
  printf ("reviewer may not write: exit %d\n", af_exec_result_get_exit_code (denied));

  /* Neither sandbox owns the codebase: destroy them, then delete it. */
  CHECK (af_sandbox_destroy (writer, AF_DELETE_CODEBASE_DEFAULT, NULL, &error), error);
  CHECK (af_sandbox_destroy (reviewer, AF_DELETE_CODEBASE_YES, NULL, &error), error);
  example_cleanup (project, argc);
  return 0;
}
