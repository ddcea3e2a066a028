/* custom-permissions.c — a rule set of one's own: a preset extended with
 * rules that hide secrets, make docs read-only and let the agent write
 * only under src/.
 *
 *   custom-permissions [DIR] */
#include "example-util.h"

static void
show (AfSandbox *sandbox, const char *command)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfExecResult) r =
      af_sandbox_run (sandbox, command, 0, NULL, NULL, FALSE, NULL, &error);
  CHECK (r != NULL, error);
  printf ("$ %s  -> exit %d\n%s%s", command, af_exec_result_get_exit_code (r),
          af_exec_result_get_stdout (r), af_exec_result_get_stderr (r));
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *project = example_project (argc, argv);

  g_autoptr (AfSandboxOptions) options = af_sandbox_options_new ();
  af_sandbox_options_set_preset (options, "read-only");
  g_autoptr (AfPermissionRule) src =
      af_permission_rule_new ("/src", AF_PERMISSION_WRITE, AF_PATTERN_KIND_DIRECTORY, 100);
  g_autoptr (AfPermissionRule) secrets =
      af_permission_rule_new ("/secrets", AF_PERMISSION_NONE, AF_PATTERN_KIND_DIRECTORY, 200);
  g_autoptr (AfPermissionRule) docs =
      af_permission_rule_new ("**/*.md", AF_PERMISSION_VIEW, AF_PATTERN_KIND_GLOB, 50);
  af_sandbox_options_add_rule (options, src);
  af_sandbox_options_add_rule (options, secrets);
  af_sandbox_options_add_rule (options, docs);

  g_autoptr (AfSandbox) sandbox = af_sandbox_from_local (project, options, &error);
  CHECK (sandbox != NULL, error);

  show (sandbox, "ls -a /workspace");                             /* secrets/ is not there at all */
  show (sandbox, "cat /workspace/secrets/.env");                  /* ENOENT, not EACCES */
  show (sandbox, "cat /workspace/README.md");                     /* view: listed, unreadable */
  show (sandbox, "echo '# new' >> README.md");                    /* not writable */
  show (sandbox, "echo 'echo v2' > src/app.sh && sh src/app.sh"); /* writable */

  g_autoptr (AfSandboxInfo) info = af_sandbox_get_info (sandbox);
  printf ("%u rules in force\n", af_sandbox_info_get_permissions (info)->len);

  g_clear_object (&sandbox);
  example_cleanup (project, argc);
  return 0;
}
