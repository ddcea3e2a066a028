/* runtime.c — vtable dispatch; see runtime.h. */
#include "runtime.h"

void
af_sandbox_config_clear (AfSandboxConfig *cfg)
{
  g_clear_pointer (&cfg->name, g_free);
  g_clear_pointer (&cfg->workspace, g_free);
  g_clear_pointer (&cfg->image, g_free);
  g_clear_pointer (&cfg->init_path, g_free);
  g_clear_pointer (&cfg->cgroup_parent, g_free);
}

gboolean
af_runtime_launch (AfRuntime *rt, GError **error)
{
  return rt->vtable->start (rt, error);
}

gboolean
af_runtime_finish_start (AfRuntime *rt, GError **error)
{
  return rt->vtable->finish_start == NULL || rt->vtable->finish_start (rt, error);
}

gboolean
af_runtime_start (AfRuntime *rt, GError **error)
{
  return af_runtime_launch (rt, error) && af_runtime_finish_start (rt, error);
}

gboolean
af_runtime_spawn (AfRuntime *rt, guint64 id, const AfSpawnRequest *req, GError **error)
{
  return rt->vtable->spawn (rt, id, req, error);
}

void
af_runtime_kill (AfRuntime *rt)
{
  if (rt->cgroup)
    af_cgroup_kill_all (rt->cgroup);
  rt->vtable->kill (rt);
}

void
af_runtime_stop (AfRuntime *rt)
{
  rt->vtable->stop (rt);
}

void
af_runtime_free (AfRuntime *rt)
{
  if (rt)
    rt->vtable->free (rt);
}
