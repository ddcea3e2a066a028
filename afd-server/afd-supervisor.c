/* afd-supervisor.c — see afd-supervisor.h.
 *
 * Lifetime: one reference is the owner's (dropped by afd_helpers_stop or a
 * failed start); every outstanding child wait and D-Bus call holds one
 * more, so callbacks never see freed state. Everything runs on the main
 * context that started the helpers. */
#include "afd-supervisor.h"

#include "af-dbus-peer.h"
#include "af-error.h"
#include "af-log.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/un.h>
#include <sys/mount.h>
#include <unistd.h>

#define FUSE_PATH "/org/agentfense/Fuse1"
#define FUSE_IFACE "org.agentfense.Fuse1"
#define EXEC_PATH "/org/agentfense/Exec1"
#define EXEC_IFACE "org.agentfense.Exec1"
#define STOP_GRACE_MS 10000
#define PROBE_MAX_MS 50
/* One readiness probe waits this long before it is sent again (see
 * on_probe_reply); building a docker sandbox takes longer, which only means
 * a few probes more. */
#define PROBE_CALL_TIMEOUT_MS 1000
#define TEARDOWN_GRACE_MS 3000

struct _AfdHelpers {
  gint refs;
  char *sb_id, *mountpoint, *fuse_log, *exec_log;
  GSubprocess *fuse, *exec;
  /* af-exec binds the mount point into its sandbox when it starts, so it
   * is spawned only once af-fuse says the mount is up (else it would bind
   * the empty directory beneath — an fusermount3 mount takes long enough
   * for that to happen). */
  GPtrArray *exec_argv;
  int fuse_pid, exec_pid;
  gboolean fuse_exited, exec_exited;
  AfDBusPeerServer *fuse_srv, *exec_srv;
  GDBusConnection *fuse_conn, *exec_conn;
  gboolean fuse_ready, exec_ready;
  GInputStream *ready_stream;
  GCancellable *cancellable; /* outstanding reads and probes */
  guint probe_source, probe_ms, start_timeout, kill_timeout;
  /* Phase: starting (start_task set), running, tearing down, stopping. */
  GTask *start_task;
  GError *start_error;
  gboolean started, tearing_down, stopping;
  AfdHelpersDiedFunc died;
  gpointer died_data;
  GCallback stop_cb;
  gpointer stop_data;
};

static AfdHelpers *
helpers_ref (AfdHelpers *h)
{
  g_atomic_int_inc (&h->refs);
  return h;
}

static void
helpers_unref (AfdHelpers *h)
{
  if (!g_atomic_int_dec_and_test (&h->refs))
    return;
  g_clear_pointer (&h->fuse_srv, af_dbus_peer_server_free);
  g_clear_pointer (&h->exec_srv, af_dbus_peer_server_free);
  g_clear_object (&h->fuse_conn);
  g_clear_object (&h->exec_conn);
  g_clear_object (&h->fuse);
  g_clear_object (&h->exec);
  g_clear_pointer (&h->exec_argv, g_ptr_array_unref);
  g_clear_object (&h->ready_stream);
  g_clear_object (&h->cancellable);
  g_clear_error (&h->start_error);
  g_free (h->sb_id);
  g_free (h->mountpoint);
  g_free (h->fuse_log);
  g_free (h->exec_log);
  g_free (h);
}

gboolean
afd_is_mounted (const char *path)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/mountinfo", &text, NULL, NULL))
    return FALSE;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    g_auto (GStrv) f = g_strsplit (*l, " ", 6);
    if (g_strv_length (f) >= 5) {
      /* Field 5 is the mount point, with octal escapes for blanks. */
      g_autofree char *mp = g_strcompress (f[4]);
      if (g_strcmp0 (mp, path) == 0)
        return TRUE;
    }
  }
  return FALSE;
}

void
afd_force_unmount (const char *path)
{
  if (!afd_is_mounted (path))
    return;
  if (geteuid () == 0 && umount2 (path, MNT_DETACH) == 0)
    return;
  const char *argv[] = { "fusermount3", "-u", "-z", path, NULL };
  g_spawn_sync (NULL, (char **)argv, NULL,
                G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                NULL, NULL, NULL, NULL, NULL);
}

/* The last line a helper wrote to its log: the reason it gives. */
static char *
log_tail (const char *path)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, NULL) || len == 0)
    return g_strdup ("");
  g_strstrip (text);
  const char *nl = strrchr (text, '\n');
  const char *last = nl ? nl + 1 : text;
  return g_strndup (last, MIN (strlen (last), 400));
}

static char *
exit_reason (AfdHelpers *h, gboolean fuse)
{
  GSubprocess *p = fuse ? h->fuse : h->exec;
  g_autofree char *tail = log_tail (fuse ? h->fuse_log : h->exec_log);
  g_autofree char *how =
      g_subprocess_get_if_signaled (p)
          ? g_strdup_printf ("was killed by signal %d", g_subprocess_get_term_sig (p))
          : g_strdup_printf ("exited with status %d", g_subprocess_get_exit_status (p));
  return g_strdup_printf ("%s %s%s%s", fuse ? "af-fuse" : "af-exec", how, *tail ? ": " : "", tail);
}

static void teardown (AfdHelpers *h);

static void
maybe_finished (AfdHelpers *h)
{
  if (!(h->fuse_exited && h->exec_exited))
    return;
  /* A killed af-fuse leaves its mount behind ("transport endpoint is not
   * connected"): take it away so nothing is left with no owner. */
  afd_force_unmount (h->mountpoint);
  g_clear_handle_id (&h->kill_timeout, g_source_remove);
  if (h->start_task) {
    GTask *task = g_steal_pointer (&h->start_task);
    g_task_return_error (task, g_steal_pointer (&h->start_error));
    g_object_unref (task);
    helpers_unref (h); /* the owner's reference: the start failed */
  } else if (h->stop_cb) {
    GCallback cb = h->stop_cb;
    h->stop_cb = NULL;
    ((void (*) (gpointer))cb) (h->stop_data);
  }
}

static void
on_child_exit (GObject *source, GAsyncResult *res, gpointer data)
{
  AfdHelpers *h = data;
  gboolean fuse = G_SUBPROCESS (source) == h->fuse;
  g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL);
  if (fuse)
    h->fuse_exited = TRUE;
  else
    h->exec_exited = TRUE;
  if (!h->tearing_down && !h->stopping) {
    g_autofree char *reason = exit_reason (h, fuse);
    if (h->start_task) {
      g_set_error (&h->start_error, AF_ERROR, AF_ERROR_INTERNAL, "%s", reason);
    } else if (h->started && h->died) {
      af_sb_warning (h->sb_id, "%s", reason);
      h->died (h, reason, h->died_data);
    }
    teardown (h);
  }
  maybe_finished (h);
  helpers_unref (h);
}

static gboolean
on_kill_timeout (gpointer data)
{
  AfdHelpers *h = data;
  h->kill_timeout = 0;
  if (!h->fuse_exited)
    g_subprocess_force_exit (h->fuse);
  if (!h->exec_exited)
    g_subprocess_force_exit (h->exec);
  return G_SOURCE_REMOVE;
}

/* End whatever is left: SIGTERM first (af-exec removes its isolation and
 * cgroups, af-fuse unmounts; a SIGKILLed af-exec leaves cgroups behind that
 * the next start of the same sandbox trips over), SIGKILL after a grace. */
static void
teardown (AfdHelpers *h)
{
  if (h->tearing_down)
    return;
  h->tearing_down = TRUE;
  g_cancellable_cancel (h->cancellable);
  g_clear_handle_id (&h->probe_source, g_source_remove);
  g_clear_handle_id (&h->start_timeout, g_source_remove);
  if (h->exec && !h->exec_exited)
    g_subprocess_send_signal (h->exec, SIGTERM);
  if (h->fuse && !h->fuse_exited)
    g_subprocess_send_signal (h->fuse, SIGTERM);
  if (h->kill_timeout == 0 && !(h->fuse_exited && h->exec_exited))
    h->kill_timeout = g_timeout_add (TEARDOWN_GRACE_MS, on_kill_timeout, h);
}

static void
fail_start (AfdHelpers *h, GError *error)
{
  if (h->start_error == NULL)
    h->start_error = error;
  else
    g_error_free (error);
  teardown (h);
  maybe_finished (h);
}

static void
check_ready (AfdHelpers *h)
{
  if (!h->start_task || !h->fuse_ready || !h->exec_ready || h->fuse_conn == NULL)
    return;
  g_clear_handle_id (&h->start_timeout, g_source_remove);
  /* The sockets are for one connection each: nobody else may attach. */
  g_clear_pointer (&h->fuse_srv, af_dbus_peer_server_free);
  g_clear_pointer (&h->exec_srv, af_dbus_peer_server_free);
  h->started = TRUE;
  GTask *task = g_steal_pointer (&h->start_task);
  g_task_return_pointer (task, h, NULL);
  g_object_unref (task);
}

static void probe_exec (AfdHelpers *h);

static gboolean
on_probe_again (gpointer data)
{
  AfdHelpers *h = data;
  h->probe_source = 0;
  probe_exec (h);
  return G_SOURCE_REMOVE;
}

static void
on_probe_reply (GObject *source, GAsyncResult *res, gpointer data)
{
  AfdHelpers *h = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) v = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  if (h->start_task && !h->tearing_down) {
    if (v != NULL) {
      h->exec_ready = TRUE;
      check_ready (h);
    } else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
      /* GLib 2.74 drops a call that reaches a peer connection before the
       * peer has finished initialising it (check_unclosed assertion), and
       * the call is never answered: ask again rather than wait forever. */
      probe_exec (h);
    } else if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD) ||
               g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT) ||
               g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_INTERFACE)) {
      /* af-exec connects first and exports its object once the isolation
       * is built; Exec1 has no ready signal, so ask again, backing off. */
      h->probe_ms = MIN (MAX (h->probe_ms * 2, 1), PROBE_MAX_MS);
      h->probe_source = g_timeout_add (h->probe_ms, on_probe_again, h);
    } else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      fail_start (h, g_error_new (AF_ERROR, AF_ERROR_INTERNAL, "af-exec did not answer: %s",
                                  error->message));
    }
  }
  helpers_unref (h);
}

static void
probe_exec (AfdHelpers *h)
{
  g_dbus_connection_call (h->exec_conn, NULL, EXEC_PATH, EXEC_IFACE, "GetStats", NULL, NULL,
                          G_DBUS_CALL_FLAGS_NONE, PROBE_CALL_TIMEOUT_MS, h->cancellable,
                          on_probe_reply, helpers_ref (h));
}

static void
on_fuse_connected (AfDBusPeerServer *server, GDBusConnection *conn, gpointer data)
{
  AfdHelpers *h = data;
  if (h->fuse_conn != NULL || h->tearing_down)
    return;
  h->fuse_conn = g_object_ref (conn);
  check_ready (h);
}

static void
on_exec_connected (AfDBusPeerServer *server, GDBusConnection *conn, gpointer data)
{
  AfdHelpers *h = data;
  if (h->exec_conn != NULL || h->tearing_down)
    return;
  h->exec_conn = g_object_ref (conn);
  probe_exec (h);
}

static GSubprocess *spawn (const char *log, int ready_fd, GPtrArray *argv, GError **error);

static void
spawn_exec (AfdHelpers *h)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) argv = g_steal_pointer (&h->exec_argv);
  if (argv == NULL)
    return;
  h->exec = spawn (h->exec_log, -1, argv, &error);
  if (h->exec == NULL) {
    fail_start (h, af_error_normalize (error));
    return;
  }
  h->exec_exited = FALSE;
  h->exec_pid = atoi (g_subprocess_get_identifier (h->exec));
  g_subprocess_wait_async (h->exec, NULL, on_child_exit, helpers_ref (h));
}

static void
on_ready_read (GObject *source, GAsyncResult *res, gpointer data)
{
  AfdHelpers *h = data;
  g_autoptr (GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), res, NULL);
  if (h->start_task && !h->tearing_down) {
    gsize len = 0;
    const char *p = bytes ? g_bytes_get_data (bytes, &len) : NULL;
    if (len >= 5 && memcmp (p, "ready", 5) == 0) {
      h->fuse_ready = TRUE;
      spawn_exec (h);
      check_ready (h);
    }
    /* EOF without "ready": af-fuse failed; its exit says why. */
  }
  helpers_unref (h);
}

static gboolean
on_start_timeout (gpointer data)
{
  AfdHelpers *h = data;
  h->start_timeout = 0;
  g_autofree char *tail = log_tail (h->exec_log);
  fail_start (
      h, g_error_new (AF_ERROR, AF_ERROR_DEADLINE_EXCEEDED,
                      "the sandbox did not become ready in time (mount %s, isolation %s%s)%s%s",
                      h->fuse_ready ? "ready" : "not ready", h->exec_ready ? "ready" : "not ready",
                      h->exec_conn ? ", af-exec connected" : ", af-exec not connected",
                      *tail ? ": " : "", tail));
  return G_SOURCE_REMOVE;
}

static GSubprocess *
spawn (const char *log, int ready_fd, GPtrArray *argv, GError **error)
{
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_stderr_file_path (l, log);
  if (ready_fd >= 0)
    g_subprocess_launcher_take_fd (l, ready_fd, 3);
  g_ptr_array_add (argv, NULL);
  return g_subprocess_launcher_spawnv (l, (const char *const *)argv->pdata, error);
}

static void
add_limit (GPtrArray *argv, const char *flag, gint64 value)
{
  if (value > 0)
    g_ptr_array_add (argv, g_strdup_printf ("--%s=%" G_GINT64_FORMAT, flag, value));
}

static gboolean
start_processes (AfdHelpers *h, const AfdHelpersSpec *spec, GError **error)
{
  g_autofree char *rules = g_build_filename (spec->sandbox_dir, "rules.json", NULL);
  g_autofree char *fsock = g_build_filename (spec->sandbox_dir, "fuse.sock", NULL);
  g_autofree char *esock = g_build_filename (spec->sandbox_dir, "exec.sock", NULL);
  if (g_mkdir_with_parents (spec->sandbox_dir, 0700) < 0 ||
      g_mkdir_with_parents (spec->mountpoint, 0755) < 0 ||
      g_mkdir_with_parents (spec->delta_dir, 0700) < 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot create the sandbox directories: %s",
                 g_strerror (errno));
    return FALSE;
  }
  if (!g_file_set_contents (rules, spec->rules_json, -1, error))
    return FALSE;
  /* sun_path holds 107 bytes; a longer path would be cut silently (a deep
   * home directory under a rootless server can get there). */
  if (strlen (fsock) >= sizeof ((struct sockaddr_un *)NULL)->sun_path) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "the helper socket path %s is longer than a unix socket allows; "
                 "use a shorter --state-dir",
                 fsock);
    return FALSE;
  }
  g_unlink (fsock);
  g_unlink (esock);
  h->fuse_srv = af_dbus_peer_server_new (fsock, on_fuse_connected, h, error);
  if (h->fuse_srv == NULL)
    return FALSE;
  h->exec_srv = af_dbus_peer_server_new (esock, on_exec_connected, h, error);
  if (h->exec_srv == NULL)
    return FALSE;

  int pipefd[2];
  if (!g_unix_open_pipe (pipefd, FD_CLOEXEC, error))
    return FALSE;
  g_autoptr (GPtrArray) fargv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (fargv, g_strdup (spec->fuse_path));
  g_ptr_array_add (fargv, g_strdup_printf ("--source=%s", spec->source_dir));
  g_ptr_array_add (fargv, g_strdup_printf ("--mountpoint=%s", spec->mountpoint));
  g_ptr_array_add (fargv, g_strdup_printf ("--rules=%s", rules));
  g_ptr_array_add (fargv, g_strdup_printf ("--delta=%s", spec->delta_dir));
  g_ptr_array_add (fargv,
                   g_strdup_printf ("--conflict=%s", spec->conflict_reject ? "reject" : "lww"));
  g_ptr_array_add (fargv, g_strdup ("--foreground"));
  g_ptr_array_add (
      fargv, g_strdup_printf ("--dbus-address=%s", af_dbus_peer_server_get_address (h->fuse_srv)));
  g_ptr_array_add (fargv, g_strdup ("--ready-fd=3"));
  g_ptr_array_add (fargv, g_strdup_printf ("--sandbox-id=%s", spec->sandbox_id));
  h->fuse = spawn (h->fuse_log, pipefd[1], fargv, error);
  if (h->fuse == NULL) {
    close (pipefd[0]);
    return FALSE;
  }
  h->fuse_pid = atoi (g_subprocess_get_identifier (h->fuse));
  h->ready_stream = g_unix_input_stream_new (pipefd[0], TRUE);
  g_input_stream_read_bytes_async (h->ready_stream, 16, G_PRIORITY_DEFAULT, h->cancellable,
                                   on_ready_read, helpers_ref (h));
  g_subprocess_wait_async (h->fuse, NULL, on_child_exit, helpers_ref (h));

  g_autoptr (GPtrArray) eargv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (eargv, g_strdup (spec->exec_path));
  g_ptr_array_add (eargv, g_strdup ("--serve"));
  g_ptr_array_add (
      eargv, g_strdup_printf ("--dbus-address=%s", af_dbus_peer_server_get_address (h->exec_srv)));
  g_ptr_array_add (eargv, g_strdup_printf ("--workspace=%s", spec->mountpoint));
  g_ptr_array_add (eargv, g_strdup_printf ("--sandbox-id=%s", spec->sandbox_id));
  g_ptr_array_add (eargv, g_strdup_printf ("--runtime=%s", spec->docker ? "docker" : "bwrap"));
  if (spec->image && spec->image[0])
    g_ptr_array_add (eargv, g_strdup_printf ("--image=%s", spec->image));
  add_limit (eargv, "memory", spec->memory_bytes);
  add_limit (eargv, "cpu-quota", spec->cpu_quota);
  add_limit (eargv, "cpu-shares", spec->cpu_shares);
  add_limit (eargv, "pids", spec->pids_limit);
  g_ptr_array_add (eargv, g_strdup ("--log-level=warning"));
  /* Spawned by spawn_exec once the mount is up; until then there is no
   * af-exec to wait for. */
  h->exec_argv = g_steal_pointer (&eargv);
  h->exec_exited = TRUE;
  return TRUE;
}

void
afd_helpers_start_async (const AfdHelpersSpec *spec, AfdHelpersDiedFunc died, gpointer died_data,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  AfdHelpers *h = g_new0 (AfdHelpers, 1);
  h->refs = 1;
  h->sb_id = g_strdup (spec->sandbox_id);
  h->mountpoint = g_strdup (spec->mountpoint);
  h->fuse_log = g_build_filename (spec->sandbox_dir, "af-fuse.log", NULL);
  h->exec_log = g_build_filename (spec->sandbox_dir, "af-exec.log", NULL);
  h->cancellable = g_cancellable_new ();
  h->died = died;
  h->died_data = died_data;
  h->start_task = g_task_new (NULL, NULL, callback, user_data);
  g_autoptr (GError) error = NULL;
  if (!start_processes (h, spec, &error)) {
    /* Whatever did start is killed and waited for before the error. */
    h->fuse_exited = h->fuse == NULL;
    h->exec_exited = TRUE;
    fail_start (h, af_error_normalize (error));
    return;
  }
  h->start_timeout = g_timeout_add (spec->timeout_ms, on_start_timeout, h);
}

AfdHelpers *
afd_helpers_start_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

GDBusConnection *
afd_helpers_get_fuse (AfdHelpers *h)
{
  return h->fuse_conn;
}

GDBusConnection *
afd_helpers_get_exec (AfdHelpers *h)
{
  return h->exec_conn;
}

int
afd_helpers_get_fuse_pid (AfdHelpers *h)
{
  return h->fuse_pid;
}

int
afd_helpers_get_exec_pid (AfdHelpers *h)
{
  return h->exec_pid;
}

static void
on_fuse_shutdown (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GVariant) v = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, NULL);
  helpers_unref (data);
}

static void
on_exec_stopped (GObject *source, GAsyncResult *res, gpointer data)
{
  AfdHelpers *h = data;
  g_autoptr (GVariant) v = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, NULL);
  /* The isolation is gone: nothing holds the mount any more. */
  if (!h->fuse_exited && h->fuse_conn != NULL)
    g_dbus_connection_call (h->fuse_conn, NULL, FUSE_PATH, FUSE_IFACE, "Shutdown", NULL, NULL,
                            G_DBUS_CALL_FLAGS_NONE, STOP_GRACE_MS, NULL, on_fuse_shutdown,
                            helpers_ref (h));
  helpers_unref (h);
}

void
afd_helpers_stop (AfdHelpers *h, GCallback callback, gpointer user_data)
{
  h->stopping = TRUE;
  h->stop_cb = callback;
  h->stop_data = user_data;
  if (h->kill_timeout == 0)
    h->kill_timeout = g_timeout_add (STOP_GRACE_MS, on_kill_timeout, h);
  if (!h->exec_exited && h->exec_conn != NULL && !h->tearing_down)
    g_dbus_connection_call (h->exec_conn, NULL, EXEC_PATH, EXEC_IFACE, "Stop", NULL, NULL,
                            G_DBUS_CALL_FLAGS_NONE, STOP_GRACE_MS, NULL, on_exec_stopped,
                            helpers_ref (h));
  else
    teardown (h);
  maybe_finished (h);
  helpers_unref (h);
}
