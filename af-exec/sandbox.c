/* sandbox.c — see sandbox.h: lifetime and the environment. */
#include "sandbox.h"

#include "af-error.h"

struct _AfSandbox {
  AfSandboxConfig cfg;
  AfCgroup *cgroup;
  AfRuntime *runtime;
  guint64 next_id;
  char *death;
  GSourceFunc died_func;
  gpointer died_data;
};

static const char *const default_env[] = {
  "PATH=/usr/local/bin:/usr/bin:/bin",
  "HOME=/home/sandbox",
  "LANG=C.UTF-8",
  "TERM=dumb",
};

static void
on_died (gpointer data, const char *reason)
{
  AfSandbox *sb = data;
  if (sb->death == NULL)
    sb->death = g_strdup (reason);
  if (sb->died_func)
    sb->died_func (sb->died_data);
}

void
af_sandbox_set_died_func (AfSandbox *sb, GSourceFunc func, gpointer data)
{
  sb->died_func = func;
  sb->died_data = data;
}

AfSandbox *
af_sandbox_new (AfSandboxConfig *cfg, GError **error)
{
  g_autoptr (AfSandbox) sb = af_sandbox_launch (cfg, error);

  if (sb == NULL || !af_sandbox_finish_launch (sb, error))
    return NULL;
  return g_steal_pointer (&sb);
}

gboolean
af_sandbox_finish_launch (AfSandbox *sb, GError **error)
{
  return af_runtime_finish_start (sb->runtime, error);
}

AfSandbox *
af_sandbox_launch (AfSandboxConfig *cfg, GError **error)
{
  g_autoptr (AfSandbox) sb = g_new0 (AfSandbox, 1);

  sb->cfg = *cfg;
  memset (cfg, 0, sizeof *cfg);
  if (sb->cfg.kind == AF_RUNTIME_DOCKER) {
    /* The engine makes the container's cgroups and applies the limits;
     * commands get their own cgroups below the container's. */
    sb->runtime = af_runtime_docker_new (&sb->cfg, NULL);
    sb->runtime->died = on_died;
    sb->runtime->died_data = sb;
    if (!af_runtime_start (sb->runtime, error))
      return NULL;
    sb->cgroup = af_cgroup_new_for_pid (af_runtime_docker_init_pid (sb->runtime), error);
    if (sb->cgroup == NULL)
      return NULL;
    sb->runtime->cgroup = sb->cgroup;
    return g_steal_pointer (&sb);
  }
  sb->cgroup = af_cgroup_new (sb->cfg.cgroup_parent, sb->cfg.name, &sb->cfg.limits, error);
  if (sb->cgroup == NULL)
    return NULL;
  sb->runtime = af_runtime_bwrap_new (&sb->cfg, sb->cgroup);
  sb->runtime->died = on_died;
  sb->runtime->died_data = sb;
  if (!af_runtime_launch (sb->runtime, error))
    return NULL;
  return g_steal_pointer (&sb);
}

void
af_sandbox_free (AfSandbox *sb)
{
  if (sb == NULL)
    return;
  if (sb->runtime) {
    af_runtime_stop (sb->runtime);
    af_runtime_free (sb->runtime);
  }
  af_cgroup_free (sb->cgroup);
  af_sandbox_config_clear (&sb->cfg);
  g_free (sb->death);
  g_free (sb);
}

const AfSandboxConfig *
af_sandbox_get_config (AfSandbox *sb)
{
  return &sb->cfg;
}

AfCgroup *
af_sandbox_get_cgroup (AfSandbox *sb)
{
  return sb->cgroup;
}

AfRuntime *
af_sandbox_get_runtime (AfSandbox *sb)
{
  return sb->runtime;
}

gboolean
af_sandbox_is_alive (AfSandbox *sb)
{
  return sb->death == NULL;
}

const char *
af_sandbox_death_reason (AfSandbox *sb)
{
  return sb->death;
}

void
af_sandbox_kill (AfSandbox *sb)
{
  af_runtime_kill (sb->runtime);
}

guint64
af_sandbox_next_id (AfSandbox *sb)
{
  return ++sb->next_id;
}

static gboolean
valid_name (const char *name, gsize len)
{
  if (len == 0 || g_ascii_isdigit (name[0]))
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (name[i]) && name[i] != '_')
      return FALSE;
  return TRUE;
}

char **
af_sandbox_build_env (const char *const *env_add, GError **error)
{
  g_autoptr (GPtrArray) env = g_ptr_array_new_with_free_func (g_free);
  gsize total = 0, count = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (default_env); i++)
    g_ptr_array_add (env, g_strdup (default_env[i]));
  for (const char *const *e = env_add; e && *e; e++) {
    const char *eq = strchr (*e, '=');
    gsize klen;
    gboolean replaced = FALSE;

    if (eq == NULL || !valid_name (*e, (gsize)(eq - *e))) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                   "environment entry \"%s\" is not NAME=VALUE with a valid name", *e);
      return NULL;
    }
    total += strlen (*e) + 1;
    if (++count > AF_EXEC_MAX_ENV || total > AF_EXEC_MAX_ENV_BYTES) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                   "environment too large: at most %d variables and %d bytes", AF_EXEC_MAX_ENV,
                   AF_EXEC_MAX_ENV_BYTES);
      return NULL;
    }
    klen = (gsize)(eq - *e) + 1;
    for (guint j = 0; j < env->len; j++)
      if (strncmp (g_ptr_array_index (env, j), *e, klen) == 0) {
        g_free (env->pdata[j]);
        env->pdata[j] = g_strdup (*e);
        replaced = TRUE;
        break;
      }
    if (!replaced)
      g_ptr_array_add (env, g_strdup (*e));
  }
  g_ptr_array_add (env, NULL);
  return (char **)g_ptr_array_free (g_steal_pointer (&env), FALSE);
}
