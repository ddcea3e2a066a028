/* agent-loop.c — the loop of a coding agent: a session that keeps its
 * shell state, one command per step, every output collected, then a look
 * at the files the agent produced (list + read).
 *
 *   agent-loop [DIR] */
#include "example-util.h"

/* What a planner would produce, step by step. */
static const char *const steps[] = {
  "cd src",
  "export GREETING=hi",
  "echo \"echo $GREETING from the agent\" > agent.sh",
  "sh agent.sh",
  "ls",
  "false",
};

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *project = example_project (argc, argv);

  g_autoptr (AfSandboxOptions) options = af_sandbox_options_new ();
  /* agent-safe reads everything but secrets; the agent may also write
   * under src/. */
  af_sandbox_options_set_preset (options, "agent-safe");
  g_autoptr (AfPermissionRule) src =
      af_permission_rule_new ("/src/**", AF_PERMISSION_WRITE, AF_PATTERN_KIND_GLOB, 20);
  af_sandbox_options_add_rule (options, src);
  g_autoptr (AfSandbox) sandbox = af_sandbox_from_local (project, options, &error);
  CHECK (sandbox != NULL, error);

  g_autoptr (AfSession) session = af_sandbox_session (sandbox, NULL, NULL, NULL, &error);
  CHECK (session != NULL, error);

  g_autoptr (GPtrArray) transcript =
      g_ptr_array_new_with_free_func ((GDestroyNotify)af_exec_result_unref);
  for (gsize i = 0; i < G_N_ELEMENTS (steps); i++) {
    AfExecResult *r = af_session_exec (session, steps[i], 30, NULL, &error);
    CHECK (r != NULL, error);
    g_ptr_array_add (transcript, r);
  }
  for (guint i = 0; i < transcript->len; i++) {
    AfExecResult *r = transcript->pdata[i];
    printf ("[%u] %s -> %d %s", i, af_exec_result_get_command (r), af_exec_result_get_exit_code (r),
            af_exec_result_get_stdout (r));
    if (*af_exec_result_get_stdout (r) == '\0')
      printf ("\n");
  }
  CHECK (af_session_close (session, NULL, &error), error);

  /* What the agent left behind, seen from outside. */
  g_autoptr (GPtrArray) files =
      af_sandbox_list_files (sandbox, "/workspace/src", TRUE, NULL, &error);
  CHECK (files != NULL, error);
  for (guint i = 0; i < files->len; i++)
    printf ("file %s (%" G_GINT64_FORMAT " bytes)\n", af_file_info_get_path (files->pdata[i]),
            af_file_info_get_size (files->pdata[i]));
  g_autofree char *script = af_sandbox_read_file (sandbox, "src/agent.sh", NULL, &error);
  CHECK (script != NULL, error);
  printf ("src/agent.sh: %s", script);

  g_clear_pointer (&session, af_session_unref);
  g_clear_object (&sandbox);
  example_cleanup (project, argc);
  return 0;
}
