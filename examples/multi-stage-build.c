/* multi-stage-build.c — a build in stages inside one session (configure,
 * build, test): the session keeps the working directory and variables
 * of one stage for the next; the build stops at the first stage that
 * fails.
 *
 *   multi-stage-build [DIR] */
#include "example-util.h"

typedef struct {
  const char *name;
  const char *command;
} Stage;

static const Stage stages[] = {
  { "configure", "mkdir -p build && echo 'PREFIX=/workspace/build' > build/config" },
  { "build", ". build/config && cp src/app.sh \"$PREFIX/app\" && echo built \"$PREFIX/app\"" },
  { "test", "sh build/app | grep -q hello && echo 'stage test: ok'" },
};

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *project = example_project (argc, argv);

  g_autoptr (AfSandboxOptions) options = af_sandbox_options_new ();
  af_sandbox_options_set_preset (options, "development");
  g_autoptr (AfSandbox) sandbox = af_sandbox_from_local (project, options, &error);
  CHECK (sandbox != NULL, error);
  g_autoptr (AfSession) session = af_sandbox_session (sandbox, NULL, NULL, NULL, &error);
  CHECK (session != NULL, error);

  int failed = 0;
  for (gsize i = 0; i < G_N_ELEMENTS (stages) && !failed; i++) {
    g_autoptr (AfExecResult) r = af_session_exec (session, stages[i].command, 120, NULL, &error);
    CHECK (r != NULL, error);
    failed = af_exec_result_get_exit_code (r);
    printf ("stage %-9s %s (%.2f s)\n%s%s", stages[i].name, failed ? "FAILED" : "passed",
            af_exec_result_get_duration (r), af_exec_result_get_stdout (r),
            af_exec_result_get_stderr (r));
  }

  g_clear_pointer (&session, af_session_unref);
  g_clear_object (&sandbox);
  example_cleanup (project, argc);
  return failed ? 1 : 0;
}
