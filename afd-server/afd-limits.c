/* afd-limits.c — which resource limits this server's bwrap sandboxes can
 * be given, so a CreateSandbox asking for one that nothing would enforce
 * is refused instead of silently running without it.
 *
 * af-exec enforces limits through cgroups it can write; which those are
 * depends on the user it runs as (an unprivileged server has only a
 * delegated cgroup, or none). So the answer is af-exec's own, as the
 * server's user: the `limits:` line of `af-exec --version`, asked once at
 * start-up.
 *
 * Must never: refuse a limit when the answer is unknown (af-exec could not
 * be asked: the start then reports why), or apply to the docker runtime
 * (the engine enforces those). */
#include "afd-limits.h"

#include <string.h>

#include "af-error.h"

void
afd_limits_probe (AfdLimits *out, const char *exec_path)
{
  memset (out, 0, sizeof *out);
  g_autofree char *text = NULL;
  const char *argv[] = { exec_path, "--version", NULL };
  int status = -1;
  if (exec_path == NULL ||
      !g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &text, NULL,
                     &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL))
    return;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    if (!g_str_has_prefix (*l, "limits: "))
      continue;
    g_auto (GStrv) names = g_strsplit (*l + 8, " ", -1);
    out->known = TRUE;
    out->memory = g_strv_contains ((const char *const *)names, "memory");
    out->pids = g_strv_contains ((const char *const *)names, "pids");
    out->cpu_quota = g_strv_contains ((const char *const *)names, "cpu-quota");
    out->cpu_shares = g_strv_contains ((const char *const *)names, "cpu-shares");
  }
}

char *
afd_limits_describe (const AfdLimits *l)
{
  if (!l->known)
    return g_strdup ("unknown (af-exec did not say)");
  g_autoptr (GString) s = g_string_new (NULL);
  const struct {
    gboolean on;
    const char *name;
  } all[] = { { l->memory, "memory" },
              { l->pids, "pids" },
              { l->cpu_quota, "cpu_quota" },
              { l->cpu_shares, "cpu_shares" } };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    if (all[i].on)
      g_string_append_printf (s, "%s%s", s->len ? ", " : "", all[i].name);
  return g_strdup (s->len ? s->str : "none");
}

gboolean
afd_limits_check (const AfdLimits *l, gint64 memory_bytes, gint64 cpu_quota, gint64 cpu_shares,
                  gint64 pids_limit, GError **error)
{
  if (!l->known)
    return TRUE;
  const char *missing = memory_bytes > 0 && !l->memory     ? "memory_bytes"
                        : pids_limit > 0 && !l->pids       ? "pids_limit"
                        : cpu_quota > 0 && !l->cpu_quota   ? "cpu_quota"
                        : cpu_shares > 0 && !l->cpu_shares ? "cpu_shares"
                                                           : NULL;
  if (missing == NULL)
    return TRUE;
  g_autofree char *can = afd_limits_describe (l);
  g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
               "resources.%s cannot be enforced by this server: it has no cgroup for it "
               "(enforceable here: %s; see docs/rootless.md)",
               missing, can);
  return FALSE;
}
