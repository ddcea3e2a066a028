/* afd-supervisor.c — see afd-supervisor.h.
 *
 * Lifetime: one reference is the owner's (dropped by afd_helpers_stop or a
 * failed start); every outstanding child wait and D-Bus call holds one
 * more, so callbacks never see freed state. Everything runs on the main
 * context that started the helpers. */
#define _GNU_SOURCE 1 /* posix_spawn_file_actions_addclosefrom_np, environ */
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
#include <spawn.h>
#include <sys/wait.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define FUSE_PATH "/org/agentfense/Fuse1"
#define FUSE_IFACE "org.agentfense.Fuse1"
#define EXEC_PATH "/org/agentfense/Exec1"
#define EXEC_IFACE "org.agentfense.Exec1"
#define STOP_GRACE_MS 10000
#define TEARDOWN_GRACE_MS 3000

struct _AfdHelpers {
  gint refs;
  char *sb_id, *mountpoint, *fuse_log, *exec_log;
  int fuse_pid, exec_pid; /* 0 = never spawned */
  gboolean fuse_exited, exec_exited;
  int fuse_status, exec_status; /* wait status once exited */
  AfDBusPeerServer *fuse_srv, *exec_srv;
  GDBusConnection *fuse_conn, *exec_conn;
  gboolean fuse_ready, exec_ready;
  /* Write end of af-exec's --wait-fd: closed once the mount is there, so
   * the isolation is built over the mount and never over the empty
   * directory beneath it. -1 from the start when the mount point is a
   * shared bind (overlap): the mount then propagates into an isolation
   * built before it. */
  int exec_go;
  gboolean overlap;
  GInputStream *ready_stream;
  GCancellable *cancellable; /* outstanding reads and probes */
  guint start_timeout, kill_timeout;
  guint timeout_ms;                                             /* for the whole start */
  gint64 t_spawn, t_fuse_ready, t_exec_connected, t_exec_ready; /* monotonic µs, for the log */
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
  g_clear_object (&h->ready_stream);
  g_clear_object (&h->cancellable);
  g_clear_error (&h->start_error);
  if (h->exec_go >= 0)
    close (h->exec_go);
  g_free (h->sb_id);
  g_free (h->mountpoint);
  g_free (h->fuse_log);
  g_free (h->exec_log);
  g_free (h);
}

/* @path as mountinfo spells it: blank, tab, newline and backslash as
 * octal escapes. */
static char *
mountinfo_escape (const char *path)
{
  GString *s = g_string_new (NULL);
  for (const char *p = path; *p; p++) {
    if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\\')
      g_string_append_printf (s, "\\%03o", (unsigned char)*p);
    else
      g_string_append_c (s, *p);
  }
  return g_string_free (s, FALSE);
}

gboolean
afd_is_mounted (const char *path)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/mountinfo", &text, NULL, NULL))
    return FALSE;
  /* Most calls ask about a path that is not mounted (each start checks
   * for a leftover): one search before splitting every line. */
  g_autofree char *escaped = mountinfo_escape (path);
  if (strstr (text, escaped) == NULL)
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

/* A root server's mount point holds up to two mounts (af-fuse's over the
 * shared bind, see afd_share_mountpoint): each umount2 takes the top one.
 * Bounded, in case something keeps mounting there. */
#define MAX_STACKED_MOUNTS 4

void
afd_force_unmount (const char *path)
{
  gboolean mounted = afd_is_mounted (path);
  if (geteuid () == 0)
    for (int i = 0; mounted && i < MAX_STACKED_MOUNTS && umount2 (path, MNT_DETACH) == 0; i++)
      mounted = afd_is_mounted (path);
  if (!mounted)
    return;
  const char *argv[] = { "fusermount3", "-u", "-z", path, NULL };
  g_spawn_sync (NULL, (char **)argv, NULL,
                G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                NULL, NULL, NULL, NULL, NULL);
}

/* Whether @path may be a mount point, without reading mountinfo (its
 * text grows with every running sandbox): the mount-root attribute of
 * statx. AT_STATX_DONT_SYNC: a FUSE mount answers from its cache, never
 * asks its daemon. A dead FUSE mount (ENOTCONN) counts as one. */
static gboolean
may_be_mount_point (const char *path)
{
  struct statx stx;
  if (statx (AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC, STATX_TYPE,
             &stx) != 0)
    return errno != ENOENT;
  if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
    return TRUE; /* a kernel that does not say: ask mountinfo */
  return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

gboolean
afd_share_mountpoint (const char *path)
{
  if (geteuid () != 0)
    return FALSE;
  /* A leftover would sit between the bind and the directory. */
  if (may_be_mount_point (path))
    afd_force_unmount (path);
  if (mount (path, path, NULL, MS_BIND, NULL) != 0)
    return FALSE;
  /* Private first: a bind inherits the peer group of its source's mount,
   * and the mount point's events must reach this sandbox's namespace
   * only, never the peers of the file system the state dir is on. */
  if (mount (NULL, path, NULL, MS_PRIVATE, NULL) != 0 ||
      mount (NULL, path, NULL, MS_SHARED, NULL) != 0) {
    umount2 (path, MNT_DETACH);
    return FALSE;
  }
  return TRUE;
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
  int status = fuse ? h->fuse_status : h->exec_status;
  g_autofree char *tail = log_tail (fuse ? h->fuse_log : h->exec_log);
  g_autofree char *how = WIFSIGNALED (status)
                             ? g_strdup_printf ("was killed by signal %d", WTERMSIG (status))
                             : g_strdup_printf ("exited with status %d", WEXITSTATUS (status));
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

/* A helper was reaped: its pid is no longer ours to signal. */
static void
child_exited (AfdHelpers *h, gboolean fuse, int status)
{
  if (fuse) {
    h->fuse_exited = TRUE;
    h->fuse_status = status;
  } else {
    h->exec_exited = TRUE;
    h->exec_status = status;
  }
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

static void
on_fuse_exit (GPid pid, gint status, gpointer data)
{
  child_exited (data, TRUE, status);
}

static void
on_exec_exit (GPid pid, gint status, gpointer data)
{
  child_exited (data, FALSE, status);
}

/* Signal a helper that has not been reaped yet (so the pid is still the
 * helper's: a reaped pid may belong to anyone by now). */
static void
signal_helper (int pid, gboolean exited, int sig)
{
  if (pid > 0 && !exited)
    kill (pid, sig);
}

static gboolean
on_kill_timeout (gpointer data)
{
  AfdHelpers *h = data;
  h->kill_timeout = 0;
  signal_helper (h->fuse_pid, h->fuse_exited, SIGKILL);
  signal_helper (h->exec_pid, h->exec_exited, SIGKILL);
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
  if (h->exec_go >= 0) {
    close (h->exec_go); /* never left waiting on a mount that will not come */
    h->exec_go = -1;
  }
  g_clear_handle_id (&h->start_timeout, g_source_remove);
  signal_helper (h->exec_pid, h->exec_exited, SIGTERM);
  signal_helper (h->fuse_pid, h->fuse_exited, SIGTERM);
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
  af_sb_debug (h->sb_id,
               "started (%s): mount ready after %.1f ms, af-exec connected after %.1f ms and "
               "ready after %.1f ms",
               h->overlap ? "isolation built alongside the mount, shared mount point"
                          : "isolation built after the mount",
               (h->t_fuse_ready - h->t_spawn) / 1000.0, (h->t_exec_connected - h->t_spawn) / 1000.0,
               (h->t_exec_ready - h->t_spawn) / 1000.0);
  /* The sockets are for one connection each: nobody else may attach. */
  g_clear_pointer (&h->fuse_srv, af_dbus_peer_server_free);
  g_clear_pointer (&h->exec_srv, af_dbus_peer_server_free);
  h->started = TRUE;
  GTask *task = g_steal_pointer (&h->start_task);
  g_task_return_pointer (task, h, NULL);
  g_object_unref (task);
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
      h->t_exec_ready = g_get_monotonic_time ();
      check_ready (h);
    } else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      fail_start (h, g_error_new (AF_ERROR, AF_ERROR_INTERNAL, "af-exec did not answer: %s",
                                  error->message));
    }
  }
  helpers_unref (h);
}

/* af-exec connects before it builds the isolation but processes no message
 * until its object is exported (org.agentfense.Exec1.xml): this one call is
 * answered exactly when the sandbox is ready, so there is nothing to poll.
 * The start timeout bounds it. */
static void
probe_exec (AfdHelpers *h)
{
  g_dbus_connection_call (h->exec_conn, NULL, EXEC_PATH, EXEC_IFACE, "GetStats", NULL, NULL,
                          G_DBUS_CALL_FLAGS_NONE, (int)MIN (h->timeout_ms + 1000, G_MAXINT),
                          h->cancellable, on_probe_reply, helpers_ref (h));
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
  h->t_exec_connected = g_get_monotonic_time ();
  probe_exec (h);
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
      h->t_fuse_ready = g_get_monotonic_time ();
      if (h->exec_go >= 0) {
        close (h->exec_go);
        h->exec_go = -1;
      }
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

/* posix_spawn (a vfork-style clone): no copy of this process's page tables
 * and no copy-on-write faults for its threads afterwards, which a fork of
 * a server with grpc threads and a warm heap costs on every start. stdin
 * and stdout are /dev/null, stderr the log (truncated), @fd3 (taken, when
 * >= 0) the child's fd 3, every other fd closed. Returns the pid, or 0. */
static int
spawn (const char *log, int fd3, GPtrArray *argv, GError **error)
{
  g_ptr_array_add (argv, NULL);
  int logfd = open (log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (logfd < 0) {
    int e = errno;
    if (fd3 >= 0)
      close (fd3);
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot open %s: %s", log, g_strerror (e));
    return 0;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none, dfl;
  sigemptyset (&none);
  sigemptyset (&dfl);
  sigaddset (&dfl, SIGPIPE); /* ignored here; the helpers get the default */
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen (&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, logfd, 2);
  if (fd3 >= 0)
    posix_spawn_file_actions_adddup2 (&fa, fd3, 3);
  posix_spawn_file_actions_addclosefrom_np (&fa, fd3 >= 0 ? 4 : 3);
  posix_spawnattr_init (&attr);
  posix_spawnattr_setsigmask (&attr, &none);
  posix_spawnattr_setsigdefault (&attr, &dfl);
  posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int rc = posix_spawn (&pid, argv->pdata[0], &fa, &attr, (char *const *)argv->pdata, environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&attr);
  close (logfd);
  if (fd3 >= 0)
    close (fd3);
  if (rc != 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot run %s: %s",
                 (const char *)argv->pdata[0], g_strerror (rc));
    return 0;
  }
  return pid;
}

static void
add_limit (GPtrArray *argv, const char *flag, gint64 value)
{
  if (value > 0)
    g_ptr_array_add (argv, g_strdup_printf ("--%s=%" G_GINT64_FORMAT, flag, value));
}

/* af-fuse, with its ready pipe at fd 3. */
static gboolean
spawn_fuse (AfdHelpers *h, const AfdHelpersSpec *spec, const char *rules, GError **error)
{
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
  h->fuse_pid = spawn (h->fuse_log, pipefd[1], fargv, error);
  if (h->fuse_pid == 0) {
    close (pipefd[0]);
    return FALSE;
  }
  h->ready_stream = g_unix_input_stream_new (pipefd[0], TRUE);
  g_input_stream_read_bytes_async (h->ready_stream, 16, G_PRIORITY_DEFAULT, h->cancellable,
                                   on_ready_read, helpers_ref (h));
  g_child_watch_add (h->fuse_pid, on_fuse_exit, helpers_ref (h));
  return TRUE;
}

/* af-exec in supervisor mode; without the shared mount point, with the
 * --wait-fd it reads until the mount is there. */
static gboolean
spawn_exec (AfdHelpers *h, const AfdHelpersSpec *spec, GError **error)
{
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
  /* Without the shared mount point af-exec gets everything ready that
   * does not need the mount and waits on fd 3 for it (see exec_go). */
  int go[2] = { -1, -1 };
  if (!h->overlap) {
    if (!g_unix_open_pipe (go, FD_CLOEXEC, error))
      return FALSE;
    h->exec_go = go[1];
    g_ptr_array_add (eargv, g_strdup ("--wait-fd=3"));
  }
  h->exec_pid = spawn (h->exec_log, go[0], eargv, error);
  if (h->exec_pid == 0)
    return FALSE;
  g_child_watch_add (h->exec_pid, on_exec_exit, helpers_ref (h));
  return TRUE;
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
  /* bwrap binds the mount point as it is when it builds the isolation.
   * As a shared mount of its own, the sandbox's /workspace becomes a slave
   * of it, and af-fuse's mount (and its unmount) reaches the sandbox
   * whenever it comes: bwrap need not wait for the mount. Docker binds
   * with private propagation, and a server that is not root cannot mount:
   * those wait (--wait-fd). */
  h->overlap = !spec->docker && afd_share_mountpoint (spec->mountpoint);
  g_unlink (fsock);
  g_unlink (esock);
  h->fuse_srv = af_dbus_peer_server_new (fsock, on_fuse_connected, h, error);
  if (h->fuse_srv == NULL)
    return FALSE;
  h->exec_srv = af_dbus_peer_server_new (esock, on_exec_connected, h, error);
  if (h->exec_srv == NULL)
    return FALSE;

  /* Both start at once. With the shared mount point, af-exec first: its
   * start and bwrap's are the longer path, the mount has time to spare. */
  if (h->overlap)
    return spawn_exec (h, spec, error) && spawn_fuse (h, spec, rules, error);
  return spawn_fuse (h, spec, rules, error) && spawn_exec (h, spec, error);
}

void
afd_helpers_start_async (const AfdHelpersSpec *spec, AfdHelpersDiedFunc died, gpointer died_data,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  AfdHelpers *h = g_new0 (AfdHelpers, 1);
  h->refs = 1;
  h->exec_go = -1;
  h->sb_id = g_strdup (spec->sandbox_id);
  h->mountpoint = g_strdup (spec->mountpoint);
  h->fuse_log = g_build_filename (spec->sandbox_dir, "af-fuse.log", NULL);
  h->exec_log = g_build_filename (spec->sandbox_dir, "af-exec.log", NULL);
  h->cancellable = g_cancellable_new ();
  h->timeout_ms = spec->timeout_ms;
  h->died = died;
  h->died_data = died_data;
  h->start_task = g_task_new (NULL, NULL, callback, user_data);
  g_autoptr (GError) error = NULL;
  h->t_spawn = g_get_monotonic_time ();
  if (!start_processes (h, spec, &error)) {
    /* Whatever did start is killed and waited for before the error. */
    h->fuse_exited = h->fuse_pid == 0;
    h->exec_exited = h->exec_pid == 0;
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
