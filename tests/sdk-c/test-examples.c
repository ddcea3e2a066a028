/* test-examples.c — runs the example programs of examples/ against a real
 * afd-server running sandboxes and checks what they print and their exit
 * status. With the argument "valgrind" each runs under valgrind: a memory
 * error or a definite/indirect leak fails the test. With "docker" only the
 * docker example runs (docker suite). */
#include "sdk-test-sandbox.h"

#include <string.h>

typedef struct {
  const char *name;
  const char *args[3];
  const char *expect; /* a line (or part of one) of its stdout */
} Example;

static const Example examples[] = {
  { "basic", { NULL }, "README.md from outside: # demo" },
  { "custom-permissions", { NULL }, "v2" },
  { "agent-loop", { NULL }, "hi from the agent" },
  { "multi-stage-build", { NULL }, "stage test      passed" },
  { "shared-codebase", { NULL }, "reviewer runs the writer's change: patched" },
  { "reconnect", { NULL }, "after destroy: sandbox-not-found" },
  { "concurrent", { NULL }, "50 sandboxes, 50 distinct, 50 answered correctly" },
};

static const Example docker_example = { "ci-runner", { NULL }, "ci: passed" };

/* Under valgrind every call is ~50 times slower: fewer sandboxes at once. */
static const Example concurrent_valgrind = { "concurrent",
                                             { "8", NULL },
                                             "8 sandboxes, 8 distinct, 8 answered correctly" };

static gboolean valgrind_mode;

static gboolean
under_valgrind (void)
{
  return valgrind_mode;
}

static void
run_example (Fixture *f, gconstpointer data)
{
  const Example *ex = data;
  if (f->server == NULL)
    return;
  if (under_valgrind () && strcmp (ex->name, "concurrent") == 0)
    ex = &concurrent_valgrind;

  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  if (under_valgrind ()) {
    g_autofree char *valgrind = g_find_program_in_path ("valgrind");
    if (valgrind == NULL) {
      g_test_skip ("valgrind is not installed");
      return;
    }
    g_ptr_array_add (argv, g_steal_pointer (&valgrind));
    g_ptr_array_add (argv, g_strdup ("--error-exitcode=99"));
    g_ptr_array_add (argv, g_strdup ("--leak-check=full"));
    g_ptr_array_add (argv, g_strdup ("--errors-for-leak-kinds=definite,indirect"));
    g_ptr_array_add (argv, g_strdup ("--show-leak-kinds=definite,indirect"));
    g_ptr_array_add (argv, g_strdup ("--num-callers=30"));
    if (g_file_test ("/usr/share/glib-2.0/valgrind/glib.supp", G_FILE_TEST_EXISTS))
      g_ptr_array_add (argv, g_strdup ("--suppressions=/usr/share/glib-2.0/valgrind/glib.supp"));
  }
  g_ptr_array_add (argv, g_build_filename (AF_EXAMPLES_DIR, ex->name, NULL));
  for (gsize i = 0; ex->args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (ex->args[i]));
  g_ptr_array_add (argv, NULL);

  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "AGENTFENSE_ENDPOINT", f->server->endpoint, TRUE);
  g_subprocess_launcher_setenv (launcher, "G_SLICE", "always-malloc", TRUE);
  g_autoptr (GSubprocess) proc =
      g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  g_autofree char *out = NULL, *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  g_test_message ("%s stdout:\n%s", ex->name, out);
  if (!g_subprocess_get_successful (proc))
    g_test_message ("%s stderr:\n%s", ex->name, err);
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
  g_assert_nonnull (strstr (out, ex->expect));

  /* Every example cleans up after itself. */
  g_autoptr (GPtrArray) sandboxes = af_client_list_sandboxes (f->client, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sandboxes->len, ==, 0);
  g_autoptr (GPtrArray) codebases = af_client_list_codebases (f->client, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (codebases->len, ==, 0);
}

/* The docker example needs the engine and an image that is already there
 * (no network): AGENTFENSE_IMAGE, else the suite's test image. */
static const char *
docker_skip_reason (void)
{
  g_autofree char *docker = g_find_program_in_path ("docker");
  if (docker == NULL)
    return "no docker CLI";
  const char *image = g_getenv ("AGENTFENSE_IMAGE");
  const char *argv[] = { "docker", "image", "inspect", image, NULL };
  int status = -1;
  if (!g_spawn_sync (NULL, (char **)argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL))
    return "the docker engine or the test image is not available";
  return NULL;
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *mode = argc > 1 ? argv[1] : "";
  valgrind_mode = g_strcmp0 (mode, "valgrind") == 0;
  if (g_strcmp0 (mode, "docker") == 0) {
    if (g_getenv ("AGENTFENSE_IMAGE") == NULL)
      g_setenv ("AGENTFENSE_IMAGE", "agentfense-busybox:test", TRUE);
    const char *reason = docker_skip_reason ();
    if (reason != NULL) {
      g_printerr ("# skip: %s\n", reason);
      return 77;
    }
    g_test_add ("/examples/ci-runner", Fixture, &docker_example, sdk_test_fixture_setup,
                run_example, sdk_test_fixture_teardown);
    return g_test_run ();
  }
  for (gsize i = 0; i < G_N_ELEMENTS (examples); i++) {
    g_autofree char *path = g_strdup_printf ("/examples/%s", examples[i].name);
    g_test_add (path, Fixture, &examples[i], sdk_test_fixture_setup, run_example,
                sdk_test_fixture_teardown);
  }
  return g_test_run ();
}
