/* afd-sandbox-recovery.c — what the server does about sandboxes on its own:
 * recovery at start-up (after a crash or kill -9), expiry, and stopping
 * everything at shutdown.
 *
 * Must never: kill a pid without checking that its command line names the
 * helper and the sandbox (pids are reused), or report RUNNING for a sandbox
 * whose helpers were not started by this process. */
#include "afd-sandboxes-private.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HELPER_EXIT_WAIT_MS 5000

/* The helper @pid if it still runs as @helper for sandbox @id. */
static gboolean
is_our_helper (gint64 pid, const char *helper, const char *id)
{
  if (pid <= 1)
    return FALSE;
  g_autofree char *path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/cmdline", pid);
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, NULL) || len == 0)
    return FALSE;
  g_autofree char *base = g_path_get_basename (text);
  if (g_strcmp0 (base, helper) != 0)
    return FALSE;
  /* The arguments are NUL-separated: look for the id in any of them. */
  for (gsize off = 0; off < len; off += strlen (text + off) + 1)
    if (strstr (text + off, id) != NULL)
      return TRUE;
  return FALSE;
}

static gboolean
wait_pidfd (int pfd, int timeout_ms)
{
  struct pollfd p = { .fd = pfd, .events = POLLIN };
  int r;
  while ((r = poll (&p, 1, timeout_ms)) < 0 && errno == EINTR)
    ;
  return r > 0;
}

/* SIGTERM (af-fuse unmounts, af-exec tears its isolation and cgroups
 * down), then SIGKILL if it does not go; waits on a pidfd, not by polling. */
static void
kill_and_wait (gint64 pid)
{
  int pfd = (int)syscall (SYS_pidfd_open, (pid_t)pid, 0);
  if (pfd < 0)
    return;
  if (kill ((pid_t)pid, SIGTERM) == 0 && !wait_pidfd (pfd, HELPER_EXIT_WAIT_MS) &&
      kill ((pid_t)pid, SIGKILL) == 0)
    wait_pidfd (pfd, HELPER_EXIT_WAIT_MS);
  close (pfd);
}

/* Every mount below <state>/mounts/ (a crash of a whole server leaves
 * them; each belongs to a sandbox whose af-fuse is gone now). */
static void
unmount_stale (AfdSandboxes *self)
{
  g_autofree char *prefix = g_build_filename (self->settings->state_dir, "mounts", "", NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/mountinfo", &text, NULL, NULL))
    return;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    g_auto (GStrv) f = g_strsplit (*l, " ", 6);
    if (g_strv_length (f) < 5)
      continue;
    g_autofree char *mp = g_strcompress (f[4]);
    if (g_str_has_prefix (mp, prefix)) {
      g_message ("unmounting stale sandbox mount %s", mp);
      afd_force_unmount (mp);
    }
  }
}

typedef struct {
  AfdSandboxes *self;
  char *id;
} RestartOp;

typedef struct {
  AfdSandboxes *self;
  char *id;
} Restart;

static void
on_restarted (AfdSandboxRow *row, const GError *error, gpointer data)
{
  Restart *r = data;
  if (error)
    g_warning ("sandbox %s not restarted: %s", r->id, error->message);
  else
    g_message ("sandbox %s restarted", r->id);
  r->self->n_restarting--;
  g_free (r->id);
  g_free (r);
}

guint
afd_sandboxes_restarts_pending (AfdSandboxes *self)
{
  return self->n_restarting;
}

gboolean
afd_sandboxes_recover (AfdSandboxes *self, GError **error)
{
  g_autoptr (GPtrArray) rows = afd_rows_sandbox_list (self->db, NULL, -1, "", G_MAXINT, error);
  if (rows == NULL)
    return FALSE;
  g_autoptr (GPtrArray) restart = g_ptr_array_new_with_free_func (g_free);
  guint n_stopped = 0, n_killed = 0;
  for (guint i = 0; i < rows->len; i++) {
    AfdSandboxRow *r = g_ptr_array_index (rows, i);
    AfdSandbox *sb = afd_sandboxes_find (self, r->id, error);
    if (sb == NULL)
      return FALSE;
    /* Helpers of a previous server: af-exec ends itself when its control
     * connection closes, af-fuse keeps serving the mount. Neither is ours
     * to reattach (their peer sockets died with the server): end them. */
    if (is_our_helper (r->exec_pid, "af-exec", r->id)) {
      kill_and_wait (r->exec_pid);
      n_killed++;
    }
    if (is_our_helper (r->fuse_pid, "af-fuse", r->id)) {
      kill_and_wait (r->fuse_pid);
      n_killed++;
    }
    g_autofree char *mnt = afd_sandbox_dir (self, r->id, "mounts");
    afd_force_unmount (mnt);
    if (r->status != AFD_SB_RUNNING && r->status != AFD_SB_PENDING && r->fuse_pid == 0)
      continue;
    if (r->status == AFD_SB_PENDING && r->fuse_pid == 0 && r->exec_pid == 0)
      continue;
    gboolean was_running = r->status == AFD_SB_RUNNING;
    sb->row->status = AFD_SB_STOPPED;
    sb->row->stopped_us = afd_db_now_us ();
    sb->row->fuse_pid = sb->row->exec_pid = 0;
    if (!afd_sandboxes_save_state (self, sb, "server", "sandbox.recover",
                                   "stopped: the server restarted while it ran", error))
      return FALSE;
    n_stopped++;
    if (was_running && self->settings->recovery_restart)
      g_ptr_array_add (restart, g_strdup (r->id));
  }
  unmount_stale (self);
  if (n_stopped || n_killed)
    g_message ("recovered %u sandboxes that were running (%u leftover helpers ended)", n_stopped,
               n_killed);
  AfdCaller server = { 0 };
  for (guint i = 0; i < restart->len; i++) {
    Restart *r = g_new0 (Restart, 1);
    r->self = self;
    r->id = g_strdup (g_ptr_array_index (restart, i));
    self->n_restarting++;
    afd_sandboxes_start (self, &server, g_ptr_array_index (restart, i), on_restarted, r);
  }
  afd_sandboxes_schedule_expiry (self);
  return TRUE;
}

/* ---- expiry ---- */

static void
on_expired_destroyed (AfdSandboxRow *row, const GError *error, gpointer data)
{
  char *id = data;
  if (error)
    g_warning ("expired sandbox %s not destroyed: %s", id, error->message);
  else
    g_message ("expired sandbox %s destroyed", id);
  g_free (id);
}

static gboolean
on_expiry (gpointer data)
{
  AfdSandboxes *self = data;
  self->expiry_source = 0;
  gint64 now = afd_db_now_us ();
  g_autoptr (GPtrArray) due = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, self->live);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    AfdSandbox *sb = v;
    if (sb->row->expires_us > 0 && sb->row->expires_us <= now && !sb->transition)
      g_ptr_array_add (due, g_strdup (sb->row->id));
  }
  AfdCaller server = { 0 };
  for (guint i = 0; i < due->len; i++) {
    const char *id = g_ptr_array_index (due, i);
    afd_sandboxes_event (self, NULL, "sandbox.expire", id, NULL, "");
    afd_sandboxes_destroy (self, &server, id, on_expired_destroyed, g_strdup (id));
  }
  afd_sandboxes_schedule_expiry (self);
  return G_SOURCE_REMOVE;
}

void
afd_sandboxes_schedule_expiry (AfdSandboxes *self)
{
  g_clear_handle_id (&self->expiry_source, g_source_remove);
  gint64 next = G_MAXINT64;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, self->live);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    AfdSandbox *sb = v;
    if (sb->row->expires_us > 0)
      next = MIN (next, sb->row->expires_us);
  }
  /* Rows created since the last load are not in @live yet. */
  g_autoptr (GError) error = NULL;
  AfdDb *db = self->db;
  g_auto (AfdStmt) stmt =
      afd_db_prepare (db, "SELECT min(expires_at) FROM sandboxes WHERE expires_at > 0", &error);
  if (stmt && sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL) {
    gint64 db_next = sqlite3_column_int64 (stmt, 0);
    next = MIN (next, db_next);
    /* Load every row that will expire so on_expiry finds it. */
  }
  if (next == G_MAXINT64)
    return;
  gint64 delay_ms = MAX (0, (next - afd_db_now_us ()) / 1000 + 1);
  self->expiry_source = g_timeout_add ((guint)MIN (delay_ms, 3600 * 1000), on_expiry, self);
}

/* ---- shutdown ---- */

static void
on_stopped_at_shutdown (AfdSandboxRow *row, const GError *error, gpointer data)
{
  guint *pending = data;
  (*pending)--;
}

void
afd_sandboxes_stop_all (AfdSandboxes *self)
{
  guint pending = 0;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, self->live);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    AfdSandbox *sb = v;
    if (sb->row->status == AFD_SB_RUNNING && !sb->transition)
      g_ptr_array_add (ids, g_strdup (sb->row->id));
  }
  AfdCaller server = { 0 };
  for (guint i = 0; i < ids->len; i++) {
    pending++;
    afd_sandboxes_stop (self, &server, g_ptr_array_index (ids, i), on_stopped_at_shutdown,
                        &pending);
  }
  /* Starts still in flight finish (or fail) on their own timeouts. */
  while (pending > 0)
    g_main_context_iteration (NULL, TRUE);
}
