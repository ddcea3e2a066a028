#include "runtime.h"

#include "af-error.h"

static gboolean
docker_start (AfRuntime *rt, GError **error)
{
  g_set_error (error, AF_ERROR, AF_ERROR_UNIMPLEMENTED, "the docker runtime is not available yet");
  return FALSE;
}

static gboolean
docker_spawn (AfRuntime *rt, guint64 id, const AfSpawnRequest *req, GError **error)
{
  g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "the sandbox is not running");
  return FALSE;
}

static void
docker_kill (AfRuntime *rt)
{
}

static void
docker_stop (AfRuntime *rt)
{
}

static void
docker_free (AfRuntime *rt)
{
  g_free (rt);
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
  AfRuntime *rt = g_new0 (AfRuntime, 1);
  rt->vtable = &docker_vtable;
  rt->cfg = cfg;
  rt->cgroup = cgroup;
  return rt;
}
