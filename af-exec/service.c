/* service.c — supervisor mode: org.agentfense.Exec1 on a peer-to-peer
 * D-Bus connection, for the life of one sandbox.
 *
 * Owns: decoding requests (a{sv}, fds from the message's fd list), the
 * bounds on what a caller may ask for (concurrent commands, sessions,
 * sizes), completing each call when its command ends, and an orderly end
 * (Stop, or the peer going away): every process killed, then the sandbox
 * torn down. Must never: put command output into a message, or keep a
 * caller's fd after its command is done. */
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>
#include <glib-unix.h>

#include "af-error.h"
#include "af-exec-dbus.h"
#include "af-ids.h"
#include "af-log.h"
#include "af-fd-watch.h"
#include "options.h"
#include "sandbox.h"
#include "service-private.h"
#include "session.h"

#define EXEC1_PATH "/org/agentfense/Exec1"
#define EXEC1_VERSION 1
#define MAX_RUNNING 256
#define IDLE_TRIM_SECS 2
#define LATE_CLOSE_MS 20

void
service_call_free (Call *c)
{
  for (int i = 0; i < 3; i++)
    if (c->fds[i] >= 0)
      close (c->fds[i]);
  g_clear_pointer (&c->lifeline_watch, af_fd_watch_remove);
  if (c->lifeline >= 0)
    close (c->lifeline);
  g_free (c->session_id);
  g_strfreev (c->argv);
  g_strfreev (c->env);
  g_free (c);
}

Call *
service_call_new (Service *svc)
{
  Call *c = g_new0 (Call, 1);
  c->svc = svc;
  c->fds[0] = c->fds[1] = c->fds[2] = c->lifeline = -1;
  return c;
}

GVariant *
service_result_to_variant (const AfExecResult *r, gboolean session, gboolean restarted)
{
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "exit_code", g_variant_new_int32 (r->exit_code));
  g_variant_builder_add (&b, "{sv}", "signal", g_variant_new_int32 (r->term_signal));
  g_variant_builder_add (&b, "{sv}", "timed_out", g_variant_new_boolean (r->timed_out));
  g_variant_builder_add (&b, "{sv}", "oom_killed", g_variant_new_boolean (r->oom_killed));
  g_variant_builder_add (&b, "{sv}", "stdout_bytes",
                         g_variant_new_uint64 ((guint64)r->stdout_bytes));
  g_variant_builder_add (&b, "{sv}", "stderr_bytes",
                         g_variant_new_uint64 ((guint64)r->stderr_bytes));
  g_variant_builder_add (&b, "{sv}", "stdout_truncated",
                         g_variant_new_boolean (r->stdout_truncated));
  g_variant_builder_add (&b, "{sv}", "stderr_truncated",
                         g_variant_new_boolean (r->stderr_truncated));
  g_variant_builder_add (&b, "{sv}", "duration_us", g_variant_new_uint64 ((guint64)r->duration_us));
  if (session)
    g_variant_builder_add (&b, "{sv}", "session_restarted", g_variant_new_boolean (restarted));
  return g_variant_builder_end (&b);
}

/* An idle sandbox's supervisor stays resident for the sandbox's life:
 * give the heap pages freed by the start (the seccomp compile, bwrap's
 * arguments) and by a burst of commands back to the kernel. Once per
 * idle period, never while a command runs. */
static gboolean
on_idle_trim (gpointer data)
{
  Service *svc = data;
  svc->trim = 0;
  if (svc->n_running == 0)
    malloc_trim (0);
  return G_SOURCE_REMOVE;
}

static void
maybe_finish_stop (Service *svc)
{
  if (svc->stopping && svc->n_running == 0 && !af_sandbox_is_alive (svc->sb))
    g_main_loop_quit (svc->loop);
}

static void begin_stop (Service *svc);

static gboolean
on_sandbox_died (gpointer data)
{
  Service *svc = data;
  if (!svc->stopping) {
    /* Nothing can run any more: end, so the owner sees the failure. */
    af_sb_warning (svc->sb_id, "the sandbox died: %s", af_sandbox_death_reason (svc->sb));
    begin_stop (svc);
  }
  maybe_finish_stop (svc);
  return G_SOURCE_REMOVE;
}

void
service_close_late_fds (Service *svc)
{
  g_clear_handle_id (&svc->late_timer, g_source_remove);
  for (guint i = 0; i < svc->late_fds->len; i++)
    close (g_array_index (svc->late_fds, int, i));
  g_array_set_size (svc->late_fds, 0);
}

static gboolean
on_late_close (gpointer data)
{
  Service *svc = data;
  svc->late_timer = 0;
  service_close_late_fds (svc);
  return G_SOURCE_REMOVE;
}

void
service_complete (Call *c, GVariant *result, const GError *error)
{
  Service *svc = c->svc;

  if (c->invocation) {
    if (error)
      g_dbus_method_invocation_return_gerror (c->invocation, error);
    else
      g_dbus_method_invocation_return_value (c->invocation, g_variant_new ("(@a{sv})", result));
    c->invocation = NULL;
  } else {
    g_autoptr (GError) e = error ? af_error_normalize (error) : NULL;
    g_autoptr (GVariant) empty = NULL;
    if (result == NULL)
      result = empty = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
    af_exec1_emit_exec_finished (svc->skeleton, c->stream_id, result,
                                 e ? af_error_code_dbus_name (e->code) : "", e ? e->message : "");
  }
  svc->n_running--;
  /* All output was forwarded before this answer, so a caller needs no
   * end-of-file on its pipes (afd-server takes the answer as the end).
   * Closing them now would hang them up before the answer has left (the
   * D-Bus worker thread sends it) and wake the caller twice; a moment
   * later — at the next request, or LATE_CLOSE_MS on — the caller has
   * the answer and no longer watches them. */
  for (int i = 1; i < 3; i++) {
    if (c->fds[i] >= 0)
      g_array_append_val (svc->late_fds, c->fds[i]);
    c->fds[i] = -1;
  }
  if (svc->late_fds->len > 0 && svc->late_timer == 0)
    svc->late_timer = g_timeout_add (LATE_CLOSE_MS, on_late_close, svc);
  service_call_free (c);
  if (svc->n_running == 0 && svc->trim == 0 && !svc->stopping)
    svc->trim = g_timeout_add_seconds (IDLE_TRIM_SECS, on_idle_trim, svc);
  maybe_finish_stop (svc);
}

static void
on_exec_done (gpointer data, const AfExecResult *r, const GError *error)
{
  Call *c = data;
  if (r)
    af_sb_debug (c->svc->sb_id, "exec done: exit %d in %" G_GINT64_FORMAT " us", r->exit_code,
                 r->duration_us);
  service_complete (c, r ? service_result_to_variant (r, FALSE, FALSE) : NULL, error);
}

void
service_fd_set_init (FdSet *set, GUnixFDList *list)
{
  set->n = 0;
  set->fds = list ? g_unix_fd_list_steal_fds (list, &set->n) : NULL;
  set->used = g_new0 (gboolean, MAX (set->n, 1));
}

void
service_fd_set_clear (FdSet *set)
{
  for (int i = 0; i < set->n; i++)
    if (!set->used[i])
      close (set->fds[i]);
  g_free (set->fds);
  g_free (set->used);
}

static int
fd_set_take (FdSet *set, gint32 h, const char *what, GError **error)
{
  int fd;
  if (h < 0 || h >= set->n) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "%s handle %d is not attached", what,
                 h);
    return -1;
  }
  if (!set->used[h]) {
    set->used[h] = TRUE;
    return set->fds[h];
  }
  fd = fcntl (set->fds[h], F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "dup: %s", g_strerror (errno));
  return fd;
}

/* Take fds [stdin, stdout, stderr] (indices in the message's list). */
gboolean
service_take_fds (FdSet *set, const gint32 *handles, int n, Call *c, GError **error)
{
  for (int i = 0; i < n; i++) {
    c->fds[i] = fd_set_take (set, handles[i], "fd", error);
    if (c->fds[i] < 0)
      return FALSE;
  }
  return TRUE;
}

/* The optional "lifeline" of a request: the read end of a pipe the caller
 * keeps the write end of, so a caller that goes away (its call cancelled,
 * or the process gone) is seen at once and its command killed. */
gboolean
service_take_lifeline (GVariant *request, FdSet *set, Call *c, GError **error)
{
  gint32 h;
  if (!g_variant_lookup (request, "lifeline", "h", &h))
    return TRUE;
  c->lifeline = fd_set_take (set, h, "lifeline fd", error);
  return c->lifeline >= 0;
}

gboolean
service_check_capacity (Service *svc, GError **error)
{
  if (svc->stopping || !af_sandbox_is_alive (svc->sb)) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "the sandbox is not running");
    return FALSE;
  }
  if (svc->n_running >= MAX_RUNNING) {
    g_set_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED,
                 "%d commands are already running in this sandbox", MAX_RUNNING);
    return FALSE;
  }
  return TRUE;
}

char **
service_env_from_variant (GVariant *dict)
{
  g_autoptr (GVariant) env = g_variant_lookup_value (dict, "env", G_VARIANT_TYPE ("a{ss}"));
  GPtrArray *out = g_ptr_array_new ();
  GVariantIter it;
  const char *k, *v;

  if (env) {
    g_variant_iter_init (&it, env);
    while (g_variant_iter_next (&it, "{&s&s}", &k, &v))
      g_ptr_array_add (out, g_strdup_printf ("%s=%s", k, v));
  }
  g_ptr_array_add (out, NULL);
  return (char **)g_ptr_array_free (out, FALSE);
}

gint64
service_lookup_u64 (GVariant *dict, const char *key, gint64 dflt)
{
  guint64 v;
  if (g_variant_lookup (dict, key, "t", &v) && v > 0)
    return (gint64)MIN (v, (guint64)G_MAXINT64);
  return dflt;
}

static gboolean
start_exec (Service *svc, GVariant *request, FdSet *fds, const gint32 *handles, Call *c,
            GError **error)
{
  AfExecRequest req = { 0 };
  const char *command = NULL, *workdir = NULL;
  g_autofree const char **argv = NULL;

  if (!service_check_capacity (svc, error) || !service_take_fds (fds, handles, 3, c, error) ||
      !service_take_lifeline (request, fds, c, error))
    return FALSE;
  if (g_variant_lookup (request, "argv", "^as", &c->argv) && c->argv[0] == NULL)
    g_clear_pointer (&c->argv, g_strfreev);
  if (c->argv == NULL) {
    if (!g_variant_lookup (request, "command", "&s", &command) || command[0] == '\0') {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "command is required");
      return FALSE;
    }
    if (strlen (command) > 128 * 1024) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                   "command is longer than 131072 bytes");
      return FALSE;
    }
    c->argv = af_exec_shell_argv (command);
    req.shell_semantics = TRUE;
  }
  g_variant_lookup (request, "workdir", "&s", &workdir);
  c->env = service_env_from_variant (request);
  req.argv = (const char *const *)c->argv;
  req.env = (const char *const *)c->env;
  req.cwd = workdir;
  req.timeout_ms = service_lookup_u64 (request, "timeout_ms",
                                       af_config_get_int (svc->config, "exec", "timeout"));
  req.output_cap = service_lookup_u64 (request, "output_limit",
                                       af_config_get_int (svc->config, "exec", "output_limit"));
  req.stdin_fd = c->fds[0];
  req.stdout_fd = c->fds[1];
  req.stderr_fd = c->fds[2];
  req.lifeline_fd = MAX (c->lifeline, 0);
  if (!af_sandbox_exec (svc->sb, &req, on_exec_done, c, error))
    return FALSE;
  svc->n_running++;
  svc->n_run++;
  return TRUE;
}

/* Exec answers at the command's end; ExecStream answers now with a stream
 * id and signals ExecFinished at the end. */
static void
begin_exec (Service *svc, GDBusMethodInvocation *inv, GUnixFDList *fds, GVariant *request,
            const gint32 *handles, gboolean streaming)
{
  Call *c = service_call_new (svc);
  g_autoptr (GError) error = NULL;
  guint64 stream_id = streaming ? ++svc->next_stream_id : 0;
  FdSet set;
  gboolean ok;

  service_close_late_fds (svc);
  c->stream_id = stream_id;
  c->invocation = streaming ? NULL : inv;
  service_fd_set_init (&set, fds);
  ok = start_exec (svc, request, &set, handles, c, &error);
  service_fd_set_clear (&set);
  if (!ok) {
    g_dbus_method_invocation_return_gerror (inv, error);
    service_call_free (c);
  } else if (streaming) {
    af_exec1_complete_exec_stream (svc->skeleton, inv, NULL, stream_id);
  }
}

static gboolean
handle_exec (AfExec1 *obj, GDBusMethodInvocation *inv, GUnixFDList *fds, GVariant *request,
             GVariant *in, GVariant *out, GVariant *err, gpointer data)
{
  gint32 handles[3] = { g_variant_get_handle (in), g_variant_get_handle (out),
                        g_variant_get_handle (err) };
  begin_exec (data, inv, fds, request, handles, FALSE);
  return TRUE;
}

static gboolean
handle_exec_stream (AfExec1 *obj, GDBusMethodInvocation *inv, GUnixFDList *fds, GVariant *request,
                    GVariant *in, GVariant *out, GVariant *err, gpointer data)
{
  gint32 handles[3] = { g_variant_get_handle (in), g_variant_get_handle (out),
                        g_variant_get_handle (err) };
  begin_exec (data, inv, fds, request, handles, TRUE);
  return TRUE;
}

static gboolean
handle_get_stats (AfExec1 *obj, GDBusMethodInvocation *inv, gpointer data)
{
  Service *svc = data;
  GVariantBuilder b;
  gint64 mem, pids, cpu;

  af_cgroup_stats (af_sandbox_get_cgroup (svc->sb), &mem, &pids, &cpu);
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "memory_bytes", g_variant_new_int64 (mem));
  g_variant_builder_add (&b, "{sv}", "pids", g_variant_new_int64 (pids));
  g_variant_builder_add (&b, "{sv}", "cpu_usec", g_variant_new_int64 (cpu));
  g_variant_builder_add (&b, "{sv}", "commands_run", g_variant_new_uint64 (svc->n_run));
  g_variant_builder_add (&b, "{sv}", "commands_running", g_variant_new_uint32 (svc->n_running));
  g_variant_builder_add (&b, "{sv}", "sessions",
                         g_variant_new_uint32 (g_hash_table_size (svc->sessions)));
  af_exec1_complete_get_stats (obj, inv, g_variant_builder_end (&b));
  return TRUE;
}

/* Kill everything; the loop ends when every command has reported. */
static void
begin_stop (Service *svc)
{
  GHashTableIter it;
  gpointer v;

  if (svc->stopping)
    return;
  svc->stopping = TRUE;
  g_hash_table_iter_init (&it, svc->sessions);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    g_hash_table_iter_remove (&it); /* frees the key; the session is ours now */
    af_session_destroy (v);
  }
  af_sandbox_kill (svc->sb);
  maybe_finish_stop (svc);
}

static gboolean
handle_stop (AfExec1 *obj, GDBusMethodInvocation *inv, gpointer data)
{
  Service *svc = data;
  af_exec1_complete_stop (obj, inv);
  begin_stop (svc);
  return TRUE;
}

static void
on_closed (GDBusConnection *conn, gboolean remote_vanished, GError *error, gpointer data)
{
  Service *svc = data;
  af_sb_message (svc->sb_id, "control connection closed; stopping the sandbox");
  begin_stop (svc);
}

/* Watched from the first moment, dispatched only at safe points: a stop
 * asked for while the isolation is being built takes effect once it is
 * built (a bwrap killed half-way leaves its half-made pid 1 waiting
 * forever on a parent that is gone). */
static gboolean
on_term (gpointer data)
{
  Service *svc = data;
  svc->term_requested = TRUE;
  if (svc->loop)
    begin_stop (svc);
  return G_SOURCE_CONTINUE;
}

/* Before anything is attached to the default context but the signal
 * watches: a SIGTERM already here ends the start before it builds. */
static gboolean
term_arrived (Service *svc)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return svc->term_requested;
}

int
af_exec_serve (AfConfig *config, const char *address)
{
  g_autoptr (GError) error = NULL;
  g_auto (AfSandboxConfig) cfg = { 0 };
  g_autofree char *fallback = g_strdup_printf ("sandbox-%d", (int)getpid ());
  g_autofree char *cg_desc = af_cgroup_describe (af_cgroup_detect ());
  const char *id = af_config_get_string (config, "exec", "sandbox_id");
  Service svc = { 0 };
  guint term, intr;
  int rc = 125;

  svc.config = config;
  svc.sb_id = id && id[0] ? id : fallback;
  if (address == NULL || address[0] == '\0') {
    g_printerr ("af-exec: --serve needs --dbus-address\n");
    return 125;
  }
  if (!af_exec_sandbox_config (config, svc.sb_id, &cfg, &error)) {
    g_printerr ("af-exec: %s\n", error->message);
    return 125;
  }
  term = g_unix_signal_add (SIGTERM, on_term, &svc);
  intr = g_unix_signal_add (SIGINT, on_term, &svc);
  /* bwrap binds the workspace as it is when the isolation is built: a
   * mount that arrives later is not seen inside. The owner starts us
   * alongside the mount and closes this fd once the mount is there. */
  int wait_fd = (int)af_config_get_int (config, "exec", "wait_fd");
  if (wait_fd >= 0) {
    char buf[64];
    ssize_t n;
    while ((n = read (wait_fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
      ;
    close (wait_fd);
  }
  if (term_arrived (&svc)) {
    af_sb_message (svc.sb_id, "stopped before it started");
    rc = 0;
    goto out;
  }
  af_sb_message (svc.sb_id, "starting (%s runtime, host uid %u, cgroups %s)",
                 cfg.kind == AF_RUNTIME_DOCKER ? "docker" : "bwrap", (guint)cfg.host_uid, cg_desc);
  /* The isolation is built while the connection is made (the owner's side
   * of the handshake runs at the same time on the other CPU). */
  svc.sb = af_sandbox_launch (&cfg, &error);
  if (svc.sb == NULL) {
    g_printerr ("af-exec: cannot start the sandbox: %s\n", error->message);
    goto out;
  }
  /* Messages wait until the object is exported (start_message_processing
   * below): the owner's first call is then answered once, when the
   * sandbox is ready — never with "no such object", and never before this
   * side of the connection is fully initialised (GLib drops a reply sent
   * from the worker thread before that). */
  svc.conn =
      g_dbus_connection_new_for_address_sync (address,
                                              G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                  G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING,
                                              NULL, NULL, &error);
  if (svc.conn == NULL) {
    g_printerr ("af-exec: cannot connect to %s: %s\n", address, error->message);
    af_sandbox_free (svc.sb);
    goto out;
  }
  if (!af_sandbox_finish_launch (svc.sb, &error)) {
    g_printerr ("af-exec: cannot start the sandbox: %s\n", error->message);
    af_sandbox_free (svc.sb);
    g_object_unref (svc.conn);
    goto out;
  }
  af_sandbox_set_died_func (svc.sb, on_sandbox_died, &svc);
  svc.sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  svc.late_fds = g_array_new (FALSE, FALSE, sizeof (int));
  svc.loop = g_main_loop_new (NULL, FALSE);
  svc.skeleton = af_exec1_skeleton_new ();
  af_exec1_set_version (svc.skeleton, EXEC1_VERSION);
  af_exec1_set_runtime (
      svc.skeleton, af_sandbox_get_config (svc.sb)->kind == AF_RUNTIME_DOCKER ? "docker" : "bwrap");
  af_exec1_set_cgroup_mode (
      svc.skeleton, af_cgroup_mode_name (af_cgroup_get_mode (af_sandbox_get_cgroup (svc.sb))));
  g_signal_connect (svc.skeleton, "handle-exec", G_CALLBACK (handle_exec), &svc);
  g_signal_connect (svc.skeleton, "handle-exec-stream", G_CALLBACK (handle_exec_stream), &svc);
  service_connect_sessions (&svc);
  g_signal_connect (svc.skeleton, "handle-get-stats", G_CALLBACK (handle_get_stats), &svc);
  g_signal_connect (svc.skeleton, "handle-stop", G_CALLBACK (handle_stop), &svc);
  g_signal_connect (svc.conn, "closed", G_CALLBACK (on_closed), &svc);
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (svc.skeleton), svc.conn,
                                         EXEC1_PATH, &error)) {
    g_printerr ("af-exec: cannot export %s: %s\n", EXEC1_PATH, error->message);
    begin_stop (&svc);
  }
  g_dbus_connection_start_message_processing (svc.conn);
  if (svc.term_requested)
    begin_stop (&svc); /* asked for while the start was under way */

  malloc_trim (0); /* what the start freed */
  if (!svc.stopping || svc.n_running > 0 || af_sandbox_is_alive (svc.sb))
    g_main_loop_run (svc.loop);
  g_clear_handle_id (&svc.trim, g_source_remove);
  service_close_late_fds (&svc);

  g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (svc.skeleton));
  /* Flush the Stop reply and the last signals before the peer sees EOF. */
  g_dbus_connection_flush_sync (svc.conn, NULL, NULL);
  g_object_unref (svc.skeleton);
  g_object_unref (svc.conn);
  af_sandbox_free (svc.sb);
  g_hash_table_unref (svc.sessions);
  g_array_unref (svc.late_fds);
  g_main_loop_unref (svc.loop);
  af_sb_message (svc.sb_id, "stopped");
  rc = 0;
out:
  g_source_remove (term);
  g_source_remove (intr);
  return rc;
}
