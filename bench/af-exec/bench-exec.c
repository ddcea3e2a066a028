/* bench-exec — af-exec's speed beside its references, in one run.
 *
 *   1. `true` in a warm bwrap sandbox vs a fresh `bwrap … /bin/true`
 *      (interleaved; target: warm ≤ 0.2× fresh at the median), and vs a
 *      bare host posix_spawn of /bin/true (the floor)
 *   2. sandbox start, bwrap (target ≤ 30 ms; beside a fresh `bwrap … true`)
 *      and docker (≤ 500 ms; beside `docker run --rm IMAGE true`) when an
 *      engine and the test image are there
 *   3. RSS of an idle `af-exec --serve` plus its init (target ≤ 2 MiB);
 *      then `true` through its D-Bus Exec vs the in-process library call
 *   4. commands per second across 8 warm sandboxes (target ≥ 1,000/s)
 *
 * Run as root from the build tree: bench/af-exec/bench-exec [ITERATIONS [PARTS]]
 * (`warm` alone also runs as an ordinary user: rootless mode).
 * Built with the tree, never run by `meson test`. */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>

#include "af-dbus-peer.h"
#include "cgroup-private.h"
#include "options.h"
#include "sandbox.h"

extern char **environ;

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double
pct (double *v, int n, double p)
{
  qsort (v, (size_t)n, sizeof *v, cmp_double);
  return v[MIN (n - 1, (int)(p * n))];
}

static AfSandbox *
make_sandbox (AfConfig *config, const char *name, GError **error)
{
  AfSandboxConfig cfg;
  if (!af_exec_sandbox_config (config, name, &cfg, error))
    return NULL;
  return af_sandbox_new (&cfg, error);
}

typedef struct {
  gboolean done;
  int code;
  const char *const *argv; /* NULL: /bin/true */
  int *counter;
  AfSandbox *sb;
  int devnull;
  gboolean again;
} Run;

static void on_done (gpointer data, const AfExecResult *r, const GError *error);

static void
start_true (Run *run)
{
  static const char *const argv[] = { "/bin/true", NULL };
  AfExecRequest req = { 0 };
  g_autoptr (GError) error = NULL;
  req.argv = run->argv ? run->argv : argv;
  req.stdin_fd = run->devnull;
  req.stdout_fd = run->devnull;
  req.stderr_fd = run->devnull;
  run->done = FALSE;
  if (!af_sandbox_exec (run->sb, &req, on_done, run, &error))
    g_error ("exec: %s", error->message);
}

static void
on_done (gpointer data, const AfExecResult *r, const GError *error)
{
  Run *run = data;
  if (error)
    g_error ("exec: %s", error->message);
  run->code = r->exit_code;
  run->done = TRUE;
  if (run->counter)
    (*run->counter)++;
  if (run->again)
    start_true (run);
}

static double
warm_argv (AfSandbox *sb, int devnull, const char *const *argv)
{
  Run run = { 0 };
  gint64 t0 = g_get_monotonic_time ();
  run.sb = sb;
  run.devnull = devnull;
  run.argv = argv;
  start_true (&run);
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert (run.code == 0);
  return (g_get_monotonic_time () - t0) / 1000.0;
}

static double
warm_true (AfSandbox *sb, int devnull)
{
  return warm_argv (sb, devnull, NULL);
}

/* The floor: a bare host posix_spawn of /bin/true, no sandbox at all. */
static double
bare_true (void)
{
  const char *argv[] = { "/bin/true", NULL };
  gint64 t0 = g_get_monotonic_time ();
  pid_t pid;
  int status;
  if (posix_spawn (&pid, "/bin/true", NULL, NULL, (char **)argv, environ) != 0)
    g_error ("posix_spawn failed");
  waitpid (pid, &status, 0);
  g_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  return (g_get_monotonic_time () - t0) / 1000.0;
}

static double
fresh_bwrap_true (const char *ws)
{
  /* The same isolation flags af-exec uses, minus seccomp and uid change. */
  const char *argv[] = { "bwrap",
                         "--unshare-all",
                         "--unshare-user",
                         "--uid",
                         "1000",
                         "--gid",
                         "1000",
                         "--new-session",
                         "--die-with-parent",
                         "--as-pid-1",
                         "--cap-drop",
                         "ALL",
                         "--clearenv",
                         "--ro-bind",
                         "/usr",
                         "/usr",
                         "--symlink",
                         "usr/bin",
                         "/bin",
                         "--symlink",
                         "usr/lib",
                         "/lib",
                         "--symlink",
                         "usr/lib64",
                         "/lib64",
                         "--proc",
                         "/proc",
                         "--dev",
                         "/dev",
                         "--tmpfs",
                         "/tmp",
                         "--bind",
                         ws,
                         "/workspace",
                         "--",
                         "/bin/true",
                         NULL };
  gint64 t0 = g_get_monotonic_time ();
  pid_t pid;
  int status;
  if (posix_spawnp (&pid, "bwrap", NULL, NULL, (char **)argv, environ) != 0)
    g_error ("posix_spawn bwrap failed");
  waitpid (pid, &status, 0);
  g_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  return (g_get_monotonic_time () - t0) / 1000.0;
}

#define DOCKER_IMAGE "agentfense-busybox:test"
#define DOCKER_RUNS 10

/* The reference: `docker run --rm IMAGE true`, the CLI creating, starting,
 * waiting for and removing a container. */
static double
docker_run_true (void)
{
  const char *argv[] = { "docker",    "run",  "--rm",       "--pull", "never",
                         "--network", "none", DOCKER_IMAGE, "true",   NULL };
  gint64 t0 = g_get_monotonic_time ();
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int status;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 1, "/dev/null", O_WRONLY, 0);
  if (posix_spawnp (&pid, "docker", &fa, NULL, (char **)argv, environ) != 0)
    g_error ("posix_spawn docker failed");
  posix_spawn_file_actions_destroy (&fa);
  waitpid (pid, &status, 0);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return -1;
  return (g_get_monotonic_time () - t0) / 1000.0;
}

/* CPU ms used by this process and its reaped children: a start's client
 * side (the engine's work is in other processes), which the load of a
 * shared machine does not inflate the way it does wall time. */
static double
docker_client_cpu_ms (void)
{
  struct rusage self, children;
  getrusage (RUSAGE_SELF, &self);
  getrusage (RUSAGE_CHILDREN, &children);
  return (self.ru_utime.tv_sec + self.ru_stime.tv_sec + children.ru_utime.tv_sec +
          children.ru_stime.tv_sec) *
             1000.0 +
         (self.ru_utime.tv_usec + self.ru_stime.tv_usec + children.ru_utime.tv_usec +
          children.ru_stime.tv_usec) /
             1000.0;
}

/* Docker sandbox start (and stop) interleaved with the reference, when an
 * engine and the test image are there. */
static void
bench_docker_start (const char *ws, const char *init_path)
{
  g_autoptr (AfConfig) dc = af_exec_config_new ();
  g_autoptr (GError) derr = NULL;
  double ds[DOCKER_RUNS], stops[DOCKER_RUNS], refs[DOCKER_RUNS], cpu = 0;
  int k = 0;

  af_config_set (dc, "exec.workspace", ws, "bench", NULL);
  af_config_set (dc, "exec.init", init_path, "bench", NULL);
  af_config_set (dc, "exec.runtime", "docker", "bench", NULL);
  af_config_set (dc, "exec.image", DOCKER_IMAGE, "bench", NULL);
  for (; k < DOCKER_RUNS; k++) {
    g_autofree char *name = g_strdup_printf ("bench-docker-%d", k);
    double c0 = docker_client_cpu_ms ();
    gint64 s0 = g_get_monotonic_time ();
    AfSandbox *s = make_sandbox (dc, name, &derr);
    if (s == NULL)
      break;
    ds[k] = (g_get_monotonic_time () - s0) / 1000.0;
    cpu += docker_client_cpu_ms () - c0;
    s0 = g_get_monotonic_time ();
    af_sandbox_free (s);
    stops[k] = (g_get_monotonic_time () - s0) / 1000.0;
    refs[k] = docker_run_true ();
    if (refs[k] < 0) {
      g_set_error (&derr, G_IO_ERROR, G_IO_ERROR_FAILED, "docker run --rm %s true failed",
                   DOCKER_IMAGE);
      break;
    }
  }
  if (k < DOCKER_RUNS) {
    printf ("docker sandbox start: not measured (%s)\n", derr ? derr->message : "?");
    return;
  }
  printf ("docker sandbox start, %d runs: p50 %.0f ms, max %.0f ms (target <= 500 ms); stop p50 "
          "%.0f ms | `docker run --rm IMAGE true` p50 %.0f ms | ratio start / it p50 %.2f\n",
          DOCKER_RUNS, pct (ds, DOCKER_RUNS, 0.5), pct (ds, DOCKER_RUNS, 0.999),
          pct (stops, DOCKER_RUNS, 0.5), pct (refs, DOCKER_RUNS, 0.5),
          pct (ds, DOCKER_RUNS, 0.5) / pct (refs, DOCKER_RUNS, 0.5));
  printf ("      client CPU per start (af-exec's side, children included) %.1f ms\n",
          cpu / DOCKER_RUNS);
}

static gint64
rss_kib (int pid, const char *field)
{
  g_autofree char *path = g_strdup_printf (
      "/proc/%d/%s", pid, g_str_equal (field, "VmRSS:") ? "status" : "smaps_rollup");
  g_autofree char *text = NULL;
  const char *p;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  p = strstr (text, field);
  return p ? g_ascii_strtoll (p + strlen (field), NULL, 10) : -1;
}

static void
on_connected (AfDBusPeerServer *s, GDBusConnection *c, gpointer data)
{
  *(GDBusConnection **)data = g_object_ref (c);
}

static int
child_of (int ppid)
{
  g_autoptr (GDir) d = g_dir_open ("/proc", 0, NULL);
  const char *n;
  while ((n = g_dir_read_name (d))) {
    g_autofree char *path = g_strdup_printf ("/proc/%s/stat", n);
    g_autofree char *stat = NULL;
    const char *p;
    if (atoi (n) <= 0 || !g_file_get_contents (path, &stat, NULL, NULL))
      continue;
    p = strrchr (stat, ')');
    if (p && atoi (p + 4) == ppid)
      return atoi (n);
  }
  return -1;
}

static void
bench_rss (const char *ws, AfSandbox *warm_sb, int n)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("af-bench-XXXXXX", NULL);
  g_autofree char *sock = g_build_filename (dir, "s", NULL);
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *bin = NULL;
  GDBusConnection *conn = NULL;
  AfDBusPeerServer *server = af_dbus_peer_server_new (sock, on_connected, &conn, &error);
  GSubprocess *p;
  int exec_pid, bwrap_pid, init_pid;
  g_autoptr (GVariant) r = NULL;

  bin = g_build_filename (g_path_get_dirname (self), "..", "..", "af-exec", "af-exec", NULL);
  p = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, bin, "--serve", "--dbus-address",
                        af_dbus_peer_server_get_address (server), "--workspace", ws, NULL);
  g_assert_no_error (error);
  while (conn == NULL)
    g_main_context_iteration (NULL, TRUE);
  for (int i = 0; i < 1000 && r == NULL; i++) {
    r = g_dbus_connection_call_sync (conn, NULL, "/org/agentfense/Exec1", "org.agentfense.Exec1",
                                     "GetStats", NULL, NULL, 0, 1000, NULL, NULL);
    if (r == NULL)
      g_usleep (5000);
  }
  g_usleep (g_getenv ("AF_BENCH_IDLE_US") ? atoi (g_getenv ("AF_BENCH_IDLE_US"))
                                          : 200000); /* idle */
  exec_pid = atoi (g_subprocess_get_identifier (p));
  bwrap_pid = child_of (exec_pid);
  init_pid = child_of (bwrap_pid);
  {
    gint64 rss = rss_kib (exec_pid, "VmRSS:") + rss_kib (init_pid, "VmRSS:");
    gint64 pss = rss_kib (exec_pid, "Pss:") + rss_kib (init_pid, "Pss:");
    gint64 uss = rss_kib (exec_pid, "Private_Clean:") + rss_kib (exec_pid, "Private_Dirty:") +
                 rss_kib (init_pid, "Private_Clean:") + rss_kib (init_pid, "Private_Dirty:");
    gint64 anon = rss_kib (exec_pid, "Anonymous:") + rss_kib (init_pid, "Anonymous:");
    printf ("idle RSS:  af-exec %" G_GINT64_FORMAT " KiB (PSS %" G_GINT64_FORMAT
            " KiB, private %" G_GINT64_FORMAT " KiB), init %" G_GINT64_FORMAT
            " KiB (private %" G_GINT64_FORMAT " KiB), bwrap monitor %" G_GINT64_FORMAT
            " KiB (PSS %" G_GINT64_FORMAT " KiB)\n",
            rss_kib (exec_pid, "VmRSS:"), rss_kib (exec_pid, "Pss:"),
            rss_kib (exec_pid, "Private_Clean:") + rss_kib (exec_pid, "Private_Dirty:"),
            rss_kib (init_pid, "VmRSS:"),
            rss_kib (init_pid, "Private_Clean:") + rss_kib (init_pid, "Private_Dirty:"),
            rss_kib (bwrap_pid, "VmRSS:"), rss_kib (bwrap_pid, "Pss:"));
    printf ("           af-exec + init: RSS %" G_GINT64_FORMAT " KiB (of which shared-library "
            "pages %" G_GINT64_FORMAT " KiB), PSS %" G_GINT64_FORMAT
            " KiB, private %" G_GINT64_FORMAT " KiB, anonymous %" G_GINT64_FORMAT
            " KiB (target <= 2048 KiB)\n",
            rss, rss - anon, pss, uss, anon);
  }
  if (warm_sb != NULL) {
    /* The same `true` through D-Bus (request, three passed fds, reply),
     * interleaved with the library call in this process: what the service
     * adds. */
    g_autofree double *dbus = g_new (double, n), *lib = g_new (double, n);
    int devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
    for (int i = 0; i < n; i++) {
      g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
      g_autoptr (GVariant) reply = NULL;
      GVariantBuilder b;
      const char *argv[] = { "/bin/true", NULL };
      gint64 t0;
      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "argv", g_variant_new_strv (argv, -1));
      for (int k = 0; k < 3; k++)
        g_unix_fd_list_append (fds, devnull, NULL);
      t0 = g_get_monotonic_time ();
      reply = g_dbus_connection_call_with_unix_fd_list_sync (
          conn, NULL, "/org/agentfense/Exec1", "org.agentfense.Exec1", "Exec",
          g_variant_new ("(a{sv}hhh)", &b, 0, 1, 2), G_VARIANT_TYPE ("(a{sv})"), 0, 30000, fds,
          NULL, NULL, &error);
      g_assert_no_error (error);
      dbus[i] = (g_get_monotonic_time () - t0) / 1000.0;
      lib[i] = warm_true (warm_sb, devnull);
    }
    close (devnull);
    printf ("service: `true` through D-Bus Exec p50 %.2f ms p99 %.2f ms | in-process library p50 "
            "%.2f ms | ratio p50 %.2f\n",
            pct (dbus, n, 0.5), pct (dbus, n, 0.99), pct (lib, n, 0.5),
            pct (dbus, n, 0.5) / pct (lib, n, 0.5));
  }
  g_variant_unref (g_dbus_connection_call_sync (conn, NULL, "/org/agentfense/Exec1",
                                                "org.agentfense.Exec1", "Stop", NULL, NULL, 0, 5000,
                                                NULL, NULL));
  g_subprocess_wait (p, NULL, NULL);
  g_object_unref (p);
  g_object_unref (conn);
  af_dbus_peer_server_free (server);
  g_rmdir (dir);
}

typedef struct {
  gint64 until;
  int count;
} Spawner;

static gpointer
bare_spawner (gpointer data)
{
  Spawner *sp = data;
  const char *argv[] = { "/bin/true", NULL };
  while (g_get_monotonic_time () < sp->until) {
    pid_t pid;
    int status;
    if (posix_spawn (&pid, "/bin/true", NULL, NULL, (char **)argv, environ) != 0)
      g_error ("posix_spawn failed");
    waitpid (pid, &status, 0);
    g_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    sp->count++;
  }
  return NULL;
}

/* The reference for throughput: bare host spawns of /bin/true, 8 at once. */
static double
bare_rate (void)
{
  Spawner sp[8];
  GThread *t[8];
  gint64 t0 = g_get_monotonic_time ();
  int total = 0;
  for (int i = 0; i < 8; i++) {
    sp[i] = (Spawner){ t0 + 3 * G_USEC_PER_SEC, 0 };
    t[i] = g_thread_new ("spawner", bare_spawner, &sp[i]);
  }
  for (int i = 0; i < 8; i++) {
    g_thread_join (t[i]);
    total += sp[i].count;
  }
  return total / ((g_get_monotonic_time () - t0) / 1e6);
}

/* PARTS is a comma-separated list of latency,start,rss,service,throughput (all when
 * absent), so one part can be re-measured alone. Parts only named, never
 * run by default: warm and bare (N commands of one kind alone, for
 * `perf stat -e instructions` — counts survive a loaded machine — and
 * strace), and ls (`ls /` run directly vs through `/bin/sh -c`). */
static gboolean
want (const char *parts, const char *part)
{
  g_auto (GStrv) list = parts ? g_strsplit (parts, ",", -1) : NULL;
  return parts == NULL || g_strv_contains ((const char *const *)list, part);
}

static gboolean
named (const char *parts, const char *part)
{
  return parts != NULL && want (parts, part);
}

/* CPU time (ns) of this process, all threads. */
static gint64
self_cpu_ns (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

/* CPU time (ns) of the sandbox's bwrap and init (its `init` cgroup), from
 * /proc/PID/schedstat; the commands run in their own cgroups. */
static gint64
init_cpu_ns (AfSandbox *sb)
{
  AfCgroup *cg = af_sandbox_get_cgroup (sb);
  g_autofree char *dir = cg->track ? g_build_filename (cg->track, "init", NULL) : NULL;
  g_autofree char *text = dir ? af_cgroup_read_file (dir, "cgroup.procs") : NULL;
  g_auto (GStrv) pids = text ? g_strsplit (text, "\n", -1) : NULL;
  gint64 total = 0;

  if (cg->mode == AF_CGROUP_MODE_NONE && cg->init_host_pid > 0) {
    /* Rootless: the init's own time and, in clock ticks, that of every
     * process it reaped (per-command reapers and what they reaped). */
    g_autofree char *path = g_strdup_printf ("/proc/%d/stat", cg->init_host_pid);
    g_autofree char *st = NULL;
    unsigned long long ut, stime, cut, cst;
    const char *p;
    if (g_file_get_contents (path, &st, NULL, NULL) && (p = strrchr (st, ')')) &&
        sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &ut,
                &stime, &cut, &cst) == 4)
      total = (gint64)(ut + stime + cut + cst) * (1000000000 / sysconf (_SC_CLK_TCK));
    return total;
  }

  for (char **p = pids; p && *p; p++) {
    g_autofree char *path = g_strdup_printf ("/proc/%s/schedstat", *p);
    g_autofree char *st = NULL;
    if (**p && g_file_get_contents (path, &st, NULL, NULL))
      total += g_ascii_strtoll (st, NULL, 10);
  }
  return total;
}

static void
print_alone (const char *what, double *v, int n, gint64 t0)
{
  double total = (g_get_monotonic_time () - t0) / 1000.0;
  printf ("%s, %d runs alone: p50 %.3f ms p99 %.3f ms, %.3f ms per command\n", what, n,
          pct (v, n, 0.5), pct (v, n, 0.99), total / n);
}

int
main (int argc, char **argv)
{
  int n = argc > 1 ? atoi (argv[1]) : 300;
  const char *parts = argc > 2 ? argv[2] : NULL;
  g_autoptr (AfConfig) config = af_exec_config_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *ws = g_dir_make_tmp ("af-bench-ws-XXXXXX", NULL);
  g_autofree double *warm = g_new (double, n), *fresh = g_new (double, n);
  g_autofree double *bare_lat = g_new (double, n);
  double starts[20], start_refs[20];
  int devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  AfSandbox *sb;
  AfSandbox *many[8];
  Run runs[8];
  int completed = 0;
  g_autofree char *init_path = NULL;
  gint64 t0;

  /* `warm` alone also runs as an ordinary user (rootless mode). */
  if (geteuid () != 0 && g_strcmp0 (parts, "warm") != 0) {
    g_printerr ("bench-exec: run as root (cgroups, sandbox uids); only `warm` runs rootless\n");
    return 77;
  }
  chmod (ws, 0777);
  {
    g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
    g_autofree char *dir = g_path_get_dirname (self);
    init_path = g_build_filename (dir, "..", "..", "af-exec", "af-exec-init", NULL);
  }
  g_assert_true (af_config_set (config, "exec.init", init_path, "bench", NULL));
  g_assert_true (af_config_set (config, "exec.workspace", ws, "bench", NULL));
  g_assert_true (af_config_set (config, "exec.timeout", "0", "bench", NULL));

  /* 1. warm vs fresh, interleaved */
  if (want (parts, "latency")) {
    sb = make_sandbox (config, "bench-warm", &error);
    g_assert_no_error (error);
    for (int i = 0; i < 20; i++)
      warm_true (sb, devnull); /* warm-up */
    for (int i = 0; i < n; i++) {
      warm[i] = warm_true (sb, devnull);
      fresh[i] = fresh_bwrap_true (ws);
      bare_lat[i] = bare_true ();
    }
    {
      double w50 = pct (warm, n, 0.5), w99 = pct (warm, n, 0.99);
      double f50 = pct (fresh, n, 0.5), f99 = pct (fresh, n, 0.99);
      printf ("true, %d runs: warm sandbox p50 %.2f ms p99 %.2f ms | fresh bwrap p50 %.2f ms p99 "
              "%.2f ms | ratio p50 %.3f (target <= 0.2)\n",
              n, w50, w99, f50, f99, w50 / f50);
      printf ("      bare host posix_spawn of /bin/true p50 %.2f ms | ratio warm / bare p50 %.2f\n",
              pct (bare_lat, n, 0.5), w50 / pct (bare_lat, n, 0.5));
    }
    af_sandbox_free (sb);
  }

  if (named (parts, "warm")) {
    sb = make_sandbox (config, "bench-warm", &error);
    g_assert_no_error (error);
    warm_true (sb, devnull);
    {
      gint64 self0 = self_cpu_ns (), init0 = init_cpu_ns (sb);
      t0 = g_get_monotonic_time ();
      for (int i = 0; i < n; i++)
        warm[i] = warm_true (sb, devnull);
      print_alone ("warm sandbox /bin/true", warm, n, t0);
      printf ("      CPU per command: supervisor (this process) %.0f us, sandbox init %.0f us\n",
              (self_cpu_ns () - self0) / 1000.0 / n, (init_cpu_ns (sb) - init0) / 1000.0 / n);
    }
    af_sandbox_free (sb);
  }
  if (named (parts, "bare")) {
    gint64 self0 = self_cpu_ns ();
    t0 = g_get_monotonic_time ();
    for (int i = 0; i < n; i++)
      bare_lat[i] = bare_true ();
    print_alone ("bare host posix_spawn /bin/true", bare_lat, n, t0);
    printf ("      CPU per command in the spawning process: %.0f us\n",
            (self_cpu_ns () - self0) / 1000.0 / n);
  }
  if (named (parts, "ls")) {
    /* The same `ls /` as the service runs a command string: directly
     * (af_exec_shell_argv finds no shell syntax) and through the shell. */
    g_auto (GStrv) direct = af_exec_shell_argv ("ls /");
    const char *const via_sh[] = { "/bin/sh", "-c", "ls /", NULL };
    g_assert_cmpstr (direct[0], ==, "ls");
    sb = make_sandbox (config, "bench-ls", &error);
    g_assert_no_error (error);
    for (int i = 0; i < 10; i++)
      warm_argv (sb, devnull, (const char *const *)direct);
    for (int i = 0; i < n; i++) {
      warm[i] = warm_argv (sb, devnull, (const char *const *)direct);
      fresh[i] = warm_argv (sb, devnull, via_sh);
    }
    {
      double d50 = pct (warm, n, 0.5), s50 = pct (fresh, n, 0.5);
      printf ("`ls /`, %d runs: direct p50 %.2f ms | /bin/sh -c p50 %.2f ms | ratio %.2f\n", n, d50,
              s50, d50 / s50);
    }
    af_sandbox_free (sb);
  }

  /* 2. start (bwrap) */
  if (want (parts, "start")) {
    for (int i = 0; i < 20; i++) {
      g_autofree char *name = g_strdup_printf ("bench-start-%d", i);
      gint64 s0 = g_get_monotonic_time ();
      AfSandbox *s = make_sandbox (config, name, &error);
      g_assert_no_error (error);
      starts[i] = (g_get_monotonic_time () - s0) / 1000.0;
      af_sandbox_free (s);
      /* Reference, interleaved: the same bwrap running /bin/true and gone. */
      start_refs[i] = fresh_bwrap_true (ws);
    }
    printf ("bwrap sandbox start, 20 runs: p50 %.1f ms, max %.1f ms (target <= 30 ms) | fresh "
            "`bwrap ... true` p50 %.1f ms | ratio p50 %.2f\n",
            pct (starts, 20, 0.5), pct (starts, 20, 0.999), pct (start_refs, 20, 0.5),
            pct (starts, 20, 0.5) / pct (start_refs, 20, 0.5));
    bench_docker_start (ws, init_path);
  }

  /* 3. idle RSS */
  if (want (parts, "rss") || want (parts, "service")) {
    AfSandbox *warm_sb = NULL;
    if (want (parts, "service")) {
      warm_sb = make_sandbox (config, "bench-service", &error);
      g_assert_no_error (error);
    }
    bench_rss (ws, warm_sb, n);
    if (warm_sb)
      af_sandbox_free (warm_sb);
  }

  /* 4. throughput across 8 warm sandboxes, one command in flight each */
  if (want (parts, "throughput")) {
    for (int i = 0; i < 8; i++) {
      g_autofree char *name = g_strdup_printf ("bench-many-%d", i);
      many[i] = make_sandbox (config, name, &error);
      g_assert_no_error (error);
      runs[i] = (Run){ .sb = many[i], .devnull = devnull, .counter = &completed, .again = TRUE };
    }
    t0 = g_get_monotonic_time ();
    for (int i = 0; i < 8; i++)
      start_true (&runs[i]);
    while (g_get_monotonic_time () - t0 < 3 * G_USEC_PER_SEC)
      g_main_context_iteration (NULL, TRUE);
    for (int i = 0; i < 8; i++)
      runs[i].again = FALSE;
    {
      double secs = (g_get_monotonic_time () - t0) / 1e6;
      int c = completed;
      for (int i = 0; i < 8; i++)
        while (!runs[i].done)
          g_main_context_iteration (NULL, TRUE);
      double bare = bare_rate ();
      printf ("throughput, 8 warm sandboxes, `true`: %.0f commands/s (target >= 1000/s) | bare "
              "host posix_spawn, 8 threads: %.0f/s | ratio %.2f\n",
              c / secs, bare, c / secs / bare);
    }
    for (int i = 0; i < 8; i++)
      af_sandbox_free (many[i]);
  }
  close (devnull);
  g_rmdir (ws);
  return 0;
}
