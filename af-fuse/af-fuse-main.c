/* af-fuse-main.c — the af-fuse command line and process life.
 *
 * af-fuse --source DIR --mountpoint DIR (--rules FILE | --preset NAME)
 *         [--delta DIR] [--commit-on-exit] [--conflict lww|reject]
 *         [--foreground] [--dbus-address ADDR] [--ready-fd N] [--threads N]
 *         [--no-passthrough] [--passthrough-min-size BYTES] [--verbose]
 *
 * Owns: option parsing, policy loading, the GLib main loop (signals and the
 * D-Bus control connection), the order of shutdown (stop the loop, unmount,
 * commit if asked, remove a temporary delta).
 *
 * Must never: serve FUSE requests on the main thread, exit with the mount
 * still in place on a clean stop. */
#include <errno.h>
#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>
#include <unistd.h>

#include "af-error.h"
#include "af-log.h"
#include "affs-dbus.h"
#include "affs-ops.h"
#include "affs-session.h"

typedef struct {
  AfFs *fs;
  GMainLoop *loop;
  gboolean loop_ended;
} App;

static char *opt_source, *opt_mountpoint, *opt_rules, *opt_preset, *opt_delta, *opt_conflict;
static char *opt_dbus_address, *opt_sandbox_id, *opt_preset_dir;
static gboolean opt_commit_on_exit, opt_foreground, opt_verbose;
static int opt_ready_fd = -1;
static double opt_timeout = 600.0;
static int opt_threads = 1;
static gboolean opt_no_passthrough;
/* Measured (docs/benchmarks.md): below this a read-only file is faster
 * through the page cache than registered as a backing file. */
static gint64 opt_passthrough_min = 256 * 1024;

static const GOptionEntry entries[] = {
  { "source", 0, 0, G_OPTION_ARG_FILENAME, &opt_source, "Codebase directory (the lower layer)",
    "DIR" },
  { "mountpoint", 0, 0, G_OPTION_ARG_FILENAME, &opt_mountpoint, "Where to mount the view", "DIR" },
  { "rules", 0, 0, G_OPTION_ARG_FILENAME, &opt_rules, "Rule file (JSON)", "FILE" },
  { "preset", 0, 0, G_OPTION_ARG_STRING, &opt_preset, "Preset name instead of a rule file",
    "NAME" },
  { "preset-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_preset_dir,
    "Directory of extra presets (*.json)", "DIR" },
  { "delta", 0, 0, G_OPTION_ARG_FILENAME, &opt_delta,
    "Delta directory (default: a private temporary one, removed at exit)", "DIR" },
  { "commit-on-exit", 0, 0, G_OPTION_ARG_NONE, &opt_commit_on_exit,
    "Apply the delta to the source when the mount ends", NULL },
  { "conflict", 0, 0, G_OPTION_ARG_STRING, &opt_conflict,
    "On a source changed since copy-up: lww (default) or reject", "POLICY" },
  { "foreground", 'f', 0, G_OPTION_ARG_NONE, &opt_foreground, "Do not daemonize", NULL },
  { "dbus-address", 0, 0, G_OPTION_ARG_STRING, &opt_dbus_address,
    "Peer D-Bus address to export org.agentfense.Fuse1 on", "ADDR" },
  { "ready-fd", 0, 0, G_OPTION_ARG_INT, &opt_ready_fd,
    "Write \"ready\\n\" to this fd once mounted, then close it", "FD" },
  { "sandbox-id", 0, 0, G_OPTION_ARG_STRING, &opt_sandbox_id, "Sandbox id for log records", "ID" },
  { "cache-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opt_timeout,
    "Kernel entry/attribute cache timeout in seconds (default 600)", "SECONDS" },
  { "threads", 0, 0, G_OPTION_ARG_INT, &opt_threads,
    "FUSE worker threads (default 1; more for parallel workloads on many cores)", "N" },
  { "no-passthrough", 0, 0, G_OPTION_ARG_NONE, &opt_no_passthrough,
    "Never let the kernel read and write backing files directly", NULL },
  { "passthrough-min-size", 0, 0, G_OPTION_ARG_INT64, &opt_passthrough_min,
    "Read-only files smaller than this go through the page cache (default 262144)", "BYTES" },
  { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "One debug line per decision", NULL },
  { NULL },
};

static AfPolicy *
load_policy (GError **error)
{
  g_autoptr (AfPresetRegistry) registry = af_preset_registry_new ();
  if (opt_preset_dir != NULL && !af_preset_registry_load_dir (registry, opt_preset_dir, error))
    return NULL;
  g_autoptr (GArray) rules = af_rule_array_new ();
  if (opt_rules != NULL) {
    if (!af_rules_load_file (opt_rules, registry, rules, error))
      return NULL;
  } else if (!af_preset_registry_expand (registry, opt_preset, rules, error)) {
    return NULL;
  }
  return af_policy_new ((const AfRule *)(gpointer)rules->data, rules->len, error);
}

static gboolean
on_loop_exit (gpointer data)
{
  App *app = data;
  app->loop_ended = TRUE;
  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_signal (gpointer data)
{
  App *app = data;
  af_sb_message (opt_sandbox_id, "signal received, unmounting");
  affs_session_stop (app->fs);
  return G_SOURCE_CONTINUE;
}

static void
on_shutdown_request (gpointer data)
{
  App *app = data;
  affs_session_stop (app->fs);
}

static int
fail (GError *error)
{
  g_printerr ("af-fuse: %s\n", error->message);
  return 1;
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- the AgentFense permission filesystem");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return fail (error);
  if (opt_source == NULL || opt_mountpoint == NULL) {
    g_printerr ("af-fuse: --source and --mountpoint are required\n");
    return 2;
  }
  if ((opt_rules == NULL) == (opt_preset == NULL)) {
    g_printerr ("af-fuse: give exactly one of --rules and --preset\n");
    return 2;
  }
  AffsConflict conflict = AFFS_CONFLICT_LWW;
  if (opt_conflict != NULL && g_strcmp0 (opt_conflict, "reject") == 0)
    conflict = AFFS_CONFLICT_REJECT;
  else if (opt_conflict != NULL && g_strcmp0 (opt_conflict, "lww") != 0) {
    g_printerr ("af-fuse: --conflict must be lww or reject\n");
    return 2;
  }
  if (opt_threads < 1 || opt_threads > 64) {
    g_printerr ("af-fuse: --threads must be between 1 and 64\n");
    return 2;
  }
  if (!(opt_timeout >= 0 && opt_timeout <= 86400)) {
    g_printerr ("af-fuse: --cache-timeout must be between 0 and 86400\n");
    return 2;
  }
  af_log_init (opt_verbose ? AF_LOG_LEVEL_DEBUG : AF_LOG_LEVEL_MESSAGE);

  g_autoptr (AfPolicy) policy = load_policy (&error);
  if (policy == NULL)
    return fail (error);

  g_autofree char *temp_delta = NULL;
  if (opt_delta == NULL) {
    temp_delta = g_dir_make_tmp ("af-fuse-delta-XXXXXX", &error);
    if (temp_delta == NULL)
      return fail (error);
  }
  AfFs *fs = affs_new (opt_source, opt_delta != NULL ? opt_delta : temp_delta, &error);
  if (fs == NULL)
    return fail (error);
  fs->verbose = opt_verbose;
  fs->conflict = conflict;
  fs->timeout = opt_timeout;
  fs->threads = opt_threads;
  fs->passthrough_min_size = opt_no_passthrough ? -1 : MAX (opt_passthrough_min, 0);
  fs->sandbox_id = g_strdup (opt_sandbox_id);
  affs_policy_set (fs, policy);

  if (!affs_session_mount (fs, opt_mountpoint, geteuid () == 0, &error)) {
    affs_free (fs);
    return fail (error);
  }
  if (!opt_foreground && fuse_daemonize (0) != 0) {
    g_printerr ("af-fuse: cannot daemonize\n");
    return 1;
  }

  App app = { fs, g_main_loop_new (NULL, FALSE), FALSE };
  g_unix_signal_add (SIGTERM, on_signal, &app);
  g_unix_signal_add (SIGINT, on_signal, &app);
  g_unix_signal_add (SIGHUP, on_signal, &app);
  affs_session_start (fs, on_loop_exit, &app);

  g_autoptr (AffsDBus) dbus = NULL;
  if (opt_dbus_address != NULL) {
    dbus = affs_dbus_new (fs, opt_dbus_address, on_shutdown_request, &app, &error);
    if (dbus == NULL) {
      /* Without its control channel the mount is useless to its parent:
       * undo it and fail (never report ready). */
      af_sb_warning (opt_sandbox_id, "control connection failed: %s", error->message);
      g_clear_error (&error);
      affs_session_stop (fs);
      affs_session_finish (fs);
      affs_free (fs);
      return 1;
    }
  }
  if (opt_ready_fd >= 0) {
    (void)!write (opt_ready_fd, "ready\n", 6);
    close (opt_ready_fd);
  }
  af_sb_info (opt_sandbox_id, "mounted %s over %s", opt_mountpoint, fs->source_path);
  if (!app.loop_ended)
    g_main_loop_run (app.loop);

  g_clear_pointer (&dbus, affs_dbus_free);
  affs_session_stop (fs);
  affs_session_finish (fs);
  if (fs->verbose)
    affs_requests_log (fs);
  int status = 0;
  if (opt_commit_on_exit) {
    g_autoptr (AffsChanges) changes = affs_changes_new ();
    if (!affs_commit (fs, changes, &error)) {
      af_sb_warning (opt_sandbox_id, "commit on exit failed: %s", error->message);
      g_clear_error (&error);
      status = 1;
    }
  }
  affs_free (fs);
  if (temp_delta != NULL) {
    int root = open (temp_delta, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root >= 0) {
      (void)affs_remove_tree (root, "");
      close (root);
    }
    (void)rmdir (temp_delta);
  }
  g_main_loop_unref (app.loop);
  return status;
}
