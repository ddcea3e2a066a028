/* test-docker-engine.c — the Docker runtime's engine paths through the
 * real af-exec and a real engine: DOCKER_HOST honoured (a socket reached
 * through another path), refused when not unix://, an engine that is not
 * there, an image that is not there (never pulled), a stale container
 * holding the sandbox's name (removed, and the start retried), a
 * container whose start fails (removed), and loopback without network. */
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "exec-testlib.h"

#define EXIT_AF_EXEC 125

/* af-exec one-shot on @fx's workspace with @docker_host as DOCKER_HOST
 * (the suite's own when NULL), the docker runtime, and @args. */
static int
run_af_exec (ExecFixture *fx, const char *docker_host, char **out, char **err,
             const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) l = NULL;
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;

  g_ptr_array_add (argv, (char *)exec_test_af_exec ());
  g_ptr_array_add (argv, "--workspace");
  g_ptr_array_add (argv, fx->workspace);
  g_ptr_array_add (argv, "--runtime");
  g_ptr_array_add (argv, "docker");
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, (char *)*a);
  g_ptr_array_add (argv, NULL);
  l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  /* NULL: the suite's engine (DOCKER_HOST as the suite was given it, set
   * for the Podman run), which the docker CLI of these tests also uses. */
  if (docker_host)
    g_subprocess_launcher_setenv (l, "DOCKER_HOST", docker_host, TRUE);
  p = g_subprocess_launcher_spawnv (l, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, out, err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (p));
  return g_subprocess_get_exit_status (p);
}

/* `docker container inspect` of @what: TRUE when the engine knows it. */
static gboolean
container_exists (const char *what)
{
  g_autofree char *err = NULL;
  int status = -1;
  const char *argv[] = { "docker", "container", "inspect", "--format", "{{.Id}}", what, NULL };
  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                               &err, &status, NULL));
  if (g_spawn_check_wait_status (status, NULL))
    return TRUE;
  g_assert_true (exec_test_no_such_container (err));
  return FALSE;
}

#define SETUP_ENGINE()                                                                             \
  if (!exec_test_require_sandbox ())                                                               \
  return

static void
test_engine_absent (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *dir = g_dir_make_tmp ("af-docker-none-XXXXXX", NULL);
  g_autofree char *sock = g_build_filename (dir, "missing.sock", NULL);
  g_autofree char *host = g_strconcat ("unix://", sock, NULL);
  g_autofree char *out = NULL, *err = NULL, *expect = NULL;
  const char *args[] = { "--image", EXEC_TEST_IMAGE, "--", "true", NULL };

  g_assert_cmpint (run_af_exec (fx, host, &out, &err, args), ==, EXIT_AF_EXEC);
  expect = g_strdup_printf ("no Docker engine answers at %s", sock);
  g_assert_nonnull (strstr (err, expect));
  g_assert_cmpstr (out, ==, "");
  g_rmdir (dir);
}

static void
test_docker_host_not_unix (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = { "--image", EXEC_TEST_IMAGE, "--", "true", NULL };

  g_assert_cmpint (run_af_exec (fx, "tcp://127.0.0.1:2375", &out, &err, args), ==, EXIT_AF_EXEC);
  g_assert_nonnull (strstr (err, "DOCKER_HOST=tcp://127.0.0.1:2375 is not supported"));
}

/* DOCKER_HOST is what is used: the engine reached through a symlink to
 * its socket in a directory of ours. */
static void
test_docker_host_honoured (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *dir = NULL, *link = NULL, *host = NULL, *out = NULL, *err = NULL;
  const char *args[] = { "--image", EXEC_TEST_IMAGE, "--", "echo", "via-link", NULL };
  SETUP_ENGINE ();

  /* The engine the suite runs against: DOCKER_HOST's socket when set
   * (the Podman run), else the default one. */
  const char *env = g_getenv ("DOCKER_HOST");
  const char *engine =
      env && g_str_has_prefix (env, "unix://") ? env + strlen ("unix://") : "/var/run/docker.sock";

  if (!g_file_test (engine, G_FILE_TEST_EXISTS)) {
    g_autofree char *why = g_strdup_printf ("the engine does not listen at %s", engine);
    g_test_skip (why);
    return;
  }
  dir = g_dir_make_tmp ("af-docker-host-XXXXXX", NULL);
  link = g_build_filename (dir, "engine.sock", NULL);
  g_assert_cmpint (symlink (engine, link), ==, 0);
  host = g_strconcat ("unix://", link, NULL);
  g_assert_cmpint (run_af_exec (fx, host, &out, &err, args), ==, 0);
  g_assert_cmpstr (out, ==, "via-link\n");
  g_unlink (link);
  g_rmdir (dir);
}

static void
test_image_missing (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *image = g_strdup_printf ("agentfense-absent-%d:none", (int)getpid ());
  g_autofree char *id = g_strdup_printf ("dtest-img-%d", (int)getpid ());
  g_autofree char *name = g_strconcat ("agentfense-", id, NULL);
  g_autofree char *out = NULL, *err = NULL, *expect = NULL;
  const char *args[] = { "--image", image, "--sandbox-id", id, "--", "true", NULL };
  const char *inspect[] = { "docker", "image", "inspect", image, NULL };
  int status = -1;
  SETUP_ENGINE ();

  g_assert_cmpint (run_af_exec (fx, NULL, &out, &err, args), ==, EXIT_AF_EXEC);
  expect = g_strdup_printf ("docker image %s not found", image);
  g_assert_nonnull (strstr (err, expect));
  /* Nothing was pulled and no container was made. */
  g_assert_true (
      g_spawn_sync (NULL, (char **)inspect, NULL,
                    G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                    NULL, NULL, NULL, NULL, &status, NULL));
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_false (container_exists (name));
}

/* A pid that named a process which has exited and been reaped. */
static int
dead_pid (void)
{
  const char *true_argv[] = { "/bin/true", NULL };
  int status = -1;
  GPid dead;
  g_assert_true (g_spawn_async (NULL, (char **)true_argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                NULL, &dead, NULL));
  g_assert_cmpint (waitpid (dead, &status, 0), ==, dead);
  return dead;
}

/* `docker create` (never started) a container named @name with our
 * sandbox label and owner labels @pid and @start (NULL: no start label);
 * returns its id. */
static char *
create_owned (const char *name, int pid, const char *start)
{
  g_autofree char *owner = g_strdup_printf ("org.agentfense.owner-pid=%d", pid);
  g_autofree char *owner_start =
      start ? g_strdup_printf ("org.agentfense.owner-start=%s", start) : NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *id = NULL;
  int status = -1;

  for (const char *const *a =
           (const char *const[]){ "docker", "create", "--name", (char *)name, "--network", "none",
                                  "--label", "org.agentfense.sandbox", "--label", owner, NULL };
       *a; a++)
    g_ptr_array_add (argv, (char *)*a);
  if (owner_start) {
    g_ptr_array_add (argv, "--label");
    g_ptr_array_add (argv, owner_start);
  }
  g_ptr_array_add (argv, EXEC_TEST_IMAGE);
  g_ptr_array_add (argv, "true");
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &id, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_strstrip (id);
  g_assert_cmpuint (strlen (id), ==, 64);
  return g_steal_pointer (&id);
}

/* A container left holding the name by a dead owner (as after a crash
 * between create and start) is removed and the start retried; both are
 * gone afterwards. */
static void
test_stale_name (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *id = g_strdup_printf ("dtest-stale-%d", (int)getpid ());
  g_autofree char *name = g_strconcat ("agentfense-", id, NULL);
  g_autofree char *stale = NULL, *out = NULL, *err = NULL;
  const char *args[] = {
    "--image", EXEC_TEST_IMAGE, "--sandbox-id", id, "--", "echo", "fresh", NULL
  };
  SETUP_ENGINE ();

  /* Its owner: a process that has exited. */
  stale = create_owned (name, dead_pid (), NULL);
  g_assert_true (container_exists (stale));

  g_assert_cmpint (run_af_exec (fx, NULL, &out, &err, args), ==, 0);
  g_assert_cmpstr (out, ==, "fresh\n");
  g_assert_false (container_exists (stale));
  g_assert_false (container_exists (name));
}

/* A container holding the name whose owner is alive is another af-exec's
 * sandbox: refused, and left alone. */
static void
test_live_owner (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *id = g_strdup_printf ("dtest-live-%d", (int)getpid ());
  g_autofree char *name = g_strconcat ("agentfense-", id, NULL);
  g_autofree char *owner = g_strdup_printf ("org.agentfense.owner-pid=%d", (int)getpid ());
  g_autofree char *theirs = NULL, *out = NULL, *err = NULL;
  const char *args[] = { "--image", EXEC_TEST_IMAGE, "--sandbox-id", id, "--", "true", NULL };
  const char *create[] = { "docker",    "create", "--name",        name,   "--label", owner,
                           "--network", "none",   EXEC_TEST_IMAGE, "true", NULL };
  const char *rm[] = { "docker", "rm", "-f", name, NULL };
  int status = -1;
  SETUP_ENGINE ();

  g_assert_true (g_spawn_sync (NULL, (char **)create, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &theirs, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_strstrip (theirs);

  g_assert_cmpint (run_af_exec (fx, NULL, &out, &err, args), ==, EXIT_AF_EXEC);
  g_assert_nonnull (strstr (err, "sandbox name in use"));
  g_assert_true (container_exists (theirs));

  g_assert_true (g_spawn_sync (NULL, (char **)rm, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                               NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* This process's start time in clock ticks since boot (/proc/self/stat
 * field 22), as af-exec labels its containers. */
static char *
own_start_time (void)
{
  g_autofree char *stat = NULL;
  g_auto (GStrv) fields = NULL;
  g_assert_true (g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL));
  fields = g_strsplit (strrchr (stat, ')') + 2, " ", -1);
  g_assert_cmpuint (g_strv_length (fields), >, 19);
  return g_strdup (fields[19]); /* field 22; fields[0] is field 3 */
}

/* Containers created for sandboxes whose af-exec died before starting
 * them are never removed by the engine (AutoRemove needs a run): the next
 * docker sandbox started removes them — those whose owner is gone, or
 * whose pid now names another process (start time differs) — and leaves
 * the one of a live owner alone. */
static void
test_orphans_removed (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *tag = g_strdup_printf ("%d", (int)getpid ());
  g_autofree char *n_dead = g_strconcat ("agentfense-dtest-orphan-dead-", tag, NULL);
  g_autofree char *n_reused = g_strconcat ("agentfense-dtest-orphan-reused-", tag, NULL);
  g_autofree char *n_live = g_strconcat ("agentfense-dtest-orphan-live-", tag, NULL);
  g_autofree char *start = NULL, *dead_id = NULL, *reused_id = NULL, *live_id = NULL;
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = { "--image", EXEC_TEST_IMAGE, "--", "echo", "swept", NULL };
  const char *rm[] = { "docker", "rm", "-f", n_live, NULL };
  int status = -1;
  SETUP_ENGINE ();

  start = own_start_time ();
  dead_id = create_owned (n_dead, dead_pid (), "4242");
  reused_id = create_owned (n_reused, (int)getpid (), "1"); /* our pid, not our start */
  live_id = create_owned (n_live, (int)getpid (), start);

  g_assert_cmpint (run_af_exec (fx, NULL, &out, &err, args), ==, 0);
  g_assert_cmpstr (out, ==, "swept\n");
  g_assert_false (container_exists (dead_id));
  g_assert_false (container_exists (reused_id));
  g_assert_true (container_exists (live_id));

  g_assert_true (g_spawn_sync (NULL, (char **)rm, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                               NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* Without network the container has no engine-made network at all
 * (NetworkDisabled): still its own loopback, up, where a server and a
 * client inside talk, and `localhost` resolves through our /etc/hosts. */
static void
test_loopback_without_network (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = {
    "--image",
    EXEC_TEST_IMAGE,
    "--",
    "sh",
    "-c",
    "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; cat /sys/class/net/lo/flags; "
    "nc -l -p 5555 -e echo inside & "
    "for i in $(seq 100); do nc localhost 5555 </dev/null && exit 0; sleep 0.05; done; exit 1",
    NULL
  };
  SETUP_ENGINE ();

  g_assert_cmpint (run_af_exec (fx, NULL, &out, &err, args), ==, 0);
  /* lo only, IFF_UP (0x1) set, and the round trip through it. */
  g_assert_true (g_str_has_prefix (out, "lo\n0x"));
  g_assert_cmpint (g_ascii_strtoll (out + 3, NULL, 16) & 1, ==, 1);
  g_assert_true (g_str_has_suffix (out, "\ninside\n"));
}

/* A container the engine created but could not start is removed at once
 * (AutoRemove acts only on one that ran): an image whose /workspace is a
 * file makes the engine's start fail after its create succeeded. */
static void
test_start_failure_removes (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *image = g_strdup_printf ("agentfense-badws-%d:test", (int)getpid ());
  g_autofree char *id = g_strdup_printf ("dtest-badws-%d", (int)getpid ());
  g_autofree char *name = g_strconcat ("agentfense-", id, NULL);
  g_autofree char *dir = NULL, *import = NULL, *out = NULL, *err = NULL;
  const char *args[] = { "--image", image, "--sandbox-id", id, "--", "true", NULL };
  const char *rmi[] = { "docker", "image", "rm", image, NULL };
  int status = -1;
  SETUP_ENGINE ();

  dir = g_dir_make_tmp ("af-docker-badws-XXXXXX", NULL);
  import = g_strdup_printf ("cd '%s' && touch workspace && tar -cf - workspace | docker import - "
                            "%s && rm workspace",
                            dir, image);
  {
    const char *sh[] = { "/bin/sh", "-c", import, NULL };
    g_assert_true (g_spawn_sync (NULL, (char **)sh, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                                 NULL, NULL, &status, NULL));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
  g_rmdir (dir);

  g_assert_cmpint (run_af_exec (fx, NULL, &out, &err, args), ==, EXIT_AF_EXEC);
  g_assert_nonnull (strstr (err, "the Docker engine could not start container"));
  g_assert_false (container_exists (name));

  g_assert_true (g_spawn_sync (NULL, (char **)rmi, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                               NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("AF_EXEC_TEST_RUNTIME", "docker", TRUE);
#define ADD(path, fn)                                                                              \
  g_test_add ("/af-exec/docker-engine/" path, ExecFixture, NULL, exec_fixture_setup, fn,           \
              exec_fixture_teardown)
  ADD ("engine-absent", test_engine_absent);
  ADD ("docker-host-not-unix", test_docker_host_not_unix);
  ADD ("docker-host-honoured", test_docker_host_honoured);
  ADD ("image-missing", test_image_missing);
  ADD ("stale-name", test_stale_name);
  ADD ("live-owner", test_live_owner);
  ADD ("orphans-removed", test_orphans_removed);
  ADD ("loopback-without-network", test_loopback_without_network);
  ADD ("start-failure-removes", test_start_failure_removes);
  return g_test_run ();
}
