/* runtime-docker.c — the Docker runtime: one container per sandbox, our
 * init as its entrypoint, every command spawned by that init.
 *
 * Owns: the container's definition (image, /workspace bind, limits,
 * network none unless asked, all capabilities dropped, no-new-privileges,
 * our seccomp profile, the sandbox's unprivileged uid), the listening socket
 * the init connects back to (bind-mounted into the container; only a peer
 * with the sandbox's uid that is the container's pid 1 is accepted), and
 * removing the container (also when af-exec dies: AutoRemove). The engine
 * is asked over its API (docker-engine.c) and only at start (create, start)
 * and stop (delete): commands never go through the engine, so a command
 * costs what it costs under bwrap.
 * Must never: start a container as root, or keep a container after stop. */
#define _GNU_SOURCE
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "af-dirs.h"
#include "af-error.h"
#include "docker-engine.h"
#include "init-channel.h"
#include "seccomp-filter.h"

#define CONNECT_TIMEOUT_MS 30000
#define SANDBOX_LABEL "org.agentfense.sandbox"
#define OWNER_LABEL "org.agentfense.owner-pid"
/* The owner's start time (clock ticks since boot, /proc/PID/stat field 22):
 * with the pid, it names one process, however pids are reused. */
#define OWNER_START_LABEL "org.agentfense.owner-start"

/* /etc/hosts of a container without network: names for loopback only. */
#define HOSTS "127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n"

typedef struct {
  AfRuntime parent;
  AfInitChannel *channel;
  AfDockerEngine *engine;
  char *container; /* full id, once created */
  char *dir;       /* host dir: the init's socket, our /etc/hosts */
  int init_pid;
} AfRuntimeDocker;

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
 * /proc rather than asking the engine: one round trip (`inspect`) less
 * per start. */
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

/* Start time of @pid in clock ticks since boot (field 22 of
 * /proc/PID/stat), or 0 when there is no such process. */
static guint64
proc_start_time (pid_t pid)
{
  char path[64], buf[1024];
  const char *p;
  ssize_t n;
  int fd;

  g_snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* After the command name's closing parenthesis: field 3 onwards. */
  p = strrchr (buf, ')');
  for (int field = 2; p != NULL && field < 22; field++)
    p = strchr (p + 1, ' ');
  return p ? g_ascii_strtoull (p + 1, NULL, 10) : 0;
}

/* The integer value of label @name, 0 when absent or not a number. */
static gint64
label_int (JsonObject *labels, const char *name)
{
  const char *text = json_object_get_string_member_with_default (labels, name, NULL);
  gint64 v;
  return text && g_ascii_string_to_signed (text, 10, 1, G_MAXINT64, &v, NULL) ? v : 0;
}

/* Whether the af-exec named by a container's owner labels still runs
 * (pid in @pid). A container without an owner pid has none alive; one
 * without a start time (made before that label existed) is judged by its
 * pid alone. */
static gboolean
owner_alive (JsonObject *labels, gint64 *pid)
{
  gint64 start = label_int (labels, OWNER_START_LABEL);

  *pid = label_int (labels, OWNER_LABEL);
  if (*pid <= 0 || *pid > G_MAXINT)
    return FALSE;
  if (*pid == getpid ())
    return FALSE; /* ours is being made now, under this name: a leftover */
  if (kill ((pid_t)*pid, 0) != 0 && errno != EPERM)
    return FALSE;
  return start == 0 || (gint64)proc_start_time ((pid_t)*pid) == start;
}

/* Containers of ours that were created but never started, whose af-exec
 * is gone (killed between create and start): AutoRemove only acts on a
 * container that ran, so nothing else would ever remove them. Best
 * effort, at each start: a failure here must not fail the sandbox. */
static void
remove_orphans (AfRuntimeDocker *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = af_docker_engine_list_created (self->engine, SANDBOX_LABEL, &error);

  if (list == NULL) {
    g_debug ("not looking for orphaned containers: %s", error->message);
    return;
  }
  for (guint i = 0; i < list->len; i++) {
    JsonObject *c = list->pdata[i];
    JsonNode *labels = json_object_get_member (c, "Labels");
    const char *id = json_object_get_string_member (c, "Id");
    gint64 pid;

    if (labels == NULL || !JSON_NODE_HOLDS_OBJECT (labels) ||
        owner_alive (json_node_get_object (labels), &pid))
      continue;
    if (af_docker_engine_remove (self->engine, id, &error))
      g_debug ("removed container %.12s, created by a process that is gone (pid %" G_GINT64_FORMAT
               ")",
               id, pid);
    else
      g_debug ("%s", error->message);
    g_clear_error (&error);
  }
}

/* The container's Config, HostConfig included: what `docker run` would
 * send for the same flags. */
static JsonNode *
container_config (AfRuntimeDocker *self, const char *init_sock, const char *seccomp)
{
  const AfSandboxConfig *cfg = self->parent.cfg;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autofree char *user = g_strdup_printf ("%u:%u", (guint)cfg->host_uid, (guint)cfg->host_gid);
  g_autofree char *owner = g_strdup_printf ("%d", (int)getpid ());
  g_autofree char *owner_start =
      g_strdup_printf ("%" G_GUINT64_FORMAT, proc_start_time (getpid ()));
  g_autofree char *tmpfs =
      g_strdup_printf ("rw,nosuid,nodev,size=%" G_GINT64_FORMAT ",mode=1777", cfg->tmp_size);
  g_autofree char *hosts = g_build_filename (self->dir, "hosts", NULL);
  const struct {
    const char *src, *dst;
    gboolean ro;
  } mounts[] = {
    { cfg->workspace, "/workspace", FALSE },
    { cfg->init_path, "/.af-init", TRUE },
    { self->dir, "/.af-exec", FALSE },
    { hosts, "/etc/hosts", TRUE }, /* without network only */
  };
  gsize n_mounts = G_N_ELEMENTS (mounts) - (cfg->network ? 1 : 0);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "Image");
  json_builder_add_string_value (b, cfg->image);
  json_builder_set_member_name (b, "Hostname");
  json_builder_add_string_value (b, "sandbox");
  json_builder_set_member_name (b, "User");
  json_builder_add_string_value (b, user);
  json_builder_set_member_name (b, "Entrypoint");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, "/.af-init");
  json_builder_end_array (b);
  json_builder_set_member_name (b, "Cmd");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, "--connect");
  json_builder_add_string_value (b, init_sock);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "Env"); /* the init builds each command's */
  json_builder_begin_array (b);
  json_builder_end_array (b);
  /* Without network, no network at all for the engine to set up: runc
   * makes an empty network namespace with `lo` up, as bwrap does. With
   * NetworkMode none alone the engine still builds a libnetwork sandbox
   * and has runc run a prestart hook (`dockerd libnetwork-setkey`, the
   * whole engine binary started again): that was 60 % of a start here.
   * It also wrote /etc/hosts; ours is bind-mounted instead. */
  json_builder_set_member_name (b, "NetworkDisabled");
  json_builder_add_boolean_value (b, !cfg->network);
  json_builder_set_member_name (b, "Labels");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, SANDBOX_LABEL);
  json_builder_add_string_value (b, "");
  json_builder_set_member_name (b, OWNER_LABEL);
  json_builder_add_string_value (b, owner);
  json_builder_set_member_name (b, OWNER_START_LABEL);
  json_builder_add_string_value (b, owner_start);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "HostConfig");
  json_builder_begin_object (b);
  /* AutoRemove (`--rm`): the container goes away as soon as its init
   * exits. The init exits when our socket closes, which the kernel does
   * for us even when af-exec is SIGKILLed, so no stopped container of a
   * dead af-exec is left behind. */
  json_builder_set_member_name (b, "AutoRemove");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "Init");
  json_builder_add_boolean_value (b, FALSE);
  json_builder_set_member_name (b, "ReadonlyRootfs");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "NetworkMode");
  json_builder_add_string_value (b, cfg->network ? "bridge" : "none");
  json_builder_set_member_name (b, "CapDrop");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, "ALL");
  json_builder_end_array (b);
  /* dockerd takes the profile inline (what the CLI sends for a
   * --security-opt file); Podman a path (seccomp_option). */
  json_builder_set_member_name (b, "SecurityOpt");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, "no-new-privileges");
  json_builder_add_string_value (b, seccomp);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "LogConfig");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "Type");
  json_builder_add_string_value (b, "none");
  json_builder_set_member_name (b, "Config");
  json_builder_begin_object (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "Tmpfs");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "/tmp");
  json_builder_add_string_value (b, tmpfs);
  json_builder_set_member_name (b, "/home/sandbox");
  json_builder_add_string_value (b, tmpfs);
  json_builder_end_object (b);
  /* Mounts, not Binds: a missing source is an error (Binds would create
   * it as root), and no path syntax to escape. */
  json_builder_set_member_name (b, "Mounts");
  json_builder_begin_array (b);
  for (gsize i = 0; i < n_mounts; i++) {
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "Type");
    json_builder_add_string_value (b, "bind");
    json_builder_set_member_name (b, "Source");
    json_builder_add_string_value (b, mounts[i].src);
    json_builder_set_member_name (b, "Target");
    json_builder_add_string_value (b, mounts[i].dst);
    json_builder_set_member_name (b, "ReadOnly");
    json_builder_add_boolean_value (b, mounts[i].ro);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  if (cfg->limits.memory_bytes > 0) {
    json_builder_set_member_name (b, "Memory");
    json_builder_add_int_value (b, cfg->limits.memory_bytes);
    json_builder_set_member_name (b, "MemorySwap"); /* no swap beyond it */
    json_builder_add_int_value (b, cfg->limits.memory_bytes);
  }
  if (cfg->limits.cpu_quota_us > 0) {
    json_builder_set_member_name (b, "CpuPeriod");
    json_builder_add_int_value (b, 100000);
    json_builder_set_member_name (b, "CpuQuota");
    json_builder_add_int_value (b, cfg->limits.cpu_quota_us);
  }
  if (cfg->limits.cpu_shares > 0) {
    json_builder_set_member_name (b, "CpuShares");
    json_builder_add_int_value (b, cfg->limits.cpu_shares);
  }
  if (cfg->limits.pids > 0) {
    json_builder_set_member_name (b, "PidsLimit");
    json_builder_add_int_value (b, cfg->limits.pids);
  }
  json_builder_end_object (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* Create and start the container. A container of a crashed af-exec that
 * holds the name is removed and the create retried once. Errors name what
 * is missing: the engine or the image. */
/* The SecurityOpt entry with our seccomp profile. dockerd wants the
 * profile's JSON in it; Podman's compat layer reads `seccomp=` as the
 * path of a profile file (the service runs on this host as root), so
 * for Podman the profile is written next to the init socket, readable
 * by the service, and named. */
static char *
seccomp_option (AfRuntimeDocker *self, GError **error)
{
  g_autofree char *profile = af_seccomp_docker_profile ();
  g_autofree char *path = NULL;

  if (!af_docker_engine_is_podman (self->engine))
    return g_strconcat ("seccomp=", profile, NULL);
  path = g_build_filename (self->dir, "seccomp.json", NULL);
  if (!g_file_set_contents_full (path, profile, -1, G_FILE_SET_CONTENTS_NONE, 0644, error))
    return NULL;
  return g_strconcat ("seccomp=", path, NULL);
}

static gboolean
run_container (AfRuntimeDocker *self, const char *name, const char *init_sock, GError **error)
{
  g_autofree char *seccomp = seccomp_option (self, error);
  g_autoptr (JsonNode) config = NULL;
  g_autoptr (GError) local = NULL;

  if (seccomp == NULL)
    return FALSE;
  config = container_config (self, init_sock, seccomp);

  self->container =
      af_docker_engine_create (self->engine, name, config, self->parent.cfg->image, &local);
  if (self->container == NULL && g_error_matches (local, AF_ERROR, AF_ERROR_ALREADY_EXISTS)) {
    g_autoptr (JsonObject) labels = NULL;
    gint64 owner;
    g_clear_error (&local);
    /* Stale only if its owner is gone: never remove the container of a
     * live af-exec that uses the same sandbox name. */
    if (!af_docker_engine_labels (self->engine, name, &labels, error))
      return FALSE;
    if (labels != NULL && owner_alive (labels, &owner)) {
      g_set_error (error, AF_ERROR, AF_ERROR_ALREADY_EXISTS,
                   "container %s belongs to a running process (pid %" G_GINT64_FORMAT
                   "): sandbox name in use",
                   name, owner);
      return FALSE;
    }
    if (!af_docker_engine_remove (self->engine, name, error))
      return FALSE;
    self->container =
        af_docker_engine_create (self->engine, name, config, self->parent.cfg->image, &local);
  }
  if (self->container == NULL) {
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  if (af_docker_engine_start (self->engine, self->container, error))
    return TRUE;
  /* AutoRemove only acts on a container that ran. */
  af_docker_engine_remove (self->engine, self->container, NULL);
  g_clear_pointer (&self->container, g_free);
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
  g_autofree char *sock = NULL, *runtime_dir = NULL, *name = NULL;
  AfDirsEnv env;
  int lfd = -1, fd;

  if (geteuid () == 0 && cfg->host_uid == 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "refusing to run a container as root: give it an unprivileged uid");
    return FALSE;
  }
  self->engine = af_docker_engine_new (g_getenv ("DOCKER_HOST"), error);
  if (self->engine == NULL || !af_docker_engine_ping (self->engine, error))
    return FALSE;
  remove_orphans (self);

  af_dirs_env_from_process (&env);
  runtime_dir = af_dirs_runtime_dir (&env);
  self->dir = g_build_filename (runtime_dir, "exec", cfg->name, NULL);
  if (!af_dirs_ensure (self->dir, 0711, error))
    return FALSE;
  chmod (self->dir, 0711);
  if (!cfg->network) {
    g_autofree char *hosts = g_build_filename (self->dir, "hosts", NULL);
    if (!g_file_set_contents_full (hosts, HOSTS, -1, G_FILE_SET_CONTENTS_NONE, 0644, error))
      return FALSE;
  }
  sock = g_build_filename (self->dir, "init.sock", NULL);
  g_unlink (sock);
  lfd = listen_socket (sock, error);
  if (lfd < 0)
    return FALSE;

  name = g_strdup_printf ("agentfense-%s", cfg->name);
  if (!run_container (self, name, "/.af-exec/init.sock", error))
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
    /* Best effort: stop has no caller to report to, and AutoRemove or the
     * next start's name-conflict retry removes what is left. */
    af_docker_engine_remove (self->engine, self->container, NULL);
    g_clear_pointer (&self->container, g_free);
  }
  if (self->dir) {
    g_autofree char *sock = g_build_filename (self->dir, "init.sock", NULL);
    g_autofree char *hosts = g_build_filename (self->dir, "hosts", NULL);
    g_unlink (sock);
    g_unlink (hosts);
    g_rmdir (self->dir);
    g_clear_pointer (&self->dir, g_free);
  }
}

static void
docker_free (AfRuntime *rt)
{
  AfRuntimeDocker *self = (AfRuntimeDocker *)rt;
  docker_stop (rt);
  af_docker_engine_free (self->engine);
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
