/* exec-client.c — see exec-client.h. */
#include "exec-client.h"

#include <unistd.h>

#include <gio/gunixfdlist.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

#include "af-dbus-peer.h"
#include "exec-testlib.h"

#define PATH "/org/agentfense/Exec1"
#define IFACE "org.agentfense.Exec1"

static void
on_connected (AfDBusPeerServer *server, GDBusConnection *connection, gpointer data)
{
  GDBusConnection **out = data;
  if (*out == NULL)
    *out = g_object_ref (connection);
}

static void
on_signal (GDBusConnection *c, const char *sender, const char *path, const char *iface,
           const char *name, GVariant *params, gpointer data)
{
  ExecService *svc = data;
  g_ptr_array_add (svc->signals, g_variant_ref (params));
}

static gboolean
on_timeout (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

GSubprocess *
exec_service_spawn (const char *address, const char *workspace, const char *const *extra_args)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  GSubprocess *proc;

  g_ptr_array_add (argv, (char *)exec_test_af_exec ());
  g_ptr_array_add (argv, "--serve");
  g_ptr_array_add (argv, "--dbus-address");
  g_ptr_array_add (argv, (char *)address);
  g_ptr_array_add (argv, "--workspace");
  g_ptr_array_add (argv, (char *)workspace);
  g_ptr_array_add (argv, "--log-level");
  g_ptr_array_add (argv, "warning");
  for (const char *const *a = exec_test_runtime_args (); *a; a++)
    g_ptr_array_add (argv, (char *)*a);
  for (const char *const *a = extra_args; a && *a; a++)
    g_ptr_array_add (argv, (char *)*a);
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_newv ((const char *const *)argv->pdata, G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  return proc;
}

ExecService *
exec_service_start (const char *workspace, const char *const *extra_args)
{
  ExecService *svc = g_new0 (ExecService, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (AfDBusPeerServer) server = NULL;
  g_autofree char *sock = NULL;
  gboolean timed_out = FALSE;
  guint t;

  svc->dir = g_dir_make_tmp ("af-exec-svc-XXXXXX", &error);
  g_assert_no_error (error);
  sock = g_build_filename (svc->dir, "exec.sock", NULL);
  server = af_dbus_peer_server_new (sock, on_connected, &svc->conn, &error);
  g_assert_no_error (error);
  svc->proc = exec_service_spawn (af_dbus_peer_server_get_address (server), workspace, extra_args);
  t = g_timeout_add (60000, on_timeout, &timed_out);
  while (svc->conn == NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (t);
  svc->signals = g_ptr_array_new_with_free_func ((GDestroyNotify)g_variant_unref);
  svc->sub = g_dbus_connection_signal_subscribe (svc->conn, NULL, IFACE, "ExecFinished", PATH, NULL,
                                                 G_DBUS_SIGNAL_FLAGS_NONE, on_signal, svc, NULL);
  /* The object is exported once the sandbox is up: wait for it. */
  for (int i = 0; i < 6000; i++) {
    g_autoptr (GVariant) v = exec_service_call (svc, "GetStats", NULL, NULL);
    if (v)
      break;
    t = g_timeout_add (10, on_timeout, &timed_out);
    timed_out = FALSE;
    while (!timed_out)
      g_main_context_iteration (NULL, TRUE);
  }
  return svc;
}

GVariant *
exec_service_call (ExecService *svc, const char *method, GVariant *params, GError **error)
{
  return g_dbus_connection_call_sync (svc->conn, NULL, PATH, IFACE, method, params, NULL,
                                      G_DBUS_CALL_FLAGS_NONE, 30000, NULL, error);
}

void
exec_service_stop (ExecService *svc)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) r = exec_service_call (svc, "Stop", NULL, &error);
  g_assert_no_error (error);
  exec_service_wait_exit (svc);
}

void
exec_service_wait_exit (ExecService *svc)
{
  g_autoptr (GError) error = NULL;
  g_subprocess_wait (svc->proc, NULL, &error);
  g_assert_no_error (error);
  /* Which signal, when one ended it: the assertion alone would not say. */
  if (g_subprocess_get_if_signaled (svc->proc))
    g_error ("af-exec was killed by signal %d", g_subprocess_get_term_sig (svc->proc));
  g_assert_true (g_subprocess_get_if_exited (svc->proc));
  g_assert_cmpint (g_subprocess_get_exit_status (svc->proc), ==, 0);
  g_dbus_connection_signal_unsubscribe (svc->conn, svc->sub);
  g_object_unref (svc->conn);
  g_object_unref (svc->proc);
  g_ptr_array_unref (svc->signals);
  g_rmdir (svc->dir);
  g_free (svc->dir);
  g_free (svc);
}

void
exec_outcome_clear (ExecOutcome *o)
{
  g_clear_pointer (&o->result, g_variant_unref);
  g_clear_error (&o->error);
  if (o->out)
    g_string_free (o->out, TRUE);
  if (o->err)
    g_string_free (o->err, TRUE);
  o->out = o->err = NULL;
}

typedef struct {
  int fd;
  GString *buf;
  gboolean eof;
} Reader;

static gboolean
on_readable (gint fd, GIOCondition cond, gpointer data)
{
  Reader *r = data;
  char buf[65536];
  ssize_t n = read (fd, buf, sizeof buf);
  if (n > 0) {
    g_string_append_len (r->buf, buf, n);
    return G_SOURCE_CONTINUE;
  }
  r->eof = TRUE;
  return G_SOURCE_REMOVE;
}

typedef struct {
  gboolean done;
  GVariant *reply;
  GError *error;
} Reply;

static void
on_reply (GObject *src, GAsyncResult *res, gpointer data)
{
  Reply *r = data;
  r->reply = g_dbus_connection_call_with_unix_fd_list_finish (G_DBUS_CONNECTION (src), NULL, res,
                                                              &r->error);
  r->done = TRUE;
}

/* The reply comes after af-exec forwarded all output, so what the pipes
 * hold then is complete (the caller's fd list still holds write ends, so
 * EOF is no signal here). */
static void
call_with_output (ExecService *svc, const char *method, GVariant *params, GUnixFDList *fds,
                  int out_r, int err_r, ExecOutcome *o)
{
  Reader ro = { out_r, g_string_new (NULL), FALSE }, re = { err_r, g_string_new (NULL), FALSE };
  Reply reply = { 0 };
  guint w1, w2;

  w1 = g_unix_fd_add (out_r, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, &ro);
  w2 = g_unix_fd_add (err_r, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, &re);
  g_dbus_connection_call_with_unix_fd_list (svc->conn, NULL, PATH, IFACE, method, params,
                                            G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE,
                                            60000, fds, NULL, on_reply, &reply);
  while (!reply.done)
    g_main_context_iteration (NULL, TRUE);
  if (!ro.eof)
    g_source_remove (w1);
  if (!re.eof)
    g_source_remove (w2);
  g_unix_set_fd_nonblocking (out_r, TRUE, NULL);
  g_unix_set_fd_nonblocking (err_r, TRUE, NULL);
  while (!ro.eof && on_readable (out_r, G_IO_IN, &ro))
    ;
  while (!re.eof && on_readable (err_r, G_IO_IN, &re))
    ;
  close (out_r);
  close (err_r);
  o->out = ro.buf;
  o->err = re.buf;
  o->error = reply.error;
  if (reply.reply) {
    g_variant_get (reply.reply, "(@a{sv})", &o->result);
    g_variant_unref (reply.reply);
  }
}

void
exec_service_exec (ExecService *svc, GVariant *request, const char *input, ExecOutcome *o)
{
  int in[2], out[2], err[2];
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();

  g_assert_true (g_unix_open_pipe (in, FD_CLOEXEC, NULL));
  g_assert_true (g_unix_open_pipe (out, FD_CLOEXEC, NULL));
  g_assert_true (g_unix_open_pipe (err, FD_CLOEXEC, NULL));
  g_unix_fd_list_append (fds, in[0], NULL);
  g_unix_fd_list_append (fds, out[1], NULL);
  g_unix_fd_list_append (fds, err[1], NULL);
  close (in[0]);
  close (out[1]);
  close (err[1]);
  if (input && write (in[1], input, strlen (input)) != (ssize_t)strlen (input))
    g_assert_not_reached ();
  close (in[1]);
  call_with_output (svc, "Exec", g_variant_new ("(@a{sv}hhh)", request, 0, 1, 2), fds, out[0],
                    err[0], o);
}

void
exec_service_session_exec (ExecService *svc, const char *session, GVariant *request, ExecOutcome *o)
{
  int out[2], err[2];
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();

  g_assert_true (g_unix_open_pipe (out, FD_CLOEXEC, NULL));
  g_assert_true (g_unix_open_pipe (err, FD_CLOEXEC, NULL));
  g_unix_fd_list_append (fds, out[1], NULL);
  g_unix_fd_list_append (fds, err[1], NULL);
  close (out[1]);
  close (err[1]);
  call_with_output (svc, "SessionExec", g_variant_new ("(s@a{sv}hh)", session, request, 0, 1), fds,
                    out[0], err[0], o);
}

gint32
exec_result_int (GVariant *result, const char *key)
{
  gint32 v = -12345;
  g_assert_true (g_variant_lookup (result, key, "i", &v));
  return v;
}

gboolean
exec_result_bool (GVariant *result, const char *key)
{
  gboolean v = FALSE;
  g_assert_true (g_variant_lookup (result, key, "b", &v));
  return v;
}

guint64
exec_result_u64 (GVariant *result, const char *key)
{
  guint64 v = 0;
  g_assert_true (g_variant_lookup (result, key, "t", &v));
  return v;
}
