/* Tests for af-dbus-peer: a real peer (gdbus in a child process and an
 * in-process client) reaches an object exported on the accepted connection;
 * other uids are refused; the socket is private and cleaned up. */
#include "afcore.h"

#include <glib/gstdio.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

static const char introspection[] =
    "<node><interface name='org.agentfense.Test'>"
    "<method name='Echo'><arg type='s' direction='in'/><arg type='s' direction='out'/></method>"
    "</interface></node>";

typedef struct {
  char *dir;
  char *socket_path;
  AfDBusPeerServer *server;
  GDBusNodeInfo *info;
  GPtrArray *connections;
  GMainLoop *loop;
} Fixture;

static void
method_call (GDBusConnection *c, const char *sender, const char *path, const char *iface,
             const char *method, GVariant *params, GDBusMethodInvocation *inv, gpointer data)
{
  const char *s;
  g_variant_get (params, "(&s)", &s);
  g_dbus_method_invocation_return_value (inv, g_variant_new ("(s)", s));
}

static const GDBusInterfaceVTable vtable = { method_call, NULL, NULL, { 0 } };

static void
on_peer (AfDBusPeerServer *server, GDBusConnection *connection, gpointer data)
{
  Fixture *f = data;
  g_autoptr (GError) error = NULL;
  guint id = g_dbus_connection_register_object (connection, "/org/agentfense/Test",
                                                f->info->interfaces[0], &vtable, f, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (id, >, 0);
  g_ptr_array_add (f->connections, g_object_ref (connection));
}

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("af-dbus-XXXXXX", NULL);
  f->socket_path = g_build_filename (f->dir, "peer.sock", NULL);
  f->info = g_dbus_node_info_new_for_xml (introspection, NULL);
  f->connections = g_ptr_array_new_with_free_func (g_object_unref);
  f->loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GError) error = NULL;
  f->server = af_dbus_peer_server_new (f->socket_path, on_peer, f, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->server);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < f->connections->len; i++)
    g_dbus_connection_close_sync (f->connections->pdata[i], NULL, NULL);
  g_ptr_array_unref (f->connections);
  af_dbus_peer_server_free (f->server);
  g_assert_false (g_file_test (f->socket_path, G_FILE_TEST_EXISTS));
  g_dbus_node_info_unref (f->info);
  g_main_loop_unref (f->loop);
  g_rmdir (f->dir);
  g_free (f->socket_path);
  g_free (f->dir);
}

static void
test_socket (Fixture *f, gconstpointer data)
{
  struct stat st;
  g_assert_cmpint (g_stat (f->socket_path, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_autofree char *want = g_strdup_printf ("unix:path=%s", f->socket_path);
  g_assert_cmpstr (af_dbus_peer_server_get_address (f->server), ==, want);

  /* a second listener on the same path is refused, not silently replacing */
  g_autoptr (GError) error = NULL;
  g_assert_null (af_dbus_peer_server_new (f->socket_path, on_peer, f, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_ALREADY_EXISTS);
}

static void
subprocess_done (GObject *source, GAsyncResult *res, gpointer data)
{
  Fixture *f = data;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (GError) error = NULL;
  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), res, &out, &err, &error);
  g_assert_no_error (error);
  g_object_set_data_full (G_OBJECT (source), "out", g_steal_pointer (&out), g_free);
  g_object_set_data_full (G_OBJECT (source), "err", g_steal_pointer (&err), g_free);
  g_main_loop_quit (f->loop);
}

static GSubprocess *
run_gdbus (Fixture *f, const char *const *prefix)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  for (; prefix && *prefix; prefix++)
    g_ptr_array_add (argv, (char *)*prefix);
  const char *tail[] = { "gdbus",         "call",
                         "--address",     af_dbus_peer_server_get_address (f->server),
                         "--dest",        "org.agentfense.Peer",
                         "--object-path", "/org/agentfense/Test",
                         "--method",      "org.agentfense.Test.Echo",
                         "hello peer",    NULL };
  for (const char *const *t = tail; *t; t++)
    g_ptr_array_add (argv, (char *)*t);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  GSubprocess *p =
      g_subprocess_newv ((const char *const *)argv->pdata,
                         G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (p, NULL, NULL, subprocess_done, f);
  g_main_loop_run (f->loop);
  return p;
}

static void
test_gdbus_peer (Fixture *f, gconstpointer data)
{
  g_autoptr (GSubprocess) p = run_gdbus (f, NULL);
  if (!g_subprocess_get_successful (p))
    g_error ("gdbus failed: %s", (char *)g_object_get_data (G_OBJECT (p), "err"));
  g_assert_cmpstr (g_object_get_data (G_OBJECT (p), "out"), ==, "('hello peer',)\n");
  g_assert_cmpuint (f->connections->len, ==, 1);
}

static gpointer
client_thread (gpointer data)
{
  const char *address = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) c = af_dbus_peer_connect (address, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GVariant) r =
      g_dbus_connection_call_sync (c, NULL, "/org/agentfense/Test", "org.agentfense.Test", "Echo",
                                   g_variant_new ("(s)", "in-process"), G_VARIANT_TYPE ("(s)"),
                                   G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
  g_assert_no_error (error);
  const char *s;
  g_variant_get (r, "(&s)", &s);
  return g_strdup (s);
}

static gboolean
quit_idle (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static gpointer
client_then_quit (gpointer data)
{
  Fixture *f = data;
  char *r = client_thread ((gpointer)af_dbus_peer_server_get_address (f->server));
  g_idle_add (quit_idle, f->loop);
  return r;
}

static void
test_in_process_client (Fixture *f, gconstpointer data)
{
  GThread *t = g_thread_new ("client", client_then_quit, f);
  g_main_loop_run (f->loop);
  g_autofree char *r = g_thread_join (t);
  g_assert_cmpstr (r, ==, "in-process");
}

static void
test_connect_fails_clearly (Fixture *f, gconstpointer data)
{
  g_autofree char *absent = g_build_filename (f->dir, "absent.sock", NULL);
  g_autofree char *addr = g_strdup_printf ("unix:path=%s", absent);
  g_autoptr (GError) error = NULL;
  g_assert_null (af_dbus_peer_connect (addr, NULL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, absent));
}

static void
test_other_uid_refused (Fixture *f, gconstpointer data)
{
  if (getuid () != 0) {
    g_test_skip ("needs root to run a peer as another uid");
    return;
  }
  if (!g_file_test ("/usr/bin/setpriv", G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("setpriv not installed");
    return;
  }
  /* open the socket and its directory to everyone so that only the
   * credential check can refuse the peer */
  g_assert_cmpint (g_chmod (f->socket_path, 0666), ==, 0);
  g_assert_cmpint (g_chmod (f->dir, 0755), ==, 0);
  const char *prefix[] = { "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           NULL };
  g_autoptr (GSubprocess) p = run_gdbus (f, prefix);
  g_assert_false (g_subprocess_get_successful (p));
  /* refused by the credential check, not by anything else */
  const char *err = g_object_get_data (G_OBJECT (p), "err");
  g_test_message ("peer as uid 65534: %s", err);
  g_assert_nonnull (strstr (err, "Error connecting"));
  g_assert_cmpuint (f->connections->len, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add ("/dbus-peer/" name, Fixture, NULL, setup, fn, teardown)
  ADD ("socket", test_socket);
  ADD ("gdbus-peer", test_gdbus_peer);
  ADD ("in-process-client", test_in_process_client);
  ADD ("connect-fails-clearly", test_connect_fails_clearly);
  ADD ("other-uid-refused", test_other_uid_refused);
  return g_test_run ();
}
