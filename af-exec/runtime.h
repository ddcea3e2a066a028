/* runtime.h — one isolation backend per file behind this vtable.
 *
 * Owns: the contract between the command layer (exec.c, session.c) and a
 * runtime (runtime-bwrap.c, runtime-docker.c): start the sandbox once, then
 * spawn processes in it with passed fds, each reported once as spawned (or
 * failed) and once as exited. A runtime knows nothing of output capture,
 * timeouts or sessions. Must never: apply the request's environment to a
 * host-side process, or run anything as host root. */
#pragma once

#include <gio/gio.h>
#include <sys/types.h>

#include "cgroup.h"

G_BEGIN_DECLS

typedef enum {
  AF_RUNTIME_BWRAP,
  AF_RUNTIME_DOCKER,
} AfRuntimeKind;

/* Everything a sandbox is built from; fixed for its life. */
typedef struct {
  AfRuntimeKind kind;
  char *name;      /* sandbox id, or "oneshot-PID": names cgroups/containers */
  char *workspace; /* host directory bound at /workspace */
  char *image;     /* docker only */
  char *init_path; /* host path of af-exec-init */
  AfLimits limits;
  gboolean network;
  gint64 tmp_size; /* bytes of the private /tmp (and /home) tmpfs */
  uid_t host_uid;  /* the unprivileged host uid the sandbox runs as */
  gid_t host_gid;
  char *cgroup_parent; /* "agentfense" */
} AfSandboxConfig;

void af_sandbox_config_clear (AfSandboxConfig *cfg);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AfSandboxConfig, af_sandbox_config_clear)

typedef struct _AfRuntime AfRuntime;

/* Called once per spawn: @pid > 0 (inside the sandbox) or @error set. */
typedef void (*AfSpawnedFunc) (gpointer data, int pid, const GError *error);
/* Called once per successful spawn, with the main process's wait status. */
typedef void (*AfExitedFunc) (gpointer data, int wait_status);
/* The sandbox itself died (init gone); every pending spawn is failed. */
typedef void (*AfRuntimeDiedFunc) (gpointer data, const char *reason);

typedef struct {
  const char *const *argv;
  const char *const *envp; /* the complete environment inside */
  const char *cwd;
  int stdin_fd, stdout_fd, stderr_fd; /* borrowed; duplicated into the sandbox */
  int status_fd;                      /* -1, or placed at fd 3 (sessions) */
  AfCgroupCmd *cgroup;                /* may be NULL */
  /* A command string run without its shell: the init reports a failed
   * lookup or exec as that shell would (AF_INIT_SPAWN_SHELL_ERRORS). */
  gboolean shell_errors;
  AfSpawnedFunc spawned;
  AfExitedFunc exited;
  gpointer data;
} AfSpawnRequest;

typedef struct {
  const char *name;
  /* Build the sandbox; with finish_start set, only launch it (the wait
   * for it to answer is finish_start's). */
  gboolean (*start) (AfRuntime *rt, GError **error);
  gboolean (*finish_start) (AfRuntime *rt, GError **error); /* may be NULL */
  /* Returns an id the exit/cancel refer to; 0 with @error on failure. */
  gboolean (*spawn) (AfRuntime *rt, guint64 id, const AfSpawnRequest *req, GError **error);
  /* Kill the whole sandbox now; pending callbacks still run (the init's
   * death fails or ends each). */
  void (*kill) (AfRuntime *rt);
  /* Stop everything; no callback runs afterwards. */
  void (*stop) (AfRuntime *rt);
  void (*free) (AfRuntime *rt);
} AfRuntimeVTable;

struct _AfRuntime {
  const AfRuntimeVTable *vtable;
  AfSandboxConfig *cfg; /* borrowed from the owner */
  AfCgroup *cgroup;     /* owned by the sandbox; may be NULL for docker */
  AfRuntimeDiedFunc died;
  gpointer died_data;
};

AfRuntime *af_runtime_bwrap_new (AfSandboxConfig *cfg, AfCgroup *cgroup);
AfRuntime *af_runtime_docker_new (AfSandboxConfig *cfg, AfCgroup *cgroup);
/* Host pid of the container's init (its cgroups are the container's). */
int af_runtime_docker_init_pid (AfRuntime *rt);

/* Both steps: the sandbox is running and answering on return. */
gboolean af_runtime_start (AfRuntime *rt, GError **error);
/* The same in two steps, so the caller can do other work (connect to its
 * owner) while the isolation is being built: launch, then finish. */
gboolean af_runtime_launch (AfRuntime *rt, GError **error);
gboolean af_runtime_finish_start (AfRuntime *rt, GError **error);
gboolean af_runtime_spawn (AfRuntime *rt, guint64 id, const AfSpawnRequest *req, GError **error);
void af_runtime_kill (AfRuntime *rt);
void af_runtime_stop (AfRuntime *rt);
void af_runtime_free (AfRuntime *rt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfRuntime, af_runtime_free)

G_END_DECLS
