/* main.c — the af-exec executable: option parsing, then one of two modes.
 *
 * One-shot (`af-exec --workspace DIR -- CMD…`) builds a sandbox, runs CMD
 * with this process's stdin/stdout/stderr, and exits with its status;
 * supervisor (`--serve --dbus-address ADDR`) hands over to service.c.
 * Must never: pass its own environment to the sandbox, or exit before the
 * sandbox's processes are gone. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib-unix.h>

#include "af-error.h"
#include "af-log.h"
#include "options.h"
#include "sandbox.h"
#include "seccomp-filter.h"
#include "service.h"

/* Exit statuses of one-shot mode besides the command's own. */
#define EXIT_TIMEOUT AF_EXEC_TIMEOUT_EXIT /* 124: the timeout killed it */
#define EXIT_AF_EXEC 125                  /* af-exec itself failed */
#define EXIT_CANNOT_RUN 126
#define EXIT_NOT_FOUND 127

typedef struct {
  GMainLoop *loop;
  AfSandbox *sb;
  int status;
  int signal;
  gint64 timeout_ms;
} OneShot;

/* SIGINT/SIGTERM/SIGHUP: end the command's whole tree and exit through the
 * normal path, so the cgroups are removed. */
typedef struct {
  OneShot *os;
  int signal;
} SignalWatch;

static gboolean
on_signal (gpointer data)
{
  SignalWatch *w = data;
  w->os->signal = w->signal;
  if (w->os->sb)
    af_cgroup_kill_all (af_sandbox_get_cgroup (w->os->sb));
  return G_SOURCE_CONTINUE;
}

static void
on_done (gpointer data, const AfExecResult *r, const GError *error)
{
  OneShot *os = data;

  if (os->signal) {
    /* We were told to stop: whatever the command got to, that is the
     * answer (the init may have died before confirming the start). */
    os->status = 128 + os->signal;
  } else if (error) {
    g_printerr ("af-exec: %s\n", error->message);
    os->status = g_error_matches (error, AF_ERROR, AF_ERROR_NOT_FOUND)           ? EXIT_NOT_FOUND
                 : g_error_matches (error, AF_ERROR, AF_ERROR_PERMISSION_DENIED) ? EXIT_CANNOT_RUN
                                                                                 : EXIT_AF_EXEC;
  } else if (r->timed_out) {
    g_printerr ("af-exec: timed out after %.3f s; the command's processes were killed\n",
                os->timeout_ms / 1000.0);
    os->status = EXIT_TIMEOUT;
  } else {
    if (r->oom_killed)
      g_printerr ("af-exec: the command hit the memory limit and was killed\n");
    if (r->stdout_truncated || r->stderr_truncated)
      g_printerr ("af-exec: output truncated at the output limit\n");
    os->status = r->exit_code;
  }
  g_main_loop_quit (os->loop);
}

static int
run_sandboxed (AfConfig *config, char **argv, char **env, OneShot *os, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_auto (AfSandboxConfig) cfg = { 0 };
  g_autoptr (AfSandbox) sb = NULL;
  AfExecRequest req = { 0 };

  if (!af_exec_sandbox_config (config, name, &cfg, &error)) {
    g_printerr ("af-exec: %s\n", error->message);
    return EXIT_AF_EXEC;
  }
  {
    g_autofree char *cg = af_cgroup_describe (af_cgroup_detect ());
    af_sb_info (name, "starting: %s runtime, host uid %u, cgroups %s",
                cfg.kind == AF_RUNTIME_DOCKER ? "docker" : "bwrap", (guint)cfg.host_uid, cg);
  }
  sb = af_sandbox_new (&cfg, &error);
  if (sb == NULL) {
    g_printerr ("af-exec: cannot start the sandbox: %s\n", error->message);
    return EXIT_AF_EXEC;
  }
  os->sb = sb;
  os->timeout_ms = af_config_get_int (config, "exec", "timeout");
  req.argv = (const char *const *)argv;
  req.env = (const char *const *)env;
  req.cwd = af_config_get_string (config, "exec", "workdir");
  req.timeout_ms = os->timeout_ms;
  req.stdin_fd = 0;
  req.stdout_fd = 1;
  req.stderr_fd = 2;
  req.output_cap = af_config_get_int (config, "exec", "output_limit");
  if (!af_sandbox_exec (sb, &req, on_done, os, &error)) {
    g_printerr ("af-exec: %s\n", error->message);
    os->sb = NULL;
    return EXIT_AF_EXEC;
  }
  g_main_loop_run (os->loop);
  os->sb = NULL;
  return os->status;
}

static int
run_one_shot (AfConfig *config, char **argv, char **env)
{
  g_autofree char *name = g_strdup_printf ("oneshot-%d", (int)getpid ());
  const char *id = af_config_get_string (config, "exec", "sandbox_id");
  OneShot os = { 0 };
  SignalWatch watches[] = { { &os, SIGINT }, { &os, SIGTERM }, { &os, SIGHUP } };
  guint sources[G_N_ELEMENTS (watches)];
  int status;

  /* Installed first: a signal that arrives while the sandbox starts is
   * handled once the loop runs, with the sandbox known. */
  for (gsize i = 0; i < G_N_ELEMENTS (watches); i++)
    sources[i] = g_unix_signal_add (watches[i].signal, on_signal, &watches[i]);
  os.loop = g_main_loop_new (NULL, FALSE);
  status = run_sandboxed (config, argv, env, &os, id && id[0] ? id : name);
  g_main_loop_unref (os.loop);
  for (gsize i = 0; i < G_N_ELEMENTS (watches); i++)
    g_source_remove (sources[i]);
  return status;
}

static void
print_version (void)
{
  g_autofree char *cg = af_cgroup_describe (af_cgroup_detect ());
  g_autofree char *limits = af_cgroup_limits_available (af_cgroup_detect ());
  g_print ("af-exec %s\ncgroups: %s\nlimits: %s\nseccomp: %u rules\nruntimes: bwrap docker\n",
           AF_VERSION, cg, limits, af_seccomp_n_rules ());
}

int
main (int argc, char **argv)
{
  g_autoptr (AfConfig) config = af_exec_config_new ();
  g_autoptr (GOptionContext) ctx = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) env = NULL;
  g_autofree char *config_file = NULL, *dbus_address = NULL, *log_level = NULL;
  gboolean serve = FALSE, version = FALSE;
  GOptionEntry entries[] = {
    { "serve", 0, 0, G_OPTION_ARG_NONE, &serve, "Run as the sandbox's supervisor over D-Bus",
      NULL },
    { "dbus-address", 0, 0, G_OPTION_ARG_STRING, &dbus_address,
      "Peer-to-peer D-Bus address to connect to (with --serve)", "ADDR" },
    { "env", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &env, "Set a variable inside (repeatable)", "K=V" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file, "Configuration file", "FILE" },
    { "log-level", 0, 0, G_OPTION_ARG_STRING, &log_level, "error|warning|message|info|debug",
      "LEVEL" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print version, cgroup mode and exit", NULL },
    { NULL },
  };
  AfLogLevel level = AF_LOG_LEVEL_MESSAGE;

  ctx = g_option_context_new ("[-- COMMAND [ARG…]]");
  g_option_context_set_summary (ctx, "Run commands in a sandbox built once: one command "
                                     "(one-shot), or many over D-Bus (--serve).");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, af_config_option_group (config));
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("af-exec: %s\n", error->message);
    return EXIT_AF_EXEC;
  }
  if (version) {
    print_version ();
    return 0;
  }
  if (log_level && !af_log_level_parse (log_level, &level, &error)) {
    g_printerr ("af-exec: %s\n", error->message);
    return EXIT_AF_EXEC;
  }
  af_log_init (level);
  if (config_file && !af_config_load_file (config, config_file, TRUE, &error)) {
    g_printerr ("af-exec: %s\n", error->message);
    return EXIT_AF_EXEC;
  }

  if (serve) {
    if (argc > 1) {
      g_printerr ("af-exec: --serve takes no command\n");
      return EXIT_AF_EXEC;
    }
    return af_exec_serve (config, dbus_address);
  }
  /* GOption leaves "--" in place when it ends the options. */
  if (argc > 1 && g_str_equal (argv[1], "--")) {
    argv++;
    argc--;
  }
  if (argc < 2) {
    g_printerr ("af-exec: no command given (af-exec --workspace DIR -- COMMAND [ARG…])\n");
    return EXIT_AF_EXEC;
  }
  return run_one_shot (config, argv + 1, env);
}
