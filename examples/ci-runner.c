/* ci-runner.c — a CI job in a container: the project's test script runs
 * in a Docker sandbox with memory, CPU and process limits, output
 * streamed as it comes, and the script's exit code becomes ours.
 *
 *   ci-runner [DIR]    (AGENTFENSE_IMAGE names the image; busybox:latest
 *                       when unset) */
#include "example-util.h"

static gboolean
print_chunk (AfOutputKind kind, const guint8 *data, gsize length, gpointer user_data)
{
  FILE *to = kind == AF_OUTPUT_STDERR ? stderr : stdout;
  fwrite (data, 1, length, to);
  fflush (to);
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *project = example_project (argc, argv);
  const char *image = g_getenv ("AGENTFENSE_IMAGE");

  g_autoptr (AfSandboxOptions) options = af_sandbox_options_new ();
  af_sandbox_options_set_preset (options, "development");
  af_sandbox_options_set_runtime (options, AF_RUNTIME_DOCKER);
  af_sandbox_options_set_image (options, image != NULL ? image : "busybox:latest");
  AfResourceLimits limits = {
    .memory_bytes = 256 * 1024 * 1024,
    .cpu_quota = 50000, /* half a CPU */
    .pids_limit = 64,
  };
  af_sandbox_options_set_resources (options, &limits);
  af_sandbox_options_set_label (options, "job", "ci-example");

  g_autoptr (AfSandbox) sandbox = af_sandbox_from_local (project, options, &error);
  CHECK (sandbox != NULL, error);
  g_autoptr (AfSandboxInfo) info = af_sandbox_get_info (sandbox);
  printf ("running in %s (%s), memory limit %" G_GINT64_FORMAT " bytes\n",
          af_runtime_to_string (af_sandbox_info_get_runtime (info)),
          af_sandbox_info_get_image (info), af_sandbox_info_get_resources (info)->memory_bytes);

  gboolean ok = af_sandbox_exec_stream (sandbox, "sh tests/test.sh", NULL, NULL, NULL, 300,
                                        print_chunk, NULL, NULL, &error);
  CHECK (ok, error);
  /* The stream carries no exit code: ask once more for the verdict. */
  g_autoptr (AfExecResult) verdict =
      af_sandbox_run (sandbox, "sh tests/test.sh >/dev/null", 300, NULL, NULL, FALSE, NULL, &error);
  CHECK (verdict != NULL, error);
  int code = af_exec_result_get_exit_code (verdict);
  printf ("ci: %s (exit %d)\n", code == 0 ? "passed" : "failed", code);

  g_clear_object (&sandbox);
  example_cleanup (project, argc);
  return code;
}
