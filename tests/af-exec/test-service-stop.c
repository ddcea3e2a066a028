/* test-service-stop.c — af-exec --serve told to stop at awkward moments.
 * At every moment of its start (SIGTERM, as its owner sends when the
 * mount beside it fails): it exits 0 and leaves nothing. A bwrap killed
 * while it builds the namespaces leaves its child, the sandbox's pid 1 to
 * be, waiting forever for the dead parent; a docker start cut short leaves
 * its container. And while a session's shell starts: the session is
 * refused, not handed out by a sandbox that is going away. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "af-dbus-peer.h"
#include "exec-client.h"
#include "exec-testlib.h"

static void
on_connected (AfDBusPeerServer *server, GDBusConnection *connection, gpointer data)
{
  GDBusConnection **out = data;
  if (*out == NULL)
    *out = g_object_ref (connection);
}

static gboolean
on_timeout (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Run the default context (the peer server answers af-exec's handshake)
 * for @ms, or until *@done. */
static void
iterate (int ms, const gboolean *done)
{
  gboolean timed_out = FALSE;
  guint t = g_timeout_add (ms, on_timeout, &timed_out);
  while (!timed_out && !(done && *done))
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (t);
}

static void
on_exited (GObject *source, GAsyncResult *result, gpointer data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *)data = TRUE;
}

/* What af-exec @pid could have left: processes naming @workspace (bwrap's
 * command line binds it), or containers labelled with its pid. With
 * @remove, they are removed too (the test's own, found by its temp dir
 * or af-exec's pid): a failing run leaves nothing either. */
static guint
count_left (const char *workspace, const char *pid, gboolean remove)
{
  guint n = 0;

  if (exec_test_is_docker ()) {
    g_autofree char *filter = g_strdup_printf ("label=org.agentfense.owner-pid=%s", pid);
    const char *argv[] = { "docker", "ps", "-aq", "--filter", filter, NULL };
    g_autofree char *out = NULL;
    g_auto (GStrv) ids = NULL;
    int status = -1;
    g_autoptr (GError) error = NULL;
    g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                  NULL, &out, NULL, &status, &error);
    g_assert_no_error (error);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    ids = g_strsplit (g_strstrip (out), "\n", -1);
    for (char **id = ids; *id && **id; id++, n++) {
      const char *rm[] = { "docker", "rm", "-f", *id, NULL };
      if (remove)
        g_spawn_sync (NULL, (char **)rm, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                      NULL, NULL, NULL, NULL, NULL, NULL);
    }
    return n;
  }
  {
    g_autoptr (GArray) pids = exec_test_find_procs_mentioning (workspace);
    for (guint i = 0; remove && i < pids->len; i++)
      kill (g_array_index (pids, int, i), SIGKILL);
    return pids->len;
  }
}

static void
stop_at (ExecFixture *fx, int delay_ms)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfDBusPeerServer) server = NULL;
  g_autoptr (GDBusConnection) conn = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autofree char *dir = g_dir_make_tmp ("af-exec-start-XXXXXX", &error);
  g_autofree char *sock = NULL;
  char pid[16];
  gboolean exited = FALSE;
  guint left = 0;

  g_assert_no_error (error);
  sock = g_build_filename (dir, "exec.sock", NULL);
  server = af_dbus_peer_server_new (sock, on_connected, &conn, &error);
  g_assert_no_error (error);
  proc = exec_service_spawn (af_dbus_peer_server_get_address (server), fx->workspace, NULL);
  g_strlcpy (pid, g_subprocess_get_identifier (proc), sizeof pid);
  g_subprocess_wait_async (proc, NULL, on_exited, &exited);

  iterate (delay_ms, &exited);
  g_subprocess_send_signal (proc, SIGTERM);
  iterate (30000, &exited);
  g_assert_true (exited);
  /* Killed by the signal itself only before its watch is up (the process
   * is still loading); from then on it ends its own way. */
  if (g_subprocess_get_if_signaled (proc) && g_subprocess_get_term_sig (proc) != SIGTERM)
    g_error ("af-exec was killed by signal %d, %d ms into its start",
             g_subprocess_get_term_sig (proc), delay_ms);
  if (g_subprocess_get_if_exited (proc))
    g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);

  /* A killed process leaves /proc a moment after the kill. */
  for (int i = 0; i < 200 && (left = count_left (fx->workspace, pid, FALSE)) > 0; i++)
    g_usleep (10000);
  if (left) {
    count_left (fx->workspace, pid, TRUE);
    g_error ("SIGTERM %d ms into the start left %u behind", delay_ms, left);
  }
  g_clear_pointer (&server, af_dbus_peer_server_free);
  g_unlink (sock);
  g_rmdir (dir);
}

static void
test_stop_while_starting (ExecFixture *fx, gconstpointer data)
{
  /* Steps across a whole start: bwrap's takes ~10–40 ms here, docker's
   * some hundreds. */
  int step = exec_test_is_docker () ? 60 : 1, n = exec_test_is_docker () ? 10 : 45;

  if (!exec_test_require_root () || !exec_test_require_sandbox ())
    return;
  for (int i = 0; i < n; i++)
    stop_at (fx, i * step);
}

typedef struct {
  GVariant *result;
  GError *error;
  gboolean done;
} Reply;

static void
on_reply (GObject *source, GAsyncResult *result, gpointer data)
{
  Reply *r = data;
  r->result = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &r->error);
  r->done = TRUE;
}

static void
call_async (ExecService *svc, const char *method, GVariant *params, Reply *r)
{
  g_dbus_connection_call (svc->conn, NULL, "/org/agentfense/Exec1", "org.agentfense.Exec1", method,
                          params, NULL, G_DBUS_CALL_FLAGS_NONE, 30000, NULL, on_reply, r);
}

static void
test_stop_while_session_starts (ExecFixture *fx, gconstpointer data)
{
  if (!exec_test_require_root () || !exec_test_require_sandbox ())
    return;
  for (int i = 0; i < 3; i++) {
    ExecService *svc = exec_service_start (fx->workspace, NULL);
    GVariantBuilder b;
    Reply create = { 0 }, stop = { 0 };

    g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
    /* Both are in af-exec's socket before it reads either, so Stop is
     * read while the session's shell is being spawned. Sent to a running
     * af-exec, CreateSession could be answered before Stop is written. */
    g_assert_true (kill (atoi (g_subprocess_get_identifier (svc->proc)), SIGSTOP) == 0);
    call_async (svc, "CreateSession", g_variant_new ("(@a{sv})", g_variant_builder_end (&b)),
                &create);
    call_async (svc, "Stop", NULL, &stop);
    g_assert_true (g_dbus_connection_flush_sync (svc->conn, NULL, NULL));
    g_assert_true (kill (atoi (g_subprocess_get_identifier (svc->proc)), SIGCONT) == 0);
    while (!create.done || !stop.done)
      g_main_context_iteration (NULL, TRUE);
    g_assert_no_error (stop.error);
    /* Refused, whether the shell came up before the sandbox went or not. */
    g_assert_nonnull (create.error);
    g_assert_null (create.result);
    g_assert_true (strstr (create.error->message, "stopping") ||
                   strstr (create.error->message, "not running") ||
                   strstr (create.error->message, "exited"));
    g_test_message ("CreateSession: %s", create.error->message);
    g_clear_error (&create.error);
    g_clear_pointer (&stop.result, g_variant_unref);
    exec_service_wait_exit (svc);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/af-exec/service/stop-while-starting", ExecFixture, NULL, exec_fixture_setup,
              test_stop_while_starting, exec_fixture_teardown);
  g_test_add ("/af-exec/service/stop-while-session-starts", ExecFixture, NULL, exec_fixture_setup,
              test_stop_while_session_starts, exec_fixture_teardown);
  return g_test_run ();
}
