/* main.c — afd-server: flags and configuration, start-up (state lock,
 * database, reconciliation, gRPC listeners), signals, graceful shutdown.
 *
 * Owns the process: the only place that logs start-up failures and exits.
 * Must never fork without exec (grpc runs threads), or start serving before
 * the database passed its check and the store was reconciled. */
#include "af-activation.h"
#include "afd-config.h"
#include "afd-db.h"
#include "afd-events.h"
#include "afd-lock.h"
#include "afd-reconcile.h"
#include "afd-rpc.h"
#include "afd-sandboxes.h"
#include "afd-store.h"

#include <errno.h>
#include <glib-unix.h>
#include <locale.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SHUTDOWN_GRACE_MS 5000

typedef struct {
  AfdSettings *settings;
  int lock_fd;
  AfdDb *db;
  AfdStore *store;
  AfdCodebases *codebases;
  AfdSandboxes *sandboxes;
  AfdRpc *rpc;
  GMainLoop *loop;
  int n_activated; /* sockets from the service manager; they replace the configured ones */
} Daemon;

static void
daemon_clear (Daemon *d)
{
  g_clear_pointer (&d->rpc, afd_rpc_free);
  g_clear_pointer (&d->sandboxes, afd_sandboxes_free);
  g_clear_pointer (&d->codebases, afd_codebases_free);
  g_clear_pointer (&d->store, afd_store_free);
  g_clear_pointer (&d->db, afd_db_close);
  if (d->lock_fd >= 0)
    close (d->lock_fd);
  d->lock_fd = -1;
  g_clear_pointer (&d->settings, afd_settings_free);
  g_clear_pointer (&d->loop, g_main_loop_unref);
}

/* systemd's readiness protocol (Type=notify), without libsystemd: one
 * datagram to $NOTIFY_SOCKET. */
static void
notify_systemd (const char *state)
{
  const char *path = g_getenv ("NOTIFY_SOCKET");
  if (path == NULL || (path[0] != '/' && path[0] != '@') || strlen (path) >= 108)
    return;
  int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  memcpy (addr.sun_path, path, strlen (path));
  if (path[0] == '@')
    addr.sun_path[0] = '\0';
  socklen_t len = (socklen_t)(offsetof (struct sockaddr_un, sun_path) + strlen (path));
  if (sendto (fd, state, strlen (state), MSG_NOSIGNAL, (struct sockaddr *)&addr, len) < 0)
    g_debug ("NOTIFY_SOCKET: %s", g_strerror (errno));
  close (fd);
}

/* --ready-fd: one line, then the fd is closed, so a supervisor (or a test)
 * waits on an event instead of polling for the socket. */
static void
notify_ready_fd (int fd, const Daemon *d)
{
  if (fd < 0)
    return;
  g_autofree char *line = g_strdup_printf (
      "READY socket=%s tcp_port=%d\n", d->settings->socket_path ? d->settings->socket_path : "none",
      d->rpc->tcp_port);
  if (write (fd, line, strlen (line)) < 0)
    g_warning ("--ready-fd %d: %s", fd, g_strerror (errno));
  close (fd);
}

static gboolean
on_signal (gpointer user_data)
{
  Daemon *d = user_data;
  g_message ("shutting down");
  notify_systemd ("STOPPING=1");
  g_main_loop_quit (d->loop);
  return G_SOURCE_CONTINUE;
}

/* Serve the sockets systemd (or any launcher of the LISTEN_FDS protocol)
 * passed; they are the only listeners then (main cleared the configured
 * ones), and their addresses go into the settings for the log and READY. */
static gboolean
adopt_activated (Daemon *d, GError **error)
{
  for (int fd = AF_ACTIVATION_FDS_START; fd < AF_ACTIVATION_FDS_START + d->n_activated; fd++) {
    struct sockaddr_un un = { 0 };
    socklen_t len = sizeof un;
    gboolean is_unix = getsockname (fd, (struct sockaddr *)&un, &len) == 0 &&
                       un.sun_family == AF_UNIX && un.sun_path[0] == '/';
    int port = 0;
    if (!af_grpc_server_listen_fd (d->rpc->server, fd, &port, error)) {
      g_prefix_error (error, "activated socket: ");
      return FALSE;
    }
    if (is_unix && d->settings->socket_path == NULL)
      d->settings->socket_path = g_strndup (un.sun_path, sizeof un.sun_path);
    if (port > 0 && d->rpc->tcp_port == 0) {
      d->rpc->tcp_port = port;
      d->settings->listen = g_strdup_printf ("activated:%d", port);
    }
  }
  return TRUE;
}

static gboolean
start (Daemon *d, GError **error)
{
  const AfdSettings *s = d->settings;
  if (!af_dirs_ensure (s->state_dir, 0700, error))
    return FALSE;
  d->lock_fd = afd_lock_state_dir (s->state_dir, error);
  if (d->lock_fd < 0)
    return FALSE;

  g_autofree char *db_path = g_build_filename (s->state_dir, "afd.db", NULL);
  d->db = afd_db_open (db_path, error);
  if (d->db == NULL) {
    if (g_error_matches (*error, AF_ERROR, AF_ERROR_DATA_LOSS))
      g_prefix_error (error, "refusing to start: ");
    return FALSE;
  }
  d->store = afd_store_open (s->state_dir, error);
  if (d->store == NULL || !afd_db_set_sync (d->db, s->sync, error))
    return FALSE;
  afd_store_set_sync (d->store, s->sync);

  AfdReconcileReport report;
  if (!afd_reconcile (d->db, d->store, &report, error)) {
    g_prefix_error (error, "reconciling the codebase store: ");
    return FALSE;
  }
  g_autofree char *repaired = afd_reconcile_report_describe (&report);
  if (repaired)
    g_message ("repaired the codebase store: %s", repaired);

  d->codebases = afd_codebases_new (d->db, d->store, s);
  d->sandboxes = afd_sandboxes_new (d->codebases, d->store, s);
  if (!afd_sandboxes_recover (d->sandboxes, error)) {
    g_prefix_error (error, "recovering sandboxes: ");
    return FALSE;
  }
  /* sandbox.recovery = restart: serve once they are RUNNING (or ERROR). */
  while (afd_sandboxes_restarts_pending (d->sandboxes) > 0)
    g_main_context_iteration (NULL, TRUE);
  d->rpc = afd_rpc_new (s, d->codebases, error);
  if (d->rpc == NULL || !adopt_activated (d, error) ||
      !afd_rpc_add_sandbox_service (d->rpc, d->sandboxes, error) || !afd_rpc_start (d->rpc, error))
    return FALSE;
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *config_file = NULL;
  gboolean version = FALSE, verbose = FALSE, print_config = FALSE, events = FALSE;
  g_autofree char *events_sandbox = NULL, *events_since = NULL;
  int ready_fd = -1;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
      "Configuration file (default: /etc/agentfense/afd.conf as root)", "FILE" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Same as --log-level debug", NULL },
    { "ready-fd", 0, 0, G_OPTION_ARG_INT, &ready_fd,
      "Write one READY line to this fd once serving, then close it", "FD" },
    { "print-default-config", 0, 0, G_OPTION_ARG_NONE, &print_config,
      "Print every configuration key with its default, as a commented config file", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { "events", 0, 0, G_OPTION_ARG_NONE, &events,
      "Print the event history of the state dir (read-only; works while a server runs) and exit",
      NULL },
    { "sandbox", 0, 0, G_OPTION_ARG_STRING, &events_sandbox, "With --events: one sandbox only",
      "ID" },
    { "since", 0, 0, G_OPTION_ARG_STRING, &events_since,
      "With --events: from this time on (ISO 8601, epoch seconds, or an age: 15m, 2h, 7d)",
      "TIME" },
    { NULL },
  };

  setlocale (LC_ALL, "");
  signal (SIGPIPE, SIG_IGN);
  /* Upload chunks arrive as messages of up to a few MiB, each allocated and
   * freed by the transport. Above glibc's default threshold every one would
   * be a fresh mmap, faulted in page by page; serve them from the heap and
   * keep a little freed memory around instead (bounded by the thresholds). */
  mallopt (M_MMAP_THRESHOLD, 8 << 20);
  mallopt (M_TRIM_THRESHOLD, 32 << 20);
  g_autoptr (AfConfig) config = afd_config_new ();
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- the AgentFense server");
  g_option_context_set_summary (
      ctx, "Serves the sandbox.v1 gRPC API on a unix socket and on loopback TCP.\n"
           "Every configuration key can be set in the file or with its --flag.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, af_config_option_group (config));
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("afd-server: %s\n", error->message);
    return 2;
  }
  if (version) {
    g_print ("afd-server %s\n", AF_VERSION);
    return 0;
  }
  if (print_config) {
    g_autofree char *text = af_config_dump_defaults (config);
    g_print ("%s", text);
    return 0;
  }
  if (argc > 1) {
    g_printerr ("afd-server: unexpected argument '%s'\n", argv[1]);
    return 2;
  }

  AfDirsEnv env;
  af_dirs_env_from_process (&env);
  g_autofree char *default_config = af_dirs_config_file (&env, g_getenv ("XDG_CONFIG_HOME"));
  if (!af_config_load_file (config, config_file ? config_file : default_config, config_file != NULL,
                            &error)) {
    g_printerr ("afd-server: %s\n", error->message);
    return 2;
  }
  if (verbose && !af_config_set (config, "server.log_level", "debug", "--verbose", &error)) {
    g_printerr ("afd-server: %s\n", error->message);
    return 2;
  }

  Daemon d = { .lock_fd = -1 };
  d.settings = afd_settings_resolve (config, &env, &error);
  if (d.settings == NULL) {
    g_printerr ("afd-server: %s\n", error->message);
    return 2;
  }
  if ((events_sandbox || events_since) && !events) {
    g_printerr ("afd-server: --sandbox and --since go with --events\n");
    daemon_clear (&d);
    return 2;
  }
  if (events) {
    /* A reader beside the server: no lock, no migration, no writes. */
    g_autofree char *db_path = g_build_filename (d.settings->state_dir, "afd.db", NULL);
    gint64 since = 0;
    gboolean ok = (events_since == NULL || afd_events_parse_since (events_since, &since, &error)) &&
                  afd_events_print (db_path, events_sandbox, since, &error);
    daemon_clear (&d);
    if (!ok) {
      g_printerr ("afd-server: %s\n", error->message);
      return 1;
    }
    return 0;
  }
  af_log_init (d.settings->log_level);
  d.n_activated = af_activation_listen_fds (&error);
  if (d.n_activated < 0) {
    g_printerr ("afd-server: %s\n", error->message);
    daemon_clear (&d);
    return 2;
  }
  if (d.n_activated > 0) {
    g_clear_pointer (&d.settings->socket_path, g_free);
    g_clear_pointer (&d.settings->listen, g_free);
  }

  d.loop = g_main_loop_new (NULL, FALSE);
  if (!start (&d, &error)) {
    g_printerr ("afd-server: %s\n", error->message);
    daemon_clear (&d);
    return 1;
  }
  guint sigterm = g_unix_signal_add (SIGTERM, on_signal, &d);
  guint sigint = g_unix_signal_add (SIGINT, on_signal, &d);

  g_autofree char *tls = d.settings->tls_cert_pem == NULL
                             ? g_strdup ("")
                             : g_strdup_printf (", TLS with %s%s", d.settings->tls_cert_file,
                                                d.settings->tls_client_ca_pem != NULL
                                                    ? ", client certificates required"
                                                    : "");
  g_autofree char *tcp =
      d.settings->listen
          ? g_strdup_printf (" and tcp:%s (port %d%s)", d.settings->listen, d.rpc->tcp_port, tls)
          : g_strdup ("");
  g_message ("version %s serving%s%s%s, state in %s", AF_VERSION,
             d.settings->socket_path ? " on unix:" : "",
             d.settings->socket_path ? d.settings->socket_path : "", tcp, d.settings->state_dir);
  notify_ready_fd (ready_fd, &d);
  notify_systemd ("READY=1");

  g_main_loop_run (d.loop);

  g_source_remove (sigterm);
  g_source_remove (sigint);
  afd_rpc_shutdown (d.rpc, SHUTDOWN_GRACE_MS);
  /* Sandboxes end with the server: helpers gone, mounts gone, STOPPED. */
  afd_sandboxes_stop_all (d.sandboxes);
  daemon_clear (&d);
  return 0;
}
