/* runtime-docker.c — the Docker runtime: one container per sandbox, our
 * init as its entrypoint, every command spawned by that init.
 *
 * Owns: the container's definition (image, /workspace bind, limits,
 * network none unless asked, all capabilities dropped, no-new-privileges,
 * our seccomp profile, the sandbox's unprivileged uid), the listening socket
 * the init connects back to (bind-mounted into the container; only a peer
 * with the sandbox's uid that is the container's pid 1 is accepted), and
 * removing the container (also when af-exec dies: --rm). The engine is
 * driven through its CLI (`docker`, or any drop-in such as podman) and only
 * at start and stop: commands never go through the engine, so a command
 * costs what it costs under bwrap.
 * Must never: start a container as root, or keep a container after stop. */
#define _GNU_SOURCE
#include "runtime.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "af-dirs.h"
#include "af-error.h"
#include "init-channel.h"
#include "seccomp-filter.h"

#define CONNECT_TIMEOUT_MS 30000

typedef struct {
  AfRuntime parent;
  AfInitChannel *channel;
  char *cli;
  char *container;
  char *dir; /* host dir with the socket and the seccomp profile */
  int init_pid;
} AfRuntimeDocker;

/* Run the CLI; stdout (trimmed) on success, the CLI's own message otherwise. */
static char *
cli (AfRuntimeDocker *self, GError **error, const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *out = NULL, *err = NULL;
  int status;
  va_list ap;

  g_ptr_array_add (argv, self->cli);
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *)a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                     &status, error))
    return NULL;
  if (!g_spawn_check_wait_status (status, NULL)) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "%s", g_strstrip (err));
    return NULL;
  }
  return g_strdup (g_strstrip (out));
}

static void
add (GPtrArray *a, const char *first, ...)
{
  va_list ap;
  va_start (ap, first);
  for (const char *s = first; s; s = va_arg (ap, const char *))
    g_ptr_array_add (a, g_strdup (s));
  va_end (ap);
}

static int
listen_socket (const char *path, GError **error)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd;

  if (strlen (path) >= sizeof sa.sun_path) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "socket path too long: %s", path);
    return -1;
  }
  strcpy (sa.sun_path, path);
  fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind (fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen (fd, 1) < 0 ||
      chmod (path, 0666) < 0) {
    int saved = errno;
    if (fd >= 0)
      close (fd);
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot listen on %s: %s", path,
                 g_strerror (saved));
    return -1;
  }
  return fd;
}

/* Whether host @pid is pid 1 of our container: its last NSpid is 1 (the
 * init of a pid namespace) and its cgroup path names the container's full
 * id (`/docker/<id>`, `docker-<id>.scope`, `libpod-<id>.scope`). Read from
 * /proc rather than asking the engine: an engine round trip (`inspect`)
 * costs a CLI process per start. */
static gboolean
is_container_init (AfRuntimeDocker *self, int pid)
{
  g_autofree char *status_path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *cgroup_path = g_strdup_printf ("/proc/%d/cgroup", pid);
  g_autofree char *status = NULL, *cgroups = NULL;
  const char *nspid, *eol, *last;

  if (self->container == NULL || strlen (self->container) < 32 ||
      !g_file_get_contents (status_path, &status, NULL, NULL) ||
      !g_file_get_contents (cgroup_path, &cgroups, NULL, NULL))
    return FALSE;
  nspid = strstr (status, "\nNSpid:");
  if (nspid == NULL)
    return FALSE;
  nspid += strlen ("\nNSpid:");
  eol = strchrnul (nspid, '\n');
  last = eol;
  while (last > nspid && last[-1] != '\t' && last[-1] != ' ')
    last--;
  /* At least two levels (host, container), the innermost being 1. */
  if (eol - last != 1 || *last != '1')
    return FALSE;
  while (nspid < last && !g_ascii_isdigit (*nspid))
    nspid++;
  if (nspid == last)
    return FALSE;
  return strstr (cgroups, self->container) != NULL;
}

/* Accept the init's connection; anyone else who connects is dropped. */
static int
accept_init (AfRuntimeDocker *self, int lfd, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + CONNECT_TIMEOUT_MS * 1000;

  for (;;) {
    struct pollfd pfd = { lfd, POLLIN, 0 };
    int left = (int)((deadline - g_get_monotonic_time ()) / 1000);
    struct ucred cred;
    socklen_t len = sizeof cred;
    int fd;

    if (left <= 0 || poll (&pfd, 1, left) <= 0) {
      g_set_error (error, AF_ERROR, AF_ERROR_DEADLINE_EXCEEDED,
                   "the container's init did not connect within %d ms", CONNECT_TIMEOUT_MS);
      return -1;
    }
    fd = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
        cred.uid == self->parent.cfg->host_uid && is_container_init (self, cred.pid)) {
      self->init_pid = cred.pid;
      return fd;
    }
    close (fd);
  }
}

/* `docker run -d`; a name left by a crashed af-exec is removed and the run
 * retried once. Errors name what is missing: the engine or the image. */
static gboolean
run_container (AfRuntimeDocker *self, GPtrArray *argv, const char *name, GError **error)
{
  const char *image = self->parent.cfg->image;

  for (int attempt = 0; attempt < 2; attempt++) {
    g_autoptr (GPtrArray) full = g_ptr_array_new ();
    g_autofree char *out = NULL, *err = NULL;
    int status;

    g_ptr_array_add (full, self->cli);
    for (guint i = 0; i + 1 < argv->len; i++)
      g_ptr_array_add (full, argv->pdata[i]);
    g_ptr_array_add (full, NULL);
    if (!g_spawn_sync (NULL, (char **)full->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                       &status, error))
      return FALSE;
    if (g_spawn_check_wait_status (status, NULL)) {
      self->container = g_strdup (g_strstrip (out));
      return TRUE;
    }
    g_strstrip (err);
    if (attempt == 0 && strstr (err, "Conflict")) {
      g_free (cli (self, NULL, "rm", "-f", name, NULL));
      continue;
    }
    if (strstr (err, "No such image") || strstr (err, "Unable to find image") ||
        strstr (err, "pull access denied")) {
      g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND, "docker image %s not found: %s", image,
                   err);
    } else if (strstr (err, "Cannot connect to the Docker daemon") ||
               strstr (err, "error during connect") || strstr (err, "daemon running")) {
      g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                   "no Docker engine answers (is dockerd running?): %s", err);
    } else {
      g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "docker run failed: %s", err);
    }
    return FALSE;
  }
  return FALSE;
}

static void
on_died (gpointer data, const char *reason)
{
  AfRuntime *rt = data;
  if (rt->died)
    rt->died (rt->died_data, reason);
}

static gboolean
docker_start (AfRuntime *rt, GError **error)
{
  AfRuntimeDocker *self = (AfRuntimeDocker *)rt;
  const AfSandboxConfig *cfg = rt->cfg;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *profile = NULL, *profile_path = NULL, *sock = NULL;
  g_autofree char *runtime_dir = NULL, *name = NULL;
  AfDirsEnv env;
  int lfd = -1, fd;
  char buf[64];

  self->cli = g_find_program_in_path ("docker");
  if (self->cli == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "the docker CLI is not installed or not in PATH");
    return FALSE;
  }
  if (geteuid () == 0 && cfg->host_uid == 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "refusing to run a container as root: give it an unprivileged uid");
    return FALSE;
  }

  af_dirs_env_from_process (&env);
  runtime_dir = af_dirs_runtime_dir (&env);
  self->dir = g_build_filename (runtime_dir, "exec", cfg->name, NULL);
  if (!af_dirs_ensure (self->dir, 0711, error))
    return FALSE;
  chmod (self->dir, 0711);
  profile = af_seccomp_docker_profile ();
  profile_path = g_build_filename (self->dir, "seccomp.json", NULL);
  if (!g_file_set_contents (profile_path, profile, -1, error))
    return FALSE;
  sock = g_build_filename (self->dir, "init.sock", NULL);
  g_unlink (sock);
  lfd = listen_socket (sock, error);
  if (lfd < 0)
    return FALSE;

  name = g_strdup_printf ("agentfense-%s", cfg->name);
  /* run -d = create + start in one CLI call; --pull never: a missing
   * image is an error, never a download. */
  /* --rm (the engine's AutoRemove): the container goes away as soon as its
   * init exits. The init exits when our socket closes, which the kernel
   * does for us even when af-exec is SIGKILLed, so no stopped container of
   * a dead af-exec is left behind. */
  add (argv, "run", "--detach", "--rm", "--pull", "never", "--name", name, "--label",
       "org.agentfense.sandbox", "--init=false", "--hostname", "sandbox", "--cap-drop", "ALL",
       "--security-opt", "no-new-privileges", "--read-only", "--log-driver", "none", NULL);
  g_ptr_array_add (argv, g_strdup_printf ("--label=org.agentfense.owner-pid=%d", (int)getpid ()));
  g_ptr_array_add (argv, g_strdup_printf ("--security-opt=seccomp=%s", profile_path));
  g_ptr_array_add (argv,
                   g_strdup_printf ("--user=%u:%u", (guint)cfg->host_uid, (guint)cfg->host_gid));
  add (argv, "--network", cfg->network ? "bridge" : "none", NULL);
  g_ptr_array_add (argv, g_strdup_printf ("--tmpfs=/tmp:rw,nosuid,nodev,size=%" G_GINT64_FORMAT
                                          ",mode=1777",
                                          cfg->tmp_size));
  g_ptr_array_add (argv,
                   g_strdup_printf ("--tmpfs=/home/sandbox:rw,nosuid,nodev,size=%" G_GINT64_FORMAT
                                    ",mode=1777",
                                    cfg->tmp_size));
  g_ptr_array_add (argv,
                   g_strdup_printf ("--mount=type=bind,src=%s,dst=/workspace", cfg->workspace));
  g_ptr_array_add (
      argv, g_strdup_printf ("--mount=type=bind,src=%s,dst=/.af-init,readonly", cfg->init_path));
  g_ptr_array_add (argv, g_strdup_printf ("--mount=type=bind,src=%s,dst=/.af-exec", self->dir));
  if (cfg->limits.memory_bytes > 0) {
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, cfg->limits.memory_bytes);
    add (argv, "--memory", buf, "--memory-swap", buf, NULL);
  }
  if (cfg->limits.cpu_quota_us > 0) {
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, cfg->limits.cpu_quota_us);
    add (argv, "--cpu-period", "100000", "--cpu-quota", buf, NULL);
  }
  if (cfg->limits.cpu_shares > 0) {
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, cfg->limits.cpu_shares);
    add (argv, "--cpu-shares", buf, NULL);
  }
  if (cfg->limits.pids > 0) {
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, cfg->limits.pids);
    add (argv, "--pids-limit", buf, NULL);
  }
  add (argv, "--entrypoint", "/.af-init", cfg->image, "--connect", "/.af-exec/init.sock", NULL);
  g_ptr_array_add (argv, NULL);

  if (!run_container (self, argv, name, error))
    goto fail;
  fd = accept_init (self, lfd, error);
  if (fd < 0)
    goto fail;
  close (lfd);
  lfd = -1;
  g_unlink (sock);
  self->channel = af_init_channel_new (fd, on_died, rt);
  if (!af_init_channel_wait_ready (self->channel, CONNECT_TIMEOUT_MS, error))
    goto fail;
  af_init_channel_attach (self->channel);
  return TRUE;

fail:
  if (lfd >= 0)
    close (lfd);
  g_unlink (sock);
  return FALSE;
}

int
af_runtime_docker_init_pid (AfRuntime *rt)
{
  return ((AfRuntimeDocker *)rt)->init_pid;
}

static gboolean
docker_spawn (AfRuntime *rt, guint64 id, const AfSpawnRequest *req, GError **error)
{
  AfRuntimeDocker *self = (AfRuntimeDocker *)rt;
  if (self->channel == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "the sandbox is not running");
    return FALSE;
  }
  return af_init_channel_spawn (self->channel, id, req, error);
}

static void
docker_kill (AfRuntime *rt)
{
  AfRuntimeDocker *self = (AfRuntimeDocker *)rt;
  /* The init is the container's pid 1: its death ends the container. */
  if (self->init_pid > 0)
    kill (self->init_pid, SIGKILL);
}

static void
docker_stop (AfRuntime *rt)
{
  AfRuntimeDocker *self = (AfRuntimeDocker *)rt;

  if (self->channel) {
    af_init_channel_forget_all (self->channel);
    g_clear_pointer (&self->channel, af_init_channel_free);
  }
  if (self->container) {
    g_free (cli (self, NULL, "rm", "-f", self->container, NULL));
    g_clear_pointer (&self->container, g_free);
  }
  if (self->dir) {
    g_autofree char *profile = g_build_filename (self->dir, "seccomp.json", NULL);
    g_autofree char *sock = g_build_filename (self->dir, "init.sock", NULL);
    g_unlink (profile);
    g_unlink (sock);
    g_rmdir (self->dir);
    g_clear_pointer (&self->dir, g_free);
  }
}

static void
docker_free (AfRuntime *rt)
{
  AfRuntimeDocker *self = (AfRuntimeDocker *)rt;
  docker_stop (rt);
  g_free (self->cli);
  g_free (self);
}

static const AfRuntimeVTable docker_vtable = {
  .name = "docker",
  .start = docker_start,
  .spawn = docker_spawn,
  .kill = docker_kill,
  .stop = docker_stop,
  .free = docker_free,
};

AfRuntime *
af_runtime_docker_new (AfSandboxConfig *cfg, AfCgroup *cgroup)
{
  AfRuntimeDocker *self = g_new0 (AfRuntimeDocker, 1);
  self->parent.vtable = &docker_vtable;
  self->parent.cfg = cfg;
  self->parent.cgroup = cgroup;
  return &self->parent;
}
