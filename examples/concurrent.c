/* concurrent.c — many sandboxes driven from one thread: each is created,
 * runs a command and is destroyed through the _async API; every callback
 * runs on this thread's main loop, nothing here blocks.
 *
 *   concurrent [COUNT [DIR]]     (COUNT defaults to 50) */
#include "example-util.h"

typedef struct {
  GMainLoop *loop;
  guint pending;
  guint ok;
  GHashTable *ids;
} State;

static void
finished_one (State *s)
{
  if (--s->pending == 0)
    g_main_loop_quit (s->loop);
}

static void
on_destroyed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  State *s = user_data;
  g_autoptr (GError) error = NULL;
  CHECK (af_sandbox_destroy_finish (AF_SANDBOX (source), result, &error), error);
  g_object_unref (source);
  finished_one (s);
}

static void
on_ran (GObject *source, GAsyncResult *result, gpointer user_data)
{
  State *s = user_data;
  AfSandbox *sandbox = AF_SANDBOX (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (AfExecResult) r = af_sandbox_run_finish (sandbox, result, &error);
  CHECK (r != NULL, error);
  /* Each sandbox answers with its own id: no output crossed over. */
  g_autofree char *expected = g_strdup_printf ("%s\n", af_sandbox_get_id (sandbox));
  if (g_strcmp0 (af_exec_result_get_stdout (r), expected) == 0)
    s->ok++;
  af_sandbox_destroy_async (sandbox, AF_DELETE_CODEBASE_DEFAULT, NULL, on_destroyed, s);
}

static void
on_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  State *s = user_data;
  g_autoptr (GError) error = NULL;
  AfSandbox *sandbox = af_sandbox_from_local_finish (result, &error); /* ours until destroyed */
  CHECK (sandbox != NULL, error);
  g_hash_table_add (s->ids, g_strdup (af_sandbox_get_id (sandbox)));
  g_autoptr (GHashTable) env = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (env, "ME", (gpointer)af_sandbox_get_id (sandbox));
  af_sandbox_run_async (sandbox, "echo $ME", 0, env, NULL, TRUE, NULL, on_ran, s);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  guint count = argc > 1 ? (guint)g_ascii_strtoull (argv[1], NULL, 10) : 50;
  g_autofree char *project = example_project (argc > 2 ? 2 : 1, argc > 2 ? argv + 1 : argv);
  if (count == 0 || count > 1000) {
    fprintf (stderr, "COUNT must be 1..1000\n");
    return 2;
  }

  /* One client: one connection shared by every sandbox. */
  g_autoptr (AfClient) client = af_client_new (NULL, FALSE, &error);
  CHECK (client != NULL, error);
  g_autoptr (AfSandboxOptions) options = af_sandbox_options_new ();
  af_sandbox_options_set_client (options, client);
  af_sandbox_options_set_preset (options, "read-only");

  State s = { g_main_loop_new (NULL, FALSE), count, 0,
              g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL) };
  gint64 start = g_get_monotonic_time ();
  for (guint i = 0; i < count; i++)
    af_sandbox_from_local_async (project, options, NULL, on_created, &s);
  g_main_loop_run (s.loop);
  double seconds = (double)(g_get_monotonic_time () - start) / G_USEC_PER_SEC;

  printf ("%u sandboxes, %u distinct, %u answered correctly, %.1f s\n", count,
          g_hash_table_size (s.ids), s.ok, seconds);
  int status = s.ok == count && g_hash_table_size (s.ids) == count ? 0 : 1;
  g_hash_table_unref (s.ids);
  g_main_loop_unref (s.loop);
  example_cleanup (project, argc > 2 ? 2 : 1);
  return status;
}
